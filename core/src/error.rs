//! The error types. Every enum is `#[non_exhaustive]`, every variant names one failure, and no
//! message ever contains key material.

use std::io;
use std::path::PathBuf;

use http::StatusCode;

/// A key, certificate or credential could not be loaded.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The input holds nothing but white space.
    #[error("{what}: the input is empty")]
    Empty {
        /// What was being loaded, e.g. "merchant private key".
        what: &'static str,
    },
    /// The input is neither PEM (no `-----BEGIN …-----` line) nor DER.
    #[error("{what}: not PEM (no `-----BEGIN ...-----` line) and not DER")]
    NotPem {
        /// What was being loaded.
        what: &'static str,
    },
    /// The PEM framing or its base64 is broken.
    #[error("{what}: malformed PEM: {reason}")]
    MalformedPem {
        /// What was being loaded.
        what: &'static str,
        /// What the PEM parser found wrong.
        reason: String,
    },
    /// The input holds another kind of object than the one asked for.
    #[error("{what}: found {found}, expected {expected}")]
    WrongKind {
        /// What was being loaded.
        what: &'static str,
        /// What the input holds, e.g. "a certificate (`BEGIN CERTIFICATE`)".
        found: String,
        /// What this loader accepts.
        expected: &'static str,
    },
    /// The private key is encrypted with a passphrase.
    #[error("{what}: the key is encrypted (`{label}`); decrypt it first, e.g. `openssl pkcs8 -in apiclient_key.pem -out plain_key.pem`")]
    Encrypted {
        /// What was being loaded.
        what: &'static str,
        /// The PEM label or header that says so.
        label: String,
    },
    /// The key is not an RSA key.
    #[error("{what}: found {found} key, expected an RSA key")]
    NotRsa {
        /// What was being loaded.
        what: &'static str,
        /// The algorithm found, e.g. "an EC".
        found: String,
    },
    /// The RSA key is smaller than 2048 bits.
    #[error("{what}: the RSA key is smaller than 2048 bits; WeChat Pay uses RSA-2048")]
    RsaTooSmall {
        /// What was being loaded.
        what: &'static str,
    },
    /// The RSA key is larger than 8192 bits.
    #[error("{what}: the RSA key is larger than 8192 bits")]
    RsaTooLarge {
        /// What was being loaded.
        what: &'static str,
    },
    /// The input holds more than one PEM section.
    #[error("{what}: found {count} PEM sections ({labels}), expected exactly one")]
    Multiple {
        /// What was being loaded.
        what: &'static str,
        /// How many sections.
        count: usize,
        /// Their labels, comma-separated (the first eight, then `…`).
        labels: String,
    },
    /// The DER inside is not a valid structure of the expected kind.
    #[error("{what}: invalid encoding: {reason}")]
    InvalidEncoding {
        /// What was being loaded.
        what: &'static str,
        /// What the decoder said (never key bytes).
        reason: String,
    },
    /// A file could not be read.
    #[error("{what}: cannot read {}: {source}", path.display())]
    Io {
        /// What was being loaded.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An identifier (mchid, certificate serial, public key id) has the wrong form.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidId {
        /// Which identifier.
        what: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// `target` (a URL or a request target) with its query, if any, shown as `?…`: a query may hold
/// a secret, such as a bill's download token, which must stay out of errors and logs.
pub fn without_query(target: &str) -> String {
    match target.split_once('?') {
        Some((before, _)) => format!("{before}?…"),
        None => target.to_owned(),
    }
}

/// `message` with the contents of each `"…"` string (a value serde quotes from the data)
/// replaced by `…`; field and variant names (in backticks) stay.
pub(crate) fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    let mut escaped = false;
    for c in message.chars() {
        match (quoted, escaped, c) {
            (true, false, '\\') => escaped = true,
            (true, true, _) => escaped = false,
            (_, _, '"') => {
                quoted = !quoted;
                out.push_str(if quoted { "\"…" } else { "\"" });
            }
            (true, false, _) => {}
            (false, _, c) => out.push(c),
        }
    }
    out
}

/// An APIv2 (XML) answer, notification or body was refused. Each keeps what was received.
#[derive(Clone, thiserror::Error)]
#[non_exhaustive]
pub enum V2Error {
    /// The body is not the XML expected (`<xml>` of fields).
    #[error("not APIv2 XML: {reason}")]
    Xml {
        /// What the parser found wrong.
        reason: String,
        /// The body as received.
        body: Vec<u8>,
    },
    /// The HTTP status is not 2xx.
    #[error("APIv2 answered HTTP {status}")]
    Http {
        /// The status.
        status: StatusCode,
        /// The body as received.
        body: Vec<u8>,
    },
    /// `return_code` is not `SUCCESS`: the call itself failed (`return_msg` says why).
    #[error("APIv2 return_code {return_code}: {}", return_msg.as_deref().unwrap_or("(no return_msg)"))]
    Return {
        /// `return_code` (usually `FAIL`; empty when absent).
        return_code: String,
        /// `return_msg`.
        return_msg: Option<String>,
        /// Every field of the answer.
        fields: std::collections::BTreeMap<String, String>,
    },
    /// A signed answer or notification carries no `sign`.
    #[error("the APIv2 answer has no `sign`")]
    MissingSign {
        /// Every field of the answer.
        fields: std::collections::BTreeMap<String, String>,
    },
    /// `sign` does not match the fields under the APIv2 key (a wrong key, or altered fields).
    #[error("the APIv2 `sign` does not match ({sign_type}): a wrong APIv2 key, or the fields were altered")]
    SignMismatch {
        /// The algorithm the sign was checked with.
        sign_type: &'static str,
        /// Every field of the answer.
        fields: std::collections::BTreeMap<String, String>,
    },
    /// `result_code` is `FAIL`: the call went through, the business operation did not.
    #[error("APIv2 result_code FAIL: {}{}", err_code.as_deref().unwrap_or("(no err_code)"), err_code_des.as_deref().map(|d| format!(" {d}")).unwrap_or_default())]
    Business {
        /// `err_code`.
        err_code: Option<String>,
        /// `err_code_des`.
        err_code_des: Option<String>,
        /// Every field of the answer (verified).
        fields: std::collections::BTreeMap<String, String>,
    },
    /// A refund notification's `req_info` cannot be decrypted (bad base64, wrong length, a wrong
    /// APIv2 key — the padding check fails —, or the plaintext is not XML).
    #[error("refund notification req_info: {0}")]
    ReqInfo(&'static str),
    /// A gzip bill does not gunzip, or gunzips to more than the limit.
    #[error("APIv2 bill: {reason}")]
    Bill {
        /// What went wrong.
        reason: String,
    },
    /// The answer's fields do not have the shape of the requested type.
    #[error("APIv2 answer does not match {type_name}: {message}")]
    Decode {
        /// The Rust type asked for.
        type_name: &'static str,
        /// What serde said, each quoted value as `"…"` (`fields` keeps them).
        message: String,
        /// Every field of the answer.
        fields: std::collections::BTreeMap<String, String>,
    },
}

/// A configuration (file, `WXPAY_*` variables) could not be turned into a client.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is not valid TOML of the expected shape (unknown keys included).
    #[error("config{}: {message}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Parse {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// What the parser said.
        message: String,
    },
    /// A setting needed is not given.
    #[error("`{name}` is required (config file key, or its WXPAY_ variable / CLI flag)")]
    Missing {
        /// The config file key.
        name: &'static str,
    },
    /// A value has the wrong form.
    #[error("`{name}`: {reason}")]
    Invalid {
        /// The setting.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The connector the transport settings describe could not be made (TLS, proxy).
    #[error("transport: {0}")]
    Transport(#[source] TransportError),
    /// A key or certificate file could not be loaded.
    #[error("{}: {source}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// The APIv3 key file could not be loaded.
    #[error("{}: {source}", path.display())]
    ApiV3Key {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// The client could not be built from what was loaded.
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// A request could not be built or signed. Nothing was signed or sent.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An APIv2 request names another merchant in `mch_id`, `mchid` or `combine_mch_id`.
    #[error("APIv2 field `{field}` is {value:?}, not this client's merchant")]
    V2OtherMerchant {
        /// The field.
        field: String,
        /// Its value.
        value: String,
    },
    /// An APIv2 call was signed by a client without an APIv2 key.
    #[error("no APIv2 key configured (ClientBuilder::apiv2_key, or apiv2_key_file in the config)")]
    NoApiV2Key,
    /// An APIv2 request's value does not serialise to an object of fields.
    #[error("an APIv2 request must serialise to an object of fields")]
    V2NotAnObject,
    /// The APIv2 path needs the merchant's client certificate (mutual TLS) and the transport
    /// has none: configure it (`client_identity`) — nothing was sent.
    #[error("APIv2 {path} needs the merchant's API client certificate (apiclient_cert.pem + apiclient_key.pem, or apiclient_cert.p12): give it to the transport; nothing was sent")]
    ClientCertificateRequired {
        /// The path.
        path: String,
    },
    /// A platform key is the merchant's own key: the merchant API certificate
    /// (`apiclient_cert.pem`) was configured as a platform certificate.
    #[error("platform key {id} is your merchant API certificate's key (apiclient_cert.pem), not WeChat Pay's: configure the platform certificate (download it with `wxpay certificates`) or the WeChat Pay public key (pub_key.pem with its PUB_KEY_ID_) instead")]
    MerchantKeyAsPlatformKey {
        /// The certificate serial or key id it was configured under.
        id: String,
    },
    /// The path template is not an absolute path of URL path characters and `{name}` placeholders.
    #[error("invalid path template {template:?}: {reason}")]
    InvalidPathTemplate {
        /// The template.
        template: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `{name}` placeholder has no value.
    #[error("path parameter `{name}` has no value")]
    MissingPathParam {
        /// The placeholder's name.
        name: String,
    },
    /// A value was given for a placeholder the template does not have.
    #[error("path parameter `{name}` is not a placeholder of the path template")]
    UnusedPathParam {
        /// The parameter's name.
        name: String,
    },
    /// A path parameter's value cannot stand as one path segment.
    #[error("path parameter `{name}` is invalid: {reason}")]
    InvalidPathParam {
        /// The parameter's name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The body could not be serialised to JSON.
    #[error("the request body cannot be serialised to JSON: {0}")]
    Serialize(#[source] serde_json::Error),
    /// A field the official models require was left empty in a typed request: nothing was
    /// signed or sent.
    #[error("required field `{field}` is empty: set it (nothing was sent)")]
    MissingField {
        /// The field's JSON path (`payer.openid`; `query.mchid` for a query parameter).
        field: String,
    },
    /// A header name or value is not valid HTTP.
    #[error("invalid header {name:?}: {reason}")]
    InvalidHeader {
        /// The header name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// The base URL is not `http(s)://host[:port][/prefix]`.
    #[error("invalid base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL given (user information, which is refused, shown as `<redacted>`).
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// The signer failed.
    #[error("signing failed: {0}")]
    Sign(#[from] SignError),
    /// A nonce is not 1 to 64 ASCII letters and digits.
    #[error("invalid nonce: a nonce must be 1 to 64 ASCII letters and digits")]
    InvalidNonce,
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Random,
    /// The request target is not a valid URI.
    #[error("the request target is not a valid URI: {0}")]
    Uri(#[source] http::uri::InvalidUri),
    /// The request target changed when parsed (it would not be signed as sent).
    #[error("the request target changed when parsed: {target:?} became {carried:?}")]
    TargetChanged {
        /// The target built.
        target: String,
        /// The target the parsed URI carries.
        carried: String,
    },
    /// The assembled request could not be represented as an `http::Request`.
    #[error("cannot build the HTTP request: {0}")]
    Http(#[source] http::Error),
    /// An exchange was polled after it finished (a transport's bug).
    #[error("the exchange was polled after it finished")]
    ExchangeFinished,
    /// A raw query string has characters a URL query cannot carry.
    #[error("invalid query {query:?}: {reason}")]
    InvalidQuery {
        /// The query given (for a bill's `download_url`, `…`: its query holds the download
        /// token).
        query: String,
        /// Why.
        reason: &'static str,
    },
    /// An upload is not acceptable.
    #[error("invalid upload: {reason}")]
    InvalidUpload {
        /// Why.
        reason: &'static str,
    },
    /// The file to upload cannot be opened or read.
    #[error("the file {path:?} cannot be read: {source}")]
    UploadFile {
        /// The file.
        path: std::path::PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A URL is not under the client's base URL (another origin, or outside its path prefix):
    /// nothing is signed for it.
    #[error("{url:?} is not on the client's base URL {base:?}; nothing was signed")]
    ForeignUrl {
        /// The URL, its query (which holds the download token) shown as `?…`.
        url: String,
        /// The base URL.
        base: String,
    },
    /// A sensitive field could not be encrypted.
    #[error("sensitive field: {0}")]
    Sensitive(#[from] OaepError),
}

/// A signer could not produce a signature.
#[derive(Clone, thiserror::Error)]
#[error("{0}")]
pub struct SignError(pub String);

/// The signature headers of a response or callback did not verify.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// One of `Wechatpay-Timestamp`, `Wechatpay-Nonce`, `Wechatpay-Signature`, `Wechatpay-Serial`
    /// is absent.
    #[error("header `{name}` is missing")]
    MissingHeader {
        /// The header's name.
        name: &'static str,
    },
    /// A signature header is present but not visible ASCII, or appears more than once.
    #[error("header `{name}` has an invalid value")]
    InvalidHeader {
        /// The header's name.
        name: &'static str,
    },
    /// `Wechatpay-Timestamp` is not a decimal number of seconds.
    #[error("`Wechatpay-Timestamp` {value:?} is not a decimal Unix time")]
    InvalidTimestamp {
        /// The header's value.
        value: String,
    },
    /// `Wechatpay-Timestamp` is further than the allowed window from `now`.
    #[error("`Wechatpay-Timestamp` {timestamp} is {offset} s from now ({now}); the window is {window} s")]
    StaleTimestamp {
        /// The header's value.
        timestamp: i64,
        /// The clock reading used.
        now: i64,
        /// `now - timestamp`.
        offset: i64,
        /// The allowed window in seconds.
        window: u64,
    },
    /// `Wechatpay-Serial` names no trusted platform certificate or public key.
    #[error("no trusted platform certificate or public key has serial/id {serial:?}")]
    UnknownSerial {
        /// The header's value.
        serial: String,
    },
    /// The trusted certificate is not valid at `now`.
    #[error(
        "platform certificate {serial} is not valid at {now} (valid {not_before}..={not_after})"
    )]
    CertificateNotValid {
        /// The certificate's serial.
        serial: String,
        /// The clock reading used.
        now: i64,
        /// Start of validity, Unix seconds.
        not_before: i64,
        /// End of validity, Unix seconds.
        not_after: i64,
    },
    /// WeChat Pay sent a deliberate probe signature (`WECHATPAY/SIGNTEST/…`) to check that the
    /// merchant verifies signatures. Treat it as a failure; a callback must get a failure answer.
    #[error("probe signature (`WECHATPAY/SIGNTEST/...`): WeChat Pay is checking that signatures are verified")]
    Probe {
        /// The `Wechatpay-Serial` that came with it.
        serial: String,
    },
    /// `Wechatpay-Signature` is empty.
    #[error("`Wechatpay-Signature` is empty")]
    EmptySignature,
    /// `Wechatpay-Signature` is not standard base64.
    #[error("`Wechatpay-Signature` is not valid base64")]
    SignatureEncoding,
    /// The signature does not match the message under the named key.
    #[error("signature mismatch under key {serial:?}: the body, timestamp or nonce was altered, or another key signed it")]
    SignatureMismatch {
        /// The key the signature was checked with.
        serial: String,
    },
}

impl VerifyError {
    /// A stable machine-readable name of the failure (for logs, metrics and the CLI's `--json`).
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::MissingHeader { .. } => "missing_header",
            VerifyError::InvalidHeader { .. } => "invalid_header",
            VerifyError::InvalidTimestamp { .. } => "invalid_timestamp",
            VerifyError::StaleTimestamp { .. } => "stale_timestamp",
            VerifyError::UnknownSerial { .. } => "unknown_serial",
            VerifyError::CertificateNotValid { .. } => "certificate_not_valid",
            VerifyError::Probe { .. } => "probe",
            VerifyError::EmptySignature => "empty_signature",
            VerifyError::SignatureEncoding => "bad_base64",
            VerifyError::SignatureMismatch { .. } => "signature_mismatch",
        }
    }
}

/// WeChat Pay answered with a non-2xx status.
#[derive(Clone, thiserror::Error)]
#[error("WeChat Pay answered HTTP {status}{}{}{}{}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default(), request_id.as_deref().map(|r| format!(" (Request-ID {r})")).unwrap_or_default(), self.hint().map(|h| format!(" — {h}")).unwrap_or_default())]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `code` field of a JSON error body, e.g. `PARAM_ERROR`.
    pub code: Option<String>,
    /// The `message` field.
    pub message: Option<String>,
    /// The `detail` field, as JSON.
    pub detail: Option<serde_json::Value>,
    /// The `Request-ID` response header.
    pub request_id: Option<String>,
    /// The raw body as received (JSON, HTML or empty).
    pub body: Vec<u8>,
}

impl ApiError {
    /// What to check for the error codes whose cause is usually on the merchant's side (also
    /// appended to `Display`): `SIGN_ERROR`, `NO_AUTH`, `INVALID_REQUEST`, `PARAM_ERROR`,
    /// `RESOURCE_NOT_EXISTS` on the certificate download, `FREQUENCY_LIMITED`, the bills'
    /// `STATEMENT_CREATING` and `NO_STATEMENT_EXIST`, `SYSTEM_ERROR`.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self.code.as_deref()? {
            "SIGN_ERROR" => "WeChat Pay could not verify the request signature: check that `serial` is the serial of the merchant API certificate (apiclient_cert.pem) whose private key signs (not a platform certificate's serial), that the private key is apiclient_key.pem of that certificate, that `mchid` is the merchant the certificate belongs to, and that the clock is on time; `wxpay doctor` checks all four and `wxpay sign` shows the exact message signed",
            "NO_AUTH" => "the merchant has no permission for this API or product: check that it is enabled in the merchant portal, and that `mchid` (and any appid) is the right one",
            "INVALID_REQUEST" => "the request does not fit the order's or merchant's state (e.g. a repeated out_trade_no with other parameters): see `message`",
            "PARAM_ERROR" => "a field is missing or malformed: see `message` and `detail`; `wxpay api show` lists the endpoint's fields",
            "RESOURCE_NOT_EXISTS" if self.message.as_deref().is_some_and(|m| m.contains("证书") || m.to_ascii_lowercase().contains("certificate")) => "no platform certificate to download: a merchant in WeChat Pay public key mode configures the public key (pub_key.pem, PUB_KEY_ID_…) instead",
            "FREQUENCY_LIMITED" => "rate limited: retry later with backoff",
            "STATEMENT_CREATING" => "the bill is still being made: a day's bill is ready after 10:00 (Beijing time) the next day; retry every half hour until it is there or the answer is NO_STATEMENT_EXIST",
            "NO_STATEMENT_EXIST" => "there is no bill for that date: no transaction that day (for a fund-flow bill, no movement on that account), a date from today on, or older than the three months WeChat Pay keeps bills",
            "SYSTEM_ERROR" => "a WeChat Pay-side error: retry the same request (same out_trade_no), it is idempotent",
            _ => return None,
        })
    }
}

/// A response could not be turned into the expected value.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// WeChat Pay answered with an error status.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// A 2xx response failed signature verification: do not trust its body.
    #[error("response verification failed: {source}")]
    Verify {
        /// What failed.
        #[source]
        source: VerifyError,
        /// The `Request-ID` response header.
        request_id: Option<String>,
        /// The raw body as received.
        body: Vec<u8>,
    },
    /// A verified 2xx answer does not have the shape of the expected type: **WeChat Pay accepted
    /// the call, and it may have taken effect** (an order paid, a refund made). Act on the raw
    /// answer (`body`) or query the resource again; `wxpay api decode` shows where the answer
    /// and the type part. Its message names the JSON path and what was expected there, with
    /// each quoted value as `"…"` (an answer may hold personal data); `source` and `body` keep
    /// everything.
    #[error("WeChat Pay accepted the call ({status}; it may have taken effect), but its answer does not match {type_name} at `{path}`: {}; the raw answer is kept in the error", without_quoted_values(&source.to_string()))]
    Decode {
        /// The serde error (with line and column).
        #[source]
        source: serde_json::Error,
        /// The JSON path where the answer and the type part (`receivers[0].amount`; `.` for the
        /// whole body).
        path: String,
        /// The Rust type expected.
        type_name: &'static str,
        /// The HTTP status of the answer (2xx).
        status: http::StatusCode,
        /// The `Request-ID` response header.
        request_id: Option<String>,
        /// The raw body as received.
        body: Vec<u8>,
    },
}

impl ResponseError {
    /// The raw body of the response, whatever went wrong.
    pub fn body(&self) -> &[u8] {
        match self {
            ResponseError::Api(e) => &e.body,
            ResponseError::Verify { body, .. } | ResponseError::Decode { body, .. } => body,
        }
    }

    /// The `Request-ID` of the response, if it had one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ResponseError::Api(e) => e.request_id.as_deref(),
            ResponseError::Verify { request_id, .. } | ResponseError::Decode { request_id, .. } => {
                request_id.as_deref()
            }
        }
    }
}

/// What kind of I/O failure a transport met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// Name resolution or TCP connect failed (refused, unreachable, connect timeout).
    Connect,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The call took longer than its timeout.
    Timeout,
    /// The answer's body is larger than the configured limit.
    BodyTooLarge,
    /// The connection was closed or reset before a full answer arrived.
    ConnectionClosed,
    /// The answer is not valid HTTP (a bad status line, conflicting `Content-Length`s, …).
    InvalidResponse,
    /// The request could not be handed to the HTTP client (e.g. a bad URI).
    InvalidRequest,
    /// Anything else (e.g. an upload's file that shrank while it was sent:
    /// [`UploadFileShrank`]).
    Other,
}

impl TransportErrorKind {
    /// A stable machine-readable name (`"connect"`, `"body_too_large"`, …) for logs, metrics
    /// and the CLI's `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportErrorKind::Connect => "connect",
            TransportErrorKind::Tls => "tls",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::BodyTooLarge => "body_too_large",
            TransportErrorKind::ConnectionClosed => "connection_closed",
            TransportErrorKind::InvalidResponse => "invalid_response",
            TransportErrorKind::InvalidRequest => "invalid_request",
            TransportErrorKind::Other => "other",
        }
    }

    /// The kind of an I/O error from a socket, and whether the request may have reached the
    /// server: only a failure to open the connection proves it did not.
    pub fn of_io(e: &std::io::Error) -> (Self, bool) {
        use std::io::ErrorKind as K;
        match e.kind() {
            K::ConnectionRefused
            | K::AddrNotAvailable
            | K::NetworkUnreachable
            | K::HostUnreachable => (Self::Connect, false),
            K::TimedOut => (Self::Timeout, true),
            _ => (Self::ConnectionClosed, true),
        }
    }
}

/// A transport failed to carry the call. See [`TransportError::may_have_reached_server`] before
/// retrying. Its `Display` names the kind and the whole cause chain of the HTTP client's error.
#[non_exhaustive]
pub struct TransportError {
    /// What failed.
    pub kind: TransportErrorKind,
    /// `false` only when the request certainly did not reach the server (it was never sent, or
    /// the connection never opened); `true` when it may have been received and acted on.
    pub may_have_reached_server: bool,
    /// The HTTP client's error.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

impl TransportError {
    /// A transport error of `kind`; see [`TransportError::may_have_reached_server`].
    pub fn new(
        kind: TransportErrorKind,
        may_have_reached_server: bool,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        let source = source.into();
        // The file of an upload went bad while it was sent: whatever the HTTP client made of
        // the body's read error, it is not the connection's doing.
        let kind = match find_cause::<UploadFileShrank>(&*source) {
            Some(_) => TransportErrorKind::Other,
            None => kind,
        };
        Self {
            kind,
            may_have_reached_server,
            source,
        }
    }
}

/// The read error an upload streamed from disk ends with when its file shrank after it was
/// digested (inside an `io::Error` of kind `UnexpectedEof`). A transport error caused by it is
/// [`TransportErrorKind::Other`], whatever the HTTP client reported.
#[derive(Debug, thiserror::Error)]
#[error("the file shrank after it was digested")]
#[non_exhaustive]
pub struct UploadFileShrank;

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "transport error ({:?}, {}): {}",
            self.kind,
            if self.may_have_reached_server {
                "the request may have reached WeChat Pay"
            } else {
                "the request was not sent"
            },
            self.source
        )?;
        // HTTP clients often say only "client error (SendRequest)" at the top: name the causes.
        let mut cause = self.source.source();
        let mut last = self.source.to_string();
        while let Some(c) = cause {
            let text = c.to_string();
            if !last.contains(&text) {
                write!(f, ": {text}")?;
            }
            last = text;
            cause = c.source();
        }
        Ok(())
    }
}

/// The longest duration the transports accept for a timeout or an interval (one day): a longer
/// one is saturated to it, so that no `Instant + Duration` can overflow.
pub(crate) const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(86_400);

/// `d`, saturated to at most [`MAX_DURATION`].
pub(crate) fn saturate(d: std::time::Duration) -> std::time::Duration {
    d.min(MAX_DURATION)
}

/// Any failure of a call made through a transport: building, carrying, or the answer.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The request could not be built or signed; nothing was sent.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// An answer came back but is an API error, failed verification, or does not decode.
    #[error(transparent)]
    Response(#[from] ResponseError),
    /// A downloaded bill failed its digest check (or could not be gunzipped or written): the
    /// data written is bad.
    #[error(transparent)]
    Bill(#[from] BillError),
    /// An APIv2 answer was refused: HTTP status, XML, `return_code`, `sign`, `result_code`.
    #[error(transparent)]
    V2(#[from] V2Error),
}

impl CallError {
    /// Whether the request may have reached WeChat Pay (and so may have had an effect). When
    /// `false`, it certainly did not, and resending is safe.
    pub fn may_have_reached_server(&self) -> bool {
        match self {
            CallError::Build(_) => false,
            CallError::Transport(t) => t.may_have_reached_server,
            CallError::Response(_) | CallError::Bill(_) | CallError::V2(_) => true,
        }
    }

    /// The API error, when WeChat Pay answered with a non-2xx status.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            CallError::Response(ResponseError::Api(a)) => Some(a),
            _ => None,
        }
    }

    /// The verification error, when a 2xx answer failed verification.
    pub fn verify_error(&self) -> Option<&VerifyError> {
        match self {
            CallError::Response(ResponseError::Verify { source, .. }) => Some(source),
            _ => None,
        }
    }

    /// The transport error kind, when the transport failed.
    pub fn transport_kind(&self) -> Option<TransportErrorKind> {
        match self {
            CallError::Transport(t) => Some(t.kind),
            _ => None,
        }
    }
}

/// A platform certificate refresh failed; the trusted keys are unchanged.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The download request could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The answer could not be applied.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// No APIv3 key was configured, so certificates cannot be decrypted.
    #[error("no APIv3 key configured: certificates cannot be downloaded")]
    NoApiV3Key,
}

/// The first error of type `E` in `err` or its `source()` chain, looking inside `std::io::Error`s
/// too (HTTP clients wrap TLS errors in them). For transports classifying their library's errors.
pub fn find_cause<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(hit) = e.downcast_ref::<E>() {
            return Some(hit);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            let inner: &(dyn std::error::Error + 'static) = inner;
            if let Some(hit) = find_cause::<E>(inner) {
                return Some(hit);
            }
        }
        current = e.source();
    }
    None
}

/// AES-GCM failed.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AeadError {
    /// The APIv3 key is not 32 bytes (after trimming surrounding white space).
    #[error("the APIv3 key must be 32 characters (as set in the merchant portal), this one has {len} (surrounding white space ignored)")]
    KeyLength {
        /// Its length.
        len: usize,
    },
    /// The APIv2 key is not 32 bytes (after trimming surrounding white space).
    #[error("the APIv2 key must be 32 characters (as set in the merchant platform), this one has {len} (surrounding white space ignored)")]
    V2KeyLength {
        /// Its length.
        len: usize,
    },
    /// The nonce is not 12 bytes.
    #[error("the AES-GCM nonce must be 12 bytes, this one has {len}")]
    NonceLength {
        /// Its length.
        len: usize,
    },
    /// The ciphertext is not base64.
    #[error("the ciphertext is not valid base64")]
    Base64,
    /// The decoded ciphertext is shorter than the 16-byte tag it must end with.
    #[error("the ciphertext has {len} bytes, fewer than the 16-byte AES-GCM tag")]
    TooShort {
        /// Its length after base64 decoding.
        len: usize,
    },
    /// The tag did not match: a wrong APIv3 key (most likely), or an altered ciphertext, nonce or
    /// associated data.
    #[error("AES-GCM authentication failed: the APIv3 key is wrong, or the ciphertext, nonce or associated_data was altered")]
    AuthFailed,
    /// The crypto library failed.
    #[error("AES-GCM failed")]
    Crypto,
}

/// RSA-OAEP failed.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OaepError {
    /// The plaintext is longer than the key allows (214 bytes for RSA-2048).
    #[error("plaintext is {len} bytes; RSA-OAEP with this key takes at most {max}")]
    TooLong {
        /// Its length in bytes (UTF-8).
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The ciphertext is not base64.
    #[error("the ciphertext is not valid base64")]
    Base64,
    /// Decryption failed: another key encrypted it, or it was altered.
    #[error("RSA-OAEP decryption failed: the value was encrypted for another key, or altered")]
    DecryptFailed,
    /// The signer cannot decrypt (e.g. a remote signer).
    #[error("this signer cannot decrypt RSA-OAEP fields")]
    Unsupported,
    /// The key named in `Wechatpay-Serial` is not trusted, or there is none.
    #[error("no platform key {0:?} to encrypt with")]
    NoKey(String),
    /// The value was encrypted for another key than the one the request names.
    #[error("a field was encrypted for {field}, but the request names {request}")]
    SerialConflict {
        /// The field's key.
        field: String,
        /// The request's `Wechatpay-Serial`.
        request: String,
    },
    /// The crypto library failed.
    #[error("RSA-OAEP failed")]
    Crypto,
    /// The body holds text that looks like the placeholder of a sensitive field
    /// (`\u0000wechatpay-sensitive-N\u0000`), so the encrypted value cannot be put in its place.
    #[error("the body contains a sensitive-field placeholder of its own; nothing was sent")]
    Placeholder,
}

/// The bill could not be checked; what was written must be discarded.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum BillError {
    /// The digest of the bill is not the one announced: the data is bad.
    #[error("bill digest mismatch: expected {expected}, got {actual}; discard the data")]
    HashMismatch {
        /// `hash_value`.
        expected: String,
        /// What the data hashes to.
        actual: String,
    },
    /// `hash_type` is not `SHA1`.
    #[error("unsupported bill hash type {0:?}")]
    UnsupportedHash(String),
    /// The bill is larger than the limit set with `BillWriter::max_bytes`.
    #[error("the bill is larger than the limit of {limit} bytes; discard the data")]
    TooLarge {
        /// The limit, in bytes (of the bill as written, after gunzip).
        limit: u64,
    },
    /// The gzip stream is broken, or writing failed.
    #[error("bill data: {0}")]
    Io(#[from] io::Error),
    /// An encrypted bill part could not be decrypted: its `encrypt_key` is not for this
    /// merchant's key, or the part was altered.
    #[error("bill part cannot be decrypted: {0}")]
    Decrypt(&'static str),
}

/// A bill could not be read: what is wrong and on which line (from 1).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum BillReadError {
    /// The first line is not the header of a bill this version reads.
    #[error("line {line}: not the header of a trade or fund-flow bill (it starts {found:?})")]
    NotABill {
        /// The line.
        line: u64,
        /// The first names of the line.
        found: String,
    },
    /// A column every bill of its kind has is not in the header.
    #[error("line {line}: the header has no column {column}")]
    MissingColumn {
        /// The header's line.
        line: u64,
        /// The column's name.
        column: &'static str,
    },
    /// A row has more or fewer fields than its header.
    #[error("line {line}: {found} fields where the header has {expected}")]
    FieldCount {
        /// The line.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields on the line.
        found: usize,
    },
    /// A cell is not what its column holds (money, a time, a count).
    #[error("line {line}, column {column}: {value:?} {reason}")]
    Cell {
        /// The line.
        line: u64,
        /// The column's name, as the header writes it.
        column: String,
        /// The cell (its first 64 characters).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A row is longer than the limit (`BillReader::max_row_bytes`): not a bill, or a file
    /// without line ends.
    #[error("line {line}: a row longer than {limit} bytes")]
    RowTooLong {
        /// The line.
        line: u64,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A line is not UTF-8.
    #[error("line {line}: not UTF-8")]
    InvalidUtf8 {
        /// The line.
        line: u64,
    },
    /// The bill ends before its summary: it is incomplete, and its rows must not be taken as
    /// the day's.
    #[error("line {line}: the bill ends without {missing}: it is truncated")]
    Truncated {
        /// The line where the input ended.
        line: u64,
        /// What is missing (`the summary`, `the summary row`, `the header`).
        missing: &'static str,
    },
    /// More data follows the summary row.
    #[error("line {line}: data after the summary row")]
    AfterSummary {
        /// The line.
        line: u64,
    },
    /// Reading the input failed.
    #[error("reading the bill: {0}")]
    Io(#[source] io::Error),
}

impl BillReadError {
    /// The line the error is on, when it has one.
    pub fn line(&self) -> Option<u64> {
        match self {
            BillReadError::NotABill { line, .. }
            | BillReadError::MissingColumn { line, .. }
            | BillReadError::FieldCount { line, .. }
            | BillReadError::Cell { line, .. }
            | BillReadError::RowTooLong { line, .. }
            | BillReadError::InvalidUtf8 { line }
            | BillReadError::Truncated { line, .. }
            | BillReadError::AfterSummary { line } => Some(*line),
            BillReadError::Io(_) => None,
        }
    }

    /// A stable machine-readable name of the failure.
    pub fn kind(&self) -> &'static str {
        match self {
            BillReadError::NotABill { .. } => "bill_not_a_bill",
            BillReadError::MissingColumn { .. } => "bill_missing_column",
            BillReadError::FieldCount { .. } => "bill_field_count",
            BillReadError::Cell { .. } => "bill_cell",
            BillReadError::RowTooLong { .. } => "bill_row_too_long",
            BillReadError::InvalidUtf8 { .. } => "bill_utf8",
            BillReadError::Truncated { .. } => "bill_truncated",
            BillReadError::AfterSummary { .. } => "bill_after_summary",
            BillReadError::Io(_) => "bill_io",
        }
    }
}

impl BillError {
    /// A stable machine-readable name of the failure (for logs, metrics and the CLI's `--json`).
    pub fn kind(&self) -> &'static str {
        match self {
            BillError::HashMismatch { .. } => "bill_hash",
            BillError::UnsupportedHash(_) => "bill_hash_type",
            BillError::TooLarge { .. } => "bill_too_large",
            BillError::Io(_) => "bill_io",
            BillError::Decrypt(_) => "bill_decrypt",
        }
    }
}

/// A download could not be applied; the trusted keys are unchanged.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// WeChat Pay answered with an error (other than `404 RESOURCE_NOT_EXISTS`).
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The answer's signature did not verify, or is signed by a key that is neither trusted nor
    /// (on a first download) in the answer.
    #[error("certificate download verification failed: {0}")]
    Verify(VerifyError),
    /// The body is not a certificate list.
    #[error("certificate list is malformed: {0}")]
    Body(#[source] serde_json::Error),
    /// An entry's algorithm is not `AEAD_AES_256_GCM`.
    #[error("certificate {serial}: unsupported algorithm {algorithm:?}")]
    Algorithm {
        /// The entry's `serial_no`.
        serial: String,
        /// Its algorithm.
        algorithm: String,
    },
    /// An entry does not decrypt (a wrong APIv3 key, most likely).
    #[error("certificate {serial} does not decrypt: {source}")]
    Decrypt {
        /// The entry's `serial_no`.
        serial: String,
        /// Why.
        #[source]
        source: AeadError,
    },
    /// An entry decrypts to something that is not a usable certificate.
    #[error("certificate {serial} is not usable: {source}")]
    Certificate {
        /// The entry's `serial_no`.
        serial: String,
        /// Why.
        #[source]
        source: KeyError,
    },
    /// An entry's `serial_no` is not the serial of the certificate inside it.
    #[error("entry serial_no {listed} holds certificate {actual}")]
    SerialMismatch {
        /// `serial_no`.
        listed: String,
        /// The certificate's serial.
        actual: String,
    },
    /// No certificate in the answer is valid at `now`.
    #[error("no certificate in the answer is valid now")]
    NoValidCertificate,
}

#[cfg(test)]
mod tests {
    use super::without_quoted_values as hide;

    #[test]
    fn quoted_values_are_hidden_and_names_kept() {
        assert_eq!(
            hide(r#"invalid type: string "a \"quoted\" openid", expected u64 at line 1"#),
            r#"invalid type: string "…", expected u64 at line 1"#
        );
        assert_eq!(hide("missing field `amount`"), "missing field `amount`");
        assert_eq!(hide(r#"two "x" and "y""#), r#"two "…" and "…""#);
        assert_eq!(hide(r#"unterminated "secret"#), r#"unterminated "…"#);
    }
}

/// `Debug` is the `Display` message, so that what `fn main() -> Result<(), Box<dyn Error>>`
/// prints on failure (`Error: …`) carries the advice; match on the variants for the structure.
/// Neither shows a secret.
macro_rules! debug_as_display {
    ($($t:ty),* $(,)?) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(self, f)
            }
        }
    )*};
}
pub(crate) use debug_as_display;

debug_as_display!(
    KeyError,
    V2Error,
    ConfigError,
    BuildError,
    SignError,
    VerifyError,
    ResponseError,
    TransportError,
    CallError,
    RefreshError,
    AeadError,
    OaepError,
    BillError,
    BillReadError,
    CertificateError,
    ApiError,
);

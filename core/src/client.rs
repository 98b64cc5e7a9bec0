//! The client: credentials, trusted platform keys, base URL, clock and nonce source. It signs
//! [`Call`]s into `http::Request`s and verifies `http::Response`s. No I/O.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{Method, Request, Response, Uri};

use crate::clock::{Clock, NonceSource, OsNonce, SystemClock};
use crate::credentials::Merchant;
use crate::error::{BuildError, ResponseError};
use crate::keys::{PlatformKeys, SharedKeys};
use crate::request::{Call, Decoder};
use crate::response::{api_error, request_id, ApiResponse};
use crate::sign::{authorization, request_message};
use crate::v2::{SignedV2, V2Call};
use crate::verify::{is_unsigned_download, verify_headers, DEFAULT_WINDOW, SERIAL};

/// The default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";

/// The `User-Agent` this crate sends.
pub(crate) const USER_AGENT_VALUE: &str = concat!(
    "wechatpay-rs/",
    env!("CARGO_PKG_VERSION"),
    " (wechatpay-core)"
);

#[derive(Clone)]
struct BaseUrl {
    /// `scheme://authority`
    origin: String,
    /// `""` or `/prefix` (no trailing slash).
    prefix: String,
}

impl BaseUrl {
    fn parse(url: &str) -> Result<Self, BuildError> {
        let bad = |reason| BuildError::InvalidBaseUrl {
            url: crate::transport::redact_userinfo(url).into_owned(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let scheme = uri.scheme_str().ok_or_else(|| bad("no scheme"))?;
        if scheme != "https" && scheme != "http" {
            return Err(bad("the scheme must be https (or http for local tests)"));
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("user information is not allowed"));
        }
        if uri.query().is_some() || url.contains('#') {
            return Err(bad("a query or fragment is not allowed"));
        }
        let prefix = uri.path().trim_end_matches('/').to_string();
        if !prefix.is_empty() {
            crate::path::check_segments(&prefix, true).map_err(bad)?;
        }
        Ok(Self {
            origin: format!("{scheme}://{authority}"),
            prefix,
        })
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.origin, self.prefix)
    }
}

/// A signed request ready to send, and what to expect back.
pub struct SignedRequest<T> {
    /// The request: send it as it is.
    pub request: Request<Vec<u8>>,
    /// What the answer must look like; hand it to [`Client::verify`] with the response.
    pub expect: Expect<T>,
}

impl<T> fmt::Debug for SignedRequest<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedRequest")
            .field("request", &self.request)
            .field("expect", &self.expect)
            .finish()
    }
}

/// What the answer to a signed request must be: signed or an unsigned download, and its type.
pub struct Expect<T> {
    method: Method,
    path: String,
    unsigned: bool,
    decode: Decoder<T>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Expect<T> {
    fn clone(&self) -> Self {
        Self {
            method: self.method.clone(),
            path: self.path.clone(),
            unsigned: self.unsigned,
            decode: self.decode,
            _t: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Expect<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expect")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("unsigned_download", &self.unsigned)
            .field("answer", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T> Expect<T> {
    /// The request path (template filled, without base URL prefix or query).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether the answer is an unsigned file download.
    pub fn is_unsigned_download(&self) -> bool {
        self.unsigned
    }
}

/// The sans-IO WeChat Pay client. Cheap to clone; `Send + Sync`.
///
/// ```
/// use wechatpay_core::{Client, Merchant, PlatformKey, PlatformKeys, PrivateKey};
/// let key = PrivateKey::from_pem(std::fs::read("../tests/fixtures/keys/merchant_key.pem")?)?;
/// let platform = PlatformKey::from_public_key_pem(
///     "PUB_KEY_ID_0119000000012026112600000001",
///     std::fs::read("../tests/fixtures/keys/platform_pubkey_mode.pub.pem")?,
/// )?;
/// let client = Client::builder(Merchant::new("1900000001", "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B", key)?)
///     .platform_keys(PlatformKeys::new().with(platform))
///     .build()?;
/// let call = wechatpay_core::Call::<serde_json::Value>::post("/v3/payscore/payafter-orders/{out_order_no}/cancel")
///     .path_param("out_order_no", "ORDER-1")
///     .json(&serde_json::json!({"appid": "wx7c3a5f9e1d2b4086", "service_id": "500001", "reason": "user cancelled"}));
/// let signed = client.sign_with(call, 1_800_000_000, "0123456789abcdefABCDEF0123456789")?;
/// assert_eq!(signed.request.uri(), "https://api.mch.weixin.qq.com/v3/payscore/payafter-orders/ORDER-1/cancel");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Cloning is cheap (one reference count): the clones share the settings and the platform keys.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

/// What a [`Client`] and its clones share.
struct ClientInner {
    merchant: Merchant,
    platform: SharedKeys,
    base: BaseUrl,
    window: u64,
    clock: Arc<dyn Clock>,
    nonces: Arc<dyn NonceSource>,
    user_agent: HeaderValue,
    apiv2: Option<crate::v2::ApiV2Key>,
    refresh: Option<Arc<RefreshConfig>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("merchant", &self.inner.merchant)
            .field("platform", &self.inner.platform)
            .field("base_url", &format_args!("{}", self.inner.base))
            .field("window", &self.inner.window)
            .field("refresh", &self.inner.refresh.is_some())
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`].
pub struct ClientBuilder {
    merchant: Merchant,
    platform: SharedKeys,
    base_url: String,
    window: u64,
    clock: Arc<dyn Clock>,
    nonces: Arc<dyn NonceSource>,
    user_agent: Option<String>,
    apiv3_key: Option<crate::aead::ApiV3Key>,
    apiv2_key: Option<crate::v2::ApiV2Key>,
    min_refresh_interval: std::time::Duration,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("merchant", &self.merchant)
            .field("platform", &self.platform)
            .field("base_url", &self.base_url)
            .field("window", &self.window)
            .field("apiv3_key", &self.apiv3_key)
            .field("min_refresh_interval", &self.min_refresh_interval)
            .finish_non_exhaustive()
    }
}

/// The default shortest interval between two automatic certificate refreshes.
pub(crate) const DEFAULT_MIN_REFRESH_INTERVAL: std::time::Duration =
    std::time::Duration::from_secs(30);

impl ClientBuilder {
    /// The platform keys responses are verified with.
    pub fn platform_keys(mut self, keys: PlatformKeys) -> Self {
        self.platform = SharedKeys::new(keys);
        self
    }

    /// Share a key set with other clients, callback verifiers and refreshers.
    pub fn shared_keys(mut self, keys: SharedKeys) -> Self {
        self.platform = keys;
        self
    }

    /// The base URL: default `https://api.mch.weixin.qq.com`; may carry a path prefix, and may be
    /// `http://127.0.0.1:PORT` for tests.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The allowed difference between `Wechatpay-Timestamp` and the clock (default 300 s).
    pub fn clock_window(mut self, seconds: u64) -> Self {
        self.window = seconds;
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The nonce source (default: [`OsNonce`]).
    pub fn nonce_source(mut self, nonces: impl NonceSource + 'static) -> Self {
        self.nonces = Arc::new(nonces);
        self
    }

    /// The APIv3 key. With it, an answer or callback naming an unknown `Wechatpay-Serial`
    /// triggers one certificate download (shared by concurrent exchanges, at most one per
    /// [`ClientBuilder::min_refresh_interval`]) and a second verification of the same answer;
    /// explicit and background refreshes need it too.
    pub fn apiv3_key(mut self, key: crate::aead::ApiV3Key) -> Self {
        self.apiv3_key = Some(key);
        self
    }

    /// The APIv2 key, for the XML API ([`Client::sign_v2`]).
    pub fn apiv2_key(mut self, key: crate::v2::ApiV2Key) -> Self {
        self.apiv2_key = Some(key);
        self
    }

    /// The shortest interval between two automatic refreshes (default 30 s; saturated to a day).
    pub fn min_refresh_interval(mut self, d: std::time::Duration) -> Self {
        self.min_refresh_interval = d;
        self
    }

    /// Append `product` to the `User-Agent` (e.g. the transport's name).
    pub fn user_agent_suffix(mut self, product: impl Into<String>) -> Self {
        self.user_agent = Some(product.into());
        self
    }

    /// Build the client.
    pub fn build(self) -> Result<Client, BuildError> {
        // The most common setup mistake: the merchant's own API certificate (or its public key)
        // given as a platform key. Answers would never verify; say so now.
        if let Some(own) = self.merchant.signer().public_key_der() {
            let keys = self.platform.load();
            let clash = keys
                .iter()
                .find(|k| k.public_key_der() == own.as_slice())
                .map(|k| k.id().to_string());
            if let Some(id) = clash {
                return Err(BuildError::MerchantKeyAsPlatformKey { id });
            }
        }
        let ua = match &self.user_agent {
            Some(extra) => format!("{USER_AGENT_VALUE} {extra}"),
            None => USER_AGENT_VALUE.to_string(),
        };
        let user_agent = HeaderValue::from_str(&ua).map_err(|_| BuildError::InvalidHeader {
            name: "User-Agent".into(),
            reason: "value has a control or non-visible character",
        })?;
        let inner = ClientInner {
            merchant: self.merchant,
            platform: self.platform,
            base: BaseUrl::parse(&self.base_url)?,
            window: self.window,
            clock: self.clock,
            nonces: self.nonces,
            user_agent,
            apiv2: self.apiv2_key,
            refresh: self.apiv3_key.map(|key| {
                Arc::new(RefreshConfig {
                    key,
                    gate: std::sync::Mutex::new(crate::certificates::RefreshGate::new(
                        crate::error::saturate(self.min_refresh_interval),
                    )),
                })
            }),
        };
        Ok(Client {
            inner: Arc::new(inner),
        })
    }
}

impl Client {
    /// A fresh nonce from the client's source.
    pub(crate) fn nonce(&self) -> Result<String, BuildError> {
        self.inner.nonces.nonce()
    }

    /// The URL of `path` (absolute, starting with `/`) on the base URL.
    pub(crate) fn url_for(&self, path: &str) -> Result<Uri, BuildError> {
        if !path.starts_with('/') {
            return Err(BuildError::InvalidPathTemplate {
                template: path.to_string(),
                reason: "an APIv2 path starts with `/`",
            });
        }
        let on_default_host =
            self.inner.base.prefix.is_empty() && self.inner.base.origin == DEFAULT_BASE_URL;
        let url = match crate::v2::OTHER_HOSTS.iter().find(|(p, _)| *p == path) {
            // Served from another host (risk/getpublickey): there when the client talks to
            // the default host; a custom base URL (a test gateway) serves every path itself.
            Some((_, host)) if on_default_host => format!("{}{path}", host.trim_end_matches('/')),
            _ => format!("{}{path}", self.inner.base),
        };
        url.parse::<Uri>()
            .map_err(|_| BuildError::InvalidPathTemplate {
                template: path.to_string(),
                reason: "not a valid URL path",
            })
    }

    /// The `User-Agent` sent.
    pub(crate) fn user_agent(&self) -> &HeaderValue {
        &self.inner.user_agent
    }

    /// The APIv2 key, when configured.
    pub fn apiv2_key(&self) -> Option<&crate::v2::ApiV2Key> {
        self.inner.apiv2.as_ref()
    }

    /// Sign an APIv2 call with the client's APIv2 key ([`ClientBuilder::apiv2_key`]): `mch_id`
    /// added when the call names none of `mch_id`, `mchid`, `combine_mch_id` (and refused when
    /// it names another merchant), `nonce_str` added except on the no-nonce paths, `sign_type`
    /// when HMAC-SHA256, then `sign`; the XML body; the URL on this client's base URL.
    pub fn sign_v2<T>(&self, call: V2Call<T>) -> Result<SignedV2<T>, BuildError> {
        let nonce = self.nonce()?;
        self.sign_v2_with(call, &nonce)
    }

    /// As [`Client::sign_v2`] with the given `nonce_str`.
    pub fn sign_v2_with<T>(&self, call: V2Call<T>, nonce: &str) -> Result<SignedV2<T>, BuildError> {
        let key = self.apiv2_key().ok_or(BuildError::NoApiV2Key)?;
        let uri = self.url_for(call.path())?;
        crate::v2::sign_call(
            call,
            self.merchant().mchid(),
            key,
            nonce,
            uri,
            self.user_agent(),
        )
    }

    /// Start configuring a client for `merchant`.
    pub fn builder(merchant: Merchant) -> ClientBuilder {
        ClientBuilder {
            merchant,
            platform: SharedKeys::default(),
            base_url: DEFAULT_BASE_URL.to_string(),
            window: DEFAULT_WINDOW,
            clock: Arc::new(SystemClock),
            nonces: Arc::new(OsNonce),
            user_agent: None,
            apiv3_key: None,
            apiv2_key: None,
            min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
        }
    }

    /// The refresh settings, when an APIv3 key is configured.
    pub(crate) fn refresh_config(&self) -> Option<&RefreshConfig> {
        self.inner.refresh.as_deref()
    }

    /// Whether an APIv3 key is configured (certificate refresh is possible).
    pub fn can_refresh(&self) -> bool {
        self.inner.refresh.is_some()
    }

    /// The merchant.
    pub fn merchant(&self) -> &Merchant {
        &self.inner.merchant
    }

    /// The trusted platform keys, as they are now.
    pub fn platform_keys(&self) -> Arc<PlatformKeys> {
        self.inner.platform.load()
    }

    /// The shared, swappable key set behind this client.
    pub fn shared_keys(&self) -> &SharedKeys {
        &self.inner.platform
    }

    /// The clock window in seconds.
    pub fn clock_window(&self) -> u64 {
        self.inner.window
    }

    /// The clock.
    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock.clone()
    }

    /// The nonce source.
    pub(crate) fn nonce_source(&self) -> Arc<dyn NonceSource> {
        self.inner.nonces.clone()
    }

    /// Apply a `GET /v3/certificates` answer (see [`crate::certificates`]) at `now` and, on
    /// success, swap the new key set into this client (atomically, for everyone sharing it).
    pub fn apply_certificates<B: AsRef<[u8]>>(
        &self,
        apiv3_key: &crate::aead::ApiV3Key,
        response: &Response<B>,
        now: i64,
    ) -> Result<crate::certificates::Downloaded, crate::error::CertificateError> {
        let current = self.inner.platform.load();
        let result =
            crate::certificates::apply(&current, apiv3_key, response, now, self.inner.window)?;
        if let crate::certificates::Downloaded::Certificates { keys, .. } = &result {
            self.inner.platform.replace(keys.clone());
        }
        Ok(result)
    }

    /// The clock's reading.
    pub fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    /// Sign `call` with the clock's time and a fresh nonce.
    pub fn sign<T>(&self, call: Call<T>) -> Result<SignedRequest<T>, BuildError> {
        let nonce = self.nonce()?;
        self.sign_with(call, self.now(), &nonce)
    }

    /// Sign `call` with the given Unix `timestamp` and `nonce` (ASCII letters and digits).
    pub fn sign_with<T>(
        &self,
        call: Call<T>,
        timestamp: i64,
        nonce: &str,
    ) -> Result<SignedRequest<T>, BuildError> {
        let mut call = call;
        if let Some(e) = call.error.take() {
            return Err(e);
        }
        if nonce.is_empty() || nonce.len() > 64 || !nonce.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(BuildError::InvalidNonce);
        }
        let keys = self.inner.platform.load();
        let mut serial: Option<String> = call.serial.clone();
        // Sensitive values (body and query) are encrypted first, with the key the request will
        // name; the query then goes into the target that is signed.
        let sensitive_body = call.sensitive.take();
        if sensitive_body.is_some() || !call.sensitive_query.is_empty() {
            serial = Some(self.encrypt_sensitive(&keys, serial, sensitive_body, &mut call)?);
        }
        let (path, query) = call.path_and_query()?;
        let mut target =
            String::with_capacity(self.inner.base.prefix.len() + path.len() + query.len() + 1);
        target.push_str(&self.inner.base.prefix);
        target.push_str(&path);
        if !query.is_empty() {
            target.push('?');
            target.push_str(&query);
        }
        let mut full = String::with_capacity(self.inner.base.origin.len() + target.len());
        full.push_str(&self.inner.base.origin);
        full.push_str(&target);
        // From a String, the URI keeps its bytes instead of copying them.
        let uri = Uri::try_from(full).map_err(BuildError::Uri)?;
        // Sign exactly the target the request carries.
        let carried = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        if carried != target {
            return Err(BuildError::TargetChanged {
                target: target.clone(),
                carried: carried.to_string(),
            });
        }
        let body = call.body.unwrap_or_default();
        let signed_body: &[u8] = match &call.multipart {
            Some((meta, _)) => meta,
            None => &body,
        };
        let message = request_message(call.method.as_str(), carried, timestamp, nonce, signed_body);
        let signer = self.inner.merchant.signer();
        let signature = signer.sign(&message)?;
        let auth = authorization(
            signer.algorithm(),
            self.inner.merchant.mchid(),
            nonce,
            timestamp,
            self.inner.merchant.serial(),
            &signature,
        );
        let auth = HeaderValue::try_from(auth).map_err(|_| BuildError::InvalidHeader {
            name: "Authorization".into(),
            reason: "the signer produced a value that is not a valid header",
        })?;
        let mut builder = Request::builder()
            .method(call.method.clone())
            .uri(uri)
            .header(AUTHORIZATION, auth)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, self.inner.user_agent.clone());
        if let Some((_, ct)) = &call.multipart {
            builder = builder.header(CONTENT_TYPE, ct.clone());
        } else if !body.is_empty() {
            builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let serial = serial.as_deref().or_else(|| keys.preferred_serial());
        if let Some(serial) = serial {
            let v = HeaderValue::from_str(serial).map_err(|_| BuildError::InvalidHeader {
                name: SERIAL.into(),
                reason: "value has a control or non-visible character",
            })?;
            builder = builder.header(SERIAL, v);
        }
        let mut request = builder.body(body).map_err(BuildError::Http)?;
        for (name, value) in call.headers {
            if name == CONTENT_TYPE || name == ACCEPT || name == USER_AGENT {
                request.headers_mut().insert(name, value);
            } else {
                request.headers_mut().append(name, value);
            }
        }
        if call.streamed {
            request
                .extensions_mut()
                .insert(crate::request::StreamedBody);
        }
        let unsigned = is_unsigned_download(&call.method, &path);
        Ok(SignedRequest {
            request,
            expect: Expect {
                method: call.method,
                path,
                unsigned,
                decode: call.decode,
                _t: PhantomData,
            },
        })
    }

    /// Encrypt the plaintexts `Call::json` met and the sensitive query values, with the key the
    /// request will name; returns that serial (which the request must carry).
    fn encrypt_sensitive<T>(
        &self,
        keys: &PlatformKeys,
        requested: Option<String>,
        sens: Option<crate::sensitive::Collected>,
        call: &mut Call<T>,
    ) -> Result<String, BuildError> {
        use crate::error::OaepError;
        use crate::sensitive::{marker_json, replace_once};
        let mut serial = requested;
        let field_serials = sens
            .iter()
            .flat_map(|s| s.serials.iter().map(String::as_str))
            .chain(call.sensitive_query.iter().filter_map(|(_, v)| v.serial()));
        for field in field_serials {
            match &serial {
                Some(s) if !s.eq_ignore_ascii_case(field) => {
                    return Err(OaepError::SerialConflict {
                        field: field.to_string(),
                        request: s.clone(),
                    }
                    .into())
                }
                _ => serial = Some(field.to_string()),
            }
        }
        let serial = match serial.or_else(|| keys.preferred_serial().map(str::to_string)) {
            Some(s) => s,
            None => return Err(OaepError::NoKey(String::new()).into()),
        };
        let key = keys
            .get(&serial)
            .ok_or_else(|| OaepError::NoKey(serial.clone()))?;
        if let Some(sens) = sens {
            let body = call.body.get_or_insert_with(Vec::new);
            for (i, plain) in sens.plaintexts.iter().enumerate() {
                let ct = key.encrypt_oaep(plain.as_bytes())?;
                let with = serde_json::to_string(&ct).map_err(BuildError::Serialize)?;
                if !replace_once(body, marker_json(i).as_bytes(), with.as_bytes()) {
                    return Err(OaepError::Placeholder.into());
                }
            }
        }
        for (at, value) in std::mem::take(&mut call.sensitive_query) {
            if let (Some(plain), Some(slot)) = (value.plaintext(), call.query.get_mut(at)) {
                slot.1 = key.encrypt_oaep(plain.as_bytes())?;
            }
        }
        Ok(serial)
    }

    /// The call that downloads a bill's `download_url` (a signed `GET`, answered unsigned; check
    /// it with [`crate::bill::BillWriter`]). The URL must be on this client's base URL, its
    /// path prefix included: nothing is signed for another host or path.
    pub fn bill_download(&self, download_url: &str) -> Result<Call<Vec<u8>>, BuildError> {
        // The query holds the download token: it stays out of the error (and so of logs).
        let foreign = || BuildError::ForeignUrl {
            url: crate::error::without_query(download_url),
            base: self.inner.base.to_string(),
        };
        // Origin, then the base URL's path prefix ending at a segment boundary: a URL outside
        // the prefix is not re-targeted under it, and `/gwx` is not under `/gw`.
        let rest = download_url
            .strip_prefix(&self.inner.base.origin)
            .and_then(|rest| rest.strip_prefix(&self.inner.base.prefix))
            .filter(|rest| rest.starts_with('/'))
            .ok_or_else(foreign)?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        // Checked here, not by `Call::raw_query`, so that the refusal leaves the token out.
        if !crate::request::is_raw_query(query) {
            return Err(BuildError::InvalidQuery {
                query: "…".into(),
                reason: "a download_url's query (not shown: it holds the download token) has characters that are not allowed in a URL query",
            });
        }
        let mut call = Call::<serde_json::Value>::get(path.to_string()).expect_bytes();
        call.raw_query = Some(query.to_string());
        Ok(call)
    }

    /// JSAPI / mini-program payment parameters for `prepay_id`, with the clock's time and a
    /// fresh nonce (see [`crate::paysign`]).
    pub fn jsapi_params(
        &self,
        appid: &str,
        prepay_id: &str,
    ) -> Result<crate::paysign::JsapiParams, BuildError> {
        let nonce = self.nonce()?;
        Ok(crate::paysign::jsapi(
            self.inner.merchant.signer(),
            appid,
            prepay_id,
            self.now(),
            &nonce,
        )?)
    }

    /// APP payment parameters for `prepay_id`, with the clock's time and a fresh nonce.
    pub fn app_params(
        &self,
        appid: &str,
        prepay_id: &str,
    ) -> Result<crate::paysign::AppParams, BuildError> {
        let nonce = self.nonce()?;
        Ok(crate::paysign::app(
            self.inner.merchant.signer(),
            appid,
            self.inner.merchant.mchid(),
            prepay_id,
            self.now(),
            &nonce,
        )?)
    }

    /// Decrypt a downloaded part of a sub-merchant fund-flow bill: its `encrypt_key` with the
    /// merchant's private key, then the part (see [`crate::bill::EncryptedBillPart`]); gunzip it
    /// when requested with `tar_type=GZIP`; check its digest.
    pub fn open_bill_part(
        &self,
        part: &crate::bill::EncryptedBillPart,
        downloaded: &[u8],
        gzip: bool,
    ) -> Result<Vec<u8>, crate::error::BillError> {
        use crate::error::BillError;
        use base64::Engine as _;
        let wrapped = base64::engine::general_purpose::STANDARD
            .decode(part.encrypt_key.trim())
            .map_err(|_| BillError::Decrypt("encrypt_key is not base64"))?;
        let key = zeroize::Zeroizing::new(
            self.inner
                .merchant
                .signer()
                .decrypt_oaep(&wrapped)
                .map_err(|_| {
                    BillError::Decrypt("encrypt_key does not decrypt with the merchant key")
                })?,
        );
        crate::bill::open_part(&key, part, downloaded, gzip)
    }

    /// Decrypt a sensitive field of an answer (encrypted with the merchant's key).
    pub fn decrypt(
        &self,
        value: &crate::sensitive::Sensitive,
    ) -> Result<zeroize::Zeroizing<String>, crate::error::OaepError> {
        use crate::error::OaepError;
        use base64::Engine as _;
        let ct = value.ciphertext().ok_or(OaepError::DecryptFailed)?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(ct.trim())
            .map_err(|_| OaepError::Base64)?;
        let plain = self.inner.merchant.signer().decrypt_oaep(&raw)?;
        String::from_utf8(plain)
            .map(zeroize::Zeroizing::new)
            .map_err(|_| OaepError::DecryptFailed)
    }

    /// Verify and decode `response` at the clock's time.
    pub fn verify<T, B: AsRef<[u8]>>(
        &self,
        expect: &Expect<T>,
        response: &Response<B>,
    ) -> Result<ApiResponse<T>, ResponseError> {
        self.verify_at(expect, response, self.now())
    }

    /// Verify and decode `response` at `now` (Unix seconds).
    ///
    /// A non-2xx status gives [`ResponseError::Api`] (not verified: WeChat Pay does not sign every
    /// error reliably); a 2xx answer must carry a valid signature unless the request was an
    /// unsigned file download; then the body is decoded into `T`.
    pub fn verify_at<T, B: AsRef<[u8]>>(
        &self,
        expect: &Expect<T>,
        response: &Response<B>,
        now: i64,
    ) -> Result<ApiResponse<T>, ResponseError> {
        let parts = response;
        let body = response.body().as_ref();
        if !parts.status().is_success() {
            return Err(ResponseError::Api(Box::new(api_error(
                parts.status(),
                parts.headers(),
                body,
            ))));
        }
        let verified_by = if expect.unsigned {
            None
        } else {
            match verify_headers(
                &self.inner.platform.load(),
                parts.headers(),
                body,
                now,
                self.inner.window,
            ) {
                Ok(id) => Some(id.to_string()),
                Err(source) => {
                    return Err(ResponseError::Verify {
                        source,
                        request_id: request_id(parts.headers()),
                        body: body.to_vec(),
                    })
                }
            }
        };
        let data = (expect.decode)(body).map_err(|e| ResponseError::Decode {
            source: e.source,
            path: e.path,
            type_name: std::any::type_name::<T>(),
            status: parts.status(),
            request_id: request_id(parts.headers()),
            body: body.to_vec(),
        })?;
        Ok(ApiResponse {
            status: parts.status(),
            request_id: request_id(parts.headers()),
            verified_by,
            data,
        })
    }
}

/// The refresh state of one client: the APIv3 key that decrypts certificates, and the gate of
/// automatic refreshes (at most one per interval). Shared by every clone of the client.
pub(crate) struct RefreshConfig {
    pub(crate) key: crate::aead::ApiV3Key,
    pub(crate) gate: std::sync::Mutex<crate::certificates::RefreshGate>,
}

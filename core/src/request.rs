//! Describing a call: method, path template, parameters, query, body, headers.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use http::header::{HeaderName, HeaderValue};
use http::Method;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::BuildError;

/// Everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) is percent-encoded in a
/// path parameter or a query name or value.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(crate) type Decoder<T> = fn(&[u8]) -> Result<T, crate::response::JsonError>;

fn decode_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, crate::response::JsonError> {
    crate::response::decode(body)
}

fn decode_bytes(body: &[u8]) -> Result<Vec<u8>, crate::response::JsonError> {
    Ok(body.to_vec())
}

/// What [`required`] refuses: a value left at its empty default.
pub trait Unset {
    /// Whether the value was left empty (an empty string, an enum left at its default).
    fn is_unset(&self) -> bool;
}

impl Unset for String {
    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

impl Unset for crate::Sensitive {
    fn is_unset(&self) -> bool {
        match self.ciphertext() {
            Some(c) => c.is_empty(),
            None => self.plaintext().is_none_or(|p| p.is_empty()),
        }
    }
}

/// The message [`required`] fails with; [`Call::json`] turns it into
/// [`BuildError::MissingField`] with the field's path.
const UNSET: &str = "wechatpay: a required field is empty";

/// Serialise a field the official models require (`#[serde(serialize_with = …)]`, as the typed
/// requests of `wechatpay-api` do): an empty value fails [`Call::json`] with
/// [`BuildError::MissingField`] naming the field, so nothing is signed or sent.
pub fn required<T, S>(value: &T, serializer: S) -> Result<S::Ok, S::Error>
where
    T: Serialize + Unset + ?Sized,
    S: serde::Serializer,
{
    if value.is_unset() {
        return Err(serde::ser::Error::custom(UNSET));
    }
    value.serialize(serializer)
}

/// One API call, not yet signed: what to send and what type the answer has.
///
/// The typed endpoints of `wechatpay-api` return a `Call` of their response type; any other endpoint
/// is reached with the same builder and `serde_json::Value` or your own types.
///
/// ```
/// use wechatpay_core::Call;
/// let call = Call::<serde_json::Value>::get("/v3/pay/transactions/id/{transaction_id}")
///     .path_param("transaction_id", "4200000000000000")
///     .query("mchid", "1900000001");
/// ```
pub struct Call<T> {
    pub(crate) method: Method,
    pub(crate) template: Cow<'static, str>,
    pub(crate) path_params: Vec<(Cow<'static, str>, String)>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) serial: Option<String>,
    pub(crate) error: Option<BuildError>,
    pub(crate) decode: Decoder<T>,
    pub(crate) sensitive: Option<crate::sensitive::Collected>,
    /// Multipart uploads: the bytes signed (the meta JSON) and the content type.
    pub(crate) multipart: Option<(Vec<u8>, HeaderValue)>,
    /// The body is a file the client streams in place of the empty one signed.
    pub(crate) streamed: bool,
    pub(crate) raw_query: Option<String>,
    /// Sensitive query values: `(index in query, value)`, encrypted at signing.
    pub(crate) sensitive_query: Vec<(usize, crate::sensitive::Sensitive)>,
    _answer: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("template", &self.template)
            .field("path_params", &self.path_params)
            .field("query", &self.query)
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .field("answer", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> Call<T> {
    /// A call of `method` on `template`, an absolute path such as
    /// `/v3/payscore/payafter-orders/{out_order_no}/complete`, answered by a JSON `T`
    /// (`()` for an empty answer such as a 204).
    pub fn new(method: Method, template: impl Into<Cow<'static, str>>) -> Self {
        Self::with_decoder(method, template.into(), decode_json::<T>)
    }

    /// `GET template`.
    pub fn get(template: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Method::GET, template)
    }

    /// `POST template`.
    pub fn post(template: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Method::POST, template)
    }

    /// `PUT template`.
    pub fn put(template: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Method::PUT, template)
    }

    /// `PATCH template`.
    pub fn patch(template: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Method::PATCH, template)
    }

    /// `DELETE template`.
    pub fn delete(template: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Method::DELETE, template)
    }
}

impl<T> Call<T> {
    fn with_decoder(method: Method, template: Cow<'static, str>, decode: Decoder<T>) -> Self {
        Self {
            method,
            template,
            path_params: Vec::new(),
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
            serial: None,
            error: None,
            decode,
            sensitive: None,
            multipart: None,
            streamed: false,
            raw_query: None,
            sensitive_query: Vec::new(),
            _answer: PhantomData,
        }
    }

    fn fail(&mut self, e: BuildError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Fill the `{name}` placeholder with `value`, percent-encoded as one path segment: a `/`,
    /// space, `%` or non-ASCII character in the value cannot change the path; case is kept.
    pub fn path_param(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Self {
        let name = name.into();
        if self.path_params.iter().any(|(n, _)| *n == name) {
            self.fail(BuildError::InvalidPathParam {
                name: name.into_owned(),
                reason: "given twice",
            });
            return self;
        }
        self.path_params.push((name, value.into()));
        self
    }

    /// Add a query parameter. Names and values are percent-encoded (RFC 3986 unreserved
    /// characters stay as they are, a space becomes `%20`); order is kept.
    pub fn query(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((name.into(), value.to_string()));
        self
    }

    /// Add a query parameter the official models require: an empty `value` is refused with
    /// [`BuildError::MissingField`] (`query.<name>`) when the call is signed, so nothing is sent.
    pub fn query_required(mut self, name: &str, value: &str) -> Self {
        if value.is_empty() {
            self.fail(BuildError::MissingField {
                field: format!("query.{name}"),
            });
            return self;
        }
        self.query(name, value)
    }

    /// Add a sensitive query parameter (a few queries carry personal data, e.g. a bank account
    /// number): a plaintext is RSA-OAEP-encrypted when the request is signed, with the key the
    /// request names in `Wechatpay-Serial`, exactly like a sensitive body field; a ciphertext is
    /// sent as it is and its key becomes the request's serial.
    pub fn query_sensitive(mut self, name: impl Into<String>, value: &crate::Sensitive) -> Self {
        let at = self.query.len();
        self.query.push((
            name.into(),
            value.ciphertext().unwrap_or_default().to_string(),
        ));
        self.sensitive_query.push((at, value.clone()));
        self
    }

    /// Serialise `body` as the JSON body. It is serialised here, once: these bytes are signed and
    /// sent.
    ///
    /// [`crate::Sensitive`] plaintexts in the body are encrypted when the request is signed.
    ///
    /// A field the official models require left empty (see [`required`]) is refused with
    /// [`BuildError::MissingField`], naming it.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Self {
        match crate::sensitive::collect(|| serde_json::to_vec(body)) {
            (Ok(bytes), sensitive) => {
                self.body = Some(bytes);
                self.sensitive = sensitive;
            }
            (Err(e), _) if e.to_string().starts_with(UNSET) => {
                // Serialised again, only now, to learn which field it was.
                let (path, _) = crate::sensitive::collect(|| {
                    let mut out = serde_json::Serializer::new(Vec::new());
                    serde_path_to_error::serialize(body, &mut out)
                        .err()
                        .map(|e| e.path().to_string())
                });
                self.fail(BuildError::MissingField {
                    field: path.unwrap_or_else(|| ".".into()),
                });
            }
            (Err(e), _) => self.fail(BuildError::Serialize(e)),
        }
        self
    }

    /// Use `bytes` verbatim as the JSON body (signed and sent as they are).
    pub fn json_bytes(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Some(bytes.into());
        self
    }

    /// A multipart body (see the `media` module): `body` is sent, `signed` (the meta JSON, which
    /// `body` contains byte for byte) is what the signature covers.
    pub(crate) fn multipart(mut self, body: Vec<u8>, signed: Vec<u8>, content_type: &str) -> Self {
        match HeaderValue::from_str(content_type) {
            Ok(ct) => {
                self.body = Some(body);
                self.multipart = Some((signed, ct));
            }
            Err(_) => self.fail(BuildError::InvalidUpload {
                reason: "invalid content type",
            }),
        }
        self
    }

    /// Mark the body as a file streamed by the client ([`crate::AsyncClient::upload_file`]).
    pub(crate) fn streamed(mut self) -> Self {
        self.streamed = true;
        self
    }

    /// Append an already percent-encoded query string verbatim (e.g. the query of a bill's
    /// `download_url`). Only RFC 3986 query characters are accepted. A transport whose HTTP
    /// client would send the target rewritten refuses the call instead of sending it
    /// (wechatpay-reqwest: `'`, which its URL parser writes as `%27`).
    pub fn raw_query(mut self, query: &str) -> Self {
        if is_raw_query(query) {
            self.raw_query = Some(query.to_string());
        } else {
            self.fail(BuildError::InvalidQuery {
                query: query.to_string(),
                reason: "has characters that are not allowed in a URL query; give unencoded pairs with Call::query",
            });
        }
        self
    }

    /// Add a header. `Accept`, `User-Agent` and `Content-Type` are set by the client and replaced
    /// by a value given here; `Wechatpay-Serial` is set with [`Call::wechatpay_serial`].
    ///
    /// Refused (a [`BuildError::InvalidHeader`] when the call is signed): `Authorization`; the
    /// framing and hop-by-hop headers the transport owns (`Host`, `Content-Length`,
    /// `Transfer-Encoding`, `Connection`, `Keep-Alive`, `Proxy-Connection`, `TE`, `Trailer`,
    /// `Upgrade`); and values that are not visible ASCII (a non-ASCII value is refused, never
    /// sent altered).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let Ok(n) = HeaderName::from_bytes(name.as_bytes()) else {
            self.fail(BuildError::InvalidHeader {
                name: name.into(),
                reason: "not a valid header name",
            });
            return self;
        };
        if !value
            .bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
        {
            self.fail(BuildError::InvalidHeader {
                name: name.into(),
                reason: if value.is_ascii() {
                    "value has a control character"
                } else {
                    "value is not ASCII; WeChat Pay headers carry ASCII only (percent-encode it or put it in the body)"
                },
            });
            return self;
        }
        if n.as_str().eq_ignore_ascii_case(crate::path::SERIAL_HEADER) {
            self.fail(BuildError::InvalidHeader {
                name: name.into(),
                reason: "use Call::wechatpay_serial, which is checked against the key that sensitive fields are encrypted with",
            });
            return self;
        }
        if is_reserved_header(&n) {
            self.fail(BuildError::InvalidHeader {
                name: name.into(),
                reason: "set by the client or the transport (framing and hop-by-hop headers cannot be given)",
            });
            return self;
        }
        match HeaderValue::from_str(value) {
            Ok(v) => self.headers.push((n, v)),
            Err(_) => self.fail(BuildError::InvalidHeader {
                name: name.into(),
                reason: "value has a control character",
            }),
        }
        self
    }

    /// Send this `Wechatpay-Serial` instead of the client's preferred platform key.
    pub fn wechatpay_serial(mut self, serial: impl Into<String>) -> Self {
        self.serial = Some(serial.into());
        self
    }

    /// Expect another JSON answer type.
    pub fn expect<U: DeserializeOwned>(self) -> Call<U> {
        self.retype(decode_json::<U>)
    }

    /// Expect the raw body bytes (file downloads).
    pub fn expect_bytes(self) -> Call<Vec<u8>> {
        self.retype(decode_bytes)
    }

    fn retype<U>(self, decode: Decoder<U>) -> Call<U> {
        Call {
            method: self.method,
            template: self.template,
            path_params: self.path_params,
            query: self.query,
            body: self.body,
            headers: self.headers,
            serial: self.serial,
            error: self.error,
            decode,
            sensitive: self.sensitive,
            multipart: self.multipart,
            streamed: self.streamed,
            raw_query: self.raw_query,
            sensitive_query: self.sensitive_query,
            _answer: PhantomData,
        }
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path template.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// The body bytes, as they will be signed and sent.
    pub fn body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    /// The path (template filled, percent-encoded) and query, without base URL prefix.
    pub fn path_and_query(&self) -> Result<(String, String), BuildError> {
        let path = fill_template(&self.template, &self.path_params)?;
        let mut query = String::new();
        for (i, (k, v)) in self.query.iter().enumerate() {
            if i > 0 {
                query.push('&');
            }
            query.extend(utf8_percent_encode(k, COMPONENT));
            query.push('=');
            query.extend(utf8_percent_encode(v, COMPONENT));
        }
        if let Some(raw) = &self.raw_query {
            if !query.is_empty() && !raw.is_empty() {
                query.push('&');
            }
            query.push_str(raw);
        }
        Ok((path, query))
    }
}

/// Headers a call cannot set: the signature, and what the transport owns (message framing and
/// hop-by-hop headers, RFC 9110 §7.6.1), so that a request never carries two framings.
fn is_reserved_header(n: &HeaderName) -> bool {
    use http::header;
    [
        header::AUTHORIZATION,
        header::HOST,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
    ]
    .contains(n)
        || n.as_str() == "keep-alive"
        || n.as_str() == "proxy-connection"
}

fn is_path_char(b: u8) -> bool {
    // RFC 3986 pchar plus '/': unreserved, sub-delims, ':' '@', and '%' for pre-encoded bytes.
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&b)
}

/// Fill `{name}` placeholders, percent-encoding each value as one segment.
pub(crate) fn fill_template(
    template: &str,
    params: &[(Cow<'static, str>, String)],
) -> Result<String, BuildError> {
    let bad = |reason| BuildError::InvalidPathTemplate {
        template: template.to_string(),
        reason,
    };
    if !template.starts_with('/') {
        return Err(bad("must start with `/`"));
    }
    let mut out = String::with_capacity(template.len() + 32);
    let mut used = vec![false; params.len()];
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let (lit, after) = rest.split_at(open);
        check_literal(lit).map_err(bad)?;
        out.push_str(lit);
        let close = after.find('}').ok_or_else(|| bad("`{` without `}`"))?;
        let name = &after[1..close];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(bad("a placeholder name must be letters, digits and `_`"));
        }
        let idx = params
            .iter()
            .position(|(n, _)| n == name)
            .ok_or_else(|| BuildError::MissingPathParam { name: name.into() })?;
        used[idx] = true;
        let value = &params[idx].1;
        if value.is_empty() {
            return Err(BuildError::InvalidPathParam {
                name: name.into(),
                reason: "empty (it would leave an empty path segment)",
            });
        }
        if value == "." || value == ".." {
            return Err(BuildError::InvalidPathParam {
                name: name.into(),
                reason: "`.` and `..` are dot segments that change the path",
            });
        }
        out.extend(utf8_percent_encode(value, COMPONENT));
        rest = &after[close + 1..];
    }
    check_literal(rest).map_err(bad)?;
    out.push_str(rest);
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(BuildError::UnusedPathParam {
            name: params[i].0.to_string(),
        });
    }
    // The template's own segments: no empty segment (but a trailing `/`, which some endpoints
    // have), no dot segment, plain or percent-encoded, and no encoded `/` or `\`. Values are
    // percent-encoded, so only the template's literal text can make the path normalise into
    // another one.
    crate::path::check_segments(template, false).map_err(bad)?;
    // A placeholder next to literal text (`.{id}` with `.`) must not make a dot segment either.
    crate::path::check_segments(&out, false).map_err(bad)?;
    Ok(out)
}

fn check_literal(lit: &str) -> Result<(), &'static str> {
    if lit.contains('}') {
        return Err("`}` without `{`");
    }
    if lit.contains('?') || lit.contains('#') {
        return Err("`?` and `#` are not allowed; add query parameters with Call::query");
    }
    if !lit.bytes().all(is_path_char) {
        return Err(
            "has a character that is not allowed in a URL path; put such text in a path parameter",
        );
    }
    Ok(())
}

/// Whether `query` has only the characters an already encoded URL query may carry (RFC 3986).
pub(crate) fn is_raw_query(query: &str) -> bool {
    query
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b))
}

/// Marks the signed request whose body is an upload streamed from disk: the client sends the
/// file in place of its empty body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamedBody;

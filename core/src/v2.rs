//! APIv2: WeChat Pay's older XML API (red packets, payments to bank cards, v2 refunds and their
//! notifications, micropay, …), sans-IO like the rest of the crate.
//!
//! - Bodies are `<xml><field>value</field>…</xml>` (values that need it in CDATA), read and
//!   written with `quick-xml`.
//! - `sign` = upper-case hex of MD5(`k=v&…&key=KEY`) or HMAC-SHA256 keyed with the APIv2 key over
//!   the same string: fields sorted by name in byte order, empty values and `sign` left out,
//!   values raw. A request signed with HMAC-SHA256 says so in `sign_type` (itself signed).
//! - Answers: `return_code` (the call) then `result_code` (the business outcome), and a `sign`
//!   checked in constant time — except on the paths that answer unsigned.
//! - Refund notifications: `req_info` = base64 of AES-256-ECB/PKCS#7 under the lower-case hex
//!   MD5 of the APIv2 key.
//!
//! ```
//! use wechatpay_core::v2::{self, ApiV2Key, Fields, SignType};
//!
//! let key = ApiV2Key::new("192006250b4c09247ec02edce69f6a2d")?;
//! let mut fields = Fields::new();
//! fields.insert("appid".into(), "wxd930ea5d5a258f4f".into());
//! fields.insert("mch_id".into(), "10000100".into());
//! fields.insert("device_info".into(), "1000".into());
//! fields.insert("body".into(), "test".into());
//! fields.insert("nonce_str".into(), "ibuaiVcKdpRxkhJA".into());
//! assert_eq!(
//!     v2::string_to_sign(&fields),
//!     "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA"
//! );
//! assert_eq!(v2::sign(&fields, &key, SignType::Md5), "9A0A8659F005D6984697E2CA0A9CF3B7");
//! # Ok::<(), wechatpay_core::AeadError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use quick_xml::events::{BytesCData, BytesEnd, BytesStart, BytesText, Event};
use serde::de::DeserializeOwned;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::V2Error;
use crate::error::{AeadError, BuildError};

mod paths;
pub use paths::{CLIENT_CERTIFICATE_PATHS, NONCELESS_PATHS, OTHER_HOSTS, SIGNLESS_ANSWER_PATHS};

/// The fields of an APIv2 body, sorted by name (the order signing needs).
pub type Fields = BTreeMap<String, String>;

/// The merchant's APIv2 key: 32 ASCII characters, set in the merchant platform (not the APIv3
/// key). `Debug` never shows it; wiped on drop.
#[derive(Clone)]
pub struct ApiV2Key(Zeroizing<[u8; 32]>);

impl ApiV2Key {
    /// From the key as set in the merchant platform. As for the APIv3 key, surrounding white
    /// space is not part of it; what remains must be 32 bytes.
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self, AeadError> {
        crate::aead::key32(key.as_ref())
            .map(Self)
            .map_err(|len| AeadError::V2KeyLength { len })
    }

    /// From a file holding the key.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, crate::KeyError> {
        crate::aead::key_file(path.as_ref(), "APIv2 key", |k| Self::new(k))
    }

    /// The AES-256 key of refund notifications: the lower-case hex MD5 of this key, as bytes.
    fn refund_key(&self) -> Zeroizing<[u8; 32]> {
        let digest = crate::crypto::md5(&self.0[..]);
        let mut out = Zeroizing::new([0u8; 32]);
        for (i, b) in digest.iter().enumerate() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 15)];
        }
        out
    }
}

impl fmt::Debug for ApiV2Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV2Key(<redacted>)")
    }
}

/// The signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum SignType {
    /// MD5 (the default; no `sign_type` field is sent).
    #[default]
    Md5,
    /// HMAC-SHA256 (`sign_type` = `HMAC-SHA256`).
    HmacSha256,
}

impl SignType {
    /// The name in `sign_type`: `MD5` or `HMAC-SHA256`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::HmacSha256 => "HMAC-SHA256",
        }
    }

    /// `MD5` or `HMAC-SHA256` (case-insensitive).
    pub fn parse(s: &str) -> Option<SignType> {
        if s.eq_ignore_ascii_case("MD5") {
            Some(SignType::Md5)
        } else if s.eq_ignore_ascii_case("HMAC-SHA256") {
            Some(SignType::HmacSha256)
        } else {
            None
        }
    }

    /// The algorithm a request's fields declare (`sign_type`; MD5 when absent), as WeChat Pay
    /// reads a request it receives. Unknown names are `None`. Never read an answer's algorithm
    /// from the answer: check it with the request's ([`check_sign`]).
    pub fn declared(fields: &Fields) -> Option<SignType> {
        match fields.get("sign_type") {
            None => Some(SignType::Md5),
            Some(t) if t.is_empty() => Some(SignType::Md5),
            Some(t) => SignType::parse(t),
        }
    }
}

/// The string signed, before `&key=…`: every field but `sign` with a non-empty value, sorted
/// by name in byte order, `name=value` joined with `&`, values raw.
pub fn string_to_sign(fields: &Fields) -> String {
    let mut out = String::new();
    for (k, v) in fields {
        if k == "sign" || v.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The `sign` of `fields` under `key`: upper-case hex.
pub fn sign(fields: &Fields, key: &ApiV2Key, sign_type: SignType) -> String {
    let mut message = Zeroizing::new(string_to_sign(fields).into_bytes());
    message.extend_from_slice(b"&key=");
    message.extend_from_slice(&key.0[..]);
    match sign_type {
        SignType::Md5 => upper_hex(&crate::crypto::md5(&message)),
        SignType::HmacSha256 => upper_hex(&crate::crypto::hmac_sha256(&key.0[..], &message)),
    }
}

fn upper_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// Check the `sign` of received `fields` (an answer, a notification) made with `sign_type`: the
/// algorithm the request was signed with (an answer is signed with its request's), never one
/// read from the sign or the fields, so that an MD5 sign cannot stand in for an HMAC-SHA256 one.
/// The sign is compared as WeChat Pay produces it (upper-case hex), in constant time: another
/// spelling of the same sign is refused, so checks keyed on the sign's bytes stay sound.
pub fn check_sign(fields: &Fields, key: &ApiV2Key, sign_type: SignType) -> Result<(), V2Error> {
    let Some(got) = fields.get("sign").filter(|s| !s.is_empty()) else {
        return Err(V2Error::MissingSign {
            fields: fields.clone(),
        });
    };
    let want = sign(fields, key, sign_type);
    if crate::crypto::constant_time_eq(want.as_bytes(), got.as_bytes()) {
        Ok(())
    } else {
        Err(V2Error::SignMismatch {
            sign_type: sign_type.as_str(),
            fields: fields.clone(),
        })
    }
}

/// Whether a value must go in CDATA (it holds a character XML would read otherwise).
fn needs_cdata(v: &str) -> bool {
    v.contains(['<', '>', '&', '\'', '"'])
}

/// `fields` as `<xml>…</xml>`, in name order; values holding `<`, `>`, `&`, `'` or `"` in CDATA
/// (split where the value holds `]]>`).
pub fn to_xml(fields: &Fields) -> String {
    let mut w = quick_xml::Writer::new(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_event(Event::Start(BytesStart::new("xml")));
    for (k, v) in fields {
        let _ = w.write_event(Event::Start(BytesStart::new(k.as_str())));
        if needs_cdata(v) {
            for part in BytesCData::escaped(v) {
                let _ = w.write_event(Event::CData(part));
            }
        } else {
            let _ = w.write_event(Event::Text(BytesText::new(v)));
        }
        let _ = w.write_event(Event::End(BytesEnd::new(k.as_str())));
    }
    let _ = w.write_event(Event::End(BytesEnd::new("xml")));
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

/// The largest XML body read (an answer or a notification is a few KB).
pub const MAX_XML: usize = 1 << 20;

/// Read `<root>…</root>` (any root name) into its fields. A child holding elements (a list in
/// a few answers) keeps its inner XML as its value. Refuses what is not XML, a second root,
/// text outside elements, DTDs, unknown entities and a field given twice (which reading would
/// settle one way and a signature check perhaps another).
pub fn from_xml(body: &[u8]) -> Result<Fields, V2Error> {
    let bad = |reason: String| V2Error::Xml {
        reason,
        body: body.to_vec(),
    };
    if body.len() > MAX_XML {
        return Err(bad(format!("larger than {MAX_XML} bytes")));
    }
    let text = std::str::from_utf8(body).map_err(|_| bad("not UTF-8".into()))?;
    let mut r = quick_xml::Reader::from_str(text);
    let mut fields = Fields::new();
    let mut depth = 0usize;
    let mut root_done = false;
    // The field being read: its name, its text, and where its content starts.
    let mut current: Option<(String, String, usize)> = None;
    let mut nested = false;
    loop {
        let before = r.buffer_position() as usize;
        let ev = r.read_event().map_err(|e| bad(e.to_string()))?;
        match ev {
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::DocType(_) => return Err(bad("a DTD is not allowed".into())),
            Event::Start(e) => {
                if root_done {
                    return Err(bad("more than one root element".into()));
                }
                depth += 1;
                if depth == 2 {
                    let name = e.name().as_ref().to_string();
                    current = Some((name, String::new(), r.buffer_position() as usize));
                    nested = false;
                } else if depth > 2 {
                    nested = true;
                }
            }
            Event::Empty(e) => {
                if depth == 0 {
                    if root_done {
                        return Err(bad("more than one root element".into()));
                    }
                    root_done = true;
                } else if depth == 1 {
                    let name = e.name().as_ref().to_string();
                    if fields.insert(name.clone(), String::new()).is_some() {
                        return Err(bad(format!("field `{name}` is given twice")));
                    }
                } else {
                    nested = true;
                }
            }
            Event::End(_) => {
                if depth == 2 {
                    if let Some((name, value, start)) = current.take() {
                        let value = if nested {
                            text[start..before].to_string()
                        } else {
                            value
                        };
                        if fields.contains_key(&name) {
                            return Err(bad(format!("field `{name}` is given twice")));
                        }
                        fields.insert(name, value);
                    }
                }
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    root_done = true;
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                if depth < 2 {
                    if !s.trim().is_empty() {
                        return Err(bad("text outside a field".into()));
                    }
                } else if let Some((_, value, _)) = current.as_mut() {
                    value.push_str(&s);
                }
            }
            Event::CData(c) => {
                if depth < 2 {
                    return Err(bad("CDATA outside a field".into()));
                }
                if let Some((_, value, _)) = current.as_mut() {
                    value.push_str(&c.into_inner());
                }
            }
            Event::GeneralRef(g) => {
                let ch = if g.is_char_ref() {
                    g.resolve_char_ref().map_err(|e| bad(e.to_string()))?
                } else {
                    match g.as_ref() {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "apos" => Some('\''),
                        "quot" => Some('"'),
                        other => return Err(bad(format!("unknown entity &{other};"))),
                    }
                };
                match (ch, current.as_mut()) {
                    (Some(c), Some((_, value, _))) if depth >= 2 => value.push(c),
                    _ => return Err(bad("a reference outside a field".into())),
                }
            }
            Event::Eof => break,
        }
    }
    if !root_done {
        return Err(bad("no complete root element".into()));
    }
    Ok(fields)
}

/// Fields from a serialisable value (a typed request): strings as they are, numbers and
/// booleans as text, objects and arrays as compact JSON (APIv2 fields such as `detail` and
/// `scene_info` are JSON strings); `None` members and empty strings are left out.
pub fn fields_of<T: Serialize + ?Sized>(value: &T) -> Result<Fields, BuildError> {
    let v = serde_json::to_value(value).map_err(BuildError::Serialize)?;
    let serde_json::Value::Object(map) = v else {
        return Err(BuildError::V2NotAnObject);
    };
    let mut fields = Fields::new();
    for (k, v) in map {
        let s = match v {
            serde_json::Value::Null => continue,
            // Empty values are not signed and mean "absent" to WeChat Pay: not sent either.
            serde_json::Value::String(s) if s.is_empty() => continue,
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            other => other.to_string(),
        };
        fields.insert(k, s);
    }
    Ok(fields)
}

/// A typed value from answer fields (numbers are read from their text; the reverse of
/// [`fields_of`]). Types generated for APIv2 answers accept numbers given as strings.
pub fn from_fields<T: DeserializeOwned>(fields: &Fields) -> Result<T, V2Error> {
    let map: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| V2Error::Decode {
        type_name: std::any::type_name::<T>(),
        message: crate::error::without_quoted_values(&e.to_string()),
        fields: fields.clone(),
    })
}

/// One APIv2 call before signing: a path, its fields, the algorithm.
#[derive(Debug, Clone)]
pub struct V2Call<T = Fields> {
    path: String,
    fields: Fields,
    sign_type: SignType,
    _answer: std::marker::PhantomData<fn() -> T>,
}

impl V2Call<Fields> {
    /// A call to `path` (e.g. `/pay/micropay`) with no fields yet, answered as raw fields.
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            fields: Fields::new(),
            sign_type: SignType::Md5,
            _answer: std::marker::PhantomData,
        }
    }
}

impl<T> V2Call<T> {
    /// A call whose answer is read as `T` (generated typed calls).
    pub fn typed(path: impl Into<String>, fields: Fields) -> Self {
        Self {
            path: path.into(),
            fields,
            sign_type: SignType::Md5,
            _answer: std::marker::PhantomData,
        }
    }

    /// Set a field.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.insert(name.into(), value.into());
        self
    }

    /// Set every field of `fields`.
    pub fn fields(mut self, fields: Fields) -> Self {
        self.fields.extend(fields);
        self
    }

    /// Sign with `sign_type` (default MD5).
    pub fn sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = sign_type;
        self
    }

    /// The path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The fields set so far.
    pub fn field_map(&self) -> &Fields {
        &self.fields
    }

    /// Whether the path needs the merchant's client certificate (mutual TLS).
    pub fn needs_client_certificate(&self) -> bool {
        needs_client_certificate(&self.path)
    }
}

/// Whether `path` needs the merchant's client certificate (mutual TLS).
pub fn needs_client_certificate(path: &str) -> bool {
    CLIENT_CERTIFICATE_PATHS.contains(&path)
}

/// Whether `path` answers without a `sign`.
pub fn answers_unsigned(path: &str) -> bool {
    SIGNLESS_ANSWER_PATHS.contains(&path)
}

/// A signed APIv2 request: send `request` as it is (with the client certificate when
/// `client_certificate` says so), then hand the answer to [`SignedV2::verify`].
#[derive(Debug)]
pub struct SignedV2<T = Fields> {
    /// The request.
    pub request: Request<Vec<u8>>,
    /// Whether it must go over mutual TLS with the merchant's client certificate.
    pub client_certificate: bool,
    /// The fields sent (signed), for logs and tests; never holds the key.
    pub fields: Fields,
    path: String,
    key: ApiV2Key,
    sign_type: SignType,
    _answer: std::marker::PhantomData<fn() -> T>,
}

impl<T> SignedV2<T> {
    /// Whether this call can go out on `config`: a path that needs the client certificate is
    /// refused when `config` has none ([`BuildError::ClientCertificateRequired`]), before
    /// anything is sent.
    pub fn admit(&self, config: &crate::transport::Config) -> Result<(), BuildError> {
        if self.client_certificate && config.client_identity.is_none() {
            return Err(BuildError::ClientCertificateRequired {
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// The path called.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The algorithm the request was signed with, which its answer's `sign` must be made with.
    pub fn sign_type(&self) -> SignType {
        self.sign_type
    }
}

impl<T: DeserializeOwned> SignedV2<T> {
    /// Verify the answer (status, XML, `return_code`, `sign` with the request's algorithm
    /// unless the path answers unsigned and the answer has none, `result_code`) and read it as
    /// `T`.
    pub fn verify<B: AsRef<[u8]>>(&self, response: &Response<B>) -> Result<T, V2Error> {
        let fields = verify_answer(
            &self.key,
            &self.path,
            self.sign_type,
            response.status(),
            response.body().as_ref(),
        )?;
        from_fields(&fields)
    }
}

/// Verify an answer of `path` to a request signed with `sign_type`: 2xx, XML, `return_code`
/// SUCCESS, `sign` made with `sign_type` (on the paths that answer unsigned, only when the
/// answer has one: a `sign` that is there is always checked), then `result_code` (absent counts
/// as success: some answers have none; `FAIL` is [`V2Error::Business`]).
pub fn verify_answer(
    key: &ApiV2Key,
    path: &str,
    sign_type: SignType,
    status: StatusCode,
    body: &[u8],
) -> Result<Fields, V2Error> {
    if !status.is_success() {
        return Err(V2Error::Http {
            status,
            body: body.to_vec(),
        });
    }
    let fields = from_xml(body)?;
    check_return_code(&fields)?;
    let has_sign = fields.get("sign").is_some_and(|s| !s.is_empty());
    if !answers_unsigned(path) || has_sign {
        check_sign(&fields, key, sign_type)?;
    }
    check_result_code(fields)
}

/// `result_code` other than `SUCCESS` (absent counts as success) is [`V2Error::Business`], with
/// the verified fields.
fn check_result_code(fields: Fields) -> Result<Fields, V2Error> {
    if fields.get("result_code").is_some_and(|c| c != "SUCCESS") {
        return Err(V2Error::Business {
            err_code: fields.get("err_code").cloned(),
            err_code_des: fields.get("err_code_des").cloned(),
            fields,
        });
    }
    Ok(fields)
}

fn check_return_code(fields: &Fields) -> Result<(), V2Error> {
    match fields.get("return_code").map(String::as_str) {
        Some("SUCCESS") => Ok(()),
        other => Err(V2Error::Return {
            return_code: other.unwrap_or("").to_string(),
            return_msg: fields.get("return_msg").cloned(),
            fields: fields.clone(),
        }),
    }
}

/// Verify a payment notification (XML POSTed to `notify_url`): XML, `return_code`, `sign`
/// (required) made with `sign_type` — the algorithm your orders are signed with (WeChat Pay
/// signs the notification as the order was), never one read from the notification — then
/// `result_code`, exactly as an answer: a payment that failed (`result_code` `FAIL`) is
/// [`V2Error::Business`] with the verified fields, so it cannot be taken for a paid order.
/// Answer with [`notification_answer`]: success for a genuine notification (a `Business` one
/// included: it was received), failure for one that does not verify.
pub fn verify_notification(
    key: &ApiV2Key,
    sign_type: SignType,
    body: &[u8],
) -> Result<Fields, V2Error> {
    let fields = from_xml(body)?;
    check_return_code(&fields)?;
    check_sign(&fields, key, sign_type)?;
    check_result_code(fields)
}

/// A refund notification, decrypted but **not authenticated**. A refund notification carries
/// no `sign`: its `req_info` is AES-256-ECB with a key made from the APIv2 key, which keeps it
/// confidential but proves nothing — ECB has no MAC, and the 16-byte blocks of two genuine
/// notifications can be spliced into a third that decrypts to valid XML (a `CLOSED` refund
/// reading `SUCCESS`, a `refund_fee` changed) — and the outer fields (`appid`, `mch_id`, …)
/// are not protected at all. So both are named `unverified_…`: take the notification as news
/// that a refund changed, query it ([`RefundNotification::query`], a signed answer) and act on
/// that.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RefundNotification {
    /// The fields of the decrypted `req_info` (`out_refund_no`, `refund_status`, …): not
    /// authenticated.
    pub unverified_info: Fields,
    /// The notification's own fields (`appid`, `mch_id`, `nonce_str`, …): not authenticated.
    pub unverified_fields: Fields,
}

impl RefundNotification {
    /// The `out_refund_no` it names (not authenticated).
    pub fn out_refund_no(&self) -> Option<&str> {
        self.unverified_info
            .get("out_refund_no")
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The `/pay/refundquery` call for the refund it names: send it (a transport's `send_v2`)
    /// and act on its signed answer, not on the notification.
    pub fn query(&self) -> Result<V2Call<Fields>, V2Error> {
        let no = self.out_refund_no().ok_or(V2Error::ReqInfo(
            "the decrypted req_info names no out_refund_no",
        ))?;
        Ok(V2Call::new("/pay/refundquery").field("out_refund_no", no))
    }
}

/// Read a refund notification: XML, `return_code`, then `req_info` decrypted with the APIv2
/// key. Nothing in it is authenticated (see [`RefundNotification`]): confirm the refund with
/// [`RefundNotification::query`] before acting on it. Answer with [`notification_answer`].
pub fn refund_notification(key: &ApiV2Key, body: &[u8]) -> Result<RefundNotification, V2Error> {
    let fields = from_xml(body)?;
    check_return_code(&fields)?;
    let req_info = fields
        .get("req_info")
        .ok_or(V2Error::ReqInfo("the notification has no req_info"))?;
    let plaintext = decrypt_req_info(key, req_info)?;
    let info =
        from_xml(plaintext.as_bytes()).map_err(|_| V2Error::ReqInfo("the plaintext is not XML"))?;
    Ok(RefundNotification {
        unverified_info: info,
        unverified_fields: fields,
    })
}

/// Decrypt a refund notification's `req_info` to its XML text (`<root>…</root>`).
pub fn decrypt_req_info(key: &ApiV2Key, req_info: &str) -> Result<String, V2Error> {
    let ct = STANDARD
        .decode(req_info.trim())
        .map_err(|_| V2Error::ReqInfo("not base64"))?;
    if ct.is_empty() || ct.len() % 16 != 0 {
        return Err(V2Error::ReqInfo(
            "the ciphertext is not a whole number of AES blocks",
        ));
    }
    let pt = crate::crypto::aes256_ecb_pkcs7_decrypt(&key.refund_key(), &ct)
        .map_err(|()| V2Error::ReqInfo("decryption failed: a wrong APIv2 key, or altered data"))?;
    String::from_utf8(pt).map_err(|_| V2Error::ReqInfo("the plaintext is not UTF-8"))
}

/// Encrypt `plaintext` as a refund notification's `req_info` (for tests and sandboxes).
pub fn encrypt_req_info(key: &ApiV2Key, plaintext: &str) -> String {
    let ct = crate::crypto::aes256_ecb_pkcs7_encrypt(&key.refund_key(), plaintext.as_bytes())
        .unwrap_or_default();
    STANDARD.encode(ct)
}

/// The answer to a notification: `SUCCESS`/`OK`, or `FAIL` with `message` (WeChat Pay
/// delivers again).
pub fn notification_answer(ok: bool, message: &str) -> Response<Vec<u8>> {
    let mut f = Fields::new();
    f.insert(
        "return_code".into(),
        if ok { "SUCCESS" } else { "FAIL" }.into(),
    );
    f.insert("return_msg".into(), if ok { "OK" } else { message }.into());
    // CDATA as WeChat Pay shows it, whatever the value.
    let body = format!(
        "<xml><return_code><![CDATA[{}]]></return_code><return_msg><![CDATA[{}]]></return_msg></xml>",
        f["return_code"],
        f["return_msg"].replace("]]>", "]]]]><![CDATA[>")
    );
    let mut r = Response::new(body.into_bytes());
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    r
}

/// The parameters a WeChat page or mini-program passes to `requestPayment` for an APIv2
/// `prepay_id` (`appId`, `timeStamp`, `nonceStr`, `package`, `signType`, `paySign`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsapiParams {
    /// `appId`.
    pub app_id: String,
    /// `timeStamp` (Unix seconds, as a string).
    pub time_stamp: String,
    /// `nonceStr`.
    pub nonce_str: String,
    /// `package`: `prepay_id=…`.
    pub package: String,
    /// `signType`: `MD5` or `HMAC-SHA256`.
    pub sign_type: String,
    /// `paySign`.
    pub pay_sign: String,
}

/// The v2 JSAPI pay-sign: the sign rule over `appId`, `nonceStr`, `package`, `signType`,
/// `timeStamp` (these exact names).
pub fn jsapi_params(
    key: &ApiV2Key,
    app_id: &str,
    prepay_id: &str,
    timestamp: i64,
    nonce: &str,
    sign_type: SignType,
) -> JsapiParams {
    let mut f = Fields::new();
    f.insert("appId".into(), app_id.into());
    f.insert("timeStamp".into(), timestamp.to_string());
    f.insert("nonceStr".into(), nonce.into());
    f.insert("package".into(), format!("prepay_id={prepay_id}"));
    f.insert("signType".into(), sign_type.as_str().into());
    let pay_sign = sign(&f, key, sign_type);
    JsapiParams {
        app_id: app_id.into(),
        time_stamp: timestamp.to_string(),
        nonce_str: nonce.into(),
        package: format!("prepay_id={prepay_id}"),
        sign_type: sign_type.as_str().into(),
        pay_sign,
    }
}

/// How many bytes at the start of an APIv2 bill download are read before deciding what it is:
/// enough for a byte-order mark, white space and `<?xml`.
const SNIFF: usize = 256;

// One per download: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum BillState<W: std::io::Write> {
    /// The first bytes, until it is known what the body is.
    Sniffing(Vec<u8>, W),
    /// An XML error document (kept within the error limit).
    Error(Vec<u8>),
    Plain(crate::bill::Limited<W>),
    Gzip(flate2::write::MultiGzDecoder<crate::bill::Limited<W>>),
}

/// Streams an APIv2 bill download (`/pay/downloadbill`, `/pay/downloadfundflow`) into a writer:
/// the bill's text as it comes, gunzipped when it comes as gzip (`tar_type=GZIP`), at most
/// [`V2BillWriter::max_bytes`] as written; or, when the body is the XML error document WeChat
/// Pay answers instead (told apart after a byte-order mark and white space, case-blind:
/// `<xml>`, `<XML>`, `<?xml …?>`), that error as [`V2Error::Business`] or
/// [`V2Error::Return`], never as bill text.
pub struct V2BillWriter<W: std::io::Write> {
    state: Option<BillState<W>>,
    max_bytes: u64,
    max_error_bytes: u64,
}

impl<W: std::io::Write> fmt::Debug for V2BillWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            Some(BillState::Sniffing(..)) | None => "sniffing",
            Some(BillState::Error(_)) => "error document",
            Some(BillState::Plain(_)) => "text",
            Some(BillState::Gzip(_)) => "gzip",
        };
        f.debug_struct("V2BillWriter")
            .field("state", &state)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

/// What a body that starts with `head` is: `Some(true)` an XML document, `Some(false)` a bill
/// (text or gzip), `None` not known yet (only a byte-order mark, white space, a prefix of
/// `<?xml`, or gzip's first byte so far) unless `ended`.
fn is_xml_document(head: &[u8], ended: bool) -> Option<bool> {
    // The first byte of gzip's magic (the second says whether it is gzip), or part of a
    // byte-order mark.
    const BOM: &[u8] = b"\xef\xbb\xbf";
    if !ended && (head == [0x1f] || (head.len() < BOM.len() && BOM.starts_with(head))) {
        return None;
    }
    let rest = head.strip_prefix(BOM).unwrap_or(head);
    let rest = rest.trim_ascii_start();
    let lower: Vec<u8> = rest.iter().take(5).map(u8::to_ascii_lowercase).collect();
    let xml = [&b"<?xml"[..], &b"<xml"[..]];
    if xml.iter().any(|x| lower.starts_with(x)) {
        return Some(true);
    }
    let could_be = xml.iter().any(|x| x.starts_with(&lower));
    if could_be && !ended && head.len() < SNIFF {
        return None;
    }
    Some(false)
}

/// A write into the bill as the error it is: the limit passed (`BillError::TooLarge`), or a
/// broken gzip stream or a failed writer ([`V2Error::Bill`]).
fn write_error(e: std::io::Error) -> crate::CallError {
    match crate::bill::io_to_bill(e) {
        crate::error::BillError::Io(e) => V2Error::Bill {
            reason: format!("the bill data (gzip, or the writer): {e}"),
        }
        .into(),
        other => other.into(),
    }
}

impl<W: std::io::Write> V2BillWriter<W> {
    /// Into `writer`, at most [`crate::bill::DEFAULT_MAX_BILL_BYTES`].
    pub fn new(writer: W) -> Self {
        Self {
            state: Some(BillState::Sniffing(Vec::new(), writer)),
            max_bytes: crate::bill::DEFAULT_MAX_BILL_BYTES,
            max_error_bytes: MAX_XML as u64,
        }
    }

    /// Refuse a bill larger than `limit` bytes as written (after gunzip) with
    /// `BillError::TooLarge`.
    pub fn max_bytes(mut self, limit: u64) -> Self {
        self.max_bytes = limit;
        self
    }

    /// Refuse an error document larger than `limit` bytes.
    pub fn max_error_bytes(mut self, limit: u64) -> Self {
        self.max_error_bytes = limit.min(MAX_XML as u64);
        self
    }

    /// Leave sniffing once the head says what the body is (or it has ended).
    fn settle(&mut self, ended: bool) -> Result<(), crate::CallError> {
        let Some(BillState::Sniffing(head, _)) = &self.state else {
            return Ok(());
        };
        let Some(xml) = is_xml_document(head, ended) else {
            return Ok(());
        };
        let Some(BillState::Sniffing(head, writer)) = self.state.take() else {
            return Ok(());
        };
        if xml {
            self.state = Some(BillState::Error(Vec::new()));
        } else {
            let limited = crate::bill::Limited::new(writer, self.max_bytes);
            self.state = Some(if head.starts_with(&[0x1f, 0x8b]) {
                BillState::Gzip(flate2::write::MultiGzDecoder::new(limited))
            } else {
                BillState::Plain(limited)
            });
        }
        self.write(&head)
    }

    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), crate::CallError> {
        use std::io::Write as _;
        match &mut self.state {
            Some(BillState::Sniffing(head, _)) => {
                head.extend_from_slice(data);
                self.settle(false)
            }
            Some(BillState::Error(doc)) => {
                if (doc.len() + data.len()) as u64 > self.max_error_bytes {
                    return Err(V2Error::Bill {
                        reason: format!(
                            "the error document is larger than {} bytes",
                            self.max_error_bytes
                        ),
                    }
                    .into());
                }
                doc.extend_from_slice(data);
                Ok(())
            }
            Some(BillState::Plain(w)) => w.write_all(data).map_err(write_error),
            Some(BillState::Gzip(g)) => g.write_all(data).map_err(write_error),
            None => Ok(()),
        }
    }

    /// The writer and the bill's size in bytes (as written), or the error the body was.
    pub(crate) fn end(mut self) -> Result<(W, u64), crate::CallError> {
        self.settle(true)?;
        match self.state.take() {
            Some(BillState::Plain(w)) => Ok((w.inner, w.bytes)),
            Some(BillState::Gzip(g)) => {
                let w = g.finish().map_err(write_error)?;
                Ok((w.inner, w.bytes))
            }
            Some(BillState::Error(doc)) => {
                let doc = doc.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&doc);
                let fields = from_xml(doc)?;
                check_return_code(&fields)?;
                Err(V2Error::Business {
                    err_code: fields.get("err_code").or(fields.get("error_code")).cloned(),
                    err_code_des: fields.get("return_msg").cloned(),
                    fields,
                }
                .into())
            }
            Some(BillState::Sniffing(..)) | None => Err(V2Error::Bill {
                reason: "the download ended before it could be read".into(),
            }
            .into()),
        }
    }
}

impl<T> SignedV2<T> {
    /// Read a bill download's whole answer (sans-IO; transports stream it with
    /// `download_v2_bill`): the bill into `writer` through a [`V2BillWriter`] at its default
    /// limits, an error status as [`V2Error::Http`].
    pub fn bill<B: AsRef<[u8]>, W: std::io::Write>(
        &self,
        response: &Response<B>,
        writer: W,
    ) -> Result<(W, u64), crate::CallError> {
        if !response.status().is_success() {
            return Err(V2Error::Http {
                status: response.status(),
                body: response.body().as_ref().to_vec(),
            }
            .into());
        }
        let mut sink = V2BillWriter::new(writer);
        sink.write(response.body().as_ref())?;
        sink.end()
    }
}

/// Sign `call` for merchant `mchid` with `key` and `nonce`, for `uri`: what
/// [`crate::Client::sign_v2_with`] does with the client's settings.
pub(crate) fn sign_call<T>(
    call: V2Call<T>,
    mchid: &str,
    key: &ApiV2Key,
    nonce: &str,
    uri: http::Uri,
    user_agent: &HeaderValue,
) -> Result<SignedV2<T>, BuildError> {
    let mut fields = call.fields;
    let named: Vec<&str> = ["mch_id", "mchid", "combine_mch_id"]
        .into_iter()
        .filter(|k| fields.contains_key(*k))
        .collect();
    for k in &named {
        if fields[*k] != mchid {
            return Err(BuildError::V2OtherMerchant {
                field: (*k).to_string(),
                value: fields[*k].clone(),
            });
        }
    }
    if named.is_empty() {
        fields.insert("mch_id".into(), mchid.to_string());
    }
    if !NONCELESS_PATHS.contains(&call.path.as_str()) && !fields.contains_key("nonce_str") {
        fields.insert("nonce_str".into(), nonce.to_string());
    }
    if call.sign_type == SignType::HmacSha256 {
        fields.insert("sign_type".into(), "HMAC-SHA256".into());
    }
    fields.remove("sign");
    let s = sign(&fields, key, call.sign_type);
    let key = key.clone();
    fields.insert("sign".into(), s);
    let body = to_xml(&fields).into_bytes();
    let mut request = Request::new(body);
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri;
    let h = request.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("text/xml, application/xml, text/plain"),
    );
    h.insert(header::USER_AGENT, user_agent.clone());
    Ok(SignedV2 {
        request,
        client_certificate: needs_client_certificate(&call.path),
        fields,
        path: call.path,
        key,
        sign_type: call.sign_type,
        _answer: std::marker::PhantomData,
    })
}

//! The signed messages and the `Authorization` header: pure functions over bytes.

/// The request message: `METHOD\nTARGET\nTIMESTAMP\nNONCE\nBODY\n`.
///
/// `target` is the path and query exactly as sent; `body` the exact body bytes (empty for none).
///
/// ```
/// let m = wechatpay_core::sign::request_message("GET", "/v3/certificates", 1624523846, "A1B2", b"");
/// assert_eq!(m, b"GET\n/v3/certificates\n1624523846\nA1B2\n\n");
/// ```
pub fn request_message(
    method: &str,
    target: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    use std::io::Write as _;
    // An i64 has at most 20 characters.
    let mut m = Vec::with_capacity(method.len() + target.len() + 20 + nonce.len() + body.len() + 5);
    // Writing into a Vec cannot fail.
    let _ = write!(m, "{method}\n{target}\n{timestamp}\n{nonce}\n");
    m.extend_from_slice(body);
    m.push(b'\n');
    m
}

/// The response or callback message: `TIMESTAMP\nNONCE\nBODY\n`, over the header values as
/// received and the raw body bytes.
///
/// ```
/// let m = wechatpay_core::sign::response_message("1624523846", "n", b"");
/// assert_eq!(m, b"1624523846\nn\n\n");
/// ```
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    for part in [timestamp.as_bytes(), nonce.as_bytes(), body] {
        m.extend_from_slice(part);
        m.push(b'\n');
    }
    m
}

/// The `Authorization` header value, fields in the go/java order:
/// `WECHATPAY2-{algorithm} mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…"`.
///
/// ```
/// let h = wechatpay_core::sign::authorization("SHA256-RSA2048", "1900000001", "N", 1, "AB", "c2ln");
/// assert_eq!(h, r#"WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="N",timestamp="1",serial_no="AB",signature="c2ln""#);
/// ```
pub fn authorization(
    algorithm: &str,
    mchid: &str,
    nonce: &str,
    timestamp: i64,
    serial_no: &str,
    signature: &str,
) -> String {
    use std::fmt::Write as _;
    // The fixed text is 72 characters and an i64 at most 20: one allocation.
    let mut h = String::with_capacity(
        92 + algorithm.len() + mchid.len() + nonce.len() + serial_no.len() + signature.len(),
    );
    // Writing into a String cannot fail.
    let _ = write!(
        h,
        "WECHATPAY2-{algorithm} mchid=\"{mchid}\",nonce_str=\"{nonce}\",timestamp=\"{timestamp}\",serial_no=\"{serial_no}\",signature=\"{signature}\""
    );
    h
}

//! Response and callback signature verification: the four headers, the clock
//! window, the key by serial, probe signatures, and the signature over the raw body.

use http::HeaderMap;

use crate::error::VerifyError;
use crate::keys::{PlatformKeyKind, PlatformKeys, PROBE_PREFIX};
use crate::sign::response_message;

/// `Wechatpay-Timestamp`.
pub const TIMESTAMP: &str = "Wechatpay-Timestamp";
/// `Wechatpay-Nonce`.
pub const NONCE: &str = "Wechatpay-Nonce";
/// `Wechatpay-Signature`.
pub const SIGNATURE: &str = "Wechatpay-Signature";
/// `Wechatpay-Serial`.
pub const SERIAL: &str = crate::path::SERIAL_HEADER;
/// `Wechatpay-Signature-Type`.
pub const SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";
/// `Request-ID`.
pub const REQUEST_ID: &str = "Request-ID";

/// The default clock window in seconds: a timestamp exactly 300 s away passes, 301 s fails.
pub const DEFAULT_WINDOW: u64 = 300;

/// The signature headers of a response or callback, as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureHeaders<'a> {
    /// `Wechatpay-Timestamp`, as received.
    pub timestamp: &'a str,
    /// `Wechatpay-Nonce`.
    pub nonce: &'a str,
    /// `Wechatpay-Signature`.
    pub signature: &'a str,
    /// `Wechatpay-Serial`.
    pub serial: &'a str,
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, VerifyError> {
    optional_header(headers, name)?.ok_or(VerifyError::MissingHeader { name })
}

/// A header that may be absent; present more than once, or not visible ASCII, is an error.
pub(crate) fn optional_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, VerifyError> {
    let mut values = headers.get_all(name).iter();
    let Some(v) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(VerifyError::InvalidHeader { name });
    }
    v.to_str()
        .map(Some)
        .map_err(|_| VerifyError::InvalidHeader { name })
}

impl<'a> SignatureHeaders<'a> {
    /// Read the four headers (names are case-insensitive). A missing one, a repeated one or a
    /// non-ASCII value is an error.
    pub fn from_headers(headers: &'a HeaderMap) -> Result<Self, VerifyError> {
        Ok(Self {
            timestamp: header(headers, TIMESTAMP)?,
            nonce: header(headers, NONCE)?,
            signature: header(headers, SIGNATURE)?,
            serial: header(headers, SERIAL)?,
        })
    }
}

/// Parse `Wechatpay-Timestamp`: decimal digits only (no sign, no spaces, no suffix).
pub(crate) fn parse_timestamp(value: &str) -> Result<i64, VerifyError> {
    let invalid = || VerifyError::InvalidTimestamp {
        value: value.to_string(),
    };
    if value.is_empty() || value.len() > 18 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    value.parse::<i64>().map_err(|_| invalid())
}

/// Check `|now - timestamp| <= window`.
pub(crate) fn check_clock(timestamp: i64, now: i64, window: u64) -> Result<(), VerifyError> {
    let offset = now.saturating_sub(timestamp);
    if offset.unsigned_abs() > window {
        return Err(VerifyError::StaleTimestamp {
            timestamp,
            now,
            offset,
            window,
        });
    }
    Ok(())
}

/// Verify signature headers over `body` with `keys`, at `now` (Unix seconds), allowing `window`
/// seconds of clock difference. On success returns the id of the key that verified.
///
/// Order of checks: the four headers, the timestamp's form, the clock window, a probe signature,
/// the key by serial (and a certificate's validity at `now`), base64, the signature.
pub fn verify_headers<'k>(
    keys: &'k PlatformKeys,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
    window: u64,
) -> Result<&'k str, VerifyError> {
    let h = SignatureHeaders::from_headers(headers)?;
    verify_parts(keys, &h, body, now, window)
}

/// As [`verify_headers`], from headers already read.
pub fn verify_parts<'k>(
    keys: &'k PlatformKeys,
    h: &SignatureHeaders<'_>,
    body: &[u8],
    now: i64,
    window: u64,
) -> Result<&'k str, VerifyError> {
    let ts = parse_timestamp(h.timestamp)?;
    check_clock(ts, now, window)?;
    if h.signature.starts_with(PROBE_PREFIX) {
        return Err(VerifyError::Probe {
            serial: h.serial.to_string(),
        });
    }
    let key = keys
        .get(h.serial)
        .ok_or_else(|| VerifyError::UnknownSerial {
            serial: h.serial.to_string(),
        })?;
    if let PlatformKeyKind::Certificate {
        not_before,
        not_after,
    } = key.kind()
    {
        if now < not_before || now > not_after {
            return Err(VerifyError::CertificateNotValid {
                serial: key.id().to_string(),
                now,
                not_before,
                not_after,
            });
        }
    }
    let message = response_message(h.timestamp, h.nonce, body);
    key.verify(&message, h.signature)?;
    Ok(key.id())
}

/// Whether a successful answer to `GET path` is an unsigned file download, decided from the
/// request's path as built (without base URL prefix and query). A path with empty or dot
/// segments (plain or percent-encoded, also before a `;`), an encoded `/` or any `;` path
/// parameter is never an unsigned download.
pub fn is_unsigned_download(method: &http::Method, path: &str) -> bool {
    // Decided only on a path that no server can resolve into another one: a dot segment or an
    // encoded `/` could turn an image download into a transaction query.
    if method != http::Method::GET || !crate::path::is_normal_path(path) {
        return false;
    }
    const EXACT: [&str; 6] = [
        "/v3/billdownload/file",
        "/v3/transferdownload/signfile",
        "/v3/transferdownload/elecvoucherfile",
        "/v3/new-tax-control-fapiao/download",
        "/v3/statements",
        "/v3/global/statements",
    ];
    if EXACT.contains(&path) {
        return true;
    }
    [
        "/v3/merchant-service/images/",
        "/v3/global/merchant-service/images/",
    ]
    .iter()
    .any(|p| match path.strip_prefix(p) {
        Some(rest) => !rest.is_empty() && rest != "upload",
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_timestamp;
    use crate::error::VerifyError;

    #[test]
    fn a_timestamp_is_decimal_digits_only() {
        for ts in [
            "+1",
            "-1",
            "1.5",
            "1800000000.0",
            "1234567890123456789",
            "１８００００００００",
            "",
            " 1800000000",
        ] {
            assert!(
                matches!(
                    parse_timestamp(ts),
                    Err(VerifyError::InvalidTimestamp { .. })
                ),
                "{ts:?}"
            );
        }
        assert_eq!(parse_timestamp("1800000000"), Ok(1_800_000_000));
    }
}

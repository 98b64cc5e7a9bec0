//! Platform certificate download, sans-IO: build the `GET /v3/certificates` call,
//! then [`apply`] the answer to get the new key set.
//!
//! The answer is verified with a key already trusted (a certificate or a public key). **On the
//! very first download** (no platform key trusted at all) nothing can vouch for it except a
//! certificate in the same answer: that one is trusted on first use
//! (`trusted_on_first_use: true`). If that matters to you, compare the serial with the one the
//! merchant portal shows, or configure a certificate or public key before the first download:
//! then an answer signed only by a certificate from the answer itself is refused.
//!
//! Merchants on public keys have no certificates: the answer is `404 RESOURCE_NOT_EXISTS`, which
//! [`apply`] reports as [`Downloaded::NoCertificates`], not as a failure.

use http::Response;
use serde::Deserialize;

use crate::aead::ApiV3Key;
use crate::error::CertificateError;
use crate::keys::{PlatformKey, PlatformKeyKind, PlatformKeys};
use crate::request::Call;
use crate::response::api_error;
use crate::verify::{verify_parts, SignatureHeaders};

/// The download path.
pub const PATH: &str = "/v3/certificates";

/// `GET /v3/certificates` — 下载平台证书. Hand the answer to [`apply`] (or
/// [`crate::Client::apply_certificates`]), not to `Client::verify`: the first download has no key
/// to verify with yet.
pub fn download() -> Call<Vec<u8>> {
    Call::<serde_json::Value>::get(PATH).expect_bytes()
}

#[derive(Deserialize)]
struct Body {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    serial_no: String,
    encrypt_certificate: Encrypted,
}

#[derive(Deserialize)]
struct Encrypted {
    algorithm: String,
    nonce: String,
    associated_data: Option<String>,
    ciphertext: String,
}

/// What a download gave.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Downloaded {
    /// The new key set: the certificates valid at `now` from the answer, plus every public key
    /// already trusted. `signed_by` is the key that verified the answer; `trusted_on_first_use`
    /// says it came from the answer itself.
    Certificates {
        /// The new set.
        keys: PlatformKeys,
        /// The certificates of the answer valid now, as `(serial, PEM text)`.
        pems: Vec<(String, String)>,
        /// Serial or id of the key that verified the answer.
        signed_by: String,
        /// The answer was verified with a certificate it carried (first download).
        trusted_on_first_use: bool,
    },
    /// `404 RESOURCE_NOT_EXISTS`: this merchant has no platform certificates (public key mode).
    NoCertificates,
}

/// Apply a `GET /v3/certificates` answer: decrypt each certificate with `apiv3_key`, check it,
/// verify the answer's own signature (with a key in `current`, or — only when `current` is empty —
/// with a certificate from the answer), and return the new key set.
pub fn apply<B: AsRef<[u8]>>(
    current: &PlatformKeys,
    apiv3_key: &ApiV3Key,
    response: &Response<B>,
    now: i64,
    window: u64,
) -> Result<Downloaded, CertificateError> {
    let body = response.body().as_ref();
    if !response.status().is_success() {
        let e = api_error(response.status(), response.headers(), body);
        if e.status == http::StatusCode::NOT_FOUND
            && e.code.as_deref() == Some("RESOURCE_NOT_EXISTS")
        {
            return Ok(Downloaded::NoCertificates);
        }
        return Err(CertificateError::Api(Box::new(e)));
    }
    let headers =
        SignatureHeaders::from_headers(response.headers()).map_err(CertificateError::Verify)?;
    let parsed: Body = serde_json::from_slice(body).map_err(CertificateError::Body)?;
    let mut downloaded = Vec::new();
    let mut pems = Vec::new();
    for item in parsed.data {
        let enc = &item.encrypt_certificate;
        if enc.algorithm != ApiV3Key::ALGORITHM {
            return Err(CertificateError::Algorithm {
                serial: item.serial_no,
                algorithm: enc.algorithm.clone(),
            });
        }
        let pem = apiv3_key
            .decrypt(
                &enc.nonce,
                enc.associated_data.as_deref().unwrap_or(""),
                &enc.ciphertext,
            )
            .map_err(|source| CertificateError::Decrypt {
                serial: item.serial_no.clone(),
                source,
            })?;
        let key = PlatformKey::from_certificate_pem(&pem).map_err(|source| {
            CertificateError::Certificate {
                serial: item.serial_no.clone(),
                source,
            }
        })?;
        if !key.matches(&item.serial_no) {
            return Err(CertificateError::SerialMismatch {
                listed: item.serial_no,
                actual: key.id().to_string(),
            });
        }
        if let PlatformKeyKind::Certificate {
            not_before,
            not_after,
        } = key.kind()
        {
            if now < not_before || now > not_after {
                continue;
            }
        }
        pems.push((
            key.id().to_string(),
            String::from_utf8_lossy(&pem).into_owned(),
        ));
        downloaded.push(key);
    }
    if downloaded.is_empty() {
        return Err(CertificateError::NoValidCertificate);
    }
    // Any trusted key — certificate or public key — must vouch for the answer; only a client
    // that trusts nothing yet takes a certificate from the answer itself.
    let (signed_by, tofu) = if !current.is_empty() {
        let id =
            verify_parts(current, &headers, body, now, window).map_err(CertificateError::Verify)?;
        (id.to_string(), false)
    } else {
        let fresh: PlatformKeys = downloaded.iter().cloned().collect();
        let id =
            verify_parts(&fresh, &headers, body, now, window).map_err(CertificateError::Verify)?;
        (id.to_string(), true)
    };
    let mut keys: PlatformKeys = current
        .iter()
        .filter(|k| k.kind() == PlatformKeyKind::PublicKey)
        .cloned()
        .collect();
    for k in downloaded {
        keys.insert(k);
    }
    Ok(Downloaded::Certificates {
        keys,
        pems,
        signed_by,
        trusted_on_first_use: tofu,
    })
}

/// What to do after an answer or callback named an unknown `Wechatpay-Serial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshDecision {
    /// Another call refreshed the keys since this one started: just verify again.
    AlreadyRefreshed,
    /// The last automatic refresh is too recent: report the unknown serial.
    TooSoon,
    /// Download the certificates now, then verify again.
    Refresh,
}

/// The transports' automatic refresh rule, sans-IO: at most one refresh per `min_interval`, and
/// none when the key set changed while the call was in flight. Keep it behind the lock that
/// serialises refreshes (single flight); the caller supplies the instants and does the I/O.
#[derive(Debug, Clone)]
pub(crate) struct RefreshGate {
    min_interval: std::time::Duration,
    last: Option<std::time::Instant>,
}

impl RefreshGate {
    /// At most one automatic refresh per `min_interval`.
    pub(crate) fn new(min_interval: std::time::Duration) -> Self {
        Self {
            min_interval,
            last: None,
        }
    }

    /// Record a refresh made at `now` outside the automatic rule (an explicit one), so that the
    /// next automatic refresh waits its interval.
    pub(crate) fn record(&mut self, now: std::time::Instant) {
        self.last = Some(now);
    }

    /// Decide at `now`, for a call that started when the key set had generation `seen` and
    /// finds `current` now (see [`crate::SharedKeys::generation`]).
    pub(crate) fn decide(
        &mut self,
        seen: u64,
        current: u64,
        now: std::time::Instant,
    ) -> RefreshDecision {
        if current != seen {
            return RefreshDecision::AlreadyRefreshed;
        }
        if let Some(last) = self.last {
            if now.saturating_duration_since(last) < self.min_interval {
                return RefreshDecision::TooSoon;
            }
        }
        self.last = Some(now);
        RefreshDecision::Refresh
    }
}

#[cfg(test)]
mod tests {
    use super::{RefreshDecision, RefreshGate};
    use std::time::{Duration, Instant};

    #[test]
    fn one_refresh_per_interval_and_none_when_another_call_refreshed() {
        let t0 = Instant::now();
        let mut gate = RefreshGate::new(Duration::from_secs(30));
        // First unknown serial: refresh.
        assert_eq!(gate.decide(7, 7, t0), RefreshDecision::Refresh);
        // A call that started before that refresh and waited for it: the keys changed, no download.
        assert_eq!(
            gate.decide(7, 8, t0 + Duration::from_secs(1)),
            RefreshDecision::AlreadyRefreshed
        );
        // A new unknown serial within the interval: too soon.
        assert_eq!(
            gate.decide(8, 8, t0 + Duration::from_secs(29)),
            RefreshDecision::TooSoon
        );
        // At the interval: allowed again, and the clock restarts.
        assert_eq!(
            gate.decide(8, 8, t0 + Duration::from_secs(30)),
            RefreshDecision::Refresh
        );
        assert_eq!(
            gate.decide(8, 8, t0 + Duration::from_secs(31)),
            RefreshDecision::TooSoon
        );
        // "Already refreshed" does not count as a refresh.
        let mut fresh = RefreshGate::new(Duration::from_secs(30));
        assert_eq!(fresh.decide(1, 2, t0), RefreshDecision::AlreadyRefreshed);
        assert_eq!(fresh.decide(2, 2, t0), RefreshDecision::Refresh);
    }
}

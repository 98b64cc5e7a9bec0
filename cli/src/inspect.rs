//! `wxpay inspect FILE [FILE]`: what a key or certificate file is, and whether a key matches a
//! certificate.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use wechatpay_core::{PlatformKey, PlatformKeyKind, PrivateKey};
use x509_cert::der::{Decode, Encode};

use crate::Failure;

/// `wxpay inspect`. Its `Debug` hides the password.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// A PEM, DER or PKCS#12 (.p12) file: a private key, a certificate or a public key
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// A second file: say whether the key of one matches the certificate (or public key) of the other
    #[arg(value_name = "FILE")]
    pub other: Option<PathBuf>,
    /// The PKCS#12 password (WeChat Pay's apiclient_cert.p12: your mchid)
    #[arg(long, env = "WXPAY_P12_PASSWORD")]
    pub password: Option<String>,
}

impl std::fmt::Debug for InspectArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InspectArgs")
            .field("file", &self.file)
            .field("other", &self.other)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What a file holds: a description, and the public key (SPKI DER) for matching.
struct Found {
    info: Value,
    text: String,
    public_key: Vec<u8>,
    is_private: bool,
}

pub fn run(json_mode: bool, a: InspectArgs) -> Result<(), Failure> {
    let first = inspect(&a.file, a.password.as_deref())?;
    let second = match &a.other {
        Some(p) => Some(inspect(p, a.password.as_deref())?),
        None => None,
    };
    let matches = second.as_ref().map(|s| {
        if first.is_private == s.is_private {
            None
        } else {
            Some(first.public_key == s.public_key)
        }
    });
    let mut v = json!({"file": first.info});
    if let Some(s) = &second {
        v["other"] = s.info.clone();
        v["match"] = json!(matches.flatten());
    }
    let failure = (matches.flatten() == Some(false))
        .then(|| Failure::rejected("key_mismatch", "the key does not match"));
    crate::cmds::report(
        json_mode,
        v,
        || {
            let mut t = format!("{}: {}", a.file.display(), first.text);
            if let (Some(s), Some(p)) = (&second, &a.other) {
                t.push_str(&format!("\n{}: {}", p.display(), s.text));
                t.push_str(match matches.flatten() {
                    Some(true) => "\nthe private key matches the certificate / public key",
                    Some(false) => "\nthe private key does NOT match the certificate / public key",
                    None => {
                        "\nnothing to match: give one private key and one certificate or public key"
                    }
                });
            }
            t
        },
        failure,
    )
}

fn inspect(path: &Path, password: Option<&str>) -> Result<Found, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    if let Ok(k) = PrivateKey::from_pem(&bytes) {
        return Ok(private_key(&k, "private key"));
    }
    if let Some(found) = certificate(&bytes) {
        return Ok(found);
    }
    if let Some(found) = public_key(&bytes) {
        return Ok(found);
    }
    if looks_like_p12(&bytes) {
        return p12(&bytes, password);
    }
    // Say why, with the private key loader's precise message (encrypted, EC, too small, …).
    let reason = PrivateKey::from_pem(&bytes)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    Err(Failure::usage(format!(
        "{}: not a private key, certificate, public key or PKCS#12 bundle ({reason})",
        path.display()
    )))
}

fn private_key(k: &PrivateKey, what: &str) -> Found {
    let public_key = k.public_key_der();
    Found {
        info: json!({"kind": "private_key", "bits": k.bits(), "public_key_sha256": wechatpay_core::media::sha256_hex(&public_key)}),
        text: format!(
            "{what}, RSA-{} (public key SHA-256 {})",
            k.bits(),
            short(&public_key)
        ),
        public_key,
        is_private: true,
    }
}

fn short(der: &[u8]) -> String {
    wechatpay_core::media::sha256_hex(der)[..16].to_string()
}

fn certificate(bytes: &[u8]) -> Option<Found> {
    let key = PlatformKey::from_certificate_pem(bytes).ok()?;
    let der = cert_der(bytes)?;
    let cert = x509_cert::Certificate::from_der(&der).ok()?;
    let tbs = &cert.tbs_certificate;
    let public_key = tbs.subject_public_key_info.to_der().ok()?;
    let (nb, na) = match key.kind() {
        PlatformKeyKind::Certificate {
            not_before,
            not_after,
        } => (not_before, not_after),
        _ => (0, 0),
    };
    let now = wechatpay_core::Clock::now(&wechatpay_core::SystemClock);
    let valid = if now < nb {
        "not valid yet"
    } else if now > na {
        "EXPIRED"
    } else {
        "valid now"
    };
    let subject = tbs.subject.to_string();
    let issuer = tbs.issuer.to_string();
    let nb_s = httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(nb.max(0) as u64),
    );
    let na_s = httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(na.max(0) as u64),
    );
    Some(Found {
        info: json!({"kind": "certificate", "serial": key.id(), "subject": subject, "issuer": issuer,
            "not_before": nb, "not_after": na, "valid_now": valid == "valid now", "bits": key.bits(),
            "public_key_sha256": wechatpay_core::media::sha256_hex(&public_key)}),
        text: format!(
            "certificate, serial {} (use as `serial` when it is your apiclient_cert.pem)\n  subject {subject}\n  issuer  {issuer}\n  valid {nb_s} .. {na_s} ({valid}), RSA-{} (public key SHA-256 {})",
            key.id(),
            key.bits(),
            short(&public_key)
        ),
        public_key,
        is_private: false,
    })
}

/// The DER of a certificate given as PEM or DER.
fn cert_der(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.first() == Some(&0x30) {
        return Some(bytes.to_vec());
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let (label, der) = x509_cert::der::pem::decode_vec(text.trim().as_bytes()).ok()?;
    (label == "CERTIFICATE").then_some(der)
}

fn public_key(bytes: &[u8]) -> Option<Found> {
    let der = if bytes.first() == Some(&0x30) {
        bytes.to_vec()
    } else {
        let text = std::str::from_utf8(bytes).ok()?;
        let (label, der) = x509_cert::der::pem::decode_vec(text.trim().as_bytes()).ok()?;
        if label != "PUBLIC KEY" {
            return None;
        }
        der
    };
    let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(&der).ok()?;
    // Loaded as a platform public key to check it (RSA, size); the id is only a label here.
    let key = PlatformKey::from_public_key_pem("inspected", &der[..])
        .ok()?
        .bits();
    Some(Found {
        info: json!({"kind": "public_key", "algorithm": spki.algorithm.oid.to_string(), "bits": key,
            "public_key_sha256": wechatpay_core::media::sha256_hex(&der)}),
        text: format!(
            "public key, RSA-{key} (public key SHA-256 {}): a WeChat Pay public key (pub_key.pem) goes with its PUB_KEY_ID_… from the merchant portal",
            short(&der)
        ),
        public_key: der,
        is_private: false,
    })
}

/// A DER SEQUENCE whose first element is INTEGER 3 (PFX version).
fn looks_like_p12(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x30) && bytes.windows(3).take(8).any(|w| w == [0x02, 0x01, 0x03])
}

fn p12(bytes: &[u8], password: Option<&str>) -> Result<Found, Failure> {
    let Some(password) = password else {
        return Err(Failure::usage(
            "a PKCS#12 bundle: give --password (for WeChat Pay's apiclient_cert.p12 it is your mchid)",
        ));
    };
    let store = p12_keystore::KeyStore::from_pkcs12(
        bytes,
        password,
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .map_err(|e| Failure::usage(format!("PKCS#12: {e} (a wrong --password?)")))?;
    let Some((_, chain)) = store.private_key_chain() else {
        return Err(Failure::usage("PKCS#12: no private key inside"));
    };
    let key = PrivateKey::from_der(chain.key().as_der())
        .map_err(|e| Failure::usage(format!("PKCS#12: {e}")))?;
    let mut found = private_key(&key, "PKCS#12 bundle with a private key");
    if let Some(cert) = chain.certs().first().and_then(|c| certificate(c.as_der())) {
        let matches = cert.public_key == found.public_key;
        found.text.push_str(&format!(
            "\n  and a {}\n  the key {} the certificate",
            cert.text,
            if matches { "matches" } else { "does NOT match" }
        ));
        found.info["certificate"] = cert.info;
        found.info["key_matches_certificate"] = json!(matches);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_hides_the_password() {
        let a = super::InspectArgs {
            file: "apiclient_cert.p12".into(),
            other: None,
            password: Some("s3cret".into()),
        };
        let shown = format!("{a:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("apiclient_cert.p12") && shown.contains("<redacted>"));
    }
}

//! `wxpay inspect FILE [FILE]`: what a key or certificate file is, and whether a key matches a
//! certificate.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use wechatpay_core::{KeyError, PlatformKey, PlatformKeyKind, PrivateKey};
use x509_cert::der::Decode;

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
    // Read and loaded by the core, as a client configured with this file would be.
    let bytes = wechatpay_core::files::read(path, wechatpay_core::files::MAX_CREDENTIAL_FILE)
        .map_err(|e| crate::cmds::unreadable(path, e))?;
    let refused = |e: KeyError| {
        Failure::usage(format!(
            "{}: {}",
            path.display(),
            crate::display::line(&e.to_string())
        ))
    };
    let private = match PrivateKey::from_pem(&bytes[..]) {
        Ok(k) => return Ok(private_key(&k, "private key")),
        Err(e) => e,
    };
    let certificate = match wechatpay_core::PlatformKey::certificate_der(&bytes)
        .and_then(|der| certificate(&der))
    {
        Ok(found) => return Ok(found),
        Err(e) => e,
    };
    let public = match PlatformKey::from_public_key_pem(INSPECTED, &bytes[..]) {
        Ok(k) => return Ok(public_key(&k)),
        Err(e) => e,
    };
    if looks_like_p12(&bytes) {
        return p12(&bytes, password).map_err(refused);
    }
    // The loader that recognised what the file holds says why it is refused (a certificate of
    // the wrong algorithm, a private key that is encrypted, …); when none did, the first one
    // says what was found instead.
    let recognised = [private, certificate, public]
        .into_iter()
        .reduce(|first, e| match first {
            KeyError::WrongKind { .. } | KeyError::NotPem { .. }
                if !matches!(e, KeyError::WrongKind { .. } | KeyError::NotPem { .. }) =>
            {
                e
            }
            first => first,
        });
    Err(match recognised {
        Some(e) => refused(e),
        None => Failure::usage(format!("{}: nothing to read", path.display())),
    })
}

/// The id a public key is loaded with here: only a label, the file does not say its id.
const INSPECTED: &str = "inspected";

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

/// A certificate (DER) as the core loads it, with the subject and issuer it does not keep.
fn certificate(der: &[u8]) -> Result<Found, KeyError> {
    let key = PlatformKey::from_certificate_der(der)?;
    let names = x509_cert::Certificate::from_der(der)
        .map(|c| {
            (
                c.tbs_certificate.subject.to_string(),
                c.tbs_certificate.issuer.to_string(),
            )
        })
        .unwrap_or_default();
    // Names are text from the file: one line each, whatever they hold.
    let (subject, issuer) = (
        crate::display::line(&names.0),
        crate::display::line(&names.1),
    );
    let public_key = key.public_key_der().to_vec();
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
    let date = |t: i64| {
        httpdate::fmt_http_date(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64),
        )
    };
    Ok(Found {
        info: json!({"kind": "certificate", "serial": key.id(), "subject": names.0, "issuer": names.1,
            "not_before": nb, "not_after": na, "valid_now": valid == "valid now", "bits": key.bits(),
            "public_key_sha256": wechatpay_core::media::sha256_hex(&public_key)}),
        text: format!(
            "certificate, serial {} (use as `serial` when it is your apiclient_cert.pem)\n  subject {subject}\n  issuer  {issuer}\n  valid {} .. {} ({valid}), RSA-{} (public key SHA-256 {})",
            key.id(),
            date(nb),
            date(na),
            key.bits(),
            short(&public_key)
        ),
        public_key,
        is_private: false,
    })
}

fn public_key(key: &PlatformKey) -> Found {
    let der = key.public_key_der().to_vec();
    let algorithm = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(&der)
        .map(|spki| spki.algorithm.oid.to_string())
        .unwrap_or_default();
    Found {
        info: json!({"kind": "public_key", "algorithm": algorithm, "bits": key.bits(),
            "public_key_sha256": wechatpay_core::media::sha256_hex(&der)}),
        text: format!(
            "public key, RSA-{} (public key SHA-256 {}): a WeChat Pay public key (pub_key.pem) goes with its PUB_KEY_ID_… from the merchant portal",
            key.bits(),
            short(&der)
        ),
        public_key: der,
        is_private: false,
    }
}

/// A DER SEQUENCE whose first element is INTEGER 3 (PFX version).
fn looks_like_p12(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x30) && bytes.windows(3).take(8).any(|w| w == [0x02, 0x01, 0x03])
}

/// A PKCS#12 bundle, read with `ClientIdentity::from_pkcs12`: the key must be the
/// certificate's.
fn p12(bytes: &[u8], password: Option<&str>) -> Result<Found, KeyError> {
    let Some(password) = password else {
        return Err(KeyError::InvalidEncoding {
            what: "PKCS#12 bundle",
            reason: "give --password (for WeChat Pay's apiclient_cert.p12 it is your mchid)".into(),
        });
    };
    let id = wechatpay_core::transport::ClientIdentity::from_pkcs12(bytes, password)?;
    let key = PrivateKey::from_der(id.private_key_der().0)?;
    let mut found = private_key(&key, "PKCS#12 bundle with a private key");
    if let Some(der) = id.certificate_chain_der().first() {
        let cert = certificate(der)?;
        found.text.push_str(&format!(
            "\n  and a {}\n  the key matches the certificate",
            cert.text
        ));
        found.info["certificate"] = cert.info;
        found.info["key_matches_certificate"] = json!(true);
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

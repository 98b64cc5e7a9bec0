//! Reading PEM (and bare DER) input with precise diagnostics. Decoding is done by
//! `rustls-pki-types`; this module only classifies what was found.

use rustls_pki_types::pem::{self, PemObject, SectionKind};
use zeroize::Zeroizing;

use crate::error::KeyError;

/// One decoded object.
pub(crate) enum Item {
    Pkcs8(Zeroizing<Vec<u8>>),
    Pkcs1(Zeroizing<Vec<u8>>),
    Sec1,
    Certificate(Vec<u8>),
    PublicKey(Vec<u8>),
    /// Input without PEM framing that starts like a DER SEQUENCE.
    Der(Zeroizing<Vec<u8>>),
}

/// The labels of every `-----BEGIN X-----` line, for messages.
fn labels(input: &[u8]) -> Vec<String> {
    input
        .split(|b| *b == b'\n' || *b == b'\r')
        .filter_map(|line| {
            let line = line.trim_ascii();
            let rest = line.strip_prefix(b"-----BEGIN ")?;
            let label = rest.strip_suffix(b"-----")?;
            Some(String::from_utf8_lossy(label).into_owned())
        })
        .collect()
}

pub(crate) fn describe(label: &str) -> String {
    match label {
        "CERTIFICATE" => "a certificate (`BEGIN CERTIFICATE`)".into(),
        "PUBLIC KEY" => "a public key (`BEGIN PUBLIC KEY`)".into(),
        "RSA PUBLIC KEY" => "a PKCS#1 public key (`BEGIN RSA PUBLIC KEY`)".into(),
        "PRIVATE KEY" => "a private key (`BEGIN PRIVATE KEY`)".into(),
        "RSA PRIVATE KEY" => "a private key (`BEGIN RSA PRIVATE KEY`)".into(),
        "EC PRIVATE KEY" => "an EC private key (`BEGIN EC PRIVATE KEY`)".into(),
        other => format!("`BEGIN {other}`"),
    }
}

/// PEM text as OpenSSL reads it: a leading UTF-8 byte order mark is dropped, and each line's
/// surrounding white space (indentation, `\r`) is trimmed.
fn normalise(input: &[u8]) -> Zeroizing<Vec<u8>> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut out = Zeroizing::new(Vec::with_capacity(input.len()));
    for line in input.split(|b| *b == b'\n') {
        let line = line.trim_ascii();
        if !line.is_empty() {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }
    out
}

/// Decode exactly one PEM object (or a bare DER blob) from `input`.
pub(crate) fn read_one(input: &[u8], what: &'static str) -> Result<Item, KeyError> {
    if input.trim_ascii().is_empty() {
        return Err(KeyError::Empty { what });
    }
    if labels(input).is_empty() && input.first() == Some(&0x30) {
        // No PEM framing and a DER SEQUENCE: taken as DER, byte for byte.
        return Ok(Item::Der(Zeroizing::new(input.to_vec())));
    }
    let text = normalise(input);
    let input: &[u8] = &text;
    let found = labels(input);
    if found.is_empty() {
        return Err(KeyError::NotPem { what });
    }
    if let Some(l) = found.iter().find(|l| l.contains("ENCRYPTED")) {
        return Err(KeyError::Encrypted {
            what,
            label: format!("BEGIN {l}"),
        });
    }
    if input.windows(17).any(|w| w == b"Proc-Type: 4,ENCR") {
        return Err(KeyError::Encrypted {
            what,
            label: "Proc-Type: 4,ENCRYPTED".into(),
        });
    }
    if found.len() > 1 {
        let mut labels = found[..found.len().min(8)].join(", ");
        if found.len() > 8 {
            labels.push_str(", …");
        }
        return Err(KeyError::Multiple {
            what,
            count: found.len(),
            labels,
        });
    }
    let mut iter = <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(input);
    let (kind, der) = match iter.next() {
        Some(Ok(item)) => item,
        Some(Err(e)) => return Err(malformed(what, e)),
        None => {
            return Err(KeyError::MalformedPem {
                what,
                reason: format!(
                    "a `BEGIN {}` line was found, but no complete PEM section (BEGIN line, base64, END line)",
                    found[0]
                ),
            })
        }
    };
    Ok(match kind {
        SectionKind::PrivateKey => Item::Pkcs8(Zeroizing::new(der)),
        SectionKind::RsaPrivateKey => Item::Pkcs1(Zeroizing::new(der)),
        SectionKind::EcPrivateKey => {
            drop(Zeroizing::new(der));
            Item::Sec1
        }
        SectionKind::Certificate => Item::Certificate(der),
        SectionKind::PublicKey => Item::PublicKey(der),
        _ => {
            return Err(KeyError::WrongKind {
                what,
                found: describe(&found[0]),
                expected: expected_for(what),
            })
        }
    })
}

fn malformed(what: &'static str, e: pem::Error) -> KeyError {
    let reason = match e {
        pem::Error::MissingSectionEnd { .. } => "a section has no END line".to_string(),
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed".to_string(),
        pem::Error::Base64Decode(_) => "the base64 between BEGIN and END is invalid".to_string(),
        pem::Error::SectionTooLarge => "a section is too large".to_string(),
        other => other.to_string(),
    };
    KeyError::MalformedPem { what, reason }
}

pub(crate) const PRIVATE_KEY: &str = "merchant private key";
pub(crate) const CERTIFICATE: &str = "platform certificate";
pub(crate) const PUBLIC_KEY: &str = "platform public key";

pub(crate) fn expected_for(what: &'static str) -> &'static str {
    match what {
        PRIVATE_KEY => "an RSA private key (`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`)",
        CERTIFICATE => "an X.509 certificate (`BEGIN CERTIFICATE`)",
        PUBLIC_KEY => "a public key (`BEGIN PUBLIC KEY`)",
        _ => "a key",
    }
}

/// Read a whole key or certificate file (regular, at most
/// [`MAX_CREDENTIAL_FILE`](crate::files::MAX_CREDENTIAL_FILE)) into a buffer wiped when dropped.
pub(crate) fn read_file(
    path: &std::path::Path,
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    crate::files::read(path, crate::files::MAX_CREDENTIAL_FILE).map_err(|source| KeyError::Io {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Name the algorithm of an AlgorithmIdentifier OID, for messages.
pub(crate) fn algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.2.1" => "an EC".into(),
        "1.3.101.112" => "an Ed25519".into(),
        "1.3.101.113" => "an Ed448".into(),
        "1.2.840.10040.4.1" => "a DSA".into(),
        "1.2.156.10197.1.301" => "an SM2".into(),
        "1.2.840.113549.1.1.10" => "an RSA-PSS".into(),
        other => format!("a non-RSA (OID {other})"),
    }
}

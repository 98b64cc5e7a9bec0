//! Platform verification keys: certificates and public keys, looked up by `Wechatpay-Serial`.

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use x509_cert::der::{Decode, Encode};

use crate::crypto::{KeyProblem, RsaVerifyingKey};
use crate::error::{KeyError, VerifyError};
use crate::pem::{self, Item, CERTIFICATE, PUBLIC_KEY};

/// The prefix WeChat Pay puts on deliberate probe signatures.
pub(crate) const PROBE_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// How a platform key was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlatformKeyKind {
    /// A platform certificate; its serial is its id.
    Certificate {
        /// Start of validity, Unix seconds.
        not_before: i64,
        /// End of validity, Unix seconds.
        not_after: i64,
    },
    /// A platform public key with its id (`PUB_KEY_ID_…`).
    PublicKey,
}

/// The DER of the one certificate in `input`, PEM or DER, read as every certificate loader here
/// reads it (a byte order mark, indentation and `\r\n` are tolerated; encrypted, several or
/// other sections are refused with what was found): for tools that show more of a certificate
/// than [`PlatformKey`] keeps, such as its subject.
pub(crate) fn certificate_der(input: &[u8]) -> Result<Vec<u8>, KeyError> {
    match pem::read_one(input, CERTIFICATE)? {
        Item::Certificate(der) => Ok(der),
        Item::Der(der) => Ok(der.to_vec()),
        Item::Pkcs8(_) | Item::Pkcs1(_) | Item::Sec1 => Err(KeyError::WrongKind {
            what: CERTIFICATE,
            found: "a private key".into(),
            expected: pem::expected_for(CERTIFICATE),
        }),
        Item::PublicKey(_) => Err(KeyError::WrongKind {
            what: CERTIFICATE,
            found: "a bare public key (`BEGIN PUBLIC KEY`); use PlatformKey::from_public_key_pem with its PUB_KEY_ID_".into(),
            expected: pem::expected_for(CERTIFICATE),
        }),
    }
}

/// One key WeChat Pay signs responses and callbacks with.
#[derive(Clone)]
pub struct PlatformKey {
    id: String,
    kind: PlatformKeyKind,
    key: RsaVerifyingKey,
    spki: std::sync::Arc<[u8]>,
}

impl PlatformKey {
    /// The DER of the one certificate in `input`, PEM or DER, read as every certificate loader
    /// here reads it (a byte order mark, indentation and `\r\n` are tolerated; encrypted,
    /// several or other sections are refused with what was found): for tools that show more of
    /// a certificate than a [`PlatformKey`] keeps, such as its subject.
    pub fn certificate_der(input: &[u8]) -> Result<Vec<u8>, KeyError> {
        certificate_der(input)
    }

    /// A platform certificate from PEM (`BEGIN CERTIFICATE`) or DER. The serial, validity and
    /// public key come from the certificate.
    pub fn from_certificate_pem(input: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        Self::from_certificate_der(&certificate_der(input.as_ref())?)
    }

    /// A platform certificate from a PEM or DER file.
    pub fn from_certificate_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let bytes = pem::read_file(path.as_ref(), CERTIFICATE)?;
        Self::from_certificate_pem(&bytes[..])
    }

    /// A platform certificate from DER.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, KeyError> {
        let cert =
            x509_cert::Certificate::from_der(der).map_err(|e| KeyError::InvalidEncoding {
                what: CERTIFICATE,
                reason: format!("not an X.509 certificate: {e}"),
            })?;
        let tbs = &cert.tbs_certificate;
        let serial = hex_upper(strip_zeros(tbs.serial_number.as_bytes()));
        let not_before = tbs.validity.not_before.to_unix_duration().as_secs() as i64;
        let not_after = tbs.validity.not_after.to_unix_duration().as_secs() as i64;
        let spki = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| KeyError::InvalidEncoding {
                what: CERTIFICATE,
                reason: format!("cannot re-encode the public key: {e}"),
            })?;
        let key = verifying_key(&spki, CERTIFICATE)?;
        Ok(Self {
            id: if serial.is_empty() {
                "0".into()
            } else {
                serial
            },
            kind: PlatformKeyKind::Certificate {
                not_before,
                not_after,
            },
            key,
            spki: spki.into(),
        })
    }

    /// A platform public key (`BEGIN PUBLIC KEY`, SPKI) from PEM or DER, with its id
    /// (`PUB_KEY_ID_…` as shown in the merchant portal).
    pub fn from_public_key_pem(
        id: impl Into<String>,
        input: impl AsRef<[u8]>,
    ) -> Result<Self, KeyError> {
        let id = check_key_id(id.into())?;
        match pem::read_one(input.as_ref(), PUBLIC_KEY)? {
            Item::PublicKey(der) => Self::public(id, &der),
            Item::Der(der) => Self::public(id, &der),
            Item::Certificate(_) => Err(KeyError::WrongKind {
                what: PUBLIC_KEY,
                found: "a certificate (`BEGIN CERTIFICATE`); use PlatformKey::from_certificate_pem"
                    .into(),
                expected: pem::expected_for(PUBLIC_KEY),
            }),
            Item::Pkcs8(_) | Item::Pkcs1(_) | Item::Sec1 => Err(KeyError::WrongKind {
                what: PUBLIC_KEY,
                found: "a private key".into(),
                expected: pem::expected_for(PUBLIC_KEY),
            }),
        }
    }

    /// A platform public key from a PEM or DER file, with its id.
    pub fn from_public_key_file(
        id: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Result<Self, KeyError> {
        let bytes = pem::read_file(path.as_ref(), PUBLIC_KEY)?;
        Self::from_public_key_pem(id, &bytes[..])
    }

    fn public(id: String, spki: &[u8]) -> Result<Self, KeyError> {
        Ok(Self {
            id,
            kind: PlatformKeyKind::PublicKey,
            key: verifying_key(spki, PUBLIC_KEY)?,
            spki: spki.into(),
        })
    }

    /// The certificate serial (upper-case hex) or the public key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Certificate (with validity) or public key.
    pub fn kind(&self) -> PlatformKeyKind {
        self.kind
    }

    /// The RSA modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.bits()
    }

    /// The public key, as DER SubjectPublicKeyInfo (to compare with another key).
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    /// Whether `serial` (a `Wechatpay-Serial` value) names this key: certificate serials compare
    /// as hex numbers (case-insensitive, leading zeros ignored); public key ids compare exactly.
    pub fn matches(&self, serial: &str) -> bool {
        match self.kind {
            PlatformKeyKind::PublicKey => self.id == serial,
            PlatformKeyKind::Certificate { .. } => {
                serial.bytes().all(|b| b.is_ascii_hexdigit())
                    && !serial.is_empty()
                    && strip_zero_chars(serial).eq_ignore_ascii_case(strip_zero_chars(&self.id))
            }
        }
    }

    /// RSA-OAEP (SHA-1, MGF1-SHA-1) encrypt `plaintext` for this key; base64. At most 214 bytes
    /// for RSA-2048. Randomised: two encryptions differ.
    pub fn encrypt_oaep(&self, plaintext: &[u8]) -> Result<String, crate::error::OaepError> {
        let max = self.key.oaep_max_plaintext();
        if plaintext.len() > max {
            return Err(crate::error::OaepError::TooLong {
                len: plaintext.len(),
                max,
            });
        }
        let ct = self
            .key
            .oaep_encrypt(plaintext)
            .map_err(|()| crate::error::OaepError::Crypto)?;
        Ok(STANDARD.encode(ct))
    }

    /// Verify a base64 RSA PKCS#1 v1.5 SHA-256 `signature` over `message` with this key.
    /// A probe signature, an empty one, bad base64 and a mismatch are distinct errors.
    pub fn verify(&self, message: &[u8], signature: &str) -> Result<(), VerifyError> {
        if signature.starts_with(PROBE_PREFIX) {
            return Err(VerifyError::Probe {
                serial: self.id.clone(),
            });
        }
        if signature.is_empty() {
            return Err(VerifyError::EmptySignature);
        }
        let raw = STANDARD
            .decode(signature)
            .map_err(|_| VerifyError::SignatureEncoding)?;
        if self.key.verify(message, &raw) {
            Ok(())
        } else {
            Err(VerifyError::SignatureMismatch {
                serial: self.id.clone(),
            })
        }
    }
}

impl fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformKey")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("bits", &self.bits())
            .finish()
    }
}

fn verifying_key(spki: &[u8], what: &'static str) -> Result<RsaVerifyingKey, KeyError> {
    RsaVerifyingKey::from_spki(spki).map_err(|p| match p {
        KeyProblem::TooSmall => KeyError::RsaTooSmall { what },
        KeyProblem::TooLarge => KeyError::RsaTooLarge { what },
        KeyProblem::NotRsa => KeyError::NotRsa {
            what,
            found: x509_cert::spki::SubjectPublicKeyInfoRef::from_der(spki)
                .map(|s| pem::algorithm_name(&s.algorithm.oid.to_string()))
                .unwrap_or_else(|_| "a non-RSA".into()),
        },
        KeyProblem::Invalid => match x509_cert::spki::SubjectPublicKeyInfoRef::from_der(spki) {
            Ok(s) if s.algorithm.oid.to_string() != "1.2.840.113549.1.1.1" => KeyError::NotRsa {
                what,
                found: pem::algorithm_name(&s.algorithm.oid.to_string()),
            },
            _ => KeyError::InvalidEncoding {
                what,
                reason: "not an RSA SubjectPublicKeyInfo".into(),
            },
        },
    })
}

fn check_key_id(id: String) -> Result<String, KeyError> {
    if id.is_empty()
        || id.len() > 128
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(KeyError::InvalidId {
            what: "platform public key id",
            value: id,
            reason: "expected an id such as PUB_KEY_ID_0112345678901234567890123456789 (letters, digits, `_`, `-`)",
        });
    }
    Ok(id)
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|x| **x == 0).count();
    &b[n..]
}

fn strip_zero_chars(s: &str) -> &str {
    s.trim_start_matches('0')
}

fn hex_upper(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

/// The set of platform keys a client trusts: any mix of certificates and public keys, e.g. both
/// during the migration from certificates to a public key.
#[derive(Clone, Default)]
pub struct PlatformKeys {
    keys: Vec<PlatformKey>,
}

impl PlatformKeys {
    /// An empty set (only useful to download the first certificates).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a key. A key with the same id replaces the old one.
    pub fn insert(&mut self, key: PlatformKey) {
        self.keys.retain(|k| !k.matches(&key.id) && k.id != key.id);
        self.keys.push(key);
    }

    /// Add a key, builder style.
    pub fn with(mut self, key: PlatformKey) -> Self {
        self.insert(key);
        self
    }

    /// The key `serial` names, if trusted.
    pub fn get(&self, serial: &str) -> Option<&PlatformKey> {
        self.keys.iter().find(|k| k.matches(serial))
    }

    /// The value to send in `Wechatpay-Serial`: the public key id if there is one, else the serial
    /// of the newest certificate (latest `not_before`). `None` when the set is empty.
    pub fn preferred_serial(&self) -> Option<&str> {
        if let Some(k) = self
            .keys
            .iter()
            .find(|k| k.kind == PlatformKeyKind::PublicKey)
        {
            return Some(&k.id);
        }
        self.keys
            .iter()
            .filter_map(|k| match k.kind {
                PlatformKeyKind::Certificate {
                    not_before,
                    not_after,
                } => Some(((not_before, not_after), k)),
                PlatformKeyKind::PublicKey => None,
            })
            .max_by_key(|(v, _)| *v)
            .map(|(_, k)| k.id.as_str())
    }

    /// All keys.
    pub fn iter(&self) -> impl Iterator<Item = &PlatformKey> {
        self.keys.iter()
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verify `signature` over `message` with the key `serial` names. No clock checks: see
    /// the `verify` module for the full response rule.
    pub fn verify(&self, serial: &str, message: &[u8], signature: &str) -> Result<(), VerifyError> {
        if signature.starts_with(PROBE_PREFIX) {
            return Err(VerifyError::Probe {
                serial: serial.to_string(),
            });
        }
        let key = self.get(serial).ok_or_else(|| VerifyError::UnknownSerial {
            serial: serial.to_string(),
        })?;
        key.verify(message, signature)
    }
}

impl FromIterator<PlatformKey> for PlatformKeys {
    fn from_iter<I: IntoIterator<Item = PlatformKey>>(iter: I) -> Self {
        let mut set = Self::new();
        for k in iter {
            set.insert(k);
        }
        set
    }
}

impl fmt::Debug for PlatformKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys.iter()).finish()
    }
}

/// A [`PlatformKeys`] set shared by a client, its callbacks and a refresher, swapped atomically:
/// a reader gets either the old set or the new one, never a half-updated one. Cheap to clone.
#[derive(Clone, Default)]
pub struct SharedKeys {
    inner: std::sync::Arc<std::sync::RwLock<(std::sync::Arc<PlatformKeys>, u64)>>,
}

impl SharedKeys {
    /// Share `keys`.
    pub fn new(keys: PlatformKeys) -> Self {
        Self {
            inner: std::sync::Arc::new(std::sync::RwLock::new((std::sync::Arc::new(keys), 0))),
        }
    }

    /// The current set.
    pub fn load(&self) -> std::sync::Arc<PlatformKeys> {
        match self.inner.read() {
            Ok(g) => g.0.clone(),
            Err(poisoned) => poisoned.into_inner().0.clone(),
        }
    }

    /// Replace the whole set at once.
    pub fn replace(&self, keys: PlatformKeys) {
        let mut g = match self.inner.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        g.0 = std::sync::Arc::new(keys);
        g.1 += 1;
    }

    /// Add or replace one key, keeping the others (copy, then swap).
    pub fn insert(&self, key: PlatformKey) {
        let mut g = match self.inner.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut next = (*g.0).clone();
        next.insert(key);
        g.0 = std::sync::Arc::new(next);
        g.1 += 1;
    }

    /// How many times the set was replaced; lets a refresher tell whether another one already
    /// refreshed while it waited.
    pub fn generation(&self) -> u64 {
        match self.inner.read() {
            Ok(g) => g.1,
            Err(poisoned) => poisoned.into_inner().1,
        }
    }
}

impl fmt::Debug for SharedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKeys")
            .field("keys", &self.load())
            .field("generation", &self.generation())
            .finish()
    }
}

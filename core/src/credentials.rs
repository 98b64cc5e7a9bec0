//! The merchant's identity and private key, and the [`Signer`] trait.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::crypto::{KeyProblem, RsaSigningKey};
use crate::error::{KeyError, SignError};
use crate::pem::{self, Item, PRIVATE_KEY};

/// Something that signs request messages: the merchant's RSA key, an HSM, or a test stub.
///
/// The `Authorization` scheme is `WECHATPAY2-` followed by [`Signer::algorithm`].
pub trait Signer: Send + Sync {
    /// The algorithm name in the `Authorization` scheme, `SHA256-RSA2048` for RSA keys.
    fn algorithm(&self) -> &str;
    /// Sign `message` and return the signature as it goes into the header (base64 for RSA).
    fn sign(&self, message: &[u8]) -> Result<String, SignError>;

    /// RSA-OAEP-decrypt a raw ciphertext encrypted for the merchant key (sensitive fields in
    /// answers). Signers that cannot (a remote signer) keep this default.
    fn decrypt_oaep(&self, _ciphertext: &[u8]) -> Result<Vec<u8>, crate::error::OaepError> {
        Err(crate::error::OaepError::Unsupported)
    }

    /// The public half as DER SubjectPublicKeyInfo, when known: the client builder uses it to
    /// refuse the merchant's own certificate configured as a platform key.
    fn public_key_der(&self) -> Option<Vec<u8>> {
        None
    }
}

/// The merchant's API private key (`apiclient_key.pem`): RSA, at least 2048 bits.
///
/// `Debug` shows only the key size. With the default `aws-lc-rs` backend the key lives inside
/// AWS-LC, which wipes it when it is freed; with the `ring` backend it lives in ring's
/// `RsaKeyPair`, which does not promise to wipe it. The buffers this crate decodes a key through
/// are wiped with either backend.
pub struct PrivateKey {
    key: RsaSigningKey,
}

impl PrivateKey {
    /// Load from PEM text: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    /// Bare DER (PKCS#8 or PKCS#1) is accepted as well.
    ///
    /// ```
    /// let pem = std::fs::read("../tests/fixtures/keys/merchant_key.pem").unwrap();
    /// let key = wechatpay_core::PrivateKey::from_pem(&pem).unwrap();
    /// assert_eq!(key.bits(), 2048);
    /// ```
    pub fn from_pem(input: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        match pem::read_one(input.as_ref(), PRIVATE_KEY)? {
            Item::Pkcs8(der) => Self::from_pkcs8(&der),
            Item::Pkcs1(der) => Self::from_pkcs1(&der),
            Item::Der(der) => Self::from_der(&der),
            Item::Sec1 => Err(KeyError::NotRsa {
                what: PRIVATE_KEY,
                found: "an EC".into(),
            }),
            Item::Certificate(_) => Err(KeyError::WrongKind {
                what: PRIVATE_KEY,
                found: pem::describe("CERTIFICATE"),
                expected: pem::expected_for(PRIVATE_KEY),
            }),
            Item::PublicKey(_) => Err(KeyError::WrongKind {
                what: PRIVATE_KEY,
                found: pem::describe("PUBLIC KEY"),
                expected: pem::expected_for(PRIVATE_KEY),
            }),
        }
    }

    /// Load from DER: PKCS#8 `PrivateKeyInfo`, or PKCS#1 `RSAPrivateKey`.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        match Self::from_pkcs8(der) {
            Ok(k) => Ok(k),
            Err(KeyError::InvalidEncoding { .. }) => Self::from_pkcs1(der),
            Err(e) => Err(e),
        }
    }

    /// Load a PEM or DER file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let bytes = pem::read_file(path.as_ref(), PRIVATE_KEY)?;
        Self::from_pem(&bytes[..])
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        match RsaSigningKey::from_pkcs8(der) {
            Ok(key) => Ok(Self { key }),
            Err(KeyProblem::NotRsa) => {
                let found = pkcs8::PrivateKeyInfo::try_from(der)
                    .map(|info| pem::algorithm_name(&info.algorithm.oid.to_string()))
                    .unwrap_or_else(|_| "a non-RSA".into());
                Err(KeyError::NotRsa {
                    what: PRIVATE_KEY,
                    found,
                })
            }
            Err(p) => Err(problem(p, "not a PKCS#8 RSA private key")),
        }
    }

    fn from_pkcs1(der: &[u8]) -> Result<Self, KeyError> {
        RsaSigningKey::from_pkcs1(der)
            .map(|key| Self { key })
            .map_err(|p| problem(p, "not a PKCS#1 or PKCS#8 RSA private key"))
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.bits()
    }

    /// The DER `SubjectPublicKeyInfo` of the matching public key.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.key.public_key_spki()
    }

    /// RSA-OAEP (SHA-1, MGF1-SHA-1) decrypt a base64 ciphertext made for this key.
    pub fn decrypt_oaep_base64(
        &self,
        ciphertext: &str,
    ) -> Result<Vec<u8>, crate::error::OaepError> {
        let raw = STANDARD
            .decode(ciphertext.trim())
            .map_err(|_| crate::error::OaepError::Base64)?;
        Signer::decrypt_oaep(self, &raw)
    }

    /// RSASSA-PKCS1-v1_5 SHA-256 over `message`, base64 (standard alphabet, padded).
    pub fn sign_base64(&self, message: &[u8]) -> Result<String, SignError> {
        let sig = self
            .key
            .sign(message)
            .map_err(|()| SignError("RSA signing failed".into()))?;
        Ok(STANDARD.encode(sig))
    }
}

fn problem(p: KeyProblem, invalid: &str) -> KeyError {
    match p {
        KeyProblem::TooSmall => KeyError::RsaTooSmall { what: PRIVATE_KEY },
        KeyProblem::TooLarge => KeyError::RsaTooLarge { what: PRIVATE_KEY },
        KeyProblem::NotRsa => KeyError::NotRsa {
            what: PRIVATE_KEY,
            found: "a non-RSA".into(),
        },
        KeyProblem::Invalid => KeyError::InvalidEncoding {
            what: PRIVATE_KEY,
            reason: invalid.into(),
        },
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

impl Signer for PrivateKey {
    fn algorithm(&self) -> &str {
        "SHA256-RSA2048"
    }

    fn sign(&self, message: &[u8]) -> Result<String, SignError> {
        self.sign_base64(message)
    }

    fn decrypt_oaep(&self, ciphertext: &[u8]) -> Result<Vec<u8>, crate::error::OaepError> {
        self.key
            .oaep_decrypt(ciphertext)
            .map_err(|()| crate::error::OaepError::DecryptFailed)
    }

    fn public_key_der(&self) -> Option<Vec<u8>> {
        Some(PrivateKey::public_key_der(self))
    }
}

/// Who is calling: the merchant id, the serial of the merchant's API certificate, and the signer.
#[derive(Clone)]
pub struct Merchant {
    mchid: String,
    serial: String,
    signer: Arc<dyn Signer>,
}

impl Merchant {
    /// `mchid` is the merchant id (digits); `serial` the merchant API certificate's serial (hex,
    /// stored upper-case); `signer` usually a [`PrivateKey`].
    pub fn new(
        mchid: impl Into<String>,
        serial: impl Into<String>,
        signer: impl Signer + 'static,
    ) -> Result<Self, KeyError> {
        Self::with_signer(mchid, serial, Arc::new(signer))
    }

    /// As [`Merchant::new`], with a shared signer.
    pub fn with_signer(
        mchid: impl Into<String>,
        serial: impl Into<String>,
        signer: Arc<dyn Signer>,
    ) -> Result<Self, KeyError> {
        let mchid = mchid.into();
        if mchid.is_empty() || mchid.len() > 32 || !mchid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(KeyError::InvalidId {
                what: "mchid",
                value: mchid,
                reason: "a merchant id is 1 to 32 decimal digits",
            });
        }
        let serial = serial.into();
        if serial.is_empty() || serial.len() > 64 || !serial.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(KeyError::InvalidId {
                what: "merchant certificate serial",
                value: serial,
                reason: "a certificate serial is 1 to 64 hexadecimal digits",
            });
        }
        Ok(Self {
            mchid,
            serial: serial.to_ascii_uppercase(),
            signer,
        })
    }

    /// The merchant id.
    pub fn mchid(&self) -> &str {
        &self.mchid
    }

    /// The merchant API certificate serial (upper-case hex).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The signer.
    pub fn signer(&self) -> &dyn Signer {
        &*self.signer
    }
}

impl fmt::Debug for Merchant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Merchant")
            .field("mchid", &self.mchid)
            .field("serial", &self.serial)
            .field("algorithm", &self.signer.algorithm())
            .finish_non_exhaustive()
    }
}

//! `AEAD_AES_256_GCM` with the merchant's APIv3 key: callbacks and certificate
//! download. Key: the 32 ASCII characters as bytes; nonce: the `nonce` string's bytes (12);
//! AAD: `associated_data`'s bytes; ciphertext: base64 of `ct ‖ 16-byte tag`.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::error::AeadError;

/// The merchant's APIv3 key: exactly 32 bytes. `Debug` never shows it; wiped on drop.
#[derive(Clone)]
pub struct ApiV3Key(Zeroizing<[u8; 32]>);

impl ApiV3Key {
    /// The algorithm name WeChat Pay gives for this encryption (`algorithm` of a resource).
    pub const ALGORITHM: &'static str = "AEAD_AES_256_GCM";

    /// Encrypt `plaintext`; returns base64(`ct ‖ tag`).
    pub fn encrypt(
        &self,
        nonce: &str,
        associated_data: &str,
        plaintext: &[u8],
    ) -> Result<String, AeadError> {
        let sealed = crate::crypto::aes256gcm_seal(
            &self.0,
            &nonce12(nonce)?,
            associated_data.as_bytes(),
            plaintext,
        )
        .map_err(|()| AeadError::Crypto)?;
        Ok(STANDARD.encode(sealed))
    }

    /// Decrypt base64(`ct ‖ tag`).
    pub fn decrypt(
        &self,
        nonce: &str,
        associated_data: &str,
        ciphertext_b64: &str,
    ) -> Result<Vec<u8>, AeadError> {
        let nonce = nonce12(nonce)?;
        let sealed = STANDARD
            .decode(ciphertext_b64)
            .map_err(|_| AeadError::Base64)?;
        if sealed.len() < 16 {
            return Err(AeadError::TooShort { len: sealed.len() });
        }
        crate::crypto::aes256gcm_open(&self.0, &nonce, associated_data.as_bytes(), &sealed)
            .map_err(|()| AeadError::AuthFailed)
    }

    /// From the key as configured in the merchant portal (32 ASCII characters). The one rule for
    /// every source: white space around the key (a file's trailing newline, a pasted space) is
    /// not part of it; what remains must be 32 bytes.
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self, AeadError> {
        key32(key.as_ref())
            .map(Self)
            .map_err(|len| AeadError::KeyLength { len })
    }

    /// From a file holding the key (as [`ApiV3Key::new`]: surrounding white space ignored).
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, crate::KeyError> {
        key_file(path.as_ref(), "APIv3 key", |k| Self::new(k))
    }
}

/// The one rule of the merchant's symmetric keys (APIv3 and APIv2): surrounding white space is
/// not part of the key; what remains must be 32 bytes (else its length).
pub(crate) fn key32(key: &[u8]) -> Result<Zeroizing<[u8; 32]>, usize> {
    let k = key.trim_ascii();
    <[u8; 32]>::try_from(k)
        .map(Zeroizing::new)
        .map_err(|_| k.len())
}

/// A key read from the file at `path` with `parse`; the bytes read are wiped.
pub(crate) fn key_file<K, E: fmt::Display>(
    path: &std::path::Path,
    what: &'static str,
    parse: impl FnOnce(&[u8]) -> Result<K, E>,
) -> Result<K, crate::KeyError> {
    let bytes = crate::pem::read_file(path, what)?;
    parse(&bytes[..]).map_err(|e| crate::KeyError::InvalidEncoding {
        what,
        reason: e.to_string(),
    })
}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(<redacted>)")
    }
}

fn nonce12(nonce: &str) -> Result<[u8; 12], AeadError> {
    nonce
        .as_bytes()
        .try_into()
        .map_err(|_| AeadError::NonceLength { len: nonce.len() })
}

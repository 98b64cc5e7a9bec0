//! The aws-lc-rs backend.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    KeyPair, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey, OAEP_SHA1_MGF1SHA1,
};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};

use super::KeyProblem;

fn problem(e: &aws_lc_rs::error::KeyRejected) -> KeyProblem {
    match e.description_() {
        "TooSmall" => KeyProblem::TooSmall,
        "TooLarge" => KeyProblem::TooLarge,
        "WrongAlgorithm" => KeyProblem::NotRsa,
        _ => KeyProblem::Invalid,
    }
}

/// An RSA private key: PKCS#1 v1.5 SHA-256 signatures and OAEP decryption.
///
/// AWS-LC keeps the key in its own memory and clears it when freed (`OPENSSL_free` cleanses every
/// allocation), so dropping this type zeroises the key material.
pub(crate) struct RsaSigningKey {
    key: KeyPair,
    oaep: Option<OaepPrivateDecryptingKey>,
}

impl RsaSigningKey {
    fn new(key: KeyPair) -> Self {
        // The same key for OAEP; built once, at load time.
        let oaep = key
            .as_der()
            .ok()
            .and_then(|der| PrivateDecryptingKey::from_pkcs8(der.as_ref()).ok())
            .and_then(|k| OaepPrivateDecryptingKey::new(k).ok());
        Self { key, oaep }
    }

    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Self, KeyProblem> {
        KeyPair::from_pkcs8(der)
            .map(Self::new)
            .map_err(|e| problem(&e))
    }

    pub(crate) fn from_pkcs1(der: &[u8]) -> Result<Self, KeyProblem> {
        KeyPair::from_der(der)
            .map(Self::new)
            .map_err(|e| problem(&e))
    }

    pub(crate) fn bits(&self) -> usize {
        self.key.public_modulus_len() * 8
    }

    /// The DER SubjectPublicKeyInfo of the public half.
    pub(crate) fn public_key_spki(&self) -> Vec<u8> {
        use aws_lc_rs::signature::KeyPair as _;
        match self.key.public_key().as_der() {
            Ok(der) => der.as_ref().to_vec(),
            Err(_) => Vec::new(),
        }
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256. Returns the raw signature bytes.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ()> {
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        // aws-lc-rs ignores the RNG argument for PKCS#1 v1.5 (the padding is deterministic).
        let rng = SystemRandom::new();
        self.key
            .sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
            .map_err(|_| ())?;
        Ok(sig)
    }

    /// RSAES-OAEP (SHA-1, MGF1-SHA-1, empty label) decryption.
    pub(crate) fn oaep_decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, ()> {
        let key = self.oaep.as_ref().ok_or(())?;
        let mut out = vec![0u8; key.min_output_size()];
        let n = key
            .decrypt(&OAEP_SHA1_MGF1SHA1, ciphertext, &mut out, None)
            .map_err(|_| ())?
            .len();
        out.truncate(n);
        Ok(out)
    }
}

/// An RSA public key: PKCS#1 v1.5 SHA-256 verification and OAEP encryption.
#[derive(Clone)]
pub(crate) struct RsaVerifyingKey {
    key: ParsedPublicKey,
    oaep: std::sync::Arc<OaepPublicEncryptingKey>,
    bits: usize,
}

impl RsaVerifyingKey {
    /// From a DER SubjectPublicKeyInfo.
    pub(crate) fn from_spki(der: &[u8]) -> Result<Self, KeyProblem> {
        let enc = PublicEncryptingKey::from_der(der).map_err(|e| problem(&e))?;
        let bits = enc.key_size_bits();
        let oaep = std::sync::Arc::new(
            OaepPublicEncryptingKey::new(enc).map_err(|_| KeyProblem::Invalid)?,
        );
        let key =
            ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).map_err(|e| problem(&e))?;
        Ok(Self { key, oaep, bits })
    }

    pub(crate) fn bits(&self) -> usize {
        self.bits
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }

    /// Largest OAEP (SHA-1) plaintext.
    pub(crate) fn oaep_max_plaintext(&self) -> usize {
        self.oaep.max_plaintext_size(&OAEP_SHA1_MGF1SHA1)
    }

    /// RSAES-OAEP (SHA-1, MGF1-SHA-1, empty label) encryption (randomised).
    pub(crate) fn oaep_encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, ()> {
        let mut out = vec![0u8; self.oaep.ciphertext_size()];
        let n = self
            .oaep
            .encrypt(&OAEP_SHA1_MGF1SHA1, plaintext, &mut out, None)
            .map_err(|_| ())?
            .len();
        out.truncate(n);
        Ok(out)
    }
}

/// AES-256-ECB with PKCS#7 padding, decryption (APIv2 refund notifications).
pub(crate) fn aes256_ecb_pkcs7_decrypt(key: &[u8; 32], ciphertext: &[u8]) -> Result<Vec<u8>, ()> {
    use aws_lc_rs::cipher::{PaddedBlockDecryptingKey, UnboundCipherKey, AES_256};
    let k = UnboundCipherKey::new(&AES_256, key).map_err(|_| ())?;
    let k = PaddedBlockDecryptingKey::ecb_pkcs7(k).map_err(|_| ())?;
    let mut buf = ciphertext.to_vec();
    let n = k
        .decrypt(&mut buf, aws_lc_rs::cipher::DecryptionContext::None)
        .map_err(|_| ())?
        .len();
    buf.truncate(n);
    Ok(buf)
}

/// AES-256-ECB with PKCS#7 padding, encryption (the sandbox's refund notifications).
pub(crate) fn aes256_ecb_pkcs7_encrypt(key: &[u8; 32], plaintext: &[u8]) -> Result<Vec<u8>, ()> {
    use aws_lc_rs::cipher::{PaddedBlockEncryptingKey, UnboundCipherKey, AES_256};
    let k = UnboundCipherKey::new(&AES_256, key).map_err(|_| ())?;
    let k = PaddedBlockEncryptingKey::ecb_pkcs7(k).map_err(|_| ())?;
    let mut buf = plaintext.to_vec();
    k.encrypt(&mut buf).map_err(|_| ())?;
    Ok(buf)
}

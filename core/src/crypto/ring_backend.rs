//! The ring backend: ring for RSA signatures and verification, AES-GCM, digests and randomness;
//! the `rsa` crate for RSA-OAEP (which ring does not implement).

use ring::rand::SystemRandom;
use ring::signature::{
    RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::Oaep;
use sha1::Sha1 as Sha1Digest;
use x509_cert::der::Decode;

use super::KeyProblem;

const RSA_OID: &str = "1.2.840.113549.1.1.1";

fn problem(e: &ring::error::KeyRejected) -> KeyProblem {
    match e.to_string().as_str() {
        "TooSmall" => KeyProblem::TooSmall,
        "TooLarge" => KeyProblem::TooLarge,
        "WrongAlgorithm" => KeyProblem::NotRsa,
        _ => KeyProblem::Invalid,
    }
}

fn check_bits(bits: usize) -> Result<(), KeyProblem> {
    match bits {
        0..=2047 => Err(KeyProblem::TooSmall),
        2048..=8192 => Ok(()),
        _ => Err(KeyProblem::TooLarge),
    }
}

/// An RSA private key: ring signs; the `rsa` crate decrypts OAEP (its key zeroises on drop;
/// ring's key material is freed with the key pair).
pub(crate) struct RsaSigningKey {
    key: RsaKeyPair,
    oaep: rsa::PrivateKey,
}

impl RsaSigningKey {
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Self, KeyProblem> {
        let key = RsaKeyPair::from_pkcs8(der).map_err(|e| problem(&e))?;
        let oaep = rsa::PrivateKey::from_pkcs8_der(der).map_err(|_| KeyProblem::Invalid)?;
        check_bits(key.public().modulus_len() * 8)?;
        Ok(Self { key, oaep })
    }

    pub(crate) fn from_pkcs1(der: &[u8]) -> Result<Self, KeyProblem> {
        let key = RsaKeyPair::from_der(der).map_err(|e| problem(&e))?;
        let oaep = rsa::PrivateKey::from_pkcs1_der(der).map_err(|_| KeyProblem::Invalid)?;
        check_bits(key.public().modulus_len() * 8)?;
        Ok(Self { key, oaep })
    }

    pub(crate) fn bits(&self) -> usize {
        self.key.public().modulus_len() * 8
    }

    /// The DER SubjectPublicKeyInfo of the public half.
    pub(crate) fn public_key_spki(&self) -> Vec<u8> {
        self.oaep
            .to_public_key()
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default()
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256. Returns the raw signature bytes.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ()> {
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        let rng = SystemRandom::new();
        self.key
            .sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
            .map_err(|_| ())?;
        Ok(sig)
    }

    /// RSAES-OAEP (SHA-1, MGF1-SHA-1, empty label) decryption.
    pub(crate) fn oaep_decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, ()> {
        self.oaep
            .decrypt_blinded(
                &mut getrandom::SysRng,
                Oaep::<Sha1Digest>::new(),
                ciphertext,
            )
            .map_err(|_| ())
    }
}

/// An RSA public key: PKCS#1 v1.5 SHA-256 verification (ring) and OAEP encryption (rsa).
#[derive(Clone)]
pub(crate) struct RsaVerifyingKey {
    pkcs1: Vec<u8>,
    oaep: rsa::PublicKey,
    bits: usize,
}

impl RsaVerifyingKey {
    /// From a DER SubjectPublicKeyInfo.
    pub(crate) fn from_spki(der: &[u8]) -> Result<Self, KeyProblem> {
        let spki = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|_| KeyProblem::Invalid)?;
        if spki.algorithm.oid.to_string() != RSA_OID {
            return Err(KeyProblem::NotRsa);
        }
        let pkcs1 = spki.subject_public_key.raw_bytes().to_vec();
        let oaep = rsa::PublicKey::from_public_key_der(der).map_err(|_| KeyProblem::Invalid)?;
        let bits = oaep.size() * 8;
        check_bits(bits)?;
        Ok(Self { pkcs1, oaep, bits })
    }

    pub(crate) fn bits(&self) -> usize {
        self.bits
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.pkcs1)
            .verify(message, signature)
            .is_ok()
    }

    /// Largest OAEP (SHA-1) plaintext: k − 2·20 − 2.
    pub(crate) fn oaep_max_plaintext(&self) -> usize {
        self.oaep.size().saturating_sub(42)
    }

    /// RSAES-OAEP (SHA-1, MGF1-SHA-1, empty label) encryption (randomised).
    pub(crate) fn oaep_encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, ()> {
        self.oaep
            .encrypt(&mut getrandom::SysRng, Oaep::<Sha1Digest>::new(), plaintext)
            .map_err(|_| ())
    }
}

/// AES-256-ECB with PKCS#7 padding, decryption (APIv2 refund notifications). ring has no ECB:
/// the RustCrypto `aes` block cipher, one block at a time.
pub(crate) fn aes256_ecb_pkcs7_decrypt(key: &[u8; 32], ciphertext: &[u8]) -> Result<Vec<u8>, ()> {
    use aes::cipher::{BlockCipherDecrypt, KeyInit};
    if ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
        return Err(());
    }
    let cipher = aes::Aes256::new_from_slice(key).map_err(|_| ())?;
    let mut buf = ciphertext.to_vec();
    for block in buf.chunks_exact_mut(16) {
        let block = <&mut aes::cipher::Block<aes::Aes256>>::try_from(block).map_err(|_| ())?;
        cipher.decrypt_block(block);
    }
    let pad = usize::from(*buf.last().ok_or(())?);
    if pad == 0
        || pad > 16
        || buf[buf.len() - pad..]
            .iter()
            .any(|&b| usize::from(b) != pad)
    {
        return Err(());
    }
    buf.truncate(buf.len() - pad);
    Ok(buf)
}

/// AES-256-ECB with PKCS#7 padding, encryption (the sandbox's refund notifications).
pub(crate) fn aes256_ecb_pkcs7_encrypt(key: &[u8; 32], plaintext: &[u8]) -> Result<Vec<u8>, ()> {
    use aes::cipher::{BlockCipherEncrypt, KeyInit};
    let cipher = aes::Aes256::new_from_slice(key).map_err(|_| ())?;
    let pad = 16 - plaintext.len() % 16;
    let mut buf = plaintext.to_vec();
    buf.resize(plaintext.len() + pad, pad as u8);
    for block in buf.chunks_exact_mut(16) {
        let block = <&mut aes::cipher::Block<aes::Aes256>>::try_from(block).map_err(|_| ())?;
        cipher.encrypt_block(block);
    }
    Ok(buf)
}

//! The one place that talks to a crypto library. Everything else in the crate goes through the
//! small types re-exported here; the backend is chosen by a cargo feature: `aws-lc-rs` (default)
//! or `ring` (ring, plus the `rsa` crate for RSA-OAEP, which ring lacks). When both are enabled,
//! aws-lc-rs is used.

/// Why the crypto library refused a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyProblem {
    /// Not an RSA key.
    NotRsa,
    /// An RSA key below 2048 bits.
    TooSmall,
    /// An RSA key above 8192 bits.
    TooLarge,
    /// The bytes do not encode a key.
    Invalid,
}

#[cfg(feature = "aws-lc-rs")]
mod aws_lc;
#[cfg(feature = "aws-lc-rs")]
pub(crate) use aws_lc::*;

#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
mod ring_backend;
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
pub(crate) use ring_backend::*;

// Randomness, digests and AES-GCM have the same API in both libraries: written once, here.
#[cfg(feature = "aws-lc-rs")]
use aws_lc_rs as lib;
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
use ring as lib;

use lib::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

/// Fill `out` from the operating system's random number generator.
pub(crate) fn fill_random(out: &mut [u8]) -> Result<(), ()> {
    use lib::rand::SecureRandom as _;
    lib::rand::SystemRandom::new().fill(out).map_err(|_| ())
}

/// SHA-256 digest.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = lib::digest::digest(&lib::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Incremental SHA-1 (bill download checks only).
pub(crate) struct Sha256(lib::digest::Context);

impl Sha256 {
    pub(crate) fn new() -> Self {
        Self(lib::digest::Context::new(&lib::digest::SHA256))
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0.finish().as_ref().to_vec()
    }
}

pub(crate) struct Sha1(lib::digest::Context);

impl Sha1 {
    pub(crate) fn new() -> Self {
        Self(lib::digest::Context::new(
            &lib::digest::SHA1_FOR_LEGACY_USE_ONLY,
        ))
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0.finish().as_ref().to_vec()
    }
}

fn aes_key(key: &[u8; 32]) -> Result<LessSafeKey, ()> {
    Ok(LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key).map_err(|_| ())?,
    ))
}

/// AES-256-GCM seal: returns `ciphertext ‖ tag`.
pub(crate) fn aes256gcm_seal(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, ()> {
    let mut buf = plaintext.to_vec();
    aes_key(key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &mut buf,
        )
        .map_err(|_| ())?;
    Ok(buf)
}

/// AES-256-GCM open of `ciphertext ‖ tag`. `Err` when the tag does not match.
pub(crate) fn aes256gcm_open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, ()> {
    let mut buf = sealed.to_vec();
    let n = aes_key(key)?
        .open_in_place(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &mut buf,
        )
        .map_err(|_| ())?
        .len();
    buf.truncate(n);
    Ok(buf)
}

/// HMAC-SHA256 (APIv2 signatures).
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let k = lib::hmac::Key::new(lib::hmac::HMAC_SHA256, key);
    let tag = lib::hmac::sign(&k, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// MD5 (APIv2 signatures and the refund-notification key). Neither crypto library has MD5, so
/// both backends use the RustCrypto `md-5` crate.
pub(crate) fn md5(data: &[u8]) -> [u8; 16] {
    use md5::Digest as _;
    md5::Md5::digest(data).into()
}

/// Compare in constant time (for lengths that are public).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "wechatpay-core needs a crypto backend: enable the `aws-lc-rs` (default) or `ring` feature"
);

/// The crypto backend in use: `"aws-lc-rs"` or `"ring"`.
pub const BACKEND: &str = if cfg!(feature = "aws-lc-rs") {
    "aws-lc-rs"
} else {
    "ring"
};

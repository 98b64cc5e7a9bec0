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

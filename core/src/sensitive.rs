//! Sensitive fields: personal data in requests is RSA-OAEP-encrypted (SHA-1,
//! MGF1-SHA-1, empty label, base64) with the platform key the request names in
//! `Wechatpay-Serial`; such fields in answers are encrypted with the merchant's key.
//!
//! In a typed model such a field is a [`Sensitive`]. Put the **plaintext** in it: it is encrypted
//! when the request is signed, with the very key the request names in `Wechatpay-Serial` — there
//! is no helper to forget and no way to send it in the clear. Serialising a `Sensitive` anywhere
//! else (a log line, another JSON) is an error, and its `Debug` is redacted.
//!
//! ```
//! use wechatpay_core::Sensitive;
//! let name = Sensitive::new("张三");
//! assert_eq!(format!("{name:?}"), "Sensitive(<plaintext, redacted>)");
//! assert!(serde_json::to_string(&name).is_err()); // only Call::json may serialise it
//! ```

use std::cell::RefCell;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

enum Inner {
    Plain(Zeroizing<String>),
    Cipher {
        ciphertext: String,
        serial: Option<String>,
    },
}

/// A sensitive field: plaintext to be encrypted when the request is signed, or a ciphertext.
pub struct Sensitive(Inner);

impl Sensitive {
    /// A plaintext value, encrypted when the request is signed.
    pub fn new(plaintext: impl Into<String>) -> Self {
        Self(Inner::Plain(Zeroizing::new(plaintext.into())))
    }

    /// A value already encrypted (base64) for the platform key `serial`; the request is then
    /// sent with `Wechatpay-Serial: serial`.
    pub fn encrypted(ciphertext: impl Into<String>, serial: impl Into<String>) -> Self {
        Self(Inner::Cipher {
            ciphertext: ciphertext.into(),
            serial: Some(serial.into()),
        })
    }

    /// The base64 ciphertext, if this value is encrypted (as in answers).
    pub fn ciphertext(&self) -> Option<&str> {
        match &self.0 {
            Inner::Cipher { ciphertext, .. } => Some(ciphertext),
            Inner::Plain(_) => None,
        }
    }

    /// The plaintext to encrypt at signing, if this is one.
    pub(crate) fn plaintext(&self) -> Option<&Zeroizing<String>> {
        match &self.0 {
            Inner::Plain(p) => Some(p),
            Inner::Cipher { .. } => None,
        }
    }

    /// The platform key a ciphertext was made for, when known.
    pub(crate) fn serial(&self) -> Option<&str> {
        match &self.0 {
            Inner::Cipher { serial, .. } => serial.as_deref(),
            Inner::Plain(_) => None,
        }
    }
}

/// A plaintext (`"张三".into()`), encrypted when the request is signed.
impl From<&str> for Sensitive {
    fn from(plaintext: &str) -> Self {
        Self::new(plaintext)
    }
}

/// A plaintext, encrypted when the request is signed.
impl From<String> for Sensitive {
    fn from(plaintext: String) -> Self {
        Self::new(plaintext)
    }
}

/// The empty plaintext (like `String::default()`), so that request types can derive `Default`.
impl Default for Sensitive {
    fn default() -> Self {
        Self::new("")
    }
}

impl Clone for Sensitive {
    fn clone(&self) -> Self {
        Self(match &self.0 {
            Inner::Plain(p) => Inner::Plain(p.clone()),
            Inner::Cipher { ciphertext, serial } => Inner::Cipher {
                ciphertext: ciphertext.clone(),
                serial: serial.clone(),
            },
        })
    }
}

impl PartialEq for Sensitive {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Inner::Plain(a), Inner::Plain(b)) => a == b,
            (Inner::Cipher { ciphertext: a, .. }, Inner::Cipher { ciphertext: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl Eq for Sensitive {}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Plain(_) => f.write_str("Sensitive(<plaintext, redacted>)"),
            Inner::Cipher { .. } => f.write_str("Sensitive(<ciphertext>)"),
        }
    }
}

/// The placeholder prefix of a sensitive plaintext inside a serialised body.
pub(crate) const MARKER: &str = "\u{0}wechatpay-sensitive-";

/// While `Call::json` serialises a body: the plaintexts met (each replaced by a marker) and the
/// serials of the ciphertexts met.
pub(crate) struct Collected {
    pub(crate) plaintexts: Vec<Zeroizing<String>>,
    pub(crate) serials: Vec<String>,
}

thread_local! {
    static COLLECTING: RefCell<Option<Collected>> = const { RefCell::new(None) };
}

/// Serialise with `f` while collecting sensitive values.
pub(crate) fn collect<T>(f: impl FnOnce() -> T) -> (T, Option<Collected>) {
    // The marker is drawn only when a plaintext is met, so bodies without sensitive fields cost
    // no RNG read.
    let prev = COLLECTING.with(|c| {
        c.replace(Some(Collected {
            plaintexts: Vec::new(),
            serials: Vec::new(),
        }))
    });
    let out = f();
    let collected = COLLECTING.with(|c| c.replace(prev));
    let collected = collected.filter(|c| !c.plaintexts.is_empty() || !c.serials.is_empty());
    (out, collected)
}

impl Serialize for Sensitive {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        match &self.0 {
            Inner::Cipher { ciphertext, serial } => {
                if let Some(serial) = serial {
                    COLLECTING.with(|c| {
                        if let Some(col) = c.borrow_mut().as_mut() {
                            col.serials.push(serial.clone());
                        }
                    });
                }
                s.serialize_str(ciphertext)
            }
            Inner::Plain(p) => {
                // A fixed, NUL-delimited placeholder (no randomness): the signing step checks that
                // each one occurs exactly once in the body before replacing it.
                let marker = COLLECTING.with(|c| {
                    c.borrow_mut().as_mut().map(|col| {
                        col.plaintexts.push(p.clone());
                        format!("{}{}\u{0}", MARKER, col.plaintexts.len() - 1)
                    })
                });
                match marker {
                    Some(m) => s.serialize_str(&m),
                    None => Err(S::Error::custom(
                        "a Sensitive plaintext can only be serialised by Call::json, which encrypts it when the request is signed",
                    )),
                }
            }
        }
    }
}

impl<'de> Deserialize<'de> for Sensitive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ciphertext = String::deserialize(d)?;
        Ok(Self(Inner::Cipher {
            ciphertext,
            serial: None,
        }))
    }
}

/// The JSON form of marker `i` inside a serialised body (serde_json escapes NUL as `\u0000`).
pub(crate) fn marker_json(i: usize) -> String {
    let raw = format!("{MARKER}{i}\u{0}");
    serde_json::to_string(&raw).unwrap_or_default()
}

/// Replace `needle` in `hay` when it occurs exactly once; `false` (nothing replaced) otherwise.
pub(crate) fn replace_once(hay: &mut Vec<u8>, needle: &[u8], with: &[u8]) -> bool {
    if needle.is_empty() || hay.len() < needle.len() {
        return false;
    }
    let mut hits = hay
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i);
    match (hits.next(), hits.next()) {
        (Some(at), None) => {
            hay.splice(at..at + needle.len(), with.iter().copied());
            true
        }
        _ => false,
    }
}

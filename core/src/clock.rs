//! Time and randomness as inputs: the clock ([`Clock`]) and the request nonces
//! ([`NonceSource`]). Tests pin both ([`FixedClock`], [`FixedNonce`]).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::BuildError;

/// A source of the current time, in Unix seconds.
pub trait Clock: Send + Sync {
    /// Now, in Unix seconds.
    fn now(&self) -> i64;

    /// Now, in Unix milliseconds (expiry of stored deliveries and claims). Default: `now()`
    /// in milliseconds.
    fn now_millis(&self) -> i64 {
        self.now().saturating_mul(1000)
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        }
    }

    fn now_millis(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        }
    }
}

/// A clock pinned to one reading, for tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0
    }
}

/// A source of request nonces.
pub trait NonceSource: Send + Sync {
    /// A fresh nonce: ASCII letters and digits.
    fn nonce(&self) -> Result<String, BuildError>;
}

/// 32 characters from `[0-9A-Za-z]`, drawn from the OS RNG by rejection sampling (no modulo bias).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsNonce;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

impl NonceSource for OsNonce {
    fn nonce(&self) -> Result<String, BuildError> {
        let mut out = String::with_capacity(32);
        let mut buf = [0u8; 48];
        while out.len() < 32 {
            crate::crypto::fill_random(&mut buf).map_err(|()| BuildError::Random)?;
            // 248 = 4 * 62: bytes at or above it are rejected so every character is equally likely.
            for b in buf.iter().filter(|b| **b < 248) {
                if out.len() == 32 {
                    break;
                }
                out.push(ALPHABET[(*b % 62) as usize] as char);
            }
        }
        Ok(out)
    }
}

/// A constant nonce, for tests.
#[derive(Debug, Clone)]
pub struct FixedNonce(pub String);

impl NonceSource for FixedNonce {
    fn nonce(&self) -> Result<String, BuildError> {
        Ok(self.0.clone())
    }
}

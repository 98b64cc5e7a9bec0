//! Bills: a bill request (`GET /v3/bill/tradebill`, `/v3/bill/fundflowbill`, … — typed in
//! `wechatpay-api`) answers a digest and a `download_url`; the download is a signed request whose
//! answer is **unsigned**, checked instead against `hash_type`/`hash_value` (SHA1, hex,
//! case-insensitive) of the bill, gunzipped first when `tar_type=GZIP` (the hash is of the
//! original bill).
//!
//! [`BillWriter`] is the sans-IO check: feed it the downloaded bytes chunk by chunk as they
//! arrive; it gunzips and hashes on the way into your writer, so a bill of hundreds of megabytes
//! is never held in memory. [`BillWriter::finish`] says whether the data is good; after an error
//! the caller must discard what was written.
//!
//! [`BillRows`] (over [`BillReader`], sans-IO) reads a bill into typed rows: columns found by
//! their header names, money in [`Fen`] exactly, times in [`BeijingTime`], the summary checked
//! against the rows. [`Reconciler`] matches the rows with the merchant's own records.
//!
//! ```
//! use wechatpay_core::bill::{BillRows, Column, Fen, Reconciler, Record};
//!
//! let bill = "交易时间,公众账号ID,商户号,微信订单号,商户订单号,交易状态,应结订单金额,订单金额\r\n\
//!     `2026-12-06 10:00:00,`wxd678efh567hg6787,`1900000001,`4200001,`ORDER-1,`SUCCESS,`12.34,`12.34\r\n\
//!     总交易单数,应结订单总金额,订单总金额\r\n\
//!     `1,`12.34,`12.34\r\n";
//! let mut rows = BillRows::new(bill.as_bytes());
//! let mut reconciler = Reconciler::new([Record::new("ORDER-1", Fen(1234), "SUCCESS")]);
//! for row in rows.by_ref() {
//!     let row = row?;
//!     assert_eq!(row.money(Column::SettlementAmount), Some(Fen(1234)));
//!     reconciler.add(&row);
//! }
//! assert!(rows.summary().unwrap().agrees());
//! assert!(reconciler.finish().agrees());
//! # Ok::<(), wechatpay_core::BillReadError>(())
//! ```

mod read;
mod reconcile;
mod values;

pub use read::{
    BillKind, BillReader, BillRow, BillRows, BillSummary, Column, SummaryItem, Total,
    DEFAULT_MAX_ROW_BYTES,
};
pub use reconcile::{BillEntry, Difference, EntryKind, Reconciler, Reconciliation, Record};
pub use values::{BeijingTime, Direction, Fen, MoneyError, RefundStatus, RefundType, TradeState};

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::error::BillError;

/// What a bill request answers (`GET /v3/bill/tradebill`, `/v3/bill/fundflowbill`, … — typed in
/// `wechatpay-api`): the digest of the bill and where to download it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BillDownloadInfo {
    /// `SHA1`.
    pub hash_type: String,
    /// Hex digest of the (uncompressed) bill.
    pub hash_value: String,
    /// Where to download it (a signed `GET`, answered unsigned).
    pub download_url: String,
}

impl BillDownloadInfo {
    /// From the three fields of a bill answer.
    pub fn new(
        hash_type: impl Into<String>,
        hash_value: impl Into<String>,
        download_url: impl Into<String>,
    ) -> Self {
        Self {
            hash_type: hash_type.into(),
            hash_value: hash_value.into(),
            download_url: download_url.into(),
        }
    }
}

/// The default [`BillWriter::max_bytes`]: 4 GiB, far above the largest daily bills, low enough to
/// stop a gzip bomb from filling a disk.
pub const DEFAULT_MAX_BILL_BYTES: u64 = 4 << 30;

/// A writer that takes at most `limit` bytes in all: past it, writing fails with the
/// [`BillError::TooLarge`] marker (carried through a gzip decoder; see [`io_to_bill`]).
pub(crate) struct Limited<W> {
    pub(crate) inner: W,
    pub(crate) bytes: u64,
    pub(crate) limit: u64,
}

impl<W> Limited<W> {
    pub(crate) fn new(inner: W, limit: u64) -> Self {
        Self {
            inner,
            bytes: 0,
            limit,
        }
    }
}

impl<W: Write> Write for Limited<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.saturating_add(buf.len() as u64) > self.limit {
            return Err(io::Error::other(OverLimit(self.limit)));
        }
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct Hashing<W> {
    inner: Limited<W>,
    sha1: crate::crypto::Sha1,
}

/// The marker error of an exceeded limit, carried through the gzip decoder.
#[derive(Debug)]
struct OverLimit(u64);

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the bill is larger than {} bytes", self.0)
    }
}

impl std::error::Error for OverLimit {}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha1.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

// One per download: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Sink<W: Write> {
    Plain(Hashing<W>),
    // Multi-member: a gzip file may hold several members, one after the other.
    Gzip(flate2::write::MultiGzDecoder<Hashing<W>>),
}

/// Streams a downloaded bill into a writer: gunzip (if asked), SHA-1, then `W`, refusing more
/// than [`BillWriter::max_bytes`] (default [`DEFAULT_MAX_BILL_BYTES`]).
pub struct BillWriter<W: Write> {
    sink: Sink<W>,
    expected: String,
}

impl<W: Write> std::fmt::Debug for BillWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (gzip, h) = match &self.sink {
            Sink::Plain(h) => (false, h),
            Sink::Gzip(g) => (true, g.get_ref()),
        };
        f.debug_struct("BillWriter")
            .field("expected", &self.expected)
            .field("gzip", &gzip)
            .field("written", &h.inner.bytes)
            .field("max_bytes", &h.inner.limit)
            .finish_non_exhaustive()
    }
}

/// A write error as a bill error: [`BillError::TooLarge`] for an exceeded [`Limited`].
pub(crate) fn io_to_bill(e: io::Error) -> BillError {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<OverLimit>())
    {
        Some(OverLimit(limit)) => BillError::TooLarge { limit: *limit },
        None => BillError::Io(e),
    }
}

impl<W: Write> BillWriter<W> {
    /// Check against `info`'s hash; `gzip` when the bill was requested with `tar_type=GZIP`.
    pub fn new(info: &BillDownloadInfo, gzip: bool, writer: W) -> Result<Self, BillError> {
        Self::with_hash(&info.hash_type, &info.hash_value, gzip, writer)
    }

    /// Check against `hash_type` and `hash_value`.
    pub fn with_hash(
        hash_type: &str,
        hash_value: &str,
        gzip: bool,
        writer: W,
    ) -> Result<Self, BillError> {
        if !hash_type.eq_ignore_ascii_case("SHA1") {
            return Err(BillError::UnsupportedHash(hash_type.to_string()));
        }
        let hashing = Hashing {
            inner: Limited::new(writer, DEFAULT_MAX_BILL_BYTES),
            sha1: crate::crypto::Sha1::new(),
        };
        Ok(Self {
            sink: if gzip {
                Sink::Gzip(flate2::write::MultiGzDecoder::new(hashing))
            } else {
                Sink::Plain(hashing)
            },
            expected: hash_value.trim().to_ascii_lowercase(),
        })
    }

    /// Refuse a bill larger than `limit` bytes (as written, after gunzip) with
    /// [`BillError::TooLarge`].
    pub fn max_bytes(mut self, limit: u64) -> Self {
        match &mut self.sink {
            Sink::Plain(h) => h.inner.limit = limit,
            Sink::Gzip(g) => g.get_mut().inner.limit = limit,
        }
        self
    }

    /// Feed the next chunk of the download.
    pub fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), BillError> {
        match &mut self.sink {
            Sink::Plain(h) => h.write_all(chunk),
            Sink::Gzip(g) => g.write_all(chunk),
        }
        .map_err(io_to_bill)
    }

    /// End of the download: check the digest. `Ok` returns the writer and the bill's size in
    /// bytes (uncompressed); after `Err` the data written is bad.
    pub fn finish(self) -> Result<(W, u64), BillError> {
        let hashing = match self.sink {
            Sink::Plain(h) => h,
            Sink::Gzip(g) => g.finish().map_err(io_to_bill)?,
        };
        let actual: String = hashing
            .sha1
            .finish()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if actual != self.expected {
            return Err(BillError::HashMismatch {
                expected: self.expected,
                actual,
            });
        }
        Ok((hashing.inner.inner, hashing.inner.bytes))
    }
}

impl<W: Write> Write for BillWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_chunk(buf)
            .map(|()| buf.len())
            .map_err(|e| match e {
                BillError::Io(io) => io,
                other => io::Error::other(other.to_string()),
            })
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Lower-case hex SHA-1 of `data` (what `hash_value` holds for `hash_type` `SHA1`).
pub fn sha1_hex(data: &[u8]) -> String {
    let mut h = crate::crypto::Sha1::new();
    h.update(data);
    h.finish().iter().map(|b| format!("{b:02x}")).collect()
}

/// One encrypted part of a sub-merchant fund-flow bill (`GET /v3/bill/sub-merchant-fundflowbill`,
/// `download_bill_list[]`). Decrypt a downloaded part with [`crate::Client::open_bill_part`].
///
/// How a part is protected (from the published field descriptions; the sandbox serves parts made
/// this way): `encrypt_key` is the part's AES-256 key, RSA-OAEP-encrypted for the merchant's API
/// key and base64-encoded; the download is the AES-256-GCM ciphertext of the part with its 16-byte
/// tag appended, under that key, `nonce` as IV (its UTF-8 bytes, 12) and no associated data;
/// `hash_value` is the SHA-1 of the decrypted (gunzipped, with `tar_type=GZIP`) part. Concatenate
/// the parts in `bill_sequence` order for the whole bill.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EncryptedBillPart {
    /// The part's position, from 1.
    #[serde(default)]
    pub bill_sequence: Option<i64>,
    /// Where to download it.
    pub download_url: String,
    /// The part's AES key, RSA-OAEP-encrypted for the merchant, base64.
    pub encrypt_key: String,
    /// The AES-GCM nonce.
    pub nonce: String,
    /// `SHA1`.
    pub hash_type: String,
    /// SHA-1 of the decrypted part.
    pub hash_value: String,
}

/// The largest encrypted part [`open_part`] takes (they are held in memory to be decrypted).
pub const MAX_PART_BYTES: usize = 1 << 30;

/// Decrypt a downloaded part with its AES key (already RSA-decrypted), gunzip it when `gzip`, and
/// check its digest. Sans-IO; [`crate::Client::open_bill_part`] does the RSA step too.
pub fn open_part(
    aes_key: &[u8],
    part: &EncryptedBillPart,
    downloaded: &[u8],
    gzip: bool,
) -> Result<Vec<u8>, BillError> {
    if !part.hash_type.eq_ignore_ascii_case("SHA1") {
        return Err(BillError::UnsupportedHash(part.hash_type.clone()));
    }
    let key: &[u8; 32] = aes_key
        .try_into()
        .map_err(|_| BillError::Decrypt("the decrypted encrypt_key is not 32 bytes"))?;
    let nonce: [u8; 12] = part
        .nonce
        .as_bytes()
        .try_into()
        .map_err(|_| BillError::Decrypt("the nonce is not 12 bytes"))?;
    if downloaded.len() < 16 || downloaded.len() > MAX_PART_BYTES {
        return Err(BillError::Decrypt(
            "the download is not an AES-GCM ciphertext of a usable size",
        ));
    }
    let plain = crate::crypto::aes256gcm_open(key, &nonce, b"", downloaded).map_err(|()| {
        BillError::Decrypt("AES-GCM authentication failed (wrong key or altered part)")
    })?;
    let mut w = BillWriter::with_hash(&part.hash_type, &part.hash_value, gzip, Vec::new())?;
    w.write_chunk(&plain)?;
    Ok(w.finish()?.0)
}

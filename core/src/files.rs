//! Reading the files a merchant names — keys, certificates, the config, bodies to verify — the
//! same way everywhere: regular files only (a FIFO, a device such as `/dev/zero`, a socket or a
//! directory is refused before it is read, so nothing hangs or reads forever), and never more
//! than a bound that fits the kind of file.
//!
//! ```
//! use wechatpay_core::files;
//!
//! let err = files::read(std::path::Path::new("/dev/zero"), files::MAX_CREDENTIAL_FILE).unwrap_err();
//! assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
//! ```

use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

/// The size limit of every credential file read (keys, certificate chains, PKCS#12 bundles,
/// the APIv2 and APIv3 key files): 64 KiB, some twenty times a 4096-bit key in PEM.
pub const MAX_CREDENTIAL_FILE: u64 = 64 * 1024;

/// The largest config file read (TOML): 1 MiB.
pub const MAX_CONFIG_FILE: u64 = 1 << 20;

/// Open `path` for reading when it is a regular file (symbolic links followed); anything else
/// is an [`std::io::ErrorKind::InvalidInput`] error that says what it is, without opening it
/// (opening a FIFO waits for a writer).
pub fn open(path: &Path) -> std::io::Result<std::fs::File> {
    regular(&std::fs::metadata(path)?)?;
    let file = std::fs::File::open(path)?;
    // The path may have been replaced in between: what was opened is what counts.
    regular(&file.metadata()?)?;
    Ok(file)
}

fn regular(meta: &std::fs::Metadata) -> std::io::Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    let what = if meta.is_dir() {
        "a directory"
    } else {
        "a FIFO, socket or device"
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("not a regular file ({what})"),
    ))
}

/// The whole of the regular file at `path`, refused past `limit` bytes with an
/// [`std::io::ErrorKind::FileTooLarge`] error; the buffer is wiped when dropped (the file may be
/// a secret), and sized once from the file's length.
pub fn read(path: &Path, limit: u64) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let file = open(path)?;
    let len = file.metadata()?.len();
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {limit} bytes, the most such a file may hold"),
        )
    };
    if len > limit {
        return Err(too_large());
    }
    // One byte more than the limit is asked for, to tell a file that grew past it.
    let capacity = usize::try_from(len.saturating_add(1)).unwrap_or(usize::MAX);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

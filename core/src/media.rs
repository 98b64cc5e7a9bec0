//! Media upload: a `multipart/form-data` body with a `meta` JSON part
//! (`{"filename":…,"sha256":…}`, lower-case hex) and the `file` part; the signature's body line is
//! the meta JSON, byte-identical to the `meta` part sent.
//!
//! ```
//! use wechatpay_core::media;
//! // Typed, for every upload endpoint: `wechatpay_api::merchant::media::upload(filename, content)`.
//! let call = media::upload::<serde_json::Value>(media::IMAGE_UPLOAD, "receipt.png", b"\x89PNG...").unwrap();
//! assert_eq!(call.template(), "/v3/merchant/media/upload");
//! ```
//!
//! The multipart boundary is derived from the file's SHA-256 (no randomness to pin in tests) and
//! checked not to occur in the file.

use std::io::Read as _;

use serde::{Deserialize, Serialize};

use crate::error::BuildError;
use crate::request::Call;

/// `POST /v3/merchant/media/upload` — images.
pub const IMAGE_UPLOAD: &str = "/v3/merchant/media/upload";
/// `POST /v3/merchant/media/video_upload` — videos.
pub const VIDEO_UPLOAD: &str = "/v3/merchant/media/video_upload";
/// `POST /v3/marketing/favor/media/image-upload` — marketing images.
pub const MARKETING_IMAGE_UPLOAD: &str = "/v3/marketing/favor/media/image-upload";
/// `POST /v3/merchant-service/images/upload` — complaint images.
pub const COMPLAINT_IMAGE_UPLOAD: &str = "/v3/merchant-service/images/upload";

/// The `meta` part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The file name.
    pub filename: String,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    crate::crypto::sha256(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A file's SHA-256, computed as it is read (for uploads streamed from disk).
pub struct FileDigest {
    sha: crate::crypto::Sha256,
    len: u64,
}

impl std::fmt::Debug for FileDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDigest")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Default for FileDigest {
    fn default() -> Self {
        Self {
            sha: crate::crypto::Sha256::new(),
            len: 0,
        }
    }
}

impl FileDigest {
    /// Feed the next chunk of the file.
    pub fn update(&mut self, chunk: &[u8]) {
        self.sha.update(chunk);
        self.len += chunk.len() as u64;
    }

    /// The lower-case hex SHA-256 and the length.
    pub fn finish(self) -> (String, u64) {
        let hex = self
            .sha
            .finish()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (hex, self.len)
    }
}

/// The multipart boundary of a file with this SHA-256 (derived from it: no randomness).
pub fn boundary(sha256_hex: &str) -> String {
    format!("wechatpay-rs-{}", &sha256_hex[..sha256_hex.len().min(32)])
}

/// An upload whose file is streamed by the transport: send [`StreamedUpload::head`], then the
/// file's bytes, then [`StreamedUpload::tail`], as the body of the call's request (whose
/// signature covers only the meta JSON, as for every upload). The file must not contain
/// [`boundary`]; check it while reading.
#[derive(Debug)]
pub struct StreamedUpload<T> {
    /// The call to sign: its body is empty; the transport sends head ‖ file ‖ tail instead.
    pub call: Call<T>,
    /// What comes before the file's bytes.
    pub head: Vec<u8>,
    /// What comes after them.
    pub tail: Vec<u8>,
}

impl<T> StreamedUpload<T> {
    /// The length of the whole body for a file of `len` bytes (its `Content-Length`).
    pub fn content_length(&self, len: u64) -> u64 {
        self.head.len() as u64 + len + self.tail.len() as u64
    }
}

/// The multipart parts of an upload: meta JSON, head, tail, content type.
type Parts = (Vec<u8>, Vec<u8>, Vec<u8>, String);

fn parts(filename: &str, sha: &str) -> Result<Parts, BuildError> {
    let bad = |reason| BuildError::InvalidUpload { reason };
    if filename.is_empty()
        || filename
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\' || c == '/')
    {
        return Err(bad(
            "the file name must be non-empty, without quotes, slashes or control characters",
        ));
    }
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("the SHA-256 must be 64 hex digits"));
    }
    let meta = serde_json::to_vec(&Meta {
        filename: filename.into(),
        sha256: sha.to_ascii_lowercase(),
    })
    .map_err(BuildError::Serialize)?;
    let boundary = boundary(sha);
    let content_type = mime_guess::from_path(filename)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let mut head = Vec::with_capacity(meta.len() + 512);
    head.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"meta\";\r\nContent-Type: application/json\r\n\r\n").as_bytes());
    head.extend_from_slice(&meta);
    head.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\";\r\nContent-Type: {content_type}\r\n\r\n").as_bytes());
    let tail = format!("\r\n--{boundary}--\r\n").into_bytes();
    Ok((
        meta,
        head,
        tail,
        format!("multipart/form-data; boundary={boundary}"),
    ))
}

/// Build an upload streamed from disk for `path`: give the file's name, SHA-256 (see
/// [`FileDigest`]); the transport sends the file between [`StreamedUpload::head`] and
/// [`StreamedUpload::tail`].
pub fn upload_streamed<T: serde::de::DeserializeOwned>(
    path: &'static str,
    filename: &str,
    sha256_hex: &str,
) -> Result<StreamedUpload<T>, BuildError> {
    let (meta, head, tail, content_type) = parts(filename, sha256_hex)?;
    Ok(StreamedUpload {
        call: Call::<T>::post(path)
            .multipart(Vec::new(), meta, &content_type)
            .streamed(),
        head,
        tail,
    })
}

/// An upload of the file at `file`, to be streamed from disk: the file is read once for its
/// SHA-256 and length and once to check that it does not contain its multipart boundary, in
/// 64 KiB chunks, never held in memory. Returns the call to sign (its body is empty, its
/// signature covers the meta JSON) and the [`FileBody`] the transport sends in its place, with
/// `progress` told how many of the file's bytes were read so far (a file changed in between
/// fails the gateway's digest check).
pub fn upload_from_file<T: serde::de::DeserializeOwned, P: FnMut(u64)>(
    path: &'static str,
    file: &std::path::Path,
    progress: P,
) -> Result<(Call<T>, FileBody<P>), BuildError> {
    let bad = |reason| BuildError::InvalidUpload { reason };
    let unreadable = |source| BuildError::UploadFile {
        path: file.to_path_buf(),
        source,
    };
    let filename = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or(bad("the file name is not UTF-8"))?;
    let mut buf = vec![0u8; 64 * 1024];
    // Each chunk of the file in turn, to `f`.
    let mut each_chunk = |f: &mut dyn FnMut(&[u8]) -> Result<(), BuildError>| {
        let mut reader = crate::files::open(file).map_err(unreadable)?;
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => f(&buf[..n])?,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(unreadable(e)),
            }
        }
    };
    let mut digest = FileDigest::default();
    each_chunk(&mut |chunk| {
        digest.update(chunk);
        Ok(())
    })?;
    let (sha, len) = digest.finish();
    let boundary = boundary(&sha).into_bytes();
    // The last boundary-length bytes of the previous chunks, so a boundary split across two
    // chunks is found too.
    let mut carry = Vec::new();
    each_chunk(&mut |chunk| {
        carry.extend_from_slice(chunk);
        if carry
            .windows(boundary.len())
            .any(|w| w == boundary.as_slice())
        {
            return Err(bad("the file contains its own multipart boundary"));
        }
        let keep = carry.len().saturating_sub(boundary.len());
        carry.drain(..keep);
        Ok(())
    })?;
    let upload = upload_streamed::<T>(path, filename, &sha)?;
    let body = FileBody {
        head: std::io::Cursor::new(upload.head),
        file: crate::files::open(file).map_err(unreadable)?.take(len),
        tail: std::io::Cursor::new(upload.tail),
        sent: 0,
        progress,
    };
    Ok((upload.call, body))
}

/// The body of an upload streamed from disk ([`upload_from_file`]): the multipart head, the
/// file's bytes (at most the length it had when it was digested), the tail — one reader.
pub struct FileBody<P> {
    head: std::io::Cursor<Vec<u8>>,
    file: std::io::Take<std::fs::File>,
    tail: std::io::Cursor<Vec<u8>>,
    sent: u64,
    progress: P,
}

impl<P> std::fmt::Debug for FileBody<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBody")
            .field("content_length", &self.content_length())
            .field("file_bytes_sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl<P> FileBody<P> {
    /// The length of the whole body (its `Content-Length`).
    pub fn content_length(&self) -> u64 {
        let (head, tail) = (self.head.get_ref().len(), self.tail.get_ref().len());
        head as u64 + self.sent + self.file.limit() + tail as u64
    }
}

impl<P: FnMut(u64)> FileBody<P> {
    /// Read the whole body in chunks of up to 64 KiB, handing each to `send`, which returns
    /// whether to go on (`false`: the receiver is gone, stop reading). For transports that move
    /// the body from a blocking thread to an async one. A read error (the file shrank) ends it.
    pub fn for_each_chunk(&mut self, mut send: impl FnMut(Vec<u8>) -> bool) -> std::io::Result<()> {
        loop {
            let mut chunk = vec![0; 64 * 1024];
            match self.read(&mut chunk) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    chunk.truncate(n);
                    if !send(chunk) {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl<P: FnMut(u64)> std::io::Read for FileBody<P> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.head.read(buf)?;
        if n > 0 || buf.is_empty() {
            return Ok(n);
        }
        let n = self.file.read(buf)?;
        if n > 0 {
            self.sent += n as u64;
            (self.progress)(self.sent);
            return Ok(n);
        }
        if self.file.limit() > 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                crate::error::UploadFileShrank,
            ));
        }
        self.tail.read(buf)
    }
}

/// Build the multipart upload call for `path` (the typed uploads of `wechatpay-api` use it),
/// answered by a JSON `T`. The content type of the file part is guessed from the file name's
/// extension.
pub fn upload<T: serde::de::DeserializeOwned>(
    path: &'static str,
    filename: &str,
    content: &[u8],
) -> Result<Call<T>, BuildError> {
    let sha = sha256_hex(content);
    let (meta, head, tail, content_type) = parts(filename, &sha)?;
    let boundary = boundary(&sha);
    if content
        .windows(boundary.len())
        .any(|w| w == boundary.as_bytes())
    {
        return Err(BuildError::InvalidUpload {
            reason: "the file contains its own multipart boundary",
        });
    }
    let mut body = Vec::with_capacity(head.len() + content.len() + tail.len());
    body.extend_from_slice(&head);
    body.extend_from_slice(content);
    body.extend_from_slice(&tail);
    Ok(Call::<T>::post(path).multipart(body, meta, &content_type))
}

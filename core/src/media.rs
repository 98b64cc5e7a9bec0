//! Media upload (PROTOCOL §8): a `multipart/form-data` body with a `meta` JSON part
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

/// The upload paths.
pub const UPLOAD_PATHS: [&str; 4] = [
    IMAGE_UPLOAD,
    VIDEO_UPLOAD,
    MARKETING_IMAGE_UPLOAD,
    COMPLAINT_IMAGE_UPLOAD,
];

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

/// Build the multipart upload call for `path` (the typed uploads of `wechatpay-api` use it),
/// answered by a JSON `T`. The content type of the file part is guessed from the file name's
/// extension.
pub fn upload<T: serde::de::DeserializeOwned>(
    path: &'static str,
    filename: &str,
    content: &[u8],
) -> Result<Call<T>, BuildError> {
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
    let sha = sha256_hex(content);
    let meta = serde_json::to_vec(&Meta {
        filename: filename.into(),
        sha256: sha.clone(),
    })
    .map_err(BuildError::Serialize)?;
    let boundary = format!("wechatpay-rs-{}", &sha[..32]);
    if content
        .windows(boundary.len())
        .any(|w| w == boundary.as_bytes())
    {
        return Err(bad("the file contains its own multipart boundary"));
    }
    let content_type = mime_guess::from_path(filename)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let mut body = Vec::with_capacity(content.len() + meta.len() + 512);
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"meta\";\r\nContent-Type: application/json\r\n\r\n").as_bytes());
    body.extend_from_slice(&meta);
    body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\";\r\nContent-Type: {content_type}\r\n\r\n").as_bytes());
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok(Call::<T>::post(path).multipart(
        body,
        meta,
        &format!("multipart/form-data; boundary={boundary}"),
    ))
}

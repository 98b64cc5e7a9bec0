//! Turning a received `http::Response` into a verified, typed value or an [`ApiError`].

use http::{HeaderMap, StatusCode};

use crate::error::ApiError;
use crate::verify::REQUEST_ID;

/// A verified answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiResponse<T> {
    /// The HTTP status (2xx).
    pub status: StatusCode,
    /// The `Request-ID` header, for support tickets.
    pub request_id: Option<String>,
    /// The id of the platform key that verified the answer; `None` for unsigned downloads.
    pub verified_by: Option<String>,
    /// The decoded body.
    pub data: T,
}

pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    request_id_str(headers).map(str::to_string)
}

/// The `Request-ID` header, borrowed.
pub(crate) fn request_id_str(headers: &HeaderMap) -> Option<&str> {
    headers.get(REQUEST_ID).and_then(|v| v.to_str().ok())
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
    detail: Option<serde_json::Value>,
}

/// Build the [`ApiError`] for a non-2xx answer. The body may be JSON, HTML or empty; it is kept.
pub fn api_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ApiError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let (code, message, detail) = match parsed {
        Some(b) => (b.code, b.message, b.detail),
        None => (None, None, None),
    };
    ApiError {
        status,
        code,
        message,
        detail,
        request_id: request_id(headers),
        body: body.to_vec(),
    }
}

//! Turning a received `http::Response` into a verified, typed value or an [`ApiError`].

use std::fmt;

use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

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
pub(crate) fn api_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ApiError {
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

/// A JSON body that does not have the shape of the expected type: where, and why.
#[derive(Debug)]
pub struct JsonError {
    /// The JSON path where the body and the type part (`amount.total`,
    /// `receivers[0].fail_reason`; `.` for the whole body).
    pub path: String,
    /// serde's reason (what was expected there, with line and column).
    pub source: serde_json::Error,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at `{}`: {}",
            self.path,
            crate::error::without_quoted_values(&self.source.to_string())
        )
    }
}

impl std::error::Error for JsonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Read a JSON body into `T` as the client reads an answer: an empty body is `null` (so `()` and
/// `Option<T>` read a `204`), and a body that does not fit names the JSON path where it parts
/// from `T`. The path is looked for only when the plain read fails: a body that fits costs
/// nothing more.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, JsonError> {
    let body: &[u8] = if body.is_empty() { b"null" } else { body };
    serde_json::from_slice(body).map_err(|plain| {
        let mut de = serde_json::Deserializer::from_slice(body);
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(e) => JsonError {
                path: e.path().to_string(),
                source: e.into_inner(),
            },
            Ok(_) => JsonError {
                path: ".".into(),
                source: plain,
            },
        }
    })
}

impl ApiError {
    /// The error WeChat Pay's answer `status`, `headers`, `body` describes (a non-2xx answer; the
    /// body may be JSON, HTML or empty and is kept), as the clients report it.
    pub fn from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ApiError {
        api_error(status, headers, body)
    }
}

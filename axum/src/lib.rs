#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
pub use wechatpay_core;
use wechatpay_core::notify::{self, Callbacks, MemoryStore, NotificationStore};

/// The default body cap: 64 KiB (a notification is a few KB).
pub const DEFAULT_MAX_BODY: usize = 64 << 10;

/// The default time to read a callback's body: 10 s. WeChat Pay sends a few KB at once and
/// waits 5 s for the answer; a body still arriving after this is refused (`408`), so a client
/// that sends it a byte at a time cannot hold the connection.
pub const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What [`Notifications::handle`] needs: the callbacks (which refresh the platform keys through
/// a client when they come from its `callbacks()`, or from [`Callbacks::refresh_through`]), the
/// store, and the body's size and time caps. Cheap to clone.
#[derive(Clone)]
pub struct Notifications {
    callbacks: Callbacks,
    store: Arc<dyn NotificationStore>,
    max_body: usize,
    body_timeout: std::time::Duration,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("callbacks", &self.callbacks)
            .field("store", &"dyn NotificationStore")
            .field("max_body", &self.max_body)
            .field("body_timeout", &self.body_timeout)
            .finish()
    }
}

impl Notifications {
    /// Verify with `callbacks`: `client.callbacks()` of an async client (refreshing the
    /// platform keys through it), or `Callbacks::for_client(&core, apiv3_key)` (no refresh).
    pub fn new(callbacks: Callbacks) -> Self {
        Self {
            callbacks,
            store: Arc::new(MemoryStore::default()),
            max_body: DEFAULT_MAX_BODY,
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }

    /// Remember deliveries and claims in `store` for [`Notifications::handle`] (default: a
    /// [`MemoryStore`], right for one process; `wechatpay_redis::RedisStore` when several
    /// instances behind a load balancer share the notifications).
    pub fn with_store(mut self, store: impl NotificationStore + 'static) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// Verify, decrypt and process a delivery once (claim, run `handler`, complete or
    /// release; see `wechatpay_core::notify::Callbacks::handle`), refreshing the platform
    /// keys through the callbacks' client when they have one. The answer to return as is.
    pub async fn handle<T, F, Fut>(&self, delivery: Delivery, handler: F) -> Answer
    where
        T: notify::Resource,
        F: FnOnce(notify::Notification<T>) -> Fut,
        Fut: std::future::Future<Output = Result<(), notify::HandlerError>>,
    {
        let (headers, body) = (&delivery.headers, &delivery.body[..]);
        let handled = self
            .callbacks
            .handle(&*self.store, headers, body, handler)
            .await;
        Answer(handled.answer)
    }

    /// Refuse bodies larger than `bytes` with `413` (default [`DEFAULT_MAX_BODY`]).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Refuse a body not read whole within `timeout` with `408` (default
    /// [`DEFAULT_BODY_TIMEOUT`]). Counted from when the extractor starts reading the body; the
    /// request line and headers are the server's to bound (see the crate docs). Needs the tokio
    /// time driver, which `#[tokio::main]` and `axum::serve` runtimes have.
    pub fn body_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.body_timeout = timeout;
        self
    }
}

/// Why a callback was refused; its response is the failure answer WeChat Pay expects, so that
/// it delivers the notification again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The body is larger than the cap: `413`.
    #[error("callback body larger than {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
    /// The body could not be read: `400`.
    #[error("callback body could not be read: {0}")]
    Body(#[source] axum::Error),
    /// The body was not read whole in time: `408`.
    #[error("callback body not received within {} ms", .after.as_millis())]
    Timeout {
        /// The time allowed ([`Notifications::body_timeout`]).
        after: std::time::Duration,
    },
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = match &self {
            Rejection::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::Body(_) => StatusCode::BAD_REQUEST,
            Rejection::Timeout { .. } => StatusCode::REQUEST_TIMEOUT,
        };
        let mut r = Answer(notify::failure(&self.to_string())).into_response();
        *r.status_mut() = status;
        r
    }
}

/// A callback delivery as received, not verified yet (an axum extractor): the headers and the
/// raw body, capped in size and read time. Hand it to [`Notifications::handle`].
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The request headers.
    pub headers: http::HeaderMap,
    /// The raw body.
    pub body: axum::body::Bytes,
}

impl<S> FromRequest<S> for Delivery
where
    Notifications: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Rejection> {
        let n = Notifications::from_ref(state);
        let (parts, body) = req.into_parts();
        let announced = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|len| len > n.max_body as u64) {
            return Err(Rejection::TooLarge { limit: n.max_body });
        }
        let read = axum::body::to_bytes(body, n.max_body);
        let body = tokio::time::timeout(n.body_timeout, read)
            .await
            .map_err(|_| Rejection::Timeout {
                after: n.body_timeout,
            })?
            .map_err(|e| {
                if wechatpay_core::connector::find_cause::<http_body_util::LengthLimitError>(&e)
                    .is_some()
                {
                    Rejection::TooLarge { limit: n.max_body }
                } else {
                    Rejection::Body(e)
                }
            })?;
        Ok(Delivery {
            headers: parts.headers,
            body,
        })
    }
}

/// An answer to WeChat Pay: [`success`] (`204`) or [`failure`] (`500 {"code":"FAIL",…}`).
#[derive(Debug)]
pub struct Answer(pub http::Response<Vec<u8>>);

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let (parts, body) = self.0.into_parts();
        Response::from_parts(parts, Body::from(body))
    }
}

/// The answer for a notification handled successfully: `204 No Content`.
pub fn success() -> Answer {
    Answer(notify::success())
}

/// The answer for a notification that could not be handled (your database is down, …):
/// `500 {"code":"FAIL","message":…}`; WeChat Pay delivers it again later.
pub fn failure(message: &str) -> Answer {
    Answer(notify::failure(message))
}

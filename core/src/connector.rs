//! Connectors: the one seam between this crate and an HTTP client.
//!
//! A connector sends one `http::Request` and hands back the `http::Response` with its body
//! still streaming — nothing else. Signing, verification, the certificate refresh, timeouts of
//! async calls, body limits, bill and media streaming are the client's
//! (`AsyncClient`, [`crate::BlockingClient`]), written once over these traits.
//!
//! - `Connector` (async, runtime-agnostic: the connector also gives the client its timer and
//!   a way to run blocking file reads) and [`BlockingConnector`] (which enforces the
//!   [`Timeouts`] it is given, as only the HTTP client can).
//! - [`RequestBody`]: what a connector sends — bytes in memory, or an upload streamed from disk.
//!   It is an [`http_body::Body`] (hyper, reqwest's `Body::wrap`) and an [`std::io::Read`].
//! - [`FromConfig`]: a connector made from the transport settings ([`Config`]), so that
//!   `Client::with_config(core, config)` builds both.
//!
//! A connector never follows redirects, never retries, and classifies its failures as
//! [`TransportError`]s (saying whether the request may have reached the server);
//! [`find_cause`] finds the library's error in a chain, [`without_query`] keeps a URL's
//! query (which may hold a download token) out of the message.

use std::future::Future;
use std::io::Read;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Frame, SizeHint};

use crate::error::{TransportError, TransportErrorKind};
use crate::transport::Config;

pub use crate::error::{find_cause, without_query};

/// The error type of a response body that is not yet classified.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a [`BlockingConnector`] may take for one request, both counted from the moment
/// `send` is called: the answer's head must have arrived within `head`, its whole body must
/// have been read within `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Until the status line and headers are in.
    pub head: Duration,
    /// Until the last byte of the body is in.
    pub total: Duration,
}

#[cfg(feature = "async")]
/// An async HTTP client as the client uses it. Runtime-agnostic: the client awaits only the
/// futures the connector returns.
///
/// The client enforces every timeout of [`Config`] but the connect timeout with
/// [`Connector::sleep`], and every body limit while it reads [`Connector::Body`].
pub trait Connector: Send + Sync + 'static {
    /// The answer's body, read frame by frame.
    type Body: http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send;

    /// Send `request` and return the answer as soon as its head is in. A failure says whether
    /// the request may have reached the server.
    fn send(
        &self,
        request: Request<RequestBody>,
    ) -> impl Future<Output = Result<Response<Self::Body>, TransportError>> + Send;

    /// A future that completes after `duration` (the runtime's timer).
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;

    /// Run `f`, which reads a file, where blocking is allowed (a runtime's blocking pool). The
    /// default runs it inline, which suits tests and small files.
    fn spawn_blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = Result<R, TransportError>> + Send {
        let out = f();
        async move { Ok(out) }
    }

    /// Classify an error that [`Connector::Body`] raised while it was read. The default looks
    /// for an `std::io::Error` among its causes.
    fn body_error(&self, error: BoxError) -> TransportError {
        classify_body_error(error)
    }
}

/// A blocking HTTP client as the client uses it.
pub trait BlockingConnector: Send + Sync + 'static {
    /// The answer's body.
    type Body: Read + Send;

    /// Send `request` and return the answer as soon as its head is in, within
    /// `timeouts.head`; reading the body must fail once `timeouts.total` has passed since the
    /// call. A failure says whether the request may have reached the server.
    fn send(
        &self,
        request: Request<RequestBody>,
        timeouts: Timeouts,
    ) -> Result<Response<Self::Body>, TransportError>;

    /// Classify an error that reading [`BlockingConnector::Body`] raised. The default takes
    /// the kind from the `std::io::Error`.
    fn body_error(&self, error: std::io::Error) -> TransportError {
        let (kind, reached) = TransportErrorKind::of_io(&error);
        TransportError::new(kind, reached, error)
    }
}

/// A connector made from the transport settings: `AsyncClient::<C>::with_config(core, config)`.
pub trait FromConfig: Sized {
    /// The connector `config` describes (its TLS, proxy, pool and connect timeout).
    fn from_config(config: &Config) -> Result<Self, TransportError>;
}

#[cfg(feature = "async")]
/// The default classification of a body error: the kind of the first `std::io::Error` among
/// its causes, else a closed connection. The request was sent.
fn classify_body_error(error: BoxError) -> TransportError {
    let kind = match crate::error::find_cause::<std::io::Error>(&*error) {
        Some(io) => TransportErrorKind::of_io(io).0,
        None => TransportErrorKind::ConnectionClosed,
    };
    TransportError::new(kind, true, error)
}

/// The body of a request: bytes in memory, or an upload streamed from disk. Its length is
/// always known (`content_length`), so connectors send it with a `Content-Length`.
pub struct RequestBody(Kind);

/// Reads the next chunk of a streamed body on the connector's blocking pool, handing the reader
/// back with it.
type NextChunk = Pin<Box<dyn Future<Output = (Reader, std::io::Result<Option<Bytes>>)> + Send>>;
/// Starts a [`NextChunk`].
type ReadAhead = Box<dyn Fn(Reader) -> NextChunk + Send>;
/// A streamed body's source.
type Reader = Box<dyn Read + Send>;

enum Kind {
    Bytes(Option<Bytes>),
    /// Read on the calling thread (blocking connectors).
    Reader {
        reader: Mutex<Reader>,
        length: u64,
    },
    /// Read on the connector's blocking pool, chunk by chunk (async connectors).
    #[cfg_attr(not(feature = "async"), allow(dead_code))]
    Stream {
        state: Mutex<Stream>,
        length: u64,
    },
}

struct Stream {
    reader: Option<Reader>,
    pending: Option<NextChunk>,
    read_ahead: ReadAhead,
    done: bool,
}

/// The size of the chunks a streamed body is read in.
const CHUNK: usize = 64 * 1024;

impl RequestBody {
    /// A body of `length` bytes read from `reader` as it is sent (on the calling thread).
    pub fn from_reader(reader: impl Read + Send + 'static, length: u64) -> Self {
        RequestBody(Kind::Reader {
            reader: Mutex::new(Box::new(reader)),
            length,
        })
    }

    /// A body of `length` bytes read from `reader` as it is sent, each chunk read where
    /// `connector` runs blocking work.
    #[cfg(feature = "async")]
    pub(crate) fn streamed<C: Connector>(
        reader: impl Read + Send + 'static,
        length: u64,
        connector: std::sync::Arc<C>,
    ) -> Self {
        let read_ahead: ReadAhead = Box::new(move |mut reader: Reader| {
            let connector = connector.clone();
            Box::pin(async move {
                let read = connector.spawn_blocking(move || {
                    let chunk = read_chunk(&mut reader);
                    (reader, chunk)
                });
                match read.await {
                    Ok((reader, chunk)) => (reader, chunk),
                    Err(e) => (
                        Box::new(std::io::empty()) as Reader,
                        Err(std::io::Error::other(e)),
                    ),
                }
            })
        });
        RequestBody(Kind::Stream {
            state: Mutex::new(Stream {
                reader: Some(Box::new(reader)),
                pending: None,
                read_ahead,
                done: false,
            }),
            length,
        })
    }

    /// The body's length in bytes.
    pub fn content_length(&self) -> u64 {
        match &self.0 {
            Kind::Bytes(b) => b.as_ref().map_or(0, |b| b.len() as u64),
            Kind::Reader { length, .. } | Kind::Stream { length, .. } => *length,
        }
    }

    /// The bytes of a body held in memory, or the streamed body itself.
    pub fn into_bytes(self) -> Result<Bytes, RequestBody> {
        match self.0 {
            Kind::Bytes(b) => Ok(b.unwrap_or_default()),
            kind => Err(RequestBody(kind)),
        }
    }

    /// The bytes of a body held in memory (`None`: it is streamed; send it as an
    /// [`http_body::Body`] or read it as an [`std::io::Read`]).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.0 {
            Kind::Bytes(b) => Some(b.as_deref().unwrap_or_default()),
            _ => None,
        }
    }
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.0 {
            Kind::Bytes(_) => "bytes",
            Kind::Reader { .. } | Kind::Stream { .. } => "streamed",
        };
        f.debug_struct("RequestBody")
            .field("kind", &kind)
            .field("content_length", &self.content_length())
            .finish()
    }
}

impl From<Vec<u8>> for RequestBody {
    fn from(bytes: Vec<u8>) -> Self {
        RequestBody(Kind::Bytes(Some(Bytes::from(bytes))))
    }
}

impl From<Bytes> for RequestBody {
    fn from(bytes: Bytes) -> Self {
        RequestBody(Kind::Bytes(Some(bytes)))
    }
}

/// Read up to one chunk (`None` at the end).
fn read_chunk(reader: &mut Reader) -> std::io::Result<Option<Bytes>> {
    let mut chunk = vec![0; CHUNK];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(None),
            Ok(n) => {
                chunk.truncate(n);
                return Ok(Some(Bytes::from(chunk)));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let frame =
            |chunk: std::io::Result<Option<Bytes>>| chunk.transpose().map(|c| c.map(Frame::data));
        match &mut self.get_mut().0 {
            Kind::Bytes(bytes) => Poll::Ready(
                bytes
                    .take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            Kind::Reader { reader, .. } => {
                let reader = reader.get_mut().unwrap_or_else(|p| p.into_inner());
                Poll::Ready(frame(read_chunk(reader)))
            }
            Kind::Stream { state, .. } => {
                let s = state.get_mut().unwrap_or_else(|p| p.into_inner());
                if s.done {
                    return Poll::Ready(None);
                }
                if s.pending.is_none() {
                    match s.reader.take() {
                        Some(reader) => s.pending = Some((s.read_ahead)(reader)),
                        None => return Poll::Ready(None),
                    }
                }
                let Some(pending) = s.pending.as_mut() else {
                    return Poll::Ready(None);
                };
                let (reader, chunk) = std::task::ready!(pending.as_mut().poll(cx));
                s.pending = None;
                match &chunk {
                    Ok(Some(_)) => s.reader = Some(reader),
                    _ => s.done = true,
                }
                Poll::Ready(frame(chunk))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Kind::Bytes(b) => b.as_ref().is_none_or(|b| b.is_empty()),
            _ => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.content_length())
    }
}

impl Read for RequestBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match &mut self.0 {
            Kind::Bytes(bytes) => {
                let Some(b) = bytes.as_mut() else {
                    return Ok(0);
                };
                let n = b.len().min(buf.len());
                buf[..n].copy_from_slice(&b.split_to(n));
                Ok(n)
            }
            Kind::Reader { reader, .. } => reader
                .get_mut()
                .unwrap_or_else(|p| p.into_inner())
                .read(buf),
            Kind::Stream { state, .. } => {
                // A streamed body read synchronously: read its source directly.
                let s = state.get_mut().unwrap_or_else(|p| p.into_inner());
                match s.reader.as_mut() {
                    Some(reader) if s.pending.is_none() => reader.read(buf),
                    _ => Ok(0),
                }
            }
        }
    }
}

/// Connectors whose HTTP client runs on tokio (hyper, reqwest): they send, tokio gives them the
/// timer and the blocking pool. A task that panics passes its panic on.
#[cfg(feature = "tokio")]
pub mod tokio {
    use std::future::Future;
    use std::time::Duration;

    use bytes::Bytes;
    use http::{Request, Response};

    use super::{classify_body_error, BoxError, Connector, RequestBody};
    use crate::error::{TransportError, TransportErrorKind};

    /// An HTTP client on tokio: the sending half of a [`Connector`], which every
    /// `TokioConnector` is, with tokio's timer (`sleep`) and blocking pool (`spawn_blocking`).
    pub trait TokioConnector: Send + Sync + 'static {
        /// The answer's body, read frame by frame.
        type Body: http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send;

        /// As [`Connector::send`].
        fn send(
            &self,
            request: Request<RequestBody>,
        ) -> impl Future<Output = Result<Response<Self::Body>, TransportError>> + Send;

        /// As [`Connector::body_error`].
        fn body_error(&self, error: BoxError) -> TransportError {
            classify_body_error(error)
        }
    }

    impl<T: TokioConnector> Connector for T {
        type Body = T::Body;

        fn send(
            &self,
            request: Request<RequestBody>,
        ) -> impl Future<Output = Result<Response<Self::Body>, TransportError>> + Send {
            TokioConnector::send(self, request)
        }

        fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
            ::tokio::time::sleep(duration)
        }

        fn spawn_blocking<R: Send + 'static>(
            &self,
            f: impl FnOnce() -> R + Send + 'static,
        ) -> impl Future<Output = Result<R, TransportError>> + Send {
            let task = ::tokio::task::spawn_blocking(f);
            async move {
                task.await.map_err(|e| match e.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(e) => TransportError::new(TransportErrorKind::Other, false, e),
                })
            }
        }

        fn body_error(&self, error: BoxError) -> TransportError {
            TokioConnector::body_error(self, error)
        }
    }
}

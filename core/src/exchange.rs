//! One exchange with WeChat Pay as a state machine: the protocol decides, the transport moves
//! bytes.
//!
//! A call is more than sign and verify: when the answer names a platform key the client does not
//! hold yet, the right move is to download the certificates (a second request), apply them, and
//! verify the **same** answer again — the call is never sent twice. [`CallExchange`] (an API
//! call), [`crate::notify::CallbackExchange`] (a notification), [`V2Exchange`] (an APIv2 call) and [`RefreshExchange`] (an explicit certificate
//! refresh) decide every step; [`Download`] runs the checks of a streamed download as its chunks
//! arrive. A transport only answers [`Step`]s:
//!
//! ```
//! use wechatpay_core::exchange::{CallExchange, Exchange, Step};
//! # // Offline here: every send fails to connect (nothing reached a server).
//! # fn send(_: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, wechatpay_core::TransportError> {
//! #     Err(wechatpay_core::TransportError::new(wechatpay_core::TransportErrorKind::Connect, false, "offline example"))
//! # }
//! # fn run(client: &wechatpay_core::Client, lock: &std::sync::Mutex<()>) -> Result<(), wechatpay_core::CallError> {
//! let call = wechatpay_core::Call::<serde_json::Value>::get("/v3/certificates");
//! let mut ex = CallExchange::new(client, call)?;
//! let mut guard = None;
//! let answer = loop {
//!     match ex.poll() {
//!         Step::Send(request) => match send(request) {                // bytes on the wire
//!             Ok(response) => ex.handle_response(response, client.now()),
//!             Err(e) => ex.handle_transport_error(e),
//!         },
//!         Step::Lock => {                                              // one refresh at a time
//!             guard = Some(lock.lock().unwrap_or_else(|p| p.into_inner()));
//!             ex.handle_locked(std::time::Instant::now());
//!         }
//!         Step::Done(result) => break result,
//!     }
//! };
//! drop(guard);
//! # let _ = answer?; Ok(()) }
//! ```
//!
//! The clients (`BlockingClient`, `AsyncClient`) run that loop over a connector. Single
//! flight and the rate limit of automatic refreshes are decided here
//! (with the
//! instants the transport passes in); the transport only provides the lock that one refresh holds
//! while its download is under way. Time is an input everywhere: `now` (Unix seconds, for the
//! signature window) and `Instant`s (for the rate limit).
//!
//! Every call (APIv3 and APIv2) and every streamed download records a `tracing` span
//! `wechatpay.call` (`method`, `path` as a template, `status`, `request_id`, `verified_by` — the
//! platform key's serial, or "unsigned download" —, `outcome`, `refreshed`, `duration_ms`) and
//! emits events for refreshes and rejected callbacks — never a secret, a signature, a signed
//! message, a download token or a body.

use std::time::{Duration, Instant};

use http::{HeaderMap, Request, Response};

use crate::bill::{BillWriter, EncryptedBillPart};
use crate::certificates::{Downloaded, RefreshDecision};
use crate::client::{Client, Expect};
use crate::error::V2Error;
use crate::error::{
    BillError, BuildError, CallError, RefreshError, ResponseError, TransportError,
    TransportErrorKind, VerifyError,
};
use crate::response::ApiResponse;
use crate::v2::{SignedV2, V2BillWriter, V2Call};
use http::Method;
use serde::de::DeserializeOwned;

/// What the transport must do next.
#[derive(Debug)]
// One step at a time, moved out at once: boxing the request would cost an allocation per call.
#[allow(clippy::large_enum_variant)]
pub enum Step<O> {
    /// Send this request exactly as it is, and hand the whole answer to
    /// [`Exchange::handle_response`] (or the failure to [`Exchange::handle_transport_error`]).
    Send(Request<Vec<u8>>),
    /// Take the transport's refresh lock — one refresh at a time, shared by every exchange of
    /// the client — then call [`Exchange::handle_locked`]. Hold it until the exchange is done.
    Lock,
    /// Finished.
    Done(O),
}

/// An exchange, as a transport drives it.
pub trait Exchange {
    /// What the exchange ends with.
    type Output;
    /// The next step. After [`Step::Done`] the exchange is spent (polling again panics in debug
    /// builds; in release it repeats an internal error).
    fn poll(&mut self) -> Step<Self::Output>;
    /// The answer to the last [`Step::Send`], received at `now` (Unix seconds).
    fn handle_response(&mut self, response: Response<Vec<u8>>, now: i64);
    /// The last [`Step::Send`] failed in the transport.
    fn handle_transport_error(&mut self, error: TransportError);
    /// The refresh lock is held (after [`Step::Lock`]); `now` decides the rate limit.
    fn handle_locked(&mut self, now: Instant);
    /// How long the exchange took, measured by the transport; recorded on its span.
    fn record_duration(&mut self, _elapsed: Duration) {}
}

/// The refresh part of an exchange: wanted → locked → downloading → done.
#[allow(clippy::large_enum_variant)]
enum Flow {
    Idle,
    WantLock,
    Send(Request<Vec<u8>>),
    AwaitDownload,
    Finished,
}

pub(crate) enum Locked {
    /// Another exchange refreshed the keys: verify again.
    Again,
    /// Too soon, or no refresh possible: keep the first error. With the reason when the
    /// download could not be signed (an explicit refresh reports it).
    GiveUp(Option<BuildError>),
    /// A download was prepared.
    Downloading,
}

pub(crate) struct Refresh {
    seen: u64,
    flow: Flow,
    done: bool,
    pub(crate) refreshed: bool,
}

impl Refresh {
    pub(crate) fn new(client: &Client) -> Self {
        Self {
            seen: client.shared_keys().generation(),
            flow: Flow::Idle,
            done: false,
            refreshed: false,
        }
    }

    /// Whether an unknown serial can lead to a refresh (once per exchange).
    pub(crate) fn want(&mut self, client: &Client) -> bool {
        if self.done || client.refresh_config().is_none() {
            return false;
        }
        self.done = true;
        self.flow = Flow::WantLock;
        true
    }

    pub(crate) fn poll<O>(&mut self) -> Option<Step<O>> {
        match std::mem::replace(&mut self.flow, Flow::Finished) {
            Flow::WantLock => {
                self.flow = Flow::WantLock;
                Some(Step::Lock)
            }
            Flow::Send(r) => {
                self.flow = Flow::AwaitDownload;
                Some(Step::Send(r))
            }
            other => {
                self.flow = other;
                None
            }
        }
    }

    pub(crate) fn locked(&mut self, client: &Client, now: Instant, automatic: bool) -> Locked {
        let Some(cfg) = client.refresh_config() else {
            self.flow = Flow::Finished;
            return Locked::GiveUp(None);
        };
        let current = client.shared_keys().generation();
        let decision = {
            let mut gate = cfg.gate.lock().unwrap_or_else(|p| p.into_inner());
            if automatic {
                gate.decide(self.seen, current, now)
            } else {
                gate.record(now);
                RefreshDecision::Refresh
            }
        };
        match decision {
            RefreshDecision::AlreadyRefreshed => {
                self.flow = Flow::Finished;
                self.refreshed = true;
                Locked::Again
            }
            RefreshDecision::TooSoon => {
                self.flow = Flow::Finished;
                tracing::debug!(target: "wechatpay", "unknown serial: the last refresh is too recent");
                Locked::GiveUp(None)
            }
            _ => match client.sign(crate::certificates::download()) {
                Ok(signed) => {
                    self.flow = Flow::Send(signed.request);
                    Locked::Downloading
                }
                Err(e) => {
                    self.flow = Flow::Finished;
                    tracing::warn!(target: "wechatpay", error = %e, "certificate download could not be signed");
                    Locked::GiveUp(Some(e))
                }
            },
        }
    }

    pub(crate) fn awaiting_download(&self) -> bool {
        matches!(self.flow, Flow::AwaitDownload)
    }

    /// Apply a download; whether the keys changed.
    pub(crate) fn downloaded(
        &mut self,
        client: &Client,
        response: Response<Vec<u8>>,
        now: i64,
    ) -> Result<Downloaded, RefreshError> {
        self.flow = Flow::Finished;
        let Some(cfg) = client.refresh_config() else {
            return Err(RefreshError::NoApiV3Key);
        };
        let result = client.apply_certificates(&cfg.key, &response, now);
        match &result {
            Ok(Downloaded::Certificates {
                pems, signed_by, ..
            }) => {
                self.refreshed = true;
                let serials: Vec<&str> = pems.iter().map(|(s, _)| s.as_str()).collect();
                tracing::info!(target: "wechatpay", serials = ?serials, signed_by = %signed_by, "platform certificates refreshed");
            }
            Ok(_) => {
                tracing::info!(target: "wechatpay", "platform certificates: none (public key mode)")
            }
            Err(e) => {
                tracing::warn!(target: "wechatpay", error = %e, "platform certificate refresh failed; the keys are unchanged")
            }
        }
        result.map_err(RefreshError::from)
    }

    pub(crate) fn download_failed(&mut self, e: &TransportError) {
        self.flow = Flow::Finished;
        tracing::warn!(target: "wechatpay", error = %e, "platform certificate download failed; the keys are unchanged");
    }
}

pub(crate) fn call_span(method: &http::Method, template: &str) -> tracing::Span {
    tracing::info_span!(
        target: "wechatpay",
        "wechatpay.call",
        method = %method,
        path = %template,
        status = tracing::field::Empty,
        request_id = tracing::field::Empty,
        verified_by = tracing::field::Empty,
        outcome = tracing::field::Empty,
        refreshed = false,
        duration_ms = tracing::field::Empty,
    )
}

/// Record an answer's status and `Request-ID` on a call's span.
pub(crate) fn record_answer(span: &tracing::Span, status: http::StatusCode, headers: &HeaderMap) {
    span.record("status", status.as_u16());
    if let Some(id) = crate::response::request_id_str(headers) {
        span.record("request_id", id);
    }
}

/// Record a failed call's outcome on its span, and the error at DEBUG.
pub(crate) fn record_failure(span: &tracing::Span, e: &CallError) {
    span.record("outcome", outcome_of(e));
    tracing::debug!(target: "wechatpay", parent: span, error = %e, "call failed");
}

/// One API call: sign → send → verify → (unknown serial: lock → download → apply → verify the
/// same answer again) → the typed answer or a typed error.
pub struct CallExchange<T> {
    client: Client,
    expect: Expect<T>,
    outgoing: Option<Request<Vec<u8>>>,
    answer: Option<Response<Vec<u8>>>,
    first: Option<ResponseError>,
    refresh: Refresh,
    result: Option<Result<ApiResponse<T>, CallError>>,
    span: tracing::Span,
}

impl<T> std::fmt::Debug for CallExchange<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallExchange")
            .field("expect", &self.expect)
            .field("done", &self.result.is_some())
            .finish_non_exhaustive()
    }
}

impl<T> CallExchange<T> {
    /// Start the exchange of `call`, signed now.
    pub fn new(client: &Client, call: crate::request::Call<T>) -> Result<Self, BuildError> {
        let span = call_span(call.method(), call.template());
        let signed = span.in_scope(|| client.sign(call))?;
        Ok(Self {
            refresh: Refresh::new(client),
            client: client.clone(),
            expect: signed.expect,
            outgoing: Some(signed.request),
            answer: None,
            first: None,
            result: None,
            span,
        })
    }

    fn verify(&mut self, now: i64) {
        let Some(answer) = self.answer.as_ref() else {
            return;
        };
        let span = self.span.clone();
        let _enter = span.enter();
        match self.client.verify_at(&self.expect, answer, now) {
            Err(
                e @ ResponseError::Verify {
                    source: VerifyError::UnknownSerial { .. },
                    ..
                },
            ) if self.first.is_none() && self.refresh.want(&self.client) => {
                self.first = Some(e);
            }
            Ok(a) => {
                self.span.record(
                    "verified_by",
                    a.verified_by.as_deref().unwrap_or("unsigned download"),
                );
                self.span.record("outcome", "ok");
                self.result = Some(Ok(a));
            }
            Err(e) => self.fail(e.into()),
        }
    }

    fn fail(&mut self, e: CallError) {
        record_failure(&self.span, &e);
        self.result = Some(Err(e));
    }

    /// The answer failed to verify with an unknown serial and no refresh helped: that error.
    fn give_up(&mut self) {
        let e = self
            .first
            .take()
            .map(CallError::from)
            .unwrap_or(CallError::Build(BuildError::ExchangeFinished));
        self.fail(e);
    }
}

pub(crate) fn outcome_of(e: &CallError) -> &'static str {
    match e {
        CallError::Build(_) => "build_error",
        CallError::Transport(_) => "transport_error",
        CallError::Response(ResponseError::Api(_)) => "api_error",
        CallError::Response(ResponseError::Verify { .. }) => "verification_failed",
        CallError::Response(_) => "decode_error",
        CallError::Bill(_) => "bill_error",
        CallError::V2(_) => "v2_error",
    }
}

impl<T> Exchange for CallExchange<T> {
    type Output = Result<ApiResponse<T>, CallError>;

    fn poll(&mut self) -> Step<Self::Output> {
        if let Some(r) = self.result.take() {
            return Step::Done(r);
        }
        if let Some(r) = self.outgoing.take() {
            return Step::Send(r);
        }
        if let Some(step) = self.refresh.poll() {
            return step;
        }
        debug_assert!(false, "CallExchange polled after it finished");
        Step::Done(Err(CallError::Build(BuildError::ExchangeFinished)))
    }

    fn handle_response(&mut self, response: Response<Vec<u8>>, now: i64) {
        if self.refresh.awaiting_download() {
            let _ = self.refresh.downloaded(&self.client, response, now);
            self.span.record("refreshed", self.refresh.refreshed);
            if self.refresh.refreshed {
                self.first = None;
                self.verify(now);
            } else {
                self.give_up();
            }
            return;
        }
        record_answer(&self.span, response.status(), response.headers());
        self.answer = Some(response);
        self.verify(now);
    }

    fn handle_transport_error(&mut self, error: TransportError) {
        if self.refresh.awaiting_download() {
            self.refresh.download_failed(&error);
            self.give_up();
        } else {
            self.fail(error.into());
        }
    }

    fn handle_locked(&mut self, now: Instant) {
        match self.refresh.locked(&self.client, now, true) {
            Locked::Again => {
                self.span.record("refreshed", true);
                self.first = None;
                self.verify(self.client.now());
            }
            Locked::GiveUp(_) => self.give_up(),
            Locked::Downloading => {}
        }
    }

    fn record_duration(&mut self, elapsed: Duration) {
        self.span
            .record("duration_ms", elapsed.as_secs_f64() * 1000.0);
    }
}

/// An explicit refresh of the platform certificates (no rate limit; it still takes the lock, so
/// it never runs beside an automatic one).
pub struct RefreshExchange {
    client: Client,
    refresh: Refresh,
    result: Option<Result<Downloaded, RefreshError>>,
}

impl std::fmt::Debug for RefreshExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshExchange")
            .field("done", &self.result.is_some())
            .finish_non_exhaustive()
    }
}

impl RefreshExchange {
    /// Start an explicit certificate refresh (needs [`crate::ClientBuilder::apiv3_key`]).
    pub fn new(client: &Client) -> Result<Self, RefreshError> {
        if client.refresh_config().is_none() {
            return Err(RefreshError::NoApiV3Key);
        }
        let mut refresh = Refresh::new(client);
        refresh.want(client);
        Ok(Self {
            client: client.clone(),
            refresh,
            result: None,
        })
    }
}

impl Exchange for RefreshExchange {
    type Output = Result<Downloaded, RefreshError>;

    fn poll(&mut self) -> Step<Self::Output> {
        if let Some(r) = self.result.take() {
            return Step::Done(r);
        }
        if let Some(step) = self.refresh.poll() {
            return step;
        }
        debug_assert!(false, "RefreshExchange polled after it finished");
        Step::Done(Err(RefreshError::Build(BuildError::ExchangeFinished)))
    }

    fn handle_response(&mut self, response: Response<Vec<u8>>, now: i64) {
        self.result = Some(self.refresh.downloaded(&self.client, response, now));
    }

    fn handle_transport_error(&mut self, error: TransportError) {
        self.refresh.download_failed(&error);
        self.result = Some(Err(RefreshError::Transport(error)));
    }

    fn handle_locked(&mut self, now: Instant) {
        if let Locked::GiveUp(why) = self.refresh.locked(&self.client, now, false) {
            // Only a download that cannot be signed gives up here: the key was checked in
            // `new`, and an explicit refresh has no rate limit.
            self.result = Some(Err(
                why.map_or(RefreshError::NoApiV3Key, RefreshError::Build)
            ));
        }
    }
}

/// Drive `ex` with a blocking `send`, taking `lock` when a refresh needs it.
pub(crate) fn drive_blocking<E: Exchange>(
    client: &Client,
    mut ex: E,
    mut send: impl FnMut(Request<Vec<u8>>) -> Result<Response<Vec<u8>>, TransportError>,
    lock: &std::sync::Mutex<()>,
) -> E::Output {
    let start = Instant::now();
    let mut guard = None;
    loop {
        match ex.poll() {
            Step::Send(request) => match send(request) {
                Ok(response) => ex.handle_response(response, client.now()),
                Err(e) => ex.handle_transport_error(e),
            },
            Step::Lock => {
                guard = Some(lock.lock().unwrap_or_else(|p| p.into_inner()));
                ex.handle_locked(Instant::now());
            }
            Step::Done(out) => {
                drop(guard);
                ex.record_duration(start.elapsed());
                return out;
            }
        }
    }
}

#[cfg(feature = "async")]
/// Drive `ex` with an async `send`, awaiting `lock()` (an async mutex's guard) when a refresh
/// needs it. Runtime-agnostic: the futures are the transport's.
pub(crate) async fn drive<E, S, SF, L, LF, G>(
    client: &Client,
    mut ex: E,
    mut send: S,
    mut lock: L,
) -> E::Output
where
    E: Exchange,
    S: FnMut(Request<Vec<u8>>) -> SF,
    SF: std::future::Future<Output = Result<Response<Vec<u8>>, TransportError>>,
    L: FnMut() -> LF,
    LF: std::future::Future<Output = G>,
{
    let start = Instant::now();
    let mut guard: Option<G> = None;
    loop {
        match ex.poll() {
            Step::Send(request) => match send(request).await {
                Ok(response) => ex.handle_response(response, client.now()),
                Err(e) => ex.handle_transport_error(e),
            },
            Step::Lock => {
                guard = Some(lock().await);
                ex.handle_locked(Instant::now());
            }
            Step::Done(out) => {
                drop(guard);
                ex.record_duration(start.elapsed());
                return out;
            }
        }
    }
}

/// The shortest interval a background refresh waits between two refreshes
/// (`AsyncClient::background_refresh`, `BlockingClient::spawn_background_refresh`).
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_millis(10);

/// Where the bytes of a streamed download go, and what the download ends with.
pub trait DownloadSink {
    /// What a finished download gives.
    type Output;
    /// The next chunk.
    fn chunk(&mut self, data: &[u8]) -> Result<(), CallError>;
    /// The end of the download.
    fn finish(self) -> Result<Self::Output, CallError>;
}

impl<W: std::io::Write> DownloadSink for BillWriter<W> {
    type Output = (W, u64);
    fn chunk(&mut self, data: &[u8]) -> Result<(), CallError> {
        Ok(self.write_chunk(data)?)
    }
    fn finish(self) -> Result<Self::Output, CallError> {
        Ok(BillWriter::finish(self)?)
    }
}

/// A sub-merchant bill part: collected (it must be whole to be decrypted), then opened.
pub struct PartSink {
    client: Client,
    part: EncryptedBillPart,
    gzip: bool,
    data: Vec<u8>,
}

impl std::fmt::Debug for PartSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartSink")
            .field("received", &self.data.len())
            .finish_non_exhaustive()
    }
}

impl DownloadSink for PartSink {
    type Output = Vec<u8>;
    fn chunk(&mut self, data: &[u8]) -> Result<(), CallError> {
        if self.data.len() + data.len() > crate::bill::MAX_PART_BYTES {
            return Err(BillError::TooLarge {
                limit: crate::bill::MAX_PART_BYTES as u64,
            }
            .into());
        }
        self.data.extend_from_slice(data);
        Ok(())
    }
    fn finish(self) -> Result<Vec<u8>, CallError> {
        Ok(self
            .client
            .open_bill_part(&self.part, &self.data, self.gzip)?)
    }
}

/// A streamed download (a bill, or a sub-merchant bill part): the signed request, then the
/// checks as the answer arrives — status, announced size, received size, digest. The transport
/// sends [`Download::request`], hands over the answer's head ([`Download::handle_head`]) and
/// every chunk of its body ([`Download::handle_chunk`]), then calls [`Download::finish`].
/// Deadlines are the transport's (it knows the clock of its runtime); sizes, digests and what
/// an error answer means are decided here.
pub struct Download<S> {
    request: Option<Request<Vec<u8>>>,
    span: DownloadSpan,
    sink: S,
    max: u64,
    max_error_body: u64,
    received: u64,
    /// A non-2xx answer's status, headers and body so far.
    error: Option<(http::StatusCode, HeaderMap, Vec<u8>)>,
}

impl<S> std::fmt::Debug for Download<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("max", &self.max)
            .field("received", &self.received)
            .field("error_status", &self.error.as_ref().map(|e| e.0))
            .finish_non_exhaustive()
    }
}

impl<S> Download<S> {
    fn new(
        request: Request<Vec<u8>>,
        span: tracing::Span,
        sink: S,
        config: &crate::transport::Config,
    ) -> Self {
        Download {
            request: Some(request),
            span: DownloadSpan {
                span,
                start: Instant::now(),
                outcome: None,
            },
            sink,
            max: config.max_download_bytes,
            max_error_body: config.max_body_bytes,
            received: 0,
            error: None,
        }
    }
}

impl<S: DownloadSink> Download<S> {
    /// The request to send (once; asking again is [`BuildError::ExchangeFinished`]).
    pub fn request(&mut self) -> Result<Request<Vec<u8>>, CallError> {
        self.request
            .take()
            .ok_or(CallError::Build(BuildError::ExchangeFinished))
    }

    fn too_large(&mut self, what: String) -> CallError {
        self.span
            .failed(TransportError::new(TransportErrorKind::BodyTooLarge, true, what).into())
    }

    /// The size limit of the answer's body: the download's, or the body limit for an error.
    fn limit(&self) -> u64 {
        match self.error {
            Some(_) => self.max_error_body,
            None => self.max,
        }
    }

    /// The answer's status and headers arrived. A size announced over the limit (the download
    /// limit, or the body limit for an error answer) is refused before any byte.
    pub fn handle_head(
        &mut self,
        status: http::StatusCode,
        headers: &HeaderMap,
    ) -> Result<(), CallError> {
        if !status.is_success() {
            self.error = Some((status, headers.clone(), Vec::new()));
        }
        record_answer(&self.span.span, status, headers);
        let max = self.limit();
        let announced = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match announced.filter(|n| *n > max) {
            Some(n) => Err(self.too_large(format!(
                "the answer announces {n} bytes, over the limit of {max}"
            ))),
            None => Ok(()),
        }
    }

    /// The next chunk of the body: into the sink for a 2xx answer, kept (within the body limit)
    /// for an error answer.
    pub fn handle_chunk(&mut self, chunk: &[u8]) -> Result<(), CallError> {
        self.received = self.received.saturating_add(chunk.len() as u64);
        let max = self.limit();
        if self.received > max {
            return Err(self.too_large(format!("the answer exceeds the limit of {max} bytes")));
        }
        match &mut self.error {
            Some((_, _, body)) => body.extend_from_slice(chunk),
            None => {
                if let Err(e) = self.sink.chunk(chunk) {
                    return Err(self.span.failed(e));
                }
            }
        }
        Ok(())
    }

    /// Read the whole body from `reader` in 64 KiB chunks (for blocking transports), mapping a
    /// read failure with `failed`, then [`Download::finish`].
    pub fn read_from(
        mut self,
        mut reader: impl std::io::Read,
        failed: impl Fn(std::io::Error) -> TransportError,
    ) -> Result<S::Output, CallError> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return self.finish(),
                Ok(n) => self.handle_chunk(&buf[..n])?,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(failed(e).into()),
            }
        }
    }

    /// The body ended: the sink's output, or the API error of a non-2xx answer.
    pub fn finish(self) -> Result<S::Output, CallError> {
        let mut span = self.span;
        let result = match self.error {
            Some((status, headers, body)) => {
                let error = crate::response::api_error(status, &headers, &body);
                Err(ResponseError::Api(Box::new(error)).into())
            }
            None => self.sink.finish(),
        };
        match result {
            Ok(out) => {
                span.span.record("verified_by", "unsigned download");
                span.outcome = Some("ok");
                Ok(out)
            }
            Err(e) => Err(span.failed(e)),
        }
    }
}

/// A download's `wechatpay.call` span. Its outcome and duration are recorded however the
/// download ends: finished, refused by a check, or dropped by a transport that failed.
struct DownloadSpan {
    span: tracing::Span,
    start: Instant,
    outcome: Option<&'static str>,
}

impl DownloadSpan {
    fn failed(&mut self, e: CallError) -> CallError {
        self.outcome = Some(outcome_of(&e));
        tracing::debug!(target: "wechatpay", parent: &self.span, error = %e, "download failed");
        e
    }
}

impl Drop for DownloadSpan {
    fn drop(&mut self) {
        let outcome = self.outcome.unwrap_or("transport_error");
        self.span.record("outcome", outcome);
        let elapsed = self.start.elapsed();
        self.span
            .record("duration_ms", elapsed.as_secs_f64() * 1000.0);
    }
}

impl<W: std::io::Write> Download<BillWriter<W>> {
    /// Start the download of a bill announced by `info`, checked into `writer` (gunzipped first
    /// when `gzip`); at most `config.max_download_bytes`, error bodies at most
    /// `config.max_body_bytes`.
    pub fn bill(
        client: &Client,
        info: &crate::bill::BillDownloadInfo,
        gzip: bool,
        writer: W,
        config: &crate::transport::Config,
    ) -> Result<Self, CallError> {
        let sink = BillWriter::new(info, gzip, writer)?.max_bytes(config.max_download_bytes);
        Self::signed(client, &info.download_url, sink, config)
    }
}

impl Download<PartSink> {
    /// Start the download of a sub-merchant bill part: collected, decrypted and checked at the
    /// end (see [`crate::bill::EncryptedBillPart`]).
    pub fn bill_part(
        client: &Client,
        part: &EncryptedBillPart,
        gzip: bool,
        config: &crate::transport::Config,
    ) -> Result<Self, CallError> {
        let sink = PartSink {
            client: client.clone(),
            part: part.clone(),
            gzip,
            data: Vec::new(),
        };
        Self::signed(client, &part.download_url, sink, config)
    }
}

impl<W: std::io::Write> Download<V2BillWriter<W>> {
    /// Start an APIv2 bill download (`/pay/downloadbill`, `/pay/downloadfundflow`): signed
    /// ([`Client::sign_v2`]), refused before sending when the path needs the client certificate
    /// and `config` has none, the bill streamed into `writer` (gunzipped when it comes as gzip)
    /// within `config.max_download_bytes`, an XML error document read as the APIv2 error it is.
    pub fn v2_bill<T>(
        client: &Client,
        call: V2Call<T>,
        writer: W,
        config: &crate::transport::Config,
    ) -> Result<Self, CallError> {
        let span = call_span(&http::Method::POST, call.path());
        let signed = span.in_scope(|| client.sign_v2(call))?;
        signed.admit(config)?;
        let sink = V2BillWriter::new(writer)
            .max_bytes(config.max_download_bytes)
            .max_error_bytes(config.max_body_bytes);
        Ok(Download::new(signed.request, span, sink, config))
    }
}

impl<S> Download<S> {
    fn signed(
        client: &Client,
        url: &str,
        sink: S,
        config: &crate::transport::Config,
    ) -> Result<Self, CallError> {
        let call = client.bill_download(url)?;
        let span = call_span(call.method(), call.template());
        let signed = span.in_scope(|| client.sign(call))?;
        Ok(Download::new(signed.request, span, sink, config))
    }
}

impl<W: std::io::Write> DownloadSink for V2BillWriter<W> {
    type Output = (W, u64);
    fn chunk(&mut self, data: &[u8]) -> Result<(), CallError> {
        self.write(data)
    }
    fn finish(self) -> Result<(W, u64), CallError> {
        self.end()
    }
}

/// How a [`V2Exchange`] reads the answer.
type ReadAnswer<T, O> = fn(&SignedV2<T>, &Response<Vec<u8>>) -> Result<O, V2Error>;

/// One APIv2 call as a transport drives it ([`Exchange`]): the signed request
/// out, the answer in, read by `read` (verified fields as `T`, or a bill). Made by
/// [`V2Exchange::new`].
pub struct V2Exchange<T, O> {
    signed: SignedV2<T>,
    request: Option<Request<Vec<u8>>>,
    read: ReadAnswer<T, O>,
    result: Option<Result<O, CallError>>,
    span: tracing::Span,
}

impl<T, O> std::fmt::Debug for V2Exchange<T, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V2Exchange")
            .field("path", &self.signed.path())
            .field("sent", &self.request.is_none())
            .finish_non_exhaustive()
    }
}

impl<T, O> Exchange for V2Exchange<T, O> {
    type Output = Result<O, CallError>;

    fn poll(&mut self) -> Step<Self::Output> {
        if let Some(r) = self.result.take() {
            return Step::Done(r);
        }
        match self.request.take() {
            Some(r) => Step::Send(r),
            None => Step::Done(Err(BuildError::ExchangeFinished.into())),
        }
    }

    fn handle_response(&mut self, response: Response<Vec<u8>>, _now: i64) {
        record_answer(&self.span, response.status(), response.headers());
        let result = self.span.in_scope(|| (self.read)(&self.signed, &response));
        self.finish(result.map_err(Into::into));
    }

    fn handle_transport_error(&mut self, error: crate::TransportError) {
        self.finish(Err(error.into()));
    }

    fn handle_locked(&mut self, _now: std::time::Instant) {}

    fn record_duration(&mut self, elapsed: std::time::Duration) {
        self.span
            .record("duration_ms", elapsed.as_secs_f64() * 1000.0);
    }
}

impl<T, O> V2Exchange<T, O> {
    fn finish(&mut self, result: Result<O, CallError>) {
        match &result {
            // `verified_by` stays empty: APIv2 answers are checked with the merchant's own
            // APIv2 key (or, on a few paths, are unsigned), not with a platform key.
            Ok(_) => {
                self.span.record("outcome", "ok");
            }
            Err(e) => record_failure(&self.span, e),
        }
        self.result = Some(result);
    }
}

impl<T: DeserializeOwned> V2Exchange<T, T> {
    /// An APIv2 call for a client to drive: signed ([`Client::sign_v2`]), refused before
    /// sending when its path needs the client certificate and `config` has none, the answer
    /// verified and read as `T` ([`SignedV2::verify`]).
    pub fn new(
        client: &Client,
        call: V2Call<T>,
        config: &crate::transport::Config,
    ) -> Result<Self, BuildError> {
        let span = call_span(&Method::POST, call.path());
        let mut signed = span.in_scope(|| client.sign_v2(call))?;
        signed.admit(config)?;
        let request = std::mem::take(&mut signed.request);
        Ok(V2Exchange {
            signed,
            request: Some(request),
            read: |s, r| s.verify(r),
            result: None,
            span,
        })
    }
}

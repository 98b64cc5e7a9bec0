//! # wechatpay-hyper
//!
//! An async WeChat Pay APIv3 client on tokio: [`wechatpay_core`] for signing and verification,
//! hyper 1 + hyper-util's pooled client + hyper-rustls (aws-lc-rs) for I/O. Cheap to clone; one
//! client serves any number of concurrent calls.
//!
//! ```no_run
//! use wechatpay_api::payscore::payafter_orders::{complete, CompleteRequest};
//! use wechatpay_core::{Merchant, PlatformKey, PlatformKeys, PrivateKey};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let merchant = Merchant::new("1900000001", "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B", PrivateKey::from_file("apiclient_key.pem")?)?;
//! let keys = PlatformKeys::new().with(PlatformKey::from_public_key_file("PUB_KEY_ID_0119000000012026112600000001", "pub_key.pem")?);
//! let core = wechatpay_core::Client::builder(merchant).platform_keys(keys).build()?;
//! let client = wechatpay_hyper::Client::new(core)?;
//! let body = CompleteRequest { appid: "wxd678efh567hg6787".into(), service_id: "500001".into(), total_amount: Some(0), ..Default::default() };
//! let answer = client.send(complete("ORDER123", &body)).await?;
//! println!("{} (Request-ID {:?})", answer.data.order_id, answer.request_id);
//! # Ok(()) }
//! ```
//!
//! Signing (one RSA-2048 signature, about half a millisecond) runs inline on the calling task:
//! see the crate README for the measurement behind that choice.

#![warn(missing_docs)]

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::de::DeserializeOwned;
use wechatpay_core::certificates::{self, Downloaded, RefreshDecision, RefreshGate};
use wechatpay_core::notify::{Callbacks, Notification, NotifyError};
use wechatpay_core::{
    ApiResponse, ApiV3Key, Call, CallError, RefreshError, ResponseError, SignedRequest,
    TransportError, TransportErrorKind, VerifyError,
};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// Transport settings. Defaults: connect 5 s, whole call 30 s, 8 MiB answer limit, idle
/// connections closed after 5 s (WeChat Pay closes them after about 8 s), 32 idle per host.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Timeout for the whole call, answer body included.
    pub timeout: Duration,
    /// Largest answer body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Idle connections are closed after this long.
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per host.
    pub pool_max_idle_per_host: usize,
    /// The APIv3 key: with it, an answer or callback naming an unknown `Wechatpay-Serial`
    /// triggers one certificate refresh (shared by concurrent calls) and a second verification.
    pub apiv3_key: Option<ApiV3Key>,
    /// At most one automatic refresh per this interval.
    pub min_refresh_interval: Duration,
    /// The whole of a streamed download (bills), from sending the request to the last byte.
    pub download_timeout: Duration,
    /// Largest streamed download accepted, in bytes (as received, and as written after gunzip).
    pub max_download_bytes: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_body_bytes: 8 << 20,
            pool_idle_timeout: Duration::from_secs(5),
            pool_max_idle_per_host: 32,
            apiv3_key: None,
            min_refresh_interval: Duration::from_secs(30),
            download_timeout: Duration::from_secs(30 * 60),
            max_download_bytes: wechatpay_core::bill::DEFAULT_MAX_BILL_BYTES,
        }
    }
}

impl Config {
    /// Set the connect timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Set the whole-call timeout.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Set the answer body limit.
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// Enable certificate refresh with the APIv3 key.
    pub fn apiv3_key(mut self, key: ApiV3Key) -> Self {
        self.apiv3_key = Some(key);
        self
    }

    /// Set the shortest interval between two automatic refreshes.
    pub fn min_refresh_interval(mut self, d: Duration) -> Self {
        self.min_refresh_interval = d;
        self
    }

    /// Set the deadline of a whole streamed download.
    pub fn download_timeout(mut self, d: Duration) -> Self {
        self.download_timeout = d;
        self
    }

    /// Set the largest streamed download.
    pub fn max_download_bytes(mut self, n: u64) -> Self {
        self.max_download_bytes = n;
        self
    }
}

/// Refresh state: one refresh at a time (single flight), at most one automatic one per interval.
struct Refresher {
    apiv3_key: ApiV3Key,
    gate: tokio::sync::Mutex<RefreshGate>,
}

struct Inner {
    core: wechatpay_core::Client,
    http: HyperClient<Connector, Full<Bytes>>,
    timeout: Duration,
    max_body: usize,
    download_timeout: Duration,
    max_download: u64,
    refresher: Option<Refresher>,
}

/// An async WeChat Pay client. Clone it freely (an `Arc` inside). It never retries on its own.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("core", &self.inner.core)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the default [`Config`]. Must be created inside a tokio runtime context only
    /// when calls are made; creating it needs none.
    pub fn new(core: wechatpay_core::Client) -> Result<Self, TransportError> {
        Self::with_config(core, Config::default())
    }

    /// A client with `config`.
    pub fn with_config(
        core: wechatpay_core::Client,
        config: Config,
    ) -> Result<Self, TransportError> {
        // Every duration a user gives is saturated (no `Instant + Duration` can overflow).
        let sat = wechatpay_core::error::saturate;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(sat(config.connect_timeout)));
        http.set_nodelay(true);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| TransportError::new(TransportErrorKind::Tls, false, e))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(sat(config.pool_idle_timeout))
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .build(https);
        Ok(Self {
            inner: Arc::new(Inner {
                core,
                http: client,
                timeout: sat(config.timeout),
                max_body: config.max_body_bytes,
                download_timeout: sat(config.download_timeout),
                max_download: config.max_download_bytes,
                refresher: config.apiv3_key.map(|apiv3_key| Refresher {
                    apiv3_key,
                    gate: tokio::sync::Mutex::new(RefreshGate::new(sat(
                        config.min_refresh_interval
                    ))),
                }),
            }),
        })
    }

    /// The core client (signing, verification, platform keys).
    pub fn core(&self) -> &wechatpay_core::Client {
        &self.inner.core
    }

    /// Sign `call`, send it, verify and decode the answer.
    pub async fn send<T>(&self, call: Call<T>) -> Result<ApiResponse<T>, CallError> {
        let signed = self.inner.core.sign(call)?;
        self.send_signed(signed).await
    }

    /// Send a request the core already signed, then verify and decode the answer.
    pub async fn send_signed<T>(
        &self,
        signed: SignedRequest<T>,
    ) -> Result<ApiResponse<T>, CallError> {
        let SignedRequest { request, expect } = signed;
        let generation = self.inner.core.shared_keys().generation();
        let response = self.execute(request).await?;
        match self.inner.core.verify(&expect, &response) {
            Err(ResponseError::Verify {
                source: VerifyError::UnknownSerial { .. },
                ..
            }) if self.refresh_for_unknown_serial(generation).await => {
                // Verify the same answer again; the request is never re-sent.
                Ok(self.inner.core.verify(&expect, &response)?)
            }
            other => Ok(other?),
        }
    }

    /// Verify and decrypt a callback with `callbacks` (which should share this client's keys:
    /// `client.core().callbacks(key)`); an unknown serial triggers one refresh and a retry.
    pub async fn verify_callback<T: DeserializeOwned>(
        &self,
        callbacks: &Callbacks,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification<T>, NotifyError> {
        let generation = self.inner.core.shared_keys().generation();
        match callbacks.verify(headers, body) {
            Err(e)
                if e.is_unknown_serial() && self.refresh_for_unknown_serial(generation).await =>
            {
                callbacks.verify(headers, body)
            }
            other => other,
        }
    }

    /// Download a bill announced by `info` (from `bill::tradebill` / `fundflowbill`), streaming
    /// it frame by frame through the digest check (and gunzip when `gzip`) into `writer`, never
    /// holding it in memory. Returns the writer and the bill's size.
    ///
    /// Limits (the same in every transport): the answer's head must come within
    /// [`Config::timeout`], the whole download must end within [`Config::download_timeout`], and
    /// it may not exceed [`Config::max_download_bytes`] (an announced `Content-Length` above it
    /// is refused before reading). On `Err(CallError::Bill(_))` the data written is bad and must
    /// be discarded.
    pub async fn download_bill<W: std::io::Write>(
        &self,
        info: &wechatpay_core::bill::BillDownloadInfo,
        gzip: bool,
        writer: W,
    ) -> Result<(W, u64), CallError> {
        let inner = &self.inner;
        let mut sink = wechatpay_core::bill::BillWriter::new(info, gzip, writer)?
            .max_bytes(inner.max_download);
        let core = &inner.core;
        let SignedRequest { request, .. } = core.sign(core.bill_download(&info.download_url)?)?;
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let deadline = tokio::time::Instant::now() + inner.download_timeout;
        let timed_out = |e: tokio::time::error::Elapsed| {
            TransportError::new(TransportErrorKind::Timeout, true, e)
        };
        let head = tokio::time::timeout(inner.timeout, inner.http.request(request));
        let response = tokio::time::timeout_at(deadline, head)
            .await
            .map_err(timed_out)?
            .map_err(timed_out)?
            .map_err(request_failed)?;
        let (parts, mut body) = response.into_parts();
        if !parts.status.is_success() {
            let bytes =
                tokio::time::timeout_at(deadline, Limited::new(body, inner.max_body).collect())
                    .await
                    .map_err(timed_out)?
                    .map_err(body_failed)?
                    .to_bytes();
            let error = wechatpay_core::response::api_error(parts.status, &parts.headers, &bytes);
            return Err(ResponseError::Api(Box::new(error)).into());
        }
        let too_large = || {
            TransportError::new(
                TransportErrorKind::BodyTooLarge,
                true,
                format!(
                    "the download exceeds the limit of {} bytes",
                    inner.max_download
                ),
            )
        };
        if content_length(&parts.headers).is_some_and(|n| n > inner.max_download) {
            return Err(too_large().into());
        }
        let mut received: u64 = 0;
        while let Some(frame) = tokio::time::timeout_at(deadline, body.frame())
            .await
            .map_err(timed_out)?
        {
            let frame = frame.map_err(|e| TransportError::new(classify_hyper(&e), true, e))?;
            if let Some(data) = frame.data_ref() {
                received = received.saturating_add(data.len() as u64);
                if received > inner.max_download {
                    return Err(too_large().into());
                }
                sink.write_chunk(data)?;
            }
        }
        Ok(sink.finish()?)
    }

    /// Download the platform certificates now and swap them in (needs [`Config::apiv3_key`]).
    pub async fn refresh_certificates(&self) -> Result<Downloaded, RefreshError> {
        let r = self
            .inner
            .refresher
            .as_ref()
            .ok_or(RefreshError::NoApiV3Key)?;
        let _one_at_a_time = r.gate.lock().await;
        self.download(&r.apiv3_key).await
    }

    /// Refresh the certificates every `interval` in a background task on the current tokio
    /// runtime. The task ends when the last clone of this client is dropped.
    ///
    /// `interval` is clamped to at least one second and at most a day.
    pub fn spawn_background_refresh(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let interval = wechatpay_core::error::saturate(interval).max(Duration::from_secs(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else {
                    break;
                };
                // A failed refresh keeps the current keys; the next tick tries again.
                let _ = Client { inner }.refresh_certificates().await;
            }
        })
    }

    async fn download(&self, key: &ApiV3Key) -> Result<Downloaded, RefreshError> {
        let signed = self.inner.core.sign(certificates::download())?;
        let response = self.execute(signed.request).await?;
        Ok(self
            .inner
            .core
            .apply_certificates(key, &response, self.inner.core.now())?)
    }

    /// After an unknown serial: refresh unless another task already did since `generation`
    /// (concurrent calls wait for the one refresh in flight), or an automatic refresh ran less
    /// than the interval ago. Returns whether the keys changed.
    async fn refresh_for_unknown_serial(&self, generation: u64) -> bool {
        let Some(r) = &self.inner.refresher else {
            return false;
        };
        let mut gate = r.gate.lock().await;
        let current = self.inner.core.shared_keys().generation();
        match gate.decide(generation, current, Instant::now()) {
            RefreshDecision::AlreadyRefreshed => true,
            RefreshDecision::TooSoon => false,
            RefreshDecision::Refresh => matches!(
                self.download(&r.apiv3_key).await,
                Ok(Downloaded::Certificates { .. })
            ),
        }
    }

    /// Send any `http::Request` and read the whole answer (bounded by the body limit and the
    /// timeout), without verification.
    pub async fn execute(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let exchange = async {
            let response = self
                .inner
                .http
                .request(request)
                .await
                .map_err(request_failed)?;
            let (parts, body) = response.into_parts();
            let bytes = Limited::new(body, self.inner.max_body)
                .collect()
                .await
                .map_err(body_failed)?
                .to_bytes();
            Ok(http::Response::from_parts(parts, bytes.to_vec()))
        };
        match tokio::time::timeout(self.inner.timeout, exchange).await {
            Ok(result) => result,
            Err(elapsed) => Err(TransportError::new(
                TransportErrorKind::Timeout,
                true,
                elapsed,
            )),
        }
    }
}

/// The announced `Content-Length`, when there is exactly one and it is a number.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The kind of a failure hyper reports once the request went out: a malformed answer is not a
/// closed connection.
fn classify_hyper(e: &(dyn std::error::Error + 'static)) -> TransportErrorKind {
    match wechatpay_core::error::find_cause::<hyper::Error>(e) {
        Some(h) if h.is_parse() || h.is_parse_status() => TransportErrorKind::InvalidResponse,
        Some(h) if h.is_timeout() => TransportErrorKind::Timeout,
        _ => TransportErrorKind::ConnectionClosed,
    }
}

/// A failed exchange: a connect failure (the TLS handshake included) certainly did not reach
/// the server; anything later may have.
fn request_failed(e: hyper_util::client::legacy::Error) -> TransportError {
    let connect = e.is_connect();
    let tls = wechatpay_core::error::find_cause::<rustls::Error>(&e).is_some();
    let kind = if tls {
        TransportErrorKind::Tls
    } else if connect {
        TransportErrorKind::Connect
    } else {
        classify_hyper(&e)
    };
    TransportError::new(kind, !connect, e)
}

/// Reading an answer's body failed: over the limit, or the connection broke.
fn body_failed(e: Box<dyn std::error::Error + Send + Sync>) -> TransportError {
    let kind = if e.is::<http_body_util::LengthLimitError>() {
        TransportErrorKind::BodyTooLarge
    } else {
        classify_hyper(&*e)
    };
    TransportError::new(kind, true, e)
}

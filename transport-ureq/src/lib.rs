//! # wechatpay-ureq
//!
//! A blocking WeChat Pay APIv3 client: [`wechatpay_core`] for signing and verification, ureq 3
//! (rustls with the aws-lc-rs provider) for I/O. The signed request is sent exactly as the core
//! built it, and the answer's raw bytes go back to the core to be verified.
//!
//! ```no_run
//! use wechatpay_api::payscore::payafter_orders::{complete, CompleteRequest};
//! use wechatpay_core::{Merchant, PlatformKey, PlatformKeys, PrivateKey};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let merchant = Merchant::new("1900000001", "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B", PrivateKey::from_file("apiclient_key.pem")?)?;
//! let keys = PlatformKeys::new().with(PlatformKey::from_public_key_file("PUB_KEY_ID_0119000000012026112600000001", "pub_key.pem")?);
//! let core = wechatpay_core::Client::builder(merchant).platform_keys(keys).build()?;
//! let client = wechatpay_ureq::Client::new(core);
//! let body = CompleteRequest { appid: "wxd678efh567hg6787".into(), service_id: "500001".into(), total_amount: Some(0), ..Default::default() };
//! let answer = client.send(complete("ORDER123", &body))?;
//! println!("{} (Request-ID {:?})", answer.data.order_id, answer.request_id);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderMap;
use serde::de::DeserializeOwned;
use wechatpay_core::certificates::{self, Downloaded, RefreshDecision, RefreshGate};
use wechatpay_core::notify::{Callbacks, Notification, NotifyError};
use wechatpay_core::{
    ApiResponse, ApiV3Key, Call, CallError, RefreshError, ResponseError, SignedRequest,
    TransportError, TransportErrorKind, VerifyError,
};

/// Transport settings. Defaults: connect 5 s, whole call 30 s, no redirects, 4xx/5xx handed to
/// the core, 8 MiB answer limit, proxy from the environment (`HTTPS_PROXY`, `ALL_PROXY`, …).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Connect timeout (DNS, TCP and TLS).
    pub connect_timeout: Duration,
    /// Timeout for the whole call, answer body included.
    pub timeout: Duration,
    /// Largest answer body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Use a proxy from the environment.
    pub proxy_from_env: bool,
    /// Idle connections kept per host.
    pub max_idle_per_host: usize,
    /// How long an idle connection is kept (below WeChat Pay's ~8 s idle close).
    pub max_idle_age: Duration,
    /// The APIv3 key: with it, an answer or callback naming an unknown `Wechatpay-Serial`
    /// triggers one certificate refresh and a second verification.
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
            proxy_from_env: true,
            max_idle_per_host: 16,
            max_idle_age: Duration::from_secs(5),
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
    pub fn max_body_bytes(mut self, n: u64) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// Use (or not) a proxy from the environment.
    pub fn proxy_from_env(mut self, yes: bool) -> Self {
        self.proxy_from_env = yes;
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
    gate: Mutex<RefreshGate>,
}

/// A blocking WeChat Pay client. `Send + Sync`: share one between threads (`Arc` or `&`); the
/// connection pool is shared. It never retries on its own.
#[derive(Clone)]
pub struct Client {
    core: wechatpay_core::Client,
    agent: ureq::Agent,
    max_body: u64,
    timeout: Duration,
    download_timeout: Duration,
    max_download: u64,
    refresher: Option<Arc<Refresher>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("core", &self.core)
            .field("max_body", &self.max_body)
            .field("refresh", &self.refresher.is_some())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the default [`Config`].
    pub fn new(core: wechatpay_core::Client) -> Self {
        Self::with_config(core, Config::default())
    }

    /// A client with `config`.
    pub fn with_config(core: wechatpay_core::Client, config: Config) -> Self {
        // Every duration a user gives is saturated (no `Instant + Duration` can overflow).
        let sat = wechatpay_core::error::saturate;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = ureq::tls::TlsConfig::builder()
            .unversioned_rustls_crypto_provider(provider)
            .build();
        let mut builder = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(sat(config.connect_timeout)))
            .timeout_global(Some(sat(config.timeout)))
            .max_idle_connections_per_host(config.max_idle_per_host)
            .max_idle_age(sat(config.max_idle_age));
        if !config.proxy_from_env {
            builder = builder.proxy(None);
        }
        let agent = ureq::Agent::with_parts(
            builder.build(),
            ureq::unversioned::transport::DefaultConnector::new(),
            CachingResolver::default(),
        );
        Self {
            core,
            agent,
            max_body: config.max_body_bytes,
            timeout: sat(config.timeout),
            download_timeout: sat(config.download_timeout),
            max_download: config.max_download_bytes,
            refresher: config.apiv3_key.map(|apiv3_key| {
                Arc::new(Refresher {
                    apiv3_key,
                    gate: Mutex::new(RefreshGate::new(sat(config.min_refresh_interval))),
                })
            }),
        }
    }

    /// The core client (signing, verification, platform keys).
    pub fn core(&self) -> &wechatpay_core::Client {
        &self.core
    }

    /// Sign `call`, send it, verify and decode the answer.
    pub fn send<T>(&self, call: Call<T>) -> Result<ApiResponse<T>, CallError> {
        let signed = self.core.sign(call)?;
        self.send_signed(signed)
    }

    /// Send a request the core already signed, then verify and decode the answer.
    pub fn send_signed<T>(&self, signed: SignedRequest<T>) -> Result<ApiResponse<T>, CallError> {
        let SignedRequest { request, expect } = signed;
        let generation = self.core.shared_keys().generation();
        let response = self.execute(request)?;
        match self.core.verify(&expect, &response) {
            Err(ResponseError::Verify {
                source: VerifyError::UnknownSerial { .. },
                ..
            }) if self.refresh_for_unknown_serial(generation) => {
                // Verify the same answer again; the request is never re-sent.
                Ok(self.core.verify(&expect, &response)?)
            }
            other => Ok(other?),
        }
    }

    /// Verify and decrypt a callback with `callbacks` (which should share this client's keys:
    /// `client.core().callbacks(key)`); an unknown serial triggers one refresh and a retry.
    pub fn verify_callback<T: DeserializeOwned>(
        &self,
        callbacks: &Callbacks,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification<T>, NotifyError> {
        let generation = self.core.shared_keys().generation();
        match callbacks.verify(headers, body) {
            Err(e) if e.is_unknown_serial() && self.refresh_for_unknown_serial(generation) => {
                callbacks.verify(headers, body)
            }
            other => other,
        }
    }

    /// Download a bill announced by `info` (from `bill::tradebill` / `fundflowbill`), streaming
    /// it through the digest check (and gunzip when `gzip`) into `writer`, never holding it in
    /// memory. Returns the writer and the bill's size.
    ///
    /// Limits (the same in every transport): the answer's head must come within
    /// [`Config::timeout`], the whole download must end within [`Config::download_timeout`], and
    /// it may not exceed [`Config::max_download_bytes`] (an announced `Content-Length` above it
    /// is refused before reading). On `Err(CallError::Bill(_))` the data written is bad and must
    /// be discarded.
    pub fn download_bill<W: std::io::Write>(
        &self,
        info: &wechatpay_core::bill::BillDownloadInfo,
        gzip: bool,
        writer: W,
    ) -> Result<(W, u64), CallError> {
        let mut sink =
            wechatpay_core::bill::BillWriter::new(info, gzip, writer)?.max_bytes(self.max_download);
        let signed = self
            .core
            .sign(self.core.bill_download(&info.download_url)?)?;
        let SignedRequest { request, .. } = signed;
        // A stream is not bound by the whole-call timeout: the head by `timeout`, the whole
        // transfer by `download_timeout`.
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(self.download_timeout))
            .timeout_recv_response(Some(self.timeout))
            .build();
        let response = self.agent.run(request).map_err(classify)?;
        let (parts, mut body) = response.into_parts();
        if !parts.status.is_success() {
            let bytes = body
                .with_config()
                .limit(self.max_body)
                .read_to_vec()
                .map_err(classify)?;
            let error = wechatpay_core::response::api_error(parts.status, &parts.headers, &bytes);
            return Err(ResponseError::Api(Box::new(error)).into());
        }
        let announced = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > self.max_download) {
            return Err(TransportError::new(
                TransportErrorKind::BodyTooLarge,
                true,
                format!(
                    "the download announces {} bytes, over the limit of {}",
                    announced.unwrap_or(0),
                    self.max_download
                ),
            )
            .into());
        }
        let mut reader = body.with_config().limit(self.max_download).reader();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match std::io::Read::read(&mut reader, &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(classify(ureq::Error::Io(e)).into()),
            };
            sink.write_chunk(&buf[..n])?;
        }
        Ok(sink.finish()?)
    }

    /// Download the platform certificates now and swap them in (needs [`Config::apiv3_key`]).
    pub fn refresh_certificates(&self) -> Result<Downloaded, RefreshError> {
        let r = self.refresher.as_ref().ok_or(RefreshError::NoApiV3Key)?;
        let _one_at_a_time = r.gate.lock().unwrap_or_else(|p| p.into_inner());
        self.download(&r.apiv3_key)
    }

    fn download(&self, key: &ApiV3Key) -> Result<Downloaded, RefreshError> {
        let signed = self.core.sign(certificates::download())?;
        let response = self.execute(signed.request)?;
        Ok(self
            .core
            .apply_certificates(key, &response, self.core.now())?)
    }

    /// After an unknown serial: refresh unless another thread already did since `generation`,
    /// or an automatic refresh ran less than the interval ago. Returns whether the keys changed.
    fn refresh_for_unknown_serial(&self, generation: u64) -> bool {
        let Some(r) = &self.refresher else {
            return false;
        };
        let mut gate = r.gate.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.core.shared_keys().generation();
        match gate.decide(generation, current, Instant::now()) {
            RefreshDecision::AlreadyRefreshed => true,
            RefreshDecision::TooSoon => false,
            RefreshDecision::Refresh => matches!(
                self.download(&r.apiv3_key),
                Ok(Downloaded::Certificates { .. })
            ),
        }
    }

    /// Send any `http::Request` and read the whole answer (bounded by the body limit), without
    /// verification. For tools that inspect raw answers.
    pub fn execute(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let response = self.agent.run(request).map_err(classify)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .with_config()
            .limit(self.max_body)
            .read_to_vec()
            .map_err(classify)?;
        Ok(http::Response::from_parts(parts, bytes))
    }
}

/// TLS errors that only a handshake can raise: the request was not sent.
fn handshake_only(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::PeerIncompatible(_)
            | rustls::Error::InappropriateHandshakeMessage { .. }
            | rustls::Error::HandshakeNotComplete
            | rustls::Error::UnsupportedNameType
    )
}

/// ureq resolves the host on every call — even when a pooled connection is reused — and, with a
/// timeout set, does it on a new thread. Measured with `loadgen`, that thread costs about 80 µs of
/// CPU per call. This resolver keeps each answer for [`DNS_TTL`].
#[derive(Debug, Default)]
struct CachingResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
    cache: Mutex<
        std::collections::HashMap<
            String,
            (Instant, ureq::unversioned::resolver::ResolvedSocketAddrs),
        >,
    >,
}

/// How long a resolved address is reused.
pub const DNS_TTL: Duration = Duration::from_secs(30);

impl ureq::unversioned::resolver::Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let key = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or(""),
            uri.authority().map(|a| a.as_str()).unwrap_or("")
        );
        if let Ok(cache) = self.cache.lock() {
            if let Some((at, addrs)) = cache.get(&key) {
                if at.elapsed() < DNS_TTL {
                    return Ok(addrs.clone());
                }
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, (Instant::now(), addrs.clone()));
        }
        Ok(addrs)
    }
}

/// Map a ureq error to a transport error, deciding whether the request may have reached the
/// server.
fn classify(e: ureq::Error) -> TransportError {
    let (kind, reached) = kind_of(&e);
    TransportError::new(kind, reached, e)
}

fn kind_of(e: &ureq::Error) -> (TransportErrorKind, bool) {
    use ureq::Error as E;
    use ureq::Timeout as T;
    // A body reader reports ureq's own errors (a timeout, the size limit) inside an io::Error.
    if let E::Io(io) = e {
        if let Some(inner) = io.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()) {
            return kind_of(inner);
        }
    }
    match e {
        E::HostNotFound | E::ConnectionFailed | E::ConnectProxyFailed(_) | E::InvalidProxyUrl => {
            (TransportErrorKind::Connect, false)
        }
        E::Timeout(T::Resolve | T::Connect) => (TransportErrorKind::Connect, false),
        E::Timeout(_) => (TransportErrorKind::Timeout, true),
        E::Tls(_) | E::Rustls(_) | E::Pem(_) | E::TlsRequired | E::RequireHttpsOnly(_) => {
            (TransportErrorKind::Tls, false)
        }
        E::BadUri(_) | E::Http(_) => (TransportErrorKind::InvalidRequest, false),
        E::BodyExceedsLimit(_) => (TransportErrorKind::BodyTooLarge, true),
        E::Io(io) if wechatpay_core::error::find_cause::<rustls::Error>(io).is_some() => {
            let handshake =
                wechatpay_core::error::find_cause::<rustls::Error>(io).is_some_and(handshake_only);
            // ureq does not say in which phase an I/O error happened: only errors that can come
            // from nothing but the handshake prove that the request was not sent.
            (TransportErrorKind::Tls, !handshake)
        }
        E::Io(io) => match io.kind() {
            io::ErrorKind::ConnectionRefused
            | io::ErrorKind::AddrNotAvailable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::HostUnreachable => (TransportErrorKind::Connect, false),
            io::ErrorKind::TimedOut => (TransportErrorKind::Timeout, true),
            _ => (TransportErrorKind::ConnectionClosed, true),
        },
        E::Protocol(_) => (TransportErrorKind::InvalidResponse, true),
        _ => (TransportErrorKind::Other, true),
    }
}

//! # wechatpay-hyper
//!
//! An async WeChat Pay APIv3 client on tokio: [`wechatpay_core`] decides every step of an
//! exchange; hyper 1 + hyper-util's pooled client + hyper-rustls (aws-lc-rs) move the bytes. Cheap
//! to clone; one client serves any number of concurrent calls.
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
//! println!("{:?} (Request-ID {:?})", answer.data.order_id, answer.request_id);
//! # Ok(()) }
//! ```
//!
//! Settings: [`Config`] (the same in every transport). A proxy — [`Proxy::Url`], or by default
//! the environment's `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, read once when the
//! client is made — is reached with hyper-util's tunnels: HTTP `CONNECT` for `http://` proxies,
//! SOCKS5 for `socks5://` (names resolved here) and `socks5h://` (resolved by the proxy); TLS to
//! WeChat Pay runs end to end inside the tunnel. Signing runs inline on the calling task (one
//! RSA-2048 signature, about 0.2 ms; measured in `benches/README.md`).

#![warn(missing_docs)]

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::de::DeserializeOwned;
pub use wechatpay_core;
use wechatpay_core::bill::{BillDownloadInfo, EncryptedBillPart};
use wechatpay_core::certificates::Downloaded;
use wechatpay_core::error::find_cause;
use wechatpay_core::exchange::{self, Download, DownloadSink};
use wechatpay_core::notify::{Callbacks, Notification, NotifyError};
use wechatpay_core::transport::KeyFormat;
pub use wechatpay_core::transport::{ClientIdentity, Config, Proxy};
use wechatpay_core::v2::V2Call;
use wechatpay_core::{
    ApiResponse, Call, CallError, RefreshError, TransportError, TransportErrorKind,
};

type Connector = hyper_rustls::HttpsConnector<Connect>;
/// A request's body: in memory, or a file streamed from disk ([`Client::upload_file`]).
type Body = Either<Full<Bytes>, Channel<Bytes, std::io::Error>>;

struct Inner {
    core: wechatpay_core::Client,
    http: HyperClient<Connector, Body>,
    config: Config,
    refresh_lock: tokio::sync::Mutex<()>,
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
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the default [`Config`]. Creating it needs no runtime; calls need tokio.
    pub fn new(core: wechatpay_core::Client) -> Result<Self, TransportError> {
        Self::with_config(core, Config::default())
    }

    /// A client with `config`.
    pub fn with_config(
        core: wechatpay_core::Client,
        config: Config,
    ) -> Result<Self, TransportError> {
        let config = config.saturated();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(config.connect_timeout));
        tcp.set_nodelay(true);
        let connect = Connect {
            tcp,
            proxy: proxy_matcher(&config.proxy)?,
        };
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(&config)?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connect);
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .build(https);
        Ok(Self {
            inner: Arc::new(Inner {
                core,
                http: client,
                config,
                refresh_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The core client (signing, verification, platform keys).
    pub fn core(&self) -> &wechatpay_core::Client {
        &self.inner.core
    }

    /// Sign `call`, send it, verify and decode the answer (refreshing the platform certificates
    /// once when the answer names an unknown serial and the core has an APIv3 key).
    pub async fn send<T>(&self, call: Call<T>) -> Result<ApiResponse<T>, CallError> {
        self.drive(self.inner.core.exchange(call)?).await
    }

    /// Drive an exchange started elsewhere (e.g. signed on another thread:
    /// `core.exchange(call)`), sending its requests through this client.
    pub async fn drive<E: exchange::Exchange>(&self, ex: E) -> E::Output {
        exchange::drive(
            &self.inner.core,
            ex,
            |r| self.execute(r),
            || self.inner.refresh_lock.lock(),
        )
        .await
    }

    /// Verify and decrypt a callback with `callbacks` (from `client.core().callbacks(key)`); an
    /// unknown serial triggers one refresh through this client and a second verification.
    pub async fn verify_callback<T: wechatpay_core::notify::Resource>(
        &self,
        callbacks: &Callbacks,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification<T>, NotifyError> {
        self.drive(callbacks.exchange::<T>(headers, body)).await
    }

    /// Sign an APIv2 call (`Client::sign_v2`), send it — presenting [`Config::client_identity`]
    /// on the paths that need it, refused before sending without one — then verify the answer
    /// and read it as `T`.
    pub async fn send_v2<T: DeserializeOwned>(&self, call: V2Call<T>) -> Result<T, CallError> {
        self.drive(self.inner.core.v2_exchange(call, &self.inner.config)?)
            .await
    }

    /// The APIv2 bill downloads (`/pay/downloadbill`, `/pay/downloadfundflow`): the bill
    /// streamed into `writer` (gunzipped when it comes as gzip) within
    /// [`Config::max_download_bytes`] and the download timeout, the XML error WeChat Pay may
    /// answer instead as `CallError::V2`. Returns the writer and the bill's size.
    pub async fn download_v2_bill<T, W: std::io::Write>(
        &self,
        call: V2Call<T>,
        writer: W,
    ) -> Result<(W, u64), CallError> {
        let d = self
            .inner
            .core
            .v2_bill_download(call, writer, &self.inner.config)?;
        self.download(d).await
    }

    /// Download the platform certificates now and swap them in (needs the core's APIv3 key).
    pub async fn refresh_certificates(&self) -> Result<Downloaded, RefreshError> {
        self.drive(self.inner.core.refresh_exchange()?).await
    }

    /// Refresh the certificates every `interval` (clamped to 10 ms ..= 1 day) in a background
    /// task on the current tokio runtime (`exchange::refresh_every`); a failed refresh keeps the
    /// current keys. The task ends when the last clone of this client is dropped.
    pub fn spawn_background_refresh(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let refresh = |inner| async move {
            let _ = Client { inner }.refresh_certificates().await;
        };
        let weak = Arc::downgrade(&self.inner);
        let task = exchange::refresh_every(interval, tokio::time::sleep, weak, refresh);
        tokio::spawn(task)
    }

    /// Download a bill announced by `info` (from `wechatpay_api::bill::tradebill::get`, …),
    /// streaming it frame by frame through the digest check (and gunzip when `gzip`) into
    /// `writer`, never holding it in memory. Returns the writer and the bill's size. On
    /// `Err(CallError::Bill(_))` the data written is bad and must be discarded.
    pub async fn download_bill<W: std::io::Write>(
        &self,
        info: &BillDownloadInfo,
        gzip: bool,
        writer: W,
    ) -> Result<(W, u64), CallError> {
        let Inner { core, config, .. } = &*self.inner;
        self.download(core.bill_download_exchange(info, gzip, writer, config)?)
            .await
    }

    /// Download a sub-merchant fund-flow bill part, decrypt it and check its digest.
    pub async fn download_bill_part(
        &self,
        part: &EncryptedBillPart,
        gzip: bool,
    ) -> Result<Vec<u8>, CallError> {
        let Inner { core, config, .. } = &*self.inner;
        self.download(core.bill_part_exchange(part, gzip, config)?)
            .await
    }

    async fn download<S: DownloadSink>(&self, mut d: Download<S>) -> Result<S::Output, CallError> {
        let cfg = &self.inner.config;
        let request = d
            .request()?
            .map(|b| Either::Left(Full::new(Bytes::from(b))));
        // The head within `timeout`, the whole transfer within `download_timeout`.
        let deadline = tokio::time::Instant::now() + cfg.download_timeout;
        let head_deadline = deadline.min(tokio::time::Instant::now() + cfg.timeout);
        let response = tokio::time::timeout_at(head_deadline, self.inner.http.request(request))
            .await
            .map_err(timed_out)?
            .map_err(request_failed)?;
        let (parts, mut body) = response.into_parts();
        d.handle_head(parts.status, &parts.headers)?;
        while let Some(frame) = tokio::time::timeout_at(deadline, body.frame())
            .await
            .map_err(timed_out)?
        {
            let frame = frame.map_err(|e| TransportError::new(classify_hyper(&e), true, e))?;
            if let Some(data) = frame.data_ref() {
                d.handle_chunk(data)?;
            }
        }
        d.finish()
    }

    /// Send any `http::Request` and read the whole answer (bounded by the body limit and the
    /// timeout), without verification.
    pub async fn execute(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        self.exchange(request.map(|b| Either::Left(Full::new(Bytes::from(b)))))
            .await
    }

    /// Upload the file at `file` to `path` (one of the upload endpoints, e.g.
    /// `/v3/merchant/media/upload`) streaming it from disk: it is read once for its SHA-256, once
    /// to check it does not contain the multipart boundary, and once as it is sent, each time on
    /// tokio's blocking threads and never held in memory. `progress`, called on the reading
    /// thread, is told how many bytes of the file were read for sending so far. The whole call
    /// runs within [`Config::timeout`].
    pub async fn upload_file<T: DeserializeOwned + 'static>(
        &self,
        path: &'static str,
        file: &std::path::Path,
        progress: impl FnMut(u64) + Send + 'static,
    ) -> Result<ApiResponse<T>, CallError> {
        let file = file.to_path_buf();
        let digest = move || wechatpay_core::media::upload_from_file::<T, _>(path, &file, progress);
        let (call, file) = tokio::task::spawn_blocking(digest)
            .await
            .map_err(joined)??;
        let mut file = Some(file);
        let ex = self.inner.core.exchange(call)?;
        // The signed request's body is empty: the file's is sent in its place, read only once
        // it is sent (once; a certificate refresh after it sends its own request).
        let send = |request: http::Request<Vec<u8>>| {
            let (mut parts, empty) = request.into_parts();
            let body = match file.take() {
                Some(file) => {
                    let length = file.content_length().into();
                    parts.headers.insert(http::header::CONTENT_LENGTH, length);
                    Either::Right(stream_file(file))
                }
                None => Either::Left(Full::new(Bytes::from(empty))),
            };
            self.exchange(http::Request::from_parts(parts, body))
        };
        let lock = || self.inner.refresh_lock.lock();
        exchange::drive(&self.inner.core, ex, send, lock).await
    }

    /// Send `request` and read the whole answer within the body limit and the timeout.
    async fn exchange(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let limit = usize::try_from(self.inner.config.max_body_bytes).unwrap_or(usize::MAX);
        let exchange = async {
            let response = self.inner.http.request(request).await;
            let (parts, body) = response.map_err(request_failed)?.into_parts();
            let bytes = Limited::new(body, limit).collect().await;
            let bytes = bytes.map_err(body_failed)?.to_bytes();
            Ok(http::Response::from_parts(parts, Vec::from(bytes)))
        };
        let within = tokio::time::timeout(self.inner.config.timeout, exchange);
        within.await.map_err(timed_out)?
    }
}

impl exchange::AsyncCallbacks for Client {
    fn verify_callback_json<'a>(
        &'a self,
        callbacks: &'a Callbacks,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> exchange::CallbackFuture<'a> {
        Box::pin(self.verify_callback(callbacks, headers, body))
    }
}

/// The proxy schemes hyper-util tunnels through: HTTP `CONNECT`, and SOCKS5 with names
/// resolved here (`socks5`) or by the proxy (`socks5h`).
const PROXY_SCHEMES: [&str; 3] = ["http", "socks5", "socks5h"];

/// The proxy rules of `proxy` (`None`: no proxy). A [`Proxy::Url`] must have one of the
/// [`PROXY_SCHEMES`].
fn proxy_matcher(proxy: &Proxy) -> Result<Option<Arc<Matcher>>, TransportError> {
    let matcher = match proxy {
        Proxy::FromEnv => Matcher::from_env(),
        Proxy::Url(url) => Matcher::builder().all(url.clone()).build(),
        _ => return Ok(None), // Proxy::None
    };
    let probe = http::Uri::from_static("https://api.mch.weixin.qq.com/");
    let usable = matcher
        .intercept(&probe)
        .is_some_and(|i| PROXY_SCHEMES.contains(&i.uri().scheme_str().unwrap_or_default()));
    if matches!(proxy, Proxy::Url(_)) && !usable {
        let msg = format!("{proxy:?} is not a proxy wechatpay-hyper can use ({PROXY_SCHEMES:?})");
        return Err(TransportError::new(
            TransportErrorKind::InvalidRequest,
            false,
            msg,
        ));
    }
    Ok(Some(Arc::new(matcher)))
}

/// TCP connections, straight to the host or through the tunnel its proxy rules name; TLS is
/// layered on top by hyper-rustls, so it runs end to end inside a tunnel.
#[derive(Clone)]
struct Connect {
    tcp: HttpConnector,
    proxy: Option<Arc<Matcher>>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Tcp = <HttpConnector as tower_service::Service<http::Uri>>::Response;

impl tower_service::Service<http::Uri> for Connect {
    type Response = Tcp;
    type Error = BoxError;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Tcp, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(())) // HttpConnector, Tunnel and SocksV5 are always ready
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let mut tcp = self.tcp.clone();
        let via = self.proxy.as_ref().and_then(|m| m.intercept(&dst));
        Box::pin(async move {
            let Some(via) = via else {
                return Ok(tcp.call(dst).await?);
            };
            let proxy = via.uri().clone();
            match via.uri().scheme_str() {
                Some("http") => {
                    let mut tunnel = Tunnel::new(proxy, tcp);
                    if let Some(auth) = via.basic_auth() {
                        tunnel = tunnel.with_auth(auth.clone());
                    }
                    Ok(tunnel.call(dst).await?)
                }
                Some(s @ ("socks5" | "socks5h")) => {
                    let mut socks = SocksV5::new(proxy, tcp).local_dns(s == "socks5");
                    if let Some((user, password)) = via.raw_auth() {
                        socks = socks.with_auth(user.into(), password.into());
                    }
                    Ok(socks.call(dst).await?)
                }
                _ => Err(format!("wechatpay-hyper cannot use the proxy {proxy}").into()),
            }
        })
    }
}

/// rustls with aws-lc-rs: Mozilla's roots or [`Config::root_certificates`], and the client
/// identity when configured.
fn tls_config(config: &Config) -> Result<rustls::ClientConfig, TransportError> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls = |e: rustls::Error| TransportError::new(TransportErrorKind::Tls, false, e);
    let mut roots = rustls::RootCertStore::empty();
    if config.root_certificates.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for der in &config.root_certificates {
        roots.add(CertificateDer::from(der.clone())).map_err(tls)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls)?
        .with_root_certificates(roots);
    let Some(id) = &config.client_identity else {
        return Ok(builder.with_no_client_auth());
    };
    let chain = id
        .certificate_chain_der()
        .iter()
        .map(|d| CertificateDer::from(d.clone()))
        .collect();
    let key = match id.private_key_der() {
        (der, KeyFormat::Pkcs1) => PrivateKeyDer::Pkcs1(der.to_vec().into()),
        (der, _) => PrivateKeyDer::Pkcs8(der.to_vec().into()),
    };
    builder.with_client_auth_cert(chain, key).map_err(tls)
}

/// The kind of a failure hyper reports once the request went out: a malformed answer is not a
/// closed connection.
fn classify_hyper(e: &(dyn std::error::Error + 'static)) -> TransportErrorKind {
    match find_cause::<hyper::Error>(e) {
        Some(h) if h.is_parse() || h.is_parse_status() => TransportErrorKind::InvalidResponse,
        Some(h) if h.is_timeout() => TransportErrorKind::Timeout,
        _ => TransportErrorKind::ConnectionClosed,
    }
}

/// A failed exchange: a connect failure (the TLS handshake included) certainly did not reach
/// the server; anything later may have.
fn request_failed(e: hyper_util::client::legacy::Error) -> TransportError {
    let connect = e.is_connect();
    let kind = match find_cause::<rustls::Error>(&e) {
        Some(_) => TransportErrorKind::Tls,
        None if connect => TransportErrorKind::Connect,
        None => classify_hyper(&e),
    };
    TransportError::new(kind, !connect, e)
}

/// The body of an upload streamed from disk: `file` read on a blocking thread, a chunk or two
/// ahead of the connection. A read error (the file shrank) ends the body with that error; a body
/// dropped unsent stops the reading.
fn stream_file<P: FnMut(u64) + Send + 'static>(
    mut file: wechatpay_core::media::FileBody<P>,
) -> Channel<Bytes, std::io::Error> {
    let (mut tx, body) = Channel::new(2);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let send = |chunk: Vec<u8>| runtime.block_on(tx.send_data(chunk.into())).is_ok();
        if let Err(e) = file.for_each_chunk(send) {
            tx.abort(e);
        }
    });
    body
}

/// A blocking task that did not finish: its panic goes on; a runtime shutting down cancelled it
/// before anything was sent.
fn joined(e: tokio::task::JoinError) -> TransportError {
    match e.try_into_panic() {
        Ok(panic) => std::panic::resume_unwind(panic),
        Err(e) => TransportError::new(TransportErrorKind::Other, false, e),
    }
}

/// The call or the download ran out of time.
fn timed_out(e: tokio::time::error::Elapsed) -> TransportError {
    TransportError::new(TransportErrorKind::Timeout, true, e)
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

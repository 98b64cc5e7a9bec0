#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;
use wechatpay_core::bill::{BillDownloadInfo, EncryptedBillPart};
use wechatpay_core::certificates::Downloaded;
use wechatpay_core::error::find_cause;
use wechatpay_core::exchange::{self, Download, DownloadSink};
use wechatpay_core::notify::{Callbacks, Notification, NotifyError};
pub use wechatpay_core::transport::{ClientIdentity, Config, Proxy};
use wechatpay_core::v2::V2Call;
use wechatpay_core::{
    ApiResponse, Call, CallError, RefreshError, TransportError, TransportErrorKind,
};
pub use {reqwest, wechatpay_core};

struct Inner {
    core: wechatpay_core::Client,
    http: reqwest::Client,
    config: Config,
    refresh_lock: tokio::sync::Mutex<()>,
}

/// The proxy schemes reqwest (with its `socks` feature) reaches.
const PROXY_SCHEMES: [&str; 6] = ["http", "https", "socks4", "socks4a", "socks5", "socks5h"];

/// An async WeChat Pay client on reqwest. Clone it freely. It never retries on its own.
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
    /// A client on a reqwest client built with rustls and the default [`Config`].
    pub fn new(core: wechatpay_core::Client) -> Result<Self, TransportError> {
        Self::with_config(core, Config::default())
    }

    /// A client on a reqwest client built with rustls and `config`.
    pub fn with_config(
        core: wechatpay_core::Client,
        config: Config,
    ) -> Result<Self, TransportError> {
        let config = config.saturated();
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Never a retry, whatever HTTP versions reqwest was built with (with HTTP/2 its
            // default resends on a refused stream), and no copy of each request kept for one.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .tcp_nodelay(true);
        b = match &config.proxy {
            Proxy::None => b.no_proxy(),
            Proxy::Url(url) => {
                // reqwest takes a proxy of any scheme, then ignores one it cannot use and sends
                // the calls direct: refuse those here (no scheme means http).
                let scheme = url.split_once("://").map_or("http", |(s, _)| s);
                if !PROXY_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()) {
                    let msg = format!(
                        "{:?} is not a proxy wechatpay-reqwest can use ({PROXY_SCHEMES:?})",
                        config.proxy
                    );
                    return Err(not_sent(msg));
                }
                b.proxy(reqwest::Proxy::all(url).map_err(not_sent)?)
            }
            _ => b,
        };
        let tls = |e| TransportError::new(TransportErrorKind::Tls, false, e);
        if !config.root_certificates.is_empty() {
            let roots = config
                .root_certificates
                .iter()
                .map(|d| reqwest::Certificate::from_der(d));
            b = b.tls_certs_only(roots.collect::<Result<Vec<_>, _>>().map_err(tls)?);
        }
        if let Some(id) = &config.client_identity {
            b = b.identity(reqwest_identity(id).map_err(tls)?);
        }
        let http = b.build().map_err(not_sent)?;
        Self::from_reqwest(core, http, config)
    }

    /// A client on your reqwest client (its pool, proxy and TLS); `config` gives the timeout
    /// and the size limits. The client must be built with `redirect::Policy::none()`: one that
    /// may follow a redirect (reqwest's default) is refused here, before anything is sent — it
    /// would carry the body, `Wechatpay-Serial` and a bill's download token (in `Referer`) to
    /// another host before any answer could be checked, and WeChat Pay never redirects. For the
    /// APIv2 paths that need the client certificate, give your builder [`reqwest_identity`] and
    /// set the same identity in `config` (which then only declares it present).
    pub fn from_reqwest(
        core: wechatpay_core::Client,
        http: reqwest::Client,
        config: Config,
    ) -> Result<Self, TransportError> {
        if may_follow_redirects(&http) {
            return Err(TransportError::new(
                TransportErrorKind::InvalidRequest,
                false,
                "the reqwest client may follow redirects, which would send the request, its \
                 Wechatpay-Serial and a bill's download token to another host: build it with \
                 `redirect(reqwest::redirect::Policy::none())` (WeChat Pay never redirects)",
            ));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                core,
                http,
                config: config.saturated(),
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

    /// Drive an exchange started elsewhere (`core.exchange(call)`), sending its requests through
    /// this client.
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

    /// Sign an APIv2 call (`Client::sign_v2`), send it — presenting the client identity on the
    /// paths that need it, refused before sending when [`Config::client_identity`] is unset —
    /// then verify the answer and read it as `T`.
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

    /// Download a bill announced by `info`, streaming it through the digest check (and gunzip
    /// when `gzip`) into `writer`. Returns the writer and the bill's size. On
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
        let request = to_reqwest(d.request()?)?;
        // The head within `timeout`, the whole transfer within `download_timeout`.
        let deadline = tokio::time::Instant::now() + cfg.download_timeout;
        let head_deadline = deadline.min(tokio::time::Instant::now() + cfg.timeout);
        let mut response = tokio::time::timeout_at(head_deadline, self.send_http(request))
            .await
            .map_err(timed_out)??;
        d.handle_head(response.status(), response.headers())?;
        while let Some(chunk) = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .map_err(timed_out)?
            .map_err(|e| classify(e, true))?
        {
            d.handle_chunk(&chunk)?;
        }
        d.finish()
    }

    /// Send any `http::Request` and read the whole answer (bounded by the body limit and the
    /// timeout), without verification. Refused, not sent, when reqwest would rewrite its target
    /// (see the crate docs).
    pub async fn execute(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        self.exchange(to_reqwest(request)?).await
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
        let send = |request| {
            let request = to_reqwest(request).map(|mut request| {
                if let Some(file) = file.take() {
                    let length = file.content_length().into();
                    request
                        .headers_mut()
                        .insert(http::header::CONTENT_LENGTH, length);
                    *request.body_mut() = Some(reqwest::Body::wrap(stream_file(file)));
                }
                request
            });
            async move { self.exchange(request?).await }
        };
        let lock = || self.inner.refresh_lock.lock();
        exchange::drive(&self.inner.core, ex, send, lock).await
    }

    /// Send `request` and read the whole answer within the body limit and the timeout.
    async fn exchange(
        &self,
        request: reqwest::Request,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let limit = self.inner.config.max_body_bytes;
        let exchange = async {
            let response = http::Response::from(self.send_http(request).await?);
            let (parts, body) = response.into_parts();
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            let bytes = Limited::new(body, limit).collect().await;
            let bytes = bytes.map_err(body_failed)?.to_bytes();
            Ok(http::Response::from_parts(parts, Vec::from(bytes)))
        };
        let timeout = self.inner.config.timeout;
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(timed_out)?
    }

    /// Send `request` and wait for the answer's head (the client follows no redirect).
    async fn send_http(
        &self,
        request: reqwest::Request,
    ) -> Result<reqwest::Response, TransportError> {
        self.inner
            .http
            .execute(request)
            .await
            .map_err(|e| classify(e, false))
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
    if e.is::<http_body_util::LengthLimitError>() {
        return TransportError::new(TransportErrorKind::BodyTooLarge, true, e);
    }
    match e.downcast::<reqwest::Error>() {
        Ok(e) => classify(*e, true),
        Err(e) => TransportError::new(TransportErrorKind::ConnectionClosed, true, e),
    }
}

/// `request` as reqwest takes it. reqwest keeps a request's address as a `url::Url`, whose parser
/// may write the target differently (the URL Standard percent-encodes `'` in a query): such a
/// request is refused, not sent, since WeChat Pay verifies the target it receives against the
/// signature. The refusal shows the path and the first character rewritten, and the query as
/// `?…`: a bill's query holds its download token.
fn to_reqwest(request: http::Request<Vec<u8>>) -> Result<reqwest::Request, TransportError> {
    let signed = request.uri().clone();
    let request = reqwest::Request::try_from(request).map_err(|e| classify(e, false))?;
    let url = request.url();
    match signed.path_and_query() {
        Some(pq) if pq.path() == url.path() && pq.query() == url.query() => Ok(request),
        pq => {
            let signed = pq.map_or("", |pq| pq.as_str());
            let sent = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            let at = signed
                .chars()
                .zip(sent.chars())
                .find(|(a, b)| a != b)
                .map_or("its end".to_owned(), |(c, _)| format!("`{c}`"));
            let shown = wechatpay_core::error::without_query(signed);
            let reason = format!(
                "reqwest's URL parser would rewrite the signed target `{shown}` at {at}, so the \
                 target sent would not be the one signed; percent-encode the character \
                 yourself, e.g. `'` as `%27`"
            );
            Err(not_sent(reason))
        }
    }
}

/// A request or a client refused before anything was sent (`InvalidRequest`).
fn not_sent(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> TransportError {
    TransportError::new(TransportErrorKind::InvalidRequest, false, e)
}

/// Whether `http` may follow a redirect. reqwest has no getter for a client's redirect policy;
/// its `Debug` shows the policy when it is not the default (follow up to 10). Only
/// `redirect::Policy::none()` counts as not following: anything else, or a `Debug` that no
/// longer says, is taken to follow — the safe side: such a client is refused.
fn may_follow_redirects(http: &reqwest::Client) -> bool {
    !format!("{http:?}").contains("redirect_policy: \"Policy(None)\"")
}

/// Map a reqwest error; `reading`: it happened while the body was read.
fn classify(mut e: reqwest::Error, reading: bool) -> TransportError {
    // reqwest's error shows the request URL; its query (a bill's download token) stays out.
    if let Some(url) = e.url_mut() {
        url.set_query(None);
    }
    let tls = find_cause::<rustls::Error>(&e).is_some();
    let parse = find_cause::<hyper::Error>(&e).is_some_and(|h| h.is_parse() || h.is_parse_status());
    let (kind, reached) = if e.is_builder() {
        (TransportErrorKind::InvalidRequest, false)
    } else if e.is_connect() && !reading {
        let kind = if tls {
            TransportErrorKind::Tls
        } else {
            TransportErrorKind::Connect
        };
        (kind, false)
    } else if e.is_timeout() {
        (TransportErrorKind::Timeout, true)
    } else if parse {
        (TransportErrorKind::InvalidResponse, true)
    } else {
        (TransportErrorKind::ConnectionClosed, true)
    };
    TransportError::new(kind, reached, e)
}

/// `identity` as reqwest takes it (`ClientBuilder::identity`), for a reqwest client of your own.
pub fn reqwest_identity(identity: &ClientIdentity) -> Result<reqwest::Identity, reqwest::Error> {
    reqwest::Identity::from_pem(identity.to_pem().as_bytes())
}

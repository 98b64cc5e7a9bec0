//! # wechatpay-hyper
//!
//! An async WeChat Pay client on tokio: [`Client`] is [`wechatpay_core::AsyncClient`] over this
//! crate's [`Connector`] — hyper 1, hyper-util's pooled client and hyper-rustls (with the
//! crypto provider of the core's backend: aws-lc-rs, or ring). Everything else —
//! signing, verification, the certificate refresh, timeouts, limits, downloads, uploads — is
//! the core's. Cheap to clone; one client serves any number of concurrent calls.
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
//! connector is made — is reached with hyper-util's tunnels: HTTP `CONNECT` for `http://`
//! proxies, SOCKS5 for `socks5://` (names resolved here) and `socks5h://` (resolved by the
//! proxy); TLS to WeChat Pay runs end to end inside the tunnel.

#![warn(missing_docs)]

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
pub use wechatpay_core;
use wechatpay_core::connector::{self, BoxError, FromConfig, RequestBody};
use wechatpay_core::error::find_cause;
pub use wechatpay_core::transport::{ClientIdentity, Config, Proxy};
use wechatpay_core::{TransportError, TransportErrorKind};

/// The async client on hyper: `Client::new(core)`, `Client::with_config(core, config)`.
pub type Client = wechatpay_core::AsyncClient<Connector>;

/// The connector: hyper-util's pooled client with TLS, proxy, pool and connect timeout from
/// [`Config`]. Calls need a tokio runtime; making it does not.
pub struct Connector {
    http: HyperClient<hyper_rustls::HttpsConnector<Dial>, RequestBody>,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").finish_non_exhaustive()
    }
}

impl FromConfig for Connector {
    fn from_config(config: &Config) -> Result<Self, TransportError> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(config.connect_timeout));
        tcp.set_nodelay(true);
        let dial = Dial {
            tcp,
            proxy: proxy_matcher(&config.proxy)?,
        };
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(wechatpay_core::transport::rustls_config(config)?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(dial);
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .build(https);
        Ok(Self { http })
    }
}

impl connector::Connector for Connector {
    type Body = hyper::body::Incoming;

    fn send(
        &self,
        request: http::Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<Self::Body>, TransportError>> + Send {
        let sent = self.http.request(request);
        async move { sent.await.map_err(request_failed) }
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }

    fn spawn_blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> impl Future<Output = Result<R, TransportError>> + Send {
        let task = tokio::task::spawn_blocking(f);
        async move { task.await.map_err(joined) }
    }

    fn body_error(&self, error: BoxError) -> TransportError {
        TransportError::new(classify_hyper(&*error), true, error)
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
struct Dial {
    tcp: HttpConnector,
    proxy: Option<Arc<Matcher>>,
}

type Tcp = <HttpConnector as tower_service::Service<http::Uri>>::Response;

impl tower_service::Service<http::Uri> for Dial {
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

/// A blocking task that did not finish: its panic goes on; a runtime shutting down cancelled it
/// before anything was sent.
fn joined(e: tokio::task::JoinError) -> TransportError {
    match e.try_into_panic() {
        Ok(panic) => std::panic::resume_unwind(panic),
        Err(e) => TransportError::new(TransportErrorKind::Other, false, e),
    }
}

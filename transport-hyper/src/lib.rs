#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
pub use wechatpay_core;
use wechatpay_core::connector::find_cause;
use wechatpay_core::connector::{self, BoxError, FromConfig, RequestBody};
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

impl connector::tokio::TokioConnector for Connector {
    type Body = hyper::body::Incoming;

    fn send(
        &self,
        request: http::Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<Self::Body>, TransportError>> + Send {
        let sent = self.http.request(request);
        async move { sent.await.map_err(request_failed) }
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

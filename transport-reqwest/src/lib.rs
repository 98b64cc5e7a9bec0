#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

use std::future::Future;

use wechatpay_core::connector::find_cause;
use wechatpay_core::connector::{self, BoxError, FromConfig, RequestBody};
pub use wechatpay_core::transport::{ClientIdentity, Config, Proxy};
use wechatpay_core::{TransportError, TransportErrorKind};
pub use {reqwest, wechatpay_core};

/// The async client on reqwest: `Client::new(core)`, `Client::with_config(core, config)`, or
/// `Client::with_connector(core, Connector::from_reqwest(http)?, config)` on your own.
pub type Client = wechatpay_core::AsyncClient<Connector>;

/// The proxy schemes reqwest (with its `socks` feature) reaches.
const PROXY_SCHEMES: [&str; 6] = ["http", "https", "socks4", "socks4a", "socks5", "socks5h"];

/// The connector: a `reqwest::Client` — yours ([`Connector::from_reqwest`]) or one built from
/// [`Config`] with rustls (the core's crypto provider), no redirects and no retries.
#[derive(Debug, Clone)]
pub struct Connector {
    http: reqwest::Client,
}

impl Connector {
    /// A connector on your reqwest client (its pool, proxy and TLS). It must be built with
    /// `redirect::Policy::none()`: one that may follow a redirect (reqwest's default) is refused
    /// here, before anything is sent — it would carry the body, `Wechatpay-Serial` and a bill's
    /// download token (in `Referer`) to another host before any answer could be checked, and
    /// WeChat Pay never redirects. For the APIv2 paths that need the client certificate, give
    /// your builder [`reqwest_identity`] and set the same identity in the client's [`Config`]
    /// (which then only declares it present).
    pub fn from_reqwest(http: reqwest::Client) -> Result<Self, TransportError> {
        if may_follow_redirects(&http) {
            return Err(not_sent(
                "the reqwest client may follow redirects, which would send the request, its \
                 Wechatpay-Serial and a bill's download token to another host: build it with \
                 `redirect(reqwest::redirect::Policy::none())` (WeChat Pay never redirects)",
            ));
        }
        Ok(Self { http })
    }
}

impl FromConfig for Connector {
    fn from_config(config: &Config) -> Result<Self, TransportError> {
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
        // rustls with the core's provider, roots and client identity.
        b = b.tls_backend_preconfigured(wechatpay_core::transport::rustls_config(config)?);
        Self::from_reqwest(b.build().map_err(not_sent)?)
    }
}

impl connector::tokio::TokioConnector for Connector {
    type Body = reqwest::Body;

    fn send(
        &self,
        request: http::Request<RequestBody>,
    ) -> impl Future<Output = Result<http::Response<Self::Body>, TransportError>> + Send {
        let sent = to_reqwest(request).map(|r| self.http.execute(r));
        async move {
            let response = sent?.await.map_err(|e| classify(e, false))?;
            Ok(http::Response::from(response))
        }
    }

    fn body_error(&self, error: BoxError) -> TransportError {
        match error.downcast::<reqwest::Error>() {
            Ok(e) => classify(*e, true),
            Err(e) => TransportError::new(TransportErrorKind::ConnectionClosed, true, e),
        }
    }
}

/// `request` as reqwest takes it. reqwest keeps a request's address as a `url::Url`, whose parser
/// may write the target differently (the URL Standard percent-encodes `'` in a query): such a
/// request is refused, not sent, since WeChat Pay verifies the target it receives against the
/// signature. The refusal shows the path and the first character rewritten, and the query as
/// `?…`: a bill's query holds its download token.
fn to_reqwest(request: http::Request<RequestBody>) -> Result<reqwest::Request, TransportError> {
    let signed = request.uri().clone();
    let request = request.map(|body| match body.into_bytes() {
        Ok(bytes) => reqwest::Body::from(bytes),
        Err(streamed) => reqwest::Body::wrap(streamed),
    });
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
            let shown = wechatpay_core::connector::without_query(signed);
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

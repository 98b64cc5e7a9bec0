//! # wechatpay-hyper
//!
//! An async WeChat Pay APIv3 client on tokio: [`wechatpay_core`] for signing and verification,
//! hyper 1 + hyper-util's pooled client + hyper-rustls (aws-lc-rs) for I/O. Cheap to clone; one
//! client serves any number of concurrent calls.
//!
//! ```no_run
//! use wechatpay_core::api::payscore::payafter_orders::{complete, CompleteRequest};
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

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use wechatpay_core::{
    ApiResponse, Call, CallError, SignedRequest, TransportError, TransportErrorKind,
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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_body_bytes: 8 << 20,
            pool_idle_timeout: Duration::from_secs(5),
            pool_max_idle_per_host: 32,
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
}

struct Inner {
    core: wechatpay_core::Client,
    http: HyperClient<Connector, Full<Bytes>>,
    timeout: Duration,
    max_body: usize,
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
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.connect_timeout));
        http.set_nodelay(true);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| TransportError {
                kind: TransportErrorKind::Tls,
                may_have_reached_server: false,
                source: Box::new(e),
            })?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .build(https);
        Ok(Self {
            inner: Arc::new(Inner {
                core,
                http: client,
                timeout: config.timeout,
                max_body: config.max_body_bytes,
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
        let response = self.execute(request).await?;
        Ok(self.inner.core.verify(&expect, &response)?)
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
            let response = self.inner.http.request(request).await.map_err(|e| {
                let connect = e.is_connect();
                TransportError {
                    kind: if connect {
                        TransportErrorKind::Connect
                    } else {
                        TransportErrorKind::ConnectionClosed
                    },
                    may_have_reached_server: !connect,
                    source: Box::new(e),
                }
            })?;
            let (parts, body) = response.into_parts();
            let bytes = Limited::new(body, self.inner.max_body)
                .collect()
                .await
                .map_err(|e| {
                    let too_large = e.is::<http_body_util::LengthLimitError>();
                    TransportError {
                        kind: if too_large {
                            TransportErrorKind::BodyTooLarge
                        } else {
                            TransportErrorKind::ConnectionClosed
                        },
                        may_have_reached_server: true,
                        source: e,
                    }
                })?
                .to_bytes();
            Ok(http::Response::from_parts(parts, bytes.to_vec()))
        };
        match tokio::time::timeout(self.inner.timeout, exchange).await {
            Ok(result) => result,
            Err(elapsed) => Err(TransportError {
                kind: TransportErrorKind::Timeout,
                may_have_reached_server: true,
                source: Box::new(elapsed),
            }),
        }
    }
}

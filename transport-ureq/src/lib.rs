//! # wechatpay-ureq
//!
//! A blocking WeChat Pay APIv3 client: [`wechatpay_core`] decides every step of an exchange
//! (signing, verification, the certificate refresh on an unknown serial, the checks of a
//! streamed download); ureq 3 (rustls with the aws-lc-rs provider) moves the bytes.
//!
//! ```no_run
//! use wechatpay_api::payscore::payafter_orders::{complete, CompleteRequest};
//! use wechatpay_core::{Merchant, PlatformKey, PlatformKeys, PrivateKey};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let merchant = Merchant::new("1900000001", "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B", PrivateKey::from_file("apiclient_key.pem")?)?;
//! let keys = PlatformKeys::new().with(PlatformKey::from_public_key_file("PUB_KEY_ID_0119000000012026112600000001", "pub_key.pem")?);
//! let core = wechatpay_core::Client::builder(merchant).platform_keys(keys).build()?;
//! let client = wechatpay_ureq::Client::new(core)?;
//! let body = CompleteRequest { appid: "wxd678efh567hg6787".into(), service_id: "500001".into(), total_amount: Some(0), ..Default::default() };
//! let answer = client.send(complete("ORDER123", &body))?;
//! println!("{:?} (Request-ID {:?})", answer.data.order_id, answer.request_id);
//! # Ok(()) }
//! ```
//!
//! Settings: [`Config`] (the same in every transport). Streamed downloads: the head within
//! `timeout`, the whole within `download_timeout`, at most `max_download_bytes`. ureq reads the
//! proxy from the environment or [`Config::proxy`]; it never follows redirects and never retries.

#![warn(missing_docs)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderMap;
use serde::de::DeserializeOwned;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
pub use wechatpay_core;
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

/// A blocking WeChat Pay client. `Send + Sync`: share one between threads (`&`, or a clone:
/// clones share the connection pool, the settings and the platform keys). It never retries on
/// its own.
#[derive(Clone)]
pub struct Client {
    core: wechatpay_core::Client,
    agent: ureq::Agent,
    config: Arc<Config>,
    refresh_lock: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("core", &self.core)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the default [`Config`].
    pub fn new(core: wechatpay_core::Client) -> Result<Self, TransportError> {
        Self::with_config(core, Config::default())
    }

    /// A client with `config`.
    pub fn with_config(
        core: wechatpay_core::Client,
        config: Config,
    ) -> Result<Self, TransportError> {
        let config = config.saturated();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut tls = ureq::tls::TlsConfig::builder().unversioned_rustls_crypto_provider(provider);
        let der = |d: &Vec<u8>| ureq::tls::Certificate::from_der(d).to_owned();
        if !config.root_certificates.is_empty() {
            let roots: Vec<_> = config.root_certificates.iter().map(der).collect();
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&roots));
        }
        if let Some(id) = &config.client_identity {
            let chain: Vec<_> = id.certificate_chain_der().iter().map(der).collect();
            // ureq takes a key from PEM only (its key-kind type is private).
            let key = ureq::tls::PrivateKey::from_pem(id.to_pem().as_bytes())
                .map_err(|e| TransportError::new(TransportErrorKind::Tls, false, e))?;
            tls = tls.client_cert(Some(ureq::tls::ClientCert::new_with_certs(&chain, key)));
        }
        let invalid = |e| TransportError::new(TransportErrorKind::InvalidRequest, false, e);
        let proxy = match &config.proxy {
            Proxy::FromEnv => ureq::Proxy::try_from_env(),
            Proxy::Url(url) => Some(ureq::Proxy::new(url).map_err(invalid)?),
            _ => None, // Proxy::None
        };
        let builder = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(proxy)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_global(Some(config.timeout))
            .max_idle_connections_per_host(config.pool_max_idle_per_host)
            .max_idle_age(config.pool_idle_timeout);
        let agent = ureq::Agent::with_parts(
            builder.build(),
            DefaultConnector::new(),
            CachingResolver::default(),
        );
        Ok(Self {
            core,
            agent,
            config: Arc::new(config),
            refresh_lock: Arc::new(Mutex::new(())),
        })
    }

    /// The core client (signing, verification, platform keys).
    pub fn core(&self) -> &wechatpay_core::Client {
        &self.core
    }

    /// Sign `call`, send it, verify and decode the answer (refreshing the platform certificates
    /// once when the answer names an unknown serial and the core has an APIv3 key).
    pub fn send<T>(&self, call: Call<T>) -> Result<ApiResponse<T>, CallError> {
        self.drive(self.core.exchange(call)?)
    }

    /// Drive an exchange started elsewhere (`core.exchange(call)`), sending its requests through
    /// this client.
    pub fn drive<E: exchange::Exchange>(&self, ex: E) -> E::Output {
        exchange::drive_blocking(&self.core, ex, |r| self.execute(r), &self.refresh_lock)
    }

    /// Verify and decrypt a callback with `callbacks` (from `client.core().callbacks(key)`); an
    /// unknown serial triggers one refresh through this client and a second verification.
    pub fn verify_callback<T: wechatpay_core::notify::Resource>(
        &self,
        callbacks: &Callbacks,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification<T>, NotifyError> {
        self.drive(callbacks.exchange::<T>(headers, body))
    }

    /// Sign an APIv2 call (`Client::sign_v2`), send it — presenting [`Config::client_identity`]
    /// on the paths that need it, refused before sending without one — then verify the answer
    /// and read it as `T`.
    ///
    /// ```no_run
    /// use wechatpay_api::v2::secapi::pay::refund;
    /// use wechatpay_core::v2::ApiV2Key;
    /// use wechatpay_core::{Merchant, PrivateKey};
    /// use wechatpay_ureq::{ClientIdentity, Config};
    ///
    /// # fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let merchant = Merchant::new("1900000001", "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B", PrivateKey::from_file("apiclient_key.pem")?)?;
    /// let core = wechatpay_core::Client::builder(merchant)
    ///     .apiv2_key(ApiV2Key::from_file("apiv2_key.txt")?)
    ///     .build()?;
    /// let identity = ClientIdentity::from_pkcs12_file("apiclient_cert.p12", "1900000001")?;
    /// let client = wechatpay_ureq::Client::with_config(core, Config::default().client_identity(identity))?;
    /// let answer = client.send_v2(refund::call(&refund::Request {
    ///     appid: "wxd678efh567hg6787".into(),
    ///     out_trade_no: "ORDER-1".into(),
    ///     out_refund_no: "R-1".into(),
    ///     total_fee: 100,
    ///     refund_fee: 30,
    ///     ..Default::default()
    /// })?)?;
    /// println!("refund {:?}", answer.refund_id);
    /// # Ok(()) }
    /// ```
    pub fn send_v2<T: DeserializeOwned>(&self, call: V2Call<T>) -> Result<T, CallError> {
        self.drive(self.core.v2_exchange(call, &self.config)?)
    }

    /// The APIv2 bill downloads (`/pay/downloadbill`, `/pay/downloadfundflow`): the bill
    /// streamed into `writer` (gunzipped when it comes as gzip) within
    /// [`Config::max_download_bytes`] and the download timeout, the XML error WeChat Pay may
    /// answer instead as `CallError::V2`. Returns the writer and the bill's size.
    pub fn download_v2_bill<T, W: std::io::Write>(
        &self,
        call: V2Call<T>,
        writer: W,
    ) -> Result<(W, u64), CallError> {
        self.download(self.core.v2_bill_download(call, writer, &self.config)?)
    }

    /// Download the platform certificates now and swap them in (needs the core's APIv3 key).
    pub fn refresh_certificates(&self) -> Result<Downloaded, RefreshError> {
        self.drive(self.core.refresh_exchange()?)
    }

    /// Download a bill announced by `info` (from `wechatpay_api::bill::tradebill::get`, …),
    /// streaming it through the digest check (and gunzip when `gzip`) into `writer`, never
    /// holding it in memory. Returns the writer and the bill's size. On `Err(CallError::Bill(_))`
    /// the data written is bad and must be discarded.
    pub fn download_bill<W: std::io::Write>(
        &self,
        info: &BillDownloadInfo,
        gzip: bool,
        writer: W,
    ) -> Result<(W, u64), CallError> {
        let Self { core, config, .. } = self;
        self.download(core.bill_download_exchange(info, gzip, writer, config)?)
    }

    /// Download a sub-merchant fund-flow bill part, decrypt it and check its digest.
    pub fn download_bill_part(
        &self,
        part: &EncryptedBillPart,
        gzip: bool,
    ) -> Result<Vec<u8>, CallError> {
        self.download(self.core.bill_part_exchange(part, gzip, &self.config)?)
    }

    fn download<S: DownloadSink>(&self, mut d: Download<S>) -> Result<S::Output, CallError> {
        // A stream is not bound by the whole-call timeout: the head by `timeout`, the whole
        // transfer by `download_timeout`.
        let request = self
            .agent
            .configure_request(d.request()?)
            .timeout_global(Some(self.config.download_timeout))
            .timeout_recv_response(Some(self.config.timeout))
            .build();
        let (parts, body) = self.agent.run(request).map_err(classify)?.into_parts();
        d.handle_head(parts.status, &parts.headers)?;
        d.read_from(body.into_reader(), |e| classify(ureq::Error::Io(e)))
    }

    /// Upload the file at `file` to `path` (one of the upload endpoints, e.g.
    /// `/v3/merchant/media/upload`) streaming it from disk: it is read once for its SHA-256, once
    /// to check it does not contain the multipart boundary, and once as it is sent — never held
    /// in memory. `progress` is told how many bytes of the file were sent so far.
    pub fn upload_file<T: DeserializeOwned>(
        &self,
        path: &'static str,
        file: &std::path::Path,
        progress: impl FnMut(u64),
    ) -> Result<ApiResponse<T>, CallError> {
        let (call, body) = wechatpay_core::media::upload_from_file::<T, _>(path, file, progress)?;
        let mut body = Some(body);
        let ex = self.core.exchange(call)?;
        // The signed request's body is empty: the file's is sent in its place (once; a
        // certificate refresh after it sends its own request).
        let send = |request: http::Request<Vec<u8>>| match body.take() {
            None => self.execute(request),
            Some(mut body) => {
                let (mut parts, _) = request.into_parts();
                let length = body.content_length().into();
                parts.headers.insert(http::header::CONTENT_LENGTH, length);
                let body = ureq::SendBody::from_reader(&mut body);
                self.read(self.agent.run(http::Request::from_parts(parts, body)))
            }
        };
        exchange::drive_blocking(&self.core, ex, send, &self.refresh_lock)
    }

    /// Send any `http::Request` and read the whole answer (bounded by the body limit), without
    /// verification. For tools that inspect raw answers.
    pub fn execute(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        self.read(self.agent.run(request))
    }

    /// Read a whole answer within the body limit.
    fn read(
        &self,
        response: Result<http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let (parts, mut body) = response.map_err(classify)?.into_parts();
        let limit = self.config.max_body_bytes;
        let bytes = body.with_config().limit(limit).read_to_vec();
        Ok(http::Response::from_parts(parts, bytes.map_err(classify)?))
    }
}

/// Callbacks verified with refresh through this client:
/// `callbacks.handle_blocking_with(&client, store, headers, body, handler)`.
impl exchange::BlockingCallbacks for Client {
    fn verify_callback_json(
        &self,
        callbacks: &Callbacks,
        headers: &HeaderMap,
        body: &[u8],
    ) -> exchange::CallbackResult {
        self.verify_callback(callbacks, headers, body)
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
/// timeout set, does it on a new thread (about 80 µs of CPU per call, measured with `loadgen`).
/// This resolver keeps each answer for [`DNS_TTL`].
#[derive(Debug, Default)]
struct CachingResolver {
    inner: DefaultResolver,
    cache: Mutex<HashMap<CacheKey, (Instant, ResolvedSocketAddrs)>>,
}

/// A resolver cache entry's key: the scheme (it picks the default port) and the authority.
type CacheKey = (Option<http::uri::Scheme>, Option<http::uri::Authority>);

/// How long a resolved address is reused.
pub const DNS_TTL: Duration = Duration::from_secs(30);

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let key = (uri.scheme().cloned(), uri.authority().cloned());
        let cached = self.cache.lock().ok().and_then(|c| c.get(&key).cloned());
        if let Some((_, addrs)) = cached.filter(|(at, _)| at.elapsed() < DNS_TTL) {
            return Ok(addrs);
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
    match e {
        // The I/O error is the cause: ureq's `Io` does not expose it as a `source`, and
        // `TransportError::new` looks through the cause chain (an upload's file that shrank).
        ureq::Error::Io(io) => TransportError::new(kind, reached, io),
        e => TransportError::new(kind, reached, e),
    }
}

fn kind_of(e: &ureq::Error) -> (TransportErrorKind, bool) {
    use ureq::{Error as E, Timeout as T};
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
        E::Io(io) => match find_cause::<rustls::Error>(io) {
            // ureq does not say in which phase an I/O error happened: only errors that can come
            // from nothing but the handshake prove that the request was not sent.
            Some(tls) => (TransportErrorKind::Tls, !handshake_only(tls)),
            None => TransportErrorKind::of_io(io),
        },
        E::Protocol(_) => (TransportErrorKind::InvalidResponse, true),
        _ => (TransportErrorKind::Other, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn resolve(r: &CachingResolver, uri: &str) -> Vec<SocketAddr> {
        let uri: http::Uri = uri.parse().expect("a test URI");
        let config = ureq::config::Config::default();
        let addrs = r.resolve(&uri, &config, NextTimeout::default());
        addrs.expect("a literal address resolves").to_vec()
    }

    /// Plant `addr` as the cached answer for `http://127.0.0.1:8080`, `age` old.
    fn plant(r: &CachingResolver, addr: &str, age: Duration) {
        let mut addrs = DefaultResolver::default().empty();
        addrs.push(addr.parse().expect("a test address"));
        let key = (
            Some(http::uri::Scheme::HTTP),
            Some("127.0.0.1:8080".parse().expect("ok")),
        );
        let at = Instant::now()
            .checked_sub(age)
            .expect("the clock is past the age");
        r.cache.lock().expect("unpoisoned").insert(key, (at, addrs));
    }

    #[test]
    fn answers_are_kept_per_scheme_and_authority_for_the_ttl() {
        let r = CachingResolver::default();
        assert_eq!(
            resolve(&r, "http://127.0.0.1/"),
            ["127.0.0.1:80".parse().unwrap()]
        );
        // The scheme is part of the key: it chooses the default port.
        assert_eq!(
            resolve(&r, "https://127.0.0.1/"),
            ["127.0.0.1:443".parse().unwrap()]
        );
        assert_eq!(r.cache.lock().unwrap().len(), 2);

        // A fresh entry is answered from the cache, without resolving again.
        plant(&r, "127.0.0.2:9", Duration::ZERO);
        assert_eq!(
            resolve(&r, "http://127.0.0.1:8080/v3/x"),
            ["127.0.0.2:9".parse().unwrap()]
        );
        // An entry older than the TTL is resolved again and replaced.
        plant(&r, "127.0.0.2:9", DNS_TTL + Duration::from_secs(1));
        let fresh: Vec<SocketAddr> = vec!["127.0.0.1:8080".parse().unwrap()];
        assert_eq!(resolve(&r, "http://127.0.0.1:8080/v3/x"), fresh);
        assert_eq!(resolve(&r, "http://127.0.0.1:8080/"), fresh);
    }
}

#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
pub use wechatpay_core;
use wechatpay_core::connector::find_cause;
use wechatpay_core::connector::{BlockingConnector, FromConfig, RequestBody, Timeouts};
pub use wechatpay_core::transport::{ClientIdentity, Config, Proxy};
use wechatpay_core::{TransportError, TransportErrorKind};

/// The blocking client on ureq: `Client::new(core)`, `Client::with_config(core, config)`.
pub type Client = wechatpay_core::BlockingClient<Connector>;

/// The connector: a ureq agent with TLS, proxy, pool and connect timeout from [`Config`].
#[derive(Debug)]
pub struct Connector {
    agent: ureq::Agent,
}

impl FromConfig for Connector {
    fn from_config(config: &Config) -> Result<Self, TransportError> {
        let mut tls = ureq::tls::TlsConfig::builder().unversioned_rustls_crypto_provider(Arc::new(
            wechatpay_core::transport::rustls_provider(),
        ));
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
            .max_idle_connections_per_host(config.pool_max_idle_per_host)
            .max_idle_age(config.pool_idle_timeout);
        let agent = ureq::Agent::with_parts(
            builder.build(),
            DefaultConnector::new(),
            CachingResolver::default(),
        );
        Ok(Self { agent })
    }
}

impl BlockingConnector for Connector {
    type Body = ureq::BodyReader<'static>;

    fn send(
        &self,
        request: http::Request<RequestBody>,
        timeouts: Timeouts,
    ) -> Result<http::Response<Self::Body>, TransportError> {
        let (parts, body) = request.into_parts();
        let response = match body.into_bytes() {
            Ok(bytes) => self.run(http::Request::from_parts(parts, &bytes[..]), timeouts),
            Err(streamed) => {
                let body = ureq::SendBody::from_owned_reader(streamed);
                self.run(http::Request::from_parts(parts, body), timeouts)
            }
        };
        Ok(response.map_err(classify)?.map(|body| body.into_reader()))
    }

    fn body_error(&self, error: std::io::Error) -> TransportError {
        classify(ureq::Error::Io(error))
    }
}

impl Connector {
    fn run(
        &self,
        request: http::Request<impl ureq::AsSendBody>,
        timeouts: Timeouts,
    ) -> Result<http::Response<ureq::Body>, ureq::Error> {
        let request = self
            .agent
            .configure_request(request)
            .timeout_global(Some(timeouts.total))
            .timeout_recv_response(Some(timeouts.head))
            .build();
        self.agent.run(request)
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

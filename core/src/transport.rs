//! What every transport shares: one [`Config`] (the same names and types in `wechatpay-ureq`,
//! `wechatpay-hyper` and `wechatpay-reqwest`) and the duration ceiling. The protocol of a call —
//! signing, verification, the refresh on an unknown serial, the checks of a streamed download —
//! is in the crate's `exchange` module; a transport only moves bytes.

use std::time::Duration;

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use zeroize::Zeroizing;

use crate::error::{saturate, KeyError};
use crate::pem::{self, Item};

/// Where a transport's connections go. Its `Debug` hides the password of a proxy URL.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Proxy {
    /// From the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, …), as the
    /// HTTP client reads it.
    #[default]
    FromEnv,
    /// No proxy.
    None,
    /// This proxy URL (`http://host:port`, `socks5://host:port`, `http://user:password@host:port`,
    /// user and password percent-encoded). Every transport reaches `http://` (through `CONNECT`
    /// for HTTPS), `socks5://` and `socks5h://` proxies; a URL a transport cannot use is refused
    /// when its client is made, never skipped.
    Url(String),
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Proxy::FromEnv => f.write_str("FromEnv"),
            Proxy::None => f.write_str("None"),
            Proxy::Url(url) => f.debug_tuple("Url").field(&redact_userinfo(url)).finish(),
        }
    }
}

/// `url` with its user information hidden, for `Debug` and error messages:
/// `scheme://user:password@host` → `scheme://<redacted>@host`. Everything before the last `@`
/// after the scheme is hidden (a password may hold `/` or `@` unescaped).
pub(crate) fn redact_userinfo(url: &str) -> std::borrow::Cow<'_, str> {
    match url.rfind('@') {
        None => url.into(),
        Some(at) => {
            let start = url.find("://").map_or(0, |i| i + 3).min(at);
            format!("{}<redacted>{}", &url[..start], &url[at..]).into()
        }
    }
}

/// Transport settings, the same for every transport. Defaults: connect 5 s, whole call 30 s,
/// 8 MiB answer limit, idle connections closed after 5 s (WeChat Pay closes them after about
/// 8 s), 32 idle per host, proxy from the environment; streamed downloads: 30 min, 4 GiB.
///
/// Every duration is saturated to one day when a transport
/// takes it. A transport that is handed a ready-made HTTP client (`wechatpay-reqwest`) takes the
/// connection settings (connect timeout, pool, proxy) from that client; it says which in its
/// docs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Connect timeout (DNS, TCP and TLS).
    pub connect_timeout: Duration,
    /// Timeout of a whole call, answer body included (for a streamed download: its head).
    pub timeout: Duration,
    /// Largest answer body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Idle connections are closed after this long.
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per host.
    pub pool_max_idle_per_host: usize,
    /// The proxy.
    pub proxy: Proxy,
    /// The whole of a streamed download (bills), from sending the request to the last byte.
    pub download_timeout: Duration,
    /// Largest streamed download accepted, in bytes (as received, and as written after gunzip).
    pub max_download_bytes: u64,
    /// The merchant's API client certificate, presented (mutual TLS) on every connection when
    /// set; the APIv2 paths that need it are refused before sending without it.
    pub client_identity: Option<ClientIdentity>,
    /// The CA certificates (DER) to trust instead of Mozilla's roots (`webpki-roots`, the
    /// default when empty): a test gateway's CA, or a TLS-inspecting proxy's.
    pub root_certificates: Vec<Vec<u8>>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_body_bytes: 8 << 20,
            pool_idle_timeout: Duration::from_secs(5),
            pool_max_idle_per_host: 32,
            proxy: Proxy::FromEnv,
            download_timeout: Duration::from_secs(30 * 60),
            max_download_bytes: crate::bill::DEFAULT_MAX_BILL_BYTES,
            client_identity: None,
            root_certificates: Vec::new(),
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

    /// Set how long idle connections are kept.
    pub fn pool_idle_timeout(mut self, d: Duration) -> Self {
        self.pool_idle_timeout = d;
        self
    }

    /// Set how many idle connections are kept per host.
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = n;
        self
    }

    /// Set the proxy.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = proxy;
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

    /// Present `identity` (the merchant's API client certificate) on every connection.
    pub fn client_identity(mut self, identity: ClientIdentity) -> Self {
        self.client_identity = Some(identity);
        self
    }

    /// Trust only these CA certificates (PEM, one or more) instead of Mozilla's roots.
    pub fn root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        self.root_certificates = certificates_pem(pem.as_ref(), "root certificate")?;
        Ok(self)
    }

    /// This configuration with every duration saturated to one day, as transports use it.
    pub fn saturated(&self) -> Config {
        Config {
            connect_timeout: saturate(self.connect_timeout),
            timeout: saturate(self.timeout),
            pool_idle_timeout: saturate(self.pool_idle_timeout),
            download_timeout: saturate(self.download_timeout),
            ..self.clone()
        }
    }
}

/// Every certificate of a PEM text (at least one).
fn certificates_pem(input: &[u8], what: &'static str) -> Result<Vec<Vec<u8>>, KeyError> {
    if input.trim_ascii().is_empty() {
        return Err(KeyError::Empty { what });
    }
    let certs = CertificateDer::pem_slice_iter(input)
        .map(|c| c.map(|c| c.as_ref().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| KeyError::MalformedPem {
            what,
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(KeyError::WrongKind {
            what,
            found: "no `BEGIN CERTIFICATE` section".into(),
            expected: "a certificate (`BEGIN CERTIFICATE`)",
        });
    }
    Ok(certs)
}

/// The form of a [`ClientIdentity`]'s private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyFormat {
    /// PKCS#8 `PrivateKeyInfo` (`BEGIN PRIVATE KEY`, WeChat Pay's `apiclient_key.pem`).
    Pkcs8,
    /// PKCS#1 `RSAPrivateKey` (`BEGIN RSA PRIVATE KEY`).
    Pkcs1,
}

/// The merchant's API client certificate and its key, for mutual TLS (the APIv2 paths under
/// `secapi/`, `mmpaymkttransfers/`, `mmpaysptrans/`, …): `apiclient_cert.pem` +
/// `apiclient_key.pem`, or `apiclient_cert.p12` (whose password is the mchid). The key is
/// checked to belong to the certificate. `Debug` shows neither; the key is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    chain: Vec<Vec<u8>>,
    key: Zeroizing<Vec<u8>>,
    format: KeyFormat,
}

const CLIENT_CERT: &str = "client certificate";
const CLIENT_KEY: &str = "client certificate key";

impl ClientIdentity {
    /// From PEM: the certificate (a chain may follow it) and the private key.
    pub fn from_pem(
        certificate: impl AsRef<[u8]>,
        key: impl AsRef<[u8]>,
    ) -> Result<Self, KeyError> {
        let chain = certificates_pem(certificate.as_ref(), CLIENT_CERT)?;
        let (key, format) = match pem::read_one(key.as_ref(), CLIENT_KEY)? {
            Item::Pkcs8(der) => (der, KeyFormat::Pkcs8),
            Item::Pkcs1(der) => (der, KeyFormat::Pkcs1),
            Item::Der(der) => {
                let format = if crate::PrivateKey::from_der(&der).is_ok()
                    && pkcs8::PrivateKeyInfo::try_from(&der[..]).is_ok()
                {
                    KeyFormat::Pkcs8
                } else {
                    KeyFormat::Pkcs1
                };
                (der, format)
            }
            _ => {
                return Err(KeyError::WrongKind {
                    what: CLIENT_KEY,
                    found: "no private key".into(),
                    expected: "a private key (`BEGIN PRIVATE KEY`)",
                })
            }
        };
        Self::new(chain, key, format)
    }

    /// From two PEM files: `apiclient_cert.pem` and `apiclient_key.pem`.
    pub fn from_files(
        certificate: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, KeyError> {
        let cert = pem::read_file(certificate.as_ref(), CLIENT_CERT)?;
        let key = pem::read_file(key.as_ref(), CLIENT_KEY)?;
        Self::from_pem(&cert[..], &key[..])
    }

    /// From a PKCS#12 bundle (`apiclient_cert.p12`; WeChat Pay sets its password to the mchid).
    #[cfg(feature = "pkcs12")]
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self, KeyError> {
        let bad = |reason: String| KeyError::InvalidEncoding {
            what: "PKCS#12 bundle",
            reason,
        };
        let store = p12_keystore::KeyStore::from_pkcs12(
            der,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| bad(format!("{e} (a wrong password? WeChat Pay's is the mchid)")))?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| bad("no private key inside".into()))?;
        let certs: Vec<Vec<u8>> = chain.certs().iter().map(|c| c.as_der().to_vec()).collect();
        if certs.is_empty() {
            return Err(bad("no certificate inside".into()));
        }
        Self::new(
            certs,
            Zeroizing::new(chain.key().as_der().to_vec()),
            KeyFormat::Pkcs8,
        )
    }

    /// From a PKCS#12 file.
    #[cfg(feature = "pkcs12")]
    pub fn from_pkcs12_file(path: impl AsRef<Path>, password: &str) -> Result<Self, KeyError> {
        let der = pem::read_file(path.as_ref(), "PKCS#12 bundle")?;
        Self::from_pkcs12(&der, password)
    }

    fn new(
        chain: Vec<Vec<u8>>,
        key: Zeroizing<Vec<u8>>,
        format: KeyFormat,
    ) -> Result<Self, KeyError> {
        let private = crate::PrivateKey::from_der(&key).map_err(|e| KeyError::InvalidEncoding {
            what: CLIENT_KEY,
            reason: e.to_string(),
        })?;
        let leaf = crate::PlatformKey::from_certificate_der(&chain[0])?;
        if leaf.public_key_der() != private.public_key_der() {
            return Err(KeyError::InvalidEncoding {
                what: CLIENT_KEY,
                reason: format!(
                    "the key does not belong to the certificate (serial {}): give apiclient_key.pem with its apiclient_cert.pem",
                    leaf.id()
                ),
            });
        }
        Ok(Self { chain, key, format })
    }

    /// The certificate chain (DER), the merchant's certificate first.
    pub fn certificate_chain_der(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The private key (DER) and its form.
    pub fn private_key_der(&self) -> (&[u8], KeyFormat) {
        (&self.key, self.format)
    }

    /// The certificate chain then the key as PEM, for HTTP clients that take one PEM identity.
    pub fn to_pem(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::new());
        for c in &self.chain {
            out.push_str(&pem_section("CERTIFICATE", c));
        }
        let label = match self.format {
            KeyFormat::Pkcs8 => "PRIVATE KEY",
            KeyFormat::Pkcs1 => "RSA PRIVATE KEY",
        };
        out.push_str(&Zeroizing::new(pem_section(label, &self.key)));
        out
    }

    /// The merchant certificate's serial (upper-case hex).
    pub fn serial(&self) -> String {
        crate::PlatformKey::from_certificate_der(&self.chain[0])
            .map(|k| k.id().to_string())
            .unwrap_or_default()
    }
}

fn pem_section(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(der));
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("serial", &self.serial())
            .field("chain", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The TLS settings of `config` for a connector on rustls: Mozilla's roots (webpki-roots) or
/// [`Config::root_certificates`], the client identity when configured, safe default protocol
/// versions, and the crypto provider of this crate's backend ([`rustls_provider`]).
#[cfg(feature = "rustls")]
pub fn rustls_config(config: &Config) -> Result<rustls::ClientConfig, crate::TransportError> {
    use crate::{TransportError, TransportErrorKind};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls = |e: rustls::Error| TransportError::new(TransportErrorKind::Tls, false, e);
    let mut roots = rustls::RootCertStore::empty();
    if config.root_certificates.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for der in &config.root_certificates {
        roots.add(CertificateDer::from(der.clone())).map_err(tls)?;
    }
    let provider = std::sync::Arc::new(rustls_provider());
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

/// The rustls crypto provider of this crate's backend: aws-lc-rs, or ring under the `ring`
/// feature alone.
#[cfg(feature = "rustls")]
pub fn rustls_provider() -> rustls::crypto::CryptoProvider {
    #[cfg(feature = "aws-lc-rs")]
    return rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(not(feature = "aws-lc-rs"))]
    return rustls::crypto::ring::default_provider();
}

//! The TLS listener's setup, and a test PKI made on the spot: a CA, a server certificate for
//! `127.0.0.1`/`localhost`, and the merchant's API client certificate (for the bundled merchant
//! key, as WeChat Pay issues `apiclient_cert.pem`). Nothing here is secret or lasting: each
//! [`TestPki::generate`] makes new keys (the merchant key excepted).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::TestKeys;

/// What a TLS listener serves with: its certificate chain and key, and the CA whose client
/// certificates it requires (PEM).
#[derive(Clone)]
pub struct TlsSetup {
    /// The server's certificate chain (PEM).
    pub server_cert_pem: String,
    /// The server's private key (PEM).
    pub server_key_pem: String,
    /// The CA that signs the client certificates accepted (PEM).
    pub client_ca_pem: String,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup").finish_non_exhaustive()
    }
}

/// A failure to make the test PKI or the listener's TLS configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// Generating a key or certificate failed.
    #[error("test PKI: {0}")]
    Generate(#[from] rcgen::Error),
    /// The PEM given is not what was expected.
    #[error("TLS setup: {0}")]
    Pem(String),
    /// rustls refused the configuration.
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A CA with a server certificate and a client certificate it signed.
#[derive(Clone)]
pub struct TestPki {
    /// The CA certificate (PEM): what clients trust (`Config::root_certificates_pem`) and what
    /// the listener requires client certificates to chain to.
    pub ca_pem: String,
    /// The server certificate (PEM), for `127.0.0.1` and `localhost`.
    pub server_cert_pem: String,
    /// The server key (PEM).
    pub server_key_pem: String,
    /// The merchant's API client certificate (PEM), for [`TestKeys::merchant_key_pem`].
    pub client_cert_pem: String,
    /// The client certificate's key (PEM): the bundled merchant key.
    pub client_key_pem: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

impl TestPki {
    /// Make a CA, a server certificate and the client certificate of merchant `keys.mchid`.
    pub fn generate(keys: &TestKeys) -> Result<TestPki, TlsError> {
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "wechatpay-sandbox test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate()?;
        let mut server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])?;
        server
            .distinguished_name
            .push(DnType::CommonName, "wechatpay-sandbox");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server.signed_by(&server_key, &issuer)?;

        let client_key = KeyPair::from_pem(keys.merchant_key_pem)?;
        let mut client = CertificateParams::new(Vec::<String>::new())?;
        client
            .distinguished_name
            .push(DnType::CommonName, keys.mchid);
        client
            .distinguished_name
            .push(DnType::OrganizationName, "微信商户系统");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client.signed_by(&client_key, &issuer)?;

        Ok(TestPki {
            ca_pem: ca_cert.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: keys.merchant_key_pem.to_string(),
        })
    }

    /// The listener's setup: this PKI's server certificate, requiring client certificates of
    /// this PKI's CA.
    pub fn tls_setup(&self) -> TlsSetup {
        TlsSetup {
            server_cert_pem: self.server_cert_pem.clone(),
            server_key_pem: self.server_key_pem.clone(),
            client_ca_pem: self.ca_pem.clone(),
        }
    }

    /// The client identity to give a transport (`Config::client_identity`).
    pub fn client_identity(&self) -> Result<wechatpay_core::transport::ClientIdentity, TlsError> {
        wechatpay_core::transport::ClientIdentity::from_pem(
            &self.client_cert_pem,
            &self.client_key_pem,
        )
        .map_err(|e| TlsError::Pem(e.to_string()))
    }
}

/// The rustls server configuration of `setup`: client certificates required.
pub(crate) fn server_config(setup: &TlsSetup) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let pem = |e: rustls::pki_types::pem::Error| TlsError::Pem(e.to_string());
    let chain = CertificateDer::pem_slice_iter(setup.server_cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem)?;
    let key = PrivateKeyDer::from_pem_slice(setup.server_key_pem.as_bytes()).map_err(pem)?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(setup.client_ca_pem.as_bytes()) {
        roots.add(ca.map_err(pem)?)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| TlsError::Pem(e.to_string()))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

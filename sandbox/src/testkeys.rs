//! The bundled TEST-ONLY credentials: a merchant and both kinds of platform key.

use wechatpay_core::{ApiV3Key, ClientBuilder, Merchant, PlatformKey, PlatformKeys, PrivateKey};

use crate::{Config, Mode, PlatformSigner};

/// The bundled test credentials. **Public keys and private keys here are for tests only.**
#[derive(Debug, Clone)]
pub struct TestKeys {
    /// Merchant id.
    pub mchid: &'static str,
    /// Merchant certificate serial.
    pub merchant_serial: &'static str,
    /// Merchant private key (PKCS#8 PEM).
    pub merchant_key_pem: &'static str,
    /// Merchant public key (SPKI PEM).
    pub merchant_public_pem: &'static str,
    /// Merchant certificate (`apiclient_cert.pem`) for the merchant key, serial
    /// `merchant_serial`.
    pub merchant_cert_pem: &'static str,
    /// Platform certificate serial.
    pub platform_serial: &'static str,
    /// Platform certificate (PEM).
    pub platform_cert_pem: &'static str,
    /// Platform certificate's private key.
    pub platform_key_pem: &'static str,
    /// Platform public key id.
    pub public_key_id: &'static str,
    /// Platform public key (SPKI PEM).
    pub public_key_pem: &'static str,
    /// Platform public key's private key.
    pub public_key_private_pem: &'static str,
    /// APIv3 key.
    pub apiv3_key: &'static str,
    /// The APIv2 key (32 characters).
    pub apiv2_key: &'static str,
    /// A second platform certificate, for rotation (valid from 2026-01-01).
    pub rotated_cert_pem: &'static str,
    /// Its private key.
    pub rotated_key_pem: &'static str,
    /// Its serial.
    pub rotated_serial: &'static str,
}

impl TestKeys {
    /// The bundled set.
    pub fn load() -> Self {
        Self {
            mchid: "1900000001",
            merchant_serial: "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
            merchant_key_pem: include_str!("../testkeys/merchant_key.pem"),
            merchant_public_pem: include_str!("../testkeys/merchant_public.pem"),
            merchant_cert_pem: include_str!("../testkeys/merchant_cert.pem"),
            platform_serial: "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A",
            platform_cert_pem: include_str!("../testkeys/platform_cert.pem"),
            platform_key_pem: include_str!("../testkeys/platform_key.pem"),
            public_key_id: "PUB_KEY_ID_0119000000012026112600000001",
            public_key_pem: include_str!("../testkeys/platform_pubkey_mode.pub.pem"),
            public_key_private_pem: include_str!("../testkeys/platform_pubkey_mode_key.pem"),
            apiv3_key: "SANDBOXtestONLYapiv3key000000001",
            apiv2_key: "SANDBOXtestONLYapiv2key000000001",
            rotated_cert_pem: include_str!("../testkeys/platform2_cert.pem"),
            rotated_key_pem: include_str!("../testkeys/platform2_key.pem"),
            rotated_serial: "99AABBCCDDEEFF00112233445566778899AABB",
        }
    }

    /// A gateway configuration with the platform keys of `mode`.
    pub fn config(&self, mode: Mode) -> Config {
        Config {
            mchid: self.mchid.into(),
            merchant_serial: self.merchant_serial.into(),
            merchant_public_key: PlatformKey::from_public_key_pem(
                "MERCHANT",
                self.merchant_public_pem,
            )
            .expect("bundled merchant public key"),
            certificates: if mode == Mode::PublicKey {
                Vec::new()
            } else {
                vec![self.certificate_signer()]
            },
            public_key: (mode != Mode::Certificate).then(|| PlatformSigner {
                id: self.public_key_id.into(),
                key: PrivateKey::from_pem(self.public_key_private_pem)
                    .expect("bundled public-key-mode key"),
                certificate: None,
            }),
            mode,
            apiv3_key: ApiV3Key::new(self.apiv3_key).expect("32-byte key"),
            window: 300,
            apiv2_key: wechatpay_core::v2::ApiV2Key::new(self.apiv2_key).expect("32-byte key"),
        }
    }

    /// The platform certificate signer.
    pub fn certificate_signer(&self) -> PlatformSigner {
        signer_for_certificate(self.platform_cert_pem, self.platform_key_pem)
    }

    /// The rotated (second) platform certificate signer.
    pub fn rotated_signer(&self) -> PlatformSigner {
        signer_for_certificate(self.rotated_cert_pem, self.rotated_key_pem)
    }

    /// The platform public key signer.
    pub fn public_key_signer(&self) -> PlatformSigner {
        PlatformSigner {
            id: self.public_key_id.into(),
            key: PrivateKey::from_pem(self.public_key_private_pem)
                .expect("bundled public-key-mode key"),
            certificate: None,
        }
    }

    /// The merchant as a client holds it.
    pub fn merchant(&self) -> Merchant {
        Merchant::new(
            self.mchid,
            self.merchant_serial,
            PrivateKey::from_pem(self.merchant_key_pem).expect("bundled merchant key"),
        )
        .expect("bundled merchant ids")
    }

    /// The platform keys a client trusts in `mode`.
    pub fn platform_keys(&self, mode: Mode) -> PlatformKeys {
        let cert =
            PlatformKey::from_certificate_pem(self.platform_cert_pem).expect("bundled certificate");
        let pk = PlatformKey::from_public_key_pem(self.public_key_id, self.public_key_pem)
            .expect("bundled public key");
        match mode {
            Mode::Certificate => PlatformKeys::new().with(cert),
            Mode::PublicKey => PlatformKeys::new().with(pk),
            Mode::Both => PlatformKeys::new().with(cert).with(pk),
        }
    }

    /// A core client builder for a sandbox at `base_url`, trusting the keys of `mode`.
    pub fn client_builder(&self, base_url: &str, mode: Mode) -> ClientBuilder {
        wechatpay_core::Client::builder(self.merchant())
            .platform_keys(self.platform_keys(mode))
            .apiv2_key(wechatpay_core::v2::ApiV2Key::new(self.apiv2_key).expect("32-byte key"))
            .base_url(base_url)
    }
}

fn signer_for_certificate(cert_pem: &str, key_pem: &str) -> PlatformSigner {
    let cert = PlatformKey::from_certificate_pem(cert_pem).expect("bundled certificate");
    let (nb, na) = match cert.kind() {
        wechatpay_core::PlatformKeyKind::Certificate {
            not_before,
            not_after,
        } => (not_before, not_after),
        _ => (0, 0),
    };
    PlatformSigner {
        id: cert.id().to_string(),
        key: PrivateKey::from_pem(key_pem).expect("bundled platform key"),
        certificate: Some((cert_pem.to_string(), nb, na)),
    }
}

//! `certificates::apply` on crafted answers: every way a certificate list can be wrong.

use serde_json::{json, Value};
use wechatpay_core::certificates::{apply, Downloaded};
use wechatpay_core::sign::response_message;
use wechatpay_core::ApiV3Key;
use wechatpay_core::CertificateError;
use wechatpay_core::{PlatformKey, PlatformKeys, PrivateKey};

const NOW: i64 = 1_800_000_000;
const SERIAL: &str = "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A";

fn fx(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn key() -> ApiV3Key {
    ApiV3Key::new("SANDBOXtestONLYapiv3key000000001").unwrap()
}

fn entry(serial: &str, pem: &str, algorithm: &str) -> Value {
    json!({"serial_no": serial, "effective_time": "2025-01-01T08:00:00+08:00", "expire_time": "2045-01-01T08:00:00+08:00",
        "encrypt_certificate": {"algorithm": algorithm, "nonce": "0123456789ab", "associated_data": "certificate",
            "ciphertext": key().encrypt("0123456789ab", "certificate", pem.as_bytes()).unwrap()}})
}

/// An answer signed by the platform certificate's key.
fn answer(body: &Value) -> http::Response<Vec<u8>> {
    let bytes = body.to_string().into_bytes();
    let sig = PrivateKey::from_pem(fx("platform_key.pem"))
        .unwrap()
        .sign_base64(&response_message(&NOW.to_string(), "n", &bytes))
        .unwrap();
    http::Response::builder()
        .header("Wechatpay-Timestamp", NOW.to_string())
        .header("Wechatpay-Nonce", "n")
        .header("Wechatpay-Serial", SERIAL)
        .header("Wechatpay-Signature", sig)
        .body(bytes)
        .unwrap()
}

fn run(body: Value) -> Result<Downloaded, CertificateError> {
    apply(&PlatformKeys::new(), &key(), &answer(&body), NOW, 300)
}

#[test]
fn first_download_keeps_only_valid_certificates() {
    let body = json!({"data": [entry("11223344", &fx("expired_cert.pem"), "AEAD_AES_256_GCM"), entry(SERIAL, &fx("platform_cert.pem"), "AEAD_AES_256_GCM")]});
    match run(body).unwrap() {
        Downloaded::Certificates {
            keys,
            pems,
            signed_by,
            trusted_on_first_use,
        } => {
            assert_eq!(keys.len(), 1, "the expired certificate is dropped");
            assert!(keys.get(SERIAL).is_some());
            assert_eq!(pems.len(), 1);
            assert_eq!(signed_by, SERIAL);
            assert!(trusted_on_first_use);
        }
        other => panic!("{other:?}"),
    }
    // Public keys already trusted are kept next to the new certificates.
    let current = PlatformKeys::new()
        .with(PlatformKey::from_certificate_pem(fx("platform_cert.pem")).unwrap())
        .with(
            PlatformKey::from_public_key_pem("PUB_KEY_ID_1", fx("platform_pubkey_mode.pub.pem"))
                .unwrap(),
        );
    let body = json!({"data": [entry(SERIAL, &fx("platform_cert.pem"), "AEAD_AES_256_GCM")]});
    match apply(&current, &key(), &answer(&body), NOW, 300).unwrap() {
        Downloaded::Certificates {
            keys,
            trusted_on_first_use,
            ..
        } => {
            assert!(keys.get("PUB_KEY_ID_1").is_some());
            assert!(!trusted_on_first_use);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_bad_answer_is_named() {
    let cert = fx("platform_cert.pem");
    assert!(matches!(
        run(json!({"data": [entry(SERIAL, &cert, "AEAD_SM4_GCM")]})),
        Err(CertificateError::Algorithm { algorithm, .. }) if algorithm == "AEAD_SM4_GCM"
    ));
    assert!(matches!(
        run(json!({"data": [entry("DEADBEEF", &cert, "AEAD_AES_256_GCM")]})),
        Err(CertificateError::SerialMismatch { listed, actual }) if listed == "DEADBEEF" && actual == SERIAL
    ));
    assert!(matches!(
        run(json!({"data": [entry("11223344", &fx("expired_cert.pem"), "AEAD_AES_256_GCM")]})),
        Err(CertificateError::NoValidCertificate)
    ));
    assert!(matches!(
        run(json!({"data": []})),
        Err(CertificateError::NoValidCertificate)
    ));
    assert!(matches!(
        run(json!({"certificates": []})),
        Err(CertificateError::Body(_))
    ));
    assert!(matches!(
        run(json!({"data": [entry(SERIAL, "not a certificate", "AEAD_AES_256_GCM")]})),
        Err(CertificateError::Certificate { .. })
    ));
    let mut tampered = entry(SERIAL, &cert, "AEAD_AES_256_GCM");
    tampered["encrypt_certificate"]["associated_data"] = json!("other");
    assert!(matches!(
        run(json!({"data": [tampered]})),
        Err(CertificateError::Decrypt { .. })
    ));
    // An error answer other than 404 RESOURCE_NOT_EXISTS is an API error; that one is not.
    let resp = |status: u16, body: &str| {
        http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap()
    };
    assert!(matches!(
        apply(
            &PlatformKeys::new(),
            &key(),
            &resp(500, r#"{"code":"SYSTEM_ERROR"}"#),
            NOW,
            300
        ),
        Err(CertificateError::Api(_))
    ));
    assert!(matches!(
        apply(
            &PlatformKeys::new(),
            &key(),
            &resp(404, r#"{"code":"RESOURCE_NOT_EXISTS","message":"x"}"#),
            NOW,
            300
        ),
        Ok(Downloaded::NoCertificates)
    ));
    assert!(matches!(
        apply(
            &PlatformKeys::new(),
            &key(),
            &resp(404, r#"{"code":"NOT_FOUND"}"#),
            NOW,
            300
        ),
        Err(CertificateError::Api(_))
    ));
    // No signature headers at all.
    assert!(matches!(
        apply(&PlatformKeys::new(), &key(), &resp(200, "{}"), NOW, 300),
        Err(CertificateError::Verify(
            wechatpay_core::VerifyError::MissingHeader { .. }
        ))
    ));
}

#[test]
fn a_remote_signer_cannot_decrypt_answers() {
    struct Remote;
    impl wechatpay_core::Signer for Remote {
        fn algorithm(&self) -> &str {
            "SHA256-RSA2048"
        }
        fn sign(&self, _: &[u8]) -> Result<String, wechatpay_core::SignError> {
            Ok("c2ln".into())
        }
    }
    let client = wechatpay_core::Client::builder(
        wechatpay_core::Merchant::new("1900000001", "3D2A", Remote).unwrap(),
    )
    .build()
    .unwrap();
    let field = wechatpay_core::Sensitive::encrypted("AAAA", "x");
    assert_eq!(
        client.decrypt(&field),
        Err(wechatpay_core::OaepError::Unsupported)
    );
}

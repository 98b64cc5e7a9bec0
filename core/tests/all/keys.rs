//! Loading credentials: every accepted form and every refused input, with its error kind.

use wechatpay_core::{KeyError, Merchant, PlatformKey, PlatformKeyKind, PlatformKeys, PrivateKey};

fn fx(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn path(name: &str) -> String {
    format!(
        "{}/../tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn private_key_forms_are_the_same_key() {
    let pkcs8 = PrivateKey::from_pem(fx("merchant_key.pem")).unwrap();
    let pkcs1 = PrivateKey::from_pem(fx("merchant_key_pkcs1.pem")).unwrap();
    let der8 = PrivateKey::from_der(&fx("merchant_key.der")).unwrap();
    let der1 = PrivateKey::from_der(&fx("merchant_key_pkcs1.der")).unwrap();
    let file = PrivateKey::from_file(path("merchant_key.pem")).unwrap();
    let der_file = PrivateKey::from_file(path("merchant_key_pkcs1.der")).unwrap();
    let sig = pkcs8.sign_base64(b"m").unwrap();
    for k in [&pkcs1, &der8, &der1, &file, &der_file] {
        assert_eq!(k.sign_base64(b"m").unwrap(), sig);
        assert_eq!(k.bits(), 2048);
    }
    // The public half matches the certificate's.
    let public =
        PlatformKey::from_public_key_pem("PUB_KEY_ID_X", fx("merchant_public.pem")).unwrap();
    public.verify(b"m", &sig).unwrap();
}

#[test]
fn private_key_errors() {
    let e = |name: &str| PrivateKey::from_pem(fx(name)).unwrap_err();
    assert!(
        matches!(e("merchant_cert.pem"), KeyError::WrongKind { found, .. } if found.contains("certificate"))
    );
    assert!(
        matches!(e("merchant_public.pem"), KeyError::WrongKind { found, .. } if found.contains("public key"))
    );
    assert!(
        matches!(e("bad_encrypted_pkcs8.pem"), KeyError::Encrypted { label, .. } if label.contains("ENCRYPTED PRIVATE KEY"))
    );
    assert!(
        matches!(e("bad_encrypted_pkcs1.pem"), KeyError::Encrypted { label, .. } if label.contains("Proc-Type"))
    );
    assert!(matches!(e("bad_ec_pkcs8.pem"), KeyError::NotRsa { found, .. } if found == "an EC"));
    assert!(matches!(e("bad_ec_sec1.pem"), KeyError::NotRsa { found, .. } if found == "an EC"));
    assert!(matches!(
        e("bad_rsa1024_key.pem"),
        KeyError::RsaTooSmall { .. }
    ));
    assert!(matches!(
        e("bad_two_keys.pem"),
        KeyError::Multiple { count: 2, .. }
    ));
    assert!(matches!(e("bad_empty.pem"), KeyError::Empty { .. }));
    assert!(matches!(e("bad_not_pem.txt"), KeyError::NotPem { .. }));
    assert!(matches!(
        e("bad_truncated.pem"),
        KeyError::MalformedPem { .. }
    ));
    assert!(matches!(e("bad_base64.pem"), KeyError::MalformedPem { .. }));
    assert!(matches!(
        PrivateKey::from_pem(b""),
        Err(KeyError::Empty { .. })
    ));
    assert!(matches!(
        PrivateKey::from_der(&[0x30, 0x03, 0x02, 0x01, 0x00]),
        Err(KeyError::InvalidEncoding { .. })
    ));
    assert!(matches!(
        PrivateKey::from_pem([0x30, 0x82, 0xff]),
        Err(KeyError::InvalidEncoding { .. })
    ));
    match PrivateKey::from_file(path("no_such_file.pem")) {
        Err(KeyError::Io { path, .. }) => assert!(path.ends_with("no_such_file.pem")),
        other => panic!("{other:?}"),
    }
    // Messages say what was found and what was expected.
    let msg = e("merchant_cert.pem").to_string();
    assert!(
        msg.contains("certificate") && msg.contains("BEGIN PRIVATE KEY"),
        "{msg}"
    );
}

#[test]
fn certificate_loading() {
    let k = PlatformKey::from_certificate_pem(fx("platform_cert.pem")).unwrap();
    assert_eq!(k.id(), "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A");
    assert_eq!(
        k.kind(),
        PlatformKeyKind::Certificate {
            not_before: 1_735_689_600,
            not_after: 2_366_841_600
        }
    );
    // DER pads this serial with a 0x00 byte (its top bit is set); the id is the number's hex, as
    // `openssl x509 -serial` prints it.
    let k2 = PlatformKey::from_certificate_file(path("platform2_cert.pem")).unwrap();
    assert_eq!(k2.id(), "99AABBCCDDEEFF00112233445566778899AABB");
    let e = |name: &str| PlatformKey::from_certificate_pem(fx(name)).unwrap_err();
    assert!(
        matches!(e("platform_key.pem"), KeyError::WrongKind { found, .. } if found.contains("private key"))
    );
    assert!(
        matches!(e("platform_public.pem"), KeyError::WrongKind { found, .. } if found.contains("public key"))
    );
    assert!(matches!(e("bad_ec_cert.pem"), KeyError::NotRsa { found, .. } if found == "an EC"));
    assert!(matches!(
        e("bad_rsa1024_cert.pem"),
        KeyError::RsaTooSmall { .. }
    ));
    assert!(matches!(e("bad_empty.pem"), KeyError::Empty { .. }));
    assert!(matches!(
        PlatformKey::from_certificate_der(&[0x30, 0x00]),
        Err(KeyError::InvalidEncoding { .. })
    ));
}

#[test]
fn public_key_loading() {
    let id = "PUB_KEY_ID_0119000000012026112600000001";
    let k = PlatformKey::from_public_key_pem(id, fx("platform_pubkey_mode.pub.pem")).unwrap();
    assert_eq!(k.id(), id);
    assert_eq!(k.kind(), PlatformKeyKind::PublicKey);
    let e = |name: &str| PlatformKey::from_public_key_pem(id, fx(name)).unwrap_err();
    assert!(
        matches!(e("platform_cert.pem"), KeyError::WrongKind { found, .. } if found.contains("certificate"))
    );
    assert!(
        matches!(e("platform_pubkey_mode_key.pem"), KeyError::WrongKind { found, .. } if found.contains("private key"))
    );
    assert!(matches!(e("bad_ec_public.pem"), KeyError::NotRsa { found, .. } if found == "an EC"));
    assert!(matches!(
        e("bad_rsa1024_public.pem"),
        KeyError::RsaTooSmall { .. }
    ));
    assert!(matches!(
        PlatformKey::from_public_key_pem("bad id\"", fx("platform_pubkey_mode.pub.pem")),
        Err(KeyError::InvalidId { .. })
    ));
}

#[test]
fn merchant_ids_are_checked() {
    let key = || PrivateKey::from_pem(fx("merchant_key.pem")).unwrap();
    assert!(matches!(
        Merchant::new("19000a", "AB", key()),
        Err(KeyError::InvalidId { what: "mchid", .. })
    ));
    assert!(matches!(
        Merchant::new("", "AB", key()),
        Err(KeyError::InvalidId { .. })
    ));
    assert!(matches!(
        Merchant::new("1900000001", "XYZ", key()),
        Err(KeyError::InvalidId { .. })
    ));
    assert!(matches!(
        Merchant::new("1900000001", "ab\"", key()),
        Err(KeyError::InvalidId { .. })
    ));
    assert_eq!(
        Merchant::new("1900000001", "3d2a", key()).unwrap().serial(),
        "3D2A"
    );
}

#[test]
fn debug_prints_no_key_material() {
    let pem = fx("merchant_key.pem");
    let key = PrivateKey::from_pem(&pem).unwrap();
    let merchant = Merchant::new("1900000001", "3D2A", key).unwrap();
    let dbg = format!("{merchant:?} {:?}", PrivateKey::from_pem(&pem).unwrap());
    assert!(dbg.contains("1900000001"));
    let body: String = String::from_utf8(pem)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .chars()
        .take(16)
        .collect();
    assert!(!dbg.contains(&body), "{dbg}");
    assert!(!dbg.to_lowercase().contains("begin"), "{dbg}");
}

/// A proxy URL's password stays out of `Debug` — of the proxy, and of a transport's `Config`
/// (which a transport client's `Debug` prints).
#[test]
fn debug_prints_no_proxy_password() {
    use wechatpay_core::transport::{Config, Proxy};
    for (url, shown) in [
        (
            "http://user:s3cret@127.0.0.1:3128",
            "http://<redacted>@127.0.0.1:3128",
        ),
        (
            "socks5://s3cret@proxy:1080",
            "socks5://<redacted>@proxy:1080",
        ),
        ("user:s3cret@proxy:3128", "<redacted>@proxy:3128"),
        (
            "http://a@b:s3cret@proxy:3128",
            "http://<redacted>@proxy:3128",
        ),
    ] {
        let config = Config::default().proxy(Proxy::Url(url.into()));
        let dbg = format!("{config:?}");
        assert!(!dbg.contains("s3cret"), "{dbg}");
        assert!(dbg.contains(&format!("Url({shown:?})")), "{dbg}");
    }
    let plain = format!("{:?}", Proxy::Url("http://127.0.0.1:3128".into()));
    assert_eq!(plain, r#"Url("http://127.0.0.1:3128")"#);
    assert_eq!(format!("{:?}", Proxy::FromEnv), "FromEnv");
}

#[test]
fn serial_lookup_rules() {
    let cert = PlatformKey::from_certificate_pem(fx("platform2_cert.pem")).unwrap();
    let pk = PlatformKey::from_public_key_pem(
        "PUB_KEY_ID_0119000000012026112600000001",
        fx("platform_pubkey_mode.pub.pem"),
    )
    .unwrap();
    let keys = PlatformKeys::new().with(cert).with(pk);
    // Certificate serials: case-insensitive, leading zeros ignored.
    for s in [
        "0099AABBCCDDEEFF00112233445566778899AABB",
        "0099aabbccddeeff00112233445566778899aabb",
        "99AABBCCDDEEFF00112233445566778899AABB",
        "0000099AABBCCDDEEFF00112233445566778899AABB",
    ] {
        assert!(keys.get(s).is_some(), "{s}");
    }
    assert!(keys.get("99AABBCCDDEEFF00112233445566778899AABC").is_none());
    assert!(keys.get("").is_none());
    // Key ids: exact.
    assert!(keys
        .get("PUB_KEY_ID_0119000000012026112600000001")
        .is_some());
    assert!(keys
        .get("pub_key_id_0119000000012026112600000001")
        .is_none());
    assert!(keys.get("PUB_KEY_ID_119000000012026112600000001").is_none());
    // The public key id is preferred for Wechatpay-Serial.
    assert_eq!(
        keys.preferred_serial(),
        Some("PUB_KEY_ID_0119000000012026112600000001")
    );
    // Without it, the newest certificate.
    let certs = PlatformKeys::new()
        .with(PlatformKey::from_certificate_pem(fx("platform2_cert.pem")).unwrap())
        .with(PlatformKey::from_certificate_pem(fx("platform_cert.pem")).unwrap());
    assert_eq!(
        certs.preferred_serial(),
        Some("99AABBCCDDEEFF00112233445566778899AABB")
    );
    assert_eq!(PlatformKeys::new().preferred_serial(), None);
}

#[test]
fn the_backend_is_the_one_the_features_select() {
    let want = if cfg!(feature = "aws-lc-rs") {
        "aws-lc-rs"
    } else {
        "ring"
    };
    assert_eq!(wechatpay_core::CRYPTO_BACKEND, want);
}

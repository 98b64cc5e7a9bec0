//! Defects found by probing the core as an attacker would; each test failed before its fix.

use std::io::Write as _;

use serde_json::{json, Value};
use wechatpay_core::bill::{sha1_hex, BillWriter};
use wechatpay_core::certificates::apply;
use wechatpay_core::notify::{Callbacks, NotifyError};
use wechatpay_core::sign::response_message;
use wechatpay_core::BillError;
use wechatpay_core::CertificateError;
use wechatpay_core::{AeadError, ApiV3Key};
use wechatpay_core::{
    BuildError, Call, Client, FixedClock, FixedNonce, KeyError, Merchant, PlatformKey,
    PlatformKeys, PrivateKey, SharedKeys, VerifyError,
};

const NOW: i64 = 1_800_000_000;
const PLATFORM_SERIAL: &str = "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A";

fn fx(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn platform_cert() -> PlatformKey {
    PlatformKey::from_certificate_pem(fx("platform_cert.pem")).unwrap()
}

/// The test merchant.
fn merchant() -> Merchant {
    Merchant::new(
        "1900000001",
        "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
        PrivateKey::from_pem(fx("merchant_key.pem")).unwrap(),
    )
    .unwrap()
}

fn client() -> Client {
    Client::builder(merchant())
        .platform_keys(PlatformKeys::new().with(platform_cert()))
        .clock(FixedClock(NOW))
        .nonce_source(FixedNonce("N0nce".into()))
        .build()
        .unwrap()
}

fn sign_err<T>(call: Call<T>) -> BuildError {
    client().sign(call).map(|_| ()).unwrap_err()
}

/// A `200` with no signature headers at all.
fn unsigned_ok() -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(200)
        .body(br#"{"trade_state":"SUCCESS"}"#.to_vec())
        .unwrap()
}

#[test]
fn dot_segments_in_templates_are_refused() {
    for template in [
        "/v3/merchant-service/images/x/../../../pay/transactions/id/{id}",
        "/v3/merchant-service/images/x/%2e%2e/%2E%2e/../pay/transactions/id/{id}",
        "/v3/merchant-service/images/./{id}",
        "/v3/merchant-service/images/.%2E/{id}",
        "/v3/merchant-service/images/%2e/{id}",
        "/v3/merchant-service//images/{id}",
        // A `;` path parameter after a dot segment: Tomcat and many proxies drop it first.
        "/v3/merchant-service/images/..;/..;/pay/transactions/id/{id}",
        "/v3/merchant-service/images/..;jsessionid=1/..;/pay/transactions/id/{id}",
        "/v3/merchant-service/images/%2e%2e;/%2e%2e;/pay/transactions/id/{id}",
        "/v3/merchant-service/images/.%2e;/.%2E;x/pay/transactions/id/{id}",
        "/v3/merchant-service/images/..%3B/..%3bx/pay/transactions/id/{id}",
        "/v3/merchant-service/images/.;/{id}",
    ] {
        let e = sign_err(Call::<Value>::get(template).path_param("id", "42"));
        assert!(
            matches!(e, BuildError::InvalidPathTemplate { .. }),
            "{template}: {e:?}"
        );
    }
    // A placeholder glued to literal dots cannot make a dot segment either.
    let e = sign_err(Call::<Value>::get("/v3/x/.{id}/y").path_param("id", "."));
    assert!(matches!(e, BuildError::InvalidPathParam { .. }), "{e:?}");
    // Nor a value that is a dot segment before a `;`: it is encoded (`..%3B`), and refused.
    for value in ["..;", "..;jsessionid=1", ".;x"] {
        let e = sign_err(
            Call::<Value>::get("/v3/merchant-service/images/{id}").path_param("id", value),
        );
        assert!(
            matches!(
                e,
                BuildError::InvalidPathTemplate { .. } | BuildError::InvalidPathParam { .. }
            ),
            "{value}: {e:?}"
        );
    }
    // A single trailing slash is a published form and stays allowed; values with dots are fine.
    assert!(client()
        .sign(Call::<Value>::post("/v3/ecommerce/applyments/"))
        .is_ok());
    assert!(client()
        .sign(Call::<Value>::get("/v3/merchant-service/images/{id}").path_param("id", "a..b"))
        .is_ok());
    // Three dots, or a dot before other text, are ordinary segments.
    for template in ["/v3/x/.../{id}", "/v3/x/..a/{id}", "/v3/x/.%2e%2e/{id}"] {
        assert!(
            client()
                .sign(Call::<Value>::get(template).path_param("id", "1"))
                .is_ok(),
            "{template}"
        );
    }
    // So is a base URL prefix with dot segments.
    let built = Client::builder(merchant())
        .base_url("https://api.mch.weixin.qq.com/p/../v3/merchant-service/images")
        .build();
    assert!(matches!(built, Err(BuildError::InvalidBaseUrl { .. })));
}

#[test]
fn unsigned_downloads_only_on_normal_paths() {
    use wechatpay_core::verify::is_unsigned_download;
    let get = http::Method::GET;
    assert!(is_unsigned_download(
        &get,
        "/v3/merchant-service/images/ChsyMzAyNjAxMTEyMg"
    ));
    for path in [
        "/v3/merchant-service/images/x/../../../pay/transactions/id/1",
        "/v3/merchant-service/images/x/%2e%2e/%2e%2e/%2e%2e/pay/transactions/id/1",
        "/v3/merchant-service/images/x%2F..%2F..%2F..%2Fpay%2Ftransactions",
        "/v3/merchant-service/images//x",
        "/v3/billdownload/file/.",
        "/v3/merchant-service/images/..;/..;/pay/transactions/id/42",
        "/v3/merchant-service/images/..;jsessionid=1/..;/pay/transactions/id/42",
        "/v3/merchant-service/images/%2e%2e;/pay/transactions/id/42",
        "/v3/merchant-service/images/.%2e;/pay/transactions/id/42",
        // Any `;` parameter, even on a segment that is not a dot segment.
        "/v3/merchant-service/images/abc;v=1",
        "/v3/merchant-service/images/abc%3Bv=1",
        "/v3/billdownload/file;x",
    ] {
        assert!(!is_unsigned_download(&get, path), "{path}");
    }
    // The bypass as a whole: the template with `..;` is refused, so nothing is signed, and a
    // pre-encoded `;` parameter on an image path leaves the answer to be verified.
    let c = client();
    let e = sign_err(Call::<Value>::get(
        "/v3/merchant-service/images/..;/..;/pay/transactions/id/42",
    ));
    assert!(matches!(e, BuildError::InvalidPathTemplate { .. }), "{e:?}");
    let signed = c
        .sign(Call::<Value>::get("/v3/merchant-service/images/abc;v=1"))
        .unwrap();
    assert!(!signed.expect.is_unsigned_download());
    // An encoded `/` (in a pre-encoded template or from a path parameter) is sent, but the answer
    // must be signed: a server that decodes `%2F` first could route it elsewhere.
    let c = client();
    let signed = c
        .sign(Call::<Value>::get(
            "/v3/merchant-service/images/x%2F..%2F..%2F..%2Fpay%2Ftransactions%2Fid%2F1",
        ))
        .unwrap();
    assert!(!signed.expect.is_unsigned_download());
    let signed = c
        .sign(
            Call::<Value>::get("/v3/merchant-service/images/{media}")
                .path_param("media", "../../pay/transactions/id/1"),
        )
        .unwrap();
    assert!(!signed.expect.is_unsigned_download());
    assert!(matches!(
        c.verify(&signed.expect, &unsigned_ok()),
        Err(wechatpay_core::ResponseError::Verify {
            source: VerifyError::MissingHeader { .. },
            ..
        })
    ));
}

#[test]
fn framing_hop_by_hop_and_non_ascii_headers_are_refused() {
    for name in [
        "Transfer-Encoding",
        "connection",
        "TE",
        "Upgrade",
        "Keep-Alive",
        "Proxy-Connection",
        "Trailer",
        "Content-Length",
        "Host",
        "Authorization",
    ] {
        let e = sign_err(Call::<Value>::get("/v3/x").header(name, "chunked"));
        assert!(
            matches!(&e, BuildError::InvalidHeader { name: n, .. } if n == name),
            "{name}: {e:?}"
        );
    }
    let e = sign_err(Call::<Value>::get("/v3/x").header("X-Note", "café"));
    assert!(e.to_string().contains("not ASCII"), "{e}");
    // The serial is set with wechatpay_serial, which sensitive fields are checked against.
    let e = sign_err(Call::<Value>::get("/v3/x").header("Wechatpay-Serial", PLATFORM_SERIAL));
    assert!(e.to_string().contains("wechatpay_serial"), "{e}");
    // An ordinary header is sent intact.
    let signed = client()
        .sign(Call::<Value>::get("/v3/x").header("X-Note", "cafe au lait"))
        .unwrap();
    assert_eq!(signed.request.headers()["x-note"], "cafe au lait");
}

fn cert_answer(body: &Value, key_file: &str, serial: &str) -> http::Response<Vec<u8>> {
    let bytes = body.to_string().into_bytes();
    let sig = PrivateKey::from_pem(fx(key_file))
        .unwrap()
        .sign_base64(&response_message(&NOW.to_string(), "n", &bytes))
        .unwrap();
    http::Response::builder()
        .header("Wechatpay-Timestamp", NOW.to_string())
        .header("Wechatpay-Nonce", "n")
        .header("Wechatpay-Serial", serial)
        .header("Wechatpay-Signature", sig)
        .body(bytes)
        .unwrap()
}

#[test]
fn no_trust_on_first_use_when_a_public_key_is_trusted() {
    let key = ApiV3Key::new("SANDBOXtestONLYapiv3key000000001").unwrap();
    let pem = String::from_utf8(fx("platform_cert.pem")).unwrap();
    let body = json!({"data": [{"serial_no": PLATFORM_SERIAL,
        "encrypt_certificate": {"algorithm": "AEAD_AES_256_GCM", "nonce": "0123456789ab", "associated_data": "certificate",
            "ciphertext": key.encrypt("0123456789ab", "certificate", pem.as_bytes()).unwrap()}}]});
    // Signed by the certificate inside the list, while only a public key is trusted.
    let answer = cert_answer(&body, "platform_key.pem", PLATFORM_SERIAL);
    let only_public = PlatformKeys::new().with(
        PlatformKey::from_public_key_pem(
            "PUB_KEY_ID_0119000000012026112600000001",
            fx("platform_pubkey_mode.pub.pem"),
        )
        .unwrap(),
    );
    match apply(&only_public, &key, &answer, NOW, 300) {
        Err(CertificateError::Verify(VerifyError::UnknownSerial { serial })) => {
            assert_eq!(serial, PLATFORM_SERIAL)
        }
        other => panic!("{other:?}"),
    }
    // Signed by the trusted public key: accepted, and not trust on first use.
    let answer = cert_answer(
        &body,
        "platform_pubkey_mode_key.pem",
        "PUB_KEY_ID_0119000000012026112600000001",
    );
    match apply(&only_public, &key, &answer, NOW, 300).unwrap() {
        wechatpay_core::certificates::Downloaded::Certificates {
            trusted_on_first_use,
            keys,
            ..
        } => {
            assert!(!trusted_on_first_use);
            assert_eq!(keys.len(), 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pem_with_bom_and_indentation_is_read() {
    let pem = String::from_utf8(fx("platform_cert.pem")).unwrap();
    let indented: String = pem.lines().map(|l| format!("    {l}  \r\n")).collect();
    let with_bom = format!("\u{feff}\n\n{pem}\n  ");
    for text in [indented, with_bom] {
        let k = PlatformKey::from_certificate_pem(text.as_bytes()).unwrap();
        assert_eq!(k.id(), PLATFORM_SERIAL);
    }
    let key = String::from_utf8(fx("merchant_key.pem")).unwrap();
    assert!(PrivateKey::from_pem(format!("\u{feff}{key}")).is_ok());
    // A section that cannot be read says so, without contradicting itself.
    let broken = pem.replace("-----END CERTIFICATE-----", "");
    match PlatformKey::from_certificate_pem(broken.as_bytes()) {
        Err(e @ KeyError::MalformedPem { .. }) => {
            let text = e.to_string();
            assert!(!text.contains("expected"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

/// A callback signed by the platform certificate, with `resource` as given.
fn callback(resource: Value, extra: &[(&str, &str)]) -> (http::HeaderMap, Vec<u8>) {
    let body = json!({"id": "EV-1", "create_time": "2027-01-15T13:00:00+08:00", "event_type": "TRANSACTION.SUCCESS",
        "resource_type": "encrypt-resource", "summary": "支付成功", "resource": resource})
    .to_string()
    .into_bytes();
    let sig = PrivateKey::from_pem(fx("platform_key.pem"))
        .unwrap()
        .sign_base64(&response_message(&NOW.to_string(), "n0", &body))
        .unwrap();
    let mut h = http::HeaderMap::new();
    h.insert("Wechatpay-Timestamp", NOW.to_string().parse().unwrap());
    h.insert("Wechatpay-Nonce", "n0".parse().unwrap());
    h.insert("Wechatpay-Serial", PLATFORM_SERIAL.parse().unwrap());
    h.insert("Wechatpay-Signature", sig.parse().unwrap());
    for (k, v) in extra {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
        );
    }
    (h, body)
}

fn callbacks() -> (Callbacks, ApiV3Key) {
    let key = ApiV3Key::new("SANDBOXtestONLYapiv3key000000001").unwrap();
    let cb = Callbacks::new(
        SharedKeys::new(PlatformKeys::new().with(platform_cert())),
        key.clone(),
    );
    (cb, key)
}

#[test]
fn callback_decryption_failures_say_what_is_known() {
    let (cb, key) = callbacks();
    let res = |aad: &str, ct: String| json!({"algorithm": "AEAD_AES_256_GCM", "original_type": "transaction", "associated_data": aad, "nonce": "0123456789ab", "ciphertext": ct});
    let good = key.encrypt("0123456789ab", "transaction", b"{}").unwrap();
    // 3 bytes of ciphertext: malformed, not a key problem.
    let (h, b) = callback(res("transaction", "AAAA".into()), &[]);
    match cb.clone().clock(FixedClock(NOW)).verify::<Value>(&h, &b) {
        Err(NotifyError::Decrypt(AeadError::TooShort { len: 3 })) => {}
        other => panic!("{other:?}"),
    }
    // associated_data that does not name original_type: authentication failed, no blame.
    let (h, b) = callback(res("refund", good.clone()), &[]);
    match cb.clone().clock(FixedClock(NOW)).verify::<Value>(&h, &b) {
        Err(e @ NotifyError::Decrypt(AeadError::AuthFailed)) => {
            assert!(!e.to_string().contains("is most likely wrong"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // A well-formed envelope under another key: the APIv3 key.
    let other = ApiV3Key::new("ANOTHERtestONLYapiv3key000000001").unwrap();
    let foreign = other.encrypt("0123456789ab", "transaction", b"{}").unwrap();
    let (h, b) = callback(res("transaction", foreign), &[]);
    assert!(matches!(
        cb.clone().clock(FixedClock(NOW)).verify::<Value>(&h, &b),
        Err(NotifyError::WrongApiV3Key)
    ));
    let (h, b) = callback(res("transaction", good), &[]);
    assert!(cb
        .clone()
        .clock(FixedClock(NOW))
        .verify::<Value>(&h, &b)
        .is_ok());
}

#[test]
fn signature_type_is_read_like_the_signature_headers() {
    let (cb, key) = callbacks();
    let ct = key.encrypt("0123456789ab", "transaction", b"{}").unwrap();
    let res = json!({"algorithm": "AEAD_AES_256_GCM", "original_type": "transaction", "associated_data": "transaction", "nonce": "0123456789ab", "ciphertext": ct});
    let rsa = "WECHATPAY2-SHA256-RSA2048";
    let sm2 = "WECHATPAY2-SM2-WITH-SM3";
    for pair in [[rsa, sm2], [sm2, rsa]] {
        let (h, b) = callback(
            res.clone(),
            &[
                ("Wechatpay-Signature-Type", pair[0]),
                ("Wechatpay-Signature-Type", pair[1]),
            ],
        );
        match cb.clone().clock(FixedClock(NOW)).verify::<Value>(&h, &b) {
            Err(NotifyError::Verify(VerifyError::InvalidHeader { name })) => {
                assert_eq!(name, "Wechatpay-Signature-Type")
            }
            other => panic!("{pair:?}: {other:?}"),
        }
    }
    let (h, b) = callback(res.clone(), &[("Wechatpay-Signature-Type", "RSA2048-é")]);
    assert!(matches!(
        cb.clone().clock(FixedClock(NOW)).verify::<Value>(&h, &b),
        Err(NotifyError::Verify(VerifyError::InvalidHeader { .. }))
    ));
    let (h, b) = callback(res.clone(), &[("Wechatpay-Signature-Type", sm2)]);
    assert!(
        matches!(cb.clone().clock(FixedClock(NOW)).verify::<Value>(&h, &b), Err(NotifyError::UnsupportedSignatureType(t)) if t == sm2)
    );
    let (h, b) = callback(res, &[("Wechatpay-Signature-Type", rsa)]);
    assert!(cb
        .clone()
        .clock(FixedClock(NOW))
        .verify::<Value>(&h, &b)
        .is_ok());
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn multi_member_gzip_bills_and_size_limits() {
    let (a, b) = (b"trade,1\n".repeat(1000), b"trade,2\n".repeat(1000));
    let whole = [a.clone(), b.clone()].concat();
    let mut stream = gzip(&a);
    stream.extend(gzip(&b));
    let mut w = BillWriter::with_hash("SHA1", &sha1_hex(&whole), true, Vec::new()).unwrap();
    for chunk in stream.chunks(100) {
        w.write_chunk(chunk).unwrap();
    }
    let (out, n) = w.finish().unwrap();
    assert_eq!((out, n), (whole.clone(), whole.len() as u64));
    // A gzip bomb stops at the limit, whatever the compressed size.
    let bomb = gzip(&vec![b'0'; 1 << 20]);
    let mut w = BillWriter::with_hash("SHA1", &sha1_hex(b""), true, Vec::new())
        .unwrap()
        .max_bytes(64 << 10);
    let err = bomb
        .chunks(512)
        .try_for_each(|c| w.write_chunk(c))
        .and_then(|()| w.finish().map(|_| ()))
        .unwrap_err();
    assert!(
        matches!(err, BillError::TooLarge { limit } if limit == 64 << 10),
        "{err:?}"
    );
}

/// What held when the SDK was probed, kept under test.
#[test]
fn what_held_keeps_holding() {
    // CRLF in a header value is refused; path parameters with `/ ? # CRLF %2F é` stay one
    // segment.
    assert!(matches!(
        sign_err(Call::<Value>::get("/v3/x").header("X-A", "a\r\nX-B: b")),
        BuildError::InvalidHeader { .. }
    ));
    let signed = client()
        .sign(Call::<Value>::get("/v3/x/{id}").path_param("id", "a/b?c#d\r\n%2Fé"))
        .unwrap();
    assert_eq!(
        signed.request.uri().path(),
        "/v3/x/a%2Fb%3Fc%23d%0D%0A%252F%C3%A9"
    );
    // User info, query and fragment in a base URL are refused.
    for url in [
        "https://user@api.mch.weixin.qq.com",
        "https://api.mch.weixin.qq.com/?a=b",
        "https://api.mch.weixin.qq.com/#f",
    ] {
        assert!(
            matches!(
                Client::builder(merchant()).base_url(url).build(),
                Err(BuildError::InvalidBaseUrl { .. })
            ),
            "{url}"
        );
    }
    // The refused user information is not repeated in the error (it may be a password).
    let built = Client::builder(merchant())
        .base_url("https://user:s3cret@api.mch.weixin.qq.com")
        .build();
    let Err(e) = built else {
        panic!("user information was accepted")
    };
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(
        shown.contains("https://<redacted>@api.mch.weixin.qq.com"),
        "{shown}"
    );
}

/// Every file the core reads is a regular file of a bounded size: `/dev/zero`, a FIFO and a
/// directory are refused at once (nothing hangs or reads forever), a file past the bound of its
/// kind is refused, and the upload streamed from disk refuses what is not a regular file.
#[test]
fn only_bounded_regular_files_are_read() {
    use std::io::ErrorKind;
    use std::path::Path;
    use wechatpay_core::config::Settings;
    use wechatpay_core::files::{MAX_CONFIG_FILE, MAX_CREDENTIAL_FILE};
    use wechatpay_core::transport::ClientIdentity;
    use wechatpay_core::ConfigError;

    let dir = std::env::temp_dir().join(format!("wechatpay-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let mut odd: Vec<&Path> = vec![Path::new("/dev/zero"), &dir];
    if made.is_ok_and(|s| s.success()) {
        odd.push(&fifo);
    }
    let big = dir.join("big.pem");
    std::fs::write(&big, vec![b'A'; MAX_CREDENTIAL_FILE as usize + 1]).unwrap();
    let big_toml = dir.join("big.toml");
    std::fs::write(&big_toml, vec![b'#'; MAX_CONFIG_FILE as usize + 1]).unwrap();

    let key_io = |e: KeyError| match e {
        KeyError::Io { source, .. } => source.kind(),
        other => panic!("{other}"),
    };
    type Load = fn(&Path) -> KeyError;
    #[cfg_attr(not(feature = "pkcs12"), allow(unused_mut))]
    let mut loaders: Vec<(&str, Load)> = vec![
        ("private key", |p| PrivateKey::from_file(p).unwrap_err()),
        ("certificate", |p| {
            PlatformKey::from_certificate_file(p).unwrap_err()
        }),
        ("public key", |p| {
            PlatformKey::from_public_key_file("PUB_KEY_ID_1", p).unwrap_err()
        }),
        ("APIv3 key", |p| ApiV3Key::from_file(p).unwrap_err()),
        ("APIv2 key", |p| {
            wechatpay_core::v2::ApiV2Key::from_file(p).unwrap_err()
        }),
        ("client identity", |p| {
            ClientIdentity::from_files(p, p).unwrap_err()
        }),
    ];
    #[cfg(feature = "pkcs12")]
    loaders.push(("PKCS#12", |p| {
        ClientIdentity::from_pkcs12_file(p, "1900000001").unwrap_err()
    }));
    for (what, load) in &loaders {
        for p in &odd {
            assert_eq!(
                key_io(load(p)),
                ErrorKind::InvalidInput,
                "{what} {}",
                p.display()
            );
        }
        let e = load(&big);
        assert!(
            e.to_string().contains("larger than 65536 bytes"),
            "{what}: {e}"
        );
        assert_eq!(key_io(e), ErrorKind::FileTooLarge, "{what}");
    }
    let config_io = |e: ConfigError| match e {
        ConfigError::Read { source, .. } => source.kind(),
        other => panic!("{other}"),
    };
    for p in &odd {
        assert_eq!(
            config_io(Settings::from_file(p).unwrap_err()),
            ErrorKind::InvalidInput
        );
    }
    assert_eq!(
        config_io(Settings::from_file(&big_toml).unwrap_err()),
        ErrorKind::FileTooLarge
    );
    for p in &odd {
        let e = wechatpay_core::media::upload_from_file::<Value, _>(
            "/v3/merchant/media/upload",
            p,
            |_| {},
        )
        .map(|_| ())
        .unwrap_err();
        assert!(matches!(e, BuildError::UploadFile { .. }), "{e}");
    }
    // Many sections: the message names a few, not all of them.
    let many = "-----BEGIN CERTIFICATE-----\n".repeat(2000);
    let e = PlatformKey::from_certificate_pem(many.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("found 2000 PEM sections") && e.len() < 400,
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

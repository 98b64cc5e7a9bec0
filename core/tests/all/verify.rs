//! Verifying responses: every error kind, the clock window's edges, 204, API errors, decode errors.

use serde_json::Value;
use wechatpay_core::sign::response_message;
use wechatpay_core::{
    Call, Client, Expect, FixedClock, Merchant, PlatformKey, PlatformKeys, PrivateKey,
    ResponseError, VerifyError,
};

const NOW: i64 = 1_800_000_000;
const SERIAL: &str = "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A";
const PUBKEY_ID: &str = "PUB_KEY_ID_0119000000012026112600000001";

fn fx(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn client(window: u64) -> Client {
    let merchant = Merchant::new(
        "1900000001",
        "3D2A",
        PrivateKey::from_pem(fx("merchant_key.pem")).unwrap(),
    )
    .unwrap();
    let keys = PlatformKeys::new()
        .with(PlatformKey::from_certificate_pem(fx("platform_cert.pem")).unwrap())
        .with(PlatformKey::from_certificate_pem(fx("expired_cert.pem")).unwrap())
        .with(
            PlatformKey::from_public_key_pem(PUBKEY_ID, fx("platform_pubkey_mode.pub.pem"))
                .unwrap(),
        );
    Client::builder(merchant)
        .platform_keys(keys)
        .clock(FixedClock(NOW))
        .clock_window(window)
        .build()
        .unwrap()
}

fn expect<T: serde::de::DeserializeOwned>(c: &Client, path: &str) -> Expect<T> {
    c.sign(Call::<T>::get(path.to_string())).unwrap().expect
}

struct Resp {
    status: u16,
    ts: String,
    nonce: String,
    serial: String,
    signature: Option<String>,
    body: Vec<u8>,
    omit: Option<&'static str>,
}

fn signed_by(key_file: &str, serial: &str, ts: i64, body: &[u8]) -> Resp {
    let nonce = "nonce123";
    let sig = PrivateKey::from_pem(fx(key_file))
        .unwrap()
        .sign_base64(&response_message(&ts.to_string(), nonce, body))
        .unwrap();
    Resp {
        status: 200,
        ts: ts.to_string(),
        nonce: nonce.into(),
        serial: serial.into(),
        signature: Some(sig),
        body: body.to_vec(),
        omit: None,
    }
}

fn ok(ts: i64, body: &[u8]) -> Resp {
    signed_by("platform_key.pem", SERIAL, ts, body)
}

impl Resp {
    fn http(&self) -> http::Response<Vec<u8>> {
        let mut b = http::Response::builder()
            .status(self.status)
            .header("Request-ID", "RID");
        for (name, value) in [
            ("Wechatpay-Timestamp", Some(&self.ts)),
            ("Wechatpay-Nonce", Some(&self.nonce)),
            ("Wechatpay-Serial", Some(&self.serial)),
            ("Wechatpay-Signature", self.signature.as_ref()),
        ] {
            if Some(name) != self.omit {
                if let Some(v) = value {
                    b = b.header(name, v.as_str());
                }
            }
        }
        b.body(self.body.clone()).unwrap()
    }
}

fn verify_err(c: &Client, r: &Resp) -> VerifyError {
    match c.verify(&expect::<Value>(c, "/v3/x"), &r.http()) {
        Err(ResponseError::Verify {
            source,
            body,
            request_id,
        }) => {
            assert_eq!(body, r.body, "raw body kept");
            assert_eq!(request_id.as_deref(), Some("RID"));
            source
        }
        other => panic!("expected a verification error, got {other:?}"),
    }
}

#[test]
fn valid_certificate_and_public_key() {
    let c = client(300);
    let body = br#"{"a":1}"#;
    let r = c
        .verify(&expect::<Value>(&c, "/v3/x"), &ok(NOW, body).http())
        .unwrap();
    assert_eq!(r.data["a"], 1);
    assert_eq!(r.verified_by.as_deref(), Some(SERIAL));
    let r = signed_by("platform_pubkey_mode_key.pem", PUBKEY_ID, NOW, body);
    assert_eq!(
        c.verify(&expect::<Value>(&c, "/v3/x"), &r.http())
            .unwrap()
            .verified_by
            .as_deref(),
        Some(PUBKEY_ID)
    );
    // Lower-case serial names the same certificate.
    let mut r = ok(NOW, body);
    r.serial = SERIAL.to_lowercase();
    c.verify(&expect::<Value>(&c, "/v3/x"), &r.http()).unwrap();
}

#[test]
fn empty_body_of_a_204_verifies() {
    let c = client(300);
    let mut r = ok(NOW, b"");
    r.status = 204;
    let answer = c
        .verify(
            &expect::<()>(&c, "/v3/pay/transactions/out-trade-no/1/close"),
            &r.http(),
        )
        .unwrap();
    assert_eq!(answer.status, 204);
    // A signature over a non-empty body does not verify an empty one.
    let mut r = ok(NOW, b"{}");
    r.body = Vec::new();
    assert!(matches!(
        verify_err(&c, &r),
        VerifyError::SignatureMismatch { .. }
    ));
}

#[test]
fn clock_window_edges() {
    let c = client(300);
    let e = expect::<Value>(&c, "/v3/x");
    for ts in [NOW - 300, NOW + 300, NOW] {
        c.verify(&e, &ok(ts, b"{}").http()).unwrap();
    }
    for ts in [NOW - 301, NOW + 301, NOW - 86_400] {
        match verify_err(&c, &ok(ts, b"{}")) {
            VerifyError::StaleTimestamp {
                timestamp,
                now,
                offset,
                window,
            } => {
                assert_eq!((timestamp, now, offset, window), (ts, NOW, NOW - ts, 300));
            }
            other => panic!("{other:?}"),
        }
    }
    // Configurable.
    let c = client(10);
    assert!(matches!(
        verify_err(&c, &ok(NOW - 11, b"{}")),
        VerifyError::StaleTimestamp { .. }
    ));
    c.verify(&expect::<Value>(&c, "/v3/x"), &ok(NOW - 10, b"{}").http())
        .unwrap();
}

#[test]
fn every_verify_error_kind() {
    let c = client(300);
    for name in [
        "Wechatpay-Timestamp",
        "Wechatpay-Nonce",
        "Wechatpay-Serial",
        "Wechatpay-Signature",
    ] {
        let mut r = ok(NOW, b"{}");
        r.omit = Some(name);
        assert_eq!(verify_err(&c, &r), VerifyError::MissingHeader { name });
    }
    for bad in [
        "1800000000abc",
        "",
        "-1800000000",
        " 1800000000",
        "1.8e9",
        "99999999999999999999",
    ] {
        let mut r = ok(NOW, b"{}");
        r.ts = bad.into();
        assert!(
            matches!(verify_err(&c, &r), VerifyError::InvalidTimestamp { .. }),
            "{bad:?}"
        );
    }
    let mut r = ok(NOW, b"{}");
    r.serial = "ABCDEF".into();
    assert_eq!(
        verify_err(&c, &r),
        VerifyError::UnknownSerial {
            serial: "ABCDEF".into()
        }
    );
    let r = signed_by("expired_key.pem", "11223344", NOW, b"{}");
    assert!(matches!(
        verify_err(&c, &r),
        VerifyError::CertificateNotValid { .. }
    ));
    let mut r = ok(NOW, b"{}");
    r.signature = Some("WECHATPAY/SIGNTEST/AAAA".into());
    assert!(matches!(verify_err(&c, &r), VerifyError::Probe { .. }));
    let mut r = ok(NOW, b"{}");
    r.signature = Some(String::new());
    assert_eq!(verify_err(&c, &r), VerifyError::EmptySignature);
    let mut r = ok(NOW, b"{}");
    r.signature = Some("not base64!".into());
    assert_eq!(verify_err(&c, &r), VerifyError::SignatureEncoding);
    let mut r = ok(NOW, b"{}");
    r.nonce = "other".into();
    assert!(matches!(
        verify_err(&c, &r),
        VerifyError::SignatureMismatch { .. }
    ));
    // Signed by the public-key-mode key but naming the certificate.
    let r = signed_by("platform_pubkey_mode_key.pem", SERIAL, NOW, b"{}");
    assert!(matches!(
        verify_err(&c, &r),
        VerifyError::SignatureMismatch { .. }
    ));
    // The merchant's own key is not a platform key.
    let r = signed_by("merchant_key.pem", SERIAL, NOW, b"{}");
    assert!(matches!(
        verify_err(&c, &r),
        VerifyError::SignatureMismatch { .. }
    ));
    // A repeated header and a non-ASCII one.
    let mut h = ok(NOW, b"{}").http();
    h.headers_mut()
        .append("Wechatpay-Serial", SERIAL.parse().unwrap());
    assert!(matches!(
        c.verify(&expect::<Value>(&c, "/v3/x"), &h),
        Err(ResponseError::Verify {
            source: VerifyError::InvalidHeader {
                name: "Wechatpay-Serial"
            },
            ..
        })
    ));
    let mut h = ok(NOW, b"{}").http();
    h.headers_mut().insert(
        "Wechatpay-Nonce",
        http::HeaderValue::from_bytes(&[0xe4, 0xb8, 0xad]).unwrap(),
    );
    assert!(matches!(
        c.verify(&expect::<Value>(&c, "/v3/x"), &h),
        Err(ResponseError::Verify {
            source: VerifyError::InvalidHeader {
                name: "Wechatpay-Nonce"
            },
            ..
        })
    ));
}

#[test]
fn api_errors_keep_everything() {
    let c = client(300);
    let e = expect::<Value>(&c, "/v3/x");
    let body = r#"{"code":"PARAM_ERROR","message":"参数错误","detail":{"location":"uri_template","value":33}}"#;
    let resp = http::Response::builder()
        .status(400)
        .header("Request-ID", "RID-400")
        .body(body.as_bytes().to_vec())
        .unwrap();
    match c.verify(&e, &resp) {
        Err(ResponseError::Api(a)) => {
            assert_eq!(a.status, 400);
            assert_eq!(a.code.as_deref(), Some("PARAM_ERROR"));
            assert_eq!(a.message.as_deref(), Some("参数错误"));
            assert_eq!(a.detail.as_ref().unwrap()["value"], 33);
            assert_eq!(a.request_id.as_deref(), Some("RID-400"));
            assert_eq!(a.body, body.as_bytes());
            let shown = a.to_string();
            assert!(
                shown.contains("PARAM_ERROR") && shown.contains("RID-400"),
                "{shown}"
            );
        }
        other => panic!("{other:?}"),
    }
    for (status, body) in [
        (502u16, &b"<html>bad gateway</html>"[..]),
        (500, b""),
        (404, b"{\"code\":5}"),
    ] {
        let resp = http::Response::builder()
            .status(status)
            .body(body.to_vec())
            .unwrap();
        match c.verify(&e, &resp) {
            Err(ResponseError::Api(a)) => {
                assert_eq!(a.status, status);
                assert_eq!(a.code, None);
                assert_eq!(a.body, body);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn decode_errors_keep_the_body() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Want {
        order_id: String,
        amount: u64,
    }
    let c = client(300);
    // The message quotes no value of the answer (it may be personal data); the error keeps the
    // body and serde's whole error.
    let r = ok(NOW, br#"{"order_id":"A1","amount":"oUpF8u-personal"}"#);
    let err = c
        .verify(&expect::<Want>(&c, "/v3/x"), &r.http())
        .unwrap_err();
    let message = err.to_string();
    assert!(!message.contains("personal"), "{message}");
    assert!(
        message.contains(r#"invalid type: string "…", expected u64"#),
        "{message}"
    );
    // It says the call was accepted (it may have taken effect) and where the answer parts from
    // the type.
    assert!(
        message.contains("WeChat Pay accepted the call (200 OK; it may have taken effect)"),
        "{message}"
    );
    assert!(message.contains("at `amount`"), "{message}");
    match &err {
        ResponseError::Decode { path, status, .. } => {
            assert_eq!(path, "amount");
            assert_eq!(*status, 200);
        }
        other => panic!("{other:?}"),
    }
    // Nested: the path names the member inside its parents.
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        receivers: Vec<Want>,
    }
    let r = ok(
        NOW,
        br#"{"receivers":[{"order_id":"A","amount":1},{"order_id":"B","amount":-2}]}"#,
    );
    match c.verify(&expect::<Outer>(&c, "/v3/x"), &r.http()) {
        Err(ResponseError::Decode { path, .. }) => assert_eq!(path, "receivers[1].amount"),
        other => panic!("{other:?}"),
    }
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("oUpF8u-personal"), "{source}");
    for body in [
        &br#"{"order_id":5}"#[..],
        b"[]",
        b"not json",
        b"{\"order_id\":\"\xff\"}",
    ] {
        let r = ok(NOW, body);
        match c.verify(&expect::<Want>(&c, "/v3/x"), &r.http()) {
            Err(err @ ResponseError::Decode { .. }) => {
                assert_eq!(err.body(), body);
                assert_eq!(err.request_id(), Some("RID"));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn unsigned_downloads_decided_from_the_path() {
    let c = client(300);
    let bytes = b"\x1f\x8b raw bill";
    let resp = || {
        http::Response::builder()
            .status(200)
            .body(bytes.to_vec())
            .unwrap()
    };
    for path in [
        "/v3/billdownload/file",
        "/v3/merchant-service/images/abc",
        "/v3/statements",
    ] {
        let e = c
            .sign(Call::<Value>::get(path).query("token", "t").expect_bytes())
            .unwrap()
            .expect;
        let r = c.verify(&e, &resp()).unwrap();
        assert_eq!(r.data, bytes);
        assert!(r.verified_by.is_none());
    }
    // Not downloads: the upload path, other methods, look-alikes.
    for (m, path) in [
        ("GET", "/v3/merchant-service/images/upload"),
        ("POST", "/v3/billdownload/file"),
        ("GET", "/v3/billdownload/file2"),
    ] {
        let e = c
            .sign(Call::<Value>::new(m.parse().unwrap(), path).expect_bytes())
            .unwrap()
            .expect;
        assert!(
            matches!(
                c.verify(&e, &resp()),
                Err(ResponseError::Verify {
                    source: VerifyError::MissingHeader { .. },
                    ..
                })
            ),
            "{m} {path}"
        );
    }
}

#[test]
fn garbage_never_panics() {
    let c = client(300);
    let e = expect::<Value>(&c, "/v3/x");
    let junk: [&[u8]; 5] = [b"", b"\xff\xfe", b"{", &[0u8; 1024], b"WECHATPAY/SIGNTEST/"];
    for body in junk {
        for sig in ["", "=", "====", "AAAA", "WECHATPAY/SIGNTEST/", "\u{7f}"] {
            let mut r = ok(NOW, body);
            r.signature = Some(sig.to_string());
            if let Ok(resp) = std::panic::catch_unwind(|| r.http()) {
                assert!(c.verify(&e, &resp).is_err());
            }
        }
    }
}

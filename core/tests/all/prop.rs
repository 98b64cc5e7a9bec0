//! Property: for any method, path parameters, query and body, the `Authorization` of the built
//! request verifies with the merchant public key over exactly the target and body the
//! `http::Request` carries, and each path parameter stays one segment.

use proptest::prelude::*;
use serde_json::Value;
use wechatpay_core::sign::request_message;
use wechatpay_core::{Call, Client, FixedClock, Merchant, PlatformKey, PrivateKey};

fn fx(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn client() -> Client {
    let merchant = Merchant::new(
        "1900000001",
        "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
        PrivateKey::from_pem(fx("merchant_key.pem")).unwrap(),
    )
    .unwrap();
    Client::builder(merchant)
        .base_url("http://127.0.0.1:9/pre%20fix")
        .clock(FixedClock(1_800_000_000))
        .build()
        .unwrap()
}

fn param() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9/% ?#&=+.~_-]{1,12}",
        Just("/".to_string()),
        Just("%2F".to_string()),
        Just("a b".to_string()),
        Just("测试/单号".to_string()),
    ]
    .prop_filter("empty and dot segments are refused by design", |s| {
        !s.is_empty() && s != "." && s != ".."
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn authorization_verifies_over_what_is_carried(
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("PATCH"), Just("DELETE")],
        a in param(),
        b in param(),
        query in proptest::collection::vec((any::<String>(), any::<String>()), 0..4),
        body in proptest::option::of(any::<String>()),
        ts in 0i64..4_000_000_000,
        nonce in "[0-9A-Za-z]{1,32}",
    ) {
        let mut call = Call::<Value>::new(method.parse().unwrap(), "/v3/p/{a}/q/{b}")
            .path_param("a", a.clone())
            .path_param("b", b.clone());
        for (k, v) in &query {
            call = call.query(k.clone(), v);
        }
        if let Some(body) = &body {
            call = call.json(&serde_json::json!({ "v": body }));
        }
        let signed = client().sign_with(call, ts, &nonce).unwrap();
        let req = &signed.request;
        let target = req.uri().path_and_query().unwrap().as_str();

        // Recompute the message from what the request carries, and verify.
        let message = request_message(req.method().as_str(), target, ts, &nonce, req.body());
        let auth = req.headers()["authorization"].to_str().unwrap();
        let sig = auth.split("signature=\"").nth(1).unwrap().trim_end_matches('"');
        let merchant_public = PlatformKey::from_public_key_pem("M", fx("merchant_public.pem")).unwrap();
        prop_assert!(merchant_public.verify(&message, sig).is_ok());
        let want_ts = format!("timestamp=\"{ts}\"");
        let want_nonce = format!("nonce_str=\"{nonce}\"");
        prop_assert!(auth.contains(&want_ts));
        prop_assert!(auth.contains(&want_nonce));

        // The path has exactly the template's segments, each parameter decodes back to itself.
        let path = req.uri().path();
        let segs: Vec<&str> = path.split('/').collect();
        prop_assert_eq!(segs.len(), 7, "{}", path);
        prop_assert_eq!(segs[1], "pre%20fix");
        let dec = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().unwrap().into_owned();
        prop_assert_eq!(dec(segs[4]), a);
        prop_assert_eq!(dec(segs[6]), b);
        // The query decodes back to the pairs, in order.
        let q = req.uri().query().unwrap_or("");
        let pairs: Vec<(String, String)> = q.split('&').filter(|p| !p.is_empty()).map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (dec(k), dec(v))
        }).collect();
        prop_assert_eq!(pairs, query);
        // The body sent is the body serialised once.
        match &body {
            Some(b) => prop_assert_eq!(serde_json::from_slice::<Value>(req.body()).unwrap(), serde_json::json!({ "v": b })),
            None => prop_assert!(req.body().is_empty()),
        }
    }
}

mod no_panics {
    //! Nothing from the network or a file makes the core panic.

    use super::fx;
    use proptest::prelude::*;
    use serde_json::Value;
    use wechatpay_core::notify::Callbacks;
    use wechatpay_core::{
        ApiV3Key, Call, Client, FixedClock, Merchant, PlatformKey, PlatformKeys, PrivateKey,
        SharedKeys,
    };

    fn keys() -> PlatformKeys {
        PlatformKeys::new()
            .with(PlatformKey::from_certificate_pem(fx("platform_cert.pem")).unwrap())
            .with(
                PlatformKey::from_public_key_pem(
                    "PUB_KEY_ID_1",
                    fx("platform_pubkey_mode.pub.pem"),
                )
                .unwrap(),
            )
    }

    fn header_value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            "[0-9]{0,12}".prop_map(String::into_bytes),
            Just(b"5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A".to_vec()),
            Just(b"WECHATPAY/SIGNTEST/abc".to_vec()),
        ]
    }

    fn headers(ts: Vec<u8>, nonce: Vec<u8>, serial: Vec<u8>, sig: Vec<u8>) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (name, v) in [
            ("wechatpay-timestamp", ts),
            ("wechatpay-nonce", nonce),
            ("wechatpay-serial", serial),
            ("wechatpay-signature", sig),
        ] {
            if let Ok(v) = http::HeaderValue::from_bytes(&v) {
                h.insert(name, v);
            }
        }
        h
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn responses(status in 100u16..600, ts in header_value(), nonce in header_value(), serial in header_value(), sig in header_value(), body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let merchant = Merchant::new("1900000001", "3D2A", PrivateKey::from_pem(fx("merchant_key.pem")).unwrap()).unwrap();
            let client = Client::builder(merchant).platform_keys(keys()).clock(FixedClock(1_800_000_000)).build().unwrap();
            let expect = client.sign(Call::<Value>::get("/v3/x")).unwrap().expect;
            let mut r = http::Response::new(body.clone());
            if let Ok(s) = http::StatusCode::from_u16(status) {
                *r.status_mut() = s;
            }
            *r.headers_mut() = headers(ts, nonce, serial, sig);
            // Random input never verifies, and never panics.
            prop_assert!(client.verify(&expect, &r).is_err());
        }

        #[test]
        fn callbacks_and_downloads(ts in header_value(), nonce in header_value(), serial in header_value(), sig in header_value(), body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let h = headers(ts, nonce, serial, sig);
            let cb = Callbacks::new(SharedKeys::new(keys()), ApiV3Key::new([7u8; 32]).unwrap());
            prop_assert!(cb.clone().clock(FixedClock(1_800_000_000)).verify::<Value>(&h, &body).is_err());
            let mut r = http::Response::new(body.clone());
            *r.headers_mut() = h;
            prop_assert!(wechatpay_core::certificates::apply(&keys(), &ApiV3Key::new([7u8; 32]).unwrap(), &r, 1_800_000_000, 300).is_err());
        }

        #[test]
        fn key_files(bytes in proptest::collection::vec(any::<u8>(), 0..512), text in "(-----BEGIN [A-Z ]{0,20}-----\n)?[A-Za-z0-9+/=\n]{0,200}(-----END [A-Z ]{0,20}-----\n)?") {
            for input in [bytes.as_slice(), text.as_bytes()] {
                prop_assert!(PrivateKey::from_pem(input).is_err());
                prop_assert!(PlatformKey::from_certificate_pem(input).is_err());
                prop_assert!(PlatformKey::from_public_key_pem("PUB_KEY_ID_1", input).is_err());
            }
        }

        #[test]
        fn aead_and_oaep(nonce in ".{0,20}", aad in ".{0,20}", ct in "[A-Za-z0-9+/=]{0,120}") {
            let key = ApiV3Key::new([1u8; 32]).unwrap();
            prop_assert!(key.decrypt(&nonce, &aad, &ct).is_err());
            let pk = PrivateKey::from_pem(fx("merchant_key.pem")).unwrap();
            prop_assert!(pk.decrypt_oaep_base64(&ct).is_err());
        }
    }
}

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

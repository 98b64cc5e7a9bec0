//! Building requests: path parameters, query, body, headers, base URL, and every build error.

use http::Method;
use serde_json::{json, Value};
use wechatpay_core::{
    BuildError, Call, Client, FixedClock, FixedNonce, Merchant, PlatformKey, PlatformKeys,
    PrivateKey,
};

fn fx(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn client_with(base: &str) -> Client {
    let merchant = Merchant::new(
        "1900000001",
        "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
        PrivateKey::from_pem(fx("merchant_key.pem")).unwrap(),
    )
    .unwrap();
    Client::builder(merchant)
        .platform_keys(
            PlatformKeys::new()
                .with(PlatformKey::from_certificate_pem(fx("platform_cert.pem")).unwrap()),
        )
        .base_url(base)
        .clock(FixedClock(1_800_000_000))
        .nonce_source(FixedNonce("N0nce".into()))
        .build()
        .unwrap()
}

fn client() -> Client {
    client_with("https://api.mch.weixin.qq.com")
}

fn target<T>(call: Call<T>) -> String {
    let signed = client().sign(call).unwrap();
    signed
        .request
        .uri()
        .path_and_query()
        .unwrap()
        .as_str()
        .to_string()
}

#[test]
fn path_params_are_one_segment() {
    let t = |v: &str| target(Call::<Value>::get("/v3/x/{id}/y").path_param("id", v));
    assert_eq!(t("ABC-123_x.y~z"), "/v3/x/ABC-123_x.y~z/y");
    assert_eq!(t("a/b"), "/v3/x/a%2Fb/y");
    assert_eq!(t("a b"), "/v3/x/a%20b/y");
    assert_eq!(t("100%"), "/v3/x/100%25/y");
    assert_eq!(t("测试"), "/v3/x/%E6%B5%8B%E8%AF%95/y");
    assert_eq!(t("?#"), "/v3/x/%3F%23/y");
    assert_eq!(t("a.."), "/v3/x/a../y");
}

#[test]
fn query_is_encoded_once_and_ordered() {
    let t = target(
        Call::<Value>::get("/v3/bill/fundflowbill")
            .query("tar_type", "GZIP")
            .query("bill_date", "2027-01-14")
            .query("note", "退款 进度+查询 O'Neil&x=y"),
    );
    assert_eq!(t, "/v3/bill/fundflowbill?tar_type=GZIP&bill_date=2027-01-14&note=%E9%80%80%E6%AC%BE%20%E8%BF%9B%E5%BA%A6%2B%E6%9F%A5%E8%AF%A2%20O%27Neil%26x%3Dy");
}

#[test]
fn base_url_prefix_and_loopback() {
    let c = client_with("http://127.0.0.1:8080/gateway-prefix/");
    let signed = c.sign(Call::<Value>::get("/v3/certificates")).unwrap();
    assert_eq!(
        signed.request.uri(),
        "http://127.0.0.1:8080/gateway-prefix/v3/certificates"
    );
    let auth = signed.request.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_string();
    // The prefix is part of the signed target: recompute and verify.
    let msg = wechatpay_core::sign::request_message(
        "GET",
        "/gateway-prefix/v3/certificates",
        1_800_000_000,
        "N0nce",
        b"",
    );
    let sig = auth
        .split("signature=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    PlatformKey::from_public_key_pem("M", fx("merchant_public.pem"))
        .unwrap()
        .verify(&msg, sig)
        .unwrap();
    // The expected answer is decided from the path without the prefix.
    assert_eq!(signed.expect.path(), "/v3/certificates");
}

#[test]
fn headers() {
    let signed = client()
        .sign(Call::<Value>::post("/v3/x").json(&json!({"a": 1})))
        .unwrap();
    let h = signed.request.headers();
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["accept"], "application/json");
    assert_eq!(
        h["wechatpay-serial"],
        "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A"
    );
    assert!(h["user-agent"]
        .to_str()
        .unwrap()
        .contains(env!("CARGO_PKG_VERSION")));
    assert!(h["authorization"].to_str().unwrap().starts_with(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\",nonce_str=\"N0nce\",timestamp=\"1800000000\",serial_no=\"3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B\",signature=\""
    ));
    assert_eq!(signed.request.body(), br#"{"a":1}"#);

    // No body: no Content-Type. Serial override and extra headers.
    let signed = client()
        .sign(
            Call::<Value>::get("/v3/x")
                .wechatpay_serial("PUB_KEY_ID_1")
                .header("Idempotency-Key", "k1"),
        )
        .unwrap();
    let h = signed.request.headers();
    assert!(h.get("content-type").is_none());
    assert_eq!(h["wechatpay-serial"], "PUB_KEY_ID_1");
    assert_eq!(h["idempotency-key"], "k1");
    assert!(signed.request.body().is_empty());
}

#[test]
fn everyday_nonce_is_32_alphanumerics_and_fresh() {
    let merchant = Merchant::new(
        "1900000001",
        "3D2A",
        PrivateKey::from_pem(fx("merchant_key.pem")).unwrap(),
    )
    .unwrap();
    let c = Client::builder(merchant).build().unwrap();
    let nonce_of = |c: &Client| {
        let s = c.sign(Call::<Value>::get("/v3/x")).unwrap();
        let a = s.request.headers()["authorization"]
            .to_str()
            .unwrap()
            .to_string();
        a.split("nonce_str=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let (a, b) = (nonce_of(&c), nonce_of(&c));
    assert_eq!(a.len(), 32);
    assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_ne!(a, b);
    // No Wechatpay-Serial without platform keys.
    assert!(c
        .sign(Call::<Value>::get("/v3/x"))
        .unwrap()
        .request
        .headers()
        .get("wechatpay-serial")
        .is_none());
}

#[test]
fn build_errors() {
    let err = |call: Call<Value>| client().sign(call).unwrap_err();
    assert!(
        matches!(err(Call::get("/v3/x/{id}")), BuildError::MissingPathParam { name } if name == "id")
    );
    assert!(
        matches!(err(Call::get("/v3/x").path_param("id", "1")), BuildError::UnusedPathParam { name } if name == "id")
    );
    assert!(matches!(
        err(Call::get("/v3/x/{id}").path_param("id", "")),
        BuildError::InvalidPathParam { .. }
    ));
    assert!(matches!(
        err(Call::get("/v3/x/{id}").path_param("id", "..")),
        BuildError::InvalidPathParam { .. }
    ));
    assert!(matches!(
        err(Call::get("/v3/x/{id}")
            .path_param("id", "1")
            .path_param("id", "2")),
        BuildError::InvalidPathParam { .. }
    ));
    assert!(matches!(
        err(Call::get("v3/x")),
        BuildError::InvalidPathTemplate { .. }
    ));
    assert!(matches!(
        err(Call::get("/v3/x?a=1")),
        BuildError::InvalidPathTemplate { .. }
    ));
    assert!(matches!(
        err(Call::get("/v3/x {y}")),
        BuildError::InvalidPathTemplate { .. }
    ));
    assert!(matches!(
        err(Call::get("/v3/{x")),
        BuildError::InvalidPathTemplate { .. }
    ));
    assert!(matches!(
        err(Call::get("/v3/{x-y}")),
        BuildError::InvalidPathTemplate { .. }
    ));
    assert!(matches!(
        err(Call::get("/v3/x").header("Bad Name", "v")),
        BuildError::InvalidHeader { .. }
    ));
    assert!(matches!(
        err(Call::get("/v3/x").header("X-A", "a\nb")),
        BuildError::InvalidHeader { .. }
    ));
    assert!(matches!(
        err(Call::get("/v3/x").header("Authorization", "x")),
        BuildError::InvalidHeader { .. }
    ));
    assert!(matches!(
        err(Call::get("/v3/x").raw_query("token=a b")),
        BuildError::InvalidQuery { query, .. } if query == "token=a b"
    ));
    assert!(matches!(
        err(Call::get("/v3/x").raw_query("a=\"")),
        BuildError::InvalidQuery { .. }
    ));
    let ok = client()
        .sign(
            Call::<Value>::get("/v3/x")
                .query("b", "1")
                .raw_query("token=A%2Fb_c"),
        )
        .unwrap();
    assert_eq!(
        ok.request.uri().path_and_query().unwrap().as_str(),
        "/v3/x?b=1&token=A%2Fb_c"
    );
    let mut bad_map = std::collections::HashMap::new();
    bad_map.insert(vec![1u8], 1);
    assert!(matches!(
        err(Call::post("/v3/x").json(&bad_map)),
        BuildError::Serialize(_)
    ));
    assert!(matches!(
        client().sign_with(Call::<Value>::get("/v3/x"), 1, "bad\"nonce"),
        Err(BuildError::InvalidNonce)
    ));
    let merchant = || {
        Merchant::new(
            "1900000001",
            "3D2A",
            PrivateKey::from_pem(fx("merchant_key.pem")).unwrap(),
        )
        .unwrap()
    };
    for url in [
        "ftp://x",
        "api.mch.weixin.qq.com",
        "https://a@b/",
        "https://x/?q=1",
        "not a url",
    ] {
        assert!(
            matches!(
                Client::builder(merchant()).base_url(url).build(),
                Err(BuildError::InvalidBaseUrl { .. })
            ),
            "{url}"
        );
    }
    let _ = Method::GET;
}

/// A field marked `required` (as the typed API marks what the official models require) left
/// empty is refused before signing, naming its path; set, it is sent as any field. The same for
/// a required query parameter.
#[test]
fn empty_required_fields_are_refused_before_signing() {
    #[derive(serde::Serialize, Default)]
    struct Payer {
        #[serde(serialize_with = "wechatpay_core::codegen::required")]
        openid: String,
    }
    #[derive(serde::Serialize, Default)]
    struct Body {
        #[serde(serialize_with = "wechatpay_core::codegen::required")]
        mchid: String,
        payers: Vec<Payer>,
        #[serde(serialize_with = "wechatpay_core::codegen::required")]
        name: wechatpay_core::Sensitive,
    }
    let body = |mchid: &str, openids: &[&str], name: &str| Body {
        mchid: mchid.into(),
        payers: openids
            .iter()
            .map(|o| Payer {
                openid: (*o).into(),
            })
            .collect(),
        name: wechatpay_core::Sensitive::new(name),
    };
    let c = client();
    let sign = |b: &Body| c.sign(Call::<Value>::post("/v3/x").json(b));
    for (b, field) in [
        (body("", &["o"], "n"), "mchid"),
        (body("1900000001", &["o", ""], "n"), "payers[1].openid"),
        (body("1900000001", &["o"], ""), "name"),
    ] {
        match sign(&b) {
            Err(BuildError::MissingField { field: f }) => assert_eq!(f, field),
            Err(other) => panic!("{field}: {other}"),
            Ok(_) => panic!("{field}: an empty required field was signed"),
        }
    }
    let signed = sign(&body("1900000001", &["o"], "张三")).unwrap();
    let sent: Value = serde_json::from_slice(signed.request.body()).unwrap();
    assert_eq!(sent["mchid"], "1900000001");
    assert_eq!(sent["payers"][0]["openid"], "o");
    assert_ne!(sent["name"], "张三", "the sensitive field is encrypted");
    // A query parameter.
    let e = c
        .sign(Call::<Value>::get("/v3/x").query_required("mchid", ""))
        .unwrap_err();
    assert!(
        matches!(&e, BuildError::MissingField { field } if field == "query.mchid"),
        "{e}"
    );
    assert!(e.to_string().contains("`query.mchid` is empty"), "{e}");
    let signed = c
        .sign(Call::<Value>::get("/v3/x").query_required("mchid", "1900000001"))
        .unwrap();
    assert_eq!(signed.request.uri().query(), Some("mchid=1900000001"));
}

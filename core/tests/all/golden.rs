//! One signing and one verification, each step against a golden file made with the OpenSSL CLI.

use crate::common;

use common::*;
use serde_json::Value;
use wechatpay_core::sign::{request_message, response_message};
use wechatpay_core::{
    Client, FixedClock, FixedNonce, Merchant, PlatformKey, PlatformKeys, PrivateKey,
};

fn text(name: &str) -> String {
    String::from_utf8(read(&format!("golden/{name}"))).unwrap()
}

/// The seed call with the golden body (the typed body's bytes are checked against the same file
/// in `wechatpay-api`'s tests).
fn seed_call() -> wechatpay_core::Call<Value> {
    wechatpay_core::Call::<Value>::post("/v3/payscore/payafter-orders/{out_order_no}/complete")
        .path_param("out_order_no", "ORDER/2027 甲")
        .json_bytes(text("seed_body.json").into_bytes())
}

fn client() -> Client {
    let merchant = Merchant::new(
        "1900000001",
        "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
        PrivateKey::from_pem(read("keys/merchant_key.pem")).unwrap(),
    )
    .unwrap();
    Client::builder(merchant)
        .platform_keys(
            PlatformKeys::new()
                .with(PlatformKey::from_certificate_pem(read("keys/platform_cert.pem")).unwrap()),
        )
        .clock(FixedClock(1_800_000_000))
        .nonce_source(FixedNonce("5K8264ILTKCH16CQ2502SI8ZNMTM67VS".into()))
        .build()
        .unwrap()
}

#[test]
fn signing_step_by_step() {
    // Step 1: the body (made from the typed request in wechatpay-api's golden test).
    let body = text("seed_body.json").into_bytes();
    // Step 2: the message.
    let target = "/v3/payscore/payafter-orders/ORDER%2F2027%20%E7%94%B2/complete";
    let message = request_message(
        "POST",
        target,
        1_800_000_000,
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        &body,
    );
    assert_eq!(
        String::from_utf8(message.clone()).unwrap(),
        text("seed_message.txt")
    );
    // Step 3: the signature.
    let key = PrivateKey::from_pem(read("keys/merchant_key.pem")).unwrap();
    assert_eq!(
        key.sign_base64(&message).unwrap(),
        text("seed_signature.b64")
    );
    // Step 4: the whole request from the typed call.
    let signed = client().sign(seed_call()).unwrap();
    let r = &signed.request;
    assert_eq!(r.method(), "POST");
    assert_eq!(
        r.uri().to_string(),
        format!("https://api.mch.weixin.qq.com{target}")
    );
    assert_eq!(
        r.headers()["authorization"],
        text("seed_authorization.txt").as_str()
    );
    assert_eq!(r.body(), &body);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["accept"], "application/json");
    assert_eq!(
        r.headers()["wechatpay-serial"],
        "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A"
    );
    assert!(r.headers()["user-agent"]
        .to_str()
        .unwrap()
        .starts_with("wechatpay-rs/"));
}

#[test]
fn verification_step_by_step() {
    let body = read("golden/seed_response_body.json");
    let nonce = "fXq3Tz0TBp4Q8tlcYe0Q1fkuEZdkJ6gU";
    assert_eq!(
        String::from_utf8(response_message("1800000002", nonce, &body)).unwrap(),
        text("seed_response_message.txt")
    );
    let client = client();
    let signed = client.sign(seed_call()).unwrap();
    let response = http::Response::builder()
        .status(200)
        .header("Wechatpay-Timestamp", "1800000002")
        .header("Wechatpay-Nonce", nonce)
        .header(
            "Wechatpay-Serial",
            "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A",
        )
        .header("Wechatpay-Signature", text("seed_response_signature.b64"))
        .header("Request-ID", "REQ-1")
        .body(body.clone())
        .unwrap();
    let answer = client.verify(&signed.expect, &response).unwrap();
    assert_eq!(
        answer.verified_by.as_deref(),
        Some("5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A")
    );
    assert_eq!(answer.request_id.as_deref(), Some("REQ-1"));
    assert_eq!(answer.data["out_order_no"], "ORDER/2027 甲");
    assert_eq!(answer.data["order_id"], "1000000000201901101604003243001");

    // One byte more in the body and the same headers fail.
    let mut tampered = body.clone();
    tampered.insert(1, b' ');
    let response = http::Response::builder()
        .status(200)
        .header("Wechatpay-Timestamp", "1800000002")
        .header("Wechatpay-Nonce", nonce)
        .header(
            "Wechatpay-Serial",
            "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A",
        )
        .header("Wechatpay-Signature", text("seed_response_signature.b64"))
        .body(tampered)
        .unwrap();
    assert!(matches!(
        client.verify(&signed.expect, &response),
        Err(wechatpay_core::ResponseError::Verify {
            source: wechatpay_core::VerifyError::SignatureMismatch { .. },
            ..
        })
    ));
}

//! The main job until the transports exist: sign the seed call, print it, verify a signed answer
//! to it and print the parsed result. No network, no credentials: the keys are the repository's
//! TEST-ONLY fixtures, embedded at compile time.
//!
//! `cargo run -p wechatpay-core --example seed`

use wechatpay_core::{sign, Call, Client, Merchant, PlatformKey, PlatformKeys, PrivateKey};

const MERCHANT_KEY: &[u8] = include_bytes!("../../tests/fixtures/keys/merchant_key.pem");
const PLATFORM_CERT: &[u8] = include_bytes!("../../tests/fixtures/keys/platform_cert.pem");
// Only the gateway side holds this; it signs the simulated answer below.
const PLATFORM_KEY: &[u8] = include_bytes!("../../tests/fixtures/keys/platform_key.pem");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let merchant = Merchant::new(
        "1900000001",
        "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
        PrivateKey::from_pem(MERCHANT_KEY)?,
    )?;
    let platform = PlatformKey::from_certificate_pem(PLATFORM_CERT)?;
    let client = Client::builder(merchant)
        .platform_keys(PlatformKeys::new().with(platform))
        .build()?;

    // The seed call: complete a pay-after order, fees and discounts included. (Typed, with
    // `wechatpay-api`: `payscore::payafter_orders::complete(no, &CompleteRequest { … })`.)
    let body = serde_json::json!({
        "appid": "wxd678efh567hg6787",
        "service_id": "500001",
        "finish_type": 2,
        "real_service_start_time": "20270115091010",
        "real_service_end_time": "20270115121010",
        "real_service_end_location": "Shenzhen Bay Park",
        "fees": [
            {"fee_name": "rental", "fee_count": 3, "fee_amount": 1500, "fee_desc": "3 h x 5.00"},
            {"fee_name": "deposit waiver", "fee_count": 1, "fee_amount": 200, "fee_desc": "service fee"}
        ],
        "discounts": [{"discount_name": "new user", "discount_amount": 300, "discount_desc": "first order"}],
        "total_amount": 1400
    });
    let call =
        Call::<serde_json::Value>::post("/v3/payscore/payafter-orders/{out_order_no}/complete")
            .path_param("out_order_no", "ORDER-2027-0115-001")
            .json(&body);
    let signed = client.sign(call)?;

    let req = &signed.request;
    println!("== signed request ==");
    println!("{} {}", req.method(), req.uri());
    for (name, value) in req.headers() {
        println!("{name}: {}", value.to_str().unwrap_or("<binary>"));
    }
    println!();
    println!("{}", String::from_utf8_lossy(req.body()));

    // Simulate WeChat Pay's answer, signed with the platform key, as a gateway would send it.
    let answer = br#"{"appid":"wxd678efh567hg6787","mchid":"1900000001","out_order_no":"ORDER-2027-0115-001","service_id":"500001","order_id":"1000000000201901101604003243001"}"#;
    let now = client.now();
    let nonce = "ZSYhqvcIvO6Ik2Tb5n6YmmI1C2hAxNzn";
    let gateway_key = PrivateKey::from_pem(PLATFORM_KEY)?;
    let signature =
        gateway_key.sign_base64(&sign::response_message(&now.to_string(), nonce, answer))?;
    let response = http::Response::builder()
        .status(200)
        .header("Content-Type", "application/json")
        .header("Request-ID", "08F78BB5AF0610D302C4E8DD07C5E3AA")
        .header("Wechatpay-Timestamp", now.to_string())
        .header("Wechatpay-Nonce", nonce)
        .header(
            "Wechatpay-Serial",
            "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A",
        )
        .header("Wechatpay-Signature", signature)
        .header("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
        .body(answer.to_vec())?;

    let verified = client.verify(&signed.expect, &response)?;
    let r = &verified.data;
    println!();
    println!(
        "== verified answer (key {}, Request-ID {}) ==",
        verified.verified_by.as_deref().unwrap_or("-"),
        verified.request_id.as_deref().unwrap_or("-")
    );
    println!(
        "{{appid: {}, mchid: {}, out_order_no: {}, service_id: {}, order_id: {}}}",
        r["appid"], r["mchid"], r["out_order_no"], r["service_id"], r["order_id"]
    );
    Ok(())
}

//! What the generated APIv2 tests check, from the spec (`api/spec/v2/endpoints.json`) and
//! `wechatpay_core::v2`, not from the generator's output.

use std::sync::OnceLock;

use serde_json::Value;
use wechatpay_core::v2::{self, ApiV2Key, Fields, SignType, SignedV2};
use wechatpay_core::{Client, FixedClock, FixedNonce, Merchant, PrivateKey};

/// The nonce the tests sign with.
pub const NONCE: &str = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";
/// The APIv2 key of the tests.
pub const KEY: &str = "192006250b4c09247ec02edce69f6a2d";
/// A bill's text.
pub const BILL: &[u8] =
    "交易时间,公众账号ID\n`2027-01-15 13:00:00,`wx8888888888888888\n".as_bytes();

fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let p = format!("{}/spec/v2/endpoints.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_slice(&std::fs::read(&p).expect("the spec is in the repository"))
            .expect("JSON")
    })
}

fn key() -> ApiV2Key {
    ApiV2Key::new(KEY).unwrap()
}

/// A client of merchant 1900000001 with the test APIv2 key.
pub fn client() -> &'static Client {
    static C: OnceLock<Client> = OnceLock::new();
    C.get_or_init(|| {
        let pem = std::fs::read(format!(
            "{}/../tests/fixtures/keys/merchant_key.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let merchant = Merchant::new(
            "1900000001",
            "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
            PrivateKey::from_pem(pem).unwrap(),
        )
        .unwrap();
        Client::builder(merchant)
            .apiv2_key(key())
            .clock(FixedClock(1_800_000_000))
            .nonce_source(FixedNonce(NONCE.into()))
            .build()
            .unwrap()
    })
}

/// The fields `signed` sends, after checking the request against the spec's entry for `path`:
/// `POST` of XML to the path, the client-certificate flag, `nonce_str` unless the path is
/// nonceless, the merchant id, and a `sign` that checks with the algorithm the endpoint takes.
pub fn sent_fields<T>(signed: &SignedV2<T>, path: &str) -> Fields {
    let ep = spec()["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == path)
        .unwrap_or_else(|| panic!("{path} is not in the spec"));
    assert_eq!(signed.request.method(), http::Method::POST);
    assert_eq!(signed.request.uri().path(), path);
    assert_eq!(
        signed.client_certificate,
        ep["client_certificate"] == true,
        "{path}: client certificate"
    );
    let fields = v2::from_xml(signed.request.body()).unwrap();
    assert_eq!(fields, signed.fields);
    let nonceless = ep["nonceless"] == true;
    assert_eq!(
        fields.get("nonce_str").map(String::as_str),
        (!nonceless).then_some(NONCE),
        "{path}: nonce_str"
    );
    let request = &ep["request"];
    let merchant_field = ["mch_id", "mchid", "combine_mch_id"]
        .into_iter()
        .find(|k| request.get(*k).is_some())
        .unwrap_or("mch_id");
    if merchant_field == "mch_id" {
        assert_eq!(fields.get("mch_id").map(String::as_str), Some("1900000001"));
    }
    let hmac_only = request["sign_type"]["enum"] == serde_json::json!(["HMAC-SHA256"]);
    let expected = if hmac_only {
        SignType::HmacSha256
    } else {
        SignType::Md5
    };
    assert_eq!(
        SignType::declared(&fields),
        Some(expected),
        "{path}: sign_type"
    );
    v2::check_sign(&fields, &key(), expected).unwrap_or_else(|e| panic!("{path}: sign: {e}"));
    fields
}

/// A 200 answer of `fields` as XML, signed with the test key and `sign` (the request's
/// algorithm), or unsigned.
pub fn answer(mut fields: Fields, sign: Option<SignType>) -> http::Response<Vec<u8>> {
    if let Some(t) = sign {
        if t == SignType::HmacSha256 {
            fields.insert("sign_type".into(), "HMAC-SHA256".into());
        }
        let sign = v2::sign(&fields, &key(), t);
        fields.insert("sign".into(), sign);
    }
    http::Response::new(v2::to_xml(&fields).into_bytes())
}

/// A bill download's 200 answer.
pub fn bill_answer() -> http::Response<Vec<u8>> {
    http::Response::new(BILL.to_vec())
}

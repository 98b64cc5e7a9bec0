//! Sensitive fields: RSA-OAEP vectors, OpenSSL interop, and the `Sensitive` field type that is
//! encrypted when the request is signed and forces the right `Wechatpay-Serial`.

use crate::common;

use common::*;
use serde_json::Value;
use wechatpay_core::{
    BuildError, Call, Client, FixedClock, Merchant, OaepError, PlatformKey, PlatformKeys,
    PrivateKey, Sensitive,
};

#[test]
fn official_oaep_vectors() {
    let cases: Vec<Value> = json("vectors/official/vectors.json")["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "oaep_decrypt")
        .cloned()
        .collect();
    assert_eq!(cases.len(), 4);
    for c in cases {
        let i = &c["inputs"];
        let key = PrivateKey::from_pem(read(&format!("vectors/official/{}", s(i, "private_key"))))
            .unwrap();
        let got = key.decrypt_oaep_base64(s(i, "ciphertext"));
        match (s(&c, "id"), c["expected"].get("plaintext")) {
            // sdk_policy: go maps "" to "" without decrypting; an empty string is no ciphertext,
            // and we say so (Base64 of nothing decodes to nothing, which no key decrypts).
            ("G6.empty_input", _) => assert!(got.is_err()),
            (id, Some(p)) => assert_eq!(got.unwrap(), p.as_str().unwrap().as_bytes(), "{id}"),
            (id, None) => assert!(
                matches!(got, Err(OaepError::DecryptFailed | OaepError::Base64)),
                "{id}: {got:?}"
            ),
        }
    }
}

#[test]
fn peer_oaep_vectors() {
    let peer = peer();
    let cases = peer.cases("rsa_oaep");
    assert_eq!(cases.len(), 8);
    for c in cases {
        let id = s(c, "id");
        let key = PrivateKey::from_pem(read(&format!(
            "vectors/peer/fixtures/{}",
            s(c, "decrypt_with")
        )))
        .unwrap();
        let plaintext = s(c, "plaintext");
        assert_eq!(
            plaintext.len() as u64,
            c["plaintext_utf8_bytes"].as_u64().unwrap()
        );
        // The key this ciphertext is for, as a verifier/encrypter.
        let public = PlatformKey::from_public_key_pem("K", key.public_key_der()).unwrap();
        match s(c, "expected") {
            "decrypt" => {
                assert_eq!(
                    key.decrypt_oaep_base64(s(c, "ciphertext")).unwrap(),
                    plaintext.as_bytes(),
                    "{id}"
                );
                // Our own ciphertext for the same key round-trips too.
                let ours = public.encrypt_oaep(plaintext.as_bytes()).unwrap();
                assert_eq!(
                    key.decrypt_oaep_base64(&ours).unwrap(),
                    plaintext.as_bytes(),
                    "{id}"
                );
            }
            _ => assert_eq!(
                public.encrypt_oaep(plaintext.as_bytes()),
                Err(OaepError::TooLong { len: 215, max: 214 }),
                "{id}"
            ),
        }
        // The request must name exactly the key the ciphertext is for.
        let named = s(c, "wechatpay_serial");
        match s(c, "encrypted_for") {
            "platform_certificate" => assert_eq!(named, peer.platform_serial),
            "public_key_mode" => assert_eq!(named, peer.public_key_id),
            _ => assert_eq!(named, peer.merchant_serial),
        }
    }
}

#[test]
fn openssl_interop() {
    let platform = PrivateKey::from_pem(read("keys/platform_key.pem")).unwrap();
    let b64 = String::from_utf8(read("oaep/openssl_platform_zhangsan.b64")).unwrap();
    assert_eq!(
        platform.decrypt_oaep_base64(&b64).unwrap(),
        "张三".as_bytes()
    );
    let merchant = PrivateKey::from_pem(read("keys/merchant_key.pem")).unwrap();
    let b64 = String::from_utf8(read("oaep/openssl_merchant_phone.b64")).unwrap();
    assert_eq!(merchant.decrypt_oaep_base64(&b64).unwrap(), b"13800138000");
    // Encryption is randomised: two ciphertexts of one plaintext differ, both decrypt.
    let public = PlatformKey::from_certificate_pem(read("keys/platform_cert.pem")).unwrap();
    let (a, b) = (
        public.encrypt_oaep("张三".as_bytes()).unwrap(),
        public.encrypt_oaep("张三".as_bytes()).unwrap(),
    );
    assert_ne!(a, b);
    assert_eq!(platform.decrypt_oaep_base64(&b).unwrap(), "张三".as_bytes());
    assert_eq!(platform.decrypt_oaep_base64("%%%"), Err(OaepError::Base64));
    assert_eq!(
        merchant.decrypt_oaep_base64(&a),
        Err(OaepError::DecryptFailed)
    );
}

const PK_ID: &str = "PUB_KEY_ID_0119000000012026112600000001";

fn client(keys: PlatformKeys) -> Client {
    let merchant = Merchant::new(
        "1900000001",
        "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
        PrivateKey::from_pem(read("keys/merchant_key.pem")).unwrap(),
    )
    .unwrap();
    Client::builder(merchant)
        .platform_keys(keys)
        .clock(FixedClock(1_800_000_000))
        .build()
        .unwrap()
}

fn both() -> PlatformKeys {
    PlatformKeys::new()
        .with(PlatformKey::from_certificate_pem(read("keys/platform_cert.pem")).unwrap())
        .with(
            PlatformKey::from_public_key_pem(PK_ID, read("keys/platform_pubkey_mode.pub.pem"))
                .unwrap(),
        )
}

/// A body with sensitive fields, as the typed requests of `wechatpay-api` have them.
#[derive(serde::Serialize, Default, Clone, Debug)]
struct CreateRequest {
    appid: String,
    out_order_no: String,
    service_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<Sensitive>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<Sensitive>,
}

fn create(body: &CreateRequest) -> wechatpay_core::Call<serde_json::Value> {
    wechatpay_core::Call::post("/v3/payscore/payafter-orders").json(body)
}

fn body() -> CreateRequest {
    CreateRequest {
        appid: "wx1".into(),
        out_order_no: "O-1".into(),
        service_id: "5".into(),
        name: Some(Sensitive::new("张三")),
        phone: Some(Sensitive::new("13800138000")),
    }
}

#[test]
fn plaintext_is_encrypted_at_signing_with_the_named_key() {
    let c = client(both());
    let signed = c.sign(create(&body())).unwrap();
    let r = &signed.request;
    // The public key is preferred, so it encrypts and is named.
    assert_eq!(r.headers()["wechatpay-serial"], PK_ID);
    let sent: Value = serde_json::from_slice(r.body()).unwrap();
    let text = String::from_utf8_lossy(r.body());
    assert!(
        !text.contains("张三")
            && !text.contains("13800138000")
            && !text.contains("wechatpay-sensitive"),
        "{text}"
    );
    let pk_private = PrivateKey::from_pem(read("keys/platform_pubkey_mode_key.pem")).unwrap();
    assert_eq!(
        pk_private
            .decrypt_oaep_base64(sent["name"].as_str().unwrap())
            .unwrap(),
        "张三".as_bytes()
    );
    assert_eq!(
        pk_private
            .decrypt_oaep_base64(sent["phone"].as_str().unwrap())
            .unwrap(),
        b"13800138000"
    );
    // The signature covers the encrypted body as sent.
    let merchant_public =
        PlatformKey::from_public_key_pem("M", read("keys/merchant_public.pem")).unwrap();
    let auth = r.headers()["authorization"].to_str().unwrap();
    let ts = 1_800_000_000;
    let nonce = auth
        .split("nonce_str=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let sig = auth
        .split("signature=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    let msg = wechatpay_core::sign::request_message("POST", r.uri().path(), ts, nonce, r.body());
    merchant_public.verify(&msg, sig).unwrap();

    // Naming the certificate instead: the certificate encrypts.
    let signed = c
        .sign(create(&body()).wechatpay_serial("5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A"))
        .unwrap();
    let sent: Value = serde_json::from_slice(signed.request.body()).unwrap();
    let cert_private = PrivateKey::from_pem(read("keys/platform_key.pem")).unwrap();
    assert_eq!(
        cert_private
            .decrypt_oaep_base64(sent["name"].as_str().unwrap())
            .unwrap(),
        "张三".as_bytes()
    );
    assert_eq!(
        signed.request.headers()["wechatpay-serial"],
        "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A"
    );
}

#[test]
fn ciphertexts_force_their_serial_and_conflicts_are_errors() {
    let c = client(both());
    let public = PlatformKey::from_certificate_pem(read("keys/platform_cert.pem")).unwrap();
    let ct = public.encrypt_oaep("李四".as_bytes()).unwrap();
    let mut b = body();
    b.name = Some(Sensitive::encrypted(ct.clone(), public.id()));
    b.phone = None;
    let signed = c.sign(create(&b)).unwrap();
    assert_eq!(
        signed.request.headers()["wechatpay-serial"],
        public.id(),
        "the field's key is named, not the preferred one"
    );
    let sent: Value = serde_json::from_slice(signed.request.body()).unwrap();
    assert_eq!(sent["name"], ct.as_str());
    // Mixed with a plaintext: the plaintext is encrypted with the same key.
    let mut b2 = b.clone();
    b2.phone = Some(Sensitive::new("13800138000"));
    let signed = c.sign(create(&b2)).unwrap();
    let sent: Value = serde_json::from_slice(signed.request.body()).unwrap();
    let cert_private = PrivateKey::from_pem(read("keys/platform_key.pem")).unwrap();
    assert_eq!(
        cert_private
            .decrypt_oaep_base64(sent["phone"].as_str().unwrap())
            .unwrap(),
        b"13800138000"
    );
    // Asking for another key than the field was encrypted for.
    let err = c.sign(create(&b).wechatpay_serial(PK_ID)).unwrap_err();
    assert!(
        matches!(err, BuildError::Sensitive(OaepError::SerialConflict { .. })),
        "{err:?}"
    );
}

#[test]
fn sensitive_errors() {
    // Too long: 215 UTF-8 bytes.
    let c = client(both());
    let mut b = body();
    b.name = Some(Sensitive::new("中".repeat(71) + "xy"));
    assert!(matches!(
        c.sign(create(&b)).unwrap_err(),
        BuildError::Sensitive(OaepError::TooLong { len: 215, max: 214 })
    ));
    let mut b = body();
    b.name = Some(Sensitive::new("中".repeat(71) + "x"));
    c.sign(create(&b)).unwrap();
    // No platform key to encrypt with.
    let none = client(PlatformKeys::new());
    assert!(matches!(
        none.sign(create(&body())).unwrap_err(),
        BuildError::Sensitive(OaepError::NoKey(_))
    ));
    // An unknown named key.
    assert!(matches!(
        c.sign(create(&body()).wechatpay_serial("ABCDEF")).unwrap_err(),
        BuildError::Sensitive(OaepError::NoKey(s)) if s == "ABCDEF"
    ));
    // Plaintext never leaks through another serialiser or Debug.
    assert!(serde_json::to_string(&body()).is_err());
    assert!(!format!("{:?}", body()).contains("张三"));
    // Without sensitive fields nothing changes: no marker, no RNG, the preferred serial.
    let plain = Call::<Value>::post("/v3/x").json(&serde_json::json!({"a": 1}));
    assert_eq!(
        c.sign(plain).unwrap().request.headers()["wechatpay-serial"],
        PK_ID
    );
}

#[test]
fn answers_are_decrypted_with_the_merchant_key() {
    let c = client(both());
    #[derive(serde::Deserialize)]
    struct Answer {
        phone: Sensitive,
    }
    let b64 = String::from_utf8(read("oaep/openssl_merchant_phone.b64")).unwrap();
    let a: Answer = serde_json::from_value(serde_json::json!({ "phone": b64 })).unwrap();
    assert_eq!(c.decrypt(&a.phone).unwrap().as_str(), "13800138000");
    assert_eq!(
        c.decrypt(&Sensitive::encrypted("bad", "x")),
        Err(OaepError::Base64)
    );
}

#[test]
fn sensitive_query_values_are_encrypted_with_the_named_key() {
    let c = client(both());
    let call = wechatpay_core::Call::<Value>::get(
        "/v3/capital/capitallhh/banks/search-banks-by-bank-account",
    )
    .query("offset", 0)
    .query_sensitive("account_number", &Sensitive::new("6222021234567890123"))
    .query("limit", 10);
    let signed = c.sign(call).unwrap();
    let r = &signed.request;
    assert_eq!(r.headers()["wechatpay-serial"], PK_ID);
    let query = r.uri().query().unwrap();
    assert!(!query.contains("6222021234567890123"), "{query}");
    let pairs: Vec<(String, String)> = query
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            let d = |x: &str| {
                percent_encoding::percent_decode_str(x)
                    .decode_utf8()
                    .unwrap()
                    .into_owned()
            };
            (d(k), d(v))
        })
        .collect();
    assert_eq!(pairs[0], ("offset".into(), "0".into()));
    assert_eq!(pairs[1].0, "account_number");
    assert_eq!(pairs[2], ("limit".into(), "10".into()));
    let pk_private = PrivateKey::from_pem(read("keys/platform_pubkey_mode_key.pem")).unwrap();
    assert_eq!(
        pk_private.decrypt_oaep_base64(&pairs[1].1).unwrap(),
        b"6222021234567890123"
    );
    // The signature covers the encrypted query as sent.
    let auth = r.headers()["authorization"].to_str().unwrap();
    let sig = auth
        .split("signature=\"")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    let nonce = auth
        .split("nonce_str=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let message = wechatpay_core::sign::request_message(
        "GET",
        r.uri().path_and_query().unwrap().as_str(),
        1_800_000_000,
        nonce,
        b"",
    );
    PlatformKey::from_public_key_pem("M", read("keys/merchant_public.pem"))
        .unwrap()
        .verify(&message, sig)
        .unwrap();
    // A ciphertext made for one key and a request naming another: refused.
    let call = wechatpay_core::Call::<Value>::get("/v3/x")
        .query_sensitive(
            "a",
            &Sensitive::encrypted("Y2lwaGVy", "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A"),
        )
        .wechatpay_serial(PK_ID);
    assert!(matches!(
        c.sign(call).unwrap_err(),
        BuildError::Sensitive(OaepError::SerialConflict { .. })
    ));
}

#[test]
fn a_body_holding_a_placeholder_of_its_own_is_refused() {
    let c = client(both());
    // The placeholder the first sensitive plaintext gets, typed into another field by a user.
    let mut b = body();
    b.appid = "\u{0}wechatpay-sensitive-0\u{0}".into();
    let err = c.sign(create(&b)).unwrap_err();
    assert!(
        matches!(err, BuildError::Sensitive(OaepError::Placeholder)),
        "{err:?}"
    );
    // Without sensitive fields nothing is replaced and the text is sent as it is.
    b.name = None;
    b.phone = None;
    let signed = c.sign(create(&b)).unwrap();
    assert!(String::from_utf8_lossy(signed.request.body()).contains("wechatpay-sensitive-0"));
}

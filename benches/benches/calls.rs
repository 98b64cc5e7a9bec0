//! Where the microseconds of one call go: each SDK step next to its raw floor, in the same run.
//!
//! `cargo bench -p wechatpay-benches`

use std::hint::black_box;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    KeyPair as _, ParsedPublicKey, RsaKeyPair, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256,
};
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use wechatpay_api::pay::transactions::Transaction;
use wechatpay_core::sign::{request_message, response_message};
use wechatpay_core::{
    ApiV3Key, FixedClock, FixedNonce, PlatformKey, PrivateKey, SignError, Signer,
};
use wechatpay_sandbox::seed;
use wechatpay_sandbox::{Gateway, Mode, TestKeys};

const NOW: i64 = 1_800_000_000;
const NONCE: &str = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS";

fn raw_key(keys: &TestKeys) -> RsaKeyPair {
    let der = base64::engine::general_purpose::STANDARD
        .decode(
            keys.merchant_key_pem
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    RsaKeyPair::from_pkcs8(&der).unwrap()
}

fn client(keys: &TestKeys) -> wechatpay_core::Client {
    keys.client_builder("https://api.mch.weixin.qq.com", Mode::Certificate)
        .clock(FixedClock(NOW))
        .nonce_source(FixedNonce(NONCE.into()))
        .build()
        .unwrap()
}

struct NoSign;
impl Signer for NoSign {
    fn algorithm(&self) -> &str {
        "SHA256-RSA2048"
    }
    fn sign(&self, _: &[u8]) -> Result<String, SignError> {
        Ok("c2lnbmF0dXJl".into())
    }
}

fn sign(c: &mut Criterion) {
    let keys = TestKeys::load();
    let client = client(&keys);
    let signed = client.sign(seed::call("ORDER-2027-0115-001")).unwrap();
    let msg = request_message(
        "POST",
        signed.request.uri().path(),
        NOW,
        NONCE,
        signed.request.body(),
    );
    let raw = raw_key(&keys);
    let rng = SystemRandom::new();
    let mut g = c.benchmark_group("sign");
    g.bench_function("raw aws-lc-rs RSA-2048 sign (same message length)", |b| {
        let mut sig = vec![0u8; raw.public_modulus_len()];
        b.iter(|| {
            raw.sign(&RSA_PKCS1_SHA256, &rng, black_box(&msg), &mut sig)
                .unwrap()
        })
    });
    g.bench_function("sdk: seed call, build + serialise + sign", |b| {
        b.iter(|| {
            client
                .sign(black_box(seed::call("ORDER-2027-0115-001")))
                .unwrap()
        })
    });
    let nosign = wechatpay_core::Client::builder(
        wechatpay_core::Merchant::new(keys.mchid, keys.merchant_serial, NoSign).unwrap(),
    )
    .platform_keys(keys.platform_keys(Mode::Certificate))
    .clock(FixedClock(NOW))
    .nonce_source(FixedNonce(NONCE.into()))
    .build()
    .unwrap();
    g.bench_function("sdk: seed call, build only (stub signer)", |b| {
        b.iter(|| {
            nosign
                .sign(black_box(seed::call("ORDER-2027-0115-001")))
                .unwrap()
        })
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    let keys = TestKeys::load();
    let client = client(&keys);
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let create = client
        .sign(wechatpay_api::payscore::payafter_orders::create(
            &seed::create("ORDER-2027-0115-001"),
        ))
        .unwrap();
    gw.handle(&create.request, NOW);
    let signed = client.sign(seed::call("ORDER-2027-0115-001")).unwrap();
    let response = gw.handle(&signed.request, NOW).response;
    client.verify_at(&signed.expect, &response, NOW).unwrap();
    let h = response.headers();
    let msg = response_message(
        h["wechatpay-timestamp"].to_str().unwrap(),
        h["wechatpay-nonce"].to_str().unwrap(),
        response.body(),
    );
    let sig = base64::engine::general_purpose::STANDARD
        .decode(h["wechatpay-signature"].as_bytes())
        .unwrap();
    let platform_public = raw_public(&keys);
    let mut g = c.benchmark_group("verify");
    g.bench_function("raw aws-lc-rs RSA-2048 verify (pre-parsed key)", |b| {
        let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &platform_public).unwrap();
        b.iter(|| key.verify_sig(black_box(&msg), &sig).unwrap())
    });
    g.bench_function("sdk: verify + parse the seed answer", |b| {
        b.iter(|| {
            client
                .verify_at(&signed.expect, black_box(&response), NOW)
                .unwrap()
        })
    });
    g.finish();
}

fn raw_public(keys: &TestKeys) -> Vec<u8> {
    let der = base64::engine::general_purpose::STANDARD
        .decode(
            keys.platform_key_pem
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    RsaKeyPair::from_pkcs8(&der)
        .unwrap()
        .public_key()
        .as_ref()
        .to_vec()
}

fn callback(c: &mut Criterion) {
    let keys = TestKeys::load();
    let client = client(&keys);
    let callbacks = wechatpay_core::notify::Callbacks::for_client(
        &client,
        ApiV3Key::new(keys.apiv3_key).unwrap(),
    )
    .clock(FixedClock(NOW));
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let resource = json!({"mchid": keys.mchid, "appid": "wxd678efh567hg6787", "out_trade_no": "NATIVE-0001",
        "transaction_id": "4200000000000000000000000001", "trade_type": "NATIVE", "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "", "success_time": "2027-01-15T16:00:06+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"}});
    let req = gw.notification(
        "TRANSACTION.SUCCESS",
        "支付成功",
        "transaction",
        &resource,
        NOW,
        None,
    );
    callbacks
        .verify::<Transaction>(req.headers(), req.body())
        .unwrap();
    let h = req.headers();
    let msg = response_message(
        h["wechatpay-timestamp"].to_str().unwrap(),
        h["wechatpay-nonce"].to_str().unwrap(),
        req.body(),
    );
    let sig = base64::engine::general_purpose::STANDARD
        .decode(h["wechatpay-signature"].as_bytes())
        .unwrap();
    let env: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
    let ct = base64::engine::general_purpose::STANDARD
        .decode(env["resource"]["ciphertext"].as_str().unwrap())
        .unwrap();
    let nonce: [u8; 12] = env["resource"]["nonce"]
        .as_str()
        .unwrap()
        .as_bytes()
        .try_into()
        .unwrap();
    let platform_public = raw_public(&keys);
    let mut g = c.benchmark_group("callback");
    g.bench_function("raw verify + raw AES-256-GCM decrypt", |b| {
        let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &platform_public).unwrap();
        let aes =
            LessSafeKey::new(UnboundKey::new(&AES_256_GCM, keys.apiv3_key.as_bytes()).unwrap());
        b.iter(|| {
            key.verify_sig(black_box(&msg), &sig).unwrap();
            let mut buf = ct.clone();
            aes.open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(b"transaction"),
                &mut buf,
            )
            .unwrap();
        })
    });
    g.bench_function("sdk: verify + decrypt + deserialise (Transaction)", |b| {
        b.iter(|| {
            callbacks
                .verify::<Transaction>(req.headers(), black_box(req.body()))
                .unwrap()
        })
    });
    g.finish();
}

fn key_loading(c: &mut Criterion) {
    let keys = TestKeys::load();
    let mut g = c.benchmark_group("keys (once per process, not per call)");
    g.bench_function("PEM -> signer (PrivateKey::from_pem)", |b| {
        b.iter(|| PrivateKey::from_pem(black_box(keys.merchant_key_pem)).unwrap())
    });
    g.bench_function(
        "certificate -> verifier (PlatformKey::from_certificate_pem)",
        |b| {
            b.iter(|| PlatformKey::from_certificate_pem(black_box(keys.platform_cert_pem)).unwrap())
        },
    );
    g.finish();
}

criterion_group!(benches, sign, verify, callback, key_loading);
criterion_main!(benches);

//! The crypto backend's cost through the SDK: run once per backend and compare.
//!
//! `cargo bench -p wechatpay-core --bench backend` (aws-lc-rs) and
//! `cargo bench -p wechatpay-core --bench backend --no-default-features --features ring`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use wechatpay_core::ApiV3Key;
use wechatpay_core::{PlatformKey, PrivateKey, CRYPTO_BACKEND};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn backend(c: &mut Criterion) {
    let key = PrivateKey::from_pem(fixture("merchant_key.pem")).unwrap();
    let public = PlatformKey::from_public_key_pem("M", fixture("merchant_public.pem")).unwrap();
    // A message as long as the seed call's (~560 bytes).
    let message = vec![b'x'; 560];
    let sig = key.sign_base64(&message).unwrap();
    let apiv3 = ApiV3Key::new("SANDBOXtestONLYapiv3key000000001").unwrap();
    let plaintext = vec![b'{'; 700];
    let ct = apiv3
        .encrypt("0123456789ab", "transaction", &plaintext)
        .unwrap();
    let oaep = public.encrypt_oaep("张三".as_bytes()).unwrap();
    let mut g = c.benchmark_group(CRYPTO_BACKEND);
    g.bench_function("RSA-2048 sign (PrivateKey::sign_base64)", |b| {
        b.iter(|| key.sign_base64(black_box(&message)).unwrap())
    });
    g.bench_function("RSA-2048 verify (PlatformKey::verify)", |b| {
        b.iter(|| public.verify(black_box(&message), &sig).unwrap())
    });
    g.bench_function("AES-256-GCM decrypt 700 B (ApiV3Key::decrypt)", |b| {
        b.iter(|| {
            apiv3
                .decrypt("0123456789ab", "transaction", black_box(&ct))
                .unwrap()
        })
    });
    g.bench_function("RSA-OAEP encrypt (PlatformKey::encrypt_oaep)", |b| {
        b.iter(|| public.encrypt_oaep(black_box("张三".as_bytes())).unwrap())
    });
    g.bench_function("RSA-OAEP decrypt (PrivateKey::decrypt_oaep_base64)", |b| {
        b.iter(|| key.decrypt_oaep_base64(black_box(&oaep)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, backend);
criterion_main!(benches);

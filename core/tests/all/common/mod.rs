//! Shared helpers for the conformance tests. Everything is read from this repo's fixtures.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;
use wechatpay_core::{PlatformKey, PlatformKeys, PrivateKey};

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

pub fn read(rel: &str) -> Vec<u8> {
    let p = fixtures().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", p.display()))
}

pub fn json(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).expect("fixture is JSON")
}

pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("field {key} is not a string in {v}"))
}

pub fn sha256_hex(data: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The peer set's fixtures, after checking their SHA-256 as the vector README asks.
pub struct Peer {
    pub vectors: Value,
    pub mchid: String,
    pub merchant_serial: String,
    pub platform_serial: String,
    pub public_key_id: String,
    pub apiv3_key: String,
}

pub fn peer() -> Peer {
    let vectors = json("vectors/peer/vectors.json");
    let fx = &vectors["fixtures"];
    for (file, want) in fx["sha256"].as_object().expect("sha256 map") {
        let got = sha256_hex(&read(&format!("vectors/peer/fixtures/{file}")));
        assert_eq!(
            &got,
            want.as_str().unwrap(),
            "peer fixture {file} differs from its recorded SHA-256"
        );
    }
    Peer {
        mchid: s(fx, "mchid").into(),
        merchant_serial: s(fx, "merchant_serial").into(),
        platform_serial: s(fx, "platform_serial").into(),
        public_key_id: s(fx, "public_key_id").into(),
        apiv3_key: s(fx, "apiv3_key").into(),
        vectors,
    }
}

impl Peer {
    pub fn merchant_key(&self) -> PrivateKey {
        PrivateKey::from_pem(read("vectors/peer/fixtures/apiclient_key.pem")).unwrap()
    }

    /// The key store of the peer set: certificate and public key at once.
    pub fn platform_keys(&self) -> PlatformKeys {
        let cert =
            PlatformKey::from_certificate_pem(read("vectors/peer/fixtures/platform_cert.pem"))
                .unwrap();
        assert_eq!(cert.id(), self.platform_serial);
        let pk = PlatformKey::from_public_key_pem(
            &self.public_key_id,
            read("vectors/peer/fixtures/pub_key.pem"),
        )
        .unwrap();
        PlatformKeys::new().with(cert).with(pk)
    }

    pub fn cases(&self, kind: &str) -> Vec<&Value> {
        self.vectors["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["kind"] == kind)
            .collect()
    }
}

/// Load a key store `{serial: FILE}` of the official set.
pub fn official_store(store: &Value) -> PlatformKeys {
    let mut keys = PlatformKeys::new();
    for (serial, file) in store.as_object().unwrap() {
        let pem = read(&format!("vectors/official/{}", file.as_str().unwrap()));
        let key = if String::from_utf8_lossy(&pem).contains("BEGIN CERTIFICATE") {
            let k = PlatformKey::from_certificate_pem(&pem).unwrap();
            assert_eq!(k.id(), serial, "certificate serial in the key store");
            k
        } else {
            PlatformKey::from_public_key_pem(serial.as_str(), &pem).unwrap()
        };
        keys.insert(key);
    }
    keys
}

//! The official SDKs' vectors (wechatpay-go, wechatpay-java, derived): sign, authorization,
//! canonical_url, verify.

use crate::common;

use common::*;
use serde_json::Value;
use wechatpay_core::sign::{authorization, request_message};
use wechatpay_core::{Call, Client, Merchant, PrivateKey, SignError, Signer, VerifyError};

fn cases(kind: &str) -> Vec<Value> {
    json("vectors/official/vectors.json")["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .cloned()
        .collect()
}

#[test]
fn sign_cases() {
    let cases = cases("sign");
    assert_eq!(cases.len(), 5);
    for c in &cases {
        let i = &c["inputs"];
        let key = PrivateKey::from_pem(read(&format!("vectors/official/{}", s(i, "private_key"))))
            .unwrap();
        let sig = key.sign_base64(s(i, "message").as_bytes()).unwrap();
        assert_eq!(sig, s(&c["expected"], "signature"), "{}", c["id"]);
    }
}

/// A stub signer: "signature" = prefix + message (G7), or a constant (J6).
struct Stub {
    algorithm: String,
    prefix: Option<String>,
    constant: Option<String>,
}

impl Signer for Stub {
    fn algorithm(&self) -> &str {
        &self.algorithm
    }
    fn sign(&self, message: &[u8]) -> Result<String, SignError> {
        match (&self.prefix, &self.constant) {
            (Some(p), _) => Ok(format!("{p}{}", String::from_utf8_lossy(message))),
            (_, Some(c)) => Ok(c.clone()),
            _ => Err(SignError("no stub".into())),
        }
    }
}

fn signer_of(v: &Value) -> Box<dyn Signer> {
    match s(v, "type") {
        "rsa_sha256" => Box::new(
            PrivateKey::from_pem(read(&format!("vectors/official/{}", s(v, "private_key"))))
                .unwrap(),
        ),
        "mock_prefix" => Box::new(Stub {
            algorithm: s(v, "algorithm").into(),
            prefix: Some(s(v, "prefix").into()),
            constant: None,
        }),
        "constant" => Box::new(Stub {
            algorithm: s(v, "algorithm").into(),
            prefix: None,
            constant: Some(s(v, "signature").into()),
        }),
        other => panic!("unknown signer {other}"),
    }
}

#[test]
fn authorization_cases() {
    let cases = cases("authorization");
    assert_eq!(cases.len(), 3);
    for c in &cases {
        let i = &c["inputs"];
        let e = &c["expected"];
        let ts: i64 = s(i, "timestamp").parse().unwrap();
        let message = request_message(
            s(i, "method"),
            s(i, "canonical_url"),
            ts,
            s(i, "nonce"),
            s(i, "body").as_bytes(),
        );
        assert_eq!(
            String::from_utf8(message.clone()).unwrap(),
            s(e, "message"),
            "{}",
            c["id"]
        );
        let signer = signer_of(&i["signer"]);
        let sig = signer.sign(&message).unwrap();
        assert_eq!(sig, s(e, "signature"), "{}", c["id"]);
        let header = authorization(
            signer.algorithm(),
            s(i, "mchid"),
            s(i, "nonce"),
            ts,
            s(i, "serial_no"),
            &sig,
        );
        assert_eq!(header, s(e, "authorization"), "{}", c["id"]);

        // The RSA case also goes through the client end to end (the stubs' "signatures" hold raw
        // newlines, which no HTTP header can carry).
        if s(&i["signer"], "type") == "rsa_sha256" {
            let key = PrivateKey::from_pem(read(&format!(
                "vectors/official/{}",
                s(&i["signer"], "private_key")
            )))
            .unwrap();
            let client =
                Client::builder(Merchant::new(s(i, "mchid"), s(i, "serial_no"), key).unwrap())
                    .build()
                    .unwrap();
            let mut call = Call::<Value>::new(
                s(i, "method").parse().unwrap(),
                s(i, "canonical_url").to_string(),
            );
            if !s(i, "body").is_empty() {
                call = call.json_bytes(s(i, "body").as_bytes().to_vec());
            }
            let signed = client.sign_with(call, ts, s(i, "nonce")).unwrap();
            assert_eq!(
                signed.request.headers()["authorization"],
                s(e, "authorization"),
                "{}",
                c["id"]
            );
        }
    }
}

#[test]
fn canonical_url_case() {
    let cases = cases("canonical_url");
    assert_eq!(cases.len(), 1);
    for c in &cases {
        let i = &c["inputs"];
        let e = &c["expected"];
        let url: http::Uri = s(i, "url").parse().unwrap();
        let ts: i64 = s(i, "timestamp").parse().unwrap();
        let signer = signer_of(&i["signer"]);
        let client = Client::builder(
            Merchant::with_signer(
                s(i, "mchid"),
                s(i, "serial_no"),
                std::sync::Arc::from(signer),
            )
            .unwrap(),
        )
        .base_url(format!(
            "{}://{}",
            url.scheme_str().unwrap(),
            url.authority().unwrap()
        ))
        .build()
        .unwrap();
        let mut call = Call::<Value>::new(s(i, "method").parse().unwrap(), url.path().to_string());
        for pair in url
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap();
            call = call.query(k, v);
        }
        let signed = client.sign_with(call, ts, s(i, "nonce")).unwrap();
        assert_eq!(
            signed.request.uri().path_and_query().unwrap().as_str(),
            s(e, "canonical_url")
        );
        let message = request_message(
            s(i, "method"),
            s(e, "canonical_url"),
            ts,
            s(i, "nonce"),
            b"",
        );
        assert_eq!(String::from_utf8(message).unwrap(), s(e, "message"));
        assert_eq!(
            signed.request.headers()["authorization"],
            s(e, "authorization")
        );
    }
}

#[test]
fn verify_cases() {
    let cases = cases("verify");
    assert_eq!(cases.len(), 16);
    for c in &cases {
        let i = &c["inputs"];
        let e = &c["expected"];
        let keys = official_store(&i["key_store"]);
        if let Some(r) = i.get("response") {
            let m = wechatpay_core::sign::response_message(
                s(r, "timestamp"),
                s(r, "nonce"),
                s(r, "body").as_bytes(),
            );
            assert_eq!(
                String::from_utf8(m).unwrap(),
                s(i, "message"),
                "{}",
                c["id"]
            );
        }
        let got = keys.verify(
            s(i, "serial"),
            s(i, "message").as_bytes(),
            s(i, "signature"),
        );
        let valid = e["valid"].as_bool().unwrap();
        assert_eq!(got.is_ok(), valid, "{}: {got:?}", c["id"]);
        if !valid {
            let err = got.unwrap_err();
            let kind = match err {
                VerifyError::UnknownSerial { .. } => "unknown_serial",
                VerifyError::EmptySignature => "empty_signature",
                VerifyError::SignatureEncoding => "bad_base64",
                VerifyError::SignatureMismatch { .. } => "signature_mismatch",
                other => panic!("{}: unexpected {other:?}", c["id"]),
            };
            assert_eq!(kind, s(e, "error"), "{}", c["id"]);
        }
    }
}

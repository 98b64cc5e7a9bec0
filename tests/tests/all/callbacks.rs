//! Callbacks: every failure kind, typed resources, replay, answers — sans-IO with the sandbox's
//! callback builder and a pinned clock, then over HTTP to a real endpoint.

use std::convert::Infallible;

use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use wechatpay_api::events::ServiceOrder;
use wechatpay_api::pay::transactions::Transaction;
use wechatpay_core::notify::{self, Callbacks, NotifyError};
use wechatpay_core::sign::response_message;
use wechatpay_core::{
    ApiV3Key, FixedClock, PlatformKey, PlatformKeys, PrivateKey, SharedKeys, VerifyError,
};
use wechatpay_sandbox::{Fault, Gateway, Mode, TestKeys};

const NOW: i64 = 1_800_000_000;

fn transaction() -> Value {
    json!({
        "mchid": "1900000001", "appid": "wxd678efh567hg6787", "out_trade_no": "NATIVE-1",
        "transaction_id": "4200000000000000000000000001", "trade_type": "NATIVE", "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "", "success_time": "2027-01-15T16:00:06+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"}
    })
}

fn callbacks(keys: &TestKeys, trust: Mode) -> Callbacks {
    Callbacks::for_client(
        &keys
            .client_builder("http://127.0.0.1:1", trust)
            .clock(FixedClock(NOW))
            .build()
            .unwrap(),
        ApiV3Key::new(keys.apiv3_key).unwrap(),
    )
}

fn deliver(gw: &Gateway, fault: Option<&Fault>) -> http::Request<Vec<u8>> {
    gw.notification(
        "TRANSACTION.SUCCESS",
        "支付成功",
        "transaction",
        &transaction(),
        NOW,
        fault,
    )
}

#[test]
fn typed_transaction_and_pay_after_events() {
    let keys = TestKeys::load();
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let cb = callbacks(&keys, Mode::Both);
    let req = deliver(&gw, None);
    let n = cb.verify::<Transaction>(req.headers(), req.body()).unwrap();
    assert_eq!(n.event_type, "TRANSACTION.SUCCESS");
    assert_eq!(n.resource_type, "encrypt-resource");
    assert_eq!(n.summary.as_deref(), Some("支付成功"));
    assert_eq!(n.original_type.as_deref(), Some("transaction"));
    assert_eq!(n.verified_by, keys.platform_serial);
    let t = n.resource;
    assert_eq!(t.out_trade_no.as_deref(), Some("NATIVE-1"));
    assert_eq!(t.amount.unwrap().total, Some(100));
    assert_eq!(
        t.payer.unwrap().openid.as_deref(),
        Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
    );

    // A pay-after order the user paid (PAYSCORE.USER_PAID), as a typed ServiceOrder.
    let paid = json!({"service_id": "500001", "appid": "wxd678efh567hg6787", "mchid": "1900000001",
        "out_order_no": "ORDER-1", "state": "DONE", "total_amount": 1400, "order_id": "1000000000000000000001",
        "post_payments": [{"name": "租借费", "amount": 1500, "description": "3 小时"}],
        "post_discounts": [{"name": "新用户", "amount": 300, "description": "首单"}],
        "collection": {"state": "USER_PAID", "total_amount": 1400, "paying_amount": 0, "paid_amount": 1400,
            "details": [{"seq": 1, "amount": 1400, "paid_type": "NEWTON", "paid_time": "20270115130000", "transaction_id": "42000"}]}});
    let req = gw.notification(
        "PAYSCORE.USER_PAID",
        "用户已支付",
        "payscore",
        &paid,
        NOW,
        None,
    );
    let n = cb
        .verify::<ServiceOrder>(req.headers(), req.body())
        .unwrap();
    assert_eq!(n.event_type, "PAYSCORE.USER_PAID");
    let o = n.resource;
    assert_eq!(o.out_order_no.as_deref(), Some("ORDER-1"));
    assert_eq!(o.post_payments.unwrap()[0].amount, Some(1500));
    assert_eq!(
        o.collection.unwrap().details.unwrap()[0]
            .paid_type
            .as_deref(),
        Some("NEWTON")
    );
    // Any event as JSON.
    let req = deliver(&gw, None);
    let v = cb.verify::<Value>(req.headers(), req.body()).unwrap();
    assert_eq!(v.resource, transaction());
}

/// A refund's notification delivered to a handler typed for payments (a `notify_url` routed to
/// the wrong handler) is refused before decryption and answered as a failure, without running
/// the handler; the refund type reads it, and every refund event.
#[test]
fn a_typed_handler_refuses_another_event_type() {
    use wechatpay_api::refund::domestic::{Refund, Status};
    use wechatpay_core::notify::{MemoryStore, Outcome};
    let keys = TestKeys::load();
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let cb = callbacks(&keys, Mode::Both);
    let refund = json!({"mchid": "1900000001", "out_trade_no": "NATIVE-1", "transaction_id": "4200000000000000000000000001",
        "out_refund_no": "RF-1", "refund_id": "50000000000000000000000001", "refund_status": "SUCCESS",
        "success_time": "2027-01-15T16:10:00+08:00", "user_received_account": "支付用户零钱",
        "amount": {"total": 100, "refund": 30, "payer_total": 100, "payer_refund": 30}});
    let req = gw.notification("REFUND.SUCCESS", "退款成功", "refund", &refund, NOW, None);
    match cb.verify::<Transaction>(req.headers(), req.body()) {
        Err(e @ NotifyError::UnexpectedEvent { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("REFUND.SUCCESS") && text.contains("TRANSACTION.SUCCESS"),
                "{text}"
            );
            assert!(text.contains("notify_url"), "{text}");
            assert_eq!(e.kind(), "unexpected_event_type");
            assert_eq!(e.answer().status(), 500);
        }
        other => panic!("expected UnexpectedEvent, got {other:?}"),
    }
    let store = MemoryStore::default();
    let mut ran = false;
    let handled = cb.handle_blocking::<Transaction, _>(&store, req.headers(), req.body(), |_| {
        ran = true;
        Ok(())
    });
    assert!(!ran, "the handler of another event type ran");
    assert!(matches!(
        handled.outcome,
        Outcome::Rejected(NotifyError::UnexpectedEvent { .. })
    ));
    assert_eq!(handled.answer.status(), 500);
    // The refund type reads it (and REFUND.ABNORMAL, REFUND.CLOSED), and refuses a payment.
    let n = cb.verify::<Refund>(req.headers(), req.body()).unwrap();
    assert_eq!(n.resource.refund_status, Some(Status::Success));
    assert_eq!(n.resource.amount.refund, 30);
    for event in ["REFUND.ABNORMAL", "REFUND.CLOSED"] {
        let req = gw.notification(event, "退款", "refund", &refund, NOW, None);
        assert!(
            cb.verify::<Refund>(req.headers(), req.body()).is_ok(),
            "{event}"
        );
    }
    let req = deliver(&gw, None);
    assert!(matches!(
        cb.verify::<Refund>(req.headers(), req.body()),
        Err(NotifyError::UnexpectedEvent { .. })
    ));
    // Every event type is read by exactly the types EVENT_TYPES names for it.
    assert!(wechatpay_api::events::EVENT_TYPES
        .contains(&("REFUND.SUCCESS", "wechatpay_api::refund::domestic::Refund")));
    assert!(wechatpay_api::events::EVENT_TYPES.contains(&(
        "TRANSACTION.SUCCESS",
        "wechatpay_api::pay::transactions::Transaction"
    )));
}

#[test]
fn every_failure_kind() {
    let keys = TestKeys::load();
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let cb = callbacks(&keys, Mode::Both);
    let fail =
        |req: http::Request<Vec<u8>>| cb.verify::<Value>(req.headers(), req.body()).unwrap_err();

    assert!(matches!(
        fail(deliver(&gw, Some(&Fault::TamperedBody))),
        NotifyError::BodyAltered { .. }
    ));
    assert!(matches!(
        fail(deliver(&gw, Some(&Fault::WrongSignature))),
        NotifyError::BodyAltered { .. }
    ));
    assert!(matches!(
        fail(deliver(&gw, Some(&Fault::Probe))),
        NotifyError::Probe
    ));
    assert!(matches!(
        fail(deliver(&gw, Some(&Fault::StaleTimestamp))),
        NotifyError::Stale {
            offset: 3600,
            window: 300
        }
    ));
    assert!(matches!(
        fail(deliver(&gw, Some(&Fault::MissingSignatureHeaders))),
        NotifyError::Verify(VerifyError::MissingHeader { .. })
    ));
    let e = fail(deliver(&gw, Some(&Fault::UnknownSerial)));
    assert!(e.is_unknown_serial(), "{e:?}");

    // The body re-serialised by a web framework (same JSON, other bytes).
    let req = deliver(&gw, None);
    let v: Value = serde_json::from_slice(req.body()).unwrap();
    let pretty = serde_json::to_vec_pretty(&v).unwrap();
    assert!(matches!(
        cb.verify::<Value>(req.headers(), &pretty).unwrap_err(),
        NotifyError::BodyAltered { .. }
    ));

    // A wrong APIv3 key is named as such.
    let wrong = Callbacks::for_client(
        &keys
            .client_builder("http://127.0.0.1:1", Mode::Both)
            .clock(FixedClock(NOW))
            .build()
            .unwrap(),
        ApiV3Key::new("wrongwrongwrongwrongwrongwrong32").unwrap(),
    );
    let req = deliver(&gw, None);
    let e = wrong
        .verify::<Value>(req.headers(), req.body())
        .unwrap_err();
    assert!(matches!(e, NotifyError::WrongApiV3Key), "{e:?}");
    assert!(e.to_string().contains("APIv3 key"));

    // The merchant certificate configured where the platform certificate belongs.
    let merchant_as_platform = PlatformKeys::new().with(
        PlatformKey::from_public_key_pem(
            "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
            keys.merchant_public_pem,
        )
        .unwrap(),
    );
    let mistaken = Callbacks::new(
        SharedKeys::new(merchant_as_platform),
        ApiV3Key::new(keys.apiv3_key).unwrap(),
    )
    .merchant_serial(keys.merchant_serial)
    .clock(FixedClock(NOW));
    let req = deliver(&gw, None);
    let e = mistaken
        .verify::<Value>(req.headers(), req.body())
        .unwrap_err();
    assert!(
        matches!(e, NotifyError::MerchantCertificateConfigured { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("apiclient_cert.pem"));

    // Another signature type.
    let mut req = deliver(&gw, None);
    req.headers_mut().insert(
        "Wechatpay-Signature-Type",
        "WECHATPAY2-SM2-WITH-SM3".parse().unwrap(),
    );
    assert!(matches!(
        fail(req),
        NotifyError::UnsupportedSignatureType(_)
    ));

    // Authentic, but not an envelope / another algorithm / a resource of the wrong shape.
    let platform = PrivateKey::from_pem(keys.platform_key_pem).unwrap();
    let signed = |body: &[u8]| {
        let sig = platform
            .sign_base64(&response_message(&NOW.to_string(), "n1", body))
            .unwrap();
        http::Request::builder()
            .header("Wechatpay-Timestamp", NOW.to_string())
            .header("Wechatpay-Nonce", "n1")
            .header("Wechatpay-Serial", keys.platform_serial)
            .header("Wechatpay-Signature", sig)
            .body(body.to_vec())
            .unwrap()
    };
    assert!(matches!(
        fail(signed(b"[1,2]")),
        NotifyError::Envelope { .. }
    ));
    let sm4 = json!({"id":"x","create_time":"t","event_type":"E","resource_type":"encrypt-resource",
        "resource":{"algorithm":"AEAD_SM4_GCM","ciphertext":"AAAA","nonce":"012345678901"}});
    assert!(
        matches!(fail(signed(sm4.to_string().as_bytes())), NotifyError::UnsupportedAlgorithm(a) if a == "AEAD_SM4_GCM")
    );
    let bad_nonce = json!({"id":"x","create_time":"t","event_type":"E","resource_type":"encrypt-resource",
        "resource":{"algorithm":"AEAD_AES_256_GCM","ciphertext":"AAAA","nonce":"short"}});
    assert!(matches!(
        fail(signed(bad_nonce.to_string().as_bytes())),
        NotifyError::Decrypt(_)
    ));
    let req = gw.notification(
        "TRANSACTION.SUCCESS",
        "s",
        "transaction",
        &json!({"amount": "oUpF8u-a-personal-value"}),
        NOW,
        None,
    );
    let wrong_shape = cb
        .verify::<Transaction>(req.headers(), req.body())
        .unwrap_err();
    assert!(matches!(wrong_shape, NotifyError::Resource { .. }));
    // The message (logged, and sent back in the answer) quotes no value of the plaintext; the
    // error keeps it for the caller.
    let message = wrong_shape.to_string();
    assert!(!message.contains("personal"), "{message}");
    assert!(
        message.contains(r#"invalid type: string "…", expected"#),
        "{message}"
    );
    let answer = String::from_utf8(wrong_shape.answer().into_body()).unwrap();
    assert!(!answer.contains("personal"), "{answer}");
    let source = std::error::Error::source(&wrong_shape).unwrap().to_string();
    assert!(source.contains("oUpF8u-a-personal-value"), "{source}");

    // Answers.
    assert_eq!(notify::success().status(), 204);
    let a = e.answer();
    assert_eq!(a.status(), 500);
    let body: Value = serde_json::from_slice(a.body()).unwrap();
    assert_eq!(body["code"], "FAIL");
}

/// Replayed bytes are refused by `handle`, which records each delivery in its store: one
/// mechanism. WeChat Pay's retry (newly signed) is not a replay.
#[test]
fn replayed_deliveries_are_refused_and_retries_pass() {
    use wechatpay_core::notify::{MemoryStore, Outcome};
    let keys = TestKeys::load();
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let cb = callbacks(&keys, Mode::Both);
    let store = MemoryStore::default();
    let handle = |req: &http::Request<Vec<u8>>, body: &[u8]| {
        cb.handle_blocking::<Value, _>(&store, req.headers(), body, |_| Ok(()))
    };
    let body = gw.notification_body(
        "TRANSACTION.SUCCESS",
        "支付成功",
        "transaction",
        &transaction(),
        NOW,
    );
    let first = gw.sign_notification(body.clone(), NOW, None);
    assert!(matches!(
        handle(&first, first.body()).outcome,
        Outcome::Processed
    ));
    // The same bytes again: refused with a failure answer, never "success" for a replay.
    let again = handle(&first, first.body());
    assert!(matches!(again.outcome, Outcome::Replayed), "{again:?}");
    assert_eq!(again.answer.status(), 500);
    // WeChat Pay's retry of the same notification (same id, newly signed) is not a replay: it
    // was processed already, and is answered success.
    let retry = gw.sign_notification(body, NOW + 15, None);
    let retried = handle(&retry, retry.body());
    assert!(
        matches!(retried.outcome, Outcome::AlreadyProcessed),
        "{retried:?}"
    );
    assert_eq!(retried.answer.status(), 204);
    // A failed delivery (tampered) is not recorded: the genuine bytes still pass.
    let other = deliver(&gw, None);
    let mut tampered = other.body().clone();
    tampered.push(b' ');
    assert!(matches!(
        handle(&other, &tampered).outcome,
        Outcome::Rejected(_)
    ));
    assert!(matches!(
        handle(&other, other.body()).outcome,
        Outcome::Processed
    ));
}

#[test]
fn migration_callbacks_signed_with_either_key() {
    let keys = TestKeys::load();
    let gw = Gateway::with_test_keys(Mode::Both);
    let both = callbacks(&keys, Mode::Both);
    let req = deliver(&gw, None);
    assert_eq!(
        both.verify::<Value>(req.headers(), req.body())
            .unwrap()
            .verified_by,
        keys.platform_serial
    );
    gw.switch_to_public_key(None);
    let req = deliver(&gw, None);
    assert_eq!(
        both.verify::<Value>(req.headers(), req.body())
            .unwrap()
            .verified_by,
        keys.public_key_id
    );
    // A merchant that only kept the certificate cannot verify the public-key callbacks.
    let cert_only = callbacks(&keys, Mode::Certificate);
    assert!(cert_only
        .verify::<Value>(req.headers(), req.body())
        .unwrap_err()
        .is_unknown_serial());
}

/// A callback endpoint over real HTTP: hyper server on 127.0.0.1, the sandbox POSTs to it.
#[test]
fn over_http_to_an_endpoint() {
    let keys = TestKeys::load();
    let gw = Gateway::with_test_keys(Mode::Both);
    let cb = Callbacks::for_client(
        &keys
            .client_builder("http://127.0.0.1:1", Mode::Both)
            .build()
            .unwrap(),
        ApiV3Key::new(keys.apiv3_key).unwrap(),
    );
    let store = std::sync::Arc::new(wechatpay_core::notify::MemoryStore::default());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/wechatpay/notify", listener.local_addr().unwrap());
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<String>();
    // Serve a bounded number of connections, then stop.
    let server = rt.spawn(async move {
        for _ in 0..3 {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let cb = cb.clone();
            let store = store.clone();
            let seen_tx = seen_tx.clone();
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let cb = cb.clone();
                    let store = store.clone();
                    let seen_tx = seen_tx.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let raw = body
                            .collect()
                            .await
                            .map(|c| c.to_bytes())
                            .unwrap_or_default();
                        let record = |n: notify::Notification<Transaction>| async move {
                            let _ = seen_tx.send(n.resource.out_trade_no.unwrap_or_default());
                            Ok(())
                        };
                        let handled = cb.handle(&*store, &parts.headers, &raw, record).await;
                        let answer = handled.answer;
                        let (p, b) = answer.into_parts();
                        Ok::<_, Infallible>(hyper::Response::from_parts(
                            p,
                            Full::new(bytes::Bytes::from(b)),
                        ))
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        }
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ok = gw.notification(
        "TRANSACTION.SUCCESS",
        "支付成功",
        "transaction",
        &transaction(),
        now,
        None,
    );
    let (status, _) = wechatpay_sandbox::server::post_notification(&url, ok.clone()).unwrap();
    assert_eq!(status, 204);
    assert_eq!(seen_rx.recv().unwrap(), "NATIVE-1");
    // The same delivery again is a replay; a probe gets a failure answer.
    let (status, body) = wechatpay_sandbox::server::post_notification(&url, ok).unwrap();
    assert_eq!(status, 500);
    assert!(String::from_utf8_lossy(&body).contains("received before"));
    let probe = gw.notification(
        "TRANSACTION.SUCCESS",
        "支付成功",
        "transaction",
        &transaction(),
        now,
        Some(&Fault::Probe),
    );
    let (status, body) = wechatpay_sandbox::server::post_notification(&url, probe).unwrap();
    assert_eq!(status, 500);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["code"],
        "FAIL"
    );
    rt.block_on(server).unwrap();
}

#[test]
fn apiv3_key_is_validated_and_secret() {
    let k = ApiV3Key::new("SANDBOXtestONLYapiv3key000000001").unwrap();
    let shown = format!("{k:?} {:?}", callbacks(&TestKeys::load(), Mode::Both));
    assert!(!shown.contains("SANDBOXtestONLY"), "{shown}");
    for bad in ["", "short", "SANDBOXtestONLYapiv3key0000000012"] {
        assert!(
            matches!(
                ApiV3Key::new(bad),
                Err(wechatpay_core::AeadError::KeyLength { .. })
            ),
            "{bad:?}"
        );
    }
}

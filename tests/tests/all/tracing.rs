//! The `tracing` a production service sees: one span per call with its outcome, events for
//! refreshes and rejected callbacks — and never a secret, a signature or a body.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;
use wechatpay_api::bill::{tradebill, GetTradeBillRequest};
use wechatpay_api::payscore::payafter_orders::{complete, create};
use wechatpay_core::notify::{
    BoxFuture, Claim, MemoryStore, NotificationStore, Outcome, StoreError,
};
use wechatpay_core::{ApiV3Key, Call};
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::{Fault, Gateway, Mode, TestKeys};

/// A span's or an event's name with its fields.
type Recorded = (String, Vec<(String, String)>);

/// Everything recorded: span names with their fields, and events with theirs.
#[derive(Default, Clone)]
struct Captured(Arc<Mutex<Vec<Recorded>>>);

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_string(), value.to_string()));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Captured {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut f = Fields(Vec::new());
        attrs.record(&mut f);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Fields(f.0));
        }
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(f) = ext.get_mut::<Fields>() {
                values.record(f);
            }
        }
    }
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields(Vec::new());
        event.record(&mut f);
        f.0.push(("level".into(), event.metadata().level().to_string()));
        self.0
            .lock()
            .unwrap()
            .push((format!("event:{}", event.metadata().target()), f.0));
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            let fields = span
                .extensions()
                .get::<Fields>()
                .map(|f| f.0.clone())
                .unwrap_or_default();
            self.0
                .lock()
                .unwrap()
                .push((span.name().to_string(), fields));
        }
    }
}

fn get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Everything recorded on this thread until the guard is dropped.
fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    (captured, tracing::subscriber::set_default(subscriber))
}

#[test]
fn calls_refreshes_and_rejected_callbacks_are_traced_without_secrets() {
    let (captured, _guard) = capture();

    let keys = TestKeys::load();
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let core = keys
        .client_builder(&server.base_url(), Mode::Certificate)
        .apiv3_key(ApiV3Key::new(keys.apiv3_key).unwrap())
        .build()
        .unwrap();
    let client = wechatpay_ureq::Client::with_config(
        core.clone(),
        wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None),
    )
    .unwrap();
    // A call that succeeds, after a rotation: it refreshes once.
    server.gateway().rotate_certificate(keys.rotated_signer());
    let no = "TRACE-SECRET-ORDER-001";
    client
        .send(create(&wechatpay_sandbox::seed::create(no)))
        .unwrap();
    client
        .send(complete(no, &wechatpay_sandbox::seed::body()))
        .unwrap();
    // A call whose answer is tampered with.
    server.gateway().set_fault(Some(Fault::TamperedBody));
    client
        .send(Call::<Value>::get("/v3/certificates"))
        .unwrap_err();
    server.gateway().set_fault(None);
    // A rejected callback (a probe).
    let callbacks = wechatpay_core::notify::Callbacks::for_client(
        &core,
        ApiV3Key::new(keys.apiv3_key).unwrap(),
    );
    let cb = server.gateway().notification(
        "TRANSACTION.SUCCESS",
        "支付成功",
        "transaction",
        &serde_json::json!({"out_trade_no": no}),
        core.now(),
        Some(&Fault::Probe),
    );
    let handled = callbacks
        .refresh_through_blocking(client.clone())
        .handle_blocking(
            &wechatpay_core::notify::MemoryStore::default(),
            cb.headers(),
            cb.body(),
            |_: wechatpay_core::notify::Notification<Value>| Ok(()),
        );
    assert!(matches!(
        handled.outcome,
        wechatpay_core::notify::Outcome::Rejected(_)
    ));
    // Bills: the query is a call and the download one more, also when its digest check fails
    // or when the transport drops it after sending its request.
    let query = GetTradeBillRequest {
        bill_date: "2026-01-14".into(),
        ..Default::default()
    };
    let info = client.send(tradebill::get(&query)).unwrap().data;
    let token = info
        .download_url
        .split_once("token=")
        .unwrap()
        .1
        .to_string();
    client.download_bill(&info, false, Vec::new()).unwrap();
    let wrong_hash = tradebill::get(&query).header(wechatpay_sandbox::FAULT_HEADER, "wrong-hash");
    let bad = client.send(wrong_hash).unwrap().data;
    client.download_bill(&bad, false, Vec::new()).unwrap_err();
    let config = wechatpay_core::transport::Config::default();
    let mut dropped =
        wechatpay_core::exchange::Download::bill(&core, &info, false, Vec::new(), &config).unwrap();
    dropped.request().unwrap();
    drop(dropped);
    // An APIv2 call (XML, the APIv2 key), the order number in its body.
    let order = wechatpay_api::v2::pay::unifiedorder::Request {
        appid: "wxd678efh567hg6787".into(),
        body: "Image".into(),
        out_trade_no: no.into(),
        total_fee: 100,
        spbill_create_ip: "127.0.0.1".into(),
        notify_url: "https://example.com/notify".into(),
        trade_type: "NATIVE".into(),
        ..Default::default()
    };
    let call = wechatpay_api::v2::pay::unifiedorder::call(&order).unwrap();
    client.send_v2(call).unwrap();

    let all = captured.0.lock().unwrap().clone();
    let calls: Vec<&Vec<(String, String)>> = all
        .iter()
        .filter(|(n, _)| n == "wechatpay.call")
        .map(|(_, f)| f)
        .collect();
    assert_eq!(calls.len(), 9, "one span per call: {all:?}");
    let first = calls[0];
    assert_eq!(get(first, "method"), Some("POST"));
    assert_eq!(get(first, "path"), Some("/v3/payscore/payafter-orders"));
    assert_eq!(get(first, "status"), Some("200"));
    assert!(get(first, "request_id").unwrap().starts_with("SANDBOX-"));
    assert_eq!(get(first, "verified_by"), Some(keys.rotated_serial));
    assert_eq!(get(first, "outcome"), Some("ok"));
    assert_eq!(get(first, "refreshed"), Some("true"));
    assert!(get(first, "duration_ms").is_some());
    // The second names the template, not the order number.
    assert_eq!(
        get(calls[1], "path"),
        Some("/v3/payscore/payafter-orders/{out_order_no}/complete")
    );
    assert_eq!(get(calls[1], "refreshed"), Some("false"));
    assert_eq!(get(calls[2], "outcome"), Some("verification_failed"));
    let download = calls[4];
    assert_eq!(get(download, "method"), Some("GET"));
    assert_eq!(get(download, "path"), Some("/v3/billdownload/file"));
    assert_eq!(get(download, "status"), Some("200"));
    assert_eq!(get(download, "verified_by"), Some("unsigned download"));
    assert_eq!(get(download, "outcome"), Some("ok"));
    assert!(get(download, "duration_ms").is_some());
    assert_eq!(get(calls[6], "outcome"), Some("bill_error"));
    assert_eq!(get(calls[7], "outcome"), Some("transport_error"));
    assert_eq!(get(calls[7], "status"), None);
    assert!(get(calls[7], "duration_ms").is_some());
    let v2 = calls[8];
    assert_eq!(get(v2, "method"), Some("POST"));
    assert_eq!(get(v2, "path"), Some("/pay/unifiedorder"));
    assert_eq!(get(v2, "status"), Some("200"));
    assert_eq!(get(v2, "outcome"), Some("ok"));
    assert!(get(v2, "duration_ms").is_some());
    let events: Vec<&Vec<(String, String)>> = all
        .iter()
        .filter(|(n, _)| n.starts_with("event:wechatpay"))
        .map(|(_, f)| f)
        .collect();
    assert!(events.iter().any(
        |e| get(e, "message") == Some("platform certificates refreshed")
            && get(e, "level") == Some("INFO")
    ));
    assert!(
        events
            .iter()
            .any(|e| get(e, "message") == Some("callback rejected")
                && get(e, "kind") == Some("probe"))
    );

    // No secret anywhere: keys, the APIv3 key, a body, the order number, a signature.
    let text = format!("{all:?}");
    let merchant_key_body: String = keys.merchant_key_pem.lines().nth(2).unwrap().to_string();
    for secret in [
        token.as_str(),
        "<xml",
        keys.apiv3_key,
        merchant_key_body.as_str(),
        "PRIVATE KEY",
        no,
        "appid",
        "signature=",
        "WECHATPAY2-SHA256-RSA2048 mchid",
    ] {
        assert!(!text.contains(secret), "{secret:?} was recorded: {text}");
    }
}

/// A notification store that is down, naming its host.
struct DownStore;

const DOWN: &str = "connection refused by redis-7.internal:6379";

fn down<T: Send + 'static>() -> BoxFuture<'static, Result<T, StoreError>> {
    Box::pin(async { Err(StoreError::Unavailable(DOWN.into())) })
}

impl NotificationStore for DownStore {
    fn record_delivery<'a>(
        &'a self,
        _: &'a [String],
        _: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        down()
    }
    fn claim<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        down()
    }
    fn complete<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        down()
    }
    fn release<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        down()
    }
}

#[test]
fn the_merchants_failures_are_logged_for_the_merchant_not_answered_to_wechat_pay() {
    let (captured, _guard) = capture();

    let keys = TestKeys::load();
    let gateway = Gateway::with_test_keys(Mode::Certificate);
    let core = keys
        .client_builder("http://127.0.0.1:1", Mode::Certificate)
        .build()
        .unwrap();
    let callbacks = wechatpay_core::notify::Callbacks::for_client(
        &core,
        ApiV3Key::new(keys.apiv3_key).unwrap(),
    );
    let reason = "insert failed: postgres://ledger@db-7.internal:5432 refused";
    // A failed handler, then a store that is down: each with its reason and what the answer
    // says instead.
    let cases: [(&dyn NotificationStore, &str, &str, &str); 2] = [
        (
            &MemoryStore::default(),
            reason,
            "handler_failed",
            "handler failed",
        ),
        (&DownStore, DOWN, "store_failed", "store failed"),
    ];
    for (store, reason, outcome, said) in cases {
        captured.0.lock().unwrap().clear();
        let cb = gateway.notification(
            "TRANSACTION.SUCCESS",
            "支付成功",
            "transaction",
            &serde_json::json!({"out_trade_no": "T-1"}),
            core.now(),
            None,
        );
        let handled = callbacks.handle_blocking::<Value, _>(store, cb.headers(), cb.body(), |_| {
            Err("insert failed: postgres://ledger@db-7.internal:5432 refused".into())
        });
        // The merchant has the reason: in the outcome, and in the log.
        match &handled.outcome {
            Outcome::HandlerFailed(m) => assert_eq!(m, reason),
            Outcome::StoreFailed(e) => assert!(e.to_string().contains(reason), "{e}"),
            other => panic!("{other:?}"),
        }
        let all = captured.0.lock().unwrap().clone();
        let event = all
            .iter()
            .find(|(n, f)| {
                n == "event:wechatpay"
                    && get(f, "message") == Some("callback answered with failure")
            })
            .map(|(_, f)| f)
            .unwrap_or_else(|| panic!("no failure event: {all:?}"));
        assert_eq!(get(event, "outcome"), Some(format!("{outcome:?}").as_str()));
        assert!(
            get(event, "error").is_some_and(|e| e.contains(reason)),
            "{event:?}"
        );
        assert_eq!(get(event, "level"), Some("WARN"));
        // WeChat Pay gets a failure that retries, without the merchant's internals.
        assert_eq!(handled.answer.status(), 500);
        let answer: Value = serde_json::from_slice(handled.answer.body()).unwrap();
        assert_eq!(answer["code"], "FAIL");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(said), "{message}");
        assert!(!message.contains(".internal"), "{message}");
    }
}

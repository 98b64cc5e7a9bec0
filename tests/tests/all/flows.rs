//! Whole flows against the sandbox, as WeChat Pay plays them: an order paid, its notification
//! delivered to the merchant's axum endpoint and processed once, the query, a refund and its
//! notification.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use wechatpay_api::pay::transactions::Transaction;
use wechatpay_api::refund::domestic::Refund;
use wechatpay_axum::{Answer, Delivery, Notifications};
use wechatpay_core::notify::Notification;
use wechatpay_core::Call;
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::{Gateway, Mode, TestKeys, PAY_PATH};

#[derive(Clone)]
struct Merchant {
    notifications: Notifications,
    seen: Arc<Mutex<Vec<String>>>,
}

impl axum::extract::FromRef<Merchant> for Notifications {
    fn from_ref(m: &Merchant) -> Notifications {
        m.notifications.clone()
    }
}

async fn paid(State(m): State<Merchant>, delivery: Delivery) -> Answer {
    let seen = m.seen.clone();
    m.notifications
        .handle(delivery, |n: Notification<Transaction>| async move {
            let no = n.resource.out_trade_no.unwrap_or_default();
            seen.lock().unwrap().push(format!("{} {no}", n.event_type));
            Ok::<_, String>(())
        })
        .await
}

async fn refunded(State(m): State<Merchant>, delivery: Delivery) -> Answer {
    let seen = m.seen.clone();
    m.notifications
        .handle(delivery, |n: Notification<Refund>| async move {
            let no = n.resource.out_refund_no;
            seen.lock().unwrap().push(format!("{} {no}", n.event_type));
            Ok::<_, String>(())
        })
        .await
}

/// The merchant's endpoint on 127.0.0.1, serving until the runtime is dropped.
fn endpoint(
    rt: &tokio::runtime::Runtime,
    notifications: Notifications,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/notify/payment", post(paid))
        .route("/notify/refund", post(refunded))
        .with_state(Merchant {
            notifications,
            seen: seen.clone(),
        });
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

/// Wait (at most 10 s) until `seen` holds `n` entries.
fn wait_for(seen: &Mutex<Vec<String>>, n: usize) -> Vec<String> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let now = seen.lock().unwrap().clone();
        if now.len() >= n || Instant::now() > end {
            return now;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn pay_notify_query_refund_notify() {
    let gateway = Gateway::with_test_keys(Mode::Certificate);
    gateway.set_delivery_scale(0.001);
    let server = Server::start(gateway).unwrap();
    let keys = TestKeys::load();
    let core = keys
        .client_builder(&server.base_url(), Mode::Certificate)
        .apiv3_key(wechatpay_core::ApiV3Key::new(keys.apiv3_key).unwrap())
        .build()
        .unwrap();
    let client = wechatpay_ureq::Client::with_config(
        core,
        wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, seen) = endpoint(&rt, Notifications::new(client.callbacks().unwrap()));

    let order = json!({
        "appid": "wxd678efh567hg6787", "mchid": keys.mchid, "description": "flow",
        "out_trade_no": "FLOW-1", "notify_url": format!("{url}/notify/payment"),
        "amount": {"total": 100},
    });
    let created = client
        .send(Call::<Value>::post("/v3/pay/transactions/native").json(&order))
        .unwrap();
    assert!(created.data["code_url"].is_string());
    // Before payment: a refund is refused, as WeChat Pay refuses it.
    let refund = |no: &str| {
        json!({"out_trade_no": "FLOW-1", "out_refund_no": no,
            "notify_url": format!("{url}/notify/refund"),
            "amount": {"refund": 40, "total": 100, "currency": "CNY"}})
    };
    let early = client
        .send(Call::<Value>::post("/v3/refund/domestic/refunds").json(&refund("R-0")))
        .unwrap_err();
    assert_eq!(
        early.api_error().unwrap().code.as_deref(),
        Some("NOT_ENOUGH")
    );

    // The user pays: the control endpoint, signed with the merchant's credentials.
    let paid = client
        .send(Call::<Transaction>::post(PAY_PATH).path_param("out_trade_no", "FLOW-1"))
        .unwrap();
    assert_eq!(
        paid.data.trade_state.as_ref().map(|s| s.as_str()),
        Some("SUCCESS")
    );
    assert_eq!(
        wait_for(&seen, 1),
        ["TRANSACTION.SUCCESS FLOW-1".to_string()]
    );
    // Paying twice is refused; nothing more is delivered.
    let again = client
        .send(Call::<Value>::post(PAY_PATH).path_param("out_trade_no", "FLOW-1"))
        .unwrap_err();
    assert_eq!(again.api_error().unwrap().status.as_u16(), 404);

    let queried = client
        .send(
            Call::<Transaction>::get("/v3/pay/transactions/out-trade-no/{out_trade_no}")
                .path_param("out_trade_no", "FLOW-1")
                .query("mchid", keys.mchid),
        )
        .unwrap();
    assert_eq!(queried.data.transaction_id, paid.data.transaction_id);

    let created = client
        .send(Call::<Refund>::post("/v3/refund/domestic/refunds").json(&refund("R-1")))
        .unwrap();
    assert_eq!(
        created.data.status.as_ref().map(|s| s.as_str()),
        Some("PROCESSING")
    );
    let seen_now = wait_for(&seen, 2);
    assert_eq!(seen_now[1], "REFUND.SUCCESS R-1");
    let done = client
        .send(
            Call::<Refund>::get("/v3/refund/domestic/refunds/{out_refund_no}")
                .path_param("out_refund_no", "R-1"),
        )
        .unwrap();
    assert_eq!(
        done.data.status.as_ref().map(|s| s.as_str()),
        Some("SUCCESS")
    );
    // More than the rest is refused.
    let over = client
        .send(
            Call::<Value>::post("/v3/refund/domestic/refunds").json(&json!({
            "out_trade_no": "FLOW-1", "out_refund_no": "R-2",
            "amount": {"refund": 61, "total": 100, "currency": "CNY"}})),
        )
        .unwrap_err();
    assert_eq!(
        over.api_error().unwrap().code.as_deref(),
        Some("NOT_ENOUGH")
    );

    // Every attempt was accepted at the first try, each recorded.
    let log = server.gateway().deliveries();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log.iter().all(|d| d.attempt == 1 && d.accepted()),
        "{log:?}"
    );
}

#[test]
fn an_endpoint_that_fails_gets_the_notification_again() {
    let gateway = Gateway::with_test_keys(Mode::Certificate);
    gateway.set_delivery_scale(0.0001);
    let server = Server::start(gateway).unwrap();
    // An endpoint that fails twice, then takes it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let calls = Arc::new(Mutex::new(0));
    let c = calls.clone();
    let app = Router::new().route(
        "/n",
        post(move || {
            let c = c.clone();
            async move {
                let mut n = c.lock().unwrap();
                *n += 1;
                if *n < 3 {
                    http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    http::StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/n", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await });
    let order = json!({
        "appid": "wxd678efh567hg6787", "mchid": TestKeys::load().mchid, "description": "retry",
        "out_trade_no": "FLOW-2", "notify_url": url, "amount": {"total": 1},
    });
    let gw = server.gateway();
    let req = TestKeys::load()
        .client_builder(&server.base_url(), Mode::Certificate)
        .build()
        .unwrap()
        .sign(Call::<Value>::post("/v3/pay/transactions/native").json(&order))
        .unwrap()
        .request;
    assert!(gw.handle(&req, gw_now()).response.status().is_success());
    assert!(gw.pay("FLOW-2", gw_now()).is_some());
    let end = Instant::now() + Duration::from_secs(10);
    while gw.deliveries().len() < 3 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = gw.deliveries();
    let attempts: Vec<(usize, Option<u16>)> = log.iter().map(|d| (d.attempt, d.status)).collect();
    assert_eq!(attempts, [(1, Some(500)), (2, Some(500)), (3, Some(204))]);
}

#[test]
fn the_sandbox_delivers_to_loopback_only() {
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let order = json!({
        "appid": "wxd678efh567hg6787", "mchid": TestKeys::load().mchid, "description": "far",
        "out_trade_no": "FLOW-3", "notify_url": "https://example.com/notify", "amount": {"total": 1},
    });
    let req = TestKeys::load()
        .client_builder("http://127.0.0.1:1", Mode::Certificate)
        .build()
        .unwrap()
        .sign(Call::<Value>::post("/v3/pay/transactions/native").json(&order))
        .unwrap()
        .request;
    assert!(gw.handle(&req, gw_now()).response.status().is_success());
    // Without a server, the notification waits in the queue for the test to take it.
    gw.pay("FLOW-3", gw_now()).unwrap();
    let queued = gw.take_notifications();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].url, "https://example.com/notify");
    assert_eq!(queued[0].event.event_type, "TRANSACTION.SUCCESS");
    assert!(gw.take_notifications().is_empty());
    // A running server records why it does not send it out.
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let gw = server.gateway();
    assert!(gw.handle(&req, gw_now()).response.status().is_success());
    gw.pay("FLOW-3", gw_now()).unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while gw.deliveries().is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = gw.deliveries();
    assert_eq!(log.len(), 1);
    assert!(log[0]
        .error
        .as_deref()
        .unwrap()
        .contains("127.0.0.1 or localhost"));
}

fn gw_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

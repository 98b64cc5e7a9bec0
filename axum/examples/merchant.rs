//! A merchant's callback server in axum: payments (`TRANSACTION.SUCCESS`) and refunds
//! (`REFUND.SUCCESS`), verified and decrypted from the raw body, with certificate refresh through
//! the hyper transport, a capped body, each notification processed once, and the answers WeChat
//! Pay expects. Copy it and replace the sandbox part with your own configuration.
//!
//! One process keeps deliveries and claims in memory (the default). Several instances behind a
//! load balancer share them in Redis: set `REDIS_URL` (e.g. `redis://127.0.0.1:6379/`) and this
//! example uses `wechatpay::redis::RedisStore` instead — the only line that changes.
//!
//! `cargo run -p wechatpay-axum --example merchant` starts the sandbox gateway and this server on
//! 127.0.0.1, lets the sandbox deliver a payment, a refund and a tampered callback, then plays
//! every way WeChat Pay (or someone else) may call the payment endpoint (`wxpay sandbox deliver`'s
//! scenarios: tampered, probe, stale, wrong APIv3 key, replayed, duplicate, concurrent), prints
//! the answers, checks that each notification it accepted ran its handler exactly once, and
//! stops: exit status 1 when the server did not behave (CI runs it). The sandbox never repeats a
//! notification id, so runs against the same Redis each process their own.

use std::sync::{Arc, Mutex};

use axum::extract::{FromRef, State};
use axum::routing::post;
use axum::Router;
use wechatpay::api::pay::transactions::Transaction;
use wechatpay::api::refund::domestic::Refund;
use wechatpay::axum::{Answer, Delivery, Notifications};
use wechatpay::notify::{HandlerError, Notification};
use wechatpay::redis::RedisStore;
use wechatpay::sandbox::deliver::{http_sender, Deliverer, Event, Scenario};
use wechatpay::sandbox::server::{post_notification, Server};
use wechatpay::sandbox::{Fault, Gateway, Mode, TestKeys};
use wechatpay::ApiV3Key;

/// The server's state: the callback verifier and its store, and the merchant's own records.
#[derive(Clone)]
struct App {
    notifications: Notifications,
    /// Stand-in for your database: (notification id, what happened).
    ledger: Arc<Mutex<Vec<(String, String)>>>,
}

impl FromRef<App> for Notifications {
    fn from_ref(app: &App) -> Notifications {
        app.notifications.clone()
    }
}

impl App {
    /// Record what happened; an error makes the answer a failure, and WeChat Pay delivers the
    /// notification again.
    fn record(&self, id: &str, what: String) -> Result<(), HandlerError> {
        let mut ledger = self
            .ledger
            .lock()
            .map_err(|_| "the ledger is unavailable")?;
        println!("  handled {id}: {what}");
        ledger.push((id.to_string(), what));
        Ok(())
    }
}

async fn payment(State(app): State<App>, delivery: Delivery) -> Answer {
    let notifications = app.notifications.clone();
    notifications
        .handle(delivery, |n: Notification<Transaction>| async move {
            let r = &n.resource;
            let what = format!(
                "{} paid {} fen for {}",
                r.payer
                    .as_ref()
                    .and_then(|p| p.openid.clone())
                    .unwrap_or_default(),
                r.amount.as_ref().and_then(|a| a.total).unwrap_or_default(),
                r.out_trade_no.clone().unwrap_or_default()
            );
            app.record(&n.id, what)
        })
        .await
}

async fn refund(State(app): State<App>, delivery: Delivery) -> Answer {
    let notifications = app.notifications.clone();
    notifications
        .handle(delivery, |n: Notification<Refund>| async move {
            let r = &n.resource;
            let what = format!(
                "refund {} of {} is {}",
                r.out_refund_no,
                r.out_trade_no,
                r.refund_status
                    .as_ref()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default()
            );
            app.record(&n.id, what)
        })
        .await
}

/// The routes: the same for any deployment.
fn router(app: App) -> Router {
    Router::new()
        .route("/notify/payment", post(payment))
        .route("/notify/refund", post(refund))
        .with_state(app)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Where failures go: every rejected callback, failed handler and store outage is a
    // `tracing` event (target `wechatpay`, level WARN or ERROR, never a secret); without a
    // subscriber they are dropped and a failing endpoint only shows as 500 answers.
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .init();
    // Your configuration goes here; the sandbox stands in for WeChat Pay (TEST-ONLY keys).
    let keys = TestKeys::load();
    let gateway = Server::start(Gateway::with_test_keys(Mode::Certificate))?;
    let apiv3_key = ApiV3Key::new(keys.apiv3_key)?;
    let core = keys
        .client_builder(&gateway.base_url(), Mode::Certificate)
        .apiv3_key(apiv3_key)
        .build()?;
    // Proxy::None: the sandbox is on loopback. Against WeChat Pay, `Client::new(core)` reads
    // a proxy from the environment.
    let transport = wechatpay::hyper::Client::with_config(
        core.clone(),
        wechatpay::hyper::Config::default().proxy(wechatpay::hyper::Proxy::None),
    )?;
    // The client's callbacks refresh the platform certificates through it.
    let callbacks = transport.callbacks().ok_or("the core has no APIv3 key")?;
    let notifications = Notifications::new(callbacks);
    // Many instances: share deliveries and claims in Redis (keys namespaced by merchant id).
    let notifications = match std::env::var("REDIS_URL") {
        Ok(url) => notifications.with_store(RedisStore::connect(&url, keys.mchid).await?),
        Err(_) => notifications,
    };

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("merchant callback server on http://{addr}");
    let ledger = Arc::new(Mutex::new(Vec::new()));
    let app = App {
        notifications,
        ledger: ledger.clone(),
    };
    let server = tokio::spawn(async move { axum::serve(listener, router(app)).await });

    // The sandbox delivers notifications as WeChat Pay would.
    let now = core.now();
    let deliveries = [
        (
            "payment",
            "/notify/payment",
            "TRANSACTION.SUCCESS",
            "transaction",
            serde_json::json!({
            "out_trade_no": "ORDER-20270115-001", "transaction_id": "4200000000202701150001",
            "trade_state": "SUCCESS", "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {"total": 880, "payer_total": 880, "currency": "CNY", "payer_currency": "CNY"}}),
            None,
        ),
        (
            "refund",
            "/notify/refund",
            "REFUND.SUCCESS",
            "refund",
            serde_json::json!({
            "out_trade_no": "ORDER-20270115-001", "out_refund_no": "REFUND-001", "refund_status": "SUCCESS",
            "amount": {"total": 880, "refund": 300, "payer_total": 880, "payer_refund": 300}}),
            None,
        ),
        (
            "tampered payment",
            "/notify/payment",
            "TRANSACTION.SUCCESS",
            "transaction",
            serde_json::json!({"out_trade_no": "ORDER-X"}),
            Some(Fault::TamperedBody),
        ),
    ];
    let mut behaved = true;
    // The ids of the notifications accepted: each must have run its handler.
    let mut accepted = Vec::new();
    for (what, path, event, original, resource, fault) in deliveries {
        let request =
            gateway
                .gateway()
                .notification(event, what, original, &resource, now, fault.as_ref());
        let id = serde_json::from_slice::<serde_json::Value>(request.body())?["id"]
            .as_str()
            .map(str::to_owned);
        let url = format!("http://{addr}{path}");
        let (status, body) =
            tokio::task::spawn_blocking(move || post_notification(&url, request)).await??;
        println!("{what}: {status} {}", String::from_utf8_lossy(&body));
        // Accepted when genuine, refused when tampered with.
        behaved &= status.is_success() == fault.is_none();
        if status.is_success() {
            accepted.extend(id);
        }
    }

    // Everything else WeChat Pay (or someone else) may send, with WeChat Pay's retries 1000×
    // faster.
    let url = format!("http://{addr}/notify/payment");
    let reports = tokio::task::spawn_blocking(move || {
        let deliverer = Deliverer::new(gateway.gateway()).scale(0.001);
        let send = http_sender(std::time::Duration::from_secs(10));
        let event = Event::sample("TRANSACTION.SUCCESS", "ORDER-20270115-002");
        Scenario::ALL.map(|s| deliverer.scenario(s, &url, &event, &send))
    })
    .await?;
    for r in &reports {
        let verdict = if r.ok {
            "as expected"
        } else {
            "NOT as expected"
        };
        println!(
            "{}: {verdict} ({})",
            r.scenario.name(),
            r.scenario.expected()
        );
        behaved &= r.ok;
        accepted.extend(
            r.reports
                .iter()
                .filter(|d| d.delivered())
                .map(|d| d.id.clone()),
        );
    }
    server.abort();

    // Each notification accepted ran its handler exactly once, however often it was delivered.
    let ledger = ledger.lock().map_err(|_| "the ledger is unavailable")?;
    let mut ids: Vec<&str> = ledger.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort_unstable();
    accepted.sort_unstable();
    accepted.dedup();
    let once = ids == accepted;
    println!(
        "{} notifications accepted, {} handler runs, each once: {once}",
        accepted.len(),
        ledger.len()
    );
    if behaved && once {
        Ok(())
    } else {
        Err("the callback server did not behave as WeChat Pay expects".into())
    }
}

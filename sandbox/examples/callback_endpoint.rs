//! The recommended callback endpoint for one process, on a small hyper server: the raw body
//! (capped) goes to `Callbacks::handle`, which verifies, decrypts, refuses replayed bytes, and
//! runs your handler once per notification id (`MemoryStore`) — answering failure whenever the
//! handler did not succeed, so WeChat Pay delivers again and nothing is lost. For several
//! instances behind a load balancer, the same code takes `wechatpay_redis::RedisStore` (see
//! `axum/examples/merchant.rs`, which uses it when `REDIS_URL` is set).
//!
//! The sandbox then plays WeChat Pay: every `wxpay sandbox deliver` scenario (valid, tampered,
//! probe, stale, wrong APIv3 key, replayed, duplicate, concurrent), retries on WeChat Pay's
//! schedule scaled 1000× faster. It checks that every notification it accepted ran the
//! handler exactly once, and exits 1 otherwise.
//!
//! `cargo run -p wechatpay-sandbox --example callback_endpoint`

use std::convert::Infallible;
use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use wechatpay_api::pay::transactions::Transaction;
use wechatpay_core::notify::{
    Callbacks, HandlerError, MemoryStore, Notification, NotificationStore,
};
use wechatpay_core::ApiV3Key;
use wechatpay_sandbox::deliver::{http_sender, Deliverer, Event, Scenario};
use wechatpay_sandbox::{Gateway, Mode, TestKeys};

/// Where this example records payments (yours: a database): the notification ids handled.
type Ledger = Arc<Mutex<Vec<String>>>;

/// Your business logic: record the payment. Errors make the answer a failure (WeChat Pay
/// retries); success is recorded so that a retry does not run it again.
async fn record_payment(ledger: Ledger, n: Notification<Transaction>) -> Result<(), HandlerError> {
    let t = &n.resource;
    println!(
        "    handler: {} {} paid {} fen",
        n.id,
        t.out_trade_no.as_deref().unwrap_or("?"),
        t.amount.as_ref().and_then(|a| a.total).unwrap_or(0)
    );
    let mut ledger = ledger.lock().map_err(|_| "the ledger is unavailable")?;
    ledger.push(n.id);
    Ok(())
}

async fn endpoint(
    callbacks: Callbacks,
    store: Arc<dyn NotificationStore>,
    ledger: Ledger,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    // A notification is a few KB: cap the body (64 KiB); an unreadable body is a failure answer.
    let Ok(raw) = Limited::new(body, 64 << 10)
        .collect()
        .await
        .map(|b| b.to_bytes())
    else {
        let (p, b) = wechatpay_core::notify::failure("body unreadable or too large").into_parts();
        return Ok(hyper::Response::from_parts(p, Full::new(Bytes::from(b))));
    };
    let handled = callbacks
        .handle(&*store, &parts.headers, &raw, |n| record_payment(ledger, n))
        .await;
    let (p, b) = handled.answer.into_parts();
    Ok(hyper::Response::from_parts(p, Full::new(Bytes::from(b))))
}

fn main() -> Result<(), Box<dyn Error>> {
    // Where failures go: rejected callbacks, failed handlers and store outages are `tracing`
    // events (target `wechatpay`, WARN/ERROR); without a subscriber they are dropped.
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .init();
    let keys = TestKeys::load();
    // In a real service: the same SharedKeys as your API client, your APIv3 key.
    let callbacks = Callbacks::for_client(
        &keys
            .client_builder("https://api.mch.weixin.qq.com", Mode::Both)
            .build()?,
        ApiV3Key::new(keys.apiv3_key)?,
    );
    let store: Arc<dyn NotificationStore> = Arc::new(MemoryStore::default());
    let ledger = Ledger::default();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}/wechatpay/notify", listener.local_addr()?);
    println!("callback endpoint on {url}");
    let server_ledger = ledger.clone();
    rt.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (callbacks, store, ledger) =
                (callbacks.clone(), store.clone(), server_ledger.clone());
            let svc = hyper::service::service_fn(move |req| {
                endpoint(callbacks.clone(), store.clone(), ledger.clone(), req)
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc),
            );
        }
    });

    // The sandbox plays WeChat Pay.
    let gateway = Gateway::with_test_keys(Mode::Both);
    let deliverer = Deliverer::new(&gateway).scale(0.001);
    let send = http_sender(Duration::from_secs(10));
    let event = Event::sample("TRANSACTION.SUCCESS", "NATIVE-0001");
    let mut all_ok = true;
    // The ids of the notifications the endpoint accepted: each must have run the handler once.
    let mut accepted = Vec::new();
    for scenario in Scenario::ALL {
        println!("WeChat Pay (sandbox): {}", scenario.name());
        let r = deliverer.scenario(scenario, &url, &event, &send);
        for rep in &r.reports {
            for a in &rep.attempts {
                let status = a.status.map(|s| s.as_u16().to_string());
                println!(
                    "  attempt {}: {} {}",
                    a.number,
                    status.as_deref().unwrap_or("-"),
                    a.answer
                );
            }
        }
        println!(
            "  expected {}: {}",
            scenario.expected(),
            if r.ok { "ok" } else { "NOT MET" }
        );
        all_ok &= r.ok;
        accepted.extend(
            r.reports
                .iter()
                .filter(|d| d.delivered())
                .map(|d| d.id.clone()),
        );
    }
    rt.shutdown_timeout(Duration::from_secs(1));
    // However often a notification was delivered, its handler ran once, and only for those
    // accepted.
    let mut handled = ledger
        .lock()
        .map_err(|_| "the ledger is unavailable")?
        .clone();
    handled.sort_unstable();
    accepted.sort_unstable();
    accepted.dedup();
    let once = handled == accepted;
    println!(
        "{} notifications accepted, {} handler runs, each once: {once}",
        accepted.len(),
        handled.len()
    );
    if all_ok && once {
        Ok(())
    } else {
        Err("the endpoint did not behave as expected".into())
    }
}

//! Proof (#12): callback endpoints that never lose a payment, on many instances sharing Redis.
//!
//! Three axum instances (each with its own Redis connection, as separate processes would have)
//! behind no load balancer: the sandbox delivers 200 notifications, each to two or three
//! instances at once and retried on WeChat Pay's schedule (scaled 1000× faster) until answered
//! 2xx; some are delivered again later, some replayed byte for byte; the handler fails on its
//! first run for a fifth of them and is slow for some. Then a fault test stops Redis mid-run
//! and starts it again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use wechatpay_axum::{Answer, Delivery, Notifications};
use wechatpay_core::ApiV3Key;
use wechatpay_redis::RedisStore;
use wechatpay_sandbox::deliver::{http_sender, Deliverer, Event, Report};
use wechatpay_sandbox::redis::{redis_for, OwnRedis};
use wechatpay_sandbox::{Gateway, Mode, TestKeys};

/// The merchant's database, shared by the instances: per order, how the handler ran.
#[derive(Default)]
struct Ledger {
    orders: Mutex<HashMap<String, Order>>,
}

#[derive(Default, Debug, Clone)]
struct Order {
    /// Runs that started.
    started: usize,
    /// Runs that completed (must end at exactly 1).
    completed: usize,
    /// Runs in flight now.
    running: usize,
    /// The most runs in flight at once (must stay 1).
    most_at_once: usize,
}

impl Ledger {
    async fn record(&self, n: wechatpay_core::notify::Notification<Value>) -> Result<(), String> {
        let order = n.resource["out_trade_no"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let index: usize = order.trim_start_matches("P-").parse().unwrap_or(0);
        let first_run = {
            let mut m = self.orders.lock().unwrap();
            let o = m.entry(order.clone()).or_default();
            o.started += 1;
            o.running += 1;
            o.most_at_once = o.most_at_once.max(o.running);
            o.started == 1
        };
        let result = if index.is_multiple_of(5) && first_run {
            Err("the database is down".to_string())
        } else {
            if index.is_multiple_of(7) {
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
            Ok(())
        };
        let mut m = self.orders.lock().unwrap();
        let o = m.entry(order).or_default();
        o.running -= 1;
        if result.is_ok() {
            o.completed += 1;
        }
        result
    }
}

#[derive(Clone)]
struct Instance {
    notifications: Notifications,
    ledger: Arc<Ledger>,
}

async fn notify(State(app): State<Instance>, delivery: Delivery) -> Answer {
    let ledger = app.ledger.clone();
    app.notifications
        .handle::<Value, _, _>(delivery, |n| async move { Ok(ledger.record(n).await?) })
        .await
}

impl axum::extract::FromRef<Instance> for Notifications {
    fn from_ref(i: &Instance) -> Notifications {
        i.notifications.clone()
    }
}

/// Start `count` instances sharing `redis_url` and `ledger`; their URLs.
fn start_instances(
    rt: &tokio::runtime::Runtime,
    count: usize,
    redis_url: &str,
    namespace: &str,
    ledger: &Arc<Ledger>,
) -> Vec<String> {
    let keys = TestKeys::load();
    (0..count)
        .map(|_| {
            let core = keys
                .client_builder("http://127.0.0.1:1", Mode::Certificate)
                .build()
                .unwrap();
            let store = rt
                .block_on(RedisStore::connect_with_timeout(
                    redis_url,
                    namespace,
                    Duration::from_millis(500),
                ))
                .unwrap();
            let notifications = Notifications::new(wechatpay_core::notify::Callbacks::for_client(
                &core,
                ApiV3Key::new(keys.apiv3_key).unwrap(),
            ))
            .with_store(store);
            let app = Router::new()
                .route("/notify", post(notify))
                .with_state(Instance {
                    notifications,
                    ledger: ledger.clone(),
                });
            let listener = rt
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .unwrap();
            let url = format!("http://{}/notify", listener.local_addr().unwrap());
            rt.spawn(async move { axum::serve(listener, app).await });
            url
        })
        .collect()
}

/// Run `tasks` on `threads` threads.
fn run_all<T: Send>(threads: usize, tasks: Vec<T>, run: impl Fn(T) + Sync) {
    let queue = Mutex::new(tasks);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let Some(t) = queue.lock().unwrap().pop() else {
                    break;
                };
                run(t);
            });
        }
    });
}

fn event(i: usize) -> Event {
    Event::sample("TRANSACTION.SUCCESS", &format!("P-{i}"))
}

fn namespace(test: &str) -> String {
    format!(
        "test-{test}-{}-{}",
        std::process::id(),
        wechatpay_core::SystemClock.now_millis()
    )
}

use wechatpay_core::Clock;

#[test]
#[cfg_attr(no_redis, ignore = "no Redis: set REDIS_URL or install redis-server")]
fn three_instances_sharing_redis_process_every_notification_once() {
    let Some((url, _own)) = redis_for("three_instances") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ledger = Arc::new(Ledger::default());
    let instances = start_instances(&rt, 3, &url, &namespace("three"), &ledger);
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let deliverer = Deliverer::new(&gw).scale(0.001);
    let send = http_sender(Duration::from_secs(10));
    const N: usize = 200;
    let bodies: Vec<Vec<u8>> = (0..N).map(|i| deliverer.body(&event(i), None)).collect();

    // Each notification to two or three instances at once, each stream retried until 2xx.
    let mut tasks = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        for target in instances.iter().take(2 + i % 2) {
            tasks.push((i, target.clone(), body));
        }
    }
    let reports: Mutex<Vec<(usize, Report)>> = Mutex::new(Vec::new());
    run_all(24, tasks, |(i, target, body)| {
        let r = deliverer.deliver(&target, body, &send);
        reports.lock().unwrap().push((i, r));
    });
    let reports = reports.into_inner().unwrap();
    assert_eq!(reports.len(), N * 2 + N / 2);
    for (i, r) in &reports {
        assert!(r.delivered(), "notification {i} not delivered: {r:#?}");
    }
    // Some deliveries met a claim held elsewhere or a failed handler, and were retried.
    let retried = reports.iter().filter(|(_, r)| r.attempts.len() > 1).count();
    assert!(retried >= N / 5, "only {retried} deliveries were retried");

    // Later: duplicates (newly signed, same id) to another instance, and exact replays.
    let mut replays_refused = 0;
    for (i, body) in bodies.iter().enumerate() {
        if i % 10 == 3 {
            let r = deliverer.deliver(&instances[(i + 1) % 3], body, &send);
            assert!(
                r.delivered() && r.attempts.len() == 1,
                "duplicate {i}: {r:#?}"
            );
        }
        if i % 4 == 1 {
            let (_, first) = reports.iter().find(|(j, _)| *j == i).unwrap();
            let replay = deliverer.replay(first, body);
            let start = std::time::Instant::now();
            let a = deliverer.attempt(1, start, &instances[i % 3], replay, &send);
            assert_eq!(
                a.status,
                Some(http::StatusCode::INTERNAL_SERVER_ERROR),
                "replay {i}: {a:?}"
            );
            assert!(a.answer.contains("received before"), "{}", a.answer);
            replays_refused += 1;
        }
    }
    assert_eq!(replays_refused, N / 4);

    // Every notification's handler completed exactly once, never two runs at once.
    let orders = ledger.orders.lock().unwrap();
    assert_eq!(orders.len(), N);
    for i in 0..N {
        let o = &orders[&format!("P-{i}")];
        assert_eq!(o.completed, 1, "P-{i}: {o:?}");
        assert_eq!(o.most_at_once, 1, "P-{i}: {o:?}");
        let expected_runs = if i.is_multiple_of(5) { 2 } else { 1 };
        assert_eq!(o.started, expected_runs, "P-{i}: {o:?}");
    }
}

#[test]
#[cfg_attr(no_redis, ignore = "no Redis: set REDIS_URL or install redis-server")]
fn redis_stopped_mid_run_loses_nothing() {
    let Some(mut redis) = OwnRedis::start("redis_stopped_mid_run") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ledger = Arc::new(Ledger::default());
    let instances = start_instances(&rt, 2, &redis.url(), "fault", &ledger);
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let deliverer = Deliverer::new(&gw).scale(0.001);
    let send = http_sender(Duration::from_secs(10));
    // Indices 1.. avoid the first-run failures (multiples of 5) to keep the count simple: the
    // handler succeeds when it runs.
    let ids: Vec<usize> = (0..40).map(|k| k * 5 + 1).collect();
    let bodies: Vec<(usize, Vec<u8>)> = ids
        .iter()
        .map(|&i| (i, deliverer.body(&event(i), None)))
        .collect();
    // The first ten go through while Redis is up.
    for (i, body) in &bodies[..10] {
        let r = deliverer.deliver(&instances[i % 2], body, &send);
        assert!(r.delivered() && r.attempts.len() == 1, "{r:#?}");
    }
    // Redis stops; thirty are delivered meanwhile (to both instances), and keep being retried.
    redis.stop();
    let reports = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        s.spawn(|| {
            run_all(30, bodies[10..].iter().collect(), |(i, body)| {
                let r = deliverer.deliver(&instances[i % 2], body, &send);
                reports.lock().unwrap().push(r);
            });
        });
        std::thread::sleep(Duration::from_millis(400));
        redis.restart().unwrap();
    });
    let reports = reports.into_inner().unwrap();
    assert_eq!(reports.len(), 30);
    let mut refused_while_down = 0;
    for r in &reports {
        assert!(r.delivered(), "{r:#?}");
        let first = &r.attempts[0];
        assert_eq!(
            first.status,
            Some(http::StatusCode::INTERNAL_SERVER_ERROR),
            "{r:#?}"
        );
        assert!(
            first.answer.contains("notification store"),
            "{}",
            first.answer
        );
        refused_while_down += 1;
    }
    assert_eq!(refused_while_down, 30);
    let orders = ledger.orders.lock().unwrap();
    assert_eq!(orders.len(), 40);
    for (i, _) in &bodies {
        let o = &orders[&format!("P-{i}")];
        assert_eq!((o.started, o.completed), (1, 1), "P-{i}: {o:?}");
    }
}

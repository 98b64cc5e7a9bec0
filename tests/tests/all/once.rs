//! Processing a notification once (#12), sans-IO: `Callbacks::handle` with the in-memory store,
//! the sandbox's notifications signed anew per attempt, and a clock the test moves.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use wechatpay_core::notify::{
    BoxFuture, Callbacks, Claim, HandleOptions, MemoryStore, NotificationStore, NotifyError,
    Outcome, StoreError,
};
use wechatpay_core::BuildError;
use wechatpay_core::{ApiV3Key, Clock, FixedClock, FixedNonce, NonceSource};
use wechatpay_sandbox::{Gateway, Mode, TestKeys};

const NOW: i64 = 1_800_000_000;

/// A clock the test moves (seconds; milliseconds follow).
#[derive(Clone)]
struct MovingClock(Arc<AtomicI64>);

impl Clock for MovingClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn setup() -> (Gateway, Callbacks, MovingClock) {
    let keys = TestKeys::load();
    let clock = MovingClock(Arc::new(AtomicI64::new(NOW)));
    let cb = Callbacks::for_client(
        &keys
            .client_builder("http://127.0.0.1:1", Mode::Both)
            .clock(clock.clone())
            .build()
            .unwrap(),
        ApiV3Key::new(keys.apiv3_key).unwrap(),
    );
    (Gateway::with_test_keys(Mode::Certificate), cb, clock)
}

fn body(gw: &Gateway, out_trade_no: &str) -> Vec<u8> {
    gw.notification_body(
        "TRANSACTION.SUCCESS",
        "支付成功",
        "transaction",
        &json!({"mchid": "1900000001", "out_trade_no": out_trade_no, "trade_state": "SUCCESS"}),
        NOW,
    )
}

fn handle(
    cb: &Callbacks,
    store: &dyn NotificationStore,
    req: &http::Request<Vec<u8>>,
    runs: &AtomicUsize,
    fail: bool,
) -> Outcome {
    cb.handle_blocking::<Value, _>(store, req.headers(), req.body(), |_| {
        runs.fetch_add(1, Ordering::SeqCst);
        if fail {
            Err("database down".into())
        } else {
            Ok(())
        }
    })
    .outcome
}

#[test]
fn a_retry_after_success_is_answered_without_running_the_handler() {
    let (gw, cb, clock) = setup();
    let store = MemoryStore::default().clock(clock.clone());
    let b = body(&gw, "T-1");
    let runs = AtomicUsize::new(0);
    let first = gw.sign_notification(b.clone(), NOW, None);
    let handled = cb.handle_blocking::<Value, _>(&store, first.headers(), first.body(), |n| {
        assert_eq!(n.resource["out_trade_no"], "T-1");
        runs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    assert!(matches!(handled.outcome, Outcome::Processed));
    assert_eq!(handled.answer.status(), 204);
    assert!(handled.id.as_deref().unwrap().starts_with("EV-SANDBOX-"));
    // WeChat Pay did not get the answer and retries: newly signed, same id.
    clock.0.fetch_add(15, Ordering::SeqCst);
    let retry = gw.sign_notification(b, NOW + 15, None);
    let handled = cb.handle_blocking::<Value, _>(&store, retry.headers(), retry.body(), |_| {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    assert!(matches!(handled.outcome, Outcome::AlreadyProcessed));
    assert_eq!(handled.answer.status(), 204);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// A store outlives a gateway (Redis, a database): a second sandbox gateway, as in a second run of
/// a test suite or of `wxpay sandbox deliver`, sends notifications the store has not seen, at the
/// same instant, as WeChat Pay never repeats an id or a nonce.
#[test]
fn a_new_gateway_sends_new_notifications() {
    let (first, cb, clock) = setup();
    let second = Gateway::with_test_keys(Mode::Certificate);
    let store = MemoryStore::default().clock(clock.clone());
    let runs = AtomicUsize::new(0);
    // (notification id, signature nonce, Request-ID) of each gateway's first notification.
    let mut sent = Vec::new();
    for gw in [&first, &second] {
        let req = gw.sign_notification(body(gw, "T-NEW"), NOW, None);
        let header = |name: &str| req.headers()[name].to_str().unwrap().to_owned();
        let (nonce, request_id) = (header("Wechatpay-Nonce"), header("Request-ID"));
        let handled = cb.handle_blocking::<Value, _>(&store, req.headers(), req.body(), |_| {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        assert!(
            matches!(handled.outcome, Outcome::Processed),
            "{:?}",
            handled.outcome
        );
        assert_eq!(nonce.len(), 32, "{nonce}");
        sent.push((handled.id.unwrap(), nonce, request_id));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let (a, b) = (&sent[0], &sent[1]);
    assert!(a.0 != b.0 && a.1 != b.1 && a.2 != b.2, "{sent:?}");
}

#[test]
fn a_failed_handler_is_retried_and_nothing_is_lost() {
    let (gw, cb, clock) = setup();
    let store = MemoryStore::default().clock(clock.clone());
    let b = body(&gw, "T-2");
    let runs = AtomicUsize::new(0);
    let first = gw.sign_notification(b.clone(), NOW, None);
    let outcome = handle(&cb, &store, &first, &runs, true);
    assert!(matches!(&outcome, Outcome::HandlerFailed(m) if m == "database down"));
    // The retry runs the handler again (the claim was released), and succeeds.
    let retry = gw.sign_notification(b.clone(), NOW + 15, None);
    assert!(matches!(
        handle(&cb, &store, &retry, &runs, false),
        Outcome::Processed
    ));
    let again = gw.sign_notification(b, NOW + 30, None);
    assert!(matches!(
        handle(&cb, &store, &again, &runs, false),
        Outcome::AlreadyProcessed
    ));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[test]
fn replayed_bytes_are_refused_with_failure() {
    let (gw, cb, clock) = setup();
    let store = MemoryStore::default().clock(clock);
    let runs = AtomicUsize::new(0);
    let req = gw.sign_notification(body(&gw, "T-3"), NOW, None);
    assert!(matches!(
        handle(&cb, &store, &req, &runs, true),
        Outcome::HandlerFailed(_)
    ));
    // The captured bytes, sent again: refused even though the notification is not processed
    // (WeChat Pay's own retry is newly signed and will run it).
    let handled = cb.handle_blocking::<Value, _>(&store, req.headers(), req.body(), |_| {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    assert!(matches!(handled.outcome, Outcome::Replayed));
    assert_eq!(handled.answer.status(), 500);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn a_delivery_that_fails_verification_runs_nothing_and_records_nothing() {
    let (gw, cb, clock) = setup();
    let store = MemoryStore::default().clock(clock);
    let runs = AtomicUsize::new(0);
    let req = gw.sign_notification(body(&gw, "T-4"), NOW, None);
    let mut tampered = req.body().clone();
    tampered.insert(1, b' ');
    let handled = cb.handle_blocking::<Value, _>(&store, req.headers(), &tampered, |_| {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    assert!(matches!(&handled.outcome, Outcome::Rejected(e) if e.kind() == "body_altered"));
    assert_eq!(handled.answer.status(), 500);
    assert!(handled.id.is_none());
    // The genuine bytes still pass: the tampered ones were not recorded as a delivery.
    assert!(matches!(
        handle(&cb, &store, &req, &runs, false),
        Outcome::Processed
    ));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn a_concurrent_duplicate_is_answered_in_progress_and_a_crashed_claim_frees_itself() {
    let (gw, cb, clock) = setup();
    let store = MemoryStore::default().clock(clock.clone());
    let b = body(&gw, "T-5");
    let runs = AtomicUsize::new(0);
    let first = gw.sign_notification(b.clone(), NOW, None);
    let second = gw.sign_notification(b.clone(), NOW, None);
    // While the first delivery's handler runs, a duplicate arrives.
    let handled = cb.handle_blocking::<Value, _>(&store, first.headers(), first.body(), |_| {
        runs.fetch_add(1, Ordering::SeqCst);
        let inner = handle(&cb, &store, &second, &runs, false);
        assert!(matches!(inner, Outcome::InProgress), "{inner:?}");
        Ok(())
    });
    assert!(matches!(handled.outcome, Outcome::Processed));
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // An instance claimed a notification and crashed (never completed nor released).
    let b = body(&gw, "T-6");
    let probe = gw.sign_notification(b.clone(), NOW, None);
    let id = cb
        .verify::<Value>(probe.headers(), probe.body())
        .unwrap()
        .id;
    let key = format!("notification:{id}");
    let lease = cb.handle_options().lease;
    assert_eq!(
        wechatpay_core::notify::block_on(store.claim(&key, "crashed", lease)).unwrap(),
        Claim::Claimed
    );
    let retry = gw.sign_notification(b.clone(), NOW + 15, None);
    clock.0.fetch_add(15, Ordering::SeqCst);
    assert!(matches!(
        handle(&cb, &store, &retry, &runs, false),
        Outcome::InProgress
    ));
    // After the lease the next retry runs it.
    let later = NOW + lease.as_secs() as i64 + 1;
    clock.0.store(later, Ordering::SeqCst);
    let retry = gw.sign_notification(b, later, None);
    assert!(matches!(
        handle(&cb, &store, &retry, &runs, false),
        Outcome::Processed
    ));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // The late instance's release or completion cannot undo it.
    wechatpay_core::notify::block_on(store.release(&key, "crashed")).unwrap();
    assert_eq!(
        wechatpay_core::notify::block_on(store.claim(&key, "x", lease)).unwrap(),
        Claim::Completed
    );
}

#[test]
fn completed_keys_outlive_the_retry_schedule_then_expire() {
    let (gw, cb, clock) = setup();
    let store = MemoryStore::default().clock(clock.clone());
    let b = body(&gw, "T-7");
    let runs = AtomicUsize::new(0);
    assert!(matches!(
        handle(
            &cb,
            &store,
            &gw.sign_notification(b.clone(), NOW, None),
            &runs,
            false
        ),
        Outcome::Processed
    ));
    // WeChat Pay's schedule adds up to about 24 h; the default keep is 25 h.
    let schedule = [
        15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
    ];
    let total: i64 = schedule.iter().sum();
    assert!(total < 25 * 3600);
    assert_eq!(
        cb.handle_options().keep_completed,
        Duration::from_secs(25 * 3600)
    );
    let at = NOW + total;
    clock.0.store(at, Ordering::SeqCst);
    assert!(matches!(
        handle(
            &cb,
            &store,
            &gw.sign_notification(b.clone(), at, None),
            &runs,
            false
        ),
        Outcome::AlreadyProcessed
    ));
    // Past the keep, the key is forgotten (a store stays bounded).
    let at = NOW + 25 * 3600 + 1;
    clock.0.store(at, Ordering::SeqCst);
    assert!(matches!(
        handle(
            &cb,
            &store,
            &gw.sign_notification(b, at, None),
            &runs,
            false
        ),
        Outcome::Processed
    ));
    // Options are adjustable.
    let short = cb
        .clone()
        .with_handle_options(HandleOptions::default().lease(Duration::from_secs(5)));
    assert_eq!(short.handle_options().lease, Duration::from_secs(5));
    assert_eq!(cb.delivery_ttl(), Duration::from_secs(600));
}

#[test]
fn processing_once_per_key_of_your_own() {
    let (gw, cb, clock) = setup();
    let store = MemoryStore::default().clock(clock);
    let runs = AtomicUsize::new(0);
    // Two different notifications (two ids) about the same order.
    for (i, expect) in [(0, true), (1, false)] {
        let req = gw.sign_notification(body(&gw, "T-8"), NOW + i, None);
        let handled = futures_lite(cb.handle_keyed::<Value, _, _, _>(
            &store,
            req.headers(),
            req.body(),
            |n| format!("{}:{}", n.event_type, n.resource["out_trade_no"]),
            |_| {
                runs.fetch_add(1, Ordering::SeqCst);
                async { Ok(()) }
            },
        ));
        assert_eq!(matches!(handled.outcome, Outcome::Processed), expect);
        assert_eq!(
            matches!(handled.outcome, Outcome::AlreadyProcessed),
            !expect
        );
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
    wechatpay_core::notify::block_on(f)
}

/// The in-memory store, failing the way a store can when asked to — from the first step on
/// (`fails: Some("delivery")`), when claiming, or only when completing — and remembering each
/// delivery it recorded (no token) and which token each claim, completion and release carried.
#[derive(Default)]
struct TestStore {
    inner: MemoryStore,
    fails: Option<&'static str>,
    seen: std::sync::Mutex<Vec<(&'static str, String)>>,
}

impl TestStore {
    fn new(clock: MovingClock) -> Self {
        Self {
            inner: MemoryStore::default().clock(clock),
            ..Self::default()
        }
    }
    fn log(&self, what: &'static str, token: &str) {
        self.seen.lock().unwrap().push((what, token.to_string()));
    }
    fn take(&self) -> Vec<(&'static str, String)> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
    fn fails(&self, step: &str) -> bool {
        self.fails == Some(step)
    }
}

impl NotificationStore for TestStore {
    fn record_delivery<'a>(
        &'a self,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        if self.fails("delivery") {
            return Box::pin(async { Err(StoreError::Timeout(Duration::from_millis(250))) });
        }
        self.log("delivery", "");
        self.inner.record_delivery(keys, ttl)
    }
    fn claim<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        self.log("claim", token);
        if self.fails("claim") {
            return Box::pin(async { Err(StoreError::Timeout(Duration::from_millis(250))) });
        }
        self.inner.claim(key, token, lease)
    }
    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        keep: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.log("complete", token);
        if self.fails("complete") {
            return Box::pin(async { Err(StoreError::Unavailable("connection refused".into())) });
        }
        self.inner.complete(key, token, keep)
    }
    fn release<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.log("release", token);
        self.inner.release(key, token)
    }
}

#[test]
fn a_store_that_is_down_never_loses_a_notification() {
    let (gw, cb, clock) = setup();
    let runs = AtomicUsize::new(0);
    // Down from the start: the handler does not run, the answer is a failure.
    let down = TestStore {
        fails: Some("delivery"),
        ..TestStore::new(clock.clone())
    };
    let req = gw.sign_notification(body(&gw, "T-9"), NOW, None);
    let handled = cb.handle_blocking::<Value, _>(&down, req.headers(), req.body(), |_| {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    assert!(matches!(
        &handled.outcome,
        Outcome::StoreFailed(StoreError::Timeout(_))
    ));
    assert_eq!(handled.answer.status(), 500);
    // The reason is the merchant's (the outcome, the log), not WeChat Pay's.
    let answer: Value = serde_json::from_slice(handled.answer.body()).unwrap();
    let message = answer["message"].as_str().unwrap();
    assert!(message.contains("store failed"), "{message}");
    assert!(!message.contains("did not answer"), "{message}");
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    // Failing when claiming: the delivery is recorded, the handler does not run, failure.
    let unclaimable = TestStore {
        fails: Some("claim"),
        ..TestStore::new(clock.clone())
    };
    let handled = cb.handle_blocking::<Value, _>(&unclaimable, req.headers(), req.body(), |_| {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    assert!(matches!(
        &handled.outcome,
        Outcome::StoreFailed(StoreError::Timeout(_))
    ));
    assert_eq!(handled.answer.status(), 500);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let steps: Vec<_> = unclaimable.take().into_iter().map(|(s, _)| s).collect();
    assert_eq!(steps, ["delivery", "claim"]);
    // Failing when completing: the work ran but is not recorded, so the answer is a failure
    // and WeChat Pay retries (handlers must be idempotent for this case).
    let flaky = TestStore {
        fails: Some("complete"),
        ..TestStore::new(clock)
    };
    assert!(matches!(
        handle(&cb, &flaky, &req, &runs, false),
        Outcome::StoreFailed(StoreError::Unavailable(_))
    ));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// With refresh: a callback signed by a certificate the client does not hold yet is verified
/// after one download, then processed once — blocking (ureq) and async (hyper).
#[test]
fn handled_with_refresh_through_a_transport() {
    use wechatpay_sandbox::server::Server;
    let keys = TestKeys::load();
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    server.gateway().rotate_certificate(keys.rotated_signer());
    let key = ApiV3Key::new(keys.apiv3_key).unwrap();
    let core = || {
        keys.client_builder(&server.base_url(), Mode::Certificate)
            .apiv3_key(key.clone())
            .build()
            .unwrap()
    };
    let now = wechatpay_core::SystemClock.now();
    let body = server.gateway().notification_body(
        "TRANSACTION.SUCCESS",
        "支付成功",
        "transaction",
        &json!({"out_trade_no": "T-R"}),
        now,
    );
    let runs = AtomicUsize::new(0);

    let ureq = wechatpay_ureq::Client::new(core()).unwrap();
    // The client's callbacks refresh through it.
    let cb = ureq.callbacks().unwrap();
    let store = MemoryStore::default();
    let req = server.gateway().sign_notification(body.clone(), now, None);
    let handled = cb.handle_blocking::<Value, _>(&store, req.headers(), req.body(), |n| {
        assert_eq!(n.resource["out_trade_no"], "T-R");
        runs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    assert!(matches!(handled.outcome, Outcome::Processed), "{handled:?}");
    assert_eq!(server.gateway().certificate_request_count(), 1);
    let retry = server.gateway().sign_notification(body.clone(), now, None);
    let counting = || {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    };
    let handled =
        cb.handle_blocking::<Value, _>(&store, retry.headers(), retry.body(), |_| counting());
    assert!(matches!(handled.outcome, Outcome::AlreadyProcessed));
    // A resource that does not fit the type asked for is refused, its plaintext kept.
    #[derive(Debug, serde::Deserialize)]
    struct NeedsAmount {
        #[allow(dead_code)]
        amount: u64,
    }
    impl wechatpay_core::notify::Resource for NeedsAmount {}
    let other = server.gateway().sign_notification(body.clone(), now, None);
    let handled =
        cb.handle_blocking::<NeedsAmount, _>(&store, other.headers(), other.body(), |_| counting());
    match &handled.outcome {
        Outcome::Rejected(NotifyError::Resource { plaintext, .. }) => {
            assert!(String::from_utf8_lossy(plaintext).contains("T-R"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(handled.answer.status(), 500);
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hyper = wechatpay_hyper::Client::with_config(
        core(),
        wechatpay_hyper::Config::default().proxy(wechatpay_hyper::Proxy::None),
    )
    .unwrap();
    // By hand: the core's callbacks, refreshing through the client.
    let cb = Callbacks::for_client(hyper.core(), key).refresh_through(hyper.clone());
    let store = MemoryStore::default();
    let req = server.gateway().sign_notification(body, now, None);
    let handled = rt.block_on(
        cb.handle::<Value, _, _>(&store, req.headers(), req.body(), |_| {
            runs.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        }),
    );
    assert!(matches!(handled.outcome, Outcome::Processed), "{handled:?}");
    assert_eq!(server.gateway().certificate_request_count(), 2);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

/// Claim tokens are drawn from the client's nonce source (pinned in a test), or from the one
/// given to the callbacks: no randomness a test cannot pin.
#[test]
fn claim_tokens_come_from_a_nonce_source_a_test_pins() {
    let keys = TestKeys::load();
    let cb = Callbacks::for_client(
        &keys
            .client_builder("http://127.0.0.1:1", Mode::Both)
            .clock(FixedClock(NOW))
            .nonce_source(FixedNonce("ClientNonce1".into()))
            .build()
            .unwrap(),
        ApiV3Key::new(keys.apiv3_key).unwrap(),
    );
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let store = TestStore::default();
    let runs = AtomicUsize::new(0);
    let req = gw.sign_notification(body(&gw, "T-10"), NOW, None);
    assert!(matches!(
        handle(&cb, &store, &req, &runs, true),
        Outcome::HandlerFailed(_)
    ));
    let pinned = "ClientNonce1".to_string();
    assert_eq!(
        store.take(),
        [
            ("delivery", String::new()),
            ("claim", pinned.clone()),
            ("release", pinned)
        ]
    );
    let own = cb.nonce_source(FixedNonce("CallbackNonce2".into()));
    let retry = gw.sign_notification(body(&gw, "T-10"), NOW, None);
    assert!(matches!(
        handle(&own, &store, &retry, &runs, false),
        Outcome::Processed
    ));
    let own_token = "CallbackNonce2".to_string();
    assert_eq!(
        store.take(),
        [
            ("delivery", String::new()),
            ("claim", own_token.clone()),
            ("complete", own_token)
        ]
    );
}

/// A nonce source that always fails, as the OS RNG can.
struct NoRandomness;

impl NonceSource for NoRandomness {
    fn nonce(&self) -> Result<String, BuildError> {
        Err(BuildError::Random)
    }
}

/// Without a claim token nothing is recorded and nothing runs; the answer is a failure, and the
/// same delivery is processed once a token can be drawn (it is not taken for a replay).
#[test]
fn without_a_claim_token_nothing_is_recorded_and_nothing_runs() {
    let (gw, cb, clock) = setup();
    let store = TestStore::new(clock);
    let runs = AtomicUsize::new(0);
    let req = gw.sign_notification(body(&gw, "T-11"), NOW, None);
    let broken = cb.clone().nonce_source(NoRandomness);
    let handled = broken.handle_blocking::<Value, _>(&store, req.headers(), req.body(), |_| {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    });
    assert!(
        matches!(handled.outcome, Outcome::NoClaimToken(BuildError::Random)),
        "{:?}",
        handled.outcome
    );
    assert_eq!(handled.answer.status(), 500);
    assert!(handled.id.is_some());
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert!(store.take().is_empty());
    // The very same bytes, now with randomness: processed, not refused as a replay.
    assert!(matches!(
        handle(&cb, &store, &req, &runs, false),
        Outcome::Processed
    ));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// A full `MemoryStore` makes room with delivery records and completed keys, never with a live
/// claim: a retry of a notification whose handler is still running finds its claim (and does
/// not run the handler again) however many other notifications came meanwhile; when only
/// claims are left, a new notification is answered failure (`StoreError::Full`), not run.
#[test]
fn a_full_memory_store_never_forgets_a_live_claim() {
    use wechatpay_core::notify::block_on;
    let clock = MovingClock(Arc::new(AtomicI64::new(NOW)));
    let store = MemoryStore::with_capacity(16).clock(clock.clone());
    let lease = Duration::from_secs(120);
    let keep = Duration::from_secs(25 * 3600);
    // A handler is running.
    assert!(matches!(
        block_on(store.claim("notification:running", "t0", lease)),
        Ok(Claim::Claimed)
    ));
    // A hundred other notifications are processed meanwhile, each with its delivery keys.
    for i in 0..100 {
        let keys = [format!("delivery:sig:{i}"), format!("delivery:tn:{i}")];
        assert!(matches!(
            block_on(store.record_delivery(&keys, Duration::from_secs(600))),
            Ok(true)
        ));
        let key = format!("notification:{i}");
        assert!(matches!(
            block_on(store.claim(&key, "t", lease)),
            Ok(Claim::Claimed)
        ));
        block_on(store.complete(&key, "t", keep)).unwrap();
    }
    // The running one's retry finds its claim: busy, not claimed again.
    assert!(matches!(
        block_on(store.claim("notification:running", "t1", lease)),
        Ok(Claim::Busy)
    ));
    // Only claims: fifteen more fit, then nothing new is recorded.
    for i in 0..15 {
        let key = format!("notification:held-{i}");
        assert!(
            matches!(block_on(store.claim(&key, "t", lease)), Ok(Claim::Claimed)),
            "{i}"
        );
    }
    assert!(matches!(
        block_on(store.claim("notification:one-more", "t", lease)),
        Err(StoreError::Full { capacity: 16 })
    ));
    assert!(matches!(
        block_on(store.record_delivery(&["delivery:sig:x".into()], lease)),
        Err(StoreError::Full { .. })
    ));
    assert!(matches!(
        block_on(store.claim("notification:running", "t2", lease)),
        Ok(Claim::Busy)
    ));
    // Through `handle`: a notification that finds no room is answered failure and not run.
    let (gw, cb, _) = setup();
    let req = gw.sign_notification(body(&gw, "FULL-1"), NOW, None);
    let runs = AtomicUsize::new(0);
    let outcome = handle(&cb, &store, &req, &runs, false);
    assert!(
        matches!(outcome, Outcome::StoreFailed(StoreError::Full { .. })),
        "{outcome:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    // Once the leases end, the claims go and the store takes notifications again.
    clock.0.fetch_add(121, Ordering::SeqCst);
    let outcome = handle(&cb, &store, &req, &runs, false);
    assert!(matches!(outcome, Outcome::Processed), "{outcome:?}");
}

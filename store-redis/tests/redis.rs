//! The store against a real `redis-server` (`REDIS_URL`, started by `.ci/run`), and against
//! Redis that is absent or never answers.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use wechatpay_core::notify::{block_on, Claim, NotificationStore, StoreError};
use wechatpay_redis::RedisStore;

use wechatpay_sandbox::redis::{redis_for, OwnRedis};

/// `REDIS_URL`, or a redis-server of the test's own (kept alive by the returned guard).
fn url(test: &str) -> Option<(String, Option<OwnRedis>)> {
    redis_for(test)
}

/// A namespace of this test's own, so tests sharing the Redis stay independent.
fn ns(test: &str) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{test}-{}-{t}", std::process::id())
}

const LEASE: Duration = Duration::from_secs(120);
const KEEP: Duration = Duration::from_secs(25 * 3600);

/// The whole protocol on one store, async or blocking.
async fn protocol(s: &RedisStore) {
    let keys = ["delivery:sig:a".to_string(), "delivery:tn:a".to_string()];
    assert!(s
        .record_delivery(&keys, Duration::from_secs(600))
        .await
        .unwrap());
    assert!(!s
        .record_delivery(&keys, Duration::from_secs(600))
        .await
        .unwrap());
    // One key seen before is a replay, and the other is not recorded.
    let half = ["delivery:sig:b".to_string(), "delivery:tn:a".to_string()];
    assert!(!s
        .record_delivery(&half, Duration::from_secs(600))
        .await
        .unwrap());
    let fresh = ["delivery:sig:b".to_string(), "delivery:tn:b".to_string()];
    assert!(s
        .record_delivery(&fresh, Duration::from_secs(600))
        .await
        .unwrap());

    // Claim, busy for others, release, claim again, complete, completed for everyone.
    assert_eq!(s.claim("n:1", "t1", LEASE).await.unwrap(), Claim::Claimed);
    assert_eq!(s.claim("n:1", "t2", LEASE).await.unwrap(), Claim::Busy);
    s.release("n:1", "t2").await.unwrap(); // not the holder: no effect
    assert_eq!(s.claim("n:1", "t2", LEASE).await.unwrap(), Claim::Busy);
    s.release("n:1", "t1").await.unwrap();
    assert_eq!(s.claim("n:1", "t2", LEASE).await.unwrap(), Claim::Claimed);
    // A late completion by an older holder does not overwrite the live claim.
    s.complete("n:1", "t1", KEEP).await.unwrap();
    assert_eq!(s.claim("n:1", "t3", LEASE).await.unwrap(), Claim::Busy);
    s.complete("n:1", "t2", KEEP).await.unwrap();
    assert_eq!(s.claim("n:1", "t3", LEASE).await.unwrap(), Claim::Completed);
    // Releasing a completed key changes nothing.
    s.release("n:1", "t2").await.unwrap();
    assert_eq!(s.claim("n:1", "t4", LEASE).await.unwrap(), Claim::Completed);
    // A completion whose claim expired (nobody holds the key) still records it.
    s.complete("n:2", "gone", KEEP).await.unwrap();
    assert_eq!(s.claim("n:2", "t", LEASE).await.unwrap(), Claim::Completed);
}

#[tokio::test]
#[cfg_attr(no_redis, ignore = "no Redis: set REDIS_URL or install redis-server")]
async fn the_protocol_async() {
    let Some((url, _own)) = url("the_protocol_async") else {
        return;
    };
    let s = RedisStore::connect(&url, &ns("async")).await.unwrap();
    protocol(&s).await;
}

#[test]
#[cfg_attr(no_redis, ignore = "no Redis: set REDIS_URL or install redis-server")]
fn the_protocol_blocking() {
    let Some((url, _own)) = url("the_protocol_blocking") else {
        return;
    };
    let s = RedisStore::connect_blocking(&url, &ns("blocking"), Duration::from_secs(2)).unwrap();
    block_on(protocol(&s));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(no_redis, ignore = "no Redis: set REDIS_URL or install redis-server")]
async fn of_many_concurrent_claims_one_wins() {
    let Some((url, _own)) = url("of_many_concurrent_claims_one_wins") else {
        return;
    };
    let namespace = ns("race");
    let mut tasks = Vec::new();
    for t in 0..32 {
        // Separate connections, as separate instances would have.
        let s = RedisStore::connect(&url, &namespace).await.unwrap();
        tasks.push(tokio::spawn(async move {
            s.claim("n:race", &format!("token-{t}"), LEASE)
                .await
                .unwrap()
        }));
    }
    let mut claimed = 0;
    for t in tasks {
        if t.await.unwrap() == Claim::Claimed {
            claimed += 1;
        }
    }
    assert_eq!(claimed, 1);
}

#[test]
#[cfg_attr(no_redis, ignore = "no Redis: set REDIS_URL or install redis-server")]
fn keys_are_namespaced_and_expire() {
    let Some((url, _own)) = url("keys_are_namespaced_and_expire") else {
        return;
    };
    let namespace = ns("ttl");
    let s = RedisStore::connect_blocking(&url, &namespace, Duration::from_secs(2)).unwrap();
    assert_eq!(s.prefix(), format!("wechatpay:{{{namespace}}}:"));
    block_on(s.claim("n:ttl", "t", Duration::from_millis(90_000))).unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut con = client.get_connection().unwrap();
    let key = format!("{}n:ttl", s.prefix());
    let value: String = redis::cmd("GET").arg(&key).query(&mut con).unwrap();
    assert_eq!(value, "claimed:t");
    let pttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut con).unwrap();
    assert!(pttl > 0 && pttl <= 90_000, "{pttl}");
    block_on(s.complete("n:ttl", "t", KEEP)).unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut con).unwrap();
    assert!(pttl > 90_000 && pttl <= 25 * 3600 * 1000, "{pttl}");
    // Another namespace (another merchant) does not see it.
    let other = RedisStore::connect_blocking(&url, &ns("other"), Duration::from_secs(2)).unwrap();
    assert_eq!(
        block_on(other.claim("n:ttl", "t", LEASE)).unwrap(),
        Claim::Claimed
    );
}

/// A port where nothing listens.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn redis_absent_or_silent_is_a_store_error_in_bounded_time() {
    let timeout = Duration::from_millis(300);
    // Nothing listens: connecting fails with a typed error.
    let url = format!("redis://127.0.0.1:{}/", closed_port());
    let e = RedisStore::connect_with_timeout(&url, "m", timeout)
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Unavailable(_) | StoreError::Timeout(_)),
        "{e}"
    );
    let blocking = RedisStore::connect_blocking(&url, "m", timeout).unwrap();
    let e = block_on(blocking.claim("n", "t", LEASE)).unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e}");

    // A server that accepts and never answers: every operation gives up after the timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        // Hold the connections open (bounded: the test ends well within this).
        let mut kept = Vec::new();
        silent.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until && kept.len() < 8 {
            if let Ok((c, _)) = silent.accept() {
                kept.push(c);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        kept
    });
    let started = Instant::now();
    let e = RedisStore::connect_with_timeout(&url, "m", timeout)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Timeout(_)), "{e}");
    let blocking = RedisStore::connect_blocking(&url, "m", timeout).unwrap();
    let e = block_on(blocking.claim("n", "t", LEASE)).unwrap_err();
    assert!(matches!(e, StoreError::Timeout(_)), "{e}");
    assert!(e.to_string().contains("did not answer"), "{e}");
    // Bounded (a generous bound: this only proves nothing waits forever).
    assert!(started.elapsed() < Duration::from_secs(8));
    drop(held);
}

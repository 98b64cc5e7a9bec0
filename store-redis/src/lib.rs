//! # wechatpay-redis
//!
//! A [`NotificationStore`] in Redis, for callback endpoints that run as several instances behind
//! a load balancer: each delivery may land on any instance, and retries of one notification may
//! run on two at once. Shared through one Redis, every instance refuses replayed deliveries and
//! processes each notification once:
//!
//! - a delivery (its signature, and its timestamp + nonce) is recorded with `SET … NX PX` in
//!   one script: bytes sent again within the window are refused;
//! - a notification is *claimed* (a script: read, then `SET … PX lease` when free) before your
//!   handler runs, then *completed* (kept 25 h by default) or *released*, only by the claim's
//!   holder — so a claim whose lease ran out and was taken over cannot be undone late.
//!
//! Keys are `wechatpay:{<namespace>}:…` — the merchant id as namespace, in a hash tag so that a
//! Redis Cluster keeps one merchant's keys in one slot. When Redis is down or slower than the
//! operation timeout, the store answers [`StoreError`]: the handler does not run and the
//! endpoint answers failure, so WeChat Pay delivers again — nothing is lost.
//!
//! ```no_run
//! # async fn run(callbacks: wechatpay_core::notify::Callbacks, headers: http::HeaderMap, body: Vec<u8>)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use wechatpay_redis::RedisStore;
//!
//! let store = RedisStore::connect("redis://127.0.0.1:6379/", "1900000001").await?;
//! let handled = callbacks
//!     .handle::<serde_json::Value, _, _>(&store, &headers, &body, |n| async move {
//!         // record the payment n.resource …
//!         Ok(())
//!     })
//!     .await;
//! // send handled.answer back as is
//! # Ok(()) }
//! ```
//!
//! Blocking servers use [`RedisStore::connect_blocking`] with `Callbacks::handle_blocking`.

#![warn(missing_docs)]

use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};
use wechatpay_core::notify::{BoxFuture, Claim, NotificationStore, StoreError};

/// The default time an operation may take, connecting included: 2 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

const RECORD: &str = r"
for _, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then return 0 end
end
for _, k in ipairs(KEYS) do redis.call('SET', k, '1', 'PX', ARGV[1]) end
return 1";

const CLAIM: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'claimed:' .. ARGV[1], 'PX', ARGV[2])
  return 'claimed'
elseif v == 'done' then
  return 'completed'
end
return 'busy'";

const COMPLETE: &str = r"
local v = redis.call('GET', KEYS[1])
if v and v ~= 'done' and v ~= 'claimed:' .. ARGV[1] then return 0 end
redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
return 1";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == 'claimed:' .. ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// A [`NotificationStore`] in Redis (see the crate docs). Cheap to share behind an `Arc`; the
/// async flavour is also cheap to clone.
pub struct RedisStore {
    prefix: String,
    timeout: Duration,
    backend: Backend,
    scripts: Scripts,
}

struct Scripts {
    record: Script,
    claim: Script,
    complete: Script,
    release: Script,
}

enum Backend {
    Async(ConnectionManager),
    Blocking {
        client: redis::Client,
        idle: Mutex<Vec<redis::Connection>>,
    },
}

impl fmt::Debug for RedisStore {
    /// The address (which may hold a password) is never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field(
                "mode",
                &match self.backend {
                    Backend::Async(_) => "async",
                    Backend::Blocking { .. } => "blocking",
                },
            )
            .finish()
    }
}

/// A store's `prefix` for `namespace`: `wechatpay:{namespace}:`.
fn prefix(namespace: &str) -> String {
    format!("wechatpay:{{{namespace}}}:")
}

fn unavailable(e: RedisError, timeout: Duration) -> StoreError {
    if e.is_timeout() {
        StoreError::Timeout(timeout)
    } else {
        StoreError::Unavailable(Box::new(e))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    /// Connect to `url` (`redis://[user:password@]host:port/db`, or `rediss://` is not built
    /// in) for async use on tokio, keys namespaced by `namespace` (your merchant id). Fails
    /// when Redis cannot be reached now; once connected, the connection is re-established
    /// after Redis comes back, and each operation gives up after [`DEFAULT_TIMEOUT`].
    pub async fn connect(url: &str, namespace: &str) -> Result<Self, StoreError> {
        Self::connect_with_timeout(url, namespace, DEFAULT_TIMEOUT).await
    }

    /// As [`RedisStore::connect`], each operation bounded by `timeout`.
    pub async fn connect_with_timeout(
        url: &str,
        namespace: &str,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| unavailable(e, timeout))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(timeout);
        let manager =
            tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config))
                .await
                .map_err(|_| StoreError::Timeout(timeout))?
                .map_err(|e| unavailable(e, timeout))?;
        Ok(Self::with_backend(
            Backend::Async(manager),
            namespace,
            timeout,
        ))
    }

    /// A store for blocking servers (with `Callbacks::handle_blocking`): connections are made
    /// when needed (connecting and each command bounded by `timeout`), kept while healthy and
    /// dropped on any error, so the next operation reconnects. Fails only on a malformed `url`.
    pub fn connect_blocking(
        url: &str,
        namespace: &str,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| unavailable(e, timeout))?;
        Ok(Self::with_backend(
            Backend::Blocking {
                client,
                idle: Mutex::new(Vec::new()),
            },
            namespace,
            timeout,
        ))
    }

    fn with_backend(backend: Backend, namespace: &str, timeout: Duration) -> Self {
        Self {
            prefix: prefix(namespace),
            timeout,
            backend,
            scripts: Scripts {
                record: Script::new(RECORD),
                claim: Script::new(CLAIM),
                complete: Script::new(COMPLETE),
                release: Script::new(RELEASE),
            },
        }
    }

    /// The prefix of every key this store writes: `wechatpay:{namespace}:`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Run `script` with `keys` (prefixed) and `args`, bounded by the timeout.
    fn run<'a, T>(
        &'a self,
        script: &'a Script,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> BoxFuture<'a, Result<T, StoreError>>
    where
        T: redis::FromRedisValue + Send + 'a,
    {
        let keys: Vec<String> = keys
            .into_iter()
            .map(|k| format!("{}{k}", self.prefix))
            .collect();
        let timeout = self.timeout;
        match &self.backend {
            Backend::Async(manager) => {
                let mut con = manager.clone();
                Box::pin(async move {
                    let mut inv = script.prepare_invoke();
                    for k in &keys {
                        inv.key(k);
                    }
                    for a in &args {
                        inv.arg(a);
                    }
                    bounded(timeout, inv.invoke_async::<T>(&mut con)).await
                })
            }
            Backend::Blocking { client, idle } => {
                let result = self.run_blocking(client, idle, script, &keys, &args);
                Box::pin(std::future::ready(result))
            }
        }
    }

    fn run_blocking<T: redis::FromRedisValue>(
        &self,
        client: &redis::Client,
        idle: &Mutex<Vec<redis::Connection>>,
        script: &Script,
        keys: &[String],
        args: &[String],
    ) -> Result<T, StoreError> {
        let pooled = idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut con = match pooled {
            Some(c) => c,
            None => {
                let c = client
                    .get_connection_with_timeout(self.timeout)
                    .map_err(|e| unavailable(e, self.timeout))?;
                c.set_read_timeout(Some(self.timeout))
                    .and_then(|()| c.set_write_timeout(Some(self.timeout)))
                    .map_err(|e| unavailable(e, self.timeout))?;
                c
            }
        };
        let mut inv = script.prepare_invoke();
        for k in keys {
            inv.key(k);
        }
        for a in args {
            inv.arg(a);
        }
        // A connection that failed is dropped: the next operation makes a new one.
        let v = inv
            .invoke::<T>(&mut con)
            .map_err(|e| unavailable(e, self.timeout))?;
        idle.lock().unwrap_or_else(|p| p.into_inner()).push(con);
        Ok(v)
    }
}

async fn bounded<T>(
    timeout: Duration,
    f: impl Future<Output = Result<T, RedisError>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, f).await {
        Ok(r) => r.map_err(|e| unavailable(e, timeout)),
        Err(_) => Err(StoreError::Timeout(timeout)),
    }
}

impl NotificationStore for RedisStore {
    fn record_delivery<'a>(
        &'a self,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let fut = self.run::<i64>(
            &self.scripts.record,
            keys.to_vec(),
            vec![millis(ttl).to_string()],
        );
        Box::pin(async move { Ok(fut.await? == 1) })
    }

    fn claim<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        let fut = self.run::<String>(
            &self.scripts.claim,
            vec![key.to_string()],
            vec![token.to_string(), millis(lease).to_string()],
        );
        Box::pin(async move {
            match fut.await?.as_str() {
                "claimed" => Ok(Claim::Claimed),
                "completed" => Ok(Claim::Completed),
                "busy" => Ok(Claim::Busy),
                other => Err(StoreError::Unavailable(
                    format!("unexpected answer from the claim script: {other:?}").into(),
                )),
            }
        })
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        keep: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let fut = self.run::<i64>(
            &self.scripts.complete,
            vec![key.to_string()],
            vec![token.to_string(), millis(keep).to_string()],
        );
        Box::pin(async move { fut.await.map(|_| ()) })
    }

    fn release<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let fut = self.run::<i64>(
            &self.scripts.release,
            vec![key.to_string()],
            vec![token.to_string()],
        );
        Box::pin(async move { fut.await.map(|_| ()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_in_a_hash_tag() {
        assert_eq!(prefix("1900000001"), "wechatpay:{1900000001}:");
    }

    #[test]
    fn a_malformed_url_is_a_typed_error_and_the_address_stays_private() {
        let e = RedisStore::connect_blocking("not a url", "m", DEFAULT_TIMEOUT).unwrap_err();
        assert!(matches!(e, StoreError::Unavailable(_)));
        let s = RedisStore::connect_blocking(
            "redis://:hunter2-secret@127.0.0.1:1/",
            "m",
            DEFAULT_TIMEOUT,
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}

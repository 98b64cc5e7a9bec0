//! Handling a notification once — on one server or many — without ever losing one.
//!
//! Two questions, kept apart:
//!
//! 1. **Is this delivery a replay?** An attacker or a proxy re-sending captured bytes sends the
//!    same signature (and the same timestamp and nonce) again within the clock window: refused.
//!    A genuine retry from WeChat Pay is newly signed and passes.
//! 2. **Was this notification processed?** Keyed by its `id` (or a key of your own, such as
//!    `out_trade_no` + event type), in two phases: *claim* before your handler runs, then
//!    *complete* when it succeeded or *release* when it failed — with a lease, so that a crashed
//!    instance's claim frees itself. Already completed → answer success without running the
//!    handler; claimed elsewhere and still leased → answer failure (WeChat Pay retries; nothing
//!    is lost). Completed keys are kept for 25 h, longer than WeChat Pay's whole retry schedule
//!    (15 s, 15 s, 30 s, 3 min, 10 min, 20 min, 30 min ×3, 60 min, 3 h ×3, 6 h ×2: about 24 h).
//!
//! When in doubt — the store is down or slow, the handler failed, the claim is held elsewhere —
//! the handler does not run (or its success is not recorded) and the answer is a failure, so
//! WeChat Pay delivers again.
//!
//! ```
//! use wechatpay_core::notify::{Callbacks, MemoryStore, Notification, Outcome};
//! # fn run(callbacks: &Callbacks, headers: &http::HeaderMap, body: &[u8]) {
//! let store = MemoryStore::new();              // one process; wechatpay-redis for many
//! let handled = callbacks.handle_blocking(&store, headers, body, |n: Notification<serde_json::Value>| {
//!     // record the payment: n.resource["out_trade_no"], … (`?` on any error: a failure answer)
//!     Ok(())
//! });
//! let answer = handled.answer;                 // send it back to WeChat Pay as is
//! # let _ = (answer, matches!(handled.outcome, Outcome::Processed)); }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use super::{failure, success, Callbacks, Notification, NotifyError, Resource};
use crate::clock::{Clock, SystemClock};
use http::{HeaderMap, Response};

/// A boxed future, as the store's methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The notification store failed: nothing was decided, the handler does not run, the answer is
/// a failure (WeChat Pay retries).
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or answered with an error.
    #[error("the notification store is unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store did not answer in time.
    #[error("the notification store did not answer within {0:?}")]
    Timeout(Duration),
    /// The store is full of claims still leased: none is forgotten to make room (that would run
    /// a handler twice), so nothing new is recorded.
    #[error("the notification store is full ({capacity} keys, all live claims): nothing new is recorded until a lease ends")]
    Full {
        /// The store's capacity.
        capacity: usize,
    },
}

/// The answer to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// Yours: run the handler, then complete or release.
    Claimed,
    /// Processed before: answer success without running the handler.
    Completed,
    /// Claimed by another delivery whose lease has not run out: answer failure.
    Busy,
}

/// Where deliveries and claims are remembered: [`MemoryStore`] for one process,
/// `wechatpay_redis::RedisStore` for instances that share a Redis. Every method must be atomic.
pub trait NotificationStore: Send + Sync {
    /// Record a delivery's `keys` (one from its signature, one from its timestamp and nonce)
    /// for `ttl`, atomically; `false` when any was recorded before and has not expired (a
    /// replay), in which case none is recorded.
    fn record_delivery<'a>(
        &'a self,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Claim `key` for `token` with a lease of `lease`.
    fn claim<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>>;
    /// Mark `key` processed (if `token` still holds it) and keep it for `keep`.
    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        keep: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Give `key` up (if `token` still holds it), so that the next delivery runs the handler.
    fn release<'a>(&'a self, key: &'a str, token: &'a str)
        -> BoxFuture<'a, Result<(), StoreError>>;
}

/// How long claims and completed keys live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HandleOptions {
    /// A claim's lease: longer than your handler ever runs (default 120 s). A crashed instance's
    /// claim frees itself after it.
    pub lease: Duration,
    /// How long a completed key is kept (default 25 h, longer than the retry schedule).
    pub keep_completed: Duration,
}

impl Default for HandleOptions {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(120),
            keep_completed: Duration::from_secs(25 * 3600),
        }
    }
}

impl HandleOptions {
    /// Set the lease.
    pub fn lease(mut self, d: Duration) -> Self {
        self.lease = d;
        self
    }

    /// Set how long completed keys are kept.
    pub fn keep_completed(mut self, d: Duration) -> Self {
        self.keep_completed = d;
        self
    }
}

/// Why a notification handler failed: the message of any error, as `?` converts every error
/// that is `Display` (so a handler's closure needs no error type written out). It goes to the
/// merchant's log ([`Outcome::HandlerFailed`]), never to WeChat Pay.
///
/// ```
/// # use wechatpay_core::notify::HandlerError;
/// fn save(order: &str) -> Result<(), HandlerError> {
///     let total: u64 = order.parse()?; // a ParseIntError becomes a HandlerError
///     if total == 0 {
///         return Err("an empty order".into());
///     }
///     Ok(())
/// }
/// assert_eq!(save("x").unwrap_err().message(), "invalid digit found in string");
/// ```
#[derive(Debug)]
pub struct HandlerError(String);

impl HandlerError {
    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl<E: fmt::Display> From<E> for HandlerError {
    fn from(e: E) -> Self {
        HandlerError(e.to_string())
    }
}

/// What happened to a delivery.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The handler ran and succeeded; success answered.
    Processed,
    /// Processed before; success answered, the handler did not run.
    AlreadyProcessed,
    /// Another delivery holds the claim; failure answered (WeChat Pay retries).
    InProgress,
    /// The very same delivery was seen before (same signature, or timestamp and nonce);
    /// failure answered.
    Replayed,
    /// Verification, decryption or deserialisation failed; failure answered.
    Rejected(NotifyError),
    /// The handler failed (its message, logged with the `callback answered with failure` event;
    /// the answer to WeChat Pay does not carry it); the claim was released, failure answered.
    HandlerFailed(String),
    /// The store failed; the handler did not run (or its success could not be recorded),
    /// failure answered.
    StoreFailed(StoreError),
    /// No claim token could be drawn (the nonce source failed); nothing was recorded, the
    /// handler did not run, failure answered.
    NoClaimToken(crate::error::BuildError),
}

/// A handled delivery: what happened, and the answer to send back as is.
#[derive(Debug)]
#[non_exhaustive]
pub struct Handled {
    /// What happened.
    pub outcome: Outcome,
    /// The notification id, when the callback was verified.
    pub id: Option<String>,
    /// The answer to send to WeChat Pay.
    pub answer: Response<Vec<u8>>,
}

impl Handled {
    fn new(outcome: Outcome, id: Option<String>) -> Self {
        // The answer, and for the merchant's own failures their reason: it goes to the merchant
        // (the outcome, the log), not to WeChat Pay, as it may name a database or a host.
        let (answer, error) = match &outcome {
            Outcome::Processed | Outcome::AlreadyProcessed => (success(), None),
            Outcome::InProgress => (
                failure("this notification is being processed by another delivery; retry later"),
                None,
            ),
            Outcome::Replayed => (failure("this delivery was received before"), None),
            Outcome::Rejected(e) => (e.answer(), None),
            Outcome::HandlerFailed(m) => (
                failure("the merchant's handler failed; retry later"),
                Some(m.clone()),
            ),
            Outcome::StoreFailed(e) => (
                failure("the merchant's notification store failed; retry later"),
                Some(e.to_string()),
            ),
            Outcome::NoClaimToken(e) => (
                failure("the merchant could not draw a claim token; retry later"),
                Some(e.to_string()),
            ),
        };
        let name = outcome_name(&outcome);
        if answer.status().is_success() {
            tracing::info!(target: "wechatpay", id = id.as_deref().unwrap_or(""), outcome = ?name, "callback handled")
        } else {
            tracing::warn!(target: "wechatpay", id = id.as_deref().unwrap_or(""), outcome = ?name, error, "callback answered with failure")
        }
        Self {
            outcome,
            id,
            answer,
        }
    }
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Processed => "processed",
        Outcome::AlreadyProcessed => "already_processed",
        Outcome::InProgress => "in_progress",
        Outcome::Replayed => "replayed",
        Outcome::Rejected(e) => e.kind(),
        Outcome::HandlerFailed(_) => "handler_failed",
        Outcome::StoreFailed(_) => "store_failed",
        Outcome::NoClaimToken(_) => "no_claim_token",
    }
}

/// The delivery keys of a verified callback: from its signature, and from its timestamp and
/// nonce (a retry is newly signed, with a new timestamp and nonce). Hashed: fixed length.
pub(crate) fn delivery_keys(headers: &HeaderMap) -> Option<[String; 2]> {
    let h = crate::verify::SignatureHeaders::from_headers(headers).ok()?;
    let hash = |s: &str| crate::media::sha256_hex(s.as_bytes());
    Some([
        format!("delivery:sig:{}", hash(h.signature)),
        format!(
            "delivery:tn:{}",
            hash(&format!("{}\n{}", h.timestamp, h.nonce))
        ),
    ])
}

/// A notification read as JSON, deserialised into `T` (the plaintext kept when it does not fit).
pub(super) fn typed<T: Resource>(
    n: Notification<serde_json::Value>,
) -> Result<Notification<T>, NotifyError> {
    super::check_event::<T>(&n.id, &n.event_type)?;
    let plaintext = n.resource.to_string().into_bytes();
    match crate::response::decode::<T>(&plaintext) {
        Ok(resource) => Ok(n.with_resource(resource)),
        Err(e) => Err(NotifyError::Resource {
            source: e.source,
            path: e.path,
            type_name: std::any::type_name::<T>(),
            plaintext,
        }),
    }
}

/// The default of what must be processed once: the notification id.
fn by_id<T>(n: &Notification<T>) -> String {
    n.id.clone()
}

impl Callbacks {
    /// Verify, decrypt, and process a callback once (see the module docs): the one call a
    /// callback endpoint needs. Returns what happened and the answer to send back.
    pub async fn handle<T, F, Fut>(
        &self,
        store: &dyn NotificationStore,
        headers: &HeaderMap,
        body: &[u8],
        handler: F,
    ) -> Handled
    where
        T: Resource,
        F: FnOnce(Notification<T>) -> Fut,
        Fut: Future<Output = Result<(), HandlerError>>,
    {
        self.handle_keyed(store, headers, body, by_id, handler)
            .await
    }

    /// As [`Callbacks::handle`], processing once per `key` (e.g. `out_trade_no` + event type)
    /// instead of per notification id.
    pub async fn handle_keyed<T, K, F, Fut>(
        &self,
        store: &dyn NotificationStore,
        headers: &HeaderMap,
        body: &[u8],
        key: K,
        handler: F,
    ) -> Handled
    where
        T: Resource,
        K: FnOnce(&Notification<T>) -> String,
        F: FnOnce(Notification<T>) -> Fut,
        Fut: Future<Output = Result<(), HandlerError>>,
    {
        let verified = self.verify_refreshing::<T>(headers, body).await;
        self.process(store, headers, verified, key, handler).await
    }

    /// Process a callback verified already (or refused), with these callbacks' options and
    /// delivery TTL: the replay check, the claim, the handler, then complete or release. `key`
    /// names what must be processed once.
    pub(crate) async fn process<T, K, F, Fut>(
        &self,
        store: &dyn NotificationStore,
        headers: &HeaderMap,
        verified: Result<Notification<T>, NotifyError>,
        key: K,
        handler: F,
    ) -> Handled
    where
        K: FnOnce(&Notification<T>) -> String,
        F: FnOnce(Notification<T>) -> Fut,
        Fut: Future<Output = Result<(), HandlerError>>,
    {
        let n = match verified {
            Ok(n) => n,
            Err(e) => return Handled::new(Outcome::Rejected(e), None),
        };
        let id = Some(n.id.clone());
        // The claim token is drawn before anything is recorded: without one, the store is left
        // as it was and the retry is processed normally.
        let token = match self.nonces.nonce() {
            Ok(t) => t,
            Err(e) => return Handled::new(Outcome::NoClaimToken(e), id),
        };
        if let Some(delivery) = delivery_keys(headers) {
            match store.record_delivery(&delivery, self.delivery_ttl()).await {
                Ok(true) => {}
                Ok(false) => return Handled::new(Outcome::Replayed, id),
                Err(e) => return Handled::new(Outcome::StoreFailed(e), id),
            }
        }
        let key = format!("notification:{}", key(&n));
        match store.claim(&key, &token, self.options.lease).await {
            Ok(Claim::Claimed) => {}
            Ok(Claim::Completed) => return Handled::new(Outcome::AlreadyProcessed, id),
            Ok(Claim::Busy) => return Handled::new(Outcome::InProgress, id),
            Err(e) => return Handled::new(Outcome::StoreFailed(e), id),
        }
        match handler(n).await {
            Ok(()) => match store
                .complete(&key, &token, self.options.keep_completed)
                .await
            {
                Ok(()) => Handled::new(Outcome::Processed, id),
                // The work is done but not recorded: answer failure; the retry finds the claim
                // (until its lease ends) or runs the handler again — so handlers stay idempotent.
                Err(e) => Handled::new(Outcome::StoreFailed(e), id),
            },
            Err(e) => {
                let _ = store.release(&key, &token).await;
                Handled::new(Outcome::HandlerFailed(e.0), id)
            }
        }
    }

    /// The blocking twin of [`Callbacks::handle`], for a blocking server. The store's futures
    /// are polled on this thread: use [`MemoryStore`] or a store made for blocking use
    /// (`wechatpay_redis::RedisStore::connect_blocking`).
    pub fn handle_blocking<T, F>(
        &self,
        store: &dyn NotificationStore,
        headers: &HeaderMap,
        body: &[u8],
        handler: F,
    ) -> Handled
    where
        T: Resource,
        F: FnOnce(Notification<T>) -> Result<(), HandlerError>,
    {
        let verified = self.verify_refreshing_blocking::<T>(headers, body);
        self.process_blocking(store, headers, verified, handler)
    }

    /// The blocking twin of [`Callbacks::process`] (once per notification id), for a callback
    /// verified already.
    pub(crate) fn process_blocking<T, F>(
        &self,
        store: &dyn NotificationStore,
        headers: &HeaderMap,
        verified: Result<Notification<T>, NotifyError>,
        handler: F,
    ) -> Handled
    where
        F: FnOnce(Notification<T>) -> Result<(), HandlerError>,
    {
        block_on(self.process(store, headers, verified, by_id, |n| {
            std::future::ready(handler(n))
        }))
    }

    /// The options of [`Callbacks::handle`].
    pub fn handle_options(&self) -> HandleOptions {
        self.options
    }

    /// Use `options` for [`Callbacks::handle`].
    pub fn with_handle_options(mut self, options: HandleOptions) -> Self {
        self.options = options;
        self
    }

    /// How long a delivery is remembered: twice the clock window (an older replay fails the
    /// clock check anyway).
    pub fn delivery_ttl(&self) -> Duration {
        Duration::from_secs(2 * self.window.max(1))
    }
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Run a future to completion on this thread (parking between polls).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Delivery,
    Claimed(String),
    Completed,
}

/// A [`NotificationStore`] in this process's memory: deliveries and claims expire on the
/// clock; bounded. Past `capacity`, the delivery records closest to expiry go first, then the
/// completed keys closest to expiry (a retry of one forgotten runs its handler again, so keep
/// handlers idempotent, or the capacity above a day's notifications); a live claim never goes:
/// when only claims are left, a new delivery is answered failure ([`StoreError::Full`]) and
/// WeChat Pay retries.
pub struct MemoryStore {
    clock: Arc<dyn Clock>,
    capacity: usize,
    entries: Mutex<HashMap<String, (Entry, i64)>>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// The capacity of [`MemoryStore::new`]: 100 000 keys (a day of a busy merchant's
    /// notifications, each with its delivery records, in a few tens of MB at most).
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store remembering up to [`MemoryStore::DEFAULT_CAPACITY`] keys, on the system clock.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A store remembering up to `capacity` keys (at least 16), on the system clock.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            clock: Arc::new(SystemClock),
            capacity: capacity.max(16),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Use `clock` (its millisecond reading) for expiry: tests pin it.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Run `f` on the live entries, with room for the new keys `room` counts: expired entries
    /// are dropped, then, past the capacity, delivery records and completed keys (closest to
    /// expiry first, deliveries before completed keys) — never a live claim. `Full` when only
    /// claims are left.
    fn with<R>(
        &self,
        room: impl FnOnce(&HashMap<String, (Entry, i64)>) -> usize,
        f: impl FnOnce(&mut HashMap<String, (Entry, i64)>, i64) -> R,
    ) -> Result<R, StoreError> {
        let now = self.clock.now_millis();
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, expires)| *expires > now);
        let room = room(&map);
        if map.len() + room > self.capacity {
            // A tenth at once, so that a full store is not sorted on every call.
            let excess = map.len() + room - self.capacity;
            let mut forgettable: Vec<(bool, i64, String)> = map
                .iter()
                .filter_map(|(k, (entry, expires))| match entry {
                    Entry::Delivery => Some((false, *expires, k.clone())),
                    Entry::Completed => Some((true, *expires, k.clone())),
                    Entry::Claimed(_) => None,
                })
                .collect();
            forgettable.sort();
            for (_, _, k) in forgettable
                .into_iter()
                .take(excess.max(self.capacity / 10 + 1))
            {
                map.remove(&k);
            }
            if map.len() + room > self.capacity {
                return Err(StoreError::Full {
                    capacity: self.capacity,
                });
            }
        }
        Ok(f(&mut map, now))
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

fn ready<'a, T: Send + 'a>(v: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(v))
}

impl NotificationStore for MemoryStore {
    fn record_delivery<'a>(
        &'a self,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let new = |m: &HashMap<_, _>| {
            if keys.iter().any(|k| m.contains_key(k)) {
                0
            } else {
                keys.len()
            }
        };
        ready(self.with(new, |m, now| {
            if keys.iter().any(|k| m.contains_key(k)) {
                false
            } else {
                for k in keys {
                    m.insert(k.clone(), (Entry::Delivery, now + ms(ttl)));
                }
                true
            }
        }))
    }

    fn claim<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        let new = |m: &HashMap<_, _>| usize::from(!m.contains_key(key));
        ready(self.with(new, |m, now| match m.get(key) {
            Some((Entry::Completed, _)) => Claim::Completed,
            Some((Entry::Claimed(_), _)) | Some((Entry::Delivery, _)) => Claim::Busy,
            None => {
                m.insert(
                    key.to_string(),
                    (Entry::Claimed(token.to_string()), now + ms(lease)),
                );
                Claim::Claimed
            }
        }))
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
        keep: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        // Completed unless another delivery holds the key now (its lease ran out on us): that
        // one completes it.
        // The claim's own key is replaced: room is needed only when its lease ran out.
        let new = |m: &HashMap<_, _>| usize::from(!m.contains_key(key));
        ready(self.with(new, |m, now| {
            if !matches!(m.get(key), Some((Entry::Claimed(t), _)) if t != token) {
                m.insert(key.to_string(), (Entry::Completed, now + ms(keep)));
            }
        }))
    }

    fn release<'a>(
        &'a self,
        key: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        ready(self.with(
            |_| 0,
            |m, _| {
                if matches!(m.get(key), Some((Entry::Claimed(t), _)) if t == token) {
                    m.remove(key);
                }
            },
        ))
    }
}

crate::error::debug_as_display!(StoreError);

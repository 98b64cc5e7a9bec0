//! The notifications the gateway owes the merchant: queued when something happens on WeChat
//! Pay's side (an order paid, a refund completed, a transfer finished), delivered by a running
//! [`crate::server::Server`] to the `notify_url` on WeChat Pay's retry schedule, each attempt
//! recorded. Without a server, [`crate::Gateway::take_notifications`] hands them to a test.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Request;

use crate::deliver::{Event, RETRY_SCHEDULE};
use crate::Gateway;

/// A notification waiting to be delivered.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Where it goes: the `notify_url` of the order, refund or transfer.
    pub url: String,
    /// What it says (`event_type`, the resource before encryption).
    pub event: Event,
    /// The envelope (encrypted resource, its `id`), the same for every attempt.
    pub body: Vec<u8>,
}

/// One delivery attempt the server made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The notification's `event_type`.
    pub event_type: String,
    /// The `notify_url`.
    pub url: String,
    /// 1 for the first attempt.
    pub attempt: usize,
    /// The endpoint's status, when it answered.
    pub status: Option<u16>,
    /// Why there was no answer, or why the notification is not delivered at all.
    pub error: Option<String>,
}

impl Delivery {
    /// Whether the endpoint took the notification (a 2xx answer).
    pub fn accepted(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The queue, the log and the pace of deliveries.
pub(crate) struct Outbox {
    queue: Mutex<VecDeque<Outgoing>>,
    log: Mutex<Vec<Delivery>>,
    scale: AtomicU64,
}

impl Default for Outbox {
    fn default() -> Self {
        Self {
            queue: Mutex::default(),
            log: Mutex::default(),
            scale: AtomicU64::new(1f64.to_bits()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Outbox {
    pub(crate) fn push(&self, outgoing: Outgoing) {
        lock(&self.queue).push_back(outgoing);
    }

    pub(crate) fn take(&self) -> Vec<Outgoing> {
        lock(&self.queue).drain(..).collect()
    }

    pub(crate) fn record(&self, delivery: Delivery) {
        lock(&self.log).push(delivery);
    }

    pub(crate) fn log(&self) -> Vec<Delivery> {
        lock(&self.log).clone()
    }

    pub(crate) fn set_scale(&self, scale: f64) {
        let s = if scale.is_finite() {
            scale.clamp(0.0, 1.0)
        } else {
            1.0
        };
        self.scale.store(s.to_bits(), Ordering::Relaxed);
    }

    pub(crate) fn scale(&self) -> f64 {
        f64::from_bits(self.scale.load(Ordering::Relaxed))
    }
}

/// Whether the sandbox delivers to `url`: `http://` on a loopback host only (it is a local test
/// tool: it sends nothing to the network). `Err` says why not.
pub(crate) fn deliverable(url: &str) -> Result<(), String> {
    let uri: http::Uri = url.parse().map_err(|_| format!("{url:?} is not a URL"))?;
    let host = uri.host().unwrap_or("");
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if uri.scheme_str() == Some("http") && loopback {
        Ok(())
    } else {
        Err(format!(
            "not delivered: the sandbox delivers to http:// on 127.0.0.1 or localhost only, not to {url}"
        ))
    }
}

/// How long one attempt waits for the endpoint's answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a running server looks for queued notifications.
const POLL: Duration = Duration::from_millis(20);

/// The server's delivery loop: every queued notification is delivered on its own task; the loop
/// ends with the server's runtime.
pub(crate) async fn deliver_queued(gateway: Arc<Gateway>) {
    let mut tick = tokio::time::interval(POLL);
    loop {
        tick.tick().await;
        for outgoing in gateway.take_notifications() {
            tokio::spawn(deliver_one(gateway.clone(), outgoing));
        }
    }
}

/// Deliver one notification until the endpoint answers 2xx or the schedule ends, each attempt
/// newly signed and recorded.
async fn deliver_one(gateway: Arc<Gateway>, outgoing: Outgoing) {
    let record = |attempt, status, error| {
        gateway.outbox().record(Delivery {
            event_type: outgoing.event.event_type.clone(),
            url: outgoing.url.clone(),
            attempt,
            status,
            error,
        })
    };
    if let Err(reason) = deliverable(&outgoing.url) {
        record(1, None, Some(reason));
        return;
    }
    for attempt in 1..=RETRY_SCHEDULE.len() + 1 {
        if attempt > 1 {
            let wait = RETRY_SCHEDULE[attempt - 2].mul_f64(gateway.outbox().scale());
            tokio::time::sleep(wait).await;
        }
        let request: Request<Vec<u8>> =
            gateway.sign_notification(outgoing.body.clone(), crate::deliver::now(), None);
        match crate::server::post_within(&outgoing.url, request, ATTEMPT_TIMEOUT).await {
            Ok((status, _)) => {
                record(attempt, Some(status.as_u16()), None);
                if status.is_success() {
                    return;
                }
            }
            Err(e) => record(attempt, None, Some(e.to_string())),
        }
    }
}

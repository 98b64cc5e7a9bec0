//! Delivering notifications like WeChat Pay: each attempt newly signed (same body and `id`, a
//! new timestamp, nonce and signature), retried on WeChat Pay's schedule until the endpoint
//! answers 2xx, every attempt recorded — and the scenarios that test a merchant's endpoint
//! (tampered, probe, stale, wrong APIv3 key, replayed bytes, duplicates, concurrent duplicates).
//!
//! The schedule can be scaled (`0.001` turns 15 s into 15 ms); the signing time is always the
//! real clock, so that the endpoint's clock window accepts every attempt.

use std::io;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::{Request, StatusCode};
use serde_json::Value;
use wechatpay_core::ApiV3Key;

use crate::{Fault, Gateway};

/// WeChat Pay's waits between attempts after a failed or missing answer: 15 s, 15 s, 30 s,
/// 3 min, 10 min, 20 min, 30 min ×3, 60 min, 3 h ×3, 6 h ×2 (about 24 h; 16 attempts).
pub const RETRY_SCHEDULE: [Duration; 15] = [
    Duration::from_secs(15),
    Duration::from_secs(15),
    Duration::from_secs(30),
    Duration::from_secs(180),
    Duration::from_secs(600),
    Duration::from_secs(1200),
    Duration::from_secs(1800),
    Duration::from_secs(1800),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
    Duration::from_secs(10800),
    Duration::from_secs(10800),
    Duration::from_secs(10800),
    Duration::from_secs(21600),
    Duration::from_secs(21600),
];

/// The longest answer body kept per attempt.
const KEPT_ANSWER: usize = 4096;

/// A notification to deliver: what [`Gateway::notification_body`] needs.
#[derive(Debug, Clone)]
pub struct Event {
    /// `event_type`, e.g. `TRANSACTION.SUCCESS`.
    pub event_type: String,
    /// `summary`.
    pub summary: String,
    /// `resource.original_type`, e.g. `transaction`.
    pub original_type: String,
    /// The resource, encrypted under the APIv3 key.
    pub resource: Value,
}

impl Event {
    /// An event of `event_type` (`summary`) whose resource, of `original_type`, is `resource`.
    pub fn new(event_type: &str, summary: &str, original_type: &str, resource: Value) -> Event {
        Event {
            event_type: event_type.to_string(),
            summary: summary.to_string(),
            original_type: original_type.to_string(),
            resource,
        }
    }

    /// A sample of `event_type` (`TRANSACTION.SUCCESS`, `REFUND.SUCCESS` and the other refund
    /// events, or any other name with a small generic resource). Its `transaction_id` (and
    /// `refund_id`) are random, so that no two samples name the same payment.
    pub fn sample(event_type: &str, out_trade_no: &str) -> Event {
        let now = now();
        let id = |prefix: &str| format!("{prefix}{:015}", crate::random_below(10u64.pow(15)));
        let (summary, original_type, resource) = match event_type {
            "TRANSACTION.SUCCESS" => (
                "支付成功",
                "transaction",
                serde_json::json!({
                    "mchid": "1900000001", "appid": "wxd678efh567hg6787", "out_trade_no": out_trade_no,
                    "transaction_id": id("42000"), "trade_type": "NATIVE", "trade_state": "SUCCESS",
                    "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "",
                    "success_time": crate::rfc3339(now), "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
                    "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"}
                }),
            ),
            e if e.starts_with("REFUND.") => (
                "退款状态变更",
                "refund",
                serde_json::json!({
                    "mchid": "1900000001", "out_trade_no": out_trade_no, "transaction_id": id("42000"),
                    "out_refund_no": format!("R-{out_trade_no}"), "refund_id": id("50000"),
                    "refund_status": e.trim_start_matches("REFUND."), "success_time": crate::rfc3339(now),
                    "user_received_account": "支付用户零钱",
                    "amount": {"total": 100, "refund": 100, "payer_total": 100, "payer_refund": 100}
                }),
            ),
            _ => (
                "通知",
                "resource",
                serde_json::json!({"mchid": "1900000001", "out_trade_no": out_trade_no}),
            ),
        };
        Event::new(event_type, summary, original_type, resource)
    }
}

/// One attempt: what was sent and what came back.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// 1 for the first delivery, 2 for the first retry, …
    pub number: usize,
    /// When it was sent, from the start of the delivery (real time, after scaling).
    pub offset: Duration,
    /// The `Wechatpay-*` headers sent.
    pub headers: Vec<(String, String)>,
    /// The answer's status, when one came.
    pub status: Option<StatusCode>,
    /// The answer's body (at most 4 KiB, lossy UTF-8).
    pub answer: String,
    /// Why no answer came (connection refused, timed out, …).
    pub error: Option<String>,
}

impl Attempt {
    /// Whether the endpoint accepted it (2xx).
    pub fn accepted(&self) -> bool {
        self.status.is_some_and(|s| s.is_success())
    }
}

/// Everything that happened to one notification.
#[derive(Debug, Clone)]
pub struct Report {
    /// The notification id.
    pub id: String,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
}

impl Report {
    /// Whether an attempt was accepted (the last one, as delivery stops there).
    pub fn delivered(&self) -> bool {
        self.attempts.last().is_some_and(Attempt::accepted)
    }
}

/// An endpoint's answer: its status and body.
pub type Answered = io::Result<(StatusCode, Vec<u8>)>;

/// Sends one request and returns the answer: [`http_sender`] for `http://`, or your own (the
/// CLI sends `https://` with its HTTP client).
pub type Send<'a> = dyn Fn(&str, Request<Vec<u8>>) -> Answered + Sync + 'a;

/// The built-in sender: `http://` only, each request bounded by `timeout`.
pub fn http_sender(timeout: Duration) -> impl Fn(&str, Request<Vec<u8>>) -> Answered + Sync {
    move |url, req| crate::server::post_notification_within(url, req, timeout)
}

/// Delivers notifications from a [`Gateway`] to a URL.
pub struct Deliverer<'g> {
    gateway: &'g Gateway,
    scale: f64,
    max_attempts: usize,
}

impl<'g> Deliverer<'g> {
    /// Deliver with `gateway`'s keys on the real schedule (scale 1), up to 16 attempts.
    pub fn new(gateway: &'g Gateway) -> Self {
        Self {
            gateway,
            scale: 1.0,
            max_attempts: RETRY_SCHEDULE.len() + 1,
        }
    }

    /// Multiply every wait by `scale` (clamped to 0 ..= 1; `0.001` turns 15 s into 15 ms).
    pub fn scale(mut self, scale: f64) -> Self {
        self.scale = if scale.is_finite() {
            scale.clamp(0.0, 1.0)
        } else {
            1.0
        };
        self
    }

    /// Stop after `n` attempts (1 ..= 16).
    pub fn max_attempts(mut self, n: usize) -> Self {
        self.max_attempts = n.clamp(1, RETRY_SCHEDULE.len() + 1);
        self
    }

    /// A new notification body for `event` (a new `id`), encrypted under the gateway's APIv3
    /// key — or under `key` to test an endpoint configured with another one.
    pub fn body(&self, event: &Event, key: Option<&ApiV3Key>) -> Vec<u8> {
        let key = key.unwrap_or(&self.gateway.config().apiv3_key);
        self.gateway.envelope(
            key,
            &event.event_type,
            &event.summary,
            &event.original_type,
            &event.resource,
            now(),
        )
    }

    /// Sign `body` now (a new timestamp and nonce), with `fault` if any.
    pub fn sign(&self, body: &[u8], fault: Option<&Fault>) -> Request<Vec<u8>> {
        self.gateway.sign_notification(body.to_vec(), now(), fault)
    }

    /// Deliver `body` to `url` until an attempt is accepted or the schedule ends; each attempt
    /// is newly signed.
    pub fn deliver(&self, url: &str, body: &[u8], send: &Send<'_>) -> Report {
        let start = Instant::now();
        let mut attempts = Vec::new();
        for number in 1..=self.max_attempts {
            if number > 1 {
                std::thread::sleep(RETRY_SCHEDULE[number - 2].mul_f64(self.scale));
            }
            let a = self.attempt(number, start, url, self.sign(body, None), send);
            let accepted = a.accepted();
            attempts.push(a);
            if accepted {
                break;
            }
        }
        Report {
            id: id_of(body),
            attempts,
        }
    }

    /// Send `request` once and record it.
    pub fn attempt(
        &self,
        number: usize,
        start: Instant,
        url: &str,
        request: Request<Vec<u8>>,
        send: &Send<'_>,
    ) -> Attempt {
        let headers = request
            .headers()
            .iter()
            .filter(|(k, _)| k.as_str().starts_with("wechatpay-"))
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let offset = start.elapsed();
        let (status, answer, error) = match send(url, request) {
            Ok((status, body)) => {
                let kept = &body[..body.len().min(KEPT_ANSWER)];
                (
                    Some(status),
                    String::from_utf8_lossy(kept).into_owned(),
                    None,
                )
            }
            Err(e) => (None, String::new(), Some(e.to_string())),
        };
        Attempt {
            number,
            offset,
            headers,
            status,
            answer,
            error,
        }
    }

    /// Run `scenario` against the endpoint at `url`.
    pub fn scenario(
        &self,
        scenario: Scenario,
        url: &str,
        event: &Event,
        send: &Send<'_>,
    ) -> ScenarioReport {
        let start = Instant::now();
        let once = |body: &[u8], fault: Option<&Fault>| Report {
            id: id_of(body),
            attempts: vec![self.attempt(1, start, url, self.sign(body, fault), send)],
        };
        let body = self.body(event, None);
        let reports = match scenario {
            Scenario::Valid => vec![self.deliver(url, &body, send)],
            Scenario::Tampered => vec![once(&body, Some(&Fault::TamperedBody))],
            Scenario::Probe => vec![once(&body, Some(&Fault::Probe))],
            Scenario::Stale => vec![once(&body, Some(&Fault::StaleTimestamp))],
            Scenario::WrongApiV3Key => {
                let other = ApiV3Key::new("0123456789abcdefghijklmnopqrstuv")
                    .unwrap_or_else(|_| self.gateway.config().apiv3_key.clone());
                vec![once(&self.body(event, Some(&other)), None)]
            }
            Scenario::Replayed => {
                let first = self.deliver(url, &body, send);
                // The exact bytes of a delivery, sent again (as an attacker or proxy would).
                let request = self.replay(&first, &body);
                let replay = Report {
                    id: first.id.clone(),
                    attempts: vec![self.attempt(1, start, url, request, send)],
                };
                vec![first, replay]
            }
            Scenario::Duplicate => {
                let first = self.deliver(url, &body, send);
                vec![first, self.deliver(url, &body, send)]
            }
            Scenario::Concurrent => std::thread::scope(|s| {
                let a = s.spawn(|| self.deliver(url, &body, send));
                let b = s.spawn(|| self.deliver(url, &body, send));
                [a.join(), b.join()]
                    .into_iter()
                    .filter_map(Result::ok)
                    .collect()
            }),
        };
        let ok = scenario.judge(&reports);
        ScenarioReport {
            scenario,
            reports,
            ok,
        }
    }

    /// The request of `report`'s last attempt again, byte for byte (`body` is what it
    /// delivered): a replay, as an attacker or a proxy would send it.
    pub fn replay(&self, report: &Report, body: &[u8]) -> Request<Vec<u8>> {
        let mut req = Request::new(body.to_vec());
        *req.method_mut() = http::Method::POST;
        if let Some(last) = report.attempts.last() {
            for (k, v) in &last.headers {
                if let (Ok(k), Ok(v)) = (
                    http::HeaderName::from_bytes(k.as_bytes()),
                    http::HeaderValue::from_str(v),
                ) {
                    req.headers_mut().insert(k, v);
                }
            }
        }
        req.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        req
    }
}

/// A test of a merchant's callback endpoint (`wxpay sandbox deliver --fault …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scenario {
    /// A genuine notification, retried until accepted: expect 2xx.
    Valid,
    /// The body changed after signing: expect a refusal.
    Tampered,
    /// A probe signature (`WECHATPAY/SIGNTEST/…`): expect a refusal.
    Probe,
    /// Signed an hour ago: expect a refusal.
    Stale,
    /// Encrypted under another APIv3 key: expect a refusal.
    WrongApiV3Key,
    /// Delivered, then the same bytes again: expect 2xx, then a refusal.
    Replayed,
    /// Delivered, then delivered again (newly signed, same id): expect 2xx twice (your handler
    /// should run once — check your records).
    Duplicate,
    /// Delivered twice at once (newly signed, same id): expect both accepted in the end (one
    /// may be refused first while the other is processed, then retried).
    Concurrent,
}

impl Scenario {
    /// Every scenario, in a sensible order.
    pub const ALL: [Scenario; 8] = [
        Scenario::Valid,
        Scenario::Tampered,
        Scenario::Probe,
        Scenario::Stale,
        Scenario::WrongApiV3Key,
        Scenario::Replayed,
        Scenario::Duplicate,
        Scenario::Concurrent,
    ];

    /// Its name on the command line: `valid`, `tampered`, `probe`, `stale`, `wrong-apiv3-key`,
    /// `replayed`, `duplicate`, `concurrent`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Valid => "valid",
            Scenario::Tampered => "tampered",
            Scenario::Probe => "probe",
            Scenario::Stale => "stale",
            Scenario::WrongApiV3Key => "wrong-apiv3-key",
            Scenario::Replayed => "replayed",
            Scenario::Duplicate => "duplicate",
            Scenario::Concurrent => "concurrent",
        }
    }

    /// The scenario named `name`.
    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// What a correct endpoint does.
    pub fn expected(self) -> &'static str {
        match self {
            Scenario::Valid => "accepted (2xx)",
            Scenario::Tampered | Scenario::Probe | Scenario::Stale | Scenario::WrongApiV3Key => {
                "refused (not 2xx), so that nothing false is recorded"
            }
            Scenario::Replayed => "accepted, then the replayed bytes refused",
            Scenario::Duplicate => "accepted both times (processed once)",
            Scenario::Concurrent => "both accepted in the end (processed once)",
        }
    }

    fn judge(self, reports: &[Report]) -> bool {
        let answered_refusal = |r: &Report| {
            r.attempts
                .last()
                .is_some_and(|a| a.status.is_some() && !a.accepted())
        };
        match self {
            Scenario::Valid => reports.first().is_some_and(Report::delivered),
            Scenario::Tampered | Scenario::Probe | Scenario::Stale | Scenario::WrongApiV3Key => {
                reports.first().is_some_and(answered_refusal)
            }
            Scenario::Replayed => {
                reports.len() == 2 && reports[0].delivered() && answered_refusal(&reports[1])
            }
            Scenario::Duplicate | Scenario::Concurrent => {
                reports.len() == 2 && reports.iter().all(Report::delivered)
            }
        }
    }
}

/// What a scenario did and whether the endpoint behaved.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// The scenario.
    pub scenario: Scenario,
    /// One report per delivery made.
    pub reports: Vec<Report>,
    /// Whether the endpoint answered as [`Scenario::expected`] says.
    pub ok: bool,
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn id_of(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .unwrap_or_default()
}

//! # wechatpay-sandbox
//!
//! A WeChat Pay APIv3 gateway on loopback, for integration tests: it checks every request's
//! `Authorization` the way WeChat Pay does, signs every answer with a platform key (certificate
//! mode or public key mode), keeps pay-after orders, JSAPI/APP/H5/Native payments and refunds in
//! memory, and can inject faults.
//!
//! The heart, [`Gateway`], is sans-IO: `http::Request` and a clock reading in, a [`Reply`] out.
//! [`server`] wraps it in a small HTTP/1.1 server on `127.0.0.1`.
//!
//! **Everything here is for tests.** The bundled keys ([`TestKeys`]) are public and fixed:
//! the same in every copy of this crate, never secret.
//!
//! ## Unit tests with no network
//!
//! Sign with your client, let [`Gateway::handle`] answer (no socket, the clock pinned), verify
//! the answer with your client — the code under test runs exactly as against WeChat Pay:
//!
//! ```
//! use wechatpay_api::pay::transactions::{native, native::PrepayRequest, Amount};
//! use wechatpay_core::FixedClock;
//! use wechatpay_sandbox::{Gateway, Mode, TestKeys};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! const NOW: i64 = 1_800_000_000;
//! let keys = TestKeys::load();
//! let client = keys
//!     .client_builder("https://api.mch.weixin.qq.com", Mode::Certificate)
//!     .clock(FixedClock(NOW))
//!     .build()?;
//! let gateway = Gateway::with_test_keys(Mode::Certificate);
//!
//! let signed = client.sign(native(&PrepayRequest {
//!     appid: "wxd678efh567hg6787".into(),
//!     mchid: keys.mchid.into(),
//!     description: "Image".into(),
//!     out_trade_no: "ORDER-1".into(),
//!     notify_url: "https://example.com/notify".into(),
//!     amount: Amount { total: 1, ..Default::default() },
//!     ..Default::default()
//! }))?;
//! let reply = gateway.handle(&signed.request, NOW);
//! let answer = client.verify(&signed.expect, &reply.response)?;
//! assert!(answer.data.code_url.starts_with("weixin://"));
//!
//! // An answer of your own, signed as WeChat Pay signs (to test how your code takes it):
//! let response = gateway.signed_answer(
//!     http::StatusCode::OK,
//!     r#"{"code_url":"weixin://wxpay/bizpayurl?pr=fixed"}"#,
//!     NOW,
//! );
//! let answer = client.verify(&signed.expect, &response)?;
//! assert_eq!(answer.data.code_url, "weixin://wxpay/bizpayurl?pr=fixed");
//!
//! // A callback, signed and encrypted: see `Gateway::notification`.
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use wechatpay_core::sign::{request_message, response_message};
use wechatpay_core::ApiV3Key;
use wechatpay_core::{PlatformKey, PrivateKey};

mod bills;
pub mod connector;
pub mod deliver;
pub use bills::bill_text;
mod funds;
mod multipart;
pub mod outbox;
mod pay;
pub mod redis;
pub mod seed;
pub mod server;
mod store;
mod testkeys;
pub mod tls;
pub mod v2;

pub use testkeys::TestKeys;

/// A fault to inject into an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Sign the answer, then change its body.
    TamperedBody,
    /// Send a signature made over another message.
    WrongSignature,
    /// Send a probe signature `WECHATPAY/SIGNTEST/…`.
    Probe,
    /// Sign with a timestamp one hour old.
    StaleTimestamp,
    /// Name a serial nobody trusts.
    UnknownSerial,
    /// Leave out the `Wechatpay-*` signature headers.
    MissingSignatureHeaders,
    /// Answer after this delay.
    Delay(Duration),
    /// Close the connection without answering.
    DropConnection,
    /// Answer `500 SYSTEM_ERROR`.
    SystemError,
    /// Answer a correctly signed body of this many bytes (at most [`MAX_OVERSIZED`]).
    OversizedBody(usize),
    /// Announce a wrong `hash_value` for a bill (trade and fund-flow bill requests).
    WrongBillHash,
}

/// The largest body [`Fault::OversizedBody`] makes: 64 MiB.
pub const MAX_OVERSIZED: usize = 64 << 20;

/// The longest [`Fault::Delay`]: 60 s.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

impl Fault {
    /// Parse the value of the `Wechatpay-Sandbox-Fault` request header: `tampered-body`,
    /// `wrong-signature`, `probe`, `stale-timestamp`, `unknown-serial`, `missing-signature`,
    /// `delay=MS` (at most 60 000), `drop`, `system-error`, `oversized=BYTES` (at most
    /// [`MAX_OVERSIZED`]), `wrong-hash`. Anything else, or a parameter out of bounds, is `None`.
    pub fn parse(s: &str) -> Option<Fault> {
        Some(match s {
            "tampered-body" => Fault::TamperedBody,
            "wrong-signature" => Fault::WrongSignature,
            "probe" => Fault::Probe,
            "stale-timestamp" => Fault::StaleTimestamp,
            "unknown-serial" => Fault::UnknownSerial,
            "missing-signature" => Fault::MissingSignatureHeaders,
            "drop" => Fault::DropConnection,
            "system-error" => Fault::SystemError,
            "wrong-hash" => Fault::WrongBillHash,
            other => {
                if let Some(ms) = other.strip_prefix("delay=") {
                    let d = Duration::from_millis(ms.parse().ok()?);
                    Fault::Delay(Some(d).filter(|d| *d <= MAX_DELAY)?)
                } else if let Some(n) = other.strip_prefix("oversized=") {
                    Fault::OversizedBody(n.parse().ok().filter(|n| *n <= MAX_OVERSIZED)?)
                } else {
                    return None;
                }
            }
        })
    }
}

/// The sandbox's own control endpoint (not a WeChat Pay API): `POST` it, signed with the
/// merchant's credentials like any call, and the user pays the order `out_trade_no` — as
/// [`Gateway::pay`] does, `TRANSACTION.SUCCESS` goes to the order's `notify_url`. The answer is
/// the paid transaction. `wxpay sandbox pay OUT_TRADE_NO` calls it.
pub const PAY_PATH: &str = "/v3/sandbox/pay/{out_trade_no}";

/// The sandbox's control endpoint where the user confirms a merchant transfer waiting for them
/// (`WAIT_USER_CONFIRM`): `POST` it, signed like any call; the transfer succeeds and
/// `MCHTRANSFER.BILL.FINISHED` goes to its `notify_url`, as [`Gateway::confirm_transfer`] does.
pub const CONFIRM_TRANSFER_PATH: &str = "/v3/sandbox/transfer-bills/{out_bill_no}/confirm";

/// Where the request was sent (`https://api.mch.weixin.qq.com`, `http://127.0.0.1:8080`): the
/// URI's own scheme and authority, or `http://` and the `Host` header.
fn origin<B>(req: &Request<B>) -> String {
    match (req.uri().scheme_str(), req.uri().authority()) {
        (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
        _ => {
            let host = req
                .headers()
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1");
            format!("http://{host}")
        }
    }
}

/// The sandbox's control endpoint that closes a day early: `POST` it, signed like any call,
/// with `{"bill_date": "yyyy-MM-dd"}` (or `{}` for today, Beijing time), and the bills of that
/// day are served at once instead of from 10:00 the next morning, as [`Gateway::close_day`]
/// does. The answer is `{"bill_date": …}`. `wxpay sandbox close-day` calls it.
pub const CLOSE_DAY_PATH: &str = "/v3/sandbox/close-day";

/// The request header that selects a fault for one request.
pub const FAULT_HEADER: &str = "Wechatpay-Sandbox-Fault";

/// A key the gateway signs answers with.
pub struct PlatformSigner {
    /// Certificate serial or `PUB_KEY_ID_…`.
    pub id: String,
    /// The private key.
    pub key: PrivateKey,
    /// For certificate mode: the certificate PEM (served by `GET /v3/certificates`) and its
    /// validity (Unix seconds).
    pub certificate: Option<(String, i64, i64)>,
}

/// Which platform keys the merchant has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Platform certificates only (merchants onboarded before late 2024).
    Certificate,
    /// A platform public key only (`GET /v3/certificates` answers 404 `RESOURCE_NOT_EXISTS`).
    PublicKey,
    /// Both, as during a migration: answers are signed with the key the request names in
    /// `Wechatpay-Serial`, by default with the certificate.
    Both,
}

/// What the gateway knows.
pub struct Config {
    /// The merchant id it serves.
    pub mchid: String,
    /// The merchant's API certificate serial.
    pub merchant_serial: String,
    /// The merchant's public key (checks request signatures).
    pub merchant_public_key: PlatformKey,
    /// Platform certificates, oldest first (the newest signs by default).
    pub certificates: Vec<PlatformSigner>,
    /// The platform public key.
    pub public_key: Option<PlatformSigner>,
    /// Which keys are in use (see [`Mode`]); a signer that is absent is never used.
    pub mode: Mode,
    /// The merchant's APIv3 key (encrypts `GET /v3/certificates`).
    pub apiv3_key: ApiV3Key,
    /// Clock window for request timestamps (seconds).
    pub window: u64,
    /// The merchant's APIv2 key (checks and makes APIv2 signatures, encrypts `req_info`).
    pub apiv2_key: wechatpay_core::v2::ApiV2Key,
}

/// What to do with a request.
#[derive(Debug)]
pub struct Reply {
    /// The answer.
    pub response: Response<Vec<u8>>,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// Close the connection instead of answering.
    pub drop_connection: bool,
}

/// The platform keys in use, swapped by rotation and migration.
struct Signers {
    certificates: Vec<Arc<PlatformSigner>>,
    public_key: Option<Arc<PlatformSigner>>,
    mode: Mode,
}

/// The sans-IO gateway.
pub struct Gateway {
    config: Config,
    signers: RwLock<Signers>,
    store: store::Store,
    payments: pay::Payments,
    funds: funds::Funds,
    bills: bills::Bills,
    v2: v2::V2State,
    fault: Mutex<Option<Fault>>,
    /// Eight random digits (below 10⁸) in every id this gateway hands out, so that they differ
    /// from every other gateway's, as WeChat Pay's never repeat (see `instance()`).
    instance: u32,
    counter: AtomicU64,
    clock_offset: std::sync::atomic::AtomicI64,
    requests: AtomicU64,
    certificate_requests: AtomicU64,
    outbox: outbox::Outbox,
}

fn error(status: u16, code: &str, message: &str, detail: Option<Value>) -> (StatusCode, Vec<u8>) {
    let mut v = json!({ "code": code, "message": message });
    if let Some(d) = detail {
        v["detail"] = d;
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        v.to_string().into_bytes(),
    )
}

/// An answer before signing.
pub(crate) type Answer = (StatusCode, Vec<u8>);

/// A new gateway's instance number: what tells its ids from another gateway's. Without it every
/// gateway would number from zero, and a merchant's store that outlives one (Redis, a database)
/// would take a later run's notifications for those it has already processed, and its
/// transactions for known ones. Eight random digits ([`random_below`]).
fn instance() -> u32 {
    u32::try_from(random_below(100_000_000)).unwrap_or(0)
}

/// A number below `bound`, drawn from the OS RNG (a nonce's characters), or, should it fail,
/// from the clock's nanoseconds.
pub(crate) fn random_below(bound: u64) -> u64 {
    use wechatpay_core::NonceSource as _;
    let n = match wechatpay_core::OsNonce.nonce() {
        Ok(nonce) => nonce
            .bytes()
            .fold(0u64, |n, b| n.wrapping_mul(62).wrapping_add(u64::from(b))),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos())),
    };
    n % bound.max(1)
}

/// Ids of one kind that never repeat, from this gateway or another: a prefix, the gateway's
/// instance number in eight digits, and the next number in `width` digits.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    instance: u32,
    width: usize,
    next: AtomicU64,
}

impl Ids {
    pub(crate) fn new(instance: u32, width: usize) -> Self {
        Self {
            instance,
            width,
            next: AtomicU64::new(0),
        }
    }

    /// The next id starting with `prefix`.
    pub(crate) fn next(&self, prefix: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{prefix}{:08}{n:0w$}", self.instance, w = self.width)
    }
}

impl Gateway {
    /// A gateway with `config`. It draws an instance number from the OS RNG, so that no two
    /// gateways hand out the same ids (notification, order, transaction, refund and prepay
    /// ids, signature nonces, `Request-ID`s).
    pub fn new(mut config: Config) -> Self {
        let signers = Signers {
            certificates: config.certificates.drain(..).map(Arc::new).collect(),
            public_key: config.public_key.take().map(Arc::new),
            mode: config.mode,
        };
        let instance = instance();
        Self {
            store: store::Store::new(&config.mchid, instance),
            payments: pay::Payments::new(&config.mchid, instance),
            funds: funds::Funds::new(&config.mchid, instance),
            bills: bills::Bills::default(),
            v2: v2::V2State::new(instance),
            signers: RwLock::new(signers),
            config,
            fault: Mutex::new(None),
            instance,
            counter: AtomicU64::new(0),
            clock_offset: std::sync::atomic::AtomicI64::new(0),
            requests: AtomicU64::new(0),
            certificate_requests: AtomicU64::new(0),
            outbox: outbox::Outbox::default(),
        }
    }

    /// A gateway with the bundled test keys, in `mode`.
    pub fn with_test_keys(mode: Mode) -> Self {
        Self::new(TestKeys::load().config(mode))
    }

    /// The configuration (its signers have moved into the gateway; see [`Gateway::rotate_certificate`]).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Add a new platform certificate; from now on it signs answers (the older ones stay valid
    /// and keep signing `/v3/certificates` answers for requests that name them).
    pub fn rotate_certificate(&self, signer: PlatformSigner) {
        let mut s = self.signers.write().unwrap_or_else(|p| p.into_inner());
        s.certificates.push(Arc::new(signer));
        if s.mode == Mode::PublicKey {
            s.mode = Mode::Both;
        }
    }

    /// Switch the merchant to its public key: from now on answers are signed with it unless the
    /// request names a certificate (the migration period), and callbacks are signed with it.
    pub fn switch_to_public_key(&self, signer: Option<PlatformSigner>) {
        let mut s = self.signers.write().unwrap_or_else(|p| p.into_inner());
        if let Some(pk) = signer {
            s.public_key = Some(Arc::new(pk));
        }
        s.mode = Mode::PublicKey;
    }

    /// Build a callback as WeChat Pay sends it: the `resource` JSON encrypted under the APIv3 key
    /// (AAD = `original_type`), the envelope signed with the key that signs by default now, and
    /// the `Wechatpay-*` headers. `fault` may be `Probe`, `TamperedBody`, `WrongSignature`,
    /// `StaleTimestamp`, `UnknownSerial` or `MissingSignatureHeaders`. The request's URI is
    /// `/notify`; set your own before sending.
    pub fn notification(
        &self,
        event_type: &str,
        summary: &str,
        original_type: &str,
        resource: &Value,
        now: i64,
        fault: Option<&Fault>,
    ) -> Request<Vec<u8>> {
        let body = self.notification_body(event_type, summary, original_type, resource, now);
        self.sign_notification(body, now, fault)
    }

    /// The body of a notification (the envelope, with a new `id`, which no other gateway sends
    /// either: a store that outlives this gateway sees it as new) before signing: hand it to
    /// [`Gateway::sign_notification`], once per delivery attempt.
    pub fn notification_body(
        &self,
        event_type: &str,
        summary: &str,
        original_type: &str,
        resource: &Value,
        now: i64,
    ) -> Vec<u8> {
        self.envelope(
            &self.config.apiv3_key,
            event_type,
            summary,
            original_type,
            resource,
            now,
        )
    }

    /// An envelope encrypted under `key`.
    pub(crate) fn envelope(
        &self,
        key: &ApiV3Key,
        event_type: &str,
        summary: &str,
        original_type: &str,
        resource: &Value,
        now: i64,
    ) -> Vec<u8> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nonce = format!("{n:012}");
        let ciphertext = key
            .encrypt(&nonce, original_type, resource.to_string().as_bytes())
            .unwrap_or_default();
        json!({
            "id": format!("EV-SANDBOX-{:08}-{n:016}", self.instance),
            "create_time": rfc3339(now),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {
                "original_type": original_type,
                "algorithm": ApiV3Key::ALGORITHM,
                "ciphertext": ciphertext,
                "associated_data": original_type,
                "nonce": nonce,
            }
        })
        .to_string()
        .into_bytes()
    }

    /// An answer with `status` and `body`, signed at `now` as WeChat Pay signs answers (with the
    /// key that signs by default now): for tests of how code takes a particular answer.
    pub fn signed_answer(
        &self,
        status: StatusCode,
        body: impl Into<Vec<u8>>,
        now: i64,
    ) -> Response<Vec<u8>> {
        self.sign((status, body.into()), None, false, now, None)
            .response
    }

    /// Sign a notification body anew at `now`, as WeChat Pay does for each retry of one
    /// notification: the same body (and `id`), a new timestamp, nonce and signature. `fault`
    /// as for [`Gateway::notification`].
    pub fn sign_notification(
        &self,
        body: Vec<u8>,
        now: i64,
        fault: Option<&Fault>,
    ) -> Request<Vec<u8>> {
        let reply = self.sign((StatusCode::OK, body), None, false, now, fault);
        let (parts, body) = reply.response.into_parts();
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/notify")
            .body(body)
            .unwrap_or_else(|_| Request::new(Vec::new()));
        for (k, v) in parts.headers.iter() {
            req.headers_mut().append(k.clone(), v.clone());
        }
        req
    }

    /// The user pays the JSAPI/APP/H5/Native order `out_trade_no` at `now` (Unix seconds): it
    /// becomes `SUCCESS` with a `transaction_id`. Returns the transaction as a
    /// `TRANSACTION.SUCCESS` notification carries it (hand it to [`Gateway::notification`]), or
    /// `None` when there is no such unpaid order.
    pub fn pay(&self, out_trade_no: &str, now: i64) -> Option<Value> {
        let (transaction, notify_url) = self.payments.pay(out_trade_no, now)?;
        self.queue_notification(
            &notify_url,
            deliver::Event::new(
                "TRANSACTION.SUCCESS",
                "支付成功",
                "transaction",
                transaction.clone(),
            ),
            now,
        );
        Some(transaction)
    }

    /// Serve the bills of `date` (`yyyy-MM-dd`) from now on, without waiting for 10:00 the
    /// next morning: for tests that reconcile the day they just made.
    pub fn close_day(&self, date: &str) {
        self.bills.close_day(date);
    }

    /// Add `payments` made-up paid orders to the bills of `date` (every tenth partly refunded
    /// the same day), beside the sandbox's own: for tests of large bills. A day with neither has
    /// a made-up past of 2 000 payments.
    pub fn add_history(&self, date: &str, payments: usize) {
        self.bills.add_history(date, payments);
    }

    /// The user confirms the merchant transfer `out_bill_no` at `now`: it succeeds, and
    /// `MCHTRANSFER.BILL.FINISHED` is queued for its `notify_url`. Returns the transfer as a
    /// query shows it, or `None` when no transfer with that number waits for the user.
    pub fn confirm_transfer(&self, out_bill_no: &str, now: i64) -> Option<Value> {
        let (transfer, finished) = self.funds.confirm_transfer(out_bill_no, now).ok()?;
        self.transfer_finished(finished, now);
        Some(transfer)
    }

    fn transfer_finished(&self, finished: funds::Finished, now: i64) {
        if let Some((url, resource)) = finished {
            let event = deliver::Event::new(
                "MCHTRANSFER.BILL.FINISHED",
                "商家转账单据终态通知",
                "mch_payment",
                resource,
            );
            self.queue_notification(&url, event, now);
        }
    }

    /// Queue `event` for `url`, as WeChat Pay does when something happens on its side: a
    /// running [`server::Server`] delivers it on the retry schedule; without one,
    /// [`Gateway::take_notifications`] hands it over.
    pub fn queue_notification(&self, url: &str, event: deliver::Event, now: i64) {
        let body = self.notification_body(
            &event.event_type,
            &event.summary,
            &event.original_type,
            &event.resource,
            now,
        );
        self.outbox.push(outbox::Outgoing {
            url: url.to_string(),
            event,
            body,
        });
    }

    /// The notifications queued and not delivered yet (a running server takes them itself),
    /// oldest first; sign each attempt with [`Gateway::sign_notification`].
    pub fn take_notifications(&self) -> Vec<outbox::Outgoing> {
        self.outbox.take()
    }

    /// Every delivery attempt a running server made, oldest first.
    pub fn deliveries(&self) -> Vec<outbox::Delivery> {
        self.outbox.log()
    }

    /// Multiply the waits between delivery attempts by `scale` (0 ..= 1; default 1, WeChat
    /// Pay's schedule: 15 s, 15 s, 30 s, 3 min …).
    pub fn set_delivery_scale(&self, scale: f64) {
        self.outbox.set_scale(scale);
    }

    pub(crate) fn outbox(&self) -> &outbox::Outbox {
        &self.outbox
    }

    /// Run the gateway's clock `seconds` ahead of the one it is given (negative: behind): its
    /// `Date` headers and signatures move, and requests are checked against it — a server
    /// whose clock differs from the client's (`wxpay doctor` reports the skew).
    pub fn set_clock_offset(&self, seconds: i64) {
        self.clock_offset.store(seconds, Ordering::Relaxed);
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.signers.read().unwrap_or_else(|p| p.into_inner()).mode
    }

    /// The key that signs by default now.
    fn default_signer(&self) -> Option<Arc<PlatformSigner>> {
        let s = self.signers.read().unwrap_or_else(|p| p.into_inner());
        let newest_cert = s.certificates.last().cloned();
        match s.mode {
            Mode::Certificate | Mode::Both => newest_cert.or_else(|| s.public_key.clone()),
            Mode::PublicKey => s.public_key.clone().or(newest_cert),
        }
    }

    /// The key a request names in `Wechatpay-Serial`, if the gateway has it. A named certificate
    /// means "sign with a certificate": the newest one signs, except for `/v3/certificates`
    /// where the named one does (so that the client can verify the download with a key it
    /// already trusts).
    fn chosen_signer(&self, named: &str, certificates_path: bool) -> Option<Arc<PlatformSigner>> {
        let s = self.signers.read().unwrap_or_else(|p| p.into_inner());
        if let Some(pk) = &s.public_key {
            if pk.id == named {
                return Some(pk.clone());
            }
        }
        let hit = s
            .certificates
            .iter()
            .find(|c| c.id.eq_ignore_ascii_case(named))?;
        if certificates_path {
            Some(hit.clone())
        } else {
            s.certificates.last().cloned()
        }
    }

    /// Inject `fault` into every answer from now on (`None` to stop).
    pub fn set_fault(&self, fault: Option<Fault>) {
        if let Ok(mut f) = self.fault.lock() {
            *f = fault;
        }
    }

    /// How many requests were handled.
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// How many `GET /v3/certificates` requests were handled.
    pub fn certificate_request_count(&self) -> u64 {
        self.certificate_requests.load(Ordering::Relaxed)
    }

    /// APIv2: the payer pays the order `out_trade_no` made by `/pay/unifiedorder`; its
    /// fields as `/pay/orderquery` shows them, or `None` for an unknown order.
    pub fn v2_pay(&self, out_trade_no: &str, now: i64) -> Option<wechatpay_core::v2::Fields> {
        self.v2.pay(out_trade_no, now)
    }

    /// APIv2: the payment notification of a paid order, as WeChat Pay POSTs it to
    /// `notify_url` (XML signed with MD5); `None` for an unknown or unpaid order.
    pub fn v2_payment_notification(&self, out_trade_no: &str) -> Option<Request<Vec<u8>>> {
        let body = self.v2.payment_notification(
            &self.config.apiv2_key,
            &self.config.mchid,
            out_trade_no,
        )?;
        Some(v2_post(body))
    }

    /// APIv2: the refund notification of `out_refund_no`: `req_info` is the refund's fields,
    /// AES-256-ECB encrypted under the MD5 of the APIv2 key; `None` for an unknown refund.
    pub fn v2_refund_notification(&self, out_refund_no: &str) -> Option<Request<Vec<u8>>> {
        let body = self.v2.refund_notification(
            &self.config.apiv2_key,
            &self.config.mchid,
            out_refund_no,
        )?;
        Some(v2_post(body))
    }

    /// Handle one request at `now` (Unix seconds).
    pub fn handle<B: AsRef<[u8]>>(&self, req: &Request<B>, now: i64) -> Reply {
        let now = now.saturating_add(self.clock_offset.load(Ordering::Relaxed));
        self.requests.fetch_add(1, Ordering::Relaxed);
        if req.uri().path() == "/v3/certificates" {
            self.certificate_requests.fetch_add(1, Ordering::Relaxed);
        }
        if !req.uri().path().starts_with("/v3/") && !is_apiv3_call(req) {
            // APIv2 (XML): its own authentication (`sign`), answers and faults — only for a
            // request that passed its checks, as for APIv3. An APIv3 call to another path (e.g.
            // a base URL with a path prefix) is an APIv3 404, as WeChat Pay answers it.
            let fault = self.requested_fault(req).ok().flatten();
            let (reply, checked) = v2::handle(self, req, fault.as_ref(), now);
            return if checked {
                with_connection_fault(reply, fault)
            } else {
                reply
            };
        }
        // Faults apply only to authenticated requests: an unauthenticated one gets a plain
        // 401, whatever it asks for.
        let (answer, fault) = match self.authenticate(req, now) {
            Err(a) => (a, None),
            Ok(()) => match self.requested_fault(req) {
                Err(a) => (a, None),
                Ok(Some(Fault::SystemError)) => (
                    error(500, "SYSTEM_ERROR", "系统错误", None),
                    Some(Fault::SystemError),
                ),
                Ok(fault) => (self.route(req, fault.as_ref(), now), fault),
            },
        };
        let chooser = req
            .headers()
            .get("Wechatpay-Serial")
            .and_then(|v| v.to_str().ok());
        let certificates_path = req.uri().path() == "/v3/certificates";
        if wechatpay_core::verify::is_unsigned_download(req.method(), req.uri().path())
            && answer.0.is_success()
        {
            // File downloads are not signed.
            let (status, body) = answer;
            let response = Response::builder()
                .status(status)
                .header("Content-Type", "application/octet-stream")
                .body(body)
                .unwrap_or_else(|_| Response::new(Vec::new()));
            return Reply {
                response,
                delay: None,
                drop_connection: false,
            };
        }
        let reply = self.sign(answer, chooser, certificates_path, now, fault.as_ref());
        with_connection_fault(reply, fault)
    }

    /// The fault a request asks for in `Wechatpay-Sandbox-Fault`, else the one set with
    /// [`Gateway::set_fault`]. An unknown or out-of-bounds value is a 400 `PARAM_ERROR`.
    fn requested_fault<B>(&self, req: &Request<B>) -> Result<Option<Fault>, Answer> {
        match req.headers().get(FAULT_HEADER) {
            Some(v) => match v.to_str().ok().and_then(Fault::parse) {
                Some(f) => Ok(Some(f)),
                None => Err(param_error(
                    "header",
                    FAULT_HEADER,
                    "unknown fault, or a parameter out of bounds (delay ≤ 60000 ms, oversized ≤ 64 MiB)",
                )),
            },
            None => Ok(self.fault.lock().ok().and_then(|f| f.clone())),
        }
    }

    /// Check `Authorization` as WeChat Pay does. Failure: `401 SIGN_ERROR`.
    fn authenticate<B: AsRef<[u8]>>(&self, req: &Request<B>, now: i64) -> Result<(), Answer> {
        let fail = |why: &str| Err(error(401, "SIGN_ERROR", &format!("签名错误: {why}"), None));
        let Some(auth) = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return fail("missing Authorization");
        };
        let Some(params) = auth.strip_prefix("WECHATPAY2-SHA256-RSA2048 ") else {
            return fail("unsupported scheme");
        };
        let mut fields: HashMap<&str, &str> = HashMap::new();
        for part in params.split(',') {
            let Some((k, v)) = part.split_once('=') else {
                return fail("malformed parameter");
            };
            let Some(v) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
                return fail("parameter not quoted");
            };
            fields.insert(k.trim(), v);
        }
        let get = |k: &str| fields.get(k).copied();
        let (Some(mchid), Some(nonce), Some(ts), Some(serial), Some(sig)) = (
            get("mchid"),
            get("nonce_str"),
            get("timestamp"),
            get("serial_no"),
            get("signature"),
        ) else {
            return fail("missing parameter");
        };
        if mchid != self.config.mchid {
            return fail("mchid mismatch");
        }
        if !serial.eq_ignore_ascii_case(&self.config.merchant_serial) {
            return fail("unknown merchant certificate serial");
        }
        let Ok(ts) = ts.parse::<i64>() else {
            return fail("timestamp is not a number");
        };
        if (now - ts).unsigned_abs() > self.config.window {
            return fail("timestamp expired");
        }
        let target = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        // Multipart uploads sign the `meta` part only.
        let signed_body: Vec<u8> = match multipart::parts(req) {
            Some(parts) => match parts.iter().find(|p| p.name == "meta") {
                Some(meta) => meta.data.to_vec(),
                None => return fail("multipart body without a meta part"),
            },
            None => req.body().as_ref().to_vec(),
        };
        let message = request_message(req.method().as_str(), target, ts, nonce, &signed_body);
        if self
            .config
            .merchant_public_key
            .verify(&message, sig)
            .is_err()
        {
            return fail("signature does not verify");
        }
        Ok(())
    }

    fn route<B: AsRef<[u8]>>(&self, req: &Request<B>, fault: Option<&Fault>, now: i64) -> Answer {
        let path = req.uri().path();
        let query = req.uri().query().unwrap_or("");
        let body = req.body().as_ref();
        let m = req.method();
        let segs: Vec<&str> = path.split('/').skip(1).collect();
        let allow = |methods: &[Method]| -> Option<Answer> {
            if methods.contains(m) {
                None
            } else {
                Some(error(405, "METHOD_NOT_ALLOWED", "method not allowed", None))
            }
        };
        match segs.as_slice() {
            ["v3", "payscore", "payafter-orders"] => {
                if let Some(a) = allow(&[Method::GET, Method::POST]) {
                    return a;
                }
                if m == Method::POST {
                    if let Err(a) = self.check_sensitive(req) {
                        return a;
                    }
                    self.store.payafter_create(body)
                } else {
                    self.store.payafter_query(query)
                }
            }
            ["v3", "payscore", "payafter-orders", no, action] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                let no = decode(no);
                match *action {
                    "complete" => self.store.payafter_complete(&no, body),
                    "cancel" => self.store.payafter_cancel(&no, body),
                    "sync" => self.store.payafter_sync(&no, body),
                    _ => not_found(),
                }
            }
            ["v3", "pay", "transactions", kind] if pay::Kind::from_segment(kind).is_some() => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                match pay::Kind::from_segment(kind) {
                    Some(k) => self.payments.create(k, body),
                    None => not_found(),
                }
            }
            ["v3", "pay", "transactions", "out-trade-no", no] => {
                if let Some(a) = allow(&[Method::GET]) {
                    return a;
                }
                self.payments.query_by_out_trade_no(&decode(no), query)
            }
            ["v3", "pay", "transactions", "id", id] => {
                if let Some(a) = allow(&[Method::GET]) {
                    return a;
                }
                self.payments.query_by_id(&decode(id), query)
            }
            ["v3", "pay", "transactions", "out-trade-no", no, "close"] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                self.payments.close(&decode(no), body)
            }
            ["v3", "refund", "domestic", "refunds"] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                let (answer, completed) = self.payments.refund(body, now);
                if let Some((url, resource)) = completed {
                    let event =
                        deliver::Event::new("REFUND.SUCCESS", "退款成功", "refund", resource);
                    self.queue_notification(&url, event, now);
                }
                answer
            }
            ["v3", "refund", "domestic", "refunds", no] => {
                if let Some(a) = allow(&[Method::GET]) {
                    return a;
                }
                self.payments.query_refund(&decode(no))
            }
            ["v3", "sandbox", "pay", no] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                match self.pay(&decode(no), now) {
                    Some(transaction) => (StatusCode::OK, transaction.to_string().into_bytes()),
                    None => error(
                        404,
                        "ORDER_NOT_EXIST",
                        "no unpaid JSAPI, APP, H5 or Native order with this out_trade_no",
                        None,
                    ),
                }
            }
            ["v3", "sandbox", "close-day"] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                let date = match serde_json::from_slice::<Value>(body) {
                    Ok(v) => match v.get("bill_date").and_then(Value::as_str) {
                        Some(d) => d.to_string(),
                        None => rfc3339(now)[..10].to_string(),
                    },
                    Err(_) if body.is_empty() => rfc3339(now)[..10].to_string(),
                    Err(_) => return param_error("body", "", "请求体不是 JSON"),
                };
                if !bills::is_calendar_date(&date) {
                    return param_error("body", "bill_date", "bill_date 格式为 yyyy-MM-dd");
                }
                self.close_day(&date);
                (
                    StatusCode::OK,
                    json!({ "bill_date": date }).to_string().into_bytes(),
                )
            }
            ["v3", "sandbox", "transfer-bills", no, "confirm"] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                match self.funds.confirm_transfer(&decode(no), now) {
                    Ok((transfer, finished)) => {
                        self.transfer_finished(finished, now);
                        (StatusCode::OK, transfer.to_string().into_bytes())
                    }
                    Err(a) => a,
                }
            }
            ["v3", "profitsharing", "receivers", action @ ("add" | "delete")] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                if *action == "add" {
                    self.funds.add_receiver(body)
                } else {
                    self.funds.delete_receiver(body)
                }
            }
            ["v3", "profitsharing", "orders"] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                self.funds.share(&self.payments, body, now)
            }
            ["v3", "profitsharing", "orders", "unfreeze"] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                self.funds.unfreeze(&self.payments, body, now)
            }
            ["v3", "profitsharing", "orders", no] => {
                if let Some(a) = allow(&[Method::GET]) {
                    return a;
                }
                self.funds.query_order(&decode(no), query)
            }
            ["v3", "profitsharing", "return-orders"] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                self.funds.return_order(body, now)
            }
            ["v3", "profitsharing", "return-orders", no] => {
                if let Some(a) = allow(&[Method::GET]) {
                    return a;
                }
                self.funds.query_return(&decode(no), query)
            }
            ["v3", "profitsharing", "transactions", id, "amounts"] => {
                if let Some(a) = allow(&[Method::GET]) {
                    return a;
                }
                self.funds.unsplit(&self.payments, &decode(id))
            }
            ["v3", "fund-app", "mch-transfer", "transfer-bills"] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                self.funds.transfer(body, now)
            }
            ["v3", "fund-app", "mch-transfer", "transfer-bills", "out-bill-no", no] => {
                if let Some(a) = allow(&[Method::GET]) {
                    return a;
                }
                self.funds.query_transfer(true, &decode(no))
            }
            ["v3", "fund-app", "mch-transfer", "transfer-bills", "transfer-bill-no", no] => {
                if let Some(a) = allow(&[Method::GET]) {
                    return a;
                }
                self.funds.query_transfer(false, &decode(no))
            }
            ["v3", "fund-app", "mch-transfer", "transfer-bills", "out-bill-no", no, "cancel"] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                let (answer, finished) = self.funds.cancel_transfer(&decode(no), now);
                self.transfer_finished(finished, now);
                answer
            }
            ["v3", "certificates"] => {
                if let Some(a) = allow(&[Method::GET]) {
                    return a;
                }
                self.certificates()
            }
            ["v3", "merchant", "media", "upload" | "video_upload"]
            | ["v3", "marketing", "favor", "media", "image-upload"]
            | ["v3", "merchant-service", "images", "upload"] => {
                if let Some(a) = allow(&[Method::POST]) {
                    return a;
                }
                self.upload(req)
            }
            ["v3", "bill", "tradebill" | "fundflowbill"] => {
                if let Some(a) = allow(&[Method::GET]) {
                    return a;
                }
                let host = origin(req);
                let host = host.as_str();
                let wrong = matches!(fault, Some(Fault::WrongBillHash));
                self.bills
                    .request(path, query, host, wrong, now, &self.payments)
            }
            ["v3", "bill", "sub-merchant-fundflowbill"] => {
                if let Some(a) = allow(&[Method::GET]) {
                    return a;
                }
                let host = origin(req);
                let host = host.as_str();
                self.bills
                    .sub_merchant(query, host, &self.config.merchant_public_key, now)
            }
            ["v3", "billdownload", "file"] => {
                if let Some(a) = allow(&[Method::GET]) {
                    return a;
                }
                self.bills.download(query)
            }
            _ => not_found(),
        }
    }

    /// Sensitive fields must decrypt with the platform key the request names in
    /// `Wechatpay-Serial`, as WeChat Pay requires.
    fn check_sensitive<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Result<(), Answer> {
        let Ok(v) = serde_json::from_slice::<Value>(req.body().as_ref()) else {
            return Ok(());
        };
        let fields: Vec<(&str, &str)> = ["name", "phone", "userid", "address"]
            .iter()
            .filter_map(|k| v.get(*k).and_then(Value::as_str).map(|c| (*k, c)))
            .collect();
        if fields.is_empty() {
            return Ok(());
        }
        let named = req
            .headers()
            .get("Wechatpay-Serial")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let key = {
            let s = self.signers.read().unwrap_or_else(|p| p.into_inner());
            s.certificates
                .iter()
                .chain(s.public_key.iter())
                .find(|k| k.id.eq_ignore_ascii_case(named))
                .cloned()
        };
        let Some(key) = key else {
            return Err(param_error(
                "header",
                "Wechatpay-Serial",
                "Wechatpay-Serial 不是有效的平台证书序列号或公钥ID",
            ));
        };
        for (field, ct) in fields {
            if key.key.decrypt_oaep_base64(ct).is_err() {
                return Err(param_error(
                    "body",
                    field,
                    "敏感字段无法用 Wechatpay-Serial 指定的密钥解密",
                ));
            }
        }
        Ok(())
    }

    fn upload<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Answer {
        let Some(parts) = multipart::parts(req) else {
            return param_error("body", "multipart", "请求体不是 multipart/form-data");
        };
        let (Some(meta), Some(file)) = (
            parts.iter().find(|p| p.name == "meta"),
            parts.iter().find(|p| p.name == "file"),
        ) else {
            return param_error("body", "meta", "缺少 meta 或 file");
        };
        #[derive(serde::Deserialize)]
        struct Meta {
            filename: String,
            sha256: String,
        }
        let Ok(m) = serde_json::from_slice::<Meta>(meta.data) else {
            return param_error("body", "meta", "meta 不是合法的 JSON");
        };
        if m.sha256 != wechatpay_core::media::sha256_hex(file.data) {
            return param_error("body", "sha256", "文件的 sha256 与 meta 不一致");
        }
        if file.filename.as_deref() != Some(m.filename.as_str()) {
            return param_error("body", "filename", "文件名与 meta 不一致");
        }
        let id = format!("SANDBOX-MEDIA-{}", &m.sha256[..16]);
        let body = if req.uri().path().contains("marketing") {
            json!({ "media_url": format!("https://wxpaylogo.qpic.cn/sandbox/{id}") })
        } else {
            json!({ "media_id": id })
        };
        (StatusCode::OK, body.to_string().into_bytes())
    }

    fn certificates(&self) -> Answer {
        let certs: Vec<Arc<PlatformSigner>> = {
            let s = self.signers.read().unwrap_or_else(|p| p.into_inner());
            if s.mode == Mode::PublicKey && s.certificates.is_empty() {
                Vec::new()
            } else {
                s.certificates.clone()
            }
        };
        if certs.is_empty() {
            return error(
                404,
                "RESOURCE_NOT_EXISTS",
                "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥",
                None,
            );
        }
        let mut data = Vec::new();
        for (i, signer) in certs.iter().enumerate() {
            let Some((pem, nb, na)) = &signer.certificate else {
                continue;
            };
            let nonce = format!("c0ffee{i:06}");
            let Ok(ciphertext) =
                self.config
                    .apiv3_key
                    .encrypt(&nonce, "certificate", pem.as_bytes())
            else {
                return error(500, "SYSTEM_ERROR", "encryption failed", None);
            };
            data.push(json!({
                "serial_no": signer.id,
                "effective_time": rfc3339(*nb),
                "expire_time": rfc3339(*na),
                "encrypt_certificate": {
                    "algorithm": ApiV3Key::ALGORITHM,
                    "nonce": nonce,
                    "associated_data": "certificate",
                    "ciphertext": ciphertext,
                }
            }));
        }
        (
            StatusCode::OK,
            json!({ "data": data }).to_string().into_bytes(),
        )
    }

    /// Sign `answer` (errors and 204 too) and apply signature faults.
    fn sign(
        &self,
        answer: Answer,
        chooser: Option<&str>,
        certificates_path: bool,
        now: i64,
        fault: Option<&Fault>,
    ) -> Reply {
        let (status, mut body) = answer;
        if let Some(Fault::OversizedBody(n)) = fault {
            let n = (*n).min(MAX_OVERSIZED);
            let mut big = br#"{"padding":""#.to_vec();
            big.resize(n.saturating_sub(2).max(big.len()), b'x');
            big.extend_from_slice(b"\"}");
            body = big;
        }
        let signer = chooser
            .and_then(|named| self.chosen_signer(named, certificates_path))
            .or_else(|| self.default_signer());
        let mut builder = Response::builder()
            .status(status)
            .header(
                "Request-ID",
                format!(
                    "SANDBOX-{:08}-{:016X}",
                    self.instance,
                    self.counter.fetch_add(1, Ordering::Relaxed)
                ),
            )
            .header(
                http::header::DATE,
                httpdate::fmt_http_date(
                    std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0)),
                ),
            );
        if !body.is_empty() {
            builder = builder.header("Content-Type", "application/json");
        }
        if let (Some(signer), false) = (
            signer,
            matches!(fault, Some(Fault::MissingSignatureHeaders)),
        ) {
            let ts = if matches!(fault, Some(Fault::StaleTimestamp)) {
                now - 3600
            } else {
                now
            };
            let nonce = format!(
                "{:08}{:024}",
                self.instance,
                self.counter.fetch_add(1, Ordering::Relaxed)
            );
            let signed_body: &[u8] = if matches!(fault, Some(Fault::WrongSignature)) {
                b"something else"
            } else {
                &body
            };
            let signature = match fault {
                Some(Fault::Probe) => format!("WECHATPAY/SIGNTEST/{}", "A".repeat(32)),
                _ => signer
                    .key
                    .sign_base64(&response_message(&ts.to_string(), &nonce, signed_body))
                    .unwrap_or_default(),
            };
            let serial = if matches!(fault, Some(Fault::UnknownSerial)) {
                "7777777777777777777777777777777777777777".to_string()
            } else {
                signer.id.clone()
            };
            builder = builder
                .header("Wechatpay-Timestamp", ts.to_string())
                .header("Wechatpay-Nonce", nonce)
                .header("Wechatpay-Signature", signature)
                .header("Wechatpay-Serial", serial)
                .header("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048");
        }
        if matches!(fault, Some(Fault::TamperedBody)) {
            body.extend_from_slice(b" ");
        }
        let response = builder
            .body(body)
            .unwrap_or_else(|_| Response::new(Vec::new()));
        Reply {
            response,
            delay: None,
            drop_connection: false,
        }
    }
}

/// Whether `req` carries an APIv3 `Authorization` (`WECHATPAY2-SHA256-RSA2048 …`).
fn is_apiv3_call<B>(req: &Request<B>) -> bool {
    req.headers()
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"WECHATPAY2-"))
}

pub(crate) fn not_found() -> Answer {
    error(404, "NOT_FOUND", "no such API", None)
}

/// `reply`, delayed or dropped when `fault` says so (the faults the server carries out).
fn with_connection_fault(mut reply: Reply, fault: Option<Fault>) -> Reply {
    match fault {
        Some(Fault::Delay(d)) => reply.delay = Some(d.min(MAX_DELAY)),
        Some(Fault::DropConnection) => reply.drop_connection = true,
        _ => {}
    }
    reply
}

/// A notification POST of an XML body to `/notify`.
fn v2_post(body: Vec<u8>) -> Request<Vec<u8>> {
    let mut req = Request::new(body);
    *req.method_mut() = Method::POST;
    *req.uri_mut() = http::Uri::from_static("/notify");
    req.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    req
}

pub(crate) fn param_error(location: &str, value: &str, message: &str) -> Answer {
    error(
        400,
        "PARAM_ERROR",
        message,
        Some(json!({"location": location, "value": value})),
    )
}

/// A JSON request body as `T`, or WeChat Pay's `PARAM_ERROR`: serde names the missing or wrong
/// field in its message, handed back as `detail.value`.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Answer> {
    if body.is_empty() {
        return Err(param_error("body", "", "请求体为空"));
    }
    serde_json::from_slice(body).map_err(|e| {
        let msg = e.to_string();
        let field = msg.split('`').nth(1).unwrap_or("").to_string();
        param_error(
            "body",
            &field,
            &format!("输入源“/body”映射到值字段失败: {msg}"),
        )
    })
}

/// A `200` JSON answer.
pub(crate) fn ok(v: Value) -> Answer {
    (StatusCode::OK, v.to_string().into_bytes())
}

/// A poisoned lock still holds the state (each change is whole).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn api_error(status: u16, code: &str, message: &str) -> Answer {
    error(status, code, message, None)
}

/// Query pairs, percent-decoded.
pub(crate) fn query_pairs(query: &str) -> std::collections::HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

pub(crate) fn decode(seg: &str) -> String {
    percent_encoding::percent_decode_str(seg)
        .decode_utf8_lossy()
        .into_owned()
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SS+08:00` (China time, as WeChat Pay writes it).
pub(crate) fn rfc3339(unix: i64) -> String {
    wechatpay_core::bill::BeijingTime::from_unix(unix).to_rfc3339()
}

//! Callbacks (notifications): verify the signature over the raw body, decrypt the
//! resource with the APIv3 key, deserialise it, and build the answer to send back.
//!
//! The whole recipe, in a web handler that has the request's headers and **raw body bytes**:
//!
//! ```
//! # use wechatpay_core::notify::Callbacks;
//! # type Transaction = serde_json::Value; // typed: wechatpay_api::pay::transactions::Transaction
//! # fn handle(callbacks: &Callbacks, headers: &http::HeaderMap, body: &[u8]) -> http::Response<Vec<u8>> {
//! match callbacks.verify::<Transaction>(headers, body) {
//!     Ok(n) => {
//!         // n.id, n.event_type ("TRANSACTION.SUCCESS"), n.resource.out_trade_no, ...
//!         // record the payment (idempotently: WeChat Pay may deliver the same id again) ...
//!         wechatpay_core::notify::success()
//!     }
//!     Err(e) => e.answer(), // 4xx/5xx {"code":"FAIL","message":…}: WeChat Pay retries later
//! }
//! # }
//! ```
//!
//! `Callbacks` comes from [`Callbacks::for_client`] (sharing the client's platform keys, clock
//! and window) or [`Callbacks::new`]. The typed resources of all 17 events are in
//! `wechatpay-api` (`pay::transactions::Transaction`, `refund::domestic::Refund`, the others in
//! `events`; `events::EVENT_TYPES` lists them); each refuses the event types it does not read
//! (see [`Resource`]). `serde_json::Value` reads any event.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::aead::ApiV3Key;
use crate::client::Client;
use crate::clock::{Clock, NonceSource};
use crate::error::AeadError;
use crate::error::TransportError;
use crate::error::VerifyError;
use crate::exchange::{Exchange, Locked, Refresh, Step};
use crate::keys::SharedKeys;
use crate::verify::{verify_parts, SignatureHeaders, DEFAULT_WINDOW, SIGNATURE_TYPE};
use std::future::Future;
use std::time::Instant;

mod once;
pub use once::{
    block_on, BoxFuture, Claim, HandleOptions, Handled, HandlerError, MemoryStore,
    NotificationStore, Outcome, StoreError,
};

/// What a notification's decrypted resource is read into: a type of `wechatpay-api`, which
/// names the event types it reads (`pay::transactions::Transaction` reads `TRANSACTION.SUCCESS`
/// only), `serde_json::Value`, which reads any, or a type of your own
/// (`impl Resource for MyType {}` reads any; override [`Resource::event_types`] to refuse the
/// others).
///
/// A notification of another event type is refused with [`NotifyError::UnexpectedEvent`] before
/// it is decrypted, answered as a failure and logged: a `notify_url` routed to the wrong handler
/// cannot go unnoticed.
pub trait Resource: DeserializeOwned {
    /// The event types whose resource this type reads; `None` (the default) reads any.
    fn event_types() -> Option<&'static [&'static str]> {
        None
    }
}

impl Resource for serde_json::Value {}

/// Refuse an event type `T` does not read.
fn check_event<T: Resource>(id: &str, event_type: &str) -> Result<(), NotifyError> {
    match T::event_types() {
        Some(expected) if !expected.contains(&event_type) => Err(NotifyError::UnexpectedEvent {
            id: id.to_string(),
            event_type: event_type.to_string(),
            expected,
            type_name: std::any::type_name::<T>(),
        }),
        _ => Ok(()),
    }
}

/// The only signature type this crate verifies.
pub(crate) const SIGNATURE_TYPE_RSA: &str = "WECHATPAY2-SHA256-RSA2048";

/// A verified, decrypted notification.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Notification<T> {
    /// The notification id (the same on every retry of one event).
    pub id: String,
    /// When it was created (RFC 3339, as sent).
    pub create_time: String,
    /// E.g. `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `PAYSCORE.USER_PAID`.
    pub event_type: String,
    /// `encrypt-resource`.
    pub resource_type: String,
    /// A short human summary.
    pub summary: Option<String>,
    /// `resource.original_type`, e.g. `transaction`.
    pub original_type: Option<String>,
    /// The decrypted resource.
    pub resource: T,
    /// The platform key (serial or public key id) that verified it.
    pub verified_by: String,
}

impl<T> Notification<T> {
    /// The same notification carrying `resource` (e.g. a `serde_json::Value` read into a type).
    pub fn with_resource<U>(self, resource: U) -> Notification<U> {
        Notification {
            id: self.id,
            create_time: self.create_time,
            event_type: self.event_type,
            resource_type: self.resource_type,
            summary: self.summary,
            original_type: self.original_type,
            resource,
            verified_by: self.verified_by,
        }
    }
}

/// The envelope as sent.
#[derive(Deserialize)]
struct Envelope {
    id: String,
    create_time: String,
    event_type: String,
    resource_type: String,
    summary: Option<String>,
    resource: EncryptedResource,
}

#[derive(Deserialize)]
struct EncryptedResource {
    algorithm: String,
    ciphertext: String,
    nonce: String,
    associated_data: Option<String>,
    original_type: Option<String>,
}

impl EncryptedResource {
    /// WeChat Pay encrypts a resource with `associated_data` = `original_type`; when both are
    /// given and differ, a failed tag check says nothing about the key.
    fn aad_is_consistent(&self) -> bool {
        match (&self.associated_data, &self.original_type) {
            (Some(a), Some(o)) => a == o,
            _ => true,
        }
    }
}

/// A callback could not be accepted. Each variant says what most likely went wrong; use
/// [`NotifyError::answer`] for the response to send back.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The signature does not match the body: most likely the body was altered before it reached
    /// the verifier (a web framework parsed and re-serialised it, trimmed it, or changed its
    /// encoding). Pass the raw request bytes.
    #[error("callback signature mismatch under {serial}: the body was most likely altered before verification (pass the raw request bytes, not re-serialised JSON)")]
    BodyAltered {
        /// The key that was used.
        serial: String,
    },
    /// The serial is unknown and the merchant's own API certificate serial is involved (named by
    /// the callback, or among the trusted keys): the merchant certificate (`apiclient_cert.pem`)
    /// was configured where a platform certificate or public key belongs.
    #[error("unknown serial {serial}, and the merchant's own API certificate is configured as a platform key: configure the WeChat Pay platform certificate or public key, not apiclient_cert.pem")]
    MerchantCertificateConfigured {
        /// The serial.
        serial: String,
    },
    /// The signature verified and the envelope is well formed, but the resource's AES-GCM tag
    /// does not check: the APIv3 key is most likely wrong.
    #[error("the callback is authentic but its resource fails AES-GCM authentication: the APIv3 key is most likely wrong (check the key set in the merchant portal, 32 characters)")]
    WrongApiV3Key,
    /// The timestamp is outside the window.
    #[error("callback timestamp is {offset} s from now (window {window} s): a replayed callback or a wrong clock")]
    Stale {
        /// `now - timestamp`.
        offset: i64,
        /// The window.
        window: u64,
    },
    /// A probe signature: WeChat Pay is checking that callbacks are verified. Answer with failure.
    #[error("probe signature (`WECHATPAY/SIGNTEST/...`): answer with a failure; WeChat Pay will resend with a real signature")]
    Probe,
    /// Any other verification failure (missing header, unknown serial, bad base64, …).
    #[error("callback verification failed: {0}")]
    Verify(VerifyError),
    /// `Wechatpay-Signature-Type` names a scheme this crate does not verify.
    #[error("unsupported Wechatpay-Signature-Type {0:?}")]
    UnsupportedSignatureType(String),
    /// The (verified) body is not a notification envelope.
    #[error("callback body is not a notification envelope: {source}")]
    Envelope {
        /// The serde error.
        #[source]
        source: serde_json::Error,
        /// The raw body.
        body: Vec<u8>,
    },
    /// `resource.algorithm` is not `AEAD_AES_256_GCM`.
    #[error("unsupported resource algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The resource cannot be decrypted: a malformed nonce or ciphertext, or a failed tag check
    /// on an envelope whose `associated_data` does not name its `original_type`.
    #[error("resource cannot be decrypted: {0}")]
    Decrypt(AeadError),
    /// The decrypted resource does not have the shape of the requested type. The message
    /// (which is logged and sent back in the failure answer) shows serde's reason with every
    /// quoted value replaced by `"…"`: the plaintext is personal data (an openid, a name);
    /// `source` and `plaintext` keep it whole for the caller.
    #[error("decrypted resource does not match {type_name} at `{path}`: {}", crate::error::without_quoted_values(&source.to_string()))]
    Resource {
        /// The serde error.
        #[source]
        source: serde_json::Error,
        /// The JSON path where the resource and the type part (`.` for the whole resource).
        path: String,
        /// The Rust type requested.
        type_name: &'static str,
        /// The decrypted plaintext (for logging by the caller; it may hold personal data).
        plaintext: Vec<u8>,
    },
    /// The notification is of an event type the requested resource type does not read (a
    /// `REFUND.SUCCESS` delivered to a handler of `Transaction`): most likely a `notify_url`
    /// routed to the wrong handler. Answered as a failure, so WeChat Pay retries once the route
    /// is fixed; nothing was decrypted.
    #[error("notification {id} is {event_type}, but the handler reads {type_name}, which is for {}: check which handler its notify_url reaches", expected.join(", "))]
    UnexpectedEvent {
        /// The notification id.
        id: String,
        /// The event type it carries.
        event_type: String,
        /// The event types the handler's type reads.
        expected: &'static [&'static str],
        /// The handler's resource type.
        type_name: &'static str,
    },
    /// The callback's exchange was polled after it finished (a transport's bug).
    #[error("the callback exchange was polled after it finished")]
    ExchangeFinished,
}

impl NotifyError {
    /// The answer to send: `500 {"code":"FAIL","message":…}` (WeChat Pay retries later). Always
    /// a failure: whether a notification was already *processed* is answered by
    /// [`Callbacks::handle`] and its [`NotificationStore`], never by a verification error.
    pub fn answer(&self) -> Response<Vec<u8>> {
        failure(&self.to_string())
    }

    /// `merchant_configured`: the merchant's own serial is the one named, or is among the
    /// trusted "platform" keys.
    fn from_verify(e: VerifyError, merchant_configured: bool) -> Self {
        match e {
            VerifyError::SignatureMismatch { serial } => NotifyError::BodyAltered { serial },
            VerifyError::UnknownSerial { serial } if merchant_configured => {
                NotifyError::MerchantCertificateConfigured { serial }
            }
            VerifyError::StaleTimestamp { offset, window, .. } => {
                NotifyError::Stale { offset, window }
            }
            VerifyError::Probe { .. } => NotifyError::Probe,
            other => NotifyError::Verify(other),
        }
    }

    /// A stable machine-readable name of the failure (for logs, metrics and the CLI's `--json`).
    pub fn kind(&self) -> &'static str {
        match self {
            NotifyError::BodyAltered { .. } => "body_altered",
            NotifyError::MerchantCertificateConfigured { .. } => "merchant_certificate_configured",
            NotifyError::WrongApiV3Key => "wrong_apiv3_key",
            NotifyError::Stale { .. } => "stale_timestamp",
            NotifyError::Probe => "probe",
            NotifyError::Verify(v) => v.kind(),
            NotifyError::UnsupportedSignatureType(_) => "unsupported_signature_type",
            NotifyError::Envelope { .. } => "not_an_envelope",
            NotifyError::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            NotifyError::Decrypt(_) => "decrypt_failed",
            NotifyError::Resource { .. } => "resource_shape",
            NotifyError::UnexpectedEvent { .. } => "unexpected_event_type",
            NotifyError::ExchangeFinished => "exchange_finished",
        }
    }

    /// Whether this failure is an unknown `Wechatpay-Serial`: a platform key refresh may help.
    pub fn is_unknown_serial(&self) -> bool {
        matches!(self, NotifyError::Verify(VerifyError::UnknownSerial { .. }))
    }
}

/// The answer for a callback handled successfully: `204 No Content`.
pub fn success() -> Response<Vec<u8>> {
    let mut r = Response::new(Vec::new());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// The answer for a failed callback: `500 {"code":"FAIL","message":…}`; WeChat Pay retries.
pub fn failure(message: &str) -> Response<Vec<u8>> {
    let body = serde_json::json!({"code": "FAIL", "message": message}).to_string();
    let mut r = Response::new(body.into_bytes());
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// Verifies and decrypts callbacks. Cheap to clone; share it between handler threads.
#[derive(Clone)]
pub struct Callbacks {
    keys: SharedKeys,
    apiv3_key: ApiV3Key,
    window: u64,
    merchant_serial: Option<String>,
    clock: Arc<dyn Clock>,
    nonces: Arc<dyn NonceSource>,
    client: Option<Client>,
    refresh: Option<Refresher>,
    options: HandleOptions,
}

/// The client through which [`Callbacks::handle`] (async) or [`Callbacks::handle_blocking`]
/// refreshes the platform keys when a callback names a serial not held yet.
#[derive(Clone)]
enum Refresher {
    Async(Arc<dyn AsyncCallbacks>),
    Blocking(Arc<dyn BlockingCallbacks>),
}

impl fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callbacks")
            .field("keys", &self.keys)
            .field("apiv3_key", &self.apiv3_key)
            .field("window", &self.window)
            .field("refresh", &self.refresh.is_some())
            .finish_non_exhaustive()
    }
}

impl Callbacks {
    /// Verify with `keys`, decrypt with `apiv3_key`; system clock, claim tokens from
    /// [`OsNonce`](crate::OsNonce), 300 s window.
    pub fn new(keys: SharedKeys, apiv3_key: ApiV3Key) -> Self {
        Self {
            keys,
            apiv3_key,
            window: DEFAULT_WINDOW,
            merchant_serial: None,
            clock: Arc::new(crate::clock::SystemClock),
            nonces: Arc::new(crate::clock::OsNonce),
            client: None,
            refresh: None,
            options: HandleOptions::default(),
        }
    }

    /// Callbacks sharing `client`'s platform keys, clock, nonce source, window and merchant
    /// serial. Their [`Callbacks::exchange`] refreshes the platform certificates through the
    /// client when a callback names an unknown serial (with
    /// [`ClientBuilder::apiv3_key`](crate::ClientBuilder::apiv3_key)).
    pub fn for_client(client: &Client, apiv3_key: ApiV3Key) -> Self {
        let mut callbacks = Self::new(client.shared_keys().clone(), apiv3_key);
        callbacks.window = client.clock_window();
        callbacks.merchant_serial = Some(client.merchant().serial().to_string());
        callbacks.clock = client.clock();
        callbacks.nonces = client.nonce_source();
        callbacks.client = Some(client.clone());
        callbacks
    }

    /// [`Callbacks::for_client`] with the APIv3 key `client` was built with, if any.
    pub(crate) fn configured(client: &Client) -> Option<Self> {
        Some(Self::for_client(
            client,
            client.refresh_config()?.key.clone(),
        ))
    }

    /// Refresh the platform keys through `client` (an `AsyncClient`: `wechatpay-hyper`,
    /// `wechatpay-reqwest`, a connector of your own) when [`Callbacks::handle`] meets a callback
    /// that names a serial not held yet; the callback is then verified again. The clients'
    /// `callbacks()` are set up this way already.
    pub fn refresh_through(mut self, client: impl AsyncCallbacks) -> Self {
        self.refresh = Some(Refresher::Async(Arc::new(client)));
        self
    }

    /// The blocking twin of [`Callbacks::refresh_through`], for [`Callbacks::handle_blocking`]
    /// (a `BlockingClient`: `wechatpay-ureq`).
    pub fn refresh_through_blocking(mut self, client: impl BlockingCallbacks + 'static) -> Self {
        self.refresh = Some(Refresher::Blocking(Arc::new(client)));
        self
    }

    /// Verify through the async refresher when there is one.
    pub(crate) async fn verify_refreshing<T: Resource>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification<T>, NotifyError> {
        match &self.refresh {
            Some(Refresher::Async(r)) => {
                once::typed(r.verify_callback_json(self, headers, body).await?)
            }
            _ => self.verify::<T>(headers, body),
        }
    }

    /// Verify through the blocking refresher when there is one.
    pub(crate) fn verify_refreshing_blocking<T: Resource>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification<T>, NotifyError> {
        match &self.refresh {
            Some(Refresher::Blocking(r)) => r
                .verify_callback_json(self, headers, body)
                .and_then(once::typed),
            _ => self.verify::<T>(headers, body),
        }
    }

    /// The client these callbacks refresh keys through (from [`Callbacks::for_client`]).
    pub(crate) fn client(&self) -> Option<&Client> {
        self.client.as_ref()
    }

    /// Start verifying a callback as an exchange: when it names an unknown serial and the client
    /// can refresh, the transport downloads the certificates and the same callback is verified
    /// again (see [`crate::exchange`]). The clients drive it for `Callbacks::handle`.
    pub fn exchange<T: Resource>(&self, headers: &HeaderMap, body: &[u8]) -> CallbackExchange<T> {
        CallbackExchange::new(self, headers, body, self.clock.now())
    }

    /// The allowed clock difference (default 300 s).
    pub fn clock_window(mut self, seconds: u64) -> Self {
        self.window = seconds;
        self
    }

    /// The merchant's own certificate serial, so that configuring it by mistake is named.
    pub fn merchant_serial(mut self, serial: impl Into<String>) -> Self {
        self.merchant_serial = Some(serial.into());
        self
    }

    /// The clock.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Where the tokens that claim a notification in a [`NotificationStore`] come from
    /// (default: the client's nonce source, see [`crate::ClientBuilder::nonce_source`]). A token
    /// only has to differ between two claims of the same notification; a test pins it here.
    pub fn nonce_source(mut self, nonces: impl NonceSource + 'static) -> Self {
        self.nonces = Arc::new(nonces);
        self
    }

    /// The shared key set.
    pub fn shared_keys(&self) -> &SharedKeys {
        &self.keys
    }

    /// Verify, decrypt and deserialise at the clock's time.
    pub fn verify<T: Resource>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Notification<T>, NotifyError> {
        self.verify_at(headers, body, self.clock.now())
    }

    /// Verify, decrypt and deserialise at `now`: the four headers, the clock window, the key by
    /// serial, the signature over the raw `body`, `Wechatpay-Signature-Type` (when present it
    /// must be `WECHATPAY2-SHA256-RSA2048`), `resource.algorithm`, AES-256-GCM with the APIv3
    /// key, then `T` (use `serde_json::Value` for any event). Replayed bytes are refused by
    /// [`Callbacks::handle`], which records each delivery in its store.
    pub(crate) fn verify_at<T: Resource>(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<Notification<T>, NotifyError> {
        let keys = self.keys.load();
        let merchant_configured = |named: &str| {
            self.merchant_serial
                .as_deref()
                .is_some_and(|m| named.eq_ignore_ascii_case(m) || keys.get(m).is_some())
        };
        let h = SignatureHeaders::from_headers(headers)
            .map_err(|e| NotifyError::from_verify(e, false))?;
        // Absent is accepted (older callbacks and the official go vectors omit it); repeated or
        // non-ASCII is refused like the four signature headers.
        match crate::verify::optional_header(headers, SIGNATURE_TYPE) {
            Ok(None) => {}
            Ok(Some(t)) if t == SIGNATURE_TYPE_RSA => {}
            Ok(Some(t)) => return Err(NotifyError::UnsupportedSignatureType(t.to_string())),
            Err(e) => return Err(NotifyError::Verify(e)),
        }
        let verified_by = verify_parts(&keys, &h, body, now, self.window)
            .map_err(|e| NotifyError::from_verify(e, merchant_configured(h.serial)))?
            .to_string();
        let env: Envelope =
            serde_json::from_slice(body).map_err(|source| NotifyError::Envelope {
                source,
                body: body.to_vec(),
            })?;
        check_event::<T>(&env.id, &env.event_type)?;
        if env.resource.algorithm != ApiV3Key::ALGORITHM {
            return Err(NotifyError::UnsupportedAlgorithm(env.resource.algorithm));
        }
        let plaintext = self
            .apiv3_key
            .decrypt(
                &env.resource.nonce,
                env.resource.associated_data.as_deref().unwrap_or(""),
                &env.resource.ciphertext,
            )
            .map_err(|e| match e {
                // The key is the likely cause only when the envelope is as WeChat Pay makes it
                // (`associated_data` names `original_type`); otherwise say what is known.
                AeadError::AuthFailed if env.resource.aad_is_consistent() => {
                    NotifyError::WrongApiV3Key
                }
                other => NotifyError::Decrypt(other),
            })?;
        let resource = crate::response::decode(&plaintext).map_err(|e| NotifyError::Resource {
            source: e.source,
            path: e.path,
            type_name: std::any::type_name::<T>(),
            plaintext: plaintext.clone(),
        })?;
        Ok(Notification {
            id: env.id,
            create_time: env.create_time,
            event_type: env.event_type,
            resource_type: env.resource_type,
            summary: env.summary,
            original_type: env.resource.original_type,
            resource,
            verified_by,
        })
    }
}

/// One callback: verify (→ unknown serial: lock → download → apply → verify again) → decrypt →
/// the typed notification or a typed error.
pub struct CallbackExchange<T> {
    callbacks: Callbacks,
    client: Option<Client>,
    headers: HeaderMap,
    body: Vec<u8>,
    refresh: Option<Refresh>,
    first: Option<NotifyError>,
    result: Option<Result<Notification<T>, NotifyError>>,
}

impl<T> std::fmt::Debug for CallbackExchange<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackExchange")
            .field("body_len", &self.body.len())
            .field("done", &self.result.is_some())
            .finish_non_exhaustive()
    }
}

impl<T: Resource> CallbackExchange<T> {
    pub(crate) fn new(callbacks: &Callbacks, headers: &HeaderMap, body: &[u8], now: i64) -> Self {
        let client = callbacks.client().cloned();
        let mut ex = Self {
            refresh: client.as_ref().map(Refresh::new),
            callbacks: callbacks.clone(),
            client,
            headers: headers.clone(),
            body: body.to_vec(),
            first: None,
            result: None,
        };
        ex.verify(now);
        ex
    }

    fn verify(&mut self, now: i64) {
        match self
            .callbacks
            .verify_at::<T>(&self.headers, &self.body, now)
        {
            Err(e) if e.is_unknown_serial() && self.first.is_none() => {
                let wants = match (&mut self.refresh, &self.client) {
                    (Some(r), Some(c)) => r.want(c),
                    _ => false,
                };
                if wants {
                    self.first = Some(e);
                } else {
                    self.reject(e);
                }
            }
            Err(e) => self.reject(e),
            Ok(n) => self.result = Some(Ok(n)),
        }
    }

    fn reject(&mut self, e: NotifyError) {
        tracing::warn!(target: "wechatpay", kind = e.kind(), error = %e, "callback rejected");
        self.result = Some(Err(e));
    }

    fn give_up(&mut self) {
        if let Some(e) = self.first.take() {
            self.reject(e);
        }
    }
}

impl<T: Resource> Exchange for CallbackExchange<T> {
    type Output = Result<Notification<T>, NotifyError>;

    fn poll(&mut self) -> Step<Self::Output> {
        if let Some(r) = self.result.take() {
            return Step::Done(r);
        }
        if let Some(step) = self.refresh.as_mut().and_then(Refresh::poll) {
            return step;
        }
        debug_assert!(false, "CallbackExchange polled after it finished");
        Step::Done(Err(NotifyError::ExchangeFinished))
    }

    fn handle_response(&mut self, response: Response<Vec<u8>>, now: i64) {
        let (Some(r), Some(c)) = (&mut self.refresh, &self.client) else {
            return;
        };
        if r.awaiting_download() {
            let _ = r.downloaded(c, response, now);
            if r.refreshed {
                self.first = None;
                self.verify(now);
            } else {
                self.give_up();
            }
        }
    }

    fn handle_transport_error(&mut self, error: TransportError) {
        if let Some(r) = &mut self.refresh {
            r.download_failed(&error);
        }
        self.give_up();
    }

    fn handle_locked(&mut self, now: Instant) {
        let (Some(r), Some(c)) = (&mut self.refresh, &self.client) else {
            self.give_up();
            return;
        };
        let c = c.clone();
        match r.locked(&c, now, true) {
            Locked::Again => {
                self.first = None;
                self.verify(c.now());
            }
            Locked::GiveUp(_) => self.give_up(),
            Locked::Downloading => {}
        }
    }
}

/// What [`AsyncCallbacks::verify_callback_json`] returns: a boxed, `Send` future.
pub type CallbackFuture<'a> = std::pin::Pin<Box<dyn Future<Output = CallbackResult> + Send + 'a>>;

/// An async transport that verifies callbacks with refresh, as a trait object — for
/// [`Callbacks::refresh_through`] and web framework integrations (`wechatpay-axum`) that must not
/// depend on one transport. The resource is read as JSON; the caller deserialises it into the
/// type asked for.
pub trait AsyncCallbacks: Send + Sync + 'static {
    /// Verify and decrypt a callback (refreshing the platform keys once on an unknown serial).
    fn verify_callback_json<'a>(
        &'a self,
        callbacks: &'a Callbacks,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> CallbackFuture<'a>;
}

/// What [`BlockingCallbacks::verify_callback_json`] returns.
pub type CallbackResult = Result<Notification<serde_json::Value>, NotifyError>;

/// A blocking transport that verifies callbacks with refresh, as a trait object — for
/// [`Callbacks::refresh_through_blocking`] (`wechatpay-ureq`). The twin of [`AsyncCallbacks`].
pub trait BlockingCallbacks: Send + Sync {
    /// Verify and decrypt a callback (refreshing the platform keys once on an unknown serial).
    fn verify_callback_json(
        &self,
        callbacks: &Callbacks,
        headers: &HeaderMap,
        body: &[u8],
    ) -> CallbackResult;
}

crate::error::debug_as_display!(NotifyError);

//! The exchange state machine, without a socket and with pinned time: every decision of a call,
//! a callback, an explicit refresh and a streamed download.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use http::{Request, Response};
use serde_json::{json, Value};
use wechatpay_core::bill::BillDownloadInfo;
use wechatpay_core::certificates::Downloaded;
use wechatpay_core::exchange::{CallExchange, Download, Exchange, RefreshExchange, Step};
use wechatpay_core::sign::response_message;
use wechatpay_core::transport::Config;
use wechatpay_core::ApiV3Key;
use wechatpay_core::RefreshError;
use wechatpay_core::{
    BuildError, Call, CallError, Client, ClientBuilder, FixedClock, FixedNonce, Merchant,
    NonceSource, PlatformKey, PlatformKeys, PrivateKey, TransportError, TransportErrorKind,
    VerifyError,
};

const NOW: i64 = 1_800_000_000;
const SERIAL: &str = "5A1F3C2B4D6E8F9A0B1C2D3E4F5A6B7C8D9E0F1A";
const ROTATED: &str = "99AABBCCDDEEFF00112233445566778899AABB";
const KEY: &str = "SANDBOXtestONLYapiv3key000000001";

fn fx(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn client(refresh: bool) -> Client {
    builder(refresh).build().unwrap()
}

fn builder(refresh: bool) -> ClientBuilder {
    let merchant = Merchant::new(
        "1900000001",
        "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
        PrivateKey::from_pem(fx("merchant_key.pem")).unwrap(),
    )
    .unwrap();
    let mut b = Client::builder(merchant)
        .platform_keys(
            PlatformKeys::new()
                .with(PlatformKey::from_certificate_pem(fx("platform_cert.pem")).unwrap()),
        )
        .clock(FixedClock(NOW))
        .nonce_source(FixedNonce("N0nce".into()))
        .min_refresh_interval(Duration::from_secs(30));
    if refresh {
        b = b.apiv3_key(ApiV3Key::new(KEY).unwrap());
    }
    b
}

/// A nonce source that always fails, as the OS RNG can.
struct NoRandomness;

impl NonceSource for NoRandomness {
    fn nonce(&self) -> Result<String, BuildError> {
        Err(BuildError::Random)
    }
}

/// An answer signed with `key_file`, naming `serial`.
fn signed(body: &[u8], key_file: &str, serial: &str) -> Response<Vec<u8>> {
    let sig = PrivateKey::from_pem(fx(key_file))
        .unwrap()
        .sign_base64(&response_message(&NOW.to_string(), "n", body))
        .unwrap();
    Response::builder()
        .header("Wechatpay-Timestamp", NOW.to_string())
        .header("Wechatpay-Nonce", "n")
        .header("Wechatpay-Serial", serial)
        .header("Wechatpay-Signature", sig)
        .header("Request-ID", "RID-1")
        .body(body.to_vec())
        .unwrap()
}

/// The certificate list holding the rotated certificate, signed by the trusted one.
fn certificate_answer() -> Response<Vec<u8>> {
    let key = ApiV3Key::new(KEY).unwrap();
    let pem = String::from_utf8(fx("platform2_cert.pem")).unwrap();
    let body = json!({"data": [{"serial_no": ROTATED, "encrypt_certificate": {"algorithm": "AEAD_AES_256_GCM",
        "nonce": "0123456789ab", "associated_data": "certificate",
        "ciphertext": key.encrypt("0123456789ab", "certificate", pem.as_bytes()).unwrap()}}]})
    .to_string();
    signed(body.as_bytes(), "platform_key.pem", SERIAL)
}

fn expect_send<O: std::fmt::Debug>(step: Step<O>) -> Request<Vec<u8>> {
    match step {
        Step::Send(r) => r,
        other => panic!("expected Send, got {other:?}"),
    }
}

fn expect_done<O: std::fmt::Debug>(step: Step<O>) -> O {
    match step {
        Step::Done(o) => o,
        other => panic!("expected Done, got {other:?}"),
    }
}

fn call() -> Call<Value> {
    Call::get("/v3/pay/transactions/id/{id}").path_param("id", "4200")
}

#[test]
fn a_verified_answer_is_one_send() {
    let c = client(true);
    let mut ex = CallExchange::new(&c, call()).unwrap();
    let r = expect_send(ex.poll());
    assert_eq!(r.uri().path(), "/v3/pay/transactions/id/4200");
    ex.handle_response(signed(br#"{"a":1}"#, "platform_key.pem", SERIAL), NOW);
    let a = expect_done(ex.poll()).unwrap();
    assert_eq!(a.data["a"], 1);
    assert_eq!(a.request_id.as_deref(), Some("RID-1"));
}

#[test]
fn an_unknown_serial_downloads_once_and_verifies_the_same_answer() {
    let c = client(true);
    let generation = c.shared_keys().generation();
    let mut ex = CallExchange::new(&c, call()).unwrap();
    let sent = expect_send(ex.poll());
    assert_eq!(sent.uri().path(), "/v3/pay/transactions/id/4200");
    // Signed by the rotated certificate, which the client does not hold yet.
    ex.handle_response(signed(br#"{"a":2}"#, "platform2_key.pem", ROTATED), NOW);
    assert!(matches!(ex.poll(), Step::Lock));
    ex.handle_locked(Instant::now());
    let download = expect_send(ex.poll());
    assert_eq!(download.uri().path(), "/v3/certificates");
    ex.handle_response(certificate_answer(), NOW);
    let a = expect_done(ex.poll()).unwrap();
    assert_eq!(a.data["a"], 2, "the same answer, verified again");
    assert_eq!(a.verified_by.as_deref(), Some(ROTATED));
    assert_eq!(c.shared_keys().generation(), generation + 1);
    assert!(c.platform_keys().get(ROTATED).is_some());
}

#[test]
fn single_flight_and_rate_limit_are_decided_by_the_exchange() {
    let c = client(true);
    let t0 = Instant::now();
    // Two exchanges in flight at the same key generation meet the rotated certificate.
    let mut first = CallExchange::new(&c, call()).unwrap();
    let mut second = CallExchange::new(&c, call()).unwrap();
    expect_send(first.poll());
    expect_send(second.poll());
    first.handle_response(signed(b"{}", "platform2_key.pem", ROTATED), NOW);
    second.handle_response(signed(b"{}", "platform2_key.pem", ROTATED), NOW);
    assert!(matches!(first.poll(), Step::Lock));
    assert!(matches!(second.poll(), Step::Lock));
    // The first holds the lock and downloads.
    first.handle_locked(t0);
    expect_send(first.poll());
    first.handle_response(certificate_answer(), NOW);
    expect_done(first.poll()).unwrap();
    // The second gets the lock after: the keys changed since it started, so no download.
    second.handle_locked(t0 + Duration::from_millis(5));
    assert!(expect_done(second.poll()).is_ok());
    // A third, started after the refresh, meets yet another unknown serial within the interval:
    // no download, the unknown serial is reported.
    let mut third = CallExchange::new(&c, call()).unwrap();
    expect_send(third.poll());
    third.handle_response(signed(b"{}", "merchant_key.pem", "0BADBEEF"), NOW);
    assert!(matches!(third.poll(), Step::Lock));
    third.handle_locked(t0 + Duration::from_secs(1));
    let e = expect_done(third.poll()).unwrap_err();
    assert!(
        matches!(e.verify_error(), Some(VerifyError::UnknownSerial { .. })),
        "{e:?}"
    );
    // After the interval, a fourth may refresh again.
    let mut fourth = CallExchange::new(&c, call()).unwrap();
    expect_send(fourth.poll());
    fourth.handle_response(signed(b"{}", "merchant_key.pem", "0BADBEEF"), NOW);
    assert!(matches!(fourth.poll(), Step::Lock));
    fourth.handle_locked(t0 + Duration::from_secs(31));
    assert_eq!(expect_send(fourth.poll()).uri().path(), "/v3/certificates");
}

#[test]
fn without_a_key_or_when_the_download_fails_the_unknown_serial_is_reported() {
    // No APIv3 key: no lock, no download.
    let c = client(false);
    let mut ex = CallExchange::new(&c, call()).unwrap();
    expect_send(ex.poll());
    ex.handle_response(signed(b"{}", "platform2_key.pem", ROTATED), NOW);
    let e = expect_done(ex.poll()).unwrap_err();
    assert!(matches!(
        e.verify_error(),
        Some(VerifyError::UnknownSerial { .. })
    ));
    // The download fails in the transport: the original error, keys unchanged.
    let c = client(true);
    let generation = c.shared_keys().generation();
    let mut ex = CallExchange::new(&c, call()).unwrap();
    expect_send(ex.poll());
    ex.handle_response(signed(b"{}", "platform2_key.pem", ROTATED), NOW);
    assert!(matches!(ex.poll(), Step::Lock));
    ex.handle_locked(Instant::now());
    expect_send(ex.poll());
    ex.handle_transport_error(TransportError::new(
        TransportErrorKind::Timeout,
        true,
        "slow",
    ));
    let e = expect_done(ex.poll()).unwrap_err();
    assert!(matches!(
        e.verify_error(),
        Some(VerifyError::UnknownSerial { .. })
    ));
    assert_eq!(c.shared_keys().generation(), generation);
    // Other failures never lead to a refresh.
    let mut ex = CallExchange::new(&c, call()).unwrap();
    expect_send(ex.poll());
    let mut tampered = signed(b"{}", "platform_key.pem", SERIAL);
    tampered.body_mut().push(b' ');
    ex.handle_response(tampered, NOW);
    let e = expect_done(ex.poll()).unwrap_err();
    assert!(matches!(
        e.verify_error(),
        Some(VerifyError::SignatureMismatch { .. })
    ));
    // A transport error on the call itself.
    let mut ex = CallExchange::new(&c, call()).unwrap();
    expect_send(ex.poll());
    ex.handle_transport_error(TransportError::new(
        TransportErrorKind::Connect,
        false,
        "refused",
    ));
    let e = expect_done(ex.poll()).unwrap_err();
    assert!(!e.may_have_reached_server());
}

#[test]
fn callbacks_refresh_through_their_client() {
    let c = client(true);
    let key = ApiV3Key::new(KEY).unwrap();
    let callbacks = wechatpay_core::notify::Callbacks::for_client(&c, key.clone());
    let resource = key
        .encrypt("0123456789ab", "transaction", br#"{"out_trade_no":"O1"}"#)
        .unwrap();
    let body = json!({"id": "EV-1", "create_time": "2027-01-15T13:00:00+08:00", "event_type": "TRANSACTION.SUCCESS",
        "resource_type": "encrypt-resource", "resource": {"algorithm": "AEAD_AES_256_GCM", "ciphertext": resource,
        "nonce": "0123456789ab", "associated_data": "transaction", "original_type": "transaction"}})
    .to_string();
    let answer = signed(body.as_bytes(), "platform2_key.pem", ROTATED);
    let mut ex = callbacks.exchange::<Value>(answer.headers(), answer.body());
    assert!(matches!(ex.poll(), Step::Lock));
    ex.handle_locked(Instant::now());
    assert_eq!(expect_send(ex.poll()).uri().path(), "/v3/certificates");
    ex.handle_response(certificate_answer(), NOW);
    let n = expect_done(ex.poll()).unwrap();
    assert_eq!(n.resource["out_trade_no"], "O1");
    assert_eq!(n.verified_by, ROTATED);
    // A valid callback is done at once.
    let mut ex = callbacks.exchange::<Value>(answer.headers(), answer.body());
    assert!(expect_done(ex.poll()).is_ok());
}

#[test]
fn an_explicit_refresh_downloads_and_applies() {
    assert!(RefreshExchange::new(&client(false)).is_err());
    let c = client(true);
    let mut ex = RefreshExchange::new(&c).unwrap();
    assert!(matches!(ex.poll(), Step::Lock));
    ex.handle_locked(Instant::now());
    expect_send(ex.poll());
    ex.handle_response(certificate_answer(), NOW);
    match expect_done(ex.poll()).unwrap() {
        Downloaded::Certificates { pems, .. } => assert_eq!(pems[0].0, ROTATED),
        other => panic!("{other:?}"),
    }
}

/// An explicit refresh whose download cannot be signed says so (it used to report a missing
/// APIv3 key); an automatic one keeps the answer's own error, unknown serial.
#[test]
fn a_refresh_download_that_cannot_be_signed_is_reported_as_such() {
    let c = builder(true).nonce_source(NoRandomness).build().unwrap();
    let mut ex = RefreshExchange::new(&c).unwrap();
    assert!(matches!(ex.poll(), Step::Lock));
    ex.handle_locked(Instant::now());
    match expect_done(ex.poll()) {
        Err(RefreshError::Build(BuildError::Random)) => {}
        other => panic!("expected the signing failure, got {other:?}"),
    }

    // An automatic refresh: the call is signed with the one nonce there is, the download cannot
    // be, and the call ends with what its answer said.
    let c = builder(true)
        .nonce_source(OneNonce(AtomicBool::new(true)))
        .build()
        .unwrap();
    let mut ex = CallExchange::new(&c, call()).unwrap();
    expect_send(ex.poll());
    ex.handle_response(signed(b"{}", "platform2_key.pem", ROTATED), NOW);
    assert!(matches!(ex.poll(), Step::Lock));
    ex.handle_locked(Instant::now());
    let e = expect_done(ex.poll()).unwrap_err();
    assert!(
        matches!(e.verify_error(), Some(VerifyError::UnknownSerial { serial }) if serial == ROTATED),
        "{e:?}"
    );
}

/// A nonce source with one nonce in it.
struct OneNonce(AtomicBool);

impl NonceSource for OneNonce {
    fn nonce(&self) -> Result<String, BuildError> {
        match self.0.swap(false, std::sync::atomic::Ordering::SeqCst) {
            true => Ok("N0nce".into()),
            false => Err(BuildError::Random),
        }
    }
}

#[test]
fn streamed_downloads_are_checked_by_the_core() {
    let c = client(false);
    let bill = b"trade,1\n".repeat(100);
    let info = BillDownloadInfo::new(
        "SHA1",
        wechatpay_core::bill::sha1_hex(&bill),
        "https://api.mch.weixin.qq.com/v3/billdownload/file?token=t",
    );
    let cfg = Config::default()
        .max_download_bytes(1000)
        .max_body_bytes(64);
    // Good: streamed in chunks.
    let mut d = Download::bill(&c, &info, false, Vec::new(), &cfg).unwrap();
    let r = d.request().unwrap();
    assert_eq!(r.uri().path(), "/v3/billdownload/file");
    assert!(
        matches!(
            d.request(),
            Err(CallError::Build(BuildError::ExchangeFinished))
        ),
        "sent once"
    );
    d.handle_head(http::StatusCode::OK, &http::HeaderMap::new())
        .unwrap();
    for chunk in bill.chunks(33) {
        d.handle_chunk(chunk).unwrap();
    }
    assert_eq!(d.finish().unwrap().1, 800);
    // The same from a reader (blocking transports).
    let mut d = Download::bill(&c, &info, false, Vec::new(), &cfg).unwrap();
    d.handle_head(http::StatusCode::OK, &http::HeaderMap::new())
        .unwrap();
    let (written, n) = d
        .read_from(&bill[..], |e| {
            TransportError::new(TransportErrorKind::ConnectionClosed, true, e)
        })
        .unwrap();
    assert_eq!((written.as_slice(), n), (&bill[..], 800));
    // A reader that breaks: the transport's error, nothing finished.
    struct Broken;
    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::ConnectionReset.into())
        }
    }
    let mut d = Download::bill(&c, &info, false, Vec::new(), &cfg).unwrap();
    d.handle_head(http::StatusCode::OK, &http::HeaderMap::new())
        .unwrap();
    let e = d
        .read_from(Broken, |e| {
            TransportError::new(TransportErrorKind::ConnectionClosed, true, e)
        })
        .unwrap_err();
    assert_eq!(
        e.transport_kind(),
        Some(TransportErrorKind::ConnectionClosed)
    );
    // A bill cut short fails its digest.
    let mut d = Download::bill(&c, &info, false, Vec::new(), &cfg).unwrap();
    d.handle_head(http::StatusCode::OK, &http::HeaderMap::new())
        .unwrap();
    d.handle_chunk(&bill[..799]).unwrap();
    assert!(matches!(d.finish(), Err(CallError::Bill(_))));
    // An announced size over the limit: refused before any byte.
    let mut d = Download::bill(&c, &info, false, Vec::new(), &cfg).unwrap();
    let mut h = http::HeaderMap::new();
    h.insert(http::header::CONTENT_LENGTH, "1001".parse().unwrap());
    let e = d.handle_head(http::StatusCode::OK, &h).unwrap_err();
    assert_eq!(e.transport_kind(), Some(TransportErrorKind::BodyTooLarge));
    // More than the limit arriving: refused at the chunk that crosses it.
    let mut d = Download::bill(&c, &info, false, Vec::new(), &cfg).unwrap();
    d.handle_head(http::StatusCode::OK, &http::HeaderMap::new())
        .unwrap();
    d.handle_chunk(&[b'x'; 1000]).unwrap();
    d.handle_chunk(b"x").unwrap_err();
    // An error answer: its body is kept (never written to the sink), then an API error.
    let mut sink = Vec::new();
    let mut d = Download::bill(&c, &info, false, &mut sink, &cfg).unwrap();
    d.handle_head(http::StatusCode::BAD_REQUEST, &http::HeaderMap::new())
        .unwrap();
    let body = br#"{"code":"INVALID_REQUEST","message":"bad token"}"#;
    d.handle_chunk(&body[..10]).unwrap();
    d.handle_chunk(&body[10..]).unwrap();
    let e = d.finish().unwrap_err();
    assert_eq!(
        e.api_error().unwrap().code.as_deref(),
        Some("INVALID_REQUEST")
    );
    assert!(sink.is_empty(), "nothing of an error answer is written");
    // An error answer longer than max_body_bytes (64): refused at the chunk that crosses it,
    // and when announced, at the head.
    let mut d = Download::bill(&c, &info, false, Vec::new(), &cfg).unwrap();
    d.handle_head(http::StatusCode::BAD_REQUEST, &http::HeaderMap::new())
        .unwrap();
    d.handle_chunk(&[b' '; 64]).unwrap();
    let e = d.handle_chunk(b" ").unwrap_err();
    assert_eq!(e.transport_kind(), Some(TransportErrorKind::BodyTooLarge));
    let mut d = Download::bill(&c, &info, false, Vec::new(), &cfg).unwrap();
    let mut h = http::HeaderMap::new();
    h.insert(http::header::CONTENT_LENGTH, "65".parse().unwrap());
    let e = d
        .handle_head(http::StatusCode::BAD_GATEWAY, &h)
        .unwrap_err();
    assert_eq!(e.transport_kind(), Some(TransportErrorKind::BodyTooLarge));
    // A foreign URL is never signed.
    let foreign = BillDownloadInfo::new("SHA1", "00", "https://evil.example/v3/billdownload/file");
    assert!(matches!(
        Download::bill(&c, &foreign, false, Vec::new(), &cfg),
        Err(CallError::Build(_))
    ));
}

#[test]
fn socket_errors_say_whether_the_request_may_have_arrived() {
    use std::io::{Error, ErrorKind as K};
    for (io, kind, reached) in [
        (K::ConnectionRefused, TransportErrorKind::Connect, false),
        (K::NetworkUnreachable, TransportErrorKind::Connect, false),
        (K::HostUnreachable, TransportErrorKind::Connect, false),
        (K::AddrNotAvailable, TransportErrorKind::Connect, false),
        (K::TimedOut, TransportErrorKind::Timeout, true),
        (
            K::ConnectionReset,
            TransportErrorKind::ConnectionClosed,
            true,
        ),
        (K::UnexpectedEof, TransportErrorKind::ConnectionClosed, true),
        (K::BrokenPipe, TransportErrorKind::ConnectionClosed, true),
    ] {
        assert_eq!(
            TransportErrorKind::of_io(&Error::from(io)),
            (kind, reached),
            "{io:?}"
        );
    }
    // The kinds' machine-readable names are a contract (logs, metrics, the CLI's --json).
    let names: Vec<&str> = [
        TransportErrorKind::Connect,
        TransportErrorKind::Tls,
        TransportErrorKind::Timeout,
        TransportErrorKind::BodyTooLarge,
        TransportErrorKind::ConnectionClosed,
        TransportErrorKind::InvalidResponse,
        TransportErrorKind::InvalidRequest,
        TransportErrorKind::Other,
    ]
    .into_iter()
    .map(TransportErrorKind::as_str)
    .collect();
    assert_eq!(
        names,
        [
            "connect",
            "tls",
            "timeout",
            "body_too_large",
            "connection_closed",
            "invalid_response",
            "invalid_request",
            "other"
        ]
    );
}

/// A connector whose timer records the waits and completes at once, and which drops the
/// client it holds on its third wait; nothing is sent (every refresh fails to connect).
#[cfg(feature = "async")]
struct Timer {
    waits: std::sync::Arc<std::sync::Mutex<Vec<Duration>>>,
    client: std::sync::Mutex<Option<wechatpay_core::AsyncClient<Timer>>>,
}

/// The timeout of the calls in [`Timer`]'s test.
#[cfg(feature = "async")]
const CALL_TIMEOUT: Duration = Duration::from_secs(7);

/// An answer body that is never read.
#[cfg(feature = "async")]
struct NoBody;

#[cfg(feature = "async")]
impl http_body::Body for NoBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        std::task::Poll::Ready(None)
    }
}

#[cfg(feature = "async")]
impl wechatpay_core::connector::Connector for Timer {
    type Body = NoBody;

    async fn send(
        &self,
        _: http::Request<wechatpay_core::connector::RequestBody>,
    ) -> Result<http::Response<NoBody>, wechatpay_core::TransportError> {
        let kind = wechatpay_core::TransportErrorKind::Connect;
        Err(wechatpay_core::TransportError::new(
            kind,
            false,
            "no network here",
        ))
    }

    fn sleep(&self, duration: Duration) -> impl std::future::Future<Output = ()> + Send {
        // A call's own deadline never fires here; the waits between refreshes end at once.
        let deadline = duration == CALL_TIMEOUT;
        if !deadline {
            let mut waits = self.waits.lock().unwrap();
            waits.push(duration);
            if waits.len() == 3 {
                self.client.lock().unwrap().take();
            }
        }
        std::future::poll_fn(move |_| match deadline {
            true => std::task::Poll::Pending,
            false => std::task::Poll::Ready(()),
        })
    }
}

#[cfg(feature = "async")]
#[test]
fn background_refresh_waits_clamped_intervals_and_ends_with_its_client() {
    use wechatpay_core::exchange::MIN_REFRESH_INTERVAL;
    for (asked, waited) in [
        (Duration::ZERO, MIN_REFRESH_INTERVAL),
        (Duration::from_secs(60), Duration::from_secs(60)),
        (Duration::MAX, Duration::from_secs(86_400)),
    ] {
        let waits = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let timer = Timer {
            waits: waits.clone(),
            client: Default::default(),
        };
        let core = builder(true).build().unwrap();
        let config = wechatpay_core::transport::Config::default().timeout(CALL_TIMEOUT);
        let client = wechatpay_core::AsyncClient::with_connector(core, timer, config);
        let task = client.background_refresh(asked);
        // The client lives on only in its connector, which drops it on its third wait: the task
        // holds it weakly, refreshes twice, and ends at the wake-up after the drop.
        client
            .connector()
            .client
            .lock()
            .unwrap()
            .replace(client.clone());
        drop(client);
        wechatpay_core::notify::block_on(task);
        assert_eq!(*waits.lock().unwrap(), [waited; 3], "{asked:?}");
    }
}

//! Every transport against a hostile server on loopback that writes raw bytes: slow drips, lies
//! about sizes, malformed answers, odd but valid framing. Each connection is served by a script;
//! every loop here is bounded and stops by itself.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use wechatpay_core::bill::{sha1_hex, BillDownloadInfo};
use wechatpay_core::{ApiResponse, Call, CallError, TransportErrorKind};
use wechatpay_sandbox::{Gateway, Mode, TestKeys};

use crate::common::tcp;

/// The limits a test gives a transport.
#[derive(Clone, Copy)]
struct Limits {
    timeout: Duration,
    max_body: u64,
    download_timeout: Duration,
    max_download: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(1500),
            max_body: 64 << 10,
            download_timeout: Duration::from_secs(20),
            max_download: 8 << 20,
        }
    }
}

trait Transport {
    const NAME: &'static str;
    fn make(base: &str, limits: Limits) -> Self;
    fn send(&self, call: Call<Value>) -> Result<ApiResponse<Value>, CallError>;
    fn bill(&self, info: &BillDownloadInfo) -> Result<(Vec<u8>, u64), CallError>;
}

fn core(base: &str) -> wechatpay_core::Client {
    TestKeys::load()
        .client_builder(base, Mode::Certificate)
        .build()
        .unwrap()
}

impl Transport for wechatpay_ureq::Client {
    const NAME: &'static str = "ureq";
    fn make(base: &str, l: Limits) -> Self {
        let cfg = wechatpay_ureq::Config::default()
            .proxy(wechatpay_ureq::Proxy::None)
            .timeout(l.timeout)
            .max_body_bytes(l.max_body)
            .download_timeout(l.download_timeout)
            .max_download_bytes(l.max_download);
        wechatpay_ureq::Client::with_config(core(base), cfg).unwrap()
    }
    fn send(&self, call: Call<Value>) -> Result<ApiResponse<Value>, CallError> {
        wechatpay_ureq::Client::send(self, call)
    }
    fn bill(&self, info: &BillDownloadInfo) -> Result<(Vec<u8>, u64), CallError> {
        self.download_bill(info, false, Vec::new())
    }
}

struct Hyper {
    rt: tokio::runtime::Runtime,
    client: wechatpay_hyper::Client,
}

impl Transport for Hyper {
    const NAME: &'static str = "hyper";
    fn make(base: &str, l: Limits) -> Self {
        let cfg = wechatpay_hyper::Config::default()
            .proxy(wechatpay_hyper::Proxy::None)
            .timeout(l.timeout)
            .max_body_bytes(l.max_body)
            .download_timeout(l.download_timeout)
            .max_download_bytes(l.max_download);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = wechatpay_hyper::Client::with_config(core(base), cfg).unwrap();
        Hyper { rt, client }
    }
    fn send(&self, call: Call<Value>) -> Result<ApiResponse<Value>, CallError> {
        self.rt.block_on(self.client.send(call))
    }
    fn bill(&self, info: &BillDownloadInfo) -> Result<(Vec<u8>, u64), CallError> {
        self.rt
            .block_on(self.client.download_bill(info, false, Vec::new()))
    }
}

/// A server on 127.0.0.1 that serves up to `conns` connections (for at most 30 s), each by
/// reading the request head and body, then running `script`.
fn raw(conns: usize, script: impl Fn(&mut TcpStream) + Send + Sync + 'static) -> SocketAddr {
    raw_counted(conns, script).0
}

/// A server on 127.0.0.1 that answers one connection with `answer`, whatever it was asked.
fn answering(answer: impl AsRef<[u8]> + Send + Sync + 'static) -> SocketAddr {
    raw(1, move |s| {
        let _ = s.write_all(answer.as_ref());
    })
}

/// As [`raw`], with the number of connections accepted so far.
fn raw_counted(
    conns: usize,
    script: impl Fn(&mut TcpStream) + Send + Sync + 'static,
) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    tcp::serve(conns, move |mut stream| {
        if tcp::read_request(&mut stream).is_some() {
            script(&mut stream);
        }
    })
}

fn base(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

fn bill_info(addr: SocketAddr, content: &[u8]) -> BillDownloadInfo {
    serde_json::from_value(serde_json::json!({
        "hash_type": "SHA1",
        "hash_value": sha1_hex(content),
        "download_url": format!("{}/v3/billdownload/file?token=t", base(addr)),
    }))
    .unwrap()
}

/// `e` is a transport error of kind `want` (through transport `T`).
fn assert_kind<T: Transport>(e: &CallError, want: TransportErrorKind) {
    let got = e
        .transport_kind()
        .unwrap_or_else(|| panic!("{}: expected a transport error, got {e:?}", T::NAME));
    assert_eq!(got, want, "{}: {e}", T::NAME);
}

/// A `400` answer with a JSON error body and the given framing; the code proves it was read.
const ERROR_BODY: &str = r#"{"code":"PARAM_ERROR","message":"framed"}"#;

fn expect_param_error<T: Transport>(c: &T, what: &str) {
    match c.send(Call::get("/v3/x")) {
        Err(e) => {
            let api = e
                .api_error()
                .unwrap_or_else(|| panic!("{} {what}: {e:?}", T::NAME));
            assert_eq!(
                api.code.as_deref(),
                Some("PARAM_ERROR"),
                "{} {what}",
                T::NAME
            );
        }
        Ok(ok) => panic!("{} {what}: {ok:?}", T::NAME),
    }
}

/// A server that answers `status` with `count` chunks of `size` spaces, without an announced
/// size.
fn chunked(status: &'static str, size: usize, count: usize) -> SocketAddr {
    raw(1, move |s| {
        let head = format!("HTTP/1.1 {status}\r\nTransfer-Encoding: chunked\r\n\r\n");
        let _ = s.write_all(head.as_bytes());
        let chunk = vec![b' '; size];
        for _ in 0..count {
            let head = format!("{:x}\r\n", chunk.len());
            if s.write_all(head.as_bytes()).is_err()
                || s.write_all(&chunk).is_err()
                || s.write_all(b"\r\n").is_err()
            {
                return;
            }
        }
        let _ = s.write_all(b"0\r\n\r\n");
    })
}

fn slow_drip_stops_at_the_download_deadline<T: Transport>() {
    let addr = raw(1, |s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
        for _ in 0..200 {
            if s.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let c = T::make(
        &base(addr),
        Limits {
            download_timeout: Duration::from_secs(1),
            ..Limits::default()
        },
    );
    let start = Instant::now();
    let e = c.bill(&bill_info(addr, b"whatever")).unwrap_err();
    assert_kind::<T>(&e, TransportErrorKind::Timeout);
    assert!(start.elapsed() < Duration::from_secs(8), "{}", T::NAME);
}

fn oversized_downloads_are_refused<T: Transport>() {
    // Announced: refused before reading.
    let addr = raw(1, |s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000000\r\n\r\nxxxx");
        std::thread::sleep(Duration::from_secs(2));
    });
    let c = T::make(&base(addr), Limits::default());
    let start = Instant::now();
    let e = c.bill(&bill_info(addr, b"")).unwrap_err();
    assert_kind::<T>(&e, TransportErrorKind::BodyTooLarge);
    assert!(start.elapsed() < Duration::from_secs(2), "{}", T::NAME);
    // Chunked, without an announced size: stopped at the limit.
    let addr = chunked("200 OK", 32 << 10, 64);
    let c = T::make(
        &base(addr),
        Limits {
            max_download: 256 << 10,
            ..Limits::default()
        },
    );
    let e = c.bill(&bill_info(addr, b"")).unwrap_err();
    assert_kind::<T>(&e, TransportErrorKind::BodyTooLarge);
}

fn download_error_answers_are_api_errors_within_the_body_limit<T: Transport>() {
    // A 4xx answer to a bill download: its JSON is the API error, nothing is written.
    let body = br#"{"code":"INVALID_REQUEST","message":"token expired"}"#;
    let addr = raw(1, move |s| {
        let head = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nRequest-ID: r-1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(body);
    });
    let c = T::make(&base(addr), Limits::default());
    let e = c.bill(&bill_info(addr, b"")).unwrap_err();
    let api = e.api_error().unwrap_or_else(|| panic!("{}: {e}", T::NAME));
    assert_eq!(api.code.as_deref(), Some("INVALID_REQUEST"), "{}", T::NAME);
    // An endless error answer: stopped at the (small) body limit, not the download limit.
    let addr = chunked("500 Internal Server Error", 16 << 10, 256);
    let c = T::make(&base(addr), Limits::default());
    let e = c.bill(&bill_info(addr, b"")).unwrap_err();
    assert_kind::<T>(&e, TransportErrorKind::BodyTooLarge);
    assert!(e.to_string().contains("65536"), "{}: {e}", T::NAME);
}

fn a_slow_valid_bill_outlives_the_call_timeout<T: Transport>() {
    let content: Arc<Vec<u8>> = Arc::new(
        (0..1_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect(),
    );
    let served = content.clone();
    let addr = raw(1, move |s| {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            served.len()
        );
        let _ = s.write_all(head.as_bytes());
        for part in served.chunks(served.len() / 25 + 1) {
            if s.write_all(part).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    // ~2.5 s of transfer, a 1 s call timeout.
    let c = T::make(
        &base(addr),
        Limits {
            timeout: Duration::from_secs(1),
            ..Limits::default()
        },
    );
    let (bytes, n) = c.bill(&bill_info(addr, &content)).unwrap();
    assert_eq!(n, 1_000_000, "{}", T::NAME);
    assert!(bytes == *content, "{}", T::NAME);
}

fn malformed_answers_are_invalid_responses<T: Transport>() {
    for answer in [
        &b"HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n"[..],
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello12",
        b"NOT-HTTP garbage\r\n\r\n",
    ] {
        let addr = answering(answer);
        let c = T::make(&base(addr), Limits::default());
        let e = c.send(Call::get("/v3/x")).unwrap_err();
        let text = e.to_string();
        assert_eq!(
            e.transport_kind(),
            Some(TransportErrorKind::InvalidResponse),
            "{} {:?}: {text}",
            T::NAME,
            String::from_utf8_lossy(answer)
        );
        assert!(e.may_have_reached_server());
        assert!(
            !text.ends_with("client error (SendRequest)"),
            "{}: the cause is named: {text}",
            T::NAME
        );
    }
}

fn what_held_keeps_holding<T: Transport>() {
    let lim = Limits::default();
    // 3xx is not followed (a GET's 302, a POST's 307, which would send the body again): it is
    // an API error.
    let post = || Call::post("/v3/x").json(&serde_json::json!({"a": 1}));
    for (status, call) in [(302, Call::get("/v3/x")), (307, post())] {
        let addr = answering(format!(
            "HTTP/1.1 {status} Moved\r\nLocation: http://127.0.0.1:9/v3/y\r\nContent-Length: 0\r\n\r\n"
        ));
        let e = T::make(&base(addr), lim).send(call).unwrap_err();
        assert_eq!(
            e.api_error().map(|a| a.status.as_u16()),
            Some(status),
            "{}",
            T::NAME
        );
    }
    // 1xx before the answer, HTTP/1.0 read to close, chunked with trailers, LF-only lines.
    let framings: [(&str, String); 4] = [
        (
            "1xx",
            format!("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n{ERROR_BODY}", ERROR_BODY.len()),
        ),
        (
            "HTTP/1.0",
            format!("HTTP/1.0 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{ERROR_BODY}"),
        ),
        (
            "trailers",
            format!("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n{:x}\r\n{ERROR_BODY}\r\n0\r\nX-T: 1\r\n\r\n", ERROR_BODY.len()),
        ),
        (
            "LF only",
            format!("HTTP/1.1 400 Bad Request\nContent-Length: {}\n\n{ERROR_BODY}", ERROR_BODY.len()),
        ),
    ];
    for (what, answer) in framings {
        let addr = answering(answer);
        expect_param_error(&T::make(&base(addr), lim), what);
    }
    // Bodies over the limit, however framed.
    let big = "z".repeat(100 << 10);
    let over: [String; 3] = [
        format!("HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n{big}", big.len()),
        format!("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n", big.len()),
        format!("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n{big}"),
    ];
    for answer in over {
        let addr = answering(answer);
        let e = T::make(&base(addr), lim)
            .send(Call::get("/v3/x"))
            .unwrap_err();
        assert_kind::<T>(&e, TransportErrorKind::BodyTooLarge);
        assert!(e.may_have_reached_server());
    }
    // Silence after the request, and a connection closed mid-answer.
    let addr = raw(1, |_| std::thread::sleep(Duration::from_secs(4)));
    let e = T::make(
        &base(addr),
        Limits {
            timeout: Duration::from_millis(300),
            ..lim
        },
    )
    .send(Call::get("/v3/x"))
    .unwrap_err();
    assert_kind::<T>(&e, TransportErrorKind::Timeout);
    assert!(e.may_have_reached_server());
    // A connection closed mid-answer is an error that may have reached the server, and the
    // request is not sent again (a second connection would be counted).
    let (addr, accepted) = raw_counted(3, |s| {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 500\r\n\r\n{\"co");
    });
    let e = T::make(&base(addr), lim)
        .send(Call::post("/v3/x").json(&serde_json::json!({"a": 1})))
        .unwrap_err();
    assert!(e.transport_kind().is_some(), "{}: {e}", T::NAME);
    assert!(e.may_have_reached_server());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "{}",
        T::NAME
    );
}

/// Durations a user may give, however large, never panic; the call still works.
fn huge_durations<T: Transport>() {
    let server =
        wechatpay_sandbox::server::Server::start(Gateway::with_test_keys(Mode::Certificate))
            .unwrap();
    let c = T::make(
        &server.base_url(),
        Limits {
            timeout: Duration::MAX,
            download_timeout: Duration::MAX,
            ..Limits::default()
        },
    );
    let seed = wechatpay_sandbox::seed::body();
    let no = format!("HUGE-{}", T::NAME);
    let create = wechatpay_api::payscore::payafter_orders::create(
        &wechatpay_api::payscore::payafter_orders::CreateRequest {
            appid: seed.appid.clone(),
            out_order_no: no.clone(),
            service_id: seed.service_id.clone(),
            ..Default::default()
        },
    );
    let signed = create.expect::<Value>();
    c.send(signed).unwrap();
}

struct Reqwest {
    rt: tokio::runtime::Runtime,
    client: wechatpay_reqwest::Client,
}

impl Transport for Reqwest {
    const NAME: &'static str = "reqwest";
    fn make(base: &str, l: Limits) -> Self {
        let cfg = wechatpay_reqwest::Config::default()
            .proxy(wechatpay_reqwest::Proxy::None)
            .timeout(l.timeout)
            .max_body_bytes(l.max_body)
            .download_timeout(l.download_timeout)
            .max_download_bytes(l.max_download);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = wechatpay_reqwest::Client::with_config(core(base), cfg).unwrap();
        Reqwest { rt, client }
    }
    fn send(&self, call: Call<Value>) -> Result<ApiResponse<Value>, CallError> {
        self.rt.block_on(self.client.send(call))
    }
    fn bill(&self, info: &BillDownloadInfo) -> Result<(Vec<u8>, u64), CallError> {
        self.rt
            .block_on(self.client.download_bill(info, false, Vec::new()))
    }
}

/// The limits are exact: an answer or a bill of exactly the limit is read, one byte more is
/// `BodyTooLarge`, whatever the framing.
fn limits_are_exact<T: Transport>() {
    let lim = Limits {
        max_body: 1000,
        max_download: 3000,
        ..Limits::default()
    };
    for extra in [0usize, 1] {
        let body = format!("{ERROR_BODY:<width$}", width = 1000 + extra);
        let framings = [
            format!("HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
            format!("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len()),
            format!("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n{body}"),
        ];
        for (i, answer) in framings.into_iter().enumerate() {
            let addr = answering(answer);
            let c = T::make(&base(addr), lim);
            if extra == 0 {
                expect_param_error(&c, &format!("exactly the limit, framing {i}"));
            } else {
                let e = c.send(Call::get("/v3/x")).unwrap_err();
                assert_kind::<T>(&e, TransportErrorKind::BodyTooLarge);
            }
        }
        let content = vec![b'b'; 3000 + extra];
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            content.len()
        );
        let addr = answering([head.as_bytes(), &content].concat());
        let r = T::make(&base(addr), lim).bill(&bill_info(addr, &content));
        match (extra, r) {
            (0, Ok((got, n))) => assert_eq!((got.len(), n), (3000, 3000), "{}", T::NAME),
            (1, Err(e)) => assert_kind::<T>(&e, TransportErrorKind::BodyTooLarge),
            (_, other) => panic!("{} bill of 3000 + {extra}: {other:?}", T::NAME),
        }
    }
}

/// The download token in a bill's URL appears in no error, whether the connection is refused or
/// breaks off mid-body (reqwest's errors carry the request URL).
fn download_tokens_stay_out_of_errors<T: Transport>() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let broken = answering("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
    for (addr, kind) in [
        (closed, TransportErrorKind::Connect),
        (broken, TransportErrorKind::ConnectionClosed),
    ] {
        let mut info = bill_info(addr, b"");
        info.download_url = info.download_url.replace("token=t", "token=SECRET-TOKEN");
        let e = T::make(&base(addr), Limits::default())
            .bill(&info)
            .expect_err("the download fails");
        assert_kind::<T>(&e, kind);
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("SECRET-TOKEN"), "{}: {shown}", T::NAME);
    }
    // A token with a `'`, which reqwest's URL parser would write as `%27`: reqwest refuses to
    // send it, the others send it as signed; no error shows it.
    let broken = answering("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
    let mut info = bill_info(broken, b"");
    info.download_url = info.download_url.replace("token=t", "token=SECRET'TOKEN");
    let e = T::make(&base(broken), Limits::default())
        .bill(&info)
        .expect_err("the download fails");
    let want = if T::NAME == "reqwest" {
        TransportErrorKind::InvalidRequest
    } else {
        TransportErrorKind::ConnectionClosed
    };
    assert_kind::<T>(&e, want);
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("SECRET"), "{}: {shown}", T::NAME);
}

macro_rules! both {
    ($($name:ident),*) => {
        mod ureq_client {
            $(#[test] fn $name() { super::$name::<wechatpay_ureq::Client>() })*
        }
        mod hyper_client {
            $(#[test] fn $name() { super::$name::<super::Hyper>() })*
        }
        mod reqwest_client {
            $(#[test] fn $name() { super::$name::<super::Reqwest>() })*
        }
    };
}

both!(
    slow_drip_stops_at_the_download_deadline,
    oversized_downloads_are_refused,
    download_error_answers_are_api_errors_within_the_body_limit,
    a_slow_valid_bill_outlives_the_call_timeout,
    malformed_answers_are_invalid_responses,
    what_held_keeps_holding,
    huge_durations,
    limits_are_exact,
    download_tokens_stay_out_of_errors
);

#[test]
fn background_refresh_with_a_zero_interval_keeps_running() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let core = TestKeys::load()
            .client_builder("http://127.0.0.1:9", Mode::Certificate)
            .apiv3_key(wechatpay_core::ApiV3Key::new(TestKeys::load().apiv3_key).unwrap())
            .build()
            .unwrap();
        let hyper = wechatpay_hyper::Client::with_config(
            core.clone(),
            wechatpay_hyper::Config::default().proxy(wechatpay_hyper::Proxy::None),
        )
        .unwrap();
        let reqwest = wechatpay_reqwest::Client::new(core).unwrap();
        let tasks = [
            tokio::spawn(hyper.background_refresh(Duration::ZERO)),
            tokio::spawn(reqwest.background_refresh(Duration::ZERO)),
        ];
        tokio::time::sleep(Duration::from_millis(200)).await;
        for task in tasks {
            assert!(!task.is_finished(), "the refresh task died");
            task.abort();
        }
    });
}

/// A reqwest client of the user's own that may follow redirects (reqwest's default, or a
/// limited policy) is refused when the transport is built: following would carry the body,
/// `Wechatpay-Serial` and a bill's download token to another host. With
/// `redirect::Policy::none()` a 307 is the answer, and nothing goes anywhere else.
#[test]
fn a_reqwest_client_that_follows_redirects_is_refused() {
    use wechatpay_reqwest::reqwest;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = |base: &str,
                  policy: reqwest::redirect::Policy|
     -> Result<wechatpay_reqwest::Client, wechatpay_core::TransportError> {
        let cfg = wechatpay_reqwest::Config::default().timeout(Duration::from_millis(1500));
        let http = reqwest::Client::builder().no_proxy().redirect(policy);
        let connector = wechatpay_reqwest::Connector::from_reqwest(http.build().unwrap())?;
        Ok(wechatpay_reqwest::Client::with_connector(
            core(base),
            connector,
            cfg,
        ))
    };
    let post = || Call::<Value>::post("/v3/x").json(&serde_json::json!({"a": 1}));
    let redirect_to = |to: String| {
        raw_counted(2, move |s| {
            let answer = format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = s.write_all(answer.as_bytes());
        })
    };
    // Nothing listens at `dead`.
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for policy in [
        reqwest::redirect::Policy::default(),
        reqwest::redirect::Policy::limited(3),
    ] {
        let Err(e) = client(&base(dead), policy) else {
            panic!("a client that follows redirects was taken")
        };
        assert_eq!(e.kind, TransportErrorKind::InvalidRequest);
        assert!(!e.may_have_reached_server);
        assert!(e.to_string().contains("redirect::Policy::none()"), "{e}");
    }
    // Not following: a refused connection is "not sent", and a 307 is the answer, once.
    let c = client(&base(dead), reqwest::redirect::Policy::none()).unwrap();
    let e = rt.block_on(c.send(post())).unwrap_err();
    assert_kind::<Reqwest>(&e, TransportErrorKind::Connect);
    assert!(!e.may_have_reached_server());
    let (addr, accepted) = redirect_to(format!("http://{dead}/v3/x"));
    let c = client(&base(addr), reqwest::redirect::Policy::none()).unwrap();
    let e = rt.block_on(c.send(post())).unwrap_err();
    assert_eq!(e.api_error().map(|a| a.status.as_u16()), Some(307), "{e:?}");
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

//! The extractor in a router, without a socket (tower's `oneshot`), and over a real one.

use axum::body::Body;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use wechatpay_api::pay::transactions::Transaction;
use wechatpay_axum::{Answer, Delivery, Notifications};
use wechatpay_core::ApiV3Key;
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::{Fault, Gateway, Mode, TestKeys};

async fn paid(State(n): State<Notifications>, delivery: Delivery) -> Answer {
    n.handle::<Transaction, _, _>(delivery, |n| async move {
        assert_eq!(n.event_type, "TRANSACTION.SUCCESS");
        assert_eq!(n.resource.out_trade_no.as_deref(), Some("O-1"));
        Ok(())
    })
    .await
}

fn app(notifications: Notifications) -> Router {
    Router::new()
        .route("/notify", post(paid))
        .with_state(notifications)
}

fn notifications(gateway_url: &str, refresh: bool) -> Notifications {
    let keys = TestKeys::load();
    let key = ApiV3Key::new(keys.apiv3_key).unwrap();
    let core = keys
        .client_builder(gateway_url, Mode::Certificate)
        .apiv3_key(key.clone())
        .build()
        .unwrap();
    let callbacks = if refresh {
        let cfg = wechatpay_hyper::Config::default().proxy(wechatpay_hyper::Proxy::None);
        let client = wechatpay_hyper::Client::with_config(core, cfg).unwrap();
        // The client's callbacks refresh through it.
        client.callbacks().unwrap()
    } else {
        wechatpay_core::notify::Callbacks::for_client(&core, key)
    };
    Notifications::new(callbacks).max_body_bytes(4096)
}

fn delivered(gw: &Gateway, fault: Option<&Fault>) -> Request<Body> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let r = gw.notification(
        "TRANSACTION.SUCCESS",
        "支付成功",
        "transaction",
        &json!({"out_trade_no": "O-1", "trade_state": "SUCCESS", "amount": {"total": 1}}),
        now,
        fault,
    );
    let (parts, body) = r.into_parts();
    Request::from_parts(parts, Body::from(body))
}

async fn answer(app: Router, req: Request<Body>) -> (StatusCode, Value) {
    let r = app.oneshot(req).await.unwrap();
    let status = r.status();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, v)
}

#[tokio::test]
async fn verified_refused_and_capped() {
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let n = notifications("http://127.0.0.1:1", false);
    // Valid: the handler runs and answers 204.
    let (status, body) = answer(app(n.clone()), delivered(&gw, None)).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    // Tampered and probe: refused with WeChat Pay's failure answer, the handler never runs.
    for fault in [Fault::TamperedBody, Fault::Probe, Fault::StaleTimestamp] {
        let (status, body) = answer(app(n.clone()), delivered(&gw, Some(&fault))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{fault:?}");
        assert_eq!(body["code"], "FAIL", "{fault:?}");
    }
    // Over the cap, announced or not: 413.
    let big = Request::post("/notify")
        .header("content-length", "100000")
        .body(Body::from(vec![b'{'; 100_000]))
        .unwrap();
    let (status, body) = answer(app(n.clone()), big).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("FAIL"))
    );
    let stream = futures_stream(vec![vec![b' '; 3000], vec![b' '; 3000]]);
    let (status, _) = answer(
        app(n.clone()),
        Request::post("/notify").body(stream).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // The cap is exact, announced or streamed: 4096 bytes are read (and refused: not signed),
    // one more is 413.
    for (len, want) in [
        (4096, StatusCode::INTERNAL_SERVER_ERROR),
        (4097, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let announced = Request::post("/notify").body(Body::from(vec![b' '; len]));
        let streamed = Request::post("/notify").body(futures_stream(vec![vec![b' '; len]]));
        for r in [announced.unwrap(), streamed.unwrap()] {
            let (status, body) = answer(app(n.clone()), r).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (want, Some("FAIL")),
                "{len}"
            );
        }
    }
    // A resource of the wrong shape for the type asked: refused, not a panic.
    let r = gw.notification(
        "TRANSACTION.SUCCESS",
        "x",
        "transaction",
        &json!({"amount": "not an object"}),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
        None,
    );
    let (parts, body) = r.into_parts();
    let (status, _) = answer(app(n), Request::from_parts(parts, Body::from(body))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

/// A body that arrives in chunks, without a Content-Length.
fn futures_stream(chunks: Vec<Vec<u8>>) -> Body {
    let frames = chunks
        .into_iter()
        .map(|c| Ok::<_, std::io::Error>(http_body::Frame::data(bytes::Bytes::from(c))));
    Body::new(http_body_util::StreamBody::new(StreamIter(
        frames.collect(),
    )))
}

struct StreamIter<T>(std::collections::VecDeque<T>);

impl<T: Unpin> futures_core::Stream for StreamIter<T> {
    type Item = T;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        std::task::Poll::Ready(self.0.pop_front())
    }
}

/// A body that sends one byte every 20 ms (at most 2 000 of them), as a slow client would.
fn trickle() -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        for _ in 0..2000 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let frame = http_body::Frame::data(bytes::Bytes::from_static(b" "));
            if tx.send(Ok::<_, std::io::Error>(frame)).await.is_err() {
                return;
            }
        }
    });
    Body::new(http_body_util::StreamBody::new(Receiver(rx)))
}

struct Receiver<T>(tokio::sync::mpsc::Receiver<T>);

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        self.0.poll_recv(cx)
    }
}

/// A body sent a byte at a time is refused once the body timeout passes (`408` and the failure
/// WeChat Pay retries), by `Delivery` whichever handler takes it; the handler never runs.
#[tokio::test]
async fn a_slow_body_is_refused_in_time() {
    let n = notifications("http://127.0.0.1:1", false)
        .body_timeout(std::time::Duration::from_millis(200));
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = runs.clone();
    let handled = Router::new()
        .route(
            "/notify",
            post(
                move |axum::extract::State(n): axum::extract::State<Notifications>,
                      d: wechatpay_axum::Delivery| async move {
                    n.handle::<Transaction, _, _>(d, |_| async move {
                        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        Ok(())
                    })
                    .await
                },
            ),
        )
        .with_state(n.clone());
    for router in [app(n.clone()), handled] {
        let slow = Request::post("/notify").body(trickle()).unwrap();
        let answered =
            tokio::time::timeout(std::time::Duration::from_secs(30), answer(router, slow)).await;
        let (status, body) = answered.expect("the extractor gives up on a slow body");
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::REQUEST_TIMEOUT, Some("FAIL"))
        );
        assert!(
            body["message"].as_str().unwrap().contains("200 ms"),
            "{body}"
        );
    }
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_certificate_is_fetched_through_the_transport() {
    let keys = TestKeys::load();
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    server.gateway().rotate_certificate(keys.rotated_signer());
    // The callback is signed by the new certificate, which the client does not hold yet.
    let without = notifications(&server.base_url(), false);
    let (status, _) = answer(app(without), delivered(server.gateway(), None)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let with = notifications(&server.base_url(), true);
    let (status, _) = answer(app(with), delivered(server.gateway(), None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.gateway().certificate_request_count(), 1);
}

/// `Delivery` + `Notifications::handle`: processed once, retries answered without running the
/// handler, a failed handler retried, replayed bytes refused.
#[tokio::test]
async fn handle_processes_each_notification_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use wechatpay_axum::Delivery;
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let runs = Arc::new(AtomicUsize::new(0));
    let fail_next = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (r, f) = (runs.clone(), fail_next.clone());
    let app = Router::new()
        .route(
            "/notify",
            post(
                move |axum::extract::State(n): axum::extract::State<Notifications>, d: Delivery| {
                    let (r, f) = (r.clone(), f.clone());
                    async move {
                        n.handle::<Transaction, _, _>(d, |_| async move {
                            r.fetch_add(1, Ordering::SeqCst);
                            if f.swap(false, Ordering::SeqCst) {
                                Err("database down".into())
                            } else {
                                Ok(())
                            }
                        })
                        .await
                    }
                },
            ),
        )
        .with_state(notifications("http://127.0.0.1:1", false));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body = gw.notification_body(
        "TRANSACTION.SUCCESS",
        "支付成功",
        "transaction",
        &json!({"out_trade_no": "O-1"}),
        now,
    );
    let send = |req: http::Request<Vec<u8>>| {
        let (parts, body) = req.into_parts();
        Request::from_parts(parts, Body::from(body))
    };
    let first = gw.sign_notification(body.clone(), now, None);
    let (p, b) = (first.headers().clone(), first.body().clone());
    // The handler fails: 500, WeChat Pay retries; its reason stays with the merchant.
    let (status, v) = answer(app.clone(), send(first)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("handler failed"), "{message}");
    assert!(!message.contains("database down"), "{message}");
    // The retry (newly signed) runs it again and succeeds.
    let (status, _) = answer(
        app.clone(),
        send(gw.sign_notification(body.clone(), now, None)),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Another retry: success without running the handler.
    let (status, _) = answer(
        app.clone(),
        send(gw.sign_notification(body.clone(), now, None)),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // The first delivery's bytes again: refused.
    let mut replay = http::Request::new(b);
    *replay.method_mut() = http::Method::POST;
    *replay.uri_mut() = "/notify".parse().unwrap();
    *replay.headers_mut() = p;
    let (status, v) = answer(app, send(replay)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(v["message"].as_str().unwrap().contains("received before"));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

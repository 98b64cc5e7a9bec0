//! The main job: start the sandbox gateway on 127.0.0.1, then run for real the everyday payment
//! flow (a Native order, paid, its notification received by an axum endpoint and handled once,
//! the query, a refund and its notification) and a pay-score order through ureq (blocking) and
//! hyper (async) — create a pay-after order, complete it with fees and discounts, query it —
//! printing each signed request line and each verified answer, and show a fault being caught.
//!
//! No credentials (the bundled TEST-ONLY keys), no network beyond loopback.
//!
//! `cargo run -p wechatpay-sandbox --example demo` (the README's first command). Exits 1 when
//! anything does not behave as WeChat Pay would have it.

use std::error::Error;

use wechatpay::api::pay::transactions::Transaction;
use wechatpay::api::payscore::payafter_orders::{
    complete, create, get as query, CompleteRequest, CreateRequest, GetQuery as QueryRequest,
};
use wechatpay::api::refund::domestic::Refund;
use wechatpay::exchange::{CallExchange, Exchange, Step};
use wechatpay::notify::Notification;
use wechatpay::sandbox::server::Server;
use wechatpay::sandbox::{Gateway, Mode, TestKeys, FAULT_HEADER};
use wechatpay::{ApiResponse, Call, CallError};

const APPID: &str = "wxd678efh567hg6787";
const SERVICE_ID: &str = "500001";

fn show_request(r: &http::Request<Vec<u8>>) {
    let auth = r
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    println!(
        "  -> {} {}",
        r.method(),
        r.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    println!("     Authorization: {}…", &auth[..auth.len().min(120)]);
    if !r.body().is_empty() {
        println!("     {}", String::from_utf8_lossy(r.body()));
    }
}

fn show_answer<T: std::fmt::Debug>(a: &ApiResponse<T>) {
    println!(
        "  <- {} verified by {} (Request-ID {})",
        a.status,
        a.verified_by.as_deref().unwrap_or("-"),
        a.request_id.as_deref().unwrap_or("-")
    );
    println!("     {:?}", a.data);
}

fn seed(no: &str) -> (CreateRequest, CompleteRequest, QueryRequest) {
    let create = CreateRequest {
        service_introduction: Some("充电宝租借".into()),
        risk_amount: Some(9900),
        ..wechatpay::sandbox::seed::create(no)
    };
    let query = QueryRequest {
        service_id: Some(SERVICE_ID.into()),
        appid: Some(APPID.into()),
        out_order_no: Some(no.into()),
        ..Default::default()
    };
    (create, wechatpay::sandbox::seed::body(), query)
}

/// Drive one exchange with a blocking send.
fn shown<T>(
    core: &wechatpay::Client,
    call: Call<T>,
    mut send: impl FnMut(
        http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, wechatpay::TransportError>,
) -> Result<ApiResponse<T>, CallError> {
    let mut ex = CallExchange::new(core, call)?;
    loop {
        match ex.poll() {
            Step::Send(r) => match send(r) {
                Ok(resp) => ex.handle_response(resp, core.now()),
                Err(e) => ex.handle_transport_error(e),
            },
            Step::Lock => ex.handle_locked(std::time::Instant::now()),
            Step::Done(out) => return out,
        }
    }
}

/// Drive one exchange through the hyper client.
async fn shown_async<T>(
    core: &wechatpay::Client,
    hyper: &wechatpay::hyper::Client,
    call: Call<T>,
) -> Result<ApiResponse<T>, CallError> {
    let mut ex = CallExchange::new(core, call)?;
    loop {
        match ex.poll() {
            Step::Send(r) => {
                show_request(&r);
                match hyper.execute(r).await {
                    Ok(resp) => ex.handle_response(resp, core.now()),
                    Err(e) => ex.handle_transport_error(e),
                }
            }
            Step::Lock => ex.handle_locked(std::time::Instant::now()),
            Step::Done(out) => return out,
        }
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let server = Server::start(Gateway::with_test_keys(Mode::Both))?;
    println!(
        "sandbox gateway on {} (certificate and public key, TEST-ONLY keys)\n",
        server.base_url()
    );
    let keys = TestKeys::load();
    everyday(&server, &keys)?;

    // Blocking: ureq. Each call is an exchange the core drives; the transport only moves the
    // bytes, and the demo prints each request on its way.
    println!("\n== pay-score (pay after use) with wechatpay-ureq (blocking) ==");
    let core = keys
        .client_builder(&server.base_url(), Mode::Both)
        .build()?;
    // Loopback only: no proxy from the environment.
    let ureq = wechatpay::ureq::Client::with_config(
        core.clone(),
        wechatpay::ureq::Config::default().proxy(wechatpay::ureq::Proxy::None),
    )?;
    let send = |r: http::Request<Vec<u8>>| {
        show_request(&r);
        ureq.execute(r)
    };
    let (c, d, q) = seed("ORDER-UREQ-0001");
    show_answer(&shown(&core, create(&c), send)?);
    show_answer(&shown(&core, complete("ORDER-UREQ-0001", &d), send)?);
    show_answer(&shown(&core, query(&q), send)?);

    // Async: hyper on tokio.
    println!("\n== pay-score with wechatpay-hyper (async, tokio) ==");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let hyper = wechatpay::hyper::Client::with_config(
            core.clone(),
            wechatpay::hyper::Config::default().proxy(wechatpay::hyper::Proxy::None),
        )?;
        let (c, d, q) = seed("ORDER-HYPER-0001");
        show_answer(&shown_async(&core, &hyper, create(&c)).await?);
        show_answer(&shown_async(&core, &hyper, complete("ORDER-HYPER-0001", &d)).await?);
        show_answer(&shown_async(&core, &hyper, query(&q)).await?);
        Ok::<(), Box<dyn Error>>(())
    })?;

    // A fault: the gateway alters the body after signing it. The client refuses the answer.
    println!("\n== a tampered answer is caught ==");
    let call =
        Call::<serde_json::Value>::get("/v3/certificates").header(FAULT_HEADER, "tampered-body");
    match ureq.send(call) {
        Err(e @ CallError::Response(_)) => println!("  rejected: {e}"),
        Err(e) => return Err(format!("unexpected error: {e}").into()),
        Ok(_) => return Err("a tampered answer was accepted".into()),
    }
    println!(
        "\n{} requests handled by the sandbox; stopping it.",
        server.gateway().request_count()
    );
    server.stop();
    apiv2(&keys)
}

/// The merchant's notification endpoint in the demo: what each notification was handled as.
#[derive(Clone)]
struct Endpoint {
    notifications: wechatpay::axum::Notifications,
    handled: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl axum::extract::FromRef<Endpoint> for wechatpay::axum::Notifications {
    fn from_ref(e: &Endpoint) -> Self {
        e.notifications.clone()
    }
}

async fn paid(
    axum::extract::State(e): axum::extract::State<Endpoint>,
    delivery: wechatpay::axum::Delivery,
) -> wechatpay::axum::Answer {
    let handled = e.handled.clone();
    e.notifications
        .handle(delivery, |n: Notification<Transaction>| async move {
            let t = &n.resource;
            let line = format!(
                "{}: {} paid, transaction_id {}",
                n.event_type,
                t.out_trade_no.as_deref().unwrap_or("?"),
                t.transaction_id.as_deref().unwrap_or("?")
            );
            handled.lock().map_err(|_| "poisoned")?.push(line);
            Ok(())
        })
        .await
}

async fn refunded(
    axum::extract::State(e): axum::extract::State<Endpoint>,
    delivery: wechatpay::axum::Delivery,
) -> wechatpay::axum::Answer {
    let handled = e.handled.clone();
    e.notifications
        .handle(delivery, |n: Notification<Refund>| async move {
            let r = &n.resource;
            let line = format!(
                "{}: {} of {} refunded",
                n.event_type, r.out_refund_no, r.out_trade_no
            );
            handled.lock().map_err(|_| "poisoned")?.push(line);
            Ok(())
        })
        .await
}

/// Wait (at most 10 s) for the endpoint's `n`-th notification and print it.
fn wait_for_notification(
    handled: &std::sync::Mutex<Vec<String>>,
    n: usize,
) -> Result<(), Box<dyn Error>> {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(line) = handled.lock().map_err(|_| "poisoned")?.get(n - 1) {
            println!("  the axum endpoint verified, decrypted and handled once: {line}");
            return Ok(());
        }
        if std::time::Instant::now() > end {
            return Err("no notification arrived within 10 s".into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The everyday flow: a Native order, paid by the user in the sandbox, TRANSACTION.SUCCESS
/// received by an axum endpoint, the query, a refund and REFUND.SUCCESS.
fn everyday(server: &Server, keys: &TestKeys) -> Result<(), Box<dyn Error>> {
    use wechatpay::api::pay::transactions::{
        get_by_out_trade_no, native, Amount, QueryOrderByOutTradeNoRequest,
    };
    use wechatpay::api::refund::domestic::{refunds, AmountReq, CreateRequest};
    println!("== payments: order, pay, notification, query, refund, notification ==");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let core = keys
        .client_builder(&server.base_url(), Mode::Both)
        .apiv3_key(wechatpay::ApiV3Key::new(keys.apiv3_key)?)
        .build()?;
    let client = wechatpay::ureq::Client::with_config(
        core,
        wechatpay::ureq::Config::default().proxy(wechatpay::ureq::Proxy::None),
    )?;
    // The merchant's endpoint: axum, each notification handled once (in memory here; Redis
    // for several instances).
    let handled = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let endpoint = Endpoint {
        notifications: wechatpay::axum::Notifications::new(
            client.callbacks().ok_or("no APIv3 key")?,
        ),
        handled: handled.clone(),
    };
    let app = axum::Router::new()
        .route("/notify/payment", axum::routing::post(paid))
        .route("/notify/refund", axum::routing::post(refunded))
        .with_state(endpoint);
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let notify = format!("http://{}", listener.local_addr()?);
    rt.spawn(async move { axum::serve(listener, app).await });

    let order = client.send(native(&native::PrepayRequest {
        appid: APPID.into(),
        mchid: keys.mchid.into(),
        description: "充电宝租借".into(),
        out_trade_no: "DEMO-ORDER-1".into(),
        notify_url: format!("{notify}/notify/payment"),
        amount: Amount {
            total: 880,
            ..Default::default()
        },
        ..Default::default()
    }))?;
    println!(
        "  Native order DEMO-ORDER-1, 8.80 yuan → code_url {} (the QR code the user scans)",
        order.data.code_url
    );
    server.gateway().pay("DEMO-ORDER-1", client.core().now());
    println!("  the user pays in the sandbox; WeChat Pay notifies the order's notify_url");
    wait_for_notification(&handled, 1)?;
    let paid = client.send(get_by_out_trade_no(
        "DEMO-ORDER-1",
        &QueryOrderByOutTradeNoRequest {
            mchid: keys.mchid.into(),
        },
    ))?;
    println!(
        "  query → {}, {} fen",
        paid.data
            .trade_state
            .as_ref()
            .map(|s| s.as_str())
            .unwrap_or("?"),
        paid.data.amount.as_ref().and_then(|a| a.total).unwrap_or(0)
    );
    let refund = client.send(refunds(&CreateRequest {
        out_trade_no: Some("DEMO-ORDER-1".into()),
        out_refund_no: "DEMO-REFUND-1".into(),
        notify_url: Some(format!("{notify}/notify/refund")),
        amount: AmountReq {
            refund: 880,
            total: 880,
            currency: "CNY".into(),
            ..Default::default()
        },
        ..Default::default()
    }))?;
    println!(
        "  refund DEMO-REFUND-1 → {} (refund_id {})",
        refund
            .data
            .status
            .as_ref()
            .map(|s| s.as_str())
            .unwrap_or("?"),
        refund.data.refund_id
    );
    wait_for_notification(&handled, 2)?;
    Ok(())
}

/// APIv2 (XML): a Native order and a refund over mutual TLS, against a second sandbox that
/// requires the merchant's client certificate (a test CA made here, on the spot).
fn apiv2(keys: &TestKeys) -> Result<(), Box<dyn Error>> {
    use wechatpay::api::v2::{pay::unifiedorder, secapi::pay::refund};
    println!("\n== APIv2 (XML), refunds over mutual TLS ==");
    let pki = wechatpay::sandbox::tls::TestPki::generate(keys)?;
    let server = Server::start_tls(Gateway::with_test_keys(Mode::Both), &pki.tls_setup())?;
    let core = keys
        .client_builder(&server.base_url(), Mode::Both)
        .build()?;
    let config = wechatpay::ureq::Config::default()
        .proxy(wechatpay::ureq::Proxy::None)
        .root_certificates_pem(&pki.ca_pem)?;
    let refund_call = || {
        refund::call(&refund::Request {
            appid: "wxd678efh567hg6787".into(),
            out_trade_no: "V2-ORDER-1".into(),
            out_refund_no: "V2-REFUND-1".into(),
            total_fee: 100,
            refund_fee: 30,
            ..Default::default()
        })
    };
    // Without the client certificate, a secapi path is refused before anything is sent.
    let without = wechatpay::ureq::Client::with_config(core.clone(), config.clone())?;
    match without.send_v2(refund_call()?) {
        Err(e @ CallError::Build(_)) => println!("  without a client certificate: {e}"),
        other => return Err(format!("unexpected: {other:?}").into()),
    }
    let client =
        wechatpay::ureq::Client::with_config(core, config.client_identity(pki.client_identity()?))?;
    let order = client.send_v2(unifiedorder::call(&unifiedorder::Request {
        appid: "wxd678efh567hg6787".into(),
        body: "Image".into(),
        out_trade_no: "V2-ORDER-1".into(),
        total_fee: 100,
        spbill_create_ip: "127.0.0.1".into(),
        notify_url: "https://example.com/notify".into(),
        trade_type: "NATIVE".into(),
        ..Default::default()
    })?)?;
    println!(
        "  unifiedorder (MD5-signed XML, answer sign checked) → {}",
        order.code_url.unwrap_or_default()
    );
    server.gateway().v2_pay("V2-ORDER-1", client.core().now());
    let refunded = client.send_v2(refund_call()?)?;
    println!(
        "  refund over mutual TLS → refund_id {}, {} fen",
        refunded.refund_id.unwrap_or_default(),
        refunded.refund_fee.unwrap_or_default()
    );
    server.stop();
    Ok(())
}

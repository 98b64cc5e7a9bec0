//! The main job: start the sandbox gateway on 127.0.0.1, then run the seed flow for real through
//! ureq (blocking) and hyper (async) — create a pay-after order, complete it with fees and
//! discounts, query it — printing each signed request line and each verified answer, and show a
//! fault being caught.
//!
//! No credentials (the bundled TEST-ONLY keys), no network beyond loopback.
//!
//! `wxpay demo` (`cargo run --release -p wechatpay-cli -- demo`)

use std::error::Error;

use wechatpay_api::payscore::payafter_orders::{
    complete, create, get as query, CompleteRequest, CreateRequest, GetQuery as QueryRequest,
};
use wechatpay_core::exchange::{CallExchange, Exchange, Step};
use wechatpay_core::{ApiResponse, Call, CallError};
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::{Gateway, Mode, TestKeys, FAULT_HEADER};

const APPID: &str = "wxd678efh567hg6787";
const SERVICE_ID: &str = "500001";

fn show_request(r: &http::Request<Vec<u8>>) {
    let auth = r
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    outln!(
        "  -> {} {}",
        r.method(),
        r.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    outln!("     Authorization: {}…", &auth[..auth.len().min(120)]);
    if !r.body().is_empty() {
        outln!("     {}", String::from_utf8_lossy(r.body()));
    }
}

fn show_answer<T: std::fmt::Debug>(a: &ApiResponse<T>) {
    outln!(
        "  <- {} verified by {} (Request-ID {})",
        a.status,
        a.verified_by.as_deref().unwrap_or("-"),
        a.request_id.as_deref().unwrap_or("-")
    );
    outln!("     {:?}", a.data);
}

fn seed(no: &str) -> (CreateRequest, CompleteRequest, QueryRequest) {
    let create = CreateRequest {
        service_introduction: Some("充电宝租借".into()),
        risk_amount: Some(9900),
        ..wechatpay_sandbox::seed::create(no)
    };
    let query = QueryRequest {
        service_id: Some(SERVICE_ID.into()),
        appid: Some(APPID.into()),
        out_order_no: Some(no.into()),
        ..Default::default()
    };
    (create, wechatpay_sandbox::seed::body(), query)
}

/// Drive one exchange with a blocking send.
fn shown<T>(
    core: &wechatpay_core::Client,
    call: Call<T>,
    mut send: impl FnMut(
        http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, wechatpay_core::TransportError>,
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
    core: &wechatpay_core::Client,
    hyper: &wechatpay_hyper::Client,
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

/// Run the demo.
pub fn run() -> Result<(), Box<dyn Error>> {
    let server = Server::start(Gateway::with_test_keys(Mode::Both))?;
    outln!(
        "sandbox gateway on {} (certificate and public key, TEST-ONLY keys)\n",
        server.base_url()
    );
    let keys = TestKeys::load();

    // Blocking: ureq. Each call is an exchange the core drives; the transport only moves the
    // bytes, and the demo prints each request on its way.
    outln!("== wechatpay-ureq (blocking) ==");
    let core = keys
        .client_builder(&server.base_url(), Mode::Both)
        .build()?;
    // Loopback only: no proxy from the environment.
    let ureq = wechatpay_ureq::Client::with_config(
        core.clone(),
        wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None),
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
    outln!("\n== wechatpay-hyper (async, tokio) ==");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let hyper = wechatpay_hyper::Client::with_config(
            core.clone(),
            wechatpay_hyper::Config::default().proxy(wechatpay_hyper::Proxy::None),
        )?;
        let (c, d, q) = seed("ORDER-HYPER-0001");
        show_answer(&shown_async(&core, &hyper, create(&c)).await?);
        show_answer(&shown_async(&core, &hyper, complete("ORDER-HYPER-0001", &d)).await?);
        show_answer(&shown_async(&core, &hyper, query(&q)).await?);
        Ok::<(), Box<dyn Error>>(())
    })?;

    // A fault: the gateway alters the body after signing it. The client refuses the answer.
    outln!("\n== a tampered answer is caught ==");
    let call =
        Call::<serde_json::Value>::get("/v3/certificates").header(FAULT_HEADER, "tampered-body");
    match ureq.send(call) {
        Err(e @ CallError::Response(_)) => outln!("  rejected: {e}"),
        Err(e) => return Err(format!("unexpected error: {e}").into()),
        Ok(_) => return Err("a tampered answer was accepted".into()),
    }
    outln!(
        "\n{} requests handled by the sandbox; stopping it.",
        server.gateway().request_count()
    );
    server.stop();
    apiv2(&keys)
}

/// APIv2 (XML): a Native order and a refund over mutual TLS, against a second sandbox that
/// requires the merchant's client certificate (a test CA made here, on the spot).
fn apiv2(keys: &TestKeys) -> Result<(), Box<dyn Error>> {
    use wechatpay_api::v2::{pay::unifiedorder, secapi::pay::refund};
    outln!("\n== APIv2 (XML), refunds over mutual TLS ==");
    let pki = wechatpay_sandbox::tls::TestPki::generate(keys)?;
    let server = Server::start_tls(Gateway::with_test_keys(Mode::Both), &pki.tls_setup())?;
    let core = keys
        .client_builder(&server.base_url(), Mode::Both)
        .build()?;
    let config = wechatpay_ureq::Config::default()
        .proxy(wechatpay_ureq::Proxy::None)
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
    let without = wechatpay_ureq::Client::with_config(core.clone(), config.clone())?;
    match without.send_v2(refund_call()?) {
        Err(e @ CallError::Build(_)) => outln!("  without a client certificate: {e}"),
        other => return Err(format!("unexpected: {other:?}").into()),
    }
    let client =
        wechatpay_ureq::Client::with_config(core, config.client_identity(pki.client_identity()?))?;
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
    outln!(
        "  unifiedorder (MD5-signed XML, answer sign checked) → {}",
        order.code_url.unwrap_or_default()
    );
    server.gateway().v2_pay("V2-ORDER-1", client.core().now());
    let refunded = client.send_v2(refund_call()?)?;
    outln!(
        "  refund over mutual TLS → refund_id {}, {} fen",
        refunded.refund_id.unwrap_or_default(),
        refunded.refund_fee.unwrap_or_default()
    );
    server.stop();
    Ok(())
}

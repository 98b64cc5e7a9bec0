//! A callback (notification) endpoint on a small hyper server: verify the signature over the raw
//! body, decrypt with the APIv3 key, answer 204 — or a failure answer so that WeChat Pay retries.
//! The sandbox plays WeChat Pay and POSTs three callbacks to it: a payment, the same one again
//! (a replay), and a probe.
//!
//! `cargo run -p wechatpay-sandbox --example callback_endpoint`

use std::convert::Infallible;
use std::error::Error;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use wechatpay_api::events::Transaction;
use wechatpay_core::notify::{self, Callbacks, MemoryReplayGuard};
use wechatpay_core::ApiV3Key;
use wechatpay_sandbox::{Fault, Gateway, Mode, TestKeys};

/// The handler: the raw bytes go to the verifier untouched.
async fn handle(
    callbacks: Callbacks,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let raw = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answer = match callbacks.verify::<Transaction>(&parts.headers, &raw) {
        Ok(n) => {
            let t = &n.resource;
            println!(
                "  endpoint: {} {} paid {} fen (verified by {})",
                n.event_type,
                t.out_trade_no.as_deref().unwrap_or("?"),
                t.amount.as_ref().and_then(|a| a.total).unwrap_or(0),
                n.verified_by
            );
            notify::success()
        }
        Err(e) => {
            println!("  endpoint: refused: {e}");
            e.answer()
        }
    };
    let (p, b) = answer.into_parts();
    Ok(hyper::Response::from_parts(p, Full::new(Bytes::from(b))))
}

fn main() -> Result<(), Box<dyn Error>> {
    let keys = TestKeys::load();
    // In a real service: the same SharedKeys as your API client, your APIv3 key.
    let callbacks = keys
        .client_builder("https://api.mch.weixin.qq.com", Mode::Both)
        .build()?
        .callbacks(ApiV3Key::new(keys.apiv3_key)?)
        .replay_guard(MemoryReplayGuard::default());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}/wechatpay/notify", listener.local_addr()?);
    println!("callback endpoint on {url}");
    let server = rt.spawn(async move {
        for _ in 0..3 {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let callbacks = callbacks.clone();
            let svc = hyper::service::service_fn(move |req| handle(callbacks.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        }
    });

    let gateway = Gateway::with_test_keys(Mode::Both);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let payment = serde_json::json!({
        "mchid": keys.mchid, "appid": "wxd678efh567hg6787", "out_trade_no": "NATIVE-0001",
        "transaction_id": "4200000000000000000000000001", "trade_state": "SUCCESS", "trade_type": "NATIVE",
        "amount": {"total": 100, "payer_total": 100, "currency": "CNY", "payer_currency": "CNY"}
    });
    let callback = gateway.notification(
        "TRANSACTION.SUCCESS",
        "支付成功",
        "transaction",
        &payment,
        now,
        None,
    );
    for (what, req) in [
        ("payment", callback.clone()),
        ("the same callback again", callback),
        (
            "a probe",
            gateway.notification(
                "TRANSACTION.SUCCESS",
                "支付成功",
                "transaction",
                &payment,
                now,
                Some(&Fault::Probe),
            ),
        ),
    ] {
        println!("WeChat Pay (sandbox) sends {what}");
        let (status, _) = wechatpay_sandbox::server::post_notification(&url, req)?;
        println!("  answer: {status}");
    }
    rt.block_on(server)?;
    Ok(())
}

//! Does signing inline on the async task hurt latency under concurrency, compared with moving
//! it to tokio's blocking pool? Runs the seed call C-at-a-time through one hyper client against
//! the sandbox (in this process, on its own thread), both ways, and prints p50/p99 and calls/s.
//!
//! `cargo run --release -p wechatpay-benches --bin sign_offload -- [calls] [concurrency]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use wechatpay_api::payscore::payafter_orders::{complete, create, CompleteRequest, CreateRequest};
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::{Gateway, Mode, TestKeys};

fn seed() -> CompleteRequest {
    wechatpay_sandbox::seed::body()
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

async fn run(client: wechatpay_hyper::Client, calls: usize, conc: usize, offload: bool, tag: &str) {
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let client = client.clone();
        let next = next.clone();
        let tag = tag.to_string();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= calls {
                    break lat;
                }
                let no = format!("{tag}-{i}");
                let t = Instant::now();
                let r = if offload {
                    let core = client.core().clone();
                    let ex = tokio::task::spawn_blocking(move || {
                        wechatpay_core::exchange::CallExchange::new(&core, complete(&no, &seed()))
                    })
                    .await
                    .expect("join")
                    .expect("sign");
                    client.drive(ex).await
                } else {
                    client.send(complete(&no, &seed())).await
                };
                r.expect("verified answer");
                lat.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("join"));
    }
    let wall = started.elapsed();
    all.sort();
    println!(
        "{:8}  calls {calls}  C={conc}  p50 {:.2} ms  p99 {:.2} ms  {:.0} calls/s",
        if offload { "offload" } else { "inline" },
        pct(&all, 0.50),
        pct(&all, 0.99),
        calls as f64 / wall.as_secs_f64()
    );
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let calls = args.first().copied().unwrap_or(4000);
    let conc = args.get(1).copied().unwrap_or(64);
    let server = Server::start(Gateway::with_test_keys(Mode::Both)).expect("sandbox");
    let core = TestKeys::load()
        .client_builder(&server.base_url(), Mode::Both)
        .build()
        .expect("client");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = wechatpay_hyper::Client::with_config(
            core,
            wechatpay_hyper::Config::default().proxy(wechatpay_hyper::Proxy::None),
        )
        .expect("client");
        // Orders to complete, created up front.
        for tag in ["warm", "i1", "o1", "i2", "o2"] {
            for i in 0..calls {
                let body = CreateRequest {
                    appid: "wxd678efh567hg6787".into(),
                    out_order_no: format!("{tag}-{i}"),
                    service_id: "500001".into(),
                    ..Default::default()
                };
                client.send(create(&body)).await.expect("create");
                if tag == "warm" && i >= 200 {
                    break;
                }
            }
        }
        run(client.clone(), 200, conc, false, "warm").await;
        run(client.clone(), calls, conc, false, "i1").await;
        run(client.clone(), calls, conc, true, "o1").await;
        run(client.clone(), calls, conc, false, "i2").await;
        run(client.clone(), calls, conc, true, "o2").await;
    });
}

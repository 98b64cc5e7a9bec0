//! The proxy named in the environment (`Proxy::FromEnv`, the default): used by every
//! transport, bypassed for the hosts in `NO_PROXY`, and ignored with `Proxy::None`. It sets
//! process-wide environment variables, so it runs in a child process of the test binary, where
//! no other test sees them.

use crate::common::proxy;

use proxy::{call, Kind, TestProxy};
use wechatpay_core::transport::{Config, Proxy};
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::{Gateway, Mode, TestKeys};

#[test]
fn the_environment_names_the_proxy_and_no_proxy_the_exceptions() {
    let exe = std::env::current_exe().unwrap();
    let child = std::process::Command::new(exe)
        .args([
            "--exact",
            "proxy_env::with_the_variables_set",
            "--include-ignored",
        ])
        .args(["--test-threads=1", "--nocapture"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && out.contains("1 passed"),
        "{out}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
}

#[test]
#[ignore = "run in a child process by the_environment_names_the_proxy_and_no_proxy_the_exceptions"]
fn with_the_variables_set() {
    let server = sandbox();
    let proxy = TestProxy::start(Kind::Http, None);
    // The only test of this child process, so no other test sees these variables; the
    // sandbox's and the proxy's threads never read the environment.
    std::env::set_var("HTTP_PROXY", proxy.url(None, ""));
    std::env::set_var("http_proxy", proxy.url(None, ""));
    for name in ["ureq", "hyper", "reqwest"] {
        let before = proxy.seen().len();
        call(name, &server, Config::default(), &order()).unwrap();
        let through = proxy.seen().len();
        assert!(through > before, "{name}: not through the proxy");
        call(
            name,
            &server,
            Config::default().proxy(Proxy::None),
            &order(),
        )
        .unwrap();
        assert_eq!(proxy.seen().len(), through, "{name}: Proxy::None used it");
    }
    std::env::set_var("NO_PROXY", "127.0.0.1");
    std::env::set_var("no_proxy", "127.0.0.1");
    let through_before = proxy.seen().len();
    for name in ["ureq", "hyper", "reqwest"] {
        call(name, &server, Config::default(), &order()).unwrap();
        assert_eq!(
            proxy.seen().len(),
            through_before,
            "{name}: NO_PROXY ignored"
        );
    }
    // A proxy hyper-util cannot tunnel through (an https:// one) fails each call, typed, before
    // anything is sent; it is not skipped silently.
    for var in ["NO_PROXY", "no_proxy"] {
        std::env::remove_var(var);
    }
    std::env::set_var("HTTP_PROXY", "https://127.0.0.1:9");
    std::env::set_var("http_proxy", "https://127.0.0.1:9");
    let core = TestKeys::load()
        .client_builder(&server.base_url(), Mode::Certificate)
        .build()
        .unwrap();
    let client = wechatpay_hyper::Client::new(core).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let call = wechatpay_api::payscore::payafter_orders::get(&Default::default());
    match rt.block_on(client.send(call)) {
        Err(wechatpay_core::CallError::Transport(t)) => {
            assert_eq!(t.kind, wechatpay_core::TransportErrorKind::Connect, "{t}");
            assert!(!t.may_have_reached_server);
            assert!(
                t.to_string()
                    .contains("cannot use the proxy https://127.0.0.1:9"),
                "{t}"
            );
        }
        other => panic!("{other:?}"),
    }
    for var in ["HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"] {
        std::env::remove_var(var);
    }
}

/// A fresh order number for each call.
fn order() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "ENV-{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

fn sandbox() -> Server {
    Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap()
}

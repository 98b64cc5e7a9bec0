//! Every transport behind a proxy (`Config::proxy`): calls reach the gateway through HTTP and
//! SOCKS5 proxies with their credentials (TLS inside the tunnel), a refused proxy fails the call
//! before anything reaches the gateway, and a proxy URL a transport cannot use is refused when
//! the client is made — never a panic, never a direct connection, never the password in an
//! error. The proxy named in the environment is tested in `proxy_env.rs` (its own process).

use crate::common::proxy;

use proxy::{call, Kind, TestProxy};
use wechatpay_core::transport::{Config, Proxy};
use wechatpay_core::{CallError, TransportErrorKind};
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::tls::TestPki;
use wechatpay_sandbox::{Gateway, Mode, TestKeys};

const TRANSPORTS: [&str; 3] = ["ureq", "hyper", "reqwest"];

fn sandbox() -> Server {
    Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap()
}

#[test]
fn every_transport_calls_through_an_http_proxy_with_its_credentials() {
    let server = sandbox();
    let target = server.addr().to_string();
    for name in TRANSPORTS {
        let proxy = TestProxy::start(Kind::Http, Some("wx:p@ss:1"));
        // Userinfo is percent-encoded in the URL and decoded before it is presented.
        let url = proxy.url(None, "wx:p%40ss%3A1@");
        call(
            name,
            &server,
            Config::default().proxy(Proxy::Url(url)),
            name,
        )
        .unwrap();
        let seen = proxy.seen();
        assert!(
            !seen.is_empty(),
            "{name}: the call did not go through the proxy"
        );
        for s in &seen {
            assert_eq!(s.target, target, "{name}: {s:?}");
            assert_eq!(s.credentials.as_deref(), Some("wx:p@ss:1"), "{name}: {s:?}");
            assert!(s.allowed, "{name}: {s:?}");
        }
    }
}

#[test]
fn tls_runs_end_to_end_through_the_tunnel_client_certificate_included() {
    // The sandbox's TLS listener requires the merchant's client certificate: the call succeeds
    // only if the TLS handshake, client authentication included, runs inside the tunnel.
    let pki = TestPki::generate(&TestKeys::load()).unwrap();
    let server =
        Server::start_tls(Gateway::with_test_keys(Mode::Certificate), &pki.tls_setup()).unwrap();
    let target = server.addr().to_string();
    for name in TRANSPORTS {
        let proxy = TestProxy::start(Kind::Http, Some("wx:pw"));
        let config = Config::default()
            .root_certificates_pem(&pki.ca_pem)
            .unwrap()
            .client_identity(pki.client_identity().unwrap())
            .proxy(Proxy::Url(proxy.url(None, "wx:pw@")));
        call(name, &server, config, name).unwrap();
        let seen = proxy.seen();
        assert!(!seen.is_empty(), "{name}");
        for s in &seen {
            assert_eq!(
                (s.how, s.target.as_str()),
                ("CONNECT", target.as_str()),
                "{name}"
            );
        }
    }
}

#[test]
fn a_proxy_that_refuses_the_credentials_fails_the_call_before_the_gateway() {
    let server = sandbox();
    for name in TRANSPORTS {
        let proxy = TestProxy::start(Kind::Http, Some("wx:right"));
        let before = server.gateway().request_count();
        let url = proxy.url(None, "wx:wrong@");
        let e = call(
            name,
            &server,
            Config::default().proxy(Proxy::Url(url)),
            name,
        )
        .unwrap_err();
        assert_eq!(server.gateway().request_count(), before, "{name}: {e}");
        assert!(!proxy.seen().is_empty() && proxy.seen().iter().all(|s| !s.allowed));
        // Through a tunnel (ureq, hyper) the refusal is a connect failure; a forwarding proxy
        // (reqwest, for an http:// gateway) answers the request itself, with an unsigned 407.
        match (name, &e) {
            ("reqwest", CallError::Response(_)) => {}
            (_, CallError::Transport(t)) => {
                assert_eq!(t.kind, TransportErrorKind::Connect, "{name}: {e}");
                assert!(!t.may_have_reached_server, "{name}: {e}");
            }
            _ => panic!("{name}: {e:?}"),
        }
        // The password does not appear in the error.
        assert!(!format!("{e} {e:?}").contains("wrong"), "{name}: {e:?}");
    }
}

#[test]
fn every_transport_calls_through_socks5_with_and_without_credentials() {
    let server = sandbox();
    let target = server.addr().to_string();
    for name in TRANSPORTS {
        for (scheme, credentials, userinfo) in [
            ("socks5h", Some("wx:p@ss"), "wx:p%40ss@"),
            ("socks5", None, ""),
        ] {
            let proxy = TestProxy::start(Kind::Socks5, credentials);
            let url = proxy.url(Some(scheme), userinfo);
            let order = format!("{name}-{scheme}");
            call(
                name,
                &server,
                Config::default().proxy(Proxy::Url(url)),
                &order,
            )
            .unwrap();
            let seen = proxy.seen();
            assert!(!seen.is_empty(), "{name} {scheme}");
            for s in &seen {
                assert_eq!((s.how, s.target.as_str()), ("socks5", target.as_str()));
                assert_eq!(s.credentials.as_deref(), credentials, "{name} {scheme}");
            }
        }
        // Refused credentials: nothing reached the gateway. hyper and reqwest know it was the
        // connect that failed; ureq reports a SOCKS refusal as a plain I/O error, which cannot
        // prove that nothing was sent, so it says the call may have reached the server (the
        // safe side for a payment: query before sending again).
        let proxy = TestProxy::start(Kind::Socks5, Some("wx:right"));
        let before = server.gateway().request_count();
        let url = proxy.url(None, "wx:wrong@");
        match call(name, &server, Config::default().proxy(Proxy::Url(url)), "x") {
            Err(CallError::Transport(t)) => {
                if name != "ureq" {
                    assert_eq!(t.kind, TransportErrorKind::Connect, "{name}: {t}");
                    assert!(!t.may_have_reached_server, "{name}: {t}");
                }
                assert!(!format!("{t} {t:?}").contains("wrong"), "{name}: {t:?}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(server.gateway().request_count(), before, "{name}");
    }
}

#[test]
fn no_transport_panics_on_any_form_of_proxy_url() {
    // ureq panicked on a socks5:// URL before its SOCKS feature was enabled, and reqwest sent
    // the calls direct for a scheme it cannot use. Whatever the URL, making the client and
    // calling fails (port 9 is closed) with a typed error.
    let server = sandbox();
    for name in TRANSPORTS {
        for url in [
            "socks4://wx:secret@127.0.0.1:9",
            "socks4a://127.0.0.1:9",
            "socks5://wx:secret@127.0.0.1:9",
            "https://wx:secret@127.0.0.1:9",
            "ftp://wx:secret@127.0.0.1:9",
            "wx:secret@127.0.0.1:9",
            "socks5h://wx:secret@127.0.0.1",
            "http://wx:secret@[::1",
            "",
        ] {
            let config = Config::default().proxy(Proxy::Url(url.into()));
            match call(name, &server, config, "x") {
                Ok(()) => panic!("{name} {url}: went around the proxy"),
                // Nor does the proxy's password appear in the error.
                Err(e) => assert!(
                    !format!("{e} {e:?}").contains("secret"),
                    "{name} {url}: {e:?}"
                ),
            }
        }
    }
}

#[test]
fn a_proxy_a_transport_cannot_use_is_refused_when_the_client_is_made() {
    let server = sandbox();
    let unusable: [(&str, &[&str]); 6] = [
        (
            "ftp://wx:secret@proxy.example:21",
            &["ureq", "hyper", "reqwest"],
        ),
        ("http://wx:secret@[::1", &["ureq", "hyper", "reqwest"]),
        ("", &["ureq", "hyper", "reqwest"]),
        ("https://wx:secret@proxy.example:443", &["hyper"]),
        ("socks4://wx:secret@proxy.example:1080", &["hyper"]),
        ("socks4a://proxy.example:1080", &["hyper"]),
    ];
    let core = || {
        TestKeys::load()
            .client_builder(&server.base_url(), Mode::Certificate)
            .build()
            .unwrap()
    };
    for (url, refused_by) in unusable {
        for name in refused_by {
            // Only the client is made: nothing is sent, nothing is connected.
            let config = Config::default().proxy(Proxy::Url(url.into()));
            let refused = match *name {
                "ureq" => wechatpay_ureq::Client::with_config(core(), config).err(),
                "hyper" => wechatpay_hyper::Client::with_config(core(), config).err(),
                _ => wechatpay_reqwest::Client::with_config(core(), config).err(),
            };
            let Some(e) = refused else {
                panic!("{name} {url}: accepted")
            };
            assert_eq!(
                e.kind,
                TransportErrorKind::InvalidRequest,
                "{name} {url}: {e}"
            );
            assert!(!e.may_have_reached_server);
            assert!(
                !format!("{e} {e:?}").contains("secret"),
                "{name} {url}: {e:?}"
            );
        }
    }
    // What hyper can reach is accepted (nothing is connected when the client is made).
    for url in [
        "http://proxy.example:3128",
        "http://wx:secret@proxy.example:3128",
        "socks5://proxy.example:1080",
        "socks5h://wx:secret@proxy.example:1080",
    ] {
        let config = Config::default().proxy(Proxy::Url(url.into()));
        wechatpay_hyper::Client::with_config(core(), config).unwrap();
    }
}

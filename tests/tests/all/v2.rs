//! APIv2 end to end: the typed v2 calls through every transport against the sandbox — the plain
//! listener, and the TLS listener that requires the merchant's client certificate (a test CA
//! made here by `TestPki::generate`) — with notifications, bills, faults and both algorithms.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use wechatpay_api::v2;
use wechatpay_core::v2::{self as core_v2, SignType, V2Call};
use wechatpay_core::V2Error;
use wechatpay_core::{BuildError, CallError, TransportErrorKind};
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::tls::TestPki;
use wechatpay_sandbox::{Fault, Gateway, Mode, TestKeys};

/// One client of each transport, and the runtime the async ones run on.
enum Transport {
    Ureq(Box<wechatpay_ureq::Client>),
    Hyper(wechatpay_hyper::Client),
    Reqwest(wechatpay_reqwest::Client),
}

struct Clients {
    rt: tokio::runtime::Runtime,
    all: Vec<(&'static str, Transport)>,
}

impl Clients {
    /// The three transports on `server`, with `config` (and no proxy: the sandbox is on
    /// loopback).
    fn new(server: &Server, config: wechatpay_core::transport::Config) -> Clients {
        let config = config.proxy(wechatpay_core::transport::Proxy::None);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let core = || {
            TestKeys::load()
                .client_builder(&server.base_url(), Mode::Certificate)
                .build()
                .unwrap()
        };
        let _guard = rt.enter();
        let all = vec![
            (
                "ureq",
                Transport::Ureq(Box::new(
                    wechatpay_ureq::Client::with_config(core(), config.clone()).unwrap(),
                )),
            ),
            (
                "hyper",
                Transport::Hyper(
                    wechatpay_hyper::Client::with_config(core(), config.clone()).unwrap(),
                ),
            ),
            (
                "reqwest",
                Transport::Reqwest(wechatpay_reqwest::Client::with_config(core(), config).unwrap()),
            ),
        ];
        drop(_guard);
        Clients { rt, all }
    }

    fn send<A: DeserializeOwned>(&self, t: &Transport, call: V2Call<A>) -> Result<A, CallError> {
        match t {
            Transport::Ureq(c) => c.send_v2(call),
            Transport::Hyper(c) => self.rt.block_on(c.send_v2(call)),
            Transport::Reqwest(c) => self.rt.block_on(c.send_v2(call)),
        }
    }

    fn bill<A>(&self, t: &Transport, call: V2Call<A>) -> Result<Vec<u8>, CallError> {
        let (bill, n) = match t {
            Transport::Ureq(c) => c.download_v2_bill(call, Vec::new()),
            Transport::Hyper(c) => self.rt.block_on(c.download_v2_bill(call, Vec::new())),
            Transport::Reqwest(c) => self.rt.block_on(c.download_v2_bill(call, Vec::new())),
        }?;
        assert_eq!(n, bill.len() as u64);
        Ok(bill)
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `yyyyMMdd` two days ago, Beijing time (a day that has a bill).
fn bill_date() -> String {
    wechatpay_core::bill::BeijingTime::from_unix(now() - 2 * 86_400)
        .date()
        .replace('-', "")
}

fn pki() -> TestPki {
    TestPki::generate(&TestKeys::load()).unwrap()
}

/// A config trusting `pki`'s CA, presenting its client certificate.
fn mtls_config(pki: &TestPki) -> wechatpay_core::transport::Config {
    wechatpay_core::transport::Config::default()
        .root_certificates_pem(&pki.ca_pem)
        .unwrap()
        .client_identity(pki.client_identity().unwrap())
}

fn unifiedorder(no: &str, trade_type: &str) -> v2::pay::unifiedorder::Request {
    v2::pay::unifiedorder::Request {
        appid: "wxd678efh567hg6787".into(),
        body: "Image".into(),
        out_trade_no: no.into(),
        total_fee: 100,
        spbill_create_ip: "127.0.0.1".into(),
        notify_url: "https://example.com/notify".into(),
        trade_type: trade_type.into(),
        ..Default::default()
    }
}

fn orderquery(no: &str) -> v2::pay::orderquery::Request {
    v2::pay::orderquery::Request {
        appid: "wxd678efh567hg6787".into(),
        out_trade_no: Some(no.into()),
        ..Default::default()
    }
}

fn refund(no: &str, refund_no: &str, fee: u64) -> v2::secapi::pay::refund::Request {
    v2::secapi::pay::refund::Request {
        appid: "wxd678efh567hg6787".into(),
        out_trade_no: no.into(),
        out_refund_no: refund_no.into(),
        total_fee: 100,
        refund_fee: fee,
        ..Default::default()
    }
}

#[test]
fn payment_refund_and_bill_flow_through_every_transport_over_mutual_tls() {
    let pki = pki();
    let server =
        Server::start_tls(Gateway::with_test_keys(Mode::Certificate), &pki.tls_setup()).unwrap();
    assert!(server.base_url().starts_with("https://127.0.0.1:"));
    let clients = Clients::new(&server, mtls_config(&pki));
    let key = core_v2::ApiV2Key::new(TestKeys::load().apiv2_key).unwrap();
    for (name, t) in &clients.all {
        let no = format!("V2-{name}");
        // unifiedorder (NATIVE) → a code_url; the order is not paid yet.
        let a = clients
            .send(
                t,
                v2::pay::unifiedorder::call(&unifiedorder(&no, "NATIVE")).unwrap(),
            )
            .unwrap();
        assert_eq!(a.return_code.as_deref(), Some("SUCCESS"), "{name}");
        assert_eq!(a.result_code.as_deref(), Some("SUCCESS"));
        assert!(a.prepay_id.as_deref().is_some_and(|p| p.starts_with("wx")));
        assert_eq!(
            a.code_url.as_deref(),
            Some(format!("weixin://wxpay/bizpayurl?pr={no}").as_str())
        );
        let q = clients
            .send(t, v2::pay::orderquery::call(&orderquery(&no)).unwrap())
            .unwrap();
        assert_eq!(q.trade_state.as_deref(), Some("NOTPAY"), "{name}");
        // The payer pays; the query says so, with the amount as a number.
        server.gateway().v2_pay(&no, now()).unwrap();
        let q = clients
            .send(t, v2::pay::orderquery::call(&orderquery(&no)).unwrap())
            .unwrap();
        assert_eq!(q.trade_state.as_deref(), Some("SUCCESS"));
        assert_eq!(q.total_fee, Some(100));
        let transaction_id = q.transaction_id.clone().unwrap();
        // The payment notification verifies with the APIv2 key.
        let n = server.gateway().v2_payment_notification(&no).unwrap();
        let fields = core_v2::verify_notification(&key, core_v2::SignType::Md5, n.body()).unwrap();
        assert_eq!(fields["transaction_id"], transaction_id);

        // Refund over mutual TLS (the path needs the client certificate), twice the same
        // out_refund_no (idempotent), then more than is left (NOTENOUGH).
        let refund_no = format!("R-{name}");
        let r = clients
            .send(
                t,
                v2::secapi::pay::refund::call(&refund(&no, &refund_no, 30)).unwrap(),
            )
            .unwrap();
        assert_eq!(r.refund_fee, Some(30), "{name}");
        let again = clients
            .send(
                t,
                v2::secapi::pay::refund::call(&refund(&no, &refund_no, 30)).unwrap(),
            )
            .unwrap();
        assert_eq!(again.refund_id, r.refund_id);
        let too_much = clients
            .send(
                t,
                v2::secapi::pay::refund::call(&refund(&no, "R-more", 80)).unwrap(),
            )
            .unwrap_err();
        match too_much {
            CallError::V2(V2Error::Business { err_code, .. }) => {
                assert_eq!(err_code.as_deref(), Some("NOTENOUGH"))
            }
            other => panic!("{name}: {other:?}"),
        }
        let rq = clients
            .send(
                t,
                v2::pay::refundquery::call(&v2::pay::refundquery::Request {
                    appid: "wxd678efh567hg6787".into(),
                    out_refund_no: refund_no.clone(),
                    ..Default::default()
                })
                .unwrap(),
            )
            .unwrap();
        assert_eq!(rq.refund_count, Some(1));
        assert_eq!(
            rq.other.get("refund_status_0").map(String::as_str),
            Some("SUCCESS")
        );
        // The refund notification: req_info decrypts under the MD5 of the APIv2 key.
        let n = server.gateway().v2_refund_notification(&refund_no).unwrap();
        let refund_n = core_v2::refund_notification(&key, n.body()).unwrap();
        assert_eq!(refund_n.unverified_info["out_refund_no"], refund_no);
        assert_eq!(refund_n.unverified_info["refund_fee"], "30");
        assert_eq!(refund_n.unverified_info["transaction_id"], transaction_id);

        // A paid order cannot be closed.
        let close = clients
            .send(
                t,
                v2::pay::closeorder::call(&v2::pay::closeorder::Request {
                    appid: "wxd678efh567hg6787".into(),
                    out_trade_no: no.clone(),
                    ..Default::default()
                })
                .unwrap(),
            )
            .unwrap_err();
        assert!(
            matches!(&close, CallError::V2(V2Error::Business { err_code: Some(c), .. }) if c == "ORDERPAID"),
            "{name}: {close:?}"
        );

        // micropay: paid at once.
        let m = clients
            .send(
                t,
                v2::pay::micropay::call(&v2::pay::micropay::Request {
                    appid: "wxd678efh567hg6787".into(),
                    body: "Coffee".into(),
                    out_trade_no: format!("M-{name}"),
                    total_fee: 1200,
                    spbill_create_ip: "127.0.0.1".into(),
                    auth_code: "134567890123456789".into(),
                    ..Default::default()
                })
                .unwrap(),
            )
            .unwrap();
        assert_eq!(m.total_fee, Some(1200), "{name}");
        assert_eq!(m.trade_type.as_deref(), Some("MICROPAY"));

        // Bills: text, gzip (gunzipped on receipt), and none for today.
        let bill = |tar: Option<&str>, date: String| {
            v2::pay::downloadbill::call(&v2::pay::downloadbill::Request {
                appid: "wxd678efh567hg6787".into(),
                bill_date: date,
                bill_type: Some("ALL".into()),
                tar_type: tar.map(Into::into),
                ..Default::default()
            })
            .unwrap()
        };
        let text = clients.bill(t, bill(None, bill_date())).unwrap();
        assert!(text.starts_with("交易时间,".as_bytes()), "{name}");
        // Read by its header's names, money to the fen, the summary adding up.
        let mut rows = wechatpay_core::bill::BillRows::new(&text[..]);
        let read: Vec<_> = rows.by_ref().map(Result::unwrap).collect();
        assert_eq!(read.len(), 22, "{name}: 20 payments and 2 refunds");
        assert!(read
            .iter()
            .all(|r| r.money(wechatpay_core::bill::Column::OrderAmount).is_some()));
        assert!(rows.summary().unwrap().agrees(), "{name}");
        let unzipped = clients.bill(t, bill(Some("GZIP"), bill_date())).unwrap();
        assert!(unzipped == text, "{name}: the gzip bill is the text bill");
        let today = clients.bill(t, bill(None, "29991231".into())).unwrap_err();
        assert!(
            matches!(&today, CallError::V2(V2Error::Return { return_msg: Some(m), .. }) if m == "No Bill Exist"),
            "{name}: {today:?}"
        );
        let not_a_day = clients.bill(t, bill(None, "20250229".into())).unwrap_err();
        assert!(
            matches!(&not_a_day, CallError::V2(V2Error::Return { return_msg: Some(m), .. }) if m == "invalid bill_date"),
            "{name}: {not_a_day:?}"
        );
    }
    // Today's bill, once the day is closed: the payments and refunds made above, each a row,
    // matching the records of them.
    let today = wechatpay_core::bill::BeijingTime::from_unix(now()).date();
    server.gateway().close_day(&today);
    let (name, t) = &clients.all[0];
    let text = clients
        .bill(
            t,
            v2::pay::downloadbill::call(&v2::pay::downloadbill::Request {
                appid: "wxd678efh567hg6787".into(),
                bill_date: today.replace('-', ""),
                bill_type: Some("ALL".into()),
                ..Default::default()
            })
            .unwrap(),
        )
        .unwrap();
    use wechatpay_core::bill::{BillRows, Fen, Reconciler, Record};
    let mut records = Vec::new();
    for (n, _) in &clients.all {
        records.push(Record::new(format!("V2-{n}"), Fen(100), "SUCCESS"));
        records.push(Record::new(format!("V2-{n}"), Fen(30), "REFUND").refund_no(format!("R-{n}")));
        records.push(Record::new(format!("M-{n}"), Fen(1200), "SUCCESS"));
    }
    let mut reconciler = Reconciler::new(records);
    let mut rows = BillRows::new(&text[..]);
    for row in rows.by_ref() {
        reconciler.add(&row.unwrap());
    }
    assert!(rows.summary().unwrap().agrees(), "{name}");
    let r = reconciler.finish();
    assert!(r.agrees() && r.matched == 9, "{r}");
}

#[test]
fn client_certificate_paths_need_an_identity() {
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let clients = Clients::new(&server, wechatpay_core::transport::Config::default());
    for (name, t) in &clients.all {
        let before = server.gateway().request_count();
        let e = clients
            .send(
                t,
                v2::secapi::pay::refund::call(&refund("X", "RX", 1)).unwrap(),
            )
            .unwrap_err();
        assert!(
            matches!(&e, CallError::Build(BuildError::ClientCertificateRequired { path }) if path == "/secapi/pay/refund"),
            "{name}: {e:?}"
        );
        assert!(!e.may_have_reached_server());
        assert_eq!(
            server.gateway().request_count(),
            before,
            "{name}: nothing was sent"
        );
    }
    // With an identity declared but the plain listener (no TLS, so no certificate reaches the
    // gateway), the gateway refuses the call as WeChat Pay does.
    let pki = pki();
    let config = wechatpay_core::transport::Config::default()
        .client_identity(pki.client_identity().unwrap());
    let clients = Clients::new(&server, config);
    for (name, t) in &clients.all {
        let e = clients
            .send(
                t,
                v2::secapi::pay::refund::call(&refund("X", "RX", 1)).unwrap(),
            )
            .unwrap_err();
        assert!(
            matches!(&e, CallError::V2(V2Error::Return { return_code, .. }) if return_code == "FAIL"),
            "{name}: {e:?}"
        );
    }
}

#[test]
fn the_tls_listener_refuses_clients_without_a_certificate_of_its_ca() {
    let pki = pki();
    let server =
        Server::start_tls(Gateway::with_test_keys(Mode::Certificate), &pki.tls_setup()).unwrap();
    // Trusting the server, but presenting no client certificate.
    let no_identity = wechatpay_core::transport::Config::default()
        .root_certificates_pem(&pki.ca_pem)
        .unwrap();
    // Presenting a client certificate of another CA.
    let other = TestPki::generate(&TestKeys::load()).unwrap();
    let foreign = no_identity
        .clone()
        .client_identity(other.client_identity().unwrap());
    for config in [no_identity, foreign] {
        let clients = Clients::new(&server, config);
        for (name, t) in &clients.all {
            let e = clients
                .send(t, v2::pay::orderquery::call(&orderquery("none")).unwrap())
                .unwrap_err();
            match &e {
                CallError::Transport(t) => assert!(
                    matches!(
                        t.kind,
                        TransportErrorKind::Tls | TransportErrorKind::ConnectionClosed
                    ),
                    "{name}: {e}"
                ),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
    assert_eq!(
        server.gateway().request_count(),
        0,
        "no request got through"
    );
    // Not trusting the server's CA: the client refuses the server.
    let clients = Clients::new(&server, wechatpay_core::transport::Config::default());
    for (name, t) in &clients.all {
        let e = clients
            .send(t, v2::pay::orderquery::call(&orderquery("none")).unwrap())
            .unwrap_err();
        assert!(
            matches!(&e, CallError::Transport(t) if t.kind == TransportErrorKind::Tls),
            "{name}: {e}"
        );
    }
}

#[test]
fn bad_answers_are_refused_and_both_algorithms_answer() {
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let clients = Clients::new(&server, wechatpay_core::transport::Config::default());
    for (name, t) in &clients.all {
        let no = format!("F-{name}");
        clients
            .send(
                t,
                v2::pay::unifiedorder::call(&unifiedorder(&no, "NATIVE")).unwrap(),
            )
            .unwrap();
        // HMAC-SHA256: the answer is signed the same way, and verifies.
        let q = clients
            .send(
                t,
                v2::pay::orderquery::call(&orderquery(&no))
                    .unwrap()
                    .sign_type(SignType::HmacSha256),
            )
            .unwrap();
        assert_eq!(q.trade_state.as_deref(), Some("NOTPAY"), "{name}");
        assert_eq!(
            q.other.get("sign_type").map(String::as_str),
            Some("HMAC-SHA256")
        );
        type Check = fn(&V2Error) -> bool;
        let cases: [(Fault, Check); 4] = [
            (Fault::WrongSignature, |e| {
                matches!(e, V2Error::SignMismatch { .. })
            }),
            (Fault::TamperedBody, |e| {
                matches!(e, V2Error::SignMismatch { .. })
            }),
            (Fault::MissingSignatureHeaders, |e| {
                matches!(e, V2Error::MissingSign { .. })
            }),
            (
                Fault::SystemError,
                |e| matches!(e, V2Error::Return { return_msg: Some(m), .. } if m == "SYSTEMERROR"),
            ),
        ];
        for (fault, expected) in cases {
            server.gateway().set_fault(Some(fault.clone()));
            let e = clients
                .send(t, v2::pay::orderquery::call(&orderquery(&no)).unwrap())
                .unwrap_err();
            server.gateway().set_fault(None);
            match &e {
                CallError::V2(v) => assert!(expected(v), "{name} {fault:?}: {v:?}"),
                other => panic!("{name} {fault:?}: {other:?}"),
            }
        }
        // A business failure keeps its code.
        let e = clients
            .send(
                t,
                v2::pay::orderquery::call(&orderquery("no-such-order")).unwrap(),
            )
            .unwrap_err();
        assert!(
            matches!(&e, CallError::V2(V2Error::Business { err_code: Some(c), .. }) if c == "ORDERNOTEXIST"),
            "{name}: {e:?}"
        );
        // An untyped call on any path reaches the gateway, signed the same way.
        let any = clients
            .send(
                t,
                V2Call::new("/tools/shorturl")
                    .field("appid", "wxd678efh567hg6787")
                    .field("long_url", "weixin://wxpay/bizpayurl?pr=x"),
            )
            .unwrap();
        assert_eq!(any.get("result_code").map(String::as_str), Some("SUCCESS"));
    }
}

#[test]
fn a_wrong_apiv2_key_is_refused_by_the_gateway() {
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let core = TestKeys::load()
        .client_builder(&server.base_url(), Mode::Certificate)
        .apiv2_key(core_v2::ApiV2Key::new("another32characterapiv2key000000").unwrap())
        .build()
        .unwrap();
    let c = wechatpay_ureq::Client::new(core).unwrap();
    let e = c
        .send_v2(v2::pay::orderquery::call(&orderquery("x")).unwrap())
        .unwrap_err();
    assert!(
        matches!(&e, CallError::V2(V2Error::Return { return_msg: Some(m), .. }) if m == "签名错误"),
        "{e:?}"
    );
}

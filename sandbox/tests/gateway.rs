//! The sans-IO gateway with a pinned clock: WeChat Pay's request checks, answer signing, modes.

use serde_json::{json, Value};
use wechatpay_api::payscore::payafter_orders::{create, CreateRequest};
use wechatpay_core::{Call, FixedClock, FixedNonce};
use wechatpay_sandbox::{Fault, Gateway, Mode, TestKeys};

const NOW: i64 = 1_800_000_000;

fn core(mode: Mode) -> wechatpay_core::Client {
    TestKeys::load()
        .client_builder("http://127.0.0.1:1", mode)
        .clock(FixedClock(NOW))
        .nonce_source(FixedNonce("abc".into()))
        .build()
        .unwrap()
}

fn body() -> CreateRequest {
    CreateRequest {
        appid: "wx1".into(),
        out_order_no: "O-1".into(),
        service_id: "5".into(),
        ..Default::default()
    }
}

fn code(r: &http::Response<Vec<u8>>) -> String {
    serde_json::from_slice::<Value>(r.body()).unwrap()["code"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn accepts_a_signed_request_and_signs_the_answer() {
    let gw = Gateway::with_test_keys(Mode::Both);
    let c = core(Mode::Both);
    let signed = c.sign(create(&body())).unwrap();
    let reply = gw.handle(&signed.request, NOW);
    assert_eq!(reply.response.status(), 200);
    let answer = c.verify(&signed.expect, &reply.response).unwrap();
    assert_eq!(answer.data.out_order_no.as_deref(), Some("O-1"));
    assert_eq!(gw.request_count(), 1);
}

#[test]
fn sign_errors() {
    let gw = Gateway::with_test_keys(Mode::Both);
    let c = core(Mode::Both);
    let fresh = || c.sign(create(&body())).unwrap().request;

    // Body altered after signing.
    let mut r = fresh();
    r.body_mut().push(b' ');
    let reply = gw.handle(&r, NOW);
    assert_eq!(
        (reply.response.status().as_u16(), code(&reply.response)),
        (401, "SIGN_ERROR".into())
    );
    // Target altered after signing (a re-encoded query, the Node plugin's bug).
    let signed = c
        .sign(Call::<Value>::get("/v3/certificates").query("q", "O'Neil"))
        .unwrap();
    let mut r = signed.request;
    *r.uri_mut() = "http://127.0.0.1:1/v3/certificates?q=O'Neil"
        .parse()
        .unwrap();
    assert_eq!(gw.handle(&r, NOW).response.status(), 401);
    // Stale by 301 s, fine at 300 s.
    assert_eq!(gw.handle(&fresh(), NOW + 301).response.status(), 401);
    assert_eq!(gw.handle(&fresh(), NOW + 300).response.status(), 200);
    // Missing or foreign Authorization.
    let mut r = fresh();
    r.headers_mut().remove("authorization");
    assert_eq!(gw.handle(&r, NOW).response.status(), 401);
    let mut r = fresh();
    let auth = r.headers()["authorization"]
        .to_str()
        .unwrap()
        .replace("1900000001", "1900000009");
    r.headers_mut()
        .insert("authorization", auth.parse().unwrap());
    assert_eq!(gw.handle(&r, NOW).response.status(), 401);
    let mut r = fresh();
    r.headers_mut()
        .insert("authorization", "Bearer x".parse().unwrap());
    assert_eq!(gw.handle(&r, NOW).response.status(), 401);
}

#[test]
fn errors_and_faults_are_signed_too() {
    let gw = Gateway::with_test_keys(Mode::PublicKey);
    let c = core(Mode::PublicKey);
    // A 404 answer still carries a signature.
    let signed = c.sign(Call::<Value>::get("/v3/nothing/here")).unwrap();
    let reply = gw.handle(&signed.request, NOW);
    assert_eq!(reply.response.status(), 404);
    assert!(reply.response.headers().contains_key("wechatpay-signature"));
    // Per-server faults.
    gw.set_fault(Some(Fault::DropConnection));
    assert!(
        gw.handle(&c.sign(create(&body())).unwrap().request, NOW)
            .drop_connection
    );
    gw.set_fault(Some(Fault::Delay(std::time::Duration::from_millis(5))));
    assert!(gw
        .handle(&c.sign(create(&body())).unwrap().request, NOW)
        .delay
        .is_some());
    gw.set_fault(None);
    let signed = c.sign(create(&body())).unwrap();
    let reply = gw.handle(&signed.request, NOW);
    c.verify(&signed.expect, &reply.response).unwrap();
    assert_eq!(Fault::parse("oversized=10"), Some(Fault::OversizedBody(10)));
    assert_eq!(Fault::parse("nonsense"), None);
}

#[test]
fn state_rules() {
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let c = core(Mode::Certificate);
    let send = |call: Call<Value>| {
        let s = c.sign(call).unwrap();
        let r = gw.handle(&s.request, NOW).response;
        (
            r.status().as_u16(),
            serde_json::from_slice::<Value>(r.body()).unwrap_or(Value::Null),
        )
    };
    let (s, _) = send(
        Call::post("/v3/payscore/payafter-orders")
            .json(&json!({"appid":"wx1","out_order_no":"A","service_id":"5"})),
    );
    assert_eq!(s, 200);
    // Same out_order_no, different content: refused.
    let (s, v) = send(
        Call::post("/v3/payscore/payafter-orders")
            .json(&json!({"appid":"wx1","out_order_no":"A","service_id":"5","attach":"x"})),
    );
    assert_eq!((s, v["code"].as_str()), (400, Some("INVALID_REQUEST")));
    // Sync before completion is refused.
    let (s, v) = send(Call::post("/v3/payscore/payafter-orders/A/sync").json(
        &json!({"appid":"wx1","service_id":"5","type":"Order_Paid","detail":{"paid_time":"t"}}),
    ));
    assert_eq!((s, v["code"].as_str()), (400, Some("ORDER_STATE_INVALID")));
    // Wrong JSON shape: PARAM_ERROR naming the field.
    let (s, v) = send(
        Call::post("/v3/payscore/payafter-orders/A/cancel")
            .json(&json!({"appid":"wx1","service_id":"5"})),
    );
    assert_eq!(
        (s, v["code"].as_str(), v["detail"]["value"].as_str()),
        (400, Some("PARAM_ERROR"), Some("reason"))
    );
    let (s, _) =
        send(Call::post("/v3/payscore/payafter-orders/A/cancel").json_bytes(b"not json".to_vec()));
    assert_eq!(s, 400);
}

#[test]
fn faults_only_after_authentication_and_bounded() {
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let c = core(Mode::Certificate);
    // Unauthenticated: a plain 401, whatever fault it asks for.
    for fault in ["oversized=1000000000000000", "drop", "delay=50000", "probe"] {
        let r = http::Request::builder()
            .method("GET")
            .uri("/v3/certificates")
            .header(wechatpay_sandbox::FAULT_HEADER, fault)
            .body(Vec::new())
            .unwrap();
        let reply = gw.handle(&r, NOW);
        assert_eq!(reply.response.status(), 401, "{fault}");
        assert!(reply.response.body().len() < 1024, "{fault}");
        assert!(!reply.drop_connection && reply.delay.is_none(), "{fault}");
    }
    // Authenticated, out of bounds or unknown: 400 PARAM_ERROR, nothing allocated.
    for fault in ["oversized=1000000000000000", "delay=600000", "nonsense"] {
        let signed = c
            .sign(create(&body()).header(wechatpay_sandbox::FAULT_HEADER, fault))
            .unwrap();
        let reply = gw.handle(&signed.request, NOW);
        assert_eq!(
            (reply.response.status().as_u16(), code(&reply.response)),
            (400, "PARAM_ERROR".into()),
            "{fault}"
        );
        assert!(reply.delay.is_none());
    }
    // Within bounds: applied.
    let signed = c
        .sign(create(&body()).header(wechatpay_sandbox::FAULT_HEADER, "oversized=4096"))
        .unwrap();
    assert_eq!(gw.handle(&signed.request, NOW).response.body().len(), 4096);
    assert_eq!(
        Fault::parse(&format!(
            "oversized={}",
            wechatpay_sandbox::MAX_OVERSIZED + 1
        )),
        None
    );
    // A fault set in code is bounded too.
    gw.set_fault(Some(Fault::OversizedBody(usize::MAX)));
    let signed = c.sign(create(&body())).unwrap();
    assert_eq!(
        gw.handle(&signed.request, NOW).response.body().len(),
        wechatpay_sandbox::MAX_OVERSIZED
    );
}

#[test]
fn an_apiv3_call_outside_v3_is_a_signed_404() {
    // A base URL with a path prefix the gateway does not serve: the call arrives as
    // `/gw/v3/…`, signed for that target. WeChat Pay answers it as an unknown APIv3 path (a
    // signed 404), not as an APIv2 request.
    let gw = Gateway::with_test_keys(Mode::Both);
    let c = TestKeys::load()
        .client_builder("http://127.0.0.1:1/gw", Mode::Both)
        .clock(FixedClock(NOW))
        .nonce_source(FixedNonce("abc".into()))
        .build()
        .unwrap();
    let signed = c.sign(create(&body())).unwrap();
    assert_eq!(
        signed.request.uri().path(),
        "/gw/v3/payscore/payafter-orders"
    );
    let reply = gw.handle(&signed.request, NOW);
    assert_eq!(
        (reply.response.status().as_u16(), code(&reply.response)),
        (404, "NOT_FOUND".into())
    );
    match c.verify(&signed.expect, &reply.response) {
        Err(wechatpay_core::ResponseError::Api(a)) => assert_eq!(a.status, 404),
        other => panic!("{:?}", other.map(|r| r.data)),
    }
    // Without an APIv3 Authorization it is still APIv2's (an XML answer).
    let mut v2 = signed.request;
    v2.headers_mut().remove(http::header::AUTHORIZATION);
    let reply = gw.handle(&v2, NOW);
    assert!(reply.response.body().starts_with(b"<xml>"), "{reply:?}");
}

/// Two gateways never hand out the same ids: a merchant's database that outlives one (a unique
/// `transaction_id` column, say) takes a second run's orders and payments, APIv3 and APIv2, as new
/// ones.
#[test]
fn two_gateways_hand_out_different_ids() {
    use wechatpay_api::pay::transactions as tx;
    let c = core(Mode::Certificate);
    let ids = |gw: &Gateway| -> Vec<String> {
        // A pay-after order.
        let signed = c.sign(create(&body())).unwrap();
        let reply = gw.handle(&signed.request, NOW);
        let created = c.verify(&signed.expect, &reply.response).unwrap().data;
        // APIv3: a JSAPI order, then paid.
        let order = tx::jsapi::PrepayRequest {
            appid: "wxd678efh567hg6787".into(),
            mchid: "1900000001".into(),
            description: "d".into(),
            out_trade_no: "T-1".into(),
            notify_url: "https://merchant.example/notify".into(),
            amount: tx::Amount {
                total: 1,
                currency: None,
            },
            payer: tx::Payer {
                openid: Some("o1".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let signed = c.sign(tx::jsapi(&order)).unwrap();
        let reply = gw.handle(&signed.request, NOW);
        let prepay = c.verify(&signed.expect, &reply.response).unwrap().data;
        let paid = gw.pay("T-1", NOW).unwrap();
        // APIv2: a NATIVE order, then paid.
        let answer = v2_native_order(&c, gw, "T-1");
        let v2_paid = gw.v2_pay("T-1", NOW).unwrap();
        vec![
            created.order_id.unwrap_or_default(),
            prepay.prepay_id,
            paid["transaction_id"].as_str().unwrap().to_owned(),
            answer["prepay_id"].clone(),
            v2_paid["transaction_id"].clone(),
        ]
    };
    let first = ids(&Gateway::with_test_keys(Mode::Certificate));
    let second = ids(&Gateway::with_test_keys(Mode::Certificate));
    for (a, b) in first.iter().zip(&second) {
        assert!(!a.is_empty() && a != b && a.len() == b.len(), "{a} {b}");
    }
    // Order and transaction ids stay digits, as WeChat Pay's are.
    for id in [&first[0], &first[2], &first[4]] {
        assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    }
}

/// An APIv2 NATIVE order `out_trade_no` made at `gw`; the verified answer.
fn v2_native_order(
    c: &wechatpay_core::Client,
    gw: &Gateway,
    out_trade_no: &str,
) -> wechatpay_core::v2::Fields {
    let call = wechatpay_core::v2::V2Call::new("/pay/unifiedorder")
        .field("appid", "wxd678efh567hg6787")
        .field("body", "b")
        .field("out_trade_no", out_trade_no)
        .field("total_fee", "1")
        .field("spbill_create_ip", "127.0.0.1")
        .field("notify_url", "https://merchant.example/notify")
        .field("trade_type", "NATIVE");
    let signed = c.sign_v2(call).unwrap();
    signed
        .verify(&gw.handle(&signed.request, NOW).response)
        .unwrap()
}

#[test]
fn notifications_never_share_a_nonce_or_a_payment() {
    // APIv2: each notification message has a nonce of its own, also when nothing happened
    // between two of them.
    let c = core(Mode::Certificate);
    let gw = Gateway::with_test_keys(Mode::Certificate);
    for no in ["T-1", "T-2"] {
        v2_native_order(&c, &gw, no);
        gw.v2_pay(no, NOW).unwrap();
    }
    let nonce = |no: &str| {
        let request = gw.v2_payment_notification(no).unwrap();
        wechatpay_core::v2::from_xml(request.body()).unwrap()["nonce_str"].clone()
    };
    let nonces = [nonce("T-1"), nonce("T-2"), nonce("T-1")];
    assert!(
        nonces.iter().all(|n| !n.is_empty() && n.len() <= 32),
        "{nonces:?}"
    );
    assert!(
        nonces[0] != nonces[1] && nonces[1] != nonces[2] && nonces[0] != nonces[2],
        "{nonces:?}"
    );
    // The sample events `wxpay sandbox deliver` sends: two of them, made in the same second,
    // name two payments (and two refunds), with ids of WeChat Pay's length.
    use wechatpay_sandbox::deliver::Event;
    let ids = |e: Event, field: &str| e.resource[field].as_str().unwrap().to_owned();
    let (a, b) = (
        Event::sample("TRANSACTION.SUCCESS", "T-1"),
        Event::sample("TRANSACTION.SUCCESS", "T-2"),
    );
    let (t1, t2) = (ids(a, "transaction_id"), ids(b, "transaction_id"));
    assert!(t1 != t2 && t1.len() == 20 && t2.len() == 20, "{t1} {t2}");
    let refund = |no| Event::sample("REFUND.SUCCESS", no);
    for field in ["transaction_id", "refund_id"] {
        let (r1, r2) = (ids(refund("T-1"), field), ids(refund("T-2"), field));
        assert!(r1 != r2 && r1.len() == 20, "{field}: {r1} {r2}");
    }
}

#[test]
fn bills_are_there_from_ten_the_next_morning() {
    // NOW is 2027-01-15 16:00:00 in Beijing.
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let answer = |date: &str, at: i64| {
        let c = TestKeys::load()
            .client_builder("http://127.0.0.1:1", Mode::Certificate)
            .clock(FixedClock(at))
            .build()
            .unwrap();
        let call = Call::<Value>::get("/v3/bill/tradebill").query("bill_date", date);
        let signed = c.sign(call).unwrap();
        let reply = gw.handle(&signed.request, at).response;
        (reply.status().as_u16(), code(&reply))
    };
    let ok = (200, String::new());
    let error = |status: u16, code: &str| (status, code.to_string());
    assert_eq!(answer("2027-01-14", NOW), ok);
    assert_eq!(answer("2024-02-29", NOW), ok);
    assert_eq!(answer("2027-01-15", NOW), error(400, "NO_STATEMENT_EXIST"));
    assert_eq!(answer("2099-01-01", NOW), error(400, "NO_STATEMENT_EXIST"));
    // Yesterday's bill is still being made until 10:00.
    let before_ten = NOW - 6 * 3600 - 1;
    assert_eq!(
        answer("2027-01-14", before_ten),
        error(400, "STATEMENT_CREATING")
    );
    assert_eq!(answer("2027-01-13", before_ten), ok);
    assert_eq!(answer("2027-01-14", before_ten + 1), ok);
    // Not a date.
    for date in [
        "2027-02-29",
        "2027-13-01",
        "2027-04-31",
        "2027-00-10",
        "2027-1-015",
        "20270114",
        "２０２７-01-14",
        "",
    ] {
        assert_eq!(answer(date, NOW), error(400, "PARAM_ERROR"), "{date:?}");
    }
    // The sub-merchant fund-flow bill follows the same rules.
    let c = core(Mode::Certificate);
    let sub = |date: &str| {
        let call = Call::<Value>::get("/v3/bill/sub-merchant-fundflowbill")
            .query("sub_mchid", "1900000109")
            .query("bill_date", date);
        let signed = c.sign(call).unwrap();
        code(&gw.handle(&signed.request, NOW).response)
    };
    assert_eq!(sub("2027-01-14"), "");
    assert_eq!(sub("2027-01-15"), "NO_STATEMENT_EXIST");
    assert_eq!(sub("2027-02-30"), "PARAM_ERROR");
    // Closing a day early serves its bills at once; the day must be a date.
    let close = |body: &[u8]| {
        let call = Call::<Value>::post(wechatpay_sandbox::CLOSE_DAY_PATH).json_bytes(body.to_vec());
        let signed = c.sign(call).unwrap();
        let reply = gw.handle(&signed.request, NOW).response;
        (reply.status().as_u16(), code(&reply))
    };
    assert_eq!(
        close(br#"{"bill_date":"2027-02-30"}"#),
        error(400, "PARAM_ERROR")
    );
    assert_eq!(close(b"not json"), error(400, "PARAM_ERROR"));
    assert_eq!(answer("2027-01-15", NOW), error(400, "NO_STATEMENT_EXIST"));
    assert_eq!(close(b"{}"), ok);
    assert_eq!(answer("2027-01-15", NOW), ok);
    assert_eq!(answer("2027-01-16", NOW), error(400, "NO_STATEMENT_EXIST"));
}

/// APIv2 faults, like APIv3's, apply only to a request that passed the checks: an unsigned (or
/// wrongly signed) request asking for `delay=60000` or `drop` is answered at once, refused.
#[test]
fn apiv2_faults_need_an_authenticated_request() {
    let c = core(Mode::Certificate);
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let call = || {
        wechatpay_core::v2::V2Call::new("/pay/orderquery")
            .field("appid", "wxd678efh567hg6787")
            .field("out_trade_no", "T-1")
    };
    for fault in ["delay=60000", "drop"] {
        let mut signed = c.sign_v2(call()).unwrap();
        signed.request.headers_mut().insert(
            wechatpay_sandbox::FAULT_HEADER,
            http::HeaderValue::from_static(if fault == "drop" {
                "drop"
            } else {
                "delay=60000"
            }),
        );
        // Signed: the fault is carried out.
        let reply = gw.handle(&signed.request, NOW);
        assert!(
            reply.delay.is_some() || reply.drop_connection,
            "{fault}: not applied to a signed request"
        );
        // The same with its sign altered, or with no sign: refused at once, no fault.
        let body = String::from_utf8(signed.request.body().clone()).unwrap();
        let start = body.find("<sign>").unwrap();
        let end = body.find("</sign>").unwrap() + "</sign>".len();
        for tampered in [
            body.replace("<out_trade_no>T-1<", "<out_trade_no>T-2<"),
            format!("{}{}", &body[..start], &body[end..]),
        ] {
            let mut req = signed.request.clone();
            *req.body_mut() = tampered.into_bytes();
            let reply = gw.handle(&req, NOW);
            assert_eq!(reply.delay, None, "{fault}");
            assert!(!reply.drop_connection, "{fault}");
            let fields = wechatpay_core::v2::from_xml(reply.response.body()).unwrap();
            assert_eq!(fields["return_code"], "FAIL", "{fault}");
        }
    }
}

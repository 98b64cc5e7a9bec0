//! Whole flows against the sandbox, as WeChat Pay plays them: an order paid, its notification
//! delivered to the merchant's axum endpoint and processed once, the query, a refund and its
//! notification.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use wechatpay_api::pay::transactions::Transaction;
use wechatpay_api::refund::domestic::Refund;
use wechatpay_axum::{Answer, Delivery, Notifications};
use wechatpay_core::notify::Notification;
use wechatpay_core::Call;
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::{Gateway, Mode, TestKeys, PAY_PATH};

#[derive(Clone)]
struct Merchant {
    notifications: Notifications,
    seen: Arc<Mutex<Vec<String>>>,
}

impl axum::extract::FromRef<Merchant> for Notifications {
    fn from_ref(m: &Merchant) -> Notifications {
        m.notifications.clone()
    }
}

async fn paid(State(m): State<Merchant>, delivery: Delivery) -> Answer {
    let seen = m.seen.clone();
    m.notifications
        .handle(delivery, |n: Notification<Transaction>| async move {
            let no = n.resource.out_trade_no.unwrap_or_default();
            seen.lock().unwrap().push(format!("{} {no}", n.event_type));
            Ok(())
        })
        .await
}

async fn refunded(State(m): State<Merchant>, delivery: Delivery) -> Answer {
    let seen = m.seen.clone();
    m.notifications
        .handle(delivery, |n: Notification<Refund>| async move {
            let no = n.resource.out_refund_no;
            seen.lock().unwrap().push(format!("{} {no}", n.event_type));
            Ok(())
        })
        .await
}

/// The merchant's endpoint on 127.0.0.1, serving until the runtime is dropped.
fn endpoint(
    rt: &tokio::runtime::Runtime,
    notifications: Notifications,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/notify/payment", post(paid))
        .route("/notify/refund", post(refunded))
        .with_state(Merchant {
            notifications,
            seen: seen.clone(),
        });
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

/// Wait (at most 10 s) until `seen` holds `n` entries.
fn wait_for(seen: &Mutex<Vec<String>>, n: usize) -> Vec<String> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let now = seen.lock().unwrap().clone();
        if now.len() >= n || Instant::now() > end {
            return now;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn pay_notify_query_refund_notify() {
    let gateway = Gateway::with_test_keys(Mode::Certificate);
    gateway.set_delivery_scale(0.001);
    let server = Server::start(gateway).unwrap();
    let keys = TestKeys::load();
    let core = keys
        .client_builder(&server.base_url(), Mode::Certificate)
        .apiv3_key(wechatpay_core::ApiV3Key::new(keys.apiv3_key).unwrap())
        .build()
        .unwrap();
    let client = wechatpay_ureq::Client::with_config(
        core,
        wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, seen) = endpoint(&rt, Notifications::new(client.callbacks().unwrap()));

    let order = json!({
        "appid": "wxd678efh567hg6787", "mchid": keys.mchid, "description": "flow",
        "out_trade_no": "FLOW-1", "notify_url": format!("{url}/notify/payment"),
        "amount": {"total": 100},
    });
    let created = client
        .send(Call::<Value>::post("/v3/pay/transactions/native").json(&order))
        .unwrap();
    assert!(created.data["code_url"].is_string());
    // Before payment: a refund is refused, as WeChat Pay refuses it.
    let refund = |no: &str| {
        json!({"out_trade_no": "FLOW-1", "out_refund_no": no,
            "notify_url": format!("{url}/notify/refund"),
            "amount": {"refund": 40, "total": 100, "currency": "CNY"}})
    };
    let early = client
        .send(Call::<Value>::post("/v3/refund/domestic/refunds").json(&refund("R-0")))
        .unwrap_err();
    assert_eq!(
        early.api_error().unwrap().code.as_deref(),
        Some("NOT_ENOUGH")
    );

    // The user pays: the control endpoint, signed with the merchant's credentials.
    let paid = client
        .send(Call::<Transaction>::post(PAY_PATH).path_param("out_trade_no", "FLOW-1"))
        .unwrap();
    assert_eq!(
        paid.data.trade_state.as_ref().map(|s| s.as_str()),
        Some("SUCCESS")
    );
    assert_eq!(
        wait_for(&seen, 1),
        ["TRANSACTION.SUCCESS FLOW-1".to_string()]
    );
    // Paying twice is refused; nothing more is delivered.
    let again = client
        .send(Call::<Value>::post(PAY_PATH).path_param("out_trade_no", "FLOW-1"))
        .unwrap_err();
    assert_eq!(again.api_error().unwrap().status.as_u16(), 404);

    let queried = client
        .send(
            Call::<Transaction>::get("/v3/pay/transactions/out-trade-no/{out_trade_no}")
                .path_param("out_trade_no", "FLOW-1")
                .query("mchid", keys.mchid),
        )
        .unwrap();
    assert_eq!(queried.data.transaction_id, paid.data.transaction_id);

    let created = client
        .send(Call::<Refund>::post("/v3/refund/domestic/refunds").json(&refund("R-1")))
        .unwrap();
    assert_eq!(
        created.data.status.as_ref().map(|s| s.as_str()),
        Some("PROCESSING")
    );
    let seen_now = wait_for(&seen, 2);
    assert_eq!(seen_now[1], "REFUND.SUCCESS R-1");
    let done = client
        .send(
            Call::<Refund>::get("/v3/refund/domestic/refunds/{out_refund_no}")
                .path_param("out_refund_no", "R-1"),
        )
        .unwrap();
    assert_eq!(
        done.data.status.as_ref().map(|s| s.as_str()),
        Some("SUCCESS")
    );
    // More than the rest is refused.
    let over = client
        .send(
            Call::<Value>::post("/v3/refund/domestic/refunds").json(&json!({
            "out_trade_no": "FLOW-1", "out_refund_no": "R-2",
            "amount": {"refund": 61, "total": 100, "currency": "CNY"}})),
        )
        .unwrap_err();
    assert_eq!(
        over.api_error().unwrap().code.as_deref(),
        Some("NOT_ENOUGH")
    );

    // Every attempt was accepted at the first try, each recorded.
    let log = server.gateway().deliveries();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log.iter().all(|d| d.attempt == 1 && d.accepted()),
        "{log:?}"
    );
}

#[test]
fn an_endpoint_that_fails_gets_the_notification_again() {
    let gateway = Gateway::with_test_keys(Mode::Certificate);
    gateway.set_delivery_scale(0.0001);
    let server = Server::start(gateway).unwrap();
    // An endpoint that fails twice, then takes it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let calls = Arc::new(Mutex::new(0));
    let c = calls.clone();
    let app = Router::new().route(
        "/n",
        post(move || {
            let c = c.clone();
            async move {
                let mut n = c.lock().unwrap();
                *n += 1;
                if *n < 3 {
                    http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    http::StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/n", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await });
    let order = json!({
        "appid": "wxd678efh567hg6787", "mchid": TestKeys::load().mchid, "description": "retry",
        "out_trade_no": "FLOW-2", "notify_url": url, "amount": {"total": 1},
    });
    let gw = server.gateway();
    let req = TestKeys::load()
        .client_builder(&server.base_url(), Mode::Certificate)
        .build()
        .unwrap()
        .sign(Call::<Value>::post("/v3/pay/transactions/native").json(&order))
        .unwrap()
        .request;
    assert!(gw.handle(&req, gw_now()).response.status().is_success());
    assert!(gw.pay("FLOW-2", gw_now()).is_some());
    let end = Instant::now() + Duration::from_secs(10);
    while gw.deliveries().len() < 3 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = gw.deliveries();
    let attempts: Vec<(usize, Option<u16>)> = log.iter().map(|d| (d.attempt, d.status)).collect();
    assert_eq!(attempts, [(1, Some(500)), (2, Some(500)), (3, Some(204))]);
}

#[test]
fn the_sandbox_delivers_to_loopback_only() {
    let gw = Gateway::with_test_keys(Mode::Certificate);
    let order = json!({
        "appid": "wxd678efh567hg6787", "mchid": TestKeys::load().mchid, "description": "far",
        "out_trade_no": "FLOW-3", "notify_url": "https://example.com/notify", "amount": {"total": 1},
    });
    let req = TestKeys::load()
        .client_builder("http://127.0.0.1:1", Mode::Certificate)
        .build()
        .unwrap()
        .sign(Call::<Value>::post("/v3/pay/transactions/native").json(&order))
        .unwrap()
        .request;
    assert!(gw.handle(&req, gw_now()).response.status().is_success());
    // Without a server, the notification waits in the queue for the test to take it.
    gw.pay("FLOW-3", gw_now()).unwrap();
    let queued = gw.take_notifications();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].url, "https://example.com/notify");
    assert_eq!(queued[0].event.event_type, "TRANSACTION.SUCCESS");
    assert!(gw.take_notifications().is_empty());
    // A running server records why it does not send it out.
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let gw = server.gateway();
    assert!(gw.handle(&req, gw_now()).response.status().is_success());
    gw.pay("FLOW-3", gw_now()).unwrap();
    let end = Instant::now() + Duration::from_secs(10);
    while gw.deliveries().is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = gw.deliveries();
    assert_eq!(log.len(), 1);
    assert!(log[0]
        .error
        .as_deref()
        .unwrap()
        .contains("127.0.0.1 or localhost"));
}

fn gw_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A client over the in-memory connector, and a paid order of `total` fen.
fn paid_order(
    gateway: &Arc<Gateway>,
    no: &str,
    total: i64,
    profit_sharing: bool,
) -> (
    wechatpay_core::BlockingClient<wechatpay_sandbox::connector::InMemory>,
    String,
) {
    let keys = TestKeys::load();
    let core = keys
        .client_builder("https://api.mch.weixin.qq.com", Mode::Certificate)
        .build()
        .unwrap();
    let client = wechatpay_core::BlockingClient::with_connector(
        core,
        wechatpay_sandbox::connector::InMemory::new(gateway.clone()),
        wechatpay_core::transport::Config::default(),
    );
    let order = json!({
        "appid": "wxd678efh567hg6787", "mchid": keys.mchid, "description": "funds",
        "out_trade_no": no, "notify_url": "https://example.com/n", "amount": {"total": total},
        "settle_info": {"profit_sharing": profit_sharing},
    });
    client
        .send(Call::<Value>::post("/v3/pay/transactions/native").json(&order))
        .unwrap();
    let paid = gateway.pay(no, gw_now()).unwrap();
    (client, paid["transaction_id"].as_str().unwrap().to_string())
}

fn code(e: wechatpay_core::CallError) -> String {
    e.api_error()
        .and_then(|a| a.code.clone())
        .unwrap_or_default()
}

#[test]
fn profit_sharing_states_and_refusals() {
    use wechatpay_api::profitsharing::{
        AddReceiverResponse, OrdersEntity, QueryOrderAmountResponse, ReturnOrdersEntity,
    };
    let gateway = Arc::new(Gateway::with_test_keys(Mode::Certificate));
    let (c, tx) = paid_order(&gateway, "PS-1", 1000, true);
    let receiver = json!({"appid": "wxd678efh567hg6787", "type": "MERCHANT_ID",
        "account": "1900000109", "relation_type": "PARTNER"});
    let share = |no: &str, amount: i64| {
        Call::<OrdersEntity>::post("/v3/profitsharing/orders").json(&json!({
            "appid": "wxd678efh567hg6787", "transaction_id": tx, "out_order_no": no,
            "receivers": [{"type": "MERCHANT_ID", "account": "1900000109", "amount": amount,
                "description": "分给商户"}],
            "unfreeze_unsplit": false}))
    };
    // Not a receiver yet.
    assert_eq!(
        code(c.send(share("P-0", 100)).unwrap_err()),
        "INVALID_REQUEST"
    );
    let added = c
        .send(Call::<AddReceiverResponse>::post("/v3/profitsharing/receivers/add").json(&receiver))
        .unwrap();
    assert_eq!(added.data.account, "1900000109");
    // More than 30 % of the order.
    assert_eq!(code(c.send(share("P-1", 301)).unwrap_err()), "NOT_ENOUGH");
    let order = c.send(share("P-2", 200)).unwrap().data;
    assert_eq!(order.state.as_str(), "PROCESSING");
    // The same out_order_no is the same request.
    assert_eq!(
        c.send(share("P-2", 200)).unwrap().data.order_id,
        order.order_id
    );
    let queried = c
        .send(
            Call::<OrdersEntity>::get("/v3/profitsharing/orders/{out_order_no}")
                .path_param("out_order_no", "P-2")
                .query("transaction_id", &tx),
        )
        .unwrap()
        .data;
    assert_eq!(queried.state.as_str(), "FINISHED");
    let amounts = |c: &wechatpay_core::BlockingClient<_>| {
        c.send(
            Call::<QueryOrderAmountResponse>::get(
                "/v3/profitsharing/transactions/{transaction_id}/amounts",
            )
            .path_param("transaction_id", &tx),
        )
        .unwrap()
        .data
        .unsplit_amount
    };
    assert_eq!(amounts(&c), 800);
    // A return: at most what the receiver got.
    let ret = |no: &str, amount: i64| {
        Call::<ReturnOrdersEntity>::post("/v3/profitsharing/return-orders").json(&json!({
            "out_order_no": "P-2", "out_return_no": no, "return_mchid": "1900000109",
            "amount": amount, "description": "退回"}))
    };
    assert_eq!(code(c.send(ret("B-0", 201)).unwrap_err()), "NOT_ENOUGH");
    let back = c.send(ret("B-1", 50)).unwrap().data;
    assert_eq!(back.amount, 50);
    let back = c
        .send(
            Call::<ReturnOrdersEntity>::get("/v3/profitsharing/return-orders/{out_return_no}")
                .path_param("out_return_no", "B-1")
                .query("out_order_no", "P-2"),
        )
        .unwrap()
        .data;
    assert_eq!(back.result.as_str(), "SUCCESS");
    // Unfreeze the rest, once.
    let unfreeze = |no: &str| {
        Call::<OrdersEntity>::post("/v3/profitsharing/orders/unfreeze").json(&json!({
            "transaction_id": tx, "out_order_no": no, "description": "解冻全部剩余资金"}))
    };
    let unfrozen = c.send(unfreeze("U-1")).unwrap().data;
    assert_eq!(unfrozen.receivers.unwrap()[0].amount, 800);
    assert_eq!(amounts(&c), 0);
    assert_eq!(
        code(c.send(unfreeze("U-2")).unwrap_err()),
        "INVALID_REQUEST"
    );
    assert_eq!(
        code(c.send(share("P-3", 10)).unwrap_err()),
        "INVALID_REQUEST"
    );
    // A receiver deleted twice; an order paid without the profit-sharing flag.
    let delete = || {
        Call::<Value>::post("/v3/profitsharing/receivers/delete").json(&json!({
            "appid": "wxd678efh567hg6787", "type": "MERCHANT_ID", "account": "1900000109"}))
    };
    c.send(delete()).unwrap();
    assert_eq!(code(c.send(delete()).unwrap_err()), "INVALID_REQUEST");
    let (c2, tx2) = paid_order(&gateway, "PS-2", 1000, false);
    let e = c2
        .send(
            Call::<Value>::post("/v3/profitsharing/orders/unfreeze").json(&json!({
            "transaction_id": tx2, "out_order_no": "U-9", "description": "x"})),
        )
        .unwrap_err();
    assert_eq!(code(e), "INVALID_REQUEST");
}

#[test]
fn merchant_transfers_wait_for_the_user_and_notify_their_end() {
    use wechatpay_api::fund_app::mch_transfer::{
        GetTransferBillsByOutBillNoResponse, TransferBillsCancelResponse, TransferBillsResponse,
    };
    use wechatpay_sandbox::CONFIRM_TRANSFER_PATH;
    let gateway = Arc::new(Gateway::with_test_keys(Mode::Certificate));
    let (c, _) = paid_order(&gateway, "T-0", 1, false);
    gateway.take_notifications();
    let transfer = |no: &str, amount: i64| {
        Call::<TransferBillsResponse>::post("/v3/fund-app/mch-transfer/transfer-bills").json(
            &json!({"appid": "wxd678efh567hg6787", "out_bill_no": no,
                "transfer_scene_id": "1000", "openid": "oUser", "transfer_amount": amount,
                "transfer_remark": "现金营销", "notify_url": "https://example.com/t",
                "transfer_scene_report_infos": [
                    {"info_type": "活动名称", "info_content": "新会员有礼"},
                    {"info_type": "奖励说明", "info_content": "注册会员抽奖一等奖"}]}),
        )
    };
    assert_eq!(
        code(c.send(transfer("TB-0", 9)).unwrap_err()),
        "PARAM_ERROR"
    );
    assert_eq!(
        code(c.send(transfer("TB-0", 200_000)).unwrap_err()),
        "PARAM_ERROR"
    );
    let created = c.send(transfer("TB-1", 100)).unwrap().data;
    assert_eq!(
        created.state.as_ref().map(|s| s.as_str()),
        Some("WAIT_USER_CONFIRM")
    );
    assert!(created.package_info.is_some());
    // The user confirms: SUCCESS, and the notification of its end.
    let confirmed = c
        .send(Call::<Value>::post(CONFIRM_TRANSFER_PATH).path_param("out_bill_no", "TB-1"))
        .unwrap();
    assert_eq!(confirmed.data["state"], "SUCCESS");
    let query = |no: &str| {
        Call::<GetTransferBillsByOutBillNoResponse>::get(
            "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}",
        )
        .path_param("out_bill_no", no)
    };
    // Confirmed once: a second confirmation is refused.
    let twice = c
        .send(Call::<Value>::post(CONFIRM_TRANSFER_PATH).path_param("out_bill_no", "TB-1"))
        .unwrap_err();
    assert_eq!(code(twice), "INVALID_REQUEST");
    let done = c.send(query("TB-1")).unwrap().data;
    assert_eq!(done.state.as_ref().map(|s| s.as_str()), Some("SUCCESS"));
    let cancel = |no: &str| {
        Call::<TransferBillsCancelResponse>::post(
            "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}/cancel",
        )
        .path_param("out_bill_no", no)
    };
    // A finished transfer cannot be cancelled; one waiting for the user can.
    assert_eq!(code(c.send(cancel("TB-1")).unwrap_err()), "INVALID_REQUEST");
    c.send(transfer("TB-2", 100)).unwrap();
    let cancelling = c.send(cancel("TB-2")).unwrap().data;
    assert_eq!(
        cancelling.state.as_ref().map(|s| s.as_str()),
        Some("CANCELING")
    );
    let cancelled = c.send(query("TB-2")).unwrap().data;
    assert_eq!(
        cancelled.state.as_ref().map(|s| s.as_str()),
        Some("CANCELLED")
    );
    assert_eq!(code(c.send(query("TB-9")).unwrap_err()), "NOT_FOUND");
    // Two ends, two notifications, each typed as WeChat Pay sends them.
    let sent = gateway.take_notifications();
    let states: Vec<&str> = sent
        .iter()
        .map(|o| o.event.resource["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["SUCCESS", "CANCELLED"]);
    assert!(sent
        .iter()
        .all(|o| o.event.event_type == "MCHTRANSFER.BILL.FINISHED"));
}

/// A day of payments and refunds in the sandbox, its bills downloaded and read, and the trade
/// bill reconciled with the orders made: they agree; with one amount changed and one order
/// left out of the records, exactly those two differ.
#[test]
fn a_sandbox_day_reconciles_with_the_orders_made() {
    use wechatpay_api::bill::{
        fundflowbill, tradebill, BillType, GetFundFlowBillRequest, GetTradeBillRequest,
    };
    use wechatpay_core::bill::{BillRows, Difference, Fen, Reconciler, Record};
    use wechatpay_core::FixedClock;

    // 2026-12-06 16:00:00 in Beijing.
    const NOW: i64 = 1_796_544_000;
    let gateway = Arc::new(Gateway::with_test_keys(Mode::Certificate));
    let keys = TestKeys::load();
    let client = wechatpay_core::BlockingClient::with_connector(
        keys.client_builder("https://api.mch.weixin.qq.com", Mode::Certificate)
            .clock(FixedClock(NOW))
            .build()
            .unwrap(),
        wechatpay_sandbox::connector::InMemory::new(gateway.clone()).clock(FixedClock(NOW)),
        wechatpay_core::transport::Config::default(),
    );
    let mut records = Vec::new();
    for (i, total) in [1_000i64, 2_550, 99, 120_000, 1].into_iter().enumerate() {
        let no = format!("DAY-{i}");
        let order = json!({
            "appid": "wxd678efh567hg6787", "mchid": keys.mchid, "description": "一杯咖啡",
            "out_trade_no": no, "notify_url": "https://example.com/n", "amount": {"total": total},
        });
        client
            .send(Call::<Value>::post("/v3/pay/transactions/native").json(&order))
            .unwrap();
        gateway.pay(&no, NOW - 3600 + i as i64).unwrap();
        records.push(Record::new(&no, Fen(total), "SUCCESS"));
    }
    // An order never paid: in the records as such, not in the bill.
    let unpaid = json!({
        "appid": "wxd678efh567hg6787", "mchid": keys.mchid, "description": "unpaid",
        "out_trade_no": "DAY-UNPAID", "notify_url": "https://example.com/n", "amount": {"total": 5},
    });
    client
        .send(Call::<Value>::post("/v3/pay/transactions/native").json(&unpaid))
        .unwrap();
    records.push(Record::new("DAY-UNPAID", Fen(5), "NOTPAY"));
    for (no, refund, total) in [("DAY-1", 2_550, 2_550), ("DAY-3", 20_000, 120_000)] {
        let body = json!({
            "out_trade_no": no, "out_refund_no": format!("R-{no}"),
            "amount": {"refund": refund, "total": total, "currency": "CNY"},
        });
        client
            .send(Call::<Value>::post("/v3/refund/domestic/refunds").json(&body))
            .unwrap();
        records.push(Record::new(no, Fen(refund), "REFUND").refund_no(format!("R-{no}")));
    }

    // Today's bill is not there before the day is closed.
    let query = GetTradeBillRequest {
        bill_date: "2026-12-06".into(),
        bill_type: Some(BillType::All),
        ..Default::default()
    };
    let e = client.send(tradebill::get(&query)).unwrap_err();
    assert_eq!(
        e.api_error().unwrap().code.as_deref(),
        Some("NO_STATEMENT_EXIST")
    );
    gateway.close_day("2026-12-06");
    let info = client.send(tradebill::get(&query)).unwrap().data;
    let (bill, _) = client.download_bill(&info, false, Vec::new()).unwrap();
    let mut rows = BillRows::new(&bill[..]);
    let rows: Vec<_> = rows.by_ref().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 7, "five payments and two refunds");
    let reconcile = |records: &[Record]| {
        let mut r = Reconciler::new(records.to_vec());
        rows.iter().for_each(|row| r.add(row));
        r.finish()
    };
    let r = reconcile(&records);
    assert!(r.agrees(), "{r}");
    assert_eq!(r.matched, 7);

    let mut changed = records.clone();
    changed[0].amount = Fen(1_001);
    changed.remove(4);
    let r = reconcile(&changed);
    let found: Vec<_> = r
        .differences
        .iter()
        .map(|d| match d {
            Difference::Amount { bill, records } => {
                (bill.out_trade_no.clone(), bill.amount, records.amount)
            }
            Difference::NotInRecords { bill } => (bill.out_trade_no.clone(), bill.amount, Fen(0)),
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(
        found,
        [
            ("DAY-0".to_string(), Fen(1_000), Fen(1_001)),
            ("DAY-4".to_string(), Fen(1), Fen(0))
        ]
    );

    // The other bill types and the fund-flow bill add up too.
    for (bill_type, expected) in [(BillType::Success, 5), (BillType::Refund, 2)] {
        let info = client
            .send(tradebill::get(&GetTradeBillRequest {
                bill_type: Some(bill_type),
                ..query.clone()
            }))
            .unwrap()
            .data;
        let (bill, _) = client.download_bill(&info, false, Vec::new()).unwrap();
        let mut rows = BillRows::new(&bill[..]);
        let n = rows.by_ref().map(Result::unwrap).count();
        assert!(rows.summary().unwrap().agrees());
        assert_eq!(n, expected);
    }
    let info = client
        .send(fundflowbill::get(&GetFundFlowBillRequest {
            bill_date: "2026-12-06".into(),
            ..Default::default()
        }))
        .unwrap()
        .data;
    let (bill, _) = client.download_bill(&info, false, Vec::new()).unwrap();
    let mut rows = BillRows::new(&bill[..]);
    let n = rows.by_ref().map(Result::unwrap).count();
    let summary = rows.summary().unwrap();
    assert!(summary.agrees(), "{summary:?}");
    assert_eq!(n, 12, "payment and fee for each of five, and two refunds");
}

//! One scenario suite, run through every transport against the sandbox on loopback.

use serde_json::{json, Value};
use wechatpay_api::payscore::payafter_orders::*;
use wechatpay_core::connector::{BlockingConnector, Connector, FromConfig};
use wechatpay_core::transport::Config;
use wechatpay_core::{
    ApiResponse, ApiV3Key, AsyncClient, BlockingClient, Call, CallError, Client as Core,
    ResponseError, TransportErrorKind, VerifyError,
};
use wechatpay_sandbox::connector::InMemory;
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::{Gateway, Mode, TestKeys};

/// A blocking view of a client over a connector: the suite below runs once per connector.
pub trait Transport: Sized {
    /// A client for `core` with a `timeout_ms` timeout and a `max_body` body limit.
    fn make(core: Core, timeout_ms: u64, max_body: usize) -> Self;
    /// The same, for a client of the sandbox `server` (the in-memory connector needs its
    /// gateway).
    fn make_for(server: &Server, core: Core, timeout_ms: u64, max_body: usize) -> Self {
        let _ = server;
        Self::make(core, timeout_ms, max_body)
    }
    fn send<T: Send + 'static>(&self, call: Call<T>) -> Result<ApiResponse<T>, CallError>;
}

/// A connector for the suite: built from the settings, or over a sandbox's gateway.
pub trait TestConnector: Sized {
    fn make(config: &Config, server: Option<&Server>) -> Self;
}

macro_rules! from_config {
    ($($c:ty),*) => {$(
        impl TestConnector for $c {
            fn make(config: &Config, _: Option<&Server>) -> Self {
                <$c as FromConfig>::from_config(config).unwrap()
            }
        }
    )*};
}
from_config!(
    wechatpay_ureq::Connector,
    wechatpay_hyper::Connector,
    wechatpay_reqwest::Connector
);

impl TestConnector for InMemory {
    fn make(_: &Config, server: Option<&Server>) -> Self {
        let server = server.expect("the in-memory connector talks to a sandbox's gateway");
        InMemory::new(server.shared_gateway())
    }
}

fn config(timeout_ms: u64, max_body: usize) -> Config {
    Config::default()
        .timeout(std::time::Duration::from_millis(timeout_ms))
        .max_body_bytes(max_body as u64)
        .proxy(wechatpay_core::transport::Proxy::None)
}

impl<C: BlockingConnector + TestConnector> Transport for BlockingClient<C> {
    fn make(core: Core, timeout_ms: u64, max_body: usize) -> Self {
        let cfg = config(timeout_ms, max_body);
        BlockingClient::with_connector(core, C::make(&cfg, None), cfg)
    }
    fn make_for(server: &Server, core: Core, timeout_ms: u64, max_body: usize) -> Self {
        let cfg = config(timeout_ms, max_body);
        BlockingClient::with_connector(core, C::make(&cfg, Some(server)), cfg)
    }
    fn send<T: Send + 'static>(&self, call: Call<T>) -> Result<ApiResponse<T>, CallError> {
        BlockingClient::send(self, call)
    }
}

/// An async client with a runtime to block on.
pub struct Blocking<C> {
    pub rt: tokio::runtime::Runtime,
    pub client: AsyncClient<C>,
}

impl<C: Connector + TestConnector> Blocking<C> {
    fn with(core: Core, timeout_ms: u64, max_body: usize, server: Option<&Server>) -> Self {
        let cfg = config(timeout_ms, max_body);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let connector = C::make(&cfg, server);
        let client = AsyncClient::with_connector(core, connector, cfg);
        Blocking { rt, client }
    }
}

impl<C: Connector + TestConnector> Transport for Blocking<C> {
    fn make(core: Core, timeout_ms: u64, max_body: usize) -> Self {
        Self::with(core, timeout_ms, max_body, None)
    }
    fn make_for(server: &Server, core: Core, timeout_ms: u64, max_body: usize) -> Self {
        Self::with(core, timeout_ms, max_body, Some(server))
    }
    fn send<T: Send + 'static>(&self, call: Call<T>) -> Result<ApiResponse<T>, CallError> {
        self.rt.block_on(self.client.send(call))
    }
}

/// The hyper client with a runtime to block on.
pub type HyperBlocking = Blocking<wechatpay_hyper::Connector>;
/// The reqwest client with a runtime to block on.
pub type ReqwestBlocking = Blocking<wechatpay_reqwest::Connector>;

pub use wechatpay_sandbox::seed::APPID;
pub use wechatpay_sandbox::seed::SERVICE_ID as SERVICE;

pub fn start(mode: Mode) -> Server {
    Server::start(Gateway::with_test_keys(mode)).expect("sandbox starts on 127.0.0.1")
}

pub fn client<C: Transport>(server: &Server, trust: Mode) -> C {
    C::make_for(
        server,
        TestKeys::load()
            .client_builder(&server.base_url(), trust)
            .build()
            .unwrap(),
        2_000,
        1 << 20,
    )
}

/// What every connector passes against the sandbox: the pay-after family, Native and 204,
/// the typed payment flows, routing errors, classified faults, SIGN_ERROR and the key modes.
pub fn suite<C: Transport>(tag: &str) {
    let server = start(Mode::Certificate);
    let c: C = client(&server, Mode::Both);
    payafter_family(&c, tag);
    native_and_204(&c, tag);
    typed_payments(&c, &server, tag);
    routing_errors(&c);
    let server = start(Mode::Both);
    faults(&client::<C>(&server, Mode::Both), &server);
    sign_error::<C>(&server);
    key_modes::<C>();
}

pub fn seed_body() -> CompleteRequest {
    wechatpay_sandbox::seed::body()
}

pub fn create_body(no: &str) -> CreateRequest {
    CreateRequest {
        appid: APPID.into(),
        out_order_no: no.into(),
        service_id: SERVICE.into(),
        service_introduction: Some("充电宝租借".into()),
        risk_amount: Some(9900),
        ..Default::default()
    }
}

pub fn query_of(no: &str) -> GetQuery {
    GetQuery {
        service_id: Some(SERVICE.into()),
        appid: Some(APPID.into()),
        out_order_no: Some(no.into()),
        ..Default::default()
    }
}

fn api(e: CallError) -> (u16, String, Option<Value>) {
    match e {
        CallError::Response(ResponseError::Api(a)) => {
            (a.status.as_u16(), a.code.unwrap_or_default(), a.detail)
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn verify_kind<T: std::fmt::Debug>(r: Result<ApiResponse<T>, CallError>) -> VerifyError {
    match r {
        Err(e) => {
            assert!(e.may_have_reached_server());
            e.verify_error()
                .cloned()
                .unwrap_or_else(|| panic!("expected a verification error, got {e:?}"))
        }
        Ok(ok) => panic!("expected a verification error, got {ok:?}"),
    }
}

/// The pay-after family: create (idempotent), complete with the seed body, query, sync, cancel,
/// and an invalid transition.
pub fn payafter_family<C: Transport>(c: &C, tag: &str) {
    let no = format!("ORDER/{tag} 甲");
    let created = c.send(create(&create_body(&no))).unwrap();
    assert_eq!(created.data.out_order_no.as_deref(), Some(no.as_str()));
    let order_id = created.data.order_id.clone().unwrap();
    // Idempotent on out_order_no.
    let again = c.send(create(&create_body(&no))).unwrap();
    assert_eq!(again.data.order_id.as_deref(), Some(order_id.as_str()));

    let done = c.send(complete(&no, &seed_body())).unwrap();
    assert_eq!(done.data.order_id.as_deref(), Some(order_id.as_str()));
    assert_eq!(done.data.mchid.as_deref(), Some("1900000001"));
    assert!(done.verified_by.is_some());
    assert!(done.request_id.is_some());

    let q = c.send(get(&query_of(&no))).unwrap().data;
    assert_eq!(q.state, Some(State::Finished));
    assert_eq!(q.total_amount, Some(1400));
    assert_eq!(q.fees.as_ref().map(Vec::len), Some(2));
    assert_eq!(q.discounts.unwrap()[0].discount_amount, Some(300));
    let by_id = GetQuery {
        query_id: Some(order_id.clone()),
        out_order_no: None,
        ..query_of(&no)
    };
    assert_eq!(
        c.send(get(&by_id)).unwrap().data.out_order_no.as_deref(),
        Some(no.as_str())
    );

    let synced = c
        .send(sync(
            &no,
            &SyncRequest {
                appid: Some(APPID.into()),
                service_id: Some(SERVICE.into()),
                r#type: Some(Type::OrderPaid),
                detail: Some(Detail {
                    paid_time: Some("20270115130000".into()),
                }),
            },
        ))
        .unwrap();
    assert_eq!(synced.data.order_id.as_deref(), Some(order_id.as_str()));
    assert_eq!(
        c.send(get(&query_of(&no))).unwrap().data.state,
        Some(State::UserPaid)
    );

    // Cancel a fresh order, then completing it is refused with a code.
    let no2 = format!("ORDER-{tag}-2");
    c.send(create(&create_body(&no2))).unwrap();
    let cancelled = c
        .send(cancel(
            &no2,
            &CancelRequest {
                appid: APPID.into(),
                service_id: SERVICE.into(),
                reason: "用户取消".into(),
            },
        ))
        .unwrap();
    assert_eq!(cancelled.data.out_order_no.as_deref(), Some(no2.as_str()));
    assert_eq!(
        c.send(get(&query_of(&no2))).unwrap().data.state,
        Some(State::Revoked)
    );
    let (status, code, _) = api(c.send(complete(&no2, &seed_body())).unwrap_err());
    assert_eq!((status, code.as_str()), (400, "ORDER_CANCELED"));
    // A wrong total is a PARAM_ERROR with detail.
    let mut bad = seed_body();
    bad.total_amount = Some(1);
    let no3 = format!("ORDER-{tag}-3");
    c.send(create(&create_body(&no3))).unwrap();
    let (status, code, detail) = api(c.send(complete(&no3, &bad)).unwrap_err());
    assert_eq!((status, code.as_str()), (400, "PARAM_ERROR"));
    assert_eq!(detail.unwrap()["value"], "total_amount");
    // Querying an unknown order.
    let (status, code, _) = api(c.send(get(&query_of("NOPE"))).unwrap_err());
    assert_eq!((status, code.as_str()), (404, "ORDER_NOT_EXIST"));
}

/// Native order, query, and close (204 with an empty, signed body).
pub fn native_and_204<C: Transport>(c: &C, tag: &str) {
    let no = format!("NATIVE-{tag}");
    let r = c.send(Call::<Value>::post("/v3/pay/transactions/native").json(&json!({
        "appid": APPID, "mchid": "1900000001", "description": "测试", "out_trade_no": no,
        "notify_url": "https://example.com/notify", "amount": {"total": 100, "currency": "CNY"}
    }))).unwrap();
    assert!(r.data["code_url"]
        .as_str()
        .unwrap()
        .starts_with("weixin://"));
    let q = c
        .send(
            Call::<Value>::get("/v3/pay/transactions/out-trade-no/{out_trade_no}")
                .path_param("out_trade_no", &no)
                .query("mchid", "1900000001"),
        )
        .unwrap();
    assert_eq!(q.data["trade_state"], "NOTPAY");
    let closed = c
        .send(
            Call::<()>::post("/v3/pay/transactions/out-trade-no/{out_trade_no}/close")
                .path_param("out_trade_no", &no)
                .json(&json!({"mchid": "1900000001"})),
        )
        .unwrap();
    assert_eq!(closed.status, 204);
    assert!(
        closed.verified_by.is_some(),
        "the empty body of a 204 is verified"
    );
    let q = c
        .send(
            Call::<Value>::get("/v3/pay/transactions/out-trade-no/{out_trade_no}")
                .path_param("out_trade_no", &no)
                .query("mchid", "1900000001"),
        )
        .unwrap();
    assert_eq!(q.data["trade_state"], "CLOSED");
}

/// Unknown path, wrong method, invalid body.
pub fn routing_errors<C: Transport>(c: &C) {
    let (s, code, _) = api(c.send(Call::<Value>::get("/v3/no/such/api")).unwrap_err());
    assert_eq!((s, code.as_str()), (404, "NOT_FOUND"));
    let (s, code, _) = api(c
        .send(Call::<Value>::delete("/v3/pay/transactions/native"))
        .unwrap_err());
    assert_eq!((s, code.as_str()), (405, "METHOD_NOT_ALLOWED"));
    let (s, code, detail) = api(c
        .send(Call::<Value>::post("/v3/payscore/payafter-orders").json(&json!({"appid": APPID})))
        .unwrap_err());
    assert_eq!((s, code.as_str()), (400, "PARAM_ERROR"));
    assert_eq!(detail.unwrap()["location"], "body");
}

/// Every fault, classified. The client given has the usual 2 s timeout; a second one with a
/// 300 ms timeout meets the slow answer.
pub fn faults<C: Transport>(c: &C, server: &Server) {
    let f = |fault: &str| {
        c.send(
            Call::<Value>::get("/v3/certificates").header(wechatpay_sandbox::FAULT_HEADER, fault),
        )
    };
    assert!(matches!(
        verify_kind(f("tampered-body")),
        VerifyError::SignatureMismatch { .. }
    ));
    assert!(matches!(
        verify_kind(f("wrong-signature")),
        VerifyError::SignatureMismatch { .. }
    ));
    assert!(matches!(verify_kind(f("probe")), VerifyError::Probe { .. }));
    assert!(matches!(
        verify_kind(f("stale-timestamp")),
        VerifyError::StaleTimestamp { .. }
    ));
    assert!(matches!(
        verify_kind(f("unknown-serial")),
        VerifyError::UnknownSerial { .. }
    ));
    assert!(matches!(
        verify_kind(f("missing-signature")),
        VerifyError::MissingHeader { .. }
    ));
    let (s, code, _) = api(f("system-error").unwrap_err());
    assert_eq!((s, code.as_str()), (500, "SYSTEM_ERROR"));
    let impatient = C::make_for(
        server,
        TestKeys::load()
            .client_builder(&server.base_url(), Mode::Both)
            .build()
            .unwrap(),
        300,
        1 << 20,
    );
    let e = impatient
        .send(
            Call::<Value>::get("/v3/certificates")
                .header(wechatpay_sandbox::FAULT_HEADER, "delay=1000"),
        )
        .unwrap_err();
    assert_eq!(
        e.transport_kind(),
        Some(TransportErrorKind::Timeout),
        "{e:?}"
    );
    assert!(e.may_have_reached_server());
    let e = f("drop").unwrap_err();
    assert_eq!(
        e.transport_kind(),
        Some(TransportErrorKind::ConnectionClosed),
        "{e:?}"
    );
    assert!(e.may_have_reached_server());
    let e = f("oversized=2000000").unwrap_err();
    assert_eq!(
        e.transport_kind(),
        Some(TransportErrorKind::BodyTooLarge),
        "{e:?}"
    );
    // A short delay within the timeout is fine.
    f("delay=50").unwrap();
    // Nothing lingers: the next plain call works.
    c.send(Call::<Value>::get("/v3/certificates")).unwrap();
}

/// A merchant key the gateway does not know: 401 SIGN_ERROR.
pub fn sign_error<C: Transport>(server: &Server) {
    let keys = TestKeys::load();
    let impostor = wechatpay_core::Merchant::new(
        keys.mchid,
        keys.merchant_serial,
        // A key that is neither the merchant's nor a configured platform key (the builder
        // refuses a merchant key that is also a platform key).
        wechatpay_core::PrivateKey::from_pem(keys.rotated_key_pem).unwrap(),
    )
    .unwrap();
    let core = Core::builder(impostor)
        .platform_keys(keys.platform_keys(Mode::Both))
        .base_url(server.base_url())
        .build()
        .unwrap();
    let c = C::make_for(server, core, 2_000, 1 << 20);
    let (s, code, _) = api(c.send(Call::<Value>::get("/v3/certificates")).unwrap_err());
    assert_eq!((s, code.as_str()), (401, "SIGN_ERROR"));
}

/// Connection refused: certainly not sent.
pub fn connection_refused<C: Transport>() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let core = TestKeys::load()
        .client_builder(&format!("http://127.0.0.1:{port}"), Mode::Both)
        .build()
        .unwrap();
    let c = C::make(core, 2_000, 1 << 20);
    let e = c.send(Call::<Value>::get("/v3/certificates")).unwrap_err();
    assert_eq!(
        e.transport_kind(),
        Some(TransportErrorKind::Connect),
        "{e:?}"
    );
    assert!(!e.may_have_reached_server());
}

/// Certificate mode, public key mode, and both (migration): the answer is signed by the key the
/// request names in `Wechatpay-Serial`.
pub fn key_modes<C: Transport>() {
    let keys = TestKeys::load();
    let cert = start(Mode::Certificate);
    let c: C = client(&cert, Mode::Certificate);
    let r = c.send(Call::<Value>::get("/v3/certificates")).unwrap();
    assert_eq!(r.verified_by.as_deref(), Some(keys.platform_serial));
    // Decrypt the certificate the sandbox serves with the APIv3 key.
    let enc = &r.data["data"][0]["encrypt_certificate"];
    let pem = (ApiV3Key::new(keys.apiv3_key).unwrap())
        .decrypt(
            enc["nonce"].as_str().unwrap(),
            enc["associated_data"].as_str().unwrap(),
            enc["ciphertext"].as_str().unwrap(),
        )
        .unwrap();
    assert_eq!(pem, keys.platform_cert_pem.as_bytes());

    let pk = start(Mode::PublicKey);
    let c: C = client(&pk, Mode::PublicKey);
    let r = c.send(create(&create_body("PK-1"))).unwrap();
    assert_eq!(r.verified_by.as_deref(), Some(keys.public_key_id));
    // Public-key-only merchants have no certificates.
    let (s, code, _) = api(c.send(Call::<Value>::get("/v3/certificates")).unwrap_err());
    assert_eq!((s, code.as_str()), (404, "RESOURCE_NOT_EXISTS"));
    // A client that trusts only a certificate cannot verify a public-key gateway.
    let c: C = client(&pk, Mode::Certificate);
    assert!(matches!(
        verify_kind(c.send(create(&create_body("PK-2")))),
        VerifyError::UnknownSerial { .. }
    ));

    // Migration: the gateway has both; a client trusting both names the public key and gets
    // answers signed with it, or the certificate when it asks for that.
    let both = start(Mode::Both);
    let c: C = client(&both, Mode::Both);
    let r = c.send(create(&create_body("MIG-1"))).unwrap();
    assert_eq!(r.verified_by.as_deref(), Some(keys.public_key_id));
    let r = c
        .send(create(&create_body("MIG-2")).wechatpay_serial(keys.platform_serial))
        .unwrap();
    assert_eq!(r.verified_by.as_deref(), Some(keys.platform_serial));
    // A client still on certificates keeps working during the migration.
    let c: C = client(&both, Mode::Certificate);
    let r = c.send(create(&create_body("MIG-3"))).unwrap();
    assert_eq!(r.verified_by.as_deref(), Some(keys.platform_serial));
}

/// Speaking TLS to a plain-HTTP server: a TLS failure, not a connect or connection failure.
pub fn tls_failure<C: Transport>() -> CallError {
    let server = start(Mode::Both);
    let url = server.base_url().replace("http://", "https://");
    let c = C::make(
        TestKeys::load()
            .client_builder(&url, Mode::Both)
            .build()
            .unwrap(),
        2_000,
        1 << 20,
    );
    let e = c.send(Call::<Value>::get("/v3/certificates")).unwrap_err();
    assert_eq!(e.transport_kind(), Some(TransportErrorKind::Tls), "{e:?}");
    e
}

/// The typed payment flows: JSAPI create (with the client's pay-sign) → query → the user pays →
/// query by both ids → refund → refund query → over-refund refused; Native create → query →
/// close → query; APP and H5 create; closing a paid order refused.
pub fn typed_payments<C: Transport>(c: &C, server: &Server, tag: &str) {
    use wechatpay_api::pay::transactions as tx;
    use wechatpay_api::refund::domestic as refund;
    let mchid = "1900000001";
    let order = |no: &str, total: i64| tx::jsapi::PrepayRequest {
        appid: APPID.into(),
        mchid: mchid.into(),
        description: "充电宝租借".into(),
        out_trade_no: no.into(),
        notify_url: "https://merchant.example/notify".into(),
        amount: tx::Amount {
            total,
            currency: Some("CNY".into()),
        },
        payer: tx::Payer {
            openid: Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let no = format!("JSAPI-{tag}");
    let prepay = c.send(tx::jsapi(&order(&no, 880))).unwrap().data.prepay_id;
    assert!(prepay.starts_with("wx"));
    // The client side's payment parameters for that prepay id.
    let core = TestKeys::load()
        .client_builder(&server.base_url(), Mode::Certificate)
        .build()
        .unwrap();
    let params = core.jsapi_params(APPID, &prepay).unwrap();
    assert_eq!(params.package, format!("prepay_id={prepay}"));
    let q = c
        .send(tx::get_by_out_trade_no(
            &no,
            &tx::QueryOrderByOutTradeNoRequest {
                mchid: mchid.into(),
            },
        ))
        .unwrap()
        .data;
    assert_eq!(q.trade_state, Some(tx::TradeState::Notpay));
    let amount = q.amount.unwrap();
    assert_eq!(amount.total, Some(880));
    assert_eq!(
        amount.payer_total, None,
        "an unpaid order has no payer_total"
    );
    let paid = server.gateway().pay(&no, core.now()).unwrap();
    let transaction_id = paid["transaction_id"].as_str().unwrap().to_string();
    let q = c
        .send(tx::get_by_transaction_id(
            &transaction_id,
            &tx::QueryOrderByIdRequest {
                mchid: mchid.into(),
            },
        ))
        .unwrap()
        .data;
    assert_eq!(q.trade_state, Some(tx::TradeState::Success));
    assert_eq!(q.out_trade_no.as_deref(), Some(no.as_str()));
    assert!(q.success_time.unwrap().unix().is_some());
    // Refunds.
    let r = c
        .send(refund::refunds(&refund::CreateRequest {
            transaction_id: Some(transaction_id.clone()),
            out_refund_no: format!("RF-{tag}"),
            reason: Some("用户退货".into()),
            amount: refund::AmountReq {
                refund: 300,
                total: 880,
                currency: "CNY".into(),
                ..Default::default()
            },
            ..Default::default()
        }))
        .unwrap()
        .data;
    assert_eq!(r.amount.refund, 300);
    assert_eq!(r.out_trade_no, no);
    let rq = c
        .send(refund::get_refunds_by_out_refund_no(
            &format!("RF-{tag}"),
            &Default::default(),
        ))
        .unwrap()
        .data;
    assert_eq!(rq.refund_id, r.refund_id);
    assert_eq!(rq.status, Some(refund::Status::Success));
    let (status, code, _) = api(c
        .send(refund::refunds(&refund::CreateRequest {
            out_trade_no: Some(no.clone()),
            out_refund_no: format!("RF-{tag}-2"),
            amount: refund::AmountReq {
                refund: 600,
                total: 880,
                currency: "CNY".into(),
                ..Default::default()
            },
            ..Default::default()
        }))
        .unwrap_err());
    assert_eq!((status, code.as_str()), (403, "NOT_ENOUGH"));
    // A paid order cannot be closed.
    let (status, code, _) = api(c
        .send(tx::close(
            &no,
            &tx::CloseOrderRequest {
                mchid: mchid.into(),
            },
        ))
        .unwrap_err());
    assert_eq!((status, code.as_str()), (400, "ORDERPAID"));

    // Native: create → query → close (204) → query.
    let native_no = format!("NATIVE-T-{tag}");
    let n = c
        .send(tx::native(&tx::native::PrepayRequest {
            appid: APPID.into(),
            mchid: mchid.into(),
            description: "扫码支付".into(),
            out_trade_no: native_no.clone(),
            notify_url: "https://merchant.example/notify".into(),
            amount: tx::Amount {
                total: 100,
                ..Default::default()
            },
            ..Default::default()
        }))
        .unwrap();
    assert!(n.data.code_url.starts_with("weixin://"));
    let by_no = |no: &str| {
        c.send(tx::get_by_out_trade_no(
            no,
            &tx::QueryOrderByOutTradeNoRequest {
                mchid: mchid.into(),
            },
        ))
        .unwrap()
        .data
        .trade_state
    };
    assert_eq!(by_no(&native_no), Some(tx::TradeState::Notpay));
    let closed = c
        .send(tx::close(
            &native_no,
            &tx::CloseOrderRequest {
                mchid: mchid.into(),
            },
        ))
        .unwrap();
    assert_eq!(closed.status, 204);
    assert_eq!(by_no(&native_no), Some(tx::TradeState::Closed));

    // APP and H5.
    let app = c
        .send(tx::app(&tx::app::PrepayRequest {
            appid: APPID.into(),
            mchid: mchid.into(),
            description: "APP".into(),
            out_trade_no: format!("APP-{tag}"),
            notify_url: "https://merchant.example/notify".into(),
            amount: tx::Amount {
                total: 1,
                ..Default::default()
            },
            ..Default::default()
        }))
        .unwrap();
    assert!(app.data.prepay_id.starts_with("wx"));
    let h5 = c
        .send(tx::h5(&tx::h5::PrepayRequest {
            appid: APPID.into(),
            mchid: mchid.into(),
            description: "H5".into(),
            out_trade_no: format!("H5-{tag}"),
            notify_url: "https://merchant.example/notify".into(),
            amount: tx::Amount {
                total: 1,
                ..Default::default()
            },
            scene_info: tx::h5::SceneInfo {
                payer_client_ip: "203.0.113.9".into(),
                h5_info: tx::H5Info {
                    r#type: "Wap".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        }))
        .unwrap();
    assert!(h5.data.h5_url.starts_with("https://"));
    // A JSAPI order without payer.openid is a PARAM_ERROR naming the field.
    let mut bad = order(&format!("JSAPI-{tag}-bad"), 1);
    bad.payer.openid = None;
    let (status, code, detail) = api(c.send(tx::jsapi(&bad)).unwrap_err());
    assert_eq!((status, code.as_str()), (400, "PARAM_ERROR"));
    assert_eq!(detail.unwrap()["value"], "payer.openid");
}

/// Every printable ASCII character, a space and some non-ASCII ones in a path template, a path
/// parameter, a query value and a raw query: each call either arrives with its signature
/// verified (the sandbox checks `Authorization` against the target it receives before routing,
/// so an unknown path answers 404 and a rewritten target 401 `SIGN_ERROR`), or is refused before
/// it is sent. The core refuses only templates and raw queries with a character RFC 3986 does
/// not allow in a path or a query; what the transport refuses (`InvalidRequest`, not sent) is
/// returned as `(where, character)`. Some odd but valid whole raw queries must arrive too.
pub fn targets_arrive_as_signed<C: Transport>(c: &C, tag: &str) -> Vec<(&'static str, char)> {
    let mut refused = Vec::new();
    for ch in (0x21u8..0x7f).map(char::from).chain([' ', 'é', '中', '😀']) {
        let calls = [
            ("template", Call::<Value>::get(format!("/v3/no/a{ch}b"))),
            (
                "path",
                Call::<Value>::get("/v3/no/such/{x}").path_param("x", format!("a{ch}b")),
            ),
            (
                "query",
                Call::<Value>::get("/v3/no/such/api").query("q", format!("a{ch}b")),
            ),
            (
                "raw",
                Call::<Value>::get("/v3/no/such/api").raw_query(&format!("q=a{ch}b")),
            ),
        ];
        for (place, call) in calls {
            match c.send(call) {
                Err(CallError::Response(ResponseError::Api(a))) if a.status.as_u16() == 404 => {}
                Err(CallError::Build(_)) => {
                    // RFC 3986: a query's characters; a path's are the same without `?`.
                    let query = ch.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?%".contains(ch);
                    let allowed = match place {
                        "raw" => query,
                        "template" => query && ch != '?',
                        _ => true,
                    };
                    assert!(!allowed, "{tag}: {place} with {ch:?} refused");
                }
                Err(CallError::Transport(t))
                    if t.kind == TransportErrorKind::InvalidRequest
                        && !t.may_have_reached_server =>
                {
                    refused.push((place, ch))
                }
                other => panic!("{tag}: {place} with {ch:?}: {other:?}"),
            }
        }
    }
    // Odd but valid raw queries, whole: empty, bare separators, stray or unfinished escapes.
    for q in ["", "&", "=", "?", "/", "%", "a%2", "%zz", "a=1&a=2&"] {
        let call = Call::<Value>::get("/v3/no/such/api").raw_query(q);
        match c.send(call) {
            Err(CallError::Response(ResponseError::Api(a))) if a.status.as_u16() == 404 => {}
            other => panic!("{tag}: raw query {q:?}: {other:?}"),
        }
    }
    refused
}

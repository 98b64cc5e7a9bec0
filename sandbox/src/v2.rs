//! APIv2 (XML) on the gateway: the request's `sign` (MD5 or HMAC-SHA256) checked with the APIv2
//! key, the client certificate required on its paths, answers signed with the request's
//! algorithm; micropay, unifiedorder, orderquery, closeorder, refund, refundquery and
//! downloadbill kept in memory; any other path answered `SUCCESS` generically (its request
//! checked the same way). Faults: `wrong-signature`, `missing-signature` (no `sign`),
//! `tampered-body`, `system-error` (`return_code` FAIL), `delay=`, `drop`.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Mutex;

use http::{Request, Response, StatusCode};
use wechatpay_core::v2::{self, ApiV2Key, Fields, SignType};

use crate::{Fault, Gateway, Ids, Reply};

/// Put into a request's extensions by a TLS listener when the peer presented a client
/// certificate its CA signed (the listener refuses the handshake otherwise). The APIv2 paths
/// that need the merchant's client certificate answer FAIL without it.
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    /// The certificate (DER).
    pub der: Vec<u8>,
}

struct Refund {
    out_refund_no: String,
    refund_id: String,
    refund_fee: u64,
    time: String,
}

struct Order {
    transaction_id: String,
    out_trade_no: String,
    appid: String,
    total_fee: u64,
    trade_type: String,
    /// NOTPAY, SUCCESS, CLOSED or REFUND.
    state: &'static str,
    time_end: Option<String>,
    refunds: Vec<Refund>,
}

impl Order {
    fn refunded(&self) -> u64 {
        self.refunds.iter().map(|r| r.refund_fee).sum()
    }
}

#[derive(Default)]
pub(crate) struct V2State {
    orders: Mutex<HashMap<String, Order>>,
    /// Transaction, prepay and refund ids, and nonces.
    ids: Ids,
}

/// `yyyyMMddHHmmss` in Beijing time.
fn compact_time(now: i64) -> String {
    crate::rfc3339(now)
        .chars()
        .take(19)
        .filter(char::is_ascii_digit)
        .collect()
}

type Outcome = Result<Fields, Fields>;

fn fail_return(msg: &str) -> Fields {
    let mut f = Fields::new();
    f.insert("return_code".into(), "FAIL".into());
    f.insert("return_msg".into(), msg.into());
    f
}

fn business_fail(code: &str, des: &str) -> Fields {
    let mut f = Fields::new();
    f.insert("result_code".into(), "FAIL".into());
    f.insert("err_code".into(), code.into());
    f.insert("err_code_des".into(), des.into());
    f
}

fn xml_reply(status: StatusCode, fields: &Fields) -> Reply {
    let response = Response::builder()
        .status(status)
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(v2::to_xml(fields).into_bytes())
        .unwrap_or_else(|_| Response::new(Vec::new()));
    Reply {
        response,
        delay: None,
        drop_connection: false,
    }
}

fn need<'a>(fields: &'a Fields, name: &str) -> Result<&'a str, Fields> {
    fields
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| fail_return(&format!("缺少参数 {name}")))
}

fn amount(fields: &Fields, name: &str) -> Result<u64, Fields> {
    need(fields, name)?
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| fail_return(&format!("{name} 应为正整数 (分)")))
}

impl V2State {
    pub(crate) fn new(instance: u32) -> Self {
        Self {
            ids: Ids::new(instance, 10),
            ..Self::default()
        }
    }

    fn orders(&self) -> std::sync::MutexGuard<'_, HashMap<String, Order>> {
        self.orders.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The order named by `out_trade_no` or `transaction_id`.
    fn find<'a>(orders: &'a mut HashMap<String, Order>, f: &Fields) -> Option<&'a mut Order> {
        if let Some(no) = f.get("out_trade_no").filter(|v| !v.is_empty()) {
            return orders.get_mut(no);
        }
        let id = f.get("transaction_id").filter(|v| !v.is_empty())?;
        orders.values_mut().find(|o| &o.transaction_id == id)
    }

    fn order_fields(o: &Order) -> Fields {
        let mut a = Fields::new();
        a.insert("appid".into(), o.appid.clone());
        a.insert("out_trade_no".into(), o.out_trade_no.clone());
        a.insert("transaction_id".into(), o.transaction_id.clone());
        a.insert("total_fee".into(), o.total_fee.to_string());
        a.insert("trade_type".into(), o.trade_type.clone());
        a.insert("fee_type".into(), "CNY".into());
        if o.state != "NOTPAY" && o.state != "CLOSED" {
            a.insert("openid".into(), "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into());
            a.insert("is_subscribe".into(), "N".into());
            a.insert("bank_type".into(), "OTHERS".into());
            a.insert("cash_fee".into(), o.total_fee.to_string());
        }
        if let Some(t) = &o.time_end {
            a.insert("time_end".into(), t.clone());
        }
        a
    }

    fn micropay(&self, f: &Fields, now: i64) -> Outcome {
        let no = need(f, "out_trade_no")?;
        let total_fee = amount(f, "total_fee")?;
        need(f, "body")?;
        let code = need(f, "auth_code")?;
        if code.len() != 18 || !code.starts_with('1') || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(business_fail("AUTH_CODE_INVALID", "付款码无效，请重新扫码"));
        }
        let mut orders = self.orders();
        if let Some(o) = orders.get(no) {
            return if o.state == "NOTPAY" {
                Err(business_fail("INVALID_REQUEST", "订单号重复"))
            } else {
                Err(business_fail("ORDERPAID", "该订单已支付"))
            };
        }
        let order = Order {
            transaction_id: self.ids.next("420000"),
            out_trade_no: no.into(),
            appid: f.get("appid").cloned().unwrap_or_default(),
            total_fee,
            trade_type: "MICROPAY".into(),
            state: "SUCCESS",
            time_end: Some(compact_time(now)),
            refunds: Vec::new(),
        };
        let a = Self::order_fields(&order);
        orders.insert(no.into(), order);
        Ok(a)
    }

    fn unifiedorder(&self, f: &Fields) -> Outcome {
        let no = need(f, "out_trade_no")?;
        let total_fee = amount(f, "total_fee")?;
        for k in ["body", "spbill_create_ip", "notify_url", "trade_type"] {
            need(f, k)?;
        }
        let trade_type = need(f, "trade_type")?;
        if !["JSAPI", "NATIVE", "APP", "MWEB"].contains(&trade_type) {
            return Err(fail_return("trade_type 应为 JSAPI、NATIVE、APP 或 MWEB"));
        }
        if trade_type == "JSAPI" && f.get("openid").is_none_or(|o| o.is_empty()) {
            return Err(business_fail(
                "PARAM_ERROR",
                "trade_type=JSAPI时（即JSAPI支付），必须传openid",
            ));
        }
        let mut orders = self.orders();
        if let Some(o) = orders.get(no) {
            if o.state != "NOTPAY" {
                return Err(business_fail("ORDERPAID", "该订单已支付"));
            }
            if o.total_fee != total_fee {
                return Err(business_fail("INVALID_REQUEST", "201 商户订单号重复"));
            }
        } else {
            orders.insert(
                no.into(),
                Order {
                    transaction_id: self.ids.next("420000"),
                    out_trade_no: no.into(),
                    appid: f.get("appid").cloned().unwrap_or_default(),
                    total_fee,
                    trade_type: trade_type.into(),
                    state: "NOTPAY",
                    time_end: None,
                    refunds: Vec::new(),
                },
            );
        }
        let mut a = Fields::new();
        a.insert("trade_type".into(), trade_type.into());
        a.insert(
            "prepay_id".into(),
            format!("wx{}", self.ids.next("20270115")),
        );
        match trade_type {
            "NATIVE" => {
                a.insert(
                    "code_url".into(),
                    format!("weixin://wxpay/bizpayurl?pr={no}"),
                );
            }
            "MWEB" => {
                a.insert(
                    "mweb_url".into(),
                    "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=sandbox".into(),
                );
            }
            _ => {}
        }
        Ok(a)
    }

    fn orderquery(&self, f: &Fields) -> Outcome {
        let mut orders = self.orders();
        let o = Self::find(&mut orders, f)
            .ok_or_else(|| business_fail("ORDERNOTEXIST", "此交易订单号不存在"))?;
        let mut a = Self::order_fields(o);
        a.insert("trade_state".into(), o.state.into());
        a.insert(
            "trade_state_desc".into(),
            match o.state {
                "SUCCESS" => "支付成功",
                "REFUND" => "转入退款",
                "CLOSED" => "已关闭",
                _ => "未支付",
            }
            .into(),
        );
        Ok(a)
    }

    fn closeorder(&self, f: &Fields) -> Outcome {
        let no = need(f, "out_trade_no")?;
        let mut orders = self.orders();
        let o = orders
            .get_mut(no)
            .ok_or_else(|| business_fail("ORDERNOTEXIST", "此交易订单号不存在"))?;
        match o.state {
            "NOTPAY" | "CLOSED" => {
                o.state = "CLOSED";
                Ok(Fields::new())
            }
            _ => Err(business_fail("ORDERPAID", "订单已支付，不能发起关单")),
        }
    }

    /// Pay a NOTPAY order (what a payer does); the sandbox's tests call it.
    /// The payments made and refunds created in `[from, to)` (Unix seconds), as bill entries.
    fn bill_entries(&self, from: i64, to: i64) -> Vec<crate::bills::Entry> {
        let at = |t: &str| {
            let t: String = t.chars().filter(char::is_ascii_digit).collect();
            let text = format!(
                "{}-{}-{} {}:{}:{}",
                t.get(..4)?,
                t.get(4..6)?,
                t.get(6..8)?,
                t.get(8..10)?,
                t.get(10..12)?,
                t.get(12..14)?
            );
            wechatpay_core::bill::BeijingTime::parse(&text).map(|b| b.unix())
        };
        let within = |t: Option<i64>| t.filter(|t| (from..to).contains(t));
        let mut out = Vec::new();
        for o in self.orders().values() {
            let payment = |time: i64| crate::bills::Entry {
                time,
                appid: o.appid.clone(),
                transaction_id: o.transaction_id.clone(),
                out_trade_no: o.out_trade_no.clone(),
                openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
                trade_type: match o.trade_type.as_str() {
                    "MICROPAY" => "MICROPAY",
                    "JSAPI" => "JSAPI",
                    "APP" => "APP",
                    "MWEB" => "MWEB",
                    _ => "NATIVE",
                },
                description: String::new(),
                attach: String::new(),
                total: o.total_fee as i64,
                refund: None,
            };
            if let Some(t) = within(o.time_end.as_deref().and_then(at)) {
                out.push(payment(t));
            }
            for r in &o.refunds {
                if let Some(t) = within(at(&r.time)) {
                    let mut e = payment(t);
                    e.refund = Some(crate::bills::RefundPart {
                        refund_id: r.refund_id.clone(),
                        out_refund_no: r.out_refund_no.clone(),
                        amount: r.refund_fee as i64,
                        status: "SUCCESS",
                    });
                    out.push(e);
                }
            }
        }
        out
    }

    pub(crate) fn pay(&self, out_trade_no: &str, now: i64) -> Option<Fields> {
        let mut orders = self.orders();
        let o = orders.get_mut(out_trade_no)?;
        if o.state == "NOTPAY" {
            o.state = "SUCCESS";
            o.time_end = Some(compact_time(now));
        }
        Some(Self::order_fields(o))
    }

    fn refund(&self, f: &Fields, now: i64) -> Outcome {
        let out_refund_no = need(f, "out_refund_no")?;
        let total_fee = amount(f, "total_fee")?;
        let refund_fee = amount(f, "refund_fee")?;
        let mut orders = self.orders();
        let next = || self.ids.next("503000");
        let o = Self::find(&mut orders, f)
            .ok_or_else(|| business_fail("ORDERNOTEXIST", "订单不存在"))?;
        if !matches!(o.state, "SUCCESS" | "REFUND") {
            return Err(business_fail("TRADE_STATE_ERROR", "订单状态错误"));
        }
        if o.total_fee != total_fee {
            return Err(business_fail(
                "INVALID_REQUEST",
                "订单金额与total_fee不一致",
            ));
        }
        let existing = o
            .refunds
            .iter()
            .position(|r| r.out_refund_no == out_refund_no);
        let index = match existing {
            Some(i) => i,
            None => {
                if o.refunded() + refund_fee > o.total_fee {
                    return Err(business_fail("NOTENOUGH", "订单可退金额不足"));
                }
                o.refunds.push(Refund {
                    out_refund_no: out_refund_no.into(),
                    refund_id: next(),
                    refund_fee,
                    time: crate::rfc3339(now).replace('T', " ")[..19].to_string(),
                });
                o.state = "REFUND";
                o.refunds.len() - 1
            }
        };
        let r = &o.refunds[index];
        let mut a = Self::order_fields(o);
        a.insert("out_refund_no".into(), r.out_refund_no.clone());
        a.insert("refund_id".into(), r.refund_id.clone());
        a.insert("refund_fee".into(), r.refund_fee.to_string());
        a.insert("cash_refund_fee".into(), r.refund_fee.to_string());
        Ok(a)
    }

    fn refundquery(&self, f: &Fields) -> Outcome {
        let mut orders = self.orders();
        let by_refund = ["out_refund_no", "refund_id"]
            .iter()
            .find_map(|k| f.get(*k).filter(|v| !v.is_empty()).map(|v| (*k, v.clone())));
        let o = match &by_refund {
            Some((k, v)) => orders.values_mut().find(|o| {
                o.refunds.iter().any(|r| match *k {
                    "out_refund_no" => &r.out_refund_no == v,
                    _ => &r.refund_id == v,
                })
            }),
            None => Self::find(&mut orders, f),
        };
        let o = o
            .filter(|o| !o.refunds.is_empty())
            .ok_or_else(|| business_fail("REFUNDNOTEXIST", "退款订单查询失败"))?;
        let mut a = Self::order_fields(o);
        let listed: Vec<&Refund> = o
            .refunds
            .iter()
            .filter(|r| match &by_refund {
                Some((k, v)) if *k == "out_refund_no" => &r.out_refund_no == v,
                Some((_, v)) => &r.refund_id == v,
                None => true,
            })
            .collect();
        a.insert("refund_count".into(), listed.len().to_string());
        a.insert("refund_fee".into(), o.refunded().to_string());
        for (i, r) in listed.iter().enumerate() {
            a.insert(format!("out_refund_no_{i}"), r.out_refund_no.clone());
            a.insert(format!("refund_id_{i}"), r.refund_id.clone());
            a.insert(format!("refund_fee_{i}"), r.refund_fee.to_string());
            a.insert(format!("refund_status_{i}"), "SUCCESS".into());
            a.insert(format!("refund_success_time_{i}"), r.time.clone());
            a.insert(format!("refund_recv_accout_{i}"), "支付用户的零钱".into());
        }
        Ok(a)
    }

    /// The refund notification of `out_refund_no` as WeChat Pay POSTs it.
    pub(crate) fn refund_notification(
        &self,
        key: &ApiV2Key,
        mchid: &str,
        out_refund_no: &str,
    ) -> Option<Vec<u8>> {
        let orders = self.orders();
        let (o, r) = orders.values().find_map(|o| {
            o.refunds
                .iter()
                .find(|r| r.out_refund_no == out_refund_no)
                .map(|r| (o, r))
        })?;
        let mut info = Fields::new();
        info.insert("transaction_id".into(), o.transaction_id.clone());
        info.insert("out_trade_no".into(), o.out_trade_no.clone());
        info.insert("refund_id".into(), r.refund_id.clone());
        info.insert("out_refund_no".into(), r.out_refund_no.clone());
        info.insert("total_fee".into(), o.total_fee.to_string());
        info.insert("refund_fee".into(), r.refund_fee.to_string());
        info.insert("settlement_refund_fee".into(), r.refund_fee.to_string());
        info.insert("refund_status".into(), "SUCCESS".into());
        info.insert("success_time".into(), r.time.clone());
        info.insert("refund_recv_accout".into(), "支付用户的零钱".into());
        info.insert(
            "refund_account".into(),
            "REFUND_SOURCE_RECHARGE_FUNDS".into(),
        );
        info.insert("refund_request_source".into(), "API".into());
        let inner = v2::to_xml(&info).replacen("<xml>", "<root>", 1);
        let inner = format!("{}</root>", inner.trim_end().trim_end_matches("</xml>"));
        let mut outer = Fields::new();
        outer.insert("return_code".into(), "SUCCESS".into());
        outer.insert("appid".into(), o.appid.clone());
        outer.insert("mch_id".into(), mchid.into());
        outer.insert("nonce_str".into(), self.ids.next("sandboxnotify"));
        outer.insert("req_info".into(), v2::encrypt_req_info(key, &inner));
        Some(v2::to_xml(&outer).into_bytes())
    }

    /// The payment notification of `out_trade_no` (paid), signed with `key`.
    pub(crate) fn payment_notification(
        &self,
        key: &ApiV2Key,
        mchid: &str,
        out_trade_no: &str,
    ) -> Option<Vec<u8>> {
        let orders = self.orders();
        let o = orders
            .get(out_trade_no)
            .filter(|o| o.state != "NOTPAY" && o.state != "CLOSED")?;
        let mut f = Self::order_fields(o);
        f.insert("return_code".into(), "SUCCESS".into());
        f.insert("result_code".into(), "SUCCESS".into());
        f.insert("mch_id".into(), mchid.into());
        f.insert("nonce_str".into(), self.ids.next("sandboxnotify"));
        let sign = v2::sign(&f, key, SignType::Md5);
        f.insert("sign".into(), sign);
        Some(v2::to_xml(&f).into_bytes())
    }
}

/// The bill of `date` (`yyyyMMdd`), of `bill_type` (`ALL` by default, `SUCCESS`, `REFUND`):
/// a text bill of the day's APIv2 payments and refunds (a day without any has a made-up past of
/// 20 payments), gzip when `tar_type=GZIP`; a date from today on (Beijing time) has no bill yet,
/// as at WeChat Pay, unless the day was closed early ([`Gateway::close_day`]).
fn downloadbill(gw: &Gateway, f: &Fields, now: i64) -> Result<Vec<u8>, Fields> {
    let state = &gw.v2;
    let date = need(f, "bill_date")?;
    let dashed = match (date.get(..4), date.get(4..6), date.get(6..)) {
        (Some(y), Some(m), Some(d)) if date.len() == 8 => format!("{y}-{m}-{d}"),
        _ => return Err(fail_return("invalid bill_date")),
    };
    if !crate::bills::is_calendar_date(&dashed) {
        return Err(fail_return("invalid bill_date"));
    }
    if date >= &compact_time(now)[..8] && !gw.bills.is_closed(&dashed) {
        return Err(fail_return("No Bill Exist"));
    }
    let start = crate::bills::day_start(&dashed).unwrap_or(0);
    let mut entries = state.bill_entries(start, start + 86_400);
    if entries.is_empty() {
        entries = crate::bills::made_up("V2", &dashed, 20);
    }
    crate::bills::in_bill_order(&mut entries);
    let bill_type = f.get("bill_type").map_or("ALL", String::as_str);
    let mchid = f.get("mch_id").map_or("", String::as_str);
    let text = crate::bills::trade_bill(mchid, bill_type, &entries);
    if f.get("tar_type").map(String::as_str) == Some("GZIP") {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text)
            .and_then(|_| gz.finish())
            .map_err(|_| fail_return("SYSTEMERROR"))
    } else {
        Ok(text)
    }
}

/// What the request asked for, once its checks pass.
fn checked<B: AsRef<[u8]>>(gw: &Gateway, req: &Request<B>) -> Result<(Fields, SignType), Fields> {
    let path = req.uri().path();
    if req.method() != http::Method::POST {
        return Err(fail_return("APIv2 requests are POST"));
    }
    let fields = v2::from_xml(req.body().as_ref()).map_err(|_| fail_return("XML格式错误"))?;
    if v2::needs_client_certificate(path) && req.extensions().get::<ClientCertificate>().is_none() {
        return Err(fail_return(
            "需要商户API证书 (client certificate required: call over the TLS listener with apiclient_cert)",
        ));
    }
    let mchid = &gw.config.mchid;
    let named: Vec<&String> = ["mch_id", "mchid", "combine_mch_id"]
        .iter()
        .filter_map(|k| fields.get(*k))
        .collect();
    if named.is_empty() || named.iter().any(|v| *v != mchid) {
        return Err(fail_return("mch_id参数错误"));
    }
    if !v2::NONCELESS_PATHS.contains(&path) && fields.get("nonce_str").is_none_or(|n| n.is_empty())
    {
        return Err(fail_return("缺少参数 nonce_str"));
    }
    // The algorithm the request declares (`sign_type`; MD5 when absent), as WeChat Pay reads it.
    let sign_type =
        v2::SignType::declared(&fields).ok_or_else(|| fail_return("sign_type 参数错误"))?;
    v2::check_sign(&fields, &gw.config.apiv2_key, sign_type)
        .map_err(|_| fail_return("签名错误"))?;
    Ok((fields, sign_type))
}

/// Handle an APIv2 request (any path outside `/v3/`), and say whether it passed the request
/// checks (merchant, nonce, sign): faults apply only to a request that did.
pub(crate) fn handle<B: AsRef<[u8]>>(
    gw: &Gateway,
    req: &Request<B>,
    fault: Option<&Fault>,
    now: i64,
) -> (Reply, bool) {
    let (fields, sign_type) = match checked(gw, req) {
        Ok(ok) => ok,
        Err(answer) => return (xml_reply(StatusCode::OK, &answer), false),
    };
    (answer(gw, req, &fields, sign_type, fault, now), true)
}

/// The answer to a checked APIv2 request.
fn answer<B>(
    gw: &Gateway,
    req: &Request<B>,
    fields: &Fields,
    sign_type: SignType,
    fault: Option<&Fault>,
    now: i64,
) -> Reply {
    let path = req.uri().path().to_string();
    if fault == Some(&Fault::SystemError) {
        return xml_reply(StatusCode::OK, &fail_return("SYSTEMERROR"));
    }
    let state = &gw.v2;
    let outcome = match path.as_str() {
        "/pay/micropay" => state.micropay(fields, now),
        "/pay/unifiedorder" => state.unifiedorder(fields),
        "/pay/orderquery" => state.orderquery(fields),
        "/pay/closeorder" => state.closeorder(fields),
        "/secapi/pay/refund" => state.refund(fields, now),
        "/pay/refundquery" => state.refundquery(fields),
        "/pay/downloadbill" => match downloadbill(gw, fields, now) {
            Ok(bill) => {
                let response = Response::builder()
                    .header("Content-Type", "text/plain; charset=utf-8")
                    .body(bill)
                    .unwrap_or_else(|_| Response::new(Vec::new()));
                return Reply {
                    response,
                    delay: None,
                    drop_connection: false,
                };
            }
            Err(f) => Err(f),
        },
        _ => Ok(Fields::new()),
    };
    let mut answer = match outcome {
        Ok(mut a) => {
            a.insert("result_code".into(), "SUCCESS".into());
            a
        }
        Err(a) if a.contains_key("return_code") => return xml_reply(StatusCode::OK, &a),
        Err(a) => a,
    };
    answer.insert("return_code".into(), "SUCCESS".into());
    answer.insert("return_msg".into(), "OK".into());
    for k in ["appid", "mch_id", "mchid", "sub_mch_id", "device_info"] {
        if let Some(v) = fields.get(k) {
            answer.entry(k.into()).or_insert_with(|| v.clone());
        }
    }
    if !v2::answers_unsigned(&path) {
        answer.insert("nonce_str".into(), state.ids.next("sandboxnonce"));
        if sign_type == SignType::HmacSha256 {
            answer.insert("sign_type".into(), "HMAC-SHA256".into());
        }
        match fault {
            Some(Fault::MissingSignatureHeaders) => {}
            Some(Fault::WrongSignature) => {
                let mut other = answer.clone();
                other.insert("nonce_str".into(), "another".into());
                answer.insert(
                    "sign".into(),
                    v2::sign(&other, &gw.config.apiv2_key, sign_type),
                );
            }
            _ => {
                let sign = v2::sign(&answer, &gw.config.apiv2_key, sign_type);
                answer.insert("sign".into(), sign);
                if fault == Some(&Fault::TamperedBody) {
                    answer.insert("return_msg".into(), "tampered".into());
                }
            }
        }
    }
    xml_reply(StatusCode::OK, &answer)
}

//! Direct-merchant payments (JSAPI, APP, H5, Native), their queries and close, and refunds, in
//! memory. A payment is marked paid with [`crate::Gateway::pay`] (the user's side of the flow).

use std::collections::HashMap;
use std::sync::Mutex;

use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{api_error, lock, ok, param_error, rfc3339, Answer, Ids};

/// The payment kinds, by the last segment of their path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Jsapi,
    App,
    H5,
    Native,
}

impl Kind {
    pub(crate) fn from_segment(s: &str) -> Option<Kind> {
        Some(match s {
            "jsapi" => Kind::Jsapi,
            "app" => Kind::App,
            "h5" => Kind::H5,
            "native" => Kind::Native,
            _ => return None,
        })
    }

    fn trade_type(self) -> &'static str {
        match self {
            Kind::Jsapi => "JSAPI",
            Kind::App => "APP",
            Kind::H5 => "MWEB",
            Kind::Native => "NATIVE",
        }
    }
}

#[derive(Debug, Clone)]
struct Tx {
    kind: Kind,
    body: Value,
    appid: String,
    out_trade_no: String,
    description: String,
    total: i64,
    state: &'static str,
    prepay_id: String,
    transaction_id: Option<String>,
    openid: Option<String>,
    success_time: Option<String>,
    /// When it was paid (Unix seconds).
    paid_at: Option<i64>,
    refunded: i64,
    notify_url: String,
}

#[derive(Debug, Clone)]
struct Refund {
    refund_id: String,
    out_refund_no: String,
    transaction_id: String,
    out_trade_no: String,
    refund: i64,
    total: i64,
    create_time: String,
    /// When it was created (Unix seconds).
    created_at: i64,
    /// Completed: `SUCCESS` on every query (the answer that creates it says `PROCESSING`).
    done: bool,
}

/// A paid order, as profit sharing sees it.
pub(crate) struct Paid {
    pub(crate) total: i64,
    /// Created with `settle_info.profit_sharing = true`.
    pub(crate) profit_sharing: bool,
}

#[derive(Default)]
pub(crate) struct Payments {
    mchid: String,
    txs: Mutex<HashMap<String, Tx>>,
    refunds: Mutex<HashMap<String, Refund>>,
    /// Prepay, transaction and refund ids.
    ids: Ids,
}

#[derive(Deserialize)]
struct Amount {
    total: i64,
    currency: Option<String>,
}

#[derive(Deserialize)]
struct Payer {
    #[serde(default)]
    openid: String,
}

#[derive(Deserialize)]
struct OrderBody {
    appid: String,
    mchid: String,
    description: String,
    out_trade_no: String,
    notify_url: String,
    amount: Amount,
    payer: Option<Payer>,
    scene_info: Option<Value>,
}

#[derive(Deserialize)]
struct CloseBody {
    mchid: String,
}

#[derive(Deserialize)]
struct RefundAmount {
    refund: i64,
    total: i64,
    currency: String,
}

#[derive(Deserialize)]
struct RefundBody {
    notify_url: Option<String>,
    transaction_id: Option<String>,
    out_trade_no: Option<String>,
    out_refund_no: String,
    amount: RefundAmount,
}

/// WeChat Pay takes `https://` callback addresses; the sandbox takes `http://` on loopback too,
/// so that a local endpoint receives the notifications.
pub(crate) fn notify_url_allowed(url: &str) -> bool {
    url.starts_with("https://") || crate::outbox::deliverable(url).is_ok()
}

fn not_found() -> Answer {
    api_error(404, "ORDER_NOT_EXIST", "订单不存在")
}

impl Payments {
    pub(crate) fn new(mchid: &str, instance: u32) -> Self {
        Self {
            mchid: mchid.to_string(),
            ids: Ids::new(instance, 10),
            ..Self::default()
        }
    }

    pub(crate) fn create(&self, kind: Kind, body: &[u8]) -> Answer {
        let raw: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return param_error("body", "", &format!("请求体不是 JSON: {e}")),
        };
        let b: OrderBody = match serde_json::from_value(raw.clone()) {
            Ok(b) => b,
            Err(e) => {
                let msg = e.to_string();
                let field = msg.split('`').nth(1).unwrap_or("").to_string();
                return param_error(
                    "body",
                    &field,
                    &format!("输入源“/body”映射到值字段失败: {msg}"),
                );
            }
        };
        if b.mchid != self.mchid {
            return param_error("body", "mchid", "mchid 与请求商户不一致");
        }
        if b.amount.total <= 0 {
            return param_error("body", "amount.total", "amount.total 必须大于 0");
        }
        if b.amount.currency.as_deref().is_some_and(|c| c != "CNY") {
            return param_error("body", "amount.currency", "币种只支持 CNY");
        }
        if !notify_url_allowed(&b.notify_url) {
            return param_error("body", "notify_url", "notify_url 必须是 https 地址");
        }
        if b.description.is_empty() {
            return param_error("body", "description", "description 不能为空");
        }
        match kind {
            Kind::Jsapi if b.payer.as_ref().is_none_or(|p| p.openid.is_empty()) => {
                return param_error("body", "payer.openid", "JSAPI 下单需要 payer.openid");
            }
            Kind::H5
                if b.scene_info
                    .as_ref()
                    .and_then(|s| s.get("payer_client_ip"))
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty) =>
            {
                return param_error(
                    "body",
                    "scene_info.payer_client_ip",
                    "H5 下单需要 scene_info.payer_client_ip",
                );
            }
            _ => {}
        }
        let mut txs = lock(&self.txs);
        if let Some(existing) = txs.get(&b.out_trade_no) {
            // Idempotent for the same order; a different one under the same number is refused.
            if existing.body != raw || existing.kind != kind {
                return api_error(
                    400,
                    "INVALID_REQUEST",
                    "商户订单号重复，请核实商户订单号是否重复提交",
                );
            }
            if existing.state != "NOTPAY" {
                return api_error(400, "ORDER_CLOSED", "订单已关闭或已支付");
            }
        } else {
            let prepay_id = format!("wx{}", self.ids.next("SANDBOXPREPAY"));
            txs.insert(
                b.out_trade_no.clone(),
                Tx {
                    kind,
                    body: raw,
                    appid: b.appid,
                    out_trade_no: b.out_trade_no.clone(),
                    description: b.description,
                    total: b.amount.total,
                    state: "NOTPAY",
                    prepay_id,
                    transaction_id: None,
                    openid: b.payer.map(|p| p.openid),
                    success_time: None,
                    paid_at: None,
                    refunded: 0,
                    notify_url: b.notify_url.clone(),
                },
            );
        }
        let tx = &txs[&b.out_trade_no];
        ok(match kind {
            Kind::Jsapi | Kind::App => json!({"prepay_id": tx.prepay_id}),
            Kind::H5 => {
                json!({"h5_url": format!("https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={}&package=1", tx.prepay_id)})
            }
            Kind::Native => {
                json!({"code_url": format!("weixin://wxpay/bizpayurl?pr=SBX{}", tx.prepay_id.len())})
            }
        })
    }

    fn view(&self, t: &Tx) -> Value {
        let mut v = json!({
            "appid": t.appid, "mchid": self.mchid, "out_trade_no": t.out_trade_no,
            "description": t.description, "trade_type": t.kind.trade_type(), "trade_state": t.state,
            "trade_state_desc": match t.state { "NOTPAY" => "未支付", "SUCCESS" => "支付成功", "CLOSED" => "已关闭", "REFUND" => "转入退款", _ => "" },
            "amount": {"total": t.total, "currency": "CNY"},
        });
        if let Some(id) = &t.transaction_id {
            v["transaction_id"] = json!(id);
            v["bank_type"] = json!("OTHERS");
            v["success_time"] = json!(t.success_time);
            v["amount"] = json!({"total": t.total, "payer_total": t.total, "currency": "CNY", "payer_currency": "CNY"});
            v["payer"] =
                json!({"openid": t.openid.clone().unwrap_or_else(|| "oSANDBOXpayer".into())});
        }
        v
    }

    fn check_mchid(&self, query: &str) -> Result<(), Answer> {
        match crate::query_pairs(query).get("mchid") {
            Some(m) if *m == self.mchid => Ok(()),
            Some(_) => Err(param_error("query", "mchid", "mchid 与请求商户不一致")),
            None => Err(param_error("query", "mchid", "缺少 mchid")),
        }
    }

    pub(crate) fn query_by_out_trade_no(&self, no: &str, query: &str) -> Answer {
        if let Err(a) = self.check_mchid(query) {
            return a;
        }
        match lock(&self.txs).get(no) {
            Some(t) => ok(self.view(t)),
            None => not_found(),
        }
    }

    pub(crate) fn query_by_id(&self, id: &str, query: &str) -> Answer {
        if let Err(a) = self.check_mchid(query) {
            return a;
        }
        let txs = lock(&self.txs);
        match txs
            .values()
            .find(|t| t.transaction_id.as_deref() == Some(id))
        {
            Some(t) => ok(self.view(t)),
            None => not_found(),
        }
    }

    pub(crate) fn close(&self, no: &str, body: &[u8]) -> Answer {
        let b: CloseBody = match serde_json::from_slice(body) {
            Ok(b) => b,
            Err(_) => return param_error("body", "mchid", "缺少 mchid"),
        };
        if b.mchid != self.mchid {
            return param_error("body", "mchid", "mchid 与请求商户不一致");
        }
        let mut txs = lock(&self.txs);
        match txs.get_mut(no) {
            Some(t) if t.state == "NOTPAY" || t.state == "CLOSED" => {
                t.state = "CLOSED";
                (StatusCode::NO_CONTENT, Vec::new())
            }
            Some(_) => api_error(400, "ORDERPAID", "订单已支付，不能关闭"),
            None => not_found(),
        }
    }

    /// The merchant.
    pub(crate) fn mchid(&self) -> &str {
        &self.mchid
    }

    /// The paid order `transaction_id`, as profit sharing sees it.
    pub(crate) fn paid(&self, transaction_id: &str) -> Option<Paid> {
        let txs = lock(&self.txs);
        let t = txs
            .values()
            .find(|t| t.transaction_id.as_deref() == Some(transaction_id))?;
        Some(Paid {
            total: t.total,
            profit_sharing: t.body["settle_info"]["profit_sharing"] == json!(true),
        })
    }

    /// The user pays `out_trade_no` at `now`: the resource a `TRANSACTION.SUCCESS` notification
    /// carries and the order's `notify_url`, or `None` when there is no such unpaid order.
    pub(crate) fn pay(&self, out_trade_no: &str, now: i64) -> Option<(Value, String)> {
        let id = self.ids.next("42000000");
        let mut txs = lock(&self.txs);
        let t = txs.get_mut(out_trade_no).filter(|t| t.state == "NOTPAY")?;
        t.state = "SUCCESS";
        t.transaction_id = Some(id);
        t.success_time = Some(rfc3339(now));
        t.paid_at = Some(now);
        let t = t.clone();
        Some((self.view(&t), t.notify_url))
    }

    /// Create a refund. It completes at once: with the refund's `notify_url`, the resource of
    /// its `REFUND.SUCCESS` notification comes back beside the answer.
    pub(crate) fn refund(&self, body: &[u8], now: i64) -> (Answer, Option<(String, Value)>) {
        let b: RefundBody = match crate::json_body(body) {
            Ok(b) => b,
            Err(a) => return (a, None),
        };
        if b.amount.currency != "CNY" {
            return (
                param_error("body", "amount.currency", "币种只支持 CNY"),
                None,
            );
        }
        if b.amount.refund <= 0 {
            return (
                param_error("body", "amount.refund", "退款金额必须大于 0"),
                None,
            );
        }
        let mut refunds = lock(&self.refunds);
        if let Some(r) = refunds.get(&b.out_refund_no) {
            // Idempotent on out_refund_no.
            return (ok(self.refund_view(r, false)), None);
        }
        let mut txs = lock(&self.txs);
        let tx = match (&b.transaction_id, &b.out_trade_no) {
            (Some(id), _) => txs
                .values_mut()
                .find(|t| t.transaction_id.as_deref() == Some(id.as_str())),
            (None, Some(no)) => txs.get_mut(no),
            (None, None) => {
                return (
                    param_error(
                        "body",
                        "transaction_id",
                        "transaction_id 与 out_trade_no 必须填一个",
                    ),
                    None,
                )
            }
        };
        let Some(tx) = tx else {
            return (not_found(), None);
        };
        if tx.state != "SUCCESS" && tx.state != "REFUND" {
            return (api_error(403, "NOT_ENOUGH", "订单未支付，无法退款"), None);
        }
        if b.amount.total != tx.total {
            return (
                param_error("body", "amount.total", "订单金额与原订单不一致"),
                None,
            );
        }
        if tx.refunded + b.amount.refund > tx.total {
            return (
                api_error(403, "NOT_ENOUGH", "退款金额超过订单可退金额"),
                None,
            );
        }
        tx.refunded += b.amount.refund;
        tx.state = "REFUND";
        let r = Refund {
            refund_id: self.ids.next("50300000"),
            out_refund_no: b.out_refund_no.clone(),
            transaction_id: tx.transaction_id.clone().unwrap_or_default(),
            out_trade_no: tx.out_trade_no.clone(),
            refund: b.amount.refund,
            total: tx.total,
            create_time: rfc3339(now),
            created_at: now,
            done: true,
        };
        let v = self.refund_view(&r, false);
        let completed = b
            .notify_url
            .filter(|u| !u.is_empty())
            .map(|url| (url, self.refund_resource(&r)));
        refunds.insert(b.out_refund_no, r);
        (ok(v), completed)
    }

    /// What a `REFUND.SUCCESS` notification carries.
    fn refund_resource(&self, r: &Refund) -> Value {
        json!({
            "mchid": self.mchid, "out_trade_no": r.out_trade_no, "transaction_id": r.transaction_id,
            "out_refund_no": r.out_refund_no, "refund_id": r.refund_id, "refund_status": "SUCCESS",
            "success_time": r.create_time, "user_received_account": "支付用户零钱",
            "amount": {"total": r.total, "refund": r.refund, "payer_total": r.total, "payer_refund": r.refund},
        })
    }

    /// A refund as an answer says it: `PROCESSING` or `SUCCESS` (`done`).
    fn refund_view(&self, r: &Refund, done: bool) -> Value {
        let mut v = json!({
            "refund_id": r.refund_id, "out_refund_no": r.out_refund_no,
            "transaction_id": r.transaction_id, "out_trade_no": r.out_trade_no,
            "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
            "create_time": r.create_time, "status": if done { "SUCCESS" } else { "PROCESSING" },
            "funds_account": "AVAILABLE",
            "amount": {"total": r.total, "refund": r.refund, "payer_total": r.total, "payer_refund": r.refund,
                "settlement_refund": r.refund, "settlement_total": r.total, "discount_refund": 0, "currency": "CNY"},
        });
        if done {
            v["success_time"] = json!(r.create_time);
        }
        v
    }

    pub(crate) fn query_refund(&self, out_refund_no: &str) -> Answer {
        let refunds = lock(&self.refunds);
        match refunds.get(out_refund_no) {
            Some(r) => {
                let r = r.clone();
                ok(self.refund_view(&r, r.done))
            }
            None => api_error(404, "RESOURCE_NOT_EXISTS", "退款单不存在"),
        }
    }

    /// The payments made and refunds created in `[from, to)` (Unix seconds), as bill entries.
    pub(crate) fn bill_entries(&self, from: i64, to: i64) -> Vec<crate::bills::Entry> {
        let txs = lock(&self.txs);
        let refunds = lock(&self.refunds);
        let within = |t: i64| (from..to).contains(&t);
        let payment = |t: &Tx, at: i64| crate::bills::Entry {
            time: at,
            appid: t.appid.clone(),
            transaction_id: t.transaction_id.clone().unwrap_or_default(),
            out_trade_no: t.out_trade_no.clone(),
            openid: t.openid.clone().unwrap_or_else(|| "oSANDBOXpayer".into()),
            trade_type: t.kind.trade_type(),
            description: t.description.clone(),
            attach: t.body["attach"].as_str().unwrap_or("").to_string(),
            total: t.total,
            refund: None,
        };
        let mut out: Vec<crate::bills::Entry> = txs
            .values()
            .filter_map(|t| t.paid_at.filter(|&at| within(at)).map(|at| payment(t, at)))
            .collect();
        for r in refunds.values().filter(|r| within(r.created_at)) {
            let Some(t) = txs.get(&r.out_trade_no) else {
                continue;
            };
            let mut e = payment(t, r.created_at);
            e.refund = Some(crate::bills::RefundPart {
                refund_id: r.refund_id.clone(),
                out_refund_no: r.out_refund_no.clone(),
                amount: r.refund,
                status: if r.done { "SUCCESS" } else { "PROCESSING" },
            });
            out.push(e);
        }
        out
    }
}

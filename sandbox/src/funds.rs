//! Profit sharing (分账: receivers, orders, returns, unfreezing) and merchant transfers (商家转账,
//! user-confirmation mode), in memory, with WeChat Pay's states and refusals. Profit sharing
//! works on the sandbox's own paid orders that were created with
//! `settle_info.profit_sharing = true`, and shares at most 30 % of an order (WeChat Pay's
//! default maximum ratio). A transfer waits for the user (`WAIT_USER_CONFIRM`) until
//! [`crate::Gateway::confirm_transfer`] (or cancel) ends it and `MCHTRANSFER.BILL.FINISHED` goes
//! to its `notify_url`.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::pay::Payments;
use crate::{api_error, json_body as body, lock, ok, param_error, rfc3339, Answer, Ids};

/// WeChat Pay's default maximum profit-sharing ratio of a direct merchant: 30 %.
const MAX_RATIO_PERCENT: i64 = 30;

/// The smallest transfer: 0.1 yuan.
const MIN_TRANSFER: i64 = 10;

/// From 2,000 yuan on, a transfer names the user (`user_name`).
const NAMED_TRANSFER: i64 = 200_000;

#[derive(Deserialize)]
struct ReceiverBody {
    #[serde(rename = "type")]
    kind: String,
    account: String,
    relation_type: Option<String>,
    custom_relation: Option<String>,
}

#[derive(Deserialize)]
struct ShareReceiver {
    #[serde(rename = "type")]
    kind: String,
    account: String,
    amount: i64,
    description: String,
}

#[derive(Deserialize)]
struct OrderBody {
    transaction_id: String,
    out_order_no: String,
    receivers: Vec<ShareReceiver>,
    #[serde(default)]
    unfreeze_unsplit: bool,
}

#[derive(Deserialize)]
struct UnfreezeBody {
    transaction_id: String,
    out_order_no: String,
    description: String,
}

#[derive(Deserialize)]
struct ReturnBody {
    order_id: Option<String>,
    out_order_no: Option<String>,
    out_return_no: String,
    return_mchid: String,
    amount: i64,
    description: String,
}

#[derive(Deserialize)]
struct TransferBody {
    appid: String,
    out_bill_no: String,
    transfer_scene_id: String,
    openid: String,
    user_name: Option<String>,
    transfer_amount: i64,
    transfer_remark: String,
    notify_url: Option<String>,
    #[serde(default)]
    transfer_scene_report_infos: Vec<Value>,
}

#[derive(Clone)]
struct Share {
    kind: String,
    account: String,
    amount: i64,
    description: String,
    detail_id: String,
    returned: i64,
}

#[derive(Clone)]
struct ShareOrder {
    transaction_id: String,
    out_order_no: String,
    order_id: String,
    receivers: Vec<Share>,
    create_time: String,
    /// The answer to the request that made it (`PROCESSING`), for a repeated request.
    first_answer: Value,
}

#[derive(Clone)]
struct ShareReturn {
    order_id: String,
    out_order_no: String,
    out_return_no: String,
    return_id: String,
    return_mchid: String,
    amount: i64,
    description: String,
    create_time: String,
}

#[derive(Clone)]
struct Transfer {
    body: Value,
    appid: String,
    out_bill_no: String,
    transfer_bill_no: String,
    openid: String,
    amount: i64,
    remark: String,
    notify_url: Option<String>,
    state: &'static str,
    create_time: String,
    update_time: String,
}

/// Profit sharing and transfers of one gateway.
pub(crate) struct Funds {
    mchid: String,
    receivers: Mutex<HashMap<(String, String), ReceiverBody>>,
    orders: Mutex<HashMap<String, ShareOrder>>,
    /// Per transaction: what was shared so far, and whether the rest was unfrozen.
    shared: Mutex<HashMap<String, (i64, bool)>>,
    returns: Mutex<HashMap<String, ShareReturn>>,
    transfers: Mutex<HashMap<String, Transfer>>,
    ids: Ids,
}

/// A notification a transfer's end owes the merchant: its `notify_url` and resource.
pub(crate) type Finished = Option<(String, Value)>;

impl Funds {
    pub(crate) fn new(mchid: &str, instance: u32) -> Self {
        Self {
            mchid: mchid.to_string(),
            receivers: Mutex::default(),
            orders: Mutex::default(),
            shared: Mutex::default(),
            returns: Mutex::default(),
            transfers: Mutex::default(),
            ids: Ids::new(instance, 10),
        }
    }

    pub(crate) fn add_receiver(&self, raw: &[u8]) -> Answer {
        let b: ReceiverBody = match body(raw) {
            Ok(b) => b,
            Err(a) => return a,
        };
        if !matches!(b.kind.as_str(), "MERCHANT_ID" | "PERSONAL_OPENID") {
            return param_error(
                "body",
                "type",
                "分账接收方类型错误，应为 MERCHANT_ID 或 PERSONAL_OPENID",
            );
        }
        if b.account.is_empty() {
            return param_error("body", "account", "account 不能为空");
        }
        let relation = b.relation_type.clone().unwrap_or_default();
        if relation.is_empty() {
            return param_error("body", "relation_type", "relation_type 不能为空");
        }
        if relation == "CUSTOM" && b.custom_relation.as_deref().is_none_or(str::is_empty) {
            return param_error(
                "body",
                "custom_relation",
                "relation_type 为 CUSTOM 时 custom_relation 必填",
            );
        }
        let mut v = json!({"type": b.kind, "account": b.account, "relation_type": relation});
        if let Some(c) = &b.custom_relation {
            v["custom_relation"] = json!(c);
        }
        lock(&self.receivers).insert((b.kind.clone(), b.account.clone()), b);
        ok(v)
    }

    pub(crate) fn delete_receiver(&self, raw: &[u8]) -> Answer {
        #[derive(Deserialize)]
        struct Delete {
            #[serde(rename = "type")]
            kind: String,
            account: String,
        }
        let b: Delete = match body(raw) {
            Ok(b) => b,
            Err(a) => return a,
        };
        match lock(&self.receivers).remove(&(b.kind.clone(), b.account.clone())) {
            Some(_) => ok(json!({"type": b.kind, "account": b.account})),
            None => api_error(400, "INVALID_REQUEST", "分账接收方不存在"),
        }
    }

    fn order_view(&self, o: &ShareOrder, done: bool) -> Value {
        let receivers: Vec<Value> = o
            .receivers
            .iter()
            .map(|r| {
                let mut v = json!({
                    "amount": r.amount, "description": r.description, "type": r.kind,
                    "account": r.account, "result": if done { "SUCCESS" } else { "PENDING" },
                    "detail_id": r.detail_id, "create_time": o.create_time,
                });
                if done {
                    v["finish_time"] = json!(o.create_time);
                }
                v
            })
            .collect();
        json!({
            "transaction_id": o.transaction_id, "out_order_no": o.out_order_no,
            "order_id": o.order_id, "state": if done { "FINISHED" } else { "PROCESSING" },
            "receivers": receivers,
        })
    }

    /// The order `transaction_id` as profit sharing sees it: its total, or WeChat Pay's refusal.
    fn shareable(&self, payments: &Payments, transaction_id: &str) -> Result<i64, Answer> {
        let Some(tx) = payments.paid(transaction_id) else {
            return Err(api_error(404, "RESOURCE_NOT_EXISTS", "订单不存在"));
        };
        if !tx.profit_sharing {
            return Err(api_error(
                400,
                "INVALID_REQUEST",
                "该笔订单不支持分账：下单时未设置分账标识 settle_info.profit_sharing",
            ));
        }
        Ok(tx.total)
    }

    pub(crate) fn share(&self, payments: &Payments, raw: &[u8], now: i64) -> Answer {
        let b: OrderBody = match body(raw) {
            Ok(b) => b,
            Err(a) => return a,
        };
        if let Some(o) = lock(&self.orders).get(&b.out_order_no) {
            // The same out_order_no is the same request.
            return ok(o.first_answer.clone());
        }
        let total = match self.shareable(payments, &b.transaction_id) {
            Ok(t) => t,
            Err(a) => return a,
        };
        if b.receivers.is_empty() {
            return param_error("body", "receivers", "分账接收方列表不能为空");
        }
        let known = lock(&self.receivers);
        for r in &b.receivers {
            if r.amount <= 0 {
                return param_error("body", "receivers.amount", "分账金额必须大于 0");
            }
            if !known.contains_key(&(r.kind.clone(), r.account.clone())) {
                return api_error(
                    400,
                    "INVALID_REQUEST",
                    &format!(
                        "分账接收方 {} 未添加或已删除，请先添加分账接收方",
                        r.account
                    ),
                );
            }
        }
        drop(known);
        let mut shared = lock(&self.shared);
        let entry = shared.entry(b.transaction_id.clone()).or_insert((0, false));
        if entry.1 {
            return api_error(400, "INVALID_REQUEST", "订单剩余资金已解冻，不能再分账");
        }
        let amount: i64 = b.receivers.iter().map(|r| r.amount).sum();
        if entry.0 + amount > total * MAX_RATIO_PERCENT / 100 {
            return api_error(
                403,
                "NOT_ENOUGH",
                &format!(
                    "分账金额超出最大分账比例（{MAX_RATIO_PERCENT}%），或超过订单剩余待分金额"
                ),
            );
        }
        entry.0 += amount;
        let mut receivers: Vec<Share> = b
            .receivers
            .into_iter()
            .map(|r| Share {
                kind: r.kind,
                account: r.account,
                amount: r.amount,
                description: r.description,
                detail_id: self.ids.next("36011111"),
                returned: 0,
            })
            .collect();
        if b.unfreeze_unsplit {
            entry.1 = true;
            receivers.push(self.unfrozen_share(total - entry.0));
        }
        let mut order = ShareOrder {
            transaction_id: b.transaction_id,
            out_order_no: b.out_order_no.clone(),
            order_id: self.ids.next("30000000"),
            receivers,
            create_time: rfc3339(now),
            first_answer: Value::Null,
        };
        order.first_answer = self.order_view(&order, false);
        let v = order.first_answer.clone();
        lock(&self.orders).insert(b.out_order_no, order);
        ok(v)
    }

    fn unfrozen_share(&self, amount: i64) -> Share {
        Share {
            kind: "MERCHANT_ID".into(),
            account: self.mchid.clone(),
            amount,
            description: "解冻给分账方".into(),
            detail_id: self.ids.next("36011111"),
            returned: 0,
        }
    }

    pub(crate) fn query_order(&self, out_order_no: &str, query: &str) -> Answer {
        let q = crate::query_pairs(query);
        let Some(transaction_id) = q.get("transaction_id").filter(|t| !t.is_empty()) else {
            return param_error("query", "transaction_id", "transaction_id 不能为空");
        };
        match lock(&self.orders).get(out_order_no) {
            Some(o) if &o.transaction_id == transaction_id => ok(self.order_view(o, true)),
            _ => api_error(404, "RESOURCE_NOT_EXISTS", "记录不存在"),
        }
    }

    pub(crate) fn unfreeze(&self, payments: &Payments, raw: &[u8], now: i64) -> Answer {
        let b: UnfreezeBody = match body(raw) {
            Ok(b) => b,
            Err(a) => return a,
        };
        if b.description.is_empty() {
            return param_error("body", "description", "description 不能为空");
        }
        if let Some(o) = lock(&self.orders).get(&b.out_order_no) {
            return ok(o.first_answer.clone());
        }
        let total = match self.shareable(payments, &b.transaction_id) {
            Ok(t) => t,
            Err(a) => return a,
        };
        let mut shared = lock(&self.shared);
        let entry = shared.entry(b.transaction_id.clone()).or_insert((0, false));
        if entry.1 || entry.0 >= total {
            return api_error(400, "INVALID_REQUEST", "订单剩余待分金额为 0，无需解冻");
        }
        entry.1 = true;
        let mut order = ShareOrder {
            transaction_id: b.transaction_id,
            out_order_no: b.out_order_no.clone(),
            order_id: self.ids.next("30000000"),
            receivers: vec![self.unfrozen_share(total - entry.0)],
            create_time: rfc3339(now),
            first_answer: Value::Null,
        };
        order.first_answer = self.order_view(&order, false);
        let v = order.first_answer.clone();
        lock(&self.orders).insert(b.out_order_no, order);
        ok(v)
    }

    /// The amount of `transaction_id` not shared and not unfrozen.
    pub(crate) fn unsplit(&self, payments: &Payments, transaction_id: &str) -> Answer {
        let total = match self.shareable(payments, transaction_id) {
            Ok(t) => t,
            Err(a) => return a,
        };
        let (shared, unfrozen) = lock(&self.shared)
            .get(transaction_id)
            .copied()
            .unwrap_or((0, false));
        let unsplit = if unfrozen { 0 } else { total - shared };
        ok(json!({"transaction_id": transaction_id, "unsplit_amount": unsplit}))
    }

    fn return_view(&self, r: &ShareReturn, done: bool) -> Value {
        let mut v = json!({
            "order_id": r.order_id, "out_order_no": r.out_order_no, "out_return_no": r.out_return_no,
            "return_id": r.return_id, "return_mchid": r.return_mchid, "amount": r.amount,
            "description": r.description, "result": if done { "SUCCESS" } else { "PROCESSING" },
            "create_time": r.create_time,
        });
        if done {
            v["finish_time"] = json!(r.create_time);
        }
        v
    }

    pub(crate) fn return_order(&self, raw: &[u8], now: i64) -> Answer {
        let b: ReturnBody = match body(raw) {
            Ok(b) => b,
            Err(a) => return a,
        };
        if let Some(r) = lock(&self.returns).get(&b.out_return_no) {
            return ok(self.return_view(r, false));
        }
        if b.amount <= 0 {
            return param_error("body", "amount", "回退金额必须大于 0");
        }
        let mut orders = lock(&self.orders);
        let order = match (&b.order_id, &b.out_order_no) {
            (Some(id), _) => orders.values_mut().find(|o| &o.order_id == id),
            (None, Some(no)) => orders.get_mut(no),
            (None, None) => {
                return param_error(
                    "body",
                    "out_order_no",
                    "order_id 与 out_order_no 必须填一个",
                )
            }
        };
        let Some(order) = order else {
            return api_error(404, "RESOURCE_NOT_EXISTS", "分账单不存在");
        };
        let Some(share) = order.receivers.iter_mut().find(|r| {
            r.kind == "MERCHANT_ID" && r.account == b.return_mchid && r.account != self.mchid
        }) else {
            return api_error(400, "INVALID_REQUEST", "回退方不是该分账单的分账接收方");
        };
        if share.returned + b.amount > share.amount {
            return api_error(403, "NOT_ENOUGH", "回退金额超过该接收方可回退金额");
        }
        share.returned += b.amount;
        let r = ShareReturn {
            order_id: order.order_id.clone(),
            out_order_no: order.out_order_no.clone(),
            out_return_no: b.out_return_no.clone(),
            return_id: self.ids.next("30000000"),
            return_mchid: b.return_mchid,
            amount: b.amount,
            description: b.description,
            create_time: rfc3339(now),
        };
        let v = self.return_view(&r, false);
        lock(&self.returns).insert(b.out_return_no, r);
        ok(v)
    }

    pub(crate) fn query_return(&self, out_return_no: &str, query: &str) -> Answer {
        let q = crate::query_pairs(query);
        let Some(out_order_no) = q.get("out_order_no").filter(|t| !t.is_empty()) else {
            return param_error("query", "out_order_no", "out_order_no 不能为空");
        };
        match lock(&self.returns).get(out_return_no) {
            Some(r) if &r.out_order_no == out_order_no => ok(self.return_view(r, true)),
            _ => api_error(404, "RESOURCE_NOT_EXISTS", "记录不存在"),
        }
    }

    fn transfer_view(&self, t: &Transfer) -> Value {
        json!({
            "mch_id": self.mchid, "out_bill_no": t.out_bill_no, "transfer_bill_no": t.transfer_bill_no,
            "appid": t.appid, "state": t.state, "transfer_amount": t.amount,
            "transfer_remark": t.remark, "openid": t.openid,
            "create_time": t.create_time, "update_time": t.update_time,
        })
    }

    fn transfer_resource(&self, t: &Transfer) -> Value {
        json!({
            "mchid": self.mchid, "out_bill_no": t.out_bill_no, "transfer_bill_no": t.transfer_bill_no,
            "state": t.state, "transfer_amount": t.amount, "openid": t.openid,
            "create_time": t.create_time, "update_time": t.update_time,
        })
    }

    pub(crate) fn transfer(&self, raw: &[u8], now: i64) -> Answer {
        let value: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
        let b: TransferBody = match body(raw) {
            Ok(b) => b,
            Err(a) => return a,
        };
        let mut transfers = lock(&self.transfers);
        if let Some(t) = transfers.get(&b.out_bill_no) {
            if t.body != value {
                return api_error(400, "INVALID_REQUEST", "商户单号重复，请核实后再试");
            }
            return ok(self.created_view(t));
        }
        if b.transfer_scene_id.is_empty() {
            return param_error("body", "transfer_scene_id", "transfer_scene_id 不能为空");
        }
        if b.openid.is_empty() {
            return param_error("body", "openid", "openid 不能为空");
        }
        if b.transfer_amount < MIN_TRANSFER {
            return param_error("body", "transfer_amount", "转账金额不能低于 0.1 元");
        }
        if b.transfer_amount >= NAMED_TRANSFER && b.user_name.as_deref().is_none_or(str::is_empty) {
            return param_error(
                "body",
                "user_name",
                "转账金额 >= 2000 元时，收款用户姓名 user_name 必填",
            );
        }
        if b.transfer_remark.is_empty() {
            return param_error("body", "transfer_remark", "transfer_remark 不能为空");
        }
        if b.transfer_scene_report_infos.is_empty() {
            return param_error(
                "body",
                "transfer_scene_report_infos",
                "transfer_scene_report_infos 不能为空：请按转账场景报备信息",
            );
        }
        if let Some(url) = b.notify_url.as_deref().filter(|u| !u.is_empty()) {
            if !crate::pay::notify_url_allowed(url) {
                return param_error("body", "notify_url", "notify_url 必须是 https 地址");
            }
        }
        let t = Transfer {
            body: value,
            appid: b.appid,
            out_bill_no: b.out_bill_no.clone(),
            transfer_bill_no: self.ids.next("1330000"),
            openid: b.openid,
            amount: b.transfer_amount,
            remark: b.transfer_remark,
            notify_url: b.notify_url.filter(|u| !u.is_empty()),
            state: "WAIT_USER_CONFIRM",
            create_time: rfc3339(now),
            update_time: rfc3339(now),
        };
        let v = self.created_view(&t);
        transfers.insert(b.out_bill_no, t);
        ok(v)
    }

    fn created_view(&self, t: &Transfer) -> Value {
        json!({
            "out_bill_no": t.out_bill_no, "transfer_bill_no": t.transfer_bill_no,
            "create_time": t.create_time, "state": t.state,
            "package_info": format!("SANDBOXPACKAGE{}", t.transfer_bill_no),
        })
    }

    pub(crate) fn query_transfer(&self, by_out_bill_no: bool, no: &str) -> Answer {
        let transfers = lock(&self.transfers);
        let t = if by_out_bill_no {
            transfers.get(no)
        } else {
            transfers.values().find(|t| t.transfer_bill_no == no)
        };
        match t {
            Some(t) => ok(self.transfer_view(t)),
            None => api_error(404, "NOT_FOUND", "记录不存在"),
        }
    }

    /// Cancel a transfer the user has not confirmed yet: `CANCELING` in the answer, `CANCELLED`
    /// afterwards, and the notification of its end.
    pub(crate) fn cancel_transfer(&self, out_bill_no: &str, now: i64) -> (Answer, Finished) {
        let mut transfers = lock(&self.transfers);
        let Some(t) = transfers.get_mut(out_bill_no) else {
            return (api_error(404, "NOT_FOUND", "记录不存在"), None);
        };
        if !matches!(t.state, "ACCEPTED" | "PROCESSING" | "WAIT_USER_CONFIRM") {
            return (
                api_error(
                    400,
                    "INVALID_REQUEST",
                    &format!("转账单状态为 {}，不能撤销", t.state),
                ),
                None,
            );
        }
        t.state = "CANCELLED";
        t.update_time = rfc3339(now);
        let answer = json!({
            "out_bill_no": t.out_bill_no, "transfer_bill_no": t.transfer_bill_no,
            "state": "CANCELING", "update_time": t.update_time,
        });
        let finished = t.notify_url.clone().map(|u| (u, self.transfer_resource(t)));
        (ok(answer), finished)
    }

    /// The user confirms the transfer `out_bill_no` (it must wait for them): it succeeds.
    pub(crate) fn confirm_transfer(
        &self,
        out_bill_no: &str,
        now: i64,
    ) -> Result<(Value, Finished), Answer> {
        let mut transfers = lock(&self.transfers);
        let Some(t) = transfers.get_mut(out_bill_no) else {
            return Err(api_error(404, "NOT_FOUND", "记录不存在"));
        };
        if t.state != "WAIT_USER_CONFIRM" {
            return Err(api_error(
                400,
                "INVALID_REQUEST",
                &format!("the transfer is {}, not waiting for the user", t.state),
            ));
        }
        t.state = "SUCCESS";
        t.update_time = rfc3339(now);
        let finished = t.notify_url.clone().map(|u| (u, self.transfer_resource(t)));
        Ok((self.transfer_view(t), finished))
    }
}

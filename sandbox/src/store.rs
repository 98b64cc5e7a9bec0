//! In-memory state: pay-after orders.

use std::collections::HashMap;
use std::sync::Mutex;

use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{api_error, json_body as parse, ok, param_error, query_pairs, Answer, Ids};

#[derive(Debug, Clone)]
struct PayafterOrder {
    appid: String,
    out_order_no: String,
    service_id: String,
    order_id: String,
    state: &'static str,
    create: Value,
    complete: Option<Value>,
    pay_succ_time: Option<String>,
}

#[derive(Default)]
pub(crate) struct Store {
    mchid: String,
    orders: Mutex<HashMap<String, PayafterOrder>>,
    /// Order ids.
    ids: Ids,
}

#[derive(Deserialize)]
struct CreateBody {
    appid: String,
    out_order_no: String,
    service_id: String,
}

#[derive(Deserialize)]
struct OrderBody {
    appid: String,
    service_id: String,
}

#[derive(Deserialize)]
struct CancelBody {
    appid: String,
    service_id: String,
    reason: String,
}

#[derive(Deserialize)]
struct SyncBody {
    appid: String,
    service_id: String,
    #[serde(rename = "type")]
    sync_type: String,
    detail: SyncDetail,
}

#[derive(Deserialize)]
struct SyncDetail {
    paid_time: String,
}

impl Store {
    pub(crate) fn new(mchid: &str, instance: u32) -> Self {
        Self {
            mchid: mchid.to_string(),
            ids: Ids::new(instance, 12),
            ..Self::default()
        }
    }

    fn ack(o: &PayafterOrder, mchid: &str) -> Value {
        json!({"appid": o.appid, "mchid": mchid, "out_order_no": o.out_order_no, "service_id": o.service_id, "order_id": o.order_id})
    }

    pub(crate) fn payafter_create(&self, body: &[u8]) -> Answer {
        let mchid = self.mchid.as_str();
        let b: CreateBody = match parse(body) {
            Ok(b) => b,
            Err(a) => return a,
        };
        if b.out_order_no.is_empty() {
            return param_error("body", "out_order_no", "out_order_no 不能为空");
        }
        let full: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let mut orders = self.orders.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(o) = orders.get(&b.out_order_no) {
            // Idempotent on out_order_no: the same order comes back, unless it differs.
            if o.create != full {
                return api_error(
                    400,
                    "INVALID_REQUEST",
                    "商户订单号重复，且请求参数与原单不一致",
                );
            }
            let mut v = Self::ack(o, mchid);
            v["package"] = json!(format!("DJ-{}", o.order_id));
            return ok(v);
        }
        let o = PayafterOrder {
            appid: b.appid,
            out_order_no: b.out_order_no.clone(),
            service_id: b.service_id,
            order_id: self.ids.next("1000000000"),
            state: "CREATED",
            create: full,
            complete: None,
            pay_succ_time: None,
        };
        let mut v = Self::ack(&o, mchid);
        v["package"] = json!(format!("DJ-{}", o.order_id));
        orders.insert(b.out_order_no, o);
        ok(v)
    }

    pub(crate) fn payafter_query(&self, query: &str) -> Answer {
        let q = query_pairs(query);
        for required in ["service_id", "appid"] {
            if q.get(required).is_none_or(|v| v.is_empty()) {
                return param_error("query", required, &format!("{required} 不能为空"));
            }
        }
        let orders = self.orders.lock().unwrap_or_else(|e| e.into_inner());
        let found = match (q.get("out_order_no"), q.get("query_id")) {
            (Some(no), _) => orders.get(no),
            (None, Some(id)) => orders.values().find(|o| &o.order_id == id),
            (None, None) => {
                return param_error("query", "out_order_no", "out_order_no 与 query_id 必填其一")
            }
        };
        let Some(o) = found else {
            return api_error(404, "ORDER_NOT_EXIST", "订单不存在");
        };
        let mut v = o.create.clone();
        for k in [
            "openid",
            "name",
            "phone",
            "userid",
            "address",
            "need_user_confirm",
        ] {
            if let Some(m) = v.as_object_mut() {
                m.remove(k);
            }
        }
        v["mchid"] = json!(self.mchid);
        v["state"] = json!(o.state);
        v["order_id"] = json!(o.order_id);
        if let Some(c) = &o.complete {
            for k in [
                "finish_type",
                "real_service_start_time",
                "real_service_end_time",
                "real_service_end_location",
                "fees",
                "discounts",
                "total_amount",
                "finish_ticket",
            ] {
                if let Some(x) = c.get(k) {
                    v[k] = x.clone();
                }
            }
        }
        if let Some(t) = &o.pay_succ_time {
            v["pay_succ_time"] = json!(t);
        }
        ok(v)
    }

    fn with_order(
        &self,
        no: &str,
        appid: &str,
        service_id: &str,
        f: impl FnOnce(&mut PayafterOrder) -> Result<(), Answer>,
    ) -> Answer {
        let mut orders = self.orders.lock().unwrap_or_else(|e| e.into_inner());
        let Some(o) = orders.get_mut(no) else {
            return api_error(404, "ORDER_NOT_EXIST", "订单不存在");
        };
        if o.appid != appid || o.service_id != service_id {
            return param_error("body", "appid", "appid 或 service_id 与订单不一致");
        }
        if let Err(a) = f(o) {
            return a;
        }
        ok(Self::ack(o, &self.mchid))
    }

    pub(crate) fn payafter_complete(&self, no: &str, body: &[u8]) -> Answer {
        let b: OrderBody = match parse(body) {
            Ok(b) => b,
            Err(a) => return a,
        };
        let full: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        // total_amount must equal fees minus discounts when given.
        let sum = |k: &str, f: &str| -> i64 {
            full.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.get(f).and_then(Value::as_i64))
                        .sum()
                })
                .unwrap_or(0)
        };
        if let Some(total) = full.get("total_amount").and_then(Value::as_i64) {
            let want = sum("fees", "fee_amount") - sum("discounts", "discount_amount");
            if total != want {
                return param_error(
                    "body",
                    "total_amount",
                    &format!("total_amount {total} 与费用减优惠 {want} 不一致"),
                );
            }
        }
        let answer = self.with_order(no, &b.appid, &b.service_id, |o| match o.state {
            "CREATED" | "USER_ACCEPTED" => {
                o.state = if full.get("finish_type").and_then(Value::as_i64) == Some(1) {
                    "REVOKED"
                } else {
                    "FINISHED"
                };
                o.complete = Some(full.clone());
                Ok(())
            }
            "FINISHED" | "USER_PAID" if o.complete.as_ref() == Some(&full) => Ok(()),
            "REVOKED" => Err(api_error(400, "ORDER_CANCELED", "订单已撤销，不能完结")),
            _ => Err(api_error(
                400,
                "ORDER_STATE_INVALID",
                &format!("订单状态 {} 不能完结", o.state),
            )),
        });
        answer
    }

    pub(crate) fn payafter_cancel(&self, no: &str, body: &[u8]) -> Answer {
        let b: CancelBody = match parse(body) {
            Ok(b) => b,
            Err(a) => return a,
        };
        if b.reason.is_empty() {
            return param_error("body", "reason", "reason 不能为空");
        }
        self.with_order(no, &b.appid, &b.service_id, |o| match o.state {
            "CREATED" | "USER_ACCEPTED" | "REVOKED" => {
                o.state = "REVOKED";
                Ok(())
            }
            _ => Err(api_error(
                400,
                "ORDER_STATE_INVALID",
                &format!("订单状态 {} 不能撤销", o.state),
            )),
        })
    }

    pub(crate) fn payafter_sync(&self, no: &str, body: &[u8]) -> Answer {
        let b: SyncBody = match parse(body) {
            Ok(b) => b,
            Err(a) => return a,
        };
        if b.sync_type != "Order_Paid" {
            return param_error("body", "type", "type 只能是 Order_Paid");
        }
        let answer = self.with_order(no, &b.appid, &b.service_id, |o| match o.state {
            "FINISHED" | "USER_PAID" => {
                o.state = "USER_PAID";
                o.pay_succ_time = Some(b.detail.paid_time.clone());
                Ok(())
            }
            _ => Err(api_error(
                400,
                "ORDER_STATE_INVALID",
                &format!("订单状态 {} 不能同步为已支付", o.state),
            )),
        });
        match answer {
            (StatusCode::OK, bytes) => {
                let mut v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                if let Some(m) = v.as_object_mut() {
                    m.remove("service_id");
                }
                (StatusCode::OK, v.to_string().into_bytes())
            }
            other => other,
        }
    }
}

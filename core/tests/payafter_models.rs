//! The typed payafter-orders models have exactly the catalog's fields (copied from
//! `shared/api/catalog.json` into `fixtures/api/`), and the calls hit the catalog's method and path.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};
use wechatpay_core::api::payscore::payafter_orders::*;
use wechatpay_core::{Client, FixedClock, FixedNonce, Merchant, PrivateKey, Sensitive};

/// Field paths of a catalog type: `fees[].fee_name`, …
fn catalog_paths(t: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Some(obj) = t.as_object() {
        if let Some(inner) = obj.get("object") {
            for (k, v) in inner.as_object().unwrap() {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                catalog_paths(v, &p, out);
            }
        } else if let Some(inner) = obj.get("array") {
            catalog_paths(inner, &format!("{prefix}[]"), out);
        } else if !obj
            .keys()
            .all(|k| ["type", "format", "optional", "enum"].contains(&k.as_str()))
        {
            // A plain object of fields (a field may itself be named `type`, as in sync).
            for (k, v) in obj {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                catalog_paths(v, &p, out);
            }
        }
    }
}

fn json_paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                json_paths(v, &p, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                json_paths(v, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

fn endpoint(method: &str, path: &str) -> Value {
    json("api/payafter_orders.json")
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["method"] == method && e["path"] == path)
        .cloned()
        .unwrap_or_else(|| panic!("{method} {path} not in the catalog"))
}

fn fields(t: &Value) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    catalog_paths(t, "", &mut s);
    s
}

fn of_json(v: &Value) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    json_paths(v, "", &mut s);
    s
}

/// A response with every catalog field filled, decoded into `T` and encoded back: every field
/// survives (none missing, none extra).
fn roundtrip_response<T: serde::de::DeserializeOwned + serde::Serialize>(e: &Value, sample: Value) {
    let want = fields(&e["response"]);
    assert_eq!(of_json(&sample), want, "the sample covers the catalog");
    let t: T = serde_json::from_value(sample).unwrap();
    assert_eq!(
        of_json(&serde_json::to_value(&t).unwrap()),
        want,
        "{}",
        e["path"]
    );
}

fn fee() -> Fee {
    Fee {
        fee_name: "a".into(),
        fee_count: 1,
        fee_amount: 100,
        fee_desc: "d".into(),
    }
}

fn client() -> Client {
    let key = PrivateKey::from_pem(read("keys/merchant_key.pem")).unwrap();
    Client::builder(Merchant::new("1900000001", "3D2A", key).unwrap())
        .clock(FixedClock(1_800_000_000))
        .nonce_source(FixedNonce("n".into()))
        .build()
        .unwrap()
}

#[test]
fn create() {
    let e = endpoint("POST", "/v3/payscore/payafter-orders");
    let full = CreateRequest {
        appid: "wx".into(),
        out_order_no: "o".into(),
        service_id: "s".into(),
        service_start_time: Some("t".into()),
        service_end_time: Some("t".into()),
        service_start_location: Some("l".into()),
        service_end_location: Some("l".into()),
        service_introduction: Some("i".into()),
        fees: Some(vec![fee()]),
        discounts: Some(vec![CreateDiscount {
            discount_name: "n".into(),
            discount_desc: "d".into(),
        }]),
        risk_amount: Some(1),
        attach: Some("a".into()),
        need_user_confirm: Some(false),
        openid: Some("o".into()),
        name: Some(Sensitive::encrypted("x", "S")),
        phone: Some(Sensitive::encrypted("x", "S")),
        userid: Some(Sensitive::encrypted("x", "S")),
        address: Some(Sensitive::encrypted("x", "S")),
    };
    assert_eq!(
        of_json(&serde_json::to_value(&full).unwrap()),
        fields(&e["request"])
    );
    // Only the YAML-required fields are sent when the rest is None.
    let min = CreateRequest {
        appid: "wx".into(),
        out_order_no: "o".into(),
        service_id: "s".into(),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&min).unwrap(),
        json!({"appid":"wx","out_order_no":"o","service_id":"s"})
    );
    roundtrip_response::<CreateResponse>(
        &e,
        json!({"appid":"a","mchid":"m","out_order_no":"o","service_id":"s","order_id":"i","miniprogram_businesstype":"b","miniprogram_appid":"a","miniprogram_path":"p","miniprogram_username":"u","package":"p"}),
    );
    let signed = client()
        .sign(wechatpay_core::api::payscore::payafter_orders::create(&min))
        .unwrap();
    assert_eq!(signed.request.method(), "POST");
    assert_eq!(signed.request.uri().path(), "/v3/payscore/payafter-orders");
}

#[test]
fn query() {
    let e = endpoint("GET", "/v3/payscore/payafter-orders");
    let q = QueryRequest {
        service_id: "s 1".into(),
        appid: "wx".into(),
        order: OrderRef::OutOrderNo("O/1".into()),
    };
    let signed = client()
        .sign(wechatpay_core::api::payscore::payafter_orders::query(&q))
        .unwrap();
    assert_eq!(signed.request.method(), "GET");
    assert_eq!(
        signed.request.uri().path_and_query().unwrap().as_str(),
        "/v3/payscore/payafter-orders?service_id=s%201&out_order_no=O%2F1&appid=wx"
    );
    let q = QueryRequest {
        order: OrderRef::QueryId("Q".into()),
        ..q
    };
    let signed = client()
        .sign(wechatpay_core::api::payscore::payafter_orders::query(&q))
        .unwrap();
    assert!(signed.request.uri().query().unwrap().contains("query_id=Q"));
    let catalog_query: BTreeSet<String> = e["query"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        catalog_query,
        ["appid", "out_order_no", "query_id", "service_id"]
            .map(String::from)
            .into()
    );
    roundtrip_response::<Order>(
        &e,
        json!({
            "appid":"a","mchid":"m","out_order_no":"o","service_id":"s","state":"USER_PAID","finish_type":2,
            "service_start_time":"t","service_end_time":"t","real_service_start_time":"t","real_service_end_time":"t",
            "pay_succ_time":"t","service_start_location":"l","service_end_location":"l","real_service_start_location":"l",
            "real_service_end_location":"l","service_introduction":"i",
            "fees":[{"fee_name":"n","fee_count":1,"fee_amount":2,"fee_desc":"d"}],
            "discounts":[{"discount_name":"n","discount_amount":1,"discount_desc":"d"}],
            "risk_amount":1,"total_amount":1,"attach":"a","finish_ticket":"f","finish_transaction_id":"x","pay_type":"MchChannelPayType"
        }),
    );
    // Enums: known values typed, unknown kept.
    let o: Order =
        serde_json::from_value(json!({"state":"USER_PAID","finish_type":1,"pay_type":"NEW_TYPE"}))
            .unwrap();
    assert_eq!(o.state, Some(OrderState::UserPaid));
    assert_eq!(o.finish_type, Some(FinishType::Cancelled));
    assert_eq!(o.pay_type, Some(PayType::Other("NEW_TYPE".into())));
    let o: Order =
        serde_json::from_value(json!({"state":"SOMETHING_NEW","finish_type":7})).unwrap();
    assert_eq!(o.state.unwrap().as_str(), "SOMETHING_NEW");
    assert_eq!(o.finish_type.unwrap().as_i64(), 7);
}

#[test]
fn cancel_complete_sync() {
    let e = endpoint("POST", "/v3/payscore/payafter-orders/{out_order_no}/cancel");
    let body = CancelRequest {
        appid: "a".into(),
        service_id: "s".into(),
        reason: "r".into(),
    };
    assert_eq!(
        of_json(&serde_json::to_value(&body).unwrap()),
        fields(&e["request"])
    );
    roundtrip_response::<CancelResponse>(
        &e,
        json!({"appid":"a","mchid":"m","out_order_no":"o","service_id":"s","order_id":"i"}),
    );
    let signed = client().sign(cancel("O 1", &body)).unwrap();
    assert_eq!(
        signed.request.uri().path(),
        "/v3/payscore/payafter-orders/O%201/cancel"
    );

    let e = endpoint(
        "POST",
        "/v3/payscore/payafter-orders/{out_order_no}/complete",
    );
    let full = CompleteRequest {
        appid: "a".into(),
        service_id: "s".into(),
        finish_type: Some(FinishType::Completed),
        cancel_reason: Some("c".into()),
        real_service_start_time: Some("t".into()),
        real_service_end_time: Some("t".into()),
        real_service_end_location: Some("l".into()),
        fees: Some(vec![fee()]),
        discounts: Some(vec![Discount {
            discount_name: "n".into(),
            discount_amount: 1,
            discount_desc: "d".into(),
        }]),
        total_amount: Some(99),
        finish_ticket: Some("f".into()),
        profit_sharing: Some(true),
    };
    let v = serde_json::to_value(&full).unwrap();
    assert_eq!(of_json(&v), fields(&e["request"]));
    assert_eq!(v["finish_type"], 2);
    roundtrip_response::<CompleteResponse>(
        &e,
        json!({"appid":"a","mchid":"m","out_order_no":"o","service_id":"s","order_id":"i"}),
    );
    // Response fields the YAML requires are required: a missing order_id is a decode error.
    assert!(serde_json::from_value::<CompleteResponse>(
        json!({"appid":"a","mchid":"m","out_order_no":"o","service_id":"s"})
    )
    .is_err());
    let signed = client().sign(complete("ORDER123", &full)).unwrap();
    assert_eq!(
        signed.request.uri().path(),
        "/v3/payscore/payafter-orders/ORDER123/complete"
    );

    let e = endpoint("POST", "/v3/payscore/payafter-orders/{out_order_no}/sync");
    let body = SyncRequest {
        appid: "a".into(),
        service_id: "s".into(),
        sync_type: SyncType::OrderPaid,
        detail: SyncDetail {
            paid_time: "t".into(),
        },
    };
    let v = serde_json::to_value(&body).unwrap();
    assert_eq!(of_json(&v), fields(&e["request"]));
    assert_eq!(v["type"], "Order_Paid");
    roundtrip_response::<SyncResponse>(
        &e,
        json!({"appid":"a","mchid":"m","out_order_no":"o","order_id":"i"}),
    );
    let signed = client().sign(sync("X", &body)).unwrap();
    assert_eq!(
        signed.request.uri().path(),
        "/v3/payscore/payafter-orders/X/sync"
    );
}

//! The typed API's rules, one by one: answers never fail on a missing, `null` or unknown member
//! (unknown ones are kept); a required request field left empty is refused before signing,
//! naming it, and nothing optional is sent unset; enum variants are named by value; one type
//! per concept.

use serde_json::{json, Value};
use wechatpay_core::BuildError;

use crate::support::client;

#[cfg(feature = "pay")]
#[test]
fn answers_take_missing_null_and_unknown_members() {
    use wechatpay_api::pay::transactions::{TradeState, Transaction};
    // Every member absent, or null.
    let t: Transaction = serde_json::from_str("{}").unwrap();
    assert_eq!(t, Transaction::default());
    let t: Transaction =
        serde_json::from_str(r#"{"transaction_id":null,"amount":null,"payer":{"openid":null}}"#)
            .unwrap();
    assert_eq!(t.transaction_id, None);
    // Unknown members, at the top and nested, are kept and written back; an unknown enum value
    // too.
    let text =
        r#"{"trade_state":"LATER_STATE","brand_new":{"x":[1,2]},"amount":{"total":1,"rate":0.5}}"#;
    let t: Transaction = serde_json::from_str(text).unwrap();
    assert_eq!(t.trade_state, Some(TradeState::Other("LATER_STATE".into())));
    assert_eq!(t.extra["brand_new"], json!({"x": [1, 2]}));
    assert_eq!(t.amount.as_ref().unwrap().extra["rate"], json!(0.5));
    let back = serde_json::to_value(&t).unwrap();
    assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
}

#[cfg(feature = "refund")]
#[test]
fn a_member_an_answer_always_carries_reads_absent_or_null_as_its_default() {
    use wechatpay_api::refund::domestic::Refund;
    // `refund_id` is required by the official model: a value, not an Option, yet an answer
    // without it (or with null) still decodes.
    let r: Refund = serde_json::from_str(r#"{"refund_id":null,"status":"SUCCESS"}"#).unwrap();
    assert_eq!(r.refund_id, "");
    let r: Refund = serde_json::from_str(r#"{"refund_id":"5000","amount":{"refund":1}}"#).unwrap();
    assert_eq!((r.refund_id.as_str(), r.amount.refund), ("5000", 1));
}

#[cfg(feature = "pay")]
#[test]
fn a_decode_failure_names_the_path_and_what_was_expected() {
    let e = wechatpay_api::decode_answer(
        "GET",
        "/v3/pay/transactions/id/{transaction_id}",
        br#"{"amount":{"total":"100"}}"#,
    )
    .unwrap()
    .unwrap_err();
    assert_eq!(e.path, "amount.total");
    assert!(e.to_string().contains("expected i64"), "{e}");
    // An endpoint that is not one, or answers nothing to decode.
    assert!(wechatpay_api::decode_answer("GET", "/v3/nope", b"{}").is_none());
    assert!(wechatpay_api::decode_answer(
        "POST",
        "/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
        b""
    )
    .is_some_and(|r| r.is_ok()));
    // The members the type does not know, by path.
    let unknown = wechatpay_api::unknown_members(
        "GET",
        "/v3/pay/transactions/id/{transaction_id}",
        wechatpay_api::Part::Answer,
        &json!({"amount": {"total": 1, "x": 2}, "promotion_detail": [{"coupon_id": "c", "y": 3}], "z": 4}),
    )
    .unwrap();
    assert_eq!(unknown, ["amount.x", "promotion_detail[0].y", "z"]);
}

#[cfg(feature = "pay")]
#[test]
fn a_required_field_left_empty_is_refused_before_signing() {
    use wechatpay_api::pay::transactions::{self as tx, jsapi, Amount, Payer};
    let order = jsapi::PrepayRequest {
        appid: "wxd678efh567hg6787".into(),
        mchid: "1900000001".into(),
        description: "d".into(),
        out_trade_no: "T-1".into(),
        notify_url: "https://merchant.example/notify".into(),
        amount: Amount {
            total: 1,
            ..Default::default()
        },
        payer: Payer {
            openid: Some("o".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let signed = client().sign(tx::jsapi(&order)).unwrap();
    // Only what was set is sent.
    let sent: Value = serde_json::from_slice(signed.request.body()).unwrap();
    assert_eq!(
        sent,
        json!({"appid": "wxd678efh567hg6787", "mchid": "1900000001", "description": "d",
            "out_trade_no": "T-1", "notify_url": "https://merchant.example/notify",
            "amount": {"total": 1}, "payer": {"openid": "o"}})
    );
    for (field, order) in [
        (
            "notify_url",
            jsapi::PrepayRequest {
                notify_url: String::new(),
                ..order.clone()
            },
        ),
        (
            "appid",
            jsapi::PrepayRequest {
                appid: String::new(),
                ..order.clone()
            },
        ),
    ] {
        match client().sign(tx::jsapi(&order)) {
            Err(BuildError::MissingField { field: f }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // A query parameter the official model requires.
    match client().sign(tx::get_by_transaction_id(
        "4200",
        &tx::QueryOrderByIdRequest {
            mchid: String::new(),
        },
    )) {
        Err(BuildError::MissingField { field }) => assert_eq!(field, "query.mchid"),
        other => panic!("{other:?}"),
    }
}

#[cfg(feature = "payscore")]
#[test]
fn a_member_no_source_requires_is_optional_and_not_sent() {
    use wechatpay_api::payscore::payafter_orders::{complete, CompleteRequest, Fees};
    // A fee item with no `fee_count` (its source does not require it) is sent as given.
    let call = complete(
        "O-1",
        &CompleteRequest {
            appid: "wxd678efh567hg6787".into(),
            service_id: "500001".into(),
            fees: Some(vec![Fees {
                fee_name: Some("租借费".into()),
                fee_amount: Some(1500),
                ..Default::default()
            }]),
            ..Default::default()
        },
    );
    let sent: Value = serde_json::from_slice(call.body().unwrap()).unwrap();
    assert_eq!(
        sent["fees"],
        json!([{"fee_name": "租借费", "fee_amount": 1500}])
    );
}

#[cfg(feature = "fund-app")]
#[test]
fn enum_variants_are_named_by_value() {
    use wechatpay_api::fund_app::mch_transfer::TransferSceneId;
    assert_eq!(TransferSceneId::V1002.as_str(), "1002");
    assert_eq!(
        serde_json::from_str::<TransferSceneId>("\"1004\"").unwrap(),
        TransferSceneId::V1004
    );
    assert_eq!(
        serde_json::from_str::<TransferSceneId>("\"9999\"").unwrap(),
        TransferSceneId::Other("9999".into())
    );
}

#[cfg(all(feature = "pay", feature = "refund"))]
#[test]
fn one_type_per_concept() {
    use wechatpay_api::pay::transactions::{self as tx, Transaction};
    use wechatpay_api::refund::domestic::{self as refund, Refund};
    // Both order queries answer the one `Transaction`, which reads TRANSACTION.SUCCESS too.
    let _: wechatpay_core::Call<Transaction> = tx::get_by_out_trade_no("O", &Default::default());
    let _: wechatpay_core::Call<Transaction> = tx::get_by_transaction_id("4", &Default::default());
    assert_eq!(
        <Transaction as wechatpay_core::notify::Resource>::event_types(),
        Some(&["TRANSACTION.SUCCESS"][..])
    );
    // Refund create and query answer the one `Refund`, which reads the REFUND.* events.
    let _: wechatpay_core::Call<Refund> = refund::refunds(&Default::default());
    let _: wechatpay_core::Call<Refund> =
        refund::get_refunds_by_out_refund_no("R", &Default::default());
    assert_eq!(
        <Refund as wechatpay_core::notify::Resource>::event_types(),
        Some(&["REFUND.ABNORMAL", "REFUND.CLOSED", "REFUND.SUCCESS"][..])
    );
}

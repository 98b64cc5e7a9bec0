//! The typed seed call serialises to the golden body the core's signing test signs
//! (`tests/fixtures/golden/seed_body.json`, made independently of this crate).
#![cfg(feature = "payscore")]

use wechatpay_api::payscore::payafter_orders::{
    complete, CompleteRequest, CompleteRequestDiscounts, Fees, FinishType,
};

#[test]
fn the_seed_body_is_the_golden_one() {
    let body = CompleteRequest {
        appid: "wxd678efh567hg6787".into(),
        service_id: "500001".into(),
        finish_type: Some(FinishType::V2),
        real_service_start_time: Some("20270115091010".into()),
        real_service_end_time: Some("20270115121010".into()),
        real_service_end_location: Some("深圳湾公园".into()),
        fees: Some(vec![
            Fees {
                fee_name: Some("租借费".into()),
                fee_count: Some(3),
                fee_amount: Some(1500),
                fee_desc: Some("3 小时 × 5.00".into()),
            },
            Fees {
                fee_name: Some("服务费".into()),
                fee_count: Some(1),
                fee_amount: Some(200),
                fee_desc: Some("免押".into()),
            },
        ]),
        discounts: Some(vec![CompleteRequestDiscounts {
            discount_name: Some("新用户".into()),
            discount_amount: Some(300),
            discount_desc: Some("首单".into()),
        }]),
        total_amount: Some(1400),
        ..Default::default()
    };
    let golden = std::fs::read(format!(
        "{}/../tests/fixtures/golden/seed_body.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let call = complete("ORDER/2027 甲", &body);
    assert_eq!(call.body().unwrap(), golden.as_slice());
    assert_eq!(
        call.template(),
        "/v3/payscore/payafter-orders/{out_order_no}/complete"
    );
}

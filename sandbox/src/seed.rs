//! The seed call of the demo, the benchmarks and the load generator: complete a pay-after order
//! with fees and discounts.

use wechatpay_api::payscore::payafter_orders::{
    complete, CompleteRequest, CompleteRequestDiscounts, CompleteResponse, CreateRequest, Fees,
    FinishType,
};
use wechatpay_core::Call;

/// The seed's app id.
pub const APPID: &str = "wxd678efh567hg6787";
/// The seed's service id.
pub const SERVICE_ID: &str = "500001";

/// The complete request body.
pub fn body() -> CompleteRequest {
    CompleteRequest {
        appid: APPID.into(),
        service_id: SERVICE_ID.into(),
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
                fee_desc: Some("免押金".into()),
            },
        ]),
        discounts: Some(vec![CompleteRequestDiscounts {
            discount_name: Some("新用户".into()),
            discount_amount: Some(300),
            discount_desc: Some("首单立减".into()),
        }]),
        total_amount: Some(1400),
        ..Default::default()
    }
}

/// The seed call for `out_order_no`.
pub fn call(out_order_no: &str) -> Call<CompleteResponse> {
    complete(out_order_no, &body())
}

/// The create request that makes the order the seed call completes.
pub fn create(out_order_no: &str) -> CreateRequest {
    CreateRequest {
        appid: APPID.into(),
        out_order_no: out_order_no.into(),
        service_id: SERVICE_ID.into(),
        ..Default::default()
    }
}

//! `/v3/payscore/payafter-orders` (先享后付订单): create, query, cancel, complete, sync.
//!
//! # Which fields are optional
//!
//! The published TypeScript marks almost nothing optional, so the OpenAPI YAML decides:
//! - **Requests**: a field is required when the YAML `required` list of its object names it
//!   (`time_range`, listed there but not a property of either source, is ignored); where the YAML
//!   has no list for that object, the TypeScript (no `?`) makes it required. So `create` needs
//!   `appid`, `out_order_no` and `service_id`; `complete` needs `appid` and `service_id`; `cancel`
//!   needs all three of its fields; `sync` (no YAML list) needs all of its fields.
//! - **Responses**: a field is required only when a YAML `required` list names it; all others are
//!   `Option`, because a field the server leaves out must never make a paid order unreadable.
//!   Unknown fields are ignored and unknown enum values kept (`Other`).
//!
//! Money is in integer fen (`i64`). Optional request fields are left out of the JSON when `None`.

use serde::{Deserialize, Serialize};

use crate::{Call, Sensitive};

/// The endpoint family's path.
pub const PATH: &str = "/v3/payscore/payafter-orders";

int_enum! {
    /// `finish_type`: how the order ends.
    FinishType {
        /// 1: the service was cancelled, nothing is charged.
        Cancelled = 1,
        /// 2: the service was completed and is charged.
        Completed = 2,
    }
}

string_enum! {
    /// `state` of an order.
    OrderState {
        /// Created, not yet accepted by the user.
        Created = "CREATED",
        /// Accepted by the user.
        UserAccepted = "USER_ACCEPTED",
        /// Completed by the merchant.
        Finished = "FINISHED",
        /// Paid by the user.
        UserPaid = "USER_PAID",
        /// Revoked.
        Revoked = "REVOKED",
        /// Expired.
        Expired = "EXPIRED",
    }
}

string_enum! {
    /// `pay_type` of a paid order.
    PayType {
        /// Paid through the merchant's channel.
        MchChannelPayType = "MchChannelPayType",
    }
}

string_enum! {
    /// `type` of a sync request.
    SyncType {
        /// The order was paid through another channel.
        OrderPaid = "Order_Paid",
    }
}

/// A fee line in a request (`fees[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    /// Name of the fee.
    pub fee_name: String,
    /// Count.
    pub fee_count: i64,
    /// Amount in fen.
    pub fee_amount: i64,
    /// Description.
    pub fee_desc: String,
}

/// A discount line in a `create` request (no amount: it is set on completion).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateDiscount {
    /// Name of the discount.
    pub discount_name: String,
    /// Description.
    pub discount_desc: String,
}

/// A discount line in a `complete` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    /// Name of the discount.
    pub discount_name: String,
    /// Amount in fen.
    pub discount_amount: i64,
    /// Description.
    pub discount_desc: String,
}

/// `POST /v3/payscore/payafter-orders` body.
///
/// `name`, `phone`, `userid` and `address` are sensitive fields ([`Sensitive`]): give the
/// plaintext; it is RSA-OAEP-encrypted with the platform key named in `Wechatpay-Serial` when the
/// request is signed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRequest {
    /// App id.
    pub appid: String,
    /// The merchant's order number.
    pub out_order_no: String,
    /// Pay-score service id.
    pub service_id: String,
    /// Service start time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_start_time: Option<String>,
    /// Service end time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_end_time: Option<String>,
    /// Service start location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_start_location: Option<String>,
    /// Service end location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_end_location: Option<String>,
    /// Service description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_introduction: Option<String>,
    /// Fees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fees: Option<Vec<Fee>>,
    /// Discounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discounts: Option<Vec<CreateDiscount>>,
    /// Risk amount in fen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_amount: Option<i64>,
    /// Merchant data echoed back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// Whether the user must confirm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_user_confirm: Option<bool>,
    /// The user's openid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    /// Encrypted name (sensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Sensitive>,
    /// Encrypted phone number (sensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<Sensitive>,
    /// Encrypted user id (sensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userid: Option<Sensitive>,
    /// Encrypted address (sensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Sensitive>,
}

/// Answer to `create`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateResponse {
    /// App id.
    pub appid: Option<String>,
    /// Merchant id.
    pub mchid: Option<String>,
    /// The merchant's order number.
    pub out_order_no: Option<String>,
    /// Service id.
    pub service_id: Option<String>,
    /// WeChat Pay's order id.
    pub order_id: Option<String>,
    /// Mini-program business type.
    pub miniprogram_businesstype: Option<String>,
    /// Mini-program app id.
    pub miniprogram_appid: Option<String>,
    /// Mini-program path.
    pub miniprogram_path: Option<String>,
    /// Mini-program user name.
    pub miniprogram_username: Option<String>,
    /// Package for the front end.
    pub package: Option<String>,
}

/// A fee line in an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFee {
    /// Name of the fee.
    pub fee_name: Option<String>,
    /// Count.
    pub fee_count: Option<i64>,
    /// Amount in fen.
    pub fee_amount: Option<i64>,
    /// Description.
    pub fee_desc: Option<String>,
}

/// A discount line in an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDiscount {
    /// Name of the discount.
    pub discount_name: Option<String>,
    /// Amount in fen.
    pub discount_amount: Option<i64>,
    /// Description.
    pub discount_desc: Option<String>,
}

/// Which order to query: by the merchant's number or by a query id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    /// `out_order_no`.
    OutOrderNo(String),
    /// `query_id`.
    QueryId(String),
}

/// Query parameters of `GET /v3/payscore/payafter-orders`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRequest {
    /// Service id.
    pub service_id: String,
    /// App id.
    pub appid: String,
    /// The order.
    pub order: OrderRef,
}

/// Answer to `query`: the order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// App id.
    pub appid: Option<String>,
    /// Merchant id.
    pub mchid: Option<String>,
    /// The merchant's order number.
    pub out_order_no: Option<String>,
    /// Service id.
    pub service_id: Option<String>,
    /// State.
    pub state: Option<OrderState>,
    /// How it was finished.
    pub finish_type: Option<FinishType>,
    /// Planned start.
    pub service_start_time: Option<String>,
    /// Planned end.
    pub service_end_time: Option<String>,
    /// Actual start.
    pub real_service_start_time: Option<String>,
    /// Actual end.
    pub real_service_end_time: Option<String>,
    /// Payment time.
    pub pay_succ_time: Option<String>,
    /// Planned start location.
    pub service_start_location: Option<String>,
    /// Planned end location.
    pub service_end_location: Option<String>,
    /// Actual start location.
    pub real_service_start_location: Option<String>,
    /// Actual end location.
    pub real_service_end_location: Option<String>,
    /// Service description.
    pub service_introduction: Option<String>,
    /// Fees.
    pub fees: Option<Vec<OrderFee>>,
    /// Discounts.
    pub discounts: Option<Vec<OrderDiscount>>,
    /// Risk amount in fen.
    pub risk_amount: Option<i64>,
    /// Total amount in fen.
    pub total_amount: Option<i64>,
    /// Merchant data.
    pub attach: Option<String>,
    /// Finish ticket.
    pub finish_ticket: Option<String>,
    /// Transaction id of the payment.
    pub finish_transaction_id: Option<String>,
    /// Pay type.
    pub pay_type: Option<PayType>,
}

/// `POST …/{out_order_no}/cancel` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    /// App id.
    pub appid: String,
    /// Service id.
    pub service_id: String,
    /// Why.
    pub reason: String,
}

/// Answer to `cancel` and `complete`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAck {
    /// App id.
    pub appid: String,
    /// Merchant id.
    pub mchid: String,
    /// The merchant's order number.
    pub out_order_no: String,
    /// Service id.
    pub service_id: String,
    /// WeChat Pay's order id.
    pub order_id: String,
}

/// Answer to `cancel`.
pub type CancelResponse = OrderAck;
/// Answer to `complete`.
pub type CompleteResponse = OrderAck;

/// `POST …/{out_order_no}/complete` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteRequest {
    /// App id.
    pub appid: String,
    /// Service id.
    pub service_id: String,
    /// Cancelled (1) or completed (2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_type: Option<FinishType>,
    /// Reason when cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// Actual start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub real_service_start_time: Option<String>,
    /// Actual end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub real_service_end_time: Option<String>,
    /// Actual end location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub real_service_end_location: Option<String>,
    /// Fees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fees: Option<Vec<Fee>>,
    /// Discounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discounts: Option<Vec<Discount>>,
    /// Total amount in fen: the sum of fees minus the sum of discounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<i64>,
    /// Finish ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_ticket: Option<String>,
    /// Whether the payment is subject to profit sharing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profit_sharing: Option<bool>,
}

/// `detail` of a sync request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncDetail {
    /// When the order was paid.
    pub paid_time: String,
}

/// `POST …/{out_order_no}/sync` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// App id.
    pub appid: String,
    /// Service id.
    pub service_id: String,
    /// Sync type.
    #[serde(rename = "type")]
    pub sync_type: SyncType,
    /// Details.
    pub detail: SyncDetail,
}

/// Answer to `sync`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// App id.
    pub appid: String,
    /// Merchant id.
    pub mchid: String,
    /// The merchant's order number.
    pub out_order_no: String,
    /// WeChat Pay's order id.
    pub order_id: String,
}

/// `POST /v3/payscore/payafter-orders` — 创建先享后付订单.
pub fn create(body: &CreateRequest) -> Call<CreateResponse> {
    Call::post(PATH).json(body)
}

/// `GET /v3/payscore/payafter-orders` — 查询先享后付订单.
pub fn query(params: &QueryRequest) -> Call<Order> {
    let call = Call::get(PATH).query("service_id", &params.service_id);
    let call = match &params.order {
        OrderRef::OutOrderNo(no) => call.query("out_order_no", no),
        OrderRef::QueryId(id) => call.query("query_id", id),
    };
    call.query("appid", &params.appid)
}

/// `POST /v3/payscore/payafter-orders/{out_order_no}/cancel` — 撤销先享后付订单.
pub fn cancel(out_order_no: &str, body: &CancelRequest) -> Call<CancelResponse> {
    Call::post("/v3/payscore/payafter-orders/{out_order_no}/cancel")
        .path_param("out_order_no", out_order_no)
        .json(body)
}

/// `POST /v3/payscore/payafter-orders/{out_order_no}/complete` — 完结先享后付订单.
///
/// ```
/// use wechatpay_core::api::payscore::payafter_orders::{complete, CompleteRequest, Fee};
/// let call = complete("ORDER123", &CompleteRequest {
///     appid: "wxd678efh567hg6787".into(),
///     service_id: "500001".into(),
///     fees: Some(vec![Fee { fee_name: "ride".into(), fee_count: 1, fee_amount: 3000, fee_desc: "30 min".into() }]),
///     total_amount: Some(3000),
///     ..Default::default()
/// });
/// assert_eq!(call.template(), "/v3/payscore/payafter-orders/{out_order_no}/complete");
/// ```
pub fn complete(out_order_no: &str, body: &CompleteRequest) -> Call<CompleteResponse> {
    Call::post("/v3/payscore/payafter-orders/{out_order_no}/complete")
        .path_param("out_order_no", out_order_no)
        .json(body)
}

/// `POST /v3/payscore/payafter-orders/{out_order_no}/sync` — 支付分订单同步.
pub fn sync(out_order_no: &str, body: &SyncRequest) -> Call<SyncResponse> {
    Call::post("/v3/payscore/payafter-orders/{out_order_no}/sync")
        .path_param("out_order_no", out_order_no)
        .json(body)
}

//! Calls written with the official Go SDK (wechatpay-go) or Java SDK (wechatpay-java), translated
//! field by field with the official type names: the Go package (`jsapi.`, `refunddomestic.`)
//! becomes the endpoint's Rust module (`pay::transactions::jsapi`, `refund::domestic`), a type
//! the sub-packages share lives in the module above (`transactions::Amount`), path parameters
//! are the function's arguments, a required field is a value and an optional one `Some(…)`,
//! `core.String("x")` is `"x".into()`, and an enum constant is a variant
//! (`refunddomestic.REQFUNDSACCOUNT_AVAILABLE` → `ReqFundsAccount::Available`). Each call is
//! signed, so a required field left empty would fail here.
#![cfg(all(
    feature = "pay",
    feature = "refund",
    feature = "profitsharing",
    feature = "transfer",
    feature = "marketing",
    feature = "payroll-card",
    feature = "bill",
    feature = "certificates",
    feature = "qrcode"
))]
// Each translation keeps the `..Default::default()` a Go literal's unset pointers become.
#![allow(clippy::needless_update)]

use serde_json::Value;
use wechatpay_api::pay::{partner, transactions};
use wechatpay_core::Call;

use crate::support::client;

/// The call signs (every required field set), and its body is the JSON given.
fn signs<T>(call: Call<T>, method: &str, path: &str) -> Value {
    let signed = client()
        .sign(call)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    assert_eq!(signed.request.method().as_str(), method);
    assert_eq!(signed.request.uri().path(), path);
    if signed.request.body().is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(signed.request.body()).unwrap()
    }
}

#[test]
fn go_jsapi_prepay() {
    use transactions::{jsapi, Amount, Payer};
    let body = signs(
        transactions::jsapi(&jsapi::PrepayRequest {
            appid: "wxd678efh567hg6787".into(),
            mchid: "1900000001".into(),
            description: "Image形象店-深圳腾大-QQ公仔".into(),
            out_trade_no: "1217752501201407033233368018".into(),
            attach: Some("自定义数据说明".into()),
            notify_url: "https://www.weixin.qq.com/wxpay/pay.php".into(),
            amount: Amount {
                total: 100,
                ..Default::default()
            },
            payer: Payer {
                openid: Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into()),
                ..Default::default()
            },
            ..Default::default()
        }),
        "POST",
        "/v3/pay/transactions/jsapi",
    );
    assert_eq!(body["payer"]["openid"], "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
}

#[test]
fn go_native_prepay_with_scene_detail_and_settle_info() {
    use transactions::{native, Amount, Detail, GoodsDetail, SceneInfo, SettleInfo, StoreInfo};
    let body = signs(
        transactions::native(&native::PrepayRequest {
            appid: "wxd678efh567hg6787".into(),
            mchid: "1900000001".into(),
            description: "Image形象店-深圳腾大-QQ公仔".into(),
            out_trade_no: "1217752501201407033233368018".into(),
            time_expire: Some("2027-01-15T13:00:00+08:00".into()),
            attach: Some("自定义数据说明".into()),
            notify_url: "https://www.weixin.qq.com/wxpay/pay.php".into(),
            goods_tag: Some("WXG".into()),
            support_fapiao: Some(false),
            amount: Amount {
                total: 100,
                currency: Some("CNY".into()),
            },
            detail: Some(Detail {
                cost_price: Some(608800),
                invoice_id: Some("微信123".into()),
                goods_detail: Some(vec![GoodsDetail {
                    merchant_goods_id: "1246464644".into(),
                    wechatpay_goods_id: Some("1001".into()),
                    goods_name: Some("iPhoneX 256G".into()),
                    quantity: 1,
                    unit_price: 528800,
                }]),
            }),
            settle_info: Some(SettleInfo {
                profit_sharing: Some(false),
            }),
            scene_info: Some(SceneInfo {
                payer_client_ip: "14.23.150.211".into(),
                device_id: Some("013467007045764".into()),
                store_info: Some(StoreInfo {
                    id: "0001".into(),
                    name: Some("腾讯大厦分店".into()),
                    area_code: Some("440305".into()),
                    address: Some("广东省深圳市南山区科技中一道10000号".into()),
                }),
            }),
            ..Default::default()
        }),
        "POST",
        "/v3/pay/transactions/native",
    );
    assert_eq!(body["scene_info"]["store_info"]["id"], "0001");
}

#[test]
fn go_h5_and_app_prepay() {
    use transactions::{app, h5, Amount, H5Info};
    signs(
        transactions::h5(&h5::PrepayRequest {
            appid: "wxd678efh567hg6787".into(),
            mchid: "1900000001".into(),
            description: "H5".into(),
            out_trade_no: "H5-1".into(),
            notify_url: "https://www.weixin.qq.com/wxpay/pay.php".into(),
            amount: Amount {
                total: 100,
                ..Default::default()
            },
            scene_info: h5::SceneInfo {
                payer_client_ip: "14.23.150.211".into(),
                h5_info: H5Info {
                    r#type: "iOS".into(),
                    app_name: Some("王者荣耀".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        }),
        "POST",
        "/v3/pay/transactions/h5",
    );
    signs(
        transactions::app(&app::PrepayRequest {
            appid: "wxd678efh567hg6787".into(),
            mchid: "1900000001".into(),
            description: "APP".into(),
            out_trade_no: "APP-1".into(),
            notify_url: "https://www.weixin.qq.com/wxpay/pay.php".into(),
            amount: Amount {
                total: 100,
                ..Default::default()
            },
            ..Default::default()
        }),
        "POST",
        "/v3/pay/transactions/app",
    );
}

#[test]
fn go_query_and_close_order() {
    use transactions::{CloseOrderRequest, QueryOrderByIdRequest, QueryOrderByOutTradeNoRequest};
    signs(
        transactions::get_by_transaction_id(
            "4200000985202103031441826014",
            &QueryOrderByIdRequest {
                mchid: "1900000001".into(),
            },
        ),
        "GET",
        "/v3/pay/transactions/id/4200000985202103031441826014",
    );
    signs(
        transactions::get_by_out_trade_no(
            "1217752501201407033233368018",
            &QueryOrderByOutTradeNoRequest {
                mchid: "1900000001".into(),
            },
        ),
        "GET",
        "/v3/pay/transactions/out-trade-no/1217752501201407033233368018",
    );
    signs(
        transactions::close(
            "1217752501201407033233368018",
            &CloseOrderRequest {
                mchid: "1900000001".into(),
            },
        ),
        "POST",
        "/v3/pay/transactions/out-trade-no/1217752501201407033233368018/close",
    );
}

#[test]
fn go_partner_jsapi_prepay_and_query() {
    use partner::{jsapi, Amount, Payer, QueryOrderByIdRequest};
    signs(
        partner::transactions_jsapi(&jsapi::PrepayRequest {
            sp_appid: "wx8888888888888888".into(),
            sp_mchid: "1230000109".into(),
            sub_appid: Some("wxd678efh567hg6999".into()),
            sub_mchid: "1900000109".into(),
            description: "Image形象店-深圳腾大-QQ公仔".into(),
            out_trade_no: "1217752501201407033233368018".into(),
            notify_url: "https://www.weixin.qq.com/wxpay/pay.php".into(),
            amount: Amount {
                total: 100,
                currency: Some("CNY".into()),
            },
            payer: Payer {
                sp_openid: Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into()),
                ..Default::default()
            },
            ..Default::default()
        }),
        "POST",
        "/v3/pay/partner/transactions/jsapi",
    );
    signs(
        partner::get_transactions_by_transaction_id(
            "4200000985202103031441826014",
            &QueryOrderByIdRequest {
                sp_mchid: "1230000109".into(),
                sub_mchid: "1900000109".into(),
            },
        ),
        "GET",
        "/v3/pay/partner/transactions/id/4200000985202103031441826014",
    );
}

#[test]
fn go_refund_create_and_query() {
    use wechatpay_api::refund::domestic::{
        self as refunddomestic, Account, AmountReq, CreateRequest, FundsFromItem, GoodsDetail,
        QueryByOutRefundNoRequest, ReqFundsAccount,
    };
    let body = signs(
        refunddomestic::refunds(&CreateRequest {
            sub_mchid: Some("1900000109".into()),
            transaction_id: Some("1217752501201407033233368018".into()),
            out_trade_no: Some("1217752501201407033233368018".into()),
            out_refund_no: "1217752501201407033233368018".into(),
            reason: Some("商品已售完".into()),
            notify_url: Some("https://weixin.qq.com".into()),
            funds_account: Some(ReqFundsAccount::Available),
            amount: AmountReq {
                currency: "CNY".into(),
                from: Some(vec![FundsFromItem {
                    account: Account::Available,
                    amount: 444,
                    ..Default::default()
                }]),
                refund: 888,
                total: 888,
            },
            goods_detail: Some(vec![GoodsDetail {
                merchant_goods_id: "1217752501201407033233368018".into(),
                wechatpay_goods_id: Some("1001".into()),
                goods_name: Some("iPhone6s 16G".into()),
                unit_price: 528800,
                refund_amount: 528800,
                refund_quantity: 1,
                ..Default::default()
            }]),
        }),
        "POST",
        "/v3/refund/domestic/refunds",
    );
    assert_eq!(body["funds_account"], "AVAILABLE");
    assert_eq!(body["amount"]["from"][0]["account"], "AVAILABLE");
    signs(
        refunddomestic::get_refunds_by_out_refund_no(
            "1217752501201407033233368018",
            &QueryByOutRefundNoRequest {
                sub_mchid: Some("1900000109".into()),
            },
        ),
        "GET",
        "/v3/refund/domestic/refunds/1217752501201407033233368018",
    );
}

#[test]
fn go_profitsharing_orders_receivers_and_returns() {
    use wechatpay_api::profitsharing::{
        orders, receivers, return_orders, AddReceiverRequest, CreateOrderReceiver,
        CreateOrderRequest, CreateReturnOrderRequest, DeleteReceiverRequest, QueryOrderRequest,
        ReceiverRelationType, ReceiverType, UnfreezeOrderRequest,
    };
    signs(
        orders::create(&CreateOrderRequest {
            appid: "wx8888888888888888".into(),
            out_order_no: "P20150806125346".into(),
            receivers: Some(vec![CreateOrderReceiver {
                account: "86693852".into(),
                amount: 888,
                description: "分给商户A".into(),
                name: Some("hu89ohu89ohu89o".into()),
                r#type: "MERCHANT_ID".into(),
            }]),
            sub_appid: Some("wx8888888888888889".into()),
            sub_mchid: Some("1900000109".into()),
            transaction_id: "4208450740201411110007820472".into(),
            unfreeze_unsplit: true,
            ..Default::default()
        }),
        "POST",
        "/v3/profitsharing/orders",
    );
    signs(
        orders::unfreeze(&UnfreezeOrderRequest {
            description: "解冻全部剩余资金".into(),
            out_order_no: "P20150806125346".into(),
            sub_mchid: Some("1900000109".into()),
            transaction_id: "4208450740201411110007820472".into(),
            ..Default::default()
        }),
        "POST",
        "/v3/profitsharing/orders/unfreeze",
    );
    signs(
        orders::get_by_out_order_no(
            "P20150806125346",
            &QueryOrderRequest {
                sub_mchid: Some("1900000109".into()),
                transaction_id: "4208450740201411110007820472".into(),
            },
        ),
        "GET",
        "/v3/profitsharing/orders/P20150806125346",
    );
    signs(
        receivers::add(&AddReceiverRequest {
            account: "86693852".into(),
            appid: "wx8888888888888888".into(),
            custom_relation: Some("代理商".into()),
            name: Some(wechatpay_core::Sensitive::new("hu89ohu89ohu89o")),
            relation_type: ReceiverRelationType::Store,
            sub_appid: Some("wx8888888888888889".into()),
            sub_mchid: Some("1900000109".into()),
            r#type: ReceiverType::MerchantId,
        }),
        "POST",
        "/v3/profitsharing/receivers/add",
    );
    signs(
        receivers::delete(&DeleteReceiverRequest {
            account: "86693852".into(),
            appid: "wx8888888888888888".into(),
            sub_appid: Some("wx8888888888888889".into()),
            sub_mchid: Some("1900000109".into()),
            r#type: ReceiverType::MerchantId,
        }),
        "POST",
        "/v3/profitsharing/receivers/delete",
    );
    signs(
        return_orders::create(&CreateReturnOrderRequest {
            amount: 10,
            description: "用户退款".into(),
            order_id: Some("3008450740201411110007820472".into()),
            out_order_no: Some("P20150806125346".into()),
            out_return_no: "R20190516001".into(),
            return_mchid: "86693852".into(),
            sub_mchid: Some("1900000109".into()),
        }),
        "POST",
        "/v3/profitsharing/return-orders",
    );
}

#[test]
fn go_transfer_batch_create_and_query() {
    use wechatpay_api::transfer::batches::{
        self as transferbatch, GetTransferBatchByOutNoRequest, InitiateBatchTransferRequest,
        TransferDetailInput,
    };
    let body = signs(
        transferbatch::create(&InitiateBatchTransferRequest {
            appid: "wxf636efh567hg4356".into(),
            out_batch_no: "plfk2020042013".into(),
            batch_name: "2019年1月深圳分部报销单".into(),
            batch_remark: "2019年1月深圳分部报销单".into(),
            total_amount: 4000000,
            total_num: 200,
            transfer_detail_list: vec![TransferDetailInput {
                openid: "o-MYE42l80oelYMDE34nYD456Xoy".into(),
                out_detail_no: "x23zy545Bd5436".into(),
                transfer_amount: 200000,
                transfer_remark: "2020年4月报销".into(),
                user_name: Some(wechatpay_core::Sensitive::new("张三")),
                ..Default::default()
            }],
            transfer_scene_id: Some("1000".into()),
            ..Default::default()
        }),
        "POST",
        "/v3/transfer/batches",
    );
    assert_eq!(body["transfer_scene_id"], "1000");
    signs(
        transferbatch::get_by_out_batch_no(
            "plfk2020042013",
            &GetTransferBatchByOutNoRequest {
                need_query_detail: true,
                offset: Some(0),
                limit: Some(20),
                detail_status: Some("FAIL".into()),
            },
        ),
        "GET",
        "/v3/transfer/batches/out-batch-no/plfk2020042013",
    );
}

#[test]
fn go_cashcoupons_send_and_create_stock() {
    use wechatpay_api::marketing::favor::{
        self as cashcoupons, CouponRule, CreateCouponStockRequest, FixedValueStockMsg,
        SendCouponRequest, StockRule,
    };
    signs(
        cashcoupons::users_coupons(
            "2323dfsdf342342",
            &SendCouponRequest {
                stock_id: "9856000".into(),
                out_request_no: "89560002019101000121".into(),
                appid: "wx233544546545989".into(),
                stock_creator_mchid: "8956000".into(),
                coupon_value: Some(100),
                coupon_minimum: Some(100),
            },
        ),
        "POST",
        "/v3/marketing/favor/users/2323dfsdf342342/coupons",
    );
    signs(
        cashcoupons::coupon_stocks(&CreateCouponStockRequest {
            stock_name: "微信支付代金券批次".into(),
            belong_merchant: "98568865".into(),
            available_begin_time: "2015-05-20T13:29:35.120+08:00".into(),
            available_end_time: "2015-05-20T13:29:35.120+08:00".into(),
            stock_use_rule: StockRule {
                max_coupons: 100,
                max_amount: 5000,
                max_amount_by_day: Some(400),
                max_coupons_per_user: 3,
                natural_person_limit: false,
                prevent_api_abuse: false,
                ..Default::default()
            },
            coupon_use_rule: CouponRule {
                fixed_normal_coupon: Some(FixedValueStockMsg {
                    coupon_amount: 100,
                    transaction_minimum: 100,
                    ..Default::default()
                }),
                available_merchants: Some(vec!["9856000".into()]),
                ..Default::default()
            },
            no_cash: false,
            stock_type: "NORMAL".into(),
            out_request_no: "89560002019101000121".into(),
            ..Default::default()
        }),
        "POST",
        "/v3/marketing/favor/coupon-stocks",
    );
}

#[test]
fn go_payrollcard_token_with_sensitive_fields() {
    use wechatpay_api::payroll_card::{tokens, CreateTokenRequest};
    let body = signs(
        tokens::create(&CreateTokenRequest {
            openid: "onqOjjmo8wmTOOtSKwXtGjg9Gb58".into(),
            appid: Some("wxa1111111".into()),
            sub_mchid: "1111111".into(),
            sub_appid: Some("wxa1111111".into()),
            user_name: wechatpay_core::Sensitive::new("张三"),
            id_card_number: wechatpay_core::Sensitive::new("110101199003070000"),
            ..Default::default()
        }),
        "POST",
        "/v3/payroll-card/tokens",
    );
    assert_ne!(body["user_name"], "张三", "encrypted at signing");
}

#[test]
fn go_scan_and_ride_transaction() {
    use wechatpay_api::qrcode::{
        transactions as weixinpayscanandride, CreateTransactionRequest, OrderAmount, TradeScene,
    };
    signs(
        weixinpayscanandride::create(&CreateTransactionRequest {
            appid: "wxcbda96de0b165486".into(),
            description: "公交卡消费".into(),
            out_trade_no: "20150806125346".into(),
            trade_scene: TradeScene::Bus,
            contract_id: "Wx15463511252015071056489715".into(),
            notify_url: "https://yoursite.com/wxpay.html".into(),
            amount: OrderAmount {
                total: 600,
                currency: Some("CNY".into()),
            },
            ..Default::default()
        }),
        "POST",
        "/v3/qrcode/transactions",
    );
}

#[test]
fn java_bill_download_queries() {
    use wechatpay_api::bill::{
        fundflowbill, tradebill, AccountType, BillType, GetFundFlowBillRequest,
        GetTradeBillRequest, TarType,
    };
    signs(
        tradebill::get(&GetTradeBillRequest {
            bill_date: "2026-01-14".into(),
            bill_type: Some(BillType::All),
            tar_type: Some(TarType::Gzip),
            ..Default::default()
        }),
        "GET",
        "/v3/bill/tradebill",
    );
    signs(
        fundflowbill::get(&GetFundFlowBillRequest {
            bill_date: "2026-01-14".into(),
            account_type: Some(AccountType::Basic),
            ..Default::default()
        }),
        "GET",
        "/v3/bill/fundflowbill",
    );
}

#[test]
fn go_certificates_download() {
    use wechatpay_api::certificates::{download, DownloadQuery};
    signs(
        download(&DownloadQuery::default()),
        "GET",
        "/v3/certificates",
    );
}

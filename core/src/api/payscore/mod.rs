//! `/v3/payscore/…` (微信支付分).

pub mod payafter_orders;

//! # wechatpay
//!
//! WeChat Pay APIv3 in one dependency. The sans-IO core is always here (its items are re-exported
//! at the root: [`Client`], [`Call`], [`Merchant`], [`notify`], …); the rest is chosen by cargo
//! feature:
//!
//! | feature | gives |
//! |---|---|
//! | `api` (default) | [`api`]: the typed endpoints of the default families (payments, refunds, bills, profit sharing, transfers, pay-score, certificates) and every notification event |
//! | `full`, or one family (`marketing`, `ecommerce`, …) | more of [`api`]: all 53 families, or the ones named |
//! | `v2` | `api::v2`: the 55 APIv2 (XML) endpoints (in `full` too); the protocol is always in `v2` (the core's) |
//! | `hyper` | `hyper`: the async client on hyper and tokio |
//! | `reqwest` | `reqwest`: the async client on your `reqwest::Client` |
//! | `ureq` | `ureq`: the blocking client |
//! | `axum` | `axum`: callbacks in axum 0.8 (`Delivery` + `Notifications::handle`) |
//! | `redis` | `redis`: the Redis notification store, for instances behind a load balancer |
//!
//! ```toml
//! [dependencies]
//! wechatpay = { version = "0.1", features = ["hyper"] }
//! ```
//!
//! ```no_run
//! # #[cfg(feature = "hyper")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use wechatpay::api::pay::transactions::{jsapi, Amount, JsapiRequest, JsapiRequestPayer};
//! use wechatpay::{Client, Merchant, PlatformKey, PlatformKeys, PrivateKey};
//!
//! let merchant = Merchant::new("1900000001", "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B", PrivateKey::from_file("apiclient_key.pem")?)?;
//! let keys = PlatformKeys::new().with(PlatformKey::from_public_key_file("PUB_KEY_ID_0119000000012026112600000001", "pub_key.pem")?);
//! let client = wechatpay::hyper::Client::new(Client::builder(merchant).platform_keys(keys).build()?)?;
//! let prepay = client.send(jsapi(&JsapiRequest {
//!     appid: "wxd678efh567hg6787".into(),
//!     mchid: "1900000001".into(),
//!     description: "充电宝租借".into(),
//!     out_trade_no: "ORDER-20270115-001".into(),
//!     notify_url: "https://merchant.example/notify".into(),
//!     amount: Amount { total: 880, ..Default::default() },
//!     payer: JsapiRequestPayer { openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(), ..Default::default() },
//!     ..Default::default()
//! })).await?;
//! let params = client.core().jsapi_params("wxd678efh567hg6787", &prepay.data.prepay_id)?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use wechatpay_core::*;

/// Every endpoint and notification event, typed (`wechatpay-api`).
#[cfg(feature = "typed")]
pub use wechatpay_api as api;

/// The async client on hyper and tokio (`wechatpay-hyper`).
#[cfg(feature = "hyper")]
pub use wechatpay_hyper as hyper;

/// The async client on your `reqwest::Client` (`wechatpay-reqwest`).
#[cfg(feature = "reqwest")]
pub use wechatpay_reqwest as reqwest;

/// The blocking client on ureq (`wechatpay-ureq`).
#[cfg(feature = "ureq")]
pub use wechatpay_ureq as ureq;

/// Callbacks in axum 0.8 (`wechatpay-axum`).
#[cfg(feature = "axum")]
pub use wechatpay_axum as axum;

/// The Redis notification store (`wechatpay-redis`): callbacks processed once across
/// instances that share a Redis.
#[cfg(feature = "redis")]
pub use wechatpay_redis as redis;

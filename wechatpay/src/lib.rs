// The README is the crate's documentation (its example needs the `hyper` feature, which docs.rs
// and the workspace build turn on).
#![cfg_attr(feature = "hyper", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "hyper"),
    doc = "WeChat Pay in one dependency: the README is these docs with the `hyper` feature on."
)]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use wechatpay_core::*;

/// The `http` crate the requests, answers, headers and status codes are made of.
pub use http;

/// A WeChat Pay gateway for tests, in memory or on 127.0.0.1 (`wechatpay-sandbox`).
#[cfg(feature = "sandbox")]
pub use wechatpay_sandbox as sandbox;

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

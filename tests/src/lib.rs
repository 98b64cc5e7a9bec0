//! Integration tests live in `tests/`. The Rust examples of the READMEs are doctests of this
//! crate (part of `cargo test --workspace`), so that what a user copies from a README builds
//! (and, where it needs no credentials or network, runs).

/// The repository's README.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Readme;

/// `wechatpay-api`'s README.
#[cfg(doctest)]
#[doc = include_str!("../../api/README.md")]
pub struct ApiReadme;

/// `wechatpay-sandbox`'s README.
#[cfg(doctest)]
#[doc = include_str!("../../sandbox/README.md")]
pub struct SandboxReadme;

/// `wechatpay-redis`'s README.
#[cfg(doctest)]
#[doc = include_str!("../../store-redis/README.md")]
pub struct RedisReadme;

/// `wechatpay-hyper`'s README.
#[cfg(doctest)]
#[doc = include_str!("../../transport-hyper/README.md")]
pub struct HyperReadme;

/// `wechatpay-ureq`'s README.
#[cfg(doctest)]
#[doc = include_str!("../../transport-ureq/README.md")]
pub struct UreqReadme;

/// `wechatpay`'s (the facade's) README.
#[cfg(doctest)]
#[doc = include_str!("../../wechatpay/README.md")]
pub struct FacadeReadme;

/// `wechatpay-axum`'s README.
#[cfg(doctest)]
#[doc = include_str!("../../axum/README.md")]
pub struct AxumReadme;

/// `wechatpay-reqwest`'s README.
#[cfg(doctest)]
#[doc = include_str!("../../transport-reqwest/README.md")]
pub struct ReqwestReadme;

/// `wechatpay-core`'s README.
#[cfg(doctest)]
#[doc = include_str!("../../core/README.md")]
pub struct CoreReadme;

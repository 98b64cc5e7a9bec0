//! # wechatpay-core
//!
//! Sans-IO WeChat Pay APIv3: this crate turns a call into a signed `http::Request<Vec<u8>>` and the
//! `http::Response` that comes back into a verified, typed value or a precise error. It opens no
//! socket itself: `AsyncClient` and [`BlockingClient`] drive the protocol over a
//! [`connector`] (an HTTP client: `wechatpay-hyper`, `-reqwest`, `-ureq`, or one of your own),
//! and start a thread only when asked ([`BlockingClient::spawn_background_refresh`]). Every
//! input a test has to pin is injectable:
//!
//! - **Wall-clock time** only through [`Clock`]: the client's (which its [`notify::Callbacks`]
//!   share) for request timestamps, the answer and callback clock window and certificate
//!   validity; [`notify::MemoryStore`]'s own for its leases.
//! - **Randomness** only through [`NonceSource`]: request nonces, and the tokens with which
//!   [`notify::Callbacks`] claim a notification in a store (the client's source unless given
//!   their own).
//! - The [`exchange`] state machines take `now` and `Instant`s as inputs. Their two drivers
//!   (the loops the clients run) read the
//!   monotonic clock (`Instant::now`) for the refresh rate limit and the call's duration; a
//!   streamed [`exchange::Download`] reads it when it is created and when it ends, for its
//!   span's duration only (nothing is decided on it).
//!
//! The operating system's RNG is read nowhere else, except inside the crypto backend where a
//! primitive needs fresh randomness and no output depends on it: the RSA-OAEP padding seed
//! when encrypting sensitive fields (both backends; OAEP ciphertexts are never compared), and
//! the blinding of RSA-OAEP decryption under the `ring` feature (RustCrypto `rsa`). RSASSA-PKCS1
//! v1.5 signing takes an RNG argument that both aws-lc-rs and ring ignore (the padding is
//! deterministic: the conformance vectors pin every signature byte).
//!
//! ```
//! use wechatpay_core::{Call, Client, FixedClock, FixedNonce, Merchant, PlatformKey, PlatformKeys, PrivateKey};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let merchant = Merchant::new(
//!     "1900000001",
//!     "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
//!     PrivateKey::from_file("../tests/fixtures/keys/merchant_key.pem")?,
//! )?;
//! let platform = PlatformKey::from_certificate_file("../tests/fixtures/keys/platform_cert.pem")?;
//! let client = Client::builder(merchant)
//!     .platform_keys(PlatformKeys::new().with(platform))
//!     .clock(FixedClock(1_800_000_000))
//!     .nonce_source(FixedNonce("5K8264ILTKCH16CQ2502SI8ZNMTM67VS".into()))
//!     .build()?;
//!
//! // Typed: `wechatpay_api::payscore::payafter_orders::complete("ORDER123", &CompleteRequest { … })`.
//! let call = Call::<serde_json::Value>::post("/v3/payscore/payafter-orders/{out_order_no}/complete")
//!     .path_param("out_order_no", "ORDER123")
//!     .json(&serde_json::json!({"appid": "wx7c3a5f9e1d2b4086", "service_id": "500001", "total_amount": 0}));
//! let signed = client.sign(call)?;
//! // send `signed.request` with any HTTP client, then:
//! // let answer = client.verify(&signed.expect, &response)?;   // ApiResponse<serde_json::Value>
//! assert!(signed.request.headers()["Authorization"].to_str()?.starts_with("WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\""));
//! # Ok(()) }
//! ```
//!
//! The typed endpoints (all 517) and notification resources live in `wechatpay-api`.
//!
//! At the root: the [`Client`] and its builder, the merchant's credentials ([`Merchant`],
//! [`PrivateKey`], [`Signer`]), the platform keys ([`PlatformKeys`], [`SharedKeys`]), a
//! [`Call`] and its [`ApiResponse`], the [`ApiV3Key`], [`Sensitive`] fields, the clocks and
//! nonce sources, the two clients over a connector, and every error type. The modules are the
//! steps that stand on their own: [`sign`] (messages and `Authorization`), [`verify`] (the
//! response rule), [`exchange`] (the state machines the clients run), [`connector`] (the seam to
//! an HTTP client), [`transport`] (its settings), [`config`] (the configuration file),
//! [`notify`] (callbacks, processed once), [`certificates`] (platform certificate download),
//! [`paysign`] (client payment parameters), [`media`] (uploads), [`bill`] (bills), [`v2`]
//! (APIv2), [`files`] (bounded file reads) and [`codegen`] (what the typed API builds on).
//! Each type has one path. The crypto backend is chosen by a cargo feature:
//! `aws-lc-rs` (default) or `ring` ([`CRYPTO_BACKEND`] says which).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(unreachable_pub)]

mod aead;
pub mod bill;
pub mod certificates;
mod client;
mod clock;
pub mod codegen;
pub mod config;
pub mod connector;
mod credentials;
mod crypto;
mod error;
pub mod exchange;
pub mod files;
mod http_client;
mod keys;
pub mod media;
pub mod notify;
mod path;
pub mod paysign;
mod pem;
mod request;
mod response;
mod sensitive;
pub mod sign;
pub mod transport;
pub mod v2;
pub mod verify;

pub use aead::ApiV3Key;
pub use client::{Client, ClientBuilder, Expect, SignedRequest, DEFAULT_BASE_URL};
pub use clock::{Clock, FixedClock, FixedNonce, NonceSource, OsNonce, SystemClock};
pub use credentials::{Merchant, PrivateKey, Signer};
pub use crypto::BACKEND as CRYPTO_BACKEND;
pub use error::{
    AeadError, ApiError, BillError, BillReadError, BuildError, CallError, CertificateError,
    ConfigError, KeyError, OaepError, RefreshError, ResponseError, SignError, TransportError,
    TransportErrorKind, UploadFileShrank, V2Error, VerifyError,
};
#[cfg(feature = "async")]
pub use http_client::AsyncClient;
pub use http_client::BlockingClient;
pub use keys::{PlatformKey, PlatformKeyKind, PlatformKeys, SharedKeys};
pub use request::Call;
pub use response::{ApiResponse, JsonError};
pub use sensitive::Sensitive;

//! # wechatpay-api
//!
//! Every WeChat Pay APIv3 endpoint — all 517 — and all 17 notification events, typed, generated
//! by `cargo xtask codegen` from the official SDKs' models (wechatpay-go and wechatpay-java, for
//! the 156 endpoints they cover) merged over the community catalog of the published schemas
//! (`api/spec/`; where they disagree, and what was chosen, is `api/spec/conflicts.md`). Each
//! function returns a [`wechatpay_core::Call`] that knows its answer type; sign and send it with
//! any transport (`wechatpay-ureq`, `wechatpay-hyper`, …) or with
//! [`wechatpay_core::Client::sign`] yourself.
//!
//! ```
//! use wechatpay_api::payscore::payafter_orders::{complete, CompleteRequest};
//!
//! let call = complete("ORDER123", &CompleteRequest {
//!     appid: "wx7c3a5f9e1d2b4086".into(),
//!     service_id: "500001".into(),
//!     total_amount: Some(0),
//!     ..Default::default()
//! });
//! assert_eq!(call.template(), "/v3/payscore/payafter-orders/{out_order_no}/complete");
//! // let answer = client.send(call)?;   // ApiResponse<CompleteResponse>
//! ```
//!
//! ## Features
//!
//! One cargo feature per URL family (`pay`, `refund`, `marketing`, `fund-app`, …; `full` = all 53).
//! The default set is what most merchants use — `pay`, `refund`, `bill`, `billdownload`,
//! `profitsharing`, `transfer`, `fund-app`, `payscore`, `certificates` — so a merchant who takes
//! payments does not compile 98 marketing endpoints. [`events`] and the endpoint metadata
//! ([`ENDPOINTS_JSON`]) are always there.
//!
//! ## Names
//!
//! - **Functions**, one per endpoint, by one mechanical rule from method and path, with a small
//!   checked-in override table (`api/spec/names.json`) where the rule reads poorly. The module is
//!   the first two literal segments after `/v3/`, in snake_case (`/v3/pay/transactions/…` →
//!   `pay::transactions`; one segment when the second is a placeholder or absent:
//!   `/v3/certificates` → `certificates`). The function is the remaining literal segments joined
//!   with `_`; a literal directly followed by a placeholder whose name ends with it is left out
//!   (`out-trade-no/{out_trade_no}`, `id/{transaction_id}`); other placeholders are left out too,
//!   except the last segment's, which becomes `by_<name>`. A `POST` whose path ends in a literal is
//!   named by that action (`jsapi`, `close`, `complete`, `refunds`); a `POST` on the module itself
//!   is `create`; every other call starts with its HTTP verb (`get_by_out_trade_no`, `patch_…`,
//!   `delete_…`). When two endpoints of a module would share a name, each adds `_by_<name>` for the
//!   placeholders it left out. Path parameters are the function's arguments, then its declared
//!   headers, the query struct and the body struct.
//! - **Types the official SDKs model** keep the official name: the request model
//!   (`PrepayRequest`, `CreateRequest`, `QueryOrderByIdRequest` — its query parameters, or its
//!   body, without the path parameters), the answer model (`Transaction`, `Refund`,
//!   `OrdersEntity`) and every nested model (`Amount`, `Payer`, `SceneInfo`, `StoreInfo`,
//!   `PromotionDetail`; a Java inner enum without its `Enum` suffix: `TradeState`). A model lives
//!   once per family, in the module of its package's endpoints (`payments.*` →
//!   `pay::transactions`, `partnerpayments.*` → `pay::partner`, `refunddomestic` →
//!   `refund::domestic`, `profitsharing` → `profitsharing`); where the sub-packages' models of one
//!   name differ, the one most places use stays there and each other is in its sub-package's
//!   module (`payments.jsapi.PrepayRequest` → `pay::transactions::jsapi::PrepayRequest`,
//!   `payments.h5.SceneInfo` → `pay::transactions::h5::SceneInfo`). So a wechatpay-go call
//!   translates field by field: `jsapi.PrepayRequest{Amount: &jsapi.Amount{Total: core.Int64(1)}}`
//!   is `jsapi::PrepayRequest { amount: Amount { total: 1, ..Default::default() }, .. }`.
//!   Each type's docs name the official models it is.
//! - **Other types** (endpoints no official SDK has): `<Function>Request` (JSON body),
//!   `<Function>Query` (query string), `<Function>Response` (answer), in PascalCase; a nested
//!   object or enum is named after its field (`Fees`) when that name denotes one type in the
//!   module — request-side types choose first, since they are the ones you write — and otherwise
//!   after its owner and field (`CompleteRequestDiscounts`). Identical nested types are one type.
//! - **Enum variants** are named by value: `SUCCESS` → `Success`, `1002` → `V1002` (a value
//!   that starts with a digit), `OTHER` → `OtherValue` (`Other` keeps unknown values).
//! - Every function's docs show `METHOD /path`, the Chinese title, the official documentation
//!   page, the official SDKs' description and methods (`Go payments.jsapi.JsapiApiService.Prepay`)
//!   and the Node plugin's chain notation, so rustdoc search finds an endpoint by any of them;
//!   every field shows its description as the official models write it (Chinese), or the one
//!   they give every field of that name (said so).
//!
//! ## Types
//!
//! - **Answers never fail on a missing member.** A member of an answer or a notification is an
//!   `Option` unless an official model requires it (and, for a type that also reads a
//!   notification, the notification's payload shows it); such a member is a plain value that
//!   reads absent or `null` as its default. Unknown members are kept in the type's `extra` map
//!   (and written back when serialised); unknown enum values in `Other`. An answer that still
//!   does not fit (a member of another JSON type) is `ResponseError::Decode`, which says WeChat
//!   Pay accepted the call, names the JSON path and keeps the raw body; [`decode_answer`] and
//!   `wxpay api decode` read a captured answer the same way.
//! - **Requests send only what you set.** A request member is required only where a source says
//!   so: an official model (Go: no `omitempty`; Java: `必填`), else the YAML's `required` list of
//!   its object; unknown means optional, and an optional member is an `Option`, never sent when
//!   `None`. A member an official model requires left empty (an empty string or enum) is refused
//!   before signing with `BuildError::MissingField`, naming it; one only the YAML requires is not
//!   sent when empty.
//! - **Types** are the official ones where an official model covers a member, the catalog's
//!   elsewhere. Numbers: integers and amounts are `i64` (money in fen); a catalog `number` is
//!   `f64` only for rates, ratios, scores, percentages, quotas and coordinates.
//! - **Date-times** are [`DateTime`]: the wire text, kept as sent, with [`DateTime::unix`].
//! - **Sensitive fields** (official `encrypted`, or `format: base64` in the YAML) are
//!   [`wechatpay_core::Sensitive`]: in a request give the plaintext (`"张三".into()`) — it is
//!   RSA-OAEP-encrypted at signing with the platform key the request names in
//!   `Wechatpay-Serial` (in a query string too); in an answer decrypt it with `Client::decrypt`.
//! - **Notifications**: payments and refunds are read by the same types as their queries
//!   (`pay::transactions::Transaction`, `pay::partner::Transaction`, `refund::domestic::Refund`),
//!   the other events by [`events`]; each type names the event types it reads
//!   (`wechatpay_core::notify::Resource`), and a handler typed for one refuses the others
//!   ([`events::EVENT_TYPES`] lists them all).
//! - Declared request headers are function parameters (`Idempotency-Key`); `Wechatpay-Serial` is
//!   always sent by the client.
//! - Multipart uploads use the core's upload builder (`filename`, `content`), the five file
//!   downloads answer `Vec<u8>`, `204` endpoints answer `()`, an empty answer schema is
//!   [`Empty`].
//! - The catalog's unions are typed faithfully: `string | number` is [`StringOrNumber`] (as a
//!   path parameter, `impl Display`); its empty tuples `[]` (element type unpublished) are
//!   `Vec<serde_json::Value>`.
//! - Answer-only types are `#[non_exhaustive]` (read their fields); requests are built with struct
//!   literals and `..Default::default()`. Every type is `Serialize + Deserialize`.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
// Generated signatures follow the API, however many parameters it takes.
#![allow(clippy::too_many_arguments)]

mod support;

#[allow(unused_imports)] // the family modules use them, each behind its cargo feature
pub(crate) use support::{int_enum, string_enum};
pub use support::{unknown_members, DateTime, Empty, Part, StringOrNumber};

pub mod events;

#[cfg(feature = "v2")]
pub mod v2;

/// Every endpoint as JSON, for tools (the `wxpay` CLI): an array of `{"method", "path", "rust",
/// "title", "doc", "family", "chain", "path_params", "query", "body_kind", "body",
/// "answer_kind", "answer", "types", "official", "headers"}`; `query`, `body` and `answer` are
/// field lists `{"name", "type", "required", "doc", …}` with `"sensitive": true`, `"enum"`,
/// nested `"fields"` (and the Rust type of an object, `"rust"`) and array `"items"` where they
/// apply; `types` names the Rust types of the query, the body and the answer; `official` the
/// official SDK methods that make the call. The same rules as the Rust types (required,
/// sensitive) — computed once, by the generator.
pub const ENDPOINTS_JSON: &str = include_str!("endpoints.json");

include!("families.rs");

//! What the generated typed API (`wechatpay-api`) builds on: the serialiser of required request
//! fields and the answer decoder that names the JSON path of a mismatch. Public so that code
//! generated outside this crate compiles against it; calls made by hand need none of it.

pub use crate::request::{required, Unset};
pub use crate::response::decode;

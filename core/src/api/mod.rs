//! Typed endpoints, one module per URL family: `/v3/payscore/payafter-orders/{out_order_no}/complete`
//! is [`payscore::payafter_orders::complete`].
//!
//! Every function returns a [`crate::Call`] that knows its answer type; sign it with
//! [`crate::Client::sign`]. Endpoints without a typed function are reached with
//! [`crate::Call::new`] and `serde_json::Value` or your own types.

/// Declares a string enum that keeps unknown values (`Other`) so that a new value from WeChat Pay
/// never makes an answer unreadable.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept as received.
            Other(String),
        }

        impl $name {
            /// The wire text.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(s) => s,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(match s.as_str() {
                    $($text => Self::$variant,)+
                    _ => Self::Other(s),
                })
            }
        }
    };
}

/// Declares an integer enum (same idea as `string_enum!`).
macro_rules! int_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $num:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept as received.
            Other(i64),
        }

        impl $name {
            /// The wire number.
            pub fn as_i64(&self) -> i64 {
                match self {
                    $(Self::$variant => $num,)+
                    Self::Other(n) => *n,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i64(self.as_i64())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let n = i64::deserialize(d)?;
                Ok(match n {
                    $($num => Self::$variant,)+
                    _ => Self::Other(n),
                })
            }
        }
    };
}

pub(crate) use string_enum;

pub mod payscore;

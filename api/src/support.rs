//! The hand-written types the generated code uses.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use wechatpay_core::codegen::{civil_from_days, days_from_civil};

/// Declares a string enum that keeps unknown values (`Other`), so that a new value from WeChat
/// Pay never makes an answer unreadable. `Default` is the empty wire value.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept as received.
            Other(::std::string::String),
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

        impl Default for $name {
            fn default() -> Self {
                Self::Other(::std::string::String::new())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                let s = <::std::string::String as serde::Deserialize>::deserialize(d)?;
                Ok(match s.as_str() {
                    $($text => Self::$variant,)+
                    _ => Self::Other(s),
                })
            }
        }

        impl wechatpay_core::codegen::Unset for $name {
            fn is_unset(&self) -> bool {
                matches!(self, Self::Other(s) if s.is_empty())
            }
        }
    };
}

/// Declares an integer enum (same idea as `string_enum!`); `Default` is `Other(0)`.
// Used by the family modules, each behind its cargo feature.
#[allow(unused_macros)]
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

        impl Default for $name {
            fn default() -> Self {
                Self::Other(0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.as_i64())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                s.serialize_i64(self.as_i64())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                let n = <i64 as serde::Deserialize>::deserialize(d)?;
                Ok(match n {
                    $($num => Self::$variant,)+
                    _ => Self::Other(n),
                })
            }
        }
    };
}

pub(crate) use {int_enum, string_enum};

/// A date-time as WeChat Pay writes it (RFC 3339, e.g. `2027-01-15T13:00:00+08:00`), kept as the
/// wire text so that an answer never fails to parse over a format detail; [`DateTime::unix`]
/// reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTime(String);

impl DateTime {
    /// From the wire text, as is.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// Unix seconds written in China time, as WeChat Pay does (`…+08:00`).
    pub fn from_unix(seconds: i64) -> Self {
        let t = seconds + 8 * 3600;
        let (y, m, d) = civil_from_days(t.div_euclid(86_400));
        let s = t.rem_euclid(86_400);
        Self(format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+08:00",
            s / 3600,
            (s / 60) % 60,
            s % 60
        ))
    }

    /// The wire text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Unix seconds, when the text is RFC 3339 (`YYYY-MM-DDTHH:MM:SS`, optional fraction, then
    /// `Z` or `±HH:MM`); `None` otherwise.
    pub fn unix(&self) -> Option<i64> {
        let b = self.0.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let s = b.get(r)?;
            if !s.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(s).ok()?.parse().ok()
        };
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let mut i = 19;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        let offset = match b.get(i)? {
            b'Z' | b'z' if i + 1 == b.len() => 0,
            sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
                let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
                if oh > 23 || om > 59 {
                    return None;
                }
                let o = oh * 3600 + om * 60;
                if *sign == b'+' {
                    o
                } else {
                    -o
                }
            }
            _ => return None,
        };
        let days = days_from_civil(y, mo, d);
        Some(days * 86_400 + h * 3600 + mi * 60 + s - offset)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for DateTime {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

impl From<String> for DateTime {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl wechatpay_core::codegen::Unset for DateTime {
    fn is_unset(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

/// A value the source types as `string | number`: kept as it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StringOrNumber {
    /// A JSON string.
    String(String),
    /// A JSON number, exactly as sent.
    Number(serde_json::Number),
}

impl Default for StringOrNumber {
    fn default() -> Self {
        Self::String(String::new())
    }
}

impl fmt::Display for StringOrNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) => f.write_str(s),
            Self::Number(n) => write!(f, "{n}"),
        }
    }
}

/// An answer with no published fields: accepts any JSON (or an empty body) and keeps nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Empty {}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Empty {})
    }
}

/// A member an answer is guaranteed to carry, read liberally: absent (with `#[serde(default)]`)
/// or `null`, it is the type's default, never a failed decode.
#[allow(dead_code)] // used by the family modules, each behind its cargo feature
pub(crate) fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Read `body` into `T` as the client does, then write it back as JSON ([`crate::decode_answer`]).
#[allow(dead_code)] // used by the family modules, each behind its cargo feature
pub(crate) fn decode_to_json<T: serde::de::DeserializeOwned + Serialize>(
    body: &[u8],
) -> Result<serde_json::Value, wechatpay_core::JsonError> {
    let v: T = wechatpay_core::codegen::decode(body)?;
    serde_json::to_value(&v).map_err(|source| wechatpay_core::JsonError {
        path: ".".into(),
        source,
    })
}

/// Which part of a call a JSON value is ([`crate::unknown_members`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The query parameters, as an object.
    Query,
    /// The JSON body.
    Body,
    /// The answer.
    Answer,
}

fn endpoints() -> &'static [serde_json::Value] {
    static ENDPOINTS: std::sync::OnceLock<Vec<serde_json::Value>> = std::sync::OnceLock::new();
    ENDPOINTS.get_or_init(|| serde_json::from_str(crate::ENDPOINTS_JSON).unwrap_or_default())
}

/// The JSON paths of the members of `value` that the typed model of `method template`'s `part`
/// does not know (a typed answer keeps them in its `extra` map); `None` for an endpoint that is
/// not in [`crate::ENDPOINTS_JSON`]. Arrays are walked element by element (`data[0].x`).
pub fn unknown_members(
    method: &str,
    template: &str,
    part: Part,
    value: &serde_json::Value,
) -> Option<Vec<String>> {
    let ep = endpoints()
        .iter()
        .find(|e| e["method"] == method && e["path"] == template)?;
    let fields = match part {
        Part::Query => &ep["query"],
        Part::Body => &ep["body"],
        Part::Answer => &ep["answer"],
    };
    let mut out = Vec::new();
    if fields.is_array() {
        walk(fields, value, "", &mut out);
    }
    Some(out)
}

fn walk(fields: &serde_json::Value, value: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    let Some(members) = value.as_object() else {
        return;
    };
    let list = fields.as_array().map(Vec::as_slice).unwrap_or(&[]);
    for (k, v) in members {
        let path = if at.is_empty() {
            k.clone()
        } else {
            format!("{at}.{k}")
        };
        match list.iter().find(|f| f["name"] == k.as_str()) {
            None => out.push(path),
            Some(f) => walk_type(f, v, &path, out),
        }
    }
}

fn walk_type(ty: &serde_json::Value, v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match ty["type"].as_str() {
        Some("object") if ty.get("fields").is_some() => walk(&ty["fields"], v, path, out),
        Some("array") => {
            for (i, item) in v
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                walk_type(&ty["items"], item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// An APIv2 answer's number: XML text (or a JSON number), an empty text being absent.
#[cfg(feature = "v2")]
pub(crate) fn text_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<StringOrNumber>::deserialize(d)? {
        None => Ok(None),
        Some(StringOrNumber::String(s)) if s.trim().is_empty() => Ok(None),
        Some(v) => {
            let text = v.to_string();
            text.trim().parse().map(Some).map_err(|_| {
                serde::de::Error::custom(format!("{text:?} is not a non-negative integer"))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times() {
        let t = DateTime::new("2027-01-15T13:00:00+08:00");
        assert_eq!(t.unix(), Some(1_799_989_200));
        assert_eq!(DateTime::from_unix(1_799_989_200), t);
        assert_eq!(
            DateTime::new("2027-01-15T05:00:00Z").unix(),
            Some(1_799_989_200)
        );
        assert_eq!(
            DateTime::new("2027-01-15T05:00:00.123Z").unix(),
            Some(1_799_989_200)
        );
        assert_eq!(
            DateTime::new("2027-01-14T21:00:00-08:00").unix(),
            Some(1_799_989_200)
        );
        for bad in [
            "",
            "2027-01-15",
            "2027-13-15T13:00:00+08:00",
            "2027-01-15T13:00:00+0800",
            "2027-01-15T13:00:00",
            "２０２７-01-15T13:00:00Z",
        ] {
            assert_eq!(DateTime::new(bad).unix(), None, "{bad}");
        }
        // The text survives a round trip, whatever it is.
        let odd: DateTime = serde_json::from_str("\"20270115130000\"").unwrap();
        assert_eq!(serde_json::to_string(&odd).unwrap(), "\"20270115130000\"");
    }

    #[test]
    fn string_or_number_and_empty() {
        let v: Vec<StringOrNumber> =
            serde_json::from_str(r#"["a", 12345678901234567890]"#).unwrap();
        assert_eq!(v[0].to_string(), "a");
        assert_eq!(v[1].to_string(), "12345678901234567890");
        assert!(serde_json::from_str::<Empty>(r#"{"x":[1]}"#).is_ok());
        assert!(serde_json::from_str::<Empty>("null").is_ok());
    }
}

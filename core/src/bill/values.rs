//! The typed values of a bill's cells: money in fen, times in Beijing time, and states.

use std::fmt;

use crate::codegen::{civil_from_days, days_from_civil};
use serde::{Serialize, Serializer};

/// An amount of money in fen (分, 1/100 yuan), the unit WeChat Pay counts in. Bills write yuan
/// (`12.34`, fees with five decimals: `0.04000`); [`Fen::from_yuan`] reads that text exactly,
/// without floating point. `Display` writes yuan with two decimals; JSON is the integer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fen(pub i64);

/// Why a cell is not an amount of yuan (see [`Fen::from_yuan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MoneyError {
    /// Not `[-]digits[.digits]`.
    NotANumber,
    /// Digits below the fen that are not zero (`0.001`): it cannot be counted in fen exactly.
    BelowFen,
    /// Too large for an `i64` of fen.
    TooLarge,
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MoneyError::NotANumber => "not an amount of yuan ([-]digits[.digits])",
            MoneyError::BelowFen => "has non-zero digits below the fen",
            MoneyError::TooLarge => "is too large",
        })
    }
}

impl Fen {
    /// Read an amount written in yuan: `12.34`, `-0.02000`, `0`, `6.5`. Digits after the
    /// second decimal must be zero (WeChat Pay writes fees as `0.04000`); a leading `+` and
    /// surrounding spaces are accepted.
    pub fn from_yuan(text: &str) -> Result<Fen, MoneyError> {
        let raw = text.as_bytes();
        let t = match (raw.first(), raw.last()) {
            (Some(a), Some(z)) if a.is_ascii_whitespace() || z.is_ascii_whitespace() => {
                text.trim().as_bytes()
            }
            _ => raw,
        };
        let (negative, t) = match t.first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let mut fen: i64 = 0;
        let mut digits = 0usize;
        let mut decimals: Option<usize> = None;
        for &b in t {
            match (b, decimals) {
                (b'0'..=b'9', None) => {
                    fen = fen
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(i64::from(b - b'0')))
                        .ok_or(MoneyError::TooLarge)?;
                    digits += 1;
                }
                (b'0'..=b'9', Some(d)) => {
                    if d < 2 {
                        fen = fen
                            .checked_mul(10)
                            .and_then(|n| n.checked_add(i64::from(b - b'0')))
                            .ok_or(MoneyError::TooLarge)?;
                    } else if b != b'0' {
                        return Err(MoneyError::BelowFen);
                    }
                    digits += 1;
                    decimals = Some(d + 1);
                }
                (b'.', None) => decimals = Some(0),
                _ => return Err(MoneyError::NotANumber),
            }
        }
        if digits == 0 {
            return Err(MoneyError::NotANumber);
        }
        for _ in decimals.unwrap_or(0).min(2)..2 {
            fen = fen.checked_mul(10).ok_or(MoneyError::TooLarge)?;
        }
        Ok(Fen(if negative { -fen } else { fen }))
    }

    /// The amount in fen.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl Serialize for Fen {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

/// A moment written in a bill as `yyyy-MM-dd HH:mm:ss`, Beijing time (UTC+8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BeijingTime {
    unix: i64,
}

const BEIJING: i64 = 8 * 3600;

impl BeijingTime {
    /// Read `yyyy-MM-dd HH:mm:ss` (full-width colons, as older APIv2 bills write them, too).
    pub fn parse(text: &str) -> Option<BeijingTime> {
        let t = text.trim();
        if t.len() != 19 && t.contains('：') {
            return BeijingTime::parse(&t.replace('：', ":"));
        }
        let b = t.as_bytes();
        if b.len() != 19
            || b[4] != b'-'
            || b[7] != b'-'
            || (b[10] != b' ' && b[10] != b'T')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            b[r].iter().try_fold(0i64, |n, c| {
                c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
            })
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        let days_in_month = match mo {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            1..=12 => 31,
            _ => return None,
        };
        if !(1..=days_in_month).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let local = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
        Some(BeijingTime {
            unix: local - BEIJING,
        })
    }

    /// The moment at Unix time `unix` (seconds).
    pub fn from_unix(unix: i64) -> BeijingTime {
        BeijingTime { unix }
    }

    /// Unix time, in seconds.
    pub fn unix(self) -> i64 {
        self.unix
    }

    /// The Beijing calendar date, `yyyy-MM-dd`.
    pub fn date(self) -> String {
        self.to_string()[..10].to_string()
    }

    /// RFC 3339 with the Beijing offset: `2026-12-06T12:00:00+08:00`.
    pub fn to_rfc3339(self) -> String {
        let s = self.to_string();
        format!("{}T{}+08:00", &s[..10], &s[11..])
    }
}

impl fmt::Display for BeijingTime {
    /// As bills write it: `yyyy-MM-dd HH:mm:ss`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.unix + BEIJING;
        let (y, m, d) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400);
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        )
    }
}

impl Serialize for BeijingTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vm])* $variant,)*
            /// A value this version does not know, kept as written.
            Other(String),
        }

        impl $name {
            /// From the text of a cell.
            pub fn parse(text: &str) -> $name {
                match text {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_string()),
                }
            }

            /// The text as the bill writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// 交易状态 of a trade bill row: a payment (`SUCCESS`, `REVOKED`) or a refund (`REFUND`).
    TradeState {
        /// 支付成功.
        Success = "SUCCESS",
        /// The row is a refund (转入退款).
        Refund = "REFUND",
        /// 已撤销: a payment revoked after it succeeded.
        Revoked = "REVOKED",
    }
);

text_enum!(
    /// 退款状态 of a refund row, as it stood when the bill was made.
    RefundStatus {
        /// 退款成功.
        Success = "SUCCESS",
        /// 退款处理中.
        Processing = "PROCESSING",
        /// 退款关闭.
        Closed = "CLOSED",
        /// 退款异常 (older bills write `CHANGE`).
        Abnormal = "ABNORMAL",
        /// 退款异常, as older bills write it.
        Change = "CHANGE",
    }
);

text_enum!(
    /// 退款类型 of a refund row.
    RefundType {
        /// Back the way it was paid (原路退款).
        Original = "ORIGINAL",
        /// To the user's balance (退回到余额).
        Balance = "BALANCE",
    }
);

text_enum!(
    /// 收支类型 of a fund-flow row.
    Direction {
        /// 收入: money in.
        Income = "收入",
        /// 支出: money out.
        Expense = "支出",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_to_fen_exactly() {
        for (text, fen) in [
            ("12.34", 1234),
            ("0.01", 1),
            ("-0.02000", -2),
            ("0.04000", 4),
            ("6", 600),
            ("6.5", 650),
            ("0.0", 0),
            (".5", 50),
            ("+1.00", 100),
            ("92233720368547758.07", i64::MAX),
        ] {
            assert_eq!(Fen::from_yuan(text), Ok(Fen(fen)), "{text}");
        }
        for (text, e) in [
            ("", MoneyError::NotANumber),
            ("-", MoneyError::NotANumber),
            ("1.2.3", MoneyError::NotANumber),
            ("1,000.00", MoneyError::NotANumber),
            ("1e3", MoneyError::NotANumber),
            ("0.001", MoneyError::BelowFen),
            ("0.00600", MoneyError::BelowFen),
            ("92233720368547758.08", MoneyError::TooLarge),
            ("99999999999999999999", MoneyError::TooLarge),
        ] {
            assert_eq!(Fen::from_yuan(text), Err(e), "{text}");
        }
        assert_eq!(Fen(-2).to_string(), "-0.02");
        assert_eq!(Fen(123456).to_string(), "1234.56");
    }

    #[test]
    fn beijing_times() {
        let t = BeijingTime::parse("2026-12-06 08:00:00").unwrap();
        assert_eq!(t.unix(), 1_796_515_200);
        assert_eq!(t.to_string(), "2026-12-06 08:00:00");
        assert_eq!(t.to_rfc3339(), "2026-12-06T08:00:00+08:00");
        assert_eq!(t.date(), "2026-12-06");
        assert_eq!(
            BeijingTime::parse("2014-11-10 16：33：45").map(|t| t.to_string()),
            Some("2014-11-10 16:33:45".into())
        );
        for bad in [
            "2026-02-29 00:00:00",
            "2026-12-06",
            "2026-12-06 24:00:00",
            "x",
        ] {
            assert_eq!(BeijingTime::parse(bad), None, "{bad}");
        }
    }
}

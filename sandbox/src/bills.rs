//! Bills: `tradebill`/`fundflowbill` announce a download with its SHA-1; the download is served
//! unsigned, plain or gzip.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use http::StatusCode;
use serde_json::json;

use crate::{api_error, param_error, query_pairs as query_map, Answer};

#[derive(Default)]
pub(crate) struct Bills {
    tokens: Mutex<HashMap<String, Vec<u8>>>,
    next: Mutex<u64>,
}

/// A deterministic bill for `date` (about 150 bytes a line).
pub fn bill_text(kind: &str, date: &str, lines: usize) -> Vec<u8> {
    let mut out = String::from("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额\r\n");
    for i in 0..lines {
        out.push_str(&format!(
            "`{date} 12:{:02}:{:02},`wxd678efh567hg6787,`1900000001,`0,`,`42000000{:020},`{kind}-{i:08},`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`OTHERS,`CNY,`{}.{:02}\r\n",
            (i / 60) % 60,
            i % 60,
            i,
            (i % 997) + 1,
            i % 100
        ));
    }
    out.push_str(&format!("总交易单数,应结订单总金额\r\n`{lines},`0.00\r\n"));
    out.into_bytes()
}

/// Whether `date` is a day of the calendar written `yyyy-MM-dd`.
pub(crate) fn is_calendar_date(date: &str) -> bool {
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => 0,
    };
    (1..=days).contains(&d)
}

/// The bill of `date` (`yyyy-MM-dd`) at `now`, as WeChat Pay answers: a day's bill is made
/// after 10:00 (Beijing time) the next day — asked for before, `STATEMENT_CREATING`; a date
/// from today on has none, `NO_STATEMENT_EXIST`.
fn not_ready(date: &str, now: i64) -> Option<Answer> {
    let today = crate::rfc3339(now);
    let yesterday = crate::rfc3339(now - 86_400);
    if date >= &today[..10] {
        Some(api_error(400, "NO_STATEMENT_EXIST", "请求的账单文件不存在"))
    } else if date == &yesterday[..10] && &today[11..13] < "10" {
        Some(api_error(400, "STATEMENT_CREATING", "账单生成中"))
    } else {
        None
    }
}

/// The query's `bill_date`, when it is a date; otherwise the answer.
fn bill_date(q: &HashMap<String, String>, now: i64) -> Result<&str, Answer> {
    let Some(date) = q.get("bill_date").filter(|d| is_calendar_date(d)) else {
        return Err(param_error(
            "query",
            "bill_date",
            "bill_date 格式为 yyyy-MM-dd",
        ));
    };
    not_ready(date, now).map_or(Ok(date.as_str()), Err)
}

impl Bills {
    pub(crate) fn request(
        &self,
        path: &str,
        query: &str,
        host: &str,
        wrong_hash: bool,
        now: i64,
    ) -> Answer {
        let q = query_map(query);
        let date = match bill_date(&q, now) {
            Ok(date) => date,
            Err(answer) => return answer,
        };
        let kind = if path.ends_with("tradebill") {
            "TRADE"
        } else {
            "FUND"
        };
        // `bill_type=REFUND` makes a larger bill (for streaming tests): 100 000 lines, ~15 MB.
        let lines = if q.get("bill_type").map(String::as_str) == Some("REFUND") {
            100_000
        } else {
            2_000
        };
        let text = bill_text(kind, date, lines);
        let hash = if wrong_hash {
            wechatpay_core::bill::sha1_hex(b"not this bill")
        } else {
            wechatpay_core::bill::sha1_hex(&text)
        };
        let served = if q.get("tar_type").map(String::as_str) == Some("GZIP") {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            if gz.write_all(&text).is_err() {
                return api_error(500, "SYSTEM_ERROR", "gzip failed");
            }
            match gz.finish() {
                Ok(b) => b,
                Err(_) => return api_error(500, "SYSTEM_ERROR", "gzip failed"),
            }
        } else {
            text
        };
        let token = self.keep(served, date);
        let body = json!({
            "hash_type": "SHA1",
            "hash_value": hash.to_uppercase(),
            "download_url": format!("http://{host}/v3/billdownload/file?token={token}"),
        });
        (StatusCode::OK, body.to_string().into_bytes())
    }

    /// `GET /v3/bill/sub-merchant-fundflowbill`: the bill in two parts, each encrypted with its
    /// own AES-256-GCM key, the key RSA-OAEP-encrypted for the merchant (see
    /// `wechatpay_core::bill::EncryptedBillPart`).
    pub(crate) fn sub_merchant(
        &self,
        query: &str,
        host: &str,
        merchant: &wechatpay_core::PlatformKey,
        now: i64,
    ) -> Answer {
        use base64::Engine as _;
        let q = query_map(query);
        let date = match bill_date(&q, now) {
            Ok(date) => date,
            Err(answer) => return answer,
        };
        if q.get("sub_mchid").is_none_or(|s| s.is_empty()) {
            return param_error("query", "sub_mchid", "缺少 sub_mchid");
        }
        let gzip = q.get("tar_type").map(String::as_str) == Some("GZIP");
        let text = bill_text("SUBFUND", date, 500);
        let (first, second) = text.split_at(text.len() / 2);
        let mut list = Vec::new();
        for (i, part) in [first, second].into_iter().enumerate() {
            let served = if gzip {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                if gz.write_all(part).is_err() {
                    return api_error(500, "SYSTEM_ERROR", "gzip failed");
                }
                match gz.finish() {
                    Ok(b) => b,
                    Err(_) => return api_error(500, "SYSTEM_ERROR", "gzip failed"),
                }
            } else {
                part.to_vec()
            };
            // Deterministic key bytes in 0x40..=0x7F: `ApiV3Key::new` (the sealing helper used
            // here) trims surrounding ASCII white space, which a raw key must not start or end with.
            let aes: [u8; 32] = std::array::from_fn(|j| 0x40 + ((i * 31 + j * 7) % 64) as u8);
            let nonce = format!("p{i}nonce00000");
            let (Ok(key), Ok(wrapped)) = (
                wechatpay_core::ApiV3Key::new(aes),
                merchant.encrypt_oaep(&aes),
            ) else {
                return api_error(500, "SYSTEM_ERROR", "encryption failed");
            };
            let Ok(sealed) = key.encrypt(&nonce, "", &served) else {
                return api_error(500, "SYSTEM_ERROR", "encryption failed");
            };
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(sealed) else {
                return api_error(500, "SYSTEM_ERROR", "encryption failed");
            };
            let token = self.keep(bytes, date);
            list.push(json!({
                "bill_sequence": i + 1,
                "download_url": format!("http://{host}/v3/billdownload/file?token={token}"),
                "encrypt_key": wrapped,
                "hash_type": "SHA1",
                "hash_value": wechatpay_core::bill::sha1_hex(part),
                "nonce": nonce,
            }));
        }
        let body = json!({"download_bill_count": list.len(), "download_bill_list": list});
        (StatusCode::OK, body.to_string().into_bytes())
    }

    fn keep(&self, bytes: Vec<u8>, date: &str) -> String {
        let token = {
            let mut n = self.next.lock().unwrap_or_else(|p| p.into_inner());
            *n += 1;
            format!("SANDBOX_TOKEN_{:08}_{date}", *n)
        };
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token.clone(), bytes);
        token
    }

    pub(crate) fn download(&self, query: &str) -> Answer {
        let q = query_map(query);
        let tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        match q.get("token").and_then(|t| tokens.get(t)) {
            Some(bytes) => (StatusCode::OK, bytes.clone()),
            None => api_error(400, "INVALID_REQUEST", "token 无效或已过期"),
        }
    }
}

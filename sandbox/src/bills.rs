//! Bills: `tradebill`/`fundflowbill` announce a download with its SHA-1; the download is served
//! unsigned, plain or gzip.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Mutex;

use http::StatusCode;
use serde_json::json;

use crate::{api_error, lock, param_error, query_pairs as query_map, Answer};

#[derive(Default)]
pub(crate) struct Bills {
    tokens: Mutex<HashMap<String, Vec<u8>>>,
    next: Mutex<u64>,
    /// Days whose bill is served before 10:00 the next day ([`crate::Gateway::close_day`]).
    closed: Mutex<HashSet<String>>,
    /// Made-up payments added to a day ([`crate::Gateway::add_history`]).
    history: Mutex<HashMap<String, usize>>,
}

/// A payment or a refund, as the bills write it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// When it was paid, or the refund created (Unix seconds).
    pub(crate) time: i64,
    pub(crate) appid: String,
    pub(crate) transaction_id: String,
    pub(crate) out_trade_no: String,
    pub(crate) openid: String,
    pub(crate) trade_type: &'static str,
    pub(crate) description: String,
    pub(crate) attach: String,
    /// The order's amount, in fen.
    pub(crate) total: i64,
    /// A refund of the order.
    pub(crate) refund: Option<RefundPart>,
}

#[derive(Debug, Clone)]
pub(crate) struct RefundPart {
    pub(crate) refund_id: String,
    pub(crate) out_refund_no: String,
    pub(crate) amount: i64,
    pub(crate) status: &'static str,
}

/// Entries in the order a bill lists them: by time; within a second, payments before refunds,
/// then by order number.
pub(crate) fn in_bill_order(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        (a.time, a.refund.is_some(), &a.out_trade_no).cmp(&(
            b.time,
            b.refund.is_some(),
            &b.out_trade_no,
        ))
    });
}

/// The sandbox charges WeChat Pay's usual 0.60 %, rounded to the fen; a refund gives back the
/// fee of the amount refunded.
fn fee(amount: i64) -> i64 {
    (amount * 6 + 500) / 1000
}

/// Yuan with two decimals.
fn yuan(fen: i64) -> String {
    wechatpay_core::bill::Fen(fen).to_string()
}

/// Yuan with five decimals, as bills write fees.
fn yuan5(fen: i64) -> String {
    format!("{}000", yuan(fen))
}

/// `yyyy-MM-dd HH:mm:ss`, Beijing time.
fn bill_time(unix: i64) -> String {
    wechatpay_core::bill::BeijingTime::from_unix(unix).to_string()
}

/// Beijing midnight at the start of `date` (`yyyy-MM-dd`).
pub(crate) fn day_start(date: &str) -> Option<i64> {
    wechatpay_core::bill::BeijingTime::parse(&format!("{date} 00:00:00")).map(|t| t.unix())
}

const TRADE_ALL: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const TRADE_SUCCESS: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注";
const TRADE_REFUND: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const TRADE_SUMMARY: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";
const FUND_HEADER: &str = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号";
const FUND_SUMMARY: &str = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额";

/// A line of fields, each behind a backtick, as WeChat Pay writes rows. A field never holds a
/// comma or a line end (the sandbox's own text is replaced).
fn row(out: &mut String, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('`');
        out.extend(f.chars().map(|c| {
            if matches!(c, ',' | '\r' | '\n' | '"') {
                ' '
            } else {
                c
            }
        }));
    }
    out.push_str("\r\n");
}

/// The trade bill of `bill_type` (`ALL`, `SUCCESS`, `REFUND`) over `entries`: every column
/// WeChat Pay writes for that type, refunds as rows of their own, and the summary.
pub(crate) fn trade_bill(mchid: &str, bill_type: &str, entries: &[Entry]) -> Vec<u8> {
    let header = match bill_type {
        "SUCCESS" => TRADE_SUCCESS,
        "REFUND" => TRADE_REFUND,
        _ => TRADE_ALL,
    };
    let mut out = String::with_capacity(64 + entries.len() * 330);
    out.push_str(header);
    out.push_str("\r\n");
    // count, settlement, refund, fee, order, refund applied
    let mut t = [0i64; 6];
    for e in entries {
        let refund = e.refund.as_ref();
        let keep = match bill_type {
            "SUCCESS" => refund.is_none(),
            "REFUND" => refund.is_some(),
            _ => true,
        };
        if !keep {
            continue;
        }
        let (state, settlement, order, refunded, fee_fen) = match refund {
            None => ("SUCCESS", e.total, e.total, 0, fee(e.total)),
            Some(r) => ("REFUND", 0, 0, r.amount, -fee(r.amount)),
        };
        for (i, v) in [1, settlement, refunded, fee_fen, order, refunded]
            .into_iter()
            .enumerate()
        {
            t[i] += v;
        }
        let time = bill_time(e.time);
        let (settlement, order, refunded, fee_text) = (
            yuan(settlement),
            yuan(order),
            yuan(refunded),
            yuan5(fee_fen),
        );
        let head = [
            time.as_str(),
            &e.appid,
            mchid,
            "0",
            "",
            &e.transaction_id,
            &e.out_trade_no,
            &e.openid,
            e.trade_type,
            state,
            "OTHERS",
            "CNY",
            &settlement,
            "0.00",
        ];
        let tail = [
            e.description.as_str(),
            &e.attach,
            &fee_text,
            "0.60%",
            &order,
        ];
        let mut fields: Vec<&str> = head.to_vec();
        match (bill_type, refund) {
            ("SUCCESS", _) => {
                fields.extend(tail);
                fields.push("");
            }
            (_, r) => {
                if bill_type == "REFUND" {
                    fields.extend([time.as_str(), time.as_str()]);
                }
                let (id, no, kind, status) = match r {
                    Some(r) => (
                        r.refund_id.as_str(),
                        r.out_refund_no.as_str(),
                        "ORIGINAL",
                        r.status,
                    ),
                    None => ("0", "0", "", ""),
                };
                fields.extend([id, no, &refunded, "0.00", kind, status]);
                fields.extend(tail);
                fields.extend([refunded.as_str(), ""]);
            }
        }
        row(&mut out, &fields);
    }
    out.push_str(TRADE_SUMMARY);
    out.push_str("\r\n");
    let money: Vec<String> = t[1..].iter().map(|&v| yuan(v)).collect();
    let fee_total = yuan5(t[3]);
    row(
        &mut out,
        &[
            &t[0].to_string(),
            &money[0],
            &money[1],
            "0.00",
            &fee_total,
            &money[3],
            &money[4],
        ],
    );
    out.into_bytes()
}

/// The fund-flow bill over `entries`: each payment comes in, its fee goes out, each refund
/// goes out (less the fee given back), with the running balance; then the summary.
pub(crate) fn fund_bill(entries: &[Entry]) -> Vec<u8> {
    let mut out = String::with_capacity(64 + entries.len() * 400);
    out.push_str(FUND_HEADER);
    out.push_str("\r\n");
    let (mut balance, mut n, mut income, mut expense) = (0i64, 0u64, (0u64, 0i64), (0u64, 0i64));
    let mut line =
        |out: &mut String, e: &Entry, name: &str, kind: &str, amount: i64, remark: &str| {
            let (dir, tally) = if amount >= 0 {
                ("收入", &mut income)
            } else {
                ("支出", &mut expense)
            };
            balance += amount;
            n += 1;
            tally.0 += 1;
            tally.1 += amount.abs();
            let flow = format!(
                "{}{n:010}",
                &e.transaction_id.get(..10).unwrap_or("4200000000")
            );
            let business = match &e.refund {
                Some(r) => r.refund_id.as_str(),
                None => e.transaction_id.as_str(),
            };
            let voucher = match &e.refund {
                Some(r) => r.out_refund_no.as_str(),
                None => e.out_trade_no.as_str(),
            };
            row(
                out,
                &[
                    &bill_time(e.time),
                    business,
                    &flow,
                    name,
                    kind,
                    dir,
                    &yuan(amount.abs()),
                    &yuan(balance),
                    "system",
                    remark,
                    voucher,
                ],
            );
        };
    for e in entries {
        match &e.refund {
            None => {
                line(&mut out, e, "交易", "交易", e.total, "");
                line(
                    &mut out,
                    e,
                    "扣除交易手续费",
                    "扣除交易手续费",
                    -fee(e.total),
                    "",
                );
            }
            Some(r) => {
                let back = fee(r.amount);
                let remark = format!("退款总金额{}元;含手续费{}元", yuan(r.amount), yuan(back));
                line(&mut out, e, "退款", "退款", -(r.amount - back), &remark);
            }
        }
    }
    out.push_str(FUND_SUMMARY);
    out.push_str("\r\n");
    row(
        &mut out,
        &[
            &n.to_string(),
            &income.0.to_string(),
            &yuan(income.1),
            &expense.0.to_string(),
            &yuan(expense.1),
        ],
    );
    out.into_bytes()
}

/// `payments` made-up payments on `date`, deterministic, every tenth partly refunded the same
/// day (refunds as entries of their own).
pub(crate) fn made_up(mchid_tag: &str, date: &str, payments: usize) -> Vec<Entry> {
    let start = day_start(date).unwrap_or(0);
    let mut out = Vec::with_capacity(payments + payments / 10);
    for i in 0..payments {
        let total = ((i % 997) + 1) as i64 * 100 + (i % 100) as i64;
        let e = Entry {
            time: start + 8 * 3600 + (i as i64 * 37) % (15 * 3600),
            appid: "wxd678efh567hg6787".into(),
            transaction_id: format!("4200000000{i:018}"),
            out_trade_no: format!("{mchid_tag}-{date}-{i:08}"),
            openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
            trade_type: "NATIVE",
            description: "Image形象店-深圳腾大-QQ公仔".into(),
            attach: String::new(),
            total,
            refund: None,
        };
        if i % 10 == 9 {
            let mut r = e.clone();
            r.time += 600;
            r.refund = Some(RefundPart {
                refund_id: format!("5030000000{i:018}"),
                out_refund_no: format!("R{mchid_tag}-{date}-{i:08}"),
                amount: total / 2,
                status: "SUCCESS",
            });
            out.push(e);
            out.push(r);
        } else {
            out.push(e);
        }
    }
    in_bill_order(&mut out);
    out
}

/// A deterministic bill for `date` with `lines` made-up payments (every tenth partly
/// refunded): `kind` `TRADE` or `V2` is the `ALL` trade bill, `FUND` or `SUBFUND` the fund-flow
/// bill. About 330 bytes a trade row.
pub fn bill_text(kind: &str, date: &str, lines: usize) -> Vec<u8> {
    let entries = made_up(kind, date, lines);
    match kind {
        "FUND" | "SUBFUND" => fund_bill(&entries),
        _ => trade_bill("1900000001", "ALL", &entries),
    }
}

/// Whether `date` is a day of the calendar written `yyyy-MM-dd`.
pub(crate) fn is_calendar_date(date: &str) -> bool {
    date.len() == 10 && date.trim() == date && day_start(date).is_some()
}

/// The bill of `date` (`yyyy-MM-dd`) at `now`, as WeChat Pay answers: a day's bill is made
/// after 10:00 (Beijing time) the next day — asked for before, `STATEMENT_CREATING`; a date
/// from today on has none, `NO_STATEMENT_EXIST` — unless the day was closed early.
fn not_ready(date: &str, now: i64, closed: bool) -> Option<Answer> {
    let today = crate::rfc3339(now);
    let yesterday = crate::rfc3339(now - 86_400);
    if closed && date <= &today[..10] {
        None
    } else if date >= &today[..10] {
        Some(api_error(400, "NO_STATEMENT_EXIST", "请求的账单文件不存在"))
    } else if date == &yesterday[..10] && &today[11..13] < "10" {
        Some(api_error(400, "STATEMENT_CREATING", "账单生成中"))
    } else {
        None
    }
}

impl Bills {
    /// The query's `bill_date`, when it is a date whose bill is made; otherwise the answer.
    fn bill_date<'q>(&self, q: &'q HashMap<String, String>, now: i64) -> Result<&'q str, Answer> {
        let Some(date) = q.get("bill_date").filter(|d| is_calendar_date(d)) else {
            return Err(param_error(
                "query",
                "bill_date",
                "bill_date 格式为 yyyy-MM-dd",
            ));
        };
        not_ready(date, now, self.is_closed(date)).map_or(Ok(date.as_str()), Err)
    }

    /// Serve the bill of `date` from now on, before the day is over.
    pub(crate) fn close_day(&self, date: &str) {
        lock(&self.closed).insert(date.to_string());
    }

    /// Whether `date` was closed early.
    pub(crate) fn is_closed(&self, date: &str) -> bool {
        lock(&self.closed).contains(date)
    }

    /// Add `payments` made-up payments to `date`.
    pub(crate) fn add_history(&self, date: &str, payments: usize) {
        *lock(&self.history).entry(date.to_string()).or_default() += payments;
    }

    /// The entries of `date`: the sandbox's own payments and refunds of that day and the
    /// made-up ones added to it; a day with neither has a made-up past of 2 000 payments.
    fn entries(&self, date: &str, payments: &crate::pay::Payments) -> Vec<Entry> {
        let start = day_start(date).unwrap_or(0);
        let mut entries = payments.bill_entries(start, start + 86_400);
        let added = lock(&self.history).get(date).copied();
        match added {
            Some(n) => entries.extend(made_up("HISTORY", date, n)),
            None if entries.is_empty() => entries = made_up("PAST", date, 2_000),
            None => {}
        }
        in_bill_order(&mut entries);
        entries
    }

    pub(crate) fn request(
        &self,
        path: &str,
        query: &str,
        origin: &str,
        wrong_hash: bool,
        now: i64,
        payments: &crate::pay::Payments,
    ) -> Answer {
        let q = query_map(query);
        let date = match self.bill_date(&q, now) {
            Ok(date) => date,
            Err(answer) => return answer,
        };
        let entries = self.entries(date, payments);
        let text = if path.ends_with("tradebill") {
            let bill_type = q.get("bill_type").map_or("ALL", String::as_str);
            trade_bill(payments.mchid(), bill_type, &entries)
        } else {
            fund_bill(&entries)
        };
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
            "download_url": format!("{origin}/v3/billdownload/file?token={token}"),
        });
        (StatusCode::OK, body.to_string().into_bytes())
    }

    /// `GET /v3/bill/sub-merchant-fundflowbill`: the bill in two parts, each encrypted with its
    /// own AES-256-GCM key, the key RSA-OAEP-encrypted for the merchant (see
    /// `wechatpay_core::bill::EncryptedBillPart`).
    pub(crate) fn sub_merchant(
        &self,
        query: &str,
        origin: &str,
        merchant: &wechatpay_core::PlatformKey,
        now: i64,
    ) -> Answer {
        use base64::Engine as _;
        let q = query_map(query);
        let date = match self.bill_date(&q, now) {
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
                "download_url": format!("{origin}/v3/billdownload/file?token={token}"),
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
            let mut n = lock(&self.next);
            *n += 1;
            format!("SANDBOX_TOKEN_{:08}_{date}", *n)
        };
        lock(&self.tokens).insert(token.clone(), bytes);
        token
    }

    pub(crate) fn download(&self, query: &str) -> Answer {
        let q = query_map(query);
        let tokens = lock(&self.tokens);
        match q.get("token").and_then(|t| tokens.get(t)) {
            Some(bytes) => (StatusCode::OK, bytes.clone()),
            None => api_error(400, "INVALID_REQUEST", "token 无效或已过期"),
        }
    }
}

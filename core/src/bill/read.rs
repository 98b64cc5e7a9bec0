//! Reading bills: the trade bill (`ALL`, `SUCCESS`, `REFUND`, APIv3 and APIv2), the fund-flow
//! bill and the sub-merchant fund-flow bill, as WeChat Pay writes them.
//!
//! A bill is four parts: the detail header, the detail rows, the summary header and the summary
//! row; fields are separated by commas, and every field of the rows starts with a backtick (so
//! that spreadsheets keep long numbers). Money is in yuan.

use std::io::BufRead;
use std::sync::Arc;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::values::{BeijingTime, Direction, Fen, RefundStatus, RefundType, TradeState};
use crate::error::BillReadError;

/// Which bill a header belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BillKind {
    /// The trade bill (交易账单): payments and refunds, one row each.
    Trade,
    /// The fund-flow bill (资金账单), the sub-merchant one too: one row per movement of money.
    FundFlow,
}

impl BillKind {
    /// `trade` or `fund_flow`.
    pub fn as_str(self) -> &'static str {
        match self {
            BillKind::Trade => "trade",
            BillKind::FundFlow => "fund_flow",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Text,
    Money,
    Time,
}

macro_rules! columns {
    ($($(#[$m:meta])* $variant:ident: $kind:ident, $cell:ident, $key:literal, [$($name:literal),+];)*) => {
        /// A column WeChat Pay writes, found in a bill by its header name (any position).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Column {
            $($(#[$m])* $variant,)*
        }

        const COLUMNS: &[(Column, BillKind, Cell, &str, &[&str])] = &[
            $((Column::$variant, BillKind::$kind, Cell::$cell, $key, &[$($name),+]),)*
        ];
    };
}

columns! {
    /// 交易时间.
    TradeTime: Trade, Time, "trade_time", ["交易时间"];
    /// 公众账号ID.
    AppId: Trade, Text, "appid", ["公众账号ID"];
    /// 商户号.
    MchId: Trade, Text, "mchid", ["商户号"];
    /// 特约商户号 (older bills: 子商户号).
    SubMchId: Trade, Text, "sub_mchid", ["特约商户号", "子商户号"];
    /// 设备号.
    DeviceInfo: Trade, Text, "device_info", ["设备号"];
    /// 微信订单号.
    TransactionId: Trade, Text, "transaction_id", ["微信订单号"];
    /// 商户订单号.
    OutTradeNo: Trade, Text, "out_trade_no", ["商户订单号"];
    /// 用户标识.
    OpenId: Trade, Text, "openid", ["用户标识"];
    /// 交易类型.
    TradeType: Trade, Text, "trade_type", ["交易类型"];
    /// 交易状态: see [`TradeState`].
    TradeState: Trade, Text, "trade_state", ["交易状态"];
    /// 付款银行.
    BankType: Trade, Text, "bank_type", ["付款银行"];
    /// 货币种类.
    Currency: Trade, Text, "currency", ["货币种类"];
    /// 应结订单金额: the order amount less non-recharge coupons.
    SettlementAmount: Trade, Money, "settlement_amount_fen", ["应结订单金额"];
    /// 代金券金额 (older bills: 代金券或立减优惠金额).
    CouponAmount: Trade, Money, "coupon_amount_fen", ["代金券金额", "代金券或立减优惠金额"];
    /// 退款申请时间 (REFUND bills).
    RefundApplyTime: Trade, Time, "refund_apply_time", ["退款申请时间"];
    /// 退款成功时间 (REFUND bills).
    RefundSuccessTime: Trade, Time, "refund_success_time", ["退款成功时间"];
    /// 微信退款单号.
    RefundId: Trade, Text, "refund_id", ["微信退款单号"];
    /// 商户退款单号.
    OutRefundNo: Trade, Text, "out_refund_no", ["商户退款单号"];
    /// 退款金额.
    RefundAmount: Trade, Money, "refund_amount_fen", ["退款金额"];
    /// 充值券退款金额 (older bills: 代金券或立减优惠退款金额).
    RechargeCouponRefundAmount: Trade, Money, "recharge_coupon_refund_amount_fen", ["充值券退款金额", "代金券或立减优惠退款金额"];
    /// 退款类型: see [`RefundType`].
    RefundType: Trade, Text, "refund_type", ["退款类型"];
    /// 退款状态: see [`RefundStatus`].
    RefundStatus: Trade, Text, "refund_status", ["退款状态"];
    /// 商品名称.
    GoodsName: Trade, Text, "goods_name", ["商品名称"];
    /// 商户数据包 (`attach`).
    Attach: Trade, Text, "attach", ["商户数据包"];
    /// 手续费 (negative on refunds: the fee given back).
    Fee: Trade, Money, "fee_fen", ["手续费"];
    /// 费率, as written (`0.60%`).
    FeeRate: Trade, Text, "fee_rate", ["费率"];
    /// 订单金额 (older bills: 总金额).
    OrderAmount: Trade, Money, "order_amount_fen", ["订单金额", "总金额"];
    /// 申请退款金额.
    RefundApplyAmount: Trade, Money, "refund_apply_amount_fen", ["申请退款金额"];
    /// 费率备注.
    FeeRateNote: Trade, Text, "fee_rate_note", ["费率备注"];
    /// 记账时间.
    BookedAt: FundFlow, Time, "booked_at", ["记账时间"];
    /// 微信支付业务单号.
    BusinessId: FundFlow, Text, "business_id", ["微信支付业务单号"];
    /// 资金流水单号.
    FlowId: FundFlow, Text, "flow_id", ["资金流水单号"];
    /// 业务名称.
    BusinessName: FundFlow, Text, "business_name", ["业务名称"];
    /// 业务类型.
    BusinessType: FundFlow, Text, "business_type", ["业务类型"];
    /// 收支类型: see [`Direction`].
    Direction: FundFlow, Text, "direction", ["收支类型"];
    /// 收支金额(元).
    FlowAmount: FundFlow, Money, "amount_fen", ["收支金额(元)"];
    /// 账户结余(元).
    Balance: FundFlow, Money, "balance_fen", ["账户结余(元)"];
    /// 资金变更提交申请人.
    Applicant: FundFlow, Text, "applicant", ["资金变更提交申请人"];
    /// 备注.
    Remark: FundFlow, Text, "remark", ["备注"];
    /// 业务凭证号.
    VoucherNo: FundFlow, Text, "voucher_no", ["业务凭证号"];
}

impl Column {
    fn info(
        self,
    ) -> &'static (
        Column,
        BillKind,
        Cell,
        &'static str,
        &'static [&'static str],
    ) {
        &COLUMNS[self as usize]
    }

    /// The header name WeChat Pay writes (`应结订单金额`).
    pub fn header_name(self) -> &'static str {
        self.info().4[0]
    }

    /// The name in JSON (`settlement_amount_fen`; money columns end in `_fen`).
    pub fn key(self) -> &'static str {
        self.info().3
    }

    fn cell(self) -> Cell {
        self.info().2
    }
}

/// A header name as compared: no BOM, no backtick, no surrounding spaces, ASCII parentheses.
fn normalize(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .trim()
        .trim_start_matches('`')
        .trim()
        .replace('（', "(")
        .replace('）', ")")
}

/// A cell without its leading backtick.
fn strip_tick(f: &str) -> &str {
    f.strip_prefix('`').unwrap_or(f)
}

/// How a summary column is checked against the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tally {
    Rows,
    Sum(Column),
    RowsWhere(bool),
    SumWhere(bool),
}

/// Summary columns: (name, JSON key, how it is counted). `RowsWhere(true)`: income rows.
const SUMMARY: &[(&str, &str, Tally)] = &[
    ("总交易单数", "count", Tally::Rows),
    (
        "应结订单总金额",
        "settlement_total_fen",
        Tally::Sum(Column::SettlementAmount),
    ),
    (
        "退款总金额",
        "refund_total_fen",
        Tally::Sum(Column::RefundAmount),
    ),
    (
        "充值券退款总金额",
        "recharge_coupon_refund_total_fen",
        Tally::Sum(Column::RechargeCouponRefundAmount),
    ),
    ("手续费总金额", "fee_total_fen", Tally::Sum(Column::Fee)),
    (
        "订单总金额",
        "order_total_fen",
        Tally::Sum(Column::OrderAmount),
    ),
    (
        "申请退款总金额",
        "refund_apply_total_fen",
        Tally::Sum(Column::RefundApplyAmount),
    ),
    (
        "总交易额",
        "order_total_fen",
        Tally::Sum(Column::OrderAmount),
    ),
    (
        "总退款金额",
        "refund_total_fen",
        Tally::Sum(Column::RefundAmount),
    ),
    (
        "总代金券或立减优惠退款金额",
        "recharge_coupon_refund_total_fen",
        Tally::Sum(Column::RechargeCouponRefundAmount),
    ),
    ("资金流水总笔数", "count", Tally::Rows),
    ("收入笔数", "income_count", Tally::RowsWhere(true)),
    ("收入金额", "income_total_fen", Tally::SumWhere(true)),
    ("支出笔数", "expense_count", Tally::RowsWhere(false)),
    ("支出金额", "expense_total_fen", Tally::SumWhere(false)),
];

/// The first name of a summary header, by bill kind.
fn summary_starts(kind: BillKind, first: &str) -> bool {
    match kind {
        BillKind::Trade => first == "总交易单数",
        BillKind::FundFlow => first == "资金流水总笔数",
    }
}

/// A bill's detail header: the columns by position.
#[derive(Debug)]
struct Header {
    kind: BillKind,
    names: Vec<String>,
    /// Position of each known column, by `Column as usize`.
    index: Vec<Option<usize>>,
    /// The known column at each position.
    at: Vec<Option<Column>>,
    /// The positions of the columns checked on every row (money, times), with their column.
    checked: Vec<(usize, Column)>,
}

impl Header {
    fn parse(line: u64, names: Vec<String>) -> Result<Header, BillReadError> {
        let has = |n: &str| names.iter().any(|x| x == n);
        let kind = if has("商户订单号") && has("交易状态") {
            BillKind::Trade
        } else if has("记账时间") && has("资金流水单号") {
            BillKind::FundFlow
        } else {
            return Err(BillReadError::NotABill {
                line,
                found: names.iter().take(4).cloned().collect::<Vec<_>>().join(","),
            });
        };
        let mut index = vec![None; COLUMNS.len()];
        let mut at = vec![None; names.len()];
        for (i, name) in names.iter().enumerate() {
            if let Some((c, ..)) = COLUMNS
                .iter()
                .find(|(_, k, _, _, ns)| *k == kind && ns.contains(&name.as_str()))
            {
                if index[*c as usize].is_none() {
                    index[*c as usize] = Some(i);
                    at[i] = Some(*c);
                }
            }
        }
        let required: &[Column] = match kind {
            BillKind::Trade => &[Column::TradeTime, Column::OutTradeNo, Column::TradeState],
            BillKind::FundFlow => &[Column::BookedAt, Column::Direction, Column::FlowAmount],
        };
        if let Some(c) = required.iter().find(|c| index[**c as usize].is_none()) {
            return Err(BillReadError::MissingColumn {
                line,
                column: c.header_name(),
            });
        }
        let checked = at
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.filter(|c| c.cell() != Cell::Text).map(|c| (i, c)))
            .collect();
        Ok(Header {
            kind,
            names,
            index,
            at,
            checked,
        })
    }
}

/// One detail row of a bill. Known columns are read through [`BillRow::text`],
/// [`BillRow::money`] and [`BillRow::time`] (or the named accessors), each already checked
/// when the row was read; columns this version does not know are kept by name
/// ([`BillRow::extra`]).
#[derive(Clone)]
pub struct BillRow {
    line: u64,
    header: Arc<Header>,
    /// The record's fields, one after the other, as written (with their backticks).
    text: String,
    ends: Ends,
}

/// Where each field of a row ends in its text: inline for rows of up to 32 fields (every bill
/// WeChat Pay writes), so that a row costs one allocation.
#[derive(Clone)]
enum Ends {
    Inline { len: u8, at: [u32; 32] },
    Heap(Box<[u32]>),
}

impl Ends {
    fn as_slice(&self) -> &[u32] {
        match self {
            Ends::Inline { len, at } => &at[..usize::from(*len)],
            Ends::Heap(v) => v,
        }
    }
}

impl std::fmt::Debug for BillRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        m.entry(&"line", &self.line);
        for (i, name) in self.header.names.iter().enumerate() {
            m.entry(name, &self.field(i));
        }
        m.finish()
    }
}

impl BillRow {
    fn field(&self, i: usize) -> &str {
        let ends = self.ends.as_slice();
        let start = if i == 0 { 0 } else { ends[i - 1] as usize };
        strip_tick(self.text.get(start..ends[i] as usize).unwrap_or(""))
    }

    /// The line of the bill this row is on (from 1).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Which bill it is from.
    pub fn kind(&self) -> BillKind {
        self.header.kind
    }

    /// The text of a column, backtick removed; `None` when the bill has no such column.
    pub fn text(&self, column: Column) -> Option<&str> {
        self.header
            .index
            .get(column as usize)
            .copied()
            .flatten()
            .map(|i| self.field(i))
    }

    /// A money column in fen; `None` when the bill has no such column or the cell is empty.
    pub fn money(&self, column: Column) -> Option<Fen> {
        self.text(column)
            .filter(|t| !t.is_empty())
            .and_then(|t| Fen::from_yuan(t).ok())
    }

    /// A time column; `None` when the bill has no such column or the cell is empty.
    pub fn time(&self, column: Column) -> Option<BeijingTime> {
        self.text(column).and_then(BeijingTime::parse)
    }

    /// The columns this version does not know: (header name, text).
    pub fn extra(&self) -> impl Iterator<Item = (&str, &str)> {
        self.header
            .at
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_none())
            .map(|(i, _)| (self.header.names[i].as_str(), self.field(i)))
    }

    /// 交易时间 of a trade row, 记账时间 of a fund-flow row.
    pub fn time_of_row(&self) -> BeijingTime {
        let c = match self.header.kind {
            BillKind::Trade => Column::TradeTime,
            BillKind::FundFlow => Column::BookedAt,
        };
        // Checked when read: the column is required and its cells are times.
        self.time(c).unwrap_or(BeijingTime::from_unix(0))
    }

    /// 商户订单号 (trade bills).
    pub fn out_trade_no(&self) -> Option<&str> {
        self.text(Column::OutTradeNo)
    }

    /// 微信订单号 (trade bills).
    pub fn transaction_id(&self) -> Option<&str> {
        self.text(Column::TransactionId)
    }

    /// 商户退款单号 (trade bills; on refund rows).
    pub fn out_refund_no(&self) -> Option<&str> {
        self.text(Column::OutRefundNo)
    }

    /// 微信退款单号 (trade bills; on refund rows).
    pub fn refund_id(&self) -> Option<&str> {
        self.text(Column::RefundId)
    }

    /// 交易状态 (trade bills).
    pub fn trade_state(&self) -> Option<TradeState> {
        self.text(Column::TradeState).map(TradeState::parse)
    }

    /// Whether this trade row is a refund (交易状态 `REFUND`).
    pub fn is_refund(&self) -> bool {
        self.text(Column::TradeState) == Some("REFUND")
    }

    /// 退款状态 (trade bills; on refund rows).
    pub fn refund_status(&self) -> Option<RefundStatus> {
        self.text(Column::RefundStatus)
            .filter(|t| !t.is_empty())
            .map(RefundStatus::parse)
    }

    /// 退款类型 (trade bills; on refund rows).
    pub fn refund_type(&self) -> Option<RefundType> {
        self.text(Column::RefundType)
            .filter(|t| !t.is_empty())
            .map(RefundType::parse)
    }

    /// 收支类型 (fund-flow bills).
    pub fn direction(&self) -> Option<Direction> {
        self.text(Column::Direction).map(Direction::parse)
    }
}

impl Serialize for BillRow {
    /// `{"line": 2, "bill": "trade", <known columns by key>, "extra": {<name>: <text>}}`:
    /// money as integer fen (keys ending in `_fen`), times as RFC 3339 with `+08:00`, empty cells
    /// as `null`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("line", &self.line)?;
        m.serialize_entry("bill", self.header.kind.as_str())?;
        for (i, c) in self.header.at.iter().enumerate() {
            let Some(c) = c else { continue };
            let text = self.field(i);
            match c.cell() {
                _ if text.is_empty() => m.serialize_entry(c.key(), &None::<()>)?,
                Cell::Text => m.serialize_entry(c.key(), text)?,
                Cell::Money => m.serialize_entry(c.key(), &Fen::from_yuan(text).ok())?,
                Cell::Time => m.serialize_entry(c.key(), &BeijingTime::parse(text))?,
            }
        }
        let extra: serde_json::Map<String, serde_json::Value> = self
            .extra()
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect();
        if !extra.is_empty() {
            m.serialize_entry("extra", &extra)?;
        }
        m.end()
    }
}

/// A count or a sum of money, as a summary states it or as the rows add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Total {
    /// A number of rows.
    Count(u64),
    /// An amount.
    Money(Fen),
}

impl std::fmt::Display for Total {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Total::Count(n) => write!(f, "{n}"),
            Total::Money(m) => write!(f, "{m}"),
        }
    }
}

/// One column of a bill's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryItem {
    /// The header name, as WeChat Pay writes it (`应结订单总金额`).
    pub name: String,
    /// The JSON key of a known column (`settlement_total_fen`); `None` for a column this version
    /// does not know.
    pub key: Option<&'static str>,
    /// The text, backtick removed.
    pub text: String,
    /// What the summary states (known columns).
    pub stated: Option<Total>,
    /// What the rows add up to (known columns whose rows' column is in the bill).
    pub counted: Option<Total>,
}

impl SummaryItem {
    /// Whether the rows agree with the summary (a column that cannot be counted agrees).
    pub fn agrees(&self) -> bool {
        self.counted.is_none() || self.counted == self.stated
    }
}

/// A bill's summary, checked against its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillSummary {
    kind: BillKind,
    line: u64,
    rows: u64,
    items: Vec<SummaryItem>,
}

impl BillSummary {
    /// Which bill.
    pub fn kind(&self) -> BillKind {
        self.kind
    }

    /// The line of the summary row.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// How many detail rows were read.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Every column of the summary, in the bill's order.
    pub fn items(&self) -> &[SummaryItem] {
        &self.items
    }

    /// The stated total of a known summary column, by JSON key (`count`, `fee_total_fen`, …).
    pub fn stated(&self, key: &str) -> Option<Total> {
        self.items
            .iter()
            .find(|i| i.key == Some(key))
            .and_then(|i| i.stated)
    }

    /// The columns where the rows do not add up to the summary.
    pub fn disagreements(&self) -> impl Iterator<Item = &SummaryItem> {
        self.items.iter().filter(|i| !i.agrees())
    }

    /// Whether the rows add up to every total the summary states.
    pub fn agrees(&self) -> bool {
        self.items.iter().all(SummaryItem::agrees)
    }
}

impl Serialize for BillSummary {
    /// `{"bill": "trade", "line": 9, <key>: {"stated": n, "counted": n}, …, "other": {<name>:
    /// <text>}}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Pair {
            stated: Option<Total>,
            counted: Option<Total>,
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("bill", self.kind.as_str())?;
        m.serialize_entry("line", &self.line)?;
        let mut other = serde_json::Map::new();
        for i in &self.items {
            match i.key {
                Some(k) => m.serialize_entry(
                    k,
                    &Pair {
                        stated: i.stated,
                        counted: i.counted,
                    },
                )?,
                None => {
                    other.insert(i.name.clone(), i.text.clone().into());
                }
            }
        }
        if !other.is_empty() {
            m.serialize_entry("other", &other)?;
        }
        m.end()
    }
}

/// What the rows add up to so far.
#[derive(Debug, Default)]
struct Tallies {
    /// Sums of the money columns, by position.
    sums: Vec<i128>,
    /// (rows, sum) of income and of expense rows (fund-flow bills).
    income: (u64, i128),
    expense: (u64, i128),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Header,
    Rows,
    SummaryValues,
    Done,
}

/// The default [`BillReader::max_row_bytes`]: 1 MiB, far above any real row.
pub const DEFAULT_MAX_ROW_BYTES: usize = 1 << 20;

/// The streaming bill reader, sans-IO: push bytes as they come ([`BillReader::push`]), take the
/// rows completed so far, and call [`BillReader::finish`] at the end of the input for the
/// checked summary. Memory is bounded by one row, whatever the bill's size. [`BillRows`] drives
/// it over any [`BufRead`].
///
/// A bill that ends before its summary is an error ([`BillReadError::Truncated`]), never a short
/// result; a summary that disagrees with the rows is reported by [`BillSummary::agrees`].
pub struct BillReader {
    csv: csv_core::Reader,
    out: Vec<u8>,
    out_len: usize,
    ends: Vec<usize>,
    ends_len: usize,
    max_row: usize,
    stage: Stage,
    header: Option<Arc<Header>>,
    summary_names: Vec<String>,
    summary_line: u64,
    rows: u64,
    tallies: Tallies,
    summary: Option<BillSummary>,
}

impl std::fmt::Debug for BillReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillReader")
            .field("stage", &self.stage)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl Default for BillReader {
    fn default() -> Self {
        Self::new()
    }
}

impl BillReader {
    /// A reader for any kind of bill (the kind is read from the header).
    pub fn new() -> Self {
        BillReader {
            csv: csv_core::Reader::new(),
            out: vec![0; 1024],
            out_len: 0,
            ends: vec![0; 64],
            ends_len: 0,
            max_row: DEFAULT_MAX_ROW_BYTES,
            stage: Stage::Header,
            header: None,
            summary_names: Vec::new(),
            summary_line: 0,
            rows: 0,
            tallies: Tallies::default(),
            summary: None,
        }
    }

    /// Refuse a row longer than `limit` bytes ([`BillReadError::RowTooLong`]).
    pub fn max_row_bytes(mut self, limit: usize) -> Self {
        self.max_row = limit;
        self
    }

    /// The kind of bill, once its header is read.
    pub fn kind(&self) -> Option<BillKind> {
        self.header.as_ref().map(|h| h.kind)
    }

    /// Read `input`, appending each row it completes to `rows`.
    pub fn push(&mut self, mut input: &[u8], rows: &mut Vec<BillRow>) -> Result<(), BillReadError> {
        while !input.is_empty() {
            match self.step(input, rows)? {
                usize::MAX => break,
                n => input = &input[n..],
            }
        }
        Ok(())
    }

    /// The end of the input: the last row (if it had no line end) and the summary, checked.
    pub fn finish(&mut self, rows: &mut Vec<BillRow>) -> Result<BillSummary, BillReadError> {
        // At the end csv-core gives the last record, then `End`; a long last row may first
        // need the buffer grown (at most a few dozen times up to the row limit).
        for _ in 0..64 {
            if self.step(&[], rows)? == usize::MAX {
                break;
            }
        }
        if let Some(s) = self.summary.take() {
            return Ok(s);
        }
        let line = self.csv.line();
        Err(BillReadError::Truncated {
            line,
            missing: match self.stage {
                Stage::Header if self.header.is_none() => "the header",
                Stage::SummaryValues => "the summary row",
                _ => "the summary",
            },
        })
    }

    /// One call into the CSV reader; returns the bytes consumed (`usize::MAX` at the end).
    fn step(&mut self, input: &[u8], rows: &mut Vec<BillRow>) -> Result<usize, BillReadError> {
        use csv_core::ReadRecordResult as R;
        let (res, nin, nout, nend) = self.csv.read_record(
            input,
            &mut self.out[self.out_len..],
            &mut self.ends[self.ends_len..],
        );
        // csv-core counts field ends from the start of the record, across calls.
        self.out_len += nout;
        self.ends_len += nend;
        match res {
            R::InputEmpty => {}
            R::OutputFull => {
                if self.out.len() >= self.max_row {
                    return Err(BillReadError::RowTooLong {
                        line: self.csv.line(),
                        limit: self.max_row,
                    });
                }
                let grown = (self.out.len() * 2).min(self.max_row);
                self.out.resize(grown, 0);
            }
            R::OutputEndsFull => {
                if self.ends.len() >= 4096 {
                    return Err(BillReadError::RowTooLong {
                        line: self.csv.line(),
                        limit: self.max_row,
                    });
                }
                let grown = self.ends.len() * 2;
                self.ends.resize(grown, 0);
            }
            R::Record => {
                let ended_line = input[..nin].last() == Some(&b'\n');
                let line = self.csv.line() - u64::from(ended_line);
                let r = self.record(line, rows);
                self.out_len = 0;
                self.ends_len = 0;
                r?;
            }
            R::End => return Ok(usize::MAX),
        }
        Ok(nin)
    }

    fn record(&mut self, line: u64, rows: &mut Vec<BillRow>) -> Result<(), BillReadError> {
        let bytes = &self.out[..self.out_len];
        let text = std::str::from_utf8(bytes).map_err(|_| BillReadError::InvalidUtf8 { line })?;
        let ends = &self.ends[..self.ends_len];
        let field = |i: usize| {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            text.get(start..ends[i]).unwrap_or("")
        };
        let blank = ends.len() == 1 && field(0).trim().is_empty();
        match self.stage {
            _ if blank => Ok(()),
            Stage::Header => {
                let names = (0..ends.len()).map(|i| normalize(field(i))).collect();
                let header = Header::parse(line, names)?;
                self.tallies.sums = vec![0; header.names.len()];
                self.header = Some(Arc::new(header));
                self.stage = Stage::Rows;
                Ok(())
            }
            Stage::Rows => {
                let Some(header) = self.header.clone() else {
                    return Ok(());
                };
                let f0 = field(0).as_bytes();
                let looks_like_row =
                    f0.first() == Some(&b'`') && f0.get(1).is_some_and(u8::is_ascii_digit);
                if !looks_like_row && summary_starts(header.kind, &normalize(field(0))) {
                    self.summary_names = (0..ends.len()).map(|i| normalize(field(i))).collect();
                    self.summary_line = line;
                    self.stage = Stage::SummaryValues;
                    return Ok(());
                }
                if ends.len() != header.names.len() {
                    return Err(BillReadError::FieldCount {
                        line,
                        expected: header.names.len(),
                        found: ends.len(),
                    });
                }
                let direction = header.index[Column::Direction as usize].and_then(|i| {
                    match strip_tick(field(i)) {
                        "收入" => Some(true),
                        "支出" => Some(false),
                        _ => None,
                    }
                });
                for &(i, c) in &header.checked {
                    check_cell(
                        &mut self.tallies,
                        line,
                        &header,
                        i,
                        c,
                        strip_tick(field(i)),
                        direction,
                    )?;
                }
                let ends = if ends.len() <= 32 {
                    let mut at = [0u32; 32];
                    for (slot, &e) in at.iter_mut().zip(ends) {
                        *slot = e as u32;
                    }
                    Ends::Inline {
                        len: ends.len() as u8,
                        at,
                    }
                } else {
                    Ends::Heap(ends.iter().map(|&e| e as u32).collect())
                };
                self.rows += 1;
                rows.push(BillRow {
                    line,
                    header,
                    text: text.to_string(),
                    ends,
                });
                Ok(())
            }
            Stage::SummaryValues => {
                if ends.len() != self.summary_names.len() {
                    return Err(BillReadError::FieldCount {
                        line,
                        expected: self.summary_names.len(),
                        found: ends.len(),
                    });
                }
                let values: Vec<String> = (0..ends.len())
                    .map(|i| {
                        let f = field(i).trim();
                        f.strip_prefix('`').unwrap_or(f).to_string()
                    })
                    .collect();
                self.summarize(line, values)
            }
            Stage::Done => Err(BillReadError::AfterSummary { line }),
        }
    }

    fn summarize(&mut self, line: u64, values: Vec<String>) -> Result<(), BillReadError> {
        let Some(header) = self.header.clone() else {
            return Ok(());
        };
        let fund_direction_known = header.index[Column::Direction as usize].is_some();
        let mut items = Vec::with_capacity(values.len());
        for (name, text) in self.summary_names.iter().zip(values) {
            let known = SUMMARY.iter().find(|(n, ..)| n == name);
            let bad = |reason: &str| BillReadError::Cell {
                line,
                column: name.clone(),
                value: text.chars().take(64).collect(),
                reason: reason.to_string(),
            };
            let (key, stated, counted) = match known {
                None => (None, None, None),
                Some((_, key, tally)) => {
                    let count = |n: u64| Some(Total::Count(n));
                    let money = |v: i128| i64::try_from(v).ok().map(|v| Total::Money(Fen(v)));
                    let counted = match *tally {
                        Tally::Rows => count(self.rows),
                        Tally::Sum(c) => match header.index[c as usize] {
                            Some(i) => money(self.tallies.sums[i]),
                            None => None,
                        },
                        Tally::RowsWhere(income) if fund_direction_known => count(if income {
                            self.tallies.income.0
                        } else {
                            self.tallies.expense.0
                        }),
                        Tally::SumWhere(income) if fund_direction_known => money(if income {
                            self.tallies.income.1
                        } else {
                            self.tallies.expense.1
                        }),
                        _ => None,
                    };
                    let stated = match tally {
                        Tally::Rows | Tally::RowsWhere(_) => Total::Count(
                            text.parse::<u64>()
                                .map_err(|_| bad("not a count of rows"))?,
                        ),
                        _ => Total::Money(Fen::from_yuan(&text).map_err(|e| bad(&e.to_string()))?),
                    };
                    (Some(*key), Some(stated), counted)
                }
            };
            items.push(SummaryItem {
                name: name.clone(),
                key,
                text,
                stated,
                counted,
            });
        }
        self.summary = Some(BillSummary {
            kind: header.kind,
            line,
            rows: self.rows,
            items,
        });
        self.stage = Stage::Done;
        Ok(())
    }
}

fn check_cell(
    t: &mut Tallies,
    line: u64,
    header: &Header,
    i: usize,
    c: Column,
    f: &str,
    direction: Option<bool>,
) -> Result<(), BillReadError> {
    let bad = |reason: String| BillReadError::Cell {
        line,
        column: header.names[i].clone(),
        value: f.chars().take(64).collect(),
        reason,
    };
    match c.cell() {
        Cell::Money if !f.is_empty() => {
            let fen = Fen::from_yuan(f).map_err(|e| bad(e.to_string()))?;
            t.sums[i] += i128::from(fen.0);
            if c == Column::FlowAmount {
                match direction {
                    Some(true) => {
                        t.income.0 += 1;
                        t.income.1 += i128::from(fen.0);
                    }
                    Some(false) => {
                        t.expense.0 += 1;
                        t.expense.1 += i128::from(fen.0);
                    }
                    None => {}
                }
            }
        }
        // The row's own time is required; other times may be empty.
        Cell::Time if f.is_empty() => {
            if matches!(c, Column::TradeTime | Column::BookedAt) {
                return Err(bad("empty".into()));
            }
        }
        Cell::Time if BeijingTime::parse(f).is_none() => {
            return Err(bad("not a time (yyyy-MM-dd HH:mm:ss)".into()));
        }
        _ => {}
    }
    Ok(())
}

/// The rows of a bill read from any [`BufRead`] (a file, a gunzipping reader, a byte slice),
/// one at a time with bounded memory. After the last row, [`BillRows::summary`] holds the checked
/// summary; a bill that ends early yields [`BillReadError::Truncated`] as its last item.
pub struct BillRows<R> {
    input: R,
    reader: BillReader,
    pending: std::collections::VecDeque<BillRow>,
    buf: Vec<BillRow>,
    summary: Option<BillSummary>,
    done: bool,
}

impl<R> std::fmt::Debug for BillRows<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillRows")
            .field("reader", &self.reader)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> BillRows<R> {
    /// Read the bill from `input`.
    pub fn new(input: R) -> Self {
        Self::with_reader(input, BillReader::new())
    }

    /// Read with a configured [`BillReader`].
    pub fn with_reader(input: R, reader: BillReader) -> Self {
        BillRows {
            input,
            reader,
            pending: Default::default(),
            buf: Vec::new(),
            summary: None,
            done: false,
        }
    }

    /// The summary, checked against the rows, once every row has been read.
    pub fn summary(&self) -> Option<&BillSummary> {
        self.summary.as_ref()
    }

    /// The kind of bill, once its header is read.
    pub fn kind(&self) -> Option<BillKind> {
        self.reader.kind()
    }

    fn fill(&mut self) -> Result<(), BillReadError> {
        while self.buf.is_empty() && !self.done {
            let chunk = self.input.fill_buf().map_err(BillReadError::Io)?;
            if chunk.is_empty() {
                self.done = true;
                self.summary = Some(self.reader.finish(&mut self.buf)?);
            } else {
                let n = chunk.len();
                let r = self.reader.push(chunk, &mut self.buf);
                self.input.consume(n);
                r?;
            }
        }
        self.pending.extend(self.buf.drain(..));
        Ok(())
    }
}

impl<R: BufRead> Iterator for BillRows<R> {
    type Item = Result<BillRow, BillReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(row) = self.pending.pop_front() {
            return Some(Ok(row));
        }
        if self.done {
            return None;
        }
        if let Err(e) = self.fill() {
            self.done = true;
            return Some(Err(e));
        }
        self.pending.pop_front().map(Ok)
    }
}

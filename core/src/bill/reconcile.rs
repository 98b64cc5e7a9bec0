//! Reconciliation (对账): a trade bill's payments and refunds matched with the merchant's own
//! records.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use super::read::{BillKind, BillRow, Column};
use super::values::Fen;

/// A payment or a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryKind {
    /// A payment row (交易状态 `SUCCESS`, `REVOKED`, …).
    Payment,
    /// A refund row (交易状态 `REFUND`).
    Refund,
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryKind::Payment => "payment",
            EntryKind::Refund => "refund",
        })
    }
}

/// A payment or refund as the trade bill has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillEntry {
    /// The bill's line.
    pub line: u64,
    /// Payment or refund.
    pub kind: EntryKind,
    /// 商户订单号.
    pub out_trade_no: String,
    /// 商户退款单号 (refunds).
    pub out_refund_no: Option<String>,
    /// 微信订单号.
    pub transaction_id: String,
    /// A payment's 订单金额 (or, in a bill without it, 应结订单金额); a refund's 申请退款金额
    /// (or 退款金额): the amounts a merchant's own records hold.
    pub amount: Fen,
    /// A payment's 交易状态 (`SUCCESS`); a refund's 退款状态 (`SUCCESS`, `PROCESSING`, …).
    pub state: String,
}

impl BillEntry {
    /// The entry of a trade bill row; `None` for a fund-flow row.
    pub fn from_row(row: &BillRow) -> Option<BillEntry> {
        if row.kind() != BillKind::Trade {
            return None;
        }
        let text = |c| row.text(c).unwrap_or("").to_string();
        let refund = row.is_refund();
        let (kind, amount, state) = if refund {
            let amount = row
                .money(Column::RefundApplyAmount)
                .or_else(|| row.money(Column::RefundAmount));
            (EntryKind::Refund, amount, text(Column::RefundStatus))
        } else {
            let amount = row
                .money(Column::OrderAmount)
                .or_else(|| row.money(Column::SettlementAmount));
            (EntryKind::Payment, amount, text(Column::TradeState))
        };
        Some(BillEntry {
            line: row.line(),
            kind,
            out_trade_no: text(Column::OutTradeNo),
            out_refund_no: refund
                .then(|| text(Column::OutRefundNo))
                .filter(|n| !n.is_empty()),
            transaction_id: text(Column::TransactionId),
            amount: amount.unwrap_or_default(),
            state,
        })
    }

    /// Whether the bill says the money moved: a payment `SUCCESS`, a refund `SUCCESS` (or a
    /// refund row without a status).
    fn succeeded(&self) -> bool {
        self.state == "SUCCESS" || (self.kind == EntryKind::Refund && self.state.is_empty())
    }
}

/// A payment or refund as the merchant's records have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The order number.
    pub out_trade_no: String,
    /// The refund number, for a refund when the records have it (otherwise a refund is matched
    /// by its order number).
    pub out_refund_no: Option<String>,
    /// The amount, in fen.
    pub amount: Fen,
    /// `SUCCESS`: paid; `REFUND`: refunded. Any other state (`NOTPAY`, `CLOSED`, …) says no money
    /// moved, so the bill must not have it.
    pub state: String,
}

impl Record {
    /// A record of order `out_trade_no`.
    pub fn new(out_trade_no: impl Into<String>, amount: Fen, state: impl Into<String>) -> Self {
        Record {
            out_trade_no: out_trade_no.into(),
            out_refund_no: None,
            amount,
            state: state.into(),
        }
    }

    /// With the refund number.
    pub fn refund_no(mut self, out_refund_no: impl Into<String>) -> Self {
        self.out_refund_no = Some(out_refund_no.into());
        self
    }

    fn kind(&self) -> Option<EntryKind> {
        match self.state.as_str() {
            "SUCCESS" => Some(EntryKind::Payment),
            "REFUND" => Some(EntryKind::Refund),
            _ => None,
        }
    }
}

/// One difference between the bill and the records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "difference", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Difference {
    /// In the bill, not in the records: money moved that the records do not know (a lost
    /// notification).
    NotInRecords {
        /// What the bill has.
        bill: BillEntry,
    },
    /// In the records, not in the bill.
    NotInBill {
        /// What the records have.
        records: Record,
    },
    /// Both have it, with different amounts.
    Amount {
        /// What the bill has.
        bill: BillEntry,
        /// What the records have.
        records: Record,
    },
    /// Both have the order, in different states: paid here, refunded there; paid in the bill,
    /// unpaid in the records; a refund that did not succeed.
    State {
        /// What the bill has.
        bill: BillEntry,
        /// What the records have.
        records: Record,
    },
}

impl Difference {
    /// The order it is about.
    pub fn out_trade_no(&self) -> &str {
        match self {
            Difference::NotInRecords { bill }
            | Difference::Amount { bill, .. }
            | Difference::State { bill, .. } => &bill.out_trade_no,
            Difference::NotInBill { records } => &records.out_trade_no,
        }
    }

    fn line(&self) -> u64 {
        match self {
            Difference::NotInRecords { bill }
            | Difference::Amount { bill, .. }
            | Difference::State { bill, .. } => bill.line,
            Difference::NotInBill { .. } => u64::MAX,
        }
    }
}

fn refund_no(no: &Option<String>) -> String {
    no.as_deref().map(|n| format!(" {n}")).unwrap_or_default()
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::NotInRecords { bill: b } => write!(
                f,
                "{}: {}{} of {} yuan ({}) on line {} of the bill is not in the records",
                b.out_trade_no,
                b.kind,
                refund_no(&b.out_refund_no),
                b.amount,
                b.state,
                b.line
            ),
            Difference::NotInBill { records: r } => write!(
                f,
                "{}: {}{} of {} yuan in the records is not in the bill",
                r.out_trade_no,
                r.state,
                refund_no(&r.out_refund_no),
                r.amount
            ),
            Difference::Amount {
                bill: b,
                records: r,
            } => write!(
                f,
                "{}: {}{} of {} yuan on line {} of the bill, {} yuan in the records",
                b.out_trade_no,
                b.kind,
                refund_no(&b.out_refund_no),
                b.amount,
                b.line,
                r.amount
            ),
            Difference::State {
                bill: b,
                records: r,
            } => write!(
                f,
                "{}: {}{} {} on line {} of the bill, {} in the records",
                b.out_trade_no,
                b.kind,
                refund_no(&b.out_refund_no),
                if b.state.is_empty() { "?" } else { &b.state },
                b.line,
                r.state
            ),
        }
    }
}

/// What reconciling a bill with the records found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// Bill entries that matched a record exactly.
    pub matched: u64,
    /// Every difference, by order number then bill line.
    pub differences: Vec<Difference>,
}

impl Reconciliation {
    /// Whether the bill and the records agree.
    pub fn agrees(&self) -> bool {
        self.differences.is_empty()
    }
}

impl fmt::Display for Reconciliation {
    /// A readable report: a count line, then one line per difference.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.agrees() {
            return write!(
                f,
                "the bill and the records agree: {} entries matched",
                self.matched
            );
        }
        write!(
            f,
            "{} entries matched, {} difference{}:",
            self.matched,
            self.differences.len(),
            if self.differences.len() == 1 { "" } else { "s" }
        )?;
        for d in &self.differences {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}

/// Matches a trade bill's rows, streamed in, with the merchant's records: payments by
/// `out_trade_no`, refunds by `out_refund_no` (or by `out_trade_no` when the record has no
/// refund number). Feed every row with [`Reconciler::add`], then [`Reconciler::finish`].
#[derive(Debug)]
pub struct Reconciler {
    records: Vec<Record>,
    taken: Vec<bool>,
    paid: HashMap<String, Vec<usize>>,
    refunds_by_no: HashMap<String, usize>,
    refunds_by_order: HashMap<String, Vec<usize>>,
    /// Records in a state where no money moved.
    unpaid: HashMap<String, Vec<usize>>,
    left: Vec<BillEntry>,
    matched: u64,
    differences: Vec<Difference>,
}

/// The first index of `key`'s list not taken yet, now taken.
fn take(index: &HashMap<String, Vec<usize>>, taken: &mut [bool], key: &str) -> Option<usize> {
    let i = index.get(key)?.iter().copied().find(|&i| !taken[i])?;
    taken[i] = true;
    Some(i)
}

impl Reconciler {
    /// Reconcile against `records`.
    pub fn new(records: impl IntoIterator<Item = Record>) -> Self {
        let records: Vec<Record> = records.into_iter().collect();
        let mut paid: HashMap<String, Vec<usize>> = HashMap::new();
        let mut refunds_by_no = HashMap::new();
        let mut refunds_by_order: HashMap<String, Vec<usize>> = HashMap::new();
        let mut unpaid: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, rec) in records.iter().enumerate() {
            let key = rec.out_trade_no.clone();
            match (rec.kind(), &rec.out_refund_no) {
                (Some(EntryKind::Payment), _) => paid.entry(key).or_default().push(i),
                (Some(EntryKind::Refund), Some(no)) if !refunds_by_no.contains_key(no) => {
                    refunds_by_no.insert(no.clone(), i);
                }
                (Some(EntryKind::Refund), _) => refunds_by_order.entry(key).or_default().push(i),
                (None, _) => unpaid.entry(key).or_default().push(i),
            }
        }
        Reconciler {
            taken: vec![false; records.len()],
            records,
            paid,
            refunds_by_no,
            refunds_by_order,
            unpaid,
            left: Vec::new(),
            matched: 0,
            differences: Vec::new(),
        }
    }

    /// One row of the bill (fund-flow rows are not reconciled here and are skipped).
    pub fn add(&mut self, row: &BillRow) {
        if let Some(entry) = BillEntry::from_row(row) {
            self.add_entry(entry);
        }
    }

    /// One payment or refund of the bill.
    pub fn add_entry(&mut self, entry: BillEntry) {
        let taken = &mut self.taken;
        let found = match entry.kind {
            EntryKind::Payment => take(&self.paid, taken, &entry.out_trade_no),
            EntryKind::Refund => {
                let by_no = entry
                    .out_refund_no
                    .as_ref()
                    .and_then(|n| self.refunds_by_no.get(n))
                    .copied()
                    .filter(|&i| !taken[i]);
                match by_no {
                    Some(i) => {
                        taken[i] = true;
                        Some(i)
                    }
                    None => take(&self.refunds_by_order, taken, &entry.out_trade_no),
                }
            }
        };
        if let Some(i) = found {
            let records = self.records[i].clone();
            let state = !entry.succeeded();
            let amount = entry.amount != records.amount;
            if state {
                self.differences.push(Difference::State {
                    bill: entry.clone(),
                    records: records.clone(),
                });
            }
            if amount {
                self.differences.push(Difference::Amount {
                    bill: entry,
                    records,
                });
            }
            if !state && !amount {
                self.matched += 1;
            }
            return;
        }
        if entry.kind == EntryKind::Payment {
            if let Some(i) = take(&self.unpaid, &mut self.taken, &entry.out_trade_no) {
                self.differences.push(Difference::State {
                    bill: entry,
                    records: self.records[i].clone(),
                });
                return;
            }
        }
        self.left.push(entry);
    }

    /// Everything fed: the differences.
    pub fn finish(mut self) -> Reconciliation {
        let mut open: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in self.records.iter().enumerate() {
            if !self.taken[i] && r.kind().is_some() {
                open.entry(r.out_trade_no.clone()).or_default().push(i);
            }
        }
        for entry in std::mem::take(&mut self.left) {
            match take(&open, &mut self.taken, &entry.out_trade_no) {
                Some(i) => {
                    self.differences.push(Difference::State {
                        bill: entry,
                        records: self.records[i].clone(),
                    });
                }
                None => self
                    .differences
                    .push(Difference::NotInRecords { bill: entry }),
            }
        }
        for (i, r) in self.records.iter().enumerate() {
            if !self.taken[i] && r.kind().is_some() {
                self.differences
                    .push(Difference::NotInBill { records: r.clone() });
            }
        }
        self.differences
            .sort_by(|a, b| (a.out_trade_no(), a.line()).cmp(&(b.out_trade_no(), b.line())));
        Reconciliation {
            matched: self.matched,
            differences: self.differences,
        }
    }
}

//! `wxpay bill parse` and `wxpay bill reconcile`: a bill file read into typed rows, its summary
//! checked, and its payments and refunds matched with the merchant's orders.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use wechatpay_core::bill::{BillKind, BillRow, BillRows, BillSummary, Fen, Reconciler, Record};
use wechatpay_core::BillReadError;

use crate::Failure;

/// `wxpay bill parse`.
#[derive(clap::Args, Debug)]
pub struct ParseArgs {
    /// The bill: as downloaded (plain or gzip), any type (trade ALL/SUCCESS/REFUND, fund-flow,
    /// APIv2)
    pub file: PathBuf,
}

/// `wxpay bill reconcile`.
#[derive(clap::Args, Debug)]
pub struct ReconcileArgs {
    /// The trade bill (plain or gzip)
    pub file: PathBuf,
    /// The merchant's records: CSV with a header and the columns out_trade_no,amount_fen,state
    /// (one line per payment, state SUCCESS, and per refund, state REFUND; any other state,
    /// e.g. NOTPAY or CLOSED, says no money moved); an out_refund_no column is used when present
    #[arg(long, value_name = "ORDERS.csv")]
    pub orders: PathBuf,
}

/// The bill file, gunzipped when it is gzip.
fn open(path: &Path) -> Result<Box<dyn BufRead>, Failure> {
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    let mut r = BufReader::with_capacity(1 << 16, file);
    let gzip = r
        .fill_buf()
        .map(|b| b.starts_with(&[0x1f, 0x8b]))
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    Ok(if gzip {
        Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(r),
        ))
    } else {
        Box::new(r)
    })
}

fn read_failure(path: &Path, e: &BillReadError) -> Failure {
    Failure::rejected(e.kind(), format!("{}: {e}", path.display()))
}

/// Why a summary that does not add up fails.
fn disagreement(path: &Path, s: &BillSummary) -> Option<Failure> {
    let bad: Vec<String> = s
        .disagreements()
        .map(|i| {
            format!(
                "{} states {}, the rows add up to {}",
                i.name,
                i.stated.map(|t| t.to_string()).unwrap_or_default(),
                i.counted.map(|t| t.to_string()).unwrap_or_default()
            )
        })
        .collect();
    (!bad.is_empty()).then(|| {
        Failure::rejected(
            "bill_summary",
            format!(
                "{}: line {}: the summary disagrees with the rows: {}",
                path.display(),
                s.line(),
                bad.join("; ")
            ),
        )
    })
}

fn summary_text(s: &BillSummary, payments: u64, refunds: u64) -> String {
    let what = match s.kind() {
        BillKind::Trade => format!(
            "trade bill: {} rows ({payments} payments, {refunds} refunds)",
            s.rows()
        ),
        _ => format!("fund-flow bill: {} rows", s.rows()),
    };
    let mut text = format!("{what}\nsummary on line {}:", s.line());
    for i in s.items() {
        let mark = match (i.stated, i.counted) {
            (_, None) => "(not counted)".to_string(),
            (a, b) if a == b => "= the rows".to_string(),
            (_, Some(c)) => format!("≠ the rows: {c}"),
        };
        text.push_str(&format!("\n  {} {} {mark}", i.name, i.text));
    }
    text.push_str(if s.agrees() {
        "\nthe summary agrees with the rows"
    } else {
        "\nthe summary DISAGREES with the rows"
    });
    text
}

/// `wxpay bill parse FILE`: with `--json`, each row as a JSON line, then
/// `{"summary": …, "rows": N, "ok": …}`; as text, the summary and its check. Exit 1 when the
/// summary disagrees, the bill is truncated or malformed.
pub fn parse(json_mode: bool, path: &Path) -> Result<(), Failure> {
    let mut rows = BillRows::new(open(path)?);
    let (mut n, mut payments, mut refunds) = (0u64, 0u64, 0u64);
    for row in rows.by_ref() {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                let f = read_failure(path, &e);
                let line = json!({"summary": null, "rows": n, "ok": false, "line": e.line()});
                return if json_mode {
                    Err(f.with_details(line))
                } else {
                    Err(f)
                };
            }
        };
        n += 1;
        if row.is_refund() {
            refunds += 1;
        } else if row.kind() == BillKind::Trade {
            payments += 1;
        }
        if json_mode {
            print_row(&row);
        }
    }
    let Some(summary) = rows.summary() else {
        return Err(Failure::rejected(
            "bill_truncated",
            "the bill has no summary",
        ));
    };
    let doc = json!({"summary": summary, "rows": n, "ok": summary.agrees()});
    crate::cmds::report(
        json_mode,
        doc,
        || summary_text(summary, payments, refunds),
        disagreement(path, summary),
    )
}

fn print_row(row: &BillRow) {
    let line = serde_json::to_string(row).unwrap_or_default();
    outln!("{}", crate::display::json(&line));
}

/// The merchant's records from a CSV file with a header.
fn records(path: &Path) -> Result<Vec<Record>, Failure> {
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    read_records(path, file)
}

fn read_records(path: &Path, input: impl Read) -> Result<Vec<Record>, Failure> {
    let bad = |line: u64, what: String| {
        Failure::usage(format!("{}: line {line}: {what}", path.display()))
    };
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let headers = csv
        .headers()
        .map_err(|e| bad(1, e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect::<Vec<_>>();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(no), Some(amount), Some(state)) =
        (col("out_trade_no"), col("amount_fen"), col("state"))
    else {
        return Err(bad(
            1,
            format!(
                "the header must name out_trade_no, amount_fen and state (it has {})",
                headers.join(",")
            ),
        ));
    };
    let refund_no = col("out_refund_no");
    let mut out = Vec::new();
    for record in csv.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("");
        let fen: i64 = field(amount).parse().map_err(|_| {
            bad(
                line,
                format!(
                    "amount_fen {:?} is not a whole number of fen",
                    field(amount)
                ),
            )
        })?;
        if field(no).is_empty() {
            return Err(bad(line, "out_trade_no is empty".into()));
        }
        let mut r = Record::new(field(no), Fen(fen), field(state).to_ascii_uppercase());
        if let Some(i) = refund_no.filter(|&i| !field(i).is_empty()) {
            r = r.refund_no(field(i));
        }
        out.push(r);
    }
    Ok(out)
}

/// `wxpay bill reconcile FILE --orders ORDERS.csv`: exit 0 when the bill and the records agree;
/// exit 1 with every difference listed, each naming its `out_trade_no`.
pub fn reconcile(json_mode: bool, a: &ReconcileArgs) -> Result<(), Failure> {
    let records = records(&a.orders)?;
    let mut rows = BillRows::new(open(&a.file)?);
    let mut reconciler = Reconciler::new(records);
    for row in rows.by_ref() {
        let row = row.map_err(|e| read_failure(&a.file, &e))?;
        if row.kind() != BillKind::Trade {
            return Err(Failure::usage(format!(
                "{} is a fund-flow bill; reconcile takes a trade bill",
                a.file.display()
            )));
        }
        reconciler.add(&row);
    }
    let Some(summary) = rows.summary() else {
        return Err(Failure::rejected(
            "bill_truncated",
            "the bill has no summary",
        ));
    };
    if let Some(f) = disagreement(&a.file, summary) {
        return Err(f);
    }
    let result = reconciler.finish();
    let differences: Vec<Value> = result
        .differences
        .iter()
        .map(|d| {
            let mut v = serde_json::to_value(d).unwrap_or_default();
            v["out_trade_no"] = json!(d.out_trade_no());
            v["message"] = json!(d.to_string());
            v
        })
        .collect();
    let doc = json!({
        "ok": result.agrees(),
        "matched": result.matched,
        "differences": differences,
    });
    let failure = (!result.agrees()).then(|| {
        Failure::rejected(
            "bill_differences",
            format!(
                "{} difference{} between the bill and the records",
                result.differences.len(),
                if result.differences.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ),
        )
    });
    crate::cmds::report(json_mode, doc, || result.to_string(), failure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_need_their_columns_and_whole_fen() {
        let p = Path::new("orders.csv");
        let ok = read_records(
            p,
            "state,amount_fen,out_trade_no,out_refund_no\nSUCCESS,100,A,\nrefund, 50 ,A,R1\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].state, "REFUND");
        assert_eq!(ok[1].amount, Fen(50));
        assert_eq!(ok[1].out_refund_no.as_deref(), Some("R1"));
        let e = read_records(p, "out_trade_no,amount\nA,1\n".as_bytes()).unwrap_err();
        assert!(e
            .message
            .contains("must name out_trade_no, amount_fen and state"));
        let e = read_records(
            p,
            "out_trade_no,amount_fen,state\nA,1.00,SUCCESS\n".as_bytes(),
        )
        .unwrap_err();
        assert!(e.message.contains("line 2") && e.message.contains("whole number of fen"));
        let e = read_records(p, "out_trade_no,amount_fen,state\nA,1\n".as_bytes()).unwrap_err();
        assert!(e.message.contains("line 2"), "{}", e.message);
    }
}

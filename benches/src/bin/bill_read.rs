//! Reading bills: rows/s of `wechatpay_core::bill::BillRows` (typed rows, money in fen, the
//! summary checked) next to a plain CSV reader's floor (the `csv` crate, one reused
//! `ByteRecord`, nothing parsed) on the same file, in one run, alternating; and the peak memory
//! of reading a bill of N/10 and of N rows, each in a process of its own.
//!
//! `bill_read [--rows N] [--rounds R] [--dir DIR] [--json]` (defaults: 1 000 000 rows, 5
//! rounds, the system's temporary directory). The bills are the sandbox's trade bills (`ALL`,
//! every column, a refund row for every tenth payment), written once and kept.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use wechatpay_core::bill::BillRows;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn peak_rss_kib() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct we pass; RUSAGE_SELF is always valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_maxrss
}

/// A bill of `payments` payments (and their refunds) at `path`, written once.
fn bill(path: &Path, payments: usize) {
    if path.exists() {
        return;
    }
    let text = wechatpay_sandbox::bill_text("TRADE", "2026-12-06", payments);
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).expect("create the bill");
    f.write_all(&text).expect("write the bill");
    std::fs::rename(&tmp, path).expect("rename the bill");
}

/// Every row read, typed and checked; returns the row count.
fn ours(path: &Path) -> u64 {
    let file = std::fs::File::open(path).expect("open");
    let mut rows = BillRows::new(BufReader::with_capacity(1 << 16, file));
    let mut n = 0u64;
    for row in rows.by_ref() {
        let row = row.expect("a good row");
        n += u64::from(row.out_trade_no().is_some());
    }
    assert!(rows.summary().expect("summary").agrees());
    n
}

/// The floor: every record split into fields, nothing else.
fn floor(path: &Path) -> u64 {
    let file = std::fs::File::open(path).expect("open");
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(file);
    let mut rec = csv::ByteRecord::new();
    let mut n = 0u64;
    while r.read_byte_record(&mut rec).expect("a record") {
        n += u64::from(!rec.is_empty());
    }
    // Header, summary header and summary row.
    n - 3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode == "gen" {
        // Child: write a bill (the parent never holds one, so that the peak memory its `rss`
        // children report is theirs: Linux keeps the high-water mark across fork and exec).
        let path = PathBuf::from(arg("gen").expect("gen PATH"));
        let rows: usize = std::env::args()
            .nth(3)
            .and_then(|s| s.parse().ok())
            .expect("gen PATH ROWS");
        bill(&path, rows);
        return;
    }
    if mode == "rss" || mode == "rss-floor" {
        // Child: read one bill, print rows and peak RSS (`rss-floor`: with the floor, for
        // instruction counts under callgrind).
        let path = PathBuf::from(arg(&mode).expect("rss PATH"));
        let n = if mode == "rss" {
            ours(&path)
        } else {
            floor(&path)
        };
        println!("{n} {}", peak_rss_kib());
        return;
    }
    let rows: usize = arg("--rows").map_or(1_000_000, |s| s.parse().expect("--rows N"));
    let rounds: usize = arg("--rounds").map_or(5, |s| s.parse().expect("--rounds R"));
    let dir = arg("--dir").map_or_else(std::env::temp_dir, PathBuf::from);
    let json = std::env::args().any(|a| a == "--json");
    let small_path = dir.join(format!("wxpay-bill-{}.csv", rows / 10));
    let large_path = dir.join(format!("wxpay-bill-{rows}.csv"));
    for (path, n) in [(&small_path, rows / 10), (&large_path, rows)] {
        if !path.exists() {
            let ok = Command::new(std::env::current_exe().expect("self"))
                .args(["gen", path.to_str().expect("a UTF-8 path"), &n.to_string()])
                .status()
                .expect("child runs");
            assert!(ok.success());
        }
    }
    let bytes = std::fs::metadata(&large_path).expect("bill").len();

    let rss = |path: &Path| -> (u64, i64) {
        let out = Command::new(std::env::current_exe().expect("self"))
            .args(["rss", path.to_str().expect("a UTF-8 path")])
            .output()
            .expect("child runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let mut it = text
            .split_whitespace()
            .map(|s| s.parse::<i64>().expect("number"));
        (it.next().unwrap_or(0) as u64, it.next().unwrap_or(0))
    };
    let (small_rows, small_rss) = rss(&small_path);
    let (large_rows, large_rss) = rss(&large_path);

    // Alternate, so that both see the same machine; the file is in the page cache after the
    // first read.
    floor(&large_path);
    let (mut f_rates, mut o_rates) = (Vec::new(), Vec::new());
    let mut data_rows = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let n = floor(&large_path);
        f_rates.push(n as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        data_rows = ours(&large_path);
        o_rates.push(data_rows as f64 / t.elapsed().as_secs_f64());
        assert_eq!(n, data_rows, "both read every row");
    }
    let (f, o) = (median(f_rates), median(o_rates));
    if json {
        println!(
            "{}",
            serde_json::json!({
                "rows": data_rows, "bytes": bytes, "rounds": rounds,
                "floor_rows_per_s": f.round(), "ours_rows_per_s": o.round(), "ratio": o / f,
                "rss_kib": {"rows": [small_rows, large_rows], "peak": [small_rss, large_rss]},
            })
        );
    } else {
        println!("{data_rows} rows, {bytes} bytes, median of {rounds} alternating rounds:");
        println!("  plain CSV floor (csv ByteRecord)   {:>12.0} rows/s", f);
        println!("  BillRows (typed, summary checked)  {:>12.0} rows/s", o);
        println!("  ours / floor                       {:>12.2}", o / f);
        println!(
            "peak RSS reading {small_rows} rows: {small_rss} KiB; {large_rows} rows: {large_rss} KiB"
        );
    }
}

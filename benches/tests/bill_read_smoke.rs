//! `bill_read` runs and prints the promised JSON (behaviour only, never speed).

use std::process::Command;

#[test]
fn bill_read_reports_rates_and_memory() {
    let dir = std::env::temp_dir().join(format!("wxpay-bill-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bill_read"))
        .args(["--rows", "2000", "--rounds", "1", "--json", "--dir"])
        .arg(&dir)
        .output()
        .expect("bill_read runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["rows"], 2_200, "2 000 payments and 200 refunds");
    for k in ["floor_rows_per_s", "ours_rows_per_s", "ratio"] {
        assert!(v[k].as_f64().unwrap() > 0.0, "{k}");
    }
    assert_eq!(v["rss_kib"]["rows"], serde_json::json!([220, 2200]));
}

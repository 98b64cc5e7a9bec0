//! `loadgen` works in both modes and prints the promised JSON (behaviour only, never speed).

use std::process::Command;

fn run(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .output()
        .expect("loadgen runs");
    assert!(
        out.status.success(),
        "loadgen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn every_transport_reports_every_field() {
    for transport in ["hyper", "reqwest", "ureq"] {
        let v = run(&[
            "--requests",
            "40",
            "--concurrency",
            "4",
            "--transport",
            transport,
            "--json",
        ]);
        for field in [
            "rps",
            "p50_ms",
            "p99_ms",
            "client_cpu_us_per_call",
            "peak_rss_kib",
            "errors",
            "errors_by_kind",
            "rsa_floor_us",
            "median_segment_ratio",
        ] {
            assert!(
                v.get(field).is_some(),
                "{transport}: {field} missing in {v}"
            );
        }
        assert_eq!(v["errors"], 0, "{transport}: {v}");
        assert_eq!(v["transport"], transport);
        assert!(v["client_cpu_us_per_call"].as_f64().unwrap() > 0.0);
        // Every call made once, over 24 segments (the default) each followed by a floor
        // measurement.
        assert_eq!(v["calls_made"], 40, "{transport}: {v}");
        assert_eq!(
            v["segment_ratios"].as_array().map(Vec::len),
            Some(24),
            "{v}"
        );
    }
}

#[test]
fn segments_never_outnumber_calls_and_pinning_runs() {
    let v = run(&[
        "--requests",
        "5",
        "--concurrency",
        "2",
        "--segments",
        "8",
        "--json",
    ]);
    assert_eq!(v["calls_made"], 5, "{v}");
    assert_eq!(v["segment_ratios"].as_array().map(Vec::len), Some(5), "{v}");
    let v = run(&[
        "--requests",
        "30",
        "--concurrency",
        "3",
        "--segments",
        "3",
        "--json",
    ]);
    assert_eq!(v["segment_ratios"].as_array().map(Vec::len), Some(3), "{v}");
    // --pin needs two CPUs (client on one, gateway on the other).
    if std::thread::available_parallelism().map_or(0, usize::from) >= 2 {
        for transport in ["hyper", "ureq"] {
            let v = run(&[
                "--requests",
                "20",
                "--concurrency",
                "4",
                "--transport",
                transport,
                "--pin",
                "--json",
            ]);
            assert_eq!(v["errors"], 0, "{transport}: {v}");
            assert_eq!(v["calls_made"], 20, "{transport}: {v}");
            assert_eq!(v["pinned"], true, "{transport}: {v}");
            // Pinned against the sandbox: the floor beside a busy gateway, and the gateway's
            // share of its CPU (it served 20 calls: some, and never more than the CPU).
            let beside = v["rsa_floor_beside_busy_gateway_us"].as_f64();
            assert!(beside.is_some_and(|us| us > 0.0), "{transport}: {v}");
            let share = v["gateway_cpu_share"].as_f64();
            assert!(
                share.is_some_and(|g| g > 0.0 && g <= 1.05),
                "{transport}: {v}"
            );
        }
    }
    // Unpinned, neither is measured.
    assert!(v["rsa_floor_beside_busy_gateway_us"].is_null(), "{v}");
    assert!(v["gateway_cpu_share"].is_null(), "{v}");
}

/// `--goals` runs every transport at concurrency 1 and 16 and judges each median against its
/// target; the verdict must follow from the figures it prints (no speed is asserted here).
#[test]
fn goals_report_every_configuration_against_its_target() {
    let v = run(&[
        "--goals",
        "--runs",
        "2",
        "--requests",
        "6",
        "--segments",
        "2",
        "--json",
    ]);
    assert_eq!(v["runs"], 2, "{v}");
    let rows = v["goals"].as_array().expect("goals");
    let seen: Vec<(&str, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["transport"].as_str().unwrap(),
                r["concurrency"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("hyper", 1),
            ("hyper", 16),
            ("reqwest", 1),
            ("reqwest", 16),
            ("ureq", 1),
            ("ureq", 16)
        ]
    );
    for r in rows {
        let ratios: Vec<f64> = r["ratios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(ratios.len(), 2, "{r}");
        let median = r["median"].as_f64().unwrap();
        assert!((median - (ratios[0] + ratios[1]) / 2.0).abs() < 1e-9, "{r}");
        let target = r["target"].as_f64().unwrap();
        let fast = r["transport"] != "ureq" && r["concurrency"] == 16;
        assert_eq!(target, if fast { 1.10 } else { 1.15 }, "{r}");
        assert_eq!(r["errors"], 0, "{r}");
        assert_eq!(r["met"], median <= target, "{r}");
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    for (args, why) in [
        (&["--transport", "carrier-pigeon"][..], "no such transport"),
        (&["--segments", "0"], "no segments"),
        (&["--runs", "0"], "no runs"),
        (
            &["--goals", "--base-url", "http://127.0.0.1:9"],
            "--goals is for the sandbox",
        ),
        (
            &["--base-url", "http://127.0.0.1:9"],
            "credentials are required with --base-url",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{why}");
    }
}

#[test]
fn help_is_printed() {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("--help")
        .output()
        .expect("loadgen runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--transport T") && text.contains("reqwest") && text.contains("--goals"),
        "{text}"
    );
}

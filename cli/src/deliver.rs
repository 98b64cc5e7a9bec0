//! `wxpay sandbox deliver`: test your own callback endpoint the way WeChat Pay calls it.

use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;
use serde_json::{json, Value};
use wechatpay_sandbox::deliver::{Deliverer, Event, Report, Scenario, ScenarioReport};
use wechatpay_sandbox::{Gateway, Mode, TestKeys};

use crate::cmds::SandboxMode;
use crate::Failure;

/// What to send (`all`: every scenario, one after the other).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultArg {
    /// A genuine notification, retried on WeChat Pay's schedule until answered 2xx
    Valid,
    /// The body changed after signing
    Tampered,
    /// A probe signature (WECHATPAY/SIGNTEST/…)
    Probe,
    /// Signed an hour ago
    Stale,
    /// Encrypted under another APIv3 key
    WrongApiv3Key,
    /// Delivered, then the same bytes again
    Replayed,
    /// Delivered, then delivered again (newly signed, same id)
    Duplicate,
    /// Delivered twice at once (newly signed, same id)
    Concurrent,
    /// Every scenario above
    All,
}

impl FaultArg {
    fn scenarios(self) -> Vec<Scenario> {
        match self {
            FaultArg::Valid => vec![Scenario::Valid],
            FaultArg::Tampered => vec![Scenario::Tampered],
            FaultArg::Probe => vec![Scenario::Probe],
            FaultArg::Stale => vec![Scenario::Stale],
            FaultArg::WrongApiv3Key => vec![Scenario::WrongApiV3Key],
            FaultArg::Replayed => vec![Scenario::Replayed],
            FaultArg::Duplicate => vec![Scenario::Duplicate],
            FaultArg::Concurrent => vec![Scenario::Concurrent],
            FaultArg::All => Scenario::ALL.to_vec(),
        }
    }
}

/// `wxpay sandbox deliver`.
#[derive(clap::Args, Debug)]
pub struct DeliverArgs {
    /// Your callback endpoint (http:// or https://). It must verify with the sandbox's TEST-ONLY
    /// platform key and APIv3 key: `--dir` writes them
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// The event to send
    #[arg(long, default_value = "TRANSACTION.SUCCESS")]
    pub event: String,
    /// The order number in the resource (default: a new one per run)
    #[arg(long)]
    pub out_trade_no: Option<String>,
    /// What to send
    #[arg(long, value_enum, default_value = "valid")]
    pub fault: FaultArg,
    /// Multiply WeChat Pay's retry waits (15 s, 15 s, 30 s, 3 min, … about 24 h) by this: 0.001
    /// turns 15 s into 15 ms
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Stop retrying after this many attempts (1..=16)
    #[arg(long, default_value_t = 16)]
    pub max_attempts: usize,
    /// Give up on one attempt after this many seconds
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Which key signs: the platform certificate or the platform public key
    #[arg(long, value_enum, default_value = "cert")]
    pub mode: SandboxMode,
    /// Write the TEST-ONLY platform certificate, public key and APIv3 key your endpoint needs
    /// into this directory
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run(json_mode: bool, a: DeliverArgs) -> Result<(), Failure> {
    if !(a.to.starts_with("http://") || a.to.starts_with("https://")) {
        return Err(Failure::usage(format!(
            "--to {:?} is not an http:// or https:// URL",
            a.to
        )));
    }
    if !(a.scale.is_finite() && (0.0..=1.0).contains(&a.scale)) {
        return Err(Failure::usage("--scale must be between 0 and 1"));
    }
    let mode = Mode::from(a.mode);
    let keys = TestKeys::load();
    if let Some(dir) = &a.dir {
        write_keys(dir, &keys)?;
    }
    // The sender: ureq through the transport's raw `execute` (no verification: the answer is
    // the merchant's, unsigned).
    let core = keys
        .client_builder("http://127.0.0.1:1", Mode::Both)
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let config = wechatpay_core::transport::Config::default()
        .timeout(Duration::from_secs(a.timeout.clamp(1, 600)))
        .max_body_bytes(1 << 20);
    let http = wechatpay_ureq::Client::with_config(core, config).map_err(|e| Failure {
        details: None,
        code: 4,
        kind: "transport".into(),
        message: e.to_string(),
    })?;
    let send = |url: &str, mut req: http::Request<Vec<u8>>| {
        *req.uri_mut() = url
            .parse()
            .map_err(|_| std::io::Error::other("not a URL"))?;
        let r = http.execute(req).map_err(std::io::Error::other)?;
        Ok((r.status(), r.into_body()))
    };
    let gw = Gateway::with_test_keys(mode);
    let deliverer = Deliverer::new(&gw)
        .scale(a.scale)
        .max_attempts(a.max_attempts);
    let out_trade_no = a.out_trade_no.clone().unwrap_or_else(|| {
        format!(
            "WXPAY-DELIVER-{}",
            wechatpay_core::Clock::now(&wechatpay_core::SystemClock)
        )
    });
    let event = Event::sample(&a.event, &out_trade_no);
    if !json_mode {
        outln!(
            "delivering {} ({}) to {} — signed with the sandbox's TEST-ONLY {} key",
            a.event,
            out_trade_no,
            crate::display::line(&a.to),
            if mode == Mode::PublicKey {
                "public"
            } else {
                "certificate"
            }
        );
    }
    let mut all_ok = true;
    let mut results = Vec::new();
    for scenario in a.fault.scenarios() {
        let r = deliverer.scenario(scenario, &a.to, &event, &send);
        all_ok &= r.ok;
        if json_mode {
            results.push(scenario_json(&r));
        } else {
            outln!("{}", crate::display::text(&scenario_text(&r)));
        }
    }
    let failure = (!all_ok).then(|| {
        Failure::rejected(
            "endpoint_misbehaved",
            "the endpoint did not answer as WeChat Pay expects (see the scenarios)",
        )
    });
    if json_mode {
        crate::cmds::report(
            true,
            json!({"ok": all_ok, "scenarios": results}),
            String::new,
            failure,
        )
    } else {
        failure.map_or(Ok(()), Err)
    }
}

fn write_keys(dir: &std::path::Path, keys: &TestKeys) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
    for (name, text) in [
        ("platform_cert.pem", keys.platform_cert_pem),
        ("pub_key.pem", keys.public_key_pem),
        ("apiv3_key.txt", keys.apiv3_key),
    ] {
        std::fs::write(dir.join(name), text).map_err(|e| {
            Failure::usage(format!("cannot write {}: {e}", dir.join(name).display()))
        })?;
    }
    Ok(())
}

fn report_json(r: &Report) -> Value {
    json!({
        "id": r.id,
        "delivered": r.delivered(),
        "attempts": r.attempts.iter().map(|a| json!({
            "number": a.number,
            "at_ms": a.offset.as_millis() as u64,
            "headers": a.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
            "status": a.status.map(|s| s.as_u16()),
            "answer": a.answer,
            "error": a.error,
        })).collect::<Vec<_>>(),
    })
}

fn scenario_json(r: &ScenarioReport) -> Value {
    json!({
        "scenario": r.scenario.name(),
        "expected": r.scenario.expected(),
        "ok": r.ok,
        "deliveries": r.reports.iter().map(report_json).collect::<Vec<_>>(),
    })
}

fn scenario_text(r: &ScenarioReport) -> String {
    let mut s = format!(
        "\n[{}] {} — expected: {}\n",
        if r.ok { "ok" } else { "UNEXPECTED" },
        r.scenario.name(),
        r.scenario.expected()
    );
    for (n, rep) in r.reports.iter().enumerate() {
        s.push_str(&format!("  delivery {} of {}:\n", n + 1, rep.id));
        for a in &rep.attempts {
            let sent: Vec<String> = a
                .headers
                .iter()
                .filter(|(k, _)| k != "wechatpay-signature")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            // The endpoint's answer is one line of the report, whatever it holds: its line
            // breaks are escaped like every other control character.
            let got = match (a.status, &a.error) {
                (Some(st), _) => {
                    format!("{} {}", st.as_u16(), crate::display::line(a.answer.trim()))
                }
                (None, Some(e)) => format!("no answer: {}", crate::display::line(e)),
                (None, None) => "no answer".into(),
            };
            s.push_str(&format!(
                "    #{} +{:.3}s sent {} → {}\n",
                a.number,
                a.offset.as_secs_f64(),
                sent.join(" "),
                got
            ));
        }
    }
    s
}

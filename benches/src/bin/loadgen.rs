//! `loadgen`: the seed call N times at concurrency C, every answer verified; prints calls/s,
//! p50/p99 latency, client CPU per call (getrusage of this process), peak RSS, errors by kind.
//!
//! By default it starts the sandbox gateway **in a child process** (this same binary with
//! `--serve-sandbox`), so the gateway's CPU is not in the client figure. With `--base-url` and
//! credential files it targets any WeChat-Pay-compatible server instead.
//!
//! ```text
//! loadgen --requests N --concurrency C [--transport hyper|reqwest|ureq] [--json] [--pin]
//!         [--base-url URL --mchid ID --serial HEX --private-key FILE
//!          (--platform-cert FILE | --public-key FILE --public-key-id ID) [--create-orders]]
//! ```
//!
//! Each worker completes its own order (`LOADGEN-0000`, …) again and again; against the sandbox
//! the orders are created first, against another gateway only with `--create-orders`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wechatpay_core::{CallError, Client as Core, Merchant, PlatformKey, PlatformKeys, PrivateKey};
use wechatpay_sandbox::seed;
use wechatpay_sandbox::{Gateway, Mode, TestKeys};

struct Args {
    requests: usize,
    concurrency: usize,
    transport: String,
    json: bool,
    base_url: Option<String>,
    mchid: Option<String>,
    serial: Option<String>,
    private_key: Option<String>,
    platform_cert: Option<String>,
    public_key: Option<String>,
    public_key_id: Option<String>,
    create_orders: bool,
    pin: bool,
    segments: usize,
    /// `--goals`: the number of runs of each configuration.
    goals: Option<usize>,
}

const USAGE: &str =
    "usage: loadgen --requests N --concurrency C [--transport hyper|reqwest|ureq] [--json] [--pin]
       loadgen --goals [--runs R] [--requests N] [--pin] [--json]
               [--base-url URL --mchid ID --serial HEX --private-key FILE
                (--platform-cert FILE | --public-key FILE --public-key-id ID) [--create-orders]]

The seed call (complete a pay-after order) N times at concurrency C, every answer verified.
Prints calls/s, p50/p99 latency, client CPU per call, peak RSS and errors by kind (--json: one
JSON object). Without --base-url it starts the sandbox gateway in a child process on 127.0.0.1.

  --requests N        calls in all (default 20000)
  --concurrency C     calls in flight (default 64)
  --transport T       hyper (default), reqwest or ureq (C threads)
  --json              machine-readable output
  --base-url URL      another WeChat-Pay-compatible gateway, with the credential flags
  --create-orders     create the orders first on that gateway
  --segments K        cut the run into K parts, each followed by a floor measurement
                      (default 24)
  --pin               the client on CPU 0 and the sandbox on CPU 1 (async transports: one
                      runtime worker), so that the gateway's work does not share the client's core;
                      also measures the floor again beside a busy gateway (a thread signing on
                      CPU 1) and the gateway's share of CPU 1
  --goals             check issue #11's speed goals instead of one run: every transport at
                      concurrency 1 and 16 against the sandbox, --runs R times each (default 3;
                      N default 6000; --pin and --segments are passed on), the median CPU ÷
                      floor of each against its target (hyper and reqwest at C=16: 1.10×, the
                      rest 1.15×); --json prints the report as JSON
  --runs R            runs of each configuration with --goals (implies --goals)
  --help              this text

Every report names the machine's CPU idle policy (cpuidle governor; on a KVM guest, how long an
idle vCPU polls before it halts): it decides how cold a call at low concurrency finds its core.";

fn usage(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    eprintln!("{USAGE}");
    std::process::exit(2)
}

/// The async transports, driven the same way.
#[derive(Clone)]
enum AsyncClient {
    Hyper(wechatpay_hyper::Client),
    Reqwest(wechatpay_reqwest::Client),
}

impl AsyncClient {
    async fn send<T>(
        &self,
        call: wechatpay_core::Call<T>,
    ) -> Result<wechatpay_core::ApiResponse<T>, CallError> {
        match self {
            AsyncClient::Hyper(c) => c.send(call).await,
            AsyncClient::Reqwest(c) => c.send(call).await,
        }
    }
}

fn parse_args() -> Args {
    let mut a = Args {
        requests: 0, // set after the flags: 20 000, or 6000 with --goals
        concurrency: 64,
        transport: "hyper".into(),
        json: false,
        base_url: None,
        mchid: None,
        serial: None,
        private_key: None,
        platform_cert: None,
        public_key: None,
        public_key_id: None,
        create_orders: false,
        pin: false,
        segments: 24,
        goals: None,
    };
    let mut requests = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0)
            }
            "--requests" => {
                requests = Some(
                    value()
                        .parse()
                        .unwrap_or_else(|_| usage("--requests takes a number")),
                )
            }
            "--concurrency" => {
                a.concurrency = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--concurrency takes a number"))
            }
            "--transport" => a.transport = value(),
            "--json" => a.json = true,
            "--base-url" => a.base_url = Some(value()),
            "--mchid" => a.mchid = Some(value()),
            "--serial" => a.serial = Some(value()),
            "--private-key" => a.private_key = Some(value()),
            "--platform-cert" => a.platform_cert = Some(value()),
            "--public-key" => a.public_key = Some(value()),
            "--public-key-id" => a.public_key_id = Some(value()),
            "--create-orders" => a.create_orders = true,
            "--pin" => a.pin = true,
            "--goals" => a.goals = Some(a.goals.unwrap_or(3)),
            "--runs" => {
                a.goals = Some(
                    value()
                        .parse()
                        .unwrap_or_else(|_| usage("--runs takes a number")),
                )
            }
            "--segments" => {
                a.segments = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--segments takes a number"))
            }
            other => usage(&format!("unknown flag {other}")),
        }
    }
    if !["hyper", "reqwest", "ureq"].contains(&a.transport.as_str()) {
        usage("--transport is hyper, reqwest or ureq");
    }
    a.requests = requests.unwrap_or(if a.goals.is_some() { 6000 } else { 20_000 });
    if a.goals == Some(0) {
        usage("--runs must be positive");
    }
    if a.goals.is_some() && a.base_url.is_some() {
        usage("--goals runs against the sandbox; it takes no --base-url");
    }
    if a.requests == 0 || a.concurrency == 0 || a.segments == 0 {
        usage("--requests, --concurrency and --segments must be positive");
    }
    a
}

/// Keep this process (and the threads it starts from now on) on `cpu`.
fn pin_to(cpu: usize) {
    // SAFETY: the set is zeroed, then one bit is set; pid 0 is this thread.
    let ok = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    };
    if !ok {
        usage(&format!("cannot pin to CPU {cpu}"));
    }
}

/// The child: run the sandbox, print its port, serve until stdin closes.
fn serve_sandbox() {
    if std::env::args().nth(2).as_deref() == Some("--pin") {
        pin_to(1);
    }
    let server = match wechatpay_sandbox::server::Server::start(Gateway::with_test_keys(
        Mode::Certificate,
    )) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loadgen: sandbox: {e}");
            std::process::exit(1)
        }
    };
    println!("PORT {}", server.addr().port());
    let _ = std::io::stdout().flush();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    server.stop();
}

struct Sandbox {
    child: Child,
    base_url: String,
}

impl Sandbox {
    /// The gateway process's CPU time so far (all its threads, exact), when the kernel tells.
    fn cpu(&self) -> Option<Duration> {
        let pid = libc::pid_t::try_from(self.child.id()).ok()?;
        let mut clock: libc::clockid_t = 0;
        // SAFETY: writes only into `clock`; a pid that is gone is an error.
        let ok = unsafe { libc::clock_getcpuclockid(pid, &mut clock) } == 0;
        ok.then_some(clock).and_then(clock_time)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn start_sandbox(pin: bool) -> Sandbox {
    let exe =
        std::env::current_exe().unwrap_or_else(|e| usage(&format!("cannot find myself: {e}")));
    let mut child = Command::new(exe)
        .arg("--serve-sandbox")
        .args(pin.then_some("--pin"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| usage(&format!("cannot start the sandbox: {e}")));
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .unwrap_or_else(|| usage("the sandbox did not start"));
    Sandbox {
        child,
        base_url: format!("http://127.0.0.1:{port}"),
    }
}

fn core_client(a: &Args, base_url: &str) -> Core {
    let built = if a.base_url.is_some() {
        let need = |v: &Option<String>, f: &str| {
            v.clone()
                .unwrap_or_else(|| usage(&format!("{f} is required with --base-url")))
        };
        let key = PrivateKey::from_file(need(&a.private_key, "--private-key"))
            .unwrap_or_else(|e| usage(&e.to_string()));
        let merchant = Merchant::new(need(&a.mchid, "--mchid"), need(&a.serial, "--serial"), key)
            .unwrap_or_else(|e| usage(&e.to_string()));
        let mut keys = PlatformKeys::new();
        if let Some(c) = &a.platform_cert {
            keys.insert(
                PlatformKey::from_certificate_file(c).unwrap_or_else(|e| usage(&e.to_string())),
            );
        }
        if let Some(p) = &a.public_key {
            let id = need(&a.public_key_id, "--public-key-id");
            keys.insert(
                PlatformKey::from_public_key_file(id, p).unwrap_or_else(|e| usage(&e.to_string())),
            );
        }
        if keys.is_empty() {
            usage("give --platform-cert or --public-key with --public-key-id");
        }
        Core::builder(merchant)
            .platform_keys(keys)
            .base_url(base_url)
            .build()
    } else {
        TestKeys::load()
            .client_builder(base_url, Mode::Certificate)
            .build()
    };
    built.unwrap_or_else(|e| usage(&e.to_string()))
}

fn kind(e: &CallError) -> String {
    match e {
        CallError::Build(_) => "build".into(),
        CallError::Transport(t) => format!("transport:{:?}", t.kind),
        CallError::Response(wechatpay_core::ResponseError::Api(a)) => {
            format!(
                "api:{}:{}",
                a.status.as_u16(),
                a.code.as_deref().unwrap_or("-")
            )
        }
        CallError::Response(wechatpay_core::ResponseError::Verify { source, .. }) => {
            let d = format!("{source:?}");
            format!("verify:{}", d.split([' ', '{', '(']).next().unwrap_or(""))
        }
        CallError::Response(_) => "decode".into(),
        _ => "other".into(),
    }
}

/// This process's user and kernel CPU time, and its peak RSS (KiB).
fn cpu_split_and_rss() -> (Duration, Duration, i64) {
    // SAFETY: getrusage writes into the zeroed struct we pass; RUSAGE_SELF is always valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    (tv(ru.ru_utime), tv(ru.ru_stime), ru.ru_maxrss)
}

fn current_rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<i64>().ok())
        })
        .map(|pages| pages * 4)
        .unwrap_or(-1)
}

struct Shared {
    next: AtomicUsize,
    latencies: Mutex<Vec<Duration>>,
    errors: Mutex<BTreeMap<String, usize>>,
    rss_samples: Mutex<Vec<i64>>,
}

impl Shared {
    /// The next call's index, while it is below `end`.
    fn take(&self, end: usize) -> Option<usize> {
        self.next
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |i| {
                (i < end).then_some(i + 1)
            })
            .ok()
    }

    fn record(&self, i: usize, n: usize, took: Duration, result: Result<(), CallError>) {
        if let Ok(mut l) = self.latencies.lock() {
            l[i] = took;
        }
        if let Err(e) = result {
            if let Ok(mut m) = self.errors.lock() {
                *m.entry(kind(&e)).or_default() += 1;
            }
        }
        if (i + 1).is_multiple_of((n / 10).max(1)) {
            if let Ok(mut s) = self.rss_samples.lock() {
                s.push(current_rss_kib());
            }
        }
    }
}

/// The floor of a call's CPU, measured in this run: one RSA-2048 PKCS#1 SHA-256 signature of a
/// message as long as the seed call's, and one verification, with aws-lc-rs called directly
/// (the library AWS-LC is, like OpenSSL's `speed rsa2048`), single-threaded, `rounds` times, in
/// this thread's CPU time. With a `pause` after each round, the same work as a call at
/// concurrency 1 sees it: the core idles between two RSA operations (the "cold" floor).
struct Floor {
    key: aws_lc_rs::signature::RsaKeyPair,
    public: aws_lc_rs::signature::UnparsedPublicKey<Vec<u8>>,
    rng: aws_lc_rs::rand::SystemRandom,
}

impl Floor {
    fn new() -> Option<Self> {
        use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair, UnparsedPublicKey};
        use base64::Engine as _;
        let pem = TestKeys::load().merchant_key_pem;
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        let key = RsaKeyPair::from_pkcs8(&der).ok()?;
        let public = UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            key.public_key().as_ref().to_vec(),
        );
        let rng = aws_lc_rs::rand::SystemRandom::new();
        Some(Self { key, public, rng })
    }

    /// µs of this thread's CPU per round.
    fn measure(&self, rounds: u32, pause: Duration) -> f64 {
        use aws_lc_rs::signature;
        let message = vec![b'm'; 560];
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        let t0 = thread_cpu();
        for _ in 0..rounds {
            if self
                .key
                .sign(&signature::RSA_PKCS1_SHA256, &self.rng, &message, &mut sig)
                .is_err()
                || self.public.verify(&message, &sig).is_err()
            {
                return f64::NAN;
            }
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
        }
        (thread_cpu() - t0).as_secs_f64() * 1e6 / f64::from(rounds)
    }
}

/// The plain floor measured while another thread, pinned to CPU 1 where the sandbox runs, signs
/// in a loop as the gateway does under load: how much a busy gateway on the other CPU slows
/// this one's RSA (a shared physical core or power budget; a remote gateway does not).
fn floor_beside_busy_neighbour(floor: &Floor, rounds: u32) -> f64 {
    use std::sync::atomic::AtomicBool;
    let (started, stop) = (AtomicBool::new(false), AtomicBool::new(false));
    std::thread::scope(|s| {
        s.spawn(|| {
            pin_to(1);
            started.store(true, Ordering::Relaxed);
            while !stop.load(Ordering::Relaxed) {
                floor.measure(1, Duration::ZERO);
            }
        });
        // Measure once the neighbour runs (waiting at most a second).
        let t = Instant::now();
        while !started.load(Ordering::Relaxed) && t.elapsed() < Duration::from_secs(1) {
            std::thread::yield_now();
        }
        let us = floor.measure(rounds, Duration::ZERO);
        stop.store(true, Ordering::Relaxed);
        us
    })
}

/// This thread's CPU time (exact, from the scheduler).
fn thread_cpu() -> Duration {
    clock_time(libc::CLOCK_THREAD_CPUTIME_ID).unwrap_or_default()
}

/// The reading of a kernel clock, `None` when the kernel refuses it.
fn clock_time(clock: libc::clockid_t) -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into the timespec we pass and reports a bad clock id.
    let ok = unsafe { libc::clock_gettime(clock, &mut ts) } == 0;
    ok.then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// The median of `v` (the mean of the middle two when even; NaN when empty).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Floor rounds after each segment: plain, and cold (idling after each round).
const PLAIN_ROUNDS: u32 = 60;
const COLD_ROUNDS: u32 = 15;

/// One segment of a run: its calls' CPU and wall time, and the floors measured right after it
/// (so that a host whose speed drifts during a run moves both alike).
struct Segment {
    calls: usize,
    user: Duration,
    sys: Duration,
    wall: Duration,
    floor_us: f64,
    cold_floor_us: f64,
    /// With `--pin` against the sandbox: the gateway's CPU during the calls, and the plain floor
    /// measured again beside a busy gateway.
    beside: Option<(Duration, f64)>,
}

/// Run the `n` calls in `parts` segments (`run(end)` makes the calls up to index `end`), each
/// followed by a floor measurement. Setting up (the client, the orders, the first nonce's
/// entropy initialisation) is outside every segment.
fn segments(
    n: usize,
    parts: usize,
    floor: &Floor,
    gateway: Option<&Sandbox>,
    mut run: impl FnMut(usize),
) -> Vec<Segment> {
    // No empty segment: each has at least one call.
    let parts = parts.min(n);
    let mut out = Vec::with_capacity(parts);
    let mut done = 0;
    for k in 1..=parts {
        let end = n * k / parts;
        let g0 = gateway.and_then(Sandbox::cpu);
        let (u0, s0, _) = cpu_split_and_rss();
        let t = Instant::now();
        run(end);
        let wall = t.elapsed();
        let (u1, s1, _) = cpu_split_and_rss();
        let g1 = gateway.and_then(Sandbox::cpu);
        let floor_us = floor.measure(PLAIN_ROUNDS, Duration::ZERO);
        let cold_floor_us = floor.measure(COLD_ROUNDS, Duration::from_micros(800));
        let beside = match (g0, g1) {
            (Some(g0), Some(g1)) => Some((
                g1.saturating_sub(g0),
                floor_beside_busy_neighbour(floor, PLAIN_ROUNDS),
            )),
            _ => None,
        };
        out.push(Segment {
            calls: end - done,
            user: u1 - u0,
            sys: s1 - s0,
            wall,
            floor_us,
            cold_floor_us,
            beside,
        });
        done = end;
    }
    out
}

/// How this machine idles a CPU, as far as Linux says: the cpuidle governor, and on a KVM guest
/// with the haltpoll driver how long an idle vCPU polls before it halts. With
/// `guest_halt_poll_ns` 0 every wait for the gateway halts the vCPU (an exit to the host), and a
/// call at low concurrency resumes with its core cold: see benches/README.md, "sixth pass".
fn idle_policy() -> String {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_owned())
    };
    let governor = read("/sys/devices/system/cpu/cpuidle/current_governor")
        .or_else(|| read("/sys/devices/system/cpu/cpuidle/current_governor_ro"))
        .unwrap_or_else(|| "unknown".to_owned());
    match read("/sys/module/haltpoll/parameters/guest_halt_poll_ns") {
        Some(ns) => format!("cpuidle governor {governor}, guest_halt_poll_ns {ns}"),
        None => format!("cpuidle governor {governor}"),
    }
}

/// The speed goals of issue #11: CPU per call ÷ the floor, at most this (median of the runs).
fn goal(transport: &str, concurrency: usize) -> f64 {
    if concurrency > 1 && transport != "ureq" {
        1.10
    } else {
        1.15
    }
}

/// `--goals`: run every transport at concurrency 1 and 16, `runs` times each, as child
/// processes of this binary (each with its own sandbox), and report each configuration's
/// median ratio against its goal. A report, not a test: the exit status is 0 either way.
fn goals(a: &Args, runs: usize) {
    let exe =
        std::env::current_exe().unwrap_or_else(|e| usage(&format!("cannot find myself: {e}")));
    let mut rows = Vec::new();
    for transport in ["hyper", "reqwest", "ureq"] {
        for concurrency in [1, 16] {
            let mut ratios = Vec::with_capacity(runs);
            let mut errors = 0;
            for _ in 0..runs {
                let (n, c, k) = (
                    a.requests.to_string(),
                    concurrency.to_string(),
                    a.segments.to_string(),
                );
                let mut args = vec!["--requests", &n, "--concurrency", &c, "--segments", &k];
                args.extend(["--transport", transport, "--json"]);
                args.extend(a.pin.then_some("--pin"));
                let out = Command::new(&exe)
                    .args(&args)
                    .output()
                    .unwrap_or_else(|e| usage(&format!("cannot run loadgen: {e}")));
                let v: serde_json::Value =
                    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
                        usage(&format!(
                            "loadgen {} gave no result: {}",
                            args.join(" "),
                            String::from_utf8_lossy(&out.stderr)
                        ))
                    });
                ratios.push(v["ratio_to_floor"].as_f64().unwrap_or(f64::NAN));
                errors += v["errors"].as_u64().unwrap_or(1);
            }
            let median = median(ratios.clone());
            let target = goal(transport, concurrency);
            rows.push(GoalRow {
                transport,
                concurrency,
                met: median <= target && errors == 0,
                ratios,
                median,
                target,
                errors,
            });
        }
    }
    if a.json {
        let goals: Vec<_> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "transport": r.transport, "concurrency": r.concurrency, "ratios": r.ratios,
                    "median": r.median, "target": r.target, "errors": r.errors, "met": r.met,
                })
            })
            .collect();
        let v = serde_json::json!({
            "requests": a.requests, "runs": runs, "pinned": a.pin, "idle_policy": idle_policy(),
            "goals": goals,
        });
        println!("{v}");
        return;
    }
    println!("speed goals (issue #11): client CPU per call ÷ RSA floor, {runs} run(s) of {} calls each{}", a.requests, if a.pin { ", pinned" } else { "" });
    println!("idle policy: {}", idle_policy());
    println!("transport  C   runs                          median  target   errors");
    for r in &rows {
        let ratios: Vec<String> = r.ratios.iter().map(|x| format!("{x:.2}")).collect();
        println!(
            "{:<10} {:<3} {:<29} {:<7.2} ≤ {:.2}   {:<6} {}",
            r.transport,
            r.concurrency,
            ratios.join(" "),
            r.median,
            r.target,
            r.errors,
            if r.met { "✔" } else { "✘" }
        );
    }
}

/// One configuration of `--goals`: its runs' ratios, their median, the goal, the verdict.
struct GoalRow {
    transport: &'static str,
    concurrency: usize,
    ratios: Vec<f64>,
    median: f64,
    target: f64,
    errors: u64,
    met: bool,
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--serve-sandbox") {
        serve_sandbox();
        return;
    }
    let a = parse_args();
    if let Some(runs) = a.goals {
        goals(&a, runs);
        return;
    }
    if a.pin {
        pin_to(0);
    }
    let sandbox = if a.base_url.is_none() {
        Some(start_sandbox(a.pin))
    } else {
        None
    };
    let base_url = a
        .base_url
        .clone()
        .or_else(|| sandbox.as_ref().map(|s| s.base_url.clone()))
        .unwrap_or_default();
    let core = core_client(&a, &base_url);
    let n = a.requests;
    let conc = a.concurrency.min(n);
    let shared = Arc::new(Shared {
        next: AtomicUsize::new(0),
        // Filled up front, so that recording does not grow the RSS being measured.
        latencies: Mutex::new(vec![Duration::ZERO; n]),
        errors: Mutex::new(BTreeMap::new()),
        rss_samples: Mutex::new(Vec::with_capacity(16)),
    });
    // One order per worker; the seed call completes it again and again (the sandbox answers a
    // repeated identical completion with the same order, like WeChat Pay's idempotent API).
    let order = |w: usize| format!("LOADGEN-{w:04}");
    let floor = Floor::new().unwrap_or_else(|| usage("the bundled test key does not load"));
    // The floor beside a busy gateway needs the gateway on its own CPU: --pin, the sandbox.
    let beside = sandbox.as_ref().filter(|_| a.pin);
    let segs;
    if a.transport == "hyper" || a.transport == "reqwest" {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(if a.pin { 1 } else { 2 })
            .enable_all()
            .build()
            .unwrap_or_else(|e| usage(&e.to_string()));
        let client = if a.transport == "hyper" {
            AsyncClient::Hyper(
                wechatpay_hyper::Client::with_config(
                    core,
                    wechatpay_hyper::Config::default().proxy(wechatpay_hyper::Proxy::None),
                )
                .unwrap_or_else(|e| usage(&e.to_string())),
            )
        } else {
            let cfg = wechatpay_reqwest::Config::default().proxy(wechatpay_reqwest::Proxy::None);
            AsyncClient::Reqwest(
                wechatpay_reqwest::Client::with_config(core, cfg)
                    .unwrap_or_else(|e| usage(&e.to_string())),
            )
        };
        if sandbox.is_some() || a.create_orders {
            rt.block_on(async {
                for w in 0..conc {
                    let _ = client
                        .send(wechatpay_api::payscore::payafter_orders::create(
                            &seed::create(&order(w)),
                        ))
                        .await;
                }
            });
        }
        segs = segments(n, a.segments, &floor, beside, |end| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..conc)
                    .map(|w| {
                        let client = client.clone();
                        let shared = shared.clone();
                        let no = order(w);
                        tokio::spawn(async move {
                            while let Some(i) = shared.take(end) {
                                let t = Instant::now();
                                let r = client.send(seed::call(&no)).await.map(|_| ());
                                shared.record(i, n, t.elapsed(), r);
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    let _ = t.await;
                }
            })
        });
    } else {
        let client = wechatpay_ureq::Client::with_config(
            core,
            wechatpay_ureq::Config::default().proxy(wechatpay_ureq::Proxy::None),
        )
        .unwrap();
        if sandbox.is_some() || a.create_orders {
            for w in 0..conc {
                let _ = client.send(wechatpay_api::payscore::payafter_orders::create(
                    &seed::create(&order(w)),
                ));
            }
        }
        segs = segments(n, a.segments, &floor, beside, |end| {
            std::thread::scope(|s| {
                for w in 0..conc {
                    let client = &client;
                    let shared = shared.clone();
                    let no = order(w);
                    s.spawn(move || {
                        while let Some(i) = shared.take(end) {
                            let t = Instant::now();
                            let r = client.send(seed::call(&no)).map(|_| ());
                            shared.record(i, n, t.elapsed(), r);
                        }
                    });
                }
            })
        });
    }
    let (_, _, peak_rss) = cpu_split_and_rss();
    drop(sandbox);
    let wall: Duration = segs.iter().map(|g| g.wall).sum();
    let user: Duration = segs.iter().map(|g| g.user).sum();
    let sys: Duration = segs.iter().map(|g| g.sys).sum();
    let floor_us = segs.iter().map(|g| g.floor_us).sum::<f64>() / segs.len() as f64;
    let cold_floor_us = segs.iter().map(|g| g.cold_floor_us).sum::<f64>() / segs.len() as f64;
    // With --pin against the sandbox: the mean floor beside a busy gateway (like the plain
    // floor) and the share of CPU 1 the gateway used during the calls.
    let beside: Vec<_> = segs.iter().filter_map(|g| g.beside).collect();
    let (beside_floor_us, gateway_share) = if beside.is_empty() {
        (None, None)
    } else {
        let gateway: Duration = beside.iter().map(|b| b.0).sum();
        (
            Some(beside.iter().map(|b| b.1).sum::<f64>() / beside.len() as f64),
            Some(gateway.as_secs_f64() / wall.as_secs_f64()),
        )
    };
    let segment_ratios: Vec<f64> = segs
        .iter()
        .map(|g| (g.user + g.sys).as_secs_f64() * 1e6 / g.calls.max(1) as f64 / g.floor_us)
        .collect();
    let median_segment_ratio = median(segment_ratios.clone());
    let mut lat = shared
        .latencies
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len().max(1) - 1) as f64 * p).round() as usize)
            .map(|d| d.as_secs_f64() * 1e3)
            .unwrap_or(0.0)
    };
    let errors = shared.errors.lock().map(|m| m.clone()).unwrap_or_default();
    let error_count: usize = errors.values().sum();
    let user_us = user.as_secs_f64() * 1e6 / n as f64;
    let sys_us = sys.as_secs_f64() * 1e6 / n as f64;
    let cpu_us = user_us + sys_us;
    let rps = n as f64 / wall.as_secs_f64();
    let samples = shared
        .rss_samples
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    if a.json {
        let v = serde_json::json!({
            "transport": a.transport, "requests": n, "concurrency": conc, "pinned": a.pin,
            "calls_made": shared.next.load(Ordering::Relaxed),
            "rps": rps, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "client_cpu_us_per_call": cpu_us, "peak_rss_kib": peak_rss,
            "client_user_us_per_call": user_us, "client_sys_us_per_call": sys_us,
            "user_ratio_to_floor": user_us / floor_us,
            "rsa_cold_floor_us": cold_floor_us,
            "rsa_floor_us": floor_us, "ratio_to_floor": cpu_us / floor_us,
            "segment_ratios": segment_ratios, "median_segment_ratio": median_segment_ratio,
            "rsa_floor_beside_busy_gateway_us": beside_floor_us,
            "gateway_cpu_share": gateway_share, "idle_policy": idle_policy(),
            "rss_kib_samples": samples,
            "errors": error_count, "errors_by_kind": errors,
            "gateway": if a.base_url.is_some() { "external" } else { "sandbox in a child process (not in the client CPU figure)" },
        });
        println!("{v}");
    } else {
        println!("transport        {}", a.transport);
        println!("requests         {n} at concurrency {conc}");
        println!("calls/s          {rps:.0}");
        println!("latency p50/p99  {:.2} ms / {:.2} ms", pct(0.50), pct(0.99));
        println!("client CPU/call  {cpu_us:.0} µs = {user_us:.0} user + {sys_us:.0} kernel (getrusage, this process only; the sandbox runs in a child process)");
        println!("RSA floor        {floor_us:.0} µs (one RSA-2048 sign + one verify, aws-lc-rs, measured after each of the {} segments of this run) → {:.2}× ({:.2}× in user time)", segs.len(), cpu_us / floor_us, user_us / floor_us);
        println!("per segment      {:?} (each segment's CPU/call ÷ the floor measured right after it; median {median_segment_ratio:.2}×)", segment_ratios.iter().map(|r| (r * 100.0).round() / 100.0).collect::<Vec<_>>());
        println!("RSA cold floor   {cold_floor_us:.0} µs (the same, idling 0.8 ms after each round, as at concurrency 1)");
        if let (Some(b), Some(g)) = (beside_floor_us, gateway_share) {
            println!("RSA floor beside a busy gateway  {b:.0} µs (the plain floor while a thread on CPU 1 signs in a loop, as the gateway does) = {:.2}× the plain floor", b / floor_us);
            println!(
                "gateway CPU      {:.0} % of CPU 1 during the calls",
                100.0 * g
            );
        }
        println!("idle policy      {}", idle_policy());
        println!("peak RSS         {peak_rss} KiB (RSS every 10 %: {samples:?})");
        println!("errors           {error_count} {errors:?}");
    }
    if error_count > 0 {
        std::process::exit(1);
    }
}

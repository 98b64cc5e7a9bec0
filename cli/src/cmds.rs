//! The subcommands.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Value};
use wechatpay_core::notify::Callbacks;
use wechatpay_core::{paysign, sign, verify, AeadError, Call, Clock, SystemClock, VerifyError};

use crate::settings::{Global, Resolved};
use crate::Failure;

/// wxpay — WeChat Pay APIv3 from the command line (微信支付 APIv3 命令行).
///
/// Calls any endpoint with signed requests and verified answers, and answers "why SIGN_ERROR /
/// why does this callback not verify?". Exit codes: 0 ok, 1 verification rejected, 2 usage or
/// bad input, 3 API error answer, 4 transport failure, 5 the output could not be written.
#[derive(Parser, Debug)]
#[command(name = "wxpay", version, max_term_width = 100)]
pub struct Cli {
    /// Machine-readable output (JSON on stdout)
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Call an endpoint: check -d against its schema, sign, send, verify, print the answer and its Request-ID
    Request(RequestArgs),
    /// The typed API's endpoints: list them, or show one's fields
    #[command(subcommand)]
    Api(ApiCmd),
    /// Show the exact message to sign, the signature and the Authorization header
    Sign(SignArgs),
    /// Verify an answer's (or callback's) signature and say exactly why not
    Verify(VerifyArgs),
    /// Verify and decrypt a callback; print its envelope and plaintext
    Notify(VerifyArgs),
    /// AES-256-GCM decrypt with the APIv3 key (callback resources, certificates)
    Decrypt(DecryptArgs),
    /// RSA-OAEP encrypt a sensitive value with the platform key; prints the Wechatpay-Serial to send
    Encrypt(EncryptArgs),
    /// RSA-OAEP decrypt a sensitive value with the merchant private key
    OaepDecrypt(OaepDecryptArgs),
    /// Client payment parameters (调起支付) for a prepay_id: jsapi (and mini-program) or app
    Paysign(PaysignArgs),
    /// Download, verify, decrypt and save the platform certificates (wechatpay_<serial>.pem)
    Certificates(CertificatesArgs),
    /// Run the sandbox gateway on 127.0.0.1 with its bundled, public TEST-ONLY keys (stop with Ctrl-C)
    Sandbox(SandboxArgs),
    /// Check the configuration end to end: key and certificate, serials, platform keys, APIv3 key, clock, the server; say how to fix each problem
    Doctor(crate::doctor::DoctorArgs),
    /// What a PEM/DER/P12 file is (private key, certificate with serial and validity, public key); with two files, whether the key matches the certificate
    Inspect(crate::inspect::InspectArgs),
    /// Bills: download (trade, fundflow), read into typed rows (parse), match with your orders
    /// (reconcile)
    #[command(subcommand)]
    Bill(BillCmd),
    /// Upload an image or video, streamed from disk; prints the media id
    Upload(UploadArgs),
    /// APIv2 (XML): sign, verify, decrypt-refund, request (needs --apiv2-key-file)
    #[command(subcommand)]
    V2(crate::v2::V2Cmd),
}

/// `wxpay request`.
#[derive(clap::Args, Debug)]
pub struct RequestArgs {
    /// HTTP method (GET, POST, PUT, PATCH, DELETE); or, alone, a chain ending in its verb as
    /// `wxpay api show` prints it (v3.pay.transactions.native.post)
    #[arg(value_name = "METHOD")]
    pub method: String,
    /// Path template (/v3/payscore/payafter-orders/{out_order_no}/complete), chain
    /// (v3.payscore.payafterOrders._out_order_no_.complete, or ending in its verb: ….post), a
    /// concrete path (checked against the template it fills), or a whole URL (its path; calls
    /// go to the configured base URL); a query after `?` (as pasted from a URL,
    /// percent-encoded) counts as -q pairs. Unknown endpoints and wrong methods are refused
    /// before anything is signed (exit 2), unless --no-validate
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
    /// Path parameter name=value (fills {name}; percent-encoded as one segment)
    #[arg(short = 'p', value_name = "NAME=VALUE")]
    pub param: Vec<String>,
    /// Query parameter name=value
    #[arg(short = 'q', value_name = "NAME=VALUE")]
    pub query: Vec<String>,
    /// JSON body, or @file
    #[arg(short = 'd', value_name = "JSON|@FILE")]
    pub data: Option<String>,
    /// Extra header 'Name: value'
    #[arg(short = 'H', value_name = "NAME: VALUE")]
    pub header: Vec<String>,
    /// Send -d as it is: no check against the endpoint's schema, no automatic encryption of its
    /// sensitive fields
    #[arg(long = "no-validate")]
    pub no_validate: bool,
}

/// `wxpay api`.
#[derive(Subcommand, Debug)]
pub enum ApiCmd {
    /// Every endpoint: method, path, the typed function (wechatpay_api::…) and its title
    List {
        /// Only this family (the first segment after /v3/: pay, refund, fund-app, …)
        #[arg(long)]
        family: Option<String>,
    },
    /// One endpoint: its Rust function and types, the official SDK methods, the fields of its
    /// query, body and answer with their types, required and sensitive marks and descriptions
    Show {
        /// "METHOD /path" (or a path with one method), or the chain v3.pay.transactions.jsapi.post
        endpoint: String,
    },
    /// Read an answer (a file, e.g. a production answer that failed to decode) into the
    /// endpoint's typed answer, as the library does: print the typed value and the members the
    /// type does not know (exit 0), or the JSON path where it parts from the type (exit 1)
    Decode {
        /// "METHOD /path" (or a path with one method), or the chain v3.pay.transactions.jsapi.post
        endpoint: String,
        /// The answer's body, as received
        #[arg(long = "body-file", value_name = "FILE")]
        body_file: PathBuf,
    },
}

/// `wxpay sign`.
#[derive(clap::Args, Debug)]
pub struct SignArgs {
    /// HTTP method
    #[arg(long)]
    pub method: String,
    /// Request target as sent: path and query (/v3/…?a=b), or a whole URL (what is signed is
    /// its path and query)
    #[arg(long)]
    pub target: String,
    /// Body text
    #[arg(long, conflicts_with = "body_file")]
    pub body: Option<String>,
    /// Body file (its bytes, as sent)
    #[arg(long = "body-file", value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    /// Unix timestamp (default: now, printed)
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// Nonce (default: 32 fresh random characters, printed)
    #[arg(long)]
    pub nonce: Option<String>,
}

/// Which bill.
#[derive(Clone, Copy, Debug)]
pub enum BillKind {
    /// Trade bill (交易账单): GET /v3/bill/tradebill
    Trade,
    /// Fund-flow bill (资金账单): GET /v3/bill/fundflowbill
    Fundflow,
}

/// `wxpay bill …`.
#[derive(Subcommand, Debug)]
pub enum BillCmd {
    /// Download the trade bill (交易账单, GET /v3/bill/tradebill): query, download, digest
    /// check, gunzip; --output keeps it, --parse reads it
    Trade(BillArgs),
    /// Download the fund-flow bill (资金账单, GET /v3/bill/fundflowbill); --output keeps it,
    /// --parse reads it
    Fundflow(BillArgs),
    /// Read a bill file into typed rows (money in fen) and check its summary; exit 1 when the
    /// summary disagrees with the rows or the bill is truncated
    Parse(crate::billread::ParseArgs),
    /// Match a trade bill's payments and refunds with your orders; exit 1 listing every
    /// difference by out_trade_no
    Reconcile(crate::billread::ReconcileArgs),
}

/// `wxpay bill trade|fundflow`.
#[derive(clap::Args, Debug)]
pub struct BillArgs {
    /// The bill's date, yyyy-MM-dd
    #[arg(long)]
    pub date: String,
    /// Trade bill type: ALL, SUCCESS, REFUND, …
    #[arg(long = "type", value_name = "TYPE")]
    pub bill_type: Option<String>,
    /// Fund-flow account: BASIC, OPERATION, FEES
    #[arg(long)]
    pub account: Option<String>,
    /// Download it gzipped (smaller transfer; written uncompressed)
    #[arg(long)]
    pub gzip: bool,
    /// Write the bill here (written to FILE.part, renamed once its digest checks)
    #[arg(long, value_name = "FILE", required_unless_present = "parse")]
    pub output: Option<PathBuf>,
    /// Read the downloaded bill as `wxpay bill parse` does (with --json: a JSON line per row)
    #[arg(long)]
    pub parse: bool,
}

/// Which upload endpoint.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum UploadKind {
    /// POST /v3/merchant/media/upload
    Image,
    /// POST /v3/merchant/media/video_upload
    Video,
    /// POST /v3/merchant-service/images/upload (complaint images)
    ComplaintImage,
    /// POST /v3/marketing/favor/media/image-upload
    MarketingImage,
}

/// `wxpay upload`.
#[derive(clap::Args, Debug)]
pub struct UploadArgs {
    /// image, video, complaint-image or marketing-image
    pub kind: UploadKind,
    /// The file (streamed from disk; its name is sent)
    pub file: PathBuf,
}

/// `wxpay verify` / `wxpay notify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// A header 'Name: value' (Wechatpay-Timestamp, -Nonce, -Serial, -Signature, …)
    #[arg(short = 'H', value_name = "NAME: VALUE")]
    pub header: Vec<String>,
    /// The raw body, exactly as received
    #[arg(long = "body-file", value_name = "FILE")]
    pub body_file: PathBuf,
    /// The clock, Unix seconds (default: now)
    #[arg(long)]
    pub now: Option<i64>,
}

/// `wxpay decrypt`.
#[derive(clap::Args, Debug)]
pub struct DecryptArgs {
    /// resource.nonce
    #[arg(long)]
    pub nonce: String,
    /// resource.associated_data
    #[arg(long, default_value = "")]
    pub aad: String,
    /// resource.ciphertext (base64)
    #[arg(long)]
    pub ciphertext: String,
}

/// `wxpay encrypt`.
#[derive(clap::Args, Debug)]
pub struct EncryptArgs {
    /// The plaintext
    #[arg(long)]
    pub value: String,
}

/// `wxpay oaep-decrypt`.
#[derive(clap::Args, Debug)]
pub struct OaepDecryptArgs {
    /// The ciphertext (base64)
    #[arg(long)]
    pub ciphertext: String,
}

/// Which client.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum PayKind {
    /// JSAPI and mini-program
    Jsapi,
    /// APP
    App,
}

/// `wxpay paysign`.
#[derive(clap::Args, Debug)]
pub struct PaysignArgs {
    /// jsapi or app
    pub kind: PayKind,
    /// App id
    #[arg(long)]
    pub appid: String,
    /// prepay_id
    #[arg(long = "prepay-id")]
    pub prepay_id: String,
    /// Unix timestamp (default: now)
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// Nonce (default: 32 random characters)
    #[arg(long)]
    pub nonce: Option<String>,
}

/// `wxpay certificates`.
#[derive(clap::Args, Debug)]
pub struct CertificatesArgs {
    /// Save wechatpay_<serial>.pem files here
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

/// Sandbox key mode.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SandboxMode {
    /// Platform certificate
    Cert,
    /// Platform public key
    Pubkey,
    /// Both, as for a merchant moving from certificates to the public key: answers signed
    /// with the certificate, certificates served, the public key in the config too
    Both,
}

impl From<SandboxMode> for wechatpay_sandbox::Mode {
    fn from(m: SandboxMode) -> Self {
        match m {
            SandboxMode::Cert => Self::Certificate,
            SandboxMode::Pubkey => Self::PublicKey,
            SandboxMode::Both => Self::Both,
        }
    }
}

/// `wxpay sandbox`.
#[derive(clap::Args, Debug)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0: any free port)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Key mode
    #[arg(long, value_enum, default_value = "cert")]
    pub mode: SandboxMode,
    /// Where to write the bundled TEST-ONLY keys (fixed and public) and wxpay.toml
    #[arg(long, value_name = "DIR", default_value = "wxpay-sandbox")]
    pub dir: PathBuf,
    #[command(subcommand)]
    pub action: Option<SandboxCmd>,
}

/// `wxpay sandbox …`.
#[derive(Subcommand, Debug)]
pub enum SandboxCmd {
    /// Deliver a notification to your callback endpoint like WeChat Pay (retries on its
    /// schedule; faults: tampered, probe, stale, wrong APIv3 key, replayed, duplicate,
    /// concurrent) and print what was sent and what came back
    Deliver(crate::deliver::DeliverArgs),
    /// Pay an order in the running sandbox, as the user would: the order becomes SUCCESS and
    /// TRANSACTION.SUCCESS goes to its notify_url (the sandbox delivers to http:// on 127.0.0.1
    /// or localhost, retrying on WeChat Pay's schedule). Uses --config like any call.
    Pay {
        /// The order's out_trade_no
        out_trade_no: String,
    },
    /// Close a day in the running sandbox: its bills are served at once instead of from 10:00
    /// the next morning (for reconciling the day you just made). Uses --config like any call.
    CloseDay {
        /// The day, yyyy-MM-dd (default: today in Beijing time, by the sandbox's clock)
        #[arg(long)]
        date: Option<String>,
    },
}

/// Print a result: `v` as one JSON line, or the text. Both may hold what came from the network
/// or a file, so terminal controls are escaped.
fn out(json_mode: bool, v: Value, text: impl FnOnce() -> String) {
    if json_mode {
        outln!("{}", crate::display::json(&v.to_string()));
    } else {
        outln!("{}", crate::display::text(&text()));
    }
}

/// Print a report that may end in a failure, one document per run: in `--json` the failed
/// report's members join the error object (`ok: false`, `kind`, `message`) instead of being a
/// document of their own; as text the report is printed and the failure's line follows on stderr.
pub fn report(
    json_mode: bool,
    v: Value,
    text: impl FnOnce() -> String,
    failure: Option<Failure>,
) -> Result<(), Failure> {
    match failure {
        None => {
            out(json_mode, v, text);
            Ok(())
        }
        Some(f) if json_mode => Err(f.with_details(v)),
        Some(f) => {
            outln!("{}", crate::display::text(&text()));
            Err(f)
        }
    }
}

fn header_map(lines: &[String]) -> Result<HeaderMap, Failure> {
    let mut h = HeaderMap::new();
    for l in lines {
        let (n, v) = l
            .split_once(':')
            .ok_or_else(|| Failure::usage(format!("header {l:?} is not 'Name: value'")))?;
        let name = HeaderName::from_bytes(n.trim().as_bytes())
            .map_err(|_| Failure::usage(format!("bad header name {n:?}")))?;
        let value = HeaderValue::from_str(v.trim())
            .map_err(|_| Failure::usage(format!("bad header value for {n}")))?;
        h.append(name, value);
    }
    Ok(h)
}

/// `wxpay api decode`.
fn decode_cmd(json_mode: bool, endpoint: &str, body_file: &std::path::Path) -> Result<(), Failure> {
    let e = crate::api::lookup(endpoint)?;
    let body = read_file(body_file)?;
    match crate::api::decode(e, &body)? {
        crate::api::Decoded::Value { value, unknown } => {
            if json_mode {
                outln!(
                    "{}",
                    crate::display::json(&json!({"value": value, "unknown": unknown}).to_string())
                );
            } else {
                let text = serde_json::to_vec(&value).unwrap_or_default();
                outln!(
                    "{}",
                    crate::display::pretty_json(&text)
                        .unwrap_or_else(|| crate::display::text(&value.to_string()))
                );
                let ty = e.types.answer.as_deref().unwrap_or("the answer type");
                if unknown.is_empty() {
                    errln!("decoded as {ty}; every member is one of its fields");
                } else {
                    errln!(
                        "decoded as {ty}; members it does not know (kept in `extra`): {}",
                        crate::display::line(&unknown.join(", "))
                    );
                }
            }
            Ok(())
        }
        crate::api::Decoded::Mismatch {
            path,
            message,
            type_name,
        } => Err(Failure::rejected(
            "answer_shape",
            format!("the answer does not decode into {type_name}: at `{path}`: {message}"),
        )
        .with_details(json!({"path": path, "type": type_name}))),
    }
}

/// The largest body file read (`--body-file`, `-d @file`): the transports' answer limit.
pub const MAX_BODY_FILE: u64 = 8 << 20;

/// A file named on the command line: a regular file of at most `limit` bytes
/// ([`wechatpay_core::files::read`]).
pub fn read_limited(p: &std::path::Path, limit: u64) -> Result<Vec<u8>, Failure> {
    wechatpay_core::files::read(p, limit)
        .map(|mut bytes| std::mem::take(&mut *bytes))
        .map_err(|e| unreadable(p, e))
}

/// A file that cannot be read (bad input, exit 2).
pub fn unreadable(p: &std::path::Path, e: std::io::Error) -> Failure {
    Failure::usage(format!("cannot read {}: {e}", p.display()))
}

fn read_file(p: &std::path::Path) -> Result<Vec<u8>, Failure> {
    read_limited(p, MAX_BODY_FILE)
}

fn pair(s: &str, what: &str) -> Result<(String, String), Failure> {
    s.split_once('=')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| Failure::usage(format!("{what} {s:?} is not name=value")))
}

/// The system clock's Unix seconds.
fn now() -> i64 {
    SystemClock.now()
}

/// Where the bytes being verified came from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A file the user gave (an answer or a callback they captured).
    File,
    /// An answer `wxpay` received itself.
    Received,
}

/// A sentence that says what went wrong and what to check.
pub fn explain_verify(e: &VerifyError, merchant_serial: Option<&str>, origin: Origin) -> String {
    match e {
        VerifyError::MissingHeader { name } => format!("header {name} is missing (all four Wechatpay-Timestamp/-Nonce/-Serial/-Signature are needed)"),
        VerifyError::StaleTimestamp { offset, window, .. } => {
            format!("the timestamp is {offset} s away from the clock (allowed: {window} s): a replay, or a wrong clock on one side")
        }
        VerifyError::UnknownSerial { serial } if merchant_serial.is_some_and(|m| m.eq_ignore_ascii_case(serial)) => {
            format!("serial {serial} is your own merchant certificate serial: configure the WeChat Pay platform certificate or public key, not apiclient_cert.pem")
        }
        VerifyError::UnknownSerial { serial } => format!("no configured platform certificate or public key has serial/id {serial} (give it with --platform-cert, or --public-key and --public-key-id; `wxpay certificates` downloads certificates)"),
        VerifyError::Probe { .. } => "a probe signature (WECHATPAY/SIGNTEST/…): WeChat Pay is testing that you verify; answer with a failure".into(),
        VerifyError::SignatureMismatch { serial } if origin == Origin::File => format!("the signature does not match under {serial}: the body (or timestamp/nonce) is not exactly what was signed — pass the raw bytes, not re-serialised JSON"),
        VerifyError::SignatureMismatch { serial } => format!("the signature does not match under {serial}: the answer was altered on its way (a proxy, or someone between you and the server), or another key signed it — do not trust it"),
        other => other.to_string(),
    }
}

/// Run the command.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let json_mode = cli.json;
    let g = cli.global.resolve()?;
    match cli.cmd {
        Cmd::Request(a) => request(&g, json_mode, a),
        Cmd::V2(c) => crate::v2::run(&g, json_mode, c),
        Cmd::Api(ApiCmd::List { family }) => {
            outln!("{}", crate::api::list(family.as_deref(), json_mode)?);
            Ok(())
        }
        Cmd::Api(ApiCmd::Show { endpoint }) => {
            let e = crate::api::lookup(&endpoint)?;
            outln!("{}", crate::api::show(e, json_mode)?);
            Ok(())
        }
        Cmd::Api(ApiCmd::Decode {
            endpoint,
            body_file,
        }) => decode_cmd(json_mode, &endpoint, &body_file),
        Cmd::Sign(a) => sign_cmd(&g, json_mode, a),
        Cmd::Verify(a) => verify_cmd(&g, json_mode, a),
        Cmd::Notify(a) => notify_cmd(&g, json_mode, a),
        Cmd::Decrypt(a) => {
            let pt = (g.apiv3_key()?).decrypt(&a.nonce, &a.aad, &a.ciphertext).map_err(|e| match e {
                AeadError::AuthFailed => Failure::rejected("auth_failed", "AES-GCM authentication failed: the APIv3 key is wrong, or nonce/aad/ciphertext were altered"),
                other => Failure::usage(other.to_string()),
            })?;
            let text = String::from_utf8_lossy(&pt).into_owned();
            out(json_mode, json!({"ok": true, "plaintext": text}), || {
                text.clone()
            });
            Ok(())
        }
        Cmd::Encrypt(a) => {
            let keys = g.platform_keys()?;
            let serial = keys.preferred_serial().ok_or_else(|| Failure::usage("no platform key: give --platform-cert or --public-key with --public-key-id"))?.to_string();
            let key = keys
                .get(&serial)
                .ok_or_else(|| Failure::usage("no platform key"))?;
            let ct = key
                .encrypt_oaep(a.value.as_bytes())
                .map_err(|e| Failure::usage(e.to_string()))?;
            out(
                json_mode,
                json!({"ok": true, "ciphertext": ct, "wechatpay_serial": serial}),
                || format!("{ct}\nWechatpay-Serial: {serial}"),
            );
            Ok(())
        }
        Cmd::OaepDecrypt(a) => {
            let pt = g
                .private_key()?
                .decrypt_oaep_base64(&a.ciphertext)
                .map_err(|e| match e {
                    wechatpay_core::OaepError::Base64 => Failure::usage(e.to_string()),
                    other => Failure::rejected("decrypt_failed", other.to_string()),
                })?;
            let text = String::from_utf8_lossy(&pt).into_owned();
            out(json_mode, json!({"ok": true, "plaintext": text}), || {
                text.clone()
            });
            Ok(())
        }
        Cmd::Paysign(a) => {
            let key = g.private_key()?;
            let ts = a.timestamp.unwrap_or_else(now);
            let nonce = match a.nonce {
                Some(n) => n,
                None => wechatpay_core::NonceSource::nonce(&wechatpay_core::OsNonce)
                    .map_err(|e| Failure::usage(e.to_string()))?,
            };
            let v = match a.kind {
                PayKind::Jsapi => serde_json::to_value(
                    paysign::jsapi(&key, &a.appid, &a.prepay_id, ts, &nonce)
                        .map_err(|e| Failure::usage(e.to_string()))?,
                ),
                PayKind::App => {
                    let mchid =
                        g.settings.mchid.clone().ok_or_else(|| {
                            Failure::usage("--mchid is required for app (partnerid)")
                        })?;
                    serde_json::to_value(
                        paysign::app(&key, &a.appid, &mchid, &a.prepay_id, ts, &nonce)
                            .map_err(|e| Failure::usage(e.to_string()))?,
                    )
                }
            }
            .map_err(|e| Failure::usage(e.to_string()))?;
            let pretty = serde_json::to_string_pretty(&v).unwrap_or_default();
            out(json_mode, v, || pretty);
            Ok(())
        }
        Cmd::Certificates(a) => certificates(&g, json_mode, a),
        Cmd::Sandbox(a) => crate::cmds::sandbox(&g, json_mode, a),
        Cmd::Doctor(a) => crate::doctor::run(&g, json_mode, a),
        Cmd::Inspect(a) => crate::inspect::run(json_mode, a),
        Cmd::Bill(BillCmd::Trade(a)) => bill_cmd(&g, json_mode, BillKind::Trade, a),
        Cmd::Bill(BillCmd::Fundflow(a)) => bill_cmd(&g, json_mode, BillKind::Fundflow, a),
        Cmd::Bill(BillCmd::Parse(a)) => crate::billread::parse(json_mode, &a.file),
        Cmd::Bill(BillCmd::Reconcile(a)) => crate::billread::reconcile(json_mode, &a),
        Cmd::Upload(a) => upload_cmd(&g, json_mode, a),
    }
}

fn request(g: &Resolved, json_mode: bool, a: RequestArgs) -> Result<(), Failure> {
    // A chain as `wxpay api show` prints it ends in its verb: it names both.
    let by_chain = |chain: &str| crate::api::endpoints().iter().find(|e| e.chain == chain);
    let (method, target) = match &a.target {
        Some(target) => match by_chain(target) {
            Some(e) if !e.method.eq_ignore_ascii_case(&a.method) => {
                return Err(Failure::usage(format!(
                    "{target} is {} {}, not {}",
                    e.method,
                    e.path,
                    a.method.to_uppercase()
                )))
            }
            Some(e) => (e.method.clone(), e.path.clone()),
            None => (a.method.clone(), target.clone()),
        },
        None => match by_chain(&a.method) {
            Some(e) => (e.method.clone(), e.path.clone()),
            None => {
                return Err(Failure::usage(format!(
                    "give METHOD and TARGET, or a chain ending in its verb as `wxpay api show` prints it (not {:?})",
                    a.method
                )))
            }
        },
    };
    let method: http::Method = method
        .to_uppercase()
        .parse()
        .map_err(|_| Failure::usage(format!("bad method {:?}", a.method)))?;
    // A target pasted with its query (`…/out-trade-no/1217?mchid=1900000001`): its pairs,
    // percent-decoded, go before the -q ones.
    let (target, pasted) = target.split_once('?').unwrap_or((&target, ""));
    let template = crate::chain::to_template(target).map_err(Failure::usage)?;
    // The endpoint, when it is one of the catalog's: an unknown one, or the wrong method, is
    // refused before anything is signed, and -d is checked against its schema.
    let schema = if a.no_validate {
        None
    } else {
        crate::api::resolve(method.as_str(), &template)?
    };
    let params: Vec<&str> = template
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect();
    let mut call = Call::<Value>::new(method, template.clone()).expect_bytes();
    for p in &a.param {
        let (k, v) = pair(p, "-p")?;
        if !params.contains(&k.as_str()) {
            let have = if params.is_empty() {
                "it has none".to_string()
            } else {
                format!("it has {}", params.join(", "))
            };
            return Err(Failure::usage(format!(
                "-p {k}: {template} has no {{{k}}} ({have})"
            )));
        }
        call = call.path_param(k, v);
    }
    let mut names = Vec::new();
    let decoded = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|d| d.into_owned())
            .map_err(|_| {
                Failure::usage(format!(
                    "the target's query {pasted:?} is not UTF-8 once percent-decoded"
                ))
            })
    };
    let mut pairs = Vec::new();
    for p in pasted.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        pairs.push((decoded(k)?, decoded(v)?));
    }
    for q in &a.query {
        pairs.push(pair(q, "-q")?);
    }
    for (k, v) in pairs {
        names.push(k.clone());
        call = call.query(k, v);
    }
    if let Some(e) = schema {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        crate::api::check_query(e, &names).map_err(|m| Failure::usage(format!("-q {m}")))?;
    }
    for line in &a.header {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| Failure::usage(format!("header {line:?} is not 'Name: value'")))?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case(wechatpay_core::verify::SERIAL) {
            call = call.wechatpay_serial(value);
        } else {
            // The core refuses what it cannot send intact (non-ASCII, framing headers).
            call = call.header(name, value);
        }
    }
    if let Some(d) = &a.data {
        let bytes = match d.strip_prefix('@') {
            Some(file) => read_file(&PathBuf::from(file))?,
            None => d.clone().into_bytes(),
        };
        let value = serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| Failure::usage(format!("-d is not JSON: {e}")))?;
        match schema {
            Some(e) => {
                crate::api::check_body(e, &value).map_err(|m| Failure::usage(format!("-d {m}")))?;
                let fields = e.body.as_deref().unwrap_or(&[]);
                if crate::api::has_sensitive(fields) {
                    // Sensitive fields are encrypted at signing with the key the request names.
                    call = call.json(&crate::api::WithSensitive {
                        value: &value,
                        fields,
                    });
                } else {
                    call = call.json_bytes(bytes);
                }
            }
            None => call = call.json_bytes(bytes),
        }
    }
    let client = g.client()?;
    let answer = client.send(call)?;
    let rid = answer.request_id.clone().unwrap_or_default();
    // The verified bytes are printed as they are: pretty-printing only re-indents them (numbers,
    // key order and duplicate keys kept), and `--json` embeds the answer itself.
    let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&answer.data).is_ok();
    if json_mode {
        let body = if answer.data.is_empty() {
            "null".to_string()
        } else if is_json {
            String::from_utf8_lossy(&answer.data).trim().to_string()
        } else {
            Value::String(String::from_utf8_lossy(&answer.data).into_owned()).to_string()
        };
        outln!(
            "{}",
            crate::display::json(&format!(
                "{{\"status\":{},\"request_id\":{},\"body\":{body}}}",
                answer.status.as_u16(),
                Value::String(rid)
            ))
        );
    } else {
        if !answer.data.is_empty() {
            match crate::display::pretty_json(&answer.data) {
                Some(p) => outln!("{p}"),
                None => outln!(
                    "{}",
                    crate::display::text(&String::from_utf8_lossy(&answer.data))
                ),
            }
        }
        errln!(
            "HTTP {} Request-ID: {}",
            answer.status,
            crate::display::line(&rid)
        );
    }
    Ok(())
}

fn sign_cmd(g: &Resolved, json_mode: bool, a: SignArgs) -> Result<(), Failure> {
    let body = match (&a.body, &a.body_file) {
        (Some(b), _) => b.clone().into_bytes(),
        (None, Some(f)) => read_file(f)?,
        (None, None) => Vec::new(),
    };
    let merchant = g.merchant()?;
    let timestamp = a.timestamp.unwrap_or_else(now);
    let nonce = match a.nonce {
        Some(n) => n,
        None => wechatpay_core::NonceSource::nonce(&wechatpay_core::OsNonce)
            .map_err(|e| Failure::usage(e.to_string()))?,
    };
    let message = sign::request_message(
        &a.method.to_uppercase(),
        crate::chain::without_origin(&a.target),
        timestamp,
        &nonce,
        &body,
    );
    let signature = merchant
        .signer()
        .sign(&message)
        .map_err(|e| Failure::usage(e.to_string()))?;
    let auth = sign::authorization(
        merchant.signer().algorithm(),
        merchant.mchid(),
        &nonce,
        timestamp,
        merchant.serial(),
        &signature,
    );
    let text = String::from_utf8_lossy(&message).into_owned();
    out(
        json_mode,
        json!({"timestamp": timestamp, "nonce": nonce, "message": text, "signature": signature, "authorization": auth}),
        || {
            format!(
                "timestamp:     {timestamp}\nnonce:         {nonce}\nmessage:       {}\nsignature:     {signature}\nAuthorization: {auth}",
                text.replace('\n', "\\n")
            )
        },
    );
    Ok(())
}

/// A progress bar on stderr when it is a terminal (hidden otherwise).
fn progress_bar(total: Option<u64>, what: &str) -> indicatif::ProgressBar {
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {bytes}/{total_bytes} {bytes_per_sec} {wide_bar}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}

/// A file writer that moves a progress bar.
struct Counted<W> {
    inner: W,
    bar: indicatif::ProgressBar,
}

impl<W: std::io::Write> std::io::Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn bill_cmd(g: &Resolved, json_mode: bool, kind: BillKind, a: BillArgs) -> Result<(), Failure> {
    use wechatpay_api::bill::{
        fundflowbill, tradebill, GetFundFlowBillRequest, GetTradeBillRequest, TarType,
    };
    let client = g.client()?;
    let gzip_tar = a.gzip;
    let info = match kind {
        BillKind::Trade => client.send(tradebill::get(&GetTradeBillRequest {
            bill_date: a.date.clone(),
            bill_type: a
                .bill_type
                .as_deref()
                .map(|t| serde_json::from_value(json!(t)).unwrap_or_default()),
            tar_type: gzip_tar.then_some(TarType::Gzip),
            ..Default::default()
        }))?,
        BillKind::Fundflow => client.send(fundflowbill::get(&GetFundFlowBillRequest {
            bill_date: a.date.clone(),
            account_type: a
                .account
                .as_deref()
                .map(|t| serde_json::from_value(json!(t)).unwrap_or_default()),
            tar_type: gzip_tar.then_some(TarType::Gzip),
            ..Default::default()
        }))?,
    }
    .data;
    // Written beside the target and renamed only once the digest checks: a bad bill never
    // stands at the name asked for. Without --output (--parse alone) it is a temporary file.
    let (target, temporary) = match &a.output {
        Some(path) => (path.clone(), false),
        None => (
            std::env::temp_dir().join(format!(
                "wxpay-bill-{}-{}",
                std::process::id(),
                a.date.replace(['/', '\\'], "_")
            )),
            true,
        ),
    };
    let mut part = target.clone().into_os_string();
    part.push(".part");
    let part = PathBuf::from(part);
    let file = std::fs::File::create(&part)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", part.display())))?;
    let bar = progress_bar(None, "bill");
    let result = client.download_bill(
        &info,
        gzip_tar,
        std::io::BufWriter::new(Counted {
            inner: file,
            bar: bar.clone(),
        }),
    );
    bar.finish_and_clear();
    let (writer, size) = match result {
        Ok(ok) => ok,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(e.into());
        }
    };
    drop(writer);
    std::fs::rename(&part, &target)
        .map_err(|e| Failure::usage(format!("cannot write {}: {e}", target.display())))?;
    if a.parse {
        let parsed = crate::billread::parse(json_mode, &target);
        if temporary {
            let _ = std::fs::remove_file(&target);
        }
        return parsed;
    }
    let path = target.display().to_string();
    out(
        json_mode,
        json!({"ok": true, "file": path, "bytes": size, "hash_type": info.hash_type, "hash_value": info.hash_value}),
        || {
            format!(
                "{size} bytes written to {path} ({} {} checks)",
                info.hash_type, info.hash_value
            )
        },
    );
    Ok(())
}

fn upload_cmd(g: &Resolved, json_mode: bool, a: UploadArgs) -> Result<(), Failure> {
    let path = match a.kind {
        UploadKind::Image => wechatpay_core::media::IMAGE_UPLOAD,
        UploadKind::Video => wechatpay_core::media::VIDEO_UPLOAD,
        UploadKind::ComplaintImage => wechatpay_core::media::COMPLAINT_IMAGE_UPLOAD,
        UploadKind::MarketingImage => wechatpay_core::media::MARKETING_IMAGE_UPLOAD,
    };
    let len = std::fs::metadata(&a.file)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", a.file.display())))?
        .len();
    let client = g.client()?;
    let bar = progress_bar(Some(len), "upload");
    let shown = bar.clone();
    let answer = client.upload_file::<Value>(path, &a.file, move |sent| shown.set_position(sent));
    bar.finish_and_clear();
    let answer = answer?;
    let rid = answer.request_id.clone().unwrap_or_default();
    let id = answer
        .data
        .get("media_id")
        .or_else(|| answer.data.get("media_url"))
        .cloned()
        .unwrap_or(Value::Null);
    out(
        json_mode,
        json!({"ok": true, "status": answer.status.as_u16(), "request_id": rid, "body": answer.data}),
        || format!("{} (Request-ID {rid})", id.as_str().unwrap_or_default()),
    );
    Ok(())
}

fn verify_cmd(g: &Resolved, json_mode: bool, a: VerifyArgs) -> Result<(), Failure> {
    let headers = header_map(&a.header)?;
    let body = read_file(&a.body_file)?;
    let keys = g.platform_keys()?;
    let at = a.now.unwrap_or_else(now);
    match verify::verify_headers(&keys, &headers, &body, at, verify::DEFAULT_WINDOW) {
        Ok(id) => {
            let msg = format!("verified with {id}");
            out(
                json_mode,
                json!({"ok": true, "kind": "ok", "message": msg}),
                || msg.clone(),
            );
            Ok(())
        }
        Err(e) => Err(Failure::rejected(
            e.kind(),
            explain_verify(&e, g.settings.serial.as_deref(), Origin::File),
        )),
    }
}

fn notify_cmd(g: &Resolved, json_mode: bool, a: VerifyArgs) -> Result<(), Failure> {
    let headers = header_map(&a.header)?;
    let body = read_file(&a.body_file)?;
    let mut callbacks = Callbacks::new(
        wechatpay_core::SharedKeys::new(g.platform_keys()?),
        g.apiv3_key()?,
    );
    if let Some(s) = &g.settings.serial {
        callbacks = callbacks.merchant_serial(s.as_str());
    }
    let n = callbacks
        .clock(wechatpay_core::FixedClock(a.now.unwrap_or_else(now)))
        .verify::<Value>(&headers, &body)
        .map_err(|e| Failure::rejected(e.kind(), e.to_string()))?;
    let v = json!({"ok": true, "id": n.id, "create_time": n.create_time, "event_type": n.event_type,
        "resource_type": n.resource_type, "summary": n.summary, "original_type": n.original_type,
        "verified_by": n.verified_by, "resource": n.resource});
    let pretty = serde_json::to_string_pretty(&v).unwrap_or_default();
    out(json_mode, v, || pretty);
    Ok(())
}

fn certificates(g: &Resolved, json_mode: bool, a: CertificatesArgs) -> Result<(), Failure> {
    let client = g.client()?;
    if g.settings.apiv3_key_file.is_none() {
        return Err(Failure::usage(
            "--apiv3-key-file is required to decrypt certificates",
        ));
    }
    match client.refresh_certificates() {
        Ok(wechatpay_core::certificates::Downloaded::NoCertificates) => {
            let msg = "this merchant has no platform certificates (public key mode): use the WeChat Pay public key (--public-key with --public-key-id) from the merchant portal";
            out(
                json_mode,
                json!({"ok": true, "certificates": [], "message": msg}),
                || msg.into(),
            );
            Ok(())
        }
        Ok(wechatpay_core::certificates::Downloaded::Certificates {
            pems,
            signed_by,
            trusted_on_first_use,
            ..
        }) => {
            let mut saved = Vec::new();
            if let Some(dir) = &a.output {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
                for (serial, pem) in &pems {
                    let p = dir.join(format!("wechatpay_{serial}.pem"));
                    std::fs::write(&p, pem).map_err(|e| {
                        Failure::usage(format!("cannot write {}: {e}", p.display()))
                    })?;
                    saved.push(p.display().to_string());
                }
            }
            let serials: Vec<&String> = pems.iter().map(|(s, _)| s).collect();
            let note = if trusted_on_first_use {
                " (first download: trusted on first use — compare the serial with the merchant portal)"
            } else {
                ""
            };
            out(
                json_mode,
                json!({"ok": true, "certificates": serials, "saved": saved, "signed_by": signed_by, "trusted_on_first_use": trusted_on_first_use}),
                || {
                    let mut t = format!(
                        "{} certificate(s), answer verified with {signed_by}{note}",
                        pems.len()
                    );
                    for (s, _) in &pems {
                        t.push_str(&format!("\n  {s}"));
                    }
                    for p in &saved {
                        t.push_str(&format!("\nsaved {p}"));
                    }
                    t
                },
            );
            Ok(())
        }
        Ok(_) => Err(Failure::usage("unexpected certificate download result")),
        Err(e) => Err(match e {
            wechatpay_core::RefreshError::Transport(t) => {
                wechatpay_core::CallError::Transport(t).into()
            }
            wechatpay_core::RefreshError::Certificate(wechatpay_core::CertificateError::Api(a)) => {
                wechatpay_core::CallError::Response(wechatpay_core::ResponseError::Api(a)).into()
            }
            wechatpay_core::RefreshError::Certificate(
                wechatpay_core::CertificateError::Verify(v),
            ) => Failure::rejected(
                v.kind(),
                explain_verify(&v, g.settings.serial.as_deref(), Origin::Received),
            ),
            wechatpay_core::RefreshError::Certificate(
                wechatpay_core::CertificateError::Decrypt { serial, .. },
            ) => Failure::rejected(
                "wrong_apiv3_key",
                format!("certificate {serial} does not decrypt: the APIv3 key is wrong"),
            ),
            other => Failure::usage(other.to_string()),
        }),
    }
}

/// `wxpay sandbox`.
pub fn sandbox(g: &Resolved, json_mode: bool, a: SandboxArgs) -> Result<(), Failure> {
    use wechatpay_sandbox::{server::Server, Gateway, Mode, TestKeys};
    match a.action {
        Some(SandboxCmd::Deliver(d)) => return crate::deliver::run(json_mode, d),
        Some(SandboxCmd::Pay { out_trade_no }) => return sandbox_pay(g, json_mode, &out_trade_no),
        Some(SandboxCmd::CloseDay { date }) => return sandbox_close_day(g, json_mode, date),
        None => {}
    }
    let mode = Mode::from(a.mode);
    let keys = TestKeys::load();
    let dir = &a.dir;
    let w = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text)
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", dir.join(name).display())))
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::usage(format!("cannot create {}: {e}", dir.display())))?;
    w("merchant_key.pem", keys.merchant_key_pem)?;
    w("merchant_cert.pem", keys.merchant_cert_pem)?;
    w("apiv3_key.txt", keys.apiv3_key)?;
    w("apiv2_key.txt", keys.apiv2_key)?;
    let server = Server::start_on(Gateway::with_test_keys(mode), a.port).map_err(|e| Failure {
        code: 4,
        kind: "bind".into(),
        message: format!("cannot listen on 127.0.0.1:{}: {e}", a.port),
        details: None,
    })?;
    let mut platform = String::new();
    if mode != Mode::PublicKey {
        w("platform_cert.pem", keys.platform_cert_pem)?;
        platform.push_str("platform_cert = [\"platform_cert.pem\"]\n");
    }
    if mode != Mode::Certificate {
        w("pub_key.pem", keys.public_key_pem)?;
        platform.push_str(&format!(
            "public_key = \"pub_key.pem\"\npublic_key_id = \"{}\"\n",
            keys.public_key_id
        ));
    }
    let config = format!(
        "# TEST-ONLY credentials of the wxpay sandbox\nmchid = \"{}\"\nserial = \"{}\"\nprivate_key = \"merchant_key.pem\"\n{platform}apiv3_key_file = \"apiv3_key.txt\"\napiv2_key_file = \"apiv2_key.txt\"\nbase_url = \"{}\"\n",
        keys.mchid, keys.merchant_serial, server.base_url()
    );
    w("wxpay.toml", &config)?;
    let cfg_path = dir.join("wxpay.toml");
    let cert_path = dir.join("merchant_cert.pem");
    out(
        json_mode,
        json!({"base_url": server.base_url(), "config": cfg_path.display().to_string(),
            "merchant_cert": cert_path.display().to_string()}),
        || {
            let c = cfg_path.display();
            let m = keys.mchid;
            let notify = "http://127.0.0.1:8080/notify";
            format!(
                "sandbox gateway on {} ({mode:?} mode)\n\
                 keys:   the bundled TEST-ONLY keys (fixed and public, the same in every copy; never use them elsewhere)\n\
                 config: {c} (merchant certificate: {})\n\
                 \n\
                 the everyday flow (the sandbox delivers notifications to http:// on 127.0.0.1 or localhost):\n  \
                 wxpay --config {c} request POST /v3/pay/transactions/native -d '{{\"appid\":\"wxd678efh567hg6787\",\"mchid\":\"{m}\",\"description\":\"test\",\"out_trade_no\":\"ORDER-1\",\"notify_url\":\"{notify}\",\"amount\":{{\"total\":100}}}}'\n  \
                 wxpay --config {c} sandbox pay ORDER-1      # the user pays: TRANSACTION.SUCCESS goes to notify_url\n  \
                 wxpay --config {c} request GET /v3/pay/transactions/out-trade-no/ORDER-1 -q mchid={m}\n  \
                 wxpay --config {c} request POST /v3/refund/domestic/refunds -d '{{\"out_trade_no\":\"ORDER-1\",\"out_refund_no\":\"REFUND-1\",\"notify_url\":\"{notify}\",\"amount\":{{\"refund\":100,\"total\":100,\"currency\":\"CNY\"}}}}'\n\
                 also:   wxpay --config {c} doctor --merchant-cert {}\n        \
                 wxpay --config {c} v2 request /pay/unifiedorder -d '{{\"appid\":\"wxd678efh567hg6787\",\"body\":\"test\",\"out_trade_no\":\"V2-1\",\"total_fee\":1,\"spbill_create_ip\":\"127.0.0.1\",\"notify_url\":\"https://example.com/notify\",\"trade_type\":\"NATIVE\"}}'\n\
                 rust:   let client = wechatpay::ureq::Client::from_config(\"{c}\")?;\n\
                 each notification delivery is printed below; stop with Ctrl-C",
                server.base_url(),
                cert_path.display(),
                cert_path.display(),
            )
        },
    );
    // Report each delivery attempt as it happens (text mode; `--json` prints one document).
    let mut shown = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let log = server.gateway().deliveries();
        for d in log.iter().skip(shown) {
            if json_mode {
                continue;
            }
            let result = match (d.status, &d.error) {
                (Some(s), _) => format!(
                    "answered {s}{}",
                    if d.accepted() {
                        ""
                    } else {
                        " (retried on WeChat Pay's schedule)"
                    }
                ),
                (None, Some(e)) => e.clone(),
                (None, None) => "no answer".into(),
            };
            outln!(
                "{}",
                crate::display::line(&format!(
                    "notification {} to {}: attempt {}: {result}",
                    d.event_type, d.url, d.attempt
                ))
            );
        }
        shown = log.len();
    }
}

/// `wxpay sandbox pay OUT_TRADE_NO`: the sandbox's control endpoint, signed with the
/// configured merchant's credentials.
/// A call to one of the running sandbox's control endpoints; a 404 says where to point.
fn sandbox_control(g: &Resolved, call: Call<Value>) -> Result<Value, Failure> {
    let client = g.client()?;
    let answer = client.send(call).map_err(|e| {
        let not_sandbox = e
            .api_error()
            .is_some_and(|a| a.code.as_deref() == Some("NOT_FOUND"));
        let f = Failure::from(e);
        if not_sandbox {
            Failure {
                message: format!(
                    "{} (is --config pointing at a running `wxpay sandbox`?)",
                    f.message
                ),
                ..f
            }
        } else {
            f
        }
    })?;
    Ok(answer.data)
}

fn sandbox_close_day(g: &Resolved, json_mode: bool, date: Option<String>) -> Result<(), Failure> {
    let body = match &date {
        Some(d) => json!({ "bill_date": d }),
        None => json!({}),
    };
    let closed = sandbox_control(
        g,
        Call::<Value>::post(wechatpay_sandbox::CLOSE_DAY_PATH).json(&body),
    )?;
    let day = closed["bill_date"].as_str().unwrap_or("-").to_string();
    out(json_mode, json!({"ok": true, "bill_date": day}), || {
        format!("{day} closed: its bills are served now (`wxpay bill trade --date {day} --parse`)")
    });
    Ok(())
}

fn sandbox_pay(g: &Resolved, json_mode: bool, out_trade_no: &str) -> Result<(), Failure> {
    let call =
        Call::<Value>::post(wechatpay_sandbox::PAY_PATH).path_param("out_trade_no", out_trade_no);
    let paid = sandbox_control(g, call)?;
    let tx = &paid;
    let text = format!(
        "paid {out_trade_no}: transaction_id {}, trade_state {}\nTRANSACTION.SUCCESS goes to the order's notify_url; `wxpay sandbox` prints each delivery",
        tx["transaction_id"].as_str().unwrap_or("-"),
        tx["trade_state"].as_str().unwrap_or("-"),
    );
    out(json_mode, json!({"ok": true, "transaction": tx}), || text);
    Ok(())
}

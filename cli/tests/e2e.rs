//! End-to-end: run the `wxpay` binary for every command, against the sandbox where it needs a
//! server, and reproduce the peer set's signing and verification vectors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::{json, Value};
use wechatpay_sandbox::server::Server;
use wechatpay_sandbox::{Fault, Gateway, Mode, TestKeys};

const BIN: &str = env!("CARGO_BIN_EXE_wxpay");

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// The path of a bundled test key or certificate, as an argument.
fn test_key(name: &str) -> String {
    fixtures().join("keys").join(name).display().to_string()
}

fn tmpdir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "wxpay-e2e-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Credentials of the bundled sandbox keys as files, and the flags that name them.
fn creds(dir: &Path, base_url: &str, mode: Mode) -> Vec<String> {
    let k = TestKeys::load();
    let w = |n: &str, t: &str| {
        std::fs::write(dir.join(n), t).unwrap();
        dir.join(n).display().to_string()
    };
    let mut flags = vec![
        "--mchid".into(),
        k.mchid.into(),
        "--serial".into(),
        k.merchant_serial.into(),
        "--private-key".into(),
        w("merchant_key.pem", k.merchant_key_pem),
        "--apiv3-key-file".into(),
        w("apiv3.txt", k.apiv3_key),
        "--base-url".into(),
        base_url.into(),
        "--timeout".into(),
        "5".into(),
    ];
    if mode != Mode::PublicKey {
        flags.extend([
            "--platform-cert".into(),
            w("platform_cert.pem", k.platform_cert_pem),
        ]);
    }
    if mode != Mode::Certificate {
        flags.extend([
            "--public-key".into(),
            w("pub_key.pem", k.public_key_pem),
            "--public-key-id".into(),
            k.public_key_id.into(),
        ]);
    }
    flags
}

fn wxpay(args: &[String]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .output()
        .expect("wxpay runs")
}

fn args(flags: &[String], rest: &[&str]) -> Vec<String> {
    flags
        .iter()
        .cloned()
        .chain(rest.iter().map(|s| s.to_string()))
        .collect()
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn request_template_chain_errors_and_exit_codes() {
    let s = Server::start(Gateway::with_test_keys(Mode::Both)).unwrap();
    let d = tmpdir();
    let f = creds(&d, &s.base_url(), Mode::Both);
    // Template and chain notation reach the same endpoint family.
    let o = wxpay(&args(
        &f,
        &[
            "--json",
            "request",
            "POST",
            "v3.payscore.payafterOrders",
            "-d",
            r#"{"appid":"wx1","out_order_no":"E/1 甲","service_id":"5"}"#,
        ],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json_out(&o);
    assert_eq!(v["status"], 200);
    assert!(v["request_id"].as_str().unwrap().starts_with("SANDBOX-"));
    assert_eq!(v["body"]["out_order_no"], "E/1 甲");
    let body = d.join("cancel.json");
    std::fs::write(&body, r#"{"appid":"wx1","service_id":"5","reason":"r"}"#).unwrap();
    let o = wxpay(&args(
        &f,
        &[
            "request",
            "POST",
            "/v3/payscore/payafter-orders/{out_order_no}/cancel",
            "-p",
            "out_order_no=E/1 甲",
            "-d",
            &format!("@{}", body.display()),
        ],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Request-ID: SANDBOX-"));
    let q = wxpay(&args(
        &f,
        &[
            "--json",
            "request",
            "GET",
            "v3.payscore.payafterOrders",
            "-q",
            "service_id=5",
            "-q",
            "out_order_no=E/1 甲",
            "-q",
            "appid=wx1",
        ],
    ));
    assert_eq!(json_out(&q)["body"]["state"], "REVOKED");
    // The same query pasted after `?`, as in a URL (percent-encoded), with one more -q; and a
    // URL pasted whole: its path and query, sent to the configured gateway.
    let query = "service_id=5&out_order_no=E%2F1%20%E7%94%B2";
    for pasted in [
        vec![
            format!("/v3/payscore/payafter-orders?{query}"),
            "-q".into(),
            "appid=wx1".into(),
        ],
        vec![format!(
            "https://api.mch.weixin.qq.com/v3/payscore/payafter-orders?appid=wx1&{query}"
        )],
    ] {
        let mut rest = vec!["--json", "request", "GET"];
        rest.extend(pasted.iter().map(String::as_str));
        let o = wxpay(&args(&f, &rest));
        assert!(
            o.status.success(),
            "{pasted:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(json_out(&o)["body"], json_out(&q)["body"], "{pasted:?}");
    }
    let bad = wxpay(&args(
        &f,
        &[
            "request",
            "GET",
            "/v3/payscore/payafter-orders?out_order_no=%FF",
        ],
    ));
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not UTF-8"));
    // A concrete path is checked against the template it fills: a typo is caught before
    // anything is sent.
    let typo = wxpay(&args(
        &f,
        &[
            "request",
            "GET",
            "/v3/pay/transactions/out-trade-no/ORDER-1?mchd=1900000001",
        ],
    ));
    let err = String::from_utf8_lossy(&typo.stderr);
    assert_eq!(typo.status.code(), Some(2), "{err}");
    assert!(err.contains("did you mean `mchid`"), "{err}");
    // An API error: exit 3, one line on stderr, JSON on stdout.
    let o = wxpay(&args(
        &f,
        &[
            "--json",
            "request",
            "POST",
            "v3.payscore.payafterOrders._out_order_no_.complete",
            "-p",
            "out_order_no=E/1 甲",
            "-d",
            r#"{"appid":"wx1","service_id":"5"}"#,
        ],
    ));
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(json_out(&o)["kind"], "api_order_canceled");
    assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
    // A probe and a missing header in the answer: exit 1, named.
    let o = wxpay(&args(
        &f,
        &[
            "--json",
            "request",
            "GET",
            "/v3/certificates",
            "-H",
            "Wechatpay-Sandbox-Fault: probe",
        ],
    ));
    assert_eq!(
        (
            o.status.code(),
            json_out(&o)["kind"].as_str().map(String::from)
        ),
        (Some(1), Some("probe".into()))
    );
    let o = wxpay(&args(
        &f,
        &[
            "--json",
            "request",
            "GET",
            "/v3/certificates",
            "-H",
            "Wechatpay-Sandbox-Fault: missing-signature",
        ],
    ));
    assert_eq!(json_out(&o)["kind"], "missing_header");
    // SIGN_ERROR, explained: the wrong private key for the serial.
    let mut wrong = f.clone();
    let i = wrong.iter().position(|a| a == "--private-key").unwrap();
    std::fs::write(d.join("wrong.pem"), TestKeys::load().rotated_key_pem).unwrap();
    wrong[i + 1] = d.join("wrong.pem").display().to_string();
    let o = wxpay(&args(&wrong, &["request", "GET", "/v3/certificates"]));
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("SIGN_ERROR") && err.contains("`serial`") && err.contains("wxpay doctor"),
        "{err}"
    );
    // The platform's key given as the merchant key: the configured platform certificate is
    // then "the merchant's own", refused before anything is sent.
    std::fs::write(d.join("wrong.pem"), TestKeys::load().platform_key_pem).unwrap();
    let o = wxpay(&args(&wrong, &["request", "GET", "/v3/certificates"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("merchant API certificate"));
    // Nothing listening: exit 4.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = creds(&tmpdir(), &format!("http://127.0.0.1:{port}"), Mode::Both);
    let o = wxpay(&args(
        &dead,
        &["--json", "request", "GET", "/v3/certificates"],
    ));
    assert_eq!(json_out(&o)["kind"], "transport_connect");
    assert_eq!(o.status.code(), Some(4));
    // Usage: exit 2.
    assert_eq!(
        wxpay(&["request".into(), "GET".into(), "/v3/certificates".into()])
            .status
            .code(),
        Some(2),
        "--mchid missing"
    );
    assert_eq!(
        wxpay(&args(
            &f,
            &["request", "GET", "/v3/certificates", "-d", "not json"]
        ))
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn config_file_and_environment() {
    let s = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let d = tmpdir();
    let k = TestKeys::load();
    std::fs::write(d.join("k.pem"), k.merchant_key_pem).unwrap();
    std::fs::write(d.join("c.pem"), k.platform_cert_pem).unwrap();
    std::fs::write(d.join("wxpay.toml"), format!("mchid = \"{}\"\nserial = \"{}\"\nprivate_key = \"k.pem\"\nplatform_cert = [\"c.pem\"]\nbase_url = \"{}\"\n", k.mchid, k.merchant_serial, s.base_url())).unwrap();
    let o = Command::new(BIN)
        .args([
            "--config",
            &d.join("wxpay.toml").display().to_string(),
            "request",
            "GET",
            "/v3/certificates",
        ])
        .env_clear()
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // An environment variable beats the file: a wrong mchid makes the gateway refuse.
    let o = Command::new(BIN)
        .args(["request", "GET", "/v3/certificates"])
        .env_clear()
        .env("WXPAY_CONFIG", d.join("wxpay.toml"))
        .env("WXPAY_MCHID", "1900000009")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    // Secrets never printed.
    assert!(!String::from_utf8_lossy(&o.stderr).contains("PRIVATE KEY"));
}

/// Parse an Authorization header's parameters, sorted.
fn auth_params(h: &str) -> Vec<(String, String)> {
    let (_, rest) = h.split_once(' ').unwrap();
    let mut v: Vec<(String, String)> = rest
        .split("\",")
        .map(|p| {
            let (k, v) = p.split_once("=\"").unwrap();
            (k.to_string(), v.trim_end_matches('"').to_string())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn sign_reproduces_every_peer_signing_vector() {
    let fx = fixtures().join("vectors/peer");
    let vectors: Value =
        serde_json::from_slice(&std::fs::read(fx.join("vectors.json")).unwrap()).unwrap();
    let f = &vectors["fixtures"];
    let key = fx.join("fixtures/apiclient_key.pem").display().to_string();
    let d = tmpdir();
    let mut n = 0;
    for c in vectors["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "request_sign")
    {
        let body = d.join("body");
        std::fs::write(&body, c["body"].as_str().unwrap()).unwrap();
        let o = wxpay(
            &[
                "--json",
                "--mchid",
                f["mchid"].as_str().unwrap(),
                "--serial",
                f["merchant_serial"].as_str().unwrap(),
                "--private-key",
                &key,
                "sign",
                "--method",
                c["method"].as_str().unwrap(),
                "--target",
                c["uri"].as_str().unwrap(),
                "--body-file",
                &body.display().to_string(),
                "--timestamp",
                c["timestamp"].as_str().unwrap(),
                "--nonce",
                c["nonce"].as_str().unwrap(),
            ]
            .map(String::from),
        );
        assert!(
            o.status.success(),
            "{}: {}",
            c["id"],
            String::from_utf8_lossy(&o.stderr)
        );
        let v = json_out(&o);
        assert_eq!(v["message"], c["message"], "{}", c["id"]);
        assert_eq!(v["signature"], c["signature"], "{}", c["id"]);
        assert_eq!(
            auth_params(v["authorization"].as_str().unwrap()),
            auth_params(c["authorization"].as_str().unwrap()),
            "{}",
            c["id"]
        );
        n += 1;
    }
    assert_eq!(n, 25);
    // The text form shows the newlines.
    let o = wxpay(
        &[
            "--mchid",
            "1900000002",
            "--serial",
            "AB",
            "--private-key",
            &key,
            "sign",
            "--method",
            "GET",
            "--target",
            "/v3/certificates",
            "--timestamp",
            "1",
            "--nonce",
            "n",
        ]
        .map(String::from),
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("GET\\n/v3/certificates\\n1\\nn\\n\\n"));
    // A whole URL: what is signed is its path and query, as the request sends it.
    let o = wxpay(
        &[
            "--mchid",
            "1900000002",
            "--serial",
            "AB",
            "--private-key",
            &key,
            "sign",
            "--method",
            "GET",
            "--target",
            "https://api.mch.weixin.qq.com/v3/certificates?algorithm_type=RSA",
            "--timestamp",
            "1",
            "--nonce",
            "n",
        ]
        .map(String::from),
    );
    assert!(String::from_utf8_lossy(&o.stdout)
        .contains("GET\\n/v3/certificates?algorithm_type=RSA\\n1\\nn\\n\\n"));
}

#[test]
fn verify_reproduces_every_peer_verification_vector() {
    let fx = fixtures().join("vectors/peer");
    let vectors: Value =
        serde_json::from_slice(&std::fs::read(fx.join("vectors.json")).unwrap()).unwrap();
    let f = &vectors["fixtures"];
    let d = tmpdir();
    let keys = [
        "--serial".to_string(),
        f["merchant_serial"].as_str().unwrap().into(),
        "--platform-cert".into(),
        fx.join("fixtures/platform_cert.pem").display().to_string(),
        "--public-key".into(),
        fx.join("fixtures/pub_key.pem").display().to_string(),
        "--public-key-id".into(),
        f["public_key_id"].as_str().unwrap().into(),
    ];
    let mut n = 0;
    for c in vectors["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "response_verify")
    {
        let id = c["id"].as_str().unwrap();
        let body = d.join("body");
        std::fs::write(&body, c["body"].as_str().unwrap()).unwrap();
        let mut a: Vec<String> = keys.to_vec();
        a.extend([
            "--json".into(),
            "verify".into(),
            "--body-file".into(),
            body.display().to_string(),
            "--now".into(),
            c["now"].as_str().unwrap().into(),
        ]);
        for (k, v) in c["headers"].as_object().unwrap() {
            a.extend(["-H".into(), format!("{k}: {}", v.as_str().unwrap())]);
        }
        let o = wxpay(&a);
        let v = json_out(&o);
        // `verify` checks the signature headers only (no status, no download rule): the
        // plugin's "skip" cases carry no signature, so they are rejected for a missing header.
        let want = match (id, c["expected"].as_str().unwrap()) {
            ("resp-serial-lowercase", _) => "ok",
            ("resp-non-numeric-timestamp", _) => "invalid_timestamp",
            (_, "accept") => "ok",
            (_, "skip") => "missing_header",
            (_, _) => match c["peer_error_code"].as_str().unwrap() {
                "EV3_RES_HEADERS_INCOMPLATE" => "missing_header",
                "EV3_RES_HEADER_TIMESTAMP_OFFSET" => "stale_timestamp",
                "EV3_RES_HEADER_PLATFORM_SERIAL" => "unknown_serial",
                _ if id == "resp-signtest-probe" => "probe",
                _ => "signature_mismatch",
            },
        };
        assert_eq!(v["kind"], want, "{id}: {v}");
        assert_eq!(
            o.status.code(),
            Some(if want == "ok" { 0 } else { 1 }),
            "{id}"
        );
        n += 1;
    }
    assert_eq!(n, 25);
    // The merchant's own serial is named as such.
    let o = wxpay(
        &[
            keys.to_vec(),
            vec![
                "--json".into(),
                "verify".into(),
                "--body-file".into(),
                d.join("body").display().to_string(),
                "--now".into(),
                "1800003600".into(),
                "-H".into(),
                "Wechatpay-Timestamp: 1800003600".into(),
                "-H".into(),
                "Wechatpay-Nonce: n".into(),
                "-H".into(),
                "Wechatpay-Signature: AAAA".into(),
                "-H".into(),
                format!(
                    "Wechatpay-Serial: {}",
                    f["merchant_serial"].as_str().unwrap()
                ),
            ],
        ]
        .concat(),
    );
    assert!(json_out(&o)["message"]
        .as_str()
        .unwrap()
        .contains("apiclient_cert.pem"));
}

#[test]
fn notify_decrypt_encrypt_oaep_paysign() {
    let d = tmpdir();
    let f = creds(&d, "http://127.0.0.1:9", Mode::Both);
    let gw = Gateway::with_test_keys(Mode::Both);
    let now = 1_800_000_000i64;
    let resource = json!({"out_trade_no": "N-1", "amount": {"total": 100}});
    let write = |req: &http::Request<Vec<u8>>| {
        std::fs::write(d.join("cb.json"), req.body()).unwrap();
        let mut a = f.clone();
        a.extend([
            "--json".into(),
            "notify".into(),
            "--body-file".into(),
            d.join("cb.json").display().to_string(),
            "--now".into(),
            now.to_string(),
        ]);
        for (k, v) in req.headers() {
            a.extend(["-H".into(), format!("{k}: {}", v.to_str().unwrap())]);
        }
        a
    };
    let ok = gw.notification(
        "TRANSACTION.SUCCESS",
        "支付成功",
        "transaction",
        &resource,
        now,
        None,
    );
    let v = json_out(&wxpay(&write(&ok)));
    assert_eq!(v["event_type"], "TRANSACTION.SUCCESS");
    assert_eq!(v["resource"], resource);
    let probe = gw.notification(
        "TRANSACTION.SUCCESS",
        "s",
        "transaction",
        &resource,
        now,
        Some(&Fault::Probe),
    );
    let o = wxpay(&write(&probe));
    assert_eq!(
        (o.status.code(), json_out(&o)["kind"].clone()),
        (Some(1), Value::from("probe"))
    );
    // A wrong APIv3 key.
    let mut a = write(&ok);
    std::fs::write(d.join("apiv3.txt"), "wrongwrongwrongwrongwrongwrong32").unwrap();
    let o = wxpay(&a);
    assert_eq!(json_out(&o)["kind"], "wrong_apiv3_key");
    std::fs::write(d.join("apiv3.txt"), TestKeys::load().apiv3_key).unwrap();
    a.clear();
    // Authentic bytes that are no notification, and a malformed header: each has its own kind.
    let not_envelope = gw.sign_notification(b"[1, 2]".to_vec(), now, None);
    assert_eq!(
        json_out(&wxpay(&write(&not_envelope)))["kind"],
        "not_an_envelope"
    );
    let mut bad_base64 = ok.clone();
    bad_base64.headers_mut().insert(
        "Wechatpay-Signature",
        http::HeaderValue::from_static("not base64!"),
    );
    assert_eq!(json_out(&wxpay(&write(&bad_base64)))["kind"], "bad_base64");

    // decrypt: a resource encrypted under the APIv3 key.
    let key = wechatpay_core::ApiV3Key::new(TestKeys::load().apiv3_key).unwrap();
    let ct = key
        .encrypt("0123456789ab", "transaction", b"{\"a\":1}")
        .unwrap();
    let o = wxpay(&args(
        &f,
        &[
            "decrypt",
            "--nonce",
            "0123456789ab",
            "--aad",
            "transaction",
            "--ciphertext",
            &ct,
        ],
    ));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "{\"a\":1}");
    let o = wxpay(&args(
        &f,
        &[
            "decrypt",
            "--nonce",
            "0123456789ab",
            "--aad",
            "other",
            "--ciphertext",
            &ct,
        ],
    ));
    assert_eq!(o.status.code(), Some(1));

    // encrypt with the platform key (the public key id is preferred), then decrypt it with that
    // key's private half through oaep-decrypt.
    let v = json_out(&wxpay(&args(&f, &["--json", "encrypt", "--value", "张三"])));
    assert_eq!(v["wechatpay_serial"], TestKeys::load().public_key_id);
    std::fs::write(
        d.join("pk_private.pem"),
        TestKeys::load().public_key_private_pem,
    )
    .unwrap();
    let mut g = f.clone();
    let i = g.iter().position(|x| x == "--private-key").unwrap();
    g[i + 1] = d.join("pk_private.pem").display().to_string();
    let o = wxpay(&args(
        &g,
        &[
            "oaep-decrypt",
            "--ciphertext",
            v["ciphertext"].as_str().unwrap(),
        ],
    ));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "张三");
    assert_eq!(
        wxpay(&args(
            &f,
            &[
                "oaep-decrypt",
                "--ciphertext",
                v["ciphertext"].as_str().unwrap()
            ]
        ))
        .status
        .code(),
        Some(1)
    );

    // paysign against the golden signatures (same key, same inputs).
    let golden = |n: &str| std::fs::read_to_string(fixtures().join("golden").join(n)).unwrap();
    let j = json_out(&wxpay(&args(
        &f,
        &[
            "--json",
            "paysign",
            "jsapi",
            "--appid",
            "wxd678efh567hg6787",
            "--prepay-id",
            "wx201410272009395522657a690389285100",
            "--timestamp",
            "1800000000",
            "--nonce",
            "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        ],
    )));
    assert_eq!(j["paySign"], golden("paysign_jsapi_signature.b64"));
    assert_eq!(
        j["package"],
        "prepay_id=wx201410272009395522657a690389285100"
    );
    let a = json_out(&wxpay(&args(
        &f,
        &[
            "--json",
            "paysign",
            "app",
            "--appid",
            "wxd678efh567hg6787",
            "--prepay-id",
            "wx201410272009395522657a690389285100",
            "--timestamp",
            "1800000000",
            "--nonce",
            "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        ],
    )));
    assert_eq!(a["sign"], golden("paysign_app_signature.b64"));
    assert_eq!(a["partnerid"], "1900000001");
}

#[test]
fn certificates_in_both_modes() {
    let s = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let d = tmpdir();
    let f = creds(&d, &s.base_url(), Mode::Certificate);
    let out = d.join("certs");
    let o = wxpay(&args(
        &f,
        &[
            "--json",
            "certificates",
            "--output",
            &out.display().to_string(),
        ],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let k = TestKeys::load();
    let saved =
        std::fs::read_to_string(out.join(format!("wechatpay_{}.pem", k.platform_serial))).unwrap();
    assert_eq!(saved, k.platform_cert_pem);
    // Public-key-only merchant: said plainly, not an error.
    let pk = Server::start(Gateway::with_test_keys(Mode::PublicKey)).unwrap();
    let f = creds(&tmpdir(), &pk.base_url(), Mode::PublicKey);
    let o = wxpay(&args(&f, &["certificates"]));
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("public key mode"));
}

/// `wxpay --json sandbox` in a new directory: the running process and its first line (the base
/// URL, the config and the merchant certificate it wrote). Kill the process when done.
fn start_sandbox() -> (std::process::Child, Value) {
    let d = tmpdir();
    let mut child = Command::new(BIN)
        .args(["--json", "sandbox", "--dir", &d.display().to_string()])
        .env_clear()
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    (child, serde_json::from_str(&line).unwrap())
}

#[test]
fn sandbox_command_and_help() {
    let (mut child, v) = start_sandbox();
    let o = Command::new(BIN)
        .args([
            "--config",
            v["config"].as_str().unwrap(),
            "request",
            "GET",
            "/v3/certificates",
        ])
        .env_clear()
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Help is there for every subcommand.
    for cmd in [
        "request",
        "sign",
        "verify",
        "notify",
        "decrypt",
        "encrypt",
        "oaep-decrypt",
        "paysign",
        "certificates",
        "sandbox",
    ] {
        let o = Command::new(BIN).args([cmd, "--help"]).output().unwrap();
        assert!(o.status.success() && !o.stdout.is_empty(), "{cmd}");
        // Its own options first; the global ones under their own heading.
        let help = String::from_utf8_lossy(&o.stdout);
        let own = help.find("\nOptions:").unwrap_or(0);
        let global = help.find("\nGlobal options:").expect("a global heading");
        assert!(
            own < global && help[global..].contains("--mchid"),
            "{cmd}: {help}"
        );
        assert!(!help[..global].contains("--mchid"), "{cmd}: {help}");
    }
}

/// A one-connection HTTP server on 127.0.0.1 that reads a request and writes `answer` (gone
/// after 20 s at the latest).
fn one_shot(answer: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < end {
            if let Ok((mut s, _)) = listener.accept() {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n")
                    && s.read(&mut b).map(|n| n == 1).unwrap_or(false)
                {
                    head.push(b[0]);
                }
                let _ = s.write_all(&answer);
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    });
    format!("http://{addr}")
}

/// A `200` answer signed now with the sandbox's platform certificate key.
fn signed_answer(body: &[u8]) -> Vec<u8> {
    let k = TestKeys::load();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let sig = wechatpay_core::PrivateKey::from_pem(k.platform_key_pem)
        .unwrap()
        .sign_base64(&wechatpay_core::sign::response_message(&ts, "n0nce", body))
        .unwrap();
    let mut out = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nWechatpay-Timestamp: {ts}\r\nWechatpay-Nonce: n0nce\r\nWechatpay-Serial: {}\r\nWechatpay-Signature: {sig}\r\nRequest-ID: R-1\r\n\r\n", body.len(), k.platform_serial).into_bytes();
    out.extend_from_slice(body);
    out
}

#[test]
fn hostile_text_never_reaches_the_terminal_raw() {
    let d = tmpdir();
    // JSON escapes decode to ESC and BEL; U+009B (a one-character CSI) may even stand raw.
    let body = "{\"code\":\"PARAM_ERROR\",\"message\":\"\\u001b[2J\\u001b[1;1Hpayment succeeded\\u0007\u{9b}31m\"}";
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    for json in [false, true] {
        let f = creds(
            &d,
            &one_shot(answer.clone().into_bytes()),
            Mode::Certificate,
        );
        let mut a = vec!["request", "GET", "/v3/x", "--no-validate"];
        if json {
            a.insert(0, "--json");
        }
        let o = wxpay(&args(&f, &a));
        assert_eq!(o.status.code(), Some(3));
        for stream in [&o.stdout, &o.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text
                    .chars()
                    .any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\u{9b}'),
                "raw control characters printed: {text:?}"
            );
        }
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("payment succeeded"), "{err}");
    }
    // An endpoint under `sandbox deliver` cannot add lines to the report.
    let fake = "refused\n[ok] tampered — expected: refused\r\n";
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{fake}",
        fake.len()
    );
    let o = wxpay(&args(
        &[],
        &[
            "sandbox",
            "deliver",
            "--to",
            &format!("{}/notify", one_shot(answer.into_bytes())),
            "--fault",
            "probe",
            "--max-attempts",
            "1",
        ],
    ));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("400 refused\\u{a}[ok] tampered"), "{text}");
    assert!(
        !text.lines().any(|l| l.starts_with("[ok] tampered")),
        "{text}"
    );
}

#[test]
fn verified_answers_are_printed_faithfully() {
    let d = tmpdir();
    let body = br#"{"amount":123456789012345678901234567890,"rate":1.50,"z":1,"a":"x","a":"y","note":"caf\u00e9"}"#;
    let f = creds(&d, &one_shot(signed_answer(body)), Mode::Certificate);
    let o = wxpay(&args(&f, &["request", "GET", "/v3/x", "--no-validate"]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("123456789012345678901234567890"), "{out}");
    assert!(out.contains("\"rate\": 1.50"), "{out}");
    assert!(
        out.contains("\"a\": \"x\"") && out.contains("\"a\": \"y\""),
        "{out}"
    );
    assert!(
        out.find("\"z\"").unwrap() < out.find("\"a\"").unwrap(),
        "{out}"
    );
    // --json embeds the answer itself.
    let f = creds(&d, &one_shot(signed_answer(body)), Mode::Certificate);
    let o = wxpay(&args(
        &f,
        &["--json", "request", "GET", "/v3/x", "--no-validate"],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains(std::str::from_utf8(body).unwrap()),
        "the answer is embedded as received: {out}"
    );
    assert_eq!(json_out_text(&out)["request_id"], "R-1");
}

fn json_out_text(s: &str) -> Value {
    serde_json::from_str(s.trim()).unwrap()
}

#[test]
fn bad_headers_timeouts_and_the_right_hint() {
    let s = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let d = tmpdir();
    let f = creds(&d, &s.base_url(), Mode::Certificate);
    // A non-ASCII header value is refused, never sent altered.
    let o = wxpay(&args(
        &f,
        &["request", "GET", "/v3/certificates", "-H", "X-Note: café"],
    ));
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("not ASCII"));
    let o = wxpay(&args(
        &f,
        &[
            "request",
            "GET",
            "/v3/certificates",
            "-H",
            "Transfer-Encoding: chunked",
        ],
    ));
    assert_eq!(o.status.code(), Some(2));
    // A huge timeout does not panic; zero is refused.
    let mut huge = f.clone();
    let at = huge.iter().position(|a| a == "--timeout").unwrap();
    huge[at + 1] = u64::MAX.to_string();
    let o = wxpay(&args(&huge, &["request", "GET", "/v3/certificates"]));
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    huge[at + 1] = "86400".into();
    let o = wxpay(&args(&huge, &["request", "GET", "/v3/certificates"]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    huge[at + 1] = "0".into();
    assert_eq!(
        wxpay(&args(&huge, &["request", "GET", "/v3/certificates"]))
            .status
            .code(),
        Some(2)
    );
    // A tampered answer wxpay received itself: no advice about re-serialised JSON.
    s.gateway().set_fault(Some(Fault::TamperedBody));
    let o = wxpay(&args(&f, &["request", "GET", "/v3/certificates"]));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("re-serialised"), "{err}");
    assert!(err.contains("altered on its way"), "{err}");
}

/// `api show` names the Rust function and the types of each part, the official SDK methods, and
/// the answer's fields (as a tree in `--json`, the shape of `body`); `api decode` reads a
/// captured answer with the typed model: the value and the members it does not know (exit 0),
/// or the JSON path where the answer parts from the type (exit 1).
#[test]
fn api_show_types_and_decode_answers() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let o = wxpay(&s(&[
        "api",
        "show",
        "GET /v3/pay/transactions/id/{transaction_id}",
    ]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    for says in [
        "Rust:  wechatpay::api::pay::transactions::get_by_transaction_id(transaction_id: &str, &transactions::QueryOrderByIdRequest) -> Call<transactions::Transaction>",
        "official SDKs: Go payments.app.AppApiService.QueryOrderById",
        "query (wechatpay::api::pay::transactions::QueryOrderByIdRequest):",
        "answer (JSON, wechatpay::api::pay::transactions::Transaction):",
        "  trade_state — string transactions::TradeState",
        "  promotion_detail — array of object transactions::PromotionDetail (optional)",
    ] {
        assert!(text.contains(says), "{says}\n{text}");
    }
    assert!(!text.contains("answer: json"), "{text}");
    let o = wxpay(&s(&[
        "--json",
        "api",
        "show",
        "POST /v3/refund/domestic/refunds",
    ]));
    let v = json_out(&o);
    assert_eq!(
        v["types"]["body"],
        "wechatpay::api::refund::domestic::CreateRequest"
    );
    assert_eq!(
        v["types"]["answer"],
        "wechatpay::api::refund::domestic::Refund"
    );
    let answer = v["answer"].as_array().unwrap();
    let amount = answer.iter().find(|f| f["name"] == "amount").unwrap();
    assert_eq!(amount["type"], "object");
    assert!(amount["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "payer_refund"));
    assert!(v["body"][0]["name"].is_string());

    let d = tmpdir();
    let file = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    };
    let query = "GET /v3/pay/transactions/id/{transaction_id}";
    // A production answer with members this version does not know: read, and listed.
    let good = file(
        "good.json",
        r#"{"transaction_id":"4200","trade_state":"SUCCESS","amount":{"total":100,"new_amount":1},"later":true}"#,
    );
    let o = wxpay(&s(&[
        "--json",
        "api",
        "decode",
        query,
        "--body-file",
        &good,
    ]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json_out(&o);
    assert_eq!(v["value"]["amount"]["total"], 100);
    assert_eq!(v["unknown"], json!(["amount.new_amount", "later"]));
    let o = wxpay(&s(&["api", "decode", query, "--body-file", &good]));
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"trade_state\": \"SUCCESS\""));
    assert!(String::from_utf8_lossy(&o.stderr).contains("amount.new_amount, later"));
    // Minimal (nothing) and `null`s: read too.
    for text in ["{}", r#"{"amount":null,"payer":{"openid":null}}"#] {
        let f = file("min.json", text);
        let o = wxpay(&s(&["--json", "api", "decode", query, "--body-file", &f]));
        assert!(
            o.status.success(),
            "{text}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(json_out(&o)["unknown"], json!([]));
    }
    // A member of another JSON type: exit 1, the path and what was expected.
    let bad = file("bad.json", r#"{"amount":{"total":"100"}}"#);
    let o = wxpay(&s(&["--json", "api", "decode", query, "--body-file", &bad]));
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(v["path"], "amount.total");
    assert_eq!(v["type"], "wechatpay::api::pay::transactions::Transaction");
    assert!(
        v["message"].as_str().unwrap().contains("expected i64"),
        "{v}"
    );
    // An endpoint outside the default families (the CLI reads them all), and one with no JSON
    // answer.
    let stop = file(
        "stop.json",
        r#"{"stock_id":"9856","stop_time":"2027-01-15T13:00:00+08:00"}"#,
    );
    let o = wxpay(&s(&[
        "api",
        "decode",
        "POST /v3/marketing/favor/stocks/{stock_id}/stop",
        "--body-file",
        &stop,
    ]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = wxpay(&s(&[
        "api",
        "decode",
        "GET /v3/billdownload/file",
        "--body-file",
        &stop,
    ]));
    assert_eq!(o.status.code(), Some(2));
}

/// A stdout nobody reads (`wxpay api list | head`) ends a command quietly: exit 0, nothing on
/// stderr; a failure keeps its exit code; a stdout that cannot take the output exits 5.
#[test]
fn a_closed_output_ends_a_command_quietly() {
    let run = |args: &[&str]| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        Command::new(BIN)
            .args(args)
            .env_clear()
            .stdout(writer)
            .output()
            .unwrap()
    };
    let key = test_key("merchant_key.pem");
    let key = key.as_str();
    for args in [
        &["api", "list"][..],
        &["--json", "api", "list"],
        &["api", "show", "POST /v3/refund/domestic/refunds"],
        &["inspect", key],
        &["--json", "inspect", key],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(
            o.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let o = run(&["--json", "api", "show", "GET /v3/nowhere"]);
    assert_eq!(o.status.code(), Some(2));
    if Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = Command::new(BIN)
            .args(["api", "list"])
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(5));
        assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write the output"));
    }
}

/// `wxpay api decode` reads the full and the minimal answer of every official endpoint (the
/// JSON the typed API's tests make from the official models alone), every member known.
#[test]
fn api_decode_reads_every_official_answer() {
    let tests = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../api/tests/typed/official.rs"
    ))
    .unwrap();
    // (endpoint, answer) of every `answer::<T>("METHOD", "/path", full, minimal)` call.
    let mut cases: Vec<(String, String)> = Vec::new();
    let mut rest = tests.as_str();
    let quoted = |s: &str, open: &str, close: &str| -> (String, usize) {
        let a = s.find(open).unwrap() + open.len();
        let b = a + s[a..].find(close).unwrap();
        (s[a..b].to_string(), b + close.len())
    };
    while let Some(at) = rest.find("    answer::<") {
        rest = &rest[at..];
        let (method, n) = quoted(rest, "\"", "\"");
        rest = &rest[n..];
        let (path, n) = quoted(rest, "\"", "\"");
        rest = &rest[n..];
        for _ in ["full", "minimal"] {
            let (body, n) = quoted(rest, "r##\"", "\"##");
            rest = &rest[n..];
            cases.push((format!("{method} {path}"), body));
        }
    }
    assert!(cases.len() > 400, "{} answers", cases.len());
    let d = tmpdir();
    let cases = std::sync::Mutex::new(cases.into_iter().enumerate());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let Some((i, (endpoint, body))) = cases.lock().unwrap().next() else {
                    break;
                };
                let f = d.join(format!("answer-{i}.json"));
                std::fs::write(&f, &body).unwrap();
                let o = wxpay(&[
                    "--json".into(),
                    "api".into(),
                    "decode".into(),
                    endpoint.clone(),
                    "--body-file".into(),
                    f.to_string_lossy().into_owned(),
                ]);
                assert!(
                    o.status.success(),
                    "{endpoint}: {}\n{body}",
                    String::from_utf8_lossy(&o.stderr)
                );
                assert_eq!(json_out(&o)["unknown"], json!([]), "{endpoint}");
            });
        }
    });
}

#[test]
fn api_list_show_and_request_validation() {
    // Every endpoint with its typed function.
    let o = wxpay(&["--json".into(), "api".into(), "list".into()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list = json_out(&o);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 517);
    for e in list {
        for k in ["method", "path", "rust", "title", "doc"] {
            assert!(e[k].is_string(), "{e}");
        }
        assert!(
            e["rust"].as_str().unwrap().starts_with("wechatpay::api::"),
            "{e}"
        );
    }
    assert!(list.iter().any(|e| e["rust"]
        == "wechatpay::api::payscore::payafter_orders::complete"
        && e["path"] == "/v3/payscore/payafter-orders/{out_order_no}/complete"));
    let o = wxpay(&[
        "api".into(),
        "list".into(),
        "--family".into(),
        "fund-app".into(),
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("/v3/fund-app/mch-transfer/transfer-bills"));
    let o = wxpay(&[
        "api".into(),
        "show".into(),
        "v3.pay.transactions.jsapi.post".into(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("JSAPI下单") && text.contains("wechatpay::api::pay::transactions::jsapi"),
        "{text}"
    );
    assert!(text.contains("out_trade_no — string (required)"), "{text}");
    let o = wxpay(&[
        "api".into(),
        "show".into(),
        "POST /v3/payscore/payafter-orders".into(),
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("name — string (optional, sensitive"));
    assert_eq!(
        wxpay(&["api".into(), "show".into(), "GET /v3/nothing".into()])
            .status
            .code(),
        Some(2)
    );

    // Checked before signing or connecting: port 9 refuses, yet the answer is a usage error.
    let d = tmpdir();
    let f = creds(&d, "http://127.0.0.1:9", Mode::Certificate);
    let jsapi = r#"{"appid":"wx1","mchid":"1900000001","description":"d","out_trade_nr":"O1","notify_url":"https://x/n","amount":{"total":1},"payer":{"openid":"o"}}"#;
    for (body, says) in [
        (
            jsapi,
            "body.out_trade_nr: unknown field; did you mean `out_trade_no`?",
        ),
        (r#"{"appid":"wx1"}"#, "required field missing"),
        (
            r#"{"appid":"wx1","mchid":"1900000001","description":"d","out_trade_no":"O1","notify_url":"https://x/n","amount":{"total":"1"},"payer":{"openid":"o"}}"#,
            "body.amount.total: expected an integer, found a string",
        ),
    ] {
        let o = wxpay(&args(
            &f,
            &["request", "POST", "/v3/pay/transactions/jsapi", "-d", body],
        ));
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // --no-validate sends it as it is (and meets the closed port: a transport failure).
    let o = wxpay(&args(
        &f,
        &[
            "request",
            "POST",
            "/v3/pay/transactions/jsapi",
            "--no-validate",
            "-d",
            jsapi,
        ],
    ));
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Sensitive fields are encrypted automatically, with the key the request names: the sandbox
    // decrypts them with that key.
    let s = Server::start(Gateway::with_test_keys(Mode::Both)).unwrap();
    let f = creds(&d, &s.base_url(), Mode::Both);
    let o = wxpay(&args(
        &f,
        &[
            "--json",
            "request",
            "POST",
            "/v3/payscore/payafter-orders",
            "-d",
            r#"{"appid":"wx1","out_order_no":"SENS-1","service_id":"5","name":"张三","phone":"13800138000"}"#,
        ],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Without encryption the gateway refuses the plaintext.
    let o = wxpay(&args(
        &f,
        &[
            "request",
            "POST",
            "/v3/payscore/payafter-orders",
            "--no-validate",
            "-d",
            r#"{"appid":"wx1","out_order_no":"SENS-2","service_id":"5","name":"张三"}"#,
        ],
    ));
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn bill_upload_and_sign_defaults() {
    let s = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let d = tmpdir();
    let f = creds(&d, &s.base_url(), Mode::Certificate);
    // A trade bill, gzipped on the wire, checked and written.
    let out = d.join("trade.csv");
    let o = wxpay(&args(
        &f,
        &[
            "--json",
            "bill",
            "trade",
            "--date",
            "2026-01-15",
            "--gzip",
            "--output",
            out.to_str().unwrap(),
        ],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json_out(&o);
    let written = std::fs::read(&out).unwrap();
    assert_eq!(v["bytes"], written.len() as u64);
    assert!(String::from_utf8(written).unwrap().starts_with("交易时间"));
    assert!(!d.join("trade.csv.part").exists());
    // A wrong digest: exit 1, nothing left at the name asked for.
    let bad = d.join("bad.csv");
    let o = wxpay(&args(
        &f,
        &[
            "bill",
            "fundflow",
            "--date",
            "2026-01-15",
            "--output",
            bad.to_str().unwrap(),
            "-H",
            "x: y",
        ],
    ));
    assert_eq!(o.status.code(), Some(2), "unknown flag -H");
    s.gateway().set_fault(Some(Fault::WrongBillHash));
    let o = wxpay(&args(
        &f,
        &[
            "--json",
            "bill",
            "fundflow",
            "--date",
            "2026-01-15",
            "--output",
            bad.to_str().unwrap(),
        ],
    ));
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(json_out(&o)["kind"], "bill_hash");
    assert!(!bad.exists() && !d.join("bad.csv.part").exists());
    s.gateway().set_fault(None);
    // No bill yet: WeChat Pay's answer, with what to do, and no file.
    let o = wxpay(&args(
        &f,
        &[
            "bill",
            "trade",
            "--date",
            "2099-01-15",
            "--output",
            bad.to_str().unwrap(),
        ],
    ));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("NO_STATEMENT_EXIST") && err.contains("no bill for that date"),
        "{err}"
    );
    assert!(!bad.exists() && !d.join("bad.csv.part").exists());
    // An image upload streamed from disk.
    let img = d.join("receipt.png");
    std::fs::write(&img, vec![0x89u8; 200_000]).unwrap();
    let o = wxpay(&args(
        &f,
        &["--json", "upload", "image", img.to_str().unwrap()],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(json_out(&o)["body"]["media_id"]
        .as_str()
        .unwrap()
        .starts_with("SANDBOX-MEDIA-"));
    // sign without --timestamp/--nonce: now and a fresh nonce, both printed.
    let o = wxpay(&args(
        &f,
        &[
            "--json",
            "sign",
            "--method",
            "GET",
            "--target",
            "/v3/certificates",
        ],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json_out(&o);
    let nonce = v["nonce"].as_str().unwrap();
    assert_eq!(nonce.len(), 32);
    let ts = v["timestamp"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - ts).abs() < 60);
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains(&format!("{ts}\n{nonce}\n")));
}

/// A callback endpoint on 127.0.0.1 (blocking, one request per connection) answering with
/// `Callbacks::handle_blocking` — or, `careless`, 204 to anything. Serves until `stop` is set
/// (and 60 s at the latest); returns its URL and how many times the handler ran.
fn callback_endpoint(
    careless: bool,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (
    String,
    std::sync::Arc<AtomicU32>,
    std::thread::JoinHandle<()>,
) {
    use std::io::{BufRead, BufReader, Read, Write};
    use wechatpay_core::notify::MemoryStore;
    let keys = TestKeys::load();
    let callbacks = wechatpay_core::notify::Callbacks::for_client(
        &keys
            .client_builder("http://127.0.0.1:1", Mode::Both)
            .build()
            .unwrap(),
        wechatpay_core::ApiV3Key::new(keys.apiv3_key).unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let runs = std::sync::Arc::new(AtomicU32::new(0));
    let counted = runs.clone();
    let server = std::thread::spawn(move || {
        let store = MemoryStore::default();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !stop.load(Ordering::SeqCst) && std::time::Instant::now() < until {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(2));
                continue;
            };
            stream.set_nonblocking(false).unwrap();
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut headers = http::HeaderMap::new();
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            loop {
                line.clear();
                r.read_line(&mut line).unwrap();
                let Some((k, v)) = line.trim_end().split_once(':') else {
                    break;
                };
                headers.append(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.trim().parse().unwrap(),
                );
            }
            let len: usize = headers["content-length"].to_str().unwrap().parse().unwrap();
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let answer = if careless {
                wechatpay_core::notify::success()
            } else {
                callbacks
                    .handle_blocking::<Value, _>(&store, &headers, &body, |_| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .answer
            };
            let mut w = stream;
            let _ = write!(
                w,
                "HTTP/1.1 {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                answer.status(),
                answer.body().len()
            );
            let _ = w.write_all(answer.body());
        }
    });
    (url, runs, server)
}

#[test]
fn sandbox_deliver_tests_an_endpoint() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (url, runs, server) = callback_endpoint(false, stop.clone());
    let o = wxpay(&args(
        &[],
        &[
            "--json", "sandbox", "deliver", "--to", &url, "--fault", "all", "--scale", "0.001",
        ],
    ));
    let v = json_out(&o);
    assert!(o.status.success(), "{v}");
    assert_eq!(v["ok"], true);
    let scenarios = v["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 8);
    let replayed = scenarios
        .iter()
        .find(|s| s["scenario"] == "replayed")
        .unwrap();
    assert_eq!(replayed["deliveries"][1]["attempts"][0]["status"], 500);
    // Valid, replayed, duplicate and concurrent each ran the handler once.
    assert_eq!(runs.load(Ordering::SeqCst), 4);

    // A careless endpoint (204 to anything) is caught: exit 1, the refusals not met.
    let (careless, _, careless_server) = callback_endpoint(true, stop.clone());
    let o = wxpay(&args(
        &[],
        &[
            "--json", "sandbox", "deliver", "--to", &careless, "--fault", "tampered",
        ],
    ));
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(v["scenarios"][0]["ok"], false);
    assert_eq!(
        (&v["ok"], &v["kind"]),
        (&json!(false), &json!("endpoint_misbehaved"))
    );
    // Text output, and bad input.
    let o = wxpay(&args(
        &[],
        &["sandbox", "deliver", "--to", &url, "--fault", "probe"],
    ));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("[ok] probe") && text.contains("500"),
        "{text}"
    );
    let o = wxpay(&args(
        &[],
        &["sandbox", "deliver", "--to", "ftp://x", "--fault", "probe"],
    ));
    assert_eq!(o.status.code(), Some(2));
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
    careless_server.join().unwrap();
}

/// `flags` with `name`'s value replaced by `value`.
fn with(flags: &[String], name: &str, value: &str) -> Vec<String> {
    let mut f = flags.to_vec();
    let i = f.iter().position(|a| a == name).unwrap();
    f[i + 1] = value.to_string();
    f
}

/// `wxpay --json doctor`: the exit code, and each check's status by name (the worst one).
fn doctor(
    flags: &[String],
    extra: &[&str],
) -> (
    Option<i32>,
    std::collections::HashMap<String, String>,
    Value,
) {
    let mut rest = vec!["--json", "doctor"];
    rest.extend_from_slice(extra);
    let o = wxpay(&args(flags, &rest));
    // One JSON document per run: a failed run's error object carries the checks.
    let v = json_out(&o);
    assert_eq!(v["ok"], o.status.success());
    if o.status.code() == Some(1) {
        assert_eq!(v["kind"], "doctor");
    }
    let rank = |s: &str| {
        ["ok", "skip", "warn", "fail"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    let mut by_name = std::collections::HashMap::<String, String>::new();
    for c in v["checks"].as_array().unwrap() {
        let (n, s) = (
            c["name"].as_str().unwrap().to_string(),
            c["status"].as_str().unwrap().to_string(),
        );
        let keep = by_name.get(&n).is_none_or(|old| rank(old) < rank(&s));
        if keep {
            by_name.insert(n, s);
        }
    }
    (o.status.code(), by_name, v)
}

#[test]
fn doctor_diagnoses_each_misconfiguration() {
    let k = TestKeys::load();
    let server = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let d = tmpdir();
    let mut f = creds(&d, &server.base_url(), Mode::Certificate);
    let cert = fixtures()
        .join("keys/merchant_cert.pem")
        .display()
        .to_string();
    let mc = ["--merchant-cert", cert.as_str()];
    std::fs::write(d.join("apiv2.txt"), k.apiv2_key).unwrap();
    let merchant_key = test_key("merchant_key.pem");
    f.extend(
        [
            "--apiv2-key-file",
            &d.join("apiv2.txt").display().to_string(),
            "--client-cert",
            &cert,
            "--client-key",
            &merchant_key,
        ]
        .map(String::from),
    );

    // Healthy: every check passes, exit 0.
    let (code, s, v) = doctor(&f, &mc);
    assert_eq!(code, Some(0), "{v}");
    assert!(s.values().all(|st| st == "ok"), "{v}");

    // A wrong serial: named against the certificate, and refused by WeChat Pay with the hint.
    let (code, s, v) = doctor(
        &with(&f, "--serial", "1234567890ABCDEF1234567890ABCDEF12345678"),
        &mc,
    );
    assert_eq!(code, Some(1));
    assert_eq!(s["serial"], "fail", "{v}");
    assert_eq!(s["signed_request"], "fail", "{v}");
    assert!(
        v.to_string()
            .contains("set serial = \\\"3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B\\\""),
        "{v}"
    );

    // A key that is not the certificate's.
    std::fs::write(d.join("other_key.pem"), k.rotated_key_pem).unwrap();
    let other = d.join("other_key.pem").display().to_string();
    let (code, s, v) = doctor(&with(&f, "--private-key", &other), &mc);
    assert_eq!(code, Some(1));
    assert_eq!(s["merchant_certificate"], "fail", "{v}");
    assert!(v.to_string().contains("is not the key of"), "{v}");

    // The platform certificate's serial given as the merchant's.
    let (code, s, v) = doctor(&with(&f, "--serial", k.platform_serial), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(s["serial"], "fail", "{v}");
    assert!(
        v.to_string().contains("is a platform certificate's serial"),
        "{v}"
    );

    // The merchant certificate configured as a platform certificate.
    let (code, s, v) = doctor(&with(&f, "--platform-cert", &cert), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(s["platform_keys"], "fail", "{v}");
    assert!(v.to_string().contains("merchant certificate's key"), "{v}");

    // A wrong APIv3 key.
    std::fs::write(
        d.join("wrong_apiv3.txt"),
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\n",
    )
    .unwrap();
    let wrong = d.join("wrong_apiv3.txt").display().to_string();
    let (code, s, v) = doctor(&with(&f, "--apiv3-key-file", &wrong), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(s["apiv3_decrypt"], "fail", "{v}");
    // One of the wrong length, named as an APIv3 key.
    std::fs::write(d.join("short.txt"), "short\n").unwrap();
    let (_, s, v) = doctor(
        &with(
            &f,
            "--apiv3-key-file",
            &d.join("short.txt").display().to_string(),
        ),
        &[],
    );
    assert_eq!(s["apiv3_key"], "fail", "{v}");
    assert!(v.to_string().contains("APIv3 key"), "{v}");

    // Every APIv2 item configured is checked: a key file or a client certificate that is not
    // there, a client key that is not the certificate's, a certificate without its key, the
    // certificate of another serial.
    let (code, s, v) = doctor(&with(&f, "--apiv2-key-file", "/nonexistent/apiv2.txt"), &[]);
    assert_eq!((code, s["apiv2_key"].as_str()), (Some(1), "fail"), "{v}");
    assert!(v.to_string().contains("/nonexistent/apiv2.txt"), "{v}");
    let (code, s, v) = doctor(&with(&f, "--client-cert", "/nonexistent/cert.pem"), &[]);
    assert_eq!(
        (code, s["client_certificate"].as_str()),
        (Some(1), "fail"),
        "{v}"
    );
    let (code, s, v) = doctor(&with(&f, "--client-key", &other), &[]);
    assert_eq!(
        (code, s["client_certificate"].as_str()),
        (Some(1), "fail"),
        "{v}"
    );
    assert!(v.to_string().contains("does not belong"), "{v}");
    let cert_only: Vec<String> = f[..f.len() - 2].to_vec();
    let (code, s, v) = doctor(&cert_only, &[]);
    assert_eq!(
        (code, s["client_certificate"].as_str()),
        (Some(1), "fail"),
        "{v}"
    );
    let platform_key = test_key("platform_key.pem");
    let platform_cert = test_key("platform_cert.pem");
    let (code, s, v) = doctor(
        &with(
            &with(&f, "--client-cert", &platform_cert),
            "--client-key",
            &platform_key,
        ),
        &[],
    );
    assert_eq!(
        (code, s["client_certificate"].as_str()),
        (Some(0), "warn"),
        "{v}"
    );
    // Not configured: skipped, not failed.
    let (code, s, v) = doctor(&f[..f.len() - 6], &[]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        (s["apiv2_key"].as_str(), s["client_certificate"].as_str()),
        ("skip", "skip"),
        "{v}"
    );

    // Clock skew: warned past 60 s, fatal past 300 s.
    server.gateway().set_clock_offset(-90);
    let (code, s, v) = doctor(&f, &[]);
    assert_eq!((code, s["clock"].as_str()), (Some(0), "warn"), "{v}");
    server.gateway().set_clock_offset(-400);
    let (code, s, v) = doctor(&f, &[]);
    assert_eq!((code, s["clock"].as_str()), (Some(1), "fail"), "{v}");
    assert!(v.to_string().contains("ahead of the server"), "{v}");
    server.gateway().set_clock_offset(0);

    // Offline: the files only.
    let (code, s, _) = doctor(&f, &["--offline"]);
    assert_eq!((code, s["base_url"].as_str()), (Some(0), "skip"));
    // A wrong serial without --merchant-cert: the fix says how to check key and serial.
    let (_, s, v) = doctor(
        &with(&f, "--serial", "1234567890ABCDEF1234567890ABCDEF12345678"),
        &[],
    );
    assert_eq!(s["signed_request"], "fail", "{v}");
    assert!(
        v.to_string().contains("run doctor with --merchant-cert"),
        "{v}"
    );
    assert_eq!(s["answer_signature"], "skip", "{v}");
    // A private key that does not load: what depends on it is reported as not run, with why;
    // the rest is still checked.
    let bad = tmpdir().join("bad_key.pem");
    std::fs::write(&bad, "not a key").unwrap();
    let (code, s, v) = doctor(&with(&f, "--private-key", bad.to_str().unwrap()), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(s["private_key"], "fail", "{v}");
    assert_eq!(s["platform_keys"], "ok", "{v}");
    assert_eq!(s["apiv3_key"], "ok", "{v}");
    for skipped in [
        "merchant_certificate",
        "base_url",
        "signed_request",
        "answer_signature",
        "apiv3_decrypt",
    ] {
        assert_eq!(s[skipped], "skip", "{skipped}: {v}");
    }
    assert!(
        v.to_string()
            .contains("not run: calls are signed with the private key"),
        "{v}"
    );
    // Text output names the fix.
    let o = wxpay(&args(&with(&f, "--serial", k.platform_serial), &["doctor"]));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("FAIL") && text.contains("fix:"), "{text}");
}

#[test]
fn doctor_in_public_key_mode_and_without_a_server() {
    let server = Server::start(Gateway::with_test_keys(Mode::PublicKey)).unwrap();
    let d = tmpdir();
    let f = creds(&d, &server.base_url(), Mode::PublicKey);
    let (code, s, v) = doctor(&f, &[]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(s["apiv3_decrypt"], "skip");
    assert!(v.to_string().contains("public key mode"), "{v}");
    // Only a certificate configured, but the merchant is in public key mode.
    let cert_only = creds(&d, &server.base_url(), Mode::Certificate);
    let (code, s, v) = doctor(&cert_only, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(s["answer_signature"], "fail", "{v}");
    // Nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, s, _) = doctor(
        &with(&f, "--base-url", &format!("http://127.0.0.1:{port}")),
        &[],
    );
    assert_eq!((code, s["base_url"].as_str()), (Some(1), "fail"));
    // Missing settings.
    let (code, s, _) = doctor(&[], &[]);
    assert_eq!((code, s["settings"].as_str()), (Some(1), "fail"));
}

#[test]
fn inspect_keys_certificates_and_p12() {
    let keys = fixtures().join("keys");
    let p = |n: &str| keys.join(n).display().to_string();
    let o = wxpay(&args(
        &[],
        &[
            "--json",
            "inspect",
            &p("merchant_cert.pem"),
            &p("merchant_key.pem"),
        ],
    ));
    let v = json_out(&o);
    assert!(o.status.success(), "{v}");
    assert_eq!(
        v["file"]["serial"],
        "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B"
    );
    assert_eq!(v["file"]["kind"], "certificate");
    assert_eq!(v["other"]["kind"], "private_key");
    assert_eq!(v["match"], true);
    // A key that does not match: exit 1.
    let o = wxpay(&args(
        &[],
        &[
            "--json",
            "inspect",
            &p("platform_cert.pem"),
            &p("merchant_key.pem"),
        ],
    ));
    assert_eq!(o.status.code(), Some(1));
    // One document: the error object carries the report.
    let first = json_out(&o);
    assert_eq!(first["match"], false);
    assert_eq!(
        (&first["ok"], &first["kind"]),
        (&json!(false), &json!("key_mismatch"))
    );
    // DER, PKCS#1, a public key, and refusals with the reason.
    for (f, kind) in [
        ("merchant_key.der", "private_key"),
        ("merchant_key_pkcs1.pem", "private_key"),
        ("platform_pubkey_mode.pub.pem", "public_key"),
        ("expired_cert.pem", "certificate"),
    ] {
        let v = json_out(&wxpay(&args(&[], &["--json", "inspect", &p(f)])));
        assert_eq!(v["file"]["kind"], kind, "{f}");
    }
    let v = json_out(&wxpay(&args(
        &[],
        &["--json", "inspect", &p("expired_cert.pem")],
    )));
    assert_eq!(v["file"]["valid_now"], false);
    let o = wxpay(&args(&[], &["inspect", &p("bad_encrypted_pkcs8.pem")]));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("encrypted"));
    // PKCS#12 (as WeChat Pay's apiclient_cert.p12: the password is the mchid).
    let o = wxpay(&args(
        &[],
        &[
            "--json",
            "inspect",
            &p("merchant.p12"),
            "--password",
            "1900000001",
        ],
    ));
    let v = json_out(&o);
    assert_eq!(
        v["file"]["certificate"]["serial"], "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
        "{v}"
    );
    assert_eq!(v["file"]["key_matches_certificate"], true);
    let o = wxpay(&args(
        &[],
        &["inspect", &p("merchant.p12"), "--password", "wrong"],
    ));
    assert_eq!(o.status.code(), Some(2));
    let o = wxpay(&args(&[], &["inspect", &p("merchant.p12")]));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--password"));

    // What the core accepts, inspect reads: a byte order mark, indentation, CRLF, text around
    // the section. What it refuses, the loader that recognised it says why.
    let d = tmpdir();
    let cert = std::fs::read_to_string(keys.join("merchant_cert.pem")).unwrap();
    let key = std::fs::read_to_string(keys.join("merchant_key.pem")).unwrap();
    let indented: String = cert.lines().map(|l| format!("    {l}\r\n")).collect();
    for (name, text, kind) in [
        ("bom.pem", format!("\u{feff}{cert}"), "certificate"),
        ("indented.pem", indented, "certificate"),
        (
            "junk.pem",
            format!("issued 2026\n{cert}trailing notes\n"),
            "certificate",
        ),
        ("key_bom.pem", format!("\u{feff}{key}"), "private_key"),
    ] {
        std::fs::write(d.join(name), text).unwrap();
        let o = wxpay(&args(
            &[],
            &["--json", "inspect", d.join(name).to_str().unwrap()],
        ));
        let v = json_out(&o);
        assert_eq!(v["file"]["kind"], kind, "{name}: {v}");
    }
    let o = wxpay(&args(&[], &["inspect", &p("bad_ec_cert.pem")]));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("platform certificate") && !err.contains("found a certificate"),
        "{err}"
    );
}

/// Where a file is expected, only a regular file of a bounded size is read: `/dev/zero`, a FIFO
/// and a directory are refused at once (exit 2), as is a file past the bound of its kind.
#[test]
fn files_are_regular_and_bounded() {
    let d = tmpdir();
    let fifo = d.join("fifo");
    let mut odd = vec!["/dev/zero".to_string(), d.display().to_string()];
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        odd.push(fifo.display().to_string());
    }
    // Past the bound of a body (8 MiB) and of a config (1 MiB); past a key file's (64 KiB).
    let big = d.join("big.json");
    std::fs::write(&big, vec![b' '; (8 << 20) + 1]).unwrap();
    let big_key = d.join("big_key.pem");
    std::fs::write(&big_key, vec![b' '; 64 * 1024 + 1]).unwrap();
    let (big, big_key) = (big.display().to_string(), big_key.display().to_string());
    let f = creds(&d, "http://127.0.0.1:9", Mode::Certificate);
    let header = "Wechatpay-Serial: X".to_string();
    std::fs::write(d.join("body.json"), "{}").unwrap();
    std::fs::write(d.join("apiv2.txt"), TestKeys::load().apiv2_key).unwrap();
    let body = d.join("body.json").display().to_string();
    let apiv2 = d.join("apiv2.txt").display().to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut cases: Vec<(Vec<String>, &str)> = Vec::new();
    for file in odd.iter().chain([&big, &big_key]) {
        let (is_odd, is_big) = (odd.contains(file), file == &big);
        let at = format!("@{file}");
        let mut add = |when: bool, a: Vec<String>, what: &'static str| {
            if when {
                cases.push((a, what));
            }
        };
        add(true, s(&["inspect", file]), "inspect");
        add(
            file != &big_key,
            s(&["--config", file, "api", "list"]),
            "config",
        );
        let signing = ["sign", "--method", "GET", "--target", "/v3/x"];
        add(
            true,
            args(&with(&f, "--private-key", file), &signing),
            "private key",
        );
        add(
            true,
            args(
                &with(&f, "--apiv3-key-file", file),
                &["notify", "--body-file", &body, "-H", &header],
            ),
            "APIv3 key",
        );
        add(
            true,
            s(&[
                "v2",
                "verify",
                "--body-file",
                &body,
                "--apiv2-key-file",
                file,
            ]),
            "APIv2 key",
        );
        add(
            is_odd || is_big,
            args(&f, &["verify", "--body-file", file, "-H", &header]),
            "--body-file",
        );
        add(
            is_odd || is_big,
            args(
                &f,
                &["request", "POST", "/v3/x", "--no-validate", "-d", &at],
            ),
            "-d @file",
        );
        add(
            is_odd || is_big,
            s(&["v2", "sign", "-d", &at, "--apiv2-key-file", &apiv2]),
            "v2 -d @file",
        );
        // An upload is streamed, never held: only what is not a regular file is refused.
        add(is_odd, args(&f, &["upload", "image", file]), "upload");
    }
    for (a, what) in cases {
        let started = std::time::Instant::now();
        let o = wxpay(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.code() == Some(2),
            "{what} {a:?}: {:?} {err}",
            o.status.code()
        );
        assert!(
            err.contains("not a regular file") || err.contains("larger than"),
            "{what} {a:?}: {err}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{what}"
        );
    }
}

fn v2_vectors() -> Value {
    serde_json::from_slice(&std::fs::read(fixtures().join("v2/vectors.json")).unwrap()).unwrap()
}

#[test]
fn v2_sign_verify_decrypt_refund_and_request() {
    let dir = tmpdir();
    let v = v2_vectors();
    let key_file = |key: &str| {
        let p = dir.join(format!("apiv2-{key}.txt"));
        std::fs::write(&p, format!("{key}\n")).unwrap();
        vec!["--apiv2-key-file".to_string(), p.display().to_string()]
    };
    // sign: every independent vector, both algorithms; the key is never printed.
    for case in v["signs"].as_array().unwrap() {
        let key = case["key"].as_str().unwrap();
        let data = case["fields"].to_string();
        for (alg, expected) in [("MD5", &case["md5"]), ("HMAC-SHA256", &case["hmac_sha256"])] {
            let o = wxpay(&args(
                &key_file(key),
                &["--json", "v2", "sign", "--sign-type", alg, "-d", &data],
            ));
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let out = json_out(&o);
            assert_eq!(out["sign"], *expected, "{} {alg}", case["name"]);
            assert_eq!(out["string_to_sign"], case["string_to_sign"]);
            assert_eq!(
                out.as_object().unwrap().len(),
                2,
                "exactly sign and string_to_sign"
            );
            assert!(!String::from_utf8_lossy(&o.stdout).contains(key));
        }
    }
    let k = key_file(v["refund"]["key"].as_str().unwrap());
    let o = wxpay(&args(&k, &["v2", "sign", "-d", "[1,2]"]));
    assert_eq!(o.status.code(), Some(2));
    let o = wxpay(&["v2".into(), "sign".into(), "-d".into(), "{}".into()]);
    assert_eq!(o.status.code(), Some(2), "no APIv2 key");

    // verify: the verdicts of the vectors (exit 0 signed, 1 wrong or missing, 2 not XML).
    for case in v["answers"].as_array().unwrap() {
        let file = dir.join("answer.xml");
        std::fs::write(&file, case["xml"].as_str().unwrap()).unwrap();
        // With the algorithm of the request answered, as the library checks it.
        let o = wxpay(&args(
            &k,
            &[
                "--json",
                "v2",
                "verify",
                "--body-file",
                &file.display().to_string(),
                "--sign-type",
                case["sign_type"].as_str().unwrap(),
            ],
        ));
        let path = case["path"].as_str().unwrap();
        let signed = case["xml"].as_str().unwrap().contains("<sign>");
        let (code, kind) = match case["verdict"].as_str().unwrap() {
            // `verify` checks the sign only: an unsigned-answer path still has none to check.
            "ok" if path == "/mmpaymkttransfers/sendredpack" && !signed => {
                (1, Some("missing_sign"))
            }
            "ok" | "business" => (0, Some("signed")),
            "sign_mismatch" => (1, Some("sign_mismatch")),
            "missing_sign" | "return" => (1, Some("missing_sign")),
            "xml" => (2, None),
            other => panic!("verdict {other}"),
        };
        assert_eq!(
            o.status.code(),
            Some(code),
            "{}: {}",
            case["name"],
            String::from_utf8_lossy(&o.stderr)
        );
        if let Some(kind) = kind {
            let out = json_out(&o);
            assert_eq!(out["kind"], kind, "{}", case["name"]);
            assert_eq!(out["ok"], code == 0);
            assert!(out["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    }

    // decrypt-refund: the vector's plaintext; bad input exits 2 with one line.
    let o = wxpay(&args(
        &k,
        &[
            "--json",
            "v2",
            "decrypt-refund",
            "--req-info",
            v["refund"]["req_info"].as_str().unwrap(),
        ],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json_out(&o), json!({"plaintext": v["refund"]["plaintext"]}));
    for bad in ["not base64!", "AAAA", ""] {
        let o = wxpay(&args(&k, &["v2", "decrypt-refund", "--req-info", bad]));
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert_eq!(String::from_utf8_lossy(&o.stderr).trim().lines().count(), 1);
    }
    let wrong_key = key_file("0123456789abcdef0123456789abcdef");
    let o = wxpay(&args(
        &wrong_key,
        &[
            "v2",
            "decrypt-refund",
            "--req-info",
            v["refund"]["req_info"].as_str().unwrap(),
        ],
    ));
    assert_eq!(o.status.code(), Some(2), "a wrong key does not decrypt");

    // request: against the sandbox, with its APIv2 key.
    let s = Server::start(Gateway::with_test_keys(Mode::Certificate)).unwrap();
    let mut flags = creds(&dir, &s.base_url(), Mode::Certificate);
    flags.extend(key_file(TestKeys::load().apiv2_key));
    let order = r#"{"appid":"wxd678efh567hg6787","body":"test","out_trade_no":"CLI-V2","total_fee":1,"spbill_create_ip":"127.0.0.1","notify_url":"https://example.com/notify","trade_type":"NATIVE"}"#;
    for alg in ["MD5", "HMAC-SHA256"] {
        let o = wxpay(&args(
            &flags,
            &[
                "--json",
                "v2",
                "request",
                "/pay/unifiedorder",
                "--sign-type",
                alg,
                "-d",
                order,
            ],
        ));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = json_out(&o);
        assert_eq!(out["code_url"], "weixin://wxpay/bizpayurl?pr=CLI-V2");
        assert_eq!(out["result_code"], "SUCCESS");
    }
    let o = wxpay(&args(
        &flags,
        &[
            "--json",
            "v2",
            "request",
            "https://api.mch.weixin.qq.com/pay/orderquery",
            "-d",
            r#"{"out_trade_no":"none"}"#,
        ],
    ));
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(json_out(&o)["kind"], "v2_ordernotexist");
    // A client-certificate path without --client-cert: refused before sending (exit 2).
    let before = s.gateway().request_count();
    let o = wxpay(&args(
        &flags,
        &[
            "v2",
            "request",
            "/secapi/pay/refund",
            "-d",
            r#"{"out_trade_no":"CLI-V2"}"#,
        ],
    ));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("client certificate"));
    assert_eq!(s.gateway().request_count(), before);
    // With one, it is sent (the plain listener then answers FAIL: no certificate reached it).
    let with_cert = args(
        &flags,
        &[
            "--client-cert",
            &test_key("merchant_cert.pem"),
            "--client-key",
            &test_key("merchant_key.pem"),
        ],
    );
    let o = wxpay(&args(
        &with_cert,
        &[
            "--json",
            "v2",
            "request",
            "/secapi/pay/refund",
            "-d",
            r#"{"out_trade_no":"CLI-V2"}"#,
        ],
    ));
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(json_out(&o)["kind"], "v2_return_fail");
    // --client-p12 (password: the mchid) and a mismatched pair.
    let o = wxpay(&args(
        &flags,
        &[
            "--client-p12",
            &test_key("merchant.p12"),
            "v2",
            "request",
            "/pay/orderquery",
            "-d",
            r#"{"out_trade_no":"CLI-V2"}"#,
        ],
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = wxpay(&args(
        &flags,
        &[
            "--client-cert",
            &test_key("merchant_cert.pem"),
            "--client-key",
            &test_key("platform_key.pem"),
            "v2",
            "request",
            "/pay/orderquery",
            "-d",
            "{}",
        ],
    ));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not belong"));
}

#[test]
fn a_shell_user_pays_and_refunds_in_the_sandbox() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (url, runs, endpoint) = callback_endpoint(false, stop.clone());
    let (mut child, v) = start_sandbox();
    let cfg = v["config"].as_str().unwrap().to_string();
    assert!(std::path::Path::new(v["merchant_cert"].as_str().unwrap()).is_file());
    let run = |rest: &[&str]| {
        let mut a = vec!["--json", "--config", cfg.as_str()];
        a.extend_from_slice(rest);
        Command::new(BIN).args(&a).env_clear().output().unwrap()
    };
    let wait_runs = |n: u32| {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while runs.load(Ordering::SeqCst) < n && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        runs.load(Ordering::SeqCst)
    };
    let order =
        json!({"appid": "wxd678efh567hg6787", "mchid": "1900000001", "description": "shell",
        "out_trade_no": "SHELL-1", "notify_url": url, "amount": {"total": 100}})
        .to_string();
    let created = run(&[
        "request",
        "POST",
        "/v3/pay/transactions/native",
        "-d",
        &order,
    ]);
    let paid = run(&["sandbox", "pay", "SHELL-1"]);
    let paid_runs = wait_runs(1);
    let queried = run(&[
        "request",
        "GET",
        "/v3/pay/transactions/out-trade-no/SHELL-1",
        "-q",
        "mchid=1900000001",
    ]);
    let refund = json!({"out_trade_no": "SHELL-1", "out_refund_no": "SHELL-R1", "notify_url": url,
        "amount": {"refund": 100, "total": 100, "currency": "CNY"}})
    .to_string();
    let refunded = run(&[
        "request",
        "POST",
        "/v3/refund/domestic/refunds",
        "-d",
        &refund,
    ]);
    let refund_runs = wait_runs(2);
    let twice = run(&["sandbox", "pay", "SHELL-1"]);
    let _ = child.kill();
    let _ = child.wait();
    stop.store(true, Ordering::SeqCst);
    let _ = endpoint.join();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(json_out(&created)["body"]["code_url"].is_string());
    assert!(
        paid.status.success(),
        "{}",
        String::from_utf8_lossy(&paid.stderr)
    );
    assert_eq!(json_out(&paid)["transaction"]["trade_state"], "SUCCESS");
    assert_eq!(paid_runs, 1, "TRANSACTION.SUCCESS reached the endpoint");
    assert_eq!(json_out(&queried)["body"]["trade_state"], "SUCCESS");
    assert!(
        refunded.status.success(),
        "{}",
        String::from_utf8_lossy(&refunded.stderr)
    );
    assert_eq!(refund_runs, 2, "REFUND.SUCCESS reached the endpoint");
    assert_eq!(
        twice.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
}

#[test]
fn typos_are_refused_before_anything_is_signed() {
    // Nothing listens on port 1: a request that went out would fail with exit 4.
    let f = creds(&tmpdir(), "http://127.0.0.1:1", Mode::Certificate);
    let refused = |rest: &[&str], says: &str| {
        let o = wxpay(&args(&f, rest));
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{rest:?}: {err}");
        assert!(err.contains(says), "{rest:?}: {err}");
    };
    refused(
        &[
            "request",
            "GET",
            "v3.pay.transaction.outTradeNo._out_trade_no_",
            "-p",
            "out_trade_no=1",
        ],
        "did you mean GET /v3/pay/transactions/out-trade-no/{out_trade_no}",
    );
    refused(
        &["request", "GET", "/v3/pay/transactions/outTradeNO/1"],
        "did you mean GET /v3/pay/transactions/out-trade-no/{out_trade_no}",
    );
    refused(
        &["request", "POST", "/v3/pay/transactions/out-trade-no/1"],
        "it takes GET",
    );
    refused(
        &[
            "request",
            "GET",
            "/v3/pay/transactions/out-trade-no/{out_trade_no}",
            "-p",
            "outTradeNo=1",
        ],
        "has no {outTradeNo} (it has out_trade_no)",
    );
    refused(
        &[
            "request",
            "POST",
            "v3.pay.transactions.outTradeNo._out_trade_no_.get",
        ],
        "is GET /v3/pay/transactions/out-trade-no/{out_trade_no}, not POST",
    );
    refused(
        &["request", "v3.nothing.here"],
        "a chain ending in its verb",
    );
    // A chain as `api show` prints it is that verb and path; --no-validate sends anything. Both
    // go out (and fail to connect).
    for rest in [
        &[
            "request",
            "v3.pay.transactions.outTradeNo._out_trade_no_.get",
            "-p",
            "out_trade_no=1",
            "-q",
            "mchid=1900000001",
        ][..],
        &["request", "GET", "/v3/foo/bar", "--no-validate"][..],
    ] {
        let o = wxpay(&args(&f, rest));
        assert_eq!(
            o.status.code(),
            Some(4),
            "{rest:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// A day made in `wxpay sandbox` with the CLI alone: orders paid and one refunded, the day
/// closed, its trade bill downloaded and read, and reconciled with the orders: they agree;
/// with one amount changed and one order left out, exactly those two are listed. A truncated
/// bill and one whose summary disagrees exit 1 naming the line.
#[test]
fn a_shell_user_reconciles_a_sandbox_day() {
    let (mut child, v) = start_sandbox();
    let cfg = v["config"].as_str().unwrap().to_string();
    let run = |rest: &[&str]| {
        let mut a = vec!["--config", cfg.as_str()];
        a.extend_from_slice(rest);
        Command::new(BIN).args(&a).env_clear().output().unwrap()
    };
    let ok = |o: &std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let mut day = String::new();
    for (no, total) in [("SHELL-A", 1_000), ("SHELL-B", 2_550), ("SHELL-C", 1)] {
        let order = json!({"appid": "wxd678efh567hg6787", "mchid": "1900000001",
            "description": "shell", "out_trade_no": no, "notify_url": "https://example.com/n",
            "amount": {"total": total}})
        .to_string();
        ok(&run(&[
            "request",
            "POST",
            "/v3/pay/transactions/native",
            "-d",
            &order,
        ]));
        let paid = run(&["--json", "sandbox", "pay", no]);
        ok(&paid);
        day = json_out(&paid)["transaction"]["success_time"]
            .as_str()
            .unwrap()[..10]
            .to_string();
    }
    let refund = json!({"out_trade_no": "SHELL-B", "out_refund_no": "SHELL-RB",
        "amount": {"refund": 2_550, "total": 2_550, "currency": "CNY"}})
    .to_string();
    ok(&run(&[
        "request",
        "POST",
        "/v3/refund/domestic/refunds",
        "-d",
        &refund,
    ]));
    let closed = run(&["--json", "sandbox", "close-day", "--date", &day]);
    // Without --date: today, by the sandbox's clock.
    let closed_today = run(&["--json", "sandbox", "close-day"]);
    let parsed = run(&[
        "--json", "bill", "trade", "--date", &day, "--type", "ALL", "--parse",
    ]);
    let d = tmpdir();
    let bill = d.join("bill.csv");
    let downloaded = run(&[
        "bill",
        "trade",
        "--date",
        &day,
        "--gzip",
        "--output",
        bill.to_str().unwrap(),
    ]);
    let _ = child.kill();
    let _ = child.wait();
    ok(&closed);
    ok(&closed_today);
    let today = json_out(&closed_today)["bill_date"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(today.len(), 10);
    assert!(
        today >= day,
        "{today} is the day the orders were paid, or the next"
    );
    ok(&parsed);
    ok(&downloaded);
    // One JSON line per row, then the summary line.
    let lines: Vec<Value> = String::from_utf8_lossy(&parsed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "three payments, one refund, the summary");
    assert_eq!(lines[0]["out_trade_no"], "SHELL-A");
    assert_eq!(lines[0]["order_amount_fen"], 1_000);
    assert_eq!(lines[3]["trade_state"], "REFUND");
    assert_eq!(lines[3]["refund_apply_amount_fen"], 2_550);
    let last = &lines[4];
    assert_eq!(
        (last["rows"].clone(), last["ok"].clone()),
        (json!(4), json!(true))
    );
    assert_eq!(last["summary"]["count"]["stated"], 4);

    let reconcile_file = |bill: &std::path::Path, orders: &str, json: bool| {
        let path = d.join("orders.csv");
        std::fs::write(&path, orders).unwrap();
        let mut a = vec![
            "bill",
            "reconcile",
            bill.to_str().unwrap(),
            "--orders",
            path.to_str().unwrap(),
        ];
        if json {
            a.insert(0, "--json");
        }
        Command::new(BIN).args(&a).env_clear().output().unwrap()
    };
    let reconcile = |orders: &str, json: bool| reconcile_file(&bill, orders, json);
    let exact = "out_trade_no,amount_fen,state\nSHELL-A,1000,SUCCESS\nSHELL-B,2550,SUCCESS\nSHELL-C,1,SUCCESS\nSHELL-B,2550,REFUND\nSHELL-D,700,CLOSED\n";
    let o = reconcile(exact, false);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("agree: 4 entries matched"));
    let changed = "out_trade_no,amount_fen,state\nSHELL-A,1001,SUCCESS\nSHELL-B,2550,SUCCESS\nSHELL-B,2550,REFUND\nSHELL-D,700,CLOSED\n";
    let o = reconcile(changed, false);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    let listed: Vec<&str> = text.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(listed.len(), 2, "{text}");
    assert!(
        listed[0].contains("SHELL-A") && listed[0].contains("10.01 yuan in the records"),
        "{text}"
    );
    assert!(
        listed[1].contains("SHELL-C") && listed[1].contains("not in the records"),
        "{text}"
    );
    let o = reconcile(changed, true);
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    let nos: Vec<&str> = v["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["out_trade_no"].as_str().unwrap())
        .collect();
    assert_eq!(nos, ["SHELL-A", "SHELL-C"]);
    assert_eq!(v["differences"][0]["difference"], "amount");
    assert_eq!(v["kind"], "bill_differences");

    // A truncated bill and one whose summary disagrees: exit 1, the line named.
    let text = std::fs::read_to_string(&bill).unwrap();
    let cut = d.join("cut.csv");
    std::fs::write(&cut, &text[..text.find("总交易单数").unwrap()]).unwrap();
    let parse = |json: bool, path: &std::path::Path| {
        let mut a = vec!["bill", "parse", path.to_str().unwrap()];
        if json {
            a.insert(0, "--json");
        }
        Command::new(BIN).args(&a).output().unwrap()
    };
    // The last JSON line of a failed parse: rows so far, not ok.
    let last_line = |o: &std::process::Output| -> Value {
        assert_eq!(o.status.code(), Some(1));
        let out = String::from_utf8_lossy(&o.stdout);
        let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        assert_eq!(
            (last["ok"].clone(), last["rows"].clone()),
            (json!(false), json!(4))
        );
        last
    };
    let o = parse(true, &cut);
    assert_eq!(last_line(&o)["kind"], "bill_truncated");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("line 6"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let wrong = d.join("wrong.csv");
    std::fs::write(&wrong, text.replace("\r\n`4,", "\r\n`5,")).unwrap();
    let o = parse(false, &wrong);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("line 7") && err.contains("总交易单数 states 5, the rows add up to 4"),
        "{err}"
    );
    assert_eq!(
        last_line(&parse(true, &wrong))["summary"]["count"]["counted"],
        4
    );
    // The same bill gzipped is read the same.
    let o = parse(false, &bill);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("4 rows (3 payments, 1 refunds)"));
    // Reconciling a bill that cannot be trusted fails before any matching, naming the line;
    // a fund-flow bill is refused.
    let o = reconcile_file(&cut, exact, false);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("line 6") && err.contains("truncated"), "{err}");
    let o = reconcile_file(&wrong, exact, true);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_out(&o)["kind"], "bill_summary");
    let fund = d.join("fund.csv");
    std::fs::write(
        &fund,
        "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号\n`2026-12-06 10:00:00,`4200,`4200,`交易,`交易,`收入,`0.01,`0.01,`system,`,`SHELL-A\n资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\n`1,`1,`0.01,`0,`0.00\n",
    )
    .unwrap();
    let o = reconcile_file(&fund, exact, false);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("reconcile takes a trade bill"), "{err}");
    ok(&parse(false, &fund));
}

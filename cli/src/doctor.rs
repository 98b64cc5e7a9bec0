//! `wxpay doctor`: check a configuration end to end and say what is wrong and how to fix it.

use std::path::PathBuf;

use serde_json::{json, Value};
use wechatpay_core::certificates::{self, Downloaded};
use wechatpay_core::{AeadError, CertificateError};
use wechatpay_core::{Clock, PlatformKey, PlatformKeyKind, PlatformKeys, SystemClock, VerifyError};

use crate::settings::Resolved;
use crate::Failure;

/// `wxpay doctor`.
#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// Your merchant API certificate (apiclient_cert.pem): checks that the private key is its
    /// key and `serial` its serial
    #[arg(long, value_name = "FILE")]
    pub merchant_cert: Option<PathBuf>,
    /// Check the files only; do not contact the base URL
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

struct Check {
    name: &'static str,
    status: Status,
    message: String,
    fix: Option<String>,
}

#[derive(Default)]
struct Report(Vec<Check>);

impl Report {
    fn add(&mut self, name: &'static str, status: Status, message: impl Into<String>) {
        self.0.push(Check {
            name,
            status,
            message: message.into(),
            fix: None,
        });
    }

    fn fail(&mut self, name: &'static str, message: impl Into<String>, fix: impl Into<String>) {
        self.0.push(Check {
            name,
            status: Status::Fail,
            message: message.into(),
            fix: Some(fix.into()),
        });
    }

    fn warn(&mut self, name: &'static str, message: impl Into<String>, fix: impl Into<String>) {
        self.0.push(Check {
            name,
            status: Status::Warn,
            message: message.into(),
            fix: Some(fix.into()),
        });
    }

    fn skip(&mut self, name: &'static str, reason: impl Into<String>) {
        self.add(name, Status::Skip, reason);
    }

    /// The checks that talk to WeChat Pay, skipped for `reason`.
    fn skip_network(&mut self, reason: &str) {
        for name in NETWORK_CHECKS {
            self.skip(name, format!("not run: {reason}"));
        }
    }

    fn failed(&self) -> bool {
        self.0.iter().any(|c| c.status == Status::Fail)
    }
}

/// Clock skew beyond which a warning is given, and beyond which WeChat Pay refuses requests.
const SKEW_WARN: i64 = 60;
const SKEW_FATAL: i64 = 300;

pub fn run(g: &Resolved, json_mode: bool, a: DoctorArgs) -> Result<(), Failure> {
    let mut r = Report::default();
    check(g, &a, &mut r);
    let checks: Vec<Value> = r
        .0
        .iter()
        .map(|c| json!({"name": c.name, "status": c.status.name().to_ascii_lowercase(), "message": c.message, "fix": c.fix}))
        .collect();
    let failure = r
        .failed()
        .then(|| Failure::rejected("doctor", "the configuration has problems (see the checks)"));
    crate::cmds::report(
        json_mode,
        json!({"ok": !r.failed(), "checks": checks}),
        || {
            let mut text = String::from("wxpay doctor\n");
            for c in &r.0 {
                text.push_str(&format!(
                    "  {:<5} {:<22} {}\n",
                    c.status.name(),
                    c.name,
                    c.message
                ));
                if let Some(fix) = &c.fix {
                    text.push_str(&format!("        {:<22} fix: {fix}\n", ""));
                }
            }
            let count = |s| r.0.iter().filter(|c| c.status == s).count();
            text.push_str(&format!(
                "{} ok, {} warnings, {} failed, {} skipped",
                count(Status::Ok),
                count(Status::Warn),
                count(Status::Fail),
                count(Status::Skip)
            ));
            text
        },
        failure,
    )
}

/// The checks [`network`] makes, in order.
const NETWORK_CHECKS: [&str; 5] = [
    "base_url",
    "clock",
    "signed_request",
    "answer_signature",
    "apiv3_decrypt",
];

fn check(g: &Resolved, a: &DoctorArgs, r: &mut Report) {
    let s = &g.settings;
    let missing: Vec<&str> = [
        ("mchid", s.mchid.is_none()),
        ("serial", s.serial.is_none()),
        ("private_key", s.private_key.is_none()),
    ]
    .into_iter()
    .filter_map(|(n, m)| m.then_some(n))
    .collect();
    let serial = s.serial.clone().unwrap_or_default();
    if missing.is_empty() {
        r.add(
            "settings",
            Status::Ok,
            format!(
                "mchid {}, serial {serial}, base URL {}",
                s.mchid.as_deref().unwrap_or(""),
                s.base_url
                    .as_deref()
                    .unwrap_or(wechatpay_core::DEFAULT_BASE_URL)
            ),
        );
    } else {
        r.fail(
            "settings",
            format!("missing: {}", missing.join(", ")),
            "give them in the config file, as WXPAY_<NAME> variables or as flags",
        );
    }

    // The private key, and the merchant certificate when given.
    let key = if s.private_key.is_none() {
        r.skip("private_key", "not run: no private key configured");
        None
    } else {
        match g.private_key() {
            Ok(k) => {
                r.add(
                    "private_key",
                    Status::Ok,
                    format!("RSA-{} private key", k.bits()),
                );
                Some(k)
            }
            Err(e) => {
                r.fail(
                    "private_key",
                    e.message,
                    "use apiclient_key.pem from the merchant portal's API certificate download",
                );
                None
            }
        }
    };
    let own = key.as_ref().map(|k| k.public_key_der()).unwrap_or_default();
    let now = SystemClock.now();
    match &a.merchant_cert {
        _ if key.is_none() => r.skip(
            "merchant_certificate",
            "not run: it is checked against the private key, which did not load",
        ),
        None => r.add(
            "merchant_certificate",
            Status::Skip,
            "not given: --merchant-cert apiclient_cert.pem checks the key and the serial against it",
        ),
        Some(path) => match PlatformKey::from_certificate_file(path) {
            Err(e) => r.fail("merchant_certificate", e.to_string(), "give apiclient_cert.pem (PEM or DER)"),
            Ok(cert) => {
                if cert.public_key_der() != own.as_slice() {
                    r.fail(
                        "merchant_certificate",
                        format!("the private key is not the key of {} (serial {})", path.display(), cert.id()),
                        "use the apiclient_key.pem issued together with this apiclient_cert.pem (or the certificate of this key)",
                    );
                } else if !cert.matches(&serial) {
                    r.fail(
                        "serial",
                        format!("serial {serial} is not the serial of the merchant certificate ({})", cert.id()),
                        format!("set serial = \"{}\"", cert.id()),
                    );
                } else {
                    r.add("merchant_certificate", Status::Ok, format!("the private key and serial {} belong together", cert.id()));
                }
                if let PlatformKeyKind::Certificate { not_before, not_after } = cert.kind() {
                    if now > not_after || now < not_before {
                        r.fail("merchant_certificate", "the merchant certificate is not valid now", "renew the API certificate in the merchant portal");
                    }
                }
            }
        },
    }

    // The platform keys configured, as they are (the merchant's own key among them is
    // diagnosed below, not refused here).
    let keys = match g.settings.platform_keys() {
        Ok(k) => k,
        Err(e) => {
            r.fail(
                "platform_keys",
                e.to_string(),
                "fix the platform certificate / public key files",
            );
            PlatformKeys::new()
        }
    };
    let mut clean = PlatformKeys::new();
    let mut certs = Vec::new();
    let mut public_key = None;
    for k in keys.iter() {
        if !own.is_empty() && k.public_key_der() == own.as_slice() {
            r.fail(
                "platform_keys",
                format!("platform key {} is your merchant certificate's key (apiclient_cert.pem), not WeChat Pay's", k.id()),
                "configure the platform certificate (`wxpay certificates` downloads it) or the WeChat Pay public key instead",
            );
            continue;
        }
        if k.matches(&serial) {
            r.fail(
                "serial",
                format!("serial {serial} is a platform certificate's serial, not your merchant certificate's"),
                "set serial to your merchant API certificate's serial (`wxpay inspect apiclient_cert.pem` prints it)",
            );
        }
        match k.kind() {
            PlatformKeyKind::Certificate {
                not_before,
                not_after,
            } => {
                if now > not_after {
                    r.fail(
                        "platform_keys",
                        format!("platform certificate {} expired", k.id()),
                        "download the current ones with `wxpay certificates`",
                    );
                } else if now < not_before {
                    r.warn(
                        "platform_keys",
                        format!("platform certificate {} is not valid yet", k.id()),
                        "keep the current one configured too until it is",
                    );
                }
                certs.push((not_before, k.id().to_string()));
            }
            _ => public_key = Some(k.id().to_string()),
        }
        clean.insert(k.clone());
    }
    certs.sort();
    let mode = match (certs.last(), &public_key) {
        (Some((_, newest)), Some(id)) => format!(
            "both (migration): {} certificate(s), newest {newest}; public key {id}",
            certs.len()
        ),
        (Some((_, newest)), None) => format!(
            "certificate mode: {} certificate(s), newest {newest}",
            certs.len()
        ),
        (None, Some(id)) => format!("public key mode: {id}"),
        (None, None) => String::new(),
    };
    if mode.is_empty() {
        r.warn("platform_keys", "no platform certificate or public key configured", "configure public_key + public_key_id, or platform_cert (`wxpay certificates` downloads them with the APIv3 key)");
    } else if !r
        .0
        .iter()
        .any(|c| c.name == "platform_keys" && c.status == Status::Fail)
    {
        r.add("platform_keys", Status::Ok, mode);
    }

    // The APIv3 key.
    let apiv3 = match s.apiv3_key() {
        Ok(Some(k)) => {
            r.add("apiv3_key", Status::Ok, "32 bytes");
            Some(k)
        }
        Ok(None) => {
            r.warn("apiv3_key", "no APIv3 key configured", "set apiv3_key_file: callbacks cannot be decrypted and certificates not refreshed without it");
            None
        }
        Err(e) => {
            r.fail("apiv3_key", e.to_string(), "the APIv3 key is the 32 characters set in the merchant portal (API安全 → APIv3密钥)");
            None
        }
    };
    apiv2(s, &serial, now, r);
    if a.offline {
        r.skip_network("--offline");
    } else if !missing.is_empty() {
        r.skip_network(&format!("a call needs {}", missing.join(", ")));
    } else if key.is_none() {
        r.skip_network("calls are signed with the private key, which did not load");
    } else {
        network(g, r, clean, apiv3.as_ref(), now, a.merchant_cert.is_some());
        // What a failure stopped short of.
        for name in NETWORK_CHECKS {
            if !r.0.iter().any(|c| c.name == name) {
                r.skip(name, "not run: a check above failed");
            }
        }
    }
}

/// The APIv2 key and the client certificate (mutual TLS): each one configured must load.
fn apiv2(s: &wechatpay_core::config::Settings, serial: &str, now: i64, r: &mut Report) {
    match s.apiv2_key() {
        Ok(Some(_)) => r.add("apiv2_key", Status::Ok, "32 bytes"),
        Ok(None) => r.add(
            "apiv2_key",
            Status::Skip,
            "not configured (only `wxpay v2` and APIv2 calls need apiv2_key_file)",
        ),
        Err(e) => r.fail(
            "apiv2_key",
            e.to_string(),
            "the APIv2 key is the 32 characters set in the merchant portal (API安全 → API密钥), not the APIv3 key",
        ),
    }
    match s.client_identity() {
        Ok(None) => r.add(
            "client_certificate",
            Status::Skip,
            "not configured (APIv2 refunds, transfers and red packets need client_cert + client_key or client_p12)",
        ),
        Err(e) => r.fail(
            "client_certificate",
            e.to_string(),
            "give apiclient_cert.pem with its apiclient_key.pem, or apiclient_cert.p12 (password: the mchid)",
        ),
        Ok(Some(id)) => {
            let leaf = id
                .certificate_chain_der()
                .first()
                .and_then(|der| PlatformKey::from_certificate_der(der).ok());
            let Some(leaf) = leaf else {
                r.fail("client_certificate", "the client certificate cannot be read", "give apiclient_cert.pem");
                return;
            };
            if let PlatformKeyKind::Certificate { not_before, not_after } = leaf.kind() {
                if now > not_after || now < not_before {
                    r.fail(
                        "client_certificate",
                        format!("the client certificate (serial {}) is not valid now", leaf.id()),
                        "renew the API certificate in the merchant portal",
                    );
                    return;
                }
            }
            if leaf.matches(serial) {
                r.add(
                    "client_certificate",
                    Status::Ok,
                    format!("serial {}, with its private key", leaf.id()),
                );
            } else {
                r.warn(
                    "client_certificate",
                    format!("serial {} is not the configured serial {serial}", leaf.id()),
                    "WeChat Pay expects the merchant API certificate (apiclient_cert.pem) of this mchid",
                );
            }
        }
    }
}

fn network(
    g: &Resolved,
    r: &mut Report,
    keys: PlatformKeys,
    apiv3: Option<&wechatpay_core::ApiV3Key>,
    now: i64,
    merchant_cert_given: bool,
) {
    let s = &g.settings;
    let client = match g.merchant().and_then(|m| {
        let mut b = wechatpay_core::Client::builder(m).platform_keys(keys.clone());
        if let Some(u) = &s.base_url {
            b = b.base_url(u.as_str());
        }
        b.user_agent_suffix("wxpay-doctor")
            .build()
            .map_err(|e| Failure::usage(e.to_string()))
    }) {
        Ok(c) => c,
        Err(e) => {
            r.fail("base_url", e.message, "fix the settings above first");
            return;
        }
    };
    let transport = match s
        .timeout()
        .map_err(|e| Failure::usage(e.to_string()))
        .and_then(|t| {
            wechatpay_ureq::Client::with_config(
                client.clone(),
                wechatpay_ureq::Config::default().timeout(t),
            )
            .map_err(|e| Failure::usage(e.to_string()))
        }) {
        Ok(t) => t,
        Err(e) => {
            r.fail("base_url", e.message, "fix the timeout");
            return;
        }
    };
    let signed = match client.sign(certificates::download()) {
        Ok(sr) => sr,
        Err(e) => {
            r.fail("signed_request", e.to_string(), "fix the merchant settings");
            return;
        }
    };
    let response = match transport.execute(signed.request) {
        Ok(resp) => resp,
        Err(e) => {
            r.fail(
                "base_url",
                format!("no answer: {e}"),
                "check base_url, the network and any proxy (HTTPS_PROXY)",
            );
            return;
        }
    };
    r.add(
        "base_url",
        Status::Ok,
        format!("answers (HTTP {})", response.status().as_u16()),
    );

    // The clock, against the server's Date.
    let date = response
        .headers()
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    match date {
        None => r.add("clock", Status::Skip, "the answer has no Date header"),
        Some(server) => {
            let skew = now - server;
            let msg = format!(
                "local clock {} s {} the server's",
                skew.abs(),
                if skew >= 0 { "ahead of" } else { "behind" }
            );
            if skew.abs() > SKEW_FATAL {
                r.fail("clock", msg, "synchronise the clock (NTP): WeChat Pay refuses requests more than 5 minutes off, and answers fail verification");
            } else if skew.abs() > SKEW_WARN {
                r.warn(
                    "clock",
                    msg,
                    "synchronise the clock (NTP) before it drifts past 5 minutes",
                );
            } else {
                r.add("clock", Status::Ok, msg);
            }
        }
    }

    let api = wechatpay_core::ApiError::from_response(
        response.status(),
        response.headers(),
        response.body(),
    );
    if api.code.as_deref() == Some("SIGN_ERROR")
        || response.status() == http::StatusCode::UNAUTHORIZED
    {
        r.fail(
            "signed_request",
            format!(
                "WeChat Pay refused the request signature ({})",
                api.message.as_deref().unwrap_or("401")
            ),
            {
                let fix = api
                    .hint()
                    .unwrap_or("check serial, private key, mchid and the clock");
                if merchant_cert_given {
                    fix.to_string()
                } else {
                    format!("{fix}; run doctor with --merchant-cert apiclient_cert.pem to check that the private key and the serial belong together")
                }
            },
        );
        r.skip(
            "answer_signature",
            "not run: WeChat Pay refused the request",
        );
        r.skip("apiv3_decrypt", "not run: WeChat Pay refused the request");
        return;
    }
    r.add(
        "signed_request",
        Status::Ok,
        "WeChat Pay accepted the request signature",
    );

    // The answer's own signature, against the configured keys.
    let headers = wechatpay_core::verify::SignatureHeaders::from_headers(response.headers());
    if let Ok(h) = &headers {
        match wechatpay_core::verify::verify_parts(&keys, h, response.body(), now, 300) {
            Ok(by) => r.add("answer_signature", Status::Ok, format!("answers verify with {by}")),
            Err(VerifyError::UnknownSerial { serial, .. }) => r.fail(
                "answer_signature",
                format!("answers are signed by {serial}, which is not configured"),
                if serial.starts_with("PUB_KEY_ID_") {
                    "configure the WeChat Pay public key (pub_key.pem) with this id".to_string()
                } else {
                    "download the current platform certificates: `wxpay certificates --output-dir DIR`".to_string()
                },
            ),
            Err(e) => r.fail("answer_signature", e.to_string(), "check the platform keys and the clock"),
        }
    }

    // The APIv3 key, against the certificate download.
    let Some(apiv3) = apiv3 else {
        r.add("apiv3_decrypt", Status::Skip, "no APIv3 key configured");
        return;
    };
    match certificates::apply(&keys, apiv3, &response, now, 300) {
        Ok(Downloaded::NoCertificates) => {
            r.add("apiv3_decrypt", Status::Skip, "public key mode: no certificate download to check the APIv3 key against (the first callback will)");
            if !keys.iter().any(|k| k.kind() == PlatformKeyKind::PublicKey) {
                r.fail("platform_keys", "this merchant is in WeChat Pay public key mode and no public key is configured", "configure public_key (pub_key.pem) and public_key_id (PUB_KEY_ID_…) from the merchant portal");
            }
        }
        Ok(Downloaded::Certificates { pems, .. }) => {
            let newest = pems.last().map(|(s, _)| s.clone()).unwrap_or_default();
            r.add("apiv3_decrypt", Status::Ok, format!("the APIv3 key decrypts the certificate download ({} certificate(s), newest {newest})", pems.len()));
            for k in keys.iter() {
                if matches!(k.kind(), PlatformKeyKind::Certificate { .. }) && !pems.iter().any(|(s, _)| k.matches(s)) {
                    r.warn("platform_keys", format!("configured certificate {} is no longer served", k.id()), "replace it with the downloaded ones (`wxpay certificates`)");
                }
            }
        }
        Err(CertificateError::Decrypt { source: AeadError::AuthFailed, .. }) => r.fail(
            "apiv3_decrypt",
            "the APIv3 key does not decrypt the certificate download: it is not this merchant's APIv3 key",
            "copy the APIv3 key again from the merchant portal (API安全 → APIv3密钥), 32 characters",
        ),
        Err(e) => r.fail("apiv3_decrypt", e.to_string(), "see the message"),
        Ok(_) => r.add("apiv3_decrypt", Status::Skip, "an answer of an unknown kind"),
    }
}

//! `wxpay v2`: APIv2 (XML) — sign fields, check an answer's sign, decrypt a refund
//! notification's `req_info`, and call any APIv2 path.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use serde_json::{json, Map, Value};
use wechatpay_core::v2::{self, Fields, SignType, V2Call};
use wechatpay_core::V2Error;

use crate::settings::Resolved;
use crate::Failure;

/// The APIv2 commands.
#[derive(Subcommand, Debug)]
pub enum V2Cmd {
    /// Sign fields with the APIv2 key: prints the sign and the string signed (the part before `&key=`, which is never printed)
    Sign {
        /// The algorithm
        #[arg(long = "sign-type", value_enum, default_value = "MD5")]
        sign_type: Algorithm,
        /// The fields: a JSON object (strings, numbers, booleans), or @file. Signed as given:
        /// `sign` is left out, `sign_type` is signed when present
        #[arg(short = 'd', value_name = "JSON|@FILE")]
        data: String,
    },
    /// Check an answer's (or a notification's) sign with the APIv2 key: exit 0 when it checks, 1 when it does not or is missing
    Verify {
        /// The XML body, as received
        #[arg(long = "body-file", value_name = "FILE")]
        body_file: PathBuf,
        /// The algorithm the request (or your orders) were signed with, which the sign must be
        /// made with; by default the one the document names in `sign_type` (MD5 when it names
        /// none)
        #[arg(long = "sign-type", value_enum)]
        sign_type: Option<Algorithm>,
    },
    /// Decrypt a refund notification's req_info (AES-256-ECB under the MD5 of the APIv2 key)
    DecryptRefund {
        /// The req_info value (base64)
        #[arg(long = "req-info", value_name = "BASE64")]
        req_info: String,
    },
    /// Call an APIv2 path: add mch_id and nonce_str, sign, send the XML (over mutual TLS with
    /// --client-cert/--client-key or --client-p12 where the path needs it), check the answer,
    /// print its fields as JSON
    Request {
        /// The path, e.g. /pay/orderquery, or a whole URL (its path; calls go to the configured
        /// base URL)
        path: String,
        /// The fields: a JSON object, or @file
        #[arg(short = 'd', value_name = "JSON|@FILE", default_value = "{}")]
        data: String,
        /// The algorithm
        #[arg(long = "sign-type", value_enum, default_value = "MD5")]
        sign_type: Algorithm,
    },
}

/// An APIv2 signature algorithm.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum Algorithm {
    /// MD5
    #[value(name = "MD5")]
    Md5,
    /// HMAC-SHA256
    #[value(name = "HMAC-SHA256")]
    HmacSha256,
}

impl From<Algorithm> for SignType {
    fn from(a: Algorithm) -> Self {
        match a {
            Algorithm::Md5 => SignType::Md5,
            Algorithm::HmacSha256 => SignType::HmacSha256,
        }
    }
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    crate::cmds::read_limited(path, v2::MAX_XML as u64)
}

/// `-d`: a JSON object (or @file) as APIv2 fields.
fn fields_arg(data: &str) -> Result<Fields, Failure> {
    let bytes = match data.strip_prefix('@') {
        Some(file) => read(&PathBuf::from(file))?,
        None => data.as_bytes().to_vec(),
    };
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Failure::usage(format!("-d is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(Failure::usage("-d must be a JSON object of fields"));
    }
    v2::fields_of(&value).map_err(|e| Failure::usage(format!("-d: {e}")))
}

fn fields_json(fields: &Fields) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<Map<_, _>>(),
    )
}

fn print(json_mode: bool, v: &Value, text: impl FnOnce() -> String) {
    if json_mode {
        outln!("{}", crate::display::json(&v.to_string()));
    } else {
        outln!("{}", crate::display::text(&text()));
    }
}

/// What a refused APIv2 answer means for the exit code: a bad or missing sign is a rejected
/// verification (1); a FAIL is an API error (3); anything else unreadable is bad input (2).
pub fn failure(e: &V2Error) -> Failure {
    match e {
        V2Error::MissingSign { .. } => Failure::rejected("missing_sign", e.to_string()),
        V2Error::SignMismatch { .. } => Failure::rejected("sign_mismatch", e.to_string()),
        V2Error::Return { return_code, .. } => Failure {
            details: None,
            code: 3,
            kind: format!("v2_return_{}", return_code.to_lowercase()),
            message: e.to_string(),
        },
        V2Error::Business { err_code, .. } => Failure {
            details: None,
            code: 3,
            kind: format!(
                "v2_{}",
                err_code.as_deref().unwrap_or("fail").to_lowercase()
            ),
            message: e.to_string(),
        },
        V2Error::Http { .. } => Failure {
            details: None,
            code: 3,
            kind: "v2_http".into(),
            message: e.to_string(),
        },
        _ => Failure {
            details: None,
            code: 3,
            kind: "v2_decode".into(),
            message: e.to_string(),
        },
    }
}

/// Run a `wxpay v2` command.
pub fn run(g: &Resolved, json_mode: bool, cmd: V2Cmd) -> Result<(), Failure> {
    match cmd {
        V2Cmd::Sign { sign_type, data } => {
            let key = g.apiv2_key()?;
            let mut fields = fields_arg(&data)?;
            fields.remove("sign");
            let sign = v2::sign(&fields, &key, sign_type.into());
            let string_to_sign = v2::string_to_sign(&fields);
            print(
                json_mode,
                &json!({"sign": sign, "string_to_sign": string_to_sign}),
                || format!("sign: {sign}\nstring_to_sign: {string_to_sign}"),
            );
            Ok(())
        }
        V2Cmd::Verify {
            body_file,
            sign_type,
        } => {
            let key = g.apiv2_key()?;
            let body = read(&body_file)?;
            let fields = v2::from_xml(&body).map_err(|e| Failure::usage(e.to_string()))?;
            let algorithm = match sign_type {
                Some(a) => a.into(),
                None => v2::SignType::declared(&fields).ok_or_else(|| {
                    Failure::usage(format!(
                        "unknown sign_type {:?}: give --sign-type",
                        fields.get("sign_type").map(String::as_str).unwrap_or("")
                    ))
                })?,
            };
            match v2::check_sign(&fields, &key, algorithm) {
                Ok(()) => {
                    let message = format!("the sign checks ({})", algorithm.as_str());
                    print(
                        json_mode,
                        &json!({"ok": true, "kind": "signed", "message": message}),
                        || message.clone(),
                    );
                    Ok(())
                }
                Err(e) => {
                    let mut f = failure(&e);
                    if matches!(e, V2Error::MissingSign { .. })
                        && fields.get("return_code").is_some_and(|c| c != "SUCCESS")
                    {
                        f.message.push_str(&format!(
                            " (a return_code {} answer carries none: {})",
                            fields["return_code"],
                            fields.get("return_msg").map(String::as_str).unwrap_or("")
                        ));
                    } else if matches!(e, V2Error::SignMismatch { .. }) {
                        f.message.push_str(
                            ": a wrong APIv2 key (not the APIv3 key), or the body was altered",
                        );
                    }
                    Err(f)
                }
            }
        }
        V2Cmd::DecryptRefund { req_info } => {
            let key = g.apiv2_key()?;
            let plaintext = v2::decrypt_req_info(&key, req_info.trim())
                .map_err(|e| Failure::usage(e.to_string()))?;
            print(json_mode, &json!({"plaintext": plaintext}), || {
                plaintext.clone()
            });
            Ok(())
        }
        V2Cmd::Request {
            path,
            data,
            sign_type,
        } => {
            let fields = fields_arg(&data)?;
            let client = g.client()?;
            let path = crate::chain::without_origin(&path).to_string();
            let call = V2Call::new(path).fields(fields).sign_type(sign_type.into());
            let answer = client.send_v2(call)?;
            let v = fields_json(&answer);
            print(json_mode, &v, || {
                serde_json::to_string_pretty(&v).unwrap_or_default()
            });
            Ok(())
        }
    }
}

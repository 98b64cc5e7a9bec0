//! `api/tests/typed/official.rs`: one test per official endpoint (and per SDK), whose JSON comes from
//! the official models alone (`api/spec/official/`), never from the generator's merged model.
//! The generator only says which Rust type each endpoint has.
//!
//! For each endpoint: a minimal answer (only the official required fields) and a full one (every
//! official field, with its official JSON type) decode, the full one round-trips with nothing
//! dropped and every member known; a request with every official field serialises exactly the
//! official key set, one with only the required fields exactly the required key set, and an empty
//! one nothing optional.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::build::{Answer, Body, Family};
use crate::emit::{answer_path, feature_of, HEADER};
use crate::json::J;
use crate::official::anon;

#[derive(Clone, Copy, PartialEq)]
enum Fill {
    Full,
    Minimal,
}

fn models(j: &J) -> &[(String, J)] {
    j.get("models").and_then(J::obj).unwrap_or(&[])
}

fn model<'j>(sdk: &'j J, name: &str) -> Option<&'j J> {
    models(sdk).iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A JSON value for the official field `f` of `sdk`.
fn value(sdk: &J, f: &J, kind: &str, fill: Fill, depth: usize) -> serde_json::Value {
    let name = f.s("name");
    let m = f.get("model").and_then(J::str);
    match kind {
        "string" => serde_json::json!(format!("{name}-value")),
        "int" => serde_json::json!(7),
        "bool" => serde_json::json!(true),
        "number" => serde_json::json!(1.5),
        "datetime" => serde_json::json!("2027-01-15T13:00:00+08:00"),
        "enum" => {
            let first = m
                .and_then(|m| model(sdk, m))
                .and_then(|d| d.get("values"))
                .and_then(J::arr)
                .and_then(|v| v.first())
                .map(|v| v.s("value").to_string())
                .unwrap_or_else(|| format!("{name}-value"));
            serde_json::json!(first)
        }
        "object" => match m.and_then(|m| model(sdk, m)) {
            Some(d) if depth < 12 => object(
                sdk,
                d.get("fields").and_then(J::arr).unwrap_or(&[]),
                fill,
                depth + 1,
            ),
            _ => serde_json::json!({}),
        },
        "array" => {
            let item = value(sdk, f, f.s("items"), fill, depth);
            serde_json::json!([item])
        }
        _ => serde_json::json!({}),
    }
}

fn object(sdk: &J, fields: &[J], fill: Fill, depth: usize) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for f in fields {
        if fill == Fill::Minimal && !f.is_true("required") {
            continue;
        }
        out.insert(
            f.s("name").to_string(),
            value(sdk, f, f.s("type"), fill, depth),
        );
    }
    serde_json::Value::Object(out)
}

fn raw(v: &serde_json::Value) -> String {
    let s = v.to_string();
    format!("r##\"{s}\"##")
}

struct Target {
    feature: String,
    method: String,
    template: String,
    query: Option<String>,
    body: Option<String>,
    answer: Option<String>,
    multipart: bool,
}

fn targets(families: &[Family]) -> BTreeMap<(String, String), Target> {
    let mut out = BTreeMap::new();
    for f in families {
        for m in &f.modules {
            for ep in &m.endpoints {
                let answer = match ep.answer {
                    Answer::Unit | Answer::Bytes => None,
                    _ => answer_path(ep, &f.arena),
                };
                out.insert(
                    (ep.method.clone(), anon(&ep.path)),
                    Target {
                        feature: feature_of(&f.name),
                        method: ep.method.clone(),
                        template: ep.path.clone(),
                        query: ep.query.map(|q| f.arena.struct_path(q)),
                        body: match ep.body {
                            Body::Json(id) => Some(f.arena.struct_path(id)),
                            _ => None,
                        },
                        answer,
                        multipart: matches!(ep.body, Body::Multipart),
                    },
                );
            }
        }
    }
    out
}

fn test_ident(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

pub fn tests_file(go: &J, java: &J, families: &[Family]) -> Result<String, String> {
    let targets = targets(families);
    let mut out = String::from(HEADER);
    out.push_str("//! One test per official endpoint and SDK. The JSON is made from the official models\n//! (`api/spec/official/`) alone: field names, JSON types, required flags.\n\n#![allow(non_snake_case)]\n\n#[allow(unused_imports)]\nuse crate::support::official::*;\n\n");
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (sdk_name, sdk) in [("go", go), ("java", java)] {
        for e in sdk.get("endpoints").and_then(J::arr).unwrap_or(&[]) {
            if e.s("path").is_empty() {
                continue;
            }
            let key = (e.s("http").to_string(), anon(e.s("path")));
            let t = targets.get(&key).ok_or_else(|| {
                format!(
                    "official endpoint {} {} ({sdk_name}) has no Rust endpoint",
                    key.0,
                    e.s("path")
                )
            })?;
            let name = test_ident(&format!(
                "{sdk_name}__{}__{}__{}",
                e.s("package"),
                e.s("service"),
                e.s("method")
            ));
            // Java marks 2 fields required (`必填`) and the rest as unknown: a minimal Java
            // request says nothing, and is not made (Go's, where Go has the endpoint, is).
            let java_minimal = sdk_name != "java";
            let min = |v: serde_json::Value| -> String {
                if java_minimal {
                    format!("Some({})", raw(&v))
                } else {
                    "None".to_string()
                }
            };
            let mut body = String::new();
            let fields = |loc: &str| -> Option<Vec<J>> {
                match loc {
                    "query" => {
                        let q = e.get("query").and_then(J::arr).unwrap_or(&[]);
                        (!q.is_empty()).then(|| q.to_vec())
                    }
                    "request" => e
                        .get("body")
                        .filter(|b| b.get("model").is_some_and(|m| !matches!(m, J::Null)))
                        .and_then(|b| b.get("fields"))
                        .and_then(J::arr)
                        .map(<[J]>::to_vec),
                    _ => e
                        .get("answer")
                        .filter(|a| !matches!(a, J::Null))
                        .and_then(|a| a.get("fields"))
                        .and_then(J::arr)
                        .map(<[J]>::to_vec),
                }
            };
            // (location, the Rust type, the helper, whether a minimal value is checked)
            let parts = [
                ("query", t.query.as_ref(), "query", true),
                ("request", t.body.as_ref(), "request", true),
                ("response", t.answer.as_ref(), "answer", false),
            ];
            for (loc, ty, helper, request_side) in parts {
                let Some(f) = fields(loc) else { continue };
                if loc == "request" && t.multipart {
                    continue;
                }
                let ty = ty.ok_or_else(|| {
                    format!("{name}: the official model has a {loc}, the Rust endpoint none")
                })?;
                let full = object(sdk, &f, Fill::Full, 0);
                let minimal = object(sdk, &f, Fill::Minimal, 0);
                let minimal = if request_side {
                    min(minimal)
                } else {
                    raw(&minimal)
                };
                let _ = writeln!(
                    body,
                    "    {helper}::<{ty}>(\"{}\", \"{}\", {}, {minimal});",
                    t.method,
                    t.template,
                    raw(&full),
                );
            }
            if body.is_empty() || !seen.insert(body.clone()) {
                continue;
            }
            let _ = writeln!(
                out,
                "#[cfg(feature = \"{}\")]\n#[test]\nfn {name}() {{\n{body}}}\n",
                t.feature
            );
        }
    }
    // The notifications the official SDKs read: into the types of the same models.
    for (event, sdk, model_name, ty) in [
        (
            "TRANSACTION.SUCCESS",
            go,
            "payments.Transaction",
            "wechatpay_api::pay::transactions::Transaction",
        ),
        (
            "REFUND.SUCCESS",
            java,
            "refund.RefundNotification",
            "wechatpay_api::refund::domestic::Refund",
        ),
    ] {
        let d = model(sdk, model_name).ok_or_else(|| format!("no model {model_name}"))?;
        let fields = d.get("fields").and_then(J::arr).unwrap_or(&[]);
        let full = object(sdk, fields, Fill::Full, 0);
        let feature = if event.starts_with("REFUND") {
            "refund"
        } else {
            "pay"
        };
        let _ = writeln!(
            out,
            "#[cfg(feature = \"{feature}\")]\n#[test]\nfn notification__{}() {{\n    notification::<{ty}>(\"{event}\", {});\n}}\n",
            test_ident(model_name),
            raw(&full)
        );
    }
    Ok(out)
}

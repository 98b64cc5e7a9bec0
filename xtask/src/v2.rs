//! APIv2 (`api/spec/v2/endpoints.json`): the path lists of `wechatpay-core` (`core/src/v2/paths.rs`),
//! the typed endpoints of `wechatpay-api` (`api/src/v2.rs`, feature `v2`) and their tests
//! (`api/tests/typed/v2.rs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::json::J;
use crate::names::field_ident;

/// Fields the client sets itself: never members of a request struct.
const CLIENT_SET: &[&str] = &["nonce_str", "sign", "sign_type"];

/// One endpoint.
pub struct Endpoint {
    path: String,
    title: String,
    doc: String,
    client_certificate: bool,
    signless: bool,
    stream: bool,
    base_url: Option<String>,
    /// `sign_type` accepts only HMAC-SHA256.
    hmac_only: bool,
    request: Vec<Field>,
    response: Vec<Field>,
}

struct Field {
    wire: String,
    optional: bool,
    ty: Ty,
    /// The allowed values, when the spec lists them.
    values: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Ty {
    Str,
    Num,
    StrOrNum,
    Bool,
    /// A nested list or object: its text as received.
    Raw,
}

fn ty_of(v: &J) -> (Ty, Vec<String>) {
    if let Some(s) = v.str() {
        return (
            match s {
                "number" => Ty::Num,
                "boolean" => Ty::Bool,
                "string" => Ty::Str,
                _ => Ty::Raw,
            },
            Vec::new(),
        );
    }
    if let Some(t) = v.get("type") {
        return ty_of(t);
    }
    if let Some(e) = v.get("enum").and_then(J::arr) {
        return (
            Ty::Str,
            e.iter().filter_map(J::str).map(str::to_string).collect(),
        );
    }
    if let Some(u) = v.get("union").and_then(J::arr) {
        let tys: Vec<Ty> = u.iter().map(|x| ty_of(x).0).collect();
        if tys.contains(&Ty::Num) && tys.contains(&Ty::Str) {
            return (Ty::StrOrNum, Vec::new());
        }
        if tys.iter().all(|t| *t == Ty::Str) {
            return (Ty::Str, Vec::new());
        }
    }
    (Ty::Raw, Vec::new())
}

/// Amounts in fen (`total_fee`, `refund_fee`, `amount`, …): integers on the wire whatever the
/// source's type says (it often says `string`).
fn is_money(wire: &str) -> bool {
    wire.ends_with("_fee")
        || matches!(
            wire,
            "amount" | "total_amount" | "refund_amount" | "return_amount" | "deposit_amount"
        )
}

fn fields(v: Option<&J>) -> Vec<Field> {
    v.and_then(J::obj)
        .unwrap_or(&[])
        .iter()
        .map(|(wire, v)| {
            let (mut ty, values) = ty_of(v);
            if is_money(wire) && values.is_empty() && matches!(ty, Ty::Str | Ty::StrOrNum) {
                ty = Ty::Num;
            }
            Field {
                wire: wire.clone(),
                optional: v.is_true("optional"),
                ty,
                values,
            }
        })
        .collect()
}

/// The spec: its endpoints, and the two path lists of `meta`.
pub struct Spec {
    pub endpoints: Vec<Endpoint>,
    pub nonceless: Vec<String>,
    pub signless: Vec<String>,
}

/// Read `v2/endpoints.json`.
pub fn parse(spec: &J) -> Result<Spec, String> {
    let list = |k: &str| -> Result<Vec<String>, String> {
        Ok(spec
            .get("meta")
            .and_then(|m| m.get(k))
            .and_then(J::arr)
            .ok_or(format!("v2/endpoints.json: no meta.{k}"))?
            .iter()
            .filter_map(J::str)
            .map(str::to_string)
            .collect())
    };
    let mut eps = Vec::new();
    for e in spec
        .get("endpoints")
        .and_then(J::arr)
        .ok_or("v2/endpoints.json: no endpoints")?
    {
        let path = e.s("path").to_string();
        if e.s("method") != "POST" || !path.starts_with('/') {
            return Err(format!("v2 endpoint {path}: only POST paths are expected"));
        }
        let request = fields(e.get("request"));
        let hmac_only = e
            .get("request")
            .and_then(|r| r.get("sign_type"))
            .map(|s| ty_of(s).1 == ["HMAC-SHA256"])
            .unwrap_or(false);
        eps.push(Endpoint {
            title: e.s("title").to_string(),
            doc: e.s("doc").to_string(),
            client_certificate: e.is_true("client_certificate"),
            signless: e.is_true("signless_answer"),
            stream: e.s("response_kind") == "stream",
            base_url: e.get("base_url").and_then(J::str).map(str::to_string),
            hmac_only,
            request,
            response: fields(e.get("response")),
            path,
        });
    }
    eps.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Spec {
        endpoints: eps,
        nonceless: list("nonceless_paths")?,
        signless: list("signless_answer_paths")?,
    })
}

fn str_list(out: &mut String, doc: &str, name: &str, items: &[String]) {
    let _ = writeln!(out, "/// {doc}\npub const {name}: &[&str] = &[");
    for p in items {
        let _ = writeln!(out, "    {p:?},");
    }
    out.push_str("];\n\n");
}

/// `core/src/v2/paths.rs`.
pub fn paths_file(eps: &[Endpoint], nonceless: &[String], signless: &[String]) -> String {
    let mut out = String::from(
        "//! @generated by `cargo xtask codegen` from `api/spec/v2/endpoints.json`: do not edit.\n\n",
    );
    let certs: Vec<String> = eps
        .iter()
        .filter(|e| e.client_certificate)
        .map(|e| e.path.clone())
        .collect();
    str_list(
        &mut out,
        "The paths that need the merchant's API client certificate (mutual TLS).",
        "CLIENT_CERTIFICATE_PATHS",
        &certs,
    );
    str_list(
        &mut out,
        "The paths whose requests carry no `nonce_str`.",
        "NONCELESS_PATHS",
        nonceless,
    );
    str_list(
        &mut out,
        "The paths that answer without a `sign`.",
        "SIGNLESS_ANSWER_PATHS",
        signless,
    );
    out.push_str("/// The endpoints served from another host than the API's: `(path, base URL)`.\npub const OTHER_HOSTS: &[(&str, &str)] = &[\n");
    for e in eps {
        if let Some(b) = &e.base_url {
            let _ = writeln!(out, "    ({:?}, {b:?}),", e.path);
        }
    }
    out.push_str("];\n");
    out
}

fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/')
        .split('/')
        .map(crate::names::item_ident)
        .collect()
}

fn doc(out: &mut String, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            out.push_str("///\n");
        } else {
            let _ = writeln!(out, "/// {line}");
        }
    }
}

fn values_doc(f: &Field) -> String {
    if f.values.is_empty() {
        String::new()
    } else {
        format!(
            " One of: {}.",
            f.values
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn request_member(out: &mut String, f: &Field) {
    // `mch_id` is filled (and checked) by the client when left out.
    let optional = f.optional || f.wire == "mch_id";
    let ty = match f.ty {
        Ty::Str | Ty::Raw => "String",
        Ty::Num => "u64",
        Ty::StrOrNum => "crate::StringOrNumber",
        Ty::Bool => "bool",
    };
    let what = if f.wire == "mch_id" {
        " Left out, the client's merchant id is used."
    } else {
        ""
    };
    let raw = if f.ty == Ty::Raw {
        " A JSON or XML text."
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "/// `{}`{}.{what}{raw}{}",
        f.wire,
        if optional { " (optional)" } else { "" },
        values_doc(f)
    );
    let ident = field_ident(&f.wire);
    if ident.trim_start_matches("r#") != f.wire {
        let _ = writeln!(out, "#[serde(rename = {:?})]", f.wire);
    }
    if optional {
        out.push_str("#[serde(skip_serializing_if = \"Option::is_none\")]\n");
        let _ = writeln!(out, "pub {ident}: Option<{ty}>,");
    } else {
        let _ = writeln!(out, "pub {ident}: {ty},");
    }
}

fn answer_member(out: &mut String, f: &Field) {
    let ty = match f.ty {
        Ty::Num => "u64",
        Ty::StrOrNum => "crate::StringOrNumber",
        _ => "String",
    };
    let raw = if f.ty == Ty::Raw {
        " Its text as received."
    } else {
        ""
    };
    let _ = writeln!(out, "/// `{}`.{raw}{}", f.wire, values_doc(f));
    let ident = field_ident(&f.wire);
    if ident.trim_start_matches("r#") != f.wire {
        let _ = writeln!(out, "#[serde(rename = {:?})]", f.wire);
    }
    if f.ty == Ty::Num {
        out.push_str("#[serde(deserialize_with = \"crate::support::text_u64\")]\n");
    }
    let _ = writeln!(out, "pub {ident}: Option<{ty}>,");
}

fn endpoint_module(out: &mut String, e: &Endpoint) {
    let mut d = format!("`POST {}`: {}.", e.path, e.title);
    if !e.doc.is_empty() {
        let _ = write!(d, "\n\n<{}>", e.doc);
    }
    if e.client_certificate {
        d.push_str("\n\nNeeds the merchant's API client certificate (mutual TLS).");
    }
    if let Some(b) = &e.base_url {
        let _ = write!(d, "\n\nServed from `{b}`.");
    }
    doc(out, &d);
    let name = segments(&e.path).pop().unwrap_or_default();
    let _ = writeln!(out, "pub mod {name} {{");
    out.push_str(
        "use wechatpay_core::v2::{fields_of, V2Call};\nuse wechatpay_core::BuildError;\n\n",
    );
    let _ = writeln!(out, "/// The path.\npub const PATH: &str = {:?};\n", e.path);
    out.push_str("/// The request's fields (`nonce_str`, `sign_type` and `sign` are set when signing).\n#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]\npub struct Request {\n");
    for f in &e.request {
        if !CLIENT_SET.contains(&f.wire.as_str()) {
            request_member(out, f);
        }
    }
    out.push_str("}\n\n");
    let answer = if e.stream {
        out.push_str("/// The answer is a bill (text or gzip), read with `SignedV2::bill`; an XML answer is an error.\npub type Answer = wechatpay_core::v2::Fields;\n\n");
        "Answer"
    } else {
        out.push_str("/// The answer's fields: all optional, since a failed call carries few of them; the\n/// fields the spec does not list are kept in `other`.\n#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]\n#[serde(default)]\n#[non_exhaustive]\npub struct Answer {\n");
        for f in &e.response {
            answer_member(out, f);
        }
        out.push_str("/// The fields the spec does not list.\n#[serde(flatten)]\npub other: wechatpay_core::v2::Fields,\n}\n\n");
        "Answer"
    };
    let _ = writeln!(
        out,
        "/// The call, ready for `Client::sign_v2`{}.",
        if e.hmac_only {
            " (signed with HMAC-SHA256, the only algorithm this endpoint takes)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "pub fn call(request: &Request) -> Result<V2Call<{answer}>, BuildError> {{"
    );
    if e.hmac_only {
        out.push_str("Ok(V2Call::typed(PATH, fields_of(request)?).sign_type(wechatpay_core::v2::SignType::HmacSha256))\n}\n");
    } else {
        out.push_str("Ok(V2Call::typed(PATH, fields_of(request)?))\n}\n");
    }
    out.push_str("}\n\n");
}

/// A tree of modules by path segment.
#[derive(Default)]
struct Tree<'a> {
    leaves: Vec<&'a Endpoint>,
    children: BTreeMap<String, Tree<'a>>,
}

fn emit_tree(out: &mut String, t: &Tree<'_>) {
    for e in &t.leaves {
        endpoint_module(out, e);
    }
    for (name, child) in &t.children {
        let _ = writeln!(out, "/// The `{name}` paths.\npub mod {name} {{");
        emit_tree(out, child);
        out.push_str("}\n\n");
    }
}

/// `api/src/v2.rs`.
pub fn api_file(eps: &[Endpoint]) -> String {
    let mut tree = Tree::default();
    for e in eps {
        let segs = segments(&e.path);
        let mut t = &mut tree;
        for s in &segs[..segs.len().saturating_sub(1)] {
            t = t.children.entry(s.clone()).or_default();
        }
        t.leaves.push(e);
    }
    let mut out = String::from(
        "//! @generated by `cargo xtask codegen` from `api/spec/v2/endpoints.json`: do not edit.\n//!\n//! The 55 APIv2 (XML) endpoints, one module per path (`/pay/micropay` is `v2::pay::micropay`):\n//! `Request` (the fields to send), `Answer` (the fields read back) and `call`, the\n//! [`V2Call`](wechatpay_core::v2::V2Call) for `Client::sign_v2`. Any other path is reachable\n//! untyped with `V2Call::new`.\n\n",
    );
    emit_tree(&mut out, &tree);
    out
}

fn sample_request_value(f: &Field) -> String {
    match f.ty {
        Ty::Num => "7".into(),
        Ty::Bool => "true".into(),
        Ty::StrOrNum => format!(
            "wechatpay_api::StringOrNumber::String({:?}.into())",
            sample_text(f)
        ),
        Ty::Str | Ty::Raw => format!("{:?}.into()", sample_text(f)),
    }
}

fn sample_text(f: &Field) -> String {
    if ["mchid", "combine_mch_id"].contains(&f.wire.as_str()) {
        return "1900000001".into(); // the client refuses another merchant's id
    }
    f.values
        .first()
        .cloned()
        .unwrap_or_else(|| format!("v-{}", f.wire))
}

/// `api/tests/typed/v2.rs`: for every endpoint, its request signs to the fields the spec requires
/// (with the nonce, algorithm and client-certificate flag the spec says), and a signed answer
/// with every listed field reads back into `Answer`.
pub fn tests_file(eps: &[Endpoint]) -> String {
    let mut out = String::from(
        "//! @generated by `cargo xtask codegen` from `api/spec/v2/endpoints.json`: do not edit.\n\n#![cfg(feature = \"v2\")]\n// Each test names the required fields and defaults the rest, even where none is left.\n#![allow(clippy::needless_update)]\n\nuse crate::support::v2::*;\nuse wechatpay_api::v2;\n\n",
    );
    for e in eps {
        let module = format!("v2::{}", segments(&e.path).join("::"));
        let test = segments(&e.path).join("_");
        let _ = writeln!(out, "#[test]\nfn {test}() {{");
        let _ = writeln!(out, "let request = {module}::Request {{");
        let mut required = Vec::new();
        for f in &e.request {
            if CLIENT_SET.contains(&f.wire.as_str()) || f.optional || f.wire == "mch_id" {
                continue;
            }
            let _ = writeln!(
                out,
                "{}: {},",
                field_ident(&f.wire),
                sample_request_value(f)
            );
            let expect = match f.ty {
                Ty::Num => "7".to_string(),
                Ty::Bool => "true".to_string(),
                _ => sample_text(f),
            };
            required.push((f.wire.clone(), expect));
        }
        out.push_str("..Default::default()\n};\n");
        let _ = writeln!(
            out,
            "let signed = client().sign_v2_with({module}::call(&request).unwrap(), NONCE).unwrap();"
        );
        let bind = if required.is_empty() { "_sent" } else { "sent" };
        let _ = writeln!(out, "let {bind} = sent_fields(&signed, {:?});", e.path);
        for (wire, v) in &required {
            let _ = writeln!(
                out,
                "assert_eq!(sent.get({wire:?}).map(String::as_str), Some({v:?}));"
            );
        }
        if e.stream {
            out.push_str(
                "let (bill, n) = signed.bill(&bill_answer(), Vec::new()).unwrap();\nassert_eq!(bill, BILL);\nassert_eq!(n, BILL.len() as u64);\n",
            );
        } else {
            out.push_str("let mut fields = wechatpay_core::v2::Fields::new();\n");
            let mut checks = Vec::new();
            for f in &e.response {
                if f.wire == "sign" || f.wire == "sign_type" {
                    continue; // set by the answer's signer
                }
                let v = match f.wire.as_str() {
                    "return_code" | "result_code" => "SUCCESS".to_string(),
                    _ if f.ty == Ty::Num => "42".to_string(),
                    _ => sample_text(f),
                };
                let _ = writeln!(out, "fields.insert({:?}.into(), {v:?}.into());", f.wire);
                let ident = field_ident(&f.wire);
                checks.push(match f.ty {
                    Ty::Num => format!("assert_eq!(answer.{ident}, Some(42));"),
                    Ty::StrOrNum => format!(
                        "assert_eq!(answer.{ident}.as_ref().map(ToString::to_string).as_deref(), Some({v:?}));"
                    ),
                    _ => format!("assert_eq!(answer.{ident}.as_deref(), Some({v:?}));"),
                });
            }
            out.push_str("fields.insert(\"unlisted_field\".into(), \"kept\".into());\n");
            // Signed as the request was (an unsigned-answer path: no sign).
            let _ = writeln!(
                out,
                "let answer = signed.verify(&answer(fields, {})).unwrap();",
                if e.signless {
                    "None"
                } else {
                    "Some(signed.sign_type())"
                }
            );
            for c in checks {
                out.push_str(&c);
                out.push('\n');
            }
            out.push_str(
                "assert_eq!(answer.other.get(\"unlisted_field\").map(String::as_str), Some(\"kept\"));\n",
            );
        }
        out.push_str("}\n\n");
    }
    out
}

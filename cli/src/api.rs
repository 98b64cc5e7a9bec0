//! `wxpay api list|show` and the schema check of `wxpay request -d`, from the endpoint metadata
//! the generator writes into `wechatpay-api` (the same required/sensitive rules as the Rust types).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wechatpay_core::Sensitive;

use crate::Failure;

/// One endpoint, as `wechatpay_api::ENDPOINTS_JSON` describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct Endpoint {
    pub method: String,
    pub path: String,
    pub rust: String,
    pub title: String,
    pub doc: String,
    pub family: String,
    pub chain: String,
    pub path_params: Vec<String>,
    pub query: Vec<Field>,
    pub body_kind: String,
    pub body: Option<Vec<Field>>,
    /// `json`, `none` (a 204), `empty` (no published fields) or `stream` (a file).
    pub answer_kind: String,
    pub answer: Option<Vec<Field>>,
    pub types: Types,
    /// The official SDK methods that make the call.
    #[serde(default)]
    pub official: Vec<String>,
    pub headers: Vec<String>,
}

/// The Rust types of an endpoint's parts.
#[derive(Debug, Clone, Deserialize)]
pub struct Types {
    pub query: Option<String>,
    pub body: Option<String>,
    pub answer: Option<String>,
}

/// A field (or an array's item type, which has no name).
#[derive(Debug, Clone, Deserialize)]
pub struct Field {
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub sensitive: bool,
    #[serde(rename = "enum", default)]
    pub values: Vec<Value>,
    #[serde(default)]
    pub fields: Vec<Field>,
    pub items: Option<Box<Field>>,
    /// The description, as the official models (or the catalog) write it.
    #[serde(default)]
    pub doc: String,
    /// The Rust type of an object or an enum.
    #[serde(default)]
    pub rust: String,
}

/// Every endpoint.
pub fn endpoints() -> &'static [Endpoint] {
    static ALL: OnceLock<Vec<Endpoint>> = OnceLock::new();
    ALL.get_or_init(|| serde_json::from_str(wechatpay_api::ENDPOINTS_JSON).unwrap_or_default())
}

/// The endpoint `METHOD template`, if it is one of the catalog's: that template, or a concrete
/// path (`/v3/pay/transactions/out-trade-no/ORDER-1`, as pasted from a URL) whose segments fill
/// the `{params}` of exactly one template — of those with the most literal segments.
pub fn find(method: &str, template: &str) -> Option<&'static Endpoint> {
    let of_method = || {
        endpoints()
            .iter()
            .filter(|e| e.method.eq_ignore_ascii_case(method))
    };
    if let Some(e) = of_method().find(|e| e.path == template) {
        return Some(e);
    }
    if template.contains('{') {
        return None;
    }
    // Each template the path fills, with its number of literal segments.
    let segments: Vec<&str> = template.split('/').collect();
    let fills = |e: &Endpoint| {
        let t: Vec<&str> = e.path.split('/').collect();
        if t.len() != segments.len() {
            return None;
        }
        let mut literal = 0;
        for (t, s) in t.iter().zip(&segments) {
            if t.starts_with('{') {
                if s.is_empty() {
                    return None;
                }
            } else if t == s {
                literal += 1;
            } else {
                return None;
            }
        }
        Some(literal)
    };
    let mut hits: Vec<(usize, &'static Endpoint)> =
        of_method().filter_map(|e| Some((fills(e)?, e))).collect();
    hits.sort_by_key(|(literal, _)| std::cmp::Reverse(*literal));
    match hits.as_slice() {
        [(_, e)] => Some(e),
        [(a, e), (b, _), ..] if a > b => Some(e),
        _ => None, // none, or a tie: no schema rather than the wrong one
    }
}

/// The endpoints whose template `path` fills (the template itself, or a concrete path), of
/// any method.
fn filled_by(path: &str) -> Vec<&'static Endpoint> {
    let segments: Vec<&str> = path.split('/').collect();
    endpoints()
        .iter()
        .filter(|e| {
            let t: Vec<&str> = e.path.split('/').collect();
            e.path == path
                || (t.len() == segments.len()
                    && t.iter()
                        .zip(&segments)
                        .all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty())))
        })
        .collect()
}

/// How far `path` is from the template `t`: segment by segment (a `{param}` matches any
/// segment), each literal by its edit distance, a missing or extra segment counting 8.
fn distance(path: &str, t: &str) -> usize {
    let a: Vec<&str> = path.split('/').collect();
    let b: Vec<&str> = t.split('/').collect();
    let mut d = a.len().abs_diff(b.len()) * 8;
    for (x, y) in a.iter().zip(&b) {
        if !y.starts_with('{') || x.is_empty() {
            d += levenshtein(&x.to_ascii_lowercase(), y);
        }
    }
    d
}

/// Check `METHOD path` against the catalog before anything is signed: the endpoint, or a usage
/// failure that names the method(s) the path takes, or the closest endpoints.
/// `Ok(None)`: a concrete path that fills two templates of the method equally (no schema rather
/// than the wrong one).
pub fn resolve(method: &str, path: &str) -> Result<Option<&'static Endpoint>, Failure> {
    let method = method.to_ascii_uppercase();
    if let Some(e) = find(&method, path) {
        return Ok(Some(e));
    }
    let same_path = filled_by(path);
    if same_path.iter().any(|e| e.method == method) {
        return Ok(None);
    }
    if let Some(e) = same_path.first() {
        let mut methods: Vec<&str> = same_path.iter().map(|e| e.method.as_str()).collect();
        methods.sort_unstable();
        methods.dedup();
        return Err(Failure::usage(format!(
            "{path} does not take {method}: it takes {} (wxpay request {} {path})",
            methods.join(" or "),
            e.method
        )));
    }
    let mut near: Vec<(usize, &Endpoint)> = endpoints()
        .iter()
        .map(|e| (distance(path, &e.path), e))
        .collect();
    near.sort_by_key(|(d, e)| (*d, e.method != method));
    let limit = (path.len() / 6).max(3);
    let hints: Vec<String> = near
        .iter()
        .take_while(|(d, _)| *d <= limit)
        .take(3)
        .map(|(_, e)| format!("{} {}", e.method, e.path))
        .collect();
    let family = path.split('/').nth(2).unwrap_or("");
    let advice = if hints.is_empty() {
        format!("wxpay api list --family {family} lists the family's endpoints")
    } else {
        format!("did you mean {}?", hints.join(", or "))
    };
    Err(Failure::usage(format!(
        "no endpoint {method} {path}: {advice} (--no-validate sends it anyway)"
    )))
}

/// `"METHOD /path"`, a chain ending in the method (`v3.pay.transactions.jsapi.post`), or a
/// path alone when one method has it.
pub fn lookup(spec: &str) -> Result<&'static Endpoint, Failure> {
    let spec = spec.trim();
    if let Some((m, p)) = spec.split_once(' ') {
        let template = crate::chain::to_template(p.trim()).map_err(Failure::usage)?;
        return find(m, &template)
            .ok_or_else(|| Failure::usage(format!("no endpoint {} {template}", m.to_uppercase())));
    }
    if let Some(e) = endpoints().iter().find(|e| e.chain == spec) {
        return Ok(e);
    }
    let template = crate::chain::to_template(spec).map_err(Failure::usage)?;
    let hits: Vec<&Endpoint> = endpoints().iter().filter(|e| e.path == template).collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(Failure::usage(format!(
            "no endpoint has the path {template}"
        ))),
        many => Err(Failure::usage(format!(
            "{template} has several methods ({}): say which, e.g. \"{} {template}\"",
            many.iter()
                .map(|e| e.method.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            many[0].method
        ))),
    }
}

#[derive(Serialize)]
struct ListItem<'a> {
    method: &'a str,
    path: &'a str,
    rust: &'a str,
    title: &'a str,
    doc: &'a str,
}

/// `wxpay api list`.
pub fn list(family: Option<&str>, json: bool) -> Result<String, Failure> {
    let all: Vec<&Endpoint> = endpoints()
        .iter()
        .filter(|e| family.is_none_or(|f| e.family == f))
        .collect();
    if all.is_empty() {
        return Err(Failure::usage(match family {
            Some(f) => format!(
                "no family {f:?} (the first path segment after /v3/, e.g. pay, refund, fund-app)"
            ),
            None => "no endpoints".into(),
        }));
    }
    if json {
        let items: Vec<ListItem> = all
            .iter()
            .map(|e| ListItem {
                method: &e.method,
                path: &e.path,
                rust: &e.rust,
                title: &e.title,
                doc: &e.doc,
            })
            .collect();
        return serde_json::to_string(&items).map_err(|e| Failure::usage(e.to_string()));
    }
    let mut out = String::new();
    for e in all {
        out.push_str(&format!(
            "{:6} {}\n       {}  {}\n",
            e.method, e.path, e.rust, e.title
        ));
    }
    out.pop();
    Ok(out)
}

fn type_text(f: &Field) -> String {
    let mut t = match f.ty.as_str() {
        "array" => format!(
            "array of {}",
            f.items.as_ref().map(|i| type_text(i)).unwrap_or_default()
        ),
        other if !f.rust.is_empty() => format!("{other} {}", short(&f.rust)),
        other => other.to_string(),
    };
    if !f.values.is_empty() {
        let vals: Vec<String> = f.values.iter().map(|v| v.to_string()).collect();
        t.push_str(&format!(" ({})", vals.join(" | ")));
    }
    t
}

/// The fields of a request part (`answer` false) or of an answer, one per line, nested ones
/// indented, each with its description's first line.
fn show_fields(out: &mut String, fields: &[Field], depth: usize, answer: bool) {
    for f in fields {
        let required = match (f.required, answer) {
            (true, false) => "required",
            (true, true) => "always sent",
            (false, _) => "optional",
        };
        let marks = format!(
            "{required}{}",
            if f.sensitive && !answer {
                ", sensitive: encrypted automatically"
            } else if f.sensitive {
                ", sensitive: encrypted for your key"
            } else {
                ""
            }
        );
        let doc = f.doc.lines().next().unwrap_or("");
        let doc = if doc.is_empty() {
            String::new()
        } else {
            format!(" {}", crate::display::line(doc))
        };
        out.push_str(&format!(
            "{}{} — {} ({marks}){doc}\n",
            "  ".repeat(depth + 1),
            f.name,
            type_text(f)
        ));
        let nested = if f.ty == "array" {
            f.items.as_ref().map(|i| i.fields.as_slice()).unwrap_or(&[])
        } else {
            &f.fields
        };
        show_fields(out, nested, depth + 1, answer);
    }
}

/// The last path segment of a Rust type path, with its module: `transactions::Transaction`.
fn short(path: &str) -> &str {
    let mut it = path.rmatch_indices("::");
    match (it.next(), it.next()) {
        (Some(_), Some((i, _))) => &path[i + 2..],
        _ => path,
    }
}

/// `wxpay api show`.
pub fn show(e: &Endpoint, json: bool) -> Result<String, Failure> {
    if json {
        let raw: Vec<Value> = serde_json::from_str(wechatpay_api::ENDPOINTS_JSON)
            .map_err(|e| Failure::usage(e.to_string()))?;
        let v = raw
            .into_iter()
            .find(|v| v["method"] == e.method.as_str() && v["path"] == e.path.as_str())
            .unwrap_or(Value::Null);
        return Ok(v.to_string());
    }
    let mut args: Vec<String> = e.path_params.iter().map(|p| format!("{p}: &str")).collect();
    args.extend(e.headers.iter().map(|h| format!("{h}: &str")));
    if let Some(q) = &e.types.query {
        args.push(format!("&{}", short(q)));
    }
    if let Some(b) = &e.types.body {
        args.push(format!("&{}", short(b)));
    }
    if e.body_kind == "multipart" {
        args.push("filename: &str, content: &[u8]".into());
    }
    let answer = match (e.answer_kind.as_str(), &e.types.answer) {
        ("none", _) => "()".to_string(),
        ("stream", _) => "Vec<u8>".to_string(),
        (_, Some(a)) => short(a).to_string(),
        (k, None) => k.to_string(),
    };
    let mut out = format!(
        "{} {} — {}\nRust:  {}({}) -> Call<{answer}>\nchain: {}\ndocs:  {}\n",
        e.method,
        e.path,
        e.title,
        e.rust,
        args.join(", "),
        e.chain,
        e.doc
    );
    if !e.official.is_empty() {
        out.push_str(&format!(
            "official SDKs: {}\n",
            e.official.join(", ").replace('`', "")
        ));
    }
    if !e.path_params.is_empty() {
        out.push_str(&format!("path parameters: {}\n", e.path_params.join(", ")));
    }
    if !e.headers.is_empty() {
        out.push_str(&format!("headers: {}\n", e.headers.join(", ")));
    }
    if !e.query.is_empty() {
        let ty = e.types.query.as_deref().unwrap_or("");
        out.push_str(&format!("query ({ty}):\n"));
        show_fields(&mut out, &e.query, 0, false);
    }
    match (&e.body, e.body_kind.as_str()) {
        (Some(fields), _) => {
            let ty = e.types.body.as_deref().unwrap_or("");
            out.push_str(&format!("body (JSON, {ty}):\n"));
            show_fields(&mut out, fields, 0, false);
        }
        (None, "multipart") => out.push_str("body: multipart upload (meta + file)\n"),
        _ => {}
    }
    match (e.answer_kind.as_str(), &e.answer) {
        ("none", _) => out.push_str("answer: none (204 No Content)"),
        ("stream", _) => out.push_str("answer: the file's bytes"),
        ("empty", _) => out.push_str("answer: JSON with no published fields"),
        (_, Some(fields)) => {
            let ty = e.types.answer.as_deref().unwrap_or("");
            out.push_str(&format!("answer (JSON, {ty}):\n"));
            show_fields(&mut out, fields, 0, true);
            out.pop();
        }
        (k, None) => out.push_str(&format!("answer: {k}")),
    }
    Ok(out)
}

/// What `wxpay api decode` found.
pub enum Decoded {
    /// The typed value, written back as JSON, and the members its type does not know.
    Value { value: Value, unknown: Vec<String> },
    /// Where the answer parts from the type.
    Mismatch {
        path: String,
        message: String,
        type_name: String,
    },
}

/// `wxpay api decode`: `body` read into the endpoint's typed answer, as the library reads it.
pub fn decode(e: &Endpoint, body: &[u8]) -> Result<Decoded, Failure> {
    let type_name = e.types.answer.clone().unwrap_or_default();
    let result = wechatpay_api::decode_answer(&e.method, &e.path, body).ok_or_else(|| {
        Failure::usage(match e.answer_kind.as_str() {
            "none" => format!("{} {} answers nothing (204) to decode", e.method, e.path),
            "stream" => format!("{} {} answers a file, not JSON", e.method, e.path),
            _ => format!("{} {} has no typed answer in this build", e.method, e.path),
        })
    })?;
    match result {
        Ok(value) => {
            let raw: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let unknown = wechatpay_api::unknown_members(
                &e.method,
                &e.path,
                wechatpay_api::Part::Answer,
                &raw,
            )
            .unwrap_or_default();
            Ok(Decoded::Value { value, unknown })
        }
        Err(err) => Ok(Decoded::Mismatch {
            path: err.path.clone(),
            message: err.source.to_string(),
            type_name,
        }),
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn closest<'a>(name: &str, fields: &'a [Field]) -> Option<&'a str> {
    fields
        .iter()
        .map(|f| (levenshtein(name, &f.name), f.name.as_str()))
        .min()
        .filter(|(d, _)| *d <= name.len().max(3) / 2 + 1)
        .map(|(_, n)| n)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Check `v` against field `f` at `at`; the first problem, in one line.
fn check_value(v: &Value, f: &Field, at: &str) -> Result<(), String> {
    let ok = match f.ty.as_str() {
        "string" | "date-time" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "string-or-number" => v.is_string() || v.is_number(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        _ => true,
    };
    if !ok {
        let want = match f.ty.as_str() {
            "date-time" => "an RFC 3339 date-time string",
            "integer" => "an integer",
            "number" => "a number",
            "boolean" => "a boolean",
            "object" => "an object",
            "array" => "an array",
            "string-or-number" => "a string or a number",
            _ => "a string",
        };
        return Err(format!("{at}: expected {want}, found {}", json_kind(v)));
    }
    match (v, f.ty.as_str()) {
        (Value::Object(_), "object") if !f.fields.is_empty() => check_object(v, &f.fields, at),
        (Value::Array(items), "array") => match &f.items {
            Some(item) => {
                for (i, x) in items.iter().enumerate() {
                    check_value(x, item, &format!("{at}[{i}]"))?;
                }
                Ok(())
            }
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn check_object(v: &Value, fields: &[Field], at: &str) -> Result<(), String> {
    let Some(map) = v.as_object() else {
        return Err(format!("{at}: expected an object, found {}", json_kind(v)));
    };
    for (k, x) in map {
        let here = format!("{at}.{k}");
        match fields.iter().find(|f| &f.name == k) {
            Some(f) => check_value(x, f, &here)?,
            None => {
                return Err(match closest(k, fields) {
                    Some(c) => format!("{here}: unknown field; did you mean `{c}`?"),
                    None => format!("{here}: unknown field"),
                })
            }
        }
    }
    for f in fields.iter().filter(|f| f.required) {
        if !map.contains_key(&f.name) {
            return Err(format!("{at}.{}: required field missing", f.name));
        }
    }
    Ok(())
}

/// Check a request body against the endpoint's schema.
pub fn check_body(e: &Endpoint, body: &Value) -> Result<(), String> {
    match &e.body {
        Some(fields) => check_object(body, fields, "body"),
        None => Err(format!("{} {} takes no JSON body", e.method, e.path)),
    }
}

/// Check query parameter names: unknown ones (with the closest known) and missing required ones.
pub fn check_query(e: &Endpoint, names: &[&str]) -> Result<(), String> {
    for n in names {
        if !e.query.iter().any(|f| f.name == *n) {
            return Err(match closest(n, &e.query) {
                Some(c) => format!("query.{n}: unknown parameter; did you mean `{c}`?"),
                None => format!("query.{n}: unknown parameter"),
            });
        }
    }
    Ok(())
}

/// Whether any field (at any depth) is sensitive.
pub fn has_sensitive(fields: &[Field]) -> bool {
    fields.iter().any(|f| {
        f.sensitive
            || has_sensitive(&f.fields)
            || f.items
                .as_ref()
                .is_some_and(|i| i.sensitive || has_sensitive(&i.fields))
    })
}

/// A JSON body whose sensitive string fields serialise as [`Sensitive`] plaintexts, so that
/// `Call::json` encrypts them at signing with the key the request names.
pub struct WithSensitive<'a> {
    pub value: &'a Value,
    pub fields: &'a [Field],
}

struct Node<'a> {
    value: &'a Value,
    field: Option<&'a Field>,
}

impl Serialize for Node<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match (self.value, self.field) {
            (Value::String(text), Some(f)) if f.sensitive => {
                Sensitive::new(text.clone()).serialize(s)
            }
            (Value::Object(map), f) => {
                let fields = f.map(|f| f.fields.as_slice()).unwrap_or(&[]);
                let mut m = s.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    let field = fields.iter().find(|x| &x.name == k);
                    m.serialize_entry(k, &Node { value: v, field })?;
                }
                m.end()
            }
            (Value::Array(items), f) => {
                let item = f.and_then(|f| f.items.as_deref());
                let mut q = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    q.serialize_element(&Node {
                        value: v,
                        field: item,
                    })?;
                }
                q.end()
            }
            (other, _) => other.serialize(s),
        }
    }
}

impl Serialize for WithSensitive<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let root = Field {
            name: String::new(),
            ty: "object".into(),
            required: true,
            sensitive: false,
            values: Vec::new(),
            fields: self.fields.to_vec(),
            items: None,
            doc: String::new(),
            rust: String::new(),
        };
        Node {
            value: self.value,
            field: Some(&root),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_is_listed_and_found() {
        assert_eq!(endpoints().len(), 517);
        let e = lookup("v3.pay.transactions.outTradeNo._out_trade_no_.get").unwrap();
        assert_eq!(
            e.rust,
            "wechatpay::api::pay::transactions::get_by_out_trade_no"
        );
        assert_eq!(
            lookup("POST /v3/pay/transactions/jsapi").unwrap().title,
            "JSAPI下单"
        );
        assert!(
            lookup("/v3/payscore/payafter-orders").is_err(),
            "two methods"
        );
        assert!(levenshtein("out_trade_nr", "out_trade_no") == 1);
    }

    #[test]
    fn concrete_paths_find_their_template() {
        let path = |m: &str, p: &str| find(m, p).map(|e| e.path.as_str());
        assert_eq!(
            path("GET", "/v3/pay/transactions/out-trade-no/ORDER-1"),
            Some("/v3/pay/transactions/out-trade-no/{out_trade_no}")
        );
        assert_eq!(
            path("get", "/v3/pay/transactions/id/4200000001"),
            Some("/v3/pay/transactions/id/{transaction_id}")
        );
        assert_eq!(
            path("POST", "/v3/pay/transactions/out-trade-no/ORDER-1/close"),
            Some("/v3/pay/transactions/out-trade-no/{out_trade_no}/close")
        );
        // The literal segment wins over a parameter.
        assert_eq!(
            path("POST", "/v3/pay/transactions/jsapi"),
            Some("/v3/pay/transactions/jsapi")
        );
        // No template, an empty segment, another method, or two templates alike: none.
        assert_eq!(path("GET", "/v3/pay/transactions/out-trade-no/"), None);
        assert_eq!(path("GET", "/v3/pay/nothing/ORDER-1"), None);
        assert_eq!(
            path("DELETE", "/v3/pay/transactions/out-trade-no/ORDER-1"),
            None
        );
        assert_eq!(path("POST", "/v3/apply4subject/applyment/123/cancel"), None);
    }

    #[test]
    fn bodies_are_checked() {
        let e = find("POST", "/v3/pay/transactions/jsapi").unwrap();
        let good = serde_json::json!({"appid": "wx", "mchid": "1", "description": "d", "out_trade_no": "o",
            "notify_url": "https://x", "amount": {"total": 1}, "payer": {"openid": "o"}});
        check_body(e, &good).unwrap();
        let mut typo = good.clone();
        typo["out_trade_nr"] = typo["out_trade_no"].take();
        typo.as_object_mut().unwrap().remove("out_trade_no");
        assert_eq!(
            check_body(e, &typo).unwrap_err(),
            "body.out_trade_nr: unknown field; did you mean `out_trade_no`?"
        );
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("notify_url");
        assert_eq!(
            check_body(e, &missing).unwrap_err(),
            "body.notify_url: required field missing"
        );
        let mut wrong = good.clone();
        wrong["amount"]["total"] = serde_json::json!("1");
        assert_eq!(
            check_body(e, &wrong).unwrap_err(),
            "body.amount.total: expected an integer, found a string"
        );
        let mut nested = good;
        nested["amount"] = serde_json::json!({"currency": "CNY"});
        assert_eq!(
            check_body(e, &nested).unwrap_err(),
            "body.amount.total: required field missing"
        );
    }
}

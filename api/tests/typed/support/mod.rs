//! What the generated endpoint tests check, written once and independently of the generator: the
//! expectations come from the catalog itself (`api/spec/catalog.json`) and the official models
//! (`official`), not from the generator's output. Values are typed by the endpoint metadata
//! ([`wechatpay_api::ENDPOINTS_JSON`]) where the sources disagree on a member's type (the
//! official model wins, see `api/spec/conflicts.md`).
#![allow(dead_code)]

pub mod official;
pub mod v2;

use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use wechatpay_core::{
    Call, Client, FixedClock, FixedNonce, Merchant, PlatformKey, PlatformKeys, PrivateKey,
};

fn spec(name: &str) -> &'static Value {
    static CATALOG: OnceLock<Value> = OnceLock::new();
    static WEBHOOKS: OnceLock<Value> = OnceLock::new();
    let cell = if name == "catalog.json" {
        &CATALOG
    } else {
        &WEBHOOKS
    };
    cell.get_or_init(|| {
        let p = format!("{}/spec/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_slice(&std::fs::read(&p).expect("the spec is in the repository"))
            .expect("JSON")
    })
}

/// The catalog entry of `METHOD path`.
pub fn endpoint(method: &str, path: &str) -> Value {
    spec("catalog.json")["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["method"] == method && e["path"] == path)
        .cloned()
        .unwrap_or_else(|| panic!("{method} {path} is not in the catalog"))
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub fn client() -> &'static Client {
    static C: OnceLock<Client> = OnceLock::new();
    C.get_or_init(|| {
        let merchant = Merchant::new(
            "1900000001",
            "3D2A5C1B0E9F8A7B6C5D4E3F2A1B0C9D8E7F6A5B",
            PrivateKey::from_pem(fixture("merchant_key.pem")).unwrap(),
        )
        .unwrap();
        Client::builder(merchant)
            .platform_keys(
                PlatformKeys::new()
                    .with(PlatformKey::from_certificate_pem(fixture("platform_cert.pem")).unwrap()),
            )
            .clock(FixedClock(1_800_000_000))
            .nonce_source(FixedNonce("N0nce".into()))
            .build()
            .unwrap()
    })
}

/// The call has the endpoint's method and template, and signs into a request to `path`.
pub fn check_call<T>(call: Call<T>, method: &str, path: &str, ep: &Value) {
    assert_eq!(call.method().as_str(), method);
    assert_eq!(call.template(), ep["path"].as_str().unwrap());
    let signed = client()
        .sign(call)
        .unwrap_or_else(|e| panic!("{} {}: {e}", ep["method"], ep["path"]));
    assert_eq!(signed.request.method().as_str(), method);
    assert_eq!(signed.request.uri().path(), path);
    if ep["request_kind"] == "json" {
        assert!(!signed.request.body().is_empty(), "a JSON body is sent");
    }
}

/// The members only the YAML has, merged into the catalog's tree at `root` (`request`, `query`,
/// `response`).
fn tree(ep: &Value, root: &str) -> Value {
    let mut t = json!({"object": ep[root].clone()});
    if let Some(only) = ep["yaml"]["only_in_yaml"].as_object() {
        for (loc, node) in only {
            let Some(rest) = loc.strip_prefix(root).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            let mut cur = &mut t;
            let segs: Vec<&str> = rest.split('.').collect();
            for (i, seg) in segs.iter().enumerate() {
                let (name, arr) = match seg.strip_suffix("[]") {
                    Some(n) => (n, true),
                    None => (*seg, false),
                };
                let members = cur["object"].as_object_mut().unwrap();
                if i + 1 == segs.len() {
                    members.entry(name.to_string()).or_insert(node.clone());
                    break;
                }
                cur = members.get_mut(name).unwrap();
                if arr {
                    cur = cur.get_mut("array").unwrap();
                }
            }
        }
    }
    t
}

#[derive(Clone, Copy, PartialEq)]
enum Fill {
    /// Every catalog member (and every required one), enums with a known value.
    Full,
    /// The same, enums with a value no version knows.
    Unknown,
    /// Only what the type requires.
    Minimal,
}

/// The metadata of an endpoint (`ENDPOINTS_JSON`).
pub fn meta(method: &str, path: &str) -> &'static Value {
    static META: OnceLock<Value> = OnceLock::new();
    META.get_or_init(|| serde_json::from_str(wechatpay_api::ENDPOINTS_JSON).unwrap())
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["method"] == method && e["path"] == path)
        .unwrap_or_else(|| panic!("{method} {path} is not in ENDPOINTS_JSON"))
}

fn catalog_scalar(kind: &str, name: &str) -> Value {
    match kind {
        "string" => json!(format!("{name}-value")),
        "integer" => json!(7),
        "number" => json!(9),
        "boolean" => json!(true),
        other => panic!("unexpected scalar {other}"),
    }
}

/// A JSON value of metadata type `ty` (a field of `ENDPOINTS_JSON`) for member `name`, with the
/// members the catalog node `cat` has (and the type requires).
fn typed(ty: &Value, cat: Option<&Value>, name: &str, fill: Fill) -> Value {
    let cat_inner = |key: &str| cat.and_then(|c| c.get(key));
    match ty["type"].as_str().unwrap_or("any") {
        "object" => match ty.get("fields") {
            Some(fields) => object(fields, cat_inner("object"), fill),
            None => match cat {
                // A core type (bill download information): the catalog's members.
                Some(c) => catalog_sample(c, name),
                None => json!({}),
            },
        },
        "array" => json!([typed(&ty["items"], cat_inner("array"), name, fill)]),
        _ if ty.get("enum").is_some() => {
            let lits = ty["enum"].as_array().unwrap();
            match (fill, lits[0].is_number()) {
                (Fill::Unknown, false) => json!("A_VALUE_NO_VERSION_KNOWS"),
                (Fill::Unknown, true) => json!(987_654),
                _ => lits[0].clone(),
            }
        }
        "string" => json!(format!("{name}-value")),
        "date-time" => json!("2027-01-15T13:00:00+08:00"),
        "integer" => json!(7),
        "number" => json!(9.5),
        "boolean" => json!(true),
        "string-or-number" => json!(format!("{name}-value")),
        "binary" => json!("binary"),
        _ => json!([{"element": "of an unpublished type"}]),
    }
}

/// An object of the metadata's `fields`: the catalog's members (`cat`, a catalog member map) and
/// the required ones; only the required ones when `fill` is minimal. A catalog member the type
/// does not have is sent too, with a catalog-typed value: the type drops or keeps it as unknown,
/// and the key-set checks see it.
fn object(fields: &Value, cat: Option<&Value>, fill: Fill) -> Value {
    let mut out = Map::new();
    let list = fields.as_array().unwrap();
    for f in list {
        let name = f["name"].as_str().unwrap();
        let c = cat.and_then(|c| c.get(name));
        let wanted = match fill {
            Fill::Minimal => f["required"] == true,
            _ => f["required"] == true || c.is_some(),
        };
        if wanted {
            out.insert(name.to_string(), typed(f, c, name, fill));
        }
    }
    if fill != Fill::Minimal {
        for (k, v) in cat.and_then(Value::as_object).into_iter().flatten() {
            if !list.iter().any(|f| f["name"] == k.as_str()) {
                out.insert(k.clone(), catalog_sample(v, k));
            }
        }
    }
    Value::Object(out)
}

/// A JSON value of catalog type `node` for member `name` (for members the typed model lacks).
fn catalog_sample(node: &Value, name: &str) -> Value {
    if let Some(s) = node.as_str() {
        return catalog_scalar(s, name);
    }
    if let Some(members) = node["object"].as_object() {
        let mut out = Map::new();
        for (k, v) in members {
            out.insert(k.clone(), catalog_sample(v, k));
        }
        return Value::Object(out);
    }
    if let Some(item) = node.get("array") {
        return json!([catalog_sample(item, name)]);
    }
    if let Some(lits) = node["enum"].as_array() {
        return lits[0].clone();
    }
    if let Some(members) = node["union"].as_array() {
        return catalog_sample(&members[0], name);
    }
    if node.get("tuple").is_some() {
        return json!([{"element": "of an unpublished type"}]);
    }
    if node["format"] == "date-time" {
        return json!("2027-01-15T13:00:00+08:00");
    }
    catalog_scalar(node["type"].as_str().unwrap(), name)
}

/// The key tree of a JSON value: objects by their keys, arrays by their first element.
pub fn keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), keys(v))).collect()),
        Value::Array(a) => json!([a.first().map(keys).unwrap_or(Value::Null)]),
        _ => Value::Null,
    }
}

/// JSON equality with numbers compared by value (`7` and `7.0` are the same).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        _ => a == b,
    }
}

/// Serialise a request value as `Call::json` does (the one serialiser that takes sensitive
/// plaintexts, as markers): the JSON sent, or the build error.
pub fn sent<T: Serialize>(value: &T) -> Result<Value, wechatpay_core::BuildError> {
    let call = Call::<()>::post("/v3/x").json(value);
    match call.body() {
        Some(b) => Ok(serde_json::from_slice(b).unwrap()),
        None => Err(client()
            .sign(call)
            .expect_err("a call without a body failed to build")),
    }
}

fn request_tree(ep: &Value, root: &str) -> (&'static Value, Value) {
    let m = meta(ep["method"].as_str().unwrap(), ep["path"].as_str().unwrap());
    let fields = if root == "query" {
        &m["query"]
    } else {
        &m["body"]
    };
    (fields, tree(ep, root))
}

/// A valid value of a query or body type: every member the type requires.
fn sample_of<T: DeserializeOwned>(ep: &Value, root: &str) -> T {
    let (fields, _) = request_tree(ep, root);
    let v = object(fields, None, Fill::Minimal);
    serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{} {} {root}: {e}\n{v}", ep["method"], ep["path"]))
}

/// A query the endpoint accepts (its required members set).
pub fn sample_query<T: DeserializeOwned>(ep: &Value) -> T {
    sample_of(ep, "query")
}

/// A body the endpoint accepts (its required members set).
pub fn sample_body<T: DeserializeOwned>(ep: &Value) -> T {
    sample_of(ep, "request")
}

fn body_check<T: Serialize + DeserializeOwned + Default>(ep: &Value, root: &str) {
    let (fields, cat) = request_tree(ep, root);
    let full = object(fields, cat.get("object"), Fill::Full);
    let parsed: T = serde_json::from_value(full.clone())
        .unwrap_or_else(|e| panic!("{} {} {root}: {e}\n{full}", ep["method"], ep["path"]));
    let back = if root == "query" {
        serde_json::to_value(&parsed).unwrap()
    } else {
        sent(&parsed).unwrap_or_else(|e| panic!("{} {}: {e}", ep["method"], ep["path"]))
    };
    assert_eq!(
        keys(&back),
        keys(&full),
        "{} {} {root}: the type's key set is not the catalog's (and the required members)",
        ep["method"],
        ep["path"]
    );
    // Nothing beyond the catalog and the official models even when left at its default; or,
    // when the official models require a member, a refusal naming it.
    match sent(&T::default()) {
        Ok(default) => {
            for k in default.as_object().unwrap().keys() {
                let f = fields
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["name"] == k.as_str());
                assert!(
                    f.is_some_and(|f| f["required"] == true),
                    "{} {}: `{k}` is sent although nobody set it",
                    ep["method"],
                    ep["path"]
                );
            }
        }
        Err(wechatpay_core::BuildError::MissingField { field }) => {
            let top = field.split(['.', '[']).next().unwrap();
            let top = top.strip_prefix("query.").unwrap_or(top);
            assert!(
                fields
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["name"] == top && f["required"] == true),
                "{} {}: refused for `{field}`, which is not required",
                ep["method"],
                ep["path"]
            );
        }
        Err(e) => panic!("{} {}: {e}", ep["method"], ep["path"]),
    }
}

/// A body with every catalog field set serialises to exactly the catalog's key set (with the
/// required members), recursively; an empty one sends nothing optional.
pub fn check_body<T: Serialize + DeserializeOwned + Default>(ep: &Value) {
    body_check::<T>(ep, "request");
}

/// The same for a query.
pub fn check_query<T: Serialize + DeserializeOwned + Default>(ep: &Value) {
    body_check::<T>(ep, "query");
}

/// A full answer and a minimal one parse; a full one survives a round trip exactly, with known
/// and with unknown enum values.
pub fn check_answer<T: Serialize + DeserializeOwned>(ep: &Value) {
    let m = meta(ep["method"].as_str().unwrap(), ep["path"].as_str().unwrap());
    let t = tree(ep, "response");
    for fill in [Fill::Full, Fill::Unknown] {
        let full = object(&m["answer"], t.get("object"), fill);
        let parsed: T = serde_json::from_value(full.clone())
            .unwrap_or_else(|e| panic!("{} {}: {e}\n{full}", ep["method"], ep["path"]));
        let back = serde_json::to_value(&parsed).unwrap();
        assert!(
            same(&back, &full),
            "{} {}: round trip\n{full}\n{back}",
            ep["method"],
            ep["path"]
        );
    }
    let minimal = object(&m["answer"], None, Fill::Minimal);
    let _: T = serde_json::from_value(minimal.clone())
        .unwrap_or_else(|e| panic!("{} {} minimal: {e}\n{minimal}", ep["method"], ep["path"]));
    let _: T = serde_json::from_value(json!({}))
        .unwrap_or_else(|e| panic!("{} {} empty: {e}", ep["method"], ep["path"]));
}

/// A notification resource: the union of its events' fields parses and round-trips, with known
/// and unknown enum values; an empty object parses (every field is optional).
pub fn check_event<T: Serialize + DeserializeOwned>(event_types: &[&str]) {
    let events = spec("webhooks.json")["events"].as_array().unwrap();
    for et in event_types {
        let ev = events.iter().find(|e| e["event_type"] == *et).unwrap();
        let t = json!({"object": ev["resource"].clone()});
        for fill in [Fill::Full, Fill::Unknown] {
            let full = catalog_event(&t, "resource", fill);
            let parsed: T = serde_json::from_value(full.clone())
                .unwrap_or_else(|e| panic!("{et}: {e}\n{full}"));
            let back = serde_json::to_value(&parsed).unwrap();
            assert!(same(&back, &full), "{et}: round trip\n{full}\n{back}");
        }
        let _: T = serde_json::from_value(json!({})).unwrap();
    }
}

fn catalog_event(node: &Value, name: &str, fill: Fill) -> Value {
    if let Some(members) = node["object"].as_object() {
        let mut out = Map::new();
        for (k, v) in members {
            out.insert(k.clone(), catalog_event(v, k, fill));
        }
        return Value::Object(out);
    }
    if let Some(item) = node.get("array") {
        return json!([catalog_event(item, name, fill)]);
    }
    if let Some(lits) = node["enum"].as_array() {
        return match fill {
            Fill::Unknown => json!("A_VALUE_NO_VERSION_KNOWS"),
            _ => lits[0].clone(),
        };
    }
    catalog_sample(node, name)
}

//! What the generated endpoint tests check, written once and independently of the generator: the
//! expectations come from the catalog itself (`api/spec/catalog.json`), not from the generator's
//! output.
#![allow(dead_code)]

pub mod v2;

use std::collections::BTreeSet;
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

fn client() -> &'static Client {
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
    /// Every member, enums with a known value.
    Full,
    /// Every member, enums with a value no version knows.
    Unknown,
    /// Only what an answer must have.
    Minimal,
}

fn scalar(kind: &str, name: &str) -> Value {
    match kind {
        "string" => json!(format!("{name}-value")),
        "integer" => json!(7),
        "number" => json!(9),
        "boolean" => json!(true),
        other => panic!("unexpected scalar {other}"),
    }
}

/// A JSON value of catalog type `node` for member `name` at `loc`.
fn sample(node: &Value, name: &str, loc: &str, ep: &Value, fill: Fill) -> Value {
    if let Some(s) = node.as_str() {
        return scalar(s, name);
    }
    if let Some(members) = node["object"].as_object() {
        let required: Option<BTreeSet<&str>> = ep["yaml"]["required"][loc]
            .as_array()
            .map(|l| l.iter().filter_map(Value::as_str).collect());
        let mut out = Map::new();
        for (k, v) in members {
            if fill == Fill::Minimal && !required.as_ref().is_some_and(|r| r.contains(k.as_str())) {
                continue;
            }
            out.insert(k.clone(), sample(v, k, &format!("{loc}.{k}"), ep, fill));
        }
        return Value::Object(out);
    }
    if let Some(item) = node.get("array") {
        return json!([sample(item, name, &format!("{loc}[]"), ep, fill)]);
    }
    if let Some(lits) = node["enum"].as_array() {
        return match (fill, lits[0].is_number()) {
            (Fill::Unknown, false) => json!("A_VALUE_NO_VERSION_KNOWS"),
            (Fill::Unknown, true) => json!(987_654),
            _ => lits[0].clone(),
        };
    }
    if let Some(members) = node["union"].as_array() {
        return sample(&members[0], name, loc, ep, fill);
    }
    if node.get("tuple").is_some() {
        return json!([{"element": "of an unpublished type"}]);
    }
    if node["format"] == "date-time" {
        return json!("2027-01-15T13:00:00+08:00");
    }
    scalar(node["type"].as_str().unwrap(), name)
}

/// The key tree of a JSON value: objects by their keys, arrays by their first element.
fn keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), keys(v))).collect()),
        Value::Array(a) => json!([a.first().map(keys).unwrap_or(Value::Null)]),
        _ => Value::Null,
    }
}

/// JSON equality with numbers compared by value (`7` and `7.0` are the same).
fn same(a: &Value, b: &Value) -> bool {
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

fn body_check<T: Serialize + DeserializeOwned + Default>(ep: &Value, root: &str) {
    let full = sample(&tree(ep, root), root, root, ep, Fill::Full);
    let parsed: T = serde_json::from_value(full.clone())
        .unwrap_or_else(|e| panic!("{} {} {root}: {e}\n{full}", ep["method"], ep["path"]));
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(
        keys(&back),
        keys(&full),
        "{} {} {root}: the type's key set is not the catalog's",
        ep["method"],
        ep["path"]
    );
    // Nothing beyond the catalog even when left at its default.
    // Through `Call::json`, the one serialiser that accepts sensitive plaintexts (as markers).
    let call = Call::<()>::post("/v3/x").json(&T::default());
    let default: Value = serde_json::from_slice(call.body().expect("a body")).unwrap();
    let default_keys: BTreeSet<String> = default.as_object().unwrap().keys().cloned().collect();
    let all: BTreeSet<String> = full.as_object().unwrap().keys().cloned().collect();
    assert!(
        default_keys.is_subset(&all),
        "{} {}: {default_keys:?}",
        ep["method"],
        ep["path"]
    );
}

/// A body with every field set serialises to exactly the catalog's key set, recursively.
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
    let t = tree(ep, "response");
    for fill in [Fill::Full, Fill::Unknown] {
        let full = sample(&t, "response", "response", ep, fill);
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
    let minimal = sample(&t, "response", "response", ep, Fill::Minimal);
    let _: T = serde_json::from_value(minimal.clone())
        .unwrap_or_else(|e| panic!("{} {} minimal: {e}\n{minimal}", ep["method"], ep["path"]));
}

/// A notification resource: the union of its events' fields parses and round-trips, with known
/// and unknown enum values; an empty object parses (every field is optional).
pub fn check_event<T: Serialize + DeserializeOwned>(event_types: &[&str]) {
    let events = spec("webhooks.json")["events"].as_array().unwrap();
    for et in event_types {
        let ev = events.iter().find(|e| e["event_type"] == *et).unwrap();
        let t = json!({"object": ev["resource"].clone()});
        for fill in [Fill::Full, Fill::Unknown] {
            let full = sample(&t, "resource", "resource", &Value::Null, fill);
            let parsed: T = serde_json::from_value(full.clone())
                .unwrap_or_else(|e| panic!("{et}: {e}\n{full}"));
            let back = serde_json::to_value(&parsed).unwrap();
            assert!(same(&back, &full), "{et}: round trip\n{full}\n{back}");
        }
        let _: T = serde_json::from_value(json!({})).unwrap();
    }
}

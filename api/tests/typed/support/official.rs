//! What the tests generated from the official models (`official.rs`) check. The JSON they pass
//! is made from the official SDKs' models alone; these checks hold it against the typed API.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use wechatpay_api::{unknown_members, Part};

use super::{keys, same, sent};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("the generated JSON parses")
}

fn no_unknown(method: &str, template: &str, part: Part, v: &Value) {
    let unknown = unknown_members(method, template, part, v)
        .unwrap_or_else(|| panic!("{method} {template} is not in ENDPOINTS_JSON"));
    assert!(
        unknown.is_empty(),
        "{method} {template} {part:?}: the typed model lacks the official members {unknown:?}"
    );
}

/// The top-level names of a JSON object.
fn top(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// A query: every official member is a field; with every member set it serialises exactly the
/// official key set, with the required ones exactly those, and empty nothing optional (the last
/// two where the SDK says which members are required: `minimal`).
pub fn query<T: Serialize + DeserializeOwned + Default>(
    method: &str,
    template: &str,
    full: &str,
    minimal: Option<&str>,
) {
    part::<T>(method, template, Part::Query, full, minimal, |t| {
        serde_json::to_value(t).map_err(|e| e.to_string())
    });
}

/// A body: the same, serialised as the request sends it (`Call::json`).
pub fn request<T: Serialize + DeserializeOwned + Default>(
    method: &str,
    template: &str,
    full: &str,
    minimal: Option<&str>,
) {
    part::<T>(method, template, Part::Body, full, minimal, |t| {
        sent(t).map_err(|e| match e {
            wechatpay_core::BuildError::MissingField { field } => format!("missing {field}"),
            other => other.to_string(),
        })
    });
}

/// A query or a body, `send` serialising it as it is sent.
fn part<T: DeserializeOwned + Default>(
    method: &str,
    template: &str,
    part: Part,
    full: &str,
    minimal: Option<&str>,
    send: impl Fn(&T) -> Result<Value, String>,
) {
    let cases = [("full", Some(full)), ("minimal", minimal)];
    for (what, text) in cases.into_iter().filter_map(|(w, t)| t.map(|t| (w, t))) {
        let v = parse(text);
        no_unknown(method, template, part, &v);
        let t: T = serde_json::from_value(v.clone())
            .unwrap_or_else(|e| panic!("{method} {template} {what} {part:?}: {e}\n{v}"));
        let back = send(&t).unwrap_or_else(|e| panic!("{method} {template} {what} {part:?}: {e}"));
        assert_eq!(
            keys(&back),
            keys(&v),
            "{method} {template}: the {what} {part:?}'s key set is not the official one"
        );
    }
    if let Some(minimal) = minimal {
        empty::<T>(method, template, &parse(minimal), send);
    }
}

/// An empty value sends no optional member: either nothing beyond the required members, or a
/// refusal that names a required one.
fn empty<T: Default>(
    method: &str,
    template: &str,
    minimal: &Value,
    send: impl Fn(&T) -> Result<Value, String>,
) {
    let required = top(minimal);
    match send(&T::default()) {
        Ok(v) => {
            for k in top(&v) {
                assert!(
                    required.contains(&k),
                    "{method} {template}: `{k}` is sent although nobody set it"
                );
            }
        }
        Err(e) => {
            let field = e
                .strip_prefix("missing ")
                .map(str::to_string)
                .or_else(|| e.contains("required field is empty").then(String::new))
                .unwrap_or_else(|| panic!("{method} {template}: an empty value fails with {e}"));
            if !field.is_empty() {
                let first = field.split(['.', '[']).next().unwrap_or("");
                assert!(
                    required.contains(&first),
                    "{method} {template}: refused for `{field}`, which the official models do not require"
                );
            }
        }
    }
}

/// An answer: the full one decodes through `decode_answer` (the client's reading) with every
/// member known and round-trips with nothing dropped; the minimal one decodes.
pub fn answer<T: Serialize + DeserializeOwned>(
    method: &str,
    template: &str,
    full: &str,
    minimal: &str,
) {
    let v = parse(full);
    no_unknown(method, template, Part::Answer, &v);
    let back = wechatpay_api::decode_answer(method, template, full.as_bytes())
        .unwrap_or_else(|| panic!("{method} {template}: no decoder"))
        .unwrap_or_else(|e| panic!("{method} {template} full answer: {e}\n{full}"));
    assert!(
        same(&back, &v),
        "{method} {template}: the full answer does not round-trip\n{full}\n{back}"
    );
    let typed: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{method} {template} full answer as the type: {e}"));
    assert!(same(&serde_json::to_value(&typed).unwrap(), &v));
    wechatpay_api::decode_answer(method, template, minimal.as_bytes())
        .unwrap_or_else(|| panic!("{method} {template}: no decoder"))
        .unwrap_or_else(|e| panic!("{method} {template} minimal answer: {e}\n{minimal}"));
    let _: T = serde_json::from_str(minimal)
        .unwrap_or_else(|e| panic!("{method} {template} minimal answer as the type: {e}"));
}

/// A notification resource the official SDKs read with this model: the type reads that event,
/// and the full resource round-trips.
pub fn notification<T: wechatpay_core::notify::Resource + Serialize>(event: &str, full: &str) {
    assert!(
        T::event_types().is_some_and(|e| e.contains(&event)),
        "{} does not read {event}",
        std::any::type_name::<T>()
    );
    let v = parse(full);
    let t: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{event}: {e}"));
    let back = serde_json::to_value(&t).unwrap();
    assert!(same(&back, &v), "{event}: round trip\n{full}\n{back}");
    let _: T = serde_json::from_str("{}").unwrap_or_else(|e| panic!("{event} empty: {e}"));
}

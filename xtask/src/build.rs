//! The merged endpoints read into families, modules and their types (an arena per family).

use std::collections::{BTreeMap, BTreeSet};

use crate::json::J;
use crate::model::{Arena, Lit, Side};
use crate::names::{chain_of, field_ident, function_of, module_of, pascal};
use crate::official::{EventLink, Merged};

#[derive(Debug, Clone)]
pub enum ParamTy {
    Str,
    I64,
    Enum(usize),
    Display,
}

#[derive(Debug, Clone)]
pub enum Body {
    None,
    Json(usize),
    Multipart,
}

#[derive(Debug, Clone)]
pub enum Answer {
    /// `204`: `()`.
    Unit,
    /// An empty schema with a `200`/`202`: any JSON or nothing.
    Empty,
    Json(usize),
    /// A `204` whose TS still declares a body: `Option<T>`.
    MaybeJson(usize),
    Bytes,
    /// A protocol type of the core (a bill's download information).
    Core(&'static str),
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub method: String,
    pub path: String,
    pub title: String,
    pub doc: String,
    pub family: String,
    pub module: Vec<String>,
    pub func: String,
    pub chain: String,
    pub path_params: Vec<(String, ParamTy)>,
    pub query: Option<usize>,
    pub body: Body,
    pub answer: Answer,
    /// Declared request headers other than `Wechatpay-Serial`: `(wire, ident, required)`.
    pub headers: Vec<(String, String, bool)>,
    pub serial_header: bool,
    pub notes: Vec<String>,
    /// The official SDK methods that make this call (`Go `payments.jsapi.JsapiApiService.Prepay``).
    pub official_methods: Vec<String>,
    /// The official SDKs' description of the call.
    pub official_doc: String,
    /// Only the official SDKs have it (the catalog does not).
    pub official_only: bool,
}

/// One Rust module of endpoints (`pay::transactions`).
#[derive(Debug, Default)]
pub struct Module {
    pub path: Vec<String>,
    pub endpoints: Vec<Endpoint>,
}

/// A family (the first path segment after `/v3/`): its modules, and one arena for all its types
/// (a type several modules use lives once, at their common module).
#[derive(Debug, Default)]
pub struct Family {
    pub name: String,
    pub modules: Vec<Module>,
    pub arena: Arena,
}

/// Names a generated type must not take: what generated code and the prelude refer to.
const RESERVED: &[&str] = &[
    "Option",
    "Result",
    "Vec",
    "String",
    "Box",
    "Some",
    "None",
    "Ok",
    "Err",
    "Default",
    "Call",
    "BuildError",
    "Sensitive",
    "DateTime",
    "Empty",
    "StringOrNumber",
    "Self",
    "Clone",
    "Debug",
    "Serialize",
    "Deserialize",
    "PartialEq",
    "From",
    "Into",
    "Drop",
    "Fn",
    "Send",
    "Sync",
    "Copy",
    "Sized",
    "Iterator",
    "IntoIterator",
    "Extend",
    "ToString",
    "ToOwned",
    "AsRef",
    "AsMut",
    "Eq",
    "Ord",
    "PartialOrd",
    "Hash",
    "Unpin",
];

pub struct Overrides {
    pub functions: BTreeMap<String, String>,
    /// Notification resources of their own: `(type name, event types, doc)`.
    pub events: Vec<(String, Vec<String>, String)>,
    /// Notifications read by an official model.
    pub links: Vec<EventLink>,
}

pub fn overrides(j: &J) -> Result<Overrides, String> {
    let mut functions = BTreeMap::new();
    for (k, v) in j.get("functions").and_then(J::obj).unwrap_or(&[]) {
        functions.insert(k.clone(), v.str().ok_or("function override")?.to_string());
    }
    let mut events = Vec::new();
    let mut links = Vec::new();
    for e in j.get("events").and_then(J::arr).unwrap_or(&[]) {
        let kinds = e.strings("events");
        if kinds.is_empty() {
            return Err("names.json: an event entry without events".into());
        }
        if let Some(model) = e.get("model").and_then(J::str) {
            links.push(EventLink {
                model: model.to_string(),
                also: e.strings("also"),
                events: kinds,
                exclude: e.strings("exclude"),
            });
        } else {
            events.push((e.s("name").to_string(), kinds, e.s("doc").to_string()));
        }
    }
    Ok(Overrides {
        functions,
        events,
        links,
    })
}

/// Group the merged endpoints into families and modules and build every endpoint's types.
pub fn families(entries: &[J], ov: &Overrides) -> Result<Vec<Family>, String> {
    // Names first: the rule, then the collision fallback, then the override table.
    let mut names: BTreeMap<Vec<String>, Vec<(usize, String)>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        let module = module_of(e.s("path"));
        names
            .entry(module)
            .or_default()
            .push((i, function_of(e.s("method"), e.s("path"), false)));
    }
    let mut func_of: BTreeMap<usize, String> = BTreeMap::new();
    for (module, list) in &names {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, n) in list {
            *count.entry(n).or_default() += 1;
        }
        for (i, n) in list {
            let e = &entries[*i];
            let key = format!("{} {}", e.s("method"), e.s("path"));
            let name = if let Some(o) = ov.functions.get(&key) {
                o.clone()
            } else if count[n.as_str()] > 1 {
                function_of(e.s("method"), e.s("path"), true)
            } else {
                n.clone()
            };
            func_of.insert(*i, name);
        }
        let mut seen = BTreeSet::new();
        for (i, _) in list {
            if !seen.insert(func_of[i].clone()) {
                return Err(format!(
                    "{}::{} names two endpoints: add an override",
                    module.join("::"),
                    func_of[i]
                ));
            }
        }
    }
    let mut by_family: BTreeMap<String, Family> = BTreeMap::new();
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|a, b| {
        let (x, y) = (&entries[*a], &entries[*b]);
        (x.s("path"), x.s("method")).cmp(&(y.s("path"), y.s("method")))
    });
    for i in order {
        let e = &entries[i];
        let family = e.s("family").to_string();
        let f = by_family.entry(family.clone()).or_insert_with(|| Family {
            name: family.clone(),
            ..Default::default()
        });
        let ep = endpoint(e, &func_of[&i], &mut f.arena)
            .map_err(|err| format!("{} {}: {err}", e.s("method"), e.s("path")))?;
        match f.modules.iter_mut().find(|m| m.path == ep.module) {
            Some(m) => m.endpoints.push(ep),
            None => f.modules.push(Module {
                path: ep.module.clone(),
                endpoints: vec![ep],
            }),
        }
    }
    let mut out: Vec<Family> = by_family.into_values().collect();
    let reserved: BTreeSet<String> = RESERVED.iter().map(|s| s.to_string()).collect();
    for f in &mut out {
        f.modules.sort_by(|a, b| a.path.cmp(&b.path));
        f.arena.dedupe();
        f.arena
            .assign_names(&reserved)
            .map_err(|e| format!("family {}: {e}", f.name))?;
    }
    Ok(out)
}

/// The object node of a top-level location: the merged official model when there is one (its
/// annotations name and place it), else the catalog's members.
fn top_node(e: &J, loc: &str, members: &[(String, J)]) -> J {
    match e.get(&format!("{loc}_model")) {
        Some(node) => node.clone(),
        None => J::Obj(vec![("object".into(), J::Obj(members.to_vec()))]),
    }
}

fn endpoint(e: &J, func: &str, arena: &mut Arena) -> Result<Endpoint, String> {
    let method = e.s("method").to_string();
    let path = e.s("path").to_string();
    let module = module_of(&path);
    let base = pascal(func);
    let top = |arena: &mut Arena, id: usize| {
        arena.structs[id].top = true;
        arena.structs[id].top_uses = 1;
    };

    // Path parameters: strings, unless the TS says number, an enum or a union.
    let types = e.get("path_param_types");
    let mut path_params = Vec::new();
    for p in e.get("path_params").and_then(J::arr).unwrap_or(&[]) {
        let name = p.str().ok_or("path param")?.to_string();
        let ty = match types.and_then(|t| t.get(&name)) {
            None => ParamTy::Str,
            Some(J::Str(s)) if s == "string" => ParamTy::Str,
            Some(J::Str(s)) if s == "number" || s == "integer" => ParamTy::I64,
            Some(node) if node.get("enum").is_some() => {
                let lits = node
                    .get("enum")
                    .and_then(J::arr)
                    .unwrap_or(&[])
                    .iter()
                    .filter_map(J::str)
                    .map(|s| Lit::S(s.to_string()))
                    .collect();
                let id = arena.enums.len();
                arena.enums.push(crate::model::EnumDef {
                    side: Side::Request,
                    lits,
                    int: false,
                    candidate: pascal(&name),
                    owners: Vec::new(),
                    name: String::new(),
                    module: module.clone(),
                    merged_into: None,
                    official: None,
                    values_doc: BTreeMap::new(),
                    doc: String::new(),
                });
                ParamTy::Enum(id)
            }
            Some(_) => ParamTy::Display,
        };
        path_params.push((name, ty));
    }

    let query_members = e.get("query").and_then(J::obj).unwrap_or(&[]).to_vec();
    let query = if query_members.is_empty() {
        None
    } else {
        let node = top_node(e, "query", &query_members);
        let id = arena.object(
            &node,
            "query",
            format!("{base}Query"),
            None,
            &module,
            Side::Request,
        )?;
        top(arena, id);
        Some(id)
    };

    let body = match e.s("request_kind") {
        "multipart" => Body::Multipart,
        "json" => {
            let members = e.get("request").and_then(J::obj).unwrap_or(&[]).to_vec();
            let node = top_node(e, "request", &members);
            let id = arena.object(
                &node,
                "request",
                format!("{base}Request"),
                None,
                &module,
                Side::Request,
            )?;
            top(arena, id);
            Body::Json(id)
        }
        _ => Body::None,
    };

    let yaml = e.get("yaml").filter(|y| !matches!(y, J::Null));
    let status = yaml
        .and_then(|y| y.get("status"))
        .and_then(|s| match s {
            J::Num(n) => n.as_u64(),
            _ => None,
        })
        .unwrap_or(200);
    let answer = if e.s("response_kind") == "stream" {
        Answer::Bytes
    } else {
        let members = e.get("response").and_then(J::obj).unwrap_or(&[]).to_vec();
        if let Some(path) = crate::model::core_shape(&members) {
            Answer::Core(path)
        } else if members.is_empty() {
            if status == 204 {
                Answer::Unit
            } else {
                Answer::Empty
            }
        } else {
            let node = top_node(e, "response", &members);
            let id = arena.object(
                &node,
                "response",
                format!("{base}Response"),
                None,
                &module,
                Side::Answer,
            )?;
            top(arena, id);
            if status == 204 {
                Answer::MaybeJson(id)
            } else {
                Answer::Json(id)
            }
        }
    };

    let mut headers = Vec::new();
    let mut serial_header = e.is_true("official_serial");
    for (name, node) in e.get("headers").and_then(J::obj).unwrap_or(&[]) {
        if name.eq_ignore_ascii_case("Wechatpay-Serial") {
            serial_header = true;
        } else {
            headers.push((name.clone(), field_ident(name), !node.is_true("optional")));
        }
    }
    if yaml
        .and_then(|y| y.get("headers"))
        .and_then(|h| h.get("Wechatpay-Serial"))
        .is_some()
    {
        serial_header = true;
    }
    let mut notes = e.strings("notes");
    notes.sort();
    notes.dedup();
    // Sanity: every placeholder is a parameter.
    for seg in path.split('/') {
        if let Some(p) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if !path_params.iter().any(|(n, _)| n == p) {
                return Err(format!("placeholder {p} is not a path parameter"));
            }
        }
    }
    Ok(Endpoint {
        family: e.s("family").to_string(),
        module,
        func: func.to_string(),
        chain: chain_of(&method, &path),
        title: e.s("title").to_string(),
        doc: e.s("doc").to_string(),
        method,
        path,
        path_params,
        query,
        body,
        answer,
        headers,
        serial_header,
        notes,
        official_methods: e.strings("official_methods"),
        official_doc: e.s("official_doc").to_string(),
        official_only: e.is_true("official_only"),
    })
}

/// A notification resource type: its struct, the events it serves, its doc line.
pub type EventType = (usize, Vec<String>, String);

/// The notification resources no official model reads, one arena (module `events`).
pub fn events(
    webhooks: &J,
    ov: &Overrides,
    merged: &Merged,
) -> Result<(Arena, Vec<EventType>), String> {
    let all = webhooks
        .get("events")
        .and_then(J::arr)
        .ok_or("webhooks.events")?;
    let mut arena = Arena::default();
    let mut tops = Vec::new();
    let mut covered: BTreeSet<String> = ov
        .links
        .iter()
        .flat_map(|l| l.events.iter().cloned())
        .collect();
    let module = vec!["events".to_string()];
    for (name, kinds, doc) in &ov.events {
        let mut members: Vec<(String, J)> = Vec::new();
        for k in kinds {
            let ev = all
                .iter()
                .find(|e| e.s("event_type") == k)
                .ok_or_else(|| format!("no event {k}"))?;
            covered.insert(k.clone());
            union_into(
                &mut members,
                ev.get("resource").and_then(J::obj).unwrap_or(&[]),
            );
        }
        let node = J::Obj(vec![
            ("object".into(), J::Obj(merged.event_members(&members))),
            (
                "events".into(),
                J::Arr(kinds.iter().map(|k| J::Str(k.clone())).collect()),
            ),
        ]);
        let id = arena.object(&node, "resource", name.clone(), None, &module, Side::Answer)?;
        arena.structs[id].top = true;
        tops.push((id, kinds.clone(), doc.clone()));
    }
    for e in all {
        if !covered.contains(e.s("event_type")) {
            return Err(format!(
                "event {} has no type in names.json",
                e.s("event_type")
            ));
        }
    }
    arena.dedupe();
    let reserved: BTreeSet<String> = RESERVED.iter().map(|s| s.to_string()).collect();
    arena.assign_names(&reserved)?;
    Ok((arena, tops))
}

/// The union of two object member lists (objects and arrays of objects merged member by member):
/// every event field is optional, so one type reads every variant.
fn union_into(into: &mut Vec<(String, J)>, from: &[(String, J)]) {
    for (k, v) in from {
        match into.iter_mut().find(|(n, _)| n == k) {
            None => into.push((k.clone(), v.clone())),
            Some((_, existing)) => {
                if let (Some(a), Some(b)) = (
                    object_members_mut(existing),
                    v.get("object").and_then(J::obj),
                ) {
                    union_into(a, b);
                } else if let (Some(a), Some(b)) = (
                    existing
                        .get("array")
                        .is_some()
                        .then_some(())
                        .and(array_object_members_mut(existing)),
                    v.get("array")
                        .and_then(|a| a.get("object"))
                        .and_then(J::obj),
                ) {
                    union_into(a, b);
                }
            }
        }
    }
}

fn object_members_mut(j: &mut J) -> Option<&mut Vec<(String, J)>> {
    let J::Obj(m) = j else { return None };
    match m.iter_mut().find(|(k, _)| k == "object").map(|(_, v)| v) {
        Some(J::Obj(members)) => Some(members),
        _ => None,
    }
}

fn array_object_members_mut(j: &mut J) -> Option<&mut Vec<(String, J)>> {
    let J::Obj(m) = j else { return None };
    let arr = m.iter_mut().find(|(k, _)| k == "array").map(|(_, v)| v)?;
    object_members_mut(arr)
}

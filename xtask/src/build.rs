//! The catalog read into endpoints and modules (an arena of types per module).

use std::collections::{BTreeMap, BTreeSet};

use crate::json::J;
use crate::model::{merge_yaml_only, Arena, Facts, Lit, Role, Ty};
use crate::names::{chain_of, field_ident, function_of, module_of, pascal};

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
}

#[derive(Debug, Default)]
pub struct Module {
    pub path: Vec<String>,
    pub endpoints: Vec<Endpoint>,
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
    pub answer_optional: BTreeMap<String, BTreeSet<String>>,
    pub events: Vec<(String, Vec<String>, String)>,
}

pub fn overrides(j: &J) -> Result<Overrides, String> {
    let mut functions = BTreeMap::new();
    for (k, v) in j.get("functions").and_then(J::obj).unwrap_or(&[]) {
        functions.insert(k.clone(), v.str().ok_or("function override")?.to_string());
    }
    let mut events = Vec::new();
    for e in j.get("events").and_then(J::arr).unwrap_or(&[]) {
        let kinds = e
            .get("events")
            .and_then(J::arr)
            .ok_or("events")?
            .iter()
            .filter_map(J::str)
            .map(str::to_string)
            .collect();
        events.push((e.s("name").to_string(), kinds, e.s("doc").to_string()));
    }
    let mut answer_optional = BTreeMap::new();
    for (k, v) in j.get("answer_optional").and_then(J::obj).unwrap_or(&[]) {
        answer_optional.insert(k.clone(), string_set(Some(v)));
    }
    Ok(Overrides {
        functions,
        answer_optional,
        events,
    })
}

fn string_set(j: Option<&J>) -> BTreeSet<String> {
    j.and_then(J::arr)
        .unwrap_or(&[])
        .iter()
        .filter_map(J::str)
        .map(str::to_string)
        .collect()
}

/// Group the catalog into modules and build every endpoint's types.
pub fn modules(catalog: &J, ov: &Overrides) -> Result<Vec<Module>, String> {
    let entries = catalog
        .get("endpoints")
        .and_then(J::arr)
        .ok_or("catalog.endpoints")?;
    let mut by_module: BTreeMap<Vec<String>, Module> = BTreeMap::new();
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
    for (i, e) in entries.iter().enumerate() {
        let module_path = module_of(e.s("path"));
        let m = by_module
            .entry(module_path.clone())
            .or_insert_with(|| Module {
                path: module_path.clone(),
                ..Default::default()
            });
        let key = format!("{} {}", e.s("method"), e.s("path"));
        let none = BTreeSet::new();
        let optional = ov.answer_optional.get(&key).unwrap_or(&none);
        let ep = endpoint(e, &func_of[&i], optional, &mut m.arena)
            .map_err(|err| format!("{} {}: {err}", e.s("method"), e.s("path")))?;
        m.endpoints.push(ep);
    }
    let mut out: Vec<Module> = by_module.into_values().collect();
    for m in &mut out {
        m.arena.dedupe();
        let mut taken: BTreeSet<String> = m
            .arena
            .structs
            .iter()
            .filter(|s| s.top)
            .map(|s| s.name.clone())
            .collect();
        taken.extend(RESERVED.iter().map(|s| s.to_string()));
        m.arena
            .assign_names(&taken)
            .map_err(|e| format!("{}: {e}", m.path.join("::")))?;
    }
    Ok(out)
}

fn endpoint(
    e: &J,
    func: &str,
    answer_optional: &BTreeSet<String>,
    arena: &mut Arena,
) -> Result<Endpoint, String> {
    let method = e.s("method").to_string();
    let path = e.s("path").to_string();
    let yaml = e.get("yaml").filter(|y| !matches!(y, J::Null));
    let mut required: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if let Some(r) = yaml.and_then(|y| y.get("required")).and_then(J::obj) {
        for (loc, list) in r {
            required.insert(loc.clone(), string_set(Some(list)));
        }
    }
    let sensitive = string_set(yaml.and_then(|y| y.get("base64_in_yaml")));
    let only: Vec<(String, J)> = yaml
        .and_then(|y| y.get("only_in_yaml"))
        .and_then(J::obj)
        .unwrap_or(&[])
        .to_vec();
    let yaml_only: BTreeSet<String> = only.iter().map(|(k, _)| k.clone()).collect();
    let mut enums: BTreeMap<String, J> = BTreeMap::new();
    if let Some(list) = yaml.and_then(|y| y.get("enums")).and_then(J::obj) {
        for (loc, lits) in list {
            enums.insert(loc.clone(), lits.clone());
        }
    }
    let facts = Facts {
        required: &required,
        sensitive: &sensitive,
        yaml_only: &yaml_only,
        query_optional: e.is_true("query_optional"),
        enums: &enums,
        answer_optional,
    };
    let base = pascal(func);
    let top = |arena: &mut Arena, id: usize| {
        arena.structs[id].top = true;
        arena.structs[id].name = arena.structs[id].candidate.clone();
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
                    role: Role::Query,
                    lits,
                    int: false,
                    candidate: pascal(&name),
                    owners: Vec::new(),
                    name: String::new(),
                    merged_into: None,
                });
                ParamTy::Enum(id)
            }
            Some(_) => ParamTy::Display,
        };
        path_params.push((name, ty));
    }

    let query_members = e.get("query").and_then(J::obj).unwrap_or(&[]).to_vec();
    let query_members = merge_yaml_only("query", &query_members, &only)?;
    let query = if query_members.is_empty() {
        None
    } else {
        let id = arena.object(
            Role::Query,
            &query_members,
            "query",
            format!("{base}Query"),
            None,
            &facts,
        )?;
        top(arena, id);
        Some(id)
    };

    let body = match e.s("request_kind") {
        "multipart" => Body::Multipart,
        "json" => {
            let members = e.get("request").and_then(J::obj).unwrap_or(&[]).to_vec();
            let members = merge_yaml_only("request", &members, &only)?;
            let id = arena.object(
                Role::Request,
                &members,
                "request",
                format!("{base}Request"),
                None,
                &facts,
            )?;
            top(arena, id);
            Body::Json(id)
        }
        _ => Body::None,
    };

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
        let members = merge_yaml_only("response", &members, &only)?;
        if let Some(path) = crate::model::core_shape(&members) {
            Answer::Core(path)
        } else if members.is_empty() {
            if status == 204 {
                Answer::Unit
            } else {
                Answer::Empty
            }
        } else {
            let id = arena.object(
                Role::Response,
                &members,
                "response",
                format!("{base}Response"),
                None,
                &facts,
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
    let mut serial_header = false;
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
    let notes = string_set(e.get("notes")).into_iter().collect();
    // Sanity: every placeholder is a parameter.
    for seg in path.split('/') {
        if let Some(p) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if !path_params.iter().any(|(n, _)| n == p) {
                return Err(format!("placeholder {p} is not a path parameter"));
            }
        }
    }
    let _ = Ty::Str;
    Ok(Endpoint {
        family: e.s("family").to_string(),
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
    })
}

/// A notification resource type: its struct, the events it serves, its doc line.
pub type EventType = (usize, Vec<String>, String);

/// The notification resources, one arena.
pub fn events(webhooks: &J, ov: &Overrides) -> Result<(Arena, Vec<EventType>), String> {
    let all = webhooks
        .get("events")
        .and_then(J::arr)
        .ok_or("webhooks.events")?;
    let mut arena = Arena::default();
    let empty = BTreeMap::new();
    let none = BTreeSet::new();
    let no_enums = BTreeMap::new();
    let facts = Facts {
        required: &empty,
        sensitive: &none,
        yaml_only: &none,
        query_optional: false,
        enums: &no_enums,
        answer_optional: &none,
    };
    let mut tops = Vec::new();
    let mut covered = BTreeSet::new();
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
        let id = arena.object(
            Role::Event,
            &members,
            "resource",
            name.clone(),
            None,
            &facts,
        )?;
        arena.structs[id].top = true;
        arena.structs[id].name = name.clone();
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
    let mut taken: BTreeSet<String> = ov.events.iter().map(|(n, _, _)| n.clone()).collect();
    taken.extend(RESERVED.iter().map(|s| s.to_string()));
    arena.assign_names(&taken)?;
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

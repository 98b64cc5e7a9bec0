//! The merge of the sources: the official SDKs' models (`api/spec/official/{go,java}.json`) over
//! the community catalog (`api/spec/catalog.json`, `webhooks.json`). The precedence rule is written
//! out in `api/spec/README.md` ("Precedence") and applied here, once:
//!
//! - **Endpoints**: the catalog's, and the official endpoints the catalog lacks.
//! - **Members** of an object an official model covers: the official fields (Go's order, then
//!   Java's), then the catalog's other members. Elsewhere: the catalog's.
//! - **Type**: the official one (Go, then Java; Java's enum over Go's plain string, Go's date-time
//!   over Java's string); the catalog's where no official model covers the member.
//! - **Required**: only where a source says so, never by default. In an official model: an
//!   official SDK says required (Go: no `omitempty`; Java: `必填`) and none says optional, and the
//!   model does not also serve a notification (notifications guarantee nothing). Catalog members
//!   of official models: optional. Elsewhere: request members named by the YAML `required` list
//!   of their object; answer and notification members never.
//! - **Sensitive**: an official `encrypted` field or a YAML `format: base64` member.
//! - **Docs**: Go's description, then Java's; a catalog member takes the description every
//!   official field of its name shares, if they share one.
//!
//! The output is the catalog's own grammar, every member annotated (`req`, `strict`, `doc`,
//! `sensitive`, `yaml_only`; objects and enums `model`, `side`, `events`), read by `build.rs`.
//! Every disagreement between the sources is written to the conflict report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::json::J;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sdk {
    Go,
    Java,
}

impl Sdk {
    fn name(self) -> &'static str {
        match self {
            Sdk::Go => "Go",
            Sdk::Java => "Java",
        }
    }
}

/// How a model is used: in what we send, in what we receive, in a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Use {
    Request,
    Answer,
    Event,
}

/// An official notification link (names.json `events` entries with a `model`).
#[derive(Debug, Clone)]
pub struct EventLink {
    pub model: String,
    pub also: Vec<String>,
    pub events: Vec<String>,
    pub exclude: Vec<String>,
}

/// `{x}` → `{}`.
pub fn anon(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push('{');
            }
            '}' => {
                inside = false;
                out.push('}');
            }
            _ if inside => {}
            c => out.push(c),
        }
    }
    out
}

fn obj(members: Vec<(String, J)>) -> J {
    J::Obj(members)
}

fn s(v: &str) -> J {
    J::Str(v.to_string())
}

/// Set `key` on an object node (replacing it).
fn set(node: &mut J, key: &str, value: J) {
    if let J::Obj(m) = node {
        if let Some(slot) = m.iter_mut().find(|(k, _)| k == key) {
            slot.1 = value;
        } else {
            m.push((key.to_string(), value));
        }
    }
}

fn remove(node: &mut J, key: &str) {
    if let J::Obj(m) = node {
        m.retain(|(k, _)| k != key);
    }
}

/// A catalog type node in object form (`"string"` → `{"type": "string"}`).
fn object_form(node: &J) -> J {
    match node {
        J::Str(t) => obj(vec![("type".into(), s(t))]),
        other => other.clone(),
    }
}

/// One official field of one SDK.
#[derive(Debug, Clone)]
struct OField {
    sdk: Sdk,
    f: J,
}

impl OField {
    fn ty(&self) -> &str {
        self.f.s("type")
    }
    fn model(&self) -> Option<&str> {
        self.f.get("model").and_then(J::str)
    }
    fn required(&self) -> Option<bool> {
        match self.f.get("required") {
            Some(J::Bool(b)) => Some(*b),
            _ => None,
        }
    }
    fn doc(&self) -> &str {
        self.f.s("doc")
    }
    fn encrypted(&self) -> bool {
        self.f.is_true("encrypted")
    }
    /// The element kind of an array (`string`, `int`, `enum`, `object`).
    fn items(&self) -> &str {
        self.f.s("items")
    }
}

#[derive(Debug, Default, Clone)]
struct RegField {
    wire: String,
    go: Option<OField>,
    java: Option<OField>,
    /// The catalog's annotated node for this member (the union of every use).
    catalog: Option<J>,
}

/// Everything known about one official model, over all its uses.
#[derive(Debug, Default)]
struct Reg {
    enum_kind: bool,
    /// Model names per SDK (Go's is the canonical one when Go has it).
    names: BTreeSet<(Sdk, String)>,
    fields: Vec<RegField>,
    uses: BTreeSet<Use>,
    events: BTreeSet<String>,
    doc: String,
    values: Vec<(String, String)>,
    /// Webhook members left out (another model serves that variant).
    exclude: BTreeSet<String>,
    /// When a notification's published payload shows this object: the members it shows. A
    /// notification guarantees no member it does not show.
    event_fields: Option<BTreeSet<String>>,
}

impl Reg {
    /// The field `wire`, added (with no source yet) when it is not there.
    fn field_mut(&mut self, wire: &str) -> &mut RegField {
        let at = match self.fields.iter().position(|x| x.wire == wire) {
            Some(i) => i,
            None => {
                self.fields.push(RegField {
                    wire: wire.to_string(),
                    ..Default::default()
                });
                self.fields.len() - 1
            }
        };
        &mut self.fields[at]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Conflict {
    pub endpoint: String,
    pub location: String,
    pub kind: &'static str,
    pub text: String,
}

struct Ctx<'a> {
    go: &'a J,
    java: &'a J,
    /// Java model → the Go model it is the same as.
    canon: BTreeMap<String, String>,
    reg: BTreeMap<String, Reg>,
    conflicts: BTreeSet<Conflict>,
    /// Wire name → the one description every official field of that name shares.
    shared_docs: BTreeMap<String, String>,
    walked: BTreeSet<(Sdk, String, String)>,
    /// (root package, family) → the Rust module its models live in: the longest common prefix
    /// of the modules of the package's endpoints in that family.
    locations: BTreeMap<(String, String), Vec<String>>,
}

fn models(j: &J) -> &[(String, J)] {
    j.get("models").and_then(J::obj).unwrap_or(&[])
}

fn endpoints(j: &J) -> &[J] {
    j.get("endpoints").and_then(J::arr).unwrap_or(&[])
}

impl<'a> Ctx<'a> {
    fn sdk_json(&self, sdk: Sdk) -> &'a J {
        match sdk {
            Sdk::Go => self.go,
            Sdk::Java => self.java,
        }
    }

    fn model_def(&self, sdk: Sdk, name: &str) -> Option<&'a J> {
        models(self.sdk_json(sdk))
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    fn canonical(&self, sdk: Sdk, name: &str) -> String {
        match sdk {
            Sdk::Go => name.to_string(),
            Sdk::Java => self
                .canon
                .get(name)
                .cloned()
                .unwrap_or_else(|| name.to_string()),
        }
    }

    /// The Rust name and home of official model `key` used in `family`.
    fn placement(&self, key: &str, family: &str, fallback: &[String]) -> J {
        let model = key.split('#').next().unwrap_or(key);
        let def = self
            .model_def(Sdk::Go, model)
            .or_else(|| self.model_def(Sdk::Java, model));
        let (package, name) = match def.and_then(|d| d.get("inner_of")).and_then(J::str) {
            // A Java inner enum (`payments.Transaction.TradeStateEnum`): `TradeState`, in the
            // outer class's package.
            Some(outer) => {
                let inner = model.rsplit('.').next().unwrap_or(model);
                let inner = inner
                    .strip_suffix("Enum")
                    .filter(|x| !x.is_empty())
                    .unwrap_or(inner);
                let package = outer.rsplit_once('.').map(|x| x.0).unwrap_or("");
                (package.to_string(), inner.to_string())
            }
            None => match model.rsplit_once('.') {
                Some((p, n)) => (p.to_string(), n.to_string()),
                None => (String::new(), model.to_string()),
            },
        };
        let mut parts = package.split('.');
        let root = parts.next().unwrap_or("").to_string();
        let sub = parts.next().map(|x| match x {
            "nativepay" => "native".to_string(),
            other => crate::names::item_ident(other),
        });
        let module = self
            .locations
            .get(&(root, family.to_string()))
            .cloned()
            .unwrap_or_else(|| fallback.to_vec());
        let mut r = obj(vec![
            ("name".into(), s(&name)),
            (
                "module".into(),
                J::Arr(module.iter().map(|m| s(m)).collect()),
            ),
        ]);
        if let Some(sub) = sub {
            set(&mut r, "sub", s(&sub));
        }
        r
    }

    fn conflict(&mut self, endpoint: &str, location: &str, kind: &'static str, text: String) {
        self.conflicts.insert(Conflict {
            endpoint: endpoint.to_string(),
            location: location.to_string(),
            kind,
            text,
        });
    }

    /// Pair Java models with the Go models in the same place.
    fn pair(&mut self, go_fields: &[J], java_fields: &[J], depth: usize) {
        if depth > 12 {
            return;
        }
        for jf in java_fields {
            let Some(gf) = go_fields.iter().find(|g| g.s("name") == jf.s("name")) else {
                continue;
            };
            let (Some(gm), Some(jm)) = (
                gf.get("model").and_then(J::str),
                jf.get("model").and_then(J::str),
            ) else {
                continue;
            };
            if self.canon.contains_key(jm) {
                continue;
            }
            self.canon.insert(jm.to_string(), gm.to_string());
            let gdef = self.model_def(Sdk::Go, gm);
            let jdef = self.model_def(Sdk::Java, jm);
            if let (Some(g), Some(j)) = (gdef, jdef) {
                let gfs = g.get("fields").and_then(J::arr).unwrap_or(&[]).to_vec();
                let jfs = j.get("fields").and_then(J::arr).unwrap_or(&[]).to_vec();
                self.pair(&gfs, &jfs, depth + 1);
            }
        }
    }

    fn reg_entry(&mut self, key: &str) -> &mut Reg {
        self.reg.entry(key.to_string()).or_default()
    }

    /// Record the fields of one SDK for model `key` (and its nested models), for `usage`.
    fn collect_fields(&mut self, key: &str, sdk: Sdk, fields: &[J], usage: Use, depth: usize) {
        if depth > 12 {
            return;
        }
        self.reg_entry(key).uses.insert(usage);
        for f in fields {
            let wire = f.s("name").to_string();
            let of = OField { sdk, f: f.clone() };
            {
                let rf = self.reg_entry(key).field_mut(&wire);
                let slot = match sdk {
                    Sdk::Go => &mut rf.go,
                    Sdk::Java => &mut rf.java,
                };
                if slot.is_none() {
                    *slot = Some(of.clone());
                }
            }
            if let Some(m) = of.model() {
                let m = m.to_string();
                self.collect_model(sdk, &m, usage, depth + 1);
            }
        }
    }

    /// Record the definition of model `name` of `sdk` (struct fields or enum values).
    fn collect_model(&mut self, sdk: Sdk, name: &str, usage: Use, depth: usize) {
        let key = self.canonical(sdk, name);
        let Some(def) = self.model_def(sdk, name) else {
            return;
        };
        {
            let reg = self.reg_entry(&key);
            reg.names.insert((sdk, name.to_string()));
            reg.uses.insert(usage);
            if reg.doc.is_empty() {
                reg.doc = def.s("doc").to_string();
            }
        }
        if def.s("kind") == "enum" {
            let reg = self.reg_entry(&key);
            reg.enum_kind = true;
            for v in def.get("values").and_then(J::arr).unwrap_or(&[]) {
                let lit = v.s("value").to_string();
                let doc = v.s("doc").to_string();
                match reg.values.iter_mut().find(|(l, _)| *l == lit) {
                    Some((_, d)) if d.is_empty() => *d = doc,
                    Some(_) => {}
                    None => reg.values.push((lit, doc)),
                }
            }
            return;
        }
        // A model's own fields are walked once per SDK and use.
        let mark = (sdk, name.to_string(), format!("{usage:?}"));
        if !self.walked.insert(mark) {
            return;
        }
        let fields = def.get("fields").and_then(J::arr).unwrap_or(&[]).to_vec();
        self.collect_fields(&key, sdk, &fields, usage, depth);
    }

    /// Attach the catalog's members at one official object (recursively into nested models).
    fn attach_catalog(
        &mut self,
        key: &str,
        catalog: &[(String, J)],
        ep: &str,
        loc: &str,
        event: bool,
        depth: usize,
    ) {
        if depth > 12 {
            return;
        }
        if event {
            let reg = self.reg_entry(key);
            reg.event_fields
                .get_or_insert_with(BTreeSet::new)
                .extend(catalog.iter().map(|(k, _)| k.clone()));
        }
        for (wire, node) in catalog {
            let (nested_key, item_node) = {
                let rf = self.reg_entry(key).field_mut(wire);
                match &mut rf.catalog {
                    Some(existing) => union_nodes(existing, node),
                    None => rf.catalog = Some(node.clone()),
                }
                let official = rf.go.as_ref().or(rf.java.as_ref()).cloned();
                match official {
                    Some(of) => (of.model().map(|m| (of.sdk, m.to_string())), node.clone()),
                    None => (None, node.clone()),
                }
            };
            if let Some((sdk, m)) = nested_key {
                let nk = self.canonical(sdk, &m);
                // The catalog's values of an official enum join the enum, wherever it is used.
                let lits = item_node
                    .get("enum")
                    .or_else(|| item_node.get("array").and_then(|a| a.get("enum")))
                    .and_then(J::arr)
                    .map(<[J]>::to_vec)
                    .unwrap_or_default();
                if self.reg.get(&nk).is_some_and(|r| r.enum_kind) {
                    let mut respelled = Vec::new();
                    let reg = self.reg_entry(&nk);
                    for l in lits {
                        let lit = match &l {
                            J::Str(x) => x.clone(),
                            J::Num(n) => n.to_string(),
                            _ => continue,
                        };
                        match reg
                            .values
                            .iter()
                            .find(|(v, _)| v.eq_ignore_ascii_case(&lit))
                        {
                            Some((v, _)) if *v != lit => respelled.push((lit, v.clone())),
                            Some(_) => {}
                            None => reg.values.push((lit, String::new())),
                        }
                    }
                    for (cat, off) in respelled {
                        self.conflict(
                            ep,
                            &format!("{loc}.{wire}"),
                            "enum",
                            format!("catalog `{cat}`, official `{off}`: official"),
                        );
                    }
                }
                let inner = item_node
                    .get("object")
                    .or_else(|| item_node.get("array").and_then(|a| a.get("object")))
                    .and_then(J::obj)
                    .map(<[(String, J)]>::to_vec);
                if let Some(inner) = inner {
                    self.attach_catalog(
                        &nk,
                        &inner,
                        ep,
                        &format!("{loc}.{wire}"),
                        event,
                        depth + 1,
                    );
                }
            }
        }
    }
}

/// The union of two catalog nodes (objects and arrays of objects merged member by member).
fn union_nodes(into: &mut J, from: &J) {
    if let (Some(a), Some(b)) = (
        object_members_mut(into),
        from.get("object").and_then(J::obj),
    ) {
        for (k, v) in b {
            match a.iter_mut().find(|(n, _)| n == k) {
                Some((_, existing)) => union_nodes(existing, v),
                None => a.push((k.clone(), v.clone())),
            }
        }
        return;
    }
    if let (Some(J::Obj(_)), Some(fa)) = (into.get("array").cloned(), from.get("array")) {
        if let J::Obj(m) = into {
            if let Some((_, item)) = m.iter_mut().find(|(k, _)| k == "array") {
                union_nodes(item, fa);
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

/// The catalog's view of an endpoint: its three trees, each member annotated with what the
/// catalog says of it (`cat_req`, `sensitive`, `yaml_only`, YAML enums).
struct CatalogTrees {
    query: Vec<(String, J)>,
    request: Vec<(String, J)>,
    response: Vec<(String, J)>,
}

fn string_set(j: Option<&J>) -> BTreeSet<String> {
    j.map(J::string_items)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn catalog_trees(e: &J) -> Result<CatalogTrees, String> {
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
    let facts = CatFacts {
        required: &required,
        sensitive: &sensitive,
        yaml_only: &yaml_only,
        enums: &enums,
    };
    let tree = |root: &str| -> Result<Vec<(String, J)>, String> {
        let members = e.get(root).and_then(J::obj).unwrap_or(&[]).to_vec();
        let members = crate::model::merge_yaml_only(root, &members, &only)?;
        Ok(annotate_members(&members, root, &facts))
    };
    Ok(CatalogTrees {
        query: if e.is_true("query_optional") {
            tree("query")?
                .into_iter()
                .map(|(k, mut v)| {
                    set(&mut v, "cat_req", J::Bool(false));
                    (k, v)
                })
                .collect()
        } else {
            tree("query")?
        },
        request: if e.s("request_kind") == "json" {
            tree("request")?
        } else {
            Vec::new()
        },
        response: if e.s("response_kind") == "json" {
            tree("response")?
        } else {
            Vec::new()
        },
    })
}

struct CatFacts<'a> {
    required: &'a BTreeMap<String, BTreeSet<String>>,
    sensitive: &'a BTreeSet<String>,
    yaml_only: &'a BTreeSet<String>,
    enums: &'a BTreeMap<String, J>,
}

fn annotate_members(members: &[(String, J)], loc: &str, f: &CatFacts) -> Vec<(String, J)> {
    members
        .iter()
        .map(|(wire, node)| {
            let l = format!("{loc}.{wire}");
            let mut n = annotate_node(node, &l, f);
            let req = f.required.get(loc).is_some_and(|list| list.contains(wire));
            set(&mut n, "cat_req", J::Bool(req));
            if f.sensitive.contains(&l) {
                set(&mut n, "sensitive", J::Bool(true));
            }
            if f.yaml_only.contains(&l) {
                set(&mut n, "yaml_only", J::Bool(true));
            }
            (wire.clone(), n)
        })
        .collect()
}

fn annotate_node(node: &J, loc: &str, f: &CatFacts) -> J {
    let mut n = object_form(node);
    // A YAML enum for a member the TS leaves a plain scalar makes it an enum.
    if n.get("type").is_some() && n.s("format") != "date-time" {
        if let Some(lits) = f.enums.get(loc) {
            let optional = n.get("optional").cloned();
            n = obj(vec![("enum".into(), lits.clone())]);
            if let Some(o) = optional {
                set(&mut n, "optional", o);
            }
        }
    }
    if let Some(members) = n.get("object").and_then(J::obj).map(<[_]>::to_vec) {
        set(&mut n, "object", J::Obj(annotate_members(&members, loc, f)));
    } else if let Some(item) = n.get("array").cloned() {
        let inner = annotate_node(&item, &format!("{loc}[]"), f);
        set(&mut n, "array", inner);
    }
    n
}

/// The kind a node has once typed, to compare sources: `string`, `int`, `float`, `bool`,
/// `datetime`, `enum`, `object`, `array<…>`, `binary`, `any`.
fn catalog_kind(node: &J, name: &str) -> String {
    if node.get("object").is_some() {
        return "object".into();
    }
    if let Some(i) = node.get("array") {
        return format!("array<{}>", catalog_kind(i, name));
    }
    if node.get("enum").is_some() {
        return "enum".into();
    }
    if node.get("union").is_some() || node.get("tuple").is_some() {
        return "any".into();
    }
    match node.s("type") {
        "string" if node.s("format") == "date-time" => "datetime".into(),
        "string" => "string".into(),
        "integer" => "int".into(),
        "number" if crate::model::is_fraction(name) => "float".into(),
        "number" => "int".into(),
        "boolean" => "bool".into(),
        other => other.to_string(),
    }
}

fn official_kind(f: &OField) -> String {
    let k = |t: &str| -> String {
        match t {
            "number" => "float".into(),
            other => other.to_string(),
        }
    };
    match f.ty() {
        "array" => format!("array<{}>", k(f.items())),
        t => k(t),
    }
}

/// Kinds that are the same on the wire.
fn same_wire(a: &str, b: &str) -> bool {
    let norm = |k: &str| -> String { k.replace("datetime", "string").replace("enum", "string") };
    norm(a) == norm(b)
}

/// The merged trees of every endpoint, in catalog order, official-only endpoints appended.
pub struct Merged {
    pub entries: Vec<J>,
    pub conflicts: Vec<Conflict>,
    shared_docs: BTreeMap<String, String>,
}

impl Merged {
    /// A notification resource no official model reads: every member optional, descriptions
    /// borrowed by name.
    pub fn event_members(&self, members: &[(String, J)]) -> Vec<(String, J)> {
        members
            .iter()
            .map(|(wire, node)| (wire.clone(), self.event_node(wire, node)))
            .collect()
    }

    fn event_node(&self, wire: &str, node: &J) -> J {
        let mut n = object_form(node);
        remove(&mut n, "optional");
        set(&mut n, "req", J::Bool(false));
        if let Some(d) = borrowed(&self.shared_docs, None, wire, &catalog_kind(&n, wire)) {
            set(&mut n, "doc", s(d));
            set(&mut n, "doc_by_name", J::Bool(true));
        }
        if let Some(members) = n.get("object").and_then(J::obj).map(<[_]>::to_vec) {
            set(&mut n, "object", J::Obj(self.event_members(&members)));
            set(&mut n, "side", s("answer"));
        } else if let Some(item) = n.get("array").cloned() {
            let mut inner = self.event_node(wire, &item);
            remove(&mut inner, "req");
            remove(&mut inner, "doc");
            remove(&mut inner, "doc_by_name");
            set(&mut n, "array", inner);
        }
        n
    }
}

fn endpoint_key(method: &str, path: &str) -> (String, String) {
    (method.to_string(), anon(path))
}

/// The official endpoint's field list at a location.
fn official_fields<'j>(e: &'j J, loc: &str) -> Option<&'j [J]> {
    match loc {
        "query" => {
            let q = e.get("query").and_then(J::arr).unwrap_or(&[]);
            (!q.is_empty()).then_some(q)
        }
        "request" => e
            .get("body")
            .filter(|b| !matches!(b, J::Null))
            .filter(|b| b.get("model").is_some_and(|m| !matches!(m, J::Null)))
            .and_then(|b| b.get("fields"))
            .and_then(J::arr),
        "response" => e
            .get("answer")
            .filter(|b| !matches!(b, J::Null))
            .and_then(|b| b.get("fields"))
            .and_then(J::arr),
        _ => None,
    }
}

/// The model a top-level location is named after: the method's request model for a query or a
/// body, the answer's model.
fn top_model(e: &J, loc: &str) -> Option<String> {
    let name = match loc {
        "query" | "request" => e
            .get("request_model")
            .and_then(J::str)
            .or_else(|| e.get("body").and_then(|b| b.get("model")).and_then(J::str)),
        "response" => e
            .get("answer")
            .and_then(|a| a.get("model"))
            .and_then(J::str),
        _ => None,
    }?;
    Some(name.to_string())
}

pub fn merge(
    catalog: &J,
    webhooks: &J,
    go: &J,
    java: &J,
    links: &[EventLink],
) -> Result<Merged, String> {
    let mut cx = Ctx {
        go,
        java,
        canon: BTreeMap::new(),
        reg: BTreeMap::new(),
        conflicts: BTreeSet::new(),
        shared_docs: BTreeMap::new(),
        walked: BTreeSet::new(),
        locations: BTreeMap::new(),
    };
    cx.shared_docs = shared_docs(go, java);
    let mut homes: BTreeMap<(String, String), Vec<Vec<String>>> = BTreeMap::new();
    for j in [go, java] {
        for e in endpoints(j) {
            let path = e.s("path");
            if path.is_empty() {
                continue;
            }
            let root = e.s("package").split('.').next().unwrap_or("").to_string();
            let family = path.split('/').nth(2).unwrap_or("").to_string();
            homes
                .entry((root, family))
                .or_default()
                .push(crate::names::module_of(path));
        }
    }
    for (k, mods) in homes {
        let mut lcp = mods[0].clone();
        for m in &mods[1..] {
            let n = lcp.iter().zip(m).take_while(|(a, b)| a == b).count();
            lcp.truncate(n);
        }
        cx.locations.insert(k, lcp);
    }
    let entries = catalog
        .get("endpoints")
        .and_then(J::arr)
        .ok_or("catalog.endpoints")?;

    // Official endpoints by key.
    let mut official: BTreeMap<(String, String), Vec<(Sdk, &J)>> = BTreeMap::new();
    for (sdk, j) in [(Sdk::Go, go), (Sdk::Java, java)] {
        for e in endpoints(j) {
            if e.s("path").is_empty() {
                continue;
            }
            official
                .entry(endpoint_key(e.s("http"), e.s("path")))
                .or_default()
                .push((sdk, e));
        }
    }

    // Endpoints: the catalog's, then the official ones it lacks (synthesised entries).
    let mut all: Vec<J> = entries.to_vec();
    let catalog_keys: BTreeSet<(String, String)> = entries
        .iter()
        .map(|e| endpoint_key(e.s("method"), e.s("path")))
        .collect();
    for (key, list) in &official {
        if catalog_keys.contains(key) {
            continue;
        }
        let entry = synthesise(list)?;
        cx.conflict(
            &format!("{} {}", entry.s("method"), entry.s("path")),
            "",
            "endpoint",
            format!(
                "only the official SDKs have it ({}): added",
                list.iter()
                    .map(|(sdk, e)| format!("{} {}.{}", sdk.name(), e.s("package"), e.s("method")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        all.push(entry);
    }

    // Pass 1: pair Java models with Go models.
    for list in official.values() {
        let gos: Vec<&J> = list
            .iter()
            .filter(|(s, _)| *s == Sdk::Go)
            .map(|x| x.1)
            .collect();
        let javas: Vec<&J> = list
            .iter()
            .filter(|(s, _)| *s == Sdk::Java)
            .map(|x| x.1)
            .collect();
        for g in &gos {
            for j in &javas {
                for loc in ["query", "request", "response"] {
                    if let (Some(gf), Some(jf)) = (official_fields(g, loc), official_fields(j, loc))
                    {
                        let (gf, jf) = (gf.to_vec(), jf.to_vec());
                        cx.pair(&gf, &jf, 0);
                    }
                    if let (Some(gm), Some(jm)) = (top_model(g, loc), top_model(j, loc)) {
                        cx.canon.entry(jm).or_insert(gm);
                    }
                }
            }
        }
    }

    // Pass 2: collect every use of every official model, with the catalog members at it.
    let mut tops: BTreeMap<(String, String, &'static str), String> = BTreeMap::new();
    let mut methods: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &all {
        let key = endpoint_key(e.s("method"), e.s("path"));
        let Some(list) = official.get(&key) else {
            continue;
        };
        let ep = format!("{} {}", e.s("method"), e.s("path"));
        let mut sorted = list.clone();
        sorted
            .sort_by_key(|(sdk, o)| (*sdk, o.s("package").to_string(), o.s("method").to_string()));
        methods.insert(
            ep.clone(),
            sorted
                .iter()
                .map(|(sdk, o)| {
                    format!(
                        "{} `{}.{}.{}`",
                        sdk.name(),
                        o.s("package"),
                        o.s("service"),
                        o.s("method")
                    )
                })
                .collect(),
        );
        let trees = catalog_trees(e)?;
        for loc in ["query", "request", "response"] {
            let usage = if loc == "response" {
                Use::Answer
            } else {
                Use::Request
            };
            let covering: Vec<(Sdk, &J)> = sorted
                .iter()
                .filter(|(_, o)| official_fields(o, loc).is_some())
                .cloned()
                .collect();
            let Some((first_sdk, first)) = covering.first() else {
                continue;
            };
            let Some(top) = top_model(first, loc) else {
                continue;
            };
            // An answer's model is the same type wherever it occurs (one `Transaction` for both
            // order queries and the notification); a request's model holds the path and query
            // parameters too, so its top level is keyed by where it is sent.
            let top_key = if loc == "response" {
                cx.canonical(*first_sdk, &top)
            } else {
                format!("{}#{loc}", cx.canonical(*first_sdk, &top))
            };
            {
                let reg = cx.reg_entry(&top_key);
                reg.names.insert((*first_sdk, top.clone()));
            }
            for (sdk, o) in &covering {
                let fields = official_fields(o, loc).unwrap_or(&[]).to_vec();
                cx.collect_fields(&top_key, *sdk, &fields, usage, 0);
                if let Some(m) = top_model(o, loc) {
                    let canonical = cx.canonical(*sdk, &m);
                    let reg = cx.reg_entry(&top_key);
                    reg.names.insert((*sdk, m));
                    if reg.doc.is_empty() {
                        if let Some(def) = cx.model_def(*sdk, &canonical) {
                            let d = def.s("doc").to_string();
                            cx.reg_entry(&top_key).doc = d;
                        }
                    }
                }
            }
            let cat = match loc {
                "query" => &trees.query,
                "request" => &trees.request,
                _ => &trees.response,
            };
            cx.attach_catalog(&top_key, cat, &ep, loc, false, 0);
            tops.insert((key.0.clone(), key.1.clone(), loc_static(loc)), top_key);
        }
    }

    // Pass 3: notifications served by official models.
    let events = webhooks
        .get("events")
        .and_then(J::arr)
        .ok_or("webhooks.events")?;
    for link in links {
        let mut names = vec![link.model.clone()];
        names.extend(link.also.iter().cloned());
        for name in &names {
            let sdk = if models(go).iter().any(|(k, _)| k == name) {
                Sdk::Go
            } else {
                Sdk::Java
            };
            if cx.model_def(sdk, name).is_none() {
                return Err(format!("names.json: no official model {name}"));
            }
            let canonical = cx.canonical(sdk, name);
            if canonical != link.model && *name == link.model {
                return Err(format!("names.json: {name} is not a canonical model"));
            }
            // `also` models are read into the linked model.
            let key = link.model.clone();
            let def = cx.model_def(sdk, name).expect("checked");
            let fields = def.get("fields").and_then(J::arr).unwrap_or(&[]).to_vec();
            cx.collect_fields(&key, sdk, &fields, Use::Event, 0);
            cx.reg_entry(&key).names.insert((sdk, name.clone()));
        }
        for et in &link.events {
            let ev = events
                .iter()
                .find(|e| e.s("event_type") == et)
                .ok_or_else(|| format!("names.json: no event {et}"))?;
            let members: Vec<(String, J)> = ev
                .get("resource")
                .and_then(J::obj)
                .unwrap_or(&[])
                .iter()
                .filter(|(k, _)| !link.exclude.contains(k))
                .cloned()
                .collect();
            let none = BTreeSet::new();
            let empty = BTreeMap::new();
            let no_enums = BTreeMap::new();
            let facts = CatFacts {
                required: &empty,
                sensitive: &none,
                yaml_only: &none,
                enums: &no_enums,
            };
            let annotated = annotate_members(&members, "resource", &facts);
            cx.attach_catalog(&link.model, &annotated, et, "resource", true, 0);
            let reg = cx.reg_entry(&link.model);
            reg.events.insert(et.clone());
            reg.uses.insert(Use::Event);
            reg.exclude.extend(link.exclude.iter().cloned());
        }
    }

    // Pass 4: the annotated trees.
    let mut out = Vec::new();
    for e in &all {
        let key = endpoint_key(e.s("method"), e.s("path"));
        let ep = format!("{} {}", e.s("method"), e.s("path"));
        let trees = catalog_trees(e)?;
        let mut entry = e.clone();
        for (loc, cat) in [
            ("query", &trees.query),
            ("request", &trees.request),
            ("response", &trees.response),
        ] {
            let members = match tops.get(&(key.0.clone(), key.1.clone(), loc_static(loc))) {
                Some(top_key) => {
                    let module = crate::names::module_of(e.s("path"));
                    let at = At {
                        ep: &ep,
                        family: e.s("family"),
                        module: &module,
                    };
                    let node = expand(&mut cx, top_key, &at, loc, 0)?;
                    let mut node = node;
                    // The top-level name: the request model for a query or a body, the answer's
                    // model.
                    set(&mut node, "top", J::Bool(true));
                    set(&mut entry, &format!("{loc}_model"), node.clone());
                    node.get("object").and_then(J::obj).unwrap_or(&[]).to_vec()
                }
                None => {
                    let usage = if loc == "response" {
                        Use::Answer
                    } else {
                        Use::Request
                    };
                    finish_catalog(&mut cx, cat, &ep, loc, usage, false)
                }
            };
            set(&mut entry, loc, J::Obj(members));
        }
        remove(&mut entry, "yaml_merged");
        set(&mut entry, "merged", J::Bool(true));
        if let Some(m) = methods.get(&ep) {
            set(
                &mut entry,
                "official_methods",
                J::Arr(m.iter().map(|x| s(x)).collect()),
            );
        }
        if let Some(list) = official.get(&key) {
            if let Some((sdk, first)) = list
                .iter()
                .find(|(sdk, _)| *sdk == Sdk::Go)
                .or(list.first())
            {
                set(&mut entry, "official_doc", s(first.s("doc")));
                // No documentation page published: the official SDK's source is the reference.
                if entry.s("doc").is_empty() {
                    let j = cx.sdk_json(*sdk);
                    let url = format!(
                        "{}/blob/{}/{}",
                        j.s("repository"),
                        j.s("commit"),
                        first.s("file")
                    );
                    set(&mut entry, "doc", s(&url));
                }
            }
            if list.iter().any(|(_, o)| {
                o.get("headers")
                    .and_then(J::arr)
                    .is_some_and(|h| h.iter().any(|x| x.str() == Some("Wechatpay-Serial")))
            }) {
                set(&mut entry, "official_serial", J::Bool(true));
            }
        }
        out.push(entry);
    }
    Ok(Merged {
        entries: out,
        conflicts: cx.conflicts.into_iter().collect(),
        shared_docs: cx.shared_docs,
    })
}

/// Where a model is being expanded: the endpoint, its family and its module.
struct At<'a> {
    ep: &'a str,
    family: &'a str,
    module: &'a [String],
}

fn loc_static(loc: &str) -> &'static str {
    match loc {
        "query" => "query",
        "request" => "request",
        _ => "response",
    }
}

/// The description every official field named `wire` shares (Go's, else Java's): keyed by the
/// wire name, and by `<root package> <wire name>` for the fields of one package (so
/// `payments.Transaction.amount` takes the one the package's other `amount`s share).
fn shared_docs(go: &J, java: &J) -> BTreeMap<String, String> {
    let mut by: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for (i, j) in [go, java].into_iter().enumerate() {
        for (model, m) in models(j) {
            let root = model.split('.').next().unwrap_or("");
            for f in m.get("fields").and_then(J::arr).unwrap_or(&[]) {
                let d = f.s("doc").trim().to_string();
                if d.is_empty() {
                    continue;
                }
                let kind = doc_kind(&official_kind(&OField {
                    sdk: Sdk::Go,
                    f: f.clone(),
                }));
                let name = f.s("name");
                for key in [format!("{name}|{kind}"), format!("{root} {name}|{kind}")] {
                    let e = by.entry(key).or_default();
                    if i == 0 {
                        e.0.insert(d.clone());
                    } else {
                        e.1.insert(d.clone());
                    }
                }
            }
        }
    }
    by.into_iter()
        .filter_map(|(k, (g, j))| {
            if g.len() == 1 {
                g.into_iter().next().map(|d| (k, d))
            } else if g.is_empty() && j.len() == 1 {
                j.into_iter().next().map(|d| (k, d))
            } else {
                None
            }
        })
        .collect()
}

/// A kind for matching descriptions: what a member is on the wire (text, number, object, …).
fn doc_kind(kind: &str) -> String {
    kind.replace("datetime", "string").replace("enum", "string")
}

/// The description the official fields of this name and kind share: those of the package
/// `root` first, then all.
fn borrowed<'d>(
    docs: &'d BTreeMap<String, String>,
    root: Option<&str>,
    wire: &str,
    kind: &str,
) -> Option<&'d String> {
    let kind = doc_kind(kind);
    root.and_then(|r| docs.get(&format!("{r} {wire}|{kind}")))
        .or_else(|| docs.get(&format!("{wire}|{kind}")))
}

/// A catalog entry for an endpoint only the official SDKs have.
fn synthesise(list: &[(Sdk, &J)]) -> Result<J, String> {
    let (_, e) = list
        .iter()
        .find(|(sdk, _)| *sdk == Sdk::Go)
        .or(list.first())
        .ok_or("empty")?;
    // Placeholders as the other endpoints of the path name them (`{packageId}` → `{package_id}`).
    let path = e
        .s("path")
        .split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|x| x.strip_suffix('}')) {
                Some(p) => format!("{{{}}}", crate::names::snake(p)),
                None => seg.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/");
    let params: Vec<J> = path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|x| x.strip_suffix('}')))
        .map(s)
        .collect();
    let family = path.split('/').nth(2).unwrap_or("").to_string();
    let title: String = e
        .s("doc")
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(30)
        .collect();
    let multipart = e
        .get("body")
        .is_some_and(|b| b.s("content_type") == "multipart/form-data");
    let request_kind = if multipart {
        "multipart"
    } else if official_fields(e, "request").is_some() {
        "json"
    } else {
        "none"
    };
    let mut headers = Vec::new();
    if e.get("headers")
        .and_then(J::arr)
        .is_some_and(|h| h.iter().any(|x| x.str() == Some("Wechatpay-Serial")))
    {
        headers.push(("Wechatpay-Serial".to_string(), s("string")));
    }
    let answer = official_fields(e, "response").is_some();
    Ok(obj(vec![
        ("method".into(), s(e.s("http"))),
        ("path".into(), s(&path)),
        ("title".into(), s(&title)),
        ("family".into(), s(&family)),
        ("group".into(), s(&family)),
        ("path_params".into(), J::Arr(params)),
        ("query".into(), J::Obj(Vec::new())),
        ("request".into(), J::Obj(Vec::new())),
        ("request_kind".into(), s(request_kind)),
        ("response".into(), J::Obj(Vec::new())),
        (
            "response_kind".into(),
            s(if answer { "json" } else { "none" }),
        ),
        ("headers".into(), J::Obj(headers)),
        ("doc".into(), s("")),
        ("official_only".into(), J::Bool(true)),
        ("yaml".into(), J::Null),
    ]))
}

/// The catalog's members of a location no official model covers, finished: `req` from the
/// YAML list for request members (never for answers and notifications, nor inside an official
/// model), descriptions borrowed by name.
fn finish_catalog(
    cx: &mut Ctx,
    members: &[(String, J)],
    ep: &str,
    loc: &str,
    usage: Use,
    in_official: bool,
) -> Vec<(String, J)> {
    members
        .iter()
        .map(|(wire, node)| {
            let mut n =
                finish_catalog_node(cx, node, ep, &format!("{loc}.{wire}"), usage, in_official);
            let req = usage == Use::Request && !in_official && node.is_true("cat_req");
            set(&mut n, "req", J::Bool(req));
            remove(&mut n, "cat_req");
            remove(&mut n, "optional");
            if n.s("doc").is_empty() {
                if let Some(d) = borrowed(&cx.shared_docs, None, wire, &catalog_kind(&n, wire)) {
                    set(&mut n, "doc", s(d));
                    set(&mut n, "doc_by_name", J::Bool(true));
                }
            }
            (wire.clone(), n)
        })
        .collect()
}

fn finish_catalog_node(
    cx: &mut Ctx,
    node: &J,
    ep: &str,
    loc: &str,
    usage: Use,
    in_official: bool,
) -> J {
    let mut n = node.clone();
    if let Some(members) = n.get("object").and_then(J::obj).map(<[_]>::to_vec) {
        let inner = finish_catalog(cx, &members, ep, loc, usage, in_official);
        set(&mut n, "object", J::Obj(inner));
        set(
            &mut n,
            "side",
            s(match usage {
                Use::Request => "request",
                Use::Answer => "answer",
                Use::Event => "answer",
            }),
        );
    } else if let Some(item) = n.get("array").cloned() {
        let inner = finish_catalog_node(cx, &item, ep, &format!("{loc}[]"), usage, in_official);
        set(&mut n, "array", inner);
    }
    n
}

fn side_of(uses: &BTreeSet<Use>) -> &'static str {
    let req = uses.contains(&Use::Request);
    let ans = uses.contains(&Use::Answer) || uses.contains(&Use::Event);
    match (req, ans) {
        (true, true) => "both",
        (true, false) => "request",
        _ => "answer",
    }
}

/// The annotated node of official model `key` (its members merged), as seen from `ep` at `loc`.
fn expand(cx: &mut Ctx, key: &str, at: &At, loc: &str, depth: usize) -> Result<J, String> {
    if depth > 16 {
        return Err(format!("{key}: models nest too deep"));
    }
    let (fields, uses, events, doc, names) = {
        let reg = cx.reg.get(key).ok_or_else(|| format!("no model {key}"))?;
        (
            reg.fields.clone(),
            reg.uses.clone(),
            reg.events.clone(),
            reg.doc.clone(),
            reg.names.clone(),
        )
    };
    let mut members = Vec::new();
    for rf in &fields {
        let floc = format!("{loc}.{}", rf.wire);
        let node = field_node(cx, rf, Some(key), &uses, at, &floc, depth)?;
        members.push((rf.wire.clone(), node));
    }
    let model = key.split('#').next().unwrap_or(key).to_string();
    let rust = cx.placement(key, at.family, at.module);
    let mut n = obj(vec![
        ("object".into(), J::Obj(members)),
        ("model".into(), s(&model)),
        ("rust".into(), rust),
        ("side".into(), s(side_of(&uses))),
    ]);
    if !doc.trim().is_empty() {
        set(&mut n, "model_doc", s(doc.trim()));
    }
    if !events.is_empty() {
        set(
            &mut n,
            "events",
            J::Arr(events.iter().map(|e| s(e)).collect()),
        );
    }
    let named: Vec<J> = names
        .iter()
        .map(|(sdk, n)| s(&format!("{} {n}", sdk.name())))
        .collect();
    set(&mut n, "official_names", J::Arr(named));
    Ok(n)
}

/// An official enum's node.
fn enum_node(cx: &Ctx, key: &str, at: &At) -> J {
    let mut lits: Vec<J> = Vec::new();
    let mut docs: Vec<(String, J)> = Vec::new();
    if let Some(reg) = cx.reg.get(key) {
        for (v, d) in &reg.values {
            lits.push(s(v));
            if !d.is_empty() {
                docs.push((v.clone(), s(d)));
            }
        }
    }
    let mut n = obj(vec![
        ("enum".into(), J::Arr(lits)),
        ("model".into(), s(key)),
        ("rust".into(), cx.placement(key, at.family, at.module)),
    ]);
    if !docs.is_empty() {
        set(&mut n, "values_doc", J::Obj(docs));
    }
    if let Some(d) = cx
        .reg
        .get(key)
        .map(|r| r.doc.clone())
        .filter(|d| !d.trim().is_empty())
    {
        set(&mut n, "model_doc", s(d.trim()));
    }
    n
}

fn field_node(
    cx: &mut Ctx,
    rf: &RegField,
    owner_model: Option<&str>,
    owner_uses: &BTreeSet<Use>,
    at: &At,
    loc: &str,
    depth: usize,
) -> Result<J, String> {
    let ep = at.ep;
    let official = match (&rf.go, &rf.java) {
        (Some(g), Some(j)) => {
            // Go and Java disagree?
            let (gk, jk) = (official_kind(g), official_kind(j));
            if gk != jk && gk.replace("datetime", "string") != jk {
                let chosen = if gk.contains("string") && jk.contains("enum") {
                    "Java's enum (a string on the wire; unknown values are kept)"
                } else {
                    "Go's"
                };
                cx.conflict(ep, loc, "type", format!("Go `{gk}`, Java `{jk}`: {chosen}"));
            }
            if g.required() != j.required() && j.required().is_some() {
                cx.conflict(
                    ep,
                    loc,
                    "required",
                    format!(
                        "Go {}, Java {}: {}",
                        req_word(g.required()),
                        req_word(j.required()),
                        if g.required() == Some(true) && j.required() == Some(false) {
                            "optional"
                        } else {
                            "as Go"
                        }
                    ),
                );
            }
            Some(if gk.contains("string") && jk.contains("enum") {
                j.clone()
            } else {
                g.clone()
            })
        }
        (Some(g), None) => Some(g.clone()),
        (None, Some(j)) => Some(j.clone()),
        (None, None) => None,
    };
    // A notification's payload guarantees only the members it shows.
    let not_in_event = owner_model
        .and_then(|m| cx.reg.get(m))
        .and_then(|r| r.event_fields.as_ref())
        .is_some_and(|f| !f.contains(&rf.wire));
    let Some(of) = official else {
        // A member only the catalog has, inside an official model: optional.
        let cat = rf
            .catalog
            .clone()
            .ok_or_else(|| format!("{loc}: a member with no source"))?;
        let usage = if owner_uses.contains(&Use::Request) {
            Use::Request
        } else {
            Use::Answer
        };
        let only_event = owner_uses.iter().all(|u| *u == Use::Event);
        if !only_event {
            cx.conflict(
                ep,
                loc,
                "catalog only",
                "the official models do not have it: kept, optional".into(),
            );
        }
        let wire = rf.wire.clone();
        let mut done = finish_catalog(
            cx,
            &[(wire, cat)],
            ep,
            loc.rsplit_once('.').map(|x| x.0).unwrap_or(loc),
            usage,
            true,
        );
        let (_, mut n) = done.pop().ok_or("finish")?;
        set(&mut n, "req", J::Bool(false));
        return Ok(n);
    };
    // Required: an official SDK says so and none says optional; never in a notification's model.
    let claims: Vec<Option<bool>> = [&rf.go, &rf.java]
        .iter()
        .filter_map(|x| x.as_ref().map(OField::required))
        .collect();
    let official_required = claims.contains(&Some(true)) && !claims.contains(&Some(false));
    // No official SDK says (Java marks few fields): the catalog's YAML list decides for a type
    // only requests use; an answer's member stays optional.
    let unspecified = claims.iter().all(Option::is_none);
    let catalog_required = unspecified
        && owner_uses.iter().all(|u| *u == Use::Request)
        && rf.catalog.as_ref().is_some_and(|c| c.is_true("cat_req"));
    let req = (official_required && !not_in_event) || catalog_required;
    if official_required && not_in_event {
        cx.conflict(
            ep,
            loc,
            "required",
            "required in the official model, which also reads a notification whose payload does not show it: optional".into(),
        );
    }
    // The catalog's view, for the report.
    if let Some(cat) = &rf.catalog {
        let ck = catalog_kind(cat, &rf.wire);
        let ok = official_kind(&of);
        if !(same_wire(&ck, &ok) || ck == "int" && ok == "float") {
            cx.conflict(
                ep,
                loc,
                "type",
                format!("catalog `{ck}`, official `{ok}`: official"),
            );
        }
        let cat_req = cat.is_true("cat_req");
        if cat_req != req {
            cx.conflict(
                ep,
                loc,
                "required",
                format!(
                    "catalog {}, official {}: {}",
                    if cat_req { "required" } else { "optional" },
                    if official_required {
                        "required"
                    } else if unspecified {
                        "unspecified"
                    } else {
                        "optional"
                    },
                    if req { "required" } else { "optional" }
                ),
            );
        }
    } else if !owner_uses.iter().all(|u| *u == Use::Event) {
        cx.conflict(
            ep,
            loc,
            "official only",
            "the catalog does not have it: added".into(),
        );
    }
    let mut n = official_type_node(cx, &of, rf, at, loc, depth)?;
    set(&mut n, "req", J::Bool(req));
    if official_required && owner_uses.iter().all(|u| *u == Use::Request) {
        set(&mut n, "strict", J::Bool(true));
    }
    let doc = [&rf.go, &rf.java]
        .iter()
        .filter_map(|x| x.as_ref())
        .map(|x| x.doc().trim().to_string())
        .find(|d| !d.is_empty());
    let root = owner_model.and_then(|m| m.split('.').next());
    if let Some(d) = doc {
        set(&mut n, "doc", s(&d));
    } else if let Some(d) = borrowed(&cx.shared_docs, root, &rf.wire, &official_kind(&of)) {
        set(&mut n, "doc", s(d));
        set(&mut n, "doc_by_name", J::Bool(true));
    }
    let sensitive = [&rf.go, &rf.java]
        .iter()
        .filter_map(|x| x.as_ref())
        .any(OField::encrypted)
        || rf.catalog.as_ref().is_some_and(|c| c.is_true("sensitive"));
    if sensitive && of.ty() == "string" {
        set(&mut n, "sensitive", J::Bool(true));
    }
    Ok(n)
}

fn req_word(r: Option<bool>) -> &'static str {
    match r {
        Some(true) => "required",
        Some(false) => "optional",
        None => "unspecified",
    }
}

fn scalar_node(t: &str) -> J {
    match t {
        "int" => obj(vec![("type".into(), s("integer"))]),
        "bool" => obj(vec![("type".into(), s("boolean"))]),
        "number" => obj(vec![
            ("type".into(), s("number")),
            ("float".into(), J::Bool(true)),
        ]),
        "datetime" => obj(vec![
            ("type".into(), s("string")),
            ("format".into(), s("date-time")),
        ]),
        "any" => obj(vec![("union".into(), J::Arr(Vec::new()))]),
        _ => obj(vec![("type".into(), s("string"))]),
    }
}

fn official_type_node(
    cx: &mut Ctx,
    of: &OField,
    rf: &RegField,
    at: &At,
    loc: &str,
    depth: usize,
) -> Result<J, String> {
    let element = |cx: &mut Ctx, kind: &str, model: Option<&str>| -> Result<J, String> {
        match (kind, model) {
            ("object", Some(m)) => {
                let key = cx.canonical(of.sdk, m);
                expand(cx, &key, at, loc, depth + 1)
            }
            ("enum", Some(m)) => {
                let key = cx.canonical(of.sdk, m);
                Ok(enum_node(cx, &key, at))
            }
            (t, _) => {
                // A string one source types as a date-time (Go's `time.Time`, the catalog's
                // `format: date-time`) is a date-time: the same text on the wire, read as one.
                let go_dt = rf.go.as_ref().is_some_and(|g| g.ty() == "datetime");
                let cat_dt = rf.catalog.as_ref().is_some_and(|c| {
                    c.s("format") == "date-time"
                        || c.get("array").is_some_and(|i| i.s("format") == "date-time")
                });
                Ok(scalar_node(if go_dt || (t == "string" && cat_dt) {
                    "datetime"
                } else {
                    t
                }))
            }
        }
    };
    match of.ty() {
        "array" => {
            let item = element(cx, of.items(), of.model())?;
            Ok(obj(vec![("array".into(), item)]))
        }
        t => element(cx, t, of.model()),
    }
}

/// The conflict report (`api/spec/conflicts.md`).
pub fn report(merged: &Merged) -> String {
    let mut out = String::from(
        "<!-- @generated by `cargo xtask codegen` from api/spec/ — do not edit by hand. -->\n\n\
         # Where the sources disagree, and what the generator chose\n\n\
         The precedence rule is in `README.md` (\"Precedence\"). One line per disagreement it \
         resolved: the endpoint, the member (`query.…`, `request.…`, `response.…`), what each \
         source says, and the choice.\n\n",
    );
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &merged.conflicts {
        *by_kind.entry(c.kind).or_default() += 1;
    }
    out.push_str("| kind | count |\n|-|-|\n");
    for (k, n) in &by_kind {
        let _ = writeln!(out, "| {k} | {n} |");
    }
    out.push('\n');
    let mut last = String::new();
    for c in &merged.conflicts {
        if c.endpoint != last {
            let _ = writeln!(out, "\n## `{}`\n", c.endpoint);
            last = c.endpoint.clone();
        }
        if c.location.is_empty() {
            let _ = writeln!(out, "- {}: {}", c.kind, c.text);
        } else {
            let _ = writeln!(out, "- `{}` {}: {}", c.location, c.kind, c.text);
        }
    }
    out
}

//! From the catalog's type grammar to Rust items: fields, their types and optionality, nested
//! structs and enums, and their names. Every mechanical rule lives here, once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::json::J;
use crate::names::{field_ident, pascal};

/// What a struct is for; it decides optionality, derives and naming priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Request,
    Query,
    Response,
    Event,
}

impl Role {
    pub fn request_side(self) -> bool {
        matches!(self, Role::Request | Role::Query)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Str,
    DateTime,
    I64,
    F64,
    Bool,
    Bytes,
    Sensitive,
    /// An element type the source does not publish (the empty tuple `[]`) or a union that is not
    /// `string | number`.
    Json,
    StringOrNumber,
    Struct(usize),
    Enum(usize),
    Vec(Box<Ty>),
    /// A protocol type of `wechatpay-core` (the bill machinery), by its path.
    Core(&'static str),
}

/// Objects that are protocol types of the core, recognised by their exact member set: the
/// transports' bill download takes them as they come.
const CORE_SHAPES: &[(&[&str], &str)] = &[
    (
        &["download_url", "hash_type", "hash_value"],
        "wechatpay_core::bill::BillDownloadInfo",
    ),
    (
        &[
            "bill_sequence",
            "download_url",
            "encrypt_key",
            "hash_type",
            "hash_value",
            "nonce",
        ],
        "wechatpay_core::bill::EncryptedBillPart",
    ),
];

#[derive(Debug, Clone)]
pub struct Field {
    pub wire: String,
    pub ident: String,
    pub ty: Ty,
    pub required: bool,
    /// Only the OpenAPI YAML has it.
    pub yaml_only: bool,
}

#[derive(Debug, Clone)]
pub struct StructDef {
    pub role: Role,
    pub fields: Vec<Field>,
    /// Top-level structs have their final name here; nested ones a candidate (the field's name).
    pub candidate: String,
    /// Where it occurs: `(owner struct, field)`; empty for top-level structs.
    pub owners: Vec<(usize, String)>,
    pub top: bool,
    pub name: String,
    pub location: String,
    /// Merged into another identical struct.
    pub merged_into: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lit {
    S(String),
    I(i64),
}

#[derive(Debug, Clone)]
pub struct EnumDef {
    pub role: Role,
    pub lits: Vec<Lit>,
    pub int: bool,
    pub candidate: String,
    pub owners: Vec<(usize, String)>,
    pub name: String,
    pub merged_into: Option<usize>,
}

/// The structs and enums of one module (a URL family or the events).
#[derive(Debug, Default)]
pub struct Arena {
    pub structs: Vec<StructDef>,
    pub enums: Vec<EnumDef>,
}

/// The facts about one object: where its required list is, and which members are sensitive.
pub struct Facts<'a> {
    /// YAML `required` lists by location (`request`, `request.amount`, `response.data[]`).
    pub required: &'a BTreeMap<String, BTreeSet<String>>,
    /// Locations of sensitive members (`request.payer.identity.name`).
    pub sensitive: &'a BTreeSet<String>,
    /// Locations of members only the YAML has.
    pub yaml_only: &'a BTreeSet<String>,
    /// The whole query object is optional in the source.
    pub query_optional: bool,
    /// YAML enums for members the TypeScript types as a plain string or number, by location.
    pub enums: &'a BTreeMap<String, J>,
    /// Answer members the names table makes optional although the YAML requires them.
    pub answer_optional: &'a BTreeSet<String>,
}

/// Names of `number` members that are fractions; every other number is an integer (amounts in
/// fen, counts, ids).
fn is_fraction(name: &str) -> bool {
    [
        "rate",
        "ratio",
        "score",
        "percent",
        "quota",
        "latitude",
        "longitude",
    ]
    .iter()
    .any(|s| name.ends_with(s))
}

fn scalar(name: &str) -> Option<Ty> {
    Some(match name {
        "string" => Ty::Str,
        "integer" => Ty::I64,
        "boolean" => Ty::Bool,
        "binary" => Ty::Bytes,
        _ => return None,
    })
}

/// The core type an object with exactly these members is, if any.
pub fn core_shape(members: &[(String, J)]) -> Option<&'static str> {
    let mut names: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    CORE_SHAPES
        .iter()
        .find(|(m, _)| *m == names.as_slice())
        .map(|(_, p)| *p)
}

/// Whether a type node is marked optional.
pub fn node_optional(node: &J) -> bool {
    node.is_true("optional")
}

impl Arena {
    /// Build the struct for the object `members` at `location`, returning its id.
    #[allow(clippy::too_many_arguments)]
    pub fn object(
        &mut self,
        role: Role,
        members: &[(String, J)],
        location: &str,
        candidate: String,
        owner: Option<(usize, String)>,
        facts: &Facts,
    ) -> Result<usize, String> {
        let id = self.structs.len();
        self.structs.push(StructDef {
            role,
            fields: Vec::new(),
            candidate,
            owners: owner.into_iter().collect(),
            top: false,
            name: String::new(),
            location: location.to_string(),
            merged_into: None,
        });
        let mut fields = Vec::new();
        for (wire, node) in members {
            let loc = format!("{location}.{wire}");
            let required = match role {
                Role::Event => false,
                Role::Response => {
                    facts
                        .required
                        .get(location)
                        .is_some_and(|l| l.contains(wire))
                        && !facts
                            .answer_optional
                            .contains(&format!("{location}.{wire}"))
                }
                Role::Request | Role::Query => {
                    if role == Role::Query && facts.query_optional {
                        false
                    } else {
                        match facts.required.get(location) {
                            Some(list) => list.contains(wire),
                            None => !node_optional(node),
                        }
                    }
                }
            };
            let sensitive = facts.sensitive.contains(&loc);
            // A YAML enum for a member the TS leaves a plain scalar makes it an enum (that keeps
            // unknown values, so nothing becomes unreadable).
            let yaml_enum = facts
                .enums
                .get(&loc)
                .filter(|_| node.str().is_some() || node.get("type").is_some())
                .map(|lits| J::Obj(vec![("enum".into(), lits.clone())]));
            let ty = if sensitive {
                Ty::Sensitive
            } else {
                self.ty(
                    role,
                    yaml_enum.as_ref().unwrap_or(node),
                    &loc,
                    wire,
                    id,
                    facts,
                )?
            };
            fields.push(Field {
                wire: wire.clone(),
                ident: field_ident(wire),
                ty,
                required,
                yaml_only: facts.yaml_only.contains(&loc),
            });
        }
        self.structs[id].fields = fields;
        Ok(id)
    }

    fn ty(
        &mut self,
        role: Role,
        node: &J,
        loc: &str,
        name: &str,
        owner: usize,
        facts: &Facts,
    ) -> Result<Ty, String> {
        if let Some(s) = node.str() {
            return self.scalar_ty(s, name, loc);
        }
        if let Some(members) = node.get("object").and_then(J::obj) {
            if let Some(path) = core_shape(members) {
                return Ok(Ty::Core(path));
            }
            let id = self.object(
                role,
                members,
                loc,
                pascal(name),
                Some((owner, name.to_string())),
                facts,
            )?;
            return Ok(Ty::Struct(id));
        }
        if let Some(inner) = node.get("array") {
            let item = self.ty(role, inner, &format!("{loc}[]"), name, owner, facts)?;
            return Ok(Ty::Vec(Box::new(item)));
        }
        if let Some(lits) = node.get("enum").and_then(J::arr) {
            let mut out = Vec::new();
            for l in lits {
                match l {
                    J::Str(s) => out.push(Lit::S(s.clone())),
                    J::Num(n) => out.push(Lit::I(
                        n.as_i64()
                            .ok_or_else(|| format!("{loc}: enum literal {n}"))?,
                    )),
                    other => return Err(format!("{loc}: enum literal {other:?}")),
                }
            }
            let int = out.iter().all(|l| matches!(l, Lit::I(_)));
            if !int && out.iter().any(|l| matches!(l, Lit::I(_))) {
                return Err(format!("{loc}: mixed enum"));
            }
            let id = self.enums.len();
            self.enums.push(EnumDef {
                role,
                lits: out,
                int,
                candidate: pascal(name),
                owners: vec![(owner, name.to_string())],
                name: String::new(),
                merged_into: None,
            });
            return Ok(Ty::Enum(id));
        }
        if let Some(members) = node.get("union").and_then(J::arr) {
            let kinds: BTreeSet<&str> = members.iter().filter_map(J::str).collect();
            let scalar_pair = kinds.len() == 2
                && kinds.contains("string")
                && (kinds.contains("number") || kinds.contains("integer"));
            return Ok(if scalar_pair && members.len() == 2 {
                Ty::StringOrNumber
            } else {
                Ty::Json
            });
        }
        if node.get("tuple").is_some() {
            // Every tuple in the source is the empty tuple `[]`: an array whose element type is
            // not published.
            return Ok(Ty::Vec(Box::new(Ty::Json)));
        }
        if let Some(t) = node.get("type").and_then(J::str) {
            if t == "string" && node.s("format") == "date-time" {
                return Ok(Ty::DateTime);
            }
            return self.scalar_ty(t, name, loc);
        }
        Err(format!("{loc}: unknown type node {node:?}"))
    }

    fn scalar_ty(&self, s: &str, name: &str, loc: &str) -> Result<Ty, String> {
        if s == "number" {
            return Ok(if is_fraction(name) { Ty::F64 } else { Ty::I64 });
        }
        scalar(s).ok_or_else(|| format!("{loc}: unknown scalar {s}"))
    }

    /// Resolve merged ids.
    pub fn struct_id(&self, mut id: usize) -> usize {
        while let Some(m) = self.structs[id].merged_into {
            id = m;
        }
        id
    }

    pub fn enum_id(&self, mut id: usize) -> usize {
        while let Some(m) = self.enums[id].merged_into {
            id = m;
        }
        id
    }

    fn ty_key(&self, ty: &Ty, memo: &mut HashMap<usize, String>) -> String {
        match ty {
            Ty::Struct(id) => format!("S[{}]", self.struct_key(self.struct_id(*id), memo)),
            Ty::Enum(id) => {
                let e = &self.enums[self.enum_id(*id)];
                format!("E[{}:{:?}]", e.candidate, e.lits)
            }
            Ty::Vec(t) => format!("V[{}]", self.ty_key(t, memo)),
            other => format!("{other:?}"),
        }
    }

    fn struct_key(&self, id: usize, memo: &mut HashMap<usize, String>) -> String {
        if let Some(k) = memo.get(&id) {
            return k.clone();
        }
        let s = &self.structs[id];
        let mut k = format!("{:?}|{}|", s.role.request_side(), s.candidate);
        for f in &s.fields {
            k.push_str(&format!(
                "{}:{}:{};",
                f.wire,
                f.required,
                self.ty_key(&f.ty, memo)
            ));
        }
        memo.insert(id, k.clone());
        k
    }

    /// Merge identical nested structs and enums (same candidate name, same side, same shape): one
    /// Rust type serves every place it occurs.
    pub fn dedupe(&mut self) {
        // Enums first: struct keys refer to enum shapes.
        let mut seen: HashMap<String, usize> = HashMap::new();
        for id in 0..self.enums.len() {
            let e = &self.enums[id];
            let key = format!("{}|{}|{:?}", e.role.request_side(), e.candidate, e.lits);
            match seen.get(&key) {
                Some(&first) => {
                    let owners = self.enums[id].owners.clone();
                    self.enums[first].owners.extend(owners);
                    self.enums[id].merged_into = Some(first);
                }
                None => {
                    seen.insert(key, id);
                }
            }
        }
        // Structs bottom-up until nothing merges (a merge below can make parents equal).
        loop {
            let mut memo = HashMap::new();
            let mut seen: HashMap<String, usize> = HashMap::new();
            let mut merged = false;
            for id in 0..self.structs.len() {
                if self.structs[id].top || self.structs[id].merged_into.is_some() {
                    continue;
                }
                let key = self.struct_key(id, &mut memo);
                match seen.get(&key) {
                    Some(&first) => {
                        let owners = self.structs[id].owners.clone();
                        self.structs[first].owners.extend(owners);
                        self.structs[id].merged_into = Some(first);
                        merged = true;
                    }
                    None => {
                        seen.insert(key, id);
                    }
                }
            }
            if !merged {
                break;
            }
        }
    }

    /// Name every nested struct and enum: the field's name in PascalCase when that name denotes
    /// one type in the module (request-side types choose first: they are the ones users write);
    /// otherwise the owner's name followed by it (`JsapiRequestAmount`), the smallest such when a
    /// type occurs in several places. `taken` holds the top-level names.
    pub fn assign_names(&mut self, taken: &BTreeSet<String>) -> Result<(), String> {
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        enum Item {
            S(usize),
            E(usize),
        }
        let live_s: Vec<usize> = (0..self.structs.len())
            .filter(|i| !self.structs[*i].top && self.structs[*i].merged_into.is_none())
            .collect();
        let live_e: Vec<usize> = (0..self.enums.len())
            .filter(|i| self.enums[*i].merged_into.is_none())
            .collect();
        let mut groups: BTreeMap<(bool, String), Vec<Item>> = BTreeMap::new();
        for &i in &live_s {
            let s = &self.structs[i];
            groups
                .entry((!s.role.request_side(), s.candidate.clone()))
                .or_default()
                .push(Item::S(i));
        }
        for &i in &live_e {
            let e = &self.enums[i];
            groups
                .entry((!e.role.request_side(), e.candidate.clone()))
                .or_default()
                .push(Item::E(i));
        }
        let mut used: BTreeSet<String> = taken.clone();
        let mut plain: BTreeSet<Item> = BTreeSet::new();
        let request_names: BTreeSet<String> = groups
            .keys()
            .filter(|(resp, _)| !resp)
            .map(|(_, n)| n.clone())
            .collect();
        // Request side first (false < true in the key). Within a group, the type that occurs
        // most often takes the plain name (`Amount` of most order endpoints); the others, and
        // every type of a tied group, are qualified.
        for ((response_side, name), items) in &groups {
            let clash = taken.contains(name) || (*response_side && request_names.contains(name));
            if clash {
                continue;
            }
            let uses = |it: &Item| match *it {
                Item::S(i) => self.structs[i].owners.len(),
                Item::E(i) => self.enums[i].owners.len(),
            };
            let mut by_use: Vec<(usize, Item)> = items.iter().map(|it| (uses(it), *it)).collect();
            by_use.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let unique_winner = by_use.len() == 1 || by_use[0].0 > by_use[1].0;
            if unique_winner {
                plain.insert(by_use[0].1);
                used.insert(name.clone());
            }
        }
        for item in &plain {
            match *item {
                Item::S(i) => self.structs[i].name = self.structs[i].candidate.clone(),
                Item::E(i) => self.enums[i].name = self.enums[i].candidate.clone(),
            }
        }
        // Qualified names, resolved through owners (top-level owners are named already).
        let mut order: Vec<Item> = live_s
            .iter()
            .map(|i| Item::S(*i))
            .chain(live_e.iter().map(|i| Item::E(*i)))
            .filter(|it| !plain.contains(it))
            .collect();
        order.sort();
        for item in order {
            let name = self.qualified(item_owners(self, item))?;
            if !used.insert(name.clone()) {
                return Err(format!("type name {name} is given twice"));
            }
            match item {
                Item::S(i) => self.structs[i].name = name,
                Item::E(i) => self.enums[i].name = name,
            }
        }
        fn item_owners(a: &Arena, it: Item) -> Vec<(usize, String)> {
            match it {
                Item::S(i) => a.structs[i].owners.clone(),
                Item::E(i) => a.enums[i].owners.clone(),
            }
        }
        Ok(())
    }

    fn qualified(&mut self, owners: Vec<(usize, String)>) -> Result<String, String> {
        let mut best: Option<String> = None;
        for (owner, field) in owners {
            let owner = self.struct_id(owner);
            let owner_name = self.struct_name(owner)?;
            let n = format!("{owner_name}{}", pascal(&field));
            if best.as_ref().is_none_or(|b| n < *b) {
                best = Some(n);
            }
        }
        best.ok_or_else(|| "a nested type without an owner".to_string())
    }

    fn struct_name(&mut self, id: usize) -> Result<String, String> {
        if !self.structs[id].name.is_empty() {
            return Ok(self.structs[id].name.clone());
        }
        let owners = self.structs[id].owners.clone();
        let n = self.qualified(owners)?;
        self.structs[id].name = n.clone();
        Ok(n)
    }

    /// Whether a type (transitively) has no `Default`-breaking parts: all do here.
    pub fn rust_ty(&self, ty: &Ty) -> String {
        match ty {
            Ty::Str => "String".into(),
            Ty::DateTime => "DateTime".into(),
            Ty::I64 => "i64".into(),
            Ty::F64 => "f64".into(),
            Ty::Bool => "bool".into(),
            Ty::Bytes => "Vec<u8>".into(),
            Ty::Sensitive => "Sensitive".into(),
            Ty::Json => "serde_json::Value".into(),
            Ty::StringOrNumber => "StringOrNumber".into(),
            Ty::Struct(id) => self.structs[self.struct_id(*id)].name.clone(),
            Ty::Enum(id) => self.enums[self.enum_id(*id)].name.clone(),
            Ty::Vec(t) => format!("Vec<{}>", self.rust_ty(t)),
            Ty::Core(path) => path.to_string(),
        }
    }
}

/// Insert the members only the YAML has into a copy of the tree (`request.payer.identity` goes into
/// the object at `request.payer`).
pub fn merge_yaml_only(
    root_name: &str,
    root: &[(String, J)],
    only: &[(String, J)],
) -> Result<Vec<(String, J)>, String> {
    let mut tree = J::Obj(vec![("object".into(), J::Obj(root.to_vec()))]);
    for (loc, node) in only {
        let Some(rest) = loc
            .strip_prefix(root_name)
            .and_then(|r| r.strip_prefix('.'))
        else {
            continue;
        };
        let segs: Vec<&str> = rest.split('.').collect();
        insert(&mut tree, &segs, node).map_err(|e| format!("{loc}: {e}"))?;
    }
    match tree {
        J::Obj(mut m) => match m.remove(0).1 {
            J::Obj(members) => Ok(members),
            _ => Err("not an object".into()),
        },
        _ => Err("not an object".into()),
    }
}

fn members_of(node: &mut J) -> Option<&mut Vec<(String, J)>> {
    let J::Obj(m) = node else { return None };
    let (_, inner) = m.iter_mut().find(|(k, _)| k == "object")?;
    match inner {
        J::Obj(members) => Some(members),
        _ => None,
    }
}

fn insert(node: &mut J, segs: &[&str], value: &J) -> Result<(), String> {
    let (first, rest) = segs.split_first().ok_or("empty location")?;
    let (name, array) = match first.strip_suffix("[]") {
        Some(n) => (n, true),
        None => (*first, false),
    };
    let members = members_of(node).ok_or("parent is not an object")?;
    if rest.is_empty() {
        if array {
            return Err("an array element cannot be inserted".into());
        }
        if !members.iter().any(|(k, _)| k == name) {
            members.push((name.to_string(), value.clone()));
        }
        return Ok(());
    }
    let child = members
        .iter_mut()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .ok_or_else(|| format!("no member {name}"))?;
    let child = if array {
        match child {
            J::Obj(m) => m
                .iter_mut()
                .find(|(k, _)| k == "array")
                .map(|(_, v)| v)
                .ok_or("not an array")?,
            _ => return Err("not an array".into()),
        }
    } else {
        child
    };
    insert(child, rest, value)
}

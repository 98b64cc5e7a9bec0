//! From the merged, annotated type trees (`official.rs`) to Rust items: fields, their types and
//! optionality, nested structs and enums, where they live and what they are called. Every
//! mechanical rule lives here, once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::json::J;
use crate::names::{field_ident, pascal};

/// Which way a type travels: only in requests, only in answers (and notifications), or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Request,
    Answer,
    Both,
}

impl Side {
    pub fn from_annotation(s: &str, default: Side) -> Side {
        match s {
            "request" => Side::Request,
            "answer" => Side::Answer,
            "both" => Side::Both,
            _ => default,
        }
    }

    /// Answers are read: they keep unknown members.
    pub fn reads(self) -> bool {
        self != Side::Request
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

/// An official model's Rust name and home: `payments.jsapi.PrepayRequest` is `PrepayRequest` in
/// the module of package `payments` (`pay::transactions`), or in its `jsapi` sub-module when the
/// sub-packages' models of that name differ.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Official {
    /// The qualified model name (`payments.jsapi.PrepayRequest`).
    pub model: String,
    pub name: String,
    pub module: Vec<String>,
    pub sub: Option<String>,
}

impl Official {
    fn from_node(node: &J) -> Option<Official> {
        let r = node.get("rust")?;
        Some(Official {
            model: node.s("model").to_string(),
            name: r.s("name").to_string(),
            module: r.strings("module"),
            sub: r.get("sub").and_then(J::str).map(str::to_string),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub wire: String,
    pub ident: String,
    pub ty: Ty,
    pub required: bool,
    /// Required by an official model in a type only requests use: an empty value is refused
    /// before signing.
    pub strict: bool,
    pub doc: String,
    /// The description is the one the official models give every field of this name.
    pub doc_by_name: bool,
    /// Only the OpenAPI YAML has it.
    pub yaml_only: bool,
}

#[derive(Debug, Clone)]
pub struct StructDef {
    pub side: Side,
    pub fields: Vec<Field>,
    /// Top-level structs have their final name here; nested ones a candidate (the field's name).
    pub candidate: String,
    /// Where it occurs: `(owner struct, field)`; empty for top-level structs.
    pub owners: Vec<(usize, String)>,
    pub top: bool,
    /// How many endpoints use it as their query, body or answer.
    pub top_uses: usize,
    pub name: String,
    /// The Rust module it is emitted in (`["pay", "transactions"]`).
    pub module: Vec<String>,
    pub location: String,
    /// Merged into another identical struct.
    pub merged_into: Option<usize>,
    pub official: Option<Official>,
    /// `Go payments.Transaction`, `Java payments.Transaction`, …
    pub official_names: Vec<String>,
    pub doc: String,
    /// The notification event types this type reads.
    pub events: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lit {
    S(String),
    I(i64),
}

#[derive(Debug, Clone)]
pub struct EnumDef {
    pub side: Side,
    pub lits: Vec<Lit>,
    pub int: bool,
    pub candidate: String,
    pub owners: Vec<(usize, String)>,
    pub name: String,
    pub module: Vec<String>,
    pub merged_into: Option<usize>,
    pub official: Option<Official>,
    /// Each value's meaning, where a source gives one.
    pub values_doc: BTreeMap<String, String>,
    pub doc: String,
}

/// The structs and enums of one family (or of the events).
#[derive(Debug, Default)]
pub struct Arena {
    pub structs: Vec<StructDef>,
    pub enums: Vec<EnumDef>,
}

/// Names of `number` members that are fractions; every other number is an integer (amounts in
/// fen, counts, ids).
pub fn is_fraction(name: &str) -> bool {
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

/// The members of a core type (`core_shape`'s answer), sorted.
pub fn core_members(path: &str) -> &'static [&'static str] {
    CORE_SHAPES
        .iter()
        .find(|(_, p)| *p == path)
        .map(|(m, _)| *m)
        .unwrap_or(&[])
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

fn text(node: &J, key: &str) -> String {
    node.s(key).to_string()
}

impl Arena {
    /// Build the struct for the object `node` (an annotated `{"object": …}`) at `location`, in
    /// `module`, returning its id.
    pub fn object(
        &mut self,
        node: &J,
        location: &str,
        candidate: String,
        owner: Option<(usize, String)>,
        module: &[String],
        default_side: Side,
    ) -> Result<usize, String> {
        let members = node.get("object").and_then(J::obj).unwrap_or(&[]).to_vec();
        let official = Official::from_node(node);
        let side = Side::from_annotation(node.s("side"), default_side);
        let id = self.structs.len();
        self.structs.push(StructDef {
            side,
            fields: Vec::new(),
            candidate,
            owners: owner.into_iter().collect(),
            top: false,
            top_uses: 0,
            name: String::new(),
            module: official
                .as_ref()
                .map(|o| o.module.clone())
                .unwrap_or_else(|| module.to_vec()),
            location: location.to_string(),
            merged_into: None,
            official_names: node.strings("official_names"),
            official,
            doc: text(node, "model_doc"),
            events: node.strings("events"),
        });
        let here = self.structs[id].module.clone();
        let mut fields = Vec::new();
        for (wire, node) in &members {
            let loc = format!("{location}.{wire}");
            let ty = if node.is_true("sensitive") && node.s("type") == "string" {
                Ty::Sensitive
            } else {
                self.ty(side, node, &loc, wire, id, &here)?
            };
            fields.push(Field {
                wire: wire.clone(),
                ident: field_ident(wire),
                ty,
                required: node.is_true("req"),
                strict: node.is_true("strict"),
                doc: text(node, "doc"),
                doc_by_name: node.is_true("doc_by_name"),
                yaml_only: node.is_true("yaml_only"),
            });
        }
        self.structs[id].fields = fields;
        Ok(id)
    }

    fn ty(
        &mut self,
        side: Side,
        node: &J,
        loc: &str,
        name: &str,
        owner: usize,
        module: &[String],
    ) -> Result<Ty, String> {
        if let Some(s) = node.str() {
            return self.scalar_ty(s, name, loc, false);
        }
        if let Some(members) = node.get("object").and_then(J::obj) {
            if let Some(path) = core_shape(members) {
                return Ok(Ty::Core(path));
            }
            let id = self.object(
                node,
                loc,
                pascal(name),
                Some((owner, name.to_string())),
                module,
                side,
            )?;
            return Ok(Ty::Struct(id));
        }
        if let Some(inner) = node.get("array") {
            let item = self.ty(side, inner, &format!("{loc}[]"), name, owner, module)?;
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
            let official = Official::from_node(node);
            let values_doc = node
                .get("values_doc")
                .and_then(J::obj)
                .unwrap_or(&[])
                .iter()
                .filter_map(|(k, v)| v.str().map(|d| (k.clone(), d.to_string())))
                .collect();
            let id = self.enums.len();
            self.enums.push(EnumDef {
                side,
                lits: out,
                int,
                candidate: pascal(name),
                owners: vec![(owner, name.to_string())],
                name: String::new(),
                module: official
                    .as_ref()
                    .map(|o| o.module.clone())
                    .unwrap_or_else(|| module.to_vec()),
                merged_into: None,
                official,
                values_doc,
                doc: text(node, "model_doc"),
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
            return self.scalar_ty(t, name, loc, node.is_true("float"));
        }
        Err(format!("{loc}: unknown type node {node:?}"))
    }

    fn scalar_ty(&self, s: &str, name: &str, loc: &str, float: bool) -> Result<Ty, String> {
        if s == "number" {
            return Ok(if float || is_fraction(name) {
                Ty::F64
            } else {
                Ty::I64
            });
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
            Ty::Enum(id) => format!("E[{}]", self.enum_key(self.enum_id(*id))),
            Ty::Vec(t) => format!("V[{}]", self.ty_key(t, memo)),
            other => format!("{other:?}"),
        }
    }

    fn enum_key(&self, id: usize) -> String {
        let e = &self.enums[id];
        match &e.official {
            Some(o) => format!("O|{:?}|{}|{:?}", o.module, o.name, e.lits),
            None => format!(
                "C|{:?}|{}|{}|{:?}",
                e.module,
                e.side == Side::Request,
                e.candidate,
                e.lits
            ),
        }
    }

    fn struct_key(&self, id: usize, memo: &mut HashMap<usize, String>) -> String {
        if let Some(k) = memo.get(&id) {
            return k.clone();
        }
        let s = &self.structs[id];
        let mut k = match &s.official {
            Some(o) => format!("O|{:?}|{}|{:?}|", o.module, o.name, s.side),
            None => format!("C|{:?}|{:?}|{}|", s.module, s.side, s.candidate),
        };
        for f in &s.fields {
            k.push_str(&format!(
                "{}:{}:{}:{};",
                f.wire,
                f.required,
                f.strict,
                self.ty_key(&f.ty, memo)
            ));
        }
        memo.insert(id, k.clone());
        k
    }

    /// Merge identical structs and enums (same home, name and shape): one Rust type serves every
    /// place it occurs. Top-level catalog structs never merge; official ones do (one
    /// `Transaction` for both order queries).
    pub fn dedupe(&mut self) {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for id in 0..self.enums.len() {
            let key = self.enum_key(id);
            match seen.get(&key) {
                Some(&first) => {
                    let owners = self.enums[id].owners.clone();
                    self.enums[first].owners.extend(owners);
                    let docs = self.enums[id].values_doc.clone();
                    for (k, v) in docs {
                        self.enums[first].values_doc.entry(k).or_insert(v);
                    }
                    self.enums[id].merged_into = Some(first);
                }
                None => {
                    seen.insert(key, id);
                }
            }
        }
        loop {
            let mut memo = HashMap::new();
            let mut seen: HashMap<String, usize> = HashMap::new();
            let mut merged = false;
            for id in 0..self.structs.len() {
                let s = &self.structs[id];
                if s.merged_into.is_some() || (s.top && s.official.is_none()) {
                    continue;
                }
                let key = self.struct_key(id, &mut memo);
                match seen.get(&key) {
                    Some(&first) => {
                        let owners = self.structs[id].owners.clone();
                        self.structs[first].owners.extend(owners);
                        if self.structs[id].top {
                            self.structs[first].top = true;
                        }
                        self.structs[first].top_uses += self.structs[id].top_uses;
                        let names = self.structs[id].official_names.clone();
                        for n in names {
                            if !self.structs[first].official_names.contains(&n) {
                                self.structs[first].official_names.push(n);
                            }
                        }
                        let events = self.structs[id].events.clone();
                        for e in events {
                            if !self.structs[first].events.contains(&e) {
                                self.structs[first].events.push(e);
                            }
                        }
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

    /// Name and place every type.
    ///
    /// - Official models keep their official name in their package's module. When the
    ///   sub-packages' models of one name differ (`payments.jsapi.PrepayRequest`,
    ///   `payments.h5.PrepayRequest`), the one most places use stays there and each other moves
    ///   to its sub-package's module (`pay::transactions::h5`).
    /// - Top-level catalog structs are already named (`<Function>Request`).
    /// - Nested catalog types: the field's name in PascalCase when that name denotes one type in
    ///   the module (request-side types choose first: they are the ones users write); otherwise
    ///   the owner's name followed by it (`JsapiRequestAmount`), the smallest such when a type
    ///   occurs in several places.
    pub fn assign_names(&mut self, reserved: &BTreeSet<String>) -> Result<(), String> {
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        enum Item {
            S(usize),
            E(usize),
        }
        let live_s: Vec<usize> = (0..self.structs.len())
            .filter(|i| self.structs[*i].merged_into.is_none())
            .collect();
        let live_e: Vec<usize> = (0..self.enums.len())
            .filter(|i| self.enums[*i].merged_into.is_none())
            .collect();
        // Names taken per module.
        let mut used: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
        let take = |used: &mut BTreeMap<Vec<String>, BTreeSet<String>>,
                    module: &[String],
                    name: &str|
         -> bool {
            used.entry(module.to_vec())
                .or_insert_with(|| reserved.clone())
                .insert(name.to_string())
        };
        // 1. Official models.
        let mut groups: BTreeMap<(Vec<String>, String), Vec<Item>> = BTreeMap::new();
        for &i in &live_s {
            if let Some(o) = &self.structs[i].official {
                groups
                    .entry((o.module.clone(), o.name.clone()))
                    .or_default()
                    .push(Item::S(i));
            }
        }
        for &i in &live_e {
            if let Some(o) = &self.enums[i].official {
                groups
                    .entry((o.module.clone(), o.name.clone()))
                    .or_default()
                    .push(Item::E(i));
            }
        }
        let uses = |a: &Arena, it: Item| match it {
            Item::S(i) => a.structs[i].owners.len() + a.structs[i].top_uses,
            Item::E(i) => a.enums[i].owners.len(),
        };
        let official_of = |a: &Arena, it: Item| -> Official {
            match it {
                Item::S(i) => a.structs[i].official.clone(),
                Item::E(i) => a.enums[i].official.clone(),
            }
            .expect("official item")
        };
        for ((module, name), items) in &groups {
            let mut by_use: Vec<(usize, Item)> =
                items.iter().map(|it| (uses(self, *it), *it)).collect();
            by_use.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let winner = (by_use.len() == 1 || by_use[0].0 > by_use[1].0).then_some(by_use[0].1);
            for (_, it) in &by_use {
                let o = official_of(self, *it);
                let (m, n) = if Some(*it) == winner {
                    (module.clone(), name.clone())
                } else {
                    match &o.sub {
                        Some(sub) => {
                            let mut m = module.clone();
                            m.push(sub.clone());
                            (m, name.clone())
                        }
                        None => {
                            return Err(format!(
                                "{}: {name} names different models ({}) in one package",
                                module.join("::"),
                                by_use
                                    .iter()
                                    .map(|(_, it)| official_of(self, *it).model)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ))
                        }
                    }
                };
                if !take(&mut used, &m, &n) {
                    return Err(format!("{}::{n} is given twice", m.join("::")));
                }
                match *it {
                    Item::S(i) => {
                        self.structs[i].module = m;
                        self.structs[i].name = n;
                    }
                    Item::E(i) => {
                        self.enums[i].module = m;
                        self.enums[i].name = n;
                    }
                }
            }
        }
        // 2. Top-level catalog structs.
        for &i in &live_s {
            let s = &self.structs[i];
            if s.top && s.official.is_none() {
                let (m, n) = (s.module.clone(), s.candidate.clone());
                if !take(&mut used, &m, &n) {
                    return Err(format!("{}::{n} is given twice", m.join("::")));
                }
                self.structs[i].name = n;
            }
        }
        // 3. Nested catalog types, per module.
        let mut groups: BTreeMap<(Vec<String>, bool, String), Vec<Item>> = BTreeMap::new();
        for &i in &live_s {
            let s = &self.structs[i];
            if s.official.is_none() && !s.top {
                groups
                    .entry((
                        s.module.clone(),
                        s.side != Side::Request,
                        s.candidate.clone(),
                    ))
                    .or_default()
                    .push(Item::S(i));
            }
        }
        for &i in &live_e {
            let e = &self.enums[i];
            if e.official.is_none() {
                groups
                    .entry((
                        e.module.clone(),
                        e.side != Side::Request,
                        e.candidate.clone(),
                    ))
                    .or_default()
                    .push(Item::E(i));
            }
        }
        let request_names: BTreeSet<(Vec<String>, String)> = groups
            .keys()
            .filter(|(_, resp, _)| !resp)
            .map(|(m, _, n)| (m.clone(), n.clone()))
            .collect();
        let mut plain: BTreeSet<Item> = BTreeSet::new();
        for ((module, response_side, name), items) in &groups {
            let taken =
                used.get(module).is_some_and(|t| t.contains(name)) || reserved.contains(name);
            let clash = taken
                || (*response_side && request_names.contains(&(module.clone(), name.clone())));
            if clash {
                continue;
            }
            let mut by_use: Vec<(usize, Item)> =
                items.iter().map(|it| (uses(self, *it), *it)).collect();
            by_use.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            let unique_winner = by_use.len() == 1 || by_use[0].0 > by_use[1].0;
            if unique_winner {
                plain.insert(by_use[0].1);
                take(&mut used, module, name);
            }
        }
        for item in &plain {
            match *item {
                Item::S(i) => self.structs[i].name = self.structs[i].candidate.clone(),
                Item::E(i) => self.enums[i].name = self.enums[i].candidate.clone(),
            }
        }
        let mut order: Vec<Item> = groups
            .values()
            .flatten()
            .copied()
            .filter(|it| !plain.contains(it))
            .collect();
        order.sort();
        for item in order {
            let owners = match item {
                Item::S(i) => self.structs[i].owners.clone(),
                Item::E(i) => self.enums[i].owners.clone(),
            };
            let module = match item {
                Item::S(i) => self.structs[i].module.clone(),
                Item::E(i) => self.enums[i].module.clone(),
            };
            let name = self.qualified(owners)?;
            if !take(&mut used, &module, &name) {
                return Err(format!(
                    "type name {}::{name} is given twice",
                    module.join("::")
                ));
            }
            match item {
                Item::S(i) => self.structs[i].name = name,
                Item::E(i) => self.enums[i].name = name,
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

    /// The path of a type as written in module `from`: its name when it lives there, its full
    /// `crate::` path otherwise.
    pub fn path_from(&self, module: &[String], name: &str, from: &[String]) -> String {
        if module == from {
            name.to_string()
        } else {
            format!("crate::{}::{name}", module.join("::"))
        }
    }

    /// The Rust type, as written in module `from`.
    pub fn rust_ty(&self, ty: &Ty, from: &[String]) -> String {
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
            Ty::Struct(id) => {
                let s = &self.structs[self.struct_id(*id)];
                self.path_from(&s.module, &s.name, from)
            }
            Ty::Enum(id) => {
                let e = &self.enums[self.enum_id(*id)];
                self.path_from(&e.module, &e.name, from)
            }
            Ty::Vec(t) => format!("Vec<{}>", self.rust_ty(t, from)),
            Ty::Core(path) => path.to_string(),
        }
    }

    /// The full path of a struct (`wechatpay_api::pay::transactions::Transaction`).
    pub fn struct_path(&self, id: usize) -> String {
        let s = &self.structs[self.struct_id(id)];
        format!("wechatpay_api::{}::{}", s.module.join("::"), s.name)
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

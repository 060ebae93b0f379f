//! An independent JSON tree built by `serde_json` that, unlike `serde_json::Value`, keeps every
//! object member (so duplicate keys are visible) and members in source order.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

/// A JSON value as `serde_json` sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Tree {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number (as `serde_json` parses it).
    Num(Number),
    /// A decoded string.
    Str(String),
    /// An array.
    Arr(Vec<Tree>),
    /// An object; every member, in order, duplicates kept.
    Obj(Vec<(String, Tree)>),
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
        Ok(Tree::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
        Ok(Tree::Num(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Tree, E> {
        Ok(Tree::Num(v.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Tree, E> {
        Number::from_f64(v).map(Tree::Num).ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Tree, E> {
        Ok(Tree::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = seq.next_element::<Tree>()? {
            v.push(x);
        }
        Ok(Tree::Arr(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut v = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            let val = map.next_value::<Tree>()?;
            v.push((k, val));
        }
        Ok(Tree::Obj(v))
    }
}

impl Tree {
    /// Parses with `serde_json` (its recursion limit of 128 applies).
    pub fn parse(bytes: &[u8]) -> Result<Tree, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Container nesting depth (`1` for `[]`, `0` for a scalar), as the guard counts it.
    pub fn depth(&self) -> u32 {
        match self {
            Tree::Arr(v) => 1 + v.iter().map(Tree::depth).max().unwrap_or(0),
            Tree::Obj(v) => 1 + v.iter().map(|(_, t)| t.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Whether any object (at any depth) repeats a key.
    pub fn has_duplicate_keys(&self) -> bool {
        match self {
            Tree::Arr(v) => v.iter().any(Tree::has_duplicate_keys),
            Tree::Obj(v) => {
                let mut seen = std::collections::HashSet::new();
                v.iter().any(|(k, _)| !seen.insert(k.as_str())) || v.iter().any(|(_, t)| t.has_duplicate_keys())
            }
            _ => false,
        }
    }

    /// Member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Tree> {
        match self {
            Tree::Obj(v) => v.iter().find(|(k, _)| k == key).map(|(_, t)| t),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Tree::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Every string value (not keys) in the tree.
    pub fn strings<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Tree::Str(s) => out.push(s),
            Tree::Arr(v) => v.iter().for_each(|t| t.strings(out)),
            Tree::Obj(v) => v.iter().for_each(|(_, t)| t.strings(out)),
            _ => {}
        }
    }
}

/// Whether `bytes` is one JSON text by `serde_json`'s grammar, without number range checks
/// (serde_json refuses `1e400` when building values; the grammar allows it).
pub fn is_json_syntax(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Box<serde_json::value::RawValue>>(bytes).is_ok()
}

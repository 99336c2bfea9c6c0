//! The located YAML tree as a JSON representation the validator reads
//! directly ([`jsonschema::json::Json`]), so a valid spec is checked
//! without first being copied into a `serde_json::Value`.
//!
//! It answers every question as [`Node::to_json`]'s value would: numbers
//! as serde_json numbers (non-negative integers unsigned), NaN and
//! infinities as their text, mapping keys by name in document order.
//! Only the yes-or-no check reads it; an invalid spec is checked again on
//! the JSON value, where errors come with their instances.

use std::borrow::Cow;

use jsonschema::json::{Array, Json, Node as JsonNode, NodeIdentity, Object};
use jsonschema::types::JsonType;
use serde_json::Value as JsonValue;

use crate::source::Span;
use crate::yaml::{Key, Node, Value};

/// The representation: nodes are `&yaml::Node`.
pub struct Tree;

impl Json for Tree {
    type Node<'a> = &'a Node;
    type PreparedKey = String;
    type StringBuffer = ();

    // Lookups scan the entries in order, as a small insertion-ordered map
    // does; a pass over the members costs no more than a few lookups.
    const KEYS_PER_LOOKUP: usize = 2;
    const ACYCLIC: bool = true;

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>((): &mut (), string: &str, f: impl FnOnce(&Node) -> T) -> T {
        let node = Node {
            // Names are short: inline, they allocate nothing.
            value: Value::String(compact_str::CompactString::new(string)),
            // A name, not a place in any file.
            span: Span::file_start(crate::source::FileId(0)),
            verbatim_start: None,
        };
        f(&node)
    }
}

/// A number as `to_json` writes it; `None` for what it writes otherwise.
fn number(node: &Node) -> Option<serde_json::Number> {
    match node.value {
        Value::Int(i) => Some(i.into()),
        Value::UInt(u) => Some(u.into()),
        Value::Float(f) => serde_json::Number::from_f64(f),
        _ => None,
    }
}

impl<'a> JsonNode<'a, Tree> for &'a Node {
    type Object = &'a [(Key, Node)];
    type Array = &'a [Node];
    type Number = serde_json::Number;

    fn as_object(&self) -> Option<&'a [(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&'a [Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        match &self.value {
            Value::String(s) => Some(Cow::Borrowed(s)),
            Value::Float(f) if !f.is_finite() => Some(Cow::Owned(f.to_string())),
            _ => None,
        }
    }

    fn as_number(&self) -> Option<serde_json::Number> {
        number(self)
    }

    fn is_number(&self) -> bool {
        match self.value {
            Value::Int(_) | Value::UInt(_) => true,
            Value::Float(f) => f.is_finite(),
            _ => false,
        }
    }

    fn as_boolean(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    fn json_type(&self) -> JsonType {
        match &self.value {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Boolean,
            Value::Int(_) | Value::UInt(_) => JsonType::Number,
            Value::Float(f) if f.is_finite() => JsonType::Number,
            Value::Float(_) | Value::String(_) => JsonType::String,
            Value::Seq(_) => JsonType::Array,
            Value::Map(_) => JsonType::Object,
        }
    }

    fn string_length(&self) -> Option<u64> {
        self.as_string().map(|s| s.chars().count() as u64)
    }

    fn equals_value(&self, expected: &JsonValue) -> bool {
        // `enum` and `const` of strings, the usual case, without a copy.
        match (&self.value, expected) {
            (Value::String(s), JsonValue::String(e)) => s == e,
            (Value::String(_), _) => false,
            _ => jsonschema::json::cmp::equal(&self.to_json(), expected),
        }
    }

    fn to_value(&self) -> Cow<'a, JsonValue> {
        Cow::Owned(self.to_json())
    }

    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::new(std::ptr::from_ref::<Node>(self) as usize))
    }
}

/// A mapping's entries, by key name.
pub struct Members<'a>(std::slice::Iter<'a, (Key, Node)>);

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, &'a Node);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(key, value)| (key.name.as_str(), value))
    }
}

impl<'a> Object<'a, Tree> for &'a [(Key, Node)] {
    type Node = &'a Node;
    type MemberName = &'a str;
    type MembersIter = Members<'a>;

    fn len(&self) -> usize {
        <[(Key, Node)]>::len(self)
    }

    fn get(&self, key: &String) -> Option<&'a Node> {
        self.iter()
            .find(|(name, _)| name.name == *key)
            .map(|(_, value)| value)
    }

    fn members(&self) -> Members<'a> {
        Members(self.iter())
    }
}

impl<'a> Array<'a, Tree> for &'a [Node] {
    type Node = &'a Node;
    type ElementsIter = std::slice::Iter<'a, Node>;

    fn len(&self) -> usize {
        <[Node]>::len(self)
    }

    fn elements(&self) -> std::slice::Iter<'a, Node> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn node(value: Value) -> Node {
        Node {
            value,
            span: Span::file_start(FileId(0)),
            verbatim_start: None,
        }
    }

    /// `enum` and `const` compare as on the JSON value `to_json` writes.
    #[test]
    fn equals_value_as_on_json() {
        let cases = [
            (Value::String("a".into()), serde_json::json!("a"), true),
            (Value::String("1".into()), serde_json::json!(1), false),
            (Value::Float(f64::NAN), serde_json::json!("NaN"), true),
            (Value::Int(1), serde_json::json!(1.0), true),
            (Value::Null, serde_json::json!("null"), false),
        ];
        for (value, expected, equal) in cases {
            let n = node(value);
            assert_eq!((&n).equals_value(&expected), equal, "{n:?} vs {expected}");
        }
    }
}

//! The JSON Schema pass.
//!
//! `schema/connector.schema.json` is embedded at build time, so the binary
//! checks exactly what editors check. Each schema error is turned into a
//! diagnostic at the offending node: unknown keys at the key (with "did you
//! mean"), type and value errors at the value, missing keys at the parent's
//! key. Help lines quote the schema's own `description`.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::codes::Code;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::yaml::{Node, pointer_token};

mod pattern;
mod tree;

/// The connector schema, as shipped in `schema/`.
pub const CONNECTOR_SCHEMA: &str = include_str!("../schema/connector.schema.json");

struct Compiled {
    document: Value,
    /// Answers yes or no, on the located tree itself.
    tree_validator: jsonschema::Validator<tree::Tree>,
    /// Collects errors, on the JSON value; compiled for the first invalid
    /// spec.
    validator: OnceLock<jsonschema::Validator>,
}

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let document: Value =
            serde_json::from_str(CONNECTOR_SCHEMA).expect("the embedded schema is valid JSON");
        let tree_validator = jsonschema::options_for::<tree::Tree>()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_keyword("pattern", pattern::keyword)
            .build(&document)
            .expect("the embedded schema is a valid draft 2020-12 schema");
        Compiled {
            document,
            tree_validator,
            validator: OnceLock::new(),
        }
    })
}

/// The embedded schema as a JSON value.
pub fn document() -> &'static Value {
    &compiled().document
}

/// Whether `root` is valid, answered on the tree and on its JSON value
/// (for the test that the two agree).
#[cfg(test)]
pub(crate) fn validity_on_tree_and_json(root: &Node) -> (bool, bool) {
    let compiled = compiled();
    let on_json = json_validator(compiled).is_valid(&root.to_json());
    (compiled.tree_validator.is_valid(root), on_json)
}

fn json_validator(compiled: &Compiled) -> &jsonschema::Validator {
    compiled.validator.get_or_init(|| {
        jsonschema::draft202012::new(&compiled.document)
            .expect("the embedded schema is a valid draft 2020-12 schema")
    })
}

/// Checks one connector document; returns diagnostics located in `root`.
pub fn check(root: &Node) -> Vec<Diagnostic> {
    let compiled = compiled();
    // Most specs are valid, and answering yes or no on the tree itself is
    // several times cheaper than copying it into JSON and collecting every
    // error with its location.
    if compiled.tree_validator.is_valid(root) {
        return Vec::new();
    }
    let validator = json_validator(compiled);
    let instance = &root.to_json();
    let mut out: Vec<Diagnostic> = Vec::new();
    for error in validator.iter_errors(instance) {
        let pointer = error.instance_path().as_str().to_string();
        let subschema = error
            .absolute_keyword_location()
            .and_then(|uri| uri.fragment().map(|f| f.as_str().to_string()))
            .map(|fragment| parent_pointer(&percent_decode(&fragment)));
        let subschema = subschema
            .as_deref()
            .and_then(|p| compiled.document.pointer(p));
        for diagnostic in convert(root, &pointer, error.kind(), error.instance(), subschema) {
            if !out
                .iter()
                .any(|d| d.pointer == diagnostic.pointer && d.message == diagnostic.message)
            {
                out.push(diagnostic);
            }
        }
    }
    out
}

fn convert(
    root: &Node,
    pointer: &str,
    kind: &ValidationErrorKind,
    instance: &Value,
    subschema: Option<&Value>,
) -> Vec<Diagnostic> {
    let place = display_pointer(pointer);
    let description = |s: Option<&Value>| {
        s.and_then(|s| s.get("description"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let allowed: Vec<&str> = subschema
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|props| props.keys().map(String::as_str).collect())
                .unwrap_or_default();
            unexpected
                .iter()
                .map(|key| {
                    let key_pointer = format!("{pointer}/{}", pointer_token(key));
                    let mut d = Diagnostic::new(
                        Code::UnknownKey,
                        format!("unknown key `{key}` in {place}"),
                    )
                    .at(root.key_span(&key_pointer))
                    .at_pointer(key_pointer);
                    d.help = Some(match did_you_mean(key, allowed.iter().copied()) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None if !allowed.is_empty() => {
                            format!("allowed keys here: {}", backticked(&allowed))
                        }
                        None => "remove this key".to_string(),
                    });
                    d
                })
                .collect()
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let property_schema = subschema
                .and_then(|s| s.get("properties"))
                .and_then(|p| p.get(name));
            let mut d = Diagnostic::new(
                Code::MissingKey,
                format!("missing required key `{name}` in {place}"),
            )
            .at(root.value_span(pointer))
            .at_pointer(pointer);
            d.help = Some(match description(property_schema) {
                Some(text) => format!("add `{name}`: {text}"),
                None => format!("add `{name}`"),
            });
            vec![d]
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => article(&t.to_string()),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| article(&t.to_string()))
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            let mut d = Diagnostic::new(
                Code::WrongType,
                format!(
                    "{place}: expected {expected}, found {}",
                    describe_value(instance)
                ),
            )
            .at(root.value_span(pointer))
            .at_pointer(pointer);
            d.help = yaml_1_1_boolean_hint(instance)
                .or_else(|| description(subschema))
                .or_else(|| Some(type_hint(instance)));
            vec![d]
        }
        ValidationErrorKind::Enum { options } => {
            let choices: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(plain).collect())
                .unwrap_or_default();
            let found = plain(instance);
            let mut d = Diagnostic::new(
                Code::InvalidValue,
                format!("{place}: `{found}` is not one of {}", backticked(&choices)),
            )
            .at(root.value_span(pointer))
            .at_pointer(pointer);
            d.help = match did_you_mean(&found, choices.iter().map(String::as_str)) {
                Some(close) => Some(format!("did you mean `{close}`?")),
                None => description(subschema),
            };
            vec![d]
        }
        ValidationErrorKind::Constant { expected_value } => {
            let mut d = Diagnostic::new(
                Code::InvalidValue,
                format!(
                    "{place}: expected `{}`, found `{}`",
                    plain(expected_value),
                    plain(instance)
                ),
            )
            .at(root.value_span(pointer))
            .at_pointer(pointer);
            d.help = description(subschema);
            vec![d]
        }
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
            let mut d = Diagnostic::new(
                Code::WrongType,
                format!("{place}: {} does not fit here", describe_value(instance)),
            )
            .at(root.value_span(pointer))
            .at_pointer(pointer);
            d.help = description(subschema);
            vec![d]
        }
        other => {
            let detail = match other {
                ValidationErrorKind::Pattern { pattern } => {
                    format!(
                        "`{}` does not match the pattern `{pattern}`",
                        plain(instance)
                    )
                }
                ValidationErrorKind::Minimum { limit } => {
                    format!("{} is less than the minimum {limit}", plain(instance))
                }
                ValidationErrorKind::Maximum { limit } => {
                    format!("{} is more than the maximum {limit}", plain(instance))
                }
                ValidationErrorKind::MinItems { limit } => {
                    format!("needs at least {limit} item(s)")
                }
                ValidationErrorKind::MaxItems { limit } => {
                    format!("allows at most {limit} item(s)")
                }
                ValidationErrorKind::MinLength { limit } => {
                    format!("must be at least {limit} character(s) long")
                }
                ValidationErrorKind::MaxLength { limit } => {
                    format!("must be at most {limit} character(s) long")
                }
                ValidationErrorKind::MinProperties { limit } => {
                    format!("needs at least {limit} entr(y/ies)")
                }
                ValidationErrorKind::PropertyNames { error } => error.to_string(),
                ValidationErrorKind::UniqueItems => "items must be unique".to_string(),
                _ => other_message(other),
            };
            let mut d = Diagnostic::new(Code::Constraint, format!("{place}: {detail}"))
                .at(root.value_span(pointer))
                .at_pointer(pointer);
            d.help = description(subschema);
            vec![d]
        }
    }
}

fn other_message(kind: &ValidationErrorKind) -> String {
    format!("violates the schema keyword `{}`", kind.keyword())
}

fn parent_pointer(pointer: &str) -> String {
    match pointer.rfind('/') {
        Some(i) => pointer[..i].to_string(),
        None => String::new(),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/actions/0/request` -> "`actions[0].request`"; the root is "the spec".
pub fn display_pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        return "the spec".to_string();
    }
    let mut out = String::new();
    for token in pointer.trim_start_matches('/').split('/') {
        let token = token.replace("~1", "/").replace("~0", "~");
        if token.parse::<usize>().is_ok() {
            out.push_str(&format!("[{token}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    format!("`{out}`")
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn backticked<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn article(kind: &str) -> String {
    match kind {
        "object" => "a mapping".to_string(),
        "array" => "a list".to_string(),
        "integer" => "an integer".to_string(),
        "null" => "null".to_string(),
        other => format!("a {other}"),
    }
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".to_string(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) if s.chars().count() > 40 => "a string".to_string(),
        Value::String(s) => format!("the string `{s}`"),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a mapping".to_string(),
    }
}

/// `yes`, `no`, `on`, `off`: booleans in YAML 1.1, strings in YAML 1.2.
fn yaml_1_1_boolean_hint(instance: &Value) -> Option<String> {
    match instance {
        Value::String(s)
            if matches!(s.as_str(), "yes" | "no" | "on" | "off" | "True" | "False") =>
        {
            Some("YAML 1.2 booleans are written `true` or `false`".to_string())
        }
        _ => None,
    }
}

fn type_hint(instance: &Value) -> String {
    match instance {
        // `yes`/`no` are handled first by `yaml_1_1_boolean_hint`.
        Value::String(_) => "remove the quotes if a number or boolean is meant".to_string(),
        _ => "check the value's type".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_display_as_paths() {
        assert_eq!(display_pointer(""), "the spec");
        assert_eq!(
            display_pointer("/actions/0/request/a~1b"),
            "`actions[0].request.a/b`"
        );
    }

    #[test]
    fn schema_fragments_are_percent_decoded() {
        assert_eq!(percent_decode("/$defs/a%24b"), "/$defs/a$b");
        assert_eq!(percent_decode("%"), "%");
    }
}

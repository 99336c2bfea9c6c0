//! The `pattern` keyword of the tree validator, matched without a regex
//! engine for the schema's own patterns.
//!
//! Every field key, action key and language tag of a spec is checked
//! against a pattern: about a thousand matches per connector. A regex
//! search costs some 300 instructions even for `^[a-z][a-z0-9_]*$`, a
//! loop over the bytes a tenth of that: the patterns took 3% of `spec
//! build`. Only the yes-or-no validator on the tree uses these matchers;
//! errors are still collected by the standard validator on JSON, and
//! tests check that the two agree on every spec, fixture and thousands of
//! edited specs. A pattern not listed here is matched by jsonschema
//! itself, as before.

use jsonschema::paths::Location;
use jsonschema::{Keyword, ValidationError};
use serde_json::{Map, Value};

use super::tree::Tree;
use crate::yaml::Node;

/// A pattern of the embedded schema, as a plain function of the text.
struct Known {
    pattern: &'static str,
    matches: fn(&str) -> bool,
}

const KNOWN: &[Known] = &[
    Known {
        pattern: "^[a-z][a-z0-9_]*$",
        matches: is_snake_key,
    },
    Known {
        pattern: "^[^.]+$",
        matches: is_dotless,
    },
    Known {
        pattern: "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
        matches: is_language_tag,
    },
];

/// `^[a-z][a-z0-9_]*$`
fn is_snake_key(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `^[^.]+$` (a negated class matches line breaks too).
fn is_dotless(s: &str) -> bool {
    !s.is_empty() && !s.contains('.')
}

/// `^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`
fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let language = parts.next().unwrap_or_default();
    (2..=3).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|part| {
            (2..=8).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// How one `pattern` keyword is matched.
enum PatternKeyword {
    Known(fn(&str) -> bool),
    /// jsonschema's own validator for `{"pattern": ...}`.
    Other(Box<jsonschema::Validator<Tree>>),
}

impl<'i> Keyword<'i, Tree> for PatternKeyword {
    fn validate(&self, instance: &'i Node) -> Result<(), ValidationError<'i>> {
        if self.is_valid(instance) {
            Ok(())
        } else {
            Err(ValidationError::custom("does not match the pattern"))
        }
    }

    fn is_valid(&self, instance: &'i Node) -> bool {
        match self {
            PatternKeyword::Known(matches) => match &instance.value {
                crate::yaml::Value::String(s) => matches(s),
                // `pattern` applies to strings only.
                _ => true,
            },
            PatternKeyword::Other(validator) => validator.is_valid(instance),
        }
    }
}

/// The factory `with_keyword("pattern", ...)` takes.
pub(super) fn keyword<'a>(
    _parent: &'a Map<String, Value>,
    value: &'a Value,
    _path: Location,
) -> Result<Box<dyn for<'i> Keyword<'i, Tree>>, ValidationError<'a>> {
    if let Some(known) = value
        .as_str()
        .and_then(|p| KNOWN.iter().find(|k| k.pattern == p))
    {
        return Ok(Box::new(PatternKeyword::Known(known.matches)));
    }
    let schema = serde_json::json!({ "pattern": value });
    let validator = jsonschema::options_for::<Tree>()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .map_err(|e| ValidationError::custom(e.to_string()))?;
    Ok(Box::new(PatternKeyword::Other(Box::new(validator))))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Every pattern of the embedded schema is a known one (a new pattern
    /// works without, but is matched by the slower engine).
    #[test]
    fn the_schema_patterns_are_known() {
        fn patterns(value: &Value, out: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    for (key, value) in map {
                        match (key.as_str(), value) {
                            ("pattern", Value::String(p)) => out.push(p.clone()),
                            _ => patterns(value, out),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| patterns(v, out)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        patterns(super::super::document(), &mut found);
        assert!(!found.is_empty());
        for pattern in found {
            assert!(
                KNOWN.iter().any(|k| k.pattern == pattern),
                "{pattern} has no matcher"
            );
        }
    }

    fn agrees(text: &str) {
        for known in KNOWN {
            let regex = regex::Regex::new(known.pattern).expect("a valid pattern");
            assert_eq!(
                (known.matches)(text),
                regex.is_match(text),
                "{} on {text:?}",
                known.pattern
            );
        }
    }

    #[test]
    fn edge_cases_agree_with_the_regex() {
        for text in [
            "",
            "a",
            "A",
            "_",
            "a_",
            "_a",
            "a1",
            "1a",
            "ab",
            "abc",
            "abcd",
            "en",
            "zh",
            "zh-TW",
            "zh-",
            "-zh",
            "en--us",
            "en-u",
            "en-us-x",
            "en-123456789",
            "en-12345678",
            "EN",
            "a.b",
            ".",
            "a\nb",
            "a\n",
            "\n",
            "中文",
            "é",
            "a b",
            "ab-Ab9",
            "x-y",
        ] {
            agrees(text);
        }
    }

    proptest! {
        #[test]
        fn matchers_agree_with_the_regex(text in "[a-zA-Z0-9_.\\- \n中é]{0,14}") {
            agrees(&text);
        }
    }

    #[test]
    fn other_patterns_go_to_jsonschema() {
        let schema = serde_json::json!({ "type": "string", "pattern": "^x+$" });
        let validator = jsonschema::options_for::<Tree>()
            .with_keyword("pattern", keyword)
            .build(&schema)
            .expect("a valid schema");
        let file = crate::source::FileId(0);
        let yes = crate::yaml::parse(file, "xxx").expect("parses");
        let no = crate::yaml::parse(file, "xy").expect("parses");
        assert!(validator.is_valid(&yes));
        assert!(!validator.is_valid(&no));
    }
}

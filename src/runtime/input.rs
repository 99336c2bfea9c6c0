//! The caller's input: checked against the input fields of an action (or
//! trigger) before any request is built, and read from `-i key=value`
//! command-line assignments.
//!
//! ```no_run
//! use spec::runtime::{Coercion, check_input, parse_assignments};
//! # let action: spec::model::Action = todo!();
//! # let args: Vec<String> = Vec::new();
//! // `--input FILE` (JSON or YAML), or nothing at all.
//! let file = serde_json::json!({"so_id": "PD-1", "items": [{"sku_id": "A1", "qty": 3}]});
//! // Every `-i` argument, in order: syntax errors are reported here.
//! let assignments = parse_assignments(&args)?;
//! // `-i` wins over the file; its text values are typed by the field they name.
//! let input = assignments.apply_to(file, &action.input)?;
//! // Every violation at once; `input` is now the normalized input.
//! let input = check_input(&action.input, &input, Coercion::Strict)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Two sources, one check
//!
//! A file is typed data: `5` is a number and `"5"` a string, so it is checked
//! in [`Coercion::Strict`] mode. A `-i key=value` value is text: the field
//! it names decides its type. Rather than marking values inside the merged
//! JSON, each text value is typed *when it is applied* ([`Assignments::apply_to`]):
//! the key path (`items[1].qty`) names the field, and the text is converted
//! with the [text rules](#text-values). What cannot be converted stays a
//! string, so the strict check that follows reports it at its path
//! (`items[1].qty: expected an integer, got "abc"`). `key:=<json>` values are
//! JSON and are never converted. [`Coercion::Text`] applies the same text
//! rules to a whole input whose values are all text (a form, a CSV row).
//!
//! # Checking rules ([`check_input`])
//!
//! - The input is a JSON object of field keys to values; `null` (e.g. an
//!   empty YAML file) is the empty object. Anything else is one violation.
//! - **Unknown keys** are violations, with a "did you mean" suggestion or
//!   the list of the fields at that level. Inside a `type: object` field
//!   anything goes (it is free-form JSON).
//! - **Absent and `null` are the same**: the field is not given.
//! - **Defaults**: a field that is not given and has a `default` gets it,
//!   whether it is required or optional; a required field with a default
//!   therefore never fails as missing. Defaults are then checked like given
//!   values. A group that is not given stays absent: the defaults of its
//!   sub-fields apply inside each object that is given.
//! - **Required**: a `required` field must be given and not empty (`""` or
//!   `[]` count as empty). **`required_if: {field: f}`** makes the field
//!   required when its sibling `f` (same level, after defaults) is given
//!   and not empty; with `equals: v`, only when `f` equals `v` (numbers
//!   compare by value: `1` equals `1.0`).
//! - **Types**: `string`, `text`, `date`, `datetime`, `file`: a string
//!   (dates are not parsed; a spec states a format with `pattern`);
//!   `integer`: a whole number within 64 bits — an integral JSON number such
//!   as `5.0` is accepted and normalized to `5`, because JSON does not tell
//!   `5.0` from `5` and many producers write floats; `number`: any JSON
//!   number; `boolean`: `true` or `false`; `object`: any JSON object;
//!   `group`: an object whose keys are the group's `fields`, checked by
//!   these same rules at every depth. In strict mode a string never passes
//!   for a number or boolean (the message says to drop the quotes), and a
//!   number or boolean never passes for a string (YAML's `so_id: 123` is a
//!   number; the message says to quote it). In either mode a number is not
//!   a string.
//! - **`multiple: true`**: a list of the field's type (a list of objects for
//!   a group); each element is checked, and `min_items` / `max_items` bound
//!   the list's length. Every other constraint applies to each element.
//! - **Choices**: a value of a field with static `choices` must be one of
//!   their keys (the message lists them). Dynamic dropdowns
//!   (`dynamic_choices`) are fetched from an API and cannot be checked
//!   offline: any value of the right type passes.
//! - **Constraints**: `min` / `max` (inclusive) on numbers; `min_length` /
//!   `max_length` on strings, counted in characters (Unicode scalar values,
//!   so `仓库` is 2); `pattern` must match the **whole** string. When the spec
//!   gives a constraint `message`, it is the explanation shown (English).
//! - **`user_input`** only tells the platform which trigger fields the end
//!   user fills in; the interpreter's caller stands in for both the user and
//!   the platform, so every field is checked alike, `user_input` or not.
//! - **Every violation is reported at once**, as `path: message`, in the
//!   order of the spec's fields (list elements by index; unknown keys after
//!   the fields of their level, in input order). Paths use the input's keys:
//!   `data.items[3].qty`; a key containing `.`, `[`, `]` or `\` is written
//!   with a `\` before that character. At most [`MAX_VIOLATIONS`] are kept;
//!   the rest are counted ("... and N more").
//! - **The normalized input** is returned on success: fields in spec order,
//!   defaults filled in, `null`s dropped, integers normalized, text
//!   converted (text mode). Optional fields that are not given stay absent,
//!   as templates expect.
//!
//! # Text values
//!
//! In [`Coercion::Text`] mode, and for every `-i key=value`:
//!
//! - `integer`: a whole number (`42`, `-7`, `+3`, `5.0`, `1e3`);
//!   `number`: any finite decimal (`2.5`, `-1e-3`; `nan` and `inf` are not
//!   numbers); `boolean`: `true` or `false`, in any letter case (not `yes`,
//!   `1`, ...). Surrounding spaces are ignored. Strings stay strings.
//! - An empty value means "not given" (so the default applies, or a
//!   `required` field is reported missing), except for a single
//!   string-like field, where `""` is the empty string.
//! - A `multiple` field of a scalar type takes a comma-separated list:
//!   `at_mobiles=138000,139000` is `["138000", "139000"]`; each item is
//!   trimmed and converted. To put a comma inside an item, address the item
//!   (`at_mobiles[0]=a,b`) or give JSON (`at_mobiles:=["a,b"]`). Groups and
//!   `object` fields are never parsed from text: give JSON with `:=` or set
//!   their parts with dotted keys.
//!
//! # `-i` assignments ([`parse_assignments`])
//!
//! - `key=value` sets a text value; `key:=<json>` a JSON value
//!   (`is_confirm:=true`, `items:=[{"sku_id":"A1","qty":3}]`, `x:=null`
//!   unsets). The first `=` ends the key; the value is taken verbatim (it
//!   may contain `=`; `@` has no special meaning).
//! - Keys are paths: `data.remark=x` sets a key of a group (or of an
//!   `object` field), `items[0].sku_id=A1` an element of a list. Only
//!   `[i]` indexes lists: `items.0` is the object key `"0"`, and is rejected
//!   with a hint when `items` is a `multiple` field. In a key, `\` makes the
//!   next character literal (`fields.a\.b=1` sets the key `a.b`).
//! - Errors: a missing `=`, an empty key or key part (`a..b`, `.a`, `a.`),
//!   an index that is not a whole number or above `usize`, more than
//!   [`MAX_KEY_DEPTH`] parts, invalid JSON after `:=`, and conflicting
//!   assignments: the same path twice, a value and a part of it (`a=1` and
//!   `a.b=2`), an object and a list at one path (`a.b=1` and `a[0]=2`).
//!   All of them are reported at once.
//! - **Applying** onto the file's input ([`Assignments::apply_to`]): `-i`
//!   wins. Objects merge key by key; `items[1].qty=5` changes only that
//!   value of the file's second item. An index may address an existing
//!   element or the next new one (`items[2]` appends to a list of 2);
//!   anything further is an error, never filled in — so memory is bounded
//!   by the number of assignments, whatever the index. A `-i` path through
//!   a value of another kind replaces it (an object where the file has a
//!   string). If the file's input is not an object, it is left as it is and
//!   [`check_input`] reports it.
//! - [`merge_input`] is the plain deep merge of two JSON inputs (objects by
//!   key, anything else replaced, lists included) for other layerings.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::sync::Arc;

use indexmap::IndexMap;
use regex::Regex;
use serde_json::{Map, Number, Value};

use crate::diagnostic::did_you_mean;
use crate::model::{Field, FieldType};

/// At most this many violations are kept in an [`InputErrors`]; the rest are
/// only counted, so a list of a million bad values cannot flood the output.
pub const MAX_VIOLATIONS: usize = 100;

/// The most parts (`a`, `.b`, `[0]`) an assignment key may have.
pub const MAX_KEY_DEPTH: usize = 64;

/// Beyond this depth [`merge_input`] replaces instead of merging, so its
/// recursion is bounded whatever the input.
const MAX_MERGE_DEPTH: usize = 128;

/// Longest string quoted in a message before it is cut with `…`.
const QUOTE_CHARS: usize = 60;

/// Most choices listed in a message.
const LISTED_CHOICES: usize = 20;

/// How strings in the input are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coercion {
    /// Typed input (a JSON or YAML file): types must match exactly.
    Strict,
    /// Text input: strings are converted to the field's type (see the
    /// module docs, "Text values").
    Text,
}

/// One problem with the input: where (`items[3].qty`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputViolation {
    /// The path of input keys; empty for the input as a whole.
    pub path: String,
    pub message: String,
}

impl fmt::Display for InputViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "input: {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every violation of one input, in the order of the spec's fields.
/// `Display` prints one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputErrors {
    violations: Vec<InputViolation>,
    omitted: usize,
}

impl InputErrors {
    /// The violations kept (at most [`MAX_VIOLATIONS`]).
    pub fn violations(&self) -> &[InputViolation] {
        &self.violations
    }

    /// How many more violations were found but not kept.
    pub fn omitted(&self) -> usize {
        self.omitted
    }

    /// How many violations were found in all.
    pub fn total(&self) -> usize {
        self.violations.len() + self.omitted
    }
}

impl fmt::Display for InputErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, violation) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_char('\n')?;
            }
            write!(f, "{violation}")?;
        }
        if self.omitted > 0 {
            let s = if self.omitted == 1 { "" } else { "s" };
            write!(f, "\n... and {} more violation{s}", self.omitted)?;
        }
        Ok(())
    }
}

impl std::error::Error for InputErrors {}

/// Checks `input` against `fields` and returns the normalized input, or
/// every violation. See the module docs for the rules.
pub fn check_input(fields: &[Field], input: &Value, mode: Coercion) -> Result<Value, InputErrors> {
    let mut checker = Checker {
        mode,
        violations: Vec::new(),
        omitted: 0,
        patterns: HashMap::new(),
    };
    let normalized = match input {
        Value::Null => checker.object(fields, &Map::new(), &Path::Root),
        Value::Object(map) => checker.object(fields, map, &Path::Root),
        other => {
            checker.report(
                &Path::Root,
                format!(
                    "expected an object of input fields, got {}",
                    describe(other)
                ),
            );
            Value::Null
        }
    };
    if checker.violations.is_empty() {
        Ok(normalized)
    } else {
        Err(InputErrors {
            violations: checker.violations,
            omitted: checker.omitted,
        })
    }
}

/// A position in the input, rendered only when a violation is reported.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(parent, key) => {
                if !matches!(parent, Path::Root) {
                    write!(f, "{parent}.")?;
                }
                write_key(f, key)
            }
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// A key as `-i` would take it: `.`, `[`, `]` and `\` escaped with `\`,
/// control characters escaped Rust-style.
fn write_key(f: &mut impl fmt::Write, key: &str) -> fmt::Result {
    for c in key.chars() {
        match c {
            '.' | '[' | ']' | '\\' => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            c if c.is_control() => write!(f, "{}", c.escape_default())?,
            c => f.write_char(c)?,
        }
    }
    Ok(())
}

struct Checker {
    mode: Coercion,
    violations: Vec<InputViolation>,
    omitted: usize,
    /// Compiled (anchored) patterns by source; `None` if invalid.
    patterns: HashMap<String, Option<Arc<Regex>>>,
}

impl Checker {
    fn report(&mut self, path: &Path<'_>, message: String) {
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(InputViolation {
                path: path.to_string(),
                message,
            });
        } else {
            self.omitted += 1;
        }
    }

    /// One level of fields: an action's input or a group's object.
    fn object(&mut self, fields: &[Field], map: &Map<String, Value>, path: &Path<'_>) -> Value {
        let mut out = Map::new();
        for field in fields {
            let here = Path::Key(path, &field.key);
            let value = self.given(field, map.get(&field.key));
            let required = self.required_now(field, fields, map);
            match (value, required) {
                (None, Some(why)) => self.report(&here, why),
                (None, None) => {}
                (Some(v), Some(why)) if is_empty(v) => self.report(&here, why),
                (Some(v), _) => {
                    let normalized = self.value(field, v, &here);
                    out.insert(field.key.clone(), normalized);
                }
            }
        }
        for key in map.keys() {
            if !fields.iter().any(|f| &f.key == key) {
                self.report(&Path::Key(path, key), unknown_field(fields, key));
            }
        }
        Value::Object(out)
    }

    /// The value a field has: the given one, or its default when it is
    /// absent, `null`, or (text mode) empty where empty means "not given".
    fn given<'v>(&self, field: &'v Field, raw: Option<&'v Value>) -> Option<&'v Value> {
        match raw {
            Some(Value::Null) | None => field.default.as_ref().filter(|d| !d.is_null()),
            Some(Value::String(s)) if s.is_empty() && self.empty_text_is_absent(field) => {
                field.default.as_ref().filter(|d| !d.is_null())
            }
            Some(v) => Some(v),
        }
    }

    fn empty_text_is_absent(&self, field: &Field) -> bool {
        self.mode == Coercion::Text && (field.multiple || !is_textual(field.field_type))
    }

    /// Why the field must be given here, if it must.
    fn required_now(
        &self,
        field: &Field,
        siblings: &[Field],
        map: &Map<String, Value>,
    ) -> Option<String> {
        if field.required {
            return Some(format!("is required; give {}", wanted(field)));
        }
        let condition = field.required_if.as_ref()?;
        let sibling = siblings
            .iter()
            .find(|f| f.key == condition.field && f.key != field.key)?;
        let value = self.given(sibling, map.get(&sibling.key))?;
        if is_empty(value) {
            return None;
        }
        match &condition.equals {
            None => Some(format!(
                "is required when `{}` is given; give {}",
                condition.field,
                wanted(field)
            )),
            Some(equals) => {
                let value = match value {
                    Value::String(s) if self.mode == Coercion::Text && !sibling.multiple => {
                        coerce_text(sibling.field_type, s).unwrap_or_else(|| value.clone())
                    }
                    other => other.clone(),
                };
                same_value(&value, equals).then(|| {
                    format!(
                        "is required when `{}` is {}; give {}",
                        condition.field,
                        describe(equals),
                        wanted(field)
                    )
                })
            }
        }
    }

    /// A given value of `field`: a list when `multiple`, else one value.
    fn value(&mut self, field: &Field, value: &Value, path: &Path<'_>) -> Value {
        if !field.multiple {
            return self.single(field, value, path);
        }
        let split;
        let items: &[Value] = match value {
            Value::Array(items) => items,
            Value::String(s) if self.mode == Coercion::Text && is_scalar(field.field_type) => {
                split = split_list(s)
                    .into_iter()
                    .map(Value::String)
                    .collect::<Vec<_>>();
                &split
            }
            other => {
                let hint = match other {
                    Value::Object(_) | Value::Array(_) => String::new(),
                    _ if !is_scalar(field.field_type) => String::new(),
                    scalar => format!("; write a list: [{}]", describe(scalar)),
                };
                self.report(
                    path,
                    format!(
                        "expected {}, got {}{hint}",
                        expected(field),
                        describe(other)
                    ),
                );
                return other.clone();
            }
        };
        self.count(field, items.len(), path);
        let out = items
            .iter()
            .enumerate()
            .map(|(i, item)| self.single(field, item, &Path::Index(path, i)))
            .collect();
        Value::Array(out)
    }

    /// `min_items` / `max_items` of a list.
    fn count(&mut self, field: &Field, len: usize, path: &Path<'_>) {
        let Some(c) = &field.constraints else { return };
        let len64 = len as u64;
        let items = |n: u64| if n == 1 { "item" } else { "items" };
        if let Some(min) = c.min_items
            && len64 < min
        {
            let problem = format!("has {len} {}, at least {min} required", items(len64));
            self.report(path, with_message(problem, field));
        }
        if let Some(max) = c.max_items
            && len64 > max
        {
            let problem = format!("has {len} {}, at most {max} allowed", items(len64));
            self.report(path, with_message(problem, field));
        }
    }

    /// One value of the field's type (an element, for `multiple` fields).
    fn single(&mut self, field: &Field, value: &Value, path: &Path<'_>) -> Value {
        let t = field.field_type;
        if t == FieldType::Group {
            return match value {
                Value::Object(map) => self.object(&field.fields, map, path),
                other => {
                    self.report(
                        path,
                        format!("expected {}, got {}", expected_one(t), describe(other)),
                    );
                    other.clone()
                }
            };
        }
        let typed = match (value, self.mode) {
            (Value::String(s), Coercion::Text) if is_scalar(t) => coerce_text(t, s),
            _ => strict(t, value),
        };
        let Some(typed) = typed else {
            let hint = match value {
                Value::String(s) if self.mode == Coercion::Strict => coerce_text(t, s)
                    .map(|v| format!("; write {v} without quotes"))
                    .unwrap_or_default(),
                // YAML's `so_id: 123` is a number; the API wants text.
                Value::Number(_) | Value::Bool(_) if is_textual(t) => {
                    format!("; quote it: \"{value}\"")
                }
                _ => String::new(),
            };
            self.report(
                path,
                format!(
                    "expected {}, got {}{hint}",
                    expected_one(t),
                    describe(value)
                ),
            );
            return value.clone();
        };
        if !field.choices.is_empty() && !field.choices.iter().any(|c| same_value(&c.key, &typed)) {
            self.report(path, not_a_choice(field, &typed));
            return typed;
        }
        self.constraints(field, &typed, path);
        typed
    }

    fn constraints(&mut self, field: &Field, value: &Value, path: &Path<'_>) {
        let Some(c) = &field.constraints else { return };
        match value {
            Value::Number(n) => {
                let Some(x) = n.as_f64() else { return };
                if let Some(min) = c.min
                    && x < min
                {
                    let problem = format!("must be at least {}, got {n}", number(min));
                    self.report(path, with_message(problem, field));
                }
                if let Some(max) = c.max
                    && x > max
                {
                    let problem = format!("must be at most {}, got {n}", number(max));
                    self.report(path, with_message(problem, field));
                }
            }
            Value::String(s) => {
                let len = s.chars().count() as u64;
                let chars = |n: u64| if n == 1 { "character" } else { "characters" };
                if let Some(min) = c.min_length
                    && len < min
                {
                    let problem = format!("is {len} {} long, at least {min} required", chars(len));
                    self.report(path, with_message(problem, field));
                }
                if let Some(max) = c.max_length
                    && len > max
                {
                    let problem = format!("is {len} {} long, at most {max} allowed", chars(len));
                    self.report(path, with_message(problem, field));
                }
                if let Some(pattern) = &c.pattern {
                    self.pattern(field, pattern, s, path);
                }
            }
            _ => {}
        }
    }

    fn pattern(&mut self, field: &Field, pattern: &str, s: &str, path: &Path<'_>) {
        let regex = self
            .patterns
            .entry(pattern.to_string())
            .or_insert_with(|| anchored(pattern));
        let message = match regex {
            Some(regex) if regex.is_match(s) => return,
            Some(_) => match constraint_message(field) {
                Some(m) => format!("{} does not match the expected format: {m}", quote(s)),
                None => format!("{} does not match the pattern `{pattern}`", quote(s)),
            },
            // Validation (R012) rejects invalid patterns; never pass silently.
            None => format!("the spec's pattern `{pattern}` is not a valid regular expression"),
        };
        self.report(path, message);
    }
}

/// `value` as a value of scalar type `t`, if it is one (no text conversion
/// except that integral numbers count as integers).
fn strict(t: FieldType, value: &Value) -> Option<Value> {
    match (t, value) {
        (FieldType::Integer, Value::Number(n)) => integer(n),
        (FieldType::Number, Value::Number(_))
        | (FieldType::Boolean, Value::Bool(_))
        | (FieldType::Object, Value::Object(_)) => Some(value.clone()),
        (t, Value::String(_)) if is_textual(t) => Some(value.clone()),
        _ => None,
    }
}

/// An integral number within 64 bits, as an integer.
fn integer(n: &Number) -> Option<Value> {
    if n.is_i64() || n.is_u64() {
        return Some(Value::Number(n.clone()));
    }
    let x = n.as_f64()?;
    // -2^63 ..= 2^63 - 1; 2^63 itself is not an i64.
    (x.fract() == 0.0 && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&x))
        .then(|| Value::from(x as i64))
}

/// Text as a value of scalar type `t` (module docs, "Text values"); `None`
/// when it is not one, or `t` is not read from text.
fn coerce_text(t: FieldType, text: &str) -> Option<Value> {
    if is_textual(t) {
        return Some(Value::String(text.to_string()));
    }
    let s = text.trim();
    match t {
        FieldType::Integer => {
            if let Ok(i) = s.parse::<i64>() {
                return Some(Value::from(i));
            }
            if let Ok(u) = s.parse::<u64>() {
                return Some(Value::from(u));
            }
            let x = s.parse::<f64>().ok().filter(|x| x.is_finite())?;
            integer(&Number::from_f64(x)?)
        }
        FieldType::Number => {
            if let Ok(i) = s.parse::<i64>() {
                return Some(Value::from(i));
            }
            let x = s.parse::<f64>().ok().filter(|x| x.is_finite())?;
            // `1e3` is 1000, not 1000.0, while exact as an integer.
            if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
                return Some(Value::from(x as i64));
            }
            Number::from_f64(x).map(Value::Number)
        }
        FieldType::Boolean => {
            if s.eq_ignore_ascii_case("true") {
                Some(Value::Bool(true))
            } else if s.eq_ignore_ascii_case("false") {
                Some(Value::Bool(false))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A comma-separated text list, each item trimmed; `""` is no items.
fn split_list(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split(',').map(|s| s.trim().to_string()).collect()
}

fn is_textual(t: FieldType) -> bool {
    matches!(
        t,
        FieldType::String
            | FieldType::Text
            | FieldType::Date
            | FieldType::Datetime
            | FieldType::File
    )
}

/// Types whose values are single JSON scalars.
fn is_scalar(t: FieldType) -> bool {
    !matches!(t, FieldType::Object | FieldType::Group)
}

/// Empty for `required`: `null`, `""`, `[]`.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Values compare as JSON, numbers by value (`1` equals `1.0`).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn expected_one(t: FieldType) -> &'static str {
    match t {
        FieldType::String | FieldType::Text | FieldType::File => "a string",
        FieldType::Date => "a date string",
        FieldType::Datetime => "a date-time string",
        FieldType::Integer => "an integer",
        FieldType::Number => "a number",
        FieldType::Boolean => "true or false",
        FieldType::Object | FieldType::Group => "an object",
    }
}

fn expected(field: &Field) -> String {
    if !field.multiple {
        return expected_one(field.field_type).to_string();
    }
    let items = match field.field_type {
        FieldType::String | FieldType::Text | FieldType::File => "strings",
        FieldType::Date => "date strings",
        FieldType::Datetime => "date-time strings",
        FieldType::Integer => "integers",
        FieldType::Number => "numbers",
        FieldType::Boolean => "booleans",
        FieldType::Object | FieldType::Group => "objects",
    };
    format!("a list of {items}")
}

/// What to give for a missing field: its choices, or its type.
fn wanted(field: &Field) -> String {
    if field.choices.is_empty() {
        return expected(field);
    }
    let one_of = format!("one of {}", choice_list(field));
    if field.multiple {
        format!("a list of values, each {one_of}")
    } else {
        one_of
    }
}

fn choice_list(field: &Field) -> String {
    let mut listed: Vec<String> = field
        .choices
        .iter()
        .take(LISTED_CHOICES)
        .map(|c| describe(&c.key))
        .collect();
    if field.choices.len() > LISTED_CHOICES {
        listed.push("…".to_string());
    }
    listed.join(", ")
}

fn not_a_choice(field: &Field, value: &Value) -> String {
    let mut message = format!(
        "{} is not one of the choices: {}",
        describe(value),
        choice_list(field)
    );
    if let Value::String(s) = value {
        let keys: Vec<&str> = field
            .choices
            .iter()
            .filter_map(|c| c.key.as_str())
            .collect();
        let close = keys
            .iter()
            .find(|k| k.eq_ignore_ascii_case(s))
            .copied()
            .or_else(|| did_you_mean(s, keys.iter().copied()));
        if let Some(close) = close {
            let _ = write!(message, "; did you mean {}?", quote(close));
        }
    }
    message
}

fn unknown_field(fields: &[Field], key: &str) -> String {
    let keys = || fields.iter().map(|f| f.key.as_str());
    let close = keys()
        .find(|k| k.eq_ignore_ascii_case(key))
        .or_else(|| did_you_mean(key, keys()));
    match close {
        Some(close) => format!("unknown field; did you mean `{close}`?"),
        None if fields.is_empty() => "unknown field; no fields are declared here".to_string(),
        None => format!(
            "unknown field; the fields here are {}",
            keys()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn constraint_message(field: &Field) -> Option<&str> {
    field
        .constraints
        .as_ref()?
        .message
        .as_ref()
        .map(|m| m.get("en"))
}

fn with_message(problem: String, field: &Field) -> String {
    match constraint_message(field) {
        Some(m) => format!("{problem}: {m}"),
        None => problem,
    }
}

/// A bound as written: `500`, not `500.0`.
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        x.to_string()
    }
}

/// A value in a message: scalars as JSON (long strings cut), lists and
/// objects by kind and size.
fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Array(items) => match items.len() {
            0 => "an empty list".to_string(),
            1 => "a list of 1 item".to_string(),
            n => format!("a list of {n} items"),
        },
        Value::Object(map) if map.is_empty() => "an empty object".to_string(),
        Value::Object(_) => "an object".to_string(),
        scalar => scalar.to_string(),
    }
}

fn quote(s: &str) -> String {
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(QUOTE_CHARS).collect();
    let quoted = Value::String(head).to_string();
    if chars.next().is_some() {
        format!("{}…\"", &quoted[..quoted.len() - 1])
    } else {
        quoted
    }
}

// ---------------------------------------------------------------------------
// Merging

/// Deep-merges `overrides` into `base`: objects key by key, anything else
/// (lists, scalars, `null`) replaced by the override. Beyond a depth of 128
/// the override replaces whole objects too.
pub fn merge_input(base: Value, overrides: Value) -> Value {
    merge(base, overrides, 0)
}

fn merge(base: Value, overrides: Value, depth: usize) -> Value {
    match (base, overrides) {
        (Value::Object(mut base), Value::Object(overrides)) if depth < MAX_MERGE_DEPTH => {
            for (key, value) in overrides {
                let slot = base.entry(key).or_insert(Value::Null);
                let old = std::mem::take(slot);
                *slot = merge(old, value, depth + 1);
            }
            Value::Object(base)
        }
        (_, overrides) => overrides,
    }
}

// ---------------------------------------------------------------------------
// `-i` assignments

/// One `-i` argument that could not be read or applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentProblem {
    /// The argument as given.
    pub arg: String,
    pub message: String,
}

impl fmt::Display for AssignmentProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.arg.chars();
        let shown: String = chars.by_ref().take(80).collect();
        let cut = if chars.next().is_some() { "…" } else { "" };
        write!(f, "`{shown}{cut}`: {}", self.message)
    }
}

/// Every problem with a set of `-i` arguments, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentError {
    problems: Vec<AssignmentProblem>,
}

impl AssignmentError {
    pub fn problems(&self) -> &[AssignmentProblem] {
        &self.problems
    }
}

impl fmt::Display for AssignmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_char('\n')?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AssignmentError {}

/// Parsed `-i` arguments: a tree of paths to values, applied onto an input
/// with [`Assignments::apply_to`].
#[derive(Debug, Clone, PartialEq)]
pub struct Assignments {
    args: Vec<String>,
    /// Always a [`Node::Object`].
    root: Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Leaf {
        value: Leaf,
        arg: usize,
    },
    Object {
        children: IndexMap<String, Node>,
        arg: usize,
    },
    List {
        children: BTreeMap<usize, Node>,
        arg: usize,
    },
}

impl Node {
    /// The argument that created this node.
    fn arg(&self) -> usize {
        match self {
            Node::Leaf { arg, .. } | Node::Object { arg, .. } | Node::List { arg, .. } => *arg,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Leaf {
    /// `key=value`: typed by the field it lands on.
    Text(String),
    /// `key:=<json>`: taken as is.
    Json(Value),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Reads `-i` arguments (`key=value`, `key:=<json>`); see the module docs.
/// Every malformed or conflicting argument is reported.
pub fn parse_assignments(args: &[String]) -> Result<Assignments, AssignmentError> {
    let mut root = Node::Object {
        children: IndexMap::new(),
        arg: 0,
    };
    let mut problems = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let placed = parse_assignment(arg)
            .and_then(|(steps, leaf)| insert(&mut root, &steps, leaf, i, args, &mut String::new()));
        if let Err(message) = placed {
            problems.push(AssignmentProblem {
                arg: arg.clone(),
                message,
            });
        }
    }
    if problems.is_empty() {
        Ok(Assignments {
            args: args.to_vec(),
            root,
        })
    } else {
        Err(AssignmentError { problems })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyState {
    Start,
    Name,
    AfterDot,
    AfterIndex,
}

/// One argument: its key path and value.
fn parse_assignment(arg: &str) -> Result<(Vec<Step>, Leaf), String> {
    let mut steps = Vec::new();
    let mut name = String::new();
    let mut state = KeyState::Start;
    let mut chars = arg.char_indices().peekable();
    let (value_start, json) = loop {
        let Some((at, c)) = chars.next() else {
            return Err(
                "missing `=`: write `key=value`, or `key:=<json>` for a JSON value".to_string(),
            );
        };
        match c {
            '\\' => {
                let Some((_, escaped)) = chars.next() else {
                    return Err("the key ends with a lone `\\`".to_string());
                };
                if state == KeyState::AfterIndex {
                    return Err(after_index());
                }
                name.push(escaped);
                state = KeyState::Name;
            }
            '=' => break (at + 1, false),
            ':' if chars.peek().is_some_and(|(_, next)| *next == '=') => break (at + 2, true),
            '.' => {
                match state {
                    KeyState::Name => steps.push(Step::Key(std::mem::take(&mut name))),
                    KeyState::AfterIndex => {}
                    KeyState::Start => return Err("the key starts with `.`".to_string()),
                    KeyState::AfterDot => {
                        return Err("the key has an empty part (`..`)".to_string());
                    }
                }
                state = KeyState::AfterDot;
            }
            '[' => {
                match state {
                    KeyState::Name => steps.push(Step::Key(std::mem::take(&mut name))),
                    KeyState::AfterIndex => {}
                    KeyState::Start => {
                        return Err("the key must start with a field name, not `[`".to_string());
                    }
                    KeyState::AfterDot => {
                        return Err("`.` must be followed by a name, not `[`".to_string());
                    }
                }
                let mut digits = String::new();
                loop {
                    match chars.next() {
                        Some((_, ']')) => break,
                        Some((_, d)) => digits.push(d),
                        None => return Err("`[` is not closed with `]`".to_string()),
                    }
                }
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "`[{digits}]` is not a list index; write a whole number such as `[0]`"
                    ));
                }
                let index = digits
                    .parse::<usize>()
                    .map_err(|_| format!("list index `{digits}` is too large"))?;
                steps.push(Step::Index(index));
                state = KeyState::AfterIndex;
            }
            ']' => return Err("`]` without a matching `[`".to_string()),
            c => {
                if state == KeyState::AfterIndex {
                    return Err(after_index());
                }
                name.push(c);
                state = KeyState::Name;
            }
        }
        if steps.len() > MAX_KEY_DEPTH {
            return Err(format!("the key has more than {MAX_KEY_DEPTH} parts"));
        }
    };
    match state {
        KeyState::Name => steps.push(Step::Key(name)),
        KeyState::AfterIndex => {}
        KeyState::Start => {
            return Err("the key is empty: write `key=value`".to_string());
        }
        KeyState::AfterDot => return Err("the key ends with `.`".to_string()),
    }
    if steps.len() > MAX_KEY_DEPTH {
        return Err(format!("the key has more than {MAX_KEY_DEPTH} parts"));
    }
    let value = &arg[value_start..];
    let leaf = if json {
        let parsed = serde_json::from_str(value).map_err(|e| {
            format!("the value after `:=` is not valid JSON ({e}); for text write `key=value`")
        })?;
        Leaf::Json(parsed)
    } else {
        Leaf::Text(value.to_string())
    };
    Ok((steps, leaf))
}

fn after_index() -> String {
    "after `[i]` write `.name`, another `[j]` or `=`".to_string()
}

/// The path `steps` as written in a key.
fn push_step(shown: &mut String, step: &Step) {
    match step {
        Step::Key(key) => {
            if !shown.is_empty() {
                shown.push('.');
            }
            let _ = write_key(shown, key);
        }
        Step::Index(i) => {
            let _ = write!(shown, "[{i}]");
        }
    }
}

/// Puts `leaf` at `steps` below `node` (whose path is `shown`).
fn insert(
    node: &mut Node,
    steps: &[Step],
    leaf: Leaf,
    arg: usize,
    args: &[String],
    shown: &mut String,
) -> Result<(), String> {
    let other = |node: &Node| args[node.arg()].clone();
    let Some((step, rest)) = steps.split_first() else {
        return Err(match node {
            Node::Leaf { .. } => format!("`{shown}` is already set by `{}`", other(node)),
            _ => format!(
                "`{shown}` conflicts with `{}`, which sets a part of it; set the whole value or its parts",
                other(node)
            ),
        });
    };
    let at = shown.clone();
    push_step(shown, step);
    match (node, step) {
        (Node::Object { children, .. }, Step::Key(key)) => match children.get_mut(key) {
            Some(child) => insert(child, rest, leaf, arg, args, shown),
            None => {
                children.insert(key.clone(), fresh(rest, leaf, arg));
                Ok(())
            }
        },
        (Node::List { children, .. }, Step::Index(i)) => match children.get_mut(i) {
            Some(child) => insert(child, rest, leaf, arg, args, shown),
            None => {
                children.insert(*i, fresh(rest, leaf, arg));
                Ok(())
            }
        },
        (node, _) => Err(match node {
            Node::Leaf { .. } => format!(
                "`{at}` is set to a value by `{}`, so it has no parts to set",
                other(node)
            ),
            Node::Object { .. } => {
                format!("`{at}` is an object in `{}`, not a list", other(node))
            }
            Node::List { .. } => format!(
                "`{at}` is a list in `{}`; address its elements as `{at}[0]`",
                other(node)
            ),
        }),
    }
}

/// A new chain of nodes for `steps`, ending in `leaf`.
fn fresh(steps: &[Step], leaf: Leaf, arg: usize) -> Node {
    match steps.split_first() {
        None => Node::Leaf { value: leaf, arg },
        Some((Step::Key(key), rest)) => Node::Object {
            children: IndexMap::from([(key.clone(), fresh(rest, leaf, arg))]),
            arg,
        },
        Some((Step::Index(i), rest)) => Node::List {
            children: BTreeMap::from([(*i, fresh(rest, leaf, arg))]),
            arg,
        },
    }
}

/// What the spec says about a position while applying assignments.
#[derive(Clone, Copy)]
enum Target<'f> {
    /// An object whose keys are these fields.
    Fields(&'f [Field]),
    /// The whole value of a field (a list when `multiple`).
    Field(&'f Field),
    /// One element of a `multiple` field.
    Element(&'f Field),
    /// Not described by the spec (an unknown key, inside an `object`).
    Free,
}

impl<'f> Target<'f> {
    /// The target of `key` inside an object at this target.
    fn key(self, key: &str) -> Target<'f> {
        let fields = match self {
            Target::Fields(fields) => fields,
            Target::Field(f) | Target::Element(f)
                if f.field_type == FieldType::Group
                    && (matches!(self, Target::Element(_)) || !f.multiple) =>
            {
                &f.fields
            }
            _ => return Target::Free,
        };
        fields
            .iter()
            .find(|f| f.key == key)
            .map_or(Target::Free, Target::Field)
    }

    fn element(self) -> Target<'f> {
        match self {
            Target::Field(f) if f.multiple => Target::Element(f),
            _ => Target::Free,
        }
    }
}

impl Assignments {
    /// No `-i` at all.
    pub fn is_empty(&self) -> bool {
        matches!(&self.root, Node::Object { children, .. } if children.is_empty())
    }

    /// Applies the assignments onto `base` (the `--input` file's value, or
    /// `null`): `-i` wins; text values are typed by the field they land on.
    /// See the module docs.
    pub fn apply_to(&self, base: Value, fields: &[Field]) -> Result<Value, AssignmentError> {
        let base = match base {
            _ if self.is_empty() => return Ok(base),
            Value::Null => Value::Object(Map::new()),
            object @ Value::Object(_) => object,
            // check_input reports it; -i cannot make it an object.
            other => return Ok(other),
        };
        let mut problems = Vec::new();
        let applied = self.apply(
            base,
            &self.root,
            Target::Fields(fields),
            &mut String::new(),
            &mut problems,
        );
        if problems.is_empty() {
            Ok(applied)
        } else {
            Err(AssignmentError { problems })
        }
    }

    fn problem(&self, arg: usize, message: String) -> AssignmentProblem {
        AssignmentProblem {
            arg: self.args[arg].clone(),
            message,
        }
    }

    fn apply(
        &self,
        base: Value,
        node: &Node,
        target: Target<'_>,
        shown: &mut String,
        problems: &mut Vec<AssignmentProblem>,
    ) -> Value {
        match node {
            Node::Leaf {
                value: Leaf::Json(value),
                ..
            } => value.clone(),
            Node::Leaf {
                value: Leaf::Text(text),
                arg,
            } => match self.text(text, target, shown) {
                Ok(value) => value,
                Err(message) => {
                    problems.push(self.problem(*arg, message));
                    Value::String(text.clone())
                }
            },
            Node::Object { children, arg } => {
                if let Target::Field(f) = target
                    && f.multiple
                {
                    problems.push(self.problem(
                        *arg,
                        format!(
                            "`{shown}` is a list; address its elements by index, as `{shown}[0]`"
                        ),
                    ));
                    return base;
                }
                let mut map = match base {
                    Value::Object(map) => map,
                    _ => Map::new(),
                };
                for (key, child) in children {
                    let len = shown.len();
                    push_step(shown, &Step::Key(key.clone()));
                    let slot = map.entry(key.clone()).or_insert(Value::Null);
                    let old = std::mem::take(slot);
                    *slot = self.apply(old, child, target.key(key), shown, problems);
                    shown.truncate(len);
                }
                Value::Object(map)
            }
            Node::List { children, .. } => {
                let mut list = match base {
                    Value::Array(list) => list,
                    _ => Vec::new(),
                };
                for (&i, child) in children {
                    let len = shown.len();
                    if i > list.len() {
                        let n = list.len();
                        let items = if n == 1 { "item" } else { "items" };
                        problems.push(self.problem(
                            child.arg(),
                            format!(
                                "`{shown}[{i}]` skips indices: `{shown}` has {n} {items} here, so the next new element is `{shown}[{n}]`"
                            ),
                        ));
                        break;
                    }
                    push_step(shown, &Step::Index(i));
                    if i == list.len() {
                        list.push(Value::Null);
                    }
                    let old = std::mem::take(&mut list[i]);
                    list[i] = self.apply(old, child, target.element(), shown, problems);
                    shown.truncate(len);
                }
                Value::Array(list)
            }
        }
    }

    /// A `key=value` text as the value of `target`.
    fn text(&self, text: &str, target: Target<'_>, shown: &str) -> Result<Value, String> {
        let (field, whole) = match target {
            Target::Field(f) => (f, true),
            Target::Element(f) => (f, false),
            Target::Fields(_) | Target::Free => return Ok(Value::String(text.to_string())),
        };
        let t = field.field_type;
        if !is_scalar(t) {
            let what = if whole && field.multiple {
                "a list of objects"
            } else {
                "an object"
            };
            let example = if whole && field.multiple {
                "[{...}]"
            } else {
                "{...}"
            };
            let parts = match field.fields.first() {
                Some(first) if whole && field.multiple => {
                    format!(", or set its parts as `{shown}[0].{}=...`", first.key)
                }
                Some(first) => format!(", or set its parts as `{shown}.{}=...`", first.key),
                None => String::new(),
            };
            return Err(format!(
                "`{shown}` is {what}, not text: give JSON as `{shown}:={example}`{parts}"
            ));
        }
        if whole && field.multiple {
            if text.is_empty() {
                return Ok(Value::Null);
            }
            return Ok(Value::Array(
                split_list(text)
                    .into_iter()
                    .map(|item| coerce_text(t, &item).unwrap_or(Value::String(item)))
                    .collect(),
            ));
        }
        if whole && text.is_empty() && !is_textual(t) {
            return Ok(Value::Null);
        }
        Ok(coerce_text(t, text).unwrap_or_else(|| Value::String(text.to_string())))
    }
}

/// `pattern` anchored at both ends, compiled once per process: compiling
/// dominated a call's cost when every call compiled its patterns again.
/// `None` if the pattern is invalid. The cache is bounded (specs have a
/// few dozen patterns; a pathological caller cannot grow it without end).
/// Shared, not cloned: a clone of a `Regex` gets a new, empty pool of
/// matching caches, and building one cost more than the match.
fn anchored(pattern: &str) -> Option<Arc<Regex>> {
    use std::sync::{Mutex, OnceLock};
    const MAX_CACHED: usize = 4096;
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Regex>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(cache) = cache.lock()
        && let Some(regex) = cache.get(pattern)
    {
        return regex.clone();
    }
    let regex = Regex::new(&format!("^(?:{pattern})$")).ok().map(Arc::new);
    if let Ok(mut cache) = cache.lock() {
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(pattern.to_string(), regex.clone());
    }
    regex
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> Vec<Field> {
        serde_json::from_value(value).expect("valid fields")
    }

    fn strict(fields: &[Field], input: Value) -> Result<Value, String> {
        check_input(fields, &input, Coercion::Strict).map_err(|e| e.to_string())
    }

    fn text(fields: &[Field], input: Value) -> Result<Value, String> {
        check_input(fields, &input, Coercion::Text).map_err(|e| e.to_string())
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// `-i` arguments applied onto `base` and checked, as the CLI does.
    fn cli(fields: &[Field], base: Value, list: &[&str]) -> Result<Value, String> {
        let assignments = parse_assignments(&args(list)).map_err(|e| e.to_string())?;
        let input = assignments
            .apply_to(base, fields)
            .map_err(|e| e.to_string())?;
        strict(fields, input)
    }

    fn parse_error(list: &[&str]) -> String {
        parse_assignments(&args(list))
            .expect_err("should not parse")
            .to_string()
    }

    /// A Jushuitan-like inventory count: nested repeating group with bounds.
    fn inventory() -> Vec<Field> {
        fields(json!([
            {"key": "wms_co_id", "type": "integer"},
            {"key": "type", "type": "string", "default": "adjust",
             "choices": [{"key": "check", "label": "Check"}, {"key": "adjust", "label": "Adjust"}]},
            {"key": "is_confirm", "type": "boolean", "default": false},
            {"key": "so_id", "type": "string", "required": true, "constraints": {"max_length": 50}},
            {"key": "warehouse", "type": "integer", "required": true, "default": 1,
             "choices": [{"key": 1, "label": "Main"}, {"key": 2, "label": "Returns"}]},
            {"key": "bin", "type": "string"},
            {"key": "default_type", "type": "string", "required_if": {"field": "bin"}},
            {"key": "items", "type": "group", "multiple": true, "required": true,
             "constraints": {"min_items": 1, "max_items": 3,
                             "message": {"en": "A count holds 1 to 3 lines.", "zh": "1 到 3 行"}},
             "fields": [
                {"key": "sku_id", "type": "string", "required": true},
                {"key": "qty", "type": "integer", "required": true},
                {"key": "batch_id", "type": "string", "required_if": {"field": "produced_date"}},
                {"key": "produced_date", "type": "datetime",
                 "constraints": {"pattern": "\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}",
                                 "message": {"en": "Use yyyy-MM-dd HH:mm:ss."}}},
                {"key": "sku_sns", "type": "string", "multiple": true}
             ]}
        ]))
    }

    // -- check_input -------------------------------------------------------

    #[test]
    fn a_valid_input_is_normalized_in_field_order_with_defaults() {
        let out = strict(
            &inventory(),
            json!({"items": [{"qty": 2, "sku_id": "A"}], "so_id": "PD-1", "remark_absent": null}),
        );
        // An unknown key is an error even when null.
        assert!(out.unwrap_err().contains("remark_absent: unknown field"));
        let out = strict(
            &inventory(),
            json!({"items": [{"qty": 2, "sku_id": "A"}], "so_id": "PD-1", "bin": null}),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"type":"adjust","is_confirm":false,"so_id":"PD-1","warehouse":1,"items":[{"sku_id":"A","qty":2}]}"#
        );
    }

    #[test]
    fn every_violation_is_reported_at_once_in_field_order() {
        let error = strict(
            &inventory(),
            json!({
                "zzz": 1,
                "items": [
                    {"sku_id": "A", "qty": 1},
                    {"sku_id": "B", "qty": "abc"},
                    {"qty": 1.5, "produced_date": "2024/07/01", "extra": true},
                    {"sku_id": "D", "qty": 4, "sku_sns": "x"}
                ],
                "type": "full",
                "warehouse": 5,
                "so_id": "x".repeat(51),
                "is_confirm": "yes",
            }),
        )
        .unwrap_err();
        assert_eq!(
            error,
            [
                r#"type: "full" is not one of the choices: "check", "adjust""#,
                r#"is_confirm: expected true or false, got "yes""#,
                "so_id: is 51 characters long, at most 50 allowed",
                "warehouse: 5 is not one of the choices: 1, 2",
                "items: has 4 items, at most 3 allowed: A count holds 1 to 3 lines.",
                r#"items[1].qty: expected an integer, got "abc""#,
                "items[2].sku_id: is required; give a string",
                "items[2].qty: expected an integer, got 1.5",
                "items[2].batch_id: is required when `produced_date` is given; give a string",
                r#"items[2].produced_date: "2024/07/01" does not match the expected format: Use yyyy-MM-dd HH:mm:ss."#,
                "items[2].extra: unknown field; the fields here are `sku_id`, `qty`, `batch_id`, `produced_date`, `sku_sns`",
                r#"items[3].sku_sns: expected a list of strings, got "x"; write a list: ["x"]"#,
                "zzz: unknown field; the fields here are `wms_co_id`, `type`, `is_confirm`, `so_id`, `warehouse`, `bin`, `default_type`, `items`",
            ]
            .join("\n")
        );
    }

    #[test]
    fn required_fields_and_defaults() {
        let f = fields(json!([
            {"key": "a", "type": "string", "required": true},
            {"key": "b", "type": "string", "required": true, "default": "B"},
            {"key": "c", "type": "integer", "default": 3},
            {"key": "d", "type": "string"},
            {"key": "e", "type": "string", "required": true, "multiple": true},
            {"key": "g", "type": "group", "fields": [{"key": "x", "type": "integer", "default": 7}]}
        ]));
        assert_eq!(
            strict(&f, json!({})).unwrap_err(),
            "a: is required; give a string\ne: is required; give a list of strings"
        );
        // Empty strings and lists do not satisfy `required`; null is absent.
        assert_eq!(
            strict(&f, json!({"a": "", "e": [], "b": null})).unwrap_err(),
            "a: is required; give a string\ne: is required; give a list of strings"
        );
        // Given values win over defaults; absent groups stay absent; group
        // objects get their sub-fields' defaults.
        assert_eq!(
            strict(&f, json!({"a": "A", "e": ["x"], "c": 4})).unwrap(),
            json!({"a": "A", "b": "B", "c": 4, "e": ["x"]})
        );
        assert_eq!(
            strict(&f, json!({"a": "A", "e": ["x"], "g": {}, "d": ""})).unwrap(),
            json!({"a": "A", "b": "B", "c": 3, "d": "", "e": ["x"], "g": {"x": 7}})
        );
    }

    #[test]
    fn required_if_with_and_without_equals() {
        let f = fields(json!([
            {"key": "mode", "type": "integer"},
            {"key": "bin", "type": "string"},
            {"key": "needs_bin", "type": "string", "required_if": {"field": "bin"}},
            {"key": "needs_two", "type": "string", "required_if": {"field": "mode", "equals": 2}}
        ]));
        assert_eq!(strict(&f, json!({})).unwrap(), json!({}));
        assert_eq!(strict(&f, json!({"bin": ""})).unwrap(), json!({"bin": ""}));
        assert_eq!(strict(&f, json!({"mode": 1})).unwrap(), json!({"mode": 1}));
        assert_eq!(
            strict(&f, json!({"bin": "B1", "mode": 2.0})).unwrap_err(),
            "needs_bin: is required when `bin` is given; give a string\n\
             needs_two: is required when `mode` is 2; give a string"
        );
        // Text mode compares the converted sibling.
        assert_eq!(
            text(&f, json!({"mode": "2"})).unwrap_err(),
            "needs_two: is required when `mode` is 2; give a string"
        );
    }

    #[test]
    fn strict_types() {
        let f = fields(json!([
            {"key": "s", "type": "string"},
            {"key": "i", "type": "integer"},
            {"key": "n", "type": "number"},
            {"key": "b", "type": "boolean"},
            {"key": "d", "type": "date"},
            {"key": "o", "type": "object"},
            {"key": "g", "type": "group", "fields": [{"key": "x", "type": "string"}]}
        ]));
        let ok = json!({"s": "x", "i": -5, "n": 2.5, "b": true, "d": "2024-01-02", "o": {"any": [1]}, "g": {"x": "y"}});
        assert_eq!(strict(&f, ok.clone()).unwrap(), ok);
        // 5.0 is an integer, and comes out as 5.
        assert_eq!(strict(&f, json!({"i": 5.0})).unwrap(), json!({"i": 5}));
        assert_eq!(
            serde_json::to_string(&strict(&f, json!({"i": 5.0})).unwrap()).unwrap(),
            r#"{"i":5}"#
        );
        assert_eq!(
            strict(
                &f,
                json!({"s": 1, "i": "5", "n": "2.5", "b": "true", "d": 20240102, "o": [], "g": "x"})
            )
            .unwrap_err(),
            [
                r#"s: expected a string, got 1; quote it: "1""#,
                r#"i: expected an integer, got "5"; write 5 without quotes"#,
                r#"n: expected a number, got "2.5"; write 2.5 without quotes"#,
                r#"b: expected true or false, got "true"; write true without quotes"#,
                r#"d: expected a date string, got 20240102; quote it: "20240102""#,
                "o: expected an object, got an empty list",
                r#"g: expected an object, got "x""#,
            ]
            .join("\n")
        );
        assert_eq!(
            strict(&f, json!({"i": 1e19})).unwrap_err(),
            "i: expected an integer, got 1e+19"
        );
        assert_eq!(
            strict(&f, json!({"i": u64::MAX})).unwrap(),
            json!({"i": u64::MAX})
        );
    }

    #[test]
    fn text_mode_converts_strings_by_field_type() {
        let f = fields(json!([
            {"key": "s", "type": "string"},
            {"key": "i", "type": "integer", "default": 9},
            {"key": "n", "type": "number"},
            {"key": "b", "type": "boolean"},
            {"key": "tags", "type": "string", "multiple": true},
            {"key": "ids", "type": "integer", "multiple": true},
            {"key": "g", "type": "group", "fields": [{"key": "q", "type": "integer"}]}
        ]));
        assert_eq!(
            text(
                &f,
                json!({"s": "5", "i": " 42 ", "n": "-2.5", "b": "TRUE", "tags": "a, b,c", "ids": "1,2", "g": {"q": "3"}})
            )
            .unwrap(),
            json!({"s": "5", "i": 42, "n": -2.5, "b": true, "tags": ["a", "b", "c"], "ids": [1, 2], "g": {"q": 3}})
        );
        // Empty text is "not given" except for a single string field.
        assert_eq!(
            text(&f, json!({"s": "", "i": "", "b": "", "tags": ""})).unwrap(),
            json!({"s": "", "i": 9})
        );
        assert_eq!(
            text(&f, json!({"i": "5.0", "n": "1e3"})).unwrap(),
            json!({"i": 5, "n": 1000})
        );
        assert_eq!(
            text(
                &f,
                json!({"i": "abc", "n": "nan", "b": "yes", "ids": "1,x", "g": "{}"})
            )
            .unwrap_err(),
            [
                r#"i: expected an integer, got "abc""#,
                r#"n: expected a number, got "nan""#,
                r#"b: expected true or false, got "yes""#,
                r#"ids[1]: expected an integer, got "x""#,
                r#"g: expected an object, got "{}""#,
            ]
            .join("\n")
        );
        // Groups are never parsed from text.
        let groups = fields(json!([
            {"key": "l", "type": "group", "multiple": true, "fields": [{"key": "x", "type": "string"}]}
        ]));
        assert_eq!(
            text(&groups, json!({"l": "a,b"})).unwrap_err(),
            r#"l: expected a list of objects, got "a,b""#
        );
        // Typed values pass in text mode too.
        assert_eq!(
            text(&f, json!({"i": 1, "b": false})).unwrap(),
            json!({"i": 1, "b": false})
        );
    }

    #[test]
    fn choices_numbers_and_suggestions() {
        let f = fields(json!([
            {"key": "status", "type": "string",
             "choices": [{"key": "WaitPay", "label": "x"}, {"key": "Delivering", "label": "y"}]},
            {"key": "level", "type": "integer", "choices": [{"key": 1, "label": "a"}, {"key": 2, "label": "b"}]},
            {"key": "multi", "type": "string", "multiple": true,
             "choices": [{"key": "a", "label": "a"}, {"key": "b", "label": "b"}]},
            {"key": "shop", "type": "integer",
             "dynamic_choices": {"from": "list_shops", "value": "id", "label": "name"}}
        ]));
        assert_eq!(
            strict(
                &f,
                json!({"status": "Delivering", "level": 2.0, "multi": ["b", "a"], "shop": 123456})
            )
            .unwrap(),
            json!({"status": "Delivering", "level": 2, "multi": ["b", "a"], "shop": 123456})
        );
        assert_eq!(
            strict(&f, json!({"status": "waitpay", "level": 3, "multi": ["a", "c"], "shop": "x"}))
                .unwrap_err(),
            [
                r#"status: "waitpay" is not one of the choices: "WaitPay", "Delivering"; did you mean "WaitPay"?"#,
                "level: 3 is not one of the choices: 1, 2",
                r#"multi[1]: "c" is not one of the choices: "a", "b""#,
                r#"shop: expected an integer, got "x""#,
            ]
            .join("\n")
        );
        assert_eq!(
            text(&f, json!({"level": "1"})).unwrap(),
            json!({"level": 1})
        );
        let required = fields(json!([
            {"key": "kind", "type": "string", "required": true,
             "choices": [{"key": "a", "label": "a"}, {"key": "b", "label": "b"}]}
        ]));
        assert_eq!(
            strict(&required, json!({})).unwrap_err(),
            r#"kind: is required; give one of "a", "b""#
        );
    }

    #[test]
    fn constraints_with_and_without_messages() {
        let f = fields(json!([
            {"key": "limit", "type": "integer", "constraints": {"min": 1, "max": 6000}},
            {"key": "price", "type": "number", "constraints": {"min": 0.5,
             "message": {"en": "Prices start at 0.5.", "zh": "x"}}},
            {"key": "name", "type": "string", "constraints": {"min_length": 2, "max_length": 3}},
            {"key": "date", "type": "string", "constraints": {"pattern": "\\d{8}"}},
            {"key": "phones", "type": "string", "multiple": true,
             "constraints": {"pattern": "^\\+?[0-9-]{5,20}$", "min_items": 2,
                             "message": "Give phone numbers."}}
        ]));
        assert_eq!(
            strict(&f, json!({"limit": 6000, "price": 0.5, "name": "仓库", "date": "20240102", "phones": ["12345", "+86-10"]}))
                .unwrap()["name"],
            json!("仓库")
        );
        assert_eq!(
            strict(&f, json!({"limit": 0, "price": 0.1, "name": "仓", "date": "x20240102", "phones": ["1"]}))
                .unwrap_err(),
            [
                "limit: must be at least 1, got 0",
                "price: must be at least 0.5, got 0.1: Prices start at 0.5.",
                "name: is 1 character long, at least 2 required",
                r#"date: "x20240102" does not match the pattern `\d{8}`"#,
                "phones: has 1 item, at least 2 required: Give phone numbers.",
                r#"phones[0]: "1" does not match the expected format: Give phone numbers."#,
            ]
            .join("\n")
        );
        assert_eq!(
            strict(&f, json!({"limit": 6001, "name": "abcd"})).unwrap_err(),
            "limit: must be at most 6000, got 6001\nname: is 4 characters long, at most 3 allowed"
        );
    }

    #[test]
    fn unknown_keys_suggest_close_names() {
        let f = fields(json!([
            {"key": "remark", "type": "string"},
            {"key": "data", "type": "group", "fields": [{"key": "sku_id", "type": "string"}]}
        ]));
        assert_eq!(
            strict(&f, json!({"remak": "x", "data": {"SKU_ID": "A", "a.b": 1}})).unwrap_err(),
            "data.SKU_ID: unknown field; did you mean `sku_id`?\n\
             data.a\\.b: unknown field; the fields here are `sku_id`\n\
             remak: unknown field; did you mean `remark`?"
        );
        assert_eq!(
            strict(&[], json!({"x": 1})).unwrap_err(),
            "x: unknown field; no fields are declared here"
        );
    }

    #[test]
    fn the_input_itself_must_be_an_object() {
        let f = inventory();
        assert_eq!(
            strict(&f, json!([1, 2, 3])).unwrap_err(),
            "input: expected an object of input fields, got a list of 3 items"
        );
        assert_eq!(
            strict(&f, json!("x")).unwrap_err(),
            r#"input: expected an object of input fields, got "x""#
        );
        // null is the empty input.
        assert_eq!(strict(&[], Value::Null).unwrap(), json!({}));
        assert!(
            strict(&f, Value::Null)
                .unwrap_err()
                .starts_with("so_id: is required")
        );
    }

    #[test]
    fn a_million_items_against_max_items_is_fast_and_capped() {
        let f = inventory();
        let items: Vec<Value> = (0..1_000_000)
            .map(|_| json!({"sku_id": "A", "qty": "x"}))
            .collect();
        let error =
            check_input(&f, &json!({"so_id": "s", "items": items}), Coercion::Strict).unwrap_err();
        assert_eq!(error.violations().len(), MAX_VIOLATIONS);
        assert_eq!(error.total(), 1_000_001);
        assert_eq!(
            error.violations()[0].to_string(),
            "items: has 1000000 items, at most 3 allowed: A count holds 1 to 3 lines."
        );
        assert_eq!(error.violations()[1].path, "items[0].qty");
        assert!(
            error
                .to_string()
                .ends_with("\n... and 999901 more violations")
        );
    }

    #[test]
    fn wrong_kinds_at_every_level_and_deep_values_never_panic() {
        let f = inventory();
        for bad in [
            json!(null),
            json!(true),
            json!(1),
            json!("s"),
            json!([]),
            json!({"items": null}),
            json!({"items": {}}),
            json!({"items": [null, 1, "x", [], [[]], {"sku_id": {}, "qty": [], "sku_sns": [null, {}]}]}),
            json!({"so_id": {"a": {"b": {}}}, "items": "[]"}),
        ] {
            for mode in [Coercion::Strict, Coercion::Text] {
                let _ = check_input(&f, &bad, mode);
            }
        }
        // A deep value inside an `object` field is accepted as it is, and a
        // deep value where a scalar belongs is one violation.
        let mut deep = json!(1);
        for _ in 0..1000 {
            deep = json!({"a": [deep]});
        }
        let f2 = fields(json!([{"key": "o", "type": "object"}, {"key": "s", "type": "string"}]));
        let input = json!({"o": deep.clone(), "s": deep});
        assert_eq!(
            check_input(&f2, &input, Coercion::Strict)
                .unwrap_err()
                .to_string(),
            "s: expected a string, got an object"
        );
        // Long strings are cut in messages.
        let long = "y".repeat(1000);
        assert_eq!(
            strict(&f2, json!({"o": long})).unwrap_err(),
            format!("o: expected an object, got \"{}…\"", "y".repeat(60))
        );
    }

    // -- parse_assignments / apply_to ------------------------------------

    #[test]
    fn assignment_syntax() {
        let f = inventory();
        let out = cli(
            &f,
            Value::Null,
            &[
                "so_id=PD=1",
                "is_confirm:=true",
                "items[0].sku_id=A1",
                "items[0].qty=-3",
                "items[0].sku_sns=s1, s2",
                "items[1]:={\"sku_id\":\"B\",\"qty\":2}",
                "items[2].sku_id=C",
                "items[2].qty:=7",
                "items[2].sku_sns[0]=a,b",
                "wms_co_id=",
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            json!({
                "type": "adjust", "is_confirm": true, "so_id": "PD=1", "warehouse": 1,
                "items": [
                    {"sku_id": "A1", "qty": -3, "sku_sns": ["s1", "s2"]},
                    {"sku_id": "B", "qty": 2},
                    {"sku_id": "C", "qty": 7, "sku_sns": ["a,b"]}
                ]
            })
        );
        // Keys with escapes, free-form objects, colons inside keys.
        let f = fields(json!([
            {"key": "records", "type": "group", "multiple": true,
             "fields": [{"key": "fields", "type": "object", "required": true}]},
            {"key": "a:b", "type": "string"}
        ]));
        assert_eq!(
            cli(
                &f,
                Value::Null,
                &[
                    "records[0].fields.Due date=2024",
                    "records[0].fields.a\\.b:=1",
                    "a:b=x"
                ]
            )
            .unwrap(),
            json!({"records": [{"fields": {"Due date": "2024", "a.b": 1}}], "a:b": "x"})
        );
    }

    #[test]
    fn assignment_syntax_errors_are_all_reported() {
        assert_eq!(
            parse_error(&[
                "so_id", "=x", "a..b=1", ".a=1", "a.=1", "a[x]=1", "a[=1", "a]=1", "[0]=1"
            ]),
            [
                "`so_id`: missing `=`: write `key=value`, or `key:=<json>` for a JSON value",
                "`=x`: the key is empty: write `key=value`",
                "`a..b=1`: the key has an empty part (`..`)",
                "`.a=1`: the key starts with `.`",
                "`a.=1`: the key ends with `.`",
                "`a[x]=1`: `[x]` is not a list index; write a whole number such as `[0]`",
                "`a[=1`: `[` is not closed with `]`",
                "`a]=1`: `]` without a matching `[`",
                "`[0]=1`: the key must start with a field name, not `[`",
            ]
            .join("\n")
        );
        assert_eq!(
            parse_error(&["a[0]b=1", "a[-1]=1", "a[99999999999999999999999]=1", "a\\"]),
            [
                "`a[0]b=1`: after `[i]` write `.name`, another `[j]` or `=`",
                "`a[-1]=1`: `[-1]` is not a list index; write a whole number such as `[0]`",
                "`a[99999999999999999999999]=1`: list index `99999999999999999999999` is too large",
                "`a\\`: the key ends with a lone `\\`",
            ]
            .join("\n")
        );
        let error = parse_error(&["a:=tru", "b:=[1,", "c:=hello"]);
        assert!(
            error.starts_with("`a:=tru`: the value after `:=` is not valid JSON ("),
            "{error}"
        );
        assert_eq!(error.lines().count(), 3, "{error}");
        assert!(error.contains("; for text write `key=value`"), "{error}");
        let deep = format!("{}=1", vec!["a"; MAX_KEY_DEPTH + 1].join("."));
        assert!(
            parse_error(&[&deep])
                .ends_with(&format!("the key has more than {MAX_KEY_DEPTH} parts"))
        );
        let deep = format!("a{}=1", "[0]".repeat(100_000));
        assert!(parse_error(&[&deep]).contains("more than 64 parts"));
        // The JSON parser's own depth limit applies to `:=`.
        let nested = format!("a:={}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_error(&[&nested]).contains("not valid JSON"));
    }

    /// Every short argument over the key syntax's characters, alone and in
    /// pairs with a fixed one: parsing, applying and checking never panic.
    #[test]
    fn short_arguments_never_panic() {
        let alphabet = ['a', '.', '[', ']', '0', '=', ':', '\\'];
        let mut words = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = words
                .iter()
                .filter(|w| w.chars().count() < 4)
                .flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}")))
                .collect();
            words.extend(longer);
            words.sort();
            words.dedup();
        }
        let f = fields(json!([
            {"key": "a", "type": "group", "multiple": true, "fields": [{"key": "a", "type": "integer"}]}
        ]));
        for word in &words {
            for list in [
                vec![word.clone()],
                vec!["a[0].a=1".to_string(), word.clone()],
            ] {
                if let Ok(assignments) = parse_assignments(&list)
                    && let Ok(input) = assignments.apply_to(json!({"a": [{"a": 1}]}), &f)
                {
                    let _ = check_input(&f, &input, Coercion::Strict);
                    let _ = check_input(&f, &input, Coercion::Text);
                }
            }
        }
        assert!(words.len() > 4000);
    }

    #[test]
    fn conflicting_assignments() {
        assert_eq!(
            parse_error(&["a=1", "a.b=2", "a=3", "c.d=1", "c[0]=2", "e[0]=1", "e.x=2", "f.g=1", "f=2", "h:=[]", "h[0]=1", "k\\.l=1", "k\\.l.m=2"]),
            [
                "`a.b=2`: `a` is set to a value by `a=1`, so it has no parts to set",
                "`a=3`: `a` is already set by `a=1`",
                "`c[0]=2`: `c` is an object in `c.d=1`, not a list",
                "`e.x=2`: `e` is a list in `e[0]=1`; address its elements as `e[0]`",
                "`f=2`: `f` conflicts with `f.g=1`, which sets a part of it; set the whole value or its parts",
                "`h[0]=1`: `h` is set to a value by `h:=[]`, so it has no parts to set",
                "`k\\.l.m=2`: `k\\.l` is set to a value by `k\\.l=1`, so it has no parts to set",
            ]
            .join("\n")
        );
        // Distinct parts of one object or list do not conflict.
        assert!(parse_assignments(&args(&["a.b=1", "a.c=2", "l[1].x=1", "l[0].x=2"])).is_ok());
    }

    #[test]
    fn assignments_override_the_file_and_bound_indices() {
        let f = inventory();
        let file = json!({"so_id": "PD-1", "items": [{"sku_id": "A", "qty": 1}, {"sku_id": "B", "qty": 2}]});
        // -i wins, per element; a new element may be appended.
        assert_eq!(
            cli(
                &f,
                file.clone(),
                &[
                    "items[1].qty=5",
                    "items[2].sku_id=C",
                    "items[2].qty=0",
                    "so_id=PD-2"
                ]
            )
            .unwrap()["items"],
            json!([{"sku_id": "A", "qty": 1}, {"sku_id": "B", "qty": 5}, {"sku_id": "C", "qty": 0}])
        );
        // Text that does not convert is reported by the strict check.
        assert_eq!(
            cli(&f, file.clone(), &["items[1].qty=abc"]).unwrap_err(),
            r#"items[1].qty: expected an integer, got "abc""#
        );
        // Index gaps are errors, never filled; a huge index allocates nothing.
        assert_eq!(
            cli(
                &f,
                file.clone(),
                &["items[5].qty=1", "items[999999999].qty=1"]
            )
            .unwrap_err(),
            "`items[5].qty=1`: `items[5]` skips indices: `items` has 2 items here, so the next new element is `items[2]`"
        );
        assert_eq!(
            cli(&f, Value::Null, &["items[1].qty=1"]).unwrap_err(),
            "`items[1].qty=1`: `items[1]` skips indices: `items` has 0 items here, so the next new element is `items[0]`"
        );
        // `items.0` is an object key; for a list field it gets a hint.
        assert_eq!(
            cli(&f, file.clone(), &["items.0.qty=1"]).unwrap_err(),
            "`items.0.qty=1`: `items` is a list; address its elements by index, as `items[0]`"
        );
        // Groups are not text.
        assert_eq!(
            cli(&f, file.clone(), &["items=x"]).unwrap_err(),
            "`items=x`: `items` is a list of objects, not text: give JSON as `items:=[{...}]`, or set its parts as `items[0].sku_id=...`"
        );
        // An empty value unsets a typed field of the file (so its default
        // applies); `:=null` unsets anything.
        assert_eq!(
            cli(&f, json!({"so_id": "x", "is_confirm": true, "wms_co_id": 3, "items": [{"sku_id": "A", "qty": 1}]}),
                &["is_confirm=", "wms_co_id:=null"])
            .unwrap(),
            json!({"type": "adjust", "is_confirm": false, "so_id": "x", "warehouse": 1, "items": [{"sku_id": "A", "qty": 1}]})
        );
        // JSON values are not converted.
        assert_eq!(
            cli(&f, file.clone(), &["items[0].qty:=\"5\""]).unwrap_err(),
            r#"items[0].qty: expected an integer, got "5"; write 5 without quotes"#
        );
        // A path through a scalar of the file replaces it.
        assert_eq!(
            cli(&[], json!({"o": "x"}), &["o.k=1"]).unwrap_err(),
            "o: unknown field; no fields are declared here"
        );
        let assignments = parse_assignments(&args(&["o.k=1"])).unwrap();
        assert_eq!(
            assignments
                .apply_to(json!({"o": "x", "p": 1}), &[])
                .unwrap(),
            json!({"o": {"k": "1"}, "p": 1})
        );
        // A non-object file is left for check_input to report.
        assert_eq!(assignments.apply_to(json!([1]), &[]).unwrap(), json!([1]));
        // No -i: the base is returned untouched.
        let none = parse_assignments(&[]).unwrap();
        assert!(none.is_empty());
        assert_eq!(none.apply_to(json!(7), &f).unwrap(), json!(7));
        // Unknown keys keep their text and are reported by the check.
        assert_eq!(
            cli(&f, file, &["remak=x"]).unwrap_err(),
            "remak: unknown field; the fields here are `wms_co_id`, `type`, `is_confirm`, `so_id`, `warehouse`, `bin`, `default_type`, `items`"
        );
    }

    #[test]
    fn merge_input_is_a_deep_object_merge() {
        assert_eq!(
            merge_input(
                json!({"a": 1, "g": {"x": 1, "y": 2}, "l": [1, 2], "s": "x"}),
                json!({"g": {"y": 3, "z": 4}, "l": [9], "s": {"k": 1}, "n": null})
            ),
            json!({"a": 1, "g": {"x": 1, "y": 3, "z": 4}, "l": [9], "s": {"k": 1}, "n": null})
        );
        assert_eq!(merge_input(json!([1]), json!({"a": 1})), json!({"a": 1}));
        assert_eq!(merge_input(json!({"a": 1}), json!(2)), json!(2));
        let mut deep = json!({});
        for _ in 0..500 {
            deep = json!({"a": deep});
        }
        let merged = merge_input(deep.clone(), deep.clone());
        assert_eq!(merged, deep);
    }

    // -- the connectors of specs/ ------------------------------------------

    fn specs() -> Vec<crate::model::Connector> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs");
        let project = crate::validate::validate(&[root]).expect("specs/ is readable");
        project.connectors.into_iter().map(|c| c.model).collect()
    }

    fn action_input<'a>(
        connectors: &'a [crate::model::Connector],
        app: &str,
        key: &str,
    ) -> &'a [Field] {
        let connector = connectors
            .iter()
            .find(|c| c.app.key == app)
            .unwrap_or_else(|| panic!("no connector {app}"));
        &connector
            .actions
            .iter()
            .find(|a| a.key == key)
            .unwrap_or_else(|| panic!("no action {app}.{key}"))
            .input
    }

    #[test]
    fn jushuitan_inventory_count() {
        let connectors = specs();
        let f = action_input(&connectors, "jushuitan", "create_inventory_count");
        let good = json!({
            "so_id": "PD-20240715-001",
            "type": "check",
            "items": [
                {"sku_id": "A1", "qty": 10},
                {"sku_id": "B2", "qty": -2, "batch_id": "B", "produced_date": "2024-07-01 00:00:00"}
            ]
        });
        let out = strict(f, good).unwrap();
        assert_eq!(out["warehouse"], json!(1));
        assert_eq!(out["is_confirm"], json!(false));
        let bad = json!({"so_id": "PD-1", "items": [{"sku_id": "A1", "qty": 1}, {"sku_id": "B2", "qty": "abc"}]});
        assert_eq!(
            strict(f, bad).unwrap_err(),
            r#"items[1].qty: expected an integer, got "abc""#
        );
        let many: Vec<Value> = (0..501)
            .map(|i| json!({"sku_id": format!("S{i}"), "qty": i}))
            .collect();
        assert_eq!(
            strict(f, json!({"so_id": "x", "items": many})).unwrap_err(),
            "items: has 501 items, at most 500 allowed: A count holds 1 to 500 item lines; split larger counts."
        );
        assert_eq!(
            cli(
                f,
                Value::Null,
                &[
                    "so_id=PD-2",
                    "items[0].sku_id=A",
                    "items[0].qty=3",
                    "warehouse=2",
                    "bin=X"
                ]
            )
            .unwrap_err(),
            "default_type: is required when `bin` is given; give one of \"Default\", \"Pick\", \"None\""
        );
    }

    #[test]
    fn examples_for_the_other_connectors() {
        let connectors = specs();
        let cases = [
            (
                "tushare",
                "daily",
                json!({"ts_code": "000001.SZ,600000.SH", "trade_date": "20240102", "limit": 10}),
            ),
            ("tushare", "stock_basic", json!({"exchange": "SSE"})),
            (
                "vika",
                "create_record",
                json!({"datasheet_id": "dst123", "records": [{"fields": {"Name": "A"}}]}),
            ),
            (
                "dingtalk",
                "send_text",
                json!({"content": "hi", "at_mobiles": ["13800000000"]}),
            ),
            (
                "shopify",
                "create_product",
                json!({"title": "T", "variants": [{"price": 9.5}]}),
            ),
            ("onenote", "create_page", json!({"title": "Notes"})),
            (
                "aftership",
                "create_tracking",
                json!({"tracking_number": "1Z999"}),
            ),
        ];
        for (app, action, input) in cases {
            let f = action_input(&connectors, app, action);
            if let Err(error) = strict(f, input) {
                panic!("{app}.{action}: {error}");
            }
        }
        let daily = action_input(&connectors, "tushare", "daily");
        assert_eq!(
            text(
                daily,
                json!({"ts_code": "1.SZ", "limit": "0", "offset": "-1"})
            )
            .unwrap_err(),
            "ts_code: \"1.SZ\" does not match the expected format: Use codes like 000001.SZ, separated by commas.\n\
             limit: must be at least 1, got 0\n\
             offset: must be at least 0, got -1"
        );
        let vika = action_input(&connectors, "vika", "create_record");
        let records: Vec<Value> = (0..11).map(|_| json!({"fields": {}})).collect();
        assert_eq!(
            strict(vika, json!({"datasheet_id": "dst1", "records": records})).unwrap_err(),
            "records: has 11 items, at most 10 allowed: Create 1 to 10 records per request."
        );
    }

    /// Every action and trigger of specs/: the empty input reports exactly
    /// the required fields without a default, and the spec's defaults pass
    /// their own checks.
    #[test]
    fn every_spec_input_checks_the_empty_input() {
        for connector in specs() {
            let inputs = connector
                .actions
                .iter()
                .map(|a| (&a.key, &a.input))
                .chain(connector.triggers.iter().map(|t| (&t.key, &t.input)));
            for (key, input) in inputs {
                let missing: Vec<String> = input
                    .iter()
                    .filter(|f| f.required && f.default.is_none())
                    .map(|f| f.key.clone())
                    .collect();
                for mode in [Coercion::Strict, Coercion::Text] {
                    match check_input(input, &json!({}), mode) {
                        Ok(out) => assert!(missing.is_empty(), "{key}: {out}"),
                        Err(error) => {
                            let paths: Vec<String> =
                                error.violations().iter().map(|v| v.path.clone()).collect();
                            assert_eq!(paths, missing, "{}.{key}: {error}", connector.app.key);
                            assert!(
                                error
                                    .violations()
                                    .iter()
                                    .all(|v| v.message.starts_with("is required"))
                            );
                        }
                    }
                }
            }
        }
    }
}

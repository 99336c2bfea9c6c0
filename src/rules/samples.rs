//! R008 / R009: sample data exists for triggers and conforms to the output
//! fields (known keys, right types, required keys and dedupe keys present).

use serde_json::Value;

use super::Reporter;
use crate::codes::Code;
use crate::diagnostic::did_you_mean;
use crate::model::{Connector, Field, FieldType};
use crate::yaml::pointer_token;

pub(super) fn check(model: &Connector, r: &mut Reporter<'_>) {
    for (i, action) in model.actions.iter().enumerate() {
        if let Some(sample) = &action.sample {
            let pointer = format!("/actions/{i}/sample");
            if action.output.is_empty() {
                r.value(
                    Code::SampleMismatch,
                    &pointer,
                    format!("action `{}` has a sample but no output fields", action.key),
                    Some("declare `output:` fields describing the sample's keys".into()),
                );
            } else if let Value::Array(records) = sample {
                // A listing action returns a list: each item is one record.
                for (k, record) in records.iter().enumerate() {
                    conform(record, &action.output, &format!("{pointer}/{k}"), r);
                }
            } else {
                conform(sample, &action.output, &pointer, r);
            }
        }
    }
    for (i, trigger) in model.triggers.iter().enumerate() {
        let pointer = format!("/triggers/{i}/sample");
        match &trigger.sample {
            Value::Null => {
                r.value(
                    Code::SampleMissing,
                    &pointer,
                    format!("trigger `{}` has no sample data", trigger.key),
                    Some(
                        "give one realistic (fake) record, shaped like the trigger's output".into(),
                    ),
                );
                continue;
            }
            Value::Object(map) if map.is_empty() => {
                r.value(
                    Code::SampleMissing,
                    &pointer,
                    format!("the sample of trigger `{}` is empty", trigger.key),
                    Some(
                        "give one realistic (fake) record, shaped like the trigger's output".into(),
                    ),
                );
                continue;
            }
            Value::Object(_) => {}
            _ => {
                r.value(
                    Code::SampleMismatch,
                    &pointer,
                    format!(
                        "the sample of trigger `{}` must be one record (a mapping)",
                        trigger.key
                    ),
                    Some("write the keys of one record directly under `sample:`".into()),
                );
                continue;
            }
        }
        conform(&trigger.sample, &trigger.output, &pointer, r);
        for path in &trigger.dedupe.key {
            if lookup_path(&trigger.sample, path).is_none_or(Value::is_null) {
                r.value(
                    Code::SampleMismatch,
                    &pointer,
                    format!(
                        "the sample of trigger `{}` lacks the dedupe key `{path}`",
                        trigger.key
                    ),
                    Some(format!(
                        "add `{path}` to the sample; every record must carry its dedupe key"
                    )),
                );
            }
        }
    }
}

fn lookup_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, step| v.get(step))
}

/// Checks `value` (an object) against `fields`, recursing into groups.
fn conform(value: &Value, fields: &[Field], pointer: &str, r: &mut Reporter<'_>) {
    let Value::Object(map) = value else {
        r.value(
            Code::SampleMismatch,
            pointer,
            format!("expected a mapping of output fields, found {}", kind(value)),
            None,
        );
        return;
    };
    for (key, item) in map {
        let item_pointer = format!("{pointer}/{}", pointer_token(key));
        let Some(field) = fields.iter().find(|f| &f.key == key) else {
            let keys: Vec<&str> = fields.iter().map(|f| f.key.as_str()).collect();
            r.key(
                Code::SampleMismatch,
                &item_pointer,
                format!("sample key `{key}` is not an output field"),
                Some(match did_you_mean(key, keys.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("declare `{key}` under `output:` or remove it from the sample"),
                }),
            );
            continue;
        };
        conform_field(item, field, &item_pointer, r);
    }
    for field in fields {
        if field.required && !map.contains_key(&field.key) {
            r.value(
                Code::SampleMismatch,
                pointer,
                format!("sample lacks the required output field `{}`", field.key),
                Some(format!("add `{}` to the sample", field.key)),
            );
        }
    }
}

fn conform_field(value: &Value, field: &Field, pointer: &str, r: &mut Reporter<'_>) {
    if value.is_null() {
        if field.required {
            r.value(
                Code::SampleMismatch,
                pointer,
                format!(
                    "required output field `{}` is null in the sample",
                    field.key
                ),
                None,
            );
        }
        return;
    }
    if field.multiple {
        let Value::Array(items) = value else {
            r.value(
                Code::SampleMismatch,
                pointer,
                format!(
                    "output field `{}` is a list (`multiple: true`), found {}",
                    field.key,
                    kind(value)
                ),
                Some("write the sample value as a YAML list".into()),
            );
            return;
        };
        for (i, item) in items.iter().enumerate() {
            conform_single(item, field, &format!("{pointer}/{i}"), r);
        }
    } else {
        conform_single(value, field, pointer, r);
    }
}

fn conform_single(value: &Value, field: &Field, pointer: &str, r: &mut Reporter<'_>) {
    let ok = match field.field_type {
        FieldType::Group => {
            conform(value, &field.fields, pointer, r);
            return;
        }
        FieldType::String
        | FieldType::Text
        | FieldType::Date
        | FieldType::Datetime
        | FieldType::File => value.is_string(),
        FieldType::Integer => value.is_i64() || value.is_u64(),
        FieldType::Number => value.is_number(),
        FieldType::Boolean => value.is_boolean(),
        FieldType::Object => value.is_object() || value.is_array(),
    };
    if !ok {
        r.value(
            Code::SampleMismatch,
            pointer,
            format!(
                "sample value of `{}` is {}, but the output field is `{}`",
                field.key,
                kind(value),
                field.field_type.as_str()
            ),
            Some(match (field.field_type, value) {
                (FieldType::String | FieldType::Text, Value::Number(_)) => {
                    "quote the value, or change the field's type if the API really returns a number"
                        .into()
                }
                _ => "make the sample match what the API returns, and the field type match both"
                    .into(),
            }),
        );
    }
}

fn kind(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(n) if n.is_f64() => "a decimal number".into(),
        Value::Number(_) => "an integer".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

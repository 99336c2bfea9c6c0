//! Field rules: R003 duplicate keys, R006 dropdown defaults, R007 dynamic
//! dropdowns, R010 field paths, R012 field shape, R013 auth completeness,
//! R014 `user_input` placement.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Reporter;
use crate::codes::Code;
use crate::diagnostic::did_you_mean;
use crate::model::{Auth, AuthField, Connector, Field, FieldType, OAuth2Grant, StringToSign};

/// Finds a field by dotted path (`items.sku_id`), descending into groups.
pub fn find_path<'a>(fields: &'a [Field], path: &str) -> Option<&'a Field> {
    let mut current = fields;
    let mut found = None;
    for step in path.split('.') {
        let field = current.iter().find(|f| f.key == step)?;
        current = &field.fields;
        found = Some(field);
    }
    found
}

/// Every dotted path of `fields`, for "did you mean" suggestions.
fn all_paths(fields: &[Field], prefix: &str, out: &mut Vec<String>) {
    for field in fields {
        let path = if prefix.is_empty() {
            field.key.clone()
        } else {
            format!("{prefix}.{}", field.key)
        };
        all_paths(&field.fields, &path, out);
        out.push(path);
    }
}

fn suggest_path(fields: &[Field], path: &str) -> Option<String> {
    let mut paths = Vec::new();
    all_paths(fields, "", &mut paths);
    match did_you_mean(path, paths.iter().map(String::as_str)) {
        Some(close) => Some(format!("did you mean `{close}`?")),
        None if paths.is_empty() => Some("declare the output fields first".to_string()),
        None => Some(format!(
            "output field paths: {}",
            paths
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

pub(super) fn check(model: &Connector, r: &mut Reporter<'_>) {
    check_auth_fields(model.auth.fields(), r);
    check_auth(&model.auth, r);
    for (i, action) in model.actions.iter().enumerate() {
        let base = format!("/actions/{i}");
        check_fields(
            model,
            &action.input,
            &format!("{base}/input"),
            FieldRole::ActionInput,
            r,
        );
        check_fields(
            model,
            &action.output,
            &format!("{base}/output"),
            FieldRole::Output,
            r,
        );
    }
    for (i, trigger) in model.triggers.iter().enumerate() {
        let base = format!("/triggers/{i}");
        check_fields(
            model,
            &trigger.input,
            &format!("{base}/input"),
            FieldRole::TriggerInput,
            r,
        );
        check_fields(
            model,
            &trigger.output,
            &format!("{base}/output"),
            FieldRole::Output,
            r,
        );
        for (k, path) in trigger.dedupe.key.iter().enumerate() {
            if find_path(&trigger.output, path).is_none() {
                r.value(
                    Code::UnknownFieldPath,
                    &format!("{base}/dedupe/key/{k}"),
                    format!(
                        "dedupe key `{path}` is not an output field of trigger `{}`",
                        trigger.key
                    ),
                    suggest_path(&trigger.output, path),
                );
            }
        }
        if let Some(order) = &trigger.order
            && find_path(&trigger.output, &order.by).is_none()
        {
            r.value(
                Code::UnknownFieldPath,
                &format!("{base}/order/by"),
                format!(
                    "order field `{}` is not an output field of trigger `{}`",
                    order.by, trigger.key
                ),
                suggest_path(&trigger.output, &order.by),
            );
        }
        if let Some(cursor) = &trigger.cursor
            && find_path(&trigger.output, &cursor.field).is_none()
        {
            r.value(
                Code::UnknownFieldPath,
                &format!("{base}/cursor/field"),
                format!(
                    "cursor field `{}` is not an output field of trigger `{}`",
                    cursor.field, trigger.key
                ),
                suggest_path(&trigger.output, &cursor.field),
            );
        }
    }
}

fn check_auth_fields(fields: &[AuthField], r: &mut Reporter<'_>) {
    let mut seen = BTreeSet::new();
    for (i, field) in fields.iter().enumerate() {
        if !seen.insert(field.key.as_str()) {
            r.value(
                Code::DuplicateFieldKey,
                &format!("/auth/fields/{i}/key"),
                format!("auth field key `{}` is declared twice", field.key),
                Some("rename or remove one of them".into()),
            );
        }
        if field.secret && field.default.is_some() {
            r.value(
                Code::CredentialLiteral,
                &format!("/auth/fields/{i}/default"),
                format!("secret auth field `{}` has a default value", field.key),
                Some("a secret's value comes from the user's connection, never from the spec; remove `default`".into()),
            );
        }
    }
}

fn check_auth(auth: &Auth, r: &mut Reporter<'_>) {
    match auth {
        Auth::Oauth2(o) => {
            if o.grant == OAuth2Grant::AuthorizationCode && o.authorize_url.is_none() {
                r.value(
                    Code::AuthConfig,
                    "/auth/grant",
                    "the `authorization_code` grant needs `authorize_url`".into(),
                    Some("add `authorize_url:` (the provider's consent page)".into()),
                );
            }
            if o.grant == OAuth2Grant::ClientCredentials && o.pkce {
                r.value(
                    Code::AuthConfig,
                    "/auth/pkce",
                    "PKCE applies only to the `authorization_code` grant".into(),
                    Some("remove `pkce: true` or use `grant: authorization_code`".into()),
                );
            }
        }
        Auth::Signature(s) => {
            if s.algorithm.is_hmac() && s.key.is_none() {
                r.value(
                    Code::AuthConfig,
                    "/auth/algorithm",
                    format!("`{}` needs a `key`", serde_plain(&s.algorithm)),
                    Some("add `key: \"{{ auth.secret }}\"` naming the secret auth field".into()),
                );
            }
            if !s.algorithm.is_hmac() && s.key.is_some() {
                r.value(
                    Code::AuthConfig,
                    "/auth/key",
                    format!(
                        "`key` is only used by hmac algorithms, not `{}`",
                        serde_plain(&s.algorithm)
                    ),
                    Some(
                        "for plain digests put the secret into `string_to_sign` (e.g. `prefix`)"
                            .into(),
                    ),
                );
            }
            if !s.place.value.contains("signature") {
                r.value(
                    Code::AuthConfig,
                    "/auth/place/value",
                    "the signature's `place.value` never reads `signature`".into(),
                    Some("write `value: \"{{ signature }}\"`".into()),
                );
            }
            if let StringToSign::SortedParams(p) = &s.string_to_sign
                && !p.exclude.iter().any(|e| e == &s.place.name)
                && s.place.location.as_str() != "header"
            {
                r.value(
                    Code::AuthConfig,
                    "/auth/string_to_sign/exclude",
                    format!(
                        "the signature parameter `{}` is not excluded from the signed parameters",
                        s.place.name
                    ),
                    Some(format!("add `{}` to `exclude`", s.place.name)),
                );
            }
        }
        _ => {}
    }
}

fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldRole {
    ActionInput,
    TriggerInput,
    Output,
}

fn check_fields(
    model: &Connector,
    fields: &[Field],
    base: &str,
    role: FieldRole,
    r: &mut Reporter<'_>,
) {
    let mut seen: Vec<&str> = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        let pointer = ItemPointer { base, index: i };
        if seen.contains(&field.key.as_str()) {
            r.value(
                Code::DuplicateFieldKey,
                &format!("{pointer}/key"),
                format!("field key `{}` is declared twice at this level", field.key),
                Some("rename or remove one of them".into()),
            );
        }
        seen.push(&field.key);
        check_shape(field, &pointer, r);
        check_choices(model, field, &pointer, r);
        if let Some(required_if) = &field.required_if
            && !fields
                .iter()
                .any(|f| f.key == required_if.field && f.key != field.key)
        {
            let siblings: Vec<&str> = fields
                .iter()
                .map(|f| f.key.as_str())
                .filter(|k| *k != field.key)
                .collect();
            r.value(
                Code::UnknownFieldPath,
                &format!("{pointer}/required_if/field"),
                format!(
                    "`required_if` names `{}`, which is not a sibling of `{}`",
                    required_if.field, field.key
                ),
                did_you_mean(&required_if.field, siblings.iter().copied())
                    .map(|c| format!("did you mean `{c}`?"))
                    .or_else(|| {
                        Some("`required_if.field` must be another field at the same level".into())
                    }),
            );
        }
        if field.user_input && role != FieldRole::TriggerInput {
            r.value(
                Code::UnusedUserInput,
                &format!("{pointer}/user_input"),
                format!(
                    "`user_input` on field `{}` has no effect outside trigger inputs",
                    field.key
                ),
                Some("remove `user_input`; action inputs are always shown to the user".into()),
            );
        }
        if field.field_type == FieldType::Group {
            check_fields(model, &field.fields, &format!("{pointer}/fields"), role, r);
        }
    }
}

/// The JSON Pointer of the `index`-th field under `base`, written out only
/// for a diagnostic (most fields have none).
struct ItemPointer<'a> {
    base: &'a str,
    index: usize,
}

impl std::fmt::Display for ItemPointer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.index)
    }
}

fn check_shape(field: &Field, pointer: &ItemPointer<'_>, r: &mut Reporter<'_>) {
    let t = field.field_type;
    let is_group = t == FieldType::Group;
    if is_group && field.fields.is_empty() {
        r.value(
            Code::FieldShape,
            &format!("{pointer}/type"),
            format!("group `{}` has no sub-fields", field.key),
            Some("add `fields:` with the group's fields".into()),
        );
    }
    if !is_group && !field.fields.is_empty() {
        r.value(
            Code::FieldShape,
            &format!("{pointer}/fields"),
            format!(
                "field `{}` of type `{}` cannot have sub-fields",
                field.key,
                t.as_str()
            ),
            Some("use `type: group` for a field with sub-fields".into()),
        );
    }
    if is_group && field.is_dropdown() {
        r.value(
            Code::FieldShape,
            &format!("{pointer}/type"),
            format!("group `{}` cannot be a dropdown", field.key),
            Some("put `choices` on a scalar field inside the group".into()),
        );
    }
    let Some(c) = &field.constraints else { return };
    let numeric = matches!(t, FieldType::Integer | FieldType::Number);
    let textual = matches!(
        t,
        FieldType::String | FieldType::Text | FieldType::Date | FieldType::Datetime
    );
    let mut misfit = |name: &str, ok: bool, why: &str| {
        if !ok {
            r.value(
                Code::FieldShape,
                &format!("{pointer}/constraints/{name}"),
                format!("`{name}` does not apply to field `{}` ({why})", field.key),
                Some(format!("remove `{name}` or change the field's type")),
            );
        }
    };
    misfit(
        "min",
        c.min.is_none() || numeric,
        "only integer and number fields have min/max",
    );
    misfit(
        "max",
        c.max.is_none() || numeric,
        "only integer and number fields have min/max",
    );
    misfit(
        "min_length",
        c.min_length.is_none() || textual,
        "only text fields have a length",
    );
    misfit(
        "max_length",
        c.max_length.is_none() || textual,
        "only text fields have a length",
    );
    misfit(
        "pattern",
        c.pattern.is_none() || textual,
        "only text fields match patterns",
    );
    misfit(
        "min_items",
        c.min_items.is_none() || field.multiple,
        "only `multiple: true` fields have items",
    );
    misfit(
        "max_items",
        c.max_items.is_none() || field.multiple,
        "only `multiple: true` fields have items",
    );
    let inverted =
        |lo: Option<f64>, hi: Option<f64>| matches!((lo, hi), (Some(lo), Some(hi)) if lo > hi);
    if inverted(c.min, c.max)
        || inverted(
            c.min_length.map(|v| v as f64),
            c.max_length.map(|v| v as f64),
        )
        || inverted(c.min_items.map(|v| v as f64), c.max_items.map(|v| v as f64))
    {
        r.value(
            Code::FieldShape,
            &format!("{pointer}/constraints"),
            format!(
                "field `{}` has a minimum greater than its maximum",
                field.key
            ),
            Some("swap the bounds or fix one of them".into()),
        );
    }
    if let Some(pattern) = &c.pattern
        && let Err(error) = regex::Regex::new(pattern)
    {
        let detail = error.to_string();
        let last = detail
            .lines()
            .last()
            .unwrap_or("invalid pattern")
            .trim()
            .to_string();
        r.value(
            Code::FieldShape,
            &format!("{pointer}/constraints/pattern"),
            format!(
                "pattern of field `{}` is not a valid regular expression: {last}",
                field.key
            ),
            Some("patterns use Rust `regex` syntax (no look-around or backreferences)".into()),
        );
    }
}

fn check_choices(
    model: &Connector,
    field: &Field,
    pointer: &ItemPointer<'_>,
    r: &mut Reporter<'_>,
) {
    let mut keys = Vec::new();
    for (i, choice) in field.choices.iter().enumerate() {
        if keys.contains(&&choice.key) {
            r.value(
                Code::DuplicateFieldKey,
                &format!("{pointer}/choices/{i}/key"),
                format!(
                    "choice `{}` of field `{}` is listed twice",
                    plain(&choice.key),
                    field.key
                ),
                Some("remove the duplicate choice".into()),
            );
        }
        keys.push(&choice.key);
    }
    if !field.choices.is_empty()
        && let Some(default) = &field.default
    {
        let defaults: Vec<&Value> = match default {
            Value::Array(items) if field.multiple => items.iter().collect(),
            other => vec![other],
        };
        for value in defaults {
            if !field.choices.iter().any(|c| same_choice(&c.key, value)) {
                let listed: Vec<String> = field
                    .choices
                    .iter()
                    .map(|c| format!("`{}`", plain(&c.key)))
                    .collect();
                r.value(
                    Code::DefaultNotInChoices,
                    &format!("{pointer}/default"),
                    format!(
                        "default `{}` of field `{}` is not one of its choices",
                        plain(value),
                        field.key
                    ),
                    Some(format!("choices are {}", listed.join(", "))),
                );
            }
        }
    }
    if !field.choices.is_empty() && field.dynamic_choices.is_some() {
        r.value(
            Code::DynamicChoices,
            &format!("{pointer}/dynamic_choices"),
            format!(
                "field `{}` has both static `choices` and `dynamic_choices`",
                field.key
            ),
            Some("keep one of them".into()),
        );
    }
    let Some(dynamic) = &field.dynamic_choices else {
        return;
    };
    let source_output = model
        .actions
        .iter()
        .find(|a| a.key == dynamic.from)
        .map(|a| &a.output)
        .or_else(|| {
            model
                .triggers
                .iter()
                .find(|t| t.key == dynamic.from)
                .map(|t| &t.output)
        });
    let Some(output) = source_output else {
        let keys: Vec<&str> = model
            .actions
            .iter()
            .map(|a| a.key.as_str())
            .chain(model.triggers.iter().map(|t| t.key.as_str()))
            .collect();
        r.value(
            Code::DynamicChoices,
            &format!("{pointer}/dynamic_choices/from"),
            format!("dynamic choices come from `{}`, which is not an action or trigger of this connector", dynamic.from),
            did_you_mean(&dynamic.from, keys.iter().copied())
                .map(|c| format!("did you mean `{c}`?"))
                .or_else(|| Some("add a listing action (e.g. `list_shops`) and name its key here".into())),
        );
        return;
    };
    for (name, path) in [("value", &dynamic.value), ("label", &dynamic.label)] {
        if find_path(output, path).is_none() {
            r.value(
                Code::DynamicChoices,
                &format!("{pointer}/dynamic_choices/{name}"),
                format!("`{path}` is not an output field of `{}`", dynamic.from),
                suggest_path(output, path),
            );
        }
    }
}

/// Choice keys compare by value, so `1` and `"1"` are different choices
/// (the API receives them differently).
fn same_choice(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

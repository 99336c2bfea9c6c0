//! The JSON Schema (`schema/connector.schema.json`) and the serde model
//! (`spec::model`) describe the same format.
//!
//! Every YAML file in `tests/fixtures/model/valid` must be accepted by both;
//! every file in `tests/fixtures/model/invalid` must be rejected by the schema
//! at exactly the places its header names:
//!
//! ```yaml
//! # schema-error: <keyword> <instance pointer>   (one line per error)
//! # model: reject | accept
//! ```
//!
//! `model: accept` marks a rule only the schema enforces (e.g. the key
//! pattern); the schema may be stricter than serde, never looser:
//! schema accepts => model accepts, over every fixture and over thousands of
//! mutations of the valid fixtures. Adding a fixture file adds a case.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use spec::model::Connector;

const SCHEMA_ID: &str = "https://spec.dev/schema/connector.schema.json";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn schema_document() -> Value {
    read_json(&repo().join("schema/connector.schema.json"))
}

fn connector_validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema_document())
        .expect("connector.schema.json is a valid draft 2020-12 schema")
}

/// The YAML fixtures in `tests/fixtures/model/<kind>`, sorted by name.
fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = repo().join("tests/fixtures/model").join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

fn name(path: &Path) -> String {
    let parent = path
        .parent()
        .and_then(Path::file_name)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{parent}/{}", path.file_name().unwrap().to_string_lossy())
}

/// Reads YAML the way `src/yaml.rs` does (YAML 1.2 core schema: only
/// `true`/`false` are booleans, so `N` or `No` stay strings; no octals).
fn load(path: &Path) -> (String, Value) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options.legacy_octal_numbers = false;
    options.leading_zero_numbers_as_strings = true;
    let value = serde_saphyr::from_str_with_options::<Value>(&text, options)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", name(path)));
    (text, value)
}

/// `(keyword, instance pointer)` of every schema error, deduplicated.
fn schema_errors(
    validator: &jsonschema::Validator,
    instance: &Value,
) -> BTreeSet<(String, String)> {
    validator
        .iter_errors(instance)
        .map(|e| {
            (
                e.kind().keyword().to_string(),
                e.instance_path().as_str().to_string(),
            )
        })
        .collect()
}

fn model(instance: &Value) -> Result<Connector, String> {
    serde_json::from_value::<Connector>(instance.clone()).map_err(|e| e.to_string())
}

fn show(errors: &BTreeSet<(String, String)>) -> String {
    errors
        .iter()
        .map(|(k, p)| format!("{k} {p}").trim_end().to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn valid_fixtures_are_accepted_by_schema_and_model() {
    let validator = connector_validator();
    let files = fixtures("valid");
    assert!(files.len() >= 6, "expected at least 6 valid fixtures");
    let mut failures = String::new();
    for path in &files {
        let (_, instance) = load(path);
        let errors = schema_errors(&validator, &instance);
        if !errors.is_empty() {
            writeln!(
                failures,
                "{}: schema rejects: {}",
                name(path),
                show(&errors)
            )
            .unwrap();
        }
        match model(&instance) {
            Err(e) => writeln!(failures, "{}: model rejects: {e}", name(path)).unwrap(),
            Ok(connector) => {
                // What the model writes back is valid too, and reads back the same.
                let written = serde_json::to_value(&connector).expect("the model serializes");
                let errors = schema_errors(&validator, &written);
                if !errors.is_empty() {
                    writeln!(
                        failures,
                        "{}: schema rejects the model's own serialization: {}",
                        name(path),
                        show(&errors)
                    )
                    .unwrap();
                }
                if model(&written).as_ref() != Ok(&connector) {
                    writeln!(failures, "{}: model does not round-trip", name(path)).unwrap();
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{failures}");
}

/// The header of an invalid fixture.
struct Expected {
    errors: BTreeSet<(String, String)>,
    model_accepts: bool,
}

fn expected(path: &Path, text: &str) -> Expected {
    let mut errors = BTreeSet::new();
    let mut model_accepts = None;
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        if let Some(rest) = line.strip_prefix("# schema-error:") {
            let mut parts = rest.split_whitespace();
            let keyword = parts.next().expect("a keyword after `schema-error:`");
            let pointer = parts.next().unwrap_or("");
            errors.insert((keyword.to_string(), pointer.to_string()));
        } else if let Some(rest) = line.strip_prefix("# model:") {
            model_accepts = Some(match rest.trim() {
                "accept" => true,
                "reject" => false,
                other => panic!(
                    "{}: `# model:` must be accept or reject, not {other}",
                    name(path)
                ),
            });
        }
    }
    assert!(
        !errors.is_empty(),
        "{}: an invalid fixture starts with `# schema-error: <keyword> <pointer>` lines",
        name(path)
    );
    Expected {
        errors,
        model_accepts: model_accepts
            .unwrap_or_else(|| panic!("{}: missing `# model: accept|reject`", name(path))),
    }
}

#[test]
fn invalid_fixtures_are_rejected_by_the_schema_at_the_named_leaf() {
    let validator = connector_validator();
    let files = fixtures("invalid");
    assert!(files.len() >= 12, "expected at least 12 invalid fixtures");
    let mut failures = String::new();
    for path in &files {
        let (text, instance) = load(path);
        let want = expected(path, &text);
        let got = schema_errors(&validator, &instance);
        if got != want.errors {
            writeln!(
                failures,
                "{}: schema errors are [{}], the header says [{}]",
                name(path),
                show(&got),
                show(&want.errors)
            )
            .unwrap();
        }
        let model = model(&instance);
        if model.is_ok() != want.model_accepts {
            writeln!(
                failures,
                "{}: model {} ({:?}), the header says `model: {}`",
                name(path),
                if model.is_ok() { "accepts" } else { "rejects" },
                model.err(),
                if want.model_accepts {
                    "accept"
                } else {
                    "reject"
                }
            )
            .unwrap();
        }
    }
    assert!(failures.is_empty(), "\n{failures}");
}

#[test]
fn schema_acceptance_implies_model_acceptance_for_every_fixture() {
    let validator = connector_validator();
    let mut failures = String::new();
    for path in fixtures("valid").iter().chain(&fixtures("invalid")) {
        let (_, instance) = load(path);
        let schema_ok = validator.is_valid(&instance);
        let model = model(&instance);
        // schema accepts => model accepts; equivalently model rejects => schema rejects.
        if schema_ok && let Err(e) = model {
            writeln!(
                failures,
                "{}: schema accepts, model rejects: {e}",
                name(path)
            )
            .unwrap();
        }
    }
    assert!(failures.is_empty(), "\n{failures}");
}

// ---------------------------------------------------------------------------
// Walking an instance alongside the schema

/// Follows a local `$ref`; returns the target and its pointer.
fn deref<'a>(root: &'a Value, node: &'a Value, at: &str) -> (&'a Value, String) {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("non-local $ref {reference}"));
            let target = root
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
            deref(root, target, pointer)
        }
        None => (node, at.to_string()),
    }
}

/// The schema object that declares the keys of `instance`: `node` itself, or
/// for a tagged enum the variant its `type` selects.
fn effective<'a>(
    root: &'a Value,
    node: &'a Value,
    at: &str,
    instance: &Value,
) -> (&'a Value, String) {
    let (node, at) = deref(root, node, at);
    if let Some(branches) = node.get("allOf").and_then(Value::as_array) {
        let tag = instance.get("type");
        for branch in branches {
            let condition = branch.pointer("/if/properties/type/const");
            if condition.is_some() && condition == tag {
                return effective(root, &branch["then"], &at, instance);
            }
        }
    }
    (node, at)
}

/// Calls `visit(instance pointer, schema object pointer, schema object, instance)`
/// for every mapping of `instance` that the schema describes with `properties`.
fn walk(
    root: &Value,
    node: &Value,
    at: &str,
    instance: &Value,
    pointer: &str,
    visit: &mut dyn FnMut(&str, &str, &Value, &Value),
) {
    let (node, at) = effective(root, node, at, instance);
    match instance {
        Value::Object(map) => {
            let properties = node.get("properties").and_then(Value::as_object);
            if properties.is_some() {
                visit(pointer, &at, node, instance);
            }
            for (key, child) in map {
                let child_pointer = format!("{pointer}/{}", escape(key));
                if let Some(schema) = properties.and_then(|p| p.get(key)) {
                    let child_at = format!("{at}/properties/{}", escape(key));
                    walk(root, schema, &child_at, child, &child_pointer, visit);
                } else if let Some(schema) =
                    node.get("additionalProperties").filter(|s| s.is_object())
                {
                    let child_at = format!("{at}/additionalProperties");
                    walk(root, schema, &child_at, child, &child_pointer, visit);
                }
            }
        }
        Value::Array(items) => {
            if let Some(schema) = node.get("items") {
                for (i, child) in items.iter().enumerate() {
                    walk(
                        root,
                        schema,
                        &format!("{at}/items"),
                        child,
                        &format!("{pointer}/{i}"),
                        visit,
                    );
                }
            }
        }
        _ => {}
    }
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Is this schema object a variant of a tagged enum (its `type` is a const)?
fn is_variant(node: &Value) -> bool {
    node.pointer("/properties/type/const").is_some()
}

/// Every `(schema object pointer, property)` the schema declares.
fn declared_properties(root: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut objects: Vec<(String, &Value)> = vec![(String::new(), root)];
    if let Some(defs) = root.get("$defs").and_then(Value::as_object) {
        objects.extend(defs.iter().map(|(k, v)| (format!("/$defs/{k}"), v)));
    }
    for (at, node) in objects {
        if let Some(properties) = node.get("properties").and_then(Value::as_object) {
            let tagged_base = node.get("allOf").is_some();
            for key in properties.keys() {
                if !(tagged_base && key == "type") {
                    out.insert((at.clone(), key.clone()));
                }
            }
        }
    }
    out
}

/// The field names serde lists in an "unknown field" error.
fn expected_fields(message: &str) -> Option<BTreeSet<String>> {
    if !message.starts_with("unknown field") {
        return None;
    }
    if message.ends_with("there are no fields") {
        return Some(BTreeSet::new());
    }
    let (_, list) = message.split_once(", expected ")?;
    Some(
        list.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn valid_fixtures_use_every_schema_property_and_keys_match_the_model() {
    let root = schema_document();
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    let mut failures = String::new();
    let mut checked_objects = 0usize;
    for path in fixtures("valid") {
        let (_, instance) = load(&path);
        let mut objects: Vec<(String, String, BTreeSet<String>)> = Vec::new();
        walk(
            &root,
            &root,
            "",
            &instance,
            "",
            &mut |pointer, at, node, value| {
                for key in value.as_object().unwrap().keys() {
                    used.insert((at.to_string(), key.clone()));
                }
                let mut keys: BTreeSet<String> = node["properties"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect();
                if is_variant(node) {
                    keys.remove("type"); // serde consumes the tag before the variant
                }
                objects.push((pointer.to_string(), at.to_string(), keys));
            },
        );
        // Add an unknown key to each mapping: serde's "unknown field" error
        // lists the struct's fields, which must be the schema's properties.
        for (pointer, at, keys) in objects {
            let mut mutant = instance.clone();
            mutant
                .pointer_mut(&pointer)
                .and_then(Value::as_object_mut)
                .unwrap()
                .insert("zz_not_a_key".into(), json!("x"));
            checked_objects += 1;
            match model(&mutant) {
                Ok(_) if at == "/$defs/auth_none" => {} // serde ignores keys next to a unit variant
                Ok(_) => writeln!(
                    failures,
                    "{}: model accepts an unknown key at `{pointer}` ({at})",
                    name(&path)
                )
                .unwrap(),
                Err(e) => match expected_fields(&e) {
                    Some(fields) if fields == keys => {}
                    Some(fields) => writeln!(
                        failures,
                        "{}: at `{pointer}` ({at}) the model's keys are {fields:?}, the schema's {keys:?}",
                        name(&path)
                    )
                    .unwrap(),
                    None => writeln!(failures, "{}: at `{pointer}`: unexpected model error {e}", name(&path))
                        .unwrap(),
                },
            }
        }
    }
    let missing: Vec<String> = declared_properties(&root)
        .difference(&used)
        .map(|(at, key)| format!("{}.{key}", if at.is_empty() { "#" } else { at }))
        .collect();
    if !missing.is_empty() {
        writeln!(
            failures,
            "no valid fixture uses these schema properties (add them to a fixture): {}",
            missing.join(", ")
        )
        .unwrap();
    }
    assert!(
        checked_objects > 100,
        "walked only {checked_objects} mappings"
    );
    assert!(failures.is_empty(), "\n{failures}");
}

/// Every pointer in `value`, parents first.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            out.push(at.clone());
            for (k, v) in map {
                pointers(v, format!("{at}/{}", escape(k)), out);
            }
        }
        Value::Array(items) => {
            out.push(at.clone());
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => out.push(at),
    }
}

fn split_pointer(pointer: &str) -> (&str, String) {
    let i = pointer.rfind('/').expect("not the root");
    let token = pointer[i + 1..].replace("~1", "/").replace("~0", "~");
    (&pointer[..i], token)
}

#[test]
fn schema_acceptance_implies_model_acceptance_for_mutations() {
    let validator = connector_validator();
    let root = schema_document();
    let replacements = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(7),
        json!(1.5),
        json!("x"),
        json!("POST"),
        json!([]),
        json!(["x"]),
        json!({}),
        json!({"type": "none"}),
    ];
    let mut failures = String::new();
    let mut tried = 0usize;
    let mut both_accept = 0usize;
    for path in fixtures("valid") {
        let (_, instance) = load(&path);
        // Mappings the schema declares with `properties` (structs, not maps).
        let mut structs = BTreeSet::new();
        walk(&root, &root, "", &instance, "", &mut |pointer, _, _, _| {
            structs.insert(pointer.to_string());
        });
        let mut all = Vec::new();
        pointers(&instance, String::new(), &mut all);
        let mut mutants: Vec<(String, Value)> = Vec::new();
        for pointer in &all {
            for replacement in &replacements {
                let mut mutant = instance.clone();
                *mutant.pointer_mut(pointer).unwrap() = replacement.clone();
                mutants.push((format!("{pointer} = {replacement}"), mutant));
            }
            if pointer.is_empty() {
                continue;
            }
            let (parent, token) = split_pointer(pointer);
            let mut mutant = instance.clone();
            let removed = match mutant.pointer_mut(parent).unwrap() {
                Value::Object(map) => map.shift_remove(&token).is_some(),
                Value::Array(items) => {
                    items.remove(token.parse::<usize>().unwrap());
                    true
                }
                _ => false,
            };
            if removed {
                // Removing a struct's key: schema and model must agree
                // exactly on which keys are required.
                let schema_ok = validator.is_valid(&mutant);
                let model_ok = model(&mutant).is_ok();
                tried += 1;
                if schema_ok != model_ok && structs.contains(parent) {
                    writeln!(
                        failures,
                        "{}: without `{pointer}` the schema {} but the model {}",
                        name(&path),
                        if schema_ok { "accepts" } else { "rejects" },
                        if model_ok { "accepts" } else { "rejects" },
                    )
                    .unwrap();
                }
                mutants.push((format!("remove {pointer}"), mutant));
            }
        }
        for (what, mutant) in mutants {
            tried += 1;
            if validator.is_valid(&mutant) {
                match model(&mutant) {
                    Ok(_) => both_accept += 1,
                    Err(e) => writeln!(
                        failures,
                        "{}: schema accepts `{what}`, model rejects: {e}",
                        name(&path)
                    )
                    .unwrap(),
                }
            }
        }
    }
    assert!(tried > 1000, "only {tried} mutations");
    assert!(
        both_accept > 0,
        "no mutation was accepted; the check is vacuous"
    );
    assert!(failures.is_empty(), "\n{failures}");
}

// ---------------------------------------------------------------------------
// Part files

#[test]
fn part_schemas_accept_every_action_and_trigger_of_the_valid_fixtures() {
    let connector = schema_document();
    assert_eq!(connector["$id"], SCHEMA_ID);
    let registry = jsonschema::Registry::new()
        .add(SCHEMA_ID, connector)
        .expect("connector.schema.json registers")
        .prepare()
        .expect("the registry builds");
    let part = |file: &str| {
        let schema = read_json(&repo().join("schema").join(file));
        let reference = schema["$ref"].as_str().unwrap_or_default();
        assert!(
            reference.starts_with("connector.schema.json#/$defs/"),
            "{file}: $ref must be relative to connector.schema.json, found {reference:?}"
        );
        for key in ["title", "description"] {
            assert!(schema[key].is_string(), "{file} needs a `{key}`");
        }
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_registry(&registry)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{file} does not build: {e}"))
    };
    let action = part("action.schema.json");
    let trigger = part("trigger.schema.json");

    let mut failures = String::new();
    let (mut actions, mut triggers) = (0, 0);
    for path in fixtures("valid") {
        let (_, instance) = load(&path);
        for (list, own, other) in [
            ("actions", &action, &trigger),
            ("triggers", &trigger, &action),
        ] {
            for (i, item) in instance[list].as_array().into_iter().flatten().enumerate() {
                if list == "actions" {
                    actions += 1;
                } else {
                    triggers += 1;
                }
                let errors = schema_errors(own, item);
                if !errors.is_empty() {
                    writeln!(
                        failures,
                        "{}: {list}[{i}] rejected: {}",
                        name(&path),
                        show(&errors)
                    )
                    .unwrap();
                }
                // The refs point at the right definition: an action is not a trigger.
                if other.is_valid(item) {
                    writeln!(
                        failures,
                        "{}: {list}[{i}] fits the other part schema",
                        name(&path)
                    )
                    .unwrap();
                }
            }
        }
    }
    assert!(
        actions >= 6 && triggers >= 5,
        "too few parts: {actions} actions, {triggers} triggers"
    );
    assert!(failures.is_empty(), "\n{failures}");
}

// ---------------------------------------------------------------------------
// The schema's own shape

/// Calls `visit(pointer, node)` on every schema object, skipping `if`
/// conditions (they only test a tag; they declare nothing).
fn schemas<'a>(node: &'a Value, at: String, visit: &mut dyn FnMut(&str, &'a Value)) {
    let Value::Object(map) = node else { return };
    visit(&at, node);
    for (key, child) in map {
        let child_at = format!("{at}/{}", escape(key));
        match key.as_str() {
            "if" | "examples" | "default" | "const" | "enum" => {}
            "properties" | "$defs" => {
                for (name, schema) in child.as_object().expect("a mapping") {
                    schemas(schema, format!("{child_at}/{}", escape(name)), visit);
                }
            }
            "allOf" | "anyOf" | "oneOf" => {
                for (i, schema) in child.as_array().expect("a list").iter().enumerate() {
                    schemas(schema, format!("{child_at}/{i}"), visit);
                }
            }
            _ => schemas(child, child_at, visit),
        }
    }
}

#[test]
fn every_property_and_definition_has_a_description() {
    let root = schema_document();
    let mut missing = Vec::new();
    for key in ["title", "description"] {
        if !root[key].is_string() {
            missing.push(format!("# ({key})"));
        }
    }
    schemas(&root, String::new(), &mut |at, node| {
        let declared =
            at.contains("/properties/") || at.starts_with("/$defs/") && !at[7..].contains('/');
        let described = node
            .get("description")
            .and_then(Value::as_str)
            .is_some_and(|d| d.trim().len() >= 10);
        if declared && !described {
            missing.push(at.to_string());
        }
    });
    assert!(
        missing.is_empty(),
        "no (useful) description at:\n{}",
        missing.join("\n")
    );
}

#[test]
fn schema_is_strict_and_tagged_enums_are_discriminated() {
    let root = schema_document();
    assert_eq!(
        root["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let mut problems = Vec::new();
    let mut tagged = BTreeMap::new();
    schemas(&root, String::new(), &mut |at, node| {
        for keyword in ["oneOf", "anyOf"] {
            if node.get(keyword).is_some() {
                problems.push(format!(
                    "{at}: uses {keyword}; discriminate with if/then on `type`"
                ));
            }
        }
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let resolves = reference
                .strip_prefix('#')
                .is_some_and(|p| root.pointer(p).is_some());
            if !resolves {
                problems.push(format!(
                    "{at}: $ref {reference} is not a local, existing definition"
                ));
            }
        }
        let is_object = match node.get("type") {
            Some(Value::String(t)) => t == "object",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
            _ => false,
        };
        if let Some(branches) = node.get("allOf").and_then(Value::as_array) {
            tagged.insert(at.to_string(), (node, branches));
        } else if is_object && node.get("additionalProperties").is_none() {
            problems.push(format!("{at}: an object without `additionalProperties`"));
        }
    });
    for (at, (node, branches)) in &tagged {
        let tags: Vec<&Value> = node
            .pointer("/properties/type/enum")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        if node.get("required") != Some(&json!(["type"])) || tags.is_empty() {
            problems.push(format!(
                "{at}: a tagged enum requires `type` and lists its tags in an enum"
            ));
        }
        if tags.len() != branches.len() {
            problems.push(format!(
                "{at}: {} tags but {} branches",
                tags.len(),
                branches.len()
            ));
        }
        for (tag, branch) in tags.iter().zip(branches.iter()) {
            if branch.pointer("/if/properties/type/const") != Some(tag)
                || branch.pointer("/if/required") != Some(&json!(["type"]))
            {
                problems.push(format!(
                    "{at}: the branch for {tag} does not test `type: {tag}`"
                ));
                continue;
            }
            let (variant, variant_at) = deref(&root, &branch["then"], "");
            if variant.pointer("/properties/type/const") != Some(tag) {
                problems.push(format!(
                    "{variant_at}: must declare `type: {{const: {tag}}}`"
                ));
            }
            if variant.get("additionalProperties") != Some(&json!(false)) {
                problems.push(format!(
                    "{variant_at}: must set `additionalProperties: false`"
                ));
            }
        }
    }
    assert_eq!(
        tagged.len(),
        4,
        "auth, body, pagination and string_to_sign are the tagged enums"
    );
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

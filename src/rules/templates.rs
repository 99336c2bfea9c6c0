//! R004 / R005 / R015: every template parses and reads only variables that
//! exist where it is rendered.
//!
//! The scopes here are the contract with the interpreter: whatever a scope
//! allows, the runtime context provides.

use serde_json::Value;

use super::Reporter;
use crate::codes::Code;
use crate::diagnostic::did_you_mean;
use crate::model::{
    Auth, Body, Connector, Field, FieldType, Pagination, Request, ResponseRule, StringToSign,
};
use crate::template::{SyntaxError, expression_variables_shared, template_variables_shared};

/// The sub-keys of fixed-shape variables.
const NOW_KEYS: &[&str] = &["unix", "unix_ms", "iso", "date"];
const PAGE_KEYS: &[&str] = &["number", "size", "offset", "limit", "cursor"];
const REQUEST_KEYS: &[&str] = &["method", "url", "path", "query", "headers", "body"];
const SESSION_KEYS: &[&str] = &["token"];
/// Variables whose contents come from the API and are not checked.
const OPEN: &[&str] = &[
    "body",
    "headers",
    "status",
    "timestamp",
    "nonce",
    "signature",
];

/// What a template may read.
#[derive(Clone)]
struct Scope<'a> {
    names: Vec<&'static str>,
    input: &'a [Field],
    auth_keys: Vec<&'a str>,
    /// Secret auth fields that must not be read here (connection labels are
    /// shown in the UI).
    hidden_secrets: Vec<&'a str>,
    config_keys: Vec<&'a str>,
    state_keys: Vec<&'static str>,
}

impl<'a> Scope<'a> {
    fn with(&self, names: &[&'static str]) -> Scope<'a> {
        let mut scope = self.clone();
        scope.names = names.to_vec();
        scope
    }
}

const REQUEST_SCOPE: &[&str] = &["auth", "config", "now"];
const RESPONSE_SCOPE: &[&str] = &["status", "headers", "body", "input", "config"];

pub(super) fn check(model: &Connector, r: &mut Reporter<'_>) {
    let mut auth_keys: Vec<&str> = model.auth.fields().iter().map(|f| f.key.as_str()).collect();
    if matches!(model.auth, Auth::Oauth2(_)) {
        auth_keys.extend(["access_token", "refresh_token"]);
    }
    let base = Scope {
        names: vec![],
        input: &[],
        auth_keys,
        hidden_secrets: vec![],
        config_keys: model.config.keys().map(String::as_str).collect(),
        state_keys: vec![],
    };
    let mut checker = Checker {
        r,
        reads_page: false,
    };
    checker.template(
        "/app/base_url",
        &model.app.base_url,
        &base.with(&["auth", "config"]),
    );
    checker.auth(&model.auth, &base);

    if let Some(connection) = &model.connection {
        checker.request(
            "/connection/test",
            &connection.test,
            &base.with(REQUEST_SCOPE),
        );
        if let Some(rule) = &connection.response {
            checker.response("/connection/response", rule, &base.with(RESPONSE_SCOPE));
        }
        if let Some(label) = &connection.label {
            let mut scope = base.with(&["status", "headers", "body", "auth", "config"]);
            scope.hidden_secrets = model
                .auth
                .fields()
                .iter()
                .filter(|f| f.secret)
                .map(|f| f.key.as_str())
                .collect();
            checker.template("/connection/label", label, &scope);
        }
    }

    for (i, action) in model.actions.iter().enumerate() {
        let pointer = format!("/actions/{i}");
        let mut scope = base.with(&["input", "auth", "config", "now"]);
        scope.input = &action.input;
        checker.request(&format!("{pointer}/request"), &action.request, &scope);
        let response_scope = Scope {
            names: RESPONSE_SCOPE.to_vec(),
            ..scope.clone()
        };
        if let Some(rule) = &action.response {
            checker.response(&format!("{pointer}/response"), rule, &response_scope);
        }
        if let Some(result) = &action.result {
            checker.expression(&format!("{pointer}/result"), result, &response_scope);
        }
    }

    for (i, trigger) in model.triggers.iter().enumerate() {
        let pointer = format!("/triggers/{i}");
        let mut names = vec!["input", "auth", "config", "now", "state"];
        if trigger.pagination.is_some() {
            names.push("page");
        }
        let mut scope = base.with(&names);
        scope.input = &trigger.input;
        scope.state_keys = if trigger.cursor.is_some() {
            vec!["cursor", "last_poll"]
        } else {
            vec!["last_poll"]
        };
        checker.reads_page = false;
        checker.request(&format!("{pointer}/request"), &trigger.request, &scope);
        let reads_page = checker.reads_page;
        let response_scope = Scope {
            names: RESPONSE_SCOPE.to_vec(),
            ..scope.clone()
        };
        if let Some(rule) = &trigger.response {
            checker.response(&format!("{pointer}/response"), rule, &response_scope);
        }
        checker.expression(
            &format!("{pointer}/records"),
            &trigger.records,
            &response_scope,
        );
        if let Some(cursor) = &trigger.cursor
            && let Some(initial) = &cursor.initial
        {
            checker.template(
                &format!("{pointer}/cursor/initial"),
                initial,
                &scope.with(&["input", "config", "now"]),
            );
        }
        let Some(pagination) = &trigger.pagination else {
            continue;
        };
        let mut page_scope = response_scope.clone();
        page_scope.names.push("page");
        let (has_more, needs_page_vars) = match pagination {
            Pagination::PageNumber { has_more, .. } | Pagination::Offset { has_more, .. } => {
                (has_more.as_ref(), true)
            }
            Pagination::Cursor {
                next_cursor,
                has_more,
                ..
            } => {
                checker.expression(
                    &format!("{pointer}/pagination/next_cursor"),
                    next_cursor,
                    &page_scope,
                );
                (has_more.as_ref(), true)
            }
            Pagination::NextLink { next_url, .. } => {
                checker.expression(
                    &format!("{pointer}/pagination/next_url"),
                    next_url,
                    &page_scope,
                );
                (None, false)
            }
            Pagination::LinkHeader { .. } => (None, false),
        };
        if let Some(has_more) = has_more {
            checker.expression(
                &format!("{pointer}/pagination/has_more"),
                has_more,
                &page_scope,
            );
        }
        if needs_page_vars && !reads_page {
            checker.r.value(
                Code::PaginationUnused,
                &format!("{pointer}/pagination"),
                format!(
                    "trigger `{}` is paginated but its request never reads `page`",
                    trigger.key
                ),
                Some(match pagination {
                    Pagination::PageNumber { .. } => {
                        "pass `{{ page.number }}` (and `{{ page.size }}`) in the query or body"
                            .into()
                    }
                    Pagination::Offset { .. } => {
                        "pass `{{ page.offset }}` and `{{ page.limit }}` in the query or body"
                            .into()
                    }
                    _ => "pass `{{ page.cursor }}` in the query or body".into(),
                }),
            );
        }
    }
}

struct Checker<'r, 'a> {
    r: &'r mut Reporter<'a>,
    /// Whether a template since the last reset read `page.*`.
    reads_page: bool,
}

impl Checker<'_, '_> {
    fn auth(&mut self, auth: &Auth, base: &Scope<'_>) {
        let plain = base.with(&["auth", "config"]);
        match auth {
            Auth::None {} => {}
            Auth::ApiKey(a) => {
                for (i, p) in a.place.iter().enumerate() {
                    self.template(
                        &format!("/auth/place/{i}/value"),
                        &p.value,
                        &base.with(REQUEST_SCOPE),
                    );
                }
            }
            Auth::Basic(b) => {
                self.template("/auth/username", &b.username, &plain);
                self.template("/auth/password", &b.password, &plain);
            }
            Auth::Bearer(b) => self.template("/auth/token", &b.token, &plain),
            Auth::Oauth2(o) => {
                self.template("/auth/client_id", &o.client_id, &plain);
                self.template("/auth/client_secret", &o.client_secret, &plain);
                if let Some(url) = &o.authorize_url {
                    self.template("/auth/authorize_url", url, &plain);
                }
                self.template("/auth/token_url", &o.token_url, &plain);
                if let Some(url) = &o.refresh_url {
                    self.template("/auth/refresh_url", url, &plain);
                }
                for (k, v) in &o.authorize_params {
                    self.template(&format!("/auth/authorize_params/{}", token(k)), v, &plain);
                }
                for (k, v) in &o.token_params {
                    self.template(&format!("/auth/token_params/{}", token(k)), v, &plain);
                }
                if let Some(when) = o.token_expired.as_ref().and_then(|t| t.when.as_ref()) {
                    self.expression(
                        "/auth/token_expired/when",
                        when,
                        &base.with(&["status", "headers", "body"]),
                    );
                }
                for (i, p) in o.place.iter().enumerate() {
                    self.template(&format!("/auth/place/{i}/value"), &p.value, &plain);
                }
            }
            Auth::Session(s) => {
                self.request("/auth/login", &s.login, &base.with(REQUEST_SCOPE));
                let response = base.with(&["status", "headers", "body", "config"]);
                if let Some(rule) = &s.login_response {
                    self.response("/auth/login_response", rule, &response);
                }
                self.expression("/auth/token", &s.token, &response);
                if let Some(expires) = &s.expires_in {
                    self.expression("/auth/expires_in", expires, &response);
                }
                for (i, p) in s.place.iter().enumerate() {
                    self.template(
                        &format!("/auth/place/{i}/value"),
                        &p.value,
                        &base.with(&["auth", "config", "session"]),
                    );
                }
            }
            Auth::Signature(s) => {
                let signing = base.with(&["auth", "config", "now", "timestamp", "nonce"]);
                for (i, p) in s.params.iter().enumerate() {
                    self.template(&format!("/auth/params/{i}/value"), &p.value, &signing);
                }
                match &s.string_to_sign {
                    StringToSign::Template { template } => {
                        let scope = base.with(&["auth", "config", "timestamp", "nonce", "request"]);
                        self.template("/auth/string_to_sign/template", template, &scope);
                    }
                    StringToSign::SortedParams(p) => {
                        self.template("/auth/string_to_sign/prefix", &p.prefix, &signing);
                        self.template("/auth/string_to_sign/suffix", &p.suffix, &signing);
                    }
                }
                if let Some(key) = &s.key {
                    self.template("/auth/key", key, &plain);
                }
                let place = base.with(&["auth", "config", "timestamp", "nonce", "signature"]);
                self.template("/auth/place/value", &s.place.value, &place);
            }
        }
    }

    fn request(&mut self, pointer: &str, request: &Request, scope: &Scope<'_>) {
        self.template(&format!("{pointer}/path"), &request.path, scope);
        for (k, v) in &request.query {
            self.template(&format!("{pointer}/query/{}", token(k)), v, scope);
        }
        for (k, v) in &request.headers {
            self.template(&format!("{pointer}/headers/{}", token(k)), v, scope);
        }
        match &request.body {
            None => {}
            Some(Body::Json { content }) => {
                self.json(&format!("{pointer}/body/content"), content, scope)
            }
            Some(Body::Form { fields }) => {
                for (k, v) in fields {
                    self.template(&format!("{pointer}/body/fields/{}", token(k)), v, scope);
                }
            }
            Some(Body::Raw {
                content_type,
                content,
            }) => {
                self.template(&format!("{pointer}/body/content_type"), content_type, scope);
                self.template(&format!("{pointer}/body/content"), content, scope);
            }
            Some(Body::Multipart { parts }) => {
                for (i, part) in parts.iter().enumerate() {
                    let p = format!("{pointer}/body/parts/{i}");
                    self.template(&format!("{p}/content"), &part.content, scope);
                    if let Some(name) = &part.filename {
                        self.template(&format!("{p}/filename"), name, scope);
                    }
                    if let Some(ct) = &part.content_type {
                        self.template(&format!("{p}/content_type"), ct, scope);
                    }
                }
            }
        }
    }

    /// JSON body content: strings are templates, `{"$expr": "..."}` an
    /// expression.
    fn json(&mut self, pointer: &str, value: &Value, scope: &Scope<'_>) {
        match value {
            Value::String(s) => self.template(pointer, s, scope),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.json(&format!("{pointer}/{i}"), item, scope);
                }
            }
            Value::Object(map) => {
                if map.len() == 1
                    && let Some(Value::String(expr)) = map.get("$expr")
                {
                    self.expression(&format!("{pointer}/$expr"), expr, scope);
                    return;
                }
                for (k, v) in map {
                    self.json(&format!("{pointer}/{}", token(k)), v, scope);
                }
            }
            _ => {}
        }
    }

    fn response(&mut self, pointer: &str, rule: &ResponseRule, scope: &Scope<'_>) {
        let parts = [
            ("success_when", &rule.success_when),
            ("error_code", &rule.error_code),
            ("error_message", &rule.error_message),
            ("request_id", &rule.request_id),
        ];
        for (name, expr) in parts {
            if let Some(expr) = expr {
                self.expression(&format!("{pointer}/{name}"), expr, scope);
            }
        }
    }

    fn template(&mut self, pointer: &str, source: &str, scope: &Scope<'_>) {
        match &*template_variables_shared(source) {
            Ok(vars) => self.variables(pointer, vars, scope),
            Err(error) => self.syntax(pointer, "template", error),
        }
    }

    fn expression(&mut self, pointer: &str, source: &str, scope: &Scope<'_>) {
        match &*expression_variables_shared(source) {
            Ok(vars) => self.variables(pointer, vars, scope),
            Err(error) => self.syntax(pointer, "expression", error),
        }
    }

    fn syntax(&mut self, pointer: &str, what: &str, error: &SyntaxError) {
        self.r.value(
            Code::TemplateSyntax,
            pointer,
            format!("{what} does not parse: {}", error.message),
            Some(if what == "expression" {
                "expressions are minijinja expressions without `{{ }}`, e.g. `body.code == 0`"
                    .into()
            } else {
                "templates are minijinja: `{{ variable }}`, `{% if %}...{% endif %}`".into()
            }),
        );
    }

    fn variables(
        &mut self,
        pointer: &str,
        vars: &std::collections::BTreeSet<String>,
        scope: &Scope<'_>,
    ) {
        for var in vars {
            let mut steps = var.split('.');
            let top = steps.next().unwrap_or_default();
            let second = steps.next();
            if top == "page" {
                self.reads_page = true;
            }
            if !scope.names.contains(&top) {
                let help = match did_you_mean(top, scope.names.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!(
                        "available here: {}",
                        scope
                            .names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                let help = match top {
                    "page" => "`page` exists only in the request of a trigger with `pagination`"
                        .to_string(),
                    "input" => "`input` exists only in action and trigger requests and responses"
                        .to_string(),
                    _ => help,
                };
                self.r.within(
                    Code::UnknownVariable,
                    pointer,
                    top,
                    format!("unknown variable `{top}`"),
                    Some(help),
                );
                continue;
            }
            let Some(second) = second else { continue };
            let known: Option<(&[&str], &str)> = match top {
                "input" => {
                    self.input_path(pointer, var, scope.input);
                    None
                }
                "auth" => Some((&scope.auth_keys, "auth field")),
                "config" => Some((&scope.config_keys, "config key")),
                "now" => Some((NOW_KEYS, "`now` value")),
                "page" => Some((PAGE_KEYS, "`page` value")),
                "state" => Some((&scope.state_keys, "`state` value")),
                "request" => Some((REQUEST_KEYS, "`request` value")),
                "session" => Some((SESSION_KEYS, "`session` value")),
                _ if OPEN.contains(&top) => None,
                _ => None,
            };
            let Some((keys, what)) = known else { continue };
            if !keys.contains(&second) {
                let help = match (top, second) {
                    ("state", "cursor") => {
                        "declare `cursor:` on the trigger to carry a value between polls"
                            .to_string()
                    }
                    _ => match did_you_mean(second, keys.iter().copied()) {
                        Some(close) => format!("did you mean `{top}.{close}`?"),
                        None if keys.is_empty() => format!("no {what}s are declared"),
                        None => format!(
                            "known: {}",
                            keys.iter()
                                .map(|k| format!("`{top}.{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    },
                };
                self.r.within(
                    Code::UnknownVariable,
                    pointer,
                    &format!("{top}.{second}"),
                    format!("`{top}.{second}` is not a known {what}"),
                    Some(help),
                );
            } else if top == "auth" && scope.hidden_secrets.contains(&second) {
                self.r.within(
                    Code::UnknownVariable,
                    pointer,
                    &format!("auth.{second}"),
                    format!("`auth.{second}` is secret and cannot be shown in a connection label"),
                    Some("label connections from the test response, e.g. `{{ body.data.shop_name }}`".into()),
                );
            }
        }
    }

    fn input_path(&mut self, pointer: &str, var: &str, fields: &[Field]) {
        let mut current = fields;
        let mut walked = String::from("input");
        for step in var.split('.').skip(1) {
            let Some(field) = current.iter().find(|f| f.key == step) else {
                let keys: Vec<&str> = current.iter().map(|f| f.key.as_str()).collect();
                let help = match did_you_mean(step, keys.iter().copied()) {
                    Some(close) => format!("did you mean `{walked}.{close}`?"),
                    None if keys.is_empty() => "declare it under `input:`".to_string(),
                    None => format!(
                        "fields here: {}",
                        keys.iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.r.within(
                    Code::UnknownVariable,
                    pointer,
                    &format!("{walked}.{step}"),
                    format!("`{walked}.{step}` is not an input field"),
                    Some(help),
                );
                return;
            };
            walked.push('.');
            walked.push_str(step);
            // A repeating group is a list: `.key` after it is not a field access.
            if field.field_type != FieldType::Group || field.multiple {
                return;
            }
            current = &field.fields;
        }
    }
}

fn token(key: &str) -> String {
    crate::yaml::pointer_token(key)
}

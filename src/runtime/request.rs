//! Building one request: render the spec's request, apply authentication,
//! sign last, serialize. See the module docs of [`crate::runtime`] for the
//! rendering rules.

use std::fmt;

use base64::Engine as _;
use minijinja::Value;
use serde_json::Value as Json;

use super::context::{Context, object};
use super::redact::Secrets;
use super::{ErrorKind, RequestError, encode, path_environment, sign};
use crate::model::{
    Auth, Body, Connector, Location, Method, Placement, Request, SignatureAuth, StringToSign,
};
use crate::template::environment;

/// The scope of action requests.
const ACTION_SCOPE: &[&str] = &["input", "auth", "config", "now"];
/// The scope of trigger requests (`page` and `state` when the caller gave them).
const TRIGGER_SCOPE: &[&str] = &["input", "auth", "config", "now", "state", "page"];
/// The scope of the connection test.
const CONNECTION_SCOPE: &[&str] = &["auth", "config", "now"];

/// A fully built, signed HTTP request, ready to send.
///
/// `Debug` and `Display` redact every secret; the accessors return the real
/// values (they are what goes on the wire).
#[derive(Clone)]
pub struct PreparedRequest {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    content_type: Option<String>,
    secrets: Secrets,
}

impl PreparedRequest {
    /// A request made outside the spec's templates (an OAuth2 token
    /// request): sent and shown like any other, redacted with `secrets`.
    pub(crate) fn raw(
        method: Method,
        url: String,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
        secrets: Secrets,
    ) -> PreparedRequest {
        let content_type = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone());
        PreparedRequest {
            method,
            url,
            headers,
            body,
            content_type,
            secrets,
        }
    }

    pub fn method(&self) -> Method {
        self.method
    }

    /// The full URL, percent-encoded, query included.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Headers in order, `Content-Type` included when there is a body.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    /// The body as text (bodies built from templates are UTF-8).
    pub fn body_text(&self) -> Option<&str> {
        self.body
            .as_deref()
            .and_then(|b| std::str::from_utf8(b).ok())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The secrets this request carries, to redact anything derived from it
    /// (logs of the response, errors).
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// `text` with this request's secrets masked.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.redact(text)
    }
}

/// `METHOD url`, the headers, a blank line and the body, as `-v` shows it:
/// secrets masked.
impl fmt::Display for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = format!("{} {}\n", self.method.as_str(), self.url);
        for (name, value) in &self.headers {
            text.push_str(&format!("{name}: {value}\n"));
        }
        if let Some(body) = &self.body {
            text.push('\n');
            text.push_str(&String::from_utf8_lossy(body));
            text.push('\n');
        }
        f.write_str(&self.secrets.redact(&text))
    }
}

impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = |s: &str| self.secrets.redact(s);
        f.debug_struct("PreparedRequest")
            .field("method", &self.method)
            .field("url", &r(&self.url))
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), r(v)))
                    .collect::<Vec<_>>(),
            )
            .field("content_type", &self.content_type)
            .field(
                "body",
                &self.body.as_ref().map(|b| r(&String::from_utf8_lossy(b))),
            )
            .finish()
    }
}

/// Builds the request of action `key`.
pub fn build_action(
    connector: &Connector,
    key: &str,
    context: &Context,
) -> Result<PreparedRequest, RequestError> {
    let action = connector
        .actions
        .iter()
        .find(|a| a.key == key)
        .ok_or_else(|| {
            let known: Vec<_> = connector
                .actions
                .iter()
                .map(|a| format!("`{}`", a.key))
                .collect();
            RequestError::new(
                ErrorKind::Spec,
                format!(
                    "connector `{}` has no action `{key}` (actions: {})",
                    connector.app.key,
                    list(&known)
                ),
            )
        })?;
    build(connector, &action.request, ACTION_SCOPE, context)
}

/// Builds the request of trigger `key`; give `page` and `state` in the
/// context ([`Context::with_page`], [`Context::with_state`]) when the
/// trigger reads them.
pub fn build_trigger(
    connector: &Connector,
    key: &str,
    context: &Context,
) -> Result<PreparedRequest, RequestError> {
    let trigger = connector
        .triggers
        .iter()
        .find(|t| t.key == key)
        .ok_or_else(|| {
            let known: Vec<_> = connector
                .triggers
                .iter()
                .map(|t| format!("`{}`", t.key))
                .collect();
            RequestError::new(
                ErrorKind::Spec,
                format!(
                    "connector `{}` has no trigger `{key}` (triggers: {})",
                    connector.app.key,
                    list(&known)
                ),
            )
        })?;
    build(connector, &trigger.request, TRIGGER_SCOPE, context)
}

/// Builds the connection test request.
pub fn build_connection_test(
    connector: &Connector,
    context: &Context,
) -> Result<PreparedRequest, RequestError> {
    let connection = connector.connection.as_ref().ok_or_else(|| {
        RequestError::new(
            ErrorKind::Spec,
            format!("connector `{}` has no connection test", connector.app.key),
        )
    })?;
    build(connector, &connection.test, CONNECTION_SCOPE, context)
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// Builds `request` of `connector`, its templates seeing the variables
/// `scope` (those the context has), then authenticates and signs it.
pub fn build(
    connector: &Connector,
    request: &Request,
    scope: &[&str],
    context: &Context,
) -> Result<PreparedRequest, RequestError> {
    build_with(connector, request, scope, context, true)
}

/// Builds the `session` login request: rendered like any request (its
/// templates carry the credentials), but not authenticated — there is no
/// session yet.
pub fn build_session_login(
    connector: &Connector,
    context: &Context,
) -> Result<PreparedRequest, RequestError> {
    let Auth::Session(session) = &connector.auth else {
        return Err(RequestError::new(
            ErrorKind::Spec,
            format!(
                "connector `{}` does not use session auth",
                connector.app.key
            ),
        ));
    };
    build_with(connector, &session.login, CONNECTION_SCOPE, context, false)
}

fn build_with(
    connector: &Connector,
    request: &Request,
    scope: &[&str],
    context: &Context,
    authenticate: bool,
) -> Result<PreparedRequest, RequestError> {
    let mut b = Builder {
        context,
        secrets: context.secrets.clone(),
        scope: scope.to_vec(),
    };
    let mut draft = b.draft(connector, request)?;
    if authenticate {
        b.authenticate(&connector.auth, &mut draft)?;
    }
    draft.ensure_content_type();
    let url = draft.url();
    let (body, content_type) = match &draft.body {
        None => (None, None),
        Some(body) => (Some(body.bytes()), Some(body.content_type())),
    };
    let content_type = draft
        .header("content-type")
        .map(str::to_string)
        .or(content_type);
    Ok(PreparedRequest {
        method: draft.method,
        url,
        headers: draft.headers,
        body,
        content_type,
        secrets: b.secrets,
    })
}

/// A request being built: values rendered, not yet serialized.
struct Draft {
    method: Method,
    /// Base URL joined with the path; may carry a query of its own.
    base: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<DraftBody>,
}

enum DraftBody {
    Json(Json),
    Form(Vec<(String, String)>),
    Raw {
        content_type: String,
        content: String,
    },
    Multipart {
        boundary: String,
        parts: Vec<Part>,
    },
}

/// One rendered `multipart/form-data` part.
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    content: String,
}

/// A part's name or file name as a quoted-string parameter: `"`, CR and LF
/// percent-escaped, as browsers do (WHATWG HTML, multipart/form-data).
fn disposition_value(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

impl DraftBody {
    fn content_type(&self) -> String {
        match self {
            DraftBody::Json(_) => "application/json".into(),
            DraftBody::Form(_) => "application/x-www-form-urlencoded".into(),
            DraftBody::Raw { content_type, .. } => content_type.clone(),
            DraftBody::Multipart { boundary, .. } => {
                format!("multipart/form-data; boundary={boundary}")
            }
        }
    }

    fn text(&self) -> String {
        match self {
            DraftBody::Json(json) => serde_json::to_string(json).unwrap_or_default(),
            DraftBody::Form(fields) => encode::form(fields),
            DraftBody::Raw { content, .. } => content.clone(),
            DraftBody::Multipart { boundary, parts } => {
                let mut out = String::new();
                for part in parts {
                    out.push_str(&format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"",
                        disposition_value(&part.name)
                    ));
                    if let Some(filename) = &part.filename {
                        out.push_str(&format!("; filename=\"{}\"", disposition_value(filename)));
                    }
                    out.push_str("\r\n");
                    if let Some(content_type) = &part.content_type {
                        out.push_str(&format!("Content-Type: {content_type}\r\n"));
                    }
                    out.push_str("\r\n");
                    out.push_str(&part.content);
                    out.push_str("\r\n");
                }
                out.push_str(&format!("--{boundary}--\r\n"));
                out
            }
        }
    }

    fn bytes(&self) -> Vec<u8> {
        self.text().into_bytes()
    }

    /// The body's parameters for `sorted_params`: form fields, or the
    /// top-level members of a JSON object (strings as they are, other
    /// values as compact JSON).
    fn params(&self) -> Vec<(String, String)> {
        match self {
            DraftBody::Form(fields) => fields.clone(),
            DraftBody::Json(Json::Object(map)) => map
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect(),
            DraftBody::Multipart { parts, .. } => parts
                .iter()
                .filter(|p| p.filename.is_none())
                .map(|p| (p.name.clone(), p.content.clone()))
                .collect(),
            DraftBody::Json(_) | DraftBody::Raw { .. } => Vec::new(),
        }
    }
}

impl Draft {
    fn url(&self) -> String {
        if self.query.is_empty() {
            return self.base.clone();
        }
        let joiner = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{joiner}{}", self.base, encode::form(&self.query))
    }

    /// The URL's path (what comes after the host, before the query).
    fn path(&self) -> String {
        let after_scheme = self
            .base
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(&self.base);
        let path = after_scheme
            .find('/')
            .map(|i| &after_scheme[i..])
            .unwrap_or("/");
        path.split(['?', '#']).next().unwrap_or("/").to_string()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn ensure_content_type(&mut self) {
        if let Some(body) = &self.body
            && self.header("content-type").is_none()
        {
            self.headers
                .push(("Content-Type".into(), body.content_type()));
        }
    }
}

/// Replaces the first pair called `name` (removing later ones), or appends.
fn set_pair(pairs: &mut Vec<(String, String)>, name: &str, value: String, ignore_case: bool) {
    let same = |k: &str| {
        if ignore_case {
            k.eq_ignore_ascii_case(name)
        } else {
            k == name
        }
    };
    match pairs.iter().position(|(k, _)| same(k)) {
        Some(i) => {
            pairs[i].1 = value;
            let mut seen = 0;
            pairs.retain(|(k, _)| {
                if same(k) {
                    seen += 1;
                    seen == 1
                } else {
                    true
                }
            });
        }
        None => pairs.push((name.to_string(), value)),
    }
}

struct Builder<'c> {
    context: &'c Context,
    /// The context's secrets plus those made while building (signatures,
    /// derived credentials).
    secrets: Secrets,
    scope: Vec<&'c str>,
}

impl Builder<'_> {
    fn error(&self, kind: ErrorKind, message: impl AsRef<str>) -> RequestError {
        RequestError::redacted(kind, message, &self.secrets)
    }

    fn request_scope(&self) -> Value {
        self.context.scope(&self.scope, &[])
    }

    /// Renders template `source` (described as `what` in errors).
    fn render(&self, what: &str, source: &str, scope: &Value) -> Result<String, RequestError> {
        if !crate::template::is_template(source) {
            return Ok(source.to_string());
        }
        environment().render_str(source, scope).map_err(|e| {
            self.error(
                ErrorKind::Render,
                format!("cannot render {what}: {}", describe(&e)),
            )
        })
    }

    fn draft(&self, connector: &Connector, request: &Request) -> Result<Draft, RequestError> {
        let scope = self.request_scope();
        let plain = self.context.scope(&["auth", "config"], &[]);
        let path = path_environment()
            .render_str(&request.path, &scope)
            .map_err(|e| {
                self.error(
                    ErrorKind::Render,
                    format!("cannot render the path: {}", describe(&e)),
                )
            })?;
        let base = if request.path.starts_with("http://") || request.path.starts_with("https://") {
            path
        } else {
            let base_url = match &self.context.base_url {
                Some(base_url) => base_url.clone(),
                None => self.render("`app.base_url`", &connector.app.base_url, &plain)?,
            };
            let path = path.trim_start_matches('/');
            if path.is_empty() && !request.path.starts_with('/') {
                base_url
            } else {
                format!("{}/{path}", base_url.trim_end_matches('/'))
            }
        };

        let mut query = Vec::new();
        for (name, source) in &request.query {
            let value = self.render(&format!("query parameter `{name}`"), source, &scope)?;
            if !value.is_empty() {
                query.push((name.clone(), value));
            }
        }

        let mut headers = Vec::new();
        for (name, source) in &request.headers {
            let value = self.render(&format!("header `{name}`"), source, &scope)?;
            self.check_header(name, &value)?;
            headers.push((name.clone(), value));
        }

        let body = match &request.body {
            None => None,
            Some(Body::Json { content }) => Some(DraftBody::Json(
                self.json("/", content, &scope)?.unwrap_or(Json::Null),
            )),
            Some(Body::Form { fields }) => {
                let mut rendered = Vec::new();
                for (name, source) in fields {
                    let value = self.render(&format!("form field `{name}`"), source, &scope)?;
                    if !value.is_empty() {
                        rendered.push((name.clone(), value));
                    }
                }
                Some(DraftBody::Form(rendered))
            }
            Some(Body::Raw {
                content_type,
                content,
            }) => Some(DraftBody::Raw {
                content_type: self.render("the body's content type", content_type, &scope)?,
                content: self.render("the body", content, &scope)?,
            }),
            Some(Body::Multipart { parts }) => {
                let mut rendered = Vec::new();
                for part in parts {
                    let what = |field: &str| format!("multipart part `{}`'s {field}", part.name);
                    let content = self.render(&what("content"), &part.content, &scope)?;
                    if content.is_empty() {
                        continue;
                    }
                    let filename = match &part.filename {
                        Some(source) => Some(self.render(&what("file name"), source, &scope)?),
                        None => None,
                    };
                    let content_type = match &part.content_type {
                        Some(source) => {
                            let value = self.render(&what("content type"), source, &scope)?;
                            if value.contains(['\r', '\n']) {
                                return Err(self.error(
                                    ErrorKind::Invalid,
                                    format!(
                                        "{}: contains a line break (CR or LF)",
                                        what("content type")
                                    ),
                                ));
                            }
                            Some(value)
                        }
                        None => None,
                    };
                    rendered.push(Part {
                        name: part.name.clone(),
                        filename,
                        content_type,
                        content,
                    });
                }
                Some(DraftBody::Multipart {
                    boundary: self.context.boundary.clone(),
                    parts: rendered,
                })
            }
        };
        Ok(Draft {
            method: request.method,
            base,
            query,
            headers,
            body,
        })
    }

    /// JSON content: strings rendered, `{"$expr": ...}` evaluated. `None`
    /// is an undefined expression (left out by the caller).
    fn json(
        &self,
        pointer: &str,
        value: &Json,
        scope: &Value,
    ) -> Result<Option<Json>, RequestError> {
        let child = |key: &str| {
            if pointer == "/" {
                format!("/{key}")
            } else {
                format!("{pointer}/{key}")
            }
        };
        Ok(Some(match value {
            Json::String(source) => {
                Json::String(self.render(&format!("JSON body at `{pointer}`"), source, scope)?)
            }
            Json::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(
                        self.json(&child(&i.to_string()), item, scope)?
                            .unwrap_or(Json::Null),
                    );
                }
                Json::Array(out)
            }
            Json::Object(map) => {
                if map.len() == 1
                    && let Some(Json::String(expr)) = map.get("$expr")
                {
                    return self.expression(pointer, expr, scope);
                }
                let mut out = serde_json::Map::new();
                for (key, item) in map {
                    if let Some(rendered) = self.json(&child(key), item, scope)? {
                        out.insert(key.clone(), rendered);
                    }
                }
                Json::Object(out)
            }
            other => other.clone(),
        }))
    }

    fn expression(
        &self,
        pointer: &str,
        source: &str,
        scope: &Value,
    ) -> Result<Option<Json>, RequestError> {
        let what = format!("the expression at `{pointer}` of the JSON body");
        let value = environment()
            .compile_expression(source)
            .and_then(|e| e.eval(scope))
            .map_err(|e| {
                self.error(
                    ErrorKind::Render,
                    format!("cannot evaluate {what}: {}", describe(&e)),
                )
            })?;
        if value.is_undefined() {
            return Ok(None);
        }
        serde_json::to_value(&value).map(Some).map_err(|e| {
            self.error(
                ErrorKind::Render,
                format!("cannot convert {what} to JSON: {e}"),
            )
        })
    }

    fn check_header(&self, name: &str, value: &str) -> Result<(), RequestError> {
        let bad_name = name.is_empty()
            || name
                .bytes()
                .any(|b| b <= b' ' || b >= 0x7f || b == b':' || b == b'(' || b == b')');
        if bad_name {
            return Err(self.error(
                ErrorKind::Invalid,
                format!("`{name}` is not a valid header name"),
            ));
        }
        if value.contains(['\r', '\n']) {
            return Err(self.error(
                ErrorKind::Invalid,
                format!("header `{name}`: the value contains a line break (CR or LF), which would inject a header"),
            ));
        }
        Ok(())
    }

    /// Puts `value` under `name` in the header, query or body of `draft`.
    fn place(
        &self,
        draft: &mut Draft,
        location: Location,
        name: &str,
        value: String,
    ) -> Result<(), RequestError> {
        match location {
            Location::Header => {
                self.check_header(name, &value)?;
                set_pair(&mut draft.headers, name, value, true);
            }
            Location::Query => set_pair(&mut draft.query, name, value, false),
            Location::Body => match &mut draft.body {
                None => draft.body = Some(DraftBody::Form(vec![(name.to_string(), value)])),
                Some(DraftBody::Form(fields)) => set_pair(fields, name, value, false),
                Some(DraftBody::Json(Json::Object(map))) => {
                    map.insert(name.to_string(), Json::String(value));
                }
                Some(DraftBody::Json(_)) => {
                    return Err(self.error(
                        ErrorKind::Invalid,
                        format!(
                            "cannot place `{name}` in the body: the JSON body is not an object"
                        ),
                    ));
                }
                Some(DraftBody::Multipart { parts, .. }) => {
                    parts.retain(|p| p.name != name);
                    parts.push(Part {
                        name: name.to_string(),
                        filename: None,
                        content_type: None,
                        content: value,
                    });
                }
                Some(DraftBody::Raw { .. }) => {
                    return Err(self.error(
                        ErrorKind::Invalid,
                        format!("cannot place `{name}` in a raw body"),
                    ));
                }
            },
        }
        Ok(())
    }

    fn placements(
        &self,
        draft: &mut Draft,
        place: &[Placement],
        scope: &Value,
    ) -> Result<(), RequestError> {
        for p in place {
            let value = self.render(&format!("the auth value `{}`", p.name), &p.value, scope)?;
            self.place(draft, p.location, &p.name, value)?;
        }
        Ok(())
    }

    fn authenticate(&mut self, auth: &Auth, draft: &mut Draft) -> Result<(), RequestError> {
        let plain = self.context.scope(&["auth", "config"], &[]);
        match auth {
            Auth::None {} => Ok(()),
            Auth::ApiKey(a) => {
                let scope = self.context.scope(&["auth", "config", "now"], &[]);
                self.placements(draft, &a.place, &scope)
            }
            Auth::Basic(b) => {
                let user = self.render("the basic auth user name", &b.username, &plain)?;
                let password = self.render("the basic auth password", &b.password, &plain)?;
                let credential =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                self.secrets.add(&password);
                self.secrets.add(&credential);
                self.place(
                    draft,
                    Location::Header,
                    "Authorization",
                    format!("Basic {credential}"),
                )
            }
            Auth::Bearer(b) => {
                let token = self.render("the bearer token", &b.token, &plain)?;
                self.secrets.add(&token);
                self.place(
                    draft,
                    Location::Header,
                    "Authorization",
                    format!("Bearer {token}"),
                )
            }
            Auth::Oauth2(o) => {
                if !self.context.has_auth("access_token") {
                    return Err(self.error(
                        ErrorKind::Credentials,
                        "no OAuth2 access token: connect the account (authorize) first",
                    ));
                }
                if o.place.is_empty() {
                    let default = Placement {
                        location: Location::Header,
                        name: "Authorization".into(),
                        value: "Bearer {{ auth.access_token }}".into(),
                    };
                    self.placements(draft, &[default], &plain)
                } else {
                    self.placements(draft, &o.place, &plain)
                }
            }
            Auth::Session(s) => {
                if self.context.session_token.is_none() {
                    return Err(
                        self.error(ErrorKind::Credentials, "no session token: log in first")
                    );
                }
                let scope = self.context.scope(&["auth", "config", "session"], &[]);
                self.placements(draft, &s.place, &scope)
            }
            Auth::Signature(s) => self.sign(s, draft),
        }
    }

    /// The `signature` recipe: params, string to sign, digest, placement.
    fn sign(&mut self, recipe: &SignatureAuth, draft: &mut Draft) -> Result<(), RequestError> {
        let timestamp = Value::from(self.context.timestamp.clone());
        let nonce = Value::from(self.context.nonce.clone());
        let signing = self.context.scope(
            &["auth", "config", "now"],
            &[("timestamp", timestamp.clone()), ("nonce", nonce.clone())],
        );
        self.placements(draft, &recipe.params, &signing)?;
        draft.ensure_content_type();

        let text = match &recipe.string_to_sign {
            StringToSign::SortedParams(p) => {
                let mut pairs = Vec::new();
                let from_query = matches!(
                    p.from,
                    crate::model::ParamSource::Query | crate::model::ParamSource::All
                );
                let from_body = matches!(
                    p.from,
                    crate::model::ParamSource::Body | crate::model::ParamSource::All
                );
                if from_query {
                    pairs.extend(draft.query.iter().cloned());
                }
                if from_body && let Some(body) = &draft.body {
                    pairs.extend(body.params());
                }
                let prefix = self.render("the string to sign's prefix", &p.prefix, &signing)?;
                let suffix = self.render("the string to sign's suffix", &p.suffix, &signing)?;
                format!("{prefix}{}{suffix}", sign::join_sorted(&pairs, p))
            }
            StringToSign::Template { template } => {
                let request = self.request_value(draft);
                let scope = self.context.scope(
                    &["auth", "config"],
                    &[
                        ("timestamp", timestamp.clone()),
                        ("nonce", nonce.clone()),
                        ("request", request),
                    ],
                );
                self.render("the string to sign", template, &scope)?
            }
        };

        let plain = self.context.scope(&["auth", "config"], &[]);
        let key = match &recipe.key {
            Some(source) => Some(self.render("the signing key", source, &plain)?),
            None => None,
        };
        let bytes = sign::digest(recipe.algorithm, key.as_deref(), &text)
            .map_err(|e| self.error(ErrorKind::Spec, format!("cannot sign: {e}")))?;
        let signature = sign::encode(&bytes, recipe.encoding);
        self.secrets.add(&signature);

        let scope = self.context.scope(
            &["auth", "config"],
            &[
                ("timestamp", timestamp),
                ("nonce", nonce),
                ("signature", Value::from(signature)),
            ],
        );
        let value = self.render("the signature placement", &recipe.place.value, &scope)?;
        self.place(draft, recipe.place.location, &recipe.place.name, value)
    }

    /// `request` for a `template` string to sign.
    fn request_value(&self, draft: &Draft) -> Value {
        let pairs_map = |pairs: &[(String, String)]| -> Value {
            object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.clone()))),
            )
        };
        object([
            ("method".to_string(), Value::from(draft.method.as_str())),
            ("url".to_string(), Value::from(draft.url())),
            ("path".to_string(), Value::from(draft.path())),
            ("query".to_string(), pairs_map(&draft.query)),
            ("headers".to_string(), pairs_map(&draft.headers)),
            (
                "body".to_string(),
                Value::from(draft.body.as_ref().map(DraftBody::text).unwrap_or_default()),
            ),
        ])
    }
}

/// A minijinja error in one line, without the template source (which may
/// quote values).
fn describe(error: &minijinja::Error) -> String {
    let mut text = error
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| error.kind().to_string());
    if let Some(line) = error.line() {
        text.push_str(&format!(" (line {line})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_pair_replaces_first_and_drops_duplicates() {
        let mut pairs = vec![
            ("a".to_string(), "1".to_string()),
            ("A".into(), "2".into()),
            ("b".into(), "3".into()),
        ];
        set_pair(&mut pairs, "a", "x".into(), true);
        assert_eq!(
            pairs,
            vec![("a".to_string(), "x".to_string()), ("b".into(), "3".into())]
        );
        set_pair(&mut pairs, "c", "y".into(), false);
        assert_eq!(pairs.len(), 3);
    }
}

//! The connector model: what a spec means, as typed Rust data.
//!
//! A spec document is first checked against `schema/connector.schema.json`,
//! then deserialized into these types (with `deny_unknown_fields` everywhere,
//! so the schema and the model must agree — `tests/integration/schema_model.rs`
//! proves they do over every fixture). Semantic rules (`crate::rules`) then
//! run over the model.
//!
//! Names follow the platform (`app_id`, `is_end`, `user_input` = the
//! platform's `additional` flag); every template is a minijinja string.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The current (and only) version of the spec format.
pub const SPEC_VERSION: u32 = 1;

/// One connector: an app, how to authenticate, how to test a connection, and
/// its actions and triggers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connector {
    /// Version of the spec format; must be 1.
    pub spec_version: u32,
    pub app: App,
    pub auth: Auth,
    /// The connection test ("account check") and the connection label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<Connection>,
    /// Non-secret settings shared by all requests, readable as `config.*`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub config: IndexMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
}

impl Connector {
    /// Each action and trigger as `action <key>` / `trigger <key>`, in
    /// spec order (how `spec test` names what a case covers).
    pub fn operation_names(&self) -> Vec<String> {
        let actions = self.actions.iter().map(|a| format!("action {}", a.key));
        let triggers = self.triggers.iter().map(|t| format!("trigger {}", t.key));
        actions.chain(triggers).collect()
    }
}

/// Text shown to people: one string, or one string per language tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Text {
    Plain(String),
    /// Keyed by language tag (`en`, `zh`, `zh-TW`, ...), in spec order.
    Localized(Texts),
}

/// One text per language tag, in spec order: a few entries, so a list
/// searched in order rather than a hash map (a connector has thousands of
/// texts; hashing their tags was a sixth of reading the model).
#[derive(Debug, Clone, Default, Eq)]
pub struct Texts(Vec<(String, String)>);

impl Texts {
    pub fn with_capacity(capacity: usize) -> Texts {
        Texts(Vec::with_capacity(capacity))
    }

    /// Sets the text of `tag`, in place when it has one already (as a map
    /// does: the last of repeated tags wins, at the first one's place).
    pub fn insert(&mut self, tag: String, text: String) {
        match self.0.iter_mut().find(|(t, _)| *t == tag) {
            Some((_, slot)) => *slot = text,
            None => self.0.push((tag, text)),
        }
    }

    pub fn get(&self, tag: &str) -> Option<&String> {
        self.0.iter().find(|(t, _)| t == tag).map(|(_, text)| text)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &String)> + Clone {
        self.0.iter().map(|(tag, text)| (tag, text))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &String> + Clone {
        self.0.iter().map(|(tag, _)| tag)
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &String> + Clone {
        self.0.iter().map(|(_, text)| text)
    }
}

/// As maps compare: the same tags with the same texts, in any order.
impl PartialEq for Texts {
    fn eq(&self, other: &Texts) -> bool {
        self.len() == other.len() && self.iter().all(|(tag, text)| other.get(tag) == Some(text))
    }
}

impl<'a> IntoIterator for &'a Texts {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(tag, text)| (tag, text))
    }
}

impl Serialize for Texts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// By hand rather than `#[serde(untagged)]`: that buffers every value and
/// tries each variant in turn, and a connector has thousands of texts (it
/// was a quarter of deserializing the model).
impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        struct TextVisitor;
        impl<'de> serde::de::Visitor<'de> for TextVisitor {
            type Value = Text;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string, or a map of language tag to string")
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Text, E> {
                Ok(Text::Plain(s.to_string()))
            }

            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Text, E> {
                Ok(Text::Plain(s))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                let mut texts = Texts::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some((tag, text)) = map.next_entry::<String, String>()? {
                    texts.insert(tag, text);
                }
                Ok(Text::Localized(texts))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

impl Text {
    /// The text in `lang`, falling back to English, then to the first given.
    pub fn get(&self, lang: &str) -> &str {
        match self {
            Text::Plain(s) => s,
            Text::Localized(map) => map
                .get(lang)
                .or_else(|| map.get("en"))
                .or_else(|| map.values().next())
                .map(String::as_str)
                .unwrap_or(""),
        }
    }

    /// Every string in this text, for checks that scan all languages.
    pub fn all(&self) -> Vec<&str> {
        match self {
            Text::Plain(s) => vec![s.as_str()],
            Text::Localized(map) => map.values().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// The platform's reserved numeric app id.
    pub id: u64,
    /// Stable machine name: lowercase letters, digits and `_`.
    pub key: String,
    pub name: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    pub category: String,
    /// An https URL or a path relative to the spec file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Base URL that relative request paths are joined to (a template).
    pub base_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
}

// ---------------------------------------------------------------------------
// Auth

/// How requests authenticate, discriminated by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// No authentication. (A struct variant, so unknown keys are rejected.)
    None {},
    ApiKey(ApiKeyAuth),
    Basic(BasicAuth),
    Bearer(BearerAuth),
    Oauth2(OAuth2Auth),
    Session(SessionAuth),
    Signature(SignatureAuth),
}

impl Auth {
    pub fn kind(&self) -> &'static str {
        match self {
            Auth::None {} => "none",
            Auth::ApiKey(_) => "api_key",
            Auth::Basic(_) => "basic",
            Auth::Bearer(_) => "bearer",
            Auth::Oauth2(_) => "oauth2",
            Auth::Session(_) => "session",
            Auth::Signature(_) => "signature",
        }
    }

    /// The credential and setting fields the end user (or platform) enters.
    pub fn fields(&self) -> &[AuthField] {
        match self {
            Auth::None {} => &[],
            Auth::ApiKey(a) => &a.fields,
            Auth::Basic(a) => &a.fields,
            Auth::Bearer(a) => &a.fields,
            Auth::Oauth2(a) => &a.fields,
            Auth::Session(a) => &a.fields,
            Auth::Signature(a) => &a.fields,
        }
    }
}

/// A value the end user enters when connecting an account. Readable in
/// templates as `auth.<key>`. Secret fields are never written to generated
/// files, logs or errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthField {
    pub key: String,
    pub label: Text,
    /// Secret values (tokens, passwords, signing keys) are redacted everywhere.
    #[serde(default)]
    pub secret: bool,
    #[serde(default = "default_true")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Text>,
    /// A non-secret default, e.g. an OAuth tenant of `common`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<Text>,
}

fn default_true() -> bool {
    true
}

/// Where a rendered value goes in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    Header,
    Query,
    Body,
}

impl Location {
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Header => "header",
            Location::Query => "query",
            Location::Body => "body",
        }
    }
}

/// A named value placed into the request: `{in, name, value}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    #[serde(rename = "in")]
    pub location: Location,
    pub name: String,
    /// A template.
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyAuth {
    pub fields: Vec<AuthField>,
    /// Where the key goes, e.g. header `as-api-key: {{ auth.api_key }}`.
    pub place: Vec<Placement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub fields: Vec<AuthField>,
    /// Template for the user name, e.g. `{{ auth.username }}`.
    pub username: String,
    /// Template for the password, e.g. `{{ auth.password }}`.
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BearerAuth {
    pub fields: Vec<AuthField>,
    /// Template for the token, e.g. `{{ auth.token }}`; sent as
    /// `Authorization: Bearer <token>`.
    pub token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuth2Grant {
    AuthorizationCode,
    ClientCredentials,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// `client_id` / `client_secret` in the form body.
    #[default]
    Body,
    /// HTTP Basic with `client_id:client_secret`.
    Basic,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Auth {
    /// Platform-side values (client id and secret) and user settings
    /// (e.g. tenant), readable as `auth.*` in the URL templates.
    #[serde(default)]
    pub fields: Vec<AuthField>,
    pub grant: OAuth2Grant,
    /// Template for the client id, e.g. `{{ auth.client_id }}`.
    pub client_id: String,
    /// Template for the client secret, e.g. `{{ auth.client_secret }}`.
    pub client_secret: String,
    /// Required for `authorization_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    pub token_url: String,
    /// Defaults to `token_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_url: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Joins scopes in the authorize and token requests. Default: a space.
    #[serde(default = "default_scope_separator")]
    pub scope_separator: String,
    #[serde(default)]
    pub pkce: bool,
    /// The redirect URL registered with the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default)]
    pub client_auth: ClientAuthMethod,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub authorize_params: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub token_params: IndexMap<String, String>,
    /// What a rejected access token looks like. Default: HTTP 401.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expired: Option<TokenExpired>,
    /// Where the access token goes. Default: `Authorization: Bearer {{ auth.access_token }}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub place: Vec<Placement>,
}

fn default_scope_separator() -> String {
    " ".to_string()
}

/// Detects an expired or revoked access token in a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenExpired {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<u16>,
    /// An expression over `status`, `headers`, `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

/// A login request whose response yields a token reused until it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionAuth {
    pub fields: Vec<AuthField>,
    pub login: Request,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_response: Option<ResponseRule>,
    /// Expression over the login response selecting the token, e.g. `body.data.token`.
    pub token: String,
    /// Expression selecting the lifetime in seconds, e.g. `body.data.expires_in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
    /// Lifetime when the response does not say. Default: 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_seconds: Option<u64>,
    /// Where the token goes; templates read it as `session.token`.
    pub place: Vec<Placement>,
}

/// A declarative request-signing recipe. It runs last, after the request is
/// fully built, so it sees the final method, URL, query, headers and body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureAuth {
    pub fields: Vec<AuthField>,
    /// Values added to every request before signing (e.g. `app_key`,
    /// `timestamp`). Templates may read `timestamp` and `nonce`.
    #[serde(default)]
    pub params: Vec<Placement>,
    /// The clock value exposed as `timestamp`. Default: seconds.
    #[serde(default)]
    pub timestamp: TimestampUnit,
    /// The nonce exposed as `nonce`. Default: none.
    #[serde(default)]
    pub nonce: NonceKind,
    pub string_to_sign: StringToSign,
    pub algorithm: SignAlgorithm,
    /// Template for the key of `hmac-*` algorithms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default)]
    pub encoding: SignEncoding,
    /// Where the signature goes. `value` is a template reading `signature`.
    pub place: Placement,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampUnit {
    #[default]
    Seconds,
    Milliseconds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonceKind {
    #[default]
    None,
    Uuid,
}

/// What is hashed, discriminated by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StringToSign {
    /// Parameters of the final request, sorted and joined.
    SortedParams(SortedParams),
    /// A template over `request` (`method`, `url`, `path`, `query`,
    /// `headers`, `body`), `auth`, `timestamp` and `nonce`.
    Template { template: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortedParams {
    /// Which parameters: `query`, `body` (form fields) or `all`.
    pub from: ParamSource,
    /// Parameter names left out (the signature's own name, typically).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Leave out parameters whose value is empty.
    #[serde(default)]
    pub skip_empty: bool,
    /// Between a key and its value. Default: empty.
    #[serde(default)]
    pub key_value_separator: String,
    /// Between two pairs. Default: empty.
    #[serde(default)]
    pub pair_separator: String,
    /// Template put before the joined pairs (e.g. the app secret).
    #[serde(default)]
    pub prefix: String,
    /// Template put after the joined pairs.
    #[serde(default)]
    pub suffix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamSource {
    Query,
    Body,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignAlgorithm {
    #[serde(rename = "md5")]
    Md5,
    #[serde(rename = "sha1")]
    Sha1,
    #[serde(rename = "sha256")]
    Sha256,
    #[serde(rename = "hmac-sha1")]
    HmacSha1,
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
}

impl SignAlgorithm {
    pub fn is_hmac(self) -> bool {
        matches!(self, SignAlgorithm::HmacSha1 | SignAlgorithm::HmacSha256)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignEncoding {
    /// Lowercase hex.
    #[default]
    Hex,
    HexUpper,
    Base64,
}

// ---------------------------------------------------------------------------
// Connection test

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// The request that proves the credentials work.
    pub test: Request,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseRule>,
    /// Template naming the connected account, over the test response
    /// (`body`, `headers`) and `auth` (non-secret fields only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

// ---------------------------------------------------------------------------
// Requests and responses

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    #[default]
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// An HTTP request, every string a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Default: POST, the platform's convention.
    #[serde(default)]
    pub method: Method,
    /// Joined to `app.base_url`, or an absolute URL.
    pub path: String,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub query: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
}

/// A request body, discriminated by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    /// JSON. Strings in `content` are templates rendered as strings; an
    /// object `{"$expr": "..."}` is replaced by the expression's value with
    /// its own type (e.g. `{"$expr": "input.items"}` keeps a list a list).
    Json { content: serde_json::Value },
    /// `application/x-www-form-urlencoded`; each value a template.
    Form { fields: IndexMap<String, String> },
    /// Raw text, e.g. OneNote's HTML page.
    Raw {
        content_type: String,
        content: String,
    },
    /// `multipart/form-data`; each part a template.
    Multipart { parts: Vec<MultipartPart> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultipartPart {
    pub name: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// How to read a response: did it succeed, and what went wrong if not.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseRule {
    /// Accepted HTTP statuses. Default: any 2xx.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub success_status: Vec<u16>,
    /// An expression over `status`, `headers`, `body` that must be true,
    /// e.g. `body.code == 0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_when: Option<String>,
    /// Expression for the API's own error code, e.g. `body.code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Expression for the API's error message, e.g. `body.msg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Expression for a request id to quote in errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

// ---------------------------------------------------------------------------
// Actions and triggers

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// The platform's stable numeric action id.
    pub id: u64,
    pub key: String,
    pub name: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    /// May this action be the last step of a workflow? Stated explicitly.
    pub is_end: bool,
    /// May the interpreter retry this request after a failure? Default:
    /// true for GET/PUT/DELETE, false otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_safe: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input: Vec<Field>,
    pub request: Request,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseRule>,
    /// Expression over `body`, `headers`, `status` selecting the result.
    /// Default: `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<Field>,
    /// An example result, checked against `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<serde_json::Value>,
    /// Hand-written cases `spec test` runs offline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestCase>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    pub id: u64,
    pub key: String,
    pub name: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    /// A trigger starts a workflow; it is never its last step. Default: false.
    #[serde(default)]
    pub is_end: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input: Vec<Field>,
    pub request: Request,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseRule>,
    /// Expression over `body`, `headers` selecting the list of records.
    pub records: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    pub dedupe: Dedupe,
    /// How the API orders records, so new ones are emitted oldest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
    /// A value carried from poll to poll (e.g. Jushuitan's `start_ts`),
    /// readable as `state.cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<PollCursor>,
    pub output: Vec<Field>,
    /// One example record, required, checked against `output`.
    pub sample: serde_json::Value,
    /// Hand-written cases `spec test` runs offline (one poll each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestCase>,
}

// ---------------------------------------------------------------------------
// Hand-written test cases

/// One hand-written `spec test` case of an action or trigger: the input,
/// the API's answers in order, and the expected output or error. Replayed
/// offline with fake credentials and a fixed clock, like a recorded case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// Names the case in reports; unique within its action or trigger.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The action's (or trigger's) input. Default: `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
    /// Fake credential values by auth field (default: `fake-<field>`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub credentials: IndexMap<String, String>,
    /// The fixed clock, Unix seconds (default 2024-01-02T03:04:05Z).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<i64>,
    /// The API's answers, one per request, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<MockResponse>,
    /// The expected result (a trigger: the list of records emitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
    /// The expected failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ExpectedError>,
}

/// One mocked answer, optionally with what the request it answers must
/// look like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockResponse {
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// A string is sent as is; anything else as JSON.
    #[serde(default)]
    pub body: serde_json::Value,
    /// Checks on the request this response answers; only what is given is
    /// compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<ExpectedRequest>,
}

fn default_status() -> u16 {
    200
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// The whole URL, query included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Exactly these headers (names in lowercase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<IndexMap<String, String>>,
    /// A JSON body as JSON; any other body as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    pub kind: ErrorKind,
    /// The whole message; `{{ volatile }}` stands for any text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The API's own error code (Tushare's `2002`), as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The HTTP status of the failed response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Lines the error must list (an input error lists each problem);
    /// `{{ volatile }}` stands for any text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// What kind of failure a case expects (the exit code's meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Input,
    Auth,
    Api,
    Network,
    Output,
}

/// Pagination, discriminated by `type`. Templates read `page.*`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// `page.number` counts from `start`; `page.size` is `size`.
    PageNumber {
        #[serde(default = "default_one")]
        start: u64,
        size: u64,
        /// Expression: is there another page? Default: a full page came back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        has_more: Option<String>,
        #[serde(default = "default_max_pages")]
        max_pages: u64,
    },
    /// `page.offset` and `page.limit`.
    Offset {
        limit: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        has_more: Option<String>,
        #[serde(default = "default_max_pages")]
        max_pages: u64,
    },
    /// `page.cursor` is taken from each response by `next_cursor`.
    Cursor {
        next_cursor: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        has_more: Option<String>,
        #[serde(default = "default_max_pages")]
        max_pages: u64,
    },
    /// The next page's URL is in the body (e.g. `body['@odata.nextLink']`),
    /// followed verbatim.
    NextLink {
        next_url: String,
        #[serde(default = "default_max_pages")]
        max_pages: u64,
    },
    /// The next page's URL is the `Link` header's `rel="next"`, followed
    /// verbatim (Shopify, json-server).
    LinkHeader {
        #[serde(default = "default_max_pages")]
        max_pages: u64,
    },
}

fn default_one() -> u64 {
    1
}

fn default_max_pages() -> u64 {
    100
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dedupe {
    /// Output field paths (dotted) that together identify a record version.
    pub key: Vec<String>,
    /// How many seen keys to remember. Default: 10000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// Output field path the API sorts by.
    pub by: String,
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollCursor {
    /// Output field path whose greatest value becomes `state.cursor`.
    pub field: String,
    /// `state.cursor` on the very first poll (a template), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<String>,
}

// ---------------------------------------------------------------------------
// Fields

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Text,
    Integer,
    Number,
    Boolean,
    Date,
    Datetime,
    File,
    Object,
    Group,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::File => "file",
            FieldType::Object => "object",
            FieldType::Group => "group",
        }
    }
}

/// An input or output field. A `group` holds `fields` again, nests to any
/// depth, and with `multiple: true` is a list of objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub required: bool,
    /// Required when another field at the same level has a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_if: Option<RequiredIf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<Text>,
    /// A list of values (or, for a group, a list of objects).
    #[serde(default)]
    pub multiple: bool,
    /// Static dropdown choices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// Dropdown choices taken from another action's or trigger's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_choices: Option<DynamicChoices>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Constraints>,
    /// Trigger fields the end user fills in (the platform's `additional`).
    #[serde(default)]
    pub user_input: bool,
    /// Sub-fields of a `group`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Field>,
}

impl Field {
    pub fn is_dropdown(&self) -> bool {
        !self.choices.is_empty() || self.dynamic_choices.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredIf {
    /// Key of a sibling field.
    pub field: String,
    /// Required only when the sibling equals this; otherwise when it has
    /// any non-empty value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// The value sent to the API (string or number).
    pub key: serde_json::Value,
    pub label: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamicChoices {
    /// Key of an action or trigger of the same connector.
    pub from: String,
    /// Output field path giving each choice's value.
    pub value: String,
    /// Output field path giving each choice's label.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// A regular expression the whole value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// Shown to the user when a constraint fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Text>,
}

/// Template variable names by context, shared by validation and runtime.
pub mod vars {
    /// Available to every request template.
    pub const REQUEST: &[&str] = &["input", "auth", "config", "now", "app"];
    /// Available to response expressions.
    pub const RESPONSE: &[&str] = &["status", "headers", "body", "input", "config"];
}

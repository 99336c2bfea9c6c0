//! What the templates see: the connector model reshaped for reading.
//!
//! The templates stay simple (and overridable) because the decisions are
//! made here, once, in Rust: full request URLs, field paths and anchors,
//! constraints in words, pretty-printed samples, the example `spec exec`
//! command, which auth field defaults may be shown (never a secret's).
//! Texts stay [`Text`]s (a string or one per language); the `t` filter
//! renders them.

use indexmap::IndexMap;
use serde::Serialize;

use super::changelog::Release;
use super::fields::{self, Place, Words, both, display_json};
use super::text::{anchor, same_tag};
use crate::model::{
    self, Action, Auth, Body, ClientAuthMethod, Connector, Field, FieldType, OAuth2Grant,
    Pagination, Placement, Request, ResponseRule, StringToSign, Text, Trigger,
};

/// A connector's page.
#[derive(Debug, Serialize)]
pub struct ConnectorView<'a> {
    pub id: u64,
    pub key: &'a str,
    pub name: &'a Text,
    pub description: Option<&'a Text>,
    pub category: &'a str,
    /// Only an https URL: a relative icon path points into the spec
    /// directory, which the site does not contain.
    pub icon: Option<&'a str>,
    pub base_url: &'a str,
    pub homepage: Option<&'a str>,
    pub docs_url: Option<&'a str>,
    /// Language tags the spec's texts use, `en` first.
    pub languages: Vec<String>,
    pub auth: AuthView<'a>,
    pub connection: Option<ConnectionView<'a>>,
    pub config: Vec<(&'a str, String)>,
    pub actions: Vec<OperationView<'a>>,
    pub triggers: Vec<OperationView<'a>>,
    pub changelog: Vec<Release>,
}

/// A connector on the index: what its card shows and what search matches.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub id: u64,
    pub key: String,
    pub name: Text,
    pub description: Option<Text>,
    pub category: String,
    pub auth_type: &'static str,
    pub actions: usize,
    pub triggers: usize,
    /// Every name, key and description in every language, lowercase.
    pub search: String,
}

#[derive(Debug, Serialize)]
pub struct AuthView<'a> {
    /// `api_key`, `oauth2`, ...
    pub kind: &'static str,
    pub fields: Vec<AuthFieldView<'a>>,
    /// Where the credentials go (api_key, oauth2, session).
    pub place: Vec<PlacementView<'a>>,
    pub bearer_token: Option<&'a str>,
    pub basic: Option<(&'a str, &'a str)>,
    pub oauth2: Option<OAuthView<'a>>,
    pub session: Option<SessionView<'a>>,
    pub signature: Option<SignatureView<'a>>,
}

#[derive(Debug, Serialize)]
pub struct AuthFieldView<'a> {
    pub key: &'a str,
    pub anchor: String,
    pub label: &'a Text,
    pub secret: bool,
    pub required: bool,
    pub help: Option<&'a Text>,
    /// Never set for a secret field.
    pub default: Option<&'a str>,
    pub placeholder: Option<&'a Text>,
}

#[derive(Debug, Serialize)]
pub struct PlacementView<'a> {
    /// `header`, `query` or `body`.
    pub location: &'static str,
    pub name: &'a str,
    pub value: &'a str,
}

#[derive(Debug, Serialize)]
pub struct OAuthView<'a> {
    /// `authorization_code` or `client_credentials`.
    pub grant: &'static str,
    pub authorize_url: Option<&'a str>,
    pub token_url: &'a str,
    pub refresh_url: Option<&'a str>,
    pub scopes: &'a [String],
    pub scope_separator: &'a str,
    pub pkce: bool,
    pub redirect_uri: Option<&'a str>,
    /// `body` or `basic`.
    pub client_auth: &'static str,
    pub authorize_params: Vec<(&'a str, &'a str)>,
    pub token_params: Vec<(&'a str, &'a str)>,
    pub token_expired_status: Vec<u16>,
    pub token_expired_when: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct SessionView<'a> {
    pub login: RequestView<'a>,
    pub login_response: Option<ResponseView<'a>>,
    pub token: &'a str,
    pub expires_in: Option<&'a str>,
    pub lifetime_seconds: u64,
}

#[derive(Debug, Serialize)]
pub struct SignatureView<'a> {
    pub params: Vec<PlacementView<'a>>,
    /// `seconds` or `milliseconds`.
    pub timestamp: &'static str,
    /// `none` or `uuid`.
    pub nonce: &'static str,
    /// In words, e.g. "the body parameters sorted by name, ...".
    pub string_to_sign: Text,
    /// The template, for `type: template`.
    pub string_to_sign_template: Option<&'a str>,
    pub algorithm: &'static str,
    pub key: Option<&'a str>,
    /// `hex`, `hex_upper` or `base64`.
    pub encoding: &'static str,
    pub place: PlacementView<'a>,
}

#[derive(Debug, Serialize)]
pub struct ConnectionView<'a> {
    pub request: RequestView<'a>,
    pub response: Option<ResponseView<'a>>,
    pub label: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct RequestView<'a> {
    pub method: &'static str,
    pub path: &'a str,
    /// `base_url` joined with `path` (both may hold templates).
    pub url: String,
    pub query: Vec<(&'a str, &'a str)>,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: Option<BodyView<'a>>,
}

#[derive(Debug, Serialize)]
pub struct BodyView<'a> {
    /// `json`, `form`, `raw` or `multipart`.
    pub kind: &'static str,
    pub content_type: &'a str,
    /// Form fields or multipart parts, with their templates.
    pub fields: Vec<(&'a str, &'a str)>,
    /// A JSON body pretty-printed, or a raw body as written.
    pub content: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ResponseView<'a> {
    pub success_status: &'a [u16],
    pub success_when: Option<&'a str>,
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

/// An action or a trigger.
#[derive(Debug, Serialize)]
pub struct OperationView<'a> {
    /// `action` or `trigger`.
    pub kind: &'static str,
    pub id: u64,
    pub key: &'a str,
    pub anchor: String,
    pub name: &'a Text,
    pub description: Option<&'a Text>,
    pub is_end: bool,
    /// Whether the interpreter retries it (the spec's value or the
    /// method's default); `None` for triggers.
    pub retry_safe: Option<bool>,
    pub request: RequestView<'a>,
    pub response: Option<ResponseView<'a>>,
    /// Action: the result expression (default `body`).
    pub result: Option<&'a str>,
    /// Trigger: the records expression.
    pub records: Option<&'a str>,
    pub pagination: Option<PaginationView<'a>>,
    pub dedupe: Vec<&'a str>,
    pub dedupe_window: Option<u64>,
    /// `(field, "asc" | "desc")`.
    pub order: Option<(&'a str, &'static str)>,
    /// `(field, initial template)`.
    pub cursor: Option<(&'a str, Option<&'a str>)>,
    /// The input fields as an HTML table (empty when there are none).
    pub input_table: String,
    /// The output fields as an HTML table (empty when there are none).
    pub output_table: String,
    /// The same tables in Markdown.
    pub input_md: String,
    pub output_md: String,
    /// The fields as data, for templates that render their own tables:
    /// present when the project overrides templates (building them for
    /// every page otherwise would only cost time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Vec<FieldView<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Vec<FieldView<'a>>>,
    pub sample: Option<String>,
    /// `spec exec ...` with the required inputs.
    pub example: String,
}

#[derive(Debug, Serialize)]
pub struct PaginationView<'a> {
    /// `page_number`, `offset`, `cursor`, `next_link` or `link_header`.
    pub kind: &'static str,
    /// The settings as `(name, value)`.
    pub settings: Vec<(&'static str, String)>,
    /// An expression, where the kind has one.
    pub expressions: Vec<(&'static str, &'a str)>,
}

#[derive(Debug, Serialize)]
pub struct FieldView<'a> {
    pub key: &'a str,
    /// Dotted from the action's root, e.g. `items.sku_id`.
    pub path: String,
    pub anchor: String,
    pub label: Option<&'a Text>,
    #[serde(rename = "type")]
    pub field_type: &'static str,
    pub multiple: bool,
    pub required: bool,
    pub required_if: Option<Text>,
    /// Compact JSON, or the string itself.
    pub default: Option<String>,
    pub help: Option<&'a Text>,
    pub placeholder: Option<&'a Text>,
    pub choices: Vec<ChoiceView<'a>>,
    pub dynamic_choices: Option<DynamicChoicesView<'a>>,
    pub constraints: Vec<Text>,
    pub constraint_message: Option<&'a Text>,
    pub user_input: bool,
    pub fields: Vec<FieldView<'a>>,
}

#[derive(Debug, Serialize)]
pub struct ChoiceView<'a> {
    pub key: String,
    pub label: &'a Text,
}

#[derive(Debug, Serialize)]
pub struct DynamicChoicesView<'a> {
    pub from: &'a str,
    /// The anchor of the action or trigger the choices come from.
    pub anchor: Option<String>,
    pub value: &'a str,
    pub label: &'a str,
}

/// Language tags used anywhere in `connector`, in first-seen order.
pub fn languages(connector: &Connector, out: &mut Vec<String>) {
    let mut add = |text: Option<&Text>| {
        if let Some(Text::Localized(map)) = text {
            for lang in map.keys() {
                if !out.iter().any(|l| same_tag(l, lang)) {
                    out.push(lang.clone());
                }
            }
        }
    };
    add(Some(&connector.app.name));
    add(connector.app.description.as_ref());
    for field in connector.auth.fields() {
        add(Some(&field.label));
        add(field.help.as_ref());
        add(field.placeholder.as_ref());
    }
    fn fields<'f>(list: &'f [Field], add: &mut dyn FnMut(Option<&'f Text>)) {
        for f in list {
            add(f.label.as_ref());
            add(f.help.as_ref());
            add(f.placeholder.as_ref());
            add(f.constraints.as_ref().and_then(|c| c.message.as_ref()));
            for choice in &f.choices {
                add(Some(&choice.label));
            }
            fields(&f.fields, add);
        }
    }
    for a in &connector.actions {
        add(Some(&a.name));
        add(a.description.as_ref());
        fields(&a.input, &mut add);
        fields(&a.output, &mut add);
    }
    for t in &connector.triggers {
        add(Some(&t.name));
        add(t.description.as_ref());
        fields(&t.input, &mut add);
        fields(&t.output, &mut add);
    }
}

/// `en` first, then the others sorted: a stable order whatever the specs'.
pub fn sort_languages(languages: &mut Vec<String>) {
    languages.sort_by(|a, b| (a != "en", a).cmp(&(b != "en", b)));
    languages.dedup();
}

/// Owned: a streamed build keeps the summaries of every connector, and only
/// them, for the index.
pub fn summary(connector: &Connector) -> Summary {
    let app = &connector.app;
    let mut search = String::new();
    let mut push = |s: &str| {
        search.push_str(&s.to_lowercase());
        search.push(' ');
    };
    push(&app.key);
    for s in app.name.all() {
        push(s);
    }
    if let Some(d) = &app.description {
        for s in d.all() {
            push(s);
        }
    }
    push(&app.category);
    for (key, name) in connector
        .actions
        .iter()
        .map(|a| (&a.key, &a.name))
        .chain(connector.triggers.iter().map(|t| (&t.key, &t.name)))
    {
        push(key);
        for s in name.all() {
            push(s);
        }
    }
    search.pop();
    Summary {
        id: app.id,
        key: app.key.clone(),
        name: app.name.clone(),
        description: app.description.clone(),
        category: app.category.clone(),
        auth_type: connector.auth.kind(),
        actions: connector.actions.len(),
        triggers: connector.triggers.len(),
        search,
    }
}

/// How a page is built: the words of the page chrome, and whether the
/// templates need the fields as data.
pub struct Options<'w> {
    pub words: &'w Words,
    pub structured: bool,
}

pub fn connector<'a>(
    connector: &'a Connector,
    changelog: Vec<Release>,
    options: &Options<'_>,
) -> ConnectorView<'a> {
    let app = &connector.app;
    let mut langs = Vec::new();
    languages(connector, &mut langs);
    sort_languages(&mut langs);
    let keys: Vec<(&str, String)> = connector
        .actions
        .iter()
        .map(|a| (a.key.as_str(), op_anchor("action", &a.key)))
        .chain(
            connector
                .triggers
                .iter()
                .map(|t| (t.key.as_str(), op_anchor("trigger", &t.key))),
        )
        .collect();
    ConnectorView {
        id: app.id,
        key: &app.key,
        name: &app.name,
        description: app.description.as_ref(),
        category: &app.category,
        icon: app.icon.as_deref().filter(|i| i.starts_with("https://")),
        base_url: &app.base_url,
        homepage: app.homepage.as_deref(),
        docs_url: app.docs_url.as_deref(),
        languages: langs,
        auth: auth(&connector.auth, &app.base_url),
        connection: connector.connection.as_ref().map(|c| ConnectionView {
            request: request(&c.test, &app.base_url),
            response: c.response.as_ref().map(response),
            label: c.label.as_deref(),
        }),
        config: connector
            .config
            .iter()
            .map(|(k, v)| (k.as_str(), display_json(v)))
            .collect(),
        actions: connector
            .actions
            .iter()
            .map(|a| action(a, &app.key, &app.base_url, &keys, options))
            .collect(),
        triggers: connector
            .triggers
            .iter()
            .map(|t| trigger(t, &app.key, &app.base_url, &keys, options))
            .collect(),
        changelog,
    }
}

fn placement(p: &Placement) -> PlacementView<'_> {
    PlacementView {
        location: p.location.as_str(),
        name: &p.name,
        value: &p.value,
    }
}

fn auth<'a>(auth: &'a Auth, base_url: &str) -> AuthView<'a> {
    let mut view = AuthView {
        kind: auth.kind(),
        fields: auth
            .fields()
            .iter()
            .map(|f| AuthFieldView {
                key: &f.key,
                anchor: anchor(&["auth", &f.key]),
                label: &f.label,
                secret: f.secret,
                required: f.required,
                help: f.help.as_ref(),
                // A secret never reaches a page, not even a default.
                default: if f.secret { None } else { f.default.as_deref() },
                placeholder: if f.secret {
                    None
                } else {
                    f.placeholder.as_ref()
                },
            })
            .collect(),
        place: Vec::new(),
        bearer_token: None,
        basic: None,
        oauth2: None,
        session: None,
        signature: None,
    };
    match auth {
        Auth::None {} => {}
        Auth::ApiKey(a) => view.place = a.place.iter().map(placement).collect(),
        Auth::Bearer(a) => view.bearer_token = Some(&a.token),
        Auth::Basic(a) => view.basic = Some((&a.username, &a.password)),
        Auth::Oauth2(a) => {
            view.place = a.place.iter().map(placement).collect();
            view.oauth2 = Some(OAuthView {
                grant: match a.grant {
                    OAuth2Grant::AuthorizationCode => "authorization_code",
                    OAuth2Grant::ClientCredentials => "client_credentials",
                },
                authorize_url: a.authorize_url.as_deref(),
                token_url: &a.token_url,
                refresh_url: a.refresh_url.as_deref(),
                scopes: &a.scopes,
                scope_separator: &a.scope_separator,
                pkce: a.pkce,
                redirect_uri: a.redirect_uri.as_deref(),
                client_auth: match a.client_auth {
                    ClientAuthMethod::Body => "body",
                    ClientAuthMethod::Basic => "basic",
                },
                authorize_params: pairs(&a.authorize_params),
                token_params: pairs(&a.token_params),
                token_expired_status: a
                    .token_expired
                    .as_ref()
                    .map(|t| t.status.clone())
                    .unwrap_or_default(),
                token_expired_when: a.token_expired.as_ref().and_then(|t| t.when.as_deref()),
            });
        }
        Auth::Session(a) => {
            view.place = a.place.iter().map(placement).collect();
            view.session = Some(SessionView {
                login: request(&a.login, base_url),
                login_response: a.login_response.as_ref().map(response),
                token: &a.token,
                expires_in: a.expires_in.as_deref(),
                lifetime_seconds: a.lifetime_seconds.unwrap_or(3600),
            });
        }
        Auth::Signature(a) => {
            let (words, template) = match &a.string_to_sign {
                StringToSign::SortedParams(p) => (sorted_params_words(p), None),
                StringToSign::Template { template } => (
                    both(
                        "a template (below)".to_string(),
                        "由模板生成（见下）".to_string(),
                    ),
                    Some(template.as_str()),
                ),
            };
            view.signature = Some(SignatureView {
                params: a.params.iter().map(placement).collect(),
                timestamp: match a.timestamp {
                    model::TimestampUnit::Seconds => "seconds",
                    model::TimestampUnit::Milliseconds => "milliseconds",
                },
                nonce: match a.nonce {
                    model::NonceKind::None => "none",
                    model::NonceKind::Uuid => "uuid",
                },
                string_to_sign: words,
                string_to_sign_template: template,
                algorithm: match a.algorithm {
                    model::SignAlgorithm::Md5 => "md5",
                    model::SignAlgorithm::Sha1 => "sha1",
                    model::SignAlgorithm::Sha256 => "sha256",
                    model::SignAlgorithm::HmacSha1 => "hmac-sha1",
                    model::SignAlgorithm::HmacSha256 => "hmac-sha256",
                },
                key: a.key.as_deref(),
                encoding: match a.encoding {
                    model::SignEncoding::Hex => "hex",
                    model::SignEncoding::HexUpper => "hex_upper",
                    model::SignEncoding::Base64 => "base64",
                },
                place: placement(&a.place),
            });
        }
    }
    view
}

fn sorted_params_words(p: &model::SortedParams) -> Text {
    let (from_en, from_zh) = match p.from {
        model::ParamSource::Query => ("query", "查询"),
        model::ParamSource::Body => ("body", "请求体"),
        model::ParamSource::All => ("query and body", "查询与请求体"),
    };
    let quote = |s: &str| format!("`{}`", s.replace('`', "'"));
    let mut en = format!("The {from_en} parameters sorted by name");
    let mut zh = format!("{from_zh}参数按名称排序");
    if !p.exclude.is_empty() {
        let list = p
            .exclude
            .iter()
            .map(|e| quote(e))
            .collect::<Vec<_>>()
            .join(", ");
        en.push_str(&format!(", without {list}"));
        zh.push_str(&format!("，不含 {list}"));
    }
    if p.skip_empty {
        en.push_str(", empty values left out");
        zh.push_str("，忽略空值");
    }
    let sep = |s: &str| {
        if s.is_empty() {
            "nothing".to_string()
        } else {
            quote(s)
        }
    };
    let sep_zh = |s: &str| {
        if s.is_empty() {
            "无分隔".to_string()
        } else {
            quote(s)
        }
    };
    en.push_str(&format!(
        ", each as name + {} + value, joined by {}",
        sep(&p.key_value_separator),
        sep(&p.pair_separator)
    ));
    zh.push_str(&format!(
        "，每项为 名称 + {} + 值，以 {} 连接",
        sep_zh(&p.key_value_separator),
        sep_zh(&p.pair_separator)
    ));
    if !p.prefix.is_empty() {
        en.push_str(&format!(", after {}", quote(&p.prefix)));
        zh.push_str(&format!("，前加 {}", quote(&p.prefix)));
    }
    if !p.suffix.is_empty() {
        en.push_str(&format!(", before {}", quote(&p.suffix)));
        zh.push_str(&format!("，后加 {}", quote(&p.suffix)));
    }
    en.push('.');
    zh.push('。');
    both(en, zh)
}

fn pairs(map: &IndexMap<String, String>) -> Vec<(&str, &str)> {
    map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// `base_url` and a relative `path` joined with one `/`; an absolute path
/// as it is.
pub fn join_url(base_url: &str, path: &str) -> String {
    if path.starts_with("https://") || path.starts_with("http://") || path.starts_with("{{") {
        return path.to_string();
    }
    format!(
        "{}/{}",
        base_url.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

fn request<'a>(r: &'a Request, base_url: &str) -> RequestView<'a> {
    RequestView {
        method: r.method.as_str(),
        path: &r.path,
        url: join_url(base_url, &r.path),
        query: pairs(&r.query),
        headers: pairs(&r.headers),
        body: r.body.as_ref().map(|b| match b {
            Body::Json { content } => BodyView {
                kind: "json",
                content_type: "application/json",
                fields: Vec::new(),
                content: Some(serde_json::to_string_pretty(content).unwrap_or_default()),
            },
            Body::Form { fields } => BodyView {
                kind: "form",
                content_type: "application/x-www-form-urlencoded",
                fields: pairs(fields),
                content: None,
            },
            Body::Raw {
                content_type,
                content,
            } => BodyView {
                kind: "raw",
                content_type,
                fields: Vec::new(),
                content: Some(content.clone()),
            },
            Body::Multipart { parts } => BodyView {
                kind: "multipart",
                content_type: "multipart/form-data",
                fields: parts
                    .iter()
                    .map(|p| (p.name.as_str(), p.content.as_str()))
                    .collect(),
                content: None,
            },
        }),
    }
}

fn response(r: &ResponseRule) -> ResponseView<'_> {
    ResponseView {
        success_status: &r.success_status,
        success_when: r.success_when.as_deref(),
        error_code: r.error_code.as_deref(),
        error_message: r.error_message.as_deref(),
        request_id: r.request_id.as_deref(),
    }
}

fn op_anchor(kind: &str, key: &str) -> String {
    anchor(&[kind, key])
}

/// The field tables and, when asked, the fields as data.
struct Tables<'a> {
    input_table: String,
    output_table: String,
    input_md: String,
    output_md: String,
    input: Option<Vec<FieldView<'a>>>,
    output: Option<Vec<FieldView<'a>>>,
}

fn tables<'a>(
    input: &'a [Field],
    output: &'a [Field],
    anchor: &str,
    keys: &[(&str, String)],
    options: &Options<'_>,
) -> Tables<'a> {
    let mut t = Tables {
        input_table: String::new(),
        output_table: String::new(),
        input_md: String::new(),
        output_md: String::new(),
        input: None,
        output: None,
    };
    let in_prefix = format!("{anchor}-input");
    let out_prefix = format!("{anchor}-output");
    if !input.is_empty() {
        let place = Place {
            prefix: &in_prefix,
            operations: keys,
        };
        fields::html_table(input, &place, options.words, &mut t.input_table);
        fields::md_table(input, &mut t.input_md);
    }
    if !output.is_empty() {
        let place = Place {
            prefix: &out_prefix,
            operations: keys,
        };
        fields::html_table(output, &place, options.words, &mut t.output_table);
        fields::md_table(output, &mut t.output_md);
    }
    for md in [&mut t.input_md, &mut t.output_md] {
        md.truncate(md.trim_end().len());
    }
    if options.structured {
        t.input = Some(field_views(input, "", &in_prefix, keys));
        t.output = Some(field_views(output, "", &out_prefix, keys));
    }
    t
}

fn action<'a>(
    a: &'a Action,
    app_key: &str,
    base_url: &str,
    keys: &[(&str, String)],
    options: &Options<'_>,
) -> OperationView<'a> {
    let anchor = op_anchor("action", &a.key);
    let t = tables(&a.input, &a.output, &anchor, keys, options);
    let retry_default = matches!(
        a.request.method,
        model::Method::Get | model::Method::Put | model::Method::Delete
    );
    OperationView {
        kind: "action",
        id: a.id,
        key: &a.key,
        name: &a.name,
        description: a.description.as_ref(),
        is_end: a.is_end,
        retry_safe: Some(a.retry_safe.unwrap_or(retry_default)),
        request: request(&a.request, base_url),
        response: a.response.as_ref().map(response),
        result: Some(a.result.as_deref().unwrap_or("body")),
        records: None,
        pagination: None,
        dedupe: Vec::new(),
        dedupe_window: None,
        order: None,
        cursor: None,
        input_table: t.input_table,
        output_table: t.output_table,
        input_md: t.input_md,
        output_md: t.output_md,
        input: t.input,
        output: t.output,
        sample: a
            .sample
            .as_ref()
            .map(|s| serde_json::to_string_pretty(s).unwrap_or_default()),
        example: example_command("action", app_key, &a.key, &a.input),
        anchor,
    }
}

fn trigger<'a>(
    t: &'a Trigger,
    app_key: &str,
    base_url: &str,
    keys: &[(&str, String)],
    options: &Options<'_>,
) -> OperationView<'a> {
    let anchor = op_anchor("trigger", &t.key);
    let tables = tables(&t.input, &t.output, &anchor, keys, options);
    OperationView {
        kind: "trigger",
        id: t.id,
        key: &t.key,
        name: &t.name,
        description: t.description.as_ref(),
        is_end: false,
        retry_safe: None,
        request: request(&t.request, base_url),
        response: t.response.as_ref().map(response),
        result: None,
        records: Some(&t.records),
        pagination: t.pagination.as_ref().map(pagination),
        dedupe: t.dedupe.key.iter().map(String::as_str).collect(),
        dedupe_window: t.dedupe.window,
        order: t.order.as_ref().map(|o| {
            (
                o.by.as_str(),
                match o.direction {
                    model::Direction::Asc => "asc",
                    model::Direction::Desc => "desc",
                },
            )
        }),
        cursor: t
            .cursor
            .as_ref()
            .map(|c| (c.field.as_str(), c.initial.as_deref())),
        input_table: tables.input_table,
        output_table: tables.output_table,
        input_md: tables.input_md,
        output_md: tables.output_md,
        input: tables.input,
        output: tables.output,
        sample: Some(serde_json::to_string_pretty(&t.sample).unwrap_or_default()),
        example: example_command("trigger", app_key, &t.key, &t.input),
        anchor,
    }
}

fn pagination(p: &Pagination) -> PaginationView<'_> {
    let mut settings = Vec::new();
    let mut expressions = Vec::new();
    let kind = match p {
        Pagination::PageNumber {
            start,
            size,
            has_more,
            max_pages,
        } => {
            settings.push(("start", start.to_string()));
            settings.push(("size", size.to_string()));
            settings.push(("max_pages", max_pages.to_string()));
            if let Some(h) = has_more {
                expressions.push(("has_more", h.as_str()));
            }
            "page_number"
        }
        Pagination::Offset {
            limit,
            has_more,
            max_pages,
        } => {
            settings.push(("limit", limit.to_string()));
            settings.push(("max_pages", max_pages.to_string()));
            if let Some(h) = has_more {
                expressions.push(("has_more", h.as_str()));
            }
            "offset"
        }
        Pagination::Cursor {
            next_cursor,
            has_more,
            max_pages,
        } => {
            settings.push(("max_pages", max_pages.to_string()));
            expressions.push(("next_cursor", next_cursor.as_str()));
            if let Some(h) = has_more {
                expressions.push(("has_more", h.as_str()));
            }
            "cursor"
        }
        Pagination::NextLink {
            next_url,
            max_pages,
        } => {
            settings.push(("max_pages", max_pages.to_string()));
            expressions.push(("next_url", next_url.as_str()));
            "next_link"
        }
        Pagination::LinkHeader { max_pages } => {
            settings.push(("max_pages", max_pages.to_string()));
            "link_header"
        }
    };
    PaginationView {
        kind,
        settings,
        expressions,
    }
}

fn field_views<'a>(
    list: &'a [Field],
    parent: &str,
    prefix: &str,
    keys: &[(&str, String)],
) -> Vec<FieldView<'a>> {
    list.iter()
        .map(|f| {
            let path = if parent.is_empty() {
                f.key.clone()
            } else {
                format!("{parent}.{}", f.key)
            };
            FieldView {
                key: &f.key,
                anchor: format!("{prefix}-{}", anchor(&[&path])),
                label: f.label.as_ref(),
                field_type: f.field_type.as_str(),
                multiple: f.multiple,
                required: f.required,
                required_if: f.required_if.as_ref().map(fields::required_if),
                default: f.default.as_ref().map(display_json),
                help: f.help.as_ref(),
                placeholder: f.placeholder.as_ref(),
                choices: f
                    .choices
                    .iter()
                    .map(|c| ChoiceView {
                        key: display_json(&c.key),
                        label: &c.label,
                    })
                    .collect(),
                dynamic_choices: f.dynamic_choices.as_ref().map(|d| DynamicChoicesView {
                    from: &d.from,
                    anchor: keys
                        .iter()
                        .find(|(k, _)| *k == d.from)
                        .map(|(_, anchor)| anchor.clone()),
                    value: &d.value,
                    label: &d.label,
                }),
                constraints: f
                    .constraints
                    .as_ref()
                    .map(fields::constraints)
                    .unwrap_or_default(),
                constraint_message: f.constraints.as_ref().and_then(|c| c.message.as_ref()),
                user_input: f.user_input,
                fields: field_views(&f.fields, &path, prefix, keys),
                path,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The example command

/// `spec exec <kind> <app> <key> -i path=value ...` with the required
/// inputs (or, when nothing is required, the first one), shell-quoted.
pub fn example_command(kind: &str, app: &str, key: &str, input: &[Field]) -> String {
    let mut args = Vec::new();
    example_args(input, "", &mut args);
    if args.is_empty()
        && let Some(first) = input.iter().find(|f| f.field_type != FieldType::Group)
    {
        example_field(first, "", true, &mut args);
    }
    let mut command = format!("spec exec {kind} {app} {key}");
    for arg in args {
        command.push_str(" \\\n    -i ");
        command.push_str(&shell_quote(&arg));
    }
    command
}

fn example_args(fields: &[Field], prefix: &str, out: &mut Vec<String>) {
    for f in fields.iter().filter(|f| f.required) {
        example_field(f, prefix, false, out);
    }
}

fn example_field(f: &Field, prefix: &str, force: bool, out: &mut Vec<String>) {
    let path = format!("{prefix}{}", f.key);
    if f.field_type == FieldType::Group {
        let inner = if f.multiple {
            format!("{path}[0].")
        } else {
            format!("{path}.")
        };
        example_args(&f.fields, &inner, out);
        return;
    }
    // A required field with a default need not be given.
    if f.default.is_some() && !force {
        return;
    }
    // Free-form JSON is never typed from text: it takes `:=` and JSON.
    if f.field_type == FieldType::Object {
        let json = f
            .default
            .as_ref()
            .map(|d| serde_json::to_string(d).unwrap_or_else(|_| "{}".into()))
            .unwrap_or_else(|| "{}".into());
        out.push(format!("{path}:={json}"));
        return;
    }
    let value = example_value(f);
    if f.multiple {
        out.push(format!("{path}[0]={value}"));
    } else {
        out.push(format!("{path}={value}"));
    }
}

fn example_value(f: &Field) -> String {
    if let Some(default) = &f.default {
        return display_json(default);
    }
    if let Some(choice) = f.choices.first() {
        return display_json(&choice.key);
    }
    if let Some(placeholder) = &f.placeholder {
        let text = placeholder.get("en");
        let text = text.strip_prefix("e.g. ").unwrap_or(text);
        if !text.is_empty() && fits(f, text) {
            return text.to_string();
        }
    }
    let by_type = match f.field_type {
        FieldType::String | FieldType::Text => "example",
        FieldType::Integer => "1",
        FieldType::Number => "1.5",
        FieldType::Boolean => "true",
        FieldType::Date => "2024-07-15",
        FieldType::Datetime => "2024-07-15T08:00:00Z",
        FieldType::File => "@file.pdf",
        FieldType::Object => "{}",
        FieldType::Group => "",
    };
    if fits(f, by_type) {
        by_type.to_string()
    } else {
        format!("<{}>", f.key)
    }
}

/// Whether `value` satisfies the field's pattern (if any).
fn fits(f: &Field, value: &str) -> bool {
    match f.constraints.as_ref().and_then(|c| c.pattern.as_deref()) {
        Some(pattern) => regex::Regex::new(&format!("^(?:{pattern})$"))
            .map(|re| re.is_match(value))
            .unwrap_or(true),
        None => true,
    }
}

/// Single-quotes an argument unless it is plainly safe for a POSIX shell.
pub fn shell_quote(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-.,/:@=+%".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(join_url("https://a.b/v1/", "/x"), "https://a.b/v1/x");
        assert_eq!(join_url("https://a.b", "/"), "https://a.b/");
        assert_eq!(join_url("https://a.b", "https://c.d/e"), "https://c.d/e");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("so_id=PD-1"), "so_id=PD-1");
        assert_eq!(shell_quote("items[0].qty=1"), "'items[0].qty=1'");
        assert_eq!(shell_quote("a=it's"), "'a=it'\\''s'");
    }
}

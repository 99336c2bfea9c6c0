//! The interpreter's request layer over the real specs in `specs/`: what
//! goes on the wire, byte for byte, with a fixed clock and fake
//! credentials. Expected signatures are computed independently with Python
//! (the one-liner is next to each value), never with our own signing code.

use std::sync::OnceLock;

use serde_json::json;
use spec::model::{Auth, BasicAuth, Connector, Method};
use spec::runtime::{
    self, Context, Credentials, ErrorKind, FixedClock, PreparedRequest, RequestError,
};

use crate::common::root;

/// 2024-07-15T08:00:00.123Z.
const UNIX_MS: i64 = 1_721_030_400_123;

fn clock() -> FixedClock {
    FixedClock {
        unix_ms: UNIX_MS,
        nonce: "00000000-0000-4000-8000-000000000000".into(),
    }
}

fn connector(key: &str) -> Connector {
    static PROJECT: OnceLock<Vec<Connector>> = OnceLock::new();
    let connectors = PROJECT.get_or_init(|| {
        let project = spec::validate::validate(&[root().join("specs")]).expect("specs load");
        project.connectors.into_iter().map(|c| c.model).collect()
    });
    connectors
        .iter()
        .find(|c| c.app.key == key)
        .unwrap_or_else(|| panic!("no connector `{key}` in specs/"))
        .clone()
}

fn credentials(pairs: &[(&str, &str)]) -> Credentials {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn context(connector: &Connector, creds: &[(&str, &str)], input: serde_json::Value) -> Context {
    Context::new(connector, &credentials(creds), &clock())
        .expect("credentials complete")
        .with_input(&input)
}

/// Neither the request dump nor the error may show any of `secrets`.
fn assert_hidden(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "secret `{secret}` leaked in:\n{text}"
        );
    }
}

fn assert_request_hides(request: &PreparedRequest, secrets: &[&str]) {
    assert_hidden(&format!("{request}"), secrets);
    assert_hidden(&format!("{request:?}"), secrets);
}

fn assert_error_hides(error: &RequestError, secrets: &[&str]) {
    assert_hidden(&format!("{error}"), secrets);
    assert_hidden(&format!("{error:?}"), secrets);
}

const JUSHUITAN: &[(&str, &str)] = &[
    ("app_key", "fake_app_key"),
    ("app_secret", "fake_app_secret"),
    ("access_token", "fake_token"),
];

/// The `biz` JSON the inventory count below must send: `input | tojson`,
/// which is minijinja's `tojson` (input order, `", "` and `": "`
/// separators, non-ASCII kept) — the same text as Python's
/// `json.dumps(input, ensure_ascii=False)`.
const BIZ: &str = r#"{"so_id": "PD-20240715-001", "type": "check", "warehouse": 1, "remark": "盘点 A", "items": [{"sku_id": "SKU-1", "qty": 3}, {"sku_id": "SKU-2", "qty": -1}]}"#;

/// md5("fake_app_secret" + sorted key+value of every field but `sign`), computed with
/// python3 -c "import json,hashlib;biz=json.dumps({'so_id':'PD-20240715-001','type':'check','warehouse':1,'remark':'盘点 A','items':[{'sku_id':'SKU-1','qty':3},{'sku_id':'SKU-2','qty':-1}]},ensure_ascii=False);print(hashlib.md5(('fake_app_secret'+'access_token'+'fake_token'+'app_key'+'fake_app_key'+'biz'+biz+'charset'+'utf-8'+'timestamp'+'1721030400'+'version'+'2').encode()).hexdigest())"
const JUSHUITAN_SIGN: &str = "681d37e76170e27d06d6076dacd2c06a";

/// `BIZ` form-urlencoded: python3 -c "import urllib.parse;print(urllib.parse.quote_plus(BIZ))"
const BIZ_ENCODED: &str = "%7B%22so_id%22%3A+%22PD-20240715-001%22%2C+%22type%22%3A+%22check%22%2C+%22warehouse%22%3A+1%2C+%22remark%22%3A+%22%E7%9B%98%E7%82%B9+A%22%2C+%22items%22%3A+%5B%7B%22sku_id%22%3A+%22SKU-1%22%2C+%22qty%22%3A+3%7D%2C+%7B%22sku_id%22%3A+%22SKU-2%22%2C+%22qty%22%3A+-1%7D%5D%7D";

fn jushuitan_count() -> serde_json::Value {
    json!({
        "so_id": "PD-20240715-001",
        "type": "check",
        "warehouse": 1,
        "remark": "盘点 A",
        "items": [{"sku_id": "SKU-1", "qty": 3}, {"sku_id": "SKU-2", "qty": -1}]
    })
}

#[test]
fn jushuitan_inventory_count_is_a_signed_form_byte_for_byte() {
    let jushuitan = connector("jushuitan");
    let ctx = context(&jushuitan, JUSHUITAN, jushuitan_count());
    let request = runtime::build_action(&jushuitan, "create_inventory_count", &ctx).unwrap();

    assert_eq!(request.method(), Method::Post);
    assert_eq!(
        request.url(),
        "https://openapi.jushuitan.com/open/jushuitan/inventoryv2/upload"
    );
    assert_eq!(
        request.content_type(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let expected = format!(
        "biz={BIZ_ENCODED}&app_key=fake_app_key&access_token=fake_token&timestamp=1721030400\
         &charset=utf-8&version=2&sign={JUSHUITAN_SIGN}"
    );
    assert_eq!(request.body_text(), Some(expected.as_str()));

    // The form decodes back to the exact biz JSON that was signed.
    let fields: Vec<(String, String)> = form_urlencoded::parse(request.body().unwrap())
        .into_owned()
        .collect();
    assert_eq!(fields[0], ("biz".to_string(), BIZ.to_string()));
    assert_eq!(
        fields.last().unwrap(),
        &("sign".to_string(), JUSHUITAN_SIGN.to_string())
    );

    assert_request_hides(&request, &["fake_app_secret", "fake_token", JUSHUITAN_SIGN]);
    // Non-secret values stay readable.
    assert!(format!("{request}").contains("app_key=fake_app_key"));
}

#[test]
fn jushuitan_signature_changes_with_the_clock() {
    let jushuitan = connector("jushuitan");
    let later = FixedClock {
        unix_ms: UNIX_MS + 1000,
        ..clock()
    };
    let ctx = Context::new(&jushuitan, &credentials(JUSHUITAN), &later)
        .unwrap()
        .with_input(&jushuitan_count());
    let request = runtime::build_action(&jushuitan, "create_inventory_count", &ctx).unwrap();
    let body = request.body_text().unwrap();
    assert!(body.contains("timestamp=1721030401"));
    assert!(!body.contains(JUSHUITAN_SIGN));
}

#[test]
fn dingtalk_robot_url_is_signed_byte_for_byte() {
    let dingtalk = connector("dingtalk");
    let creds = [("access_token", "fake_robot_token"), ("secret", "SECfake")];
    let ctx = context(&dingtalk, &creds, json!({"content": "hello 钉钉"}));
    let request = runtime::build_action(&dingtalk, "send_text", &ctx).unwrap();

    // sign = quote_plus(base64(hmac_sha256(secret, f"{ts}\n{secret}"))):
    // python3 -c "import hmac,hashlib,base64,urllib.parse;ts='1721030400123';s='SECfake';print(urllib.parse.quote_plus(base64.b64encode(hmac.new(s.encode(),f'{ts}\n{s}'.encode(),hashlib.sha256).digest()).decode()))"
    let sign = "oiMvfjnSQZFPSU1uyMfVuP%2BzlEEEYkhTlfN0dKHbqGU%3D";
    assert_eq!(
        request.url(),
        format!(
            "https://oapi.dingtalk.com/robot/send?access_token=fake_robot_token&timestamp=1721030400123&sign={sign}"
        )
    );
    assert_eq!(request.content_type(), Some("application/json"));
    // `$expr` keeps types: an absent list becomes [], the boolean stays a boolean.
    assert_eq!(
        request.body_text(),
        Some(
            r#"{"msgtype":"text","text":{"content":"hello 钉钉"},"at":{"atMobiles":[],"isAtAll":false}}"#
        )
    );
    assert_request_hides(
        &request,
        &[
            "SECfake",
            "fake_robot_token",
            sign,
            "oiMvfjnSQZFPSU1uyMfVuP+zlEEEYkhTlfN0dKHbqGU=",
        ],
    );
}

#[test]
fn dingtalk_expr_keeps_lists_and_booleans() {
    let dingtalk = connector("dingtalk");
    let creds = [("access_token", "t"), ("secret", "SECfake")];
    let ctx = context(
        &dingtalk,
        &creds,
        json!({"content": "hi", "at_mobiles": ["13800000000"], "is_at_all": true}),
    );
    let request = runtime::build_action(&dingtalk, "send_text", &ctx).unwrap();
    let body: serde_json::Value = serde_json::from_slice(request.body().unwrap()).unwrap();
    assert_eq!(
        body["at"],
        json!({"atMobiles": ["13800000000"], "isAtAll": true})
    );
}

#[test]
fn tushare_token_lands_in_the_json_body() {
    let tushare = connector("tushare");
    let ctx = context(
        &tushare,
        &[("token", "fake_tushare_token")],
        json!({"ts_code": "000001.SZ", "limit": 10}),
    );
    let request = runtime::build_action(&tushare, "daily", &ctx).unwrap();
    assert_eq!(request.url(), "http://api.tushare.pro/");
    assert_eq!(request.method(), Method::Post);
    let body: serde_json::Value = serde_json::from_slice(request.body().unwrap()).unwrap();
    assert_eq!(body["api_name"], "daily");
    assert_eq!(body["token"], "fake_tushare_token");
    // `params: {$expr: input}` is the input object with its types.
    assert_eq!(body["params"], json!({"ts_code": "000001.SZ", "limit": 10}));
    assert_request_hides(&request, &["fake_tushare_token"]);

    // The connection test authenticates the same way.
    let test = runtime::build_connection_test(&tushare, &ctx).unwrap();
    let body: serde_json::Value = serde_json::from_slice(test.body().unwrap()).unwrap();
    assert_eq!(body["token"], "fake_tushare_token");
    assert_eq!(
        body["params"],
        json!({"ts_code": "000001.SZ", "trade_date": "20240102"})
    );
}

#[test]
fn path_values_are_percent_encoded_segments() {
    let vika = connector("vika");
    let input =
        json!({"datasheet_id": "dst 1/../admin?x=1#y", "records": [{"fields": {"Title": "a"}}]});
    let ctx = context(&vika, &[("token", "fake_vika_token")], input);
    let request = runtime::build_action(&vika, "create_record", &ctx).unwrap();
    assert_eq!(
        request.url(),
        "https://api.vika.cn/fusion/v1/datasheets/dst%201%2F..%2Fadmin%3Fx%3D1%23y/records"
    );
    assert_eq!(
        request.header("authorization"),
        Some("Bearer fake_vika_token")
    );
    let body: serde_json::Value = serde_json::from_slice(request.body().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"records": [{"fields": {"Title": "a"}}], "fieldKey": "name"})
    );
    assert_request_hides(&request, &["fake_vika_token"]);
}

#[test]
fn empty_optional_query_parameters_are_dropped() {
    let vika = connector("vika");
    let page = json!({"number": 2, "size": 1000});
    let state = json!({"last_poll": "2024-07-15T00:00:00Z"});
    let base = context(&vika, &[("token", "t")], json!({"datasheet_id": "dstAbc"}))
        .with_page(&page)
        .with_state(&state);
    let request = runtime::build_trigger(&vika, "new_record", &base).unwrap();
    assert_eq!(
        request.url(),
        "https://api.vika.cn/fusion/v1/datasheets/dstAbc/records?pageNum=2&pageSize=1000"
    );
    assert_eq!(request.method(), Method::Get);
    assert_eq!(request.body(), None);
    assert_eq!(request.header("content-type"), None);

    let with_view = context(
        &vika,
        &[("token", "t")],
        json!({"datasheet_id": "dstAbc", "view_id": "viwX"}),
    )
    .with_page(&page)
    .with_state(&state);
    let request = runtime::build_trigger(&vika, "new_record", &with_view).unwrap();
    assert_eq!(
        request.url(),
        "https://api.vika.cn/fusion/v1/datasheets/dstAbc/records?viewId=viwX&pageNum=2&pageSize=1000"
    );
}

#[test]
fn aftership_trigger_reads_state_and_page_and_encodes_the_query() {
    let aftership = connector("aftership");
    let ctx = context(&aftership, &[("api_key", "fake_as_key")], json!({}))
        .with_state(&json!({"cursor": "2024-07-15T08:00:00+08:00"}))
        .with_page(&json!({}));
    let request = runtime::build_trigger(&aftership, "tracking_updated", &ctx).unwrap();
    // Base URL rendered with config; `+` and `:` encoded; tag and cursor dropped.
    assert_eq!(
        request.url(),
        "https://api.aftership.com/tracking/2024-07/trackings?updated_at_min=2024-07-15T08%3A00%3A00%2B08%3A00&limit=100"
    );
    assert_eq!(request.header("as-api-key"), Some("fake_as_key"));
    assert_request_hides(&request, &["fake_as_key"]);
}

#[test]
fn a_header_value_with_a_line_break_is_rejected() {
    // Through a credential: the error names the header and hides the value.
    let aftership = connector("aftership");
    let evil = "fake_as_key\r\nX-Injected: 1";
    let ctx = context(&aftership, &[("api_key", evil)], json!({}));
    let error = runtime::build_connection_test(&aftership, &ctx).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Invalid);
    assert!(error.message().contains("header `as-api-key`"), "{error}");
    assert_error_hides(&error, &["fake_as_key", evil]);

    // Through an input rendered into a spec header.
    let mut tushare = connector("tushare");
    let action = tushare
        .actions
        .iter_mut()
        .find(|a| a.key == "daily")
        .unwrap();
    action
        .request
        .headers
        .insert("X-Note".into(), "{{ input.note }}".into());
    let ctx = context(
        &tushare,
        &[("token", "fake_tushare_token")],
        json!({"note": "a\nSet-Cookie: x=1"}),
    );
    let error = runtime::build_action(&tushare, "daily", &ctx).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Invalid);
    assert!(error.message().contains("header `X-Note`"), "{error}");
}

#[test]
fn errors_never_show_secrets() {
    // A render error (a required input is missing) while secrets are known.
    let jushuitan = connector("jushuitan");
    let mut broken = jushuitan.clone();
    broken.actions[0].request.path = "/open/{{ input.nope }}/{{ auth.app_secret }}".into();
    let ctx = context(&broken, JUSHUITAN, json!({}));
    let error = runtime::build_action(&broken, "create_inventory_count", &ctx).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Render);
    assert!(error.message().contains("path"), "{error}");
    assert_error_hides(&error, &["fake_app_secret", "fake_token"]);
    assert_hidden(&format!("{ctx:?}"), &["fake_app_secret", "fake_token"]);

    // A failing filter whose message would quote the secret.
    let mut broken = jushuitan.clone();
    broken.actions[0].request.path = "/x/{{ auth.app_secret | b64decode }}".into();
    let error = runtime::build_action(&broken, "create_inventory_count", &ctx).unwrap_err();
    assert_error_hides(&error, &["fake_app_secret", "fake_token"]);

    // Unknown action and missing credentials.
    let error = runtime::build_action(&jushuitan, "nope", &ctx).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Spec);
    assert!(
        error.message().contains("`create_inventory_count`"),
        "{error}"
    );
    let error = Context::new(&jushuitan, &credentials(&[("app_key", "k")]), &clock()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Credentials);
    assert_eq!(
        error.message(),
        "missing credential `app_secret`, `access_token`"
    );
}

#[test]
fn oauth2_access_token_and_raw_html_body() {
    let onenote = connector("onenote");
    let creds = [
        ("client_id", "cid"),
        ("client_secret", "fake_client_secret"),
        ("access_token", "fake_access"),
    ];
    let input = json!({"section_name": "My notes", "title": "A <b> title", "content": "<p>Hi</p>"});
    let ctx = context(&onenote, &creds, input);
    let request = runtime::build_action(&onenote, "create_page", &ctx).unwrap();
    assert_eq!(
        request.url(),
        "https://graph.microsoft.com/v1.0/me/onenote/pages?sectionName=My+notes"
    );
    assert_eq!(request.header("Authorization"), Some("Bearer fake_access"));
    assert_eq!(request.content_type(), Some("text/html"));
    let html = request.body_text().unwrap();
    assert!(html.contains("<title>A &lt;b&gt; title</title>"), "{html}");
    assert!(
        html.contains(r#"<meta name="created" content="2024-07-15T08:00:00Z" />"#),
        "{html}"
    );
    assert!(html.contains("<p>Hi</p>"), "{html}");
    assert_request_hides(&request, &["fake_access", "fake_client_secret"]);

    // No access token yet: a credentials error, before anything is sent.
    let ctx = context(
        &onenote,
        &creds[..2],
        json!({"section_name": "s", "title": "t"}),
    );
    let error = runtime::build_action(&onenote, "create_page", &ctx).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Credentials);
    assert_error_hides(&error, &["fake_client_secret"]);
}

#[test]
fn basic_auth_header_is_base64_and_redacted() {
    let mut vika = connector("vika");
    vika.auth = Auth::Basic(BasicAuth {
        fields: match &vika.auth {
            Auth::Bearer(b) => b.fields.clone(),
            _ => unreachable!("vika uses bearer"),
        },
        username: "user".into(),
        password: "{{ auth.token }}".into(),
    });
    let ctx = context(
        &vika,
        &[("token", "pass")],
        json!({"datasheet_id": "dst1", "records": []}),
    );
    let request = runtime::build_action(&vika, "create_record", &ctx).unwrap();
    // python3 -c "import base64;print(base64.b64encode(b'user:pass').decode())"
    assert_eq!(request.header("authorization"), Some("Basic dXNlcjpwYXNz"));
    assert_request_hides(&request, &["dXNlcjpwYXNz"]);
}

#[test]
fn jushuitan_connection_test_is_signed_too() {
    let jushuitan = connector("jushuitan");
    let ctx = Context::new(&jushuitan, &credentials(JUSHUITAN), &clock()).unwrap();
    let request = runtime::build_connection_test(&jushuitan, &ctx).unwrap();
    assert_eq!(
        request.url(),
        "https://openapi.jushuitan.com/open/shops/query"
    );
    // python3 -c "import hashlib;biz='{\"page_index\": 1, \"page_size\": 1}';print(hashlib.md5(('fake_app_secret'+'access_token'+'fake_token'+'app_key'+'fake_app_key'+'biz'+biz+'charset'+'utf-8'+'timestamp'+'1721030400'+'version'+'2').encode()).hexdigest())"
    let fields: Vec<(String, String)> = form_urlencoded::parse(request.body().unwrap())
        .into_owned()
        .collect();
    let expected: Vec<(String, String)> = [
        ("biz", r#"{"page_index": 1, "page_size": 1}"#),
        ("app_key", "fake_app_key"),
        ("access_token", "fake_token"),
        ("timestamp", "1721030400"),
        ("charset", "utf-8"),
        ("version", "2"),
        ("sign", "630d9be836c4276b4983e48aeda892b1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(fields, expected);
}

/// A connector written for the test (not in specs/): the recipes no example
/// spec uses.
fn custom(auth: serde_json::Value) -> Connector {
    serde_json::from_value(json!({
        "spec_version": 1,
        "app": {"id": 1, "key": "custom", "name": "Custom", "category": "test",
                "base_url": "https://api.example.test/base/"},
        "auth": auth,
        "actions": [{
            "id": 2, "key": "create", "name": "Create", "is_end": true,
            "request": {
                "path": "/v2/items",
                "query": {"q": "{{ input.q }}", "b": "2", "a": "{{ input.a }}"},
                "body": {"type": "json", "content": {"name": "{{ input.name }}"}}
            }
        }]
    }))
    .expect("a valid model")
}

#[test]
fn signature_template_reads_the_final_request() {
    let connector = custom(json!({
        "type": "signature",
        "fields": [{"key": "key_id", "label": "Key"}, {"key": "secret", "label": "Secret", "secret": true}],
        "nonce": "uuid",
        "params": [
            {"in": "header", "name": "X-Key", "value": "{{ auth.key_id }}"},
            {"in": "header", "name": "X-Ts", "value": "{{ timestamp }}"},
            {"in": "header", "name": "X-Nonce", "value": "{{ nonce }}"}
        ],
        "string_to_sign": {"type": "template", "template":
            "{{ request.method }}\n{{ request.path }}\n{{ request.query.q }}\n{{ request.headers['X-Ts'] }}\n{{ nonce }}\n{{ request.body }}"},
        "algorithm": "hmac-sha1",
        "key": "{{ auth.secret }}",
        "encoding": "hex_upper",
        "place": {"in": "header", "name": "Authorization", "value": "HMAC {{ auth.key_id }}:{{ signature }}"}
    }));
    let creds = [("key_id", "kid"), ("secret", "fake_hmac_secret")];
    let ctx = context(
        &connector,
        &creds,
        json!({"q": "red shoes", "a": "", "name": "widget"}),
    );
    let request = runtime::build_action(&connector, "create", &ctx).unwrap();
    assert_eq!(
        request.url(),
        "https://api.example.test/base/v2/items?q=red+shoes&b=2"
    );
    // python3 -c "import hmac,hashlib;n='00000000-0000-4000-8000-000000000000';s='POST\n/base/v2/items\nred shoes\n1721030400\n'+n+'\n'+'{\"name\":\"widget\"}';print(hmac.new(b'fake_hmac_secret',s.encode(),hashlib.sha1).hexdigest().upper())"
    let signature = "32183E9E9C012AA11D39980C0FD1A286481AC9E1";
    assert_eq!(
        request.header("authorization"),
        Some(format!("HMAC kid:{signature}").as_str())
    );
    assert_eq!(
        request.header("X-Nonce"),
        Some("00000000-0000-4000-8000-000000000000")
    );
    assert_request_hides(&request, &["fake_hmac_secret", signature]);
}

#[test]
fn sorted_query_params_with_separators_prefix_and_suffix() {
    let connector = custom(json!({
        "type": "signature",
        "fields": [{"key": "secret", "label": "Secret", "secret": true}],
        "params": [{"in": "query", "name": "ts", "value": "{{ timestamp }}"}],
        "string_to_sign": {"type": "sorted_params", "from": "query", "exclude": ["sig", "q"],
            "key_value_separator": "=", "pair_separator": "&",
            "prefix": "{{ auth.secret }}&", "suffix": "&{{ timestamp }}"},
        "algorithm": "sha256",
        "place": {"in": "query", "name": "sig", "value": "{{ signature }}"}
    }));
    let ctx = context(
        &connector,
        &[("secret", "fake_hmac_secret")],
        json!({"q": "z", "a": "x y", "name": "n"}),
    );
    let request = runtime::build_action(&connector, "create", &ctx).unwrap();
    // python3 -c "import hashlib;print(hashlib.sha256(('fake_hmac_secret&'+'a=x y&b=2&ts=1721030400'+'&1721030400').encode()).hexdigest())"
    let sig = "f8a7305f626f76c4e0f53397d469e34228416aeb679e53ff3518f4d7b31500c9";
    assert_eq!(
        request.url(),
        format!("https://api.example.test/base/v2/items?q=z&b=2&a=x+y&ts=1721030400&sig={sig}")
    );
}

#[test]
fn session_token_is_placed_and_required() {
    let connector = custom(json!({
        "type": "session",
        "fields": [{"key": "username", "label": "User"}, {"key": "password", "label": "Password", "secret": true}],
        "login": {"path": "/login", "body": {"type": "json", "content": {"user": "{{ auth.username }}"}}},
        "token": "body.token",
        "place": [{"in": "header", "name": "X-Session", "value": "{{ session.token }}"}]
    }));
    let creds = [("username", "u"), ("password", "fake_password")];
    let input = json!({"q": "1", "a": "2", "name": "n"});
    let ctx = context(&connector, &creds, input.clone()).with_session_token("fake_session_token");
    let request = runtime::build_action(&connector, "create", &ctx).unwrap();
    assert_eq!(request.header("X-Session"), Some("fake_session_token"));
    assert_request_hides(&request, &["fake_session_token", "fake_password"]);

    let error = runtime::build_action(&connector, "create", &context(&connector, &creds, input))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Credentials);
}

#[test]
fn multipart_parts_are_rendered_in_order() {
    let mut connector = custom(json!({
        "type": "api_key",
        "fields": [{"key": "token", "label": "Token", "secret": true}],
        "place": [{"in": "body", "name": "token", "value": "{{ auth.token }}"}]
    }));
    connector.actions[0].request.body = Some(
        serde_json::from_value(json!({"type": "multipart", "parts": [
            {"name": "meta", "content": "{\"title\": \"{{ input.name }}\"}", "content_type": "application/json"},
            {"name": "file", "filename": "{{ input.q }}\".txt", "content_type": "text/plain", "content": "{{ input.a }}"},
            {"name": "empty", "content": "{{ input.missing | default('') }}"}
        ]}))
        .unwrap(),
    );
    let ctx = context(
        &connector,
        &[("token", "fake_part_token")],
        json!({"q": "notes", "a": "line 1\nline 2", "name": "N"}),
    );
    let request = runtime::build_action(&connector, "create", &ctx).unwrap();
    // The boundary comes from the clock's nonce, so it is fixed here.
    let boundary = "spec-00000000000040008000000000000000";
    assert_eq!(
        request.content_type(),
        Some(format!("multipart/form-data; boundary={boundary}").as_str())
    );
    let expected = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"meta\"\r\nContent-Type: application/json\r\n\r\n\
         {{\"title\": \"N\"}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"notes%22.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nline 1\nline 2\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nfake_part_token\r\n\
         --{boundary}--\r\n"
    );
    assert_eq!(request.body_text(), Some(expected.as_str()));
    assert_request_hides(&request, &["fake_part_token"]);
}

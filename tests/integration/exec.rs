//! `spec exec` and `spec connect` through the real binary, against
//! in-process mock HTTP servers (wiremock) shaped like each example
//! connector's API: its request shape, its envelope, its errors (200 with
//! an error code, 4xx with an error object), 429 with Retry-After, slow and
//! dropped connections. Credentials are fake and come from environment
//! variables or a temporary credentials file; no test sees a real API.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{
    body_partial_json, body_string_contains, header, method, path, query_param,
};
use wiremock::{Mock, Request, ResponseTemplate};

use crate::common::mock::{Home, MockApi as Server};
use crate::common::{HANG_GUARD, Run};

fn form_body(request: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn stdout_json(run: &Run) -> Value {
    serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        )
    })
}

#[track_caller]
fn assert_no_secret(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "secret {secret:?} leaked:\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout,
            run.stderr
        );
    }
}

// ---------------------------------------------------------------------------
// Tushare: JSON body with the token inside, 200-with-error-code, positional rows

const TUSHARE_TOKEN: &str = "fake-tushare-token-7f3a";

#[test]
fn tushare_daily_zips_positional_rows() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/"))
            .and(body_partial_json(json!({
                "api_name": "daily",
                "token": TUSHARE_TOKEN,
                "params": {"ts_code": "000001.SZ", "limit": 2},
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "request_id": "req-1",
                "code": 0,
                "msg": "",
                "data": {
                    "fields": ["ts_code", "trade_date", "close"],
                    "items": [["000001.SZ", "20240103", 9.2], ["000001.SZ", "20240102", 9.21]],
                    "has_more": false
                }
            })))
            .expect(1),
    );
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "tushare",
            "daily",
            "--base-url",
            &server.uri(),
            "-i",
            "ts_code=000001.SZ",
            "-i",
            "limit=2",
        ],
        &[("SPEC_TUSHARE_TOKEN", TUSHARE_TOKEN)],
    );
    run.expect_code(0);
    assert_eq!(
        stdout_json(&run),
        json!({"rows": [
            {"ts_code": "000001.SZ", "trade_date": "20240103", "close": 9.2},
            {"ts_code": "000001.SZ", "trade_date": "20240102", "close": 9.21}
        ]})
    );
    server.verify();
}

#[test]
fn tushare_error_in_http_200_names_code_message_and_request_id() {
    let server = Server::start();
    server.mount(Mock::given(method("POST")).respond_with(
        ResponseTemplate::new(200).set_body_json(json!({
            "request_id": "6a1f0c0e-req",
            "code": 2002,
            "msg": "抱歉，您没有访问该接口的权限",
            "data": null
        })),
    ));
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "tushare",
            "daily",
            "--base-url",
            &server.uri(),
            "-i",
            "trade_date=20240102",
        ],
        &[("SPEC_TUSHARE_TOKEN", TUSHARE_TOKEN)],
    );
    run.expect_code(5);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(first.starts_with("error: "), "{}", run.stderr);
    assert!(first.contains("2002"), "{first}");
    assert!(first.contains("抱歉，您没有访问该接口的权限"), "{first}");
    assert!(first.contains("6a1f0c0e-req"), "{first}");
    assert!(run.stderr.contains("hint"), "{}", run.stderr);
    assert_no_secret(&run, &[TUSHARE_TOKEN]);
    // A 200 with an error code is not retried.
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn invalid_input_lists_every_violation_and_sends_nothing() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0),
    );
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "tushare",
            "daily",
            "--base-url",
            &server.uri(),
            "-i",
            "ts_code=600000",
            "-i",
            "limit=abc",
            "-i",
            "offset=-1",
            "-i",
            "colour=red",
        ],
        &[("SPEC_TUSHARE_TOKEN", TUSHARE_TOKEN)],
    );
    run.expect_code(3);
    for path in ["ts_code", "limit", "offset", "colour"] {
        assert!(
            run.stderr
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("- {path}:"))),
            "no violation for {path}:\n{}",
            run.stderr
        );
    }
    server.verify();
}

#[test]
fn missing_credentials_exit_4_with_a_hint() {
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "tushare",
            "daily",
            "--base-url",
            "http://127.0.0.1:9",
            "-i",
            "trade_date=20240102",
        ],
        &[],
    );
    run.expect_code(4);
    assert!(run.stderr.contains("token"), "{}", run.stderr);
    assert!(
        run.stderr.contains("spec connect tushare"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("SPEC_TUSHARE_"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------
// Jushuitan: signed form POST, nested groups, code 10 invalid sign

const JST_SECRET: &str = "fake-jst-app-secret-c0ffee";
const JST_TOKEN: &str = "fake-jst-access-token-beef";

fn jushuitan_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("SPEC_JUSHUITAN_APP_KEY", "fake-app-key"),
        ("SPEC_JUSHUITAN_APP_SECRET", JST_SECRET),
        ("SPEC_JUSHUITAN_ACCESS_TOKEN", JST_TOKEN),
    ]
}

fn inventory_input(dir: &Path) -> PathBuf {
    let file = dir.join("count.yaml");
    std::fs::write(
        &file,
        "so_id: PD-20240715-001\nwarehouse: 1\ntype: check\nitems:\n  - {sku_id: SKU-A, qty: 5}\n  - {sku_id: SKU-B, qty: -2}\n",
    )
    .unwrap();
    file
}

#[test]
fn jushuitan_signed_form_request_and_result() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/open/jushuitan/inventoryv2/upload"))
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "code": 0, "msg": "执行成功",
                "data": {"data": {"io_id": 1024, "so_id": "PD-20240715-001", "msg": "执行成功"}}
            })))
            .expect(1),
    );
    let home = Home::new();
    let input = inventory_input(home.dir.path());
    let run = home.spec(
        &[
            "exec",
            "action",
            "jushuitan",
            "create_inventory_count",
            "--base-url",
            &server.uri(),
            "--input",
            input.to_str().unwrap(),
        ],
        &jushuitan_env(),
    );
    run.expect_code(0);
    assert_eq!(
        stdout_json(&run),
        json!({"io_id": 1024, "so_id": "PD-20240715-001", "msg": "执行成功"})
    );
    let requests = server.requests();
    let form = form_body(&requests[0]);
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("app_key").as_deref(), Some("fake-app-key"));
    assert_eq!(get("access_token").as_deref(), Some(JST_TOKEN));
    assert_eq!(get("charset").as_deref(), Some("utf-8"));
    assert_eq!(get("version").as_deref(), Some("2"));
    let biz: Value = serde_json::from_str(&get("biz").unwrap()).unwrap();
    assert_eq!(biz["items"][1], json!({"sku_id": "SKU-B", "qty": -2}));
    assert_eq!(biz["is_confirm"], json!(false), "defaults are filled in");
    // The signature, recomputed here from what arrived: md5(secret + sorted
    // key+value pairs, empty values skipped), lowercase hex.
    let mut pairs: Vec<_> = form
        .iter()
        .filter(|(k, v)| k != "sign" && !v.is_empty())
        .cloned()
        .collect();
    pairs.sort();
    let mut text = JST_SECRET.to_string();
    for (k, v) in &pairs {
        text.push_str(k);
        text.push_str(v);
    }
    use md5::Digest;
    let expected = md5::Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    assert_eq!(get("sign"), Some(expected));
    server.verify();
}

#[test]
fn jushuitan_invalid_sign_is_an_api_error() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST")).respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"code": 10, "msg": "invalid sign", "data": null})),
        ),
    );
    let home = Home::new();
    let input = inventory_input(home.dir.path());
    let run = home.spec(
        &[
            "exec",
            "action",
            "jushuitan",
            "create_inventory_count",
            "--base-url",
            &server.uri(),
            "--input",
            input.to_str().unwrap(),
            "-v",
        ],
        &jushuitan_env(),
    );
    run.expect_code(5);
    let first = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap();
    assert!(
        first.contains("10") && first.contains("invalid sign"),
        "{first}"
    );
    // -v shows the exchange, secrets masked.
    assert!(run.stderr.contains("> POST "), "{}", run.stderr);
    assert!(run.stderr.contains("< HTTP 200"), "{}", run.stderr);
    assert!(run.stderr.contains("access_token=***"), "{}", run.stderr);
    assert!(run.stderr.contains("sign=***"), "{}", run.stderr);
    assert_no_secret(&run, &[JST_SECRET, JST_TOKEN]);
}

#[test]
fn jushuitan_nested_group_violations_have_paths() {
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "jushuitan",
            "create_inventory_count",
            "--base-url",
            "http://127.0.0.1:9",
            "-i",
            "so_id=PD-1",
            "-i",
            "items[0].sku_id=A",
            "-i",
            "items[0].qty=1",
            "-i",
            "items[1].sku_id=B",
            "-i",
            "items[1].qty=lots",
            "-i",
            "type=recount",
        ],
        &jushuitan_env(),
    );
    run.expect_code(3);
    assert!(run.stderr.contains("items[1].qty:"), "{}", run.stderr);
    assert!(run.stderr.contains("type:"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------
// Shopify: header token, PUT retried on 429 honouring Retry-After, POST not

const SHOPIFY_TOKEN: &str = "shpat_fake0000000000000000000000";

fn shopify_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("SPEC_SHOPIFY_SHOP", "fake-shop"),
        ("SPEC_SHOPIFY_ACCESS_TOKEN", SHOPIFY_TOKEN),
    ]
}

#[test]
fn shopify_put_is_retried_after_429_with_retry_after() {
    let server = Server::start();
    server.mount(
        Mock::given(method("PUT"))
            .and(path("/orders/450789469.json"))
            .and(header("x-shopify-access-token", SHOPIFY_TOKEN))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("Retry-After", "1")
                    .set_body_json(json!({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."})),
            )
            .up_to_n_times(1)
            .with_priority(1),
    );
    server.mount(
        Mock::given(method("PUT"))
            .and(path("/orders/450789469.json"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    json!({"order": {"id": 450789469, "note": "Call before delivery"}}),
                ),
            )
            .with_priority(2),
    );
    let home = Home::new();
    let started = std::time::Instant::now();
    let run = home.spec(
        &[
            "exec",
            "action",
            "shopify",
            "update_order_note",
            "--base-url",
            &server.uri(),
            "-i",
            "order_id=450789469",
            "-i",
            "note=Call before delivery",
            "-v",
        ],
        &shopify_env(),
    );
    run.expect_code(0);
    assert_eq!(stdout_json(&run)["id"], json!(450789469));
    assert_eq!(server.requests().len(), 2);
    // Retry-After: 1 was honoured (a wait of at least one second).
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(run.stderr.contains("retrying in"), "{}", run.stderr);
    assert_no_secret(&run, &[SHOPIFY_TOKEN]);
}

#[test]
fn shopify_post_is_not_retried_on_503() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/products.json"))
            .respond_with(
                ResponseTemplate::new(503)
                    .set_body_string("<html><body>Service Unavailable</body></html>"),
            ),
    );
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "shopify",
            "create_product",
            "--base-url",
            &server.uri(),
            "-i",
            "title=Fake mug",
        ],
        &shopify_env(),
    );
    run.expect_code(5);
    assert!(run.stderr.contains("503"), "{}", run.stderr);
    assert_eq!(server.requests().len(), 1, "a POST is never sent twice");
}

#[test]
fn shopify_422_errors_object_is_reported() {
    let server = Server::start();
    server.mount(Mock::given(method("POST")).respond_with(
        ResponseTemplate::new(422).set_body_json(json!({"errors": {"title": ["can't be blank"]}})),
    ));
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "shopify",
            "create_product",
            "--base-url",
            &server.uri(),
            "-i",
            "title=x",
        ],
        &shopify_env(),
    );
    run.expect_code(5);
    assert!(run.stderr.contains("can't be blank"), "{}", run.stderr);
    assert!(run.stderr.contains("422"), "{}", run.stderr);
}

#[test]
fn shopify_401_is_an_auth_error() {
    let server = Server::start();
    server.mount(
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}))),
    );
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "shopify",
            "update_order_note",
            "--base-url",
            &server.uri(),
            "-i",
            "order_id=1",
            "-i",
            "note=x",
        ],
        &shopify_env(),
    );
    run.expect_code(4);
    assert!(run.stderr.contains("Invalid API key"), "{}", run.stderr);
}

#[test]
fn shopify_connection_check_prints_the_label() {
    let server = Server::start();
    server.mount(
        Mock::given(method("GET"))
            .and(path("/shop.json"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"shop": {"name": "Fake Shop", "myshopify_domain": "fake-shop.myshopify.com"}}),
        )),
    );
    let home = Home::new();
    let run = home.spec(
        &["exec", "check", "shopify", "--base-url", &server.uri()],
        &shopify_env(),
    );
    run.expect_code(0);
    assert_eq!(
        stdout_json(&run),
        json!({"connector": "shopify", "ok": true, "label": "Fake Shop (fake-shop.myshopify.com)"})
    );
}

// ---------------------------------------------------------------------------
// DingTalk: signed robot URL, errcode in HTTP 200

const DINGTALK_SECRET: &str = "SECfake0000000000000000000000000000000000000000000000000000000000";
const DINGTALK_TOKEN: &str = "fake-robot-access-token-1234";

#[test]
fn dingtalk_robot_url_is_signed_and_errcode_reported() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/robot/send"))
            .and(query_param("access_token", DINGTALK_TOKEN))
            .and(body_partial_json(
                json!({"msgtype": "text", "text": {"content": "部署完成 deploy done"}}),
            ))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "errmsg": "ok"})),
            )
            .up_to_n_times(1),
    );
    server.mount(
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}))),
    );
    let home = Home::new();
    let env = [
        ("SPEC_DINGTALK_ACCESS_TOKEN", DINGTALK_TOKEN),
        ("SPEC_DINGTALK_SECRET", DINGTALK_SECRET),
    ];
    let run = home.spec(
        &[
            "exec",
            "action",
            "dingtalk",
            "send_text",
            "--base-url",
            &server.uri(),
            "-i",
            "content=部署完成 deploy done",
        ],
        &env,
    );
    run.expect_code(0);
    assert_eq!(stdout_json(&run), json!({"errcode": 0, "errmsg": "ok"}));
    // The sign is base64(hmac_sha256(secret, timestamp + "\n" + secret)),
    // recomputed here from the timestamp that arrived.
    let request = &server.requests()[0];
    let query: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let timestamp = get("timestamp");
    assert_eq!(timestamp.len(), 13, "milliseconds");
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(DINGTALK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}\n{DINGTALK_SECRET}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(get("sign"), expected);

    let run = home.spec(
        &[
            "exec",
            "action",
            "dingtalk",
            "send_text",
            "--base-url",
            &server.uri(),
            "-i",
            "content=again",
        ],
        &env,
    );
    run.expect_code(5);
    assert!(
        run.stderr.contains("310000") && run.stderr.contains("sign not match"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run, &[DINGTALK_SECRET, DINGTALK_TOKEN]);
}

// ---------------------------------------------------------------------------
// OneNote (Graph): raw HTML body, 201, error object with request-id

const GRAPH_TOKEN: &str = "fake-graph-access-token-eyJ0eXAi";

#[test]
fn onenote_create_page_sends_html_and_accepts_201() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/me/onenote/pages"))
            .and(header("authorization", format!("Bearer {GRAPH_TOKEN}").as_str()))
            .and(header("content-type", "text/html"))
            .and(body_string_contains("<title>Standup notes</title>"))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "id": "1-fake-page-id", "title": "Standup notes",
                "contentUrl": "https://graph.microsoft.com/v1.0/me/onenote/pages/1-fake-page-id/content",
                "links": {"oneNoteWebUrl": {"href": "https://onenote.example/page"}},
                "createdDateTime": "2024-07-15T08:00:00Z"
            })))
            .expect(1),
    );
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "onenote",
            "create_page",
            "--base-url",
            &server.uri(),
            "-i",
            "title=Standup notes",
            "-i",
            "content=<p>Ship it</p>",
        ],
        &[
            ("SPEC_ONENOTE_ACCESS_TOKEN", GRAPH_TOKEN),
            ("SPEC_ONENOTE_CLIENT_ID", "fake-client-id"),
            ("SPEC_ONENOTE_CLIENT_SECRET", "fake-client-secret"),
        ],
    );
    run.expect_code(0);
    assert_eq!(stdout_json(&run)["id"], json!("1-fake-page-id"));
    server.verify();
}

#[test]
fn onenote_graph_error_names_code_and_request_id() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"code": "itemNotFound", "message": "The specified section does not exist.",
                      "innerError": {"request-id": "b1f2-fake-request", "date": "2024-07-15T08:00:00"}}
        }))),
    );
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "onenote",
            "create_page",
            "--base-url",
            &server.uri(),
            "-i",
            "title=T",
            "-i",
            "content=<p>x</p>",
        ],
        &[
            ("SPEC_ONENOTE_ACCESS_TOKEN", GRAPH_TOKEN),
            ("SPEC_ONENOTE_CLIENT_ID", "fake-client-id"),
            ("SPEC_ONENOTE_CLIENT_SECRET", "fake-client-secret"),
        ],
    );
    run.expect_code(5);
    let first = run.stderr.lines().next().unwrap();
    for part in [
        "itemNotFound",
        "The specified section does not exist.",
        "b1f2-fake-request",
        "404",
    ] {
        assert!(first.contains(part), "{part} missing from: {first}");
    }
}

// ---------------------------------------------------------------------------
// AfterShip and Vika: error envelopes

#[test]
fn aftership_meta_code_in_404() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/trackings"))
            .and(header("as-api-key", "fake-aftership-key"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "meta": {"code": 4005, "message": "The value of `tracking_number` is invalid.", "type": "BadRequest"},
                "data": {}
            }))),
    );
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "aftership",
            "create_tracking",
            "--base-url",
            &server.uri(),
            "-i",
            "tracking_number=1Z999AA10123456784",
        ],
        &[("SPEC_AFTERSHIP_API_KEY", "fake-aftership-key")],
    );
    run.expect_code(5);
    assert!(
        run.stderr.contains("4005") && run.stderr.contains("tracking_number"),
        "{}",
        run.stderr
    );
}

#[test]
fn vika_success_false_is_an_error_and_success_selects_data() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/datasheets/dstFAKE123/records"))
            .and(header("authorization", "Bearer fake-vika-token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "success": true, "code": 200, "message": "SUCCESS",
                "data": {"records": [{"recordId": "recFAKE1", "fields": {"Name": "Alice"}, "createdAt": 1721030400000_i64, "updatedAt": 1721030400000_i64}]}
            })))
            .up_to_n_times(1),
    );
    server.mount(Mock::given(method("POST")).respond_with(
        ResponseTemplate::new(200).set_body_json(json!({
            "success": false, "code": 301, "message": "参数错误 records"
        })),
    ));
    let home = Home::new();
    let env = [("SPEC_VIKA_TOKEN", "fake-vika-token")];
    let args = [
        "exec",
        "action",
        "vika",
        "create_record",
        "--base-url",
        &server.uri(),
        "-i",
        "datasheet_id=dstFAKE123",
        "-i",
        r#"records:=[{"fields": {"Name": "Alice"}}]"#,
    ];
    let run = home.spec(&args, &env);
    run.expect_code(0);
    assert_eq!(
        stdout_json(&run)["records"][0]["recordId"],
        json!("recFAKE1")
    );
    let run = home.spec(&args, &env);
    run.expect_code(5);
    assert!(
        run.stderr.contains("301") && run.stderr.contains("参数错误"),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------
// Network faults

#[test]
fn slow_response_times_out_with_exit_6() {
    let server = Server::start();
    server.mount(
        Mock::given(method("PUT")).respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(5))
                .set_body_json(json!({"order": {}})),
        ),
    );
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "shopify",
            "update_order_note",
            "--base-url",
            &server.uri(),
            "-i",
            "order_id=1",
            "-i",
            "note=x",
            "--timeout",
            "0.3",
            "--attempts",
            "2",
        ],
        &shopify_env(),
    );
    run.expect_code(6);
    assert!(run.stderr.contains("timed out"), "{}", run.stderr);
    assert!(run.stderr.contains("after 2 attempts"), "{}", run.stderr);
}

#[test]
fn dropped_connection_and_refused_connection_exit_6() {
    // A server that accepts and immediately closes every connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "shopify",
            "update_order_note",
            "--base-url",
            &format!("http://{address}"),
            "-i",
            "order_id=1",
            "-i",
            "note=x",
            "--attempts",
            "1",
        ],
        &shopify_env(),
    );
    run.expect_code(6);
    assert!(
        run.stderr.lines().next().unwrap().starts_with("error: "),
        "{}",
        run.stderr
    );

    // Nothing listens on a port we bound and released.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let run = home.spec(
        &[
            "exec",
            "action",
            "shopify",
            "create_product",
            "--base-url",
            &format!("http://{closed}"),
            "-i",
            "title=x",
            "--attempts",
            "2",
            "-v",
        ],
        &shopify_env(),
    );
    run.expect_code(6);
    assert!(run.stderr.contains("cannot connect"), "{}", run.stderr);
    // Nothing was sent, so even a POST is retried.
    assert!(run.stderr.contains("after 2 attempts"), "{}", run.stderr);
}

#[test]
fn oversized_response_is_refused() {
    let server = Server::start();
    let big = json!({"order": {"note": "x".repeat(50_000)}});
    server.mount(
        Mock::given(method("PUT")).respond_with(ResponseTemplate::new(200).set_body_json(big)),
    );
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "action",
            "shopify",
            "update_order_note",
            "--base-url",
            &server.uri(),
            "-i",
            "order_id=1",
            "-i",
            "note=x",
            "--max-response-bytes",
            "10000",
        ],
        &shopify_env(),
    );
    run.expect_code(6);
    assert!(run.stderr.contains("10000-byte cap"), "{}", run.stderr);
}

// ---------------------------------------------------------------------------
// spec connect + the credentials file

#[test]
fn connect_prompts_tests_and_saves_a_private_file_then_exec_uses_it() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(body_partial_json(json!({"token": TUSHARE_TOKEN})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "request_id": "r", "code": 0, "msg": "",
                "data": {"fields": ["ts_code", "trade_date"], "items": [["000001.SZ", "20240102"]]}
            }))),
    );
    let home = Home::new();
    let mut command = home.command(&["connect", "tushare", "--base-url", &server.uri()], &[]);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{TUSHARE_TOKEN}\n").as_bytes())
        .unwrap();
    let output = wait(child);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("connection test passed"), "{stderr}");
    assert!(!stderr.contains(TUSHARE_TOKEN), "{stderr}");
    let file = home.credentials_file();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.contains("[connections.tushare]"), "{saved}");

    // exec picks the saved connection up.
    let run = home.spec(
        &[
            "exec",
            "action",
            "tushare",
            "daily",
            "--base-url",
            &server.uri(),
            "-i",
            "trade_date=20240102",
        ],
        &[],
    );
    run.expect_code(0);
    assert_eq!(stdout_json(&run)["rows"][0]["ts_code"], json!("000001.SZ"));

    // A named connection that does not exist is an error naming the fix.
    let run = home.spec(
        &[
            "exec",
            "action",
            "tushare",
            "daily",
            "--connection",
            "other",
            "-i",
            "trade_date=20240102",
        ],
        &[],
    );
    run.expect_code(2);
    assert!(
        run.stderr.contains("spec connect tushare --name other"),
        "{}",
        run.stderr
    );
}

#[test]
fn connect_does_not_save_when_the_test_fails() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST")).respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"code": 40101, "msg": "token invalid", "data": null})),
        ),
    );
    let home = Home::new();
    let mut command = home.command(&["connect", "tushare", "--base-url", &server.uri()], &[]);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"fake-wrong-token\n")
        .unwrap();
    let output = wait(child);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("nothing was saved"), "{stderr}");
    assert!(!home.credentials_file().exists());
}

fn wait(child: std::process::Child) -> std::process::Output {
    let (tx, rx) = std::sync::mpsc::channel();
    let id = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(HANG_GUARD) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("spec connect hung");
        }
    }
}

/// The docs site shows a `spec exec` command per action with its required
/// inputs; each must be one the interpreter accepts as it stands.
#[test]
fn docs_example_commands_pass_the_input_check() {
    use spec::codegen::docs::view::example_command;
    use spec::runtime::{Coercion, check_input, parse_assignments};
    let project = crate::common::validate(&[crate::common::root().join("specs")]);
    let mut checked = 0;
    for connector in &project.connectors {
        let app = &connector.model.app.key;
        for action in &connector.model.actions {
            let command = example_command("action", app, &action.key, &action.input);
            let args: Vec<String> = command
                .split(" \\\n    -i ")
                .skip(1)
                .map(
                    |arg| match arg.strip_prefix('\'').and_then(|a| a.strip_suffix('\'')) {
                        Some(quoted) => quoted.replace("'\\''", "'"),
                        None => arg.to_string(),
                    },
                )
                .collect();
            let input = parse_assignments(&args)
                .and_then(|a| a.apply_to(Value::Null, &action.input))
                .unwrap_or_else(|e| panic!("{app}.{}: {command}\n{e}", action.key));
            if let Err(errors) = check_input(&action.input, &input, Coercion::Strict) {
                panic!(
                    "{app}.{}: the docs' command is rejected:\n{command}\n{errors}",
                    action.key
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked}");
}

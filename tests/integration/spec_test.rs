//! `spec new` (scaffolding) and `spec test` (offline replay of recorded
//! or hand-written cases) through the real binary.

use std::path::Path;

use crate::common::spec;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn spec_new_writes_a_starter_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    spec(["new", "acme", "--dir", path(&specs)]).expect_code(0);
    let file = specs.join("acme.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema=../schema/connector.schema.json\n"));
    spec(["validate", path(&file)]).expect_code(0);
    // A second `new` refuses to overwrite.
    let again = spec(["new", "acme", "--dir", path(&specs)]);
    again.expect_code(2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
}

#[test]
fn spec_new_adds_action_and_trigger_stubs_keeping_comments() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    spec(["new", "acme", "--dir", path(&specs)]).expect_code(0);
    spec([
        "new",
        "acme",
        "--dir",
        path(&specs),
        "--action",
        "create_thing",
    ])
    .expect_code(0);
    spec([
        "new",
        "acme",
        "--dir",
        path(&specs),
        "--trigger",
        "new_thing",
    ])
    .expect_code(0);
    spec([
        "new",
        "acme",
        "--dir",
        path(&specs),
        "--trigger",
        "other_thing",
    ])
    .expect_code(0);
    let duplicate = spec([
        "new",
        "acme",
        "--dir",
        path(&specs),
        "--action",
        "create_thing",
    ]);
    duplicate.expect_code(2);
    let file = specs.join("acme.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("# TODO: reserve a real app id"));
    assert!(text.contains("key: create_thing") && text.contains("key: other_thing"));
    let validated = spec(["validate", path(&file)]);
    validated.expect_code(0);
    assert!(
        validated.stderr.contains("0 error(s), 0 warning(s)"),
        "{}",
        validated.stderr
    );
}

#[test]
fn spec_test_replays_every_case_in_specs() {
    let run = spec(["test", "specs"]);
    run.expect_code(0);
    assert!(run.stderr.contains(" 0 failed"), "{}", run.stderr);
}

/// A copy of tushare's spec and cases in a temporary `specs/`.
fn tushare_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    let cases = specs.join("tests/tushare");
    std::fs::create_dir_all(&cases).unwrap();
    let root = crate::common::root();
    std::fs::copy(root.join("specs/tushare.yaml"), specs.join("tushare.yaml")).unwrap();
    for entry in std::fs::read_dir(root.join("specs/tests/tushare")).unwrap() {
        let entry = entry.unwrap().path();
        std::fs::copy(&entry, cases.join(entry.file_name().unwrap())).unwrap();
    }
    dir
}

#[test]
fn spec_test_shows_a_diff_when_the_built_request_changes() {
    let dir = tushare_copy();
    let spec_file = dir.path().join("specs/tushare.yaml");
    let text = std::fs::read_to_string(&spec_file).unwrap();
    std::fs::write(
        &spec_file,
        text.replacen(
            "api_name: daily\n          # Every",
            "api_name: daily_v2\n          # Every",
            1,
        ),
    )
    .unwrap();
    let specs = dir.path().join("specs");
    let run = spec(["test", path(&specs)]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("FAIL    tushare/daily "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("-   \"api_name\": \"daily\","),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("+   \"api_name\": \"daily_v2\","),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("ok      tushare/stock_basic"),
        "{}",
        run.stderr
    );

    // Machine-readable reports say the same.
    let json = spec(["test", path(&specs), "--format", "json"]);
    json.expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    // The two recorded `daily` cases and the hand-written one that checks
    // the request body.
    assert_eq!(report["summary"]["failed"], 3, "{}", json.stdout);
    let github = spec(["test", path(&specs), "--format", "github"]);
    assert!(
        github.stdout.starts_with("::error file="),
        "{}",
        github.stdout
    );
    let junit = dir.path().join("junit.xml");
    spec(["test", path(&specs), "--junit", path(&junit)]).expect_code(1);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuite name=\"tushare\" tests=\"6\" failures=\"3\">"),
        "{xml}"
    );

    // A deliberate change: --update re-records the case files; the
    // hand-written case in the spec is left for a human to edit.
    let update = spec(["test", path(&specs), "--update"]);
    update.expect_code(1);
    assert!(
        update
            .stderr
            .contains("FAIL    tushare/daily: a holiday has no rows"),
        "{}",
        update.stderr
    );
    assert!(
        update.stderr.contains("edit it by hand"),
        "{}",
        update.stderr
    );
    let again = spec(["test", path(&specs)]);
    again.expect_code(1);
    assert!(
        again.stderr.contains("6 case(s): 5 passed, 1 failed"),
        "{}",
        again.stderr
    );
}

#[test]
fn spec_test_fails_when_the_output_changes() {
    let dir = tushare_copy();
    let case = dir.path().join("specs/tests/tushare/daily.json");
    let text = std::fs::read_to_string(&case).unwrap();
    // The recorded output's amount, not the response's.
    let at = text.rfind("1075742.252").unwrap();
    let changed = format!("{}1.5{}", &text[..at], &text[at + "1075742.252".len()..]);
    std::fs::write(&case, changed).unwrap();
    let run = spec(["test", path(&dir.path().join("specs")), "tushare"]);
    run.expect_code(1);
    assert!(run.stderr.contains("the output differs"), "{}", run.stderr);
}

#[test]
fn spec_new_output_passes_spec_test() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    spec(["new", "acme", "--dir", path(&specs)]).expect_code(0);
    assert!(specs.join("tests/acme/get_item.json").is_file());
    let run = spec(["test", path(&specs)]);
    run.expect_code(0);
    assert!(
        // The starter's case file and the hand-written case in its stub.
        run.stderr.contains("2 case(s): 2 passed, 0 failed"),
        "{}",
        run.stderr
    );
    // Stubs added later validate and test too.
    spec([
        "new",
        "acme",
        "--dir",
        path(&specs),
        "--action",
        "create_item",
    ])
    .expect_code(0);
    spec([
        "new",
        "acme",
        "--dir",
        path(&specs),
        "--trigger",
        "new_item",
    ])
    .expect_code(0);
    let run = spec(["test", path(&specs)]);
    run.expect_code(0);
    // Each stub came with a hand-written case, and it passes.
    assert!(
        run.stderr.contains("ok      acme/create_item: found")
            && run.stderr.contains("ok      acme/new_item: two items")
            && run.stderr.contains("4 case(s): 4 passed, 0 failed"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("has no test case"), "{}", run.stderr);
}

/// Every action and trigger in specs/ has at least one case.
#[test]
fn every_action_and_trigger_in_specs_has_a_case() {
    let project = crate::common::validate(&[crate::common::root().join("specs")]);
    let mut missing = Vec::new();
    for modeled in &project.connectors {
        let connector = &modeled.model;
        let key = &connector.app.key;
        let dir = modeled.path.parent().unwrap().join("tests").join(key);
        let mut covered = Vec::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let case: serde_json::Value = serde_json::from_str(&text).unwrap();
            for kind in ["action", "trigger"] {
                if let Some(name) = case[kind].as_str() {
                    covered.push(format!("{kind} {name}"));
                }
            }
        }
        // Hand-written cases in the spec count too.
        for action in connector.actions.iter().filter(|a| !a.tests.is_empty()) {
            covered.push(format!("action {}", action.key));
        }
        for trigger in connector.triggers.iter().filter(|t| !t.tests.is_empty()) {
            covered.push(format!("trigger {}", trigger.key));
        }
        for item in connector.operation_names() {
            if !covered.contains(&item) {
                missing.push(format!("{key}: {item}"));
            }
        }
    }
    assert!(missing.is_empty(), "no `spec test` case for: {missing:?}");
}

/// `spec exec action --record` against a mock of DingTalk's robot API:
/// the case holds no secret, the signature is volatile, and `spec test`
/// replays it offline.
#[test]
fn exec_record_writes_a_case_that_replays() {
    use wiremock::matchers::{method, path as url_path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const TOKEN: &str = "real-looking-token-5f0c1e";
    const SECRET: &str = "SECreal+secret/value=";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(MockServer::start());
    runtime.block_on(
        Mock::given(method("POST"))
            .and(url_path("/robot/send"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"errcode": 0, "errmsg": "ok"})),
            )
            .mount(&server),
    );
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::copy(
        crate::common::root().join("specs/dingtalk.yaml"),
        specs.join("dingtalk.yaml"),
    )
    .unwrap();
    let mut command = crate::common::spec_command();
    command
        .args([
            "exec",
            "action",
            "dingtalk",
            "send_text",
            "--specs",
            path(&specs),
        ])
        .args(["--base-url", &server.uri(), "-i", "content=deploy done"])
        .args(["--record", "deploy-done"])
        .env("SPEC_CREDENTIALS_FILE", dir.path().join("credentials.toml"))
        .env("SPEC_DINGTALK_ACCESS_TOKEN", TOKEN)
        .env("SPEC_DINGTALK_SECRET", SECRET);
    let run = crate::common::run(command);
    run.expect_code(0);
    assert!(
        run.stderr.contains("recorded 1 exchange(s)"),
        "{}",
        run.stderr
    );
    let case_file = specs.join("tests/dingtalk/deploy-done.json");
    let text = std::fs::read_to_string(&case_file).unwrap();
    assert!(!text.contains(TOKEN) && !text.contains("SECreal"), "{text}");
    let case: serde_json::Value = serde_json::from_str(&text).unwrap();
    let url = case["exchanges"][0]["request"]["url"].as_str().unwrap();
    assert!(url.contains("access_token=fake-access_token"), "{url}");
    assert!(url.ends_with("&sign={{ volatile }}"), "{url}");
    assert_eq!(
        case["output"],
        serde_json::json!({"errcode": 0, "errmsg": "ok"})
    );
    assert!(case["now"].is_i64(), "{text}");

    // Replayed offline: the server is gone.
    drop(server);
    let replay = spec(["test", path(&specs)]);
    replay.expect_code(0);
    assert!(
        replay.stderr.contains("ok      dingtalk/deploy-done"),
        "{}",
        replay.stderr
    );
}

/// `spec exec trigger --record`: a fresh state, every record emitted and
/// kept as the case's output; the bearer token becomes the fake one.
#[test]
fn exec_trigger_record_writes_a_case_that_replays() {
    use wiremock::matchers::{method, path as url_path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const TOKEN: &str = "uskREALtokenValue123";
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(MockServer::start());
    runtime.block_on(
        Mock::given(method("GET"))
            .and(url_path("/datasheets/dstA1b2C3d4E5/records"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "success": true, "code": 200, "message": "SUCCESS",
                "data": {"total": 1, "pageNum": 1, "pageSize": 1000, "records": [
                    {"recordId": "rec0002", "fields": {"Title": "Send the quote"},
                     "createdAt": 1721010225000_u64, "updatedAt": 1721013825000_u64}
                ]}
            })))
            .mount(&server),
    );
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::copy(
        crate::common::root().join("specs/vika.yaml"),
        specs.join("vika.yaml"),
    )
    .unwrap();
    let mut command = crate::common::spec_command();
    command
        .args([
            "exec",
            "trigger",
            "vika",
            "new_record",
            "--specs",
            path(&specs),
        ])
        .args([
            "--base-url",
            &server.uri(),
            "-i",
            "datasheet_id=dstA1b2C3d4E5",
        ])
        .args(["--record", "one-record"])
        .env("SPEC_CREDENTIALS_FILE", dir.path().join("credentials.toml"))
        .env("SPEC_VIKA_TOKEN", TOKEN);
    let run = crate::common::run(command);
    run.expect_code(0);
    assert!(run.stdout.contains("rec0002"), "{}", run.stdout);
    let text = std::fs::read_to_string(specs.join("tests/vika/one-record.json")).unwrap();
    assert!(!text.contains(TOKEN), "{text}");
    assert!(text.contains("Bearer fake-token"), "{text}");
    let case: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(case["output"][0]["recordId"], "rec0002", "{text}");
    drop(server);
    spec(["test", path(&specs), "vika"]).expect_code(0);
}

#[test]
fn spec_test_reports_cases_of_a_missing_connector() {
    let dir = tushare_copy();
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(specs.join("tests/gone")).unwrap();
    let run = spec(["test", path(&specs)]);
    run.expect_code(1);
    assert!(run.stderr.contains("no connector `gone`"), "{}", run.stderr);
}

/// A connector whose only cases are hand-written in the spec.
const HAND_WRITTEN: &str = r#"spec_version: 1
app:
  id: 9101
  key: fakeshop
  name: FakeShop
  category: ecommerce
  base_url: https://api.fakeshop.example.com/v1
auth:
  type: api_key
  fields:
    - {key: api_key, label: API key, secret: true}
    - {key: shop, label: Shop}
  place:
    - {in: header, name: X-Api-Key, value: "{{ auth.api_key }}"}
actions:
  - id: 910101
    key: get_order
    name: Get order
    is_end: true
    input:
      - {key: order_id, type: string, required: true}
    request:
      method: GET
      path: /{{ auth.shop }}/orders/{{ input.order_id }}
    response:
      error_message: body.error
    result: body.order
    output:
      - {key: order_id, type: string}
      - {key: total, type: number}
    tests:
      - name: found
        input: {order_id: FAKE-1}
        credentials: {shop: corner}
        responses:
          - request:
              method: GET
              url: https://api.fakeshop.example.com/v1/corner/orders/FAKE-1
              headers: {x-api-key: fake-api_key}
            body: {order: {order_id: FAKE-1, total: 12.5}}
        output: {order_id: FAKE-1, total: 12.5}
      - name: not found
        input: {order_id: FAKE-404}
        responses:
          - status: 404
            body: {error: no such order}
        error: {kind: api, status: 404, message: "{{ volatile }}no such order{{ volatile }}"}
      - name: the order id is required
        error: {kind: input}
      - name: throttled once, then found
        input: {order_id: FAKE-1}
        responses:
          - status: 429
            headers: {retry-after: "30"}
            body: {error: slow down}
          - body: {order: {order_id: FAKE-1, total: 12.5}}
        output: {order_id: FAKE-1, total: 12.5}
triggers:
  - id: 910201
    key: new_order
    name: New order
    request:
      method: GET
      path: /orders
      query: {page: "{{ page.number }}"}
    records: body.orders
    pagination: {type: page_number, size: 2}
    dedupe: {key: [order_id]}
    output:
      - {key: order_id, type: string}
    sample: {order_id: FAKE-1}
    tests:
      - name: two pages
        responses:
          - request: {url: "https://api.fakeshop.example.com/v1/orders?page=1"}
            body: {orders: [{order_id: FAKE-1}, {order_id: FAKE-2}]}
          - request: {url: "https://api.fakeshop.example.com/v1/orders?page=2"}
            body: {orders: [{order_id: FAKE-3}]}
        output: [{order_id: FAKE-1}, {order_id: FAKE-2}, {order_id: FAKE-3}]
"#;

fn hand_written_specs(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::write(specs.join("fakeshop.yaml"), text).unwrap();
    (dir, specs)
}

#[test]
fn hand_written_cases_in_the_spec_run_offline() {
    let (_dir, specs) = hand_written_specs(HAND_WRITTEN);
    spec(["validate", path(&specs)]).expect_code(0);
    let started = std::time::Instant::now();
    let run = spec(["test", path(&specs)]);
    run.expect_code(0);
    // Not a speed target: a hang guard. The 429's `Retry-After: 30` is
    // obeyed (the retry happens) without waiting 30 s.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "replay waited out a recorded Retry-After"
    );
    assert!(
        run.stderr
            .contains("ok      fakeshop/get_order: throttled once, then found"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("5 case(s): 5 passed, 0 failed"),
        "{}",
        run.stderr
    );
    // Reported by name, at the case's line in the spec.
    assert!(
        run.stderr.contains("ok      fakeshop/get_order: found (")
            && run.stderr.contains("fakeshop.yaml:32)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("ok      fakeshop/new_order: two pages"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("has no test case"), "{}", run.stderr);
}

#[test]
fn hand_written_cases_fail_with_a_diff_and_are_never_rewritten() {
    let broken = HAND_WRITTEN
        // The expected output is wrong.
        .replacen(
            "        output: {order_id: FAKE-1, total: 12.5}",
            "        output: {order_id: FAKE-1, total: 13}",
            1,
        )
        // The request checks no longer hold.
        .replace(
            "headers: {x-api-key: fake-api_key}",
            "headers: {x-api-key: another-key}",
        )
        // A response that no request uses.
        .replace(
            "            body: {orders: [{order_id: FAKE-3}]}\n",
            "            body: {orders: [{order_id: FAKE-3}]}\n          - body: {orders: []}\n",
        )
        // The wrong error kind.
        .replace("error: {kind: input}", "error: {kind: api}");
    let (_dir, specs) = hand_written_specs(&broken);
    let file = specs.join("fakeshop.yaml");
    let run = spec(["test", path(&specs)]);
    run.expect_code(1);
    let err = &run.stderr;
    assert!(err.contains("5 case(s): 2 passed, 3 failed"), "{err}");
    assert!(
        err.contains("ok      fakeshop/get_order: not found"),
        "{err}"
    );
    assert!(err.contains("FAIL    fakeshop/get_order: found ("), "{err}");
    assert!(err.contains("-   \"total\": 13"), "{err}");
    assert!(err.contains("+   \"total\": 12.5"), "{err}");
    assert!(err.contains("- x-api-key: another-key"), "{err}");
    assert!(err.contains("+ x-api-key: fake-api_key"), "{err}");
    assert!(
        err.contains("3 response(s) given, but only 2 request(s) made"),
        "{err}"
    );
    assert!(err.contains("expected the api error"), "{err}");
    assert!(err.contains("input error: "), "{err}");

    // GitHub annotations point at the case's line.
    let github = spec(["test", path(&specs), "--format", "github"]);
    assert!(
        github.stdout.contains("fakeshop.yaml,line=32,title=spec test fakeshop/get_order%3A found::request 1 differs from the expected one"),
        "{}",
        github.stdout
    );

    // --update never rewrites a spec.
    let before = std::fs::read(&file).unwrap();
    let update = spec(["test", path(&specs), "--update"]);
    update.expect_code(1);
    assert!(
        update.stderr.contains("edit it by hand"),
        "{}",
        update.stderr
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

/// The clean fixtures' hand-written cases use every key of a case.
#[test]
fn the_clean_fixtures_cases_pass() {
    let run = spec(["test", "tests/fixtures/valid"]);
    run.expect_code(0);
    assert!(run.stderr.contains(" 0 failed"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("ok      fakeshop/create_order: refused"),
        "{}",
        run.stderr
    );
}

#[test]
fn expected_errors_compare_the_code_and_status_they_give() {
    let wrong_status = HAND_WRITTEN.replace("status: 404, message", "status: 410, message");
    let (_dir, specs) = hand_written_specs(&wrong_status);
    let run = spec(["test", path(&specs)]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("FAIL    fakeshop/get_order: not found"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("expected the api error `{{ volatile }}no such order{{ volatile }}` with HTTP status 410"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("HTTP status 404"), "{}", run.stderr);

    // Each expected detail line must be among the error's details.
    let details = HAND_WRITTEN.replace(
        "error: {kind: input}",
        "error: {kind: input, details: [\"order_id: is required{{ volatile }}\"]}",
    );
    let (_dir, specs) = hand_written_specs(&details);
    spec(["test", path(&specs)]).expect_code(0);
    let missing = HAND_WRITTEN.replace(
        "error: {kind: input}",
        "error: {kind: input, details: [\"order_id: is required{{ volatile }}\", \"total: {{ volatile }}\"]}",
    );
    let (_dir, specs) = hand_written_specs(&missing);
    let run = spec(["test", path(&specs)]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("expected the input error\n      - order_id: is required{{ volatile }}\n      - total: {{ volatile }}"),
        "{}",
        run.stderr
    );
}

#[test]
fn actions_without_any_case_are_noted() {
    // The trigger's cases cut off: it has none, and no case file either.
    let at = HAND_WRITTEN
        .find("    tests:\n      - name: two pages")
        .unwrap();
    let (_dir, specs) = hand_written_specs(&HAND_WRITTEN[..at]);
    let run = spec(["test", path(&specs)]);
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("note: fakeshop: trigger new_order has no test case"),
        "{}",
        run.stderr
    );
}

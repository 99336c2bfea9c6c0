//! `spec exec trigger` through the real binary: every pagination style
//! against in-process mock servers shaped like the example connectors'
//! APIs (Jushuitan `start_ts`, Shopify's Link header, OneNote's
//! `@odata.nextLink`, Vika's page numbers, AfterShip's cursor), a real
//! json-server 0.17.4, a crash between fetch and commit, two pollers at
//! once, a corrupt state, and the SQLite, PostgreSQL and Redis stores.
//!
//! PostgreSQL and Redis come from `SPEC_TEST_POSTGRES_URL` and
//! `SPEC_TEST_REDIS_URL` (defaults: the local services); json-server from
//! `tests/interop/node_modules`. Where one is missing the test says so and
//! passes, unless `SPEC_TEST_REQUIRE_SERVICES=1` (set by `.ci/run`).

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

use crate::common::mock::{Home, MockApi as Server};
use crate::common::{Run, fixture, root};

/// The JSON lines of stdout.
fn lines(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{run:?}")))
        .collect()
}

fn field(records: &[Value], key: &str) -> Vec<Value> {
    records.iter().map(|r| r[key].clone()).collect()
}

fn query(request: &Request, key: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn require_services() -> bool {
    std::env::var_os("SPEC_TEST_REQUIRE_SERVICES").is_some()
}

// ---------------------------------------------------------------------------
// Jushuitan: page numbers inside a form field, `start_ts` cursor, ts >= start_ts

fn jushuitan_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("SPEC_JUSHUITAN_APP_KEY", "fake-app-key"),
        ("SPEC_JUSHUITAN_APP_SECRET", "fake-jst-app-secret-c0ffee"),
        ("SPEC_JUSHUITAN_ACCESS_TOKEN", "fake-jst-access-token-beef"),
    ]
}

fn biz(request: &Request) -> Value {
    let form: Vec<(String, String)> = form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let biz = form.iter().find(|(k, _)| k == "biz").expect("a biz field");
    serde_json::from_str(&biz.1).unwrap()
}

#[test]
fn jushuitan_new_order_pages_from_start_ts_and_drops_the_repeated_newest() {
    let orders: Arc<Mutex<Vec<Value>>> = Arc::new(Mutex::new(
        (1..=150)
            .map(|i| json!({"o_id": 1000 + i, "ts": i, "status": "WaitConfirm"}))
            .collect(),
    ));
    let server = Server::start();
    let shared = orders.clone();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/open/orders/single/query"))
            .respond_with(move |request: &Request| {
                let biz = biz(request);
                let start = biz["start_ts"].as_i64().unwrap();
                let index = biz["page_index"].as_u64().unwrap() as usize;
                let size = biz["page_size"].as_u64().unwrap() as usize;
                let matching: Vec<Value> = shared
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|o| o["ts"].as_i64().unwrap() >= start)
                    .cloned()
                    .collect();
                let page: Vec<Value> = matching
                    .iter()
                    .skip((index - 1) * size)
                    .take(size)
                    .cloned()
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({
                    "code": 0, "msg": null,
                    "data": {"orders": page, "has_next": index * size < matching.len()}
                }))
            }),
    );
    let home = Home::new();
    let env = jushuitan_env();
    let args = [
        "exec",
        "trigger",
        "jushuitan",
        "new_order",
        "--specs",
        "specs",
        "--base-url",
        &server.uri(),
    ];
    let first = home.spec(&args, &env);
    first.expect_code(0);
    assert_eq!(first.stdout, "", "a first poll only seeds");
    assert!(
        first.stderr.contains("150 record(s) seen"),
        "{}",
        first.stderr
    );
    let pages: Vec<Value> = server.requests().iter().map(biz).collect();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0]["start_ts"], 0);
    assert_eq!(pages[1]["page_index"], 2);

    orders
        .lock()
        .unwrap()
        .extend((151..=153).map(|i| json!({"o_id": 1000 + i, "ts": i})));
    // An update to an old order gets a new ts: a new (o_id, ts) key.
    orders
        .lock()
        .unwrap()
        .push(json!({"o_id": 1001, "ts": 154}));
    server.reset_journal();
    let second = home.spec(&args, &env);
    second.expect_code(0);
    let records = lines(&second);
    assert_eq!(
        field(&records, "ts"),
        [json!(151), json!(152), json!(153), json!(154)]
    );
    assert_eq!(records[3]["o_id"], 1001);
    let pages: Vec<Value> = server.requests().iter().map(biz).collect();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0]["start_ts"], 150, "state.cursor is the newest ts");

    server.reset_journal();
    let third = home.spec(&args, &env);
    third.expect_code(0);
    assert_eq!(third.stdout, "", "the ts >= start_ts repeat is deduped");
    assert_eq!(biz(&server.requests()[0])["start_ts"], 154);
}

// ---------------------------------------------------------------------------
// Shopify: the Link header's rel="next"

fn shopify_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("SPEC_SHOPIFY_SHOP", "fake-shop"),
        (
            "SPEC_SHOPIFY_ACCESS_TOKEN",
            "shpat_fake0000000000000000000000",
        ),
    ]
}

#[test]
fn shopify_orders_follow_the_link_header_oldest_first() {
    let server = Server::start();
    let base = server.uri();
    let order =
        |id: u64, updated: &str| json!({"id": id, "name": format!("#{id}"), "updated_at": updated});
    let next = format!("<{base}/orders.json?limit=250&page_info=p2>; rel=\"next\"");
    let first_page =
        json!({"orders": [order(1, "2099-07-15T10:00:00Z"), order(2, "2099-07-15T10:05:00Z")]});
    let second_page = json!({"orders": [order(3, "2099-07-15T10:09:00Z")]});
    server.mount(
        Mock::given(method("GET"))
            .and(path("/orders.json"))
            .respond_with(move |request: &Request| {
                if query(request, "page_info").as_deref() == Some("p2") {
                    ResponseTemplate::new(200).set_body_json(second_page.clone())
                } else {
                    ResponseTemplate::new(200)
                        .insert_header("Link", next.as_str())
                        .set_body_json(first_page.clone())
                }
            }),
    );
    let home = Home::new();
    let args = [
        "exec",
        "trigger",
        "shopify",
        "new_or_updated_order",
        "--specs",
        "specs",
        "--base-url",
        &base,
        "--emit-initial",
        "all",
    ];
    let first = home.spec(&args, &shopify_env());
    first.expect_code(0);
    assert_eq!(field(&lines(&first), "id"), [json!(1), json!(2), json!(3)]);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(query(&requests[0], "updated_at_min").is_some());
    // The next link is followed verbatim: the spec's query is not added.
    assert_eq!(query(&requests[1], "page_info").as_deref(), Some("p2"));
    assert_eq!(query(&requests[1], "status"), None);
    assert!(
        requests[1].headers.get("x-shopify-access-token").is_some(),
        "later pages are authenticated too"
    );

    server.reset_journal();
    let second = home.spec(&args, &shopify_env());
    second.expect_code(0);
    assert_eq!(second.stdout, "");
    assert_eq!(
        query(&server.requests()[0], "updated_at_min").as_deref(),
        Some("2099-07-15T10:09:00Z"),
        "state.cursor is the newest updated_at"
    );
}

#[test]
fn a_next_link_to_another_host_is_not_followed() {
    let server = Server::start();
    server.mount(
        Mock::given(method("GET"))
            .and(path("/orders.json"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header(
                        "Link",
                        "<https://attacker.example/orders.json?page_info=x>; rel=\"next\"",
                    )
                    .set_body_json(json!({"orders": [{"id": 1, "updated_at": "x"}]})),
            ),
    );
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "trigger",
            "shopify",
            "new_or_updated_order",
            "--specs",
            "specs",
            "--base-url",
            &server.uri(),
        ],
        &shopify_env(),
    );
    run.expect_code(5);
    assert!(run.stderr.contains("another origin"), "{}", run.stderr);
    assert_eq!(server.requests().len(), 1);
    assert!(!home.state_file().exists() || run.stdout.is_empty());
}

// ---------------------------------------------------------------------------
// OneNote: @odata.nextLink, newest first

#[test]
fn onenote_notebooks_follow_odata_next_link_and_come_out_oldest_first() {
    let notebooks: Arc<Mutex<Vec<Value>>> = Arc::new(Mutex::new(
        (1..=5)
            .rev()
            .map(|i| json!({"id": format!("nb-{i}"), "displayName": format!("Notebook {i}")}))
            .collect(),
    ));
    let server = Server::start();
    let base = server.uri();
    let shared = notebooks.clone();
    server.mount(
        Mock::given(method("GET"))
            .and(path("/me/onenote/notebooks"))
            .respond_with(move |request: &Request| {
                let skip: usize = query(request, "$skip").map_or(0, |s| s.parse().unwrap());
                let all = shared.lock().unwrap().clone();
                let page: Vec<Value> = all.iter().skip(skip).take(2).cloned().collect();
                let mut body = json!({"value": page});
                if skip + 2 < all.len() {
                    body["@odata.nextLink"] = json!(format!(
                        "{base}/me/onenote/notebooks?$orderby=createdDateTime%20desc&$top=2&$skip={}",
                        skip + 2
                    ));
                }
                ResponseTemplate::new(200).set_body_json(body)
            }),
    );
    let home = Home::new();
    let env = [
        ("SPEC_ONENOTE_CLIENT_ID", "fake-client-id"),
        ("SPEC_ONENOTE_CLIENT_SECRET", "fake-client-secret"),
        ("SPEC_ONENOTE_ACCESS_TOKEN", "fake-graph-token"),
    ];
    let args = [
        "exec",
        "trigger",
        "onenote",
        "new_notebook",
        "--specs",
        "specs",
        "--base-url",
        &server.uri(),
    ];
    let mut first_args = args.to_vec();
    first_args.extend(["--emit-initial", "2"]);
    let first = home.spec(&first_args, &env);
    first.expect_code(0);
    assert_eq!(
        field(&lines(&first), "id"),
        [json!("nb-4"), json!("nb-5")],
        "the newest two, oldest first"
    );
    assert_eq!(server.requests().len(), 3);

    notebooks.lock().unwrap().insert(0, json!({"id": "nb-6"}));
    notebooks.lock().unwrap().insert(0, json!({"id": "nb-7"}));
    notebooks.lock().unwrap().insert(0, json!({"id": "nb-8"}));
    server.reset_journal();
    let second = home.spec(&args, &env);
    second.expect_code(0);
    assert_eq!(
        field(&lines(&second), "id"),
        [json!("nb-6"), json!("nb-7"), json!("nb-8")]
    );
    // Page 2 holds nb-6 and nb-5 (seen): older pages are not fetched.
    assert_eq!(server.requests().len(), 2);
}

// ---------------------------------------------------------------------------
// Vika: page numbers with has_more from the envelope

#[test]
fn vika_records_page_by_number_until_total() {
    let total = Arc::new(Mutex::new(2500usize));
    let server = Server::start();
    let shared = total.clone();
    server.mount(
        Mock::given(method("GET"))
            .and(path("/datasheets/dstA1b2C3d4E5/records"))
            .respond_with(move |request: &Request| {
                let number: usize = query(request, "pageNum").unwrap().parse().unwrap();
                let size: usize = query(request, "pageSize").unwrap().parse().unwrap();
                let total = *shared.lock().unwrap();
                let records: Vec<Value> = ((number - 1) * size..(number * size).min(total))
                    .map(|i| json!({"recordId": format!("rec{i:05}"), "fields": {"Title": format!("row {i}")}}))
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({
                    "success": true, "code": 200, "message": "SUCCESS",
                    "data": {"total": total, "pageNum": number, "pageSize": size, "records": records}
                }))
            }),
    );
    let home = Home::new();
    let env = [("SPEC_VIKA_TOKEN", "fake-vika-token")];
    let args = [
        "exec",
        "trigger",
        "vika",
        "new_record",
        "--specs",
        "specs",
        "--base-url",
        &server.uri(),
        "-i",
        "datasheet_id=dstA1b2C3d4E5",
    ];
    let mut first_args = args.to_vec();
    first_args.extend(["--emit-initial", "all"]);
    let first = home.spec(&first_args, &env);
    first.expect_code(0);
    let records = lines(&first);
    assert_eq!(records.len(), 2500);
    assert_eq!(records[0]["recordId"], "rec00000");
    assert_eq!(records[2499]["recordId"], "rec02499");
    let numbers: Vec<_> = server
        .requests()
        .iter()
        .map(|r| query(r, "pageNum").unwrap())
        .collect();
    assert_eq!(numbers, ["1", "2", "3"]);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| query(r, "viewId").is_none())
    );

    *total.lock().unwrap() = 2502;
    let second = home.spec(&args, &env);
    second.expect_code(0);
    assert_eq!(
        field(&lines(&second), "recordId"),
        [json!("rec02500"), json!("rec02501")]
    );

    // --max-pages stops early and says so.
    let limited = home.spec(&[&args[..], &["--max-pages", "1"]].concat(), &env);
    limited.expect_code(0);
    assert!(
        limited.stderr.contains("stopped after 1 pages"),
        "{}",
        limited.stderr
    );
}

// ---------------------------------------------------------------------------
// AfterShip: a cursor from the body

#[test]
fn aftership_trackings_page_by_body_cursor() {
    let server = Server::start();
    server.mount(
        Mock::given(method("GET"))
            .and(path("/trackings"))
            .respond_with(move |request: &Request| {
                let (trackings, next) = match query(request, "cursor").as_deref() {
                    None => (vec!["t1", "t2"], json!("c2")),
                    Some("c2") => (vec!["t3"], json!(null)),
                    Some(other) => panic!("unexpected cursor {other}"),
                };
                let trackings: Vec<Value> = trackings
                    .iter()
                    .map(|id| json!({"id": id, "updated_at": format!("2024-07-15T06:00:0{}+00:00", &id[1..])}))
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({
                    "meta": {"code": 200},
                    "data": {"trackings": trackings,
                             "pagination": {"next_cursor": next, "has_next_page": !next.is_null()}}
                }))
            }),
    );
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "trigger",
            "aftership",
            "tracking_updated",
            "--specs",
            "specs",
            "--base-url",
            &server.uri(),
            "--emit-initial",
            "all",
        ],
        &[("SPEC_AFTERSHIP_API_KEY", "fake-aftership-key")],
    );
    run.expect_code(0);
    assert_eq!(
        field(&lines(&run), "id"),
        [json!("t1"), json!("t2"), json!("t3")]
    );
    let cursors: Vec<_> = server
        .requests()
        .iter()
        .map(|r| query(r, "cursor"))
        .collect();
    assert_eq!(cursors, [None, Some("c2".to_string())]);
}

#[test]
fn sample_prints_the_spec_sample_without_polling() {
    let home = Home::new();
    let run = home.spec(
        &[
            "exec",
            "trigger",
            "vika",
            "new_record",
            "--specs",
            "specs",
            "--sample",
        ],
        &[],
    );
    run.expect_code(0);
    assert_eq!(lines(&run)[0]["recordId"], "rec0002");
}

// ---------------------------------------------------------------------------
// The `items` fixture: Link header paging over a growing collection

/// A wiremock collection like json-server's: `_page`/`_limit`, Link header.
fn items_server(items: Arc<Mutex<Vec<Value>>>, delay: Duration) -> Server {
    let server = Server::start();
    let base = server.uri();
    server.mount(Mock::given(method("GET")).and(path("/items")).respond_with(
        move |request: &Request| {
            let page: usize = query(request, "_page").map_or(1, |p| p.parse().unwrap());
            let limit: usize = query(request, "_limit").map_or(10, |p| p.parse().unwrap());
            let all = items.lock().unwrap().clone();
            let body: Vec<Value> = all
                .iter()
                .skip((page - 1) * limit)
                .take(limit)
                .cloned()
                .collect();
            let mut response = ResponseTemplate::new(200)
                .set_delay(delay)
                .set_body_json(body);
            if page * limit < all.len() {
                response = response.insert_header(
                    "Link",
                    format!(
                        "<{base}/items?_page={}&_limit={limit}>; rel=\"next\"",
                        page + 1
                    )
                    .as_str(),
                );
            }
            response
        },
    ));
    server
}

fn item(id: u64) -> Value {
    json!({"id": id, "title": format!("item {id}")})
}

fn items_args(base: &str) -> Vec<String> {
    [
        "exec",
        "trigger",
        fixture("triggers/items.yaml").to_str().unwrap(),
        "new_item",
        "--base-url",
        base,
        "--subscription",
        "items-test",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

const ITEMS_ENV: &[(&str, &str)] = &[("SPEC_ITEMS_TOKEN", "fake-items-token")];

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn a_crash_between_fetch_and_commit_delivers_the_items_again() {
    let items = Arc::new(Mutex::new((1..=7).map(item).collect::<Vec<_>>()));
    let server = items_server(items.clone(), Duration::ZERO);
    let home = Home::new();
    let mut args = items_args(&server.uri());
    args.extend(["--lease-seconds".to_string(), "1".to_string()]);
    home.spec(&strs(&args), ITEMS_ENV).expect_code(0);
    items.lock().unwrap().extend((8..=9).map(item));

    let crashed = home
        .command(&strs(&args), ITEMS_ENV)
        .env("SPEC_TEST_CRASH_BEFORE_COMMIT", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!crashed.status.success(), "the injected crash aborts");
    assert_eq!(crashed.status.code(), None, "killed by SIGABRT");
    let written = String::from_utf8_lossy(&crashed.stdout).into_owned();
    assert_eq!(
        written.lines().count(),
        2,
        "written out before the crash: {written}"
    );

    // The crashed poll still holds the lease until it expires.
    let busy = home.spec(&strs(&args), ITEMS_ENV);
    busy.expect_code(8);
    std::thread::sleep(Duration::from_millis(1100));
    let again = home.spec(&strs(&args), ITEMS_ENV);
    again.expect_code(0);
    assert_eq!(
        field(&lines(&again), "id"),
        [json!(8), json!(9)],
        "re-delivered"
    );
    let after = home.spec(&strs(&args), ITEMS_ENV);
    after.expect_code(0);
    assert_eq!(after.stdout, "", "committed now");
}

#[test]
fn two_concurrent_pollers_emit_each_item_once() {
    let items = Arc::new(Mutex::new((1..=4).map(item).collect::<Vec<_>>()));
    let server = items_server(items.clone(), Duration::from_millis(150));
    let home = Home::new();
    let args = items_args(&server.uri());
    home.spec(&strs(&args), ITEMS_ENV).expect_code(0);
    let mut emitted: Vec<u64> = Vec::new();
    let mut busy = 0;
    for round in 0..4u64 {
        let first = 5 + round * 3;
        items.lock().unwrap().extend((first..first + 3).map(item));
        let children: Vec<_> = (0..2)
            .map(|_| {
                home.command(&strs(&args), ITEMS_ENV)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            match output.status.code() {
                Some(0) => {}
                Some(8) => {
                    busy += 1;
                    assert!(stderr.contains("another poller holds"), "{stderr}");
                    assert!(output.stdout.is_empty());
                }
                other => panic!("exit {other:?}: {stderr}"),
            }
            for line in String::from_utf8_lossy(&output.stdout).lines() {
                let record: Value = serde_json::from_str(line).unwrap();
                emitted.push(record["id"].as_u64().unwrap());
            }
        }
    }
    // A poller that lost the race in one round polls again in the next:
    // one last poll collects anything still pending.
    let last = home.spec(&strs(&args), ITEMS_ENV);
    last.expect_code(0);
    emitted.extend(lines(&last).iter().map(|r| r["id"].as_u64().unwrap()));
    let mut sorted = emitted.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (5..17).collect::<Vec<u64>>(),
        "each item exactly once"
    );
    assert!(busy > 0, "the pollers overlapped at least once");
}

#[test]
fn a_corrupt_state_is_an_error_naming_the_store_and_how_to_reset() {
    let items = Arc::new(Mutex::new((1..=3).map(item).collect::<Vec<_>>()));
    let server = items_server(items, Duration::ZERO);
    let home = Home::new();
    let args = items_args(&server.uri());
    home.spec(&strs(&args), ITEMS_ENV).expect_code(0);
    let state = home.state_file();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            use spec::state::StateStore as _;
            let store = spec::state::SqliteStore::open(&state).await.unwrap();
            let ttl = Duration::from_secs(5);
            assert!(matches!(
                store.acquire("items-test", "t", ttl).await.unwrap(),
                spec::state::Lease::Held(Some(_))
            ));
            assert!(
                store
                    .commit("items-test", "t", Some("{\"seen\": 3"))
                    .await
                    .unwrap()
            );
            store.release("items-test", "t").await.unwrap();
        });
    let corrupt = home.spec(&strs(&args), ITEMS_ENV);
    corrupt.expect_code(7);
    for needle in [
        "items-test",
        "corrupt",
        "not JSON",
        "SQLite file",
        "--reset-state",
    ] {
        assert!(
            corrupt.stderr.contains(needle),
            "{needle}: {}",
            corrupt.stderr
        );
    }
    let again = home.spec(&strs(&args), ITEMS_ENV);
    again.expect_code(7);
    let reset = home.spec(&[&strs(&args)[..], &["--reset-state"]].concat(), ITEMS_ENV);
    reset.expect_code(0);
    assert!(reset.stderr.contains("first poll"), "{}", reset.stderr);
    home.spec(&strs(&args), ITEMS_ENV).expect_code(0);
}

// ---------------------------------------------------------------------------
// json-server 0.17.4: page numbers with Link headers, items appearing

struct JsonServer {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for JsonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json_server(items: usize) -> Option<JsonServer> {
    let bin = root().join("tests/interop/node_modules/.bin/json-server");
    if !bin.exists() {
        assert!(
            !require_services(),
            "json-server is required (SPEC_TEST_REQUIRE_SERVICES) but {} is missing",
            bin.display()
        );
        eprintln!("note: json-server not installed (npm ci in tests/interop); skipped");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.json");
    let items: Vec<Value> = (1..=items as u64).map(item).collect();
    std::fs::write(&db, json!({"items": items}).to_string()).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(bin)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--quiet",
        ])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let server = JsonServer {
        child,
        url,
        _dir: dir,
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(server);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("json-server did not start on port {port}");
}

fn post_item(url: &str, title: &str) {
    let mut stream = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    let body = json!({"title": title}).to_string();
    let request = format!(
        "POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    use std::io::{Read, Write};
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}

#[test]
fn json_server_link_header_paging_with_items_appearing_between_polls() {
    let Some(server) = json_server(23) else {
        return;
    };
    let home = Home::new();
    let args = items_args(&server.url);
    let first = home.spec(&strs(&args), ITEMS_ENV);
    first.expect_code(0);
    assert!(
        first.stderr.contains("23 record(s) seen"),
        "{}",
        first.stderr
    );
    post_item(&server.url, "new 24");
    post_item(&server.url, "new 25");
    let second = home.spec(&strs(&args), ITEMS_ENV);
    second.expect_code(0);
    assert_eq!(
        field(&lines(&second), "title"),
        [json!("new 24"), json!("new 25")]
    );
    let third = home.spec(&strs(&args), ITEMS_ENV);
    third.expect_code(0);
    assert_eq!(third.stdout, "");
}

// ---------------------------------------------------------------------------
// PostgreSQL and Redis stores

static UNIQUE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        UNIQUE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The lease contract every store keeps.
async fn check_store(store: &dyn spec::state::StateStore, subscription: &str) {
    use spec::state::Lease;
    let ttl = Duration::from_secs(30);
    assert_eq!(
        store.acquire(subscription, "a", ttl).await.unwrap(),
        Lease::Held(None)
    );
    assert_eq!(
        store.acquire(subscription, "b", ttl).await.unwrap(),
        Lease::Busy
    );
    assert!(store.renew(subscription, "a", ttl).await.unwrap());
    assert!(!store.renew(subscription, "b", ttl).await.unwrap());
    assert!(!store.commit(subscription, "b", Some("x")).await.unwrap());
    assert!(
        store
            .commit(subscription, "a", Some("{\"v\":1}"))
            .await
            .unwrap()
    );
    store.release(subscription, "a").await.unwrap();
    assert_eq!(
        store.acquire(subscription, "b", ttl).await.unwrap(),
        Lease::Held(Some("{\"v\":1}".into()))
    );
    store.release(subscription, "b").await.unwrap();
    // An expired lease is taken over; the old holder can no longer commit.
    assert!(matches!(
        store
            .acquire(subscription, "c", Duration::from_millis(50))
            .await
            .unwrap(),
        Lease::Held(_)
    ));
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(matches!(
        store.acquire(subscription, "d", ttl).await.unwrap(),
        Lease::Held(_)
    ));
    assert!(!store.commit(subscription, "c", Some("late")).await.unwrap());
    store.release(subscription, "d").await.unwrap();
}

/// Polls the items fixture with `--state URL`: seed, then the new items.
fn poll_with_state(url: &str) {
    let items = Arc::new(Mutex::new((1..=6).map(item).collect::<Vec<_>>()));
    let server = items_server(items.clone(), Duration::ZERO);
    let home = Home::new();
    let mut args = items_args(&server.uri());
    args.extend(["--state".to_string(), url.to_string()]);
    home.spec(&strs(&args), ITEMS_ENV).expect_code(0);
    items.lock().unwrap().push(item(7));
    let second = home.spec(&strs(&args), ITEMS_ENV);
    second.expect_code(0);
    assert_eq!(field(&lines(&second), "id"), [json!(7)]);
    assert!(
        !home.state_file().exists(),
        "nothing went to the default file"
    );
}

#[test]
fn sqlite_store_keeps_the_lease_contract() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("state.sqlite");
    block_on(async {
        let store = spec::state::SqliteStore::open(&path).await.unwrap();
        check_store(&store, "sqlite-sub").await;
    });
    poll_with_state(&format!(
        "sqlite:{}",
        dir.path().join("other.sqlite").display()
    ));
}

#[test]
fn postgres_store_keeps_the_lease_contract_and_serves_polls() {
    let server = std::env::var("SPEC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let database = unique("spec_trigger");
    let admin = format!("{}/postgres", server.trim_end_matches('/'));
    let created = block_on(async {
        use sqlx::Connection as _;
        let mut connection = sqlx::PgConnection::connect(&admin).await?;
        sqlx::query(&format!("CREATE DATABASE {database}"))
            .execute(&mut connection)
            .await?;
        Ok::<_, sqlx::Error>(())
    });
    if let Err(error) = created {
        assert!(
            !require_services(),
            "PostgreSQL is required (SPEC_TEST_POSTGRES_URL) but unreachable: {error}"
        );
        eprintln!("note: PostgreSQL unreachable, its trigger checks did not run: {error}");
        return;
    }
    let url = format!("{}/{database}", server.trim_end_matches('/'));
    let outcome = std::panic::catch_unwind(|| {
        block_on(async {
            let store = spec::state::PostgresStore::connect(&url).await.unwrap();
            check_store(&store, "pg-sub").await;
        });
        poll_with_state(&url);
    });
    block_on(async {
        use sqlx::Connection as _;
        if let Ok(mut connection) = sqlx::PgConnection::connect(&admin).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                .execute(&mut connection)
                .await;
        }
    });
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn redis_store_keeps_the_lease_contract_and_serves_polls() {
    let server =
        std::env::var("SPEC_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("{}:", unique("spec_test_trigger"));
    let url = format!("{}/0?key_prefix={prefix}", server.trim_end_matches('/'));
    // Each runtime needs its own connection: probe here, connect again below.
    match block_on(spec::state::RedisStore::connect(&url)) {
        Ok(_) => {}
        Err(error) => {
            assert!(
                !require_services(),
                "Redis is required (SPEC_TEST_REDIS_URL) but unreachable: {error}"
            );
            eprintln!("note: Redis unreachable, its trigger checks did not run: {error}");
            return;
        }
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        block_on(async {
            let store = spec::state::RedisStore::connect(&url).await.unwrap();
            check_store(&store, "redis-sub").await;
        });
        poll_with_state(&url);
    }));
    // Delete every key under the test's prefix.
    block_on(async {
        let client = redis::Client::open(format!("{}/0", server.trim_end_matches('/'))).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut connection)
            .await
            .unwrap();
        for key in keys {
            let _: i64 = redis::cmd("DEL")
                .arg(key)
                .query_async(&mut connection)
                .await
                .unwrap();
        }
    });
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

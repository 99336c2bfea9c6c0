//! The interpreter as a library ([`spec::runtime::Engine`]): one engine
//! shared by concurrent calls, session tokens fetched once and reused,
//! retries of a retry-safe POST, output warnings — against wiremock.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use spec::model::Connector;
use spec::runtime::{Call, Credentials, Engine, ExecErrorKind, HttpSettings, RetryPolicy};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{fixture, root};

fn connector(path: std::path::PathBuf, key: &str) -> Connector {
    let project = spec::validate::validate(&[path]).expect("spec loads");
    assert!(!project.has_errors(), "{:?}", project.diagnostics);
    project
        .connectors
        .into_iter()
        .map(|c| c.model)
        .find(|c| c.app.key == key)
        .unwrap()
}

/// Fast retries: tests wait milliseconds, not seconds.
fn engine() -> Engine {
    Engine::new(HttpSettings {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(5),
            wait: true,
        },
        ..HttpSettings::default()
    })
    .unwrap()
}

fn credentials(pairs: &[(&str, &str)]) -> Credentials {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_token_is_fetched_once_and_renewed_when_revoked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/login"))
        .and(body_partial_json(
            json!({"user": "fake-user", "pass": "fake-pass-9"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"code": 0, "data": {"token": "fake-session-1", "expires_in": 3600}}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/auth/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"code": 0, "data": {"token": "fake-session-2", "expires_in": 3600}}),
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    // The first token works twice, then is revoked.
    Mock::given(method("GET"))
        .and(header("x-session", "fake-session-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"sku": "A", "qty": 3}})),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("x-session", "fake-session-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"msg": "session expired"})))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("x-session", "fake-session-2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"sku": "A", "qty": 4}})),
        )
        .mount(&server)
        .await;

    let connector = connector(fixture("exec/session.yaml"), "session_wms");
    let credentials = credentials(&[("username", "fake-user"), ("password", "fake-pass-9")]);
    let engine = engine();
    let base = format!("{}/api", server.uri());
    let call = Call::new(&connector, &credentials).base_url(Some(&base));
    let input = json!({"sku": "A"});
    for expected in [3, 3, 4, 4] {
        let outcome = engine.run_action(&call, "get_stock", &input).await.unwrap();
        assert_eq!(outcome.result, json!({"sku": "A", "qty": expected}));
    }
    let requests = server.received_requests().await.unwrap();
    let logins = requests
        .iter()
        .filter(|r| r.url.path() == "/api/auth/login")
        .count();
    // One login, then one more after the 401.
    assert_eq!(logins, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_login_is_an_auth_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"code": 7, "msg": "wrong password"})),
        )
        .mount(&server)
        .await;
    let connector = connector(fixture("exec/session.yaml"), "session_wms");
    let credentials = credentials(&[("username", "u"), ("password", "fake-wrong-pass")]);
    let base = format!("{}/api", server.uri());
    let call = Call::new(&connector, &credentials).base_url(Some(&base));
    let error = engine()
        .run_action(&call, "get_stock", &json!({"sku": "A"}))
        .await
        .unwrap_err();
    assert_eq!(error.kind, ExecErrorKind::Auth);
    assert!(
        error.message.contains("wrong password"),
        "{}",
        error.message
    );
    assert!(!error.message.contains("fake-wrong-pass"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_engine_serves_concurrent_calls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "request_id": "r", "code": 0, "msg": "",
            "data": {"fields": ["ts_code"], "items": [["000001.SZ"]]}
        })))
        .expect(40)
        .mount(&server)
        .await;
    let tushare = Arc::new(connector(root().join("specs/tushare.yaml"), "tushare"));
    let credentials = Arc::new(credentials(&[("token", "fake-token")]));
    let engine = Arc::new(engine());
    let uri = Arc::new(server.uri());
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (engine, tushare, credentials, uri) = (
            engine.clone(),
            tushare.clone(),
            credentials.clone(),
            uri.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let call = Call::new(&tushare, &credentials).base_url(Some(uri.as_str()));
            engine
                .run_action(&call, "daily", &json!({"trade_date": "20240102"}))
                .await
                .map(|o| o.result)
        }));
    }
    for task in tasks {
        assert_eq!(
            task.await.unwrap().unwrap(),
            json!({"rows": [{"ts_code": "000001.SZ"}]})
        );
    }
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_safe_post_is_retried_on_5xx_and_output_mismatches_warn() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad Gateway"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "code": 0, "msg": "ok", "data": {"data": {"io_id": "not-a-number", "so_id": "PD-1"}}
        })))
        .with_priority(2)
        .mount(&server)
        .await;
    let jushuitan = connector(root().join("specs/jushuitan"), "jushuitan");
    let credentials = credentials(&[
        ("app_key", "fake-key"),
        ("app_secret", "fake-secret"),
        ("access_token", "fake-token"),
    ]);
    let uri = server.uri();
    let call = Call::new(&jushuitan, &credentials).base_url(Some(&uri));
    let outcome = engine()
        .run_action(
            &call,
            "create_inventory_count",
            &json!({"so_id": "PD-1", "warehouse": 1, "items": [{"sku_id": "A", "qty": 1}]}),
        )
        .await
        .unwrap();
    // `retry_safe: true` in the spec: the 502 was retried.
    assert_eq!(outcome.attempts, 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let warnings: Vec<String> = outcome.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(|w| w.starts_with("io_id")),
        "{warnings:?}"
    );
}

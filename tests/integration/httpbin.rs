//! Interop with a real third-party server: httpbin (the PyPI package, run
//! with gunicorn on 127.0.0.1). Checks basic and bearer auth against a
//! server that verifies them, and the rendered form and JSON bodies as
//! httpbin's `/anything` parsed them — a second opinion on our encoding.
//!
//! The server needs a Python with httpbin and gunicorn
//! (tests/interop/requirements.txt): `SPEC_TEST_HTTPBIN_PYTHON`, else
//! `target/test-venv/bin/python` (what `.ci/run` creates). Without one the
//! tests say they were skipped; with `SPEC_TEST_REQUIRE_SERVICES=1` (CI) a
//! missing one fails.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{Run, fixture, run, spec_command};

struct Httpbin {
    child: Child,
    url: String,
}

impl Drop for Httpbin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> Option<PathBuf> {
    std::env::var_os("SPEC_TEST_HTTPBIN_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            let venv = crate::common::root().join("target/test-venv/bin/python");
            venv.is_file().then_some(venv)
        })
}

/// Starts httpbin on a free loopback port; `None` (after saying so) when
/// no Python with httpbin is available and none is required.
fn start() -> Option<Httpbin> {
    let required = std::env::var("SPEC_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    let Some(python) = python() else {
        assert!(
            !required,
            "httpbin is required (SPEC_TEST_REQUIRE_SERVICES=1): set SPEC_TEST_HTTPBIN_PYTHON to a Python with \
             tests/interop/requirements.txt installed"
        );
        eprintln!(
            "note: no Python with httpbin (SPEC_TEST_HTTPBIN_PYTHON); the httpbin interop test was skipped"
        );
        return None;
    };
    let mut child = Command::new(&python)
        .args([
            "-m",
            "gunicorn",
            "-b",
            "127.0.0.1:0",
            "-w",
            "1",
            "--threads",
            "4",
            "httpbin:app",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start httpbin with {}: {e}", python.display()));
    // gunicorn logs `Listening at: http://127.0.0.1:PORT` on stderr.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Listening at: ").nth(1) {
                let url = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let _ = tx.send(url);
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("httpbin did not start within 30 s ({})", python.display()));
    let server = Httpbin { child, url };
    // Ready when it answers.
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(server.url.trim_start_matches("http://")).is_err() {
        assert!(
            Instant::now() < deadline,
            "httpbin at {} never answered",
            server.url
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(server)
}

fn spec(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = spec_command();
    command.args(args).env(
        "SPEC_CREDENTIALS_FILE",
        "/nonexistent/spec-credentials.toml",
    );
    for (k, v) in env {
        command.env(k, v);
    }
    run(command)
}

#[test]
fn httpbin_basic_bearer_form_and_json() {
    let Some(httpbin) = start() else { return };
    let url = httpbin.url.as_str();
    let basic = fixture("exec/httpbin_basic.yaml");
    let bearer = fixture("exec/httpbin_bearer.yaml");
    let basic = basic.to_str().unwrap();
    let bearer = bearer.to_str().unwrap();
    let basic_env = [
        ("SPEC_HTTPBIN_BASIC_USERNAME", "fake-user"),
        ("SPEC_HTTPBIN_BASIC_PASSWORD", "fake-password-123"),
    ];

    // Basic auth that httpbin accepts...
    let run = spec(
        &["exec", "action", basic, "whoami", "--base-url", url],
        &basic_env,
    );
    run.expect_code(0);
    let result: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(result, json!({"authenticated": true, "user": "fake-user"}));
    let run = spec(&["exec", "check", basic, "--base-url", url], &basic_env);
    run.expect_code(0);
    assert!(run.stdout.contains("fake-user"), "{}", run.stdout);
    // ...and a wrong password it refuses: an auth error, nothing leaked.
    let run = spec(
        &["exec", "action", basic, "whoami", "--base-url", url, "-v"],
        &[
            ("SPEC_HTTPBIN_BASIC_USERNAME", "fake-user"),
            ("SPEC_HTTPBIN_BASIC_PASSWORD", "fake-wrong-pw"),
        ],
    );
    run.expect_code(4);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Authorization: Basic ***"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("fake-wrong-pw"), "{}", run.stderr);

    // Bearer.
    let bearer_env = [("SPEC_HTTPBIN_BEARER_TOKEN", "fake-bearer-token-42")];
    let run = spec(&["exec", "check", bearer, "--base-url", url], &bearer_env);
    run.expect_code(0);
    assert!(run.stdout.contains("token ok"), "{}", run.stdout);

    // A form body as httpbin parsed it: encoding of spaces, `&`, `=`,
    // non-ASCII; an optional field not given is dropped; the path value is
    // one segment.
    let run = spec(
        &[
            "exec",
            "action",
            bearer,
            "echo_form",
            "--base-url",
            url,
            "-i",
            "name=a b&c=d/仓",
            "-i",
            "qty=7",
            "-v",
        ],
        &bearer_env,
    );
    run.expect_code(0);
    let echo: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(echo["method"], json!("POST"));
    assert_eq!(echo["form"], json!({"name": "a b&c=d/仓", "qty": "7"}));
    assert_eq!(echo["args"], json!({"q": "a b&c=d/仓"}));
    // httpbin echoes the URL decoded; -v shows what went on the wire.
    assert!(
        run.stderr.contains(&format!(
            "> POST {url}/anything/form/a%20b%26c%3Dd%2F%E4%BB%93?q=a+b%26c%3Dd%2F%E4%BB%93\n"
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("> Authorization: Bearer ***"),
        "{}",
        run.stderr
    );

    // A JSON body with a nested repeating group, typed from -i text.
    let run = spec(
        &[
            "exec",
            "action",
            bearer,
            "echo_json",
            "--base-url",
            url,
            "-i",
            "title=Count \"7\"",
            "-i",
            "lines[0].sku=A-1",
            "-i",
            "lines[0].qty=3",
            "-i",
            "lines[1].sku=B-2",
            "-i",
            "lines[1].qty=-1",
        ],
        &bearer_env,
    );
    run.expect_code(0);
    let echo: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(echo["method"], json!("PUT"));
    assert_eq!(
        echo["json"],
        json!({"title": "Count \"7\"", "lines": [{"sku": "A-1", "qty": 3}, {"sku": "B-2", "qty": -1}], "count": 2})
    );
    // httpbin echoes the Authorization header back; the printed result
    // masks the token.
    assert_eq!(echo["auth"], json!("Bearer ***"));
    assert!(!run.stdout.contains("fake-bearer-token-42"));
}

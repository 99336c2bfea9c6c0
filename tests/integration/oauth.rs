//! OAuth2 end to end: `spec connect` (authorization code with PKCE, client
//! credentials, `--refresh`), the token store, and `spec exec`'s automatic
//! refresh — through the real binary against wiremock (every error case),
//! the library API for single-flight refresh, and the real
//! `oauth2-mock-server` (npm, tests/interop) for a full login.
//!
//! The test plays the browser: it reads the authorize URL `spec connect`
//! prints on stderr, asks the authorization server for it (or skips it and
//! calls the loopback redirect itself), and follows the redirect to the
//! listener. Every credential here is fake, and no test output may show
//! one.
//!
//! oauth2-mock-server needs Node on PATH and
//! `tests/interop/node_modules/.bin/oauth2-mock-server` (`.ci/run` installs
//! it with `npm ci`). Without them those tests say they were skipped; with
//! `SPEC_TEST_REQUIRE_SERVICES=1` (CI) that is a failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;
use sha2::Digest;
use spec::connections::{Connection, CredentialsFile};
use spec::runtime::{Call, Credentials, Engine, HttpSettings, TokenSet, TokenSink};
use wiremock::matchers::{header, header_regex, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::mock::MockApi as Server;
use crate::common::{HANG_GUARD, Run, fixture, root, run, spec_command};

const CLIENT_ID: &str = "fake-client-id-4411";
const CLIENT_SECRET: &str = "fake-client-secret-8c1e";
const OLD_ACCESS: &str = "fake-access-old-0f2e";
const OLD_REFRESH: &str = "fake-refresh-old-91ab";
const NEW_ACCESS: &str = "fake-access-new-7d3c";
const NEW_REFRESH: &str = "fake-refresh-new-55e0";
const CODE: &str = "fake-auth-code-2b6d";

fn notes_spec() -> String {
    fixture("oauth/notes_app.yaml").display().to_string()
}

fn machine_spec() -> String {
    fixture("oauth/machine_app.yaml").display().to_string()
}

/// A temporary home for the credentials file of one test.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn credentials_file(&self) -> PathBuf {
        self.dir.path().join("spec").join("credentials.toml")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = spec_command();
        command
            .args(args)
            .env("SPEC_CREDENTIALS_FILE", self.credentials_file())
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
        for (key, _) in std::env::vars() {
            if key.starts_with("SPEC_") && key != "SPEC_CREDENTIALS_FILE" {
                command.env_remove(key);
            }
        }
        command
    }

    fn spec(&self, args: &[&str]) -> Run {
        let mut command = self.command(args);
        command.stdin(Stdio::null());
        run(command)
    }

    fn read(&self) -> CredentialsFile {
        CredentialsFile::read(&self.credentials_file(), &mut |_| {}).unwrap()
    }

    fn text(&self) -> String {
        std::fs::read_to_string(self.credentials_file()).unwrap_or_default()
    }

    /// Writes connection `name` with the client fields and `token`.
    fn store(&self, connector: &str, token: TokenSet) {
        let mut file = CredentialsFile::default();
        file.connections.insert(
            connector.to_string(),
            Connection {
                connector: connector.to_string(),
                values: [
                    ("client_id".to_string(), CLIENT_ID.to_string()),
                    ("client_secret".to_string(), CLIENT_SECRET.to_string()),
                ]
                .into(),
                token: Some(token),
            },
        );
        file.write(&self.credentials_file()).unwrap();
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn old_token(expires_in: i64) -> TokenSet {
    TokenSet {
        access_token: OLD_ACCESS.into(),
        refresh_token: Some(OLD_REFRESH.into()),
        expires_at: Some(now() + expires_in),
        scopes: vec!["offline_access".into(), "notes.read".into()],
        token_type: Some("bearer".into()),
    }
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

fn form(request: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(&request.body).into_owned().collect()
}

fn field(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// A Microsoft-shaped token answer: extra fields, `%20`-separated scope.
fn token_answer(access: &str, refresh: Option<&str>) -> ResponseTemplate {
    let mut body = json!({
        "token_type": "Bearer",
        "scope": "offline_access%20notes.read",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": access,
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

/// `spec connect` running in the background, its stderr read line by line.
struct Login {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    started: Instant,
}

impl Login {
    fn start(home: &Home, args: &[&str], answers: &str) -> Login {
        let mut command = home.command(args);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spec connect starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answers.as_bytes())
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            // Prompts end without a newline: split on both.
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
                line.clear();
            }
        });
        Login {
            child,
            lines: rx,
            seen: Vec::new(),
            started: Instant::now(),
        }
    }

    /// The authorize URL printed on stderr.
    fn authorize_url(&mut self) -> String {
        loop {
            let left = HANG_GUARD.saturating_sub(self.started.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(url) = line.trim().strip_prefix("http")
                        && line.starts_with("  ")
                    {
                        return format!("http{url}");
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("no authorize URL on stderr:\n{}", self.seen.concat());
                }
            }
        }
    }

    fn finish(mut self) -> Run {
        let deadline = self.started + HANG_GUARD;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("spec connect hung:\n{}", self.seen.concat());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        let stderr = self.seen.concat();
        assert!(
            !stderr.contains("panicked"),
            "spec connect panicked:\n{stderr}"
        );
        Run {
            code: status.code().expect("exited"),
            stdout,
            stderr,
        }
    }
}

/// A minimal HTTP/1.1 GET on a loopback URL (no redirects followed):
/// status, `Location`, body.
fn http_get(url: &str) -> (u16, Option<String>, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, target) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(HANG_GUARD)).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let location = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    });
    (status, location, body.to_string())
}

fn query(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

// ---------------------------------------------------------------------------
// Login against wiremock

#[test]
fn connect_runs_the_pkce_login_and_stores_the_tokens_privately() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(token_answer(NEW_ACCESS, Some(NEW_REFRESH))),
    );
    let home = Home::new();
    let auth_base = server.uri();
    let mut login = Login::start(
        &home,
        &[
            "connect",
            &notes_spec(),
            "--no-browser",
            "--no-test",
            "-v",
            "--auth-url-base",
            &auth_base,
        ],
        &format!("{CLIENT_ID}\n{CLIENT_SECRET}\n\n"),
    );
    let url = login.authorize_url();
    assert!(url.starts_with(&format!("{auth_base}/authorize?")), "{url}");
    let params = query(&url);
    let get = |k: &str| field(&params, k).unwrap_or_else(|| panic!("no {k} in {url}"));
    assert_eq!(get("response_type"), "code");
    assert_eq!(get("client_id"), CLIENT_ID);
    assert_eq!(get("scope"), "offline_access notes.read");
    assert_eq!(get("code_challenge_method"), "S256");
    assert_eq!(get("response_mode"), "query");
    assert_eq!(get("domain_hint"), "common");
    let redirect = get("redirect_uri");
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    assert!(redirect.ends_with("/callback"), "{redirect}");
    // The provider redirects the browser back; a favicon request first.
    let base = redirect.trim_end_matches("/callback");
    assert_eq!(http_get(&format!("{base}/favicon.ico")).0, 404);
    let (status, _, page) = http_get(&format!("{redirect}?code={CODE}&state={}", get("state")));
    assert_eq!(status, 200);
    assert!(page.contains("You can close this window"), "{page}");
    let run = login.finish();
    run.expect_code(0);
    assert!(
        run.stderr.contains("saved connection `notes_app`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("a refresh token is stored"),
        "{}",
        run.stderr
    );
    // -v shows the exchange with every secret masked and the body withheld.
    assert!(run.stderr.contains("code_verifier=***"), "{}", run.stderr);
    assert!(run.stderr.contains("(body withheld"), "{}", run.stderr);
    assert_no_secret(&run, &[CLIENT_SECRET, CODE, NEW_ACCESS, NEW_REFRESH]);

    let exchange = server.requests_to("/token");
    assert_eq!(exchange.len(), 1);
    let sent = form(&exchange[0]);
    assert_eq!(
        field(&sent, "grant_type").as_deref(),
        Some("authorization_code")
    );
    assert_eq!(field(&sent, "code").as_deref(), Some(CODE));
    assert_eq!(field(&sent, "redirect_uri"), Some(redirect));
    assert_eq!(
        field(&sent, "client_secret").as_deref(),
        Some(CLIENT_SECRET)
    );
    let verifier = field(&sent, "code_verifier").expect("a PKCE verifier");
    assert_eq!(s256(&verifier), get("code_challenge"));

    let stored = home.read().connections["notes_app"].clone();
    let token = stored.token.expect("tokens stored");
    assert_eq!(token.access_token, NEW_ACCESS);
    assert_eq!(token.refresh_token.as_deref(), Some(NEW_REFRESH));
    assert_eq!(token.scopes, ["offline_access", "notes.read"]);
    let expires = token.expires_at.unwrap();
    assert!((expires - now() - 3599).abs() < 60, "{expires}");
    assert_eq!(stored.values["client_secret"], CLIENT_SECRET);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.credentials_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// Runs a login whose redirect is `redirect(url)`; returns the run.
fn login_with_redirect(
    server: &Server,
    home: &Home,
    redirect: impl Fn(&str, &str) -> String,
) -> Run {
    let auth_base = server.uri();
    let mut login = Login::start(
        home,
        &[
            "connect",
            &notes_spec(),
            "--no-browser",
            "--no-test",
            "--auth-url-base",
            &auth_base,
        ],
        &format!("{CLIENT_ID}\n{CLIENT_SECRET}\n\n"),
    );
    let url = login.authorize_url();
    let params = query(&url);
    let redirect_uri = field(&params, "redirect_uri").unwrap();
    let state = field(&params, "state").unwrap();
    let (status, _, _) = http_get(&redirect(&redirect_uri, &state));
    assert_eq!(status, 400);
    login.finish()
}

#[test]
fn connect_rejects_a_redirect_with_another_state() {
    let server = Server::start();
    let home = Home::new();
    let run = login_with_redirect(&server, &home, |uri, _| {
        format!("{uri}?code={CODE}&state=forged-state")
    });
    run.expect_code(4);
    assert!(
        run.stderr.contains("`state` does not match"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was saved"), "{}", run.stderr);
    assert!(
        server.requests_to("/token").is_empty(),
        "the code was exchanged"
    );
    assert!(!home.credentials_file().exists());
}

#[test]
fn connect_reports_the_providers_refusal() {
    let server = Server::start();
    let home = Home::new();
    let run = login_with_redirect(&server, &home, |uri, state| {
        format!(
            "{uri}?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent.&state={state}"
        )
    });
    run.expect_code(4);
    assert!(
        run.stderr.contains(
            "the authorization was refused: access_denied: AADSTS65004: User declined to consent."
        ),
        "{}",
        run.stderr
    );
    assert!(!home.credentials_file().exists());
}

#[test]
fn connect_explains_a_refused_code_exchange() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_grant",
                "error_description": "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.\r\nTrace ID: 0000-fake\r\nCorrelation ID: 1111-fake",
                "error_codes": [70008],
            }))),
    );
    let home = Home::new();
    let auth_base = server.uri();
    let mut login = Login::start(
        &home,
        &[
            "connect",
            &notes_spec(),
            "--no-browser",
            "--no-test",
            "--auth-url-base",
            &auth_base,
        ],
        &format!("{CLIENT_ID}\n{CLIENT_SECRET}\n\n"),
    );
    let params = query(&login.authorize_url());
    let redirect_uri = field(&params, "redirect_uri").unwrap();
    let state = field(&params, "state").unwrap();
    assert_eq!(
        http_get(&format!("{redirect_uri}?code={CODE}&state={state}")).0,
        200
    );
    let run = login.finish();
    run.expect_code(4);
    assert!(
        run.stderr.contains(
            "the authorization server refused the code exchange: invalid_grant: AADSTS70008: The provided authorization code or refresh token has expired due to inactivity."
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Trace ID"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was saved"), "{}", run.stderr);
    assert_no_secret(&run, &[CLIENT_SECRET, CODE]);
    assert!(!home.credentials_file().exists());
}

#[test]
fn client_credentials_need_no_browser_and_parse_sparse_answers() {
    let server = Server::start();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    // No expires_in, no refresh token, no scope, an extra field.
    server.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(header("authorization", basic.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": NEW_ACCESS,
                "token_type": "bearer",
                "not_before": 0,
            }))),
    );
    server.mount(
        Mock::given(method("GET"))
            .and(path("/jobs"))
            .and(header(
                "authorization",
                format!("Bearer {NEW_ACCESS}").as_str(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"jobs": [{"id": 1}]}))),
    );
    let home = Home::new();
    let mut command = home.command(&[
        "connect",
        &machine_spec(),
        "-v",
        "--auth-url-base",
        &server.uri(),
    ]);
    command.stdin(Stdio::piped());
    let child_run = {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{CLIENT_ID}\n{CLIENT_SECRET}\n").as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        Run {
            code: output.status.code().unwrap(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    };
    child_run.expect_code(0);
    assert!(
        child_run.stderr.contains("lifetime is unknown"),
        "{}",
        child_run.stderr
    );
    assert!(
        child_run.stderr.contains("no refresh token"),
        "{}",
        child_run.stderr
    );
    assert_no_secret(&child_run, &[CLIENT_SECRET, NEW_ACCESS]);
    let token = home.read().connections["machine_app"]
        .token
        .clone()
        .unwrap();
    assert_eq!(token.access_token, NEW_ACCESS);
    assert_eq!(token.refresh_token, None);
    assert_eq!(token.expires_at, None);
    let sent = form(&server.requests_to("/token")[0]);
    assert_eq!(
        field(&sent, "grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(
        field(&sent, "scope").as_deref(),
        Some("jobs.read jobs.write")
    );
    assert_eq!(
        field(&sent, "client_secret"),
        None,
        "Basic auth, not the body"
    );

    let run = home.spec(&[
        "exec",
        "action",
        &machine_spec(),
        "list_jobs",
        "--base-url",
        &server.uri(),
    ]);
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), r#"[{"id":1}]"#);
}

#[test]
fn client_credentials_errors_are_clear() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "error": "invalid_client",
                "error_description": "Client authentication failed.",
            }))),
    );
    let home = Home::new();
    let mut command = home.command(&["connect", &machine_spec(), "--auth-url-base", &server.uri()]);
    command.env("SPEC_MACHINE_APP_CLIENT_ID", CLIENT_ID);
    command.env("SPEC_MACHINE_APP_CLIENT_SECRET", CLIENT_SECRET);
    command.stdin(Stdio::null());
    let done = run(command);
    let run = done;
    run.expect_code(4);
    assert!(
        run.stderr
            .contains("invalid_client: Client authentication failed."),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("check the client id and secret"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run, &[CLIENT_SECRET]);
    assert!(!home.credentials_file().exists());
}

// ---------------------------------------------------------------------------
// Refresh in `spec exec` and `spec connect --refresh`

/// The API: the new token lists notes, anything else is a 401.
fn mount_api(server: &Server) {
    server.mount(
        Mock::given(method("GET"))
            .and(path("/notes"))
            .and(header(
                "authorization",
                format!("Bearer {NEW_ACCESS}").as_str(),
            ))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "n1"}]})),
            )
            .with_priority(1),
    );
    server.mount(
        Mock::given(method("GET"))
            .and(path("/notes"))
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_json(json!({"error": {"code": "InvalidAuthenticationToken"}})),
            )
            .with_priority(5),
    );
}

fn exec_notes(home: &Home, server: &Server) -> Run {
    home.spec(&[
        "exec",
        "action",
        &notes_spec(),
        "list_notes",
        "--base-url",
        &server.uri(),
        "--auth-url-base",
        &server.uri(),
    ])
}

#[test]
fn exec_refreshes_an_expiring_token_first_and_stores_the_rotated_one() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(token_answer(NEW_ACCESS, Some(NEW_REFRESH))),
    );
    mount_api(&server);
    let home = Home::new();
    // Expires in 30 s: inside the default 60 s margin.
    home.store("notes_app", old_token(30));
    let run = exec_notes(&home, &server);
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), r#"[{"id":"n1"}]"#);
    assert_no_secret(&run, &[CLIENT_SECRET, OLD_REFRESH, NEW_ACCESS, NEW_REFRESH]);
    let refreshes = server.requests_to("/token");
    assert_eq!(refreshes.len(), 1);
    let sent = form(&refreshes[0]);
    assert_eq!(field(&sent, "grant_type").as_deref(), Some("refresh_token"));
    assert_eq!(field(&sent, "refresh_token").as_deref(), Some(OLD_REFRESH));
    assert_eq!(
        server.requests_to("/notes").len(),
        1,
        "no request with the old token"
    );
    let token = home.read().connections["notes_app"].token.clone().unwrap();
    assert_eq!(token.access_token, NEW_ACCESS);
    assert_eq!(token.refresh_token.as_deref(), Some(NEW_REFRESH));
    assert!(!home.text().contains(OLD_REFRESH));

    // A smaller margin: the fresh token is used as it is.
    let again = home.spec(&[
        "exec",
        "action",
        &notes_spec(),
        "list_notes",
        "--base-url",
        &server.uri(),
        "--auth-url-base",
        &server.uri(),
        "--refresh-margin",
        "0",
    ]);
    again.expect_code(0);
    assert_eq!(server.requests_to("/token").len(), 1);
}

#[test]
fn exec_refreshes_once_on_a_401_and_retries_once() {
    let server = Server::start();
    // No rotation: the answer has no refresh token; the old one is kept.
    server.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(token_answer(NEW_ACCESS, None)),
    );
    mount_api(&server);
    let home = Home::new();
    home.store("notes_app", old_token(3600));
    let run = exec_notes(&home, &server);
    run.expect_code(0);
    assert_eq!(server.requests_to("/token").len(), 1);
    assert_eq!(server.requests_to("/notes").len(), 2);
    let token = home.read().connections["notes_app"].token.clone().unwrap();
    assert_eq!(token.access_token, NEW_ACCESS);
    assert_eq!(token.refresh_token.as_deref(), Some(OLD_REFRESH));
    assert_eq!(token.scopes, ["offline_access", "notes.read"]);
}

#[test]
fn exec_gives_up_after_one_refresh_when_the_new_token_is_rejected_too() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(token_answer("fake-access-also-bad", None)),
    );
    mount_api(&server);
    let home = Home::new();
    home.store("notes_app", old_token(3600));
    let run = exec_notes(&home, &server);
    run.expect_code(4);
    assert_eq!(server.requests_to("/token").len(), 1);
    assert_eq!(server.requests_to("/notes").len(), 2);
}

#[test]
fn a_revoked_refresh_token_says_log_in_again() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_grant",
                "error_description": "AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: fake",
            }))),
    );
    mount_api(&server);
    let home = Home::new();
    home.store("notes_app", old_token(-10));
    let before = home.text();
    let run = exec_notes(&home, &server);
    run.expect_code(4);
    assert!(
        run.stderr
            .contains("invalid_grant: AADSTS700082: The refresh token has expired"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("log in again with `spec connect notes_app`"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run, &[CLIENT_SECRET, OLD_ACCESS, OLD_REFRESH]);
    assert_eq!(server.requests_to("/token").len(), 1, "no stack of retries");
    assert!(server.requests_to("/notes").is_empty());
    assert_eq!(home.text(), before, "the store is unchanged");
}

#[test]
fn connect_refresh_forces_a_refresh() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(token_answer(NEW_ACCESS, Some(NEW_REFRESH))),
    );
    let home = Home::new();
    home.store("notes_app", old_token(3600));
    let run = home.spec(&[
        "connect",
        &notes_spec(),
        "--refresh",
        "--auth-url-base",
        &server.uri(),
    ]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("refreshed connection `notes_app`"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run, &[CLIENT_SECRET, OLD_REFRESH, NEW_ACCESS, NEW_REFRESH]);
    let token = home.read().connections["notes_app"].token.clone().unwrap();
    assert_eq!(token.refresh_token.as_deref(), Some(NEW_REFRESH));

    // Without a saved connection there is nothing to refresh.
    let empty = Home::new();
    let run = empty.spec(&["connect", &notes_spec(), "--refresh"]);
    run.expect_code(4);
    assert!(run.stderr.contains("run `spec connect"), "{}", run.stderr);
}

#[test]
fn a_corrupt_store_is_an_error_and_is_never_replaced() {
    let server = Server::start();
    mount_api(&server);
    let home = Home::new();
    std::fs::create_dir_all(home.credentials_file().parent().unwrap()).unwrap();
    let garbage = "[connections.notes_app\naccess_token = \"fake-secret-in-garbage\"\n";
    std::fs::write(home.credentials_file(), garbage).unwrap();
    for args in [
        vec!["connect".to_string(), notes_spec(), "--refresh".to_string()],
        vec![
            "exec".into(),
            "action".into(),
            notes_spec(),
            "list_notes".into(),
        ],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = home.spec(&args);
        assert_ne!(run.code, 0);
        assert!(
            run.stderr.contains("is not a valid credentials file"),
            "{}",
            run.stderr
        );
        assert_no_secret(&run, &["fake-secret-in-garbage"]);
        assert_eq!(
            std::fs::read_to_string(home.credentials_file()).unwrap(),
            garbage
        );
    }
}

// ---------------------------------------------------------------------------
// The library API: concurrent calls refresh once

struct Recorder(Mutex<Vec<TokenSet>>);

impl TokenSink for Recorder {
    fn save(&self, _connector: &spec::model::Connector, tokens: &TokenSet) -> Result<(), String> {
        self.0.lock().unwrap().push(tokens.clone());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_refresh_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            token_answer(NEW_ACCESS, Some(NEW_REFRESH)).set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/notes"))
        .and(header(
            "authorization",
            format!("Bearer {NEW_ACCESS}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .expect(8)
        .mount(&server)
        .await;
    let project = spec::validate::validate(&[fixture("oauth/notes_app.yaml")]).unwrap();
    let connector = project.connectors[0].model.clone();
    let engine = Arc::new(Engine::new(HttpSettings::default()).unwrap());
    let credentials: Credentials = [
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("access_token", OLD_ACCESS),
        ("refresh_token", OLD_REFRESH),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let sink = Recorder(Mutex::new(Vec::new()));
    let uri = server.uri();
    let expired = Some(now() - 5);
    let calls = (0..8).map(|_| {
        let call = Call::new(&connector, &credentials)
            .base_url(Some(&uri))
            .auth_url_base(Some(&uri))
            .token_expires_at(expired)
            .token_sink(&sink);
        let engine = engine.clone();
        async move { engine.run_action(&call, "list_notes", &json!({})).await }
    });
    for outcome in futures_join_all(calls).await {
        outcome.unwrap();
    }
    let saved = sink.0.lock().unwrap().clone();
    assert_eq!(saved.len(), 1, "one refresh, stored once");
    assert_eq!(saved[0].refresh_token.as_deref(), Some(NEW_REFRESH));
    server.verify().await;
}

/// Runs futures concurrently on the current task (no extra dependency).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut results: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, future) in set.iter_mut().enumerate() {
            if results[i].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(out) => results[i] = Some(out),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().map(Option::unwrap).collect()
}

// ---------------------------------------------------------------------------
// The real oauth2-mock-server

struct MockAuth {
    child: Child,
    url: String,
}

impl Drop for MockAuth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts oauth2-mock-server on a loopback port chosen by the OS; `None`
/// (after saying so) when Node or the package is missing and not required.
fn start_mock_auth() -> Option<MockAuth> {
    let required = std::env::var("SPEC_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    let bin = root().join("tests/interop/node_modules/.bin/oauth2-mock-server");
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !node || !bin.is_file() {
        assert!(
            !required,
            "oauth2-mock-server is required (SPEC_TEST_REQUIRE_SERVICES=1): install Node and run \
             `(cd tests/interop && npm ci)`"
        );
        eprintln!(
            "note: no Node or no tests/interop/node_modules (run `(cd tests/interop && npm ci)`); \
             the oauth2-mock-server test was skipped"
        );
        return None;
    }
    let mut child = Command::new(&bin)
        .args(["-a", "127.0.0.1", "-p", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("OAuth 2 server listening on ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("oauth2-mock-server did not start within 30 s");
    Some(MockAuth { child, url })
}

/// A login through the real server: the test fetches the authorize URL,
/// follows the 302 to the loopback listener. `tamper` may change the URL.
fn real_login(home: &Home, auth: &MockAuth, tamper: impl Fn(String) -> String) -> Run {
    let mut login = Login::start(
        home,
        &[
            "connect",
            &notes_spec(),
            "--no-browser",
            "--no-test",
            "--auth-url-base",
            &auth.url,
        ],
        &format!("{CLIENT_ID}\n{CLIENT_SECRET}\n\n"),
    );
    let url = tamper(login.authorize_url());
    let (status, location, body) = http_get(&url);
    assert_eq!(status, 302, "{body}");
    let location = location.expect("a redirect");
    assert!(location.contains("code="), "{location}");
    let (status, _, page) = http_get(&location);
    assert_eq!(status, 200, "{page}");
    login.finish()
}

#[test]
fn oauth2_mock_server_login_action_refresh_and_client_credentials() {
    let Some(auth) = start_mock_auth() else {
        return;
    };
    let home = Home::new();
    let run = real_login(&home, &auth, |url| url);
    run.expect_code(0);
    let first = home.read().connections["notes_app"].token.clone().unwrap();
    assert!(first.access_token.starts_with("ey"), "a JWT");
    let first_refresh = first.refresh_token.clone().expect("a refresh token");
    assert_no_secret(&run, &[CLIENT_SECRET, &first.access_token, &first_refresh]);

    // An action with the obtained token, against an API that checks it.
    let api = Server::start();
    api.mount(
        Mock::given(method("GET"))
            .and(path("/notes"))
            .and(header(
                "authorization",
                format!("Bearer {}", first.access_token).as_str(),
            ))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "n1"}]})),
            ),
    );
    let action = |home: &Home| {
        home.spec(&[
            "exec",
            "action",
            &notes_spec(),
            "list_notes",
            "--base-url",
            &api.uri(),
            "--auth-url-base",
            &auth.url,
        ])
    };
    let run = action(&home);
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), r#"[{"id":"n1"}]"#);

    // `--refresh`: the server rotates the refresh token.
    let run = home.spec(&[
        "connect",
        &notes_spec(),
        "--refresh",
        "--auth-url-base",
        &auth.url,
    ]);
    run.expect_code(0);
    let second = home.read().connections["notes_app"].token.clone().unwrap();
    let second_refresh = second.refresh_token.clone().unwrap();
    assert_ne!(second_refresh, first_refresh);
    assert_ne!(second.access_token, first.access_token);
    assert!(!home.text().contains(&first_refresh));

    // An expired token is refreshed by `spec exec` before the call.
    let mut file = home.read();
    file.connections
        .get_mut("notes_app")
        .unwrap()
        .token
        .as_mut()
        .unwrap()
        .expires_at = Some(now() - 1);
    file.write(&home.credentials_file()).unwrap();
    // (The server signs identical JWTs within one second, so the API cannot
    // tell the tokens apart; the rotated refresh token shows the refresh.)
    api.mount(
        Mock::given(method("GET"))
            .and(path("/notes"))
            .and(header_regex("authorization", "^Bearer ey[A-Za-z0-9_.-]+$"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "n2"}]})),
            )
            .with_priority(1),
    );
    let run = action(&home);
    run.expect_code(0);
    assert_eq!(run.stdout.trim(), r#"[{"id":"n2"}]"#);
    let third = home.read().connections["notes_app"].token.clone().unwrap();
    assert_ne!(third.refresh_token.unwrap(), second_refresh);
    assert!(third.expires_at.unwrap() > now() + 3000);

    // Client credentials: a token with no browser and no refresh token.
    let done = {
        let mut command = home.command(&[
            "connect",
            &machine_spec(),
            "--no-test",
            "--auth-url-base",
            &auth.url,
        ]);
        command.env("SPEC_MACHINE_APP_CLIENT_ID", CLIENT_ID);
        command.env("SPEC_MACHINE_APP_CLIENT_SECRET", CLIENT_SECRET);
        command.stdin(Stdio::null());
        crate::common::run(command)
    };
    done.expect_code(0);
    let machine = home.read().connections["machine_app"]
        .token
        .clone()
        .unwrap();
    assert!(machine.access_token.starts_with("ey"));
    assert_eq!(machine.refresh_token, None);
    assert_eq!(machine.scopes, ["jobs.read", "jobs.write"]);
}

#[test]
fn oauth2_mock_server_rejects_a_pkce_mismatch() {
    let Some(auth) = start_mock_auth() else {
        return;
    };
    let home = Home::new();
    // The browser side sends another (valid) challenge than ours.
    let run = real_login(&home, &auth, |url| {
        let challenge = field(&query(&url), "code_challenge").unwrap();
        url.replace(
            &challenge,
            &s256("another-verifier-of-sufficient-length-0123456789"),
        )
    });
    run.expect_code(4);
    assert!(
        run.stderr
            .contains("code_verifier provided does not match code_challenge"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was saved"), "{}", run.stderr);
    assert_no_secret(&run, &[CLIENT_SECRET]);
    assert!(!home.credentials_file().exists());
}

#[test]
fn onenote_refresh_goes_to_the_tenants_token_url() {
    let server = Server::start();
    server.mount(
        Mock::given(method("POST"))
            .and(path("/common/oauth2/v2.0/token"))
            .respond_with(token_answer(NEW_ACCESS, Some(NEW_REFRESH))),
    );
    server.mount(
        Mock::given(method("POST"))
            .and(path("/me/onenote/pages"))
            .and(header(
                "authorization",
                format!("Bearer {NEW_ACCESS}").as_str(),
            ))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "id": "1-fake!1",
                "title": "Hi",
            }))),
    );
    let home = Home::new();
    home.store("onenote", old_token(-100));
    let run = home.spec(&[
        "exec",
        "action",
        "onenote",
        "create_page",
        "-i",
        "title=Hi",
        "--base-url",
        &server.uri(),
        "--auth-url-base",
        &server.uri(),
        "-v",
    ]);
    run.expect_code(0);
    assert!(run.stdout.contains("1-fake!1"), "{}", run.stdout);
    assert!(run.stderr.contains("refresh_token=***"), "{}", run.stderr);
    assert_no_secret(&run, &[CLIENT_SECRET, OLD_REFRESH, NEW_ACCESS, NEW_REFRESH]);
    let sent = form(&server.requests_to("/common/oauth2/v2.0/token")[0]);
    assert_eq!(
        field(&sent, "scope").as_deref(),
        Some("offline_access User.Read Notes.ReadWrite")
    );
    let token = home.read().connections["onenote"].token.clone().unwrap();
    assert_eq!(token.refresh_token.as_deref(), Some(NEW_REFRESH));
}

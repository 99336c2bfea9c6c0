//! An in-process mock HTTP API (wiremock) for tests that drive the real
//! binary, and a temporary home for its credentials and state files.

use std::cell::Cell;
use std::path::PathBuf;
use std::process::Command;

use wiremock::{Mock, MockServer, Request};

use super::{Run, run, spec_command};

/// A wiremock server on its own runtime, so the test thread can block on
/// the `spec` process while the server answers.
pub struct MockApi {
    runtime: tokio::runtime::Runtime,
    mock: MockServer,
    /// Requests before this index were dropped by `reset_journal`.
    skip: Cell<usize>,
}

impl MockApi {
    pub fn start() -> MockApi {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mock = runtime.block_on(MockServer::start());
        MockApi {
            runtime,
            mock,
            skip: Cell::new(0),
        }
    }

    pub fn mount(&self, mock: Mock) {
        self.runtime.block_on(mock.mount(&self.mock));
    }

    pub fn uri(&self) -> String {
        self.mock.uri()
    }

    /// Every request received.
    pub fn all_requests(&self) -> Vec<Request> {
        self.runtime
            .block_on(self.mock.received_requests())
            .unwrap_or_default()
    }

    /// The requests since the last `reset_journal`.
    pub fn requests(&self) -> Vec<Request> {
        self.all_requests().split_off(self.skip.get())
    }

    /// The requests to `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.all_requests()
            .into_iter()
            .filter(|r| r.url.path() == path)
            .collect()
    }

    /// Forgets the requests so far (the mocks stay mounted).
    pub fn reset_journal(&self) {
        self.skip.set(self.all_requests().len());
    }

    /// Checks every mock's `expect(...)` count.
    pub fn verify(&self) {
        self.runtime.block_on(self.mock.verify());
    }
}

/// A temporary home: the credentials file and the default state file of
/// one test, and a `spec` command that sees no other `SPEC_*` variable.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn credentials_file(&self) -> PathBuf {
        self.dir.path().join("spec").join("credentials.toml")
    }

    pub fn state_file(&self) -> PathBuf {
        self.dir.path().join("spec").join("state.sqlite")
    }

    /// `spec ARGS` with this home's credentials file and `env` added.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = spec_command();
        command
            .args(args)
            .env("SPEC_CREDENTIALS_FILE", self.credentials_file());
        for (key, _) in std::env::vars() {
            if key.starts_with("SPEC_") && key != "SPEC_CREDENTIALS_FILE" {
                command.env_remove(key);
            }
        }
        for (k, v) in env {
            command.env(k, v);
        }
        command
    }

    pub fn spec(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        run(self.command(args, env))
    }
}

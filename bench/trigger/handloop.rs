//! The hand-written baseline of the trigger benchmark: reqwest + serde over
//! the same pages `spec exec trigger` reads, each record written to stdout
//! as a JSON line — the least any poller must do.
//!
//! `cargo run --release --example trigger_handloop -- http://127.0.0.1:PORT TOKEN`

use std::io::Write;

use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let base = &args[1];
    let token = &args[2];
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut number = 1u64;
    loop {
        let bytes = client
            .get(format!("{base}/records?page={number}&size=1000"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let mut body: Value = serde_json::from_slice(&bytes).unwrap();
        let Value::Array(items) = body["items"].take() else {
            panic!("no items")
        };
        for item in &items {
            serde_json::to_writer(&mut out, item).unwrap();
            out.write_all(b"\n").unwrap();
        }
        out.flush().unwrap();
        if items.is_empty() || body["has_more"] != Value::Bool(true) {
            break;
        }
        number += 1;
    }
}

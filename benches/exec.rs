//! Benchmark of the interpreter against a hand-written client doing the
//! same Tushare `daily` call, in the same run (issue 5 §8). A benchmark,
//! not a test: it prints figures and ratios, and asserts nothing.
//!
//!   cargo bench --bench exec            # ROUNDS=... ROWS=... to vary
//!
//! 1. Overhead per action, no network: the interpreter's input check,
//!    render, build and sign, response decode, success rule, result
//!    selection and output check — against serde structs serialized and
//!    parsed by hand.
//! 2. End to end against a loopback HTTP/1.1 server (keep-alive, a canned
//!    Tushare answer): the engine vs. a reqwest + serde client, sequential
//!    calls, actions per second.
//! 3. A cold `spec exec action` process against the same server, against a
//!    `spec --version` process (the cost of starting any process).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use spec::model::Connector;
use spec::runtime::response::{ResponseReader, ResponseScope, check_output, select_result};
use spec::runtime::{
    Call, Coercion, Context, Credentials, Engine, FixedClock, HttpSettings, build_action,
    check_input,
};

/// The allocator the `spec` binary ships with, for both clients alike.
#[global_allocator]
static ALLOCATOR: spec::allocator::Allocator = spec::allocator::Allocator;

const TOKEN: &str = "fake-bench-token";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A Tushare `daily` answer with `rows` rows.
fn answer(rows: usize) -> Vec<u8> {
    let items: Vec<Value> = (0..rows)
        .map(|i| {
            json!([
                "000001.SZ",
                format!("2024{:04}", 101 + i % 1200),
                9.1,
                9.3,
                9.0,
                9.2,
                9.15,
                0.05,
                0.55,
                1_234_567.0,
                11_223_344.5
            ])
        })
        .collect();
    serde_json::to_vec(&json!({
        "request_id": "bench-request",
        "code": 0,
        "msg": "",
        "data": {
            "fields": ["ts_code", "trade_date", "open", "high", "low", "close", "pre_close", "change", "pct_chg", "vol", "amount"],
            "items": items,
            "has_more": false
        }
    }))
    .unwrap()
}

/// A minimal keep-alive HTTP/1.1 server answering every request with
/// `body`; one thread per connection.
fn serve(body: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let mut response = head.into_bytes();
    response.extend_from_slice(&body);
    let response: &'static [u8] = Box::leak(response.into_boxed_slice());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    // Request line and headers.
                    let mut first = true;
                    loop {
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if line == "\r\n" && !first {
                            break;
                        }
                        first = false;
                        let lower = line.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() || writer.write_all(response).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    address
}

fn tushare() -> Connector {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = spec::validate::validate(&[root.join("specs/tushare.yaml")]).unwrap();
    project.connectors.into_iter().next().unwrap().model
}

// The hand-written client: what a developer would write for this one call.

#[derive(Serialize)]
struct DailyRequest<'a> {
    api_name: &'a str,
    token: &'a str,
    params: DailyParams<'a>,
    fields: &'a str,
}

#[derive(Serialize)]
struct DailyParams<'a> {
    trade_date: &'a str,
}

#[derive(Deserialize)]
struct DailyResponse {
    code: i64,
    msg: String,
    #[allow(dead_code)]
    request_id: String,
    data: Option<DailyData>,
}

#[derive(Deserialize)]
struct DailyData {
    fields: Vec<String>,
    items: Vec<Vec<Value>>,
}

const FIELDS: &str = "ts_code,trade_date,open,high,low,close,pre_close,change,pct_chg,vol,amount";

fn hand_request() -> Vec<u8> {
    serde_json::to_vec(&DailyRequest {
        api_name: "daily",
        token: TOKEN,
        params: DailyParams {
            trade_date: "20240102",
        },
        fields: FIELDS,
    })
    .unwrap()
}

fn hand_parse(body: &[u8]) -> Value {
    let response: DailyResponse = serde_json::from_slice(body).unwrap();
    assert_eq!(response.code, 0, "{}", response.msg);
    let data = response.data.unwrap();
    let rows: Vec<Value> = data
        .items
        .into_iter()
        .map(|item| {
            let row: Map<String, Value> = data.fields.iter().cloned().zip(item).collect();
            Value::Object(row)
        })
        .collect();
    json!({ "rows": rows })
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let rows = env_usize("ROWS", 50);
    let rounds = env_usize("ROUNDS", 2000);
    let connector = tushare();
    let action = connector.actions.iter().find(|a| a.key == "daily").unwrap();
    let credentials: Credentials = [("token".to_string(), TOKEN.to_string())].into();
    let input = json!({"trade_date": "20240102"});
    let body = answer(rows);
    println!(
        "Tushare `daily`, {rows} rows ({} KB answer), {rounds} rounds",
        body.len() / 1024
    );

    // 1. Overhead, no network.
    let clock = FixedClock {
        unix_ms: 1_721_030_400_000,
        nonce: "00000000-0000-4000-8000-000000000000".into(),
    };
    let reader = ResponseReader::new(action.response.as_ref()).with_auth(&connector.auth);
    let headers = vec![("content-type".to_string(), "application/json".to_string())];
    let interpreted = || {
        let input = check_input(&action.input, &input, Coercion::Strict).unwrap();
        let context = Context::new(&connector, &credentials, &clock)
            .unwrap()
            .with_input(&input);
        let request = build_action(&connector, "daily", &context).unwrap();
        std::hint::black_box(request.body());
        let scope = ResponseScope::from_parts(200, &headers, &body, &context, request.secrets());
        reader.check(&scope).unwrap();
        let result = select_result(action.result.as_deref(), &scope).unwrap();
        std::hint::black_box(check_output(&action.output, &result));
        request.secrets().redact_json(result)
    };
    let by_hand = || {
        std::hint::black_box(hand_request());
        hand_parse(&body)
    };
    assert!(
        interpreted() == by_hand(),
        "both must produce the same result"
    );
    let mut spec_times = Vec::new();
    let mut hand_times = Vec::new();
    let runs = if std::env::var_os("PROFILE_OVERHEAD").is_some() {
        0
    } else {
        5
    };
    for _ in 0..runs {
        let start = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(interpreted());
        }
        spec_times.push(start.elapsed() / rounds as u32);
        let start = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(by_hand());
        }
        hand_times.push(start.elapsed() / rounds as u32);
    }
    // For a profiler or `perf stat -e instructions` (counts, unlike times,
    // do not depend on what else the machine is doing): one loop only.
    if std::env::var_os("PROFILE_OVERHEAD").is_some() {
        for _ in 0..rounds {
            std::hint::black_box(interpreted());
        }
        return;
    }
    if std::env::var_os("PROFILE_HAND").is_some() {
        for _ in 0..rounds {
            std::hint::black_box(by_hand());
        }
        return;
    }
    let (spec_op, hand_op) = (median(spec_times), median(hand_times));
    println!("\n1. per action, no network (median of 5 runs)");
    println!(
        "   hand-written serde (baseline)  {:>9.1} µs",
        hand_op.as_secs_f64() * 1e6
    );
    println!(
        "   interpreter                    {:>9.1} µs   x{:.2}  (+{:.1} µs)",
        spec_op.as_secs_f64() * 1e6,
        spec_op.as_secs_f64() / hand_op.as_secs_f64(),
        (spec_op.as_secs_f64() - hand_op.as_secs_f64()) * 1e6
    );

    // 2. End to end on loopback.
    let address = serve(body.clone());
    let base = format!("http://{address}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = Engine::new(HttpSettings::default()).unwrap();
    let client = reqwest::Client::builder().build().unwrap();
    let call = Call::new(&connector, &credentials).base_url(Some(&base));
    let (spec_rate, hand_rate) = runtime.block_on(async {
        let mut spec_rates = Vec::new();
        let mut hand_rates = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            for _ in 0..rounds / 4 {
                let outcome = engine.run_action(&call, "daily", &input).await.unwrap();
                std::hint::black_box(outcome.result);
            }
            spec_rates.push((rounds / 4) as f64 / start.elapsed().as_secs_f64());
            let start = Instant::now();
            for _ in 0..rounds / 4 {
                let bytes = client
                    .post(format!("{base}/"))
                    .header("content-type", "application/json")
                    .body(hand_request())
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                std::hint::black_box(hand_parse(&bytes));
            }
            hand_rates.push((rounds / 4) as f64 / start.elapsed().as_secs_f64());
        }
        spec_rates.sort_by(f64::total_cmp);
        hand_rates.sort_by(f64::total_cmp);
        (spec_rates[2], hand_rates[2])
    });
    println!("\n2. end to end, loopback keep-alive, sequential (median of 5 runs)");
    println!("   reqwest + serde (baseline)     {hand_rate:>9.0} actions/s");
    println!(
        "   interpreter (Engine)           {spec_rate:>9.0} actions/s   x{:.2} time per action",
        hand_rate / spec_rate
    );

    // 3. Cold processes.
    let binary = env!("CARGO_BIN_EXE_spec");
    let root = env!("CARGO_MANIFEST_DIR");
    let time = |args: &[&str]| {
        let samples: Vec<Duration> = (0..21)
            .map(|_| {
                let start = Instant::now();
                let output = Command::new(binary)
                    .args(args)
                    .current_dir(root)
                    .env("SPEC_TUSHARE_TOKEN", TOKEN)
                    .env("SPEC_CREDENTIALS_FILE", "/nonexistent/spec-bench.toml")
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "{}",
                    String::from_utf8_lossy(&output.stderr)
                );
                start.elapsed()
            })
            .collect();
        median(samples)
    };
    let version = time(&["--version"]);
    let exec = time(&[
        "exec",
        "action",
        "tushare",
        "daily",
        "--base-url",
        &base,
        "-i",
        "trade_date=20240102",
    ]);
    // One request on a fresh connection: the network part of a cold run.
    let network = runtime.block_on(async {
        let samples: Vec<Duration> = {
            let mut samples = Vec::new();
            for _ in 0..21 {
                let fresh = reqwest::Client::new();
                let start = Instant::now();
                let bytes = fresh
                    .post(format!("{base}/"))
                    .body(hand_request())
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                std::hint::black_box(bytes);
                samples.push(start.elapsed());
            }
            samples
        };
        median(samples)
    });
    println!("\n3. cold process (median of 21)");
    println!(
        "   `spec --version` (baseline)    {:>9.1} ms",
        version.as_secs_f64() * 1e3
    );
    println!(
        "   one request, fresh connection  {:>9.1} ms",
        network.as_secs_f64() * 1e3
    );
    println!(
        "   `spec exec action tushare daily` {:>7.1} ms   = network + {:.1} ms",
        exec.as_secs_f64() * 1e3,
        (exec.as_secs_f64() - network.as_secs_f64()) * 1e3
    );
}

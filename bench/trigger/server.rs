//! A loopback HTTP/1.1 server for the trigger benchmark: `GET
//! /records?page=N` answers page N (from 1) of `--records` records in pages
//! of 1,000 as `{"items": [...], "has_more": bool}`, keep-alive, each page
//! generated on the fly (memory stays flat whatever the total).
//!
//! `cargo run --release --example trigger_server -- --records 100000`
//! prints `listening on http://127.0.0.1:PORT` and serves until killed.

use std::fmt::Write as _;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PAGE: u64 = 1000;

fn page(number: u64, total: u64) -> Vec<u8> {
    let first = (number.max(1) - 1) * PAGE;
    let last = (first + PAGE).min(total);
    let mut body = String::with_capacity(200 * PAGE as usize);
    body.push_str("{\"items\":[");
    for id in first..last {
        if id > first {
            body.push(',');
        }
        let _ = write!(
            body,
            "{{\"id\":{id},\"name\":\"Customer {id}\",\"email\":\"customer{id}@example.com\",\
             \"status\":\"active\",\"amount\":{}.{:02},\"updated_at\":\"2024-07-15T10:{:02}:{:02}Z\",\
             \"tags\":[\"vip\",\"newsletter\"],\"address\":{{\"city\":\"Hangzhou\",\"zip\":\"310000\"}}}}",
            id % 1000,
            id % 100,
            id / 60 % 60,
            id % 60
        );
    }
    let _ = write!(body, "],\"has_more\":{}}}", last < total);
    body.into_bytes()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let total: u64 = args
        .iter()
        .position(|a| a == "--records")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("listening on http://{}", listener.local_addr().unwrap());
    loop {
        let (mut socket, _) = listener.accept().await.unwrap();
        tokio::spawn(async move {
            let mut buffer = Vec::with_capacity(4096);
            loop {
                // Read one request head (GET: no body).
                let end = loop {
                    if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    let mut chunk = [0u8; 4096];
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
                buffer.drain(..end);
                let target = head.split_whitespace().nth(1).unwrap_or("/");
                let number = target
                    .split(['?', '&'])
                    .find_map(|p| p.strip_prefix("page="))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                let body = page(number, total);
                let header = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if socket.write_all(header.as_bytes()).await.is_err()
                    || socket.write_all(&body).await.is_err()
                {
                    return;
                }
            }
        });
    }
}

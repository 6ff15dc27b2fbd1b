//! Cold starts of the release binaries: the time from `exec` to the first
//! `GET /runtime/invocation/next` (init) and to the first finished invocation, against
//! the Runtime API stand-in, for every function and for a hello-world
//! `lambda_runtime` binary built the same way. Also the binary size and the peak
//! resident memory after the first invocation, and a check that init makes no
//! network call (the table's endpoint is a listener that counts connections).
//!
//! Usage: cold_start [RUNS] (default 20), after `cargo build --release` of the
//! functions and of this package (`scripts/bench.sh` does both).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use integration_tests::runtime_api::{FakeRuntimeApi, Outcome, spawn_function};
use integration_tests::{EventRequest, EventVersion, event};
use serde_json::Value;

struct Function {
    binary: &'static str,
    /// An event the function answers without the table.
    request: EventRequest<'static>,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Peak resident set size of a process, in MiB (Linux `VmHWM`).
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let release = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release");

    // The table's endpoint: a listener that only counts connections.
    let table = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let table_address = table.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((socket, _)) = table.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });

    // RS256 by default, as template.yaml deploys; COLD_START_ALGORITHM=ES256 to compare.
    let algorithm = match std::env::var("COLD_START_ALGORITHM").as_deref() {
        Ok("ES256") => shared::keys::SigningAlgorithm::Es256,
        _ => shared::keys::SigningAlgorithm::Rs256,
    };
    println!("Signing algorithm: {}", algorithm.name());
    let key = shared::keys::generate(algorithm).unwrap();
    let env: HashMap<String, String> = [
        ("AUTH_ISSUER", "https://auth.example.test".to_owned()),
        ("AUTH_AUDIENCE", "https://api.example.test".to_owned()),
        ("TABLE_NAME", "users".to_owned()),
        ("DYNAMODB_ENDPOINT", format!("http://{table_address}")),
    ]
    .into_iter()
    .chain(key.environment())
    .map(|(k, v)| (k.to_owned(), v))
    .collect();

    let functions = [
        Function {
            binary: "hello_lambda",
            request: EventRequest {
                method: "GET",
                path: "/",
                ..Default::default()
            },
        },
        Function {
            binary: "token",
            request: EventRequest {
                method: "GET",
                path: "/token",
                ..Default::default()
            },
        },
        Function {
            binary: "users-me",
            request: EventRequest {
                method: "GET",
                path: "/users/me",
                ..Default::default()
            },
        },
        Function {
            binary: "well-known",
            request: EventRequest {
                method: "GET",
                path: "/.well-known/jwks.json",
                ..Default::default()
            },
        },
        Function {
            binary: "authorize",
            // No client_id: the error page, without a table call, like the others.
            request: EventRequest {
                method: "GET",
                path: "/authorize",
                ..Default::default()
            },
        },
        Function {
            binary: "account",
            request: EventRequest {
                method: "POST",
                path: "/users",
                ..Default::default()
            },
        },
    ];

    println!(
        "| binary | size (bytes) | init median (ms) | first answer median (ms) | / hello-world | peak RSS (MiB) | table connections during init |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut hello_first = None;
    for function in functions {
        let path = release.join(function.binary);
        let size = std::fs::metadata(&path)
            .unwrap_or_else(|_| panic!("{} is missing: run scripts/bench.sh", path.display()))
            .len();
        let mut inits = Vec::new();
        let mut firsts = Vec::new();
        let mut peak: f64 = 0.0;
        let mut init_connections = 0;
        for _ in 0..runs {
            let runtime = FakeRuntimeApi::start().await;
            let before = connections.load(Ordering::SeqCst);
            let started = Instant::now();
            let child = spawn_function(&path, &runtime, &env);
            let polled = runtime.next_poll().await;
            init_connections += connections.load(Ordering::SeqCst) - before;
            let outcome = runtime
                .invoke(event(EventVersion::HttpV2, &function.request))
                .await;
            let answered = Instant::now();
            assert!(
                matches!(outcome, Outcome::Response(Value::Object(_))),
                "{outcome:?}"
            );
            // Let the runtime ask for the next event, then read the peak.
            let _ = tokio::time::timeout(Duration::from_secs(5), runtime.next_poll()).await;
            if let Some(pid) = child.id() {
                peak = peak.max(peak_rss_mib(pid).unwrap_or(0.0));
            }
            drop(child);
            inits.push((polled - started).as_secs_f64() * 1000.0);
            firsts.push((answered - started).as_secs_f64() * 1000.0);
        }
        let init = median(&mut inits);
        let first = median(&mut firsts);
        let baseline = *hello_first.get_or_insert(first);
        println!(
            "| {} | {size} | {init:.2} | {first:.2} | {:.2} | {peak:.1} | {init_connections} |",
            function.binary,
            first / baseline
        );
    }
}

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

    // A Secrets Manager stand-in answering every GetSecretValue with the key's
    // document, for the token function as template.yaml deploys it (the key from
    // JWT_SIGNING_KEY_SECRET): its cost is the difference between the two token rows.
    let secrets = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let secrets_address = secrets.local_addr().unwrap();

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
    let document = {
        use secrecy::ExposeSecret;
        shared::signing_key_secret::document_for(&key)
            .expose_secret()
            .to_owned()
    };
    tokio::spawn(serve_secret(secrets, document));
    let mut secret_env = env.clone();
    secret_env.remove("JWT_SIGNING_KEY");
    secret_env.remove("JWT_SIGNING_KEY_ID");
    secret_env.insert("JWT_SIGNING_KEY_SECRET".into(), "oauth/signing-key".into());
    secret_env.insert(
        "SECRETS_MANAGER_ENDPOINT".into(),
        format!("http://{secrets_address}"),
    );
    // Dummy credentials and region, as Lambda would set them.
    for (name, value) in [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
    ] {
        secret_env.insert(name.into(), value.into());
    }

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
            binary: "token (key from the Secrets Manager stand-in)",
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
        let from_secret = function.binary.starts_with("token (");
        let binary = function.binary.split(' ').next().unwrap_or(function.binary);
        let env = if from_secret { &secret_env } else { &env };
        let path = release.join(binary);
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
            let child = spawn_function(&path, &runtime, env);
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

/// Answers every request on `listener` as Secrets Manager answers GetSecretValue,
/// with `document` as the secret's string.
async fn serve_secret(listener: tokio::net::TcpListener, document: String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::json!({
        "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:oauth/signing-key-AbCdEf",
        "Name": "oauth/signing-key",
        "VersionId": "00000000-0000-0000-0000-000000000001",
        "SecretString": document,
        "VersionStages": ["AWSCURRENT"],
        "CreatedDate": 1.7e9
    })
    .to_string();
    while let Ok((mut socket, _)) = listener.accept().await {
        let body = body.clone();
        tokio::spawn(async move {
            // One request per connection is all a cold start makes.
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            loop {
                let Ok(n) = socket.read(&mut buffer).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                request.extend_from_slice(&buffer[..n]);
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        });
    }
}

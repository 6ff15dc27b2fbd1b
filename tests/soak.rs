//! Soak: 20,000 mixed requests (logins, refreshes, `/users/me`, revocations,
//! registrations and bad input) from 16 concurrent sessions against the local server:
//! 16,000 on the in-memory store (the service's own behaviour and memory under load,
//! at the speed the handlers can serve) and, at the same time, 4,000 on a
//! DynamoDB-compatible server of its own (the store under load: conditional writes,
//! transactions, nothing lost), sized to what the one-request-at-a-time local server
//! serves in about a minute.
//!
//! Each passes when no answer is a 5xx or differs from what the request should get, no
//! acknowledged write is lost (every live refresh token still refreshes, every
//! revoked one is refused, every registered user can log in), and the server's
//! resident memory stays flat once warm. The numbers are printed for BENCHMARKS.md.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use integration_tests::PrivateDynamoDb;
use integration_tests::runtime_api::function_binary;
use tokio::sync::Mutex;

/// Requests against the in-memory store.
const IN_MEMORY_REQUESTS: usize = 16_000;
/// Requests against the DynamoDB-compatible server.
const DYNAMODB_REQUESTS: usize = 4_000;
const SESSIONS: usize = 16;
const PASSWORD: &str = "soak-password-2026";
const CLIENT: &str = "local-app";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The local server on the in-memory store, or on a table at `endpoint`.
fn start_server(endpoint: Option<&str>, log: &std::path::Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut command = Command::new(function_binary("local-server"));
    command
        .args([
            "--port",
            &port.to_string(),
            "--self-service",
            "--bcrypt-cost",
            "4",
        ])
        .stdout(Stdio::from(std::fs::File::create(log).unwrap()))
        .stderr(Stdio::inherit());
    if let Some(endpoint) = endpoint {
        command
            .args(["--table", &format!("soak-{}", std::process::id())])
            .env("DYNAMODB_ENDPOINT", endpoint);
    }
    for session in 0..SESSIONS {
        command.args(["--user", &format!("soak-{session}:{PASSWORD}")]);
    }
    let child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the local server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

fn resident_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// What the load did, for the checks afterwards.
#[derive(Default)]
struct Ledger {
    /// (request kind, status) -> count.
    statuses: BTreeMap<(&'static str, u16), usize>,
    /// Answers that differed from the expected status: (kind, expected, got, body).
    surprises: Vec<(&'static str, u16, u16, String)>,
    /// Refresh tokens acknowledged as current and left alive.
    live: Vec<String>,
    /// Refresh tokens acknowledged as revoked.
    revoked: Vec<String>,
    /// Users acknowledged as registered, with their passwords.
    registered: Vec<String>,
}

struct Load {
    client: reqwest::Client,
    base: String,
    budget: AtomicUsize,
    /// How many requests the budget allows.
    total: usize,
    ledger: Mutex<Ledger>,
}

impl Load {
    /// Sends one request of the budget (None when the budget is spent) and records
    /// its status against the expected one.
    async fn send(
        &self,
        kind: &'static str,
        expected: u16,
        request: reqwest::RequestBuilder,
    ) -> Option<serde_json::Value> {
        if self.budget.fetch_add(1, Ordering::SeqCst) >= self.total {
            return None;
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        let mut ledger = self.ledger.lock().await;
        *ledger.statuses.entry((kind, status)).or_default() += 1;
        if status != expected {
            ledger
                .surprises
                .push((kind, expected, status, body.clone()));
        }
        Some(serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
    }

    fn form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .form(fields)
    }

    fn login(&self, username: &str, password: &str) -> reqwest::RequestBuilder {
        self.form(
            "/token",
            &[
                ("grant_type", "password"),
                ("client_id", CLIENT),
                ("username", username),
                ("password", password),
            ],
        )
    }

    fn refresh(&self, token: &str) -> reqwest::RequestBuilder {
        self.form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT),
                ("refresh_token", token),
            ],
        )
    }

    fn users_me(&self, access_token: &str) -> reqwest::RequestBuilder {
        self.client
            .get(format!("{}/users/me", self.base))
            .bearer_auth(access_token)
    }

    /// One kind of bad input, chosen by `n`, with the status it must get.
    fn bad_input(&self, n: usize) -> (&'static str, u16, reqwest::RequestBuilder) {
        let url = |path: &str| format!("{}{path}", self.base);
        match n % 8 {
            0 => (
                "bad: grant type",
                400,
                self.form("/token", &[("grant_type", "implicit")]),
            ),
            1 => (
                "bad: missing password",
                400,
                self.form(
                    "/token",
                    &[
                        ("grant_type", "password"),
                        ("client_id", CLIENT),
                        ("username", "x"),
                    ],
                ),
            ),
            2 => (
                "bad: forged bearer",
                401,
                self.users_me("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
            ),
            3 => (
                "bad: JSON body",
                400,
                self.client
                    .post(url("/token"))
                    .header("content-type", "application/json")
                    .body(r#"{"grant_type":"password"}"#),
            ),
            4 => (
                "bad: oversized body",
                413,
                self.client
                    .post(url("/token"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("a=".to_owned() + &"b".repeat(9000)),
            ),
            5 => (
                "bad: unknown refresh token",
                400,
                self.refresh("not-a-token"),
            ),
            6 => (
                "bad: unknown user",
                400,
                self.login(&format!("nobody-{n}"), "some-wrong-password"),
            ),
            _ => ("bad: method", 405, self.client.get(url("/token"))),
        }
    }
}

/// One session: sign in (after one wrong password), read the profile, refresh twice,
/// try some bad input, sometimes register a new user, and end by revoking or leaving
/// the refresh token alive.
async fn session(load: Arc<Load>, id: usize) {
    let username = format!("soak-{id}");
    let mut live: Option<String> = None;
    for round in 0.. {
        let n = id * 1_000_003 + round;
        if load
            .send(
                "login: wrong password",
                400,
                load.login(&username, "not-the-password"),
            )
            .await
            .is_none()
        {
            break;
        }
        let Some(tokens) = load
            .send("login", 200, load.login(&username, PASSWORD))
            .await
        else {
            break;
        };
        let (Some(mut access), Some(mut refresh)) = (
            tokens["access_token"].as_str().map(str::to_owned),
            tokens["refresh_token"].as_str().map(str::to_owned),
        ) else {
            continue;
        };
        for _ in 0..2 {
            for _ in 0..2 {
                if load
                    .send("users/me", 200, load.users_me(&access))
                    .await
                    .is_none()
                {
                    break;
                }
            }
            let Some(rotated) = load.send("refresh", 200, load.refresh(&refresh)).await else {
                break;
            };
            if let (Some(a), Some(r)) = (
                rotated["access_token"].as_str(),
                rotated["refresh_token"].as_str(),
            ) {
                access = a.to_owned();
                refresh = r.to_owned();
            }
        }
        for k in 0..2 {
            let (kind, expected, request) = load.bad_input(n * 2 + k);
            load.send(kind, expected, request).await;
        }
        if round % 5 == 0 {
            let name = format!("soak-{id}-{round}");
            let body = serde_json::json!({"username": name, "password": PASSWORD});
            let request = load.client.post(format!("{}/users", load.base)).json(&body);
            if load.send("register", 201, request).await.is_some() {
                load.ledger.lock().await.registered.push(name);
            }
        }
        // Revoke every other login; the newest of the rest stays alive.
        if round % 2 == 0 {
            let request = load.form("/revoke", &[("token", &refresh), ("client_id", CLIENT)]);
            if load.send("revoke", 200, request).await.is_some() {
                load.ledger.lock().await.revoked.push(refresh);
                continue;
            }
        }
        if let Some(previous) = live.replace(refresh) {
            // Left alive; checked at the end like the last one.
            load.ledger.lock().await.live.push(previous);
        }
    }
    if let Some(last) = live {
        load.ledger.lock().await.live.push(last);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_thousand_mixed_requests_in_memory_lose_nothing_and_memory_stays_flat() {
    soak("in-memory", None, IN_MEMORY_REQUESTS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_thousand_mixed_requests_on_dynamodb_lose_nothing() {
    // Its transactions back up single items, not the whole table (see the script).
    let dynamodb = PrivateDynamoDb::start_with(&["--item-rollback"]);
    soak("DynamoDB", Some(&dynamodb.endpoint), DYNAMODB_REQUESTS).await;
}

/// `total` mixed requests from [`SESSIONS`] sessions against a local server on the
/// in-memory store or on the DynamoDB-compatible server at `endpoint`, then the checks.
async fn soak(name: &str, endpoint: Option<&str>, total: usize) {
    let log = std::env::temp_dir().join(format!(
        "soak-server-{}-{}.log",
        std::process::id(),
        if endpoint.is_some() {
            "dynamodb"
        } else {
            "memory"
        }
    ));
    let server = start_server(endpoint, &log);
    let pid = server.child.id();
    let load = Arc::new(Load {
        client: reqwest::Client::new(),
        base: server.base.clone(),
        budget: AtomicUsize::new(0),
        total,
        ledger: Mutex::new(Ledger::default()),
    });

    // Resident memory after each tenth of the requests.
    let sampler = {
        let load = Arc::clone(&load);
        tokio::spawn(async move {
            let mut samples = vec![resident_kib(pid)];
            let mut next = total / 10;
            while next <= total {
                if load.budget.load(Ordering::SeqCst) >= next {
                    samples.push(resident_kib(pid));
                    next += total / 10;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            samples
        })
    };
    let started = Instant::now();
    let sessions: Vec<_> = (0..SESSIONS)
        .map(|id| tokio::spawn(session(Arc::clone(&load), id)))
        .collect();
    for s in sessions {
        s.await.unwrap();
    }
    let elapsed = started.elapsed();
    let samples = sampler.await.unwrap();

    let ledger = std::mem::take(&mut *load.ledger.lock().await);
    let sent: usize = ledger.statuses.values().sum();
    println!(
        "soak ({name}): {sent} requests in {:.1} s ({:.0}/s), {SESSIONS} sessions",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
    for ((kind, status), count) in &ledger.statuses {
        println!("  {kind:<28} {status} x {count}");
    }
    println!("  resident memory (KiB) after each tenth: {samples:?}");
    assert_eq!(sent, total);
    assert!(
        ledger.statuses.keys().all(|(_, status)| *status < 500),
        "5xx answers: {:?}",
        ledger.statuses
    );
    assert!(
        ledger.surprises.is_empty(),
        "{} unexpected answers, first: {:?}",
        ledger.surprises.len(),
        &ledger.surprises[..ledger.surprises.len().min(5)]
    );

    // Nothing acknowledged was lost: the state the answers promised is the state
    // the table holds.
    // (The request builders of the load, sent directly: outside the budget.)
    let status = |request: reqwest::RequestBuilder| async move {
        request.send().await.unwrap().status().as_u16()
    };
    assert!(ledger.live.len() >= SESSIONS, "{}", ledger.live.len());
    for token in &ledger.live {
        assert_eq!(
            status(load.refresh(token)).await,
            200,
            "a live refresh token was lost"
        );
    }
    assert!(!ledger.revoked.is_empty());
    for token in &ledger.revoked {
        assert_eq!(
            status(load.refresh(token)).await,
            400,
            "a revocation was lost"
        );
    }
    assert!(!ledger.registered.is_empty());
    for name in &ledger.registered {
        let code = status(load.login(name, PASSWORD)).await;
        assert_eq!(code, 200, "registered user {name} was lost");
    }
    println!(
        "  checked afterwards: {} live refresh tokens refresh, {} revoked ones are refused, \
         {} registered users log in",
        ledger.live.len(),
        ledger.revoked.len(),
        ledger.registered.len()
    );

    // Flat memory: once warm (after the first fifth), resident memory grows by less
    // than a quarter over the remaining four fifths.
    let warm = samples[2];
    let last = *samples.last().unwrap();
    assert!(
        last <= warm + warm / 4,
        "resident memory grew from {warm} KiB to {last} KiB: {samples:?}"
    );
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        !log.contains("\"level\":\"ERROR\""),
        "the server logged errors"
    );
}

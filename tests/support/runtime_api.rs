//! A stand-in for the AWS Lambda Runtime API, so that the real function binaries can
//! be run and invoked on this machine exactly as Lambda runs them: the binary polls
//! `GET /runtime/invocation/next`, handles the event, and posts the response.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

/// What the function posted back for one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    Error(Value),
    InitError(Value),
}

struct Inner {
    events: Mutex<mpsc::UnboundedReceiver<Value>>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    /// When each `GET /next` arrived (the first one ends the function's init).
    polls: mpsc::UnboundedSender<std::time::Instant>,
}

pub struct FakeRuntimeApi {
    pub address: std::net::SocketAddr,
    events: mpsc::UnboundedSender<Value>,
    outcomes: Mutex<mpsc::UnboundedReceiver<Outcome>>,
    polls: Mutex<mpsc::UnboundedReceiver<std::time::Instant>>,
}

impl FakeRuntimeApi {
    pub async fn start() -> Self {
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let (outcome_tx, outcome_rx) = mpsc::unbounded_channel();
        let (poll_tx, poll_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            events: Mutex::new(event_rx),
            outcomes: outcome_tx,
            polls: poll_tx,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(inner);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeRuntimeApi {
            address,
            events: event_tx,
            outcomes: Mutex::new(outcome_rx),
            polls: Mutex::new(poll_rx),
        }
    }

    /// When the function next asked for an event (the first time: the end of init).
    pub async fn next_poll(&self) -> std::time::Instant {
        let mut polls = self.polls.lock().await;
        tokio::time::timeout(Duration::from_secs(30), polls.recv())
            .await
            .expect("the function polled within 30 s")
            .expect("the runtime API is running")
    }

    /// Queues one event and waits (at most 30 s) for what the function posts back.
    pub async fn invoke(&self, event: Value) -> Outcome {
        self.events.send(event).unwrap();
        self.next_outcome().await
    }

    pub async fn next_outcome(&self) -> Outcome {
        let mut outcomes = self.outcomes.lock().await;
        tokio::time::timeout(Duration::from_secs(30), outcomes.recv())
            .await
            .expect("the function answered within 30 s")
            .expect("the runtime API is running")
    }
}

async fn next(State(inner): State<Arc<Inner>>) -> (HeaderMap, String) {
    let _ = inner.polls.send(std::time::Instant::now());
    // Blocks until an event is queued, as the real Runtime API does.
    let event = inner
        .events
        .lock()
        .await
        .recv()
        .await
        .unwrap_or(Value::Null);
    let mut headers = HeaderMap::new();
    let request_id = shared::random_token(12);
    let deadline = (std::time::SystemTime::now() + Duration::from_secs(30))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    set("lambda-runtime-aws-request-id", request_id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:eu-west-1:123456789012:function:test".into(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0".into(),
    );
    set("content-type", "application/json".into());
    (headers, event.to_string())
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()))
}

async fn response(
    State(inner): State<Arc<Inner>>,
    Path(_id): Path<String>,
    body: String,
) -> StatusCode {
    let _ = inner.outcomes.send(Outcome::Response(parse(&body)));
    StatusCode::ACCEPTED
}

async fn error(
    State(inner): State<Arc<Inner>>,
    Path(_id): Path<String>,
    body: String,
) -> StatusCode {
    let _ = inner.outcomes.send(Outcome::Error(parse(&body)));
    StatusCode::ACCEPTED
}

async fn init_error(State(inner): State<Arc<Inner>>, body: String) -> StatusCode {
    let _ = inner.outcomes.send(Outcome::InitError(parse(&body)));
    StatusCode::ACCEPTED
}

/// The path of a workspace binary, built first (a no-op when it is up to date).
pub fn function_binary(package: &str) -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", package])
        .current_dir(&workspace)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "cargo build -p {package} failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    target.join("debug").join(package)
}

/// Starts a function binary against the fake Runtime API, with the variables Lambda
/// sets plus `env`. The process is killed when the handle is dropped.
pub fn spawn_function(
    binary: &std::path::Path,
    runtime: &FakeRuntimeApi,
    env: &std::collections::HashMap<String, String>,
) -> tokio::process::Child {
    tokio::process::Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime.address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        // The same region as the test process: the local server keeps tables per region.
        .env(
            "AWS_REGION",
            std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        )
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the function binary")
}

/// Everything a function process printed (stdout, then stderr), once it has ended.
pub async fn printed_output(child: &mut tokio::process::Child) -> String {
    use tokio::io::AsyncReadExt;
    let mut output = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut output).await.unwrap();
    }
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut output).await.unwrap();
    }
    output
}

/// Starts the token binary with `env`, expects it to exit with an error before
/// serving, and returns everything it printed.
pub async fn refused_token_start_output(env: &std::collections::HashMap<String, String>) -> String {
    let runtime = FakeRuntimeApi::start().await;
    let mut child = spawn_function(&function_binary("token"), &runtime, env);
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("the process exits")
        .unwrap();
    assert!(!status.success());
    printed_output(&mut child).await
}

//! Structured logs: one JSON object per line on stdout, which Lambda ships to
//! CloudWatch Logs. Nothing in this crate logs a password, token or hash.

/// Crates whose debug and trace output would contain request bodies (passwords,
/// tokens) or stored items (hashes). They are capped at `info` whatever `RUST_LOG`
/// says.
const CAPPED_AT_INFO: [&str; 7] = [
    "lambda_runtime",
    "lambda_http",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sdk_dynamodb",
    "hyper",
];

/// For command-line tools: JSON lines on standard error (standard output is the
/// command's own), audit events and warnings only.
pub fn init_for_cli() {
    let filter = tracing_subscriber::EnvFilter::new("warn,audit=info");
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_current_span(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Installs the JSON subscriber; `RUST_LOG` sets the filter (default `info`).
pub fn init() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Capped crates stay at info; audit events are always written, whatever
    // RUST_LOG says.
    for directive in CAPPED_AT_INFO
        .iter()
        .map(|target| format!("{target}=info"))
        .chain(["audit=info".to_owned()])
    {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_current_span(false)
        .try_init();
}

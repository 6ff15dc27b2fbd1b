//! Structured logs: one JSON object per line on stdout, which Lambda ships to
//! CloudWatch Logs. Nothing in this crate logs a password, token or hash.

/// Installs the JSON subscriber; `RUST_LOG` sets the filter (default `info`).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_current_span(false)
        .try_init();
}

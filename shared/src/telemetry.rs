//! Structured logs: one JSON object per line on stdout, which Lambda ships to
//! CloudWatch Logs. Nothing in this crate logs a password, token or hash.

use tracing::Level;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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
    let filter = Targets::new()
        .with_default(LevelFilter::WARN)
        .with_target("audit", LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .json()
        .with_ansi(false)
        .with_current_span(false)
        .with_writer(std::io::stderr)
        .finish()
        .with(filter)
        .try_init();
}

/// Installs the JSON subscriber; `RUST_LOG` sets the filter (default `info`).
pub fn init() {
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_ansi(false)
        .with_current_span(false)
        .finish()
        .with(filter)
        .try_init();
}

/// The filter `RUST_LOG` describes: a default level and `target=level` pairs,
/// comma-separated (`info`, `warn,shared=debug`); `info` when it is unset or does not
/// parse. The capped crates never go beyond `info`, and audit events are always
/// written.
///
/// `tracing_subscriber`'s `Targets`, not its `EnvFilter`: `EnvFilter`'s span and field
/// filters bring two regular-expression engines into every binary (each x86-64 binary
/// was about 1 MB larger with them, BENCHMARKS.md), and a Lambda function's log filter
/// needs neither.
pub fn log_filter(rust_log: Option<&str>) -> Targets {
    let mut filter = rust_log
        .and_then(|value| value.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    for target in CAPPED_AT_INFO {
        let capped = [Level::INFO, Level::WARN, Level::ERROR]
            .into_iter()
            .find(|level| filter.would_enable(target, level))
            .map_or(LevelFilter::OFF, LevelFilter::from_level);
        filter = filter.with_target(target, capped);
    }
    filter.with_target("audit", LevelFilter::INFO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_sets_levels_but_capped_crates_stay_at_info_and_audit_is_always_on() {
        let filter = log_filter(Some("trace"));
        assert!(filter.would_enable("shared::routes", &Level::TRACE));
        for target in CAPPED_AT_INFO {
            assert!(filter.would_enable(target, &Level::INFO), "{target}");
            assert!(!filter.would_enable(target, &Level::DEBUG), "{target}");
        }
        assert!(!log_filter(Some("trace,hyper=trace")).would_enable("hyper::proto", &Level::DEBUG));

        // A capped crate asked for less than info keeps the lower level.
        let quiet = log_filter(Some("warn,aws_smithy_runtime=error"));
        assert!(!quiet.would_enable("aws_smithy_runtime", &Level::WARN));
        assert!(quiet.would_enable("aws_smithy_runtime", &Level::ERROR));
        assert!(!quiet.would_enable("lambda_http", &Level::INFO));
        assert!(quiet.would_enable("lambda_http", &Level::WARN));
        assert!(!quiet.would_enable("shared", &Level::INFO));

        let off = log_filter(Some("off"));
        assert!(!off.would_enable("shared", &Level::ERROR));
        assert!(off.would_enable("audit", &Level::INFO));

        for unset_or_invalid in [None, Some("shared=loud")] {
            let default = log_filter(unset_or_invalid);
            assert!(default.would_enable("shared", &Level::INFO));
            assert!(!default.would_enable("shared", &Level::DEBUG));
        }
        assert!(log_filter(Some("shared=debug")).would_enable("shared::tokens", &Level::DEBUG));
    }
}

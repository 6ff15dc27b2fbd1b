//! The API Gateway event path, end to end: fuzz bytes are deserialized as a Lambda
//! event exactly as `lambda_http` does it (REST v1 or HTTP API v2, base64 bodies
//! included), converted to an `http::Request`, then by `shared::lambda::to_http_request`
//! to the handlers' request, and dispatched to every function of the service (token,
//! users-me, account, well-known) on the in-memory store.
//!
//! Invariants: the conversion keeps method, URI, headers and body bytes; no
//! function ever answers 5xx (the in-memory store cannot be unavailable, so even
//! 503 is a bug here); every error is an RFC 6749 JSON error body that must not be
//! cached; a successful token response carries a token the service's own verifier
//! accepts.
//!
//! The event goes the way the deployed functions take it (`shared::lambda::run`):
//! `serde_json::Value` from the runtime, `shared::lambda::convertible_event` (which
//! guards against `lambda_http` 1.3's panics on events whose URI or base64 body is
//! malformed, see README.md, "Findings"), `lambda_http`'s conversion, then either the
//! 400 for a sanitized event or `to_http_request` and the endpoints. Panics that the
//! guard catches are reported once per location on stderr (the first input for each
//! is saved under artifacts/apigw_event/); `FUZZ_APIGW_STRICT=1` bypasses the guard
//! to reproduce the `lambda_http` panics themselves.
#![no_main]

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use bytes::Bytes;
use http::header;
use lambda_http::Body;
use lambda_http::request::LambdaRequest;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::tokens::TokenVerifier;

use fuzz_support::Service;

/// Runs between two rebuilds of the service, so that the store (registered
/// users, login counters, refresh tokens) stays small and the seeded user unlocked.
const RUNS_PER_SERVICE: u32 = 20_000;

struct State {
    runtime: tokio::runtime::Runtime,
    service: RefCell<Service>,
    runs: Cell<u32>,
    verifier: TokenVerifier,
}

thread_local! {
    static STATE: State = {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let service = runtime.block_on(Service::new());
        State {
            runtime,
            service: RefCell::new(service),
            runs: Cell::new(0),
            verifier: fuzz_support::es256_verifier(),
        }
    };
    static IN_LAMBDA_HTTP: Cell<bool> = const { Cell::new(false) };
    static SEEN_PANICS: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
    /// Where the last skipped panic happened, when that place is new.
    static NEW_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn strict() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT.get_or_init(|| std::env::var_os("FUZZ_APIGW_STRICT").is_some_and(|v| v != "0"))
}

/// `FUZZ_APIGW_TRACE=1` prints every answer (to check what the seeds reach).
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("FUZZ_APIGW_TRACE").is_some_and(|v| v != "0"))
}

/// Wraps libFuzzer's panic hook (which aborts): a panic raised inside
/// `lambda_http`'s conversion is only noted; every other panic still aborts.
fn install_panic_filter() {
    let fuzzer_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if IN_LAMBDA_HTTP.with(Cell::get) {
            let location = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            if SEEN_PANICS.with(|seen| seen.borrow_mut().insert(location.clone())) {
                eprintln!(
                    "lambda_http panicked converting an event (skipped; FUZZ_APIGW_STRICT=1 to crash): {info}"
                );
                NEW_PANIC.with(|p| *p.borrow_mut() = Some(location));
            }
        } else {
            fuzzer_hook(info);
        }
    }));
}

/// The header `shared::lambda` marks a sanitized event with (its private
/// `MALFORMED_URI_MARK`); such a request is answered 400 without reaching an endpoint.
const MALFORMED_URI_MARK: &str = "x-oauth-server-malformed-uri";

/// Keeps the first input that made the dependency panic at each place.
fn save_new_panic_input(data: &[u8]) {
    let Some(location) = NEW_PANIC.with(|p| p.borrow_mut().take()) else {
        return;
    };
    // ".../lambda_http-1.3.2/src/request.rs:175" -> "lambda_http-1.3.2-request.rs-175"
    let parts: Vec<&str> = location.split('/').collect();
    let krate = parts
        .iter()
        .rposition(|p| *p == "src")
        .and_then(|i| i.checked_sub(1))
        .map_or("unknown", |i| parts[i]);
    let file = parts.last().copied().unwrap_or("");
    let name: String = format!("{krate}-{file}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let dir = std::path::Path::new("artifacts/apigw_event");
    if std::fs::create_dir_all(dir).is_ok() {
        let path = dir.join(format!("dependency-panic-{name}.json"));
        if std::fs::write(&path, data).is_ok() {
            eprintln!("  input saved to {}", path.display());
        }
    }
}

/// The event as the Lambda runtime hands it over (`LambdaEvent<serde_json::Value>`),
/// through `shared::lambda::convertible_event` (which tries `lambda_http`'s
/// conversion under `catch_unwind` and sanitizes what would panic), then converted
/// by `lambda_http` as its adapter does. Panics that `convertible_event` catches
/// itself are only noted; a panic that escapes it, or a conversion that panics
/// after it, is a crash.
///
/// With `FUZZ_APIGW_STRICT=1`: `lambda_http`'s conversion with no guard at all, to
/// reproduce the dependency panics themselves.
fn convert(data: &[u8]) -> Option<lambda_http::Request> {
    let value: Value = serde_json::from_slice(data).ok()?;
    if strict() {
        let event: LambdaRequest = serde_json::from_value(value).ok()?;
        return Some(event.into());
    }
    let parses = serde_json::from_value::<LambdaRequest>(value.clone()).is_ok();
    IN_LAMBDA_HTTP.with(|f| f.set(true));
    let guarded = std::panic::catch_unwind(AssertUnwindSafe(|| {
        shared::lambda::convertible_event(value)
    }));
    IN_LAMBDA_HTTP.with(|f| f.set(false));
    save_new_panic_input(data);
    let event = match guarded {
        Err(_) => panic!("a panic escaped shared::lambda::convertible_event"),
        Ok(Err(error)) => {
            // Not an API Gateway event at all is fine (the invocation fails, as it
            // would in lambda_http); an event lambda_http reads must be served.
            assert!(
                !parses,
                "convertible_event gave up on an API Gateway event: {error}"
            );
            return None;
        }
        Ok(Ok(event)) => event,
    };
    Some(lambda_http::Request::from(event))
}

fuzz_target!(
    init: {
        fuzz_support::maybe_write_seeds();
        install_panic_filter();
        STATE.with(|_| {});
    },
    |data: &[u8]| {
        let Some(request) = convert(data) else { return };
        STATE.with(|state| run(state, request));
    }
);

fn run(state: &State, request: lambda_http::Request) {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let body: Vec<u8> = match request.body() {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.as_bytes().to_vec(),
        Body::Binary(bytes) => bytes.clone(),
        _ => Vec::new(),
    };
    if !strict() && request.headers().contains_key(MALFORMED_URI_MARK) {
        // What shared::lambda::run answers instead of calling the endpoint.
        let response = shared::http::error_response(
            &shared::error::ApiError::invalid_request("the request URI is malformed"),
            "",
        );
        assert_eq!(response.status(), 400);
        return;
    }
    let request = shared::lambda::to_http_request(request);
    assert_eq!(request.method(), method);
    assert_eq!(request.uri(), &uri);
    assert_eq!(request.headers(), &headers);
    assert_eq!(request.body(), &Bytes::from(body));

    let runs = state.runs.get() + 1;
    state.runs.set(runs);
    if runs % RUNS_PER_SERVICE == 0 {
        *state.service.borrow_mut() = state.runtime.block_on(Service::new());
    }
    let service = state.service.borrow();
    for (name, function) in &service.functions {
        let response = state.runtime.block_on(function.handle(request.clone()));
        if trace() {
            eprintln!(
                "{} {} -> {name}: {} {}",
                request.method(),
                request.uri(),
                response.status(),
                response.body()
            );
        }
        check_response(state, name, &request, &response);
        let status = response.status();
        let text = response.body().clone();
        let lambda_response = shared::lambda::to_lambda_response(response);
        assert_eq!(lambda_response.status(), status);
        assert!(matches!(lambda_response.body(), Body::Text(t) if *t == text));
    }
}

fn check_response(
    state: &State,
    function: &str,
    request: &http::Request<Bytes>,
    response: &shared::http::HttpResponse,
) {
    let status = response.status().as_u16();
    assert!(
        status < 500,
        "{function} answered {status} {} to {} {}",
        response.body(),
        request.method(),
        request.uri()
    );
    if status == 204 {
        assert_eq!(function, "account");
        assert!(response.body().is_empty());
        return;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "{function}: {content_type:?}"
    );
    let body: Value = serde_json::from_str(response.body())
        .unwrap_or_else(|e| panic!("{function}: body is not JSON ({e}): {}", response.body()));
    if status >= 400 {
        let error = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{function}: no error code"));
        assert!(!error.is_empty());
        if let Some(description) = body.get("error_description") {
            // RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E only.
            let description = description.as_str().expect("error_description is a string");
            assert!(
                description.bytes().all(|b| b == 0x20
                    || b == 0x21
                    || (0x23..=0x5B).contains(&b)
                    || (0x5D..=0x7E).contains(&b)),
                "{function}: error_description {description:?}"
            );
        }
        assert_eq!(
            response
                .headers()
                .get(header::CACHE_CONTROL)
                .map(|v| v.as_bytes()),
            Some(&b"no-store"[..])
        );
        if status == 401 {
            assert!(
                response.headers().contains_key(header::WWW_AUTHENTICATE),
                "{function}: 401 without a challenge"
            );
        }
        if status == 405 {
            assert!(response.headers().contains_key(header::ALLOW));
        }
    }
    if status == 200 {
        if let Some(token) = body.get("access_token") {
            assert_eq!(function, "token");
            let token = token.as_str().expect("access_token is a string");
            assert_eq!(body["token_type"], "Bearer");
            let claims = state
                .verifier
                .verify(token)
                .unwrap_or_else(|e| panic!("an issued token does not verify: {e:?}"));
            fuzz_support::assert_accepted_token_is_valid("ES256", token, &claims);
            assert_eq!(
                response
                    .headers()
                    .get(header::CACHE_CONTROL)
                    .map(|v| v.as_bytes()),
                Some(&b"no-store"[..])
            );
        }
    }
}

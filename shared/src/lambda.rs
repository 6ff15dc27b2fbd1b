//! The Lambda adapter: API Gateway events (REST v1 and HTTP API v2, base64 bodies
//! included, decoded by `lambda_http`) in, handler responses out.

use std::sync::Arc;

use bytes::Bytes;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, LambdaEvent, tower};
use serde::Deserialize;

use crate::config::{self, ConfigError, Environment, ProcessEnvironment};
use crate::error::ApiError;
use crate::http::{HttpResponse, error_response};
use crate::routes::Endpoint;
use crate::store::{DynamoDbStore, Store};

/// Marks an event whose URI or body had to be replaced (see [`convertible_event`]): the
/// request is answered 400 without reaching an endpoint.
const MALFORMED_URI_MARK: &str = "x-oauth-server-malformed-uri";

/// Parses an API Gateway event (REST v1 or HTTP API v2) for `lambda_http`.
///
/// `lambda_http` 1.3 panics while converting an event whose path, query string or
/// host does not form a valid URI (a raw `<` in the query string, a path without a
/// leading `/`), or whose body is flagged base64 but is not, before any handler
/// runs, and the invocation fails. Here the conversion is tried first; if it panics,
/// the path, query, host and body are replaced with harmless ones and the event is
/// marked, so that the client gets a 400.
///
/// The event becomes `lambda_http`'s type once (no copy of the JSON value, no second
/// deserialization); the trial converts a copy of that, which adds 5–12 µs per
/// invocation to lambda_http's own 7 µs (BENCHMARKS.md, "Lambda adapter").
pub fn convertible_event(event: serde_json::Value) -> Result<LambdaRequest, serde_json::Error> {
    let request = LambdaRequest::deserialize(&event)?;
    if converts(&request) {
        return Ok(request);
    }
    let mut event = event;
    for (field, value) in [
        ("rawPath", "/".into()),
        ("path", "/".into()),
        ("rawQueryString", "".into()),
        ("queryStringParameters", serde_json::Value::Null),
        ("multiValueQueryStringParameters", serde_json::Value::Null),
        ("body", serde_json::Value::Null),
        ("isBase64Encoded", false.into()),
    ] {
        if event.get(field).is_some() {
            event[field] = value;
        }
    }
    if let Some(context) = event
        .get_mut("requestContext")
        .and_then(|c| c.as_object_mut())
    {
        context.remove("domainName");
    }
    for headers in ["headers", "multiValueHeaders"] {
        if let Some(headers) = event.get_mut(headers).and_then(|h| h.as_object_mut()) {
            headers.retain(|name, _| !name.eq_ignore_ascii_case("host"));
        }
    }
    if !event["headers"].is_object() {
        event["headers"] = serde_json::json!({});
    }
    if let Some(headers) = event["headers"].as_object_mut() {
        headers.insert(MALFORMED_URI_MARK.into(), "1".into());
    }
    let request = LambdaRequest::deserialize(&event)?;
    if !converts(&request) {
        return Err(serde::de::Error::custom(
            "an event lambda_http cannot convert",
        ));
    }
    Ok(request)
}

/// Whether `lambda_http` turns the request into an `http::Request` without panicking,
/// tried on a copy. Only API Gateway's two payload formats exist here (the workspace
/// enables `lambda_http`'s `apigw_rest` and `apigw_http` features, no others); any other
/// kind of event, should a feature ever add one, is refused rather than let through
/// unchecked.
fn converts(request: &LambdaRequest) -> bool {
    let copy = match request {
        LambdaRequest::ApiGatewayV1(event) => LambdaRequest::ApiGatewayV1(event.clone()),
        LambdaRequest::ApiGatewayV2(event) => LambdaRequest::ApiGatewayV2(event.clone()),
        _ => return false,
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lambda_http::Request::from(copy)
    }))
    .is_ok()
}

/// Turns a `lambda_http` request into the plain request the handlers take.
pub fn to_http_request(request: lambda_http::Request) -> http::Request<Bytes> {
    let (parts, body) = request.into_parts();
    let bytes = match body {
        Body::Text(text) => Bytes::from(text),
        Body::Binary(binary) => Bytes::from(binary),
        _ => Bytes::new(),
    };
    http::Request::from_parts(parts, bytes)
}

pub fn to_lambda_response(response: HttpResponse) -> lambda_http::Response<Body> {
    response.map(Body::Text)
}

/// Serves one endpoint on the Lambda runtime until the runtime shuts the process down.
pub async fn run<E: Endpoint>(endpoint: E) -> Result<(), lambda_http::Error> {
    let endpoint = Arc::new(endpoint);
    let handler = lambda_http::service_fn(move |request: lambda_http::Request| {
        let endpoint = Arc::clone(&endpoint);
        async move {
            let response = if request.headers().contains_key(MALFORMED_URI_MARK) {
                error_response(&ApiError::invalid_request("the request is malformed"), "")
            } else if request.method() == http::Method::OPTIONS {
                // A CORS preflight that an `ANY` route passed on: API Gateway adds the
                // CORS headers configured in template.yaml to this answer.
                let mut preflight = HttpResponse::new(String::new());
                *preflight.status_mut() = http::StatusCode::NO_CONTENT;
                preflight
            } else {
                endpoint.handle(to_http_request(request)).await
            };
            Ok::<_, lambda_http::Error>(to_lambda_response(response))
        }
    });
    // lambda_http's own adapter (response formats per API Gateway version), fed with
    // events parsed by `convertible_event` rather than by the runtime.
    let mut adapter = lambda_http::Adapter::from(handler);
    lambda_http::lambda_runtime::run(tower::service_fn(
        move |event: LambdaEvent<serde_json::Value>| {
            let parsed = convertible_event(event.payload);
            let call = parsed.map(|request| {
                tower::Service::call(&mut adapter, LambdaEvent::new(request, event.context))
            });
            async move {
                match call {
                    Ok(response) => response.await,
                    Err(error) => Err(lambda_http::Error::from(error)),
                }
            }
        },
    ))
    .await
}

/// A function's whole `main`: logging, then everything expensive once at cold start
/// (configuration, keys, the SDK client, via `build`), then the runtime loop. With an
/// invalid configuration it logs which setting is wrong and exits, so that Lambda
/// reports an init error instead of serving with a missing or weak key.
pub async fn start<E, F>(build: F) -> Result<(), lambda_http::Error>
where
    E: Endpoint,
    F: FnOnce(&dyn Environment, Arc<dyn Store>) -> Result<E, ConfigError>,
{
    crate::telemetry::init();
    serve_or_refuse(build_with_store(&ProcessEnvironment, build).await).await
}

/// [`start`] for the function that signs: the signing key first comes from the
/// Secrets Manager secret `JWT_SIGNING_KEY_SECRET` names, when it is set. Only the
/// token function calls this, so only its binary carries the Secrets Manager client.
pub async fn start_signing<E, F>(build: F) -> Result<(), lambda_http::Error>
where
    E: Endpoint,
    F: FnOnce(&dyn Environment, Arc<dyn Store>) -> Result<E, ConfigError>,
{
    crate::telemetry::init();
    let process = ProcessEnvironment;
    let with_secret = match crate::signing_key_secret::resolve(&process).await {
        Ok(with_secret) => with_secret,
        Err(error) => return serve_or_refuse::<E>(Err(error)).await,
    };
    let env: &dyn Environment = match &with_secret {
        Some(with_secret) => with_secret,
        None => &process,
    };
    serve_or_refuse(build_with_store(env, build).await).await
}

async fn build_with_store<E, F>(env: &dyn Environment, build: F) -> Result<E, ConfigError>
where
    F: FnOnce(&dyn Environment, Arc<dyn Store>) -> Result<E, ConfigError>,
{
    let settings = config::store_settings(env)?;
    build(env, Arc::new(DynamoDbStore::connect(&settings).await))
}

/// [`start`] for a function that needs no table.
pub async fn start_without_store<E, F>(build: F) -> Result<(), lambda_http::Error>
where
    E: Endpoint,
    F: FnOnce(&dyn Environment) -> Result<E, ConfigError>,
{
    crate::telemetry::init();
    serve_or_refuse(build(&ProcessEnvironment)).await
}

async fn serve_or_refuse<E: Endpoint>(
    endpoint: Result<E, ConfigError>,
) -> Result<(), lambda_http::Error> {
    let endpoint = endpoint
        .inspect_err(|error| tracing::error!(%error, "refusing to start: invalid configuration"))?;
    run(endpoint).await
}

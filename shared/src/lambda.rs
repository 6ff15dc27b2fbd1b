//! The Lambda adapter: API Gateway events (REST v1 and HTTP API v2, base64 bodies
//! included, decoded by `lambda_http`) in, handler responses out.

use std::sync::Arc;

use bytes::Bytes;
use lambda_http::Body;

use crate::config::{self, ConfigError, Environment, ProcessEnvironment};
use crate::http::HttpResponse;
use crate::routes::Endpoint;
use crate::store::{DynamoDbStore, Store};

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
    lambda_http::run(lambda_http::service_fn(
        move |request: lambda_http::Request| {
            let endpoint = Arc::clone(&endpoint);
            async move {
                let response = endpoint.handle(to_http_request(request)).await;
                Ok::<_, lambda_http::Error>(to_lambda_response(response))
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
    let env = ProcessEnvironment;
    let endpoint = match config::store_settings(&env) {
        Ok(settings) => build(&env, Arc::new(DynamoDbStore::connect(&settings).await)),
        Err(error) => Err(error),
    };
    serve_or_refuse(endpoint).await
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

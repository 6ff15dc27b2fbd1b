//! The token function: `POST /token` (RFC 6749 §4.3 password grant).
//!
//! Everything expensive (configuration, key parsing, the SDK client) happens once
//! here at cold start; the handler itself lives in `shared::routes::token`.

use std::sync::Arc;

use shared::config::{self, ConfigError, ProcessEnvironment};
use shared::routes::token::TokenEndpoint;
use shared::store::DynamoDbUserStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let endpoint = build().await.inspect_err(|error| {
        tracing::error!(%error, "refusing to start: invalid configuration");
    })?;
    shared::lambda::run(endpoint).await
}

async fn build() -> Result<TokenEndpoint, ConfigError> {
    let env = ProcessEnvironment;
    let store = DynamoDbUserStore::connect(&config::store_settings(&env)?).await;
    TokenEndpoint::from_env(&env, Arc::new(store))
}

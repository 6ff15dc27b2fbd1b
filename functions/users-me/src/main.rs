//! The users-me function: `GET /users/me`, protected by a bearer access token
//! (RFC 6750). It holds only verification keys and reads the table.

use std::sync::Arc;

use shared::config::{self, ConfigError, ProcessEnvironment};
use shared::routes::users_me::UsersMeEndpoint;
use shared::store::DynamoDbUserStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let endpoint = build().await.inspect_err(|error| {
        tracing::error!(%error, "refusing to start: invalid configuration");
    })?;
    shared::lambda::run(endpoint).await
}

async fn build() -> Result<UsersMeEndpoint, ConfigError> {
    let env = ProcessEnvironment;
    let store = DynamoDbUserStore::connect(&config::store_settings(&env)?).await;
    UsersMeEndpoint::from_env(&env, Arc::new(store))
}

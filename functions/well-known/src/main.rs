//! The well-known function: discovery metadata (RFC 8414) and the public key set
//! (RFC 7517). No table access, no private key. The handler lives in
//! `shared::routes::well_known`.

use shared::routes::well_known::WellKnownEndpoint;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::start_without_store(WellKnownEndpoint::from_env).await
}

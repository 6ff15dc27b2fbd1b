//! The token function: `POST /token` (RFC 6749 §4.3 password grant).
//! The handler lives in `shared::routes::token`.

use shared::routes::token::TokenEndpoint;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::start(TokenEndpoint::from_env).await
}

//! The users-me function: `GET /users/me`, protected by a bearer access token
//! (RFC 6750). It holds only verification keys and reads the table.
//! The handler lives in `shared::routes::users_me`.

use shared::routes::users_me::UsersMeEndpoint;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::start(UsersMeEndpoint::from_env).await
}

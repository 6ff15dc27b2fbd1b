//! The token function: `POST /token` (RFC 6749 password and refresh-token grants)
//! and `POST /revoke` (RFC 7009). The handlers live in `shared::routes`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::start_signing(shared::routes::token_function).await
}

//! The authorize function: `GET /authorize` (RFC 6749 §4.1 with PKCE, RFC 7636), the
//! hosted login and consent forms (`POST /authorize/login`, `POST /authorize/consent`)
//! and their stylesheet, and the OpenID Connect end-session endpoint (`GET`/`POST
//! /logout`). The handlers live in `shared::routes::authorize` and `::logout`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::start(shared::routes::authorize_function).await
}

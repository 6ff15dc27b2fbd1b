//! The public function: discovery metadata (RFC 8414), the public key set
//! (RFC 7517), the OpenAPI document and the interactive docs. No table access, no
//! private key. The handlers live in `shared::routes::well_known` and
//! `shared::routes::api_docs`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::start_without_store(shared::routes::public_function).await
}

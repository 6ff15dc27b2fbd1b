//! The account function: self-service `POST /users` (registration) and
//! `POST /users/me/password`, each off unless switched on. The handlers live in
//! `shared::routes::account`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::start(shared::routes::account::account_function).await
}

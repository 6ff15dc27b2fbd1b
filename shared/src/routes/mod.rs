//! One handler per endpoint. Each takes a plain `http::Request` with the body
//! already collected and returns a response; the Lambda adapter, the local server
//! and the tests all call them the same way.

pub mod revoke;
pub mod token;
pub mod users_me;
pub mod well_known;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::config::{ConfigError, Environment};
use crate::http::HttpResponse;
use crate::store::Store;

/// An endpoint: one Lambda function's worth of behaviour.
#[async_trait]
pub trait Endpoint: Send + Sync + 'static {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse;
}

/// The token function: `POST /revoke` by its path, and `POST /token` for every
/// other path (`/token` behind API Gateway; `/` at the root of a function URL or of
/// `cargo lambda watch`'s `/lambda-url/token`). Both share the token side's store
/// permissions.
pub fn token_function(
    env: &dyn Environment,
    store: Arc<dyn Store>,
) -> Result<EndpointsByPath, ConfigError> {
    let token = token::TokenEndpoint::from_env(env, store.clone())?;
    let revoke = revoke::RevokeEndpoint::new(store, token.passwords().clone());
    Ok(EndpointsByPath::new(
        vec![("/revoke", Box::new(revoke))],
        Box::new(token),
    ))
}

/// Several endpoints in one function, chosen by how the path ends: behind API
/// Gateway (with or without a stage prefix), `cargo lambda watch`
/// (`/lambda-url/<function>/...`) and the local server alike.
pub struct EndpointsByPath {
    routes: Vec<(&'static str, Box<dyn Endpoint>)>,
    /// For paths that match no route.
    default: Box<dyn Endpoint>,
}

impl EndpointsByPath {
    pub fn new(routes: Vec<(&'static str, Box<dyn Endpoint>)>, default: Box<dyn Endpoint>) -> Self {
        EndpointsByPath { routes, default }
    }
}

#[async_trait]
impl Endpoint for EndpointsByPath {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse {
        let path = request.uri().path().trim_end_matches('/').to_owned();
        match self
            .routes
            .iter()
            .find(|(suffix, _)| path.ends_with(suffix))
        {
            Some((_, endpoint)) => endpoint.handle(request).await,
            None => self.default.handle(request).await,
        }
    }
}

#[cfg(test)]
mod tests;

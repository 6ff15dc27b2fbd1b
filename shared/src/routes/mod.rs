//! One handler per endpoint. Each takes a plain `http::Request` with the body
//! already collected and returns a response; the Lambda adapter, the local server
//! and the tests all call them the same way.

pub mod token;
pub mod users_me;
pub mod well_known;

use async_trait::async_trait;
use bytes::Bytes;

use crate::http::HttpResponse;

/// An endpoint: one Lambda function's worth of behaviour.
#[async_trait]
pub trait Endpoint: Send + Sync + 'static {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse;
}

#[cfg(test)]
mod tests;

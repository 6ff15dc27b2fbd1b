//! One handler per endpoint. Each takes a plain `http::Request` with the body
//! already collected and returns a response; the Lambda adapter, the local server
//! and the tests all call them the same way.

pub mod account;
pub mod api_docs;
pub mod authorize;
pub mod logout;
pub mod revoke;
pub mod token;
pub mod users_me;
pub mod well_known;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::config::{ConfigError, Environment};
use crate::error::ApiError;
use crate::http::HttpResponse;
use crate::oauth::{BearerCredentials, bearer_token, query_parameter_among};
use crate::store::Store;
use crate::tokens::{AccessTokenClaims, TokenVerifier};

/// An endpoint: one Lambda function's worth of behaviour.
#[async_trait]
pub trait Endpoint: Send + Sync + 'static {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse;
}

/// One endpoint shared by several routes.
#[async_trait]
impl<T: Endpoint + ?Sized> Endpoint for Arc<T> {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse {
        (**self).handle(request).await
    }
}

/// The public, table-less function: discovery metadata and keys under
/// `/.well-known/`, the OpenAPI document and the interactive docs.
pub fn public_function(env: &dyn Environment) -> Result<EndpointsByPath, ConfigError> {
    let docs = Arc::new(api_docs::ApiDocsEndpoint::from_env(env)?);
    let routes = api_docs::ApiDocsEndpoint::PATH_SUFFIXES
        .iter()
        .map(|suffix| (*suffix, Box::new(Arc::clone(&docs)) as Box<dyn Endpoint>))
        .collect();
    Ok(EndpointsByPath::new(
        routes,
        Box::new(well_known::WellKnownEndpoint::from_env(env)?),
    ))
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

/// The authorize function: `GET /authorize`, the login and consent forms and the
/// pages' stylesheet, all under `/authorize`, and the end-session endpoint
/// `/logout` (both own the sign-in sessions). It verifies passwords (so it has the
/// token function's memory) but holds no signing key.
pub fn authorize_function(
    env: &dyn Environment,
    store: Arc<dyn Store>,
) -> Result<EndpointsByPath, ConfigError> {
    let logout = logout::LogoutEndpoint::from_env(env, store.clone())?;
    Ok(EndpointsByPath::new(
        vec![(crate::pages::LOGOUT_PATH, Box::new(logout))],
        Box::new(authorize::AuthorizeEndpoint::from_env(env, store)?),
    ))
}

/// RFC 6750 bearer authentication of a resource request: the token from the
/// `Authorization` header only (§2.3 tokens in the URI leak into logs; refused),
/// verified by signature, issuer, audience, type and time.
pub(crate) fn bearer_claims(
    request: &http::Request<Bytes>,
    verifier: &TokenVerifier,
) -> Result<AccessTokenClaims, ApiError> {
    if query_parameter_among(request.uri().query(), &["access_token"]).is_some() {
        return Err(ApiError::invalid_request(
            "access tokens are accepted only in the Authorization header",
        ));
    }
    let token = match bearer_token(request.headers())? {
        BearerCredentials::Absent => return Err(ApiError::MissingToken),
        BearerCredentials::Token(token) => token,
    };
    verifier
        .verify(token)
        .map_err(|e| ApiError::InvalidToken(e.description()))
}

/// RFC 6750 §2.1 or §2.2: the token in the `Authorization` header, or in a
/// form-encoded body as `access_token` (OpenID Connect Core §5.3.1 allows both for
/// `POST /userinfo`); both at once is `invalid_request` (RFC 6750 §2).
pub(crate) fn bearer_claims_in_header_or_body(
    request: &http::Request<Bytes>,
    verifier: &TokenVerifier,
) -> Result<AccessTokenClaims, ApiError> {
    let in_header = !matches!(bearer_token(request.headers())?, BearerCredentials::Absent);
    let form_body = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !form_body || request.body().is_empty() {
        return bearer_claims(request, verifier);
    }
    let form = crate::oauth::form_post(request)?;
    // The body carries the token and nothing else: anything more is a mistake the
    // client should hear about, not silently ignored.
    if let Some(name) = form.unknown_name(&["access_token"]) {
        return Err(ApiError::invalid_request(format!(
            "the body may hold access_token only, not '{}'",
            crate::oauth::printable(name)
        )));
    }
    match form.get("access_token") {
        None => bearer_claims(request, verifier),
        Some(_) if in_header => Err(ApiError::invalid_request(
            "send the access token in the Authorization header or in the body, not both",
        )),
        Some(token) => {
            if query_parameter_among(request.uri().query(), &["access_token"]).is_some() {
                return Err(ApiError::invalid_request(
                    "access tokens are never accepted in the URL",
                ));
            }
            verifier
                .verify(token)
                .map_err(|e| ApiError::InvalidToken(e.description()))
        }
    }
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

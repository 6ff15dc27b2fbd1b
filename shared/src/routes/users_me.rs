//! `GET /users/me`: a resource protected by a bearer access token (RFC 6750).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, StatusCode};

use super::Endpoint;
use crate::config::{self, ConfigError, Environment, ServiceSettings};
use crate::error::ApiError;
use crate::http::{HttpResponse, error_response, json_no_store};
use crate::oauth::{BearerCredentials, bearer_token, query_parameter_among};
use crate::store::{Store, UserStore};
use crate::tokens::TokenVerifier;

pub struct UsersMeEndpoint {
    store: Arc<dyn UserStore>,
    verifier: TokenVerifier,
    realm: String,
}

impl UsersMeEndpoint {
    pub fn new(store: Arc<dyn UserStore>, verifier: TokenVerifier, realm: String) -> Self {
        UsersMeEndpoint {
            store,
            verifier,
            realm,
        }
    }

    /// Everything the users-me function reads from its environment, except the
    /// store. It holds only verification keys: it cannot mint tokens.
    pub fn from_env(env: &dyn Environment, store: Arc<dyn Store>) -> Result<Self, ConfigError> {
        let service = ServiceSettings::from_env(env)?;
        let verifier = config::token_verifier(env, &service)?;
        Ok(UsersMeEndpoint::new(store, verifier, service.realm))
    }

    async fn respond(&self, request: http::Request<Bytes>) -> Result<HttpResponse, ApiError> {
        if request.method() != Method::GET {
            return Err(ApiError::MethodNotAllowed { allow: "GET" });
        }
        // RFC 6750 §2.3 tokens in the URI leak into logs; this server does not accept them.
        if query_parameter_among(request.uri().query(), &["access_token"]).is_some() {
            return Err(ApiError::invalid_request(
                "access tokens are accepted only in the Authorization header",
            ));
        }
        let token = match bearer_token(request.headers())? {
            BearerCredentials::Absent => return Err(ApiError::MissingToken),
            BearerCredentials::Token(token) => token,
        };
        let claims = self
            .verifier
            .verify(token)
            .map_err(|e| ApiError::InvalidToken(e.description()))?;
        let not_active = ApiError::InvalidToken("the token's user no longer exists or is disabled");
        let Some(username_key) = claims.username.as_deref() else {
            return Err(ApiError::InvalidToken(
                "the token does not belong to a user",
            ));
        };
        match self.store.get_user(username_key).await? {
            // The id check refuses tokens of a deleted user whose name was taken again.
            Some(user) if user.user_id == claims.sub && !user.disabled => {
                Ok(json_no_store(StatusCode::OK, &user.public_profile()))
            }
            _ => Err(not_active),
        }
    }
}

#[async_trait]
impl Endpoint for UsersMeEndpoint {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse {
        match self.respond(request).await {
            Ok(response) => response,
            Err(error) => error_response(&error, &self.realm),
        }
    }
}

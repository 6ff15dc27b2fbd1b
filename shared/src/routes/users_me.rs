//! `GET /users/me`: a resource protected by a bearer access token (RFC 6750).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, StatusCode};

use super::Endpoint;
use crate::config::{self, ConfigError, Environment, ServiceSettings};
use crate::error::ApiError;
use crate::http::{HttpResponse, error_response, json_no_store};
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
        let claims = super::bearer_claims(&request, &self.verifier)?;
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

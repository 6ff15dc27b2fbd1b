//! `GET /users/me`: a resource protected by a bearer access token (RFC 6750), and
//! `GET`/`POST /userinfo`, OpenID Connect's UserInfo endpoint (Core §5.3), in the
//! same read-only function.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, StatusCode};

use super::Endpoint;
use crate::config::{self, ConfigError, Environment, ServiceSettings};
use crate::error::ApiError;
use crate::http::{HttpResponse, error_response, json_no_store};
use crate::oauth::ScopeSet;
use crate::store::{Store, UserStore};
use crate::tokens::{AccessTokenClaims, TokenVerifier};
use crate::users::UserRecord;

/// The UserInfo endpoint's path suffix.
pub const USERINFO_SUFFIX: &str = "/userinfo";

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
        if request
            .uri()
            .path()
            .trim_end_matches('/')
            .ends_with(USERINFO_SUFFIX)
        {
            return self.userinfo(request).await;
        }
        if request.method() != Method::GET {
            return Err(ApiError::MethodNotAllowed { allow: "GET" });
        }
        let claims = super::bearer_claims(&request, &self.verifier)?;
        let user = self.token_user(&claims).await?;
        Ok(json_no_store(StatusCode::OK, &user.public_profile()))
    }

    /// OpenID Connect Core §5.3: the claims of the token's scope about its user,
    /// `sub` always. The token comes in the `Authorization` header, or for `POST` in
    /// the form body (RFC 6750 §2.2); never in the query. It must carry `openid`.
    async fn userinfo(&self, request: http::Request<Bytes>) -> Result<HttpResponse, ApiError> {
        let claims = match *request.method() {
            Method::GET => super::bearer_claims(&request, &self.verifier)?,
            Method::POST => super::bearer_claims_in_header_or_body(&request, &self.verifier)?,
            _ => return Err(ApiError::MethodNotAllowed { allow: "GET, POST" }),
        };
        claims.require_scope(crate::oidc::OPENID)?;
        let user = self.token_user(&claims).await?;
        let scope = ScopeSet::parse(claims.scope.as_deref().unwrap_or("")).unwrap_or_default();
        Ok(json_no_store(
            StatusCode::OK,
            &crate::oidc::UserClaims::of(&user, &scope),
        ))
    }

    /// The user a verified token speaks for, if it still exists and is enabled.
    async fn token_user(&self, claims: &AccessTokenClaims) -> Result<UserRecord, ApiError> {
        let Some(username_key) = claims.username.as_deref() else {
            return Err(ApiError::InvalidToken(
                "the token does not belong to a user",
            ));
        };
        match self.store.get_user(username_key).await? {
            // The id check refuses tokens of a deleted user whose name was taken again.
            Some(user) if user.user_id == claims.sub && !user.disabled => Ok(user),
            _ => Err(ApiError::InvalidToken(
                "the token's user no longer exists or is disabled",
            )),
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

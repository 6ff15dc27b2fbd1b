//! `POST /token`: the RFC 6749 token endpoint, password grant (§4.3).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, StatusCode};
use serde::Serialize;

use super::Endpoint;
use crate::config::{self, ConfigError, Environment, ServiceSettings};
use crate::error::ApiError;
use crate::http::{HttpResponse, error_response, json_no_store};
use crate::oauth::{
    FormParameters, MAX_BODY_BYTES, PasswordGrantRequest, ScopeSet, TokenRequest,
    reject_credentials_in_query, require_form_content_type,
};
use crate::passwords::PasswordHasher;
use crate::store::{StoreError, UserStore};
use crate::tokens::TokenSigner;
use crate::users::Username;

/// The successful token response (RFC 6749 §5.1). No `Debug`: it holds a token.
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

pub struct TokenEndpoint {
    store: Arc<dyn UserStore>,
    passwords: PasswordHasher,
    signer: TokenSigner,
}

impl TokenEndpoint {
    pub fn new(store: Arc<dyn UserStore>, passwords: PasswordHasher, signer: TokenSigner) -> Self {
        TokenEndpoint {
            store,
            passwords,
            signer,
        }
    }

    /// Everything the token function reads from its environment, except the store.
    pub fn from_env(env: &dyn Environment, store: Arc<dyn UserStore>) -> Result<Self, ConfigError> {
        let service = ServiceSettings::from_env(env)?;
        Ok(TokenEndpoint::new(
            store,
            config::password_hasher(env, &service)?,
            config::token_signer(env, &service)?,
        ))
    }

    pub fn passwords(&self) -> &PasswordHasher {
        &self.passwords
    }

    async fn respond(&self, request: http::Request<Bytes>) -> Result<HttpResponse, ApiError> {
        // RFC 6749 §3.2: the client MUST use POST.
        if request.method() != Method::POST {
            return Err(ApiError::MethodNotAllowed { allow: "POST" });
        }
        if request.body().len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        reject_credentials_in_query(request.uri().query())?;
        require_form_content_type(request.headers())?;
        let form = FormParameters::parse(request.body())?;
        match TokenRequest::from_form(&form)? {
            TokenRequest::Password(grant) => self.password_grant(grant).await,
        }
    }

    /// RFC 6749 §4.3.2: authenticate the resource owner, then issue a token for the
    /// requested scope (or the user's full scope when none is requested, §3.3).
    async fn password_grant(&self, grant: PasswordGrantRequest) -> Result<HttpResponse, ApiError> {
        // A name that breaks the rules cannot exist; it still costs one bcrypt run.
        let user = match Username::parse(&grant.username) {
            Ok(name) => match self.store.get_user(&name.key()).await {
                Ok(user) => user,
                // An unreadable record is our problem, but answering it differently
                // (and without bcrypt work) would reveal that the name exists.
                Err(StoreError::Corrupt(attribute)) => {
                    tracing::error!(attribute, "a stored user record is malformed");
                    None
                }
                Err(other) => return Err(other.into()),
            },
            Err(_) => None,
        };
        let password_ok = self
            .passwords
            .verify(grant.password, user.as_ref().map(|u| &u.password_hash))
            .await;
        let user = match user {
            Some(user) if password_ok && !user.disabled => user,
            _ => {
                tracing::info!(outcome = "failure", "password grant refused");
                return Err(ApiError::InvalidGrant);
            }
        };
        let allowed = ScopeSet::from_tokens(user.scopes.iter().cloned());
        let granted = match grant.scope {
            Some(requested) if !requested.is_subset(&allowed) => {
                return Err(ApiError::InvalidScope(
                    "the requested scope exceeds what this user may be granted".into(),
                ));
            }
            Some(requested) => requested,
            None => allowed,
        };
        let issued = self
            .signer
            .issue(
                &user.user_id,
                Some(&user.username.key()),
                grant.client_id.as_deref(),
                &granted,
            )
            .map_err(|error| {
                tracing::error!(%error, "signing an access token failed");
                ApiError::Internal
            })?;
        tracing::info!(outcome = "success", user_id = %user.user_id, "password grant");
        Ok(json_no_store(
            StatusCode::OK,
            &TokenResponse {
                access_token: issued.access_token,
                token_type: "Bearer",
                expires_in: issued.expires_in,
                scope: issued.claims.scope,
            },
        ))
    }
}

#[async_trait]
impl Endpoint for TokenEndpoint {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse {
        match self.respond(request).await {
            Ok(response) => response,
            Err(error) => error_response(&error, ""),
        }
    }
}

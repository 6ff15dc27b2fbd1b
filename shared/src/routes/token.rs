//! `POST /token`: the RFC 6749 token endpoint: the password grant (§4.3) and the
//! refresh-token grant (§6) with rotation and reuse detection (RFC 9700 §4.14.2).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::StatusCode;
use secrecy::ExposeSecret;
use serde::Serialize;

use super::Endpoint;
use crate::config::{self, ConfigError, Environment, ServiceSettings};
use crate::error::ApiError;
use crate::http::{HttpResponse, error_response, json_no_store};
use crate::oauth::{PasswordGrantRequest, RefreshGrantRequest, ScopeSet, TokenRequest, form_post};
use crate::passwords::PasswordHasher;
use crate::refresh::{self, NewRefreshToken, RefreshLifetimes, RefreshTokenRecord};
use crate::store::{RotationError, Store, StoreError};
use crate::tokens::{IssuedToken, TokenSigner};
use crate::users::{UserRecord, Username};

/// The successful token response (RFC 6749 §5.1). No `Debug`: it holds tokens.
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

pub struct TokenEndpoint {
    store: Arc<dyn Store>,
    passwords: PasswordHasher,
    signer: TokenSigner,
    lifetimes: RefreshLifetimes,
}

impl TokenEndpoint {
    pub fn new(
        store: Arc<dyn Store>,
        passwords: PasswordHasher,
        signer: TokenSigner,
        lifetimes: RefreshLifetimes,
    ) -> Self {
        TokenEndpoint {
            store,
            passwords,
            signer,
            lifetimes,
        }
    }

    /// Everything the token function reads from its environment, except the store.
    pub fn from_env(env: &dyn Environment, store: Arc<dyn Store>) -> Result<Self, ConfigError> {
        let service = ServiceSettings::from_env(env)?;
        Ok(TokenEndpoint::new(
            store,
            config::password_hasher(env, &service)?,
            config::token_signer(env, &service)?,
            config::refresh_lifetimes(env)?,
        ))
    }

    pub fn passwords(&self) -> &PasswordHasher {
        &self.passwords
    }

    async fn respond(&self, request: http::Request<Bytes>) -> Result<HttpResponse, ApiError> {
        let form = form_post(&request)?;
        match TokenRequest::from_form(&form)? {
            TokenRequest::Password(grant) => self.password_grant(grant).await,
            TokenRequest::RefreshToken(grant) => self.refresh_grant(grant).await,
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
        // Sign first: it has no side effects, so nothing is stored for a token that
        // could not be issued.
        let issued = self.issue_access_token(&user, grant.client_id.as_deref(), &granted)?;
        let now = crate::now_unix();
        let refresh_token = NewRefreshToken::generate();
        let family = refresh::first_of_family(
            &refresh_token,
            &user.user_id,
            &user.username.key(),
            grant.client_id.as_deref(),
            &granted.to_string(),
            now,
            self.lifetimes,
        );
        self.store.start_family(&family).await?;
        tracing::info!(outcome = "success", user_id = %user.user_id, "password grant");
        Ok(token_response(issued, refresh_token))
    }

    /// RFC 6749 §6: a new access token and a new refresh token for an unused, live
    /// refresh token; the presented one stops working. A token presented after it was
    /// used means it leaked (or a race was lost): the whole family is revoked.
    async fn refresh_grant(&self, grant: RefreshGrantRequest) -> Result<HttpResponse, ApiError> {
        let refused = ApiError::InvalidRefreshToken;
        let Some(token_hash) = refresh::presented_token_hash(&grant.refresh_token) else {
            return Err(refused);
        };
        let Some(stored) = self.store.find_refresh_token(&token_hash).await? else {
            return Err(refused);
        };
        let old = stored.record;
        if stored.used {
            self.revoke_family_after_reuse(&old).await;
            return Err(refused);
        }
        let now = crate::now_unix();
        // The token is bound to the client_id it was issued to (or to none).
        let other_client = grant.client_id != old.client_id;
        if stored.family_revoked || old.is_expired(now) || other_client {
            return Err(refused);
        }
        let user = match self.store.get_user(&old.username_key).await? {
            Some(user) if user.user_id == old.user_id && !user.disabled => user,
            _ => return Err(refused),
        };
        let family_scope = ScopeSet::parse(&old.scope).unwrap_or_default();
        let requested = match grant.scope {
            Some(requested) if !requested.is_subset(&family_scope) => {
                return Err(ApiError::InvalidScope(
                    "a refresh may only narrow the scope of the original grant".into(),
                ));
            }
            Some(requested) => requested,
            None => family_scope,
        };
        // Never more than the user may have today (scopes can be taken away).
        let user_scopes = ScopeSet::from_tokens(user.scopes.iter().cloned());
        let granted = ScopeSet::from_tokens(requested.iter().filter(|s| user_scopes.contains(s)));
        let issued = self.issue_access_token(&user, old.client_id.as_deref(), &granted)?;
        let refresh_token = NewRefreshToken::generate();
        let successor = old.successor(refresh_token.token_hash.clone(), now, self.lifetimes);
        match self.store.rotate(&old, &successor).await {
            Ok(()) => {}
            Err(RotationError::AlreadyUsed) => {
                self.revoke_family_after_reuse(&old).await;
                return Err(refused);
            }
            Err(RotationError::FamilyRevoked) => return Err(refused),
            Err(RotationError::Store(error)) => return Err(error.into()),
        }
        tracing::info!(outcome = "success", user_id = %user.user_id, "refresh grant");
        Ok(token_response(issued, refresh_token))
    }

    /// Revokes the family of a reused token, retrying once. If the store still fails
    /// the client is refused all the same (the reused token is spent either way) and
    /// the failure is logged as an error for operators.
    async fn revoke_family_after_reuse(&self, token: &RefreshTokenRecord) {
        tracing::warn!(
            family_id = %token.family_id,
            user_id = %token.user_id,
            "refresh token reuse detected; revoking its family"
        );
        for _ in 0..2 {
            match self.store.revoke_family(&token.family_id).await {
                Ok(()) | Err(StoreError::NotFound) => return,
                Err(error) => {
                    tracing::error!(%error, family_id = %token.family_id, "revoking a reused family failed")
                }
            }
        }
    }

    fn issue_access_token(
        &self,
        user: &UserRecord,
        client_id: Option<&str>,
        scope: &ScopeSet,
    ) -> Result<IssuedToken, ApiError> {
        self.signer
            .issue(&user.user_id, Some(&user.username.key()), client_id, scope)
            .map_err(|error| {
                tracing::error!(%error, "signing an access token failed");
                ApiError::Internal
            })
    }
}

fn token_response(issued: IssuedToken, refresh_token: NewRefreshToken) -> HttpResponse {
    json_no_store(
        StatusCode::OK,
        &TokenResponse {
            access_token: issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            refresh_token: refresh_token.token.expose_secret().to_owned(),
            scope: issued.claims.scope,
        },
    )
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

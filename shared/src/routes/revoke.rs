//! `POST /revoke`: token revocation (RFC 7009).
//!
//! Revoking a refresh token revokes its whole family (every token of that login).
//! Access tokens are self-contained JWTs that expire within minutes; this server
//! does not keep a list of them, so it answers `unsupported_token_type` for them
//! (RFC 7009 §2.2.1) rather than pretend. Anything else, known or not, gets 200, so
//! that the answer reveals nothing about which tokens exist (§2.2).
//!
//! The client authenticates as at the token endpoint (§2.1), and may revoke only
//! tokens issued to itself: another client's token is `unauthorized_client`, and
//! nothing is revoked.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::StatusCode;
use secrecy::SecretString;

use super::Endpoint;
use crate::audit::{self, AuditEvent, RequestOrigin, Subject};
use crate::clients::{self, PresentedClient};
use crate::error::ApiError;
use crate::http::{HttpResponse, error_response, json_no_store};
use crate::oauth::form_post;
use crate::passwords::PasswordHasher;
use crate::refresh;
use crate::store::{Store, StoreError};

pub struct RevokeEndpoint {
    store: Arc<dyn Store>,
    /// For client secrets.
    passwords: PasswordHasher,
}

impl RevokeEndpoint {
    pub fn new(store: Arc<dyn Store>, passwords: PasswordHasher) -> Self {
        RevokeEndpoint { store, passwords }
    }

    async fn respond(&self, request: http::Request<Bytes>) -> Result<HttpResponse, ApiError> {
        let form = form_post(&request)?;
        // §2.1: the client first, then the token.
        let presented = PresentedClient::from_request(request.headers(), &form)?;
        let client = clients::authenticate(&*self.store, &self.passwords, presented).await?;
        let token = form.require("token")?;
        // `token_type_hint` is only a hint (§2.1): every token is looked up the same way.
        if looks_like_jwt(token) {
            return Err(ApiError::UnsupportedTokenType);
        }
        let secret = SecretString::from(token.to_owned());
        if let Some(hash) = refresh::presented_token_hash(&secret)
            && let Some(stored) = self.store.find_refresh_token(&hash).await?
        {
            if stored.record.client_id.as_deref() != Some(client.client_id.as_str()) {
                return Err(ApiError::UnauthorizedClient(
                    "the token was not issued to this client",
                ));
            }
            match self.store.revoke_family(&stored.record.family_id).await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(error) => return Err(error.into()),
            }
            let subject = Subject {
                user_id: Some(&stored.record.user_id),
                username: Some(&stored.record.username_key),
                client_id: Some(client.client_id.as_str()),
            };
            let origin = RequestOrigin::of(&request);
            audit::record(
                AuditEvent::TokenRevoked,
                "family revoked",
                &subject,
                &origin,
            );
        }
        Ok(json_no_store(StatusCode::OK, &serde_json::json!({})))
    }
}

/// Three dot-separated base64url segments: the shape of our access tokens.
fn looks_like_jwt(token: &str) -> bool {
    let segments: Vec<&str> = token.split('.').collect();
    segments.len() == 3
        && segments[..2].iter().all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[async_trait]
impl Endpoint for RevokeEndpoint {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse {
        match self.respond(request).await {
            Ok(response) => response,
            Err(error) => error_response(&error, ""),
        }
    }
}

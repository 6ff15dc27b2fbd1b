//! `POST /token`: the RFC 6749 token endpoint: the authorization code grant (§4.1.3,
//! with PKCE, RFC 7636), the password grant (§4.3), the
//! refresh-token grant (§6) with rotation and reuse detection (RFC 9700 §4.14.2) and
//! the client-credentials grant (§4.4). Every request names a registered client
//! (§2.3, §3.2.1), which must be allowed the grant it uses.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::StatusCode;
use secrecy::ExposeSecret;
use serde::Serialize;

use super::Endpoint;
use crate::audit::{self, AuditEvent, RequestOrigin, Subject};
use crate::authorization::{self, AuthorizationCodeRecord};
use crate::clients::{self, ClientRecord, GrantType, PresentedClient};
use crate::config::{self, ConfigError, Environment, ServiceSettings};
use crate::error::ApiError;
use crate::http::{HttpResponse, error_response, json_no_store};
use crate::keys::SigningAlgorithm;
use crate::oauth::{
    AuthorizationCodeGrantRequest, PasswordGrantRequest, RefreshGrantRequest, ScopeSet,
    TokenRequest, form_post,
};
use crate::oidc::{self, IdTokenClaims, SignInFacts};
use crate::passwords::PasswordHasher;
use crate::refresh::{self, NewRefreshToken, RefreshLifetimes, RefreshTokenRecord};
use crate::sign_in::{SignIn, SignInMethod};
use crate::store::{RotationError, Store, StoreError};
use crate::tokens::{IssuedToken, TokenSigner};
use crate::users::UserRecord;

/// The successful token response (RFC 6749 §5.1). No `Debug`: it holds tokens.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// A JWT (RFC 9068), `typ` `at+jwt`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(value_type = String)]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Only for clients allowed the refresh-token grant, never for client
    /// credentials (§4.4.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// OpenID Connect Core §3.1.3.3: when the authorization request's scope held
    /// `openid` (code grant, and refreshes of it, §12.2). A JWT, `typ` `JWT`. Never
    /// under HS256, whose `/authorize` refuses `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

pub struct TokenEndpoint {
    store: Arc<dyn Store>,
    sign_in: SignIn,
    signer: TokenSigner,
    lifetimes: RefreshLifetimes,
    id_token_lifetime: u64,
}

impl TokenEndpoint {
    /// Everything the token function reads from its environment, except the store.
    pub fn from_env(env: &dyn Environment, store: Arc<dyn Store>) -> Result<Self, ConfigError> {
        let service = ServiceSettings::from_env(env)?;
        Ok(TokenEndpoint {
            sign_in: SignIn::new(
                store.clone(),
                config::password_hasher(env, &service)?,
                config::login_throttle(env)?,
            ),
            store,
            signer: config::token_signer(env, &service)?,
            lifetimes: config::refresh_lifetimes(env)?,
            id_token_lifetime: config::id_token_ttl(env)?,
        })
    }

    pub fn passwords(&self) -> &PasswordHasher {
        self.sign_in.passwords()
    }

    async fn respond(&self, request: http::Request<Bytes>) -> Result<HttpResponse, ApiError> {
        let form = form_post(&request)?;
        let grant = TokenRequest::from_form(&form)?;
        let presented = PresentedClient::from_request(request.headers(), &form)?;
        let client =
            clients::authenticate(&*self.store, self.sign_in.passwords(), presented).await?;
        if !client.allows(grant.grant_type()) {
            tracing::info!(client_id = %client.client_id, grant_type = %grant.grant_type(), "grant type not allowed for this client");
            return Err(ApiError::UnauthorizedClient(
                "this client is not allowed to use this grant type",
            ));
        }
        let origin = RequestOrigin::of(&request);
        match grant {
            TokenRequest::AuthorizationCode(grant) => {
                self.authorization_code_grant(&client, grant, &origin).await
            }
            TokenRequest::Password(grant) => self.password_grant(&client, grant, &origin).await,
            TokenRequest::RefreshToken(grant) => self.refresh_grant(&client, grant, &origin).await,
            TokenRequest::ClientCredentials { scope } => {
                self.client_credentials_grant(&client, scope)
            }
        }
    }

    /// RFC 6749 §4.4: a confidential client gets a token for itself: `sub` is the
    /// client id, no refresh token (§4.4.3), scope within the client's.
    fn client_credentials_grant(
        &self,
        client: &ClientRecord,
        requested: Option<ScopeSet>,
    ) -> Result<HttpResponse, ApiError> {
        // §4.4: "MUST only be used by confidential clients". authctl never allows
        // it to a public client; this guards against a hand-edited item.
        if !client.is_confidential() {
            return Err(ApiError::UnauthorizedClient(
                "only confidential clients may use client_credentials",
            ));
        }
        let granted = grantable(
            requested,
            &ScopeSet::from_tokens(client.scopes.iter().cloned()),
        )?;
        let issued = self
            .signer
            .issue(
                client.client_id.as_str(),
                None,
                Some(client.client_id.as_str()),
                &granted,
            )
            .map_err(signing_failed)?;
        tracing::info!(outcome = "success", client_id = %client.client_id, "client credentials grant");
        Ok(token_response(issued, None, None))
    }

    /// RFC 6749 §4.3.2: authenticate the resource owner (the one sign-in path,
    /// [`SignIn::verify`], shared with the login page), then issue a token for the
    /// requested scope, or when none is requested for everything both the user and
    /// the client may have (§3.3).
    async fn password_grant(
        &self,
        client: &ClientRecord,
        grant: PasswordGrantRequest,
        origin: &RequestOrigin,
    ) -> Result<HttpResponse, ApiError> {
        let user = self
            .sign_in
            .verify(
                &grant.username,
                grant.password,
                Some(client.client_id.as_str()),
                SignInMethod::PasswordGrant,
                origin,
            )
            .await?;
        let granted = grantable(grant.scope, &user_and_client_scopes(&user, client))?;
        // Sign first: it has no side effects, so nothing is stored for a token that
        // could not be issued.
        let issued = self.issue_access_token(&user, client, &granted)?;
        let refresh_token = self
            .start_family(&user, client, &granted, crate::now_unix(), None, None)
            .await?;
        Ok(token_response(issued, refresh_token, None))
    }

    /// A new refresh-token family with its first token, for clients allowed the
    /// refresh grant. `family_id` is the one derived from a code; `Ok(None)` when
    /// that family was revoked before it started (a replay of the code won).
    async fn start_family(
        &self,
        user: &UserRecord,
        client: &ClientRecord,
        granted: &ScopeSet,
        now: i64,
        family_id: Option<String>,
        sign_in: Option<SignInFacts>,
    ) -> Result<Option<NewRefreshToken>, ApiError> {
        if !client.allows(GrantType::RefreshToken) {
            return Ok(None);
        }
        let refresh_token = NewRefreshToken::generate();
        let mut family = refresh::first_of_family(
            &refresh_token,
            &user.user_id,
            &user.username.key(),
            Some(client.client_id.as_str()),
            &granted.to_string(),
            now,
            self.lifetimes,
        );
        if let Some(family_id) = family_id {
            family.family_id = family_id;
        }
        family.credential_generation = user.credential_generation;
        family.sign_in = sign_in;
        match self.store.start_family(&family).await {
            Ok(()) => Ok(Some(refresh_token)),
            Err(StoreError::AlreadyExists) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// OpenID Connect Core §3.1.3.3 and §12.2: an ID token when `openid` was granted
    /// and the key is one a relying party can verify (an HS256 secret is not
    /// published, so HS256 deployments issue none).
    #[allow(clippy::too_many_arguments)]
    fn id_token(
        &self,
        user: &UserRecord,
        client: &ClientRecord,
        granted: &ScopeSet,
        facts: &SignInFacts,
        nonce: Option<&str>,
        access_token: &str,
        now: i64,
    ) -> Result<Option<String>, ApiError> {
        if !granted.contains(oidc::OPENID) || self.signer.algorithm() == SigningAlgorithm::Hs256 {
            return Ok(None);
        }
        let claims = IdTokenClaims::new(
            self.signer.issuer(),
            client.client_id.as_str(),
            user,
            granted,
            facts,
            nonce,
            access_token,
            now,
            self.id_token_lifetime,
        );
        self.signer
            .sign_id_token(&claims)
            .map(Some)
            .map_err(signing_failed)
    }

    /// RFC 6749 §4.1.3 and RFC 7636 §4.6: a code issued to this client, for this
    /// redirect URI, unexpired, unused, whose challenge the verifier meets, becomes an
    /// access token (and a refresh token for clients allowed that grant). Every
    /// refusal is the same `invalid_grant`. A code presented after it was redeemed
    /// revokes the refresh-token family it issued (§4.1.2); the family's id is derived
    /// from the code, so this works even while the first redemption is storing it.
    async fn authorization_code_grant(
        &self,
        client: &ClientRecord,
        grant: AuthorizationCodeGrantRequest,
        origin: &RequestOrigin,
    ) -> Result<HttpResponse, ApiError> {
        let refused = ApiError::InvalidAuthorizationCode;
        let Some(code_hash) = authorization::presented_code_hash(grant.code.expose_secret()) else {
            return Err(refused);
        };
        let Some(stored) = self.store.find_authorization_code(&code_hash).await? else {
            return Err(refused);
        };
        let code = stored.record;
        if stored.used {
            self.revoke_after_code_reuse(&code, origin).await;
            return Err(refused);
        }
        let now = crate::now_unix();
        // §4.1.3: issued to this client; the same redirect_uri if the authorization
        // request named one (and if this request names one, it must be that one).
        let redirect_ok = match &grant.redirect_uri {
            Some(sent) => *sent == code.redirect_uri,
            None => !code.redirect_uri_sent,
        };
        if code.is_expired(now)
            || code.client_id != client.client_id
            || !redirect_ok
            || !code
                .code_challenge
                .is_satisfied_by(grant.code_verifier.expose_secret())
        {
            return Err(refused);
        }
        if !self
            .store
            .redeem_authorization_code(&code_hash, now)
            .await?
        {
            // Another redemption won a race: as much a replay as a later one.
            self.revoke_after_code_reuse(&code, origin).await;
            return Err(refused);
        }
        // The same user, still enabled, and no password change since sign-in.
        let user = match self.store.get_user(&code.username_key).await? {
            Some(user) if user.still_holds(&code.user_id, code.credential_generation) => user,
            _ => return Err(refused),
        };
        // Never more than the user and the client may have now.
        let current = user_and_client_scopes(&user, client);
        let granted = ScopeSet::from_tokens(code.scope.iter().filter(|s| current.contains(s)));
        let issued = self.issue_access_token(&user, client, &granted)?;
        let facts = SignInFacts {
            auth_time: code.auth_time,
            sid: code.sid.clone(),
        };
        let id_token = self.id_token(
            &user,
            client,
            &granted,
            &facts,
            code.nonce.as_deref(),
            &issued.access_token,
            now,
        )?;
        // A replay of this code may have revoked the family before it started: then
        // no refresh token, which would be dead on arrival.
        let refresh_token = self
            .start_family(
                &user,
                client,
                &granted,
                now,
                Some(code.family_id()),
                granted.contains(oidc::OPENID).then_some(facts),
            )
            .await?;
        tracing::info!(outcome = "success", user_id = %user.user_id, client_id = %client.client_id, "authorization code grant");
        Ok(token_response(issued, refresh_token, id_token))
    }

    /// Revokes (ahead, if need be) the family issued from a replayed code.
    async fn revoke_after_code_reuse(
        &self,
        code: &AuthorizationCodeRecord,
        origin: &RequestOrigin,
    ) {
        let subject = Subject {
            user_id: Some(&code.user_id),
            username: Some(&code.username_key),
            client_id: Some(code.client_id.as_str()),
        };
        audit::record(
            AuditEvent::AuthorizationCodeReuseDetected,
            "refresh family revoked",
            &subject,
            origin,
        );
        let expires_at = code.created_at + self.lifetimes.absolute_seconds;
        for _ in 0..2 {
            match self
                .store
                .revoke_family_ahead(&code.family_id(), expires_at)
                .await
            {
                Ok(()) => return,
                Err(error) => {
                    tracing::error!(%error, "revoking the family of a replayed code failed")
                }
            }
        }
    }

    /// RFC 6749 §6: a new access token and a new refresh token for an unused, live
    /// refresh token; the presented one stops working. A token presented after it was
    /// used means it leaked (or a race was lost): the whole family is revoked.
    async fn refresh_grant(
        &self,
        client: &ClientRecord,
        grant: RefreshGrantRequest,
        origin: &RequestOrigin,
    ) -> Result<HttpResponse, ApiError> {
        let refused = ApiError::InvalidRefreshToken;
        let Some(token_hash) = refresh::presented_token_hash(&grant.refresh_token) else {
            return Err(refused);
        };
        let Some(stored) = self.store.find_refresh_token(&token_hash).await? else {
            return Err(refused);
        };
        let old = stored.record;
        if stored.used {
            self.revoke_family_after_reuse(&old, origin).await;
            return Err(refused);
        }
        let now = crate::now_unix();
        // §6: the token is bound to the client it was issued to.
        let other_client = old.client_id.as_deref() != Some(client.client_id.as_str());
        if stored.family_revoked || old.is_expired(now) || other_client {
            return Err(refused);
        }
        // The same user (not a namesake), enabled, and no password change since the
        // family began.
        let user = match self.store.get_user(&old.username_key).await? {
            Some(user) if user.still_holds(&old.user_id, old.credential_generation) => user,
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
        // Never more than the user and the client may have today (scopes can be
        // taken away from either).
        let current = user_and_client_scopes(&user, client);
        let granted = ScopeSet::from_tokens(requested.iter().filter(|s| current.contains(s)));
        let issued = self.issue_access_token(&user, client, &granted)?;
        // Core §12.2: the same auth_time and sid as the sign-in, no nonce.
        let id_token = match &old.sign_in {
            Some(facts) => self.id_token(
                &user,
                client,
                &granted,
                facts,
                None,
                &issued.access_token,
                now,
            )?,
            None => None,
        };
        let refresh_token = NewRefreshToken::generate();
        let successor = old.successor(refresh_token.token_hash.clone(), now, self.lifetimes);
        match self.store.rotate(&old, &successor).await {
            Ok(()) => {}
            Err(RotationError::AlreadyUsed) => {
                self.revoke_family_after_reuse(&old, origin).await;
                return Err(refused);
            }
            Err(RotationError::FamilyRevoked) => return Err(refused),
            Err(RotationError::Store(error)) => return Err(error.into()),
        }
        tracing::info!(outcome = "success", user_id = %user.user_id, client_id = %client.client_id, "refresh grant");
        Ok(token_response(issued, Some(refresh_token), id_token))
    }

    /// Revokes the family of a reused token, retrying once. If the store still fails
    /// the client is refused all the same (the reused token is spent either way) and
    /// the failure is logged as an error for operators.
    async fn revoke_family_after_reuse(&self, token: &RefreshTokenRecord, origin: &RequestOrigin) {
        let subject = Subject {
            user_id: Some(&token.user_id),
            username: Some(&token.username_key),
            client_id: token.client_id.as_deref(),
        };
        audit::record(
            AuditEvent::RefreshReuseDetected,
            "family revoked",
            &subject,
            origin,
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
        client: &ClientRecord,
        scope: &ScopeSet,
    ) -> Result<IssuedToken, ApiError> {
        self.signer
            .issue(
                &user.user_id,
                Some(&user.username.key()),
                Some(client.client_id.as_str()),
                scope,
            )
            .map_err(signing_failed)
    }
}

fn signing_failed(error: crate::tokens::TokenError) -> ApiError {
    tracing::error!(%error, "signing an access token failed");
    ApiError::Internal
}

/// The scopes both the user and the client may have (RFC 6749 §3.3), and the
/// OpenID Connect identity scopes the client is registered for: they release claims
/// about the user, not permissions granted per user.
fn user_and_client_scopes(user: &UserRecord, client: &ClientRecord) -> ScopeSet {
    ScopeSet::from_tokens(
        client
            .scopes
            .iter()
            .filter(|s| crate::oidc::is_identity_scope(s) || user.scopes.contains(s))
            .cloned(),
    )
}

/// The requested scope if it lies within `allowed` (else `invalid_scope`), or all of
/// `allowed` when none was requested.
fn grantable(requested: Option<ScopeSet>, allowed: &ScopeSet) -> Result<ScopeSet, ApiError> {
    match requested {
        Some(requested) if !requested.is_subset(allowed) => Err(ApiError::InvalidScope(
            "the requested scope exceeds what this client and user may be granted".into(),
        )),
        Some(requested) => Ok(requested),
        None => Ok(allowed.clone()),
    }
}

fn token_response(
    issued: IssuedToken,
    refresh_token: Option<NewRefreshToken>,
    id_token: Option<String>,
) -> HttpResponse {
    json_no_store(
        StatusCode::OK,
        &TokenResponse {
            access_token: issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            refresh_token: refresh_token.map(|t| t.token.expose_secret().to_owned()),
            scope: issued.claims.scope,
            id_token,
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

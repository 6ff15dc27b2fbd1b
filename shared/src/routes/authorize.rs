//! The authorization endpoint and the hosted sign-in pages (RFC 6749 §4.1, RFC 7636,
//! RFC 9207, RFC 9700 §2.1 and §4.1):
//!
//! - `GET /authorize`: verifies the client and its redirect URI (an error page, never
//!   a redirect, until both are known good), then the rest of the request (errors
//!   go back to the client as a redirect with `iss`); with a live session it issues a
//!   code at once, else it keeps the request server-side and shows the login form.
//! - `POST /authorize/login`: the login form, through the same sign-in path as the
//!   password grant ([`SignIn::verify`]); starts a session.
//! - `POST /authorize/consent`: Allow / Deny for clients that are not first-party.
//! - `GET /authorize/style.css`: the pages' stylesheet.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use secrecy::SecretString;

use super::Endpoint;
use crate::audit::{self, AuditEvent, RequestOrigin, Subject};
use crate::authorization::{
    self, AuthorizationCodeRecord, AuthorizationError, AuthorizationParameters, ConsentRecord,
    NewAuthorizationCode, PENDING_LIFETIME_SECONDS, PendingAuthorization, RedirectOutcome,
    VerifiedRedirect,
};
use crate::clients::{ClientId, ClientRecord, GrantType};
use crate::config::{self, ConfigError, Environment, ServiceSettings};
use crate::error::ApiError;
use crate::http::HttpResponse;
use crate::oauth::{FormParameters, ScopeSet};
use crate::pages::{self, ConsentForm, LoginForm, Pages};
use crate::redirect_uri;
use crate::refresh::hash_token;
use crate::sessions::{
    CookiePolicy, NewSessionId, SessionLifetimes, SessionRecord, TOUCH_INTERVAL_SECONDS,
};
use crate::sign_in::{SignIn, SignInMethod};
use crate::store::{Store, StoreError};
use crate::tokens::TokenVerifier;
use crate::users::UserRecord;

/// What the user reads when the form they posted can no longer be used.
const START_AGAIN: &str = "This sign-in form has expired or was already used. Go back to the application and start signing in again.";
const WRONG_CREDENTIALS: &str = "Incorrect username or password.";

pub struct AuthorizeEndpoint {
    store: Arc<dyn Store>,
    sign_in: SignIn,
    issuer: String,
    code_lifetime: i64,
    sessions: SessionLifetimes,
    cookies: CookiePolicy,
    pages: Pages,
    /// Public keys only, for `id_token_hint` (OpenID Connect Core §3.1.2.1); `None`
    /// under HS256, which issues no ID tokens (see [`config::id_token_hint_verifier`]).
    verifier: Option<TokenVerifier>,
}

/// A page to show instead of going on.
struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl PageError {
    fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        PageError {
            status,
            title,
            message: message.into(),
        }
    }

    fn start_again(status: StatusCode) -> Self {
        Self::new(status, "Start again", START_AGAIN)
    }

    fn from_api(error: ApiError) -> Self {
        match error {
            ApiError::TemporarilyUnavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again in a moment",
                "The sign-in service is temporarily unavailable. Try again in a moment.",
            ),
            _ => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The sign-in service could not complete your request. Try again later.",
            ),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> Self {
        PageError::from_api(error.into())
    }
}

/// A failure after the redirect URI was verified: back to the client.
fn redirect_error(error: ApiError) -> AuthorizationError {
    match error {
        ApiError::TemporarilyUnavailable => AuthorizationError::new(
            "temporarily_unavailable",
            "the service is temporarily unavailable; retry later",
        ),
        _ => AuthorizationError::new("server_error", "an internal error occurred"),
    }
}

impl AuthorizeEndpoint {
    /// Everything the authorize function reads from its environment, except the
    /// store. It verifies passwords but holds no signing key: codes are opaque.
    pub fn from_env(env: &dyn Environment, store: Arc<dyn Store>) -> Result<Self, ConfigError> {
        let service = ServiceSettings::from_env(env)?;
        Ok(AuthorizeEndpoint {
            verifier: config::id_token_hint_verifier(env, &service)?,
            sign_in: SignIn::new(
                store.clone(),
                config::password_hasher(env, &service)?,
                config::login_throttle(env)?,
            ),
            store,
            code_lifetime: config::authorization_code_ttl(env)?,
            sessions: config::session_lifetimes(env)?,
            // `Secure` cookies reach the service only over https: a development
            // server on http://127.0.0.1 gets plain ones (and no `__Host-` prefix).
            cookies: CookiePolicy {
                secure: service.issuer.starts_with("https://"),
            },
            pages: Pages::new(config::branding(env)?, &service.issuer),
            issuer: service.issuer,
        })
    }

    pub fn passwords(&self) -> &crate::passwords::PasswordHasher {
        self.sign_in.passwords()
    }

    fn page(&self, error: PageError) -> HttpResponse {
        pages::html_response(
            error.status,
            self.pages.message(error.title, &error.message),
            None,
        )
    }

    fn redirect(&self, redirect: &VerifiedRedirect, outcome: RedirectOutcome<'_>) -> HttpResponse {
        pages::redirect_response(&authorization::redirect_location(
            &redirect.redirect_uri,
            &self.issuer,
            &outcome,
        ))
    }

    fn redirect_with_error(
        &self,
        redirect: &VerifiedRedirect,
        error: &AuthorizationError,
    ) -> HttpResponse {
        self.redirect(
            redirect,
            RedirectOutcome::Error {
                error,
                state: redirect.state.as_deref(),
            },
        )
    }

    /// `GET /authorize`.
    async fn authorize(&self, request: &http::Request<Bytes>) -> HttpResponse {
        let query = match authorization::query_parameters(request.uri().query()) {
            Ok(query) => query,
            Err(description) => {
                return self.page(PageError::new(
                    StatusCode::BAD_REQUEST,
                    "This sign-in link is not valid",
                    description,
                ));
            }
        };
        let (client, mut redirect) = match self.verify_client_and_redirect(&query).await {
            Ok(verified) => verified,
            Err(error) => return self.page(error),
        };
        // Core §3.1.2.1: redirect_uri is REQUIRED in an OpenID Connect request.
        let openid = query
            .get("scope")
            .is_some_and(|scope| scope.split(' ').any(|s| s == crate::oidc::OPENID));
        if openid && !redirect.redirect_uri_sent {
            return self.page(PageError::new(
                StatusCode::BAD_REQUEST,
                "This sign-in link is not valid",
                "An OpenID Connect request must name its redirect_uri.",
            ));
        }
        // From here on the redirect URI is the client's own: errors go there.
        match authorization::state(&query) {
            Ok(state) => redirect.state = state,
            Err(error) => return self.redirect_with_error(&redirect, &error),
        }
        let now = crate::now_unix();
        match self
            .authorize_verified(request, &client, &redirect, &query, now)
            .await
        {
            Ok(response) => response,
            Err(error) => self.redirect_with_error(&redirect, &error),
        }
    }

    /// RFC 6749 §4.1.2.1: an unknown or disabled client, or a redirect URI that is
    /// missing, unregistered or not an exact match, is told to the user, and the
    /// browser is never sent anywhere.
    async fn verify_client_and_redirect(
        &self,
        query: &FormParameters,
    ) -> Result<(ClientRecord, VerifiedRedirect), PageError> {
        let unknown = || {
            PageError::new(
                StatusCode::BAD_REQUEST,
                "Unknown application",
                "The application that sent you here is not registered with this service.",
            )
        };
        let Some(client_id) = query.get("client_id") else {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "This sign-in link is not valid",
                "The link does not name an application (client_id is missing).",
            ));
        };
        let client_id = ClientId::parse(client_id).map_err(|_| unknown())?;
        let client = match self.store.get_client(&client_id).await {
            Ok(Some(client)) if !client.disabled => client,
            Ok(_) => return Err(unknown()),
            Err(StoreError::Corrupt(attribute)) => {
                tracing::error!(attribute, "a stored client record is malformed");
                return Err(unknown());
            }
            Err(error) => return Err(error.into()),
        };
        let presented = query.get("redirect_uri");
        let redirect_uri = redirect_uri::resolve(&client.redirect_uris, presented).map_err(|e| {
            tracing::info!(client_id = %client.client_id, reason = %e, "authorization request with an unusable redirect_uri");
            PageError::new(
                StatusCode::BAD_REQUEST,
                "This sign-in link is not valid",
                format!("{e}. Ask the application's developers to register it."),
            )
        })?;
        Ok((
            client,
            VerifiedRedirect {
                redirect_uri,
                redirect_uri_sent: presented.is_some(),
                state: None,
            },
        ))
    }

    async fn authorize_verified(
        &self,
        request: &http::Request<Bytes>,
        client: &ClientRecord,
        redirect: &VerifiedRedirect,
        query: &FormParameters,
        now: i64,
    ) -> Result<HttpResponse, AuthorizationError> {
        let mut parameters = authorization::parameters(query)?;
        if !client.allows(GrantType::AuthorizationCode) {
            return Err(AuthorizationError::new(
                "unauthorized_client",
                "this client is not allowed to use the authorization code grant",
            ));
        }
        if let Some(scope) = &parameters.scope
            && !scope.is_subset(&ScopeSet::from_tokens(client.scopes.iter().cloned()))
        {
            return Err(AuthorizationError::new(
                "invalid_scope",
                "the requested scope exceeds what this client may be granted",
            ));
        }
        if self.verifier.is_none()
            && parameters
                .scope
                .as_ref()
                .is_some_and(|s| s.contains(crate::oidc::OPENID))
        {
            // HS256: an `openid` request could get no ID token (Core §3.1.3.3).
            return Err(AuthorizationError::new(
                "invalid_scope",
                "OpenID Connect is not available: this deployment signs with HS256",
            ));
        }
        let hint = self.id_token_hint(query, client)?;
        parameters.hint_subject = hint.as_ref().map(|hint| hint.sub.clone());
        let session = self
            .live_session(request.headers(), now)
            .await
            .map_err(redirect_error)?;
        // prompt=login or select_account, a sign-in older than max_age, or a session
        // of another user than the id_token_hint's asks for the password again.
        let session = session.filter(|(session, user)| {
            !parameters.prompt.asks_for_password()
                && parameters
                    .max_age
                    .is_none_or(|max_age| now - session.auth_time < max_age)
                && hint.as_ref().is_none_or(|hint| hint.sub == user.user_id)
        });
        match session {
            Some((session, user)) => {
                let origin = RequestOrigin::of(request);
                self.after_sign_in(
                    request.headers(),
                    client,
                    redirect,
                    &parameters,
                    &session,
                    &user,
                    &origin,
                    now,
                )
                .await
            }
            None if parameters.prompt.none => Err(AuthorizationError::new(
                "login_required",
                "the user is not signed in",
            )),
            None => self
                .show_login(request.headers(), client, redirect, &parameters, now)
                .await
                .map_err(redirect_error),
        }
    }

    /// Core §3.1.2.1: an `id_token_hint` must be an ID token this service issued to
    /// this client (expired ones too: it only says who the client thinks is signed
    /// in); anything else is `invalid_request`.
    fn id_token_hint(
        &self,
        query: &FormParameters,
        client: &ClientRecord,
    ) -> Result<Option<crate::oidc::IdTokenHint>, AuthorizationError> {
        let Some(token) = query.get("id_token_hint") else {
            return Ok(None);
        };
        let Some(verifier) = &self.verifier else {
            return Err(AuthorizationError::new(
                "invalid_request",
                "id_token_hint is not supported: this deployment issues no ID tokens",
            ));
        };
        match verifier.verify_id_token_hint(token) {
            Ok(hint) if hint.aud == client.client_id.as_str() => Ok(Some(hint)),
            _ => Err(AuthorizationError::new(
                "invalid_request",
                "id_token_hint is not an ID token this service issued to this client",
            )),
        }
    }

    /// The session the browser's cookie names, if it is live and its user still
    /// enabled with the same password. A use extends the idle lifetime.
    async fn live_session(
        &self,
        headers: &http::HeaderMap,
        now: i64,
    ) -> Result<Option<(SessionRecord, UserRecord)>, ApiError> {
        let Some(id) = self.cookies.session_id(headers) else {
            return Ok(None);
        };
        let Some(session) = self.store.get_session(&hash_token(&id)).await? else {
            return Ok(None);
        };
        let user = match self.store.get_user(&session.username_key).await {
            Ok(Some(user)) if session.is_valid_for(&user, now) => user,
            Ok(_) | Err(StoreError::Corrupt(_)) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        if now - session.last_seen_at >= TOUCH_INTERVAL_SECONDS {
            let expires_at = session.expiry_after_use(now, self.sessions);
            match self
                .store
                .touch_session(&session.id_hash, now, expires_at)
                .await
            {
                Ok(()) => {}
                // Signed out meanwhile.
                Err(StoreError::NotFound) => return Ok(None),
                Err(error) => return Err(error.into()),
            }
        }
        Ok(Some((session, user)))
    }

    /// Keeps the request server-side and shows the form: the page carries only the
    /// pending request's id and a CSRF token; a cookie binds it to this browser.
    async fn show_login(
        &self,
        headers: &http::HeaderMap,
        client: &ClientRecord,
        redirect: &VerifiedRedirect,
        parameters: &AuthorizationParameters,
        now: i64,
    ) -> Result<HttpResponse, ApiError> {
        let pending = self
            .keep_pending(headers, client, redirect, parameters, now)
            .await?;
        let mut response = pages::html_response(
            StatusCode::OK,
            self.pages.login(&LoginForm {
                request_id: &pending.request_id,
                csrf_token: &pending.csrf_token,
                client_id: client.client_id.as_str(),
                username: parameters.login_hint.as_deref(),
                error: None,
            }),
            Some(&redirect.redirect_uri),
        );
        add_cookie(&mut response, &pending.browser_cookie);
        Ok(response)
    }

    async fn keep_pending(
        &self,
        headers: &http::HeaderMap,
        client: &ClientRecord,
        redirect: &VerifiedRedirect,
        parameters: &AuthorizationParameters,
        now: i64,
    ) -> Result<KeptPending, ApiError> {
        let browser = self
            .cookies
            .browser_binding(headers)
            .unwrap_or_else(|| crate::random_token(32));
        let request_id = crate::random_token(32);
        let csrf_token = crate::random_token(32);
        let pending = PendingAuthorization {
            id_hash: hash_token(&request_id),
            csrf_hash: hash_token(&csrf_token),
            browser_hash: hash_token(&browser),
            client_id: client.client_id.clone(),
            redirect: redirect.clone(),
            parameters: parameters.clone(),
            created_at: now,
            expires_at: now + PENDING_LIFETIME_SECONDS,
        };
        self.store.put_pending_authorization(&pending).await?;
        Ok(KeptPending {
            request_id,
            csrf_token,
            browser_cookie: self.cookies.browser_cookie(&browser),
        })
    }

    /// The user is signed in (now or by a session): ask for consent if the client
    /// needs it and has none, else issue a code and send the browser back.
    #[allow(clippy::too_many_arguments)]
    async fn after_sign_in(
        &self,
        headers: &http::HeaderMap,
        client: &ClientRecord,
        redirect: &VerifiedRedirect,
        parameters: &AuthorizationParameters,
        session: &SessionRecord,
        user: &UserRecord,
        origin: &RequestOrigin,
        now: i64,
    ) -> Result<HttpResponse, AuthorizationError> {
        let scope = granted_scope(parameters.scope.as_ref(), user, client);
        // prompt=consent asks every client's user again (Core §3.1.2.1).
        let ask = parameters.prompt.consent || !client.first_party;
        if ask {
            let consent = self
                .store
                .get_consent(&user.user_id, &client.client_id)
                .await
                .map_err(|e| redirect_error(e.into()))?;
            if parameters.prompt.consent || !consent.is_some_and(|c| c.covers(&scope)) {
                if parameters.prompt.none {
                    return Err(AuthorizationError::new(
                        "consent_required",
                        "the user has not allowed this client",
                    ));
                }
                return self
                    .show_consent(headers, client, redirect, parameters, user, &scope, now)
                    .await
                    .map_err(redirect_error);
            }
        }
        self.issue_code(
            client, redirect, parameters, session, user, scope, origin, now,
        )
        .await
        .map_err(redirect_error)
    }

    #[allow(clippy::too_many_arguments)]
    async fn show_consent(
        &self,
        headers: &http::HeaderMap,
        client: &ClientRecord,
        redirect: &VerifiedRedirect,
        parameters: &AuthorizationParameters,
        user: &UserRecord,
        scope: &ScopeSet,
        now: i64,
    ) -> Result<HttpResponse, ApiError> {
        let pending = self
            .keep_pending(headers, client, redirect, parameters, now)
            .await?;
        let mut response = pages::html_response(
            StatusCode::OK,
            self.pages.consent(&ConsentForm {
                request_id: &pending.request_id,
                csrf_token: &pending.csrf_token,
                client_id: client.client_id.as_str(),
                username: user.username.as_str(),
                scopes: scope.iter().collect(),
            }),
            Some(&redirect.redirect_uri),
        );
        add_cookie(&mut response, &pending.browser_cookie);
        Ok(response)
    }

    /// RFC 6749 §4.1.2: a code bound to client, redirect URI, challenge, scope, user
    /// and sign-in time; only its hash is stored.
    #[allow(clippy::too_many_arguments)]
    async fn issue_code(
        &self,
        client: &ClientRecord,
        redirect: &VerifiedRedirect,
        parameters: &AuthorizationParameters,
        session: &SessionRecord,
        user: &UserRecord,
        scope: ScopeSet,
        origin: &RequestOrigin,
        now: i64,
    ) -> Result<HttpResponse, ApiError> {
        let code = NewAuthorizationCode::generate();
        let record = AuthorizationCodeRecord {
            code_hash: code.code_hash.clone(),
            client_id: client.client_id.clone(),
            redirect_uri: redirect.redirect_uri.clone(),
            redirect_uri_sent: redirect.redirect_uri_sent,
            code_challenge: parameters.code_challenge.clone(),
            scope,
            user_id: user.user_id.clone(),
            username_key: user.username.key(),
            auth_time: session.auth_time,
            nonce: parameters.nonce.clone(),
            sid: Some(session.sid().to_owned()),
            credential_generation: user.credential_generation,
            created_at: now,
            expires_at: now + self.code_lifetime,
        };
        self.store.put_authorization_code(&record).await?;
        audit::record(
            AuditEvent::AuthorizationCodeIssued,
            "success",
            &Subject {
                user_id: Some(&user.user_id),
                username: Some(&record.username_key),
                client_id: Some(client.client_id.as_str()),
            },
            origin,
        );
        Ok(self.redirect(
            redirect,
            RedirectOutcome::Code {
                code: &code.code,
                state: redirect.state.as_deref(),
            },
        ))
    }

    /// Reads a posted form and the pending request it names, checking the CSRF token
    /// and the browser binding.
    async fn posted_pending(
        &self,
        request: &http::Request<Bytes>,
        now: i64,
    ) -> Result<(FormParameters, PendingAuthorization), PageError> {
        let form = crate::oauth::form_post(request)
            .map_err(|_| PageError::start_again(StatusCode::BAD_REQUEST))?;
        let (Some(request_id), Some(csrf_token)) = (form.get("request_id"), form.get("csrf_token"))
        else {
            return Err(PageError::start_again(StatusCode::BAD_REQUEST));
        };
        let pending = match self
            .store
            .get_pending_authorization(&hash_token(request_id))
            .await
        {
            Ok(Some(pending)) if !pending.is_expired(now) => pending,
            Ok(_) | Err(StoreError::Corrupt(_)) => {
                return Err(PageError::start_again(StatusCode::BAD_REQUEST));
            }
            Err(error) => return Err(error.into()),
        };
        let browser_hash = self
            .cookies
            .browser_binding(request.headers())
            .map(|b| hash_token(&b));
        let same = |a: &str, b: &str| {
            aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
        };
        if !same(&hash_token(csrf_token), &pending.csrf_hash)
            || !browser_hash.is_some_and(|b| same(&b, &pending.browser_hash))
        {
            tracing::info!(client_id = %pending.client_id, "sign-in form refused: CSRF token or browser binding does not match");
            return Err(PageError::start_again(StatusCode::FORBIDDEN));
        }
        Ok((form, pending))
    }

    /// The pending request's client, if it is still registered and enabled.
    async fn pending_client(
        &self,
        pending: &PendingAuthorization,
    ) -> Result<ClientRecord, PageError> {
        match self.store.get_client(&pending.client_id).await? {
            Some(client) if !client.disabled => Ok(client),
            _ => Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "Unknown application",
                "The application that sent you here is no longer registered with this service.",
            )),
        }
    }

    /// `POST /authorize/login`.
    async fn login(&self, request: &http::Request<Bytes>) -> Result<HttpResponse, PageError> {
        let now = crate::now_unix();
        let (form, pending) = self.posted_pending(request, now).await?;
        let client = self.pending_client(&pending).await?;
        let username = form.get("username").unwrap_or("");
        let retry = |status: StatusCode, error: &str, retry_after: Option<u64>| {
            let mut response = pages::html_response(
                status,
                self.pages.login(&LoginForm {
                    request_id: form.get("request_id").unwrap_or(""),
                    csrf_token: form.get("csrf_token").unwrap_or(""),
                    client_id: client.client_id.as_str(),
                    username: Some(username).filter(|u| !u.is_empty()),
                    error: Some(error),
                }),
                Some(&pending.redirect.redirect_uri),
            );
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        };
        let Some(password) = form.get("password") else {
            return Ok(retry(
                StatusCode::BAD_REQUEST,
                "Enter your username and password.",
                None,
            ));
        };
        let origin = RequestOrigin::of(request);
        let user = match self
            .sign_in
            .verify(
                username,
                SecretString::from(password.to_owned()),
                Some(client.client_id.as_str()),
                SignInMethod::LoginForm,
                &origin,
            )
            .await
        {
            Ok(user) => user,
            Err(ApiError::InvalidGrant) => {
                return Ok(retry(StatusCode::BAD_REQUEST, WRONG_CREDENTIALS, None));
            }
            Err(ApiError::LoginLocked {
                retry_after_seconds,
            }) => {
                let message = format!(
                    "Too many failed attempts for this username. Wait {retry_after_seconds} seconds and try again."
                );
                return Ok(retry(
                    StatusCode::TOO_MANY_REQUESTS,
                    &message,
                    Some(retry_after_seconds),
                ));
            }
            Err(other) => return Err(PageError::from_api(other)),
        };
        // Single use: of two submissions of one form, only one goes on.
        let Some(pending) = self
            .store
            .take_pending_authorization(&pending.id_hash)
            .await?
        else {
            return Err(PageError::start_again(StatusCode::BAD_REQUEST));
        };
        // A new session id at every sign-in (no fixation); the old one ends.
        if let Some(old) = self.cookies.session_id(request.headers())
            && let Err(error) = self.store.delete_session(&hash_token(&old)).await
        {
            tracing::warn!(%error, "ending the previous session failed");
        }
        let id = NewSessionId::generate();
        let session = SessionRecord::start(&id, &user, now, self.sessions);
        self.store.put_session(&session).await?;
        let hinted_other_user = pending
            .parameters
            .hint_subject
            .as_ref()
            .is_some_and(|sub| *sub != user.user_id);
        let outcome = if hinted_other_user {
            // Core §3.1.2.1: the user the client named is not the one who signed in.
            Err(AuthorizationError::new(
                "login_required",
                "the user who signed in is not the one id_token_hint names",
            ))
        } else {
            self.after_sign_in(
                request.headers(),
                &client,
                &pending.redirect,
                &pending.parameters,
                &session,
                &user,
                &origin,
                now,
            )
            .await
        };
        let mut response = match outcome {
            Ok(response) => response,
            Err(error) => self.redirect_with_error(&pending.redirect, &error),
        };
        add_cookie(
            &mut response,
            &self.cookies.session_cookie(&id.id, self.sessions),
        );
        Ok(response)
    }

    /// `POST /authorize/consent`.
    async fn consent(&self, request: &http::Request<Bytes>) -> Result<HttpResponse, PageError> {
        let now = crate::now_unix();
        let (form, pending) = self.posted_pending(request, now).await?;
        let client = self.pending_client(&pending).await?;
        let Some((session, user)) = self
            .live_session(request.headers(), now)
            .await
            .map_err(PageError::from_api)?
        else {
            return Err(PageError::start_again(StatusCode::BAD_REQUEST));
        };
        let allow = match form.get("decision") {
            Some("allow") => true,
            Some("deny") => false,
            _ => return Err(PageError::start_again(StatusCode::BAD_REQUEST)),
        };
        let Some(pending) = self
            .store
            .take_pending_authorization(&pending.id_hash)
            .await?
        else {
            return Err(PageError::start_again(StatusCode::BAD_REQUEST));
        };
        let origin = RequestOrigin::of(request);
        let username_key = user.username.key();
        let subject = Subject {
            user_id: Some(&user.user_id),
            username: Some(&username_key),
            client_id: Some(client.client_id.as_str()),
        };
        if !allow {
            audit::record(AuditEvent::ConsentDenied, "denied", &subject, &origin);
            let error = AuthorizationError::new("access_denied", "the user denied the request");
            return Ok(self.redirect_with_error(&pending.redirect, &error));
        }
        let scope = granted_scope(pending.parameters.scope.as_ref(), &user, &client);
        let consent = ConsentRecord {
            user_id: user.user_id.clone(),
            client_id: client.client_id.clone(),
            scope: scope.clone(),
            granted_at: now,
        };
        self.store.put_consent(&consent).await?;
        audit::record(
            AuditEvent::ConsentGranted,
            &scope.to_string(),
            &subject,
            &origin,
        );
        Ok(
            match self
                .issue_code(
                    &client,
                    &pending.redirect,
                    &pending.parameters,
                    &session,
                    &user,
                    scope,
                    &origin,
                    now,
                )
                .await
            {
                Ok(response) => response,
                Err(error) => self.redirect_with_error(&pending.redirect, &redirect_error(error)),
            },
        )
    }
}

struct KeptPending {
    request_id: String,
    csrf_token: String,
    browser_cookie: String,
}

/// What a code carries: the requested scope (or everything, when none was
/// requested) within what both the user and the client may have (RFC 6749 §3.3: the
/// token response's `scope` says what was granted). OpenID Connect's identity
/// scopes need only the client's registration.
fn granted_scope(
    requested: Option<&ScopeSet>,
    user: &UserRecord,
    client: &ClientRecord,
) -> ScopeSet {
    let allowed = |s: &str| {
        (crate::oidc::is_identity_scope(s) || user.scopes.iter().any(|u| u == s))
            && client.scopes.iter().any(|c| c == s)
    };
    match requested {
        Some(requested) => ScopeSet::from_tokens(requested.iter().filter(|s| allowed(s))),
        None => ScopeSet::from_tokens(user.scopes.iter().filter(|s| allowed(s)).cloned()),
    }
}

fn add_cookie(response: &mut HttpResponse, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

#[async_trait]
impl Endpoint for AuthorizeEndpoint {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse {
        let path = request.uri().path().trim_end_matches('/');
        let method = request.method().clone();
        let not_allowed = |allow: &'static str| {
            let mut response = self.page(PageError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "Not allowed",
                "This page cannot be opened this way.",
            ));
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            response
        };
        if path.ends_with("/authorize/login") {
            if method != Method::POST {
                return not_allowed("POST");
            }
            self.login(&request).await.unwrap_or_else(|e| self.page(e))
        } else if path.ends_with("/authorize/consent") {
            if method != Method::POST {
                return not_allowed("POST");
            }
            self.consent(&request)
                .await
                .unwrap_or_else(|e| self.page(e))
        } else if path.ends_with(pages::STYLESHEET_SUFFIX) {
            if method != Method::GET && method != Method::HEAD {
                return not_allowed("GET, HEAD");
            }
            self.pages.stylesheet_response()
        } else if path.ends_with("/authorize") || path.is_empty() {
            if method != Method::GET && method != Method::HEAD {
                return not_allowed("GET, HEAD");
            }
            self.authorize(&request).await
        } else {
            self.page(PageError::new(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no page at this address.",
            ))
        }
    }
}

/// A cookie-keeping browser for tests of the sign-in flow (this crate's and the
/// integration tests'); always compiled, see [`crate::store::contract`].
#[doc(hidden)]
pub mod test_browser;

#[cfg(test)]
mod tests;

//! `GET` and `POST /logout`: the end-session endpoint of OpenID Connect
//! RP-Initiated Logout 1.0, served by the authorize function (it owns the sessions
//! and their cookies).
//!
//! - With a valid `id_token_hint` (signed by this service, for a client; expired
//!   ones too) that names the browser's own session (`sid`), that session ends at
//!   once; then the browser goes to `post_logout_redirect_uri` with `state`, or sees
//!   a "signed out" page. With nobody signed in in this browser, the hint's session
//!   ends (the relying party holding the token asked for it) and nothing is asked.
//! - Without a hint, or with one for another session or user, anyone's page could
//!   have sent the browser here: the user confirms on a page whose form carries a
//!   CSRF token bound to the browser (§2 requires the question in both cases).
//! - A relying party's form POST arrives cross-site, without the `SameSite=Lax`
//!   session cookie: it is answered with a redirect to the same request as a GET,
//!   the top-level navigation that carries the cookie.
//! - `post_logout_redirect_uri` must be registered for the client (exact match,
//!   §3); the client is the hint's `aud` or `client_id`, which must agree. Anything
//!   unverifiable is an error page, never a redirect.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};

use super::Endpoint;
use crate::audit::{self, AuditEvent, RequestOrigin, Subject};
use crate::authorization::{self, MAX_ECHOED_PARAMETER_BYTES};
use crate::clients::{ClientId, ClientRecord};
use crate::config::{self, ConfigError, Environment, ServiceSettings};
use crate::http::HttpResponse;
use crate::oauth::FormParameters;
use crate::oidc::IdTokenHint;
use crate::pages::{self, LogoutForm, Pages};
use crate::refresh::hash_token;
use crate::sessions::{CookiePolicy, SessionRecord};
use crate::store::{Store, StoreError};
use crate::tokens::TokenVerifier;

pub struct LogoutEndpoint {
    store: Arc<dyn Store>,
    /// `None` under HS256, which issues no ID tokens.
    verifier: Option<TokenVerifier>,
    cookies: CookiePolicy,
    pages: Pages,
    /// `{issuer}/logout`.
    endpoint_url: String,
}

/// A page instead of a redirect: the request could not be verified.
struct Refusal {
    status: StatusCode,
    title: &'static str,
    message: &'static str,
}

const INVALID_LINK: &str = "This sign-out link is not valid";

impl Refusal {
    fn invalid(message: &'static str) -> Self {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            title: INVALID_LINK,
            message,
        }
    }

    fn unavailable() -> Self {
        Refusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Try again in a moment",
            message: "The sign-in service is temporarily unavailable. Try again in a moment.",
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "the end-session endpoint could not reach the store");
        Refusal::unavailable()
    }
}

/// The request's parameters, once verified.
struct LogoutRequest {
    hint: Option<IdTokenHint>,
    client: Option<ClientRecord>,
    /// Registered for `client`.
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

impl LogoutEndpoint {
    /// The issuer, the public keys (for `id_token_hint`) and the pages' branding.
    pub fn from_env(env: &dyn Environment, store: Arc<dyn Store>) -> Result<Self, ConfigError> {
        let service = ServiceSettings::from_env(env)?;
        Ok(LogoutEndpoint {
            store,
            verifier: config::id_token_hint_verifier(env, &service)?,
            cookies: CookiePolicy {
                secure: service.issuer.starts_with("https://"),
            },
            pages: Pages::new(config::branding(env)?, &service.issuer),
            endpoint_url: format!("{}{}", service.issuer, pages::LOGOUT_PATH),
        })
    }

    fn page(&self, status: StatusCode, title: &str, message: &str) -> HttpResponse {
        pages::html_response(status, self.pages.message(title, message), None)
    }

    async fn respond(&self, request: &http::Request<Bytes>) -> Result<HttpResponse, Refusal> {
        let parameters = if request.method() == Method::POST {
            crate::oauth::form_post(request)
                .map_err(|_| Refusal::invalid("The sign-out form could not be read."))?
        } else {
            authorization::query_parameters(request.uri().query())
                .map_err(|_| Refusal::invalid("The sign-out link could not be read."))?
        };
        let logout = self.verify(&parameters).await?;
        let post = request.method() == Method::POST;
        let has_cookie = self.cookies.session_id(request.headers()).is_some();
        if post && !has_cookie && parameters.get("csrf_token").is_none() {
            return Ok(pages::redirect_response(&self.as_get(&parameters)));
        }
        let origin = RequestOrigin::of(request);
        let hint_sid = logout.hint.as_ref().and_then(|h| h.sid.as_deref());
        let Some(session) = self.browser_session(request.headers()).await? else {
            // Nobody is signed in in this browser: the hint's session ends, and there
            // is nothing to ask.
            if let (Some(hint), Some(sid)) = (&logout.hint, hint_sid) {
                self.store.delete_session(sid).await?;
                record_sign_out(&hint.sub, None, logout.client.as_ref(), &origin);
            }
            return Ok(self.signed_out(&logout, has_cookie));
        };
        let browser = self.cookies.browser_binding(request.headers());
        let confirmed = post
            && browser.as_deref().is_some_and(|b| {
                parameters
                    .get("csrf_token")
                    .is_some_and(|t| same(t, &logout_csrf_token(b)))
            });
        let decision = parameters.get("decision");
        if hint_sid == Some(session.sid()) || (confirmed && decision == Some("logout")) {
            self.store.delete_session(&session.id_hash).await?;
            if let Some(sid) = hint_sid.filter(|sid| *sid != session.sid()) {
                self.store.delete_session(sid).await?;
            }
            record_sign_out(
                &session.user_id,
                Some(&session.username_key),
                logout.client.as_ref(),
                &origin,
            );
            return Ok(self.signed_out(&logout, true));
        }
        if confirmed && decision == Some("stay") {
            return Ok(self.page(
                StatusCode::OK,
                "Still signed in",
                "You are still signed in. You can close this page.",
            ));
        }
        Ok(self.confirmation(&parameters, &logout, &session, browser))
    }

    /// The relying party's parameters as a `GET /logout` URL.
    fn as_get(&self, parameters: &FormParameters) -> String {
        let mut url = match url::Url::parse(&self.endpoint_url) {
            Ok(url) => url,
            Err(_) => return self.endpoint_url.clone(),
        };
        for name in [
            "id_token_hint",
            "client_id",
            "post_logout_redirect_uri",
            "state",
        ] {
            if let Some(value) = parameters.get(name) {
                url.query_pairs_mut().append_pair(name, value);
            }
        }
        url.into()
    }

    /// Checks the hint, the client and the post-logout redirect URI.
    async fn verify(&self, parameters: &FormParameters) -> Result<LogoutRequest, Refusal> {
        let state = match parameters.get("state") {
            Some(state) if state.len() > MAX_ECHOED_PARAMETER_BYTES => {
                return Err(Refusal::invalid("The state parameter is too long."));
            }
            other => other.map(str::to_owned),
        };
        let not_ours =
            || Refusal::invalid("The link carries an ID token that this service did not issue.");
        let hint = match parameters.get("id_token_hint") {
            None => None,
            Some(token) => match &self.verifier {
                Some(verifier) => Some(
                    verifier
                        .verify_id_token_hint(token)
                        .map_err(|_| not_ours())?,
                ),
                None => return Err(not_ours()),
            },
        };
        let client_id = match (parameters.get("client_id"), &hint) {
            (Some(sent), Some(hint)) if sent != hint.aud => {
                return Err(Refusal::invalid(
                    "The link names another application than its ID token.",
                ));
            }
            (Some(sent), _) => Some(sent.to_owned()),
            (None, Some(hint)) => Some(hint.aud.clone()),
            (None, None) => None,
        };
        let client = match client_id {
            None => None,
            Some(id) => {
                let unknown = || Refusal::invalid("The link names an unknown application.");
                let id = ClientId::parse(&id).map_err(|_| unknown())?;
                match self.store.get_client(&id).await {
                    Ok(Some(client)) if !client.disabled => Some(client),
                    Ok(_) | Err(StoreError::Corrupt(_)) => return Err(unknown()),
                    Err(error) => return Err(error.into()),
                }
            }
        };
        let post_logout_redirect_uri = match parameters.get("post_logout_redirect_uri") {
            None => None,
            Some(uri) => match &client {
                Some(client) if client.post_logout_redirect_uris.iter().any(|r| r == uri) => {
                    Some(uri.to_owned())
                }
                Some(client) => {
                    tracing::info!(client_id = %client.client_id, "logout with an unregistered post_logout_redirect_uri");
                    return Err(Refusal::invalid(
                        "The address to return to after signing out is not registered for this application.",
                    ));
                }
                None => {
                    return Err(Refusal::invalid(
                        "The link asks to return to an address but names no application.",
                    ));
                }
            },
        };
        Ok(LogoutRequest {
            hint,
            client,
            post_logout_redirect_uri,
            state,
        })
    }

    /// The live session the browser's cookie names.
    async fn browser_session(
        &self,
        headers: &http::HeaderMap,
    ) -> Result<Option<SessionRecord>, Refusal> {
        let Some(id) = self.cookies.session_id(headers) else {
            return Ok(None);
        };
        match self.store.get_session(&hash_token(&id)).await {
            Ok(session) => Ok(session.filter(|s| !s.is_expired(crate::now_unix()))),
            Err(StoreError::Corrupt(_)) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// The end: to the registered redirect URI with `state` (§3), or a page.
    fn signed_out(&self, logout: &LogoutRequest, clear_cookie: bool) -> HttpResponse {
        let mut response = match &logout.post_logout_redirect_uri {
            Some(uri) => {
                let mut url = match url::Url::parse(uri) {
                    Ok(url) => url,
                    Err(_) => return self.page(StatusCode::BAD_REQUEST, INVALID_LINK, ""),
                };
                if let Some(state) = &logout.state {
                    url.query_pairs_mut().append_pair("state", state);
                }
                pages::redirect_response(url.as_str())
            }
            None => self.page(
                StatusCode::OK,
                "Signed out",
                "You are signed out. You can close this page.",
            ),
        };
        if clear_cookie
            && let Ok(value) = HeaderValue::from_str(&self.cookies.expired_session_cookie())
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }

    fn confirmation(
        &self,
        parameters: &FormParameters,
        logout: &LogoutRequest,
        session: &SessionRecord,
        browser: Option<String>,
    ) -> HttpResponse {
        let new_binding = browser.is_none();
        let browser = browser.unwrap_or_else(|| crate::random_token(32));
        let mut response = pages::html_response(
            StatusCode::OK,
            self.pages.logout_confirmation(&LogoutForm {
                csrf_token: &logout_csrf_token(&browser),
                id_token_hint: parameters.get("id_token_hint"),
                username: &session.username_key,
                client_id: logout.client.as_ref().map(|c| c.client_id.as_str()),
                post_logout_redirect_uri: logout.post_logout_redirect_uri.as_deref(),
                state: logout.state.as_deref(),
            }),
            logout.post_logout_redirect_uri.as_deref(),
        );
        if new_binding
            && let Ok(value) = HeaderValue::from_str(&self.cookies.browser_cookie(&browser))
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }
}

/// The confirmation form's CSRF token: derived from the browser-binding cookie, so a
/// page elsewhere (which cannot read the cookie) cannot forge a confirmed POST.
fn logout_csrf_token(browser_binding: &str) -> String {
    hash_token(&format!("logout:{browser_binding}"))
}

fn same(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

fn record_sign_out(
    user_id: &str,
    username: Option<&str>,
    client: Option<&ClientRecord>,
    origin: &RequestOrigin,
) {
    audit::record(
        AuditEvent::SignedOut,
        "session ended",
        &Subject {
            user_id: Some(user_id),
            username,
            client_id: client.map(|c| c.client_id.as_str()),
        },
        origin,
    );
}

#[async_trait]
impl Endpoint for LogoutEndpoint {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse {
        if request.method() != Method::GET && request.method() != Method::POST {
            let mut response = self.page(
                StatusCode::METHOD_NOT_ALLOWED,
                "Not allowed",
                "This page cannot be opened this way.",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            return response;
        }
        match self.respond(&request).await {
            Ok(response) => response,
            Err(refusal) => self.page(refusal.status, refusal.title, refusal.message),
        }
    }
}

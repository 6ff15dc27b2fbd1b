//! Self-service accounts, both off unless switched on:
//!
//! - `POST /users` (`SELF_SERVICE_REGISTRATION=true`): registration with a username,
//!   a password that meets the policy, and optionally an email and a full name. The
//!   create is conditional, so of two racing registrations of one name exactly one
//!   wins; the other gets 409 `username_taken`.
//! - `POST /users/me/password` (`SELF_SERVICE_PASSWORD_CHANGE=true`): with a bearer
//!   token and the current password, sets a new one and revokes every refresh token
//!   of the user in the same write. Wrong current passwords count towards the login
//!   lock, so a stolen access token is no way around it.
//!
//! Bodies are JSON (`application/json`), as REST clients send them; unknown fields
//! are refused.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, StatusCode, header};
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Endpoint, EndpointsByPath};
use crate::audit::{self, AuditEvent, RequestOrigin, Subject};
use crate::config::{self, ConfigError, Environment, ServiceSettings};
use crate::error::ApiError;
use crate::http::{HttpResponse, error_response, json_no_store};
use crate::oauth::MAX_BODY_BYTES;
use crate::password_policy::PasswordPolicy;
use crate::passwords::PasswordHasher;
use crate::store::{Store, StoreError};
use crate::throttle::{self, LoginThrottle};
use crate::tokens::TokenVerifier;
use crate::users::{UserRecord, Username, is_plausible_email};

/// The longest full name accepted.
const MAX_FULL_NAME_CHARS: usize = 128;

/// The account function: both endpoints, by path.
pub fn account_function(
    env: &dyn Environment,
    store: Arc<dyn Store>,
) -> Result<EndpointsByPath, ConfigError> {
    let service = ServiceSettings::from_env(env)?;
    let shared = Arc::new(AccountSettings {
        store,
        passwords: config::password_hasher(env, &service)?,
        policy: config::password_policy(env)?,
        throttle: config::login_throttle(env)?,
    });
    let registration = RegistrationEndpoint {
        enabled: config::switch(env, "SELF_SERVICE_REGISTRATION")?,
        settings: Arc::clone(&shared),
    };
    let password_change = PasswordChangeEndpoint {
        enabled: config::switch(env, "SELF_SERVICE_PASSWORD_CHANGE")?,
        settings: shared,
        verifier: config::token_verifier(env, &service)?,
        realm: service.realm,
    };
    Ok(EndpointsByPath::new(
        vec![
            ("/users/me/password", Box::new(password_change)),
            ("/users", Box::new(registration)),
        ],
        Box::new(NotFound),
    ))
}

struct AccountSettings {
    store: Arc<dyn Store>,
    passwords: PasswordHasher,
    policy: PasswordPolicy,
    throttle: LoginThrottle,
}

/// Any other path of the account function.
struct NotFound;

#[async_trait]
impl Endpoint for NotFound {
    async fn handle(&self, _: http::Request<Bytes>) -> HttpResponse {
        error_response(&ApiError::NotFound, "")
    }
}

/// A strict JSON POST body: POST, at most [`MAX_BODY_BYTES`], `application/json`,
/// the expected fields only. The error never quotes the body (it holds passwords).
fn json_post<T: DeserializeOwned>(request: &http::Request<Bytes>) -> Result<T, ApiError> {
    if request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed { allow: "POST" });
    }
    if request.body().len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type != "application/json" {
        return Err(ApiError::invalid_request(
            "the body must be sent as application/json",
        ));
    }
    let refused = || {
        ApiError::invalid_request(
            "the body must be a JSON object with exactly the documented fields, as strings",
        )
    };
    // An object only: serde would also read a struct from a JSON array.
    match serde_json::from_slice::<serde_json::Value>(request.body()) {
        Ok(object @ serde_json::Value::Object(_)) => {
            serde_json::from_value(object).map_err(|_| refused())
        }
        _ => Err(refused()),
    }
}

// ---- POST /users ------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    username: String,
    password: SecretString,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    full_name: Option<String>,
}

pub struct RegistrationEndpoint {
    enabled: bool,
    settings: Arc<AccountSettings>,
}

impl RegistrationEndpoint {
    async fn respond(&self, request: http::Request<Bytes>) -> Result<HttpResponse, ApiError> {
        if !self.enabled {
            return Err(ApiError::NotFound);
        }
        let form: Registration = json_post(&request)?;
        let username = Username::parse(&form.username)
            .map_err(|e| ApiError::invalid_request(e.to_string()))?;
        if let Some(email) = &form.email
            && !is_plausible_email(email)
        {
            return Err(ApiError::invalid_request("the email address is not valid"));
        }
        if let Some(name) = &form.full_name
            && (name.chars().count() > MAX_FULL_NAME_CHARS || name.chars().any(char::is_control))
        {
            return Err(ApiError::invalid_request(
                "the full name must be at most 128 characters, without control characters",
            ));
        }
        self.settings
            .policy
            .check(&form.password, username.as_str())
            .map_err(|violation| ApiError::invalid_request(violation.to_string()))?;
        let hash = self
            .settings
            .passwords
            .hash(form.password)
            .await
            .map_err(|e| ApiError::invalid_request(e.to_string()))?;
        let mut user = UserRecord::new(username, hash);
        user.email = form.email;
        user.full_name = form.full_name;
        let key = user.username.key();
        let subject = Subject {
            user_id: Some(&user.user_id),
            username: Some(&key),
            client_id: None,
        };
        let origin = RequestOrigin::of(&request);
        match self.settings.store.create_user(&user).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists) => {
                // The id in `subject` belongs to a user that was never created.
                let subject = Subject {
                    user_id: None,
                    ..subject
                };
                audit::record(
                    AuditEvent::UserRegistered,
                    "username_taken",
                    &subject,
                    &origin,
                );
                return Err(ApiError::Conflict {
                    code: "username_taken",
                    description: "this username is already registered",
                });
            }
            Err(error) => return Err(error.into()),
        }
        audit::record(AuditEvent::UserRegistered, "success", &subject, &origin);
        Ok(json_no_store(StatusCode::CREATED, &user.public_profile()))
    }
}

#[async_trait]
impl Endpoint for RegistrationEndpoint {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse {
        match self.respond(request).await {
            Ok(response) => response,
            Err(error) => error_response(&error, ""),
        }
    }
}

// ---- POST /users/me/password --------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: SecretString,
    new_password: SecretString,
}

pub struct PasswordChangeEndpoint {
    enabled: bool,
    settings: Arc<AccountSettings>,
    verifier: TokenVerifier,
    realm: String,
}

impl PasswordChangeEndpoint {
    async fn respond(&self, request: http::Request<Bytes>) -> Result<HttpResponse, ApiError> {
        if !self.enabled {
            return Err(ApiError::NotFound);
        }
        if request.method() != Method::POST {
            return Err(ApiError::MethodNotAllowed { allow: "POST" });
        }
        let claims = super::bearer_claims(&request, &self.verifier)?;
        let Some(username_key) = claims.username.clone() else {
            return Err(ApiError::InvalidToken(
                "the token does not belong to a user",
            ));
        };
        let change: PasswordChange = json_post(&request)?;
        let settings = &self.settings;
        let throttle_key = throttle::throttle_key(&username_key);
        let origin = RequestOrigin::of(&request);
        let subject = Subject {
            user_id: Some(&claims.sub),
            username: Some(&username_key),
            client_id: claims.client_id.as_deref(),
        };
        let user = match settings.store.get_user(&username_key).await? {
            Some(user) if user.user_id == claims.sub && !user.disabled => user,
            _ => {
                return Err(ApiError::InvalidToken(
                    "the token's user no longer exists or is disabled",
                ));
            }
        };
        let admitted =
            match throttle::admit(&*settings.store, &settings.throttle, &throttle_key).await {
                Ok(admitted) => admitted,
                Err(error) => {
                    if matches!(error, ApiError::LoginLocked { .. }) {
                        audit::record(AuditEvent::PasswordChanged, "locked", &subject, &origin);
                    }
                    return Err(error);
                }
            };
        if !settings
            .passwords
            .verify(change.current_password, Some(&user.password_hash))
            .await
        {
            audit::record(
                AuditEvent::PasswordChanged,
                "wrong_current_password",
                &subject,
                &origin,
            );
            if let Some(seconds) = admitted.lock_seconds {
                let outcome = format!(
                    "locked for {seconds} s after {} failed attempts",
                    admitted.attempts
                );
                audit::record(AuditEvent::AccountLocked, &outcome, &subject, &origin);
            }
            return Err(ApiError::WrongCurrentPassword);
        }
        throttle::succeeded(&*settings.store, &throttle_key).await;
        settings
            .policy
            .check(&change.new_password, user.username.as_str())
            .map_err(|violation| ApiError::invalid_request(violation.to_string()))?;
        let new_hash = settings
            .passwords
            .hash(change.new_password)
            .await
            .map_err(|e| ApiError::invalid_request(e.to_string()))?;
        match settings
            .store
            .change_password(&username_key, Some(&user.password_hash), &new_hash)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(ApiError::Conflict {
                    code: "conflict",
                    description: "the password was changed meanwhile; sign in again",
                });
            }
            Err(StoreError::NotFound) => {
                return Err(ApiError::InvalidToken(
                    "the token's user no longer exists or is disabled",
                ));
            }
            Err(error) => return Err(error.into()),
        }
        audit::record(
            AuditEvent::PasswordChanged,
            "success; refresh tokens revoked",
            &subject,
            &origin,
        );
        let mut response = http::Response::new(String::new());
        *response.status_mut() = StatusCode::NO_CONTENT;
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        Ok(response)
    }
}

#[async_trait]
impl Endpoint for PasswordChangeEndpoint {
    async fn handle(&self, request: http::Request<Bytes>) -> HttpResponse {
        match self.respond(request).await {
            Ok(response) => response,
            Err(error) => error_response(&error, &self.realm),
        }
    }
}

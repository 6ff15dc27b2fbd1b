//! The one sign-in path for a username and password, whatever asked for it: the
//! password grant at `/token` and the hosted login form at `/authorize/login` both
//! call [`SignIn::verify`]. Everything an attacker could probe lives here once:
//!
//! - the throttle: each attempt is counted before its password is checked, and a
//!   locked name is refused without bcrypt work (OWASP ASVS V2.2.1, RFC 9700 §2.4);
//! - one answer for a wrong password, an unknown user and a disabled user, and one
//!   bcrypt verification for each of them (the dummy hash for unknown names), so
//!   that neither the answer nor its timing tells who exists;
//! - rehash-on-login of hashes below the configured cost;
//! - the `login_success` / `login_failure` / `account_locked` audit events, with the
//!   method that was used.

use std::sync::Arc;

use secrecy::SecretString;

use crate::audit::{self, AuditEvent, RequestOrigin, Subject};
use crate::error::ApiError;
use crate::passwords::PasswordHasher;
use crate::store::{Store, StoreError};
use crate::throttle::{self, LoginThrottle};
use crate::users::{UserRecord, Username};

/// How the user typed their password: recorded in the audit events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    /// `grant_type=password` at the token endpoint (RFC 6749 §4.3).
    PasswordGrant,
    /// The hosted login page of the authorization code flow (RFC 6749 §4.1).
    LoginForm,
}

impl SignInMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::PasswordGrant => "password_grant",
            SignInMethod::LoginForm => "login_form",
        }
    }
}

/// Checks usernames and passwords against the store, with the throttle.
#[derive(Clone)]
pub struct SignIn {
    store: Arc<dyn Store>,
    passwords: PasswordHasher,
    throttle: LoginThrottle,
}

impl SignIn {
    pub fn new(store: Arc<dyn Store>, passwords: PasswordHasher, throttle: LoginThrottle) -> Self {
        SignIn {
            store,
            passwords,
            throttle,
        }
    }

    pub fn passwords(&self) -> &PasswordHasher {
        &self.passwords
    }

    /// The enabled user with this name and password. Every refusal is
    /// [`ApiError::InvalidGrant`] (wrong password, unknown or disabled user alike) or
    /// [`ApiError::LoginLocked`] (too many failures: the password was not checked);
    /// a store failure is a 503. Audits the outcome.
    pub async fn verify(
        &self,
        typed_username: &str,
        password: SecretString,
        client_id: Option<&str>,
        method: SignInMethod,
        origin: &RequestOrigin,
    ) -> Result<UserRecord, ApiError> {
        let throttle_key = throttle::throttle_key(typed_username);
        let mut subject = Subject {
            user_id: None,
            username: None,
            client_id,
        };
        let admitted = match throttle::admit(&*self.store, &self.throttle, &throttle_key).await {
            Ok(admitted) => admitted,
            Err(error) => {
                if matches!(error, ApiError::LoginLocked { .. }) {
                    audit::record_login(
                        AuditEvent::LoginFailure,
                        "locked",
                        method,
                        &subject,
                        origin,
                    );
                }
                return Err(error);
            }
        };
        // A name that breaks the rules cannot exist; it still costs one bcrypt run.
        let user = match Username::parse(typed_username) {
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
        let user_key = user.as_ref().map(|u| u.username.key()).unwrap_or_default();
        // Kept for a possible rehash; it never leaves this function.
        let kept_for_rehash = password.clone();
        let password_ok = self
            .passwords
            .verify(password, user.as_ref().map(|u| &u.password_hash))
            .await;
        let user = match user {
            Some(user) if password_ok && !user.disabled => user,
            _ => {
                // One outcome for wrong password, unknown and disabled user: the log
                // reader learns no more than the client did; user_id tells them
                // apart. A name is logged only when such a user exists: an unknown
                // "name" may be a password typed into the wrong field.
                if let Some(user) = &user {
                    subject.user_id = Some(&user.user_id);
                    subject.username = Some(&user_key);
                }
                audit::record_login(
                    AuditEvent::LoginFailure,
                    "invalid_grant",
                    method,
                    &subject,
                    origin,
                );
                if let Some(seconds) = admitted.lock_seconds {
                    let outcome = format!(
                        "locked for {seconds} s after {} failed attempts",
                        admitted.attempts
                    );
                    audit::record(AuditEvent::AccountLocked, &outcome, &subject, origin);
                }
                return Err(ApiError::InvalidGrant);
            }
        };
        throttle::succeeded(&*self.store, &throttle_key).await;
        if self.passwords.needs_rehash(&user.password_hash) {
            self.upgrade_hash(&user, kept_for_rehash).await;
        }
        subject.user_id = Some(&user.user_id);
        subject.username = Some(&user_key);
        audit::record_login(
            AuditEvent::LoginSuccess,
            "success",
            method,
            &subject,
            origin,
        );
        Ok(user)
    }

    /// Rehashes a just-verified password at the configured cost and `$2b$`, and stores
    /// it only over the hash it replaces (a concurrent password change wins). One
    /// extra hash on this login, none on later ones; a failure here never fails the
    /// login.
    async fn upgrade_hash(&self, user: &UserRecord, password: SecretString) {
        let upgraded = match self.passwords.hash(password).await {
            Ok(hash) => hash,
            Err(error) => {
                tracing::warn!(%error, user_id = %user.user_id, "rehashing a password failed");
                return;
            }
        };
        let key = user.username.key();
        match self
            .store
            .upgrade_password_hash(&key, &user.password_hash, &upgraded)
            .await
        {
            Ok(true) => tracing::info!(
                user_id = %user.user_id,
                from_cost = user.password_hash.cost(),
                to_cost = upgraded.cost(),
                "password hash upgraded"
            ),
            Ok(false) => {
                tracing::info!(user_id = %user.user_id, "password changed meanwhile; hash not upgraded")
            }
            Err(error) => {
                tracing::warn!(%error, user_id = %user.user_id, "storing an upgraded hash failed")
            }
        }
    }
}

//! Single sign-on sessions of the hosted login page, and the cookies of the browser
//! flow.
//!
//! A session is a random id (256 bits) in an `HttpOnly`, `Secure`, `SameSite=Lax`
//! cookie with the `__Host-` prefix; the store keeps only its hash, with an idle and
//! an absolute lifetime. A session is worth something only while its user is enabled
//! and has not changed password since: both are checked at every use, so disabling
//! a user or changing the password ends every session at once.
//!
//! A second cookie binds a pending authorization request to the browser that started
//! it, so that a login form cannot be submitted from another site into a victim's
//! browser (login CSRF, RFC 6749 §10.12).

use cookie::{Cookie, SameSite};
use http::HeaderMap;

use crate::refresh::hash_token;
use crate::users::UserRecord;

/// Default idle lifetime: a session unused for 8 hours ends.
pub const DEFAULT_IDLE_SECONDS: i64 = 8 * 3600;
/// Default absolute lifetime: after 7 days the user types the password again.
pub const DEFAULT_ABSOLUTE_SECONDS: i64 = 7 * 24 * 3600;
/// A session's last use is written at most this often (each write costs a request).
pub const TOUCH_INTERVAL_SECONDS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetimes {
    pub idle_seconds: i64,
    pub absolute_seconds: i64,
}

impl Default for SessionLifetimes {
    fn default() -> Self {
        SessionLifetimes {
            idle_seconds: DEFAULT_IDLE_SECONDS,
            absolute_seconds: DEFAULT_ABSOLUTE_SECONDS,
        }
    }
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the cookie's id: the storage key.
    pub id_hash: String,
    pub user_id: String,
    pub username_key: String,
    /// When the user typed the password (OpenID Connect's `auth_time`).
    pub auth_time: i64,
    pub credential_generation: u32,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The earlier of idle and absolute end; also the item's TTL.
    pub expires_at: i64,
}

impl SessionRecord {
    /// A session for a user who just typed their password.
    pub fn start(
        id: &NewSessionId,
        user: &UserRecord,
        now: i64,
        lifetimes: SessionLifetimes,
    ) -> Self {
        SessionRecord {
            id_hash: id.id_hash.clone(),
            user_id: user.user_id.clone(),
            username_key: user.username.key(),
            auth_time: now,
            credential_generation: user.credential_generation,
            created_at: now,
            last_seen_at: now,
            expires_at: now + lifetimes.idle_seconds.min(lifetimes.absolute_seconds),
        }
    }

    pub fn is_expired(&self, now: i64) -> bool {
        now >= self.expires_at
    }

    /// The session's public id, OpenID Connect's `sid` in ID tokens: its storage
    /// key, the SHA-256 of the cookie's secret id. It names the session for
    /// RP-initiated logout and cannot be turned back into the cookie.
    pub fn sid(&self) -> &str {
        &self.id_hash
    }

    /// Whether the session still speaks for `user`: the same user (not a namesake
    /// created after a deletion), enabled, and no password change since sign-in.
    pub fn is_valid_for(&self, user: &UserRecord, now: i64) -> bool {
        !self.is_expired(now) && user.still_holds(&self.user_id, self.credential_generation)
    }

    /// The new end after a use at `now`: idle lifetime again, never past the
    /// absolute end.
    pub fn expiry_after_use(&self, now: i64, lifetimes: SessionLifetimes) -> i64 {
        (now + lifetimes.idle_seconds).min(self.created_at + lifetimes.absolute_seconds)
    }
}

/// A new session id for the cookie and its hash for the store.
pub struct NewSessionId {
    pub id: String,
    pub id_hash: String,
}

impl NewSessionId {
    pub fn generate() -> Self {
        let id = crate::random_token(32);
        NewSessionId {
            id_hash: hash_token(&id),
            id,
        }
    }
}

/// The cookies of the browser flow and how they are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookiePolicy {
    /// Production: `Secure` and the `__Host-` prefix (RFC 6265bis §4.1.3.2: only
    /// over https, for this host only, path `/`). Development over plain http on
    /// loopback drops both, or the browser would refuse the cookie.
    pub secure: bool,
}

/// The session cookie's name without prefix.
const SESSION: &str = "session";
/// The browser-binding cookie's name without prefix.
const BROWSER: &str = "browser";

impl CookiePolicy {
    fn name(&self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    fn build(&self, base: &str, value: String, max_age_seconds: i64) -> String {
        Cookie::build((self.name(base), value))
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age_seconds.max(0)))
            .build()
            .to_string()
    }

    /// `Set-Cookie` for a session id, living as long as the session may.
    pub fn session_cookie(&self, id: &str, lifetimes: SessionLifetimes) -> String {
        self.build(SESSION, id.to_owned(), lifetimes.absolute_seconds)
    }

    /// `Set-Cookie` that deletes the session cookie.
    pub fn expired_session_cookie(&self) -> String {
        self.build(SESSION, String::new(), 0)
    }

    /// `Set-Cookie` for the browser binding, as long as a pending request lives.
    pub fn browser_cookie(&self, value: &str) -> String {
        self.build(
            BROWSER,
            value.to_owned(),
            crate::authorization::PENDING_LIFETIME_SECONDS,
        )
    }

    /// The session id the browser sent, if any.
    pub fn session_id(&self, headers: &HeaderMap) -> Option<String> {
        cookie_value(headers, &self.name(SESSION))
    }

    /// The browser-binding value the browser sent, if any.
    pub fn browser_binding(&self, headers: &HeaderMap) -> Option<String> {
        cookie_value(headers, &self.name(BROWSER))
    }
}

/// The value of the first cookie called `name` in the `Cookie` headers. Values that
/// are not our 43-character tokens are ignored.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| {
            value.len() == 43
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passwords::PasswordHash;
    use crate::users::Username;

    fn user() -> UserRecord {
        let hash = PasswordHash::parse(
            "$2b$04$abcdefghijklmnopqrstuu5Ro1GRuOLyeXW.3M0aCS6cf.2Qb3bSm".to_owned(),
        )
        .unwrap();
        UserRecord::new(Username::parse("alice").unwrap(), hash)
    }

    #[test]
    fn production_cookies_are_host_prefixed_secure_httponly_lax() {
        let policy = CookiePolicy { secure: true };
        let cookie = policy.session_cookie("abc", SessionLifetimes::default());
        for part in [
            "__Host-session=abc",
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=604800",
        ] {
            assert!(cookie.contains(part), "{cookie} lacks {part}");
        }
        assert!(!cookie.contains("Domain"), "{cookie}");
        let dev = CookiePolicy { secure: false }.session_cookie("abc", SessionLifetimes::default());
        assert!(
            dev.starts_with("session=abc") && !dev.contains("Secure"),
            "{dev}"
        );
        assert!(policy.expired_session_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn cookies_are_read_by_their_exact_name_and_shape() {
        let policy = CookiePolicy { secure: true };
        let id = NewSessionId::generate().id;
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            format!("session=dev; x=1; __Host-session={id}")
                .parse()
                .unwrap(),
        );
        assert_eq!(policy.session_id(&headers), Some(id.clone()));
        assert_eq!(CookiePolicy { secure: false }.session_id(&headers), None);
        headers.insert(
            http::header::COOKIE,
            "__Host-session=short".parse().unwrap(),
        );
        assert_eq!(policy.session_id(&headers), None);
        assert_eq!(policy.browser_binding(&headers), None);
    }

    #[test]
    fn sessions_end_idle_absolute_disabled_or_after_a_password_change() {
        let lifetimes = SessionLifetimes {
            idle_seconds: 100,
            absolute_seconds: 250,
        };
        let mut alice = user();
        let session = SessionRecord::start(&NewSessionId::generate(), &alice, 1_000, lifetimes);
        assert_eq!(session.expires_at, 1_100);
        assert!(session.is_valid_for(&alice, 1_099));
        assert!(!session.is_valid_for(&alice, 1_100));
        // Used now and then, it lasts until the absolute end and no longer.
        assert_eq!(session.expiry_after_use(1_090, lifetimes), 1_190);
        assert_eq!(session.expiry_after_use(1_200, lifetimes), 1_250);
        let mut namesake = user();
        namesake.user_id = "usr_other".into();
        assert!(!session.is_valid_for(&namesake, 1_050));
        alice.credential_generation += 1;
        assert!(!session.is_valid_for(&alice, 1_050));
        alice.credential_generation -= 1;
        alice.disabled = true;
        assert!(!session.is_valid_for(&alice, 1_050));
    }
}

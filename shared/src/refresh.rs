//! Refresh tokens (RFC 6749 §1.5, §6; RFC 9700 §4.14): opaque, 256 random bits,
//! stored only as a SHA-256 hash, rotated on every use, grouped in families (one per
//! login) so that a replayed token can revoke everything descended from it.

use aws_lc_rs::digest::{SHA256, digest};
use secrecy::{ExposeSecret, SecretString};

/// Default idle lifetime of a family: a refresh token unused this long expires.
pub const DEFAULT_IDLE_SECONDS: i64 = 14 * 24 * 3600;
/// Default absolute lifetime of a family: after this, the user logs in again.
pub const DEFAULT_ABSOLUTE_SECONDS: i64 = 90 * 24 * 3600;

/// How long refresh tokens and their families live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshLifetimes {
    pub idle_seconds: i64,
    pub absolute_seconds: i64,
}

impl Default for RefreshLifetimes {
    fn default() -> Self {
        RefreshLifetimes {
            idle_seconds: DEFAULT_IDLE_SECONDS,
            absolute_seconds: DEFAULT_ABSOLUTE_SECONDS,
        }
    }
}

/// A refresh token as stored: everything but the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// Hex SHA-256 of the token: the storage key. The token is never stored.
    pub token_hash: String,
    pub family_id: String,
    pub user_id: String,
    pub username_key: String,
    pub client_id: Option<String>,
    /// The scope granted at login; every token of the family keeps it (RFC 6749 §6).
    pub scope: String,
    pub created_at: i64,
    /// Unused until then, or it expires (idle lifetime, never past the family's end).
    pub idle_expires_at: i64,
    /// The family's absolute end; also the item's TTL.
    pub family_expires_at: i64,
    /// The user's [`crate::users::UserRecord::credential_generation`] at login. A
    /// password change moves the user's on, and every older family stops refreshing.
    pub credential_generation: u32,
    /// The browser sign-in a family started from an OpenID Connect code came from:
    /// every refresh's new ID token carries its `auth_time` and `sid` (Core §12.2).
    /// `None` for other grants.
    pub sign_in: Option<crate::oidc::SignInFacts>,
}

impl RefreshTokenRecord {
    pub fn is_expired(&self, now: i64) -> bool {
        now >= self.idle_expires_at || now >= self.family_expires_at
    }

    /// The record of the token that replaces this one: same family, user, client
    /// and scope; a fresh idle lifetime, capped by the family's end.
    pub fn successor(&self, token_hash: String, now: i64, lifetimes: RefreshLifetimes) -> Self {
        RefreshTokenRecord {
            token_hash,
            created_at: now,
            idle_expires_at: (now + lifetimes.idle_seconds).min(self.family_expires_at),
            ..self.clone()
        }
    }
}

/// A new refresh token: the secret for the client and its hash for the store.
pub struct NewRefreshToken {
    pub token: SecretString,
    pub token_hash: String,
}

impl NewRefreshToken {
    pub fn generate() -> Self {
        let token = crate::random_token(32);
        let token_hash = hash_token(&token);
        NewRefreshToken {
            token: SecretString::from(token),
            token_hash,
        }
    }
}

/// Hex SHA-256 of a presented token. A fast hash is enough: the input is 256
/// random bits, not a password.
pub fn hash_token(token: &str) -> String {
    digest(&SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The first token of a new family, for a login that just succeeded.
pub fn first_of_family(
    new: &NewRefreshToken,
    user_id: &str,
    username_key: &str,
    client_id: Option<&str>,
    scope: &str,
    now: i64,
    lifetimes: RefreshLifetimes,
) -> RefreshTokenRecord {
    let family_expires_at = now + lifetimes.absolute_seconds;
    RefreshTokenRecord {
        token_hash: new.token_hash.clone(),
        family_id: format!("fam_{}", crate::random_token(16)),
        user_id: user_id.to_owned(),
        username_key: username_key.to_owned(),
        client_id: client_id.map(str::to_owned),
        scope: scope.to_owned(),
        created_at: now,
        idle_expires_at: (now + lifetimes.idle_seconds).min(family_expires_at),
        family_expires_at,
        credential_generation: 0,
        sign_in: None,
    }
}

/// A presented token's lookup key; tokens of the wrong shape never reach the store.
pub fn presented_token_hash(token: &SecretString) -> Option<String> {
    let token = token.expose_secret();
    let plausible = token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plausible.then(|| hash_token(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_256_bits_and_only_their_hash_is_kept() {
        let a = NewRefreshToken::generate();
        let b = NewRefreshToken::generate();
        assert_eq!(a.token.expose_secret().len(), 43);
        assert_ne!(a.token.expose_secret(), b.token.expose_secret());
        assert_eq!(a.token_hash.len(), 64);
        assert_eq!(a.token_hash, hash_token(a.token.expose_secret()));
        assert_eq!(presented_token_hash(&a.token), Some(a.token_hash.clone()));
        assert_eq!(
            presented_token_hash(&SecretString::from("short".to_owned())),
            None
        );
    }

    #[test]
    fn successors_keep_the_family_and_never_outlive_it() {
        let lifetimes = RefreshLifetimes {
            idle_seconds: 100,
            absolute_seconds: 250,
        };
        let first = first_of_family(
            &NewRefreshToken::generate(),
            "usr_1",
            "alice",
            Some("web"),
            "read",
            1000,
            lifetimes,
        );
        assert_eq!(first.idle_expires_at, 1100);
        assert_eq!(first.family_expires_at, 1250);
        let second = first.successor("h2".into(), 1090, lifetimes);
        assert_eq!(second.family_id, first.family_id);
        assert_eq!(second.scope, "read");
        assert_eq!(second.idle_expires_at, 1190);
        let late = second.successor("h3".into(), 1200, lifetimes);
        assert_eq!(
            late.idle_expires_at, 1250,
            "capped by the family's absolute end"
        );
        assert!(!late.is_expired(1249));
        assert!(late.is_expired(1250));
        assert!(first.is_expired(1100));
    }
}

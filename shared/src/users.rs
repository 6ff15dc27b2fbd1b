//! Users: the username rules, the stored record and the public profile.

use serde::Serialize;

use crate::passwords::PasswordHash;

/// A username as typed by its owner. Uniqueness and look-up use [`Username::key`], the
/// ASCII-lowercased form, so `Alice` and `alice` are one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a username is 1 to 64 characters from A-Z, a-z, 0-9 and . _ - @ +")]
pub struct InvalidUsername;

impl Username {
    pub const MAX_LEN: usize = 64;

    pub fn parse(value: &str) -> Result<Self, InvalidUsername> {
        let ok = !value.is_empty()
            && value.len() <= Self::MAX_LEN
            && value.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+')
            });
        if ok {
            Ok(Username(value.to_owned()))
        } else {
            Err(InvalidUsername)
        }
    }

    /// The form the user chose, for display.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form used as the storage key.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Random, never reused: the `sub` of this user's tokens. A user deleted and
    /// created again under the same name gets a new id, so old tokens stay dead.
    pub user_id: String,
    pub username: Username,
    pub full_name: Option<String>,
    pub email: Option<String>,
    /// Whether an administrator confirmed that `email` belongs to the user
    /// (`authctl user verify-email`): OpenID Connect's `email_verified`. Relying
    /// parties link accounts by verified addresses only, so it is never assumed.
    pub email_verified: bool,
    /// When the profile (name, email, its verification) last changed: OpenID
    /// Connect's `updated_at`. Password changes do not count.
    pub updated_at: i64,
    pub password_hash: PasswordHash,
    pub disabled: bool,
    /// Scopes this user may be granted (RFC 6749 §3.3).
    pub scopes: Vec<String>,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    /// Counts password changes. Refresh-token families remember the generation they
    /// were issued under; a change revokes them all in the same write as the hash.
    pub credential_generation: u32,
}

impl UserRecord {
    /// A new, enabled user with a fresh id.
    pub fn new(username: Username, password_hash: PasswordHash) -> Self {
        let now = crate::now_unix();
        UserRecord {
            user_id: new_user_id(),
            username,
            full_name: None,
            email: None,
            email_verified: false,
            updated_at: now,
            password_hash,
            disabled: false,
            scopes: Vec::new(),
            created_at: now,
            credential_generation: 0,
        }
    }

    /// Whether this is still the user a credential (refresh family, code, session) was
    /// issued to: the same id (not a namesake created after a deletion), enabled, and
    /// no password change or disable since (both move the generation on).
    pub fn still_holds(&self, user_id: &str, credential_generation: u32) -> bool {
        self.user_id == user_id
            && !self.disabled
            && self.credential_generation == credential_generation
    }

    /// What `GET /users/me` shows: no hash, no internal id or key.
    pub fn public_profile(&self) -> PublicProfile {
        PublicProfile {
            username: self.username.as_str().to_owned(),
            full_name: self.full_name.clone(),
            email: self.email.clone(),
            disabled: self.disabled,
            created_at: time::OffsetDateTime::from_unix_timestamp(self.created_at)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default(),
        }
    }
}

/// 128 random bits, prefixed so that ids are recognisable in logs.
pub fn new_user_id() -> String {
    format!("usr_{}", crate::random_token(16))
}

/// The user's profile as the owner sees it.
#[derive(Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PublicProfile {
    pub username: String,
    pub full_name: Option<String>,
    pub email: Option<String>,
    pub disabled: bool,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// A light check of email syntax: one `@`, a non-empty local part, a dotted domain,
/// no spaces or control characters. Deliverability is not our business.
pub fn is_plausible_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    value.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && value
            .chars()
            .all(|c| c.is_ascii_graphic() || (!c.is_ascii() && !c.is_control()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_fold_case_for_the_key_and_keep_it_for_display() {
        let u = Username::parse("Alice.Smith+dev@example").unwrap();
        assert_eq!(u.as_str(), "Alice.Smith+dev@example");
        assert_eq!(u.key(), "alice.smith+dev@example");
    }

    #[test]
    fn usernames_outside_the_rules_are_refused() {
        for bad in [
            "",
            "a b",
            "ali#ce",
            "äpfel",
            "USER#x",
            &"a".repeat(65),
            "a\u{0}",
        ] {
            assert_eq!(Username::parse(bad), Err(InvalidUsername), "{bad:?}");
        }
        assert!(Username::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn profile_has_no_hash_or_id() {
        let hash =
            PasswordHash::parse("$2b$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
                .unwrap();
        let mut user = UserRecord::new(Username::parse("bob").unwrap(), hash);
        user.created_at = 0;
        let json = serde_json::to_value(user.public_profile()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"username": "bob", "full_name": null, "email": null,
                "disabled": false, "created_at": "1970-01-01T00:00:00Z"})
        );
    }

    #[test]
    fn user_ids_are_random() {
        assert_ne!(new_user_id(), new_user_id());
        assert_eq!(new_user_id().len(), 4 + 22);
    }

    #[test]
    fn email_syntax() {
        assert!(is_plausible_email("a@example.com"));
        for bad in [
            "",
            "a",
            "@x.com",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
            "a@com.",
        ] {
            assert!(!is_plausible_email(bad), "{bad}");
        }
    }
}

//! The rules a new password must meet (NIST SP 800-63B §5.1.1.2, OWASP ASVS V2.1):
//! a minimum length (8 characters, configurable upwards), bcrypt's 72-byte maximum,
//! not the username or containing it, and not a common or breached password. No
//! composition rules ("one digit, one symbol"): NIST advises against them.

use std::collections::HashSet;
use std::sync::OnceLock;

use secrecy::{ExposeSecret, SecretString};

use crate::passwords::MAX_PASSWORD_BYTES;

/// The shortest minimum a deployment may configure (NIST SP 800-63B §5.1.1.2).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// 16,293 common and breached passwords of 8 or more characters, lowercased (see
/// `shared/data/README.md`).
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// Which rule a new password breaks. The messages name the rule, never the password.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PolicyViolation {
    #[error("the password must have at least {0} characters")]
    TooShort(usize),
    #[error("the password must be at most 72 bytes (bcrypt's limit)")]
    TooLong,
    #[error("the password must not contain the username")]
    ContainsUsername,
    #[error("the password is too common: it appears in lists of breached passwords")]
    Common,
}

/// The configured rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_chars: MIN_PASSWORD_CHARS,
        }
    }
}

impl PasswordPolicy {
    /// `None` when `min_chars` is below 8 or above what bcrypt can hold.
    pub fn new(min_chars: usize) -> Option<Self> {
        (MIN_PASSWORD_CHARS..=MAX_PASSWORD_BYTES)
            .contains(&min_chars)
            .then_some(PasswordPolicy { min_chars })
    }

    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// Checks `password` chosen by (or for) `username`. Length counts characters
    /// (Unicode scalar values), the maximum counts bytes.
    pub fn check(&self, password: &SecretString, username: &str) -> Result<(), PolicyViolation> {
        let password = password.expose_secret();
        if password.chars().count() < self.min_chars {
            return Err(PolicyViolation::TooShort(self.min_chars));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(PolicyViolation::TooLong);
        }
        let lowered = password.to_lowercase();
        let name = username.to_lowercase();
        // Containment only for names of 4 or more characters: a one-letter name would
        // otherwise forbid every password with that letter.
        let contains_name = if name.chars().count() >= 4 {
            lowered.contains(&name)
        } else {
            lowered == name
        };
        if contains_name {
            return Err(PolicyViolation::ContainsUsername);
        }
        if common_passwords().contains(lowered.as_str()) {
            return Err(PolicyViolation::Common);
        }
        Ok(())
    }
}

/// The list as a set, built on first use (about a millisecond), never at cold start
/// of a function that does not check new passwords.
fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str, username: &str) -> Result<(), PolicyViolation> {
        PasswordPolicy::default().check(&SecretString::from(password.to_owned()), username)
    }

    #[test]
    fn the_list_ships_at_least_ten_thousand_passwords_the_length_rule_lets_through() {
        let reachable = common_passwords()
            .iter()
            .filter(|p| p.chars().count() >= MIN_PASSWORD_CHARS)
            .count();
        assert!(reachable >= 10_000, "{reachable}");
        assert!(common_passwords().contains("password1"));
    }

    #[test]
    fn nist_800_63b_5_1_1_2_minimum_length_in_characters() {
        assert_eq!(check("kx7#qz!", "alice"), Err(PolicyViolation::TooShort(8)));
        // Eight characters of two bytes each: long enough.
        assert_eq!(check("ééééxyzw", "alice"), Ok(()));
        let policy = PasswordPolicy::new(12).unwrap();
        let eleven = SecretString::from("kx7#qz!mvb3".to_owned());
        assert_eq!(
            policy.check(&eleven, "a"),
            Err(PolicyViolation::TooShort(12))
        );
        assert_eq!(PasswordPolicy::new(7), None);
        assert_eq!(PasswordPolicy::new(73), None);
    }

    #[test]
    fn bcrypt_limit_is_in_bytes() {
        assert_eq!(
            check(&"é".repeat(37), "alice"),
            Err(PolicyViolation::TooLong)
        );
        assert_eq!(check(&"kx7#qz!m".repeat(9), "alice"), Ok(()));
    }

    #[test]
    fn the_username_may_not_be_in_the_password() {
        assert_eq!(check("alice", "alice"), Err(PolicyViolation::TooShort(8)));
        assert_eq!(
            check("Alice2026!!", "alice"),
            Err(PolicyViolation::ContainsUsername)
        );
        assert_eq!(
            check("xxALICEBETHxx", "AliceBeth"),
            Err(PolicyViolation::ContainsUsername)
        );
        // Very short names only forbid themselves.
        assert_eq!(check("a fine long passphrase", "a"), Ok(()));
        assert_eq!(check("bob-the-builder-99", "bob"), Ok(()));
        assert_eq!(check("bob", "bob"), Err(PolicyViolation::TooShort(8)));
    }

    #[test]
    fn common_and_breached_passwords_are_refused_whatever_their_case() {
        for common in [
            "password1",
            "PASSWORD1",
            "iloveyou2",
            "qwertyuiop",
            "1234567890",
        ] {
            assert_eq!(
                check(common, "alice"),
                Err(PolicyViolation::Common),
                "{common}"
            );
        }
        assert_eq!(check("correct horse battery staple", "alice"), Ok(()));
    }

    #[test]
    fn messages_never_contain_the_password() {
        let secret = "Alice-secret-99";
        let violation = check(secret, "alice").unwrap_err();
        assert!(!violation.to_string().contains(secret));
    }
}

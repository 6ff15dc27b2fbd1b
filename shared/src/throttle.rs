//! Throttling of failed logins (OWASP ASVS V2.2.1, RFC 9700 §2.4): consecutive
//! failures are counted per username; from the threshold on, each failure locks the
//! name for a time that doubles, up to a maximum. During a lock the token endpoint
//! refuses without verifying the password, so guessing costs us nothing and gains the
//! guesser nothing.
//!
//! Counters are keyed by a hash of the case-folded name as typed, whether or not such
//! a user exists: an unknown name is throttled exactly like a known one, so the lock
//! reveals nothing, and names typed by mistake (often a password) are never stored.

use aws_lc_rs::digest::{SHA256, digest};

use crate::store::LoginAttempts;

/// How long failures are remembered after the last one (the counter item's TTL).
pub const FAILURE_MEMORY_SECONDS: i64 = 24 * 60 * 60;

/// The configured rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    /// Consecutive failures that lock the name (5 by default).
    pub threshold: u32,
    /// The first lock (1 s by default); each further failure doubles it.
    pub base_lock_seconds: u64,
    /// The longest lock (15 minutes by default).
    pub max_lock_seconds: u64,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            threshold: 5,
            base_lock_seconds: 1,
            max_lock_seconds: 15 * 60,
        }
    }
}

impl LoginThrottle {
    /// The lock that `failures` consecutive failures earn: none below the threshold,
    /// then base, 2 × base, 4 × base, … capped at the maximum.
    pub fn lock_seconds(&self, failures: u32) -> Option<u64> {
        let beyond = failures.checked_sub(self.threshold)?;
        let doubled = self
            .base_lock_seconds
            .checked_shl(beyond.min(63))
            .filter(|v| *v >= self.base_lock_seconds)
            .unwrap_or(u64::MAX);
        Some(doubled.min(self.max_lock_seconds))
    }

    /// Seconds the name stays locked at `now`, if it is locked.
    pub fn locked_for(&self, attempts: &LoginAttempts, now: i64) -> Option<u64> {
        (attempts.locked_until > now).then(|| (attempts.locked_until - now) as u64)
    }
}

/// The counter key for a name as typed: SHA-256 of its lowercase form, hex.
pub fn throttle_key(typed_username: &str) -> String {
    digest(&SHA256, typed_username.to_lowercase().as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_at_the_threshold_and_double_up_to_the_maximum() {
        let throttle = LoginThrottle::default();
        assert_eq!(throttle.lock_seconds(0), None);
        assert_eq!(throttle.lock_seconds(4), None);
        assert_eq!(throttle.lock_seconds(5), Some(1));
        assert_eq!(throttle.lock_seconds(6), Some(2));
        assert_eq!(throttle.lock_seconds(7), Some(4));
        assert_eq!(throttle.lock_seconds(14), Some(512));
        assert_eq!(throttle.lock_seconds(15), Some(900));
        assert_eq!(throttle.lock_seconds(200), Some(900));
        assert_eq!(throttle.lock_seconds(u32::MAX), Some(900));
    }

    #[test]
    fn keys_fold_case_and_never_contain_the_name() {
        assert_eq!(throttle_key("Alice"), throttle_key("alice"));
        assert_ne!(throttle_key("alice"), throttle_key("alice2"));
        assert_eq!(throttle_key("alice").len(), 64);
        assert!(!throttle_key("hunter2-typed-as-name").contains("hunter2"));
    }

    #[test]
    fn a_lock_lasts_until_its_end() {
        let throttle = LoginThrottle::default();
        let attempts = LoginAttempts {
            failures: 5,
            locked_until: 1_000,
        };
        assert_eq!(throttle.locked_for(&attempts, 999), Some(1));
        assert_eq!(throttle.locked_for(&attempts, 1_000), None);
    }
}

//! Throttling of failed logins (OWASP ASVS V2.2.1, RFC 9700 §2.4): attempts are
//! counted per username, each before its password is checked, and a success clears
//! the count; the attempt that reaches the threshold claims a lock before its own
//! password check, and each later one a lock twice as long, up to a maximum. During a
//! lock the password is not checked, so guessing costs us nothing and gains the
//! guesser nothing. Counting and claiming before bcrypt is what stops a burst: of any
//! number of parallel guesses, only those below the threshold and the one that claims
//! the lock reach bcrypt.
//!
//! Counters are keyed by a hash of the case-folded name as typed, whether or not such
//! a user exists: an unknown name is throttled exactly like a known one, so the lock
//! reveals nothing, and names typed by mistake (often a password) are never stored.

use aws_lc_rs::digest::{SHA256, digest};

use crate::error::ApiError;
use crate::store::{AttemptAdmission, LoginAttemptStore};

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
}

/// An attempt that may check its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    /// Attempts since the last success, this one included.
    pub attempts: u32,
    /// The lock this attempt claimed (it reached the threshold). It stays if the
    /// password is wrong and is cleared with the counter if it is right.
    pub lock_seconds: Option<u64>,
}

/// Counts an attempt on `key` and, at or past the threshold, claims the lock before
/// the password is checked. A locked name, or a lock claimed by a parallel attempt,
/// is [`ApiError::LoginLocked`]. A store failure is a 503: failing open would let
/// guesses go uncounted.
pub async fn admit(
    store: &dyn LoginAttemptStore,
    throttle: &LoginThrottle,
    key: &str,
) -> Result<Admitted, ApiError> {
    let now = crate::now_unix();
    let memory = FAILURE_MEMORY_SECONDS + throttle.max_lock_seconds as i64;
    let attempts = match store.begin_login_attempt(key, now, now + memory).await? {
        AttemptAdmission::Locked { until } => return Err(locked(until, now)),
        AttemptAdmission::Counted(attempts) => attempts,
    };
    let Some(seconds) = throttle.lock_seconds(attempts) else {
        return Ok(Admitted {
            attempts,
            lock_seconds: None,
        });
    };
    // Times are whole seconds: one more makes the lock last at least its length.
    if store.claim_lock(key, now, now + seconds as i64 + 1).await? {
        Ok(Admitted {
            attempts,
            lock_seconds: Some(seconds),
        })
    } else {
        let current = store.login_attempts(key, now).await?;
        Err(locked(current.locked_until, now))
    }
}

/// Clears the counter after a successful login. A failure is logged, not returned:
/// the login stands, and a stale count only makes a later lock come sooner.
pub async fn succeeded(store: &dyn LoginAttemptStore, key: &str) {
    if let Err(error) = store.clear_login_attempts(key).await {
        tracing::warn!(%error, "clearing a login counter failed");
    }
}

fn locked(until: i64, now: i64) -> ApiError {
    ApiError::LoginLocked {
        retry_after_seconds: (until - now).max(1) as u64,
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
        assert_ne!(throttle_key("hunter2"), "hunter2");
        assert!(
            throttle_key("hunter2")
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
        );
    }
}

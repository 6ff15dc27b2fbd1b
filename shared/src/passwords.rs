//! Password hashing and verification with bcrypt.
//!
//! bcrypt reads at most 72 bytes of a password; longer ones are refused rather than
//! silently truncated (two passwords sharing their first 72 bytes would otherwise be
//! the same password). Hashing is CPU-bound for a quarter of a second at cost 12, so
//! it always runs on the blocking thread pool, never on the async executor.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use secrecy::{ExposeSecret, SecretString};

/// bcrypt's input limit in bytes.
pub const MAX_PASSWORD_BYTES: usize = 72;
/// The cost used when none is configured.
pub const DEFAULT_COST: u32 = 12;
/// The lowest cost accepted outside development mode (OWASP recommends at least 10).
pub const MIN_PRODUCTION_COST: u32 = 10;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password is empty")]
    Empty,
    #[error("the password is longer than bcrypt's limit of 72 bytes")]
    TooLong,
    #[error("the bcrypt cost must be between 4 and 31")]
    InvalidCost,
    #[error("the stored value is not a bcrypt hash ($2a$, $2b$ or $2y$)")]
    NotABcryptHash,
    #[error("hashing failed")]
    HashingFailed,
}

/// A bcrypt hash as stored. It never prints: `Debug` is redacted and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Accepts the `$2a$`, `$2b$` and `$2y$` variants (all produced by common libraries,
    /// e.g. passlib and PHP) with a two-digit cost and the 53-character salt and digest.
    pub fn parse(value: impl Into<String>) -> Result<Self, PasswordError> {
        let value = value.into();
        let b = value.as_bytes();
        let well_formed = b.len() == 60
            && (value.starts_with("$2a$")
                || value.starts_with("$2b$")
                || value.starts_with("$2y$"))
            && b[4].is_ascii_digit()
            && b[5].is_ascii_digit()
            && b[6] == b'$'
            && b[7..]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/');
        let cost = value
            .get(4..6)
            .and_then(|c| c.parse::<u32>().ok())
            .unwrap_or(0);
        if well_formed && (4..=31).contains(&cost) {
            Ok(PasswordHash(value))
        } else {
            Err(PasswordError::NotABcryptHash)
        }
    }

    /// The value to store.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The work factor the hash was made with.
    pub fn cost(&self) -> u32 {
        self.0[4..6].parse().unwrap_or(0)
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Checks what bcrypt can hash faithfully. Policy rules (length, breached lists)
/// are [`crate::password_policy`]'s business.
pub fn check_hashable(password: &SecretString) -> Result<(), PasswordError> {
    let bytes = password.expose_secret().len();
    if bytes == 0 {
        Err(PasswordError::Empty)
    } else if bytes > MAX_PASSWORD_BYTES {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// How much longer a bcrypt run at cost `to` takes than the `took` one at cost `from`:
/// each step doubles the work.
pub fn cost_padding(took: std::time::Duration, from: u32, to: u32) -> std::time::Duration {
    let steps = to.saturating_sub(from).min(20);
    took.saturating_mul((1u32 << steps) - 1)
}

/// Hashes and verifies passwords at one configured cost.
#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    /// Verified instead of a real hash when the user does not exist, so that an
    /// unknown username costs exactly the same bcrypt work as a known one.
    dummy_hash: PasswordHash,
    verifications: Arc<AtomicU64>,
    hashes: Arc<AtomicU64>,
}

impl PasswordHasher {
    pub fn new(cost: u32) -> Result<Self, PasswordError> {
        if !(4..=31).contains(&cost) {
            return Err(PasswordError::InvalidCost);
        }
        // A syntactically valid hash of no known password. bcrypt's running time
        // depends only on the cost field, so no hashing is needed at start-up.
        let dummy_hash = PasswordHash::parse(format!(
            "$2b${cost:02}$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
        ))?;
        Ok(PasswordHasher {
            cost,
            dummy_hash,
            verifications: Arc::new(AtomicU64::new(0)),
            hashes: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// Hashes a password on the blocking pool. Fails for empty or over-long passwords.
    pub async fn hash(&self, password: SecretString) -> Result<PasswordHash, PasswordError> {
        check_hashable(&password)?;
        self.hashes.fetch_add(1, Ordering::Relaxed);
        let cost = self.cost;
        let hashed = tokio::task::spawn_blocking(move || {
            // At most 72 bytes were checked above, so nothing is cut off here. (The
            // crate's non-truncating variant also counts bcrypt's terminating NUL and
            // would refuse a 72-byte password that bcrypt hashes in full.)
            bcrypt::hash(password.expose_secret(), cost)
        })
        .await
        .map_err(|_| PasswordError::HashingFailed)?
        .map_err(|_| PasswordError::HashingFailed)?;
        PasswordHash::parse(hashed)
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is
    /// no stored hash (unknown user). Always does one bcrypt computation; `false` for
    /// every failure, including over-long passwords.
    pub async fn verify(&self, password: SecretString, stored: Option<&PasswordHash>) -> bool {
        let (hash, can_match) = match stored {
            Some(hash) => (hash.clone(), check_hashable(&password).is_ok()),
            None => (self.dummy_hash.clone(), false),
        };
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let stored_cost = hash.cost();
        let started = std::time::Instant::now();
        let matched = tokio::task::spawn_blocking(move || {
            // Over-long input is cut to the limit only so that the work is the same; it
            // can never match because `can_match` is false.
            let bytes = password.expose_secret().as_bytes();
            let input = &bytes[..bytes.len().min(MAX_PASSWORD_BYTES)];
            bcrypt::verify(input, hash.as_str()).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        // A hash of lower cost (imported, or made before BCRYPT_COST was raised) is
        // verified faster than the dummy hash of an unknown user: wait out the
        // difference, so that timing does not single out such accounts.
        if stored_cost < self.cost {
            tokio::time::sleep(cost_padding(started.elapsed(), stored_cost, self.cost)).await;
        }
        matched && can_match
    }

    /// Whether `stored` should be replaced at the next successful login: made at a
    /// lower cost than configured, or with the `$2a$`/`$2y$` prefix of other
    /// implementations rather than this one's `$2b$`.
    pub fn needs_rehash(&self, stored: &PasswordHash) -> bool {
        stored.cost() < self.cost || !stored.as_str().starts_with("$2b$")
    }

    /// How many hashes this hasher has computed (for tests and metrics).
    pub fn hashes(&self) -> u64 {
        self.hashes.load(Ordering::Relaxed)
    }

    /// How many bcrypt verifications this hasher has run (for tests and metrics).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// The hash verified for unknown users.
    pub fn dummy_hash(&self) -> &PasswordHash {
        &self.dummy_hash
    }
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("cost", &self.cost)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[tokio::test]
    async fn hash_then_verify_round_trips() {
        let hasher = PasswordHasher::new(4).unwrap();
        let hash = hasher.hash(secret("correct horse")).await.unwrap();
        assert!(hash.as_str().starts_with("$2b$04$"));
        assert!(hasher.verify(secret("correct horse"), Some(&hash)).await);
        assert!(!hasher.verify(secret("correct horsf"), Some(&hash)).await);
    }

    #[tokio::test]
    async fn passwords_over_72_bytes_are_refused_not_truncated() {
        let hasher = PasswordHasher::new(4).unwrap();
        let long = "a".repeat(73);
        assert_eq!(
            hasher.hash(secret(&long)).await,
            Err(PasswordError::TooLong)
        );
        // 72 bytes of multi-byte characters is the limit, not 72 characters.
        assert_eq!(
            hasher.hash(secret(&"é".repeat(37))).await,
            Err(PasswordError::TooLong)
        );
        let at_limit = "a".repeat(72);
        let hash = hasher.hash(secret(&at_limit)).await.unwrap();
        assert!(hasher.verify(secret(&at_limit), Some(&hash)).await);
        // A longer password sharing the first 72 bytes must not log in.
        assert!(!hasher.verify(secret(&long), Some(&hash)).await);
    }

    #[tokio::test]
    async fn empty_password_is_refused() {
        let hasher = PasswordHasher::new(4).unwrap();
        assert_eq!(hasher.hash(secret("")).await, Err(PasswordError::Empty));
    }

    #[tokio::test]
    async fn published_crypt_blowfish_test_vectors_verify() {
        // Openwall crypt_blowfish vectors ($2a$, as PHP and passlib write them) and the
        // same digests under the $2y$ and $2b$ prefixes, which differ only for 8-bit input.
        let hasher = PasswordHasher::new(4).unwrap();
        for (hash, password) in [
            (
                "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
                "U*U",
            ),
            (
                "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK",
                "U*U*",
            ),
            (
                "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
                "U*U",
            ),
            (
                "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
                "U*U",
            ),
        ] {
            let stored = PasswordHash::parse(hash).unwrap();
            assert!(
                hasher.verify(secret(password), Some(&stored)).await,
                "{hash}"
            );
            assert!(
                !hasher.verify(secret("wrong"), Some(&stored)).await,
                "{hash}"
            );
        }
    }

    #[tokio::test]
    async fn hashes_from_other_libraries_verify() {
        // The same password hashed by libraries that emit $2a$ and $2y$ prefixes.
        let hasher = PasswordHasher::new(4).unwrap();
        let b = hasher.hash(secret("s3cret")).await.unwrap();
        for prefix in ["$2a$", "$2y$"] {
            let other = PasswordHash::parse(format!("{prefix}{}", &b.as_str()[4..])).unwrap();
            assert!(
                hasher.verify(secret("s3cret"), Some(&other)).await,
                "{prefix}"
            );
        }
    }

    #[test]
    fn lower_cost_verifications_are_padded_to_the_configured_cost() {
        use std::time::Duration;
        let ms = Duration::from_millis;
        assert_eq!(
            cost_padding(ms(60), 10, 12),
            ms(180),
            "60 ms at 10 is 240 ms at 12"
        );
        assert_eq!(cost_padding(ms(60), 12, 12), ms(0));
        assert_eq!(cost_padding(ms(60), 13, 12), ms(0));
        assert!(cost_padding(ms(1), 4, 31) <= ms(1 << 20));
    }

    #[test]
    fn lower_costs_and_foreign_prefixes_need_a_rehash() {
        let hasher = PasswordHasher::new(10).unwrap();
        let at = |prefix: &str, cost: u32| {
            PasswordHash::parse(format!(
                "{prefix}{cost:02}$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
            ))
            .unwrap()
        };
        assert!(!hasher.needs_rehash(&at("$2b$", 10)));
        assert!(!hasher.needs_rehash(&at("$2b$", 12)), "a higher cost stays");
        assert!(hasher.needs_rehash(&at("$2b$", 9)));
        assert!(hasher.needs_rehash(&at("$2a$", 10)));
        assert!(hasher.needs_rehash(&at("$2y$", 12)));
    }

    #[test]
    fn only_bcrypt_hashes_parse() {
        for bad in [
            "",
            "plain",
            "$2x$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "$2b$4$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "$2b$99$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhW",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        ] {
            assert!(PasswordHash::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hashes_never_print() {
        let hash =
            PasswordHash::parse("$2b$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
                .unwrap();
        assert_eq!(format!("{hash:?}"), "PasswordHash(<redacted>)");
    }

    #[tokio::test]
    async fn unknown_users_cost_one_bcrypt_verification_at_the_configured_cost() {
        for cost in [4, 5] {
            let hasher = PasswordHasher::new(cost).unwrap();
            assert_eq!(hasher.dummy_hash().cost(), cost);
            assert!(!hasher.verify(secret("anything"), None).await);
            assert_eq!(hasher.verifications(), 1);
        }
    }

    #[test]
    fn costs_outside_bcrypt_range_are_refused() {
        assert_eq!(
            PasswordHasher::new(3).err(),
            Some(PasswordError::InvalidCost)
        );
        assert_eq!(
            PasswordHasher::new(32).err(),
            Some(PasswordError::InvalidCost)
        );
    }
}

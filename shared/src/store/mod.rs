//! Where users live. The handlers see only [`UserStore`]; [`DynamoDbStore`] is the
//! production implementation and [`MemoryStore`] serves the local server and
//! unit tests.

/// The store contract, for this crate's tests and the integration tests. Always
/// compiled (no feature flag), so that every build of the workspace resolves one
/// feature set; binaries that never call it carry none of it.
#[doc(hidden)]
pub mod contract;
mod dynamodb;
mod memory;

use async_trait::async_trait;

pub use dynamodb::{DynamoDbStore, StoreSettings};
pub use memory::MemoryStore;

use crate::authorization::{
    AuthorizationCodeRecord, ConsentRecord, PendingAuthorization, StoredCode,
};
use crate::clients::{ClientId, ClientRecord};
use crate::passwords::PasswordHash;
use crate::refresh::RefreshTokenRecord;
use crate::sessions::SessionRecord;
use crate::users::UserRecord;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// A user with this (case-folded) name, or a client with this id, exists
    /// already; nothing was written.
    #[error("an item with this key already exists")]
    AlreadyExists,
    /// No such user (or client, or family).
    #[error("no such item")]
    NotFound,
    /// The store could not be reached or answered with an error. The detail is for
    /// logs only.
    #[error("the user store is unavailable: {0}")]
    Unavailable(String),
    /// The store refused the request for a reason retrying will not fix: a missing
    /// table, missing permissions, an invalid request. The detail is for logs only.
    #[error("the user store rejected the request: {0}")]
    Rejected(String),
    /// A conditional update found the item changed since it was read (a password
    /// changed by someone else in between); nothing was written.
    #[error("the item changed meanwhile")]
    Conflict,
    /// A stored item could not be read back (corrupt or written by something else).
    #[error("a stored user record is malformed: {0}")]
    Corrupt(&'static str),
}

/// The operations the service needs on users. Writes are conditional: creating never
/// overwrites, and updating or deleting a missing user is [`StoreError::NotFound`].
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates the user unless one with the same [`crate::users::Username::key`] exists.
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// Reads a user by [`crate::users::Username::key`], strongly consistent.
    async fn get_user(&self, username_key: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Disabling also moves the user's credential generation on, in the same write:
    /// every refresh-token family and sign-in session of the user ends for good,
    /// and re-enabling does not bring them back.
    async fn set_disabled(&self, username_key: &str, disabled: bool) -> Result<(), StoreError>;
    /// Sets a new password hash and moves the user's credential generation on, in one
    /// write, which ends every refresh-token family issued before. With
    /// `expected_current` (the user's own change), only if the stored hash is still
    /// that one (else [`StoreError::Conflict`]) and the user is not disabled; a
    /// missing (or, then, disabled) user is [`StoreError::NotFound`].
    async fn change_password(
        &self,
        username_key: &str,
        expected_current: Option<&PasswordHash>,
        new_hash: &PasswordHash,
    ) -> Result<(), StoreError>;
    /// Replaces the password hash with an equivalent one (a rehash at a higher cost)
    /// only if the stored hash is still `current`; `false` when it is not (the
    /// password changed meanwhile) or the user is gone. Nothing else changes.
    async fn upgrade_password_hash(
        &self,
        username_key: &str,
        current: &PasswordHash,
        upgraded: &PasswordHash,
    ) -> Result<bool, StoreError>;
    /// Marks the user's email address verified (or not), only if it is still
    /// `email` (else [`StoreError::Conflict`]: the administrator verified another
    /// address), and sets `updated_at` to `now`. A missing user is
    /// [`StoreError::NotFound`].
    async fn set_email_verified(
        &self,
        username_key: &str,
        email: &str,
        verified: bool,
        now: i64,
    ) -> Result<(), StoreError>;
    async fn delete_user(&self, username_key: &str) -> Result<(), StoreError>;
    /// Creates many users (a migration), each only if absent: `true` for each user
    /// created, `false` for one that existed and was left untouched. Users in one
    /// call must have distinct keys.
    async fn import_users(&self, users: &[UserRecord]) -> Result<Vec<bool>, StoreError>;
    /// Every user, in no particular order (for export).
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;
}

/// The client registry (RFC 6749 §2). Same rules as for users: creating never
/// overwrites, changing a missing client is [`StoreError::NotFound`].
#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn create_client(&self, client: &ClientRecord) -> Result<(), StoreError>;
    /// Reads a client, strongly consistent (a disabled client stops at once).
    async fn get_client(&self, client_id: &ClientId) -> Result<Option<ClientRecord>, StoreError>;
    /// Replaces the secret hash of a confidential client. A public client stays
    /// public: [`StoreError::NotFound`] for it as for a missing client.
    async fn set_client_secret(
        &self,
        client_id: &ClientId,
        secret_hash: &PasswordHash,
    ) -> Result<(), StoreError>;
    async fn set_client_disabled(
        &self,
        client_id: &ClientId,
        disabled: bool,
    ) -> Result<(), StoreError>;
}

/// Login counters ([`crate::throttle`]), by throttle key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginAttempts {
    /// Attempts since the last successful login (each is counted before its password
    /// is checked; a success clears the counter).
    pub attempts: u32,
    /// Seconds since the epoch until which logins are refused (0: not locked).
    pub locked_until: i64,
}

/// Whether a login attempt may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptAdmission {
    /// Counted: attempts since the last success, this one included.
    Counted(u32),
    /// Not counted: the name is locked until then.
    Locked { until: i64 },
}

/// Atomic counters: of any number of concurrent attempts, every one is counted, and
/// of any number of concurrent lock claims, exactly one wins.
#[async_trait]
pub trait LoginAttemptStore: Send + Sync {
    /// The counter for `key`, strongly consistent; zero if absent or expired.
    async fn login_attempts(&self, key: &str, now: i64) -> Result<LoginAttempts, StoreError>;
    /// Counts one attempt, unless the name is locked at `now`. A counter whose memory
    /// expired starts again from one; the memory is extended to `expires_at`.
    async fn begin_login_attempt(
        &self,
        key: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<AttemptAdmission, StoreError>;
    /// Locks the name until `until` if no lock is in force at `now`; `true` if this
    /// call set it.
    async fn claim_lock(&self, key: &str, now: i64, until: i64) -> Result<bool, StoreError>;
    /// Forgets attempts and lock (a successful login, or an administrator's unlock).
    async fn clear_login_attempts(&self, key: &str) -> Result<(), StoreError>;
}

/// Everything the service keeps: users, clients, refresh tokens, login counters and
/// the browser flow's records, in one table.
pub trait Store:
    UserStore + ClientStore + RefreshTokenStore + LoginAttemptStore + SignInStore
{
}

impl<T: UserStore + ClientStore + RefreshTokenStore + LoginAttemptStore + SignInStore> Store for T {}

/// What the authorization code flow remembers (RFC 6749 §4.1): pending requests
/// (the login and consent forms), codes, sessions and consents. Records carry their
/// expiry; readers check it (DynamoDB's TTL deletes late). Single use is the store's
/// job: of any number of concurrent takes of one pending request, or redemptions of
/// one code, exactly one succeeds.
#[async_trait]
pub trait SignInStore: Send + Sync {
    /// Stores a new pending request ([`StoreError::AlreadyExists`] if its id is taken).
    async fn put_pending_authorization(
        &self,
        pending: &PendingAuthorization,
    ) -> Result<(), StoreError>;
    /// The pending request with this id hash, strongly consistent.
    async fn get_pending_authorization(
        &self,
        id_hash: &str,
    ) -> Result<Option<PendingAuthorization>, StoreError>;
    /// Deletes the pending request and returns it, if it was still there: the caller
    /// that gets `Some` is the only one.
    async fn take_pending_authorization(
        &self,
        id_hash: &str,
    ) -> Result<Option<PendingAuthorization>, StoreError>;
    /// Stores a new, unused code ([`StoreError::AlreadyExists`] if taken).
    async fn put_authorization_code(
        &self,
        code: &AuthorizationCodeRecord,
    ) -> Result<(), StoreError>;
    /// The code with this hash and whether it was redeemed, strongly consistent.
    async fn find_authorization_code(
        &self,
        code_hash: &str,
    ) -> Result<Option<StoredCode>, StoreError>;
    /// Marks the code used if it is unused: `true` for the one call that did.
    async fn redeem_authorization_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    async fn get_session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Records a use of the session and its new end; [`StoreError::NotFound`] if it
    /// is gone (signed out meanwhile), and then nothing is written.
    async fn touch_session(
        &self,
        id_hash: &str,
        last_seen_at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// Ends the session; ending one that is gone is not an error.
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;
    /// Stores (or replaces) the user's consent to the client.
    async fn put_consent(&self, consent: &ConsentRecord) -> Result<(), StoreError>;
    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError>;
    /// Withdraws a consent ([`StoreError::NotFound`] if there is none).
    async fn delete_consent(&self, user_id: &str, client_id: &ClientId) -> Result<(), StoreError>;
}

/// Why a rotation did not happen.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RotationError {
    /// The token had been used already: a replay, or the loser of a race.
    #[error("the refresh token was already used")]
    AlreadyUsed,
    /// The token's family is revoked.
    #[error("the refresh token's family is revoked")]
    FamilyRevoked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A stored refresh token and whether it has been rotated already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRefreshToken {
    pub record: RefreshTokenRecord,
    pub used: bool,
    pub family_revoked: bool,
}

/// Refresh tokens and their families. Rotation is one atomic, conditional step: of
/// any number of concurrent rotations of one token, exactly one succeeds.
#[async_trait]
pub trait RefreshTokenStore: Send + Sync {
    /// Stores a new family with its first token, both or neither.
    async fn start_family(&self, first: &RefreshTokenRecord) -> Result<(), StoreError>;
    /// The token with this hash (strongly consistent), with its family's state.
    async fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<StoredRefreshToken>, StoreError>;
    /// Marks `old` used and stores `new`, only if `old` is unused and its family is
    /// not revoked.
    async fn rotate(
        &self,
        old: &RefreshTokenRecord,
        new: &RefreshTokenRecord,
    ) -> Result<(), RotationError>;
    /// Revokes every token of the family, used or not.
    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError>;
    /// Revokes the family whether or not it was started yet: a family started later
    /// under this id is refused ([`StoreError::AlreadyExists`] from
    /// [`RefreshTokenStore::start_family`]). For a replayed authorization code, whose
    /// first redemption may still be storing its family (RFC 6749 §4.1.2).
    async fn revoke_family_ahead(&self, family_id: &str, expires_at: i64)
    -> Result<(), StoreError>;
}

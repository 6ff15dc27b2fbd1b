//! Where users live. The handlers see only [`UserStore`]; [`DynamoDbStore`] is the
//! production implementation and [`MemoryStore`] serves the local server and
//! unit tests.

#[cfg(any(test, feature = "test-support"))]
pub mod contract;
mod dynamodb;
mod memory;

use async_trait::async_trait;

pub use dynamodb::{DynamoDbStore, StoreSettings};
pub use memory::MemoryStore;

use crate::refresh::RefreshTokenRecord;
use crate::users::UserRecord;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// A user with this (case-folded) name exists already; nothing was written.
    #[error("a user with this name already exists")]
    AlreadyExists,
    /// No user with this name.
    #[error("no such user")]
    NotFound,
    /// The store could not be reached or answered with an error. The detail is for
    /// logs only.
    #[error("the user store is unavailable: {0}")]
    Unavailable(String),
    /// The store refused the request for a reason retrying will not fix: a missing
    /// table, missing permissions, an invalid request. The detail is for logs only.
    #[error("the user store rejected the request: {0}")]
    Rejected(String),
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
    async fn set_disabled(&self, username_key: &str, disabled: bool) -> Result<(), StoreError>;
    async fn delete_user(&self, username_key: &str) -> Result<(), StoreError>;
}

/// Everything the service keeps: users and refresh tokens, in one table.
pub trait Store: UserStore + RefreshTokenStore {}

impl<T: UserStore + RefreshTokenStore> Store for T {}

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
}

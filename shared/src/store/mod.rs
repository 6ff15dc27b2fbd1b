//! Where users live. The handlers see only [`UserStore`]; [`DynamoDbUserStore`] is the
//! production implementation and [`MemoryUserStore`] serves the local server and
//! unit tests.

mod dynamodb;
mod memory;

use async_trait::async_trait;

pub use dynamodb::{DynamoDbUserStore, StoreSettings};
pub use memory::MemoryUserStore;

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

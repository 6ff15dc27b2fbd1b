use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{StoreError, UserStore};
use crate::users::UserRecord;

/// Users in a map behind a mutex: for the local server and tests. Same semantics as
/// the DynamoDB store, including the conditional create.
#[derive(Default)]
pub struct MemoryUserStore {
    users: Mutex<HashMap<String, UserRecord>>,
}

impl MemoryUserStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn users(&self) -> std::sync::MutexGuard<'_, HashMap<String, UserRecord>> {
        // A panic while holding the lock cannot leave a half-written record (every
        // write is a single insert or remove), so a poisoned lock is safe to reuse.
        self.users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl UserStore for MemoryUserStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let mut users = self.users();
        let key = user.username.key();
        if users.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        users.insert(key, user.clone());
        Ok(())
    }

    async fn get_user(&self, username_key: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.users().get(username_key).cloned())
    }

    async fn set_disabled(&self, username_key: &str, disabled: bool) -> Result<(), StoreError> {
        match self.users().get_mut(username_key) {
            Some(user) => {
                user.disabled = disabled;
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }

    async fn delete_user(&self, username_key: &str) -> Result<(), StoreError> {
        self.users()
            .remove(username_key)
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passwords::PasswordHash;
    use crate::users::Username;

    fn user(name: &str) -> UserRecord {
        let hash =
            PasswordHash::parse("$2b$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
                .unwrap();
        UserRecord::new(Username::parse(name).unwrap(), hash)
    }

    #[tokio::test]
    async fn create_never_overwrites_even_with_other_case() {
        let store = MemoryUserStore::new();
        let first = user("Alice");
        store.create_user(&first).await.unwrap();
        assert_eq!(
            store.create_user(&user("alice")).await,
            Err(StoreError::AlreadyExists)
        );
        assert_eq!(
            store.get_user("alice").await.unwrap().unwrap().user_id,
            first.user_id
        );
    }

    #[tokio::test]
    async fn disable_enable_delete() {
        let store = MemoryUserStore::new();
        store.create_user(&user("bob")).await.unwrap();
        store.set_disabled("bob", true).await.unwrap();
        assert!(store.get_user("bob").await.unwrap().unwrap().disabled);
        store.set_disabled("bob", false).await.unwrap();
        assert!(!store.get_user("bob").await.unwrap().unwrap().disabled);
        store.delete_user("bob").await.unwrap();
        assert_eq!(store.get_user("bob").await.unwrap(), None);
        assert_eq!(store.delete_user("bob").await, Err(StoreError::NotFound));
        assert_eq!(
            store.set_disabled("bob", true).await,
            Err(StoreError::NotFound)
        );
    }
}

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    AttemptAdmission, ClientStore, LoginAttemptStore, LoginAttempts, RefreshTokenStore,
    RotationError, SignInStore, StoreError, StoredRefreshToken, UserStore,
};
use crate::authorization::{
    AuthorizationCodeRecord, ConsentRecord, PendingAuthorization, StoredCode,
};
use crate::clients::{ClientId, ClientRecord};
use crate::passwords::PasswordHash;
use crate::refresh::RefreshTokenRecord;
use crate::sessions::SessionRecord;
use crate::users::UserRecord;

/// Users in a map behind a mutex: for the local server and tests. Same semantics as
/// the DynamoDB store, including the conditional create.
#[derive(Default)]
pub struct MemoryStore {
    users: Mutex<HashMap<String, UserRecord>>,
    clients: Mutex<HashMap<ClientId, ClientRecord>>,
    /// By throttle key: the counter and when it is forgotten.
    login_attempts: Mutex<HashMap<String, (LoginAttempts, i64)>>,
    refresh: Mutex<RefreshState>,
    sign_in: Mutex<SignInState>,
}

/// The browser flow's records, by their keys.
#[derive(Default)]
struct SignInState {
    pending: HashMap<String, PendingAuthorization>,
    /// By code hash: the record and whether it was redeemed.
    codes: HashMap<String, (AuthorizationCodeRecord, bool)>,
    sessions: HashMap<String, SessionRecord>,
    consents: HashMap<(String, ClientId), ConsentRecord>,
}

#[derive(Default)]
struct RefreshState {
    /// By token hash: the record and whether it was used.
    tokens: HashMap<String, (RefreshTokenRecord, bool)>,
    /// By family id: revoked or not.
    families: HashMap<String, bool>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn sign_in(&self) -> std::sync::MutexGuard<'_, SignInState> {
        self.sign_in.lock().unwrap_or_else(|p| p.into_inner())
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
impl UserStore for MemoryStore {
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
                if disabled {
                    user.credential_generation = user.credential_generation.wrapping_add(1);
                }
                user.disabled = disabled;
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }

    async fn change_password(
        &self,
        username_key: &str,
        expected_current: Option<&PasswordHash>,
        new_hash: &PasswordHash,
    ) -> Result<(), StoreError> {
        match self.users().get_mut(username_key) {
            None => Err(StoreError::NotFound),
            Some(user) if expected_current.is_some() && user.disabled => Err(StoreError::NotFound),
            Some(user) if expected_current.is_some_and(|h| *h != user.password_hash) => {
                Err(StoreError::Conflict)
            }
            Some(user) => {
                user.password_hash = new_hash.clone();
                user.credential_generation = user.credential_generation.wrapping_add(1);
                Ok(())
            }
        }
    }

    async fn set_email_verified(
        &self,
        username_key: &str,
        email: &str,
        verified: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        match self.users().get_mut(username_key) {
            None => Err(StoreError::NotFound),
            Some(user) if user.email.as_deref() != Some(email) => Err(StoreError::Conflict),
            Some(user) => {
                user.email_verified = verified;
                user.updated_at = now;
                Ok(())
            }
        }
    }

    async fn upgrade_password_hash(
        &self,
        username_key: &str,
        current: &PasswordHash,
        upgraded: &PasswordHash,
    ) -> Result<bool, StoreError> {
        match self.users().get_mut(username_key) {
            Some(user) if user.password_hash == *current => {
                user.password_hash = upgraded.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn import_users(&self, users: &[UserRecord]) -> Result<Vec<bool>, StoreError> {
        let mut stored = self.users();
        Ok(users
            .iter()
            .map(|user| match stored.entry(user.username.key()) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(user.clone());
                    true
                }
            })
            .collect())
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        Ok(self.users().values().cloned().collect())
    }

    async fn delete_user(&self, username_key: &str) -> Result<(), StoreError> {
        self.users()
            .remove(username_key)
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }
}

#[async_trait]
impl ClientStore for MemoryStore {
    async fn create_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if clients.contains_key(&client.client_id) {
            return Err(StoreError::AlreadyExists);
        }
        clients.insert(client.client_id.clone(), client.clone());
        Ok(())
    }

    async fn get_client(&self, client_id: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        Ok(clients.get(client_id).cloned())
    }

    async fn set_client_secret(
        &self,
        client_id: &ClientId,
        secret_hash: &PasswordHash,
    ) -> Result<(), StoreError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        match clients.get_mut(client_id) {
            Some(client) if client.is_confidential() => {
                client.secret_hash = Some(secret_hash.clone());
                Ok(())
            }
            _ => Err(StoreError::NotFound),
        }
    }

    async fn set_client_disabled(
        &self,
        client_id: &ClientId,
        disabled: bool,
    ) -> Result<(), StoreError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        match clients.get_mut(client_id) {
            Some(client) => {
                client.disabled = disabled;
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }
}

#[async_trait]
impl LoginAttemptStore for MemoryStore {
    async fn login_attempts(&self, key: &str, now: i64) -> Result<LoginAttempts, StoreError> {
        let attempts = self
            .login_attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        Ok(match attempts.get(key) {
            Some((counter, expires_at)) if *expires_at >= now => *counter,
            _ => LoginAttempts::default(),
        })
    }

    async fn begin_login_attempt(
        &self,
        key: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<AttemptAdmission, StoreError> {
        let mut attempts = self
            .login_attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let entry = attempts
            .entry(key.to_owned())
            .or_insert((LoginAttempts::default(), expires_at));
        if entry.1 < now {
            *entry = (LoginAttempts::default(), expires_at);
        }
        if entry.0.locked_until > now {
            return Ok(AttemptAdmission::Locked {
                until: entry.0.locked_until,
            });
        }
        entry.0.attempts = entry.0.attempts.saturating_add(1);
        entry.1 = expires_at;
        Ok(AttemptAdmission::Counted(entry.0.attempts))
    }

    async fn claim_lock(&self, key: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        let mut attempts = self
            .login_attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match attempts.get_mut(key) {
            Some((counter, _)) if counter.locked_until <= now => {
                counter.locked_until = until;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn clear_login_attempts(&self, key: &str) -> Result<(), StoreError> {
        let mut attempts = self
            .login_attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        attempts.remove(key);
        Ok(())
    }
}

#[async_trait]
impl RefreshTokenStore for MemoryStore {
    async fn start_family(&self, first: &RefreshTokenRecord) -> Result<(), StoreError> {
        let mut state = self.refresh.lock().unwrap_or_else(|p| p.into_inner());
        if state.families.contains_key(&first.family_id)
            || state.tokens.contains_key(&first.token_hash)
        {
            return Err(StoreError::AlreadyExists);
        }
        state.families.insert(first.family_id.clone(), false);
        state
            .tokens
            .insert(first.token_hash.clone(), (first.clone(), false));
        Ok(())
    }

    async fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<StoredRefreshToken>, StoreError> {
        let state = self.refresh.lock().unwrap_or_else(|p| p.into_inner());
        Ok(state
            .tokens
            .get(token_hash)
            .map(|(record, used)| StoredRefreshToken {
                record: record.clone(),
                used: *used,
                family_revoked: state
                    .families
                    .get(&record.family_id)
                    .copied()
                    .unwrap_or(true),
            }))
    }

    async fn rotate(
        &self,
        old: &RefreshTokenRecord,
        new: &RefreshTokenRecord,
    ) -> Result<(), RotationError> {
        let mut state = self.refresh.lock().unwrap_or_else(|p| p.into_inner());
        match state.tokens.get(&old.token_hash) {
            Some((_, false)) => {}
            _ => return Err(RotationError::AlreadyUsed),
        }
        if state.families.get(&old.family_id).copied().unwrap_or(true) {
            return Err(RotationError::FamilyRevoked);
        }
        if state.tokens.contains_key(&new.token_hash) {
            return Err(RotationError::Store(StoreError::AlreadyExists));
        }
        if let Some(entry) = state.tokens.get_mut(&old.token_hash) {
            entry.1 = true;
        }
        state
            .tokens
            .insert(new.token_hash.clone(), (new.clone(), false));
        Ok(())
    }

    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        let mut state = self.refresh.lock().unwrap_or_else(|p| p.into_inner());
        match state.families.get_mut(family_id) {
            Some(revoked) => {
                *revoked = true;
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }

    async fn revoke_family_ahead(
        &self,
        family_id: &str,
        _expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut state = self.refresh.lock().unwrap_or_else(|p| p.into_inner());
        state.families.insert(family_id.to_owned(), true);
        Ok(())
    }
}

#[async_trait]
impl SignInStore for MemoryStore {
    async fn put_pending_authorization(
        &self,
        pending: &PendingAuthorization,
    ) -> Result<(), StoreError> {
        let mut state = self.sign_in();
        if state.pending.contains_key(&pending.id_hash) {
            return Err(StoreError::AlreadyExists);
        }
        state
            .pending
            .insert(pending.id_hash.clone(), pending.clone());
        Ok(())
    }

    async fn get_pending_authorization(
        &self,
        id_hash: &str,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        Ok(self.sign_in().pending.get(id_hash).cloned())
    }

    async fn take_pending_authorization(
        &self,
        id_hash: &str,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        Ok(self.sign_in().pending.remove(id_hash))
    }

    async fn put_authorization_code(
        &self,
        code: &AuthorizationCodeRecord,
    ) -> Result<(), StoreError> {
        let mut state = self.sign_in();
        if state.codes.contains_key(&code.code_hash) {
            return Err(StoreError::AlreadyExists);
        }
        state
            .codes
            .insert(code.code_hash.clone(), (code.clone(), false));
        Ok(())
    }

    async fn find_authorization_code(
        &self,
        code_hash: &str,
    ) -> Result<Option<StoredCode>, StoreError> {
        Ok(self
            .sign_in()
            .codes
            .get(code_hash)
            .map(|(record, used)| StoredCode {
                record: record.clone(),
                used: *used,
            }))
    }

    async fn redeem_authorization_code(
        &self,
        code_hash: &str,
        _now: i64,
    ) -> Result<bool, StoreError> {
        match self.sign_in().codes.get_mut(code_hash) {
            Some((_, used)) if !*used => {
                *used = true;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut state = self.sign_in();
        if state.sessions.contains_key(&session.id_hash) {
            return Err(StoreError::AlreadyExists);
        }
        state
            .sessions
            .insert(session.id_hash.clone(), session.clone());
        Ok(())
    }

    async fn get_session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.sign_in().sessions.get(id_hash).cloned())
    }

    async fn touch_session(
        &self,
        id_hash: &str,
        last_seen_at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        match self.sign_in().sessions.get_mut(id_hash) {
            Some(session) => {
                session.last_seen_at = last_seen_at;
                session.expires_at = expires_at;
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.sign_in().sessions.remove(id_hash);
        Ok(())
    }

    async fn put_consent(&self, consent: &ConsentRecord) -> Result<(), StoreError> {
        self.sign_in().consents.insert(
            (consent.user_id.clone(), consent.client_id.clone()),
            consent.clone(),
        );
        Ok(())
    }

    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        Ok(self
            .sign_in()
            .consents
            .get(&(user_id.to_owned(), client_id.clone()))
            .cloned())
    }

    async fn delete_consent(&self, user_id: &str, client_id: &ClientId) -> Result<(), StoreError> {
        self.sign_in()
            .consents
            .remove(&(user_id.to_owned(), client_id.clone()))
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryStore;
    use crate::store::contract;

    #[tokio::test]
    async fn meets_the_user_contract() {
        contract::users(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn meets_the_login_attempt_contract() {
        contract::login_attempts(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn meets_the_client_contract() {
        contract::clients(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn meets_the_refresh_token_contract() {
        contract::refresh_tokens(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn meets_the_sign_in_contract() {
        contract::sign_in(&MemoryStore::new()).await;
    }
}

//! The behaviour every [`Store`] must have, as checks both implementations run: the
//! in-memory store in this crate's unit tests, the DynamoDB store in `tests/`
//! against the local server. One definition keeps the two from drifting apart.
//! (Built only for tests and with the `test-support` feature.)

use super::{AttemptAdmission, LoginAttempts, RotationError, Store, StoreError};
use crate::clients::{ClientId, ClientRecord, GrantType};
use crate::passwords::PasswordHash;
use crate::refresh::{NewRefreshToken, RefreshLifetimes, RefreshTokenRecord, first_of_family};
use crate::users::{UserRecord, Username};

fn user(name: &str) -> UserRecord {
    let hash = PasswordHash::parse("$2b$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
        .expect("a valid fixture hash");
    UserRecord::new(Username::parse(name).expect("a valid fixture name"), hash)
}

/// Creates never overwrite (not even under another case); updates and deletes of a
/// missing user fail without writing anything.
pub async fn users(store: &dyn Store) {
    let first = user("Alice");
    store.create_user(&first).await.unwrap();
    let mut second = user("alice");
    second.full_name = Some("impostor".into());
    assert_eq!(
        store.create_user(&second).await,
        Err(StoreError::AlreadyExists)
    );
    assert_eq!(
        store.get_user("alice").await.unwrap(),
        Some(first),
        "first user untouched, display case kept"
    );

    // A hash upgrade applies only over the hash it was computed from.
    let upgraded =
        PasswordHash::parse("$2b$05$abcdefghijklmnopqrstuuJ0WTqn7iXp1xcy2Hd8ITbjTg.VJ8bWq")
            .expect("a valid fixture hash");
    let stale = PasswordHash::parse("$2b$04$abcdefghijklmnopqrstuuJ0WTqn7iXp1xcy2Hd8ITbjTg.VJ8bWq")
        .expect("a valid fixture hash");
    assert!(
        !store
            .upgrade_password_hash("alice", &stale, &upgraded)
            .await
            .unwrap()
    );
    let original = store
        .get_user("alice")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert!(
        store
            .upgrade_password_hash("alice", &original, &upgraded)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        upgraded
    );
    assert!(
        !store
            .upgrade_password_hash("nobody", &original, &upgraded)
            .await
            .unwrap()
    );

    // A password change replaces the hash and moves the generation on, only over the
    // hash the caller verified.
    let changed =
        PasswordHash::parse("$2b$06$abcdefghijklmnopqrstuuJ0WTqn7iXp1xcy2Hd8ITbjTg.VJ8bWq")
            .expect("a valid fixture hash");
    assert_eq!(
        store.change_password("alice", Some(&stale), &changed).await,
        Err(StoreError::Conflict)
    );
    store
        .change_password("alice", Some(&upgraded), &changed)
        .await
        .unwrap();
    let after = store.get_user("alice").await.unwrap().unwrap();
    assert_eq!(after.password_hash, changed);
    assert_eq!(after.credential_generation, 1);
    store
        .change_password("alice", None, &upgraded)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .credential_generation,
        2
    );
    assert_eq!(
        store.change_password("nobody", None, &upgraded).await,
        Err(StoreError::NotFound)
    );
    // A disabled user cannot change their own password; an administrator can.
    store.set_disabled("alice", true).await.unwrap();
    assert_eq!(
        store
            .change_password("alice", Some(&upgraded), &changed)
            .await,
        Err(StoreError::NotFound)
    );
    store
        .change_password("alice", None, &changed)
        .await
        .unwrap();
    store.set_disabled("alice", false).await.unwrap();

    // Imports create only what is absent, and say which.
    let imported = store
        .import_users(&[user("bob"), user("ALICE"), user("carol")])
        .await
        .unwrap();
    assert_eq!(imported, [true, false, true]);
    let mut names: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .iter()
        .map(|u| u.username.key())
        .collect();
    names.sort();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert_ne!(
        store
            .get_user("alice")
            .await
            .unwrap()
            .unwrap()
            .username
            .as_str(),
        "ALICE",
        "the existing alice is untouched"
    );
    for name in ["bob", "carol"] {
        store.delete_user(name).await.unwrap();
    }

    store.set_disabled("alice", true).await.unwrap();
    assert!(store.get_user("alice").await.unwrap().unwrap().disabled);
    store.set_disabled("alice", false).await.unwrap();
    assert!(!store.get_user("alice").await.unwrap().unwrap().disabled);
    store.delete_user("alice").await.unwrap();
    assert_eq!(store.get_user("alice").await.unwrap(), None);
    assert_eq!(store.delete_user("alice").await, Err(StoreError::NotFound));
    assert_eq!(
        store.set_disabled("alice", true).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.get_user("alice").await.unwrap(),
        None,
        "no half-written item"
    );
}

/// Login counters: attempts count up from one; a lock is claimed once and stops the
/// counting while in force; an expired counter starts again; clearing forgets all.
pub async fn login_attempts(store: &dyn Store) {
    let now = 1_700_000_000;
    let key = "a".repeat(64);
    assert_eq!(
        store.login_attempts(&key, now).await.unwrap(),
        LoginAttempts::default()
    );
    for expected in 1..=3 {
        assert_eq!(
            store
                .begin_login_attempt(&key, now, now + 100)
                .await
                .unwrap(),
            AttemptAdmission::Counted(expected)
        );
    }
    assert!(store.claim_lock(&key, now, now + 10).await.unwrap());
    assert!(
        !store.claim_lock(&key, now, now + 20).await.unwrap(),
        "one claim per lock"
    );
    assert_eq!(
        store
            .begin_login_attempt(&key, now + 9, now + 100)
            .await
            .unwrap(),
        AttemptAdmission::Locked { until: now + 10 },
        "a locked name does not count"
    );
    assert_eq!(
        store.login_attempts(&key, now).await.unwrap(),
        LoginAttempts {
            attempts: 3,
            locked_until: now + 10
        }
    );
    // Once the lock is over, counting goes on, and the next lock can be claimed.
    assert_eq!(
        store
            .begin_login_attempt(&key, now + 10, now + 100)
            .await
            .unwrap(),
        AttemptAdmission::Counted(4)
    );
    assert!(store.claim_lock(&key, now + 10, now + 30).await.unwrap());
    // Past its memory, the counter reads as zero and counts again from one.
    let later = now + 101;
    assert_eq!(
        store.login_attempts(&key, later).await.unwrap(),
        LoginAttempts::default()
    );
    assert_eq!(
        store
            .begin_login_attempt(&key, later, later + 100)
            .await
            .unwrap(),
        AttemptAdmission::Counted(1)
    );
    store.clear_login_attempts(&key).await.unwrap();
    assert_eq!(
        store.login_attempts(&key, later).await.unwrap(),
        LoginAttempts::default()
    );
    assert!(
        !store.claim_lock(&key, later, later + 5).await.unwrap(),
        "no counter, no lock"
    );
    // Clearing what is not there is not an error.
    store.clear_login_attempts(&key).await.unwrap();
}

/// Clients: created once, read back exactly; a new secret replaces the old one only
/// for a confidential client; a public client never gains a secret.
pub async fn clients(store: &dyn Store) {
    let hash = |s: &str| PasswordHash::parse(s).expect("a valid fixture hash");
    let first_secret = hash("$2b$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy");
    let second_secret = hash("$2b$04$abcdefghijklmnopqrstuuJ0WTqn7iXp1xcy2Hd8ITbjTg.VJ8bWq");
    let id = ClientId::parse("backend").expect("a valid fixture id");
    let confidential = ClientRecord {
        client_id: id.clone(),
        secret_hash: Some(first_secret),
        grant_types: vec![GrantType::ClientCredentials, GrantType::Password],
        scopes: vec!["read".into(), "write".into()],
        disabled: false,
        created_at: 1_700_000_000,
    };
    store.create_client(&confidential).await.unwrap();
    let mut impostor = confidential.clone();
    impostor.secret_hash = None;
    assert_eq!(
        store.create_client(&impostor).await,
        Err(StoreError::AlreadyExists)
    );
    assert_eq!(
        store.get_client(&id).await.unwrap(),
        Some(confidential.clone())
    );

    store.set_client_secret(&id, &second_secret).await.unwrap();
    store.set_client_disabled(&id, true).await.unwrap();
    let changed = store.get_client(&id).await.unwrap().unwrap();
    assert_eq!(changed.secret_hash, Some(second_secret.clone()));
    assert!(changed.disabled);

    let public_id = ClientId::parse("spa").expect("a valid fixture id");
    let public = ClientRecord {
        client_id: public_id.clone(),
        secret_hash: None,
        grant_types: vec![GrantType::Password, GrantType::RefreshToken],
        scopes: Vec::new(),
        disabled: false,
        created_at: 1_700_000_000,
    };
    store.create_client(&public).await.unwrap();
    assert_eq!(
        store.set_client_secret(&public_id, &second_secret).await,
        Err(StoreError::NotFound),
        "a public client never gains a secret"
    );
    assert_eq!(store.get_client(&public_id).await.unwrap(), Some(public));

    let missing = ClientId::parse("missing").expect("a valid fixture id");
    assert_eq!(store.get_client(&missing).await.unwrap(), None);
    assert_eq!(
        store.set_client_disabled(&missing, true).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.set_client_secret(&missing, &second_secret).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.get_client(&missing).await.unwrap(),
        None,
        "no half-written item"
    );
}

fn successor(record: &RefreshTokenRecord) -> RefreshTokenRecord {
    record.successor(
        NewRefreshToken::generate().token_hash,
        crate::now_unix(),
        RefreshLifetimes::default(),
    )
}

/// A family starts once; each token rotates once; revocation covers every token of
/// the family; a failed rotation writes nothing.
pub async fn refresh_tokens(store: &dyn Store) {
    let first = first_of_family(
        &NewRefreshToken::generate(),
        "usr_1",
        "alice",
        Some("web"),
        "read write",
        crate::now_unix(),
        RefreshLifetimes::default(),
    );
    store.start_family(&first).await.unwrap();
    assert_eq!(
        store.start_family(&first).await,
        Err(StoreError::AlreadyExists)
    );
    let found = store
        .find_refresh_token(&first.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.record, first);
    assert!(!found.used && !found.family_revoked);

    let second = successor(&first);
    store.rotate(&first, &second).await.unwrap();
    assert!(
        store
            .find_refresh_token(&first.token_hash)
            .await
            .unwrap()
            .unwrap()
            .used
    );
    let spare = successor(&first);
    assert_eq!(
        store.rotate(&first, &spare).await,
        Err(RotationError::AlreadyUsed)
    );
    assert_eq!(
        store.find_refresh_token(&spare.token_hash).await.unwrap(),
        None
    );

    store.revoke_family(&first.family_id).await.unwrap();
    assert_eq!(
        store.rotate(&second, &successor(&second)).await,
        Err(RotationError::FamilyRevoked)
    );
    let second_now = store
        .find_refresh_token(&second.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !second_now.used && second_now.family_revoked,
        "a refused rotation writes nothing"
    );
    assert_eq!(
        store.revoke_family("fam_none").await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.find_refresh_token(&"0".repeat(64)).await.unwrap(),
        None
    );
}

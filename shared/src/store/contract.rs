//! The behaviour every [`Store`] must have, as checks both implementations run: the
//! in-memory store in this crate's unit tests, the DynamoDB store in `tests/`
//! against the local server. One definition keeps the two from drifting apart.
//! (Built only for tests and with the `test-support` feature.)

use super::{RotationError, Store, StoreError};
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

//! The behaviour every [`Store`] must have, as checks both implementations run: the
//! in-memory store in this crate's unit tests, the DynamoDB store in `tests/`
//! against the local server. One definition keeps the two from drifting apart.
//! (Test code: called by tests only.)

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

    // OpenID Connect's email_verified: only for the address the administrator saw.
    let mut with_email = user("carol");
    with_email.email = Some("carol@example.com".into());
    with_email.full_name = Some("Carol".into());
    store.create_user(&with_email).await.unwrap();
    assert_eq!(
        store.get_user("carol").await.unwrap(),
        Some(with_email.clone()),
        "email, unverified, and updated_at read back as written"
    );
    assert_eq!(
        store
            .set_email_verified("carol", "other@example.com", true, 1_800_000_000)
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        store.get_user("carol").await.unwrap(),
        Some(with_email.clone()),
        "a refused verification writes nothing"
    );
    store
        .set_email_verified("carol", "carol@example.com", true, 1_800_000_000)
        .await
        .unwrap();
    let verified = store.get_user("carol").await.unwrap().unwrap();
    assert!(verified.email_verified);
    assert_eq!(verified.updated_at, 1_800_000_000);
    assert_eq!(
        store
            .set_email_verified("nobody", "carol@example.com", true, 1)
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.get_user("nobody").await.unwrap(), None);
    store.delete_user("carol").await.unwrap();

    let generation = store
        .get_user("alice")
        .await
        .unwrap()
        .unwrap()
        .credential_generation;
    store.set_disabled("alice", true).await.unwrap();
    assert!(store.get_user("alice").await.unwrap().unwrap().disabled);
    store.set_disabled("alice", false).await.unwrap();
    let enabled = store.get_user("alice").await.unwrap().unwrap();
    assert!(!enabled.disabled);
    // Disabling ended the user's refresh families and sessions for good.
    assert_eq!(enabled.credential_generation, generation + 1);
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
        redirect_uris: vec!["https://backend.example.com/cb".into()],
        first_party: false,
        post_logout_redirect_uris: vec!["https://backend.example.com/bye".into()],
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
        redirect_uris: Vec::new(),
        first_party: false,
        post_logout_redirect_uris: Vec::new(),
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
    let mut first = first_of_family(
        &NewRefreshToken::generate(),
        "usr_1",
        "alice",
        Some("web"),
        "openid read write",
        crate::now_unix(),
        RefreshLifetimes::default(),
    );
    // A family from an OpenID Connect sign-in keeps its facts for new ID tokens.
    first.sign_in = Some(crate::oidc::SignInFacts {
        auth_time: 1_700_000_000,
        sid: Some("session-hash".into()),
    });
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
    assert_eq!(
        store
            .find_refresh_token(&second.token_hash)
            .await
            .unwrap()
            .unwrap()
            .record
            .sign_in,
        first.sign_in,
        "a successor keeps the sign-in's auth_time and sid"
    );
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

fn pending(id: &str) -> crate::authorization::PendingAuthorization {
    use crate::authorization::*;
    PendingAuthorization {
        id_hash: crate::refresh::hash_token(id),
        csrf_hash: crate::refresh::hash_token("csrf"),
        browser_hash: crate::refresh::hash_token("browser"),
        client_id: ClientId::parse("web").expect("a valid fixture id"),
        redirect: VerifiedRedirect {
            redirect_uri: "https://app.example.com/cb?x=1".into(),
            redirect_uri_sent: true,
            state: Some("state with spaces & symbols".into()),
        },
        parameters: AuthorizationParameters {
            scope: Some(crate::oauth::ScopeSet::from_tokens(["read", "write"])),
            code_challenge: crate::pkce::CodeChallenge::of_verifier(&"v".repeat(43)),
            prompt: Prompt::LOGIN,
            max_age: Some(300),
            login_hint: Some("alice".into()),
            nonce: Some("n-0S6_WzA2Mj".into()),
            hint_subject: Some("usr_1".into()),
        },
        created_at: 1_700_000_000,
        expires_at: 1_700_000_600,
    }
}

fn code(code_hash: &str) -> crate::authorization::AuthorizationCodeRecord {
    crate::authorization::AuthorizationCodeRecord {
        code_hash: code_hash.to_owned(),
        client_id: ClientId::parse("web").expect("a valid fixture id"),
        redirect_uri: "http://127.0.0.1:5000/callback".into(),
        redirect_uri_sent: false,
        code_challenge: crate::pkce::CodeChallenge::of_verifier(&"w".repeat(43)),
        scope: crate::oauth::ScopeSet::from_tokens(["read"]),
        user_id: "usr_1".into(),
        username_key: "alice".into(),
        auth_time: 1_700_000_001,
        nonce: None,
        sid: Some("session-hash".into()),
        credential_generation: 3,
        created_at: 1_700_000_002,
        expires_at: 1_700_000_062,
    }
}

/// The browser flow's records: each round-trips whole; a pending request is taken
/// once, a code redeemed once (also by concurrent callers), sessions can be touched
/// and ended, consents replaced and withdrawn; and a family revoked ahead of its
/// start can never be started.
pub async fn sign_in(store: &dyn Store) {
    use crate::authorization::{ConsentRecord, Prompt};
    use crate::sessions::SessionRecord;

    // Pending requests: every field comes back, optional ones absent too.
    let first = pending("one");
    store.put_pending_authorization(&first).await.unwrap();
    assert_eq!(
        store.put_pending_authorization(&first).await,
        Err(StoreError::AlreadyExists)
    );
    let mut bare = pending("two");
    bare.redirect.state = None;
    bare.redirect.redirect_uri_sent = false;
    bare.parameters.scope = None;
    bare.parameters.prompt = Prompt::DEFAULT;
    bare.parameters.max_age = None;
    bare.parameters.login_hint = None;
    bare.parameters.nonce = None;
    store.put_pending_authorization(&bare).await.unwrap();
    for record in [&first, &bare] {
        assert_eq!(
            store
                .get_pending_authorization(&record.id_hash)
                .await
                .unwrap()
                .as_ref(),
            Some(record)
        );
    }
    let takes =
        futures_join_all((0..8).map(|_| store.take_pending_authorization(&first.id_hash))).await;
    let taken: Vec<_> = takes.into_iter().filter_map(Result::unwrap).collect();
    assert_eq!(taken, vec![first.clone()], "exactly one take gets it");
    assert_eq!(
        store
            .get_pending_authorization(&first.id_hash)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.take_pending_authorization("missing").await.unwrap(),
        None
    );

    // Codes: stored unused, redeemed exactly once even when raced.
    let hash = crate::refresh::hash_token("code-1");
    let record = code(&hash);
    store.put_authorization_code(&record).await.unwrap();
    assert_eq!(
        store.put_authorization_code(&record).await,
        Err(StoreError::AlreadyExists)
    );
    let found = store.find_authorization_code(&hash).await.unwrap().unwrap();
    assert_eq!((found.record.clone(), found.used), (record.clone(), false));
    let mut with_nonce = code(&crate::refresh::hash_token("code-2"));
    with_nonce.nonce = Some("n".into());
    with_nonce.redirect_uri_sent = true;
    with_nonce.scope = crate::oauth::ScopeSet::default();
    store.put_authorization_code(&with_nonce).await.unwrap();
    assert_eq!(
        store
            .find_authorization_code(&with_nonce.code_hash)
            .await
            .unwrap()
            .unwrap()
            .record,
        with_nonce
    );
    let redemptions =
        futures_join_all((0..8).map(|_| store.redeem_authorization_code(&hash, 1_700_000_010)))
            .await;
    let won = redemptions
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(won, 1, "exactly one redemption wins");
    assert!(
        store
            .find_authorization_code(&hash)
            .await
            .unwrap()
            .unwrap()
            .used
    );
    assert!(
        !store
            .redeem_authorization_code(&hash, 1_700_000_011)
            .await
            .unwrap()
    );
    assert!(!store.redeem_authorization_code("missing", 1).await.unwrap());
    assert_eq!(
        store.find_authorization_code("missing").await.unwrap(),
        None
    );

    // Sessions.
    let session = SessionRecord {
        id_hash: crate::refresh::hash_token("session-1"),
        user_id: "usr_1".into(),
        username_key: "alice".into(),
        auth_time: 1_700_000_000,
        credential_generation: 2,
        created_at: 1_700_000_000,
        last_seen_at: 1_700_000_000,
        expires_at: 1_700_003_600,
    };
    store.put_session(&session).await.unwrap();
    assert_eq!(
        store.put_session(&session).await,
        Err(StoreError::AlreadyExists)
    );
    assert_eq!(
        store.get_session(&session.id_hash).await.unwrap().as_ref(),
        Some(&session)
    );
    store
        .touch_session(&session.id_hash, 1_700_000_100, 1_700_003_700)
        .await
        .unwrap();
    let touched = store.get_session(&session.id_hash).await.unwrap().unwrap();
    assert_eq!(
        (touched.last_seen_at, touched.expires_at),
        (1_700_000_100, 1_700_003_700)
    );
    assert_eq!(
        touched.auth_time, session.auth_time,
        "a touch keeps the sign-in time"
    );
    store.delete_session(&session.id_hash).await.unwrap();
    store.delete_session(&session.id_hash).await.unwrap();
    assert_eq!(store.get_session(&session.id_hash).await.unwrap(), None);
    assert_eq!(
        store.touch_session(&session.id_hash, 1, 2).await,
        Err(StoreError::NotFound),
        "a touch never brings a session back"
    );
    assert_eq!(store.get_session(&session.id_hash).await.unwrap(), None);

    // Consents: per user and client, replaced, withdrawn.
    let web = ClientId::parse("web").unwrap();
    let other = ClientId::parse("other").unwrap();
    let consent = ConsentRecord {
        user_id: "usr_1".into(),
        client_id: web.clone(),
        scope: crate::oauth::ScopeSet::from_tokens(["read"]),
        granted_at: 1_700_000_000,
    };
    store.put_consent(&consent).await.unwrap();
    assert_eq!(
        store.get_consent("usr_1", &web).await.unwrap().as_ref(),
        Some(&consent)
    );
    assert_eq!(store.get_consent("usr_1", &other).await.unwrap(), None);
    assert_eq!(store.get_consent("usr_2", &web).await.unwrap(), None);
    let wider = ConsentRecord {
        scope: crate::oauth::ScopeSet::from_tokens(["read", "write"]),
        ..consent.clone()
    };
    store.put_consent(&wider).await.unwrap();
    assert_eq!(store.get_consent("usr_1", &web).await.unwrap(), Some(wider));
    store.delete_consent("usr_1", &web).await.unwrap();
    assert_eq!(store.get_consent("usr_1", &web).await.unwrap(), None);
    assert_eq!(
        store.delete_consent("usr_1", &web).await,
        Err(StoreError::NotFound)
    );

    // A family revoked before it starts cannot start; revoking ahead an existing
    // family revokes it.
    let token = NewRefreshToken::generate();
    let mut family = first_of_family(
        &token,
        "usr_1",
        "alice",
        Some("web"),
        "read",
        crate::now_unix(),
        RefreshLifetimes::default(),
    );
    family.family_id = crate::authorization::family_id_of_code(&hash);
    store
        .revoke_family_ahead(&family.family_id, family.family_expires_at)
        .await
        .unwrap();
    assert_eq!(
        store.start_family(&family).await,
        Err(StoreError::AlreadyExists)
    );
    let live = first_of_family(
        &NewRefreshToken::generate(),
        "usr_1",
        "alice",
        Some("web"),
        "read",
        crate::now_unix(),
        RefreshLifetimes::default(),
    );
    store.start_family(&live).await.unwrap();
    store
        .revoke_family_ahead(&live.family_id, live.family_expires_at)
        .await
        .unwrap();
    assert!(
        store
            .find_refresh_token(&live.token_hash)
            .await
            .unwrap()
            .unwrap()
            .family_revoked
    );
}

/// Polls the futures together on this task until all are done, so that their
/// requests are in flight at once (the store is borrowed: no spawning).
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    use std::task::Poll;
    let mut running: Vec<_> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = running.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (slot, output) in running.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot
                && let Poll::Ready(value) = future.as_mut().poll(cx)
            {
                *output = Some(value);
                *slot = None;
            }
        }
        if running.iter().all(Option::is_none) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

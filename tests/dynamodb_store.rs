//! The DynamoDB store against the local DynamoDB-compatible server: conditional
//! writes, races, and an unreachable endpoint.

use std::sync::Arc;
use std::time::Duration;

use integration_tests::*;
use shared::routes::Endpoint;
use shared::routes::token::TokenEndpoint;
use shared::store::{DynamoDbStore, StoreError, StoreSettings, UserStore};
use shared::users::{UserRecord, Username};

#[tokio::test]
async fn meets_the_user_contract() {
    shared::store::contract::users(&fresh_store("contract").await).await;
}

/// The soak's server variant (`--item-rollback`: a cancelled transaction restores
/// the items it names rather than whole tables) keeps the same all-or-nothing
/// guarantees: the refresh contract cancels transactions (a token rotated twice)
/// and checks that the loser wrote nothing.
#[tokio::test]
async fn meets_the_contracts_on_the_item_rollback_server() {
    let server = PrivateDynamoDb::start_with(&["--item-rollback"]);
    let store = fresh_store_at("contract-rollback", &server.endpoint).await;
    shared::store::contract::refresh_tokens(&store).await;
    shared::store::contract::users(&store).await;
    shared::store::contract::sign_in(&store).await;
}

#[tokio::test]
async fn meets_the_login_attempt_contract() {
    shared::store::contract::login_attempts(&fresh_store("contract").await).await;
}

#[tokio::test]
async fn meets_the_client_contract() {
    shared::store::contract::clients(&fresh_store("contract").await).await;
}

#[tokio::test]
async fn meets_the_sign_in_contract() {
    shared::store::contract::sign_in(&fresh_store("contract").await).await;
}

#[tokio::test]
async fn meets_the_refresh_token_contract() {
    shared::store::contract::refresh_tokens(&fresh_store("contract").await).await;
}

#[tokio::test]
async fn twenty_concurrent_creates_of_one_name_make_exactly_one_user() {
    let store = Arc::new(fresh_store("race").await);
    let hash = shared::passwords::PasswordHash::parse(
        "$2b$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
    )
    .unwrap();
    let attempts = (0..20).map(|_| {
        let store = Arc::clone(&store);
        let user = UserRecord::new(Username::parse("racer").unwrap(), hash.clone());
        tokio::spawn(async move { (store.create_user(&user).await, user.user_id) })
    });
    let results = futures_join_all(attempts).await;
    let winners: Vec<&String> = results
        .iter()
        .filter(|(r, _)| r.is_ok())
        .map(|(_, id)| id)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(r, _)| r.is_ok() || *r == Err(StoreError::AlreadyExists))
    );
    assert_eq!(
        &store.get_user("racer").await.unwrap().unwrap().user_id,
        winners[0]
    );
}

async fn futures_join_all<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn creating_an_existing_table_is_reported() {
    let store = fresh_store("store").await;
    assert_eq!(store.create_table().await, Err(StoreError::AlreadyExists));
}

#[tokio::test]
async fn an_unreachable_table_is_a_prompt_503() {
    // A port nothing listens on: connections are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let store = DynamoDbStore::connect(&StoreSettings {
        table_name: "users".into(),
        endpoint_url: Some(format!("http://{closed}")),
    })
    .await;
    assert!(matches!(
        store.get_user("alice").await,
        Err(StoreError::Unavailable(_))
    ));

    let env = service_env("users");
    let token = TokenEndpoint::from_env(&env, Arc::new(store)).unwrap();
    let request = http::Request::post("/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(bytes::Bytes::from(login_body("alice")))
        .unwrap();
    // Bounded by the SDK's own timeouts and retries: a hang would fail here.
    let response = tokio::time::timeout(Duration::from_secs(60), token.handle(request))
        .await
        .expect("the token endpoint answers while the table is unreachable");
    assert_eq!(response.status(), 503, "{}", response.body());
    assert_eq!(response.headers()["retry-after"], "1");
    let body = json_body(&response);
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        !response.body().contains("users"),
        "no table name in {}",
        response.body()
    );
}

#[tokio::test]
async fn a_missing_table_is_a_500_not_a_retryable_503() {
    // A misconfiguration (wrong TABLE_NAME) is not fixed by retrying: no Retry-After.
    let store = DynamoDbStore::connect(&StoreSettings {
        table_name: unique_table_name("missing"),
        endpoint_url: Some(dynamodb_endpoint()),
    })
    .await;
    assert!(matches!(
        store.get_user("alice").await,
        Err(StoreError::Rejected(_))
    ));
    let table = store.table_name().to_owned();
    let token = TokenEndpoint::from_env(&service_env(&table), Arc::new(store)).unwrap();
    let request = http::Request::post("/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(bytes::Bytes::from(login_body("alice")))
        .unwrap();
    let response = token.handle(request).await;
    assert_eq!(response.status(), 500);
    assert_eq!(json_body(&response)["error"], "server_error");
    assert!(!response.headers().contains_key("retry-after"));
    assert!(
        !response.body().contains(&table),
        "no table name in the body"
    );
}

mod refresh_tokens {
    use super::*;
    use shared::refresh::{NewRefreshToken, RefreshLifetimes, RefreshTokenRecord, first_of_family};
    use shared::store::{RefreshTokenStore, RotationError};

    fn first() -> RefreshTokenRecord {
        first_of_family(
            &NewRefreshToken::generate(),
            "usr_1",
            "alice",
            Some("web"),
            "read write",
            shared::now_unix(),
            RefreshLifetimes::default(),
        )
    }

    fn next(record: &RefreshTokenRecord) -> RefreshTokenRecord {
        record.successor(
            NewRefreshToken::generate().token_hash,
            shared::now_unix(),
            RefreshLifetimes::default(),
        )
    }

    /// RFC 9700 §4.14.2 rotation under attack: twenty concurrent rotations of one
    /// token, exactly one wins, and the winner's successor exists exactly once.
    #[tokio::test]
    async fn twenty_concurrent_rotations_of_one_token_yield_exactly_one_success() {
        let store = Arc::new(fresh_store("refresh-race").await);
        let first = first();
        store.start_family(&first).await.unwrap();
        let attempts: Vec<_> = (0..20)
            .map(|_| {
                let store = Arc::clone(&store);
                let old = first.clone();
                let new = next(&first);
                tokio::spawn(async move { (store.rotate(&old, &new).await, new) })
            })
            .collect();
        let mut results = Vec::new();
        for attempt in attempts {
            results.push(attempt.await.unwrap());
        }
        let winners: Vec<&RefreshTokenRecord> = results
            .iter()
            .filter(|(r, _)| r.is_ok())
            .map(|(_, new)| new)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "{:?}",
            results.iter().map(|(r, _)| r).collect::<Vec<_>>()
        );
        assert!(
            results
                .iter()
                .all(|(r, _)| r.is_ok() || *r == Err(RotationError::AlreadyUsed))
        );
        for (result, new) in &results {
            let stored = store.find_refresh_token(&new.token_hash).await.unwrap();
            assert_eq!(stored.is_some(), result.is_ok(), "losers wrote nothing");
        }
    }
}

/// OWASP ASVS V2.2.1 under concurrency: fifty parallel wrong guesses for one name
/// are all counted, in the store and through the token endpoint (no lost updates).
#[tokio::test]
async fn fifty_concurrent_failed_logins_are_all_counted() {
    use shared::store::LoginAttemptStore;
    let store = Arc::new(fresh_store("throttle-race").await);
    let now = shared::now_unix();
    let key = shared::throttle::throttle_key("counted");
    let failures = (0..50).map(|_| {
        let store = Arc::clone(&store);
        let key = key.clone();
        tokio::spawn(async move { store.begin_login_attempt(&key, now, now + 60).await })
    });
    let mut counts: Vec<u32> = futures_join_all(failures)
        .await
        .into_iter()
        .map(|admission| match admission.unwrap() {
            shared::store::AttemptAdmission::Counted(n) => n,
            other => panic!("{other:?}"),
        })
        .collect();
    counts.sort();
    assert_eq!(
        counts,
        (1..=50).collect::<Vec<_>>(),
        "each attempt saw its own count"
    );
    assert_eq!(store.login_attempts(&key, now).await.unwrap().attempts, 50);

    // Through the endpoint, with a threshold above fifty so that none is refused early.
    let mut env = service_env(store.table_name());
    env.insert("LOGIN_LOCK_THRESHOLD".into(), "100".into());
    add_user(store.as_ref(), "guessed").await;
    let endpoint = Arc::new(TokenEndpoint::from_env(&env, store.clone()).unwrap());
    let statuses = fifty_wrong_guesses(&endpoint, "guessed").await;
    assert!(statuses.iter().all(|s| *s == 400), "{statuses:?}");
    let key = shared::throttle::throttle_key("guessed");
    let counted = store
        .login_attempts(&key, shared::now_unix())
        .await
        .unwrap()
        .attempts;
    // None lost. (An ADD whose attempt timed out after the server applied it is
    // retried by the SDK and counts twice: 50 bcrypt runs on two cores can delay the
    // local server past the 1 s attempt timeout. Erring high only locks sooner.)
    assert!(counted >= 50, "{counted} of 50 failures counted");
}

/// Twenty concurrent self-service registrations of one name (in different cases):
/// exactly one 201, every other one 409 `username_taken`, one user stored.
#[tokio::test]
async fn twenty_concurrent_registrations_of_one_name_make_exactly_one_user() {
    let store = Arc::new(fresh_store("register-race").await);
    let mut env = service_env(store.table_name());
    env.insert("SELF_SERVICE_REGISTRATION".into(), "true".into());
    let accounts =
        Arc::new(shared::routes::account::account_function(&env, store.clone()).unwrap());
    let attempts = (0..20).map(|i| {
        let accounts = Arc::clone(&accounts);
        tokio::spawn(async move {
            let name = if i % 2 == 0 { "Racer" } else { "racer" };
            let body =
                format!(r#"{{"username":"{name}","password":"a fine long passphrase {i}"}}"#);
            let request = http::Request::post("/users")
                .header("content-type", "application/json")
                .body(bytes::Bytes::from(body))
                .unwrap();
            let response = accounts.handle(request).await;
            (response.status().as_u16(), response.body().clone())
        })
    });
    let results = futures_join_all(attempts).await;
    let created: Vec<_> = results
        .iter()
        .filter(|(status, _)| *status == 201)
        .collect();
    assert_eq!(created.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(status, body)| *status == 201
                || (*status == 409 && body.contains("username_taken"))),
        "{results:?}"
    );
    let stored = store.get_user("racer").await.unwrap().unwrap();
    let winner: serde_json::Value = serde_json::from_str(&created[0].1).unwrap();
    assert_eq!(winner["username"], stored.username.as_str());
}

/// The burst the lock must stop, on DynamoDB: fifty parallel wrong guesses with the
/// default threshold of five reach bcrypt at most five times.
#[tokio::test]
async fn a_burst_of_fifty_guesses_reaches_bcrypt_at_most_five_times() {
    let store = Arc::new(fresh_store("throttle-burst").await);
    add_user(store.as_ref(), "burst").await;
    let env = service_env(store.table_name());
    let endpoint = Arc::new(TokenEndpoint::from_env(&env, store.clone()).unwrap());
    let before = endpoint.passwords().verifications();
    let statuses = fifty_wrong_guesses(&endpoint, "burst").await;
    assert!(statuses.iter().all(|s| *s == 400), "{statuses:?}");
    let checked = endpoint.passwords().verifications() - before;
    assert!(
        (1..=5).contains(&checked),
        "{checked} guesses reached bcrypt"
    );
}

/// Fifty wrong passwords for `username`, all sent at once; their statuses.
async fn fifty_wrong_guesses(endpoint: &Arc<TokenEndpoint>, username: &str) -> Vec<u16> {
    let guesses = (0..50).map(|i| {
        let endpoint = Arc::clone(endpoint);
        let body = format!(
            "grant_type=password&client_id={CLIENT_ID}&username={username}&password=wrong-{i}"
        );
        tokio::spawn(async move {
            let request = http::Request::post("/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(bytes::Bytes::from(body))
                .unwrap();
            endpoint.handle(request).await.status().as_u16()
        })
    });
    futures_join_all(guesses).await
}

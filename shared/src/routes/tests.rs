//! Handler tests on the in-memory store: every RFC 6749 / RFC 6750 behaviour of the
//! two endpoints, with no network.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use secrecy::SecretString;
use serde_json::Value;

use super::Endpoint;
use super::token::TokenEndpoint;
use super::users_me::UsersMeEndpoint;
use super::well_known::WellKnownEndpoint;
use crate::clients::{ClientId, ClientRecord, GrantType};
use crate::http::HttpResponse;
use crate::keys::{self, SigningAlgorithm};
use crate::refresh::RefreshTokenRecord;
use crate::store::{
    ClientStore, MemoryStore, RefreshTokenStore, RotationError, Store, StoreError,
    StoredRefreshToken, UserStore,
};
use crate::users::{UserRecord, Username};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://api.example.com";
const PASSWORD: &str = "correct horse battery";
/// The secret of the confidential client `backend` (a test fixture).
const BACKEND_SECRET: &str = "backend-secret-for-tests-only";

struct Service {
    env: HashMap<String, String>,
    store: Arc<MemoryStore>,
    token: TokenEndpoint,
    users_me: UsersMeEndpoint,
}

fn env() -> HashMap<String, String> {
    let key = keys::generate(SigningAlgorithm::Es256).unwrap();
    [
        ("AUTH_ISSUER", ISSUER.to_owned()),
        ("AUTH_AUDIENCE", AUDIENCE.to_owned()),
        ("AUTH_REALM", "example".to_owned()),
        ("AUTH_DEVELOPMENT_MODE", "true".to_owned()),
        ("BCRYPT_COST", "4".to_owned()),
    ]
    .into_iter()
    .chain(key.environment())
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn service() -> Service {
    let store = Arc::new(MemoryStore::new());
    let env = env();
    let token = TokenEndpoint::from_env(&env, store.clone()).unwrap();
    let users_me = UsersMeEndpoint::from_env(&env, store.clone()).unwrap();
    let service = Service {
        env,
        store,
        token,
        users_me,
    };
    service.add_user("alice", PASSWORD, &[]).await;
    // Two public clients for users, one confidential client for machines.
    for id in ["web-app", "mobile-app"] {
        service
            .add_client(
                id,
                None,
                &[GrantType::Password, GrantType::RefreshToken],
                &["read", "write"],
            )
            .await;
    }
    service
        .add_client(
            "backend",
            Some(BACKEND_SECRET),
            &[GrantType::ClientCredentials],
            &["reports", "read"],
        )
        .await;
    service
}

impl Service {
    async fn add_user(&self, name: &str, password: &str, scopes: &[&str]) -> UserRecord {
        let hash = self
            .token
            .passwords()
            .hash(SecretString::from(password.to_owned()))
            .await
            .unwrap();
        let mut user = UserRecord::new(Username::parse(name).unwrap(), hash);
        user.email = Some(format!("{name}@example.com"));
        user.scopes = scopes.iter().map(|s| s.to_string()).collect();
        self.store.create_user(&user).await.unwrap();
        user
    }

    async fn add_client(
        &self,
        id: &str,
        secret: Option<&str>,
        grant_types: &[GrantType],
        scopes: &[&str],
    ) -> ClientRecord {
        let secret_hash = match secret {
            Some(secret) => Some(
                self.token
                    .passwords()
                    .hash(SecretString::from(secret.to_owned()))
                    .await
                    .unwrap(),
            ),
            None => None,
        };
        let client = ClientRecord {
            client_id: ClientId::parse(id).unwrap(),
            secret_hash,
            grant_types: grant_types.to_vec(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            disabled: false,
            created_at: crate::now_unix(),
            redirect_uris: Vec::new(),
            first_party: false,
            post_logout_redirect_uris: Vec::new(),
        };
        self.store.create_client(&client).await.unwrap();
        client
    }

    async fn login(&self, body: &str) -> HttpResponse {
        self.token.handle(form_post(body)).await
    }

    async fn access_token(&self, name: &str) -> String {
        let response = self
            .login(&format!(
                "grant_type=password&client_id=web-app&username={name}&password={}",
                PASSWORD.replace(' ', "+")
            ))
            .await;
        assert_eq!(response.status(), 200, "{}", response.body());
        json(&response)["access_token"].as_str().unwrap().to_owned()
    }

    async fn me(&self, authorization: Option<&str>) -> HttpResponse {
        let mut request = http::Request::get("/users/me");
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        self.users_me
            .handle(request.body(Bytes::new()).unwrap())
            .await
    }
}

fn form_post(body: &str) -> http::Request<Bytes> {
    http::Request::post("/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

fn json(response: &HttpResponse) -> Value {
    serde_json::from_str(response.body()).unwrap()
}

fn assert_oauth_error(response: &HttpResponse, status: u16, code: &str) {
    assert_eq!(response.status(), status, "{}", response.body());
    assert_eq!(json(response)["error"], code, "{}", response.body());
    assert!(json(response)["error_description"].is_string());
    assert_eq!(response.headers()["cache-control"], "no-store");
}

// ---- POST /token ---------------------------------------------------------------

#[tokio::test]
async fn rfc6749_5_1_successful_password_grant() {
    let s = service().await;
    let response = s
        .login(
            "grant_type=password&client_id=web-app&username=alice&password=correct+horse+battery",
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    assert_eq!(
        response.headers()["content-type"],
        "application/json;charset=UTF-8"
    );
    let body = json(&response);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(
        body.get("scope").is_none(),
        "no scope requested, none granted"
    );
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
    assert_eq!(body.as_object().unwrap().len(), 4);
}

#[tokio::test]
async fn usernames_are_case_insensitive_at_login() {
    let s = service().await;
    let response = s
        .login(
            "grant_type=password&client_id=web-app&username=ALICE&password=correct+horse+battery",
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn rfc6749_5_2_wrong_password_unknown_and_disabled_user_get_one_identical_answer() {
    let s = service().await;
    s.add_user("bob", PASSWORD, &[]).await;
    s.store.set_disabled("bob", true).await.unwrap();
    let wrong_password = s
        .login("grant_type=password&client_id=web-app&username=alice&password=nope")
        .await;
    let unknown_user = s
        .login("grant_type=password&client_id=web-app&username=mallory&password=nope")
        .await;
    let disabled_user = s
        .login("grant_type=password&client_id=web-app&username=bob&password=correct+horse+battery")
        .await;
    let invalid_name = s
        .login("grant_type=password&client_id=web-app&username=no%20such%23name&password=x")
        .await;
    assert_oauth_error(&wrong_password, 400, "invalid_grant");
    for other in [&unknown_user, &disabled_user, &invalid_name] {
        assert_eq!(other.status(), wrong_password.status());
        assert_eq!(other.body(), wrong_password.body());
        assert_eq!(other.headers(), wrong_password.headers());
    }
}

#[tokio::test]
async fn unknown_users_cost_the_same_bcrypt_work_as_known_ones() {
    let s = service().await;
    let before = s.token.passwords().verifications();
    s.login("grant_type=password&client_id=web-app&username=mallory&password=x")
        .await;
    assert_eq!(s.token.passwords().verifications(), before + 1);
    s.login("grant_type=password&client_id=web-app&username=alice&password=x")
        .await;
    assert_eq!(s.token.passwords().verifications(), before + 2);
    assert_eq!(
        s.token.passwords().dummy_hash().cost(),
        s.token.passwords().cost()
    );
}

#[tokio::test]
async fn passwords_longer_than_72_bytes_never_log_in() {
    let s = service().await;
    let exact = "p".repeat(72);
    s.add_user("carol", &exact, &[]).await;
    let ok = s
        .login(&format!(
            "grant_type=password&client_id=web-app&username=carol&password={exact}"
        ))
        .await;
    assert_eq!(ok.status(), 200);
    let longer = s
        .login(&format!(
            "grant_type=password&client_id=web-app&username=carol&password={exact}X"
        ))
        .await;
    assert_oauth_error(&longer, 400, "invalid_grant");
}

#[tokio::test]
async fn rfc6749_3_3_scope_is_granted_within_the_users_scopes() {
    let s = service().await;
    s.add_user("dora", PASSWORD, &["read", "write"]).await;
    let base = "grant_type=password&client_id=web-app&username=dora&password=correct+horse+battery";
    let all = s.login(base).await;
    assert_eq!(json(&all)["scope"], "read write");
    let narrowed = s.login(&format!("{base}&scope=read")).await;
    assert_eq!(json(&narrowed)["scope"], "read");
    let too_much = s.login(&format!("{base}&scope=read+admin")).await;
    assert_oauth_error(&too_much, 400, "invalid_scope");
    // A wrong password is reported as such before any scope check: no oracle.
    let wrong = s
        .login("grant_type=password&client_id=web-app&username=dora&password=x&scope=admin")
        .await;
    assert_oauth_error(&wrong, 400, "invalid_grant");
    let malformed = s.login(&format!("{base}&scope=%22quoted%22")).await;
    assert_oauth_error(&malformed, 400, "invalid_scope");
}

#[tokio::test]
async fn rfc9068_token_claims() {
    let s = service().await;
    let response = s
        .login(
            "grant_type=password&username=alice&password=correct+horse+battery&client_id=web-app",
        )
        .await;
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert!(header.kid.is_some());
    let user = s.store.get_user("alice").await.unwrap().unwrap();
    let payload: Value = {
        use base64::Engine;
        let segment = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(segment)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(payload["iss"], ISSUER);
    assert_eq!(payload["aud"], AUDIENCE);
    assert_eq!(payload["sub"], user.user_id.as_str());
    assert_eq!(payload["client_id"], "web-app");
    assert_eq!(
        payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(),
        900
    );
    assert!(payload["jti"].as_str().unwrap().len() >= 22);
}

#[tokio::test]
async fn rfc6749_5_2_invalid_request_cases() {
    let s = service().await;
    let cases = [
        ("username=alice&password=x", "grant_type"),
        (
            "grant_type=password&client_id=web-app&password=x",
            "username",
        ),
        (
            "grant_type=password&client_id=web-app&username=alice",
            "password",
        ),
        (
            "grant_type=password&client_id=web-app&username=alice&username=bob&password=x",
            "repeated",
        ),
        (
            "grant_type=password&client_id=web-app&username=%E0%A4%A&password=x",
            "percent",
        ),
        (
            "grant_type=password&client_id=web-app&username=%FF&password=x",
            "UTF-8",
        ),
    ];
    for (body, mentions) in cases {
        let response = s.login(body).await;
        assert_oauth_error(&response, 400, "invalid_request");
        let description = json(&response)["error_description"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(description.contains(mentions), "{body}: {description}");
    }
}

#[tokio::test]
async fn rfc6749_4_3_2_body_must_be_form_encoded() {
    let s = service().await;
    let as_json = http::Request::post("/token")
        .header("content-type", "application/json")
        .body(Bytes::from_static(
            br#"{"grant_type":"password","username":"alice","password":"x"}"#,
        ))
        .unwrap();
    assert_oauth_error(&s.token.handle(as_json).await, 400, "invalid_request");
    let no_type = http::Request::post("/token")
        .body(Bytes::from_static(
            b"grant_type=password&client_id=web-app&username=alice&password=x",
        ))
        .unwrap();
    assert_oauth_error(&s.token.handle(no_type).await, 400, "invalid_request");
    let raw_binary = http::Request::post("/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from_static(
            b"grant_type=password&client_id=web-app&username=\xc3\x28&password=x",
        ))
        .unwrap();
    assert_oauth_error(&s.token.handle(raw_binary).await, 400, "invalid_request");
}

#[tokio::test]
async fn credentials_in_the_query_string_are_refused() {
    let s = service().await;
    // The body alone would log in: the refusal is because of the URL.
    let request = http::Request::post("/token?password=correct+horse+battery")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from_static(
            b"grant_type=password&client_id=web-app&username=alice&password=correct+horse+battery",
        ))
        .unwrap();
    let response = s.token.handle(request).await;
    assert_oauth_error(&response, 400, "invalid_request");
    assert!(
        json(&response)["error_description"]
            .as_str()
            .unwrap()
            .contains("URL")
    );
}

#[tokio::test]
async fn rfc6749_5_2_unsupported_grant_type() {
    let s = service().await;
    for grant in [
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
        "PASSWORD",
    ] {
        let response = s
            .login(&format!("grant_type={grant}&username=alice&password=x"))
            .await;
        assert_oauth_error(&response, 400, "unsupported_grant_type");
    }
}

#[tokio::test]
async fn rfc6749_3_2_token_endpoint_only_accepts_post() {
    let s = service().await;
    for method in ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
        let request = http::Request::builder()
            .method(method)
            .uri("/token")
            .body(Bytes::new())
            .unwrap();
        let response = s.token.handle(request).await;
        assert_eq!(response.status(), 405, "{method}");
        assert_eq!(response.headers()["allow"], "POST");
    }
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let s = service().await;
    let body = format!(
        "grant_type=password&client_id=web-app&username=alice&password={}",
        "x".repeat(9000)
    );
    assert_oauth_error(&s.login(&body).await, 413, "invalid_request");
}

/// A store that is down: every call fails as the SDK would on a timeout.
struct UnavailableStore;

#[async_trait]
impl UserStore for UnavailableStore {
    async fn create_user(&self, _: &UserRecord) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(
            "GetItem failed: table users-prod timed out".into(),
        ))
    }
    async fn get_user(&self, _: &str) -> Result<Option<UserRecord>, StoreError> {
        Err(StoreError::Unavailable(
            "GetItem failed: table users-prod timed out".into(),
        ))
    }
    async fn set_disabled(&self, _: &str, _: bool) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn import_users(&self, _: &[UserRecord]) -> Result<Vec<bool>, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn change_password(
        &self,
        _: &str,
        _: Option<&crate::passwords::PasswordHash>,
        _: &crate::passwords::PasswordHash,
    ) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn upgrade_password_hash(
        &self,
        _: &str,
        _: &crate::passwords::PasswordHash,
        _: &crate::passwords::PasswordHash,
    ) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn delete_user(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn set_email_verified(
        &self,
        _: &str,
        _: &str,
        _: bool,
        _: i64,
    ) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
}

#[async_trait]
impl RefreshTokenStore for UnavailableStore {
    async fn start_family(&self, _: &RefreshTokenRecord) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn find_refresh_token(&self, _: &str) -> Result<Option<StoredRefreshToken>, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn rotate(
        &self,
        _: &RefreshTokenRecord,
        _: &RefreshTokenRecord,
    ) -> Result<(), RotationError> {
        Err(RotationError::Store(StoreError::Unavailable("x".into())))
    }
    async fn revoke_family(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn revoke_family_ahead(&self, _: &str, _: i64) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
}

/// Every browser-flow call fails too.
#[async_trait]
impl crate::store::SignInStore for UnavailableStore {
    async fn put_pending_authorization(
        &self,
        _: &crate::authorization::PendingAuthorization,
    ) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn get_pending_authorization(
        &self,
        _: &str,
    ) -> Result<Option<crate::authorization::PendingAuthorization>, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn take_pending_authorization(
        &self,
        _: &str,
    ) -> Result<Option<crate::authorization::PendingAuthorization>, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn put_authorization_code(
        &self,
        _: &crate::authorization::AuthorizationCodeRecord,
    ) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn find_authorization_code(
        &self,
        _: &str,
    ) -> Result<Option<crate::authorization::StoredCode>, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn redeem_authorization_code(&self, _: &str, _: i64) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn put_session(&self, _: &crate::sessions::SessionRecord) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn get_session(
        &self,
        _: &str,
    ) -> Result<Option<crate::sessions::SessionRecord>, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn touch_session(&self, _: &str, _: i64, _: i64) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn delete_session(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn put_consent(&self, _: &crate::authorization::ConsentRecord) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn get_consent(
        &self,
        _: &str,
        _: &ClientId,
    ) -> Result<Option<crate::authorization::ConsentRecord>, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn delete_consent(&self, _: &str, _: &ClientId) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
}

#[async_trait]
impl crate::store::LoginAttemptStore for UnavailableStore {
    async fn login_attempts(
        &self,
        _: &str,
        _: i64,
    ) -> Result<crate::store::LoginAttempts, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn begin_login_attempt(
        &self,
        _: &str,
        _: i64,
        _: i64,
    ) -> Result<crate::store::AttemptAdmission, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn claim_lock(&self, _: &str, _: i64, _: i64) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn clear_login_attempts(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
}

#[async_trait]
impl ClientStore for UnavailableStore {
    async fn create_client(&self, _: &ClientRecord) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn get_client(&self, _: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
        Err(StoreError::Unavailable(
            "GetItem failed: table users-prod timed out".into(),
        ))
    }
    async fn set_client_secret(
        &self,
        _: &ClientId,
        _: &crate::passwords::PasswordHash,
    ) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
    async fn set_client_disabled(&self, _: &ClientId, _: bool) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("x".into()))
    }
}

#[tokio::test]
async fn an_unavailable_store_is_a_503_with_retry_after_and_no_detail() {
    let s = service().await;
    let token = s.access_token("alice").await;
    let down: Arc<dyn Store> = Arc::new(UnavailableStore);
    let token_endpoint = TokenEndpoint::from_env(&s.env, down.clone()).unwrap();
    let response = token_endpoint
        .handle(form_post(
            "grant_type=password&client_id=web-app&username=alice&password=x",
        ))
        .await;
    assert_oauth_error(&response, 503, "temporarily_unavailable");
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(!response.body().contains("users-prod"));

    let users_me = UsersMeEndpoint::from_env(&s.env, down).unwrap();
    let request = http::Request::get("/users/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Bytes::new())
        .unwrap();
    let response = users_me.handle(request).await;
    assert_oauth_error(&response, 503, "temporarily_unavailable");
    assert!(!response.body().contains("users-prod"));
}

// ---- GET /users/me -------------------------------------------------------------

#[tokio::test]
async fn rfc6750_valid_bearer_token_returns_the_public_profile() {
    let s = service().await;
    let token = s.access_token("alice").await;
    let response = s.me(Some(&format!("Bearer {token}"))).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json(&response);
    assert_eq!(body["username"], "alice");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["disabled"], false);
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
    let text = response.body();
    for secret_or_internal in ["$2b$", "password", "user_id", "usr_", "USER#", "pk"] {
        assert!(
            !text.contains(secret_or_internal),
            "{secret_or_internal} in {text}"
        );
    }
}

#[tokio::test]
async fn rfc6750_2_1_scheme_is_case_insensitive() {
    let s = service().await;
    let token = s.access_token("alice").await;
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let response = s.me(Some(&format!("{scheme} {token}"))).await;
        assert_eq!(response.status(), 200, "{scheme}");
    }
}

#[tokio::test]
async fn rfc6750_3_1_no_credentials_get_a_bare_challenge() {
    let s = service().await;
    // Another scheme is no credentials for us, even with bytes outside ASCII.
    for authorization in [None, Some("Basic YWxpY2U6eA=="), Some("Digest réalm")] {
        let response = s.me(authorization).await;
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"example\""
        );
    }
}

#[tokio::test]
async fn rfc6750_3_1_malformed_authorization_is_invalid_request() {
    let s = service().await;
    for authorization in ["Bearer", "Bearer a b", "Bearer \"quoted\""] {
        let response = s.me(Some(authorization)).await;
        assert_oauth_error(&response, 400, "invalid_request");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer realm=\"example\", error=\"invalid_request\""),
            "{challenge}"
        );
    }
}

#[tokio::test]
async fn rfc6750_3_1_invalid_tokens_get_401_invalid_token_with_challenge() {
    let s = service().await;
    let token = s.access_token("alice").await;
    let other_service = service().await;
    let foreign = other_service.access_token("alice").await;
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    let unsigned = {
        let parts: Vec<&str> = token.split('.').collect();
        use base64::Engine;
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"alg":"none","typ":"at+jwt"}"#);
        format!("{header}.{}.", parts[1])
    };
    for (name, bad) in [
        ("garbage", "abc.def.ghi".to_owned()),
        ("tampered signature", tampered),
        ("another deployment's key", foreign),
        ("alg none", unsigned),
    ] {
        let response = s.me(Some(&format!("Bearer {bad}"))).await;
        assert_oauth_error(&response, 401, "invalid_token");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with(
                "Bearer realm=\"example\", error=\"invalid_token\", error_description=\""
            ),
            "{name}: {challenge}"
        );
    }
}

#[tokio::test]
async fn tokens_of_disabled_or_deleted_users_stop_working() {
    let s = service().await;
    let token = s.access_token("alice").await;
    let bearer = format!("Bearer {token}");
    assert_eq!(s.me(Some(&bearer)).await.status(), 200);

    s.store.set_disabled("alice", true).await.unwrap();
    assert_oauth_error(&s.me(Some(&bearer)).await, 401, "invalid_token");
    s.store.set_disabled("alice", false).await.unwrap();
    assert_eq!(s.me(Some(&bearer)).await.status(), 200);

    s.store.delete_user("alice").await.unwrap();
    assert_oauth_error(&s.me(Some(&bearer)).await, 401, "invalid_token");
    // Someone registers the freed name: the old token must not open the new account.
    s.add_user("alice", PASSWORD, &[]).await;
    assert_oauth_error(&s.me(Some(&bearer)).await, 401, "invalid_token");
}

#[tokio::test]
async fn users_me_only_accepts_get() {
    let s = service().await;
    let request = http::Request::post("/users/me").body(Bytes::new()).unwrap();
    let response = s.users_me.handle(request).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET");
}

#[tokio::test]
async fn access_tokens_in_the_query_string_are_refused() {
    let s = service().await;
    let token = s.access_token("alice").await;
    // Valid in the header too, so only the query copy can cause the refusal; the
    // name is percent-encoded to check that names are decoded before comparing.
    let request = http::Request::get(format!("/users/me?access%5Ftoken={token}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Bytes::new())
        .unwrap();
    assert_oauth_error(&s.users_me.handle(request).await, 400, "invalid_request");
}

// ---- GET /.well-known/* ------------------------------------------------------

async fn get(endpoint: &dyn Endpoint, path: &str) -> HttpResponse {
    endpoint
        .handle(http::Request::get(path).body(Bytes::new()).unwrap())
        .await
}

#[tokio::test]
async fn rfc8414_metadata_names_this_issuer_and_its_endpoints() {
    let s = service().await;
    let mut env = s.env.clone();
    env.insert("AUTH_SCOPES_SUPPORTED".into(), "write read".into());
    let well_known = WellKnownEndpoint::from_env(&env).unwrap();
    let response = get(&well_known, "/.well-known/oauth-authorization-server").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let metadata = json(&response);
    assert_eq!(metadata["issuer"], ISSUER);
    assert_eq!(metadata["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(metadata["revocation_endpoint"], format!("{ISSUER}/revoke"));
    assert_eq!(
        metadata["jwks_uri"],
        format!("{ISSUER}/.well-known/jwks.json")
    );
    assert_eq!(
        metadata["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "password",
            "refresh_token",
            "client_credentials"
        ])
    );
    // RFC 6749 §4.1 with PKCE (RFC 7636) and RFC 9207's iss parameter.
    assert_eq!(
        metadata["authorization_endpoint"],
        format!("{ISSUER}/authorize")
    );
    assert_eq!(
        metadata["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    let auth_methods = serde_json::json!(["client_secret_basic", "client_secret_post", "none"]);
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        auth_methods
    );
    assert_eq!(
        metadata["revocation_endpoint_auth_methods_supported"],
        auth_methods
    );
    // The OpenID Connect scopes first, then the configured ones.
    assert_eq!(
        metadata["scopes_supported"],
        serde_json::json!(["openid", "profile", "email", "read", "write"])
    );
    // The issuer in the metadata is the `iss` of the tokens (RFC 8414 §3.3).
    let token = s.access_token("alice").await;
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(&token)
        .unwrap()
        .claims;
    assert_eq!(claims["iss"], metadata["issuer"]);
    let openid = get(&well_known, "/prod/.well-known/openid-configuration").await;
    assert_eq!(json(&openid), metadata);
}

/// OpenID Connect Discovery 1.0 §3, field by field: every REQUIRED field, the
/// RECOMMENDED ones this provider has, and the ones whose default would be wrong.
#[tokio::test]
async fn openid_discovery_3_the_provider_document_has_every_required_field() {
    let key = keys::generate(SigningAlgorithm::Rs256).unwrap();
    let mut env = env();
    env.extend(key.environment().map(|(k, v)| (k.to_owned(), v)));
    let well_known = WellKnownEndpoint::from_env(&env).unwrap();
    let document = json(&get(&well_known, "/.well-known/openid-configuration").await);
    let object = document.as_object().unwrap();
    // REQUIRED (Discovery §3).
    for required in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ] {
        assert!(object.contains_key(required), "{required} missing");
    }
    let url = |path: &str| serde_json::json!(format!("{ISSUER}{path}"));
    assert_eq!(document["issuer"], ISSUER, "§4.3: exactly the issuer");
    assert_eq!(document["authorization_endpoint"], url("/authorize"));
    assert_eq!(document["token_endpoint"], url("/token"));
    assert_eq!(document["userinfo_endpoint"], url("/userinfo"));
    assert_eq!(document["jwks_uri"], url("/.well-known/jwks.json"));
    assert_eq!(document["end_session_endpoint"], url("/logout"));
    assert_eq!(document["revocation_endpoint"], url("/revoke"));
    let scopes = document["scopes_supported"].as_array().unwrap();
    assert!(scopes.contains(&"openid".into()), "§3: MUST support openid");
    assert_eq!(
        document["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        document["response_modes_supported"],
        serde_json::json!(["query"])
    );
    assert_eq!(
        document["subject_types_supported"],
        serde_json::json!(["public"])
    );
    // §3: "The algorithm RS256 MUST be included" (what template.yaml deploys).
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    let grants = document["grant_types_supported"].as_array().unwrap();
    assert!(
        grants.contains(&"authorization_code".into()) && grants.contains(&"refresh_token".into())
    );
    assert_eq!(
        document["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    let claims = document["claims_supported"].as_array().unwrap();
    for claim in [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "sid",
        "amr",
        "at_hash",
        "name",
        "preferred_username",
        "updated_at",
        "email",
        "email_verified",
    ] {
        assert!(
            claims.contains(&claim.into()),
            "{claim} not in claims_supported"
        );
    }
    assert_eq!(
        document["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        document["authorization_response_iss_parameter_supported"],
        true
    );
    // Defaults that would claim what is not supported are published as false.
    assert_eq!(document["request_parameter_supported"], false);
    assert_eq!(
        document["request_uri_parameter_supported"], false,
        "the default is true"
    );
    assert_eq!(document["claims_parameter_supported"], false);
    // RFC 8414's document is the same one: the two never disagree.
    let rfc8414 = json(&get(&well_known, "/.well-known/oauth-authorization-server").await);
    assert_eq!(rfc8414, document);
    // ES256 deployments publish ES256; HS256 ones issue no ID token and say so.
    for (algorithm, published) in [
        (SigningAlgorithm::Es256, serde_json::json!(["ES256"])),
        (SigningAlgorithm::Hs256, serde_json::json!([])),
    ] {
        let mut env = env.clone();
        env.extend(
            keys::generate(algorithm)
                .unwrap()
                .environment()
                .map(|(k, v)| (k.to_owned(), v)),
        );
        let well_known = WellKnownEndpoint::from_env(&env).unwrap();
        let document = json(&get(&well_known, "/.well-known/openid-configuration").await);
        assert_eq!(document["id_token_signing_alg_values_supported"], published);
        let openid = document["scopes_supported"]
            .as_array()
            .is_some_and(|scopes| scopes.contains(&"openid".into()));
        assert_eq!(openid, algorithm != SigningAlgorithm::Hs256, "{document}");
    }
}

#[tokio::test]
async fn rfc7517_jwks_verifies_issued_tokens_by_kid() {
    let s = service().await;
    let well_known = WellKnownEndpoint::from_env(&s.env).unwrap();
    let response = get(&well_known, "/.well-known/jwks.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let key_set: jsonwebtoken::jwk::JwkSet = serde_json::from_str(response.body()).unwrap();
    assert_eq!(key_set.keys.len(), 1);
    let token = s.access_token("alice").await;
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let jwk = key_set.find(&kid).expect("the token's kid is published");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    assert!(jsonwebtoken::decode::<Value>(&token, &key, &validation).is_ok());
    assert!(
        !response.body().contains("\"d\""),
        "no private key material"
    );
}

#[tokio::test]
async fn jwks_never_publishes_hmac_secrets() {
    let mut env = env();
    let key = keys::generate(SigningAlgorithm::Hs256).unwrap();
    env.extend(key.environment().map(|(k, v)| (k.to_owned(), v)));
    let well_known = WellKnownEndpoint::from_env(&env).unwrap();
    let response = get(&well_known, "/.well-known/jwks.json").await;
    assert_eq!(json(&response), serde_json::json!({"keys": []}));
    assert!(!response.body().contains(&env["JWT_SIGNING_KEY"]));
}

#[tokio::test]
async fn well_known_refuses_other_methods_and_paths() {
    let well_known = WellKnownEndpoint::from_env(&env()).unwrap();
    let post = well_known
        .handle(
            http::Request::post("/.well-known/jwks.json")
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET");
    let missing = get(&well_known, "/.well-known/secrets").await;
    assert_oauth_error(&missing, 404, "not_found");
}

/// The README's key rotation procedure, step by step, with the endpoints a
/// deployment runs: no token is refused at any point until the old key is retired,
/// and every verifier can find every signing key in the JWKS before it is used.
#[tokio::test]
async fn key_rotation_procedure_from_the_readme() {
    let s = service().await;
    let old_env = s.env.clone();
    let old_token = s.access_token("alice").await;
    let bearer = |token: &str| format!("Bearer {token}");

    // (1) Generate a new key. (2) Publish it next to the current one.
    let new_key = keys::generate(SigningAlgorithm::Es256).unwrap();
    let new_settings: HashMap<String, String> = new_key
        .environment()
        .map(|(k, v)| (k.to_owned(), v))
        .into_iter()
        .collect();
    let mut both: serde_json::Map<String, Value> =
        serde_json::from_str(&old_env["JWT_VERIFICATION_KEYS"]).unwrap();
    let new_only: serde_json::Map<String, Value> =
        serde_json::from_str(&new_settings["JWT_VERIFICATION_KEYS"]).unwrap();
    both.extend(new_only.clone());
    let mut publishing = old_env.clone();
    publishing.insert(
        "JWT_VERIFICATION_KEYS".into(),
        Value::Object(both).to_string(),
    );
    let users_me = UsersMeEndpoint::from_env(&publishing, s.store.clone()).unwrap();
    let jwks = json(
        &get(
            &WellKnownEndpoint::from_env(&publishing).unwrap(),
            "/.well-known/jwks.json",
        )
        .await,
    );
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(s.me(Some(&bearer(&old_token))).await.status(), 200);
    assert_eq!(users_me.handle(me_request(&old_token)).await.status(), 200);

    // (4) Sign with the new key; tokens of both keys verify.
    let mut signing_new = publishing.clone();
    signing_new.insert(
        "JWT_SIGNING_KEY".into(),
        new_settings["JWT_SIGNING_KEY"].clone(),
    );
    signing_new.insert(
        "JWT_SIGNING_KEY_ID".into(),
        new_settings["JWT_SIGNING_KEY_ID"].clone(),
    );
    let token_endpoint = TokenEndpoint::from_env(&signing_new, s.store.clone()).unwrap();
    let login = token_endpoint
        .handle(form_post(
            "grant_type=password&client_id=web-app&username=alice&password=correct+horse+battery",
        ))
        .await;
    let new_token = json(&login)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        jsonwebtoken::decode_header(&new_token).unwrap().kid,
        Some(new_key.key_id.clone())
    );
    assert_eq!(users_me.handle(me_request(&old_token)).await.status(), 200);
    assert_eq!(users_me.handle(me_request(&new_token)).await.status(), 200);

    // (5) Retire the old key: its tokens stop, the new ones carry on.
    let mut retired = signing_new.clone();
    retired.insert(
        "JWT_VERIFICATION_KEYS".into(),
        Value::Object(new_only).to_string(),
    );
    let users_me = UsersMeEndpoint::from_env(&retired, s.store.clone()).unwrap();
    assert_oauth_error(
        &users_me.handle(me_request(&old_token)).await,
        401,
        "invalid_token",
    );
    assert_eq!(users_me.handle(me_request(&new_token)).await.status(), 200);
}

fn me_request(token: &str) -> http::Request<Bytes> {
    http::Request::get("/users/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Bytes::new())
        .unwrap()
}

// ---- grant_type=refresh_token ---------------------------------------------------

impl Service {
    /// Logs alice in; returns the token response.
    async fn login_alice(&self, extra: &str) -> Value {
        let response = self
            .login(&format!(
                "grant_type=password&client_id=web-app&username=alice&password=correct+horse+battery{extra}"
            ))
            .await;
        assert_eq!(response.status(), 200, "{}", response.body());
        json(&response)
    }

    async fn refresh(&self, refresh_token: &str, extra: &str) -> HttpResponse {
        self.login(&format!(
            "grant_type=refresh_token&client_id=web-app&refresh_token={refresh_token}{extra}"
        ))
        .await
    }
}

fn refresh_token_of(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn rfc6749_6_refresh_returns_new_tokens_and_retires_the_old_one() {
    let s = service().await;
    let login = s.login_alice("").await;
    let first = refresh_token_of(&login);
    let response = s.refresh(&first, "").await;
    assert_eq!(response.status(), 200, "{}", response.body());
    assert_eq!(response.headers()["cache-control"], "no-store");
    let refreshed = json(&response);
    let second = refresh_token_of(&refreshed);
    assert_ne!(second, first, "rotation: a new refresh token every time");
    assert_ne!(refreshed["access_token"], login["access_token"]);
    let me = s
        .me(Some(&format!(
            "Bearer {}",
            refreshed["access_token"].as_str().unwrap()
        )))
        .await;
    assert_eq!(me.status(), 200);
    // Many refreshes in a row, each with the latest token.
    let mut latest = second;
    for _ in 0..5 {
        let next = s.refresh(&latest, "").await;
        assert_eq!(next.status(), 200, "{}", next.body());
        latest = refresh_token_of(&json(&next));
    }
}

#[tokio::test]
async fn rfc9700_4_14_2_a_replayed_refresh_token_revokes_its_whole_family() {
    let s = service().await;
    let stolen = refresh_token_of(&s.login_alice("").await);
    let legitimate = refresh_token_of(&json(&s.refresh(&stolen, "").await));
    // The attacker replays the token the client already used.
    let replay = s.refresh(&stolen, "").await;
    assert_oauth_error(&replay, 400, "invalid_grant");
    // Everything descended from that login is dead, including the newest token.
    assert_oauth_error(&s.refresh(&legitimate, "").await, 400, "invalid_grant");
    // Another login (another family) is unaffected.
    let other = refresh_token_of(&s.login_alice("").await);
    assert_eq!(s.refresh(&other, "").await.status(), 200);
}

#[tokio::test]
async fn refresh_may_narrow_but_never_widen_the_scope() {
    let s = service().await;
    s.add_user("erin", PASSWORD, &["read", "write"]).await;
    let login = json(
        &s.login(
            "grant_type=password&client_id=web-app&username=erin&password=correct+horse+battery&scope=read+write",
        )
        .await,
    );
    let token = refresh_token_of(&login);
    let narrowed = s.refresh(&token, "&scope=read").await;
    assert_eq!(narrowed.status(), 200);
    assert_eq!(json(&narrowed)["scope"], "read");
    // The family keeps the original scope: the next refresh can ask for it again.
    let next = refresh_token_of(&json(&narrowed));
    let full = s.refresh(&next, "").await;
    assert_eq!(json(&full)["scope"], "read write");
    let wider = s
        .refresh(&refresh_token_of(&json(&full)), "&scope=read+admin")
        .await;
    assert_oauth_error(&wider, 400, "invalid_scope");
}

#[tokio::test]
async fn refresh_fails_for_disabled_or_deleted_users() {
    let s = service().await;
    let token = refresh_token_of(&s.login_alice("").await);
    s.store.set_disabled("alice", true).await.unwrap();
    assert_oauth_error(&s.refresh(&token, "").await, 400, "invalid_grant");
    s.store.set_disabled("alice", false).await.unwrap();
    // Disabling ended the family for good: re-enabled, the user signs in again.
    assert_oauth_error(&s.refresh(&token, "").await, 400, "invalid_grant");
    let token = refresh_token_of(&s.login_alice("").await);
    s.store.delete_user("alice").await.unwrap();
    s.add_user("alice", PASSWORD, &[]).await;
    assert_oauth_error(&s.refresh(&token, "").await, 400, "invalid_grant");
}

#[tokio::test]
async fn unknown_malformed_expired_and_foreign_refresh_tokens_are_refused() {
    let s = service().await;
    let missing = s.login("grant_type=refresh_token").await;
    assert_oauth_error(&missing, 400, "invalid_request");
    for bad in ["abc", &"A".repeat(43), "%FF"] {
        let response = s.refresh(bad, "").await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    // Issued to one client: presented by another it is refused; anonymously, the
    // client itself is refused.
    let token = refresh_token_of(&s.login_alice("").await);
    let by_other_client = s
        .login(&format!(
            "grant_type=refresh_token&client_id=mobile-app&refresh_token={token}"
        ))
        .await;
    assert_oauth_error(&by_other_client, 400, "invalid_grant");
    let anonymous = s
        .login(&format!("grant_type=refresh_token&refresh_token={token}"))
        .await;
    assert_oauth_error(&anonymous, 401, "invalid_client");
    assert_eq!(s.refresh(&token, "").await.status(), 200);
    // An idle-expired token, stored as the store would have it.
    let user = s.store.get_user("alice").await.unwrap().unwrap();
    let expired = crate::refresh::NewRefreshToken::generate();
    let lifetimes = crate::refresh::RefreshLifetimes {
        idle_seconds: 60,
        absolute_seconds: 600,
    };
    let record = crate::refresh::first_of_family(
        &expired,
        &user.user_id,
        "alice",
        Some("web-app"),
        "",
        crate::now_unix() - 61,
        lifetimes,
    );
    s.store.start_family(&record).await.unwrap();
    use secrecy::ExposeSecret;
    let response = s.refresh(expired.token.expose_secret(), "").await;
    assert_oauth_error(&response, 400, "invalid_grant");
    assert_eq!(
        json(&response)["error_description"],
        "the refresh token is invalid, expired or revoked"
    );
    // Unknown, used and revoked tokens get the very same answer as an expired one.
    let used = refresh_token_of(&s.login_alice("").await);
    s.refresh(&used, "").await;
    let revoked = refresh_token_of(&s.login_alice("").await);
    revoke(&s, &format!("token={revoked}")).await;
    for other in ["x".repeat(43), used, revoked] {
        let answer = s.refresh(&other, "").await;
        assert_eq!(answer.status(), response.status());
        assert_eq!(answer.body(), response.body());
    }
}

// ---- POST /revoke ---------------------------------------------------------------

/// Revokes as the public client `web-app`, which every test login uses.
async fn revoke(s: &Service, body: &str) -> HttpResponse {
    revoke_as(s, None, &format!("{body}&client_id=web-app")).await
}

async fn revoke_as(s: &Service, authorization: Option<&str>, body: &str) -> HttpResponse {
    let endpoint = super::revoke::RevokeEndpoint::new(s.store.clone(), s.token.passwords().clone());
    let mut request =
        http::Request::post("/revoke").header("content-type", "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    endpoint
        .handle(request.body(Bytes::from(body.to_owned())).unwrap())
        .await
}

#[tokio::test]
async fn rfc7009_revoking_a_refresh_token_ends_its_family() {
    let s = service().await;
    let first = refresh_token_of(&s.login_alice("").await);
    let second = refresh_token_of(&json(&s.refresh(&first, "").await));
    let response = revoke(&s, &format!("token={first}&token_type_hint=refresh_token")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    // The already-rotated token named the family: its living successor is dead too.
    assert_oauth_error(&s.refresh(&second, "").await, 400, "invalid_grant");
    // Revoking again, or a token nobody knows, looks exactly the same.
    let again = revoke(&s, &format!("token={first}")).await;
    let unknown = revoke(&s, &format!("token={}", "x".repeat(43))).await;
    for other in [&again, &unknown] {
        assert_eq!(other.status(), 200);
        assert_eq!(other.body(), response.body());
    }
}

#[tokio::test]
async fn rfc7009_errors() {
    let s = service().await;
    assert_oauth_error(
        &revoke(&s, "token_type_hint=refresh_token").await,
        400,
        "invalid_request",
    );
    let access = s.access_token("alice").await;
    let response = revoke(&s, &format!("token={access}&token_type_hint=access_token")).await;
    assert_oauth_error(&response, 400, "unsupported_token_type");
    let endpoint = super::revoke::RevokeEndpoint::new(s.store.clone(), s.token.passwords().clone());
    let get = endpoint
        .handle(http::Request::get("/revoke").body(Bytes::new()).unwrap())
        .await;
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
}

#[tokio::test]
async fn the_token_function_routes_by_path() {
    let s = service().await;
    let function = super::token_function(&s.env, s.store.clone()).unwrap();
    let post = |path: &str, body: &str| {
        http::Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Bytes::from(body.to_owned()))
            .unwrap()
    };
    let login = function
        .handle(post(
            "/prod/token",
            "grant_type=password&client_id=web-app&username=alice&password=correct+horse+battery",
        ))
        .await;
    assert_eq!(login.status(), 200);
    let revoked = function
        .handle(post(
            "/lambda-url/token/revoke/",
            &format!(
                "client_id=web-app&token={}",
                refresh_token_of(&json(&login))
            ),
        ))
        .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(revoked.body(), "{}");
    let refresh_token = refresh_token_of(&json(&login));
    let after = function
        .handle(post(
            "/token",
            &format!("grant_type=refresh_token&client_id=web-app&refresh_token={refresh_token}"),
        ))
        .await;
    assert_oauth_error(&after, 400, "invalid_grant");
    // Any other path is the token endpoint (function URL or `cargo lambda watch` root).
    let root = function.handle(post("/", "grant_type=implicit")).await;
    assert_oauth_error(&root, 400, "unsupported_grant_type");
}

// ---- Clients (RFC 6749 §2, §4.4) -------------------------------------------------

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

impl Service {
    async fn token_with_basic(&self, authorization: &str, body: &str) -> HttpResponse {
        let request = http::Request::post("/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", authorization)
            .body(Bytes::from(body.to_owned()))
            .unwrap();
        self.token.handle(request).await
    }
}

fn claims_of(body: &Value) -> Value {
    jsonwebtoken::dangerous::insecure_decode::<Value>(body["access_token"].as_str().unwrap())
        .unwrap()
        .claims
}

#[tokio::test]
async fn rfc6749_4_4_client_credentials_with_basic_or_post_authentication() {
    let s = service().await;
    let with_basic = s
        .token_with_basic(
            &basic("backend", BACKEND_SECRET),
            "grant_type=client_credentials",
        )
        .await;
    assert_eq!(with_basic.status(), 200, "{}", with_basic.body());
    let with_post = s
        .login(&format!(
            "grant_type=client_credentials&client_id=backend&client_secret={BACKEND_SECRET}&scope=reports"
        ))
        .await;
    assert_eq!(with_post.status(), 200, "{}", with_post.body());
    assert_eq!(json(&with_post)["scope"], "reports");

    let body = json(&with_basic);
    assert!(
        body.get("refresh_token").is_none(),
        "§4.4.3: no refresh token"
    );
    assert_eq!(body["scope"], "read reports");
    let claims = claims_of(&body);
    assert_eq!(claims["sub"], "backend", "the client is the subject");
    assert_eq!(claims["client_id"], "backend");
    assert!(claims.get("username").is_none());
    // A machine token is not a user: /users/me refuses it.
    let me = s
        .me(Some(&format!(
            "Bearer {}",
            body["access_token"].as_str().unwrap()
        )))
        .await;
    assert_oauth_error(&me, 401, "invalid_token");

    let too_wide = s
        .token_with_basic(
            &basic("backend", BACKEND_SECRET),
            "grant_type=client_credentials&scope=reports+admin",
        )
        .await;
    assert_oauth_error(&too_wide, 400, "invalid_scope");
}

#[tokio::test]
async fn rfc6749_5_2_every_failed_client_authentication_is_one_401_with_a_basic_challenge() {
    let s = service().await;
    s.add_client(
        "retired",
        Some(BACKEND_SECRET),
        &[GrantType::ClientCredentials],
        &[],
    )
    .await;
    s.store
        .set_client_disabled(&ClientId::parse("retired").unwrap(), true)
        .await
        .unwrap();
    let cc = "grant_type=client_credentials";
    let refusals = [
        s.token_with_basic(&basic("backend", "wrong"), cc).await,
        s.login(&format!("{cc}&client_id=backend&client_secret=wrong"))
            .await,
        s.login(&format!("{cc}&client_id=backend")).await,
        s.token_with_basic(&basic("nobody", BACKEND_SECRET), cc)
            .await,
        s.token_with_basic(&basic("retired", BACKEND_SECRET), cc)
            .await,
        s.token_with_basic(&basic("web-app", "a-secret"), cc).await,
        s.login(&format!("{cc}&client_id=nobody")).await,
        s.login(&format!("{cc}&client_id=%0A")).await,
        s.login(cc).await,
        s.token_with_basic("Basic not-base64!", cc).await,
    ];
    let first = &refusals[0];
    assert_oauth_error(first, 401, "invalid_client");
    assert_eq!(
        first.headers()["www-authenticate"],
        "Basic realm=\"oauth2-clients\", charset=\"UTF-8\""
    );
    for (i, other) in refusals.iter().enumerate() {
        assert_eq!(other.status(), 401, "case {i}: {}", other.body());
        assert_eq!(other.body(), first.body(), "case {i}");
        assert_eq!(other.headers(), first.headers(), "case {i}");
    }
    // An unknown client's secret costs the same bcrypt work as a known one's.
    let before = s.token.passwords().verifications();
    s.token_with_basic(&basic("nobody", "x"), cc).await;
    s.token_with_basic(&basic("backend", "x"), cc).await;
    assert_eq!(s.token.passwords().verifications(), before + 2);
}

#[tokio::test]
async fn rfc6749_5_2_a_grant_the_client_is_not_allowed_is_unauthorized_client() {
    let s = service().await;
    let public_cc = s
        .login("grant_type=client_credentials&client_id=web-app")
        .await;
    assert_oauth_error(&public_cc, 400, "unauthorized_client");
    let machine_password = s
        .token_with_basic(
            &basic("backend", BACKEND_SECRET),
            "grant_type=password&username=alice&password=correct+horse+battery",
        )
        .await;
    assert_oauth_error(&machine_password, 400, "unauthorized_client");
    // §4.4: client credentials are for confidential clients only, even if a
    // hand-edited record lists the grant for a public one.
    s.add_client("misconfigured", None, &[GrantType::ClientCredentials], &[])
        .await;
    let public_cc = s
        .login("grant_type=client_credentials&client_id=misconfigured")
        .await;
    assert_oauth_error(&public_cc, 400, "unauthorized_client");
}

#[tokio::test]
async fn rfc6749_3_3_user_tokens_carry_only_scopes_both_user_and_client_have() {
    let s = service().await;
    s.add_user("fay", PASSWORD, &["read", "write", "admin"])
        .await;
    let base = "grant_type=password&client_id=web-app&username=fay&password=correct+horse+battery";
    let default = s.login(base).await;
    assert_eq!(
        json(&default)["scope"],
        "read write",
        "no admin via web-app"
    );
    let admin = s.login(&format!("{base}&scope=admin")).await;
    assert_oauth_error(&admin, 400, "invalid_scope");
    // The same user through a client allowed admin gets it.
    s.add_client("admin-console", None, &[GrantType::Password], &["admin"])
        .await;
    let console = s
        .login("grant_type=password&client_id=admin-console&username=fay&password=correct+horse+battery")
        .await;
    assert_eq!(json(&console)["scope"], "admin");
}

#[tokio::test]
async fn clients_without_the_refresh_grant_get_no_refresh_token() {
    let s = service().await;
    s.add_client("kiosk", None, &[GrantType::Password], &[])
        .await;
    let response = s
        .login("grant_type=password&client_id=kiosk&username=alice&password=correct+horse+battery")
        .await;
    assert_eq!(response.status(), 200, "{}", response.body());
    assert!(json(&response).get("refresh_token").is_none());
}

#[tokio::test]
async fn a_disabled_client_can_no_longer_refresh() {
    let s = service().await;
    let token = refresh_token_of(&s.login_alice("").await);
    s.store
        .set_client_disabled(&ClientId::parse("web-app").unwrap(), true)
        .await
        .unwrap();
    assert_oauth_error(&s.refresh(&token, "").await, 401, "invalid_client");
    s.store
        .set_client_disabled(&ClientId::parse("web-app").unwrap(), false)
        .await
        .unwrap();
    assert_eq!(s.refresh(&token, "").await.status(), 200);
}

#[tokio::test]
async fn rfc7009_2_1_revocation_authenticates_the_client_and_revokes_only_its_own_tokens() {
    let s = service().await;
    let token = refresh_token_of(&s.login_alice("").await);
    let anonymous = revoke_as(&s, None, &format!("token={token}")).await;
    assert_oauth_error(&anonymous, 401, "invalid_client");
    // §2.1: the client is authenticated before the token is even looked at.
    let no_token_bad_client = revoke_as(&s, Some(&basic("backend", "wrong")), "").await;
    assert_oauth_error(&no_token_bad_client, 401, "invalid_client");
    let wrong_secret = revoke_as(
        &s,
        Some(&basic("backend", "wrong")),
        &format!("token={token}"),
    )
    .await;
    assert_oauth_error(&wrong_secret, 401, "invalid_client");
    let other_client = revoke_as(&s, None, &format!("token={token}&client_id=mobile-app")).await;
    assert_oauth_error(&other_client, 400, "unauthorized_client");
    // None of those revoked anything.
    let token = refresh_token_of(&json(&s.refresh(&token, "").await));
    // A confidential client authenticates with Basic; unknown tokens are 200.
    let unknown = revoke_as(
        &s,
        Some(&basic("backend", BACKEND_SECRET)),
        &format!("token={}", "y".repeat(43)),
    )
    .await;
    assert_eq!(unknown.status(), 200);
    // The owner revokes it.
    assert_eq!(revoke(&s, &format!("token={token}")).await.status(), 200);
    assert_oauth_error(&s.refresh(&token, "").await, 400, "invalid_grant");
}

// ---- Failed-login throttling (OWASP ASVS V2.2.1, RFC 9700 §2.4) ------------------

fn wrong_login(name: &str) -> String {
    format!("grant_type=password&client_id=web-app&username={name}&password=wrong-guess")
}

fn right_login(name: &str) -> String {
    format!("grant_type=password&client_id=web-app&username={name}&password=correct+horse+battery")
}

#[tokio::test]
async fn owasp_v2_2_1_five_failures_lock_the_name_and_the_lock_costs_no_bcrypt() {
    let s = service().await;
    for _ in 0..4 {
        assert_oauth_error(&s.login(&wrong_login("alice")).await, 400, "invalid_grant");
    }
    // Not locked yet: the right password still works, and resets the count.
    assert_eq!(s.login(&right_login("alice")).await.status(), 200);
    for _ in 0..4 {
        s.login(&wrong_login("alice")).await;
    }
    assert_eq!(
        s.login(&right_login("alice")).await.status(),
        200,
        "reset by success"
    );
    for _ in 0..5 {
        s.login(&wrong_login("alice")).await;
    }
    let before = s.token.passwords().verifications();
    let locked = s.login(&right_login("alice")).await;
    assert_oauth_error(&locked, 400, "invalid_grant");
    assert!(
        json(&locked)["error_description"]
            .as_str()
            .unwrap()
            .contains("retry later")
    );
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    assert_eq!(
        s.token.passwords().verifications(),
        before,
        "no bcrypt work during a lock"
    );
}

#[tokio::test]
async fn unknown_names_are_throttled_exactly_like_known_ones() {
    let s = service().await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..6 {
        known.push(s.login(&wrong_login("alice")).await);
        unknown.push(s.login(&wrong_login("nobody-here")).await);
    }
    for (k, u) in known.iter().zip(&unknown) {
        assert_eq!(k.status(), u.status());
        assert_eq!(k.body(), u.body());
        // Same headers; Retry-After's value may tick between the two requests.
        let names = |r: &HttpResponse| r.headers().keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(k), names(u));
    }
    assert!(
        known[5].headers().contains_key("retry-after"),
        "the sixth is locked"
    );
    // The name's case does not escape the lock.
    assert!(
        s.login(&wrong_login("ALICE"))
            .await
            .headers()
            .contains_key("retry-after")
    );
}

/// A burst of parallel guesses cannot outrun the count: attempts are counted and the
/// lock claimed before bcrypt, so only the first four and the one that claims the
/// lock reach a password check.
#[tokio::test]
async fn a_burst_of_parallel_guesses_gets_no_more_than_the_threshold_of_bcrypt_checks() {
    let s = Arc::new(service().await);
    let before = s.token.passwords().verifications();
    let guesses: Vec<_> = (0..50)
        .map(|_| {
            let s = Arc::clone(&s);
            tokio::spawn(async move { s.login(&wrong_login("alice")).await.status() })
        })
        .collect();
    for guess in guesses {
        assert_eq!(guess.await.unwrap(), 400);
    }
    let checked = s.token.passwords().verifications() - before;
    assert_eq!(
        checked, 5,
        "four below the threshold and the lock's claimant"
    );
}

#[tokio::test]
async fn each_failure_after_the_threshold_doubles_the_lock() {
    use crate::store::LoginAttemptStore;
    let s = service().await;
    let key = crate::throttle::throttle_key("alice");
    for _ in 0..5 {
        s.login(&wrong_login("alice")).await;
    }
    let first = s.store.login_attempts(&key, 0).await.unwrap();
    assert_eq!(first.attempts, 5);
    // Wait out the one-second lock (rounded up to the next whole second), then fail
    // once more: two seconds.
    while s.store.login_attempts(&key, 0).await.unwrap().locked_until > crate::now_unix() {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let sixth = s.login(&wrong_login("alice")).await;
    assert!(
        !sixth.headers().contains_key("retry-after"),
        "counted, not refused"
    );
    let after = s.store.login_attempts(&key, 0).await.unwrap();
    assert_eq!(after.attempts, 6);
    let lock = after.locked_until - crate::now_unix();
    assert!((2..=3).contains(&lock), "a two-second lock, {lock} s left");
}

// ---- Hash upgrades on login ----------------------------------------------------------

/// A hash of PASSWORD made elsewhere: `prefix` (`$2a$`, `$2b$`, `$2y$`) at `cost`.
fn foreign_hash(prefix: &str, cost: u32) -> crate::passwords::PasswordHash {
    let made = bcrypt::hash(PASSWORD, cost).unwrap();
    crate::passwords::PasswordHash::parse(format!("{prefix}{}", &made[4..])).unwrap()
}

async fn user_with_hash(s: &Service, name: &str, hash: crate::passwords::PasswordHash) {
    let user = UserRecord::new(Username::parse(name).unwrap(), hash);
    s.store.create_user(&user).await.unwrap();
}

#[tokio::test]
async fn lower_cost_hashes_are_upgraded_at_login_with_one_extra_hash() {
    // The service runs at cost 4 (BCRYPT_COST in env()); raise it to 5 for this test.
    let mut env = env();
    env.insert("BCRYPT_COST".into(), "5".into());
    let store = Arc::new(MemoryStore::new());
    let token = TokenEndpoint::from_env(&env, store.clone()).unwrap();
    store
        .create_client(&ClientRecord {
            client_id: ClientId::parse("web-app").unwrap(),
            secret_hash: None,
            grant_types: vec![GrantType::Password],
            scopes: Vec::new(),
            disabled: false,
            created_at: 0,
            redirect_uris: Vec::new(),
            first_party: false,
            post_logout_redirect_uris: Vec::new(),
        })
        .await
        .unwrap();
    let old = foreign_hash("$2b$", 4);
    store
        .create_user(&UserRecord::new(
            Username::parse("gil").unwrap(),
            old.clone(),
        ))
        .await
        .unwrap();
    let hashes_before = token.passwords().hashes();
    let login = token.handle(form_post(&right_login("gil"))).await;
    assert_eq!(login.status(), 200, "{}", login.body());
    assert_eq!(
        token.passwords().hashes(),
        hashes_before + 1,
        "exactly one extra hash"
    );
    let stored = store.get_user("gil").await.unwrap().unwrap().password_hash;
    assert_eq!(stored.cost(), 5);
    assert!(stored.as_str().starts_with("$2b$05$"));
    // The new hash verifies the same password; the next login costs no extra hash.
    let again = token.handle(form_post(&right_login("gil"))).await;
    assert_eq!(again.status(), 200);
    assert_eq!(token.passwords().hashes(), hashes_before + 1);
}

#[tokio::test]
async fn foreign_2a_and_2y_hashes_are_rewritten_as_2b() {
    let s = service().await;
    user_with_hash(&s, "hal", foreign_hash("$2y$", 4)).await;
    user_with_hash(&s, "ivy", foreign_hash("$2a$", 4)).await;
    for name in ["hal", "ivy"] {
        assert_eq!(s.login(&right_login(name)).await.status(), 200);
        let stored = s.store.get_user(name).await.unwrap().unwrap().password_hash;
        assert!(stored.as_str().starts_with("$2b$04$"), "{name}");
    }
    // A failed login never rehashes.
    user_with_hash(&s, "jo", foreign_hash("$2y$", 4)).await;
    let before = s.token.passwords().hashes();
    s.login(&wrong_login("jo")).await;
    assert_eq!(s.token.passwords().hashes(), before);
}

// ---- Audit events ----------------------------------------------------------------------

fn from_origin(body: &str) -> http::Request<Bytes> {
    let mut request = form_post(body);
    request
        .extensions_mut()
        .insert(crate::audit::RequestOrigin {
            source_ip: Some("198.51.100.7".into()),
            user_agent: None,
            request_id: Some("req-42".into()),
        });
    request
        .headers_mut()
        .insert("user-agent", "test-agent/1.0".parse().unwrap());
    request
}

#[tokio::test]
async fn security_events_are_audited_with_who_where_and_outcome_and_no_secrets() {
    let (lines, _guard) = crate::audit::capture::start();
    let s = service().await;
    let alice = s.store.get_user("alice").await.unwrap().unwrap();

    let login = s.token.handle(from_origin(&right_login("alice"))).await;
    let refresh_token = refresh_token_of(&json(&login));
    s.token.handle(from_origin(&wrong_login("alice"))).await;
    s.token
        .handle(from_origin(&wrong_login("a name with spaces")))
        .await;
    for _ in 0..4 {
        s.token.handle(from_origin(&wrong_login("alice"))).await;
    }
    s.token.handle(from_origin(&right_login("alice"))).await;
    let rotated = s
        .token
        .handle(from_origin(&format!(
            "grant_type=refresh_token&client_id=web-app&refresh_token={refresh_token}"
        )))
        .await;
    assert_eq!(rotated.status(), 200);
    s.token
        .handle(from_origin(&format!(
            "grant_type=refresh_token&client_id=web-app&refresh_token={refresh_token}"
        )))
        .await;
    let endpoint = super::revoke::RevokeEndpoint::new(s.store.clone(), s.token.passwords().clone());
    let mut revoke_request = from_origin(&format!(
        "client_id=web-app&token={}",
        refresh_token_of(&json(&rotated))
    ));
    *revoke_request.uri_mut() = "/revoke".parse().unwrap();
    endpoint.handle(revoke_request).await;

    let events = lines.audit();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["fields"]["audit_event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "login_success",
            "login_failure",
            "login_failure",
            "login_failure",
            "login_failure",
            "login_failure",
            "login_failure",
            "account_locked",
            "login_failure",
            "refresh_reuse_detected",
            "token_revoked",
        ]
    );
    let success = &events[0]["fields"];
    assert_eq!(success["outcome"], "success");
    assert_eq!(success["user_id"], alice.user_id.as_str());
    assert_eq!(success["username"], "alice");
    assert_eq!(success["client_id"], "web-app");
    assert_eq!(success["source_ip"], "198.51.100.7");
    assert_eq!(success["user_agent"], "test-agent/1.0");
    assert_eq!(success["request_id"], "req-42");
    let failure = &events[1]["fields"];
    assert_eq!(failure["outcome"], "invalid_grant");
    assert_eq!(failure["user_id"], alice.user_id.as_str());
    // A name that is not a valid username may be a mistyped password: not logged.
    let odd_name = &events[2]["fields"];
    assert!(odd_name.get("username").is_none() && odd_name.get("user_id").is_none());
    assert_eq!(events[8]["fields"]["outcome"], "locked");
    assert!(
        events[7]["fields"]["outcome"]
            .as_str()
            .unwrap()
            .starts_with("locked for 1 s")
    );
    assert_eq!(events[10]["fields"]["user_id"], alice.user_id.as_str());

    let raw = lines.raw();
    for secret in [
        "correct horse",
        "correct+horse",
        "wrong-guess",
        refresh_token.as_str(),
        alice.password_hash.as_str(),
        "$2b$",
    ] {
        assert!(!raw.contains(secret), "the log contains {secret:?}");
    }
}

// ---- Self-service accounts ------------------------------------------------------------

fn json_post(path: &str, body: &str) -> http::Request<Bytes> {
    http::Request::post(path)
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

impl Service {
    /// The account function with both self-service switches as given.
    fn accounts(&self, registration: bool, password_change: bool) -> super::EndpointsByPath {
        let mut env = self.env.clone();
        env.insert("SELF_SERVICE_REGISTRATION".into(), registration.to_string());
        env.insert(
            "SELF_SERVICE_PASSWORD_CHANGE".into(),
            password_change.to_string(),
        );
        super::account::account_function(&env, self.store.clone()).unwrap()
    }
}

#[tokio::test]
async fn self_service_is_off_by_default() {
    let s = service().await;
    let accounts = super::account::account_function(&s.env, s.store.clone()).unwrap();
    let register = accounts
        .handle(json_post(
            "/users",
            r#"{"username":"kim","password":"a fine long passphrase"}"#,
        ))
        .await;
    assert_oauth_error(&register, 404, "not_found");
    let token = s.access_token("alice").await;
    let mut change = json_post(
        "/users/me/password",
        r#"{"current_password":"correct horse battery","new_password":"another fine passphrase"}"#,
    );
    change
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    assert_oauth_error(&accounts.handle(change).await, 404, "not_found");
    assert!(s.store.get_user("kim").await.unwrap().is_none());
}

#[tokio::test]
async fn registration_creates_a_user_who_can_log_in() {
    let (lines, _guard) = crate::audit::capture::start();
    let s = service().await;
    let accounts = s.accounts(true, false);
    let created = accounts
        .handle(json_post(
            "/users",
            r#"{"username":"Kim.Lee","password":"a fine long passphrase","email":"kim@example.com","full_name":"Kim Lee"}"#,
        ))
        .await;
    assert_eq!(created.status(), 201, "{}", created.body());
    let profile = json(&created);
    assert_eq!(profile["username"], "Kim.Lee");
    assert_eq!(profile["email"], "kim@example.com");
    assert!(profile.get("password_hash").is_none() && !created.body().contains("$2"));
    let login = s
        .login("grant_type=password&client_id=web-app&username=kim.lee&password=a+fine+long+passphrase")
        .await;
    assert_eq!(login.status(), 200);
    let events = lines.audit();
    assert_eq!(events[0]["fields"]["audit_event"], "user_registered");
    assert_eq!(events[0]["fields"]["outcome"], "success");
    assert_eq!(events[0]["fields"]["username"], "kim.lee");
}

#[tokio::test]
async fn registration_refuses_taken_names_bad_input_and_weak_passwords() {
    let s = service().await;
    let accounts = s.accounts(true, false);
    let register = |body: &'static str| accounts.handle(json_post("/users", body));
    let taken = register(r#"{"username":"ALICE","password":"a fine long passphrase"}"#).await;
    assert_oauth_error(&taken, 409, "username_taken");
    let cases = [
        (
            r#"{"username":"has space","password":"a fine long passphrase"}"#,
            "username",
        ),
        (
            r#"{"username":"kim","password":"a fine long passphrase","email":"not-an-email"}"#,
            "email",
        ),
        (
            r#"{"username":"kim","password":"short"}"#,
            "at least 8 characters",
        ),
        (
            r#"{"username":"kim","password":"Password123"}"#,
            "too common",
        ),
        (
            r#"{"username":"kimberly","password":"kimberly-2026!"}"#,
            "must not contain the username",
        ),
        (
            r#"{"username":"kim","password":"a fine long passphrase","admin":true}"#,
            "documented fields",
        ),
        (r#"{"username":"kim"}"#, "documented fields"),
        (r#"["kim","a fine long passphrase"]"#, "documented fields"),
        (
            r#"{"username":"kim","password":"a fine long passphrase","full_name":"a\u0007b"}"#,
            "control",
        ),
    ];
    for (body, mentions) in cases {
        let response = register(body).await;
        assert_eq!(response.status(), 400, "{body}: {}", response.body());
        assert_oauth_error(&response, 400, "invalid_request");
        let description = json(&response)["error_description"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(description.contains(mentions), "{body}: {description}");
        assert!(!description.contains("passphrase") && !description.contains("kimberly-2026"));
    }
    let mut as_form = form_post("username=kim&password=a+fine+long+passphrase");
    *as_form.uri_mut() = "/users".parse().unwrap();
    let as_form = accounts.handle(as_form).await;
    assert_oauth_error(&as_form, 400, "invalid_request");
    let get = accounts
        .handle(http::Request::get("/users").body(Bytes::new()).unwrap())
        .await;
    assert_eq!(get.status(), 405);
    assert!(
        s.store.get_user("kim").await.unwrap().is_none(),
        "nothing was written"
    );
}

fn change_request(token: &str, current: &str, new: &str) -> http::Request<Bytes> {
    let body = serde_json::json!({"current_password": current, "new_password": new}).to_string();
    let mut request = json_post("/prod/users/me/password", &body);
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

#[tokio::test]
async fn a_password_change_revokes_every_refresh_token_of_the_user() {
    let s = service().await;
    let accounts = s.accounts(false, true);
    let first = s.login_alice("").await;
    let other_device = refresh_token_of(&s.login_alice("").await);
    let token = first["access_token"].as_str().unwrap();
    let changed = accounts
        .handle(change_request(token, PASSWORD, "a brand new passphrase"))
        .await;
    assert_eq!(changed.status(), 204, "{}", changed.body());
    // Every family issued before the change is dead, on every device.
    assert_oauth_error(
        &s.refresh(&refresh_token_of(&first), "").await,
        400,
        "invalid_grant",
    );
    assert_oauth_error(&s.refresh(&other_device, "").await, 400, "invalid_grant");
    // The old password is gone; the new one works, and its refresh tokens too.
    assert_oauth_error(&s.login(&right_login("alice")).await, 400, "invalid_grant");
    let fresh = s
        .login(
            "grant_type=password&client_id=web-app&username=alice&password=a+brand+new+passphrase",
        )
        .await;
    assert_eq!(fresh.status(), 200);
    assert_eq!(
        s.refresh(&refresh_token_of(&json(&fresh)), "")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_password_change_needs_the_current_password_a_token_and_a_good_new_one() {
    let s = service().await;
    let accounts = s.accounts(false, true);
    let token = s.access_token("alice").await;
    let wrong = accounts
        .handle(change_request(&token, "not it", "a brand new passphrase"))
        .await;
    assert_oauth_error(&wrong, 400, "invalid_grant");
    let weak = accounts
        .handle(change_request(&token, PASSWORD, "password1"))
        .await;
    assert_oauth_error(&weak, 400, "invalid_request");
    let mut no_token = change_request(&token, PASSWORD, "a brand new passphrase");
    no_token.headers_mut().remove("authorization");
    let no_token = accounts.handle(no_token).await;
    assert_eq!(no_token.status(), 401);
    assert!(
        no_token.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=")
    );
    // A machine's token is not a user's.
    let machine = s
        .token_with_basic(
            &basic("backend", BACKEND_SECRET),
            "grant_type=client_credentials",
        )
        .await;
    let machine_token = json(&machine)["access_token"].as_str().unwrap().to_owned();
    let refused = accounts
        .handle(change_request(
            &machine_token,
            PASSWORD,
            "a brand new passphrase",
        ))
        .await;
    assert_oauth_error(&refused, 401, "invalid_token");
    // Nothing changed.
    assert_eq!(s.login(&right_login("alice")).await.status(), 200);
}

#[tokio::test]
async fn wrong_current_passwords_count_towards_the_login_lock() {
    let s = service().await;
    let accounts = s.accounts(false, true);
    let token = s.access_token("alice").await;
    for _ in 0..5 {
        accounts
            .handle(change_request(&token, "a guess", "a brand new passphrase"))
            .await;
    }
    let locked = accounts
        .handle(change_request(&token, PASSWORD, "a brand new passphrase"))
        .await;
    assert_oauth_error(&locked, 400, "invalid_grant");
    assert!(locked.headers().contains_key("retry-after"));
    // The same lock holds at the token endpoint.
    assert!(
        s.login(&right_login("alice"))
            .await
            .headers()
            .contains_key("retry-after")
    );
}

// ---- Hostile tokens at /users/me (RFC 8725) ---------------------------------------------

/// Thirty-odd forged, malformed or misused tokens, each sent as a bearer token to
/// `/users/me`: every one is a 401 `invalid_token` with its challenge, never a 200,
/// a 500 or a hint of why beyond the description.
#[tokio::test]
async fn rfc8725_hostile_tokens_are_all_401_invalid_token() {
    use base64::Engine;
    use jsonwebtoken::{Algorithm, EncodingKey};
    use secrecy::ExposeSecret;
    let s = service().await;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let json_b64 = |value: &Value| b64(value.to_string().as_bytes());
    let kid = s.env["JWT_SIGNING_KEY_ID"].clone();
    let our_key = EncodingKey::from_ec_pem(s.env["JWT_SIGNING_KEY"].as_bytes()).unwrap();
    let other = keys::generate(SigningAlgorithm::Es256).unwrap();
    let other_key = EncodingKey::from_ec_pem(other.signing_key.expose_secret().as_bytes()).unwrap();
    let public_pem = {
        let keys: Value = serde_json::from_str(&s.env["JWT_VERIFICATION_KEYS"]).unwrap();
        keys[&kid].as_str().unwrap().to_owned()
    };
    let user = s.store.get_user("alice").await.unwrap().unwrap();
    let now = crate::now_unix();
    let claims = |overrides: Value| {
        let mut base = serde_json::json!({
            "iss": ISSUER, "sub": user.user_id, "aud": AUDIENCE, "exp": now + 600,
            "iat": now, "jti": "j1", "client_id": "web-app", "username": "alice"
        });
        for (k, v) in overrides.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base
    };
    let header = |overrides: Value| {
        let mut base = serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": kid});
        for (k, v) in overrides.as_object().unwrap() {
            if v.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = v.clone();
            }
        }
        base
    };
    // Signs `header.payload` as given, byte for byte.
    let sign = |header: &str, payload: &str, key: &EncodingKey, alg: Algorithm| {
        let message = format!("{header}.{payload}");
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
        format!("{message}.{signature}")
    };
    let es = |h: Value, c: Value| sign(&json_b64(&h), &json_b64(&c), &our_key, Algorithm::ES256);
    let valid = es(header(serde_json::json!({})), claims(serde_json::json!({})));
    assert_eq!(
        s.me(Some(&format!("Bearer {valid}"))).await.status(),
        200,
        "the control case"
    );
    let parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let unsigned = |alg: &str| {
        format!(
            "{}.{}.",
            json_b64(&header(serde_json::json!({"alg": alg}))),
            parts[1]
        )
    };
    let hmac_with_public_key = |alg: &str, algorithm: Algorithm| {
        sign(
            &json_b64(&header(serde_json::json!({"alg": alg}))),
            &parts[1],
            &EncodingKey::from_secret(public_pem.as_bytes()),
            algorithm,
        )
    };
    let with_header = |h: Value| es(h, claims(serde_json::json!({})));
    let with_claims = |c: Value| es(header(serde_json::json!({})), claims(c));
    let deleted_user = {
        let mut gone = claims(serde_json::json!({"username": "ghost", "sub": "usr_ghost"}));
        gone["jti"] = "j2".into();
        es(header(serde_json::json!({})), gone)
    };
    let refresh_token = refresh_token_of(&s.login_alice("").await);

    let cases: Vec<(&str, String)> = vec![
        ("alg none", unsigned("none")),
        ("alg None", unsigned("None")),
        ("alg NONE", unsigned("NONE")),
        ("alg nOnE", unsigned("nOnE")),
        ("alg none with the real signature", format!("{}.{}.{}", json_b64(&header(serde_json::json!({"alg": "none"}))), parts[1], parts[2])),
        ("HS256 keyed with the public key", hmac_with_public_key("HS256", Algorithm::HS256)),
        ("HS384 keyed with the public key", hmac_with_public_key("HS384", Algorithm::HS384)),
        ("RS256 header on an ES256 signature", format!("{}.{}.{}", json_b64(&header(serde_json::json!({"alg": "RS256"}))), parts[1], parts[2])),
        ("ES384 header", format!("{}.{}.{}", json_b64(&header(serde_json::json!({"alg": "ES384"}))), parts[1], parts[2])),
        ("signed by another key under our kid", sign(&json_b64(&header(serde_json::json!({}))), &parts[1], &other_key, Algorithm::ES256)),
        ("unknown kid", with_header(header(serde_json::json!({"kid": "not-a-key"})))),
        ("no kid", with_header(header(serde_json::json!({"kid": null})))),
        ("kid path traversal", with_header(header(serde_json::json!({"kid": "../../../../etc/passwd"})))),
        ("kid SQL-like", with_header(header(serde_json::json!({"kid": "' OR '1'='1"})))),
        ("kid empty", with_header(header(serde_json::json!({"kid": ""})))),
        ("jku injection", with_header(header(serde_json::json!({"jku": "https://evil.example/jwks.json"})))),
        ("embedded jwk", with_header(header(serde_json::json!({"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}})))),
        ("x5u injection", with_header(header(serde_json::json!({"x5u": "https://evil.example/cert.pem"})))),
        ("x5c chain", with_header(header(serde_json::json!({"x5c": ["MIIB"]})))),
        ("crit header", with_header(header(serde_json::json!({"crit": ["exp"], "exp": 1})))),
        ("typ JWT", with_header(header(serde_json::json!({"typ": "JWT"})))),
        ("no typ", with_header(header(serde_json::json!({"typ": null})))),
        ("expired", with_claims(serde_json::json!({"exp": now - 120}))),
        ("issued in the future", with_claims(serde_json::json!({"iat": now + 3600, "exp": now + 7200}))),
        ("no exp", with_claims(serde_json::json!({"exp": null}))),
        ("wrong iss", with_claims(serde_json::json!({"iss": "https://evil.example"}))),
        ("wrong aud", with_claims(serde_json::json!({"aud": "https://other-api.example"}))),
        ("no aud", with_claims(serde_json::json!({"aud": null}))),
        ("duplicate sub in the payload", sign(
            &json_b64(&header(serde_json::json!({}))),
            &b64(format!(
                r#"{{"iss":"{ISSUER}","sub":"usr_admin","sub":"{}","aud":"{AUDIENCE}","exp":{},"iat":{now},"jti":"j3","username":"alice"}}"#,
                user.user_id,
                now + 600
            ).as_bytes()),
            &our_key,
            Algorithm::ES256,
        )),
        ("payload not JSON", sign(&json_b64(&header(serde_json::json!({}))), &b64(b"hello"), &our_key, Algorithm::ES256)),
        ("header not JSON", format!("{}.{}.{}", b64(b"{not json"), parts[1], parts[2])),
        ("truncated signature", valid[..valid.len() - 6].to_owned()),
        ("signature removed", format!("{}.{}.", parts[0], parts[1])),
        ("two segments", format!("{}.{}", parts[0], parts[1])),
        ("four segments", format!("{valid}.{}", parts[2])),
        ("standard-base64 characters", format!("{}.{}+/.{}", parts[0], parts[1], parts[2])),
        ("oversized", format!("{}.{}.{}", parts[0], "A".repeat(12_000), parts[2])),
        ("a refresh token as bearer", refresh_token),
        ("a deleted user's token", deleted_user),
    ];
    assert!(cases.len() >= 30);
    for (name, token) in cases {
        let response = s.me(Some(&format!("Bearer {token}"))).await;
        assert_eq!(response.status(), 401, "{name}: {}", response.body());
        assert_eq!(json(&response)["error"], "invalid_token", "{name}");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{name}: {challenge}"
        );
    }
}

//! Helpers for the end-to-end tests: the local DynamoDB-compatible server (started by
//! `scripts/test.sh`), per-test tables, configuration with fresh keys, and real API
//! Gateway events.

use std::collections::HashMap;

use base64::Engine;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::clients::{ClientId, ClientRecord, GrantType};
use shared::http::HttpResponse;
use shared::keys::{self, SigningAlgorithm};
use shared::passwords::PasswordHasher;
use shared::routes::Endpoint;
use shared::store::{ClientStore, DynamoDbStore, StoreSettings, UserStore};
use shared::users::{UserRecord, Username};

pub mod fault_proxy;
pub mod runtime_api;

pub const ISSUER: &str = "https://auth.example.test";
pub const AUDIENCE: &str = "https://api.example.test";
pub const PASSWORD: &str = "correct horse battery";

/// The endpoint of the DynamoDB-compatible server. The test command starts one and
/// exports it; a test run without it is a broken set-up, never a skip.
pub fn dynamodb_endpoint() -> String {
    std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "DYNAMODB_ENDPOINT is not set: run the suite with ./scripts/test.sh, which \
             starts a local DynamoDB-compatible server"
        )
    })
}

/// A DynamoDB-compatible server of a test's own: the test command's moto script on a
/// free port, stopped when dropped. For tests heavy enough (thousands of writes) to
/// slow every other test sharing the common one past its timeouts.
pub struct PrivateDynamoDb {
    child: std::process::Child,
    pub endpoint: String,
}

impl PrivateDynamoDb {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// With options of `scripts/dynamodb_server.py`, such as `--item-rollback`.
    pub fn start_with(options: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/dynamodb_server.py");
        let child = std::process::Command::new("python3")
            .args([script, "127.0.0.1", &port.to_string()])
            .args(options)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs (scripts/test.sh puts the .venv with moto first on PATH)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the private DynamoDB-compatible server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        PrivateDynamoDb {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for PrivateDynamoDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A unique table name per test, so tests run in parallel without seeing each other.
pub fn unique_table_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        shared::random_token(6)
            .to_ascii_lowercase()
            .replace(['_', '-'], "x")
    )
}

/// The public client every test login names (`client_id=web-app`).
pub const CLIENT_ID: &str = "web-app";
/// [`CLIENT_ID`]'s one redirect URI, for browser sign-in.
pub const REDIRECT_URI: &str = "https://app.example.test/cb";

/// A fresh table on the local server, with the public, first-party client
/// [`CLIENT_ID`] registered for the authorization code, password and refresh grants.
///
/// The set-up goes through a connection with administration timeouts: with dozens of
/// tests starting at once, the one-request-at-a-time local server can take longer than
/// the functions' one-second attempt timeout, and a retried create would then find its
/// own table. The store returned has the functions' timeouts.
pub async fn fresh_store(prefix: &str) -> DynamoDbStore {
    fresh_store_at(prefix, &dynamodb_endpoint()).await
}

/// [`fresh_store`] on the DynamoDB-compatible server at `endpoint`.
pub async fn fresh_store_at(prefix: &str, endpoint: &str) -> DynamoDbStore {
    let settings = StoreSettings {
        table_name: unique_table_name(prefix),
        endpoint_url: Some(endpoint.to_owned()),
    };
    let setup = DynamoDbStore::connect_for_admin(&settings).await;
    setup.create_table().await.expect("create the test table");
    let client = ClientRecord {
        client_id: ClientId::parse(CLIENT_ID).unwrap(),
        secret_hash: None,
        grant_types: vec![
            GrantType::AuthorizationCode,
            GrantType::Password,
            GrantType::RefreshToken,
        ],
        scopes: vec!["read".into(), "write".into()],
        disabled: false,
        created_at: shared::now_unix(),
        redirect_uris: vec![REDIRECT_URI.to_owned()],
        first_party: true,
        post_logout_redirect_uris: Vec::new(),
    };
    setup
        .create_client(&client)
        .await
        .expect("register the test client");
    DynamoDbStore::connect(&settings).await
}

/// Configuration as a deployment would have it, with a freshly generated key.
pub fn service_env(table: &str) -> HashMap<String, String> {
    let key = keys::generate(SigningAlgorithm::Es256).unwrap();
    let pairs = [
        ("AUTH_ISSUER", ISSUER.to_owned()),
        ("AUTH_AUDIENCE", AUDIENCE.to_owned()),
        ("AUTH_REALM", "example".to_owned()),
        // Cost 10 is the lowest production cost: the real checks, at test speed.
        ("BCRYPT_COST", "10".to_owned()),
        ("TABLE_NAME", table.to_owned()),
        ("DYNAMODB_ENDPOINT", dynamodb_endpoint()),
    ];
    pairs
        .into_iter()
        .chain(key.environment())
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// Adds a user with [`PASSWORD`] at cost 10.
pub async fn add_user(store: &dyn UserStore, name: &str) -> UserRecord {
    let hash = PasswordHasher::new(10)
        .unwrap()
        .hash(SecretString::from(PASSWORD.to_owned()))
        .await
        .unwrap();
    let mut user = UserRecord::new(Username::parse(name).unwrap(), hash);
    user.full_name = Some(format!("{name} Example"));
    user.email = Some(format!("{name}@example.test"));
    match store.create_user(&user).await {
        Ok(()) => {}
        // A create retried after a timed-out attempt (a busy local server) finds itself.
        Err(shared::store::StoreError::AlreadyExists)
            if store
                .get_user(&user.username.key())
                .await
                .ok()
                .flatten()
                .is_some_and(|stored| stored.user_id == user.user_id) => {}
        Err(error) => panic!("add the test user {name}: {error}"),
    }
    user
}

/// The body of a password-grant request for [`PASSWORD`].
pub fn login_body(username: &str) -> String {
    format!(
        "grant_type=password&client_id=web-app&username={username}&password=correct+horse+battery"
    )
}

/// Which API Gateway integration delivered the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventVersion {
    /// REST API, payload format 1.0.
    RestV1,
    /// HTTP API, payload format 2.0.
    HttpV2,
}

/// A request to express as an API Gateway event.
#[derive(Debug, Clone, Default)]
pub struct EventRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Option<&'a [u8]>,
    /// Send the body base64-encoded, as API Gateway does for binary media types.
    pub base64: bool,
}

/// The event JSON API Gateway would send for `request`.
pub fn event(version: EventVersion, request: &EventRequest<'_>) -> Value {
    let body = request.body.map(|b| {
        if request.base64 {
            base64::engine::general_purpose::STANDARD.encode(b)
        } else {
            String::from_utf8(b.to_vec()).expect("a text body must be UTF-8; use base64 otherwise")
        }
    });
    let mut headers: serde_json::Map<String, Value> = request
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    headers.insert(
        "host".into(),
        "abc123.execute-api.eu-west-1.amazonaws.com".into(),
    );
    headers.insert("user-agent".into(), "integration-test/1.0".into());
    headers.insert("x-forwarded-for".into(), "203.0.113.7".into());
    headers.insert("x-forwarded-proto".into(), "https".into());
    match version {
        EventVersion::HttpV2 => {
            let raw_query = request
                .query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            let query: serde_json::Map<String, Value> = request
                .query
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(*v)))
                .collect();
            json!({
                "version": "2.0",
                "routeKey": format!("{} {}", request.method, request.path),
                "rawPath": request.path,
                "rawQueryString": raw_query,
                "headers": headers,
                "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "abc123",
                    "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
                    "domainPrefix": "abc123",
                    "http": {
                        "method": request.method,
                        "path": request.path,
                        "protocol": "HTTP/1.1",
                        "sourceIp": "203.0.113.7",
                        "userAgent": "integration-test/1.0"
                    },
                    "requestId": "JKJaXmPLvHcESHA=",
                    "routeKey": format!("{} {}", request.method, request.path),
                    "stage": "$default",
                    "time": "30/Nov/2026:20:00:00 +0000",
                    "timeEpoch": 1_796_068_800_000_u64
                },
                "body": body,
                "isBase64Encoded": request.base64
            })
        }
        EventVersion::RestV1 => {
            let multi_headers: serde_json::Map<String, Value> = headers
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect();
            let query: serde_json::Map<String, Value> = request
                .query
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(*v)))
                .collect();
            let multi_query: serde_json::Map<String, Value> = request
                .query
                .iter()
                .map(|(k, v)| (k.to_string(), json!([v])))
                .collect();
            json!({
                "resource": request.path,
                "path": request.path,
                "httpMethod": request.method,
                "headers": headers,
                "multiValueHeaders": multi_headers,
                "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
                "multiValueQueryStringParameters": if multi_query.is_empty() { Value::Null } else { Value::Object(multi_query) },
                "pathParameters": null,
                "stageVariables": null,
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "abc123",
                    "resourceId": "r1",
                    "resourcePath": request.path,
                    "httpMethod": request.method,
                    "path": format!("/prod{}", request.path),
                    "protocol": "HTTP/1.1",
                    "stage": "prod",
                    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                    "requestTimeEpoch": 1_796_068_800_000_u64,
                    "identity": {
                        "sourceIp": "203.0.113.7",
                        "userAgent": "integration-test/1.0"
                    }
                },
                "body": body,
                "isBase64Encoded": request.base64
            })
        }
    }
}

/// Delivers an event to an endpoint exactly as the Lambda function does: parsed by
/// `lambda_http`, adapted by `shared::lambda`.
pub async fn invoke(endpoint: &dyn Endpoint, event: &Value) -> HttpResponse {
    let request =
        lambda_http::request::from_str(&event.to_string()).expect("lambda_http parses the event");
    endpoint
        .handle(shared::lambda::to_http_request(request))
        .await
}

pub fn json_body(response: &HttpResponse) -> Value {
    serde_json::from_str(response.body())
        .unwrap_or_else(|_| panic!("not JSON: {}", response.body()))
}

pub fn json_body_str(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

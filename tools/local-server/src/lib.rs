//! The development server: every route of the service in one process, on the
//! in-memory store (or a DynamoDB table), with a signing key generated at start-up.
//! The handlers are the very ones the Lambda functions run; only the host differs.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::any;
use secrecy::SecretString;
use shared::audit::RequestOrigin;
use shared::clients::{ClientId, ClientRecord, GrantType};
use shared::config::ConfigError;
use shared::error::ApiError;
use shared::http::error_response;
use shared::keys::{self, SigningAlgorithm};
use shared::oauth::MAX_BODY_BYTES;
use shared::routes::Endpoint;
use shared::routes::api_docs::ApiDocsEndpoint;
use shared::routes::authorize::AuthorizeEndpoint;
use shared::routes::logout::LogoutEndpoint;
use shared::routes::revoke::RevokeEndpoint;
use shared::routes::token::TokenEndpoint;
use shared::routes::users_me::UsersMeEndpoint;
use shared::routes::well_known::WellKnownEndpoint;
use shared::store::{DynamoDbStore, MemoryStore, Store, StoreError, StoreSettings};
use shared::users::{UserRecord, Username};

/// The public client the local server always registers: first-party, for the
/// authorization code (browser sign-in), password and refresh grants.
pub const PUBLIC_CLIENT_ID: &str = "local-app";

/// `local-app`'s redirect URIs: loopback, so any port matches (RFC 8252 §7.3).
pub const LOOPBACK_REDIRECT_URIS: [&str; 2] =
    ["http://127.0.0.1/callback", "http://localhost/callback"];

/// What the local server is started with.
pub struct LocalOptions {
    /// The public base URL, used as issuer and audience.
    pub base_url: String,
    /// Users to seed, as (username, password).
    pub users: Vec<(String, SecretString)>,
    /// Confidential clients to seed for the client-credentials grant, as (id, secret).
    pub confidential_clients: Vec<(String, SecretString)>,
    /// Scopes every seeded user and client may have.
    pub scopes: Vec<String>,
    /// Redirect URIs for `local-app` besides the loopback ones.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back, for `local-app` and the
    /// consent clients (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// Public clients that are not first-party (they get the consent page), with
    /// `local-app`'s redirect URIs and grants.
    pub consent_clients: Vec<String>,
    pub bcrypt_cost: u32,
    /// Switches on self-service registration and password change.
    pub self_service: bool,
    /// ES256 by default; RS256 to try API Gateway's JWT authorizer, which verifies
    /// RSA signatures only.
    pub algorithm: SigningAlgorithm,
    /// A DynamoDB table instead of the in-memory store, created if missing, on the
    /// local DynamoDB-compatible server at `DYNAMODB_ENDPOINT` (required: never in
    /// AWS). Seeded users and clients that exist already are kept as they are.
    pub table: Option<String>,
}

/// Builds the router with every route, seeding the users. Configuration goes through
/// the same code path as in Lambda, with development mode on.
pub async fn build(options: &LocalOptions) -> Result<Router, String> {
    Ok(router(routes(options).await?))
}

/// Every route (as an axum path pattern) and the endpoint that serves it.
pub async fn routes(
    options: &LocalOptions,
) -> Result<Vec<(&'static str, Arc<dyn Endpoint>)>, String> {
    if shared::oauth::ScopeSet::parse(&options.scopes.join(" ")).is_err() {
        return Err("a scope has a character RFC 6749 §3.3 does not allow".into());
    }
    let key = keys::generate(options.algorithm).map_err(|e| e.to_string())?;
    let env: HashMap<String, String> = [
        ("AUTH_ISSUER", options.base_url.clone()),
        ("AUTH_AUDIENCE", options.base_url.clone()),
        ("AUTH_DEVELOPMENT_MODE", "true".to_owned()),
        ("AUTH_PRODUCT_NAME", "Local development server".to_owned()),
        ("BCRYPT_COST", options.bcrypt_cost.to_string()),
        (
            "SELF_SERVICE_REGISTRATION",
            options.self_service.to_string(),
        ),
        (
            "SELF_SERVICE_PASSWORD_CHANGE",
            options.self_service.to_string(),
        ),
    ]
    .into_iter()
    .chain(key.environment())
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let store = open_store(options.table.as_deref()).await?;
    let describe = |e: ConfigError| e.to_string();
    let token = TokenEndpoint::from_env(&env, Arc::clone(&store)).map_err(describe)?;
    let users_me: Arc<dyn Endpoint> =
        Arc::new(UsersMeEndpoint::from_env(&env, Arc::clone(&store)).map_err(describe)?);
    let authorize: Arc<dyn Endpoint> =
        Arc::new(AuthorizeEndpoint::from_env(&env, Arc::clone(&store)).map_err(describe)?);
    let logout = LogoutEndpoint::from_env(&env, Arc::clone(&store)).map_err(describe)?;
    for (name, password) in &options.users {
        let username = Username::parse(name).map_err(|e| format!("{name}: {e}"))?;
        let hash = token
            .passwords()
            .hash(password.clone())
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        let mut user = UserRecord::new(username, hash);
        user.full_name = Some(format!("{name} (local)"));
        user.scopes = options.scopes.clone();
        match store.create_user(&user).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists) => {
                eprintln!("{name} exists in the table already: its password is unchanged")
            }
            Err(e) => return Err(format!("{name}: {e}")),
        }
    }
    let redirect_uris: Vec<String> = LOOPBACK_REDIRECT_URIS
        .iter()
        .map(|uri| uri.to_string())
        .chain(options.redirect_uris.iter().cloned())
        .collect();
    for uri in &redirect_uris {
        shared::redirect_uri::check_registration(uri, true)
            .map_err(|e| format!("--redirect-uri {uri}: {e}"))?;
    }
    for uri in &options.post_logout_redirect_uris {
        shared::redirect_uri::check_registration(uri, true)
            .map_err(|e| format!("--post-logout-redirect-uri {uri}: {e}"))?;
    }
    let browser_client = |id: &str, first_party: bool| -> Result<ClientRecord, String> {
        Ok(ClientRecord {
            client_id: ClientId::parse(id).map_err(|e| format!("{id}: {e}"))?,
            secret_hash: None,
            grant_types: vec![
                GrantType::AuthorizationCode,
                GrantType::Password,
                GrantType::RefreshToken,
            ],
            // OpenID Connect sign-in works with nothing configured but the client id.
            scopes: shared::oidc::IDENTITY_SCOPES
                .iter()
                .map(|s| s.to_string())
                .chain(options.scopes.iter().cloned())
                .collect(),
            disabled: false,
            created_at: shared::now_unix(),
            redirect_uris: redirect_uris.clone(),
            first_party,
            post_logout_redirect_uris: options.post_logout_redirect_uris.clone(),
        })
    };
    let mut clients = vec![browser_client(PUBLIC_CLIENT_ID, true)?];
    for id in &options.consent_clients {
        clients.push(browser_client(id, false)?);
    }
    for (id, secret) in &options.confidential_clients {
        let client_id = ClientId::parse(id).map_err(|e| format!("{id}: {e}"))?;
        let hash = token
            .passwords()
            .hash(secret.clone())
            .await
            .map_err(|e| format!("{id}: {e}"))?;
        clients.push(ClientRecord {
            client_id,
            secret_hash: Some(hash),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: options.scopes.clone(),
            disabled: false,
            created_at: shared::now_unix(),
            redirect_uris: Vec::new(),
            first_party: false,
            post_logout_redirect_uris: Vec::new(),
        });
    }
    for client in &clients {
        match store.create_client(client).await {
            Ok(()) | Err(StoreError::AlreadyExists) => {}
            Err(e) => return Err(format!("{}: {e}", client.client_id)),
        }
    }
    let passwords = token.passwords().clone();
    let accounts: Arc<dyn Endpoint> = Arc::new(
        shared::routes::account::account_function(&env, Arc::clone(&store)).map_err(describe)?,
    );
    let well_known = Arc::new(WellKnownEndpoint::from_env(&env).map_err(describe)?);
    let docs: Arc<dyn Endpoint> = Arc::new(ApiDocsEndpoint::from_env(&env).map_err(describe)?);
    Ok(vec![
        ("/authorize", Arc::clone(&authorize)),
        ("/authorize/{*page}", authorize),
        ("/token", Arc::new(token)),
        (
            "/revoke",
            Arc::new(RevokeEndpoint::new(Arc::clone(&store), passwords)),
        ),
        ("/logout", Arc::new(logout)),
        ("/users/me", Arc::clone(&users_me)),
        ("/userinfo", users_me),
        ("/users", Arc::clone(&accounts)),
        ("/users/me/password", accounts),
        ("/.well-known/{*document}", well_known),
        ("/openapi.json", Arc::clone(&docs)),
        ("/docs", Arc::clone(&docs)),
        ("/docs/", Arc::clone(&docs)),
        ("/docs/{*asset}", docs),
    ])
}

/// The in-memory store, or the named DynamoDB table (created if missing).
async fn open_store(table: Option<&str>) -> Result<Arc<dyn Store>, String> {
    let Some(table) = table else {
        return Ok(Arc::new(MemoryStore::new()));
    };
    // Never a table in AWS: this server seeds a public client and demo users.
    let Ok(endpoint) = std::env::var("DYNAMODB_ENDPOINT") else {
        return Err(
            "--table needs DYNAMODB_ENDPOINT, a local DynamoDB-compatible server: \
            the development server seeds a public client and demo users, which must \
            never reach a table in AWS"
                .into(),
        );
    };
    let store = DynamoDbStore::connect(&StoreSettings {
        table_name: table.to_owned(),
        endpoint_url: Some(endpoint),
    })
    .await;
    match store.create_table().await {
        Ok(()) | Err(StoreError::AlreadyExists) => Ok(Arc::new(store)),
        Err(e) => Err(format!("table {table}: {e}")),
    }
}

/// Every route, at the paths API Gateway serves them on.
fn router(routes: Vec<(&'static str, Arc<dyn Endpoint>)>) -> Router {
    let mut router = Router::new();
    for (path, endpoint) in routes {
        router = router.route(
            path,
            any(move |request: Request| serve(Arc::clone(&endpoint), request)),
        );
    }
    router.fallback(|| async { error_response(&ApiError::NotFound, "").map(Body::from) })
}

/// Collects the body (refusing more than the handlers accept) and calls the endpoint.
/// The peer address stands in for API Gateway's source IP in audit events.
async fn serve(endpoint: Arc<dyn Endpoint>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string());
    parts.extensions.insert(RequestOrigin {
        source_ip: peer,
        user_agent: None,
        request_id: Some(shared::random_token(9)),
    });
    let response = match axum::body::to_bytes(body, MAX_BODY_BYTES + 1).await {
        Ok(bytes) => {
            endpoint
                .handle(http::Request::from_parts(parts, bytes))
                .await
        }
        Err(_) => error_response(&ApiError::PayloadTooLarge, ""),
    };
    response.map(Body::from)
}

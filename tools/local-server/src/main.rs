//! `cargo run -p local-server`: the whole service on http://127.0.0.1:3000, for
//! development only.

use clap::Parser;
use local_server::{LocalOptions, PUBLIC_CLIENT_ID};
use secrecy::SecretString;
use shared::keys::SigningAlgorithm;

#[derive(Parser)]
#[command(
    name = "local-server",
    about = "Development server: every route, in-memory users, a fresh signing key"
)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Seed a user as NAME:PASSWORD; repeat for several. Without any, a demo user
    /// with a random password is created and printed.
    #[arg(long = "user", value_name = "NAME:PASSWORD")]
    users: Vec<String>,
    /// Seed a confidential client for the client-credentials grant as ID:SECRET;
    /// repeat for several. The public client `local-app` always exists.
    #[arg(long = "client", value_name = "ID:SECRET")]
    clients: Vec<String>,
    /// A scope every seeded user and client may have; repeat for several.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Another redirect URI for `local-app` (exact match; loopback ones match any
    /// port); repeat for several. http://127.0.0.1/callback and
    /// http://localhost/callback are always registered.
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// Where RP-initiated logout (GET /logout) may send the browser back, for
    /// local-app and the consent clients (exact match); repeat for several. Without
    /// one, logout ends on a "signed out" page.
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    post_logout_redirect_uris: Vec<String>,
    /// Register a public client that is not first-party (its users see a consent
    /// page), with local-app's redirect URIs; repeat for several.
    #[arg(long = "consent-client", value_name = "ID")]
    consent_clients: Vec<String>,
    /// Signing algorithm of the generated key: RS256 (what template.yaml deploys, API
    /// Gateway's JWT authorizer verifies and OpenID Connect Discovery requires), or
    /// ES256 (smaller tokens).
    #[arg(long, default_value = "RS256", value_parser = ["ES256", "RS256"])]
    algorithm: String,
    /// Switch on self-service registration (POST /users) and password change
    /// (POST /users/me/password), both off by default as in production.
    #[arg(long)]
    self_service: bool,
    /// bcrypt cost (10 keeps local logins quick; production defaults to 12).
    #[arg(long, default_value_t = 10)]
    bcrypt_cost: u32,
    /// Keep users and tokens in this DynamoDB table instead of in memory (created if
    /// missing), on the local DynamoDB-compatible server at DYNAMODB_ENDPOINT, which
    /// must be set: never a table in AWS.
    #[arg(long, value_name = "NAME")]
    table: Option<String>,
}

/// Splits repeated `NAME:VALUE` arguments; the error names only the part before the
/// colon, never the secret.
fn pairs(
    flag: &str,
    shape: &str,
    entries: &[String],
) -> Result<Vec<(String, SecretString)>, String> {
    entries
        .iter()
        .map(|entry| {
            let (name, value) = entry.split_once(':').ok_or_else(|| {
                format!(
                    "{flag} takes {shape}, got '{}'",
                    entry.split(':').next().unwrap_or("")
                )
            })?;
            Ok((name.to_owned(), SecretString::from(value.to_owned())))
        })
        .collect()
}

/// A ready authorize URL with a fresh PKCE pair, and the curl command that exchanges
/// the code, so that a person can try browser sign-in with a browser and curl alone.
fn print_browser_sign_in(base_url: &str) {
    let verifier = shared::pkce::new_verifier();
    let challenge = shared::pkce::CodeChallenge::of_verifier(&verifier);
    let state = shared::random_token(12);
    let redirect_uri = "http://127.0.0.1:8080/callback";
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", PUBLIC_CLIENT_ID)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid profile email")
        .append_pair("state", &state)
        .append_pair("nonce", &shared::random_token(12))
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256")
        .finish();
    println!("Browser sign-in (OpenID Connect: authorization code + PKCE, ID token):");
    println!("  1. Open {base_url}/authorize?{query}");
    println!(
        "  2. Sign in. The browser lands on {redirect_uri}?code=...&state={state}&iss=... (nothing listens there: copy the code from the address bar)"
    );
    println!(
        "  3. curl -s {base_url}/token -d grant_type=authorization_code -d client_id={PUBLIC_CLIENT_ID} -d redirect_uri={redirect_uri} -d code_verifier={verifier} -d code=PASTE_THE_CODE"
    );
    println!("     The code works once, within 60 seconds.");
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let base_url = format!("http://{address}");

    let mut users = pairs("--user", "NAME:PASSWORD", &args.users)?;
    let confidential_clients = pairs("--client", "ID:SECRET", &args.clients)?;
    let demo_password = users.is_empty().then(|| shared::random_token(12));
    if let Some(password) = &demo_password {
        users.push(("demo".to_owned(), SecretString::from(password.clone())));
    }

    let app = local_server::build(&LocalOptions {
        base_url: base_url.clone(),
        users,
        confidential_clients,
        scopes: args.scopes,
        redirect_uris: args.redirect_uris,
        consent_clients: args.consent_clients,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        bcrypt_cost: args.bcrypt_cost,
        self_service: args.self_service,
        algorithm: if args.algorithm == "RS256" {
            SigningAlgorithm::Rs256
        } else {
            SigningAlgorithm::Es256
        },
        table: args.table.clone(),
    })
    .await?;

    match &args.table {
        None => println!(
            "DEVELOPMENT ONLY: in-memory users, a signing key that dies with this process."
        ),
        Some(table) => println!(
            "DEVELOPMENT ONLY: users in the table {table}, a signing key that dies with this process."
        ),
    }
    println!("Listening on {base_url}");
    println!(
        "  GET /authorize, POST /token, POST /revoke, GET /users/me, GET|POST /userinfo, GET|POST /logout"
    );
    println!(
        "  OpenID Connect discovery: {base_url}/.well-known/openid-configuration (JWKS: /.well-known/jwks.json)"
    );
    if args.self_service {
        println!("  POST /users, POST /users/me/password (self-service is on)");
    }
    println!("Interactive API docs: {base_url}/docs (OpenAPI 3.1: {base_url}/openapi.json)");
    println!(
        "Public client: client_id '{PUBLIC_CLIENT_ID}' (authorization_code with PKCE, password and refresh_token grants; first-party)"
    );
    if let Some(password) = &demo_password {
        println!("Demo user: username 'demo', password '{password}'");
    }
    print_browser_sign_in(&base_url);
    if let Some(password) = demo_password {
        println!(
            "Password grant: curl -s {base_url}/token -d grant_type=password -d client_id={PUBLIC_CLIENT_ID} -d username=demo -d password={password}"
        );
    }
    // JSON log lines on stdout, audit events included, as in Lambda.
    shared::telemetry::init();
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

//! The README's first command: the local server answers the documented curl calls.

use integration_tests::json_body_str;
use local_server::LocalOptions;
use secrecy::SecretString;

/// The local server on a free port with the user alice, as `cargo run -p local-server`
/// starts it; returns its base URL (also its issuer) and a client.
async fn start_local_server() -> (String, reqwest::Client) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = local_server::build(&LocalOptions {
        base_url: base.clone(),
        users: vec![(
            "alice".into(),
            SecretString::from("wonderland-42".to_owned()),
        )],
        bcrypt_cost: 4,
    })
    .await
    .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, reqwest::Client::new())
}

async fn log_in(client: &reqwest::Client, base: &str) -> reqwest::Response {
    client
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "wonderland-42"),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn local_server_serves_every_route_over_http() {
    let (base, client) = start_local_server().await;
    let login = log_in(&client, &base).await;
    assert_eq!(login.status(), 200);
    assert_eq!(login.headers()["cache-control"], "no-store");
    let body = json_body_str(&login.text().await.unwrap());
    let token = body["access_token"].as_str().unwrap().to_owned();

    let me = client
        .get(format!("{base}/users/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        json_body_str(&me.text().await.unwrap())["username"],
        "alice"
    );

    let no_token = client.get(format!("{base}/users/me")).send().await.unwrap();
    assert_eq!(no_token.status(), 401);
    assert!(
        no_token.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=")
    );

    let oversized = client
        .post(format!("{base}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("a=".to_owned() + &"x".repeat(100_000))
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);

    let unknown = client.get(format!("{base}/nope")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

/// RFC 8414 + RFC 7517 interoperability: a client that knows only the issuer finds
/// the JWKS through the metadata, and an independent library (PyJWT, installed in
/// .venv by the test command) verifies a token with that JWKS alone.
#[tokio::test]
async fn tokens_verify_with_pyjwt_from_the_published_jwks_alone() {
    let (issuer, client) = start_local_server().await;
    let login = log_in(&client, &issuer).await;
    let token = json_body_str(&login.text().await.unwrap())["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let metadata_url = format!("{issuer}/.well-known/oauth-authorization-server");
    let metadata = json_body_str(
        &client
            .get(metadata_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(metadata["issuer"], issuer.as_str());
    let jwks_uri = metadata["jwks_uri"].as_str().unwrap();
    let jwks = client
        .get(jwks_uri)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/verify_with_pyjwt.py");
    let output = std::process::Command::new("python3")
        .args([script, &jwks, &token, &issuer, &issuer])
        .output()
        .expect("python3 runs (scripts/test.sh puts the .venv with PyJWT first on PATH)");
    assert!(
        output.status.success(),
        "PyJWT refused the token: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let claims = json_body_str(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["username"], "alice");
}

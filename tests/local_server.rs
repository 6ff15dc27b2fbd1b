//! The README's first command: the local server answers the documented curl calls.

use integration_tests::json_body_str;
use local_server::LocalOptions;
use secrecy::SecretString;

#[tokio::test]
async fn local_server_serves_every_route_over_http() {
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
    let client = reqwest::Client::new();

    let login = client
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "wonderland-42"),
        ])
        .send()
        .await
        .unwrap();
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

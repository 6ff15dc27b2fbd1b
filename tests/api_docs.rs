//! The OpenAPI document against what is really served: every route of the local
//! server and every route of `template.yaml` is documented, and every documented
//! operation is served. (The document's validity is also checked by
//! openapi-spec-validator and schemathesis in `scripts/test.sh`.)

use std::collections::BTreeSet;

use local_server::LocalOptions;
use secrecy::SecretString;
use shared::keys::SigningAlgorithm;

fn options(base_url: &str) -> LocalOptions {
    LocalOptions {
        base_url: base_url.to_owned(),
        users: vec![(
            "alice".into(),
            SecretString::from("wonderland-42".to_owned()),
        )],
        confidential_clients: vec![],
        scopes: vec![],
        redirect_uris: Vec::new(),
        consent_clients: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        bcrypt_cost: 4,
        self_service: true,
        algorithm: SigningAlgorithm::Es256,
        table: None,
    }
}

/// The local server's document, from the local server, over HTTP.
async fn start() -> (String, serde_json::Value) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = local_server::build(&options(&base)).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let document = reqwest::get(format!("{base}/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (base, document)
}

/// Documented (method, path) pairs, methods upper-case.
fn operations(document: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.insert((method.to_uppercase(), path.clone()));
        }
    }
    operations
}

/// Whether a route pattern (`/x/{*rest}`, `/x/{one}`, or a plain path) covers `path`.
fn covers(pattern: &str, path: &str) -> bool {
    match pattern.find('{') {
        None => pattern.trim_end_matches('/') == path,
        Some(brace) => {
            let prefix = pattern[..brace].trim_end_matches('/');
            path == prefix || path.starts_with(&format!("{prefix}/"))
        }
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_every_reference_resolves() {
    let (base, document) = start().await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["servers"][0]["url"], base);
    let text = document.to_string();
    let mut references = 0;
    for reference in text.split("\"$ref\":\"").skip(1) {
        let target = reference.split('"').next().unwrap();
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {target}"));
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{target} does not resolve"
        );
        references += 1;
    }
    assert!(references > 10, "{references}");
    // Every OAuth error code the server can answer with is in the error schema.
    let codes = &document["components"]["schemas"]["OAuthError"]["properties"]["error"]["enum"];
    for code in shared::http::OAUTH_ERROR_CODES {
        assert!(
            codes.as_array().unwrap().contains(&(*code).into()),
            "{code}"
        );
    }
    // Forms are documented as forms, field by field.
    let token_form = &document["paths"]["/token"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
        ["schema"]["$ref"];
    assert_eq!(token_form, "#/components/schemas/TokenRequestForm");
    let fields = document["components"]["schemas"]["TokenRequestForm"]["properties"]
        .as_object()
        .unwrap();
    for field in [
        "grant_type",
        "username",
        "password",
        "refresh_token",
        "scope",
        "client_id",
    ] {
        assert!(fields.contains_key(field), "{field}");
    }
}

#[tokio::test]
async fn every_route_of_the_local_server_is_documented_and_every_operation_is_served() {
    let (base, document) = start().await;
    let operations = operations(&document);
    let routes = local_server::routes(&options("http://localhost"))
        .await
        .unwrap();
    for (pattern, _) in &routes {
        assert!(
            operations.iter().any(|(_, path)| covers(pattern, path)),
            "the local server routes {pattern}, which the document does not describe"
        );
    }
    let client = reqwest::Client::new();
    for (method, path) in &operations {
        assert!(
            routes.iter().any(|(pattern, _)| covers(pattern, path)),
            "{method} {path} is documented but not routed"
        );
        let request = match method.as_str() {
            "GET" => client.get(format!("{base}{path}")),
            "POST" => client.post(format!("{base}{path}")),
            other => panic!("unexpected method {other}"),
        };
        let status = request.send().await.unwrap().status().as_u16();
        assert!(
            status != 404 && status != 405 && status < 500,
            "{method} {path}: {status}"
        );
    }
}

/// `RouteKey: METHOD /path` lines of the SAM template, except the example route that
/// shows how to protect *your* API.
fn template_routes() -> Vec<(String, String)> {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    template
        .lines()
        .filter_map(|line| line.trim().strip_prefix("RouteKey:"))
        .map(|key| {
            let (method, path) = key.trim().split_once(' ').unwrap();
            (method.to_owned(), path.to_owned())
        })
        .filter(|(_, path)| !path.starts_with("/example/"))
        .collect()
}

#[tokio::test]
async fn every_route_of_the_template_is_documented_and_every_operation_is_deployed() {
    let (_, document) = start().await;
    let operations = operations(&document);
    let routes = template_routes();
    assert!(routes.len() >= 8, "{routes:?}");
    for (method, pattern) in &routes {
        assert!(
            operations
                .iter()
                .any(|(m, path)| (method == "ANY" || m == method) && covers(pattern, path)),
            "template.yaml routes {method} {pattern}, which the document does not describe"
        );
    }
    for (method, path) in &operations {
        assert!(
            routes
                .iter()
                .any(|(m, pattern)| (m == "ANY" || m == method) && covers(pattern, path)),
            "{method} {path} is documented but template.yaml has no route for it"
        );
    }
}

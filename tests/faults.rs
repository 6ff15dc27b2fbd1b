//! Faults between the functions and DynamoDB, injected by a proxy in front of the
//! local server: connections refused, requests that hang, answers slower than the
//! attempt timeout, throttling errors. Every endpoint answers within the Lambda
//! timeout with 503, `Retry-After` and an OAuth-style error, never a 500 or an
//! internal detail; once the fault clears everything works, and nothing the failed
//! requests touched was half-written (the refresh token used before the faults still
//! rotates exactly once).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use integration_tests::fault_proxy::{Fault, FaultProxy};
use integration_tests::*;
use shared::http::HttpResponse;
use shared::routes::Endpoint;
use shared::routes::users_me::UsersMeEndpoint;
use shared::store::{DynamoDbStore, Store, StoreSettings};

/// The template's Lambda timeout: an answer later than this is a hang.
const LAMBDA_TIMEOUT: Duration = Duration::from_secs(10);

fn form(path: &str, body: String) -> http::Request<Bytes> {
    http::Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Bytes::from(body))
        .unwrap()
}

fn me(access_token: &str) -> http::Request<Bytes> {
    http::Request::get("/users/me")
        .header("authorization", format!("Bearer {access_token}"))
        .body(Bytes::new())
        .unwrap()
}

async fn answered(endpoint: &dyn Endpoint, request: http::Request<Bytes>) -> HttpResponse {
    tokio::time::timeout(LAMBDA_TIMEOUT, endpoint.handle(request))
        .await
        .expect("an answer within the Lambda timeout")
}

#[tokio::test]
async fn every_endpoint_answers_503_during_a_fault_and_recovers_after() {
    let direct = fresh_store("faults").await;
    add_user(&direct, "alice").await;
    let table = direct.table_name().to_owned();
    let proxy = FaultProxy::start(&dynamodb_endpoint()).await;
    let mut env = service_env(&table);
    env.insert("DYNAMODB_ENDPOINT".into(), proxy.endpoint.clone());
    let store: Arc<dyn Store> = Arc::new(
        DynamoDbStore::connect(&StoreSettings {
            table_name: table.clone(),
            endpoint_url: Some(proxy.endpoint.clone()),
        })
        .await,
    );
    let token = shared::routes::token_function(&env, store.clone()).unwrap();
    let users_me = UsersMeEndpoint::from_env(&env, store).unwrap();

    let login = answered(&token, form("/token", login_body("alice"))).await;
    assert_eq!(login.status(), 200, "{}", login.body());
    let session = json_body(&login);
    let access_token = session["access_token"].as_str().unwrap().to_owned();
    let refresh_token = session["refresh_token"].as_str().unwrap().to_owned();
    let refresh_body =
        format!("grant_type=refresh_token&client_id={CLIENT_ID}&refresh_token={refresh_token}");
    // A token-shaped stranger: revoking it must not touch the session's family.
    let revoke_body = format!("client_id={CLIENT_ID}&token={}", "r".repeat(43));

    for fault in [
        Fault::Refuse,
        Fault::Hang,
        Fault::Slow(Duration::from_secs(2)),
        Fault::Throttle,
    ] {
        proxy.set(fault);
        let (login, refresh, revoke, profile) = tokio::join!(
            answered(&token, form("/token", login_body("alice"))),
            answered(&token, form("/token", refresh_body.clone())),
            answered(&token, form("/revoke", revoke_body.clone())),
            answered(&users_me, me(&access_token)),
        );
        for (name, response) in [
            ("login", login),
            ("refresh", refresh),
            ("revoke", revoke),
            ("users/me", profile),
        ] {
            assert_eq!(
                response.status(),
                503,
                "{fault:?} {name}: {}",
                response.body()
            );
            assert_eq!(response.headers()["retry-after"], "1", "{fault:?} {name}");
            assert_eq!(
                json_body(&response)["error"],
                "temporarily_unavailable",
                "{fault:?} {name}"
            );
            for detail in [
                table.as_str(),
                "Throttling",
                "timed out",
                "dispatch",
                "127.0.0.1",
            ] {
                assert!(
                    !response.body().contains(detail),
                    "{fault:?} {name} leaks {detail:?}: {}",
                    response.body()
                );
            }
        }
    }

    proxy.set(Fault::None);
    let refreshed = answered(&token, form("/token", refresh_body.clone())).await;
    assert_eq!(
        refreshed.status(),
        200,
        "the refresh token survived the faults unused: {}",
        refreshed.body()
    );
    let replay = answered(&token, form("/token", refresh_body)).await;
    assert_eq!(replay.status(), 400, "and rotates exactly once");
    assert_eq!(answered(&users_me, me(&access_token)).await.status(), 200);
    let again = answered(&token, form("/token", login_body("alice"))).await;
    assert_eq!(again.status(), 200, "{}", again.body());
}

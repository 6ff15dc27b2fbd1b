//! Both functions' handlers driven by real API Gateway events (REST v1 and HTTP API
//! v2, plain and base64 bodies) against the DynamoDB store on the local server.

use std::sync::Arc;

use integration_tests::*;
use shared::routes::token::TokenEndpoint;
use shared::routes::users_me::UsersMeEndpoint;
use shared::store::Store;

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const VERSIONS: [EventVersion; 2] = [EventVersion::RestV1, EventVersion::HttpV2];

struct Deployment {
    store: Arc<dyn Store>,
    token: TokenEndpoint,
    users_me: UsersMeEndpoint,
}

async fn deployment() -> Deployment {
    let store = fresh_store("apigw").await;
    let env = service_env(store.table_name());
    let store: Arc<dyn Store> = Arc::new(store);
    Deployment {
        token: TokenEndpoint::from_env(&env, store.clone()).unwrap(),
        users_me: UsersMeEndpoint::from_env(&env, store.clone()).unwrap(),
        store,
    }
}

fn token_event(version: EventVersion, body: &[u8], base64: bool) -> serde_json::Value {
    event(
        version,
        &EventRequest {
            method: "POST",
            path: "/token",
            headers: &[FORM],
            body: Some(body),
            base64,
            ..Default::default()
        },
    )
}

fn me_event(version: EventVersion, authorization: Option<&str>) -> serde_json::Value {
    let header;
    let headers: &[(&str, &str)] = match authorization {
        Some(value) => {
            header = [("authorization", value)];
            &header
        }
        None => &[],
    };
    event(
        version,
        &EventRequest {
            method: "GET",
            path: "/users/me",
            headers,
            ..Default::default()
        },
    )
}

#[tokio::test]
async fn login_then_users_me_through_both_event_versions_and_body_encodings() {
    let d = deployment().await;
    add_user(d.store.as_ref(), "alice").await;
    for version in VERSIONS {
        for base64 in [false, true] {
            let login = invoke(
                &d.token,
                &token_event(version, login_body("alice").as_bytes(), base64),
            )
            .await;
            assert_eq!(
                login.status(),
                200,
                "{version:?} base64={base64}: {}",
                login.body()
            );
            assert_eq!(login.headers()["cache-control"], "no-store");
            let token = json_body(&login)["access_token"]
                .as_str()
                .unwrap()
                .to_owned();

            let me = invoke(
                &d.users_me,
                &me_event(version, Some(&format!("Bearer {token}"))),
            )
            .await;
            assert_eq!(me.status(), 200, "{version:?}: {}", me.body());
            let profile = json_body(&me);
            assert_eq!(profile["username"], "alice");
            assert_eq!(profile["full_name"], "alice Example");
            assert!(!me.body().contains("$2"), "no hash in the profile");
        }
    }
}

#[tokio::test]
async fn wrong_password_unknown_and_disabled_users_look_the_same() {
    let d = deployment().await;
    add_user(d.store.as_ref(), "bob").await;
    add_user(d.store.as_ref(), "carl").await;
    d.store.set_disabled("carl", true).await.unwrap();
    for version in VERSIONS {
        let wrong = invoke(
            &d.token,
            &token_event(
                version,
                b"grant_type=password&client_id=web-app&username=bob&password=nope",
                false,
            ),
        )
        .await;
        let unknown = invoke(
            &d.token,
            &token_event(version, login_body("nobody").as_bytes(), false),
        )
        .await;
        let disabled = invoke(
            &d.token,
            &token_event(version, login_body("carl").as_bytes(), false),
        )
        .await;
        assert_eq!(wrong.status(), 400);
        assert_eq!(json_body(&wrong)["error"], "invalid_grant");
        assert_eq!(unknown.body(), wrong.body());
        assert_eq!(disabled.body(), wrong.body());
    }
}

#[tokio::test]
async fn bad_requests_get_oauth_errors_never_500() {
    let d = deployment().await;
    add_user(d.store.as_ref(), "dave").await;
    let oversized = format!(
        "grant_type=password&client_id=web-app&username=dave&password={}",
        "x".repeat(10_000)
    );
    for version in VERSIONS {
        let post = |headers: &'static [(&'static str, &'static str)],
                    query: &'static [(&'static str, &'static str)],
                    body: Option<&'static [u8]>| {
            event(
                version,
                &EventRequest {
                    method: "POST",
                    path: "/token",
                    query,
                    headers,
                    body,
                    ..Default::default()
                },
            )
        };
        // Non-UTF-8 bytes can only arrive base64-encoded.
        let cases: Vec<(&str, serde_json::Value, u16, &str)> = vec![
            (
                "non-UTF-8 body",
                token_event(
                    version,
                    b"grant_type=password&client_id=web-app&username=\xff&password=x",
                    true,
                ),
                400,
                "invalid_request",
            ),
            (
                "JSON body",
                post(
                    &[("content-type", "application/json")],
                    &[],
                    Some(br#"{"grant_type":"password"}"#),
                ),
                400,
                "invalid_request",
            ),
            ("no body", post(&[FORM], &[], None), 400, "invalid_request"),
            (
                "repeated parameter",
                token_event(
                    version,
                    b"grant_type=password&client_id=web-app&grant_type=password&username=dave&password=x",
                    false,
                ),
                400,
                "invalid_request",
            ),
            (
                "password in query",
                post(
                    &[FORM],
                    &[("password", "correct+horse+battery")],
                    Some(b"grant_type=password&client_id=web-app&username=dave&password=correct+horse+battery"),
                ),
                400,
                "invalid_request",
            ),
            (
                "unsupported grant",
                token_event(version, b"grant_type=implicit", false),
                400,
                "unsupported_grant_type",
            ),
            (
                "GET /token",
                event(
                    version,
                    &EventRequest {
                        method: "GET",
                        path: "/token",
                        ..Default::default()
                    },
                ),
                405,
                "invalid_request",
            ),
            (
                "oversized body",
                token_event(version, oversized.as_bytes(), false),
                413,
                "invalid_request",
            ),
        ];
        for (name, event, status, code) in cases {
            let response = invoke(&d.token, &event).await;
            assert_eq!(
                response.status(),
                status,
                "{version:?} {name}: {}",
                response.body()
            );
            assert_eq!(json_body(&response)["error"], code, "{version:?} {name}");
        }
    }
}

#[tokio::test]
async fn users_me_challenges_and_refusals() {
    let d = deployment().await;
    add_user(d.store.as_ref(), "erin").await;
    let login = invoke(
        &d.token,
        &token_event(EventVersion::HttpV2, login_body("erin").as_bytes(), false),
    )
    .await;
    let token = json_body(&login)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for version in VERSIONS {
        let none = invoke(&d.users_me, &me_event(version, None)).await;
        assert_eq!(none.status(), 401);
        assert_eq!(
            none.headers()["www-authenticate"],
            "Bearer realm=\"example\""
        );

        let forged = invoke(
            &d.users_me,
            &me_event(version, Some("Bearer eyJhbGciOiJub25lIn0.e30.")),
        )
        .await;
        assert_eq!(forged.status(), 401);
        assert!(
            forged.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_token\"")
        );

        let post = event(
            version,
            &EventRequest {
                method: "POST",
                path: "/users/me",
                ..Default::default()
            },
        );
        let response = invoke(&d.users_me, &post).await;
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()["allow"], "GET");
    }
    // Disabled in the table: the still-unexpired token stops working at once.
    d.store.set_disabled("erin", true).await.unwrap();
    let refused = invoke(
        &d.users_me,
        &me_event(EventVersion::HttpV2, Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(refused.status(), 401);
    assert_eq!(json_body(&refused)["error"], "invalid_token");
    d.store.delete_user("erin").await.unwrap();
    let refused = invoke(
        &d.users_me,
        &me_event(EventVersion::RestV1, Some(&format!("Bearer {token}"))),
    )
    .await;
    assert_eq!(refused.status(), 401);
}

fn refresh_event(version: EventVersion, refresh_token: &str) -> serde_json::Value {
    let body = format!("grant_type=refresh_token&client_id=web-app&refresh_token={refresh_token}");
    token_event(version, body.as_bytes(), false)
}

fn refresh_token_of(response: &shared::http::HttpResponse) -> String {
    json_body(response)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn refresh_rotation_and_replay_detection_on_dynamodb() {
    let d = deployment().await;
    add_user(d.store.as_ref(), "fay").await;
    let login = invoke(
        &d.token,
        &token_event(EventVersion::HttpV2, login_body("fay").as_bytes(), false),
    )
    .await;
    let first = refresh_token_of(&login);
    let mut latest = first.clone();
    for version in [
        EventVersion::RestV1,
        EventVersion::HttpV2,
        EventVersion::RestV1,
    ] {
        let refreshed = invoke(&d.token, &refresh_event(version, &latest)).await;
        assert_eq!(refreshed.status(), 200, "{}", refreshed.body());
        latest = refresh_token_of(&refreshed);
    }
    let replay = invoke(&d.token, &refresh_event(EventVersion::HttpV2, &first)).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(json_body(&replay)["error"], "invalid_grant");
    let after = invoke(&d.token, &refresh_event(EventVersion::HttpV2, &latest)).await;
    assert_eq!(after.status(), 400, "the family died with the replay");
}

/// Twenty clients present one refresh token at the same moment, against the
/// DynamoDB store: exactly one gets tokens.
#[tokio::test]
async fn twenty_concurrent_refreshes_of_one_token_yield_exactly_one_success() {
    let d = deployment().await;
    add_user(d.store.as_ref(), "gus").await;
    let login = invoke(
        &d.token,
        &token_event(EventVersion::HttpV2, login_body("gus").as_bytes(), false),
    )
    .await;
    let token = refresh_token_of(&login);
    let endpoint = Arc::new(d.token);
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let endpoint = Arc::clone(&endpoint);
            let event = refresh_event(EventVersion::HttpV2, &token);
            tokio::spawn(async move { invoke(endpoint.as_ref(), &event).await })
        })
        .collect();
    let mut responses = Vec::new();
    for attempt in attempts {
        responses.push(attempt.await.unwrap());
    }
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
    // The losers presented a spent token: reuse detection revoked the family, so the
    // winner's new refresh token is dead too (strict rotation, see the README).
    let winner = responses.iter().find(|r| r.status() == 200).unwrap();
    let after = invoke(
        endpoint.as_ref(),
        &refresh_event(EventVersion::HttpV2, &refresh_token_of(winner)),
    )
    .await;
    assert_eq!(after.status(), 400);
}

//! The one place where results become HTTP responses: RFC 6749 §5.1/§5.2 JSON bodies,
//! RFC 6750 §3 `WWW-Authenticate` challenges, and the cache headers both require.

use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;

use crate::error::ApiError;

/// What handlers return; adapters turn it into a Lambda or axum response.
pub type HttpResponse = Response<String>;

/// Every `error` code [`error_response`] can produce, for the OpenAPI document. A test
/// keeps the list and the mapping in step.
pub const OAUTH_ERROR_CODES: &[&str] = &[
    "invalid_request",
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
    "invalid_token",
    "insufficient_scope",
    "username_taken",
    "conflict",
    "not_found",
    "temporarily_unavailable",
    "server_error",
];

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 1;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<&'a str>,
}

/// A JSON response that must never be cached (RFC 6749 §5.1: tokens and token
/// errors carry `Cache-Control: no-store` and `Pragma: no-cache`).
pub fn json_no_store<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    let json = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = Response::new(json);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// A JSON document every client and cache may keep for `max_age_seconds` (discovery
/// metadata and public keys).
pub fn json_cacheable(body: &str, max_age_seconds: u32) -> HttpResponse {
    let mut response = Response::new(body.to_owned());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age_seconds}")) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    response
}

/// Maps an [`ApiError`] to its status, OAuth error code and headers.
///
/// `realm` names the protection space in RFC 6750 bearer challenges.
pub fn error_response(error: &ApiError, realm: &str) -> HttpResponse {
    let (status, code, description): (StatusCode, &str, Option<&str>) = match error {
        ApiError::InvalidRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", Some(d)),
        ApiError::InvalidGrant => (
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Some("the username or password is incorrect, or the account is disabled"),
        ),
        ApiError::LoginLocked { .. } => (
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Some("too many failed attempts for this username; retry later"),
        ),
        ApiError::InvalidRefreshToken => (
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Some("the refresh token is invalid, expired or revoked"),
        ),
        ApiError::InvalidAuthorizationCode => (
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Some(
                "the authorization code is invalid, expired or used, or the redirect_uri or code_verifier does not match",
            ),
        ),
        ApiError::WrongCurrentPassword => (
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Some("the current password is incorrect"),
        ),
        ApiError::Conflict { code, description } => {
            (StatusCode::CONFLICT, *code, Some(*description))
        }
        ApiError::UnsupportedTokenType => (
            StatusCode::BAD_REQUEST,
            "unsupported_token_type",
            Some("access tokens expire on their own within minutes; revoke the refresh token"),
        ),
        ApiError::UnsupportedGrantType => (
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            Some(
                "this server supports grant_type=authorization_code, password, refresh_token and client_credentials",
            ),
        ),
        ApiError::InvalidClient => (
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            Some("client authentication failed"),
        ),
        ApiError::UnauthorizedClient(d) => {
            (StatusCode::BAD_REQUEST, "unauthorized_client", Some(d))
        }
        ApiError::InvalidScope(d) => (StatusCode::BAD_REQUEST, "invalid_scope", Some(d)),
        ApiError::MethodNotAllowed { .. } => (
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            Some("this method is not allowed on this endpoint"),
        ),
        ApiError::NotFound => (
            StatusCode::NOT_FOUND,
            "not_found",
            Some("there is no resource at this path"),
        ),
        ApiError::PayloadTooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            Some("the request body is too large"),
        ),
        ApiError::MissingToken => (
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            Some("a bearer token is required"),
        ),
        ApiError::InvalidToken(d) => (StatusCode::UNAUTHORIZED, "invalid_token", Some(d)),
        ApiError::InsufficientScope { .. } => (
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            Some("the access token lacks the scope this resource requires"),
        ),
        ApiError::TemporarilyUnavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            Some("the service is temporarily unavailable; retry later"),
        ),
        ApiError::Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            Some("an internal error occurred"),
        ),
    };
    // RFC 6749 §5.2 limits error_description to %x20-21 / %x23-5B / %x5D-7E.
    let description = description.map(quoted_string_safe);
    let mut response = json_no_store(
        status,
        &ErrorBody {
            error: code,
            error_description: description.as_deref(),
        },
    );
    let headers = response.headers_mut();
    match error {
        ApiError::MethodNotAllowed { allow } => {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        // RFC 6750 §3.1: a request without credentials gets a bare challenge, no error code.
        ApiError::MissingToken => {
            headers.insert(header::WWW_AUTHENTICATE, bearer_challenge(realm, None));
        }
        ApiError::InvalidToken(d) => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                bearer_challenge(realm, Some(("invalid_token", d))),
            );
        }
        // RFC 6750 §3: a malformed bearer request also carries a challenge. Every
        // invalid_request on a bearer-protected route is produced with a realm.
        ApiError::InvalidRequest(d) if !realm.is_empty() => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                bearer_challenge(realm, Some(("invalid_request", d))),
            );
        }
        ApiError::InsufficientScope { required } => {
            let mut challenge = bearer_challenge(
                realm,
                Some(("insufficient_scope", description.as_deref().unwrap_or(""))),
            )
            .to_str()
            .unwrap_or("Bearer")
            .to_owned();
            challenge.push_str(&format!(", scope=\"{}\"", quoted_string_safe(required)));
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        // RFC 6749 §5.2: a failed client authentication is a 401 with a challenge for
        // the scheme the client can authenticate with (RFC 7617).
        ApiError::InvalidClient => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"oauth2-clients\", charset=\"UTF-8\""),
            );
        }
        ApiError::LoginLocked {
            retry_after_seconds,
        } => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
        }
        ApiError::TemporarilyUnavailable => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        _ => {}
    }
    response
}

/// `Bearer realm="...", error="...", error_description="..."` (RFC 6750 §3).
fn bearer_challenge(realm: &str, error: Option<(&str, &str)>) -> HeaderValue {
    let mut value = format!("Bearer realm=\"{}\"", quoted_string_safe(realm));
    if let Some((code, description)) = error {
        value.push_str(&format!(
            ", error=\"{code}\", error_description=\"{}\"",
            quoted_string_safe(description)
        ));
    }
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// RFC 6750 §3 limits these values to %x20-21 / %x23-5B / %x5D-7E: drop `"`, `\` and
/// anything outside printable ASCII rather than risk a broken header.
fn quoted_string_safe(value: &str) -> String {
    value
        .chars()
        .filter(|c| matches!(*c, ' '..='~') && *c != '"' && *c != '\\')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(response: &HttpResponse) -> serde_json::Value {
        serde_json::from_str(response.body()).unwrap()
    }

    #[test]
    fn rfc6749_5_2_error_bodies_are_json_with_no_store() {
        let response = error_response(&ApiError::invalid_request("missing username"), "");
        assert_eq!(response.status(), 400);
        assert_eq!(
            body(&response),
            serde_json::json!({"error": "invalid_request", "error_description": "missing username"})
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["pragma"], "no-cache");
        assert_eq!(
            response.headers()["content-type"],
            "application/json;charset=UTF-8"
        );
        assert!(!response.headers().contains_key("www-authenticate"));
    }

    #[test]
    fn rfc6749_5_2_invalid_client_is_401_with_a_basic_challenge() {
        let response = error_response(&ApiError::InvalidClient, "");
        assert_eq!(response.status(), 401);
        assert_eq!(body(&response)["error"], "invalid_client");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Basic realm=\""), "{challenge}");
    }

    #[test]
    fn every_error_maps_to_its_status_and_code() {
        let cases = [
            (ApiError::InvalidGrant, 400, "invalid_grant"),
            (ApiError::InvalidRefreshToken, 400, "invalid_grant"),
            (ApiError::WrongCurrentPassword, 400, "invalid_grant"),
            (ApiError::InvalidAuthorizationCode, 400, "invalid_grant"),
            (
                ApiError::Conflict {
                    code: "username_taken",
                    description: "x",
                },
                409,
                "username_taken",
            ),
            (
                ApiError::LoginLocked {
                    retry_after_seconds: 3,
                },
                400,
                "invalid_grant",
            ),
            (
                ApiError::UnsupportedTokenType,
                400,
                "unsupported_token_type",
            ),
            (
                ApiError::UnsupportedGrantType,
                400,
                "unsupported_grant_type",
            ),
            (ApiError::InvalidScope("x".into()), 400, "invalid_scope"),
            (ApiError::InvalidClient, 401, "invalid_client"),
            (
                ApiError::UnauthorizedClient("x"),
                400,
                "unauthorized_client",
            ),
            (
                ApiError::MethodNotAllowed { allow: "POST" },
                405,
                "invalid_request",
            ),
            (ApiError::PayloadTooLarge, 413, "invalid_request"),
            (ApiError::NotFound, 404, "not_found"),
            (ApiError::MissingToken, 401, "invalid_request"),
            (ApiError::InvalidToken("expired"), 401, "invalid_token"),
            (
                ApiError::TemporarilyUnavailable,
                503,
                "temporarily_unavailable",
            ),
            (ApiError::Internal, 500, "server_error"),
            (ApiError::invalid_request("x"), 400, "invalid_request"),
            (
                ApiError::Conflict {
                    code: "conflict",
                    description: "x",
                },
                409,
                "conflict",
            ),
            (
                ApiError::InsufficientScope {
                    required: "x".into(),
                },
                403,
                "insufficient_scope",
            ),
        ];
        let mut produced = std::collections::BTreeSet::new();
        for (error, status, code) in cases {
            let response = error_response(&error, "api");
            assert_eq!(response.status(), status, "{error:?}");
            assert_eq!(body(&response)["error"], code, "{error:?}");
            assert!(
                OAUTH_ERROR_CODES.contains(&code),
                "{code} is not documented"
            );
            produced.insert(code);
        }
        // And the documented list names nothing the server never says.
        let documented: std::collections::BTreeSet<_> = OAUTH_ERROR_CODES.iter().copied().collect();
        assert_eq!(produced, documented);
    }

    #[test]
    fn method_not_allowed_names_the_allowed_method() {
        let response = error_response(&ApiError::MethodNotAllowed { allow: "GET" }, "");
        assert_eq!(response.headers()["allow"], "GET");
    }

    #[test]
    fn rfc6750_3_missing_token_challenge_has_realm_and_no_error() {
        let response = error_response(&ApiError::MissingToken, "example");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"example\""
        );
    }

    #[test]
    fn rfc6750_3_1_invalid_token_challenge_carries_error_and_description() {
        let response = error_response(&ApiError::InvalidToken("the token has expired"), "api");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"the token has expired\""
        );
    }

    #[test]
    fn challenge_values_cannot_break_out_of_their_quotes() {
        let response = error_response(&ApiError::MissingToken, "a\"b\\c\r\nd");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"abcd\""
        );
    }

    #[test]
    fn rfc6749_5_2_descriptions_keep_to_the_allowed_characters() {
        let response = error_response(
            &ApiError::invalid_request("a \"quoted\" \\ caf\u{e9} §4"),
            "",
        );
        assert_eq!(body(&response)["error_description"], "a quoted  caf 4");
    }

    #[test]
    fn rfc6750_3_1_insufficient_scope_is_403_naming_the_scope() {
        let error = ApiError::InsufficientScope {
            required: "orders:write".into(),
        };
        let response = error_response(&error, "api");
        assert_eq!(response.status(), 403);
        assert_eq!(body(&response)["error"], "insufficient_scope");
        assert_eq!(
            response.headers()["www-authenticate"],
            "Bearer realm=\"api\", error=\"insufficient_scope\", \
             error_description=\"the access token lacks the scope this resource requires\", \
             scope=\"orders:write\""
        );
    }

    #[test]
    fn unavailable_says_when_to_retry() {
        let response = error_response(&ApiError::TemporarilyUnavailable, "");
        assert_eq!(response.headers()["retry-after"], "1");
    }
}

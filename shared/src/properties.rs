//! Properties of the parsers that face the internet, checked on thousands of
//! generated inputs per run (proptest): none panics on any input, and what they
//! accept means what it says. `cargo fuzz` goes further outside CI.

use proptest::prelude::*;

use crate::clients::PresentedClient;
use crate::lambda::{convertible_event, to_http_request};
use crate::oauth::{BearerCredentials, FormParameters, ScopeSet, bearer_token};

/// Percent-encodes every byte outside the unreserved set, as a form encoder would.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn authorization(value: &[u8]) -> Option<http::HeaderMap> {
    let value = http::HeaderValue::from_bytes(value).ok()?;
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, value);
    Some(headers)
}

/// A verifier with a fresh key, built once: key generation is slow for proptest.
fn verifier() -> &'static crate::tokens::TokenVerifier {
    static VERIFIER: std::sync::OnceLock<crate::tokens::TokenVerifier> = std::sync::OnceLock::new();
    VERIFIER.get_or_init(|| {
        let key = crate::keys::generate(crate::keys::SigningAlgorithm::Es256).unwrap();
        let env: std::collections::HashMap<String, String> = [
            ("AUTH_ISSUER", "https://auth.example.com".to_owned()),
            ("AUTH_AUDIENCE", "https://api.example.com".to_owned()),
        ]
        .into_iter()
        .chain(key.environment())
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let service = crate::config::ServiceSettings::from_env(&env).unwrap();
        crate::config::token_verifier(&env, &service).unwrap()
    })
}

/// An HTTP API (payload 2.0) event as API Gateway sends it: a percent-encoded path,
/// a query string, headers, and a body as text or base64.
fn http_api_event(
    method: &str,
    path: &str,
    query: &str,
    headers: &std::collections::BTreeMap<String, String>,
    body: &[u8],
    base64: bool,
) -> serde_json::Value {
    use base64::Engine;
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8_lossy(body).into_owned()
    };
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "proptest"},
            "requestId": "r", "routeKey": "$default", "stage": "$default",
            "time": "01/Dec/2026:00:00:00 +0000", "timeEpoch": 0
        },
        "body": body,
        "isBase64Encoded": base64
    })
}

/// API Gateway's event JSON through the Lambda adapter's parsing and conversion.
fn convert(event: &serde_json::Value) -> Option<http::Request<bytes::Bytes>> {
    let request = convertible_event(event.clone()).ok()?;
    Some(to_http_request(lambda_http::Request::from(request)))
}

proptest! {
    /// Whatever API Gateway sends, the handlers see the same method, path, query,
    /// headers and body bytes (text bodies as UTF-8, binary ones base64-decoded).
    #[test]
    fn api_gateway_events_convert_without_loss(
        method in prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"]),
        // `.` and `..` segments are removed, as RFC 3986 §5.2.4 says a URI's are.
        segments in proptest::collection::vec(
            "\\PC{1,12}".prop_filter("dot segment", |s| s != "." && s != ".."),
            0..4,
        ),
        query in proptest::collection::vec(("[a-z_]{1,8}", "\\PC{0,12}"), 0..3),
        headers in proptest::collection::btree_map("[a-z][a-z0-9-]{0,15}", "[ -~]{0,40}", 0..6),
        body in proptest::collection::vec(any::<u8>(), 0..600),
        base64 in any::<bool>(),
    ) {
        let path = format!(
            "/{}",
            segments.iter().map(|s| form_encode(s)).collect::<Vec<_>>().join("/")
        );
        let query = query
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        // API Gateway trims header values; `host` names the API.
        let mut headers: std::collections::BTreeMap<String, String> = headers
            .into_iter()
            .filter(|(name, _)| name != "host")
            .map(|(name, value)| (name, value.trim().to_owned()))
            .collect();
        headers.insert("host".into(), "abc123.execute-api.eu-west-1.amazonaws.com".into());
        let event = http_api_event(method, &path, &query, &headers, &body, base64);
        let request = convert(&event).expect("API Gateway events always convert");
        prop_assert_eq!(request.method().as_str(), method);
        prop_assert_eq!(request.uri().path(), path.as_str());
        prop_assert_eq!(request.uri().query().unwrap_or(""), query.as_str());
        for (name, value) in &headers {
            prop_assert_eq!(request.headers()[name.as_str()].as_bytes(), value.as_bytes());
        }
        let expected_body = if base64 {
            body.clone()
        } else {
            String::from_utf8_lossy(&body).into_owned().into_bytes()
        };
        prop_assert_eq!(request.body().as_ref(), expected_body.as_slice());
    }

    /// Whatever the event holds, parsing and conversion end in a request or an error,
    /// never a panic: paths and query strings that are no URI, and bodies flagged
    /// base64 that are not (which `lambda_http` alone panics on), become a request
    /// marked for a 400.
    #[test]
    fn malformed_events_never_panic(
        noise in "\\PC{0,200}",
        raw_path in "\\PC{0,40}",
        raw_query in "\\PC{0,40}",
        base64 in any::<bool>(),
        field in prop::sample::select(vec!["body", "headers", "isBase64Encoded", "requestContext", "version", "rawQueryString"]),
        replacement in prop_oneof![
            Just(serde_json::Value::Null),
            any::<i64>().prop_map(serde_json::Value::from),
            "\\PC{0,40}".prop_map(serde_json::Value::from),
        ],
    ) {
        let _ = convertible_event(serde_json::Value::from(noise));
        let mut event = http_api_event("POST", &raw_path, &raw_query, &Default::default(), b"a=b", false);
        // A body flagged base64 that is not.
        event["isBase64Encoded"] = base64.into();
        let _ = convert(&event);
        event[field] = replacement;
        let _ = convert(&event);
    }

    /// Arbitrary strings, and three-segment strings shaped like a JWT, are refused
    /// without a panic.
    #[test]
    fn token_verification_never_panics_and_never_accepts_noise(
        noise in "\\PC{0,300}",
        segments in proptest::collection::vec("[A-Za-z0-9_-]{0,80}", 3),
    ) {
        prop_assert!(verifier().verify(&noise).is_err());
        prop_assert!(verifier().verify(&segments.join(".")).is_err());
    }

    #[test]
    fn form_parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = FormParameters::parse(&body);
    }

    /// Whatever a client encodes, the parser decodes to the same names and values.
    #[test]
    fn form_parsing_round_trips(
        pairs in proptest::collection::btree_map("[a-z_]{1,12}", "\\PC{0,24}", 0..6)
    ) {
        let body = pairs
            .iter()
            .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let form = FormParameters::parse(body.as_bytes()).unwrap();
        for (name, value) in &pairs {
            let expected = (!value.is_empty()).then_some(value.as_str());
            prop_assert_eq!(form.get(name), expected);
        }
    }

    #[test]
    fn authorization_parsing_never_panics(value in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Some(headers) = authorization(&value) {
            let _ = bearer_token(&headers);
            let _ = PresentedClient::from_request(&headers, &FormParameters::default());
        }
    }

    /// RFC 6750 §2.1: `Bearer <b64token>` yields exactly that token, whatever the
    /// scheme's case.
    #[test]
    fn bearer_tokens_are_read_back_exactly(
        scheme in "[Bb][Ee][Aa][Rr][Ee][Rr]",
        token in "[A-Za-z0-9._~+/-]{1,64}=*",
    ) {
        let headers = authorization(format!("{scheme} {token}").as_bytes()).unwrap();
        prop_assert_eq!(bearer_token(&headers).unwrap(), BearerCredentials::Token(&token));
    }

    #[test]
    fn scopes_print_and_parse_back(tokens in proptest::collection::btree_set("[!#-\\[\\]-~]{1,10}", 0..6)) {
        let set = ScopeSet::from_tokens(tokens.iter().cloned());
        prop_assert_eq!(ScopeSet::parse(&set.to_string()).unwrap(), set);
    }

    #[test]
    fn scope_parsing_never_panics(value in "\\PC{0,64}") {
        let _ = ScopeSet::parse(&value);
    }
}

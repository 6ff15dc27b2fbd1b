//! The two `Authorization` header parsers: bearer tokens (`oauth::bearer_token`,
//! RFC 6750 §2.1) and client credentials (`PresentedClient::from_request`: HTTP
//! Basic per RFC 6749 §2.3.1, or `client_id`/`client_secret` in the body), each
//! compared with an independent reference.
//!
//! Input: the `Authorization` values separated by `\n` (values `HeaderValue`
//! refuses are skipped), optionally followed by a NUL and a form body.
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;
use shared::clients::PresentedClient;
use shared::error::ApiError;
use shared::oauth::{BearerCredentials, FormParameters, bearer_token};

use fuzz_support::{b64, form_encode, is_b64token, ref_decode};

fuzz_target!(
    init: { fuzz_support::maybe_write_seeds(); },
    |data: &[u8]| {
        let (head, body) = match data.iter().position(|b| *b == 0) {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (data, &b""[..]),
        };
        let mut headers = HeaderMap::new();
        let mut values: Vec<HeaderValue> = Vec::new();
        if !head.is_empty() {
            for raw in head.split(|b| *b == b'\n') {
                if let Ok(value) = HeaderValue::from_bytes(raw) {
                    headers.append(header::AUTHORIZATION, value.clone());
                    values.push(value);
                }
            }
        }
        // Other headers never change the answer.
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        let form = FormParameters::parse(body).unwrap_or_default();
        check_bearer(&headers, &values);
        check_client(&headers, &values, &form);
    }
);

/// What `bearer_token` should answer.
#[derive(Debug, PartialEq)]
enum Bearer {
    Absent,
    Token(String),
    Invalid,
}

fn reference_bearer(values: &[HeaderValue]) -> Bearer {
    let value = match values {
        [] => return Bearer::Absent,
        [value] => value,
        _ => return Bearer::Invalid,
    };
    // RFC 6750 §3.1: another scheme is no bearer token, whatever its bytes.
    let bytes = value.as_bytes();
    let (scheme, _) = bytes.split_at(bytes.iter().position(|&b| b == b' ').unwrap_or(bytes.len()));
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Bearer::Absent;
    }
    let Ok(text) = value.to_str() else {
        return Bearer::Invalid;
    };
    let rest = text.get(7..).unwrap_or("");
    let token = rest.trim_start_matches(' ');
    if is_b64token(token) {
        Bearer::Token(token.to_owned())
    } else {
        Bearer::Invalid
    }
}

fn check_bearer(headers: &HeaderMap, values: &[HeaderValue]) {
    let expected = reference_bearer(values);
    let actual = match bearer_token(headers) {
        Ok(BearerCredentials::Absent) => Bearer::Absent,
        Ok(BearerCredentials::Token(token)) => {
            // The token is a slice of the header value, which is printable ASCII.
            assert!(values[0].to_str().unwrap().ends_with(token));
            Bearer::Token(token.to_owned())
        }
        Err(error) => {
            assert!(matches!(error, ApiError::InvalidRequest(_)), "{error:?}");
            let response = shared::http::error_response(&error, "example");
            assert_eq!(response.status(), 400);
            assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
            Bearer::Invalid
        }
    };
    assert_eq!(actual, expected, "values {values:?}");
}

/// What the Basic header should yield: `None` (absent or another scheme),
/// `Some(Ok((id, secret)))`, or an error.
type Basic = Option<Result<(String, String), ApiError>>;

fn reference_basic(values: &[HeaderValue]) -> Basic {
    let value = match values {
        [] => return None,
        [value] => value,
        _ => return Some(Err(ApiError::invalid_request("repeated"))),
    };
    let bytes = value.as_bytes();
    let scheme_is_basic = bytes.len() >= 5
        && bytes[..5].eq_ignore_ascii_case(b"basic")
        && matches!(bytes.get(5), None | Some(b' ' | b'\t'));
    if !scheme_is_basic {
        return None;
    }
    let refused = Some(Err(ApiError::InvalidClient));
    let Ok(text) = value.to_str() else {
        return refused;
    };
    let Ok(decoded) = STANDARD.decode(text[5..].trim()) else {
        return refused;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return refused;
    };
    let Some((raw_id, raw_secret)) = decoded.split_once(':') else {
        return refused;
    };
    let unescape = |raw: &str| {
        if raw.contains('&') || raw.contains('=') {
            None
        } else {
            ref_decode(raw.as_bytes())
        }
    };
    match (unescape(raw_id), unescape(raw_secret)) {
        (Some(id), Some(secret)) if !id.is_empty() => Some(Ok((id, secret))),
        _ => refused,
    }
}

/// What `PresentedClient::from_request` should answer: `Ok((id, Some(secret)))` for
/// a client with a secret, `Ok((id, None))` for a public client.
fn reference_client(
    values: &[HeaderValue],
    form: &FormParameters,
) -> Result<(String, Option<String>), ApiError> {
    let basic = match reference_basic(values) {
        Some(Err(error)) => return Err(error),
        Some(Ok(pair)) => Some(pair),
        None => None,
    };
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    match (basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => Err(ApiError::invalid_request("both")),
        (Some((id, _)), Some(other), None) if other != id => {
            Err(ApiError::invalid_request("differs"))
        }
        (Some((id, secret)), _, None) => Ok((id, Some(secret))),
        (None, Some(id), Some(secret)) => Ok((id.to_owned(), Some(secret.to_owned()))),
        (None, Some(id), None) => Ok((id.to_owned(), None)),
        (None, None, Some(_)) => Err(ApiError::invalid_request("secret alone")),
        (None, None, None) => Err(ApiError::InvalidClient),
    }
}

fn presented(
    result: Result<PresentedClient, ApiError>,
) -> Result<(String, Option<String>), ApiError> {
    result.map(|client| {
        let debug = format!("{client:?}");
        match client {
            PresentedClient::Public { client_id } => {
                assert_eq!(debug, format!("Public {{ client_id: {client_id:?} }}"));
                (client_id, None)
            }
            PresentedClient::WithSecret { client_id, secret } => {
                // The Debug output never shows the secret.
                assert_eq!(
                    debug,
                    format!("WithSecret {{ client_id: {client_id:?}, secret: \"<redacted>\" }}")
                );
                (client_id, Some(secret.expose_secret().to_owned()))
            }
        }
    })
}

fn same_kind(a: &ApiError, b: &ApiError) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn check_client(headers: &HeaderMap, values: &[HeaderValue], form: &FormParameters) {
    let expected = reference_client(values, form);
    let actual = presented(PresentedClient::from_request(headers, form));
    match (&actual, &expected) {
        (Ok(a), Ok(e)) => assert_eq!(a, e, "values {values:?}"),
        (Err(a), Err(e)) => {
            assert!(same_kind(a, e), "got {a:?}, expected {e:?} for {values:?}");
            let status = shared::http::error_response(a, "").status();
            assert!(status == 400 || status == 401, "{status}");
        }
        _ => panic!("got {actual:?}, expected {expected:?} for values {values:?}"),
    }

    // Round trip: credentials read from a Basic header, encoded again as a client
    // would (form-urlencode each part, then base64), read back the same.
    if let Some(Ok((id, secret))) = reference_basic(values) {
        let encoded = format!("{}:{}", form_encode(&id), form_encode(&secret));
        let mut again = HeaderMap::new();
        again.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {}", b64(encoded.as_bytes()))).unwrap(),
        );
        let reread = presented(PresentedClient::from_request(
            &again,
            &FormParameters::default(),
        ));
        assert_eq!(reread, Ok((id, Some(secret))));
    }
}

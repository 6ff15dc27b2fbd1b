//! The form-body parser (`FormParameters::parse`), the token request read from it
//! (`TokenRequest::from_form`), the scope parser and the credentials-in-the-URL check,
//! compared with the independent reference parser in `fuzz_support`.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;
use shared::error::ApiError;
use shared::oauth::{
    FormParameters, MAX_BODY_BYTES, ScopeSet, TokenRequest, form_post, query_parameter_among,
    reject_credentials_in_query,
};

use fuzz_support::{form_encode_pairs, is_scope_token, ref_decode, ref_parse_form};

/// The reference's own copy of the parameters that must never travel in a URI
/// (RFC 6749 §2.3.1, §3.2), written out again on purpose: an oracle that imported
/// `shared`'s private list would agree with any mistake made in it.
const FORBIDDEN_IN_URI: [&str; 7] = [
    "token",
    "password",
    "username",
    "client_secret",
    "refresh_token",
    "grant_type",
    "access_token",
];

fuzz_target!(
    init: { fuzz_support::maybe_write_seeds(); },
    |data: &[u8]| {
        check_form(data);
        if let Ok(text) = std::str::from_utf8(data) {
            check_query(text);
            check_scope(text);
        }
    }
);

fn assert_invalid_request(error: &ApiError, context: &str) {
    assert!(
        matches!(error, ApiError::InvalidRequest(_)),
        "{context}: expected invalid_request, got {error:?}"
    );
    let response = shared::http::error_response(error, "");
    assert_eq!(response.status(), 400);
    let body: serde_json::Value =
        serde_json::from_str(response.body()).expect("error body is JSON");
    assert_eq!(body["error"], "invalid_request");
}

fn check_form(data: &[u8]) {
    let parsed = FormParameters::parse(data);
    let reference = ref_parse_form(data);
    let (form, pairs) = match (parsed, reference) {
        (Ok(form), Some(pairs)) => (form, pairs),
        (Err(error), None) => {
            assert_invalid_request(&error, "parse");
            return;
        }
        (Ok(_), None) => panic!("the parser accepted a body the reference refuses"),
        (Err(error), Some(pairs)) => {
            panic!("the parser refused ({error:?}) a body the reference reads as {pairs:?}")
        }
    };
    for (name, value) in &pairs {
        let expected = (!value.is_empty()).then_some(value.as_str());
        assert_eq!(form.get(name), expected, "get({name:?})");
    }
    let absent = "\u{0}not-a-parameter";
    if !pairs.iter().any(|(n, _)| n == absent) {
        assert_eq!(form.get(absent), None);
    }

    // Round trip: canonically re-encoded, the same parameters come back.
    let encoded = form_encode_pairs(&pairs);
    let again = FormParameters::parse(encoded.as_bytes()).expect("re-encoded body parses");
    for (name, _) in &pairs {
        assert_eq!(again.get(name), form.get(name), "round trip of {name:?}");
    }

    // The endpoint's wrapper reads the same form, or refuses an oversized body.
    let request = http::Request::post("/token")
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body(Bytes::copy_from_slice(data))
        .expect("request");
    match form_post(&request) {
        Ok(posted) => {
            assert!(data.len() <= MAX_BODY_BYTES);
            for (name, _) in &pairs {
                assert_eq!(posted.get(name), form.get(name));
            }
        }
        Err(ApiError::PayloadTooLarge) => assert!(data.len() > MAX_BODY_BYTES),
        Err(other) => panic!("form_post refused a well-formed small form: {other:?}"),
    }

    check_token_request(&form);
}

fn check_token_request(form: &FormParameters) {
    let grant_type = form.get("grant_type");
    let result = TokenRequest::from_form(form);
    let request = match result {
        Ok(request) => request,
        Err(ApiError::InvalidRequest(_)) => return,
        Err(ApiError::UnsupportedGrantType) => {
            assert!(
                !matches!(
                    grant_type,
                    None | Some("password" | "refresh_token" | "client_credentials")
                ),
                "unsupported_grant_type for {grant_type:?}"
            );
            return;
        }
        Err(ApiError::InvalidScope(_)) => {
            let scope = form.get("scope").expect("invalid_scope without a scope");
            assert!(
                scope
                    .split(' ')
                    .any(|t| !t.is_empty() && !is_scope_token(t))
            );
            return;
        }
        Err(other) => panic!("from_form returned {other:?}"),
    };
    assert_eq!(Some(request.grant_type().as_str()), grant_type);
    let scope = match &request {
        TokenRequest::Password(grant) => {
            assert_eq!(Some(grant.username.as_str()), form.get("username"));
            assert_eq!(Some(grant.password.expose_secret()), form.get("password"));
            // The Debug output never shows the password.
            assert_eq!(
                format!("{grant:?}"),
                format!(
                    "PasswordGrantRequest {{ username: {:?}, password: \"<redacted>\", scope: {:?} }}",
                    grant.username, grant.scope
                )
            );
            &grant.scope
        }
        TokenRequest::RefreshToken(grant) => {
            assert_eq!(
                Some(grant.refresh_token.expose_secret()),
                form.get("refresh_token")
            );
            &grant.scope
        }
        TokenRequest::ClientCredentials { scope } => scope,
    };
    match (scope, form.get("scope")) {
        (None, None) => {}
        (Some(set), Some(raw)) => {
            let tokens: std::collections::BTreeSet<&str> =
                raw.split(' ').filter(|t| !t.is_empty()).collect();
            assert_eq!(
                set.iter().collect::<std::collections::BTreeSet<_>>(),
                tokens
            );
            assert_eq!(ScopeSet::parse(&set.to_string()).as_ref(), Ok(set));
        }
        (set, raw) => panic!("scope {set:?} from parameter {raw:?}"),
    }
}

/// `reject_credentials_in_query` against a reference: the first parameter whose
/// (leniently) decoded name is one of the forbidden ones.
fn check_query(query: &str) {
    let expected = query.split('&').find_map(|field| {
        let raw_name = field.split('=').next().unwrap_or("");
        let name = ref_decode(raw_name.as_bytes()).unwrap_or_default();
        FORBIDDEN_IN_URI.contains(&name.as_str()).then_some(name)
    });
    assert_eq!(
        query_parameter_among(Some(query), &FORBIDDEN_IN_URI),
        expected
    );
    match reject_credentials_in_query(Some(query)) {
        Ok(()) => assert!(expected.is_none()),
        Err(error) => {
            assert!(expected.is_some());
            assert_invalid_request(&error, "query");
        }
    }
}

fn check_scope(value: &str) {
    match ScopeSet::parse(value) {
        Ok(set) => {
            assert!(set.iter().all(is_scope_token));
            assert!(
                value
                    .split(' ')
                    .filter(|t| !t.is_empty())
                    .all(|t| set.contains(t))
            );
            let printed = set.to_string();
            assert_eq!(ScopeSet::parse(&printed).as_ref(), Ok(&set));
            assert_eq!(set.is_empty(), printed.is_empty());
            assert!(set.is_subset(&set));
        }
        Err(ApiError::InvalidScope(_)) => {
            assert!(
                value
                    .split(' ')
                    .any(|t| !t.is_empty() && !is_scope_token(t))
            );
        }
        Err(other) => panic!("ScopeSet::parse returned {other:?}"),
    }
}

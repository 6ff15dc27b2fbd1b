//! Properties of the parsers that face the internet, checked on thousands of
//! generated inputs per run (proptest): none panics on any input, and what they
//! accept means what it says. `cargo fuzz` goes further outside CI.

use proptest::prelude::*;

use crate::clients::PresentedClient;
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

proptest! {
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

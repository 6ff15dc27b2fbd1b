//! Access-token verification (`TokenVerifier::verify`) on arbitrary strings, with an
//! ES256 verifier (two keys, as during a rotation) and an HS256 verifier.
//!
//! The oracle: nobody but `fuzz_support` holds the signing keys, so every token the
//! verifier accepts must carry the signing input (header and payload segments,
//! byte for byte) of one of the hand-built seed tokens, and must satisfy every
//! RFC 8725 / RFC 9068 rule, checked again here on the decoded JSON. Refusals must
//! be `TokenError`s that map to a 401 `invalid_token`.
#![no_main]

use std::collections::HashSet;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shared::error::ApiError;
use shared::tokens::{MAX_TOKEN_BYTES, TokenError, TokenVerifier};

struct Fixture {
    es256: TokenVerifier,
    hs256: TokenVerifier,
    known: HashSet<String>,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let fixture = Fixture {
            es256: fuzz_support::es256_verifier(),
            hs256: fuzz_support::hs256_verifier(),
            known: fuzz_support::known_signing_inputs(),
        };
        // The seeds themselves behave as labelled, or the oracle means nothing.
        for (name, token) in fuzz_support::seed_tokens() {
            let verifier = if name.starts_with("hs256") {
                &fixture.hs256
            } else {
                &fixture.es256
            };
            let expect_ok = matches!(
                name,
                "es256-valid"
                    | "es256-valid-application-type-aud-array"
                    | "es256-extra-claim"
                    | "hs256-valid"
            );
            assert_eq!(verifier.verify(&token).is_ok(), expect_ok, "seed {name}");
        }
        fixture
    })
}

fuzz_target!(
    init: {
        fuzz_support::maybe_write_seeds();
        fixture();
    },
    |data: &[u8]| {
        let Ok(token) = std::str::from_utf8(data) else { return };
        let fixture = fixture();
        check(&fixture.es256, "ES256", token, &fixture.known);
        check(&fixture.hs256, "HS256", token, &fixture.known);
    }
);

fn check(verifier: &TokenVerifier, alg: &str, token: &str, known: &HashSet<String>) {
    let result = verifier.verify(token);
    if token.len() > MAX_TOKEN_BYTES || token.split('.').count() != 3 {
        assert_eq!(result, Err(TokenError::Malformed));
        return;
    }
    let claims = match result {
        Ok(claims) => claims,
        Err(error) => {
            assert_ne!(error, TokenError::SigningFailed);
            let response = shared::http::error_response(
                &ApiError::InvalidToken(error.description()),
                "example",
            );
            assert_eq!(response.status(), 401);
            assert!(
                response
                    .headers()
                    .contains_key(http::header::WWW_AUTHENTICATE)
            );
            return;
        }
    };
    let input = &token[..token.rfind('.').unwrap()];
    assert!(
        known.contains(input),
        "accepted a token nobody signed: {token}"
    );
    fuzz_support::assert_accepted_token_is_valid(alg, token, &claims);
}

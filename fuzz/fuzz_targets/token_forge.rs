//! Structure-aware token verification: the fuzzer chooses the header fields, the
//! claims and how the token is signed (the real ES256 or HS256 key, a key the
//! verifier does not have, HMAC keyed with the public key, raw bytes), so that the
//! checks behind a valid signature (typ, kid, forbidden headers, iss, aud, exp,
//! nbf, iat, sub, jti, duplicate keys, odd JSON types) are reached on every run.
//!
//! Oracles:
//! - a token the verifier accepts was signed with the verifier's own key and
//!   passes every rule, checked again on the decoded JSON;
//! - a token built exactly as the signer builds it, with sane times, is accepted
//!   with exactly its claims (no false refusal);
//! - `TokenSigner::issue` then `verify` gives back the issued claims for any
//!   subject, username, client id and valid scope.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use jsonwebtoken::{Algorithm, EncodingKey};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::oauth::ScopeSet;
use shared::tokens::{TokenError, TokenSigner, TokenVerifier};

use fuzz_support::{
    AUDIENCE, ES256_KEY_ID, ES256_OTHER_KEY_ID, ES256_PUBLIC_PEM, HS256_KEY_ID, ISSUER, b64url,
    signing_input,
};

struct Fixture {
    es256: TokenVerifier,
    hs256: TokenVerifier,
    signer: TokenSigner,
    es256_key: EncodingKey,
    hs256_key: EncodingKey,
    /// A P-256 key the verifier does not have.
    stranger_key: EncodingKey,
    /// HMAC keyed with the ES256 public key's PEM: the classic key confusion.
    confused_key: EncodingKey,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let stranger = shared::keys::generate(shared::keys::SigningAlgorithm::Es256).unwrap();
        Fixture {
            es256: fuzz_support::es256_verifier(),
            hs256: fuzz_support::hs256_verifier(),
            signer: fuzz_support::es256_signer(3600),
            es256_key: fuzz_support::es256_encoding_key(),
            hs256_key: fuzz_support::hs256_encoding_key(),
            stranger_key: EncodingKey::from_ec_pem(
                secrecy::ExposeSecret::expose_secret(&stranger.signing_key).as_bytes(),
            )
            .unwrap(),
            confused_key: EncodingKey::from_secret(ES256_PUBLIC_PEM.as_bytes()),
        }
    })
}

#[derive(Arbitrary, Debug, Clone)]
enum Leaf {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Array(Vec<String>),
    Object(Vec<(String, String)>),
}

impl Leaf {
    fn json(&self) -> Value {
        match self {
            Leaf::Null => Value::Null,
            Leaf::Bool(b) => (*b).into(),
            Leaf::Int(i) => (*i).into(),
            Leaf::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Leaf::Text(s) => s.clone().into(),
            Leaf::Array(items) => items.clone().into(),
            Leaf::Object(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                    .collect(),
            ),
        }
    }
}

/// A string field: the value a valid token has, absent, or something else.
#[derive(Arbitrary, Debug, Clone)]
enum Field<T> {
    Canonical,
    Missing,
    Value(T),
    Other(Leaf),
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Alg {
    Es256,
    Hs256,
    Rs256,
    None,
    LowerEs256,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Typ {
    AtJwt,
    ApplicationAtJwt,
    UpperAtJwt,
    Jwt,
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Kid {
    /// The kid of the signing key chosen below.
    Matching,
    Es256,
    Es256Other,
    Hs256,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Time {
    /// Seconds from now.
    Relative(i32),
    Absolute(i64),
}

#[derive(Arbitrary, Debug, Clone)]
enum Aud {
    Ours,
    Array {
        before: Vec<String>,
        ours: bool,
        after: Vec<String>,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy, PartialEq)]
enum Signature {
    Es256,
    Hs256,
    Stranger,
    Confused,
}

#[derive(Arbitrary, Debug)]
enum Tail {
    Signed(Signature),
    Raw(Vec<u8>),
    Text(String),
}

#[derive(Arbitrary, Debug)]
struct Input {
    alg: Field<Alg>,
    typ: Field<Typ>,
    kid: Field<Kid>,
    extra_header: Vec<(String, Leaf)>,
    iss: Field<String>,
    sub: Field<String>,
    aud: Field<Aud>,
    exp: Field<Time>,
    iat: Field<Time>,
    nbf: Option<Field<Time>>,
    jti: Field<String>,
    client_id: Option<String>,
    scope: Option<String>,
    username: Option<String>,
    extra_claims: Vec<(String, Leaf)>,
    /// Used instead of the built header/payload when present.
    raw_header: Option<Vec<u8>>,
    raw_payload: Option<Vec<u8>>,
    tail: Tail,
    // For the issue/verify round trip.
    rt_subject: String,
    rt_username: Option<String>,
    rt_client_id: Option<String>,
    rt_scope: String,
}

fuzz_target!(
    init: {
        fuzz_support::maybe_write_seeds();
        fixture();
    },
    |input: Input| {
        let fixture = fixture();
        check_forged(fixture, &input);
        check_round_trip(fixture, &input);
    }
);

/// JSON object text with the entries in this order, duplicates kept.
fn object(entries: &[(String, Value)]) -> Vec<u8> {
    let body: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), v))
        .collect();
    format!("{{{}}}", body.join(",")).into_bytes()
}

fn time_value(time: Time, now: i64) -> i64 {
    match time {
        Time::Relative(delta) => now + delta as i64,
        Time::Absolute(t) => t,
    }
}

/// Pushes `name` unless the field is missing; records whether it is canonical.
fn field<T>(
    entries: &mut Vec<(String, Value)>,
    name: &str,
    value: &Field<T>,
    canonical: Value,
    render: impl Fn(&T) -> Value,
) {
    let json = match value {
        Field::Canonical => canonical,
        Field::Missing => return,
        Field::Value(v) => render(v),
        Field::Other(leaf) => leaf.json(),
    };
    entries.push((name.to_owned(), json));
}

fn check_forged(fixture: &Fixture, input: &Input) {
    let now = fuzz_support::now();
    let signature = match input.tail {
        Tail::Signed(s) => Some(s),
        _ => None,
    };
    let signing_alg = match signature {
        Some(Signature::Hs256 | Signature::Confused) => "HS256",
        _ => "ES256",
    };
    let matching_kid = match signature {
        Some(Signature::Hs256) => HS256_KEY_ID,
        _ => ES256_KEY_ID,
    };

    let mut header = Vec::new();
    field(&mut header, "alg", &input.alg, signing_alg.into(), |a| {
        match a {
            Alg::Es256 => "ES256",
            Alg::Hs256 => "HS256",
            Alg::Rs256 => "RS256",
            Alg::None => "none",
            Alg::LowerEs256 => "es256",
        }
        .into()
    });
    field(&mut header, "typ", &input.typ, "at+jwt".into(), |t| {
        match t {
            Typ::AtJwt => "at+jwt",
            Typ::ApplicationAtJwt => "application/at+jwt",
            Typ::UpperAtJwt => "AT+JWT",
            Typ::Jwt => "JWT",
        }
        .into()
    });
    field(&mut header, "kid", &input.kid, matching_kid.into(), |k| {
        match k {
            Kid::Matching => matching_kid,
            Kid::Es256 => ES256_KEY_ID,
            Kid::Es256Other => ES256_OTHER_KEY_ID,
            Kid::Hs256 => HS256_KEY_ID,
        }
        .into()
    });
    for (k, v) in &input.extra_header {
        header.push((k.clone(), v.json()));
    }

    let mut claims = Vec::new();
    field(&mut claims, "iss", &input.iss, ISSUER.into(), |s| {
        s.clone().into()
    });
    field(&mut claims, "sub", &input.sub, "usr_fuzz".into(), |s| {
        s.clone().into()
    });
    field(
        &mut claims,
        "aud",
        &input.aud,
        AUDIENCE.into(),
        |a| match a {
            Aud::Ours => AUDIENCE.into(),
            Aud::Array {
                before,
                ours,
                after,
            } => {
                let mut all = before.clone();
                if *ours {
                    all.push(AUDIENCE.to_owned());
                }
                all.extend(after.iter().cloned());
                all.into()
            }
        },
    );
    field(&mut claims, "exp", &input.exp, (now + 600).into(), |t| {
        time_value(*t, now).into()
    });
    field(&mut claims, "iat", &input.iat, (now - 600).into(), |t| {
        time_value(*t, now).into()
    });
    if let Some(nbf) = &input.nbf {
        field(&mut claims, "nbf", nbf, (now - 600).into(), |t| {
            time_value(*t, now).into()
        });
    }
    field(&mut claims, "jti", &input.jti, "jti-fuzz".into(), |s| {
        s.clone().into()
    });
    for (name, value) in [
        ("client_id", &input.client_id),
        ("scope", &input.scope),
        ("username", &input.username),
    ] {
        if let Some(v) = value {
            claims.push((name.to_owned(), v.clone().into()));
        }
    }
    for (k, v) in &input.extra_claims {
        claims.push((k.clone(), v.json()));
    }

    let header_bytes = input.raw_header.clone().unwrap_or_else(|| object(&header));
    let payload_bytes = input.raw_payload.clone().unwrap_or_else(|| object(&claims));
    let input_text = signing_input(&header_bytes, &payload_bytes);
    let tail = match (&input.tail, signature) {
        (_, Some(s)) => {
            let (key, alg) = match s {
                Signature::Es256 => (&fixture.es256_key, Algorithm::ES256),
                Signature::Hs256 => (&fixture.hs256_key, Algorithm::HS256),
                Signature::Stranger => (&fixture.stranger_key, Algorithm::ES256),
                Signature::Confused => (&fixture.confused_key, Algorithm::HS256),
            };
            jsonwebtoken::crypto::sign(input_text.as_bytes(), key, alg).unwrap()
        }
        (Tail::Raw(bytes), None) => b64url(bytes),
        (Tail::Text(text), None) => text.clone(),
        (Tail::Signed(_), None) => unreachable!(),
    };
    let token = format!("{input_text}.{tail}");

    for (verifier, alg, own_signature) in [
        (&fixture.es256, "ES256", Signature::Es256),
        (&fixture.hs256, "HS256", Signature::Hs256),
    ] {
        let result = verifier.verify(&token);
        if let Ok(claims) = &result {
            assert_eq!(
                signature,
                Some(own_signature),
                "{alg} accepted a token it did not sign"
            );
            fuzz_support::assert_accepted_token_is_valid(alg, &token, claims);
        }
        if signature == Some(own_signature) && must_accept(input, now) {
            let claims =
                result.unwrap_or_else(|e| panic!("{alg} refused a valid token ({e:?}): {token}"));
            let expected: shared::tokens::AccessTokenClaims =
                serde_json::from_slice(&payload_bytes).unwrap();
            assert_eq!(claims, expected);
        }
    }
}

/// A token built exactly like the signer's, with sane values, must be accepted.
fn must_accept(input: &Input, now: i64) -> bool {
    fn time(field: &Field<Time>, now: i64, canonical: i64) -> Option<i64> {
        match field {
            Field::Canonical => Some(canonical),
            Field::Value(t) => Some(time_value(*t, now)),
            _ => None,
        }
    }
    let reserved = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "client_id",
        "scope",
        "username",
    ];
    let header_ok = matches!(input.alg, Field::Canonical)
        && matches!(
            input.typ,
            Field::Canonical | Field::Value(Typ::AtJwt | Typ::ApplicationAtJwt | Typ::UpperAtJwt)
        )
        && matches!(input.kid, Field::Canonical | Field::Value(Kid::Matching))
        && input.extra_header.is_empty()
        && input.raw_header.is_none();
    let sane_string = |f: &Field<String>| match f {
        Field::Canonical => true,
        Field::Value(s) => !s.is_empty(),
        _ => false,
    };
    let exp_ok = time(&input.exp, now, now + 600).is_some_and(|t| t >= now + 120);
    let iat_ok = time(&input.iat, now, now - 600).is_some_and(|t| t <= now - 120);
    let nbf_ok = match &input.nbf {
        None => true,
        Some(f) => time(f, now, now - 600).is_some_and(|t| (0..=now - 120).contains(&t)),
    };
    let aud_ok = match &input.aud {
        Field::Canonical | Field::Value(Aud::Ours) => true,
        Field::Value(Aud::Array { ours, .. }) => *ours,
        _ => false,
    };
    header_ok
        && input.raw_payload.is_none()
        && matches!(input.iss, Field::Canonical)
        && sane_string(&input.sub)
        && sane_string(&input.jti)
        && aud_ok
        && exp_ok
        && iat_ok
        && nbf_ok
        && input
            .extra_claims
            .iter()
            .all(|(k, _)| !reserved.contains(&k.as_str()))
}

fn check_round_trip(fixture: &Fixture, input: &Input) {
    let Ok(scope) = ScopeSet::parse(&input.rt_scope) else {
        return;
    };
    let issued = fixture
        .signer
        .issue(
            &input.rt_subject,
            input.rt_username.as_deref(),
            input.rt_client_id.as_deref(),
            &scope,
        )
        .expect("issue");
    let result = fixture.es256.verify(&issued.access_token);
    if input.rt_subject.is_empty() {
        assert_eq!(result, Err(TokenError::MissingClaim));
    } else if issued.access_token.len() > shared::tokens::MAX_TOKEN_BYTES {
        assert_eq!(result, Err(TokenError::Malformed));
    } else {
        assert_eq!(result.as_ref(), Ok(&issued.claims), "round trip");
        for token in scope.iter() {
            assert!(issued.claims.require_scope(token).is_ok());
        }
    }
}

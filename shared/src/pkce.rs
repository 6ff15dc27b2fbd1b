//! Proof Key for Code Exchange (RFC 7636), required of every client, public or
//! confidential (RFC 9700 §2.1.1), with the `S256` method only: `plain` would show
//! the verifier to anyone who sees the authorization request.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A `code_challenge` with method `S256`: BASE64URL(SHA256(verifier)), always 43
/// characters (RFC 7636 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

/// Why an authorization request's PKCE parameters were refused (`invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error("code_challenge is required (PKCE, RFC 7636)")]
    Missing,
    /// RFC 7636 §4.3: an omitted method means `plain`, which is refused too.
    #[error("code_challenge_method must be S256")]
    MethodNotS256,
    #[error("code_challenge must be 43 base64url characters (S256)")]
    Malformed,
}

impl CodeChallenge {
    pub const LEN: usize = 43;

    /// Reads the challenge and its method from an authorization request.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Self, ChallengeError> {
        let challenge = challenge.ok_or(ChallengeError::Missing)?;
        if method != Some("S256") {
            return Err(ChallengeError::MethodNotS256);
        }
        Self::from_stored(challenge).ok_or(ChallengeError::Malformed)
    }

    /// A challenge read back from the store; `None` if it is not one.
    pub fn from_stored(value: &str) -> Option<Self> {
        // 43 characters of base64url carry 258 bits: the last character may hold only
        // the two bits of a 32-byte digest, so it must decode to exactly 32 bytes.
        let ok = value.len() == Self::LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD
                .decode(value)
                .is_ok_and(|bytes| bytes.len() == 32);
        ok.then(|| CodeChallenge(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The challenge of a verifier (what a client computes).
    pub fn of_verifier(verifier: &str) -> Self {
        CodeChallenge(URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes())))
    }

    /// Whether `verifier` is well-formed (RFC 7636 §4.1: 43 to 128 characters from
    /// `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`) and hashes to this challenge.
    pub fn is_satisfied_by(&self, verifier: &str) -> bool {
        is_well_formed_verifier(verifier)
            && aws_lc_rs::constant_time::verify_slices_are_equal(
                Self::of_verifier(verifier).0.as_bytes(),
                self.0.as_bytes(),
            )
            .is_ok()
    }
}

/// RFC 7636 §4.1 `code-verifier = 43*128unreserved`.
pub fn is_well_formed_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A fresh verifier (32 random bytes, base64url: 43 characters), for the local
/// server's banner and tests.
pub fn new_verifier() -> String {
    crate::random_token(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B: the example verifier and its S256 challenge.
    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_example_verifies() {
        let challenge = CodeChallenge::parse(Some(RFC_CHALLENGE), Some("S256")).unwrap();
        assert_eq!(CodeChallenge::of_verifier(RFC_VERIFIER), challenge);
        assert!(challenge.is_satisfied_by(RFC_VERIFIER));
        assert!(!challenge.is_satisfied_by(&RFC_VERIFIER.replace('d', "e")));
    }

    #[test]
    fn rfc7636_4_3_missing_challenge_plain_or_no_method_is_refused() {
        assert_eq!(
            CodeChallenge::parse(None, Some("S256")),
            Err(ChallengeError::Missing)
        );
        assert_eq!(
            CodeChallenge::parse(Some(RFC_CHALLENGE), None),
            Err(ChallengeError::MethodNotS256)
        );
        assert_eq!(
            CodeChallenge::parse(Some(RFC_CHALLENGE), Some("plain")),
            Err(ChallengeError::MethodNotS256)
        );
        assert_eq!(
            CodeChallenge::parse(Some(RFC_CHALLENGE), Some("s256")),
            Err(ChallengeError::MethodNotS256)
        );
    }

    #[test]
    fn rfc7636_4_2_challenge_is_43_base64url_characters() {
        for bad in [
            &RFC_CHALLENGE[..42],
            &format!("{RFC_CHALLENGE}A"),
            &RFC_CHALLENGE.replace('-', "+"),
            &RFC_CHALLENGE.replace('E', "="),
            // 43 characters whose last one carries bits past a 32-byte digest.
            &format!("{}N", &RFC_CHALLENGE[..42]),
        ] {
            assert_eq!(
                CodeChallenge::parse(Some(bad), Some("S256")),
                Err(ChallengeError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn rfc7636_4_1_verifier_is_43_to_128_unreserved_characters() {
        let challenge = |v: &str| CodeChallenge::of_verifier(v);
        for ok in ["a".repeat(43), "Z~._-9".repeat(20) + "abcdefgh"] {
            assert!(ok.len() <= 128);
            assert!(challenge(&ok).is_satisfied_by(&ok), "{ok}");
        }
        for bad in [
            "a".repeat(42),
            "a".repeat(129),
            format!("{}+", "a".repeat(43)),
        ] {
            // Even a verifier that hashes to the challenge is refused if malformed.
            assert!(!challenge(&bad).is_satisfied_by(&bad), "{bad}");
        }
        let fresh = new_verifier();
        assert!(is_well_formed_verifier(&fresh));
        assert_ne!(fresh, new_verifier());
    }
}

//! Signing and verification key material: parsing with strength checks, and
//! generation for development and for `authctl keys generate`.
//!
//! Errors here never include key material, only what is wrong with it.

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKey as RsaPublicKey};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use jsonwebtoken::{Algorithm, DecodingKey};
use secrecy::{ExposeSecret, SecretString};

/// The JWS algorithms this server signs with (RFC 7518 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// ECDSA P-256 with SHA-256: the default; small keys and signatures.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, keys of at least 2048 bits.
    Rs256,
    /// HMAC SHA-256 with a shared secret of at least 32 bytes. Only when configured
    /// explicitly: every verifier then holds a key that can also mint tokens.
    Hs256,
}

impl SigningAlgorithm {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            "HS256" => Some(Self::Hs256),
            _ => None,
        }
    }

    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::Hs256 => "HS256",
        }
    }

    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
            Self::Hs256 => Algorithm::HS256,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("not a PEM document")]
    NotPem,
    #[error("expected a PEM '{expected}' block, found '{found}'")]
    WrongPemType {
        expected: &'static str,
        found: String,
    },
    #[error("not a P-256 (ES256) key")]
    NotP256,
    #[error("not a valid RSA key")]
    NotRsa,
    #[error("the RSA key has {0} bits; at least 2048 are required")]
    RsaTooShort(usize),
    #[error("the HMAC secret has {0} bytes; at least 32 are required")]
    SecretTooShort(usize),
    #[error("key generation failed")]
    GenerationFailed,
}

/// The smallest accepted RSA modulus (RFC 7518 §3.3, NIST SP 800-57).
pub const MIN_RSA_BITS: usize = 2048;
/// The smallest accepted HMAC secret: the hash output size (RFC 7518 §3.2).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

/// The DER prefix of every P-256 `SubjectPublicKeyInfo` (id-ecPublicKey, prime256v1,
/// uncompressed point), followed by the 65-byte point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// PEM from environment variables and one-line parameters (CloudFormation, `.env`
/// files) often arrives without its line breaks, or with literal `\n` sequences.
/// Both are accepted: literal `\n` becomes a newline, and a one-line document
/// (`-----BEGIN X-----<base64>-----END X-----`) is broken back into lines.
fn normalise_pem(value: &str) -> String {
    let value = value.replace("\\n", "\n").trim().to_owned();
    if value.contains('\n') || !value.starts_with("-----BEGIN ") {
        return value;
    }
    let Some(header_end) = value[5..].find("-----").map(|i| i + 10) else {
        return value;
    };
    let Some(footer_start) = value.rfind("-----END ") else {
        return value;
    };
    if footer_start < header_end {
        return value;
    }
    let body: String = value[header_end..footer_start]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    format!(
        "{}\n{body}\n{}",
        &value[..header_end],
        &value[footer_start..]
    )
}

/// The one-line form of a PEM document, for environment files and parameters:
/// no newlines, no escapes, read back by every key parser here.
pub fn one_line_pem(pem: &str) -> String {
    pem.lines().map(str::trim).collect()
}

fn parse_pem(value: &str) -> Result<pem::Pem, KeyError> {
    pem::parse(normalise_pem(value)).map_err(|_| KeyError::NotPem)
}

fn expect_tag(pem: &pem::Pem, expected: &'static [&'static str]) -> Result<(), KeyError> {
    if expected.contains(&pem.tag()) {
        Ok(())
    } else {
        Err(KeyError::WrongPemType {
            expected: expected[0],
            found: pem
                .tag()
                .chars()
                .filter(|c| c.is_ascii_uppercase() || *c == ' ')
                .take(30)
                .collect(),
        })
    }
}

/// A private signing key, parsed and checked once at start-up and then kept parsed.
///
/// aws-lc checks a key's consistency when it parses it (`RSA_check_key` for RSA, the
/// public point against the private scalar for P-256), so a key that parses signs:
/// the function needs no probe signature at start-up. `jsonwebtoken`'s own signer
/// takes the key as DER and parses it again for every token, `RSA_check_key`
/// included, which for RS256 cost more than the signature itself (BENCHMARKS.md,
/// "Cold start").
pub struct SigningKey(SigningKeyPair);

enum SigningKeyPair {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
    Hs256(Box<aws_lc_rs::hmac::Key>),
}

impl SigningKey {
    pub fn algorithm(&self) -> SigningAlgorithm {
        match self.0 {
            SigningKeyPair::Es256(_) => SigningAlgorithm::Es256,
            SigningKeyPair::Rs256(_) => SigningAlgorithm::Rs256,
            SigningKeyPair::Hs256(_) => SigningAlgorithm::Hs256,
        }
    }

    /// The JWS signature of `message` (RFC 7518 §3.2–3.4; for ES256 the fixed-size
    /// `R || S` form that §3.4 requires, not DER).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, aws_lc_rs::error::Unspecified> {
        let random = aws_lc_rs::rand::SystemRandom::new();
        match &self.0 {
            SigningKeyPair::Es256(pair) => Ok(pair.sign(&random, message)?.as_ref().to_vec()),
            SigningKeyPair::Rs256(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &random,
                    message,
                    &mut signature,
                )?;
                Ok(signature)
            }
            SigningKeyPair::Hs256(key) => Ok(aws_lc_rs::hmac::sign(key, message).as_ref().to_vec()),
        }
    }
}

/// Names the algorithm only: never key material.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SigningKey")
            .field(&self.algorithm().name())
            .finish()
    }
}

/// Parses the private signing key, checking its type and strength. ES256 and RS256
/// take PEM (PKCS#8 `PRIVATE KEY`; RS256 also PKCS#1 `RSA PRIVATE KEY`); HS256 takes
/// the secret itself.
pub fn signing_key(
    algorithm: SigningAlgorithm,
    material: &SecretString,
) -> Result<SigningKey, KeyError> {
    let material = material.expose_secret();
    let pair = match algorithm {
        SigningAlgorithm::Es256 => {
            let pem = parse_pem(material)?;
            expect_tag(&pem, &["PRIVATE KEY"])?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pem.contents())
                .map_err(|_| KeyError::NotP256)?;
            SigningKeyPair::Es256(pair)
        }
        SigningAlgorithm::Rs256 => {
            let pem = parse_pem(material)?;
            expect_tag(&pem, &["PRIVATE KEY", "RSA PRIVATE KEY"])?;
            let pair = if pem.tag() == "PRIVATE KEY" {
                RsaKeyPair::from_pkcs8(pem.contents())
            } else {
                RsaKeyPair::from_der(pem.contents())
            }
            .map_err(|_| KeyError::NotRsa)?;
            let bits = pair.public_modulus_len() * 8;
            if bits < MIN_RSA_BITS {
                return Err(KeyError::RsaTooShort(bits));
            }
            SigningKeyPair::Rs256(pair)
        }
        SigningAlgorithm::Hs256 => {
            check_secret(material)?;
            SigningKeyPair::Hs256(Box::new(aws_lc_rs::hmac::Key::new(
                aws_lc_rs::hmac::HMAC_SHA256,
                material.as_bytes(),
            )))
        }
    };
    Ok(SigningKey(pair))
}

/// Parses a verification key: a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) for ES256 and
/// RS256, the shared secret for HS256. A private key is refused here, so that a
/// function that only verifies never holds signing material by mistake.
pub fn verification_key(
    algorithm: SigningAlgorithm,
    material: &str,
) -> Result<DecodingKey, KeyError> {
    match algorithm {
        SigningAlgorithm::Es256 => {
            let pem = p256_public_pem(material)?;
            DecodingKey::from_ec_pem(pem::encode(&pem).as_bytes()).map_err(|_| KeyError::NotP256)
        }
        SigningAlgorithm::Rs256 => {
            let (pem, _) = rsa_public_pem(material)?;
            DecodingKey::from_rsa_pem(pem::encode(&pem).as_bytes()).map_err(|_| KeyError::NotRsa)
        }
        SigningAlgorithm::Hs256 => {
            check_secret(material)?;
            Ok(DecodingKey::from_secret(material.as_bytes()))
        }
    }
}

/// A P-256 `PUBLIC KEY` PEM, checked.
fn p256_public_pem(material: &str) -> Result<pem::Pem, KeyError> {
    let pem = parse_pem(material)?;
    expect_tag(&pem, &["PUBLIC KEY"])?;
    let der = pem.contents();
    if der.len() != P256_SPKI_PREFIX.len() + 65 || !der.starts_with(&P256_SPKI_PREFIX) {
        return Err(KeyError::NotP256);
    }
    Ok(pem)
}

/// An RSA `PUBLIC KEY` PEM of at least [`MIN_RSA_BITS`], checked.
fn rsa_public_pem(material: &str) -> Result<(pem::Pem, RsaPublicKey), KeyError> {
    let pem = parse_pem(material)?;
    expect_tag(&pem, &["PUBLIC KEY"])?;
    let key = RsaPublicKey::from_der(pem.contents()).map_err(|_| KeyError::NotRsa)?;
    let bits = key.modulus_len() * 8;
    if bits < MIN_RSA_BITS {
        return Err(KeyError::RsaTooShort(bits));
    }
    Ok((pem, key))
}

/// The public JSON Web Key (RFC 7517 §4, RFC 7518 §6) of a verification key, for the
/// JWKS document; `None` for HS256, whose shared secret is never published.
pub fn public_jwk(
    algorithm: SigningAlgorithm,
    key_id: &str,
    material: &str,
) -> Result<Option<serde_json::Value>, KeyError> {
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let jwk = match algorithm {
        SigningAlgorithm::Es256 => {
            let pem = p256_public_pem(material)?;
            // The uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
            let point = &pem.contents()[P256_SPKI_PREFIX.len()..];
            if point[0] != 0x04 {
                return Err(KeyError::NotP256);
            }
            serde_json::json!({
                "kty": "EC", "crv": "P-256",
                "x": b64(&point[1..33]), "y": b64(&point[33..65]),
            })
        }
        SigningAlgorithm::Rs256 => {
            let (_, key) = rsa_public_pem(material)?;
            serde_json::json!({
                "kty": "RSA",
                "n": b64(key.modulus().big_endian_without_leading_zero()),
                "e": b64(key.exponent().big_endian_without_leading_zero()),
            })
        }
        SigningAlgorithm::Hs256 => return Ok(None),
    };
    let mut jwk = jwk;
    jwk["kid"] = key_id.into();
    jwk["alg"] = algorithm.name().into();
    jwk["use"] = "sig".into();
    Ok(Some(jwk))
}

fn check_secret(secret: &str) -> Result<(), KeyError> {
    if secret.len() < MIN_HMAC_SECRET_BYTES {
        Err(KeyError::SecretTooShort(secret.len()))
    } else {
        Ok(())
    }
}

/// A fresh key pair in the forms configuration takes.
pub struct GeneratedKey {
    pub algorithm: SigningAlgorithm,
    pub key_id: String,
    /// PEM private key, or the HMAC secret.
    pub signing_key: SecretString,
    /// PEM public key, or (HS256) the same secret.
    pub verification_key: SecretString,
}

impl GeneratedKey {
    /// The settings that configure this key, as `(variable, value)` pairs: the
    /// algorithm, the signing key and its id (token function), and the verification
    /// key set (users-me). PEM values are in one-line form (see [`one_line_pem`]).
    pub fn environment(&self) -> [(&'static str, String); 4] {
        let verification = serde_json::json!({
            self.key_id.clone(): one_line_pem(self.verification_key.expose_secret())
        });
        [
            ("JWT_ALGORITHM", self.algorithm.name().to_owned()),
            ("JWT_SIGNING_KEY_ID", self.key_id.clone()),
            (
                "JWT_SIGNING_KEY",
                one_line_pem(self.signing_key.expose_secret()),
            ),
            ("JWT_VERIFICATION_KEYS", verification.to_string()),
        ]
    }
}

/// Generates a key with a random key id. RS256 keys are 2048 bits.
pub fn generate(algorithm: SigningAlgorithm) -> Result<GeneratedKey, KeyError> {
    let (private_pem, public_pem) = match algorithm {
        SigningAlgorithm::Es256 => {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| KeyError::GenerationFailed)?;
            let private = pair.to_pkcs8v1().map_err(|_| KeyError::GenerationFailed)?;
            let public: PublicKeyX509Der = pair
                .public_key()
                .as_der()
                .map_err(|_| KeyError::GenerationFailed)?;
            (
                pem_string("PRIVATE KEY", private.as_ref()),
                pem_string("PUBLIC KEY", public.as_ref()),
            )
        }
        SigningAlgorithm::Rs256 => {
            let pair =
                RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::GenerationFailed)?;
            let private: aws_lc_rs::encoding::Pkcs8V1Der =
                pair.as_der().map_err(|_| KeyError::GenerationFailed)?;
            let public: PublicKeyX509Der = pair
                .public_key()
                .as_der()
                .map_err(|_| KeyError::GenerationFailed)?;
            (
                pem_string("PRIVATE KEY", private.as_ref()),
                pem_string("PUBLIC KEY", public.as_ref()),
            )
        }
        SigningAlgorithm::Hs256 => {
            let secret = crate::random_token(32);
            (secret.clone(), secret)
        }
    };
    Ok(GeneratedKey {
        algorithm,
        key_id: crate::random_token(9),
        signing_key: SecretString::from(private_pem),
        verification_key: SecretString::from(public_pem),
    })
}

/// PEM with `\n` line endings (the `pem` crate's default is `\r\n`, which breaks
/// one-line environment files).
fn pem_string(tag: &str, der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new(tag, der.to_vec()), config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn generated_keys_parse_for_every_algorithm() {
        for algorithm in [
            SigningAlgorithm::Es256,
            SigningAlgorithm::Rs256,
            SigningAlgorithm::Hs256,
        ] {
            let key = generate(algorithm).unwrap();
            assert!(
                signing_key(algorithm, &key.signing_key).is_ok(),
                "{algorithm:?}"
            );
            assert!(verification_key(algorithm, key.verification_key.expose_secret()).is_ok());
        }
    }

    #[test]
    fn rfc7517_public_jwks_verify_tokens_and_hold_no_private_material() {
        use jsonwebtoken::jwk::Jwk;
        for algorithm in [SigningAlgorithm::Es256, SigningAlgorithm::Rs256] {
            let key = generate(algorithm).unwrap();
            let jwk = public_jwk(algorithm, &key.key_id, key.verification_key.expose_secret())
                .unwrap()
                .unwrap();
            assert_eq!(jwk["kid"], key.key_id.as_str());
            assert_eq!(jwk["alg"], algorithm.name());
            assert_eq!(jwk["use"], "sig");
            for private_member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(jwk.get(private_member).is_none(), "{private_member}");
            }
            // A token signed with the private key verifies with the JWK alone.
            let mut header = jsonwebtoken::Header::new(algorithm.jwt_algorithm());
            header.kid = Some(key.key_id.clone());
            let claims = serde_json::json!({"sub": "s", "exp": crate::now_unix() + 60});
            let token = crate::tokens::encode_jwt(
                &header,
                &claims,
                &signing_key(algorithm, &key.signing_key).unwrap(),
            )
            .unwrap();
            let parsed: Jwk = serde_json::from_value(jwk).unwrap();
            let decoding = DecodingKey::from_jwk(&parsed).unwrap();
            let mut validation = jsonwebtoken::Validation::new(algorithm.jwt_algorithm());
            validation.required_spec_claims.clear();
            assert!(
                jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).is_ok()
            );
        }
    }

    #[test]
    fn hmac_secrets_are_never_published() {
        let key = generate(SigningAlgorithm::Hs256).unwrap();
        assert_eq!(
            public_jwk(
                SigningAlgorithm::Hs256,
                "k",
                key.verification_key.expose_secret()
            ),
            Ok(None)
        );
    }

    #[test]
    fn generated_pem_has_unix_line_endings() {
        let key = generate(SigningAlgorithm::Es256).unwrap();
        assert!(!key.signing_key.expose_secret().contains('\r'));
        assert!(!key.verification_key.expose_secret().contains('\r'));
    }

    #[test]
    fn pem_with_escaped_newlines_is_accepted() {
        let key = generate(SigningAlgorithm::Es256).unwrap();
        let one_line = key.verification_key.expose_secret().replace('\n', "\\n");
        assert!(verification_key(SigningAlgorithm::Es256, &one_line).is_ok());
    }

    #[test]
    fn one_line_pem_is_accepted() {
        for algorithm in [SigningAlgorithm::Es256, SigningAlgorithm::Rs256] {
            let key = generate(algorithm).unwrap();
            let private = one_line_pem(key.signing_key.expose_secret());
            let public = one_line_pem(key.verification_key.expose_secret());
            assert!(!private.contains('\n') && !public.contains('\n'));
            assert!(
                signing_key(algorithm, &secret(&private)).is_ok(),
                "{algorithm:?}"
            );
            assert!(
                verification_key(algorithm, &public).is_ok(),
                "{algorithm:?}"
            );
        }
    }

    #[test]
    fn private_keys_are_refused_where_public_keys_belong() {
        let key = generate(SigningAlgorithm::Es256).unwrap();
        assert!(matches!(
            verification_key(SigningAlgorithm::Es256, key.signing_key.expose_secret()),
            Err(KeyError::WrongPemType { .. })
        ));
    }

    #[test]
    fn keys_of_the_wrong_family_are_refused() {
        let es = generate(SigningAlgorithm::Es256).unwrap();
        let rs = generate(SigningAlgorithm::Rs256).unwrap();
        assert_eq!(
            signing_key(SigningAlgorithm::Rs256, &es.signing_key).err(),
            Some(KeyError::NotRsa)
        );
        assert_eq!(
            signing_key(SigningAlgorithm::Es256, &rs.signing_key).err(),
            Some(KeyError::NotP256)
        );
        assert_eq!(
            verification_key(SigningAlgorithm::Es256, rs.verification_key.expose_secret()).err(),
            Some(KeyError::NotP256)
        );
        assert_eq!(
            verification_key(SigningAlgorithm::Rs256, es.verification_key.expose_secret()).err(),
            Some(KeyError::NotRsa)
        );
    }

    /// Fixtures: a 1024-bit RSA public key and a P-384 public key, made with openssl.
    const RSA_1024_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQD2c4TWcBk1UfFU6vjx+5ZGlwhF
cl2McdkXsoCSBSatKPOWlVam15LHYrYoNp7pmzW8eaZxPm0I+A+iZWJNYQ4zCM1K
kUzFNwans+cTYFpk1FizDXT6GAfrgcVFGE9YGavMUd84souBt2BZeI+UuMicBwMU
moXtVSF3c/uhN6PlWwIDAQAB
-----END PUBLIC KEY-----";
    const P384_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEdw9WWWRveLsXwZXuaMI+jsDicpnZicrq
ft5C6XarkB4TUu0nTpZ285EzwdpPrrj3OVRuG03ckQd9JbkBr+cbB27rXsM/+5Tc
LeRaLxMmulPckXvTWaoB+hP1x3VlIFmN
-----END PUBLIC KEY-----";

    #[test]
    fn weak_keys_are_refused() {
        assert_eq!(
            verification_key(SigningAlgorithm::Rs256, RSA_1024_PUBLIC).err(),
            Some(KeyError::RsaTooShort(1024))
        );
        assert_eq!(
            verification_key(SigningAlgorithm::Es256, P384_PUBLIC).err(),
            Some(KeyError::NotP256)
        );
        assert_eq!(
            signing_key(SigningAlgorithm::Hs256, &secret(&"x".repeat(31))).err(),
            Some(KeyError::SecretTooShort(31))
        );
        assert!(signing_key(SigningAlgorithm::Hs256, &secret(&"x".repeat(32))).is_ok());
        assert_eq!(
            signing_key(SigningAlgorithm::Es256, &secret("")).err(),
            Some(KeyError::NotPem)
        );
        assert_eq!(
            signing_key(
                SigningAlgorithm::Es256,
                &secret("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
            )
            .err(),
            Some(KeyError::NotP256)
        );
    }

    #[test]
    fn errors_never_contain_key_material() {
        let key = generate(SigningAlgorithm::Rs256).unwrap();
        let err =
            verification_key(SigningAlgorithm::Rs256, key.signing_key.expose_secret()).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("MII"), "{text}");
    }
}

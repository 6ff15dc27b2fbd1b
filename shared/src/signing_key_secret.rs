//! The private signing key in AWS Secrets Manager (`JWT_SIGNING_KEY_SECRET`), so that
//! no Lambda configuration or CloudFormation parameter ever holds it: anyone allowed
//! `lambda:GetFunctionConfiguration` can read a function's environment, but only the
//! token function's role may call `secretsmanager:GetSecretValue` on this secret.
//!
//! The secret is a small JSON document, written by `authctl keys generate
//! --to-secret NAME`:
//!
//! ```json
//! {"alg": "RS256", "kid": "tdqDY9AhXmgR", "pem": "-----BEGIN PRIVATE KEY-----\n..."}
//! ```
//!
//! The token function reads its current version (`AWSCURRENT`) once, at cold start,
//! and refuses to start (naming the setting, never the value) when the secret is
//! missing, unreadable, malformed, of another algorithm than `JWT_ALGORITHM`, or weak.
//! A rotation stages the next key as `AWSPENDING` first (`--pending`), so that its
//! public key can be published before any token is signed with it, then makes it
//! current (`authctl keys activate`); see the README.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::Region;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Environment, signing_algorithm};
use crate::keys::GeneratedKey;

/// The setting naming the secret (a name or an ARN).
pub const SECRET_VARIABLE: &str = "JWT_SIGNING_KEY_SECRET";
/// Endpoint override for a local Secrets Manager stand-in (tests, development).
pub const ENDPOINT_VARIABLE: &str = "SECRETS_MANAGER_ENDPOINT";

/// The secret's JSON content.
#[derive(Serialize, Deserialize)]
struct SecretDocument {
    alg: String,
    kid: String,
    pem: String,
}

/// A signing key read from the secret.
pub struct SigningKeyFromSecret {
    pub algorithm: String,
    pub key_id: String,
    pub pem: SecretString,
}

/// The environment, with `JWT_SIGNING_KEY` and `JWT_SIGNING_KEY_ID` answered from
/// the secret: the rest of the configuration code reads the key as it always has.
pub struct EnvironmentWithSecretKey<'a> {
    base: &'a dyn Environment,
    key: SigningKeyFromSecret,
}

impl Environment for EnvironmentWithSecretKey<'_> {
    fn get(&self, name: &str) -> Option<String> {
        match name {
            "JWT_SIGNING_KEY" => Some(self.key.pem.expose_secret().to_owned()),
            "JWT_SIGNING_KEY_ID" => Some(self.key.key_id.clone()),
            other => self.base.get(other),
        }
    }
}

fn refused(reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var: SECRET_VARIABLE,
        reason: reason.into(),
    }
}

/// At cold start: when `JWT_SIGNING_KEY_SECRET` is set, the environment with the key
/// from the secret; `None` when it is not set (the key, if any, is in
/// `JWT_SIGNING_KEY`, for development). Both set is refused: which one signs would
/// be a guess.
pub async fn resolve(
    env: &dyn Environment,
) -> Result<Option<EnvironmentWithSecretKey<'_>>, ConfigError> {
    let Some(secret_id) = env.get(SECRET_VARIABLE).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    if env.get("JWT_SIGNING_KEY").is_some_and(|v| !v.is_empty()) {
        return Err(refused(
            "set either JWT_SIGNING_KEY_SECRET or JWT_SIGNING_KEY, not both",
        ));
    }
    let client = function_client(env);
    let key = read_current(&client, secret_id.trim()).await?;
    let configured = signing_algorithm(env)?;
    if key.algorithm != configured.name() {
        return Err(refused(format!(
            "the secret holds an {} key but JWT_ALGORITHM is {}",
            key.algorithm,
            configured.name()
        )));
    }
    // The strength checks every key gets, here so that the refusal names this
    // setting (the errors never contain key material).
    crate::keys::signing_key(configured, &key.pem)
        .map_err(|error| refused(format!("the secret's key is unusable: {error}")))?;
    Ok(Some(EnvironmentWithSecretKey { base: env, key }))
}

/// The Secrets Manager client of a function: credentials and region from the
/// environment Lambda sets, the compiled-in trust roots, and short timeouts, so that
/// an unreachable service is a prompt refusal to start.
fn function_client(env: &dyn Environment) -> Client {
    let variable = |name: &str| env.get(name).filter(|v| !v.is_empty());
    let mut config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .http_client(crate::trust_roots::aws_https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    if let Some(region) = variable("AWS_REGION").or_else(|| variable("AWS_DEFAULT_REGION")) {
        config = config.region(Region::new(region));
    }
    if let Some(endpoint) = variable(ENDPOINT_VARIABLE) {
        config = config.endpoint_url(endpoint);
    }
    Client::from_conf(config.build())
}

/// The client `authctl` uses: the SDK's whole default chain (profiles, SSO), the
/// compiled-in trust roots, and `SECRETS_MANAGER_ENDPOINT` if set.
pub async fn admin_client() -> Client {
    let endpoint = std::env::var(ENDPOINT_VARIABLE).ok();
    admin_client_at(endpoint.as_deref().filter(|e| !e.is_empty())).await
}

/// [`admin_client`] at `endpoint` (a local stand-in), or at AWS's.
pub async fn admin_client_at(endpoint: Option<&str>) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(crate::trust_roots::aws_https_client());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    Client::new(&loader.load().await)
}

/// Why a call failed, in words that name no value.
fn describe<E: ProvideErrorMetadata + std::fmt::Debug>(
    error: &aws_sdk_secretsmanager::error::SdkError<E>,
) -> String {
    use aws_sdk_secretsmanager::error::SdkError;
    match error {
        SdkError::ServiceError(service) => match service.err().code() {
            Some("ResourceNotFoundException") => "no such secret (or no current version)".into(),
            Some("AccessDeniedException") => {
                "access denied: the role may not call secretsmanager:GetSecretValue on it (or kms:Decrypt on its key)".into()
            }
            Some("DecryptionFailure") => "Secrets Manager could not decrypt it (KMS)".into(),
            Some(code) => format!("Secrets Manager refused the request ({code})"),
            None => "Secrets Manager refused the request".into(),
        },
        SdkError::TimeoutError(_) => "Secrets Manager did not answer in time".into(),
        SdkError::DispatchFailure(_) => "Secrets Manager could not be reached".into(),
        _ => "the call to Secrets Manager failed".into(),
    }
}

/// Reads and checks the current version of the secret.
async fn read_current(
    client: &Client,
    secret_id: &str,
) -> Result<SigningKeyFromSecret, ConfigError> {
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        // The default, said explicitly: the version a rotation's switch made current.
        .version_stage("AWSCURRENT")
        .send()
        .await
        .map_err(|error| refused(describe(&error)))?;
    let Some(text) = output.secret_string() else {
        return Err(refused(
            "the secret holds binary data, not the JSON document",
        ));
    };
    parse(text)
}

/// The JSON document, checked: the three fields, a known algorithm and a well-formed
/// key id. The key's strength is checked where every key is, when the signer is built.
fn parse(text: &str) -> Result<SigningKeyFromSecret, ConfigError> {
    let document: SecretDocument = serde_json::from_str(text)
        .map_err(|_| refused("the secret is not the JSON document {\"alg\", \"kid\", \"pem\"}"))?;
    let pem = SecretString::from(document.pem);
    if crate::keys::SigningAlgorithm::parse(&document.alg).is_none() {
        return Err(refused("the secret's alg is not ES256, RS256 or HS256"));
    }
    if !crate::config::is_valid_key_id(&document.kid) {
        return Err(refused("the secret's kid is malformed"));
    }
    Ok(SigningKeyFromSecret {
        algorithm: document.alg,
        key_id: document.kid,
        pem,
    })
}

/// The JSON document for a generated key.
pub fn document_for(key: &GeneratedKey) -> SecretString {
    let document = SecretDocument {
        alg: key.algorithm.name().to_owned(),
        kid: key.key_id.clone(),
        pem: key.signing_key.expose_secret().to_owned(),
    };
    SecretString::from(serde_json::to_string(&document).unwrap_or_default())
}

/// Where a key went.
#[derive(Debug, PartialEq, Eq)]
pub enum Stored {
    /// A new secret, holding the key as its current version.
    Created,
    /// A new version of the secret, current from now on.
    NewCurrentVersion,
    /// A new version staged `AWSPENDING`: not used to sign until activated.
    Pending,
}

/// Stores `key` in the secret: creates it if missing; otherwise a new version, current
/// or (with `pending`) staged for activation.
pub async fn store_key(
    client: &Client,
    secret_id: &str,
    key: &GeneratedKey,
    pending: bool,
) -> Result<Stored, String> {
    let document = document_for(key);
    if !pending {
        let created = client
            .create_secret()
            .name(secret_id)
            .description("The OAuth server's JWT signing key (authctl keys generate --to-secret)")
            .secret_string(document.expose_secret())
            .send()
            .await;
        match created {
            Ok(_) => return Ok(Stored::Created),
            Err(error) if error.code() == Some("ResourceExistsException") => {}
            Err(error) => return Err(describe(&error)),
        }
    }
    let mut put = client
        .put_secret_value()
        .secret_id(secret_id)
        .secret_string(document.expose_secret());
    if pending {
        put = put.version_stages("AWSPENDING");
    }
    put.send().await.map_err(|error| {
        if pending && error.code() == Some("ResourceNotFoundException") {
            "no such secret: create it first, without --pending".to_owned()
        } else {
            describe(&error)
        }
    })?;
    Ok(if pending {
        Stored::Pending
    } else {
        Stored::NewCurrentVersion
    })
}

/// Makes the `AWSPENDING` version current (the previous one becomes `AWSPREVIOUS`)
/// and returns its key id. Functions sign with it from their next cold start.
pub async fn activate_pending(client: &Client, secret_id: &str) -> Result<String, String> {
    let described = client
        .describe_secret()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let stages = described
        .version_ids_to_stages()
        .cloned()
        .unwrap_or_default();
    let version_with = |stage: &str| {
        stages
            .iter()
            .find(|(_, labels)| labels.iter().any(|l| l == stage))
            .map(|(id, _)| id.clone())
    };
    let pending = version_with("AWSPENDING")
        .ok_or("the secret has no AWSPENDING version: stage one with --pending first")?;
    let current = version_with("AWSCURRENT");
    let mut update = client
        .update_secret_version_stage()
        .secret_id(secret_id)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&pending);
    if let Some(current) = &current {
        update = update.remove_from_version_id(current);
    }
    update.send().await.map_err(|e| describe(&e))?;
    client
        .update_secret_version_stage()
        .secret_id(secret_id)
        .version_stage("AWSPENDING")
        .remove_from_version_id(&pending)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let key = read_current(client, secret_id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(key.key_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_round_trips_and_malformed_ones_are_refused_without_their_content() {
        let key = crate::keys::generate(crate::keys::SigningAlgorithm::Es256).unwrap();
        let document = document_for(&key);
        let parsed = parse(document.expose_secret()).unwrap();
        assert_eq!(parsed.algorithm, "ES256");
        assert_eq!(parsed.key_id, key.key_id);
        assert_eq!(parsed.pem.expose_secret(), key.signing_key.expose_secret());
        for bad in [
            "not json".to_owned(),
            r#"{"alg":"RS256","kid":"k1"}"#.to_owned(),
            r#"{"alg":"none","kid":"k1","pem":"x"}"#.to_owned(),
            r#"{"alg":"RS256","kid":"../k","pem":"x"}"#.to_owned(),
            document.expose_secret().replace("\"ES256\"", "\"es256\""),
        ] {
            let error = parse(&bad).err().expect("refused").to_string();
            assert!(error.starts_with("JWT_SIGNING_KEY_SECRET"), "{error}");
            assert!(
                !error.contains("BEGIN") && !error.contains(&key.key_id),
                "{error}"
            );
        }
    }
}

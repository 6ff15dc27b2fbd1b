use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TimeToLiveSpecification,
};

use super::{StoreError, UserStore};
use crate::passwords::PasswordHash;
use crate::users::{UserRecord, Username};

/// The attribute DynamoDB's TTL deletes expired items by (refresh tokens, counters).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// Where the table is. The endpoint override points the SDK at a local
/// DynamoDB-compatible server; in AWS it is left unset.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub table_name: String,
    pub endpoint_url: Option<String>,
}

/// Users in one DynamoDB table (single-table design, `pk`/`sk` string keys):
/// a user is the item `pk = USER#<username key>`, `sk = PROFILE`.
#[derive(Clone)]
pub struct DynamoDbUserStore {
    client: Client,
    table: String,
}

impl DynamoDbUserStore {
    /// Builds the SDK client. No network call happens here: credentials and
    /// connections are resolved on the first request.
    ///
    /// Timeouts and retries are explicit so that a slow or unreachable table turns
    /// into a prompt 503 well inside the Lambda timeout: 1 s to connect, 1 s per
    /// attempt, 3 attempts (standard retry mode, exponential back-off with jitter),
    /// 3 s for the whole operation.
    pub async fn connect(settings: &StoreSettings) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(1))
            .operation_attempt_timeout(Duration::from_secs(1))
            .operation_timeout(Duration::from_secs(3))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(3));
        if let Some(endpoint) = &settings.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let config = loader.load().await;
        DynamoDbUserStore {
            client: Client::new(&config),
            table: settings.table_name.clone(),
        }
    }

    /// Creates the table with its TTL attribute, for local servers and first-time
    /// set-up (`authctl table create`). In AWS, `template.yaml` owns the table.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let key = |name: &str, key_type| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(attribute("pk")?)
            .attribute_definitions(attribute("sk")?)
            .send()
            .await
            .map_err(|e| match e.code() {
                Some("ResourceInUseException") => StoreError::AlreadyExists,
                _ => store_failure("CreateTable", e),
            })?;
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(TTL_ATTRIBUTE)
            .enabled(true)
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| store_failure("UpdateTimeToLive", e))?;
        Ok(())
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }
}

fn user_key(username_key: &str) -> [(&'static str, AttributeValue); 2] {
    [
        ("pk", AttributeValue::S(format!("USER#{username_key}"))),
        ("sk", AttributeValue::S("PROFILE".to_owned())),
    ]
}

/// DynamoDB error codes that mean "try again later".
const TRANSIENT_ERROR_CODES: [&str; 7] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "LimitExceededException",
];

/// Logs the SDK's error (never an item: it may hold a hash) and classifies it:
/// timeouts, connection failures, throttling and server errors are transient
/// ([`StoreError::Unavailable`], a 503 the client may retry); anything else (missing
/// table, access denied, validation) is [`StoreError::Rejected`], a misconfiguration
/// that retrying cannot fix.
fn store_failure<E, R>(operation: &str, error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let transient = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(_) => error
            .code()
            .is_some_and(|code| TRANSIENT_ERROR_CODES.contains(&code)),
        _ => false,
    };
    let detail = format!("{operation} failed");
    if transient {
        tracing::warn!(operation, error = %DisplayErrorContext(&error), "DynamoDB request failed; transient");
        StoreError::Unavailable(detail)
    } else {
        tracing::error!(operation, error = %DisplayErrorContext(&error), "DynamoDB request rejected");
        StoreError::Rejected(detail)
    }
}

/// A failed conditional write: the condition not holding is `condition_failed`
/// (the user exists already, or does not exist); anything else is a store failure.
fn conditional_write_failure<E, R>(
    operation: &str,
    condition_failed: StoreError,
    error: SdkError<E, R>,
) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    if error.code() == Some("ConditionalCheckFailedException") {
        condition_failed
    } else {
        store_failure(operation, error)
    }
}

fn to_item(user: &UserRecord) -> HashMap<String, AttributeValue> {
    let mut item: HashMap<String, AttributeValue> = user_key(&user.username.key())
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let s = |v: &str| AttributeValue::S(v.to_owned());
    item.insert("entity".into(), s("user"));
    item.insert("user_id".into(), s(&user.user_id));
    item.insert("username".into(), s(user.username.as_str()));
    item.insert("password_hash".into(), s(user.password_hash.as_str()));
    item.insert("disabled".into(), AttributeValue::Bool(user.disabled));
    item.insert(
        "created_at".into(),
        AttributeValue::N(user.created_at.to_string()),
    );
    item.insert(
        "scopes".into(),
        AttributeValue::L(user.scopes.iter().map(|v| s(v)).collect()),
    );
    if let Some(full_name) = &user.full_name {
        item.insert("full_name".into(), s(full_name));
    }
    if let Some(email) = &user.email {
        item.insert("email".into(), s(email));
    }
    item
}

fn from_item(item: &HashMap<String, AttributeValue>) -> Result<UserRecord, StoreError> {
    let string = |name: &'static str| -> Result<String, StoreError> {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or(StoreError::Corrupt(name))
    };
    let optional = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    Ok(UserRecord {
        user_id: string("user_id")?,
        username: Username::parse(&string("username")?)
            .map_err(|_| StoreError::Corrupt("username"))?,
        full_name: optional("full_name"),
        email: optional("email"),
        password_hash: PasswordHash::parse(string("password_hash")?)
            .map_err(|_| StoreError::Corrupt("password_hash"))?,
        disabled: item
            .get("disabled")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .ok_or(StoreError::Corrupt("disabled"))?,
        scopes: match item.get("scopes") {
            Some(AttributeValue::L(list)) => list
                .iter()
                .map(|v| v.as_s().cloned().map_err(|_| StoreError::Corrupt("scopes")))
                .collect::<Result<_, _>>()?,
            Some(AttributeValue::Ss(set)) => set.clone(),
            None => Vec::new(),
            Some(_) => return Err(StoreError::Corrupt("scopes")),
        },
        created_at: item
            .get("created_at")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or(StoreError::Corrupt("created_at"))?,
    })
}

#[async_trait]
impl UserStore for DynamoDbUserStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(user)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| conditional_write_failure("PutItem", StoreError::AlreadyExists, e))
    }

    async fn get_user(&self, username_key: &str) -> Result<Option<UserRecord>, StoreError> {
        let [(pk, pk_value), (sk, sk_value)] = user_key(username_key);
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(pk, pk_value)
            .key(sk, sk_value)
            // A user disabled or deleted a moment ago must not keep passing checks.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_failure("GetItem", e))?;
        output.item.as_ref().map(from_item).transpose()
    }

    async fn set_disabled(&self, username_key: &str, disabled: bool) -> Result<(), StoreError> {
        let [(pk, pk_value), (sk, sk_value)] = user_key(username_key);
        self.client
            .update_item()
            .table_name(&self.table)
            .key(pk, pk_value)
            .key(sk, sk_value)
            .update_expression("SET disabled = :disabled")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":disabled", AttributeValue::Bool(disabled))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| conditional_write_failure("UpdateItem", StoreError::NotFound, e))
    }

    async fn delete_user(&self, username_key: &str) -> Result<(), StoreError> {
        let [(pk, pk_value), (sk, sk_value)] = user_key(username_key);
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(pk, pk_value)
            .key(sk, sk_value)
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| conditional_write_failure("DeleteItem", StoreError::NotFound, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip() {
        let hash =
            PasswordHash::parse("$2b$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
                .unwrap();
        let mut user = UserRecord::new(Username::parse("Carol").unwrap(), hash);
        user.full_name = Some("Carol C".into());
        user.scopes = vec!["read".into()];
        let item = to_item(&user);
        assert_eq!(item["pk"], AttributeValue::S("USER#carol".into()));
        assert_eq!(from_item(&item).unwrap(), user);
    }

    #[test]
    fn corrupt_items_are_reported_by_attribute() {
        let hash =
            PasswordHash::parse("$2b$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
                .unwrap();
        let mut item = to_item(&UserRecord::new(Username::parse("dave").unwrap(), hash));
        item.insert("password_hash".into(), AttributeValue::S("plain".into()));
        assert_eq!(from_item(&item), Err(StoreError::Corrupt("password_hash")));
        item.remove("user_id");
        assert_eq!(from_item(&item), Err(StoreError::Corrupt("user_id")));
    }
}

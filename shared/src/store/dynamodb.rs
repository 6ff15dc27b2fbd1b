use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Region;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, KeySchemaElement, KeyType,
    Put, ReturnValue, ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem, Update,
};

use super::{
    AttemptAdmission, ClientStore, LoginAttemptStore, LoginAttempts, RefreshTokenStore,
    RotationError, StoreError, StoredRefreshToken, UserStore,
};
use crate::clients::{ClientId, ClientRecord, GrantType};
use crate::config::{Environment, ProcessEnvironment};
use crate::passwords::PasswordHash;
use crate::refresh::RefreshTokenRecord;
use crate::users::{UserRecord, Username};

mod sign_in;

/// The attribute DynamoDB's TTL deletes expired items by (refresh tokens, counters,
/// the browser flow's records).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// Where the table is. The endpoint override points the SDK at a local
/// DynamoDB-compatible server; in AWS it is left unset.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub table_name: String,
    pub endpoint_url: Option<String>,
}

/// 1 s to connect, then the given limits per attempt and per operation.
fn timeouts(attempt: Duration, operation: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(attempt)
        .operation_timeout(operation)
        .build()
}

/// Users in one DynamoDB table (single-table design, `pk`/`sk` string keys):
/// a user is the item `pk = USER#<username key>`, `sk = PROFILE`.
#[derive(Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
}

impl DynamoDbStore {
    /// Builds the SDK client for the functions (and for the local server and the tests,
    /// which run like them). No network call happens here: connections are made on
    /// the first request.
    ///
    /// Credentials and region come from the environment, which is where Lambda puts
    /// them (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
    /// `AWS_REGION`). The SDK's default chain (profile files, SSO, web identity, the
    /// instance metadata service, STS) is not consulted, so it is not in the functions'
    /// binaries either (BENCHMARKS.md, "Cold start"). `AWS_USE_FIPS_ENDPOINT` and
    /// `AWS_USE_DUALSTACK_ENDPOINT` are honoured, as the default loader would; the
    /// loader's other variables (`AWS_ENDPOINT_URL*`, `AWS_SDK_UA_APP_ID`,
    /// `AWS_ACCOUNT_ID_ENDPOINT_MODE`) are not: the endpoint override is
    /// `DYNAMODB_ENDPOINT`.
    ///
    /// Timeouts and retries are explicit so that a slow or unreachable table turns
    /// into a prompt 503 well inside the Lambda timeout: 1 s to connect, 1 s per
    /// attempt, 3 attempts (standard retry mode, exponential back-off with jitter),
    /// 3 s for the whole operation.
    pub async fn connect(settings: &StoreSettings) -> Self {
        Self::connect_with(settings, &ProcessEnvironment)
    }

    /// [`DynamoDbStore::connect`] with the region and endpoint variables read from
    /// `env` (credentials always come from the process environment).
    fn connect_with(settings: &StoreSettings, env: &dyn Environment) -> Self {
        let variable = |name: &str| env.get(name).filter(|v| !v.is_empty());
        let flag = |name: &str| variable(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let mut config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .credentials_provider(EnvironmentVariableCredentialsProvider::new())
            .http_client(crate::trust_roots::aws_https_client())
            .timeout_config(timeouts(Duration::from_secs(1), Duration::from_secs(3)))
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .use_fips(flag("AWS_USE_FIPS_ENDPOINT"))
            .use_dual_stack(flag("AWS_USE_DUALSTACK_ENDPOINT"));
        if let Some(region) = variable("AWS_REGION").or_else(|| variable("AWS_DEFAULT_REGION")) {
            config = config.region(Region::new(region));
        }
        if let Some(endpoint) = &settings.endpoint_url {
            config = config.endpoint_url(endpoint);
        }
        DynamoDbStore {
            client: Client::from_conf(config.build()),
            table: settings.table_name.clone(),
        }
    }

    /// For administration (`authctl`), run by people with profiles and SSO: the SDK's
    /// whole default configuration chain. Long scans and imports, where waiting beats
    /// failing: 30 s per attempt, 2 minutes per operation.
    pub async fn connect_for_admin(settings: &StoreSettings) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(crate::trust_roots::aws_https_client())
            .timeout_config(timeouts(Duration::from_secs(30), Duration::from_secs(120)))
            .retry_config(RetryConfig::standard().with_max_attempts(3));
        if let Some(endpoint) = &settings.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let config = loader.load().await;
        DynamoDbStore {
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

/// An item, or a key: attribute name to value.
type Item = HashMap<String, AttributeValue>;

/// The primary key `pk`/`sk` of an item.
fn item_key(pk: String, sk: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

fn user_key(username_key: &str) -> Item {
    item_key(format!("USER#{username_key}"), "PROFILE")
}

impl DynamoDbStore {
    /// A strongly consistent read: a write a moment ago (a user disabled, a token
    /// used) is always seen.
    async fn read(&self, key: Item) -> Result<Option<Item>, StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map(|output| output.item)
            .map_err(|e| store_failure("GetItem", e))
    }

    /// Writes an item that must not exist yet ([`StoreError::AlreadyExists`]).
    async fn put_new(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| conditional_write_failure("PutItem", StoreError::AlreadyExists, e))
    }

    /// Sets `disabled` on an item that must exist ([`StoreError::NotFound`]).
    async fn set_disabled_flag(&self, key: Item, disabled: bool) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET disabled = :disabled")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":disabled", AttributeValue::Bool(disabled))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| conditional_write_failure("UpdateItem", StoreError::NotFound, e))
    }
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

/// A conditional write whose failed condition is an answer, not an error: `true` when
/// the write was applied, `false` when its condition did not hold.
fn applied<T, E, R>(operation: &str, result: Result<T, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(error) if error.code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(error) => Err(store_failure(operation, error)),
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

fn to_item(user: &UserRecord) -> Item {
    let mut item = user_key(&user.username.key());
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
        "credential_generation".into(),
        AttributeValue::N(user.credential_generation.to_string()),
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
    item.insert(
        "email_verified".into(),
        AttributeValue::Bool(user.email_verified),
    );
    item.insert(
        "updated_at".into(),
        AttributeValue::N(user.updated_at.to_string()),
    );
    item
}

fn from_item(item: &Item) -> Result<UserRecord, StoreError> {
    let string = |name: &'static str| -> Result<String, StoreError> {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or(StoreError::Corrupt(name))
    };
    let optional = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let created_at: i64 = item
        .get("created_at")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or(StoreError::Corrupt("created_at"))?;
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
        created_at,
        // Items written before these existed: unverified, never updated.
        email_verified: match item.get("email_verified") {
            None => false,
            Some(v) => *v
                .as_bool()
                .map_err(|_| StoreError::Corrupt("email_verified"))?,
        },
        updated_at: match item.get("updated_at") {
            None => created_at,
            Some(v) => v
                .as_n()
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or(StoreError::Corrupt("updated_at"))?,
        },
        credential_generation: generation(item)?,
    })
}

/// `credential_generation`, 0 when absent (items written before it existed).
fn generation(item: &Item) -> Result<u32, StoreError> {
    match item.get("credential_generation") {
        None => Ok(0),
        Some(value) => value
            .as_n()
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or(StoreError::Corrupt("credential_generation")),
    }
}

#[async_trait]
impl UserStore for DynamoDbStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.put_new(to_item(user)).await
    }

    async fn get_user(&self, username_key: &str) -> Result<Option<UserRecord>, StoreError> {
        // A user disabled or deleted a moment ago must not keep passing checks.
        self.read(user_key(username_key))
            .await?
            .as_ref()
            .map(from_item)
            .transpose()
    }

    async fn set_disabled(&self, username_key: &str, disabled: bool) -> Result<(), StoreError> {
        if !disabled {
            return self.set_disabled_flag(user_key(username_key), false).await;
        }
        // Disabling moves the credential generation on in the same write: every
        // refresh family and sign-in session of the user ends for good.
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(user_key(username_key)))
            .update_expression("SET disabled = :true ADD credential_generation :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| conditional_write_failure("UpdateItem", StoreError::NotFound, e))
    }

    async fn set_email_verified(
        &self,
        username_key: &str,
        email: &str,
        verified: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(user_key(username_key)))
            .update_expression("SET email_verified = :verified, updated_at = :now")
            .condition_expression("attribute_exists(pk) AND email = :email")
            .expression_attribute_values(":verified", AttributeValue::Bool(verified))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":email", AttributeValue::S(email.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Which half of the condition failed: a second read tells.
            Err(error) => {
                match conditional_write_failure("UpdateItem", StoreError::Conflict, error) {
                    StoreError::Conflict => match self.get_user(username_key).await? {
                        None => Err(StoreError::NotFound),
                        Some(_) => Err(StoreError::Conflict),
                    },
                    other => Err(other),
                }
            }
        }
    }

    async fn change_password(
        &self,
        username_key: &str,
        expected_current: Option<&PasswordHash>,
        new_hash: &PasswordHash,
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(user_key(username_key)))
            .update_expression("SET password_hash = :new ADD credential_generation :one")
            .expression_attribute_values(":new", AttributeValue::S(new_hash.as_str().into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()));
        update = match expected_current {
            Some(current) => update
                .condition_expression(
                    "attribute_exists(pk) AND password_hash = :current AND disabled = :false",
                )
                .expression_attribute_values(":current", AttributeValue::S(current.as_str().into()))
                .expression_attribute_values(":false", AttributeValue::Bool(false)),
            None => update.condition_expression("attribute_exists(pk)"),
        };
        match update.send().await {
            Ok(_) => Ok(()),
            // Which condition failed: the user is gone or disabled, or the hash changed.
            Err(error) if error.code() == Some("ConditionalCheckFailedException") => {
                match self.get_user(username_key).await? {
                    Some(user) if !user.disabled => Err(StoreError::Conflict),
                    _ => Err(StoreError::NotFound),
                }
            }
            Err(error) => Err(store_failure("UpdateItem", error)),
        }
    }

    async fn upgrade_password_hash(
        &self,
        username_key: &str,
        current: &PasswordHash,
        upgraded: &PasswordHash,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(user_key(username_key)))
            .update_expression("SET password_hash = :upgraded")
            .condition_expression("password_hash = :current")
            .expression_attribute_values(":current", AttributeValue::S(current.as_str().into()))
            .expression_attribute_values(":upgraded", AttributeValue::S(upgraded.as_str().into()))
            .send()
            .await;
        applied("UpdateItem", result)
    }

    async fn delete_user(&self, username_key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(user_key(username_key)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| conditional_write_failure("DeleteItem", StoreError::NotFound, e))
    }

    /// Conditional puts, [`IMPORT_BATCH`] in flight at a time: never an overwrite.
    /// (BatchWriteItem would be cheaper but cannot carry a condition, so a user
    /// created between a check and the batch would be overwritten; a transaction of
    /// puts would be all-or-nothing and twice the write cost.) Each put is retried
    /// with back-off while the table is unavailable or throttled.
    async fn import_users(&self, users: &[UserRecord]) -> Result<Vec<bool>, StoreError> {
        let mut created = Vec::with_capacity(users.len());
        for batch in users.chunks(IMPORT_BATCH) {
            let mut tasks = tokio::task::JoinSet::new();
            for (index, user) in batch.iter().enumerate() {
                let store = self.clone();
                let user = user.clone();
                tasks.spawn(async move { (index, store.import_one(&user).await) });
            }
            let mut results = vec![false; batch.len()];
            while let Some(joined) = tasks.join_next().await {
                let (index, result) = joined
                    .map_err(|e| StoreError::Rejected(format!("an import task failed: {e}")))?;
                results[index] = result?;
            }
            created.extend(results);
        }
        Ok(created)
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let mut users = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(pk, :users)")
                .limit(1_000)
                .expression_attribute_values(":users", AttributeValue::S("USER#".into()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_failure("Scan", e))?;
            for item in page.items() {
                users.push(from_item(item)?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(users),
            }
        }
    }
}

/// Conditional puts in flight at a time during an import.
const IMPORT_BATCH: usize = 25;

impl DynamoDbStore {
    /// One user of an import: created (`true`) or already there (`false`). A put
    /// whose first attempt timed out after the table applied it comes back as
    /// "exists": the stored id tells our own write from someone else's user.
    async fn import_one(&self, user: &UserRecord) -> Result<bool, StoreError> {
        let mut delay = Duration::from_millis(100);
        for attempt in 1..=5 {
            match self.put_new(to_item(user)).await {
                Ok(()) => return Ok(true),
                Err(StoreError::AlreadyExists) => {
                    let stored = self.get_user(&user.username.key()).await?;
                    return Ok(stored.is_some_and(|s| s.user_id == user.user_id));
                }
                Err(StoreError::Unavailable(_)) if attempt < 5 => {
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(error) => return Err(error),
            }
        }
        Err(StoreError::Unavailable("PutItem kept failing".into()))
    }
}

// ---- Clients ------------------------------------------------------------------
//
// A client is the item `pk = CLIENT#<client id>`, `sk = CLIENT`.

fn client_key(client_id: &ClientId) -> Item {
    item_key(format!("CLIENT#{client_id}"), "CLIENT")
}

fn client_item(client: &ClientRecord) -> Item {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let mut item = client_key(&client.client_id);
    item.insert("entity".into(), s("client"));
    item.insert("client_id".into(), s(client.client_id.as_str()));
    if let Some(hash) = &client.secret_hash {
        item.insert("secret_hash".into(), s(hash.as_str()));
    }
    item.insert(
        "grant_types".into(),
        AttributeValue::L(client.grant_types.iter().map(|g| s(g.as_str())).collect()),
    );
    item.insert(
        "scopes".into(),
        AttributeValue::L(client.scopes.iter().map(|v| s(v)).collect()),
    );
    item.insert("disabled".into(), AttributeValue::Bool(client.disabled));
    item.insert(
        "created_at".into(),
        AttributeValue::N(client.created_at.to_string()),
    );
    item.insert(
        "redirect_uris".into(),
        AttributeValue::L(client.redirect_uris.iter().map(|v| s(v)).collect()),
    );
    item.insert(
        "first_party".into(),
        AttributeValue::Bool(client.first_party),
    );
    item.insert(
        "post_logout_redirect_uris".into(),
        AttributeValue::L(
            client
                .post_logout_redirect_uris
                .iter()
                .map(|v| s(v))
                .collect(),
        ),
    );
    item
}

fn client_from_item(item: &Item) -> Result<ClientRecord, StoreError> {
    let strings = |name: &'static str| -> Result<Vec<String>, StoreError> {
        match item.get(name) {
            Some(AttributeValue::L(list)) => list
                .iter()
                .map(|v| v.as_s().cloned().map_err(|_| StoreError::Corrupt(name)))
                .collect(),
            _ => Err(StoreError::Corrupt(name)),
        }
    };
    // The id must be valid and the one the item is stored under.
    let client_id = item
        .get("client_id")
        .and_then(|v| v.as_s().ok())
        .and_then(|v| ClientId::parse(v).ok())
        .filter(|id| item.get("pk") == client_key(id).get("pk"))
        .ok_or(StoreError::Corrupt("client_id"))?;
    let scopes = strings("scopes")?;
    if crate::oauth::ScopeSet::parse(&scopes.join(" ")).is_err()
        || scopes.iter().any(String::is_empty)
    {
        return Err(StoreError::Corrupt("scopes"));
    }
    let secret_hash = match item.get("secret_hash") {
        None => None,
        Some(value) => Some(
            value
                .as_s()
                .ok()
                .and_then(|v| PasswordHash::parse(v.clone()).ok())
                .ok_or(StoreError::Corrupt("secret_hash"))?,
        ),
    };
    Ok(ClientRecord {
        client_id,
        secret_hash,
        grant_types: strings("grant_types")?
            .iter()
            .map(|g| GrantType::parse(g).ok_or(StoreError::Corrupt("grant_types")))
            .collect::<Result<_, _>>()?,
        scopes,
        disabled: item
            .get("disabled")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .ok_or(StoreError::Corrupt("disabled"))?,
        created_at: item
            .get("created_at")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or(StoreError::Corrupt("created_at"))?,
        // Both absent from clients registered before browser sign-in existed.
        redirect_uris: match item.get("redirect_uris") {
            None => Vec::new(),
            Some(_) => strings("redirect_uris")?,
        },
        first_party: match item.get("first_party") {
            None => false,
            Some(value) => *value
                .as_bool()
                .map_err(|_| StoreError::Corrupt("first_party"))?,
        },
        post_logout_redirect_uris: match item.get("post_logout_redirect_uris") {
            None => Vec::new(),
            Some(_) => strings("post_logout_redirect_uris")?,
        },
    })
}

#[async_trait]
impl ClientStore for DynamoDbStore {
    async fn create_client(&self, client: &ClientRecord) -> Result<(), StoreError> {
        self.put_new(client_item(client)).await
    }

    async fn get_client(&self, client_id: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
        self.read(client_key(client_id))
            .await?
            .as_ref()
            .map(client_from_item)
            .transpose()
    }

    async fn set_client_secret(
        &self,
        client_id: &ClientId,
        secret_hash: &PasswordHash,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(client_key(client_id)))
            .update_expression("SET secret_hash = :hash")
            // Only a confidential client has a secret to replace.
            .condition_expression("attribute_exists(secret_hash)")
            .expression_attribute_values(":hash", AttributeValue::S(secret_hash.as_str().into()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| conditional_write_failure("UpdateItem", StoreError::NotFound, e))
    }

    async fn set_client_disabled(
        &self,
        client_id: &ClientId,
        disabled: bool,
    ) -> Result<(), StoreError> {
        self.set_disabled_flag(client_key(client_id), disabled)
            .await
    }
}

// ---- Login attempts ------------------------------------------------------------
//
// A counter is the item `pk = LOGIN#<throttle key>`, `sk = ATTEMPTS`, with
// `attempts`, `locked_until` and the TTL attribute. DynamoDB's TTL deletes lazily, so
// an item past its `expires_at` is treated as absent.

fn attempts_key(key: &str) -> Item {
    item_key(format!("LOGIN#{key}"), "ATTEMPTS")
}

fn number_attribute(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

fn attempts_from_item(item: &Item) -> Result<LoginAttempts, StoreError> {
    Ok(LoginAttempts {
        attempts: number_attribute(item, "attempts")
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(StoreError::Corrupt("attempts"))?,
        locked_until: number_attribute(item, "locked_until").unwrap_or(0),
    })
}

#[async_trait]
impl LoginAttemptStore for DynamoDbStore {
    async fn login_attempts(&self, key: &str, now: i64) -> Result<LoginAttempts, StoreError> {
        match self.read(attempts_key(key)).await? {
            Some(item) if number_attribute(&item, TTL_ATTRIBUTE).is_some_and(|e| e >= now) => {
                attempts_from_item(&item)
            }
            _ => Ok(LoginAttempts::default()),
        }
    }

    async fn begin_login_attempt(
        &self,
        key: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<AttemptAdmission, StoreError> {
        let n = |v: i64| AttributeValue::N(v.to_string());
        // ADD is atomic, so concurrent attempts are all counted; the condition keeps a
        // locked name from counting. When it fails, a read says why: locked, or an
        // expired counter to replace (conditionally, so that two replacements cannot
        // both win). A lost race goes round again.
        for _ in 0..3 {
            let added = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(attempts_key(key)))
                .update_expression("ADD attempts :one SET expires_at = :expires, entity = :entity")
                .condition_expression(
                    "attribute_not_exists(pk) OR (expires_at >= :now AND \
                     (attribute_not_exists(locked_until) OR locked_until <= :now))",
                )
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":expires", n(expires_at))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":entity", AttributeValue::S("login_attempts".into()))
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await;
            match added {
                Ok(output) => {
                    return output
                        .attributes
                        .as_ref()
                        .and_then(|item| number_attribute(item, "attempts"))
                        .and_then(|n| u32::try_from(n).ok())
                        .map(AttemptAdmission::Counted)
                        .ok_or(StoreError::Corrupt("attempts"));
                }
                Err(error) if error.code() == Some("ConditionalCheckFailedException") => {}
                Err(error) => return Err(store_failure("UpdateItem", error)),
            }
            let Some(item) = self.read(attempts_key(key)).await? else {
                continue;
            };
            if number_attribute(&item, TTL_ATTRIBUTE).is_some_and(|e| e >= now) {
                let locked_until = attempts_from_item(&item)?.locked_until;
                if locked_until > now {
                    return Ok(AttemptAdmission::Locked {
                        until: locked_until,
                    });
                }
                continue;
            }
            let mut fresh = attempts_key(key);
            fresh.insert("entity".into(), AttributeValue::S("login_attempts".into()));
            fresh.insert("attempts".into(), n(1));
            fresh.insert(TTL_ATTRIBUTE.into(), n(expires_at));
            let replaced = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(fresh))
                .condition_expression("expires_at < :now")
                .expression_attribute_values(":now", n(now))
                .send()
                .await;
            match replaced {
                Ok(_) => return Ok(AttemptAdmission::Counted(1)),
                Err(error) if error.code() == Some("ConditionalCheckFailedException") => {}
                Err(error) => return Err(store_failure("PutItem", error)),
            }
        }
        Err(StoreError::Unavailable(
            "UpdateItem on a login counter kept conflicting".into(),
        ))
    }

    async fn claim_lock(&self, key: &str, now: i64, until: i64) -> Result<bool, StoreError> {
        let n = |v: i64| AttributeValue::N(v.to_string());
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(attempts_key(key)))
            .update_expression("SET locked_until = :until")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(locked_until) OR locked_until <= :now)",
            )
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        // Not applied: a lock is in force already (or the counter was just cleared).
        applied("UpdateItem", result)
    }

    async fn clear_login_attempts(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(attempts_key(key)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_failure("DeleteItem", e))
    }
}

// ---- Refresh tokens -----------------------------------------------------------
//
// A token is the item `pk = REFRESH#<sha256 hex>`, `sk = TOKEN`, with `status`
// `active` or `used`; its family is `pk = FAMILY#<id>`, `sk = FAMILY`, with `revoked`.
// Both expire by TTL at the family's absolute end, so that a used token stays
// recognisable (for reuse detection) as long as its family could be alive.

fn refresh_key(token_hash: &str) -> Item {
    item_key(format!("REFRESH#{token_hash}"), "TOKEN")
}

fn family_key(family_id: &str) -> Item {
    item_key(format!("FAMILY#{family_id}"), "FAMILY")
}

fn refresh_item(record: &RefreshTokenRecord) -> Item {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: i64| AttributeValue::N(v.to_string());
    let mut item = refresh_key(&record.token_hash);
    item.insert("entity".into(), s("refresh_token"));
    item.insert("status".into(), s("active"));
    item.insert("family_id".into(), s(&record.family_id));
    item.insert("user_id".into(), s(&record.user_id));
    item.insert("username_key".into(), s(&record.username_key));
    item.insert("scope".into(), s(&record.scope));
    item.insert("created_at".into(), n(record.created_at));
    item.insert("idle_expires_at".into(), n(record.idle_expires_at));
    item.insert(TTL_ATTRIBUTE.into(), n(record.family_expires_at));
    item.insert(
        "credential_generation".into(),
        n(i64::from(record.credential_generation)),
    );
    if let Some(client_id) = &record.client_id {
        item.insert("client_id".into(), s(client_id));
    }
    if let Some(sign_in) = &record.sign_in {
        item.insert("auth_time".into(), n(sign_in.auth_time));
        if let Some(sid) = &sign_in.sid {
            item.insert("sid".into(), s(sid));
        }
    }
    item
}

fn refresh_from_item(token_hash: &str, item: &Item) -> Result<RefreshTokenRecord, StoreError> {
    let string = |name: &'static str| -> Result<String, StoreError> {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or(StoreError::Corrupt(name))
    };
    let number = |name: &'static str| -> Result<i64, StoreError> {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or(StoreError::Corrupt(name))
    };
    Ok(RefreshTokenRecord {
        token_hash: token_hash.to_owned(),
        family_id: string("family_id")?,
        user_id: string("user_id")?,
        username_key: string("username_key")?,
        client_id: item.get("client_id").and_then(|v| v.as_s().ok()).cloned(),
        scope: string("scope")?,
        created_at: number("created_at")?,
        idle_expires_at: number("idle_expires_at")?,
        family_expires_at: number(TTL_ATTRIBUTE)?,
        credential_generation: generation(item)?,
        sign_in: match item.get("auth_time") {
            None => None,
            Some(_) => Some(crate::oidc::SignInFacts {
                auth_time: number("auth_time")?,
                sid: match item.get("sid") {
                    None => None,
                    Some(_) => Some(string("sid")?),
                },
            }),
        },
    })
}

fn build_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected(format!("request construction failed: {error}"))
}

#[async_trait]
impl RefreshTokenStore for DynamoDbStore {
    async fn start_family(&self, first: &RefreshTokenRecord) -> Result<(), StoreError> {
        let mut family = family_key(&first.family_id);
        family.insert("entity".into(), AttributeValue::S("refresh_family".into()));
        family.insert("revoked".into(), AttributeValue::Bool(false));
        family.insert("user_id".into(), AttributeValue::S(first.user_id.clone()));
        family.insert(
            "created_at".into(),
            AttributeValue::N(first.created_at.to_string()),
        );
        family.insert(
            TTL_ATTRIBUTE.into(),
            AttributeValue::N(first.family_expires_at.to_string()),
        );
        let put = |item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(build_error)
        };
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put(family)?).build())
            .transact_items(
                TransactWriteItem::builder()
                    .put(put(refresh_item(first))?)
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match cancellation_codes(&e) {
                Some(codes) if codes.iter().any(|c| c == "ConditionalCheckFailed") => {
                    StoreError::AlreadyExists
                }
                _ => store_failure("TransactWriteItems", e),
            })
    }

    async fn find_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<StoredRefreshToken>, StoreError> {
        let Some(item) = self.read(refresh_key(token_hash)).await? else {
            return Ok(None);
        };
        let record = refresh_from_item(token_hash, &item)?;
        let used = item
            .get("status")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            != Some("active");
        let family = self.read(family_key(&record.family_id)).await?;
        // A family that is gone (TTL) counts as revoked.
        let family_revoked = family
            .and_then(|f| f.get("revoked").and_then(|v| v.as_bool().ok()).copied())
            .unwrap_or(true);
        Ok(Some(StoredRefreshToken {
            record,
            used,
            family_revoked,
        }))
    }

    async fn rotate(
        &self,
        old: &RefreshTokenRecord,
        new: &RefreshTokenRecord,
    ) -> Result<(), RotationError> {
        let mark_used = Update::builder()
            .table_name(&self.table)
            .set_key(Some(refresh_key(&old.token_hash)))
            .update_expression("SET #status = :used, used_at = :now")
            .condition_expression("#status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":used", AttributeValue::S("used".into()))
            .expression_attribute_values(":active", AttributeValue::S("active".into()))
            .expression_attribute_values(":now", AttributeValue::N(new.created_at.to_string()))
            .build()
            .map_err(build_error)?;
        let family_alive = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(family_key(&old.family_id)))
            .condition_expression("revoked = :false")
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .build()
            .map_err(build_error)?;
        let put_new = Put::builder()
            .table_name(&self.table)
            .set_item(Some(refresh_item(new)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(mark_used).build())
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(family_alive)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().put(put_new).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => {
                match cancellation_codes(&error).and_then(|codes| rotation_refusal(&codes)) {
                    Some(refusal) => Err(refusal),
                    None => Err(RotationError::Store(store_failure(
                        "TransactWriteItems",
                        error,
                    ))),
                }
            }
        }
    }

    async fn revoke_family(&self, family_id: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(family_key(family_id)))
            .update_expression("SET revoked = :true")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| conditional_write_failure("UpdateItem", StoreError::NotFound, e))
    }

    /// An unconditional update: it revokes an existing family (keeping its expiry)
    /// or creates a revoked placeholder that expires at `expires_at`, whose presence
    /// makes a later [`RefreshTokenStore::start_family`] (a put with
    /// `attribute_not_exists(pk)`) fail with [`StoreError::AlreadyExists`].
    async fn revoke_family_ahead(
        &self,
        family_id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(family_key(family_id)))
            .update_expression(
                "SET revoked = :true, entity = if_not_exists(entity, :entity), \
                 #expires = if_not_exists(#expires, :expires)",
            )
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":entity", AttributeValue::S("refresh_family".into()))
            .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_failure("UpdateItem", e))
    }
}

/// What a cancelled rotation means, from its per-item reasons (in the order of the
/// items: old token, family check, new token). `TransactionConflict` on the old token
/// means another rotation of the same token was in flight at that instant: that is
/// concurrent use, and counts as reuse like a failed condition. A conflict on the
/// family alone (a revocation in flight) is transient.
fn rotation_refusal(codes: &[String]) -> Option<RotationError> {
    let code = |i: usize| codes.get(i).map(String::as_str).unwrap_or("None");
    match (code(0), code(1)) {
        ("ConditionalCheckFailed" | "TransactionConflict", _) => Some(RotationError::AlreadyUsed),
        (_, "ConditionalCheckFailed") => Some(RotationError::FamilyRevoked),
        (_, "TransactionConflict") => Some(RotationError::Store(StoreError::Unavailable(
            "TransactWriteItems conflicted with a revocation".into(),
        ))),
        _ => None,
    }
}

/// The per-item reasons of a cancelled transaction (`None` for any other error).
fn cancellation_codes<R>(error: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<String>> {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code().unwrap_or("None").to_owned())
                .collect(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDK's config has no getters for these settings; its `Debug` lists them.
    fn setting(config: &aws_sdk_dynamodb::Config, name: &str) -> Option<bool> {
        let debug = format!("{config:?}");
        [true, false]
            .into_iter()
            .find(|value| debug.contains(&format!("{name}({value})")))
    }
    fn functions_client(variables: &[(&str, &str)], endpoint: Option<&str>) -> Client {
        let env: HashMap<String, String> = variables
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let settings = StoreSettings {
            table_name: "users".into(),
            endpoint_url: endpoint.map(str::to_owned),
        };
        DynamoDbStore::connect_with(&settings, &env).client
    }

    #[test]
    fn functions_take_region_fips_and_dual_stack_from_the_environment() {
        let config = functions_client(
            &[
                ("AWS_REGION", "eu-west-1"),
                ("AWS_USE_FIPS_ENDPOINT", "true"),
                ("AWS_USE_DUALSTACK_ENDPOINT", "TRUE"),
            ],
            None,
        )
        .config()
        .clone();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(setting(&config, "UseFips"), Some(true));
        assert_eq!(setting(&config, "UseDualStack"), Some(true));
        let debug = format!("{config:?}");
        assert!(
            debug.contains("EnvironmentVariableCredentialsProvider"),
            "{debug}"
        );
        assert!(
            debug.contains("connect_timeout: Set(1s)")
                && debug.contains("operation_timeout: Set(3s)")
                && debug.contains("operation_attempt_timeout: Set(1s)"),
            "{debug}"
        );

        let config = functions_client(&[("AWS_DEFAULT_REGION", "us-west-2")], None)
            .config()
            .clone();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-west-2"));
        assert_eq!(setting(&config, "UseFips"), Some(false));
        assert_eq!(setting(&config, "UseDualStack"), Some(false));

        // AWS_REGION wins, as in the SDK's own loader; the endpoint override is kept.
        let config = functions_client(
            &[
                ("AWS_REGION", "ap-south-1"),
                ("AWS_DEFAULT_REGION", "us-west-2"),
            ],
            Some("http://127.0.0.1:8000"),
        )
        .config()
        .clone();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("ap-south-1"));
    }

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
    fn client_items_round_trip_and_report_corruption() {
        let client = ClientRecord {
            client_id: ClientId::parse("svc").unwrap(),
            secret_hash: Some(
                PasswordHash::parse("$2b$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
                    .unwrap(),
            ),
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["read".into()],
            disabled: false,
            created_at: 1,
            redirect_uris: Vec::new(),
            first_party: false,
            post_logout_redirect_uris: vec!["https://svc.example.com/bye".into()],
        };
        let mut item = client_item(&client);
        assert_eq!(item["pk"], AttributeValue::S("CLIENT#svc".into()));
        assert_eq!(client_from_item(&item).unwrap(), client);
        item.insert(
            "grant_types".into(),
            AttributeValue::L(vec![AttributeValue::S("implicit".into())]),
        );
        assert_eq!(
            client_from_item(&item),
            Err(StoreError::Corrupt("grant_types"))
        );
        let mut moved = client_item(&client);
        moved.insert("pk".into(), AttributeValue::S("CLIENT#other".into()));
        assert_eq!(
            client_from_item(&moved),
            Err(StoreError::Corrupt("client_id"))
        );
        let mut bad_scope = client_item(&client);
        bad_scope.insert(
            "scopes".into(),
            AttributeValue::L(vec![AttributeValue::S("a\"b".into())]),
        );
        assert_eq!(
            client_from_item(&bad_scope),
            Err(StoreError::Corrupt("scopes"))
        );
    }

    #[test]
    fn cancelled_rotations_are_classified_by_item() {
        let codes = |a: &str, b: &str, c: &str| vec![a.to_owned(), b.to_owned(), c.to_owned()];
        assert_eq!(
            rotation_refusal(&codes("ConditionalCheckFailed", "None", "None")),
            Some(RotationError::AlreadyUsed)
        );
        assert_eq!(
            rotation_refusal(&codes("TransactionConflict", "None", "None")),
            Some(RotationError::AlreadyUsed)
        );
        assert_eq!(
            rotation_refusal(&codes("TransactionConflict", "TransactionConflict", "None")),
            Some(RotationError::AlreadyUsed)
        );
        assert_eq!(
            rotation_refusal(&codes("None", "ConditionalCheckFailed", "None")),
            Some(RotationError::FamilyRevoked)
        );
        assert!(matches!(
            rotation_refusal(&codes("None", "TransactionConflict", "None")),
            Some(RotationError::Store(StoreError::Unavailable(_)))
        ));
        assert_eq!(
            rotation_refusal(&codes("None", "None", "ConditionalCheckFailed")),
            None
        );
        assert_eq!(rotation_refusal(&[]), None);
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

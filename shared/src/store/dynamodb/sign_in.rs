//! The browser flow's records in the table ([`SignInStore`]):
//!
//! - a pending authorization request is `pk = AUTHZ#<id hash>`, `sk = PENDING`;
//! - an authorization code is `pk = CODE#<code hash>`, `sk = CODE`, with `used`;
//! - a session is `pk = SESSION#<id hash>`, `sk = SESSION`;
//! - a consent is `pk = CONSENT#<user id>`, `sk = CLIENT#<client id>`.
//!
//! All but consents carry their expiry in the TTL attribute; DynamoDB deletes them
//! late, so readers check the expiry themselves. Single use is DynamoDB's job: a take
//! is a conditional delete and a redemption a conditional update, so of concurrent
//! callers exactly one wins. Items hold hashes: they are never logged.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{
    DynamoDbStore, Item, TTL_ATTRIBUTE, applied, conditional_write_failure, item_key,
    number_attribute, store_failure,
};
use crate::authorization::{
    AuthorizationCodeRecord, AuthorizationParameters, ConsentRecord, PendingAuthorization, Prompt,
    StoredCode, VerifiedRedirect,
};
use crate::clients::ClientId;
use crate::oauth::ScopeSet;
use crate::pkce::CodeChallenge;
use crate::sessions::SessionRecord;
use crate::store::{SignInStore, StoreError};

fn pending_key(id_hash: &str) -> Item {
    item_key(format!("AUTHZ#{id_hash}"), "PENDING")
}

fn code_key(code_hash: &str) -> Item {
    item_key(format!("CODE#{code_hash}"), "CODE")
}

fn session_key(id_hash: &str) -> Item {
    item_key(format!("SESSION#{id_hash}"), "SESSION")
}

fn consent_key(user_id: &str, client_id: &ClientId) -> Item {
    item_key(format!("CONSENT#{user_id}"), &format!("CLIENT#{client_id}"))
}

// ---- Writing items ----------------------------------------------------------------

/// Adds attributes to an item.
struct ItemBuilder(Item);

impl ItemBuilder {
    fn new(key: Item, entity: &str) -> Self {
        let mut builder = ItemBuilder(key);
        builder.string("entity", entity);
        builder
    }

    fn string(&mut self, name: &str, value: &str) -> &mut Self {
        self.0
            .insert(name.to_owned(), AttributeValue::S(value.to_owned()));
        self
    }

    fn optional_string(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.string(name, value);
        }
        self
    }

    fn number(&mut self, name: &str, value: i64) -> &mut Self {
        self.0
            .insert(name.to_owned(), AttributeValue::N(value.to_string()));
        self
    }

    fn optional_number(&mut self, name: &str, value: Option<i64>) -> &mut Self {
        if let Some(value) = value {
            self.number(name, value);
        }
        self
    }

    fn boolean(&mut self, name: &str, value: bool) -> &mut Self {
        self.0.insert(name.to_owned(), AttributeValue::Bool(value));
        self
    }

    fn build(&mut self) -> Item {
        std::mem::take(&mut self.0)
    }
}

fn pending_item(pending: &PendingAuthorization) -> Item {
    let parameters = &pending.parameters;
    ItemBuilder::new(pending_key(&pending.id_hash), "pending_authorization")
        .string("csrf_hash", &pending.csrf_hash)
        .string("browser_hash", &pending.browser_hash)
        .string("client_id", pending.client_id.as_str())
        .string("redirect_uri", &pending.redirect.redirect_uri)
        .boolean("redirect_uri_sent", pending.redirect.redirect_uri_sent)
        .optional_string("state", pending.redirect.state.as_deref())
        .optional_string(
            "scope",
            parameters
                .scope
                .as_ref()
                .map(ScopeSet::to_string)
                .as_deref(),
        )
        .string("code_challenge", parameters.code_challenge.as_str())
        .string("prompt", &parameters.prompt.to_string())
        .optional_string("login_hint", parameters.login_hint.as_deref())
        .optional_string("nonce", parameters.nonce.as_deref())
        .optional_string("hint_subject", parameters.hint_subject.as_deref())
        .number("created_at", pending.created_at)
        .optional_number("max_age", parameters.max_age)
        .number(TTL_ATTRIBUTE, pending.expires_at)
        .build()
}

fn code_item(code: &AuthorizationCodeRecord) -> Item {
    ItemBuilder::new(code_key(&code.code_hash), "authorization_code")
        .boolean("used", false)
        .string("client_id", code.client_id.as_str())
        .string("redirect_uri", &code.redirect_uri)
        .boolean("redirect_uri_sent", code.redirect_uri_sent)
        .string("code_challenge", code.code_challenge.as_str())
        .string("scope", &code.scope.to_string())
        .string("user_id", &code.user_id)
        .string("username_key", &code.username_key)
        .number("auth_time", code.auth_time)
        .optional_string("nonce", code.nonce.as_deref())
        .optional_string("sid", code.sid.as_deref())
        .number(
            "credential_generation",
            i64::from(code.credential_generation),
        )
        .number("created_at", code.created_at)
        .number(TTL_ATTRIBUTE, code.expires_at)
        .build()
}

fn session_item(session: &SessionRecord) -> Item {
    ItemBuilder::new(session_key(&session.id_hash), "session")
        .string("user_id", &session.user_id)
        .string("username_key", &session.username_key)
        .number("auth_time", session.auth_time)
        .number(
            "credential_generation",
            i64::from(session.credential_generation),
        )
        .number("created_at", session.created_at)
        .number("last_seen_at", session.last_seen_at)
        .number(TTL_ATTRIBUTE, session.expires_at)
        .build()
}

fn consent_item(consent: &ConsentRecord) -> Item {
    ItemBuilder::new(consent_key(&consent.user_id, &consent.client_id), "consent")
        .string("user_id", &consent.user_id)
        .string("client_id", consent.client_id.as_str())
        .string("scope", &consent.scope.to_string())
        .number("granted_at", consent.granted_at)
        .build()
}

// ---- Reading items ----------------------------------------------------------------

/// Reads attributes of an item; anything missing or of the wrong type is
/// [`StoreError::Corrupt`] naming the attribute.
struct Attributes<'a>(&'a Item);

impl Attributes<'_> {
    fn string(&self, name: &'static str) -> Result<String, StoreError> {
        self.optional_string(name)?.ok_or(StoreError::Corrupt(name))
    }

    /// Absent is `None`; present, it must be a string.
    fn optional_string(&self, name: &'static str) -> Result<Option<String>, StoreError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value.clone())),
            Some(_) => Err(StoreError::Corrupt(name)),
        }
    }

    fn number(&self, name: &'static str) -> Result<i64, StoreError> {
        number_attribute(self.0, name).ok_or(StoreError::Corrupt(name))
    }

    fn optional_number(&self, name: &'static str) -> Result<Option<i64>, StoreError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(_) => self.number(name).map(Some),
        }
    }

    fn boolean(&self, name: &'static str) -> Result<bool, StoreError> {
        match self.0.get(name) {
            Some(AttributeValue::Bool(value)) => Ok(*value),
            _ => Err(StoreError::Corrupt(name)),
        }
    }

    fn generation(&self) -> Result<u32, StoreError> {
        u32::try_from(self.number("credential_generation")?)
            .map_err(|_| StoreError::Corrupt("credential_generation"))
    }

    fn client_id(&self) -> Result<ClientId, StoreError> {
        ClientId::parse(&self.string("client_id")?).map_err(|_| StoreError::Corrupt("client_id"))
    }

    fn scope(&self, name: &'static str) -> Result<ScopeSet, StoreError> {
        ScopeSet::parse(&self.string(name)?).map_err(|_| StoreError::Corrupt(name))
    }

    fn code_challenge(&self) -> Result<CodeChallenge, StoreError> {
        CodeChallenge::from_stored(&self.string("code_challenge")?)
            .ok_or(StoreError::Corrupt("code_challenge"))
    }
}

fn pending_from_item(id_hash: &str, item: &Item) -> Result<PendingAuthorization, StoreError> {
    let a = Attributes(item);
    let stored_prompt = a.string("prompt")?;
    // A stored value is one of ours (as `Display` writes it) or corrupt.
    let prompt = Prompt::parse(&stored_prompt)
        .ok()
        .filter(|p| p.to_string() == stored_prompt)
        .ok_or(StoreError::Corrupt("prompt"))?;
    let scope = match a.optional_string("scope")? {
        None => None,
        Some(scope) => Some(ScopeSet::parse(&scope).map_err(|_| StoreError::Corrupt("scope"))?),
    };
    Ok(PendingAuthorization {
        id_hash: id_hash.to_owned(),
        csrf_hash: a.string("csrf_hash")?,
        browser_hash: a.string("browser_hash")?,
        client_id: a.client_id()?,
        redirect: VerifiedRedirect {
            redirect_uri: a.string("redirect_uri")?,
            redirect_uri_sent: a.boolean("redirect_uri_sent")?,
            state: a.optional_string("state")?,
        },
        parameters: AuthorizationParameters {
            scope,
            code_challenge: a.code_challenge()?,
            prompt,
            max_age: match a.optional_number("max_age")? {
                Some(max_age) if max_age < 0 => return Err(StoreError::Corrupt("max_age")),
                max_age => max_age,
            },
            login_hint: a.optional_string("login_hint")?,
            nonce: a.optional_string("nonce")?,
            hint_subject: a.optional_string("hint_subject")?,
        },
        created_at: a.number("created_at")?,
        expires_at: a.number(TTL_ATTRIBUTE)?,
    })
}

fn code_from_item(code_hash: &str, item: &Item) -> Result<StoredCode, StoreError> {
    let a = Attributes(item);
    Ok(StoredCode {
        record: AuthorizationCodeRecord {
            code_hash: code_hash.to_owned(),
            client_id: a.client_id()?,
            redirect_uri: a.string("redirect_uri")?,
            redirect_uri_sent: a.boolean("redirect_uri_sent")?,
            code_challenge: a.code_challenge()?,
            scope: a.scope("scope")?,
            user_id: a.string("user_id")?,
            username_key: a.string("username_key")?,
            auth_time: a.number("auth_time")?,
            nonce: a.optional_string("nonce")?,
            sid: a.optional_string("sid")?,
            credential_generation: a.generation()?,
            created_at: a.number("created_at")?,
            expires_at: a.number(TTL_ATTRIBUTE)?,
        },
        used: a.boolean("used")?,
    })
}

fn session_from_item(id_hash: &str, item: &Item) -> Result<SessionRecord, StoreError> {
    let a = Attributes(item);
    Ok(SessionRecord {
        id_hash: id_hash.to_owned(),
        user_id: a.string("user_id")?,
        username_key: a.string("username_key")?,
        auth_time: a.number("auth_time")?,
        credential_generation: a.generation()?,
        created_at: a.number("created_at")?,
        last_seen_at: a.number("last_seen_at")?,
        expires_at: a.number(TTL_ATTRIBUTE)?,
    })
}

fn consent_from_item(item: &Item) -> Result<ConsentRecord, StoreError> {
    let a = Attributes(item);
    let user_id = a.string("user_id")?;
    let client_id = a.client_id()?;
    // The record must be the one its key names.
    let key = consent_key(&user_id, &client_id);
    if item.get("pk") != key.get("pk") {
        return Err(StoreError::Corrupt("user_id"));
    }
    if item.get("sk") != key.get("sk") {
        return Err(StoreError::Corrupt("client_id"));
    }
    Ok(ConsentRecord {
        user_id,
        client_id,
        scope: a.scope("scope")?,
        granted_at: a.number("granted_at")?,
    })
}

#[async_trait]
impl SignInStore for DynamoDbStore {
    async fn put_pending_authorization(
        &self,
        pending: &PendingAuthorization,
    ) -> Result<(), StoreError> {
        self.put_new(pending_item(pending)).await
    }

    async fn get_pending_authorization(
        &self,
        id_hash: &str,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        self.read(pending_key(id_hash))
            .await?
            .map(|item| pending_from_item(id_hash, &item))
            .transpose()
    }

    /// A conditional delete that returns the old item: of concurrent takes, the one
    /// whose delete found the item gets it; the others' conditions fail.
    async fn take_pending_authorization(
        &self,
        id_hash: &str,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(pending_key(id_hash)))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => match output.attributes {
                Some(item) if !item.is_empty() => pending_from_item(id_hash, &item).map(Some),
                // The condition held, so there was an item: a server that does not
                // return it cannot be trusted with single use.
                _ => Err(StoreError::Corrupt("pk")),
            },
            Err(error) if error.code() == Some("ConditionalCheckFailedException") => Ok(None),
            Err(error) => Err(store_failure("DeleteItem", error)),
        }
    }

    async fn put_authorization_code(
        &self,
        code: &AuthorizationCodeRecord,
    ) -> Result<(), StoreError> {
        self.put_new(code_item(code)).await
    }

    async fn find_authorization_code(
        &self,
        code_hash: &str,
    ) -> Result<Option<StoredCode>, StoreError> {
        self.read(code_key(code_hash))
            .await?
            .map(|item| code_from_item(code_hash, &item))
            .transpose()
    }

    /// A conditional update: of concurrent redemptions, one finds `used` false. A
    /// missing code fails the condition too (and nothing is created).
    async fn redeem_authorization_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(code_key(code_hash)))
            .update_expression("SET #used = :true, #used_at = :now")
            .condition_expression("#used = :false")
            .expression_attribute_names("#used", "used")
            .expression_attribute_names("#used_at", "used_at")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        applied("UpdateItem", result)
    }

    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.put_new(session_item(session)).await
    }

    async fn get_session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.read(session_key(id_hash))
            .await?
            .map(|item| session_from_item(id_hash, &item))
            .transpose()
    }

    async fn touch_session(
        &self,
        id_hash: &str,
        last_seen_at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(session_key(id_hash)))
            .update_expression("SET #last_seen_at = :seen, #expires = :expires")
            // Never bring back a session that was ended meanwhile.
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#last_seen_at", "last_seen_at")
            .expression_attribute_names("#expires", TTL_ATTRIBUTE)
            .expression_attribute_values(":seen", AttributeValue::N(last_seen_at.to_string()))
            .expression_attribute_values(":expires", AttributeValue::N(expires_at.to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| conditional_write_failure("UpdateItem", StoreError::NotFound, e))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(session_key(id_hash)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_failure("DeleteItem", e))
    }

    async fn put_consent(&self, consent: &ConsentRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(consent_item(consent)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_failure("PutItem", e))
    }

    async fn get_consent(
        &self,
        user_id: &str,
        client_id: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        self.read(consent_key(user_id, client_id))
            .await?
            .as_ref()
            .map(consent_from_item)
            .transpose()
    }

    async fn delete_consent(&self, user_id: &str, client_id: &ClientId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(consent_key(user_id, client_id)))
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

    fn s(value: &str) -> AttributeValue {
        AttributeValue::S(value.to_owned())
    }

    fn pending() -> PendingAuthorization {
        PendingAuthorization {
            id_hash: crate::refresh::hash_token("pending"),
            csrf_hash: crate::refresh::hash_token("csrf"),
            browser_hash: crate::refresh::hash_token("browser"),
            client_id: ClientId::parse("web").unwrap(),
            redirect: VerifiedRedirect {
                redirect_uri: "https://app.example/cb?x=1".into(),
                redirect_uri_sent: true,
                state: Some("s & t".into()),
            },
            parameters: AuthorizationParameters {
                scope: Some(ScopeSet::from_tokens(["read", "write"])),
                code_challenge: CodeChallenge::of_verifier(&"v".repeat(43)),
                prompt: Prompt {
                    login: true,
                    consent: true,
                    ..Prompt::DEFAULT
                },
                max_age: Some(0),
                login_hint: Some("alice".into()),
                nonce: Some("n-1".into()),
                hint_subject: Some("usr_hinted".into()),
            },
            created_at: 1_700_000_000,
            expires_at: 1_700_000_600,
        }
    }

    fn code() -> AuthorizationCodeRecord {
        AuthorizationCodeRecord {
            code_hash: crate::refresh::hash_token("code"),
            client_id: ClientId::parse("web").unwrap(),
            redirect_uri: "http://127.0.0.1:5000/cb".into(),
            redirect_uri_sent: false,
            code_challenge: CodeChallenge::of_verifier(&"w".repeat(43)),
            scope: ScopeSet::default(),
            user_id: "usr_1".into(),
            username_key: "alice".into(),
            auth_time: 1_700_000_001,
            nonce: Some("n".into()),
            sid: Some("sid-1".into()),
            credential_generation: 4,
            created_at: 1_700_000_002,
            expires_at: 1_700_000_062,
        }
    }

    fn session() -> SessionRecord {
        SessionRecord {
            id_hash: crate::refresh::hash_token("session"),
            user_id: "usr_1".into(),
            username_key: "alice".into(),
            auth_time: 1_700_000_000,
            credential_generation: 1,
            created_at: 1_700_000_000,
            last_seen_at: 1_700_000_050,
            expires_at: 1_700_003_600,
        }
    }

    fn consent() -> ConsentRecord {
        ConsentRecord {
            user_id: "usr_1".into(),
            client_id: ClientId::parse("web").unwrap(),
            scope: ScopeSet::from_tokens(["read"]),
            granted_at: 1_700_000_000,
        }
    }

    #[test]
    fn pending_items_round_trip_with_and_without_optional_fields() {
        let full = pending();
        let item = pending_item(&full);
        assert_eq!(item["pk"], s(&format!("AUTHZ#{}", full.id_hash)));
        assert_eq!(item["sk"], s("PENDING"));
        assert_eq!(item["entity"], s("pending_authorization"));
        assert_eq!(item[TTL_ATTRIBUTE], AttributeValue::N("1700000600".into()));
        assert_eq!(item["scope"], s("read write"));
        assert_eq!(pending_from_item(&full.id_hash, &item).unwrap(), full);

        let mut bare = pending();
        bare.redirect.state = None;
        bare.redirect.redirect_uri_sent = false;
        bare.parameters.scope = None;
        bare.parameters.prompt = Prompt::DEFAULT;
        bare.parameters.max_age = None;
        bare.parameters.login_hint = None;
        bare.parameters.nonce = None;
        bare.parameters.hint_subject = None;
        let item = pending_item(&bare);
        for absent in [
            "state",
            "scope",
            "max_age",
            "login_hint",
            "nonce",
            "hint_subject",
        ] {
            assert!(!item.contains_key(absent), "{absent} is absent when None");
        }
        assert_eq!(pending_from_item(&bare.id_hash, &item).unwrap(), bare);

        // An empty scope is not no scope.
        let mut empty = pending();
        empty.parameters.scope = Some(ScopeSet::default());
        let item = pending_item(&empty);
        assert_eq!(pending_from_item(&empty.id_hash, &item).unwrap(), empty);
    }

    #[test]
    fn code_session_and_consent_items_round_trip() {
        let record = code();
        let item = code_item(&record);
        assert_eq!(item["pk"], s(&format!("CODE#{}", record.code_hash)));
        assert_eq!(item["sk"], s("CODE"));
        assert_eq!(item["used"], AttributeValue::Bool(false));
        assert_eq!(
            code_from_item(&record.code_hash, &item).unwrap(),
            StoredCode {
                record: record.clone(),
                used: false
            }
        );
        let mut redeemed = item.clone();
        redeemed.insert("used".into(), AttributeValue::Bool(true));
        redeemed.insert("used_at".into(), AttributeValue::N("1700000010".into()));
        assert!(code_from_item(&record.code_hash, &redeemed).unwrap().used);

        let session = session();
        let item = session_item(&session);
        assert_eq!(item["pk"], s(&format!("SESSION#{}", session.id_hash)));
        assert_eq!(item["sk"], s("SESSION"));
        assert_eq!(item[TTL_ATTRIBUTE], AttributeValue::N("1700003600".into()));
        assert_eq!(session_from_item(&session.id_hash, &item).unwrap(), session);

        let consent = consent();
        let item = consent_item(&consent);
        assert_eq!(item["pk"], s("CONSENT#usr_1"));
        assert_eq!(item["sk"], s("CLIENT#web"));
        assert!(!item.contains_key(TTL_ATTRIBUTE), "consents do not expire");
        assert_eq!(consent_from_item(&item).unwrap(), consent);
    }

    #[test]
    fn corrupt_pending_items_are_reported_by_attribute() {
        let record = pending();
        let corrupt = |name: &str, value: Option<AttributeValue>| {
            let mut item = pending_item(&record);
            match value {
                Some(value) => item.insert(name.to_owned(), value),
                None => item.remove(name),
            };
            pending_from_item(&record.id_hash, &item)
        };
        let cases: [(&str, Option<AttributeValue>, &str); 13] = [
            ("csrf_hash", None, "csrf_hash"),
            (
                "browser_hash",
                Some(AttributeValue::N("1".into())),
                "browser_hash",
            ),
            ("client_id", Some(s("usr_x")), "client_id"),
            ("redirect_uri_sent", Some(s("true")), "redirect_uri_sent"),
            ("state", Some(AttributeValue::Bool(true)), "state"),
            ("scope", Some(s("a\"b")), "scope"),
            ("code_challenge", Some(s("short")), "code_challenge"),
            ("prompt", Some(s("bogus")), "prompt"),
            ("prompt", Some(s("consent  login")), "prompt"),
            ("prompt", None, "prompt"),
            ("max_age", Some(AttributeValue::N("-1".into())), "max_age"),
            ("max_age", Some(s("300")), "max_age"),
            (
                TTL_ATTRIBUTE,
                Some(AttributeValue::N("soon".into())),
                TTL_ATTRIBUTE,
            ),
        ];
        for (name, value, reported) in cases {
            assert_eq!(
                corrupt(name, value.clone()),
                Err(StoreError::Corrupt(reported)),
                "{name} = {value:?}"
            );
        }
    }

    #[test]
    fn corrupt_code_session_and_consent_items_are_reported_by_attribute() {
        let record = code();
        let mut item = code_item(&record);
        item.remove("used");
        assert_eq!(
            code_from_item(&record.code_hash, &item),
            Err(StoreError::Corrupt("used"))
        );
        let mut item = code_item(&record);
        item.insert(
            "credential_generation".into(),
            AttributeValue::N("-1".into()),
        );
        assert_eq!(
            code_from_item(&record.code_hash, &item),
            Err(StoreError::Corrupt("credential_generation"))
        );
        let mut item = code_item(&record);
        item.insert("nonce".into(), AttributeValue::L(Vec::new()));
        assert_eq!(
            code_from_item(&record.code_hash, &item),
            Err(StoreError::Corrupt("nonce"))
        );

        let session = session();
        let mut item = session_item(&session);
        item.remove("last_seen_at");
        assert_eq!(
            session_from_item(&session.id_hash, &item),
            Err(StoreError::Corrupt("last_seen_at"))
        );

        let consent = consent();
        let mut moved = consent_item(&consent);
        moved.insert("pk".into(), s("CONSENT#usr_2"));
        assert_eq!(
            consent_from_item(&moved),
            Err(StoreError::Corrupt("user_id"))
        );
        let mut moved = consent_item(&consent);
        moved.insert("client_id".into(), s("other"));
        assert_eq!(
            consent_from_item(&moved),
            Err(StoreError::Corrupt("client_id"))
        );
        let mut item = consent_item(&consent);
        item.remove("granted_at");
        assert_eq!(
            consent_from_item(&item),
            Err(StoreError::Corrupt("granted_at"))
        );
    }
}

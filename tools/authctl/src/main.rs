//! `authctl`: administer the service's table, users, clients and signing keys.
//!
//! Passwords are read from a prompt (or one line of standard input when it is not a
//! terminal), never from the command line, where they would land in shell history
//! and the process list.

mod migration;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use shared::clients::{self, ClientId, ClientRecord, GrantType};
use shared::keys::{self, SigningAlgorithm};
use shared::password_policy::{self, PasswordPolicy};
use shared::passwords::{self, PasswordHasher};
use shared::store::{
    ClientStore, DynamoDbStore, LoginAttemptStore, SignInStore, StoreError, StoreSettings,
    UserStore,
};
use shared::users::{UserRecord, Username, is_plausible_email};

#[derive(Parser)]
#[command(
    name = "authctl",
    version,
    about = "Administer the OAuth2 service: table, users, clients, keys"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct TableArgs {
    /// The DynamoDB table.
    #[arg(long, env = "TABLE_NAME")]
    table: String,
    /// A DynamoDB-compatible endpoint (local servers); unset in AWS.
    #[arg(long, env = "DYNAMODB_ENDPOINT")]
    endpoint_url: Option<String>,
}

#[derive(clap::Args)]
struct PolicyArgs {
    /// Characters a new password needs (keep it equal to the functions' setting).
    #[arg(long, env = "PASSWORD_MIN_LENGTH", default_value_t = password_policy::MIN_PASSWORD_CHARS)]
    min_password_length: usize,
}

impl PolicyArgs {
    fn policy(&self) -> Result<PasswordPolicy, String> {
        PasswordPolicy::new(self.min_password_length)
            .ok_or_else(|| "--min-password-length must be between 8 and 72".to_string())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Create the table (for local servers and first-time set-up; SAM creates it in AWS).
    Table {
        #[command(subcommand)]
        command: TableCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage OAuth clients (the applications that request tokens).
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Manage users' consents to clients that are not first-party.
    Consent {
        #[command(subcommand)]
        command: ConsentCommand,
    },
    /// Manage signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum TableCommand {
    Create {
        #[command(flatten)]
        table: TableArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; the password is prompted for (or read from standard input).
    Add {
        username: String,
        #[arg(long)]
        full_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// The email address is known to be the user's (OpenID Connect
        /// `email_verified`); unverified by default.
        #[arg(long, requires = "email")]
        email_verified: bool,
        /// A scope the user may be granted; repeat for several.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// bcrypt cost for the new hash.
        #[arg(long, env = "BCRYPT_COST", default_value_t = passwords::DEFAULT_COST)]
        bcrypt_cost: u32,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Show a user (never the password hash).
    Show {
        username: String,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Disable a user: logins and existing tokens stop working at once.
    Disable {
        username: String,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Enable a disabled user.
    Enable {
        username: String,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Set a user's password (prompted for, or read from standard input); every
    /// refresh token of the user stops working.
    SetPassword {
        username: String,
        #[arg(long, env = "BCRYPT_COST", default_value_t = passwords::DEFAULT_COST)]
        bcrypt_cost: u32,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Import users from CSV or JSON Lines (columns or keys: username, password_hash or
    /// password, email, full_name, scopes, disabled). Existing users are skipped,
    /// never overwritten; bcrypt hashes are kept as they are, plain passwords hashed.
    /// Prints a JSON summary on standard output, progress on standard error.
    Import {
        file: PathBuf,
        /// Default: from the extension (.csv is CSV, anything else JSON Lines).
        #[arg(long, value_enum)]
        format: Option<migration::Format>,
        /// Validate every row and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Continue an interrupted import after the rows it had finished.
        #[arg(long)]
        resume: bool,
        /// bcrypt cost for plain passwords.
        #[arg(long, env = "BCRYPT_COST", default_value_t = passwords::DEFAULT_COST)]
        bcrypt_cost: u32,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Export every user to standard output, in the import format.
    Export {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: migration::Format,
        /// Include the password hashes (treat the output as a secret).
        #[arg(long)]
        with_hashes: bool,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Mark the user's email address verified: OpenID Connect's `email_verified`
    /// becomes true (relying parties trust only verified addresses). `--address`
    /// must be the stored address, so that a changed one is never verified blindly.
    VerifyEmail {
        username: String,
        #[arg(long, value_name = "EMAIL")]
        address: String,
        /// Mark it unverified again instead.
        #[arg(long)]
        unverify: bool,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Lift a login lock and forget the failed attempts of a username.
    Unlock {
        username: String,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Delete a user for good.
    Delete {
        username: String,
        #[command(flatten)]
        table: TableArgs,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Grant {
    /// Browser sign-in through /authorize (RFC 6749 §4.1, PKCE required).
    #[value(name = "authorization_code")]
    AuthorizationCode,
    #[value(name = "password")]
    Password,
    #[value(name = "refresh_token")]
    RefreshToken,
    #[value(name = "client_credentials")]
    ClientCredentials,
}

impl From<Grant> for GrantType {
    fn from(grant: Grant) -> Self {
        match grant {
            Grant::AuthorizationCode => GrantType::AuthorizationCode,
            Grant::Password => GrantType::Password,
            Grant::RefreshToken => GrantType::RefreshToken,
            Grant::ClientCredentials => GrantType::ClientCredentials,
        }
    }
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Register a client. A confidential client (the default) gets a generated
    /// secret, printed once and stored only as a bcrypt hash; `--public` registers a
    /// client without a secret (a browser or mobile app).
    Add {
        client_id: String,
        /// A client that cannot keep a secret: identified by its id alone.
        #[arg(long)]
        public: bool,
        /// A grant the client may use; repeat for several. Default: client_credentials
        /// for a confidential client, password and refresh_token for a public one.
        #[arg(long = "grant", value_enum)]
        grants: Vec<Grant>,
        /// A scope the client's tokens may carry; repeat for several.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Where /authorize may send the browser back; repeat for several. Compared
        /// as exact strings, except loopback URIs (http://127.0.0.1/..., http://[::1]/...,
        /// http://localhost/...), which match on any port (RFC 8252 §7.3). https
        /// otherwise; private-use schemes (com.example.app:/cb) for public clients only.
        /// Required with --grant authorization_code.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// The service's own application: its users see no consent page.
        #[arg(long)]
        first_party: bool,
        /// Where OpenID Connect RP-initiated logout (/logout) may send the browser
        /// afterwards; repeat for several. Compared as exact strings; the same
        /// schemes as --redirect-uri.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// bcrypt cost for the secret's hash.
        #[arg(long, env = "BCRYPT_COST", default_value_t = passwords::DEFAULT_COST)]
        bcrypt_cost: u32,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Show a client (never the secret or its hash).
    Show {
        client_id: String,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Replace a confidential client's secret; the old one stops working at once.
    RotateSecret {
        client_id: String,
        #[arg(long, env = "BCRYPT_COST", default_value_t = passwords::DEFAULT_COST)]
        bcrypt_cost: u32,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Disable a client: its token, refresh and revocation requests are refused.
    Disable {
        client_id: String,
        #[command(flatten)]
        table: TableArgs,
    },
    /// Enable a disabled client.
    Enable {
        client_id: String,
        #[command(flatten)]
        table: TableArgs,
    },
}

#[derive(clap::Args)]
struct ConsentArgs {
    /// The user's name (any case).
    #[arg(long = "user", value_name = "NAME")]
    username: String,
    /// The client's id.
    #[arg(long = "client", value_name = "ID")]
    client_id: String,
    #[command(flatten)]
    table: TableArgs,
}

#[derive(Subcommand)]
enum ConsentCommand {
    /// Withdraw a user's consent to a client: the consent page is shown again at
    /// the user's next sign-in through it.
    Revoke {
        #[command(flatten)]
        consent: ConsentArgs,
    },
    /// Show a user's consent to a client: the scope granted, and when.
    Show {
        #[command(flatten)]
        consent: ConsentArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Algorithm {
    #[value(name = "ES256")]
    Es256,
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "HS256")]
    Hs256,
}

#[derive(Clone, Copy, ValueEnum)]
enum KeyFormat {
    /// `NAME='value'` lines, for `--env-file`, `.env` files and `set -a; source`.
    Env,
    /// One JSON object.
    Json,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Generate a signing key with a fresh key id and print the settings that use it.
    /// With --to-secret, store it in AWS Secrets Manager instead and print only the
    /// public side (JWT_ALGORITHM, the kid, JWT_VERIFICATION_KEYS).
    Generate {
        /// RS256 by default: the algorithm API Gateway's JWT authorizer verifies.
        #[arg(long, value_enum, default_value = "RS256")]
        algorithm: Algorithm,
        #[arg(long, value_enum, default_value = "env")]
        format: KeyFormat,
        /// The secret (name or ARN) to create, or to add a new current version to.
        /// SECRETS_MANAGER_ENDPOINT overrides the endpoint (a local stand-in).
        #[arg(long, value_name = "SECRET")]
        to_secret: Option<String>,
        /// With --to-secret: stage the key as AWSPENDING, not used to sign until
        /// `authctl keys activate`, so that its public key can be published first.
        #[arg(long, requires = "to_secret")]
        pending: bool,
    },
    /// Make the secret's AWSPENDING key current (the rotation's switch). The token
    /// function signs with it from its next cold start.
    Activate {
        #[arg(long, value_name = "SECRET")]
        secret: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    shared::telemetry::init_for_cli();
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("authctl: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn store(args: &TableArgs) -> DynamoDbStore {
    DynamoDbStore::connect_for_admin(&StoreSettings {
        table_name: args.table.clone(),
        endpoint_url: args.endpoint_url.clone(),
    })
    .await
}

fn username(value: &str) -> Result<Username, String> {
    Username::parse(value).map_err(|e| e.to_string())
}

fn describe(error: StoreError, username: &str) -> String {
    match error {
        StoreError::AlreadyExists => format!("user '{username}' already exists"),
        StoreError::NotFound => format!("no user '{username}'"),
        other => other.to_string(),
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Table {
            command: TableCommand::Create { table },
        } => match store(&table).await.create_table().await {
            Ok(()) => {
                println!("created table {} with TTL on expires_at", table.table);
                Ok(())
            }
            Err(StoreError::AlreadyExists) => Err(format!("table {} already exists", table.table)),
            Err(e) => Err(format!("{e} (see the log line above)")),
        },
        Command::User { command } => user_command(command).await,
        Command::Client { command } => client_command(command).await,
        Command::Consent {
            command: ConsentCommand::Revoke { consent },
        } => revoke_consent(&consent).await,
        Command::Consent {
            command: ConsentCommand::Show { consent },
        } => show_consent(&consent).await,
        Command::Keys {
            command:
                KeysCommand::Generate {
                    algorithm,
                    format,
                    to_secret,
                    pending,
                },
        } => {
            let algorithm = match algorithm {
                Algorithm::Es256 => SigningAlgorithm::Es256,
                Algorithm::Rs256 => SigningAlgorithm::Rs256,
                Algorithm::Hs256 => SigningAlgorithm::Hs256,
            };
            let key = keys::generate(algorithm).map_err(|e| e.to_string())?;
            let Some(secret) = to_secret else {
                print_key(&key, format, true);
                return Ok(());
            };
            if algorithm == SigningAlgorithm::Hs256 {
                // Its "public" key is the secret itself: nothing could be printed.
                return Err("--to-secret takes ES256 or RS256 keys".into());
            }
            let client = shared::signing_key_secret::admin_client().await;
            let stored = shared::signing_key_secret::store_key(&client, &secret, &key, pending)
                .await
                .map_err(|e| format!("secret {secret}: {e}"))?;
            eprintln!(
                "{}",
                match stored {
                    shared::signing_key_secret::Stored::Created =>
                        format!("created secret {secret} holding the new key (current)"),
                    shared::signing_key_secret::Stored::NewCurrentVersion => format!(
                        "stored the new key as the current version of {secret}; functions sign with it from their next cold start"
                    ),
                    shared::signing_key_secret::Stored::Pending => format!(
                        "staged the new key as AWSPENDING in {secret}: publish its public key, then run authctl keys activate --secret {secret}"
                    ),
                }
            );
            print_key(&key, format, false);
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Activate { secret },
        } => {
            let client = shared::signing_key_secret::admin_client().await;
            let key_id = shared::signing_key_secret::activate_pending(&client, &secret)
                .await
                .map_err(|e| format!("secret {secret}: {e}"))?;
            println!("JWT_SIGNING_KEY_ID='{key_id}'");
            eprintln!(
                "the key {key_id} is current in {secret}; token functions sign with it from their next cold start (see the README's rotation steps)"
            );
            Ok(())
        }
    }
}

async fn user_command(command: UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Add {
            username: name,
            full_name,
            email,
            email_verified,
            scopes,
            bcrypt_cost,
            policy,
            table,
        } => {
            let name = username(&name)?;
            if let Some(email) = &email
                && !is_plausible_email(email)
            {
                return Err("the email address is not valid".into());
            }
            let scope_set = shared::oauth::ScopeSet::parse(&scopes.join(" ")).map_err(|_| {
                "a scope contains a character RFC 6749 §3.3 does not allow".to_string()
            })?;
            let password = read_new_password(&policy.policy()?, name.as_str())?;
            // Hashes below the production minimum would also make this user's logins
            // measurably faster than an unknown user's (whose dummy hash has the
            // deployment's cost): keep authctl's cost equal to the functions' BCRYPT_COST.
            if bcrypt_cost < passwords::MIN_PRODUCTION_COST {
                return Err(format!(
                    "--bcrypt-cost must be at least {}",
                    passwords::MIN_PRODUCTION_COST
                ));
            }
            let hasher = PasswordHasher::new(bcrypt_cost).map_err(|e| e.to_string())?;
            let hash = hasher.hash(password).await.map_err(|e| e.to_string())?;
            let mut user = UserRecord::new(name.clone(), hash);
            user.full_name = full_name;
            user.email = email;
            user.email_verified = email_verified;
            user.scopes = scope_set.iter().map(str::to_owned).collect();
            store(&table)
                .await
                .create_user(&user)
                .await
                .map_err(|e| describe(e, name.as_str()))?;
            println!("created user {} ({})", name.as_str(), user.user_id);
            Ok(())
        }
        UserCommand::Show {
            username: name,
            table,
        } => {
            let key = username(&name)?.key();
            let user = store(&table)
                .await
                .get_user(&key)
                .await
                .map_err(|e| describe(e, &name))?
                .ok_or_else(|| describe(StoreError::NotFound, &name))?;
            let mut shown =
                serde_json::to_value(user.public_profile()).map_err(|e| e.to_string())?;
            shown["user_id"] = user.user_id.into();
            shown["scopes"] = user.scopes.into();
            shown["email_verified"] = user.email_verified.into();
            println!(
                "{}",
                serde_json::to_string_pretty(&shown).unwrap_or_default()
            );
            Ok(())
        }
        UserCommand::Disable {
            username: name,
            table,
        } => set_disabled(&name, &table, true).await,
        UserCommand::VerifyEmail {
            username: name,
            address,
            unverify,
            table,
        } => {
            let key = username(&name)?.key();
            match store(&table)
                .await
                .set_email_verified(&key, &address, !unverify, shared::now_unix())
                .await
            {
                Ok(()) => {
                    let state = if unverify { "unverified" } else { "verified" };
                    println!("{address} of {name} is now {state}");
                    Ok(())
                }
                Err(StoreError::Conflict) => Err(format!(
                    "{name}'s email address is not {address}: nothing changed"
                )),
                Err(e) => Err(describe(e, &name)),
            }
        }
        UserCommand::Enable {
            username: name,
            table,
        } => set_disabled(&name, &table, false).await,
        UserCommand::SetPassword {
            username: name,
            bcrypt_cost,
            policy,
            table,
        } => {
            let name = username(&name)?;
            let password = read_new_password(&policy.policy()?, name.as_str())?;
            let hash = secret_hasher(bcrypt_cost)?
                .hash(password)
                .await
                .map_err(|e| e.to_string())?;
            let store = store(&table).await;
            store
                .change_password(&name.key(), None, &hash)
                .await
                .map_err(|e| describe(e, name.as_str()))?;
            let user_id = store
                .get_user(&name.key())
                .await
                .ok()
                .flatten()
                .map(|u| u.user_id);
            shared::audit::record(
                shared::audit::AuditEvent::PasswordChanged,
                "set by an administrator (authctl); refresh tokens revoked",
                &shared::audit::Subject {
                    user_id: user_id.as_deref(),
                    username: Some(&name.key()),
                    client_id: None,
                },
                &shared::audit::RequestOrigin::default(),
            );
            // An administrator's reset also lifts a lock from failed logins.
            store
                .clear_login_attempts(&shared::throttle::throttle_key(name.as_str()))
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "set the password of {}; its refresh tokens are revoked",
                name.as_str()
            );
            Ok(())
        }
        UserCommand::Import {
            file,
            format,
            dry_run,
            resume,
            bcrypt_cost,
            table,
        } => {
            let options = migration::ImportOptions {
                format: format.unwrap_or_else(|| migration::Format::of(&file)),
                dry_run,
                resume,
                hasher: secret_hasher(bcrypt_cost)?,
            };
            let store = store(&table).await;
            let summary = migration::import(&store, &file, &options).await?;
            eprintln!(
                "{}imported {}, skipped {} (already present), rejected {}{}",
                if dry_run {
                    "dry run, nothing written: "
                } else {
                    ""
                },
                summary.imported,
                summary.skipped_existing,
                summary.rejected.len(),
                if summary.resumed_after > 0 {
                    format!(" (resumed after row {})", summary.resumed_after)
                } else {
                    String::new()
                }
            );
            for rejection in summary.rejected.iter().take(20) {
                eprintln!("  line {}: {}", rejection.line, rejection.reason);
            }
            if summary.rejected.len() > 20 {
                eprintln!(
                    "  ... and {} more (see the JSON summary)",
                    summary.rejected.len() - 20
                );
            }
            println!(
                "{}",
                serde_json::to_string(&summary).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        UserCommand::Export {
            format,
            with_hashes,
            table,
        } => {
            let store = store(&table).await;
            let mut out = std::io::stdout().lock();
            let count = migration::export(&store, format, with_hashes, &mut out).await?;
            eprintln!("exported {count} users");
            Ok(())
        }
        UserCommand::Unlock {
            username: name,
            table,
        } => {
            // Any name can be locked, existing or not: no existence check here.
            let key = shared::throttle::throttle_key(&name);
            store(&table)
                .await
                .clear_login_attempts(&key)
                .await
                .map_err(|e| e.to_string())?;
            shared::audit::record(
                shared::audit::AuditEvent::AccountUnlocked,
                "unlocked by an administrator (authctl)",
                &shared::audit::Subject {
                    username: shared::audit::loggable_username(&name).as_deref(),
                    ..Default::default()
                },
                &shared::audit::RequestOrigin::default(),
            );
            println!("unlocked {name}");
            Ok(())
        }
        UserCommand::Delete {
            username: name,
            table,
        } => {
            let key = username(&name)?.key();
            store(&table)
                .await
                .delete_user(&key)
                .await
                .map_err(|e| describe(e, &name))?;
            println!("deleted user {name}");
            Ok(())
        }
    }
}

fn client_id(value: &str) -> Result<ClientId, String> {
    ClientId::parse(value).map_err(|e| e.to_string())
}

fn describe_client(error: StoreError, client_id: &ClientId) -> String {
    match error {
        StoreError::AlreadyExists => format!("client '{client_id}' already exists"),
        StoreError::NotFound => format!("no confidential client '{client_id}'"),
        other => other.to_string(),
    }
}

fn secret_hasher(bcrypt_cost: u32) -> Result<PasswordHasher, String> {
    if bcrypt_cost < passwords::MIN_PRODUCTION_COST {
        return Err(format!(
            "--bcrypt-cost must be at least {}",
            passwords::MIN_PRODUCTION_COST
        ));
    }
    PasswordHasher::new(bcrypt_cost).map_err(|e| e.to_string())
}

/// The only place a client secret is ever shown.
fn print_secret(client_id: &ClientId, secret: &SecretString) {
    println!("client_id={client_id}");
    println!("client_secret={}", secret.expose_secret());
    eprintln!("Store the secret now: it is not shown again and is kept only as a hash.");
}

async fn client_command(command: ClientCommand) -> Result<(), String> {
    match command {
        ClientCommand::Add {
            client_id: id,
            public,
            grants,
            scopes,
            redirect_uris,
            first_party,
            post_logout_redirect_uris,
            bcrypt_cost,
            table,
        } => {
            let id = client_id(&id)?;
            let mut post_logout_redirect_uris = post_logout_redirect_uris;
            post_logout_redirect_uris.dedup();
            for uri in &post_logout_redirect_uris {
                shared::redirect_uri::check_registration(uri, public)
                    .map_err(|e| format!("--post-logout-redirect-uri {uri}: {e}"))?;
            }
            // A URI given twice would make a request without redirect_uri ambiguous.
            let mut redirect_uris = redirect_uris;
            let mut seen = std::collections::HashSet::new();
            redirect_uris.retain(|uri| seen.insert(uri.clone()));
            for uri in &redirect_uris {
                shared::redirect_uri::check_registration(uri, public)
                    .map_err(|e| format!("--redirect-uri {uri}: {e}"))?;
            }
            if grants.contains(&Grant::AuthorizationCode) && redirect_uris.is_empty() {
                return Err("--grant authorization_code needs at least one --redirect-uri".into());
            }
            if !redirect_uris.is_empty() && !grants.contains(&Grant::AuthorizationCode) {
                eprintln!(
                    "note: --redirect-uri without --grant authorization_code: browser sign-in \
                     through /authorize stays refused for this client"
                );
            }
            let grants = match (grants.is_empty(), public) {
                (false, _) => grants,
                (true, false) => vec![Grant::ClientCredentials],
                (true, true) => vec![Grant::Password, Grant::RefreshToken],
            };
            // RFC 6749 §4.4: client credentials only for confidential clients.
            if public && grants.contains(&Grant::ClientCredentials) {
                return Err("a public client cannot use client_credentials".into());
            }
            let scope_set = shared::oauth::ScopeSet::parse(&scopes.join(" ")).map_err(|_| {
                "a scope contains a character RFC 6749 §3.3 does not allow".to_string()
            })?;
            if scope_set.is_empty() {
                eprintln!(
                    "note: no --scope given: this client's tokens carry no scope, and users who \
                     log in through it get none of theirs (a token's scope is what both the \
                     user and the client may have)"
                );
            }
            let secret = (!public).then(clients::new_client_secret);
            let secret_hash = match &secret {
                Some(secret) => Some(
                    secret_hasher(bcrypt_cost)?
                        .hash(secret.clone())
                        .await
                        .map_err(|e| e.to_string())?,
                ),
                None => None,
            };
            let mut grant_types: Vec<GrantType> = grants.into_iter().map(Into::into).collect();
            grant_types.sort();
            grant_types.dedup();
            let client = ClientRecord {
                client_id: id.clone(),
                secret_hash,
                grant_types,
                scopes: scope_set.iter().map(str::to_owned).collect(),
                disabled: false,
                created_at: shared::now_unix(),
                redirect_uris,
                first_party,
                post_logout_redirect_uris,
            };
            store(&table)
                .await
                .create_client(&client)
                .await
                .map_err(|e| describe_client(e, &id))?;
            match secret {
                Some(secret) => {
                    eprintln!("created confidential client {id}");
                    print_secret(&id, &secret);
                }
                None => println!("created public client {id}"),
            }
            Ok(())
        }
        ClientCommand::Show {
            client_id: id,
            table,
        } => {
            let id = client_id(&id)?;
            let client = store(&table)
                .await
                .get_client(&id)
                .await
                .map_err(|e| describe_client(e, &id))?
                .ok_or_else(|| format!("no client '{id}'"))?;
            let shown = serde_json::json!({
                "client_id": client.client_id.as_str(),
                "type": if client.is_confidential() { "confidential" } else { "public" },
                "grant_types": client.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
                "scopes": client.scopes,
                "redirect_uris": client.redirect_uris,
                "first_party": client.first_party,
                "post_logout_redirect_uris": client.post_logout_redirect_uris,
                "disabled": client.disabled,
                "created_at": client.created_at,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&shown).unwrap_or_default()
            );
            Ok(())
        }
        ClientCommand::RotateSecret {
            client_id: id,
            bcrypt_cost,
            table,
        } => {
            let id = client_id(&id)?;
            let secret = clients::new_client_secret();
            let hash = secret_hasher(bcrypt_cost)?
                .hash(secret.clone())
                .await
                .map_err(|e| e.to_string())?;
            store(&table)
                .await
                .set_client_secret(&id, &hash)
                .await
                .map_err(|e| describe_client(e, &id))?;
            eprintln!("replaced the secret of client {id}; the old secret no longer works");
            print_secret(&id, &secret);
            Ok(())
        }
        ClientCommand::Disable {
            client_id: id,
            table,
        } => set_client_disabled(&id, &table, true).await,
        ClientCommand::Enable {
            client_id: id,
            table,
        } => set_client_disabled(&id, &table, false).await,
    }
}

/// The user a consent command names, and the client id, both checked.
async fn consent_subject(
    args: &ConsentArgs,
    store: &DynamoDbStore,
) -> Result<(UserRecord, ClientId), String> {
    let name = &args.username;
    let key = username(name)?.key();
    let id = client_id(&args.client_id)?;
    let user = store
        .get_user(&key)
        .await
        .map_err(|e| describe(e, name))?
        .ok_or_else(|| format!("no user '{name}'"))?;
    Ok((user, id))
}

fn no_consent(name: &str, id: &ClientId) -> String {
    format!("user '{name}' has no consent to client '{id}'")
}

async fn revoke_consent(args: &ConsentArgs) -> Result<(), String> {
    let store = store(&args.table).await;
    let (user, id) = consent_subject(args, &store).await?;
    let name = &args.username;
    match store.delete_consent(&user.user_id, &id).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(no_consent(name, &id)),
        Err(other) => return Err(other.to_string()),
    }
    shared::audit::record(
        shared::audit::AuditEvent::ConsentRevoked,
        "revoked by an administrator (authctl)",
        &shared::audit::Subject {
            user_id: Some(&user.user_id),
            username: Some(&user.username.key()),
            client_id: Some(id.as_str()),
        },
        &shared::audit::RequestOrigin::default(),
    );
    println!("revoked the consent of user {name} to client {id}");
    Ok(())
}

async fn show_consent(args: &ConsentArgs) -> Result<(), String> {
    let store = store(&args.table).await;
    let (user, id) = consent_subject(args, &store).await?;
    let consent = store
        .get_consent(&user.user_id, &id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| no_consent(&args.username, &id))?;
    let shown = serde_json::json!({
        "username": user.username.as_str(),
        "user_id": consent.user_id,
        "client_id": consent.client_id.as_str(),
        "scope": consent.scope.iter().collect::<Vec<_>>(),
        "granted_at": consent.granted_at,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&shown).unwrap_or_default()
    );
    Ok(())
}

async fn set_client_disabled(id: &str, table: &TableArgs, disabled: bool) -> Result<(), String> {
    let id = client_id(id)?;
    store(table)
        .await
        .set_client_disabled(&id, disabled)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => format!("no client '{id}'"),
            other => describe_client(other, &id),
        })?;
    println!(
        "{} client {id}",
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(())
}

async fn set_disabled(name: &str, table: &TableArgs, disabled: bool) -> Result<(), String> {
    let key = username(name)?.key();
    store(table)
        .await
        .set_disabled(&key, disabled)
        .await
        .map_err(|e| describe(e, name))?;
    println!(
        "{} user {name}",
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(())
}

/// Prompts twice on a terminal; otherwise reads one line from standard input.
fn read_new_password(policy: &PasswordPolicy, username: &str) -> Result<SecretString, String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let second = rpassword::prompt_password("Repeat password: ").map_err(|e| e.to_string())?;
        if first != second {
            return Err("the passwords do not match".into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    let password = SecretString::from(password);
    policy
        .check(&password, username)
        .map_err(|e| e.to_string())?;
    Ok(password)
}

/// The settings of a key; with `private` false, only the public side (the key went
/// to Secrets Manager and is never printed).
fn print_key(key: &keys::GeneratedKey, format: KeyFormat, private: bool) {
    // One-line PEM: no newlines or escapes for env files, shells or CloudFormation
    // parameters to mangle. The service reads it back as ordinary PEM.
    let settings: Vec<(&str, String)> = key
        .environment()
        .into_iter()
        .filter(|(name, _)| private || *name != "JWT_SIGNING_KEY")
        .collect();
    match format {
        KeyFormat::Env => {
            for (name, value) in settings {
                println!("{name}='{value}'");
            }
        }
        KeyFormat::Json => {
            let all: serde_json::Map<String, serde_json::Value> = settings
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.into()))
                .collect();
            println!("{}", serde_json::Value::Object(all));
        }
    }
}

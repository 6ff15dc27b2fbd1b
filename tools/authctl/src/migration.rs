//! `authctl user import` and `authctl user export`: users in and out as CSV or JSON
//! Lines, with existing bcrypt hashes kept as they are (so users of a passlib or
//! Django app keep their passwords) or plain passwords hashed on the way in.
//!
//! An import is resumable (a state file next to the input records how many rows are
//! done), never overwrites a user (conditional writes: existing users are skipped),
//! and ends with a summary of imported, skipped and rejected rows with reasons. Rows
//! are validated with the same rules as every other way in; a rejected row never
//! shows its password.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use shared::oauth::ScopeSet;
use shared::passwords::{self, PasswordHash, PasswordHasher};
use shared::store::UserStore;
use shared::users::{UserRecord, Username, is_plausible_email};

/// Rows validated, hashed and written together.
const CHUNK_ROWS: usize = 500;
/// The longest full name accepted, as for self-service registration.
const MAX_FULL_NAME_CHARS: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// `.csv` is CSV; anything else JSON Lines.
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => Format::Csv,
            _ => Format::Jsonl,
        }
    }
}

/// One row of an import or export file. CSV has these as columns (header required);
/// JSON Lines as the keys of one object per line. `scopes` is space-separated.
#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserRow {
    pub username: String,
    /// A bcrypt hash (`$2a$`, `$2b$` or `$2y$`) to keep as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// A plain password to hash on the way in. Never exported.
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// A row that passed validation; the password, if plain, is still to be hashed.
struct ValidRow {
    line: usize,
    user: UserRecord,
    plain_password: Option<SecretString>,
}

/// A rejected row: where, and why (never the row's content).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Rejection {
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub imported: usize,
    pub skipped_existing: usize,
    pub rejected: Vec<Rejection>,
    /// Rows skipped because an earlier, interrupted run had done them.
    pub resumed_after: usize,
    pub dry_run: bool,
}

pub struct ImportOptions {
    pub format: Format,
    pub dry_run: bool,
    pub resume: bool,
    pub hasher: PasswordHasher,
}

/// Where the progress of an import of `input` is kept.
pub fn state_path(input: &Path) -> PathBuf {
    let mut name = input.as_os_str().to_owned();
    name.push(".import-state");
    PathBuf::from(name)
}

#[derive(Serialize, Deserialize)]
struct ImportState {
    /// The input's size when the import began: a changed file does not resume.
    input_bytes: u64,
    rows_done: usize,
}

/// A row as read: its line number, and the row or why it cannot be read.
type ReadRow = (usize, Result<UserRow, String>);

/// Reads rows one at a time.
fn rows(path: &Path, format: Format) -> Result<Box<dyn Iterator<Item = ReadRow>>, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    match format {
        Format::Jsonl => Ok(Box::new(
            BufReader::new(file)
                .lines()
                .enumerate()
                .map(|(i, line)| (i + 1, line))
                .filter(|(_, line)| !matches!(line, Ok(text) if text.trim().is_empty()))
                .map(|(number, line)| {
                    let row = line
                        .map_err(|_| "the line is not valid UTF-8".to_string())
                        .and_then(|text| {
                            serde_json::from_str::<UserRow>(&text)
                                .map_err(|e| describe_json_error(&e))
                        });
                    (number, row)
                }),
        )),
        Format::Csv => {
            let reader = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(file);
            Ok(Box::new(
                reader
                    .into_deserialize::<UserRow>()
                    .map(|row| {
                        let line = row
                            .as_ref()
                            .err()
                            .and_then(|e| e.position())
                            .map(|p| p.line() as usize);
                        match row {
                            Ok(row) => (0, Ok(row)),
                            Err(error) => (line.unwrap_or(0), Err(describe_csv_error(&error))),
                        }
                    })
                    .enumerate()
                    // Data rows start on line 2, after the header.
                    .map(|(i, (line, row))| (if line == 0 { i + 2 } else { line }, row)),
            ))
        }
    }
}

/// serde's messages may quote a value (a password): keep only the kind of problem.
fn describe_json_error(error: &serde_json::Error) -> String {
    let message = error.to_string();
    if let Some(field) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        return format!("unknown field '{field}'");
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        return format!("missing field '{field}'");
    }
    "the line is not a JSON object with the documented fields".into()
}

fn describe_csv_error(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths { .. } => "the row has the wrong number of columns".into(),
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".into(),
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(index) => format!("column {} cannot be read", index + 1),
            None => "the row does not match the header (unknown or missing column)".into(),
        },
        _ => "the row cannot be read".into(),
    }
}

/// Applies the rules every user meets, whatever way it comes in.
fn validate(line: usize, row: UserRow) -> Result<ValidRow, String> {
    let username = Username::parse(&row.username).map_err(|e| e.to_string())?;
    let (hash, plain_password) = match (row.password_hash, row.password) {
        (Some(hash), None) => (
            PasswordHash::parse(hash).map_err(|_| {
                "password_hash is not a bcrypt hash ($2a$, $2b$ or $2y$)".to_string()
            })?,
            None,
        ),
        (None, Some(password)) => {
            let password = SecretString::from(password);
            passwords::check_hashable(&password).map_err(|e| e.to_string())?;
            (placeholder_hash(), Some(password))
        }
        (Some(_), Some(_)) => return Err("give password_hash or password, not both".into()),
        (None, None) => return Err("password_hash or password is required".into()),
    };
    if let Some(email) = &row.email
        && !is_plausible_email(email)
    {
        return Err("the email address is not valid".into());
    }
    if let Some(name) = &row.full_name
        && (name.chars().count() > MAX_FULL_NAME_CHARS || name.chars().any(char::is_control))
    {
        return Err(
            "the full name must be at most 128 characters, without control characters".into(),
        );
    }
    let scopes = ScopeSet::parse(row.scopes.as_deref().unwrap_or(""))
        .map_err(|_| "a scope contains a character RFC 6749 §3.3 does not allow".to_string())?;
    let mut user = UserRecord::new(username, hash);
    user.email = row.email;
    user.full_name = row.full_name;
    user.scopes = scopes.iter().map(str::to_owned).collect();
    user.disabled = row.disabled.unwrap_or(false);
    Ok(ValidRow {
        line,
        user,
        plain_password,
    })
}

/// Stands in until a plain password is hashed; never stored.
fn placeholder_hash() -> PasswordHash {
    PasswordHash::parse("$2b$04$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy")
        .expect("a valid constant hash")
}

/// Imports `input` into `store`.
pub async fn import(
    store: &dyn UserStore,
    input: &Path,
    options: &ImportOptions,
) -> Result<Summary, String> {
    let input_bytes = std::fs::metadata(input)
        .map_err(|e| format!("{}: {e}", input.display()))?
        .len();
    let state_file = state_path(input);
    let resumed_after = match (options.resume, std::fs::read(&state_file)) {
        (true, Ok(bytes)) => {
            let state: ImportState = serde_json::from_slice(&bytes)
                .map_err(|_| format!("{} is not an import state file", state_file.display()))?;
            if state.input_bytes != input_bytes {
                return Err(format!(
                    "{} changed since the interrupted import; start again without --resume",
                    input.display()
                ));
            }
            state.rows_done
        }
        _ => 0,
    };
    let total = rows(input, options.format)?.count();
    let progress = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  ETA {eta}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_position(resumed_after as u64);

    let mut summary = Summary {
        resumed_after,
        dry_run: options.dry_run,
        ..Summary::default()
    };
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    let mut rows_done = resumed_after;
    let mut iterator = rows(input, options.format)?.skip(resumed_after);
    loop {
        let chunk: Vec<_> = iterator.by_ref().take(CHUNK_ROWS).collect();
        if chunk.is_empty() {
            break;
        }
        let rows_in_chunk = chunk.len();
        let mut valid = Vec::new();
        for (line, row) in chunk {
            let checked = row.and_then(|row| validate(line, row)).and_then(|row| {
                let key = row.user.username.key();
                match first_line_of.get(&key) {
                    Some(first) => Err(format!("the same username as line {first}")),
                    None => {
                        first_line_of.insert(key, line);
                        Ok(row)
                    }
                }
            });
            match checked {
                Ok(row) => valid.push(row),
                Err(reason) => summary.rejected.push(Rejection { line, reason }),
            }
        }
        if !options.dry_run {
            let users = hash_plain_passwords(valid, &options.hasher, &mut summary).await;
            let created = store.import_users(&users).await.map_err(|e| {
                format!("{e}; rerun with --resume to continue after row {rows_done}")
            })?;
            summary.imported += created.iter().filter(|c| **c).count();
            summary.skipped_existing += created.iter().filter(|c| !**c).count();
        }
        rows_done += rows_in_chunk;
        progress.inc(rows_in_chunk as u64);
        progress.set_message(format!("{} rejected", summary.rejected.len()));
        if !options.dry_run {
            let state = ImportState {
                input_bytes,
                rows_done,
            };
            std::fs::write(&state_file, serde_json::to_vec(&state).unwrap_or_default())
                .map_err(|e| format!("{}: {e}", state_file.display()))?;
        }
    }
    progress.finish();
    if !options.dry_run {
        // Finished: nothing to resume.
        let _ = std::fs::remove_file(&state_file);
    }
    Ok(summary)
}

/// Hashes the plain passwords of a chunk on the blocking pool, all cores at once.
async fn hash_plain_passwords(
    rows: Vec<ValidRow>,
    hasher: &PasswordHasher,
    summary: &mut Summary,
) -> Vec<UserRecord> {
    let mut pending = Vec::new();
    for row in rows {
        let hasher = hasher.clone();
        pending.push(tokio::spawn(async move {
            match row.plain_password {
                Some(password) => match hasher.hash(password).await {
                    Ok(hash) => {
                        let mut user = row.user;
                        user.password_hash = hash;
                        Ok(user)
                    }
                    Err(error) => Err(Rejection {
                        line: row.line,
                        reason: error.to_string(),
                    }),
                },
                None => Ok(row.user),
            }
        }));
    }
    let mut users = Vec::new();
    for handle in pending {
        match handle.await {
            Ok(Ok(user)) => users.push(user),
            Ok(Err(rejection)) => summary.rejected.push(rejection),
            Err(_) => {}
        }
    }
    users
}

/// Writes every user to `out` (hashes only when asked), sorted by username.
pub async fn export(
    store: &dyn UserStore,
    format: Format,
    with_hashes: bool,
    out: &mut dyn Write,
) -> Result<usize, String> {
    let mut users = store.list_users().await.map_err(|e| e.to_string())?;
    users.sort_by_key(|u| u.username.key());
    let rows = users.iter().map(|user| UserRow {
        username: user.username.as_str().to_owned(),
        password_hash: with_hashes.then(|| user.password_hash.as_str().to_owned()),
        password: None,
        email: user.email.clone(),
        full_name: user.full_name.clone(),
        scopes: (!user.scopes.is_empty()).then(|| user.scopes.join(" ")),
        disabled: Some(user.disabled),
    });
    let count = users.len();
    match format {
        Format::Jsonl => {
            for row in rows {
                let line = serde_json::to_string(&row).map_err(|e| e.to_string())?;
                writeln!(out, "{line}").map_err(|e| e.to_string())?;
            }
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            // Every column, always, so that the header is the same for every file.
            writer
                .write_record([
                    "username",
                    "password_hash",
                    "email",
                    "full_name",
                    "scopes",
                    "disabled",
                ])
                .map_err(|e| e.to_string())?;
            for row in rows {
                writer
                    .write_record([
                        row.username,
                        row.password_hash.unwrap_or_default(),
                        row.email.unwrap_or_default(),
                        row.full_name.unwrap_or_default(),
                        row.scopes.unwrap_or_default(),
                        row.disabled.unwrap_or(false).to_string(),
                    ])
                    .map_err(|e| e.to_string())?;
            }
            writer.flush().map_err(|e| e.to_string())?;
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(json: &str) -> Result<ValidRow, String> {
        let row: UserRow = serde_json::from_str(json).map_err(|e| describe_json_error(&e))?;
        validate(1, row)
    }

    #[test]
    fn rows_are_validated_like_every_other_way_in() {
        let hash = "$2y$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
        let ok = row(&format!(r#"{{"username":"Ann","password_hash":"{hash}","scopes":"read write","email":"ann@example.com"}}"#)).unwrap();
        assert_eq!(ok.user.password_hash.as_str(), hash, "kept as it is");
        assert_eq!(ok.user.scopes, ["read", "write"]);
        for (json, reason) in [
            (r#"{"username":"a b","password":"long enough"}"#, "username"),
            (r#"{"username":"ann","password_hash":"plain"}"#, "bcrypt"),
            (r#"{"username":"ann"}"#, "required"),
            (
                r#"{"username":"ann","password":"x","password_hash":"y"}"#,
                "not both",
            ),
            (
                r#"{"username":"ann","password":"long enough","email":"nope"}"#,
                "email",
            ),
            (
                r#"{"username":"ann","password":"long enough","role":"admin"}"#,
                "unknown field 'role'",
            ),
            (r#"{"password":"long enough"}"#, "missing field 'username'"),
            (
                r#"{"username":"ann","password":"long enough","scopes":"a\"b"}"#,
                "scope",
            ),
        ] {
            let error = row(json).err().unwrap();
            assert!(error.contains(reason), "{json}: {error}");
        }
    }

    #[test]
    fn reasons_never_quote_a_password() {
        let error = row(r#"{"username":"ann","password":42}"#).err().unwrap();
        assert!(!error.contains("42"), "{error}");
        let error = row(r#"{"username":"ann","password":"secret-value","x":1}"#)
            .err()
            .unwrap();
        assert!(!error.contains("secret-value"), "{error}");
    }
}

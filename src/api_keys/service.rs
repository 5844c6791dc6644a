//! Creating and revoking API keys.

use chrono::NaiveDateTime;

use super::{ApiKeyRow, generate, hash_key, repo};
use crate::audit::{self, Actor};
use crate::auth::Scope;
use crate::db::{self, DbConnection};

/// A key just created: the row and the secret, which is never shown again.
#[derive(Debug)]
pub struct CreatedKey {
    /// The stored row.
    pub row: ApiKeyRow,
    /// The key itself.
    pub key: String,
}

/// Creates a key with the given scopes.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    name: String,
    scopes: &[Scope],
    store_id: Option<String>,
    now: NaiveDateTime,
) -> diesel::QueryResult<CreatedKey> {
    let (key, prefix) = generate();
    let mut names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let row = ApiKeyRow {
        id: uuid::Uuid::now_v7().to_string(),
        name,
        prefix,
        key_hash: hash_key(&key),
        scopes: names.join(" "),
        store_id,
        created_by: match actor {
            Actor::Staff(id) => Some(id.clone()),
            _ => None,
        },
        created_at: now,
        revoked_at: None,
    };
    db::write(conn, |c| {
        repo::insert(c, &row)?;
        audit::record(c, actor, "api_key.create", "api_key", &row.id, now)
    })?;
    Ok(CreatedKey { row, key })
}

/// Revokes a key (idempotent). `NotFound` if there is no such key.
pub fn revoke(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    db::write(conn, |c| {
        if !repo::revoke(c, id, now)? {
            return Err(diesel::result::Error::NotFound);
        }
        audit::record(c, actor, "api_key.revoke", "api_key", id, now)
    })
}

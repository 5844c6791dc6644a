//! API key queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ApiKeyRow;
use crate::db::{DbConnection, schema::api_keys};

/// Finds a key by the hash of its secret (unique index).
pub fn find_by_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::key_hash.eq(hash))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()
}

/// Inserts a key.
pub fn insert(conn: &mut DbConnection, row: &ApiKeyRow) -> QueryResult<()> {
    diesel::insert_into(api_keys::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Keys ordered by id (time-ordered), after the cursor id.
pub fn list(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ApiKeyRow>> {
    let mut query = api_keys::table
        .select(ApiKeyRow::as_select())
        .order(api_keys::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(api_keys::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// Marks a key revoked unless it already is; returns whether the key exists.
pub fn revoke(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    crate::cache::changed(crate::cache::Topic::ApiKeys);
    diesel::update(
        api_keys::table
            .find(id)
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(at))
    .execute(conn)?;
    diesel::select(diesel::dsl::exists(api_keys::table.find(id))).get_result(conn)
}

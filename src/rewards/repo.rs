//! Reward and code queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{CodeRow, RewardRow};
use crate::db::DbConnection;
use crate::db::schema::{reward_codes, rewards};

/// Finds a reward.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RewardRow>> {
    rewards::table
        .find(id)
        .select(RewardRow::as_select())
        .first(conn)
        .optional()
}

/// Locks the reward's row for the rest of the transaction (a no-op UPDATE, so it works on both
/// databases), then reads it: a read-modify-write cannot lose a concurrent change.
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RewardRow>> {
    diesel::update(rewards::table.find(id))
        .set(rewards::updated_at.eq(rewards::updated_at))
        .execute(conn)?;
    find(conn, id)
}

/// Inserts a reward.
pub fn insert(conn: &mut DbConnection, row: &RewardRow) -> QueryResult<()> {
    diesel::insert_into(rewards::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Writes every column of a reward.
pub fn update(conn: &mut DbConnection, row: &RewardRow) -> QueryResult<()> {
    diesel::update(rewards::table.find(&row.id))
        .set(row)
        .execute(conn)
        .map(drop)
}

/// Rewards ordered by id (time-ordered) after the cursor id; only active ones if asked.
pub fn list(
    conn: &mut DbConnection,
    after: Option<&str>,
    active_only: bool,
    limit: i64,
) -> QueryResult<Vec<RewardRow>> {
    let mut query = rewards::table
        .select(RewardRow::as_select())
        .order(rewards::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(rewards::id.gt(after.to_owned()));
    }
    if active_only {
        query = query.filter(rewards::active.eq(true));
    }
    query.load(conn)
}

/// Takes one from a limited stock; false when none is left. Unlimited stock always succeeds.
pub fn take_stock(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    let limited = diesel::update(rewards::table.find(id).filter(rewards::stock.gt(0)))
        .set(rewards::stock.eq(rewards::stock - 1))
        .execute(conn)?;
    if limited == 1 {
        return Ok(true);
    }
    rewards::table
        .find(id)
        .select(rewards::stock.is_null())
        .first(conn)
}

/// Whether the reward's stock is unlimited.
pub fn unlimited(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    rewards::table
        .find(id)
        .select(rewards::stock.is_null())
        .first(conn)
}

/// Puts one back into a limited stock.
pub fn return_stock(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::update(rewards::table.find(id).filter(rewards::stock.is_not_null()))
        .set(rewards::stock.eq(rewards::stock + 1))
        .execute(conn)
        .map(drop)
}

/// Codes of this reward the customer holds, not counting cancelled ones.
pub fn count_codes(
    conn: &mut DbConnection,
    reward_id: &str,
    customer_id: &str,
) -> QueryResult<i64> {
    reward_codes::table
        .filter(reward_codes::reward_id.eq(reward_id))
        .filter(reward_codes::customer_id.eq(customer_id))
        .filter(reward_codes::status.ne("cancelled"))
        .count()
        .get_result(conn)
}

/// Inserts a code.
pub fn insert_code(conn: &mut DbConnection, row: &CodeRow) -> QueryResult<()> {
    diesel::insert_into(reward_codes::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Finds a code.
pub fn find_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<CodeRow>> {
    reward_codes::table
        .find(code)
        .select(CodeRow::as_select())
        .first(conn)
        .optional()
}

/// A customer's codes, newest first.
pub fn codes_of(
    conn: &mut DbConnection,
    customer_id: &str,
    limit: i64,
) -> QueryResult<Vec<CodeRow>> {
    reward_codes::table
        .filter(reward_codes::customer_id.eq(customer_id))
        .select(CodeRow::as_select())
        .order((reward_codes::issued_at.desc(), reward_codes::code.desc()))
        .limit(limit)
        .load(conn)
}

/// Marks an issued, unexpired code used; false if it was not in that state.
pub fn mark_used(
    conn: &mut DbConnection,
    code: &str,
    store: Option<&str>,
    purchase: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        reward_codes::table
            .find(code)
            .filter(reward_codes::status.eq("issued"))
            .filter(reward_codes::expires_at.gt(now)),
    )
    .set((
        reward_codes::status.eq("used"),
        reward_codes::used_at.eq(now),
        reward_codes::used_store_id.eq(store),
        reward_codes::used_purchase_external_id.eq(purchase),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Marks an issued code cancelled; false if it was not issued.
pub fn mark_cancelled(
    conn: &mut DbConnection,
    code: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        reward_codes::table
            .find(code)
            .filter(reward_codes::status.eq("issued")),
    )
    .set((
        reward_codes::status.eq("cancelled"),
        reward_codes::cancelled_at.eq(now),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

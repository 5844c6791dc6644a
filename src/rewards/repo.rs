//! Reward and code queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};

use super::{CodeRow, LocalizedText, RewardRow};
use crate::db::DbConnection;
use crate::db::raw::Bind;
use crate::db::schema::{reward_codes, rewards};
use crate::points::BalanceRow;

/// Finds a reward.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RewardRow>> {
    rewards::table
        .find(id)
        .select(RewardRow::as_select())
        .first(conn)
        .optional()
}

/// A balance row locked with its customer's erasure time and, if it exists, a reward.
#[derive(QueryableByName)]
struct LockedForRedemption {
    #[diesel(embed)]
    balance: BalanceRow,
    #[diesel(sql_type = Nullable<Timestamp>)]
    erased_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    r_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    r_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    r_description: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    r_kind: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    r_percent_off: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    r_amount_off_minor: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    r_sku: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    r_cost_points: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    r_min_tier_id: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    r_stock: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    r_per_customer_limit: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    r_valid_from: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    r_valid_until: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<BigInt>)]
    r_code_validity_days: Option<i64>,
    #[diesel(sql_type = Nullable<Bool>)]
    r_active: Option<bool>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    r_created_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    r_updated_at: Option<NaiveDateTime>,
}

impl LockedForRedemption {
    /// The reward the outer join found, checked as [`find`] checks it.
    fn reward(&mut self) -> QueryResult<Option<RewardRow>> {
        let Some(id) = self.r_id.take() else {
            return Ok(None);
        };
        fn present<T>(value: Option<T>, column: &str) -> QueryResult<T> {
            value.ok_or_else(|| {
                diesel::result::Error::DeserializationError(
                    format!("rewards.{column} is NULL in a reward row").into(),
                )
            })
        }
        let name = present(self.r_name.take(), "name")?;
        let description = present(self.r_description.take(), "description")?;
        crate::db::json::parse::<LocalizedText>(&name)?;
        crate::db::json::parse::<LocalizedText>(&description)?;
        Ok(Some(RewardRow {
            id,
            name,
            description,
            kind: present(self.r_kind.take(), "kind")?,
            percent_off: self.r_percent_off,
            amount_off_minor: self.r_amount_off_minor,
            sku: self.r_sku.take(),
            cost_points: present(self.r_cost_points, "cost_points")?,
            min_tier_id: self.r_min_tier_id.take(),
            stock: self.r_stock,
            per_customer_limit: self.r_per_customer_limit,
            valid_from: self.r_valid_from,
            valid_until: self.r_valid_until,
            code_validity_days: present(self.r_code_validity_days, "code_validity_days")?,
            active: present(self.r_active, "active")?,
            created_at: present(self.r_created_at, "created_at")?,
            updated_at: present(self.r_updated_at, "updated_at")?,
        }))
    }
}

/// The customer's balance row locked for a redemption (as [`ledger::lock_row`] locks it), with
/// whether the customer was erased and the reward (`None` if there is no such reward), in one
/// statement on PostgreSQL. The erasure and the reward are read as the statement started, as
/// reads just before the lock would read them: stock is taken by a conditional update later, and
/// per-customer limits and tiers are read after the lock. `None` when that cannot be told in one
/// statement: on SQLite, or when the id has no balance row (unknown, or merged into another); the
/// caller then resolves the id, locks with [`ledger::lock_row`] and reads the reward with [`find`].
///
/// [`ledger::lock_row`]: crate::points::ledger::lock_row
pub fn lock_for_redemption(
    conn: &mut DbConnection,
    customer_id: &str,
    reward_id: &str,
) -> QueryResult<Option<(BalanceRow, bool, Option<RewardRow>)>> {
    if !matches!(conn, DbConnection::Postgres(_)) {
        return Ok(None);
    }
    let found: Option<LockedForRedemption> = crate::db::raw::load(
        conn,
        "SELECT b.customer_id, b.available, b.pending, b.negative, b.lifetime_earned, \
         b.redeemed, b.expired, b.updated_at, b.last_seq, c.erased_at, \
         r.id AS r_id, r.name AS r_name, r.description AS r_description, r.kind AS r_kind, \
         r.percent_off AS r_percent_off, r.amount_off_minor AS r_amount_off_minor, \
         r.sku AS r_sku, r.cost_points AS r_cost_points, r.min_tier_id AS r_min_tier_id, \
         r.stock AS r_stock, r.per_customer_limit AS r_per_customer_limit, \
         r.valid_from AS r_valid_from, r.valid_until AS r_valid_until, \
         r.code_validity_days AS r_code_validity_days, r.active AS r_active, \
         r.created_at AS r_created_at, r.updated_at AS r_updated_at \
         FROM balances b JOIN customers c ON c.id = b.customer_id \
         LEFT JOIN rewards r ON r.id = ? \
         WHERE b.customer_id = ? FOR NO KEY UPDATE OF b",
        &[
            Bind::Text(reward_id.to_owned()),
            Bind::Text(customer_id.to_owned()),
        ],
    )?
    .into_iter()
    .next();
    let Some(mut found) = found else {
        return Ok(None);
    };
    let reward = found.reward()?;
    Ok(Some((found.balance, found.erased_at.is_some(), reward)))
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

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

/// A balance row locked with its customer's erasure time, the reward if it exists, and one of the
/// customer's available lots (none on the only row when they have none).
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
    #[diesel(sql_type = Nullable<Text>)]
    lot_id: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    lot_remaining: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    lot_expires_at: Option<NaiveDateTime>,
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

/// What [`lock_for_redemption`] read under the lock.
pub struct LockedRedemption {
    /// The customer's balance, locked.
    pub balance: BalanceRow,
    /// The customer was erased.
    pub erased: bool,
    /// The reward, if it exists.
    pub reward: Option<RewardRow>,
    /// The first page of the customer's available lots, in spending order.
    pub lots: crate::points::service::LotPage,
}

/// On PostgreSQL, locks the customer's balance (as [`ledger::lock_row`] locks it) and then reads
/// it, whether the customer was erased, the reward and the first page of the lots spending would
/// take, in one round trip; all of it is read after the lock is held. `None` on SQLite, and when
/// the id has no balance row (unknown, or merged into another): the caller then resolves the id,
/// locks with [`ledger::lock_row`], reads the reward with [`find`] and the lots with
/// `plan_spend`.
///
/// [`ledger::lock_row`]: crate::points::ledger::lock_row
pub fn lock_for_redemption(
    conn: &mut DbConnection,
    customer_id: &str,
    reward_id: &str,
) -> QueryResult<Option<LockedRedemption>> {
    if !matches!(conn, DbConnection::Postgres(_)) {
        return Ok(None);
    }
    let rows: Vec<LockedForRedemption> = crate::db::raw::load(
        conn,
        "SELECT * FROM redemption_standing(?, ?, ?)",
        &[
            Bind::Text(customer_id.to_owned()),
            Bind::Text(reward_id.to_owned()),
            Bind::Int(crate::points::service::SPEND_PAGE),
        ],
    )?;
    let mut lots = Vec::with_capacity(rows.len());
    let mut first = None;
    for mut row in rows {
        if let Some(id) = row.lot_id.take() {
            let remaining = row.lot_remaining.ok_or_else(|| {
                diesel::result::Error::DeserializationError(
                    "point_lots.remaining is NULL in a lot row".into(),
                )
            })?;
            lots.push((id, remaining, row.lot_expires_at));
        }
        if first.is_none() {
            first = Some(row);
        }
    }
    let Some(mut found) = first else {
        return Ok(None);
    };
    let reward = found.reward()?;
    Ok(Some(LockedRedemption {
        balance: found.balance,
        erased: found.erased_at.is_some(),
        reward,
        lots,
    }))
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

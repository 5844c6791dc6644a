//! Tier queries.

use chrono::{Datelike, Months, NaiveDateTime};
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::{CustomerTierRow, TierRow};
use crate::db::DbConnection;
use crate::db::schema::{customer_tiers, qualifying_points, rewards, tier_changes, tiers};

/// Every tier, lowest threshold first.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<TierRow>> {
    tiers::table
        .select(TierRow::as_select())
        .order(tiers::threshold.asc())
        .load(conn)
}

/// Finds a tier.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<TierRow>> {
    tiers::table
        .find(id)
        .select(TierRow::as_select())
        .first(conn)
        .optional()
}

/// Locks the tier's row for the rest of the transaction (a no-op UPDATE, so it works on both
/// databases), then reads it: a read-modify-write cannot lose a concurrent change.
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> QueryResult<Option<TierRow>> {
    diesel::update(tiers::table.find(id))
        .set(tiers::updated_at.eq(tiers::updated_at))
        .execute(conn)?;
    find(conn, id)
}

/// Inserts a tier.
pub fn insert(conn: &mut DbConnection, row: &TierRow) -> QueryResult<()> {
    crate::cache::changed(crate::cache::Topic::Tiers);
    diesel::insert_into(tiers::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Writes every column of a tier.
pub fn update(conn: &mut DbConnection, row: &TierRow) -> QueryResult<()> {
    crate::cache::changed(crate::cache::Topic::Tiers);
    diesel::update(tiers::table.find(&row.id))
        .set(row)
        .execute(conn)
        .map(drop)
}

/// Why a tier could not be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InUse {
    /// Customers hold it.
    Held,
    /// A reward requires it (`rewards.min_tier_id`).
    RequiredByReward,
}

/// Deletes a tier nobody holds and no reward requires. The foreign key from
/// `rewards.min_tier_id` backs the reward check up against a reward saved concurrently.
pub fn delete_unused(conn: &mut DbConnection, id: &str) -> QueryResult<Result<(), InUse>> {
    crate::cache::changed(crate::cache::Topic::Tiers);
    let held: i64 = customer_tiers::table
        .filter(customer_tiers::tier_id.eq(id))
        .count()
        .get_result(conn)?;
    if held > 0 {
        return Ok(Err(InUse::Held));
    }
    let required: i64 = rewards::table
        .filter(rewards::min_tier_id.eq(id))
        .count()
        .get_result(conn)?;
    if required > 0 {
        return Ok(Err(InUse::RequiredByReward));
    }
    match diesel::delete(tiers::table.find(id)).execute(conn) {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            _,
        )) => Ok(Err(InUse::RequiredByReward)),
        other => other.map(|_| Ok(())),
    }
}

/// The customer's tier row, if they have reached a tier.
pub fn of_customer(
    conn: &mut DbConnection,
    customer_id: &str,
) -> QueryResult<Option<CustomerTierRow>> {
    customer_tiers::table
        .find(customer_id)
        .select(CustomerTierRow::as_select())
        .first(conn)
        .optional()
}

/// Sets (or replaces) the customer's tier.
pub fn set_customer_tier(conn: &mut DbConnection, row: &CustomerTierRow) -> QueryResult<()> {
    let updated = diesel::update(customer_tiers::table.find(&row.customer_id))
        .set((
            customer_tiers::tier_id.eq(&row.tier_id),
            customer_tiers::since.eq(row.since),
            customer_tiers::below_since.eq(row.below_since),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(customer_tiers::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Removes the customer's tier (downgraded below the lowest tier).
pub fn clear_customer_tier(conn: &mut DbConnection, customer_id: &str) -> QueryResult<()> {
    diesel::delete(customer_tiers::table.find(customer_id))
        .execute(conn)
        .map(drop)
}

/// Marks when the customer fell below (or rose back above) their tier's threshold.
pub fn set_below_since(
    conn: &mut DbConnection,
    customer_id: &str,
    at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    diesel::update(customer_tiers::table.find(customer_id))
        .set(customer_tiers::below_since.eq(at))
        .execute(conn)
        .map(drop)
}

/// `YYYY-MM` of a time.
pub fn month_of(t: NaiveDateTime) -> String {
    format!("{:04}-{:02}", t.year(), t.month())
}

/// Adds (or with a negative amount, removes) qualifying points in the month of `at`.
/// Call with the customer's balance row locked, so the update-or-insert cannot race.
pub fn add_qualifying(
    conn: &mut DbConnection,
    customer_id: &str,
    at: NaiveDateTime,
    points: i64,
) -> QueryResult<()> {
    let mut batch = crate::db::batch::Batch::new(conn);
    batch.push(qualifying_upsert(customer_id, at, points));
    batch.run(conn).map(drop)
}

/// The statement that adds `points` qualifying points in the month of `at`.
pub fn qualifying_upsert(
    customer_id: &str,
    at: NaiveDateTime,
    points: i64,
) -> impl diesel::query_builder::QueryFragment<diesel::pg::Pg>
+ diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
+ Send
+ 'static {
    diesel::insert_into(qualifying_points::table)
        .values((
            qualifying_points::customer_id.eq(customer_id.to_owned()),
            qualifying_points::month.eq(month_of(at)),
            qualifying_points::points.eq(points),
        ))
        .on_conflict((qualifying_points::customer_id, qualifying_points::month))
        .do_update()
        .set(
            qualifying_points::points
                .eq(qualifying_points::points + excluded(qualifying_points::points)),
        )
}

/// Qualifying points in the window: this calendar month and the `window_months - 1` before it.
/// Reads at most `window_months` rows, whatever the length of the customer's history.
pub fn qualifying(
    conn: &mut DbConnection,
    customer_id: &str,
    now: NaiveDateTime,
    window_months: i64,
) -> QueryResult<i64> {
    let back = u32::try_from(window_months.saturating_sub(1)).unwrap_or(0);
    let first = now.checked_sub_months(Months::new(back)).unwrap_or(now);
    let points: Vec<i64> = qualifying_points::table
        .filter(qualifying_points::customer_id.eq(customer_id))
        .filter(qualifying_points::month.ge(month_of(first)))
        .select(qualifying_points::points)
        .load(conn)?;
    // Summed in i128: tier thresholds are far below i64::MAX, so a larger sum reads as i64::MAX.
    let sum: i128 = points.iter().map(|p| i128::from(*p)).sum();
    Ok(i64::try_from(sum.max(0)).unwrap_or(i64::MAX))
}

/// Records a tier change; returns its id.
pub fn record_change(
    conn: &mut DbConnection,
    customer_id: &str,
    from: Option<&str>,
    to: Option<&str>,
    reason: &str,
    qualifying: i64,
    at: NaiveDateTime,
) -> QueryResult<String> {
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(tier_changes::table)
        .values((
            tier_changes::id.eq(&id),
            tier_changes::customer_id.eq(customer_id),
            tier_changes::from_tier_id.eq(from),
            tier_changes::to_tier_id.eq(to),
            tier_changes::reason.eq(reason),
            tier_changes::qualifying_points.eq(qualifying),
            tier_changes::at.eq(at),
        ))
        .execute(conn)?;
    let summary = match (from, to) {
        (_, Some(to)) => format!("Tier {reason} to {to} ({qualifying} qualifying points)"),
        (Some(from), None) => {
            format!("Tier {reason}: left {from} ({qualifying} qualifying points)")
        }
        (None, None) => format!("Tier {reason}"),
    };
    crate::timeline::record(
        conn,
        crate::timeline::NewEvent {
            customer_id,
            kind: crate::timeline::Kind::TierChange,
            channel: "system",
            summary,
            ref_type: "tier_change",
            ref_id: &id,
            occurred_at: at,
        },
        at,
    )?;
    Ok(id)
}

/// Customers holding a tier, by id after the cursor, for the review job.
pub fn holders_after(conn: &mut DbConnection, after: &str, limit: i64) -> QueryResult<Vec<String>> {
    customer_tiers::table
        .filter(customer_tiers::customer_id.gt(after))
        .select(customer_tiers::customer_id)
        .order(customer_tiers::customer_id.asc())
        .limit(limit)
        .load(conn)
}

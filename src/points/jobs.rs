//! Point jobs. Each is idempotent, batch-limited and safe when several instances run it at once:
//! a lot is claimed by a conditional UPDATE, and a unique index allows one release entry per lot.
//! Like every writer of a customer's points, a job locks the customer's balance row first and
//! only then claims the lot, so jobs and requests never wait for each other in opposite orders.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::ledger::{self, LedgerError, Posting};
use super::{EntryKind, LotRow};
use crate::clock::SharedClock;
use crate::db::schema::point_lots;
use crate::db::{self, DbConnection, Pool};

/// Lots handled per run.
pub const BATCH: i64 = 1000;

/// What a job run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobReport {
    /// Items processed.
    pub items: u64,
    /// Items skipped because another instance took them first.
    pub skipped: u64,
}

/// Applies `claim` to each lot; a lot another instance took first counts as skipped, and a
/// failure is logged and left for the next run.
fn each_lot(
    conn: &mut DbConnection,
    lots: Vec<LotRow>,
    now: NaiveDateTime,
    claim: fn(&mut DbConnection, &LotRow, NaiveDateTime) -> Result<bool, LedgerError>,
) -> JobReport {
    let mut report = JobReport::default();
    for lot in lots {
        match claim(conn, &lot, now) {
            Ok(true) => report.items += 1,
            Ok(false) => report.skipped += 1,
            Err(e) => {
                tracing::error!(lot = %lot.id, error = %e, "a lot job failed on this lot; the next run retries it")
            }
        }
    }
    report
}

/// Makes pending points whose return window has passed available.
pub fn release_pending(pool: &Pool, clock: &SharedClock) -> anyhow::Result<JobReport> {
    pool.scoped(|| release_pending_now(pool, clock))
}

fn release_pending_now(pool: &Pool, clock: &SharedClock) -> anyhow::Result<JobReport> {
    let now = clock.now_naive();
    let mut conn = pool.get()?;
    let due: Vec<LotRow> = point_lots::table
        .filter(point_lots::status.eq("pending"))
        .filter(point_lots::available_at.le(now))
        .select(LotRow::as_select())
        .order((point_lots::available_at.asc(), point_lots::id.asc()))
        .limit(BATCH)
        .load(&mut *conn)?;
    Ok(each_lot(&mut conn, due, now, release_lot))
}

/// Moves a lot from one status to the next unless another instance did; returns what is left in it.
fn claim(
    c: &mut DbConnection,
    lot_id: &str,
    from: &str,
    to: &str,
) -> diesel::QueryResult<Option<i64>> {
    let claimed = diesel::update(
        point_lots::table
            .find(lot_id)
            .filter(point_lots::status.eq(from)),
    )
    .set(point_lots::status.eq(to))
    .execute(c)?;
    if claimed == 0 {
        return Ok(None);
    }
    point_lots::table
        .find(lot_id)
        .select(point_lots::remaining)
        .first(c)
        .map(Some)
}

fn release_lot(
    conn: &mut DbConnection,
    lot: &LotRow,
    now: NaiveDateTime,
) -> Result<bool, LedgerError> {
    db::write(conn, |c| {
        ledger::lock(c, &lot.customer_id)?;
        // Returns may have taken some of the lot back while it was pending.
        let Some(remaining) = claim(c, &lot.id, "pending", "available")? else {
            return Ok(false);
        };
        if remaining > 0 {
            ledger::post(
                c,
                Posting {
                    customer_id: lot.customer_id.clone(),
                    kind: EntryKind::Release,
                    points: remaining,
                    pending: -remaining,
                    negative: 0,
                    source_type: lot.source_type.clone(),
                    source_id: lot.source_id.clone(),
                    lot_id: Some(lot.id.clone()),
                    note: None,
                    expires_at: lot.expires_at,
                },
                now,
            )?;
        }
        if lot.source_type == "purchase" {
            crate::referrals::maybe_pay(c, &lot.customer_id, &lot.source_id, now)?;
        }
        Ok(true)
    })
}

/// Expires available points whose lot has reached its expiry date.
pub fn expire_points(pool: &Pool, clock: &SharedClock) -> anyhow::Result<JobReport> {
    pool.scoped(|| expire_points_now(pool, clock))
}

fn expire_points_now(pool: &Pool, clock: &SharedClock) -> anyhow::Result<JobReport> {
    let now = clock.now_naive();
    let mut conn = pool.get()?;
    let due: Vec<LotRow> = point_lots::table
        .filter(point_lots::status.eq("available"))
        .filter(point_lots::expires_at.le(now))
        .select(LotRow::as_select())
        .order((point_lots::expires_at.asc(), point_lots::id.asc()))
        .limit(BATCH)
        .load(&mut *conn)?;
    Ok(each_lot(&mut conn, due, now, expire_lot))
}

fn expire_lot(
    conn: &mut DbConnection,
    lot: &LotRow,
    now: NaiveDateTime,
) -> Result<bool, LedgerError> {
    db::write(conn, |c| {
        ledger::lock(c, &lot.customer_id)?;
        let Some(remaining) = claim(c, &lot.id, "available", "expired")? else {
            return Ok(false);
        };
        if remaining > 0 {
            // What expired is kept on the lot, so a later return of the purchase does not take
            // those points from the customer a second time.
            diesel::update(point_lots::table.find(&lot.id))
                .set((
                    point_lots::remaining.eq(0),
                    point_lots::expired.eq(remaining),
                ))
                .execute(c)?;
            ledger::post(
                c,
                Posting {
                    customer_id: lot.customer_id.clone(),
                    kind: EntryKind::Expire,
                    points: -remaining,
                    pending: 0,
                    negative: 0,
                    source_type: lot.source_type.clone(),
                    source_id: lot.source_id.clone(),
                    lot_id: Some(lot.id.clone()),
                    note: None,
                    expires_at: lot.expires_at,
                },
                now,
            )?;
        }
        Ok(true)
    })
}

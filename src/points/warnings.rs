//! The `expiry_warnings` job: `expiry_warning_days` before points expire, one `points_expiring`
//! message per customer and expiry date (a lot batch: the customer's lots expiring that UTC day).
//!
//! Available lots not yet warned are read in expiry order through `point_lots_expiry_warning_idx`,
//! a batch at a time; warning a batch marks its lots (`expiry_warned_at`), so a lot is looked at
//! once, not on every run. Like every writer of a customer's points, the job locks the balance
//! row first and only then marks the lots; the message's dedupe key
//! `points_expiring:{customer}:{date}` makes a second instance's attempt a no-op.

use chrono::{Days, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::jobs::JobReport;
use super::ledger;
use crate::clock::SharedClock;
use crate::db::schema::{customers, point_lots};
use crate::db::{self, DbConnection, Pool};
use crate::messages::{Kind, outbox};

/// Lots read per run.
pub const BATCH: i64 = 1000;

/// Warns customers of points expiring within `expiry_warning_days` (0 turns warnings off).
pub fn expiry_warnings(pool: &Pool, clock: &SharedClock) -> anyhow::Result<JobReport> {
    pool.scoped(|| expiry_warnings_now(pool, clock))
}

fn expiry_warnings_now(pool: &Pool, clock: &SharedClock) -> anyhow::Result<JobReport> {
    let now = clock.now_naive();
    let mut conn = pool.get()?;
    let days = crate::program::repo::load(&mut conn)?.expiry_warning_days;
    let mut report = JobReport::default();
    let Some(horizon) = u64::try_from(days)
        .ok()
        .filter(|d| *d > 0)
        .and_then(|d| now.checked_add_days(Days::new(d)))
    else {
        return Ok(report);
    };
    let due: Vec<(String, Option<NaiveDateTime>)> = point_lots::table
        .filter(point_lots::expiry_warned_at.is_null())
        .filter(point_lots::expires_at.gt(now))
        .filter(point_lots::expires_at.le(horizon))
        .filter(point_lots::status.eq("available"))
        .filter(point_lots::remaining.gt(0))
        .select((point_lots::customer_id, point_lots::expires_at))
        .order((point_lots::expires_at.asc(), point_lots::id.asc()))
        .limit(BATCH)
        .load(&mut *conn)?;
    let mut batches: Vec<(String, NaiveDate)> = Vec::new();
    for (customer_id, expires_at) in due {
        let Some(day) = expires_at.map(|t| t.date()) else {
            continue;
        };
        if !batches.iter().any(|(c, d)| *c == customer_id && *d == day) {
            batches.push((customer_id, day));
        }
    }
    for (customer_id, day) in batches {
        match warn(&mut conn, &customer_id, day, now) {
            Ok(Warned::Sent) => report.items += 1,
            Ok(Warned::Taken) => report.skipped += 1,
            Ok(Warned::Nothing) => {}
            Err(e) => tracing::error!(
                customer = %customer_id, error = %e,
                "expiry warning failed; the next run retries it"
            ),
        }
    }
    Ok(report)
}

/// What became of one lot batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Warned {
    /// The message was enqueued.
    Sent,
    /// Another instance warned this batch first.
    Taken,
    /// Nothing to warn of (spent meanwhile, or the customer was erased); the lots are marked.
    Nothing,
}

/// Warns the customer of the points left in their lots expiring on `day`, in one transaction.
fn warn(
    conn: &mut DbConnection,
    customer_id: &str,
    day: NaiveDate,
    now: NaiveDateTime,
) -> QueryResult<Warned> {
    let start = day.and_time(chrono::NaiveTime::MIN);
    let end = start + chrono::Duration::days(1);
    db::write(conn, |c| {
        // One lock order everywhere: the balance row first, then the lots.
        ledger::lock(c, customer_id)?;
        let marked = diesel::update(
            point_lots::table
                .filter(point_lots::customer_id.eq(customer_id))
                .filter(point_lots::status.eq("available"))
                .filter(point_lots::expires_at.ge(start))
                .filter(point_lots::expires_at.lt(end))
                .filter(point_lots::expiry_warned_at.is_null()),
        )
        .set(point_lots::expiry_warned_at.eq(now))
        .execute(c)?;
        if marked == 0 {
            return Ok(Warned::Taken);
        }
        let erased: Option<Option<NaiveDateTime>> = customers::table
            .find(customer_id)
            .select(customers::erased_at)
            .first(c)
            .optional()?;
        if !matches!(erased, Some(None)) {
            return Ok(Warned::Nothing);
        }
        // Everything left that expires that day, including lots an earlier warning covered.
        let lots: Vec<(i64, Option<NaiveDateTime>)> = point_lots::table
            .filter(point_lots::customer_id.eq(customer_id))
            .filter(point_lots::status.eq("available"))
            .filter(point_lots::remaining.gt(0))
            .filter(point_lots::expires_at.ge(start))
            .filter(point_lots::expires_at.lt(end))
            .select((point_lots::remaining, point_lots::expires_at))
            .load(c)?;
        let points: i64 = lots.iter().map(|(remaining, _)| remaining).sum();
        let Some(expires_at) = lots.iter().filter_map(|(_, at)| *at).min() else {
            return Ok(Warned::Nothing);
        };
        let cause = format!("{customer_id}:{day}");
        let enqueued = outbox::enqueue(
            c,
            outbox::NewMessage {
                customer_id,
                kind: Kind::PointsExpiring,
                dedupe_key: format!("points_expiring:{customer_id}:{day}"),
                cause_type: "lot_batch",
                cause_id: &cause,
                payload: json!({"points": points, "expires_at": expires_at.and_utc()}),
                due_at: now,
                suppressed: None,
            },
            now,
        )?;
        Ok(if enqueued.is_some() {
            Warned::Sent
        } else {
            Warned::Taken
        })
    })
}

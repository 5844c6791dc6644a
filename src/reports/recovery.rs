//! The recovery report: cases opened by bad answers in a range, how many were resolved and how
//! fast, and how many resolved customers bought again within 60 days.

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use serde::Serialize;
use utoipa::ToSchema;

use super::params::Range;
use super::{Fixed, repo};
use crate::db::DbConnection;

/// The repurchase window after a resolution.
pub const REPURCHASE_DAYS: i64 = 60;

/// The recovery report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecoveryReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Cases with `opened_at` in the range.
    pub opened: i64,
    /// Of those, the cases resolved (by now).
    pub resolved: i64,
    /// Of those, the cases still open.
    pub open: i64,
    /// The mean of the resolved cases' whole seconds from opening to resolution, rounded half
    /// away from zero; `null` when none was resolved.
    pub average_resolution_seconds: Option<i64>,
    /// Their median (for an even count, the mean of the two middle ones, rounded half away from
    /// zero); `null` when none was resolved.
    pub median_resolution_seconds: Option<i64>,
    /// Resolved cases whose customer made a purchase with `occurred_at` in
    /// `[resolved_at, resolved_at + 60 days)` (anonymous cases never count).
    pub repurchased: i64,
    /// `100 × resolved / opened`, one decimal; `null` when none was opened.
    #[schema(value_type = Option<f64>)]
    pub recovery_rate: Option<Fixed>,
    /// `100 × repurchased / resolved`, one decimal; `null` when none was resolved.
    #[schema(value_type = Option<f64>)]
    pub repurchase_rate: Option<Fixed>,
}

fn mean(sum: i64, n: i64) -> Option<i64> {
    (n > 0)
        .then(|| i64::try_from(super::round_div(i128::from(sum), i128::from(n))).ok())
        .flatten()
}

/// The recovery report of a range.
pub fn report(conn: &mut DbConnection, range: Range) -> QueryResult<RecoveryReport> {
    let counts = repo::case_counts(conn, range)?;
    let median = if counts.resolved == 0 {
        None
    } else {
        let middle = repo::resolution_seconds_at(conn, range, (counts.resolved - 1) / 2)?;
        match middle.as_slice() {
            [a, b] if counts.resolved % 2 == 0 => mean(a + b, 2),
            [a, ..] => Some(*a),
            [] => None,
        }
    };
    let repurchased = repo::repurchased(conn, range, REPURCHASE_DAYS)?;
    Ok(RecoveryReport {
        from: range.from.and_utc(),
        to: range.to.and_utc(),
        opened: counts.opened,
        resolved: counts.resolved,
        open: counts.opened - counts.resolved,
        average_resolution_seconds: mean(counts.seconds, counts.resolved),
        median_resolution_seconds: median,
        repurchased,
        recovery_rate: Fixed::percent(counts.resolved, counts.opened),
        repurchase_rate: Fixed::percent(repurchased, counts.resolved),
    })
}

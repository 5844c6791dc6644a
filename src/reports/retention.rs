//! The retention report: churn between two consecutive periods, the repeat-purchase rate of the
//! latest one, and how many members each RFM segment holds now.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::QueryResult;
use serde::Serialize;
use utoipa::ToSchema;

use super::params::Range;
use super::{Fixed, repo};
use crate::customers::stats::Segment;
use crate::db::DbConnection;

/// Members of one segment.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReportSegmentMembers)]
pub struct SegmentMembers {
    pub segment: Segment,
    pub members: i64,
}

/// A period of the report.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReportPeriod)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Customers with at least one purchase with `occurred_at` in `[from, to)`.
    pub buyers: i64,
}

/// The retention report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetentionReport {
    pub as_of: DateTime<Utc>,
    pub period_days: i64,
    /// `[as_of − period_days, as_of)`.
    pub current: Period,
    /// `[as_of − 2 × period_days, as_of − period_days)`.
    pub previous: Period,
    /// Customers who bought in the previous period and not in the current one.
    pub churned: i64,
    /// `100 × churned / previous.buyers`, one decimal; `null` when nobody bought in the
    /// previous period.
    #[schema(value_type = Option<f64>)]
    pub churn_rate: Option<Fixed>,
    /// Customers with two or more purchases in the current period.
    pub repeat_buyers: i64,
    /// `100 × repeat_buyers / current.buyers`, one decimal; `null` when nobody bought.
    #[schema(value_type = Option<f64>)]
    pub repeat_purchase_rate: Option<Fixed>,
    /// Members per segment now (`customer_stats`), every segment listed.
    pub segments: Vec<SegmentMembers>,
}

/// The retention report for periods of `days` ending at `as_of`. A return never un-buys a
/// purchase: purchases count whatever was returned.
pub fn report(
    conn: &mut DbConnection,
    as_of: NaiveDateTime,
    days: i64,
) -> QueryResult<RetentionReport> {
    let period = Duration::days(days);
    let current = Range {
        from: as_of - period,
        to: as_of,
    };
    let previous = Range {
        from: as_of - period - period,
        to: as_of - period,
    };
    let now = repo::buyers(conn, current)?;
    let before = repo::buyers(conn, previous)?;
    let churned = repo::churned(conn, previous, current)?;
    let counts = repo::segment_counts(conn)?;
    let segments = Segment::ALL
        .into_iter()
        .map(|segment| SegmentMembers {
            segment,
            members: counts
                .iter()
                .filter(|c| c.segment == segment.as_str())
                .map(|c| c.n)
                .sum(),
        })
        .collect();
    Ok(RetentionReport {
        as_of: as_of.and_utc(),
        period_days: days,
        current: Period {
            from: current.from.and_utc(),
            to: current.to.and_utc(),
            buyers: now.buyers,
        },
        previous: Period {
            from: previous.from.and_utc(),
            to: previous.to.and_utc(),
            buyers: before.buyers,
        },
        churned,
        churn_rate: Fixed::percent(churned, before.buyers),
        repeat_buyers: now.repeat,
        repeat_purchase_rate: Fixed::percent(now.repeat, now.buyers),
        segments,
    })
}

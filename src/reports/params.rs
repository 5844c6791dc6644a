//! The reports' query parameters: the time range, the grouping, and their checks. Parsed after
//! the caller's role was checked, so an unauthorised caller learns nothing about them.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customers::validate::Check;
use crate::error::ApiError;

/// The default range: the 30 days before `to`.
pub const DEFAULT_DAYS: i64 = 30;

/// What a report is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ReportGroupBy)]
pub enum GroupBy {
    /// The channel the experience happened in.
    Channel,
    /// `store_id`.
    Store,
    /// `agent_id`.
    Agent,
    /// The touchpoint.
    Touchpoint,
    /// The ISO week (Monday to Sunday, UTC); the key is the Monday, `YYYY-MM-DD`.
    Week,
    /// The calendar month (UTC); the key is its first day, `YYYY-MM-DD`.
    Month,
}

impl GroupBy {
    const ALL: [GroupBy; 6] = [
        GroupBy::Channel,
        GroupBy::Store,
        GroupBy::Agent,
        GroupBy::Touchpoint,
        GroupBy::Week,
        GroupBy::Month,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Channel => "channel",
            GroupBy::Store => "store",
            GroupBy::Agent => "agent",
            GroupBy::Touchpoint => "touchpoint",
            GroupBy::Week => "week",
            GroupBy::Month => "month",
        }
    }

    fn parse(s: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// A half-open time range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
}

/// Parses the query string into `T` (unknown parameters: 400 `invalid_query`).
pub fn query<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    crate::body::query(raw)
}

/// An RFC 3339 time parameter.
pub fn time(c: &mut Check, field: &str, raw: Option<&str>) -> Option<DateTime<Utc>> {
    let raw = raw?;
    let parsed = DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "must be an RFC 3339 time, e.g. 2026-11-01T00:00:00Z".to_owned());
    c.take(field, parsed)
}

/// `from` and `to`: `to` defaults to now, `from` to 30 days before `to`.
pub fn range(
    c: &mut Check,
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Option<Range> {
    let from_at = time(c, "from", from);
    let to_at = time(c, "to", to);
    if (from.is_some() && from_at.is_none()) || (to.is_some() && to_at.is_none()) {
        return None;
    }
    let to = to_at.unwrap_or(now);
    let from = from_at.unwrap_or(to - Duration::days(DEFAULT_DAYS));
    Some(Range {
        from: from.naive_utc(),
        to: to.naive_utc(),
    })
}

/// `group_by`.
pub fn group_by(c: &mut Check, raw: Option<&str>) -> Option<GroupBy> {
    let raw = raw?;
    let parsed = GroupBy::parse(raw);
    if parsed.is_none() {
        c.fail(
            "group_by",
            "must be one of channel, store, agent, touchpoint, week, month",
        );
    }
    parsed
}

/// Ends the checks: field errors first (400 `validation_failed`), then an empty or reversed
/// range (422 `invalid_range`).
pub fn finish(c: Check, range: Option<Range>) -> Result<Range, ApiError> {
    c.finish()?;
    let range = range
        .ok_or_else(|| ApiError::bad_request("validation_failed", "from/to: not a valid range"))?;
    if range.from >= range.to {
        return Err(ApiError::unprocessable(
            "invalid_range",
            "from: must be before to",
        ));
    }
    Ok(range)
}

/// A bounded integer parameter.
pub fn int(c: &mut Check, field: &str, raw: Option<&str>, min: i64, max: i64) -> Option<i64> {
    let raw = raw?;
    let parsed = raw
        .parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("must be an integer from {min} to {max}"));
    c.take(field, parsed)
}

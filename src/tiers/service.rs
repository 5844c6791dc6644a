//! Tier rules: upgrades at once when qualifying points reach a threshold, downgrades only at the
//! review after `tier_grace_days` below it, and the progress shown to customers.

use chrono::{Days, NaiveDateTime};

use super::{CustomerTierRow, TierRow, repo};
use crate::clock::SharedClock;
use crate::db::{self, DbConnection, Pool};
use crate::points::jobs::JobReport;
use crate::points::ledger;
use crate::program::ProgramSettings;

/// A customer's tier and progress.
#[derive(Debug, Clone)]
pub struct TierStatus {
    pub tier: Option<TierRow>,
    pub since: Option<NaiveDateTime>,
    pub qualifying: i64,
    pub next: Option<TierRow>,
    pub points_to_next: Option<i64>,
    /// Points still needed in the window to keep the current tier at the next review.
    pub points_to_retain: Option<i64>,
    /// When the review will downgrade the customer if they stay below their tier.
    pub review_at: Option<NaiveDateTime>,
}

/// The highest tier whose threshold `qualifying` reaches.
pub fn earned_tier(tiers: &[TierRow], qualifying: i64) -> Option<&TierRow> {
    tiers
        .iter()
        .filter(|t| t.threshold <= qualifying)
        .max_by_key(|t| t.threshold)
}

/// The customer's tier multiplier in percent (100 without a tier).
pub fn multiplier(
    conn: &mut DbConnection,
    customer_id: &str,
) -> diesel::QueryResult<(i64, Option<TierRow>)> {
    let tiers = crate::cache::tiers(conn)?;
    let current = held(conn, customer_id, &tiers)?;
    Ok(multiplier_of(&tiers, current.as_ref()))
}

/// The customer's tier row; without tiers nobody holds one (and nothing is read).
pub fn held(
    conn: &mut DbConnection,
    customer_id: &str,
    tiers: &[TierRow],
) -> diesel::QueryResult<Option<CustomerTierRow>> {
    if tiers.is_empty() {
        return Ok(None);
    }
    repo::of_customer(conn, customer_id)
}

/// The multiplier in percent (100 without a tier) and the tier of a customer holding `current`.
pub fn multiplier_of(
    tiers: &[TierRow],
    current: Option<&CustomerTierRow>,
) -> (i64, Option<TierRow>) {
    let tier = current
        .and_then(|c| tiers.iter().find(|t| t.id == c.tier_id))
        .cloned();
    (tier.as_ref().map_or(100, |t| t.multiplier_percent), tier)
}

/// Records earned (positive) or reversed (negative) qualifying points in the month of `earned_at`,
/// upgrades at once when a higher threshold is reached, and starts the grace period when the
/// customer falls below their tier. Call with the balance row locked.
pub fn qualifying_changed(
    conn: &mut DbConnection,
    customer_id: &str,
    points: i64,
    earned_at: NaiveDateTime,
    program: &ProgramSettings,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    let tiers = crate::cache::tiers(conn)?;
    let current = held(conn, customer_id, &tiers)?;
    qualifying_changed_for(
        conn,
        customer_id,
        points,
        earned_at,
        program,
        &tiers,
        current,
        now,
    )
}

/// [`qualifying_changed`] for a caller that already read the tiers and the customer's tier row
/// under the balance lock.
#[allow(clippy::too_many_arguments)]
pub fn qualifying_changed_for(
    conn: &mut DbConnection,
    customer_id: &str,
    points: i64,
    earned_at: NaiveDateTime,
    program: &ProgramSettings,
    tiers: &[TierRow],
    current: Option<CustomerTierRow>,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    if points == 0 {
        return Ok(());
    }
    repo::add_qualifying(conn, customer_id, earned_at, points)?;
    tier_follows(conn, customer_id, None, program, tiers, current, now).map(drop)
}

/// Upgrades at once when the qualifying points reach a higher threshold, and starts (or ends)
/// the grace period when they fall below (or rise back above) the tier's. `qualifying` is the
/// customer's qualifying points when the caller knows them (else they are read). Call with the
/// balance row locked, after the qualifying points were recorded. Returns the tier row after.
pub fn tier_follows(
    conn: &mut DbConnection,
    customer_id: &str,
    qualifying: Option<i64>,
    program: &ProgramSettings,
    tiers: &[TierRow],
    current: Option<CustomerTierRow>,
    now: NaiveDateTime,
) -> diesel::QueryResult<Option<CustomerTierRow>> {
    // A tier created through another instance within the last second may be held already and
    // missing from this instance's copy: decide with the stored tiers then.
    let reloaded;
    let tiers = match &current {
        Some(c) if !tiers.iter().any(|t| t.id == c.tier_id) => {
            reloaded = repo::all(conn)?;
            &reloaded[..]
        }
        _ => tiers,
    };
    if tiers.is_empty() {
        return Ok(current);
    }
    let qualifying = match qualifying {
        Some(q) => q,
        None => repo::qualifying(conn, customer_id, now, program.tier_window_months)?,
    };
    let current_tier = current
        .as_ref()
        .and_then(|c| tiers.iter().find(|t| t.id == c.tier_id));
    let earned = earned_tier(tiers, qualifying);
    match (current_tier, earned) {
        (cur, Some(target)) if cur.is_none_or(|c| target.threshold > c.threshold) => {
            let upgraded = CustomerTierRow {
                customer_id: customer_id.to_owned(),
                tier_id: target.id.clone(),
                since: now,
                below_since: None,
            };
            repo::set_customer_tier(conn, &upgraded)?;
            let change_id = repo::record_change(
                conn,
                customer_id,
                cur.map(|c| c.id.as_str()),
                Some(&target.id),
                "upgrade",
                qualifying,
                now,
            )?;
            // The congratulation goes out with the upgrade or not at all: same transaction, one
            // message per tier change.
            crate::messages::outbox::enqueue(
                conn,
                crate::messages::outbox::NewMessage {
                    customer_id,
                    kind: crate::messages::Kind::TierChanged,
                    dedupe_key: format!("tier_changed:{change_id}"),
                    cause_type: "tier_change",
                    cause_id: &change_id,
                    // Tier names are localized text (a string or a map per locale), kept as
                    // stored so the message is rendered in the customer's language.
                    payload: serde_json::json!({
                        "tier_name": localized(&target.name),
                        "previous_tier_name": cur.map(|c| localized(&c.name)),
                    }),
                    due_at: now,
                    suppressed: None,
                },
                now,
            )?;
            Ok(Some(upgraded))
        }
        (Some(cur), _) => {
            let below = qualifying < cur.threshold;
            let Some(mut row) = current.clone() else {
                return Ok(None);
            };
            if below && row.below_since.is_none() {
                repo::set_below_since(conn, customer_id, Some(now))?;
                row.below_since = Some(now);
            } else if !below && row.below_since.is_some() {
                repo::set_below_since(conn, customer_id, None)?;
                row.below_since = None;
            }
            Ok(Some(row))
        }
        _ => Ok(current),
    }
}

/// The customer's tier and progress.
pub fn status(
    conn: &mut DbConnection,
    customer_id: &str,
    program: &ProgramSettings,
    now: NaiveDateTime,
) -> diesel::QueryResult<TierStatus> {
    let tiers = crate::cache::tiers(conn)?;
    let qualifying = repo::qualifying(conn, customer_id, now, program.tier_window_months)?;
    // Without tiers nobody holds one (a customer's tier row references a tier).
    let current = if tiers.is_empty() {
        None
    } else {
        repo::of_customer(conn, customer_id)?
    };
    Ok(status_from(&tiers, program, current, qualifying))
}

/// The tier and progress of a customer holding `current` with `qualifying` points.
pub fn status_from(
    tiers: &[TierRow],
    program: &ProgramSettings,
    current: Option<CustomerTierRow>,
    qualifying: i64,
) -> TierStatus {
    let tier = current
        .as_ref()
        .and_then(|c| tiers.iter().find(|t| t.id == c.tier_id))
        .cloned();
    let current = current.filter(|_| tier.is_some());
    let floor = tier.as_ref().map_or(-1, |t| t.threshold);
    let next = tiers
        .iter()
        .filter(|t| t.threshold > floor)
        .min_by_key(|t| t.threshold)
        .cloned();
    let grace = u64::try_from(program.tier_grace_days).unwrap_or(0);
    TierStatus {
        points_to_next: next.as_ref().map(|n| (n.threshold - qualifying).max(0)),
        points_to_retain: tier.as_ref().map(|t| (t.threshold - qualifying).max(0)),
        review_at: current
            .as_ref()
            .and_then(|c| c.below_since)
            .and_then(|b| b.checked_add_days(Days::new(grace))),
        since: current.map(|c| c.since),
        tier,
        next,
        qualifying,
    }
}

/// Customers reviewed per page.
const PAGE: i64 = 500;
/// Most customers one run reviews; the next run carries on.
const MAX_PER_RUN: u64 = 100_000;

/// The periodic review: downgrades customers who stayed below their tier for the grace period.
pub fn review(pool: &Pool, clock: &SharedClock) -> anyhow::Result<JobReport> {
    pool.scoped(|| review_now(pool, clock))
}

fn review_now(pool: &Pool, clock: &SharedClock) -> anyhow::Result<JobReport> {
    let now = clock.now_naive();
    let mut conn = pool.get()?;
    let program = crate::program::repo::load(&mut conn)?;
    let mut report = JobReport::default();
    let mut after = String::new();
    loop {
        let page = repo::holders_after(&mut conn, &after, PAGE)?;
        let Some(last) = page.last().cloned() else {
            break;
        };
        for customer in page {
            match review_one(&mut conn, &customer, &program, now) {
                Ok(true) => report.items += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(customer = %customer, error = %e, "tier review failed; it will be retried")
                }
            }
        }
        after = last;
        if report.items >= MAX_PER_RUN {
            break;
        }
    }
    Ok(report)
}

fn review_one(
    conn: &mut DbConnection,
    customer_id: &str,
    program: &ProgramSettings,
    now: NaiveDateTime,
) -> diesel::QueryResult<bool> {
    db::write(conn, |c| {
        ledger::lock(c, customer_id)?;
        let Some(current) = repo::of_customer(c, customer_id)? else {
            return Ok(false);
        };
        let tiers = repo::all(c)?;
        let qualifying = repo::qualifying(c, customer_id, now, program.tier_window_months)?;
        let Some(tier) = tiers.iter().find(|t| t.id == current.tier_id) else {
            return Ok(false);
        };
        if qualifying >= tier.threshold {
            if current.below_since.is_some() {
                repo::set_below_since(c, customer_id, None)?;
            }
            return Ok(false);
        }
        let Some(below_since) = current.below_since else {
            repo::set_below_since(c, customer_id, Some(now))?;
            return Ok(false);
        };
        let grace = u64::try_from(program.tier_grace_days).unwrap_or(0);
        if below_since
            .checked_add_days(Days::new(grace))
            .is_none_or(|due| now < due)
        {
            return Ok(false);
        }
        match earned_tier(&tiers, qualifying) {
            Some(target) => repo::set_customer_tier(
                c,
                &CustomerTierRow {
                    customer_id: customer_id.to_owned(),
                    tier_id: target.id.clone(),
                    since: now,
                    below_since: None,
                },
            )?,
            None => repo::clear_customer_tier(c, customer_id)?,
        }
        let to = earned_tier(&tiers, qualifying).map(|t| t.id.as_str());
        repo::record_change(
            c,
            customer_id,
            Some(&tier.id),
            to,
            "downgrade",
            qualifying,
            now,
        )?;
        Ok(true)
    })
}

/// A stored localized name as JSON (a string, or an object per locale).
fn localized(stored: &str) -> serde_json::Value {
    serde_json::from_str(stored).unwrap_or_else(|_| serde_json::Value::String(stored.to_owned()))
}

//! Manual adjustments: credits become a lot of their own; debits never take the balance below
//! zero and spend the soonest-expiring lots first.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::LotRow;
use super::ledger::{self, LedgerError, Posting};
use super::{BalanceRow, EntryKind, EntryRow};
use crate::audit::{self, Actor};
use crate::customers;
use crate::db::schema::{lot_spends, point_lots};
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::program;

/// What can go wrong moving points.
#[derive(Debug, thiserror::Error)]
pub enum PointsError {
    /// No such customer.
    #[error("customer not found")]
    NotFound,
    /// The customer's personal data was erased.
    #[error("this customer's data was erased; nothing new can be recorded for them")]
    Erased,
    /// Not enough points.
    #[error("{needed} points are needed; {available} are available")]
    Insufficient { needed: i64, available: i64 },
    /// The balance cannot hold this many points.
    #[error("the balance cannot hold this many points")]
    Overflow,
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<LedgerError> for PointsError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Insufficient { needed, available } => {
                PointsError::Insufficient { needed, available }
            }
            LedgerError::Overflow => PointsError::Overflow,
            LedgerError::Db(e) => PointsError::Db(e),
        }
    }
}

impl From<customers::service::CustomerError> for PointsError {
    fn from(err: customers::service::CustomerError) -> Self {
        use customers::service::CustomerError;
        match err {
            CustomerError::Erased => PointsError::Erased,
            CustomerError::Db(e) => PointsError::Db(e),
            _ => PointsError::NotFound,
        }
    }
}

impl From<PointsError> for ApiError {
    fn from(err: PointsError) -> Self {
        match err {
            PointsError::NotFound => ApiError::not_found("Customer"),
            PointsError::Erased => ApiError::unprocessable("customer_erased", err.to_string()),
            PointsError::Insufficient { .. } => {
                ApiError::unprocessable("insufficient_points", err.to_string())
            }
            PointsError::Overflow => ApiError::unprocessable("points_overflow", err.to_string()),
            PointsError::Db(e) => e.into(),
        }
    }
}

/// A manual change of a customer's available points.
#[derive(Debug, Clone)]
pub struct Adjustment {
    pub customer_id: String,
    /// Non-zero; negative takes points away.
    pub points: i64,
    pub reason: String,
    pub note_for_customer: Option<String>,
}

/// Applies an adjustment; returns the entry and the new balance.
pub fn adjust(
    conn: &mut DbConnection,
    actor: &Actor,
    a: Adjustment,
    now: NaiveDateTime,
) -> Result<(EntryRow, BalanceRow), PointsError> {
    db::write(conn, |c| {
        // A merged record's id adjusts the surviving customer; an erased one is refused.
        let a = &Adjustment {
            customer_id: customers::service::live(c, &a.customer_id)?.id,
            ..a.clone()
        };
        let id = uuid::Uuid::now_v7().to_string();
        let posting = Posting {
            customer_id: a.customer_id.clone(),
            kind: EntryKind::Adjust,
            points: a.points,
            pending: 0,
            negative: 0,
            source_type: "adjustment".to_owned(),
            source_id: id.clone(),
            lot_id: None,
            note: Some(
                a.note_for_customer
                    .clone()
                    .unwrap_or_else(|| a.reason.clone()),
            ),
            expires_at: None,
        };
        let entry = if a.points > 0 {
            let settings = program::repo::load(c)?;
            ledger::credit_new_lot(c, posting, settings.expiry_months, now)?
        } else {
            ledger::post(c, posting, now)?
        };
        if a.points < 0 {
            consume_lots(c, &a.customer_id, -a.points, None)?;
        }
        audit::record(c, actor, "points.adjust", "customer", &a.customer_id, now)?;
        let balance = ledger::balance(c, &a.customer_id, now)?;
        Ok((entry, balance))
    })
}

/// Takes `amount` points out of the customer's available lots, soonest expiry first (lots that
/// never expire last). Call after the balance debit, which guarantees the points are there.
/// With `spent_by` (source type and id, e.g. a redemption's code) it records what each lot gave,
/// so that [`refund_spends`] can give it back.
pub fn consume_lots(
    c: &mut DbConnection,
    customer_id: &str,
    amount: i64,
    spent_by: Option<(&str, &str)>,
) -> Result<(), PointsError> {
    let plan = plan_spend(c, customer_id, amount)?;
    let mut batch = crate::db::batch::Batch::new(c);
    let updates = push_spend(&mut batch, &plan.takes, spent_by);
    let written = batch.run(c)?;
    if updates.iter().any(|i| written.get(*i) != Some(&1)) {
        // The balance said the points were there; lots disagreeing is a bug, so roll back.
        return Err(PointsError::Db(diesel::result::Error::RollbackTransaction));
    }
    Ok(())
}

/// What spending `amount` points takes from each of the customer's available lots, soonest
/// expiry first (lots that never expire last): (lot id, points). Reads the lots it takes from,
/// a few at a time, not the customer's whole history. Call under the balance lock, after the
/// debit was worked out: a shortfall means the lots disagree with the balance, a bug that
/// rolls the transaction back.
pub fn plan_spend(
    c: &mut DbConnection,
    customer_id: &str,
    amount: i64,
) -> Result<SpendPlan, PointsError> {
    plan_spend_from(c, customer_id, amount, None)
}

/// How many lots spending reads at a time.
pub const SPEND_PAGE: i64 = 32;

/// Available lots as spending reads them, in its order: (lot id, remaining, expires at).
pub type LotPage = Vec<(String, i64, Option<NaiveDateTime>)>;

/// [`plan_spend`], given the first page of lots ([`SPEND_PAGE`] of them in spending order, or
/// all there are) when it was read with the balance lock.
pub fn plan_spend_from(
    c: &mut DbConnection,
    customer_id: &str,
    amount: i64,
    mut first: Option<LotPage>,
) -> Result<SpendPlan, PointsError> {
    let mut plan = SpendPlan::default();
    let mut left = amount;
    let mut offset = 0;
    loop {
        let lots: LotPage = match first.take() {
            Some(lots) => lots,
            None => point_lots::table
                .filter(point_lots::customer_id.eq(customer_id))
                .filter(point_lots::status.eq("available"))
                .filter(point_lots::remaining.gt(0))
                .order((
                    point_lots::expires_at.is_null().asc(),
                    point_lots::expires_at.asc(),
                    point_lots::id.asc(),
                ))
                .select((
                    point_lots::id,
                    point_lots::remaining,
                    point_lots::expires_at,
                ))
                .limit(SPEND_PAGE)
                .offset(offset)
                .load(c)?,
        };
        plan.complete = i64::try_from(lots.len()).unwrap_or(0) < SPEND_PAGE;
        offset += SPEND_PAGE;
        for (id, remaining, expires_at) in lots {
            let take = remaining.min(left);
            left -= take;
            if take > 0 {
                plan.takes.push((id, take));
            }
            plan.left.push((remaining - take, expires_at));
        }
        if left == 0 || plan.complete {
            break;
        }
    }
    if left > 0 {
        return Err(PointsError::Db(diesel::result::Error::RollbackTransaction));
    }
    Ok(plan)
}

/// What spending takes from which lots, and what the lots it read hold afterwards.
#[derive(Debug, Clone, Default)]
pub struct SpendPlan {
    /// (lot id, points taken).
    pub takes: Vec<(String, i64)>,
    /// What each lot read holds after the spend, and when it expires, soonest first.
    left: Vec<(i64, Option<NaiveDateTime>)>,
    /// Every available lot was read.
    complete: bool,
}

impl SpendPlan {
    /// The soonest expiry among available lots after the spend, (points, when), when the lots
    /// read tell it; `None` when lots not read may count.
    pub fn next_expiry(&self) -> Option<Option<(i64, NaiveDateTime)>> {
        let Some(at) = self
            .left
            .iter()
            .find(|(remaining, at)| *remaining > 0 && at.is_some())
            .and_then(|(_, at)| *at)
        else {
            return self.complete.then_some(None);
        };
        // Lots expiring then may go on past the last lot read.
        let beyond = self.left.last().is_some_and(|(_, last)| *last == Some(at));
        if beyond && !self.complete {
            return None;
        }
        let points = self
            .left
            .iter()
            .filter(|(_, when)| *when == Some(at))
            .map(|(remaining, _)| *remaining)
            .sum();
        Some(Some((points, at)))
    }
}

/// Adds the statements that take `takes` out of their lots (each conditional on the lot still
/// holding that much) and, with `spent_by`, record what each lot gave, so that
/// [`refund_spends`] can give it back. Returns the indexes of the lot updates, each of which
/// must write one row.
pub fn push_spend(
    batch: &mut crate::db::batch::Batch<'_>,
    takes: &[(String, i64)],
    spent_by: Option<(&str, &str)>,
) -> Vec<usize> {
    let mut updates = Vec::with_capacity(takes.len());
    for (id, take) in takes {
        updates.push(
            batch.push(
                diesel::update(
                    point_lots::table
                        .find(id.clone())
                        .filter(point_lots::remaining.ge(*take)),
                )
                .set(point_lots::remaining.eq(point_lots::remaining - *take)),
            ),
        );
        if let Some((source_type, source_id)) = spent_by {
            batch.push(diesel::insert_into(lot_spends::table).values((
                lot_spends::source_type.eq(source_type.to_owned()),
                lot_spends::source_id.eq(source_id.to_owned()),
                lot_spends::lot_id.eq(id.clone()),
                lot_spends::points.eq(*take),
            )));
        }
    }
    updates
}

/// Gives back to the customer what `source` (type and id) spent, as `refund` entries: each lot it
/// came from gets its share back and keeps its expiry. A lot that has expired since gets its
/// share back as a new lot expiring when it did, so the expiry job takes it again; a spend made
/// before lots were tracked comes back as one new lot expiring `expiry_months` from now.
pub fn refund_spends(
    c: &mut DbConnection,
    customer_id: &str,
    source: (&str, &str),
    points: i64,
    expiry_months: i64,
    now: NaiveDateTime,
) -> Result<(), PointsError> {
    let (source_type, source_id) = source;
    let spends: Vec<(LotRow, i64)> = lot_spends::table
        .inner_join(point_lots::table)
        .filter(lot_spends::source_type.eq(source_type))
        .filter(lot_spends::source_id.eq(source_id))
        .select((LotRow::as_select(), lot_spends::points))
        .order(point_lots::id.asc())
        .load(c)?;
    let posting = |points: i64, lot: Option<&LotRow>| Posting {
        customer_id: customer_id.to_owned(),
        kind: EntryKind::Refund,
        points,
        pending: 0,
        negative: 0,
        source_type: source_type.to_owned(),
        source_id: source_id.to_owned(),
        lot_id: lot.map(|l| l.id.clone()),
        note: None,
        expires_at: lot.and_then(|l| l.expires_at),
    };
    let tracked: i64 = spends.iter().map(|(_, n)| n).sum();
    if tracked != points {
        if !spends.is_empty() {
            // Recorded spends that do not add up to the code's points are a bug: roll back.
            return Err(PointsError::Db(diesel::result::Error::RollbackTransaction));
        }
        ledger::credit_new_lot(c, posting(points, None), expiry_months, now)?;
        return Ok(());
    }
    for (lot, n) in spends {
        if lot.status == "available" {
            diesel::update(point_lots::table.find(&lot.id))
                .set(point_lots::remaining.eq(point_lots::remaining + n))
                .execute(c)?;
            ledger::post(c, posting(n, Some(&lot)), now)?;
        } else {
            let revived = LotRow {
                id: uuid::Uuid::now_v7().to_string(),
                customer_id: customer_id.to_owned(),
                source_type: source_type.to_owned(),
                source_id: source_id.to_owned(),
                points: n,
                remaining: n,
                status: "available".to_owned(),
                earned_at: now,
                available_at: now,
                expires_at: lot.expires_at,
                expired: 0,
            };
            ledger::insert_lot(c, &revived)?;
            ledger::post(c, posting(n, Some(&revived)), now)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::SpendPlan;
    use chrono::NaiveDate;

    fn at(day: u32) -> Option<chrono::NaiveDateTime> {
        NaiveDate::from_ymd_opt(2027, 1, day).and_then(|d| d.and_hms_opt(0, 0, 0))
    }

    fn plan(left: Vec<(i64, Option<chrono::NaiveDateTime>)>, complete: bool) -> SpendPlan {
        SpendPlan {
            takes: Vec::new(),
            left,
            complete,
        }
    }

    #[test]
    fn the_next_expiry_after_a_spend_is_the_soonest_lot_left_with_points() {
        // The soonest lot was spent whole; the next two expire on the 5th.
        let p = plan(
            vec![(0, at(1)), (30, at(5)), (20, at(5)), (7, at(9))],
            false,
        );
        assert_eq!(p.next_expiry(), Some(Some((50, at(5).unwrap()))));
        // Lots that never expire do not count.
        let p = plan(vec![(0, at(1)), (40, None)], true);
        assert_eq!(p.next_expiry(), Some(None));
    }

    #[test]
    fn the_next_expiry_is_unknown_when_lots_not_read_may_count() {
        // The last lot read expires then too: more may follow.
        let p = plan(vec![(0, at(1)), (30, at(5))], false);
        assert_eq!(p.next_expiry(), None);
        // Nothing left among the lots read, and more exist.
        let p = plan(vec![(0, at(1))], false);
        assert_eq!(p.next_expiry(), None);
        // Every lot was read.
        let p = plan(vec![(0, at(1)), (30, at(5))], true);
        assert_eq!(p.next_expiry(), Some(Some((30, at(5).unwrap()))));
    }
}

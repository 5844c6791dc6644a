//! Returns: take back exactly the points earned on what came back.
//!
//! A purchase with lines is returned by lines (sku and quantity); one without lines by amount.
//! Points come back cumulatively — after each return the purchase (or line) has reversed
//! `floor(points × returned / bought)` in total — so several partial returns add up exactly to
//! a full one. They are taken from the purchase's own lot first (pending or available); what was
//! already spent comes out of other available points, and what is left over follows the program's
//! `return_policy`: `allow_negative` records it as debt (`negative`), `within_balance` forgives it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{PurchaseRow, ReturnRow, repo};
use crate::db::schema::{point_lots, purchase_lines, purchase_returns, purchases};
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::points::ledger::{self, LedgerError, Posting};
use crate::points::service::consume_lots;
use crate::points::{BalanceRow, EntryKind};
use crate::program::{self, ReturnPolicy};

/// What comes back.
#[derive(Debug, Clone)]
pub enum ReturnItems {
    /// (sku, quantity) pairs.
    Lines(Vec<(String, i64)>),
    /// Minor units.
    Amount(i64),
}

/// A validated return.
#[derive(Debug, Clone)]
pub struct NewReturn {
    pub purchase_id: String,
    /// The store the caller's API key is bound to: only that store's purchases can be returned.
    pub bound_store: Option<String>,
    pub external_id: String,
    pub items: ReturnItems,
    pub request_hash: String,
}

/// What can go wrong with a return.
#[derive(Debug, thiserror::Error)]
pub enum ReturnError {
    /// No such purchase.
    #[error("purchase not found")]
    NotFound,
    /// The `external_id` was used for another return.
    #[error("return {0} was already recorded with different details")]
    Conflict(String),
    /// More would be returned than was bought.
    #[error("{0}")]
    Exceeds(String),
    /// Lines for a purchase without lines, or the other way round, or an unknown sku.
    #[error("{0}")]
    Shape(String),
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<LedgerError> for ReturnError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Db(e) => ReturnError::Db(e),
            other => ReturnError::Db(diesel::result::Error::QueryBuilderError(
                other.to_string().into(),
            )),
        }
    }
}

impl From<crate::points::service::PointsError> for ReturnError {
    fn from(e: crate::points::service::PointsError) -> Self {
        match e {
            crate::points::service::PointsError::Db(e) => ReturnError::Db(e),
            other => ReturnError::Db(diesel::result::Error::QueryBuilderError(
                other.to_string().into(),
            )),
        }
    }
}

impl From<ReturnError> for ApiError {
    fn from(err: ReturnError) -> Self {
        match err {
            ReturnError::NotFound => ApiError::not_found("Purchase"),
            ReturnError::Conflict(_) => ApiError::conflict("return_conflict", err.to_string()),
            ReturnError::Exceeds(_) => {
                ApiError::unprocessable("return_exceeds_purchase", err.to_string())
            }
            ReturnError::Shape(_) => ApiError::unprocessable("invalid_return", err.to_string()),
            ReturnError::Db(e) => e.into(),
        }
    }
}

/// A recorded return.
#[derive(Debug, Clone)]
pub struct Returned {
    pub row: ReturnRow,
    pub purchase: PurchaseRow,
    pub balance: BalanceRow,
    pub replayed: bool,
}

/// Records a return once per `external_id`.
pub fn record(
    conn: &mut DbConnection,
    r: NewReturn,
    now: NaiveDateTime,
) -> Result<Returned, ReturnError> {
    let result = db::write(conn, |c| {
        if let Some(existing) = find(c, &r.external_id)? {
            return replay(c, existing, &r, now);
        }
        let purchase = purchases::table
            .find(&r.purchase_id)
            .select(PurchaseRow::as_select())
            .first(c)
            .optional()?
            .filter(|p| reaches(&r, p))
            .ok_or(ReturnError::NotFound)?;
        // The customer's balance first, as every writer of points does, then lines and lots.
        ledger::lock(c, &purchase.customer_id)?;
        let (amount, points, categories) = match &r.items {
            ReturnItems::Lines(items) => return_lines(c, &purchase, items)?,
            ReturnItems::Amount(amount) => {
                let (amount, points) = return_amount(c, &purchase, *amount)?;
                (amount, points, Vec::new())
            }
        };
        let uncovered = reverse(c, &purchase, points, now)?;
        let settings = program::repo::load(c)?;
        crate::tiers::service::qualifying_changed(
            c,
            &purchase.customer_id,
            -points,
            purchase.created_at,
            &settings,
            now,
        )?;
        let row = ReturnRow {
            id: uuid::Uuid::now_v7().to_string(),
            external_id: r.external_id.clone(),
            purchase_id: purchase.id.clone(),
            amount_minor: amount,
            points_reversed: points,
            points_uncovered: uncovered,
            request_hash: r.request_hash.clone(),
            created_at: now,
        };
        diesel::insert_into(purchase_returns::table)
            .values(&row)
            .execute(c)?;
        let returned = crate::customers::stats::Returned {
            amount_minor: amount,
            categories,
        };
        crate::customers::stats::return_recorded(c, &purchase, &returned, &settings.segments, now)?;
        crate::timeline::record(
            c,
            crate::timeline::NewEvent {
                customer_id: &purchase.customer_id,
                kind: crate::timeline::Kind::Return,
                channel: &purchase.channel,
                summary: format!(
                    "Return {} of purchase {}: {}, {points} points taken back",
                    row.external_id,
                    purchase.external_id,
                    crate::timeline::money(amount, &purchase.currency),
                ),
                ref_type: "return",
                ref_id: &row.id,
                occurred_at: now,
            },
            now,
        )?;
        let purchase = purchases::table
            .find(&purchase.id)
            .select(PurchaseRow::as_select())
            .first(c)?;
        let balance = ledger::balance(c, &purchase.customer_id, now)?;
        Ok(Returned {
            row,
            purchase,
            balance,
            replayed: false,
        })
    });
    match result {
        Err(ReturnError::Db(e)) if db::is_unique_violation(&e) => {
            let existing = find(conn, &r.external_id)?.ok_or(ReturnError::Db(e))?;
            replay(conn, existing, &r, now)
        }
        other => other,
    }
}

/// Whether the caller may act on the purchase: a store-bound key reaches only its store's purchases.
fn reaches(r: &NewReturn, purchase: &PurchaseRow) -> bool {
    r.bound_store
        .as_deref()
        .is_none_or(|store| purchase.store_id.as_deref() == Some(store))
}

fn find(c: &mut DbConnection, external_id: &str) -> QueryResult<Option<ReturnRow>> {
    purchase_returns::table
        .filter(purchase_returns::external_id.eq(external_id))
        .select(ReturnRow::as_select())
        .first(c)
        .optional()
}

fn replay(
    c: &mut DbConnection,
    existing: ReturnRow,
    r: &NewReturn,
    now: NaiveDateTime,
) -> Result<Returned, ReturnError> {
    if existing.request_hash != r.request_hash || existing.purchase_id != r.purchase_id {
        return Err(ReturnError::Conflict(existing.external_id));
    }
    let purchase = purchases::table
        .find(&existing.purchase_id)
        .select(PurchaseRow::as_select())
        .first(c)?;
    if !reaches(r, &purchase) {
        return Err(ReturnError::NotFound);
    }
    let balance = ledger::balance(c, &purchase.customer_id, now)?;
    Ok(Returned {
        row: existing,
        purchase,
        balance,
        replayed: true,
    })
}

/// What returning lines comes to: the amount, the points to reverse, and (category, amount) pairs.
type LinesReturned = (i64, i64, Vec<(String, i64)>);

/// Marks lines returned; returns (amount, points to reverse).
fn return_lines(
    c: &mut DbConnection,
    purchase: &PurchaseRow,
    items: &[(String, i64)],
) -> Result<LinesReturned, ReturnError> {
    let lines = repo::lines_of(c, std::slice::from_ref(&purchase.id))?;
    if lines.is_empty() {
        return Err(ReturnError::Shape(
            "this purchase has no lines; return it by amount_minor".to_owned(),
        ));
    }
    let (mut amount, mut points) = (0i64, 0i64);
    let mut categories = Vec::new();
    for (sku, quantity) in items {
        let mut left = *quantity;
        for line in lines.iter().filter(|l| &l.sku == sku) {
            if left == 0 {
                break;
            }
            let take = left.min(line.quantity - line.returned_quantity);
            if take <= 0 {
                continue;
            }
            let key = purchase_lines::table.find((&line.purchase_id, line.line_no));
            let changed = diesel::update(
                key.filter(purchase_lines::returned_quantity.le(purchase_lines::quantity - take)),
            )
            .set(purchase_lines::returned_quantity.eq(purchase_lines::returned_quantity + take))
            .execute(c)?;
            if changed == 0 {
                continue;
            }
            let (returned, reversed): (i64, i64) = key
                .select((
                    purchase_lines::returned_quantity,
                    purchase_lines::points_reversed,
                ))
                .first(c)?;
            let due = cumulative(line.points, returned, line.quantity) - reversed;
            diesel::update(key)
                .set(purchase_lines::points_reversed.eq(purchase_lines::points_reversed + due))
                .execute(c)?;
            amount += take * line.unit_price_minor;
            if let Some(category) = &line.category {
                categories.push((category.clone(), take * line.unit_price_minor));
            }
            points += due;
            left -= take;
        }
        if !lines.iter().any(|l| &l.sku == sku) {
            return Err(ReturnError::Shape(format!(
                "the purchase has no line with sku {sku}"
            )));
        }
        if left > 0 {
            return Err(ReturnError::Exceeds(format!(
                "returning {quantity} of {sku} exceeds what is left of the purchase"
            )));
        }
    }
    let changed = diesel::update(
        purchases::table
            .find(&purchase.id)
            .filter(purchases::returned_minor.le(purchases::total_minor - amount)),
    )
    .set((
        purchases::returned_minor.eq(purchases::returned_minor + amount),
        purchases::points_reversed.eq(purchases::points_reversed + points),
    ))
    .execute(c)?;
    if changed == 0 {
        return Err(ReturnError::Exceeds(
            "the return exceeds the purchase".to_owned(),
        ));
    }
    // Once everything came back, purchase-level bonuses go too.
    let key = purchases::table.find(&purchase.id);
    let (returned, reversed): (i64, i64) = key
        .select((purchases::returned_minor, purchases::points_reversed))
        .first(c)?;
    let bonus = if returned == purchase.total_minor {
        purchase.points_earned - reversed
    } else {
        0
    };
    if bonus > 0 {
        diesel::update(key)
            .set(purchases::points_reversed.eq(purchases::points_reversed + bonus))
            .execute(c)?;
    }
    Ok((amount, points + bonus, categories))
}

/// Marks an amount returned; returns (amount, points to reverse).
fn return_amount(
    c: &mut DbConnection,
    purchase: &PurchaseRow,
    amount: i64,
) -> Result<(i64, i64), ReturnError> {
    if !repo::lines_of(c, std::slice::from_ref(&purchase.id))?.is_empty() {
        return Err(ReturnError::Shape(
            "this purchase has lines; return it by lines".to_owned(),
        ));
    }
    let key = purchases::table.find(&purchase.id);
    let changed =
        diesel::update(key.filter(purchases::returned_minor.le(purchases::total_minor - amount)))
            .set(purchases::returned_minor.eq(purchases::returned_minor + amount))
            .execute(c)?;
    if changed == 0 {
        let left = purchase.total_minor - purchase.returned_minor;
        return Err(ReturnError::Exceeds(format!(
            "{amount} exceeds the {left} left of the purchase"
        )));
    }
    let (returned, reversed): (i64, i64) = key
        .select((purchases::returned_minor, purchases::points_reversed))
        .first(c)?;
    let due = cumulative(purchase.points_earned, returned, purchase.total_minor) - reversed;
    diesel::update(key)
        .set(purchases::points_reversed.eq(purchases::points_reversed + due))
        .execute(c)?;
    Ok((amount, due))
}

/// Points reversed in total once `returned` of `bought` came back, rounded down.
fn cumulative(points: i64, returned: i64, bought: i64) -> i64 {
    if bought <= 0 {
        return 0;
    }
    i64::try_from(i128::from(points) * i128::from(returned) / i128::from(bought)).unwrap_or(points)
}

/// Says what a reversal did not take: spent points forgiven, and points that had expired.
fn return_note(forgiven: i64, expired: i64) -> Option<String> {
    match (forgiven > 0, expired > 0) {
        (false, false) => None,
        (true, false) => Some(format!("{forgiven} points already spent were forgiven")),
        (false, true) => Some(format!("{expired} points had already expired")),
        (true, true) => Some(format!(
            "{forgiven} points already spent were forgiven; {expired} points had already expired"
        )),
    }
}

/// Takes `points` back; returns what could not be covered (debt or forgiven).
fn reverse(
    c: &mut DbConnection,
    purchase: &PurchaseRow,
    points: i64,
    now: NaiveDateTime,
) -> Result<i64, ReturnError> {
    if points <= 0 {
        return Ok(0);
    }
    let customer = &purchase.customer_id;
    ledger::lock(c, customer)?;
    let lot = repo::lot_of(c, &purchase.id)?;
    let from_lot = lot.as_ref().map_or(0, |l| l.remaining.min(points));
    if let Some(l) = lot.as_ref().filter(|_| from_lot > 0) {
        diesel::update(
            point_lots::table
                .find(&l.id)
                .filter(point_lots::remaining.ge(from_lot)),
        )
        .set(point_lots::remaining.eq(point_lots::remaining - from_lot))
        .execute(c)?;
    }
    let pending_lot = lot.as_ref().is_some_and(|l| l.status == "pending");
    // Points of the lot that expired already left the balance: a return matches them first and
    // takes nothing for them.
    let from_expired = lot.as_ref().map_or(0, |l| l.expired.min(points - from_lot));
    if let Some(l) = lot.as_ref().filter(|_| from_expired > 0) {
        diesel::update(
            point_lots::table
                .find(&l.id)
                .filter(point_lots::expired.ge(from_expired)),
        )
        .set(point_lots::expired.eq(point_lots::expired - from_expired))
        .execute(c)?;
    }
    let rest = points - from_lot - from_expired;
    let balance = ledger::balance(c, customer, now)?;
    let spendable = if pending_lot {
        balance.available
    } else {
        balance.available - from_lot
    };
    let from_others = rest.min(spendable.max(0));
    let uncovered = rest - from_others;
    let policy = program::repo::load(c)?.return_policy;
    let debt = if policy == ReturnPolicy::AllowNegative {
        uncovered
    } else {
        0
    };
    let (available_delta, pending_delta) = if pending_lot {
        (-from_others, -from_lot)
    } else {
        (-(from_lot + from_others), 0)
    };
    ledger::post(
        c,
        Posting {
            customer_id: customer.clone(),
            kind: EntryKind::Reverse,
            points: available_delta,
            pending: pending_delta,
            negative: debt,
            source_type: "purchase".to_owned(),
            source_id: purchase.id.clone(),
            lot_id: lot.map(|l| l.id),
            note: return_note(uncovered - debt, from_expired),
            expires_at: None,
        },
        now,
    )?;
    if from_others > 0 {
        consume_lots(c, customer, from_others, None)?;
    }
    Ok(uncovered)
}

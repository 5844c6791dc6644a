//! Recording purchases: once per `external_id`, also under concurrent retries; points earned into
//! a pending (or available) lot and posted to the ledger in the same transaction.

use chrono::{Days, NaiveDateTime};

use super::earning::{self, BreakdownItem, Earned, LineAmount};
use super::standing::{self, Buyer};
use super::{LineRow, PurchaseRow, repo};
use crate::db::batch::Batch;
use crate::db::schema::{point_lots, purchase_lines, purchases, timeline_events};
use crate::db::{self, DbConnection};
use crate::error::{ApiError, FieldError};
use crate::points::ledger::{self, LedgerError, Posting};
use crate::points::{BalanceRow, EntryKind, LotRow};
use crate::program::ProgramSettings;
use crate::rewards::LocalizedText;
use crate::{customers, rules, tiers};

/// Who the purchase is for.
#[derive(Debug, Clone)]
pub enum CustomerRef {
    /// Patron's id.
    Id(String),
    /// The client's own id.
    ExternalId(String),
}

/// A validated purchase line.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub sku: String,
    pub name: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
    /// `quantity × unit_price_minor`, checked at parsing (at most `MAX_AMOUNT`).
    pub amount_minor: i64,
}

/// A validated purchase to record.
#[derive(Debug, Clone)]
pub struct NewPurchase {
    pub external_id: String,
    pub customer: CustomerRef,
    pub store_id: Option<String>,
    pub channel: String,
    pub occurred_at: NaiveDateTime,
    pub currency: String,
    pub total_minor: i64,
    pub lines: Vec<NewLine>,
    /// Hash of the request, to recognise retries.
    pub request_hash: String,
}

/// What can go wrong recording a purchase.
#[derive(Debug, thiserror::Error)]
pub enum PurchaseError {
    /// The `external_id` was used for a different purchase.
    #[error("purchase {external_id} was already recorded with different details")]
    Conflict { external_id: String },
    /// No such customer.
    #[error("the customer does not exist")]
    UnknownCustomer,
    /// The customer's personal data was erased.
    #[error("this customer's data was erased; nothing new can be recorded for them")]
    CustomerErased,
    /// The purchase is in another currency than the program.
    #[error("the program's currency is {expected}")]
    CurrencyMismatch { expected: String },
    /// `occurred_at` is further back than the program's `purchase_backdate_days`.
    #[error("must be within the last {days} days (the program's purchase_backdate_days)")]
    TooOld { days: i64 },
    /// The points earned, or the balance after them, would not fit in a 64-bit integer.
    #[error("the points this purchase would earn do not fit in the customer's balance")]
    PointsOverflow,
    /// The `external_id` is recorded already (the transaction is rolled back, then replayed).
    #[error("the purchase is recorded already")]
    AlreadyRecorded,
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<LedgerError> for PurchaseError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Db(e) => PurchaseError::Db(e),
            LedgerError::Overflow => PurchaseError::PointsOverflow,
            // Earning only credits, so the balance can never be short.
            other => PurchaseError::Db(diesel::result::Error::QueryBuilderError(
                other.to_string().into(),
            )),
        }
    }
}

impl From<PurchaseError> for ApiError {
    fn from(err: PurchaseError) -> Self {
        match err {
            PurchaseError::Conflict { .. } => {
                ApiError::conflict("purchase_conflict", err.to_string())
            }
            PurchaseError::UnknownCustomer => {
                ApiError::unprocessable("unknown_customer", err.to_string())
            }
            PurchaseError::CustomerErased => {
                ApiError::unprocessable("customer_erased", err.to_string())
            }
            PurchaseError::CurrencyMismatch { .. } => {
                ApiError::unprocessable("currency_mismatch", err.to_string())
            }
            PurchaseError::TooOld { .. } => {
                ApiError::validation(vec![FieldError::new("occurred_at", err.to_string())])
            }
            PurchaseError::PointsOverflow => {
                ApiError::unprocessable("points_overflow", err.to_string())
            }
            PurchaseError::Db(e) => e.into(),
            PurchaseError::AlreadyRecorded => ApiError::internal(anyhow::anyhow!(err.to_string())),
        }
    }
}

/// A recorded purchase with what it earned.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub purchase: PurchaseRow,
    pub lines: Vec<LineRow>,
    pub lot: Option<LotRow>,
    pub balance: BalanceRow,
    /// The soonest expiry among the customer's available lots: (points, when).
    pub next_expiry: Option<(i64, NaiveDateTime)>,
    /// The customer's tier and progress.
    pub tier: tiers::service::TierStatus,
    /// True when this call found the purchase already recorded by an identical earlier request.
    pub replayed: bool,
}

/// Points a purchase would earn, and when they become available.
#[derive(Debug, Clone)]
pub struct Quote {
    pub earned: Earned,
    pub available_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
}

fn resolve_customer(
    conn: &mut DbConnection,
    customer: &CustomerRef,
) -> Result<customers::model::CustomerRow, PurchaseError> {
    // A merged record's id or external id names the surviving customer.
    let row = match customer {
        CustomerRef::Id(id) => customers::repo::resolve(conn, id)?,
        CustomerRef::ExternalId(x) => customers::repo::resolve_external_id(conn, x)?,
    };
    let row = row.ok_or(PurchaseError::UnknownCustomer)?;
    if row.erased_at.is_some() {
        return Err(PurchaseError::CustomerErased);
    }
    Ok(row)
}

/// What the quote of a purchase depends on besides the purchase: read under the balance lock
/// when the purchase is recorded.
struct Standing<'a> {
    customer: &'a Buyer,
    tiers: &'a [tiers::TierRow],
    held: Option<&'a tiers::CustomerTierRow>,
}

fn quote(
    conn: &mut DbConnection,
    program: &ProgramSettings,
    standing: &Standing<'_>,
    p: &NewPurchase,
) -> Result<Quote, PurchaseError> {
    if p.currency != program.currency {
        return Err(PurchaseError::CurrencyMismatch {
            expected: program.currency.clone(),
        });
    }
    let lines: Vec<LineAmount> = p
        .lines
        .iter()
        .map(|l| LineAmount {
            amount_minor: l.amount_minor,
            sku: Some(l.sku.clone()),
            category: l.category.clone(),
        })
        .collect();
    let (percent, tier) = tiers::service::multiplier_of(standing.tiers, standing.held);
    let ctx = rules::Context {
        at: p.occurred_at,
        tier_id: tier.as_ref().map(|t| t.id.as_str()),
        store_id: p.store_id.as_deref(),
        channel: Some(&p.channel),
    };
    let (multipliers, bonuses) = rules_for(conn, standing.customer, p, ctx)?;
    let tier_bonus = tier.map(|t| earning::TierBonus {
        name: LocalizedText::from_stored(&t.name).resolve(Some("en")),
        percent,
    });
    let earned = earning::earn(
        p.total_minor,
        &lines,
        program.earn_rate,
        tier_bonus.as_ref(),
        &multipliers,
        &bonuses,
    )
    .map_err(|_| PurchaseError::PointsOverflow)?;
    let pending_days = u64::try_from(program.pending_days).unwrap_or(0);
    let available_at = p
        .occurred_at
        .checked_add_days(Days::new(pending_days))
        .unwrap_or(p.occurred_at);
    let expires_at = ledger::expiry(available_at, program.expiry_months);
    Ok(Quote {
        earned,
        available_at,
        expires_at,
    })
}

/// The line multipliers and bonuses of the active rules that admit this purchase.
fn rules_for(
    conn: &mut DbConnection,
    customer: &Buyer,
    p: &NewPurchase,
    ctx: rules::Context<'_>,
) -> Result<(Vec<earning::LineMultiplier>, Vec<earning::Bonus>), PurchaseError> {
    const KINDS: [&str; 4] = [
        "multiplier",
        "purchase_bonus",
        "first_purchase_bonus",
        "birthday_month_bonus",
    ];
    let mut bodies = Vec::new();
    for row in crate::cache::active_rules(conn, &KINDS)?.iter() {
        let body = row.body()?;
        if body.admits(ctx) {
            bodies.push(body);
        }
    }
    let mut multipliers = Vec::new();
    let mut bonuses = Vec::new();
    for b in bodies {
        let rule = format!("rule:{}", b.name);
        let points = b.points.unwrap_or(0);
        let applies = match b.kind {
            rules::RuleKind::Multiplier => {
                let m = b.line_match.clone().unwrap_or_default();
                multipliers.push(earning::LineMultiplier {
                    rule,
                    percent: b.multiplier_percent.unwrap_or(100),
                    sku: m.sku,
                    category: m.category,
                });
                continue;
            }
            rules::RuleKind::PurchaseBonus => b.min_total_minor.is_some_and(|m| p.total_minor >= m),
            rules::RuleKind::FirstPurchaseBonus => !repo::has_purchases(conn, &customer.id)?,
            rules::RuleKind::BirthdayMonthBonus => birthday_month(customer, p.occurred_at),
            rules::RuleKind::EventBonus => false,
        };
        if applies {
            bonuses.push(earning::Bonus { rule, points });
        }
    }
    Ok((multipliers, bonuses))
}

/// Whether `at`, in the customer's time zone (UTC when unknown), falls in their birthday month.
fn birthday_month(c: &Buyer, at: NaiveDateTime) -> bool {
    use chrono::Datelike;
    let Some(birthday) = c.birthday.as_deref() else {
        return false;
    };
    // `YYYY-MM-DD` or `--MM-DD`: the month is the two digits before the last dash.
    let month: Option<u32> = birthday.rsplit('-').nth(1).and_then(|m| m.parse().ok());
    let tz: chrono_tz::Tz = c
        .time_zone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    month == Some(at.and_utc().with_timezone(&tz).month())
}

/// Refuses a purchase that happened longer ago than the program accepts: late tills are
/// expected, invented history is not.
fn check_age(
    program: &ProgramSettings,
    p: &NewPurchase,
    now: NaiveDateTime,
) -> Result<(), PurchaseError> {
    let days = program.purchase_backdate_days;
    let oldest = u64::try_from(days)
        .ok()
        .and_then(|d| now.checked_sub_days(Days::new(d)));
    match oldest {
        Some(oldest) if p.occurred_at >= oldest => Ok(()),
        _ => Err(PurchaseError::TooOld { days }),
    }
}

/// Computes the points without recording anything.
pub fn preview(
    conn: &mut DbConnection,
    p: &NewPurchase,
    now: NaiveDateTime,
) -> Result<Quote, PurchaseError> {
    let customer = Buyer::from(resolve_customer(conn, &p.customer)?);
    let program = crate::cache::program(conn)?;
    check_age(&program, p, now)?;
    let tiers = crate::cache::tiers(conn)?;
    let held = tiers::service::held(conn, &customer.id, &tiers)?;
    let standing = Standing {
        customer: &customer,
        tiers: &tiers,
        held: held.as_ref(),
    };
    quote(conn, &program, &standing, p)
}

/// Records a purchase once; an identical retry gets the recorded purchase back.
///
/// The purchase is inserted with `ON CONFLICT DO NOTHING` on its `external_id`: a first request
/// learns that it is new from the insert itself, and a retry (or a concurrent copy, which waits
/// for the first to commit) learns that it is not and answers with the recorded purchase.
pub fn record(
    conn: &mut DbConnection,
    p: NewPurchase,
    now: NaiveDateTime,
) -> Result<Recorded, PurchaseError> {
    let err = match db::write(conn, |c| record_new(c, &p, now)) {
        Ok(recorded) => return Ok(recorded),
        Err(err) => err,
    };
    // Already recorded; or refused, which a retry of a recorded purchase never is (the customer
    // may have been erased since, or `occurred_at` become too old).
    let maybe_retry = match &err {
        PurchaseError::AlreadyRecorded
        | PurchaseError::UnknownCustomer
        | PurchaseError::CustomerErased
        | PurchaseError::CurrencyMismatch { .. }
        | PurchaseError::TooOld { .. } => true,
        // The lines of a purchase that was not inserted refer to no purchase.
        PurchaseError::Db(e) => db::is_unique_violation(e) || db::is_foreign_key_violation(e),
        _ => false,
    };
    if maybe_retry && let Some(existing) = repo::find_by_external_id(conn, &p.external_id)? {
        return replay(conn, existing, &p, now);
    }
    Err(err)
}

fn record_new(
    c: &mut DbConnection,
    p: &NewPurchase,
    now: NaiveDateTime,
) -> Result<Recorded, PurchaseError> {
    let program = crate::cache::program(c)?;
    check_age(&program, p, now)?;
    // Decide under the customer's lock: the first-purchase bonus and the tier depend on
    // history that a concurrent purchase of the same customer may be writing.
    let locked = standing::lock(c, &p.customer, now, program.tier_window_months)?;
    let customer_id = locked.buyer.id.clone();
    let tiers = crate::cache::tiers(c)?;
    // Without tiers nobody holds one (a customer's tier row references a tier).
    let held = locked.held.clone().filter(|_| !tiers.is_empty());
    let standing = Standing {
        customer: &locked.buyer,
        tiers: &tiers,
        held: held.as_ref(),
    };
    let q = quote(c, &program, &standing, p)?;
    let id = uuid::Uuid::now_v7().to_string();
    let breakdown = serde_json::to_string(&q.earned.breakdown).unwrap_or_else(|_| "[]".to_owned());
    let purchase = PurchaseRow {
        id: id.clone(),
        external_id: p.external_id.clone(),
        customer_id: customer_id.clone(),
        store_id: p.store_id.clone(),
        channel: p.channel.clone(),
        occurred_at: p.occurred_at,
        currency: p.currency.clone(),
        total_minor: p.total_minor,
        points_earned: q.earned.total,
        breakdown,
        returned_minor: 0,
        points_reversed: 0,
        request_hash: p.request_hash.clone(),
        created_at: now,
    };
    let lines: Vec<LineRow> = p
        .lines
        .iter()
        .zip(&q.earned.line_points)
        .enumerate()
        .map(|(i, (l, points))| LineRow {
            purchase_id: id.clone(),
            line_no: i32::try_from(i).unwrap_or(i32::MAX),
            sku: l.sku.clone(),
            name: l.name.clone(),
            category: l.category.clone(),
            quantity: l.quantity,
            unit_price_minor: l.unit_price_minor,
            points: *points,
            returned_quantity: 0,
            points_reversed: 0,
        })
        .collect();
    let earned = earn(&locked, &id, &q, now)?;
    let event = timeline_event(&purchase, &lines, now);
    // Everything the purchase writes, in one round trip on PostgreSQL: none of these statements
    // reads what another writes. The purchase is inserted unless its external_id exists; if it
    // does, nothing else may stay, and the transaction is rolled back.
    let mut batch = Batch::new(c);
    let inserted = batch.push(
        diesel::insert_into(purchases::table)
            .values(&purchase)
            .on_conflict(purchases::external_id)
            .do_nothing(),
    );
    if batch.is_postgres() {
        if !lines.is_empty() {
            batch.push_postgres(diesel::insert_into(purchase_lines::table).values(&lines));
        }
    } else {
        for line in &lines {
            batch.push(diesel::insert_into(purchase_lines::table).values(line));
        }
    }
    let mut balance_update = None;
    if let Some((lot, planned)) = &earned {
        batch.push(diesel::insert_into(point_lots::table).values(lot));
        balance_update = Some(ledger::push_posting(&mut batch, &locked.balance, planned));
    }
    if q.earned.total != 0 {
        batch.push(tiers::repo::qualifying_upsert(
            &customer_id,
            now,
            q.earned.total,
        ));
    }
    crate::customers::stats::push_purchase(
        &mut batch,
        locked.stats.clone(),
        &purchase,
        &lines,
        &program.segments,
        locked.buyer.created_at,
        now,
    );
    batch.push(diesel::insert_into(timeline_events::table).values(&event));
    let written = batch.run(c)?;
    if written.get(inserted) != Some(&1) {
        return Err(PurchaseError::AlreadyRecorded);
    }
    if let Some(update) = balance_update
        && written.get(update) != Some(&1)
    {
        // The balance row moved under the lock: nothing of this may stay.
        return Err(PurchaseError::Db(
            diesel::result::Error::RollbackTransaction,
        ));
    }
    // Qualifying points are counted in the month of `now`, always inside the window.
    let qualifying = if q.earned.total > 0 {
        locked.qualifying.saturating_add(q.earned.total)
    } else {
        locked.qualifying
    };
    let held_after = if q.earned.total != 0 {
        tiers::service::tier_follows(
            c,
            &customer_id,
            Some(qualifying),
            &program,
            &tiers,
            held.clone(),
            now,
        )?
    } else {
        held
    };
    let (lot, balance) = match earned {
        Some((lot, planned)) => (Some(lot), planned.after),
        None => (None, locked.balance.clone()),
    };
    // One invitation per active post-purchase survey (a replay returned above).
    crate::feedback::invitations::after_purchase(c, &purchase, now)?;
    let paid_referral =
        lot.as_ref().is_some_and(|l| l.status == "available") && locked.buyer.referred_by.is_some();
    let (balance, next_expiry, tier) = if paid_referral {
        // Only a referred customer's first purchase pays the referral; it may credit this
        // customer too, so the balance is read back then.
        crate::referrals::maybe_pay(c, &customer_id, &id, now)?;
        standing_after(c, &customer_id, &program, now)?
    } else {
        (
            balance,
            soonest_after(locked.next_expiry, lot.as_ref()),
            tiers::service::status_from(&tiers, &program, held_after, qualifying),
        )
    };
    Ok(Recorded {
        purchase,
        lines,
        lot,
        balance,
        next_expiry,
        tier,
        replayed: false,
    })
}

/// The soonest expiry among available lots once `lot` is added to lots whose soonest expiry
/// was `before`: (points expiring then, when).
fn soonest_after(
    before: Option<(i64, NaiveDateTime)>,
    lot: Option<&LotRow>,
) -> Option<(i64, NaiveDateTime)> {
    let Some((lot, at)) = lot
        .filter(|l| l.status == "available")
        .and_then(|l| l.expires_at.map(|at| (l, at)))
    else {
        return before;
    };
    match before {
        // A lot with nothing left is not the soonest, but counts among lots expiring then.
        Some((points, soonest)) if soonest == at => {
            Some((points.saturating_add(lot.remaining), at))
        }
        Some((points, soonest)) if soonest < at || lot.remaining <= 0 => Some((points, soonest)),
        _ if lot.remaining > 0 => Some((lot.remaining, at)),
        other => other,
    }
}

/// The timeline entry of a new purchase.
fn timeline_event(
    purchase: &PurchaseRow,
    lines: &[LineRow],
    now: NaiveDateTime,
) -> crate::timeline::EventRow {
    let items: i64 = lines.iter().map(|l| l.quantity).sum();
    crate::timeline::EventRow {
        id: uuid::Uuid::now_v7().to_string(),
        customer_id: purchase.customer_id.clone(),
        kind: crate::timeline::Kind::Purchase.as_str().to_owned(),
        channel: purchase.channel.clone(),
        summary: format!(
            "Purchase {}: {}{}{}",
            purchase.external_id,
            crate::timeline::money(purchase.total_minor, &purchase.currency),
            if lines.is_empty() {
                String::new()
            } else {
                format!(", {items} items")
            },
            purchase
                .store_id
                .as_deref()
                .map(|s| format!(" at store {s}"))
                .unwrap_or_default(),
        ),
        ref_type: "purchase".to_owned(),
        ref_id: purchase.id.clone(),
        occurred_at: purchase.occurred_at,
        recorded_at: now,
    }
}

/// A customer's balance, next expiry (points, when) and tier progress.
type StandingAfter = (
    BalanceRow,
    Option<(i64, NaiveDateTime)>,
    tiers::service::TierStatus,
);

/// The balance, next expiry and tier of the customer as they stand.
fn standing_after(
    c: &mut DbConnection,
    customer_id: &str,
    program: &ProgramSettings,
    now: NaiveDateTime,
) -> Result<StandingAfter, PurchaseError> {
    let summary = crate::points::summary::read(c, customer_id, now, program.tier_window_months)?
        .ok_or(PurchaseError::UnknownCustomer)?;
    let tiers = crate::cache::tiers(c)?;
    let held = summary.tier.filter(|_| !tiers.is_empty());
    let tier = tiers::service::status_from(&tiers, program, held, summary.qualifying);
    Ok((summary.balance, summary.next_expiry, tier))
}

/// The lot a purchase earns and its posting, worked out against the locked balance; `None`
/// when it earns nothing.
fn earn(
    locked: &standing::Locked,
    purchase_id: &str,
    q: &Quote,
    now: NaiveDateTime,
) -> Result<Option<(LotRow, ledger::Planned)>, PurchaseError> {
    let points = q.earned.total;
    if points <= 0 {
        return Ok(None);
    }
    let pending = q.available_at > now;
    let mut lot = LotRow {
        id: uuid::Uuid::now_v7().to_string(),
        customer_id: locked.buyer.id.clone(),
        source_type: "purchase".to_owned(),
        source_id: purchase_id.to_owned(),
        points,
        remaining: points,
        status: if pending { "pending" } else { "available" }.to_owned(),
        earned_at: now,
        available_at: q.available_at,
        expires_at: q.expires_at,
        expired: 0,
    };
    let planned = ledger::plan_locked(
        Posting {
            customer_id: locked.buyer.id.clone(),
            kind: EntryKind::Earn,
            points: if pending { 0 } else { points },
            pending: if pending { points } else { 0 },
            negative: 0,
            source_type: "purchase".to_owned(),
            source_id: purchase_id.to_owned(),
            lot_id: Some(lot.id.clone()),
            note: None,
            expires_at: q.expires_at,
        },
        &locked.balance,
        now,
    )?;
    // Debt paid off by these points is taken out of the lot.
    lot.remaining -= planned.paid_debt;
    Ok(Some((lot, planned)))
}

fn replay(
    c: &mut DbConnection,
    existing: PurchaseRow,
    p: &NewPurchase,
    now: NaiveDateTime,
) -> Result<Recorded, PurchaseError> {
    // A purchase of another store is never replayed to this one (its key may be bound elsewhere).
    if existing.request_hash != p.request_hash || existing.store_id != p.store_id {
        return Err(PurchaseError::Conflict {
            external_id: existing.external_id,
        });
    }
    let lines = repo::lines_of(c, std::slice::from_ref(&existing.id))?;
    let lot = repo::lot_of(c, &existing.id)?;
    let program = crate::cache::program(c)?;
    let (balance, next_expiry, tier) = standing_after(c, &existing.customer_id, &program, now)?;
    Ok(Recorded {
        purchase: existing,
        lines,
        lot,
        balance,
        next_expiry,
        tier,
        replayed: true,
    })
}

/// The breakdown stored with a purchase (checked as the row was loaded).
pub fn breakdown_of(purchase: &PurchaseRow) -> Vec<BreakdownItem> {
    serde_json::from_str(&purchase.breakdown).unwrap_or_default()
}

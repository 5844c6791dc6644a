//! Redeeming rewards for codes, and using or cancelling codes. Points and stock are taken with
//! conditional updates, and the customer's balance row is locked first, so concurrent redemptions
//! can neither overspend nor oversell nor pass a per-customer limit.

use chrono::{Days, NaiveDateTime};

use super::{CodeRow, RewardRow, generate_code, repo};
use crate::audit::{self, Actor};
use crate::customers;
use crate::db::schema;
use crate::db::{self, DbConnection};
use crate::error::ApiError;
use crate::points::ledger::{self, LedgerError, Posting};
use crate::points::{BalanceRow, EntryKind};
use crate::program;
use diesel::prelude::*;

/// What can go wrong redeeming or using codes.
#[derive(Debug, thiserror::Error)]
pub enum RewardError {
    /// No such customer.
    #[error("customer not found")]
    CustomerNotFound,
    /// The customer's personal data was erased.
    #[error("this customer's data was erased; nothing new can be recorded for them")]
    CustomerErased,
    /// No such reward.
    #[error("reward not found")]
    RewardNotFound,
    /// No such code.
    #[error("code not found")]
    CodeNotFound,
    /// Inactive or outside its validity window.
    #[error("this reward cannot be redeemed now")]
    Unavailable,
    /// No stock left.
    #[error("this reward is out of stock")]
    OutOfStock,
    /// The customer holds as many as allowed.
    #[error("the customer already holds {0} of this reward, the most allowed")]
    LimitReached(i64),
    /// The customer's tier is below the reward's minimum.
    #[error("this reward needs a higher tier")]
    TierRequired,
    /// Not enough points.
    #[error("the reward costs {needed} points; {available} are available")]
    Insufficient { needed: i64, available: i64 },
    /// The code cannot be used (used, cancelled or expired).
    #[error("this code is {0} and cannot be used")]
    NotUsable(String),
    /// The code cannot be cancelled (used, cancelled or expired).
    #[error("this code is {0} and cannot be cancelled")]
    NotCancellable(String),
    /// The balance cannot hold the points given back.
    #[error("the balance cannot hold this many points")]
    PointsOverflow,
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl From<LedgerError> for RewardError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Insufficient { needed, available } => {
                RewardError::Insufficient { needed, available }
            }
            LedgerError::Overflow => RewardError::PointsOverflow,
            LedgerError::Db(e) => RewardError::Db(e),
        }
    }
}

impl From<crate::points::service::PointsError> for RewardError {
    fn from(e: crate::points::service::PointsError) -> Self {
        match e {
            crate::points::service::PointsError::Db(e) => RewardError::Db(e),
            other => RewardError::Db(diesel::result::Error::QueryBuilderError(
                other.to_string().into(),
            )),
        }
    }
}

impl From<customers::service::CustomerError> for RewardError {
    fn from(err: customers::service::CustomerError) -> Self {
        use customers::service::CustomerError;
        match err {
            CustomerError::Erased => RewardError::CustomerErased,
            CustomerError::Db(e) => RewardError::Db(e),
            _ => RewardError::CustomerNotFound,
        }
    }
}

impl From<RewardError> for ApiError {
    fn from(err: RewardError) -> Self {
        let detail = err.to_string();
        match err {
            RewardError::CustomerNotFound => ApiError::not_found("Customer"),
            RewardError::CustomerErased => ApiError::unprocessable("customer_erased", detail),
            RewardError::RewardNotFound => ApiError::not_found("Reward"),
            RewardError::CodeNotFound => ApiError::not_found("Code"),
            RewardError::Unavailable => ApiError::unprocessable("reward_unavailable", detail),
            RewardError::TierRequired => ApiError::unprocessable("tier_required", detail),
            RewardError::OutOfStock => ApiError::unprocessable("out_of_stock", detail),
            RewardError::LimitReached(_) => ApiError::unprocessable("reward_limit_reached", detail),
            RewardError::Insufficient { .. } => {
                ApiError::unprocessable("insufficient_points", detail)
            }
            RewardError::NotUsable(_) => ApiError::conflict("code_not_usable", detail),
            RewardError::NotCancellable(_) => ApiError::conflict("code_not_cancellable", detail),
            RewardError::PointsOverflow => ApiError::unprocessable("points_overflow", detail),
            RewardError::Db(e) => e.into(),
        }
    }
}

/// A redemption's result.
#[derive(Debug, Clone)]
pub struct Redeemed {
    pub code: CodeRow,
    pub reward: RewardRow,
    pub balance: BalanceRow,
    /// The soonest expiry after the redemption, when the lots it read tell it.
    pub next_expiry: Option<Option<(i64, NaiveDateTime)>>,
}

/// Spends points on a reward and issues its code. Call inside a write transaction (the
/// redemption routes run it in the Idempotency-Key's).
///
/// `last` sees the redemption as it will be once written and may add a last write to the same
/// round trip (the Idempotency-Key with its answer), returning its index in the batch; the
/// rows that write wrote come back with the redemption.
#[allow(clippy::too_many_arguments)]
pub fn redeem(
    c: &mut DbConnection,
    actor: &Actor,
    customer_id: &str,
    reward_id: &str,
    store: Option<&str>,
    now: NaiveDateTime,
    last: impl FnOnce(&Redeemed, &mut crate::db::batch::Batch<'_>) -> Option<usize>,
) -> Result<(Redeemed, Option<usize>), RewardError> {
    // Serialises this customer's redemptions, so the limit below cannot be raced past.
    let (customer_id, locked, reward, lots) =
        match repo::lock_for_redemption(c, customer_id, reward_id)? {
            Some(found) if found.erased => {
                return Err(customers::service::CustomerError::Erased.into());
            }
            Some(found) => (
                customer_id.to_owned(),
                found.balance,
                found.reward,
                Some(found.lots),
            ),
            None => {
                // A merged record's id redeems for the surviving customer.
                let id = customers::service::live(c, customer_id)?.id;
                let locked = ledger::lock_row(c, &id)?
                    .ok_or(RewardError::Db(diesel::result::Error::NotFound))?;
                (id, locked, None, None)
            }
        };
    let customer_id = &customer_id;
    let reward = match reward {
        Some(reward) => reward,
        None => repo::find(c, reward_id)?.ok_or(RewardError::RewardNotFound)?,
    };
    if !reward.active
        || reward.valid_from.is_some_and(|t| now < t)
        || reward.valid_until.is_some_and(|t| now >= t)
    {
        return Err(RewardError::Unavailable);
    }
    if !meets_tier(c, customer_id, reward.min_tier_id.as_deref())? {
        return Err(RewardError::TierRequired);
    }
    if let Some(limit) = reward.per_customer_limit
        && repo::count_codes(c, reward_id, customer_id)? >= limit
    {
        return Err(RewardError::LimitReached(limit));
    }
    // One lock order everywhere: the balance (locked above), then lots, codes, rewards.
    let code = CodeRow {
        code: generate_code(),
        reward_id: reward.id.clone(),
        customer_id: customer_id.to_owned(),
        points_spent: reward.cost_points,
        status: "issued".to_owned(),
        issued_at: now,
        expires_at: now
            .checked_add_days(Days::new(
                u64::try_from(reward.code_validity_days).unwrap_or(1),
            ))
            .unwrap_or(now),
        used_at: None,
        used_store_id: None,
        used_purchase_external_id: None,
        cancelled_at: None,
        redeemed_store_id: store.map(str::to_owned),
    };
    let planned = ledger::plan_locked(
        Posting {
            customer_id: customer_id.to_owned(),
            kind: EntryKind::Redeem,
            points: -reward.cost_points,
            pending: 0,
            negative: 0,
            source_type: "code".to_owned(),
            source_id: code.code.clone(),
            lot_id: None,
            note: None,
            expires_at: None,
        },
        &locked,
        now,
    )?;
    let spend = crate::points::service::plan_spend_from(c, customer_id, reward.cost_points, lots)?;
    let summary = format!(
        "Redeemed reward {} for {} points",
        reward.id, code.points_spent
    );
    let event = crate::timeline::NewEvent {
        customer_id,
        kind: crate::timeline::Kind::Redemption,
        channel: crate::timeline::channel_of(actor),
        summary,
        ref_type: "code",
        ref_id: &code.code,
        occurred_at: now,
    };
    // Everything the redemption writes, in one round trip on PostgreSQL.
    let mut batch = crate::db::batch::Batch::new(c);
    let debit = ledger::push_posting(&mut batch, &locked, &planned);
    let lots = crate::points::service::push_spend(
        &mut batch,
        &spend.takes,
        Some(("code", code.code.as_str())),
    );
    batch.push(diesel::insert_into(crate::db::schema::reward_codes::table).values(&code));
    // Unlimited stock (as read above) needs no update, which would make every redemption of
    // the reward wait for the others on its row.
    let stock = reward.stock.is_some().then(|| {
        batch.push(
            diesel::update(
                schema::rewards::table
                    .find(reward.id.clone())
                    .filter(schema::rewards::stock.gt(0)),
            )
            .set(schema::rewards::stock.eq(schema::rewards::stock - 1)),
        )
    });
    batch.push(audit::entry(
        actor,
        "reward.redeem",
        "customer",
        customer_id,
        now,
    ));
    batch.push(crate::timeline::insert(event, now));
    let redeemed = Redeemed {
        code: code.clone(),
        reward,
        balance: planned.after.clone(),
        next_expiry: spend.next_expiry(),
    };
    let last = last(&redeemed, &mut batch);
    let written = batch.run(c)?;
    if written.get(debit) != Some(&1) || lots.iter().any(|i| written.get(*i) != Some(&1)) {
        // The balance or the lots moved under the lock: nothing of this may stay.
        return Err(RewardError::Db(diesel::result::Error::RollbackTransaction));
    }
    // None left; unless the stock was made unlimited since it was read.
    if let Some(stock) = stock
        && written.get(stock) != Some(&1)
        && !repo::unlimited(c, reward_id)?
    {
        return Err(RewardError::OutOfStock);
    }
    let last = last.map(|i| written.get(i).copied().unwrap_or(0));
    Ok((redeemed, last))
}

/// Whether the customer's tier is at least `min_tier` (always true without a minimum).
pub fn meets_tier(
    c: &mut DbConnection,
    customer_id: &str,
    min_tier: Option<&str>,
) -> diesel::QueryResult<bool> {
    let Some(min_id) = min_tier else {
        return Ok(true);
    };
    let Some(min) = crate::tiers::repo::find(c, min_id)? else {
        return Ok(true);
    };
    let (_, current) = crate::tiers::service::multiplier(c, customer_id)?;
    Ok(current.is_some_and(|t| t.threshold >= min.threshold))
}

/// Marks a code used at the till.
pub fn use_code(
    conn: &mut DbConnection,
    actor: &Actor,
    code: &str,
    store: Option<&str>,
    purchase: Option<&str>,
    now: NaiveDateTime,
) -> Result<CodeRow, RewardError> {
    db::write(conn, |c| {
        let row = repo::find_code(c, code)?.ok_or(RewardError::CodeNotFound)?;
        if !repo::mark_used(c, code, store, purchase, now)? {
            return Err(RewardError::NotUsable(row.status_at(now).to_owned()));
        }
        audit::record(c, actor, "code.use", "code", code, now)?;
        crate::timeline::record(
            c,
            crate::timeline::NewEvent {
                customer_id: &row.customer_id,
                kind: crate::timeline::Kind::CodeUsed,
                channel: crate::timeline::channel_of(actor),
                summary: match store {
                    Some(s) => format!("Used the code of reward {} at store {s}", row.reward_id),
                    None => format!("Used the code of reward {}", row.reward_id),
                },
                ref_type: "code",
                ref_id: code,
                occurred_at: now,
            },
            now,
        )?;
        repo::find_code(c, code)?.ok_or(RewardError::CodeNotFound)
    })
}

/// Cancels an unused, unexpired code: the points come back as a new lot, and the stock too.
pub fn cancel_code(
    conn: &mut DbConnection,
    actor: &Actor,
    code: &str,
    bound_store: Option<&str>,
    now: NaiveDateTime,
) -> Result<(CodeRow, BalanceRow), RewardError> {
    db::write(conn, |c| {
        // A store-bound key cancels only codes redeemed through its own store.
        let row = repo::find_code(c, code)?
            .filter(|r| bound_store.is_none_or(|s| r.redeemed_store_id.as_deref() == Some(s)))
            .ok_or(RewardError::CodeNotFound)?;
        // One lock order everywhere: the balance, then lots, codes, rewards.
        ledger::lock(c, &row.customer_id)?;
        let status = row.status_at(now).to_owned();
        if status != "issued" {
            return Err(RewardError::NotCancellable(status));
        }
        let settings = program::repo::load(c)?;
        crate::points::service::refund_spends(
            c,
            &row.customer_id,
            ("code", code),
            row.points_spent,
            settings.expiry_months,
            now,
        )?;
        if !repo::mark_cancelled(c, code, now)? {
            // Used or cancelled by someone else since it was read: the refund rolls back.
            let now_status = repo::find_code(c, code)?
                .map(|r| r.status_at(now).to_owned())
                .unwrap_or(status);
            return Err(RewardError::NotCancellable(now_status));
        }
        repo::return_stock(c, &row.reward_id)?;
        audit::record(c, actor, "code.cancel", "code", code, now)?;
        crate::timeline::record(
            c,
            crate::timeline::NewEvent {
                customer_id: &row.customer_id,
                kind: crate::timeline::Kind::CodeCancelled,
                channel: crate::timeline::channel_of(actor),
                summary: format!(
                    "Cancelled the code of reward {}; {} points given back",
                    row.reward_id, row.points_spent
                ),
                ref_type: "code",
                ref_id: code,
                occurred_at: now,
            },
            now,
        )?;
        let balance = ledger::balance(c, &row.customer_id, now)?;
        let row = repo::find_code(c, code)?.ok_or(RewardError::CodeNotFound)?;
        Ok((row, balance))
    })
}

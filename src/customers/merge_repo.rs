//! Queries of a customer merge: moving everything a customer owns onto another. Only
//! `customers::merge` calls these, inside its transaction with both balance rows locked.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{
    balances, customer_events, customer_stats, customer_usage, customers, ledger_entries,
    point_lots, purchases, qualifying_points, referral_payouts, reward_codes, tier_changes,
    timeline_events,
};
use crate::db::schema::{
    feedback_responses, messages, offers, recovery_cases, survey_invitations, tickets,
};
use crate::points::BalanceRow;

/// Moves the rows that simply belong to a customer. Lot spends follow their lots.
pub fn move_owned_rows(c: &mut DbConnection, from: &str, to: &str) -> QueryResult<()> {
    diesel::update(purchases::table.filter(purchases::customer_id.eq(from)))
        .set(purchases::customer_id.eq(to))
        .execute(c)?;
    diesel::update(point_lots::table.filter(point_lots::customer_id.eq(from)))
        .set(point_lots::customer_id.eq(to))
        .execute(c)?;
    diesel::update(reward_codes::table.filter(reward_codes::customer_id.eq(from)))
        .set(reward_codes::customer_id.eq(to))
        .execute(c)?;
    diesel::update(customer_events::table.filter(customer_events::customer_id.eq(from)))
        .set(customer_events::customer_id.eq(to))
        .execute(c)?;
    diesel::update(timeline_events::table.filter(timeline_events::customer_id.eq(from)))
        .set(timeline_events::customer_id.eq(to))
        .execute(c)?;
    diesel::update(tier_changes::table.filter(tier_changes::customer_id.eq(from)))
        .set(tier_changes::customer_id.eq(to))
        .execute(c)?;
    diesel::update(tickets::table.filter(tickets::customer_id.eq(from)))
        .set(tickets::customer_id.eq(to))
        .execute(c)?;
    diesel::update(messages::table.filter(messages::customer_id.eq(from)))
        .set(messages::customer_id.eq(to))
        .execute(c)?;
    move_offers(c, from, to)?;
    // Feedback: the invitations, the answers and their recovery cases. Apologies given to the
    // source count towards the target's cap from now on.
    diesel::update(survey_invitations::table.filter(survey_invitations::customer_id.eq(from)))
        .set(survey_invitations::customer_id.eq(to))
        .execute(c)?;
    diesel::update(feedback_responses::table.filter(feedback_responses::customer_id.eq(from)))
        .set(feedback_responses::customer_id.eq(to))
        .execute(c)?;
    diesel::update(recovery_cases::table.filter(recovery_cases::customer_id.eq(from)))
        .set(recovery_cases::customer_id.eq(to))
        .execute(c)?;
    // Later issues add their tables here: every table with a customer_id.
    Ok(())
}

/// Moves the source's offers, except one for an occasion the target already has an offer for
/// (one offer per customer, kind and occasion): the target keeps its own, and the source's
/// stays with the alias, where the export of the target does not show it.
fn move_offers(c: &mut DbConnection, from: &str, to: &str) -> QueryResult<()> {
    let taken: Vec<(String, String)> = offers::table
        .filter(offers::customer_id.eq(to))
        .select((offers::kind, offers::occasion))
        .load(c)?;
    let theirs: Vec<(String, String, String)> = offers::table
        .filter(offers::customer_id.eq(from))
        .select((offers::id, offers::kind, offers::occasion))
        .load(c)?;
    let movable: Vec<String> = theirs
        .into_iter()
        .filter(|(_, kind, occasion)| !taken.iter().any(|(k, o)| k == kind && o == occasion))
        .map(|(id, _, _)| id)
        .collect();
    if movable.is_empty() {
        return Ok(());
    }
    diesel::update(offers::table.filter(offers::id.eq_any(&movable)))
        .set(offers::customer_id.eq(to))
        .execute(c)
        .map(drop)
}

/// The highest running balances among a customer's entries: (available, pending).
pub fn max_running(c: &mut DbConnection, customer_id: &str) -> QueryResult<(i64, i64)> {
    let (available, pending): (Option<i64>, Option<i64>) = ledger_entries::table
        .filter(ledger_entries::customer_id.eq(customer_id))
        .select((
            diesel::dsl::max(ledger_entries::balance_after),
            diesel::dsl::max(ledger_entries::pending_after),
        ))
        .first(c)?;
    Ok((available.unwrap_or(0), pending.unwrap_or(0)))
}

/// Appends `from`'s entries, in their order, after the target's last entry: `seq` continues the
/// target's numbering and the running balances start from the target's balance (`base`), so the
/// target's history stays one continuous chain. One statement: the new `(customer_id, seq)` pairs
/// lie above the target's and never collide. The database lets entries move only from a customer
/// already marked as merged into the target.
pub fn append_entries(
    c: &mut DbConnection,
    from: &str,
    to: &str,
    base: &BalanceRow,
) -> QueryResult<usize> {
    diesel::update(ledger_entries::table.filter(ledger_entries::customer_id.eq(from)))
        .set((
            ledger_entries::customer_id.eq(to),
            ledger_entries::seq.eq(ledger_entries::seq + base.last_seq),
            ledger_entries::balance_after.eq(ledger_entries::balance_after + base.available),
            ledger_entries::pending_after.eq(ledger_entries::pending_after + base.pending),
        ))
        .execute(c)
}

/// Adds the source's balance to the target's and empties the source's. The caller checked that
/// no column overflows.
pub fn add_balance(
    c: &mut DbConnection,
    from: &BalanceRow,
    to: &str,
    now: chrono::NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(balances::table.find(to))
        .set((
            balances::available.eq(balances::available + from.available),
            balances::pending.eq(balances::pending + from.pending),
            balances::negative.eq(balances::negative + from.negative),
            balances::lifetime_earned.eq(balances::lifetime_earned + from.lifetime_earned),
            balances::redeemed.eq(balances::redeemed + from.redeemed),
            balances::expired.eq(balances::expired + from.expired),
            balances::last_seq.eq(balances::last_seq + from.last_seq),
            balances::updated_at.eq(now),
        ))
        .execute(c)?;
    // The alias keeps no balance. A write that resolved the source just before the merge and
    // waited on this row's lock then finds no row, and `ledger::lock` has it run again against
    // the surviving customer.
    diesel::delete(balances::table.find(&from.customer_id))
        .execute(c)
        .map(drop)
}

/// Adds the source's qualifying points month by month to the target's, then removes the source's.
pub fn move_qualifying(c: &mut DbConnection, from: &str, to: &str) -> QueryResult<()> {
    let months: Vec<(String, i64)> = qualifying_points::table
        .filter(qualifying_points::customer_id.eq(from))
        .select((qualifying_points::month, qualifying_points::points))
        .load(c)?;
    for (month, points) in months {
        let updated = diesel::update(qualifying_points::table.find((to, &month)))
            .set(qualifying_points::points.eq(qualifying_points::points + points))
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(qualifying_points::table)
                .values((
                    qualifying_points::customer_id.eq(to),
                    qualifying_points::month.eq(&month),
                    qualifying_points::points.eq(points),
                ))
                .execute(c)?;
        }
    }
    diesel::delete(qualifying_points::table.filter(qualifying_points::customer_id.eq(from)))
        .execute(c)
        .map(drop)
}

/// Moves referrals: payouts the source earned as referrer, the payout for the source's own sign-up
/// when the target has none, and customers the source referred. Returns the target's count of
/// successful referrals afterwards.
pub fn move_referrals(c: &mut DbConnection, from: &str, to: &str) -> QueryResult<i64> {
    diesel::update(referral_payouts::table.filter(referral_payouts::referrer_customer_id.eq(from)))
        .set(referral_payouts::referrer_customer_id.eq(to))
        .execute(c)?;
    let target_paid: i64 = referral_payouts::table
        .filter(referral_payouts::referred_customer_id.eq(to))
        .count()
        .get_result(c)?;
    if target_paid == 0 {
        diesel::update(referral_payouts::table.find(from))
            .set(referral_payouts::referred_customer_id.eq(to))
            .execute(c)?;
    }
    diesel::update(
        customers::table
            .filter(customers::referred_by.eq(from))
            .filter(customers::id.ne(to)),
    )
    .set(customers::referred_by.eq(to))
    .execute(c)?;
    referral_payouts::table
        .filter(referral_payouts::referrer_customer_id.eq(to))
        .count()
        .get_result(c)
}

/// Points older aliases of the source at the target, so every alias resolves in one hop.
pub fn repoint_aliases(c: &mut DbConnection, from: &str, to: &str) -> QueryResult<()> {
    diesel::update(customers::table.filter(customers::merged_into.eq(from)))
        .set(customers::merged_into.eq(to))
        .execute(c)
        .map(drop)
}

/// Removes the source's statistics: the target's are rebuilt from the moved purchases.
pub fn drop_stats(c: &mut DbConnection, customer_id: &str) -> QueryResult<()> {
    diesel::delete(customer_usage::table.filter(customer_usage::customer_id.eq(customer_id)))
        .execute(c)?;
    diesel::delete(customer_stats::table.find(customer_id))
        .execute(c)
        .map(drop)
}

//! Referrals: a customer created with another's referral code earns both sides the program's
//! bonus once their first purchase is past its pending period — exactly once, whichever job or
//! request gets there first (the payout row's primary key is the referred customer).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{purchases, referral_payouts};
use crate::points::EntryKind;
use crate::points::ledger::{self, LedgerError, Posting};
use crate::{customers, program, tiers};

/// Pays the referral bonus if `purchase_id` is the referred customer's first purchase and its
/// points are now available. Call inside the transaction that made them available.
pub fn maybe_pay(
    c: &mut DbConnection,
    customer_id: &str,
    purchase_id: &str,
    now: NaiveDateTime,
) -> Result<(), LedgerError> {
    let Some(customer) = customers::repo::find(c, customer_id)? else {
        return Ok(());
    };
    let Some(referrer) = customer.referred_by else {
        return Ok(());
    };
    let first: Option<String> = purchases::table
        .filter(purchases::customer_id.eq(customer_id))
        .order((purchases::created_at.asc(), purchases::id.asc()))
        .select(purchases::id)
        .first(c)
        .optional()?;
    if first.as_deref() != Some(purchase_id) {
        return Ok(());
    }
    let settings = program::repo::load(c)?;
    let (referrer_points, referred_points) = (
        settings.referral.referrer_points,
        settings.referral.referred_points,
    );
    if referrer_points <= 0 && referred_points <= 0 {
        return Ok(());
    }
    // Whoever pays first inserts the row; a duplicate is expected and must not abort the
    // transaction (on PostgreSQL a caught unique violation already has).
    // ON CONFLICT is backend SQL that diesel's MultiConnection does not render, so the one
    // statement runs on whichever connection this is.
    let insert = diesel::insert_into(referral_payouts::table)
        .values((
            referral_payouts::referred_customer_id.eq(customer_id),
            referral_payouts::referrer_customer_id.eq(&referrer),
            referral_payouts::purchase_id.eq(purchase_id),
            referral_payouts::referrer_points.eq(referrer_points),
            referral_payouts::referred_points.eq(referred_points),
            referral_payouts::paid_at.eq(now),
        ))
        .on_conflict_do_nothing();
    let inserted = match c {
        DbConnection::Postgres(pg) => insert.execute(pg)?,
        DbConnection::Sqlite(lite) => insert.execute(lite)?,
    };
    if inserted == 0 {
        return Ok(());
    }
    customers::stats::referral_paid(c, &referrer, now)?;
    for (who, points) in [
        (referrer.as_str(), referrer_points),
        (customer_id, referred_points),
    ] {
        if points <= 0 {
            continue;
        }
        let bonus = Posting {
            customer_id: who.to_owned(),
            kind: EntryKind::Bonus,
            points,
            pending: 0,
            negative: 0,
            source_type: "referral".to_owned(),
            source_id: customer_id.to_owned(),
            lot_id: None,
            note: Some("referral".to_owned()),
            expires_at: None,
        };
        ledger::credit_new_lot(c, bonus, settings.expiry_months, now)?;
        tiers::service::qualifying_changed(c, who, points, now, &settings, now)?;
    }
    Ok(())
}

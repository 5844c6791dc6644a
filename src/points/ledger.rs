//! Posting to the ledger. Every posting is one conditional UPDATE of the balance row (never a
//! read-decide-write in Rust) plus one immutable entry, inside the caller's write transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{BalanceRow, EntryKind, EntryRow, LotRow};
use crate::db::DbConnection;
use crate::db::schema::{balances, ledger_entries, point_lots};

/// What went wrong posting.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The balance cannot cover the debit.
    #[error("{needed} points are needed; {available} are available")]
    Insufficient {
        /// Points the posting needed.
        needed: i64,
        /// Points available.
        available: i64,
    },
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// One movement of points.
#[derive(Debug, Clone)]
pub struct Posting {
    pub customer_id: String,
    pub kind: EntryKind,
    /// Change of the available balance.
    pub points: i64,
    /// Change of the pending balance.
    pub pending: i64,
    pub source_type: String,
    pub source_id: String,
    pub lot_id: Option<String>,
    pub note: Option<String>,
    pub expires_at: Option<NaiveDateTime>,
}

/// Creates the balance row of a new customer.
pub fn open_balance(
    conn: &mut DbConnection,
    customer_id: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(balances::table)
        .values(BalanceRow::empty(customer_id, at))
        .execute(conn)
        .map(drop)
}

/// The balance row; an empty one if the customer has none.
pub fn balance(
    conn: &mut DbConnection,
    customer_id: &str,
    at: NaiveDateTime,
) -> QueryResult<BalanceRow> {
    Ok(balances::table
        .find(customer_id)
        .select(BalanceRow::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_else(|| BalanceRow::empty(customer_id, at)))
}

/// Applies a posting to the balance and records its entry.
pub fn post(
    conn: &mut DbConnection,
    p: Posting,
    now: NaiveDateTime,
) -> Result<EntryRow, LedgerError> {
    let earned = match p.kind {
        EntryKind::Earn | EntryKind::Bonus => p.points + p.pending,
        _ => 0,
    };
    let redeemed = if p.kind == EntryKind::Redeem {
        -p.points
    } else {
        0
    };
    let expired = if p.kind == EntryKind::Expire {
        -p.points
    } else {
        0
    };
    let mut update = diesel::update(balances::table.find(&p.customer_id)).into_boxed();
    if p.points < 0 {
        update = update.filter(balances::available.ge(-p.points));
    }
    if p.pending < 0 {
        update = update.filter(balances::pending.ge(-p.pending));
    }
    let changed = update
        .set((
            balances::available.eq(balances::available + p.points),
            balances::pending.eq(balances::pending + p.pending),
            balances::lifetime_earned.eq(balances::lifetime_earned + earned),
            balances::redeemed.eq(balances::redeemed + redeemed),
            balances::expired.eq(balances::expired + expired),
            balances::updated_at.eq(now),
        ))
        .execute(conn)?;
    let after = balance(conn, &p.customer_id, now)?;
    if changed == 0 {
        return Err(LedgerError::Insufficient {
            needed: -p.points.min(0),
            available: after.available,
        });
    }
    let entry = EntryRow {
        id: uuid::Uuid::now_v7().to_string(),
        customer_id: p.customer_id,
        kind: p.kind.as_str().to_owned(),
        points: p.points,
        pending: p.pending,
        balance_after: after.available,
        pending_after: after.pending,
        source_type: p.source_type,
        source_id: p.source_id,
        lot_id: p.lot_id,
        note: p.note,
        created_at: now,
        expires_at: p.expires_at,
    };
    diesel::insert_into(ledger_entries::table)
        .values(&entry)
        .execute(conn)?;
    Ok(entry)
}

/// Records an earned lot.
pub fn insert_lot(conn: &mut DbConnection, lot: &LotRow) -> QueryResult<()> {
    diesel::insert_into(point_lots::table)
        .values(lot)
        .execute(conn)
        .map(drop)
}

/// Entries of a customer, newest first, strictly before the cursor position.
pub fn history(
    conn: &mut DbConnection,
    customer_id: &str,
    before: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<EntryRow>> {
    let mut query = ledger_entries::table
        .filter(ledger_entries::customer_id.eq(customer_id.to_owned()))
        .select(EntryRow::as_select())
        .order((ledger_entries::created_at.desc(), ledger_entries::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some((at, id)) = before {
        query = query.filter(
            ledger_entries::created_at
                .lt(at)
                .or(ledger_entries::created_at
                    .eq(at)
                    .and(ledger_entries::id.lt(id))),
        );
    }
    query.load(conn)
}

/// The soonest expiry among available lots: (points expiring then, when). Uses the lot index.
pub fn next_expiry(
    conn: &mut DbConnection,
    customer_id: &str,
) -> QueryResult<Option<(i64, NaiveDateTime)>> {
    let soonest: Option<NaiveDateTime> = point_lots::table
        .filter(point_lots::customer_id.eq(customer_id))
        .filter(point_lots::status.eq("available"))
        .filter(point_lots::remaining.gt(0))
        .filter(point_lots::expires_at.is_not_null())
        .select(point_lots::expires_at)
        .order(point_lots::expires_at.asc())
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten();
    let Some(at) = soonest else { return Ok(None) };
    let points: Vec<i64> = point_lots::table
        .filter(point_lots::customer_id.eq(customer_id))
        .filter(point_lots::status.eq("available"))
        .filter(point_lots::expires_at.eq(at))
        .select(point_lots::remaining)
        .load(conn)?;
    Ok(Some((points.iter().sum(), at)))
}

//! Posting to the ledger, inside the caller's write transaction: the balance row is locked and
//! read in one statement, the posting is worked out against it (it cannot move while the lock
//! is held), and applied by an UPDATE conditional on the row being the one locked, plus one
//! immutable entry.

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
    /// A column of the balance would leave the range of a 64-bit integer. Checked before the
    /// UPDATE: PostgreSQL would fail with an error, and SQLite would silently turn the sum into a
    /// floating-point number.
    #[error("the balance cannot hold this many points")]
    Overflow,
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
    /// Change of the debt (a return of points already spent, under `allow_negative`).
    pub negative: i64,
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

/// Locks the customer's balance row for the rest of the transaction (`FOR NO KEY UPDATE` on
/// PostgreSQL, a no-op UPDATE on SQLite); returns false if the customer has no balance row. The
/// row's `updated_at` moves only when a posting changes the balance.
///
/// A customer merged into another while this transaction waited for the lock has no balance row
/// any more: the transaction fails with a serialization error, so `db::run` runs it again and
/// it resolves the id to the surviving customer this time.
pub fn lock(conn: &mut DbConnection, customer_id: &str) -> QueryResult<bool> {
    lock_row(conn, customer_id).map(|row| row.is_some())
}

/// [`lock`], returning the row as it stands under the lock (one statement).
pub fn lock_row(conn: &mut DbConnection, customer_id: &str) -> QueryResult<Option<BalanceRow>> {
    let locked = try_lock_row(conn, customer_id)?;
    if locked.is_none() {
        let merged: Option<Option<String>> = crate::db::schema::customers::table
            .find(customer_id)
            .select(crate::db::schema::customers::merged_into)
            .first(conn)
            .optional()?;
        if let Some(Some(_)) = merged {
            return Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::SerializationFailure,
                Box::new(format!(
                    "customer {customer_id} was merged while this write waited; run it again"
                )),
            ));
        }
    }
    Ok(locked)
}

/// Locks and returns the balance row under this id, if there is one: `None` for an unknown id
/// and for a merged record's (the caller resolves it and locks the survivor).
pub fn try_lock_row(conn: &mut DbConnection, customer_id: &str) -> QueryResult<Option<BalanceRow>> {
    // Written in SQL so that it is prepared once per connection. PostgreSQL takes the row lock
    // an UPDATE would take without writing a row version (which would also make the posting's
    // own update check the customer's foreign key again); SQLite has no row locks: the UPDATE
    // makes the transaction its database's only writer.
    let customer = crate::db::raw::Bind::Text(customer_id.to_owned());
    let rows = match conn {
        DbConnection::Postgres(_) => crate::db::raw::load(
            conn,
            "SELECT customer_id, available, pending, negative, lifetime_earned, redeemed, \
             expired, updated_at, last_seq FROM balances WHERE customer_id = ? \
             FOR NO KEY UPDATE",
            &[customer],
        )?,
        DbConnection::Sqlite(_) => crate::db::raw::load(
            conn,
            "UPDATE balances SET updated_at = updated_at WHERE customer_id = ? RETURNING \
             customer_id, available, pending, negative, lifetime_earned, redeemed, expired, \
             updated_at, last_seq",
            &[customer],
        )?,
    };
    let locked: Option<BalanceRow> = rows.into_iter().next();
    Ok(locked)
}

/// Applies a posting to the balance and records its entry.
///
/// The balance row is locked first ([`lock_row`]), so everything after it in the transaction
/// sees this customer's balance as no one else can change it. A credit to the available balance
/// first pays off any debt; the paid part is taken out of the credited lot.
pub fn post(
    conn: &mut DbConnection,
    p: Posting,
    now: NaiveDateTime,
) -> Result<EntryRow, LedgerError> {
    let Some(locked) = lock_row(conn, &p.customer_id)? else {
        return Err(LedgerError::Db(diesel::result::Error::NotFound));
    };
    post_locked(conn, p, &locked, now).map(|(entry, _)| entry)
}

/// A posting worked out against the locked balance row: the statements that apply it, and what
/// they leave.
pub struct Planned {
    /// The entry to record (its `balance_after`, `pending_after` and `seq` included).
    pub entry: EntryRow,
    /// The balance row after the posting.
    pub after: BalanceRow,
    /// Debt paid off by the credit; the credited lot holds that much less.
    pub paid_debt: i64,
}

/// Works a posting out against `locked`, the balance row as it stands under this transaction's
/// lock ([`lock_row`]): refuses it if the balance cannot cover it or a column would leave the
/// range of a 64-bit integer, and pays off debt with a credit. Writes nothing.
pub fn plan_locked(
    mut p: Posting,
    locked: &BalanceRow,
    now: NaiveDateTime,
) -> Result<Planned, LedgerError> {
    let mut paid_debt = 0;
    if p.points > 0 {
        paid_debt = locked.negative.min(p.points).max(0);
        p.points -= paid_debt;
        p.negative -= paid_debt;
    }
    let earned = match p.kind {
        EntryKind::Earn | EntryKind::Bonus => p.points + p.pending - p.negative,
        _ => 0,
    };
    // Refunds (cancelled codes) give back what a redemption spent.
    let redeemed = if matches!(p.kind, EntryKind::Redeem | EntryKind::Refund) {
        -p.points
    } else {
        0
    };
    let expired = if p.kind == EntryKind::Expire {
        -p.points
    } else {
        0
    };
    let covered = |column: i64, change: i64| change >= 0 || column >= -change;
    if !covered(locked.available, p.points)
        || !covered(locked.pending, p.pending)
        || !covered(locked.negative, p.negative)
    {
        return Err(LedgerError::Insufficient {
            needed: -p.points.min(0),
            available: locked.available,
        });
    }
    let add = |column: i64, change: i64| column.checked_add(change).ok_or(LedgerError::Overflow);
    let after = BalanceRow {
        customer_id: locked.customer_id.clone(),
        available: add(locked.available, p.points)?,
        pending: add(locked.pending, p.pending)?,
        negative: add(locked.negative, p.negative)?,
        lifetime_earned: add(locked.lifetime_earned, earned)?,
        redeemed: add(locked.redeemed, redeemed)?,
        expired: add(locked.expired, expired)?,
        updated_at: now,
        last_seq: add(locked.last_seq, 1)?,
    };
    let entry = EntryRow {
        id: uuid::Uuid::now_v7().to_string(),
        customer_id: p.customer_id,
        kind: p.kind.as_str().to_owned(),
        points: p.points,
        pending: p.pending,
        negative: p.negative,
        balance_after: after.available,
        pending_after: after.pending,
        source_type: p.source_type,
        source_id: p.source_id,
        lot_id: p.lot_id,
        note: p.note,
        created_at: now,
        expires_at: p.expires_at,
        seq: after.last_seq,
    };
    Ok(Planned {
        entry,
        after,
        paid_debt,
    })
}

/// Adds the statements that apply `planned` to `batch`: the balance update (from `locked` to
/// `planned.after`, conditional on the row still being `locked`) and the entry. Returns the
/// index of the balance update, which must write one row.
pub fn push_posting<'a>(
    batch: &mut crate::db::batch::Batch<'a>,
    locked: &BalanceRow,
    planned: &'a Planned,
) -> usize {
    let after = &planned.after;
    let update = diesel::update(balances::table.find(&after.customer_id))
        .filter(balances::last_seq.eq(locked.last_seq))
        .set((
            balances::available.eq(after.available),
            balances::pending.eq(after.pending),
            balances::negative.eq(after.negative),
            balances::lifetime_earned.eq(after.lifetime_earned),
            balances::redeemed.eq(after.redeemed),
            balances::expired.eq(after.expired),
            balances::updated_at.eq(after.updated_at),
            // The entry's place in the customer's ledger, decided under the row lock.
            balances::last_seq.eq(after.last_seq),
        ));
    let index = batch.push(update);
    batch.push(diesel::insert_into(ledger_entries::table).values(&planned.entry));
    index
}

/// [`post`] for a caller that locked the balance row itself ([`lock_row`]) in this transaction
/// and has not changed it since: `locked` is the row as it stands. Returns the entry and the
/// balance after it. The balance update and the entry go in one round trip on PostgreSQL.
pub fn post_locked(
    conn: &mut DbConnection,
    p: Posting,
    locked: &BalanceRow,
    now: NaiveDateTime,
) -> Result<(EntryRow, BalanceRow), LedgerError> {
    let lot = p.lot_id.clone();
    let planned = plan_locked(p, locked, now)?;
    if planned.paid_debt > 0
        && let Some(lot) = &lot
    {
        diesel::update(point_lots::table.find(lot))
            .set(point_lots::remaining.eq(point_lots::remaining - planned.paid_debt))
            .execute(conn)?;
    }
    let mut batch = crate::db::batch::Batch::new(conn);
    let update = push_posting(&mut batch, locked, &planned);
    let written = batch.run(conn)?;
    if written.get(update) != Some(&1) {
        // The row moved since it was locked: a caller broke the contract above.
        return Err(LedgerError::Db(diesel::result::Error::RollbackTransaction));
    }
    Ok((planned.entry, planned.after))
}

/// When points that become available at `from` expire: `expiry_months` later (0 = never).
/// chrono clamps to the month's last day: 31 January + 1 month is 28 (or 29) February.
pub fn expiry(from: NaiveDateTime, expiry_months: i64) -> Option<NaiveDateTime> {
    u32::try_from(expiry_months)
        .ok()
        .filter(|m| *m > 0)
        .and_then(|m| from.checked_add_months(chrono::Months::new(m)))
}

/// Credits `posting.points` available points as a lot of their own (adjustments, refunds,
/// bonuses), expiring `expiry_months` from now, and posts the entry with it.
pub fn credit_new_lot(
    c: &mut DbConnection,
    mut posting: Posting,
    expiry_months: i64,
    now: NaiveDateTime,
) -> Result<EntryRow, LedgerError> {
    let expires_at = expiry(now, expiry_months);
    let lot = LotRow {
        id: uuid::Uuid::now_v7().to_string(),
        customer_id: posting.customer_id.clone(),
        source_type: posting.source_type.clone(),
        source_id: posting.source_id.clone(),
        points: posting.points,
        remaining: posting.points,
        status: "available".to_owned(),
        earned_at: now,
        available_at: now,
        expires_at,
        expired: 0,
    };
    insert_lot(c, &lot)?;
    posting.lot_id = Some(lot.id);
    posting.expires_at = expires_at;
    post(c, posting, now)
}

/// Records an earned lot.
pub fn insert_lot(conn: &mut DbConnection, lot: &LotRow) -> QueryResult<()> {
    diesel::insert_into(point_lots::table)
        .values(lot)
        .execute(conn)
        .map(drop)
}

/// Entries of a customer, newest first (by `seq`), strictly before the cursor's `seq`.
pub fn history(
    conn: &mut DbConnection,
    customer_id: &str,
    before_seq: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<EntryRow>> {
    let mut query = ledger_entries::table
        .filter(ledger_entries::customer_id.eq(customer_id.to_owned()))
        .select(EntryRow::as_select())
        .order(ledger_entries::seq.desc())
        .limit(limit)
        .into_boxed();
    if let Some(seq) = before_seq {
        query = query.filter(ledger_entries::seq.lt(seq));
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

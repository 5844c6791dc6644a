//! What recording a purchase reads, read under the customer's balance lock: on PostgreSQL the lock
//! and the read in one call of the `purchase_standing` function (the read in a statement of its
//! own, after the lock), on SQLite (where statements cost no round trip) one table at a time.

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::service::{CustomerRef, PurchaseError};
use crate::customers::model::CustomerRow;
use crate::customers::stats::StatsRow;
use crate::db::DbConnection;
use crate::db::raw::{self, Bind};
use crate::points::{BalanceRow, ledger, summary};
use crate::tiers::CustomerTierRow;

/// The customer as a purchase needs them.
#[derive(Debug, Clone)]
pub struct Buyer {
    pub id: String,
    pub created_at: NaiveDateTime,
    pub referred_by: Option<String>,
    pub birthday: Option<String>,
    pub time_zone: Option<String>,
}

impl From<CustomerRow> for Buyer {
    fn from(c: CustomerRow) -> Self {
        Self {
            id: c.id,
            created_at: c.created_at,
            referred_by: c.referred_by,
            birthday: c.birthday,
            time_zone: c.time_zone,
        }
    }
}

/// The buyer's standing under the balance lock.
#[derive(Debug, Clone)]
pub struct Locked {
    pub buyer: Buyer,
    /// The balance row as it stands under the lock.
    pub balance: BalanceRow,
    /// The tier row, if any.
    pub held: Option<CustomerTierRow>,
    /// The statistics row, if any.
    pub stats: Option<StatsRow>,
    /// Qualifying points in the tier window ending in the month of `now`.
    pub qualifying: i64,
    /// The soonest expiry among available lots: (points, when).
    pub next_expiry: Option<(i64, NaiveDateTime)>,
}

/// Resolves the customer (a merged record's id or external id names the survivor), locks their
/// balance row and reads their standing.
pub fn lock(
    conn: &mut DbConnection,
    customer: &CustomerRef,
    now: NaiveDateTime,
    window_months: i64,
) -> Result<Locked, PurchaseError> {
    if let (DbConnection::Postgres(_), CustomerRef::Id(id)) = (&*conn, customer)
        && let Some(row) = read_pg(conn, id, now, window_months)?
    {
        if row.erased_at.is_some() {
            return Err(PurchaseError::CustomerErased);
        }
        return Ok(row.into_locked());
    }
    // An external id, a merged record's id, an unknown one; or SQLite.
    let found = match customer {
        CustomerRef::Id(id) => crate::customers::repo::resolve(conn, id)?,
        CustomerRef::ExternalId(x) => crate::customers::repo::resolve_external_id(conn, x)?,
    };
    let found = found.ok_or(PurchaseError::UnknownCustomer)?;
    if found.erased_at.is_some() {
        return Err(PurchaseError::CustomerErased);
    }
    let Some(balance) = ledger::lock_row(conn, &found.id)? else {
        return Err(PurchaseError::UnknownCustomer);
    };
    let held = crate::tiers::repo::of_customer(conn, &found.id)?;
    let stats = crate::customers::stats::find(conn, &found.id)?;
    let standing = summary::read(conn, &found.id, now, window_months)?
        .ok_or(PurchaseError::UnknownCustomer)?;
    Ok(Locked {
        buyer: found.into(),
        balance,
        held,
        stats,
        qualifying: standing.qualifying,
        next_expiry: standing.next_expiry,
    })
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(embed)]
    balance: BalanceRow,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Text>)]
    referred_by: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    birthday: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    time_zone: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    erased_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    tier_id: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    tier_since: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    below_since: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<BigInt>)]
    purchase_count: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    spent_minor: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    returned_minor: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    first_purchase_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    last_purchase_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<BigInt>)]
    referrals_successful: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    segment: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    segment_since: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    segment_review_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    stats_updated_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    qualifying: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    expiry_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<BigInt>)]
    expiry_points: Option<i64>,
}

impl Row {
    fn into_locked(self) -> Locked {
        let balance = self.balance;
        let customer_id = balance.customer_id.clone();
        let stats = match (
            self.purchase_count,
            self.segment,
            self.segment_since,
            self.stats_updated_at,
        ) {
            (Some(purchase_count), Some(segment), Some(segment_since), Some(updated_at)) => {
                Some(StatsRow {
                    customer_id: customer_id.clone(),
                    purchase_count,
                    spent_minor: self.spent_minor.unwrap_or(0),
                    returned_minor: self.returned_minor.unwrap_or(0),
                    first_purchase_at: self.first_purchase_at,
                    last_purchase_at: self.last_purchase_at,
                    referrals_successful: self.referrals_successful.unwrap_or(0),
                    segment,
                    segment_since,
                    segment_review_at: self.segment_review_at,
                    updated_at,
                })
            }
            _ => None,
        };
        let held = match (self.tier_id, self.tier_since) {
            (Some(tier_id), Some(since)) => Some(CustomerTierRow {
                customer_id: customer_id.clone(),
                tier_id,
                since,
                below_since: self.below_since,
            }),
            _ => None,
        };
        Locked {
            buyer: Buyer {
                id: customer_id,
                created_at: self.created_at,
                referred_by: self.referred_by,
                birthday: self.birthday,
                time_zone: self.time_zone,
            },
            balance,
            held,
            stats,
            qualifying: summary::sum_months(self.qualifying.as_deref()),
            next_expiry: self
                .expiry_at
                .map(|at| (self.expiry_points.unwrap_or(0), at)),
        }
    }
}

/// Locks the balance row of the customer with this id and reads, once the lock is held, their
/// balance, tier, statistics, qualifying points and next expiry: one round trip to the
/// `purchase_standing` function (PostgreSQL; migration `2026-11-30-000002_purchase_standing`),
/// whose second statement takes its snapshot after the lock. `None` when there is no balance
/// row under this id.
fn read_pg(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
    window_months: i64,
) -> Result<Option<Row>, PurchaseError> {
    let binds = [
        Bind::Text(id.to_owned()),
        Bind::Text(summary::window_start(now, window_months)),
    ];
    let rows: Vec<Row> = raw::load(conn, "SELECT * FROM purchase_standing(?, ?)", &binds)?;
    Ok(rows.into_iter().next())
}

//! The points ledger: immutable entries, earned lots with expiry, and one balance row per customer
//! kept equal to the sum of its entries in the same transaction as every posting.

pub mod jobs;
pub mod ledger;
pub mod routes;
pub mod service;
pub mod summary;
pub mod warnings;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{balances, ledger_entries, point_lots};

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Points earned by a purchase.
    Earn,
    /// Bonus points.
    Bonus,
    /// Pending points becoming available.
    Release,
    /// Points spent on a reward.
    Redeem,
    /// Points taken back by a return.
    Reverse,
    /// Points that expired.
    Expire,
    /// A manual adjustment.
    Adjust,
    /// Points given back (a cancelled code).
    Refund,
}

impl EntryKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Earn => "earn",
            EntryKind::Bonus => "bonus",
            EntryKind::Release => "release",
            EntryKind::Redeem => "redeem",
            EntryKind::Reverse => "reverse",
            EntryKind::Expire => "expire",
            EntryKind::Adjust => "adjust",
            EntryKind::Refund => "refund",
        }
    }
}

/// A customer's balance row.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = balances)]
pub struct BalanceRow {
    pub customer_id: String,
    pub available: i64,
    pub pending: i64,
    pub negative: i64,
    pub lifetime_earned: i64,
    pub redeemed: i64,
    pub expired: i64,
    pub updated_at: NaiveDateTime,
    /// The `seq` of the customer's latest ledger entry.
    pub last_seq: i64,
}

impl BalanceRow {
    /// An empty balance.
    pub fn empty(customer_id: &str, at: NaiveDateTime) -> Self {
        Self {
            customer_id: customer_id.to_owned(),
            available: 0,
            pending: 0,
            negative: 0,
            lifetime_earned: 0,
            redeemed: 0,
            expired: 0,
            updated_at: at,
            last_seq: 0,
        }
    }
}

/// An earned lot: points that share a source, a release date and an expiry date.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = point_lots)]
pub struct LotRow {
    pub id: String,
    pub customer_id: String,
    pub source_type: String,
    pub source_id: String,
    pub points: i64,
    pub remaining: i64,
    pub status: String,
    pub earned_at: NaiveDateTime,
    pub available_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    /// What expired of the lot and no return has matched yet.
    pub expired: i64,
}

/// An immutable ledger entry. `points` moves the available balance, `pending` the pending one.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ledger_entries)]
pub struct EntryRow {
    pub id: String,
    pub customer_id: String,
    pub kind: String,
    pub points: i64,
    pub pending: i64,
    /// Change of the debt left by returns of spent points.
    pub negative: i64,
    pub balance_after: i64,
    pub pending_after: i64,
    pub source_type: String,
    pub source_id: String,
    pub lot_id: Option<String>,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    /// Position in the customer's ledger, assigned under the balance row lock: 1, 2, 3, …
    pub seq: i64,
}

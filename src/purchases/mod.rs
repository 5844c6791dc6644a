//! Purchases: recorded once per `external_id` (a permanent natural key), earning points by the
//! program's rules.

pub mod earning;
pub mod repo;
pub mod return_routes;
pub mod returns;
pub mod routes;
pub mod service;
pub mod standing;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::json::Checked;
use crate::db::schema::{purchase_lines, purchase_returns, purchases};

/// A purchase row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = purchases)]
pub struct PurchaseRow {
    pub id: String,
    pub external_id: String,
    pub customer_id: String,
    pub store_id: Option<String>,
    pub channel: String,
    pub occurred_at: NaiveDateTime,
    pub currency: String,
    pub total_minor: i64,
    pub points_earned: i64,
    /// JSON array of `{rule, points}`.
    #[diesel(deserialize_as = Checked<Vec<earning::BreakdownItem>>)]
    pub breakdown: String,
    /// Minor units returned so far.
    pub returned_minor: i64,
    /// Points taken back by returns so far.
    pub points_reversed: i64,
    /// SHA-256 of the request, to tell a retry from a conflicting reuse of `external_id`.
    pub request_hash: String,
    pub created_at: NaiveDateTime,
}

/// A purchase line row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = purchase_lines)]
pub struct LineRow {
    pub purchase_id: String,
    pub line_no: i32,
    pub sku: String,
    pub name: Option<String>,
    pub category: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub points: i64,
    pub returned_quantity: i64,
    pub points_reversed: i64,
}

/// A return row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = purchase_returns)]
pub struct ReturnRow {
    pub id: String,
    pub external_id: String,
    pub purchase_id: String,
    pub amount_minor: i64,
    pub points_reversed: i64,
    /// Of those, points already spent (debt or forgiven).
    pub points_uncovered: i64,
    pub request_hash: String,
    pub created_at: NaiveDateTime,
}

//! Tiers: thresholds of qualifying points earned over a rolling window of calendar months.
//! Upgrades happen as points are earned; downgrades only at the review after a grace period;
//! spending points never lowers a tier.

pub mod repo;
pub mod routes;
pub mod service;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::json::Checked;
use crate::db::schema::{customer_tiers, tiers};
use crate::rewards::LocalizedText;

/// A tier row. `name` and `benefits` hold JSON (localisable text; a list of texts).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tiers)]
pub struct TierRow {
    pub id: String,
    #[diesel(deserialize_as = Checked<LocalizedText>)]
    pub name: String,
    pub threshold: i64,
    pub multiplier_percent: i64,
    #[diesel(deserialize_as = Checked<Vec<LocalizedText>>)]
    pub benefits: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A customer's current tier.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_tiers)]
pub struct CustomerTierRow {
    pub customer_id: String,
    pub tier_id: String,
    pub since: NaiveDateTime,
    /// When qualifying points fell below the tier's threshold; the review downgrades after the grace period.
    pub below_since: Option<NaiveDateTime>,
}

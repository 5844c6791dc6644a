//! Personal offers shown in the app (`GET /v1/me/offers`): the yearly birthday gift, made by the
//! `birthday_offers` job at each customer's local morning.

pub mod birthday;
pub mod repo;
pub mod routes;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::offers;

/// What an offer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferKind {
    /// The yearly birthday gift; its occasion is the year.
    Birthday,
}

impl OfferKind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferKind::Birthday => "birthday",
        }
    }
}

/// A stored offer.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = offers)]
pub struct OfferRow {
    pub id: String,
    pub customer_id: String,
    pub kind: String,
    /// The occasion, unique per customer and kind: the birthday's year.
    pub occasion: String,
    /// The gift code, if the offer carries one.
    pub code: Option<String>,
    /// Points credited with the offer.
    pub bonus_points: i64,
    pub valid_from: NaiveDateTime,
    pub valid_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

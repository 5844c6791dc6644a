//! Rewards customers spend points on, and the codes a store accepts for them.

pub mod code_routes;
pub mod repo;
pub mod routes;
pub mod service;

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::json::{Checked, Document};
use crate::db::schema::{reward_codes, rewards};

/// A reward row. `name` and `description` hold JSON: a string or an object of locale → text.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = rewards, treat_none_as_null = true)]
pub struct RewardRow {
    pub id: String,
    #[diesel(deserialize_as = Checked<LocalizedText>)]
    pub name: String,
    #[diesel(deserialize_as = Checked<LocalizedText>)]
    pub description: String,
    pub kind: String,
    pub percent_off: Option<i64>,
    pub amount_off_minor: Option<i64>,
    pub sku: Option<String>,
    pub cost_points: i64,
    pub min_tier_id: Option<String>,
    pub stock: Option<i64>,
    pub per_customer_limit: Option<i64>,
    pub valid_from: Option<NaiveDateTime>,
    pub valid_until: Option<NaiveDateTime>,
    pub code_validity_days: i64,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl RewardRow {
    /// Whether customers can redeem it at `now`.
    pub fn is_available(&self, now: NaiveDateTime) -> bool {
        self.active
            && self.valid_from.is_none_or(|t| t <= now)
            && self.valid_until.is_none_or(|t| now < t)
            && self.stock.is_none_or(|s| s > 0)
    }
}

/// A code row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reward_codes)]
pub struct CodeRow {
    pub code: String,
    pub reward_id: String,
    pub customer_id: String,
    pub points_spent: i64,
    pub status: String,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub used_store_id: Option<String>,
    pub used_purchase_external_id: Option<String>,
    pub cancelled_at: Option<NaiveDateTime>,
    /// The store whose bound API key redeemed the code, if any.
    pub redeemed_store_id: Option<String>,
}

impl CodeRow {
    /// The status as clients see it: an issued code past its expiry reads `expired`.
    pub fn status_at(&self, now: NaiveDateTime) -> &str {
        if self.status == "issued" && self.expires_at <= now {
            "expired"
        } else {
            &self.status
        }
    }
}

/// Text in one language, or per locale (`{"en": "Free coffee", "fa": "قهوه رایگان"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LocalizedText {
    /// The same text for everyone.
    Plain(String),
    /// Text per locale.
    PerLocale(BTreeMap<String, String>),
}

impl LocalizedText {
    /// The text for `locale`, falling back to its language, then English, then any.
    pub fn resolve(&self, locale: Option<&str>) -> String {
        match self {
            LocalizedText::Plain(s) => s.clone(),
            LocalizedText::PerLocale(map) => {
                let language = locale.and_then(|l| l.split('-').next());
                locale
                    .and_then(|l| map.get(l))
                    .or_else(|| language.and_then(|l| map.get(l)))
                    .or_else(|| map.get("en"))
                    .or_else(|| map.values().next())
                    .cloned()
                    .unwrap_or_default()
            }
        }
    }

    /// Parses stored JSON. Rows are checked as they are loaded (`Checked`), so a corrupt value has
    /// already failed its query; text that still does not parse is shown as it is, never dropped.
    pub fn from_stored(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_else(|_| LocalizedText::Plain(json.to_owned()))
    }

    /// The stored JSON.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "\"\"".to_owned())
    }
}

impl Document for LocalizedText {
    const WHAT: &'static str = "localized text";
}

impl Document for Vec<LocalizedText> {
    const WHAT: &'static str = "list of localized texts";
}

/// Letters and digits without look-alikes (no 0/O, 1/I/L), so codes survive being read aloud.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// 12 characters of a 31-letter alphabet: 59 bits from the operating system's CSPRNG.
const CODE_LEN: usize = 12;

/// A new unguessable code, e.g. `7KQ9-M2XD-4HPT` (stored without dashes).
pub fn generate_code() -> String {
    use rand::TryRngCore;
    let mut rng = rand::rngs::OsRng.unwrap_err();
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// Normalises a code as typed: upper case, dashes and spaces removed.
pub fn normalise_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Shows a stored code in groups of four.
pub fn display_code(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

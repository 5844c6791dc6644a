//! Earning rules: line multipliers and bonuses, filtered by date window, tier, store and channel.

pub mod events;
pub mod repo;
pub mod routes;

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::json::{self, Checked, Document};
use crate::db::schema::earning_rules;

/// A rule row; `params` holds the whole validated rule body as JSON.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = earning_rules, treat_none_as_null = true)]
pub struct RuleRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub active: bool,
    pub starts_at: Option<NaiveDateTime>,
    pub ends_at: Option<NaiveDateTime>,
    pub tier_ids: String,
    pub store_ids: String,
    pub channels: String,
    #[diesel(deserialize_as = Checked<RuleBody>)]
    pub params: String,
    pub event_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Which lines a multiplier applies to: one sku or one category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineMatch {
    pub category: Option<String>,
    pub sku: Option<String>,
}

/// Period of an event bonus limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LimitPeriod {
    Day,
    Week,
    Month,
    Year,
    Lifetime,
}

/// Rule kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// `multiplier_percent` on lines matching `match`; only the best multiplier applies to a line.
    Multiplier,
    /// `points` when the purchase total reaches `min_total_minor`.
    PurchaseBonus,
    /// `points` on a customer's first purchase.
    FirstPurchaseBonus,
    /// `points` on purchases in the customer's birthday month.
    BirthdayMonthBonus,
    /// `points` for a custom event `event_name`, at most `limit` per `limit_period`.
    EventBonus,
}

impl RuleKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Multiplier => "multiplier",
            RuleKind::PurchaseBonus => "purchase_bonus",
            RuleKind::FirstPurchaseBonus => "first_purchase_bonus",
            RuleKind::BirthdayMonthBonus => "birthday_month_bonus",
            RuleKind::EventBonus => "event_bonus",
        }
    }
}

/// A whole rule as clients send it (and as stored). Empty filter lists mean "all".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub kind: RuleKind,
    #[serde(default = "yes")]
    pub active: bool,
    pub starts_at: Option<chrono::DateTime<chrono::Utc>>,
    pub ends_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub tier_ids: Vec<String>,
    #[serde(default)]
    pub store_ids: Vec<String>,
    /// store, web, app, phone, marketplace.
    #[serde(default)]
    #[schema(value_type = Vec<crate::purchases::routes::Channel>)]
    pub channels: Vec<String>,
    /// Required for `multiplier`, refused for other kinds.
    #[schema(minimum = 100, maximum = 1000)]
    pub multiplier_percent: Option<i64>,
    /// For `multiplier`.
    #[serde(rename = "match")]
    pub line_match: Option<LineMatch>,
    /// Required for the bonuses, refused for `multiplier`.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub points: Option<i64>,
    /// Required for `purchase_bonus`, refused for other kinds.
    #[schema(minimum = 1)]
    pub min_total_minor: Option<i64>,
    /// Required for `event_bonus` (not blank, up to 100 characters), refused for other kinds.
    #[schema(min_length = 1, max_length = 100)]
    pub event_name: Option<String>,
    /// For `event_bonus`: awards per period, counted by when Patron received the event.
    #[schema(minimum = 1)]
    pub limit: Option<i64>,
    /// For `event_bonus`; `lifetime` when `limit` is set without it.
    pub limit_period: Option<LimitPeriod>,
}

fn yes() -> bool {
    true
}

/// What a rule is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub at: NaiveDateTime,
    pub tier_id: Option<&'a str>,
    pub store_id: Option<&'a str>,
    pub channel: Option<&'a str>,
}

impl RuleBody {
    /// Whether the rule is on and its filters admit the context.
    pub fn admits(&self, ctx: Context<'_>) -> bool {
        let in_list = |list: &[String], value: Option<&str>| {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|x| x == v))
        };
        self.active
            && self.starts_at.is_none_or(|t| t.naive_utc() <= ctx.at)
            && self.ends_at.is_none_or(|t| ctx.at < t.naive_utc())
            && in_list(&self.tier_ids, ctx.tier_id)
            && in_list(&self.store_ids, ctx.store_id)
            && (ctx.channel.is_none() || in_list(&self.channels, ctx.channel))
    }

    /// Start of the limit period containing `at` (None: lifetime).
    pub fn period_start(&self, at: NaiveDateTime) -> Option<NaiveDateTime> {
        let day = at.date();
        let start = match self.limit_period.unwrap_or(LimitPeriod::Lifetime) {
            LimitPeriod::Day => day,
            LimitPeriod::Week => {
                day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday()))
            }
            LimitPeriod::Month => day.with_day(1)?,
            LimitPeriod::Year => day.with_ordinal(1)?,
            LimitPeriod::Lifetime => return None,
        };
        start.and_hms_opt(0, 0, 0)
    }
}

impl Document for RuleBody {
    const WHAT: &'static str = "earning rule";
}

impl RuleRow {
    /// The rule body. A corrupt one is an error, never an inactive rule (rows are checked as they
    /// are loaded, so this only fails for a row built in memory).
    pub fn body(&self) -> Result<RuleBody, diesel::result::Error> {
        json::parse(&self.params)
    }
}

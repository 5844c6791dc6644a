//! The loyalty program's settings: one validated document, with defaults on a new install.

pub mod repo;
pub mod routes;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;
use crate::purchases::earning;
use crate::purchases::routes::MAX_AMOUNT;

/// Points per amount spent: `points` for every `spend_minor` minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EarnRate {
    /// Minor units of spend (e.g. 100 = 1.00).
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub spend_minor: i64,
    /// Points earned for that spend.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub points: i64,
}

/// What happens when a return takes back points that were already spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnPolicy {
    /// The balance may go into debt, shown as `negative`.
    AllowNegative,
    /// Only what is available is taken back.
    WithinBalance,
}

/// Referral bonuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Referral {
    /// Points for the customer who referred.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub referrer_points: i64,
    /// Points for the new customer.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub referred_points: i64,
}

/// Thresholds of the RFM segments and the journey stage. Recency counts days since the last
/// purchase (since joining for customers who never bought); frequency and monetary value are
/// lifetime figures after returns. Segments are decided in this order: `new`, `champion`,
/// `loyal`, `promising`, `at_risk`, `hibernating`, `lost`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentSettings {
    /// Joined at most this many days ago and bought at most once: `new` (0–3650).
    #[schema(minimum = 0, maximum = 3650)]
    pub new_days: i64,
    /// Bought within this many days counts as recent, for `champion` (1–3650).
    #[schema(minimum = 1, maximum = 3650)]
    pub recent_days: i64,
    /// Bought within this many days counts as active: `loyal` or `promising` (at least
    /// `recent_days`).
    #[schema(minimum = 1, maximum = 3650)]
    pub active_days: i64,
    /// Nothing bought for more than this many days: `lost` (at least `active_days`).
    #[schema(minimum = 1, maximum = 3650)]
    pub lost_days: i64,
    /// Purchases a `champion` has made (1–1,000,000).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub champion_purchases: i64,
    /// Net spend in minor units a `champion` has made (0–10^15).
    #[schema(minimum = 0, maximum = 1_000_000_000_000_000_i64)]
    pub champion_spent_minor: i64,
    /// Purchases that make an active customer `loyal` and a quiet one `at_risk` (1–1,000,000).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub loyal_purchases: i64,
    /// Journey stage `lapsed`: no purchase for more than this many days (1–3650).
    #[schema(minimum = 1, maximum = 3650)]
    pub lapsed_days: i64,
}

impl Default for SegmentSettings {
    fn default() -> Self {
        Self {
            new_days: 30,
            recent_days: 30,
            active_days: 90,
            lost_days: 365,
            champion_purchases: 10,
            champion_spent_minor: 100_000,
            loyal_purchases: 4,
            lapsed_days: 180,
        }
    }
}

/// The program document (`GET/PUT /v1/program`). A PUT replaces it whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramSettings {
    /// ISO 4217 code of the program's one currency.
    #[schema(pattern = r"^[A-Z]{3}$")]
    pub currency: String,
    /// Base earning rate.
    pub earn_rate: EarnRate,
    /// Days points stay pending (the return window), 0–365.
    #[schema(minimum = 0, maximum = 365)]
    pub pending_days: i64,
    /// Months after which an earned lot expires; 0 = never.
    #[schema(minimum = 0, maximum = 120)]
    pub expiry_months: i64,
    /// Days before expiry that customers are warned.
    #[schema(minimum = 0, maximum = 365)]
    pub expiry_warning_days: i64,
    /// Rolling window of qualifying points for tiers, in months.
    #[schema(minimum = 1, maximum = 120)]
    pub tier_window_months: i64,
    /// Days a customer keeps a tier after falling below it, before the review downgrades.
    #[schema(minimum = 0, maximum = 365)]
    pub tier_grace_days: i64,
    /// What one point is worth, in minor units (for the liability report).
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub point_value_minor: i64,
    /// How returns treat points already spent.
    pub return_policy: ReturnPolicy,
    /// Referral bonuses.
    pub referral: Referral,
    /// How many days back a purchase's `occurred_at` may lie (tills that sync late), 0–365.
    #[serde(default = "default_purchase_backdate_days")]
    pub purchase_backdate_days: i64,
    /// How many days back a custom event's `occurred_at` may lie, 0–365.
    #[serde(default = "default_event_backdate_days")]
    pub event_backdate_days: i64,
    /// Segment and journey-stage thresholds.
    #[serde(default)]
    pub segments: SegmentSettings,
}

fn default_purchase_backdate_days() -> i64 {
    30
}

fn default_event_backdate_days() -> i64 {
    2
}

impl Default for ProgramSettings {
    fn default() -> Self {
        Self {
            currency: "USD".to_owned(),
            earn_rate: EarnRate {
                spend_minor: 100,
                points: 1,
            },
            pending_days: 14,
            expiry_months: 12,
            expiry_warning_days: 30,
            tier_window_months: 12,
            tier_grace_days: 30,
            point_value_minor: 1,
            return_policy: ReturnPolicy::WithinBalance,
            referral: Referral {
                referrer_points: 0,
                referred_points: 0,
            },
            purchase_backdate_days: default_purchase_backdate_days(),
            event_backdate_days: default_event_backdate_days(),
            segments: SegmentSettings::default(),
        }
    }
}

impl crate::db::json::Document for ProgramSettings {
    const WHAT: &'static str = "program document";
}

impl ProgramSettings {
    /// Checks every field; returns all problems at once.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut range = |field: &str, value: i64, min: i64, max: i64| {
            if !(min..=max).contains(&value) {
                errors.push(FieldError::new(
                    field,
                    format!("must be between {min} and {max}"),
                ));
            }
        };
        range(
            "earn_rate.spend_minor",
            self.earn_rate.spend_minor,
            1,
            1_000_000_000,
        );
        range("earn_rate.points", self.earn_rate.points, 0, 1_000_000);
        range(
            "purchase_backdate_days",
            self.purchase_backdate_days,
            0,
            365,
        );
        range("event_backdate_days", self.event_backdate_days, 0, 365);
        range("pending_days", self.pending_days, 0, 365);
        range("expiry_months", self.expiry_months, 0, 120);
        range("expiry_warning_days", self.expiry_warning_days, 0, 365);
        range("tier_window_months", self.tier_window_months, 1, 120);
        range("tier_grace_days", self.tier_grace_days, 0, 365);
        range("point_value_minor", self.point_value_minor, 0, 1_000_000);
        range(
            "referral.referrer_points",
            self.referral.referrer_points,
            0,
            1_000_000,
        );
        range(
            "referral.referred_points",
            self.referral.referred_points,
            0,
            1_000_000,
        );
        let sg = &self.segments;
        range("segments.new_days", sg.new_days, 0, 3650);
        range("segments.recent_days", sg.recent_days, 1, 3650);
        range(
            "segments.active_days",
            sg.active_days,
            sg.recent_days.max(1),
            3650,
        );
        range(
            "segments.lost_days",
            sg.lost_days,
            sg.active_days.max(1),
            3650,
        );
        range(
            "segments.champion_purchases",
            sg.champion_purchases,
            1,
            1_000_000,
        );
        range(
            "segments.champion_spent_minor",
            sg.champion_spent_minor,
            0,
            1_000_000_000_000_000,
        );
        range("segments.loyal_purchases", sg.loyal_purchases, 1, 1_000_000);
        range("segments.lapsed_days", sg.lapsed_days, 1, 3650);
        // The largest allowed purchase at the largest tier and rule multipliers must not earn
        // more than MAX_EARNED, so earning can never overflow, whatever tiers and rules are added.
        if errors.iter().all(|e| !e.field.starts_with("earn_rate"))
            && earning::worst_case(MAX_AMOUNT, self.earn_rate)
                .is_none_or(|worst| worst > i128::from(earning::MAX_EARNED))
        {
            errors.push(FieldError::new(
                "earn_rate",
                format!(
                    "at most one point per minor unit of spend (points <= spend_minor): a purchase \
                     of {MAX_AMOUNT} at the largest multipliers (tier x{}, rule x{}) must not earn \
                     more than {} points",
                    earning::MAX_TIER_PERCENT / 100,
                    earning::MAX_RULE_PERCENT / 100,
                    earning::MAX_EARNED
                ),
            ));
        }
        if !(self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase())) {
            errors.push(FieldError::new(
                "currency",
                "must be an ISO 4217 code such as USD, EUR, IRR or AED",
            ));
        }
        errors
    }
}

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

/// What a birthday on 29 February becomes in years without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Feb29Rule {
    /// 28 February.
    Feb28,
    /// 1 March.
    Mar1,
}

/// Birthday offers: a gift code and/or bonus points, and a message at the customer's local
/// morning, once a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BirthdaySettings {
    /// Whether the `birthday_offers` job issues offers.
    pub enabled: bool,
    /// Bonus points credited with the offer (0–1,000,000; 0 = none).
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub bonus_points: i64,
    /// The reward given as a free code (cost 0), or `null` for points only.
    pub reward_id: Option<String>,
    /// Days ahead of the birthday that the offer is made (0–30).
    #[schema(minimum = 0, maximum = 30)]
    pub days_before: i64,
    /// Hour of the customer's local day at which the offer is made (0–23).
    #[schema(minimum = 0, maximum = 23)]
    pub local_hour: i64,
    /// Where 29 February falls in other years.
    pub feb29: Feb29Rule,
    /// A birthday entered or changed fewer than this many days before it falls earns no offer
    /// that year (0–366).
    #[schema(minimum = 0, maximum = 366)]
    pub min_days_known: i64,
    /// Days the gift code stays valid after the birthday (1–365).
    #[schema(minimum = 1, maximum = 365)]
    pub valid_days: i64,
}

impl Default for BirthdaySettings {
    fn default() -> Self {
        Self {
            enabled: false,
            bonus_points: 0,
            reward_id: None,
            days_before: 0,
            local_hour: 9,
            feb29: Feb29Rule::Feb28,
            min_days_known: 30,
            valid_days: 30,
        }
    }
}

/// Follow-ups after a support ticket is resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpSettings {
    /// Whether resolutions schedule a follow-up.
    pub enabled: bool,
    /// Hours after the resolution that the follow-up is sent (0–720).
    #[schema(minimum = 0, maximum = 720)]
    pub delay_hours: i64,
    /// The survey the follow-up links to (an existing survey); `null`: a follow-up without a
    /// survey. An inactive survey is left out of follow-ups until it is active again.
    #[serde(default)]
    pub survey_id: Option<String>,
}

impl Default for FollowUpSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            delay_hours: 24,
            survey_id: None,
        }
    }
}

/// Closing the loop: what happens when an answer is bad (a detractor, CSAT ≤ 2, CES in the bottom
/// two points of its scale). A recovery case is always opened; these settings add an apology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverySettings {
    /// Points credited to the customer as an apology with each case (0–100000; 0: none). Once
    /// per response, and at most `max_apologies` per customer within `window_days`.
    #[schema(minimum = 0, maximum = 100_000)]
    pub apology_points: i64,
    /// Apologies (points or message) one customer receives within `window_days`, at most (0–100).
    #[schema(minimum = 0, maximum = 100)]
    pub max_apologies: i64,
    /// The window of `max_apologies`, in days (1–3650).
    #[schema(minimum = 1, maximum = 3650)]
    pub window_days: i64,
    /// Whether the customer receives a `recovery_apology` message with the case.
    pub send_message: bool,
}

impl Default for RecoverySettings {
    fn default() -> Self {
        Self {
            apology_points: 0,
            max_apologies: 1,
            window_days: 90,
            send_message: true,
        }
    }
}

/// Hours of the customer's local day in which no message is sent; messages due then wait for
/// `end_hour`. `start_hour` > `end_hour` spans midnight (21 → 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// First quiet hour (0–23).
    #[schema(minimum = 0, maximum = 23)]
    pub start_hour: i64,
    /// First hour messages may go out again (0–23, different from `start_hour`).
    #[schema(minimum = 0, maximum = 23)]
    pub end_hour: i64,
}

/// When and how often customers may be contacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPolicy {
    /// Quiet hours in the customer's time zone; `null` turns them off.
    pub quiet_hours: Option<QuietHours>,
    /// Marketing messages sent to one customer in any 7 days, at most (0–100; 0 = none at all).
    #[schema(minimum = 0, maximum = 100)]
    pub weekly_marketing_cap: i64,
    /// Days after a survey message before the next one (0–365).
    #[schema(minimum = 0, maximum = 365)]
    pub survey_cooldown_days: i64,
}

impl Default for ContactPolicy {
    fn default() -> Self {
        Self {
            quiet_hours: Some(QuietHours {
                start_hour: 21,
                end_hour: 8,
            }),
            weekly_marketing_cap: 3,
            survey_cooldown_days: 30,
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
    /// The program's time zone (IANA name): customers without one of their own live in it.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// The language of customers without a locale of their own (`en`, `fa` or `ar`).
    #[serde(default = "default_locale")]
    pub default_locale: String,
    /// Birthday offers.
    #[serde(default)]
    pub birthday: BirthdaySettings,
    /// Follow-ups after resolved tickets.
    #[serde(default)]
    pub follow_up: FollowUpSettings,
    /// Quiet hours, the weekly marketing cap and the survey cooldown.
    #[serde(default)]
    pub contact_policy: ContactPolicy,
    /// What a bad survey answer triggers besides its recovery case.
    #[serde(default)]
    pub recovery: RecoverySettings,
}

fn default_time_zone() -> String {
    "UTC".to_owned()
}

fn default_locale() -> String {
    "en".to_owned()
}

/// The locales Patron ships message templates for.
pub const LOCALES: [&str; 3] = ["en", "fa", "ar"];

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
            time_zone: default_time_zone(),
            default_locale: default_locale(),
            birthday: BirthdaySettings::default(),
            follow_up: FollowUpSettings::default(),
            contact_policy: ContactPolicy::default(),
            recovery: RecoverySettings::default(),
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
        let b = &self.birthday;
        range("birthday.bonus_points", b.bonus_points, 0, 1_000_000);
        range("birthday.days_before", b.days_before, 0, 30);
        range("birthday.local_hour", b.local_hour, 0, 23);
        range("birthday.min_days_known", b.min_days_known, 0, 366);
        range("birthday.valid_days", b.valid_days, 1, 365);
        range("follow_up.delay_hours", self.follow_up.delay_hours, 0, 720);
        let rc = &self.recovery;
        range("recovery.apology_points", rc.apology_points, 0, 100_000);
        range("recovery.max_apologies", rc.max_apologies, 0, 100);
        range("recovery.window_days", rc.window_days, 1, 3650);
        let cp = &self.contact_policy;
        range(
            "contact_policy.weekly_marketing_cap",
            cp.weekly_marketing_cap,
            0,
            100,
        );
        range(
            "contact_policy.survey_cooldown_days",
            cp.survey_cooldown_days,
            0,
            365,
        );
        if let Some(q) = cp.quiet_hours {
            range("contact_policy.quiet_hours.start_hour", q.start_hour, 0, 23);
            range("contact_policy.quiet_hours.end_hour", q.end_hour, 0, 23);
            if q.start_hour == q.end_hour {
                errors.push(FieldError::new(
                    "contact_policy.quiet_hours",
                    "start_hour and end_hour must differ (use null to turn quiet hours off)",
                ));
            }
        }
        if let Some(id) = &self.follow_up.survey_id
            && (id.is_empty() || id.len() > 100)
        {
            errors.push(FieldError::new(
                "follow_up.survey_id",
                "must be the id of an existing survey",
            ));
        }
        if b.enabled && b.reward_id.is_none() && b.bonus_points == 0 {
            errors.push(FieldError::new(
                "birthday",
                "an enabled birthday offer needs a reward_id, bonus_points, or both",
            ));
        }
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            errors.push(FieldError::new(
                "time_zone",
                "must be an IANA time zone such as Europe/London or Asia/Tehran",
            ));
        }
        if !LOCALES.contains(&self.default_locale.as_str()) {
            errors.push(FieldError::new(
                "default_locale",
                format!("must be one of {}", LOCALES.join(", ")),
            ));
        }
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

//! How many points a purchase earns. Integer arithmetic only, rounding down.
//!
//! Each line earns `floor(quantity × unit_price_minor × earn_rate.points / earn_rate.spend_minor)`;
//! a purchase without lines earns the same formula on `total_minor`. Computing per line means a
//! return takes back exactly what its lines earned. Rule multipliers, tier multipliers and bonuses
//! build on this base.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::program::EarnRate;

/// One part of the explanation of earned points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BreakdownItem {
    /// `base` for the program's earning rate.
    pub rule: String,
    /// Points from this rule.
    pub points: i64,
}

/// A line to earn on.
#[derive(Debug, Clone, Default)]
pub struct LineAmount {
    /// Quantity × unit price, minor units.
    pub amount_minor: i64,
    pub sku: Option<String>,
    pub category: Option<String>,
}

/// A multiplier rule that applies to lines of a sku or a category.
#[derive(Debug, Clone)]
pub struct LineMultiplier {
    /// Rule name for the breakdown.
    pub rule: String,
    /// Multiplier in percent (200 = ×2).
    pub percent: i64,
    pub sku: Option<String>,
    pub category: Option<String>,
}

impl LineMultiplier {
    fn matches(&self, line: &LineAmount) -> bool {
        match (&self.sku, &self.category) {
            (Some(sku), _) => line.sku.as_ref() == Some(sku),
            (None, Some(category)) => line.category.as_ref() == Some(category),
            (None, None) => false,
        }
    }
}

/// Bonus points a rule adds to the purchase.
#[derive(Debug, Clone)]
pub struct Bonus {
    pub rule: String,
    pub points: i64,
}

/// The outcome: points per line (same order), bonuses, and the total, with the breakdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earned {
    pub line_points: Vec<i64>,
    pub bonus_points: i64,
    pub total: i64,
    pub breakdown: Vec<BreakdownItem>,
}

/// Points for an amount at a rate, rounded down; saturates instead of overflowing.
pub fn base_points(amount_minor: i64, rate: EarnRate) -> i64 {
    multiplied_points(amount_minor, rate, 100 * 100)
}

/// Points for an amount at a rate times multipliers whose product is `percent_sq` in
/// hundredths of a percent (10000 = ×1), rounded down once at the end.
pub fn multiplied_points(amount_minor: i64, rate: EarnRate, percent_sq: i64) -> i64 {
    if rate.spend_minor <= 0 || amount_minor <= 0 || percent_sq <= 0 {
        return 0;
    }
    let points = i128::from(amount_minor) * i128::from(rate.points) * i128::from(percent_sq)
        / (i128::from(rate.spend_minor) * 10_000);
    i64::try_from(points).unwrap_or(i64::MAX)
}

/// The customer's tier, as earning sees it.
#[derive(Debug, Clone)]
pub struct TierBonus {
    /// Tier name for the breakdown.
    pub name: String,
    /// Multiplier in percent (150 = ×1.5).
    pub percent: i64,
}

fn add(breakdown: &mut Vec<BreakdownItem>, rule: &str, points: i64) {
    if points <= 0 {
        return;
    }
    match breakdown.iter_mut().find(|b| b.rule == rule) {
        Some(item) => item.points = item.points.saturating_add(points),
        None => breakdown.push(BreakdownItem {
            rule: rule.to_owned(),
            points,
        }),
    }
}

/// Points for a purchase: per line, base rate × tier multiplier × the best matching line
/// multiplier, rounded down once per line (a purchase without lines is one line without sku or
/// category); then the bonuses. The breakdown splits each line's points into the base, the
/// tier's extra and the rule's extra.
pub fn earn(
    total_minor: i64,
    lines: &[LineAmount],
    rate: EarnRate,
    tier: Option<&TierBonus>,
    multipliers: &[LineMultiplier],
    bonuses: &[Bonus],
) -> Earned {
    let tier_percent = tier.map_or(100, |t| t.percent);
    let whole = [LineAmount {
        amount_minor: total_minor,
        ..LineAmount::default()
    }];
    let effective: &[LineAmount] = if lines.is_empty() { &whole } else { lines };
    let mut breakdown = Vec::new();
    let mut line_points = Vec::with_capacity(effective.len());
    for line in effective {
        let base = base_points(line.amount_minor, rate);
        let with_tier = multiplied_points(line.amount_minor, rate, tier_percent * 100);
        let best = multipliers
            .iter()
            .filter(|m| m.matches(line))
            .max_by_key(|m| m.percent);
        let with_rule = best.map_or(with_tier, |m| {
            multiplied_points(line.amount_minor, rate, tier_percent * m.percent)
        });
        add(&mut breakdown, "base", base);
        if let Some(t) = tier {
            add(
                &mut breakdown,
                &format!("tier:{}", t.name),
                with_tier - base,
            );
        }
        if let Some(m) = best {
            add(&mut breakdown, &m.rule, with_rule - with_tier);
        }
        line_points.push(with_rule);
    }
    let mut bonus_points = 0i64;
    for b in bonuses {
        add(&mut breakdown, &b.rule, b.points);
        bonus_points = bonus_points.saturating_add(b.points.max(0));
    }
    let total = line_points
        .iter()
        .fold(bonus_points, |acc, p| acc.saturating_add(*p));
    if lines.is_empty() {
        line_points.clear();
    }
    Earned {
        line_points,
        bonus_points,
        total,
        breakdown,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ONE_PER_UNIT: EarnRate = EarnRate {
        spend_minor: 100,
        points: 1,
    };

    #[test]
    fn one_point_per_whole_unit_rounds_down() {
        assert_eq!(base_points(1999, ONE_PER_UNIT), 19);
        assert_eq!(base_points(99, ONE_PER_UNIT), 0);
        assert_eq!(earn(1999, &[], ONE_PER_UNIT, None, &[], &[]).total, 19);
    }

    #[test]
    fn lines_earn_separately_so_returns_can_reverse_them_exactly() {
        let lines = [
            LineAmount {
                amount_minor: 150,
                ..LineAmount::default()
            },
            LineAmount {
                amount_minor: 150,
                ..LineAmount::default()
            },
        ];
        let earned = earn(300, &lines, ONE_PER_UNIT, None, &[], &[]);
        assert_eq!(earned.line_points, [1, 1]);
        assert_eq!(earned.total, 2);
        assert_eq!(
            earned.breakdown,
            [BreakdownItem {
                rule: "base".into(),
                points: 2
            }]
        );
    }

    #[test]
    fn a_gold_member_earns_one_and_a_half_times_rounded_down_once() {
        let gold = TierBonus {
            name: "Gold".into(),
            percent: 150,
        };
        let earned = earn(1099, &[], ONE_PER_UNIT, Some(&gold), &[], &[]);
        assert_eq!(earned.total, 16);
        assert_eq!(
            earned.breakdown,
            [
                BreakdownItem {
                    rule: "base".into(),
                    points: 10
                },
                BreakdownItem {
                    rule: "tier:Gold".into(),
                    points: 6
                }
            ]
        );
    }

    #[test]
    fn the_api_example_a_gold_coffee_line_of_ten_earns_thirty() {
        let gold = TierBonus {
            name: "Gold".into(),
            percent: 150,
        };
        let coffee = LineMultiplier {
            rule: "rule:Coffee".into(),
            percent: 200,
            sku: None,
            category: Some("coffee".into()),
        };
        let lines = [
            LineAmount {
                amount_minor: 1000,
                sku: Some("latte".into()),
                category: Some("coffee".into()),
            },
            LineAmount {
                amount_minor: 1000,
                sku: Some("bun".into()),
                category: Some("bakery".into()),
            },
        ];
        let bonus = Bonus {
            rule: "rule:Big basket".into(),
            points: 50,
        };
        let earned = earn(2000, &lines, ONE_PER_UNIT, Some(&gold), &[coffee], &[bonus]);
        assert_eq!(earned.line_points, [30, 15]);
        assert_eq!(earned.total, 95);
        let parts: Vec<(&str, i64)> = earned
            .breakdown
            .iter()
            .map(|b| (b.rule.as_str(), b.points))
            .collect();
        assert_eq!(
            parts,
            [
                ("base", 20),
                ("tier:Gold", 10),
                ("rule:Coffee", 15),
                ("rule:Big basket", 50)
            ]
        );
    }

    proptest! {
        #[test]
        fn points_never_exceed_the_exact_rate_and_never_go_negative(
            amount in 0i64..=1_000_000_000_000, spend in 1i64..=1_000_000, points in 0i64..=1_000,
        ) {
            let rate = EarnRate { spend_minor: spend, points };
            let p = base_points(amount, rate);
            prop_assert!(p >= 0);
            prop_assert!(i128::from(p) * i128::from(spend) <= i128::from(amount) * i128::from(points));
            prop_assert!((i128::from(p) + 1) * i128::from(spend) > i128::from(amount) * i128::from(points));
        }
    }
}

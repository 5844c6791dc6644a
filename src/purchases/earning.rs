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
#[derive(Debug, Clone, Copy)]
pub struct LineAmount {
    /// Quantity × unit price, minor units.
    pub amount_minor: i64,
}

/// The outcome: points per line (same order) and in total, with the breakdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earned {
    pub line_points: Vec<i64>,
    pub total: i64,
    pub breakdown: Vec<BreakdownItem>,
}

/// Points for an amount at a rate, rounded down; saturates instead of overflowing.
pub fn base_points(amount_minor: i64, rate: EarnRate) -> i64 {
    if rate.spend_minor <= 0 || amount_minor <= 0 {
        return 0;
    }
    let points = i128::from(amount_minor) * i128::from(rate.points) / i128::from(rate.spend_minor);
    i64::try_from(points).unwrap_or(i64::MAX)
}

/// Points for an amount at a rate times a multiplier in percent, rounded down once at the end.
pub fn multiplied_points(amount_minor: i64, rate: EarnRate, percent: i64) -> i64 {
    if rate.spend_minor <= 0 || amount_minor <= 0 || percent <= 0 {
        return 0;
    }
    let points = i128::from(amount_minor) * i128::from(rate.points) * i128::from(percent)
        / (i128::from(rate.spend_minor) * 100);
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

/// Points for a purchase: base rate × tier multiplier, per line (or on the total without lines).
pub fn earn(
    total_minor: i64,
    lines: &[LineAmount],
    rate: EarnRate,
    tier: Option<&TierBonus>,
) -> Earned {
    let percent = tier.map_or(100, |t| t.percent);
    let amounts: Vec<i64> = if lines.is_empty() {
        vec![total_minor]
    } else {
        lines.iter().map(|l| l.amount_minor).collect()
    };
    let with_tier: Vec<i64> = amounts
        .iter()
        .map(|a| multiplied_points(*a, rate, percent))
        .collect();
    let base: i64 = amounts
        .iter()
        .map(|a| base_points(*a, rate))
        .fold(0, i64::saturating_add);
    let total = with_tier.iter().fold(0i64, |acc, p| acc.saturating_add(*p));
    let mut breakdown = Vec::new();
    if base > 0 {
        breakdown.push(BreakdownItem {
            rule: "base".to_owned(),
            points: base,
        });
    }
    if let Some(t) = tier.filter(|_| total > base) {
        breakdown.push(BreakdownItem {
            rule: format!("tier:{}", t.name),
            points: total - base,
        });
    }
    let line_points = if lines.is_empty() {
        Vec::new()
    } else {
        with_tier
    };
    Earned {
        line_points,
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
        assert_eq!(earn(1999, &[], ONE_PER_UNIT, None).total, 19);
    }

    #[test]
    fn lines_earn_separately_so_returns_can_reverse_them_exactly() {
        let lines = [
            LineAmount { amount_minor: 150 },
            LineAmount { amount_minor: 150 },
        ];
        let earned = earn(300, &lines, ONE_PER_UNIT, None);
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
        let earned = earn(1099, &[], ONE_PER_UNIT, Some(&gold));
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

//! How many points a purchase earns. Integer arithmetic only, rounding down.
//!
//! Each line earns `floor(quantity × unit_price_minor × earn_rate.points / earn_rate.spend_minor)`;
//! a purchase without lines earns the same formula on `total_minor`. Computing per line means a
//! return takes back exactly what its lines earned. Rule multipliers, tier multipliers and bonuses
//! build on this base.
//!
//! Products are computed in i128 and every sum is checked: a result that does not fit in i64 is an
//! [`Overflow`] (422 `points_overflow`), never a saturated or wrapped number. The program settings
//! refuse earning rates that could get there on an allowed purchase ([`MAX_EARNED`]).

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

impl crate::db::json::Document for Vec<BreakdownItem> {
    const WHAT: &'static str = "purchase breakdown";
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

/// The largest tier multiplier, in percent (tiers accept 100–1000).
pub const MAX_TIER_PERCENT: i64 = 1000;
/// The largest rule multiplier, in percent (multiplier rules accept 100–1000).
pub const MAX_RULE_PERCENT: i64 = 1000;
/// The most points the multiplied base of one purchase may reach (10^15), before bonuses. The
/// program's earning rate is refused when the largest allowed purchase at the largest multipliers
/// could earn more, so a balance holds thousands of the largest purchases before it could overflow.
pub const MAX_EARNED: i64 = 1_000_000_000_000_000;

/// The points of a purchase do not fit in a 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the points this purchase would earn do not fit in a 64-bit integer")]
pub struct Overflow;

/// Points for an amount at a rate, rounded down.
pub fn base_points(amount_minor: i64, rate: EarnRate) -> Result<i64, Overflow> {
    multiplied_points(amount_minor, rate, 100 * 100)
}

/// Points for an amount at a rate times multipliers whose product is `percent_sq` in
/// hundredths of a percent (10000 = ×1), rounded down once at the end. The product is exact in
/// i128 (each factor is below 2^63, and `percent_sq` below 2^20 in practice); the quotient must
/// fit in i64.
pub fn multiplied_points(
    amount_minor: i64,
    rate: EarnRate,
    percent_sq: i64,
) -> Result<i64, Overflow> {
    if rate.spend_minor <= 0 || amount_minor <= 0 || percent_sq <= 0 || rate.points <= 0 {
        return Ok(0);
    }
    let points = i128::from(amount_minor)
        .checked_mul(i128::from(rate.points))
        .and_then(|p| p.checked_mul(i128::from(percent_sq)))
        .ok_or(Overflow)?
        / (i128::from(rate.spend_minor) * 10_000);
    i64::try_from(points).map_err(|_| Overflow)
}

/// The most multiplied base points a purchase of `MAX_AMOUNT` could earn at `rate` with the
/// largest tier and rule multipliers (None: not even an i128 holds it).
pub fn worst_case(max_amount_minor: i64, rate: EarnRate) -> Option<i128> {
    if rate.spend_minor <= 0 {
        return None;
    }
    i128::from(max_amount_minor)
        .checked_mul(i128::from(rate.points))?
        .checked_mul(i128::from(MAX_TIER_PERCENT * MAX_RULE_PERCENT))
        .map(|p| p / (i128::from(rate.spend_minor) * 10_000))
}

/// The customer's tier, as earning sees it.
#[derive(Debug, Clone)]
pub struct TierBonus {
    /// Tier name for the breakdown.
    pub name: String,
    /// Multiplier in percent (150 = ×1.5).
    pub percent: i64,
}

fn add(breakdown: &mut Vec<BreakdownItem>, rule: &str, points: i64) -> Result<(), Overflow> {
    if points <= 0 {
        return Ok(());
    }
    match breakdown.iter_mut().find(|b| b.rule == rule) {
        Some(item) => item.points = item.points.checked_add(points).ok_or(Overflow)?,
        None => breakdown.push(BreakdownItem {
            rule: rule.to_owned(),
            points,
        }),
    }
    Ok(())
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
) -> Result<Earned, Overflow> {
    let tier_percent = tier.map_or(100, |t| t.percent);
    let whole = [LineAmount {
        amount_minor: total_minor,
        ..LineAmount::default()
    }];
    let effective: &[LineAmount] = if lines.is_empty() { &whole } else { lines };
    let mut breakdown = Vec::new();
    let mut line_points = Vec::with_capacity(effective.len());
    for line in effective {
        let base = base_points(line.amount_minor, rate)?;
        let with_tier = multiplied_points(line.amount_minor, rate, tier_percent * 100)?;
        let best = multipliers
            .iter()
            .filter(|m| m.matches(line))
            .max_by_key(|m| m.percent);
        let with_rule = match best {
            Some(m) => multiplied_points(
                line.amount_minor,
                rate,
                tier_percent.checked_mul(m.percent).ok_or(Overflow)?,
            )?,
            None => with_tier,
        };
        add(&mut breakdown, "base", base)?;
        if let Some(t) = tier {
            add(
                &mut breakdown,
                &format!("tier:{}", t.name),
                with_tier - base,
            )?;
        }
        if let Some(m) = best {
            add(&mut breakdown, &m.rule, with_rule - with_tier)?;
        }
        line_points.push(with_rule);
    }
    let mut bonus_points = 0i64;
    for b in bonuses {
        add(&mut breakdown, &b.rule, b.points)?;
        bonus_points = bonus_points.checked_add(b.points.max(0)).ok_or(Overflow)?;
    }
    let total = line_points
        .iter()
        .try_fold(bonus_points, |acc, p| acc.checked_add(*p))
        .ok_or(Overflow)?;
    if lines.is_empty() {
        line_points.clear();
    }
    Ok(Earned {
        line_points,
        bonus_points,
        total,
        breakdown,
    })
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
        assert_eq!(base_points(1999, ONE_PER_UNIT), Ok(19));
        assert_eq!(base_points(99, ONE_PER_UNIT), Ok(0));
        assert_eq!(
            earn(1999, &[], ONE_PER_UNIT, None, &[], &[]).unwrap().total,
            19
        );
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
        let earned = earn(300, &lines, ONE_PER_UNIT, None, &[], &[]).unwrap();
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
        let earned = earn(1099, &[], ONE_PER_UNIT, Some(&gold), &[], &[]).unwrap();
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
        let earned = earn(2000, &lines, ONE_PER_UNIT, Some(&gold), &[coffee], &[bonus]).unwrap();
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

    #[test]
    fn points_that_do_not_fit_in_i64_are_an_overflow_never_a_saturated_number() {
        let huge = EarnRate {
            spend_minor: 1,
            points: 1_000_000,
        };
        let top = TierBonus {
            name: "Top".into(),
            percent: 1000,
        };
        assert_eq!(
            base_points(1_000_000_000_000, huge),
            Ok(1_000_000_000_000_000_000)
        );
        assert_eq!(base_points(10_000_000_000_000, huge), Err(Overflow));
        assert_eq!(
            earn(1_000_000_000_000, &[], huge, Some(&top), &[], &[]),
            Err(Overflow)
        );
        let bonus = |points| Bonus {
            rule: "rule:b".into(),
            points,
        };
        assert_eq!(
            earn(
                100,
                &[],
                ONE_PER_UNIT,
                None,
                &[],
                &[bonus(i64::MAX), bonus(1)]
            ),
            Err(Overflow)
        );
    }

    #[test]
    fn the_worst_case_counts_the_largest_multipliers() {
        assert_eq!(
            worst_case(10_000_000_000_000, ONE_PER_UNIT),
            Some(10_000_000_000_000)
        );
        let one_per_minor = EarnRate {
            spend_minor: 1,
            points: 1,
        };
        assert_eq!(
            worst_case(10_000_000_000_000, one_per_minor),
            Some(i128::from(MAX_EARNED))
        );
    }

    proptest! {
        #[test]
        fn points_never_exceed_the_exact_rate_and_never_go_negative(
            amount in 0i64..=1_000_000_000_000, spend in 1i64..=1_000_000, points in 0i64..=1_000,
        ) {
            let rate = EarnRate { spend_minor: spend, points };
            let p = base_points(amount, rate).unwrap();
            prop_assert!(p >= 0);
            prop_assert!(i128::from(p) * i128::from(spend) <= i128::from(amount) * i128::from(points));
            prop_assert!((i128::from(p) + 1) * i128::from(spend) > i128::from(amount) * i128::from(points));
        }
    }
}

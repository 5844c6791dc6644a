//! The loyalty report: members, active members, points moved in a range (from the ledger),
//! points outstanding now and what they are worth, and how members spread over the tiers.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::params::Range;
use super::{Fixed, repo};
use crate::db::DbConnection;
use crate::error::ApiError;

/// Members of one tier.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReportTierMembers)]
pub struct TierMembers {
    /// `null`: members without a tier.
    pub tier_id: Option<String>,
    /// The tier's name in the program's default locale; `null` for members without a tier.
    pub name: Option<String>,
    pub members: i64,
}

/// The loyalty report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoyaltyReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Customers neither erased nor merged into another, now.
    pub members: i64,
    /// Members with at least one purchase with `occurred_at` in the range.
    pub active_members: i64,
    /// Points credited in the range (ledger entries with `created_at` in the range): `earn` and
    /// `bonus` entries, and `adjust` entries that add points. An entry counts for what it added
    /// to available and pending points, debt it paid off included; pending points count when
    /// earned, not again when released.
    pub points_issued: i64,
    /// Points spent on rewards in the range (`redeem` entries), less points given back when a
    /// code was cancelled (`refund` entries).
    pub points_redeemed: i64,
    /// Points that expired in the range (`expire` entries).
    pub points_expired: i64,
    /// Points taken back by returns in the range (`reverse` entries).
    pub points_reversed: i64,
    /// Points taken away by `adjust` entries in the range.
    pub points_deducted: i64,
    /// Available plus pending points of every balance now.
    pub outstanding_points: i64,
    /// `outstanding_points × point_value_minor` (program settings), in minor units of `currency`.
    pub outstanding_liability_minor: i64,
    pub currency: String,
    /// `100 × points_redeemed / points_issued`, one decimal (rounded half away from zero);
    /// `null` when nothing was issued.
    #[schema(value_type = Option<f64>)]
    pub redemption_rate: Option<Fixed>,
    /// Members per tier (every tier, lowest threshold first), then members without a tier
    /// (`tier_id: null`).
    pub tier_distribution: Vec<TierMembers>,
}

/// The loyalty report of a range.
pub fn report(conn: &mut DbConnection, range: Range) -> Result<LoyaltyReport, ApiError> {
    let program = crate::program::repo::load(conn)?;
    let members = repo::members(conn)?;
    let active_members = repo::active_members(conn, range)?;
    let (mut issued, mut redeemed, mut expired, mut reversed, mut deducted) = (0i64, 0, 0, 0, 0);
    for s in repo::ledger_sums(conn, range)? {
        match s.kind.as_str() {
            "earn" | "bonus" => issued += s.credits - s.debits,
            "adjust" => {
                issued += s.credits;
                deducted += s.debits;
            }
            "redeem" | "refund" => redeemed += s.debits - s.credits,
            "expire" => expired += s.debits - s.credits,
            "reverse" => reversed += s.debits - s.credits,
            _ => {}
        }
    }
    let outstanding_points = repo::outstanding_points(conn)?;
    let outstanding_liability_minor = outstanding_points
        .checked_mul(program.point_value_minor)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("outstanding liability overflows")))?;
    let mut tier_distribution: Vec<TierMembers> = repo::tier_counts(conn)?
        .into_iter()
        .map(|t| TierMembers {
            tier_id: Some(t.tier_id),
            // Stored per locale; the report (and its CSV) names it in the program's language.
            name: Some(
                crate::rewards::LocalizedText::from_stored(&t.name)
                    .resolve(Some(&program.default_locale)),
            ),
            members: t.members,
        })
        .collect();
    let tiered: i64 = tier_distribution.iter().map(|t| t.members).sum();
    tier_distribution.push(TierMembers {
        tier_id: None,
        name: None,
        members: members - tiered,
    });
    Ok(LoyaltyReport {
        from: range.from.and_utc(),
        to: range.to.and_utc(),
        members,
        active_members,
        points_issued: issued,
        points_redeemed: redeemed,
        points_expired: expired,
        points_reversed: reversed,
        points_deducted: deducted,
        outstanding_points,
        outstanding_liability_minor,
        currency: program.currency,
        redemption_rate: Fixed::percent(redeemed, issued),
        tier_distribution,
    })
}

//! CX and loyalty reports (`/v1/reports/...`): NPS, CSAT, CES, comments, loyalty, retention and
//! recovery, computed with SQL aggregates over indexed columns; JSON or CSV (`Accept: text/csv`).
//!
//! Every figure is computed from integer counts and sums that the database returns; ratios are
//! rounded half away from zero with integer arithmetic ([`Fixed`]), and the counts they come
//! from are always in the response, so a client can recompute them exactly.
//!
//! - `params`: the common query (`from`, `to`, `group_by`) and its checks.
//! - `repo`: the SQL (backend-specific date bucketing lives there, as a `match` on the connection).
//! - `cx`: NPS, CSAT and CES; `comments`: open comments; `loyalty`, `retention`, `recovery`.
//! - `csv`: the `text/csv` rendering; `routes`: the handlers.

pub mod comments;
pub mod csv;
pub mod cx;
pub mod loyalty;
pub mod params;
pub mod recovery;
pub mod repo;
pub mod retention;
pub mod routes;

use serde::{Serialize, Serializer};
use utoipa::ToSchema;

/// A decimal computed from integers: `units / 10^places`, serialized as a JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed {
    units: i64,
    places: u32,
}

/// `num / den` rounded half away from zero (`den > 0`).
pub(crate) fn round_div(num: i128, den: i128) -> i128 {
    let q = num / den;
    let r = num % den;
    if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    }
}

impl Fixed {
    /// `num / den` with `places` decimals, rounded half away from zero; `None` when `den <= 0`.
    pub fn ratio(num: i128, den: i128, places: u32) -> Option<Fixed> {
        if den <= 0 {
            return None;
        }
        let scaled = num.checked_mul(10i128.pow(places))?;
        let units = i64::try_from(round_div(scaled, den)).ok()?;
        Some(Fixed { units, places })
    }

    /// `100 × part / whole` as a percentage with one decimal; `None` when `whole` is 0.
    pub fn percent(part: i64, whole: i64) -> Option<Fixed> {
        Fixed::ratio(i128::from(part) * 100, i128::from(whole), 1)
    }

    /// The exact decimal text (`-33.3`, `4.25`), as written into CSV.
    pub fn text(self) -> String {
        if self.places == 0 {
            return self.units.to_string();
        }
        let scale = 10u64.pow(self.places);
        let abs = self.units.unsigned_abs();
        let sign = if self.units < 0 { "-" } else { "" };
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = self.places as usize
        )
    }
}

impl Serialize for Fixed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // One correctly rounded division: the shortest representation of the result is the
        // decimal itself (333 / 10 prints as 33.3).
        s.serialize_f64(self.units as f64 / 10f64.powi(self.places as i32))
    }
}

/// How many of those asked answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReportResponseRate)]
pub struct ResponseRate {
    /// Invitations of this kind (and scale) with `sent_at` in the range (and the group).
    pub invited: i64,
    /// Of those, the invitations answered (status `answered`).
    pub answered: i64,
    /// `100 × answered / invited`, one decimal; `null` when `invited` is 0.
    #[schema(value_type = Option<f64>)]
    pub rate: Option<Fixed>,
}

impl ResponseRate {
    /// The rate of these counts.
    pub fn new(invited: i64, answered: i64) -> Self {
        Self {
            invited,
            answered,
            rate: Fixed::percent(answered, invited),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_round_half_away_from_zero() {
        assert_eq!(Fixed::percent(1, 3).map(Fixed::text), Some("33.3".into()));
        assert_eq!(Fixed::percent(2, 3).map(Fixed::text), Some("66.7".into()));
        assert_eq!(Fixed::percent(-2, 3).map(Fixed::text), Some("-66.7".into()));
        assert_eq!(Fixed::percent(1, 8).map(Fixed::text), Some("12.5".into()));
        assert_eq!(Fixed::percent(-1, 16).map(Fixed::text), Some("-6.3".into()));
        assert_eq!(Fixed::ratio(7, 2, 2).map(Fixed::text), Some("3.50".into()));
        assert_eq!(
            Fixed::ratio(1, 200, 2).map(Fixed::text),
            Some("0.01".into())
        );
        assert_eq!(
            Fixed::ratio(-1, 200, 2).map(Fixed::text),
            Some("-0.01".into())
        );
        assert_eq!(Fixed::percent(1, 0), None);
        let json = serde_json::to_string(&Fixed::percent(1, 3)).unwrap_or_default();
        assert_eq!(json, "33.3");
        let json = serde_json::to_string(&Fixed::percent(-1, 1)).unwrap_or_default();
        assert_eq!(json, "-100.0");
    }
}

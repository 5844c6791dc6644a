//! NPS, CSAT and CES reports: counts per score from one aggregate over the responses, response
//! rates from one aggregate over the invitations, and the figures computed from those integers.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::QueryResult;
use serde::Serialize;
use utoipa::ToSchema;

use super::params::{GroupBy, Range};
use super::{Fixed, ResponseRate, repo};
use crate::db::DbConnection;

/// The CES scales, each always reported on its own.
pub const CES_SCALES: [i32; 2] = [5, 7];

/// The counts of one group on one scale.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Answered responses per score.
    pub counts: BTreeMap<i32, i64>,
    pub skipped: i64,
    pub invited: i64,
    pub answered: i64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        for (score, n) in &other.counts {
            *self.counts.entry(*score).or_default() += n;
        }
        self.skipped += other.skipped;
        self.invited += other.invited;
        self.answered += other.answered;
    }

    fn responses(&self) -> i64 {
        self.counts.values().sum()
    }

    fn between(&self, low: i32, high: i32) -> i64 {
        self.counts.range(low..=high).map(|(_, n)| n).sum()
    }

    fn distribution(&self, low: i32, high: i32) -> Vec<ScoreCount> {
        (low..=high)
            .map(|score| ScoreCount {
                score,
                count: self.counts.get(&score).copied().unwrap_or(0),
            })
            .collect()
    }

    fn rate(&self) -> ResponseRate {
        ResponseRate::new(self.invited, self.answered)
    }
}

/// The tallies of one scale: the whole range and each group (by key, the null key first).
#[derive(Debug, Clone, Default)]
pub struct Tallies {
    pub total: Tally,
    pub groups: BTreeMap<Option<String>, Tally>,
}

/// Counts responses and invitations of `kind` per scale, then per group.
fn tally(
    conn: &mut DbConnection,
    kind: &str,
    scale: Option<i32>,
    range: Range,
    by: Option<GroupBy>,
) -> QueryResult<BTreeMap<i32, Tallies>> {
    let mut out: BTreeMap<i32, Tallies> = BTreeMap::new();
    for row in repo::score_counts(conn, kind, scale, range, by)? {
        let t = out
            .entry(row.scale)
            .or_default()
            .groups
            .entry(row.grp)
            .or_default();
        match row.score {
            Some(score) => *t.counts.entry(score).or_default() += row.n,
            None => t.skipped += row.n,
        }
    }
    for row in repo::invitation_counts(conn, kind, scale, range, by)? {
        let t = out
            .entry(row.scale)
            .or_default()
            .groups
            .entry(row.grp)
            .or_default();
        t.invited += row.invited;
        t.answered += row.answered;
    }
    for tallies in out.values_mut() {
        let mut total = Tally::default();
        for t in tallies.groups.values() {
            total.add(t);
        }
        tallies.total = total;
        if by.is_none() {
            tallies.groups.clear();
        }
    }
    Ok(out)
}

/// How many answered responses gave one score.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReportScoreCount)]
pub struct ScoreCount {
    pub score: i32,
    pub count: i64,
}

/// NPS figures of the range or of one group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NpsFigures {
    /// Answered responses (score given).
    pub responses: i64,
    /// Responses that skipped the question (no score); not in any other figure.
    pub skipped: i64,
    /// Answered responses per score, 0 to 10, zeros included.
    pub distribution: Vec<ScoreCount>,
    /// Scores 9 and 10.
    pub promoters: i64,
    /// Scores 7 and 8.
    pub passives: i64,
    /// Scores 0 to 6.
    pub detractors: i64,
    /// `100 × (promoters − detractors) / responses`, −100 to 100, one decimal (rounded half
    /// away from zero); `null` when `responses` is 0.
    #[schema(value_type = Option<f64>)]
    pub score: Option<Fixed>,
    pub response_rate: ResponseRate,
}

fn nps_figures(t: &Tally) -> NpsFigures {
    let responses = t.responses();
    let promoters = t.between(9, 10);
    let detractors = t.between(0, 6);
    NpsFigures {
        responses,
        skipped: t.skipped,
        distribution: t.distribution(0, 10),
        promoters,
        passives: t.between(7, 8),
        detractors,
        score: Fixed::percent(promoters - detractors, responses),
        response_rate: t.rate(),
    }
}

/// NPS figures of one group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NpsGroup {
    /// The channel, store id, agent id or touchpoint (`null`: none recorded), or the first day
    /// of the week or month (`YYYY-MM-DD`).
    pub key: Option<String>,
    #[serde(flatten)]
    pub figures: NpsFigures,
}

/// The NPS report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NpsReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: Option<GroupBy>,
    /// The whole range.
    pub total: NpsFigures,
    /// One entry per group (empty without `group_by`), in ascending key order, `null` first.
    pub groups: Vec<NpsGroup>,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// The NPS report of a range.
pub fn nps(conn: &mut DbConnection, range: Range, by: Option<GroupBy>) -> QueryResult<NpsReport> {
    let t = tally(conn, "nps", None, range, by)?
        .remove(&10)
        .unwrap_or_default();
    Ok(NpsReport {
        from: utc(range.from),
        to: utc(range.to),
        group_by: by,
        total: nps_figures(&t.total),
        groups: t
            .groups
            .iter()
            .map(|(key, g)| NpsGroup {
                key: key.clone(),
                figures: nps_figures(g),
            })
            .collect(),
    })
}

/// CSAT figures of the range or of one group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsatFigures {
    /// Answered responses (score given).
    pub responses: i64,
    /// Responses that skipped the question; not in any other figure.
    pub skipped: i64,
    /// Answered responses per score, 1 to 5, zeros included.
    pub distribution: Vec<ScoreCount>,
    /// Scores 4 and 5.
    pub satisfied: i64,
    /// `100 × satisfied / responses`, one decimal; `null` when `responses` is 0.
    #[schema(value_type = Option<f64>)]
    pub score: Option<Fixed>,
    pub response_rate: ResponseRate,
}

fn csat_figures(t: &Tally) -> CsatFigures {
    let responses = t.responses();
    let satisfied = t.between(4, 5);
    CsatFigures {
        responses,
        skipped: t.skipped,
        distribution: t.distribution(1, 5),
        satisfied,
        score: Fixed::percent(satisfied, responses),
        response_rate: t.rate(),
    }
}

/// CSAT figures of one group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsatGroup {
    /// As in the NPS report.
    pub key: Option<String>,
    #[serde(flatten)]
    pub figures: CsatFigures,
}

/// The CSAT report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CsatReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: Option<GroupBy>,
    pub total: CsatFigures,
    /// One entry per group (empty without `group_by`), in ascending key order, `null` first.
    pub groups: Vec<CsatGroup>,
}

/// The CSAT report of a range.
pub fn csat(conn: &mut DbConnection, range: Range, by: Option<GroupBy>) -> QueryResult<CsatReport> {
    let t = tally(conn, "csat", None, range, by)?
        .remove(&5)
        .unwrap_or_default();
    Ok(CsatReport {
        from: utc(range.from),
        to: utc(range.to),
        group_by: by,
        total: csat_figures(&t.total),
        groups: t
            .groups
            .iter()
            .map(|(key, g)| CsatGroup {
                key: key.clone(),
                figures: csat_figures(g),
            })
            .collect(),
    })
}

/// CES figures of the range or of one group, on one scale.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CesFigures {
    /// Answered responses (score given).
    pub responses: i64,
    /// Responses that skipped the question; not in any other figure.
    pub skipped: i64,
    /// Answered responses per score, 1 to the scale's top, zeros included.
    pub distribution: Vec<ScoreCount>,
    /// The sum of the scores (for recomputing the average exactly).
    pub sum: i64,
    /// `sum / responses`, two decimals (rounded half away from zero); `null` when `responses`
    /// is 0. Higher is easier.
    #[schema(value_type = Option<f64>)]
    pub average: Option<Fixed>,
    /// The top two points of the scale (easy).
    pub low_effort: i64,
    /// The bottom two points, 1 and 2 (difficult; these open recovery cases).
    pub high_effort: i64,
    pub response_rate: ResponseRate,
}

fn ces_figures(t: &Tally, scale: i32) -> CesFigures {
    let responses = t.responses();
    let sum: i64 = t.counts.iter().map(|(s, n)| i64::from(*s) * n).sum();
    CesFigures {
        responses,
        skipped: t.skipped,
        distribution: t.distribution(1, scale),
        sum,
        average: Fixed::ratio(i128::from(sum), i128::from(responses), 2),
        low_effort: t.between(scale - 1, scale),
        high_effort: t.between(1, 2),
        response_rate: t.rate(),
    }
}

/// CES figures of one group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CesGroup {
    /// As in the NPS report.
    pub key: Option<String>,
    #[serde(flatten)]
    pub figures: CesFigures,
}

/// The CES figures of one scale: scores of different scales are never mixed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CesScale {
    /// The top of the scale: 5 or 7.
    pub scale: i32,
    pub total: CesFigures,
    /// One entry per group (empty without `group_by`), in ascending key order, `null` first.
    pub groups: Vec<CesGroup>,
}

/// The CES report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CesReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: Option<GroupBy>,
    /// Both scales (5, then 7), even without responses, or only the one asked for with
    /// `?scale=`.
    pub scales: Vec<CesScale>,
}

/// The CES report of a range, on both scales or on one.
pub fn ces(
    conn: &mut DbConnection,
    range: Range,
    by: Option<GroupBy>,
    scale: Option<i32>,
) -> QueryResult<CesReport> {
    let mut all = tally(conn, "ces", scale, range, by)?;
    let scales = CES_SCALES
        .into_iter()
        .filter(|s| scale.is_none_or(|only| only == *s))
        .map(|s| {
            let t = all.remove(&s).unwrap_or_default();
            CesScale {
                scale: s,
                total: ces_figures(&t.total, s),
                groups: t
                    .groups
                    .iter()
                    .map(|(key, g)| CesGroup {
                        key: key.clone(),
                        figures: ces_figures(g, s),
                    })
                    .collect(),
            }
        })
        .collect();
    Ok(CesReport {
        from: utc(range.from),
        to: utc(range.to),
        group_by: by,
        scales,
    })
}

//! The reports as CSV (RFC 4180): a header row, then one row per group (or per comment, tier,
//! segment). Text cells are quoted when they hold a quote, comma or line break, and a text cell
//! starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` so that a
//! spreadsheet never runs it as a formula. Numbers are written as they are.

use super::Fixed;
use super::comments::CommentView;
use super::cx::{CesFigures, CesReport, CsatFigures, CsatReport, NpsFigures, NpsReport};
use super::loyalty::LoyaltyReport;
use super::recovery::RecoveryReport;
use super::retention::RetentionReport;

/// The media type of the CSV responses.
pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// One cell.
#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    Int(i64),
    Dec(Option<Fixed>),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Self {
        s.map_or(Cell::Empty, Cell::Text)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Int(n)
    }
}

impl From<i32> for Cell {
    fn from(n: i32) -> Self {
        Cell::Int(i64::from(n))
    }
}

impl From<Option<i64>> for Cell {
    fn from(n: Option<i64>) -> Self {
        n.map_or(Cell::Empty, Cell::Int)
    }
}

impl From<Option<Fixed>> for Cell {
    fn from(f: Option<Fixed>) -> Self {
        Cell::Dec(f)
    }
}

/// Escapes one text cell.
pub fn text_cell(raw: &str) -> String {
    let guarded = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    if guarded.contains(['"', ',', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// A CSV document being written.
#[derive(Debug, Default)]
pub struct Csv {
    out: String,
}

impl Csv {
    /// A document with this header row.
    pub fn new(header: &[&str]) -> Self {
        let mut csv = Csv::default();
        csv.row(header.iter().map(|h| Cell::from(*h)).collect());
        csv
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<Cell>) {
        let line: Vec<String> = cells
            .into_iter()
            .map(|c| match c {
                Cell::Text(s) => text_cell(&s),
                Cell::Int(n) => n.to_string(),
                Cell::Dec(Some(f)) => f.text(),
                Cell::Dec(None) | Cell::Empty => String::new(),
            })
            .collect();
        self.out.push_str(&line.join(","));
        self.out.push_str("\r\n");
    }

    /// The document.
    pub fn finish(self) -> String {
        self.out
    }
}

/// `scope` is `total` for the whole range and `group` for a group (whose key may be empty:
/// the null group).
fn scope(key: Option<&Option<String>>) -> Vec<Cell> {
    match key {
        None => vec!["total".into(), Cell::Empty],
        Some(k) => vec!["group".into(), k.clone().into()],
    }
}

fn dist_header(prefix: &mut Vec<String>, low: i32, high: i32) {
    prefix.extend((low..=high).map(|s| format!("score_{s}")));
}

fn header(fixed: &[&str], low: i32, high: i32) -> Vec<String> {
    let mut h: Vec<String> = fixed.iter().map(|s| (*s).to_owned()).collect();
    dist_header(&mut h, low, high);
    h
}

fn with_header(h: Vec<String>) -> Csv {
    Csv::new(&h.iter().map(String::as_str).collect::<Vec<_>>())
}

const RATE: [&str; 3] = ["invited", "answered", "response_rate"];

/// The NPS report: one row for the whole range, then one per group.
pub fn nps(r: &NpsReport) -> String {
    let mut fixed = vec![
        "scope",
        "group",
        "responses",
        "skipped",
        "promoters",
        "passives",
        "detractors",
        "score",
    ];
    fixed.extend(RATE);
    let mut csv = with_header(header(&fixed, 0, 10));
    let row = |key: Option<&Option<String>>, f: &NpsFigures| {
        let mut cells = scope(key);
        cells.extend([
            f.responses.into(),
            f.skipped.into(),
            f.promoters.into(),
            f.passives.into(),
            f.detractors.into(),
            f.score.into(),
            f.response_rate.invited.into(),
            f.response_rate.answered.into(),
            f.response_rate.rate.into(),
        ]);
        cells.extend(f.distribution.iter().map(|d| Cell::Int(d.count)));
        cells
    };
    csv.row(row(None, &r.total));
    for g in &r.groups {
        csv.row(row(Some(&g.key), &g.figures));
    }
    csv.finish()
}

/// The CSAT report: one row for the whole range, then one per group.
pub fn csat(r: &CsatReport) -> String {
    let mut fixed = vec![
        "scope",
        "group",
        "responses",
        "skipped",
        "satisfied",
        "score",
    ];
    fixed.extend(RATE);
    let mut csv = with_header(header(&fixed, 1, 5));
    let row = |key: Option<&Option<String>>, f: &CsatFigures| {
        let mut cells = scope(key);
        cells.extend([
            f.responses.into(),
            f.skipped.into(),
            f.satisfied.into(),
            f.score.into(),
            f.response_rate.invited.into(),
            f.response_rate.answered.into(),
            f.response_rate.rate.into(),
        ]);
        cells.extend(f.distribution.iter().map(|d| Cell::Int(d.count)));
        cells
    };
    csv.row(row(None, &r.total));
    for g in &r.groups {
        csv.row(row(Some(&g.key), &g.figures));
    }
    csv.finish()
}

/// The CES report: per scale, one row for the whole range, then one per group; `score_6` and
/// `score_7` are empty on the 5-point scale.
pub fn ces(r: &CesReport) -> String {
    let mut fixed = vec![
        "scale",
        "scope",
        "group",
        "responses",
        "skipped",
        "sum",
        "average",
        "low_effort",
        "high_effort",
    ];
    fixed.extend(RATE);
    let mut csv = with_header(header(&fixed, 1, 7));
    for s in &r.scales {
        let row = |key: Option<&Option<String>>, f: &CesFigures| {
            let mut cells = vec![Cell::from(s.scale)];
            cells.extend(scope(key));
            cells.extend([
                f.responses.into(),
                f.skipped.into(),
                f.sum.into(),
                f.average.into(),
                f.low_effort.into(),
                f.high_effort.into(),
                f.response_rate.invited.into(),
                f.response_rate.answered.into(),
                f.response_rate.rate.into(),
            ]);
            cells.extend(f.distribution.iter().map(|d| Cell::Int(d.count)));
            cells.resize(fixed.len() + 7, Cell::Empty);
            cells
        };
        csv.row(row(None, &s.total));
        for g in &s.groups {
            csv.row(row(Some(&g.key), &g.figures));
        }
    }
    csv.finish()
}

/// One row per comment.
pub fn comments(data: &[CommentView]) -> String {
    let mut csv = Csv::new(&[
        "id",
        "kind",
        "scale",
        "score",
        "comment",
        "channel",
        "touchpoint",
        "store_id",
        "agent_id",
        "customer_id",
        "occurred_at",
    ]);
    for c in data {
        csv.row(vec![
            c.id.clone().into(),
            c.kind.as_str().into(),
            c.scale.into(),
            c.score.map(i64::from).into(),
            c.comment.clone().into(),
            c.channel.clone().into(),
            c.touchpoint.clone().into(),
            c.store_id.clone().into(),
            c.agent_id.clone().into(),
            c.customer_id.clone().into(),
            c.occurred_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                .into(),
        ]);
    }
    csv.finish()
}

fn time(t: chrono::DateTime<chrono::Utc>) -> Cell {
    Cell::Text(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// One row per tier (then members without a tier), the report's figures repeated on each.
pub fn loyalty(r: &LoyaltyReport) -> String {
    let mut csv = Csv::new(&[
        "from",
        "to",
        "members",
        "active_members",
        "points_issued",
        "points_redeemed",
        "points_expired",
        "points_reversed",
        "points_deducted",
        "outstanding_points",
        "outstanding_liability_minor",
        "currency",
        "redemption_rate",
        "tier_id",
        "tier_name",
        "tier_members",
    ]);
    for t in &r.tier_distribution {
        csv.row(vec![
            time(r.from),
            time(r.to),
            r.members.into(),
            r.active_members.into(),
            r.points_issued.into(),
            r.points_redeemed.into(),
            r.points_expired.into(),
            r.points_reversed.into(),
            r.points_deducted.into(),
            r.outstanding_points.into(),
            r.outstanding_liability_minor.into(),
            r.currency.clone().into(),
            r.redemption_rate.into(),
            t.tier_id.clone().into(),
            t.name.clone().into(),
            t.members.into(),
        ]);
    }
    csv.finish()
}

/// One row per segment, the report's figures repeated on each.
pub fn retention(r: &RetentionReport) -> String {
    let mut csv = Csv::new(&[
        "as_of",
        "period_days",
        "buyers",
        "previous_buyers",
        "churned",
        "churn_rate",
        "repeat_buyers",
        "repeat_purchase_rate",
        "segment",
        "segment_members",
    ]);
    for s in &r.segments {
        csv.row(vec![
            time(r.as_of),
            r.period_days.into(),
            r.current.buyers.into(),
            r.previous.buyers.into(),
            r.churned.into(),
            r.churn_rate.into(),
            r.repeat_buyers.into(),
            r.repeat_purchase_rate.into(),
            s.segment.as_str().into(),
            s.members.into(),
        ]);
    }
    csv.finish()
}

/// One row.
pub fn recovery(r: &RecoveryReport) -> String {
    let mut csv = Csv::new(&[
        "from",
        "to",
        "opened",
        "resolved",
        "open",
        "average_resolution_seconds",
        "median_resolution_seconds",
        "repurchased",
        "recovery_rate",
        "repurchase_rate",
    ]);
    csv.row(vec![
        time(r.from),
        time(r.to),
        r.opened.into(),
        r.resolved.into(),
        r.open.into(),
        r.average_resolution_seconds.into(),
        r.median_resolution_seconds.into(),
        r.repurchased.into(),
        r.recovery_rate.into(),
        r.repurchase_rate.into(),
    ]);
    csv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cells_are_quoted_and_guarded_against_formulas() {
        assert_eq!(text_cell("plain"), "plain");
        assert_eq!(text_cell("a, b"), "\"a, b\"");
        assert_eq!(text_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(text_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(text_cell("+1"), "'+1");
        assert_eq!(text_cell("-1"), "'-1");
        assert_eq!(text_cell("@cmd"), "'@cmd");
        assert_eq!(text_cell("=1,2"), "\"'=1,2\"");
    }

    #[test]
    fn numbers_are_written_as_they_are() {
        let mut csv = Csv::new(&["a", "b", "c"]);
        csv.row(vec![
            Cell::Int(-3),
            Cell::Dec(Fixed::percent(-1, 3)),
            Cell::Dec(None),
        ]);
        assert_eq!(csv.finish(), "a,b,c\r\n-3,-33.3,\r\n");
    }
}

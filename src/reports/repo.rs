//! The reports' SQL: aggregates only (COUNT, SUM, GROUP BY), never rows. Date bucketing differs
//! between the backends (`date_trunc` on PostgreSQL, `date()` modifiers on SQLite), so the
//! statements are written here with `?` placeholders and run with bound parameters on whichever
//! connection this is.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use super::params::{GroupBy, Range};
use crate::db::DbConnection;
use crate::db::raw::{Bind, load};

/// The group key of a row, as SQL over the table's columns; `time` is the column bucketed by
/// week or month.
fn key_expr(conn: &DbConnection, by: Option<GroupBy>, time: &str) -> String {
    let pg = matches!(conn, DbConnection::Postgres(_));
    match by {
        None => "CAST(NULL AS TEXT)".to_owned(),
        Some(GroupBy::Channel) => "channel".to_owned(),
        Some(GroupBy::Store) => "store_id".to_owned(),
        Some(GroupBy::Agent) => "agent_id".to_owned(),
        Some(GroupBy::Touchpoint) => "touchpoint".to_owned(),
        // ISO weeks start on Monday: date_trunc('week') does that; on SQLite, 'weekday 0'
        // moves to the coming Sunday (or stays on one) and six days back is its Monday.
        Some(GroupBy::Week) if pg => format!("to_char(date_trunc('week', {time}), 'YYYY-MM-DD')"),
        Some(GroupBy::Week) => format!("date({time}, 'weekday 0', '-6 days')"),
        Some(GroupBy::Month) if pg => {
            format!("to_char(date_trunc('month', {time}), 'YYYY-MM-DD')")
        }
        Some(GroupBy::Month) => format!("date({time}, 'start of month')"),
    }
}

/// How many responses of one group, scale and score (`None`: skipped).
#[derive(Debug, Clone, QueryableByName)]
pub struct ScoreCount {
    #[diesel(sql_type = Nullable<Text>)]
    pub grp: Option<String>,
    #[diesel(sql_type = Integer)]
    pub scale: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    pub score: Option<i32>,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Responses of `kind` (and `scale`) in the range, counted per group, scale and score
/// (through `feedback_responses_kind_idx`).
pub fn score_counts(
    conn: &mut DbConnection,
    kind: &str,
    scale: Option<i32>,
    range: Range,
    by: Option<GroupBy>,
) -> QueryResult<Vec<ScoreCount>> {
    let key = key_expr(conn, by, "occurred_at");
    let mut binds = vec![
        Bind::Text(kind.to_owned()),
        Bind::Time(range.from),
        Bind::Time(range.to),
    ];
    let scale_filter = match scale {
        Some(s) => {
            binds.push(Bind::Int(i64::from(s)));
            " AND scale = ?"
        }
        None => "",
    };
    let sql = format!(
        "SELECT {key} AS grp, scale, score, COUNT(*) AS n FROM feedback_responses \
         WHERE kind = ? AND occurred_at >= ? AND occurred_at < ?{scale_filter} \
         GROUP BY 1, 2, 3"
    );
    load(conn, &sql, &binds)
}

/// Invitations sent in the range, and how many of them were answered, per group and scale.
#[derive(Debug, Clone, QueryableByName)]
pub struct InvitationCount {
    #[diesel(sql_type = Nullable<Text>)]
    pub grp: Option<String>,
    #[diesel(sql_type = Integer)]
    pub scale: i32,
    #[diesel(sql_type = BigInt)]
    pub invited: i64,
    #[diesel(sql_type = BigInt)]
    pub answered: i64,
}

/// Invitations of `kind` (and `scale`) with `sent_at` in the range (through
/// `survey_invitations_sent_idx`), grouped like the responses but bucketed on `sent_at`.
pub fn invitation_counts(
    conn: &mut DbConnection,
    kind: &str,
    scale: Option<i32>,
    range: Range,
    by: Option<GroupBy>,
) -> QueryResult<Vec<InvitationCount>> {
    let key = key_expr(conn, by, "sent_at");
    let mut binds = vec![
        Bind::Text(kind.to_owned()),
        Bind::Time(range.from),
        Bind::Time(range.to),
    ];
    let scale_filter = match scale {
        Some(s) => {
            binds.push(Bind::Int(i64::from(s)));
            " AND scale = ?"
        }
        None => "",
    };
    let sql = format!(
        "SELECT {key} AS grp, scale, COUNT(*) AS invited, \
         CAST(COALESCE(SUM(CASE WHEN status = 'answered' THEN 1 ELSE 0 END), 0) AS BIGINT) AS answered \
         FROM survey_invitations \
         WHERE kind = ? AND sent_at IS NOT NULL AND sent_at >= ? AND sent_at < ?{scale_filter} \
         GROUP BY 1, 2"
    );
    load(conn, &sql, &binds)
}

/// One number.
#[derive(Debug, Clone, QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut DbConnection, sql: &str, binds: &[Bind]) -> QueryResult<i64> {
    Ok(load::<Count>(conn, sql, binds)?.first().map_or(0, |c| c.n))
}

/// What a member is: not erased and not merged into another customer.
const MEMBER: &str = "c.erased_at IS NULL AND c.merged_into IS NULL";

/// Members now.
pub fn members(conn: &mut DbConnection) -> QueryResult<i64> {
    count(
        conn,
        &format!("SELECT COUNT(*) AS n FROM customers c WHERE {MEMBER}"),
        &[],
    )
}

/// Members with a purchase in the range (through `purchases_time_idx`).
pub fn active_members(conn: &mut DbConnection, range: Range) -> QueryResult<i64> {
    count(
        conn,
        &format!(
            "SELECT COUNT(*) AS n FROM (SELECT DISTINCT customer_id FROM purchases \
             WHERE occurred_at >= ? AND occurred_at < ?) a \
             JOIN customers c ON c.id = a.customer_id WHERE {MEMBER}"
        ),
        &[Bind::Time(range.from), Bind::Time(range.to)],
    )
}

/// Ledger movements of one kind in a range: the sum of the credits and of the debits, where an
/// entry's movement is `points + pending − negative` (what it added to or took from the
/// customer's available and pending points, debt included).
#[derive(Debug, Clone, QueryableByName)]
pub struct LedgerSum {
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = BigInt)]
    pub credits: i64,
    #[diesel(sql_type = BigInt)]
    pub debits: i64,
}

/// Ledger movements per kind with `created_at` in the range (through `ledger_entries_kind_idx`,
/// which covers the columns summed).
pub fn ledger_sums(conn: &mut DbConnection, range: Range) -> QueryResult<Vec<LedgerSum>> {
    let movement = "(points + pending - negative)";
    let sql = format!(
        "SELECT kind, \
         CAST(COALESCE(SUM(CASE WHEN {movement} > 0 THEN {movement} ELSE 0 END), 0) AS BIGINT) AS credits, \
         CAST(COALESCE(SUM(CASE WHEN {movement} < 0 THEN -{movement} ELSE 0 END), 0) AS BIGINT) AS debits \
         FROM ledger_entries \
         WHERE kind IN ('earn', 'bonus', 'adjust', 'redeem', 'refund', 'expire', 'reverse') \
         AND created_at >= ? AND created_at < ? GROUP BY kind"
    );
    load(conn, &sql, &[Bind::Time(range.from), Bind::Time(range.to)])
}

/// Available plus pending points of every balance now.
pub fn outstanding_points(conn: &mut DbConnection) -> QueryResult<i64> {
    count(
        conn,
        "SELECT CAST(COALESCE(SUM(available + pending), 0) AS BIGINT) AS n FROM balances",
        &[],
    )
}

/// Members of one tier.
#[derive(Debug, Clone, QueryableByName)]
pub struct TierCount {
    #[diesel(sql_type = Text)]
    pub tier_id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub members: i64,
}

/// Members per tier, every tier listed (lowest threshold first).
pub fn tier_counts(conn: &mut DbConnection) -> QueryResult<Vec<TierCount>> {
    load(
        conn,
        &format!(
            "SELECT t.id AS tier_id, t.name AS name, COUNT(c.id) AS members FROM tiers t \
             LEFT JOIN customer_tiers ct ON ct.tier_id = t.id \
             LEFT JOIN customers c ON c.id = ct.customer_id AND {MEMBER} \
             GROUP BY t.id, t.name, t.threshold ORDER BY t.threshold, t.id"
        ),
        &[],
    )
}

/// Customers with a purchase in the range, and those with two or more.
#[derive(Debug, Clone, QueryableByName)]
pub struct Buyers {
    #[diesel(sql_type = BigInt)]
    pub buyers: i64,
    #[diesel(sql_type = BigInt)]
    pub repeat: i64,
}

/// Buyers in the range (through `purchases_time_idx`, which covers the customer id).
pub fn buyers(conn: &mut DbConnection, range: Range) -> QueryResult<Buyers> {
    let rows: Vec<Buyers> = load(
        conn,
        "SELECT COUNT(*) AS buyers, \
         CAST(COALESCE(SUM(CASE WHEN n >= 2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS repeat \
         FROM (SELECT customer_id, COUNT(*) AS n FROM purchases \
         WHERE occurred_at >= ? AND occurred_at < ? GROUP BY customer_id) b",
        &[Bind::Time(range.from), Bind::Time(range.to)],
    )?;
    Ok(rows.into_iter().next().unwrap_or(Buyers {
        buyers: 0,
        repeat: 0,
    }))
}

/// Customers who bought in `previous` and not in `current` (the second check goes through
/// `purchases_customer_idx`, one probe per buyer).
pub fn churned(conn: &mut DbConnection, previous: Range, current: Range) -> QueryResult<i64> {
    count(
        conn,
        "SELECT COUNT(*) AS n FROM (SELECT DISTINCT customer_id FROM purchases \
         WHERE occurred_at >= ? AND occurred_at < ?) p \
         WHERE NOT EXISTS (SELECT 1 FROM purchases q WHERE q.customer_id = p.customer_id \
         AND q.occurred_at >= ? AND q.occurred_at < ?)",
        &[
            Bind::Time(previous.from),
            Bind::Time(previous.to),
            Bind::Time(current.from),
            Bind::Time(current.to),
        ],
    )
}

/// Members of one segment.
#[derive(Debug, Clone, QueryableByName)]
pub struct SegmentCount {
    #[diesel(sql_type = Text)]
    pub segment: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Members per segment (through `customer_stats_segment_idx`).
pub fn segment_counts(conn: &mut DbConnection) -> QueryResult<Vec<SegmentCount>> {
    load(
        conn,
        &format!(
            "SELECT s.segment AS segment, COUNT(*) AS n FROM customer_stats s \
             JOIN customers c ON c.id = s.customer_id WHERE {MEMBER} GROUP BY s.segment"
        ),
        &[],
    )
}

/// Recovery cases opened in a range.
#[derive(Debug, Clone, QueryableByName)]
pub struct CaseCounts {
    #[diesel(sql_type = BigInt)]
    pub opened: i64,
    #[diesel(sql_type = BigInt)]
    pub resolved: i64,
    /// Whole seconds from opening to resolution, summed over the resolved cases.
    #[diesel(sql_type = BigInt)]
    pub seconds: i64,
}

/// Whole seconds from `opened_at` to `resolved_at` (fractions of a second dropped on both).
fn seconds_expr(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Postgres(_) => {
            "CAST(EXTRACT(EPOCH FROM date_trunc('second', resolved_at)) \
             - EXTRACT(EPOCH FROM date_trunc('second', opened_at)) AS BIGINT)"
        }
        DbConnection::Sqlite(_) => {
            "(CAST(strftime('%s', resolved_at) AS INTEGER) - CAST(strftime('%s', opened_at) AS INTEGER))"
        }
    }
}

const RESOLVED: &str = "status = 'resolved' AND resolved_at IS NOT NULL";

/// Cases opened in the range, how many of them are resolved and their total time to resolve
/// (through `recovery_cases_opened_idx`).
pub fn case_counts(conn: &mut DbConnection, range: Range) -> QueryResult<CaseCounts> {
    let secs = seconds_expr(conn);
    let rows: Vec<CaseCounts> = load(
        conn,
        &format!(
            "SELECT COUNT(*) AS opened, \
             CAST(COALESCE(SUM(CASE WHEN {RESOLVED} THEN 1 ELSE 0 END), 0) AS BIGINT) AS resolved, \
             CAST(COALESCE(SUM(CASE WHEN {RESOLVED} THEN {secs} ELSE 0 END), 0) AS BIGINT) AS seconds \
             FROM recovery_cases WHERE opened_at >= ? AND opened_at < ?"
        ),
        &[Bind::Time(range.from), Bind::Time(range.to)],
    )?;
    Ok(rows.into_iter().next().unwrap_or(CaseCounts {
        opened: 0,
        resolved: 0,
        seconds: 0,
    }))
}

/// The times to resolve at positions `offset` and `offset + 1` in ascending order, of the
/// resolved cases opened in the range (the middle of the list, for the median).
pub fn resolution_seconds_at(
    conn: &mut DbConnection,
    range: Range,
    offset: i64,
) -> QueryResult<Vec<i64>> {
    let secs = seconds_expr(conn);
    let rows: Vec<Count> = load(
        conn,
        &format!(
            "SELECT {secs} AS n FROM recovery_cases \
             WHERE opened_at >= ? AND opened_at < ? AND {RESOLVED} ORDER BY 1 LIMIT 2 OFFSET ?"
        ),
        &[
            Bind::Time(range.from),
            Bind::Time(range.to),
            Bind::Int(offset),
        ],
    )?;
    Ok(rows.into_iter().map(|c| c.n).collect())
}

/// Resolved cases opened in the range whose customer bought in the `days` after the resolution:
/// a purchase with `occurred_at` in `[resolved_at, resolved_at + days)`.
pub fn repurchased(conn: &mut DbConnection, range: Range, days: i64) -> QueryResult<i64> {
    let until = match conn {
        DbConnection::Postgres(_) => format!("r.resolved_at + INTERVAL '{days} days'"),
        DbConnection::Sqlite(_) => {
            format!("datetime(r.resolved_at, '+{days} days')")
        }
    };
    count(
        conn,
        &format!(
            "SELECT COUNT(*) AS n FROM recovery_cases r \
             WHERE r.opened_at >= ? AND r.opened_at < ? AND r.status = 'resolved' \
             AND r.resolved_at IS NOT NULL AND r.customer_id IS NOT NULL \
             AND EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = r.customer_id \
             AND p.occurred_at >= r.resolved_at AND p.occurred_at < {until})"
        ),
        &[Bind::Time(range.from), Bind::Time(range.to)],
    )
}

//! What a balance read answers — the balance, the tier held, the qualifying points in the
//! window and the points expiring next — in one statement: the balance row joined with the
//! customer's tier row, and three small subqueries on the indexes of `qualifying_points` and
//! `point_lots`. The program and the tiers come from the caches (`crate::cache`).

use chrono::{Months, NaiveDateTime};
use diesel::QueryResult;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::BalanceRow;
use crate::db::DbConnection;
use crate::db::raw::{self, Bind};
use crate::tiers::CustomerTierRow;

/// A customer's balance with what the balance endpoints show around it.
#[derive(Debug, Clone)]
pub struct Summary {
    pub balance: BalanceRow,
    /// The customer's tier row, if they hold a tier.
    pub tier: Option<CustomerTierRow>,
    /// Qualifying points in the tier window.
    pub qualifying: i64,
    /// The soonest expiry among available lots: (points expiring then, when).
    pub next_expiry: Option<(i64, NaiveDateTime)>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    customer_id: String,
    #[diesel(sql_type = BigInt)]
    available: i64,
    #[diesel(sql_type = BigInt)]
    pending: i64,
    #[diesel(sql_type = BigInt)]
    negative: i64,
    #[diesel(sql_type = BigInt)]
    lifetime_earned: i64,
    #[diesel(sql_type = BigInt)]
    redeemed: i64,
    #[diesel(sql_type = BigInt)]
    expired: i64,
    #[diesel(sql_type = Timestamp)]
    updated_at: NaiveDateTime,
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
    #[diesel(sql_type = Nullable<Text>)]
    tier_id: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    tier_since: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    below_since: Option<NaiveDateTime>,
    /// The window's monthly qualifying points, comma-separated: summed here in 128 bits, so a
    /// total beyond 64 bits reads as the largest one instead of failing in SQL.
    #[diesel(sql_type = Nullable<Text>)]
    qualifying: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    expiry_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<BigInt>)]
    expiry_points: Option<i64>,
}

/// The columns `qualifying` (the window's monthly points, from the first `?`), `expiry_at` and
/// `expiry_points` of the customer whose id is the SQL expression `customer`, on the indexes of
/// `qualifying_points` and `point_lots`; and what goes after the `FROM` clause's other joins for
/// them. On PostgreSQL the soonest expiry and its points come from one lateral join (one pass
/// over the customer's available lots in expiry order, stopping at the first date); SQLite has no
/// lateral joins and reads them with subqueries.
pub fn standing_sql(pg: bool, customer: &str) -> (String, String) {
    if pg {
        let columns = format!(
            "(SELECT string_agg(q.points::text, ',') FROM qualifying_points q \
               WHERE q.customer_id = {customer} AND q.month >= ?) AS qualifying, \
             e.expiry_at, e.expiry_points"
        );
        let join = format!(
            "LEFT JOIN LATERAL (SELECT m.expires_at AS expiry_at, \
               CAST(sum(m.remaining) AS BIGINT) AS expiry_points FROM point_lots m \
               WHERE m.customer_id = {customer} AND m.status = 'available' \
               AND m.remaining > 0 AND m.expires_at IS NOT NULL \
               GROUP BY m.expires_at ORDER BY m.expires_at LIMIT 1) e ON true"
        );
        return (columns, join);
    }
    let soonest = format!(
        "SELECT min(m.expires_at) FROM point_lots m WHERE m.customer_id = {customer} \
         AND m.status = 'available' AND m.remaining > 0 AND m.expires_at IS NOT NULL"
    );
    let columns = format!(
        "(SELECT group_concat(q.points, ',') FROM qualifying_points q \
           WHERE q.customer_id = {customer} AND q.month >= ?) AS qualifying, \
         ({soonest}) AS expiry_at, \
         (SELECT sum(l.remaining) FROM point_lots l WHERE l.customer_id = {customer} \
           AND l.status = 'available' AND l.expires_at = ({soonest})) AS expiry_points"
    );
    (columns, String::new())
}

fn statement(pg: bool) -> String {
    let (columns, join) = standing_sql(pg, "b.customer_id");
    format!(
        "SELECT b.customer_id, b.available, b.pending, b.negative, b.lifetime_earned, b.redeemed, \
         b.expired, b.updated_at, b.last_seq, ct.tier_id, ct.since AS tier_since, ct.below_since, \
         {columns} \
         FROM balances b LEFT JOIN customer_tiers ct ON ct.customer_id = b.customer_id {join} \
         WHERE b.customer_id = ?"
    )
}

/// The first month of the tier window ending in the month of `now`.
pub fn window_start(now: NaiveDateTime, window_months: i64) -> String {
    let back = u32::try_from(window_months.saturating_sub(1)).unwrap_or(0);
    let first = now.checked_sub_months(Months::new(back)).unwrap_or(now);
    crate::tiers::repo::month_of(first)
}

/// The sum of comma-separated monthly qualifying points, in 128 bits: a total beyond 64 bits
/// reads as the largest one.
pub fn sum_months(months: Option<&str>) -> i64 {
    let sum: i128 = months
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.trim().parse::<i64>().ok())
        .map(i128::from)
        .sum();
    i64::try_from(sum.max(0)).unwrap_or(i64::MAX)
}

/// The customer's summary; `None` when there is no balance row under this id (an unknown id,
/// or a record merged into another).
pub fn read(
    conn: &mut DbConnection,
    customer_id: &str,
    now: NaiveDateTime,
    window_months: i64,
) -> QueryResult<Option<Summary>> {
    static PG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static LITE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = match conn {
        DbConnection::Postgres(_) => PG.get_or_init(|| statement(true)),
        DbConnection::Sqlite(_) => LITE.get_or_init(|| statement(false)),
    };
    let binds = [
        Bind::Text(window_start(now, window_months)),
        Bind::Text(customer_id.to_owned()),
    ];
    let rows: Vec<Row> = raw::load(conn, sql, &binds)?;
    Ok(rows.into_iter().next().map(|r| {
        let tier = match (r.tier_id, r.tier_since) {
            (Some(tier_id), Some(since)) => Some(CustomerTierRow {
                customer_id: r.customer_id.clone(),
                tier_id,
                since,
                below_since: r.below_since,
            }),
            _ => None,
        };
        Summary {
            balance: BalanceRow {
                customer_id: r.customer_id,
                available: r.available,
                pending: r.pending,
                negative: r.negative,
                lifetime_earned: r.lifetime_earned,
                redeemed: r.redeemed,
                expired: r.expired,
                updated_at: r.updated_at,
                last_seq: r.last_seq,
            },
            tier,
            qualifying: sum_months(r.qualifying.as_deref()),
            next_expiry: r.expiry_at.map(|at| (r.expiry_points.unwrap_or(0), at)),
        }
    }))
}

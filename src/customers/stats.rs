//! Purchase statistics and segments, kept up to date as purchases and returns are recorded, so the
//! profile reads a handful of rows instead of scanning the purchase history.
//!
//! Every writer here runs with the customer's balance row locked (the one lock order of the
//! service), so a read-modify-write of the customer's statistics cannot lose a concurrent change.

use chrono::{Days, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::{customer_stats, customer_usage, customers, purchase_lines, purchases};
use crate::program::SegmentSettings;
use crate::purchases::{LineRow, PurchaseRow};

/// The RFM segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// Joined within `new_days` and bought at most once.
    New,
    /// Bought within `recent_days`, at least `champion_purchases` times and `champion_spent_minor`.
    Champion,
    /// Bought within `active_days`, at least `loyal_purchases` times.
    Loyal,
    /// Bought within `active_days`, fewer times.
    Promising,
    /// A frequent buyer (`loyal_purchases` or more) who has not bought for `active_days`.
    AtRisk,
    /// An occasional buyer (or one who never bought) quiet for `active_days`.
    Hibernating,
    /// Nothing bought for more than `lost_days`.
    Lost,
}

impl Segment {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::New => "new",
            Segment::Champion => "champion",
            Segment::Loyal => "loyal",
            Segment::Promising => "promising",
            Segment::AtRisk => "at_risk",
            Segment::Hibernating => "hibernating",
            Segment::Lost => "lost",
        }
    }

    /// Every segment.
    pub const ALL: [Segment; 7] = [
        Segment::New,
        Segment::Champion,
        Segment::Loyal,
        Segment::Promising,
        Segment::AtRisk,
        Segment::Hibernating,
        Segment::Lost,
    ];

    /// The segment with this wire name.
    pub fn parse(s: &str) -> Option<Segment> {
        Segment::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A customer's statistics row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customer_stats, treat_none_as_null = true)]
pub struct StatsRow {
    pub customer_id: String,
    pub purchase_count: i64,
    /// Sum of purchase totals, before returns.
    pub spent_minor: i64,
    /// Sum of amounts returned.
    pub returned_minor: i64,
    pub first_purchase_at: Option<NaiveDateTime>,
    pub last_purchase_at: Option<NaiveDateTime>,
    /// Referred customers whose first purchase paid the referral bonus.
    pub referrals_successful: i64,
    pub segment: String,
    pub segment_since: NaiveDateTime,
    /// When the segment would next change if nothing else happens (the job's index).
    pub segment_review_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

impl StatsRow {
    /// Statistics of a customer with no purchases.
    pub fn empty(customer_id: &str, now: NaiveDateTime) -> Self {
        Self {
            customer_id: customer_id.to_owned(),
            purchase_count: 0,
            spent_minor: 0,
            returned_minor: 0,
            first_purchase_at: None,
            last_purchase_at: None,
            referrals_successful: 0,
            segment: Segment::New.as_str().to_owned(),
            segment_since: now,
            segment_review_at: Some(now),
            updated_at: now,
        }
    }

    /// Spend after returns.
    pub fn net_spent_minor(&self) -> i64 {
        self.spent_minor.saturating_sub(self.returned_minor)
    }
}

/// One line of usage: a channel, store or category and what was bought there.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_usage)]
pub struct UsageRow {
    pub customer_id: String,
    /// `channel`, `store` or `category`.
    pub dimension: String,
    pub value: String,
    /// Purchases that used it.
    pub purchases: i64,
    /// Net spend there (category: the lines' amounts after returns).
    pub spent_minor: i64,
    pub last_at: NaiveDateTime,
}

fn after(t: NaiveDateTime, days: i64) -> NaiveDateTime {
    t.checked_add_days(Days::new(u64::try_from(days).unwrap_or(0)))
        .unwrap_or(NaiveDateTime::MAX)
}

/// The segment of a customer at `now`, and when it would change if nothing else happened.
///
/// Recency is measured from the last purchase (or from joining, for customers who never bought);
/// frequency and monetary value are lifetime figures after returns.
pub fn segment_of(
    stats: &StatsRow,
    created_at: NaiveDateTime,
    s: &SegmentSettings,
    now: NaiveDateTime,
) -> (Segment, Option<NaiveDateTime>) {
    let mut boundaries = Vec::new();
    let new_until = after(created_at, s.new_days);
    boundaries.push(new_until);
    let segment = if stats.purchase_count <= 1 && now < new_until {
        Segment::New
    } else {
        let since = stats.last_purchase_at.unwrap_or(created_at);
        let recent_until = after(since, s.recent_days);
        let active_until = after(since, s.active_days);
        let lost_after = after(since, s.lost_days);
        boundaries.extend([recent_until, active_until, lost_after]);
        let f = stats.purchase_count;
        let m = stats.net_spent_minor();
        let bought = stats.last_purchase_at.is_some();
        if bought && now < recent_until && f >= s.champion_purchases && m >= s.champion_spent_minor
        {
            Segment::Champion
        } else if bought && now < active_until && f >= s.loyal_purchases {
            Segment::Loyal
        } else if bought && now < active_until {
            Segment::Promising
        } else if now < lost_after && f >= s.loyal_purchases {
            Segment::AtRisk
        } else if now < lost_after {
            Segment::Hibernating
        } else {
            Segment::Lost
        }
    };
    let next = boundaries.into_iter().filter(|b| *b > now).min();
    (segment, next)
}

/// Creates the statistics row of a new customer.
pub fn open(conn: &mut DbConnection, customer_id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(customer_stats::table)
        .values(StatsRow::empty(customer_id, now))
        .execute(conn)
        .map(drop)
}

/// The customer's statistics (an empty row if they have none).
pub fn load(
    conn: &mut DbConnection,
    customer_id: &str,
    now: NaiveDateTime,
) -> QueryResult<StatsRow> {
    Ok(customer_stats::table
        .find(customer_id)
        .select(StatsRow::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_else(|| StatsRow::empty(customer_id, now)))
}

/// The customer's channels, stores and categories.
pub fn usage(conn: &mut DbConnection, customer_id: &str) -> QueryResult<Vec<UsageRow>> {
    customer_usage::table
        .filter(customer_usage::customer_id.eq(customer_id))
        .select(UsageRow::as_select())
        .order((
            customer_usage::dimension.asc(),
            customer_usage::spent_minor.desc(),
            customer_usage::value.asc(),
        ))
        .load(conn)
}

fn save(conn: &mut DbConnection, row: &StatsRow) -> QueryResult<()> {
    let updated = diesel::update(customer_stats::table.find(&row.customer_id))
        .set(row)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(customer_stats::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Adds to one usage row, creating it on first use (one statement).
fn add_usage(
    conn: &mut DbConnection,
    customer_id: &str,
    dimension: &str,
    value: &str,
    purchases: i64,
    spent: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let mut batch = crate::db::batch::Batch::new(conn);
    batch.push(usage_upsert(UsageRow {
        customer_id: customer_id.to_owned(),
        dimension: dimension.to_owned(),
        value: value.to_owned(),
        purchases,
        spent_minor: spent,
        last_at: at,
    }));
    batch.run(conn).map(drop)
}

/// The statement that adds `row`'s purchases and spend to its usage row (created on first use)
/// and moves `last_at` forward.
pub fn usage_upsert(
    row: UsageRow,
) -> impl diesel::query_builder::QueryFragment<diesel::pg::Pg>
+ diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
+ Send
+ 'static {
    use diesel::upsert::excluded;
    diesel::insert_into(customer_usage::table)
        .values(row)
        .on_conflict((
            customer_usage::customer_id,
            customer_usage::dimension,
            customer_usage::value,
        ))
        .do_update()
        .set((
            customer_usage::purchases
                .eq(customer_usage::purchases + excluded(customer_usage::purchases)),
            customer_usage::spent_minor
                .eq(customer_usage::spent_minor + excluded(customer_usage::spent_minor)),
            customer_usage::last_at.eq(diesel::dsl::case_when(
                excluded(customer_usage::last_at).gt(customer_usage::last_at),
                excluded(customer_usage::last_at),
            )
            .otherwise(customer_usage::last_at)),
        ))
}

fn created_at(conn: &mut DbConnection, customer_id: &str) -> QueryResult<NaiveDateTime> {
    customers::table
        .find(customer_id)
        .select(customers::created_at)
        .first(conn)
}

/// Sets the segment from the row's figures; keeps `segment_since` while it does not change.
fn resegment(
    conn: &mut DbConnection,
    row: &mut StatsRow,
    settings: &SegmentSettings,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let joined = created_at(conn, &row.customer_id)?;
    resegment_joined(row, joined, settings, now);
    Ok(())
}

/// [`resegment`] for a customer who joined at `joined`.
fn resegment_joined(
    row: &mut StatsRow,
    joined: NaiveDateTime,
    settings: &SegmentSettings,
    now: NaiveDateTime,
) {
    let (segment, review_at) = segment_of(row, joined, settings, now);
    if row.segment != segment.as_str() {
        row.segment = segment.as_str().to_owned();
        row.segment_since = now;
    }
    row.segment_review_at = review_at;
    row.updated_at = now;
}

/// Counts a new purchase of a customer who joined at `joined`, whose statistics row is `stored`
/// (read under the customer's balance lock): adds to `batch` the statements that store the
/// totals, first and last purchase and segment, and the channel, store and categories used.
#[allow(clippy::too_many_arguments)]
pub fn push_purchase<'a>(
    batch: &mut crate::db::batch::Batch<'a>,
    stored: Option<StatsRow>,
    purchase: &PurchaseRow,
    lines: &[LineRow],
    settings: &SegmentSettings,
    joined: NaiveDateTime,
    now: NaiveDateTime,
) {
    let customer_id = &purchase.customer_id;
    let exists = stored.is_some();
    let mut row = stored.unwrap_or_else(|| StatsRow::empty(customer_id, now));
    row.purchase_count += 1;
    row.spent_minor = row.spent_minor.saturating_add(purchase.total_minor);
    let at = purchase.occurred_at;
    row.first_purchase_at = Some(row.first_purchase_at.map_or(at, |f| f.min(at)));
    row.last_purchase_at = Some(row.last_purchase_at.map_or(at, |l| l.max(at)));
    let review_was = row.segment_review_at;
    resegment_joined(&mut row, joined, settings, now);
    // A review sooner than needed only recomputes the segment and sets the next one; keeping
    // the sooner time leaves the row's indexed columns as they were (the segment seldom moves),
    // so PostgreSQL updates the row in place instead of adding entries to its three indexes.
    if let Some(was) = review_was
        && row.segment_review_at.is_none_or(|next| was < next)
    {
        row.segment_review_at = Some(was);
    }
    if exists {
        batch.push(diesel::update(customer_stats::table.find(customer_id.clone())).set(row));
    } else {
        batch.push(diesel::insert_into(customer_stats::table).values(row));
    }
    let usage = |dimension: &str, value: &str, amount: i64| UsageRow {
        customer_id: customer_id.clone(),
        dimension: dimension.to_owned(),
        value: value.to_owned(),
        purchases: 1,
        spent_minor: amount,
        last_at: at,
    };
    let total = purchase.total_minor;
    batch.push(usage_upsert(usage("channel", &purchase.channel, total)));
    if let Some(store) = &purchase.store_id {
        batch.push(usage_upsert(usage("store", store, total)));
    }
    let mut categories: Vec<(&str, i64)> = Vec::new();
    for line in lines {
        if let Some(category) = line.category.as_deref() {
            let amount = line.quantity.saturating_mul(line.unit_price_minor);
            match categories.iter_mut().find(|(c, _)| *c == category) {
                Some((_, sum)) => *sum = sum.saturating_add(amount),
                None => categories.push((category, amount)),
            }
        }
    }
    for (category, amount) in categories {
        batch.push(usage_upsert(usage("category", category, amount)));
    }
}

/// The customer's statistics row, if they have one.
pub fn find(conn: &mut DbConnection, customer_id: &str) -> QueryResult<Option<StatsRow>> {
    customer_stats::table
        .find(customer_id)
        .select(StatsRow::as_select())
        .first(conn)
        .optional()
}

/// What a return took back, for the statistics.
#[derive(Debug, Clone, Default)]
pub struct Returned {
    /// Minor units refunded.
    pub amount_minor: i64,
    /// Per returned line: its category and the amount of the returned quantity.
    pub categories: Vec<(String, i64)>,
}

/// Counts a return: the net spend of the customer, the purchase's channel and store, and the
/// categories of returned lines go down. Call with the customer's balance row locked.
pub fn return_recorded(
    conn: &mut DbConnection,
    purchase: &PurchaseRow,
    returned: &Returned,
    settings: &SegmentSettings,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let customer_id = &purchase.customer_id;
    let mut row = load(conn, customer_id, now)?;
    row.returned_minor = row.returned_minor.saturating_add(returned.amount_minor);
    resegment(conn, &mut row, settings, now)?;
    save(conn, &row)?;
    let at = purchase.occurred_at;
    let amount = -returned.amount_minor;
    add_usage(
        conn,
        customer_id,
        "channel",
        &purchase.channel,
        0,
        amount,
        at,
    )?;
    if let Some(store) = &purchase.store_id {
        add_usage(conn, customer_id, "store", store, 0, amount, at)?;
    }
    for (category, amount) in &returned.categories {
        add_usage(conn, customer_id, "category", category, 0, -amount, at)?;
    }
    Ok(())
}

/// Counts a successful referral of `referrer`.
pub fn referral_paid(
    conn: &mut DbConnection,
    referrer: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let mut row = load(conn, referrer, now)?;
    row.referrals_successful += 1;
    row.updated_at = now;
    save(conn, &row)
}

/// Rebuilds a customer's statistics and usage from their purchase history (after a merge moved
/// purchases onto them). Linear in the history: merges are rare and audited.
pub fn rebuild(
    conn: &mut DbConnection,
    customer_id: &str,
    referrals_successful: i64,
    settings: &SegmentSettings,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let bought: Vec<PurchaseRow> = purchases::table
        .filter(purchases::customer_id.eq(customer_id))
        .select(PurchaseRow::as_select())
        .load(conn)?;
    let ids: Vec<String> = bought.iter().map(|p| p.id.clone()).collect();
    let lines: Vec<LineRow> = purchase_lines::table
        .filter(purchase_lines::purchase_id.eq_any(&ids))
        .select(LineRow::as_select())
        .load(conn)?;
    let previous = load(conn, customer_id, now)?;
    let mut row = StatsRow {
        purchase_count: i64::try_from(bought.len()).unwrap_or(i64::MAX),
        spent_minor: bought.iter().map(|p| p.total_minor).sum(),
        returned_minor: bought.iter().map(|p| p.returned_minor).sum(),
        first_purchase_at: bought.iter().map(|p| p.occurred_at).min(),
        last_purchase_at: bought.iter().map(|p| p.occurred_at).max(),
        referrals_successful,
        ..previous
    };
    resegment(conn, &mut row, settings, now)?;
    save(conn, &row)?;
    diesel::delete(customer_usage::table.filter(customer_usage::customer_id.eq(customer_id)))
        .execute(conn)?;
    let mut usage: std::collections::BTreeMap<(&str, String), (i64, i64, NaiveDateTime)> =
        std::collections::BTreeMap::new();
    let mut add = |dim: &'static str, value: String, n: i64, spent: i64, at: NaiveDateTime| {
        let e = usage.entry((dim, value)).or_insert((0, 0, at));
        e.0 += n;
        e.1 = e.1.saturating_add(spent);
        e.2 = e.2.max(at);
    };
    for p in &bought {
        let net = p.total_minor - p.returned_minor;
        add("channel", p.channel.clone(), 1, net, p.occurred_at);
        if let Some(store) = &p.store_id {
            add("store", store.clone(), 1, net, p.occurred_at);
        }
        let mut seen = std::collections::BTreeSet::new();
        for l in lines.iter().filter(|l| l.purchase_id == p.id) {
            if let Some(category) = &l.category {
                let kept = (l.quantity - l.returned_quantity).saturating_mul(l.unit_price_minor);
                let first = seen.insert(category.clone());
                add(
                    "category",
                    category.clone(),
                    i64::from(first),
                    kept,
                    p.occurred_at,
                );
            }
        }
    }
    for ((dimension, value), (n, spent, at)) in usage {
        diesel::insert_into(customer_usage::table)
            .values(UsageRow {
                customer_id: customer_id.to_owned(),
                dimension: dimension.to_owned(),
                value,
                purchases: n,
                spent_minor: spent,
                last_at: at,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Customers whose segment is due for review, oldest first (the job's page).
pub fn due_for_review(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<String>> {
    customer_stats::table
        .filter(customer_stats::segment_review_at.le(now))
        .order(customer_stats::segment_review_at.asc())
        .select(customer_stats::customer_id)
        .limit(limit)
        .load(conn)
}

/// Recomputes one customer's segment from their statistics (no lock needed beyond the row's own:
/// the UPDATE is conditional on the figures it was computed from).
pub fn review(
    conn: &mut DbConnection,
    customer_id: &str,
    settings: &SegmentSettings,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let Some(row) = customer_stats::table
        .find(customer_id)
        .select(StatsRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(false);
    };
    let mut next = row.clone();
    resegment(conn, &mut next, settings, now)?;
    let changed = next.segment != row.segment;
    // Only if nobody recorded a purchase or return in between (their own write resegmented).
    diesel::update(
        customer_stats::table
            .find(customer_id)
            .filter(customer_stats::updated_at.eq(row.updated_at))
            .filter(customer_stats::purchase_count.eq(row.purchase_count))
            .filter(customer_stats::returned_minor.eq(row.returned_minor)),
    )
    .set((
        customer_stats::segment.eq(&next.segment),
        customer_stats::segment_since.eq(next.segment_since),
        customer_stats::segment_review_at.eq(next.segment_review_at),
        customer_stats::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(changed)
}

/// Marks every customer for review (after the segment thresholds changed).
pub fn review_all_now(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(customer_stats::table)
        .set(customer_stats::segment_review_at.eq(now))
        .execute(conn)
}

/// Customers reviewed per page.
const PAGE: i64 = 500;
/// Most reviews one run does; the next run carries on.
const MAX_PER_RUN: u64 = 100_000;

/// The `recompute_segments` job: moves customers whose segment is due (time passed one of its
/// thresholds, or the thresholds changed) to their segment as of now. Only due customers are
/// read, through the `segment_review_at` index. Safe when instances run it at once: each update
/// is conditional on the figures it was computed from.
pub fn recompute_segments(
    pool: &crate::db::Pool,
    clock: &crate::clock::SharedClock,
) -> anyhow::Result<crate::scheduler::JobReport> {
    pool.scoped(|| {
        let now = clock.now_naive();
        let mut conn = pool.get()?;
        let settings = crate::program::repo::load(&mut conn)?.segments;
        let mut report = crate::scheduler::JobReport::default();
        let mut reviewed = 0u64;
        loop {
            let due = due_for_review(&mut conn, now, PAGE)?;
            if due.is_empty() {
                break;
            }
            for customer in &due {
                match review(&mut conn, customer, &settings, now) {
                    Ok(true) => report.items += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::error!(customer = %customer, error = %e, "segment review failed; it will be retried")
                    }
                }
                reviewed += 1;
            }
            if reviewed >= MAX_PER_RUN || due.len() < usize::try_from(PAGE).unwrap_or(0) {
                break;
            }
        }
        Ok(report)
    })
}

//! `/v1/reports/...` (marketers, analysts, admins): JSON, or CSV with `Accept: text/csv`.
//!
//! Each handler checks the caller's role first, and only then reads the query string.

use actix_web::http::header::{ACCEPT, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::comments::{self, CommentFilter, CommentList, CommentView};
use super::csv;
use super::cx::{self, CesReport, CsatReport, NpsReport};
use super::loyalty::{self, LoyaltyReport};
use super::params::{self, GroupBy};
use super::recovery::{self, RecoveryReport};
use super::retention::{self, RetentionReport};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::customers::validate::Check;
use crate::error::{ApiError, Problem};
use crate::feedback::Kind;
use crate::{db, pagination};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(nps_report)
        .service(csat_report)
        .service(ces_report)
        .service(comments_report)
        .service(loyalty_report)
        .service(retention_report)
        .service(recovery_report);
}

/// The range and grouping of the NPS and CSAT reports.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CxQuery {
    /// Start of the range (RFC 3339, included); default `to` − 30 days.
    from: Option<String>,
    /// End of the range (RFC 3339, excluded); default now. Must be after `from` (else 422
    /// `invalid_range`).
    to: Option<String>,
    /// Also report per channel, store, agent, touchpoint, ISO week (from Monday, UTC) or
    /// calendar month (UTC).
    #[param(value_type = Option<GroupBy>)]
    group_by: Option<String>,
}

/// The range, grouping and scale of the CES report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CesQuery {
    /// Start of the range (RFC 3339, included); default `to` − 30 days.
    from: Option<String>,
    /// End of the range (RFC 3339, excluded); default now.
    to: Option<String>,
    /// As in the NPS report.
    #[param(value_type = Option<GroupBy>)]
    group_by: Option<String>,
    /// Only this scale: 5 or 7.
    #[param(value_type = Option<i32>)]
    scale: Option<String>,
}

/// A time range.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// Start of the range (RFC 3339, included); default `to` − 30 days.
    from: Option<String>,
    /// End of the range (RFC 3339, excluded); default now.
    to: Option<String>,
}

/// Filters of the comment list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CommentQuery {
    /// Only this kind.
    #[param(value_type = Option<crate::feedback::Kind>)]
    kind: Option<String>,
    /// Only scores at least this (0–10; needs `kind`, whose scale it is on); skipped answers
    /// are then left out.
    #[param(value_type = Option<i32>, minimum = 0, maximum = 10)]
    min_score: Option<String>,
    /// Only scores at most this (0–10; needs `kind`); skipped answers are then left out.
    #[param(value_type = Option<i32>, minimum = 0, maximum = 10)]
    max_score: Option<String>,
    /// Start of the range (RFC 3339, included); default `to` − 30 days.
    from: Option<String>,
    /// End of the range (RFC 3339, excluded); default now.
    to: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

/// The periods of the retention report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RetentionQuery {
    /// Length of each period in days, 1–3650 (default 30).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 3650)]
    period_days: Option<String>,
    /// End of the current period (RFC 3339, excluded); default now.
    as_of: Option<String>,
}

/// Whether the client asked for CSV.
fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.split(';');
            let media = it.next().unwrap_or("").trim();
            let refused = it.any(|p| {
                let p = p.trim();
                p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
            });
            media.eq_ignore_ascii_case("text/csv") && !refused
        })
}

/// The report as JSON, or as CSV when asked for.
fn respond<T: Serialize>(req: &HttpRequest, report: &T, csv: fn(&T) -> String) -> HttpResponse {
    if wants_csv(req) {
        HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, csv::CONTENT_TYPE))
            .body(csv(report))
    } else {
        HttpResponse::Ok().json(report)
    }
}

/// Parses the range and grouping shared by the NPS and CSAT reports.
fn cx_query(
    req: &HttpRequest,
    now: DateTime<Utc>,
) -> Result<(params::Range, Option<GroupBy>), ApiError> {
    let q: CxQuery = params::query(req.query_string())?;
    let mut c = Check::default();
    let range = params::range(&mut c, q.from.as_deref(), q.to.as_deref(), now);
    let by = params::group_by(&mut c, q.group_by.as_deref());
    Ok((params::finish(c, range)?, by))
}

/// NPS: `responses` (answered), `skipped`, the distribution of scores 0–10, promoters (9–10),
/// passives (7–8), detractors (0–6) and `score = 100 × (promoters − detractors) / responses`
/// (one decimal, rounded half away from zero; `null` without responses), for the range
/// `[from, to)` on `occurred_at` and for each group. `response_rate`: invitations with `sent_at`
/// in the range, how many of them were answered, and `100 × answered / invited` (`null` when
/// none was sent). With `Accept: text/csv`: a `total` row, then one `group` row per group.
#[utoipa::path(tag = "reports", params(CxQuery), security(("bearer" = [])),
    responses((status = 200, content((NpsReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`validation_failed`, `invalid_query`", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "`invalid_range`: `from` is not before `to`", body = Problem)))]
#[get("/reports/nps")]
async fn nps_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::REPORTS_READ)?;
    let (range, by) = cx_query(&req, state.clock.now())?;
    let report = db::run(&state.pool, move |c| cx::nps(c, range, by)).await?;
    Ok(respond(&req, &report, csv::nps))
}

/// CSAT: `responses`, `skipped`, the distribution of scores 1–5, `satisfied` (4–5) and
/// `score = 100 × satisfied / responses` (one decimal; `null` without responses), with the
/// response rate, for the range and each group, as in the NPS report.
#[utoipa::path(tag = "reports", params(CxQuery), security(("bearer" = [])),
    responses((status = 200, content((CsatReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`validation_failed`, `invalid_query`", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "`invalid_range`", body = Problem)))]
#[get("/reports/csat")]
async fn csat_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::REPORTS_READ)?;
    let (range, by) = cx_query(&req, state.clock.now())?;
    let report = db::run(&state.pool, move |c| cx::csat(c, range, by)).await?;
    Ok(respond(&req, &report, csv::csat))
}

/// CES, per scale (5 and 7, never mixed; both always listed unless `?scale=` picks one):
/// `responses`, `skipped`, the distribution 1–scale, the `sum` of the scores and
/// `average = sum / responses` (two decimals, rounded half away from zero; `null` without
/// responses), `low_effort` (the top two points) and `high_effort` (1 and 2), with the response
/// rate of the invitations on that scale, for the range and each group.
#[utoipa::path(tag = "reports", params(CesQuery), security(("bearer" = [])),
    responses((status = 200, content((CesReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`validation_failed`, `invalid_query`", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "`invalid_range`", body = Problem)))]
#[get("/reports/ces")]
async fn ces_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::REPORTS_READ)?;
    let q: CesQuery = params::query(req.query_string())?;
    let mut c = Check::default();
    let range = params::range(
        &mut c,
        q.from.as_deref(),
        q.to.as_deref(),
        state.clock.now(),
    );
    let by = params::group_by(&mut c, q.group_by.as_deref());
    let scale = match q.scale.as_deref() {
        None => None,
        Some("5") => Some(5),
        Some("7") => Some(7),
        Some(_) => {
            c.fail("scale", "must be 5 or 7");
            None
        }
    };
    let range = params::finish(c, range)?;
    let report = db::run(&state.pool, move |c| cx::ces(c, range, by, scale)).await?;
    Ok(respond(&req, &report, csv::ces))
}

/// Responses with a comment whose `occurred_at` is in the range, newest first, one page at a
/// time. With `Accept: text/csv`: one row per comment of the page.
#[utoipa::path(tag = "reports", params(CommentQuery), security(("bearer" = [])),
    responses((status = 200, content((CommentList = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`validation_failed`, `invalid_query`, `invalid_cursor`", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "`invalid_range`", body = Problem)))]
#[get("/reports/comments")]
async fn comments_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::REPORTS_READ)?;
    let q: CommentQuery = params::query(req.query_string())?;
    let mut c = Check::default();
    let kind = q.kind.as_deref().and_then(|k| {
        let kind = Kind::parse(k);
        if kind.is_none() {
            c.fail("kind", "must be nps, csat or ces");
        }
        kind
    });
    let min_score = params::int(&mut c, "min_score", q.min_score.as_deref(), 0, 10);
    let max_score = params::int(&mut c, "max_score", q.max_score.as_deref(), 0, 10);
    if q.kind.is_none() && (q.min_score.is_some() || q.max_score.is_some()) {
        // Scores of different kinds are on different scales: a bound means something only
        // for one kind.
        c.fail("kind", "is needed with min_score or max_score");
    }
    let limit = params::int(
        &mut c,
        "limit",
        q.limit.as_deref(),
        1,
        pagination::MAX_LIMIT,
    );
    let range = params::range(
        &mut c,
        q.from.as_deref(),
        q.to.as_deref(),
        state.clock.now(),
    );
    let range = params::finish(c, range)?;
    let limit = limit.unwrap_or(pagination::DEFAULT_LIMIT);
    let before = q
        .cursor
        .as_deref()
        .map(pagination::decode_position)
        .transpose()?;
    let filter = CommentFilter {
        kinds: kind.into_iter().collect(),
        min_score: min_score.and_then(|n| i32::try_from(n).ok()),
        max_score: max_score.and_then(|n| i32::try_from(n).ok()),
        range,
        before,
    };
    let mut rows = db::run(&state.pool, move |c| comments::page(c, &filter, limit + 1)).await?;
    let next_cursor =
        pagination::next_position_page(&mut rows, limit, |r| (r.occurred_at, r.id.clone()));
    let list = CommentList {
        data: rows.into_iter().map(CommentView::from).collect(),
        next_cursor,
    };
    Ok(respond(&req, &list, |l| csv::comments(&l.data)))
}

/// Loyalty: members, active members, points issued, redeemed, expired (and reversed, deducted)
/// in the range, points outstanding now and their liability in money, the redemption rate and
/// the tier distribution. With `Accept: text/csv`: one row per tier, the figures repeated.
#[utoipa::path(tag = "reports", params(RangeQuery), security(("bearer" = [])),
    responses((status = 200, content((LoyaltyReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`validation_failed`, `invalid_query`", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "`invalid_range`", body = Problem)))]
#[get("/reports/loyalty")]
async fn loyalty_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::REPORTS_READ)?;
    let range = range_query(&req, state.clock.now())?;
    let report = db::run(&state.pool, move |c| loyalty::report(c, range)).await?;
    Ok(respond(&req, &report, csv::loyalty))
}

fn range_query(req: &HttpRequest, now: DateTime<Utc>) -> Result<params::Range, ApiError> {
    let q: RangeQuery = params::query(req.query_string())?;
    let mut c = Check::default();
    let range = params::range(&mut c, q.from.as_deref(), q.to.as_deref(), now);
    params::finish(c, range)
}

/// Retention over two consecutive periods of `period_days` ending at `as_of`: churned customers
/// (bought in the previous period, not in the current one), `churn_rate = 100 × churned /
/// previous.buyers`, `repeat_purchase_rate = 100 × (customers with 2+ purchases) / (customers
/// with 1+)` in the current period (one decimal; `null` when the divisor is 0; returns do not
/// un-buy a purchase), and members per segment now. With `Accept: text/csv`: one row per
/// segment, the figures repeated.
#[utoipa::path(tag = "reports", params(RetentionQuery), security(("bearer" = [])),
    responses((status = 200, content((RetentionReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`validation_failed`, `invalid_query`", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/reports/retention")]
async fn retention_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::REPORTS_READ)?;
    let q: RetentionQuery = params::query(req.query_string())?;
    let mut c = Check::default();
    let days = params::int(&mut c, "period_days", q.period_days.as_deref(), 1, 3650);
    let as_of = params::time(&mut c, "as_of", q.as_of.as_deref());
    c.finish()?;
    let as_of = as_of.unwrap_or_else(|| state.clock.now()).naive_utc();
    let days = days.unwrap_or(params::DEFAULT_DAYS);
    let report = db::run(&state.pool, move |c| retention::report(c, as_of, days)).await?;
    Ok(respond(&req, &report, csv::retention))
}

/// Recovery cases opened in the range: resolved, still open, time to resolve (mean and median
/// whole seconds), resolved customers who bought again within 60 days of the resolution, the
/// recovery rate (`100 × resolved / opened`) and the repurchase rate (`100 × repurchased /
/// resolved`). With `Accept: text/csv`: one row.
#[utoipa::path(tag = "reports", params(RangeQuery), security(("bearer" = [])),
    responses((status = 200, content((RecoveryReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`validation_failed`, `invalid_query`", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "`invalid_range`", body = Problem)))]
#[get("/reports/recovery")]
async fn recovery_report(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::REPORTS_READ)?;
    let range = range_query(&req, state.clock.now())?;
    let report = db::run(&state.pool, move |c| recovery::report(c, range)).await?;
    Ok(respond(&req, &report, csv::recovery))
}

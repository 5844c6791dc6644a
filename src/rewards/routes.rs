//! The reward catalogue: `GET/POST /v1/rewards`, `PATCH /v1/rewards/{id}` (marketers).

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{LocalizedText, RewardRow, repo};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::customers::routes::present;
use crate::customers::validate::{self, Check};
use crate::error::{ApiError, Problem};
use crate::pagination::PageQuery;
use crate::{audit, db, idempotency, pagination};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(get_one)
        .service(update);
}

/// What a reward gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    PercentDiscount,
    AmountDiscount,
    FreeProduct,
    Gift,
}

impl RewardKind {
    fn as_str(self) -> &'static str {
        match self {
            RewardKind::PercentDiscount => "percent_discount",
            RewardKind::AmountDiscount => "amount_discount",
            RewardKind::FreeProduct => "free_product",
            RewardKind::Gift => "gift",
        }
    }
}

/// A new reward.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReward {
    /// One string, or text per locale.
    name: LocalizedText,
    description: Option<LocalizedText>,
    kind: RewardKind,
    /// Required for `percent_discount`, refused for other kinds.
    #[schema(minimum = 1, maximum = 100)]
    percent_off: Option<i64>,
    /// Required for `amount_discount`, refused for other kinds.
    #[schema(minimum = 1)]
    amount_off_minor: Option<i64>,
    /// Required (not blank) for `free_product`.
    sku: Option<String>,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    cost_points: i64,
    /// Units left; unlimited when absent.
    #[schema(minimum = 0)]
    stock: Option<i64>,
    /// Codes one customer may hold (unused or used); unlimited when absent.
    #[schema(minimum = 1)]
    per_customer_limit: Option<i64>,
    valid_from: Option<DateTime<Utc>>,
    /// After `valid_from`.
    valid_until: Option<DateTime<Utc>>,
    /// Only customers in this tier or a higher one may redeem it (422 `unknown_tier` if there is
    /// no such tier).
    min_tier_id: Option<String>,
    /// Days a code stays valid after redemption (default 30).
    #[schema(minimum = 1, maximum = 3650)]
    code_validity_days: Option<i64>,
    /// Default true.
    active: Option<bool>,
}

/// Changes to a reward: absent fields stay; `null` clears stock, limit and validity dates.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateReward {
    name: Option<LocalizedText>,
    description: Option<LocalizedText>,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    cost_points: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    stock: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    per_customer_limit: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    valid_from: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    valid_until: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    min_tier_id: Option<Option<String>>,
    #[schema(minimum = 1, maximum = 3650)]
    code_validity_days: Option<i64>,
    active: Option<bool>,
}

/// A reward.
#[derive(Debug, Serialize, ToSchema)]
pub struct RewardResponse {
    id: String,
    name: LocalizedText,
    description: LocalizedText,
    kind: String,
    percent_off: Option<i64>,
    amount_off_minor: Option<i64>,
    sku: Option<String>,
    cost_points: i64,
    /// Customers below this tier cannot redeem it.
    min_tier_id: Option<String>,
    stock: Option<i64>,
    per_customer_limit: Option<i64>,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
    code_validity_days: i64,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<RewardRow> for RewardResponse {
    fn from(r: RewardRow) -> Self {
        Self {
            name: LocalizedText::from_stored(&r.name),
            description: LocalizedText::from_stored(&r.description),
            id: r.id,
            kind: r.kind,
            percent_off: r.percent_off,
            amount_off_minor: r.amount_off_minor,
            sku: r.sku,
            min_tier_id: r.min_tier_id,
            cost_points: r.cost_points,
            stock: r.stock,
            per_customer_limit: r.per_customer_limit,
            valid_from: r.valid_from.map(|t| t.and_utc()),
            valid_until: r.valid_until.map(|t| t.and_utc()),
            code_validity_days: r.code_validity_days,
            active: r.active,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

/// A page of rewards.
#[derive(Debug, Serialize, ToSchema)]
pub struct RewardList {
    data: Vec<RewardResponse>,
    next_cursor: Option<String>,
}

fn check_text(c: &mut Check, field: &str, text: &LocalizedText, required: bool) {
    match text {
        LocalizedText::Plain(s) if s.trim().is_empty() && !required => {}
        LocalizedText::Plain(s) => {
            c.take(field, validate::text(s, 500));
        }
        LocalizedText::PerLocale(map) => {
            if map.is_empty() {
                c.fail(field, "needs at least one locale");
            }
            for (locale, s) in map {
                c.take(
                    &format!("{field}.{locale}"),
                    validate::locale(locale).and_then(|_| validate::text(s, 500)),
                );
            }
        }
    }
}

/// Checks a whole reward, after create or after a patch.
fn check_row(r: &RewardRow) -> Result<(), ApiError> {
    let mut c = Check::default();
    check_text(&mut c, "name", &LocalizedText::from_stored(&r.name), true);
    check_text(
        &mut c,
        "description",
        &LocalizedText::from_stored(&r.description),
        false,
    );
    if !(1..=1_000_000_000).contains(&r.cost_points) {
        c.fail("cost_points", "must be between 1 and 1000000000");
    }
    match r.kind.as_str() {
        "percent_discount" if !r.percent_off.is_some_and(|p| (1..=100).contains(&p)) => {
            c.fail("percent_off", "must be 1 to 100 for percent_discount")
        }
        "amount_discount" if r.amount_off_minor.is_none_or(|a| a <= 0) => {
            c.fail("amount_off_minor", "must be at least 1 for amount_discount")
        }
        "free_product" if r.sku.as_deref().is_none_or(|s| s.trim().is_empty()) => {
            c.fail("sku", "is required for free_product")
        }
        _ => {}
    }
    if r.kind != "percent_discount" && r.percent_off.is_some() {
        c.fail("percent_off", "only for percent_discount");
    }
    if r.kind != "amount_discount" && r.amount_off_minor.is_some() {
        c.fail("amount_off_minor", "only for amount_discount");
    }
    if r.stock.is_some_and(|s| s < 0) {
        c.fail("stock", "must not be negative");
    }
    if r.per_customer_limit.is_some_and(|l| l < 1) {
        c.fail("per_customer_limit", "must be at least 1");
    }
    if let (Some(from), Some(until)) = (r.valid_from, r.valid_until)
        && from >= until
    {
        c.fail("valid_until", "must be after valid_from");
    }
    if !(1..=3650).contains(&r.code_validity_days) {
        c.fail("code_validity_days", "must be between 1 and 3650");
    }
    c.finish()
}

fn ensure_tier(c: &mut crate::db::DbConnection, tier: Option<&str>) -> Result<(), ApiError> {
    match tier {
        Some(id) if crate::tiers::repo::find(c, id)?.is_none() => Err(ApiError::unprocessable(
            "unknown_tier",
            format!("there is no tier {id}"),
        )),
        _ => Ok(()),
    }
}

fn naive(t: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    t.map(|t| t.naive_utc())
}

/// Create a reward.
#[utoipa::path(tag = "rewards", request_body = CreateReward, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "optional; the first answer is replayed for the same request")),
    responses((status = 201, body = RewardResponse), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "`unknown_tier`", body = Problem)))]
#[post("/rewards")]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Body<CreateReward>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::REWARDS_WRITE)?;
    let b = body.read().await?;
    let canonical = serde_json::to_vec(&b).map_err(|e| ApiError::internal(e.into()))?;
    let now = state.clock.now_naive();
    let row = RewardRow {
        id: uuid::Uuid::now_v7().to_string(),
        name: b.name.to_stored(),
        description: b
            .description
            .unwrap_or(LocalizedText::Plain(String::new()))
            .to_stored(),
        kind: b.kind.as_str().to_owned(),
        percent_off: b.percent_off,
        amount_off_minor: b.amount_off_minor,
        sku: b.sku.map(|s| s.trim().to_owned()),
        cost_points: b.cost_points,
        min_tier_id: b.min_tier_id,
        stock: b.stock,
        per_customer_limit: b.per_customer_limit,
        valid_from: naive(b.valid_from),
        valid_until: naive(b.valid_until),
        code_validity_days: b.code_validity_days.unwrap_or(30),
        active: b.active.unwrap_or(true),
        created_at: now,
        updated_at: now,
    };
    check_row(&row)?;
    let actor = caller.actor();
    idempotency::created(&state, &req, &caller, &canonical, move |c| {
        ensure_tier(c, row.min_tier_id.as_deref())?;
        repo::insert(c, &row)?;
        audit::record(c, &actor, "reward.create", "reward", &row.id, now)?;
        Ok(RewardResponse::from(row.clone()))
    })
    .await
}

/// List rewards (oldest first).
#[utoipa::path(tag = "rewards", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = RewardList), (status = 403, body = Problem)))]
#[get("/rewards")]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::REWARDS_READ)?;
    let query: PageQuery = crate::body::query(req.query_string())?;
    let limit = pagination::limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(pagination::decode)
        .transpose()?;
    let mut rows = db::run(&state.pool, move |c| {
        repo::list(c, after.as_deref(), false, limit + 1)
    })
    .await?;
    let next_cursor = pagination::next_page(&mut rows, limit, |r| r.id.clone());
    Ok(HttpResponse::Ok().json(RewardList {
        data: rows.into_iter().map(RewardResponse::from).collect(),
        next_cursor,
    }))
}

/// Get a reward.
#[utoipa::path(tag = "rewards", security(("bearer" = [])),
    responses((status = 200, body = RewardResponse), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/rewards/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::REWARDS_READ)?;
    let row = db::run(&state.pool, move |c| repo::find(c, &id))
        .await?
        .ok_or_else(|| ApiError::not_found("Reward"))?;
    Ok(HttpResponse::Ok().json(RewardResponse::from(row)))
}

/// Change a reward.
#[utoipa::path(tag = "rewards", request_body = UpdateReward, security(("bearer" = [])),
    responses((status = 200, body = RewardResponse), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, description = "`unknown_tier`", body = Problem)))]
#[patch("/rewards/{id}")]
async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<UpdateReward>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::REWARDS_WRITE)?;
    let b = body.read().await?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let row = db::run(&state.pool, move |c| {
        let b = b.clone();
        db::write(c, |c| -> Result<RewardRow, ApiError> {
            // Locked first: a redemption's stock decrement cannot fall between read and write.
            let mut r =
                repo::find_for_update(c, &id)?.ok_or_else(|| ApiError::not_found("Reward"))?;
            if let Some(v) = b.name {
                r.name = v.to_stored();
            }
            if let Some(v) = b.description {
                r.description = v.to_stored();
            }
            if let Some(v) = b.cost_points {
                r.cost_points = v;
            }
            if let Some(v) = b.stock {
                r.stock = v;
            }
            if let Some(v) = b.per_customer_limit {
                r.per_customer_limit = v;
            }
            if let Some(v) = b.valid_from {
                r.valid_from = naive(v);
            }
            if let Some(v) = b.valid_until {
                r.valid_until = naive(v);
            }
            if let Some(v) = b.min_tier_id {
                r.min_tier_id = v;
            }
            if let Some(v) = b.code_validity_days {
                r.code_validity_days = v;
            }
            if let Some(v) = b.active {
                r.active = v;
            }
            r.updated_at = now;
            check_row(&r)?;
            ensure_tier(c, r.min_tier_id.as_deref())?;
            repo::update(c, &r)?;
            audit::record(c, &actor, "reward.update", "reward", &r.id, now)?;
            Ok(r)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(RewardResponse::from(row)))
}

//! `GET/POST /v1/tiers`, `PATCH/DELETE /v1/tiers/{id}` (marketers), and the tier progress shape.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::service::TierStatus;
use super::{TierRow, repo};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::customers::validate::Check;
use crate::error::{ApiError, Problem};
use crate::rewards::LocalizedText;
use crate::{audit, db, idempotency};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(update)
        .service(remove);
}

/// A new tier.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTier {
    name: LocalizedText,
    /// Qualifying points earned in the last `tier_window_months` needed (unique per tier).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    threshold: i64,
    /// Earning multiplier, 100–1000 (150 = ×1.5). Default 100.
    #[schema(minimum = 100, maximum = 1000)]
    multiplier_percent: Option<i64>,
    #[serde(default)]
    benefits: Vec<LocalizedText>,
}

/// Changes to a tier.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTier {
    /// Absent: unchanged.
    #[serde(default)]
    name: Option<LocalizedText>,
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    threshold: Option<i64>,
    #[schema(minimum = 100, maximum = 1000)]
    multiplier_percent: Option<i64>,
    /// Absent: unchanged.
    #[serde(default)]
    benefits: Option<Vec<LocalizedText>>,
}

/// A tier.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TierResponse {
    id: String,
    name: LocalizedText,
    threshold: i64,
    multiplier_percent: i64,
    benefits: Vec<LocalizedText>,
}

impl From<TierRow> for TierResponse {
    fn from(t: TierRow) -> Self {
        Self {
            name: LocalizedText::from_stored(&t.name),
            // Checked as the row was loaded.
            benefits: serde_json::from_str(&t.benefits).unwrap_or_default(),
            id: t.id,
            threshold: t.threshold,
            multiplier_percent: t.multiplier_percent,
        }
    }
}

/// A customer's tier and how far they are from the next one.
#[derive(Debug, Serialize, ToSchema)]
pub struct TierProgress {
    /// The current tier; null below the lowest tier.
    current: Option<TierResponse>,
    since: Option<DateTime<Utc>>,
    /// Points earned in the window (this month and the `tier_window_months - 1` before it).
    qualifying_points: i64,
    next_tier: Option<TierResponse>,
    points_to_next_tier: Option<i64>,
    /// Points still to earn in the window to keep the current tier.
    points_to_retain: Option<i64>,
    /// When the review downgrades the customer if they stay below their tier.
    review_at: Option<DateTime<Utc>>,
}

impl From<TierStatus> for TierProgress {
    fn from(s: TierStatus) -> Self {
        Self {
            current: s.tier.map(Into::into),
            since: s.since.map(|t| t.and_utc()),
            qualifying_points: s.qualifying,
            next_tier: s.next.map(Into::into),
            points_to_next_tier: s.points_to_next,
            points_to_retain: s.points_to_retain,
            review_at: s.review_at.map(|t| t.and_utc()),
        }
    }
}

fn check(t: &TierRow) -> Result<(), ApiError> {
    let mut c = Check::default();
    if LocalizedText::from_stored(&t.name)
        .resolve(None)
        .trim()
        .is_empty()
    {
        c.fail("name", "must not be empty");
    }
    if !(0..=1_000_000_000).contains(&t.threshold) {
        c.fail("threshold", "must be between 0 and 1000000000");
    }
    if !(100..=1000).contains(&t.multiplier_percent) {
        c.fail("multiplier_percent", "must be between 100 and 1000");
    }
    c.finish()
}

fn taken(e: diesel::result::Error) -> ApiError {
    if db::is_unique_violation(&e) {
        ApiError::conflict("tier_threshold_taken", "Another tier has this threshold")
    } else {
        e.into()
    }
}

/// All tiers, lowest threshold first.
#[utoipa::path(tag = "tiers", security(("bearer" = [])), responses((status = 200, body = Vec<TierResponse>), (status = 403, body = Problem)))]
#[get("/tiers")]
async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::PROGRAM_READ)?;
    let rows = db::run(&state.pool, repo::all).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(TierResponse::from).collect::<Vec<_>>()))
}

/// Create a tier.
#[utoipa::path(tag = "tiers", request_body = CreateTier, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "optional; the first answer is replayed for the same request")),
    responses((status = 201, body = TierResponse), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "`tier_threshold_taken`", body = Problem)))]
#[post("/tiers")]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Body<CreateTier>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::PROGRAM_WRITE)?;
    let b = body.read().await?;
    let canonical = serde_json::to_vec(&b).map_err(|e| ApiError::internal(e.into()))?;
    let now = state.clock.now_naive();
    let row = TierRow {
        id: uuid::Uuid::now_v7().to_string(),
        name: b.name.to_stored(),
        threshold: b.threshold,
        multiplier_percent: b.multiplier_percent.unwrap_or(100),
        benefits: serde_json::to_string(&b.benefits).unwrap_or_else(|_| "[]".to_owned()),
        created_at: now,
        updated_at: now,
    };
    check(&row)?;
    let actor = caller.actor();
    idempotency::created(&state, &req, &caller, &canonical, move |c| {
        repo::insert(c, &row).map_err(taken)?;
        audit::record(c, &actor, "tier.create", "tier", &row.id, now)?;
        Ok(TierResponse::from(row.clone()))
    })
    .await
}

/// Change a tier. Customers keep their tier until the next purchase or review.
#[utoipa::path(tag = "tiers", request_body = UpdateTier, security(("bearer" = [])),
    responses((status = 200, body = TierResponse), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "`tier_threshold_taken`", body = Problem)))]
#[patch("/tiers/{id}")]
async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<UpdateTier>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::PROGRAM_WRITE)?;
    let b = body.read().await?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let row = db::run(&state.pool, move |c| {
        let b = b.clone();
        db::write(c, |c| -> Result<TierRow, ApiError> {
            let mut t =
                repo::find_for_update(c, &id)?.ok_or_else(|| ApiError::not_found("Tier"))?;
            if let Some(v) = b.name {
                t.name = v.to_stored();
            }
            if let Some(v) = b.threshold {
                t.threshold = v;
            }
            if let Some(v) = b.multiplier_percent {
                t.multiplier_percent = v;
            }
            if let Some(v) = b.benefits {
                t.benefits = serde_json::to_string(&v).unwrap_or_else(|_| "[]".to_owned());
            }
            t.updated_at = now;
            check(&t)?;
            repo::update(c, &t).map_err(taken)?;
            audit::record(c, &actor, "tier.update", "tier", &t.id, now)?;
            Ok(t)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(TierResponse::from(row)))
}

/// Delete a tier nobody holds and no reward requires.
#[utoipa::path(tag = "tiers", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`tier_in_use`", body = Problem)))]
#[delete("/tiers/{id}")]
async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::PROGRAM_WRITE)?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    db::run(&state.pool, move |c| {
        db::write(c, |c| -> Result<(), ApiError> {
            repo::find(c, &id)?.ok_or_else(|| ApiError::not_found("Tier"))?;
            match repo::delete_unused(c, &id)? {
                Ok(()) => {}
                Err(repo::InUse::Held) => {
                    return Err(ApiError::conflict(
                        "tier_in_use",
                        "Customers hold this tier",
                    ));
                }
                Err(repo::InUse::RequiredByReward) => {
                    return Err(ApiError::conflict(
                        "tier_in_use",
                        "A reward requires this tier; give the reward another tier first",
                    ));
                }
            }
            Ok(audit::record(c, &actor, "tier.delete", "tier", &id, now)?)
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

//! `GET/POST /v1/earning-rules`, `PATCH/DELETE /v1/earning-rules/{id}` (marketers).
//! PATCH is a JSON merge patch (RFC 7386) over the rule; the result is validated as a whole.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{RuleBody, RuleKind, RuleRow, repo};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::customers::validate::{self, Check};
use crate::error::{ApiError, Problem};
use crate::{audit, db, idempotency};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(update)
        .service(remove);
}

/// A rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleResponse {
    id: String,
    #[serde(flatten)]
    rule: RuleBody,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

fn response(row: RuleRow) -> Result<RuleResponse, ApiError> {
    let rule = row.body()?;
    Ok(RuleResponse {
        id: row.id,
        rule,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

const CHANNELS: &[&str] = &["store", "web", "app", "phone", "marketplace"];

/// Checks the fields the kind needs and refuses the ones it does not use.
fn check(r: &RuleBody) -> Result<(), ApiError> {
    let mut c = Check::default();
    c.take("name", validate::text(&r.name, validate::MAX_TEXT));
    if let (Some(s), Some(e)) = (r.starts_at, r.ends_at)
        && s >= e
    {
        c.fail("ends_at", "must be after starts_at");
    }
    for (i, ch) in r.channels.iter().enumerate() {
        if !CHANNELS.contains(&ch.as_str()) {
            c.fail(
                &format!("channels[{i}]"),
                "must be one of store, web, app, phone, marketplace",
            );
        }
    }
    let points_ok = r.points.is_some_and(|p| (1..=1_000_000).contains(&p));
    let needs = |c: &mut Check, field: &str, ok: bool, what: &str| {
        if !ok {
            c.fail(field, what);
        }
    };
    let unused = |c: &mut Check, field: &str, present: bool| {
        if present {
            c.fail(field, "is not used by this kind of rule");
        }
    };
    match r.kind {
        RuleKind::Multiplier => {
            needs(
                &mut c,
                "multiplier_percent",
                r.multiplier_percent
                    .is_some_and(|m| (100..=1000).contains(&m)),
                "must be 100 to 1000",
            );
            let m = r.line_match.clone().unwrap_or_default();
            needs(
                &mut c,
                "match",
                m.category.is_some() != m.sku.is_some(),
                "give exactly one of category and sku",
            );
            unused(&mut c, "points", r.points.is_some());
        }
        RuleKind::PurchaseBonus => {
            needs(&mut c, "points", points_ok, "must be 1 to 1000000");
            needs(
                &mut c,
                "min_total_minor",
                r.min_total_minor.is_some_and(|m| m >= 1),
                "must be at least 1",
            );
        }
        RuleKind::FirstPurchaseBonus | RuleKind::BirthdayMonthBonus => {
            needs(&mut c, "points", points_ok, "must be 1 to 1000000")
        }
        RuleKind::EventBonus => {
            needs(&mut c, "points", points_ok, "must be 1 to 1000000");
            needs(
                &mut c,
                "event_name",
                r.event_name
                    .as_deref()
                    .is_some_and(|n| validate::text(n, 100).is_ok()),
                "must be 1 to 100 characters",
            );
            if r.limit.is_some_and(|l| l < 1) {
                c.fail("limit", "must be at least 1");
            }
        }
    }
    if r.kind != RuleKind::Multiplier {
        unused(&mut c, "multiplier_percent", r.multiplier_percent.is_some());
        unused(&mut c, "match", r.line_match.is_some());
    }
    if r.kind != RuleKind::PurchaseBonus {
        unused(&mut c, "min_total_minor", r.min_total_minor.is_some());
    }
    if r.kind != RuleKind::EventBonus {
        unused(&mut c, "event_name", r.event_name.is_some());
        unused(&mut c, "limit", r.limit.is_some());
        unused(&mut c, "limit_period", r.limit_period.is_some());
    }
    c.finish()
}

fn row(
    id: String,
    r: &RuleBody,
    created_at: chrono::NaiveDateTime,
    now: chrono::NaiveDateTime,
) -> Result<RuleRow, ApiError> {
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned());
    Ok(RuleRow {
        id,
        name: r.name.trim().to_owned(),
        kind: r.kind.as_str().to_owned(),
        active: r.active,
        starts_at: r.starts_at.map(|t| t.naive_utc()),
        ends_at: r.ends_at.map(|t| t.naive_utc()),
        tier_ids: json(&r.tier_ids),
        store_ids: json(&r.store_ids),
        channels: json(&r.channels),
        params: serde_json::to_string(r).map_err(|e| ApiError::internal(e.into()))?,
        event_name: r.event_name.clone(),
        created_at,
        updated_at: now,
    })
}

/// Every earning rule.
#[utoipa::path(tag = "earning-rules", security(("bearer" = [])), responses((status = 200, body = Vec<RuleResponse>), (status = 403, body = Problem)))]
#[get("/earning-rules")]
async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::PROGRAM_READ)?;
    let rows = db::run(&state.pool, repo::all).await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(response)
            .collect::<Result<Vec<_>, _>>()?,
    ))
}

/// Create an earning rule.
#[utoipa::path(tag = "earning-rules", request_body = RuleBody, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "optional; the first answer is replayed for the same request")),
    responses((status = 201, body = RuleResponse), (status = 400, body = Problem), (status = 403, body = Problem)))]
#[post("/earning-rules")]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Body<RuleBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::PROGRAM_WRITE)?;
    let body = body.read().await?;
    let canonical = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.into()))?;
    check(&body)?;
    let now = state.clock.now_naive();
    let new = row(uuid::Uuid::now_v7().to_string(), &body, now, now)?;
    let actor = caller.actor();
    idempotency::created(&state, &req, &caller, &canonical, move |c| {
        repo::save(c, &new)?;
        audit::record(
            c,
            &actor,
            "earning_rule.create",
            "earning_rule",
            &new.id,
            now,
        )?;
        response(new.clone())
    })
    .await
}

fn merge(target: &mut serde_json::Value, patch: serde_json::Value) {
    match (target, patch) {
        (serde_json::Value::Object(t), serde_json::Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    merge(t.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
        }
        (t, p) => *t = p,
    }
}

/// Change an earning rule with a JSON merge patch (`null` removes a field).
#[utoipa::path(tag = "earning-rules", request_body = Object, security(("bearer" = [])),
    responses((status = 200, body = RuleResponse), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[patch("/earning-rules/{id}")]
async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    patch: Body<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::PROGRAM_WRITE)?;
    let patch = patch.read().await?;
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "A merge patch must be a JSON object",
        ));
    }
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let saved = db::run(&state.pool, move |c| {
        db::write(c, |c| -> Result<RuleRow, ApiError> {
            let current = repo::find_for_update(c, &id)?
                .ok_or_else(|| ApiError::not_found("Earning rule"))?;
            let mut doc: serde_json::Value =
                serde_json::from_str(&current.params).map_err(|e| ApiError::internal(e.into()))?;
            merge(&mut doc, patch.clone());
            let body: RuleBody = serde_json::from_value(doc).map_err(|e| {
                ApiError::bad_request("invalid_body", format!("The patched rule is invalid: {e}"))
            })?;
            check(&body)?;
            let new = row(current.id, &body, current.created_at, now)?;
            repo::save(c, &new)?;
            audit::record(
                c,
                &actor,
                "earning_rule.update",
                "earning_rule",
                &new.id,
                now,
            )?;
            Ok(new)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(response(saved)?))
}

/// Delete an earning rule (one that has awarded event points cannot be; deactivate it instead).
#[utoipa::path(tag = "earning-rules", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "`rule_in_use`", body = Problem)))]
#[delete("/earning-rules/{id}")]
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
            let deleted = repo::delete(c, &id).map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                    _,
                ) => ApiError::conflict(
                    "rule_in_use",
                    "This rule has awarded points; set active to false instead",
                ),
                e => e.into(),
            })?;
            if !deleted {
                return Err(ApiError::not_found("Earning rule"));
            }
            Ok(audit::record(
                c,
                &actor,
                "earning_rule.delete",
                "earning_rule",
                &id,
                now,
            )?)
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

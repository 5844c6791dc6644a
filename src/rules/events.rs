//! Custom events (`POST /v1/customers/{id}/events`): a backend reports what a customer did
//! (wrote a review, completed their profile); matching `event_bonus` rules award points within
//! their per-period limits.
//!
//! Limits count awards by the period in which Patron received the event, not by `occurred_at`:
//! otherwise back-dated events would each fall into an earlier, still empty period and escape
//! the limit. `occurred_at` may lie at most the program's `event_backdate_days` in the past.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{Context, RuleBody, repo};
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::customers::validate::{self, Check};
use crate::db::DbConnection;
use crate::db::schema::customer_events;
use crate::error::{ApiError, FieldError, Problem};
use crate::idempotency::{self, Outcome};
use crate::points::EntryKind;
use crate::points::ledger::{self, Posting};
use crate::points::routes::BalanceResponse;
use crate::{audit, customers, db, program, tiers};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(record_event);
}

/// Something the customer did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// Not blank, up to 100 characters, e.g. `review_written`.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// Not more than 5 minutes in the future.
    occurred_at: DateTime<Utc>,
    /// Free-form string properties: up to 50; keys not blank and up to 64 characters, values up
    /// to 1024.
    #[serde(default)]
    #[schema(schema_with = validate::attributes_schema)]
    properties: std::collections::BTreeMap<String, String>,
}

/// The recorded event and what it earned.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResponse {
    id: String,
    name: String,
    occurred_at: DateTime<Utc>,
    points_awarded: i64,
    /// The rule that awarded them; null when no rule applied or its limit was reached.
    rule_id: Option<String>,
    balance: BalanceResponse,
}

/// Awards of a rule to a customer received since `since` (all of them for `None`).
fn awards_in_period(
    c: &mut DbConnection,
    rule_id: &str,
    customer_id: &str,
    since: Option<NaiveDateTime>,
) -> QueryResult<i64> {
    let mut q = customer_events::table
        .filter(customer_events::rule_id.eq(rule_id))
        .filter(customer_events::customer_id.eq(customer_id))
        .into_boxed();
    if let Some(since) = since {
        q = q.filter(customer_events::created_at.ge(since));
    }
    q.count().get_result(c)
}

/// Refuses an event older than the program's `event_backdate_days`.
fn check_age(
    settings: &program::ProgramSettings,
    at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let days = settings.event_backdate_days;
    let oldest = u64::try_from(days)
        .ok()
        .and_then(|d| now.checked_sub_days(chrono::Days::new(d)));
    match oldest {
        Some(oldest) if at >= oldest => Ok(()),
        _ => Err(ApiError::validation(vec![FieldError::new(
            "occurred_at",
            format!("must be within the last {days} days (the program's event_backdate_days)"),
        )])),
    }
}

/// Records an event and awards the best applicable bonus whose limit is not reached.
fn record(
    c: &mut DbConnection,
    actor: &Actor,
    customer_id: &str,
    e: &EventRequest,
    properties: String,
    now: NaiveDateTime,
) -> Result<EventResponse, ApiError> {
    db::write(c, |c| -> Result<EventResponse, ApiError> {
        // A merged record's id records for the surviving customer; an erased one is refused.
        let customer_id = &customers::service::live(c, customer_id)?.id;
        // Serialises this customer's events, so limits cannot be raced past.
        ledger::lock(c, customer_id)?;
        let at = e.occurred_at.naive_utc();
        let settings = program::repo::load(c)?;
        check_age(&settings, at, now)?;
        let (_, tier) = tiers::service::multiplier(c, customer_id)?;
        let ctx = Context {
            at,
            tier_id: tier.as_ref().map(|t| t.id.as_str()),
            store_id: None,
            channel: None,
        };
        let mut candidates: Vec<(String, RuleBody)> = Vec::new();
        for row in repo::for_event(c, &e.name)? {
            let body = row.body()?;
            if body.admits(ctx) {
                candidates.push((row.id, body));
            }
        }
        candidates.sort_by_key(|(_, b)| std::cmp::Reverse(b.points.unwrap_or(0)));
        let mut award = None;
        for (id, body) in candidates {
            let within = match body.limit {
                Some(limit) => {
                    awards_in_period(c, &id, customer_id, body.period_start(now))? < limit
                }
                None => true,
            };
            if within {
                award = Some((id, body.points.unwrap_or(0)));
                break;
            }
        }
        let event_id = uuid::Uuid::now_v7().to_string();
        let points = award.as_ref().map_or(0, |(_, p)| *p);
        diesel::insert_into(customer_events::table)
            .values((
                customer_events::id.eq(&event_id),
                customer_events::customer_id.eq(customer_id),
                customer_events::name.eq(&e.name),
                customer_events::occurred_at.eq(at),
                customer_events::properties.eq(&properties),
                customer_events::rule_id.eq(award.as_ref().map(|(id, _)| id.as_str())),
                customer_events::points.eq(points),
                customer_events::created_at.eq(now),
            ))
            .execute(c)?;
        if points > 0 {
            let bonus = Posting {
                customer_id: customer_id.to_owned(),
                kind: EntryKind::Bonus,
                points,
                pending: 0,
                negative: 0,
                source_type: "event".to_owned(),
                source_id: event_id.clone(),
                lot_id: None,
                note: Some(e.name.clone()),
                expires_at: None,
            };
            ledger::credit_new_lot(c, bonus, settings.expiry_months, now).map_err(|e| match e {
                ledger::LedgerError::Overflow => {
                    ApiError::unprocessable("points_overflow", e.to_string())
                }
                e => ApiError::internal(anyhow::anyhow!("{e}")),
            })?;
            tiers::service::qualifying_changed(c, customer_id, points, now, &settings, now)?;
        }
        audit::record(c, actor, "event.record", "customer", customer_id, now)?;
        crate::timeline::record(
            c,
            crate::timeline::NewEvent {
                customer_id,
                kind: crate::timeline::Kind::Event,
                channel: crate::timeline::channel_of(actor),
                summary: if points > 0 {
                    format!("Event {}: {points} bonus points", e.name)
                } else {
                    format!("Event {}", e.name)
                },
                ref_type: "event",
                ref_id: &event_id,
                occurred_at: at,
            },
            now,
        )?;
        let balance = ledger::balance(c, customer_id, now)?;
        let next = ledger::next_expiry(c, customer_id)?;
        Ok(EventResponse {
            id: event_id,
            name: e.name.clone(),
            occurred_at: e.occurred_at,
            points_awarded: points,
            rule_id: award.map(|(id, _)| id),
            balance: BalanceResponse::new(balance, next),
        })
    })
}

/// Report a custom event for a customer. Needs an `Idempotency-Key`.
#[utoipa::path(tag = "points", request_body = EventRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = EventResponse), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, description = "`customer_erased`, `points_overflow`", body = Problem)))]
#[post("/customers/{id}/events")]
async fn record_event(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<EventRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::EVENTS_WRITE)?;
    let body = body.read().await?;
    let canonical = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.into()))?;
    let key = idempotency::key_from(&req, &caller, &canonical, true)?;
    let now = state.clock.now();
    let mut c = Check::default();
    c.take("name", validate::text(&body.name, 100));
    if body.occurred_at > now + Duration::minutes(5) {
        c.fail("occurred_at", "must not be in the future");
    }
    let properties = validate::attributes(&body.properties);
    let properties = c
        .take("properties", properties)
        .map(|p| serde_json::to_string(&p).unwrap_or_else(|_| "{}".to_owned()));
    c.finish()?;
    let properties = properties.unwrap_or_else(|| "{}".to_owned());
    let actor = caller.actor();
    let customer_id = id.into_inner();
    let outcome = db::run(&state.pool, move |conn| {
        idempotency::execute(conn, key.as_ref(), now.naive_utc(), |c| {
            let response = record(
                c,
                &actor,
                &customer_id,
                &body,
                properties.clone(),
                now.naive_utc(),
            )?;
            Outcome::json(StatusCode::CREATED, &response)
        })
    })
    .await?;
    Ok(outcome.into_response())
}

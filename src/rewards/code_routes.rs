//! Redemptions and codes: `/v1/customers/{id}/redemptions`, `/v1/me/redemptions`,
//! `/v1/codes/{code}` (validate, use, cancel), `/v1/me/codes`, `/v1/me/rewards`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::routes::RewardResponse;
use super::service::{self, Redeemed};
use super::{CodeRow, LocalizedText, display_code, normalise_code, repo};
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::{Caller, CustomerCaller, Permission};
use crate::body::Body;
use crate::customers::validate::{self, Check};
use crate::error::{ApiError, Problem, store_mismatch};
use crate::idempotency::{self, Outcome};
use crate::points::ledger;
use crate::points::routes::BalanceResponse;
use crate::{customers, db};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(redeem_for_customer)
        .service(redeem_mine)
        .service(my_codes)
        .service(my_rewards)
        .service(get_code)
        .service(use_code)
        .service(cancel_code);
}

/// Which reward to redeem.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    reward_id: String,
}

/// A redeemed reward's code.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionResponse {
    /// The code to show at the till, e.g. `7KQ9-M2XD-4HPT`.
    code: String,
    reward: RewardResponse,
    points_spent: i64,
    expires_at: DateTime<Utc>,
    balance: BalanceResponse,
}

/// A code and what became of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeResponse {
    code: String,
    /// issued, used, expired or cancelled.
    status: String,
    reward_id: String,
    customer_id: String,
    points_spent: i64,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    used_store_id: Option<String>,
    used_purchase_external_id: Option<String>,
    cancelled_at: Option<DateTime<Utc>>,
    /// The store whose bound API key redeemed the code, if any.
    redeemed_store_id: Option<String>,
}

fn code_response(c: CodeRow, now: chrono::NaiveDateTime) -> CodeResponse {
    CodeResponse {
        status: c.status_at(now).to_owned(),
        code: display_code(&c.code),
        reward_id: c.reward_id,
        customer_id: c.customer_id,
        points_spent: c.points_spent,
        issued_at: c.issued_at.and_utc(),
        expires_at: c.expires_at.and_utc(),
        used_at: c.used_at.map(|t| t.and_utc()),
        used_store_id: c.used_store_id,
        used_purchase_external_id: c.used_purchase_external_id,
        cancelled_at: c.cancelled_at.map(|t| t.and_utc()),
        redeemed_store_id: c.redeemed_store_id,
    }
}

/// Using a code at the till.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UseCodeRequest {
    /// Defaults to the API key's store. Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    store_id: Option<String>,
    /// The order the code was used on. Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    purchase_external_id: Option<String>,
}

/// A cancelled code and the balance with its points back.
#[derive(Debug, Serialize, ToSchema)]
pub struct CancelResponse {
    code: CodeResponse,
    balance: BalanceResponse,
}

/// A catalogue entry for the customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyReward {
    id: String,
    /// In the customer's locale.
    name: String,
    description: String,
    kind: String,
    percent_off: Option<i64>,
    amount_off_minor: Option<i64>,
    sku: Option<String>,
    cost_points: i64,
    /// The customer has enough available points.
    affordable: bool,
    /// The reward needs a higher tier than the customer's.
    locked_by_tier: bool,
    valid_until: Option<DateTime<Utc>>,
}

async fn redeem(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    actor: Actor,
    customer_id: String,
    body: RedeemRequest,
) -> Result<HttpResponse, ApiError> {
    let canonical = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.into()))?;
    let key = idempotency::key_from(req, caller, &canonical, true)?;
    let now = state.clock.now_naive();
    let store = caller.bound_store().map(str::to_owned);
    let outcome = db::run(&state.pool, move |conn| {
        // `execute_with` runs the operation inside its write transaction; the key goes in
        // the redemption's own round trip when its answer is known before it is written.
        idempotency::execute_with(conn, key.as_ref(), now, |c, key| {
            let mut answered = None;
            let (redeemed, stored) = service::redeem(
                c,
                &actor,
                &customer_id,
                &body.reward_id,
                store.as_deref(),
                now,
                |redeemed, batch| {
                    let key = key?;
                    let next = redeemed.next_expiry?;
                    let outcome = response(redeemed.clone(), next).ok()?;
                    let index = key.push(batch, &outcome);
                    answered = Some(outcome);
                    Some(index)
                },
            )?;
            if let (Some(outcome), Some(_)) = (answered, stored) {
                return Ok((outcome, stored));
            }
            let next = match redeemed.next_expiry {
                Some(known) => known,
                // Lots the redemption did not read may count: read them. The code's owner is
                // the customer (a merged record's id redeems for the survivor).
                None => {
                    let window = crate::cache::program(c)?.tier_window_months;
                    crate::points::summary::read(c, &redeemed.code.customer_id, now, window)?
                        .and_then(|s| s.next_expiry)
                }
            };
            Ok((response(redeemed, next)?, None))
        })
    })
    .await?;
    Ok(outcome.into_response())
}

/// The answer to a redemption whose soonest expiry after it is `next`.
fn response(
    redeemed: Redeemed,
    next: Option<(i64, chrono::NaiveDateTime)>,
) -> Result<Outcome, ApiError> {
    let Redeemed {
        code,
        reward,
        balance,
        ..
    } = redeemed;
    Outcome::json(
        StatusCode::CREATED,
        &RedemptionResponse {
            code: display_code(&code.code),
            points_spent: code.points_spent,
            expires_at: code.expires_at.and_utc(),
            reward: reward.into(),
            balance: BalanceResponse::new(balance, next),
        },
    )
}

/// Redeem a reward for a customer (API key `rewards:redeem`, support or admin). Needs an `Idempotency-Key`.
#[utoipa::path(tag = "rewards", request_body = RedeemRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = RedemptionResponse), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "`insufficient_points`, `out_of_stock`, `reward_limit_reached`, `reward_unavailable`, `tier_required`, `customer_erased`", body = Problem)))]
#[post("/customers/{id}/redemptions")]
async fn redeem_for_customer(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<RedeemRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::REWARDS_REDEEM)?;
    let actor = caller.actor();
    redeem(
        &state,
        &req,
        &caller,
        actor,
        id.into_inner(),
        body.read().await?,
    )
    .await
}

/// The customer redeems a reward. Needs an `Idempotency-Key`.
#[utoipa::path(tag = "me", request_body = RedeemRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = RedemptionResponse), (status = 400, body = Problem), (status = 404, description = "`not_found`: no such reward", body = Problem),
        (status = 422, description = "`insufficient_points`, `out_of_stock`, `reward_limit_reached`, `reward_unavailable`, `tier_required`", body = Problem)))]
#[post("/me/redemptions")]
async fn redeem_mine(
    state: web::Data<AppState>,
    caller: CustomerCaller,
    req: HttpRequest,
    body: Body<RedeemRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = caller.customer_id.0.clone();
    let as_caller = Caller::Customer(caller);
    redeem(
        &state,
        &req,
        &as_caller,
        Actor::Customer(id.clone()),
        id,
        body.read().await?,
    )
    .await
}

/// The customer's codes, newest first (up to 200).
#[utoipa::path(tag = "me", security(("bearer" = [])), responses((status = 200, body = Vec<CodeResponse>)))]
#[get("/me/codes")]
async fn my_codes(
    state: web::Data<AppState>,
    caller: CustomerCaller,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now_naive();
    let rows = db::run(&state.pool, move |c| {
        repo::codes_of(c, &caller.customer_id.0, 200)
    })
    .await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(|r| code_response(r, now))
            .collect::<Vec<_>>(),
    ))
}

/// The rewards the customer can see, with whether they can afford each.
#[utoipa::path(tag = "me", security(("bearer" = [])), responses((status = 200, body = Vec<MyReward>)))]
#[get("/me/rewards")]
async fn my_rewards(
    state: web::Data<AppState>,
    caller: CustomerCaller,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now_naive();
    let (customer, balance, rewards) = db::run(&state.pool, move |c| -> Result<_, ApiError> {
        let customer = customers::repo::resolve(c, &caller.customer_id.0)?
            .ok_or_else(|| ApiError::not_found("Customer"))?;
        let id = customer.id.clone();
        let balance = ledger::balance(c, &id, now)?;
        let rewards = repo::list(c, None, true, 200)?;
        let mut locked = Vec::new();
        for r in &rewards {
            locked.push(!service::meets_tier(c, &id, r.min_tier_id.as_deref())?);
        }
        Ok((
            customer,
            balance,
            rewards.into_iter().zip(locked).collect::<Vec<_>>(),
        ))
    })
    .await?;
    let locale = customer.locale.as_deref();
    let data: Vec<MyReward> = rewards
        .into_iter()
        .filter(|(r, _)| r.is_available(now))
        .map(|(r, locked_by_tier)| MyReward {
            name: LocalizedText::from_stored(&r.name).resolve(locale),
            description: LocalizedText::from_stored(&r.description).resolve(locale),
            affordable: balance.available >= r.cost_points,
            locked_by_tier,
            valid_until: r.valid_until.map(|t| t.and_utc()),
            id: r.id,
            kind: r.kind,
            percent_off: r.percent_off,
            amount_off_minor: r.amount_off_minor,
            sku: r.sku,
            cost_points: r.cost_points,
        })
        .collect();
    Ok(HttpResponse::Ok().json(data))
}

/// Validate a code: its status, reward and customer.
#[utoipa::path(tag = "codes", security(("bearer" = [])),
    responses((status = 200, body = CodeResponse), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/codes/{code}")]
async fn get_code(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CODES_USE)?;
    let now = state.clock.now_naive();
    let code = normalise_code(&code);
    let row = db::run(&state.pool, move |c| repo::find_code(c, &code))
        .await?
        .ok_or_else(|| ApiError::not_found("Code"))?;
    Ok(HttpResponse::Ok().json(code_response(row, now)))
}

/// Use a code at the till (once). Needs an `Idempotency-Key`.
#[utoipa::path(tag = "codes", request_body = UseCodeRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 200, body = CodeResponse), (status = 400, body = Problem), (status = 403, description = "`store_mismatch`: the API key is bound to another store", body = Problem),
        (status = 404, body = Problem), (status = 409, description = "`code_not_usable` (used, cancelled or expired)", body = Problem)))]
#[post("/codes/{code}/use")]
async fn use_code(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
    body: Body<UseCodeRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CODES_USE)?;
    let body = body.read_optional().await?.unwrap_or_default();
    let canonical = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.into()))?;
    let key = idempotency::key_from(&req, &caller, &canonical, true)?;
    let mut c = Check::default();
    let store = match (caller.bound_store(), body.store_id) {
        (Some(b), Some(g)) if b != g => return Err(store_mismatch()),
        (Some(b), _) => Some(b.to_owned()),
        (None, g) => g.and_then(|s| c.take("store_id", validate::text(&s, validate::MAX_TEXT))),
    };
    let purchase = body.purchase_external_id.and_then(|p| {
        c.take(
            "purchase_external_id",
            validate::text(&p, validate::MAX_TEXT),
        )
    });
    c.finish()?;
    let code = normalise_code(&code);
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let outcome = db::run(&state.pool, move |conn| {
        idempotency::execute(conn, key.as_ref(), now, |c| {
            let row =
                service::use_code(c, &actor, &code, store.as_deref(), purchase.as_deref(), now)?;
            Outcome::json(StatusCode::OK, &code_response(row, now))
        })
    })
    .await?;
    Ok(outcome.into_response())
}

/// Cancel an unused code; its points come back.
#[utoipa::path(tag = "codes", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "optional; the first answer is replayed for the same request")),
    responses((status = 200, body = CancelResponse), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`code_not_cancellable`", body = Problem)))]
#[post("/codes/{code}/cancel")]
async fn cancel_code(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CODES_USE)?;
    let key = idempotency::key_from(&req, &caller, b"", false)?;
    let code = normalise_code(&code);
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let store = caller.bound_store().map(str::to_owned);
    let outcome = db::run(&state.pool, move |conn| {
        idempotency::execute(conn, key.as_ref(), now, |c| {
            let (row, balance) = service::cancel_code(c, &actor, &code, store.as_deref(), now)?;
            let next = ledger::next_expiry(c, &row.customer_id)?;
            Outcome::json(
                StatusCode::OK,
                &CancelResponse {
                    code: code_response(row, now),
                    balance: BalanceResponse::new(balance, next),
                },
            )
        })
    })
    .await?;
    Ok(outcome.into_response())
}

//! Balances and history: `/v1/customers/{id}/points…` and `/v1/me/points…`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{BalanceRow, EntryRow, ledger};
use crate::app::AppState;
use crate::auth::{Caller, CustomerCaller, Permission};
use crate::body::Body;
use crate::customers::validate::{self, Check};
use crate::error::{ApiError, Problem};
use crate::idempotency::{self, Outcome};
use crate::pagination::PageQuery;
use crate::{customers, db, pagination};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(balance_of)
        .service(history_of)
        .service(adjust)
        .service(my_balance)
        .service(my_history);
}

/// Points expiring next.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextExpiry {
    points: i64,
    at: DateTime<Utc>,
}

/// A balance. `available`, `pending` and `negative` equal the sums of the history's `points`,
/// `pending` and `negative`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceResponse {
    available: i64,
    pending: i64,
    /// Debt left by returns of points already spent (return policy `allow_negative`).
    negative: i64,
    lifetime_earned: i64,
    redeemed: i64,
    expired: i64,
    next_expiry: Option<NextExpiry>,
    /// Tier and progress (on the balance endpoints).
    #[serde(skip_serializing_if = "Option::is_none")]
    tier: Option<crate::tiers::routes::TierProgress>,
}

impl BalanceResponse {
    /// From the balance row and the soonest expiry.
    pub fn new(b: BalanceRow, next_expiry: Option<(i64, NaiveDateTime)>) -> Self {
        Self {
            available: b.available,
            pending: b.pending,
            negative: b.negative,
            lifetime_earned: b.lifetime_earned,
            redeemed: b.redeemed,
            expired: b.expired,
            next_expiry: next_expiry.map(|(points, at)| NextExpiry {
                points,
                at: at.and_utc(),
            }),
            tier: None,
        }
    }

    /// Adds the tier progress.
    pub fn with_tier(mut self, status: crate::tiers::service::TierStatus) -> Self {
        self.tier = Some(status.into());
        self
    }
}

/// Where an entry came from.
#[derive(Debug, Serialize, ToSchema)]
pub struct Source {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

/// An immutable ledger entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryResponse {
    id: String,
    /// The entry's place in the customer's ledger (1, 2, 3, …), assigned when it was applied;
    /// history is ordered by it, and each `balance_after` continues from the entry before.
    seq: i64,
    /// earn, bonus, release, redeem, reverse, expire, adjust, refund.
    kind: String,
    /// Change of the available balance.
    points: i64,
    /// Change of the pending balance.
    pending: i64,
    /// Change of the debt (`negative`) left by returns of points already spent.
    negative: i64,
    balance_after: i64,
    pending_after: i64,
    source: Source,
    note: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

impl From<EntryRow> for EntryResponse {
    fn from(e: EntryRow) -> Self {
        Self {
            id: e.id,
            seq: e.seq,
            kind: e.kind,
            points: e.points,
            pending: e.pending,
            negative: e.negative,
            balance_after: e.balance_after,
            pending_after: e.pending_after,
            source: Source {
                kind: e.source_type,
                id: e.source_id,
            },
            note: e.note,
            created_at: e.created_at.and_utc(),
            expires_at: e.expires_at.map(|t| t.and_utc()),
        }
    }
}

/// A page of history, newest first (by `seq`).
#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    data: Vec<EntryResponse>,
    next_cursor: Option<String>,
}

async fn balance(state: &AppState, customer_id: String) -> Result<BalanceResponse, ApiError> {
    let now = state.clock.now_naive();
    db::run(&state.pool, move |c| -> Result<_, ApiError> {
        let program = crate::cache::program(c)?;
        let window = program.tier_window_months;
        let found = match super::summary::read(c, &customer_id, now, window)? {
            Some(found) => found,
            None => {
                // A merged record's id reads the surviving customer's balance.
                let survivor = customers::repo::resolve(c, &customer_id)?
                    .ok_or_else(|| ApiError::not_found("Customer"))?
                    .id;
                // Every customer has a balance row from creation on.
                super::summary::read(c, &survivor, now, window)?
                    .ok_or_else(|| ApiError::not_found("Customer"))?
            }
        };
        let tiers = crate::cache::tiers(c)?;
        // Without tiers nobody holds one (a customer's tier row references a tier).
        let held = found.tier.filter(|_| !tiers.is_empty());
        let tier = crate::tiers::service::status_from(&tiers, &program, held, found.qualifying);
        Ok(BalanceResponse::new(found.balance, found.next_expiry).with_tier(tier))
    })
    .await
}

async fn history(
    state: &AppState,
    customer_id: String,
    query: PageQuery,
) -> Result<History, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let before = query
        .cursor
        .as_deref()
        .map(pagination::decode_seq)
        .transpose()?;
    let mut rows = db::run(&state.pool, move |c| -> Result<_, ApiError> {
        // A merged record's id reads the surviving customer's history (which holds its entries).
        let customer_id = customers::repo::resolve(c, &customer_id)?
            .ok_or_else(|| ApiError::not_found("Customer"))?
            .id;
        Ok(ledger::history(c, &customer_id, before, limit + 1)?)
    })
    .await?;
    let next_cursor = pagination::next_page(&mut rows, limit, |e| e.seq.to_string());
    Ok(History {
        data: rows.into_iter().map(EntryResponse::from).collect(),
        next_cursor,
    })
}

/// A customer's balance (O(1): one row and the soonest lot).
#[utoipa::path(tag = "points", security(("bearer" = [])),
    responses((status = 200, body = BalanceResponse), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/customers/{id}/points")]
async fn balance_of(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::POINTS_READ)?;
    Ok(HttpResponse::Ok().json(balance(&state, id.into_inner()).await?))
}

/// A customer's ledger entries, newest first.
#[utoipa::path(tag = "points", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = History), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/customers/{id}/points/history")]
async fn history_of(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::POINTS_READ)?;
    let query: PageQuery = crate::body::query(req.query_string())?;
    Ok(HttpResponse::Ok().json(history(&state, id.into_inner(), query).await?))
}

/// The customer's own balance.
#[utoipa::path(tag = "me", security(("bearer" = [])),
    responses((status = 200, body = BalanceResponse), (status = 403, body = Problem)))]
#[get("/me/points")]
async fn my_balance(
    state: web::Data<AppState>,
    caller: CustomerCaller,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(balance(&state, caller.customer_id.0).await?))
}

/// The customer's own ledger entries, newest first.
#[utoipa::path(tag = "me", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = History), (status = 403, body = Problem)))]
#[get("/me/points/history")]
async fn my_history(
    state: web::Data<AppState>,
    caller: CustomerCaller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(history(&state, caller.customer_id.0, query.into_inner()).await?))
}

/// A manual adjustment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    /// Non-zero, at most 1,000,000,000 either way; negative takes points away (never below zero).
    #[schema(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    points: i64,
    /// Why (not blank, up to 200 characters; kept in the audit log).
    #[schema(min_length = 1, max_length = 200)]
    reason: String,
    /// Shown to the customer in their history instead of the reason (not blank, up to 200 characters).
    #[schema(min_length = 1, max_length = 200)]
    note_for_customer: Option<String>,
}

/// The entry an adjustment posted and the balance after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentResponse {
    entry: EntryResponse,
    balance: BalanceResponse,
}

/// Add or take away points by hand. Needs an `Idempotency-Key`.
#[utoipa::path(tag = "points", request_body = AdjustmentRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters")),
    responses((status = 201, body = AdjustmentResponse), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, description = "`insufficient_points`, `points_overflow`, `idempotency_key_reused`, `customer_erased`", body = Problem)))]
#[post("/customers/{id}/points/adjustments")]
async fn adjust(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<AdjustmentRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::POINTS_WRITE)?;
    let body = body.read().await?;
    let canonical = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.into()))?;
    let key = idempotency::key_from(&req, &caller, &canonical, true)?;
    let mut c = Check::default();
    if body.points == 0 || body.points.unsigned_abs() > 1_000_000_000 {
        c.fail(
            "points",
            "must be non-zero and at most 1000000000 either way",
        );
    }
    let reason = c.take("reason", validate::text(&body.reason, validate::MAX_TEXT));
    let note = body
        .note_for_customer
        .and_then(|n| c.take("note_for_customer", validate::text(&n, validate::MAX_TEXT)));
    c.finish()?;
    let adjustment = super::service::Adjustment {
        customer_id: id.into_inner(),
        points: body.points,
        reason: reason.unwrap_or_default(),
        note_for_customer: note,
    };
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let outcome = db::run(&state.pool, move |conn| {
        idempotency::execute(conn, key.as_ref(), now, |c| {
            let (entry, balance) = super::service::adjust(c, &actor, adjustment.clone(), now)?;
            let next = ledger::next_expiry(c, &entry.customer_id)?;
            Outcome::json(
                StatusCode::CREATED,
                &AdjustmentResponse {
                    entry: entry.into(),
                    balance: BalanceResponse::new(balance, next),
                },
            )
        })
    })
    .await?;
    Ok(outcome.into_response())
}

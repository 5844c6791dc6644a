//! `POST /v1/purchases/{id}/returns`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::returns::{self, NewReturn, ReturnItems, Returned};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::customers::validate::{self, Check};
use crate::db::DbConnection;
use crate::error::{ApiError, Problem};
use crate::idempotency::{self, Outcome};
use crate::points::routes::BalanceResponse;
use crate::{db, points};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(record_return);
}

/// A returned line.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnLine {
    sku: String,
    #[schema(minimum = 1, maximum = 1_000_000)]
    quantity: i64,
}

/// A return: `lines` for a purchase recorded with lines, `amount_minor` for one without.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    /// The return's id in the store's system: recorded once. Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    external_id: String,
    /// 1 to 500 lines; give either `lines` or `amount_minor`.
    #[schema(min_items = 1, max_items = 500)]
    lines: Option<Vec<ReturnLine>>,
    /// For a purchase recorded without lines.
    #[schema(minimum = 1, maximum = 10_000_000_000_000_i64)]
    amount_minor: Option<i64>,
}

/// A recorded return.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnResponse {
    id: String,
    external_id: String,
    purchase_id: String,
    amount_minor: i64,
    /// Points taken back for what came back.
    points_reversed: i64,
    /// Of those, points already spent that became debt (`allow_negative`) or were forgiven
    /// (`within_balance`).
    uncovered_points: i64,
    /// Returned so far on the purchase.
    purchase_returned_minor: i64,
    created_at: DateTime<Utc>,
    balance: BalanceResponse,
}

impl ReturnRequest {
    fn parse(self, purchase_id: String, bound_store: Option<&str>) -> Result<NewReturn, ApiError> {
        let request_hash = hex::encode(Sha256::digest(
            serde_json::to_vec(&self).unwrap_or_default(),
        ));
        let mut c = Check::default();
        let external_id = c.take(
            "external_id",
            validate::text(&self.external_id, validate::MAX_TEXT),
        );
        let items = match (self.lines, self.amount_minor) {
            (Some(lines), None) if !lines.is_empty() && lines.len() <= super::routes::MAX_LINES => {
                for (i, l) in lines.iter().enumerate() {
                    if !(1..=1_000_000).contains(&l.quantity) {
                        c.fail(
                            &format!("lines[{i}].quantity"),
                            "must be between 1 and 1000000",
                        );
                    }
                }
                Some(ReturnItems::Lines(
                    lines.into_iter().map(|l| (l.sku, l.quantity)).collect(),
                ))
            }
            (None, Some(amount)) if (1..=super::routes::MAX_AMOUNT).contains(&amount) => {
                Some(ReturnItems::Amount(amount))
            }
            (None, Some(_)) => {
                c.fail("amount_minor", "must be at least 1");
                None
            }
            _ => {
                c.fail("lines", "give either 1 to 500 lines or amount_minor");
                None
            }
        };
        c.finish()?;
        Ok(NewReturn {
            purchase_id,
            bound_store: bound_store.map(str::to_owned),
            external_id: external_id.unwrap_or_default(),
            items: items.unwrap_or(ReturnItems::Amount(0)),
            request_hash,
        })
    }
}

/// Return all or part of a purchase. A retry with the same body answers 200 with `Idempotent-Replayed: true`.
#[utoipa::path(tag = "purchases", request_body = ReturnRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "optional; the external_id already makes retries safe")),
    responses((status = 201, body = ReturnResponse), (status = 200, description = "already recorded (retry)", body = ReturnResponse),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`return_conflict`", body = Problem),
        (status = 422, description = "`return_exceeds_purchase`, `invalid_return`", body = Problem)))]
#[post("/purchases/{id}/returns")]
async fn record_return(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<ReturnRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::PURCHASES_WRITE)?;
    let body = body.read().await?;
    let canonical = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.into()))?;
    let key = idempotency::key_from(&req, &caller, &canonical, false)?;
    let cmd = body.parse(id.into_inner(), caller.bound_store())?;
    let now = state.clock.now_naive();
    let outcome = db::run(&state.pool, move |c| {
        let op = |c: &mut DbConnection| -> Result<Outcome, ApiError> {
            let Returned {
                row,
                purchase,
                balance,
                replayed,
            } = returns::record(c, cmd.clone(), now)?;
            let next = points::ledger::next_expiry(c, &purchase.customer_id)?;
            let body = ReturnResponse {
                id: row.id,
                external_id: row.external_id,
                purchase_id: row.purchase_id,
                amount_minor: row.amount_minor,
                points_reversed: row.points_reversed,
                uncovered_points: row.points_uncovered,
                purchase_returned_minor: purchase.returned_minor,
                created_at: row.created_at.and_utc(),
                balance: BalanceResponse::new(balance, next),
            };
            let status = if replayed {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            let mut outcome = Outcome::json(status, &body)?;
            outcome.replayed = replayed;
            Ok(outcome)
        };
        match &key {
            Some(key) => idempotency::execute(c, Some(key), now, op),
            None => op(c),
        }
    })
    .await?;
    Ok(outcome.into_response())
}

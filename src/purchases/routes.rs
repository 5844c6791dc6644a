//! `POST /v1/purchases`, `POST /v1/purchases/preview`, and purchase lists.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::earning::BreakdownItem;
use super::service::{self, CustomerRef, NewLine, NewPurchase, Quote, Recorded};
use super::{LineRow, PurchaseRow, repo};
use crate::app::AppState;
use crate::auth::{Caller, CustomerCaller, Permission};
use crate::body::Body;
use crate::customers::validate::{self, Check};
use crate::db::DbConnection;
use crate::error::{ApiError, Problem, store_mismatch};
use crate::idempotency::{self, Outcome};
use crate::pagination::PageQuery;
use crate::points::routes::BalanceResponse;
use crate::{db, pagination};

/// Most lines in one purchase.
pub const MAX_LINES: usize = 500;
/// Largest accepted amount in minor units (10^13).
pub const MAX_AMOUNT: i64 = 10_000_000_000_000;
/// How far in the future `occurred_at` may be (clock skew between tills and Patron).
const MAX_SKEW_MINUTES: i64 = 5;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(preview)
        .service(record)
        .service(list_for_customer)
        .service(list_mine);
}

/// Sales channel.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Store,
    Web,
    App,
    Phone,
    Marketplace,
}

/// A purchase line.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    /// Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    sku: String,
    /// Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    category: Option<String>,
    #[schema(minimum = 1, maximum = 1_000_000)]
    quantity: i64,
    /// Minor units.
    #[schema(minimum = 0, maximum = 10_000_000_000_000_i64)]
    unit_price_minor: i64,
}

/// A purchase. Exactly one of `customer_id` and `customer_external_id`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRequest {
    /// The order's id in the store's system: a purchase is recorded once per `external_id`.
    /// Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    external_id: String,
    customer_id: Option<String>,
    customer_external_id: Option<String>,
    /// Must match the API key's store when the key is bound to one (the key's store is used when omitted).
    /// Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    store_id: Option<String>,
    channel: Channel,
    /// Not more than 5 minutes in the future.
    occurred_at: DateTime<Utc>,
    /// ISO 4217; must be the program's currency.
    #[schema(pattern = r"^[A-Z]{3}$")]
    currency: String,
    /// Minor units. Equal to the sum of the lines when lines are given.
    #[schema(minimum = 1, maximum = 10_000_000_000_000_i64)]
    total_minor: i64,
    /// Up to 500 lines.
    #[serde(default)]
    #[schema(max_items = 500)]
    lines: Vec<LineBody>,
}

/// Points of a purchase.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchasePoints {
    earned: i64,
    /// `pending` until `available_at`, then `available`.
    status: &'static str,
    available_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    breakdown: Vec<BreakdownItem>,
}

/// A purchase line as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineResponse {
    sku: String,
    name: Option<String>,
    category: Option<String>,
    quantity: i64,
    unit_price_minor: i64,
    points: i64,
}

/// A recorded purchase.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseResponse {
    id: String,
    external_id: String,
    customer_id: String,
    store_id: Option<String>,
    channel: String,
    occurred_at: DateTime<Utc>,
    currency: String,
    total_minor: i64,
    lines: Vec<LineResponse>,
    points: PurchasePoints,
    /// The customer's balance after this purchase (on a replay: now).
    #[serde(skip_serializing_if = "Option::is_none")]
    balance: Option<BalanceResponse>,
    /// The customer's tier after this purchase.
    #[serde(skip_serializing_if = "Option::is_none")]
    tier: Option<crate::tiers::routes::TierProgress>,
}

/// The points a purchase would earn.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewResponse {
    points: PurchasePoints,
}

/// A page of purchases.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseList {
    data: Vec<PurchaseResponse>,
    next_cursor: Option<String>,
}

fn line_response(l: LineRow) -> LineResponse {
    LineResponse {
        sku: l.sku,
        name: l.name,
        category: l.category,
        quantity: l.quantity,
        unit_price_minor: l.unit_price_minor,
        points: l.points,
    }
}

fn response(
    p: PurchaseRow,
    lines: Vec<LineRow>,
    lot: Option<&crate::points::LotRow>,
    balance: Option<BalanceResponse>,
) -> PurchaseResponse {
    let breakdown = service::breakdown_of(&p);
    PurchaseResponse {
        points: PurchasePoints {
            earned: p.points_earned,
            status: if lot.is_some_and(|l| l.status == "pending") {
                "pending"
            } else {
                "available"
            },
            available_at: lot.map(|l| l.available_at.and_utc()),
            expires_at: lot.and_then(|l| l.expires_at.map(|t| t.and_utc())),
            breakdown,
        },
        lines: lines.into_iter().map(line_response).collect(),
        id: p.id,
        external_id: p.external_id,
        customer_id: p.customer_id,
        store_id: p.store_id,
        channel: p.channel,
        occurred_at: p.occurred_at.and_utc(),
        currency: p.currency,
        total_minor: p.total_minor,
        balance,
        tier: None,
    }
}

impl PurchaseRequest {
    /// Validates the request; `bound_store` is the API key's store, if it is bound to one.
    fn parse(self, bound_store: Option<&str>, now: DateTime<Utc>) -> Result<NewPurchase, ApiError> {
        let request_hash = hex::encode(Sha256::digest(
            serde_json::to_vec(&self).unwrap_or_default(),
        ));
        let mut c = Check::default();
        let text = |v: &str| validate::text(v, validate::MAX_TEXT);
        let external_id = c.take("external_id", text(&self.external_id));
        let customer = match (&self.customer_id, &self.customer_external_id) {
            (Some(id), None) => Some(CustomerRef::Id(id.clone())),
            (None, Some(x)) => Some(CustomerRef::ExternalId(x.clone())),
            _ => {
                c.fail(
                    "customer_id",
                    "give exactly one of customer_id and customer_external_id",
                );
                None
            }
        };
        let store_id = match (bound_store, self.store_id) {
            (Some(bound), Some(given)) if bound != given => return Err(store_mismatch()),
            (Some(bound), _) => Some(bound.to_owned()),
            (None, given) => given.and_then(|s| c.take("store_id", text(&s))),
        };
        if self.occurred_at > now + Duration::minutes(MAX_SKEW_MINUTES) {
            c.fail("occurred_at", "must not be in the future");
        }
        if !(self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase())) {
            c.fail("currency", "must be an ISO 4217 code such as USD");
        }
        if !(1..=MAX_AMOUNT).contains(&self.total_minor) {
            c.fail(
                "total_minor",
                &format!("must be between 1 and {MAX_AMOUNT}"),
            );
        }
        if self.lines.len() > MAX_LINES {
            c.fail("lines", &format!("at most {MAX_LINES} lines"));
        }
        // At most MAX_LINES lines of at most MAX_AMOUNT each: the sum cannot overflow i128.
        let mut sum: i128 = 0;
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            let sku = c.take(&format!("lines[{i}].sku"), text(&l.sku));
            if !(1..=1_000_000).contains(&l.quantity) {
                c.fail(
                    &format!("lines[{i}].quantity"),
                    "must be between 1 and 1000000",
                );
            }
            if !(0..=MAX_AMOUNT).contains(&l.unit_price_minor) {
                c.fail(
                    &format!("lines[{i}].unit_price_minor"),
                    &format!("must be between 0 and {MAX_AMOUNT}"),
                );
            }
            let amount = l.quantity.checked_mul(l.unit_price_minor);
            match amount {
                Some(a) if (0..=MAX_AMOUNT).contains(&a) => sum += i128::from(a),
                _ => c.fail(
                    &format!("lines[{i}]"),
                    &format!("quantity × unit_price_minor must be at most {MAX_AMOUNT}"),
                ),
            }
            let name = l
                .name
                .and_then(|v| c.take(&format!("lines[{i}].name"), text(&v)));
            let category = l
                .category
                .and_then(|v| c.take(&format!("lines[{i}].category"), text(&v)));
            lines.push(NewLine {
                sku: sku.unwrap_or_default(),
                name,
                category,
                quantity: l.quantity,
                unit_price_minor: l.unit_price_minor,
                amount_minor: amount.unwrap_or(0),
            });
        }
        if !lines.is_empty() && sum != i128::from(self.total_minor) {
            c.fail(
                "lines",
                &format!("lines sum to {sum}, not total_minor {}", self.total_minor),
            );
        }
        c.finish()?;
        Ok(NewPurchase {
            external_id: external_id.unwrap_or_default(),
            customer: customer.unwrap_or(CustomerRef::Id(String::new())),
            store_id,
            channel: serde_json::to_value(self.channel)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            occurred_at: self.occurred_at.naive_utc(),
            currency: self.currency,
            total_minor: self.total_minor,
            lines,
            request_hash,
        })
    }
}

/// Record a purchase. A retry with the same body answers 200 with `Idempotent-Replayed: true`.
#[utoipa::path(tag = "purchases", request_body = PurchaseRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "optional; the external_id already makes retries safe")),
    responses((status = 201, body = PurchaseResponse), (status = 200, description = "already recorded (retry)", body = PurchaseResponse),
        (status = 400, body = Problem), (status = 403, description = "`store_mismatch`: the API key is bound to another store", body = Problem),
        (status = 409, description = "`purchase_conflict`", body = Problem),
        (status = 422, description = "`unknown_customer`, `currency_mismatch`, `points_overflow`, `customer_erased`", body = Problem)))]
#[post("/purchases")]
async fn record(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Body<PurchaseRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::PURCHASES_WRITE)?;
    let now = state.clock.now();
    let body = body.read().await?;
    let canonical = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.into()))?;
    let key = idempotency::key_from(&req, &caller, &canonical, false)?;
    let cmd = body.parse(caller.bound_store(), now)?;
    let outcome = db::run(&state.pool, move |c| {
        let op = |c: &mut DbConnection| -> Result<Outcome, ApiError> {
            let Recorded {
                purchase,
                lines,
                lot,
                balance,
                next_expiry,
                tier,
                replayed,
            } = service::record(c, cmd.clone(), now.naive_utc())?;
            let mut body = response(
                purchase,
                lines,
                lot.as_ref(),
                Some(BalanceResponse::new(balance, next_expiry)),
            );
            body.tier = Some(tier.into());
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
            Some(key) => idempotency::execute(c, Some(key), now.naive_utc(), op),
            None => op(c),
        }
    })
    .await?;
    Ok(outcome.into_response())
}

/// Compute the points a purchase would earn, without recording anything (API keys with
/// `purchases:write`; marketers, support and admins, to try the earning rules).
#[utoipa::path(tag = "purchases", request_body = PurchaseRequest, security(("bearer" = [])),
    responses((status = 200, body = PreviewResponse), (status = 400, body = Problem), (status = 403, description = "`store_mismatch`: the API key is bound to another store", body = Problem),
        (status = 422, body = Problem)))]
#[post("/purchases/preview")]
async fn preview(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<PurchaseRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::PURCHASES_PREVIEW)?;
    let now = state.clock.now();
    let cmd = body.read().await?.parse(caller.bound_store(), now)?;
    let Quote {
        earned,
        available_at,
        expires_at,
    } = db::run(&state.pool, move |c| {
        service::preview(c, &cmd, now.naive_utc())
    })
    .await?;
    Ok(HttpResponse::Ok().json(PreviewResponse {
        points: PurchasePoints {
            earned: earned.total,
            status: if available_at > now.naive_utc() {
                "pending"
            } else {
                "available"
            },
            available_at: Some(available_at.and_utc()),
            expires_at: expires_at.map(|t| t.and_utc()),
            breakdown: earned.breakdown,
        },
    }))
}

/// A page of the customer's purchases; only those of `store` when the caller's key is bound to one.
async fn page(
    state: &AppState,
    customer_id: String,
    store: Option<String>,
    query: PageQuery,
) -> Result<PurchaseList, ApiError> {
    let limit = pagination::limit(query.limit)?;
    let before = query
        .cursor
        .as_deref()
        .map(pagination::decode_position)
        .transpose()?;
    let (mut rows, mut lines, lots) = db::run(&state.pool, move |c| -> Result<_, ApiError> {
        // A merged record's id lists the surviving customer's purchases.
        let customer_id = crate::customers::repo::resolve(c, &customer_id)?
            .ok_or_else(|| ApiError::not_found("Customer"))?
            .id;
        let rows =
            repo::list_for_customer(c, &customer_id, store.as_deref(), before.clone(), limit + 1)?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let lines = repo::lines_of(c, &ids)?;
        let lots = repo::lots_of(c, &ids)?;
        Ok((rows, lines, lots))
    })
    .await?;
    let next_cursor =
        pagination::next_position_page(&mut rows, limit, |p| (p.occurred_at, p.id.clone()));
    let data = rows
        .into_iter()
        .map(|p| {
            let mine: Vec<LineRow> = lines.extract_if(.., |l| l.purchase_id == p.id).collect();
            let lot = lots.iter().find(|l| l.source_id == p.id);
            response(p, mine, lot, None)
        })
        .collect();
    Ok(PurchaseList { data, next_cursor })
}

/// A customer's purchases, newest first. A store-bound API key sees only its own store's purchases.
#[utoipa::path(tag = "purchases", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = PurchaseList), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/customers/{id}/purchases")]
async fn list_for_customer(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::POINTS_READ)?;
    let query: PageQuery = crate::body::query(req.query_string())?;
    let store = caller.bound_store().map(str::to_owned);
    Ok(HttpResponse::Ok().json(page(&state, id.into_inner(), store, query).await?))
}

/// The customer's own purchases, newest first.
#[utoipa::path(tag = "me", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = PurchaseList), (status = 403, body = Problem)))]
#[get("/me/purchases")]
async fn list_mine(
    state: web::Data<AppState>,
    caller: CustomerCaller,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(
        HttpResponse::Ok()
            .json(page(&state, caller.customer_id.0, None, query.into_inner()).await?),
    )
}

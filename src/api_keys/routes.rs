//! API key management endpoints (admin only): `/v1/api-keys`.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{ApiKeyRow, repo, service};
use crate::app::AppState;
use crate::auth::{Caller, Permission, Scope};
use crate::body::Body;
use crate::error::{ApiError, FieldError, Problem};
use crate::pagination::PageQuery;
use crate::{db, pagination};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list).service(revoke);
}

/// A new API key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// Not blank, up to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// At least one scope.
    #[schema(min_items = 1)]
    scopes: Vec<Scope>,
    /// Binds the key to one store (not blank, up to 100 characters).
    #[schema(min_length = 1, max_length = 100)]
    store_id: Option<String>,
}

/// An API key as listed (never the key itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyResponse {
    id: String,
    name: String,
    /// The key's first characters, to recognise it.
    prefix: String,
    scopes: Vec<Scope>,
    store_id: Option<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRow> for ApiKeyResponse {
    fn from(row: ApiKeyRow) -> Self {
        Self {
            scopes: row.scopes(),
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            store_id: row.store_id,
            created_at: row.created_at.and_utc(),
            revoked_at: row.revoked_at.map(|t| t.and_utc()),
        }
    }
}

/// A key just created; `key` appears only in this response.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    id: String,
    name: String,
    /// The secret key. Store it now: it is not shown again.
    key: String,
    prefix: String,
    scopes: Vec<Scope>,
    store_id: Option<String>,
    created_at: DateTime<Utc>,
}

/// A page of API keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    data: Vec<ApiKeyResponse>,
    next_cursor: Option<String>,
}

fn check(body: &CreateApiKey) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if body.name.trim().is_empty() || body.name.chars().count() > 100 {
        errors.push(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if body.scopes.is_empty() {
        errors.push(FieldError::new("scopes", "must name at least one scope"));
    }
    if let Some(store) = &body.store_id
        && (store.trim().is_empty() || store.chars().count() > 100)
    {
        errors.push(FieldError::new("store_id", "must be 1 to 100 characters"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Create an API key.
#[utoipa::path(tag = "api-keys", request_body = CreateApiKey, security(("bearer" = [])),
    responses((status = 201, body = CreatedApiKey), (status = 400, body = Problem), (status = 403, body = Problem)))]
#[post("/api-keys")]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<CreateApiKey>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::ADMIN)?;
    let body = body.read().await?;
    check(&body)?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let created = db::run(&state.pool, move |c| {
        service::create(
            c,
            &actor,
            body.name.trim().to_owned(),
            &body.scopes,
            body.store_id.clone(),
            now,
        )
    })
    .await?;
    let row = ApiKeyResponse::from(created.row);
    Ok(HttpResponse::Created().json(CreatedApiKey {
        id: row.id,
        name: row.name,
        key: created.key,
        prefix: row.prefix,
        scopes: row.scopes,
        store_id: row.store_id,
        created_at: row.created_at,
    }))
}

/// List API keys (revoked ones included).
#[utoipa::path(tag = "api-keys", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = ApiKeyList), (status = 403, body = Problem)))]
#[get("/api-keys")]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::ADMIN)?;
    let query: PageQuery = crate::body::query(req.query_string())?;
    let limit = pagination::limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(pagination::decode)
        .transpose()?;
    let mut rows = db::run(&state.pool, move |c| {
        repo::list(c, after.as_deref(), limit + 1)
    })
    .await?;
    let next_cursor = pagination::next_page(&mut rows, limit, |r| r.id.clone());
    let data = rows.into_iter().map(ApiKeyResponse::from).collect();
    Ok(HttpResponse::Ok().json(ApiKeyList { data, next_cursor }))
}

/// Revoke an API key; it gets 401 from then on.
#[utoipa::path(tag = "api-keys", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[delete("/api-keys/{id}")]
async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::ADMIN)?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    db::run(&state.pool, move |c| service::revoke(c, &actor, &id, now))
        .await
        .map_err(|e| {
            if e.code() == "not_found" {
                ApiError::not_found("API key")
            } else {
                e
            }
        })?;
    Ok(HttpResponse::NoContent().finish())
}

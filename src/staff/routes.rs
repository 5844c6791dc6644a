//! Staff management endpoints (admin only): `/v1/staff`.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{StaffRow, repo, service};
use crate::app::AppState;
use crate::auth::{Caller, Permission, Role, passwords};
use crate::body::Body;
use crate::error::{ApiError, FieldError, Problem};
use crate::pagination::PageQuery;
use crate::values::Email;
use crate::{db, pagination};

/// Shortest staff password.
const MIN_PASSWORD_CHARS: usize = 12;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list).service(update);
}

/// A staff member as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffResponse {
    id: String,
    email: String,
    role: Role,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<StaffRow> for StaffResponse {
    type Error = ApiError;
    fn try_from(row: StaffRow) -> Result<Self, ApiError> {
        Ok(Self {
            role: row
                .role
                .parse()
                .map_err(|e: String| ApiError::internal(anyhow::anyhow!(e)))?,
            id: row.id,
            email: row.email,
            active: row.active,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        })
    }
}

/// A new staff member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaff {
    email: String,
    /// At least 12 characters, at most 1024 bytes.
    #[schema(value_type = String, format = Password, min_length = 12, max_length = 1024)]
    password: SecretString,
    role: Role,
}

/// Changes to a staff member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStaff {
    role: Option<Role>,
    active: Option<bool>,
}

/// A page of staff.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffList {
    data: Vec<StaffResponse>,
    next_cursor: Option<String>,
}

/// Create a staff member.
#[utoipa::path(tag = "staff", request_body = CreateStaff, security(("bearer" = [])),
    responses((status = 201, body = StaffResponse), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 409, description = "`staff_exists`", body = Problem)))]
#[post("/staff")]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<CreateStaff>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::ADMIN)?;
    let body = body.read().await?;
    let mut errors = Vec::new();
    let email = Email::parse(&body.email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let password = body.password.expose_secret().to_owned();
    if let Err(e) = passwords::check_new("password", &password, MIN_PASSWORD_CHARS) {
        errors.push(e);
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let hash = state.passwords.hash(password).await?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let row = db::run(&state.pool, move |c| {
        service::create(
            c,
            &actor,
            email.clone().into_inner(),
            hash.clone(),
            body.role,
            now,
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(StaffResponse::try_from(row)?))
}

/// List staff members.
#[utoipa::path(tag = "staff", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = StaffList), (status = 403, body = Problem)))]
#[get("/staff")]
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
    let data = rows
        .into_iter()
        .map(StaffResponse::try_from)
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(StaffList { data, next_cursor }))
}

/// Change a staff member's role or active flag.
#[utoipa::path(tag = "staff", request_body = UpdateStaff, security(("bearer" = [])),
    responses((status = 200, body = StaffResponse), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, description = "`last_admin`", body = Problem)))]
#[patch("/staff/{id}")]
async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<UpdateStaff>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::ADMIN)?;
    let body = body.read().await?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let row = db::run(&state.pool, move |c| {
        service::update(c, &actor, &id, body.role, body.active, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(StaffResponse::try_from(row)?))
}

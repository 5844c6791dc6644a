//! Staff management endpoints (admin only): `/v1/staff`.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, put, web};
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
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(change_own_password)
        .service(update);
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

/// A staff member's current password and the one replacing it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// At most 1024 bytes.
    #[schema(value_type = String, format = Password, max_length = 1024)]
    current_password: SecretString,
    /// At least 12 characters, at most 1024 bytes.
    #[schema(value_type = String, format = Password, min_length = 12, max_length = 1024)]
    new_password: SecretString,
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

/// Change the signed-in staff member's own password (staff tokens only). Attempts count against
/// the login rate limit per staff member, so a stolen token cannot be used to guess the password.
#[utoipa::path(tag = "staff", request_body = ChangePassword, security(("bearer" = [])),
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "`invalid_current_password`", body = Problem),
        (status = 429, description = "`rate_limited`, with Retry-After", body = Problem)))]
#[put("/staff/me/password")]
async fn change_own_password(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let Caller::Staff { id, .. } = &caller else {
        return Err(ApiError::forbidden(
            "forbidden",
            "Only a signed-in staff member changes their own password",
        ));
    };
    let id = id.clone();
    let body = body.read().await?;
    let current = body.current_password.expose_secret().to_owned();
    let new = body.new_password.expose_secret().to_owned();
    let mut errors = Vec::new();
    if current.len() > passwords::MAX_LEN {
        errors.push(FieldError::new(
            "current_password",
            format!("must be at most {} bytes", passwords::MAX_LEN),
        ));
    }
    if let Err(e) = passwords::check_new("new_password", &new, MIN_PASSWORD_CHARS) {
        errors.push(e);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    state
        .login_limiter
        .check([format!("staff-password:{id}").as_str()])?;
    let lookup = id.clone();
    let member = db::run(&state.pool, move |c| repo::find(c, &lookup))
        .await?
        .ok_or_else(|| ApiError::not_found("Staff member"))?;
    if !state
        .passwords
        .verify(current, Some(member.password_hash))
        .await?
    {
        return Err(ApiError::unprocessable(
            "invalid_current_password",
            "The current password is wrong",
        )
        .with_errors(vec![FieldError::new("current_password", "is wrong")]));
    }
    let hash = state.passwords.hash(new).await?;
    let (now, actor) = (state.clock.now_naive(), caller.actor());
    db::run(&state.pool, move |c| {
        service::change_password(c, &actor, &id, &hash, now)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

//! The customer's own profile, for mobile apps: `/v1/me`.

use actix_web::{HttpResponse, get, patch, put, web};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::CustomerChanges;
use super::routes::{ConsentsPatch, CustomerResponse, UpdateCustomer, present};
use super::service::{self, Editor};
use crate::app::AppState;
use crate::auth::{CustomerCaller, passwords};
use crate::body::Body;
use crate::db;
use crate::error::{ApiError, FieldError, Problem};

/// Shortest customer password.
const MIN_PASSWORD_CHARS: usize = 8;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(me).service(update_me).service(set_password);
}

/// What a customer may change about themself. The birthday can be set only while unset.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    /// Not blank, up to 200 characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    first_name: Option<Option<String>>,
    /// Not blank, up to 200 characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    last_name: Option<Option<String>>,
    /// E.164 (spaces, dashes, dots and parentheses are removed first).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    phone: Option<Option<String>>,
    /// `en`, `fa`, `ar`, `en-GB`…
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^\s*[A-Za-z]{2,3}([-_][A-Za-z]{2})?\s*$")]
    locale: Option<Option<String>>,
    /// IANA name, e.g. `Asia/Tehran`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    time_zone: Option<Option<String>>,
    /// `email`, `sms` or `push`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^\s*(email|sms|push)\s*$")]
    preferred_channel: Option<Option<String>>,
    /// `YYYY-MM-DD` (from 1900, not in the future) or `--MM-DD`. Accepted only while no birthday
    /// is stored (422 `birthday_already_set` otherwise).
    #[schema(pattern = r"^\s*([0-9]{4}|-)-[0-9]{2}-[0-9]{2}\s*$")]
    birthday: Option<String>,
    consents: Option<ConsentsPatch>,
}

/// A new password; `current_password` is required once a password is set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// At most 1024 bytes.
    #[schema(value_type = Option<String>, format = Password, max_length = 1024)]
    current_password: Option<SecretString>,
    /// 8 characters to 1024 bytes.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 1024)]
    new_password: SecretString,
}

/// The customer's own profile.
#[utoipa::path(tag = "me", security(("bearer" = [])),
    responses((status = 200, body = CustomerResponse), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/me")]
async fn me(state: web::Data<AppState>, caller: CustomerCaller) -> Result<HttpResponse, ApiError> {
    let customer = db::run(&state.pool, move |c| service::get(c, &caller.customer_id.0)).await?;
    Ok(HttpResponse::Ok().json(CustomerResponse::from(customer)))
}

/// Change the customer's own profile.
#[utoipa::path(tag = "me", request_body = UpdateMe, security(("bearer" = [])),
    responses((status = 200, body = CustomerResponse), (status = 400, body = Problem),
        (status = 409, description = "`customer_exists`, with `existing_id`", body = Problem),
        (status = 422, description = "`birthday_already_set`, `customer_unidentifiable`", body = Problem)))]
#[patch("/me")]
async fn update_me(
    state: web::Data<AppState>,
    caller: CustomerCaller,
    body: Body<UpdateMe>,
) -> Result<HttpResponse, ApiError> {
    let b = body.read().await?;
    let now = state.clock.now();
    let changes: CustomerChanges = UpdateCustomer {
        first_name: b.first_name,
        last_name: b.last_name,
        phone: b.phone,
        locale: b.locale,
        time_zone: b.time_zone,
        preferred_channel: b.preferred_channel,
        birthday: b.birthday.map(Some),
        consents: b.consents,
        ..UpdateCustomer::default()
    }
    .parse(now.date_naive())?;
    let id = caller.customer_id.0;
    let actor = crate::audit::Actor::Customer(id.clone());
    let customer = db::run(&state.pool, move |c| {
        service::update(
            c,
            &actor,
            Editor::Customer,
            &id,
            changes.clone(),
            now.naive_utc(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(CustomerResponse::from(customer)))
}

/// Set or change the customer's login password.
#[utoipa::path(tag = "me", request_body = SetPassword, security(("bearer" = [])),
    responses((status = 204), (status = 400, body = Problem), (status = 422, description = "`invalid_current_password`", body = Problem)))]
#[put("/me/password")]
async fn set_password(
    state: web::Data<AppState>,
    caller: CustomerCaller,
    body: Body<SetPassword>,
) -> Result<HttpResponse, ApiError> {
    let body = body.read().await?;
    let new_password = body.new_password.expose_secret().to_owned();
    passwords::check_new("new_password", &new_password, MIN_PASSWORD_CHARS)
        .map_err(|e| ApiError::validation(vec![e]))?;
    let current = body.current_password.map(|p| p.expose_secret().to_owned());
    if current
        .as_ref()
        .is_some_and(|p| p.len() > passwords::MAX_LEN)
    {
        return Err(ApiError::validation(vec![FieldError::new(
            "current_password",
            "is too long",
        )]));
    }
    let id = caller.customer_id.0;
    let lookup = id.clone();
    let customer = db::run(&state.pool, move |c| service::get(c, &lookup)).await?;
    if let Some(stored) = customer.row.password_hash {
        let matches = match current {
            Some(p) => state.passwords.verify(p, Some(stored)).await?,
            None => false,
        };
        if !matches {
            return Err(ApiError::unprocessable(
                "invalid_current_password",
                "current_password is missing or wrong",
            ));
        }
    }
    let hash = state.passwords.hash(new_password).await?;
    let now = state.clock.now_naive();
    db::run(&state.pool, move |c| {
        service::set_password(c, &id, &hash, now)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

//! Login endpoints for staff and customers, rate limited per client IP and per email.

use actix_web::{HttpRequest, HttpResponse, post, web};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::passwords;
use super::tokens::Audience;
use crate::app::AppState;
use crate::body::Body;
use crate::customers::routes::{CustomerToken, customer_token};
use crate::error::{ApiError, Problem};
use crate::{customers, db, staff};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(login).service(customer_login);
}

/// Email and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    /// At most 1024 bytes.
    #[schema(value_type = String, format = Password, max_length = 1024)]
    password: SecretString,
}

/// A staff access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until it expires.
    expires_in: i64,
}

fn invalid() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "The email or password is wrong")
}

/// Applies the rate limit and the length check; returns the normalised email and the password.
/// Staff and customer logins count attempts per email separately (`audience`), so failed
/// customer logins for an address never lock a staff member with the same email out.
fn admit(
    state: &AppState,
    req: &HttpRequest,
    body: LoginRequest,
    audience: Audience,
) -> Result<(String, String), ApiError> {
    let email = body.email.trim().to_lowercase();
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let password = body.password.expose_secret();
    limit_login(state, &ip, &email, password, audience)?;
    Ok((email, password.to_owned()))
}

/// Counts a login attempt from `ip` for `email` (normalised) against the limits, then checks the
/// password's length. The console's sign-in counts in the same buckets as the API's login.
pub fn limit_login(
    state: &AppState,
    ip: &str,
    email: &str,
    password: &str,
    audience: Audience,
) -> Result<(), ApiError> {
    // `aud` names are distinct (patron:staff, patron:customer), so are the email buckets.
    state.login_limiter.check([
        format!("ip:{ip}").as_str(),
        format!("{}-email:{email}", audience.as_str()).as_str(),
    ])?;
    passwords::check_login(password)
}

/// The active staff member with this email and password; `invalid_credentials` otherwise (the
/// same answer, and the same hashing work, whichever part was wrong).
pub async fn check_staff_password(
    state: &AppState,
    email: String,
    password: String,
) -> Result<staff::StaffRow, ApiError> {
    let member = db::run(&state.pool, move |c| staff::repo::find_by_email(c, &email)).await?;
    let stored = member.as_ref().map(|m| m.password_hash.clone());
    let matches = state.passwords.verify(password, stored).await?;
    member.filter(|m| matches && m.active).ok_or_else(invalid)
}

/// Staff login.
#[utoipa::path(tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 400, body = Problem),
        (status = 401, description = "`invalid_credentials`", body = Problem),
        (status = 429, description = "`rate_limited`, with Retry-After", body = Problem)))]
#[post("/auth/login")]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Body<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let (email, password) = admit(&state, &req, body.read().await?, Audience::Staff)?;
    let member = check_staff_password(&state, email, password).await?;
    let issued = state
        .tokens
        .issue(Audience::Staff, &member.id, state.clock.now())?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        access_token: issued.token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
    }))
}

/// Customer login (after the customer set a password with `PUT /v1/me/password`).
#[utoipa::path(tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = CustomerToken), (status = 400, body = Problem),
        (status = 401, description = "`invalid_credentials`", body = Problem),
        (status = 429, description = "`rate_limited`, with Retry-After", body = Problem)))]
#[post("/auth/customer-login")]
async fn customer_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Body<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let (email, password) = admit(&state, &req, body.read().await?, Audience::Customer)?;
    let customer = db::run(&state.pool, move |c| {
        customers::repo::find_by_email(c, &email)
    })
    .await?;
    let stored = customer.as_ref().and_then(|c| c.password_hash.clone());
    let matches = state.passwords.verify(password, stored.clone()).await?;
    let customer = customer
        .filter(|_| matches && stored.is_some())
        .ok_or_else(invalid)?;
    let issued = state
        .tokens
        .issue(Audience::Customer, &customer.id, state.clock.now())?;
    Ok(HttpResponse::Ok().json(customer_token(issued.token, issued.expires_in)))
}

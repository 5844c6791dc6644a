//! `POST /v1/surveys/{id}/invitations`: staff invite customers to answer a survey (a campaign).

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::invitations::{self, InviteError};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::customers::validate::{self, Check};
use crate::db;
use crate::error::{ApiError, Problem};

/// Most customers per request.
pub const MAX_CUSTOMERS: usize = 500;
/// Longest campaign name.
pub const MAX_CAMPAIGN: usize = 100;
/// Longest customer id.
const MAX_ID: usize = 100;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(invite);
}

impl From<InviteError> for ApiError {
    fn from(err: InviteError) -> Self {
        match err {
            InviteError::SurveyNotFound => ApiError::not_found("Survey"),
            InviteError::SurveyInactive => {
                ApiError::unprocessable("survey_inactive", err.to_string())
            }
            InviteError::UnknownCustomers(_) => {
                ApiError::unprocessable("unknown_customer", err.to_string())
            }
            InviteError::Db(e) => e.into(),
        }
    }
}

/// Customers to invite.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// 1–500 customer ids (a merged customer's id invites the customer it was merged into).
    #[schema(min_items = 1, max_items = 500)]
    customer_ids: Vec<String>,
    /// The campaign's name, 1–100 characters: a customer is invited once per survey and campaign.
    #[schema(min_length = 1, max_length = 100)]
    campaign: String,
}

/// What inviting did.
#[derive(Debug, Serialize, ToSchema)]
pub struct InviteResult {
    /// New invitations, scheduled for now (the `survey_invitations` job sends them).
    pub created: usize,
    /// Customers already invited in this campaign, erased, or named twice.
    pub skipped: usize,
}

/// Invite customers to answer an active survey (any trigger). Repeating a campaign invites no
/// one twice; an unknown id invites no one.
#[utoipa::path(tag = "surveys", request_body = InviteRequest, security(("bearer" = [])),
    responses((status = 201, body = InviteResult),
        (status = 400, description = "`validation_failed`", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, description = "`survey_inactive`, `unknown_customer` (the detail lists the ids)", body = Problem)))]
#[post("/surveys/{id}/invitations")]
async fn invite(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<InviteRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::SURVEYS_WRITE)?;
    let b = body.read().await?;
    let mut c = Check::default();
    if b.customer_ids.is_empty() || b.customer_ids.len() > MAX_CUSTOMERS {
        c.fail(
            "customer_ids",
            &format!("must list 1 to {MAX_CUSTOMERS} customer ids"),
        );
    }
    let ids: Vec<String> = b
        .customer_ids
        .iter()
        .enumerate()
        .filter_map(|(i, v)| c.take(&format!("customer_ids[{i}]"), validate::text(v, MAX_ID)))
        .collect();
    let campaign = c.take("campaign", validate::text(&b.campaign, MAX_CAMPAIGN));
    c.finish()?;
    let campaign = campaign.unwrap_or_default();
    let now = state.clock.now_naive();
    let id = id.into_inner();
    let out = db::run(&state.pool, move |c| {
        invitations::invite(c, &id, &ids, &campaign, now)
    })
    .await?;
    Ok(HttpResponse::Created().json(InviteResult {
        created: out.created,
        skipped: out.skipped,
    }))
}

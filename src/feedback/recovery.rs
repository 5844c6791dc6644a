//! Recovery cases: a bad answer opens one; apology points and message per the program's
//! `recovery` settings; `/v1/recovery-cases` for support (marketers and analysts read).

pub mod repo;
pub mod service;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{Kind, RecoveryStatus};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::customers::validate::{self, Check};
use crate::error::{ApiError, FieldError, Problem};
use crate::{db, pagination};
use repo::CaseWithComment;
use service::RecoveryError;

/// Longest resolution note.
pub const MAX_NOTE: usize = 2000;
/// Longest customer id in a filter.
const MAX_ID: usize = 100;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_cases)
        .service(get_case)
        .service(resolve_case);
}

impl From<RecoveryError> for ApiError {
    fn from(err: RecoveryError) -> Self {
        match err {
            RecoveryError::NotFound => ApiError::not_found("Recovery case"),
            RecoveryError::AlreadyResolved => {
                ApiError::conflict("case_already_resolved", err.to_string())
            }
            RecoveryError::Db(e) => e.into(),
        }
    }
}

/// A recovery case: a bad answer being followed up.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCaseView {
    pub id: String,
    /// Null for anonymous feedback.
    pub customer_id: Option<String>,
    /// The response that opened the case (one case per response).
    pub response_id: String,
    pub kind: Kind,
    /// Top of the answer's scale (NPS 10, CSAT 5, CES 5 or 7).
    pub scale: i32,
    pub score: i32,
    /// The customer's comment with the answer (null after an erasure).
    pub comment: Option<String>,
    /// Where the experience happened, as the answer said.
    pub channel: String,
    pub touchpoint: Option<String>,
    pub store_id: Option<String>,
    /// The agent the answer is about.
    pub agent_id: Option<String>,
    pub status: RecoveryStatus,
    /// Apology points credited with the case (0: none).
    pub apology_points: i64,
    /// Whether the customer was given an apology (points, message or both).
    pub apologized: bool,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The staff member who resolved it.
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
}

impl From<CaseWithComment> for RecoveryCaseView {
    fn from((r, comment): CaseWithComment) -> Self {
        Self {
            kind: Kind::parse(&r.kind).unwrap_or(Kind::Nps),
            status: RecoveryStatus::parse(&r.status).unwrap_or(RecoveryStatus::Open),
            id: r.id,
            customer_id: r.customer_id,
            response_id: r.response_id,
            scale: r.scale,
            score: r.score,
            comment,
            channel: r.channel,
            touchpoint: r.touchpoint,
            store_id: r.store_id,
            agent_id: r.agent_id,
            apology_points: r.apology_points,
            apologized: r.apologized,
            opened_at: r.opened_at.and_utc(),
            resolved_at: r.resolved_at.map(|t| t.and_utc()),
            resolved_by: r.resolved_by,
            resolution_note: r.resolution_note,
        }
    }
}

/// A page of recovery cases, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCaseList {
    pub data: Vec<RecoveryCaseView>,
    pub next_cursor: Option<String>,
}

/// Filters of the recovery case list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecoveryQuery {
    /// Only cases with this status.
    #[param(value_type = Option<RecoveryStatus>)]
    status: Option<String>,
    /// Only this customer's cases (a merged customer's id lists the survivor's).
    #[param(max_length = 100)]
    customer_id: Option<String>,
    /// Only cases of this kind of answer.
    #[param(value_type = Option<Kind>)]
    kind: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

impl RecoveryQuery {
    /// The query string, read once the caller is authorised.
    fn read(req: &HttpRequest) -> Result<Self, ApiError> {
        crate::reports::params::query(req.query_string())
    }

    fn parse(self) -> Result<(repo::Filter, i64), ApiError> {
        let limit = pagination::limit(self.limit)?;
        let mut c = Check::default();
        if self
            .customer_id
            .as_ref()
            .is_some_and(|id| id.chars().count() > MAX_ID)
        {
            c.fail(
                "customer_id",
                &format!("must be at most {MAX_ID} characters"),
            );
        }
        let status = self.status.as_deref().and_then(|s| {
            let parsed = RecoveryStatus::parse(s);
            if parsed.is_none() {
                c.fail("status", "must be open or resolved");
            }
            parsed
        });
        let kind = self.kind.as_deref().and_then(|s| {
            let parsed = Kind::parse(s);
            if parsed.is_none() {
                c.fail("kind", "must be nps, csat or ces");
            }
            parsed
        });
        c.finish()?;
        let before = self
            .cursor
            .as_deref()
            .map(pagination::decode_position)
            .transpose()?;
        let filter = repo::Filter {
            status,
            customer_id: self.customer_id,
            kind,
            before,
        };
        Ok((filter, limit))
    }
}

/// A resolution. The body is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RecoveryResolveRequest)]
pub struct ResolveRequest {
    /// What was done; not blank, up to 2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    note: Option<String>,
}

/// Recovery cases, newest first by opening time.
#[utoipa::path(tag = "recovery", params(RecoveryQuery), security(("bearer" = [])),
    responses((status = 200, body = RecoveryCaseList),
        (status = 400, description = "`validation_failed`, `invalid_query`, `invalid_cursor`", body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "`forbidden`: API keys, customers, and roles other than support, marketer, analyst and admin", body = Problem)))]
#[get("/recovery-cases")]
async fn list_cases(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::RECOVERY_READ)?;
    let (mut filter, limit) = RecoveryQuery::read(&req)?.parse()?;
    let mut rows = db::run(&state.pool, move |c| -> Result<_, ApiError> {
        // A merged customer's id lists the cases that moved to the survivor.
        if let Some(id) = filter.customer_id.take() {
            let resolved = crate::customers::repo::resolve(c, &id)?;
            filter.customer_id = Some(resolved.map_or(id, |row| row.id));
        }
        Ok(repo::list(c, &filter, limit + 1)?)
    })
    .await?;
    let next_cursor =
        pagination::next_position_page(&mut rows, limit, |(r, _)| (r.opened_at, r.id.clone()));
    let data = rows.into_iter().map(RecoveryCaseView::from).collect();
    Ok(HttpResponse::Ok().json(RecoveryCaseList { data, next_cursor }))
}

/// One recovery case.
#[utoipa::path(tag = "recovery", security(("bearer" = [])),
    responses((status = 200, body = RecoveryCaseView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/recovery-cases/{id}")]
async fn get_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::RECOVERY_READ)?;
    let id = id.into_inner();
    let row = db::run(&state.pool, move |c| repo::find(c, &id))
        .await?
        .ok_or_else(|| ApiError::not_found("Recovery case"))?;
    Ok(HttpResponse::Ok().json(RecoveryCaseView::from(row)))
}

/// Resolve a recovery case (support and admins): records who resolved it, when, and the note
/// (not stored for a customer whose data was erased). Audited.
#[utoipa::path(tag = "recovery", request_body = ResolveRequest, security(("bearer" = [])),
    responses((status = 200, body = RecoveryCaseView), (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, description = "`forbidden`: API keys, customers, and roles other than support and admin", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`case_already_resolved`", body = Problem)))]
#[post("/recovery-cases/{id}/resolve")]
async fn resolve_case(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<ResolveRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::RECOVERY_WRITE)?;
    let body = body.read_optional().await?.unwrap_or_default();
    let note = body
        .note
        .map(|n| validate::text(&n, MAX_NOTE))
        .transpose()
        .map_err(|m| ApiError::validation(vec![FieldError::new("note", m)]))?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let id = id.into_inner();
    let row = db::run(&state.pool, move |c| {
        service::resolve(c, &actor, &id, note.as_deref(), now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(RecoveryCaseView::from(row)))
}

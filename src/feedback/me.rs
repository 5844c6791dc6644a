//! `/v1/me/surveys`: the customer's invitations and answering one from the app.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::invitation_repo::{self as repo, Mine};
use super::invitations::{self, Answer, AnswerError};
use super::survey_text::SurveyText;
use super::surveys::ScaleView;
use super::{InvitationRow, InvitationStatus, Kind, survey_repo};
use crate::app::AppState;
use crate::auth::CustomerCaller;
use crate::body::Body;
use crate::db::{self, DbConnection};
use crate::error::{ApiError, FieldError, Problem};
use crate::pagination;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(my_surveys).service(answer_survey);
}

impl From<AnswerError> for ApiError {
    fn from(err: AnswerError) -> Self {
        match err {
            AnswerError::NotFound => ApiError::not_found("Invitation"),
            AnswerError::AlreadyAnswered => ApiError::conflict("already_answered", err.to_string()),
            AnswerError::Expired => ApiError::unprocessable("invitation_expired", err.to_string()),
            AnswerError::InvalidScore { .. } => {
                ApiError::validation(vec![FieldError::new("score", err.to_string())])
            }
            AnswerError::Empty => ApiError::unprocessable("empty_response", err.to_string()),
            AnswerError::Db(e) => e.into(),
        }
    }
}

/// Where an invitation stands for the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = MySurveyStatus)]
pub enum MyStatus {
    /// Waiting for an answer.
    Open,
    Answered,
    /// No longer answerable.
    Expired,
}

/// A survey the customer was invited to answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct MySurvey {
    /// The invitation's id (answer with `POST /v1/me/surveys/{id}/response`).
    pub id: String,
    pub survey_id: String,
    pub kind: Kind,
    pub scale: ScaleView,
    /// In the customer's language (else the program's default, English, or any).
    pub question: Option<String>,
    /// In the customer's language; null when the survey has none.
    pub open_question: Option<String>,
    pub status: MyStatus,
    pub sent_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
}

/// A page of the customer's surveys, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MySurveyList {
    pub data: Vec<MySurvey>,
    pub next_cursor: Option<String>,
}

/// Filters of the list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MySurveyQuery {
    /// `open` (default: sent, unanswered, unexpired), `answered` or `all`.
    #[param(pattern = "^(open|answered|all)$")]
    status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

/// An answer from the app. A `null` score skips the question; then a comment is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// On the survey's scale (`scale.min`–`scale.max`).
    score: Option<i64>,
    /// Up to 2000 characters.
    #[schema(max_length = 2000)]
    comment: Option<String>,
}

/// The recorded answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerView {
    /// The response's id.
    pub id: String,
    pub invitation_id: String,
    pub kind: Kind,
    pub scale: ScaleView,
    pub score: Option<i32>,
    pub comment: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

fn load_page(
    c: &mut DbConnection,
    customer_id: &str,
    which: Mine,
    now: NaiveDateTime,
    before: Option<(NaiveDateTime, String)>,
    limit: i64,
) -> Result<(Vec<InvitationRow>, Vec<MySurvey>), ApiError> {
    let rows = repo::for_customer(c, customer_id, which, now, before, limit + 1)?;
    let customer = crate::customers::repo::find(c, customer_id)?;
    let locale = customer.and_then(|cu| cu.locale);
    let program = crate::program::repo::load(c)?;
    let ids: Vec<String> = rows.iter().map(|r| r.survey_id.clone()).collect();
    let mut texts = BTreeMap::new();
    for s in survey_repo::find_many(c, &ids)? {
        let q = SurveyText::from_stored(&s.question)?;
        let o = SurveyText::from_stored(&s.open_question)?;
        texts.insert(s.id, (q, o));
    }
    let pick = |t: &SurveyText| {
        t.pick(locale.as_deref(), &program.default_locale)
            .map(|(_, s)| s.to_owned())
    };
    let views = rows
        .iter()
        .map(|r| {
            let kind = Kind::parse(&r.kind).unwrap_or(Kind::Nps);
            let (question, open_question) = texts
                .get(&r.survey_id)
                .map_or((None, None), |(q, o)| (pick(q), pick(o)));
            let status = match InvitationStatus::parse(&r.status) {
                Some(InvitationStatus::Answered) => MyStatus::Answered,
                _ if r.expires_at.is_some_and(|e| e <= now) => MyStatus::Expired,
                _ => MyStatus::Open,
            };
            MySurvey {
                id: r.id.clone(),
                survey_id: r.survey_id.clone(),
                kind,
                scale: ScaleView::new(kind, r.scale),
                question,
                open_question,
                status,
                sent_at: r.sent_at.map(|t| t.and_utc()),
                expires_at: r.expires_at.map(|t| t.and_utc()),
                answered_at: r.answered_at.map(|t| t.and_utc()),
            }
        })
        .collect();
    Ok((rows, views))
}

/// The customer's surveys, newest first.
#[utoipa::path(tag = "me", params(MySurveyQuery), security(("bearer" = [])),
    responses((status = 200, body = MySurveyList), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/me/surveys")]
async fn my_surveys(
    state: web::Data<AppState>,
    caller: CustomerCaller,
    query: web::Query<MySurveyQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let which = match q.status.as_deref() {
        None | Some("open") => Mine::Open,
        Some("answered") => Mine::Answered,
        Some("all") => Mine::All,
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "status",
                "must be open, answered or all",
            )]));
        }
    };
    let before: Option<(NaiveDateTime, String)> = q
        .cursor
        .as_deref()
        .map(pagination::decode_position)
        .transpose()?;
    let now = state.clock.now_naive();
    let id = caller.customer_id.0;
    let (mut rows, mut views) = db::run(&state.pool, move |c| {
        load_page(c, &id, which, now, before.clone(), limit)
    })
    .await?;
    let next_cursor =
        pagination::next_position_page(&mut rows, limit, |r| (r.created_at, r.id.clone()));
    views.truncate(rows.len());
    Ok(HttpResponse::Ok().json(MySurveyList {
        data: views,
        next_cursor,
    }))
}

/// Answer a survey the customer was invited to (once).
#[utoipa::path(tag = "me", request_body = AnswerRequest, security(("bearer" = [])),
    responses((status = 201, body = AnswerView),
        (status = 400, description = "`validation_failed` (a score off the scale, a comment too long)", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, description = "`not_found`: no such invitation for this customer", body = Problem),
        (status = 409, description = "`already_answered`", body = Problem),
        (status = 422, description = "`invitation_expired`, `empty_response` (no score and no comment)", body = Problem)))]
#[post("/me/surveys/{invitation_id}/response")]
async fn answer_survey(
    state: web::Data<AppState>,
    caller: CustomerCaller,
    invitation_id: web::Path<String>,
    body: Body<AnswerRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.read().await?;
    let comment = invitations::parse_comment(b.comment.as_deref())
        .map_err(|m| ApiError::validation(vec![FieldError::new("comment", m)]))?;
    let answer = Answer {
        score: b.score.map(|s| i32::try_from(s).unwrap_or(i32::MAX)),
        comment,
    };
    let now = state.clock.now_naive();
    let owner = caller.customer_id.0;
    let id = invitation_id.into_inner();
    let out = db::run(&state.pool, move |c| {
        invitations::answer(c, &id, Some(&owner), answer.clone(), "app", now)
    })
    .await?;
    let r = out.response;
    let kind = Kind::parse(&r.kind).unwrap_or(Kind::Nps);
    Ok(HttpResponse::Created().json(AnswerView {
        id: r.id,
        invitation_id: out.invitation.id,
        kind,
        scale: ScaleView::new(kind, r.scale),
        score: r.score,
        comment: r.comment,
        occurred_at: r.occurred_at.and_utc(),
    }))
}

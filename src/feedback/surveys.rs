//! `/v1/surveys`: survey CRUD (marketers and admins; support and analysts read).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::survey_repo::{self, ListFilter};
use super::survey_service::{self, NewSurvey, SurveyError, SurveyPatch};
use super::survey_text::SurveyText;
use super::{Kind, SurveyRow, Trigger};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::customers::validate::{self, Check};
use crate::error::{ApiError, FieldError, Problem};
use crate::{db, pagination};

/// Longest survey name.
pub const MAX_NAME: usize = 200;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_surveys)
        .service(create_survey)
        .service(get_survey)
        .service(update_survey);
    super::invitation_routes::config(cfg);
}

impl From<SurveyError> for ApiError {
    fn from(err: SurveyError) -> Self {
        match err {
            SurveyError::NotFound => ApiError::not_found("Survey"),
            SurveyError::InUse => ApiError::unprocessable("survey_in_use", err.to_string()),
            SurveyError::CesScaleNotAllowed => {
                ApiError::validation(vec![FieldError::new("ces_scale", err.to_string())])
            }
            SurveyError::Db(e) => e.into(),
        }
    }
}

/// The range of a survey's scores.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = SurveyScale)]
pub struct ScaleView {
    /// 0 for NPS, 1 otherwise.
    pub min: i32,
    /// 10 for NPS, 5 for CSAT, 5 or 7 for CES.
    pub max: i32,
}

impl ScaleView {
    /// The scale of a kind with this top.
    pub fn new(kind: Kind, scale: i32) -> Self {
        Self {
            min: kind.min_score(),
            max: scale,
        }
    }
}

/// A survey.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyView {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    /// The question per locale (`en`, `fa`, `ar`).
    pub question: BTreeMap<String, String>,
    /// The open question per locale; may be empty.
    pub open_question: BTreeMap<String, String>,
    /// 5 or 7 for a CES survey; null otherwise.
    pub ces_scale: Option<i32>,
    pub scale: ScaleView,
    pub trigger: Trigger,
    pub delay_hours: i32,
    pub reminder_after_hours: i32,
    pub max_reminders: i32,
    pub expires_after_days: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SurveyView {
    fn of(r: SurveyRow) -> Result<Self, ApiError> {
        let kind = Kind::parse(&r.kind).unwrap_or(Kind::Nps);
        Ok(Self {
            question: SurveyText::from_stored(&r.question)?.0,
            open_question: SurveyText::from_stored(&r.open_question)?.0,
            kind,
            ces_scale: (kind == Kind::Ces).then_some(r.scale),
            scale: ScaleView::new(kind, r.scale),
            trigger: Trigger::parse(&r.trigger_type).unwrap_or(Trigger::Manual),
            id: r.id,
            name: r.name,
            delay_hours: r.delay_hours,
            reminder_after_hours: r.reminder_after_hours,
            max_reminders: r.max_reminders,
            expires_after_days: r.expires_after_days,
            active: r.active,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        })
    }
}

/// A page of surveys, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyList {
    pub data: Vec<SurveyView>,
    pub next_cursor: Option<String>,
}

/// A new survey.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSurveyRequest {
    /// Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[schema(value_type = Kind)]
    kind: String,
    /// The question per locale: at least one of `en`, `fa`, `ar`, each 1–500 characters.
    question: BTreeMap<String, String>,
    /// The open question per locale (may be empty), each 1–500 characters.
    open_question: Option<BTreeMap<String, String>>,
    /// 5 or 7; only for `ces` (default 7).
    #[schema(minimum = 5, maximum = 7)]
    ces_scale: Option<i64>,
    #[schema(value_type = Trigger)]
    trigger: String,
    /// Hours after the purchase before a post-purchase invitation goes out (0–8760, default 0).
    #[schema(minimum = 0, maximum = 8760)]
    delay_hours: Option<i64>,
    /// Hours after the invitation before the reminder (1–8760, default 72).
    #[schema(minimum = 1, maximum = 8760)]
    reminder_after_hours: Option<i64>,
    /// 0 or 1 (default 1).
    #[schema(minimum = 0, maximum = 1)]
    max_reminders: Option<i64>,
    /// Days an invitation may be answered after it was sent (1–365, default 30).
    #[schema(minimum = 1, maximum = 365)]
    expires_after_days: Option<i64>,
    /// Default true.
    active: Option<bool>,
}

/// A change to a survey: only the fields given change. `kind` and `ces_scale` cannot change
/// once the survey has an invitation (422 `survey_in_use`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSurveyRequest {
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    #[schema(value_type = Option<Kind>)]
    kind: Option<String>,
    question: Option<BTreeMap<String, String>>,
    open_question: Option<BTreeMap<String, String>>,
    /// 5 or 7; only for a `ces` survey.
    #[schema(minimum = 5, maximum = 7)]
    ces_scale: Option<i64>,
    #[schema(value_type = Option<Trigger>)]
    trigger: Option<String>,
    #[schema(minimum = 0, maximum = 8760)]
    delay_hours: Option<i64>,
    #[schema(minimum = 1, maximum = 8760)]
    reminder_after_hours: Option<i64>,
    #[schema(minimum = 0, maximum = 1)]
    max_reminders: Option<i64>,
    #[schema(minimum = 1, maximum = 365)]
    expires_after_days: Option<i64>,
    active: Option<bool>,
}

fn range(c: &mut Check, field: &str, v: Option<i64>, lo: i32, hi: i32) -> Option<i32> {
    let v = v?;
    match i32::try_from(v).ok().filter(|n| (lo..=hi).contains(n)) {
        Some(n) => Some(n),
        None => {
            c.fail(field, &format!("must be between {lo} and {hi}"));
            None
        }
    }
}

fn parse_kind(c: &mut Check, raw: &str) -> Option<Kind> {
    let kind = Kind::parse(raw);
    if kind.is_none() {
        c.fail("kind", "must be one of nps, csat, ces");
    }
    kind
}

fn parse_trigger(c: &mut Check, raw: &str) -> Option<Trigger> {
    let trigger = Trigger::parse(raw);
    if trigger.is_none() {
        c.fail(
            "trigger",
            "must be one of post_purchase, post_resolution, manual",
        );
    }
    trigger
}

fn parse_ces_scale(c: &mut Check, v: Option<i64>) -> Option<i32> {
    let v = v?;
    if v == 5 || v == 7 {
        Some(if v == 5 { 5 } else { 7 })
    } else {
        c.fail("ces_scale", "must be 5 or 7");
        None
    }
}

impl CreateSurveyRequest {
    fn parse(self) -> Result<NewSurvey, ApiError> {
        let mut c = Check::default();
        let name = c.take("name", validate::text(&self.name, MAX_NAME));
        let kind = parse_kind(&mut c, &self.kind);
        let ces_scale = parse_ces_scale(&mut c, self.ces_scale);
        if ces_scale.is_some() && kind.is_some_and(|k| k != Kind::Ces) {
            c.fail("ces_scale", "only a ces survey has a ces_scale");
        }
        let question = SurveyText::parse(&mut c, "question", self.question, true);
        let open = self.open_question.unwrap_or_default();
        let open_question = SurveyText::parse(&mut c, "open_question", open, false);
        let trigger = parse_trigger(&mut c, &self.trigger);
        let delay_hours = range(&mut c, "delay_hours", self.delay_hours, 0, 8760);
        let reminder = range(
            &mut c,
            "reminder_after_hours",
            self.reminder_after_hours,
            1,
            8760,
        );
        let max_reminders = range(&mut c, "max_reminders", self.max_reminders, 0, 1);
        let expires = range(
            &mut c,
            "expires_after_days",
            self.expires_after_days,
            1,
            365,
        );
        c.finish()?;
        let kind = kind.unwrap_or(Kind::Nps);
        Ok(NewSurvey {
            name: name.unwrap_or_default(),
            kind,
            scale: ces_scale.unwrap_or(kind.default_scale()),
            question,
            open_question,
            trigger: trigger.unwrap_or(Trigger::Manual),
            delay_hours: delay_hours.unwrap_or(0),
            reminder_after_hours: reminder.unwrap_or(72),
            max_reminders: max_reminders.unwrap_or(1),
            expires_after_days: expires.unwrap_or(30),
            active: self.active.unwrap_or(true),
        })
    }
}

impl UpdateSurveyRequest {
    fn parse(self) -> Result<SurveyPatch, ApiError> {
        let mut c = Check::default();
        let patch = SurveyPatch {
            name: self
                .name
                .and_then(|n| c.take("name", validate::text(&n, MAX_NAME))),
            kind: self.kind.and_then(|k| parse_kind(&mut c, &k)),
            ces_scale: parse_ces_scale(&mut c, self.ces_scale),
            question: self
                .question
                .map(|q| SurveyText::parse(&mut c, "question", q, true)),
            open_question: self
                .open_question
                .map(|q| SurveyText::parse(&mut c, "open_question", q, false)),
            trigger: self.trigger.and_then(|t| parse_trigger(&mut c, &t)),
            delay_hours: range(&mut c, "delay_hours", self.delay_hours, 0, 8760),
            reminder_after_hours: range(
                &mut c,
                "reminder_after_hours",
                self.reminder_after_hours,
                1,
                8760,
            ),
            max_reminders: range(&mut c, "max_reminders", self.max_reminders, 0, 1),
            expires_after_days: range(
                &mut c,
                "expires_after_days",
                self.expires_after_days,
                1,
                365,
            ),
            active: self.active,
        };
        c.finish()?;
        Ok(patch)
    }
}

/// Filters of the survey list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SurveyQuery {
    /// Only active (or only inactive) surveys.
    active: Option<bool>,
    /// Only surveys of this kind.
    #[param(value_type = Option<Kind>)]
    kind: Option<String>,
    /// Only surveys with this trigger.
    #[param(value_type = Option<Trigger>)]
    trigger: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

/// Surveys, newest first.
#[utoipa::path(tag = "surveys", params(SurveyQuery), security(("bearer" = [])),
    responses((status = 200, body = SurveyList), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/surveys")]
async fn list_surveys(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::SURVEYS_READ)?;
    // Read once the caller is authorised: a caller without the role learns nothing about it.
    let q: SurveyQuery = crate::reports::params::query(req.query_string())?;
    let limit = pagination::limit(q.limit)?;
    let mut c = Check::default();
    let filter = ListFilter {
        active: q.active,
        kind: q.kind.as_deref().and_then(|k| parse_kind(&mut c, k)),
        trigger: q.trigger.as_deref().and_then(|t| parse_trigger(&mut c, t)),
    };
    c.finish()?;
    let before: Option<(NaiveDateTime, String)> = q
        .cursor
        .as_deref()
        .map(pagination::decode_position)
        .transpose()?;
    let mut rows = db::run(&state.pool, move |c| {
        survey_repo::list(c, &filter, before.clone(), limit + 1)
    })
    .await?;
    let next_cursor =
        pagination::next_position_page(&mut rows, limit, |s| (s.created_at, s.id.clone()));
    let data = rows
        .into_iter()
        .map(SurveyView::of)
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(SurveyList { data, next_cursor }))
}

/// Create a survey.
#[utoipa::path(tag = "surveys", request_body = CreateSurveyRequest, security(("bearer" = [])),
    responses((status = 201, body = SurveyView), (status = 400, description = "`validation_failed`", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
#[post("/surveys")]
async fn create_survey(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<CreateSurveyRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::SURVEYS_WRITE)?;
    let new = body.read().await?.parse()?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let row = db::run(&state.pool, move |c| {
        survey_service::create(c, &actor, new.clone(), now)
    })
    .await?;
    Ok(HttpResponse::Created().json(SurveyView::of(row)?))
}

/// One survey.
#[utoipa::path(tag = "surveys", security(("bearer" = [])),
    responses((status = 200, body = SurveyView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/surveys/{id}")]
async fn get_survey(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::SURVEYS_READ)?;
    let id = id.into_inner();
    let row = db::run(&state.pool, move |c| survey_repo::find(c, &id))
        .await?
        .ok_or_else(|| ApiError::not_found("Survey"))?;
    Ok(HttpResponse::Ok().json(SurveyView::of(row)?))
}

/// Change a survey: only the fields given change.
#[utoipa::path(tag = "surveys", request_body = UpdateSurveyRequest, security(("bearer" = [])),
    responses((status = 200, body = SurveyView), (status = 400, description = "`validation_failed`", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, description = "`survey_in_use`: the kind or scale of a survey with invitations", body = Problem)))]
#[patch("/surveys/{id}")]
async fn update_survey(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<UpdateSurveyRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::SURVEYS_WRITE)?;
    let patch = body.read().await?.parse()?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let id = id.into_inner();
    let row = db::run(&state.pool, move |c| {
        survey_service::update(c, &actor, &id, patch.clone(), now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(SurveyView::of(row)?))
}

//! `GET /v1/messages` and `GET /v1/messages/{id}`: the outbox as staff see it, with every
//! delivery attempt.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::outbox::MessageRow;
use super::{Category, Kind, Status};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::db::schema::{message_attempts, messages};
use crate::db::{self, DbConnection};
use crate::error::{ApiError, FieldError, Problem};
use crate::pagination;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_messages).service(get_message);
}

/// What caused a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cause {
    /// `ticket`, `offer`, `tier_change`, `lot_batch`, `survey_invitation`…
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// A message in the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: String,
    pub customer_id: String,
    pub kind: Kind,
    pub category: Category,
    pub status: Status,
    /// What caused it.
    pub cause: Cause,
    /// The locale it was rendered in (set at the first attempt).
    pub locale: Option<String>,
    /// The address it went to (set at the first attempt; `null` after erasure).
    pub to: Option<String>,
    /// The rendered subject (set at the first attempt).
    pub subject: Option<String>,
    /// The `Message-ID` header.
    pub message_id: Option<String>,
    /// When it may go out next.
    pub due_at: DateTime<Utc>,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// Why it was suppressed, cancelled or deferred.
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl MessageView {
    fn from_row(r: MessageRow) -> Self {
        Self {
            kind: Kind::parse(&r.kind).unwrap_or(Kind::BirthdayOffer),
            category: Category::parse(&r.category).unwrap_or(Category::Service),
            status: Status::parse(&r.status).unwrap_or(Status::Failed),
            cause: Cause {
                kind: r.cause_type,
                id: r.cause_id,
            },
            id: r.id,
            customer_id: r.customer_id,
            locale: r.locale,
            to: r.to_address,
            subject: r.subject,
            message_id: r.message_id,
            due_at: r.due_at.and_utc(),
            attempts: r.attempts,
            last_error: r.last_error,
            reason: r.reason,
            created_at: r.created_at.and_utc(),
            sent_at: r.sent_at.map(|t| t.and_utc()),
        }
    }
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// 1 for the first attempt.
    pub attempt: i32,
    pub at: DateTime<Utc>,
    /// `sent`, `temporary_failure` (retried) or `permanent_failure`.
    pub outcome: String,
    /// The SMTP reply code, when the server answered.
    pub smtp_code: Option<i32>,
    /// The server's reply or the connection error.
    pub detail: String,
}

/// A message with its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDetail {
    #[serde(flatten)]
    pub message: MessageView,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptView>,
}

/// A page of messages, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    pub data: Vec<MessageView>,
    /// Cursor of the next page, if any.
    pub next_cursor: Option<String>,
}

/// Filters of the outbox list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Only this customer's messages.
    #[param(max_length = 100)]
    customer_id: Option<String>,
    /// Only this kind (`birthday_offer`, `ticket_follow_up`, `survey_invitation`,
    /// `survey_reminder`, `points_expiring`, `tier_changed`, `recovery_apology`).
    #[param(max_length = 40)]
    kind: Option<String>,
    /// Only this status (`pending`, `sending`, `sent`, `failed`, `suppressed`, `cancelled`).
    #[param(max_length = 20)]
    status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

/// The outbox: messages with status, attempts and last error (staff).
#[utoipa::path(tag = "messages", params(MessageQuery), security(("bearer" = [])),
    responses((status = 200, body = MessageList), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/messages")]
async fn list_messages(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::MESSAGES_READ)?;
    let q: MessageQuery = crate::body::query(req.query_string())?;
    let limit = pagination::limit(q.limit)?;
    let mut errors = Vec::new();
    if q.customer_id
        .as_ref()
        .is_some_and(|c| c.chars().count() > 100)
    {
        errors.push(FieldError::new(
            "customer_id",
            "must be at most 100 characters",
        ));
    }
    let kind = match q.kind.as_deref() {
        Some(k) => match Kind::parse(k) {
            Some(k) => Some(k),
            None => {
                errors.push(FieldError::new("kind", "is not a message kind"));
                None
            }
        },
        None => None,
    };
    let status = match q.status.as_deref() {
        Some(s) => match Status::parse(s) {
            Some(s) => Some(s),
            None => {
                errors.push(FieldError::new("status", "is not a message status"));
                None
            }
        },
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let after = q
        .cursor
        .as_deref()
        .map(pagination::decode_position)
        .transpose()?;
    let customer = q.customer_id;
    let mut rows = db::run(&state.pool, move |c| {
        list(
            c,
            customer.as_deref(),
            kind,
            status,
            after.clone(),
            limit + 1,
        )
    })
    .await?;
    let next_cursor =
        pagination::next_position_page(&mut rows, limit, |r| (r.created_at, r.id.clone()));
    let data = rows.into_iter().map(MessageView::from_row).collect();
    Ok(HttpResponse::Ok().json(MessageList { data, next_cursor }))
}

fn list(
    c: &mut DbConnection,
    customer: Option<&str>,
    kind: Option<Kind>,
    status: Option<Status>,
    after: Option<(NaiveDateTime, String)>,
    fetch: i64,
) -> QueryResult<Vec<MessageRow>> {
    let mut q = messages::table
        .select(MessageRow::as_select())
        .order((messages::created_at.desc(), messages::id.desc()))
        .limit(fetch)
        .into_boxed();
    if let Some(id) = customer {
        q = q.filter(messages::customer_id.eq(id.to_owned()));
    }
    if let Some(k) = kind {
        q = q.filter(messages::kind.eq(k.as_str()));
    }
    if let Some(s) = status {
        q = q.filter(messages::status.eq(s.as_str()));
    }
    if let Some((at, id)) = after {
        q = q.filter(
            messages::created_at
                .lt(at)
                .or(messages::created_at.eq(at).and(messages::id.lt(id))),
        );
    }
    q.load(c)
}

/// One message with every delivery attempt (staff).
#[utoipa::path(tag = "messages", security(("bearer" = [])),
    responses((status = 200, body = MessageDetail), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/messages/{id}")]
async fn get_message(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::MESSAGES_READ)?;
    let id = id.into_inner();
    let found = db::run(&state.pool, move |c| {
        let Some(row) = messages::table
            .find(&id)
            .select(MessageRow::as_select())
            .first(c)
            .optional()?
        else {
            return Ok::<_, diesel::result::Error>(None);
        };
        let attempts = message_attempts::table
            .filter(message_attempts::message_id.eq(&id))
            .order(message_attempts::attempt.asc())
            .select((
                message_attempts::attempt,
                message_attempts::at,
                message_attempts::outcome,
                message_attempts::smtp_code,
                message_attempts::detail,
            ))
            .load::<(i32, NaiveDateTime, String, Option<i32>, String)>(c)?
            .into_iter()
            .map(|(attempt, at, outcome, smtp_code, detail)| AttemptView {
                attempt,
                at: at.and_utc(),
                outcome,
                smtp_code,
                detail,
            })
            .collect();
        Ok(Some((row, attempts)))
    })
    .await?;
    let (row, attempt_log) = found.ok_or_else(|| ApiError::not_found("message"))?;
    Ok(HttpResponse::Ok().json(MessageDetail {
        message: MessageView::from_row(row),
        attempt_log,
    }))
}

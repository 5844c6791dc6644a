//! `/v1/tickets`: open, list, read, resolve and reopen support tickets (API keys with
//! `tickets:write`, support staff and admins; marketers and analysts read).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::service::{self, Agent, NewTicket, Outcome, Resolve, TicketError};
use super::{Channel, FollowUpStatus, Status, TicketRow, repo};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::customers::validate::{self, Check};
use crate::error::{ApiError, FieldError, Problem};
use crate::{db, pagination};

/// Longest external id, customer id or agent id.
pub const MAX_ID: usize = 100;
/// Longest subject.
pub const MAX_SUBJECT: usize = 300;
/// Longest category.
pub const MAX_CATEGORY: usize = 100;
/// Longest agent name.
pub const MAX_AGENT_NAME: usize = 200;
/// Longest resolution note.
pub const MAX_NOTE: usize = 4000;
/// How far in the future `opened_at` and `resolved_at` may be (clock skew with the helpdesk).
const MAX_SKEW_MINUTES: i64 = 5;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(open_ticket)
        .service(list_tickets)
        .service(get_ticket)
        .service(resolve_ticket)
        .service(reopen_ticket);
}

impl From<TicketError> for ApiError {
    fn from(err: TicketError) -> Self {
        match err {
            TicketError::UnknownCustomer => {
                ApiError::unprocessable("unknown_customer", err.to_string())
            }
            TicketError::CustomerErased => {
                ApiError::unprocessable("customer_erased", err.to_string())
            }
            TicketError::ExternalIdConflict { .. } => {
                ApiError::conflict("external_id_conflict", err.to_string())
            }
            TicketError::NotFound => ApiError::not_found("Ticket"),
            TicketError::ResolvedBeforeOpened { .. } => {
                ApiError::validation(vec![FieldError::new("resolved_at", err.to_string())])
            }
            TicketError::Db(e) => e.into(),
        }
    }
}

/// The agent working on a ticket.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    /// The agent's id in the helpdesk; not blank, up to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    id: String,
    /// Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
}

/// A ticket to open.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenTicketRequest {
    /// The ticket's id in the helpdesk: a ticket is opened once per `external_id`.
    /// Not blank, up to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    external_id: String,
    /// Patron's customer id (a merged customer's id names the customer it was merged into).
    #[schema(min_length = 1, max_length = 100)]
    customer_id: String,
    #[schema(value_type = Channel)]
    channel: String,
    /// Not blank, up to 300 characters.
    #[schema(min_length = 1, max_length = 300)]
    subject: String,
    /// Not blank, up to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    category: Option<String>,
    /// Defaults to now; from 2000-01-01 to 5 minutes ahead of the server's clock.
    opened_at: Option<DateTime<Utc>>,
    agent: Option<AgentBody>,
}

/// A resolution. Every field is optional, and so is the body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// Defaults to now; not before the ticket was opened, at most 5 minutes ahead.
    resolved_at: Option<DateTime<Utc>>,
    /// Who resolved it; defaults to the ticket's agent.
    agent: Option<AgentBody>,
    /// Not blank, up to 4000 characters. Used in the follow-up message.
    #[schema(min_length = 1, max_length = 4000)]
    resolution_note: Option<String>,
}

/// An agent as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    pub id: String,
    pub name: Option<String>,
}

/// The follow-up of the latest resolution.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpView {
    pub status: FollowUpStatus,
    /// When a scheduled follow-up is due (`resolved_at` + `follow_up.delay_hours`).
    pub due_at: Option<DateTime<Utc>>,
}

/// A support ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    pub id: String,
    pub external_id: String,
    pub customer_id: String,
    pub channel: Channel,
    /// `[erased]` after the customer's data was erased.
    pub subject: String,
    pub category: Option<String>,
    pub status: Status,
    pub opened_at: DateTime<Utc>,
    /// The agent the ticket was opened with.
    pub agent: Option<AgentView>,
    /// Set while resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The agent who resolved it (recorded at resolution).
    pub resolved_by: Option<AgentView>,
    pub resolution_note: Option<String>,
    /// How many times it was resolved (one follow-up at most per resolution).
    pub resolutions: i32,
    pub follow_up: FollowUpView,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn agent(id: Option<String>, name: Option<String>) -> Option<AgentView> {
    id.map(|id| AgentView { id, name })
}

impl From<TicketRow> for TicketView {
    fn from(t: TicketRow) -> Self {
        Self {
            channel: Channel::parse(&t.channel).unwrap_or(Channel::Web),
            status: Status::parse(&t.status).unwrap_or(Status::Open),
            follow_up: FollowUpView {
                status: FollowUpStatus::parse(&t.follow_up_status).unwrap_or(FollowUpStatus::None),
                due_at: t.follow_up_due_at.map(|d| d.and_utc()),
            },
            agent: agent(t.agent_id, t.agent_name),
            resolved_by: agent(t.resolved_agent_id, t.resolved_agent_name),
            id: t.id,
            external_id: t.external_id,
            customer_id: t.customer_id,
            subject: t.subject,
            category: t.category,
            opened_at: t.opened_at.and_utc(),
            resolved_at: t.resolved_at.map(|d| d.and_utc()),
            resolution_note: t.resolution_note,
            resolutions: t.resolutions,
            created_at: t.created_at.and_utc(),
            updated_at: t.updated_at.and_utc(),
        }
    }
}

/// A page of tickets, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketList {
    pub data: Vec<TicketView>,
    pub next_cursor: Option<String>,
}

/// Filters of the ticket list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// Only this customer's tickets (a merged customer's id lists the survivor's).
    #[param(max_length = 100)]
    customer_id: Option<String>,
    /// Only tickets with this status.
    #[param(value_type = Option<Status>)]
    status: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

/// A time the helpdesk reports: not before 2000 and not ahead of the clock beyond the skew.
fn check_time(c: &mut Check, field: &str, at: DateTime<Utc>, now: DateTime<Utc>) {
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    if earliest.is_some_and(|e| at < e) {
        c.fail(field, "must not be before 2000-01-01");
    }
    if at > now + Duration::minutes(MAX_SKEW_MINUTES) {
        c.fail(field, "must not be in the future");
    }
}

fn parse_agent(c: &mut Check, field: &str, a: AgentBody) -> Option<Agent> {
    let id = c.take(&format!("{field}.id"), validate::text(&a.id, MAX_ID));
    let name = a
        .name
        .and_then(|n| c.take(&format!("{field}.name"), validate::text(&n, MAX_AGENT_NAME)));
    id.map(|id| Agent { id, name })
}

impl OpenTicketRequest {
    fn parse(self, now: DateTime<Utc>) -> Result<NewTicket, ApiError> {
        let mut c = Check::default();
        let external_id = c.take("external_id", validate::text(&self.external_id, MAX_ID));
        let customer_id = c.take("customer_id", validate::text(&self.customer_id, MAX_ID));
        let channel = Channel::parse(&self.channel);
        if channel.is_none() {
            c.fail(
                "channel",
                "must be one of chat, email, phone, store, social, web",
            );
        }
        let subject = c.take("subject", validate::text(&self.subject, MAX_SUBJECT));
        let category = self
            .category
            .and_then(|v| c.take("category", validate::text(&v, MAX_CATEGORY)));
        if let Some(at) = self.opened_at {
            check_time(&mut c, "opened_at", at, now);
        }
        let agent = self.agent.and_then(|a| parse_agent(&mut c, "agent", a));
        c.finish()?;
        Ok(NewTicket {
            external_id: external_id.unwrap_or_default(),
            customer_id: customer_id.unwrap_or_default(),
            channel: channel.unwrap_or(Channel::Web),
            subject: subject.unwrap_or_default(),
            category,
            opened_at: self.opened_at.unwrap_or(now).naive_utc(),
            agent,
        })
    }
}

impl ResolveRequest {
    fn parse(self, now: DateTime<Utc>) -> Result<Resolve, ApiError> {
        let mut c = Check::default();
        if let Some(at) = self.resolved_at {
            check_time(&mut c, "resolved_at", at, now);
        }
        let agent = self.agent.and_then(|a| parse_agent(&mut c, "agent", a));
        let note = self
            .resolution_note
            .and_then(|n| c.take("resolution_note", validate::text(&n, MAX_NOTE)));
        c.finish()?;
        Ok(Resolve {
            resolved_at: self.resolved_at.map(|t| t.naive_utc()),
            agent,
            note,
        })
    }
}

fn respond(out: Outcome, created: StatusCode) -> HttpResponse {
    let status = if out.changed { created } else { StatusCode::OK };
    HttpResponse::build(status).json(TicketView::from(out.ticket))
}

/// Open a ticket. The same `external_id` for the same customer again answers 200 with the
/// ticket as it is (a retry creates nothing).
#[utoipa::path(tag = "tickets", request_body = OpenTicketRequest, security(("bearer" = [])),
    responses((status = 201, body = TicketView),
        (status = 200, description = "already opened (a retry)", body = TicketView),
        (status = 400, body = Problem),
        (status = 409, description = "`external_id_conflict`: the external_id names another customer's ticket", body = Problem),
        (status = 422, description = "`unknown_customer`, `customer_erased`", body = Problem)))]
#[post("/tickets")]
async fn open_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<OpenTicketRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::TICKETS_WRITE)?;
    let now = state.clock.now();
    let cmd = body.read().await?.parse(now)?;
    let actor = caller.actor();
    let out = db::run(&state.pool, move |c| {
        service::open(c, &actor, &cmd, now.naive_utc())
    })
    .await?;
    Ok(respond(out, StatusCode::CREATED))
}

/// Tickets, newest first by opening time.
#[utoipa::path(tag = "tickets", params(TicketQuery), security(("bearer" = [])),
    responses((status = 200, body = TicketList), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/tickets")]
async fn list_tickets(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::TICKETS_READ)?;
    let q: TicketQuery = crate::body::query(req.query_string())?;
    let limit = pagination::limit(q.limit)?;
    let mut c = Check::default();
    if q.customer_id
        .as_ref()
        .is_some_and(|id| id.chars().count() > MAX_ID)
    {
        c.fail(
            "customer_id",
            &format!("must be at most {MAX_ID} characters"),
        );
    }
    let status = q.status.as_deref().and_then(|s| {
        let parsed = Status::parse(s);
        if parsed.is_none() {
            c.fail("status", "must be open or resolved");
        }
        parsed
    });
    c.finish()?;
    let before: Option<(NaiveDateTime, String)> = q
        .cursor
        .as_deref()
        .map(pagination::decode_position)
        .transpose()?;
    let customer = q.customer_id;
    let mut rows = db::run(&state.pool, move |c| -> Result<_, ApiError> {
        // A merged customer's id lists the tickets that moved to the survivor.
        let customer = match customer.as_deref() {
            Some(id) => Some(
                crate::customers::repo::resolve(c, id)?.map_or_else(|| id.to_owned(), |row| row.id),
            ),
            None => None,
        };
        Ok(repo::list(
            c,
            customer.as_deref(),
            status,
            before.clone(),
            limit + 1,
        )?)
    })
    .await?;
    let next_cursor =
        pagination::next_position_page(&mut rows, limit, |t| (t.opened_at, t.id.clone()));
    let data = rows.into_iter().map(TicketView::from).collect();
    Ok(HttpResponse::Ok().json(TicketList { data, next_cursor }))
}

/// One ticket.
#[utoipa::path(tag = "tickets", security(("bearer" = [])),
    responses((status = 200, body = TicketView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/tickets/{id}")]
async fn get_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::TICKETS_READ)?;
    let id = id.into_inner();
    let row = db::run(&state.pool, move |c| repo::find(c, &id))
        .await?
        .ok_or_else(|| ApiError::not_found("Ticket"))?;
    Ok(HttpResponse::Ok().json(TicketView::from(row)))
}

/// Resolve a ticket: records the agent and the note, and schedules the follow-up of this
/// resolution `follow_up.delay_hours` later. A resolved ticket answers 200 unchanged, and
/// nothing new is scheduled. For a customer whose data was erased, the note is not stored and
/// no follow-up is scheduled.
#[utoipa::path(tag = "tickets", request_body = ResolveRequest, security(("bearer" = [])),
    responses((status = 200, body = TicketView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[post("/tickets/{id}/resolve")]
async fn resolve_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<ResolveRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::TICKETS_WRITE)?;
    let now = state.clock.now();
    let cmd = body.read_optional().await?.unwrap_or_default().parse(now)?;
    let actor = caller.actor();
    let id = id.into_inner();
    let out = db::run(&state.pool, move |c| {
        service::resolve(c, &actor, &id, &cmd, now.naive_utc())
    })
    .await?;
    Ok(respond(out, StatusCode::OK))
}

/// Reopen a resolved ticket. The follow-up of its latest resolution is withdrawn unless it was
/// already sent: a scheduled one is cancelled, and a message still waiting in the outbox is
/// cancelled with the reason `ticket_reopened`. An open ticket answers 200 unchanged.
#[utoipa::path(tag = "tickets", security(("bearer" = [])),
    responses((status = 200, body = TicketView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
#[post("/tickets/{id}/reopen")]
async fn reopen_ticket(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::TICKETS_WRITE)?;
    let now = state.clock.now_naive();
    let actor = caller.actor();
    let id = id.into_inner();
    let out = db::run(&state.pool, move |c| service::reopen(c, &actor, &id, now)).await?;
    Ok(respond(out, StatusCode::OK))
}

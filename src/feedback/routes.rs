//! `POST /v1/feedback`: feedback collected elsewhere (a till, a kiosk, a helpdesk), sent by a
//! store backend with an API key that has `feedback:write` (or entered by support staff).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::invitations::MAX_COMMENT;
use super::responses::{self, NewResponse, Recorded};
use super::{Kind, Source};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::customers::validate::{self, Check};
use crate::db::{self, DbConnection};
use crate::error::{ApiError, Problem};
use crate::idempotency::{self, Outcome};

/// Longest customer, store, agent id or touchpoint.
pub const MAX_ID: usize = 100;
/// Longest channel name.
pub const MAX_CHANNEL: usize = 50;
/// How far in the future `occurred_at` may be (clock skew with the sender).
const MAX_SKEW_MINUTES: i64 = 5;

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(submit);
}

/// Feedback collected outside Patron's own surveys.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FeedbackRequest)]
pub struct FeedbackRequest {
    /// Patron's customer id (a merged customer's id names the customer it was merged into);
    /// absent for anonymous feedback, which counts in the reports but is on no profile.
    #[schema(min_length = 1, max_length = 100)]
    customer_id: Option<String>,
    kind: Kind,
    /// NPS 0–10, CSAT 1–5, CES 1–`scale`; `null` or absent when the question was skipped (a
    /// skipped answer needs a comment, and is reported apart from the scores).
    score: Option<i32>,
    /// The top of the scale: NPS 10, CSAT 5, CES 5 or 7 (default: NPS 10, CSAT 5, CES 7).
    #[schema(minimum = 5, maximum = 10)]
    scale: Option<i32>,
    /// Free text, up to 2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    comment: Option<String>,
    /// Where it was collected, as the sender names it: 1–50 characters of lower-case letters,
    /// digits, `_` and `-` (`store`, `kiosk`, `web`, `chat`…). Reports group by it.
    #[schema(min_length = 1, max_length = 50, pattern = r"^[a-z0-9_-]+$")]
    channel: String,
    /// The moment of the experience (`checkout`, `delivery`, `support`…), up to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    touchpoint: Option<String>,
    /// The store; a key bound to a store may only send its own (and defaults to it).
    #[schema(min_length = 1, max_length = 100)]
    store_id: Option<String>,
    /// The agent who served the customer.
    #[schema(min_length = 1, max_length = 100)]
    agent_id: Option<String>,
    /// When the feedback was given: from 2000-01-01 to 5 minutes ahead of the server's clock.
    occurred_at: DateTime<Utc>,
}

/// A recorded response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = FeedbackResponse)]
pub struct FeedbackResponse {
    pub id: String,
    pub customer_id: Option<String>,
    pub kind: Kind,
    /// The top of the scale the score is on.
    pub scale: i32,
    /// `null`: skipped.
    pub score: Option<i32>,
    pub comment: Option<String>,
    pub channel: String,
    pub touchpoint: Option<String>,
    pub store_id: Option<String>,
    pub agent_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The recovery case a bad answer opened (a detractor, CSAT ≤ 2, CES in the bottom two
    /// points of its scale).
    pub recovery_case_id: Option<String>,
}

impl From<Recorded> for FeedbackResponse {
    fn from(r: Recorded) -> Self {
        let row = r.response;
        Self {
            kind: Kind::parse(&row.kind).unwrap_or(Kind::Nps),
            id: row.id,
            customer_id: row.customer_id,
            scale: row.scale,
            score: row.score,
            comment: row.comment,
            channel: row.channel,
            touchpoint: row.touchpoint,
            store_id: row.store_id,
            agent_id: row.agent_id,
            occurred_at: row.occurred_at.and_utc(),
            created_at: row.created_at.and_utc(),
            recovery_case_id: r.recovery_case_id,
        }
    }
}

/// The store binding of a key was not respected.
fn store_mismatch() -> ApiError {
    ApiError::forbidden(
        "store_mismatch",
        "This API key is bound to another store than the feedback names",
    )
}

/// A channel name: lower-case letters, digits, `_` and `-`.
fn channel(raw: &str) -> Result<String, String> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_CHANNEL
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "must be 1–{MAX_CHANNEL} characters of lower-case letters, digits, _ and -"
        ))
    }
}

/// A validated score and scale for a kind; errors go to `c`.
pub fn check_score(c: &mut Check, kind: Kind, scale: Option<i32>, score: Option<i32>) -> i32 {
    let scale = scale.unwrap_or_else(|| kind.default_scale());
    if !kind.scale_allowed(scale) {
        let allowed = match kind {
            Kind::Nps => "10 for nps",
            Kind::Csat => "5 for csat",
            Kind::Ces => "5 or 7 for ces",
        };
        c.fail("scale", &format!("must be {allowed}"));
        return scale;
    }
    if let Some(s) = score
        && !kind.score_allowed(scale, s)
    {
        c.fail(
            "score",
            &format!("must be between {} and {scale}", kind.min_score()),
        );
    }
    scale
}

impl FeedbackRequest {
    fn parse(self, bound_store: Option<&str>, now: DateTime<Utc>) -> Result<NewResponse, ApiError> {
        let mut c = Check::default();
        let customer_id = self
            .customer_id
            .and_then(|id| c.take("customer_id", validate::text(&id, MAX_ID)));
        let scale = check_score(&mut c, self.kind, self.scale, self.score);
        let comment = self
            .comment
            .and_then(|v| c.take("comment", validate::text(&v, MAX_COMMENT)));
        let channel = c.take("channel", channel(&self.channel));
        let touchpoint = self
            .touchpoint
            .and_then(|v| c.take("touchpoint", validate::text(&v, MAX_ID)));
        let store_id = match (bound_store, self.store_id) {
            (Some(bound), Some(given)) if bound != given => return Err(store_mismatch()),
            (Some(bound), _) => Some(bound.to_owned()),
            (None, given) => given.and_then(|s| c.take("store_id", validate::text(&s, MAX_ID))),
        };
        let agent_id = self
            .agent_id
            .and_then(|v| c.take("agent_id", validate::text(&v, MAX_ID)));
        let earliest = NaiveDate::from_ymd_opt(2000, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc());
        if earliest.is_some_and(|e| self.occurred_at < e) {
            c.fail("occurred_at", "must not be before 2000-01-01");
        }
        if self.occurred_at > now + Duration::minutes(MAX_SKEW_MINUTES) {
            c.fail("occurred_at", "must not be in the future");
        }
        c.finish()?;
        if self.score.is_none() && comment.is_none() {
            return Err(ApiError::unprocessable(
                "empty_response",
                "Give a score, or a comment when the question was skipped",
            ));
        }
        Ok(NewResponse {
            customer_id,
            invitation_id: None,
            survey_id: None,
            kind: self.kind,
            scale,
            score: self.score,
            comment,
            channel: channel.unwrap_or_default(),
            touchpoint,
            store_id,
            agent_id,
            source: Source::Api,
            occurred_at: self.occurred_at.naive_utc(),
        })
    }
}

/// Records the response in the caller's write transaction: the customer (if named) is resolved
/// past merge aliases and their balance locked first, as everything touching a customer's
/// points does.
fn record(
    c: &mut DbConnection,
    mut new: NewResponse,
    now: NaiveDateTime,
) -> Result<Recorded, ApiError> {
    if let Some(requested) = new.customer_id.take() {
        let customer = crate::customers::repo::resolve(c, &requested)?.ok_or_else(|| {
            ApiError::unprocessable("unknown_customer", "The customer does not exist")
        })?;
        if customer.erased_at.is_some() {
            return Err(ApiError::unprocessable(
                "customer_erased",
                "This customer's data was erased; nothing new can be recorded for them",
            ));
        }
        if !crate::points::ledger::lock(c, &customer.id)? {
            return Err(ApiError::unprocessable(
                "unknown_customer",
                "The customer does not exist",
            ));
        }
        // Erased while this request waited for the lock: nothing new is recorded for them.
        let locked = crate::customers::repo::find(c, &customer.id)?;
        if locked.is_none_or(|cu| cu.erased_at.is_some()) {
            return Err(ApiError::unprocessable(
                "customer_erased",
                "This customer's data was erased; nothing new can be recorded for them",
            ));
        }
        new.customer_id = Some(customer.id);
    }
    let program = crate::program::repo::load(c)?;
    Ok(responses::record(c, &program, new, now)?)
}

/// Record feedback collected elsewhere: a score (or a skipped question with a comment) with
/// where and when it was given. A bad answer opens a recovery case. Retries are safe with an
/// `Idempotency-Key`.
#[utoipa::path(tag = "feedback", request_body = FeedbackRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "optional; 1–255 printable ASCII characters")),
    responses((status = 201, body = FeedbackResponse),
        (status = 400, description = "`invalid_body`, `validation_failed` (every bad field listed)", body = Problem), (status = 401, body = Problem),
        (status = 403, description = "not allowed, or `store_mismatch`: the API key is bound to another store", body = Problem),
        (status = 409, description = "`idempotency_key_in_use`", body = Problem),
        (status = 422, description = "`empty_response`, `unknown_customer`, `customer_erased`, `idempotency_key_reused`", body = Problem)))]
#[post("/feedback")]
async fn submit(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Body<FeedbackRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::FEEDBACK_WRITE)?;
    let now = state.clock.now();
    let body = body.read().await?;
    let canonical = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.into()))?;
    let key = idempotency::key_from(&req, &caller, &canonical, false)?;
    let new = body.parse(caller.bound_store(), now)?;
    let outcome = db::run(&state.pool, move |conn| {
        idempotency::execute(conn, key.as_ref(), now.naive_utc(), |c| {
            let recorded = record(c, new.clone(), now.naive_utc())?;
            Outcome::json(StatusCode::CREATED, &FeedbackResponse::from(recorded))
        })
    })
    .await?;
    Ok(outcome.into_response())
}

//! Invitations: created one per trigger event (a purchase, a ticket resolution, staff), sent as
//! `survey_invitation` messages by the `survey_invitations` job (or inside a ticket follow-up),
//! reminded once by the `survey_reminders` job (`invitation_jobs`), and answered once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use diesel::QueryResult;
use secrecy::{ExposeSecret, SecretString};

use super::invitation_repo as repo;
use super::responses::{self, NewResponse};
use super::survey_repo;
use super::{InvitationRow, InvitationStatus, Kind, ResponseRow, Source, SurveyRow};
use crate::db::{self, DbConnection};
use crate::purchases::PurchaseRow;
use crate::tickets::TicketRow;

/// What signs and places the personal links of invitations.
#[derive(Clone)]
pub struct Links {
    /// `server.public_url`.
    pub public_url: String,
    /// The link key (`auth.jwt_secret`).
    pub secret: Arc<SecretString>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl Links {
    /// The links of the instance a job runs in.
    pub fn of(ctx: &crate::scheduler::JobContext) -> Self {
        Self {
            public_url: ctx.settings.server.public_url.clone(),
            secret: ctx.secret.clone(),
        }
    }

    /// The response page of an invitation.
    pub fn url(&self, invitation_id: &str) -> Option<String> {
        super::token::url(&self.public_url, self.secret.expose_secret(), invitation_id)
    }
}

/// Where an invitation comes from and what its response will be attributed to.
struct Origin<'a> {
    customer_id: &'a str,
    dedupe_key: String,
    cause_type: &'a str,
    cause_id: &'a str,
    channel: Option<String>,
    touchpoint: Option<&'a str>,
    store_id: Option<String>,
    agent_id: Option<String>,
}

fn new_row(
    s: &SurveyRow,
    o: Origin<'_>,
    due_at: NaiveDateTime,
    now: NaiveDateTime,
) -> InvitationRow {
    InvitationRow {
        id: uuid::Uuid::now_v7().to_string(),
        survey_id: s.id.clone(),
        customer_id: o.customer_id.to_owned(),
        kind: s.kind.clone(),
        scale: s.scale,
        dedupe_key: o.dedupe_key,
        cause_type: o.cause_type.to_owned(),
        cause_id: o.cause_id.to_owned(),
        status: InvitationStatus::Scheduled.as_str().to_owned(),
        reason: None,
        channel: o.channel,
        touchpoint: o.touchpoint.map(str::to_owned),
        store_id: o.store_id,
        agent_id: o.agent_id,
        due_at,
        sent_at: None,
        reminder_due_at: None,
        reminders_sent: 0,
        expires_at: None,
        answered_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// `at` plus `n` units, saturating (the survey's ranges keep it far from the limits).
pub(super) fn later(at: NaiveDateTime, d: Option<Duration>) -> NaiveDateTime {
    d.and_then(|d| at.checked_add_signed(d))
        .unwrap_or(NaiveDateTime::MAX)
}

/// When a sent invitation expires and its reminder is due (none when the survey sends none).
pub(super) fn sent_times(
    s: &SurveyRow,
    now: NaiveDateTime,
) -> (NaiveDateTime, Option<NaiveDateTime>) {
    let expires = later(now, Duration::try_days(i64::from(s.expires_after_days)));
    let reminder = (s.max_reminders >= 1)
        .then(|| later(now, Duration::try_hours(i64::from(s.reminder_after_hours))));
    (expires, reminder)
}

/// Schedules the invitations of a newly recorded purchase: one per active post-purchase survey,
/// `delay_hours` later. One indexed read, and nothing more when there is no such survey. Call
/// inside the purchase's transaction.
pub fn after_purchase(
    c: &mut DbConnection,
    purchase: &PurchaseRow,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let surveys = crate::cache::post_purchase_surveys(c)?;
    if surveys.is_empty() {
        return Ok(0);
    }
    let rows: Vec<InvitationRow> = surveys
        .iter()
        .map(|s| {
            let origin = Origin {
                customer_id: &purchase.customer_id,
                dedupe_key: format!("post_purchase:{}:{}", s.id, purchase.id),
                cause_type: "purchase",
                cause_id: &purchase.id,
                channel: Some(purchase.channel.clone()).filter(|ch| !ch.is_empty()),
                touchpoint: Some("purchase"),
                store_id: purchase.store_id.clone(),
                agent_id: None,
            };
            let due = later(now, Duration::try_hours(i64::from(s.delay_hours)));
            new_row(s, origin, due, now)
        })
        .collect();
    repo::insert_new(c, &rows)
}

/// The invitation a ticket follow-up carries, created already sent (the follow-up is its
/// message): `None` when `survey_id` names no active survey. Call inside the follow-up's
/// transaction, only for a follow-up that goes out.
pub fn for_ticket(
    c: &mut DbConnection,
    survey_id: &str,
    ticket: &TicketRow,
    customer_id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    let Some(survey) = survey_repo::find(c, survey_id)?.filter(|s| s.active) else {
        return Ok(None);
    };
    let origin = Origin {
        customer_id,
        dedupe_key: format!("ticket:{}:{}", ticket.id, ticket.resolutions),
        cause_type: "ticket",
        cause_id: &ticket.id,
        channel: Some(ticket.channel.clone()),
        touchpoint: Some("support"),
        store_id: None,
        agent_id: ticket.resolved_agent_id.clone(),
    };
    let mut row = new_row(&survey, origin, now, now);
    let (expires, reminder) = sent_times(&survey, now);
    row.status = InvitationStatus::Sent.as_str().to_owned();
    row.sent_at = Some(now);
    row.expires_at = Some(expires);
    row.reminder_due_at = reminder;
    let id = row.id.clone();
    Ok((repo::insert_new(c, &[row])? == 1).then_some(id))
}

/// What inviting customers by hand did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invited {
    pub created: usize,
    /// Already invited in this campaign, erased, or named twice.
    pub skipped: usize,
}

/// Why customers could not be invited.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("survey not found")]
    SurveyNotFound,
    #[error("the survey is not active")]
    SurveyInactive,
    #[error("no customer has these ids: {}", .0.join(", "))]
    UnknownCustomers(Vec<String>),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Schedules invitations due now for these customers (merge aliases stand for their survivor;
/// erased customers are skipped), once per survey, campaign and customer. Nothing happens when
/// an id is unknown.
pub fn invite(
    c: &mut DbConnection,
    survey_id: &str,
    customer_ids: &[String],
    campaign: &str,
    now: NaiveDateTime,
) -> Result<Invited, InviteError> {
    db::write(c, |c| {
        let survey = survey_repo::find(c, survey_id)?.ok_or(InviteError::SurveyNotFound)?;
        if !survey.active {
            return Err(InviteError::SurveyInactive);
        }
        let found: BTreeMap<String, _> = repo::customers_by_ids(c, customer_ids)?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let unknown: Vec<String> = customer_ids
            .iter()
            .filter(|id| !found.contains_key(*id))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(InviteError::UnknownCustomers(unknown));
        }
        let aliases: Vec<String> = found
            .values()
            .filter_map(|r| r.merged_into.clone())
            .collect();
        let survivors: BTreeMap<String, _> = repo::customers_by_ids(c, &aliases)?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let mut targets = BTreeSet::new();
        for row in found.values() {
            let row = match &row.merged_into {
                Some(to) => survivors.get(to),
                None => Some(row),
            };
            if let Some(r) = row.filter(|r| r.erased_at.is_none() && r.merged_into.is_none()) {
                targets.insert(r.id.clone());
            }
        }
        let rows: Vec<InvitationRow> = targets
            .iter()
            .map(|customer_id| {
                let origin = Origin {
                    customer_id,
                    dedupe_key: format!("manual:{}:{campaign}:{customer_id}", survey.id),
                    cause_type: "manual",
                    cause_id: campaign,
                    channel: None,
                    touchpoint: None,
                    store_id: None,
                    agent_id: None,
                };
                new_row(&survey, origin, now, now)
            })
            .collect();
        let created = repo::insert_new(c, &rows)?;
        Ok(Invited {
            created,
            skipped: customer_ids.len().saturating_sub(created),
        })
    })
}

/// An answer as the customer gave it (the comment already checked and trimmed; `None` when
/// empty).
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub score: Option<i32>,
    pub comment: Option<String>,
}

/// Longest comment.
pub const MAX_COMMENT: usize = 2000;

/// Checks a comment as typed: at most [`MAX_COMMENT`] characters, no control characters but
/// line breaks and tabs; trimmed, and `None` when blank.
pub fn parse_comment(raw: Option<&str>) -> Result<Option<String>, String> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    if crate::body::has_control_chars(raw) {
        return Err("must not contain NUL or other control characters".to_owned());
    }
    if raw.chars().count() > MAX_COMMENT {
        return Err(format!("must be at most {MAX_COMMENT} characters"));
    }
    let trimmed = raw.trim();
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// Why an answer was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// No such invitation, not the caller's, or never sent to the customer.
    #[error("invitation not found")]
    NotFound,
    #[error("this survey was already answered")]
    AlreadyAnswered,
    #[error("this survey can no longer be answered")]
    Expired,
    #[error("must be between {min} and {max}")]
    InvalidScore { min: i32, max: i32 },
    #[error("give a score or a comment")]
    Empty,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// A recorded answer.
#[derive(Debug, Clone)]
pub struct Answered {
    pub invitation: InvitationRow,
    pub response: ResponseRow,
}

/// Why an invitation cannot be answered now, if it cannot.
fn refusal(inv: &InvitationRow, now: NaiveDateTime) -> Option<AnswerError> {
    match InvitationStatus::parse(&inv.status) {
        Some(InvitationStatus::Answered) => Some(AnswerError::AlreadyAnswered),
        Some(InvitationStatus::Sent) if inv.expires_at.is_some_and(|e| e <= now) => {
            Some(AnswerError::Expired)
        }
        Some(InvitationStatus::Sent) => None,
        // Scheduled, suppressed or cancelled: the customer never got the link.
        _ => Some(AnswerError::NotFound),
    }
}

/// Records the one answer of an invitation (the response page and the app both come here).
/// `owner`: the customer who must own it (the app); `medium`: `email` for the page, `app`.
///
/// The response's channel is where the experience happened — the invitation's (the purchase's
/// or the ticket's), so that a report grouped by channel sets each channel's answers against
/// its own invitations — and the medium it was answered by only when the invitation names none
/// (a campaign).
pub fn answer(
    c: &mut DbConnection,
    invitation_id: &str,
    owner: Option<&str>,
    a: Answer,
    medium: &str,
    now: NaiveDateTime,
) -> Result<Answered, AnswerError> {
    db::write(c, |c| {
        let inv = repo::find(c, invitation_id)?.ok_or(AnswerError::NotFound)?;
        let customer = crate::customers::repo::resolve(c, &inv.customer_id)?
            .filter(|cu| cu.erased_at.is_none())
            .ok_or(AnswerError::NotFound)?;
        if owner.is_some_and(|o| o != customer.id) {
            return Err(AnswerError::NotFound);
        }
        if let Some(no) = refusal(&inv, now) {
            return Err(no);
        }
        let kind = Kind::parse(&inv.kind).unwrap_or(Kind::Nps);
        if let Some(score) = a.score
            && !kind.score_allowed(inv.scale, score)
        {
            return Err(AnswerError::InvalidScore {
                min: kind.min_score(),
                max: inv.scale,
            });
        }
        if a.score.is_none() && a.comment.is_none() {
            return Err(AnswerError::Empty);
        }
        // Lock order: the balance first, since an answer may credit apology points.
        crate::points::ledger::lock(c, &customer.id)?;
        if repo::claim_answer(c, invitation_id, now)? == 0 {
            let again = repo::find(c, invitation_id)?.ok_or(AnswerError::NotFound)?;
            return Err(refusal(&again, now).unwrap_or(AnswerError::AlreadyAnswered));
        }
        let program = crate::program::repo::load(c)?;
        let recorded = responses::record(
            c,
            &program,
            NewResponse {
                customer_id: Some(customer.id.clone()),
                invitation_id: Some(inv.id.clone()),
                survey_id: Some(inv.survey_id.clone()),
                kind,
                scale: inv.scale,
                score: a.score,
                comment: a.comment,
                channel: inv.channel.clone().unwrap_or_else(|| medium.to_owned()),
                touchpoint: inv.touchpoint.clone(),
                store_id: inv.store_id.clone(),
                agent_id: inv.agent_id.clone(),
                source: Source::Survey,
                occurred_at: now,
            },
            now,
        )?;
        let invitation = repo::find(c, invitation_id)?.ok_or(AnswerError::NotFound)?;
        Ok(Answered {
            invitation,
            response: recorded.response,
        })
    })
}

//! The export's part about feedback: the customer's answers (with their comments), the survey
//! invitations sent to them, and the recovery cases their bad answers opened.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::{feedback_responses, survey_invitations};
use crate::feedback::{InvitationRow, ResponseRow};

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A feedback answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedFeedbackResponse {
    pub id: String,
    /// The invitation answered; null for feedback a store backend sent.
    pub invitation_id: Option<String>,
    pub survey_id: Option<String>,
    /// `nps`, `csat` or `ces`.
    pub kind: String,
    /// Top of the scale: NPS 10, CSAT 5, CES 5 or 7.
    pub scale: i32,
    /// Null when the question was skipped.
    pub score: Option<i32>,
    pub comment: Option<String>,
    pub channel: String,
    pub touchpoint: Option<String>,
    pub store_id: Option<String>,
    pub agent_id: Option<String>,
    /// `survey` (through an invitation) or `api` (sent by a store backend).
    pub source: String,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A survey invitation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedSurveyInvitation {
    pub id: String,
    pub survey_id: String,
    pub kind: String,
    pub scale: i32,
    /// What caused it (`purchase`, `ticket`…) and its id.
    pub cause_type: String,
    pub cause_id: String,
    /// `scheduled`, `sent`, `suppressed`, `answered` or `cancelled`.
    pub status: String,
    /// Why it was suppressed or cancelled.
    pub reason: Option<String>,
    /// Where the experience asked about happened.
    pub channel: Option<String>,
    pub touchpoint: Option<String>,
    pub store_id: Option<String>,
    pub agent_id: Option<String>,
    pub due_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub reminders_sent: i32,
    pub expires_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A recovery case opened by a bad answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedRecoveryCase {
    pub id: String,
    pub response_id: String,
    pub kind: String,
    pub scale: i32,
    pub score: i32,
    pub channel: String,
    pub touchpoint: Option<String>,
    pub store_id: Option<String>,
    pub agent_id: Option<String>,
    /// `open` or `resolved`.
    pub status: String,
    /// Apology points credited with the case.
    pub apology_points: i64,
    pub apologized: bool,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
}

/// Every answer of the customer, oldest first.
pub fn responses(c: &mut DbConnection, id: &str) -> QueryResult<Vec<ExportedFeedbackResponse>> {
    let rows: Vec<ResponseRow> = feedback_responses::table
        .filter(feedback_responses::customer_id.eq(id))
        .select(ResponseRow::as_select())
        .order((
            feedback_responses::occurred_at.asc(),
            feedback_responses::id.asc(),
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|r| ExportedFeedbackResponse {
            id: r.id,
            invitation_id: r.invitation_id,
            survey_id: r.survey_id,
            kind: r.kind,
            scale: r.scale,
            score: r.score,
            comment: r.comment,
            channel: r.channel,
            touchpoint: r.touchpoint,
            store_id: r.store_id,
            agent_id: r.agent_id,
            source: r.source,
            occurred_at: utc(r.occurred_at),
            created_at: utc(r.created_at),
        })
        .collect())
}

/// Every invitation of the customer, oldest first (through `survey_invitations_customer_idx`).
pub fn invitations(c: &mut DbConnection, id: &str) -> QueryResult<Vec<ExportedSurveyInvitation>> {
    let rows: Vec<InvitationRow> = survey_invitations::table
        .filter(survey_invitations::customer_id.eq(id))
        .select(InvitationRow::as_select())
        .order((
            survey_invitations::created_at.asc(),
            survey_invitations::id.asc(),
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|i| ExportedSurveyInvitation {
            id: i.id,
            survey_id: i.survey_id,
            kind: i.kind,
            scale: i.scale,
            cause_type: i.cause_type,
            cause_id: i.cause_id,
            status: i.status,
            reason: i.reason,
            channel: i.channel,
            touchpoint: i.touchpoint,
            store_id: i.store_id,
            agent_id: i.agent_id,
            due_at: utc(i.due_at),
            sent_at: i.sent_at.map(utc),
            reminders_sent: i.reminders_sent,
            expires_at: i.expires_at.map(utc),
            answered_at: i.answered_at.map(utc),
            created_at: utc(i.created_at),
        })
        .collect())
}

/// Every recovery case of the customer, oldest first.
pub fn recovery_cases(c: &mut DbConnection, id: &str) -> QueryResult<Vec<ExportedRecoveryCase>> {
    Ok(crate::feedback::recovery::repo::all_for_customer(c, id)?
        .into_iter()
        .map(|r| ExportedRecoveryCase {
            id: r.id,
            response_id: r.response_id,
            kind: r.kind,
            scale: r.scale,
            score: r.score,
            channel: r.channel,
            touchpoint: r.touchpoint,
            store_id: r.store_id,
            agent_id: r.agent_id,
            status: r.status,
            apology_points: r.apology_points,
            apologized: r.apologized,
            opened_at: utc(r.opened_at),
            resolved_at: r.resolved_at.map(utc),
            resolved_by: r.resolved_by,
            resolution_note: r.resolution_note,
        })
        .collect())
}

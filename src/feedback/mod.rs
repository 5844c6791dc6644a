//! Customer feedback: NPS, CSAT and CES surveys, the invitations that ask a customer to answer
//! one (by email with a personal link, or in the app), the responses (through an invitation or
//! sent by a store backend with `POST /v1/feedback`), and the recovery cases that bad answers open.
//!
//! - `surveys`: survey CRUD (`/v1/surveys`).
//! - `invitations`: creating invitations (after a purchase, inside a ticket follow-up), the
//!   `survey_invitations` and `survey_reminders` jobs, answering an invitation.
//! - `page`: the response page `GET/POST /s/{token}`.
//! - `me`: `/v1/me/surveys` for the app.
//! - `responses`: recording a response (timeline, recovery).
//! - `routes`: `POST /v1/feedback` (store backends).
//! - `recovery`: recovery cases, apology points, `/v1/recovery-cases`.

pub mod invitation_jobs;
pub mod invitation_repo;
pub mod invitation_routes;
pub mod invitations;
pub mod me;
pub mod page;
pub mod page_html;
pub mod recovery;
pub mod responses;
pub mod routes;
pub mod survey_repo;
pub mod survey_service;
pub mod survey_text;
pub mod surveys;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{feedback_responses, recovery_cases, survey_invitations};

/// What a survey or a response measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = FeedbackKind)]
pub enum Kind {
    /// Net Promoter Score: 0–10, "how likely are you to recommend us".
    Nps,
    /// Customer satisfaction: 1–5.
    Csat,
    /// Customer effort: 1–5 or 1–7 (the survey's `ces_scale`).
    Ces,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 3] = [Kind::Nps, Kind::Csat, Kind::Ces];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Nps => "nps",
            Kind::Csat => "csat",
            Kind::Ces => "ces",
        }
    }

    /// The kind with this wire name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The lowest score of the kind's scale.
    pub fn min_score(self) -> i32 {
        match self {
            Kind::Nps => 0,
            Kind::Csat | Kind::Ces => 1,
        }
    }

    /// Whether `scale` (the top of the scale) is allowed for the kind: NPS 10, CSAT 5, CES 5 or 7.
    pub fn scale_allowed(self, scale: i32) -> bool {
        match self {
            Kind::Nps => scale == 10,
            Kind::Csat => scale == 5,
            Kind::Ces => scale == 5 || scale == 7,
        }
    }

    /// The scale used when none is given: NPS 10, CSAT 5, CES 7.
    pub fn default_scale(self) -> i32 {
        match self {
            Kind::Nps => 10,
            Kind::Csat => 5,
            Kind::Ces => 7,
        }
    }

    /// Whether `score` lies on the scale `min_score()..=scale`.
    pub fn score_allowed(self, scale: i32, score: i32) -> bool {
        self.scale_allowed(scale) && (self.min_score()..=scale).contains(&score)
    }

    /// Whether an answer is bad enough to open a recovery case: a detractor (NPS ≤ 6), CSAT ≤ 2,
    /// or CES in the bottom two points of its scale. A CES is asked as "how easy was it"
    /// (1 = very difficult, top = very easy), so the bottom two points are 1 and 2.
    pub fn is_low(self, score: i32) -> bool {
        match self {
            Kind::Nps => score <= 6,
            Kind::Csat | Kind::Ces => score <= 2,
        }
    }
}

/// What sends a survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SurveyTrigger)]
pub enum Trigger {
    /// An invitation `delay_hours` after each recorded purchase.
    PostPurchase,
    /// Inside the follow-up of a resolved support ticket (program `follow_up.survey_id`).
    PostResolution,
    /// Only when staff invite customers.
    Manual,
}

impl Trigger {
    /// Every trigger.
    pub const ALL: [Trigger; 3] = [
        Trigger::PostPurchase,
        Trigger::PostResolution,
        Trigger::Manual,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::PostPurchase => "post_purchase",
            Trigger::PostResolution => "post_resolution",
            Trigger::Manual => "manual",
        }
    }

    /// The trigger with this wire name.
    pub fn parse(s: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    /// Waiting for its `due_at`.
    Scheduled,
    /// Sent (by email, or inside a ticket follow-up) and waiting for an answer.
    Sent,
    /// Not sent: no survey consent, the survey cooldown, no email… (`reason` says which).
    Suppressed,
    /// Answered (once).
    Answered,
    /// Withdrawn (the survey was deactivated, or the customer erased) before it went out.
    Cancelled,
}

impl InvitationStatus {
    /// Every status.
    pub const ALL: [InvitationStatus; 5] = [
        InvitationStatus::Scheduled,
        InvitationStatus::Sent,
        InvitationStatus::Suppressed,
        InvitationStatus::Answered,
        InvitationStatus::Cancelled,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Scheduled => "scheduled",
            InvitationStatus::Sent => "sent",
            InvitationStatus::Suppressed => "suppressed",
            InvitationStatus::Answered => "answered",
            InvitationStatus::Cancelled => "cancelled",
        }
    }

    /// The status with this stored name.
    pub fn parse(s: &str) -> Option<InvitationStatus> {
        InvitationStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Whether a recovery case is being worked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = RecoveryStatus)]
pub enum RecoveryStatus {
    Open,
    Resolved,
}

impl RecoveryStatus {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryStatus::Open => "open",
            RecoveryStatus::Resolved => "resolved",
        }
    }

    /// The status with this wire name.
    pub fn parse(s: &str) -> Option<RecoveryStatus> {
        [RecoveryStatus::Open, RecoveryStatus::Resolved]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Where a response came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Answered through an invitation (the response page or the app).
    Survey,
    /// Sent by a store backend (`POST /v1/feedback`).
    Api,
}

impl Source {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Survey => "survey",
            Source::Api => "api",
        }
    }
}

/// A survey row. `question` and `open_question` are JSON objects from locale to text.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::surveys)]
pub struct SurveyRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub scale: i32,
    pub question: String,
    pub open_question: String,
    pub trigger_type: String,
    pub delay_hours: i32,
    pub reminder_after_hours: i32,
    pub max_reminders: i32,
    pub expires_after_days: i32,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An invitation row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = survey_invitations)]
pub struct InvitationRow {
    pub id: String,
    pub survey_id: String,
    pub customer_id: String,
    pub kind: String,
    pub scale: i32,
    pub dedupe_key: String,
    pub cause_type: String,
    pub cause_id: String,
    pub status: String,
    pub reason: Option<String>,
    pub channel: Option<String>,
    pub touchpoint: Option<String>,
    pub store_id: Option<String>,
    pub agent_id: Option<String>,
    pub due_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub reminder_due_at: Option<NaiveDateTime>,
    pub reminders_sent: i32,
    pub expires_at: Option<NaiveDateTime>,
    pub answered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A response row. `score` is `None` for a skipped question.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = feedback_responses)]
pub struct ResponseRow {
    pub id: String,
    pub customer_id: Option<String>,
    pub invitation_id: Option<String>,
    pub survey_id: Option<String>,
    pub kind: String,
    pub scale: i32,
    pub score: Option<i32>,
    pub comment: Option<String>,
    pub channel: String,
    pub touchpoint: Option<String>,
    pub store_id: Option<String>,
    pub agent_id: Option<String>,
    pub source: String,
    pub occurred_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// A recovery case row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = recovery_cases)]
pub struct RecoveryCaseRow {
    pub id: String,
    pub customer_id: Option<String>,
    pub response_id: String,
    pub kind: String,
    pub scale: i32,
    pub score: i32,
    pub channel: String,
    pub touchpoint: Option<String>,
    pub store_id: Option<String>,
    pub agent_id: Option<String>,
    pub status: String,
    pub apology_points: i64,
    pub apologized: bool,
    pub opened_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolved_by: Option<String>,
    pub resolution_note: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The personal link of an invitation: `{base64url(invitation id)}.{base64url(HMAC-SHA256)}`,
/// signed with the instance's link key (`auth.jwt_secret`), so that it cannot be guessed or
/// forged and needs no column of its own.
pub mod token {
    /// Separates survey signatures from every other use of the key.
    const CONTEXT: &[u8] = b"patron.survey.v1:";
    /// Longer tokens are refused before any work.
    pub const MAX_LEN: usize = 256;

    /// The token of an invitation.
    pub fn sign(secret: &str, invitation_id: &str) -> Option<String> {
        crate::secrets::links::sign(secret, CONTEXT, invitation_id.as_bytes())
    }

    /// The invitation id of a genuine token (constant-time check).
    pub fn verify(secret: &str, token: &str) -> Option<String> {
        let id = crate::secrets::links::verify(secret, CONTEXT, token, MAX_LEN)?;
        String::from_utf8(id).ok().filter(|id| !id.is_empty())
    }

    /// The response page of an invitation under `server.public_url`.
    pub fn url(public_url: &str, secret: &str, invitation_id: &str) -> Option<String> {
        let token = sign(secret, invitation_id)?;
        Some(format!("{}/s/{token}", public_url.trim_end_matches('/')))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_signed_token_verifies_and_a_changed_one_does_not() {
            let t = sign("k", "inv-1").unwrap_or_default();
            assert_eq!(verify("k", &t).as_deref(), Some("inv-1"));
            assert_eq!(verify("other", &t), None);
            let forged = t.replacen('.', "x.", 1);
            assert_eq!(verify("k", &forged), None);
            assert_eq!(verify("k", "nonsense"), None);
        }
    }
}

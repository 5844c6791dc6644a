//! Recording a response: the one function every path goes through (the response page, the app,
//! `POST /v1/feedback`), so that the timeline, the profile's latest scores and the recovery case
//! of a bad answer are the same whichever way the answer came.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Kind, ResponseRow, Source};
use crate::db::DbConnection;
use crate::db::schema::feedback_responses;
use crate::program::ProgramSettings;
use crate::timeline;

/// A validated response to record.
#[derive(Debug, Clone)]
pub struct NewResponse {
    /// The customer (already resolved past merge aliases); `None` for anonymous feedback.
    pub customer_id: Option<String>,
    /// The invitation answered (already claimed by the caller), if any.
    pub invitation_id: Option<String>,
    pub survey_id: Option<String>,
    pub kind: Kind,
    /// Top of the scale, allowed for the kind.
    pub scale: i32,
    /// On the scale; `None` when the question was skipped.
    pub score: Option<i32>,
    pub comment: Option<String>,
    pub channel: String,
    pub touchpoint: Option<String>,
    pub store_id: Option<String>,
    pub agent_id: Option<String>,
    pub source: Source,
    pub occurred_at: NaiveDateTime,
}

/// What recording a response did.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub response: ResponseRow,
    /// The recovery case the answer opened, if it was bad.
    pub recovery_case_id: Option<String>,
}

/// Records a response inside the caller's write transaction: the row, the customer's timeline
/// entry, and — for a bad answer — the recovery case (with apology points and message per the
/// program's `recovery` settings).
///
/// Lock order: when `customer_id` is set, the caller has locked the customer's balance row
/// first (`points::ledger::lock`), because apology points credit it.
pub fn record(
    c: &mut DbConnection,
    program: &ProgramSettings,
    new: NewResponse,
    now: NaiveDateTime,
) -> QueryResult<Recorded> {
    let row = ResponseRow {
        id: uuid::Uuid::now_v7().to_string(),
        customer_id: new.customer_id.clone(),
        invitation_id: new.invitation_id.clone(),
        survey_id: new.survey_id.clone(),
        kind: new.kind.as_str().to_owned(),
        scale: new.scale,
        score: new.score,
        comment: new.comment.clone(),
        channel: new.channel.clone(),
        touchpoint: new.touchpoint.clone(),
        store_id: new.store_id.clone(),
        agent_id: new.agent_id.clone(),
        source: new.source.as_str().to_owned(),
        occurred_at: new.occurred_at,
        created_at: now,
    };
    diesel::insert_into(feedback_responses::table)
        .values(&row)
        .execute(c)?;
    if let Some(customer_id) = &row.customer_id {
        timeline::record(
            c,
            timeline::NewEvent {
                customer_id,
                kind: timeline::Kind::Feedback,
                channel: &row.channel,
                summary: summary(new.kind, new.scale, new.score),
                ref_type: "feedback",
                ref_id: &row.id,
                occurred_at: row.occurred_at,
            },
            now,
        )?;
    }
    let recovery_case_id = super::recovery::service::open(c, program, &row, now)?;
    Ok(Recorded {
        response: row,
        recovery_case_id,
    })
}

/// The timeline summary: the kind and score, never the comment (summaries hold no free text).
pub fn summary(kind: Kind, scale: i32, score: Option<i32>) -> String {
    let name = match kind {
        Kind::Nps => "NPS",
        Kind::Csat => "CSAT",
        Kind::Ces => "CES",
    };
    match score {
        Some(s) => format!("{name} {s}/{scale}"),
        None => format!("{name} skipped"),
    }
}

/// The latest answered (not skipped) response of a customer for one kind: `(score, scale,
/// occurred_at)`. One read down `feedback_responses_customer_idx` from the newest end.
pub fn latest_answer(
    c: &mut DbConnection,
    customer_id: &str,
    kind: Kind,
) -> QueryResult<Option<(i32, i32, NaiveDateTime)>> {
    let found: Option<(Option<i32>, i32, NaiveDateTime)> = feedback_responses::table
        .filter(feedback_responses::customer_id.eq(customer_id))
        .filter(feedback_responses::kind.eq(kind.as_str()))
        .filter(feedback_responses::score.is_not_null())
        .order(feedback_responses::occurred_at.desc())
        .select((
            feedback_responses::score,
            feedback_responses::scale,
            feedback_responses::occurred_at,
        ))
        .first(c)
        .optional()?;
    Ok(found.and_then(|(score, scale, at)| score.map(|s| (s, scale, at))))
}

//! Writing to the outbox. Call [`enqueue`] inside the transaction that causes the message: the
//! message exists exactly when its cause does, and its dedupe key makes a second cause (a retried
//! job, a second instance) a no-op.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Category, Kind, Status};
use crate::db::DbConnection;
use crate::db::schema::messages;
use crate::timeline;

/// A stored message.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: String,
    pub customer_id: String,
    pub kind: String,
    pub category: String,
    pub dedupe_key: String,
    pub status: String,
    pub cause_type: String,
    pub cause_id: String,
    pub payload: String,
    pub locale: Option<String>,
    pub to_address: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub due_at: NaiveDateTime,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub reason: Option<String>,
    pub claim_token: Option<String>,
    pub claimed_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

/// A message to write.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub customer_id: &'a str,
    pub kind: Kind,
    /// Unique per message ever: e.g. `birthday_offer:{customer}:{year}`.
    pub dedupe_key: String,
    /// What caused it: `ticket`, `offer`, `tier_change`, `lot_batch`, `survey_invitation`…
    pub cause_type: &'a str,
    pub cause_id: &'a str,
    /// Values fixed at the cause (offer code and expiry, resolution note, points…).
    pub payload: serde_json::Value,
    /// When it may go out (the dispatcher may defer it further for quiet hours).
    pub due_at: NaiveDateTime,
    /// `Some(reason)` records the message as suppressed at once (no consent, another open
    /// ticket…), so staff see what was not sent and why.
    pub suppressed: Option<String>,
}

/// Writes the message unless one with the same dedupe key exists. Returns the new message's id,
/// or `None` when the key was taken (the message already exists). A suppressed message is also
/// put on the customer's timeline.
pub fn enqueue(
    conn: &mut DbConnection,
    m: NewMessage<'_>,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    let id = uuid::Uuid::now_v7().to_string();
    let status = if m.suppressed.is_some() {
        Status::Suppressed
    } else {
        Status::Pending
    };
    let row = MessageRow {
        id: id.clone(),
        customer_id: m.customer_id.to_owned(),
        kind: m.kind.as_str().to_owned(),
        category: m.kind.category().as_str().to_owned(),
        dedupe_key: m.dedupe_key,
        status: status.as_str().to_owned(),
        cause_type: m.cause_type.to_owned(),
        cause_id: m.cause_id.to_owned(),
        payload: m.payload.to_string(),
        locale: None,
        to_address: None,
        subject: None,
        message_id: None,
        due_at: m.due_at,
        attempts: 0,
        last_error: None,
        reason: m.suppressed.clone(),
        claim_token: None,
        claimed_until: None,
        created_at: now,
        updated_at: now,
        sent_at: None,
    };
    // ON CONFLICT is backend SQL that diesel's MultiConnection does not render, so the one
    // statement runs on whichever connection this is. A taken key must not abort the
    // transaction of the cause (on PostgreSQL a caught unique violation already has).
    let insert = diesel::insert_into(messages::table)
        .values(&row)
        .on_conflict(messages::dedupe_key)
        .do_nothing();
    let inserted = match conn {
        DbConnection::Postgres(pg) => insert.execute(pg)?,
        DbConnection::Sqlite(lite) => insert.execute(lite)?,
    };
    if inserted == 0 {
        return Ok(None);
    }
    if let Some(reason) = &m.suppressed {
        timeline::record(
            conn,
            timeline::NewEvent {
                customer_id: m.customer_id,
                kind: timeline::Kind::MessageSuppressed,
                channel: "email",
                summary: format!("{} not sent: {reason}", m.kind.as_str()),
                ref_type: "message",
                ref_id: &id,
                occurred_at: now,
            },
            now,
        )?;
    }
    Ok(Some(id))
}

/// Cancels the customer's messages with this cause that have not gone out yet (pending, or
/// claimed but not yet sent); returns how many. A dispatcher holding a claim checks the status
/// before it marks a message sent, so a cancelled message is not marked sent.
pub fn cancel_by_cause(
    conn: &mut DbConnection,
    cause_type: &str,
    cause_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        messages::table
            .filter(messages::cause_type.eq(cause_type))
            .filter(messages::cause_id.eq(cause_id))
            .filter(messages::status.eq_any([Status::Pending.as_str(), Status::Sending.as_str()])),
    )
    .set((
        messages::status.eq(Status::Cancelled.as_str()),
        messages::reason.eq(reason),
        messages::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Cancels every message of a customer that has not gone out, claimed ones included (used by
/// erasure).
pub fn cancel_for_customer(
    conn: &mut DbConnection,
    customer_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        messages::table
            .filter(messages::customer_id.eq(customer_id))
            .filter(messages::status.eq_any([Status::Pending.as_str(), Status::Sending.as_str()])),
    )
    .set((
        messages::status.eq(Status::Cancelled.as_str()),
        messages::reason.eq(reason),
        messages::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Whether the category needs a consent the customer has not given; `Some(reason)` if so.
pub fn missing_consent(
    category: Category,
    consent_email_marketing: bool,
    consent_surveys: bool,
) -> Option<&'static str> {
    match category {
        Category::Marketing if !consent_email_marketing => Some("no_marketing_consent"),
        Category::Survey if !consent_surveys => Some("no_survey_consent"),
        _ => None,
    }
}

//! The export's part about contact with the customer: support tickets, messages (metadata only:
//! what, when, to which address and with which subject; never the rendered bodies) and personal
//! offers.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::{messages, offers};

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A support ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedTicket {
    pub id: String,
    pub external_id: String,
    pub channel: String,
    pub subject: String,
    pub category: Option<String>,
    /// `open` or `resolved`.
    pub status: String,
    pub opened_at: DateTime<Utc>,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_agent_id: Option<String>,
    pub resolved_agent_name: Option<String>,
    pub resolution_note: Option<String>,
    pub resolutions: i32,
    /// `none`, `scheduled`, `enqueued` or `cancelled`.
    pub follow_up_status: String,
    pub follow_up_due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A message sent, queued, suppressed or cancelled.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedMessage {
    pub id: String,
    pub kind: String,
    /// `marketing`, `survey` or `service`.
    pub category: String,
    pub status: String,
    /// Why it was suppressed, cancelled or deferred.
    pub reason: Option<String>,
    pub to: Option<String>,
    pub subject: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A personal offer (the birthday gift).
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedOffer {
    pub id: String,
    pub kind: String,
    /// The occasion: for a birthday, its year.
    pub occasion: String,
    /// The reward code it gave, if any.
    pub code: Option<String>,
    pub bonus_points: i64,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Every ticket of the customer, oldest first.
pub fn tickets(c: &mut DbConnection, id: &str) -> QueryResult<Vec<ExportedTicket>> {
    Ok(crate::tickets::repo::all_for_customer(c, id)?
        .into_iter()
        .map(|t| ExportedTicket {
            id: t.id,
            external_id: t.external_id,
            channel: t.channel,
            subject: t.subject,
            category: t.category,
            status: t.status,
            opened_at: utc(t.opened_at),
            agent_id: t.agent_id,
            agent_name: t.agent_name,
            resolved_at: t.resolved_at.map(utc),
            resolved_agent_id: t.resolved_agent_id,
            resolved_agent_name: t.resolved_agent_name,
            resolution_note: t.resolution_note,
            resolutions: t.resolutions,
            follow_up_status: t.follow_up_status,
            follow_up_due_at: t.follow_up_due_at.map(utc),
            created_at: utc(t.created_at),
        })
        .collect())
}

type MessageTuple = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// Every message of the customer, oldest first.
pub fn messages_of(c: &mut DbConnection, id: &str) -> QueryResult<Vec<ExportedMessage>> {
    let rows: Vec<MessageTuple> = messages::table
        .filter(messages::customer_id.eq(id))
        .select((
            messages::id,
            messages::kind,
            messages::category,
            messages::status,
            messages::reason,
            messages::to_address,
            messages::subject,
            messages::created_at,
            messages::sent_at,
        ))
        .order((messages::created_at.asc(), messages::id.asc()))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, kind, category, status, reason, to, subject, created_at, sent_at)| {
                ExportedMessage {
                    id,
                    kind,
                    category,
                    status,
                    reason,
                    to,
                    subject,
                    created_at: utc(created_at),
                    sent_at: sent_at.map(utc),
                }
            },
        )
        .collect())
}

type OfferTuple = (
    String,
    String,
    String,
    Option<String>,
    i64,
    NaiveDateTime,
    Option<NaiveDateTime>,
    NaiveDateTime,
);

/// Every offer of the customer, oldest first.
pub fn offers_of(c: &mut DbConnection, id: &str) -> QueryResult<Vec<ExportedOffer>> {
    let rows: Vec<OfferTuple> = offers::table
        .filter(offers::customer_id.eq(id))
        .select((
            offers::id,
            offers::kind,
            offers::occasion,
            offers::code,
            offers::bonus_points,
            offers::valid_from,
            offers::valid_until,
            offers::created_at,
        ))
        .order((offers::created_at.asc(), offers::id.asc()))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, kind, occasion, code, bonus_points, valid_from, valid_until, created_at)| {
                ExportedOffer {
                    id,
                    kind,
                    occasion,
                    code,
                    bonus_points,
                    valid_from: utc(valid_from),
                    valid_until: valid_until.map(utc),
                    created_at: utc(created_at),
                }
            },
        )
        .collect())
}

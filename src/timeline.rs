//! The customer's timeline: every interaction in one stream, newest first by when it happened.
//!
//! Interactions are written to `timeline_events` in the same transaction as their cause (a
//! purchase, a return, a redemption, a tier change…). Points entries are not copied: the ledger
//! is read beside the events and the two ordered streams are merged, so a posting costs no extra
//! write. Both are read through `(customer_id, time, id)` indexes with a keyset cursor, so a page
//! costs the same whatever the length of the history.
//!
//! Summaries are short, staff-facing and hold no personal data (no names, emails or free-text
//! notes), so they stay true and harmless after an erasure.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::Actor;
use crate::db::DbConnection;
use crate::db::schema::{ledger_entries, timeline_events};
use crate::points::EntryRow;

/// The kinds of entries on a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The customer joined the club.
    Created,
    /// A purchase was recorded.
    Purchase,
    /// Goods of a purchase came back.
    Return,
    /// A points ledger entry (earned, released, spent, expired, adjusted…).
    Points,
    /// Points were spent on a reward and a code issued.
    Redemption,
    /// A reward code was used at a store.
    CodeUsed,
    /// An unused reward code was cancelled and its points given back.
    CodeCancelled,
    /// The tier went up or down.
    TierChange,
    /// A custom event (review written, profile completed…) was reported.
    Event,
    /// A support ticket was opened.
    TicketOpened,
    /// A support ticket was resolved.
    TicketResolved,
    /// A message was sent to the customer.
    MessageSent,
    /// A message could not be delivered.
    MessageFailed,
    /// A message was not sent: no consent, the contact policy, another open ticket…
    MessageSuppressed,
    /// The customer answered a survey.
    Feedback,
    /// Another customer record was merged into this one.
    Merge,
    /// The customer's personal data was erased.
    Erasure,
}

impl Kind {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Created => "created",
            Kind::Purchase => "purchase",
            Kind::Return => "return",
            Kind::Points => "points",
            Kind::Redemption => "redemption",
            Kind::CodeUsed => "code_used",
            Kind::CodeCancelled => "code_cancelled",
            Kind::TierChange => "tier_change",
            Kind::Event => "event",
            Kind::TicketOpened => "ticket_opened",
            Kind::TicketResolved => "ticket_resolved",
            Kind::MessageSent => "message_sent",
            Kind::MessageFailed => "message_failed",
            Kind::MessageSuppressed => "message_suppressed",
            Kind::Feedback => "feedback",
            Kind::Merge => "merge",
            Kind::Erasure => "erasure",
        }
    }

    /// Every kind, in the order the API documents them.
    pub const ALL: [Kind; 17] = [
        Kind::Created,
        Kind::Purchase,
        Kind::Return,
        Kind::Points,
        Kind::Redemption,
        Kind::CodeUsed,
        Kind::CodeCancelled,
        Kind::TierChange,
        Kind::Event,
        Kind::TicketOpened,
        Kind::TicketResolved,
        Kind::MessageSent,
        Kind::MessageFailed,
        Kind::MessageSuppressed,
        Kind::Feedback,
        Kind::Merge,
        Kind::Erasure,
    ];

    /// The kind with this wire name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The channel an action came through when nothing more specific is known: the mobile app for
/// customer tokens, `staff` for the console, `api` for store backends, `system` for jobs.
pub fn channel_of(actor: &Actor) -> &'static str {
    match actor {
        Actor::Staff(_) => "staff",
        Actor::ApiKey(_) => "api",
        Actor::Customer(_) => "app",
        Actor::System => "system",
    }
}

/// A stored timeline event.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = timeline_events)]
pub struct EventRow {
    pub id: String,
    pub customer_id: String,
    pub kind: String,
    pub channel: String,
    pub summary: String,
    pub ref_type: String,
    pub ref_id: String,
    pub occurred_at: NaiveDateTime,
    pub recorded_at: NaiveDateTime,
}

/// Something that happened, to be written with its cause.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub customer_id: &'a str,
    pub kind: Kind,
    pub channel: &'a str,
    pub summary: String,
    pub ref_type: &'a str,
    pub ref_id: &'a str,
    pub occurred_at: NaiveDateTime,
}

/// Writes one event; call it inside the transaction that makes the change.
pub fn record(conn: &mut DbConnection, e: NewEvent<'_>, now: NaiveDateTime) -> QueryResult<()> {
    let mut batch = crate::db::batch::Batch::new(conn);
    batch.push(insert(e, now));
    batch.run(conn).map(drop)
}

/// The statement that writes one event (for a `db::batch::Batch`).
pub fn insert(
    e: NewEvent<'_>,
    now: NaiveDateTime,
) -> impl diesel::query_builder::QueryFragment<diesel::pg::Pg>
+ diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
+ Send
+ 'static {
    diesel::insert_into(timeline_events::table).values(EventRow {
        id: uuid::Uuid::now_v7().to_string(),
        customer_id: e.customer_id.to_owned(),
        kind: e.kind.as_str().to_owned(),
        channel: e.channel.to_owned(),
        summary: e.summary,
        ref_type: e.ref_type.to_owned(),
        ref_id: e.ref_id.to_owned(),
        occurred_at: e.occurred_at,
        recorded_at: now,
    })
}

/// One entry of the timeline as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Entry {
    /// Opaque id of the entry.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// When it happened (for purchases, when the purchase took place).
    pub at: chrono::DateTime<chrono::Utc>,
    /// Where: the purchase channel (`store`, `web`, `app`…), `app` for the customer's own app,
    /// `api` for store backends, `staff`, `system` for jobs, `ledger` for points entries.
    pub channel: String,
    /// A short description without personal data.
    pub summary: String,
    /// The object it concerns.
    #[serde(rename = "ref")]
    pub reference: Reference,
    /// Points entries only: the change of the available balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<i64>,
}

/// A reference to the object behind a timeline entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reference {
    /// `customer`, `purchase`, `return`, `code`, `tier_change`, `event`, `ledger_entry`,
    /// `adjustment`, `referral`, `ticket`, `message`, `feedback`…
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// Which part of the timeline to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these kinds (empty: all).
    pub kinds: Vec<Kind>,
    /// At or after this time.
    pub from: Option<NaiveDateTime>,
    /// Strictly before this time.
    pub to: Option<NaiveDateTime>,
    /// Strictly older than this (time, id) position.
    pub before: Option<(NaiveDateTime, String)>,
}

impl Filter {
    fn wants(&self, kind: Kind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }
}

fn points_summary(e: &EntryRow) -> String {
    let moved = if e.points != 0 { e.points } else { e.pending };
    let pending = if e.points == 0 && e.pending != 0 {
        " pending"
    } else {
        ""
    };
    let what = match e.kind.as_str() {
        "earn" => "earned",
        "bonus" => "bonus",
        "release" => "released",
        "redeem" => "spent on a reward",
        "reverse" => "taken back by a return",
        "expire" => "expired",
        "adjust" => "adjusted",
        "refund" => "given back",
        other => other,
    };
    match e.kind.as_str() {
        "release" => format!("{} pending points became available", e.points),
        _ => format!("{moved:+}{pending} points {what} ({})", e.source_type),
    }
}

fn points_entry(e: EntryRow) -> Entry {
    Entry {
        summary: points_summary(&e),
        points: Some(e.points),
        id: e.id.clone(),
        kind: Kind::Points,
        at: e.created_at.and_utc(),
        channel: "ledger".to_owned(),
        reference: Reference {
            kind: "ledger_entry".to_owned(),
            id: e.id,
        },
    }
}

fn event_entry(e: EventRow) -> Entry {
    Entry {
        id: e.id,
        kind: Kind::parse(&e.kind).unwrap_or(Kind::Event),
        at: e.occurred_at.and_utc(),
        channel: e.channel,
        summary: e.summary,
        reference: Reference {
            kind: e.ref_type,
            id: e.ref_id,
        },
        points: None,
    }
}

/// Up to `limit` entries, newest first by (time, id). Two indexed queries at most, each
/// bounded by `limit`, merged here.
pub fn page(
    conn: &mut DbConnection,
    customer_id: &str,
    filter: &Filter,
    limit: i64,
) -> QueryResult<Vec<Entry>> {
    let mut entries = Vec::new();
    let event_kinds: Vec<&str> = Kind::ALL
        .into_iter()
        .filter(|k| *k != Kind::Points && filter.wants(*k))
        .map(Kind::as_str)
        .collect();
    if !event_kinds.is_empty() {
        let mut q = timeline_events::table
            .filter(timeline_events::customer_id.eq(customer_id.to_owned()))
            .select(EventRow::as_select())
            .order((
                timeline_events::occurred_at.desc(),
                timeline_events::id.desc(),
            ))
            .limit(limit)
            .into_boxed();
        if !filter.kinds.is_empty() {
            q = q.filter(timeline_events::kind.eq_any(event_kinds));
        }
        if let Some(from) = filter.from {
            q = q.filter(timeline_events::occurred_at.ge(from));
        }
        if let Some(to) = filter.to {
            q = q.filter(timeline_events::occurred_at.lt(to));
        }
        if let Some((at, id)) = filter.before.clone() {
            q = q.filter(
                timeline_events::occurred_at
                    .lt(at)
                    .or(timeline_events::occurred_at
                        .eq(at)
                        .and(timeline_events::id.lt(id))),
            );
        }
        entries.extend(q.load(conn)?.into_iter().map(event_entry));
    }
    if filter.wants(Kind::Points) {
        let mut q = ledger_entries::table
            .filter(ledger_entries::customer_id.eq(customer_id.to_owned()))
            .select(EntryRow::as_select())
            .order((ledger_entries::created_at.desc(), ledger_entries::id.desc()))
            .limit(limit)
            .into_boxed();
        if let Some(from) = filter.from {
            q = q.filter(ledger_entries::created_at.ge(from));
        }
        if let Some(to) = filter.to {
            q = q.filter(ledger_entries::created_at.lt(to));
        }
        if let Some((at, id)) = filter.before.clone() {
            q = q.filter(
                ledger_entries::created_at
                    .lt(at)
                    .or(ledger_entries::created_at
                        .eq(at)
                        .and(ledger_entries::id.lt(id))),
            );
        }
        entries.extend(q.load(conn)?.into_iter().map(points_entry));
    }
    entries.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
    entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(entries)
}

/// Every stored event of a customer, oldest first (for the export).
pub fn all_events(conn: &mut DbConnection, customer_id: &str) -> QueryResult<Vec<EventRow>> {
    timeline_events::table
        .filter(timeline_events::customer_id.eq(customer_id))
        .select(EventRow::as_select())
        .order((
            timeline_events::occurred_at.asc(),
            timeline_events::id.asc(),
        ))
        .load(conn)
}

/// Formats an amount of minor units for a summary, e.g. `125.00 EUR`, using the currency's
/// ISO 4217 minor digits.
pub fn money(minor: i64, currency: &str) -> String {
    let digits = crate::values::minor_digits(currency);
    if digits == 0 {
        return format!("{minor} {currency}");
    }
    let scale = 10_i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$} {currency}",
        abs / scale,
        abs % scale,
        width = digits as usize
    )
}

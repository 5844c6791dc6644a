//! Opening, resolving and reopening tickets. Each change is one transaction with its timeline
//! entry and audit record; a resolution schedules its follow-up in the same statement, and a
//! reopening withdraws it.

use chrono::{Duration, NaiveDateTime};

use super::repo::{self, Resolution};
use super::{Channel, FollowUpStatus, Status, TicketRow};
use crate::audit::{self, Actor};
use crate::customers::model::CustomerRow;
use crate::db::{self, DbConnection};
use crate::messages::outbox;
use crate::timeline::{self, Kind, NewEvent};

/// The agent working on a ticket.
#[derive(Debug, Clone)]
pub struct Agent {
    pub id: String,
    pub name: Option<String>,
}

/// A validated ticket to open.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub external_id: String,
    pub customer_id: String,
    pub channel: Channel,
    pub subject: String,
    pub category: Option<String>,
    pub opened_at: NaiveDateTime,
    pub agent: Option<Agent>,
}

/// A validated resolution.
#[derive(Debug, Clone)]
pub struct Resolve {
    /// Defaults to now.
    pub resolved_at: Option<NaiveDateTime>,
    /// Defaults to the ticket's agent.
    pub agent: Option<Agent>,
    pub note: Option<String>,
}

/// What can go wrong with a ticket.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// No such customer.
    #[error("the customer does not exist")]
    UnknownCustomer,
    /// The customer's personal data was erased.
    #[error("this customer's data was erased; nothing new can be recorded for them")]
    CustomerErased,
    /// The `external_id` names a ticket of another customer.
    #[error("ticket {external_id} was already opened for another customer")]
    ExternalIdConflict { external_id: String },
    /// No such ticket.
    #[error("ticket not found")]
    NotFound,
    /// `resolved_at` lies before the ticket was opened.
    #[error("must not be before the ticket was opened ({opened_at})")]
    ResolvedBeforeOpened { opened_at: NaiveDateTime },
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// A ticket after a call, and whether the call changed it (`false`: a retry found it as asked).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub ticket: TicketRow,
    pub changed: bool,
}

/// The customer an id names now (a merge alias names its target), locked so that a concurrent
/// erasure or merge waits for this ticket (and then sees it).
fn lock_customer(c: &mut DbConnection, requested: &str) -> Result<CustomerRow, TicketError> {
    use crate::customers::repo;
    let row = repo::resolve(c, requested)?.ok_or(TicketError::UnknownCustomer)?;
    let locked = repo::find_for_update(c, &row.id)?.ok_or(TicketError::UnknownCustomer)?;
    // Merged while this request looked it up: aliases point straight at the survivor.
    match locked.merged_into.clone() {
        Some(target) => repo::find_for_update(c, &target)?.ok_or(TicketError::UnknownCustomer),
        None => Ok(locked),
    }
}

/// Opens a ticket once per `external_id`: the same id for the same customer again returns the
/// ticket unchanged; for another customer it is a conflict.
pub fn open(
    conn: &mut DbConnection,
    actor: &Actor,
    t: &NewTicket,
    now: NaiveDateTime,
) -> Result<Outcome, TicketError> {
    let result = db::write(conn, |c| {
        let customer = lock_customer(c, &t.customer_id)?;
        if let Some(existing) = repo::find_by_external_id(c, &t.external_id)? {
            return replay(existing, &customer.id);
        }
        if customer.erased_at.is_some() {
            return Err(TicketError::CustomerErased);
        }
        let row = TicketRow {
            id: uuid::Uuid::now_v7().to_string(),
            external_id: t.external_id.clone(),
            customer_id: customer.id.clone(),
            channel: t.channel.as_str().to_owned(),
            subject: t.subject.clone(),
            category: t.category.clone(),
            status: Status::Open.as_str().to_owned(),
            opened_at: t.opened_at,
            agent_id: t.agent.as_ref().map(|a| a.id.clone()),
            agent_name: t.agent.as_ref().and_then(|a| a.name.clone()),
            resolved_at: None,
            resolved_agent_id: None,
            resolved_agent_name: None,
            resolution_note: None,
            resolutions: 0,
            follow_up_status: FollowUpStatus::None.as_str().to_owned(),
            follow_up_due_at: None,
            created_at: now,
            updated_at: now,
        };
        repo::insert(c, &row)?;
        event(
            c,
            &row,
            Kind::TicketOpened,
            "Ticket opened",
            row.opened_at,
            now,
        )?;
        audit::record(c, actor, "ticket.open", "ticket", &row.id, now)?;
        Ok(Outcome {
            ticket: row,
            changed: true,
        })
    });
    match result {
        Err(TicketError::Db(e)) if db::is_unique_violation(&e) => {
            // A concurrent copy of this request won the race: answer as a retry is answered.
            let existing =
                repo::find_by_external_id(conn, &t.external_id)?.ok_or(TicketError::Db(e))?;
            let customer = crate::customers::repo::resolve(conn, &t.customer_id)?
                .ok_or(TicketError::UnknownCustomer)?;
            replay(existing, &customer.id)
        }
        other => other,
    }
}

fn replay(existing: TicketRow, customer_id: &str) -> Result<Outcome, TicketError> {
    if existing.customer_id != customer_id {
        return Err(TicketError::ExternalIdConflict {
            external_id: existing.external_id,
        });
    }
    Ok(Outcome {
        ticket: existing,
        changed: false,
    })
}

/// Resolves an open ticket and schedules the follow-up of this resolution
/// (`follow_up.delay_hours` after `resolved_at`, when `follow_up.enabled`). A resolved ticket is
/// returned unchanged: resolving twice schedules nothing new.
pub fn resolve(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    r: &Resolve,
    now: NaiveDateTime,
) -> Result<Outcome, TicketError> {
    db::write(conn, |c| {
        let ticket = repo::find(c, id)?.ok_or(TicketError::NotFound)?;
        if ticket.status != Status::Open.as_str() {
            return Ok(Outcome {
                ticket,
                changed: false,
            });
        }
        let resolved_at = r.resolved_at.unwrap_or(now);
        if resolved_at < ticket.opened_at {
            return Err(TicketError::ResolvedBeforeOpened {
                opened_at: ticket.opened_at,
            });
        }
        let program = crate::program::repo::load(c)?;
        let erased = crate::customers::repo::find(c, &ticket.customer_id)?
            .is_none_or(|cu| cu.erased_at.is_some());
        // Nothing personal is stored or sent for an erased customer.
        let (follow_up, due) = if program.follow_up.enabled && !erased {
            let delay = Duration::hours(program.follow_up.delay_hours);
            let due = resolved_at.checked_add_signed(delay).unwrap_or(resolved_at);
            (FollowUpStatus::Scheduled, Some(due))
        } else {
            (FollowUpStatus::None, None)
        };
        let (agent_id, agent_name) = match &r.agent {
            Some(a) => (Some(a.id.as_str()), a.name.as_deref()),
            None => (ticket.agent_id.as_deref(), ticket.agent_name.as_deref()),
        };
        let resolution = Resolution {
            resolved_at,
            agent_id,
            agent_name,
            note: r.note.as_deref().filter(|_| !erased),
            follow_up,
            follow_up_due_at: due,
        };
        if repo::resolve_open(c, id, &resolution, now)? == 0 {
            // Resolved by a concurrent request since it was read.
            let ticket = repo::find(c, id)?.ok_or(TicketError::NotFound)?;
            return Ok(Outcome {
                ticket,
                changed: false,
            });
        }
        let ticket = repo::find(c, id)?.ok_or(TicketError::NotFound)?;
        event(
            c,
            &ticket,
            Kind::TicketResolved,
            "Ticket resolved",
            resolved_at,
            now,
        )?;
        audit::record(c, actor, "ticket.resolve", "ticket", id, now)?;
        Ok(Outcome {
            ticket,
            changed: true,
        })
    })
}

/// Reopens a resolved ticket and withdraws the follow-up of its latest resolution if it has not
/// gone out: a scheduled one is cancelled, a message still waiting in the outbox is cancelled
/// with the reason `ticket_reopened`. An open ticket is returned unchanged.
pub fn reopen(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    now: NaiveDateTime,
) -> Result<Outcome, TicketError> {
    db::write(conn, |c| {
        // The conditional update locks the row first, so the follow-up job either claimed it
        // before (and its message is in the outbox now) or finds it open and leaves it.
        if repo::reopen_resolved(c, id, now)? == 0 {
            let ticket = repo::find(c, id)?.ok_or(TicketError::NotFound)?;
            return Ok(Outcome {
                ticket,
                changed: false,
            });
        }
        let scheduled = FollowUpStatus::Scheduled;
        let cancelled = FollowUpStatus::Cancelled;
        if repo::move_follow_up(c, id, scheduled, cancelled, now)? == 0
            && outbox::cancel_by_cause(c, "ticket", id, "ticket_reopened", now)? > 0
        {
            repo::move_follow_up(c, id, FollowUpStatus::Enqueued, cancelled, now)?;
        }
        let ticket = repo::find(c, id)?.ok_or(TicketError::NotFound)?;
        event(c, &ticket, Kind::TicketOpened, "Ticket reopened", now, now)?;
        audit::record(c, actor, "ticket.reopen", "ticket", id, now)?;
        Ok(Outcome {
            ticket,
            changed: true,
        })
    })
}

/// The ticket's timeline entry. The summary names the channel and category, never the subject
/// or the note (free text about the customer).
fn event(
    c: &mut DbConnection,
    t: &TicketRow,
    kind: Kind,
    what: &str,
    at: NaiveDateTime,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    let category = t
        .category
        .as_deref()
        .map(|x| format!(", category {x}"))
        .unwrap_or_default();
    timeline::record(
        c,
        NewEvent {
            customer_id: &t.customer_id,
            kind,
            channel: &t.channel,
            summary: format!("{what} {} (via {}{category})", t.external_id, t.channel),
            ref_type: "ticket",
            ref_id: &t.id,
            occurred_at: at,
        },
        now,
    )
}

//! Opening a recovery case for a bad answer (with the apology the program's `recovery` settings
//! allow), and resolving one.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::repo::{self, CaseWithComment};
use crate::audit::{self, Actor};
use crate::db::schema::survey_invitations;
use crate::db::{self, DbConnection};
use crate::feedback::{Kind, RecoveryCaseRow, RecoveryStatus, ResponseRow};
use crate::messages::{self, outbox};
use crate::points::EntryKind;
use crate::points::ledger::{self, LedgerError, Posting};
use crate::program::ProgramSettings;

/// The ledger source and message cause of everything a case gives.
pub const SOURCE_TYPE: &str = "recovery_case";
/// The ledger note of apology points.
pub const APOLOGY_NOTE: &str = "recovery_apology";

/// Opens the recovery case of a bad answer (`Kind::is_low`), inside the transaction that
/// records the response; `None` for an answer that is not bad or was skipped.
///
/// For a known customer who was not erased, the case comes with an apology when the customer
/// has had fewer than `recovery.max_apologies` apologies for cases opened within the last
/// `recovery.window_days`: `apology_points` credited as a bonus, and a `recovery_apology`
/// message when `send_message`. The caller holds the customer's balance lock, so the count and
/// the apology are decided with no other answer of the customer in between.
pub fn open(
    c: &mut DbConnection,
    program: &ProgramSettings,
    response: &ResponseRow,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    let (Some(score), Some(kind)) = (response.score, Kind::parse(&response.kind)) else {
        return Ok(None);
    };
    if !kind.is_low(score) {
        return Ok(None);
    }
    let case = RecoveryCaseRow {
        id: uuid::Uuid::now_v7().to_string(),
        customer_id: response.customer_id.clone(),
        response_id: response.id.clone(),
        kind: response.kind.clone(),
        scale: response.scale,
        score,
        channel: response.channel.clone(),
        touchpoint: response.touchpoint.clone(),
        store_id: response.store_id.clone(),
        agent_id: response.agent_id.clone(),
        status: RecoveryStatus::Open.as_str().to_owned(),
        apology_points: 0,
        apologized: false,
        opened_at: now,
        resolved_at: None,
        resolved_by: None,
        resolution_note: None,
        created_at: now,
        updated_at: now,
    };
    repo::insert(c, &case)?;
    if let Some(customer_id) = &case.customer_id {
        apologise(c, program, &case, customer_id, response, now)?;
    }
    Ok(Some(case.id))
}

/// Gives the case's apology if the program offers one and the customer's cap allows it.
fn apologise(
    c: &mut DbConnection,
    program: &ProgramSettings,
    case: &RecoveryCaseRow,
    customer_id: &str,
    response: &ResponseRow,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let r = &program.recovery;
    if r.apology_points <= 0 && !r.send_message {
        return Ok(());
    }
    let Some(customer) = crate::customers::repo::find(c, customer_id)? else {
        return Ok(());
    };
    if customer.erased_at.is_some() || customer.merged_into.is_some() {
        return Ok(());
    }
    let since = now
        .checked_sub_signed(Duration::days(r.window_days))
        .unwrap_or(NaiveDateTime::MIN);
    if repo::apologies_since(c, customer_id, since)? >= r.max_apologies {
        return Ok(());
    }
    let points = if r.apology_points > 0 {
        credit(c, program, case, customer_id, now)?
    } else {
        0
    };
    if points == 0 && !r.send_message {
        return Ok(());
    }
    repo::mark_apologized(c, &case.id, points, now)?;
    if r.send_message {
        let kind = messages::Kind::RecoveryApology;
        let agent_name = agent_name(c, response)?;
        outbox::enqueue(
            c,
            outbox::NewMessage {
                customer_id,
                kind,
                dedupe_key: format!("recovery_apology:{}", case.id),
                cause_type: SOURCE_TYPE,
                cause_id: &case.id,
                payload: json!({
                    "bonus_points": points,
                    "agent_name": agent_name,
                }),
                due_at: now,
                suppressed: outbox::missing_consent(
                    kind.category(),
                    customer.consent_email_marketing,
                    customer.consent_surveys,
                )
                .map(str::to_owned),
            },
            now,
        )?;
    }
    Ok(())
}

/// Credits the apology points as a bonus lot; returns the points credited. A balance that could
/// not hold them (near the 64-bit limit) gets none: the savepoint takes the lot back, and the
/// answer is still recorded.
fn credit(
    c: &mut DbConnection,
    program: &ProgramSettings,
    case: &RecoveryCaseRow,
    customer_id: &str,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    let points = program.recovery.apology_points;
    let posting = Posting {
        customer_id: customer_id.to_owned(),
        kind: EntryKind::Bonus,
        points,
        pending: 0,
        negative: 0,
        source_type: SOURCE_TYPE.to_owned(),
        source_id: case.id.clone(),
        lot_id: None,
        note: Some(APOLOGY_NOTE.to_owned()),
        expires_at: None,
    };
    let credited = db::write(c, |c| {
        ledger::credit_new_lot(c, posting, program.expiry_months, now)
    });
    match credited {
        Ok(_) => Ok(points),
        Err(LedgerError::Db(e)) => Err(e),
        Err(e) => {
            tracing::warn!(case = %case.id, error = %e, "apology points not credited");
            Ok(0)
        }
    }
}

/// The name of the agent the answer is about, when the answer came through a ticket's
/// follow-up survey (the helpdesk gave the ticket the agent's name); `None` otherwise.
fn agent_name(c: &mut DbConnection, response: &ResponseRow) -> QueryResult<Option<String>> {
    let Some(invitation_id) = &response.invitation_id else {
        return Ok(None);
    };
    let cause: Option<(String, String)> = survey_invitations::table
        .find(invitation_id)
        .select((survey_invitations::cause_type, survey_invitations::cause_id))
        .first(c)
        .optional()?;
    let Some(ticket_id) = cause
        .filter(|(cause_type, _)| cause_type == "ticket")
        .map(|(_, id)| id)
    else {
        return Ok(None);
    };
    let Some(ticket) = crate::tickets::repo::find(c, &ticket_id)? else {
        return Ok(None);
    };
    let resolver =
        ticket.resolved_agent_id.is_some() && ticket.resolved_agent_id == response.agent_id;
    Ok(if resolver {
        ticket.resolved_agent_name
    } else if ticket.agent_id.is_some() && ticket.agent_id == response.agent_id {
        ticket.agent_name
    } else {
        None
    })
}

/// What can go wrong resolving a case.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// No such case.
    #[error("recovery case not found")]
    NotFound,
    /// The case was resolved before.
    #[error("this recovery case was already resolved")]
    AlreadyResolved,
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Resolves an open case: who resolved it (a staff member), when, and the note. The note of an
/// erased customer's case is not stored. Audited as `recovery_case.resolve`.
pub fn resolve(
    conn: &mut DbConnection,
    actor: &Actor,
    id: &str,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<CaseWithComment, RecoveryError> {
    db::write(conn, |c| {
        let (case, _) = repo::find(c, id)?.ok_or(RecoveryError::NotFound)?;
        if case.status != RecoveryStatus::Open.as_str() {
            return Err(RecoveryError::AlreadyResolved);
        }
        let erased = match &case.customer_id {
            Some(cid) => {
                crate::customers::repo::find(c, cid)?.is_none_or(|cu| cu.erased_at.is_some())
            }
            None => false,
        };
        let staff = match actor {
            Actor::Staff(s) => Some(s.as_str()),
            _ => None,
        };
        let note = note.filter(|_| !erased);
        // Resolved by a concurrent request since it was read.
        if repo::resolve_open(c, id, staff, note, now)? == 0 {
            return Err(RecoveryError::AlreadyResolved);
        }
        audit::record(c, actor, "recovery_case.resolve", "recovery_case", id, now)?;
        repo::find(c, id)?.ok_or(RecoveryError::NotFound)
    })
}

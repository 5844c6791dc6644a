//! The `ticket_follow_ups` job: each resolution's follow-up, once due, becomes one
//! `ticket_follow_up` message in the outbox — or a suppressed one, with the reason, while the
//! customer has another open ticket, has not agreed to surveys, or heard from a survey within the
//! contact policy's `survey_cooldown_days`.
//!
//! When the program's `follow_up.survey_id` names an active survey, a follow-up that goes out
//! carries the personal link of a survey invitation created (already sent) in its transaction.
//!
//! A follow-up is claimed by a conditional update (`scheduled` → `enqueued`) in the transaction
//! that writes its message, and the message's dedupe key is unique per ticket and resolution, so
//! two instances running the job at once write it once.

use chrono::NaiveDateTime;
use serde_json::json;

use super::{FollowUpStatus, TicketRow, repo};
use crate::clock::SharedClock;
use crate::customers::model::CustomerRow;
use crate::db::{self, DbConnection, Pool};
use crate::feedback::invitations::{self, Links};
use crate::messages::Kind;
use crate::messages::outbox::{self, NewMessage};
use crate::program::ProgramSettings;
use crate::scheduler::{JobContext, JobReport};

/// Follow-ups read per query.
pub const BATCH: i64 = 500;
/// Queries per run at most; what is left waits for the next run.
const MAX_BATCHES: usize = 20;

/// The suppression reasons, as recorded on the message.
pub const ANOTHER_TICKET_OPEN: &str = "another_ticket_open";

/// Enqueues every follow-up due by now (the job body).
pub fn run(ctx: &JobContext) -> anyhow::Result<JobReport> {
    let links = Links::of(ctx);
    ctx.pool.scoped(|| run_now(&ctx.pool, &ctx.clock, &links))
}

fn run_now(pool: &Pool, clock: &SharedClock, links: &Links) -> anyhow::Result<JobReport> {
    let now = clock.now_naive();
    let mut conn = pool.get()?;
    let program = crate::program::repo::load(&mut conn)?;
    let mut report = JobReport::default();
    let mut after: Option<(NaiveDateTime, String)> = None;
    for _ in 0..MAX_BATCHES {
        let due = repo::due_follow_ups(&mut conn, now, after.clone(), BATCH)?;
        for (id, _) in &due {
            match follow_up(&mut conn, &program, links, id, now) {
                Ok(true) => report.items += 1,
                Ok(false) => report.skipped += 1,
                Err(e) => {
                    tracing::error!(ticket = %id, error = %e, "ticket follow-up failed; the next run retries it")
                }
            }
        }
        if i64::try_from(due.len()).unwrap_or(i64::MAX) < BATCH {
            break;
        }
        // Past what this run saw, so a follow-up that keeps failing does not hold up the rest.
        after = due.last().map(|(id, at)| (at.unwrap_or(now), id.clone()));
    }
    Ok(report)
}

/// Claims one due follow-up and writes its message; false when another instance claimed it
/// first or the ticket was reopened.
fn follow_up(
    conn: &mut DbConnection,
    program: &ProgramSettings,
    links: &Links,
    id: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<bool> {
    db::write(conn, |c| {
        if repo::claim_follow_up(c, id, now)? == 0 {
            return Ok(false);
        }
        let Some(ticket) = repo::find(c, id)? else {
            return Ok(false);
        };
        let customer = crate::customers::repo::resolve(c, &ticket.customer_id)?;
        let Some(customer) = customer.filter(|cu| cu.erased_at.is_none()) else {
            // Nothing is sent to an erased customer.
            let (from, to) = (FollowUpStatus::Enqueued, FollowUpStatus::Cancelled);
            repo::move_follow_up(c, id, from, to, now)?;
            return Ok(true);
        };
        let suppressed = suppression(c, program, &ticket, &customer, now)?;
        // Only a follow-up that goes out carries a survey: its invitation counts as sent.
        let survey_url = match (&program.follow_up.survey_id, suppressed) {
            (Some(survey_id), None) => {
                invitations::for_ticket(c, survey_id, &ticket, &customer.id, now)?
                    .and_then(|invitation| links.url(&invitation))
            }
            _ => None,
        };
        outbox::enqueue(
            c,
            NewMessage {
                customer_id: &customer.id,
                kind: Kind::TicketFollowUp,
                dedupe_key: format!("ticket_follow_up:{}:{}", ticket.id, ticket.resolutions),
                cause_type: "ticket",
                cause_id: &ticket.id,
                payload: payload(&ticket, survey_url),
                due_at: now,
                suppressed: suppressed.map(str::to_owned),
            },
            now,
        )?;
        Ok(true)
    })
}

/// What the `ticket_follow_up` templates read; `survey_url` is null without a survey.
fn payload(t: &TicketRow, survey_url: Option<String>) -> serde_json::Value {
    json!({
        "ticket_subject": t.subject,
        "resolution_note": t.resolution_note,
        "agent_name": t.resolved_agent_name,
        "survey_url": survey_url,
    })
}

/// Why the follow-up must not go out, if it must not.
fn suppression(
    c: &mut DbConnection,
    program: &ProgramSettings,
    ticket: &TicketRow,
    customer: &CustomerRow,
    now: NaiveDateTime,
) -> diesel::QueryResult<Option<&'static str>> {
    if repo::other_open_ticket(c, &customer.id, &ticket.id)? {
        return Ok(Some(ANOTHER_TICKET_OPEN));
    }
    // A follow-up is a survey message: the same consent and cooldown as an invitation.
    crate::feedback::invitation_jobs::suppression(
        c,
        program,
        &customer.id,
        customer.consent_email_marketing,
        customer.consent_surveys,
        now,
    )
}

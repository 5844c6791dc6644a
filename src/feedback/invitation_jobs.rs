//! The `survey_invitations` job (each due invitation becomes one `survey_invitation` message, or
//! a suppressed one with the reason) and the `survey_reminders` job (one `survey_reminder` at
//! most per unanswered invitation).
//!
//! Each invitation is claimed by a conditional update in the transaction that writes its
//! message, and the message's dedupe key is unique per invitation, so two instances running a
//! job at once write each message once.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use super::invitation_repo::{self as repo, Settled};
use super::invitations::{Links, sent_times};
use super::{InvitationStatus, survey_repo};
use crate::db::{self, DbConnection, Pool};
use crate::messages::outbox::{self, NewMessage};
use crate::messages::{Category, Kind};
use crate::program::ProgramSettings;
use crate::scheduler::{JobContext, JobReport};

/// Invitations read per query.
pub const BATCH: i64 = 500;
/// Queries per run at most; what is left waits for the next run.
const MAX_BATCHES: usize = 20;

/// Suppression and cancellation reasons recorded on invitations.
pub const SURVEY_INACTIVE: &str = "survey_inactive";
/// A survey-category message reached the customer within the survey cooldown.
pub const SURVEY_COOLDOWN: &str = "survey_cooldown";

/// Sends every invitation due by now (the `survey_invitations` job body).
pub fn send_due(ctx: &JobContext) -> anyhow::Result<JobReport> {
    let links = Links::of(ctx);
    let now = ctx.clock.now_naive();
    ctx.pool.scoped(|| {
        batches(&ctx.pool, now, repo::due, |c, p, id| {
            send_one(c, p, &links, id, now)
        })
    })
}

/// Sends the one reminder of every invitation whose reminder is due (the `survey_reminders` job
/// body).
pub fn remind_due(ctx: &JobContext) -> anyhow::Result<JobReport> {
    let links = Links::of(ctx);
    let now = ctx.clock.now_naive();
    ctx.pool.scoped(|| {
        batches(
            &ctx.pool,
            now,
            |c, now, after, n| {
                let rows = repo::reminders_due(c, now, after, n)?;
                Ok(rows
                    .into_iter()
                    .map(|(id, at)| (id, at.unwrap_or(now)))
                    .collect())
            },
            |c, _, id| remind_one(c, &links, id, now),
        )
    })
}

type Page = Vec<(String, NaiveDateTime)>;

/// Walks the due items in keyset order and handles each in its own transaction.
fn batches(
    pool: &Pool,
    now: NaiveDateTime,
    due: impl Fn(
        &mut DbConnection,
        NaiveDateTime,
        Option<(NaiveDateTime, String)>,
        i64,
    ) -> diesel::QueryResult<Page>,
    mut each: impl FnMut(&mut DbConnection, &ProgramSettings, &str) -> diesel::QueryResult<bool>,
) -> anyhow::Result<JobReport> {
    let mut conn = pool.get()?;
    let program = crate::program::repo::load(&mut conn)?;
    let mut report = JobReport::default();
    let mut after: Option<(NaiveDateTime, String)> = None;
    for _ in 0..MAX_BATCHES {
        let page = due(&mut conn, now, after.clone(), BATCH)?;
        for (id, _) in &page {
            match each(&mut conn, &program, id) {
                Ok(true) => report.items += 1,
                Ok(false) => report.skipped += 1,
                Err(e) => {
                    tracing::error!(invitation = %id, error = %e, "survey invitation failed; the next run retries it")
                }
            }
        }
        if i64::try_from(page.len()).unwrap_or(i64::MAX) < BATCH {
            break;
        }
        // Past what this run saw, so an item that keeps failing does not hold up the rest.
        after = page.last().map(|(id, at)| (*at, id.clone()));
    }
    Ok(report)
}

/// Claims one due invitation and settles it: cancelled, suppressed (with its message stored
/// suppressed) or sent (with its message enqueued). False when another instance claimed it.
fn send_one(
    conn: &mut DbConnection,
    program: &ProgramSettings,
    links: &Links,
    id: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<bool> {
    db::write(conn, |c| {
        if repo::claim_scheduled(c, id, now)? == 0 {
            return Ok(false);
        }
        let Some(inv) = repo::find(c, id)? else {
            return Ok(false);
        };
        let cancelled = |reason| Settled {
            status: InvitationStatus::Cancelled,
            reason: Some(reason),
            sent_at: None,
            expires_at: None,
            reminder_due_at: None,
        };
        let survey = survey_repo::find(c, &inv.survey_id)?.filter(|s| s.active);
        let Some(survey) = survey else {
            repo::settle(c, id, &cancelled(SURVEY_INACTIVE), now)?;
            return Ok(true);
        };
        let customer = crate::customers::repo::find(c, &inv.customer_id)?;
        let Some(customer) = customer.filter(|cu| cu.erased_at.is_none()) else {
            repo::settle(c, id, &cancelled("customer_erased"), now)?;
            return Ok(true);
        };
        if customer.merged_into.is_some() {
            repo::settle(c, id, &cancelled("customer_merged"), now)?;
            return Ok(true);
        }
        let suppressed = suppression(
            c,
            program,
            &customer.id,
            customer.consent_email_marketing,
            customer.consent_surveys,
            now,
        )?;
        outbox::enqueue(
            c,
            NewMessage {
                customer_id: &customer.id,
                kind: Kind::SurveyInvitation,
                dedupe_key: format!("survey_invitation:{id}"),
                cause_type: "survey_invitation",
                cause_id: id,
                payload: json!({ "survey_url": links.url(id) }),
                due_at: now,
                suppressed: suppressed.map(str::to_owned),
            },
            now,
        )?;
        let settled = match suppressed {
            Some(reason) => Settled {
                status: InvitationStatus::Suppressed,
                reason: Some(reason),
                ..cancelled(reason)
            },
            None => {
                let (expires, reminder) = sent_times(&survey, now);
                Settled {
                    status: InvitationStatus::Sent,
                    reason: None,
                    sent_at: Some(now),
                    expires_at: Some(expires),
                    reminder_due_at: reminder,
                }
            }
        };
        repo::settle(c, id, &settled, now)?;
        Ok(true)
    })
}

/// Why an invitation must not go out, if it must not: no survey consent, or the survey cooldown
/// (ticket follow-ups, which carry a survey, use it too).
pub fn suppression(
    c: &mut DbConnection,
    program: &ProgramSettings,
    customer_id: &str,
    consent_email_marketing: bool,
    consent_surveys: bool,
    now: NaiveDateTime,
) -> diesel::QueryResult<Option<&'static str>> {
    let no_consent =
        outbox::missing_consent(Category::Survey, consent_email_marketing, consent_surveys);
    if no_consent.is_some() {
        return Ok(no_consent);
    }
    let days = program.contact_policy.survey_cooldown_days;
    if days > 0 {
        let since = Duration::try_days(days)
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(NaiveDateTime::MIN);
        if crate::tickets::repo::survey_contact_since(c, customer_id, since)? {
            return Ok(Some(SURVEY_COOLDOWN));
        }
    }
    Ok(None)
}

/// Claims the reminder of one invitation and enqueues it (suppressed without survey consent).
/// False when it was reminded, answered or expired meanwhile.
fn remind_one(
    conn: &mut DbConnection,
    links: &Links,
    id: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<bool> {
    db::write(conn, |c| {
        if repo::claim_reminder(c, id, now)? == 0 {
            return Ok(false);
        }
        let Some(inv) = repo::find(c, id)? else {
            return Ok(false);
        };
        // A survey deactivated, or set to no reminders, since the invitation went out sends
        // none (the claim stays, so it is not looked at again).
        let survey = survey_repo::find(c, &inv.survey_id)?;
        if survey.is_none_or(|s| !s.active || s.max_reminders == 0) {
            return Ok(false);
        }
        let customer = crate::customers::repo::find(c, &inv.customer_id)?;
        let Some(customer) = customer.filter(|cu| cu.erased_at.is_none()) else {
            // Nothing is sent to an erased customer.
            return Ok(true);
        };
        let suppressed = outbox::missing_consent(
            Category::Survey,
            customer.consent_email_marketing,
            customer.consent_surveys,
        );
        outbox::enqueue(
            c,
            NewMessage {
                customer_id: &customer.id,
                kind: Kind::SurveyReminder,
                dedupe_key: format!("survey_reminder:{id}"),
                cause_type: "survey_invitation",
                cause_id: id,
                payload: json!({ "survey_url": links.url(id) }),
                due_at: now,
                suppressed: suppressed.map(str::to_owned),
            },
            now,
        )?;
        Ok(true)
    })
}

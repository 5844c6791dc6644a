//! The `dispatch_outbox` job: claims due messages, applies consent and the contact policy,
//! renders, sends over SMTP and records each attempt.
//!
//! Per message: (1) in one transaction, with the customer's row locked so that one customer's
//! messages are checked one after the other whichever instance holds them, the message is
//! cancelled (customer erased or merged away), suppressed (no consent, no email, weekly cap,
//! survey cooldown), deferred (quiet hours), or rendered and its envelope fixed; (2) it is sent,
//! outside any transaction; (3) in a second transaction the attempt is logged and the message
//! marked sent, retried later or failed. Every change is conditional on the claim, so a message
//! cancelled meanwhile (a reopened ticket) stays cancelled. A claim outlives any SMTP timeout
//! (`messages.claim_secs`); only an instance that stops between sending and recording can leave
//! a message to be sent again after its claim expires.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use tokio::task::JoinSet;

use super::mailer::Outcome;
use super::outbox::MessageRow;
use super::policy;
use super::prepare::{Inputs, Prepared, Ready, event, prepare};
use super::repo::{self, Attempt};
use crate::db::{self, DbConnection, Pool};
use crate::scheduler::{JobContext, JobFuture, JobReport};
use crate::timeline;

/// The job entry point.
pub fn job(ctx: JobContext) -> JobFuture {
    Box::pin(dispatch(ctx))
}

/// What became of one claimed message.
enum Step {
    /// Another instance holds it now, or it was cancelled before we looked.
    Lost,
    /// Handled: sent, retried later, failed, suppressed, cancelled or deferred.
    Done,
}

/// Runs one dispatch: claims a batch and delivers it, `smtp.pool_size` messages at a time.
pub async fn dispatch(ctx: JobContext) -> anyhow::Result<JobReport> {
    let now = ctx.clock.now_naive();
    let token = uuid::Uuid::now_v7().to_string();
    let settings = &ctx.settings.messages;
    let until = now + Duration::seconds(settings.claim_secs.max(1));
    let batch = settings.batch_size;
    let claim_token = token.clone();
    let claimed = on_db(&ctx.pool, move |c| {
        repo::claim(c, &claim_token, now, until, batch)
    })
    .await?;
    let mut report = JobReport::default();
    let width = usize::try_from(ctx.settings.smtp.pool_size.max(1)).unwrap_or(1);
    // A sliding window: as soon as one delivery ends the next starts, so one slow server reply
    // does not hold up the others.
    let mut queue = claimed.into_iter();
    let mut running = JoinSet::new();
    loop {
        while running.len() < width {
            let Some(row) = queue.next() else { break };
            let (ctx, token) = (ctx.clone(), token.clone());
            running.spawn(async move {
                let id = row.id.clone();
                (id, deliver(ctx, row, token).await)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        match joined {
            Ok((_, Ok(Step::Done))) => report.items += 1,
            Ok((_, Ok(Step::Lost))) => report.skipped += 1,
            // The claim stays; the message is taken up again once it expires.
            Ok((id, Err(e))) => {
                tracing::error!(message = %id, error = %format!("{e:#}"), "delivering a message failed");
            }
            Err(e) => tracing::error!(error = %e, "a delivery task failed"),
        }
    }
    Ok(report)
}

/// Runs database work on the blocking pool.
async fn on_db<T, F>(pool: &Pool, f: F) -> anyhow::Result<T>
where
    F: FnMut(&mut DbConnection) -> QueryResult<T> + Send + 'static,
    T: Send + 'static,
{
    db::run(pool, f)
        .await
        .map_err(|e| anyhow::anyhow!("database: {e}"))
}

async fn deliver(ctx: JobContext, row: MessageRow, token: String) -> anyhow::Result<Step> {
    let now = ctx.clock.now_naive();
    let inputs = Inputs {
        id: row.id.clone(),
        token: token.clone(),
        now,
        claim_until: now + Duration::seconds(ctx.settings.messages.claim_secs.max(1)),
        fresh_message_id: ctx.mailer.new_message_id(),
        public_url: ctx.settings.server.public_url.clone(),
        secret: ctx.secret.clone(),
    };
    let prepared = on_db(&ctx.pool, move |c| db::write(c, |c| prepare(c, &inputs))).await?;
    let ready = match prepared {
        Prepared::Gone => return Ok(Step::Lost),
        Prepared::Settled => return Ok(Step::Done),
        Prepared::Ready(ready) => ready,
    };
    let outcome = ctx.mailer.send(&ready.email).await;
    let settle = Settle {
        id: row.id,
        token,
        now: ctx.clock.now_naive(),
        ready,
        outcome,
        max_attempts: ctx.settings.messages.max_attempts,
        backoff: (
            ctx.settings.messages.backoff_base_secs,
            ctx.settings.messages.backoff_max_secs,
        ),
    };
    on_db(&ctx.pool, move |c| db::write(c, |c| record(c, &settle))).await?;
    Ok(Step::Done)
}

/// What the second transaction records.
struct Settle {
    id: String,
    token: String,
    now: NaiveDateTime,
    ready: Box<Ready>,
    outcome: Outcome,
    max_attempts: i32,
    backoff: (i64, i64),
}

fn record(c: &mut DbConnection, s: &Settle) -> QueryResult<()> {
    let attempt = s.ready.attempt;
    let (outcome, code, detail) = match &s.outcome {
        Outcome::Sent { detail } => ("sent", None, detail),
        Outcome::Temporary { code, detail } => ("temporary_failure", *code, detail),
        Outcome::Permanent { code, detail } => ("permanent_failure", *code, detail),
    };
    repo::log_attempt(
        c,
        &Attempt {
            message_id: &s.id,
            attempt,
            at: s.now,
            outcome,
            smtp_code: code.map(i32::from),
            detail,
        },
    )?;
    let kind = s.ready.kind.as_str();
    let customer = s.ready.customer_id.as_str();
    match &s.outcome {
        Outcome::Sent { .. } => {
            if repo::mark_sent(c, &s.id, &s.token, s.now)? {
                let summary = format!("{kind} sent");
                event(
                    c,
                    customer,
                    &s.id,
                    timeline::Kind::MessageSent,
                    summary,
                    s.now,
                )?;
            }
        }
        Outcome::Temporary { .. } => {
            let retry_at = (attempt < s.max_attempts)
                .then(|| s.now + policy::backoff(attempt, s.backoff.0, s.backoff.1));
            if repo::mark_failed_attempt(c, &s.id, &s.token, detail, retry_at, s.now)?
                && retry_at.is_none()
            {
                let summary = format!("{kind} not delivered after {attempt} attempts");
                event(
                    c,
                    customer,
                    &s.id,
                    timeline::Kind::MessageFailed,
                    summary,
                    s.now,
                )?;
            }
        }
        Outcome::Permanent { code, .. } => {
            if repo::mark_failed_attempt(c, &s.id, &s.token, detail, None, s.now)? {
                let summary = match code {
                    Some(code) => format!("{kind} refused by the mail server ({code})"),
                    None => format!("{kind} could not be sent"),
                };
                event(
                    c,
                    customer,
                    &s.id,
                    timeline::Kind::MessageFailed,
                    summary,
                    s.now,
                )?;
            }
        }
    }
    Ok(())
}

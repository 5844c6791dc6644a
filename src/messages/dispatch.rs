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

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::Value as Json;
use tokio::task::JoinSet;

use super::locale::Locale;
use super::mailer::{Email, Outcome};
use super::outbox::{self, MessageRow};
use super::render::{self, Context, Rendered};
use super::repo::{self, Attempt};
use super::{Category, Kind, Status, policy, templates, unsubscribe};
use crate::customers::model::CustomerRow;
use crate::db::schema::customers;
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
    for chunk in claimed.chunks(width) {
        let mut running = JoinSet::new();
        for row in chunk {
            let (ctx, token, row) = (ctx.clone(), token.clone(), row.clone());
            running.spawn(async move {
                let id = row.id.clone();
                (id, deliver(ctx, row, token).await)
            });
        }
        while let Some(joined) = running.join_next().await {
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

/// What the first transaction decided.
enum Prepared {
    Gone,
    Settled,
    Ready(Box<Ready>),
}

struct Ready {
    email: Email,
    attempt: i32,
    kind: Kind,
    customer_id: String,
}

/// What the first transaction needs besides the connection.
#[derive(Clone)]
struct Inputs {
    id: String,
    token: String,
    now: NaiveDateTime,
    fresh_message_id: String,
    public_url: String,
    secret: Arc<secrecy::SecretString>,
}

async fn deliver(ctx: JobContext, row: MessageRow, token: String) -> anyhow::Result<Step> {
    let inputs = Inputs {
        id: row.id.clone(),
        token: token.clone(),
        now: ctx.clock.now_naive(),
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

/// Locks the customer's row for the rest of the transaction (a no-op UPDATE, so it works on
/// both databases): two dispatchers decide one customer's contact policy one after the other.
fn lock_customer(c: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::update(customers::table.find(id))
        .set(customers::updated_at.eq(customers::updated_at))
        .execute(c)
        .map(drop)
}

fn prepare(c: &mut DbConnection, i: &Inputs) -> QueryResult<Prepared> {
    let Some(row) = repo::held(c, &i.id, &i.token)? else {
        return Ok(Prepared::Gone);
    };
    lock_customer(c, &row.customer_id)?;
    let Some(customer) = crate::customers::repo::find(c, &row.customer_id)? else {
        return cancel(c, i, "customer_missing");
    };
    if customer.erased_at.is_some() {
        return cancel(c, i, "customer_erased");
    }
    if customer.merged_into.is_some() {
        return cancel(c, i, "customer_merged");
    }
    let Some(kind) = Kind::parse(&row.kind) else {
        return fail(c, i, &row, "unknown message kind");
    };
    let category = kind.category();
    if let Some(reason) = outbox::missing_consent(
        category,
        customer.consent_email_marketing,
        customer.consent_surveys,
    ) {
        return suppress(c, i, &row, reason);
    }
    let Some(to) = customer.email.clone().filter(|e| !e.trim().is_empty()) else {
        return suppress(c, i, &row, "no_email");
    };
    let program = crate::program::repo::load(c)?;
    let policy = program.contact_policy;
    let tz = render::time_zone(customer.time_zone.as_deref(), &program.time_zone);
    if let Some(until) = policy
        .quiet_hours
        .and_then(|q| policy::quiet_until(i.now, tz, q))
    {
        repo::defer(c, &i.id, &i.token, until, "deferred: quiet_hours", i.now)?;
        return Ok(Prepared::Settled);
    }
    let recent = |c: &mut DbConnection, days: i64| {
        repo::recent_count(
            c,
            &customer.id,
            category,
            i.now - Duration::days(days),
            &i.id,
            i.now,
        )
    };
    match category {
        Category::Marketing if recent(c, 7)? >= policy.weekly_marketing_cap => {
            return suppress(c, i, &row, "weekly_cap");
        }
        Category::Survey
            if policy.survey_cooldown_days > 0 && recent(c, policy.survey_cooldown_days)? > 0 =>
        {
            return suppress(c, i, &row, "survey_cooldown");
        }
        _ => {}
    }
    let locale = Locale::negotiate(customer.locale.as_deref(), &program.default_locale);
    let payload: Json = serde_json::from_str(&row.payload).unwrap_or(Json::Null);
    let unsubscribe_url = unsubscribe::url(
        &i.public_url,
        secrecy::ExposeSecret::expose_secret(&*i.secret),
        &customer.id,
        category,
    );
    let ctx = Context::for_customer(c, &customer, &program, locale, i.now)?
        .with_payload(&payload)
        .with_unsubscribe(unsubscribe_url.clone());
    let rendered = match render_in_force(c, kind, locale, tz, &ctx)? {
        Ok(r) => r,
        Err(e) => return fail(c, i, &row, &format!("template: {e}")),
    };
    let message_id = row
        .message_id
        .clone()
        .unwrap_or_else(|| i.fresh_message_id.clone());
    let envelope = repo::Envelope {
        locale: locale.as_str(),
        to: &to,
        subject: &rendered.subject,
        message_id: &message_id,
    };
    if !repo::fix_envelope(c, &i.id, &i.token, &envelope, i.now)? {
        return Ok(Prepared::Gone);
    }
    Ok(Prepared::Ready(Box::new(Ready {
        email: Email {
            to,
            to_name: display_name(&customer),
            message_id,
            rendered,
            unsubscribe_url,
            date: i.now,
        },
        attempt: row.attempts + 1,
        kind,
        customer_id: customer.id,
    })))
}

/// Renders with the template in force; a staff override that fails at send time (it validated
/// when saved, but a payload may differ) falls back to the shipped default.
fn render_in_force(
    c: &mut DbConnection,
    kind: Kind,
    locale: Locale,
    tz: chrono_tz::Tz,
    ctx: &Context,
) -> QueryResult<Result<Rendered, String>> {
    let shipped = templates::default_for(kind, locale);
    if let Some(row) = templates::find_override(c, kind, locale)? {
        match render::render(&row.set(), locale, tz, ctx) {
            Ok(r) => return Ok(Ok(r)),
            Err(e) => tracing::warn!(kind = kind.as_str(), locale = locale.as_str(), error = %e,
                "the template override failed to render; using the shipped default"),
        }
    }
    Ok(render::render(&shipped, locale, tz, ctx).map_err(|e| e.to_string()))
}

fn display_name(c: &CustomerRow) -> Option<String> {
    let name = [c.first_name.as_deref(), c.last_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

fn cancel(c: &mut DbConnection, i: &Inputs, reason: &str) -> QueryResult<Prepared> {
    repo::settle_with_reason(c, &i.id, &i.token, Status::Cancelled, reason, i.now)?;
    Ok(Prepared::Settled)
}

fn suppress(
    c: &mut DbConnection,
    i: &Inputs,
    row: &MessageRow,
    reason: &str,
) -> QueryResult<Prepared> {
    if repo::settle_with_reason(c, &i.id, &i.token, Status::Suppressed, reason, i.now)? {
        event(
            c,
            &row.customer_id,
            &i.id,
            timeline::Kind::MessageSuppressed,
            format!("{} not sent: {reason}", row.kind),
            i.now,
        )?;
    }
    Ok(Prepared::Settled)
}

/// Fails the message without an attempt (it could not be rendered).
fn fail(c: &mut DbConnection, i: &Inputs, row: &MessageRow, error: &str) -> QueryResult<Prepared> {
    if repo::mark_failed_attempt(c, &i.id, &i.token, error, None, i.now)? {
        event(
            c,
            &row.customer_id,
            &i.id,
            timeline::Kind::MessageFailed,
            format!("{} not sent: it could not be rendered", row.kind),
            i.now,
        )?;
    }
    Ok(Prepared::Settled)
}

fn event(
    c: &mut DbConnection,
    customer_id: &str,
    message_id: &str,
    kind: timeline::Kind,
    summary: String,
    now: NaiveDateTime,
) -> QueryResult<()> {
    timeline::record(
        c,
        timeline::NewEvent {
            customer_id,
            kind,
            channel: "email",
            summary,
            ref_type: "message",
            ref_id: message_id,
            occurred_at: now,
        },
        now,
    )
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

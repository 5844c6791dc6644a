//! The first transaction of a delivery: with the customer's row locked (so one customer's
//! messages are checked one after the other, whichever instance holds them), a claimed message
//! is cancelled (customer erased or merged away), suppressed (no consent, no email, weekly cap,
//! survey cooldown), deferred (quiet hours), or rendered with its envelope fixed.

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::Value as Json;

use super::locale::Locale;
use super::mailer::Email;
use super::outbox::{self, MessageRow};
use super::render::{self, Context, Rendered};
use super::repo;
use super::{Category, Kind, Status, policy, templates, unsubscribe};
use crate::customers::model::CustomerRow;
use crate::db::DbConnection;
use crate::timeline;

/// What the first transaction decided.
pub(super) enum Prepared {
    Gone,
    Settled,
    Ready(Box<Ready>),
}

/// A message rendered and ready to send.
pub(super) struct Ready {
    pub(super) email: Email,
    pub(super) attempt: i32,
    pub(super) kind: Kind,
    pub(super) customer_id: String,
}

/// What the first transaction needs besides the connection.
#[derive(Clone)]
pub(super) struct Inputs {
    pub(super) id: String,
    pub(super) token: String,
    pub(super) now: NaiveDateTime,
    pub(super) fresh_message_id: String,
    pub(super) public_url: String,
    pub(super) secret: Arc<secrecy::SecretString>,
    /// The claim is renewed to this instant before the message is checked and sent, so a long
    /// batch never sends a message whose claim another instance could already have taken over.
    pub(super) claim_until: NaiveDateTime,
}

/// The first transaction of one claimed message (see the module documentation).
pub(super) fn prepare(c: &mut DbConnection, i: &Inputs) -> QueryResult<Prepared> {
    if !repo::renew_claim(c, &i.id, &i.token, i.now, i.claim_until)? {
        return Ok(Prepared::Gone);
    }
    let Some(row) = repo::held(c, &i.id, &i.token)? else {
        return Ok(Prepared::Gone);
    };
    repo::lock_customer(c, &row.customer_id)?;
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
        // A reminder is exempt: the recent survey message the cooldown would find is its own
        // invitation (or the follow-up that carried it), and the reminder is the one follow-on
        // the contact policy allows for it.
        Category::Survey
            if kind != Kind::SurveyReminder
                && policy.survey_cooldown_days > 0
                && recent(c, policy.survey_cooldown_days)? > 0 =>
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
        crate::feedback::invitation_repo::withdraw_for_message(
            c,
            &row.kind,
            &row.dedupe_key,
            &row.cause_id,
            reason,
            i.now,
        )?;
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

pub(super) fn event(
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

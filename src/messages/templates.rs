//! Message templates: the defaults shipped in `config/templates/<locale>/<kind>.{subject.txt,html,txt}`
//! (compiled into the binary, so it runs without a config folder), and the staff overrides
//! stored in `message_templates`.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde_json::Value as Json;

use super::Kind;
use super::locale::Locale;
use super::render::{Context, render};
use crate::db::DbConnection;
use crate::db::schema::message_templates;

/// The three parts of a message template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSet {
    /// The subject line (plain text, one line after rendering).
    pub subject: String,
    /// The HTML part (autoescaped).
    pub html: String,
    /// The plain-text part.
    pub text: String,
}

/// A staff override as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = message_templates)]
pub struct TemplateRow {
    pub kind: String,
    pub locale: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub updated_at: NaiveDateTime,
    pub updated_by: Option<String>,
}

impl TemplateRow {
    /// The template parts.
    pub fn set(&self) -> TemplateSet {
        TemplateSet {
            subject: self.subject.clone(),
            html: self.html.clone(),
            text: self.text.clone(),
        }
    }
}

macro_rules! shipped {
    ($kind:expr, $locale:expr, [$($k:ident => $name:literal),+ $(,)?]) => {
        match ($kind, $locale) {
            $(
                (Kind::$k, Locale::En) => shipped!(@one "en", $name),
                (Kind::$k, Locale::Fa) => shipped!(@one "fa", $name),
                (Kind::$k, Locale::Ar) => shipped!(@one "ar", $name),
            )+
        }
    };
    (@one $locale:literal, $name:literal) => {
        (
            include_str!(concat!("../../config/templates/", $locale, "/", $name, ".subject.txt")),
            include_str!(concat!("../../config/templates/", $locale, "/", $name, ".html")),
            include_str!(concat!("../../config/templates/", $locale, "/", $name, ".txt")),
        )
    };
}

/// The shipped template of a kind in a locale.
pub fn default_for(kind: Kind, locale: Locale) -> TemplateSet {
    let (subject, html, text): (&str, &str, &str) = shipped!(kind, locale, [
        BirthdayOffer => "birthday_offer",
        TicketFollowUp => "ticket_follow_up",
        SurveyInvitation => "survey_invitation",
        SurveyReminder => "survey_reminder",
        PointsExpiring => "points_expiring",
        TierChanged => "tier_changed",
        RecoveryApology => "recovery_apology",
    ]);
    TemplateSet {
        subject: subject.to_owned(),
        html: html.to_owned(),
        text: text.to_owned(),
    }
}

/// The staff override of a kind in a locale, if any.
pub fn find_override(
    conn: &mut DbConnection,
    kind: Kind,
    locale: Locale,
) -> QueryResult<Option<TemplateRow>> {
    message_templates::table
        .find((kind.as_str(), locale.as_str()))
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()
}

/// Every override.
pub fn all_overrides(conn: &mut DbConnection) -> QueryResult<Vec<TemplateRow>> {
    message_templates::table
        .select(TemplateRow::as_select())
        .load(conn)
}

/// The template in force: the override, else the shipped default.
pub fn current(conn: &mut DbConnection, kind: Kind, locale: Locale) -> QueryResult<TemplateSet> {
    Ok(find_override(conn, kind, locale)?
        .map_or_else(|| default_for(kind, locale), |row| row.set()))
}

/// Stores an override, replacing an earlier one, in one statement (two staff saving at once
/// both succeed; the later write wins).
pub fn save_override(conn: &mut DbConnection, row: &TemplateRow) -> QueryResult<()> {
    use diesel::upsert::excluded;
    let upsert = diesel::insert_into(message_templates::table)
        .values(row)
        .on_conflict((message_templates::kind, message_templates::locale))
        .do_update()
        .set((
            message_templates::subject.eq(excluded(message_templates::subject)),
            message_templates::html.eq(excluded(message_templates::html)),
            message_templates::text.eq(excluded(message_templates::text)),
            message_templates::updated_at.eq(excluded(message_templates::updated_at)),
            message_templates::updated_by.eq(excluded(message_templates::updated_by)),
        ));
    // ON CONFLICT is backend SQL that diesel's MultiConnection does not render.
    match conn {
        DbConnection::Postgres(pg) => upsert.execute(pg)?,
        DbConnection::Sqlite(lite) => upsert.execute(lite)?,
    };
    Ok(())
}

/// Removes an override; returns whether there was one.
pub fn delete_override(conn: &mut DbConnection, kind: Kind, locale: Locale) -> QueryResult<bool> {
    Ok(
        diesel::delete(message_templates::table.find((kind.as_str(), locale.as_str())))
            .execute(conn)?
            > 0,
    )
}

/// Checks a template: it must compile, and render for a full sample context and for one where
/// every optional value is missing (a survey link may be null). Returns the minijinja error,
/// with the part it is in.
pub fn validate(set: &TemplateSet, locale: Locale, now: DateTime<Utc>) -> Result<(), String> {
    let full = sample_context(locale, now);
    let bare = Context::empty(locale, "USD");
    for ctx in [&full, &bare] {
        let rendered = render(set, locale, Tz::UTC, ctx).map_err(|e| describe(&e))?;
        if rendered.subject.is_empty() {
            return Err("the subject renders empty".to_owned());
        }
    }
    Ok(())
}

/// The error with its location and cause chain, for the problem detail.
fn describe(e: &minijinja::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        out.push_str(": ");
        out.push_str(&inner.to_string());
        source = inner.source();
    }
    out
}

/// Sample values of every payload key, in the locale, for validation and previews.
pub fn sample_payload(locale: Locale, now: DateTime<Utc>) -> Json {
    let (reward, tier, previous, subject, note, agent) = match locale {
        Locale::En => (
            "Free coffee",
            "Gold",
            "Silver",
            "Order arrived damaged",
            "We sent a replacement the same day.",
            "Sara",
        ),
        Locale::Fa => (
            "قهوهٔ رایگان",
            "طلایی",
            "نقره\u{200c}ای",
            "سفارش آسیب\u{200c}دیده رسید",
            "همان روز یک سفارش جایگزین ارسال کردیم.",
            "سارا",
        ),
        Locale::Ar => (
            "قهوة مجانية",
            "ذهبي",
            "فضي",
            "وصل الطلب تالفًا",
            "أرسلنا طلبًا بديلًا في اليوم نفسه.",
            "سارة",
        ),
    };
    let in_days = |d: i64| (now + chrono::Duration::days(d)).to_rfc3339();
    serde_json::json!({
        "code": "GIFT-7Q4K-M2XP",
        "code_expires_at": in_days(30),
        "bonus_points": 100,
        "reward_name": reward,
        "points": 250,
        "expires_at": in_days(30),
        "tier_name": tier,
        "previous_tier_name": previous,
        "resolution_note": note,
        "agent_name": agent,
        "survey_url": "https://example.com/s/sample",
        "ticket_subject": subject,
    })
}

/// A full sample context: a customer with a name, a tier and a balance, and every payload key.
pub fn sample_context(locale: Locale, now: DateTime<Utc>) -> Context {
    let (first, tier, next, category) = match locale {
        Locale::En => ("Alex", "Silver", "Gold", "Coffee"),
        Locale::Fa => ("آرش", "نقره\u{200c}ای", "طلایی", "قهوه"),
        Locale::Ar => ("أحمد", "فضي", "ذهبي", "القهوة"),
    };
    Context {
        first_name: Some(first.to_owned()),
        current_tier: Some(tier.to_owned()),
        next_tier: Some(next.to_owned()),
        points_balance: 1250,
        points_to_next_tier: Some(750),
        favourite_category: Some(category.to_owned()),
        unsubscribe_url: Some("https://example.com/u/sample".to_owned()),
        ..Context::empty(locale, "USD")
    }
    .with_payload(&sample_payload(locale, now))
}

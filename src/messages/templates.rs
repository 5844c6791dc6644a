//! Message templates: the defaults shipped in `config/templates/<locale>/<kind>.{subject.txt,html,txt}`
//! (compiled into the binary, so it runs without a config folder), and the staff overrides
//! stored in `message_templates`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Kind;
use super::locale::Locale;
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

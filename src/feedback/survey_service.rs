//! Creating and changing surveys. A survey's kind and scale are fixed once it has an invitation,
//! so every invitation and response of a survey is on one scale.

use chrono::NaiveDateTime;

use super::survey_repo::{self, SurveyChanges};
use super::survey_text::SurveyText;
use super::{Kind, SurveyRow, Trigger};
use crate::audit::{self, Actor};
use crate::db::{self, DbConnection};

/// A validated new survey.
#[derive(Debug, Clone)]
pub struct NewSurvey {
    pub name: String,
    pub kind: Kind,
    pub scale: i32,
    pub question: SurveyText,
    pub open_question: SurveyText,
    pub trigger: Trigger,
    pub delay_hours: i32,
    pub reminder_after_hours: i32,
    pub max_reminders: i32,
    pub expires_after_days: i32,
    pub active: bool,
}

/// A validated change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct SurveyPatch {
    pub name: Option<String>,
    pub kind: Option<Kind>,
    /// A CES scale (5 or 7); only for a survey whose kind is (or becomes) `ces`.
    pub ces_scale: Option<i32>,
    pub question: Option<SurveyText>,
    pub open_question: Option<SurveyText>,
    pub trigger: Option<Trigger>,
    pub delay_hours: Option<i32>,
    pub reminder_after_hours: Option<i32>,
    pub max_reminders: Option<i32>,
    pub expires_after_days: Option<i32>,
    pub active: Option<bool>,
}

/// What can go wrong changing a survey.
#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error("survey not found")]
    NotFound,
    /// The kind or scale would change after invitations were made.
    #[error("the survey has invitations; its kind and scale can no longer change")]
    InUse,
    /// `ces_scale` was given for a survey that is not a CES survey.
    #[error("only a ces survey has a ces_scale")]
    CesScaleNotAllowed,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Creates a survey.
pub fn create(
    c: &mut DbConnection,
    actor: &Actor,
    s: NewSurvey,
    now: NaiveDateTime,
) -> Result<SurveyRow, SurveyError> {
    let row = SurveyRow {
        id: uuid::Uuid::now_v7().to_string(),
        name: s.name,
        kind: s.kind.as_str().to_owned(),
        scale: s.scale,
        question: s.question.to_stored(),
        open_question: s.open_question.to_stored(),
        trigger_type: s.trigger.as_str().to_owned(),
        delay_hours: s.delay_hours,
        reminder_after_hours: s.reminder_after_hours,
        max_reminders: s.max_reminders,
        expires_after_days: s.expires_after_days,
        active: s.active,
        created_at: now,
        updated_at: now,
    };
    db::write(c, |c| {
        survey_repo::insert(c, &row)?;
        audit::record(c, actor, "survey.create", "survey", &row.id, now)?;
        Ok(row.clone())
    })
}

/// Changes the given fields of a survey (only their columns are written).
pub fn update(
    c: &mut DbConnection,
    actor: &Actor,
    id: &str,
    p: SurveyPatch,
    now: NaiveDateTime,
) -> Result<SurveyRow, SurveyError> {
    db::write(c, |c| {
        let row = survey_repo::find_for_update(c, id)?.ok_or(SurveyError::NotFound)?;
        let old_kind = Kind::parse(&row.kind).unwrap_or(Kind::Nps);
        let kind = p.kind.unwrap_or(old_kind);
        let scale = match (p.ces_scale, kind) {
            (Some(_), k) if k != Kind::Ces => return Err(SurveyError::CesScaleNotAllowed),
            (Some(s), _) => s,
            (None, k) if k == old_kind => row.scale,
            (None, k) => k.default_scale(),
        };
        let rescaled = kind != old_kind || scale != row.scale;
        if rescaled && survey_repo::has_invitations(c, id)? {
            return Err(SurveyError::InUse);
        }
        let changes = SurveyChanges {
            name: p.name,
            kind: rescaled.then(|| kind.as_str().to_owned()),
            scale: rescaled.then_some(scale),
            question: p.question.map(|q| q.to_stored()),
            open_question: p.open_question.map(|q| q.to_stored()),
            trigger_type: p.trigger.map(|t| t.as_str().to_owned()),
            delay_hours: p.delay_hours,
            reminder_after_hours: p.reminder_after_hours,
            max_reminders: p.max_reminders,
            expires_after_days: p.expires_after_days,
            active: p.active,
            updated_at: Some(now),
        };
        survey_repo::update(c, id, &changes)?;
        audit::record(c, actor, "survey.update", "survey", id, now)?;
        survey_repo::find(c, id)?.ok_or(SurveyError::NotFound)
    })
}

//! Customer rows and the validated values the service works with.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::customers;

/// A customer's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CustomerId(pub String);

impl CustomerId {
    /// A new, time-ordered id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

/// A customer row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customers, treat_none_as_null = true)]
pub struct CustomerRow {
    pub id: String,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub birthday: Option<String>,
    pub time_zone: Option<String>,
    pub locale: Option<String>,
    pub preferred_channel: Option<String>,
    pub consent_email_marketing: bool,
    pub consent_sms_marketing: bool,
    pub consent_surveys: bool,
    /// JSON object of string values.
    pub attributes: String,
    pub referral_code_used: Option<String>,
    pub password_hash: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// This customer's own code to refer others with.
    pub referral_code: Option<String>,
    /// The customer whose referral code this customer signed up with.
    pub referred_by: Option<String>,
    /// Set when this customer was merged into another: this row is only an alias of that one.
    pub merged_into: Option<String>,
    /// When the merge happened.
    pub merged_at: Option<NaiveDateTime>,
    /// Set when the customer's personal data was erased.
    pub erased_at: Option<NaiveDateTime>,
    /// The birthday's month and day as MMDD (229 for 29 February), for the birthday job's index.
    pub birthday_md: Option<i32>,
    /// When the birthday's month and day were entered or last changed (anti-gaming).
    pub birthday_set_at: Option<NaiveDateTime>,
}

/// Marketing and survey consents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Consents {
    pub email_marketing: bool,
    pub sms_marketing: bool,
    pub surveys: bool,
}

/// Every field a customer can be created with, already validated and normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFields {
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub birthday: Option<String>,
    pub time_zone: Option<String>,
    pub locale: Option<String>,
    pub preferred_channel: Option<String>,
    pub consents: Consents,
    pub attributes: BTreeMap<String, String>,
    pub referral_code_used: Option<String>,
}

/// Validated changes: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CustomerChanges {
    pub external_id: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub birthday: Option<Option<String>>,
    pub time_zone: Option<Option<String>>,
    pub locale: Option<Option<String>>,
    pub preferred_channel: Option<Option<String>>,
    pub email_marketing: Option<bool>,
    pub sms_marketing: Option<bool>,
    pub surveys: Option<bool>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub tags: Option<Vec<String>>,
}

/// A customer with their tags, as services return it.
#[derive(Debug, Clone)]
pub struct Customer {
    pub row: CustomerRow,
    pub tags: Vec<String>,
}

impl CustomerRow {
    /// The attributes object; a damaged value reads as empty rather than failing the request.
    pub fn attributes(&self) -> BTreeMap<String, String> {
        serde_json::from_str(&self.attributes).unwrap_or_default()
    }

    /// Applies validated changes in place.
    pub fn apply(&mut self, ch: CustomerChanges) {
        fn set<T>(slot: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *slot = v;
            }
        }
        set(&mut self.external_id, ch.external_id);
        set(&mut self.email, ch.email);
        set(&mut self.phone, ch.phone);
        set(&mut self.first_name, ch.first_name);
        set(&mut self.last_name, ch.last_name);
        set(&mut self.birthday, ch.birthday);
        set(&mut self.time_zone, ch.time_zone);
        set(&mut self.locale, ch.locale);
        set(&mut self.preferred_channel, ch.preferred_channel);
        set(&mut self.consent_email_marketing, ch.email_marketing);
        set(&mut self.consent_sms_marketing, ch.sms_marketing);
        set(&mut self.consent_surveys, ch.surveys);
        if let Some(attrs) = ch.attributes {
            self.attributes = serde_json::to_string(&attrs).unwrap_or_else(|_| "{}".to_owned());
        }
    }

    /// A new row from validated fields.
    pub fn new(id: CustomerId, f: CustomerFields, now: NaiveDateTime) -> Self {
        let mut row = Self {
            id: id.0,
            external_id: f.external_id,
            email: f.email,
            phone: f.phone,
            first_name: f.first_name,
            last_name: f.last_name,
            birthday: f.birthday,
            time_zone: f.time_zone,
            locale: f.locale,
            preferred_channel: f.preferred_channel,
            consent_email_marketing: f.consents.email_marketing,
            consent_sms_marketing: f.consents.sms_marketing,
            consent_surveys: f.consents.surveys,
            attributes: serde_json::to_string(&f.attributes).unwrap_or_else(|_| "{}".to_owned()),
            referral_code_used: f.referral_code_used,
            password_hash: None,
            created_at: now,
            updated_at: now,
            referral_code: Some(crate::rewards::generate_code()[..10].to_owned()),
            referred_by: None,
            merged_into: None,
            merged_at: None,
            erased_at: None,
            birthday_md: None,
            birthday_set_at: None,
        };
        row.note_birthday(now);
        row
    }

    /// Keeps `birthday_md` in step with `birthday`; `birthday_set_at` moves to `now` when the
    /// month and day are new or changed (a year added or corrected moves nothing). Call after
    /// every change of `birthday`.
    pub fn note_birthday(&mut self, now: NaiveDateTime) {
        let md = self.birthday.as_deref().and_then(birthday_md);
        if md != self.birthday_md {
            self.birthday_set_at = md.map(|_| now);
            self.birthday_md = md;
        }
    }

    /// Whether the customer can still be identified (external id, email or phone).
    pub fn is_identifiable(&self) -> bool {
        self.external_id.is_some() || self.email.is_some() || self.phone.is_some()
    }
}

/// The month and day of a `YYYY-MM-DD` or `--MM-DD` birthday as MMDD (e.g. 229).
pub fn birthday_md(birthday: &str) -> Option<i32> {
    let mut parts = birthday.rsplit('-');
    let day: i32 = parts.next()?.parse().ok()?;
    let month: i32 = parts.next()?.parse().ok()?;
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(month * 100 + day)
}

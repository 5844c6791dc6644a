//! Field rules for customer input: E.164 phones, IANA zones, locales, birthdays, lengths.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::error::{ApiError, FieldError};
use crate::values::Email;

/// Longest name, external id or referral code.
pub const MAX_TEXT: usize = 200;
/// Most tags on one customer.
pub const MAX_TAGS: usize = 50;
/// Longest tag.
pub const MAX_TAG_LEN: usize = 64;
/// Most attributes on one customer.
pub const MAX_ATTRIBUTES: usize = 50;
/// Longest attribute key.
pub const MAX_ATTRIBUTE_KEY: usize = 64;
/// Longest attribute value.
pub const MAX_ATTRIBUTE_VALUE: usize = 1024;

/// Collects field errors so a client hears about every bad field at once.
#[derive(Debug, Default)]
pub struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    /// Keeps the value, or records the message against `field`.
    pub fn take<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result
            .map_err(|m| self.errors.push(FieldError::new(field, m)))
            .ok()
    }

    /// Records an error.
    pub fn fail(&mut self, field: &str, message: &str) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Ok when nothing failed, else 400 `validation_failed` with every error.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }
}

/// Text of at most `max` characters, not blank; trimmed.
pub fn text(raw: &str, max: usize) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("must not be empty".to_owned());
    }
    // The limit applies to what was sent, as the OpenAPI document's `maxLength` says.
    if raw.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    Ok(value.to_owned())
}

/// A normalised email address.
pub fn email(raw: &str) -> Result<String, String> {
    Email::parse(raw).map(Email::into_inner)
}

/// An E.164 phone number; spaces, dashes, dots and parentheses are removed first.
pub fn phone(raw: &str) -> Result<String, String> {
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = compact.strip_prefix('+').unwrap_or("");
    let valid = (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(compact)
    } else {
        Err("must be an E.164 number such as +989121234567".to_owned())
    }
}

/// An IANA time zone name.
pub fn time_zone(raw: &str) -> Result<String, String> {
    chrono_tz::Tz::from_str(raw.trim())
        .map(|tz| tz.name().to_owned())
        .map_err(|_| "must be an IANA time zone such as Asia/Tehran".to_owned())
}

/// A language tag `ll` or `ll-RR` (e.g. `en`, `fa`, `ar`, `en-GB`), normalised in case.
pub fn locale(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let (lang, region) = match raw.split_once(['-', '_']) {
        Some((l, r)) => (l, Some(r)),
        None => (raw, None),
    };
    let lang_ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_alphabetic());
    let region_ok =
        region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_alphabetic()));
    if !lang_ok || !region_ok {
        return Err("must be a language tag such as en, fa, ar or en-GB".to_owned());
    }
    Ok(match region {
        Some(r) => format!("{}-{}", lang.to_ascii_lowercase(), r.to_ascii_uppercase()),
        None => lang.to_ascii_lowercase(),
    })
}

/// `YYYY-MM-DD` (not after `today`, not before 1900) or `--MM-DD` (no year).
pub fn birthday(raw: &str, today: NaiveDate) -> Result<String, String> {
    let raw = raw.trim();
    let message = || "must be YYYY-MM-DD or --MM-DD".to_owned();
    if let Some(month_day) = raw.strip_prefix("--") {
        // 2000 is a leap year, so --02-29 is accepted.
        NaiveDate::parse_from_str(&format!("2000-{month_day}"), "%Y-%m-%d")
            .map_err(|_| message())?;
        if month_day.len() != 5 {
            return Err(message());
        }
        return Ok(raw.to_owned());
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| message())?;
    if raw.len() != 10 {
        return Err(message());
    }
    if date > today {
        return Err("must not be in the future".to_owned());
    }
    if date < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(date) {
        return Err("must not be before 1900".to_owned());
    }
    Ok(raw.to_owned())
}

/// `email`, `sms` or `push`.
pub fn channel(raw: &str) -> Result<String, String> {
    match raw.trim() {
        c @ ("email" | "sms" | "push") => Ok(c.to_owned()),
        _ => Err("must be one of email, sms, push".to_owned()),
    }
}

/// Trimmed, de-duplicated tags.
pub fn tags(raw: &[String]) -> Result<Vec<String>, String> {
    if raw.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    let mut out = Vec::with_capacity(raw.len());
    for tag in raw {
        let tag = text(tag, MAX_TAG_LEN).map_err(|m| format!("each tag {m}"))?;
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    Ok(out)
}

/// String attributes with bounded keys and values.
pub fn attributes(raw: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
    if raw.len() > MAX_ATTRIBUTES {
        return Err(format!("at most {MAX_ATTRIBUTES} attributes"));
    }
    for (key, value) in raw {
        if key.trim().is_empty() || key.chars().count() > MAX_ATTRIBUTE_KEY {
            return Err(format!("keys must be 1 to {MAX_ATTRIBUTE_KEY} characters"));
        }
        if value.chars().count() > MAX_ATTRIBUTE_VALUE {
            return Err(format!(
                "values must be at most {MAX_ATTRIBUTE_VALUE} characters"
            ));
        }
    }
    Ok(raw.clone())
}

/// OpenAPI schema of customer tags, mirroring [`tags`].
pub fn tags_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_TAG_LEN)),
        )
        .max_items(Some(MAX_TAGS))
        .build()
}

/// [`tags_schema`], or null.
pub fn tags_schema_nullable() -> utoipa::openapi::Array {
    let mut schema = tags_schema();
    schema.schema_type = utoipa::openapi::schema::SchemaType::from_iter([
        utoipa::openapi::schema::Type::Array,
        utoipa::openapi::schema::Type::Null,
    ]);
    schema
}

/// OpenAPI schema of string attributes, mirroring [`attributes`].
pub fn attributes_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::RefOr(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(MAX_ATTRIBUTE_VALUE))
                .into(),
        )))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_ATTRIBUTE_KEY)),
        ))
        .max_properties(Some(MAX_ATTRIBUTES))
        .build()
}

/// [`attributes_schema`], or null.
pub fn attributes_schema_nullable() -> utoipa::openapi::Object {
    let mut schema = attributes_schema();
    schema.schema_type = utoipa::openapi::schema::SchemaType::from_iter([
        utoipa::openapi::schema::Type::Object,
        utoipa::openapi::schema::Type::Null,
    ]);
    schema
}

//! Console pages: the program settings, tiers, earning rules (with a dry run) and rewards.
//!
//! Every page reads and writes through `/v1` as the signed-in staff member. Form fields are named
//! by the JSON path the API uses (`earn_rate.points`, `name.fa`, `lines[0].quantity`), so the
//! API's field problems land next to the input that caused them.

mod program;
mod rewards;
mod rules;
mod tiers;

use actix_web::web;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use crate::admin::form::{Errors, to_ascii_digits};
use crate::admin::{Console, ConsoleError, Form, i18n};
use crate::messages::locale::Locale;

/// This area's templates.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "catalog/program.html",
        include_str!("../../templates/catalog/program.html"),
    ),
    (
        "catalog/tiers.html",
        include_str!("../../templates/catalog/tiers.html"),
    ),
    (
        "catalog/tier_form.html",
        include_str!("../../templates/catalog/tier_form.html"),
    ),
    (
        "catalog/rules.html",
        include_str!("../../templates/catalog/rules.html"),
    ),
    (
        "catalog/rule_form.html",
        include_str!("../../templates/catalog/rule_form.html"),
    ),
    (
        "catalog/rewards.html",
        include_str!("../../templates/catalog/rewards.html"),
    ),
    (
        "catalog/reward_form.html",
        include_str!("../../templates/catalog/reward_form.html"),
    ),
];

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    program::config(cfg);
    tiers::config(cfg);
    rules::config(cfg);
    rewards::config(cfg);
}

/// The languages a text can be given in, in the order the forms show them.
const LOCALES: [&str; 3] = ["en", "fa", "ar"];

/// A whole number typed into `name` (Persian and Arabic digits too); `None` when empty. A problem
/// is noted in `errors` in the page's language.
fn number(form: &Form, name: &str, errors: &mut Errors, lang: Locale) -> Option<i64> {
    let raw = form.opt(name)?;
    match to_ascii_digits(raw).replace([',', '٬'], "").parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(name, i18n::text(lang, "catalog.not_a_number"));
            None
        }
    }
}

/// Like [`number`], but an empty field is a problem too.
fn required_number(form: &Form, name: &str, errors: &mut Errors, lang: Locale) -> Option<i64> {
    if form.opt(name).is_none() {
        errors.add(name, i18n::text(lang, "catalog.required"));
        return None;
    }
    number(form, name, errors, lang)
}

/// A `datetime-local` value (`2026-03-01T09:30`, read as UTC) as RFC 3339; `None` when empty.
fn instant(form: &Form, name: &str, errors: &mut Errors, lang: Locale) -> Option<String> {
    let raw = to_ascii_digits(form.opt(name)?);
    let parsed = NaiveDateTime::parse_from_str(&raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(&raw, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| DateTime::parse_from_rfc3339(&raw).map(|t| t.naive_utc()));
    match parsed {
        Ok(t) => Some(
            t.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        Err(_) => {
            errors.add(name, i18n::text(lang, "catalog.not_a_time"));
            None
        }
    }
}

/// An RFC 3339 time from the API as a `datetime-local` value in UTC (empty for null).
fn instant_value(v: &Value) -> String {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc).format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// `{"en": …, "fa": …, "ar": …}` from the inputs `prefix.en` … (empty ones left out).
fn localized(form: &Form, prefix: &str) -> Map<String, Value> {
    LOCALES
        .iter()
        .filter_map(|l| {
            form.opt(&format!("{prefix}.{l}"))
                .map(|text| ((*l).to_owned(), json!(text)))
        })
        .collect()
}

/// A localized text from the API (one string, or text per locale) into the inputs `prefix.en` …
/// (one string is shown as the English text).
fn put_localized(values: &mut Map<String, Value>, prefix: &str, text: &Value) {
    match text {
        Value::String(s) if !s.is_empty() => {
            values.insert(format!("{prefix}.en"), json!(s));
        }
        Value::Object(map) => {
            for (locale, s) in map {
                values.insert(format!("{prefix}.{locale}"), s.clone());
            }
        }
        _ => {}
    }
}

use crate::admin::i18n::in_language as shown;

/// The tiers as `{value, label}` options for a select, named in the page's language.
async fn tier_options(cx: &Console, api: &crate::admin::api::Api) -> Result<Value, ConsoleError> {
    let tiers = api.get("/v1/tiers").await?;
    Ok(Value::Array(
        tiers
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| json!({"value": t["id"], "label": shown(&t["name"], cx.lang)}))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_typed_in_forms_are_read_as_utc() {
        let form = Form::parse(
            "a=2026-03-01T09%3A30&b=%DB%B2%DB%B0%DB%B2%DB%B6-03-01T09%3A30&c=soon".as_bytes(),
        );
        let mut errors = Errors::default();
        assert_eq!(
            instant(&form, "a", &mut errors, Locale::En).as_deref(),
            Some("2026-03-01T09:30:00Z")
        );
        assert_eq!(
            instant(&form, "b", &mut errors, Locale::En).as_deref(),
            Some("2026-03-01T09:30:00Z")
        );
        assert_eq!(instant(&form, "c", &mut errors, Locale::En), None);
        assert!(!errors.is_empty());
        assert_eq!(
            instant_value(&json!("2026-03-01T09:30:00Z")),
            "2026-03-01T09:30"
        );
    }

    #[test]
    fn localized_text_goes_both_ways() {
        let form =
            Form::parse("name.en=Gold&name.fa=%D8%B7%D9%84%D8%A7%DB%8C%DB%8C&name.ar=".as_bytes());
        let text = Value::Object(localized(&form, "name"));
        assert_eq!(text, json!({"en": "Gold", "fa": "طلایی"}));
        let mut values = Map::new();
        put_localized(&mut values, "name", &text);
        assert_eq!(values["name.fa"], "طلایی");
        assert_eq!(shown(&text, Locale::Fa), "طلایی");
        assert_eq!(shown(&text, Locale::Ar), "Gold");
        assert_eq!(shown(&json!("Plain"), Locale::Fa), "Plain");
    }
}

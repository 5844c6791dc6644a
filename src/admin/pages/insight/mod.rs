//! Console pages: the dashboard, reports, surveys, templates, the outbox and jobs.
//!
//! Every figure comes from `/v1` as the signed-in staff member; charts are SVG drawn here
//! ([`crate::admin::charts`]).

mod dashboard;
mod jobs;
mod outbox;
mod report_cx;
mod report_pages;
mod reports;
mod surveys;
mod templates;

use actix_web::web;
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;

use crate::admin::api::Api;
use crate::admin::{Console, ConsoleError, Form, charts, i18n};
use crate::messages::locale::{Locale, solar_hijri};

/// This area's templates.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "insight/dashboard.html",
        include_str!("../../templates/insight/dashboard.html"),
    ),
    (
        "insight/macros.html",
        include_str!("../../templates/insight/macros.html"),
    ),
    (
        "insight/reports.html",
        include_str!("../../templates/insight/reports.html"),
    ),
    (
        "insight/report_cx.html",
        include_str!("../../templates/insight/report_cx.html"),
    ),
    (
        "insight/report_comments.html",
        include_str!("../../templates/insight/report_comments.html"),
    ),
    (
        "insight/report_loyalty.html",
        include_str!("../../templates/insight/report_loyalty.html"),
    ),
    (
        "insight/report_retention.html",
        include_str!("../../templates/insight/report_retention.html"),
    ),
    (
        "insight/report_recovery.html",
        include_str!("../../templates/insight/report_recovery.html"),
    ),
    (
        "insight/surveys.html",
        include_str!("../../templates/insight/surveys.html"),
    ),
    (
        "insight/survey_form.html",
        include_str!("../../templates/insight/survey_form.html"),
    ),
    (
        "insight/templates.html",
        include_str!("../../templates/insight/templates.html"),
    ),
    (
        "insight/template_edit.html",
        include_str!("../../templates/insight/template_edit.html"),
    ),
    (
        "insight/outbox.html",
        include_str!("../../templates/insight/outbox.html"),
    ),
    (
        "insight/message.html",
        include_str!("../../templates/insight/message.html"),
    ),
    (
        "insight/jobs.html",
        include_str!("../../templates/insight/jobs.html"),
    ),
];

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(dashboard::show));
    reports::config(cfg);
    surveys::config(cfg);
    templates::config(cfg);
    outbox::config(cfg);
    jobs::config(cfg);
}

/// The time now, on the application's clock.
fn now(cx: &Console) -> DateTime<Utc> {
    cx.state.clock.now()
}

/// A time as the API reads it: `2026-11-22T12:00:00Z`.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The text of `key` in the staff member's language.
fn text(cx: &Console, key: &str) -> String {
    i18n::text(cx.lang, key)
}

/// The query string of the page, read like a form.
fn query(cx: &Console) -> Form {
    Form::parse(cx.path.split_once('?').map_or("", |(_, q)| q).as_bytes())
}

/// A JSON number as `f64` (reports' ratios are exact decimals on the wire).
fn number(v: &Value) -> Option<f64> {
    v.as_f64()
}

/// A decimal figure in the page's digits, or `—` when the API gave none.
fn figure(lang: Locale, v: &Value, places: u32) -> String {
    number(v).map_or_else(|| "—".to_owned(), |n| charts::decimal(lang, n, places))
}

/// An RFC 3339 time as the date and `HH:MM` (UTC) in the page's calendar and digits.
fn when(lang: Locale, v: &Value) -> String {
    match v
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    {
        Some(t) => {
            let t = t.with_timezone(&Utc);
            format!(
                "{} {}",
                lang.date(t.date_naive()),
                lang.localize_digits(&t.format("%H:%M").to_string())
            )
        }
        None => v.as_str().unwrap_or("—").to_owned(),
    }
}

/// A `YYYY-MM-DD` date.
fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// A short date for a chart axis: `22 Nov`, `۱/۹` (Solar Hijri day/month), `٢٢/١١`.
fn short_day(lang: Locale, d: NaiveDate) -> String {
    match lang {
        Locale::En => d.format("%-d %b").to_string(),
        Locale::Ar => lang.localize_digits(&format!("{}/{}", d.day(), d.month())),
        Locale::Fa => match solar_hijri(d) {
            Some((_, month, day)) => lang.localize_digits(&format!("{day}/{month}")),
            None => lang.localize_digits(&d.format("%Y-%m-%d").to_string()),
        },
    }
}

/// A short month for a chart axis: `Nov 2026`, `۱۴۰۵/۹`, `١١/٢٠٢٦`.
fn short_month(lang: Locale, d: NaiveDate) -> String {
    match lang {
        Locale::En => d.format("%b %Y").to_string(),
        Locale::Ar => lang.localize_digits(&format!("{}/{}", d.month(), d.year())),
        Locale::Fa => match solar_hijri(d) {
            Some((year, month, _)) => lang.localize_digits(&format!("{year}/{month}")),
            None => lang.localize_digits(&d.format("%Y-%m").to_string()),
        },
    }
}

/// Calls `GET` on every path at once; the answers in the order of the paths.
async fn get_all(api: &Api, paths: Vec<String>) -> Result<Vec<Value>, ConsoleError> {
    let mut set = tokio::task::JoinSet::new();
    let n = paths.len();
    for (i, path) in paths.into_iter().enumerate() {
        let api = api.clone();
        set.spawn(async move { (i, api.get(&path).await) });
    }
    let mut out = vec![Value::Null; n];
    while let Some(joined) = set.join_next().await {
        let (i, answer) = joined.map_err(ConsoleError::internal)?;
        out[i] = answer?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_dates_are_short_and_in_the_page_calendar() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        assert_eq!(short_day(Locale::En, d), "22 Nov");
        assert_eq!(short_day(Locale::Fa, d), "۱/۹");
        assert_eq!(short_day(Locale::Ar, d), "٢٢/١١");
        assert_eq!(short_month(Locale::En, d), "Nov 2026");
        assert_eq!(short_month(Locale::Fa, d), "۱۴۰۵/۹");
    }
}

//! The reports' answers as the pages show them: tables of preformatted cells (in the page's
//! digits) and SVG charts. Loyalty, retention and recovery here; NPS, CSAT, CES and comments in
//! `report_cx`.

use serde_json::{Value, json};

use super::report_cx::{comments, cx_report};
use super::reports::Report;
use super::{figure, number, text};
use crate::admin::charts::{self, Bar, Tone};
use crate::admin::{Console, Form, i18n};
use crate::messages::locale::Locale;

/// The page data of a report's answer.
pub fn build(cx: &Console, report: Report, q: &Form, answer: &Value) -> Value {
    match report {
        Report::Nps | Report::Csat | Report::Ces => cx_report(cx, report, answer),
        Report::Comments => comments(cx, q, answer),
        Report::Loyalty => loyalty(cx, answer),
        Report::Retention => retention(cx, answer),
        Report::Recovery => recovery(cx, answer),
    }
}

/// An integer in the page's digits, `—` for none.
pub(super) fn int(lang: Locale, v: &Value) -> String {
    v.as_i64()
        .map_or_else(|| "—".to_owned(), |n| lang.number(n))
}

/// A percentage in the page's digits: `33.3%`, `۳۳٫۳٪`.
pub(super) fn percent(lang: Locale, v: &Value) -> String {
    match number(v) {
        None => "—".to_owned(),
        Some(_) => {
            let sign = match lang {
                Locale::En => "%",
                Locale::Fa | Locale::Ar => "\u{066A}",
            };
            format!("{}{sign}", figure(lang, v, 1))
        }
    }
}

pub(super) fn column(cx: &Console, key: &str, num: bool) -> Value {
    json!({"label": text(cx, &format!("reports.col_{key}")), "num": num})
}

pub(super) fn table(id: &str, caption: String, columns: Vec<Value>, rows: Vec<Value>) -> Value {
    json!({"id": id, "caption": caption, "columns": columns, "rows": rows})
}

pub(super) fn row(cells: Vec<Value>) -> Value {
    json!({"cells": cells})
}

fn figures_table(cx: &Console, id: &str, caption: String, items: Vec<(&str, String)>) -> Value {
    let rows = items
        .into_iter()
        .map(|(key, value)| {
            row(vec![
                json!(text(cx, &format!("reports.fig_{key}"))),
                json!(value),
            ])
        })
        .collect();
    table(
        id,
        caption,
        vec![column(cx, "figure", false), column(cx, "value", true)],
        rows,
    )
}

fn loyalty(cx: &Console, r: &Value) -> Value {
    let lang = cx.lang;
    let currency = r["currency"].as_str().unwrap_or("USD");
    let liability = r["outstanding_liability_minor"]
        .as_i64()
        .map_or_else(|| "—".to_owned(), |m| lang.money(m, currency));
    let figures = figures_table(
        cx,
        "table-loyalty",
        text(cx, "reports.title_loyalty"),
        vec![
            ("members", int(lang, &r["members"])),
            ("active_members", int(lang, &r["active_members"])),
            ("points_issued", int(lang, &r["points_issued"])),
            ("points_redeemed", int(lang, &r["points_redeemed"])),
            ("points_expired", int(lang, &r["points_expired"])),
            ("points_reversed", int(lang, &r["points_reversed"])),
            ("points_deducted", int(lang, &r["points_deducted"])),
            ("outstanding_points", int(lang, &r["outstanding_points"])),
            ("liability", liability),
            ("redemption_rate", percent(lang, &r["redemption_rate"])),
        ],
    );
    let tiers = r["tier_distribution"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let tier_name = |t: &Value| {
        t["name"]
            .as_str()
            .map_or_else(|| text(cx, "dashboard.no_tier"), str::to_owned)
    };
    let tier_rows = tiers
        .iter()
        .map(|t| row(vec![json!(tier_name(t)), json!(int(lang, &t["members"]))]))
        .collect();
    let tier_table = table(
        "table-tiers",
        text(cx, "reports.tiers"),
        vec![column(cx, "tier", false), column(cx, "members", true)],
        tier_rows,
    );
    let bars: Vec<Bar> = tiers
        .iter()
        .map(|t| Bar {
            label: tier_name(t),
            value: t["members"].as_i64().unwrap_or(0),
            tone: Tone::Neutral,
        })
        .collect();
    let chart = charts::distribution(
        lang,
        "chart-tiers",
        &text(cx, "dashboard.chart_tiers"),
        &text(cx, "dashboard.chart_tiers_desc"),
        &text(cx, "charts.no_data"),
        &bars,
    );
    let moved: Vec<Bar> = [
        ("points_issued", Tone::Good),
        ("points_redeemed", Tone::Neutral),
        ("points_expired", Tone::Mid),
        ("points_reversed", Tone::Bad),
        ("points_deducted", Tone::Bad),
    ]
    .into_iter()
    .map(|(k, tone)| Bar {
        label: text(cx, &format!("reports.fig_{k}")),
        value: r[k].as_i64().unwrap_or(0),
        tone,
    })
    .collect();
    let points_chart = charts::distribution(
        lang,
        "chart-points",
        &text(cx, "reports.chart_points"),
        &text(cx, "reports.chart_points_desc"),
        &text(cx, "charts.no_data"),
        &moved,
    );
    json!({"from": r["from"], "to": r["to"], "tables": [figures, tier_table],
           "charts": [points_chart, chart]})
}

fn segment_name(cx: &Console, segment: &str) -> String {
    let key = format!("reports.segment_{segment}");
    if i18n::has(&key) {
        text(cx, &key)
    } else {
        segment.to_owned()
    }
}

fn retention(cx: &Console, r: &Value) -> Value {
    let lang = cx.lang;
    let figures = figures_table(
        cx,
        "table-retention",
        text(cx, "reports.title_retention"),
        vec![
            ("current_buyers", int(lang, &r["current"]["buyers"])),
            ("previous_buyers", int(lang, &r["previous"]["buyers"])),
            ("churned", int(lang, &r["churned"])),
            ("churn_rate", percent(lang, &r["churn_rate"])),
            ("repeat_buyers", int(lang, &r["repeat_buyers"])),
            (
                "repeat_purchase_rate",
                percent(lang, &r["repeat_purchase_rate"]),
            ),
        ],
    );
    let segments = r["segments"].as_array().cloned().unwrap_or_default();
    let name = |s: &Value| segment_name(cx, s["segment"].as_str().unwrap_or_default());
    let seg_table = table(
        "table-segments",
        text(cx, "reports.segments"),
        vec![column(cx, "segment", false), column(cx, "members", true)],
        segments
            .iter()
            .map(|s| row(vec![json!(name(s)), json!(int(lang, &s["members"]))]))
            .collect(),
    );
    let bars: Vec<Bar> = segments
        .iter()
        .map(|s| Bar {
            label: name(s),
            value: s["members"].as_i64().unwrap_or(0),
            tone: Tone::Neutral,
        })
        .collect();
    let chart = charts::distribution(
        lang,
        "chart-segments",
        &text(cx, "reports.chart_segments"),
        &text(cx, "reports.chart_segments_desc"),
        &text(cx, "charts.no_data"),
        &bars,
    );
    json!({"current": r["current"], "previous": r["previous"], "period_days": r["period_days"],
           "tables": [figures, seg_table], "charts": [chart]})
}

/// Whole seconds as days, hours and minutes in the page's words and digits.
fn duration(cx: &Console, v: &Value) -> String {
    let Some(secs) = v.as_i64() else {
        return "—".to_owned();
    };
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    let unit = |n: i64, key: &str| text(cx, key).replace("{n}", &cx.lang.number(n));
    match (d, h) {
        (0, 0) => unit(m, "reports.minutes"),
        (0, _) => format!(
            "{} {}",
            unit(h, "reports.hours"),
            unit(m, "reports.minutes")
        ),
        _ => format!("{} {}", unit(d, "reports.days"), unit(h, "reports.hours")),
    }
}

fn recovery(cx: &Console, r: &Value) -> Value {
    let lang = cx.lang;
    let figures = figures_table(
        cx,
        "table-recovery",
        text(cx, "reports.title_recovery"),
        vec![
            ("opened", int(lang, &r["opened"])),
            ("resolved", int(lang, &r["resolved"])),
            ("open", int(lang, &r["open"])),
            (
                "average_resolution",
                duration(cx, &r["average_resolution_seconds"]),
            ),
            (
                "median_resolution",
                duration(cx, &r["median_resolution_seconds"]),
            ),
            ("repurchased", int(lang, &r["repurchased"])),
            ("recovery_rate", percent(lang, &r["recovery_rate"])),
            ("repurchase_rate", percent(lang, &r["repurchase_rate"])),
        ],
    );
    let bars: Vec<Bar> = [
        ("opened", Tone::Neutral),
        ("resolved", Tone::Good),
        ("open", Tone::Bad),
        ("repurchased", Tone::Good),
    ]
    .into_iter()
    .map(|(k, tone)| Bar {
        label: text(cx, &format!("reports.fig_{k}")),
        value: r[k].as_i64().unwrap_or(0),
        tone,
    })
    .collect();
    let chart = charts::distribution(
        lang,
        "chart-recovery",
        &text(cx, "reports.chart_recovery"),
        &text(cx, "reports.chart_recovery_desc"),
        &text(cx, "charts.no_data"),
        &bars,
    );
    json!({"from": r["from"], "to": r["to"], "tables": [figures], "charts": [chart]})
}

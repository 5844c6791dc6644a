//! The reports' answers as the pages show them: tables of preformatted cells (in the page's
//! digits) and SVG charts.

use serde_json::{Value, json};

use super::dashboard::{key_day, score_distribution};
use super::reports::Report;
use super::{figure, localized, number, short_day, short_month, text, when};
use crate::admin::api::with_query;
use crate::admin::charts::{self, Bar, Chart, Series, Style, Tone};
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
fn int(lang: Locale, v: &Value) -> String {
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

fn column(cx: &Console, key: &str, num: bool) -> Value {
    json!({"label": text(cx, &format!("reports.col_{key}")), "num": num})
}

fn table(id: &str, caption: String, columns: Vec<Value>, rows: Vec<Value>) -> Value {
    json!({"id": id, "caption": caption, "columns": columns, "rows": rows})
}

fn row(cells: Vec<Value>) -> Value {
    json!({"cells": cells})
}

/// A group's name: the channel, store, agent or touchpoint, or the week or month it starts.
fn group_label(cx: &Console, by: Option<&str>, key: &Value, short: bool) -> String {
    let Some(raw) = key.as_str() else {
        return text(cx, "reports.not_recorded");
    };
    match (by, key_day(key)) {
        (Some("week"), Some(d)) if short => short_day(cx.lang, d),
        (Some("week"), Some(d)) => cx.lang.date(d),
        (Some("month"), Some(d)) => short_month(cx.lang, d),
        _ => raw.to_owned(),
    }
}

/// The figures one row of a CX table shows, after the group's name.
fn cx_cells(lang: Locale, report: Report, f: &Value) -> Vec<Value> {
    let rate = &f["response_rate"];
    let mut cells = vec![int(lang, &f["responses"]), int(lang, &f["skipped"])];
    match report {
        Report::Nps => cells.extend([
            int(lang, &f["promoters"]),
            int(lang, &f["passives"]),
            int(lang, &f["detractors"]),
            figure(lang, &f["score"], 1),
        ]),
        Report::Csat => cells.extend([int(lang, &f["satisfied"]), percent(lang, &f["score"])]),
        _ => cells.extend([
            figure(lang, &f["average"], 2),
            int(lang, &f["low_effort"]),
            int(lang, &f["high_effort"]),
        ]),
    }
    cells.extend([
        int(lang, &rate["invited"]),
        int(lang, &rate["answered"]),
        percent(lang, &rate["rate"]),
    ]);
    cells.into_iter().map(Value::String).collect()
}

fn cx_columns(cx: &Console, report: Report) -> Vec<Value> {
    let mut keys = vec!["group", "responses", "skipped"];
    keys.extend(match report {
        Report::Nps => &["promoters", "passives", "detractors", "nps"][..],
        Report::Csat => &["satisfied", "csat"][..],
        _ => &["average", "low_effort", "high_effort"][..],
    });
    keys.extend(["invited", "answered", "response_rate"]);
    keys.iter()
        .enumerate()
        .map(|(i, k)| column(cx, k, i > 0))
        .collect()
}

/// NPS, CSAT or CES: a section per scale (one for NPS and CSAT).
fn cx_report(cx: &Console, report: Report, answer: &Value) -> Value {
    let by = answer["group_by"].as_str();
    let parts: Vec<(Option<i64>, &Value, &Value)> = match report {
        Report::Ces => answer["scales"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|s| (s["scale"].as_i64(), &s["total"], &s["groups"]))
                    .collect()
            })
            .unwrap_or_default(),
        _ => vec![(None, &answer["total"], &answer["groups"])],
    };
    let name = report.as_str();
    let sections: Vec<Value> = parts
        .into_iter()
        .map(|(scale, total, groups)| {
            let suffix = scale.map_or(String::new(), |s| format!("-{s}"));
            let title = match scale {
                Some(s) => text(cx, "reports.ces_scale").replace("{n}", &cx.lang.number(s)),
                None => text(cx, &format!("reports.title_{name}")),
            };
            let groups = groups.as_array().cloned().unwrap_or_default();
            let mut rows = vec![json!({
                "cells": std::iter::once(json!(text(cx, "reports.total")))
                    .chain(cx_cells(cx.lang, report, total))
                    .collect::<Vec<_>>(),
                "total": true,
            })];
            for g in &groups {
                rows.push(row(std::iter::once(json!(group_label(cx, by, &g["key"], false)))
                    .chain(cx_cells(cx.lang, report, g))
                    .collect()));
            }
            let top = scale.unwrap_or(if report == Report::Nps { 10 } else { 5 });
            let mut svgs = vec![score_distribution(
                cx.lang,
                &format!("chart-{name}{suffix}-distribution"),
                &format!("{title} · {}", text(cx, "charts.distribution")),
                &text(cx, "charts.distribution_desc"),
                &text(cx, "charts.no_data"),
                &total["distribution"],
                name,
                top,
            )];
            if !groups.is_empty() {
                svgs.push(group_chart(cx, report, &title, &suffix, by, &groups));
            }
            json!({
                "id": format!("{name}{suffix}"),
                "title": title,
                "table": table(&format!("table-{name}{suffix}"), title.clone(), cx_columns(cx, report), rows),
                "charts": svgs,
            })
        })
        .collect();
    json!({"from": answer["from"], "to": answer["to"], "group_by": by, "sections": sections})
}

/// The score of each group: a line over weeks or months, else bars per group.
fn group_chart(
    cx: &Console,
    report: Report,
    title: &str,
    suffix: &str,
    by: Option<&str>,
    groups: &[Value],
) -> String {
    let over_time = matches!(by, Some("week" | "month"));
    let (field, places) = match report {
        Report::Ces => ("average", 2),
        _ => ("score", 1),
    };
    let name = report.as_str();
    charts::time_series(
        cx.lang,
        &Chart {
            id: &format!("chart-{name}{suffix}-groups"),
            title: &format!(
                "{title} · {}",
                text(
                    cx,
                    if over_time {
                        "charts.over_time"
                    } else {
                        "charts.by_group"
                    }
                )
            ),
            desc: &text(cx, "charts.groups_desc"),
            empty: &text(cx, "charts.no_data"),
            labels: groups
                .iter()
                .map(|g| group_label(cx, by, &g["key"], true))
                .collect(),
            series: vec![Series {
                name: title.to_owned(),
                values: groups.iter().map(|g| number(&g[field])).collect(),
            }],
            style: if over_time { Style::Line } else { Style::Bars },
            decimals: places,
        },
    )
}

/// Comments, newest first, a page at a time.
fn comments(cx: &Console, q: &Form, answer: &Value) -> Value {
    let lang = cx.lang;
    let columns = [
        "occurred_at",
        "kind",
        "score",
        "comment",
        "channel",
        "touchpoint",
        "store",
        "agent",
        "customer",
    ]
    .iter()
    .map(|k| column(cx, k, *k == "score"))
    .collect();
    let rows = answer["data"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|c| {
                    let score = match c["score"].as_i64() {
                        Some(s) => format!(
                            "{} / {}",
                            lang.number(s),
                            lang.number(c["scale"].as_i64().unwrap_or(10))
                        ),
                        None => text(cx, "reports.skipped"),
                    };
                    let customer = match c["customer_id"].as_str() {
                        Some(id) => json!({"text": id,
                            "href": format!("/admin/customers/{}", crate::admin::api::seg(id))}),
                        None => json!(text(cx, "reports.anonymous")),
                    };
                    let opt = |k: &str| json!(c[k].as_str().unwrap_or("—"));
                    row(vec![
                        json!(when(lang, &c["occurred_at"])),
                        json!(c["kind"].as_str().unwrap_or_default().to_uppercase()),
                        json!(score),
                        json!({"text": c["comment"], "dir": "auto"}),
                        opt("channel"),
                        opt("touchpoint"),
                        opt("store_id"),
                        opt("agent_id"),
                        customer,
                    ])
                })
                .collect()
        })
        .unwrap_or_default();
    let keep: Vec<(&str, &str)> = ["kind", "min_score", "max_score", "from", "to"]
        .into_iter()
        .filter_map(|k| q.opt(k).map(|v| (k, v)))
        .collect();
    let first = with_query("/admin/reports/comments", &keep);
    let next = answer["next_cursor"].as_str().map(|cursor| {
        let mut with_cursor = keep.clone();
        with_cursor.push(("cursor", cursor));
        with_query("/admin/reports/comments", &with_cursor)
    });
    json!({
        "table": table("table-comments", text(cx, "reports.title_comments"), columns, rows),
        "first": q.opt("cursor").map(|_| first),
        "next": next,
    })
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
            .map_or_else(|| text(cx, "dashboard.no_tier"), |n| localized(lang, n))
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

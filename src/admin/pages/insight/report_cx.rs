//! NPS, CSAT and CES reports (a table and charts per scale) and the comments list, as the pages
//! show them.

use crate::admin::api::pager;
use serde_json::{Value, json};

use super::dashboard::{key_day, score_distribution};
use super::report_pages::{column, int, percent, row, table};
use super::reports::Report;
use super::{figure, number, short_day, short_month, text, when};
use crate::admin::charts::{self, Chart, Series, Style};
use crate::admin::{Console, Form};
use crate::messages::locale::Locale;

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
pub(super) fn cx_report(cx: &Console, report: Report, answer: &Value) -> Value {
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
pub(super) fn comments(cx: &Console, q: &Form, answer: &Value) -> Value {
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
    let pages = pager(
        "/admin/reports/comments",
        &keep,
        q.get("cursor"),
        &answer["next_cursor"],
    );
    json!({
        "table": table("table-comments", text(cx, "reports.title_comments"), columns, rows),
        "first": pages.first,
        "next": pages.next,
    })
}

//! `GET /admin/`: the dashboard. Roles that read reports see the loyalty figures and NPS, CSAT
//! and CES for the last 30 days against the 30 before, with charts; every role sees its
//! sections, and the open tickets and recovery cases when it may read them.

use chrono::{DateTime, Datelike, Duration, Utc};
use serde_json::{Value, json};

use super::{figure, get_all, now, number, parse_day, rfc3339, short_day, text};
use crate::admin::api::{Api, with_query};
use crate::admin::charts::{self, Bar, Chart, Series, Style, Tone};
use crate::admin::render::page;
use crate::admin::{Console, ConsoleError, ConsoleResult};
use crate::auth::Permission;
use crate::messages::locale::Locale;

/// Weeks in the charts.
const WEEKS: i64 = 12;
/// Days compared.
const DAYS: i64 = 30;

/// `GET /admin/`.
pub async fn show(cx: Console) -> ConsoleResult {
    let api = cx.api()?;
    let mut data = json!({});
    if cx.can(Permission::REPORTS_READ) {
        data["report"] = figures(&cx, &api).await?;
    }
    if cx.can(Permission::TICKETS_READ) {
        data["open_tickets"] = count(&api, "/v1/tickets").await?;
    }
    if cx.can(Permission::RECOVERY_READ) {
        data["open_cases"] = count(&api, "/v1/recovery-cases").await?;
    }
    page(&cx, "insight/dashboard.html", data)
}

/// How many `status=open` items a list holds: `{n, more}` (`more`: past the first 200).
async fn count(api: &Api, path: &str) -> Result<Value, ConsoleError> {
    let list = api
        .get(&with_query(path, &[("status", "open"), ("limit", "200")]))
        .await?;
    let n = list["data"].as_array().map_or(0, Vec::len);
    Ok(json!({"n": n, "more": !list["next_cursor"].is_null()}))
}

fn range(path: &str, from: DateTime<Utc>, to: DateTime<Utc>, extra: &[(&str, &str)]) -> String {
    let (from, to) = (rfc3339(from), rfc3339(to));
    let mut q = vec![("from", from.as_str()), ("to", to.as_str())];
    q.extend_from_slice(extra);
    with_query(path, &q)
}

async fn figures(cx: &Console, api: &Api) -> Result<Value, ConsoleError> {
    let lang = cx.lang;
    let to = now(cx);
    let from = to - Duration::days(DAYS);
    let before = from - Duration::days(DAYS);
    // The charts' weeks start on Mondays (as the reports' `week` groups do), the last one now.
    let today = to.date_naive();
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let first = (monday - Duration::weeks(WEEKS - 1))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(to);
    let mut paths = vec![range("/v1/reports/loyalty", from, to, &[])];
    for kind in ["nps", "csat", "ces"] {
        let path = format!("/v1/reports/{kind}");
        paths.push(range(&path, from, to, &[]));
        paths.push(range(&path, before, from, &[]));
    }
    paths.push(range("/v1/reports/nps", first, to, &[("group_by", "week")]));
    let weeks: Vec<DateTime<Utc>> = (0..WEEKS).map(|w| first + Duration::weeks(w)).collect();
    for start in &weeks {
        // The current week ends now; at midnight on a Monday it has only begun (a range must not
        // be empty).
        let end = (*start + Duration::weeks(1))
            .min(to)
            .max(*start + Duration::seconds(1));
        paths.push(range("/v1/reports/loyalty", *start, end, &[]));
    }
    let answers = get_all(api, paths).await?;
    let loyalty = &answers[0];
    let cards = vec![
        cx_card(
            lang,
            "nps",
            &answers[1]["total"],
            &answers[2]["total"],
            "score",
            1,
        ),
        cx_card(
            lang,
            "csat",
            &answers[3]["total"],
            &answers[4]["total"],
            "score",
            1,
        ),
    ];
    let mut cards = cards;
    cards.extend(ces_cards(lang, &answers[5], &answers[6]));
    let labels: Vec<String> = weeks
        .iter()
        .map(|w| short_day(lang, w.date_naive()))
        .collect();
    let nps_weeks = &answers[7];
    let nps_by_week: Vec<Option<f64>> = weeks
        .iter()
        .map(|w| {
            let key = w.date_naive().format("%Y-%m-%d").to_string();
            nps_weeks["groups"]
                .as_array()
                .and_then(|g| g.iter().find(|g| g["key"] == key.as_str()))
                .and_then(|g| number(&g["score"]))
        })
        .collect();
    let weekly = &answers[8..];
    let points = |field: &str| -> Vec<Option<f64>> {
        weekly
            .iter()
            .map(|r| r[field].as_i64().map(|n| n as f64))
            .collect()
    };
    let nps_chart = charts::time_series(
        lang,
        &Chart {
            id: "chart-nps-weeks",
            title: &text(cx, "dashboard.chart_nps_weeks"),
            desc: &text(cx, "dashboard.chart_nps_weeks_desc"),
            empty: &text(cx, "charts.no_data"),
            labels: labels.clone(),
            series: vec![Series {
                name: text(cx, "dashboard.nps"),
                values: nps_by_week,
            }],
            style: Style::Line,
            decimals: 1,
        },
    );
    let points_chart = charts::time_series(
        lang,
        &Chart {
            id: "chart-points-weeks",
            title: &text(cx, "dashboard.chart_points_weeks"),
            desc: &text(cx, "dashboard.chart_points_weeks_desc"),
            empty: &text(cx, "charts.no_data"),
            labels,
            series: vec![
                Series {
                    name: text(cx, "dashboard.points_issued"),
                    values: points("points_issued"),
                },
                Series {
                    name: text(cx, "dashboard.points_redeemed"),
                    values: points("points_redeemed"),
                },
            ],
            style: Style::Bars,
            decimals: 0,
        },
    );
    let nps_distribution = score_distribution(
        lang,
        "chart-nps-distribution",
        &text(cx, "dashboard.chart_nps_distribution"),
        &text(cx, "dashboard.chart_nps_distribution_desc"),
        &text(cx, "charts.no_data"),
        &answers[1]["total"]["distribution"],
        "nps",
        10,
    );
    let tiers: Vec<Bar> = loyalty["tier_distribution"]
        .as_array()
        .map(|tiers| {
            tiers
                .iter()
                .map(|t| Bar {
                    label: t["name"]
                        .as_str()
                        .map_or_else(|| text(cx, "dashboard.no_tier"), str::to_owned),
                    value: t["members"].as_i64().unwrap_or(0),
                    tone: Tone::Neutral,
                })
                .collect()
        })
        .unwrap_or_default();
    let tiers_chart = charts::distribution(
        lang,
        "chart-tiers",
        &text(cx, "dashboard.chart_tiers"),
        &text(cx, "dashboard.chart_tiers_desc"),
        &text(cx, "charts.no_data"),
        &tiers,
    );
    let mut loyalty = loyalty.clone();
    loyalty["redemption_rate_text"] = json!(figure(lang, &loyalty["redemption_rate"], 1));
    Ok(json!({
        "from": rfc3339(from),
        "to": rfc3339(to),
        "loyalty": loyalty,
        "cards": cards,
        "charts": [nps_chart, points_chart, nps_distribution, tiers_chart],
    }))
}

/// One CX figure now and in the period before: the value, the count and the change.
fn cx_card(
    lang: Locale,
    key: &str,
    now: &Value,
    before: &Value,
    field: &str,
    places: u32,
) -> Value {
    let scale = 10f64.powi(places as i32);
    let (cur, prev) = (number(&now[field]), number(&before[field]));
    let change = match (cur, prev) {
        (Some(c), Some(p)) => Some(((c * scale).round() - (p * scale).round()) / scale),
        _ => None,
    };
    let trend = match change {
        Some(d) if d > 0.0 => "up",
        Some(d) if d < 0.0 => "down",
        Some(_) => "flat",
        None => "none",
    };
    let delta = change.map(|d| {
        let sign = if d > 0.0 { "+" } else { "" };
        format!("{sign}{}", charts::decimal(lang, d, places))
    });
    json!({
        "key": key,
        "value": figure(lang, &now[field], places),
        "responses": now["responses"],
        "previous": figure(lang, &before[field], places),
        "previous_responses": before["responses"],
        "delta": delta,
        "trend": trend,
    })
}

/// A CES card per scale that has answers in either period (the 7-point scale when none has).
fn ces_cards(lang: Locale, now: &Value, before: &Value) -> Vec<Value> {
    let scales = |r: &Value| r["scales"].as_array().cloned().unwrap_or_default();
    let (now, before) = (scales(now), scales(before));
    let mut cards = Vec::new();
    for s in &now {
        let scale = s["scale"].as_i64().unwrap_or(7);
        let prev = before
            .iter()
            .find(|b| b["scale"] == s["scale"])
            .map(|b| b["total"].clone())
            .unwrap_or(Value::Null);
        let answered =
            s["total"]["responses"].as_i64().unwrap_or(0) + prev["responses"].as_i64().unwrap_or(0);
        if answered > 0 {
            let mut card = cx_card(lang, "ces", &s["total"], &prev, "average", 2);
            card["scale"] = json!(scale);
            cards.push(card);
        }
    }
    if cards.is_empty() {
        let mut card = cx_card(lang, "ces", &Value::Null, &Value::Null, "average", 2);
        card["scale"] = json!(7);
        cards.push(card);
    }
    cards
}

/// The distribution of a kind's scores, each bar coloured by what the score means.
#[allow(clippy::too_many_arguments)]
pub(super) fn score_distribution(
    lang: Locale,
    id: &str,
    title: &str,
    desc: &str,
    empty: &str,
    distribution: &Value,
    kind: &str,
    top: i64,
) -> String {
    let bars: Vec<Bar> = distribution
        .as_array()
        .map(|d| {
            d.iter()
                .map(|s| {
                    let score = s["score"].as_i64().unwrap_or(0);
                    Bar {
                        label: lang.number(score),
                        value: s["count"].as_i64().unwrap_or(0),
                        tone: tone(kind, score, top),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    charts::distribution(lang, id, title, desc, empty, &bars)
}

/// What a score means: NPS 0–6 detractor, 7–8 passive; CSAT 1–2 bad, 3 neutral; CES the
/// bottom two points hard, the top two easy.
fn tone(kind: &str, score: i64, top: i64) -> Tone {
    match kind {
        "nps" => match score {
            0..=6 => Tone::Bad,
            7 | 8 => Tone::Mid,
            _ => Tone::Good,
        },
        _ if score <= 2 => Tone::Bad,
        _ if score >= top - 1 => Tone::Good,
        _ => Tone::Mid,
    }
}

/// A week or month key (`YYYY-MM-DD`) as a date, for the reports' charts.
pub(super) fn key_day(key: &Value) -> Option<chrono::NaiveDate> {
    key.as_str().and_then(parse_day)
}

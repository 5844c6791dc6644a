//! `/admin/reports`: NPS, CSAT, CES, comments, loyalty, retention and recovery as tables and
//! charts, each table also as CSV (`/admin/reports/<name>.csv` with the same filters, the API's
//! own CSV).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::{parse_day, query, report_pages, text};
use crate::admin::api::with_query;
use crate::admin::form::{Errors, to_ascii_digits};
use crate::admin::render::{page, page_with_status};
use crate::admin::{Console, ConsoleError, ConsoleResult, Form};
use crate::auth::Permission;

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/reports", web::get().to(index))
        .route("/reports/{name}", web::get().to(report));
}

/// The reports the console shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Report {
    Nps,
    Csat,
    Ces,
    Comments,
    Loyalty,
    Retention,
    Recovery,
}

impl Report {
    const ALL: [Report; 7] = [
        Report::Nps,
        Report::Csat,
        Report::Ces,
        Report::Comments,
        Report::Loyalty,
        Report::Retention,
        Report::Recovery,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Report::Nps => "nps",
            Report::Csat => "csat",
            Report::Ces => "ces",
            Report::Comments => "comments",
            Report::Loyalty => "loyalty",
            Report::Retention => "retention",
            Report::Recovery => "recovery",
        }
    }

    fn parse(s: &str) -> Option<Report> {
        Report::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The filters the page offers, as the console names them.
    fn params(self) -> &'static [&'static str] {
        match self {
            Report::Nps | Report::Csat => &["from", "to", "group_by"],
            Report::Ces => &["from", "to", "group_by", "scale"],
            Report::Comments => &["kind", "min_score", "max_score", "from", "to", "cursor"],
            Report::Loyalty | Report::Recovery => &["from", "to"],
            Report::Retention => &["period_days"],
        }
    }

    fn template(self) -> &'static str {
        match self {
            Report::Nps | Report::Csat | Report::Ces => "insight/report_cx.html",
            Report::Comments => "insight/report_comments.html",
            Report::Loyalty => "insight/report_loyalty.html",
            Report::Retention => "insight/report_retention.html",
            Report::Recovery => "insight/report_recovery.html",
        }
    }
}

/// The tabs above every report.
fn tabs(current: Option<Report>) -> Value {
    Value::Array(
        Report::ALL
            .iter()
            .map(|r| {
                json!({"name": r.as_str(), "href": format!("/admin/reports/{}", r.as_str()),
                       "current": Some(*r) == current})
            })
            .collect(),
    )
}

/// `GET /admin/reports`.
async fn index(cx: Console) -> ConsoleResult {
    cx.require(Permission::REPORTS_READ)?;
    page(&cx, "insight/reports.html", json!({"tabs": tabs(None)}))
}

/// The console's filters of `report` that were given: `(name, value)`.
fn given(report: Report, q: &Form) -> Vec<(&'static str, String)> {
    report
        .params()
        .iter()
        .filter_map(|p| q.opt(p).map(|v| (*p, v.to_owned())))
        .collect()
}

/// The API's query for the console's filters. Dates are whole UTC days: `from` from the start
/// of its day, `to` to the end of its day.
fn api_path(
    cx: &Console,
    report: Report,
    filters: &[(&'static str, String)],
    errors: &mut Errors,
) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (name, value) in filters {
        let value = match *name {
            // `to` runs to the end of its day (a date at chrono's limit has no next day).
            "from" | "to" => match parse_day(value).and_then(|d| match *name {
                "to" => d.succ_opt(),
                _ => Some(d),
            }) {
                Some(d) => format!("{}T00:00:00Z", d.format("%Y-%m-%d")),
                None => {
                    errors.add(name, text(cx, "reports.bad_date"));
                    continue;
                }
            },
            "min_score" | "max_score" | "period_days" | "scale" => to_ascii_digits(value),
            _ => value.clone(),
        };
        pairs.push((name, value));
    }
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    with_query(&format!("/v1/reports/{}", report.as_str()), &borrowed)
}

/// `GET /admin/reports/{name}` and `GET /admin/reports/{name}.csv`.
async fn report(cx: Console, name: web::Path<String>) -> ConsoleResult {
    cx.require(Permission::REPORTS_READ)?;
    let name = name.into_inner();
    if let Some(base) = name.strip_suffix(".csv") {
        return csv(cx, base).await;
    }
    let report = Report::parse(&name).ok_or(ConsoleError::NotFound)?;
    let q = query(&cx);
    let filters = given(report, &q);
    let mut errors = Errors::default();
    let path = api_path(&cx, report, &filters, &mut errors);
    let borrowed: Vec<(&str, &str)> = filters.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut data = json!({
        "report": report.as_str(),
        "tabs": tabs(Some(report)),
        "values": q.values(),
        "csv": with_query(&format!("/admin/reports/{}.csv", report.as_str()), &borrowed),
    });
    let mut status = StatusCode::OK;
    if errors.is_empty() {
        let api = cx.api()?;
        match api.get(&path).await {
            Ok(answer) => data["result"] = report_pages::build(&cx, report, &q, &answer),
            Err(e) => {
                let failure = e.into_form_failure()?;
                errors = Errors::from_failure(&failure, |_| None);
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
        }
    } else {
        status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    data["errors"] = errors.to_value();
    page_with_status(&cx, status, report.template(), data)
}

/// The report as the API writes it in CSV, to download.
async fn csv(cx: Console, name: &str) -> ConsoleResult {
    let report = Report::parse(name).ok_or(ConsoleError::NotFound)?;
    let filters = given(report, &query(&cx));
    let mut errors = Errors::default();
    let path = api_path(&cx, report, &filters, &mut errors);
    if !errors.is_empty() {
        return Err(ConsoleError::BadForm(text(&cx, "reports.bad_date")));
    }
    let body = cx.api()?.csv(&path).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"patron-{}.csv\"", report.as_str()),
        ))
        .body(body))
}

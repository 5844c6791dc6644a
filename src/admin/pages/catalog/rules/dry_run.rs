//! The dry run on the rules page: what a basket would earn for a customer, from
//! `POST /v1/purchases/preview` (the earning logic of a real purchase; nothing is recorded).
//! The API lets only callers who may record purchases preview one, so the form needs that too.

use actix_web::http::StatusCode;
use actix_web::web;
use chrono::SecondsFormat;
use serde_json::{Value, json};

use super::rules_page;
use crate::admin::form::Errors;
use crate::admin::pages::catalog::{number, required_number};
use crate::admin::{Console, ConsoleResult, Form, i18n};
use crate::auth::Permission;
use crate::messages::locale::Locale;

/// Rows of basket lines the form offers.
pub const LINE_ROWS: usize = 5;

/// The basket's lines: the rows with anything typed, and the form row each one came from.
fn lines(form: &Form, lang: Locale, errors: &mut Errors) -> (Vec<Value>, Vec<usize>) {
    let mut lines = Vec::new();
    let mut rows = Vec::new();
    for i in 0..LINE_ROWS {
        let name = |f: &str| format!("lines[{i}].{f}");
        let (sku, category) = (form.opt(&name("sku")), form.opt(&name("category")));
        if sku.is_none() && category.is_none() && form.opt(&name("unit_price_minor")).is_none() {
            continue;
        }
        let quantity = number(form, &name("quantity"), errors, lang).unwrap_or(1);
        let price = required_number(form, &name("unit_price_minor"), errors, lang);
        lines.push(json!({
            "sku": sku.unwrap_or_default(),
            "category": category,
            "quantity": quantity,
            "unit_price_minor": price,
        }));
        rows.push(i);
    }
    (lines, rows)
}

/// The preview request of the form: now, in the program's currency; the total is the lines' sum
/// when left empty.
fn request(
    form: &Form,
    lang: Locale,
    currency: &str,
    now: &str,
    errors: &mut Errors,
) -> (Value, Vec<usize>) {
    let (lines, rows) = lines(form, lang, errors);
    // Checked: typed numbers the API would accept one by one can still overflow together.
    let sum = lines.iter().try_fold(0_i64, |acc, l| {
        let quantity = l["quantity"].as_i64().unwrap_or(0);
        quantity
            .checked_mul(l["unit_price_minor"].as_i64().unwrap_or(0))
            .and_then(|amount| acc.checked_add(amount))
    });
    let total = match number(form, "total_minor", errors, lang) {
        Some(total) => Some(total),
        None if !lines.is_empty() => {
            if sum.is_none() {
                errors.add("total_minor", i18n::text(lang, "catalog.too_large"));
            }
            sum
        }
        None => {
            if form.opt("total_minor").is_none() {
                errors.add("total_minor", i18n::text(lang, "catalog.required"));
            }
            None
        }
    };
    let text = |name: &str| form.opt(name).map(|s| json!(s)).unwrap_or(Value::Null);
    let body = json!({
        "external_id": "console-dry-run",
        "customer_id": text("customer_id"),
        "customer_external_id": text("customer_external_id"),
        "store_id": text("store_id"),
        "channel": form.get("channel"),
        "occurred_at": now,
        "currency": currency,
        "total_minor": total,
        "lines": lines,
    });
    (body, rows)
}

/// `lines[2].sku` of the request as the form row it came from (`lines[4].sku`).
fn form_field(field: &str, rows: &[usize]) -> Option<String> {
    let rest = field.strip_prefix("lines[")?;
    let (index, tail) = rest.split_once(']')?;
    let row = rows.get(index.parse::<usize>().ok()?)?;
    Some(format!("lines[{row}]{tail}"))
}

/// A breakdown item's rule in words: the base rate, a tier, or a rule's name.
fn rule_label(rule: &str, lang: Locale) -> String {
    match rule.strip_prefix("tier:") {
        _ if rule == "base" => i18n::text(lang, "rules.dry_base"),
        Some(tier) => i18n::text(lang, "rules.dry_tier").replace("{name}", tier),
        None => rule.strip_prefix("rule:").unwrap_or(rule).to_owned(),
    }
}

/// `POST /admin/rules/dry-run`: the rules page with the basket's points.
pub async fn run(cx: Console, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::PROGRAM_READ)?;
    cx.require(Permission::PURCHASES_PREVIEW)?;
    let form = cx.form(payload).await?;
    let api = cx.api()?;
    let program = api.get("/v1/program").await?;
    let currency = program["currency"].as_str().unwrap_or_default();
    let now = cx
        .state
        .clock
        .now()
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut errors = Errors::default();
    let (body, rows) = request(&form, cx.lang, currency, &now, &mut errors);
    let values = form.values();
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    if !errors.is_empty() {
        let data = json!({"dry_values": values, "dry_errors": errors.to_value()});
        return rules_page(&cx, &api, invalid, data).await;
    }
    match api.post("/v1/purchases/preview", &body).await {
        Ok(preview) => {
            let mut points = preview["points"].clone();
            for item in points["breakdown"].as_array_mut().into_iter().flatten() {
                let label = rule_label(item["rule"].as_str().unwrap_or_default(), cx.lang);
                item["label"] = json!(label);
            }
            let data = json!({"dry_values": values, "dry_result": points,
                              "dry_total": body["total_minor"]});
            rules_page(&cx, &api, StatusCode::OK, data).await
        }
        Err(e) => {
            let failure = e.into_form_failure()?;
            let errors = Errors::from_failure(&failure, |f| form_field(f, &rows));
            let data = json!({"dry_values": values, "dry_errors": errors.to_value()});
            rules_page(&cx, &api, invalid, data).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_rows_are_skipped_and_problems_find_their_row() {
        let form = Form::parse(
            "customer_id=c1&channel=store&lines%5B1%5D.sku=A&lines%5B1%5D.unit_price_minor=250&lines%5B1%5D.quantity=2&lines%5B3%5D.sku=B&lines%5B3%5D.unit_price_minor=%DB%B1%DB%B0%DB%B0"
                .as_bytes(),
        );
        let mut errors = Errors::default();
        let (body, rows) = request(
            &form,
            Locale::En,
            "USD",
            "2026-01-01T00:00:00Z",
            &mut errors,
        );
        assert!(errors.is_empty(), "{:?}", errors.to_value());
        assert_eq!(rows, vec![1, 3]);
        assert_eq!(body["total_minor"], 600);
        assert_eq!(body["lines"][1]["quantity"], 1);
        assert_eq!(body["customer_external_id"], Value::Null);
        assert_eq!(
            form_field("lines[1].sku", &rows).as_deref(),
            Some("lines[3].sku")
        );
        assert_eq!(form_field("total_minor", &rows), None);
        assert_eq!(rule_label("tier:Gold", Locale::En), "Tier Gold");
    }
}

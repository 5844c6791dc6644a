//! `/admin/program`: the program settings (`GET/PUT /v1/program`) as one form, every field
//! explained. A PUT replaces the whole document, so the form holds every field of it.

use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Map, Value, json};

use super::{required_number, shown};
use crate::admin::api::Api;
use crate::admin::form::Errors;
use crate::admin::render::{self, page_with_status};
use crate::admin::{Console, ConsoleError, ConsoleResult, Form, i18n};
use crate::auth::Permission;
use crate::messages::locale::Locale;

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/program", web::get().to(show))
        .route("/program", web::post().to(save));
}

/// How a field is typed into the form and sent to the API.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A whole number.
    Int,
    /// A whole number of minor units of the program's currency.
    Money,
    /// One line of text.
    Text,
    /// A checkbox.
    Bool,
    /// One of these values.
    Choice(&'static [&'static str]),
    /// A reward's id, or none.
    Reward,
    /// A survey's id, or none.
    Survey,
}

use Kind::{Bool, Choice, Int, Money, Reward, Survey, Text};

/// The checkbox that turns quiet hours on: off sends `quiet_hours: null`.
const QUIET: &str = "contact_policy.quiet_hours";

/// Every field of the program document, by section, named by its JSON path.
const SECTIONS: &[(&str, &[(&str, Kind)])] = &[
    (
        "earning",
        &[
            ("currency", Text),
            ("earn_rate.spend_minor", Money),
            ("earn_rate.points", Int),
            ("point_value_minor", Money),
            ("pending_days", Int),
            (
                "return_policy",
                Choice(&["within_balance", "allow_negative"]),
            ),
            ("purchase_backdate_days", Int),
            ("event_backdate_days", Int),
        ],
    ),
    (
        "expiry",
        &[("expiry_months", Int), ("expiry_warning_days", Int)],
    ),
    (
        "tiers",
        &[("tier_window_months", Int), ("tier_grace_days", Int)],
    ),
    (
        "locale",
        &[
            ("default_locale", Choice(&["en", "fa", "ar"])),
            ("time_zone", Text),
        ],
    ),
    (
        "referral",
        &[
            ("referral.referrer_points", Int),
            ("referral.referred_points", Int),
        ],
    ),
    (
        "birthday",
        &[
            ("birthday.enabled", Bool),
            ("birthday.bonus_points", Int),
            ("birthday.reward_id", Reward),
            ("birthday.days_before", Int),
            ("birthday.local_hour", Int),
            ("birthday.feb29", Choice(&["feb28", "mar1"])),
            ("birthday.min_days_known", Int),
            ("birthday.valid_days", Int),
        ],
    ),
    (
        "follow_up",
        &[
            ("follow_up.enabled", Bool),
            ("follow_up.delay_hours", Int),
            ("follow_up.survey_id", Survey),
        ],
    ),
    (
        "contact_policy",
        &[
            (QUIET, Bool),
            ("contact_policy.quiet_hours.start_hour", Int),
            ("contact_policy.quiet_hours.end_hour", Int),
            ("contact_policy.weekly_marketing_cap", Int),
            ("contact_policy.survey_cooldown_days", Int),
        ],
    ),
    (
        "recovery",
        &[
            ("recovery.apology_points", Int),
            ("recovery.max_apologies", Int),
            ("recovery.window_days", Int),
            ("recovery.send_message", Bool),
        ],
    ),
    (
        "segments",
        &[
            ("segments.new_days", Int),
            ("segments.recent_days", Int),
            ("segments.active_days", Int),
            ("segments.lost_days", Int),
            ("segments.champion_purchases", Int),
            ("segments.champion_spent_minor", Money),
            ("segments.loyal_purchases", Int),
            ("segments.lapsed_days", Int),
        ],
    ),
];

/// Sets `path` (`a.b.c`) in `doc`, making the objects on the way.
fn set(doc: &mut Value, path: &str, value: Value) {
    let mut at = doc;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        let Value::Object(map) = at else { return };
        if parts.peek().is_none() {
            map.insert(part.to_owned(), value);
            return;
        }
        at = map.entry(part).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// The document the form describes; problems with what was typed are noted in `errors`.
fn document(form: &Form, lang: Locale, errors: &mut Errors) -> Value {
    let mut doc = Value::Object(Map::new());
    for (_, fields) in SECTIONS {
        for (path, kind) in fields.iter() {
            if path.starts_with(QUIET) {
                continue;
            }
            let value = match kind {
                Int | Money => required_number(form, path, errors, lang)
                    .map(Value::from)
                    .unwrap_or(Value::Null),
                Text | Choice(_) => json!(form.get(path).trim()),
                Bool => json!(form.checked(path)),
                Reward | Survey => form.opt(path).map(|id| json!(id)).unwrap_or(Value::Null),
            };
            set(&mut doc, path, value);
        }
    }
    let quiet = if form.checked(QUIET) {
        let hour = |name: &str, errors: &mut Errors| {
            required_number(form, &format!("{QUIET}.{name}"), errors, lang)
        };
        json!({"start_hour": hour("start_hour", errors), "end_hour": hour("end_hour", errors)})
    } else {
        // Hours typed while the box is off stay in the form but are not sent.
        Value::Null
    };
    set(&mut doc, QUIET, quiet);
    doc
}

/// The document as form values: `path → text`, ticked checkboxes as `on`.
fn flatten(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Object(map) => {
            if prefix == QUIET {
                out.insert(QUIET.to_owned(), json!("on"));
            }
            for (k, v) in map {
                flatten(&key(k), v, out);
            }
        }
        Value::Bool(true) => {
            out.insert(prefix.to_owned(), json!("on"));
        }
        Value::Number(n) => {
            out.insert(prefix.to_owned(), json!(n.to_string()));
        }
        Value::String(s) => {
            out.insert(prefix.to_owned(), json!(s));
        }
        _ => {}
    }
}

/// Options of a select of rewards or surveys, keeping a chosen id the list does not show.
fn options(items: &Value, cx: &Console, chosen: Option<&str>) -> Value {
    let mut list: Vec<Value> = items["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| json!({"value": i["id"], "label": shown(&i["name"], cx.lang)}))
        .collect();
    if let Some(id) = chosen.filter(|id| !id.is_empty())
        && !list.iter().any(|o| o["value"] == id)
    {
        list.push(json!({"value": id, "label": id}));
    }
    Value::Array(list)
}

/// The form's sections with each field's label, help and options, in the page's language.
async fn sections(cx: &Console, api: &Api, values: &Value) -> Result<Value, ConsoleError> {
    let rewards = api.get("/v1/rewards?limit=200").await?;
    let surveys = api.get("/v1/surveys?limit=200").await?;
    let currency = values["currency"].as_str().unwrap_or_default();
    let text = |key: String| i18n::text(cx.lang, &key);
    let mut out = Vec::new();
    for (section, fields) in SECTIONS {
        let fields: Vec<Value> = fields
            .iter()
            .map(|(path, kind)| {
                let mut f = json!({
                    "name": path,
                    "label": text(format!("program.f.{path}")),
                    "help": text(format!("program.h.{path}")).replace("{currency}", currency),
                    "extra": {"dir": "ltr"},
                });
                let chosen = values[*path].as_str();
                match kind {
                    Int | Money => {
                        f["kind"] = json!("input");
                        f["extra"]["inputmode"] = json!("numeric");
                    }
                    Text => f["kind"] = json!("input"),
                    Bool => f["kind"] = json!("bool"),
                    Choice(choices) => {
                        f["kind"] = json!("choice");
                        f["options"] = choices
                            .iter()
                            .map(|c| json!({"value": c, "label": text(format!("program.opt.{c}"))}))
                            .collect();
                    }
                    Reward => {
                        f["kind"] = json!("choice");
                        f["options"] = options(&rewards, cx, chosen);
                        f["empty"] = json!(text("program.no_reward".into()));
                    }
                    Survey => {
                        f["kind"] = json!("choice");
                        f["options"] = options(&surveys, cx, chosen);
                        f["empty"] = json!(text("program.no_survey".into()));
                    }
                }
                f
            })
            .collect();
        out.push(json!({
            "id": section,
            "title": text(format!("program.s.{section}")),
            "fields": fields,
        }));
    }
    Ok(Value::Array(out))
}

async fn render(
    cx: &Console,
    api: &Api,
    status: StatusCode,
    values: Value,
    errors: &Errors,
) -> ConsoleResult {
    let sections = sections(cx, api, &values).await?;
    page_with_status(
        cx,
        status,
        "catalog/program.html",
        json!({"sections": sections, "values": values, "errors": errors.to_value()}),
    )
}

/// `GET /admin/program`: the settings; a form to change them for those who may.
async fn show(cx: Console) -> ConsoleResult {
    cx.require(Permission::PROGRAM_READ)?;
    let api = cx.api()?;
    let doc = api.get("/v1/program").await?;
    let mut values = Map::new();
    flatten("", &doc, &mut values);
    render(
        &cx,
        &api,
        StatusCode::OK,
        Value::Object(values),
        &Errors::default(),
    )
    .await
}

/// `POST /admin/program`: replaces the settings with the form's document.
async fn save(cx: Console, payload: web::Payload) -> ConsoleResult {
    cx.require(Permission::PROGRAM_WRITE)?;
    let form = cx.form(payload).await?;
    let api = cx.api()?;
    let mut errors = Errors::default();
    let doc = document(&form, cx.lang, &mut errors);
    if !errors.is_empty() {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render(&cx, &api, status, form.values(), &errors).await;
    }
    match api.put("/v1/program", &doc).await {
        Ok(_) => render::redirect_with("/admin/program", "saved"),
        Err(e) => {
            let failure = e.into_form_failure()?;
            // Problems with a group of fields are shown at the field that decides it.
            let errors = Errors::from_failure(&failure, |field| match field {
                "earn_rate" => Some("earn_rate.points".into()),
                "birthday" => Some("birthday.enabled".into()),
                _ => None,
            });
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&cx, &api, status, form.values(), &errors).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::ProgramSettings;

    fn every_path(value: &Value, prefix: &str, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    every_path(v, &key, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }

    #[test]
    fn the_form_holds_every_field_of_the_program_document_and_explains_it() {
        let mut doc = serde_json::to_value(ProgramSettings::default()).unwrap();
        doc["birthday"]["reward_id"] = json!("r");
        doc["follow_up"]["survey_id"] = json!("s");
        let mut paths = Vec::new();
        every_path(&doc, "", &mut paths);
        let fields: Vec<&str> = SECTIONS
            .iter()
            .flat_map(|(_, f)| f.iter().map(|(p, _)| *p))
            .collect();
        for path in &paths {
            assert!(fields.contains(&path.as_str()), "the form lacks {path}");
        }
        for (section, fields) in SECTIONS {
            assert!(i18n::has(&format!("program.s.{section}")), "{section}");
            for (path, kind) in fields.iter() {
                assert!(
                    i18n::has(&format!("program.f.{path}")),
                    "no label for {path}"
                );
                assert!(
                    i18n::has(&format!("program.h.{path}")),
                    "no help for {path}"
                );
                if let Choice(choices) = kind {
                    for c in choices.iter() {
                        assert!(i18n::has(&format!("program.opt.{c}")), "no text for {c}");
                    }
                }
            }
        }
    }

    fn round_trip(doc: &Value) -> Value {
        let mut values = Map::new();
        flatten("", doc, &mut values);
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(values.iter().map(|(k, v)| (k, v.as_str().unwrap())))
            .finish();
        let form = Form::parse(body.as_bytes());
        let mut errors = Errors::default();
        let rebuilt = document(&form, Locale::En, &mut errors);
        assert!(errors.is_empty(), "{:?}", errors.to_value());
        rebuilt
    }

    #[test]
    fn the_form_of_a_document_sends_the_same_document() {
        let mut doc = serde_json::to_value(ProgramSettings::default()).unwrap();
        doc["birthday"]["reward_id"] = json!("r1");
        assert_eq!(round_trip(&doc), doc);
        doc["contact_policy"]["quiet_hours"] = Value::Null;
        doc["follow_up"]["enabled"] = json!(false);
        assert_eq!(round_trip(&doc), doc);
    }
}

//! Templates (embedded in the binary, rendered with minijinja, HTML-escaped) and the context every
//! page shares: language and direction, the staff member, the CSRF token, the sections their role
//! may open, and what they may do (`can.*`).

use std::sync::LazyLock;

use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use minijinja::value::Kwargs;
use minijinja::{AutoEscape, Environment, State, UndefinedBehavior, Value as Jinja};
use serde_json::{Value, json};

use super::pages;
use super::session::{CSRF_FIELD, Console};
use super::{ConsoleError, ConsoleResult, i18n, nav};
use crate::messages::locale::Locale;

/// Every template: the shared ones here, then each area's.
pub fn templates() -> Vec<(&'static str, &'static str)> {
    let mut all = vec![
        ("layout.html", include_str!("templates/layout.html")),
        ("macros.html", include_str!("templates/macros.html")),
        ("error.html", include_str!("templates/error.html")),
        ("sign_in.html", include_str!("templates/sign_in.html")),
        ("confirm.html", include_str!("templates/confirm.html")),
    ];
    for area in pages::TEMPLATES {
        all.extend_from_slice(area);
    }
    all
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(5_000_000));
    for (name, source) in templates() {
        if let Err(e) = env.add_template(name, source) {
            // A unit test compiles every template, so this only happens to an untested build.
            tracing::error!(template = name, error = %e, "a console template does not compile");
        }
    }
    env.set_formatter(format_value);
    env.add_function("t", t);
    env.add_filter("tv", tv);
    env.add_filter("num", num);
    env.add_filter("money", money);
    env.add_filter("when", when);
    env.add_filter("day", day);
    env
});

/// Prints a value: nothing for none and undefined, HTML-escaped unless marked safe (`/` is left
/// as it is, so URLs read plainly in the page source).
fn format_value(
    out: &mut minijinja::Output,
    state: &mut State,
    value: &Jinja,
) -> Result<(), minijinja::Error> {
    use std::fmt::Write as _;
    if value.is_none() || value.is_undefined() {
        return Ok(());
    }
    let text = value.to_string();
    if value.is_safe() || matches!(state.auto_escape(), AutoEscape::None) {
        out.write_str(&text)?;
        return Ok(());
    }
    for c in text.chars() {
        match c {
            '&' => out.write_str("&amp;")?,
            '<' => out.write_str("&lt;")?,
            '>' => out.write_str("&gt;")?,
            '"' => out.write_str("&quot;")?,
            '\'' => out.write_str("&#x27;")?,
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

fn lang_of(state: &State) -> Locale {
    state
        .lookup("lang")
        .and_then(|l| l.as_str().and_then(Locale::parse))
        .unwrap_or(Locale::En)
}

/// `t("key", name=value…)`: the text in the page's language, placeholders filled.
fn t(state: &State, key: &str, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let mut text = i18n::text(lang_of(state), key);
    for arg in kwargs.args() {
        let value: Jinja = kwargs.get(arg)?;
        let shown = match value.as_i64() {
            Some(n) => lang_of(state).number(n),
            None => value.to_string(),
        };
        text = text.replace(&format!("{{{arg}}}"), &shown);
    }
    Ok(text)
}

/// `value|tv("prefix")`: the text of `prefix.value` (an enum shown in words), else the value.
fn tv(state: &State, value: Jinja, prefix: &str) -> String {
    let raw = value.to_string();
    let key = format!("{prefix}.{raw}");
    if i18n::has(&key) {
        i18n::text(lang_of(state), &key)
    } else {
        raw
    }
}

/// `n|num`: a number in the page's digits.
fn num(state: &State, value: Jinja) -> String {
    match value.as_i64() {
        Some(n) => lang_of(state).number(n),
        None => value.to_string(),
    }
}

/// `minor|money(currency)`: an amount of money.
fn money(state: &State, value: Jinja, currency: &str) -> String {
    match value.as_i64() {
        Some(n) => lang_of(state).money(n, currency),
        None => String::new(),
    }
}

fn parse_time(value: &Jinja) -> Option<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// `time|when`: an RFC 3339 time as the date and `HH:MM` (UTC) in the page's calendar and digits.
fn when(state: &State, value: Jinja) -> String {
    let lang = lang_of(state);
    match parse_time(&value) {
        Some(t) => format!(
            "{} {}",
            lang.date(t.date_naive()),
            lang.localize_digits(&t.format("%H:%M").to_string())
        ),
        None => value.as_str().map(str::to_owned).unwrap_or_default(),
    }
}

/// `time|day`: an RFC 3339 time or a `YYYY-MM-DD` date as a date in the page's calendar.
fn day(state: &State, value: Jinja) -> String {
    let lang = lang_of(state);
    if let Some(t) = parse_time(&value) {
        return lang.date(t.date_naive());
    }
    match value
        .as_str()
        .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    {
        Some(d) => lang.date(d),
        None => value.as_str().map(str::to_owned).unwrap_or_default(),
    }
}

/// Renders `template` with `data` for `lang`, without a signed-in staff member (sign-in, errors).
pub fn render_bare(template: &str, lang: Locale, mut data: Value) -> Result<String, ConsoleError> {
    if let Value::Object(map) = &mut data {
        map.entry("lang").or_insert(json!(lang.as_str()));
        map.entry("dir").or_insert(json!(lang.dir()));
        map.entry("languages").or_insert(languages());
    }
    let tmpl = ENV
        .get_template(template)
        .map_err(|e| ConsoleError::internal(format!("template {template}: {e}")))?;
    tmpl.render(Jinja::from(minijinja::value::Serde(&data)))
        .map_err(|e| ConsoleError::internal(format!("rendering {template}: {e:#}")))
}

fn languages() -> Value {
    json!([
        {"code": "en", "name": "English"},
        {"code": "fa", "name": "فارسی"},
        {"code": "ar", "name": "العربية"},
    ])
}

/// A page as `200 OK`.
pub fn page(cx: &Console, template: &str, data: Value) -> ConsoleResult {
    page_with_status(cx, actix_web::http::StatusCode::OK, template, data)
}

/// A page with a status (`422` for a form shown again with its problems).
pub fn page_with_status(
    cx: &Console,
    status: actix_web::http::StatusCode,
    template: &str,
    mut data: Value,
) -> ConsoleResult {
    let flash = flash_of(&cx.path);
    if let Value::Object(map) = &mut data {
        map.insert(
            "staff".into(),
            json!({"id": cx.staff_id, "email": cx.email, "role": cx.role}),
        );
        map.insert("csrf".into(), json!(cx.csrf));
        map.insert("csrf_field".into(), json!(CSRF_FIELD));
        map.insert("nav".into(), nav::sections(cx.role, &cx.path));
        map.insert("can".into(), nav::capabilities(cx.role));
        map.insert("path".into(), json!(cx.path));
        map.insert("return_to".into(), json!(cx.return_to));
        map.entry("flash").or_insert(json!(flash));
    }
    let html = render_bare(template, cx.lang, data)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// The `flash` query parameter of a page reached by a redirect after a change: the text key
/// `flash.<name>` (only names that have a text are shown, so a link cannot inject words).
fn flash_of(path: &str) -> Option<String> {
    let query = path.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "flash")
        .map(|(_, v)| format!("flash.{v}"))
        .filter(|key| i18n::has(key))
}

/// A page asking to confirm a destructive action: a button posting `fields` to `action`, and a
/// way `back`. Works without JavaScript.
pub fn confirm(
    cx: &Console,
    title: &str,
    message: &str,
    button: &str,
    action: &str,
    fields: Value,
    back: &str,
) -> ConsoleResult {
    page(
        cx,
        "confirm.html",
        json!({"title": title, "message": message, "button": button, "action": action,
               "fields": fields, "back": back}),
    )
}

/// `303 See Other` to `to` (after a form was handled).
pub fn redirect(to: &str) -> ConsoleResult {
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, to.to_owned()))
        .finish())
}

/// `303 See Other` to `to`, showing the text `flash.<flash>` there.
pub fn redirect_with(to: &str, flash: &str) -> ConsoleResult {
    let sep = if to.contains('?') { '&' } else { '?' };
    redirect(&format!("{to}{sep}flash={flash}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let mut env = Environment::new();
        for (name, source) in templates() {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name}: {e:#}"));
        }
    }
}

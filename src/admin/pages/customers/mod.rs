//! Console pages: customers (search, the 360° view and its tabs, points adjustments, redemptions
//! and codes), support tickets and recovery cases.

mod actions;
mod profile;
mod recovery;
mod search;
mod tabs;
mod tickets;

use actix_web::web;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin::ConsoleError;
use crate::admin::api::{Api, seg};

/// This area's templates.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "customers/_header.html",
        include_str!("../../templates/customers/_header.html"),
    ),
    (
        "customers/_timeline.html",
        include_str!("../../templates/customers/_timeline.html"),
    ),
    (
        "customers/_tickets.html",
        include_str!("../../templates/customers/_tickets.html"),
    ),
    (
        "customers/_cases.html",
        include_str!("../../templates/customers/_cases.html"),
    ),
    (
        "customers/list.html",
        include_str!("../../templates/customers/list.html"),
    ),
    (
        "customers/profile.html",
        include_str!("../../templates/customers/profile.html"),
    ),
    (
        "customers/timeline.html",
        include_str!("../../templates/customers/timeline.html"),
    ),
    (
        "customers/points.html",
        include_str!("../../templates/customers/points.html"),
    ),
    (
        "customers/purchases.html",
        include_str!("../../templates/customers/purchases.html"),
    ),
    (
        "customers/codes.html",
        include_str!("../../templates/customers/codes.html"),
    ),
    (
        "customers/code.html",
        include_str!("../../templates/customers/code.html"),
    ),
    (
        "customers/tickets.html",
        include_str!("../../templates/customers/tickets.html"),
    ),
    (
        "customers/feedback.html",
        include_str!("../../templates/customers/feedback.html"),
    ),
    (
        "customers/ticket_list.html",
        include_str!("../../templates/customers/ticket_list.html"),
    ),
    (
        "customers/ticket.html",
        include_str!("../../templates/customers/ticket.html"),
    ),
    (
        "customers/recovery_list.html",
        include_str!("../../templates/customers/recovery_list.html"),
    ),
    (
        "customers/recovery_case.html",
        include_str!("../../templates/customers/recovery_case.html"),
    ),
];

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/customers", web::get().to(search::list))
        .route("/customers/{id}", web::get().to(profile::overview))
        .route("/customers/{id}/timeline", web::get().to(tabs::timeline))
        .route("/customers/{id}/points", web::get().to(tabs::points))
        .route("/customers/{id}/purchases", web::get().to(tabs::purchases))
        .route("/customers/{id}/codes", web::get().to(tabs::codes))
        .route("/customers/{id}/tickets", web::get().to(tabs::tickets))
        .route("/customers/{id}/feedback", web::get().to(tabs::feedback))
        .route("/customers/{id}/adjust", web::post().to(actions::adjust))
        .route("/customers/{id}/redeem", web::post().to(actions::redeem))
        .route("/customers/{id}/codes/{code}", web::get().to(actions::code))
        .route(
            "/customers/{id}/codes/{code}/cancel",
            web::get().to(actions::confirm_cancel),
        )
        .route(
            "/customers/{id}/codes/{code}/cancel",
            web::post().to(actions::cancel),
        )
        .route("/tickets", web::get().to(tickets::list))
        .route("/tickets/{id}", web::get().to(tickets::show))
        .route("/tickets/{id}/resolve", web::post().to(tickets::resolve))
        .route("/tickets/{id}/reopen", web::post().to(tickets::reopen))
        .route("/recovery", web::get().to(recovery::list))
        .route("/recovery/{id}", web::get().to(recovery::show))
        .route("/recovery/{id}/resolve", web::post().to(recovery::resolve));
}

/// A path segment of a console address, percent-encoded but for the characters that need none
/// (`-`, `_`, `.`, `~`), so ids and codes read plainly in the address bar.
fn part(s: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, KEEP).to_string()
}

/// The customer a tab belongs to, named, for its heading.
async fn customer(api: &Api, id: &str) -> Result<Value, ConsoleError> {
    Ok(named(api.get(&format!("/v1/customers/{}", seg(id))).await?))
}

/// Rows per page of the console's lists.
const PAGE: &str = "25";

/// The cursor of a list page (`?cursor=`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    cursor: String,
}

use crate::admin::api::pager;
use crate::admin::i18n::in_language as localized;

/// What to call a customer: their name, else the first identifier they have.
fn display_name(c: &Value) -> String {
    let name = [c["first_name"].as_str(), c["last_name"].as_str()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !name.trim().is_empty() {
        return name;
    }
    ["email", "phone", "external_id", "id"]
        .iter()
        .find_map(|k| c[*k].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The customer with a `name` to show.
fn named(mut c: Value) -> Value {
    let name = display_name(&c);
    if let Value::Object(map) = &mut c {
        map.insert("name".into(), json!(name));
    }
    c
}

/// The `data` of a list answer, each item passed through `f`.
fn rows(page: &Value, f: impl Fn(Value) -> Value) -> Vec<Value> {
    page["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(f)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::locale::Locale;

    #[test]
    fn names_texts_and_pages() {
        assert_eq!(
            display_name(&json!({"first_name": "Sara", "last_name": "Ahmadi", "email": "s@x.io"})),
            "Sara Ahmadi"
        );
        assert_eq!(
            display_name(&json!({"email": "s@x.io", "id": "c1"})),
            "s@x.io"
        );
        let text = json!({"en": "Gold", "fa": "طلایی"});
        assert_eq!(localized(&text, Locale::Fa), "طلایی");
        assert_eq!(localized(&text, Locale::Ar), "Gold");
        assert_eq!(localized(&json!("Silver"), Locale::Fa), "Silver");
        let p = pager("/admin/tickets", &[("status", "open")], "c1", &json!("c2"));
        assert_eq!(p.first.as_deref(), Some("/admin/tickets?status=open"));
        assert_eq!(
            p.next.as_deref(),
            Some("/admin/tickets?status=open&cursor=c2")
        );
        assert_eq!(part("0193-ab_c.d~"), "0193-ab_c.d~");
        assert_eq!(part("a/b c"), "a%2Fb%20c");
        let p = pager("/admin/tickets", &[], "", &Value::Null);
        assert!(p.first.is_none() && p.next.is_none());
    }
}

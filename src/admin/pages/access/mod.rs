//! Console pages: access — the staff member's own account, staff members and API keys (admin only).

mod account;
mod api_keys;
mod staff;

use actix_web::web;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin::api::{self, Api};
use crate::admin::i18n;
use crate::admin::{Console, ConsoleError};
use crate::auth::Role;

/// This area's templates.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "access/account.html",
        include_str!("../../templates/access/account.html"),
    ),
    (
        "access/staff.html",
        include_str!("../../templates/access/staff.html"),
    ),
    (
        "access/staff_new.html",
        include_str!("../../templates/access/staff_new.html"),
    ),
    (
        "access/api_keys.html",
        include_str!("../../templates/access/api_keys.html"),
    ),
    (
        "access/api_key_new.html",
        include_str!("../../templates/access/api_key_new.html"),
    ),
    (
        "access/api_key_created.html",
        include_str!("../../templates/access/api_key_created.html"),
    ),
];

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(account::show))
        .route(
            "/account/password",
            web::post().to(account::change_password),
        )
        .route("/staff", web::get().to(staff::list))
        .route("/staff", web::post().to(staff::create))
        .route("/staff/new", web::get().to(staff::new))
        .route("/staff/{id}/role", web::post().to(staff::change_role))
        .route(
            "/staff/{id}/deactivate",
            web::get().to(staff::confirm_deactivate),
        )
        .route("/staff/{id}/active", web::post().to(staff::set_active))
        .route("/api-keys", web::get().to(api_keys::list))
        .route("/api-keys", web::post().to(api_keys::create))
        .route("/api-keys/new", web::get().to(api_keys::new))
        .route(
            "/api-keys/{id}/revoke",
            web::get().to(api_keys::confirm_revoke),
        )
        .route("/api-keys/{id}/revoke", web::post().to(api_keys::revoke));
}

/// `?cursor=` of a list page.
#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    cursor: String,
}

const ROLES: [Role; 4] = [Role::Admin, Role::Marketer, Role::Support, Role::Analyst];

/// The roles as select options, in the page's language.
fn role_options(cx: &Console) -> Value {
    Value::Array(
        ROLES
            .iter()
            .map(|r| {
                json!({"value": r.as_str(), "label": i18n::text(cx.lang, &format!("role.{}", r.as_str()))})
            })
            .collect(),
    )
}

/// One page of a list: `(data, next_cursor)`, from `?cursor=` of the page's own URL.
async fn list_page(api: &Api, path: &str, cursor: &str) -> Result<(Value, Value), ConsoleError> {
    let page = api
        .get(&api::with_query(path, &[("cursor", cursor)]))
        .await?;
    Ok((page["data"].clone(), page["next_cursor"].clone()))
}

/// The item with `id` in a paginated list of the API (staff and keys have no single-item read).
async fn find_in(api: &Api, path: &str, id: &str) -> Result<Value, ConsoleError> {
    let mut cursor = String::new();
    // Bounded: 100 pages of 200 is far beyond any staff or key list.
    for _ in 0..100 {
        let page = api
            .get(&api::with_query(
                path,
                &[("limit", "200"), ("cursor", &cursor)],
            ))
            .await?;
        if let Some(item) = page["data"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["id"] == id))
        {
            return Ok(item.clone());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    Err(ConsoleError::NotFound)
}

//! What a role may see in the console: the same permissions the API checks.

use serde_json::{Map, Value};

use crate::auth::{Permission, Role};

/// Every permission a page or button can depend on, by the name templates use (`can.points_write`).
pub const CAPABILITIES: &[(&str, Permission)] = &[
    ("customers_read", Permission::CUSTOMERS_READ),
    ("customers_write", Permission::CUSTOMERS_WRITE),
    ("customers_erase", Permission::CUSTOMERS_ERASE),
    ("program_read", Permission::PROGRAM_READ),
    ("program_write", Permission::PROGRAM_WRITE),
    ("points_read", Permission::POINTS_READ),
    ("points_write", Permission::POINTS_WRITE),
    ("rewards_read", Permission::REWARDS_READ),
    ("rewards_write", Permission::REWARDS_WRITE),
    ("rewards_redeem", Permission::REWARDS_REDEEM),
    ("codes_use", Permission::CODES_USE),
    ("tickets_read", Permission::TICKETS_READ),
    ("tickets_write", Permission::TICKETS_WRITE),
    ("messages_read", Permission::MESSAGES_READ),
    ("templates_read", Permission::TEMPLATES_READ),
    ("templates_write", Permission::TEMPLATES_WRITE),
    ("feedback_write", Permission::FEEDBACK_WRITE),
    ("reports_read", Permission::REPORTS_READ),
    ("recovery_read", Permission::RECOVERY_READ),
    ("recovery_write", Permission::RECOVERY_WRITE),
    ("surveys_read", Permission::SURVEYS_READ),
    ("surveys_write", Permission::SURVEYS_WRITE),
    ("admin", Permission::ADMIN),
];

/// Whether `role` holds `permission` (admins hold every one).
pub fn allows(role: Role, permission: Permission) -> bool {
    role == Role::Admin || permission.roles.contains(&role)
}

/// `{"customers_read": true, …}` for templates.
pub fn capabilities(role: Role) -> Value {
    let mut map = Map::new();
    for (name, permission) in CAPABILITIES {
        map.insert((*name).to_owned(), Value::Bool(allows(role, *permission)));
    }
    Value::Object(map)
}

/// The sections of the console: (text key, path, who may open it).
pub const SECTIONS: &[(&str, &str, Option<Permission>)] = &[
    ("nav.dashboard", "/admin/", None),
    (
        "nav.customers",
        "/admin/customers",
        Some(Permission::CUSTOMERS_READ),
    ),
    (
        "nav.tickets",
        "/admin/tickets",
        Some(Permission::TICKETS_READ),
    ),
    (
        "nav.recovery",
        "/admin/recovery",
        Some(Permission::RECOVERY_READ),
    ),
    (
        "nav.program",
        "/admin/program",
        Some(Permission::PROGRAM_READ),
    ),
    ("nav.tiers", "/admin/tiers", Some(Permission::PROGRAM_READ)),
    ("nav.rules", "/admin/rules", Some(Permission::PROGRAM_READ)),
    (
        "nav.rewards",
        "/admin/rewards",
        Some(Permission::REWARDS_READ),
    ),
    (
        "nav.surveys",
        "/admin/surveys",
        Some(Permission::SURVEYS_READ),
    ),
    (
        "nav.templates",
        "/admin/templates",
        Some(Permission::TEMPLATES_READ),
    ),
    (
        "nav.outbox",
        "/admin/outbox",
        Some(Permission::MESSAGES_READ),
    ),
    ("nav.jobs", "/admin/jobs", Some(Permission::ADMIN)),
    (
        "nav.reports",
        "/admin/reports",
        Some(Permission::REPORTS_READ),
    ),
    ("nav.staff", "/admin/staff", Some(Permission::ADMIN)),
    ("nav.api_keys", "/admin/api-keys", Some(Permission::ADMIN)),
];

/// The sections `role` may open, the one containing `path` marked current.
pub fn sections(role: Role, path: &str) -> Value {
    let current = SECTIONS
        .iter()
        .filter(|(_, href, _)| *href != "/admin/" && path.starts_with(href))
        .map(|(_, href, _)| *href)
        .max_by_key(|href| href.len())
        .unwrap_or(if path == "/admin/" || path == "/admin" {
            "/admin/"
        } else {
            ""
        });
    Value::Array(
        SECTIONS
            .iter()
            .filter(|(_, _, p)| p.is_none_or(|p| allows(role, p)))
            .map(|(key, href, _)| {
                serde_json::json!({ "key": key, "href": href, "current": *href == current })
            })
            .collect(),
    )
}

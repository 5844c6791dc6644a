//! Console pages: the dashboard, reports, surveys, templates, the outbox and jobs.

use actix_web::web;
use serde_json::json;

use crate::admin::render::page;
use crate::admin::{Console, ConsoleResult};

/// This area's templates.
pub const TEMPLATES: &[(&str, &str)] = &[(
    "dashboard.html",
    include_str!("../templates/dashboard.html"),
)];

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(dashboard));
}

/// `GET /admin/`.
async fn dashboard(cx: Console) -> ConsoleResult {
    page(&cx, "dashboard.html", json!({}))
}

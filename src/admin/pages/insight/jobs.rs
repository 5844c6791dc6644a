//! `/admin/jobs` (admins): each scheduled job with its schedule and last run.

use actix_web::web;
use serde_json::json;

use crate::admin::render::page;
use crate::admin::{Console, ConsoleResult, i18n};
use crate::auth::Permission;

/// Registers the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/jobs", web::get().to(list));
}

/// `GET /admin/jobs`.
async fn list(cx: Console) -> ConsoleResult {
    cx.require(Permission::ADMIN)?;
    let mut answer = cx.api()?.get("/v1/admin/jobs").await?;
    if let Some(jobs) = answer["data"].as_array_mut() {
        for job in jobs {
            // What the job does in the page's language; the API's English for a job without one.
            let key = format!("jobs.about.{}", job["name"].as_str().unwrap_or_default());
            if i18n::has(&key) {
                job["description"] = json!(i18n::text(cx.lang, &key));
            }
        }
    }
    page(&cx, "insight/jobs.html", json!({"jobs": answer}))
}

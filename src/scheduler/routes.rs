//! `GET /v1/admin/jobs`: each registered job, its schedule, and its last run.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{JOBS, JobRunRow};
use crate::app::AppState;
use crate::auth::{Caller, Permission};
use crate::db::{self, schema::job_runs};
use crate::error::{ApiError, Problem};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(list_jobs);
}

/// The last run of a job (by any instance).
#[derive(Debug, Serialize, ToSchema)]
pub struct LastRun {
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished; `null` while running (or if the instance stopped mid-run).
    pub finished_at: Option<DateTime<Utc>>,
    /// How long it took, milliseconds.
    pub duration_ms: Option<i64>,
    /// Items it handled.
    pub items: i64,
    /// Items another instance took first.
    pub skipped: i64,
    /// The error it ended with, if any.
    pub error: Option<String>,
}

/// A registered job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    /// Name, as in `patron jobs run NAME` and `scheduler.jobs.<name>`.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Its cron expression in this instance; `null` when off here.
    pub schedule: Option<String>,
    /// Times it has run, across instances.
    pub runs: i64,
    /// The last run, `null` if it never ran.
    pub last_run: Option<LastRun>,
}

/// The jobs list.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobList {
    /// Whether this instance runs the scheduler.
    pub scheduler_enabled: bool,
    /// Every job.
    pub data: Vec<JobView>,
}

/// Every scheduled job with its last run (admins).
#[utoipa::path(tag = "operations", security(("bearer" = [])),
    responses((status = 200, body = JobList), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/admin/jobs")]
async fn list_jobs(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::ADMIN)?;
    let rows: Vec<JobRunRow> = db::run(&state.pool, |c| {
        job_runs::table
            .select(JobRunRow::as_select())
            .load::<JobRunRow>(c)
    })
    .await?;
    let sched = &state.jobs.settings.scheduler;
    let data = JOBS
        .iter()
        .map(|j| {
            let row = rows.iter().find(|r| r.name == j.name);
            JobView {
                name: j.name,
                description: j.description,
                schedule: sched
                    .jobs
                    .get(j.name)
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty()),
                runs: row.map_or(0, |r| r.runs),
                last_run: row.map(|r| LastRun {
                    started_at: r.started_at.and_utc(),
                    finished_at: r.finished_at.map(|t| t.and_utc()),
                    duration_ms: r.duration_ms,
                    items: r.items,
                    skipped: r.skipped,
                    error: r.error.clone(),
                }),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(JobList {
        scheduler_enabled: sched.enabled,
        data,
    }))
}

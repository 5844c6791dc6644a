//! The jobs: a registry by name, a runner that records the last run of each in `job_runs`, and
//! the cron scheduler that `patron serve` starts. Every job claims its work in the database
//! (conditional updates, unique keys), so several instances may run the same job at once.

pub mod routes;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use secrecy::SecretString;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::db::schema::job_runs;
use crate::db::{self, DbConnection, Pool};
pub use crate::points::jobs::JobReport;

/// What a job may use.
#[derive(Clone)]
pub struct JobContext {
    /// Database pool.
    pub pool: Pool,
    /// Application clock.
    pub clock: SharedClock,
    /// Settings of this instance (SMTP, delivery, public URL).
    pub settings: Arc<Settings>,
    /// Key that signs links in messages (unsubscribe, surveys).
    pub secret: Arc<SecretString>,
    /// The pooled SMTP transport of this process (built once from `[smtp]`).
    pub mailer: Arc<crate::messages::mailer::Mailer>,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext").finish_non_exhaustive()
    }
}

/// A running job.
pub type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<JobReport>> + Send>>;

/// A job that can be run by name.
#[derive(Clone, Copy)]
pub struct JobSpec {
    /// Stable name, also the `scheduler.jobs.<name>` config key.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Starts one run.
    pub run: fn(JobContext) -> JobFuture,
}

impl std::fmt::Debug for JobSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Runs a blocking job body on the blocking pool.
pub fn blocking(
    ctx: JobContext,
    body: fn(&Pool, &SharedClock) -> anyhow::Result<JobReport>,
) -> JobFuture {
    Box::pin(async move {
        tokio::task::spawn_blocking(move || body(&ctx.pool, &ctx.clock))
            .await
            .context("job task failed")?
    })
}

/// Runs a blocking job body that needs more of the context (settings, the link key).
pub fn blocking_with_context(
    ctx: JobContext,
    body: fn(&JobContext) -> anyhow::Result<JobReport>,
) -> JobFuture {
    Box::pin(async move {
        tokio::task::spawn_blocking(move || body(&ctx))
            .await
            .context("job task failed")?
    })
}

fn release_pending(ctx: JobContext) -> JobFuture {
    blocking(ctx, crate::points::jobs::release_pending)
}

fn expire_points(ctx: JobContext) -> JobFuture {
    blocking(ctx, crate::points::jobs::expire_points)
}

fn tier_review(ctx: JobContext) -> JobFuture {
    blocking(ctx, crate::tiers::service::review)
}

fn recompute_segments(ctx: JobContext) -> JobFuture {
    blocking(ctx, crate::customers::stats::recompute_segments)
}

fn birthday_offers(ctx: JobContext) -> JobFuture {
    blocking(ctx, crate::offers::birthday::run)
}

fn expiry_warnings(ctx: JobContext) -> JobFuture {
    blocking(ctx, crate::points::warnings::expiry_warnings)
}

fn ticket_follow_ups(ctx: JobContext) -> JobFuture {
    blocking_with_context(ctx, crate::tickets::follow_up::run)
}

fn survey_invitations(ctx: JobContext) -> JobFuture {
    blocking_with_context(ctx, crate::feedback::invitation_jobs::send_due)
}

fn survey_reminders(ctx: JobContext) -> JobFuture {
    blocking_with_context(ctx, crate::feedback::invitation_jobs::remind_due)
}

/// Every registered job.
pub const JOBS: &[JobSpec] = &[
    JobSpec {
        name: "release_pending",
        description: "make pending points available once their return window has passed",
        run: release_pending,
    },
    JobSpec {
        name: "expire_points",
        description: "expire earned points whose lot reached its expiry date (soonest first)",
        run: expire_points,
    },
    JobSpec {
        name: "tier_review",
        description: "downgrade customers who stayed below their tier past the grace period",
        run: tier_review,
    },
    JobSpec {
        name: "recompute_segments",
        description: "move customers whose RFM segment is due to their segment as of now",
        run: recompute_segments,
    },
    JobSpec {
        name: "birthday_offers",
        description: "give customers whose birthday is due at their local hour the gift code, bonus points and message, once a year",
        run: birthday_offers,
    },
    JobSpec {
        name: "expiry_warnings",
        description: "warn customers of points expiring within expiry_warning_days, once per customer and expiry date",
        run: expiry_warnings,
    },
    JobSpec {
        name: "ticket_follow_ups",
        description: "enqueue the follow-up message of each ticket resolution once it is due",
        run: ticket_follow_ups,
    },
    JobSpec {
        name: "survey_invitations",
        description: "send each due survey invitation as a survey_invitation message (suppressed, with the reason, without consent or within the survey cooldown)",
        run: survey_invitations,
    },
    JobSpec {
        name: "survey_reminders",
        description: "send the one survey_reminder of each sent, unanswered, unexpired invitation once its reminder is due",
        run: survey_reminders,
    },
    JobSpec {
        name: "dispatch_outbox",
        description: "send due outbox messages over SMTP (consent, contact policy, retries)",
        run: crate::messages::dispatch::job,
    },
];

/// Finds a job by name.
pub fn find(name: &str) -> Option<&'static JobSpec> {
    JOBS.iter().find(|j| j.name == name)
}

/// The last run of a job, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = job_runs)]
pub struct JobRunRow {
    pub name: String,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub duration_ms: Option<i64>,
    pub items: i64,
    pub skipped: i64,
    pub error: Option<String>,
    pub runs: i64,
}

/// Runs `job` now and records the run in `job_runs` (start, then outcome). Times are the
/// application clock's; the duration is measured on the wall clock.
pub async fn run(ctx: &JobContext, job: &JobSpec) -> anyhow::Result<JobReport> {
    let started_at = ctx.clock.now_naive();
    let name = job.name;
    let pool = ctx.pool.clone();
    db::run(&pool, move |c| mark_started(c, name, started_at))
        .await
        .map_err(|e| anyhow::anyhow!("recording the start of {name}: {e}"))?;
    let wall = std::time::Instant::now();
    let outcome = (job.run)(ctx.clone()).await;
    let duration_ms = i64::try_from(wall.elapsed().as_millis()).unwrap_or(i64::MAX);
    let finished_at = ctx.clock.now_naive();
    let (items, skipped, error) = match &outcome {
        Ok(r) => (r.items, r.skipped, None),
        Err(e) => (0, 0, Some(format!("{e:#}"))),
    };
    if let Some(e) = &error {
        tracing::error!(job = name, error = %e, "job failed");
    } else {
        tracing::info!(job = name, items, skipped, duration_ms, "job ran");
    }
    db::run(&pool, move |c| {
        // Only this run's row: another instance may have started the job again meanwhile.
        diesel::update(
            job_runs::table
                .find(name)
                .filter(job_runs::started_at.eq(started_at)),
        )
        .set((
            job_runs::finished_at.eq(finished_at),
            job_runs::duration_ms.eq(duration_ms),
            job_runs::items.eq(i64::try_from(items).unwrap_or(i64::MAX)),
            job_runs::skipped.eq(i64::try_from(skipped).unwrap_or(i64::MAX)),
            job_runs::error.eq(error.clone()),
        ))
        .execute(c)
    })
    .await
    .map_err(|e| anyhow::anyhow!("recording the end of {name}: {e}"))?;
    outcome
}

/// Upserts the job's row with a new start (one statement, so two instances starting at once
/// both succeed).
fn mark_started(c: &mut DbConnection, name: &'static str, at: NaiveDateTime) -> QueryResult<usize> {
    let row = JobRunRow {
        name: name.to_owned(),
        started_at: at,
        finished_at: None,
        duration_ms: None,
        items: 0,
        skipped: 0,
        error: None,
        runs: 1,
    };
    // ON CONFLICT is backend SQL that diesel's MultiConnection does not render.
    let upsert = diesel::insert_into(job_runs::table)
        .values(row)
        .on_conflict(job_runs::name)
        .do_update()
        .set((
            job_runs::started_at.eq(at),
            job_runs::finished_at.eq(None::<NaiveDateTime>),
            job_runs::runs.eq(job_runs::runs + 1),
        ));
    match c {
        DbConnection::Postgres(pg) => upsert.execute(pg),
        DbConnection::Sqlite(lite) => upsert.execute(lite),
    }
}

/// Starts the cron scheduler with every job whose `scheduler.jobs.<name>` is a non-empty cron
/// expression. Returns the running scheduler (keep it alive), or `None` when disabled.
pub async fn start(ctx: JobContext) -> anyhow::Result<Option<tokio_cron_scheduler::JobScheduler>> {
    use tokio_cron_scheduler::{Job, JobScheduler};
    if !ctx.settings.scheduler.enabled {
        tracing::info!("scheduler disabled (scheduler.enabled = false)");
        return Ok(None);
    }
    // A name that is off ("") is harmless; one with a schedule must be a registered job.
    for (name, cron) in &ctx.settings.scheduler.jobs {
        anyhow::ensure!(
            cron.trim().is_empty() || find(name).is_some(),
            "scheduler.jobs.{name}: no such job (jobs: {})",
            JOBS.iter().map(|j| j.name).collect::<Vec<_>>().join(", ")
        );
    }
    let sched = JobScheduler::new().await?;
    for job in JOBS {
        let cron = ctx
            .settings
            .scheduler
            .jobs
            .get(job.name)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        if cron.is_empty() {
            tracing::info!(job = job.name, "job off (no cron expression)");
            continue;
        }
        let ctx = ctx.clone();
        // One run of a job at a time in this instance: a run that outlasts its interval makes
        // the next tick skip instead of piling up.
        let busy = Arc::new(tokio::sync::Mutex::new(()));
        let scheduled = Job::new_async(cron.as_str(), move |_id, _sched| {
            let ctx = ctx.clone();
            let busy = busy.clone();
            Box::pin(async move {
                let Ok(_turn) = busy.try_lock() else {
                    tracing::debug!(job = job.name, "previous run still going; tick skipped");
                    return;
                };
                // Errors are logged and recorded in job_runs by `run`.
                let _ = run(&ctx, job).await;
            })
        })
        .with_context(|| {
            format!(
                "scheduler.jobs.{} = {cron:?} is not a valid cron expression",
                job.name
            )
        })?;
        sched.add(scheduled).await?;
        tracing::info!(job = job.name, cron = %cron, "job scheduled");
    }
    sched.start().await?;
    Ok(Some(sched))
}

//! Command line: `serve` (default), `migrate`, `staff create`, `api-keys create`, `jobs run`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use crate::app::Application;
use crate::audit::Actor;
use crate::auth::{Role, Scope, passwords};
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::config::Settings;
use crate::{api_keys, db, scheduler, staff, telemetry};

/// Patron: loyalty club and customer profile service.
#[derive(Debug, Parser)]
#[command(name = "patron", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    Staff {
        #[command(subcommand)]
        action: StaffAction,
    },
    /// Manage API keys.
    ApiKeys {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Scheduled jobs.
    Jobs {
        #[command(subcommand)]
        action: JobAction,
    },
}

#[derive(Debug, Subcommand)]
enum StaffAction {
    /// Create a staff member; the password comes from PATRON_PASSWORD or a prompt.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: Role,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyAction {
    /// Create an API key and print it once.
    Create {
        #[arg(long)]
        name: String,
        /// Comma- or space-separated scopes, e.g. customers:read,customers:write
        #[arg(long, num_args = 1.., value_delimiter = ',')]
        scopes: Vec<Scope>,
        #[arg(long)]
        store_id: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum JobAction {
    /// List the registered jobs.
    List,
    /// Run one job now.
    Run { name: String },
}

impl clap::ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        &[Role::Admin, Role::Marketer, Role::Support, Role::Analyst]
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

impl clap::ValueEnum for Scope {
    fn value_variants<'a>() -> &'a [Self] {
        Scope::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load().context("loading configuration")?;
    telemetry::init(&settings.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            let applied = with_conn(&settings, db::migrations::run_pending).await?;
            println!(
                "applied {} migration(s){}",
                applied.len(),
                if applied.is_empty() {
                    String::new()
                } else {
                    format!(": {}", applied.join(", "))
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Staff {
            action: StaffAction::Create { email, role },
        } => {
            let email = crate::values::Email::parse(&email)
                .map_err(|m| anyhow::anyhow!("--email {m}"))?
                .into_inner();
            let password = match std::env::var("PATRON_PASSWORD") {
                Ok(p) if !p.is_empty() => SecretString::from(p),
                _ => SecretString::from(rpassword::prompt_password("Password: ")?),
            };
            passwords::check_new("password", password.expose_secret(), 12)
                .map_err(|e| anyhow::anyhow!("password {}", e.message))?;
            let hash = passwords::hash(password.expose_secret())?;
            let now = SystemClock.now_naive();
            let row = with_conn(&settings, move |c| {
                db::migrations::run_pending(c)?;
                staff::service::create(c, &Actor::System, email, hash, role, now)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })
            .await?;
            println!(
                "created staff member {} ({}, {})",
                row.id, row.email, row.role
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::ApiKeys {
            action:
                ApiKeyAction::Create {
                    name,
                    scopes,
                    store_id,
                },
        } => {
            anyhow::ensure!(!scopes.is_empty(), "--scopes needs at least one scope");
            let now = SystemClock.now_naive();
            let created = with_conn(&settings, move |c| {
                db::migrations::run_pending(c)?;
                Ok(api_keys::service::create(
                    c,
                    &Actor::System,
                    name,
                    &scopes,
                    store_id,
                    now,
                )?)
            })
            .await?;
            println!(
                "created API key {} ({}); store it now, it is not shown again:",
                created.row.id, created.row.scopes
            );
            println!("{}", created.key);
            Ok(ExitCode::SUCCESS)
        }
        Command::Jobs {
            action: JobAction::List,
        } => {
            for job in scheduler::JOBS {
                println!("{:<24} {}", job.name, job.description);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Jobs {
            action: JobAction::Run { name },
        } => match scheduler::find(&name) {
            Some(job) => {
                let ctx = job_context(&settings).await?;
                let report = scheduler::run(&ctx, job).await?;
                println!(
                    "{}: {} item(s), {} skipped",
                    job.name, report.items, report.skipped
                );
                Ok(ExitCode::SUCCESS)
            }
            None => {
                let names: Vec<_> = scheduler::JOBS.iter().map(|j| j.name).collect();
                eprintln!(
                    "unknown job `{name}`; registered jobs: {}",
                    names.join(", ")
                );
                Ok(ExitCode::from(2))
            }
        },
    }
}

async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let host = settings.server.host.clone();
    let app = Application::build(settings, Arc::new(SystemClock)).await?;
    if let Some((email, password)) = &app.bootstrap_password {
        println!("==============================================================");
        println!(" Created the first admin. This password is shown only once:");
        println!("   email:    {email}");
        println!("   password: {password}");
        println!("==============================================================");
    }
    tracing::info!(address = %format!("{host}:{}", app.port()), "Patron is listening");
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

/// A migrated pool and what a job needs, for `patron jobs run`.
async fn job_context(settings: &Settings) -> anyhow::Result<scheduler::JobContext> {
    let pool = db::connect(
        &settings.database.url,
        2,
        Duration::from_secs(settings.database.connect_timeout_secs),
    )?;
    let migrate = pool.clone();
    actix_web::web::block(move || db::migrations::run_pending(&mut *migrate.get()?)).await??;
    let clock: SharedClock = Arc::new(SystemClock);
    Ok(scheduler::JobContext {
        pool,
        clock,
        settings: Arc::new(settings.clone()),
        secret: Arc::new(crate::secrets::jwt_secret(settings)?),
        mailer: Arc::new(crate::messages::mailer::Mailer::new(&settings.smtp)?),
    })
}

async fn with_conn<T: Send + 'static>(
    settings: &Settings,
    f: impl FnOnce(&mut db::DbConnection) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let pool = db::connect(
        &settings.database.url,
        1,
        Duration::from_secs(settings.database.connect_timeout_secs),
    )?;
    actix_web::web::block(move || f(&mut *pool.get()?)).await?
}

//! The application: shared state, the HTTP server with every route, and start-up work.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use secrecy::ExposeSecret;
use utoipa_actix_web::{AppExt, scope};

use crate::auth::passwords::PasswordGate;
use crate::auth::rate_limit::{CredentialThrottle, Limiter};
use crate::auth::tokens::TokenService;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::db::{self, Pool};
use crate::ops::metrics::{self, Metrics};
use crate::ops::{self, OpenApiJson};
use crate::scheduler::{self, JobContext};
use crate::{
    api_keys, auth, customers, error, messages, points, program, purchases, rewards, rules,
    secrets, staff, tiers,
};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What every handler can reach.
pub struct AppState {
    /// Database pool.
    pub pool: Pool,
    /// Application clock.
    pub clock: SharedClock,
    /// Token issuer and verifier.
    pub tokens: TokenService,
    /// Login attempts per IP and per email.
    pub login_limiter: Limiter,
    /// Requests per API key.
    pub api_key_limiter: Limiter,
    /// Failed credentials per client address.
    pub credential_throttle: CredentialThrottle,
    /// Bounded argon2 work.
    pub passwords: PasswordGate,
    /// What jobs use (settings, signing key); handlers reach the settings through it too.
    pub jobs: JobContext,
    /// How the staff console calls this instance's API.
    pub console: crate::admin::api::Loopback,
}

/// A built application, bound to its port but not yet serving.
pub struct Application {
    port: u16,
    server: Server,
    /// The generated password of an admin created by this start, to print once.
    pub bootstrap_password: Option<(String, String)>,
    /// The pool, for tests and tools.
    pub pool: Pool,
    /// What jobs run with, for tests and tools (`scheduler::run(&app.jobs, job)`).
    pub jobs: JobContext,
    /// The cron scheduler, while it runs (`scheduler.enabled`).
    scheduler: Option<tokio_cron_scheduler::JobScheduler>,
}

impl Application {
    /// Connects, migrates, seeds the first admin, and binds the server.
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let pool = db::connect(
            &settings.database.url,
            settings.database.pool_size,
            Duration::from_secs(settings.database.connect_timeout_secs),
        )?;
        let secret = secrets::jwt_secret(&settings)?;
        let migrate_pool = pool.clone();
        web::block(move || -> anyhow::Result<_> {
            db::migrations::run_pending(&mut *migrate_pool.get()?)
        })
        .await??;
        pool.start_cache_polling(Duration::from_millis(
            settings.database.cache_refresh_ms.clamp(100, 900),
        ))?;
        let passwords = PasswordGate::new(
            settings.auth.password_hash_concurrency,
            Duration::from_millis(settings.auth.password_hash_wait_ms),
        );
        let bootstrap_password = bootstrap_admin(&settings, &pool, &clock, &passwords).await?;
        let jobs = JobContext {
            pool: pool.clone(),
            clock: clock.clone(),
            settings: std::sync::Arc::new(settings.clone()),
            secret: std::sync::Arc::new(secret.clone()),
            mailer: std::sync::Arc::new(messages::mailer::Mailer::new(&settings.smtp)?),
        };

        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        let port = listener.local_addr()?.port();
        let console = crate::admin::api::Loopback::new(listener.local_addr()?)?;
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            clock,
            tokens: TokenService::new(
                secret.expose_secret().as_bytes(),
                settings.auth.issuer.clone(),
                settings.auth.staff_token_ttl_secs,
                settings.auth.customer_token_ttl_secs,
            ),
            login_limiter: Limiter::per_minute(settings.auth.login_attempts_per_minute),
            api_key_limiter: Limiter::per_second(settings.auth.api_key_requests_per_second),
            credential_throttle: CredentialThrottle::per_minute(
                settings.auth.failed_credentials_per_minute,
            ),
            passwords: passwords.clone(),
            jobs: jobs.clone(),
            console,
        });
        let metrics = web::Data::new(Metrics::new(pool.statements())?);
        let mut server = HttpServer::new(move || {
            let (app, api) = App::new()
                .into_utoipa_app()
                .configure(ops::config)
                .configure(messages::unsubscribe::config)
                .configure(crate::feedback::page::config)
                .service(
                    scope::scope("/v1")
                        .configure(auth::routes::config)
                        .configure(staff::routes::config)
                        .configure(api_keys::routes::config)
                        .configure(customers::me_routes::config)
                        .configure(crate::offers::routes::config)
                        .configure(customers::routes::config)
                        .configure(customers::privacy::config)
                        .configure(customers::profile::config)
                        .configure(customers::merge::config)
                        .configure(program::routes::config)
                        .configure(purchases::routes::config)
                        .configure(purchases::return_routes::config)
                        .configure(points::routes::config)
                        .configure(rewards::routes::config)
                        .configure(rewards::code_routes::config)
                        .configure(tiers::routes::config)
                        .configure(rules::routes::config)
                        .configure(rules::events::config)
                        .configure(crate::tickets::routes::config)
                        .configure(scheduler::routes::config)
                        .configure(messages::routes::config)
                        .configure(messages::template_routes::config)
                        .configure(crate::feedback::me::config)
                        .configure(crate::feedback::surveys::config)
                        .configure(crate::feedback::routes::config)
                        .configure(crate::feedback::recovery::config)
                        .configure(crate::reports::routes::config),
                )
                .split_for_parts();
            let doc = OpenApiJson::new(api);
            app.configure(crate::admin::config)
                .app_data(state.clone())
                .app_data(metrics.clone())
                .app_data(web::Data::new(doc))
                .app_data(
                    web::JsonConfig::default()
                        .limit(MAX_BODY_BYTES)
                        .error_handler(error::json_error),
                )
                .app_data(web::PayloadConfig::default().limit(MAX_BODY_BYTES))
                .app_data(web::QueryConfig::default().error_handler(error::query_error))
                .app_data(web::PathConfig::default().error_handler(error::path_error))
                .default_service(web::to(ops::fallback))
                .wrap(from_fn(crate::body::refuse_control_chars_in_url))
                .wrap(from_fn(metrics::observe))
        })
        .listen(listener)?;
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server.run();
        let scheduler = scheduler::start(jobs.clone()).await?;
        Ok(Self {
            port,
            server,
            bootstrap_password,
            pool,
            jobs,
            scheduler,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the process is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Some(mut sched) = self.scheduler
            && let Err(e) = sched.shutdown().await
        {
            tracing::warn!(error = %e, "scheduler did not shut down cleanly");
        }
        served
    }
}

/// Creates the first admin on an empty database; returns (email, password) if a password was generated.
async fn bootstrap_admin(
    settings: &Settings,
    pool: &Pool,
    clock: &SharedClock,
    passwords: &PasswordGate,
) -> anyhow::Result<Option<(String, String)>> {
    let check_pool = pool.clone();
    if web::block(move || -> anyhow::Result<bool> {
        Ok(staff::repo::any(&mut *check_pool.get()?)?)
    })
    .await??
    {
        return Ok(None);
    }
    let email = settings
        .bootstrap
        .admin_email
        .clone()
        .unwrap_or_else(|| "admin@patron.local".to_owned());
    let email = crate::values::Email::parse(&email)
        .map_err(|m| anyhow::anyhow!("PATRON_ADMIN_EMAIL {m}"))?
        .into_inner();
    let (password, generated) = match &settings.bootstrap.admin_password {
        Some(p) => (p.expose_secret().to_owned(), false),
        None => (secrets::random_password(), true),
    };
    let hash = passwords
        .hash(password.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = clock.now_naive();
    let created_email = email.clone();
    let pool = pool.clone();
    let created = web::block(move || -> anyhow::Result<bool> {
        Ok(staff::service::bootstrap_admin(
            &mut *pool.get()?,
            created_email,
            hash,
            now,
        )?)
    })
    .await??;
    if created {
        tracing::info!(email = %email, "created the first admin");
    }
    Ok((created && generated).then_some((email, password)))
}

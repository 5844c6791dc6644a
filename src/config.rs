//! Settings: `config/default.toml`, then `config/{PATRON_ENV}.toml`, then `PATRON__SECTION__KEY`.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

/// The defaults compiled into the binary, so it starts even without a `config/` folder.
const EMBEDDED_DEFAULTS: &str = include_str!("../config/default.toml");

/// All settings of one Patron instance.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// HTTP server.
    pub server: ServerSettings,
    /// Database.
    pub database: DatabaseSettings,
    /// Authentication.
    pub auth: AuthSettings,
    /// Logging.
    pub log: LogSettings,
    /// The first admin, created on first start (from `PATRON_ADMIN_EMAIL` / `PATRON_ADMIN_PASSWORD`).
    #[serde(default)]
    pub bootstrap: BootstrapSettings,
    /// The SMTP server messages go through.
    pub smtp: SmtpSettings,
    /// Outbox delivery.
    pub messages: MessageSettings,
    /// Scheduled jobs.
    pub scheduler: SchedulerSettings,
    /// The staff console at `/admin/`.
    pub console: ConsoleSettings,
}

/// The staff console's sessions.
#[derive(Debug, Clone, Deserialize)]
pub struct ConsoleSettings {
    /// Seconds without a page load after which a session ends.
    pub idle_timeout_secs: i64,
    /// Seconds after sign-in after which a session ends, however busy.
    pub absolute_timeout_secs: i64,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (local sinks only).
    None,
    /// STARTTLS upgrade, required.
    Starttls,
    /// Implicit TLS from the first byte.
    Tls,
}

/// SMTP settings.
#[derive(Debug, Clone, Deserialize)]
pub struct SmtpSettings {
    /// Server host name.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// Transport security.
    pub tls: SmtpTls,
    /// User name, when the server requires authentication.
    pub username: Option<String>,
    /// Password, when the server requires authentication.
    pub password: Option<SecretString>,
    /// `From` of every message (`Name <address>`).
    pub from: String,
    /// `Reply-To`, empty for none.
    pub reply_to: String,
    /// Domain of generated Message-IDs; empty = the domain of `from`.
    pub message_id_domain: String,
    /// Pooled connections per instance.
    pub pool_size: u32,
    /// Connect timeout, seconds; a whole send gets five times this.
    pub timeout_secs: u64,
}

/// Outbox delivery settings.
#[derive(Debug, Clone, Deserialize)]
pub struct MessageSettings {
    /// Messages claimed per dispatcher run.
    pub batch_size: i64,
    /// Attempts before a temporary failure is final.
    pub max_attempts: i32,
    /// First backoff, seconds (doubles per attempt).
    pub backoff_base_secs: i64,
    /// Longest backoff, seconds.
    pub backoff_max_secs: i64,
    /// How long a claim holds, seconds.
    pub claim_secs: i64,
}

/// Scheduler settings.
#[derive(Debug, Clone, Deserialize)]
pub struct SchedulerSettings {
    /// Whether `patron serve` runs the jobs.
    pub enabled: bool,
    /// Cron expression (with seconds) per job name; empty disables the job.
    #[serde(default)]
    pub jobs: std::collections::BTreeMap<String, String>,
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    /// Interface to listen on.
    pub host: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Base URL of links in messages.
    pub public_url: String,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
}

/// Database settings.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://path` or `postgres://…`.
    pub url: String,
    /// Maximum pooled connections.
    pub pool_size: u32,
    /// Seconds to wait for a pooled connection before answering 503.
    pub connect_timeout_secs: u64,
    /// Milliseconds between two reads of `cache_versions` (see `crate::cache`).
    pub cache_refresh_ms: u64,
}

/// Authentication settings.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// HMAC key for tokens; generated into the data folder in development when unset.
    pub jwt_secret: Option<SecretString>,
    /// `iss` of issued tokens.
    pub issuer: String,
    /// Lifetime of staff tokens, seconds.
    pub staff_token_ttl_secs: i64,
    /// Lifetime of customer tokens, seconds.
    pub customer_token_ttl_secs: i64,
    /// Login attempts allowed per minute, per client IP and per email.
    pub login_attempts_per_minute: u32,
    /// Requests allowed per second per API key, with bursts of the same size.
    pub api_key_requests_per_second: u32,
    /// Failed credentials (bad API keys or tokens) allowed per minute per client address.
    pub failed_credentials_per_minute: u32,
    /// Password hashes (argon2, 19 MiB each) computed at once.
    pub password_hash_concurrency: usize,
    /// Milliseconds a login waits for a hashing slot before 429.
    pub password_hash_wait_ms: u64,
}

/// Logging settings.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter such as `info` or `patron=debug,info`; `RUST_LOG` wins when set.
    pub level: String,
}

/// The first admin's credentials.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BootstrapSettings {
    /// Admin email; `admin@patron.local` when unset.
    pub admin_email: Option<String>,
    /// Admin password; generated and printed once when unset.
    pub admin_password: Option<SecretString>,
}

impl Settings {
    /// Loads settings for the environment named by `PATRON_ENV` (default `development`).
    pub fn load() -> anyhow::Result<Self> {
        let env = environment();
        let dir = std::env::var("PATRON_CONFIG_DIR")
            .map_or_else(|_| PathBuf::from("config"), PathBuf::from);
        let built = config::Config::builder()
            .add_source(config::File::from_str(
                EMBEDDED_DEFAULTS,
                config::FileFormat::Toml,
            ))
            .add_source(config::File::from(dir.join("default.toml")).required(false))
            .add_source(config::File::from(dir.join(format!("{env}.toml"))).required(false))
            .add_source(
                config::Environment::with_prefix("PATRON")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()?;
        let mut settings: Settings = built.try_deserialize()?;
        settings.bootstrap = BootstrapSettings {
            admin_email: std::env::var("PATRON_ADMIN_EMAIL")
                .ok()
                .filter(|s| !s.is_empty()),
            admin_password: std::env::var("PATRON_ADMIN_PASSWORD")
                .ok()
                .filter(|s| !s.is_empty())
                .map(SecretString::from),
        };
        Ok(settings)
    }

    /// The compiled-in defaults alone, for tests and tools that set their own values.
    pub fn defaults() -> anyhow::Result<Self> {
        let built = config::Config::builder()
            .add_source(config::File::from_str(
                EMBEDDED_DEFAULTS,
                config::FileFormat::Toml,
            ))
            .build()?;
        Ok(built.try_deserialize()?)
    }
}

/// The deployment environment (`PATRON_ENV`), `development` by default.
pub fn environment() -> String {
    std::env::var("PATRON_ENV").unwrap_or_else(|_| "development".to_owned())
}

/// Whether this is a production deployment, where missing secrets are fatal.
pub fn is_production() -> bool {
    environment() == "production"
}

//! Load benchmark for Patron (see benches/README.md).
//!
//! Builds the release binary, starts it against SQLite and then PostgreSQL, loads customers,
//! measures purchase recording, reward redemptions, balance reads and 360° profile reads (for
//! customers with short and with long purchase histories) over HTTP, counts the SQL statements
//! each kind of request sends, reads the server's peak memory and compares the throughput with
//! `pgbench` on the same machine. It prints figures and never asserts timings. A full run over
//! both databases also writes what it printed to `benches/RESULTS.md`.
//!
//! The measured phases are driven by `wrk` (one Lua script per phase, written into the
//! temporary folder) when it is on `PATH`, else by an in-process reqwest client; the set-up and
//! the statement counts always use reqwest.
//!
//! `cargo bench --bench load [-- --quick] [--customers N] [--seconds S] [--clients C]
//!  [--tokens N] [--profiles N] [--small-history N] [--large-history N] [--db sqlite|postgres|both]
//!  [--generator wrk|reqwest] [--verbose]`

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ADMIN_EMAIL: &str = "bench@example.com";
const ADMIN_PASSWORD: &str = "bench-password-123";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Connections in the server's pool unless `--pool` says otherwise: the service's own default,
/// which kept most of the throughput and cut the slowest requests on the 2-core machine
/// (README, "Pool sizing").
const POOL_SIZE: u32 = 6;
/// Targets the summary checks the figures against (printed, never asserted).
const TARGET_PURCHASE_RATIO: f64 = 0.6;
const TARGET_READ_RATIO: f64 = 0.25;
const TARGET_PURCHASE_P99_MS: f64 = 50.0;
const TARGET_REDEMPTION_P99_MS: f64 = 20.0;
/// Points a redemption costs, and points granted to each customer who redeems: enough for
/// 10,000 redemptions each, far more than any phase makes.
const REWARD_COST_POINTS: i64 = 100;
const GRANTED_POINTS: i64 = 1_000_000;
/// Requests of each kind sent one after another to count statements per request.
const STATEMENT_REQUESTS: usize = 200;
/// The server's counter of SQL statements on `GET /metrics`.
const STATEMENTS_METRIC: &str = "patron_db_statements_total";

// ---------------------------------------------------------------------------------------------
// Output: printed as it comes and kept for benches/RESULTS.md
// ---------------------------------------------------------------------------------------------

/// Everything printed to stdout so far.
static OUTPUT: Mutex<String> = Mutex::new(String::new());

/// Prints `text` and keeps it in [`OUTPUT`].
fn emit(text: &str) {
    print!("{text}");
    let _ = std::io::stdout().flush();
    if let Ok(mut out) = OUTPUT.lock() {
        out.push_str(text);
    }
}

/// `println!` that also keeps the line for benches/RESULTS.md.
macro_rules! out {
    () => {
        emit("\n")
    };
    ($($arg:tt)*) => {
        emit(&format!("{}\n", format_args!($($arg)*)))
    };
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbChoice {
    Sqlite,
    Postgres,
    Both,
}

/// What sends the requests of the measured phases.
#[derive(Debug, Clone)]
enum Generator {
    /// The `wrk` program at `path`; `version` is the first line of `wrk -v`.
    Wrk { path: PathBuf, version: String },
    /// Tasks with their own reqwest client each, inside the benchmark's process.
    Reqwest,
}

impl Generator {
    /// `wrk` on `PATH`, with its version, if it can be run.
    fn find_wrk() -> Option<Self> {
        let path = std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join("wrk"))
            .find(|p| is_executable(p))?;
        // `wrk -v` prints its version and its usage, and exits with 1.
        let out = Command::new(&path).arg("-v").output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let first = text.lines().next().unwrap_or("wrk");
        let version = first
            .split(" Copyright")
            .next()
            .unwrap_or(first)
            .trim()
            .to_owned();
        Some(Self::Wrk { path, version })
    }

    /// What the per-database output and the summary say about the generator.
    fn describe(&self, clients: usize) -> String {
        match self {
            Self::Wrk { version, .. } => format!(
                "{version}, -t{} -c{clients}, one Lua script per phase",
                wrk_threads(clients)
            ),
            Self::Reqwest => format!("reqwest, {clients} tasks inside the benchmark's process"),
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// wrk's threads for `clients` connections: two (`-t2`, the setting the targets were measured
/// with) when they split the connections evenly, else one, so that exactly `clients`
/// connections are open (wrk gives each thread connections ÷ threads).
fn wrk_threads(clients: usize) -> usize {
    if clients >= 2 && clients.is_multiple_of(2) {
        2
    } else {
        1
    }
}

#[derive(Debug, Clone)]
struct Options {
    customers: usize,
    seconds: u64,
    clients: usize,
    /// Connections in the server's pool (`PATRON__DATABASE__POOL_SIZE`).
    pool: u32,
    tokens: usize,
    /// Customers of each history size whose profiles are read.
    profiles: usize,
    small_history: usize,
    large_history: usize,
    db: DbChoice,
    quick: bool,
    postgres_url: String,
    generator: Generator,
    /// Print wrk's own report (indented) after each phase's figures.
    verbose: bool,
}

const USAGE: &str = "\
usage: cargo bench --bench load -- [options]
  --quick             2,000 customers, 5 s per phase (smoke test; never writes RESULTS.md)
  --customers N       customers to load (default 100000; env PATRON_BENCH_CUSTOMERS)
  --seconds S         seconds per measured phase (default 20; env PATRON_BENCH_SECONDS)
  --clients C         concurrent HTTP clients (default 16; env PATRON_BENCH_CLIENTS)
  --pool N            connections in the server's database pool (default 6)
  --tokens N          customers in the sample given a token for balance reads and points
                      for redemptions (default 1000)
  --profiles N        customers of each history size for profile reads (default 2; --quick 1)
  --small-history N   purchases of each small-history customer (default 10)
  --large-history N   purchases of each large-history customer (default 10000; --quick 1000)
  --db WHICH          sqlite, postgres or both (default both)
  --generator G       wrk or reqwest: what sends the measured phases' requests (default wrk
                      when it is on PATH, else reqwest)
  --verbose           also print wrk's own report of each phase, indented
env PATRON_BENCH_POSTGRES_URL: PostgreSQL server to use
  (default postgres://postgres@127.0.0.1:5432/postgres)";

fn env_number<T: std::str::FromStr>(name: &str) -> Result<Option<T>> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| anyhow!("{name}={v:?} is not a valid number")),
        _ => Ok(None),
    }
}

fn parse_options() -> Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut o = Options {
        customers: if quick { 2_000 } else { 100_000 },
        seconds: if quick { 5 } else { 20 },
        clients: 16,
        pool: POOL_SIZE,
        tokens: 1_000,
        profiles: if quick { 1 } else { 2 },
        small_history: 10,
        large_history: if quick { 1_000 } else { 10_000 },
        db: DbChoice::Both,
        quick,
        postgres_url: std::env::var("PATRON_BENCH_POSTGRES_URL")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned()),
        generator: Generator::Reqwest,
        verbose: false,
    };
    let mut generator = None;
    if let Some(n) = env_number("PATRON_BENCH_CUSTOMERS")? {
        o.customers = n;
    }
    if let Some(n) = env_number("PATRON_BENCH_SECONDS")? {
        o.seconds = n;
    }
    if let Some(n) = env_number("PATRON_BENCH_CLIENTS")? {
        o.clients = n;
    }
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| anyhow!("{name} needs a value\n{USAGE}"))
        };
        let number = |name: &str, v: String| -> Result<usize> {
            v.parse()
                .map_err(|_| anyhow!("{name} {v:?} is not a number\n{USAGE}"))
        };
        match arg.as_str() {
            // `cargo bench` passes `--bench` to every benchmark binary.
            "--bench" | "--quick" => {}
            "--verbose" => o.verbose = true,
            "--generator" => {
                let v = value(arg)?;
                anyhow::ensure!(
                    v == "wrk" || v == "reqwest",
                    "--generator {v:?}: expected wrk or reqwest\n{USAGE}"
                );
                generator = Some(v);
            }
            "--customers" => o.customers = number(arg, value(arg)?)?,
            "--seconds" => o.seconds = number(arg, value(arg)?)? as u64,
            "--clients" => o.clients = number(arg, value(arg)?)?,
            "--pool" => {
                o.pool = u32::try_from(number(arg, value(arg)?)?)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| anyhow!("--pool: expected 1 to 4294967295\n{USAGE}"))?
            }
            "--tokens" => o.tokens = number(arg, value(arg)?)?,
            "--profiles" => o.profiles = number(arg, value(arg)?)?,
            "--small-history" => o.small_history = number(arg, value(arg)?)?,
            "--large-history" => o.large_history = number(arg, value(arg)?)?,
            "--db" => {
                o.db = match value(arg)?.as_str() {
                    "sqlite" => DbChoice::Sqlite,
                    "postgres" | "pg" => DbChoice::Postgres,
                    "both" => DbChoice::Both,
                    other => bail!("--db {other:?}: expected sqlite, postgres or both\n{USAGE}"),
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    anyhow::ensure!(o.customers > 0, "--customers must be at least 1");
    anyhow::ensure!(o.seconds > 0, "--seconds must be at least 1");
    anyhow::ensure!(o.clients > 0, "--clients must be at least 1");
    anyhow::ensure!(o.tokens > 0, "--tokens must be at least 1");
    anyhow::ensure!(o.profiles > 0, "--profiles must be at least 1");
    anyhow::ensure!(o.small_history > 0, "--small-history must be at least 1");
    anyhow::ensure!(o.large_history > 0, "--large-history must be at least 1");
    o.tokens = o.tokens.min(o.customers);
    o.generator = match generator.as_deref() {
        Some("reqwest") => Generator::Reqwest,
        Some(_) => Generator::find_wrk()
            .ok_or_else(|| anyhow!("--generator wrk: wrk is not on PATH (or cannot be run)"))?,
        None => Generator::find_wrk().unwrap_or(Generator::Reqwest),
    };
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// Building and running the server
// ---------------------------------------------------------------------------------------------

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `patron` binary that `cargo bench` built for this benchmark, with the bench profile (the
/// release profile's settings: link-time optimisation in one codegen unit). Building it again
/// with `cargo build --release` would take minutes more: without the dev-dependencies' features
/// cargo compiles the whole tree a second time.
fn release_binary() -> Result<PathBuf> {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_patron"));
    anyhow::ensure!(
        bin.is_file(),
        "the patron binary is not at {} (run the benchmark with cargo bench)",
        bin.display()
    );
    out!("server binary: {} (built by cargo bench)", bin.display());
    Ok(bin)
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn random_secret(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// A running server; killed when dropped, also on errors.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(bin: &Path, database_url: &str, work_dir: &Path, pool: u32) -> Result<Self> {
        let port = free_port()?;
        let log = work_dir.join("server.log");
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(bin)
            .arg("serve")
            // Only the compiled-in defaults and the variables below apply.
            .current_dir(work_dir)
            .env_remove("PATRON_CONFIG_DIR")
            .env_remove("PATRON_ENV")
            .env("PATRON__SERVER__PORT", port.to_string())
            .env("PATRON__DATABASE__URL", database_url)
            .env("PATRON__DATABASE__POOL_SIZE", pool.to_string())
            .env("PATRON__AUTH__JWT_SECRET", random_secret(48))
            .env("PATRON_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("PATRON_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PATRON__AUTH__API_KEY_REQUESTS_PER_SECOND", "1000000")
            .env("PATRON__AUTH__LOGIN_ATTEMPTS_PER_MINUTE", "1000")
            // No background jobs: the statements counted per request are the requests' own.
            .env("PATRON__SCHEDULER__ENABLED", "false")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Waits until `GET /readyz` answers 200.
    async fn wait_ready(&mut self, client: &reqwest::Client) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("{}/readyz", self.base);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the server exited during start-up ({status}); its log:\n{}",
                    self.log_tail()
                );
            }
            if let Ok(r) = client.get(&url).send().await
                && r.status() == StatusCode::OK
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "GET /readyz did not answer 200 within 60 s; the server's log:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `(VmHWM, VmRSS)` in KiB from `/proc/<pid>/status`.
    fn memory_kib(&self) -> (Option<u64>, Option<u64>) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        };
        (field("VmHWM:"), field("VmRSS:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL helpers
// ---------------------------------------------------------------------------------------------

/// `url` with its database name replaced by `name` (query parameters are kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[host_start..].find('/') {
        Some(i) => &base[..host_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

fn psql(url: &str, sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .arg(url)
        .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "5")
        .output()
        .context("running psql (is it on PATH?)")?;
    if !out.status.success() {
        bail!(
            "psql failed on {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A database created for the benchmark and dropped when this goes away.
struct ScratchDb {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDb {
    fn create(admin_url: &str, name: &str) -> Result<Self> {
        psql(
            admin_url,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )?;
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name: name.to_owned(),
            url: with_database(admin_url, name),
        })
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        if let Err(e) = psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        ) {
            eprintln!("warning: could not drop database {}: {e:#}", self.name);
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct PgBench {
    tpcb_tps: f64,
    select_tps: f64,
}

fn pgbench(url: &str, args: &[&str]) -> Result<String> {
    let out = Command::new("pgbench")
        .args(args)
        .arg(url)
        .env("PGCONNECT_TIMEOUT", "5")
        .output()
        .context("running pgbench (is it on PATH?)")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "pgbench {} failed ({}): {}{}",
            args.join(" "),
            out.status,
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(stdout)
}

/// The figure of the `tps = X (without initial connection time)` line (or the last `tps =` line).
fn parse_tps(output: &str) -> Result<f64> {
    let lines: Vec<&str> = output
        .lines()
        .filter(|l| l.trim_start().starts_with("tps = "))
        .collect();
    let line = lines
        .iter()
        .find(|l| l.contains("without initial connection"))
        .or(lines.last())
        .ok_or_else(|| anyhow!("no `tps = …` line in pgbench's output:\n{output}"))?;
    line.trim_start()
        .trim_start_matches("tps = ")
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("cannot read the figure in {line:?}"))
}

fn run_pgbench(admin_url: &str, seconds: u64, clients: usize) -> Result<PgBench> {
    let db = ScratchDb::create(admin_url, &format!("patron_pgbench_{}", std::process::id()))?;
    out!("  pgbench -i -s 10 (initialising {})…", db.name);
    pgbench(&db.url, &["-i", "-s", "10", "-q"])?;
    let secs = seconds.to_string();
    let c = clients.to_string();
    checkpoint(&db.url)?;
    out!("  pgbench -c {c} -j 2 -T {secs} (tpcb-like)…");
    let tpcb_tps = parse_tps(&pgbench(&db.url, &["-c", &c, "-j", "2", "-T", &secs])?)?;
    out!("    tps = {tpcb_tps:.1}");
    checkpoint(&db.url)?;
    out!("  pgbench -S -c {c} -j 2 -T {secs} (select-only)…");
    let select_tps = parse_tps(&pgbench(
        &db.url,
        &["-S", "-c", &c, "-j", "2", "-T", &secs],
    )?)?;
    out!("    tps = {select_tps:.1}");
    Ok(PgBench {
        tpcb_tps,
        select_tps,
    })
}

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(4)
        .no_proxy()
        .build()
        .context("building the HTTP client")
}

/// Sends a request and returns the JSON body when the status is the expected one.
async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
    expect: &[StatusCode],
) -> Result<Value> {
    let mut req = client.request(method.clone(), url);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    let resp = req
        .send()
        .await
        .with_context(|| format!("{method} {url}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !expect.contains(&status) {
        bail!("{method} {url} answered {status}: {text}");
    }
    if text.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).with_context(|| format!("{method} {url}: body is not JSON"))
}

fn string_field(v: &Value, name: &str) -> Result<String> {
    v[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the response has no string `{name}`: {v}"))
}

/// What the set-up leaves: the admin's staff token and the API key the phases use.
struct Credentials {
    admin: String,
    key: String,
}

/// Logs in as the admin, sets the program and creates an API key.
async fn set_up(client: &reqwest::Client, base: &str) -> Result<Credentials> {
    let login = call(
        client,
        reqwest::Method::POST,
        &format!("{base}/v1/auth/login"),
        None,
        Some(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})),
        &[StatusCode::OK],
    )
    .await
    .context("admin login")?;
    let admin = string_field(&login, "access_token")?;
    call(
        client,
        reqwest::Method::PUT,
        &format!("{base}/v1/program"),
        Some(&admin),
        Some(&json!({
            "currency": "USD",
            "earn_rate": {"spend_minor": 100, "points": 1},
            "pending_days": 0,
            "expiry_months": 12,
            "expiry_warning_days": 30,
            "tier_window_months": 12,
            "tier_grace_days": 30,
            "point_value_minor": 1,
            "return_policy": "within_balance",
            "referral": {"referrer_points": 0, "referred_points": 0}
        })),
        &[StatusCode::OK, StatusCode::NO_CONTENT],
    )
    .await
    .context("setting the program")?;
    let key = call(
        client,
        reqwest::Method::POST,
        &format!("{base}/v1/api-keys"),
        Some(&admin),
        Some(&json!({
            "name": "bench",
            "scopes": ["customers:read", "customers:write", "purchases:write",
                       "points:read", "points:write", "rewards:redeem", "tokens:issue"]
        })),
        &[StatusCode::CREATED, StatusCode::OK],
    )
    .await
    .context("creating the API key")?;
    Ok(Credentials {
        key: string_field(&key, "key")?,
        admin,
    })
}

/// Runs `count` jobs on `clients` workers (one HTTP client each); returns the results in order
/// of completion plus the number of failures and the first failure's message.
async fn run_jobs<F, Fut>(
    count: usize,
    clients: usize,
    job: F,
) -> Result<(Vec<String>, usize, Option<String>)>
where
    F: Fn(reqwest::Client, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<String>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let job = Arc::new(job);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let next = next.clone();
        let job = job.clone();
        let client = http_client()?;
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            let mut failed = 0usize;
            let mut first_error = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                match job(client.clone(), i).await {
                    Ok(v) => done.push(v),
                    Err(e) => {
                        failed += 1;
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            (done, failed, first_error)
        }));
    }
    let mut all = Vec::with_capacity(count);
    let mut failed = 0;
    let mut first_error = None;
    for t in tasks {
        let (done, f, e) = t.await.context("a worker panicked")?;
        all.extend(done);
        failed += f;
        if first_error.is_none() {
            first_error = e;
        }
    }
    Ok((all, failed, first_error))
}

// ---------------------------------------------------------------------------------------------
// Measured phases
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
struct PhaseStats {
    ok: usize,
    errors: usize,
    elapsed: Duration,
    p50_ms: f64,
    p99_ms: f64,
    first_error: Option<String>,
    /// Why the phase could not be measured (the load generator failed); the figures are empty.
    failure: Option<String>,
}

impl PhaseStats {
    fn failed(reason: String) -> Self {
        Self {
            p50_ms: f64::NAN,
            p99_ms: f64::NAN,
            failure: Some(reason),
            ..Self::default()
        }
    }

    fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// `figure(self)`, or "failed" when the phase could not be measured.
    fn cell(&self, figure: impl Fn(&Self) -> String) -> String {
        if self.failure.is_some() {
            "failed".to_owned()
        } else {
            figure(self)
        }
    }

    fn print(&self, name: &str) {
        if let Some(reason) = &self.failure {
            out!("  {name:<14} failed: {reason}");
            return;
        }
        out!(
            "  {name:<14} {:>9.1} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ok {:>7}   errors {}",
            self.per_second(),
            self.p50_ms,
            self.p99_ms,
            self.ok,
            self.errors
        );
        print_first_error(self.first_error.as_deref());
    }
}

fn print_first_error(e: Option<&str>) {
    if let Some(e) = e {
        out!("    first error: {e}");
    }
}

/// Nearest-rank percentile of sorted latencies in microseconds, in milliseconds.
fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    f64::from(sorted_us[rank.clamp(1, sorted_us.len()) - 1]) / 1000.0
}

/// One request of a phase, given a client and a random seed.
type Request = Arc<
    dyn Fn(
            reqwest::Client,
            u64,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>
        + Send
        + Sync,
>;

/// Runs `request` in a loop on `clients` workers for `duration`; only requests that started
/// before the deadline count.
async fn measure(clients: usize, duration: Duration, request: Request) -> Result<PhaseStats> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for w in 0..clients {
        let request = request.clone();
        let client = http_client()?;
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(0x5eed ^ (w as u64) << 32);
            let mut latencies: Vec<u32> = Vec::with_capacity(1 << 14);
            let mut errors = 0usize;
            let mut first_error = None;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let result = request(client.clone(), rng.random()).await;
                let us = t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                match result {
                    Ok(()) => latencies.push(us),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut latencies = Vec::new();
    let mut stats = PhaseStats::default();
    for t in tasks {
        let (l, e, f) = t.await.context("a worker panicked")?;
        latencies.extend(l);
        stats.errors += e;
        if stats.first_error.is_none() {
            stats.first_error = f;
        }
    }
    stats.elapsed = started.elapsed();
    latencies.sort_unstable();
    stats.ok = latencies.len();
    stats.p50_ms = percentile_ms(&latencies, 50.0);
    stats.p99_ms = percentile_ms(&latencies, 99.0);
    Ok(stats)
}

/// Measures one phase for `o.seconds` with `o.clients` concurrent clients, with wrk
/// (`script`) or with reqwest (`request`) as `o.generator` says, and prints the figures. A
/// generator that fails gives a failed phase, not an error.
async fn run_phase(
    label: &str,
    o: &Options,
    work_dir: &Path,
    (base, database_url): (&str, &str),
    request: Request,
    script: WrkScript,
) -> PhaseStats {
    if let Err(e) = checkpoint(database_url) {
        let stats = PhaseStats::failed(format!("{e:#}"));
        stats.print(label);
        return stats;
    }
    let wal_before = wal_counters(database_url);
    let io_before = io_stall_us();
    let stats = match &o.generator {
        Generator::Wrk { path, .. } => {
            out!(
                "  measuring {label} for {} s (wrk -t{} -c{})…",
                o.seconds,
                wrk_threads(o.clients),
                o.clients
            );
            measure_wrk(path, o, work_dir, base, &script).await
        }
        Generator::Reqwest => {
            out!("  measuring {label} for {} s (reqwest)…", o.seconds);
            measure(o.clients, Duration::from_secs(o.seconds), request).await
        }
    }
    .unwrap_or_else(|e| PhaseStats::failed(format!("{e:#}")));
    stats.print(label);
    if let (Some(before), Some(after)) = (wal_before, wal_counters(database_url))
        && stats.ok > 0
    {
        let per = |a: i64, b: i64| (a - b) as f64 / stats.ok as f64;
        out!(
            "    WAL per request: {:.1} records, {:.2} full-page images, {:.1} kB (pg_stat_wal)",
            per(after.0, before.0),
            per(after.1, before.1),
            per(after.2, before.2) / 1024.0
        );
    }
    if let (Some(before), Some(after)) = (io_before, io_stall_us()) {
        out!(
            "    I/O stalls: {:.1} ms in all during the phase (/proc/pressure/io, \"full\")",
            after.saturating_sub(before) as f64 / 1000.0
        );
    }
    stats
}

/// Microseconds, since boot, in which every task that could run was waiting for storage (Linux
/// pressure stall information, `full` line of /proc/pressure/io); `None` where the kernel does
/// not report it. A phase whose p99 jumps with this figure met a pause of the disk (a commit
/// waits for its WAL to reach it), not a slower Patron.
fn io_stall_us() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/pressure/io").ok()?;
    let full = text.lines().find(|l| l.starts_with("full "))?;
    full.split_whitespace()
        .find_map(|field| field.strip_prefix("total="))?
        .parse()
        .ok()
}

/// PostgreSQL's WAL counters (records, full-page images, bytes) for the whole server; `None`
/// on SQLite or when they cannot be read. Nothing else writes during a phase, so the difference
/// across one is the phase's own.
fn wal_counters(database_url: &str) -> Option<(i64, i64, i64)> {
    if !is_postgres(database_url) {
        return None;
    }
    let row = psql(
        database_url,
        "SELECT wal_records || ' ' || wal_fpi || ' ' || wal_bytes FROM pg_stat_wal",
    )
    .ok()?;
    let mut it = row.split_whitespace().map(|v| v.parse::<i64>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

// ---------------------------------------------------------------------------------------------
// wrk
// ---------------------------------------------------------------------------------------------

/// Shared by every phase's script, after the phase's values (`data_file`, `expected`, `auth`,
/// `body`, `prefix`, `occurred_at`) and before its `prepare(item)` and `request()`.
///
/// `setup` numbers the threads and keeps them; each thread's `init` reads the data file, one
/// item a line, through `prepare`; `response` counts the statuses other than `expected` and
/// keeps the first one with its body; `done` adds the threads' counts and prints one line for
/// the benchmark to read. wrk's own `errors.status` (statuses above 399) is left out of the
/// sum: every expected status is a 2xx, so those responses are already unexpected.
const WRK_COMMON: &str = r#"
local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   table.insert(threads, thread)
   next_id = next_id + 1
end

function init(args)
   sent = 0
   unexpected = 0
   first_error = nil
   math.randomseed(id * 7919 + os.time())
   items = {}
   for line in io.lines(data_file) do
      if line ~= "" then
         items[#items + 1] = prepare(line)
      end
   end
end

function response(status, headers, body)
   if status ~= expected then
      unexpected = unexpected + 1
      if first_error == nil then
         local text = (body or ""):gsub("%s+", " ")
         first_error = "answered " .. status .. " (expected " .. expected .. "): " .. text:sub(1, 500)
      end
   end
end

function done(summary, latency, requests)
   local bad = 0
   local first = nil
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("unexpected") or 0)
      first = first or thread:get("first_error")
   end
   local e = summary.errors
   io.write(string.format(
      "PATRON requests=%d unexpected=%d connect=%d read=%d write=%d timeout=%d duration_us=%d p50_us=%d p99_us=%d\n",
      summary.requests, bad, e.connect, e.read, e.write, e.timeout, summary.duration,
      latency:percentile(50), latency:percentile(99)))
   if first then
      io.write("PATRON first_error=" .. first .. "\n")
   end
end
"#;

/// Purchases: a random loaded customer, a total of 1.00–1,000.00 USD and an `external_id`
/// unique across threads (`id`), requests (`sent`) and phases and runs (`prefix`).
const WRK_PURCHASE: &str = r#"
function prepare(customer) return customer end

function request()
   sent = sent + 1
   local purchase = string.format(
      '{"external_id":"%s-%d-%d","customer_id":"%s","channel":"store","occurred_at":"%s","currency":"USD","total_minor":%d}',
      prefix, id, sent, items[math.random(#items)], occurred_at, math.random(100, 100000))
   return wrk.format("POST", "/v1/purchases",
      {["Authorization"] = auth, ["Content-Type"] = "application/json"}, purchase)
end
"#;

/// Redemptions: a random customer of the sample, an `Idempotency-Key` unique like a purchase's
/// `external_id`.
const WRK_REDEMPTION: &str = r#"
function prepare(customer) return "/v1/customers/" .. customer .. "/redemptions" end

function request()
   sent = sent + 1
   return wrk.format("POST", items[math.random(#items)],
      {["Authorization"] = auth, ["Content-Type"] = "application/json",
       ["Idempotency-Key"] = string.format("%s-%d-%d", prefix, id, sent)}, body)
end
"#;

/// Balance reads: every request is built once in `init`, one per customer token.
const WRK_BALANCE: &str = r#"
function prepare(token)
   return wrk.format("GET", "/v1/me/points", {["Authorization"] = "Bearer " .. token})
end

function request() return items[math.random(#items)] end
"#;

/// Profile reads with the API key: every request is built once in `init`, one per customer.
const WRK_PROFILE: &str = r#"
function prepare(customer)
   return wrk.format("GET", "/v1/customers/" .. customer .. "/profile", {["Authorization"] = auth})
end

function request() return items[math.random(#items)] end
"#;

/// One phase as a wrk script: its own code, the data file it reads and the values it uses.
struct WrkScript {
    /// Names the script and data files and starts every `prefix`.
    name: &'static str,
    /// The status every response should have.
    expect: u16,
    /// The data file's lines (customer ids or customer tokens), one per `prepare(item)`.
    items: Arc<Vec<String>>,
    /// The `Authorization` header of the API key.
    auth: String,
    /// The JSON body of requests that send the same one every time.
    body: String,
    /// The phase's `prepare(item)` and `request()`.
    code: &'static str,
}

impl WrkScript {
    fn new(name: &'static str, expect: u16, items: Arc<Vec<String>>, code: &'static str) -> Self {
        Self {
            name,
            expect,
            items,
            auth: String::new(),
            body: String::new(),
            code,
        }
    }

    fn with_key(mut self, key: &str) -> Self {
        self.auth = format!("Bearer {key}");
        self
    }

    /// The whole script; `occurred_at` is the phase's start minus a second, `prefix` unique.
    fn lua(&self, data_file: &Path, occurred_at: &str, prefix: &str) -> String {
        let values = [
            ("data_file", data_file.to_string_lossy().into_owned()),
            ("auth", self.auth.clone()),
            ("body", self.body.clone()),
            ("prefix", prefix.to_owned()),
            ("occurred_at", occurred_at.to_owned()),
        ];
        let mut lua = format!(
            "-- The load benchmark's `{}` phase (benches/load.rs), run by wrk.
             local expected = {}
",
            self.name, self.expect
        );
        for (name, value) in values {
            let _ = writeln!(lua, "local {name} = {}", lua_string(&value));
        }
        lua.push_str(WRK_COMMON);
        lua.push_str(self.code);
        lua
    }
}

/// `s` as a Lua string literal.
fn lua_string(s: &str) -> String {
    let mut lit = String::with_capacity(s.len() + 2);
    lit.push('"');
    for c in s.chars() {
        match c {
            '"' => lit.push_str("\\\""),
            '\\' => lit.push_str("\\\\"),
            c if c.is_ascii_control() => {
                let _ = write!(lit, "\\{:03}", c as u32);
            }
            c => lit.push(c),
        }
    }
    lit.push('"');
    lit
}

/// Runs `wrk` on `script` for `o.seconds` with `o.clients` connections and reads the line its
/// `done()` prints.
async fn measure_wrk(
    wrk: &Path,
    o: &Options,
    work_dir: &Path,
    base: &str,
    script: &WrkScript,
) -> Result<PhaseStats> {
    let data_file = work_dir.join(format!("wrk-{}.txt", script.name));
    let mut data = script.items.join("\n");
    data.push('\n');
    std::fs::write(&data_file, data).with_context(|| format!("writing {}", data_file.display()))?;
    let script_file = work_dir.join(format!("wrk-{}.lua", script.name));
    let prefix = format!("wrk-{}-{}", script.name, random_secret(10));
    std::fs::write(
        &script_file,
        script.lua(&data_file, &a_second_ago(), &prefix),
    )
    .with_context(|| format!("writing {}", script_file.display()))?;

    let mut command = Command::new(wrk);
    command
        .arg(format!("-t{}", wrk_threads(o.clients)))
        .arg(format!("-c{}", o.clients))
        .arg(format!("-d{}s", o.seconds))
        // As long as the reqwest client waits, far above any latency worth measuring.
        .args(["--timeout", "30s", "--latency", "-s"])
        .arg(&script_file)
        .arg(format!("{base}/"))
        .stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .context("waiting for wrk")?
        .context("running wrk")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("wrk exited with {}: {}", out.status, stderr.trim());
    }
    if o.verbose {
        let report: Vec<&str> = stdout
            .lines()
            .filter(|l| !l.starts_with("PATRON "))
            .collect();
        out!("{}", indent(&report.join("\n")));
    }
    let stats = parse_wrk(&stdout).with_context(|| format!("wrk's stderr: {:?}", stderr.trim()))?;
    if !stderr.trim().is_empty() {
        out!("    wrk's stderr: {}", stderr.trim());
    }
    Ok(stats)
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The figures of the `PATRON requests=…` line (and the `PATRON first_error=…` line) that the
/// script's `done()` prints.
fn parse_wrk(stdout: &str) -> Result<PhaseStats> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PATRON requests="))
        .ok_or_else(|| anyhow!("wrk printed no `PATRON requests=…` line"))?;
    let line = format!("requests={line}");
    let field = |name: &str| -> Result<u64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| anyhow!("no number `{name}` in `PATRON {line}`"))
    };
    let requests = field("requests")?;
    let unexpected = field("unexpected")?;
    let timeouts = field("timeout")?;
    let socket_errors = field("connect")? + field("read")? + field("write")?;
    let first_error = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PATRON first_error="))
        .map(str::to_owned);
    Ok(PhaseStats {
        // wrk counts a response that came after the timeout both as a request and a timeout.
        ok: requests.saturating_sub(unexpected + timeouts) as usize,
        errors: (unexpected + timeouts + socket_errors) as usize,
        elapsed: Duration::from_micros(field("duration_us")?),
        p50_ms: field("p50_us")? as f64 / 1000.0,
        p99_ms: field("p99_us")? as f64 / 1000.0,
        first_error: first_error.or_else(|| {
            (socket_errors + timeouts > 0)
                .then(|| format!("{socket_errors} socket errors and {timeouts} timeouts (wrk)"))
        }),
        failure: None,
    })
}

async fn expect_status(resp: reqwest::Response, expected: StatusCode) -> Result<()> {
    let status = resp.status();
    let body = resp.bytes().await.context("reading the response body")?;
    if status != expected {
        bail!(
            "answered {status} (expected {expected}): {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// An RFC 3339 time a second ago, so that a server clock slightly behind never sees the future.
fn a_second_ago() -> String {
    (chrono::Utc::now() - chrono::Duration::seconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `POST /v1/purchases` with a unique `external_id`, a random customer of `ids` and a random
/// total of 1.00–1,000.00 USD (expects 201).
fn purchase_requests(base: &Arc<str>, key: &Arc<str>, ids: Arc<Vec<String>>) -> Request {
    let url = format!("{base}/v1/purchases");
    let key = key.clone();
    Arc::new(move |client, seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        let body = json!({
            "external_id": uuid::Uuid::now_v7().to_string(),
            "customer_id": &ids[rng.random_range(0..ids.len())],
            "channel": "store",
            "occurred_at": a_second_ago(),
            "currency": "USD",
            "total_minor": rng.random_range(100..=100_000),
        });
        let req = client.post(&url).bearer_auth(&*key).json(&body);
        Box::pin(async move {
            expect_status(req.send().await.context("sending")?, StatusCode::CREATED).await
        })
    })
}

/// `POST /v1/customers/{id}/redemptions {"reward_id": …}` for a random customer of `ids`, each
/// with its own `Idempotency-Key` (expects 201).
fn redemption_requests(
    base: &Arc<str>,
    key: &Arc<str>,
    ids: Arc<Vec<String>>,
    reward_id: &str,
) -> Request {
    let urls: Arc<Vec<String>> = Arc::new(
        ids.iter()
            .map(|id| format!("{base}/v1/customers/{id}/redemptions"))
            .collect(),
    );
    let key = key.clone();
    let body = json!({ "reward_id": reward_id });
    Arc::new(move |client, seed| {
        let req = client
            .post(&urls[(seed % urls.len() as u64) as usize])
            .bearer_auth(&*key)
            .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
            .json(&body);
        Box::pin(async move {
            expect_status(req.send().await.context("sending")?, StatusCode::CREATED).await
        })
    })
}

/// `GET url` with its bearer credential, for a random one of `targets` (expects 200).
fn get_requests(targets: Vec<(String, Arc<str>)>) -> Request {
    let targets = Arc::new(targets);
    Arc::new(move |client, seed| {
        let (url, bearer) = &targets[(seed % targets.len() as u64) as usize];
        let req = client.get(url).bearer_auth(&**bearer);
        Box::pin(async move {
            expect_status(req.send().await.context("sending")?, StatusCode::OK).await
        })
    })
}

/// `GET /v1/customers/{id}/<what>` with the API key, for a random customer of `ids`.
fn customer_gets(base: &Arc<str>, key: &Arc<str>, ids: &[String], what: &str) -> Request {
    get_requests(
        ids.iter()
            .map(|id| (format!("{base}/v1/customers/{id}/{what}"), key.clone()))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// Statements per request
// ---------------------------------------------------------------------------------------------

/// Statements one kind of request sent, from the server's counter.
#[derive(Debug, Clone, Default)]
struct StatementCount {
    /// `None` when the server does not export the counter.
    per_request: Option<f64>,
    errors: usize,
}

impl StatementCount {
    fn show(&self) -> String {
        match (self.per_request, self.errors) {
            (None, _) => "n/a".to_owned(),
            (Some(n), 0) => format!("{n:.1}"),
            (Some(n), e) => format!("{n:.1} ({e} errors)"),
        }
    }
}

/// The value of [`STATEMENTS_METRIC`] on `GET /metrics`, if the server exports it.
async fn statements_so_far(client: &reqwest::Client, base: &str) -> Option<f64> {
    let resp = client.get(format!("{base}/metrics")).send().await.ok()?;
    if resp.status() != StatusCode::OK {
        return None;
    }
    let text = resp.text().await.ok()?;
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, rest) = l.split_once(' ')?;
            let name = name.split('{').next()?;
            (name == STATEMENTS_METRIC)
                .then(|| rest.split_whitespace().next()?.parse::<f64>().ok())
                .flatten()
        })
        .reduce(|a, b| a + b)
}

/// Sends [`STATEMENT_REQUESTS`] requests of each kind one after another (one client, nothing
/// else running) and prints how many statements each sent on average.
async fn statement_phase(
    base: &str,
    kinds: Vec<(&'static str, Request)>,
) -> Result<Vec<(&'static str, StatementCount)>> {
    out!(
        "  statements per request ({STATEMENT_REQUESTS} sequential requests of each kind, \
         from {STATEMENTS_METRIC} on GET /metrics):"
    );
    let client = http_client()?;
    let mut rng = StdRng::seed_from_u64(0x57a7);
    let mut counts = Vec::with_capacity(kinds.len());
    for (label, request) in kinds {
        let mut count = StatementCount::default();
        let mut first_error = None;
        if let Some(before) = statements_so_far(&client, base).await {
            for _ in 0..STATEMENT_REQUESTS {
                if let Err(e) = request(client.clone(), rng.random()).await {
                    count.errors += 1;
                    first_error.get_or_insert_with(|| format!("{e:#}"));
                }
            }
            count.per_request = statements_so_far(&client, base)
                .await
                .map(|after| (after - before) / STATEMENT_REQUESTS as f64);
        }
        out!("    {label:<46} {:>8}", count.show());
        print_first_error(first_error.as_deref());
        counts.push((label, count));
    }
    if counts.iter().all(|(_, c)| c.per_request.is_none()) {
        out!("    (n/a: this server does not export {STATEMENTS_METRIC})");
    } else {
        out!(
            "    (the scheduler is off; a cache refresh poll, a tiny query every few hundred ms, \
             may add a fraction)"
        );
    }
    Ok(counts)
}

// ---------------------------------------------------------------------------------------------
// One database
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct DbResult {
    name: &'static str,
    customers: usize,
    load_per_second: f64,
    load_errors: usize,
    purchases: PhaseStats,
    redemptions: PhaseStats,
    reads: PhaseStats,
    profile_small: PhaseStats,
    profile_large: PhaseStats,
    /// Statements per request, by kind of request, in the order of the statement phase.
    statements: Vec<(&'static str, StatementCount)>,
    peak_kib: Option<u64>,
    rss_kib: Option<u64>,
}

/// Where a [`DbResult`] keeps one phase's figures.
type PhaseOf = fn(&DbResult) -> &PhaseStats;

/// The measured phases of a [`DbResult`], in the order they run, with their summary labels.
const PHASES: [(&str, PhaseOf); 5] = [
    ("purchases", |r| &r.purchases),
    ("redemptions", |r| &r.redemptions),
    ("balance reads", |r| &r.reads),
    ("profile reads, small history", |r| &r.profile_small),
    ("profile reads, large history", |r| &r.profile_large),
];

/// A checkpoint just before a measured phase, on both databases (pgbench's runs get one too).
/// Loading 100,000 customers writes about 500 MB of WAL on PostgreSQL, which starts a checkpoint
/// of its own at a moment that varies from run to run; with this, no phase starts with one under
/// way or owed, and every phase pays the full-page images written at the first change of each
/// page after a checkpoint (printed with the phase on PostgreSQL). SQLite still checkpoints by
/// itself inside a write phase (every 1,000 pages of WAL). No `VACUUM` or `ANALYZE` here: one
/// that sees the purchase tables still empty leaves plans that scan them whole (see
/// benches/README.md).
fn checkpoint(database_url: &str) -> Result<()> {
    if is_postgres(database_url) {
        psql(database_url, "CHECKPOINT")?;
    } else if let Some(path) = database_url.strip_prefix("sqlite://") {
        sqlite_checkpoint(path)?;
    }
    Ok(())
}

/// SQLite's `wal_checkpoint(TRUNCATE)`, on a connection of the benchmark's own while the
/// server is idle: copies the WAL into the database file, syncs the file and empties the WAL.
/// A reader of the server's that is still finishing keeps it from completing; it is tried again
/// for up to ten seconds, and then the phase runs after the part that could be done (said so).
fn sqlite_checkpoint(path: &str) -> Result<()> {
    use diesel::{Connection, QueryableByName, RunQueryDsl, sql_query, sqlite::SqliteConnection};
    #[derive(QueryableByName)]
    struct Answer {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        busy: i32,
    }
    let mut c = SqliteConnection::establish(path)
        .with_context(|| format!("opening {path} for a checkpoint"))?;
    diesel::connection::SimpleConnection::batch_execute(&mut c, "PRAGMA busy_timeout = 1000")?;
    for _ in 0..10 {
        let answer: Vec<Answer> = sql_query("PRAGMA wal_checkpoint(TRUNCATE)").load(&mut c)?;
        if answer.first().is_some_and(|a| a.busy == 0) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    out!("  (the checkpoint before this phase could not complete: the server kept a reader busy)");
    Ok(())
}

fn is_postgres(database_url: &str) -> bool {
    database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")
}

async fn bench_database(
    name: &'static str,
    bin: &Path,
    database_url: &str,
    work_dir: &Path,
    o: &Options,
) -> Result<DbResult> {
    out!("\n== {name} ==");
    let client = http_client()?;
    let mut server = Server::start(bin, database_url, work_dir, o.pool)?;
    server.wait_ready(&client).await?;
    out!("  server pid {} ready at {}", server.pid(), server.base);
    out!(
        "  load generator of the measured phases: {} (set-up and statement counts: reqwest)",
        o.generator.describe(o.clients)
    );
    if is_postgres(database_url) {
        out!("  every measured phase starts just after a CHECKPOINT (pgbench's runs too)");
    } else {
        out!("  every measured phase starts just after PRAGMA wal_checkpoint(TRUNCATE)");
    }
    let base: Arc<str> = Arc::from(server.base.as_str());
    let credentials = set_up(&client, &base).await?;
    let key: Arc<str> = Arc::from(credentials.key.as_str());

    // Load customers.
    let nonce = random_secret(6);
    let started = Instant::now();
    let (ids, load_errors, first_error) = {
        let base = base.clone();
        let key = key.clone();
        let nonce = nonce.clone();
        run_jobs(o.customers, o.clients, move |client, i| {
            let url = format!("{base}/v1/customers");
            let key = key.clone();
            let body = json!({"external_id": format!("bench-{nonce}-{i}")});
            async move {
                let v = call(
                    &client,
                    reqwest::Method::POST,
                    &url,
                    Some(&key),
                    Some(&body),
                    &[StatusCode::CREATED],
                )
                .await?;
                string_field(&v, "id")
            }
        })
        .await?
    };
    let load_secs = started.elapsed().as_secs_f64();
    let load_per_second = ids.len() as f64 / load_secs.max(1e-9);
    out!(
        "  loaded {} customers in {:.1} s: {:.1} customers/s ({} errors)",
        ids.len(),
        load_secs,
        load_per_second,
        load_errors
    );
    print_first_error(first_error.as_deref());
    anyhow::ensure!(!ids.is_empty(), "no customer could be created");
    let ids: Arc<Vec<String>> = Arc::new(ids);

    // A sample of customers, spread over the load: they get tokens for the balance reads and
    // points for the redemptions.
    let stride = (ids.len() / o.tokens.min(ids.len())).max(1);
    let sample: Arc<Vec<String>> = Arc::new(
        (0..o.tokens.min(ids.len()))
            .map(|i| ids[(i * stride) % ids.len()].clone())
            .collect(),
    );
    let (tokens, token_errors, first_error) = {
        let base = base.clone();
        let key = key.clone();
        let sample = sample.clone();
        run_jobs(sample.len(), o.clients, move |client, i| {
            let url = format!("{base}/v1/customers/{}/tokens", sample[i]);
            let key = key.clone();
            async move {
                let v = call(
                    &client,
                    reqwest::Method::POST,
                    &url,
                    Some(&key),
                    None,
                    &[StatusCode::CREATED],
                )
                .await?;
                string_field(&v, "access_token")
            }
        })
        .await?
    };
    out!(
        "  minted {} customer tokens ({} errors)",
        tokens.len(),
        token_errors
    );
    print_first_error(first_error.as_deref());
    anyhow::ensure!(!tokens.is_empty(), "no customer token could be minted");

    let purchase = purchase_requests(&base, &key, ids.clone());
    let purchases = run_phase(
        "purchases",
        o,
        work_dir,
        (&base, database_url),
        purchase.clone(),
        WrkScript::new("purchases", 201, ids.clone(), WRK_PURCHASE).with_key(&key),
    )
    .await;

    let reward_id =
        prepare_redemptions(&client, &base, &credentials.admin, &key, &sample, o).await?;
    let redemption = redemption_requests(&base, &key, sample.clone(), &reward_id);
    let redemptions = run_phase(
        "redemptions",
        o,
        work_dir,
        (&base, database_url),
        redemption.clone(),
        WrkScript {
            body: json!({ "reward_id": reward_id }).to_string(),
            ..WrkScript::new("redemptions", 201, sample.clone(), WRK_REDEMPTION).with_key(&key)
        },
    )
    .await;

    let me_points = format!("{base}/v1/me/points");
    let balance_read = get_requests(
        tokens
            .iter()
            .map(|t| (me_points.clone(), Arc::from(t.as_str())))
            .collect(),
    );
    let reads = run_phase(
        "balance reads",
        o,
        work_dir,
        (&base, database_url),
        balance_read.clone(),
        WrkScript::new("balance-reads", 200, Arc::new(tokens), WRK_BALANCE),
    )
    .await;

    // Profiles of customers with short and long histories.
    let small = history_customers(&base, &key, o, "small", o.small_history).await?;
    let large = history_customers(&base, &key, o, "large", o.large_history).await?;
    let profile_small_read = customer_gets(&base, &key, &small, "profile");
    let profile_small = run_phase(
        "profile small",
        o,
        work_dir,
        (&base, database_url),
        profile_small_read.clone(),
        WrkScript::new("profile-small", 200, Arc::new(small), WRK_PROFILE).with_key(&key),
    )
    .await;
    let profile_large = run_phase(
        "profile large",
        o,
        work_dir,
        (&base, database_url),
        customer_gets(&base, &key, &large, "profile"),
        WrkScript::new("profile-large", 200, Arc::new(large), WRK_PROFILE).with_key(&key),
    )
    .await;

    let statements = statement_phase(
        &base,
        vec![
            ("purchase", purchase),
            ("redemption", redemption),
            ("balance read (/v1/me/points)", balance_read),
            (
                "customer balance (/v1/customers/{id}/points)",
                customer_gets(&base, &key, &sample, "points"),
            ),
            ("profile read, small history", profile_small_read),
        ],
    )
    .await?;

    let (peak_kib, rss_kib) = server.memory_kib();
    out!(
        "  server memory: peak (VmHWM) {}, now (VmRSS) {}",
        mib(peak_kib),
        mib(rss_kib)
    );
    drop(server);
    Ok(DbResult {
        name,
        customers: ids.len(),
        load_per_second,
        load_errors,
        purchases,
        redemptions,
        reads,
        profile_small,
        profile_large,
        statements,
        peak_kib,
        rss_kib,
    })
}

/// Creates a reward costing [`REWARD_COST_POINTS`] as the admin (a gift, unlimited stock,
/// active) and gives each of `customers` [`GRANTED_POINTS`] points with an adjustment, so that
/// the redemptions never run short; returns the reward's id.
async fn prepare_redemptions(
    client: &reqwest::Client,
    base: &Arc<str>,
    admin: &str,
    key: &Arc<str>,
    customers: &Arc<Vec<String>>,
    o: &Options,
) -> Result<String> {
    let reward = call(
        client,
        reqwest::Method::POST,
        &format!("{base}/v1/rewards"),
        Some(admin),
        Some(&json!({
            "name": {"en": "Free coffee", "fa": "قهوهٔ رایگان", "ar": "قهوة مجانية"},
            "description": {"en": "One coffee of any size"},
            "kind": "gift",
            "cost_points": REWARD_COST_POINTS,
            "active": true
        })),
        &[StatusCode::CREATED],
    )
    .await
    .context("creating the reward")?;
    let reward_id = string_field(&reward, "id")?;
    let started = Instant::now();
    let (granted, errors, first_error) = {
        let base = base.clone();
        let key = key.clone();
        let customers = customers.clone();
        run_jobs(customers.len(), o.clients, move |client, i| {
            let req = client
                .post(format!(
                    "{base}/v1/customers/{}/points/adjustments",
                    customers[i]
                ))
                .bearer_auth(&*key)
                .header("Idempotency-Key", uuid::Uuid::now_v7().to_string())
                .json(&json!({"points": GRANTED_POINTS, "reason": "load benchmark"}));
            async move {
                expect_status(req.send().await.context("sending")?, StatusCode::CREATED).await?;
                Ok(String::new())
            }
        })
        .await?
    };
    out!(
        "  reward of {REWARD_COST_POINTS} points created; {} customers given {GRANTED_POINTS} points each in {:.1} s ({errors} errors)",
        granted.len(),
        started.elapsed().as_secs_f64()
    );
    print_first_error(first_error.as_deref());
    anyhow::ensure!(!granted.is_empty(), "no customer could be given points");
    Ok(reward_id)
}

/// Creates `o.profiles` customers with `history` purchases each (lines in three categories,
/// over two channels and three stores, every tenth partly returned); returns their ids.
async fn history_customers(
    base: &Arc<str>,
    key: &Arc<str>,
    o: &Options,
    label: &str,
    history: usize,
) -> Result<Vec<String>> {
    let nonce = random_secret(6);
    let client = http_client()?;
    let mut ids = Vec::new();
    for n in 0..o.profiles {
        let v = call(
            &client,
            reqwest::Method::POST,
            &format!("{base}/v1/customers"),
            Some(key),
            Some(&json!({"external_id": format!("{label}-{nonce}-{n}")})),
            &[StatusCode::CREATED],
        )
        .await?;
        ids.push(string_field(&v, "id")?);
    }
    let started = Instant::now();
    let total = o.profiles * history;
    let (_, errors, first_error) = {
        let base = base.clone();
        let key = key.clone();
        let ids = Arc::new(ids.clone());
        run_jobs(total, o.clients, move |client, i| {
            let customer = ids[i % ids.len()].clone();
            let base = base.clone();
            let key = key.clone();
            let occurred_at = a_second_ago();
            let category = ["coffee", "tea", "cups"][i % 3];
            let body = json!({
                "external_id": uuid::Uuid::now_v7().to_string(),
                "customer_id": customer,
                "channel": if i % 2 == 0 { "store" } else { "web" },
                "store_id": format!("S{}", i % 3),
                "occurred_at": occurred_at,
                "currency": "USD",
                "total_minor": 3000,
                "lines": [
                    {"sku": format!("{category}-1"), "category": category, "quantity": 2, "unit_price_minor": 1000},
                    {"sku": "bag", "category": "extras", "quantity": 1, "unit_price_minor": 1000}
                ],
            });
            async move {
                let url = format!("{base}/v1/purchases");
                let v = call(&client, reqwest::Method::POST, &url, Some(&key), Some(&body),
                    &[StatusCode::CREATED]).await?;
                if i % 10 == 0 {
                    let id = string_field(&v, "id")?;
                    let url = format!("{base}/v1/purchases/{id}/returns");
                    let ret = json!({"external_id": format!("ret-{id}"),
                        "lines": [{"sku": "bag", "quantity": 1}]});
                    call(&client, reqwest::Method::POST, &url, Some(&key), Some(&ret),
                        &[StatusCode::CREATED]).await?;
                }
                Ok(String::new())
            }
        })
        .await?
    };
    out!(
        "  {} customers with {history} purchases each ({label}) loaded in {:.1} s ({errors} errors)",
        o.profiles,
        started.elapsed().as_secs_f64()
    );
    print_first_error(first_error.as_deref());
    Ok(ids)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "n/a".to_owned(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    )
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

fn ratio(a: f64, b: Option<f64>) -> Option<f64> {
    b.filter(|b| *b > 0.0).map(|b| a / b)
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "missed" }
}

/// A ratio against its target (at least `target`).
fn ratio_target(r: Option<f64>, target: f64) -> String {
    match r {
        Some(r) => format!("{r:.2} {}", met(r >= target)),
        None => "n/a (no pgbench)".to_owned(),
    }
}

/// A latency against its target (under `target_ms`).
fn latency_target(ms: f64, target_ms: f64) -> String {
    format!("{ms:.2} ms {}", met(ms < target_ms))
}

const LABEL_WIDTH: usize = 46;
const COLUMN_WIDTH: usize = 20;

/// A table with one column per database.
struct Table<'a> {
    text: String,
    results: &'a [DbResult],
}

impl<'a> Table<'a> {
    fn new(results: &'a [DbResult]) -> Self {
        let mut text = " ".repeat(LABEL_WIDTH);
        for r in results {
            let _ = write!(text, "{:>COLUMN_WIDTH$}", r.name);
        }
        text.push('\n');
        Self { text, results }
    }

    fn row(&mut self, label: &str, cell: impl Fn(&DbResult) -> String) {
        let _ = write!(self.text, "{label:<LABEL_WIDTH$}");
        for r in self.results {
            let _ = write!(self.text, "{:>COLUMN_WIDTH$}", cell(r));
        }
        self.text.push('\n');
    }
}

fn summary(o: &Options, results: &[DbResult], pg: Option<PgBench>, notes: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n================ Patron load benchmark: summary ================"
    );
    let _ = writeln!(
        s,
        "customers {}, {} s per phase, {} concurrent clients, pool size {}{}",
        o.customers,
        o.seconds,
        o.clients,
        o.pool,
        if o.quick { " (--quick)" } else { "" }
    );
    let _ = writeln!(
        s,
        "load generator of the measured phases: {} (set-up and statement counts: reqwest)",
        o.generator.describe(o.clients)
    );
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        s,
        "This machine has {cores} cores; the load generator, the Patron server and PostgreSQL all share them."
    );
    let _ = writeln!(s);

    let mut t = Table::new(results);
    t.row("customers loaded", |r| r.customers.to_string());
    t.row("customer load rate (/s)", |r| {
        format!("{:.1}", r.load_per_second)
    });
    t.row("customer load errors", |r| r.load_errors.to_string());
    for (label, phase) in PHASES {
        t.row(&format!("{label}/s"), |r| {
            phase(r).cell(|p| format!("{:.1}", p.per_second()))
        });
        t.row(&format!("{label} p50 (ms)"), |r| {
            phase(r).cell(|p| format!("{:.2}", p.p50_ms))
        });
        t.row(&format!("{label} p99 (ms)"), |r| {
            phase(r).cell(|p| format!("{:.2}", p.p99_ms))
        });
        t.row(&format!("{label} errors"), |r| {
            phase(r).cell(|p| p.errors.to_string())
        });
    }
    t.row("server peak memory (VmHWM)", |r| mib(r.peak_kib));
    t.row("server memory at end (VmRSS)", |r| mib(r.rss_kib));
    s.push_str(&t.text);
    let _ = writeln!(s);

    let _ = writeln!(
        s,
        "SQL statements per request ({STATEMENT_REQUESTS} sequential requests of each kind, scheduler off;\n\
         a cache refresh poll may add a fraction):"
    );
    let mut t = Table::new(results);
    if let Some(first) = results.first() {
        for (i, (label, _)) in first.statements.iter().enumerate() {
            t.row(label, |r| {
                r.statements
                    .get(i)
                    .map_or_else(|| "n/a".to_owned(), |(_, c)| c.show())
            });
        }
    }
    s.push_str(&t.text);
    let _ = writeln!(s);

    match pg {
        Some(p) => {
            let _ = writeln!(
                s,
                "pgbench on this machine: tpcb-like {:.1} tps, select-only {:.1} tps",
                p.tpcb_tps, p.select_tps
            );
        }
        None => {
            let _ = writeln!(s, "pgbench: not run (PostgreSQL unreachable or skipped)");
        }
    }
    let _ = writeln!(
        s,
        "Targets (they apply to PostgreSQL; SQLite is shown for information):"
    );
    let mut t = Table::new(results);
    t.row(
        &format!("purchases/s ÷ pgbench tpcb-like ≥ {TARGET_PURCHASE_RATIO}"),
        |r| {
            r.purchases.cell(|p| {
                ratio_target(
                    ratio(p.per_second(), pg.map(|p| p.tpcb_tps)),
                    TARGET_PURCHASE_RATIO,
                )
            })
        },
    );
    t.row(
        &format!("balance reads/s ÷ pgbench select-only ≥ {TARGET_READ_RATIO}"),
        |r| {
            r.reads.cell(|p| {
                ratio_target(
                    ratio(p.per_second(), pg.map(|p| p.select_tps)),
                    TARGET_READ_RATIO,
                )
            })
        },
    );
    t.row(
        &format!("purchase p99 < {TARGET_PURCHASE_P99_MS} ms"),
        |r| {
            r.purchases
                .cell(|p| latency_target(p.p99_ms, TARGET_PURCHASE_P99_MS))
        },
    );
    t.row(
        &format!("redemption p99 < {TARGET_REDEMPTION_P99_MS} ms"),
        |r| {
            r.redemptions
                .cell(|p| latency_target(p.p99_ms, TARGET_REDEMPTION_P99_MS))
        },
    );
    s.push_str(&t.text);
    let _ = writeln!(s);

    for r in results {
        if r.profile_small.failure.is_some() || r.profile_large.failure.is_some() {
            let _ = writeln!(s, "{}: profile reads not compared (a phase failed)", r.name);
            continue;
        }
        let throughput = r.profile_small.per_second() / r.profile_large.per_second().max(1e-9);
        let p99 = r.profile_large.p99_ms / r.profile_small.p99_ms.max(1e-9);
        let _ = writeln!(
            s,
            "{}: profile, {} vs {} purchases: small/large reads/s = {throughput:.2}, large/small p99 = {p99:.2} ({}within 2×)",
            r.name,
            o.small_history,
            o.large_history,
            if throughput <= 2.0 && p99 <= 2.0 {
                ""
            } else {
                "not "
            }
        );
    }
    for n in notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

/// benches/RESULTS.md: the date, the machine's cores, the options and everything printed.
fn results_markdown(started: chrono::DateTime<chrono::Utc>, output: &str) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    // `cargo bench` passes `--bench` to every benchmark binary.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let options = if args.is_empty() {
        "none (the defaults)".to_owned()
    } else {
        format!("`{}`", args.join(" "))
    };
    format!(
        "# Patron load benchmark: results of the last full run\n\n\
         Written by `cargo bench --bench load` at the end of every run that is not `--quick` and \
         covers both databases (see benches/README.md).\n\n\
         - Run started: {} UTC\n\
         - CPU cores: {cores}\n\
         - Options: {options}\n\n\
         ```text\n{}\n```\n",
        started.format("%Y-%m-%d %H:%M:%S"),
        output.trim_matches('\n')
    )
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

fn postgres_reachable(url: &str) -> Result<()> {
    psql(url, "SELECT 1").map(|_| ())
}

fn main() -> Result<()> {
    let o = parse_options()?;
    let started = chrono::Utc::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let bin = release_binary()?;
    let mut results = Vec::new();
    let mut notes = Vec::new();
    let mut pg = None;

    if o.db != DbChoice::Postgres {
        let dir = tempfile::tempdir().context("creating a temporary folder")?;
        let url = format!("sqlite://{}/patron.db", dir.path().display());
        match runtime.block_on(bench_database("SQLite", &bin, &url, dir.path(), &o)) {
            Ok(r) => results.push(r),
            Err(e) => {
                eprintln!("SQLite run failed: {e:#}");
                notes.push(format!("the SQLite run failed: {e:#}"));
            }
        }
    }

    if o.db != DbChoice::Sqlite {
        match postgres_reachable(&o.postgres_url) {
            Err(e) => {
                let msg = format!(
                    "PostgreSQL at {} is unreachable, skipping the PostgreSQL run and pgbench \
                     (set PATRON_BENCH_POSTGRES_URL): {e:#}",
                    o.postgres_url
                );
                out!("\n{msg}");
                notes.push(msg);
            }
            Ok(()) => {
                let run = || -> Result<DbResult> {
                    let db = ScratchDb::create(
                        &o.postgres_url,
                        &format!("patron_bench_{}", std::process::id()),
                    )?;
                    let dir = tempfile::tempdir().context("creating a temporary folder")?;
                    let result = runtime.block_on(bench_database(
                        "PostgreSQL",
                        &bin,
                        &db.url,
                        dir.path(),
                        &o,
                    ));
                    drop(db);
                    result
                };
                match run() {
                    Ok(r) => results.push(r),
                    Err(e) => {
                        eprintln!("PostgreSQL run failed: {e:#}");
                        notes.push(format!("the PostgreSQL run failed: {e:#}"));
                    }
                }
                out!("\n== pgbench ==");
                match run_pgbench(&o.postgres_url, o.seconds, o.clients) {
                    Ok(p) => pg = Some(p),
                    Err(e) => {
                        eprintln!("pgbench failed: {e:#}");
                        notes.push(format!("pgbench failed: {e:#}"));
                    }
                }
            }
        }
    }

    if results.is_empty() {
        bail!("no database run completed:\n{}", notes.join("\n"));
    }
    emit(&summary(&o, &results, pg, &notes));
    let both_ran = ["SQLite", "PostgreSQL"]
        .iter()
        .all(|name| results.iter().any(|r| r.name == *name));
    if !o.quick && both_ran {
        write_results(started);
    }
    Ok(())
}

/// Writes everything printed to benches/RESULTS.md; a failure is reported, never fatal.
fn write_results(started: chrono::DateTime<chrono::Utc>) {
    let path = crate_root().join("benches").join("RESULTS.md");
    let output = OUTPUT.lock().map(|o| o.clone()).unwrap_or_default();
    match std::fs::write(&path, results_markdown(started, &output)) {
        Ok(()) => println!("\nwrote {}", path.display()),
        Err(e) => eprintln!("warning: could not write {}: {e}", path.display()),
    }
}

//! Load benchmark for Patron (see benches/README.md).
//!
//! Builds the release binary, starts it against SQLite and then PostgreSQL, loads customers,
//! measures purchase recording, balance reads and 360° profile reads (for customers with short
//! and with long purchase histories) over HTTP, reads the server's peak memory and
//! compares the throughput with `pgbench` on the same machine. It prints figures and never
//! asserts timings.
//!
//! `cargo bench --bench load [-- --quick] [--customers N] [--seconds S] [--clients C]
//!  [--tokens N] [--profiles N] [--small-history N] [--large-history N] [--db sqlite|postgres|both]`

use std::fmt::Write as _;
use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ADMIN_EMAIL: &str = "bench@example.com";
const ADMIN_PASSWORD: &str = "bench-password-123";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const POOL_SIZE: u32 = 16;
/// Targets the summary checks the figures against.
const TARGET_PURCHASE_RATIO: f64 = 0.5;
const TARGET_READ_RATIO: f64 = 0.25;
const TARGET_PURCHASE_P99_MS: f64 = 50.0;

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbChoice {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Debug, Clone)]
struct Options {
    customers: usize,
    seconds: u64,
    clients: usize,
    tokens: usize,
    /// Customers of each history size whose profiles are read.
    profiles: usize,
    small_history: usize,
    large_history: usize,
    db: DbChoice,
    quick: bool,
    postgres_url: String,
}

const USAGE: &str = "\
usage: cargo bench --bench load -- [options]
  --quick             2,000 customers, 5 s per phase (smoke test)
  --customers N       customers to load (default 100000; env PATRON_BENCH_CUSTOMERS)
  --seconds S         seconds per measured phase (default 20; env PATRON_BENCH_SECONDS)
  --clients C         concurrent HTTP clients (default 16; env PATRON_BENCH_CLIENTS)
  --tokens N          customers given a token for balance reads (default 1000)
  --profiles N        customers of each history size for profile reads (default 2; --quick 1)
  --small-history N   purchases of each small-history customer (default 10)
  --large-history N   purchases of each large-history customer (default 10000; --quick 1000)
  --db WHICH          sqlite, postgres or both (default both)
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
    };
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
            "--customers" => o.customers = number(arg, value(arg)?)?,
            "--seconds" => o.seconds = number(arg, value(arg)?)? as u64,
            "--clients" => o.clients = number(arg, value(arg)?)?,
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
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// Building and running the server
// ---------------------------------------------------------------------------------------------

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Runs `cargo build --release` and returns the path of the `patron` binary.
fn build_release() -> Result<PathBuf> {
    let root = crate_root();
    println!("building the release binary (cargo build --release)…");
    let started = Instant::now();
    let status = Command::new(cargo())
        .args(["build", "--release", "--bin", "patron"])
        .current_dir(&root)
        .status()
        .context("running cargo build --release")?;
    anyhow::ensure!(status.success(), "cargo build --release failed ({status})");
    let target = target_dir(&root)?;
    let bin = target.join("release").join("patron");
    anyhow::ensure!(
        bin.is_file(),
        "the release binary is not at {}",
        bin.display()
    );
    println!(
        "  built in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        bin.display()
    );
    Ok(bin)
}

/// The target directory: `CARGO_TARGET_DIR` if set, else what `cargo metadata` reports.
fn target_dir(root: &Path) -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR")
        && !dir.is_empty()
    {
        let dir = PathBuf::from(dir);
        return Ok(if dir.is_absolute() {
            dir
        } else {
            root.join(dir)
        });
    }
    let out = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo metadata")?;
    if out.status.success() {
        let meta: Value =
            serde_json::from_slice(&out.stdout).context("parsing cargo metadata output")?;
        if let Some(dir) = meta["target_directory"].as_str() {
            return Ok(PathBuf::from(dir));
        }
    }
    Ok(root.join("target"))
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
    fn start(bin: &Path, database_url: &str, work_dir: &Path) -> Result<Self> {
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
            .env("PATRON__DATABASE__POOL_SIZE", POOL_SIZE.to_string())
            .env("PATRON__AUTH__JWT_SECRET", random_secret(48))
            .env("PATRON_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("PATRON_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PATRON__AUTH__API_KEY_REQUESTS_PER_SECOND", "1000000")
            .env("PATRON__AUTH__LOGIN_ATTEMPTS_PER_MINUTE", "1000")
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
    println!("  pgbench -i -s 10 (initialising {})…", db.name);
    pgbench(&db.url, &["-i", "-s", "10", "-q"])?;
    let secs = seconds.to_string();
    let c = clients.to_string();
    println!("  pgbench -c {c} -j 2 -T {secs} (tpcb-like)…");
    let tpcb_tps = parse_tps(&pgbench(&db.url, &["-c", &c, "-j", "2", "-T", &secs])?)?;
    println!("    tps = {tpcb_tps:.1}");
    println!("  pgbench -S -c {c} -j 2 -T {secs} (select-only)…");
    let select_tps = parse_tps(&pgbench(
        &db.url,
        &["-S", "-c", &c, "-j", "2", "-T", &secs],
    )?)?;
    println!("    tps = {select_tps:.1}");
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

/// Logs in as the admin, sets the program and creates an API key; returns the key.
async fn set_up(client: &reqwest::Client, base: &str) -> Result<String> {
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
                       "points:read", "tokens:issue"]
        })),
        &[StatusCode::CREATED, StatusCode::OK],
    )
    .await
    .context("creating the API key")?;
    string_field(&key, "key")
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
}

impl PhaseStats {
    fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn print(&self, name: &str) {
        println!(
            "  {name:<14} {:>9.1} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ok {:>7}   errors {}",
            self.per_second(),
            self.p50_ms,
            self.p99_ms,
            self.ok,
            self.errors
        );
        if let Some(e) = &self.first_error {
            println!("    first error: {e}");
        }
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

/// What one measured request needs: a client, a random source and the worker's number.
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
// One database
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct DbResult {
    name: &'static str,
    customers: usize,
    load_per_second: f64,
    load_errors: usize,
    purchases: PhaseStats,
    reads: PhaseStats,
    profile_small: PhaseStats,
    profile_large: PhaseStats,
    peak_kib: Option<u64>,
    rss_kib: Option<u64>,
}

async fn bench_database(
    name: &'static str,
    bin: &Path,
    database_url: &str,
    work_dir: &Path,
    o: &Options,
) -> Result<DbResult> {
    println!("\n== {name} ==");
    let client = http_client()?;
    let mut server = Server::start(bin, database_url, work_dir)?;
    server.wait_ready(&client).await?;
    println!("  server pid {} ready at {}", server.pid(), server.base);
    let base: Arc<str> = Arc::from(server.base.as_str());
    let key: Arc<str> = Arc::from(set_up(&client, &base).await?.as_str());

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
    println!(
        "  loaded {} customers in {:.1} s: {:.1} customers/s ({} errors)",
        ids.len(),
        load_secs,
        load_per_second,
        load_errors
    );
    if let Some(e) = first_error {
        println!("    first error: {e}");
    }
    anyhow::ensure!(!ids.is_empty(), "no customer could be created");
    let ids: Arc<Vec<String>> = Arc::new(ids);

    // Customer tokens for a sample.
    let sample = o.tokens.min(ids.len());
    let (tokens, token_errors, first_error) = {
        let base = base.clone();
        let key = key.clone();
        let ids = ids.clone();
        let stride = (ids.len() / sample).max(1);
        run_jobs(sample, o.clients, move |client, i| {
            let url = format!(
                "{base}/v1/customers/{}/tokens",
                ids[(i * stride) % ids.len()]
            );
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
    println!(
        "  minted {} customer tokens ({} errors)",
        tokens.len(),
        token_errors
    );
    if let Some(e) = first_error {
        println!("    first error: {e}");
    }
    anyhow::ensure!(!tokens.is_empty(), "no customer token could be minted");
    let tokens: Arc<Vec<String>> = Arc::new(tokens);
    let duration = Duration::from_secs(o.seconds);

    // Purchases.
    println!("  measuring purchases for {} s…", o.seconds);
    let purchases = {
        let url = format!("{base}/v1/purchases");
        let key = key.clone();
        let ids = ids.clone();
        let request: Request = Arc::new(move |client, seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            let customer = &ids[rng.random_range(0..ids.len())];
            // A second ago, so that a server clock slightly behind never sees the future.
            let occurred_at = (chrono::Utc::now() - chrono::Duration::seconds(1))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let body = json!({
                "external_id": uuid::Uuid::now_v7().to_string(),
                "customer_id": customer,
                "channel": "store",
                "occurred_at": occurred_at,
                "currency": "USD",
                "total_minor": rng.random_range(100..=100_000),
            });
            let req = client.post(&url).bearer_auth(&*key).json(&body);
            Box::pin(async move {
                expect_status(req.send().await.context("sending")?, StatusCode::CREATED).await
            })
        });
        measure(o.clients, duration, request).await?
    };
    purchases.print("purchases");

    // Balance reads.
    println!("  measuring balance reads for {} s…", o.seconds);
    let reads = {
        let url = format!("{base}/v1/me/points");
        let tokens = tokens.clone();
        let request: Request = Arc::new(move |client, seed| {
            let token = &tokens[(seed % tokens.len() as u64) as usize];
            let req = client.get(&url).bearer_auth(token);
            Box::pin(async move {
                expect_status(req.send().await.context("sending")?, StatusCode::OK).await
            })
        });
        measure(o.clients, duration, request).await?
    };
    reads.print("balance reads");

    // Profiles of customers with short and long histories.
    let small = history_customers(&base, &key, o, "small", o.small_history).await?;
    let large = history_customers(&base, &key, o, "large", o.large_history).await?;
    println!("  measuring profile reads for {} s each…", o.seconds);
    let profile_small = measure(o.clients, duration, profile_reads(&base, &key, small)).await?;
    profile_small.print("profile small");
    let profile_large = measure(o.clients, duration, profile_reads(&base, &key, large)).await?;
    profile_large.print("profile large");

    let (peak_kib, rss_kib) = server.memory_kib();
    println!(
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
        reads,
        profile_small,
        profile_large,
        peak_kib,
        rss_kib,
    })
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
            let occurred_at = (chrono::Utc::now() - chrono::Duration::seconds(1))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
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
    println!(
        "  {} customers with {history} purchases each ({label}) loaded in {:.1} s ({errors} errors)",
        o.profiles,
        started.elapsed().as_secs_f64()
    );
    if let Some(e) = first_error {
        println!("    first error: {e}");
    }
    Ok(ids)
}

/// `GET /v1/customers/{id}/profile` for one of `ids`, chosen at random.
fn profile_reads(base: &Arc<str>, key: &Arc<str>, ids: Vec<String>) -> Request {
    let urls: Arc<Vec<String>> = Arc::new(
        ids.iter()
            .map(|id| format!("{base}/v1/customers/{id}/profile"))
            .collect(),
    );
    let key = key.clone();
    Arc::new(move |client, seed| {
        let url = &urls[(seed % urls.len() as u64) as usize];
        let req = client.get(url).bearer_auth(&*key);
        Box::pin(async move {
            expect_status(req.send().await.context("sending")?, StatusCode::OK).await
        })
    })
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

fn fmt_ratio(r: Option<f64>, target: f64) -> String {
    match r {
        Some(r) => format!(
            "{r:.2} ({} {target})",
            if r >= target { "meets ≥" } else { "below" }
        ),
        None => "n/a (no pgbench)".to_owned(),
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
        POOL_SIZE,
        if o.quick { " (--quick)" } else { "" }
    );
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        s,
        "This machine has {cores} cores; the HTTP clients, the Patron server and PostgreSQL all share them."
    );
    let _ = writeln!(s);
    let header = format!(
        "{:<34}{}",
        "",
        results
            .iter()
            .map(|r| format!("{:>20}", r.name))
            .collect::<String>()
    );
    let _ = writeln!(s, "{header}");
    let row = |s: &mut String, label: &str, f: &dyn Fn(&DbResult) -> String| {
        let _ = writeln!(
            s,
            "{label:<34}{}",
            results
                .iter()
                .map(|r| format!("{:>20}", f(r)))
                .collect::<String>()
        );
    };
    row(&mut s, "customers loaded", &|r| r.customers.to_string());
    row(&mut s, "customer load rate (/s)", &|r| {
        format!("{:.1}", r.load_per_second)
    });
    row(&mut s, "customer load errors", &|r| {
        r.load_errors.to_string()
    });
    row(&mut s, "purchases/s", &|r| {
        format!("{:.1}", r.purchases.per_second())
    });
    row(&mut s, "purchase p50 (ms)", &|r| {
        format!("{:.2}", r.purchases.p50_ms)
    });
    row(&mut s, "purchase p99 (ms)", &|r| {
        format!("{:.2}", r.purchases.p99_ms)
    });
    row(&mut s, "purchase errors", &|r| {
        r.purchases.errors.to_string()
    });
    row(&mut s, "balance reads/s", &|r| {
        format!("{:.1}", r.reads.per_second())
    });
    row(&mut s, "balance read p50 (ms)", &|r| {
        format!("{:.2}", r.reads.p50_ms)
    });
    row(&mut s, "balance read p99 (ms)", &|r| {
        format!("{:.2}", r.reads.p99_ms)
    });
    row(&mut s, "balance read errors", &|r| {
        r.reads.errors.to_string()
    });
    row(&mut s, "profile reads/s, small history", &|r| {
        format!("{:.1}", r.profile_small.per_second())
    });
    row(&mut s, "profile p99 (ms), small history", &|r| {
        format!("{:.2}", r.profile_small.p99_ms)
    });
    row(&mut s, "profile reads/s, large history", &|r| {
        format!("{:.1}", r.profile_large.per_second())
    });
    row(&mut s, "profile p99 (ms), large history", &|r| {
        format!("{:.2}", r.profile_large.p99_ms)
    });
    row(&mut s, "profile errors (small + large)", &|r| {
        (r.profile_small.errors + r.profile_large.errors).to_string()
    });
    row(&mut s, "server peak memory (VmHWM)", &|r| mib(r.peak_kib));
    row(&mut s, "server memory at end (VmRSS)", &|r| mib(r.rss_kib));
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
    for r in results {
        let _ = writeln!(s, "{}:", r.name);
        let _ = writeln!(
            s,
            "  purchases/s ÷ pgbench tpcb-like tps       = {}",
            fmt_ratio(
                ratio(r.purchases.per_second(), pg.map(|p| p.tpcb_tps)),
                TARGET_PURCHASE_RATIO
            )
        );
        let _ = writeln!(
            s,
            "  balance reads/s ÷ pgbench select-only tps = {}",
            fmt_ratio(
                ratio(r.reads.per_second(), pg.map(|p| p.select_tps)),
                TARGET_READ_RATIO
            )
        );
        let _ = writeln!(
            s,
            "  purchase p99 < {TARGET_PURCHASE_P99_MS} ms                      = {} ({:.2} ms)",
            if r.purchases.p99_ms < TARGET_PURCHASE_P99_MS {
                "yes"
            } else {
                "no"
            },
            r.purchases.p99_ms
        );
    }
    for r in results {
        let throughput = r.profile_small.per_second() / r.profile_large.per_second().max(1e-9);
        let p99 = r.profile_large.p99_ms / r.profile_small.p99_ms.max(1e-9);
        let _ = writeln!(
            s,
            "{}: profile, {} vs {} purchases: small/large reads/s = {throughput:.2}, large/small p99 = {p99:.2} ({})",
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

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

fn postgres_reachable(url: &str) -> Result<()> {
    psql(url, "SELECT 1").map(|_| ())
}

fn main() -> Result<()> {
    let o = parse_options()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let bin = build_release()?;
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
                println!("\n{msg}");
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
                println!("\n== pgbench ==");
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
    print!("{}", summary(&o, &results, pg, &notes));
    Ok(())
}

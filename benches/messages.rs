//! Messages benchmark: how fast the outbox drains to a local SMTP server, and how long the
//! birthday job takes over a large customer base (only the customers whose birthday is due are
//! read and touched).
//!
//! `cargo bench --bench messages [-- --customers N] [--messages N] [--db sqlite|postgres|both]`
//!
//! PostgreSQL: `PATRON_BENCH_POSTGRES_URL` (else `PATRON_TEST_POSTGRES_URL`, else
//! postgres://postgres@127.0.0.1:5432/postgres); the benchmark works in a schema of its own and
//! drops it afterwards. Figures are printed, never asserted.

#[path = "common/db.rs"]
mod bench_db;

use std::io;
use std::net::{IpAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bench_db::BenchDb;
use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use diesel::connection::SimpleConnection;
use mailin_embedded::response::OK;
use mailin_embedded::{Handler, Response, Server};
use patron::clock::{SettableClock, SharedClock};
use patron::config::{Settings, SmtpTls};
use patron::db::{self, DbConnection};
use patron::messages::outbox::{self, NewMessage};
use patron::scheduler::{self, JobContext};
use secrecy::SecretString;

const USAGE: &str = "\
usage: cargo bench --bench messages -- [options]
  --customers N   customers in the database for the birthday job (default 1000000)
  --messages N    messages delivered through the outbox (default 2000)
  --db WHICH      sqlite, postgres or both (default both)";

struct Options {
    customers: usize,
    messages: usize,
    sqlite: bool,
    postgres: bool,
}

fn parse_options() -> Result<Options> {
    let mut o = Options {
        customers: 1_000_000,
        messages: 2000,
        sqlite: true,
        postgres: true,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let mut value = || -> Result<String> {
            i += 1;
            args.get(i)
                .cloned()
                .with_context(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg {
            "--bench" => {}
            "--customers" => o.customers = value()?.parse().context("--customers")?,
            "--messages" => o.messages = value()?.parse().context("--messages")?,
            "--db" => {
                let v = value()?;
                (o.sqlite, o.postgres) = match v.as_str() {
                    "sqlite" => (true, false),
                    "postgres" => (false, true),
                    "both" => (true, true),
                    other => bail!("--db {other:?}: expected sqlite, postgres or both\n{USAGE}"),
                };
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
        i += 1;
    }
    anyhow::ensure!(
        o.customers >= o.messages,
        "--customers must be at least --messages"
    );
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// A local SMTP sink that accepts and counts.
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Counter(Arc<AtomicU64>);

impl Handler for Counter {
    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        OK
    }
    fn data(&mut self, _buf: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn data_end(&mut self) -> Response {
        self.0.fetch_add(1, Ordering::Relaxed);
        OK
    }
}

fn start_sink() -> Result<(u16, Arc<AtomicU64>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let count = Arc::new(AtomicU64::new(0));
    let handler = Counter(count.clone());
    std::thread::spawn(move || {
        let mut server = Server::new(handler);
        server
            .with_name("sink.bench")
            .with_num_threads(16)
            .with_tcp_listener(listener);
        let _ = server.serve();
    });
    Ok((port, count))
}

// ---------------------------------------------------------------------------------------------
// Databases.
// ---------------------------------------------------------------------------------------------

const ZONES: [&str; 6] = [
    "UTC",
    "Asia/Tehran",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Tokyo",
    "Pacific/Auckland",
];

/// Inserts `n` customers with birthdays spread evenly over the year and time zones spread over
/// `ZONES`, in multi-row statements.
fn seed_customers(conn: &mut DbConnection, n: usize, created: &str) -> Result<()> {
    let year_days: Vec<NaiveDate> = (0..366)
        .filter_map(|d| NaiveDate::from_yo_opt(2000, d + 1))
        .collect();
    const ROWS: usize = 2000;
    let mut done = 0;
    while done < n {
        let upto = (done + ROWS).min(n);
        let mut sql = String::with_capacity(ROWS * 220);
        sql.push_str(
            "INSERT INTO customers (id, email, first_name, birthday, birthday_md, birthday_set_at, \
             time_zone, locale, consent_email_marketing, consent_sms_marketing, consent_surveys, \
             attributes, created_at, updated_at) VALUES ",
        );
        for i in done..upto {
            let day = year_days[i % year_days.len()];
            let birth_year = 1960 + (i / year_days.len()) % 45;
            // 29 February only in leap birth years; others move to 28 February.
            let birthday = NaiveDate::from_ymd_opt(birth_year as i32, day.month(), day.day())
                .or_else(|| NaiveDate::from_ymd_opt(birth_year as i32, 2, 28))
                .context("birthday")?;
            let md = birthday.month() * 100 + birthday.day();
            let zone = ZONES[i % ZONES.len()];
            let locale = ["en", "fa", "ar"][i % 3];
            if i > done {
                sql.push(',');
            }
            sql.push_str(&format!(
                "('bench-{i:07}', 'c{i}@bench.test', 'Member{i}', '{birthday}', {md}, '{created}', \
                 '{zone}', '{locale}', TRUE, FALSE, TRUE, '{{}}', '{created}', '{created}')"
            ));
        }
        conn.batch_execute(&sql)?;
        done = upto;
    }
    Ok(())
}

fn settings_for(url: &str, smtp_port: u16) -> Result<Settings> {
    let mut s = Settings::defaults()?;
    s.database.url = url.to_owned();
    s.database.pool_size = 8;
    s.smtp.host = "127.0.0.1".to_owned();
    s.smtp.port = smtp_port;
    s.smtp.tls = SmtpTls::None;
    s.smtp.pool_size = 8;
    s.messages.batch_size = 500;
    Ok(s)
}

async fn context(settings: Settings, clock: SharedClock) -> Result<JobContext> {
    let pool = db::connect(
        &settings.database.url,
        settings.database.pool_size,
        Duration::from_secs(30),
    )?;
    let migrate = pool.clone();
    tokio::task::spawn_blocking(move || db::migrations::run_pending(&mut *migrate.get()?))
        .await??;
    Ok(JobContext {
        pool,
        clock,
        mailer: Arc::new(patron::messages::mailer::Mailer::new(&settings.smtp)?),
        settings: Arc::new(settings),
        secret: Arc::new(SecretString::from(
            "benchmark-signing-key-that-is-long-enough".to_owned(),
        )),
    })
}

async fn blocking<T: Send + 'static>(
    ctx: &JobContext,
    f: impl FnOnce(&mut DbConnection) -> Result<T> + Send + 'static,
) -> Result<T> {
    let pool = ctx.pool.clone();
    tokio::task::spawn_blocking(move || f(&mut *pool.get()?)).await?
}

async fn run_until_idle(ctx: &JobContext, name: &str) -> Result<(u64, Duration, u32)> {
    let job = scheduler::find(name).with_context(|| format!("no job {name}"))?;
    let started = Instant::now();
    let mut items = 0;
    let mut runs = 0;
    loop {
        let report = scheduler::run(ctx, job).await?;
        runs += 1;
        items += report.items;
        if report.items == 0 {
            break;
        }
    }
    Ok((items, started.elapsed(), runs))
}

async fn bench(db: BenchDb, o: &Options) -> Result<()> {
    println!("\n== {} ==", db.name());
    let (port, received) = start_sink()?;
    // A Thursday morning in UTC; customers whose local 09:00 has passed today get their offer.
    let now = Utc
        .with_ymd_and_hms(2026, 6, 11, 12, 0, 0)
        .single()
        .context("time")?;
    let clock = Arc::new(SettableClock::new(now));
    let ctx = context(settings_for(db.url(), port)?, clock.clone()).await?;
    let created = "2024-01-01 00:00:00";

    let n = o.customers;
    let seeded = Instant::now();
    blocking(&ctx, move |c| {
        db::write(c, |c| -> Result<()> {
            seed_customers(c, n, created)?;
            // Every customer has a balance row from the day they joined.
            c.batch_execute(
                "INSERT INTO balances (customer_id, available, pending, negative, lifetime_earned, \
                 redeemed, expired, updated_at, last_seq) \
                 SELECT id, 0, 0, 0, 0, 0, 0, created_at, 0 FROM customers",
            )?;
            Ok(())
        })?;
        if let DbConnection::Postgres(pg) = c {
            pg.batch_execute("ANALYZE customers; ANALYZE balances")?;
        }
        Ok(())
    })
    .await?;
    println!(
        "seeded {n} customers in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

    // Birthday job: a bonus of 50 points, no gift code, offers on the day at 09:00 local.
    blocking(&ctx, move |c| {
        let mut program = patron::program::repo::load(c)?;
        program.birthday.enabled = true;
        program.birthday.bonus_points = 50;
        program.birthday.min_days_known = 30;
        program.contact_policy.quiet_hours = None;
        program.contact_policy.weekly_marketing_cap = 100;
        patron::program::repo::save(c, &program, now.naive_utc())?;
        Ok(())
    })
    .await?;
    let (offers, took, runs) = run_until_idle(&ctx, "birthday_offers").await?;
    println!(
        "birthday_offers: {offers} offers for {n} customers in {:.3} s ({runs} runs, {:.2} ms per offer)",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / offers.max(1) as f64
    );
    let (again, took_again, _) = run_until_idle(&ctx, "birthday_offers").await?;
    println!(
        "birthday_offers again at the same moment: {again} offers in {:.3} s (nothing due twice)",
        took_again.as_secs_f64()
    );
    // The birthday messages go out with the others below; count what is pending first.

    // Outbox delivery: `--messages` service messages plus the birthday messages.
    let m = o.messages;
    let at = now.naive_utc();
    blocking(&ctx, move |c| {
        db::write(c, |c| -> Result<()> {
            for i in 0..m {
                let id = format!("bench-{i:07}");
                outbox::enqueue(
                    c,
                    NewMessage {
                        customer_id: &id,
                        kind: patron::messages::Kind::PointsExpiring,
                        dedupe_key: format!("bench:{i}"),
                        cause_type: "lot_batch",
                        cause_id: &id,
                        payload: serde_json::json!({"points": 120, "expires_at": "2026-07-01T00:00:00Z"}),
                        due_at: at,
                        suppressed: None,
                    },
                    at,
                )?;
            }
            Ok(())
        })
    })
    .await?;
    let pending: i64 = blocking(&ctx, |c| {
        use diesel::prelude::*;
        use patron::db::schema::messages;
        Ok(messages::table
            .filter(messages::status.eq("pending"))
            .count()
            .get_result(c)?)
    })
    .await?;
    let (sent, took, runs) = run_until_idle(&ctx, "dispatch_outbox").await?;
    let got = received.load(Ordering::Relaxed);
    println!(
        "dispatch_outbox: {sent} of {pending} pending messages handled in {:.2} s over {runs} runs: \
         {:.0} messages/s; the SMTP sink received {got}",
        took.as_secs_f64(),
        sent as f64 / took.as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn main() -> Result<()> {
    let o = parse_options()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        if o.sqlite {
            bench(BenchDb::sqlite()?, &o).await?;
        }
        if o.postgres {
            bench(BenchDb::postgres()?, &o).await?;
        }
        Ok(())
    })
}

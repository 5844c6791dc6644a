//! Reports benchmark: how long each report takes over a large data set — by default 1,000,000
//! feedback responses and 1,000,000 purchases over 100,000 customers — on SQLite and on
//! PostgreSQL. The data set is seeded with bulk SQL (set-based INSERT … SELECT over a generated
//! series), then each report is computed through the same service functions the HTTP handlers
//! call, on a pooled connection.
//!
//! `cargo bench --bench reports [-- --responses N] [--purchases N] [--customers N]
//!  [--runs N] [--db sqlite|postgres|both]`
//!
//! PostgreSQL: `PATRON_BENCH_POSTGRES_URL` (else `PATRON_TEST_POSTGRES_URL`, else
//! postgres://postgres@127.0.0.1:5432/postgres); the benchmark works in a schema of its own and
//! drops it afterwards. Figures are printed, never asserted.

#[path = "common/db.rs"]
mod bench_db;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bench_db::BenchDb;
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use patron::db::{self, DbConnection};
use patron::feedback::Kind;
use patron::reports::comments::{self, CommentFilter};
use patron::reports::params::{GroupBy, Range};
use patron::reports::{cx, loyalty, recovery, retention};

const USAGE: &str = "\
usage: cargo bench --bench reports -- [options]
  --responses N   feedback responses (default 1000000)
  --purchases N   purchases, each with an earn entry in the ledger (default 1000000)
  --customers N   customers (default 100000)
  --runs N        timed runs of each report (default 3; the median is shown)
  --db WHICH      sqlite, postgres or both (default both)
  --without-report-indexes
                  drop the indexes the reports migration adds, to measure what they bring";

struct Options {
    responses: i64,
    purchases: i64,
    customers: i64,
    runs: usize,
    without_report_indexes: bool,
    sqlite: bool,
    postgres: bool,
}

fn parse_options() -> Result<Options> {
    let mut o = Options {
        responses: 1_000_000,
        purchases: 1_000_000,
        customers: 100_000,
        runs: 3,
        without_report_indexes: false,
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
            "--responses" => o.responses = value()?.parse().context("--responses")?,
            "--purchases" => o.purchases = value()?.parse().context("--purchases")?,
            "--customers" => o.customers = value()?.parse().context("--customers")?,
            "--runs" => o.runs = value()?.parse().context("--runs")?,
            "--without-report-indexes" => o.without_report_indexes = true,
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
        o.customers >= 10 && o.responses >= 1 && o.purchases >= 1 && o.runs >= 1,
        "--customers must be at least 10, the others at least 1"
    );
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// Databases.
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Seeding: set-based INSERT … SELECT over a series 0..n, with the few expressions that differ
// between the backends (the series itself, adding seconds to a time) chosen per connection.
// ---------------------------------------------------------------------------------------------

/// The year of data ends here (the reports run "now").
const NOW: &str = "2026-11-22 12:00:00";
/// And starts here.
const START: &str = "2025-11-22 12:00:00";
const YEAR_SECONDS: i64 = 365 * 86_400;

struct Sql {
    pg: bool,
}

impl Sql {
    /// `INSERT INTO {table} ({cols}) SELECT {select} FROM <series 0..n as i>`.
    fn insert(&self, table: &str, cols: &str, select: &str, n: i64) -> String {
        if self.pg {
            format!(
                "INSERT INTO {table} ({cols}) SELECT {select} \
                 FROM generate_series(0::bigint, {last}::bigint) AS s(i)",
                last = n - 1
            )
        } else {
            format!(
                "INSERT INTO {table} ({cols}) WITH RECURSIVE s(i) AS \
                 (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {last}) SELECT {select} FROM s",
                last = n - 1
            )
        }
    }

    /// `base` plus `secs` seconds, as a timestamp stored the way diesel stores it.
    fn plus(&self, base: &str, secs: &str) -> String {
        if self.pg {
            format!("({base} + ({secs}) * INTERVAL '1 second')")
        } else {
            format!("datetime({base}, '+' || ({secs}) || ' seconds')")
        }
    }

    /// The time `secs` seconds after the start of the year of data.
    fn at(&self, secs: &str) -> String {
        if self.pg {
            self.plus(&format!("TIMESTAMP '{START}'"), secs)
        } else {
            self.plus(&format!("'{START}'"), secs)
        }
    }
}

/// A well-spread pseudo-random number 0..1000003 from the row number.
const H: &str = "((i * 2654435761) % 1000003)";

fn seed(conn: &mut DbConnection, o: &Options) -> Result<()> {
    let q = Sql {
        pg: matches!(conn, DbConnection::Postgres(_)),
    };
    let n_c = o.customers;
    let created = q.at("0");
    let mut statements = Vec::new();

    // Customers: 2% erased, the rest members.
    statements.push(q.insert(
        "customers",
        "id, external_id, consent_email_marketing, consent_sms_marketing, consent_surveys, \
         attributes, created_at, updated_at, erased_at",
        &format!(
            "'bc-' || i, 'ext-' || i, FALSE, FALSE, TRUE, '{{}}', {created}, {created}, \
             CASE WHEN i % 50 = 49 THEN {created} ELSE NULL END"
        ),
        n_c,
    ));
    statements.push(q.insert(
        "balances",
        "customer_id, available, pending, negative, lifetime_earned, redeemed, expired, \
         updated_at, last_seq",
        &format!("'bc-' || i, 100 + {H} % 2000, {H} % 50, 0, 5000, 50, 0, {created}, 0"),
        n_c,
    ));
    statements.push(
        "INSERT INTO tiers (id, name, threshold, multiplier_percent, benefits, created_at, updated_at) \
         VALUES ('t-bronze', 'Bronze', 0, 100, '[]', '2025-01-01 00:00:00', '2025-01-01 00:00:00'), \
         ('t-silver', 'Silver', 1000, 125, '[]', '2025-01-01 00:00:00', '2025-01-01 00:00:00'), \
         ('t-gold', 'Gold', 5000, 150, '[]', '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
            .to_owned(),
    );
    // Six customers in ten have a tier.
    statements.push(q.insert(
        "customer_tiers",
        "customer_id, tier_id, since",
        &format!(
            "'bc-' || (i / 6 * 10 + i % 6), CASE i % 3 WHEN 0 THEN 't-bronze' WHEN 1 THEN 't-silver' \
             ELSE 't-gold' END, {created}"
        ),
        n_c * 6 / 10,
    ));
    statements.push(q.insert(
        "customer_stats",
        "customer_id, purchase_count, spent_minor, segment, segment_since, updated_at",
        &format!(
            "'bc-' || i, 10, 100000, CASE i % 7 WHEN 0 THEN 'new' WHEN 1 THEN 'champion' \
             WHEN 2 THEN 'loyal' WHEN 3 THEN 'promising' WHEN 4 THEN 'at_risk' \
             WHEN 5 THEN 'hibernating' ELSE 'lost' END, {created}, {created}"
        ),
        n_c,
    ));

    // Purchases spread evenly over the year, each customer buying purchases/customers times.
    let n_p = o.purchases;
    let p_at = q.at(&format!("i * {YEAR_SECONDS} / {n_p}"));
    let buyer = format!("'bc-' || ((i * 7) % {n_c})");
    statements.push(q.insert(
        "purchases",
        "id, external_id, customer_id, store_id, channel, occurred_at, currency, total_minor, \
         points_earned, breakdown, request_hash, created_at",
        &format!(
            "'bp-' || i, 'order-' || i, {buyer}, 'store-' || (i % 50), \
             CASE i % 3 WHEN 0 THEN 'web' ELSE 'store' END, {p_at}, 'USD', \
             1000 + {H} % 100000, (1000 + {H} % 100000) / 100, '[]', 'x', {p_at}"
        ),
        n_p,
    ));
    // An earn entry per purchase; `seq` is unique per customer (customer = 7i mod customers).
    statements.push(q.insert(
        "ledger_entries",
        "id, customer_id, kind, points, pending, negative, balance_after, pending_after, \
         source_type, source_id, created_at, seq",
        &format!(
            "'le-' || i, {buyer}, 'earn', (1000 + {H} % 100000) / 100, 0, 0, 0, 0, \
             'purchase', 'bp-' || i, {p_at}, 1 + i / {n_c}"
        ),
        n_p,
    ));
    // A redemption and an expiry for every customer, spread over the year.
    let top = n_p / n_c + 2;
    for (offset, kind, points) in [(1, "redeem", -50), (2, "expire", -20)] {
        let at = q.at(&format!("(i * 7919) % {YEAR_SECONDS}"));
        statements.push(q.insert(
            "ledger_entries",
            "id, customer_id, kind, points, pending, negative, balance_after, pending_after, \
             source_type, source_id, created_at, seq",
            &format!(
                "'l{kind}-' || i, 'bc-' || i, '{kind}', {points}, 0, 0, 0, 0, 'bench', 'b-' || i, \
                 {at}, {}",
                top + offset
            ),
            n_c,
        ));
    }

    // Surveys and invitations (one in three answered) for the response rates.
    statements.push(
        "INSERT INTO surveys (id, name, kind, scale, question, open_question, trigger_type, \
         delay_hours, reminder_after_hours, max_reminders, expires_after_days, active, created_at, \
         updated_at) VALUES \
         ('s-nps', 'NPS', 'nps', 10, '{}', '{}', 'manual', 0, 24, 0, 30, TRUE, '2025-01-01 00:00:00', '2025-01-01 00:00:00'), \
         ('s-csat', 'CSAT', 'csat', 5, '{}', '{}', 'manual', 0, 24, 0, 30, TRUE, '2025-01-01 00:00:00', '2025-01-01 00:00:00'), \
         ('s-ces5', 'CES 5', 'ces', 5, '{}', '{}', 'manual', 0, 24, 0, 30, TRUE, '2025-01-01 00:00:00', '2025-01-01 00:00:00'), \
         ('s-ces7', 'CES 7', 'ces', 7, '{}', '{}', 'manual', 0, 24, 0, 30, TRUE, '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
            .to_owned(),
    );
    let n_i = o.responses * 3 / 10;
    let i_at = q.at(&format!("i * {YEAR_SECONDS} / {n_i}"));
    statements.push(q.insert(
        "survey_invitations",
        "id, survey_id, customer_id, kind, scale, dedupe_key, cause_type, cause_id, status, \
         channel, store_id, due_at, sent_at, created_at, updated_at",
        &format!(
            "'bi-' || i, CASE i % 4 WHEN 0 THEN 's-nps' WHEN 1 THEN 's-csat' WHEN 2 THEN 's-ces5' \
             ELSE 's-ces7' END, 'bc-' || (i % {n_c}), \
             CASE i % 4 WHEN 0 THEN 'nps' WHEN 1 THEN 'csat' ELSE 'ces' END, \
             CASE i % 4 WHEN 0 THEN 10 WHEN 1 THEN 5 WHEN 2 THEN 5 ELSE 7 END, \
             'bench:' || i, 'manual', 'b-' || i, \
             CASE WHEN i % 3 = 0 THEN 'answered' ELSE 'sent' END, \
             CASE i % 5 WHEN 0 THEN 'store' WHEN 1 THEN 'web' WHEN 2 THEN 'app' WHEN 3 THEN 'kiosk' ELSE 'chat' END, \
             'store-' || (i % 50), {i_at}, {i_at}, {i_at}, {i_at}"
        ),
        n_i,
    ));

    // Responses: kinds in turn, CES on both scales, 5% skipped, one in ten with a comment,
    // one in ten anonymous, five channels, 50 stores, 200 agents (a quarter without).
    let n_r = o.responses;
    let r_at = q.at(&format!("i * {YEAR_SECONDS} / {n_r}"));
    statements.push(q.insert(
        "feedback_responses",
        "id, customer_id, kind, scale, score, comment, channel, touchpoint, store_id, agent_id, \
         source, occurred_at, created_at",
        &format!(
            "'bf-' || i, CASE WHEN i % 10 = 9 THEN NULL ELSE 'bc-' || (i % {n_c}) END, \
             CASE i % 3 WHEN 0 THEN 'nps' WHEN 1 THEN 'csat' ELSE 'ces' END, \
             CASE i % 3 WHEN 0 THEN 10 WHEN 1 THEN 5 ELSE (CASE (i / 3) % 2 WHEN 0 THEN 5 ELSE 7 END) END, \
             CASE WHEN (i * 13) % 20 = 0 THEN NULL \
                  WHEN i % 3 = 0 THEN {H} % 11 \
                  WHEN i % 3 = 1 THEN 1 + {H} % 5 \
                  WHEN (i / 3) % 2 = 0 THEN 1 + {H} % 5 ELSE 1 + {H} % 7 END, \
             CASE WHEN (i * 13) % 20 = 0 OR {H} % 10 = 0 THEN 'Comment number ' || i ELSE NULL END, \
             CASE i % 5 WHEN 0 THEN 'store' WHEN 1 THEN 'web' WHEN 2 THEN 'app' WHEN 3 THEN 'kiosk' ELSE 'chat' END, \
             CASE i % 4 WHEN 0 THEN 'checkout' WHEN 1 THEN 'delivery' WHEN 2 THEN 'support' ELSE NULL END, \
             'store-' || (i % 50), CASE WHEN i % 4 = 3 THEN NULL ELSE 'agent-' || (i % 200) END, \
             'api', {r_at}, {r_at}"
        ),
        n_r,
    ));
    // Recovery cases for a tenth of the bad answers of known customers; half resolved within
    // 0–3 days.
    let resolved_at = q.plus(
        "occurred_at",
        &format!("(CAST(SUBSTR(id, 4) AS BIGINT) * 7) % {}", 3 * 86_400),
    );
    statements.push(format!(
        "INSERT INTO recovery_cases (id, customer_id, response_id, kind, scale, score, channel, \
         touchpoint, store_id, agent_id, status, opened_at, resolved_at, created_at, updated_at) \
         SELECT 'rc-' || id, customer_id, id, kind, scale, score, channel, touchpoint, store_id, \
         agent_id, CASE WHEN LENGTH(id) % 2 = 0 THEN 'resolved' ELSE 'open' END, occurred_at, \
         CASE WHEN LENGTH(id) % 2 = 0 THEN {resolved_at} ELSE NULL END, occurred_at, occurred_at \
         FROM feedback_responses \
         WHERE customer_id IS NOT NULL AND score IS NOT NULL AND id LIKE '%7' \
         AND ((kind = 'nps' AND score <= 6) OR (kind <> 'nps' AND score <= 2))"
    ));
    db::write(conn, |c| -> Result<()> {
        for s in &statements {
            c.batch_execute(s)
                .with_context(|| format!("seeding: {}", &s[..s.len().min(120)]))?;
        }
        Ok(())
    })?;
    match conn {
        DbConnection::Postgres(pg) => pg.batch_execute(
            "VACUUM ANALYZE customers, balances, tiers, customer_tiers, customer_stats, purchases, \
             ledger_entries, surveys, survey_invitations, feedback_responses, recovery_cases",
        )?,
        DbConnection::Sqlite(lite) => lite.batch_execute("ANALYZE")?,
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Timing.
// ---------------------------------------------------------------------------------------------

fn time<T>(
    conn: &mut DbConnection,
    runs: usize,
    mut f: impl FnMut(&mut DbConnection) -> Result<T>,
) -> Result<(Duration, Duration)> {
    let mut took = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f(conn)?;
        took.push(started.elapsed());
    }
    took.sort();
    Ok((took[took.len() / 2], took[took.len() - 1]))
}

fn utc(s: &str) -> Result<NaiveDateTime> {
    Ok(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")?)
}

fn bench(db: &BenchDb, o: &Options) -> Result<Vec<(String, Duration, Duration)>> {
    println!("\n== {} ==", db.name());
    let pool = db::connect(db.url(), 2, Duration::from_secs(60))?;
    let mut conn = pool.get()?;
    db::migrations::run_pending(&mut conn)?;
    if o.without_report_indexes {
        conn.batch_execute("DROP INDEX purchases_time_idx; DROP INDEX ledger_entries_kind_idx")?;
        println!("without purchases_time_idx and ledger_entries_kind_idx");
    }
    let seeded = Instant::now();
    seed(&mut conn, o)?;
    println!(
        "seeded {} customers, {} purchases (+ earn entries), {} responses, {} invitations in {:.1} s",
        o.customers,
        o.purchases,
        o.responses,
        o.responses * 3 / 10,
        seeded.elapsed().as_secs_f64()
    );

    let now = utc(NOW)?;
    let month = Range {
        from: now - chrono::Duration::days(30),
        to: now,
    };
    let year = Range {
        from: now - chrono::Duration::days(365),
        to: now,
    };
    let mut rows = Vec::new();
    let runs = o.runs;
    let mut record = |name: String, t: (Duration, Duration)| {
        println!(
            "{name:<40} median {:>8.1} ms   max {:>8.1} ms",
            t.0.as_secs_f64() * 1e3,
            t.1.as_secs_f64() * 1e3
        );
        rows.push((name, t.0, t.1));
    };
    for (rname, range) in [("30 days", month), ("365 days", year)] {
        for by in [None, Some(GroupBy::Week), Some(GroupBy::Channel)] {
            let by_name = by.map_or("total", |b| b.as_str());
            record(
                format!("nps {rname}, {by_name}"),
                time(&mut conn, runs, |c| Ok(cx::nps(c, range, by)?))?,
            );
            record(
                format!("csat {rname}, {by_name}"),
                time(&mut conn, runs, |c| Ok(cx::csat(c, range, by)?))?,
            );
            record(
                format!("ces {rname}, {by_name}"),
                time(&mut conn, runs, |c| Ok(cx::ces(c, range, by, None)?))?,
            );
        }
    }
    for (name, kinds, max) in [
        ("comments 30 days, first page", vec![], None),
        (
            "comments nps ≤ 6, 365 days, first page",
            vec![Kind::Nps],
            Some(6),
        ),
    ] {
        let range = if max.is_some() { year } else { month };
        let filter = CommentFilter {
            kinds,
            min_score: None,
            max_score: max,
            range,
            before: None,
        };
        record(
            name.to_owned(),
            time(&mut conn, runs, |c| Ok(comments::page(c, &filter, 51)?))?,
        );
    }
    for (rname, range) in [("30 days", month), ("365 days", year)] {
        record(
            format!("loyalty {rname}"),
            time(&mut conn, runs, |c| {
                loyalty::report(c, range).map_err(|e| anyhow::anyhow!("{e}"))
            })?,
        );
        record(
            format!("recovery {rname}"),
            time(&mut conn, runs, |c| Ok(recovery::report(c, range)?))?,
        );
    }
    for days in [30, 180] {
        record(
            format!("retention period_days={days}"),
            time(&mut conn, runs, |c| Ok(retention::report(c, now, days)?))?,
        );
    }
    Ok(rows)
}

fn main() -> Result<()> {
    let o = parse_options()?;
    let mut results = Vec::new();
    if o.sqlite {
        let db = BenchDb::sqlite()?;
        results.push((db.name(), bench(&db, &o)?));
    }
    if o.postgres {
        let db = BenchDb::postgres()?;
        results.push((db.name(), bench(&db, &o)?));
    }
    println!("\n== Summary (median of {} runs, ms) ==", o.runs);
    let names: Vec<&str> = results.iter().map(|(n, _)| *n).collect();
    println!(
        "{:<40} {}",
        "report",
        names.iter().map(|n| format!("{n:>12}")).collect::<String>()
    );
    if let Some((_, first)) = results.first() {
        for (i, (name, _, _)) in first.iter().enumerate() {
            let cells: String = results
                .iter()
                .map(|(_, rows)| {
                    rows.get(i).map_or("-".to_owned(), |r| {
                        format!("{:>12.1}", r.1.as_secs_f64() * 1e3)
                    })
                })
                .collect();
            println!("{name:<40} {cells}");
        }
    }
    Ok(())
}

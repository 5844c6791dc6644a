//! The command line: staff and API keys created by the CLI work against the server.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, ok};

fn patron(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_patron"))
        .args(args)
        .env("PATRON__DATABASE__URL", app.db.url())
        .env("PATRON__AUTH__JWT_SECRET", crate::helpers::SECRET)
        .env("PATRON_PASSWORD", "a password from the cli")
        .env("RUST_LOG", "error")
        .output()
        .expect("patron runs")
}

#[tokio::test]
async fn cli_creates_staff_and_api_keys_that_the_server_accepts() {
    let app = TestApp::spawn().await;
    let out = patron(
        &app,
        &[
            "staff",
            "create",
            "--email",
            "Cli@Example.com",
            "--role",
            "marketer",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(
        app.login("cli@example.com", "a password from the cli")
            .await,
        StatusCode::OK,
    )
    .await;

    let out = patron(
        &app,
        &[
            "api-keys",
            "create",
            "--name",
            "till",
            "--scopes",
            "customers:read,customers:write",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout
        .lines()
        .find(|l| l.starts_with("pk_"))
        .expect("key printed")
        .trim()
        .to_owned();
    ok(
        app.post("/v1/customers", &key, json!({"email": "a@example.com"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn cli_rejects_unknown_scopes_roles_and_jobs() {
    let app = TestApp::spawn().await;
    let out = patron(
        &app,
        &[
            "api-keys",
            "create",
            "--name",
            "till",
            "--scopes",
            "everything",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "clap usage error");
    let out = patron(
        &app,
        &[
            "staff",
            "create",
            "--email",
            "a@example.com",
            "--role",
            "owner",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = patron(&app, &["jobs", "run", "nothing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown job"));
}

/// The job names in README.md's `### Jobs` table (first column, in backticks).
fn jobs_named_in_readme() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md is readable");
    let section = readme
        .split("\n### Jobs\n")
        .nth(1)
        .expect("README.md has a ### Jobs section");
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let first = l.trim_start_matches('|').split('|').next()?.trim();
            first
                .strip_prefix('`')
                .and_then(|f| f.strip_suffix('`'))
                .map(str::to_owned)
        })
        .collect()
}

#[tokio::test]
async fn every_job_the_readme_names_is_listed_and_runs_through_the_binary() {
    let app = TestApp::spawn().await;
    let named = jobs_named_in_readme();
    assert!(
        ["release_pending", "expire_points", "tier_review"]
            .iter()
            .all(|j| named.iter().any(|n| n == j)),
        "README names {named:?}"
    );
    let out = patron(&app, &["jobs", "list"]);
    assert!(out.status.success());
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    let mut sorted_named = named.clone();
    sorted_named.sort();
    let mut sorted_listed = listed.clone();
    sorted_listed.sort();
    assert_eq!(
        sorted_listed, sorted_named,
        "`patron jobs list` and README's job table name the same jobs"
    );
    for job in &named {
        let out = patron(&app, &["jobs", "run", job]);
        assert!(
            out.status.success(),
            "jobs run {job}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("{job}: 0 item(s), 0 skipped")),
            "jobs run {job} printed {stdout}"
        );
    }
}

/// `patron serve` on the test's database with the scheduler on: `release_pending` every
/// second, every other job off.
fn serve(app: &TestApp, release_pending: &str) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patron"));
    cmd.arg("serve")
        .env("PATRON__DATABASE__URL", app.db.url())
        .env("PATRON__AUTH__JWT_SECRET", crate::helpers::SECRET)
        .env("PATRON__SERVER__PORT", "0")
        .env("PATRON__SCHEDULER__ENABLED", "true")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let defaults = patron::config::Settings::defaults().expect("defaults");
    for name in defaults.scheduler.jobs.keys() {
        cmd.env(
            format!("PATRON__SCHEDULER__JOBS__{}", name.to_uppercase()),
            "",
        );
    }
    cmd.env("PATRON__SCHEDULER__JOBS__RELEASE_PENDING", release_pending);
    cmd.spawn().expect("patron serve starts")
}

/// Waits for the child to exit, up to `secs`; kills it if it is still running.
fn wait_for_exit(child: &mut std::process::Child, secs: u64) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("child status") {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[tokio::test]
async fn patron_serve_runs_jobs_on_their_cron_schedule() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mut child = serve(&app, "* * * * * *");
    // The job runs inside the binary; its runs are recorded in the shared database, which the
    // test's own server reports.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut last = serde_json::Value::Null;
    let ran = loop {
        if let Some(status) = child.try_wait().expect("child status") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            panic!("patron serve exited with {status}: {err}");
        }
        let list = ok(app.get("/v1/admin/jobs", &admin).await, StatusCode::OK).await;
        let job = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["name"] == "release_pending")
            .cloned()
            .expect("release_pending listed");
        let finished = job["runs"].as_i64().unwrap_or(0) >= 1
            && job["last_run"]["finished_at"].is_string()
            && job["last_run"]["error"].is_null();
        if finished {
            break true;
        }
        last = list;
        if std::time::Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(ran, "release_pending never finished a run: {last}");
    // The jobs that were off never ran.
    let list = ok(app.get("/v1/admin/jobs", &admin).await, StatusCode::OK).await;
    for job in list["data"].as_array().unwrap() {
        if job["name"] != "release_pending" {
            assert_eq!(job["runs"], 0, "{job}");
        }
    }
}

#[tokio::test]
async fn patron_serve_refuses_an_invalid_cron_expression() {
    let app = TestApp::spawn().await;
    let mut child = serve(&app, "every minute please");
    let status = wait_for_exit(&mut child, 60).expect("patron serve exits");
    assert!(!status.success());
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    assert!(
        err.contains("scheduler.jobs.release_pending")
            && err.contains("not a valid cron expression"),
        "stderr: {err}"
    );
}

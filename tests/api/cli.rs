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
    let out = patron(&app, &["jobs", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        listed.contains("release_pending") && listed.contains("expire_points"),
        "{listed}"
    );
    let out = patron(&app, &["jobs", "run", "release_pending"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("release_pending: 0 item(s)"));
    let out = patron(&app, &["jobs", "run", "nothing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown job"));
}

//! Program settings through the console.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{form_fields, pairs, problem_at, set, untick};
use crate::console_client::{ConsoleClient, location};
use crate::helpers::{TestApp, ok};

async fn program(app: &TestApp) -> Value {
    ok(
        app.get("/v1/program", &app.admin_token().await).await,
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn the_program_form_shows_every_setting_and_saves_changes_the_api_reads_back() {
    let app = TestApp::spawn().await;
    let before = program(&app).await;
    let mut console = ConsoleClient::admin(&app).await;
    let (status, html) = console.page("/admin/program").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"save-program\""));
    // Every field is explained; money fields name the currency.
    assert!(
        html.contains("Minor units of USD a customer spends"),
        "{html}"
    );
    let mut form = form_fields(&html, "program-form");
    assert!(
        form.contains(&("pending_days".into(), "14".into())),
        "{form:?}"
    );
    assert!(form.contains(&("contact_policy.quiet_hours".into(), "on".into())));
    assert!(form.contains(&("contact_policy.quiet_hours.start_hour".into(), "21".into())));

    set(&mut form, "pending_days", "7");
    set(&mut form, "earn_rate.points", "2");
    set(&mut form, "time_zone", "Asia/Tehran");
    set(&mut form, "default_locale", "fa");
    set(&mut form, "birthday.bonus_points", "50");
    set(&mut form, "birthday.enabled", "on");
    untick(&mut form, "contact_policy.quiet_hours");
    untick(&mut form, "follow_up.enabled");
    let resp = console.send_form("/admin/program", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/admin/program?flash=saved");

    let after = program(&app).await;
    assert_eq!(after["pending_days"], 7);
    assert_eq!(after["earn_rate"], json!({"spend_minor": 100, "points": 2}));
    assert_eq!(after["time_zone"], "Asia/Tehran");
    assert_eq!(after["default_locale"], "fa");
    assert_eq!(after["birthday"]["enabled"], true);
    assert_eq!(after["birthday"]["bonus_points"], 50);
    assert_eq!(after["contact_policy"]["quiet_hours"], Value::Null);
    assert_eq!(after["follow_up"]["enabled"], false);
    // Everything else is as it was.
    let mut expected = before.clone();
    for (path, value) in [
        ("pending_days", json!(7)),
        ("time_zone", json!("Asia/Tehran")),
        ("default_locale", json!("fa")),
    ] {
        expected[path] = value;
    }
    expected["earn_rate"]["points"] = json!(2);
    expected["birthday"]["enabled"] = json!(true);
    expected["birthday"]["bonus_points"] = json!(50);
    expected["contact_policy"]["quiet_hours"] = Value::Null;
    expected["follow_up"]["enabled"] = json!(false);
    assert_eq!(after, expected);

    // The form shows the saved document: quiet hours off, their hours empty.
    let (_, html) = console.page("/admin/program?flash=saved").await;
    assert!(html.contains("role=\"status\""), "the flash is shown");
    let form = form_fields(&html, "program-form");
    assert!(!form.iter().any(|(k, _)| k == "contact_policy.quiet_hours"));
    assert!(form.contains(&("pending_days".into(), "7".into())));
}

#[tokio::test]
async fn a_value_the_api_refuses_is_shown_next_to_its_field_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let before = program(&app).await;
    let mut console = ConsoleClient::admin(&app).await;
    let (_, html) = console.page("/admin/program").await;
    let mut form = form_fields(&html, "program-form");
    set(&mut form, "pending_days", "-1");
    set(&mut form, "earn_rate.points", "1000");
    set(&mut form, "time_zone", "Mars/Olympus");
    let resp = console.send_form("/admin/program", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        problem_at(&html, "pending_days").as_deref(),
        Some("must be between 0 and 365"),
        "{html}"
    );
    assert!(
        problem_at(&html, "time_zone")
            .unwrap()
            .contains("IANA time zone")
    );
    let kept = form_fields(&html, "program-form");
    assert!(kept.contains(&("pending_days".into(), "-1".into())));
    assert!(kept.contains(&("time_zone".into(), "Mars/Olympus".into())));
    assert_eq!(program(&app).await, before);

    // A problem with the earning rate as a whole is shown at its points.
    set(&mut form, "pending_days", "3");
    set(&mut form, "time_zone", "UTC");
    let resp = console.send_form("/admin/program", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        problem_at(&html, "earn_rate.points")
            .unwrap()
            .contains("at most one point per minor unit"),
        "{html}"
    );
    // Quiet hours on with equal hours: shown at the quiet-hours box.
    set(&mut form, "earn_rate.points", "1");
    set(&mut form, "contact_policy.quiet_hours.end_hour", "21");
    let resp = console.send_form("/admin/program", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        problem_at(&html, "contact_policy.quiet_hours")
            .unwrap()
            .contains("must differ")
    );
    // Something that is not a number is refused before the API is asked.
    set(&mut form, "contact_policy.quiet_hours.end_hour", "8");
    set(&mut form, "expiry_months", "twelve");
    let resp = console.send_form("/admin/program", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        problem_at(&html, "expiry_months").as_deref(),
        Some("Enter a whole number.")
    );
    assert_eq!(program(&app).await, before);
}

#[tokio::test]
async fn an_analyst_reads_the_program_without_a_save_button_and_cannot_save() {
    let app = TestApp::spawn().await;
    let before = program(&app).await;
    let (mut analyst, _) = ConsoleClient::with_role(&app, "analyst").await;
    let (status, html) = analyst.page("/admin/program").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("save-program"), "{html}");
    assert!(html.contains("fieldset class=\"plain\" disabled"));
    assert!(html.contains("id=\"read-only\""));
    let mut form = form_fields(&html, "program-form");
    set(&mut form, "pending_days", "1");
    let resp = analyst.send_form("/admin/program", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(program(&app).await, before);

    // A marketer may change the program.
    let (mut marketer, _) = ConsoleClient::with_role(&app, "marketer").await;
    let (_, html) = marketer.page("/admin/program").await;
    let mut form = form_fields(&html, "program-form");
    set(&mut form, "pending_days", "1");
    let resp = marketer.send_form("/admin/program", &pairs(&form)).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(program(&app).await["pending_days"], 1);
}

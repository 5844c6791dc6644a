//! README "From a resolved ticket to the NPS report", step by step, through the real binary:
//! `patron serve` with its scheduler on (follow-ups and the dispatcher every second), a real SMTP
//! server, the link in the email, the response page, and the report.

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, SECRET, TestApp, ok};
use crate::mail::MailSink;

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `patron serve` on the test's database, sending to `mail`, links under its own address.
fn serve(app: &TestApp, mail: &MailSink, port: u16) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patron"));
    cmd.arg("serve")
        .env("PATRON__DATABASE__URL", app.db.url())
        .env("PATRON__AUTH__JWT_SECRET", SECRET)
        .env("PATRON__SERVER__PORT", port.to_string())
        .env(
            "PATRON__SERVER__PUBLIC_URL",
            format!("http://127.0.0.1:{port}"),
        )
        .env("PATRON__SMTP__HOST", "127.0.0.1")
        .env("PATRON__SMTP__PORT", mail.port().to_string())
        .env("PATRON__SMTP__TLS", "none")
        .env("PATRON__SCHEDULER__ENABLED", "true")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let defaults = patron::config::Settings::defaults().expect("defaults");
    for name in defaults.scheduler.jobs.keys() {
        cmd.env(
            format!("PATRON__SCHEDULER__JOBS__{}", name.to_uppercase()),
            "",
        );
    }
    // "With the delays set short": the two jobs of the walkthrough every second.
    for name in ["TICKET_FOLLOW_UPS", "DISPATCH_OUTBOX"] {
        cmd.env(format!("PATRON__SCHEDULER__JOBS__{name}"), "* * * * * *");
    }
    cmd.spawn().expect("patron serve starts")
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_resolved_ticket_leads_to_an_email_whose_survey_answer_shows_in_the_nps_report() {
    let app = TestApp::spawn().await;
    let mail = MailSink::start();
    let port = free_port();
    let _server = Killed(serve(&app, &mail, port));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "patron serve never listened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The binary runs on the real clock: its tokens come from its own login.
    let login = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("sent");
    let admin = ok(login, StatusCode::OK).await["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let call = |method: reqwest::Method, path: &str, token: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };
    use reqwest::Method;

    // 1. A marketer creates the survey sent after support issues.
    let survey = ok(
        call(
            Method::POST,
            "/v1/surveys",
            &admin,
            Some(json!({
                "name": "After support",
                "kind": "nps",
                "question": {"en": "How likely are you to recommend us to a friend?",
                             "fa": "چقدر احتمال دارد ما را به دوستان خود معرفی کنید؟"},
                "open_question": {"en": "What could we do better?"},
                "trigger": "post_resolution"
            })),
        )
        .await
        .expect("sent"),
        StatusCode::CREATED,
    )
    .await;
    let survey_id = survey["id"].as_str().expect("survey id");

    // 2. Follow-ups link to it, go out at once, and quiet hours are off for the walkthrough.
    let mut program = ok(
        call(Method::GET, "/v1/program", &admin, None)
            .await
            .expect("sent"),
        StatusCode::OK,
    )
    .await;
    program["follow_up"] = json!({"enabled": true, "delay_hours": 0, "survey_id": survey_id});
    program["contact_policy"]["quiet_hours"] = Value::Null;
    ok(
        call(Method::PUT, "/v1/program", &admin, Some(program))
            .await
            .expect("sent"),
        StatusCode::OK,
    )
    .await;

    // 3. The helpdesk's key, the customer (who agreed to surveys), the ticket and its resolution.
    let key = ok(
        call(
            Method::POST,
            "/v1/api-keys",
            &admin,
            Some(json!({"name": "helpdesk", "scopes": ["customers:write", "tickets:write"]})),
        )
        .await
        .expect("sent"),
        StatusCode::CREATED,
    )
    .await["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let customer = ok(
        call(
            Method::POST,
            "/v1/customers",
            &key,
            Some(json!({"email": "sara@example.com", "first_name": "Sara",
                        "consents": {"email_marketing": false, "sms_marketing": false, "surveys": true}})),
        )
        .await
        .expect("sent"),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .expect("customer id")
        .to_owned();
    let ticket = ok(
        call(
            Method::POST,
            "/v1/tickets",
            &key,
            Some(
                json!({"external_id": "HD-1001", "customer_id": customer, "channel": "chat",
                        "subject": "Card not accepted", "agent": {"id": "ag-1", "name": "Reza"}}),
            ),
        )
        .await
        .expect("sent"),
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .expect("ticket id")
        .to_owned();
    ok(
        call(
            Method::POST,
            &format!("/v1/tickets/{ticket}/resolve"),
            &key,
            Some(json!({"resolution_note": "We re-issued your card."})),
        )
        .await
        .expect("sent"),
        StatusCode::OK,
    )
    .await;

    // 4. The scheduler inside the binary writes the follow-up and the dispatcher sends it.
    let got = mail.wait_for(1, Duration::from_secs(60)).await;
    assert_eq!(got.len(), 1, "one follow-up email");
    let text = got[0].text();
    assert!(text.contains("We re-issued your card."), "{text}");
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{base}/s/")))
        .unwrap_or_else(|| panic!("no survey link in {text}"))
        .to_owned();
    // HTML escapes `/` in attributes as `&#x2f;`; a browser reads the same link.
    let html = got[0].html().replace("&#x2f;", "/");
    assert!(
        html.contains(&format!("href=\"{link}\"")),
        "the HTML part links the same page: {html}"
    );

    // 5. The link opens the survey page; the customer answers.
    let page = http.get(&link).send().await.expect("sent");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("How likely are you to recommend us to a friend?"),
        "{html}"
    );
    let answered = http
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("score=9&comment=Quick+and+kind")
        .send()
        .await
        .expect("sent");
    assert_eq!(answered.status(), StatusCode::OK);

    // 6. The answer is in the NPS report, by agent too.
    let report = ok(
        call(Method::GET, "/v1/reports/nps?group_by=agent", &admin, None)
            .await
            .expect("sent"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["total"]["responses"], 1, "{report}");
    assert_eq!(report["total"]["promoters"], 1, "{report}");
    assert_eq!(report["total"]["score"], 100.0, "{report}");
    let groups = report["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{report}");
    assert_eq!(groups[0]["key"], "ag-1", "{report}");
    // Grouped by channel, the answer and its invitation meet in the ticket's channel.
    let report = ok(
        call(
            Method::GET,
            "/v1/reports/nps?group_by=channel",
            &admin,
            None,
        )
        .await
        .expect("sent"),
        StatusCode::OK,
    )
    .await;
    let groups = report["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{report}");
    assert_eq!(groups[0]["key"], "chat", "{report}");
    assert_eq!(groups[0]["responses"], 1, "{report}");
    assert_eq!(groups[0]["response_rate"]["invited"], 1, "{report}");
    assert_eq!(groups[0]["response_rate"]["answered"], 1, "{report}");
}

//! The console's insight pages over HTTP: the dashboard against the API's reports, reports with
//! tables, charts and CSV, surveys, message templates with preview and reset, the outbox and
//! jobs; with each role's limits and the CSRF check.

use chrono::Duration;
use patron::messages::Kind;
use reqwest::{StatusCode, header};
use serde_json::json;

use crate::console_client::{ConsoleClient, location};
use crate::delivery::{enqueue_for, member};
use crate::helpers::{TestApp, ok};
use crate::insight_seed::{club, end};

/// The `data-value` of the element with this id.
fn value_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{html}"));
    let rest = &html[at..];
    let v = rest.find("data-value=\"").expect("a data-value") + "data-value=\"".len();
    rest[v..v + rest[v..].find('"').expect("closing quote")].to_owned()
}

async fn csv_of(app: &TestApp, token: &str, path: &str) -> String {
    let resp = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .header(header::ACCEPT, "text/csv")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.expect("body")
}

#[tokio::test]
async fn the_dashboard_shows_the_apis_loyalty_and_cx_figures_with_charts() {
    let app = TestApp::spawn().await;
    club(&app).await;
    let admin = app.admin_token().await;
    let (from, to) = (end() - Duration::days(30), end());
    let range = format!(
        "from={}&to={}",
        from.format("%Y-%m-%dT%H:%M:%SZ"),
        to.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let loyalty = ok(
        app.get(&format!("/v1/reports/loyalty?{range}"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    let mut console = ConsoleClient::admin(&app).await;
    let (status, html) = console.page("/admin/").await;
    assert_eq!(status, StatusCode::OK);
    for (id, field) in [
        ("stat-members", "members"),
        ("stat-active-members", "active_members"),
        ("stat-points-issued", "points_issued"),
        ("stat-points-redeemed", "points_redeemed"),
        ("stat-points-expired", "points_expired"),
        ("stat-liability", "outstanding_liability_minor"),
    ] {
        assert_eq!(value_of(&html, id), loyalty[field].to_string(), "{id}");
    }
    assert_eq!(loyalty["members"], 8);
    assert!(loyalty["points_issued"].as_i64().unwrap() > 0);
    assert_eq!(loyalty["points_redeemed"], 100, "the redemption on day 66");
    for kind in ["nps", "csat"] {
        let now = ok(
            app.get(&format!("/v1/reports/{kind}?{range}"), &admin)
                .await,
            StatusCode::OK,
        )
        .await;
        let shown = format!("{:.1}", now["total"]["score"].as_f64().expect("a score"));
        assert_eq!(value_of(&html, &format!("stat-{kind}")), shown, "{kind}");
    }
    let ces = ok(
        app.get(&format!("/v1/reports/ces?{range}&scale=7"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    let shown = format!(
        "{:.2}",
        ces["scales"][0]["total"]["average"].as_f64().unwrap()
    );
    assert_eq!(value_of(&html, "stat-ces-7"), shown);
    // The change against the 30 days before, and four charts drawn by the server.
    assert!(html.contains("against the 30 days before"), "{html}");
    assert_eq!(html.matches("<svg").count(), 4, "{html}");
    assert!(html.contains("role=\"img\""));
    assert!(!html.contains("style="), "no inline style under the CSP");
    assert!(html.contains("NPS by week, last 12 weeks"));
}

#[tokio::test]
async fn support_gets_a_dashboard_with_its_work_and_without_report_figures() {
    let app = TestApp::spawn().await;
    let key = app.api_key(&["customers:write", "tickets:write"]).await;
    let customer = app.customer_id(&key, "t@example.com").await;
    ok(
        app.post(
            "/v1/tickets",
            &key,
            json!({"external_id": "t-1", "customer_id": customer, "channel": "email",
                   "subject": "Where is my order?"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let (mut support, _) = ConsoleClient::with_role(&app, "support").await;
    let (status, html) = support.page("/admin/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("stat-members"), "{html}");
    assert!(!html.contains("<svg"));
    assert_eq!(value_of(&html, "stat-open-tickets"), "1");
    assert!(html.contains("href=\"/admin/customers\""));
    assert!(!html.contains("href=\"/admin/reports\""));
    let (status, _) = support.page("/admin/reports").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_analyst_reads_reports_but_has_no_way_to_change_surveys_or_templates() {
    let app = TestApp::spawn().await;
    club(&app).await;
    let admin = app.admin_token().await;
    let survey = ok(
        app.post(
            "/v1/surveys",
            &admin,
            json!({"name": "After purchase", "kind": "nps", "trigger": "post_purchase",
                   "question": {"en": "Would you recommend us?"}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = survey["id"].as_str().unwrap();
    let (mut analyst, _) = ConsoleClient::with_role(&app, "analyst").await;

    let (status, html) = analyst.page("/admin/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("stat-members"));
    for (path, table) in [
        ("/admin/reports/nps?group_by=week", "table-nps"),
        ("/admin/reports/csat?group_by=channel", "table-csat"),
        ("/admin/reports/ces?group_by=month", "table-ces-7"),
        (
            "/admin/reports/comments?kind=csat&max_score=3",
            "table-comments",
        ),
        ("/admin/reports/loyalty", "table-tiers"),
        ("/admin/reports/retention?period_days=30", "table-segments"),
        ("/admin/reports/recovery", "table-recovery"),
    ] {
        let (status, html) = analyst.page(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        assert!(html.contains(&format!("id=\"{table}\"")), "{path}: {html}");
        assert!(html.contains("Download CSV"), "{path}");
        if !path.contains("comments") {
            assert!(html.contains("<svg"), "{path}: a chart");
        }
        assert!(!html.contains("method=\"post\" action=\"/admin/reports"));
    }
    let (_, html) = analyst
        .page("/admin/reports/comments?kind=csat&max_score=3")
        .await;
    assert!(html.contains("The delivery was late"), "{html}");

    // Surveys: read, with no button or form that changes them.
    let (status, html) = analyst.page("/admin/surveys").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("After purchase"));
    assert!(!html.contains("new-survey"), "{html}");
    let (status, html) = analyst.page(&format!("/admin/surveys/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("save-survey"), "{html}");
    assert!(!html.contains("method=\"post\" action=\"/admin/surveys"));
    assert!(html.contains("Would you recommend us?"));
    for path in [
        "/admin/surveys/new",
        "/admin/templates",
        "/admin/templates/tier_changed/en",
        "/admin/jobs",
    ] {
        let (status, _) = analyst.page(path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }

    // Posting anyway is refused, and nothing changes.
    let resp = analyst
        .post(
            &format!("/admin/surveys/{id}"),
            &[
                ("name", "Renamed"),
                ("kind", "nps"),
                ("trigger", "manual"),
                ("question_en", "Q?"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = analyst
        .post(
            "/admin/surveys",
            &[
                ("name", "New"),
                ("kind", "nps"),
                ("trigger", "manual"),
                ("question_en", "Q?"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = analyst
        .post(
            "/admin/templates/tier_changed/en",
            &[("subject", "x"), ("html", "x"), ("text", "x")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let list = ok(app.get("/v1/surveys", &admin).await, StatusCode::OK).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["name"], "After purchase");
    let t = ok(
        app.get("/v1/templates/tier_changed/en", &admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(t["overridden"], false);
}

#[tokio::test]
async fn csv_downloads_are_the_apis_csv_for_the_same_filters() {
    let app = TestApp::spawn().await;
    let key = app.api_key(&["customers:write", "feedback:write"]).await;
    for (score, channel, at) in [
        (10, "store", "2026-11-02T10:00:00Z"),
        (3, "web", "2026-11-09T10:00:00Z"),
        (8, "web", "2026-11-21T23:00:00Z"),
        (9, "store", "2026-11-22T10:00:00Z"),
    ] {
        ok(
            app.post(
                "/v1/feedback",
                &key,
                json!({"kind": "nps", "score": score, "channel": channel, "occurred_at": at,
                       "comment": format!("said {score}")}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let marketer = app.staff_token("marketer").await;
    let (mut console, _) = ConsoleClient::with_role(&app, "marketer").await;
    for (page, api) in [
        (
            "/admin/reports/nps.csv?from=2026-11-01&to=2026-11-21&group_by=channel",
            "/v1/reports/nps?from=2026-11-01T00:00:00Z&to=2026-11-22T00:00:00Z&group_by=channel",
        ),
        ("/admin/reports/csat.csv", "/v1/reports/csat"),
        (
            "/admin/reports/ces.csv?group_by=week&scale=7",
            "/v1/reports/ces?group_by=week&scale=7",
        ),
        (
            "/admin/reports/comments.csv?kind=nps&max_score=8",
            "/v1/reports/comments?kind=nps&max_score=8",
        ),
        ("/admin/reports/loyalty.csv", "/v1/reports/loyalty"),
        (
            "/admin/reports/retention.csv?period_days=7",
            "/v1/reports/retention?period_days=7",
        ),
        ("/admin/reports/recovery.csv", "/v1/reports/recovery"),
    ] {
        let resp = console.get(page).await;
        assert_eq!(resp.status(), StatusCode::OK, "{page}");
        let headers = resp.headers().clone();
        assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
        let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\"patron-"),
            "{disposition}"
        );
        let body = resp.text().await.unwrap();
        assert_eq!(body, csv_of(&app, &marketer, api).await, "{page}");
    }
    let nps = csv_of(
        &app,
        &marketer,
        "/v1/reports/nps?from=2026-11-01T00:00:00Z&to=2026-11-22T00:00:00Z&group_by=channel",
    )
    .await;
    assert_eq!(
        nps.lines().count(),
        1 + 1 + 2,
        "a header, the total and two channels:\n{nps}"
    );

    // The page links the same filters to its CSV.
    let (status, html) = console
        .page("/admin/reports/nps?from=2026-11-01&to=2026-11-21&group_by=channel")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(
            "href=\"/admin/reports/nps.csv?from=2026-11-01&amp;to=2026-11-21&amp;group_by=channel\""
        ),
        "{html}"
    );
    // Bad filters: the page says what is wrong, next to the field or above the form.
    let (status, html) = console.page("/admin/reports/nps?from=yesterday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"e-from\""), "{html}");
    assert!(html.contains("value=\"yesterday\""));
    let (status, html) = console
        .page("/admin/reports/nps?from=2026-11-10&to=2026-11-01")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("from: must be before to"), "{html}");
    let (status, html) = console.page("/admin/reports/retention?period_days=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"e-period_days\""), "{html}");
    let (status, _) = console.page("/admin/reports/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Support may not read reports, as a page or as CSV.
    let (mut support, _) = ConsoleClient::with_role(&app, "support").await;
    let resp = support.get("/admin/reports/nps.csv").await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_marketer_creates_a_survey_in_persian_and_changes_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (mut console, _) = ConsoleClient::with_role(&app, "marketer").await;
    let (status, html) = console.page("/admin/surveys/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"f-question_fa\" name=\"question_fa\" rows=\"2\" dir=\"rtl\""),
        "{html}"
    );
    let (status, html) = console
        .post_and_follow(
            "/admin/surveys",
            &[
                ("name", "رضایت پس از خرید"),
                ("kind", "ces"),
                ("ces_scale", "5"),
                ("question_fa", "انجام خرید چقدر آسان بود؟"),
                ("question_en", "How easy was your purchase?"),
                ("open_question_fa", "چه چیزی را بهتر کنیم؟"),
                ("trigger", "post_purchase"),
                ("delay_hours", "۲"),
                ("reminder_after_hours", "48"),
                ("max_reminders", "1"),
                ("expires_after_days", "14"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Created."), "{html}");
    let list = ok(app.get("/v1/surveys", &admin).await, StatusCode::OK).await;
    let s = &list["data"][0];
    assert_eq!(s["name"], "رضایت پس از خرید");
    assert_eq!(s["kind"], "ces");
    assert_eq!(s["ces_scale"], 5);
    assert_eq!(s["question"]["fa"], "انجام خرید چقدر آسان بود؟");
    assert_eq!(s["open_question"], json!({"fa": "چه چیزی را بهتر کنیم؟"}));
    assert_eq!(s["delay_hours"], 2, "Persian digits are read");
    assert_eq!(s["reminder_after_hours"], 48);
    assert_eq!(s["expires_after_days"], 14);
    assert_eq!(s["active"], true);
    let id = s["id"].as_str().unwrap();

    // Editing: the form shows the survey; unticking active and removing the English question.
    let (status, html) = console.page(&format!("/admin/surveys/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("انجام خرید چقدر آسان بود؟"));
    let (status, html) = console
        .post_and_follow(
            &format!("/admin/surveys/{id}"),
            &[
                ("name", "CES after purchase"),
                ("kind", "ces"),
                ("ces_scale", "5"),
                ("question_fa", "انجام خرید چقدر آسان بود؟"),
                ("trigger", "manual"),
                ("delay_hours", "0"),
                ("reminder_after_hours", "48"),
                ("max_reminders", "0"),
                ("expires_after_days", "14"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Saved."));
    let s = ok(
        app.get(&format!("/v1/surveys/{id}"), &admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(s["name"], "CES after purchase");
    assert_eq!(s["active"], false);
    assert_eq!(s["trigger"], "manual");
    assert_eq!(s["max_reminders"], 0);
    assert_eq!(s["question"], json!({"fa": "انجام خرید چقدر آسان بود؟"}));
    assert_eq!(s["open_question"], json!({}));
}

#[tokio::test]
async fn a_survey_form_that_fails_is_shown_again_with_the_problem_next_to_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (mut console, _) = ConsoleClient::with_role(&app, "marketer").await;
    console.page("/admin/surveys/new").await;
    // A number the form cannot read: refused before the API is asked.
    let resp = console
        .post(
            "/admin/surveys",
            &[
                ("name", "Weekly"),
                ("kind", "nps"),
                ("trigger", "manual"),
                ("question_fa", "ما را توصیه می‌کنید؟"),
                ("delay_hours", "soon"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("<p class=\"error\" id=\"e-delay_hours\">must be a whole number</p>"),
        "{html}"
    );
    assert!(html.contains("value=\"soon\""));
    assert!(
        html.contains(">ما را توصیه می‌کنید؟</textarea>"),
        "the typed text is kept"
    );
    // What the API refuses: a blank name, a question too long; each next to its field.
    let long = "؟".repeat(501);
    let resp = console
        .post(
            "/admin/surveys",
            &[
                ("name", "  "),
                ("kind", "nps"),
                ("trigger", "manual"),
                ("question_fa", &long),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"e-name\""), "{html}");
    assert!(html.contains("id=\"e-question_fa\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains(&long), "the typed text is kept");
    // No question at all: the message is next to the first question.
    let resp = console
        .post(
            "/admin/surveys",
            &[("name", "Empty"), ("kind", "nps"), ("trigger", "manual")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(resp.text().await.unwrap().contains("id=\"e-question_en\""));
    let list = ok(app.get("/v1/surveys", &admin).await, StatusCode::OK).await;
    assert_eq!(list["data"], json!([]), "nothing was created");
}

#[tokio::test]
async fn a_marketer_overrides_a_template_previews_it_for_a_customer_and_goes_back_to_the_default() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let customer = member(
        &app,
        "leila@example.com",
        json!({"first_name": "لیلا", "locale": "fa"}),
    )
    .await;
    let (mut console, _) = ConsoleClient::with_role(&app, "marketer").await;
    let (status, html) = console.page("/admin/templates").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"template-tier_changed-fa\""), "{html}");
    assert!(html.contains("Tier changed"));
    let (status, html) = console.page("/admin/templates/tier_changed/fa").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("id=\"f-text\" name=\"text\" rows=\"10\" dir=\"rtl\""),
        "{html}"
    );
    assert!(
        !html.contains("reset-template"),
        "a default has nothing to reset"
    );

    let (status, html) = console
        .post_and_follow(
            "/admin/templates/tier_changed/fa",
            &[
                ("subject", "{{ first_name }}، به سطح تازه خوش آمدید"),
                (
                    "html",
                    "<p dir=\"rtl\">سلام {{ first_name }} <script>x</script></p>",
                ),
                (
                    "text",
                    "سلام {{ first_name }}\r\nموجودی: {{ points_balance | number }}",
                ),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Saved."));
    assert!(html.contains("reset-template"));
    let saved = ok(
        app.get("/v1/templates/tier_changed/fa", &admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(saved["overridden"], true);
    assert_eq!(
        saved["text"],
        "سلام {{ first_name }}\nموجودی: {{ points_balance | number }}"
    );

    // The preview, for the customer found by email: the subject, the text, the HTML as source.
    let (status, html) = console
        .page("/admin/templates/tier_changed/fa?customer=leila%40example.com")
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("لیلا، به سطح تازه خوش آمدید"), "{html}");
    assert!(
        html.contains("<pre id=\"preview-text\" dir=\"rtl\">سلام لیلا\nموجودی: ۰</pre>"),
        "{html}"
    );
    assert!(
        html.contains("&lt;p dir=&quot;rtl&quot;&gt;سلام لیلا"),
        "the HTML part is escaped: {html}"
    );
    assert!(
        !html.contains("<script>x</script>"),
        "never inserted into the console page"
    );
    // By id too; and an unknown customer is said next to the field.
    let (status, _) = console
        .page(&format!(
            "/admin/templates/tier_changed/fa?customer={customer}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, html) = console
        .page("/admin/templates/tier_changed/fa?customer=nobody%40example.com")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"e-customer\""), "{html}");

    // A template that does not render is refused, what was typed kept.
    let resp = console
        .post(
            "/admin/templates/tier_changed/fa",
            &[
                ("subject", "ok"),
                ("html", "<p>{% if first_name %}unclosed</p>"),
                ("text", "t"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"e-html\""), "{html}");
    assert!(html.contains("{% if first_name %}unclosed"));

    // Back to the default: a confirmation page, then the override is gone.
    let (status, html) = console.page("/admin/templates/tier_changed/fa/reset").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"confirm\""), "{html}");
    assert!(html.contains("action=\"/admin/templates/tier_changed/fa/reset\""));
    let resp = console
        .post("/admin/templates/tier_changed/fa/reset", &[])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&resp),
        "/admin/templates/tier_changed/fa?flash=template_reset"
    );
    let t = ok(
        app.get("/v1/templates/tier_changed/fa", &admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(t["overridden"], false);

    // Support may read and preview templates, not change them.
    let (mut support, _) = ConsoleClient::with_role(&app, "support").await;
    let (status, html) = support.page("/admin/templates/tier_changed/fa").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("save-template"));
    let (status, _) = support.page("/admin/templates/tier_changed/fa/reset").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_template_save_without_the_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (mut console, _) = ConsoleClient::with_role(&app, "marketer").await;
    console.page("/admin/templates/birthday_offer/en").await;
    let fields = [("subject", "Hi"), ("html", "<p>Hi</p>"), ("text", "Hi")];
    let resp = console
        .send_form("/admin/templates/birthday_offer/en", &fields)
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let mut wrong = vec![("_csrf", "not-the-token")];
    wrong.extend_from_slice(&fields);
    let resp = console
        .send_form("/admin/templates/birthday_offer/en", &wrong)
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = console
        .send_form("/admin/templates/birthday_offer/en/reset", &[])
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let t = ok(
        app.get("/v1/templates/birthday_offer/en", &admin).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(t["overridden"], false);
    assert_ne!(t["subject"], "Hi");
}

#[tokio::test]
async fn the_outbox_lists_a_message_with_its_status_and_shows_its_attempts() {
    let app = TestApp::spawn().await;
    let customer = member(&app, "kim@example.com", json!({"first_name": "Kim"})).await;
    let id = enqueue_for(&app, &customer, Kind::TierChanged, json!({})).await;
    let (mut console, _) = ConsoleClient::with_role(&app, "marketer").await;
    let (status, html) = console.page("/admin/outbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("id=\"message-{id}\"")), "{html}");
    assert!(html.contains("status-pending"));
    assert!(html.contains("Waiting"));
    let (status, html) = console
        .page(&format!(
            "/admin/outbox?customer_id={customer}&kind=tier_changed&status=pending"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("id=\"message-{id}\"")));
    let (_, html) = console.page("/admin/outbox?status=sent").await;
    assert!(!html.contains(&format!("id=\"message-{id}\"")), "{html}");
    let (status, html) = console.page(&format!("/admin/outbox/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No attempt yet."), "{html}");
    let (status, _) = console.page("/admin/outbox?status=lost").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn jobs_are_listed_with_their_last_run_for_admins_and_refused_to_marketers() {
    let app = TestApp::spawn().await;
    app.run_job("release_pending").await;
    let mut admin = ConsoleClient::admin(&app).await;
    let (status, html) = admin.page("/admin/jobs").await;
    assert_eq!(status, StatusCode::OK);
    for name in ["release_pending", "expire_points", "dispatch_outbox"] {
        assert!(
            html.contains(&format!("id=\"job-{name}\"")),
            "{name}: {html}"
        );
    }
    assert!(html.contains("Makes pending points available"));
    assert!(html.contains("Never"), "jobs that never ran say so");
    let (mut marketer, _) = ConsoleClient::with_role(&app, "marketer").await;
    let (status, html) = marketer.page("/admin/jobs").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("Your role does not allow this."));
    let (_, html) = marketer.page("/admin/").await;
    assert!(!html.contains("href=\"/admin/jobs\""));
}

#[tokio::test]
async fn a_report_date_past_the_calendar_is_a_field_problem_not_a_crash() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::admin(&app).await;
    for path in [
        "/admin/reports/loyalty?to=%2B262142-12-31",
        "/admin/reports/nps?from=2026-13-01",
    ] {
        let (status, html) = console.page(path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(html.contains("Give a date as YYYY-MM-DD"), "{path}: {html}");
    }
}

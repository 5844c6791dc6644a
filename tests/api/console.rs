//! The staff console's sessions and protections, over HTTP: sign-in and sign-out, cookie flags,
//! CSRF, security headers, timeouts, role changes, and the language choice.

use chrono::Duration;
use reqwest::{StatusCode, header};
use serde_json::json;

use crate::console_client::{ConsoleClient, csrf_in, location};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, ok};

fn set_cookie(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie set"))
        .to_owned()
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_session_cookie_and_rotates_it() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::new(&app);
    let resp = console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/admin/");
    let cookie = set_cookie(&resp, "patron_console");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/admin"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain-HTTP public URL: {cookie}"
    );
    let first = console.cookies["patron_console"].clone();

    // Signing in again, with the old cookie still in the browser, issues a new one and ends the old.
    let resp = console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let second = console.cookies["patron_console"].clone();
    assert_ne!(first, second);
    let (status, _) = console.page("/admin/").await;
    assert_eq!(status, StatusCode::OK);
    console.cookies.insert("patron_console".into(), first);
    let resp = console.get("/admin/").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).starts_with("/admin/sign-in"));
}

#[tokio::test]
async fn the_session_cookie_is_secure_behind_https() {
    let app =
        TestApp::spawn_with(|s| s.server.public_url = "https://club.example.com".into()).await;
    let mut console = ConsoleClient::new(&app);
    let resp = console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&resp, "patron_console").contains("Secure"));
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_sign_in_is_rate_limited_like_the_api() {
    let app = TestApp::spawn_with(|s| s.auth.login_attempts_per_minute = 3).await;
    let mut console = ConsoleClient::new(&app);
    let resp = console.sign_in(ADMIN_EMAIL, "not the password").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(!console.cookies.contains_key("patron_console"));
    let html = resp.text().await.unwrap();
    assert!(html.contains("The email or password is wrong."), "{html}");
    assert!(
        html.contains(r#"value="admin@example.com""#),
        "the email is kept: {html}"
    );
    // Two more attempts use up the email's bucket, which the API's login shares.
    console.sign_in(ADMIN_EMAIL, "not the password").await;
    console.sign_in(ADMIN_EMAIL, "not the password").await;
    let resp = console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let resp = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    crate::helpers::problem(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn a_form_without_the_right_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::admin(&app).await;
    for token in ["", "forged-token"] {
        let resp = console
            .send_form(
                "/admin/language",
                &[("_csrf", token), ("lang", "fa"), ("next", "/admin/")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert!(resp.text().await.unwrap().contains("The form has expired"));
    }
    let (_, html) = console.page("/admin/").await;
    assert!(html.contains(r#"<html lang="en" dir="ltr">"#));

    // The sign-in form is protected too, before there is a session.
    let mut stranger = ConsoleClient::new(&app);
    let resp = stranger
        .send_form(
            "/admin/sign-in",
            &[
                ("_csrf", "guess"),
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(!stranger.cookies.contains_key("patron_console"));
}

#[tokio::test]
async fn the_language_choice_turns_pages_right_to_left_and_is_remembered() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::admin(&app).await;
    let resp = console
        .post("/admin/language", &[("lang", "fa"), ("next", "/admin/")])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/admin/");
    let (_, html) = console.page("/admin/").await;
    assert!(html.contains(r#"<html lang="fa" dir="rtl">"#), "{html}");
    assert!(html.contains("پیشخوان"));
    // Remembered for the staff member: a new session on another device starts in Persian.
    let mut other = ConsoleClient::admin(&app).await;
    let (_, html) = other.page("/admin/").await;
    assert!(html.contains(r#"<html lang="fa" dir="rtl">"#));
    // An unknown language is refused.
    let resp = other.post("/admin/language", &[("lang", "xx")]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pages_carry_a_csp_without_inline_script_and_cannot_be_framed() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::admin(&app).await;
    for path in ["/admin/sign-in", "/admin/", "/admin/no-such-page"] {
        let resp = console.get(path).await;
        let h = resp.headers();
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let html = resp.text().await.unwrap();
        assert!(!html.contains("<script>"), "{path} has an inline script");
        assert!(!html.contains(" style=\""), "{path} has an inline style");
    }
    let resp = console.get("/admin/no-such-page").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn after_sign_out_the_old_cookie_is_refused() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::admin(&app).await;
    let kept = console.cookies["patron_console"].clone();
    let resp = console.post("/admin/sign-out", &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).starts_with("/admin/sign-in"));
    assert!(
        !console.cookies.contains_key("patron_console"),
        "the cookie is removed"
    );
    console.cookies.insert("patron_console".into(), kept);
    let resp = console.get("/admin/customers").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/admin/sign-in?next=%2Fadmin%2Fcustomers");
}

#[tokio::test]
async fn unsigned_requests_are_sent_to_sign_in_before_their_body_is_read() {
    let app = TestApp::spawn().await;
    let mut stranger = ConsoleClient::new(&app);
    let resp = stranger
        .send_form("/admin/language", &[("lang", "fa"), ("%%%", "\u{0}")])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/admin/sign-in");
    let (status, html) = stranger.page("/admin/sign-in?next=/admin/tiers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(csrf_in(&html).is_some());
    assert!(html.contains(r#"name="next" value="/admin/tiers""#));
    // A `next` outside the console is ignored.
    let (_, html) = stranger
        .page("/admin/sign-in?next=https://evil.example")
        .await;
    assert!(html.contains(r#"name="next" value="/admin/""#));
}

#[tokio::test]
async fn sessions_end_after_the_idle_and_the_absolute_timeouts() {
    let app = TestApp::spawn().await;
    let mut console = ConsoleClient::admin(&app).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(console.page("/admin/").await.0, StatusCode::OK);
    app.clock.advance(Duration::minutes(31));
    assert_eq!(console.get("/admin/").await.status(), StatusCode::SEE_OTHER);

    // However busy, a session ends twelve hours after sign-in.
    let mut console = ConsoleClient::admin(&app).await;
    for _ in 0..(12 * 3 + 1) {
        app.clock.advance(Duration::minutes(20));
        if console.get("/admin/").await.status() != StatusCode::OK {
            break;
        }
    }
    assert_eq!(console.get("/admin/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_role_change_or_deactivation_applies_on_the_next_page_load() {
    let app = TestApp::spawn().await;
    let (mut console, id) = ConsoleClient::with_role(&app, "marketer").await;
    let (_, html) = console.page("/admin/").await;
    assert!(html.contains(r#"href="/admin/rewards""#));
    assert!(!html.contains(r#"href="/admin/staff""#));
    let admin = app.admin_token().await;
    ok(
        app.patch(&format!("/v1/staff/{id}"), &admin, json!({"role": "admin"}))
            .await,
        StatusCode::OK,
    )
    .await;
    let (_, html) = console.page("/admin/").await;
    assert!(html.contains(r#"href="/admin/staff""#), "{html}");
    ok(
        app.patch(&format!("/v1/staff/{id}"), &admin, json!({"active": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(console.get("/admin/").await.status(), StatusCode::SEE_OTHER);
}

//! The console's access pages over HTTP: the staff member's own password, staff members and API
//! keys (admin only; a new key is shown once).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console_client::{ConsoleClient, hidden_in, location};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, ok, problem};

/// The text of the element with `id` (up to its first tag).
fn text_of(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    Some(rest[start..end].to_owned())
}

async fn staff_list(app: &TestApp) -> Vec<Value> {
    let admin = app.admin_token().await;
    let list = ok(app.get("/v1/staff", &admin).await, StatusCode::OK).await;
    list["data"].as_array().unwrap().clone()
}

async fn api_keys(app: &TestApp) -> Vec<Value> {
    let admin = app.admin_token().await;
    let list = ok(app.get("/v1/api-keys", &admin).await, StatusCode::OK).await;
    list["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn only_admins_reach_the_staff_and_api_key_pages_or_see_them_in_the_navigation() {
    let app = TestApp::spawn().await;
    let mut admin = ConsoleClient::admin(&app).await;
    let (_, html) = admin.page("/admin/").await;
    assert!(html.contains(r#"href="/admin/staff""#), "{html}");
    assert!(html.contains(r#"href="/admin/api-keys""#), "{html}");
    for role in ["marketer", "support", "analyst"] {
        let (mut console, _) = ConsoleClient::with_role(&app, role).await;
        let (status, html) = console.page("/admin/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains(r#"href="/admin/staff""#), "{role}: {html}");
        assert!(
            !html.contains(r#"href="/admin/api-keys""#),
            "{role}: {html}"
        );
        for path in [
            "/admin/staff",
            "/admin/staff/new",
            "/admin/api-keys",
            "/admin/api-keys/new",
        ] {
            let (status, html) = console.page(path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role} {path}");
            assert!(html.contains("Your role does not allow this."), "{html}");
        }
        // With a valid CSRF token (from a page they may open), the posts are refused too.
        console.page("/admin/account").await;
        let resp = console
            .post(
                "/admin/staff",
                &[
                    ("email", "sneaky@example.com"),
                    ("password", "a long enough password"),
                    ("role", "admin"),
                ],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{role}");
        let resp = console
            .post(
                "/admin/api-keys",
                &[("name", "sneaky"), ("scopes", "customers:read")],
            )
            .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{role}");
    }
    assert!(api_keys(&app).await.is_empty());
    assert!(
        staff_list(&app)
            .await
            .iter()
            .all(|s| s["email"] != "sneaky@example.com")
    );
}

#[tokio::test]
async fn an_admin_adds_a_staff_member_who_can_then_sign_in() {
    let app = TestApp::spawn().await;
    let mut admin = ConsoleClient::admin(&app).await;
    let (status, html) = admin.page("/admin/staff/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="create-staff""#));
    let (status, html) = admin
        .post_and_follow(
            "/admin/staff",
            &[
                ("email", "Mina@Example.com"),
                ("password", "mina's long password"),
                ("role", "marketer"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Staff member added."), "{html}");
    assert!(html.contains("mina@example.com"), "{html}");
    let mina = staff_list(&app)
        .await
        .into_iter()
        .find(|s| s["email"] == "mina@example.com")
        .expect("created through the API");
    assert_eq!(mina["role"], "marketer");
    let mut console =
        ConsoleClient::signed_in(&app, "mina@example.com", "mina's long password").await;
    let (_, html) = console.page("/admin/account").await;
    assert!(
        html.contains("mina@example.com") && html.contains("Marketer"),
        "{html}"
    );
}

#[tokio::test]
async fn an_invalid_staff_form_comes_back_with_the_problems_and_without_the_password() {
    let app = TestApp::spawn().await;
    let mut admin = ConsoleClient::admin(&app).await;
    admin.page("/admin/staff/new").await;
    let resp = admin
        .post(
            "/admin/staff",
            &[
                ("email", "not-an-email"),
                ("password", "tiny-secret"),
                ("role", "analyst"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(r#"value="not-an-email""#),
        "the email is kept: {html}"
    );
    assert_eq!(
        text_of(&html, "e-email").as_deref(),
        Some("Enter a valid email address.")
    );
    assert!(
        text_of(&html, "e-password")
            .unwrap()
            .contains("at least 12 characters"),
        "{html}"
    );
    assert!(
        html.contains(r#"<option value="analyst" selected>"#),
        "{html}"
    );
    assert!(
        !html.contains("tiny-secret"),
        "the password is never echoed"
    );

    // An email already taken is named next to the field.
    let resp = admin
        .post(
            "/admin/staff",
            &[
                ("email", ADMIN_EMAIL),
                ("password", "a long enough password"),
                ("role", "analyst"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text_of(&html, "e-email").as_deref(),
        Some("A staff member with this email already exists.")
    );
    assert_eq!(staff_list(&app).await.len(), 1);
}

#[tokio::test]
async fn a_role_change_in_the_console_applies_on_the_members_next_page_load() {
    let app = TestApp::spawn().await;
    let (mut member, id) = ConsoleClient::with_role(&app, "analyst").await;
    let (status, _) = member.page("/admin/staff").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let mut admin = ConsoleClient::admin(&app).await;
    let (_, html) = admin.page("/admin/staff").await;
    assert!(html.contains(&format!(r#"id="role-{id}""#)), "{html}");
    let (status, html) = admin
        .post_and_follow(&format!("/admin/staff/{id}/role"), &[("role", "admin")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Staff member updated."), "{html}");

    let (status, html) = member.page("/admin/staff").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"href="/admin/api-keys""#));
}

#[tokio::test]
async fn deactivation_asks_first_and_the_last_admin_is_kept() {
    let app = TestApp::spawn().await;
    let (mut member, id) = ConsoleClient::with_role(&app, "support").await;
    let mut admin = ConsoleClient::admin(&app).await;
    let (status, html) = admin.page(&format!("/admin/staff/{id}/deactivate")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"action="/admin/staff/"#) && html.contains(r#"/active">"#),
        "{html}"
    );
    assert_eq!(hidden_in(&html, "active").as_deref(), Some("false"));
    // Opening the confirmation changed nothing.
    assert!(staff_list(&app).await.iter().all(|s| s["active"] == true));
    let resp = admin
        .post(&format!("/admin/staff/{id}/active"), &[("active", "false")])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let member_row = staff_list(&app)
        .await
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap();
    assert_eq!(member_row["active"], false);
    let resp = member.get("/admin/").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(location(&resp).starts_with("/admin/sign-in"));

    // The API refuses to lose the last active admin; the console says so on the list.
    let admin_id = staff_list(&app)
        .await
        .into_iter()
        .find(|s| s["email"] == ADMIN_EMAIL)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .page(&format!("/admin/staff/{admin_id}/deactivate"))
        .await;
    let resp = admin
        .post(
            &format!("/admin/staff/{admin_id}/active"),
            &[("active", "false")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        text_of(&html, "staff-problem").is_some()
            && html.contains("The last active admin cannot be demoted or deactivated."),
        "{html}"
    );
    let resp = admin
        .post(
            &format!("/admin/staff/{admin_id}/role"),
            &[("role", "analyst")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let me = staff_list(&app)
        .await
        .into_iter()
        .find(|s| s["id"] == admin_id.as_str())
        .unwrap();
    assert_eq!(
        (me["role"].as_str(), me["active"].as_bool()),
        (Some("admin"), Some(true))
    );

    // Activating again is one button.
    admin.page("/admin/staff").await;
    let resp = admin
        .post(&format!("/admin/staff/{id}/active"), &[("active", "true")])
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    ConsoleClient::signed_in(
        &app,
        member_row["email"].as_str().unwrap(),
        "a long enough password",
    )
    .await;
}

#[tokio::test]
async fn a_new_api_key_is_shown_once_works_and_is_revoked_through_the_confirmation_page() {
    let app = TestApp::spawn().await;
    let mut admin = ConsoleClient::admin(&app).await;
    let (status, html) = admin.page("/admin/api-keys/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="scope-customers-read""#), "{html}");
    let form_key = hidden_in(&html, "_key").expect("a one-time key");
    let form = [
        ("name", "Till 4"),
        ("scopes", "customers:read"),
        ("scopes", "points:read"),
        ("store_id", ""),
        ("_key", form_key.as_str()),
    ];
    let resp = admin.post("/admin/api-keys", &form).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert!(resp.headers().get("location").is_none());
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let html = resp.text().await.unwrap();
    let key = text_of(&html, "new-api-key").expect("the key is on the page");
    assert!(key.starts_with("pk_"), "{key}");
    assert!(html.contains("it will not be shown again"), "{html}");
    let listed = api_keys(&app).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0]["scopes"],
        json!(["customers:read", "points:read"])
    );
    assert!(listed[0]["store_id"].is_null());
    ok(
        app.get("/v1/customers?email=nobody@example.com", &key)
            .await,
        StatusCode::OK,
    )
    .await;

    // The same form sent again (a reload, a second click) creates no second key.
    let resp = admin.post("/admin/api-keys", &form).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/admin/api-keys?flash=api_key_sent_twice");
    assert_eq!(api_keys(&app).await.len(), 1);

    // Never again: not on the list, and no page shows it.
    let (_, list) = admin.page("/admin/api-keys").await;
    assert!(list.contains("Till 4"));
    assert!(list.contains(listed[0]["prefix"].as_str().unwrap()));
    assert!(!list.contains(&key));

    let id = listed[0]["id"].as_str().unwrap();
    let (status, confirm) = admin.page(&format!("/admin/api-keys/{id}/revoke")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Till 4"), "{confirm}");
    ok(app.get("/v1/customers", &key).await, StatusCode::OK).await;
    let (status, html) = admin
        .post_and_follow(&format!("/admin/api-keys/{id}/revoke"), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("API key revoked."), "{html}");
    assert!(!html.contains(&format!(r#"id="revoke-{id}""#)));
    problem(
        app.get("/v1/customers", &key).await,
        StatusCode::UNAUTHORIZED,
        "api_key_revoked",
    )
    .await;
}

#[tokio::test]
async fn creating_an_api_key_without_the_right_csrf_token_is_refused_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let mut admin = ConsoleClient::admin(&app).await;
    admin.page("/admin/api-keys/new").await;
    for token in [None, Some("forged-token")] {
        let mut fields = vec![("name", "Till 5"), ("scopes", "customers:read")];
        if let Some(token) = token {
            fields.push(("_csrf", token));
        }
        let resp = admin.send_form("/admin/api-keys", &fields).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let html = resp.text().await.unwrap();
        assert!(html.contains("The form has expired"));
        assert!(!html.contains("pk_"));
    }
    assert!(api_keys(&app).await.is_empty());
}

#[tokio::test]
async fn an_api_key_form_without_scopes_comes_back_with_what_was_typed() {
    let app = TestApp::spawn().await;
    let mut admin = ConsoleClient::admin(&app).await;
    let (_, html) = admin.page("/admin/api-keys/new").await;
    let form_key = hidden_in(&html, "_key").expect("a one-time key");
    let resp = admin
        .post(
            "/admin/api-keys",
            &[
                ("name", "Till 9"),
                ("store_id", "store-9"),
                ("_key", &form_key),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(html.contains(r#"value="Till 9""#), "{html}");
    assert!(html.contains(r#"value="store-9""#), "{html}");
    assert_eq!(
        text_of(&html, "e-scopes").as_deref(),
        Some("Choose at least one scope.")
    );
    // The page shown again carries a new one-time key.
    let form_key = hidden_in(&html, "_key").expect("a new one-time key");
    let resp = admin
        .post(
            "/admin/api-keys",
            &[("name", " "), ("scopes", "codes:use"), ("_key", &form_key)],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(text_of(&html, "e-name").is_some(), "{html}");
    assert!(
        html.contains(r#"value="codes:use" id="scope-codes-use" checked"#),
        "{html}"
    );
    assert!(api_keys(&app).await.is_empty());
}

#[tokio::test]
async fn a_password_change_in_the_console_signs_out_the_other_sessions_only() {
    let app = TestApp::spawn().await;
    let mut here = ConsoleClient::admin(&app).await;
    let mut elsewhere = ConsoleClient::admin(&app).await;
    let (status, html) = here.page("/admin/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(ADMIN_EMAIL) && html.contains("Admin"));
    let new = "a new and longer passphrase";

    // A wrong current password.
    let resp = here
        .post(
            "/admin/account/password",
            &[
                ("current_password", "my wrong guess"),
                ("new_password", new),
                ("repeat_password", new),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text_of(&html, "e-current_password").as_deref(),
        Some("The current password is wrong.")
    );
    assert!(!html.contains("my wrong guess") && !html.contains(new));

    // The repeat differs: caught by the console, nothing sent.
    let resp = here
        .post(
            "/admin/account/password",
            &[
                ("current_password", ADMIN_PASSWORD),
                ("new_password", new),
                ("repeat_password", "a new and longer passphrasE"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert_eq!(
        text_of(&html, "e-repeat_password").as_deref(),
        Some("The two new passwords are not the same.")
    );

    // Too short, as the API's rule says.
    let resp = here
        .post(
            "/admin/account/password",
            &[
                ("current_password", ADMIN_PASSWORD),
                ("new_password", "short"),
                ("repeat_password", "short"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = resp.text().await.unwrap();
    assert!(
        text_of(&html, "e-new_password").unwrap().contains("12"),
        "{html}"
    );

    // Without the CSRF token: refused, nothing changed.
    let resp = here
        .send_form(
            "/admin/account/password",
            &[
                ("current_password", ADMIN_PASSWORD),
                ("new_password", new),
                ("repeat_password", new),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    ok(app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await, StatusCode::OK).await;

    let (status, html) = here
        .post_and_follow(
            "/admin/account/password",
            &[
                ("current_password", ADMIN_PASSWORD),
                ("new_password", new),
                ("repeat_password", new),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Your password was changed."), "{html}");
    let (status, _) = here.page("/admin/").await;
    assert_eq!(status, StatusCode::OK, "this session continues");
    let resp = elsewhere.get("/admin/").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "the other one ended");
    assert!(location(&resp).starts_with("/admin/sign-in"));
    ok(app.login(ADMIN_EMAIL, new).await, StatusCode::OK).await;
    problem(
        app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    ConsoleClient::signed_in(&app, ADMIN_EMAIL, new).await;
}

//! The response page `/s/{token}`: a localized form (right to left for fa and ar), one answer per
//! invitation even under concurrent posts, and pages with the fitting status for everything else.

use chrono::Duration;
use reqwest::{Method, Response, StatusCode};

use crate::helpers::{TestApp, ok};
use crate::survey_invitations::{
    link_of_message, member, messages, open_hours, sent_invitation, stored,
};

/// A customer in `locale` with a sent invitation; returns (customer, invitation, page path).
async fn invited(app: &TestApp, locale: &str) -> (String, String, String) {
    open_hours(app).await;
    let customer = member(app, &format!("{locale}@example.com"), true, locale).await;
    let inv = sent_invitation(app, &customer).await;
    let m = messages(app, &customer, "survey_invitation").await;
    let path = link_of_message(app, m[0]["id"].as_str().unwrap());
    (customer, inv, path)
}

/// Posts a form as a browser does (`application/x-www-form-urlencoded`).
pub async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Response {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let body = form
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    app.client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn header(resp: &Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn page(resp: Response, status: StatusCode) -> String {
    assert_eq!(resp.status(), status);
    assert!(header(&resp, "content-type").starts_with("text/html"));
    assert_eq!(header(&resp, "cache-control"), "no-store");
    assert_eq!(header(&resp, "referrer-policy"), "no-referrer");
    assert_eq!(header(&resp, "x-frame-options"), "DENY");
    let csp = header(&resp, "content-security-policy");
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("script"),
        "{csp}"
    );
    resp.text().await.unwrap()
}

#[tokio::test]
async fn the_page_shows_the_form_records_one_answer_and_then_says_already_answered() {
    let app = TestApp::spawn().await;
    let (customer, _, path) = invited(&app, "en").await;
    let html = page(
        app.request(Method::GET, &path, None, None).await,
        StatusCode::OK,
    )
    .await;
    assert!(html.contains("<html lang=\"en\" dir=\"ltr\">"));
    assert!(html.contains("<form method=\"post\">"));
    assert!(html.contains("<legend>How likely are you to recommend us to a friend?</legend>"));
    assert!(html.contains("What is the main reason for your score?"));
    assert!(html.contains("Not at all likely") && html.contains("Extremely likely"));
    for n in 0..=10 {
        assert!(html.contains(&format!(
            "<input type=\"radio\" name=\"score\" id=\"score-{n}\" value=\"{n}\">"
        )));
        assert!(html.contains(&format!("<label for=\"score-{n}\">{n}")));
    }
    assert!(html.contains("<textarea id=\"comment\" name=\"comment\""));
    assert!(!html.contains("<script"));

    let thanks = page(
        post_form(
            &app,
            &path,
            &[("score", "9"), ("comment", "Lovely saffron")],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(thanks.contains("Thank you!"));
    let again = page(
        post_form(&app, &path, &[("score", "3")]).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(again.contains("already answered"));
    let get_again = page(
        app.request(Method::GET, &path, None, None).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(get_again.contains("already answered"));

    let token = app
        .customer_token(&app.backend_key().await, &customer)
        .await;
    let done = ok(
        app.get("/v1/me/surveys?status=answered", &token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["data"].as_array().unwrap().len(), 1);
    assert_eq!(stored(&app, &customer)[0].status, "answered");
    let admin = app.admin_token().await;
    let timeline = ok(
        app.get(&format!("/v1/customers/{customer}/timeline"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    let feedback: Vec<&str> = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "feedback")
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert_eq!(feedback, ["NPS 9/10"]);
}

#[tokio::test]
async fn two_concurrent_posts_record_one_answer() {
    let app = TestApp::spawn().await;
    let (customer, _, path) = invited(&app, "en").await;
    let (a, b) = tokio::join!(
        post_form(&app, &path, &[("score", "10")]),
        post_form(&app, &path, &[("score", "2")])
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let token = app
        .customer_token(&app.backend_key().await, &customer)
        .await;
    let done = ok(
        app.get("/v1/me/surveys?status=answered", &token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["data"].as_array().unwrap().len(), 1);
    let admin = app.admin_token().await;
    let timeline = ok(
        app.get(&format!("/v1/customers/{customer}/timeline"), &admin)
            .await,
        StatusCode::OK,
    )
    .await;
    let answers = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "feedback")
        .count();
    assert_eq!(answers, 1);
}

#[tokio::test]
async fn the_persian_page_is_right_to_left_with_the_question_in_persian() {
    let app = TestApp::spawn().await;
    let (_, _, path) = invited(&app, "fa-IR").await;
    let html = page(
        app.request(Method::GET, &path, None, None).await,
        StatusCode::OK,
    )
    .await;
    assert!(html.contains("<html lang=\"fa\" dir=\"rtl\">"));
    assert!(html.contains("<legend>چقدر احتمال دارد ما را به دوستانتان پیشنهاد کنید؟</legend>"));
    assert!(html.contains("دلیل اصلی امتیاز شما چیست؟"));
    assert!(
        html.contains("<label for=\"score-10\">۱۰"),
        "Persian digits"
    );
    assert!(html.contains("ارسال"));
    let thanks = page(
        post_form(&app, &path, &[("score", "10")]).await,
        StatusCode::OK,
    )
    .await;
    assert!(thanks.contains("سپاسگزاریم"));
}

#[tokio::test]
async fn the_arabic_page_is_right_to_left_and_falls_back_for_a_missing_open_question() {
    let app = TestApp::spawn().await;
    let (_, _, path) = invited(&app, "ar").await;
    let html = page(
        app.request(Method::GET, &path, None, None).await,
        StatusCode::OK,
    )
    .await;
    assert!(html.contains("<html lang=\"ar\" dir=\"rtl\">"));
    assert!(html.contains("<legend>ما مدى احتمال أن توصي بنا لصديق؟</legend>"));
    // The survey has no Arabic open question: the English one, marked as English.
    assert!(
        html.contains(
            "<span lang=\"en\" dir=\"ltr\">What is the main reason for your score?</span>"
        )
    );
    assert!(html.contains("مرجّح للغاية"));
}

#[tokio::test]
async fn a_bad_or_empty_answer_shows_the_form_again_with_the_error_and_the_comment_kept() {
    let app = TestApp::spawn().await;
    let (customer, _, path) = invited(&app, "en").await;
    let html = page(
        post_form(
            &app,
            &path,
            &[("score", "11"), ("comment", "Kept <b>text</b>")],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(html.contains("Please choose one of the scores shown."));
    assert!(html.contains(">Kept &lt;b&gt;text&lt;/b&gt;</textarea>"));
    let html = page(
        post_form(&app, &path, &[("score", ""), ("comment", "   ")]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(html.contains("Please choose a score or write a comment."));
    let long = "x".repeat(2001);
    let html = page(
        post_form(&app, &path, &[("score", "4"), ("comment", &long)]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(html.contains("id=\"comment-error\""));
    assert!(html.contains("id=\"score-4\" value=\"4\" checked"));
    let html = page(
        post_form(&app, &path, &[("score", "abc")]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(html.contains("Please choose one of the scores shown."));
    let huge = "x".repeat(70_000);
    crate::helpers::problem(
        post_form(&app, &path, &[("comment", &huge)]).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    // Nothing was recorded; a skipped score with a comment is an answer.
    assert_eq!(stored(&app, &customer)[0].status, "sent");
    page(
        post_form(&app, &path, &[("comment", "No score, just this")]).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(stored(&app, &customer)[0].status, "answered");
}

#[tokio::test]
async fn a_forged_link_is_a_404_page_and_an_expired_one_410() {
    let app = TestApp::spawn().await;
    let (_, inv, path) = invited(&app, "en").await;
    for bad in [
        "/s/nonsense".to_owned(),
        format!("{path}x"),
        format!("/s/{}", "a".repeat(400)),
        "/s/%E2%80%AE.abc".to_owned(),
    ] {
        let html = page(
            app.request(Method::GET, &bad, None, None).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert!(html.contains("Survey not found"), "{bad}");
        page(
            post_form(&app, &bad, &[("score", "5")]).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    // A link signed with another key names no invitation here.
    let other = patron::feedback::token::sign("another key", &inv).unwrap();
    page(
        app.request(Method::GET, &format!("/s/{other}"), None, None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A genuine link to an invitation that does not exist.
    let ghost = patron::feedback::token::sign(crate::helpers::SECRET, "ghost").unwrap();
    page(
        app.request(Method::GET, &format!("/s/{ghost}"), None, None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Persian browsers get the not-found page in Persian.
    let resp = app
        .client
        .get(app.url("/s/nonsense"))
        .header("Accept-Language", "fa-IR,fa;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert!(
        page(resp, StatusCode::NOT_FOUND)
            .await
            .contains("dir=\"rtl\"")
    );

    app.clock.advance(Duration::days(30) + Duration::seconds(1));
    let html = page(
        app.request(Method::GET, &path, None, None).await,
        StatusCode::GONE,
    )
    .await;
    assert!(html.contains("This survey has closed"));
    page(
        post_form(&app, &path, &[("score", "5")]).await,
        StatusCode::GONE,
    )
    .await;
}

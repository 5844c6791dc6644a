//! Reports: NPS, CSAT, CES, comments, loyalty, retention and recovery on fixed data sets built
//! through the API, checked against figures computed by hand; CSV; roles and bad parameters.

use chrono::{DateTime, TimeZone, Utc};
use diesel::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;
use crate::purchases::purchase;

/// The NPS/CSAT/CES range of the data sets: November 1st to 22nd, 2026 (UTC).
const RANGE: &str = "from=2026-11-01T00:00:00Z&to=2026-11-22T00:00:00Z";

struct Answer {
    kind: &'static str,
    scale: Option<i64>,
    score: Option<i64>,
    channel: &'static str,
    agent: Option<&'static str>,
    at: &'static str,
    comment: Option<&'static str>,
}

fn answer(
    kind: &'static str,
    score: Option<i64>,
    channel: &'static str,
    at: &'static str,
) -> Answer {
    Answer {
        kind,
        scale: None,
        score,
        channel,
        agent: None,
        at,
        // A skipped answer needs a comment.
        comment: score.is_none().then_some("no score"),
    }
}

async fn send(app: &TestApp, key: &str, customer: Option<&str>, a: &Answer) -> Value {
    let mut body = json!({"kind": a.kind, "score": a.score, "channel": a.channel,
                          "occurred_at": a.at});
    if let Some(c) = customer {
        body["customer_id"] = json!(c);
    }
    if let Some(s) = a.scale {
        body["scale"] = json!(s);
    }
    if let Some(agent) = a.agent {
        body["agent_id"] = json!(agent);
    }
    if let Some(comment) = a.comment {
        body["comment"] = json!(comment);
    }
    ok(
        app.post("/v1/feedback", key, body).await,
        StatusCode::CREATED,
    )
    .await
}

/// NPS: 7 answered in range (promoters 10, 9; passives 8, 7; detractors 3, 0, 6), one skipped,
/// and two just outside the range.
fn nps_answers() -> Vec<Answer> {
    let mut v = vec![
        // Sunday: the ISO week of Monday 2026-10-26.
        Answer {
            agent: Some("ag-1"),
            ..answer("nps", Some(10), "store", "2026-11-01T09:00:00Z")
        },
        answer("nps", Some(9), "store", "2026-11-02T00:00:00Z"),
        Answer {
            comment: Some("Slow, \"rude\" staff\n=HYPERLINK(\"x\")"),
            ..answer("nps", Some(3), "store", "2026-11-08T23:59:59Z")
        },
        answer("nps", None, "store", "2026-11-10T10:00:00Z"),
        answer("nps", Some(8), "web", "2026-11-10T11:00:00Z"),
        answer("nps", Some(7), "web", "2026-11-15T12:00:00Z"),
        Answer {
            comment: Some("@Never again"),
            ..answer("nps", Some(0), "web", "2026-11-16T08:00:00Z")
        },
        answer("nps", Some(6), "app", "2026-11-21T23:59:59Z"),
    ];
    // Outside [from, to): the instant before `from`, and `to` itself.
    v.push(answer("nps", Some(0), "web", "2026-10-31T23:59:59Z"));
    v.push(answer("nps", Some(10), "store", "2026-11-22T00:00:00Z"));
    v
}

async fn report(app: &TestApp, token: &str, path: &str) -> Value {
    ok(app.get(path, token).await, StatusCode::OK).await
}

fn counts(dist: &Value) -> Vec<i64> {
    dist.as_array()
        .unwrap()
        .iter()
        .map(|d| d["count"].as_i64().unwrap())
        .collect()
}

async fn csv(app: &TestApp, token: &str, path: &str) -> String {
    let resp = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    resp.text().await.unwrap()
}

#[tokio::test]
async fn nps_counts_scores_groups_by_channel_and_week_and_reports_skips_apart() {
    let app = TestApp::spawn().await;
    let key = app.api_key(&["feedback:write"]).await;
    for a in nps_answers() {
        send(&app, &key, None, &a).await;
    }
    let analyst = app.staff_token("analyst").await;

    let r = report(&app, &analyst, &format!("/v1/reports/nps?{RANGE}")).await;
    assert_eq!(r["from"], "2026-11-01T00:00:00Z");
    assert_eq!(r["to"], "2026-11-22T00:00:00Z");
    let t = &r["total"];
    assert_eq!(t["responses"], 7);
    assert_eq!(t["skipped"], 1);
    assert_eq!(
        counts(&t["distribution"]),
        [1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1]
    );
    assert_eq!(t["distribution"][0]["score"], 0);
    assert_eq!(t["distribution"][10]["score"], 10);
    assert_eq!(
        (t["promoters"].clone(), t["passives"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(t["detractors"], 3);
    // 100 × (2 − 3) / 7 = −14.2857…
    assert_eq!(t["score"], json!(-14.3));
    assert_eq!(
        t["response_rate"],
        json!({"invited": 0, "answered": 0, "rate": null})
    );
    assert_eq!(r["groups"], json!([]));

    let r = report(
        &app,
        &analyst,
        &format!("/v1/reports/nps?{RANGE}&group_by=channel"),
    )
    .await;
    assert_eq!(r["group_by"], "channel");
    assert_eq!(r["total"]["responses"], 7);
    let groups = r["groups"].as_array().unwrap();
    let keys: Vec<&str> = groups.iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["app", "store", "web"]);
    // app: 6 → −100; store: 10, 9, 3 (+ one skipped) → 33.3; web: 8, 7, 0 → −33.3.
    assert_eq!(groups[0]["responses"], 1);
    assert_eq!(groups[0]["score"], json!(-100.0));
    assert_eq!(groups[1]["responses"], 3);
    assert_eq!(groups[1]["skipped"], 1);
    assert_eq!(groups[1]["promoters"], 2);
    assert_eq!(groups[1]["score"], json!(33.3));
    assert_eq!(groups[2]["detractors"], 1);
    assert_eq!(groups[2]["passives"], 2);
    assert_eq!(groups[2]["score"], json!(-33.3));

    let r = report(
        &app,
        &analyst,
        &format!("/v1/reports/nps?{RANGE}&group_by=week"),
    )
    .await;
    let weeks: Vec<(String, i64, i64, Value)> = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_owned(),
                g["responses"].as_i64().unwrap(),
                g["skipped"].as_i64().unwrap(),
                g["score"].clone(),
            )
        })
        .collect();
    assert_eq!(
        weeks,
        [
            ("2026-10-26".to_owned(), 1, 0, json!(100.0)),
            ("2026-11-02".to_owned(), 2, 0, json!(0.0)),
            ("2026-11-09".to_owned(), 2, 1, json!(0.0)),
            ("2026-11-16".to_owned(), 2, 0, json!(-100.0)),
        ]
    );

    // A null agent is a group of its own, listed first.
    let r = report(
        &app,
        &analyst,
        &format!("/v1/reports/nps?{RANGE}&group_by=agent"),
    )
    .await;
    assert_eq!(r["groups"][0]["key"], Value::Null);
    assert_eq!(r["groups"][0]["responses"], 6);
    assert_eq!(r["groups"][1]["key"], "ag-1");
    assert_eq!(r["groups"][1]["responses"], 1);

    let r = report(
        &app,
        &analyst,
        &format!("/v1/reports/nps?{RANGE}&group_by=month"),
    )
    .await;
    assert_eq!(r["groups"][0]["key"], "2026-11-01");
    assert_eq!(r["groups"][0]["responses"], 7);
}

#[tokio::test]
async fn an_empty_range_has_null_scores_and_no_division_by_zero() {
    let app = TestApp::spawn().await;
    let key = app.api_key(&["feedback:write"]).await;
    for a in nps_answers() {
        send(&app, &key, None, &a).await;
    }
    let marketer = app.staff_token("marketer").await;
    let empty = "from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z";
    let r = report(
        &app,
        &marketer,
        &format!("/v1/reports/nps?{empty}&group_by=week"),
    )
    .await;
    assert_eq!(r["total"]["responses"], 0);
    assert_eq!(r["total"]["skipped"], 0);
    assert_eq!(r["total"]["score"], Value::Null);
    assert_eq!(counts(&r["total"]["distribution"]), [0; 11]);
    assert_eq!(r["total"]["response_rate"]["rate"], Value::Null);
    assert_eq!(r["groups"], json!([]));
    let r = report(&app, &marketer, &format!("/v1/reports/csat?{empty}")).await;
    assert_eq!(r["total"]["score"], Value::Null);
    let r = report(&app, &marketer, &format!("/v1/reports/ces?{empty}")).await;
    assert_eq!(r["scales"][0]["total"]["average"], Value::Null);
    assert_eq!(r["scales"][1]["total"]["average"], Value::Null);
    let r = report(&app, &marketer, &format!("/v1/reports/loyalty?{empty}")).await;
    assert_eq!(r["redemption_rate"], Value::Null);
    let r = report(&app, &marketer, &format!("/v1/reports/recovery?{empty}")).await;
    assert_eq!(r["opened"], 0);
    assert_eq!(r["recovery_rate"], Value::Null);
    assert_eq!(r["average_resolution_seconds"], Value::Null);
    assert_eq!(r["median_resolution_seconds"], Value::Null);
    // The default range is the 30 days before now.
    let r = report(&app, &marketer, "/v1/reports/nps").await;
    assert_eq!(r["from"], "2026-10-23T12:00:00Z");
    assert_eq!(r["to"], "2026-11-22T12:00:00Z");
    assert_eq!(r["total"]["responses"], 9);
}

#[tokio::test]
async fn csat_and_ces_on_both_scales_are_never_mixed() {
    let app = TestApp::spawn().await;
    let key = app.api_key(&["feedback:write"]).await;
    let at = "2026-11-05T10:00:00Z";
    for s in [Some(5), Some(4), Some(4), Some(2), Some(1), None] {
        send(&app, &key, None, &answer("csat", s, "web", at)).await;
    }
    for (scale, s) in [
        (5, Some(5)),
        (5, Some(4)),
        (5, Some(1)),
        (7, Some(7)),
        (7, Some(2)),
        (7, Some(2)),
        (7, Some(6)),
        (7, None),
    ] {
        let a = Answer {
            scale: Some(scale),
            ..answer("ces", s, if scale == 5 { "web" } else { "store" }, at)
        };
        send(&app, &key, None, &a).await;
    }
    let admin = app.admin_token().await;

    let r = report(&app, &admin, &format!("/v1/reports/csat?{RANGE}")).await;
    let t = &r["total"];
    assert_eq!(t["responses"], 5);
    assert_eq!(t["skipped"], 1);
    assert_eq!(t["satisfied"], 3);
    assert_eq!(t["score"], json!(60.0));
    assert_eq!(counts(&t["distribution"]), [1, 1, 0, 2, 1]);
    assert_eq!(t["distribution"][0]["score"], 1);

    let r = report(&app, &admin, &format!("/v1/reports/ces?{RANGE}")).await;
    let scales = r["scales"].as_array().unwrap();
    assert_eq!(scales.len(), 2);
    let five = &scales[0];
    assert_eq!(five["scale"], 5);
    assert_eq!(five["total"]["responses"], 3);
    assert_eq!(five["total"]["sum"], 10);
    // 10 / 3 = 3.333…
    assert_eq!(five["total"]["average"], json!(3.33));
    assert_eq!(five["total"]["low_effort"], 2);
    assert_eq!(five["total"]["high_effort"], 1);
    assert_eq!(counts(&five["total"]["distribution"]), [1, 0, 0, 1, 1]);
    let seven = &scales[1];
    assert_eq!(seven["scale"], 7);
    assert_eq!(seven["total"]["responses"], 4);
    assert_eq!(seven["total"]["skipped"], 1);
    assert_eq!(seven["total"]["sum"], 17);
    assert_eq!(seven["total"]["average"], json!(4.25));
    assert_eq!(seven["total"]["low_effort"], 2);
    assert_eq!(seven["total"]["high_effort"], 2);
    assert_eq!(
        counts(&seven["total"]["distribution"]),
        [0, 2, 0, 0, 0, 1, 1]
    );

    let r = report(
        &app,
        &admin,
        &format!("/v1/reports/ces?{RANGE}&scale=7&group_by=channel"),
    )
    .await;
    assert_eq!(r["scales"].as_array().unwrap().len(), 1);
    assert_eq!(r["scales"][0]["scale"], 7);
    assert_eq!(r["scales"][0]["groups"][0]["key"], "store");
    assert_eq!(r["scales"][0]["groups"][0]["responses"], 4);
    assert_eq!(r["scales"][0]["groups"].as_array().unwrap().len(), 1);

    let text = csv(&app, &admin, &format!("/v1/reports/ces?{RANGE}")).await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "scale,scope,group,responses,skipped,sum,average,low_effort,high_effort,invited,answered,\
         response_rate,score_1,score_2,score_3,score_4,score_5,score_6,score_7"
    );
    assert_eq!(lines[1], "5,total,,3,0,10,3.33,2,1,0,0,,1,0,0,1,1,,");
    assert_eq!(lines[2], "7,total,,4,1,17,4.25,2,2,0,0,,0,2,0,0,0,1,1");
}

#[tokio::test]
async fn comments_are_filtered_by_kind_and_score_newest_first_and_page_by_cursor() {
    let app = TestApp::spawn().await;
    let key = app.api_key(&["feedback:write"]).await;
    for a in nps_answers() {
        send(&app, &key, None, &a).await;
    }
    let csat = Answer {
        comment: Some("Lovely"),
        ..answer("csat", Some(5), "web", "2026-11-20T10:00:00Z")
    };
    send(&app, &key, None, &csat).await;
    let analyst = app.staff_token("analyst").await;

    let r = report(&app, &analyst, &format!("/v1/reports/comments?{RANGE}")).await;
    let texts: Vec<&str> = r["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["comment"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Lovely",
            "@Never again",
            "no score",
            "Slow, \"rude\" staff\n=HYPERLINK(\"x\")"
        ]
    );
    assert_eq!(r["next_cursor"], Value::Null);

    let r = report(
        &app,
        &analyst,
        &format!("/v1/reports/comments?{RANGE}&kind=nps&max_score=6"),
    )
    .await;
    let data = r["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["comment"], "@Never again");
    assert_eq!(data[0]["kind"], "nps");
    assert_eq!(data[0]["scale"], 10);
    assert_eq!(data[0]["score"], 0);
    assert_eq!(data[0]["channel"], "web");
    assert_eq!(data[0]["occurred_at"], "2026-11-16T08:00:00Z");
    assert_eq!(data[1]["score"], 3);

    let r = report(
        &app,
        &analyst,
        &format!("/v1/reports/comments?{RANGE}&kind=csat"),
    )
    .await;
    assert_eq!(r["data"].as_array().unwrap().len(), 1);

    let first = report(
        &app,
        &analyst,
        &format!("/v1/reports/comments?{RANGE}&limit=3"),
    )
    .await;
    assert_eq!(first["data"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let next = report(
        &app,
        &analyst,
        &format!("/v1/reports/comments?{RANGE}&limit=3&cursor={cursor}"),
    )
    .await;
    assert_eq!(next["data"].as_array().unwrap().len(), 1);
    assert_eq!(next["data"][0]["score"], 3);
    assert_eq!(next["next_cursor"], Value::Null);

    // CSV: quotes doubled, the line break kept inside quotes, the formula guarded.
    let text = csv(
        &app,
        &analyst,
        &format!("/v1/reports/comments?{RANGE}&kind=nps&max_score=3"),
    )
    .await;
    assert!(text.starts_with(
        "id,kind,scale,score,comment,channel,touchpoint,store_id,agent_id,customer_id,occurred_at\r\n"
    ));
    assert!(
        text.contains(",nps,10,3,\"Slow, \"\"rude\"\" staff\n=HYPERLINK(\"\"x\"\")\",store,,,,,2026-11-08T23:59:59Z\r\n"),
        "{text}"
    );
    assert!(text.contains(",nps,10,0,'@Never again,web,"), "{text}");
    let text = csv(
        &app,
        &analyst,
        &format!("/v1/reports/nps?{RANGE}&group_by=channel"),
    )
    .await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "scope,group,responses,skipped,promoters,passives,detractors,score,invited,answered,\
         response_rate,score_0,score_1,score_2,score_3,score_4,score_5,score_6,score_7,score_8,\
         score_9,score_10"
    );
    assert_eq!(
        lines[1],
        "total,,7,1,2,2,3,-14.3,0,0,,1,0,0,1,0,0,1,1,1,1,1"
    );
    assert_eq!(
        lines[2],
        "group,app,1,0,0,0,1,-100.0,0,0,,0,0,0,0,0,0,1,0,0,0,0"
    );
    assert_eq!(lines.len(), 5);
}

/// Sets the clock, then records a purchase that happened then.
async fn buy(app: &TestApp, key: &str, id: &str, customer: &str, minor: i64, at: &str) {
    let t: DateTime<Utc> = at.parse().unwrap();
    app.clock.set(t);
    let mut body = purchase(id, customer, minor);
    body["occurred_at"] = json!(at);
    ok(
        app.post("/v1/purchases", key, body).await,
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn loyalty_counts_members_points_liability_and_tiers() {
    let app = TestApp::spawn().await;
    set_program(
        &app,
        json!({"pending_days": 0, "expiry_months": 1, "point_value_minor": 2}),
    )
    .await;
    let key = app
        .api_key(&["customers:write", "purchases:write", "points:write"])
        .await;
    let x = app.customer_id(&key, "x@example.com").await;
    let y = app.customer_id(&key, "y@example.com").await;
    let _z = app.customer_id(&key, "z@example.com").await;
    let w = app.customer_id(&key, "w@example.com").await;

    // Outside the range: 10 points that expire on December 1st… of October: November 1st.
    buy(&app, &key, "o-1", &x, 1_000, "2026-10-01T10:00:00Z").await;
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 5, 10, 0, 0).unwrap());
    app.run_job("expire_points").await;
    buy(&app, &key, "o-2", &x, 12_345, "2026-11-10T10:00:00Z").await;
    buy(&app, &key, "o-3", &y, 5_000, "2026-11-12T10:00:00Z").await;
    buy(&app, &key, "o-4", &w, 700, "2026-11-12T11:00:00Z").await;
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 13, 10, 0, 0).unwrap());
    for (customer, points, k) in [(&x, 100, "a-1"), (&y, -20, "a-2")] {
        let resp = app
            .client
            .post(app.url(&format!("/v1/customers/{customer}/points/adjustments")))
            .bearer_auth(&key)
            .header("Idempotency-Key", k)
            .json(&json!({"points": points, "reason": "goodwill"}))
            .send()
            .await
            .unwrap();
        ok(resp, StatusCode::CREATED).await;
    }
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 14, 10, 0, 0).unwrap());
    let admin = app.admin_token().await;
    let reward = app
        .reward_id(
            &admin,
            json!({"name": {"en": "Mug"}, "kind": "free_product", "sku": "mug", "cost_points": 60}),
        )
        .await;
    app.redeem(&admin, &x, &reward, "r-1").await;
    // W is erased: no longer a member.
    let resp = app
        .request(
            Method::DELETE,
            &format!("/v1/customers/{w}"),
            Some(&admin),
            None,
        )
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap());

    let marketer = app.staff_token("marketer").await;
    let r = report(&app, &marketer, &format!("/v1/reports/loyalty?{RANGE}")).await;
    assert_eq!(r["members"], 3);
    assert_eq!(r["active_members"], 2);
    // 123 + 50 + 7 (W, erased since, earned in range) + 100 (positive adjustment).
    assert_eq!(r["points_issued"], 280);
    assert_eq!(r["points_redeemed"], 60);
    assert_eq!(r["points_expired"], 10);
    assert_eq!(r["points_deducted"], 20);
    assert_eq!(r["points_reversed"], 0);
    // 100 × 60 / 280 = 21.43
    assert_eq!(r["redemption_rate"], json!(21.4));
    // Every balance: X 123 + 100 − 60 = 163, Y 50 − 20 = 30, and W's 7 (erasure keeps the
    // balance row).
    assert_eq!(r["outstanding_points"], 200);
    assert_eq!(r["outstanding_liability_minor"], 400);
    assert_eq!(r["currency"], "USD");
    assert_eq!(
        r["tier_distribution"],
        json!([{"tier_id": null, "name": null, "members": 3}])
    );
    let text = csv(&app, &marketer, &format!("/v1/reports/loyalty?{RANGE}")).await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "from,to,members,active_members,points_issued,points_redeemed,points_expired,\
         points_reversed,points_deducted,outstanding_points,outstanding_liability_minor,currency,\
         redemption_rate,tier_id,tier_name,tier_members"
    );
    assert!(lines[1].starts_with("2026-11-01T00:00:00Z,2026-11-22T00:00:00Z,3,2,280,60,10,0,20,"));
    assert!(lines[1].ends_with(",USD,21.4,,,3"), "{}", lines[1]);
}

#[tokio::test]
async fn retention_gives_churn_and_repeat_rates_between_two_periods() {
    let app = TestApp::spawn().await;
    let key = app.api_key(&["customers:write", "purchases:write"]).await;
    let mut ids = Vec::new();
    for name in ["p", "q", "r", "s", "t"] {
        ids.push(app.customer_id(&key, &format!("{name}@example.com")).await);
    }
    let (p, q, r, s, t) = (&ids[0], &ids[1], &ids[2], &ids[3], &ids[4]);
    // Current period [11-12, 11-22), previous [11-02, 11-12).
    for (n, (customer, at)) in [
        (p, "2026-11-03T10:00:00Z"),
        (p, "2026-11-15T10:00:00Z"),
        (q, "2026-11-05T10:00:00Z"),
        (r, "2026-11-13T10:00:00Z"),
        (r, "2026-11-20T10:00:00Z"),
        (s, "2026-11-14T10:00:00Z"),
        (t, "2026-11-11T09:00:00Z"),
        (t, "2026-11-11T10:00:00Z"),
        // Before both periods.
        (q, "2026-11-01T10:00:00Z"),
    ]
    .into_iter()
    .enumerate()
    {
        buy(&app, &key, &format!("o-{n}"), customer, 1_000, at).await;
    }
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap());
    let analyst = app.staff_token("analyst").await;
    let rep = report(
        &app,
        &analyst,
        "/v1/reports/retention?period_days=10&as_of=2026-11-22T00:00:00Z",
    )
    .await;
    assert_eq!(rep["current"]["from"], "2026-11-12T00:00:00Z");
    assert_eq!(rep["previous"]["from"], "2026-11-02T00:00:00Z");
    assert_eq!(rep["previous"]["buyers"], 3);
    assert_eq!(rep["current"]["buyers"], 3);
    // Q and T bought before and not since.
    assert_eq!(rep["churned"], 2);
    assert_eq!(rep["churn_rate"], json!(66.7));
    assert_eq!(rep["repeat_buyers"], 1);
    assert_eq!(rep["repeat_purchase_rate"], json!(33.3));
    let segments = rep["segments"].as_array().unwrap();
    let names: Vec<&str> = segments
        .iter()
        .map(|s| s["segment"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "new",
            "champion",
            "loyal",
            "promising",
            "at_risk",
            "hibernating",
            "lost"
        ]
    );
    let total: i64 = segments
        .iter()
        .map(|s| s["members"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 5);
    let text = csv(
        &app,
        &analyst,
        "/v1/reports/retention?period_days=10&as_of=2026-11-22T00:00:00Z",
    )
    .await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "as_of,period_days,buyers,previous_buyers,churned,churn_rate,repeat_buyers,\
         repeat_purchase_rate,segment,segment_members"
    );
    assert!(lines[1].starts_with("2026-11-22T00:00:00Z,10,3,3,2,66.7,1,33.3,new,"));
    assert_eq!(lines.len(), 8);

    // Nobody bought in the previous period: no churn rate.
    let rep = report(
        &app,
        &analyst,
        "/v1/reports/retention?period_days=30&as_of=2027-06-01T00:00:00Z",
    )
    .await;
    assert_eq!(rep["previous"]["buyers"], 0);
    assert_eq!(rep["churn_rate"], Value::Null);
    assert_eq!(rep["repeat_purchase_rate"], Value::Null);
}

/// Gives a low answer a recovery case opened and resolved at fixed times (the case the answer
/// opened, when the service opens one, or a new one).
fn set_case(app: &TestApp, response: &Value, opened: &str, resolved: Option<&str>) {
    use patron::db::schema::recovery_cases as rc;
    let parse = |s: &str| s.parse::<DateTime<Utc>>().unwrap().naive_utc();
    let opened_at = parse(opened);
    let resolved_at = resolved.map(parse);
    let status = if resolved.is_some() {
        "resolved"
    } else {
        "open"
    };
    let mut conn = app.pool.get().unwrap();
    let response_id = response["id"].as_str().unwrap().to_owned();
    let updated = diesel::update(rc::table.filter(rc::response_id.eq(&response_id)))
        .set((
            rc::status.eq(status),
            rc::opened_at.eq(opened_at),
            rc::resolved_at.eq(resolved_at),
        ))
        .execute(&mut *conn)
        .unwrap();
    if updated == 0 {
        let row = patron::feedback::RecoveryCaseRow {
            id: format!("case-{response_id}"),
            customer_id: response["customer_id"].as_str().map(str::to_owned),
            response_id,
            kind: response["kind"].as_str().unwrap().to_owned(),
            scale: response["scale"].as_i64().unwrap() as i32,
            score: response["score"].as_i64().unwrap() as i32,
            channel: response["channel"].as_str().unwrap().to_owned(),
            touchpoint: None,
            store_id: None,
            agent_id: None,
            status: status.to_owned(),
            apology_points: 0,
            apologized: false,
            opened_at,
            resolved_at,
            resolved_by: None,
            resolution_note: None,
            created_at: opened_at,
            updated_at: opened_at,
        };
        diesel::insert_into(rc::table)
            .values(&row)
            .execute(&mut *conn)
            .unwrap();
    }
}

#[tokio::test]
async fn recovery_gives_resolution_times_and_repurchases_within_sixty_days() {
    let app = TestApp::spawn().await;
    let key = app
        .api_key(&["customers:write", "purchases:write", "feedback:write"])
        .await;
    let a = app.customer_id(&key, "a@example.com").await;
    let b = app.customer_id(&key, "b@example.com").await;
    let c = app.customer_id(&key, "c@example.com").await;
    let low = |at| answer("nps", Some(2), "store", at);
    let cases = [
        (&a, "2026-11-02T10:00:00Z", Some("2026-11-02T11:00:00Z")),
        (&b, "2026-11-03T10:00:00Z", Some("2026-11-04T10:00:00Z")),
        (&c, "2026-11-05T00:00:00Z", Some("2026-11-05T00:10:00Z")),
        (&a, "2026-11-06T00:00:00Z", None),
        // Opened before the range.
        (&b, "2026-10-20T00:00:00Z", Some("2026-10-21T00:00:00Z")),
    ];
    for (customer, opened, resolved) in cases {
        let response = send(&app, &key, Some(customer), &low(opened)).await;
        set_case(&app, &response, opened, resolved);
    }
    // A bought again after the resolution; B only before it; C never.
    buy(&app, &key, "o-1", &a, 1_000, "2026-11-20T10:00:00Z").await;
    buy(&app, &key, "o-2", &b, 1_000, "2026-11-03T12:00:00Z").await;
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap());

    let analyst = app.staff_token("analyst").await;
    let r = report(&app, &analyst, &format!("/v1/reports/recovery?{RANGE}")).await;
    assert_eq!(r["opened"], 4);
    assert_eq!(r["resolved"], 3);
    assert_eq!(r["open"], 1);
    // (3600 + 86400 + 600) / 3 and the middle of 600, 3600, 86400.
    assert_eq!(r["average_resolution_seconds"], 30_200);
    assert_eq!(r["median_resolution_seconds"], 3_600);
    assert_eq!(r["repurchased"], 1);
    assert_eq!(r["recovery_rate"], json!(75.0));
    assert_eq!(r["repurchase_rate"], json!(33.3));
    let text = csv(&app, &analyst, &format!("/v1/reports/recovery?{RANGE}")).await;
    assert_eq!(
        text,
        "from,to,opened,resolved,open,average_resolution_seconds,median_resolution_seconds,\
         repurchased,recovery_rate,repurchase_rate\r\n\
         2026-11-01T00:00:00Z,2026-11-22T00:00:00Z,4,3,1,30200,3600,1,75.0,33.3\r\n"
    );
    // With the case resolved in October too, the median of four is the mean of the middle two.
    let r = report(
        &app,
        &analyst,
        "/v1/reports/recovery?from=2026-10-01T00:00:00Z&to=2026-11-22T00:00:00Z",
    )
    .await;
    assert_eq!(r["resolved"], 4);
    assert_eq!(r["median_resolution_seconds"], (3_600 + 86_400) / 2);
}

const ROUTES: [&str; 7] = [
    "/v1/reports/nps",
    "/v1/reports/csat",
    "/v1/reports/ces",
    "/v1/reports/comments",
    "/v1/reports/loyalty",
    "/v1/reports/retention",
    "/v1/reports/recovery",
];

#[tokio::test]
async fn marketers_analysts_and_admins_read_reports_support_and_api_keys_do_not() {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let analyst = app.staff_token("analyst").await;
    let admin = app.admin_token().await;
    let support = app.staff_token("support").await;
    let key = app.api_key(&["feedback:write", "customers:read"]).await;
    for path in ROUTES {
        for token in [&marketer, &analyst, &admin] {
            ok(app.get(path, token).await, StatusCode::OK).await;
        }
        // The role is checked before the query is read: a bad one does not tell.
        let bad = format!("{path}?group_by=nonsense&period_days=x&nope=1");
        problem(
            app.get(&bad, &support).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        problem(
            app.get(&bad, &key).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        let resp = app.request(Method::GET, path, None, None).await;
        problem(resp, StatusCode::UNAUTHORIZED, "missing_credentials").await;
    }
}

#[tokio::test]
async fn bad_parameters_get_field_errors_and_a_reversed_range_gets_422() {
    let app = TestApp::spawn().await;
    let analyst = app.staff_token("analyst").await;
    for (path, field) in [
        ("/v1/reports/nps?group_by=weekday", "group_by"),
        ("/v1/reports/csat?from=yesterday", "from"),
        ("/v1/reports/ces?scale=6", "scale"),
        ("/v1/reports/comments?kind=stars", "kind"),
        ("/v1/reports/comments?kind=nps&max_score=11", "max_score"),
        // Without a kind a score bound would mix scales.
        ("/v1/reports/comments?max_score=6", "kind"),
        ("/v1/reports/comments?limit=0", "limit"),
        ("/v1/reports/retention?period_days=0", "period_days"),
        ("/v1/reports/retention?period_days=3651", "period_days"),
        ("/v1/reports/retention?as_of=2026-13-01", "as_of"),
        ("/v1/reports/loyalty?to=2026-11-01", "to"),
    ] {
        let body = problem(
            app.get(path, &analyst).await,
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], field, "{path}");
    }
    problem(
        app.get("/v1/reports/nps?colour=red", &analyst).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    problem(
        app.get("/v1/reports/comments?cursor=not-a-cursor", &analyst)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
    )
    .await;
    for path in ROUTES.iter().filter(|p| !p.ends_with("retention")) {
        let same = "from=2026-11-01T00:00:00Z&to=2026-11-01T00:00:00Z";
        problem(
            app.get(&format!("{path}?{same}"), &analyst).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_range",
        )
        .await;
    }
}

/// Inserts a survey and its invitations directly: (channel, sent_at, answered).
fn invite(
    app: &TestApp,
    customer: &str,
    kind: &str,
    scale: i32,
    sent: &[(&str, Option<&str>, bool)],
) {
    use patron::db::schema::{survey_invitations, surveys};
    use patron::feedback::{InvitationRow, SurveyRow};
    let t0 = Utc
        .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
        .unwrap()
        .naive_utc();
    let mut conn = app.pool.get().unwrap();
    let survey = format!("survey-{kind}");
    diesel::insert_into(surveys::table)
        .values(&SurveyRow {
            id: survey.clone(),
            name: kind.to_owned(),
            kind: kind.to_owned(),
            scale,
            question: "{}".to_owned(),
            open_question: "{}".to_owned(),
            trigger_type: "manual".to_owned(),
            delay_hours: 0,
            reminder_after_hours: 24,
            max_reminders: 0,
            expires_after_days: 30,
            active: true,
            created_at: t0,
            updated_at: t0,
        })
        .execute(&mut *conn)
        .unwrap();
    for (n, (channel, sent_at, answered)) in sent.iter().enumerate() {
        let sent_at = sent_at.map(|s| s.parse::<DateTime<Utc>>().unwrap().naive_utc());
        let status = match (sent_at, answered) {
            (None, _) => "scheduled",
            (Some(_), true) => "answered",
            (Some(_), false) => "sent",
        };
        diesel::insert_into(survey_invitations::table)
            .values(&InvitationRow {
                id: format!("inv-{kind}-{n}"),
                survey_id: survey.clone(),
                customer_id: customer.to_owned(),
                kind: kind.to_owned(),
                scale,
                dedupe_key: format!("manual:{survey}:{n}"),
                cause_type: "manual".to_owned(),
                cause_id: n.to_string(),
                status: status.to_owned(),
                reason: None,
                channel: Some((*channel).to_owned()),
                touchpoint: None,
                store_id: None,
                agent_id: None,
                due_at: sent_at.unwrap_or(t0),
                sent_at,
                reminder_due_at: None,
                reminders_sent: 0,
                expires_at: None,
                answered_at: None,
                created_at: t0,
                updated_at: t0,
            })
            .execute(&mut *conn)
            .unwrap();
    }
}

#[tokio::test]
async fn the_response_rate_counts_invitations_sent_in_the_range_per_group() {
    let app = TestApp::spawn().await;
    let key = app.backend_key().await;
    let customer = app.customer_id(&key, "i@example.com").await;
    invite(
        &app,
        &customer,
        "nps",
        10,
        &[
            ("store", Some("2026-11-02T10:00:00Z"), true),
            ("store", Some("2026-11-03T10:00:00Z"), false),
            ("web", Some("2026-11-04T10:00:00Z"), false),
            // Sent before the range, and not sent yet.
            ("web", Some("2026-10-30T10:00:00Z"), true),
            ("web", None, false),
        ],
    );
    invite(
        &app,
        &customer,
        "csat",
        5,
        &[("web", Some("2026-11-02T10:00:00Z"), true)],
    );
    let analyst = app.staff_token("analyst").await;

    let r = report(
        &app,
        &analyst,
        &format!("/v1/reports/nps?{RANGE}&group_by=channel"),
    )
    .await;
    assert_eq!(
        r["total"]["response_rate"],
        json!({"invited": 3, "answered": 1, "rate": 33.3})
    );
    // Groups that only have invitations are listed, with no responses and a null score.
    let groups = r["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["key"], "store");
    assert_eq!(groups[0]["responses"], 0);
    assert_eq!(groups[0]["score"], Value::Null);
    assert_eq!(
        groups[0]["response_rate"],
        json!({"invited": 2, "answered": 1, "rate": 50.0})
    );
    assert_eq!(
        groups[1]["response_rate"],
        json!({"invited": 1, "answered": 0, "rate": 0.0})
    );
    let r = report(&app, &analyst, &format!("/v1/reports/csat?{RANGE}")).await;
    assert_eq!(
        r["total"]["response_rate"],
        json!({"invited": 1, "answered": 1, "rate": 100.0})
    );
    let r = report(&app, &analyst, &format!("/v1/reports/ces?{RANGE}")).await;
    assert_eq!(r["scales"][1]["total"]["response_rate"]["invited"], 0);
}

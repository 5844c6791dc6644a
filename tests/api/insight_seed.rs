//! A club with two months of history, built through the API on the test clock, for the console's
//! dashboard and reports: tiers, customers, purchases, a redemption, and NPS, CSAT and CES answers
//! spread over twelve weeks.

use chrono::{DateTime, Duration, TimeZone, Utc};
use patron::clock::Clock;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, ok};

/// What the seed made.
pub struct Club {
    /// An API key with every scope the seed used.
    pub key: String,
    pub customers: Vec<String>,
    pub reward: String,
}

const PEOPLE: [(&str, &str, &str); 8] = [
    ("Sara", "Ahmadi", "sara@example.com"),
    ("Reza", "Karimi", "reza@example.com"),
    ("Lina", "Haddad", "lina@example.com"),
    ("Omid", "Rahimi", "omid@example.com"),
    ("Maya", "Chen", "maya@example.com"),
    ("Ali", "Nasser", "ali@example.com"),
    ("Nora", "Smith", "nora@example.com"),
    ("Darius", "Farahani", "darius@example.com"),
];

/// Scores that get better over the weeks: a repeating pattern, raised a point every few weeks.
fn score(pattern: &[i64], step: usize, every: usize, top: i64) -> i64 {
    (pattern[step % pattern.len()] + (step / every) as i64).min(top)
}
const NPS: [i64; 15] = [6, 3, 8, 9, 5, 10, 7, 2, 9, 6, 8, 4, 10, 7, 9];
const CSAT: [i64; 8] = [3, 4, 2, 5, 4, 3, 5, 4];
const CES: [i64; 9] = [4, 5, 3, 6, 5, 7, 2, 6, 5];
/// Every third day over twelve weeks.
const STEPS: usize = 28;
const CHANNELS: [&str; 3] = ["store", "web", "app"];

/// Builds the club: the clock starts 84 days (twelve weeks) before the app's "now" and ends
/// back there.
pub async fn club(app: &TestApp) -> Club {
    let end = app.clock.now();
    let start = end - Duration::days(3 * STEPS as i64);
    app.clock.set(start);
    let admin = app.admin_token().await;
    for (name, threshold) in [
        (json!({"en": "Silver", "fa": "نقره‌ای"}), 300),
        (json!({"en": "Gold", "fa": "طلایی"}), 1000),
    ] {
        ok(
            app.post(
                "/v1/tiers",
                &admin,
                json!({"name": name, "threshold": threshold, "multiplier_percent": 100}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let reward = app
        .reward_id(
            &admin,
            json!({"name": {"en": "Coffee", "fa": "قهوه"}, "kind": "gift", "cost_points": 100}),
        )
        .await;
    let key = app
        .api_key(&[
            "customers:read",
            "customers:write",
            "purchases:write",
            "points:read",
            "rewards:redeem",
            "feedback:write",
        ])
        .await;
    let mut customers = Vec::new();
    for (first, last, email) in PEOPLE {
        let body = json!({"email": email, "first_name": first, "last_name": last,
            "consents": {"email_marketing": true, "sms_marketing": false, "surveys": true}});
        customers.push(
            app.customer(&key, body).await["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    for step in 0..STEPS {
        let now = start + Duration::days(3 * step as i64);
        app.clock.set(now);
        if step == 22 {
            // Day 66: the first purchases are past their return window; one member redeems.
            app.run_job("release_pending").await;
            app.redeem(&key, &customers[0], &reward, "seed-redeem")
                .await;
        }
        for j in 0..2usize {
            let who = &customers[(step * 2 + j) % customers.len()];
            let total = 2_000 + 1_500 * ((step * 3 + j * 5) % 11) as i64;
            ok(
                app.post(
                    "/v1/purchases",
                    &key,
                    json!({"external_id": format!("seed-{step}-{j}"), "customer_id": who,
                           "channel": CHANNELS[(step + j) % 3], "currency": "USD",
                           "occurred_at": at(now - Duration::hours(1)), "total_minor": total}),
                )
                .await,
                StatusCode::CREATED,
            )
            .await;
            feedback(
                app,
                &key,
                json!({"customer_id": who, "kind": "nps", "score": score(&NPS, step * 2 + j, 14, 10),
                "channel": CHANNELS[(step + j) % 3], "touchpoint": "checkout",
                "occurred_at": at(now - Duration::minutes(30 + j as i64))}),
            )
            .await;
        }
        let csat = score(&CSAT, step, 14, 5);
        feedback(
            app,
            &key,
            json!({"kind": "csat", "score": csat, "channel": "web",
            "comment": if csat <= 3 { "The delivery was late" } else { "Thanks" },
            "occurred_at": at(now - Duration::minutes(20))}),
        )
        .await;
        feedback(
            app,
            &key,
            json!({"kind": "ces", "scale": 7, "score": score(&CES, step, 10, 7), "channel": "app",
            "occurred_at": at(now - Duration::minutes(10))}),
        )
        .await;
    }
    app.clock.set(end);
    app.run_job("release_pending").await;
    Club {
        key,
        customers,
        reward,
    }
}

fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn feedback(app: &TestApp, key: &str, body: serde_json::Value) {
    ok(
        app.post("/v1/feedback", key, body).await,
        StatusCode::CREATED,
    )
    .await;
}

/// The moment the seed ends (the app's start time).
pub fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

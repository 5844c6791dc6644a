//! A tier a reward requires cannot be deleted (it would unlock the reward for everyone), and a
//! reward cannot name a tier that does not exist.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, ok, problem};

async fn tier(app: &TestApp, marketer: &str, name: &str, threshold: i64) -> String {
    ok(
        app.post(
            "/v1/tiers",
            marketer,
            json!({"name": name, "threshold": threshold}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn deleting_a_tier_a_reward_requires_returns_409_tier_in_use() {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let gold = tier(&app, &marketer, "Gold", 1000).await;
    let reward = ok(
        app.post(
            "/v1/rewards",
            &marketer,
            json!({"name": "Lounge", "kind": "gift", "cost_points": 10, "min_tier_id": gold}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let reward_id = reward["id"].as_str().unwrap();
    let delete = |path: String| {
        let (app, marketer) = (&app, &marketer);
        async move {
            app.request(Method::DELETE, &path, Some(marketer), None)
                .await
        }
    };
    let body = problem(
        delete(format!("/v1/tiers/{gold}")).await,
        StatusCode::CONFLICT,
        "tier_in_use",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("reward"));
    // The reward still requires the tier.
    let again = ok(
        app.get(&format!("/v1/rewards/{reward_id}"), &marketer)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["min_tier_id"], gold.as_str());

    // Once the reward names another tier, the tier can go.
    let silver = tier(&app, &marketer, "Silver", 500).await;
    ok(
        app.patch(
            &format!("/v1/rewards/{reward_id}"),
            &marketer,
            json!({"min_tier_id": silver}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    ok(
        delete(format!("/v1/tiers/{gold}")).await,
        StatusCode::NO_CONTENT,
    )
    .await;
}

#[tokio::test]
async fn the_database_refuses_to_delete_a_tier_a_reward_requires() {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let gold = tier(&app, &marketer, "Gold", 1000).await;
    ok(
        app.post(
            "/v1/rewards",
            &marketer,
            json!({"name": "Lounge", "kind": "gift", "cost_points": 10, "min_tier_id": gold}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let mut conn = app.pool.get().unwrap();
    let deleted = diesel::RunQueryDsl::execute(
        diesel::sql_query(format!("DELETE FROM tiers WHERE id = '{gold}'")),
        &mut *conn,
    );
    assert!(deleted.is_err(), "the foreign key must refuse: {deleted:?}");
}

#[tokio::test]
async fn patching_a_reward_to_a_tier_that_does_not_exist_returns_422_unknown_tier() {
    let app = TestApp::spawn().await;
    let marketer = app.staff_token("marketer").await;
    let reward = ok(
        app.post(
            "/v1/rewards",
            &marketer,
            json!({"name": "Mug", "kind": "gift", "cost_points": 10}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = reward["id"].as_str().unwrap();
    problem(
        app.patch(
            &format!("/v1/rewards/{id}"),
            &marketer,
            json!({"min_tier_id": "no-such-tier"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_tier",
    )
    .await;
    let unchanged = ok(
        app.get(&format!("/v1/rewards/{id}"), &marketer).await,
        StatusCode::OK,
    )
    .await;
    assert!(unchanged["min_tier_id"].is_null());
}

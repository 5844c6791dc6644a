//! Support at work: a purchase recorded through the API on the customer's 360 view, a reward
//! redeemed from the console with its code shown, and a ticket resolved.

use anyhow::{Context, ensure};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Browser, run};
use crate::helpers::{TestApp, ok};

const PASSWORD: &str = "a long enough password";

/// A support agent's email, created through the API.
async fn support_agent(app: &TestApp) -> String {
    let admin = app.admin_token().await;
    let email = "agent@example.com";
    ok(
        app.post(
            "/v1/staff",
            &admin,
            json!({"email": email, "password": PASSWORD, "role": "support"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    email.to_owned()
}

/// A purchase with lines, as a till sends it.
fn purchase(external_id: &str, customer: &str, at: &str, lines: &[(&str, &str, i64)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(name, category, price)| {
            json!({"sku": name.to_lowercase().replace(' ', "-"), "name": name,
                   "category": category, "quantity": 1, "unit_price_minor": price})
        })
        .collect();
    let total: i64 = lines
        .iter()
        .map(|l| l["unit_price_minor"].as_i64().unwrap_or(0))
        .sum();
    json!({"external_id": external_id, "customer_id": customer, "channel": "store",
           "store_id": "downtown", "occurred_at": at, "currency": "USD", "total_minor": total,
           "lines": lines})
}

/// A member with tiers, purchases, points, an answer and an open ticket; returns their id.
async fn well_known_member(app: &TestApp) -> anyhow::Result<String> {
    let admin = app.admin_token().await;
    for (name, threshold, multiplier) in [("Silver", 100, 110), ("Gold", 1000, 150)] {
        ok(
            app.post(
                "/v1/tiers",
                &admin,
                json!({"name": name, "threshold": threshold, "multiplier_percent": multiplier}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let till = app
        .api_key(&[
            "customers:read",
            "customers:write",
            "purchases:write",
            "tickets:write",
            "feedback:write",
        ])
        .await;
    let id = app
        .customer(
            &till,
            json!({"email": "sara.ahmadi@example.com", "phone": "+989121234567",
                   "first_name": "Sara", "last_name": "Ahmadi", "external_id": "pos-1042",
                   "locale": "fa", "time_zone": "Asia/Tehran", "preferred_channel": "email",
                   "consents": {"email_marketing": true, "sms_marketing": false, "surveys": true},
                   "tags": ["coffee-lover", "vip"]}),
        )
        .await["id"]
        .as_str()
        .context("customer id")?
        .to_owned();
    let baskets = [
        (
            "order-1001",
            "2026-10-28T09:30:00Z",
            vec![
                ("Espresso beans", "coffee", 18_500),
                ("Mug", "kitchen", 9_000),
            ],
        ),
        (
            "order-1002",
            "2026-11-02T17:10:00Z",
            vec![("Grinder", "kitchen", 14_900)],
        ),
        (
            "order-1003",
            "2026-11-20T08:45:00Z",
            vec![
                ("Cold brew", "coffee", 6_400),
                ("Espresso beans", "coffee", 18_500),
            ],
        ),
    ];
    for (external_id, at, lines) in baskets {
        ok(
            app.post(
                "/v1/purchases",
                &till,
                purchase(external_id, &id, at, &lines),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let resp = app
        .client
        .post(app.url(&format!("/v1/customers/{id}/points/adjustments")))
        .bearer_auth(&admin)
        .header("Idempotency-Key", "welcome")
        .json(&json!({"points": 600, "reason": "Welcome gift"}))
        .send()
        .await?;
    ok(resp, StatusCode::CREATED).await;
    ok(
        app.post(
            "/v1/feedback",
            &till,
            json!({"customer_id": id, "kind": "nps", "score": 9, "channel": "store",
                   "occurred_at": "2026-11-20T10:00:00Z"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    ok(
        app.post(
            "/v1/tickets",
            &till,
            json!({"external_id": "zd-311", "customer_id": id, "channel": "chat",
                   "subject": "Grinder arrived without its lid", "category": "delivery"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    Ok(id)
}

#[tokio::test]
async fn a_purchase_shows_on_the_360_view_and_a_redeemed_code_is_shown() {
    run("customer_360", |mut b: Browser| async move {
        let outcome = async {
            b.step("prepare a member");
            let id = well_known_member(&b.app).await?;
            let admin = b.app.admin_token().await;
            let reward = b
                .app
                .reward_id(
                    &admin,
                    json!({"name": {"en": "Free coffee", "fa": "قهوه رایگان"},
                           "kind": "free_product", "sku": "coffee", "cost_points": 300}),
                )
                .await;
            let agent = support_agent(&b.app).await;

            b.step("find the customer");
            b.sign_in(&agent, PASSWORD).await?;
            b.goto("/admin/customers").await?;
            b.fill("#f-q", "sara").await?;
            b.click("#search").await?;
            b.find("#clear-search").await?;
            b.click(&format!("a[href='/admin/customers/{id}']")).await?;

            b.step("the purchase on the 360 view");
            b.expect_text("Sara Ahmadi").await?;
            b.expect_text("Purchase order-1003").await?;
            b.expect_text("Silver").await?;
            b.expect_text("Grinder arrived without its lid").await?;
            let balance = ok(
                b.app
                    .get(&format!("/v1/customers/{id}/points"), &admin)
                    .await,
                StatusCode::OK,
            )
            .await;
            let shown = b.find("#balance-available").await?.text().await?;
            ensure!(
                balance["available"].as_i64() == shown.replace(',', "").parse().ok(),
                "available points: {shown}, the API says {balance}"
            );
            b.doc_screenshot("customer-360").await?;

            b.step("redeem from the console");
            b.choose("#f-reward_id", &reward).await?;
            b.click("#redeem-reward").await?;
            b.find("#redeemed-code").await?;
            b.expect_text("Give the customer this code.").await?;
            let code = b.find("#code-value").await?.text().await?;
            let found = ok(
                b.app.get(&format!("/v1/codes/{code}"), &admin).await,
                StatusCode::OK,
            )
            .await;
            ensure!(found["status"] == "issued", "the code: {found}");
            ensure!(found["customer_id"] == id.as_str(), "the code: {found}");
            Ok(())
        }
        .await;
        (b, outcome)
    })
    .await;
}

#[tokio::test]
async fn a_ticket_is_resolved_from_the_console() {
    run("ticket", |mut b: Browser| async move {
        let outcome = async {
            b.step("open a ticket through the API");
            let backend = b.app.backend_key().await;
            let helpdesk = b.app.api_key(&["tickets:write"]).await;
            let customer = b
                .app
                .customer(
                    &backend,
                    json!({"email": "omid@example.com", "first_name": "Omid"}),
                )
                .await["id"]
                .as_str()
                .context("customer id")?
                .to_owned();
            let ticket = ok(
                b.app
                    .post(
                        "/v1/tickets",
                        &helpdesk,
                        json!({"external_id": "zd-9", "customer_id": customer,
                               "channel": "email", "subject": "Points missing"}),
                    )
                    .await,
                StatusCode::CREATED,
            )
            .await["id"]
                .as_str()
                .context("ticket id")?
                .to_owned();

            b.step("resolve it");
            b.sign_in_as_admin().await?;
            b.goto("/admin/tickets?status=open").await?;
            b.click(&format!("a[href='/admin/tickets/{ticket}']"))
                .await?;
            b.fill("#f-resolution_note", "Added the missing points")
                .await?;
            b.click("#resolve-ticket").await?;
            b.find("#reopen-ticket").await?;
            b.expect_text("The ticket is resolved.").await?;
            let status = b.find("#ticket-status").await?.text().await?;
            ensure!(status == "Resolved", "status: {status}");

            b.step("read it back through the API");
            let admin = b.app.admin_token().await;
            let seen = ok(
                b.app.get(&format!("/v1/tickets/{ticket}"), &admin).await,
                StatusCode::OK,
            )
            .await;
            ensure!(seen["status"] == "resolved", "ticket: {seen}");
            ensure!(
                seen["resolution_note"] == "Added the missing points",
                "ticket: {seen}"
            );
            Ok(())
        }
        .await;
        (b, outcome)
    })
    .await;
}

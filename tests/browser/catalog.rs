//! The catalog pages in a browser: a tier and a reward with Persian names, and a program setting.

use anyhow::{Context, ensure};
use reqwest::StatusCode;

use crate::harness::{Browser, run};
use crate::helpers::ok;

#[tokio::test]
async fn create_a_tier_and_a_reward_with_persian_names_and_see_them_listed() {
    run("catalog-names", |mut b: Browser| async move {
        let outcome = async {
            b.step("sign in");
            b.sign_in_as_admin().await?;

            b.step("create a tier");
            b.goto("/admin/tiers").await?;
            b.click("#create-tier").await?;
            b.fill("[name='name.en']", "Gold").await?;
            b.fill("[name='name.fa']", "طلایی").await?;
            b.fill("[name='threshold']", "1000").await?;
            b.fill("[name='benefits.fa']", "ارسال رایگان").await?;
            b.click("#save-tier").await?;
            b.find("#tiers").await?;
            b.expect_text("Gold").await?;

            b.step("create a reward");
            let admin = b.app.admin_token().await;
            let tiers = ok(b.app.get("/v1/tiers", &admin).await, StatusCode::OK).await;
            let tier = tiers[0]["id"].as_str().context("a tier id")?.to_owned();
            b.goto("/admin/rewards").await?;
            b.click("#create-reward").await?;
            b.fill("[name='name.en']", "Free coffee").await?;
            b.fill("[name='name.fa']", "قهوه رایگان").await?;
            b.fill("[name='name.ar']", "قهوة مجانية").await?;
            b.choose("#f-kind", "gift").await?;
            b.fill("#f-cost_points", "200").await?;
            b.choose("#f-min_tier_id", &tier).await?;
            b.fill("#f-stock", "25").await?;
            b.click("#save-reward").await?;
            b.find("#rewards").await?;
            b.expect_text("Free coffee").await?;

            b.step("see both in Persian");
            b.choose("#lang-select", "fa").await?;
            b.find("html[dir=rtl]").await?;
            b.expect_text("قهوه رایگان").await?;
            b.expect_text("طلایی").await?;
            b.goto("/admin/tiers").await?;
            b.expect_text("طلایی").await?;
            b.expect_text("ارسال رایگان").await?;

            b.step("the API has them");
            let rewards = ok(b.app.get("/v1/rewards", &admin).await, StatusCode::OK).await;
            ensure!(
                rewards["data"][0]["name"]["fa"] == "قهوه رایگان"
                    && rewards["data"][0]["min_tier_id"] == tier.as_str()
                    && rewards["data"][0]["stock"] == 25,
                "{rewards}"
            );
            Ok(())
        }
        .await;
        (b, outcome)
    })
    .await;
}

#[tokio::test]
async fn change_a_program_setting_and_read_it_back_through_the_api() {
    run("catalog-program", |mut b: Browser| async move {
        let outcome = async {
            b.step("sign in");
            b.sign_in_as_admin().await?;

            b.step("change the pending days");
            b.goto("/admin/program").await?;
            b.fill("[name='pending_days']", "5").await?;
            b.fill("[name='time_zone']", "Asia/Tehran").await?;
            b.click("#save-program").await?;
            b.expect_text("Saved").await?;

            b.step("read it back through the API");
            let program = ok(
                b.app.get("/v1/program", &b.app.admin_token().await).await,
                StatusCode::OK,
            )
            .await;
            ensure!(program["pending_days"] == 5, "{program}");
            ensure!(program["time_zone"] == "Asia/Tehran", "{program}");

            b.step("a refused value is shown at its field");
            b.fill("[name='pending_days']", "999").await?;
            b.click("#save-program").await?;
            b.find("#e-pending_days").await?;
            b.expect_text("must be between 0 and 365").await?;
            Ok(())
        }
        .await;
        (b, outcome)
    })
    .await;
}

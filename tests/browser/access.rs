//! The staff member's own password, and an API key shown once.

use anyhow::{Context, ensure};

use crate::harness::{Browser, run};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD};

#[tokio::test]
async fn an_admin_changes_their_password_signs_out_and_signs_in_with_the_new_one() {
    run("access-password", |mut b: Browser| async move {
        let outcome = async {
            let new = "a fresh and long passphrase";
            b.step("sign in");
            b.sign_in_as_admin().await?;

            b.step("open the account page");
            b.click("#account-link").await?;
            b.find("#password-form").await?;
            b.expect_text("Change your password").await?;

            b.step("change the password");
            b.fill("#f-current_password", ADMIN_PASSWORD).await?;
            b.fill("#f-new_password", new).await?;
            b.fill("#f-repeat_password", new).await?;
            b.click("#change-password").await?;
            // Each wait names an element only the next page has, so no text is read from the
            // page being left.
            b.find("p.flash").await?;
            b.expect_text("Your password was changed.").await?;

            b.step("sign out");
            b.click("#sign-out").await?;
            b.find("#sign-in").await?;
            b.expect_text("You are signed out.").await?;

            b.step("the old password is refused");
            b.goto("/admin/sign-in").await?;
            b.fill("#f-email", ADMIN_EMAIL).await?;
            b.fill("#f-password", ADMIN_PASSWORD).await?;
            b.click("#sign-in").await?;
            b.find("#e-email").await?;
            b.expect_text("The email or password is wrong.").await?;

            b.step("sign in with the new password");
            b.sign_in(ADMIN_EMAIL, new).await?;
            b.expect_text("Dashboard").await?;
            Ok(())
        }
        .await;
        (b, outcome)
    })
    .await;
}

#[tokio::test]
async fn an_admin_creates_an_api_key_and_sees_it_once() {
    run("access-api-key", |mut b: Browser| async move {
        let outcome = async {
            b.step("sign in");
            b.sign_in_as_admin().await?;

            b.step("open the API keys");
            b.click("a[href='/admin/api-keys']").await?;
            b.click("#new-api-key-link").await?;
            b.find("#api-key-form").await?;

            b.step("create a key");
            b.fill("#f-name", "Till 4").await?;
            b.click("#scope-customers-read").await?;
            b.fill("#f-store_id", "store-4").await?;
            b.click("#create-api-key").await?;

            b.step("the key is shown once");
            b.find("#new-api-key").await?;
            b.expect_text("it will not be shown again").await?;
            let key = b.find("#new-api-key").await?.text().await?;
            ensure!(key.starts_with("pk_"), "not a key: {key}");
            let resp = b.app.get("/v1/customers", &key).await;
            ensure!(
                resp.status().is_success(),
                "the key does not work: {}",
                resp.status()
            );

            b.step("the list does not show it");
            b.click("#done").await?;
            b.find("table.api-keys").await?;
            b.expect_text("Till 4").await?;
            let page = b.text().await?;
            ensure!(!page.contains(&key), "the key is shown again");
            let source = b.client.source().await.context("page source")?;
            ensure!(!source.contains(&key), "the key is in the page again");
            Ok(())
        }
        .await;
        (b, outcome)
    })
    .await;
}

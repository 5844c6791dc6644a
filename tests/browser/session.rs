//! Signing in, the language, signing out.

use anyhow::ensure;

use crate::harness::{Browser, run};

#[tokio::test]
async fn sign_in_switch_to_persian_sign_out_and_be_refused() {
    run("session", |mut b: Browser| async move {
        let outcome = async {
            b.step("sign in");
            b.sign_in_as_admin().await?;
            b.expect_text("Dashboard").await?;

            b.step("switch to Persian");
            b.choose("#lang-select", "fa").await?;
            b.find("html[dir=rtl]").await?;
            b.expect_text("پیشخوان").await?;

            b.step("sign out");
            b.click("#sign-out").await?;
            b.expect_text("از حساب خارج شدید").await?;

            b.step("refused after sign-out");
            b.goto("/admin/customers").await?;
            let url = b.url().await;
            ensure!(url.starts_with("/admin/sign-in"), "still in at {url}");
            Ok(())
        }
        .await;
        (b, outcome)
    })
    .await;
}

//! The dashboard and the reports in a browser, on a club with two months of history.

use anyhow::ensure;

use crate::harness::{Browser, run};
use crate::insight_seed::club;

#[tokio::test]
async fn the_dashboard_and_a_report_show_seeded_figures_and_charts() {
    run("insight", |mut b: Browser| async move {
        let outcome = async {
            b.step("seed two months");
            club(&b.app).await;

            b.step("dashboard");
            b.sign_in_as_admin().await?;
            b.expect_text("Outstanding liability").await?;
            b.find("#stat-members").await?;
            b.find("svg#chart-nps-weeks").await?;
            b.find("svg#chart-points-weeks rect").await?;
            let members = b.find("#stat-members .value").await?.text().await?;
            ensure!(members == "8", "members shown: {members}");
            b.doc_screenshot("dashboard").await?;

            b.step("reports by week");
            b.click("#to-reports").await?;
            b.click("#tab-nps").await?;
            b.choose("#f-group_by", "week").await?;
            b.click("#show-report").await?;
            b.find("svg#chart-nps-groups polyline").await?;
            b.find("#table-nps").await?;
            let csv = b.find("a.csv-link").await?.attr("href").await?;
            ensure!(
                csv.as_deref() == Some("/admin/reports/nps.csv?group_by=week"),
                "CSV link: {csv:?}"
            );

            b.step("in Persian");
            b.choose("#lang-select", "fa").await?;
            b.find("html[dir=rtl]").await?;
            b.expect_text("دریافت CSV").await?;
            Ok(())
        }
        .await;
        (b, outcome)
    })
    .await;
}

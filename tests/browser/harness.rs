//! Headless Chromium driven through WebDriver (chromedriver), against the real server.
//!
//! Each test starts its own app (fresh database), its own chromedriver and browser session. A
//! scenario is a sequence of named steps; when one fails, a screenshot of the page at that step
//! is saved to `target/browser-screenshots/<test>-<step>.png` and the test fails with the error.
//!
//! Without `chromedriver` on the PATH the browser tests are skipped with a notice, unless
//! `PATRON_BROWSER_TESTS=required` (set by `.ci/run`, which installs Chromium), when they fail.

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, anyhow};
use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

/// A browser on a running app.
pub struct Browser {
    pub client: Client,
    pub app: TestApp,
    test: String,
    step: String,
    driver: Child,
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs `scenario` in a fresh browser on a fresh app, or skips it when there is no browser.
pub async fn run<F, Fut>(test: &str, scenario: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = (Browser, anyhow::Result<()>)>,
{
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let (browser, outcome) = scenario(browser).await;
    if let Err(e) = outcome {
        let shot = browser.failure_screenshot().await;
        browser.close().await;
        panic!("browser test {test} failed at step `{shot}`: {e:#}");
    }
    browser.close().await;
}

impl Browser {
    async fn start(test: &str) -> Option<Browser> {
        let required = std::env::var("PATRON_BROWSER_TESTS").is_ok_and(|v| v == "required");
        let Some(driver_path) = find_program(&["chromedriver"]) else {
            assert!(
                !required,
                "PATRON_BROWSER_TESTS=required but chromedriver is not on the PATH"
            );
            eprintln!("browser test {test} skipped: chromedriver is not installed");
            return None;
        };
        let port = free_port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,1000",
            "--lang=en-US",
        ];
        args.push("--no-first-run");
        let mut options = json!({ "args": args });
        if let Some(binary) = find_program(&["chromium", "chromium-browser", "google-chrome"]) {
            options["binary"] = json!(binary.display().to_string());
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        let mut client = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let client = client.expect("a WebDriver session on chromedriver");
        let app = TestApp::spawn().await;
        Some(Browser {
            client,
            app,
            test: test.to_owned(),
            step: "start".into(),
            driver,
        })
    }

    /// Names the step that follows (for the screenshot if it fails).
    pub fn step(&mut self, name: &str) {
        self.step = name.to_owned();
    }

    /// Opens a path of the app.
    pub async fn goto(&self, path: &str) -> anyhow::Result<()> {
        self.client
            .goto(&self.app.url(path))
            .await
            .with_context(|| format!("opening {path}"))
    }

    /// The element matching `css`, waiting up to five seconds for it.
    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        let found = self
            .client
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => Ok(element),
            Err(e) => Err(anyhow!("no element `{css}` on {}: {e}", self.url().await)),
        }
    }

    /// Types `text` into the field matching `css` (clearing it first).
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let field = self.find(css).await?;
        field.clear().await.ok();
        field
            .send_keys(text)
            .await
            .with_context(|| format!("typing into `{css}`"))
    }

    /// Chooses the option with value `value` in the select matching `css`.
    pub async fn choose(&self, css: &str, value: &str) -> anyhow::Result<()> {
        let select = self.find(css).await?;
        select
            .select_by_value(value)
            .await
            .with_context(|| format!("choosing {value} in `{css}`"))
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.find(css)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking `{css}`"))
    }

    /// The current path and query.
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| match u.query() {
                Some(q) => format!("{}?{q}", u.path()),
                None => u.path().to_owned(),
            })
            .unwrap_or_default()
    }

    /// The visible text of the page.
    pub async fn text(&self) -> anyhow::Result<String> {
        Ok(self.find("body").await?.text().await?)
    }

    /// Fails unless the page's text contains `expected`.
    pub async fn expect_text(&self, expected: &str) -> anyhow::Result<()> {
        // Pages render on the server; a short wait covers a navigation still under way.
        for _ in 0..25 {
            // A page still being left may answer "stale element": read again.
            if self.text().await.is_ok_and(|t| t.contains(expected)) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(anyhow!(
            "`{expected}` is not on {}:\n{}",
            self.url().await,
            self.text().await.unwrap_or_default()
        ))
    }

    /// Signs in through the sign-in page.
    pub async fn sign_in(&self, email: &str, password: &str) -> anyhow::Result<()> {
        self.goto("/admin/sign-in").await?;
        self.fill("#f-email", email).await?;
        self.fill("#f-password", password).await?;
        self.click("#sign-in").await?;
        self.find("#sign-out").await.map(|_| ())
    }

    /// Signs the bootstrap admin in.
    pub async fn sign_in_as_admin(&self) -> anyhow::Result<()> {
        self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Saves a screenshot for the README when `PATRON_DOC_SCREENSHOTS` names a folder.
    pub async fn doc_screenshot(&self, name: &str) -> anyhow::Result<()> {
        if let Some(dir) = std::env::var_os("PATRON_DOC_SCREENSHOTS") {
            let png = self.client.screenshot().await?;
            std::fs::create_dir_all(&dir)?;
            std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png)?;
        }
        Ok(())
    }

    async fn failure_screenshot(&self) -> String {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
        let file = dir.join(format!("{}-{}.png", self.test, self.step.replace(' ', "_")));
        match self.client.screenshot().await {
            Ok(png) => {
                let saved = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&file, png));
                match saved {
                    Ok(()) => eprintln!("screenshot saved to {}", file.display()),
                    Err(e) => eprintln!("screenshot not saved: {e}"),
                }
            }
            Err(e) => eprintln!("no screenshot: {e}"),
        }
        self.step.clone()
    }

    async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

//! The test harness: spawn the app with a fresh database, a settable clock, and helpers.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use patron::app::Application;
use patron::clock::SettableClock;
use patron::config::Settings;
use patron::db::Pool;
use reqwest::{Method, Response, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};

/// The signing key the tests configure, so they can forge tokens.
pub const SECRET: &str = "test-signing-key-that-is-at-least-32-bytes-long";
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A database that exists for one test.
pub enum TestDb {
    Sqlite(#[allow(dead_code)] tempfile::TempDir, String),
    Postgres {
        admin_url: String,
        schema: String,
        url: String,
    },
    /// Another test app's database, reached by URL only: never created or dropped here (its owner
    /// drops it), so a second instance can run on it.
    Borrowed {
        url: String,
        postgres: bool,
    },
}

impl TestDb {
    /// A fresh database: a PostgreSQL schema when PATRON_TEST_POSTGRES_URL is set, else a SQLite file.
    pub fn fresh() -> Self {
        match std::env::var("PATRON_TEST_POSTGRES_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
                let mut conn = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                    panic!("PATRON_TEST_POSTGRES_URL is set but unreachable: {e}")
                });
                diesel::sql_query(format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .expect("create schema");
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
                TestDb::Postgres {
                    admin_url,
                    schema,
                    url,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("patron.db").display());
                TestDb::Sqlite(dir, url)
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite(_, url) => url,
            TestDb::Postgres { url, .. } => url,
            TestDb::Borrowed { url, .. } => url,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(
            self,
            TestDb::Postgres { .. } | TestDb::Borrowed { postgres: true, .. }
        )
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, schema, ..
        } = self
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&mut conn);
        }
    }
}

/// Settings for a test app on a free port.
pub fn settings(db: &TestDb) -> Settings {
    let mut s = Settings::defaults().expect("defaults");
    s.server.port = 0;
    s.server.workers = 2;
    s.database.url = db.url().to_owned();
    s.database.pool_size = 4;
    // The suite runs many servers at once on two cores; waiting beats failing with 503.
    s.database.connect_timeout_secs = 30;
    s.auth.jwt_secret = Some(SecretString::from(SECRET));
    s.bootstrap.admin_email = Some(ADMIN_EMAIL.to_owned());
    s.bootstrap.admin_password = Some(SecretString::from(ADMIN_PASSWORD));
    // Tests run jobs themselves (`run_job`) on the test clock; a test that checks the cron
    // wiring turns the scheduler on.
    s.scheduler.enabled = false;
    s
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<SettableClock>,
    pub pool: Pool,
    pub jobs: patron::scheduler::JobContext,
    admin: std::sync::Mutex<Option<(String, chrono::DateTime<Utc>)>>,
    // Dropped last, after the server stops using it.
    pub db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        if std::env::var("TEST_LOG").is_ok() {
            patron::telemetry::init(&patron::config::LogSettings {
                format: "text".into(),
                level: "debug".into(),
            });
        }
        let db = TestDb::fresh();
        let mut s = settings(&db);
        tweak(&mut s);
        let clock = Arc::new(SettableClock::new(
            Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap(),
        ));
        let app = Application::build(s, clock.clone())
            .await
            .expect("app builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let pool = app.pool.clone();
        let jobs = app.jobs.clone();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            client: reqwest::Client::new(),
            clock,
            pool,
            jobs,
            admin: Default::default(),
            db,
        }
    }

    /// A second instance of the app on this app's database, with the same clock, as when several
    /// instances run behind a load balancer. It logs its own admin in; the database stays this
    /// app's (the sibling never drops it).
    pub async fn sibling(&self) -> TestApp {
        self.sibling_with(|_| {}).await
    }

    /// [`Self::sibling`] with changed settings.
    pub async fn sibling_with(&self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let db = TestDb::Borrowed {
            url: self.db.url().to_owned(),
            postgres: self.db.is_postgres(),
        };
        let mut s = settings(&db);
        tweak(&mut s);
        let app = Application::build(s, self.clock.clone())
            .await
            .expect("sibling app builds");
        // The admin exists already: the second start creates none and prints no password.
        assert!(app.bootstrap_password.is_none());
        let base = format!("http://127.0.0.1:{}", app.port());
        let pool = app.pool.clone();
        let jobs = app.jobs.clone();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            client: reqwest::Client::new(),
            clock: self.clock.clone(),
            pool,
            jobs,
            admin: Default::default(),
            db,
        }
    }

    /// Runs a registered job now, on the test clock, as the scheduler would.
    pub async fn run_job(&self, name: &str) -> patron::scheduler::JobReport {
        let job = patron::scheduler::find(name).unwrap_or_else(|| panic!("no job {name}"));
        patron::scheduler::run(&self.jobs, job)
            .await
            .unwrap_or_else(|e| panic!("job {name} failed: {e:#}"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Response {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.request(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    /// The bootstrap admin's token, logged in once per test (logins are rate limited), and again
    /// when the test clock has moved far enough for it to expire.
    pub async fn admin_token(&self) -> String {
        use patron::clock::Clock;
        let now = self.clock.now();
        if let Some((t, issued)) = self.admin.lock().unwrap().clone()
            && now - issued < chrono::Duration::minutes(5)
        {
            return t;
        }
        let body: Value = ok(
            self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await,
            StatusCode::OK,
        )
        .await;
        let token = body["access_token"].as_str().expect("token").to_owned();
        *self.admin.lock().unwrap() = Some((token.clone(), now));
        token
    }

    /// A staff member with `role`, logged in.
    pub async fn staff_token(&self, role: &str) -> String {
        let admin = self.admin_token().await;
        let email = format!("{role}-{}@example.com", uuid::Uuid::now_v7().simple());
        let password = "a long enough password";
        ok(
            self.post(
                "/v1/staff",
                &admin,
                json!({"email": email, "password": password, "role": role}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let body = ok(self.login(&email, password).await, StatusCode::OK).await;
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// An API key with the given scopes.
    pub async fn api_key(&self, scopes: &[&str]) -> String {
        let admin = self.admin_token().await;
        let body = ok(
            self.post(
                "/v1/api-keys",
                &admin,
                json!({"name": "till", "scopes": scopes}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        body["key"].as_str().expect("key").to_owned()
    }

    /// Creates a customer with an all-powerful key; returns the response body.
    pub async fn customer(&self, key: &str, body: Value) -> Value {
        ok(
            self.post("/v1/customers", key, body).await,
            StatusCode::CREATED,
        )
        .await
    }

    /// Creates a customer with this email; returns its id.
    pub async fn customer_id(&self, key: &str, email: &str) -> String {
        self.customer(key, json!({"email": email})).await["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// Creates a reward as `token` (a marketer or an admin); returns its id.
    pub async fn reward_id(&self, token: &str, body: Value) -> String {
        ok(
            self.post("/v1/rewards", token, body).await,
            StatusCode::CREATED,
        )
        .await["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// Redeems a reward for a customer under an Idempotency-Key; returns the code.
    pub async fn redeem(&self, token: &str, customer: &str, reward: &str, key: &str) -> String {
        self.redeem_answer(token, customer, reward, key).await["code"]
            .as_str()
            .expect("code")
            .to_owned()
    }

    /// Redeems a reward for a customer under an Idempotency-Key; returns the whole 201 answer.
    pub async fn redeem_answer(
        &self,
        token: &str,
        customer: &str,
        reward: &str,
        key: &str,
    ) -> Value {
        let resp = self
            .client
            .post(self.url(&format!("/v1/customers/{customer}/redemptions")))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({"reward_id": reward}))
            .send()
            .await
            .expect("request sent");
        ok(resp, StatusCode::CREATED).await
    }

    /// Mints a customer token.
    pub async fn customer_token(&self, key: &str, customer_id: &str) -> String {
        let body = ok(
            self.post(
                &format!("/v1/customers/{customer_id}/tokens"),
                key,
                json!({}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// A key with every customer-related scope.
    pub async fn backend_key(&self) -> String {
        self.api_key(&["customers:read", "customers:write", "tokens:issue"])
            .await
    }
}

/// Asserts the status and returns the JSON body.
pub async fn ok(resp: Response, status: StatusCode) -> Value {
    let got = resp.status();
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("json body")
    }
}

/// Asserts a problem+json response with this status and code; returns the body.
pub async fn problem(resp: Response, status: StatusCode, code: &str) -> Value {
    let got = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let has_request_id = resp.headers().contains_key("x-request-id");
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    assert_eq!(content_type, "application/problem+json", "body: {text}");
    assert!(has_request_id, "problem responses carry X-Request-Id");
    let body: Value = serde_json::from_str(&text).expect("problem json");
    assert_eq!(body["code"], code, "body: {text}");
    assert_eq!(body["status"], status.as_u16(), "body: {text}");
    body
}

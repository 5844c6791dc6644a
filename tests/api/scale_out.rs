//! Several instances on one database (`TestApp::sibling`): what each instance keeps in memory
//! (`patron::cache`) follows a change made through another within one second, and at once on the
//! instance that made it; and requests racing through two instances keep the ledger exact.
//!
//! These matter on PostgreSQL, where instances really run side by side; on SQLite two instances
//! on one file work too (writers take turns on the file lock), so the tests run there as well.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use patron::db::schema::{ledger_entries, purchases, reward_codes};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok, problem};
use crate::program::set_program;
use crate::purchases::{purchase, till};

/// How long a change made through one instance may take to show on another. The promise is one
/// second (`patron::cache::BOUND`); the half second on top is slack for the test machine, where
/// many test servers share two cores and a poll or a request may be scheduled late.
const BOUND: Duration = Duration::from_millis(1500);

/// Asks `shows` again and again until it answers true, and fails if a question asked more than
/// [`BOUND`] after the call still did not see the change.
async fn within_bound(what: &str, mut shows: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    loop {
        let asked = start.elapsed();
        assert!(
            asked <= BOUND,
            "{what}: not seen on the other instance within {BOUND:?}"
        );
        if shows().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until GET `path` as `token` on `app` answers the problem `status`/`code`; until then
/// it must answer `before`.
async fn refused_within_bound(
    what: &str,
    app: &TestApp,
    path: &str,
    token: &str,
    before: StatusCode,
    status: StatusCode,
    code: &str,
) {
    within_bound(what, async || {
        let resp = app.get(path, token).await;
        if resp.status() == before {
            return false;
        }
        problem(resp, status, code).await;
        true
    })
    .await;
}

/// The points a purchase of `total_minor` would earn, as previewed by `app`.
async fn preview(app: &TestApp, key: &str, customer: &str, total_minor: i64) -> i64 {
    ok(
        app.post(
            "/v1/purchases/preview",
            key,
            purchase("preview", customer, total_minor),
        )
        .await,
        StatusCode::OK,
    )
    .await["points"]["earned"]
        .as_i64()
        .expect("earned")
}

/// Waits until `app` previews `expected` points for a purchase of `total_minor`; until then it
/// must preview `before`.
async fn preview_within_bound(
    what: &str,
    app: &TestApp,
    key: &str,
    customer: &str,
    total_minor: i64,
    before: i64,
    expected: i64,
) {
    within_bound(what, async || {
        let earned = preview(app, key, customer, total_minor).await;
        assert!(
            earned == before || earned == expected,
            "{what}: previewed {earned}, neither {before} nor {expected}"
        );
        earned == expected
    })
    .await;
}

#[tokio::test]
async fn a_program_change_through_one_instance_changes_earning_on_the_other_within_a_second() {
    let a = TestApp::spawn().await;
    let b = a.sibling().await;
    let key = till(&a).await;
    let id = a.customer_id(&key, "buyer@example.com").await;
    // Both instances have read (and keep) the program.
    assert_eq!(preview(&a, &key, &id, 10_000).await, 100);
    assert_eq!(preview(&b, &key, &id, 10_000).await, 100);

    set_program(&a, json!({"earn_rate": {"spend_minor": 100, "points": 3}})).await;
    assert_eq!(
        preview(&a, &key, &id, 10_000).await,
        300,
        "at once where it was made"
    );
    preview_within_bound("new earn rate", &b, &key, &id, 10_000, 100, 300).await;

    // And back the other way, changed through the other instance.
    set_program(&b, json!({})).await;
    assert_eq!(preview(&b, &key, &id, 10_000).await, 100);
    preview_within_bound("default earn rate", &a, &key, &id, 10_000, 300, 100).await;
}

#[tokio::test]
async fn a_tier_window_change_through_one_instance_changes_balance_reads_on_the_other_within_a_second()
 {
    let a = TestApp::spawn().await;
    let b = a.sibling().await;
    let key = till(&a).await;
    let id = a.customer_id(&key, "buyer@example.com").await;
    ok(
        a.post("/v1/purchases", &key, purchase("o-1", &id, 60_000))
            .await,
        StatusCode::CREATED,
    )
    .await;
    // Four months on, November's points are inside a twelve-month window, outside a three-month one.
    a.clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-03-10T12:00:00Z")
            .unwrap()
            .into(),
    );
    let path = format!("/v1/customers/{id}/points");
    let qualifying = async |app: &TestApp| {
        ok(app.get(&path, &key).await, StatusCode::OK).await["tier"]["qualifying_points"]
            .as_i64()
            .expect("qualifying points")
    };
    // Both instances have read (and keep) the program.
    assert_eq!(qualifying(&a).await, 600);
    assert_eq!(qualifying(&b).await, 600);

    set_program(&a, json!({"tier_window_months": 3})).await;
    assert_eq!(qualifying(&a).await, 0, "at once where it was made");
    within_bound("shorter tier window", async || {
        let points = qualifying(&b).await;
        assert!(points == 600 || points == 0, "{points}");
        points == 0
    })
    .await;
}

#[tokio::test]
async fn a_tier_created_or_changed_through_one_instance_shows_on_the_other_within_a_second() {
    let a = TestApp::spawn().await;
    let b = a.sibling().await;
    let key = a.api_key(&["customers:write", "points:read"]).await;
    let id = a.customer_id(&key, "member@example.com").await;
    let path = format!("/v1/customers/{id}/points");
    for app in [&a, &b] {
        let body = ok(app.get(&path, &key).await, StatusCode::OK).await;
        assert!(body["tier"]["next_tier"].is_null(), "{body}");
    }

    let marketer = a.staff_token("marketer").await;
    let silver = ok(
        a.post(
            "/v1/tiers",
            &marketer,
            json!({"name": "Silver", "threshold": 500}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tier =
        async |app: &TestApp| ok(app.get(&path, &key).await, StatusCode::OK).await["tier"].clone();
    let now = tier(&a).await;
    assert_eq!(now["next_tier"]["id"], silver.as_str(), "at once: {now}");
    assert_eq!(now["points_to_next_tier"], 500);
    within_bound("new tier", async || {
        let t = tier(&b).await;
        assert!(
            t["next_tier"].is_null() || t["next_tier"]["id"] == silver.as_str(),
            "{t}"
        );
        t["next_tier"]["id"] == silver.as_str()
    })
    .await;
    assert_eq!(tier(&b).await["points_to_next_tier"], 500);

    ok(
        a.patch(
            &format!("/v1/tiers/{silver}"),
            &marketer,
            json!({"threshold": 800}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tier(&a).await["points_to_next_tier"], 800, "at once");
    within_bound("changed threshold", async || {
        let left = tier(&b).await["points_to_next_tier"].clone();
        assert!(left == 500 || left == 800, "{left}");
        left == 800
    })
    .await;
}

#[tokio::test]
async fn an_earning_rule_created_or_deactivated_through_one_instance_applies_on_the_other_within_a_second()
 {
    let a = TestApp::spawn().await;
    let b = a.sibling().await;
    let key = till(&a).await;
    let id = a.customer_id(&key, "buyer@example.com").await;
    assert_eq!(preview(&a, &key, &id, 10_000).await, 100);
    assert_eq!(preview(&b, &key, &id, 10_000).await, 100);

    let marketer = a.staff_token("marketer").await;
    let rule = ok(
        a.post(
            "/v1/earning-rules",
            &marketer,
            json!({"name": "Big basket", "kind": "purchase_bonus", "points": 50, "min_total_minor": 5000}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(preview(&a, &key, &id, 10_000).await, 150, "at once");
    preview_within_bound("new rule", &b, &key, &id, 10_000, 100, 150).await;

    ok(
        a.patch(
            &format!("/v1/earning-rules/{rule}"),
            &marketer,
            json!({"active": false}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(preview(&a, &key, &id, 10_000).await, 100, "at once");
    preview_within_bound("deactivated rule", &b, &key, &id, 10_000, 150, 100).await;
}

#[tokio::test]
async fn a_key_revoked_through_one_instance_is_refused_by_the_other_within_a_second() {
    let a = TestApp::spawn().await;
    let b = a.sibling().await;
    let admin = a.admin_token().await;
    let created = ok(
        a.post(
            "/v1/api-keys",
            &admin,
            json!({"name": "till 7", "scopes": ["customers:read"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let key = created["key"].as_str().unwrap();
    // Both instances have checked (and keep) the key.
    for app in [&a, &b] {
        for _ in 0..2 {
            ok(app.get("/v1/customers", key).await, StatusCode::OK).await;
        }
    }
    let resp = a
        .request(
            Method::DELETE,
            &format!("/v1/api-keys/{}", created["id"].as_str().unwrap()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    problem(
        a.get("/v1/customers", key).await,
        StatusCode::UNAUTHORIZED,
        "api_key_revoked",
    )
    .await;
    refused_within_bound(
        "revoked key",
        &b,
        "/v1/customers",
        key,
        StatusCode::OK,
        StatusCode::UNAUTHORIZED,
        "api_key_revoked",
    )
    .await;
}

/// Creates a staff member through `app`; returns (id, token).
async fn member(app: &TestApp, admin: &str, email: &str, role: &str) -> (String, String) {
    let password = "a long enough password";
    let id = ok(
        app.post(
            "/v1/staff",
            admin,
            json!({"email": email, "password": password, "role": role}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = ok(app.login(email, password).await, StatusCode::OK).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, token)
}

#[tokio::test]
async fn a_staff_member_deactivated_or_demoted_through_one_instance_loses_access_on_the_other_within_a_second()
 {
    let a = TestApp::spawn().await;
    let b = a.sibling().await;
    let admin = a.admin_token().await;

    let (id, token) = member(&a, &admin, "sam@example.com", "support").await;
    for app in [&a, &b] {
        ok(app.get("/v1/customers", &token).await, StatusCode::OK).await;
    }
    ok(
        a.patch(&format!("/v1/staff/{id}"), &admin, json!({"active": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    problem(
        a.get("/v1/customers", &token).await,
        StatusCode::UNAUTHORIZED,
        "account_disabled",
    )
    .await;
    refused_within_bound(
        "deactivated member",
        &b,
        "/v1/customers",
        &token,
        StatusCode::OK,
        StatusCode::UNAUTHORIZED,
        "account_disabled",
    )
    .await;

    let (id, token) = member(&a, &admin, "boss@example.com", "admin").await;
    for app in [&a, &b] {
        ok(app.get("/v1/staff", &token).await, StatusCode::OK).await;
    }
    ok(
        a.patch(
            &format!("/v1/staff/{id}"),
            &admin,
            json!({"role": "marketer"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    problem(
        a.get("/v1/staff", &token).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    refused_within_bound(
        "demoted admin",
        &b,
        "/v1/staff",
        &token,
        StatusCode::OK,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn a_customer_erased_or_merged_through_one_instance_loses_their_tokens_on_the_other_within_a_second()
 {
    let a = TestApp::spawn().await;
    let b = a.sibling().await;
    let key = a.backend_key().await;
    let admin = a.admin_token().await;

    let erased = a.customer_id(&key, "gone@example.com").await;
    let token = a.customer_token(&key, &erased).await;
    for app in [&a, &b] {
        ok(app.get("/v1/me", &token).await, StatusCode::OK).await;
    }
    let resp = a
        .request(
            Method::DELETE,
            &format!("/v1/customers/{erased}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    problem(
        a.get("/v1/me", &token).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    refused_within_bound(
        "erased customer",
        &b,
        "/v1/me",
        &token,
        StatusCode::OK,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;

    let source = a.customer_id(&key, "twice@example.com").await;
    let target = a.customer_id(&key, "once@example.com").await;
    let token = a.customer_token(&key, &source).await;
    for app in [&a, &b] {
        ok(app.get("/v1/me", &token).await, StatusCode::OK).await;
    }
    ok(
        a.post(
            &format!("/v1/customers/{target}/merge"),
            &key,
            json!({"source_customer_id": source}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    problem(
        a.get("/v1/me", &token).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    refused_within_bound(
        "merged customer",
        &b,
        "/v1/me",
        &token,
        StatusCode::OK,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
}

const RACE_SCOPES: &[&str] = &[
    "customers:write",
    "purchases:write",
    "points:read",
    "rewards:redeem",
];

/// What one racing request was.
enum Sent {
    Purchase { external_id: String },
    Redemption { customer: usize },
}

/// One response, read to the end.
struct Answer {
    status: StatusCode,
    replayed: bool,
    body: Value,
}

async fn answer(resp: Response) -> Answer {
    let status = resp.status();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        replayed,
        body,
    }
}

/// The code of a redemption as stored: shown in groups (`ABCD-EFGH-JKLM`), stored without dashes.
fn stored_code(redemption: &Value) -> String {
    redemption["code"].as_str().expect("code").replace('-', "")
}

#[tokio::test]
async fn purchases_and_redemptions_racing_through_two_instances_keep_every_ledger_exact() {
    const CUSTOMERS: usize = 5;
    const ROUNDS: usize = 25;
    const COST: i64 = 40;
    let a = TestApp::spawn().await;
    set_program(&a, json!({"pending_days": 0})).await;
    // Started after the program change, so both earn alike from the first request.
    let b = a.sibling().await;
    let key = a.api_key(RACE_SCOPES).await;
    let marketer = a.staff_token("marketer").await;
    let reward = a
        .reward_id(
            &marketer,
            json!({"name": "Mug", "kind": "gift", "cost_points": COST}),
        )
        .await;
    let mut customers = Vec::new();
    let mut external_ids = HashSet::new();
    for i in 0..CUSTOMERS {
        let id = a.customer_id(&key, &format!("c{i}@example.com")).await;
        let external_id = format!("start-{i}");
        ok(
            a.post("/v1/purchases", &key, purchase(&external_id, &id, 20_000))
                .await,
            StatusCode::CREATED,
        )
        .await;
        external_ids.insert(external_id);
        customers.push(id);
    }

    let instances = [&a, &b];
    let purchase_on = |app: &TestApp, external_id: &str, customer: &str| {
        tokio::spawn(
            app.client
                .post(app.url("/v1/purchases"))
                .bearer_auth(&key)
                .json(&purchase(external_id, customer, 2_000))
                .send(),
        )
    };
    let redeem_on = |app: &TestApp, idem: &str, customer: &str| {
        tokio::spawn(
            app.client
                .post(app.url(&format!("/v1/customers/{customer}/redemptions")))
                .bearer_auth(&key)
                .header("Idempotency-Key", idem)
                .json(&json!({"reward_id": reward}))
                .send(),
        )
    };
    // Each round: a purchase and a redemption through each instance, one purchase sent to both
    // at once (a till retrying through the other instance), and one redemption sent to both at
    // once under one Idempotency-Key: 8 requests a round, 200 in all.
    let mut single = Vec::new();
    let mut pairs = Vec::new();
    for round in 0..ROUNDS {
        for (n, app) in instances.iter().enumerate() {
            let c = (round * 2 + n) % CUSTOMERS;
            let external_id = format!("p-{round}-{n}");
            external_ids.insert(external_id.clone());
            single.push((
                Sent::Purchase {
                    external_id: external_id.clone(),
                },
                purchase_on(app, &external_id, &customers[c]),
            ));
            let c = (round * 3 + n) % CUSTOMERS;
            single.push((
                Sent::Redemption { customer: c },
                redeem_on(app, &format!("r-{round}-{n}"), &customers[c]),
            ));
        }
        let c = round % CUSTOMERS;
        let external_id = format!("twice-{round}");
        external_ids.insert(external_id.clone());
        pairs.push((
            Sent::Purchase {
                external_id: external_id.clone(),
            },
            purchase_on(&a, &external_id, &customers[c]),
            purchase_on(&b, &external_id, &customers[c]),
        ));
        let c = (round + 2) % CUSTOMERS;
        let idem = format!("again-{round}");
        pairs.push((
            Sent::Redemption { customer: c },
            redeem_on(&a, &idem, &customers[c]),
            redeem_on(&b, &idem, &customers[c]),
        ));
    }

    // Purchase ids by external id, and codes by customer, as the responses told them.
    let mut purchase_ids: HashMap<String, String> = HashMap::new();
    let mut codes: Vec<HashSet<String>> = vec![HashSet::new(); CUSTOMERS];
    let mut refused = 0;
    let mut record_purchase = |external_id: &str, body: &Value| {
        let id = body["id"].as_str().expect("purchase id").to_owned();
        let known = purchase_ids
            .entry(external_id.to_owned())
            .or_insert(id.clone());
        assert_eq!(*known, id, "{external_id} answered with two purchases");
    };
    for (sent, task) in single {
        let got = answer(task.await.unwrap().expect("response")).await;
        match sent {
            Sent::Purchase { external_id } => {
                assert_eq!(got.status, StatusCode::CREATED, "{}", got.body);
                record_purchase(&external_id, &got.body);
            }
            Sent::Redemption { customer } => match got.status {
                StatusCode::CREATED => {
                    codes[customer].insert(stored_code(&got.body));
                }
                StatusCode::UNPROCESSABLE_ENTITY => {
                    assert_eq!(got.body["code"], "insufficient_points", "{}", got.body);
                    refused += 1;
                }
                other => panic!("a redemption answered {other}: {}", got.body),
            },
        }
    }
    for (sent, first, second) in pairs {
        let x = answer(first.await.unwrap().expect("response")).await;
        let y = answer(second.await.unwrap().expect("response")).await;
        let mut statuses = [x.status.as_u16(), y.status.as_u16()];
        statuses.sort();
        match sent {
            Sent::Purchase { external_id } => {
                // Recorded once: one answer is the purchase, the other its replay.
                assert_eq!(
                    statuses,
                    [200, 201],
                    "{external_id}: {} / {}",
                    x.body,
                    y.body
                );
                let replay = if x.status == StatusCode::OK { &x } else { &y };
                assert!(replay.replayed, "{external_id}: {}", replay.body);
                record_purchase(&external_id, &x.body);
                record_purchase(&external_id, &y.body);
            }
            Sent::Redemption { customer } => {
                // One ran; the other replays its answer or, if it came while that one still
                // ran, is told so.
                let (ran, other) = if y.replayed || y.status == StatusCode::CONFLICT {
                    (&x, &y)
                } else {
                    (&y, &x)
                };
                assert!(!ran.replayed, "{} / {}", x.body, y.body);
                if other.status == StatusCode::CONFLICT {
                    assert_eq!(
                        other.body["code"], "idempotency_key_in_use",
                        "{}",
                        other.body
                    );
                } else {
                    assert!(other.replayed, "{} / {}", x.body, y.body);
                    assert_eq!((other.status, &other.body), (ran.status, &ran.body));
                }
                match ran.status {
                    StatusCode::CREATED => {
                        codes[customer].insert(stored_code(&ran.body));
                    }
                    StatusCode::UNPROCESSABLE_ENTITY => {
                        assert_eq!(ran.body["code"], "insufficient_points", "{}", ran.body);
                        refused += 1;
                    }
                    other => panic!("a redemption answered {other}: {}", ran.body),
                }
            }
        }
    }
    // Asked for 75 × 40 = 3000 points, of 5 × 200 + 75 × 20 = 2500 earned: some were refused.
    assert!(refused > 0, "more was asked for than earned");

    // Every purchase was recorded once, under the id its answers gave, and earned once.
    let mut conn = a.pool.get().unwrap();
    let recorded: Vec<(String, String)> = purchases::table
        .select((purchases::external_id, purchases::id))
        .load(&mut *conn)
        .unwrap();
    assert_eq!(
        recorded.len(),
        external_ids.len(),
        "one row per external id"
    );
    for (external_id, id) in &recorded {
        assert!(external_ids.contains(external_id), "{external_id}");
        if let Some(answered) = purchase_ids.get(external_id) {
            assert_eq!(answered, id, "{external_id}");
        }
        let earned: i64 = ledger_entries::table
            .filter(ledger_entries::kind.eq("earn"))
            .filter(ledger_entries::source_type.eq("purchase"))
            .filter(ledger_entries::source_id.eq(id))
            .count()
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(earned, 1, "{external_id} earned once");
    }
    // Every redemption answered 201 issued one code and spent once; none other did.
    for (i, customer) in customers.iter().enumerate() {
        let issued: HashSet<String> = reward_codes::table
            .filter(reward_codes::customer_id.eq(customer))
            .select(reward_codes::code)
            .load::<String>(&mut *conn)
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(
            issued, codes[i],
            "customer {i}: the codes answered are the codes issued"
        );
        let spent: Vec<(String, i64)> = ledger_entries::table
            .filter(ledger_entries::customer_id.eq(customer))
            .filter(ledger_entries::kind.eq("redeem"))
            .select((ledger_entries::source_id, ledger_entries::points))
            .load(&mut *conn)
            .unwrap();
        assert_eq!(
            spent.len(),
            issued.len(),
            "customer {i}: one entry per code"
        );
        assert!(
            spent
                .iter()
                .all(|(code, points)| issued.contains(code) && *points == -COST),
            "customer {i}: {spent:?}"
        );
    }
    drop(conn);
    for customer in &customers {
        crate::ledger_props::check_invariants(&a, customer);
        // Both instances read the same balance.
        let path = format!("/v1/customers/{customer}/points");
        let from_a = ok(a.get(&path, &key).await, StatusCode::OK).await;
        let from_b = ok(b.get(&path, &key).await, StatusCode::OK).await;
        assert_eq!(from_a, from_b);
    }
}

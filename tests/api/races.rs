//! Races that only PostgreSQL shows (SQLite runs one writer at a time, so there these tests only
//! check the outcome): one lock order, no lost updates, rules decided under the lock.

use diesel::prelude::*;
use patron::clock::{Clock as _, SharedClock};
use patron::db::schema::{customers, point_lots, staff};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, ok};
use crate::program::set_program;
use crate::purchases::purchase;

const SCOPES: &[&str] = &[
    "customers:write",
    "purchases:write",
    "points:read",
    "points:write",
    "rewards:redeem",
    "tokens:issue",
];

fn send(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    app.client.request(method, app.url(path)).bearer_auth(token)
}

#[tokio::test]
async fn reward_patches_racing_a_hundred_redemptions_never_oversell_the_stock() {
    let app = TestApp::spawn().await;
    set_program(&app, json!({"pending_days": 0})).await;
    let key = app.api_key(SCOPES).await;
    let marketer = app.staff_token("marketer").await;
    let reward = app
        .reward_id(
            &marketer,
            json!({"name": "Mug", "kind": "gift", "cost_points": 10, "stock": 50}),
        )
        .await;
    let mut buyers = Vec::new();
    for i in 0..10 {
        let id = app.customer_id(&key, &format!("c{i}@example.com")).await;
        ok(
            app.post(
                "/v1/purchases",
                &key,
                purchase(&format!("o-{i}"), &id, 20_000),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        buyers.push(id);
    }
    let mut redemptions = Vec::new();
    for i in 0..100 {
        let req = send(
            &app,
            Method::POST,
            &format!("/v1/customers/{}/redemptions", buyers[i % 10]),
            &key,
        )
        .header("Idempotency-Key", format!("r-{i}"))
        .json(&json!({"reward_id": reward}));
        redemptions.push(tokio::spawn(req.send()));
    }
    let mut patches = Vec::new();
    for i in 0..30 {
        let req = send(
            &app,
            Method::PATCH,
            &format!("/v1/rewards/{reward}"),
            &marketer,
        )
        .json(&json!({"name": format!("Mug {i}"), "cost_points": 10}));
        patches.push(tokio::spawn(req.send()));
    }
    let mut issued = 0;
    for r in redemptions {
        let resp = r.await.unwrap().unwrap();
        match resp.status() {
            StatusCode::CREATED => issued += 1,
            StatusCode::UNPROCESSABLE_ENTITY => {
                let body: Value = resp.json().await.unwrap();
                assert_eq!(body["code"], "out_of_stock", "{body}");
            }
            other => panic!(
                "redemption answered {other}: {}",
                resp.text().await.unwrap()
            ),
        }
    }
    for p in patches {
        assert_eq!(p.await.unwrap().unwrap().status(), StatusCode::OK);
    }
    assert_eq!(issued, 50, "exactly the stock is sold");
    let after = ok(
        app.get(&format!("/v1/rewards/{reward}"), &marketer).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(after["stock"], 0);
}

#[tokio::test]
async fn concurrent_purchases_of_one_customer_all_count_in_the_tier_and_the_statistics() {
    let app = TestApp::spawn_with(|s| s.auth.api_key_requests_per_second = 100_000).await;
    let key = app.api_key(SCOPES).await;
    let marketer = app.staff_token("marketer").await;
    // 10 points per purchase: the fifth reaches Silver, whose multiplier doubles what follows.
    ok(
        app.post(
            "/v1/tiers",
            &marketer,
            json!({"name": "Silver", "threshold": 50, "multiplier_percent": 200}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = app.customer_id(&key, "busy@example.com").await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let req = send(&app, Method::POST, "/v1/purchases", &key).json(&purchase(
            &format!("o-busy-{i}"),
            &id,
            1000,
        ));
        tasks.push(tokio::spawn(req.send()));
    }
    let mut earned = Vec::new();
    for t in tasks {
        let body = ok(t.await.unwrap().unwrap(), StatusCode::CREATED).await;
        earned.push(body["points"]["earned"].as_i64().unwrap());
    }
    // Each purchase was decided under the lock with the tier as the ones before left it: the
    // first five earn 10, the seven after them 20, in whatever order they ran.
    earned.sort_unstable();
    assert_eq!(earned, [vec![10; 5], vec![20; 7]].concat());
    let profile = ok(
        app.get(&format!("/v1/customers/{id}/profile"), &marketer)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(profile["purchases"]["count"], 12);
    assert_eq!(profile["purchases"]["total_minor"], 12_000);
}

#[tokio::test]
async fn ten_concurrent_first_purchases_pay_the_first_purchase_bonus_once() {
    let app = TestApp::spawn().await;
    let key = app.api_key(SCOPES).await;
    let marketer = app.staff_token("marketer").await;
    ok(
        app.post(
            "/v1/earning-rules",
            &marketer,
            json!({"name": "Welcome", "kind": "first_purchase_bonus", "points": 100}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    for round in 0..3 {
        let id = app
            .customer_id(&key, &format!("r{round}@example.com"))
            .await;
        let mut tasks = Vec::new();
        for i in 0..10 {
            let req = send(&app, Method::POST, "/v1/purchases", &key).json(&purchase(
                &format!("o-{round}-{i}"),
                &id,
                1000,
            ));
            tasks.push(tokio::spawn(req.send()));
        }
        let mut earned = 0;
        for t in tasks {
            let body = ok(t.await.unwrap().unwrap(), StatusCode::CREATED).await;
            earned += body["points"]["earned"].as_i64().unwrap();
        }
        assert_eq!(earned, 10 * 10 + 100, "round {round}: one bonus of 100");
        let balance = ok(
            app.get(&format!("/v1/customers/{id}/points"), &key).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(balance["pending"], 200);
    }
}

/// Sums of the customer's lots by status: (available, pending).
fn lot_sums(app: &TestApp, customer: &str) -> (i64, i64) {
    let mut conn = app.pool.get().unwrap();
    let lots: Vec<(String, i64)> = point_lots::table
        .filter(point_lots::customer_id.eq(customer))
        .select((point_lots::status, point_lots::remaining))
        .load(&mut *conn)
        .unwrap();
    lots.iter()
        .fold((0, 0), |(a, p), (status, n)| match status.as_str() {
            "available" => (a + n, p),
            "pending" => (a, p + n),
            _ => (a, p),
        })
}

#[tokio::test]
async fn returns_racing_the_release_job_on_the_same_lots_answer_no_5xx_and_keep_the_ledger_exact() {
    let app = TestApp::spawn_with(|s| s.database.pool_size = 8).await;
    set_program(&app, json!({"pending_days": 14})).await;
    let key = app.api_key(SCOPES).await;
    let id = app.customer_id(&key, "a@example.com").await;
    let mut kept = 0;
    for round in 0..40u64 {
        let mut p = purchase(&format!("o-{round}"), &id, 10_000);
        p["occurred_at"] = json!(app.clock.now().to_rfc3339());
        let pid = ok(
            app.post("/v1/purchases", &key, p).await,
            StatusCode::CREATED,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.clock.advance(chrono::Duration::days(15));
        // The release job and a return of the same purchase meet on its lot; the job starts a
        // little later each round so that every interleaving comes up.
        let (pool, clock): (patron::db::Pool, SharedClock) = (app.pool.clone(), app.clock.clone());
        let job = tokio::task::spawn_blocking(move || {
            std::thread::sleep(std::time::Duration::from_micros(500 * (round % 8)));
            patron::points::jobs::release_pending(&pool, &clock)
        });
        let returned = send(
            &app,
            Method::POST,
            &format!("/v1/purchases/{pid}/returns"),
            &key,
        )
        .json(&json!({"external_id": format!("r-{round}"), "amount_minor": 2500}))
        .send()
        .await
        .unwrap();
        let body = ok(returned, StatusCode::CREATED).await;
        assert_eq!(body["points_reversed"], 25, "round {round}");
        let report = job.await.unwrap().unwrap();
        assert_eq!(
            report.items, 1,
            "round {round}: the lot is released, not left behind"
        );
        kept += 75;
        assert_eq!(lot_sums(&app, &id), (kept, 0), "round {round}");
    }
    let balance = ok(
        app.get(&format!("/v1/customers/{id}/points"), &key).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (balance["available"].as_i64(), balance["pending"].as_i64()),
        (Some(kept), Some(0))
    );
}

fn active_admins(app: &TestApp) -> i64 {
    let mut conn = app.pool.get().unwrap();
    staff::table
        .filter(staff::role.eq("admin"))
        .filter(staff::active.eq(true))
        .count()
        .get_result(&mut *conn)
        .unwrap()
}

#[tokio::test]
async fn two_admins_demoting_each_other_leave_one() {
    let app = TestApp::spawn().await;
    let first = app.admin_token().await;
    let first_id = ok(app.get("/v1/staff", &first).await, StatusCode::OK).await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for round in 0..5 {
        // The surviving admin makes a second one; then each demotes the other at once.
        let survivor = if active_admin_is(&app, &first_id) {
            first.clone()
        } else {
            panic!("round {round}: the first admin was demoted and cannot go on")
        };
        let email = format!("second{round}@example.com");
        let second_id = ok(
            app.post(
                "/v1/staff",
                &survivor,
                json!({"email": email, "password": "a long enough password", "role": "admin"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let second = ok(
            app.login(&email, "a long enough password").await,
            StatusCode::OK,
        )
        .await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let a = send(
            &app,
            Method::PATCH,
            &format!("/v1/staff/{second_id}"),
            &survivor,
        )
        .json(&json!({"role": "marketer"}))
        .send();
        let b = send(
            &app,
            Method::PATCH,
            &format!("/v1/staff/{first_id}"),
            &second,
        )
        .json(&json!({"role": "marketer"}))
        .send();
        let (a, b) = tokio::join!(a, b);
        let statuses = [a.unwrap().status(), b.unwrap().status()];
        assert!(
            statuses
                .iter()
                .all(|s| [200, 401, 403, 422].contains(&s.as_u16())),
            "{statuses:?}"
        );
        assert_eq!(active_admins(&app), 1, "round {round}: {statuses:?}");
        if !active_admin_is(&app, &first_id) {
            // The second admin won this round: hand the role back for the next one.
            let token = second.clone();
            ok(
                app.patch(
                    &format!("/v1/staff/{first_id}"),
                    &token,
                    json!({"role": "admin"}),
                )
                .await,
                StatusCode::OK,
            )
            .await;
            ok(
                app.patch(
                    &format!("/v1/staff/{second_id}"),
                    &first,
                    json!({"active": false}),
                )
                .await,
                StatusCode::OK,
            )
            .await;
        }
    }
}

fn active_admin_is(app: &TestApp, id: &str) -> bool {
    let mut conn = app.pool.get().unwrap();
    staff::table
        .find(id)
        .filter(staff::role.eq("admin"))
        .filter(staff::active.eq(true))
        .count()
        .get_result::<i64>(&mut *conn)
        .unwrap()
        == 1
}

#[tokio::test]
async fn a_customer_patch_racing_a_password_change_never_writes_the_old_password_back() {
    let app = TestApp::spawn().await;
    let key = app.api_key(SCOPES).await;
    let id = app.customer_id(&key, "a@example.com").await;
    let token = app.customer_token(&key, &id).await;
    let mut current: Option<String> = None;
    for round in 0..8 {
        let new = format!("password number {round}");
        let mut body = json!({"new_password": new});
        if let Some(c) = &current {
            body["current_password"] = json!(c);
        }
        let change = tokio::spawn(
            send(&app, Method::PUT, "/v1/me/password", &token)
                .json(&body)
                .send(),
        );
        // PATCHes keep coming while the password is hashed and stored.
        let mut i = 0;
        while !change.is_finished() {
            let mut patches = Vec::new();
            for _ in 0..3 {
                i += 1;
                let req = send(&app, Method::PATCH, &format!("/v1/customers/{id}"), &key)
                    .json(&json!({"first_name": format!("Name {round}-{i}")}));
                patches.push(tokio::spawn(req.send()));
            }
            for p in patches {
                assert_eq!(p.await.unwrap().unwrap().status(), StatusCode::OK);
            }
        }
        let changed = change.await.unwrap().unwrap();
        assert!(changed.status().is_success(), "{}", changed.status());
        let stored: Option<String> = {
            let mut conn = app.pool.get().unwrap();
            customers::table
                .find(&id)
                .select(customers::password_hash)
                .first(&mut *conn)
                .unwrap()
        };
        assert!(
            patron::auth::passwords::verify(&new, stored.as_deref()),
            "round {round}: the new password was overwritten"
        );
        current = Some(new);
    }
}

#[tokio::test]
async fn two_writers_that_deadlock_are_run_again_instead_of_failing() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Barrier};

    let app = TestApp::spawn_with(|s| s.database.pool_size = 4).await;
    if !app.db.is_postgres() {
        // SQLite runs one writer at a time: two writers cannot deadlock there.
        return;
    }
    let key = app.api_key(SCOPES).await;
    let (a, b) = (
        app.customer_id(&key, "a@example.com").await,
        app.customer_id(&key, "b@example.com").await,
    );
    let meet = Arc::new(Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    let writer = |first: String, second: String| {
        let (meet, attempts, pool) = (meet.clone(), attempts.clone(), app.pool.clone());
        let mut first_attempt = true;
        async move {
            patron::db::run(&pool, move |c| {
                attempts.fetch_add(1, Ordering::SeqCst);
                patron::db::write(c, |c| -> Result<(), patron::error::ApiError> {
                    patron::points::ledger::lock(c, &first)?;
                    if std::mem::take(&mut first_attempt) {
                        // Both hold one balance row and now ask for the other's.
                        meet.wait();
                    }
                    patron::points::ledger::lock(c, &second)?;
                    Ok(())
                })
            })
            .await
        }
    };
    let (x, y) = tokio::join!(
        tokio::spawn(writer(a.clone(), b.clone())),
        tokio::spawn(writer(b, a))
    );
    assert!(
        x.unwrap().is_ok() && y.unwrap().is_ok(),
        "both writers finish"
    );
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        3,
        "PostgreSQL chose one as the deadlock victim, and it ran again"
    );
}

//! Property test of the ledger through the real HTTP surface: random sequences of purchases
//! (with lines, an earning rule, a first-purchase bonus and a tier multiplier), returns by lines
//! and by amount, redemptions, code cancels, adjustments, releases and expiries, for several
//! customers, with a moving clock. Every response is checked: a 5xx, or a refusal other than the
//! business rules' own, fails the test. After every step, for every customer: each balance column
//! equals the sum of its history column, nothing is below zero, the history continues entry by
//! entry in `seq` order, and the lots hold exactly the available and pending points.
//!
//! The concurrent variant sends each batch of operations at once (and runs the jobs beside
//! them); on PostgreSQL that is where lock order and retries are proven.

use chrono::Duration;
use diesel::prelude::*;
use patron::clock::{Clock, SharedClock};
use patron::db::schema::{balances, ledger_entries, point_lots};
use proptest::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::program::set_program;

const CUSTOMERS: usize = 3;
const CATEGORIES: [&str; 2] = ["coffee", "tea"];

#[derive(Debug, Clone)]
enum Op {
    /// Lines of (category, quantity, unit price); without lines, `total` is the amount.
    Purchase {
        customer: usize,
        lines: Vec<(usize, i64, i64)>,
        total: i64,
    },
    ReturnAmount {
        purchase: usize,
        amount: i64,
    },
    ReturnLine {
        purchase: usize,
        line: usize,
        quantity: i64,
    },
    Redeem(usize),
    Cancel(usize),
    Adjust {
        customer: usize,
        points: i64,
    },
    Release,
    Expire,
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let line = (0..CATEGORIES.len(), 1i64..4, 100i64..8_000);
    prop_oneof![
        4 => (0..CUSTOMERS, proptest::collection::vec(line, 0..4), 100i64..30_000)
            .prop_map(|(customer, lines, total)| Op::Purchase { customer, lines, total }),
        2 => (0usize..12, 1i64..20_000).prop_map(|(purchase, amount)| Op::ReturnAmount { purchase, amount }),
        1 => (0usize..12, 0usize..3, 1i64..3)
            .prop_map(|(purchase, line, quantity)| Op::ReturnLine { purchase, line, quantity }),
        2 => (0..CUSTOMERS).prop_map(Op::Redeem),
        1 => (0usize..8).prop_map(Op::Cancel),
        2 => (0..CUSTOMERS, -400i64..400)
            .prop_filter("non-zero", |(_, p)| *p != 0)
            .prop_map(|(customer, points)| Op::Adjust { customer, points }),
        2 => Just(Op::Release),
        2 => Just(Op::Expire),
        2 => (1i64..60).prop_map(Op::Advance),
    ]
}

/// The program, rules, tier, reward and customers every case starts from.
struct World {
    app: TestApp,
    key: String,
    customers: Vec<String>,
    reward: String,
}

/// What the operations have made so far: purchases with their line skus, and codes.
#[derive(Default)]
struct Made {
    purchases: Vec<(String, Vec<String>)>,
    codes: Vec<String>,
}

async fn world(allow_negative: bool, pending_days: i64) -> World {
    let app = TestApp::spawn().await;
    let policy = if allow_negative {
        "allow_negative"
    } else {
        "within_balance"
    };
    set_program(
        &app,
        json!({"pending_days": pending_days, "expiry_months": 1, "return_policy": policy}),
    )
    .await;
    let key = app
        .api_key(&[
            "customers:write",
            "purchases:write",
            "points:read",
            "points:write",
            "rewards:redeem",
            "codes:use",
        ])
        .await;
    let marketer = app.staff_token("marketer").await;
    for (path, body) in [
        (
            "/v1/earning-rules",
            json!({"name": "Coffee", "kind": "multiplier", "multiplier_percent": 200, "match": {"category": "coffee"}}),
        ),
        (
            "/v1/earning-rules",
            json!({"name": "Welcome", "kind": "first_purchase_bonus", "points": 50}),
        ),
        (
            "/v1/tiers",
            json!({"name": "Gold", "threshold": 300, "multiplier_percent": 150}),
        ),
    ] {
        let resp = app.post(path, &marketer, body).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "{path}");
    }
    let resp = app
        .post(
            "/v1/rewards",
            &marketer,
            json!({"name": "Gift", "kind": "gift", "cost_points": 60, "stock": 25, "code_validity_days": 30}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let reward = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut customers = Vec::new();
    for i in 0..CUSTOMERS {
        let c = app
            .customer(&key, json!({"email": format!("p{i}@example.com")}))
            .await;
        customers.push(c["id"].as_str().unwrap().to_owned());
    }
    World {
        app,
        key,
        customers,
        reward,
    }
}

/// The request an operation sends, with the statuses (and problem codes) the business rules
/// allow; `None` for the jobs and the clock.
fn request(
    w: &World,
    made: &Made,
    step: usize,
    op: &Op,
) -> Option<(reqwest::RequestBuilder, &'static [(u16, &'static str)])> {
    let app = &w.app;
    let post = |path: String| {
        app.client
            .request(Method::POST, app.url(&path))
            .bearer_auth(&w.key)
    };
    let now = app.clock.now();
    match op {
        Op::Purchase {
            customer,
            lines,
            total,
        } => {
            let lines: Vec<Value> = lines
                .iter()
                .enumerate()
                .map(|(i, (cat, q, price))| {
                    json!({"sku": format!("sku-{step}-{i}"), "category": CATEGORIES[*cat], "quantity": q, "unit_price_minor": price})
                })
                .collect();
            let total: i64 = if lines.is_empty() {
                *total
            } else {
                lines
                    .iter()
                    .map(|l| {
                        l["quantity"].as_i64().unwrap() * l["unit_price_minor"].as_i64().unwrap()
                    })
                    .sum()
            };
            let body = json!({"external_id": format!("o-{step}"), "customer_id": w.customers[*customer],
                "channel": "store", "occurred_at": now.to_rfc3339(), "currency": "USD",
                "total_minor": total, "lines": lines});
            Some((post("/v1/purchases".into()).json(&body), &[(201, "")]))
        }
        Op::ReturnAmount { purchase, amount } => {
            let (id, _) = made.purchases.get(*purchase)?;
            let body = json!({"external_id": format!("r-{step}"), "amount_minor": amount});
            Some((
                post(format!("/v1/purchases/{id}/returns")).json(&body),
                // A purchase with lines is returned by lines.
                &[
                    (201, ""),
                    (422, "return_exceeds_purchase"),
                    (422, "invalid_return"),
                ],
            ))
        }
        Op::ReturnLine {
            purchase,
            line,
            quantity,
        } => {
            let (id, skus) = made.purchases.get(*purchase)?;
            let sku = skus.get(*line)?;
            let body = json!({"external_id": format!("r-{step}"), "lines": [{"sku": sku, "quantity": quantity}]});
            Some((
                post(format!("/v1/purchases/{id}/returns")).json(&body),
                &[(201, ""), (422, "return_exceeds_purchase")],
            ))
        }
        Op::Redeem(customer) => Some((
            post(format!(
                "/v1/customers/{}/redemptions",
                w.customers[*customer]
            ))
            .header("Idempotency-Key", format!("k-{step}"))
            .json(&json!({"reward_id": w.reward})),
            &[
                (201, ""),
                (422, "insufficient_points"),
                (422, "out_of_stock"),
            ],
        )),
        Op::Cancel(i) => {
            let code = made.codes.get(*i)?;
            Some((
                post(format!("/v1/codes/{code}/cancel")),
                &[(200, ""), (409, "code_not_cancellable")],
            ))
        }
        Op::Adjust { customer, points } => Some((
            post(format!(
                "/v1/customers/{}/points/adjustments",
                w.customers[*customer]
            ))
            .header("Idempotency-Key", format!("k-{step}"))
            .json(&json!({"points": points, "reason": "prop"})),
            &[(201, ""), (422, "insufficient_points")],
        )),
        Op::Release | Op::Expire | Op::Advance(_) => None,
    }
}

/// Sends the request and checks that the answer is one the business rules allow.
async fn send(req: reqwest::RequestBuilder, allowed: &[(u16, &str)], what: &str) -> Value {
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let code = body["code"].as_str().unwrap_or("");
    assert!(
        allowed
            .iter()
            .any(|(s, c)| *s == status && (c.is_empty() || *c == code)),
        "{what} answered {status}: {body}"
    );
    body
}

fn record(made: &mut Made, op: &Op, body: &Value) {
    match op {
        Op::Purchase { .. } if body["id"].is_string() => {
            let skus = body["lines"]
                .as_array()
                .map(|ls| {
                    ls.iter()
                        .map(|l| l["sku"].as_str().unwrap_or("").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            made.purchases
                .push((body["id"].as_str().unwrap_or("").to_owned(), skus));
        }
        Op::Redeem(_) if body["reward"].is_object() => {
            if let Some(code) = body["code"].as_str() {
                made.codes.push(code.to_owned());
            }
        }
        _ => {}
    }
}

fn job(app: &TestApp, op: &Op) -> tokio::task::JoinHandle<()> {
    let (pool, clock): (patron::db::Pool, SharedClock) = (app.pool.clone(), app.clock.clone());
    let expire = matches!(op, Op::Expire);
    tokio::task::spawn_blocking(move || {
        let report = if expire {
            patron::points::jobs::expire_points(&pool, &clock)
        } else {
            patron::points::jobs::release_pending(&pool, &clock)
        };
        report.expect("the job runs");
    })
}

/// Checks one customer's ledger straight from the database: each balance column is the sum of
/// its history column, `seq` counts up without gaps and each entry continues from the one
/// before, nothing is negative, and the lots hold exactly the available and pending points.
pub fn check_invariants(app: &TestApp, customer: &str) {
    let mut conn = app.pool.get().unwrap();
    let c = &mut *conn;
    let (available, pending, negative): (i64, i64, i64) = balances::table
        .find(customer)
        .select((balances::available, balances::pending, balances::negative))
        .first(c)
        .unwrap();
    let entries: Vec<(i64, i64, i64, i64, i64, i64)> = ledger_entries::table
        .filter(ledger_entries::customer_id.eq(customer))
        .order(ledger_entries::seq.asc())
        .select((
            ledger_entries::seq,
            ledger_entries::points,
            ledger_entries::pending,
            ledger_entries::negative,
            ledger_entries::balance_after,
            ledger_entries::pending_after,
        ))
        .load(c)
        .unwrap();
    let (mut a, mut p, mut n) = (0, 0, 0);
    for (i, e) in entries.iter().enumerate() {
        a += e.1;
        p += e.2;
        n += e.3;
        assert_eq!(e.0, i as i64 + 1, "seq counts up without gaps");
        assert_eq!(
            (e.4, e.5),
            (a, p),
            "entry {} continues from the one before",
            e.0
        );
    }
    assert_eq!(
        (available, pending, negative),
        (a, p, n),
        "balance equals the sum of history"
    );
    assert!(available >= 0 && pending >= 0 && negative >= 0);
    let lots: Vec<(String, i64, i64)> = point_lots::table
        .filter(point_lots::customer_id.eq(customer))
        .select((
            point_lots::status,
            point_lots::points,
            point_lots::remaining,
        ))
        .load(c)
        .unwrap();
    assert!(
        lots.iter().all(|(_, p, r)| (0..=*p).contains(r)),
        "lots never negative: {lots:?}"
    );
    let in_lots = |status: &str| {
        lots.iter()
            .filter(|(s, _, _)| s == status)
            .map(|(_, _, r)| r)
            .sum::<i64>()
    };
    assert_eq!(
        in_lots("available"),
        available,
        "available lots hold the available balance"
    );
    assert_eq!(
        in_lots("pending"),
        pending,
        "pending lots hold the pending balance"
    );
}

fn check_all(w: &World) {
    for c in &w.customers {
        check_invariants(&w.app, c);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// One operation at a time, the invariants after each.
fn run(ops: Vec<Op>, allow_negative: bool, pending_days: i64) {
    runtime().block_on(async {
        let w = world(allow_negative, pending_days).await;
        let mut made = Made::default();
        for (step, op) in ops.iter().enumerate() {
            match op {
                Op::Advance(days) => w.app.clock.advance(Duration::days(*days)),
                Op::Release | Op::Expire => job(&w.app, op).await.unwrap(),
                _ => {
                    if let Some((req, allowed)) = request(&w, &made, step, op) {
                        let body = send(req, allowed, &format!("step {step} {op:?}")).await;
                        record(&mut made, op, &body);
                    }
                }
            }
            check_all(&w);
        }
    });
}

/// Batches of operations sent all at once, with the jobs running beside them; the invariants
/// after each batch.
fn run_concurrently(batches: Vec<Vec<Op>>, allow_negative: bool, pending_days: i64) {
    runtime().block_on(async {
        let w = world(allow_negative, pending_days).await;
        let mut made = Made::default();
        for (b, batch) in batches.iter().enumerate() {
            let mut requests = Vec::new();
            let mut jobs = Vec::new();
            // Time moves between batches: a request in flight keeps the time it was sent at.
            let mut advance = 0;
            for (i, op) in batch.iter().enumerate() {
                let step = b * 100 + i;
                match op {
                    Op::Advance(days) => advance += days,
                    Op::Release | Op::Expire => jobs.push(job(&w.app, op)),
                    _ => {
                        if let Some((req, allowed)) = request(&w, &made, step, op) {
                            let what = format!("batch {b} step {i} {op:?}");
                            requests.push((
                                op.clone(),
                                tokio::spawn(async move { send(req, allowed, &what).await }),
                            ));
                        }
                    }
                }
            }
            for (op, r) in requests {
                let body = r.await.expect("the request task finished");
                record(&mut made, &op, &body);
            }
            for j in jobs {
                j.await.expect("the job finished");
            }
            check_all(&w);
            w.app.clock.advance(Duration::days(advance));
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_balance_is_explained_by_its_history_under_random_operations(
        ops in proptest::collection::vec(op(), 1..40),
        allow_negative in any::<bool>(),
        pending_days in 0i64..20,
    ) {
        run(ops, allow_negative, pending_days);
    }

    #[test]
    fn concurrent_operations_keep_every_balance_explained_by_its_history(
        batches in proptest::collection::vec(proptest::collection::vec(op(), 1..12), 1..6),
        allow_negative in any::<bool>(),
        pending_days in 0i64..20,
    ) {
        run_concurrently(batches, allow_negative, pending_days);
    }
}

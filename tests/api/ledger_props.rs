//! Property test of the ledger: random sequences of purchases, partial returns, redemptions,
//! code cancels, adjustments, releases and expiries with a moving clock, run through the
//! services on a real database. After every step each balance column equals the sum of its
//! history column, nothing is below zero, and the lots hold exactly the available and pending points.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use diesel::prelude::*;
use patron::audit::Actor;
use patron::clock::{Clock, SettableClock, SharedClock};
use patron::db::schema::{balances, ledger_entries, point_lots};
use patron::db::{self, DbConnection};
use patron::program::{ProgramSettings, ReturnPolicy};
use patron::purchases::returns::{self, NewReturn, ReturnItems};
use patron::purchases::service::{self as purchases, CustomerRef, NewPurchase};
use patron::rewards::{self, RewardRow};
use patron::{customers, points, program};
use proptest::prelude::*;

use crate::helpers::TestDb;

#[derive(Debug, Clone)]
enum Op {
    Purchase(i64),
    Return { purchase: usize, amount: i64 },
    Redeem,
    Cancel(usize),
    Adjust(i64),
    Release,
    Expire,
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (100i64..50_000).prop_map(Op::Purchase),
        2 => (0usize..8, 1i64..30_000).prop_map(|(purchase, amount)| Op::Return { purchase, amount }),
        2 => Just(Op::Redeem),
        1 => (0usize..8).prop_map(Op::Cancel),
        2 => (-400i64..400).prop_filter("non-zero", |p| *p != 0).prop_map(Op::Adjust),
        2 => Just(Op::Release),
        2 => Just(Op::Expire),
        2 => (1i64..60).prop_map(Op::Advance),
    ]
}

fn check_invariants(c: &mut DbConnection, customer: &str) {
    let (available, pending, negative): (i64, i64, i64) = balances::table
        .find(customer)
        .select((balances::available, balances::pending, balances::negative))
        .first(c)
        .unwrap();
    let entries: Vec<(i64, i64, i64)> = ledger_entries::table
        .filter(ledger_entries::customer_id.eq(customer))
        .select((
            ledger_entries::points,
            ledger_entries::pending,
            ledger_entries::negative,
        ))
        .load(c)
        .unwrap();
    let sum = entries
        .iter()
        .fold((0, 0, 0), |(a, p, n), e| (a + e.0, p + e.1, n + e.2));
    assert_eq!(
        (available, pending, negative),
        sum,
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

fn run(ops: Vec<Op>, policy: ReturnPolicy, pending_days: i64) {
    let test_db = TestDb::fresh();
    let pool = db::connect(test_db.url(), 2, std::time::Duration::from_secs(30)).unwrap();
    let mut conn = pool.get().unwrap();
    db::migrations::run_pending(&mut conn).unwrap();
    let clock = Arc::new(SettableClock::new(
        Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap(),
    ));
    let shared: SharedClock = clock.clone();
    let settings = ProgramSettings {
        pending_days,
        expiry_months: 1,
        return_policy: policy,
        ..ProgramSettings::default()
    };
    program::repo::save(&mut conn, &settings, clock.now_naive()).unwrap();
    let fields = customers::model::CustomerFields {
        email: Some("p@example.com".into()),
        ..Default::default()
    };
    let customer =
        customers::service::create(&mut conn, &Actor::System, fields, vec![], clock.now_naive())
            .unwrap()
            .row
            .id;
    let now = clock.now_naive();
    let reward = RewardRow {
        id: "reward".into(),
        name: "\"Gift\"".into(),
        description: "\"\"".into(),
        kind: "gift".into(),
        percent_off: None,
        amount_off_minor: None,
        sku: None,
        cost_points: 60,
        min_tier_id: None,
        stock: None,
        per_customer_limit: None,
        valid_from: None,
        valid_until: None,
        code_validity_days: 30,
        active: true,
        created_at: now,
        updated_at: now,
    };
    rewards::repo::insert(&mut conn, &reward).unwrap();
    let (mut purchases_made, mut codes) = (Vec::new(), Vec::new());
    for (step, op) in ops.into_iter().enumerate() {
        let now = clock.now_naive();
        match op {
            Op::Purchase(total) => {
                let p = NewPurchase {
                    external_id: format!("o-{step}"),
                    customer: CustomerRef::Id(customer.clone()),
                    store_id: None,
                    channel: "store".into(),
                    occurred_at: now,
                    currency: "USD".into(),
                    total_minor: total,
                    lines: vec![],
                    request_hash: format!("h-{step}"),
                };
                purchases_made.push(purchases::record(&mut conn, p, now).unwrap().purchase.id);
            }
            Op::Return { purchase, amount } => {
                if let Some(id) = purchases_made.get(purchase) {
                    let r = NewReturn {
                        purchase_id: id.clone(),
                        bound_store: None,
                        external_id: format!("r-{step}"),
                        items: ReturnItems::Amount(amount),
                        request_hash: format!("h-{step}"),
                    };
                    // Returning more than is left is refused; that is fine here.
                    let _ = returns::record(&mut conn, r, now);
                }
            }
            Op::Redeem => {
                if let Ok(r) = rewards::service::redeem(
                    &mut conn,
                    &Actor::System,
                    &customer,
                    "reward",
                    None,
                    now,
                ) {
                    codes.push(r.code.code);
                }
            }
            Op::Cancel(i) => {
                if let Some(code) = codes.get(i) {
                    let _ =
                        rewards::service::cancel_code(&mut conn, &Actor::System, code, None, now);
                }
            }
            Op::Adjust(points) => {
                let a = points::service::Adjustment {
                    customer_id: customer.clone(),
                    points,
                    reason: "prop".into(),
                    note_for_customer: None,
                };
                let _ = points::service::adjust(&mut conn, &Actor::System, a, now);
            }
            Op::Release => {
                points::jobs::release_pending(&pool, &shared).unwrap();
            }
            Op::Expire => {
                points::jobs::expire_points(&pool, &shared).unwrap();
            }
            Op::Advance(days) => clock.advance(Duration::days(days)),
        }
        check_invariants(&mut conn, &customer);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn every_balance_is_explained_by_its_history_under_random_operations(
        ops in proptest::collection::vec(op(), 1..40),
        allow_negative in any::<bool>(),
        pending_days in 0i64..20,
    ) {
        let policy = if allow_negative { ReturnPolicy::AllowNegative } else { ReturnPolicy::WithinBalance };
        run(ops, policy, pending_days);
    }
}

//! Migrations exist for both databases under the same names, and go up, down and up again.

use diesel::connection::SimpleConnection;
use patron::db;

use crate::helpers::TestDb;

fn names(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn both_migration_folders_list_the_same_names_each_with_up_and_down() {
    let root = env!("CARGO_MANIFEST_DIR");
    let sqlite = names(&format!("{root}/migrations/sqlite"));
    let postgres = names(&format!("{root}/migrations/postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
    for backend in ["sqlite", "postgres"] {
        for name in &sqlite {
            for file in ["up.sql", "down.sql"] {
                let path = format!("{root}/migrations/{backend}/{name}/{file}");
                assert!(std::path::Path::new(&path).is_file(), "{path} is missing");
            }
        }
    }
}

#[test]
fn migrations_go_up_down_and_up_again() {
    let test_db = TestDb::fresh();
    let pool = db::connect(test_db.url(), 1, std::time::Duration::from_secs(5)).unwrap();
    let mut conn = pool.get().unwrap();
    let applied = db::migrations::run_pending(&mut conn).unwrap();
    assert!(!applied.is_empty());
    conn.batch_execute("SELECT id, email, phone, external_id FROM customers")
        .unwrap();
    let reverted = db::migrations::revert_all(&mut conn).unwrap();
    assert_eq!(reverted, applied.len());
    assert!(
        conn.batch_execute("SELECT id FROM customers").is_err(),
        "tables are gone after down"
    );
    let again = db::migrations::run_pending(&mut conn).unwrap();
    assert_eq!(again, applied);
    conn.batch_execute("SELECT id FROM customers").unwrap();
    assert!(db::migrations::run_pending(&mut conn).unwrap().is_empty());
    // Keep the database handle alive until the end, whichever backend it is.
    let _ = test_db.is_postgres();
}

#[tokio::test]
async fn the_customer_360_migration_carries_existing_customers_and_purchases_over() {
    let app = crate::helpers::TestApp::spawn().await;
    {
        let mut conn = app.pool.get().unwrap();
        // Back to just before the customer 360 (and whatever came after it).
        let mut reverted = Vec::new();
        while reverted.last().map(String::as_str) != Some("20261124000001") {
            reverted.push(db::migrations::revert_last(&mut conn).unwrap());
        }
        conn.batch_execute(
            "INSERT INTO customers (id, email, first_name, last_name, created_at, updated_at, referral_code)
               VALUES ('old-1', 'old@example.com', 'Olga', 'Timer', '2026-10-01 09:00:00', '2026-10-01 09:00:00', 'OLDCODE001');
             INSERT INTO balances (customer_id, available, pending, negative, lifetime_earned, redeemed, expired, updated_at, last_seq)
               VALUES ('old-1', 0, 0, 0, 0, 0, 0, '2026-10-01 09:00:00', 0);
             INSERT INTO purchases (id, external_id, customer_id, store_id, channel, occurred_at, currency, total_minor,
                                    points_earned, breakdown, returned_minor, points_reversed, request_hash, created_at)
               VALUES ('p-1', 'o-1', 'old-1', 'S1', 'store', '2026-11-01 10:00:00', 'USD', 3000, 0, '[]', 1000, 0, 'h', '2026-11-01 10:00:00'),
                      ('p-2', 'o-2', 'old-1', NULL, 'web', '2026-11-10 10:00:00', 'USD', 2000, 0, '[]', 0, 0, 'h', '2026-11-10 10:00:00');
             INSERT INTO purchase_lines (purchase_id, line_no, sku, category, quantity, unit_price_minor, points, returned_quantity, points_reversed)
               VALUES ('p-1', 0, 'tea', 'drinks', 2, 1000, 0, 1, 0), ('p-1', 1, 'cup', 'homeware', 1, 1000, 0, 0, 0);
             INSERT INTO purchase_returns (id, external_id, purchase_id, amount_minor, points_reversed, points_uncovered, request_hash, created_at)
               VALUES ('r-1', 'ret-1', 'p-1', 1000, 0, 0, 'h', '2026-11-02 10:00:00');",
        )
        .unwrap();
        reverted.reverse();
        assert_eq!(db::migrations::run_pending(&mut conn).unwrap(), reverted);
    }
    let key = app.api_key(&["customers:read"]).await;
    let profile = crate::helpers::ok(
        app.get("/v1/customers/old-1/profile", &key).await,
        reqwest::StatusCode::OK,
    )
    .await;
    let s = &profile["purchases"];
    assert_eq!(
        (
            s["count"].as_i64(),
            s["total_minor"].as_i64(),
            s["returned_minor"].as_i64()
        ),
        (Some(2), Some(5000), Some(1000))
    );
    assert_eq!(s["last_purchase_at"], "2026-11-10T10:00:00Z");
    // drinks: 2 x 10.00 with one returned; homeware: 1 x 10.00. A tie goes alphabetically.
    assert_eq!(s["favourite_category"], "drinks");
    assert_eq!(s["categories"][1]["spent_minor"], 1000);
    let kinds: Vec<&str> = profile["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["purchase", "return", "purchase", "created"]);
    let found = crate::helpers::ok(
        app.get("/v1/customers?q=olga", &key).await,
        reqwest::StatusCode::OK,
    )
    .await;
    assert_eq!(found["data"][0]["id"], "old-1");
}

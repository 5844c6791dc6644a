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

//! In-memory copies of what nearly every request reads and staff rarely change: the program
//! document, the tiers, the active earning rules, the active post-purchase surveys, API keys,
//! staff members, and which customers may still use their tokens.
//!
//! Invalidation is by version number. The `cache_versions` table holds one number per kind of
//! data, and database triggers bump it in the transaction of every write (migration
//! `cache_versions`), whichever instance or tool made the write. Each instance polls that small
//! table on a connection of its own every `cache.refresh_interval_ms`, and keeps the highest
//! version it has seen per kind. A copy is used only while
//!
//! - it was loaded when the highest version seen was already at least the current one, and
//! - the last poll that succeeded started less than [`BOUND`] ago;
//!
//! otherwise the data is read from the database. So a write committed through another instance
//! is seen here within [`BOUND`] (one second), even if polling stalls. On the instance that made
//! the write, its code marks the kind as changed ([`changed`]) and the copy is dropped as soon
//! as the transaction's work returns (`db::run`, `Pool::scoped`), before the response is sent.
//!
//! A copy loaded while a write was committing is never kept past the drop: each drop bumps a
//! generation number, and a loader stores only if the generation did not move while it loaded.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::cache_versions;

/// How stale a copy may be: a write committed anywhere is seen by every instance within this.
pub const BOUND: Duration = Duration::from_secs(1);

/// Most entries a keyed cache holds; it starts over when full.
const MAX_ENTRIES: usize = 100_000;

/// The kinds of cached data, named as in `cache_versions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Program,
    Tiers,
    EarningRules,
    Surveys,
    ApiKeys,
    Staff,
    Customers,
}

const TOPICS: [Topic; 7] = [
    Topic::Program,
    Topic::Tiers,
    Topic::EarningRules,
    Topic::Surveys,
    Topic::ApiKeys,
    Topic::Staff,
    Topic::Customers,
];

impl Topic {
    fn name(self) -> &'static str {
        match self {
            Topic::Program => "program",
            Topic::Tiers => "tiers",
            Topic::EarningRules => "earning_rules",
            Topic::Surveys => "surveys",
            Topic::ApiKeys => "api_keys",
            Topic::Staff => "staff",
            Topic::Customers => "customers",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One cached value with the version it is good for.
struct Entry<T> {
    version: i64,
    value: T,
}

/// A cached value, or cached values by key, of one topic.
struct Store<K, V> {
    generation: AtomicU64,
    entries: RwLock<HashMap<K, Entry<V>>>,
}

impl<K: Eq + Hash, V: Clone> Store<K, V> {
    fn new() -> Self {
        Self {
            generation: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K, version: i64) -> Option<V> {
        let entries = self.entries.read().ok()?;
        entries
            .get(key)
            .filter(|e| e.version >= version)
            .map(|e| e.value.clone())
    }

    fn put(&self, key: K, value: V, version: i64, generation: u64) {
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        // Checked under the lock that `clear` takes too: a drop cannot slip in between.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, Entry { version, value });
    }

    fn clear(&self) {
        let mut entries = match self.entries.write() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

/// Whether a customer's tokens still work (not erased, not merged into another record).
pub type TokenHolder = bool;

/// The caches of one pool (one database).
pub struct Caches {
    started: Instant,
    /// Highest version seen per topic.
    seen: [AtomicI64; 7],
    /// When the last successful poll started, in milliseconds since `started`; `u64::MAX` before
    /// the first one.
    polled_at_ms: AtomicU64,
    program: Store<(), Arc<crate::program::ProgramSettings>>,
    tiers: Store<(), Arc<Vec<crate::tiers::TierRow>>>,
    rules: Store<Vec<&'static str>, Arc<Vec<crate::rules::RuleRow>>>,
    surveys: Store<(), Arc<Vec<crate::feedback::SurveyRow>>>,
    api_keys: Store<String, Option<crate::api_keys::ApiKeyRow>>,
    staff: Store<String, Option<crate::staff::StaffRow>>,
    customers: Store<String, TokenHolder>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches").finish_non_exhaustive()
    }
}

impl Default for Caches {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            seen: Default::default(),
            polled_at_ms: AtomicU64::new(u64::MAX),
            program: Store::new(),
            tiers: Store::new(),
            rules: Store::new(),
            surveys: Store::new(),
            api_keys: Store::new(),
            staff: Store::new(),
            customers: Store::new(),
        }
    }
}

impl Caches {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// The version a copy of `topic` must have to be used now; `None` when the last poll is
    /// too old for any copy to be trusted.
    fn required(&self, topic: Topic) -> Option<i64> {
        let polled = self.polled_at_ms.load(Ordering::Acquire);
        let age = self.now_ms().checked_sub(polled)?;
        (u128::from(age) < BOUND.as_millis())
            .then(|| self.seen[topic.index()].load(Ordering::Acquire))
    }

    /// Records the versions read by a poll that started at `started_ms`.
    fn observe(&self, versions: &[(String, i64)], started_ms: u64) {
        for (name, version) in versions {
            if let Some(topic) = TOPICS.iter().find(|t| t.name() == name) {
                let before = self.seen[topic.index()].fetch_max(*version, Ordering::AcqRel);
                if before < *version {
                    self.drop_topic(*topic);
                }
            }
        }
        // Only ever forward: a slow poll that started earlier must not make the copies look
        // fresher than they are.
        let _ = self
            .polled_at_ms
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |at| {
                (at == u64::MAX || at < started_ms).then_some(started_ms)
            });
    }

    fn drop_topic(&self, topic: Topic) {
        match topic {
            Topic::Program => self.program.clear(),
            Topic::Tiers => self.tiers.clear(),
            Topic::EarningRules => self.rules.clear(),
            Topic::Surveys => self.surveys.clear(),
            Topic::ApiKeys => self.api_keys.clear(),
            Topic::Staff => self.staff.clear(),
            Topic::Customers => self.customers.clear(),
        }
    }

    /// The current copy in `store` under `key`, if there is one (no database access).
    fn peek<K: Eq + Hash, V: Clone>(
        &self,
        topic: Topic,
        store: &Store<K, V>,
        key: &K,
    ) -> Option<V> {
        store.get(key, self.required(topic)?)
    }

    /// The API key with this hash, if a current copy is kept.
    pub fn peek_api_key(&self, hash: &str) -> Option<crate::api_keys::ApiKeyRow> {
        self.peek(Topic::ApiKeys, &self.api_keys, &hash.to_owned())
            .flatten()
    }

    /// The staff member, if a current copy is kept (`Some(None)`: known not to exist).
    pub fn peek_staff(&self, id: &str) -> Option<Option<crate::staff::StaffRow>> {
        self.peek(Topic::Staff, &self.staff, &id.to_owned())
    }

    /// Whether the customer's tokens work, if a current answer is kept.
    pub fn peek_token_holder(&self, customer_id: &str) -> Option<TokenHolder> {
        self.peek(Topic::Customers, &self.customers, &customer_id.to_owned())
    }

    /// Reads through `store`: a copy when there is a current one, else `load` (whose result
    /// is kept when no write was noticed meanwhile).
    fn read<K, V, E>(
        &self,
        topic: Topic,
        store: &Store<K, V>,
        key: K,
        load: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E>
    where
        K: Eq + Hash,
        V: Clone,
    {
        let Some(version) = self.required(topic) else {
            return load();
        };
        if let Some(value) = store.get(&key, version) {
            return Ok(value);
        }
        let generation = store.generation.load(Ordering::Acquire);
        let value = load()?;
        // What this thread's own uncommitted write changed is not shared with other threads.
        if !CHANGED.with(|c| c.borrow().contains(&topic)) {
            store.put(key, value.clone(), version, generation);
        }
        Ok(value)
    }
}

thread_local! {
    /// The caches of the pool whose work runs on this thread, and the topics its writes changed.
    static CURRENT: RefCell<Option<Arc<Caches>>> = const { RefCell::new(None) };
    static CHANGED: RefCell<Vec<Topic>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `caches` as this thread's caches, then drops the copies of whatever its writes
/// changed. `f` must have committed (or rolled back) its transactions by the time it returns.
pub fn scoped<T>(caches: &Arc<Caches>, f: impl FnOnce() -> T) -> T {
    let previous = CURRENT.with(|c| c.replace(Some(caches.clone())));
    let result = f();
    CURRENT.with(|c| c.replace(previous));
    flush(caches);
    result
}

fn flush(caches: &Caches) {
    let changed = CHANGED.with(|c| std::mem::take(&mut *c.borrow_mut()));
    for topic in changed {
        caches.drop_topic(topic);
    }
}

/// Marks `topic` as changed by a write on this thread: this instance drops its copy once the
/// work returns (other instances learn it from the version the trigger bumped).
pub fn changed(topic: Topic) {
    if CURRENT.with(|c| c.borrow().is_none()) {
        return;
    }
    CHANGED.with(|c| {
        let mut c = c.borrow_mut();
        if !c.contains(&topic) {
            c.push(topic);
        }
    });
}

fn with_current<T>(f: impl FnOnce(Option<&Caches>) -> T) -> T {
    let caches = CURRENT.with(|c| c.borrow().clone());
    f(caches.as_deref())
}

/// The program document.
pub fn program(conn: &mut DbConnection) -> QueryResult<Arc<crate::program::ProgramSettings>> {
    with_current(|caches| {
        let mut load = || crate::program::repo::load(conn).map(Arc::new);
        match caches {
            Some(c) => c.read(Topic::Program, &c.program, (), load),
            None => load(),
        }
    })
}

/// Every tier, lowest threshold first.
pub fn tiers(conn: &mut DbConnection) -> QueryResult<Arc<Vec<crate::tiers::TierRow>>> {
    with_current(|caches| {
        let mut load = || crate::tiers::repo::all(conn).map(Arc::new);
        match caches {
            Some(c) => c.read(Topic::Tiers, &c.tiers, (), load),
            None => load(),
        }
    })
}

/// The active earning rules of these kinds.
pub fn active_rules(
    conn: &mut DbConnection,
    kinds: &[&'static str],
) -> QueryResult<Arc<Vec<crate::rules::RuleRow>>> {
    with_current(|caches| {
        let mut load = || crate::rules::repo::active(conn, kinds).map(Arc::new);
        match caches {
            Some(c) => c.read(Topic::EarningRules, &c.rules, kinds.to_vec(), load),
            None => load(),
        }
    })
}

/// The active surveys sent after a purchase.
pub fn post_purchase_surveys(
    conn: &mut DbConnection,
) -> QueryResult<Arc<Vec<crate::feedback::SurveyRow>>> {
    with_current(|caches| {
        let mut load = || {
            crate::feedback::survey_repo::active_with_trigger(
                conn,
                crate::feedback::Trigger::PostPurchase,
            )
            .map(Arc::new)
        };
        match caches {
            Some(c) => c.read(Topic::Surveys, &c.surveys, (), load),
            None => load(),
        }
    })
}

/// The API key with this hash (revoked keys included: the caller says why it is refused).
pub fn api_key(
    conn: &mut DbConnection,
    hash: &str,
) -> QueryResult<Option<crate::api_keys::ApiKeyRow>> {
    with_current(|caches| {
        let mut load = || crate::api_keys::repo::find_by_hash(conn, hash);
        match caches {
            // Unknown keys are not kept: guesses must not fill the memory.
            Some(c) => {
                let found = c.read(Topic::ApiKeys, &c.api_keys, hash.to_owned(), || {
                    load()?.map(Some).ok_or(diesel::result::Error::NotFound)
                });
                match found {
                    Err(diesel::result::Error::NotFound) => Ok(None),
                    other => other,
                }
            }
            None => load(),
        }
    })
}

/// The staff member with this id.
pub fn staff_member(
    conn: &mut DbConnection,
    id: &str,
) -> QueryResult<Option<crate::staff::StaffRow>> {
    with_current(|caches| {
        let mut load = || crate::staff::repo::find(conn, id);
        match caches {
            Some(c) => c.read(Topic::Staff, &c.staff, id.to_owned(), load),
            None => load(),
        }
    })
}

/// Whether the customer's tokens still work: the customer exists, is not erased and was not
/// merged into another record.
pub fn token_holder(conn: &mut DbConnection, customer_id: &str) -> QueryResult<TokenHolder> {
    with_current(|caches| {
        let mut load = || {
            crate::customers::repo::find(conn, customer_id)
                .map(|r| r.is_some_and(|r| r.erased_at.is_none() && r.merged_into.is_none()))
        };
        match caches {
            Some(c) => c.read(Topic::Customers, &c.customers, customer_id.to_owned(), load),
            None => load(),
        }
    })
}

/// Reads every version (one statement).
fn read_versions(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    cache_versions::table
        .select((cache_versions::name, cache_versions::version))
        .load(conn)
}

/// Polls `cache_versions` every `interval` on a connection of its own, until the caches are
/// dropped. A failed poll is retried on a new connection; meanwhile copies older than
/// [`BOUND`] are not used.
pub fn start_polling(
    caches: &Arc<Caches>,
    connect: impl Fn() -> anyhow::Result<DbConnection> + Send + 'static,
    interval: Duration,
) -> std::io::Result<()> {
    let weak: Weak<Caches> = Arc::downgrade(caches);
    let mut conn = None;
    let mut poll = move || -> bool {
        let Some(caches) = weak.upgrade() else {
            return false;
        };
        let started_ms = caches.now_ms();
        if conn.is_none() {
            conn = connect()
                .inspect_err(|e| tracing::warn!(error = %e, "cache poll cannot connect"))
                .ok();
        }
        if let Some(c) = conn.as_mut() {
            match read_versions(c) {
                Ok(versions) => caches.observe(&versions, started_ms),
                Err(e) => {
                    tracing::warn!(error = %e, "cache poll failed; copies expire within a second");
                    conn = None;
                }
            }
        }
        true
    };
    // The first poll runs before the server answers, so the caches work from the start.
    poll();
    std::thread::Builder::new()
        .name("patron-cache-poll".into())
        .spawn(move || {
            while {
                std::thread::sleep(interval);
                poll()
            } {}
        })
        .map(drop)
}

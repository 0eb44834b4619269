//! A runtime that survives what operators do to a database: schema changes
//! under cached statements (the cache heals itself, or says the generated
//! code is stale), a server restart under a pool in use (read-only calls
//! retried on fresh connections, an in-flight write never retried), and
//! `quarry::Client`, the plain connection that prepares each statement once.
//!
//! The queries are generated (`tests/types/resilience.toml`): `ListEvents`
//! is `SELECT *`, so adding a column changes its result type.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quarry::tokio_postgres::error::SqlState;
use quarry::{Error, Query};
use quarry_tests::generated::resilience::events;
use quarry_tests::TestDb;

const SCHEMA: &str = "
    CREATE TABLE events (id bigint PRIMARY KEY, label text NOT NULL);
    INSERT INTO events VALUES (1, 'one'), (2, 'two');
";

/// The SQL of the generated `CountEvents`, as `pg_prepared_statements` shows
/// it (with the comment naming the query: attribution is on by default).
const COUNT_SQL: &str = "/* quarry:CountEvents */ SELECT count(*) AS total FROM events";
/// The SQL of the generated `ListEvents`.
const LIST_SQL: &str = "/* quarry:ListEvents */ SELECT * FROM events ORDER BY id";

async fn events_db(prefix: &str) -> TestDb {
    let db = TestDb::new(prefix).await;
    db.client.batch_execute(SCHEMA).await.unwrap();
    db
}

/// A pool of exactly one connection: "the same pooled connection" for sure.
fn one_connection_pool(db: &TestDb) -> quarry::Pool {
    let config = db.url.parse().unwrap();
    quarry::Pool::from_config(config, 1).unwrap()
}

/// How many statements with this SQL text are prepared on the session that
/// runs this query (`db` is that session).
async fn prepared(session: &quarry::tokio_postgres::Client, sql: &str) -> i64 {
    session
        .query_one(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1",
            &[&sql],
        )
        .await
        .unwrap()
        .get(0)
}

async fn backend_pid(pool: &quarry::Pool) -> i32 {
    let conn = pool.get().await.unwrap();
    conn.query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

fn ids(rows: &[events::ListEventsRow]) -> Vec<i64> {
    rows.iter().map(|row| row.id).collect()
}

#[tokio::test]
async fn a_cached_statement_heals_after_add_column_on_the_same_pooled_connection() {
    let db = events_db("resilience_heal").await;
    let pool = one_connection_pool(&db);
    let pid = backend_pid(&pool).await;

    assert_eq!(ids(&events::list_events(&pool).await.unwrap()), [1, 2]);
    db.client
        .batch_execute("ALTER TABLE events ADD COLUMN note text")
        .await
        .unwrap();
    // Without healing: "cached plan must not change result type" (0A000).
    let rows = events::list_events(&pool).await.unwrap();
    assert_eq!(ids(&rows), [1, 2]);
    assert_eq!(rows[1].label, "two");

    // Same connection, and its cache holds the statement prepared anew.
    assert_eq!(backend_pid(&pool).await, pid);
    let conn = pool.get().await.unwrap();
    assert_eq!(prepared(&conn, LIST_SQL).await, 1);

    // Through the pooled connection itself (the same Session code path).
    db.client
        .batch_execute("ALTER TABLE events ADD COLUMN extra int")
        .await
        .unwrap();
    assert_eq!(ids(&events::list_events(&conn).await.unwrap()), [1, 2]);
    assert_eq!(prepared(&conn, LIST_SQL).await, 1);
}

#[tokio::test]
async fn inside_a_transaction_the_stale_statement_is_evicted_for_the_next_attempt() {
    let db = events_db("resilience_heal_tx").await;
    let pool = one_connection_pool(&db);
    let mut conn = pool.get().await.unwrap();
    events::list_events(&conn).await.unwrap();
    db.client
        .batch_execute("ALTER TABLE events ADD COLUMN note text")
        .await
        .unwrap();

    // The failed statement aborted the transaction: no retry in it.
    let tx = conn.transaction().await.unwrap();
    let error = events::list_events(&tx).await.unwrap_err();
    assert_eq!(
        error.code(),
        Some(&SqlState::FEATURE_NOT_SUPPORTED),
        "{error}"
    );
    tx.rollback().await.unwrap();

    // Evicted: the next transaction prepares it again and succeeds.
    let tx = conn.transaction().await.unwrap();
    assert_eq!(ids(&events::list_events(&tx).await.unwrap()), [1, 2]);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn an_incompatible_change_says_the_generated_code_is_stale() {
    let db = events_db("resilience_stale").await;
    let pool = one_connection_pool(&db);
    events::list_events(&pool).await.unwrap();

    // `label` becomes an integer: the statement heals, decoding cannot.
    db.client
        .batch_execute("ALTER TABLE events ALTER COLUMN label TYPE int USING length(label)")
        .await
        .unwrap();
    let error = events::list_events(&pool).await.unwrap_err();
    assert_stale(&error, "label");

    // `label` is gone: decoding column 1 of a one-column row is an error
    // (not a panic), and says the same.
    db.client
        .batch_execute("ALTER TABLE events DROP COLUMN label")
        .await
        .unwrap();
    let error = events::list_events(&pool).await.unwrap_err();
    assert_stale(&error, "label");
    assert!(
        error.to_string().contains("the row has no such column"),
        "{error}"
    );
}

fn assert_stale(error: &Error, column: &str) {
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert_eq!(error.column(), Some(column));
    assert!(error.is_stale_code(), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("the generated code is stale") && message.ends_with("regenerate it"),
        "{message}"
    );
}

#[tokio::test]
async fn quarry_client_prepares_once_and_its_transactions_share_the_cache() {
    let db = events_db("resilience_client").await;

    // The measure can tell: a bare tokio-postgres client closes its statements.
    for _ in 0..3 {
        events::count_events(&db.client).await.unwrap();
    }
    assert_eq!(prepared(&db.client, COUNT_SQL).await, 0);

    let mut client = quarry::Client::connect(&db.url).await.unwrap();
    for _ in 0..10 {
        assert_eq!(events::count_events(&client).await.unwrap().total, 2);
    }
    assert_eq!(prepared(&client, COUNT_SQL).await, 1);
    assert_eq!(client.statement_cache().len(), 1);

    let tx = client.transaction().await.unwrap();
    for _ in 0..5 {
        events::count_events(&tx).await.unwrap();
    }
    assert_eq!(prepared(tx.client(), COUNT_SQL).await, 1);
    tx.commit().await.unwrap();

    let tx = client
        .build_transaction()
        .isolation_level(quarry::tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .unwrap();
    events::count_events(&tx).await.unwrap();
    // A nested transaction (savepoint) too.
    let mut tx = tx;
    let nested = tx.transaction().await.unwrap();
    events::list_events(&nested).await.unwrap();
    nested.commit().await.unwrap();
    drop(tx); // rolls back
    assert_eq!(prepared(&client, COUNT_SQL).await, 1);
    assert_eq!(prepared(&client, LIST_SQL).await, 1);
    assert_eq!(client.statement_cache().len(), 2);

    // The client heals its cache too.
    db.client
        .batch_execute("ALTER TABLE events ADD COLUMN note text")
        .await
        .unwrap();
    assert_eq!(ids(&events::list_events(&client).await.unwrap()), [1, 2]);
    assert_eq!(prepared(&client, LIST_SQL).await, 1);
}

/// A cluster of this test's own (never the shared one: it is restarted).
struct OwnCluster {
    cluster: codegen::pg::EphemeralCluster,
}

impl OwnCluster {
    async fn start() -> OwnCluster {
        let cluster = tokio::task::spawn_blocking(codegen::pg::EphemeralCluster::start)
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("cannot start a PostgreSQL cluster: {e}"));
        OwnCluster { cluster }
    }

    fn url(&self) -> String {
        self.cluster.url("postgres")
    }

    /// `pg_ctl restart -m fast`, as the server's OS user, with the options
    /// the server was started with (`postmaster.opts`). Blocking.
    fn restart(&self) {
        use std::os::unix::fs::MetadataExt as _;
        use std::os::unix::process::CommandExt as _;

        let data = self.cluster.data_dir();
        let dir = data.parent().unwrap_or(Path::new("/"));
        let opts = std::fs::read_to_string(data.join("postmaster.opts")).unwrap();
        let postgres = opts.split_whitespace().next().unwrap().trim_matches('"');
        let pg_ctl = PathBuf::from(postgres).with_file_name("pg_ctl");
        let owner = std::fs::metadata(data).unwrap();
        let mut command = Command::new(&pg_ctl);
        command
            .current_dir(dir)
            .env("LC_ALL", "C")
            .arg("-D")
            .arg(data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-m", "fast", "-w", "-t", "60", "restart"]);
        if owner.uid() != effective_uid() {
            command.uid(owner.uid()).gid(owner.gid());
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{} restart: {}{}",
            pg_ctl.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// This process's effective uid (the owner of its /proc directory).
fn effective_uid() -> u32 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").map_or(0, |m| m.uid())
}

/// Collects the `tracing` events of the runtime (message and fields).
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<String>>>);

impl Events {
    fn matching(&self, needle: &str) -> Vec<String> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|e| e.contains(needle))
            .cloned()
            .collect()
    }
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for Events {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Issue 13, point 5. The runtime is single-threaded and the restart blocks
/// it, as a busy service would be: no connection task runs during the
/// restart, so afterwards the pool's idle connections still look alive —
/// the race a checkout's `is_closed()` cannot see.
#[tokio::test(flavor = "current_thread")]
async fn after_a_restart_read_only_calls_succeed_and_an_in_flight_write_is_not_retried() {
    let events_log = Events::default();
    let _subscriber = tracing::subscriber::set_default(events_log.clone());
    let server = OwnCluster::start().await;
    let setup = quarry::Client::connect(&server.url()).await.unwrap();
    setup.batch_execute(SCHEMA).await.unwrap();
    drop(setup);

    let pool = quarry::Pool::from_config(server.url().parse().unwrap(), 4).unwrap();
    // Four live connections, each with the read-only statements cached.
    let conns = futures_join4(&pool).await;
    for conn in &conns {
        events::count_events(conn).await.unwrap();
        events::list_events(conn).await.unwrap();
    }
    drop(conns);
    assert_eq!(pool.inner().status().size, 4);

    // A write in flight: running on the server when the restart comes.
    let write = tokio::spawn({
        let pool = pool.clone();
        async move { events::insert_event_slowly(&pool, 42, "in flight", 5.0).await }
    });
    let watcher = quarry::Client::connect(&server.url()).await.unwrap();
    wait_until_running(&watcher, "pg_sleep").await;
    drop(watcher);

    server.restart();

    let mut errors = Vec::new();
    for call in 0..100 {
        let result = if call % 2 == 0 {
            events::count_events(&pool).await.map(|row| row.total)
        } else {
            events::list_events(&pool)
                .await
                .map(|rows| rows.len() as i64)
        };
        match result {
            Ok(total) => assert_eq!(total, 2, "call {call}"),
            Err(error) => errors.push(format!("call {call}: {error}")),
        }
    }
    assert_eq!(errors, Vec::<String>::new());

    let written = write.await.unwrap();
    let error = written.expect_err("the write in flight during the restart must fail");
    assert_eq!(error.query(), "InsertEventSlowly");
    // Not retried: the row is absent, and no retry of it was logged.
    let rows = events::list_events(&pool).await.unwrap();
    assert_eq!(ids(&rows), [1, 2]);

    let retries = events_log.matching("retrying on a fresh connection");
    assert!(!retries.is_empty(), "the race was not reproduced");
    assert!(
        retries
            .iter()
            .all(|e| e.contains("query=\"CountEvents\"") || e.contains("query=\"ListEvents\"")),
        "{retries:#?}"
    );
    assert!(
        retries.iter().all(|e| e.contains("reason=")),
        "{retries:#?}"
    );
}

async fn futures_join4(pool: &quarry::Pool) -> Vec<quarry::PooledConnection> {
    let (a, b, c, d) = tokio::join!(pool.get(), pool.get(), pool.get(), pool.get());
    vec![a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()]
}

/// Waits (up to 10 s) until a statement containing `needle` runs.
async fn wait_until_running(client: &quarry::Client, needle: &str) {
    const RUNNING: Query = Query::new(
        "Running",
        "SELECT count(*) FROM pg_stat_activity \
         WHERE state = 'active' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()",
    );
    for _ in 0..200 {
        let rows = quarry::Executor::query(client, &RUNNING, &[&needle])
            .await
            .unwrap();
        if rows[0].get::<_, i64>(0) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no statement with `{needle}` started");
}

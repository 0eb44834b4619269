//! Cancellation and statement timeouts against a real PostgreSQL: a query
//! future dropped by `tokio::time::timeout` cancels its statement on the
//! server (nothing left running in `pg_stat_activity`), the connection it
//! ran on never goes back to the pool busy, a `RowStream` dropped mid-way
//! cancels the rest of its statement, and a pool's statement timeout makes
//! the server cancel a slow statement with an error that says so.
//!
//! The queries are `quarry::Query` constants run through `quarry::fetch_*`,
//! exactly what generated functions do.

use std::time::{Duration, Instant};

use quarry::futures_util::StreamExt as _;
use quarry::{Error, Executor, FromRow, Pool, Query};
use quarry_tests::TestDb;

/// One `int4` column.
#[derive(Debug, PartialEq)]
struct One(i32);

impl FromRow for One {
    fn from_row(row: &quarry::Row) -> Result<Self, quarry::DecodeError> {
        Ok(Self(quarry::decode(row, 0, "n")?))
    }
}

const FAST: Query = Query::new("Fast", "SELECT 1 AS n");

// Five-second statements, tagged so `pg_stat_activity` can find them.
const SLEEP_POOL: Query = Query::new(
    "SleepPool",
    "SELECT 1 AS n FROM pg_sleep(5) /* sleep_pool */",
);
const SLEEP_CONN: Query = Query::new(
    "SleepConn",
    "SELECT 1 AS n FROM pg_sleep(5) /* sleep_conn */",
);
const SLEEP_TIMEOUT: Query = Query::new("SleepTimeout", "SELECT 1 AS n FROM pg_sleep(2)");

/// 500 rows of 10 kB, 10 ms apart: five seconds in all, each row flushed to
/// the client as it is produced.
const SLOW_ROWS: Query = Query::new(
    "SlowRows",
    "SELECT i AS n, repeat('x', 10000) AS filler, pg_sleep(0.01) AS pause \
     FROM generate_series(1, 500) i /* slow_rows */",
);

/// Statements other than the monitoring one whose text contains `tag` and
/// that are still running.
async fn running(db: &TestDb, tag: &str) -> i64 {
    let row = db
        .client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE state = 'active' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0",
            &[&tag],
        )
        .await
        .unwrap();
    row.get(0)
}

/// Waits (at most two seconds, far less than the statements' five) until no
/// statement tagged `tag` runs any more; panics otherwise.
async fn assert_none_left(db: &TestDb, tag: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let left = running(db, tag).await;
        if left == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{left} statement(s) tagged {tag} still running: not cancelled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn pool(db: &TestDb, max_size: usize) -> Pool {
    Pool::builder(&db.url).max_size(max_size).build().unwrap()
}

async fn timed_out<T>(future: impl std::future::Future<Output = T>) {
    let result = tokio::time::timeout(Duration::from_millis(100), future).await;
    assert!(result.is_err(), "the statement finished within 100 ms");
}

#[tokio::test]
async fn a_dropped_query_on_the_pool_is_cancelled_and_its_connection_detached() {
    let db = TestDb::new("cancel_pool").await;
    // One connection: were the busy one returned, the next query would wait
    // behind the five-second sleep.
    let pool = pool(&db, 1);
    quarry::fetch_one::<One, _>(&pool, &FAST, &[])
        .await
        .unwrap();
    assert_eq!(pool.inner().status().size, 1);

    timed_out(quarry::fetch_one::<One, _>(&pool, &SLEEP_POOL, &[])).await;
    // Detached, not returned: the pool holds no connection any more.
    assert_eq!(pool.inner().status().size, 0);

    let started = Instant::now();
    let one = quarry::fetch_one::<One, _>(&pool, &FAST, &[])
        .await
        .unwrap();
    assert_eq!(one, One(1));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_none_left(&db, "sleep_pool").await;
}

#[tokio::test]
async fn a_dropped_query_on_a_pooled_connection_is_cancelled_and_the_connection_closed_on_drop() {
    let db = TestDb::new("cancel_conn").await;
    let pool = pool(&db, 2);
    let conn = pool.get().await.unwrap();
    quarry::fetch_one::<One, _>(&conn, &FAST, &[])
        .await
        .unwrap();
    assert!(!conn.is_cancelled());

    timed_out(quarry::fetch_one::<One, _>(&conn, &SLEEP_CONN, &[])).await;
    assert!(conn.is_cancelled());

    // The same connection: its next statement runs once the cancel request
    // was delivered, not after the five seconds.
    let started = Instant::now();
    let one = quarry::fetch_one::<One, _>(&conn, &FAST, &[])
        .await
        .unwrap();
    assert_eq!(one, One(1));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_none_left(&db, "sleep_conn").await;

    // The same pool.
    let started = Instant::now();
    quarry::fetch_one::<One, _>(&pool, &FAST, &[])
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // Dropped, the cancelled checkout is closed rather than returned.
    let size = pool.inner().status().size;
    drop(conn);
    assert_eq!(pool.inner().status().size, size - 1);
}

#[tokio::test]
async fn a_row_stream_dropped_mid_way_cancels_the_rest_of_its_statement() {
    let db = TestDb::new("cancel_stream").await;
    let pool = pool(&db, 1);
    let mut rows = pool.query_stream(&SLOW_ROWS, &[]).await.unwrap();
    for expected in 1..=3 {
        let row = rows.next().await.unwrap().unwrap();
        assert_eq!(row.get::<_, i32>(0), expected);
    }
    assert_eq!(running(&db, "slow_rows").await, 1);
    drop(rows);
    assert_eq!(pool.inner().status().size, 0);

    let started = Instant::now();
    quarry::fetch_one::<One, _>(&pool, &FAST, &[])
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_none_left(&db, "slow_rows").await;
}

#[tokio::test]
async fn a_stream_read_to_its_end_leaves_its_connection_in_the_pool() {
    let db = TestDb::new("cancel_stream_end").await;
    let pool = pool(&db, 1);
    let rows: Vec<Result<One, Error>> = quarry::fetch_stream::<One>(pool.query_stream(&FAST, &[]))
        .collect()
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(pool.inner().status().size, 1);
    quarry::fetch_one::<One, _>(&pool, &FAST, &[])
        .await
        .unwrap();
    assert_eq!(pool.inner().status().size, 1);
}

#[tokio::test]
async fn a_statement_timeout_cancels_slow_statements_only() {
    let db = TestDb::new("statement_timeout").await;
    let pool = Pool::builder(&db.url)
        .statement_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = quarry::fetch_one::<One, _>(&pool, &SLEEP_TIMEOUT, &[])
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(error.is_canceled(), "{error:?}");
    assert_eq!(error.query(), "SleepTimeout");
    assert!(
        error
            .to_string()
            .contains("canceling statement due to statement timeout"),
        "{error}"
    );
    assert_eq!(
        quarry::fetch_one::<One, _>(&pool, &FAST, &[])
            .await
            .unwrap(),
        One(1)
    );
    // Every connection of the pool has it, a pooled connection too.
    let conn = pool.get().await.unwrap();
    let shown = conn.query_one("SHOW statement_timeout", &[]).await.unwrap();
    assert_eq!(shown.get::<_, String>(0), "200ms");

    // Without the setting, the same statement completes.
    let plain = Pool::builder(&db.url).build().unwrap();
    let one = quarry::fetch_one::<One, _>(&plain, &SLEEP_TIMEOUT, &[]).await;
    assert_eq!(one.unwrap(), One(1));
}

#[tokio::test]
async fn the_statement_timeout_keeps_the_connection_strings_options() {
    let db = TestDb::new("statement_timeout_options").await;
    let mut config: quarry::tokio_postgres::Config = db.url.parse().unwrap();
    config.options("-c application_name=quarry_timeout_test");
    let pool = quarry::PoolBuilder::from_config(config)
        .statement_timeout(Duration::from_secs(3))
        .max_size(1)
        .build()
        .unwrap();
    let conn = pool.get().await.unwrap();
    let row = conn
        .query_one(
            "SELECT current_setting('statement_timeout'), current_setting('application_name')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1)),
        ("3s".to_string(), "quarry_timeout_test".to_string())
    );
}

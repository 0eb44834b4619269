//! Transactions that retry (`quarry::transaction`, `quarry::TransactionOptions`)
//! and row locks held by a transaction, against a real PostgreSQL.
//!
//! * Two SERIALIZABLE transactions that each read the sum of a table and
//!   insert it (write skew, the classic serialization anomaly) are lined up
//!   with a barrier after their reads, so that PostgreSQL must abort one:
//!   with retries both complete and the table is what one transaction after
//!   the other makes of it; with `max_attempts(1)` one fails with 40001
//!   (what the first test would see without the retry).
//! * Two transactions that update two rows in opposite orders deadlock
//!   (40P01); with retries both complete.
//! * A unique violation is returned at once: the closure ran once, its
//!   writes are rolled back.
//! * `LockPostForUpdate` (`FOR UPDATE`, generated code that accepts only a
//!   transaction) holds the lock until commit: the same call in a second
//!   transaction waits (still pending after 300 ms, waiting on a lock in
//!   `pg_stat_activity`) and returns after the first commits, seeing its
//!   write.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use quarry::tokio_postgres::error::SqlState;
use quarry::{IsolationLevel, RetryableError, TransactionOptions};
use quarry_example_app::queries::blog;
use quarry_tests::TestDb;
use tokio::sync::Barrier;

/// A table whose rows' sum each transaction reads and then inserts.
async fn sum_table(prefix: &str) -> TestDb {
    let db = TestDb::new(prefix).await;
    db.client
        .batch_execute(
            "CREATE TABLE entries (id bigserial PRIMARY KEY, amount bigint NOT NULL);
             INSERT INTO entries (amount) VALUES (1);",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db
}

/// One SERIALIZABLE transaction: reads the sum, waits at `barrier` on its
/// first attempt (so both transactions have read before either writes),
/// inserts the sum. Counts its attempts in `runs`.
async fn insert_sum(
    pool: quarry::Pool,
    options: TransactionOptions,
    barrier: Arc<Barrier>,
    runs: Arc<AtomicU32>,
) -> Result<i64, quarry::Error> {
    const SUM: quarry::Query =
        quarry::Query::new("SumEntries", "SELECT sum(amount)::int8 FROM entries");
    const INSERT: quarry::Query =
        quarry::Query::new("InsertEntry", "INSERT INTO entries (amount) VALUES ($1)");
    options
        .isolation(IsolationLevel::Serializable)
        .run(&pool, |tx| {
            let barrier = barrier.clone();
            let runs = runs.clone();
            Box::pin(async move {
                let attempt = runs.fetch_add(1, Ordering::SeqCst);
                let rows = quarry::Executor::query(tx, &SUM, &[]).await?;
                let sum: i64 = rows[0].get(0);
                if attempt < 2 {
                    barrier.wait().await;
                }
                quarry::Executor::execute(tx, &INSERT, &[&sum]).await?;
                Ok(sum)
            })
        })
        .await
}

/// The amounts in the table, sorted.
async fn amounts(db: &TestDb) -> Vec<i64> {
    let rows = db
        .client
        .query("SELECT amount FROM entries ORDER BY amount, id", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    rows.iter().map(|row| row.get(0)).collect()
}

/// Runs two [`insert_sum`] transactions concurrently on their own tasks.
async fn two_insert_sums(
    db: &TestDb,
    options: TransactionOptions,
) -> (Vec<Result<i64, quarry::Error>>, u32) {
    let pool = db.pool();
    let barrier = Arc::new(Barrier::new(2));
    let runs = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn(insert_sum(
                pool.clone(),
                options,
                barrier.clone(),
                runs.clone(),
            ))
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap_or_else(|e| panic!("{e}")));
    }
    (results, runs.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_serializable_transactions_both_complete_with_retries() {
    let db = sum_table("tx_retry").await;
    let options =
        TransactionOptions::new().backoff(Duration::from_millis(5), Duration::from_millis(50));
    let (results, runs) = two_insert_sums(&db, options).await;
    let mut sums: Vec<i64> = results
        .into_iter()
        .map(|result| result.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    sums.sort();
    // One after the other: the first reads 1 and inserts 1, the second reads 2.
    assert_eq!(sums, [1, 2]);
    assert_eq!(amounts(&db).await, [1, 1, 2]);
    assert!(
        runs >= 3,
        "PostgreSQL aborted one, which ran again: {runs} runs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_retries_one_of_the_conflicting_transactions_fails_with_40001() {
    let db = sum_table("tx_no_retry").await;
    let (results, runs) = two_insert_sums(&db, TransactionOptions::new().max_attempts(1)).await;
    assert_eq!(runs, 2);
    let failures: Vec<&quarry::Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(failures.len(), 1, "{results:?}");
    assert_eq!(
        failures[0].sqlstate(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE),
        "{}",
        failures[0]
    );
    assert!(quarry::is_retryable(
        failures[0].code().unwrap_or_else(|| panic!("no code"))
    ));
    // The failed transaction was rolled back: only the other one's row.
    assert_eq!(amounts(&db).await, [1, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlocked_transactions_both_complete_with_retries() {
    let db = TestDb::new("tx_deadlock").await;
    // Deadlocks are detected after deadlock_timeout (1 s by default).
    let setup = format!(
        "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
         INSERT INTO accounts VALUES (1, 0), (2, 0);
         ALTER DATABASE \"{}\" SET deadlock_timeout = '100ms';",
        db.name
    );
    db.client
        .batch_execute(&setup)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pool = db.pool();
    let barrier = Arc::new(Barrier::new(2));
    let runs = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = [(1, 2), (2, 1)]
        .into_iter()
        .map(|(first, second): (i32, i32)| {
            let (pool, barrier, runs) = (pool.clone(), barrier.clone(), runs.clone());
            tokio::spawn(async move {
                // Box<dyn Error>: the SQLSTATE is found through its source chain.
                quarry::transaction(&pool, |tx| {
                    let (barrier, runs) = (barrier.clone(), runs.clone());
                    Box::pin(async move {
                        let attempt = runs.fetch_add(1, Ordering::SeqCst);
                        let add = "UPDATE accounts SET balance = balance + 1 WHERE id = $1";
                        tx.execute(add, &[&first]).await?;
                        if attempt < 2 {
                            barrier.wait().await;
                        }
                        tx.execute(add, &[&second]).await?;
                        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                    })
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        let result = task.await.unwrap_or_else(|e| panic!("{e}"));
        result.unwrap_or_else(|e| panic!("{e}"));
    }
    let rows = db
        .client
        .query("SELECT balance FROM accounts ORDER BY id", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let balances: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(balances, [2, 2]);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "one deadlock victim ran again"
    );
}

/// An application's error type that opts in to retries through
/// [`quarry::sqlstate_of`].
#[derive(Debug)]
enum AppError {
    Db(quarry::Error),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the database failed")
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Db(error) => Some(error),
        }
    }
}

impl From<quarry::Error> for AppError {
    fn from(error: quarry::Error) -> Self {
        Self::Db(error)
    }
}

impl RetryableError for AppError {
    fn sqlstate(&self) -> Option<&SqlState> {
        quarry::sqlstate_of(self)
    }
}

#[tokio::test]
async fn a_non_retryable_error_is_returned_at_once_and_rolled_back() {
    let db = sum_table("tx_unique").await;
    let pool = db.pool();
    let runs = Arc::new(AtomicU32::new(0));
    const INSERT_ID: quarry::Query = quarry::Query::new(
        "InsertEntryWithId",
        "INSERT INTO entries (id, amount) VALUES ($1, 10)",
    );
    let result = quarry::transaction(&pool, |tx| {
        // The future may borrow only the transaction: shared state is moved in.
        let runs = runs.clone();
        Box::pin(async move {
            runs.fetch_add(1, Ordering::SeqCst);
            quarry::Executor::execute(tx, &INSERT_ID, &[&100_i64]).await?;
            // The seeded row has id 1: a unique violation (23505).
            quarry::Executor::execute(tx, &INSERT_ID, &[&1_i64]).await?;
            Ok::<_, AppError>(())
        })
    })
    .await;
    let error = match result {
        Ok(()) => panic!("the duplicate key was accepted"),
        Err(error) => error,
    };
    assert_eq!(error.sqlstate(), Some(&SqlState::UNIQUE_VIOLATION));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "not retried");
    // Rolled back: the first insert is gone too.
    assert_eq!(amounts(&db).await, [1]);
    // The connection went back to the pool with no transaction left open.
    let row = db
        .client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(row.get::<_, i64>(0), 0, "a transaction was left open");
}

/// Whether a backend of the current database other than the caller's waits on a lock.
async fn someone_waits_on_a_lock(client: &quarry::tokio_postgres::Client) -> bool {
    let row = client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
               AND wait_event_type = 'Lock'",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    row.get::<_, i64>(0) > 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_for_update_query_in_a_transaction_holds_the_lock_until_commit() {
    let db = TestDb::with_example_data("tx_for_update").await;
    let pool = db.pool();
    let mut conn = pool.get().await.unwrap_or_else(|e| panic!("{e}"));
    let first = conn.transaction().await.unwrap_or_else(|e| panic!("{e}"));
    let locked = blog::lock_post_for_update(&first, 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(locked.views, 120);

    let second_pool = pool.clone();
    let mut second = tokio::spawn(async move {
        quarry::transaction(&second_pool, |tx| {
            Box::pin(async move {
                Ok::<_, quarry::Error>(blog::lock_post_for_update(tx, 1).await?.views)
            })
        })
        .await
    });
    let waited = tokio::time::timeout(Duration::from_millis(300), &mut second).await;
    assert!(waited.is_err(), "the second lock did not wait: {waited:?}");
    assert!(someone_waits_on_a_lock(&db.client).await);

    first
        .execute("UPDATE posts SET views = views + 1 WHERE id = 1", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    first.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let views = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .unwrap_or_else(|_| panic!("still blocked after the first transaction committed"))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    // It ran after the commit: it sees the first transaction's write.
    assert_eq!(views, 121);
}

//! Instrumentation against a real PostgreSQL: the in-process recorder
//! (`quarry::record`, the `assertNumQueries` of Quarry), pipelining on a
//! pinned connection, and the N+1 detector.
//!
//! The detector's policy is process-wide, so every test here holds
//! [`policy`] for its whole run: it sets the policy the test needs and puts
//! the default back afterwards, also when the test fails.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use quarry::{Executor as _, NPlusOne, NPlusOneAction, NPlusOnePolicy, Query};
use quarry_tests::{n_plus_one_policy as policy, TestDb};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SCHEMA: &str = "
    CREATE TABLE authors (id int4 PRIMARY KEY, name text NOT NULL);
    INSERT INTO authors SELECT g, 'author ' || g FROM generate_series(1, 20) g;
    CREATE TABLE hits (n int4 NOT NULL);
    INSERT INTO hits VALUES (0);
";

async fn database(prefix: &str) -> TestDb {
    let db = TestDb::new(prefix).await;
    db.client
        .batch_execute(SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("schema: {e}"));
    db
}

// What generated code would hold for these queries.
const GET_AUTHOR: Query = Query::new("GetAuthor", "SELECT id, name FROM authors WHERE id = $1");
const AUTHORS_BY_ID: Query = Query::new(
    "AuthorsById",
    "SELECT id, name FROM authors WHERE id = ANY($1) ORDER BY id",
);
const COUNT_AUTHORS: Query = Query::new("CountAuthors", "SELECT count(*) FROM authors");
const HIT: Query = Query::new("Hit", "UPDATE hits SET n = n + 1");
const HITS: Query = Query::new("Hits", "SELECT n::int8 FROM hits");
const SLEEP_A: Query = Query::new("SleepA", "SELECT pg_backend_pid() FROM pg_sleep(0.05)");
const SLEEP_B: Query = Query::new("SleepB", "SELECT pg_backend_pid() FROM pg_sleep(0.05)");
const SLEEP_C: Query = Query::new("SleepC", "SELECT pg_backend_pid() FROM pg_sleep(0.05)");
const SLEEP_D: Query = Query::new("SleepD", "SELECT pg_backend_pid() FROM pg_sleep(0.05)");

#[derive(Debug, PartialEq)]
struct Author {
    id: i32,
    name: String,
}

impl quarry::FromRow for Author {
    fn from_row(row: &quarry::Row) -> Result<Self, quarry::DecodeError> {
        Ok(Self {
            id: quarry::decode(row, 0, "id")?,
            name: quarry::decode(row, 1, "name")?,
        })
    }
}

/// One `int4`/`int8` column.
struct Scalar<T>(T);

impl<T: for<'a> quarry::types::FromSql<'a>> quarry::FromRow for Scalar<T> {
    fn from_row(row: &quarry::Row) -> Result<Self, quarry::DecodeError> {
        quarry::decode(row, 0, "value").map(Scalar)
    }
}

async fn get_author<E: quarry::Executor + ?Sized>(
    db: &E,
    id: i32,
) -> Result<Author, quarry::Error> {
    quarry::fetch_one(db, &GET_AUTHOR, &[&id]).await
}

async fn authors_by_id<E: quarry::Executor + ?Sized>(
    db: &E,
    ids: &[i32],
) -> Result<Vec<Author>, quarry::Error> {
    quarry::fetch_all(db, &AUTHORS_BY_ID, &[&ids]).await
}

async fn sleepy_pid<E: quarry::Executor + ?Sized>(
    db: &E,
    query: &Query,
) -> Result<i32, quarry::Error> {
    quarry::fetch_one::<Scalar<i32>, _>(db, query, &[])
        .await
        .map(|pid| pid.0)
}

/// Shaped like generated prefetch code: pin, then two sibling loads sent
/// concurrently on the pinned connection. Returns the backend PIDs that
/// served them.
async fn pipelined_pair<E: quarry::Executor + ?Sized>(db: &E) -> Result<(i32, i32), quarry::Error> {
    let conn = db.pin(&SLEEP_A).await?;
    let conn = &conn;
    quarry::futures_util::try_join!(sleepy_pid(conn, &SLEEP_A), sleepy_pid(conn, &SLEEP_B))
}

/// The same two statements, awaited one after the other on one connection.
async fn sequential_pair<E: quarry::Executor + ?Sized>(
    db: &E,
) -> Result<(i32, i32), quarry::Error> {
    let conn = db.pin(&SLEEP_C).await?;
    let conn = &conn;
    let c = sleepy_pid(conn, &SLEEP_C).await?;
    let d = sleepy_pid(conn, &SLEEP_D).await?;
    Ok((c, d))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorder_counts_and_names_statements() -> TestResult {
    let _policy = policy(NPlusOneAction::Warn, 5).await;
    let db = database("instr_record").await;
    let pool = db.pool();

    let (result, log) = quarry::record(async {
        let first = get_author(&pool, 1).await?;
        let hit = quarry::execute(&pool, &HIT, &[]).await?;
        // Both branches of a join are seen, and so is a nested block.
        let (second, (count, inner)) =
            quarry::futures_util::try_join!(get_author(&db.client, 2), async {
                let (count, inner) = quarry::record(async {
                    quarry::fetch_one::<Scalar<i64>, _>(&pool, &COUNT_AUTHORS, &[]).await
                })
                .await;
                Ok::<_, quarry::Error>((count?.0, inner))
            },)?;
        // A statement of a spawned task is not seen.
        let spawned = tokio::spawn({
            let pool = pool.clone();
            async move { get_author(&pool, 3).await }
        });
        spawned.await??;
        let missing = get_author(&pool, 999).await;
        Ok::<_, Box<dyn std::error::Error>>((first, hit, second, count, inner, missing))
    })
    .await;
    let (first, hit, second, count, inner, missing) = result?;
    assert_eq!(first.name, "author 1");
    assert_eq!(second.id, 2);
    assert_eq!((hit, count), (1, 20));
    assert!(matches!(missing, Err(quarry::Error::NotFound { .. })));

    assert_eq!(log.len(), 5);
    assert!(!log.is_empty());
    assert_eq!(
        log.names(),
        ["GetAuthor", "Hit", "GetAuthor", "CountAuthors", "GetAuthor"]
    );
    assert_eq!(log.count("GetAuthor"), 3);
    assert_eq!(log.count("Nope"), 0);
    assert_eq!(
        log.by_name().into_iter().collect::<Vec<_>>(),
        [("CountAuthors", 1), ("GetAuthor", 3), ("Hit", 1)]
    );
    let records = log.records();
    assert_eq!(records[0].sql, GET_AUTHOR.sql());
    assert_eq!(records[0].rows, Some(1));
    assert_eq!(records[1].rows, Some(1), "rows affected by the UPDATE");
    assert_eq!(records[3].rows, Some(1));
    // `:one` found nothing: the statement itself succeeded with 0 rows.
    assert_eq!(records[4].rows, Some(0));
    assert!(records.iter().all(|r| r.ok && r.finished >= r.started));
    assert!(log.n_plus_one().is_empty());

    assert_eq!(inner.names(), ["CountAuthors"]);
    inner.assert_count(1);

    // A failing statement is recorded as failed.
    const BROKEN: Query = Query::new("Broken", "SELECT nope FROM authors");
    let (broken, log) = quarry::record(quarry::fetch_all::<Author, _>(&pool, &BROKEN, &[])).await;
    assert!(broken.is_err());
    assert_eq!(log.names(), ["Broken"]);
    assert!(!log.records()[0].ok);
    assert_eq!(log.records()[0].rows, None);

    // Nothing ran: an empty log.
    let ((), log) = quarry::record(async {}).await;
    log.assert_count(0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assert_count_panics_with_the_statements_run() -> TestResult {
    let _policy = policy(NPlusOneAction::Warn, 5).await;
    let db = database("instr_assert").await;
    let pool = db.pool();
    let (result, log) = quarry::record(async {
        get_author(&pool, 1).await?;
        authors_by_id(&pool, &[1, 2, 3]).await
    })
    .await;
    assert_eq!(result?.len(), 3);
    log.assert_count(2);

    let panic = catch_unwind(AssertUnwindSafe(|| log.assert_count(1)));
    let message = match panic {
        Ok(()) => panic!("assert_count(1) passed with 2 statements"),
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    };
    assert!(
        message.starts_with("expected 1 statement, but 2 ran:\n"),
        "{message}"
    );
    assert!(
        message.contains("1. GetAuthor (1 row, ")
            && message.contains("): SELECT id, name FROM authors WHERE id = $1"),
        "{message}"
    );
    assert!(
        message.contains("2. AuthorsById (3 rows, ")
            && message.contains("WHERE id = ANY($1) ORDER BY id"),
        "{message}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "expected 0 statements, but 1 ran:\n    1. CountAuthors (1 row")]
async fn assert_count_is_a_test_assertion() {
    let _policy = policy(NPlusOneAction::Warn, 5).await;
    let db = database("instr_should_panic").await;
    let (count, log) = quarry::record(quarry::fetch_one::<Scalar<i64>, _>(
        &db.client,
        &COUNT_AUTHORS,
        &[],
    ))
    .await;
    assert!(matches!(count, Ok(Scalar(20))));
    log.assert_count(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_statements_pipeline_and_sequential_ones_do_not_overlap() -> TestResult {
    let _policy = policy(NPlusOneAction::Warn, 5).await;
    let db = database("instr_pipeline").await;
    let pool = db.pool();
    let pooled = pool.get().await?;
    let object = pool.inner().get().await?;

    async fn check<E: quarry::Executor + ?Sized>(db: &E, what: &str) -> TestResult {
        let (pids, log) = quarry::record(async {
            let pipelined = pipelined_pair(db).await?;
            let sequential = sequential_pair(db).await?;
            Ok::<_, quarry::Error>((pipelined, sequential))
        })
        .await;
        let ((a, b), (c, d)) = pids?;
        // One connection served each pair.
        assert_eq!(a, b, "{what}: the pipelined pair ran on two connections");
        assert_eq!(c, d, "{what}: the sequential pair ran on two connections");
        assert_eq!(
            log.names(),
            ["SleepA", "SleepB", "SleepC", "SleepD"],
            "{what}"
        );
        assert!(
            log.overlapping("SleepA", "SleepB"),
            "{what}: try_join!ed statements did not overlap: {:#?}",
            log.records()
        );
        assert!(
            !log.overlapping("SleepC", "SleepD"),
            "{what}: awaited statements overlapped: {:#?}",
            log.records()
        );
        assert!(!log.overlapping("SleepB", "SleepC"), "{what}");
        // Each statement was in flight at least as long as it slept.
        for record in log.records() {
            assert!(
                record.elapsed() >= Duration::from_millis(50),
                "{what}: {record:?}"
            );
        }
        Ok(())
    }

    check(&pool, "pool").await?;
    check(&&pool, "&pool").await?;
    check(&pooled, "pooled connection").await?;
    check(&object, "deadpool object").await?;
    check(&db.client, "tokio-postgres client").await?;
    let mut client = db.client;
    let tx = client.transaction().await?;
    check(&tx, "tokio-postgres transaction").await?;
    tx.rollback().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_flags_a_loop_of_single_fetches_not_a_batch() -> TestResult {
    let _policy = policy(NPlusOneAction::Warn, 5).await;
    let db = database("instr_warn").await;
    let pool = db.pool();
    let ids: Vec<i32> = (1..=20).collect();

    // N+1: one statement per author.
    let (authors, log) = quarry::record(async {
        let mut authors = Vec::new();
        for id in &ids {
            authors.push(get_author(&pool, *id).await?);
        }
        Ok::<_, quarry::Error>(authors)
    })
    .await;
    assert_eq!(authors?.len(), 20, "Warn lets every statement run");
    log.assert_count(20);
    assert_eq!(
        log.n_plus_one(),
        [NPlusOne {
            query: "GetAuthor",
            count: 20
        }]
    );

    // Batched: one statement for all of them.
    let (authors, log) = quarry::record(authors_by_id(&pool, &ids)).await;
    assert_eq!(authors?.len(), 20);
    log.assert_count(1);
    assert!(log.n_plus_one().is_empty());

    // At the threshold, not over it: silent.
    let (authors, log) = quarry::record(async {
        for id in 1..=5 {
            get_author(&pool, id).await?;
        }
        authors_by_id(&pool, &ids).await
    })
    .await;
    assert_eq!(authors?.len(), 20);
    log.assert_count(6);
    assert!(log.n_plus_one().is_empty());

    // Off: nothing is flagged.
    quarry::set_n_plus_one_policy(NPlusOnePolicy::OFF);
    let (result, log) = quarry::record(async {
        for id in &ids {
            get_author(&pool, *id).await?;
        }
        Ok::<_, quarry::Error>(())
    })
    .await;
    result?;
    log.assert_count(20);
    assert!(log.n_plus_one().is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_policy_refuses_the_statement_that_crosses_the_threshold() -> TestResult {
    let _policy = policy(NPlusOneAction::Error, 3).await;
    let db = database("instr_error").await;
    let pool = db.pool();

    let outcomes = quarry::scope(async {
        let mut outcomes = Vec::new();
        for _ in 0..6 {
            outcomes.push(quarry::execute(&pool, &HIT, &[]).await);
        }
        outcomes
    })
    .await;
    assert!(
        outcomes[..3].iter().all(|o| matches!(o, Ok(1))),
        "{outcomes:?}"
    );
    for refused in &outcomes[3..] {
        match refused {
            Err(error @ quarry::Error::NPlusOne { query, count }) => {
                assert_eq!((*query, *count), ("Hit", 4));
                assert_eq!(error.query(), "Hit");
                let message = error.to_string();
                assert!(
                    message
                        .starts_with("query `Hit` would run 4 times in one scope (N+1 detected)")
                        && message.contains("@prefetch"),
                    "{message}"
                );
            }
            other => panic!("expected Error::NPlusOne, got {other:?}"),
        }
    }
    // The refused statements were not sent.
    let hits = quarry::fetch_one::<Scalar<i64>, _>(&pool, &HITS, &[]).await?;
    assert_eq!(hits.0, 3);

    // A record block is a scope too; what it refused is listed.
    let (result, log) = quarry::record(async {
        for id in 1..=5 {
            get_author(&pool, id).await?;
        }
        Ok::<_, quarry::Error>(())
    })
    .await;
    assert!(
        matches!(
            result,
            Err(quarry::Error::NPlusOne {
                query: "GetAuthor",
                count: 4
            })
        ),
        "{result:?}"
    );
    log.assert_count(3);
    assert_eq!(
        log.n_plus_one(),
        [NPlusOne {
            query: "GetAuthor",
            count: 4
        }]
    );

    // Outside any scope, statements on the pool are never counted: each one
    // is its own checkout.
    for _ in 0..6 {
        quarry::execute(&pool, &HIT, &[]).await?;
    }
    // Nor are batched loads, however many keys.
    let ids: Vec<i32> = (1..=20).collect();
    let all = quarry::scope(authors_by_id(&pool, &ids)).await?;
    assert_eq!(all.len(), 20);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_checkout_is_a_scope() -> TestResult {
    let _policy = policy(NPlusOneAction::Warn, 5).await;
    let db = database("instr_checkout").await;
    let pool = db.pool();

    // Warn: flagged on the checkout, no task scope needed.
    let conn = pool.get().await?;
    for id in 1..=20 {
        get_author(&conn, id).await?;
    }
    assert_eq!(
        conn.n_plus_one(),
        [NPlusOne {
            query: "GetAuthor",
            count: 20
        }]
    );
    // Deref to the deadpool connection still works.
    assert!(conn.statement_cache.size() >= 1);
    drop(conn);

    // A fresh checkout starts from zero; so does one taken by `pin`.
    let conn = pool.get().await?;
    for id in 1..=5 {
        get_author(&conn, id).await?;
    }
    assert!(conn.n_plus_one().is_empty());
    drop(conn);

    // Error: the sixth execution on one checkout is refused.
    quarry::set_n_plus_one_policy(NPlusOnePolicy {
        action: NPlusOneAction::Error,
        threshold: 5,
    });
    let pinned = pool.pin(&GET_AUTHOR).await?;
    let mut results = Vec::new();
    for id in 1..=7 {
        results.push(get_author(&pinned, id).await);
    }
    assert!(results[..5].iter().all(Result::is_ok), "{results:?}");
    assert!(
        results[5..].iter().all(|r| matches!(
            r,
            Err(quarry::Error::NPlusOne {
                query: "GetAuthor",
                count: 6
            })
        )),
        "{results:?}"
    );
    // Other queries on the same checkout are unaffected.
    assert_eq!(authors_by_id(&pinned, &[1, 2]).await?.len(), 2);
    drop(pinned);

    // Transactions still open on a checkout.
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    quarry::execute(&tx, &HIT, &[]).await?;
    tx.commit().await?;
    let hits = quarry::fetch_one::<Scalar<i64>, _>(&conn, &HITS, &[]).await?;
    assert_eq!(hits.0, 1);
    Ok(())
}

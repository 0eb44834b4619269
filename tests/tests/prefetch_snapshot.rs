//! Prefetch consistency against a real PostgreSQL: the parent and relation
//! statements of one generated prefetching call read one snapshot when the
//! runtime owns the connection (a `Pool`), so a row deleted and committed by
//! another connection between them is still seen; on a connection the
//! caller holds (no snapshot: the documented opt-out) the same race gives
//! `MissingRelated`, which shows the test can fail.
//!
//! The generated `blog::list_posts_with_relations` runs unchanged; its
//! connections' `search_path` starts with a schema whose views `posts` and
//! `authors` sleep, so the parent statement takes 0.5 s (the delete commits
//! meanwhile) and the loaders that read `authors` 0.3 s (long enough for
//! `pg_stat_activity` to show both statements' transaction start).

use std::time::Duration;

use quarry::{Executor, Pool};
use quarry_example_app::queries::blog;
use quarry_tests::TestDb;

const SLOW_VIEWS: &str = "
    CREATE SCHEMA slow;
    CREATE VIEW slow.posts AS SELECT p.* FROM public.posts p, pg_sleep(0.5);
    CREATE VIEW slow.authors AS SELECT a.* FROM public.authors a, pg_sleep(0.3);
";

/// A pool whose connections read the slow views first, named after the
/// database (tests run concurrently on one server).
fn slow_pool(db: &TestDb) -> Pool {
    let mut config: quarry::tokio_postgres::Config = db.url.parse().unwrap();
    config.application_name(&db.name);
    config.options("-c search_path=slow,public");
    quarry::PoolBuilder::from_config(config)
        .max_size(1)
        .build()
        .unwrap()
}

/// One observation of the prefetching connection in `pg_stat_activity`:
/// the statement's text, its start and its transaction's start.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    query: String,
    query_start: String,
    xact_start: String,
}

/// Watches the connection named after the database until `stop`, keeping every distinct
/// active statement it runs.
async fn watch(db: &TestDb, stop: tokio::sync::oneshot::Receiver<()>) -> Vec<Seen> {
    let client = quarry_tests::server()
        .connect(Some(&db.name))
        .await
        .unwrap();
    let mut seen: Vec<Seen> = Vec::new();
    tokio::pin!(stop);
    loop {
        let rows = client
            .query(
                "SELECT query, query_start::text, coalesce(xact_start::text, '') \
                 FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'",
                &[&db.name],
            )
            .await
            .unwrap();
        for row in rows {
            let now = Seen {
                query: row.get(0),
                query_start: row.get(1),
                xact_start: row.get(2),
            };
            if !seen.contains(&now) {
                seen.push(now);
            }
        }
        tokio::select! {
            _ = &mut stop => return seen,
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
}

/// The author of the newest published post (what the call's first row
/// references), deleted 150 ms into the parent statement's 500 ms, behind
/// the foreign key's back (it has no ON DELETE action) and committed.
async fn delete_author_meanwhile(db: &TestDb) -> i64 {
    let author: i64 = db
        .client
        .query_one(
            "SELECT author_id FROM posts WHERE published_at IS NOT NULL \
             ORDER BY published_at DESC, id LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    tokio::time::sleep(Duration::from_millis(150)).await;
    db.client
        .batch_execute(&format!(
            "SET session_replication_role = replica;
             DELETE FROM authors WHERE id = {author};
             SET session_replication_role = DEFAULT;"
        ))
        .await
        .unwrap();
    author
}

/// Runs `list_posts_with_relations` on `executor` while the author of its
/// first post is deleted, watching the statements; returns the call's
/// result, the deleted author and what was seen of the parent and the
/// authors loader.
async fn race<E: Executor + ?Sized>(
    db: &TestDb,
    executor: &E,
) -> (
    Result<Vec<blog::ListPostsWithRelationsRow>, quarry::Error>,
    i64,
    Seen,
    Seen,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let watching = watch(db, stopped);
    let calling = async {
        let result = blog::list_posts_with_relations(executor, 10).await;
        let _ = stop.send(());
        result
    };
    let (result, author, seen) = tokio::join!(calling, delete_author_meanwhile(db), watching);
    // The last sighting of a statement is its execution (a first statement
    // on a connection is also seen while it is prepared).
    let find = |text: &str| {
        let found = seen.iter().rev().find(|s| s.query.contains(text));
        found.unwrap_or_else(|| panic!("{text}: {seen:#?}")).clone()
    };
    let parent = find("FROM posts p");
    let authors = find("FROM authors t");
    (result, author, parent, authors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_the_pool_parent_and_relations_read_one_snapshot() {
    let db = TestDb::with_example_data("prefetch_snapshot_pool").await;
    db.client.batch_execute(SLOW_VIEWS).await.unwrap();
    let pool = slow_pool(&db);
    let (result, author, parent, authors) = race(&db, &pool).await;

    let posts = result.unwrap();
    assert_eq!(posts[0].author_id, author);
    assert_eq!(posts[0].author.id, author);
    // Gone for everyone else.
    let left = db
        .client
        .query_one("SELECT count(*) FROM authors WHERE id = $1", &[&author])
        .await
        .unwrap();
    assert_eq!(left.get::<_, i64>(0), 0);
    // One transaction: both statements share its start, which precedes
    // either of theirs.
    assert_eq!(parent.xact_start, authors.xact_start);
    assert_ne!(parent.query_start, authors.query_start);

    // Ended (committed in the background): the connection goes back idle,
    // not in a transaction, and serves the next call.
    let conn = tokio::time::timeout(Duration::from_secs(2), pool.get())
        .await
        .unwrap()
        .unwrap();
    let settings = conn
        .query_one(
            "SELECT current_setting('transaction_isolation'), \
             current_setting('transaction_read_only')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (settings.get::<_, String>(0), settings.get::<_, String>(1)),
        ("read committed".to_string(), "off".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_connection_the_caller_holds_there_is_no_snapshot() {
    let db = TestDb::with_example_data("prefetch_snapshot_conn").await;
    db.client.batch_execute(SLOW_VIEWS).await.unwrap();
    let pool = slow_pool(&db);
    let conn = pool.get().await.unwrap();
    let (result, author, parent, authors) = race(&db, &conn).await;

    match result {
        Err(quarry::Error::MissingRelated { query, key }) => {
            assert_eq!((query, key), ("AuthorsById", author.to_string()));
        }
        other => panic!("expected MissingRelated, got {other:?}"),
    }
    // Each statement its own transaction.
    assert_ne!(parent.xact_start, authors.xact_start);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_the_caller_opens_gives_the_guarantee_on_its_connection() {
    let db = TestDb::with_example_data("prefetch_snapshot_tx").await;
    db.client.batch_execute(SLOW_VIEWS).await.unwrap();
    let pool = slow_pool(&db);
    let mut conn = pool.get().await.unwrap();
    let tx = conn
        .build_transaction()
        .isolation_level(quarry::tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .unwrap();
    let (result, author, parent, authors) = race(&db, &tx).await;
    assert_eq!(result.unwrap()[0].author.id, author);
    assert_eq!(parent.xact_start, authors.xact_start);
    tx.commit().await.unwrap();
}

//! Streaming through generated `_stream` functions against real PostgreSQL:
//! row streams on every executor kind (borrowed and owned parameters, a
//! prepare error as the first item), and chunked prefetch streams through a
//! server-side portal with exact statement counts (`⌈n / chunk⌉ × (1 + k)`)
//! and results equal to the `Vec` functions'. The fixture's generated code
//! is committed in `streaming/db` and checked to be current here; the
//! memory probe is `streaming_memory.rs` (its own binary: it counts every
//! allocation of the process).

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[path = "streaming/db/mod.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod db;

use quarry_tests::{check_committed_fixture, generate_fixture, workspace_root};

/// The generated code in `streaming/db` is what the generator writes for
/// `streaming/queries/streaming.sql` today (`QUARRY_BLESS=1` rewrites it).
#[tokio::test]
async fn committed_fixture_code_is_current() {
    check_committed_fixture("streaming", codegen::config::TypeConfig::default()).await;
}

use db::streaming::{self as q, ListItemsByNameRow, ListItemsRow};
use quarry::futures_util::{StreamExt as _, TryStreamExt as _};
use quarry_tests::TestDb;

/// A database with the fixture's schema and `items` items (ids 1..=items),
/// each with one of 100 owners and two notes.
async fn seeded(prefix: &str, items: i64) -> TestDb {
    let db = TestDb::new(prefix).await;
    let schema = workspace_root().join("tests/tests/streaming/schema.sql");
    db.execute_file(&schema).await;
    db.client
        .execute(
            "INSERT INTO owners (id, name) SELECT g, 'owner ' || g FROM generate_series(1, 100) g",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.client
        .execute(
            "INSERT INTO items (id, owner_id, name)
             SELECT g, 1 + g % 100, 'item ' || g FROM generate_series(1, $1::bigint) g",
            &[&items],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.client
        .execute(
            "INSERT INTO notes (id, item_id, body)
             SELECT 2 * i.id + n, i.id, 'note ' || n || ' of ' || i.id
             FROM items i, generate_series(0, 1) n",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db
}

/// `_stream` on every executor kind yields what the `Vec` function returns,
/// with a by-value parameter (`n`) owned by the stream and a `&str`
/// (`prefix`) borrowed for the stream's lifetime.
#[tokio::test]
async fn row_stream_equals_vec_on_every_executor() {
    let mut db = seeded("stream_executors", 0).await;
    let prefix = String::from("label ");
    let expected = q::labels(&db.client, &prefix, 7)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(expected.len(), 7);
    assert_eq!(expected[6].label, "label 7");

    let from_client: Vec<_> = q::labels_stream(&db.client, &prefix, 7)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("client: {e}"));
    assert_eq!(from_client, expected);

    let pool = db.pool();
    let from_pool: Vec<_> = q::labels_stream(&pool, &prefix, 7)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("pool: {e}"));
    assert_eq!(from_pool, expected);

    let conn = pool.get().await.unwrap_or_else(|e| panic!("{e}"));
    let from_conn: Vec<_> = q::labels_stream(&conn, &prefix, 7)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("pooled connection: {e}"));
    assert_eq!(from_conn, expected);
    drop(conn);

    let tx = db
        .client
        .transaction()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let from_tx: Vec<_> = q::labels_stream(&tx, &prefix, 7)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("transaction: {e}"));
    assert_eq!(from_tx, expected);
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));

    let mut object = pool.inner().get().await.unwrap_or_else(|e| panic!("{e}"));
    let dtx = object.transaction().await.unwrap_or_else(|e| panic!("{e}"));
    let from_dtx: Vec<_> = q::labels_stream(&dtx, &prefix, 7)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("deadpool transaction: {e}"));
    assert_eq!(from_dtx, expected);
}

/// The stream is lazy and yields rows one by one: taking 3 of a million
/// rows returns (the rest is never decoded), and the connection serves
/// the next statement.
#[tokio::test]
async fn a_row_stream_can_stop_early() {
    let db = seeded("stream_early", 0).await;
    let pool = quarry::Pool::from_config(db.url.parse().unwrap_or_else(|e| panic!("{e}")), 1)
        .unwrap_or_else(|e| panic!("{e}"));
    let first: Vec<_> = q::payloads_stream(&pool, 1_000_000)
        .take(3)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 2, 3]);
    let next = q::labels(&pool, "x", 2)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(next.len(), 2);
}

/// An error preparing the statement (here: the table does not exist) is
/// the stream's first and only item, for a row stream and a chunked one.
#[tokio::test]
async fn a_prepare_error_is_the_first_item() {
    let db = TestDb::new("stream_prepare_error").await;
    let pool = db.pool();
    let items: Vec<_> = q::owner_names_stream(&db.client).collect().await;
    assert!(
        matches!(
            items.as_slice(),
            [Err(quarry::Error::Db {
                query: "OwnerNames",
                ..
            })]
        ),
        "{items:?}"
    );
    let items: Vec<_> = q::owner_names_stream(&pool).collect().await;
    assert!(
        matches!(items.as_slice(), [Err(quarry::Error::Db { .. })]),
        "{items:?}"
    );
    let items: Vec<_> = q::list_items_stream(&pool, 10).collect().await;
    assert!(
        matches!(
            items.as_slice(),
            [Err(quarry::Error::Db {
                query: "ListItems",
                ..
            })]
        ),
        "{items:?}"
    );
}

/// Streams `list_items_stream(pool, max_id)` while recording, and checks
/// it equals the `Vec` function's result and ran `fetches` portal fetches
/// and as many statements of each of the two relation loaders.
async fn assert_chunked(pool: &quarry::Pool, max_id: i64, fetches: usize) {
    let (streamed, log) = quarry::record(async {
        q::list_items_stream(pool, max_id)
            .try_collect::<Vec<ListItemsRow>>()
            .await
    })
    .await;
    let streamed = streamed.unwrap_or_else(|e| panic!("{e}"));
    let relations = if max_id > 0 { fetches } else { 0 };
    log.assert_count(fetches + 2 * relations);
    let by_name = log.by_name();
    assert_eq!(by_name.get("ListItems"), Some(&fetches), "{by_name:?}");
    assert_eq!(
        by_name.get("OwnersById"),
        Some(&relations).filter(|n| **n > 0),
        "{by_name:?}"
    );
    assert_eq!(
        by_name.get("NotesByItemId"),
        Some(&relations).filter(|n| **n > 0),
        "{by_name:?}"
    );

    let expected = q::list_items(pool, max_id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(streamed.len(), usize::try_from(max_id).unwrap_or(0));
    assert_eq!(streamed, expected);
    if let Some(item) = streamed.last() {
        assert_eq!(item.owner.id, 1 + item.id % 100);
        assert_eq!(item.notes.len(), 2);
    }
}

/// 5,000 parents with 2 relations in chunks of 1,000 (the default): exactly
/// 5 × (1 + 2) statements — the fetch that returns the last rows also
/// reports the end — and the same rows as the `Vec` function; 2,500 parents
/// take 3 × 3; none, a single fetch.
#[tokio::test]
async fn chunked_prefetch_stream_runs_chunks_times_one_plus_k_statements() {
    let db = seeded("stream_chunked", 5000).await;
    let pool = db.pool();
    assert_chunked(&pool, 5000, 5).await;
    assert_chunked(&pool, 2500, 3).await;
    assert_chunked(&pool, 1000, 1).await;
    assert_chunked(&pool, 1001, 2).await;
    assert_chunked(&pool, 0, 1).await;
}

/// A chunked stream runs each relation once per chunk by design: the N+1
/// detector (its default policy warns past 5 runs in a scope) does not flag
/// 371 chunks of 3, and every statement is still recorded.
#[tokio::test]
async fn many_chunks_are_not_an_n_plus_one() {
    let db = seeded("stream_many_chunks", 2000).await;
    let pool = db.pool();
    // "item 1", "item 10".."item 19", …, "item 1000".."item 1999".
    let (rows, log) = quarry::record(
        q::list_items_by_name_stream(&pool, "item 1").try_collect::<Vec<ListItemsByNameRow>>(),
    )
    .await;
    let rows = rows.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 1111);
    assert_eq!(log.count("ListItemsByName"), 371);
    log.assert_count(371 * 3);
    assert_eq!(log.n_plus_one(), []);
}

/// A chunked stream runs inside any transaction it is given (here `@chunk 3`
/// over 10 parents: 4 fetches), and a stream dropped half-way leaves the
/// pool's only connection usable (its transaction rolled back).
#[tokio::test]
async fn chunked_prefetch_stream_on_transactions() {
    let mut db = seeded("stream_chunked_tx", 10).await;
    let pool = quarry::Pool::from_config(db.url.parse().unwrap_or_else(|e| panic!("{e}")), 1)
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = q::list_items_by_name(&pool, "item")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(expected.len(), 10);

    let collect = |rows: Vec<Result<ListItemsByNameRow, quarry::Error>>| {
        rows.into_iter()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (rows, log) = quarry::record(q::list_items_by_name_stream(&pool, "item").collect()).await;
    assert_eq!(collect(rows), expected);
    assert_eq!(log.count("ListItemsByName"), 4);
    log.assert_count(4 * 3);

    let tx = db
        .client
        .transaction()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = q::list_items_by_name_stream(&tx, "item").collect().await;
    assert_eq!(collect(rows), expected);
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));

    let mut object = pool.inner().get().await.unwrap_or_else(|e| panic!("{e}"));
    let dtx = object.transaction().await.unwrap_or_else(|e| panic!("{e}"));
    let rows = q::list_items_by_name_stream(&dtx, "item").collect().await;
    assert_eq!(collect(rows), expected);
    drop(dtx);
    drop(object);

    let from_retrying = quarry::transaction(&pool, |tx| {
        Box::pin(async move {
            q::list_items_by_name_stream(&*tx, "item")
                .try_collect::<Vec<_>>()
                .await
        })
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_retrying, expected);

    let first: Vec<_> = q::list_items_by_name_stream(&pool, "item")
        .take(4)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first[..], expected[..4]);
    let again = q::list_items_by_name(&pool, "item")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, expected);
}

/// A query named like another query's stream function is an error at its
/// name, not generated code that does not compile.
#[tokio::test]
async fn a_query_named_like_a_stream_function_is_an_error() {
    let queries = "-- name: ListOwners :many\nSELECT id FROM owners;\n\n-- name: ListOwnersStream :many\nSELECT id FROM owners;\n";
    let schema = "CREATE TABLE owners (id bigint PRIMARY KEY);";
    let error = generate_fixture("owners.sql", queries.as_bytes(), schema)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("query `ListOwnersStream` becomes the function `list_owners_stream`, which query `ListOwners` needs for its rows as a stream"),
        "{error}"
    );
    assert!(error.contains("owners.sql:4:10"), "{error}");
}

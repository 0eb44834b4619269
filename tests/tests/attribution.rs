//! Attribution at the server, against real PostgreSQL: every statement a
//! generated function sends starts with `/* quarry:<Name> */`, and
//! `pg_stat_activity` shows it — for the statement running (caught waiting
//! on a row lock another connection holds) and for the last one a
//! connection ran, of every kind: `:one`, `:many`, `:exec`, a stream, a
//! loader, prefetch relations, a `:copyfrom`'s `COPY`, a batch. With
//! `attribution = false` (the fixture in `attribution/`, its generated
//! code committed in `attribution/db` and checked current here) the same
//! views show the SQL as written.

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[path = "attribution/db/mod.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod db;

use std::time::Duration;

use quarry::futures_util::TryStreamExt as _;
use quarry::tokio_postgres::Client;
use quarry_example_app::queries::{blog, shop};
use quarry_tests::{check_committed_fixture, server, workspace_root, TestDb};

/// The fixture's options: attribution switched off.
fn off() -> codegen::config::TypeConfig {
    codegen::config::TypeConfig {
        attribution: false,
        ..codegen::config::TypeConfig::default()
    }
}

/// The generated code in `attribution/db` is what the generator writes for
/// `attribution/queries/attribution.sql` with `attribution = false` today
/// (`QUARRY_BLESS=1` rewrites it).
#[tokio::test]
async fn committed_fixture_code_is_current() {
    check_committed_fixture("attribution", off()).await;
}

fn must<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// A second connection to `db` (the one generated functions run on) and
/// its backend's pid, read before anything else runs on it.
async fn subject(db: &TestDb) -> (Client, i32) {
    let client = must(server().connect(Some(&db.name)).await, "connect");
    let row = must(
        client.query_one("SELECT pg_backend_pid()", &[]).await,
        "pid",
    );
    (client, row.get(0))
}

/// What `pg_stat_activity` shows as backend `pid`'s statement: the one
/// running, or the last one it ran.
async fn shown(db: &TestDb, pid: i32) -> String {
    let row = must(
        db.client
            .query_one("SELECT query FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .await,
        "pg_stat_activity",
    );
    row.get(0)
}

/// The statement backend `pid` runs while it waits on a lock: polled until
/// it waits (10 s at most; the lock is held until the caller releases it,
/// so it does wait).
async fn shown_while_waiting(db: &TestDb, pid: i32) -> String {
    for _ in 0..1000 {
        let rows = must(
            db.client
                .query(
                    "SELECT query FROM pg_stat_activity \
                     WHERE pid = $1 AND state = 'active' AND wait_event_type = 'Lock'",
                    &[&pid],
                )
                .await,
            "pg_stat_activity",
        );
        if let Some(row) = rows.first() {
            return row.get(0);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("backend {pid} never waited on the lock");
}

/// `text` starts with the comment naming `name`, then one space, then the
/// statement (which carries no other attribution comment).
fn assert_attributed(text: &str, name: &str, statement: &str) {
    let expected = format!("/* quarry:{name} */ {statement}");
    assert!(text.starts_with(&expected), "{name}: {text}");
    assert_eq!(text.matches("/* quarry:").count(), 1, "{name}: {text}");
}

/// Runs `call` on the subject while `locker` holds a row lock it needs, and
/// returns what `pg_stat_activity` showed for it while it waited.
async fn while_blocked<T>(
    db: &TestDb,
    pid: i32,
    locker: &mut Client,
    lock: &str,
    call: impl std::future::Future<Output = Result<T, quarry::Error>>,
) -> String {
    let tx = must(locker.transaction().await, "begin");
    must(tx.batch_execute(lock).await, "lock");
    let observe = async {
        let text = shown_while_waiting(db, pid).await;
        must(tx.commit().await, "commit");
        text
    };
    let (result, text) = tokio::join!(call, observe);
    must(result, "the blocked call");
    text
}

/// Generated functions of every kind, from the example app (attribution on,
/// the default): the running statement and each one's last statement
/// carry the query's name.
#[tokio::test]
async fn every_generated_statement_names_its_query_at_the_server() {
    let db = TestDb::with_example_data("attribution_on").await;
    let (mut subject, pid) = subject(&db).await;

    // Running: an UPDATE waiting on a row lock held by another connection.
    let mut locker = must(server().connect(Some(&db.name)).await, "connect");
    let text = while_blocked(
        &db,
        pid,
        &mut locker,
        "SELECT 1 FROM products WHERE id = 1 FOR UPDATE",
        shop::adjust_stock(&subject, 1, 1),
    )
    .await;
    assert_attributed(
        &text,
        "AdjustStock",
        "UPDATE products\nSET stock = stock + $1",
    );

    // The last statement of each kind of call.
    must(blog::get_author(&subject, 1).await, ":one");
    assert_attributed(&shown(&db, pid).await, "GetAuthor", "SELECT ");
    must(shop::category_tree(&subject).await, ":many");
    assert_attributed(&shown(&db, pid).await, "CategoryTree", "WITH RECURSIVE");
    must(blog::set_author_avatar(&subject, None, 3).await, ":exec");
    assert_attributed(&shown(&db, pid).await, "SetAuthorAvatar", "UPDATE authors");
    let streamed: Vec<_> = must(
        shop::category_tree_stream(&subject).try_collect().await,
        "stream",
    );
    assert!(!streamed.is_empty());
    assert_attributed(&shown(&db, pid).await, "CategoryTree", "WITH RECURSIVE");
    must(blog::authors_by_id(&subject, &[1, 2]).await, "loader");
    assert_attributed(&shown(&db, pid).await, "AuthorsById", "SELECT ");
    // Prefetch: the parent, then one statement per relation, the last of
    // which the connection shows (all on this one connection, no snapshot).
    let posts = must(
        blog::list_posts_with_relations(&subject, 10).await,
        "prefetch",
    );
    assert!(!posts.is_empty());
    let last = shown(&db, pid).await;
    assert!(
        [
            "CommentsByPost",
            "AuthorsByIds",
            "AuthorsById",
            "TagsViaPostTags"
        ]
        .iter()
        .any(|name| last.starts_with(&format!("/* quarry:{name} */ SELECT "))),
        "{last}"
    );
    // `:copyfrom`: the `COPY` itself.
    let product = shop::ImportProductsParams {
        category_id: 3,
        sku: "ATTR-001".to_string(),
        name: "Attributed".to_string(),
        price: quarry::rust_decimal::Decimal::new(100, 2),
        description: None,
        stock: 1,
        tags: Vec::new(),
    };
    assert_eq!(
        must(shop::import_products(&subject, [product]).await, "copy"),
        1
    );
    assert_attributed(&shown(&db, pid).await, "ImportProducts", "COPY products ");
    // A batch, in the caller's transaction (shown before its COMMIT).
    let tx = must(subject.transaction().await, "begin");
    let prices = [shop::SetProductPricesParams {
        price: quarry::rust_decimal::Decimal::new(200, 2),
        sku: "ATTR-001".to_string(),
    }];
    assert_eq!(
        must(shop::set_product_prices(&tx, &prices).await, "batch"),
        [1]
    );
    assert_attributed(
        &shown(&db, pid).await,
        "SetProductPrices",
        "UPDATE products",
    );
    must(tx.commit().await, "commit");
}

/// With `attribution = false` the server sees the SQL exactly as written.
#[tokio::test]
async fn with_attribution_off_the_server_sees_the_sql_as_written() {
    use db::attribution as q;
    let db = TestDb::new("attribution_off").await;
    db.execute_file(&workspace_root().join("tests/tests/attribution/schema.sql"))
        .await;
    let (subject, pid) = subject(&db).await;

    let things = [
        q::ImportThingsParams {
            id: 1,
            label: "one".to_string(),
        },
        q::ImportThingsParams {
            id: 2,
            label: "two".to_string(),
        },
    ];
    assert_eq!(must(q::import_things(&subject, things).await, "copy"), 2);
    assert_eq!(
        shown(&db, pid).await,
        "COPY things (id, label) FROM STDIN (FORMAT binary)"
    );
    assert_eq!(must(q::get_thing(&subject, 2).await, ":one").label, "two");
    assert_eq!(
        shown(&db, pid).await,
        "SELECT id, label FROM things WHERE id = $1"
    );
    let mut locker = must(server().connect(Some(&db.name)).await, "connect");
    let text = while_blocked(
        &db,
        pid,
        &mut locker,
        "SELECT 1 FROM things WHERE id = 1 FOR UPDATE",
        q::rename_thing(&subject, "uno", 1),
    )
    .await;
    assert_eq!(text, "UPDATE things SET label = $1 WHERE id = $2");
}

/// The key in `quarry.toml` switches it, and is part of the input hash (a
/// build script regenerates when it changes).
#[tokio::test]
async fn the_config_key_switches_the_comment_and_the_input_hash() {
    let read = |path: &str| {
        let path = workspace_root().join("tests/tests/attribution").join(path);
        must(std::fs::read_to_string(&path), "read fixture")
    };
    let (queries, schema) = (read("queries/attribution.sql"), read("schema.sql"));
    let module = std::path::Path::new("attribution.rs");
    let mut hashes = Vec::new();
    for (toml, commented) in [("", true), ("attribution = false\n", false)] {
        let (output, _dir) =
            quarry_tests::generate_from_disk("attribution.sql", &queries, &schema, toml).await;
        let output = must(output, "generate");
        let code = &output.files[module];
        assert_eq!(
            code.contains("\"/* quarry:GetThing */ SELECT id, label FROM things WHERE id = $1\""),
            commented,
            "{toml:?}: {code}"
        );
        assert_eq!(
            code.contains("\"/* quarry:ImportThings */ COPY things (id, label)"),
            commented,
            "{toml:?}: {code}"
        );
        hashes.push(output.input_hash);
    }
    assert_ne!(hashes[0], hashes[1]);
}

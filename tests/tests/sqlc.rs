//! An sqlc project, unchanged, through Quarry: `sqlc/sqlc.yaml` (version 2,
//! with overrides, renames and Go-only options) is the configuration; the
//! schema is real `pg_dump --schema-only` output (psql meta-commands, the
//! `set_config('search_path', …)` preamble, `OWNER TO` a role the server
//! does not have) plus a query file that also creates a table; the query
//! files use both header styles, every kind (`:one`, `:many`, `:exec`,
//! `:execrows`, `:execresult`, `:copyfrom`, `:batchexec`, `:batchone`,
//! `:batchmany`) and every macro (`sqlc.arg`, `sqlc.narg`, `@name`,
//! `sqlc.slice`, `sqlc.embed`), and result columns sqlc names itself
//! (`column_4`, `id_2`).
//!
//! The generated code is committed in `sqlc/db` (checked current here) and
//! runs against PostgreSQL with asserted results.

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[path = "sqlc/db/mod.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod db;

use std::fmt::Display;
use std::path::{Path, PathBuf};

use db::{authors, books, flags};
use quarry_tests::{server, workspace_root, TestDb};

fn fixture() -> PathBuf {
    workspace_root().join("tests/tests/sqlc")
}

/// `result`'s value, or a panic naming `what` and the error.
fn must<T, E: Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The one configuration `sqlc.yaml` describes, and the notes on what of
/// it Quarry ignores.
fn sqlc_config() -> (codegen::Config, Vec<String>, Vec<codegen::Diagnostic>) {
    let loaded = must(
        codegen::sqlc_config::load(&fixture().join("sqlc.yaml")),
        "sqlc.yaml",
    );
    let [config] = <[codegen::Config; 1]>::try_from(loaded.configs)
        .unwrap_or_else(|configs| panic!("one `sql` entry, got {}", configs.len()));
    (config, loaded.notes, loaded.warnings)
}

/// `sqlc.yaml` is read as sqlc reads it: paths relative to it, lists of
/// schema and query files, the `quarry` plugin's `out`, overrides by type
/// and column, renames at both levels; what only the Go generator uses is
/// named in a note, not silently dropped.
#[test]
fn sqlc_yaml_is_the_configuration() {
    let (config, notes, warnings) = sqlc_config();
    let dir = fixture();
    assert_eq!(config.types.dialect, codegen::Dialect::Sqlc);
    assert_eq!(
        config.schema,
        [dir.join("schema/dump.sql"), dir.join("queries/flags.sql")]
    );
    let mut queries = vec![config.queries.clone()];
    queries.extend(config.more_queries.iter().cloned());
    assert_eq!(
        queries,
        ["authors.sql", "books.sql", "flags.sql"].map(|f| dir.join("queries").join(f))
    );
    assert_eq!(config.out, dir.join("db"));
    let renames: Vec<(&str, &str)> = config
        .types
        .renames
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        renames,
        [("bio", "Biography"), ("spotify_url", "SpotifyURL")]
    );
    let name = config.types.by_column.get("authors.name");
    assert_eq!(
        name.and_then(|o| o.rust_type.as_deref()),
        Some("Box<str>"),
        "rust_type in an override is used as is"
    );
    let notes = notes.join("\n");
    for ignored in ["emit_json_tags", "emit_interface", "sql_package"] {
        assert!(notes.contains(ignored), "no note on `{ignored}`:\n{notes}");
    }
    let [warning] = <[codegen::Diagnostic; 1]>::try_from(warnings)
        .unwrap_or_else(|w| panic!("one warning, got {w:#?}"));
    let warning = warning.to_string();
    assert!(
        warning.contains("example.com/bookstore/text.Markdown")
            && warning.contains("sqlc.yaml:39:13"),
        "the Go type without a Rust equivalent, at its override:\n{warning}"
    );
}

/// The code committed in `sqlc/db` is what the generator writes from
/// `sqlc.yaml` (with `QUARRY_BLESS` set, it is written there), and the
/// columns sqlc names itself come with a warning suggesting an alias.
#[tokio::test]
async fn committed_fixture_code_is_current() {
    let (config, _, _) = sqlc_config();
    let output = must(codegen::generate(&config, server()).await, "generate");
    let bless = std::env::var_os("QUARRY_BLESS").is_some();
    for (path, content) in &output.files {
        let committed = config.out.join(path);
        if bless {
            must(std::fs::write(&committed, content), "bless");
        } else {
            let text = must(std::fs::read_to_string(&committed), "read");
            assert!(
                text == *content,
                "{} is stale: run `QUARRY_BLESS=1 cargo test -p quarry-tests --test sqlc committed_fixture_code_is_current`",
                committed.display()
            );
        }
    }
    let warnings: Vec<String> = output.warnings.iter().map(|w| w.to_string()).collect();
    let named = |column: &str| {
        warnings
            .iter()
            .any(|w| w.contains(&format!("`{column}`")) && w.contains("alias"))
    };
    for column in ["column_4", "column_5", "id_2"] {
        assert!(
            named(column),
            "no warning naming `{column}`:\n{warnings:#?}"
        );
    }
    assert_eq!(
        output.queries, 20,
        "every named query, no headerless statement"
    );
}

/// A database with the schema sqlc.yaml lists: the pg_dump file (applied
/// on a connection of its own, as psql would: the dump empties its
/// session's search_path) and the statements of `flags.sql` that have no
/// header.
async fn bookstore(prefix: &str) -> TestDb {
    let db = TestDb::new(prefix).await;
    let dump = read(&fixture().join("schema/dump.sql"));
    let dump: String = dump
        .lines()
        .filter(|line| !line.starts_with('\\'))
        .map(|line| format!("{line}\n"))
        .collect();
    let loader = must(server().connect(Some(&db.name)).await, "connect");
    must(
        loader
            .batch_execute("CREATE ROLE bookstore_app")
            .await
            .or_else(|e| {
                // Roles are cluster-wide: another test created it already.
                if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_OBJECT) {
                    Ok(())
                } else {
                    Err(e)
                }
            }),
        "role",
    );
    must(loader.batch_execute(&dump).await, "dump.sql");
    let flags = read(&fixture().join("queries/flags.sql"));
    for statement in flags.split(";\n") {
        let sql: String = statement
            .lines()
            .filter(|line| !line.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        if sql.trim_start().starts_with("CREATE") {
            must(db.client.batch_execute(&sql).await, "flags.sql");
        }
    }
    db
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The authors queries: `-- name:` headers, `$n`, `sqlc.arg`,
/// `sqlc.narg`, `@name`, `:exec`, `:execrows` and `:execresult`, a view,
/// the renamed `bio` and the overridden `name`.
#[tokio::test]
async fn authors_queries_run() {
    let db = bookstore("sqlc_authors").await;
    let pool = db.pool();
    let ursula = must(
        authors::create_author(&pool, "Ursula K. Le Guin", Some("Earthsea")).await,
        "create",
    );
    // The column override's `rust_type`, used as is.
    let name: Box<str> = ursula.name;
    assert_eq!(&*name, "Ursula K. Le Guin");
    assert_eq!(ursula.biography.as_deref(), Some("Earthsea"));
    assert_eq!(ursula.spotify_url, None);
    let ted = must(
        authors::create_author(&pool, "Ted Chiang", None).await,
        "create",
    );

    let got = must(authors::get_author(&pool, ursula.id).await, "get");
    assert_eq!(got.id, ursula.id);
    let listed: Vec<i64> = must(authors::list_authors(&pool).await, "list")
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(listed, [ted.id, ursula.id], "ordered by name");

    let rows: u64 = must(
        authors::update_author_bio(&pool, Some("Stories of your life"), ted.id).await,
        "execrows",
    );
    assert_eq!(rows, 1);
    let ted_now = must(authors::get_author(&pool, ted.id).await, "get");
    assert_eq!(ted_now.biography.as_deref(), Some("Stories of your life"));
    assert_eq!(
        must(authors::update_author_bio(&pool, None, 0).await, "execrows"),
        0
    );

    let result: quarry::ExecResult =
        must(authors::capitalize_authors(&pool, "Ur").await, "execresult");
    assert_eq!(result.rows_affected(), 1);
    assert_eq!(result.to_string(), "UPDATE 1");
    let upper = must(authors::get_author(&pool, ursula.id).await, "get");
    assert_eq!(&*upper.name, "URSULA K. LE GUIN");

    let counts = must(authors::author_book_counts(&pool).await, "view");
    assert_eq!(counts.len(), 2);
    assert!(counts.iter().all(|c| c.books == 0));

    let deleted: u64 = must(authors::delete_author(&pool, ted.id).await, "exec");
    assert_eq!(deleted, 1);
    assert!(matches!(
        authors::get_author(&pool, ted.id).await,
        Err(quarry::Error::NotFound { .. })
    ));
}

/// Books: `:copyfrom`, `sqlc.slice`, `sqlc.embed`, the batch kinds, and
/// the columns named `column_4`, `column_5`, `int4` and `id`.
#[tokio::test]
async fn books_queries_run() {
    let db = bookstore("sqlc_books").await;
    let pool = db.pool();
    let author = must(
        authors::create_author(&pool, "N. K. Jemisin", None).await,
        "author",
    );
    let decimal = |s: &str| must(s.parse::<rust_decimal::Decimal>(), "decimal");
    let rows = (0..3).map(|i| books::CreateBooksParams {
        author_id: author.id,
        isbn: format!("isbn-{i}"),
        genre: db::types::BookGenre::Fiction,
        title: format!("Broken Earth {i}"),
        year: 2015 + i,
        price: (i != 2).then(|| decimal("9.99")),
        tags: vec!["fantasy".to_string(), format!("volume-{i}")],
    });
    assert_eq!(must(books::create_books(&pool, rows).await, "copy"), 3);

    let all = must(books::books_by_tags(&pool, &["fantasy"]).await, "tags");
    let ids: Vec<i32> = all.iter().map(|b| b.book_id).collect();
    assert_eq!(ids.len(), 3);
    let two = must(
        books::books_by_ids(&pool, &[ids[0], ids[2], -1]).await,
        "slice",
    );
    let titles: Vec<&str> = two.iter().map(|b| b.title.as_str()).collect();
    assert_eq!(titles, ["Broken Earth 0", "Broken Earth 2"]);

    let with = must(books::book_with_author(&pool, ids[1]).await, "embed");
    assert_eq!(with.book.title, "Broken Earth 1");
    assert_eq!(with.book.year, 2016);
    assert_eq!(with.book.price, Some(decimal("9.99")));
    assert_eq!(&*with.author.name, "N. K. Jemisin");
    assert_eq!(with.author.biography, None);

    let prices = [
        books::SetBookPricesParams {
            price: Some(decimal("5.00")),
            book_id: ids[0],
        },
        books::SetBookPricesParams {
            price: None,
            book_id: ids[1],
        },
        books::SetBookPricesParams {
            price: Some(decimal("1.00")),
            book_id: -1,
        },
    ];
    assert_eq!(
        must(books::set_book_prices(&pool, &prices).await, "batchexec"),
        [1, 1, 0]
    );
    let one = [
        books::GetBookBatchParams { book_id: ids[2] },
        books::GetBookBatchParams { book_id: ids[0] },
    ];
    let got = must(books::get_book_batch(&pool, &one).await, "batchone");
    let years: Vec<i32> = got.iter().map(|b| b.year).collect();
    assert_eq!(years, [2017, 2015]);
    let by_author = [
        books::BooksByAuthorBatchParams {
            author_id: author.id,
        },
        books::BooksByAuthorBatchParams { author_id: -1 },
    ];
    let lists = must(
        books::books_by_author_batch(&pool, &by_author).await,
        "batchmany",
    );
    let counts: Vec<usize> = lists.iter().map(Vec::len).collect();
    assert_eq!(counts, [3, 0]);

    let facts = must(books::book_facts(&pool, 7, ids[0]).await, "facts");
    assert_eq!(facts.book_id, ids[0]);
    assert_eq!(facts.id, author.id);
    assert_eq!(facts.column_4, 2016);
    assert_eq!(facts.column_5, "N. K. Jemisin wrote Broken Earth 0");
    assert_eq!(facts.int4, 7);

    let hello = must(books::hello(&pool, "sqlc").await, "hello");
    assert_eq!(hello.say_hello.as_deref(), Some("hello, sqlc"));
}

/// `flags.sql`, also a schema file: its headerless statements created
/// `review_flags`; an embed on the nullable side of a LEFT JOIN is an
/// `Option`; a duplicate column is `id_2`.
#[tokio::test]
async fn flags_queries_run() {
    let db = bookstore("sqlc_flags").await;
    let pool = db.pool();
    let author = must(
        authors::create_author(&pool, "Octavia Butler", None).await,
        "author",
    );
    let book = books::CreateBooksParams {
        author_id: author.id,
        isbn: "kindred".to_string(),
        genre: db::types::BookGenre::Fiction,
        title: "Kindred".to_string(),
        year: 1979,
        price: None,
        tags: Vec::new(),
    };
    assert_eq!(must(books::create_books(&pool, [book]).await, "copy"), 1);
    let book_id = must(books::books_by_tags(&pool, &[]).await, "tags").len();
    assert_eq!(book_id, 0, "no book has a tag");
    let kindred = must(
        db.client
            .query_one("SELECT book_id FROM books WHERE isbn = 'kindred'", &[])
            .await,
        "book id",
    )
    .get::<_, i32>(0);

    let anonymous = must(
        flags::create_review(&pool, kindred, None, 5, Some("A classic")).await,
        "review",
    )
    .id;
    let signed = must(
        flags::create_review(&pool, kindred, Some(author.id), 4, None).await,
        "review",
    )
    .id;
    let reviews = must(flags::reviews_with_reviewer(&pool, kindred).await, "embed");
    assert_eq!(reviews.len(), 2);
    assert_eq!(reviews[0].id, anonymous);
    assert!(reviews[0].author.is_none(), "no reviewer: None");
    assert_eq!(reviews[1].id, signed);
    let reviewer = reviews[1].author.as_ref().map(|a| a.id);
    assert_eq!(reviewer, Some(author.id));

    must(
        flags::flag_review(&pool, anonymous, "spoiler").await,
        "flag",
    );
    must(
        flags::flag_review(&pool, anonymous, "spoiler").await,
        "flag twice",
    );
    must(flags::flag_review(&pool, anonymous, "rude").await, "flag");
    let flagged = must(flags::flags_of(&pool, kindred).await, "flags");
    let seen: Vec<(i64, &str, i64)> = flagged
        .iter()
        .map(|f| (f.id, f.reason.as_str(), f.id_2))
        .collect();
    assert_eq!(
        seen,
        [
            (anonymous, "rude", anonymous),
            (anonymous, "spoiler", anonymous)
        ]
    );
}

//! `sqlc.embed(t)` against real PostgreSQL (issue 18): an inner join's
//! embedded table is a struct, a left join's `Option` of one (`None` for a
//! book without editor, `Some` otherwise), the same table embedded twice
//! through aliases, embeds among plain columns, and a table with nullable
//! columns; an embed of an unknown alias or of a subquery is an error at the
//! macro. The fixture's generated code is committed in `sqlc_embed/db`
//! and checked to be current here.

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[path = "sqlc_embed/db/mod.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod db;

use quarry_tests::{check_committed_fixture, generate_fixture, workspace_root, TestDb};

use db::sqlc_embed as q;
use q::{Author, Book};

/// The generated code in `sqlc_embed/db` is what the generator writes for
/// `sqlc_embed/queries/sqlc_embed.sql` today (`QUARRY_BLESS=1` rewrites it).
#[tokio::test]
async fn committed_fixture_code_is_current() {
    check_committed_fixture("sqlc_embed", codegen::config::TypeConfig::default()).await;
}

/// A database with two authors (one without a bio), a third without books,
/// and three books: one edited by its author's colleague, two without editor.
async fn fresh(prefix: &str) -> TestDb {
    let db = TestDb::new(prefix).await;
    db.execute_file(&workspace_root().join("tests/tests/sqlc_embed/schema.sql"))
        .await;
    let fill = "INSERT INTO authors VALUES (1, 'Ann', 'writes'), (2, 'Bob', NULL), (3, 'Cy', NULL);
        INSERT INTO books VALUES (10, 1, 'First', 2), (11, 1, 'Second', NULL), (12, 2, 'Third', NULL);";
    db.client
        .batch_execute(fill)
        .await
        .unwrap_or_else(|e| panic!("fill: {e}"));
    db
}

fn ann() -> Author {
    Author {
        id: 1,
        name: "Ann".to_string(),
        bio: Some("writes".to_string()),
    }
}

fn bob() -> Author {
    Author {
        id: 2,
        name: "Bob".to_string(),
        bio: None,
    }
}

#[tokio::test]
async fn an_inner_join_embeds_the_table_as_a_struct() {
    let db = fresh("embed_inner").await;
    let row = q::book_with_author(&db.client, 12)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(row.author, bob());
    assert_eq!(row.title, "Third");
}

#[tokio::test]
async fn a_left_join_embeds_none_without_a_match_and_some_with_one() {
    let db = fresh("embed_left").await;
    let rows = q::books_with_editor(&db.client)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(i64, Option<Author>, String)> = rows
        .into_iter()
        .map(|row| (row.id, row.e, row.title))
        .collect();
    assert_eq!(
        got,
        vec![
            (10, Some(bob()), "First".to_string()),
            (11, None, "Second".to_string()),
            (12, None, "Third".to_string()),
        ]
    );
}

#[tokio::test]
async fn the_same_table_embeds_twice_through_aliases() {
    let db = fresh("embed_self").await;
    let row = q::book_author_and_editor(&db.client, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (row.a, row.title, row.e),
        (ann(), "First".to_string(), bob())
    );
}

#[tokio::test]
async fn a_table_with_nullable_columns_embeds_after_plain_columns() {
    let db = fresh("embed_nullable").await;
    let rows = q::authors_with_books(&db.client)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(i64, String, Option<Book>)> = rows
        .into_iter()
        .map(|row| (row.author_id, row.name, row.book))
        .collect();
    let book = |id, author_id, title: &str, editor_id| {
        Some(Book {
            id,
            author_id,
            title: title.to_string(),
            editor_id,
        })
    };
    assert_eq!(
        got,
        vec![
            (1, "Ann".to_string(), book(10, 1, "First", Some(2))),
            (1, "Ann".to_string(), book(11, 1, "Second", None)),
            (2, "Bob".to_string(), book(12, 2, "Third", None)),
            (3, "Cy".to_string(), None),
        ]
    );
}

/// The errors of generating `sql` as the one query of a file over the
/// fixture's schema, rendered.
async fn errors(sql: &str) -> Vec<String> {
    let schema =
        std::fs::read_to_string(workspace_root().join("tests/tests/sqlc_embed/schema.sql"))
            .unwrap_or_else(|e| panic!("schema: {e}"));
    let text = format!("-- name: Q :many\n{sql};\n");
    let error = match generate_fixture("bad.sql", text.as_bytes(), &schema).await {
        Ok(_) => panic!("expected diagnostics for:\n{sql}"),
        Err(error) => error,
    };
    let codegen::Error::Diagnostics(diagnostics) = error else {
        panic!("expected diagnostics, got {error}");
    };
    diagnostics
        .0
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.render())
        .collect()
}

#[tokio::test]
async fn an_unknown_alias_is_an_error_at_the_macro() {
    let errors = errors("SELECT b.title, sqlc.embed(nope) FROM books b").await;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("nope"), "{}", errors[0]);
    assert!(
        errors[0].contains("--> queries/bad.sql:2:17"),
        "{}",
        errors[0]
    );
}

#[tokio::test]
async fn an_embedded_subquery_is_an_error_at_the_macro() {
    let errors = errors("SELECT sqlc.embed(s) FROM (SELECT 1 AS x) s").await;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("`sqlc.embed(s)` does not name a table"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains("--> queries/bad.sql:2:8"),
        "{}",
        errors[0]
    );
}

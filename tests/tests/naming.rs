//! Names in generated code: the runtime crate's path and the row struct
//! suffix from the configuration; and result columns named as sqlc names
//! them — unnamed ones `column_N`, duplicates `id_2`, sqlc's `rename` — with
//! a warning each. The fixture `naming/` is generated with a rename and its
//! code committed in `naming/db`: this binary compiles it (so the field
//! names compile) and runs its queries.

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[path = "naming/db/mod.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod db;

use codegen::config::TypeConfig;
use quarry_tests::{check_committed_fixture, generate_fixture_with, workspace_root, TestDb};

const SCHEMA: &str = "CREATE TABLE things (id bigint PRIMARY KEY, label text);";
const QUERIES: &str = "-- name: GetThing :one\nSELECT id, label FROM things WHERE id = :id;\n";

#[tokio::test]
async fn runtime_path_and_row_suffix() {
    let types = TypeConfig {
        runtime: Some("crate::db_runtime".to_string()),
        row_suffix: Some("Record".to_string()),
        ..TypeConfig::default()
    };
    let result = generate_fixture_with("things.sql", QUERIES.as_bytes(), SCHEMA, types).await;
    let output = result.unwrap_or_else(|e| panic!("{e}"));
    let module = &output.files[std::path::Path::new("things.rs")];
    assert!(
        module.contains("\nuse crate::db_runtime as quarry;\n"),
        "{module}"
    );
    assert!(module.contains("pub struct GetThingRecord {"), "{module}");
    assert!(
        module.contains("-> Result<GetThingRecord, quarry::Error>"),
        "{module}"
    );

    let default = generate_fixture_with(
        "things.sql",
        QUERIES.as_bytes(),
        SCHEMA,
        TypeConfig::default(),
    )
    .await;
    let default = default.unwrap_or_else(|e| panic!("{e}"));
    let module = &default.files[std::path::Path::new("things.rs")];
    assert!(!module.contains(" as quarry;"), "{module}");
    assert!(module.contains("pub struct GetThingRow {"), "{module}");
    assert_ne!(
        output.input_hash, default.input_hash,
        "options are part of the input hash"
    );
}

/// The fixture's configuration: sqlc's `rename` of `spotify_url`.
fn fixture_types() -> TypeConfig {
    TypeConfig {
        renames: [("spotify_url".to_string(), "SpotifyLink".to_string())].into(),
        ..TypeConfig::default()
    }
}

/// The generated code in `naming/db` is what the generator writes for
/// `naming/queries/naming.sql` today (`QUARRY_BLESS=1` rewrites it).
#[tokio::test]
async fn committed_fixture_code_is_current() {
    check_committed_fixture("naming", fixture_types()).await;
}

fn fixture(path: &str) -> String {
    let path = workspace_root().join("tests/tests/naming").join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Unnamed and duplicate columns generate, each with a warning at the
/// column in the select list suggesting an alias; renamed columns do not warn.
#[tokio::test]
async fn unnamed_and_duplicate_columns_warn_at_the_column() {
    let queries = fixture("queries/naming.sql");
    let schema = fixture("schema.sql");
    let output = generate_fixture_with("naming.sql", queries.as_bytes(), &schema, fixture_types())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let naming: Vec<(String, String)> = output
        .warnings
        .iter()
        .filter(|w| w.message.contains("becomes the field"))
        .map(|w| (w.position().unwrap_or_default(), w.message.clone()))
        .collect();
    let expected = [
        ("2:8", "column 1 of query `Constants` has no name: it becomes the field `column_1`"),
        ("2:11", "column 2 of query `Constants` has no name: it becomes the field `column_2`"),
        ("2:32", "column 4 of query `Constants` has no name: it becomes the field `column_4`"),
        (
            "5:14",
            "query `BooksWithAuthors` returns more than one column named `id`: this one becomes the field `id_2`",
        ),
        ("10:14", "column 2 of query `Mixed` has no name: it becomes the field `column_2`"),
        (
            "10:24",
            "query `Mixed` returns columns `id` and `ID`, which both become `id`: `ID` becomes the field `id_2`",
        ),
        (
            "10:46",
            "query `Mixed` returns more than one column named `name`: this one becomes the field `name_2`",
        ),
        ("15:28", "column 3 of query `AddAuthor` has no name: it becomes the field `column_3`"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(at, message)| (format!("queries/naming.sql:{at}"), message.to_string()))
        .collect();
    assert_eq!(naming, expected);
    assert!(
        output.warnings.iter().all(|w| !w.is_error()),
        "{:#?}",
        output.warnings
    );
    let rendered = output.warnings[0].render();
    assert!(
        rendered.contains("help: name it with an alias"),
        "{rendered}"
    );
}

/// The generated fields hold the right columns.
#[tokio::test]
async fn fields_named_as_sqlc_names_them_hold_their_columns() {
    use db::naming as q;
    let db = TestDb::new("naming").await;
    db.execute_file(&workspace_root().join("tests/tests/naming/schema.sql"))
        .await;
    let pool = db.pool();
    let constants = q::constants(&pool).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            constants.column_1,
            constants.column_2,
            constants.three.as_str(),
            constants.column_4
        ),
        (1, 2, "three", 4)
    );
    let added = q::add_author(&pool, 7, "Ann", "https://x.test/ann")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (added.id, added.spotify_link.as_deref(), added.column_3),
        (7, Some("https://x.test/ann"), 7)
    );
    db.client
        .batch_execute("INSERT INTO books VALUES (70, 7, 'First')")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let books = q::books_with_authors(&pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let book = &books[0];
    assert_eq!(
        (book.id, book.id_2, book.title.as_str(), book.name.as_str()),
        (70, 7, "First", "Ann")
    );
    assert_eq!(book.spotify_link.as_deref(), Some("https://x.test/ann"));
    let mixed = q::mixed(&pool, 7).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            mixed.id,
            mixed.column_2,
            mixed.id_2,
            mixed.name.as_str(),
            mixed.name_2.as_str()
        ),
        (7, 8, 7, "Ann", "ANN")
    );
}

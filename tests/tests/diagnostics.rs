//! Diagnostics that a corpus fixture cannot express. The bad-input cases
//! themselves (syntax errors, unknown names, bad headers and directives,
//! type errors, …) live in `tests/corpus/` and are checked, with their full
//! rendering, by `tests/tests/corpus.rs`.

use quarry_tests::generate_fixture;

const SCHEMA: &str = "
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE authors (id bigserial PRIMARY KEY, name text NOT NULL, mood mood);
CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors (id),
    title text NOT NULL,
    body text,
    views int NOT NULL DEFAULT 0
);
CREATE INDEX ON posts (author_id);
";

/// The warnings are in the corpus (`override-contradicting-proof-warns`);
/// this checks the overrides still decide the final nullability.
#[tokio::test]
async fn override_contradicting_a_proven_fact_is_a_warning() {
    let sql = "-- name: Q :many\nSELECT a.id, p.title AS \"title!\", count(*) AS \"n?\", NULL::text AS \"nothing!\"\nFROM authors a LEFT JOIN posts p ON p.author_id = a.id\nGROUP BY a.id, p.title;\n";
    let result = generate_fixture("ok.sql", sql.as_bytes(), SCHEMA).await;
    let output = result.unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<(String, String)> = output
        .warnings
        .iter()
        .map(|w| {
            (
                w.position()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                w.message.clone(),
            )
        })
        .collect();
    assert_eq!(
        warnings,
        vec![
            (
                "ok.sql:2:25".to_string(),
                "`title` is declared not null, but it can be NULL".to_string()
            ),
            (
                "ok.sql:2:47".to_string(),
                "`n` is declared nullable, but it is proven never NULL".to_string()
            ),
            (
                "ok.sql:2:67".to_string(),
                "`nothing` is declared not null, but it can be NULL".to_string()
            ),
        ]
    );
    // Overrides still win.
    let columns = &output.reports[0].columns;
    let final_nullability: Vec<(&str, bool)> = columns
        .iter()
        .map(|c| (c.name.as_str(), c.nullable))
        .collect();
    assert_eq!(
        final_nullability,
        vec![
            ("id", false),
            ("title", false),
            ("n", true),
            ("nothing", false)
        ]
    );
}

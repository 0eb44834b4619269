//! `codegen explain` (issue 17, must-show 2): on a table of 100,000 analysed
//! rows, the generic plan of a query filtering an unindexed column is a
//! sequential scan and is reported; the query filtering the indexed column
//! is not; hypopg proposes the missing index with a lower cost.

use codegen::explain::{explain, ExplainOptions, Finding};
use codegen::Sources;
use quarry_tests::TestDb;

const QUERIES: &str = "\
-- name: ItemsByIndexed :many
SELECT id, label FROM items WHERE indexed_code = :code;

-- name: ItemsByUnindexed :many
SELECT id, label FROM items WHERE unindexed_code = :code;

-- name: SmallTable :many
SELECT id FROM tiny WHERE code = :code;
";

/// A database with `items` (100,000 rows, one indexed and one unindexed
/// column, every value distinct) and `tiny` (10 rows), analysed.
async fn database() -> TestDb {
    let db = TestDb::new("explain").await;
    db.client
        .batch_execute(
            "CREATE TABLE items (
                 id bigint PRIMARY KEY,
                 indexed_code int NOT NULL,
                 unindexed_code int NOT NULL,
                 label text NOT NULL
             );
             INSERT INTO items
                 SELECT g, g, g, 'item ' || g FROM generate_series(1, 100000) g;
             CREATE INDEX items_indexed_code ON items (indexed_code);
             CREATE TABLE tiny (id int PRIMARY KEY, code int NOT NULL);
             INSERT INTO tiny SELECT g, g FROM generate_series(1, 10) g;
             ANALYZE items;
             ANALYZE tiny;",
        )
        .await
        .unwrap_or_else(|e| panic!("create the tables: {e}"));
    db
}

fn sources() -> Sources {
    let mut sources = Sources::new(codegen::config::TypeConfig::default());
    sources.query_file("queries/items.sql", QUERIES);
    sources
}

/// Fails, naming the package, when the server has no hypopg.
async fn require_hypopg(db: &TestDb) {
    let row = db
        .client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'hypopg')",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("pg_available_extensions: {e}"));
    let available: bool = row.get(0);
    assert!(
        available,
        "the hypopg extension is not installed on the test server: \
         install the Debian package postgresql-15-hypopg (.ci/run does)"
    );
}

#[tokio::test]
async fn reports_the_unindexed_scan_and_proposes_the_index() {
    let db = database().await;
    require_hypopg(&db).await;
    let report = explain(&db.client, &sources(), &ExplainOptions::default())
        .await
        .unwrap_or_else(|e| panic!("explain: {e}"));
    assert!(report.hypopg, "hypopg was not loaded");
    assert!(!report.has_errors(), "problems: {:?}", report.problems);
    let names: Vec<&str> = report.queries.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["ItemsByIndexed", "ItemsByUnindexed", "SmallTable"]);
    // The indexed filter and the 10-row table: nothing to report.
    assert_eq!(report.queries[0].findings, Vec::new());
    assert_eq!(report.queries[2].findings, Vec::new());
    let unindexed = &report.queries[1];
    let [Finding::SeqScan {
        table,
        table_rows,
        filter_columns,
        suggestion: Some(suggestion),
        ..
    }] = unindexed.findings.as_slice()
    else {
        panic!("expected one sequential scan with a suggestion: {unindexed:?}");
    };
    assert_eq!(table, "public.items");
    assert!(*table_rows > 90_000.0, "reltuples {table_rows}");
    assert_eq!(filter_columns, &["unindexed_code".to_string()]);
    assert_eq!(
        suggestion.create_index,
        "CREATE INDEX ON public.items (unindexed_code)"
    );
    assert_eq!(suggestion.cost_before, unindexed.cost);
    assert!(
        suggestion.cost_after * 10.0 < suggestion.cost_before,
        "the index should make it much cheaper: {suggestion:?}"
    );
    // Rendered rustc-style at the query's name (line 4, after `-- name: `).
    let rendered: Vec<String> = report.diagnostics().iter().map(|d| d.render()).collect();
    assert_eq!(rendered.len(), 1, "{rendered:#?}");
    let text = &rendered[0];
    assert!(
        text.starts_with("warning: `ItemsByUnindexed` scans `public.items` sequentially"),
        "{text}"
    );
    assert!(text.contains("--> queries/items.sql:4:10"), "{text}");
    assert!(
        text.contains("help: CREATE INDEX ON public.items (unindexed_code); cost "),
        "{text}"
    );
}

#[tokio::test]
async fn named_queries_only_and_unknown_names_are_errors() {
    let db = database().await;
    let only = ExplainOptions {
        only: vec!["ItemsByIndexed".to_string()],
        ..ExplainOptions::default()
    };
    let report = explain(&db.client, &sources(), &only)
        .await
        .unwrap_or_else(|e| panic!("explain: {e}"));
    assert_eq!(report.queries.len(), 1);
    assert_eq!(report.finding_count(), 0);
    let unknown = ExplainOptions {
        only: vec!["Nope".to_string()],
        ..ExplainOptions::default()
    };
    match explain(&db.client, &sources(), &unknown).await {
        Err(error) => assert_eq!(error.to_string(), "no query named `Nope` in the project"),
        Ok(report) => panic!("expected an error, got {report:?}"),
    }
}

#[tokio::test]
async fn a_query_the_database_cannot_prepare_is_an_error() {
    let db = database().await;
    let mut sources = Sources::new(codegen::config::TypeConfig::default());
    sources.query_file(
        "queries/bad.sql",
        "-- name: Missing :many\nSELECT * FROM no_such_table;\n",
    );
    let report = explain(&db.client, &sources, &ExplainOptions::default())
        .await
        .unwrap_or_else(|e| panic!("explain: {e}"));
    assert!(report.has_errors());
    let rendered = report.problems[report.problems.len() - 1].render();
    assert!(
        rendered.starts_with("error: cannot explain `Missing`:"),
        "{rendered}"
    );
    assert!(rendered.contains("no_such_table"), "{rendered}");
}

#[tokio::test]
async fn reports_spilling_sorts_and_nested_loops_over_many_rows() {
    let db = database().await;
    // Session settings the explaining session reads: a tiny work_mem, and
    // only nested loops for joins.
    db.client
        .batch_execute(
            "SET work_mem = '64kB'; SET enable_hashjoin = off; SET enable_mergejoin = off",
        )
        .await
        .unwrap_or_else(|e| panic!("settings: {e}"));
    let mut sources = Sources::new(codegen::config::TypeConfig::default());
    sources.query_file(
        "queries/plans.sql",
        "-- name: SortedLabels :many\nSELECT label FROM items ORDER BY label;\n\n\
         -- name: SelfJoin :many\nSELECT a.id FROM items a JOIN items b ON b.id = a.unindexed_code;\n",
    );
    let report = explain(&db.client, &sources, &ExplainOptions::default())
        .await
        .unwrap_or_else(|e| panic!("explain: {e}"));
    assert!(!report.has_errors(), "{:?}", report.problems);
    let sorted = &report.queries[0].findings;
    assert!(
        sorted.iter().any(|f| matches!(
            f,
            Finding::SortSpill { bytes, work_mem } if *work_mem == 65_536.0 && bytes > work_mem
        )),
        "{sorted:?}"
    );
    let joined = &report.queries[1].findings;
    assert!(
        joined
            .iter()
            .any(|f| matches!(f, Finding::NestedLoop { outer_rows } if *outer_rows > 90_000.0)),
        "{joined:?}"
    );
    // A full scan without a filter is reported, with no index to propose.
    assert!(
        sorted.iter().any(|f| matches!(
            f,
            Finding::SeqScan {
                filter: None,
                suggestion: None,
                ..
            }
        )),
        "{sorted:?}"
    );
}

//! Nullability soundness (issue 4, item 2): a column the generator inferred
//! non-null never yields NULL.
//!
//! Every query of the example application (`queries/`) and of the nullability
//! corpus (`tests/nullability/`, when present), including the loaders the
//! generator derives, runs against adversarial data built generically from the
//! catalog — empty tables; NULL in every nullable column, parents without
//! children and children whose optional parents are missing; a mix of NULLs
//! and values; values everywhere (texts equal across columns, then distinct
//! per column); plus an "edge" row of zeros, empty strings and empty arrays
//! where the constraints allow — each time with several parameter values
//! (NULL for nullable parameters in one round). Any NULL in a column whose
//! `inferred_nullable` is false fails the test, listing query, column, dataset
//! and parameters. See `quarry_tests::adversarial` for how data and
//! parameters are chosen.
//!
//! The other tests show that the check can fail: lying reports are caught,
//! the data drives the genuinely nullable columns of the example app to NULL,
//! and the generator copes with schemas other than the two known ones.

use codegen::QueryKind;
use codegen::{ColumnReport, ParamReport, QueryReport};
use quarry_tests::adversarial::{self, check_reports, Dataset, QuerySet, Soundness};
use quarry_tests::TestDb;

/// Checks one query set and fails with every violation (and on data that
/// could not be inserted: the generic data generator must cope with the
/// project's own schemas).
async fn assert_sound(set: &QuerySet) {
    let reports = set.reports().await;
    assert!(!reports.is_empty(), "{}: no queries", set.label);
    let soundness = adversarial::check_query_set(set, &reports).await;
    println!("{}", soundness.summary(&set.label));
    assert!(
        soundness.violations.is_empty(),
        "{} column(s) inferred non-null returned NULL:\n{}",
        soundness.violations.len(),
        soundness
            .violations
            .iter()
            .map(|v| format!("  {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        soundness.data_skips.is_empty(),
        "adversarial data could not be inserted:\n{}",
        soundness.data_skips.join("\n")
    );
    assert!(
        soundness.rows > 0 && soundness.non_null_cells > 0,
        "{}: no rows were checked",
        set.label
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_queries_never_return_null_in_non_null_columns() {
    assert_sound(&QuerySet::example_app()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nullability_corpus_never_returns_null_in_non_null_columns() {
    match QuerySet::nullability_corpus() {
        Some(set) => assert_sound(&set).await,
        None => println!("tests/nullability/ does not exist (yet): nothing to check"),
    }
}

// ------------------------------------------------- the checker itself can fail

fn column(name: &str, pg_type: &str, inferred_nullable: bool) -> ColumnReport {
    ColumnReport {
        name: name.to_string(),
        pg_type: pg_type.to_string(),
        inferred_nullable,
        nullable: inferred_nullable,
        computed: true,
    }
}

fn fake_report(
    name: &str,
    sql: &str,
    params: Vec<ParamReport>,
    columns: Vec<ColumnReport>,
) -> QueryReport {
    QueryReport {
        name: name.to_string(),
        module: "fake".to_string(),
        sql: sql.to_string(),
        kind: QueryKind::Many,
        params,
        columns,
    }
}

/// Reports claiming non-null for columns that are NULL are caught — in the
/// data, through a nullable parameter's NULL round, and through an outer
/// join on the adversarial datasets — while truthful reports pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checker_reports_null_in_a_column_inferred_non_null() {
    let lying = vec![
        fake_report(
            "NullLiteral",
            "SELECT NULL::int AS x, 1 AS y",
            vec![],
            vec![column("x", "int4", false), column("y", "int4", false)],
        ),
        fake_report(
            "NullableParam",
            "SELECT $1::int8 AS p",
            vec![ParamReport {
                pg_type: "int8".to_string(),
                nullable: true,
            }],
            vec![column("p", "int8", false)],
        ),
        fake_report(
            "ChildlessParent",
            "SELECT c.id, o.id AS order_id FROM customers c LEFT JOIN orders o ON o.customer_id = c.id",
            vec![],
            vec![column("id", "int8", false), column("order_id", "int8", false)],
        ),
    ];
    let set = QuerySet::example_app();
    let mut soundness = Soundness {
        queries: lying.len(),
        ..Soundness::default()
    };
    for dataset in [Dataset::Nulls, Dataset::Mixed] {
        soundness.datasets += 1;
        let db = set.database("sound_selfcheck").await;
        let data = adversarial::populate(&db.client, dataset)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(data.skips.is_empty(), "{:?}", data.skips);
        check_reports(&db.client, dataset.name(), &lying, &mut soundness)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    println!("{}", soundness.summary("self-check (lying reports)"));
    let caught: Vec<(&str, &str, &str)> = soundness
        .violations
        .iter()
        .map(|v| (v.query.as_str(), v.column.as_str(), v.dataset.as_str()))
        .collect();
    for expected in [
        ("fake::NullLiteral", "x", "nulls"),
        ("fake::NullableParam", "p", "nulls"),
        ("fake::ChildlessParent", "order_id", "nulls"),
        ("fake::ChildlessParent", "order_id", "mixed"),
    ] {
        assert!(
            caught.contains(&expected),
            "{expected:?} not caught: {caught:?}"
        );
    }
    assert!(
        !caught
            .iter()
            .any(|(_, column, _)| *column == "y" || *column == "id"),
        "a non-null column was reported: {caught:?}"
    );
    // The NULL parameter shows up only in the round that binds NULL.
    let param = soundness
        .violations
        .iter()
        .find(|v| v.query == "fake::NullableParam")
        .map(|v| v.params.clone());
    assert_eq!(param, Some(vec![None]));

    // Truthful reports of the same queries pass.
    let truthful: Vec<QueryReport> = lying
        .into_iter()
        .map(|mut report| {
            for column in &mut report.columns {
                column.inferred_nullable = column.name != "y" && column.name != "id";
            }
            report
        })
        .collect();
    let db = TestDb::new("sound_selfcheck").await;
    let mut empty_db = Soundness::default();
    // (`NullLiteral` and `NullableParam` return a row even on an empty database.)
    check_reports(&db.client, "empty", &truthful[..2], &mut empty_db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(empty_db.violations.is_empty(), "{:?}", empty_db.violations);
    assert!(empty_db.non_null_cells > 0);
}

/// Every column claimed non-null: the adversarial datasets must drive the
/// genuinely nullable ones to NULL — a nullable column, a parent without
/// children (an aggregate over none), a child whose optional parent is
/// missing (the outer-joined side), a nullable parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adversarial_data_drives_nullable_columns_to_null() {
    let set = QuerySet::example_app();
    let reports = set.reports().await;
    let nullable: Vec<(String, String)> = reports
        .iter()
        .flat_map(|r| {
            r.columns
                .iter()
                .filter(|c| c.inferred_nullable)
                .map(move |c| (format!("{}::{}", r.module, r.name), c.name.clone()))
        })
        .collect();
    let claimed_non_null: Vec<QueryReport> = reports
        .into_iter()
        .map(|mut report| {
            for column in &mut report.columns {
                column.inferred_nullable = false;
            }
            report
        })
        .collect();
    let soundness = adversarial::check_query_set(&set, &claimed_non_null).await;
    let caught: std::collections::BTreeSet<(String, String)> = soundness
        .violations
        .iter()
        .map(|v| (v.query.clone(), v.column.clone()))
        .collect();
    let missed: Vec<_> = nullable.iter().filter(|c| !caught.contains(c)).collect();
    println!(
        "all columns claimed non-null: {} of the {} columns inferred nullable returned NULL; \
         never NULL: {missed:?}",
        nullable.iter().filter(|c| caught.contains(*c)).count(),
        nullable.len()
    );
    for (query, column, how) in [
        ("shop::GetCustomer", "phone", "a nullable column"),
        (
            "shop::CustomerOrderStats",
            "last_order_at",
            "a parent without children",
        ),
        (
            "blog::CommentsByPost",
            "author_name",
            "a child whose optional parent is missing",
        ),
        (
            "shop::SalesComparison",
            "previous_units",
            "a FULL JOIN side",
        ),
        ("shop::CreateCustomer", "phone", "a NULL nullable parameter"),
    ] {
        assert!(
            caught.contains(&(query.to_string(), column.to_string())),
            "{query}.{column} ({how}) never returned NULL on the adversarial data"
        );
    }
}

/// The data generator works from the catalog alone: composite and
/// self-referencing NOT NULL keys, a foreign-key cycle, domains with checks,
/// short `varchar`/`char`, ranges, intervals, serial keys; a `CHECK` it cannot
/// satisfy is reported (with the constraint), not a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_generator_copes_with_an_exotic_schema() {
    let db = TestDb::new("sound_exotic").await;
    db.client
        .batch_execute(
            "CREATE SCHEMA other;
             CREATE DOMAIN positive AS int NOT NULL CHECK (VALUE > 0);
             CREATE DOMAIN code AS varchar(3) CHECK (VALUE ~ '^[a-z0-9]+$');
             CREATE TYPE color AS ENUM ('red', 'green');
             CREATE TABLE other.regions (
                 country char(2) NOT NULL, code code NOT NULL, size positive,
                 span int4range, during daterange, PRIMARY KEY (country, code));
             CREATE TABLE nodes (
                 id int PRIMARY KEY, parent int NOT NULL REFERENCES nodes (id),
                 label varchar(1) NOT NULL UNIQUE, wait interval, colors color[] NOT NULL,
                 country char(2), code varchar(3),
                 FOREIGN KEY (country, code) REFERENCES other.regions (country, code));
             CREATE TABLE a (id serial PRIMARY KEY, b_id int);
             CREATE TABLE b (id serial PRIMARY KEY, a_id int NOT NULL REFERENCES a (id));
             ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b (id);
             CREATE TABLE picky (id int PRIMARY KEY, big int NOT NULL CHECK (big > 1000));
             CREATE TABLE gen (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 x int NOT NULL, twice int GENERATED ALWAYS AS (x * 2) STORED);",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for dataset in [Dataset::Nulls, Dataset::Mixed, Dataset::Distinct] {
        let data = adversarial::populate(&db.client, dataset)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        println!(
            "{}: {:?}\n  skips: {:?}",
            dataset.name(),
            data.rows,
            data.skips
        );
        assert_eq!(data.rows["public.picky"], 0);
        assert!(
            data.skips.len() == 1 && data.skips[0].contains("picky_big_check"),
            "{:?}",
            data.skips
        );
        for table in [
            "other.regions",
            "public.nodes",
            "public.a",
            "public.b",
            "public.gen",
        ] {
            assert!(data.rows[table] >= 3, "{table}: {:?}", data.rows);
        }
        db.client
            .batch_execute("TRUNCATE other.regions, nodes, a, b, picky, gen CASCADE")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

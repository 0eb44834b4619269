//! Dynamic queries against real PostgreSQL (issue 16): every variant of a
//! query with three `/*? … */` blocks and a three-entry sort returns exactly
//! the rows of the equivalent hand-written static query (8 × 6 variants),
//! and no statement sent holds `IS NULL OR`; the one-filter variant's SQL
//! uses the column's index under a generic plan where the `IS NULL OR` form
//! does not; relations and `_stream` work on a dynamic query. The
//! fixture's generated code is committed in `dynamic/db` and checked to be
//! current here.

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[path = "dynamic/db/mod.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod db;

use std::collections::BTreeSet;
use std::fmt::Display;

use quarry::futures_util::TryStreamExt;
use quarry_tests::{check_committed_fixture, workspace_root, TestDb};

use db::dynamic as q;
use q::{SearchItemsFilter, SearchItemsSort, SearchItemsWithNotesFilter, SearchItemsWithNotesSort};
use q::{SearchItemsWithMatchingNotesFilter, SearchItemsWithMatchingNotesSort};

/// The generated code in `dynamic/db` is what the generator writes for
/// `dynamic/queries/dynamic.sql` today (`QUARRY_BLESS=1` rewrites it).
#[tokio::test]
async fn committed_fixture_code_is_current() {
    check_committed_fixture("dynamic", codegen::config::TypeConfig::default()).await;
}

/// `result`'s value, or a panic naming `what` and the error.
fn must<T, E: Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// A database with the fixture's schema and `items` rows (ids `1..=items`):
/// kinds, name prefixes, prices and ranks with many ties, a fifth inactive.
async fn fresh(prefix: &str, items: i64, kinds: i64) -> TestDb {
    let db = TestDb::new(prefix).await;
    db.execute_file(&workspace_root().join("tests/tests/dynamic/schema.sql"))
        .await;
    let fill = format!(
        "INSERT INTO kinds SELECT k, 'kind ' || k FROM generate_series(1, {kinds}) k;
         INSERT INTO items
         SELECT g, 1 + g % {kinds},
                (ARRAY['apple', 'apricot', 'banana', 'berry', 'cherry'])[1 + g % 5] || ' ' || (g * 7919 % 1000),
                (g * 37) % 50, (g * 13) % 7, g % 5 <> 0
         FROM generate_series(1, {items}) g;
         INSERT INTO item_notes SELECT g, 1 + g % {items}, 'note ' || g FROM generate_series(1, {items} / 2) g;
         ANALYZE;"
    );
    must(db.client.batch_execute(&fill).await, "fill");
    db
}

type Item = (i64, i64, String, i32, i32);

/// The sort choices: the generated variant and its hand-written ORDER BY.
const SORTS: [(SearchItemsSort, &str); 6] = [
    (SearchItemsSort::PriceAsc, "i.price ASC"),
    (SearchItemsSort::PriceDesc, "i.price DESC"),
    (SearchItemsSort::NameAsc, "i.name ASC"),
    (SearchItemsSort::NameDesc, "i.name DESC"),
    (SearchItemsSort::RankDesc, "i.rank DESC"),
    (SearchItemsSort::RankAsc, "i.rank ASC"),
];

/// The filter with the blocks of `mask` given (bit 0: kind, 1: name
/// prefix, 2: price range).
fn filter(mask: u32) -> SearchItemsFilter {
    let on = |bit: u32| mask & (1 << bit) != 0;
    SearchItemsFilter {
        kind_id: on(0).then_some(2),
        name_prefix: on(1).then(|| "ap".to_string()),
        min_price: on(2).then_some(10),
        max_price: on(2).then_some(30),
    }
}

/// The static query equivalent to a variant, written by hand.
async fn reference(db: &TestDb, mask: u32, order: &str) -> Vec<Item> {
    let mut sql =
        "SELECT i.id, i.kind_id, i.name, i.price, i.rank FROM items i WHERE i.active".to_string();
    if mask & 1 != 0 {
        sql.push_str(" AND i.kind_id = 2");
    }
    if mask & 2 != 0 {
        sql.push_str(" AND i.name LIKE 'ap%'");
    }
    if mask & 4 != 0 {
        sql.push_str(" AND i.price BETWEEN 10 AND 30");
    }
    sql.push_str(&format!(" ORDER BY {order}, i.id LIMIT 1000"));
    let rows = must(db.client.query(&sql, &[]).await, &sql);
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}

/// Must-show 1: 8 filter combinations × 6 sorts, each equal to its
/// hand-written reference, on data where every filter and every sort
/// changes the result; 48 distinct statement texts, none with `IS NULL OR`.
#[tokio::test]
async fn every_variant_returns_the_rows_of_its_static_equivalent() {
    let db = fresh("dynamic_variants", 400, 4).await;
    let pool = db.pool();
    let mut references = Vec::new();
    let (results, log) = quarry::record(async {
        let mut results = Vec::new();
        for mask in 0..8u32 {
            for (sort, _) in SORTS {
                let rows = q::search_items(&pool, &filter(mask), sort, 1000).await;
                results.push(must(rows, "search_items"));
            }
        }
        results
    })
    .await;
    for mask in 0..8u32 {
        for (_, order) in SORTS {
            references.push(reference(&db, mask, order).await);
        }
    }
    for (index, (got, expected)) in results.iter().zip(&references).enumerate() {
        let got: Vec<Item> = got
            .iter()
            .map(|r| (r.id, r.kind_id, r.name.clone(), r.price, r.rank))
            .collect();
        assert_eq!(
            &got,
            expected,
            "variant {index} (mask {}, sort {})",
            index / 6,
            index % 6
        );
        assert!(!got.is_empty(), "variant {index} returns rows");
    }
    // Every filter and every sort matters on this data.
    let distinct: BTreeSet<&Vec<Item>> = references.iter().collect();
    assert_eq!(distinct.len(), 48, "the 48 references differ pairwise");
    log.assert_count(48);
    let texts: BTreeSet<&str> = log.records().iter().map(|r| r.sql).collect();
    assert_eq!(texts.len(), 48, "each variant is its own statement text");
    for text in &texts {
        assert!(!text.contains("IS NULL OR"), "{text}");
        assert!(text.starts_with("/* quarry:SearchItems */"), "{text}");
    }
    // The same variant again is the same cached text (and statement).
    let (_, again) = quarry::record(q::search_items(
        &pool,
        &filter(5),
        SearchItemsSort::NameDesc,
        1000,
    ))
    .await;
    assert!(texts.contains(again.records()[0].sql));
    // Kind and price range: `$1`…`$3`, the limit `$4`; the name's absent.
    assert!(again.records()[0].sql.contains("$4"));
    assert!(!again.records()[0].sql.contains("$5"));
}

/// The plan of `sql` (prepared as `name`, generic plan) for `args`.
async fn generic_plan(db: &TestDb, name: &str, sql: &str, args: &str) -> String {
    let prepare = format!("PREPARE {name} AS {sql}");
    must(db.client.batch_execute(&prepare).await, &prepare);
    let explain = format!("EXPLAIN EXECUTE {name}({args})");
    let rows = must(db.client.query(&explain, &[]).await, &explain);
    rows.iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Must-show 2: the one-filter variant's SQL, exactly as the generated
/// function sends it, uses the index on `kind_id` under a generic plan; the
/// `(:x IS NULL OR kind_id = :x)` form of the same filter, on the same
/// data and statistics, does not.
#[tokio::test]
async fn a_one_filter_variant_uses_the_index_where_is_null_or_does_not() {
    let db = fresh("dynamic_explain", 50_000, 500).await;
    let pool = db.pool();
    let one_filter = SearchItemsFilter {
        kind_id: Some(3),
        ..SearchItemsFilter::default()
    };
    let (rows, log) = quarry::record(q::search_items(
        &pool,
        &one_filter,
        SearchItemsSort::PriceAsc,
        20,
    ))
    .await;
    assert_eq!(must(rows, "search_items").len(), 20);
    let sent = log.records()[0].sql;
    assert!(
        sent.contains("i.kind_id = $1") && !sent.contains("$3"),
        "{sent}"
    );
    must(
        db.client
            .batch_execute("SET plan_cache_mode = force_generic_plan")
            .await,
        "plan_cache_mode",
    );
    let variant = generic_plan(&db, "variant", sent, "3, 20").await;
    assert!(
        variant.contains("items_kind_id_idx")
            && (variant.contains("Index Scan") || variant.contains("Bitmap Index Scan")),
        "the variant uses the index:\n{variant}"
    );
    let is_null_or = "SELECT i.id, i.kind_id, i.name, i.price, i.rank FROM items i \
                      WHERE i.active AND ($1::bigint IS NULL OR i.kind_id = $1) \
                      ORDER BY i.price ASC, i.id LIMIT $2";
    let catch_all = generic_plan(&db, "catch_all", is_null_or, "3, 20").await;
    assert!(
        !catch_all.contains("items_kind_id_idx") && catch_all.contains("Seq Scan"),
        "the IS NULL OR form scans the table:\n{catch_all}"
    );
}

/// Relations of a dynamic query load with one statement per relation
/// (1 + 1), per variant, and equal per-row reference queries; its `_stream`
/// yields the rows of the function.
#[tokio::test]
async fn relations_and_streams_work_on_a_dynamic_query() {
    let db = fresh("dynamic_relations", 300, 3).await;
    let pool = db.pool();
    for kind_id in [None, Some(2)] {
        let filter = SearchItemsWithNotesFilter { kind_id };
        let (items, log) = quarry::record(q::search_items_with_notes(
            &pool,
            &filter,
            SearchItemsWithNotesSort::NameDesc,
        ))
        .await;
        let items = must(items, "search_items_with_notes");
        log.assert_count(2);
        assert_eq!(log.count("SearchItemsWithNotes"), 1);
        assert_eq!(log.count("NotesByItems"), 1);
        let kind = kind_id.map_or(String::new(), |k| format!(" AND i.kind_id = {k}"));
        let sql =
            format!("SELECT i.id FROM items i WHERE i.active{kind} ORDER BY i.name DESC, i.id");
        let ids: Vec<i64> = must(db.client.query(&sql, &[]).await, &sql)
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(items.iter().map(|i| i.id).collect::<Vec<_>>(), ids);
        assert!(items.iter().any(|i| !i.notes.is_empty()));
        for item in &items {
            let notes = must(
                db.client
                    .query(
                        "SELECT id FROM item_notes WHERE item_id = $1 ORDER BY id",
                        &[&item.id],
                    )
                    .await,
                "notes",
            );
            let expected: Vec<i64> = notes.iter().map(|r| r.get(0)).collect();
            assert_eq!(
                item.notes.iter().map(|n| n.id).collect::<Vec<_>>(),
                expected
            );
        }
        let streamed: Vec<_> = must(
            q::search_items_with_notes_stream(&pool, &filter, SearchItemsWithNotesSort::NameDesc)
                .try_collect()
                .await,
            "stream with relations",
        );
        assert_eq!(streamed, items);
    }
    let filter = filter(3);
    let all = must(
        q::search_items(&pool, &filter, SearchItemsSort::RankDesc, 1000).await,
        "search_items",
    );
    assert!(!all.is_empty());
    let streamed: Vec<_> = must(
        q::search_items_stream(&pool, &filter, SearchItemsSort::RankDesc, 1000)
            .try_collect()
            .await,
        "stream",
    );
    assert_eq!(streamed, all);
}

/// A dynamic query with a parameterized relation: the loader gets the
/// parent call's `pattern` (a parameter only the relation takes), whatever
/// the variant; still 1 + 1 statements, the same rows streamed.
#[tokio::test]
async fn a_dynamic_query_with_a_parameterized_relation() {
    let db = fresh("dynamic_bound_relation", 300, 3).await;
    let pool = db.pool();
    for (kind_id, pattern) in [(None, "note 1%"), (Some(2), "note 2%"), (Some(1), "none%")] {
        let filter = SearchItemsWithMatchingNotesFilter { kind_id };
        let sort = SearchItemsWithMatchingNotesSort::NameAsc;
        let (items, log) = quarry::record(q::search_items_with_matching_notes(
            &pool, &filter, sort, pattern,
        ))
        .await;
        let items = must(items, "search_items_with_matching_notes");
        log.assert_count(2);
        assert_eq!(log.count("NotesByItemsLike"), 1);
        let kind = kind_id.map_or(String::new(), |k| format!(" AND i.kind_id = {k}"));
        let sql = format!("SELECT i.id FROM items i WHERE i.active{kind} ORDER BY i.name, i.id");
        let ids: Vec<i64> = must(db.client.query(&sql, &[]).await, &sql)
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(items.iter().map(|i| i.id).collect::<Vec<_>>(), ids);
        let mut matched = 0;
        for item in &items {
            let notes = must(
                db.client
                    .query(
                        "SELECT id FROM item_notes WHERE item_id = $1 AND body LIKE $2 ORDER BY id",
                        &[&item.id, &pattern],
                    )
                    .await,
                "notes",
            );
            let expected: Vec<i64> = notes.iter().map(|r| r.get(0)).collect();
            matched += expected.len();
            assert_eq!(
                item.notes.iter().map(|n| n.id).collect::<Vec<_>>(),
                expected
            );
        }
        assert_eq!(matched > 0, pattern != "none%", "{pattern}");
        let streamed: Vec<_> = must(
            q::search_items_with_matching_notes_stream(&pool, &filter, sort, pattern)
                .try_collect()
                .await,
            "stream with bound relations",
        );
        assert_eq!(streamed, items);
    }
}

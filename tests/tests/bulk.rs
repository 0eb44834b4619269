//! Bulk writes against real PostgreSQL: `:copyfrom` (100,000 rows of every
//! mapped type family with NULLs round-trip; a bad row leaves nothing; an
//! empty iterator sends nothing), `:batchexec`/`:batchmany`/`:batchone`
//! (pipelined — every element's statement in flight at once —, atomic on
//! every executor kind and part of the caller's transaction, results per
//! element in order), the `unnest` upsert idiom with typed slices and its
//! generated row-wise form (`<name>_items`), a million-element batch, and
//! a batch or copy dropped part-way, which leaves nothing. The fixture's
//! generated code is committed in `bulk/db` and checked to be current here; the memory probe of a
//! million-row copy is `bulk_memory.rs` (its own binary: it counts every
//! allocation of the process).

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[path = "bulk/db/mod.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod db;

use std::fmt::Display;

use codegen::config::{TypeConfig, TypeOverride};
use quarry::chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use quarry::rust_decimal::Decimal;
use quarry::serde_json::json;
use quarry::tokio_postgres::error::SqlState;
use quarry::{Interval, Multirange, Range, RangeBound};
use quarry_tests::type_support::Meta;
use quarry_tests::{check_committed_fixture, workspace_root, TestDb};

use db::bulk as q;
use db::types::{Address, Mood, Point2};

/// The type options the fixture is generated with: `meta` bound to a serde
/// type (as a column and as a `:copyfrom` parameter), `inet`/`cidr` mapped.
fn fixture_types() -> TypeConfig {
    let meta = TypeOverride {
        rust_type: Some("quarry_tests::type_support::Meta".to_owned()),
        json: true,
        nullable_elements: false,
    };
    let mut types = TypeConfig::default();
    types
        .by_column
        .insert("everything.meta".to_owned(), meta.clone());
    types
        .by_param
        .insert("InsertEverything.meta".to_owned(), meta);
    types.runtime_features.features = vec!["with-cidr".to_owned()];
    types
}

/// The generated code in `bulk/db` is what the generator writes for
/// `bulk/queries/bulk.sql` today (`QUARRY_BLESS=1` rewrites it).
#[tokio::test]
async fn committed_fixture_code_is_current() {
    check_committed_fixture("bulk", fixture_types()).await;
}

/// `result`'s value, or a panic naming `what` and the error.
fn must<T, E: Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// A database with the fixture's schema.
async fn fresh(prefix: &str) -> TestDb {
    let db = TestDb::new(prefix).await;
    db.execute_file(&workspace_root().join("tests/tests/bulk/schema.sql"))
        .await;
    db
}

/// `count(*)` of `table`.
async fn count(db: &TestDb, table: &str) -> i64 {
    let row = must(
        db.client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await,
        table,
    );
    row.get(0)
}

// ---------------------------------------------------------------------------
// :copyfrom
// ---------------------------------------------------------------------------

const COPY_ROWS: i64 = 100_000;

/// `value()` in row `id`'s column number `column` every other row: each
/// nullable column is NULL in half the rows, and which half alternates from
/// column to column, so every row mixes NULLs and values.
fn every_other<T>(id: i64, column: i64, value: impl FnOnce() -> T) -> Option<T> {
    ((id + column) % 2 == 1).then(value)
}

fn timestamp(id: i64) -> DateTime<Utc> {
    must(
        DateTime::from_timestamp_micros(1_600_000_000_000_000 + id * 1_000_003)
            .ok_or("out of range"),
        "timestamp",
    )
}

/// Row `id` of the round trip: distinct values of every type family (ranges
/// in their canonical form, as PostgreSQL returns them).
fn everything(id: i64) -> q::InsertEverythingParams {
    let i32_id = must(i32::try_from(id), "id");
    let day = must(
        NaiveDate::from_ymd_opt(2000, 1, 1)
            .and_then(|d| d.checked_add_days(Days::new(id.unsigned_abs())))
            .ok_or("date"),
        "date",
    );
    let time = must(
        NaiveTime::from_num_seconds_from_midnight_opt(
            (id % 86_400).unsigned_abs() as u32,
            (id % 1000).unsigned_abs() as u32 * 1000,
        )
        .ok_or("time"),
        "time",
    );
    let mood = Mood::ALL[(id % 3).unsigned_abs() as usize];
    let octets = id.to_be_bytes();
    q::InsertEverythingParams {
        id,
        label: format!("row {id}: tab\t newline\n backslash\\ quote\" ü 😀"),
        t_bool: every_other(id, 0, || id % 3 == 0),
        t_int2: every_other(id, 1, || (id % 30_000) as i16 - 15_000),
        t_int4: every_other(id, 2, || i32_id * 7 - 300_000),
        t_int8: every_other(id, 3, || id * 1_000_000_007),
        t_float4: every_other(id, 4, || id as f32 * 0.5),
        t_float8: every_other(id, 5, || id as f64 / 4.0 - 1e9),
        t_numeric: every_other(id, 6, || Decimal::new(id * 12_345 - 7, 3)),
        t_text: every_other(id, 7, || {
            if id % 10 == 0 {
                String::new()
            } else {
                format!("text {id}\r\n\\N")
            }
        }),
        t_varchar: every_other(id, 8, || format!("v{id}")),
        t_bytea: every_other(id, 9, || {
            (0..id % 17).map(|b| ((b * id) % 256) as u8).collect()
        }),
        t_uuid: every_other(id, 10, || {
            quarry::uuid::Uuid::from_u128(
                u128::from(id.unsigned_abs()) * 0x0123_4567_89ab_cdef_0011,
            )
        }),
        t_date: every_other(id, 11, || day),
        t_time: every_other(id, 12, || time),
        t_timestamp: every_other(id, 13, || day.and_time(time)),
        t_timestamptz: every_other(id, 14, || timestamp(id)),
        t_interval: every_other(id, 15, || {
            Interval::new(i32_id % 25 - 12, i32_id % 61 - 30, id * 1_000_007 - 5)
        }),
        t_json: every_other(id, 16, || json!({"id": id, "s": "json", "list": [1, null]})),
        t_jsonb: every_other(id, 17, || json!([id, null, {"k": format!("v{id}")}])),
        meta: every_other(id, 18, || Meta {
            title: format!("meta {id}"),
            tags: (0..id % 3).map(|t| format!("tag{t}")).collect(),
            rating: (id % 2 == 0).then_some(id as f64 / 8.0),
            nested: (id % 5 == 0).then(|| {
                Box::new(Meta {
                    title: "inner".to_owned(),
                    tags: vec![],
                    rating: None,
                    nested: None,
                })
            }),
        }),
        t_mood: every_other(id, 19, || mood),
        t_address: every_other(id, 20, || Address {
            street: Some(format!("{id} Main St")),
            location: Some(Point2 {
                x: Some(id as f64),
                y: (id % 3 == 0).then_some(-0.5),
            }),
            tags: Some(vec![format!("t{id}"), String::new()]),
            mood: (id % 4 != 0).then_some(mood),
        }),
        t_count: every_other(id, 21, || i32_id + 1),
        a_int4: every_other(id, 22, || {
            if id % 5 == 0 {
                vec![]
            } else {
                vec![i32_id, -1, 0, i32::MAX]
            }
        }),
        a_text: every_other(id, 23, || {
            vec![
                format!("a{id}"),
                String::new(),
                "comma, \"quote\" {brace}".to_owned(),
            ]
        }),
        a_mood: every_other(id, 24, || vec![mood, Mood::SoSo, Mood::Happy]),
        t_int8range: every_other(id, 25, || match id % 7 {
            0 => Range::Empty,
            1 => Range::new(RangeBound::Inclusive(id), RangeBound::Unbounded),
            _ => Range::new(RangeBound::Inclusive(id), RangeBound::Exclusive(id + 10)),
        }),
        t_tstzrange: every_other(id, 26, || {
            Range::new(
                RangeBound::Inclusive(timestamp(id)),
                RangeBound::Inclusive(timestamp(id + 1)),
            )
        }),
        t_numrange: every_other(id, 27, || {
            Range::new(
                RangeBound::Exclusive(Decimal::new(id, 2)),
                RangeBound::Inclusive(Decimal::new(id * 3 + 1, 1)),
            )
        }),
        t_int4multirange: every_other(id, 28, || {
            Multirange(vec![
                Range::new(
                    RangeBound::Inclusive(i32_id),
                    RangeBound::Exclusive(i32_id + 2),
                ),
                Range::new(RangeBound::Inclusive(i32_id + 5), RangeBound::Unbounded),
            ])
        }),
        t_inet: every_other(id, 29, || {
            let text = if id % 3 == 0 {
                format!("2001:db8::{:x}:{:x}/64", id >> 16, id & 0xffff)
            } else {
                format!("10.{}.{}.{}/16", octets[5], octets[6], octets[7])
            };
            must(text.parse(), &text)
        }),
        t_cidr: every_other(id, 30, || {
            let text = format!("10.{}.{}.0/24", octets[6], octets[7]);
            must(text.parse(), &text)
        }),
    }
}

/// Asserts that `row` holds what `params` wrote, field by field.
macro_rules! assert_fields {
    ($row:expr, $params:expr, [$($field:ident),* $(,)?]) => {{
        let (row, params) = (&$row, &$params);
        $(
            assert_eq!(
                row.$field, params.$field,
                "row {}: column `{}` differs", params.id, stringify!($field)
            );
        )*
    }};
}

/// 100,000 rows with NULLs in every nullable column (every other row) and
/// one column of every mapped type family go in with one `COPY` and come
/// back equal, field by field; the count returned is the row count.
#[tokio::test(flavor = "multi_thread")]
async fn copy_of_every_type_family_round_trips() {
    let db = fresh("bulk_copy_types").await;
    let pool = db.pool();
    let (written, log) =
        quarry::record(q::insert_everything(&pool, (1..=COPY_ROWS).map(everything))).await;
    assert_eq!(must(written, "copy"), COPY_ROWS.unsigned_abs());
    assert_eq!(log.names(), ["InsertEverything"], "one statement");
    assert_eq!(log.records()[0].rows, Some(COPY_ROWS.unsigned_abs()));

    let rows = must(q::list_everything(&pool).await, "read back");
    assert_eq!(rows.len(), 100_000);
    let mut nulls = 0;
    for (row, id) in rows.iter().zip(1..) {
        let params = everything(id);
        assert_fields!(
            row,
            params,
            [
                id,
                label,
                t_bool,
                t_int2,
                t_int4,
                t_int8,
                t_float4,
                t_float8,
                t_numeric,
                t_text,
                t_varchar,
                t_bytea,
                t_uuid,
                t_date,
                t_time,
                t_timestamp,
                t_timestamptz,
                t_interval,
                t_json,
                t_jsonb,
                meta,
                t_mood,
                t_address,
                t_count,
                a_int4,
                a_text,
                a_mood,
                t_int8range,
                t_tstzrange,
                t_numrange,
                t_int4multirange,
                t_inet,
                t_cidr,
            ]
        );
        nulls += usize::from(row.t_bool.is_none()) + usize::from(row.t_cidr.is_none());
    }
    assert_eq!(
        nulls, 100_000,
        "half the rows are NULL in each of two columns"
    );
}

/// One bad row in the middle of 100,000 (a duplicate key; a value its
/// domain's CHECK rejects) fails the `COPY` with the server's SQLSTATE and
/// leaves no row, on a pool and on a held connection.
#[tokio::test(flavor = "multi_thread")]
async fn copy_with_a_bad_row_leaves_nothing() {
    let db = fresh("bulk_copy_bad").await;
    let pool = db.pool();
    let duplicate = |id: i64| everything(if id == 50_000 { 1 } else { id });
    let result = q::insert_everything(&pool, (1..=COPY_ROWS).map(duplicate)).await;
    let error = match result {
        Ok(n) => panic!("a duplicate key was copied ({n} rows)"),
        Err(error) => error,
    };
    assert_eq!(error.code(), Some(&SqlState::UNIQUE_VIOLATION), "{error}");
    assert_eq!(error.query(), "InsertEverything");
    assert_eq!(count(&db, "everything").await, 0);

    let conn = must(pool.get().await, "checkout");
    let not_positive = |id: i64| {
        let mut row = everything(id);
        if id == 50_001 {
            row.t_count = Some(0);
        }
        row
    };
    let result = q::insert_everything(&conn, (1..=COPY_ROWS).map(not_positive)).await;
    let error = match result {
        Ok(n) => panic!("a value outside the domain was copied ({n} rows)"),
        Err(error) => error,
    };
    assert_eq!(error.code(), Some(&SqlState::CHECK_VIOLATION), "{error}");
    assert_eq!(count(&db, "everything").await, 0);
    // The connection serves the next statement.
    assert_eq!(must(q::list_everything(&conn).await, "after").len(), 0);
}

/// An empty iterator (or an empty batch) sends nothing: no statement is
/// recorded and the result is 0 (no element).
#[tokio::test]
async fn empty_input_sends_nothing() {
    let db = fresh("bulk_empty").await;
    let pool = db.pool();
    let (written, log) = quarry::record(async {
        let on_pool = q::insert_everything(&pool, Vec::new()).await;
        let on_client = q::insert_events(&db.client, std::iter::empty()).await;
        (on_pool, on_client)
    })
    .await;
    assert_eq!(must(written.0, "pool"), 0);
    assert_eq!(must(written.1, "client"), 0);
    assert_eq!(log.len(), 0, "{:?}", log.names());

    let (results, log) = quarry::record(async {
        let exec = q::set_group_price(&pool, &[]).await;
        let many = q::items_in_group(&pool, &[]).await;
        let one = q::item_by_id(&db.client, &[]).await;
        (exec, many, one)
    })
    .await;
    assert_eq!(must(results.0, "batchexec"), Vec::<u64>::new());
    assert!(must(results.1, "batchmany").is_empty());
    assert!(must(results.2, "batchone").is_empty());
    assert_eq!(log.len(), 0, "{:?}", log.names());
}

// ---------------------------------------------------------------------------
// :batchexec, :batchmany, :batchone
// ---------------------------------------------------------------------------

const GROUPS: i32 = 1000;

/// A database whose `items` hold, for each group g in 0..1000, g % 3 items
/// (ids from 1, price 0, named `item <id>`).
async fn with_items(prefix: &str) -> TestDb {
    let db = fresh(prefix).await;
    must(
        db.client
            .execute(
                "INSERT INTO items (id, grp, price, name)
                 SELECT row_number() OVER (ORDER BY g, n), g, 0, ''
                 FROM generate_series(0, $1 - 1) g, generate_series(1, 2) n
                 WHERE n <= g % 3",
                &[&GROUPS],
            )
            .await,
        "seed",
    );
    must(
        db.client
            .execute("UPDATE items SET name = 'item ' || id", &[])
            .await,
        "names",
    );
    db
}

/// One element per group: group g gets price `g`, or `-1` (which the CHECK
/// rejects) at `failing`.
fn group_prices(failing: Option<i32>) -> Vec<q::SetGroupPriceParams> {
    (0..GROUPS)
        .map(|grp| q::SetGroupPriceParams {
            price: if Some(grp) == failing { -1 } else { grp },
            grp,
        })
        .collect()
}

/// The rows each element of [`group_prices`] updates: g % 3.
fn expected_counts() -> Vec<u64> {
    (0..GROUPS)
        .map(|grp| u64::from((grp % 3).unsigned_abs()))
        .collect()
}

/// Asserts that every item's price is its group's (`true`) or 0 (`false`).
async fn assert_prices(db: &TestDb, applied: bool) {
    let items = must(q::list_items(&db.client).await, "items");
    assert_eq!(items.len(), 999, "1000 groups of 0, 1 or 2 items");
    for item in items {
        let expected = if applied { item.grp } else { 0 };
        assert_eq!(item.price, expected, "{item:?}");
    }
}

/// A `:batchexec` of 1,000 updates is one round trip: each element is a
/// recorded statement, and (nearly) all 1,000 were in flight at one moment —
/// elements run one after another have one in flight at a time. The counts
/// per element are the rows each updated.
#[tokio::test(flavor = "multi_thread")]
async fn batchexec_is_pipelined() {
    let db = with_items("bulk_pipelined").await;
    let pool = db.pool();
    let items = group_prices(None);
    let (counts, log) = quarry::record(q::set_group_price(&pool, &items)).await;
    assert_eq!(must(counts, "batch"), expected_counts());

    assert_eq!(log.len(), 1000, "one statement per element");
    assert_eq!(log.count("SetGroupPrice"), 1000);
    let records = log.records();
    assert!(records.iter().all(|r| r.ok));
    let rows: Vec<Option<u64>> = records.iter().map(|r| r.rows).collect();
    let expected: Vec<Option<u64>> = expected_counts().into_iter().map(Some).collect();
    assert_eq!(rows, expected, "records in element order");
    let most = max_in_flight(records);
    assert!(
        most > 500,
        "not pipelined: at most {most} of 1000 elements were in flight at once"
    );
    assert_prices(&db, true).await;

    // The check sees statements that run one after another: three batches
    // of one element each, awaited in turn.
    let (_, log) = quarry::record(async {
        for (grp, rows) in [(1, 1), (2, 2), (4, 1)] {
            let element = [q::SetGroupPriceParams { price: 7, grp }];
            assert_eq!(
                must(q::set_group_price(&pool, &element).await, "one"),
                [rows]
            );
        }
    })
    .await;
    assert_eq!(log.len(), 3);
    assert_eq!(max_in_flight(log.records()), 1);
}

/// The most statements of `records` in flight at one moment.
///
/// Not "all of them": an element whose response arrives while the thread
/// that sent it is preempted completes within its first poll, before the
/// next element is sent — rare, and each such preemption takes one element
/// out of the count, whereas elements run one after another give 1.
fn max_in_flight(records: &[quarry::QueryRecord]) -> usize {
    // Ends sort before starts at the same instant: touching is not overlapping.
    let mut events: Vec<(std::time::Instant, bool)> = records
        .iter()
        .flat_map(|r| [(r.started, true), (r.finished, false)])
        .collect();
    events.sort();
    let mut in_flight = 0usize;
    let mut most = 0;
    for (_, start) in events {
        if start {
            in_flight += 1;
            most = most.max(in_flight);
        } else {
            in_flight = in_flight.saturating_sub(1);
        }
    }
    most
}

/// Runs the failing batch on `db` and checks the error: element 500's
/// CHECK violation.
async fn failing_batch<E: quarry::Executor + ?Sized>(db: &E, what: &str) {
    let items = group_prices(Some(500));
    let error = match q::set_group_price(db, &items).await {
        Ok(counts) => panic!("{what}: the batch succeeded ({} elements)", counts.len()),
        Err(error) => error,
    };
    assert_eq!(
        error.code(),
        Some(&SqlState::CHECK_VIOLATION),
        "{what}: {error}"
    );
    assert!(
        matches!(
            error,
            quarry::Error::Batch {
                index: 500,
                query: "SetGroupPrice",
                ..
            }
        ),
        "{what}: {error:?}"
    );
}

/// One failing element (of 1,000) fails the whole batch — none of the
/// other 999 updates remains — on a pool, a pooled connection and a
/// client; the connection is usable afterwards (its transaction ended).
#[tokio::test]
async fn batchexec_is_atomic_on_every_executor() {
    let db = with_items("bulk_atomic").await;
    let pool = db.pool();
    failing_batch(&pool, "pool").await;
    assert_prices(&db, false).await;

    let conn = must(pool.get().await, "checkout");
    failing_batch(&conn, "pooled connection").await;
    assert_prices(&db, false).await;
    assert_eq!(must(q::list_items(&conn).await, "after").len(), 999);
    drop(conn);

    failing_batch(&db.client, "client").await;
    assert_prices(&db, false).await;

    let client = quarry::Client::new(must(
        quarry_tests::server().connect(Some(&db.name)).await,
        "connect",
    ));
    failing_batch(&client, "quarry client").await;
    assert_prices(&db, false).await;
    assert_eq!(must(q::list_items(&client).await, "after").len(), 999);

    // The same batch without the bad element applies every element.
    let counts = must(q::set_group_price(&pool, &group_prices(None)).await, "ok");
    assert_eq!(counts, expected_counts());
    assert_prices(&db, true).await;
}

/// Runs, in the caller's transaction `tx`, a batch of 1,000 updates and a
/// copy of 100 events, both successful.
async fn batch_and_copy<E: quarry::Executor + ?Sized>(tx: &E) {
    let counts = must(q::set_group_price(tx, &group_prices(None)).await, "batch");
    assert_eq!(counts, expected_counts());
    let events = (0..100).map(|id| q::InsertEventsParams {
        id,
        kind: "tx".to_owned(),
        body: None,
    });
    assert_eq!(must(q::insert_events(tx, events).await, "copy"), 100);
}

/// Asserts that [`batch_and_copy`]'s writes are all there, or none.
async fn assert_applied(db: &TestDb, applied: bool) {
    assert_prices(db, applied).await;
    assert_eq!(count(db, "events").await, if applied { 100 } else { 0 });
}

/// The caller's transaction `$tx` (begun on `$client`) contains the batch
/// and the copy: a rollback by the caller undoes them (the batch did not
/// commit by itself); a failing batch aborts the caller's transaction (the
/// batch did not roll it back and go on outside it); a commit keeps them.
macro_rules! joins_callers_transaction {
    ($db:expr, $client:expr) => {{
        let db: &TestDb = $db;
        let tx = must($client.transaction().await, "begin");
        batch_and_copy(&tx).await;
        must(tx.rollback().await, "rollback");
        assert_applied(db, false).await;

        let tx = must($client.transaction().await, "begin");
        failing_batch(&tx, "transaction").await;
        match q::list_items(&tx).await {
            Ok(_) => panic!("the failing batch did not leave the caller's transaction aborted"),
            Err(error) => assert_eq!(
                error.code(),
                Some(&SqlState::IN_FAILED_SQL_TRANSACTION),
                "{error}"
            ),
        }
        drop(tx);
        assert_applied(db, false).await;

        let tx = must($client.transaction().await, "begin");
        batch_and_copy(&tx).await;
        assert_applied(db, false).await;
        must(tx.commit().await, "commit");
        assert_applied(db, true).await;
    }};
}

/// In a tokio-postgres transaction the batch is part of it.
#[tokio::test]
async fn batch_joins_a_tokio_postgres_transaction() {
    let db = with_items("bulk_tokio_postgres_tx").await;
    let mut client = must(
        quarry_tests::server().connect(Some(&db.name)).await,
        "connect",
    );
    joins_callers_transaction!(&db, client);
}

/// In a `quarry::Client`'s transaction the batch is part of it.
#[tokio::test]
async fn batch_joins_a_quarry_client_transaction() {
    let db = with_items("bulk_quarry_client_tx").await;
    let mut client = quarry::Client::new(must(
        quarry_tests::server().connect(Some(&db.name)).await,
        "connect",
    ));
    joins_callers_transaction!(&db, client);
}

/// In `quarry::transaction` the batch is part of it: an error after it
/// rolls it back, a failing batch fails the transaction, a commit keeps it.
#[tokio::test]
async fn batch_joins_quarry_transaction() {
    let db = with_items("bulk_quarry_tx").await;
    let pool = db.pool();

    let result: Result<(), quarry::Error> = quarry::transaction(&pool, |tx| {
        Box::pin(async move {
            batch_and_copy(&*tx).await;
            Err(quarry::Error::NotFound { query: "caller" })
        })
    })
    .await;
    assert!(
        matches!(result, Err(quarry::Error::NotFound { query: "caller" })),
        "{result:?}"
    );
    assert_applied(&db, false).await;

    let result: Result<Vec<u64>, quarry::Error> = quarry::transaction(&pool, |tx| {
        Box::pin(async move {
            batch_and_copy(&*tx).await;
            q::set_group_price(&*tx, &group_prices(Some(500))).await
        })
    })
    .await;
    match result {
        Ok(_) => panic!("the failing batch succeeded"),
        Err(error) => assert_eq!(error.code(), Some(&SqlState::CHECK_VIOLATION), "{error}"),
    }
    assert_applied(&db, false).await;

    must(
        quarry::transaction(&pool, |tx| {
            Box::pin(async move {
                batch_and_copy(&*tx).await;
                Ok::<_, quarry::Error>(())
            })
        })
        .await,
        "quarry::transaction",
    );
    assert_applied(&db, true).await;
}

/// `:batchmany` returns each element's rows and `:batchone` each element's
/// row, in element order (not sorted, not merged); a `:batchone` element
/// matching no row is an error naming it.
#[tokio::test]
async fn batch_results_are_per_element_in_order() {
    let db = with_items("bulk_results").await;
    let pool = db.pool();
    let all = must(q::list_items(&pool).await, "items");
    let group = |grp: i32| -> Vec<(i64, String)> {
        all.iter()
            .filter(|item| item.grp == grp)
            .map(|item| (item.id, item.name.clone()))
            .collect()
    };

    let groups = [5, 0, 2, 1, 5, 999, 3];
    let params: Vec<_> = groups
        .iter()
        .map(|&grp| q::ItemsInGroupParams { grp })
        .collect();
    let (many, log) = quarry::record(q::items_in_group(&pool, &params)).await;
    let many = must(many, "batchmany");
    assert_eq!(log.count("ItemsInGroup"), groups.len());
    let got: Vec<Vec<(i64, String)>> = many
        .iter()
        .map(|rows| rows.iter().map(|r| (r.id, r.name.clone())).collect())
        .collect();
    let expected: Vec<Vec<(i64, String)>> = groups.iter().map(|&g| group(g)).collect();
    assert_eq!(got, expected);
    let lengths: Vec<usize> = many.iter().map(Vec::len).collect();
    assert_eq!(lengths, [2, 0, 2, 1, 2, 0, 0]);

    let ids = [7_i64, 1, 999, 2, 7];
    let params: Vec<_> = ids.iter().map(|&id| q::ItemByIdParams { id }).collect();
    let one = must(q::item_by_id(&pool, &params).await, "batchone");
    let got: Vec<(i64, String, i32)> = one
        .iter()
        .map(|r| (r.id, r.name.clone(), r.price))
        .collect();
    let expected: Vec<(i64, String, i32)> = ids
        .iter()
        .map(|&id| (id, format!("item {id}"), 0))
        .collect();
    assert_eq!(got, expected);

    let missing: Vec<_> = [1_i64, 2, 1_000_000, 3]
        .iter()
        .map(|&id| q::ItemByIdParams { id })
        .collect();
    match q::item_by_id(&pool, &missing).await {
        Ok(rows) => panic!("an element without a row returned {rows:?}"),
        Err(error) => assert!(
            matches!(
                error,
                quarry::Error::BatchRowCount {
                    query: "ItemById",
                    index: 2,
                    rows: 0
                }
            ),
            "{error:?}"
        ),
    }
}

/// A `:batchone` that writes is atomic too: an element that matches no row
/// fails the batch, and the other elements' writes do not remain.
#[tokio::test]
async fn a_batchone_element_without_a_row_leaves_nothing() {
    let db = with_items("bulk_batchone_atomic").await;
    let pool = db.pool();
    let renames = |ids: &[i64]| -> Vec<q::RenameItemParams> {
        ids.iter()
            .map(|&id| q::RenameItemParams {
                name: format!("renamed {id}"),
                id,
            })
            .collect()
    };
    let renamed = must(q::rename_item(&pool, &renames(&[3, 1])).await, "renames");
    let got: Vec<(i64, &str)> = renamed.iter().map(|r| (r.id, r.name.as_str())).collect();
    assert_eq!(got, [(3, "renamed 3"), (1, "renamed 1")]);

    match q::rename_item(&pool, &renames(&[4, 5, 1_000_000, 6])).await {
        Ok(rows) => panic!("an element without a row returned {rows:?}"),
        Err(error) => assert!(
            matches!(
                error,
                quarry::Error::BatchRowCount {
                    query: "RenameItem",
                    index: 2,
                    rows: 0
                }
            ),
            "{error:?}"
        ),
    }
    let names: Vec<(i64, String)> = must(q::list_items(&pool).await, "items")
        .into_iter()
        .filter(|item| item.name.starts_with("renamed"))
        .map(|item| (item.id, item.name))
        .collect();
    assert_eq!(
        names,
        [(1, "renamed 1".to_owned()), (3, "renamed 3".to_owned())],
        "the failed batch's renames remain"
    );
}

// ---------------------------------------------------------------------------
// unnest
// ---------------------------------------------------------------------------

/// The `unnest` idiom: one statement with one typed slice per column
/// inserts, then upserts (`ON CONFLICT … DO UPDATE`) and returns the rows.
#[tokio::test]
async fn unnest_upsert_with_typed_slices() {
    let db = fresh("bulk_unnest").await;
    let pool = db.pool();
    let ids: &[i64] = &[1, 2, 3];
    let names: &[&str] = &["one", "two", "three"];
    let (inserted, log) = quarry::record(q::upsert_tags(&pool, ids, names)).await;
    let inserted = must(inserted, "insert");
    assert_eq!(log.len(), 1);
    let got: Vec<(i64, &str)> = inserted.iter().map(|r| (r.id, r.name.as_str())).collect();
    assert_eq!(got, [(1, "one"), (2, "two"), (3, "three")]);

    let ids: Vec<i64> = vec![2, 3, 4];
    let names: Vec<String> = vec!["TWO".into(), "THREE".into(), "four".into()];
    let params = q::UpsertTagsParams { ids, names };
    let mut upserted = must(q::upsert_tags_with(&pool, &params).await, "upsert");
    upserted.sort_by_key(|r| r.id);
    let got: Vec<(i64, &str)> = upserted.iter().map(|r| (r.id, r.name.as_str())).collect();
    assert_eq!(got, [(2, "TWO"), (3, "THREE"), (4, "four")]);

    let rows = must(
        db.client
            .query("SELECT id, name FROM tags ORDER BY id", &[])
            .await,
        "tags",
    );
    let table: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let expected: Vec<(i64, String)> = [(1, "one"), (2, "TWO"), (3, "THREE"), (4, "four")]
        .iter()
        .map(|&(id, name)| (id, name.to_owned()))
        .collect();
    assert_eq!(table, expected);

    // Ten thousand rows are still two parameters.
    let ids: Vec<i64> = (1..=10_000).collect();
    let names: Vec<String> = ids.iter().map(|id| format!("tag {id}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let rows = must(q::upsert_tags(&pool, &ids, &names).await, "10,000");
    assert_eq!(rows.len(), 10_000);
    assert_eq!(count(&db, "tags").await, 10_000);

    let module = must(
        std::fs::read_to_string(workspace_root().join("tests/tests/bulk/db/bulk.rs")),
        "generated code",
    );
    assert!(
        module.contains("    ids: &[i64],\n    names: &[&str],\n"),
        "upsert_tags takes typed slices"
    );
}

/// `upsert_tags_items`, the generated row-wise form of the same query: one
/// `UpsertTagsItem` per row inserts, then upserts, and returns the rows;
/// ten thousand items (and none) are still exactly one statement.
#[tokio::test]
async fn unnest_upsert_with_items() {
    let db = fresh("bulk_unnest_items").await;
    let pool = db.pool();
    let item = |id: i64, name: &str| q::UpsertTagsItem {
        id,
        name: name.to_owned(),
    };
    let pairs = |rows: &[q::UpsertTagsRow]| -> Vec<(i64, String)> {
        let mut pairs: Vec<(i64, String)> = rows.iter().map(|r| (r.id, r.name.clone())).collect();
        pairs.sort();
        pairs
    };
    let owned = |list: &[(i64, &str)]| -> Vec<(i64, String)> {
        list.iter()
            .map(|&(id, name)| (id, name.to_owned()))
            .collect()
    };

    let first = [item(1, "one"), item(2, "two"), item(3, "three")];
    let (inserted, log) = quarry::record(q::upsert_tags_items(&pool, &first)).await;
    assert_eq!(log.names(), ["UpsertTags"]);
    let inserted = must(inserted, "insert");
    assert_eq!(
        pairs(&inserted),
        owned(&[(1, "one"), (2, "two"), (3, "three")])
    );

    let second = [item(2, "TWO"), item(3, "THREE"), item(4, "four")];
    let (upserted, log) = quarry::record(q::upsert_tags_items(&pool, &second)).await;
    assert_eq!(log.len(), 1);
    let upserted = must(upserted, "upsert");
    assert_eq!(
        pairs(&upserted),
        owned(&[(2, "TWO"), (3, "THREE"), (4, "four")])
    );
    let rows = must(
        db.client
            .query("SELECT id, name FROM tags ORDER BY id", &[])
            .await,
        "tags",
    );
    let table: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        table,
        owned(&[(1, "one"), (2, "TWO"), (3, "THREE"), (4, "four")])
    );

    // Ten thousand items: one statement (two parameters), every row back.
    let many: Vec<q::UpsertTagsItem> = (1..=10_000)
        .map(|id| item(id, &format!("tag {id}")))
        .collect();
    let (rows, log) = quarry::record(q::upsert_tags_items(&pool, &many)).await;
    log.assert_count(1);
    let rows = must(rows, "10,000");
    let expected: Vec<(i64, String)> = many.iter().map(|i| (i.id, i.name.clone())).collect();
    assert_eq!(pairs(&rows), expected);
    assert_eq!(count(&db, "tags").await, 10_000);

    // No items: the statement runs with empty arrays and changes nothing.
    let (rows, log) = quarry::record(q::upsert_tags_items(&pool, &[])).await;
    assert_eq!(log.len(), 1);
    assert!(must(rows, "empty").is_empty());
    assert_eq!(count(&db, "tags").await, 10_000);
}

// ---------------------------------------------------------------------------
// A million elements
// ---------------------------------------------------------------------------

const BATCH_ELEMENTS: i64 = 1_000_000;

/// A `:batchexec` of a million elements succeeds with one count per
/// element: each element is its own statement (no bind-parameter limit,
/// which a multi-row statement of three parameters per row would hit 15
/// times over), pipelined (a round trip per element would take far longer).
#[tokio::test(flavor = "multi_thread")]
async fn batchexec_of_a_million_elements() {
    let db = fresh("bulk_million_batch").await;
    let pool = db.pool();
    let items: Vec<q::InsertEventParams> = (0..BATCH_ELEMENTS)
        .map(|id| q::InsertEventParams {
            id,
            kind: if id % 2 == 0 { "even" } else { "odd" }.to_owned(),
            body: (id % 3 == 0).then(|| format!("body {id}")),
        })
        .collect();
    let started = std::time::Instant::now();
    let counts = must(q::insert_event(&pool, &items).await, "batch");
    println!(
        "batchexec of {BATCH_ELEMENTS} elements: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(counts.len(), 1_000_000);
    assert!(counts.iter().all(|&n| n == 1));
    let row = must(
        db.client
            .query_one(
                "SELECT count(*), sum(id)::int8, count(body) FROM events",
                &[],
            )
            .await,
        "totals",
    );
    let (rows, sum, bodies): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(rows, BATCH_ELEMENTS);
    assert_eq!(sum, (0..BATCH_ELEMENTS).sum::<i64>());
    assert_eq!(bodies, 333_334);
}

// ---------------------------------------------------------------------------
// Dropped futures
// ---------------------------------------------------------------------------

/// Whether `client`'s connection is outside any transaction that wrote: in
/// the batch's transaction, an update would have assigned it an id.
async fn outside_a_writing_transaction(client: &quarry::Client) -> bool {
    let row = must(
        client
            .query_one("SELECT pg_current_xact_id_if_assigned() IS NULL", &[])
            .await,
        "transaction id",
    );
    row.get(0)
}

/// A batch whose future is dropped part-way (a client-side deadline) leaves
/// nothing: its transaction is rolled back, and the connection it ran on —
/// one the caller holds, so it stays in use — is outside any transaction
/// afterwards.
#[tokio::test]
async fn a_dropped_batch_leaves_nothing() {
    let db = with_items("bulk_dropped_batch").await;
    let client = must(quarry::Client::connect(&db.url).await, "connect");
    // 200,000 elements: far more than the deadline lets through.
    let items: Vec<_> = (0..200).flat_map(|_| group_prices(None)).collect();
    let deadline = std::time::Duration::from_millis(200);
    let outcome = tokio::time::timeout(deadline, q::set_group_price(&client, &items)).await;
    assert!(
        outcome.is_err(),
        "the batch finished within the deadline: it must be dropped part-way"
    );
    assert!(outside_a_writing_transaction(&client).await);
    assert_prices(&db, false).await;
    // The connection still runs batches.
    let counts = must(
        q::set_group_price(&client, &group_prices(None)).await,
        "batch after the dropped one",
    );
    assert_eq!(counts, expected_counts());
    assert_prices(&db, true).await;
}

/// A copy whose future is dropped part-way inserts nothing (the `COPY` is
/// ended by `CopyFail` and its transaction rolled back), and the pooled
/// connection it ran on stays usable: its next statement runs after that,
/// and no cancel request is left to land on it.
#[tokio::test]
async fn a_dropped_copy_leaves_nothing() {
    let db = fresh("bulk_dropped_copy").await;
    let pool = db.pool();
    let conn = must(pool.get().await, "checkout");
    let rows = (0..10_000_000).map(|id| q::InsertEventsParams {
        id,
        kind: "dropped".to_owned(),
        body: None,
    });
    let deadline = std::time::Duration::from_millis(200);
    let outcome = tokio::time::timeout(deadline, q::insert_events(&conn, rows)).await;
    assert!(
        outcome.is_err(),
        "the copy finished within the deadline: it must be dropped part-way"
    );
    assert_eq!(count(&db, "events").await, 0);
    let one = q::InsertEventsParams {
        id: 1,
        kind: "kept".to_owned(),
        body: None,
    };
    assert_eq!(must(q::insert_events(&conn, [one]).await, "copy"), 1);
    assert_eq!(count(&db, "events").await, 1);
}

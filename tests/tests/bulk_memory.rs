//! The memory probe of `:copyfrom` (a test binary of its own: its global
//! allocator counts every allocation of the process, so no other test may
//! run beside it). One million rows, generated on the fly by a lazy
//! iterator, go through the generated `insert_events` while the live heap
//! and the resident set grow by a small fraction of what holding the rows
//! would take; collecting the same rows into a `Vec`, measured the same
//! way in the same test, grows both by at least that much — which shows
//! the probes see the rows they are meant to see.

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[path = "bulk/db/mod.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod db;

use db::bulk::{insert_events, InsertEventsParams};
use quarry_tests::memory::{peak_growth, peak_rss, reset_peak, Counting};
use quarry_tests::{workspace_root, TestDb};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ROWS: i64 = 1_000_000;
const BODY: usize = 100;
const MIB: usize = 1024 * 1024;
/// The bound on the copy's heap growth: the writer's buffer and the
/// connection's, not the rows.
const COPY_BOUND: usize = 8 * MIB;

/// Row `id`: its id, a kind and a body of [`BODY`] bytes.
fn event(id: i64) -> InsertEventsParams {
    InsertEventsParams {
        id,
        kind: if id % 2 == 0 { "even" } else { "odd" }.to_owned(),
        body: Some(format!("{id:0>width$}", width = BODY)),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_million_copied_rows_keep_memory_flat() {
    let db = TestDb::new("bulk_memory").await;
    db.execute_file(&workspace_root().join("tests/tests/bulk/schema.sql"))
        .await;
    // What holding the rows would take, at least: each row's struct and
    // its body (the kind's few bytes not counted).
    let buffered =
        ROWS.unsigned_abs() as usize * (std::mem::size_of::<InsertEventsParams>() + BODY);

    let rss_before = peak_rss();
    let base = reset_peak();
    let written = insert_events(&db.client, (0..ROWS).map(event))
        .await
        .unwrap_or_else(|e| panic!("copy: {e}"));
    let copied = peak_growth(base);
    let copied_rss = peak_rss().saturating_sub(rss_before);
    assert_eq!(written, 1_000_000);
    let row = db
        .client
        .query_one(
            "SELECT count(*), sum(id)::int8, sum(length(body))::int8, count(*) FILTER (WHERE kind = 'even') FROM events",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (count, sum, bytes, even): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(count, ROWS);
    assert_eq!(sum, (0..ROWS).sum::<i64>());
    assert_eq!(bytes, ROWS * 100);
    assert_eq!(even, ROWS / 2);

    // The probes see rows held in memory.
    let rss_before = peak_rss();
    let base = reset_peak();
    let rows: Vec<InsertEventsParams> = (0..ROWS).map(event).collect();
    let collected = peak_growth(base);
    let collected_rss = peak_rss().saturating_sub(rss_before);
    assert_eq!(rows.len(), 1_000_000);
    drop(rows);

    println!(
        "peak growth over {ROWS} rows (holding them: at least {:.1} MiB): copy heap {:.2} MiB, rss {:.2} MiB; Vec heap {:.1} MiB, rss {:.1} MiB",
        buffered as f64 / MIB as f64,
        copied as f64 / MIB as f64,
        copied_rss as f64 / MIB as f64,
        collected as f64 / MIB as f64,
        collected_rss as f64 / MIB as f64,
    );
    assert!(
        copied < COPY_BOUND,
        "the copy grew the heap by {copied} bytes (bound {COPY_BOUND})"
    );
    assert!(
        copied_rss < buffered / 4,
        "the copy grew the peak resident set by {copied_rss} bytes (bound {})",
        buffered / 4
    );
    assert!(
        collected >= buffered,
        "collecting the rows grew the heap by only {collected} bytes: the probe does not see them"
    );
    assert!(
        collected_rss >= buffered / 2,
        "collecting the rows grew the peak resident set by only {collected_rss} bytes: the probe does not see them"
    );
}

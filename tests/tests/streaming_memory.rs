//! The memory probe of streaming (a test binary of its own: its global
//! allocator counts every allocation of the process, so no other test may
//! run beside it). One million rows of about 100 bytes each go through the
//! generated `payloads_stream` while the live heap grows by less than
//! 8 MiB; the `Vec` version of the same query, measured the same way in the
//! same test, grows it by more than 100 MB — which shows the probe sees the
//! rows it is meant to see.

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[path = "streaming/db/mod.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod db;

use db::streaming::{payloads, payloads_stream};
use quarry::futures_util::TryStreamExt as _;
use quarry_tests::memory::{peak_growth, reset_peak, Counting};
use quarry_tests::TestDb;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ROWS: i64 = 1_000_000;
const MIB: usize = 1024 * 1024;
/// The bound on the streamed peak: a chunk of rows in flight, the
/// connection's buffers, not the result.
const STREAM_BOUND: usize = 8 * MIB;
/// What the `Vec` version must at least hold: 1,000,000 rows of 100 bytes.
const VEC_FLOOR: usize = 100_000_000;

/// Sum of ids and of the payload bytes: what every row must contribute.
fn checksum(id: i64, payload: &str) -> u64 {
    id.unsigned_abs() + payload.bytes().map(u64::from).sum::<u64>()
}

#[tokio::test(flavor = "current_thread")]
async fn a_million_streamed_rows_keep_memory_flat() {
    let db = TestDb::new("stream_memory").await;
    let expected_sum =
        (1..=ROWS.unsigned_abs()).sum::<u64>() + ROWS.unsigned_abs() * 92 * u64::from(b'x');

    let base = reset_peak();
    let (count, sum) = payloads_stream(&db.client, ROWS)
        .try_fold((0_i64, 0_u64), |(count, sum), row| async move {
            Ok((count + 1, sum + checksum(row.id, &row.payload)))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let streamed = peak_growth(base);
    assert_eq!(count, ROWS);
    assert_eq!(sum, expected_sum);

    let base = reset_peak();
    let rows = payloads(&db.client, ROWS)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let collected = peak_growth(base);
    assert_eq!(rows.len(), 1_000_000);
    let sum: u64 = rows.iter().map(|row| checksum(row.id, &row.payload)).sum();
    assert_eq!(sum, expected_sum);
    drop(rows);

    println!(
        "peak heap growth over {ROWS} rows: stream {:.2} MiB, Vec {:.1} MiB",
        streamed as f64 / MIB as f64,
        collected as f64 / MIB as f64
    );
    assert!(
        streamed < STREAM_BOUND,
        "streaming grew the heap by {streamed} bytes (bound {STREAM_BOUND})"
    );
    assert!(
        collected >= VEC_FLOOR,
        "the Vec version grew the heap by only {collected} bytes: the probe does not see the rows"
    );
}

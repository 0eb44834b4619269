//! The runtime at the floor: every executor kind, and streaming.
//!
//! * **Executors.** A one-row lookup (`UserById`) and a 1,000-row query
//!   (`AllUsers`), generated, on every executor kind a user can pass —
//!   `quarry::Client`, its transaction, `quarry::Pool`, a
//!   `quarry::PooledConnection`, a deadpool transaction, and the raw
//!   `tokio_postgres::Client` (documented as uncached; shown for reference) —
//!   each against the same statement written by hand (prepared once, on the
//!   same connection or, for the pool, a pooled connection with deadpool's
//!   `prepare_cached`), decoded into the same struct.
//! * **Streaming.** 1,000,000 rows of about 100 bytes (`NumberedRows`)
//!   through the generated `_stream` function, the generated `Vec` function
//!   and hand-written `query_raw`, on one `quarry::Client`: rows per second
//!   and the peak of live heap bytes during one run of each (a counting
//!   global allocator).
//!
//! Every pair runs interleaved (`workload/interleaved.rs`): the ratio to the
//! floor is the median of per-round ratios, with its 95 % confidence
//! interval. Results: the printed lines, and
//! `target/tmp/quarry-bench-interleaved-runtime.json`.
//!
//! Run: `cargo bench -p quarry-bench --bench runtime` (about 2 minutes).
//! PostgreSQL: `DATABASE_URL` when set, else an ephemeral cluster.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use codegen::pg::Server;
use quarry::futures_util::TryStreamExt as _;
use quarry::tokio_postgres::{Row, Statement};
use quarry_bench::generated::bench;
use quarry_bench::workload::{self, HairColors};
use tokio::runtime::Runtime;

// `enabled` is for the criterion benches: this one always interleaves.
#[allow(dead_code)]
#[path = "workload/interleaved.rs"]
mod interleaved;
#[path = "workload/pin.rs"]
mod pin;

use interleaved::{call, Call, Ratio};

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            if new_size >= layout.size() {
                let grown = new_size - layout.size();
                let live = LIVE.fetch_add(grown, Ordering::Relaxed) + grown;
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `run` once and returns the peak of live heap bytes above what was
/// live before it started.
fn peak_during(runtime: &Runtime, run: &Call<'_>) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    runtime.block_on(run());
    PEAK.load(Ordering::Relaxed).saturating_sub(before)
}

const USERS: usize = 1_000;
const STREAMED: i64 = 1_000_000;
const USER_BY_ID: &str = "SELECT id, name, hair_color FROM users WHERE id = $1";
const ALL_USERS: &str = "SELECT id, name, hair_color FROM users";
const NUMBERED: &str =
    "SELECT g AS id, repeat('x', 92) AS payload FROM generate_series(1, $1::int8) AS g";

/// What the hand-written versions decode into: the generated row's fields
/// (decoded, then only passed to `black_box`, like the generated rows).
#[allow(dead_code)]
struct User {
    id: i32,
    name: String,
    hair_color: Option<String>,
}

fn user(row: &Row) -> User {
    User {
        id: row.get(0),
        name: row.get(1),
        hair_color: row.get(2),
    }
}

fn users(rows: &[Row]) -> Vec<User> {
    rows.iter().map(user).collect()
}

/// The id looked up: a different user each call, as a service would.
fn next_id(counter: &AtomicUsize) -> i32 {
    (counter.fetch_add(1, Ordering::Relaxed) % USERS) as i32 + 1
}

/// One executor kind: the hand-written floor and the generated function,
/// for the one-row and the 1,000-row case.
macro_rules! executor_case {
    ($ratios:ident, $runtime:ident, $kind:literal, $floor_one:expr, $floor_many:expr, $db:expr) => {{
        let ids = AtomicUsize::new(0);
        let ids = &ids;
        $ratios.extend(interleaved::measure(
            &$runtime,
            concat!("one_row/", $kind),
            Duration::from_secs(5),
            &[
                (
                    "hand_written",
                    call(|| async move {
                        let id = next_id(ids);
                        black_box($floor_one(id).await);
                    }),
                ),
                (
                    "quarry",
                    call(|| async move {
                        let id = next_id(ids);
                        let row = bench::user_by_id($db, id).await.expect("quarry one row");
                        black_box(row);
                    }),
                ),
            ],
        ));
        $ratios.extend(interleaved::measure(
            &$runtime,
            concat!("1000_rows/", $kind),
            Duration::from_secs(5),
            &[
                (
                    "hand_written",
                    call(|| async move {
                        black_box($floor_many().await);
                    }),
                ),
                (
                    "quarry",
                    call(|| async move {
                        let rows = bench::all_users($db).await.expect("quarry many");
                        assert_eq!(rows.len(), USERS);
                        black_box(rows);
                    }),
                ),
            ],
        ));
    }};
}

/// Prepares the two statements of the floor on one connection.
async fn prepare(client: &quarry::tokio_postgres::Client) -> (Statement, Statement) {
    let one = client.prepare(USER_BY_ID).await.expect("prepare one");
    let many = client.prepare(ALL_USERS).await.expect("prepare many");
    (one, many)
}

fn executors(runtime: &Runtime, url: &str, ratios: &mut Vec<Ratio>) {
    // quarry::Client, and a transaction of another one.
    let client = runtime
        .block_on(quarry::Client::connect(url))
        .expect("connect");
    let (one, many) = runtime.block_on(prepare(&client));
    let (c, one, many) = (&client, &one, &many);
    executor_case!(
        ratios,
        runtime,
        "quarry::Client",
        |id: i32| async move { user(&c.query_one(one, &[&id]).await.expect("one")) },
        || async move { users(&c.query(many, &[]).await.expect("many")) },
        c
    );

    let mut owner = runtime
        .block_on(quarry::Client::connect(url))
        .expect("connect");
    let transaction = runtime.block_on(owner.transaction()).expect("begin");
    let (one, many) = runtime.block_on(prepare(transaction.client()));
    let (t, one, many) = (&transaction, &one, &many);
    executor_case!(
        ratios,
        runtime,
        "quarry::Transaction",
        |id: i32| async move { user(&t.query_one(one, &[&id]).await.expect("one")) },
        || async move { users(&t.query(many, &[]).await.expect("many")) },
        t
    );

    // The pool as executor: hand-written takes a connection per call too.
    let pool = quarry::Pool::connect(url).expect("pool");
    let p = &pool;
    executor_case!(
        ratios,
        runtime,
        "quarry::Pool",
        |id: i32| async move {
            let conn = p.inner().get().await.expect("get");
            let statement = conn.prepare_cached(USER_BY_ID).await.expect("prepare");
            user(&conn.query_one(&statement, &[&id]).await.expect("one"))
        },
        || async move {
            let conn = p.inner().get().await.expect("get");
            let statement = conn.prepare_cached(ALL_USERS).await.expect("prepare");
            users(&conn.query(&statement, &[]).await.expect("many"))
        },
        p
    );

    let pooled = runtime.block_on(pool.get()).expect("get");
    let (one, many) = runtime.block_on(prepare(&pooled));
    let (pc, one, many) = (&pooled, &one, &many);
    executor_case!(
        ratios,
        runtime,
        "quarry::PooledConnection",
        |id: i32| async move { user(&pc.query_one(one, &[&id]).await.expect("one")) },
        || async move { users(&pc.query(many, &[]).await.expect("many")) },
        pc
    );

    let mut object = runtime.block_on(pool.inner().get()).expect("get");
    let deadpool_tx = runtime.block_on(object.transaction()).expect("begin");
    let (one, many) = runtime.block_on(prepare(deadpool_tx.client()));
    let (d, one, many) = (&deadpool_tx, &one, &many);
    executor_case!(
        ratios,
        runtime,
        "deadpool_postgres::Transaction",
        |id: i32| async move { user(&d.query_one(one, &[&id]).await.expect("one")) },
        || async move { users(&d.query(many, &[]).await.expect("many")) },
        d
    );

    // The raw client: uncached by design (documented), for reference.
    let raw = runtime
        .block_on(quarry::Client::connect(url))
        .expect("connect")
        .into_inner();
    let (one, many) = runtime.block_on(prepare(&raw));
    let (r, one, many) = (&raw, &one, &many);
    executor_case!(
        ratios,
        runtime,
        "tokio_postgres::Client (uncached)",
        |id: i32| async move { user(&r.query_one(one, &[&id]).await.expect("one")) },
        || async move { users(&r.query(many, &[]).await.expect("many")) },
        r
    );
    drop(transaction);
    drop(deadpool_tx);
}

fn streaming(runtime: &Runtime, url: &str, ratios: &mut Vec<Ratio>) {
    let client = runtime
        .block_on(quarry::Client::connect(url))
        .expect("connect");
    let statement = runtime.block_on(client.prepare(NUMBERED)).expect("prepare");
    let (c, statement) = (&client, &statement);
    let implementations: [(&str, Call<'_>); 3] = [
        (
            "hand_written_query_raw",
            call(|| async move {
                let rows = c
                    .query_raw(statement, [&STREAMED])
                    .await
                    .expect("query_raw");
                let sum = rows
                    .try_fold(0_i64, |sum, row| async move {
                        let id: i64 = row.get(0);
                        let payload: &str = row.get(1);
                        Ok(sum + id + payload.len() as i64)
                    })
                    .await
                    .expect("rows");
                black_box(sum);
            }),
        ),
        (
            "quarry_stream",
            call(|| async move {
                let sum = bench::numbered_rows_stream(c, STREAMED)
                    .try_fold(0_i64, |sum, row| async move {
                        Ok(sum + row.id + row.payload.len() as i64)
                    })
                    .await
                    .expect("stream");
                black_box(sum);
            }),
        ),
        (
            "quarry_vec",
            call(|| async move {
                let rows = bench::numbered_rows(c, STREAMED).await.expect("vec");
                let sum: i64 = rows
                    .iter()
                    .map(|row| row.id + row.payload.len() as i64)
                    .sum();
                black_box(sum);
            }),
        ),
    ];
    for (name, run) in &implementations {
        let peak = peak_during(runtime, run);
        println!(
            "streaming peak heap {name}: {:.1} KiB above the baseline ({STREAMED} rows)",
            peak as f64 / 1024.0
        );
    }
    let measured = interleaved::measure(
        runtime,
        "streaming_1000000",
        Duration::from_secs(40),
        &implementations,
    );
    for ratio in &measured {
        println!(
            "streaming throughput {}: {:.0} rows/s",
            ratio.implementation,
            STREAMED as f64 / (ratio.median_ns / 1e9)
        );
    }
    ratios.extend(measured);
}

fn main() {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server = Server::from_env().expect("PostgreSQL");
    println!("{}", pin::pin(&server));
    let database = runtime
        .block_on(workload::create_database(&server))
        .expect("database");
    let url = server.url(Some(&database));
    let admin = runtime
        .block_on(server.connect(Some(&database)))
        .expect("connect");
    runtime
        .block_on(workload::users(&admin, USERS, HairColors::BlackAndBrown))
        .expect("users");

    let mut ratios = Vec::new();
    executors(&runtime, &url, &mut ratios);
    streaming(&runtime, &url, &mut ratios);
    interleaved::write("quarry-bench-interleaved-runtime.json", &ratios);
    println!("runtime bench done in {:.0?}", started.elapsed());
}

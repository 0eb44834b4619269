//! Bulk writes: the same 10, 1,000 and 100,000 rows of `bulk_items`
//! (`diesel_schema/bulk.sql`: bigint, two texts, numeric, integer, text[],
//! nullable jsonb, timestamptz) inserted into the same empty table by
//!
//! * `quarry_copyfrom`: the generated `:copyfrom` function (binary `COPY`);
//! * `quarry_unnest`: the generated `:exec` of the unnest form, one array
//!   per column (`insert_bulk_items_unnest_with`);
//! * `quarry_batchexec`: the generated `:batchexec`, one `INSERT` per row,
//!   pipelined in one transaction;
//! * `tokio_postgres_copy`: binary `COPY` written by hand with
//!   `BinaryCopyInWriter`, the column types known, the statement prepared
//!   once: the floor of client code;
//! * `sqlx_push_values`: sqlx's `QueryBuilder::push_values`, 8,191 rows per
//!   statement (8 binds a row, under PostgreSQL's 65,535), in a transaction
//!   when there is more than one statement;
//! * `diesel_values`: diesel's `insert_into(t).values(&rows)`, chunked and
//!   wrapped the same way;
//! * `psql_copy`: `psql -c "\copy bulk_items FROM 'file'"` (text format) of a
//!   file holding the same rows, written once per size: a new process and
//!   connection per run are inside the time, the floor of a shell script.
//!
//! Each contestant gets its input in the shape its API takes, built before
//! the clock starts (the owned `Params` rows that `:copyfrom` consumes are
//! cloned per run, untimed); the table is emptied (`TRUNCATE`) before every
//! run, untimed too (criterion's `iter_custom`). Quarry and the
//! hand-written COPY share one connection (as in the workload bench); sqlx
//! and diesel have their own. Before anything is timed, every contestant's
//! table is checked to hold exactly the same rows (an md5 of every row's
//! text).
//!
//! After criterion, `quarry_copyfrom` and `tokio_postgres_copy` also run
//! alternately at 100,000 rows (`ratio_rounds`) for the ratio of the two
//! that the issue targets (≤ 1.1), taken within each round.
//!
//! Run: `cargo bench -p quarry-bench --bench bulk` (a few minutes).
//! PostgreSQL: `DATABASE_URL` when set, else an ephemeral cluster.

#[path = "workload/pin.rs"]
mod pin;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bigdecimal::BigDecimal;
use codegen::pg::Server;
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use diesel::prelude::*;
use quarry::chrono::{DateTime, Utc};
use quarry::serde_json::Value;
use quarry::tokio_postgres::binary_copy::BinaryCopyInWriter;
use quarry::tokio_postgres::types::Type;
use quarry::tokio_postgres::{Client, Statement};
use quarry::PooledConnection;
use quarry_bench::bulk::{self, Item, COLUMNS, SIZES};
use quarry_bench::generated::bulk as generated;
use quarry_bench::BoxError;
use sqlx::{Connection as _, Postgres, QueryBuilder};
use tokio::runtime::Runtime;

/// PostgreSQL's limit of bind parameters per statement.
const BIND_LIMIT: usize = 65_535;
/// Rows per multi-row `VALUES` statement (8 columns).
const CHUNK: usize = BIND_LIMIT / 8;

const COPY: &str = "COPY bulk_items (id, sku, name, price, qty, tags, attrs, created_at) \
                    FROM STDIN (FORMAT binary)";
const COPY_TYPES: [Type; 8] = [
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::NUMERIC,
    Type::INT4,
    Type::TEXT_ARRAY,
    Type::JSONB,
    Type::TIMESTAMPTZ,
];

mod schema {
    diesel::table! {
        bulk_items (id) {
            id -> Int8,
            sku -> Text,
            name -> Text,
            price -> Numeric,
            qty -> Int4,
            tags -> Array<Text>,
            attrs -> Nullable<Jsonb>,
            created_at -> Timestamptz,
        }
    }
}

/// diesel's row: the application's, borrowed, with the price as diesel's
/// `numeric` type.
#[derive(Insertable)]
#[diesel(table_name = schema::bulk_items)]
struct NewItem<'a> {
    id: i64,
    sku: &'a str,
    name: &'a str,
    price: &'a BigDecimal,
    qty: i32,
    tags: &'a [String],
    attrs: Option<&'a Value>,
    created_at: DateTime<Utc>,
}

/// The contestants, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contestant {
    TokioPostgresCopy,
    QuarryCopyfrom,
    QuarryUnnest,
    QuarryBatchexec,
    SqlxPushValues,
    DieselValues,
    PsqlCopy,
}

impl Contestant {
    const ALL: [Contestant; 7] = [
        Contestant::TokioPostgresCopy,
        Contestant::QuarryCopyfrom,
        Contestant::QuarryUnnest,
        Contestant::QuarryBatchexec,
        Contestant::SqlxPushValues,
        Contestant::DieselValues,
        Contestant::PsqlCopy,
    ];

    fn name(self) -> &'static str {
        match self {
            Contestant::TokioPostgresCopy => "tokio_postgres_copy",
            Contestant::QuarryCopyfrom => "quarry_copyfrom",
            Contestant::QuarryUnnest => "quarry_unnest",
            Contestant::QuarryBatchexec => "quarry_batchexec",
            Contestant::SqlxPushValues => "sqlx_push_values",
            Contestant::DieselValues => "diesel_values",
            Contestant::PsqlCopy => "psql_copy",
        }
    }
}

/// Connections, and the hand-written COPY's statement.
struct Fixture {
    runtime: Runtime,
    /// Truncates, checks and writes psql's file.
    admin: Client,
    /// The hand-written COPY's connection, and Quarry's.
    conn: PooledConnection,
    copy: Statement,
    sqlx: RefCell<sqlx::PgConnection>,
    diesel: RefCell<PgConnection>,
    url: String,
    psql: PathBuf,
}

/// One size's inputs, each in the shape its contestant takes.
struct Inputs<'a> {
    items: &'a [Item],
    /// Cloned before each run: `:copyfrom` consumes its rows.
    copy_rows: Vec<generated::InsertBulkItemsParams>,
    batch: Vec<generated::InsertBulkItemsBatchParams>,
    columns: generated::InsertBulkItemsUnnestParams,
    diesel: Vec<NewItem<'a>>,
    file: PathBuf,
}

impl Fixture {
    fn truncate(&self) {
        self.runtime
            .block_on(bulk::truncate(&self.admin))
            .expect("truncate");
    }

    /// Runs `contestant` once on an empty table; returns the rows it
    /// reported and the time of the insert alone.
    fn run(
        &self,
        contestant: Contestant,
        inputs: &Inputs<'_>,
    ) -> Result<(u64, Duration), BoxError> {
        self.truncate();
        let copy_rows =
            (contestant == Contestant::QuarryCopyfrom).then(|| inputs.copy_rows.clone());
        let started = Instant::now();
        let rows = match contestant {
            Contestant::TokioPostgresCopy => self.runtime.block_on(self.hand_copy(inputs.items))?,
            Contestant::QuarryCopyfrom => self.runtime.block_on(generated::insert_bulk_items(
                &self.conn,
                copy_rows.unwrap_or_default(),
            ))?,
            Contestant::QuarryBatchexec => self
                .runtime
                .block_on(generated::insert_bulk_items_batch(
                    &self.conn,
                    &inputs.batch,
                ))?
                .iter()
                .sum(),
            Contestant::QuarryUnnest => {
                self.runtime
                    .block_on(generated::insert_bulk_items_unnest_with(
                        &self.conn,
                        &inputs.columns,
                    ))?
            }
            Contestant::SqlxPushValues => {
                let mut conn = self.sqlx.borrow_mut();
                self.runtime
                    .block_on(sqlx_insert(&mut conn, inputs.items))?
            }
            Contestant::DieselValues => {
                diesel_insert(&mut self.diesel.borrow_mut(), &inputs.diesel)? as u64
            }
            Contestant::PsqlCopy => psql_copy(&self.psql, &self.url, &inputs.file)?,
        };
        Ok((rows, started.elapsed()))
    }

    /// Binary COPY by hand: the prepared statement, the known types, the
    /// borrowed rows.
    async fn hand_copy(&self, items: &[Item]) -> Result<u64, BoxError> {
        let client: &Client = &self.conn;
        let sink = client.copy_in(&self.copy).await?;
        let writer = BinaryCopyInWriter::new(sink, &COPY_TYPES);
        let mut writer = std::pin::pin!(writer);
        for item in items {
            writer
                .as_mut()
                .write(&[
                    &item.id,
                    &item.sku,
                    &item.name,
                    &item.price,
                    &item.qty,
                    &item.tags,
                    &item.attrs,
                    &item.created_at,
                ])
                .await?;
        }
        Ok(writer.finish().await?)
    }
}

/// `push_values`, one statement per [`CHUNK`] rows, in a transaction when
/// there is more than one.
async fn sqlx_insert(conn: &mut sqlx::PgConnection, items: &[Item]) -> Result<u64, BoxError> {
    async fn chunk<'c>(
        conn: impl sqlx::PgExecutor<'c>,
        items: &[Item],
    ) -> Result<u64, sqlx::Error> {
        let mut builder: QueryBuilder<'_, Postgres> =
            QueryBuilder::new(format!("INSERT INTO bulk_items ({COLUMNS}) "));
        builder.push_values(items, |mut row, item| {
            row.push_bind(item.id)
                .push_bind(&item.sku)
                .push_bind(&item.name)
                .push_bind(item.price)
                .push_bind(item.qty)
                .push_bind(&item.tags)
                .push_bind(&item.attrs)
                .push_bind(item.created_at);
        });
        Ok(builder.build().execute(conn).await?.rows_affected())
    }
    if items.len() <= CHUNK {
        return Ok(chunk(&mut *conn, items).await?);
    }
    let mut tx = conn.begin().await?;
    let mut rows = 0;
    for items in items.chunks(CHUNK) {
        rows += chunk(&mut *tx, items).await?;
    }
    tx.commit().await?;
    Ok(rows)
}

/// `insert_into(…).values(&rows)`, one statement per [`CHUNK`] rows, in a
/// transaction when there is more than one.
fn diesel_insert(conn: &mut PgConnection, rows: &[NewItem<'_>]) -> QueryResult<usize> {
    use schema::bulk_items::dsl::bulk_items;
    if rows.len() <= CHUNK {
        return diesel::insert_into(bulk_items).values(rows).execute(conn);
    }
    conn.transaction(|conn| {
        let mut inserted = 0;
        for chunk in rows.chunks(CHUNK) {
            inserted += diesel::insert_into(bulk_items)
                .values(chunk)
                .execute(conn)?;
        }
        Ok(inserted)
    })
}

/// `psql -c "\copy bulk_items (…) FROM 'file'"`: a new process and
/// connection; returns the count psql prints (`COPY n`).
fn psql_copy(psql: &Path, url: &str, file: &Path) -> Result<u64, BoxError> {
    let output = Command::new(psql)
        .args(["-X", "-v", "ON_ERROR_STOP=1", "-d", url, "-c"])
        .arg(format!(
            "\\copy bulk_items ({COLUMNS}) FROM '{}'",
            file.display()
        ))
        .output()?;
    if !output.status.success() {
        return Err(format!("psql: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let count = stdout
        .trim()
        .strip_prefix("COPY ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("psql printed {stdout:?}"))?;
    Ok(count)
}

/// `psql` of the server's installation (`pg_config --bindir`), not a
/// wrapper script; `QUARRY_BENCH_PSQL` overrides it.
fn find_psql() -> PathBuf {
    if let Some(path) = std::env::var_os("QUARRY_BENCH_PSQL") {
        return PathBuf::from(path);
    }
    Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()).join("psql"))
        .filter(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("psql"))
}

fn copy_row(item: &Item) -> generated::InsertBulkItemsParams {
    generated::InsertBulkItemsParams {
        id: item.id,
        sku: item.sku.clone(),
        name: item.name.clone(),
        price: item.price,
        qty: item.qty,
        tags: item.tags.clone(),
        attrs: item.attrs.clone(),
        created_at: item.created_at,
    }
}

fn batch_row(item: &Item) -> generated::InsertBulkItemsBatchParams {
    generated::InsertBulkItemsBatchParams {
        id: item.id,
        sku: item.sku.clone(),
        name: item.name.clone(),
        price: item.price,
        qty: item.qty,
        tags: item.tags.clone(),
        attrs: item.attrs.clone(),
        created_at: item.created_at,
    }
}

/// Inserts the rows with every contestant once, untimed, and panics unless
/// each one leaves exactly the hand-written COPY's table. Writes psql's file
/// from that table first.
fn check(f: &Fixture, inputs: &Inputs<'_>) {
    let size = inputs.items.len();
    f.truncate();
    f.runtime
        .block_on(f.hand_copy(inputs.items))
        .expect("tokio_postgres_copy");
    let expected = f
        .runtime
        .block_on(bulk::checksum(&f.admin))
        .expect("checksum");
    assert_eq!(expected.0, size as i64, "tokio_postgres_copy/{size}");
    f.runtime
        .block_on(bulk::copy_out(&f.admin, &inputs.file))
        .expect("write psql's file");
    for contestant in Contestant::ALL {
        let name = contestant.name();
        let (rows, _) = f
            .run(contestant, inputs)
            .unwrap_or_else(|e| panic!("{name}/{size}: {e}"));
        let found = f
            .runtime
            .block_on(bulk::checksum(&f.admin))
            .expect("checksum");
        assert_eq!(rows, size as u64, "{name}/{size}: rows reported");
        assert_eq!(
            found, expected,
            "{name}/{size}: table differs from tokio_postgres_copy"
        );
    }
}

/// The size at which `:copyfrom` is compared to the hand-written COPY.
const RATIO_SIZE: usize = 100_000;
/// Rounds of that comparison.
const RATIO_ROUNDS: usize = 30;

/// Not in criterion's `--test` and `--list` modes.
fn ratio_enabled() -> bool {
    !std::env::args().any(|a| a == "--test" || a == "--list")
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    (values[(n - 1) / 2] + values[n / 2]) / 2.0
}

/// `quarry_copyfrom` and `tokio_postgres_copy` alternately (which one goes
/// first alternates too), each on an empty table: prints the median of the
/// per-round ratios of their times, and each one's median time.
fn copyfrom_ratio(f: &Fixture, inputs: &Inputs<'_>) {
    let pair = [Contestant::TokioPostgresCopy, Contestant::QuarryCopyfrom];
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..RATIO_ROUNDS {
        for i in [round % 2, 1 - round % 2] {
            let (_, time) = f
                .run(pair[i], inputs)
                .unwrap_or_else(|e| panic!("{}: {e}", pair[i].name()));
            times[i].push(time.as_secs_f64());
        }
    }
    let mut ratios: Vec<f64> = times[1].iter().zip(&times[0]).map(|(q, h)| q / h).collect();
    let ratio = median(&mut ratios);
    // A distribution-free 95 % confidence interval of the median (order
    // statistics of the sorted ratios), as in `workload/interleaved.rs`.
    let n = ratios.len() as f64;
    let half = 1.96 * n.sqrt() / 2.0;
    let low = ratios[(n / 2.0 - half).floor().max(0.0) as usize];
    let high = ratios[((n / 2.0 + half).ceil() as usize).min(ratios.len() - 1)];
    let [hand, quarry] = times.map(|mut t| median(&mut t));
    println!(
        "copyfrom ratio at {}: quarry_copyfrom {:.1} ms, tokio_postgres_copy {:.1} ms, \
         ratio {ratio:.3} (95 % CI {low:.3} – {high:.3}; median of {RATIO_ROUNDS} alternating \
         rounds)",
        inputs.items.len(),
        quarry * 1e3,
        hand * 1e3,
    );
}

/// Criterion's settings per size: the 100,000-row runs take up to seconds.
fn configure(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    size: usize,
) {
    group.throughput(Throughput::Elements(size as u64));
    if size >= 100_000 {
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
    } else {
        group
            .sample_size(20)
            .sampling_mode(SamplingMode::Auto)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(if size >= 1_000 { 2 } else { 1 }));
    }
}

fn sizes(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("bulk_insert");
    for size in SIZES {
        let items = bulk::items(size);
        let prices: Vec<BigDecimal> = items
            .iter()
            .map(|item| item.price.to_string().parse().expect("a decimal"))
            .collect();
        let inputs = Inputs {
            items: &items,
            copy_rows: items.iter().map(copy_row).collect(),
            batch: items.iter().map(batch_row).collect(),
            columns: bulk::columns(&items),
            diesel: items
                .iter()
                .zip(&prices)
                .map(|(item, price)| NewItem {
                    id: item.id,
                    sku: &item.sku,
                    name: &item.name,
                    price,
                    qty: item.qty,
                    tags: &item.tags,
                    attrs: item.attrs.as_ref(),
                    created_at: item.created_at,
                })
                .collect(),
            file: PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("quarry-bench-bulk-{size}.copy")),
        };
        check(f, &inputs);
        configure(&mut group, size);
        for contestant in Contestant::ALL {
            group.bench_function(BenchmarkId::new(contestant.name(), size), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            f.run(contestant, &inputs)
                                .unwrap_or_else(|e| panic!("{}: {e}", contestant.name()))
                                .1
                        })
                        .sum()
                })
            });
        }
        if size == RATIO_SIZE && ratio_enabled() {
            copyfrom_ratio(f, &inputs);
        }
        let _ = std::fs::remove_file(&inputs.file);
    }
    group.finish();
    f.truncate();
}

fn bulk(c: &mut Criterion) {
    let server = Server::from_env().expect("start PostgreSQL (or set DATABASE_URL)");
    println!("{}", pin::pin(&server));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let database = runtime
        .block_on(bulk::create_database(&server))
        .expect("create the benchmark database");
    let url = server.url(Some(&database));
    let (admin, conn, copy, sqlx) = runtime.block_on(async {
        let admin = server.connect(Some(&database)).await.expect("connect");
        let pool = quarry::Pool::connect(&url).expect("pool");
        let conn = pool.get().await.expect("connect");
        let copy = conn.prepare(COPY).await.expect("prepare the COPY");
        let sqlx = sqlx::PgConnection::connect(&url).await.expect("sqlx");
        (admin, conn, copy, sqlx)
    });
    let diesel = PgConnection::establish(&url).expect("diesel");
    let fixture = Fixture {
        runtime,
        admin,
        conn,
        copy,
        sqlx: RefCell::new(sqlx),
        diesel: RefCell::new(diesel),
        url,
        psql: find_psql(),
    };
    println!("psql: {}", fixture.psql.display());
    sizes(c, &fixture);

    let Fixture { runtime, .. } = fixture;
    if let Err(error) = runtime.block_on(server.drop_database(&database)) {
        eprintln!("could not drop {database}: {error}");
    }
}

criterion_group!(benches, bulk);
criterion_main!(benches);

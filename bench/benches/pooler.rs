//! Pooler-safe mode against prepared mode: the latency of the example
//! application's generated queries (`quarry_example_app::queries`) when
//! every statement is sent unnamed with its declared parameter types
//! (`quarry::Pooler::Transaction`, one `query_typed` round trip, parsed and
//! planned by the server each time) and when it is prepared once per
//! connection and cached (`quarry::Pooler::Session`, the default).
//!
//! Query kinds, each one call of a generated function on a `quarry::Pool`
//! of [`POOL_SIZE`] connections, called sequentially from one task:
//!
//! * `one`: `shop::get_customer`, a `:one` by primary key (a different
//!   customer each call);
//! * `many`: `shop::list_recent_orders`, a `:many` of [`MANY`] rows;
//! * `exec`: `blog::increment_post_views`, an `:exec` `UPDATE` of one row
//!   (by a unique uuid; a different post each call);
//! * `enum_param`: `shop::list_orders_for_customer(…, Some(OrderStatus::Paid))`,
//!   a user-defined enum parameter (10 rows, aggregated over their items);
//! * `prefetch`: `blog::list_posts_with_relations`, [`POSTS`] posts with
//!   their comments (and the commenters), author and tags: five statements
//!   in a read-only snapshot transaction;
//! * `batch`: `shop::set_product_prices`, a `:batchexec` of [`BATCH`]
//!   elements pipelined in one transaction.
//!
//! Paths and modes (`Setup`): **direct** over the cluster's unix socket,
//! prepared and pooler-safe; **through PgBouncer** (`quarry_tests::pgbouncer`,
//! unix socket): prepared through PgBouncer in session mode (the only pool
//! mode where named statements work), pooler-safe through the same
//! session-mode PgBouncer (the like-for-like ratio), and pooler-safe through
//! PgBouncer in transaction mode (the mode it exists for). The session-mode PgBouncer gets a server connection for
//! every client connection ([`SESSION_BOUNCER_POOL`]); the transaction-mode
//! one, [`BOUNCER_POOL`].
//!
//! Data: a fresh database with the example schema, the benchmarks' generated
//! shop (`quarry_bench::shop_data`: 100 customers, 1,000 orders of 10 items)
//! plus 50 more products (100 SKUs for the batch) and a generated blog (10
//! authors, 200 posts, 3 comments and 2 tags each). Before anything is
//! timed, every setup runs every kind once and its results are checked
//! (rows, counts, the enum's value, the relations), and on a direct
//! connection the prepared mode is shown to leave named statements on the
//! server and the pooler-safe mode none.
//!
//! Criterion measures each kind on each setup (groups `pooler/<kind>`).
//! Then, for the ratios, the setups of one path run interleaved within one
//! run (`workload/interleaved.rs`: blocks of ~2 ms, in a random order each
//! round; the median of per-round ratios to prepared mode, with its 95 %
//! confidence interval): printed as a table, and written to
//! `target/tmp/quarry-bench-interleaved-pooler.json`.
//!
//! Run: `cargo bench -p quarry-bench --bench pooler` (about 3 minutes).
//! PostgreSQL: always an ephemeral cluster (PgBouncer is started in front of
//! it, which needs its socket directory), pinned as in the other benches
//! (`workload/pin.rs`), PgBouncer on the server's cores. Needs `pgbouncer`
//! (Debian package `pgbouncer`).

#[path = "workload/interleaved.rs"]
mod interleaved;
#[path = "workload/pin.rs"]
mod pin;

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use codegen::pg::Server;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use interleaved::{call, Call, Ratio};
use quarry::chrono::{DateTime, Utc};
use quarry::rust_decimal::Decimal;
use quarry::uuid::Uuid;
use quarry::{Pool, Pooler};
use quarry_bench::{shop_data, BoxError};
use quarry_example_app::queries::types::OrderStatus;
use quarry_example_app::queries::{blog, shop};
use quarry_tests::pgbouncer::{PgBouncer, PoolMode};
use tokio::runtime::Runtime;

/// Connections of each `quarry::Pool`.
const POOL_SIZE: usize = 4;
/// Server connections of PgBouncer in transaction mode
/// (`default_pool_size`).
const BOUNCER_POOL: u32 = 4;
/// Server connections of PgBouncer in session mode: one for each client
/// connection of the two pools behind it (a client holds its server
/// connection until it disconnects).
const SESSION_BOUNCER_POOL: u32 = 2 * POOL_SIZE as u32;
/// Rows of the `many` kind.
const MANY: i64 = 25;
/// Posts of the `prefetch` kind.
const POSTS: i64 = 20;
/// Elements of the `batch` kind.
const BATCH: usize = 100;
/// Interleaved time per path and kind.
const RATIO_BUDGET: Duration = Duration::from_secs(4);

/// What the benchmark adds to `shop_data`'s shop: 50 more products (copies
/// of the first 50 under new SKUs) and a blog. Identity columns start at 1
/// in the fresh database.
const EXTRA_DATA: &str = "
INSERT INTO products (category_id, sku, name, price, description, stock, tags, weight_kg)
SELECT category_id, 'SKU-' || lpad((id + 50)::text, 5, '0'), 'Product ' || (id + 50),
       price, description, stock, tags, weight_kg
FROM products WHERE id <= 50;

INSERT INTO authors (name, email, bio)
SELECT 'Author ' || i, 'author' || i || '@example.com',
       CASE WHEN i % 2 = 0 THEN 'Writes about things ' || i END
FROM generate_series(1, 10) AS i;

INSERT INTO posts (author_id, title, body, published_at, views, metadata, uuid)
SELECT 1 + i % 10, 'Post ' || i, 'Body of post ' || i,
       CASE WHEN i % 10 <> 0 THEN timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour' END,
       i, jsonb_build_object('lang', 'en', 'reading_minutes', i % 9),
       md5('post ' || i)::uuid
FROM generate_series(1, 200) AS i;

INSERT INTO comments (post_id, author_id, body, created_at)
SELECT p.id, CASE WHEN (p.id + j) % 4 <> 0 THEN 1 + (p.id + j) % 10 END,
       'Comment ' || j || ' on post ' || p.id,
       timestamptz '2024-06-01 00:00:00+00' + (p.id * 3 + j) * interval '1 minute'
FROM posts p CROSS JOIN generate_series(1, 3) AS j;

INSERT INTO tags (name) SELECT 'tag-' || i FROM generate_series(1, 10) AS i;

INSERT INTO post_tags (post_id, tag_id)
SELECT p.id, t.id FROM posts p
JOIN tags t ON t.id IN (1 + p.id % 10, 1 + (p.id + 3) % 10);

ANALYZE;
";

/// A query kind: one call of one generated function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    One,
    Many,
    Exec,
    EnumParam,
    Prefetch,
    Batch,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::One,
        Kind::Many,
        Kind::Exec,
        Kind::EnumParam,
        Kind::Prefetch,
        Kind::Batch,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::One => "one",
            Kind::Many => "many",
            Kind::Exec => "exec",
            Kind::EnumParam => "enum_param",
            Kind::Prefetch => "prefetch",
            Kind::Batch => "batch",
        }
    }
}

/// A path to the server and a statement mode: one `quarry::Pool`.
struct Setup {
    name: &'static str,
    pool: Pool,
}

/// The setups, in this order (`SETUPS[i]` is `Fixture::setups[i]`).
const SETUPS: [(&str, Pooler); 5] = [
    ("direct/prepared", Pooler::Session),
    ("direct/pooler_safe", Pooler::Transaction),
    ("pgbouncer_session/prepared", Pooler::Session),
    ("pgbouncer_session/pooler_safe", Pooler::Transaction),
    ("pgbouncer_transaction/pooler_safe", Pooler::Transaction),
];

/// The calls' arguments, and counters that vary them from call to call.
struct Inputs {
    since: DateTime<Utc>,
    /// Customers whose orders are all paid (10 each).
    paid_customers: Vec<i64>,
    /// The posts' uuids.
    posts: Vec<Uuid>,
    prices: Vec<shop::SetProductPricesParams>,
    next: AtomicUsize,
}

impl Inputs {
    fn next(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed)
    }
}

/// One call of `kind` on `pool`; returns the number of rows it returned or
/// affected (for the checks; the timed calls pass it to `black_box`).
async fn run<E: quarry::Executor + ?Sized>(
    kind: Kind,
    pool: &E,
    inputs: &Inputs,
) -> Result<usize, quarry::Error> {
    let n = inputs.next();
    Ok(match kind {
        Kind::One => {
            let customer = shop::get_customer(pool, (n % 100) as i64 + 1).await?;
            black_box(customer);
            1
        }
        Kind::Many => black_box(shop::list_recent_orders(pool, inputs.since, MANY).await?).len(),
        Kind::Exec => {
            let uuid = inputs.posts[n % inputs.posts.len()];
            blog::increment_post_views(pool, uuid).await? as usize
        }
        Kind::EnumParam => {
            let customer = inputs.paid_customers[n % inputs.paid_customers.len()];
            black_box(
                shop::list_orders_for_customer(pool, customer, Some(OrderStatus::Paid)).await?,
            )
            .len()
        }
        Kind::Prefetch => black_box(blog::list_posts_with_relations(pool, POSTS).await?).len(),
        Kind::Batch => black_box(shop::set_product_prices(pool, &inputs.prices).await?)
            .iter()
            .sum::<u64>() as usize,
    })
}

/// The server, the two PgBouncers in front of it, and the setups.
struct Fixture {
    runtime: Runtime,
    setups: Vec<Setup>,
    inputs: Inputs,
    // Dropped after the pools (field order): PgBouncers before the server.
    _bouncers: [PgBouncer; 2],
    _server: Server,
}

/// Pins `pid` to the cores PostgreSQL was pinned to (the upper half of
/// `cores`), when `pin::pin` pinned it.
fn pin_like_server(pid: u32, cores: usize, pinned: &str) -> String {
    if !pinned.starts_with("bench on cores") {
        return "PgBouncer not pinned".to_owned();
    }
    let server: Vec<usize> = (cores / 2..cores).collect();
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET only writes
    // bits inside it for cores below CPU_SETSIZE (checked), and
    // sched_setaffinity reads exactly size_of::<cpu_set_t>() bytes of it.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &core in &server {
            if core < libc::CPU_SETSIZE as usize {
                libc::CPU_SET(core, &mut set);
            }
        }
        libc::sched_setaffinity(
            pid as libc::pid_t,
            std::mem::size_of::<libc::cpu_set_t>(),
            &set,
        )
    };
    if result == 0 {
        format!("PgBouncer {pid} on cores {server:?}")
    } else {
        format!("PgBouncer not pinned ({})", std::io::Error::last_os_error())
    }
}

/// Starts everything and fills the database; panics when it cannot.
fn fixture() -> Fixture {
    let server = Server::ephemeral().expect("start a PostgreSQL cluster");
    // Counted before `pin::pin` restricts this thread to the lower half.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pinned = pin::pin(&server);
    println!("{pinned}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let database = runtime
        .block_on(create_database(&server))
        .expect("create the benchmark database");
    let Server::Ephemeral(cluster) = &server else {
        unreachable!("Server::ephemeral is ephemeral")
    };
    let bouncers = [
        PgBouncer::start(cluster, PoolMode::Session, SESSION_BOUNCER_POOL),
        PgBouncer::start(cluster, PoolMode::Transaction, BOUNCER_POOL),
    ];
    for bouncer in &bouncers {
        println!("{}", pin_like_server(bouncer.pid(), cores, &pinned));
    }
    let urls = [
        server.url(Some(&database)),
        server.url(Some(&database)),
        bouncers[0].url(&database),
        bouncers[0].url(&database),
        bouncers[1].url(&database),
    ];
    let setups = SETUPS
        .iter()
        .zip(urls)
        .map(|(&(name, pooler), url)| Setup {
            name,
            pool: Pool::builder(&url)
                .max_size(POOL_SIZE)
                .pooler(pooler)
                .build()
                .expect("pool"),
        })
        .collect();
    let inputs = runtime
        .block_on(inputs(&server, &database))
        .expect("read the inputs");
    Fixture {
        runtime,
        setups,
        inputs,
        _bouncers: bouncers,
        _server: server,
    }
}

/// The shop of `shop_data` and [`EXTRA_DATA`].
async fn create_database(server: &Server) -> Result<String, BoxError> {
    let database = shop_data::create_shop_database(server).await?;
    let client = server.connect(Some(&database)).await?;
    client.batch_execute(EXTRA_DATA).await?;
    Ok(database)
}

async fn inputs(server: &Server, database: &str) -> Result<Inputs, BoxError> {
    let client = server.connect(Some(database)).await?;
    let paid_customers = client
        .query(
            "SELECT customer_id FROM orders GROUP BY customer_id \
             HAVING bool_and(status = 'paid') ORDER BY customer_id",
            &[],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut posts = Vec::new();
    for row in client
        .query("SELECT uuid::text FROM posts ORDER BY id", &[])
        .await?
    {
        posts.push(Uuid::parse_str(row.get(0))?);
    }
    let prices = (1..=BATCH)
        .map(|i| shop::SetProductPricesParams {
            price: Decimal::new(500 + i as i64 * 125, 2),
            sku: format!("SKU-{i:05}"),
        })
        .collect();
    Ok(Inputs {
        since: "2024-01-01T00:00:00Z".parse()?,
        paid_customers,
        posts,
        prices,
        next: AtomicUsize::new(0),
    })
}

/// What each kind returns on the benchmark's data (rows, or rows affected).
fn expected_rows(kind: Kind) -> usize {
    match kind {
        Kind::One | Kind::Exec => 1,
        Kind::Many => MANY as usize,
        Kind::EnumParam => 10,
        Kind::Prefetch => POSTS as usize,
        Kind::Batch => BATCH,
    }
}

/// Runs every kind once on every setup, untimed, and panics unless each
/// one returns what the data holds; then checks what each mode leaves on
/// a direct server connection.
fn check(f: &Fixture) {
    for setup in &f.setups {
        for kind in Kind::ALL {
            let rows = f
                .runtime
                .block_on(run(kind, &setup.pool, &f.inputs))
                .unwrap_or_else(|e| panic!("{}/{}: {e}", setup.name, kind.name()));
            assert_eq!(rows, expected_rows(kind), "{}/{}", setup.name, kind.name());
        }
        f.runtime
            .block_on(check_results(&setup.pool, &f.inputs))
            .unwrap_or_else(|e| panic!("{}: {e}", setup.name));
    }
    for (setup, named) in [(&f.setups[0], true), (&f.setups[1], false)] {
        let statements = f
            .runtime
            .block_on(named_statements_after_every_kind(&setup.pool, &f.inputs))
            .unwrap_or_else(|e| panic!("{}: {e}", setup.name));
        assert_eq!(
            statements > 0,
            named,
            "{}: {statements} named statements on the connection",
            setup.name
        );
        println!(
            "{}: {statements} named statements left on the connection",
            setup.name
        );
    }
}

/// The enum query returns paid orders only, the prefetch every relation.
async fn check_results(pool: &Pool, inputs: &Inputs) -> Result<(), BoxError> {
    let customer = inputs.paid_customers.first().ok_or("no paid customer")?;
    let orders = shop::list_orders_for_customer(pool, *customer, Some(OrderStatus::Paid)).await?;
    if orders.iter().any(|order| order.status != OrderStatus::Paid) {
        return Err("an order not paid".into());
    }
    for post in blog::list_posts_with_relations(pool, POSTS).await? {
        let commenters_ok = post
            .comments
            .iter()
            .all(|comment| comment.author_id == comment.commenter.as_ref().map(|a| a.id));
        if post.author.id != post.author_id
            || post.comments.len() != 3
            || post.tags.len() != 2
            || !commenters_ok
        {
            return Err(format!("post {}: relations not as loaded", post.id).into());
        }
    }
    Ok(())
}

/// Runs every kind on one connection of `pool` and counts the named
/// prepared statements the server then holds for it
/// (`pg_prepared_statements`, read with the simple protocol, which names
/// none).
async fn named_statements_after_every_kind(pool: &Pool, inputs: &Inputs) -> Result<i64, BoxError> {
    let conn = pool.get().await?;
    for kind in Kind::ALL {
        run(kind, &conn, inputs).await?;
    }
    let messages = conn
        .simple_query("SELECT count(*) FROM pg_prepared_statements")
        .await?;
    let count = messages
        .iter()
        .find_map(|message| match message {
            quarry::tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0),
            _ => None,
        })
        .ok_or("no count")?;
    Ok(count.parse()?)
}

/// Criterion: one group per kind, one benchmark per setup.
fn criterion_groups(c: &mut Criterion, f: &Fixture) {
    for kind in Kind::ALL {
        let mut group = c.benchmark_group(format!("pooler/{}", kind.name()));
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        for setup in &f.setups {
            group.bench_function(BenchmarkId::from_parameter(setup.name), |b| {
                b.to_async(&f.runtime).iter(|| async {
                    let rows = run(kind, &setup.pool, &f.inputs)
                        .await
                        .unwrap_or_else(|e| panic!("{}/{}: {e}", setup.name, kind.name()));
                    black_box(rows)
                })
            });
        }
        group.finish();
    }
}

/// Boxes one call of `kind` on `setup` for `interleaved::measure`.
fn timed<'a>(kind: Kind, setup: &'a Setup, inputs: &'a Inputs) -> (&'static str, Call<'a>) {
    let name = setup
        .name
        .split_once('/')
        .map_or(setup.name, |(_, mode)| mode);
    let label = match (setup.name.split('/').next(), name) {
        (Some("pgbouncer_session"), "prepared") => "prepared_session_mode",
        (Some("pgbouncer_session"), _) => "pooler_safe_session_mode",
        (Some("pgbouncer_transaction"), _) => "pooler_safe_transaction_mode",
        _ => name,
    };
    (
        label,
        call(move || async move {
            let rows = run(kind, &setup.pool, inputs)
                .await
                .unwrap_or_else(|e| panic!("{}/{}: {e}", setup.name, kind.name()));
            black_box(rows);
        }),
    )
}

/// The ratios: per kind, the direct setups interleaved, then the PgBouncer
/// setups interleaved (prepared mode first: the floor of each path).
fn ratios(f: &Fixture) -> Vec<Ratio> {
    let mut all = Vec::new();
    for kind in Kind::ALL {
        for (path, setups) in [("direct", &f.setups[0..2]), ("pgbouncer", &f.setups[2..5])] {
            let calls: Vec<_> = setups
                .iter()
                .map(|setup| timed(kind, setup, &f.inputs))
                .collect();
            let case = format!("{}/{path}", kind.name());
            all.extend(interleaved::measure(
                &f.runtime,
                &case,
                RATIO_BUDGET,
                &calls,
            ));
        }
    }
    all.extend(floor_ratio(f));
    all
}

/// `GetCustomer`'s statement, as the example app sends it.
const GET_CUSTOMER: &str = "/* quarry:GetCustomer */ SELECT c.id, c.email, c.name, c.phone, \
                            c.created_at\nFROM customers c\nWHERE c.id = $1";

/// The floor of the `one` kind: tokio-postgres alone on one direct
/// connection, a statement prepared once against `query_typed` (what
/// pooler-safe mode sends), the rows left undecoded. The cost of an unnamed
/// statement without Quarry around it.
fn floor_ratio(f: &Fixture) -> Vec<Ratio> {
    let conn = f
        .runtime
        .block_on(f.setups[0].pool.get())
        .expect("a direct connection");
    let statement = f
        .runtime
        .block_on(conn.prepare(GET_CUSTOMER))
        .expect("prepare GetCustomer");
    let (conn, statement, inputs) = (&conn, &statement, &f.inputs);
    let id = move || (inputs.next() % 100) as i64 + 1;
    let ratios = interleaved::measure(
        &f.runtime,
        "one/tokio_postgres",
        RATIO_BUDGET,
        &[
            (
                "prepared",
                call(move || async move {
                    let row = conn.query_one(statement, &[&id()]).await;
                    black_box(row.expect("prepared GetCustomer"));
                }),
            ),
            (
                "query_typed",
                call(move || async move {
                    let rows = conn
                        .query_typed(
                            GET_CUSTOMER,
                            &[(&id(), quarry::tokio_postgres::types::Type::INT8)],
                        )
                        .await;
                    black_box(rows.expect("GetCustomer with query_typed"));
                }),
            ),
        ],
    );
    ratios
}

/// The printed table: per kind, the median per-call times (µs) and the
/// ratios to prepared mode on the same path.
fn print_table(ratios: &[Ratio]) {
    let find = |case: &str, implementation: &str| {
        ratios
            .iter()
            .find(|r| r.case == case && r.implementation == implementation)
    };
    let cell = |ratio: Option<&Ratio>, floor: bool| match ratio {
        Some(r) if floor => format!("{:>8.1}", r.median_ns / 1e3),
        Some(r) => format!(
            "{:>8.1} {:.3} ({:.3}–{:.3})",
            r.median_ns / 1e3,
            r.median_ratio,
            r.ci_low,
            r.ci_high
        ),
        None => "-".to_owned(),
    };
    println!("\npooler-safe / prepared, µs per call and ratio (95 % CI), interleaved in one run:");
    println!(
        "{:<11} | {:>8} | {:<28} | {:>8} | {:<28} | {:<28}",
        "kind",
        "direct",
        "direct pooler-safe",
        "pgb sess",
        "pgb session pooler-safe",
        "pgb transaction pooler-safe"
    );
    for kind in Kind::ALL {
        let direct = format!("{}/direct", kind.name());
        let bouncer = format!("{}/pgbouncer", kind.name());
        println!(
            "{:<11} | {} | {:<28} | {} | {:<28} | {:<28}",
            kind.name(),
            cell(find(&direct, "prepared"), true),
            cell(find(&direct, "pooler_safe"), false),
            cell(find(&bouncer, "prepared_session_mode"), true),
            cell(find(&bouncer, "pooler_safe_session_mode"), false),
            cell(find(&bouncer, "pooler_safe_transaction_mode"), false),
        );
    }
    println!(
        "one, tokio-postgres alone (direct): prepared {}, query_typed {}",
        cell(find("one/tokio_postgres", "prepared"), true).trim(),
        cell(find("one/tokio_postgres", "query_typed"), false).trim(),
    );
}

fn pooler(c: &mut Criterion) {
    let fixture = fixture();
    check(&fixture);
    criterion_groups(c, &fixture);
    if interleaved::enabled() {
        let ratios = ratios(&fixture);
        print_table(&ratios);
        interleaved::write("quarry-bench-interleaved-pooler.json", &ratios);
    }
}

criterion_group!(benches, pooler);
criterion_main!(benches);

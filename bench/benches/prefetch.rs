//! Loading 1,000 orders with their customers, 10,000 items, products and
//! categories, three ways:
//!
//! * `prefetch`: the generated `shop::list_orders_with_details` — five
//!   statements whatever the number of orders;
//! * `naive_loop`: one query per row — the orders, then per order its customer
//!   and a one-key `items_by_order` call (which loads that order's products and
//!   categories itself);
//! * `hand_written_any`: the same five statements written by hand against
//!   tokio-postgres (`quarry_bench::hand_written`), the floor.
//!
//! Before timing, each variant runs once under `quarry::record` to count its
//! statements, and the three results are checked to describe the same data.
//! After criterion's runs, `prefetch` and `hand_written_any` also run
//! interleaved (as in the workload bench, `workload/interleaved.rs`), for
//! their ratio without criterion's one-after-the-other drift.
//!
//! PostgreSQL: `DATABASE_URL` when set, else an ephemeral cluster started from
//! the local server binaries. Run: `cargo bench -p quarry-bench --bench prefetch`.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Duration;

use codegen::pg::Server;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use quarry::chrono::{DateTime, Utc};
use quarry::rust_decimal::Decimal;
use quarry_bench::{hand_written, shop_data};
use quarry_example_app::queries::shop;

#[path = "workload/interleaved.rs"]
mod interleaved;

/// What a variant loaded, reduced to numbers and names that must agree.
#[derive(Debug, PartialEq)]
struct Summary {
    orders: usize,
    items: usize,
    customers: BTreeSet<String>,
    categories: BTreeSet<String>,
    total: Decimal,
}

impl Summary {
    fn new() -> Self {
        Summary {
            orders: 0,
            items: 0,
            customers: BTreeSet::new(),
            categories: BTreeSet::new(),
            total: Decimal::ZERO,
        }
    }

    /// Counts one order: its customer's name and, per item, the line total
    /// and the slug of the product's category.
    fn add_order<'a>(
        &mut self,
        customer: &str,
        items: impl IntoIterator<Item = (Decimal, &'a str)>,
    ) {
        self.orders += 1;
        self.customers.insert(customer.to_owned());
        for (line_total, category) in items {
            self.items += 1;
            self.total += line_total;
            self.categories.insert(category.to_owned());
        }
    }
}

/// One row per order, as the naive loop builds it.
type NaiveOrder = (
    shop::ListRecentOrdersRow,
    shop::Customer,
    Vec<shop::ItemsByOrderRow>,
);

/// One query per row: the shape prefetching replaces.
async fn naive_loop(
    pool: &quarry::Pool,
    since: DateTime<Utc>,
) -> Result<Vec<NaiveOrder>, quarry::Error> {
    let orders = shop::list_recent_orders(pool, since, i64::MAX).await?;
    let mut loaded = Vec::with_capacity(orders.len());
    for order in orders {
        let customer = shop::get_customer(pool, order.customer_id).await?;
        let items = shop::items_by_order(pool, &[order.id])
            .await?
            .take(&order.id);
        loaded.push((order, customer, items));
    }
    Ok(loaded)
}

fn summarize_prefetch(orders: &[shop::ListOrdersWithDetailsRow]) -> Summary {
    let mut summary = Summary::new();
    for order in orders {
        summary.add_order(
            &order.customer.name,
            order.items.iter().map(|item| {
                let category = item.product.category.slug.as_str();
                (item.line_total, category)
            }),
        );
    }
    summary
}

fn summarize_naive(orders: &[NaiveOrder]) -> Summary {
    let mut summary = Summary::new();
    for (_, customer, items) in orders {
        summary.add_order(
            &customer.name,
            items.iter().map(|item| {
                let category = item.product.category.slug.as_str();
                (item.line_total, category)
            }),
        );
    }
    summary
}

fn summarize_hand_written(orders: &[hand_written::Order]) -> Summary {
    let mut summary = Summary::new();
    for order in orders {
        summary.add_order(
            &order.customer.name,
            order.items.iter().map(|item| {
                let category = item.product.category.slug.as_str();
                (item.line_total, category)
            }),
        );
    }
    summary
}

/// Runs each variant once, untimed: counts the statements of the two that go
/// through quarry, and checks that all three loaded the same data.
async fn count_and_check(pool: &quarry::Pool, since: DateTime<Utc>) {
    let (prefetched, prefetch_log) =
        quarry::record(shop::list_orders_with_details(pool, since)).await;
    let prefetched = prefetched.expect("prefetch");
    let (naive, naive_log) = quarry::record(naive_loop(pool, since)).await;
    let naive = naive.expect("naive loop");
    let hand = hand_written::list_orders_with_details(pool, since)
        .await
        .expect("hand-written");

    let summary = summarize_prefetch(&prefetched);
    assert_eq!(summary, summarize_naive(&naive), "naive loop differs");
    assert_eq!(
        summary,
        summarize_hand_written(&hand),
        "hand-written differs"
    );
    assert_eq!(summary.orders as i64, shop_data::ORDERS);
    assert_eq!(
        summary.items as i64,
        shop_data::ORDERS * shop_data::ITEMS_PER_ORDER
    );

    println!(
        "loaded {} orders, {} items, {} customers, {} categories",
        summary.orders,
        summary.items,
        summary.customers.len(),
        summary.categories.len()
    );
    println!(
        "prefetch: {} statements {:?}",
        prefetch_log.len(),
        prefetch_log.by_name()
    );
    println!(
        "naive: {} statements {:?}",
        naive_log.len(),
        naive_log.by_name()
    );
    println!("hand_written_any: 5 statements (by construction; not recorded by quarry)");
}

fn prefetch(c: &mut Criterion) {
    // The naive loop is an N+1 on purpose.
    quarry::set_n_plus_one_policy(quarry::NPlusOnePolicy {
        action: quarry::NPlusOneAction::Off,
        threshold: 5,
    });

    let server = Server::from_env().expect("start PostgreSQL (or set DATABASE_URL)");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let database = runtime
        .block_on(shop_data::create_shop_database(&server))
        .expect("create the benchmark database");
    let pool = quarry::Pool::connect(&server.url(Some(&database))).expect("pool");
    // Every order: the data set is the whole shop.
    let since = DateTime::<Utc>::UNIX_EPOCH;

    runtime.block_on(count_and_check(&pool, since));

    let mut group = c.benchmark_group("list_orders_with_details");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        // Iterations take milliseconds to a second: equal-sized samples.
        .sampling_mode(SamplingMode::Flat);
    group.bench_function("prefetch", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(
                shop::list_orders_with_details(&pool, since)
                    .await
                    .expect("prefetch"),
            )
        })
    });
    group.bench_function("naive_loop", |b| {
        b.to_async(&runtime)
            .iter(|| async { black_box(naive_loop(&pool, since).await.expect("naive loop")) })
    });
    group.bench_function("hand_written_any", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(
                hand_written::list_orders_with_details(&pool, since)
                    .await
                    .expect("hand-written"),
            )
        })
    });
    group.finish();

    if interleaved::enabled() {
        let ratios = interleaved::measure(
            &runtime,
            "list_orders_with_details",
            Duration::from_secs(20),
            &[
                (
                    "hand_written_any",
                    interleaved::call(|| async {
                        black_box(
                            hand_written::list_orders_with_details(&pool, since)
                                .await
                                .expect("hand-written"),
                        );
                    }),
                ),
                (
                    "prefetch",
                    interleaved::call(|| async {
                        black_box(
                            shop::list_orders_with_details(&pool, since)
                                .await
                                .expect("prefetch"),
                        );
                    }),
                ),
            ],
        );
        interleaved::write("quarry-bench-interleaved-prefetch.json", &ratios);
    }

    drop(pool);
    // An ephemeral cluster goes away with `server`; on DATABASE_URL's server
    // the database would stay behind.
    if let Err(error) = runtime.block_on(server.drop_database(&database)) {
        eprintln!("could not drop {database}: {error}");
    }
}

criterion_group!(benches, prefetch);
criterion_main!(benches);

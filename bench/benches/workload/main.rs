//! The diesel benchmark suite's workload (schema and scenarios of
//! diesel_bench, also used by cornucopia's benches), for four
//! implementations side by side:
//!
//! * `tokio_postgres`: hand-written, the floor (`hand_written.rs`);
//! * `quarry`: Quarry's generated code (`bench/src/generated/bench.rs`);
//! * `sqlx`: sqlx 0.8, `query_as` with `FromRow` (`sqlx_impl.rs`);
//! * `diesel`: diesel 2, synchronous, its query DSL (`diesel_impl.rs`).
//!
//! Scenarios (criterion groups; ids `<implementation>/<size>`):
//!
//! * `trivial_query`: every user, with 1, 10, 100, 1,000 and 10,000 users;
//! * `medium_complex_query`: users LEFT JOIN posts WHERE hair_color = 'black'
//!   (half of them), same sizes;
//! * `insert`: one statement inserting 1, 10, 25, 50 or 100 users (plus
//!   `tokio_postgres_values`: the hand-written multi-row `VALUES` form, and
//!   `tokio_postgres_copy`: a hand-written binary `COPY`);
//! * `loading_associations`: 100 users × 10 posts × 10 comments, loaded as
//!   users → posts → comments;
//! * `prefetch_vs_n_plus_one`: the same data by Quarry's prefetch, by the
//!   hand-written `= ANY($1)` version and by a naive per-row loop.
//!
//! Quarry and the hand-written floor share one connection (see
//! `hand_written.rs`); sqlx and diesel each have their own, to the same
//! PostgreSQL (`DATABASE_URL`, else an ephemeral cluster). The async ones
//! run on one current-thread tokio runtime. Before anything is timed, every
//! scenario's results are checked to agree across implementations.
//!
//! After criterion's benchmarks of each case, the implementations also run
//! interleaved (`interleaved.rs`) for ratios to the floor that a change of
//! load on the machine does not skew (skipped with a filter or `--test`).
//! With an ephemeral cluster, the bench and PostgreSQL are pinned to
//! separate cores (`pin.rs`).
//!
//! Run: `cargo bench -p quarry-bench --bench workload` (or `bench/run.sh`).

mod diesel_impl;
mod hand_written;
mod interleaved;
mod pin;
mod quarry_impl;
mod sqlx_impl;
mod summary;

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Duration;

use codegen::pg::Server;
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode,
};
use diesel::PgConnection;
use quarry::tokio_postgres::Client;
use quarry_bench::workload::{
    self, HairColors, HAIR_COLOR, INSERTED_HAIR_COLOR, INSERT_SIZES, QUERY_SIZES,
};
use tokio::runtime::Runtime;

use crate::hand_written::HandWritten;
use crate::interleaved::{call, Call};
use crate::sqlx_impl::Sqlx;
use crate::summary::Summary;

/// Everything the scenarios run on.
struct Fixture {
    runtime: Runtime,
    /// Loads each scenario's data.
    admin: Client,
    /// The floor, and the connection Quarry's code runs on too.
    hand: HandWritten,
    sqlx: Sqlx,
    diesel: RefCell<PgConnection>,
    /// Interleaved ratios to the floor (`interleaved.rs`), if enabled.
    interleaved: Option<RefCell<Vec<interleaved::Ratio>>>,
}

impl Fixture {
    /// Quarry's executor: the hand-written version's connection.
    fn quarry(&self) -> &quarry::PooledConnection {
        self.hand.connection()
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Runs the implementations of one case interleaved (the floor first).
    fn interleave(&self, case: &str, budget: Duration, implementations: &[(&str, Call<'_>)]) {
        if let Some(results) = &self.interleaved {
            let ratios = interleaved::measure(&self.runtime, case, budget, implementations);
            results.borrow_mut().extend(ratios);
        }
    }

    /// Replaces the data with `count` users.
    fn users(&self, count: usize, hair: HairColors) {
        self.block_on(workload::users(&self.admin, count, hair))
            .expect("load users");
    }
}

/// Interleaving time per case: longer where the ratio has a target
/// (1,000 and 10,000 users).
fn budget(size: usize) -> Duration {
    Duration::from_secs(if size >= 1_000 { 10 } else { 4 })
}

fn new_group<'a>(c: &'a mut Criterion, name: &str, seconds: u64) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(seconds));
    group
}

fn trivial_query(c: &mut Criterion, f: &Fixture) {
    let mut group = new_group(c, "trivial_query", 3);
    for size in QUERY_SIZES {
        f.users(size, HairColors::Null);
        let expected = f
            .block_on(f.hand.trivial())
            .map(|rows| hand_written::summarize_trivial(&rows))
            .expect("tokio_postgres");
        check(
            "trivial_query",
            size,
            expected,
            [
                (
                    "quarry",
                    f.block_on(quarry_impl::trivial(f.quarry()))
                        .map(|r| quarry_impl::summarize_trivial(&r))
                        .map_err(Into::into),
                ),
                (
                    "sqlx",
                    f.block_on(f.sqlx.trivial())
                        .map(|r| sqlx_impl::summarize_trivial(&r)),
                ),
                (
                    "diesel",
                    diesel_impl::trivial(&mut f.diesel.borrow_mut())
                        .map(|r| diesel_impl::summarize_trivial(&r))
                        .map_err(Into::into),
                ),
            ],
        );
        assert_eq!(expected.users, size);

        group.bench_function(BenchmarkId::new("tokio_postgres", size), |b| {
            b.to_async(&f.runtime)
                .iter(|| async { black_box(f.hand.trivial().await.expect("tokio_postgres")) })
        });
        group.bench_function(BenchmarkId::new("quarry", size), |b| {
            b.to_async(&f.runtime).iter(|| async {
                black_box(quarry_impl::trivial(f.quarry()).await.expect("quarry"))
            })
        });
        group.bench_function(BenchmarkId::new("sqlx", size), |b| {
            b.to_async(&f.runtime)
                .iter(|| async { black_box(f.sqlx.trivial().await.expect("sqlx")) })
        });
        group.bench_function(BenchmarkId::new("diesel", size), |b| {
            let mut conn = f.diesel.borrow_mut();
            b.iter(|| black_box(diesel_impl::trivial(&mut conn).expect("diesel")))
        });
        f.interleave(
            &format!("trivial_query/{size}"),
            budget(size),
            &[
                (
                    "tokio_postgres",
                    call(|| async {
                        black_box(f.hand.trivial().await.expect("tokio_postgres"));
                    }),
                ),
                (
                    "quarry",
                    call(|| async {
                        black_box(quarry_impl::trivial(f.quarry()).await.expect("quarry"));
                    }),
                ),
                (
                    "sqlx",
                    call(|| async {
                        black_box(f.sqlx.trivial().await.expect("sqlx"));
                    }),
                ),
                (
                    "diesel",
                    call(|| async {
                        let mut conn = f.diesel.borrow_mut();
                        black_box(diesel_impl::trivial(&mut conn).expect("diesel"));
                    }),
                ),
            ],
        );
    }
    group.finish();
}

fn medium_complex_query(c: &mut Criterion, f: &Fixture) {
    let mut group = new_group(c, "medium_complex_query", 3);
    for size in QUERY_SIZES {
        f.users(size, HairColors::BlackAndBrown);
        let expected = f
            .block_on(f.hand.medium(HAIR_COLOR))
            .map(|rows| hand_written::summarize_medium(&rows))
            .expect("tokio_postgres");
        check(
            "medium_complex_query",
            size,
            expected,
            [
                (
                    "quarry",
                    f.block_on(quarry_impl::medium(f.quarry(), HAIR_COLOR))
                        .map(|r| quarry_impl::summarize_medium(&r))
                        .map_err(Into::into),
                ),
                (
                    "sqlx",
                    f.block_on(f.sqlx.medium(HAIR_COLOR))
                        .map(|r| sqlx_impl::summarize_medium(&r)),
                ),
                (
                    "diesel",
                    diesel_impl::medium(&mut f.diesel.borrow_mut(), HAIR_COLOR)
                        .map(|r| diesel_impl::summarize_medium(&r))
                        .map_err(Into::into),
                ),
            ],
        );
        assert_eq!(expected.users, size.div_ceil(2));

        group.bench_function(BenchmarkId::new("tokio_postgres", size), |b| {
            b.to_async(&f.runtime).iter(|| async {
                black_box(f.hand.medium(HAIR_COLOR).await.expect("tokio_postgres"))
            })
        });
        group.bench_function(BenchmarkId::new("quarry", size), |b| {
            b.to_async(&f.runtime).iter(|| async {
                black_box(
                    quarry_impl::medium(f.quarry(), HAIR_COLOR)
                        .await
                        .expect("quarry"),
                )
            })
        });
        group.bench_function(BenchmarkId::new("sqlx", size), |b| {
            b.to_async(&f.runtime)
                .iter(|| async { black_box(f.sqlx.medium(HAIR_COLOR).await.expect("sqlx")) })
        });
        group.bench_function(BenchmarkId::new("diesel", size), |b| {
            let mut conn = f.diesel.borrow_mut();
            b.iter(|| black_box(diesel_impl::medium(&mut conn, HAIR_COLOR).expect("diesel")))
        });
        f.interleave(
            &format!("medium_complex_query/{size}"),
            budget(size),
            &[
                (
                    "tokio_postgres",
                    call(|| async {
                        black_box(f.hand.medium(HAIR_COLOR).await.expect("tokio_postgres"));
                    }),
                ),
                (
                    "quarry",
                    call(|| async {
                        black_box(
                            quarry_impl::medium(f.quarry(), HAIR_COLOR)
                                .await
                                .expect("quarry"),
                        );
                    }),
                ),
                (
                    "sqlx",
                    call(|| async {
                        black_box(f.sqlx.medium(HAIR_COLOR).await.expect("sqlx"));
                    }),
                ),
                (
                    "diesel",
                    call(|| async {
                        let mut conn = f.diesel.borrow_mut();
                        black_box(diesel_impl::medium(&mut conn, HAIR_COLOR).expect("diesel"));
                    }),
                ),
            ],
        );
    }
    group.finish();
}

/// Inserts `names` with every implementation, untimed, checking that each
/// inserted exactly those users.
fn check_inserts(f: &Fixture, names: &[&str], hair_colors: &[&str]) {
    let inserted = |implementation: &str, result: Result<u64, quarry_bench::BoxError>| {
        let count = result.unwrap_or_else(|e| panic!("insert, {implementation}: {e}"));
        let row = f
            .block_on(f.admin.query_one(
                "SELECT count(*), sum(length(name)), count(*) FILTER (WHERE hair_color = $1)
                 FROM users",
                &[&INSERTED_HAIR_COLOR],
            ))
            .expect("count users");
        let found: (i64, Option<i64>, i64) = (row.get(0), row.get(1), row.get(2));
        let expected = names.len() as i64;
        let bytes = names.iter().map(|name| name.len() as i64).sum::<i64>();
        assert_eq!(
            (count as i64, found),
            (expected, (expected, Some(bytes), expected)),
            "insert, {implementation}"
        );
        f.block_on(workload::truncate(&f.admin)).expect("truncate");
    };
    f.block_on(workload::truncate(&f.admin)).expect("truncate");
    inserted(
        "tokio_postgres",
        f.block_on(f.hand.insert_unnest(names, hair_colors)),
    );
    inserted(
        "tokio_postgres_values",
        f.block_on(f.hand.insert_values(names, hair_colors)),
    );
    inserted(
        "tokio_postgres_copy",
        f.block_on(f.hand.insert_copy(names, hair_colors)),
    );
    inserted(
        "quarry",
        f.block_on(quarry_impl::insert(f.quarry(), names, hair_colors))
            .map_err(Into::into),
    );
    inserted("sqlx", f.block_on(f.sqlx.insert(names, hair_colors)));
    inserted(
        "diesel",
        diesel_impl::insert(&mut f.diesel.borrow_mut(), names, hair_colors)
            .map(|n| n as u64)
            .map_err(Into::into),
    );
}

fn insert(c: &mut Criterion, f: &Fixture) {
    let mut group = new_group(c, "insert", 3);
    for size in INSERT_SIZES {
        let names = workload::new_user_names(size);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let hair_colors = vec![INSERTED_HAIR_COLOR; size];
        let (names, hair_colors) = (&names[..], &hair_colors[..]);
        check_inserts(f, names, hair_colors);

        // Each implementation starts from an empty table (the table grows
        // while it is measured, as in diesel_bench).
        let truncate = || f.block_on(workload::truncate(&f.admin)).expect("truncate");
        truncate();
        group.bench_function(BenchmarkId::new("tokio_postgres", size), |b| {
            b.to_async(&f.runtime).iter(|| async {
                black_box(
                    f.hand
                        .insert_unnest(names, hair_colors)
                        .await
                        .expect("tokio_postgres"),
                )
            })
        });
        truncate();
        group.bench_function(BenchmarkId::new("tokio_postgres_values", size), |b| {
            b.to_async(&f.runtime).iter(|| async {
                black_box(
                    f.hand
                        .insert_values(names, hair_colors)
                        .await
                        .expect("tokio_postgres_values"),
                )
            })
        });
        truncate();
        group.bench_function(BenchmarkId::new("tokio_postgres_copy", size), |b| {
            b.to_async(&f.runtime).iter(|| async {
                black_box(
                    f.hand
                        .insert_copy(names, hair_colors)
                        .await
                        .expect("tokio_postgres_copy"),
                )
            })
        });
        truncate();
        group.bench_function(BenchmarkId::new("quarry", size), |b| {
            b.to_async(&f.runtime).iter(|| async {
                black_box(
                    quarry_impl::insert(f.quarry(), names, hair_colors)
                        .await
                        .expect("quarry"),
                )
            })
        });
        truncate();
        group.bench_function(BenchmarkId::new("sqlx", size), |b| {
            b.to_async(&f.runtime).iter(|| async {
                black_box(f.sqlx.insert(names, hair_colors).await.expect("sqlx"))
            })
        });
        truncate();
        group.bench_function(BenchmarkId::new("diesel", size), |b| {
            let mut conn = f.diesel.borrow_mut();
            b.iter(|| {
                black_box(diesel_impl::insert(&mut conn, names, hair_colors).expect("diesel"))
            })
        });
        truncate();
        f.interleave(
            &format!("insert/{size}"),
            budget(size),
            &[
                (
                    "tokio_postgres",
                    call(|| async {
                        black_box(
                            f.hand
                                .insert_unnest(names, hair_colors)
                                .await
                                .expect("tokio_postgres"),
                        );
                    }),
                ),
                (
                    "quarry",
                    call(|| async {
                        black_box(
                            quarry_impl::insert(f.quarry(), names, hair_colors)
                                .await
                                .expect("quarry"),
                        );
                    }),
                ),
                (
                    "sqlx",
                    call(|| async {
                        black_box(f.sqlx.insert(names, hair_colors).await.expect("sqlx"));
                    }),
                ),
                (
                    "diesel",
                    call(|| async {
                        let mut conn = f.diesel.borrow_mut();
                        black_box(
                            diesel_impl::insert(&mut conn, names, hair_colors).expect("diesel"),
                        );
                    }),
                ),
                (
                    "tokio_postgres_values",
                    call(|| async {
                        black_box(
                            f.hand
                                .insert_values(names, hair_colors)
                                .await
                                .expect("tokio_postgres_values"),
                        );
                    }),
                ),
                (
                    "tokio_postgres_copy",
                    call(|| async {
                        black_box(
                            f.hand
                                .insert_copy(names, hair_colors)
                                .await
                                .expect("tokio_postgres_copy"),
                        );
                    }),
                ),
            ],
        );
    }
    group.finish();
    f.block_on(workload::truncate(&f.admin)).expect("truncate");
}

fn loading_associations(c: &mut Criterion, f: &Fixture) {
    f.block_on(workload::associations(&f.admin))
        .expect("load the associations");
    let expected = f
        .block_on(f.hand.associations())
        .map(|rows| hand_written::summarize_associations(&rows))
        .expect("tokio_postgres");
    assert_eq!(
        (expected.users, expected.posts, expected.comments),
        (
            workload::ASSOCIATION_USERS,
            workload::ASSOCIATION_USERS * workload::POSTS_PER_USER,
            workload::ASSOCIATION_USERS * workload::POSTS_PER_USER * workload::COMMENTS_PER_POST
        )
    );
    check(
        "loading_associations",
        workload::ASSOCIATION_USERS,
        expected,
        [
            (
                "quarry",
                f.block_on(quarry_impl::associations(f.quarry()))
                    .map(|r| quarry_impl::summarize_associations(&r))
                    .map_err(Into::into),
            ),
            (
                "sqlx",
                f.block_on(f.sqlx.associations())
                    .map(|r| sqlx_impl::summarize_associations(&r)),
            ),
            (
                "diesel",
                diesel_impl::associations(&mut f.diesel.borrow_mut())
                    .map(|r| diesel_impl::summarize_associations(&r))
                    .map_err(Into::into),
            ),
            (
                "quarry_naive_loop",
                f.block_on(quarry_impl::naive_loop(f.quarry()))
                    .map(|r| quarry_impl::summarize_naive(&r))
                    .map_err(Into::into),
            ),
        ],
    );
    let (_, prefetch_log) = f.block_on(quarry::record(quarry_impl::associations(f.quarry())));
    let (_, naive_log) = f.block_on(quarry::record(quarry_impl::naive_loop(f.quarry())));
    println!(
        "loading_associations: {} users, {} posts, {} comments; quarry prefetch: {} statements \
         {:?}; naive loop: {} statements {:?}",
        expected.users,
        expected.posts,
        expected.comments,
        prefetch_log.len(),
        prefetch_log.by_name(),
        naive_log.len(),
        naive_log.by_name()
    );

    let mut group = new_group(c, "loading_associations", 5);
    group.bench_function("tokio_postgres", |b| {
        b.to_async(&f.runtime)
            .iter(|| async { black_box(f.hand.associations().await.expect("tokio_postgres")) })
    });
    group.bench_function("quarry", |b| {
        b.to_async(&f.runtime).iter(|| async {
            black_box(quarry_impl::associations(f.quarry()).await.expect("quarry"))
        })
    });
    group.bench_function("sqlx", |b| {
        b.to_async(&f.runtime)
            .iter(|| async { black_box(f.sqlx.associations().await.expect("sqlx")) })
    });
    group.bench_function("diesel", |b| {
        let mut conn = f.diesel.borrow_mut();
        b.iter(|| black_box(diesel_impl::associations(&mut conn).expect("diesel")))
    });
    group.finish();
    f.interleave(
        "loading_associations",
        Duration::from_secs(10),
        &[
            (
                "tokio_postgres",
                call(|| async {
                    black_box(f.hand.associations().await.expect("tokio_postgres"));
                }),
            ),
            (
                "quarry",
                call(|| async {
                    black_box(quarry_impl::associations(f.quarry()).await.expect("quarry"));
                }),
            ),
            (
                "sqlx",
                call(|| async {
                    black_box(f.sqlx.associations().await.expect("sqlx"));
                }),
            ),
            (
                "diesel",
                call(|| async {
                    let mut conn = f.diesel.borrow_mut();
                    black_box(diesel_impl::associations(&mut conn).expect("diesel"));
                }),
            ),
        ],
    );

    let mut group = new_group(c, "prefetch_vs_n_plus_one", 5);
    // The naive loop takes tens of milliseconds: equal-sized samples.
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.bench_function("quarry_prefetch", |b| {
        b.to_async(&f.runtime).iter(|| async {
            black_box(quarry_impl::associations(f.quarry()).await.expect("quarry"))
        })
    });
    group.bench_function("tokio_postgres_any", |b| {
        b.to_async(&f.runtime)
            .iter(|| async { black_box(f.hand.associations().await.expect("tokio_postgres")) })
    });
    group.bench_function("quarry_naive_loop", |b| {
        b.to_async(&f.runtime).iter(|| async {
            black_box(
                quarry_impl::naive_loop(f.quarry())
                    .await
                    .expect("naive loop"),
            )
        })
    });
    group.finish();
}

/// Panics unless every implementation's summary equals the floor's.
fn check<const N: usize>(
    scenario: &str,
    size: usize,
    expected: Summary,
    others: [(&str, Result<Summary, quarry_bench::BoxError>); N],
) {
    for (implementation, summary) in others {
        let summary = summary.unwrap_or_else(|e| panic!("{scenario}/{implementation}/{size}: {e}"));
        assert_eq!(
            summary, expected,
            "{scenario}/{implementation}/{size} differs from tokio_postgres"
        );
    }
}

fn workload(c: &mut Criterion) {
    // The naive loop is an N+1 on purpose.
    quarry::set_n_plus_one_policy(quarry::NPlusOnePolicy::OFF);

    let server = Server::from_env().expect("start PostgreSQL (or set DATABASE_URL)");
    // Before the runtime and the connections: backends fork from the
    // postmaster with its affinity, threads inherit the creating thread's.
    println!("{}", pin::pin(&server));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let database = runtime
        .block_on(workload::create_database(&server))
        .expect("create the benchmark database");
    let url = server.url(Some(&database));
    let fixture = runtime.block_on(async {
        let admin = server.connect(Some(&database)).await.expect("connect");
        let pool = quarry::Pool::connect(&url).expect("pool");
        let hand = HandWritten::connect(&pool).await.expect("connect");
        let sqlx = Sqlx::connect(&url).await.expect("sqlx");
        (admin, hand, sqlx)
    });
    let (admin, hand, sqlx) = fixture;
    let diesel = RefCell::new(diesel_impl::connect(&url).expect("diesel"));
    let fixture = Fixture {
        runtime,
        admin,
        hand,
        sqlx,
        diesel,
        interleaved: interleaved::enabled().then(|| RefCell::new(Vec::new())),
    };

    trivial_query(c, &fixture);
    medium_complex_query(c, &fixture);
    insert(c, &fixture);
    loading_associations(c, &fixture);

    let Fixture {
        runtime,
        admin,
        hand,
        sqlx,
        diesel,
        interleaved,
    } = fixture;
    drop((admin, hand, sqlx, diesel));
    if let Some(results) = interleaved {
        interleaved::write("quarry-bench-interleaved.json", &results.into_inner());
    }
    // An ephemeral cluster goes away with `server`; on DATABASE_URL's server
    // the database would stay behind.
    if let Err(error) = runtime.block_on(server.drop_database(&database)) {
        eprintln!("could not drop {database}: {error}");
    }
}

criterion_group!(benches, workload);
criterion_main!(benches);

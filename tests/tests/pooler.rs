//! Pooler-safe mode through a real PgBouncer in transaction mode: 32 tasks
//! share a server pool of 4 connections and run every kind of generated
//! query — one row, many rows, a write returning an enum, a loader, a
//! prefetch (a snapshot transaction), a row stream, a chunked prefetch
//! stream (a portal, in a transaction), a `:batchexec` batch, a `:copyfrom`
//! copy and a `quarry::transaction` taking row locks — 10,000 executions
//! with zero errors. The same workload with named prepared statements
//! (the default) fails on the same PgBouncer: the control that shows what
//! pooler-safe mode avoids.
//!
//! Code generated with `pooler = "transaction"` (the fixture in `pooler/`,
//! its generated code committed in `pooler/db` and checked current here)
//! runs pooler-safe on any executor: bare tokio-postgres clients and a
//! deadpool pool of the user's own, through the same kind of PgBouncer.

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[path = "pooler/db/mod.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod db;

use std::collections::BTreeMap;
use std::sync::Arc;

use codegen::pg::EphemeralCluster;
use quarry::futures_util::TryStreamExt as _;
use quarry::{Pool, Pooler};
use quarry_example_app::queries::types::OrderStatus;
use quarry_example_app::queries::{blog, shop};
use quarry_tests::pgbouncer::{PgBouncer, PoolMode};

const TASKS: usize = 32;
const EXECUTIONS: usize = 10_000;
const SERVER_POOL: u32 = 4;

/// The kinds of generated call the workload cycles through.
const KINDS: [&str; 12] = [
    "one",
    "many",
    "loader",
    "prefetch",
    "enum parameter",
    "write returning an enum",
    "exec",
    "row stream",
    "prefetch stream (portal)",
    "batch",
    "copy",
    "transaction with row locks",
];

async fn own_cluster() -> EphemeralCluster {
    match tokio::task::spawn_blocking(EphemeralCluster::start).await {
        Ok(Ok(cluster)) => cluster,
        Ok(Err(e)) => panic!("cannot start a PostgreSQL cluster: {e}"),
        Err(e) => panic!("{e}"),
    }
}

async fn connect(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    tokio::spawn(connection);
    client
}

/// Database `app` with the example schema and data, on `cluster`.
async fn example_app(cluster: &EphemeralCluster) -> tokio_postgres::Client {
    let admin = connect(&cluster.config("postgres")).await;
    admin
        .batch_execute("CREATE DATABASE app")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = connect(&cluster.config("app")).await;
    quarry_tests::load_example_data(&client).await;
    client
}

/// Runs generated call number `n` of kind `kind` on `pool`.
async fn run_one(pool: &Pool, kind: usize, task: usize, n: usize) -> Result<(), quarry::Error> {
    let customer = (n % 4 + 1) as i64;
    let now = quarry::chrono::Utc::now();
    match kind {
        0 => shop::get_customer(pool, customer).await.map(drop),
        1 => blog::list_published_posts(pool, now, 10).await.map(drop),
        2 => blog::authors_by_ids(pool, &[1, 2, 3]).await.map(drop),
        3 => blog::list_posts_with_relations(pool, 5).await.map(drop),
        4 => shop::list_orders_for_customer(pool, customer, Some(OrderStatus::Paid))
            .await
            .map(drop),
        5 => {
            let order =
                shop::place_order(pool, customer, OrderStatus::Pending, now, Some("pooler"))
                    .await?;
            assert_eq!(order.status, OrderStatus::Pending);
            let updated =
                shop::update_order_status(pool, OrderStatus::Paid, None, order.id).await?;
            assert_eq!(updated.map(|row| row.status), Some(OrderStatus::Paid));
            Ok(())
        }
        6 => shop::delete_cancelled_orders_before(pool, now - quarry::chrono::Days::new(36_500))
            .await
            .map(drop),
        7 => shop::customer_order_stats_stream(pool)
            .try_collect::<Vec<_>>()
            .await
            .map(drop),
        8 => blog::list_posts_with_relations_stream(pool, 5)
            .try_collect::<Vec<_>>()
            .await
            .map(drop),
        9 => {
            let prices = [shop::SetProductPricesParams {
                price: quarry::rust_decimal::Decimal::new(1990 + (n % 7) as i64, 2),
                sku: "HP-002".to_owned(),
            }];
            let counts = shop::set_product_prices(pool, &prices).await?;
            assert_eq!(counts, [1]);
            Ok(())
        }
        10 => {
            let rows = (0..2).map(|k| shop::ImportProductsParams {
                category_id: 7,
                sku: format!("T{task}-{n}-{k}"),
                name: "Imported".to_owned(),
                price: quarry::rust_decimal::Decimal::new(100, 0),
                description: None,
                stock: 1,
                tags: vec!["imported".to_owned()],
            });
            let copied = shop::import_products(pool, rows).await?;
            assert_eq!(copied, 2);
            Ok(())
        }
        _ => quarry::transaction(pool, |tx| {
            Box::pin(async move {
                let post = blog::lock_post_for_update(&*tx, 1).await?;
                shop::adjust_stock(&*tx, 1, 4).await?;
                Ok::<_, quarry::Error>(post.id)
            })
        })
        .await
        .map(drop),
    }
}

/// What a workload run did: executions per kind, and the errors.
struct Outcome {
    ran: BTreeMap<&'static str, usize>,
    errors: Vec<String>,
}

/// 32 tasks, 10,000 generated calls in all, every kind in turn.
async fn workload(pool: &Pool) -> Outcome {
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let pool = pool.clone();
        let share = EXECUTIONS / TASKS + usize::from(task < EXECUTIONS % TASKS);
        tasks.push(tokio::spawn(async move {
            let mut ran = Vec::new();
            let mut errors = Vec::new();
            for n in 0..share {
                let kind = (task + n) % KINDS.len();
                match run_one(&pool, kind, task, n).await {
                    Ok(()) => ran.push(kind),
                    Err(error) => errors.push(format!("{}: {error}", KINDS[kind])),
                }
            }
            (ran, errors)
        }));
    }
    let mut outcome = Outcome {
        ran: BTreeMap::new(),
        errors: Vec::new(),
    };
    for task in tasks {
        let (ran, errors) = task.await.unwrap_or_else(|e| panic!("{e}"));
        for kind in ran {
            *outcome.ran.entry(KINDS[kind]).or_default() += 1;
        }
        outcome.errors.extend(errors);
    }
    outcome
}

fn pool(bouncer: &PgBouncer, pooler: Pooler) -> Pool {
    Pool::builder(&bouncer.url("app"))
        .max_size(TASKS)
        .pooler(pooler)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_generated_query_runs_through_pgbouncer_in_transaction_mode() {
    let cluster = own_cluster().await;
    let primary = example_app(&cluster).await;
    let bouncer = PgBouncer::start(&cluster, PoolMode::Transaction, SERVER_POOL);

    let safe = pool(&bouncer, Pooler::Transaction);
    let outcome = workload(&safe).await;
    let first: Vec<&String> = outcome.errors.iter().take(5).collect();
    assert!(
        outcome.errors.is_empty(),
        "{} of {EXECUTIONS} pooler-safe executions failed, e.g. {first:#?}\nPgBouncer log:\n{}",
        outcome.errors.len(),
        bouncer.log()
    );
    assert_eq!(outcome.ran.values().sum::<usize>(), EXECUTIONS);
    assert_eq!(outcome.ran.len(), KINDS.len(), "{:?}", outcome.ran);
    // 32 client connections shared at most 4 server connections.
    let servers = bouncer.server_connections("app").await;
    assert!(
        (1..=SERVER_POOL as usize).contains(&servers),
        "{servers} server connections"
    );
    // What the writes did, every time.
    let copies = outcome.ran["copy"] as i64;
    let imported: i64 = primary
        .query_one("SELECT count(*) FROM products WHERE sku LIKE 'T%'", &[])
        .await
        .map(|row| row.get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(imported, 2 * copies);
    let placed: i64 = primary
        .query_one(
            "SELECT count(*) FROM orders WHERE note = 'pooler' AND status = 'paid'",
            &[],
        )
        .await
        .map(|row| row.get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(placed, outcome.ran["write returning an enum"] as i64);

    // The control: the same workload with named prepared statements.
    let named = pool(&bouncer, Pooler::Session);
    let outcome = workload(&named).await;
    let prepared_errors = outcome
        .errors
        .iter()
        .filter(|error| error.contains("prepared statement"))
        .count();
    assert!(
        prepared_errors > 0,
        "named prepared statements did not fail through PgBouncer in transaction mode: {} errors, e.g. {:?}",
        outcome.errors.len(),
        outcome.errors.first()
    );
}

/// A bare tokio-postgres client connected to PgBouncer runs code generated
/// pooler-safe as long as no user-defined type is involved, and refuses
/// clearly, before sending anything, where it would need one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_client_behind_pgbouncer_runs_builtin_typed_queries_pooler_safe() {
    const GET_CUSTOMER: quarry::Query = quarry::Query::new(
        "GetCustomerName",
        "SELECT name FROM customers WHERE id = $1",
    )
    .params(&[quarry::ParamType::Oid(20)])
    .pooler_safe();
    const BY_STATUS: quarry::Query = quarry::Query::new(
        "CountByStatus",
        "SELECT count(*) FROM orders WHERE status = $1",
    )
    .params(&[quarry::ParamType::Named("public.order_status")])
    .custom_types()
    .pooler_safe();
    let cluster = own_cluster().await;
    let _primary = example_app(&cluster).await;
    let bouncer = PgBouncer::start(&cluster, PoolMode::Transaction, 2);
    let clients: Vec<Arc<tokio_postgres::Client>> = {
        let mut clients = Vec::new();
        for _ in 0..8 {
            clients.push(Arc::new(connect(&bouncer.config("app")).await));
        }
        clients
    };
    let mut tasks = Vec::new();
    for client in &clients {
        let client = Arc::clone(client);
        tasks.push(tokio::spawn(async move {
            for n in 0..200_i64 {
                let rows =
                    quarry::Executor::query(&*client, &GET_CUSTOMER, &[&(n % 4 + 1)]).await?;
                assert_eq!(rows.len(), 1);
            }
            Ok::<_, quarry::Error>(())
        }));
    }
    for task in tasks {
        task.await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let refused = quarry::Executor::query(&*clients[0], &BY_STATUS, &[&OrderStatus::Paid]).await;
    match refused {
        Err(quarry::Error::Pooler {
            query: "CountByStatus",
            source: quarry::PoolerError::NoTypeRegistry,
        }) => {}
        other => panic!("expected a pooler error, got {other:?}"),
    }
    // Wrapped in a quarry::Client, the same connection runs it.
    let wrapped = quarry::Client::new(connect(&bouncer.config("app")).await);
    let rows = quarry::Executor::query(&wrapped, &BY_STATUS, &[&OrderStatus::Paid])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 1);
}

/// The fixture's options: generated pooler-safe.
fn pooler_safe() -> codegen::config::TypeConfig {
    codegen::config::TypeConfig {
        pooler: codegen::Pooler::Transaction,
        ..codegen::config::TypeConfig::default()
    }
}

/// The generated code in `pooler/db` is what the generator writes for
/// `pooler/queries/pooler.sql` with `pooler = "transaction"` today
/// (`QUARRY_BLESS=1` rewrites it).
#[tokio::test]
async fn committed_fixture_code_is_current() {
    quarry_tests::check_committed_fixture("pooler", pooler_safe()).await;
}

const PEOPLE: i64 = 8;

/// Database `people` with the fixture's schema and eight people.
async fn people(cluster: &EphemeralCluster) -> tokio_postgres::Client {
    let admin = connect(&cluster.config("postgres")).await;
    admin
        .batch_execute("CREATE DATABASE people")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client = connect(&cluster.config("people")).await;
    let schema = quarry_tests::workspace_root().join("tests/tests/pooler/schema.sql");
    let schema = std::fs::read_to_string(schema).unwrap_or_else(|e| panic!("{e}"));
    client
        .batch_execute(&schema)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .batch_execute(
            "INSERT INTO people SELECT i, 'p' || i, \
             (CASE WHEN i % 2 = 0 THEN 'happy' ELSE 'sad' END)::mood \
             FROM generate_series(1, 8) i",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
}

/// Every builtin-typed kind of the fixture, once, on `db`.
async fn every_builtin_kind<E: quarry::Executor + ?Sized>(
    db: &E,
    n: i64,
) -> Result<(), quarry::Error> {
    use db::pooler as q;
    let id = n % PEOPLE + 1;
    let person = q::get_person(db, id).await?;
    assert_eq!(person.id, id);
    q::add_note(db, id, "added").await?;
    let listed = q::list_people(db, 3).await?;
    assert_eq!(listed.len(), 3);
    let notes = q::notes_by_person(db, &[id]).await?;
    assert!(!notes.get(&id).is_empty());
    let renamed = q::rename(
        db,
        &[q::RenameParams {
            name: format!("p{id}"),
            id,
        }],
    )
    .await?;
    assert_eq!(renamed, [1]);
    let imported = q::import_notes(
        db,
        (0..2).map(|k| q::ImportNotesParams {
            person_id: id,
            body: format!("imported {k}"),
        }),
    )
    .await?;
    assert_eq!(imported, 2);
    Ok(())
}

/// Generated with `pooler = "transaction"`, the code needs no pool setting:
/// bare tokio-postgres clients connected to PgBouncer in transaction mode
/// run one row, many rows, a prefetch, a loader, a write, a batch and a
/// copy with zero errors; a query with a user-defined type is refused
/// clearly on them (they cannot keep the types), and runs on a deadpool
/// pool of the user's own, in its transactions too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_generated_pooler_safe_runs_on_plain_clients_through_pgbouncer() {
    use db::pooler as q;
    use db::types::Mood;
    let cluster = own_cluster().await;
    let primary = people(&cluster).await;
    let bouncer = PgBouncer::start(&cluster, PoolMode::Transaction, 2);

    let mut tasks = Vec::new();
    for task in 0..16_i64 {
        let client = connect(&bouncer.config("people")).await;
        tasks.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            for n in 0..40 {
                if let Err(error) = every_builtin_kind(&client, task * 40 + n).await {
                    errors.push(error.to_string());
                }
            }
            errors
        }));
    }
    let mut errors = Vec::new();
    for task in tasks {
        errors.extend(task.await.unwrap_or_else(|e| panic!("{e}")));
    }
    assert!(
        errors.is_empty(),
        "{} errors, e.g. {:?}",
        errors.len(),
        errors.first()
    );
    let notes: i64 = primary
        .query_one("SELECT count(*) FROM notes", &[])
        .await
        .map(|row| row.get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(notes, 16 * 40 * 3);

    let plain = connect(&bouncer.config("people")).await;
    match q::people_by_mood(&plain, Mood::Happy).await {
        Err(quarry::Error::Pooler {
            query: "PeopleByMood",
            source: quarry::PoolerError::NoTypeRegistry,
        }) => {}
        other => panic!("expected a pooler error, got {other:?}"),
    }

    let manager =
        quarry::deadpool_postgres::Manager::new(bouncer.config("people"), tokio_postgres::NoTls);
    let pool = quarry::deadpool_postgres::Pool::builder(manager)
        .max_size(4)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                let happy = q::people_by_mood(&conn, Mood::Happy)
                    .await
                    .map_err(|e| e.to_string())?;
                assert_eq!(happy.len(), 4);
                let tx = conn.transaction().await.map_err(|e| e.to_string())?;
                let sad = q::people_by_mood(&tx, Mood::Sad)
                    .await
                    .map_err(|e| e.to_string())?;
                assert!(sad.iter().all(|row| row.mood == Mood::Sad));
                every_builtin_kind(&tx, 1)
                    .await
                    .map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        }));
    }
    for task in tasks {
        task.await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A result column of a type created after a connection loaded the
/// database's user-defined types is a clear error, and the connection is
/// retired (a new one loads the types anew and runs the query).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_created_after_the_types_were_loaded_is_a_clear_error() {
    use db::pooler as q;
    use db::types::Mood;
    const LATER: quarry::Query = quarry::Query::new("Later", "SELECT 'x'::later AS later")
        .custom_types()
        .pooler_safe();
    let cluster = own_cluster().await;
    let admin = people(&cluster).await;
    let pool = Pool::from_config(cluster.config("people"), 2)
        .unwrap_or_else(|e| panic!("{e}"))
        .with_pooler(Pooler::Transaction);
    let conn = pool.get().await.unwrap_or_else(|e| panic!("{e}"));
    let happy = q::people_by_mood(&conn, Mood::Happy)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(happy.len(), 4);
    admin
        .batch_execute("CREATE TYPE later AS ENUM ('x')")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    match quarry::Executor::query(&conn, &LATER, &[]).await {
        Err(quarry::Error::Pooler {
            query: "Later",
            source: quarry::PoolerError::UnloadedType(_),
        }) => {}
        other => panic!("expected an unloaded type error, got {other:?}"),
    }
    assert!(conn.is_cancelled(), "the connection is retired");
    drop(conn);
    let rows = quarry::Executor::query(&pool, &LATER, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 1);
}

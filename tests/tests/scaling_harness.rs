//! The real components the scaling-out tests run against, proven to behave
//! as those tests will rely on: a PgBouncer in transaction mode with a pool
//! smaller than the number of concurrent tasks (unnamed statements pass
//! through it, named prepared statements break on it), and a streaming
//! replica made with `pg_basebackup -R` (it replays the primary, can be
//! delayed, stopped and started again). Each test starts its own cluster,
//! PgBouncer and replica, and they stop with it.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;

use codegen::pg::EphemeralCluster;
use quarry::tokio_postgres::types::Type;
use quarry_example_app::queries::shop;
use quarry_tests::pgbouncer::{PgBouncer, PoolMode};
use quarry_tests::replica::{primary_wal_lsn, Replica, ReplicaOptions};

const TASKS: usize = 32;
const PER_TASK: usize = 64; // 2,048 executions in all
const POOL_SIZE: u32 = 4;

/// A cluster of this test's own: PgBouncer's server connections and the
/// replica's WAL are then this test's only.
async fn own_cluster() -> EphemeralCluster {
    tokio::task::spawn_blocking(EphemeralCluster::start)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot start a PostgreSQL cluster: {e}"))
}

async fn connect(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Database `app` on `cluster`, with the example schema and seed data.
async fn example_app(cluster: &EphemeralCluster) -> tokio_postgres::Client {
    let admin = connect(&cluster.config("postgres")).await;
    admin.batch_execute("CREATE DATABASE app").await.unwrap();
    let client = connect(&cluster.config("app")).await;
    quarry_tests::load_example_data(&client).await;
    client
}

/// Server connections to `app` on the primary, as the primary sees them.
async fn backends_of_app(primary: &tokio_postgres::Client) -> i64 {
    primary
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unnamed_statements_pass_through_pgbouncer_in_transaction_mode() {
    let cluster = own_cluster().await;
    let primary = example_app(&cluster).await;
    let bouncer = PgBouncer::start(&cluster, PoolMode::Transaction, POOL_SIZE);
    let mode = std::fs::metadata(bouncer.socket_dir())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_no_tcp_listener(bouncer.pid());

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let config = bouncer.config("app");
        tasks.push(tokio::spawn(async move {
            let client = connect(&config).await;
            let mut errors = Vec::new();
            for i in 0..PER_TASK {
                let id = ((task + i) % 4 + 1) as i64;
                // One round trip, an unnamed statement with known types.
                match client
                    .query_typed(
                        "SELECT name FROM customers WHERE id = $1",
                        &[(&id, Type::INT8)],
                    )
                    .await
                {
                    Ok(rows) => assert_eq!(rows.len(), 1),
                    Err(e) => errors.push(e.to_string()),
                }
                if let Err(e) = client.simple_query("SELECT count(*) FROM products").await {
                    errors.push(e.to_string());
                }
            }
            errors
        }));
    }
    let mut errors = Vec::new();
    for task in tasks {
        errors.extend(task.await.unwrap());
    }
    assert_eq!(errors, Vec::<String>::new(), "{} errors", errors.len());

    // 32 clients, at most 4 server connections: PgBouncer opened exactly
    // its pool, and the primary sees exactly those.
    assert_eq!(bouncer.server_connections("app").await, POOL_SIZE as usize);
    assert_eq!(backends_of_app(&primary).await, i64::from(POOL_SIZE));
}

/// What pooler-safe mode must avoid: the pool's statement cache prepares
/// named statements (`s0`, `s1`… per connection) on whatever server
/// connection PgBouncer lends for that one transaction, and runs them later
/// on another one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_prepared_statements_break_under_pgbouncer_in_transaction_mode() {
    let cluster = own_cluster().await;
    let primary = example_app(&cluster).await;
    let bouncer = PgBouncer::start(&cluster, PoolMode::Transaction, POOL_SIZE);
    let pool = Arc::new(quarry::Pool::from_config(bouncer.config("app"), TASKS).unwrap());

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let pool = Arc::clone(&pool);
        tasks.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            for i in 0..PER_TASK {
                let id = ((task + i) % 4 + 1) as i64;
                match shop::get_customer(&*pool, id).await {
                    Ok(customer) => assert_eq!(customer.id, id),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            errors
        }));
    }
    let mut errors = Vec::new();
    for task in tasks {
        errors.extend(task.await.unwrap());
    }
    let prepared_statement_errors = errors
        .iter()
        .filter(|e| {
            e.contains("prepared statement")
                && (e.contains("does not exist") || e.contains("already exists"))
        })
        .count();
    eprintln!(
        "{} of {} executions failed, {prepared_statement_errors} on prepared statements; the first: {}",
        errors.len(),
        TASKS * PER_TASK,
        errors.first().map_or("none", String::as_str)
    );
    assert!(
        prepared_statement_errors > 0,
        "no prepared-statement error in {} failures: {errors:?}",
        errors.len()
    );
    assert_eq!(bouncer.server_connections("app").await, POOL_SIZE as usize);
    assert_eq!(backends_of_app(&primary).await, i64::from(POOL_SIZE));
}

/// PgBouncer listens on no TCP port (`ss`, as the security tests use it).
fn assert_no_tcp_listener(pid: u32) {
    let output = std::process::Command::new("ss")
        .args(["-Hltnp"])
        .output()
        .unwrap_or_else(|e| panic!("run ss (Debian package iproute2): {e}"));
    assert!(output.status.success());
    let listeners = String::from_utf8_lossy(&output.stdout);
    assert!(
        !listeners.contains(&format!("pid={pid},")),
        "PgBouncer listens on TCP:\n{listeners}"
    );
}

async fn notes_db(cluster: &EphemeralCluster) -> tokio_postgres::Client {
    let admin = connect(&cluster.config("postgres")).await;
    admin.batch_execute("CREATE DATABASE app").await.unwrap();
    let client = connect(&cluster.config("app")).await;
    client
        .batch_execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
        .await
        .unwrap();
    client
}

async fn note(client: &tokio_postgres::Client, id: i32) -> Option<String> {
    client
        .query_opt("SELECT body FROM notes WHERE id = $1", &[&id])
        .await
        .unwrap()
        .map(|row| row.get(0))
}

async fn in_recovery(client: &tokio_postgres::Client) -> bool {
    client
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_streaming_replica_replays_what_the_primary_commits() {
    let cluster = own_cluster().await;
    let options = ReplicaOptions {
        settings: vec![("log_statement".to_owned(), "all".to_owned())],
        ..ReplicaOptions::default()
    };
    let replica = Replica::create(&cluster, options);
    // Made after the base backup: the database comes by streaming too.
    let primary = notes_db(&cluster).await;
    primary
        .execute("INSERT INTO notes VALUES (1, 'streamed')", &[])
        .await
        .unwrap();
    replica.wait_for_replay(&cluster).await;

    let standby = replica.connect("app").await;
    assert_eq!(note(&standby, 1).await.as_deref(), Some("streamed"));
    assert!(in_recovery(&standby).await);
    assert!(!in_recovery(&primary).await);
    // The replica's own log shows what ran there.
    assert!(replica
        .log()
        .contains("SELECT body FROM notes WHERE id = $1"));
    let write = standby
        .execute("INSERT INTO notes VALUES (2, 'refused')", &[])
        .await
        .unwrap_err();
    assert_eq!(
        write.code(),
        Some(&tokio_postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION),
        "{write}"
    );
}

#[tokio::test]
async fn a_delayed_replica_shows_a_write_only_once_it_has_replayed_it() {
    let cluster = own_cluster().await;
    let primary = notes_db(&cluster).await;
    // The delay is the margin of the read right after the write: generous,
    // so that a busy machine cannot make that read late.
    let options = ReplicaOptions {
        recovery_min_apply_delay: Some("2s".to_owned()),
        ..ReplicaOptions::default()
    };
    let replica = Replica::create(&cluster, options);
    let standby = replica.connect("app").await;

    primary
        .execute("INSERT INTO notes VALUES (1, 'delayed')", &[])
        .await
        .unwrap();
    let lsn = primary_wal_lsn(&primary).await;
    assert_eq!(note(&standby, 1).await, None, "read right after the write");
    let replayed = replica.replay_lsn().await.unwrap();
    assert!(replayed < lsn, "replayed {replayed}, the write is at {lsn}");

    replica.wait_for_lsn(lsn).await;
    assert_eq!(note(&standby, 1).await.as_deref(), Some("delayed"));
}

#[tokio::test]
async fn a_stopped_replica_refuses_connections_and_catches_up_once_started() {
    let cluster = own_cluster().await;
    let primary = notes_db(&cluster).await;
    let replica = Replica::create(&cluster, ReplicaOptions::default());
    primary
        .execute("INSERT INTO notes VALUES (1, 'before')", &[])
        .await
        .unwrap();
    replica.wait_for_replay(&cluster).await;
    let session = replica.connect("app").await;
    assert_eq!(note(&session, 1).await.as_deref(), Some("before"));

    // Stopping blocks; other tasks go on meanwhile.
    let replica = Arc::new(replica);
    let stopping = Arc::clone(&replica);
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    assert!(!replica.is_running());
    assert!(session.query_one("SELECT 1", &[]).await.is_err());
    assert!(replica
        .config("app")
        .connect(tokio_postgres::NoTls)
        .await
        .is_err());
    assert_eq!(replica.replay_lsn().await, None);
    primary
        .execute("INSERT INTO notes VALUES (2, 'while down')", &[])
        .await
        .unwrap();

    replica.start();
    assert!(replica.is_running());
    replica.wait_for_replay(&cluster).await;
    let session = replica.connect("app").await;
    assert_eq!(note(&session, 2).await.as_deref(), Some("while down"));
}

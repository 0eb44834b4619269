//! Replica routing against a real primary and streaming replica (issue 15):
//! read-only generated queries land on the replica (its own log, with
//! `log_statement = all`, shows them by their `/* quarry:<Name> */`
//! comment), writes on the primary; read-your-writes by WAL position in a
//! task scope, an explicit session and a tower layer while the replica is delayed, with a
//! control that misses without the scope; failover when the replica stops
//! and return when it starts; a lagging replica skipped; and no extra
//! statement for a pool without replicas.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use codegen::pg::EphemeralCluster;
use quarry::tower::ReadYourWritesLayer;
use quarry::Pool;
use quarry_example_app::queries::shop;
use quarry_tests::replica::{primary_wal_lsn, Replica, ReplicaOptions};
use tower_layer::Layer as _;
use tower_service::Service as _;

const ITERATIONS: usize = 1_000;

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

/// A replica logging every statement, applying commits `delay` late.
fn logging_replica(cluster: &EphemeralCluster, delay: Option<&str>) -> Replica {
    Replica::create(
        cluster,
        ReplicaOptions {
            recovery_min_apply_delay: delay.map(str::to_owned),
            settings: vec![("log_statement".to_owned(), "all".to_owned())],
        },
    )
}

/// How many executions of the generated query `name` the log shows.
fn executions(log: &str, name: &str) -> usize {
    let marker = format!("/* quarry:{name} */");
    log.lines()
        .filter(|line| line.contains("LOG:") && line.contains(&marker))
        .count()
}

fn pool_with_replica(cluster: &EphemeralCluster, replica: &Replica) -> quarry::PoolBuilder {
    quarry::PoolBuilder::from_config(cluster.config("app"))
        .max_size(8)
        .replica_config(replica.config("app"))
}

fn email(kind: &str, i: usize) -> String {
    format!("{kind}-{i}@example.com")
}

/// Must-show 2: reads on the replica, writes on the primary; write-then-read
/// in a scope sees the row every time although the replica applies commits
/// 500 ms late; without a scope, the same read misses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_replica_and_a_scope_reads_its_own_writes() {
    routes();
    let cluster = own_cluster().await;
    let primary = example_app(&cluster).await;
    let replica = logging_replica(&cluster, Some("500ms"));
    replica.wait_for_replay(&cluster).await;
    let pool = pool_with_replica(&cluster, &replica).build().unwrap();

    // Outside any scope: reads on the replica, writes on the primary.
    let before = executions(&replica.log(), "GetCustomer");
    for id in 1..=10 {
        assert_eq!(
            shop::get_customer(&pool, id % 4 + 1).await.unwrap().id,
            id % 4 + 1
        );
    }
    let created = shop::create_customer(&pool, "outside@example.com", "Outside", None)
        .await
        .unwrap();
    let log = replica.log();
    assert_eq!(executions(&log, "GetCustomer") - before, 10);
    assert_eq!(
        executions(&log, "CreateCustomer"),
        0,
        "a write reached the replica"
    );

    let missed = control_without_scope(&pool).await;
    assert!(
        missed > 0,
        "no read missed the write: the replica is not delayed"
    );
    eprintln!("without a scope, {missed} of 20 reads right after the write missed it");

    let replica_reads = executions(&replica.log(), "GetCustomerByEmail");
    task_scopes(&pool).await;
    let db = pool.session();
    session_scope(&db).await;
    transactions_in_scopes(&pool).await;
    tower_requests(&pool).await;
    let in_scopes = executions(&replica.log(), "GetCustomerByEmail") - replica_reads;
    eprintln!("{in_scopes} scoped reads ran on the replica (it applies commits 500 ms late)");

    // Once the replica has replayed the scope's write, the scope reads
    // from it again: the rule is the WAL position, not "the primary after
    // a write".
    let lsn = primary_wal_lsn(&primary).await;
    replica.wait_for_lsn(lsn).await;
    let before = executions(&replica.log(), "GetCustomerByEmail");
    let last = email("session", ITERATIONS - 1);
    assert!(shop::get_customer_by_email(&db, &last)
        .await
        .unwrap()
        .is_some());
    assert_eq!(executions(&replica.log(), "GetCustomerByEmail") - before, 1);

    // Reads outside the scopes still go to the replica, a prefetching
    // query's snapshot (parent and relations) too.
    let since = chrono::DateTime::from_timestamp(0, 0).unwrap();
    let orders = shop::list_orders_with_details(&pool, since).await.unwrap();
    assert!(!orders.is_empty());
    assert_eq!(executions(&replica.log(), "ListOrdersWithDetails"), 1);
    let before = executions(&replica.log(), "GetCustomer");
    for _ in 0..5 {
        assert_eq!(
            shop::get_customer(&pool, created.id).await.unwrap().id,
            created.id
        );
    }
    assert_eq!(executions(&replica.log(), "GetCustomer") - before, 5);
}

/// Without a scope, write then read at once: how many of 20 reads missed.
async fn control_without_scope(pool: &Pool) -> usize {
    let mut missed = 0;
    for i in 0..20 {
        let email = email("control", i);
        shop::create_customer(pool, &email, "Control", None)
            .await
            .unwrap();
        if shop::get_customer_by_email(pool, &email)
            .await
            .unwrap()
            .is_none()
        {
            missed += 1;
        }
    }
    missed
}

/// A task scope per write-then-read: the read sees the write every time.
async fn task_scopes(pool: &Pool) {
    for i in 0..ITERATIONS {
        let email = email("task", i);
        let (written, read) = quarry::read_your_writes(async {
            let written = shop::create_customer(pool, &email, "Task", None).await?;
            let read = shop::get_customer_by_email(pool, &email).await?;
            Ok::<_, quarry::Error>((written, read))
        })
        .await
        .unwrap();
        assert_eq!(read.map(|c| c.id), Some(written.id), "iteration {i}");
    }
}

/// One explicit session for all its writes and reads.
async fn session_scope(db: &quarry::PoolSession) {
    for i in 0..ITERATIONS {
        let email = email("session", i);
        let written = shop::create_customer(db, &email, "Session", None)
            .await
            .unwrap();
        let read = shop::get_customer_by_email(db, &email).await.unwrap();
        assert_eq!(read.map(|c| c.id), Some(written.id), "iteration {i}");
    }
}

/// A quarry::transaction in a scope: its commit's position is recorded; a
/// write in a transaction the caller opened makes the scope read from the
/// primary for the rest of it.
async fn transactions_in_scopes(pool: &Pool) {
    for i in 0..50 {
        let email = email("tx", i);
        let read = quarry::read_your_writes(async {
            let owned = email.clone();
            quarry::transaction(pool, |tx| {
                let email = owned.clone();
                Box::pin(async move {
                    shop::create_customer(tx, &email, "Tx", None).await?;
                    Ok::<_, quarry::Error>(())
                })
            })
            .await?;
            shop::get_customer_by_email(pool, &email).await
        })
        .await
        .unwrap();
        assert!(read.is_some(), "quarry::transaction, iteration {i}");

        let email = format!("held-{i}@example.com");
        let read = quarry::read_your_writes(async {
            let mut conn = pool.get().await.unwrap();
            let tx = conn.transaction().await.unwrap();
            shop::create_customer(&tx, &email, "Held", None).await?;
            tx.commit().await.unwrap();
            drop(conn);
            shop::get_customer_by_email(pool, &email).await
        })
        .await
        .unwrap();
        assert!(read.is_some(), "the caller's transaction, iteration {i}");
    }
}

/// A tower layer: each request a scope.
async fn tower_requests(pool: &Pool) {
    let mut service = ReadYourWritesLayer::new().layer(SignUp { pool: pool.clone() });
    for i in 0..100 {
        assert!(
            service.call(email("tower", i)).await.unwrap(),
            "request {i}"
        );
    }
}

/// A request handler writing then reading a customer: whether it read what
/// it wrote.
#[derive(Clone)]
struct SignUp {
    pool: Pool,
}

impl tower_service::Service<String> for SignUp {
    type Response = bool;
    type Error = quarry::Error;
    type Future = Pin<Box<dyn Future<Output = Result<bool, quarry::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, email: String) -> Self::Future {
        let pool = self.pool.clone();
        Box::pin(async move {
            let written = shop::create_customer(&pool, &email, "Tower", None).await?;
            let read = shop::get_customer_by_email(&pool, &email).await?;
            Ok(read.map(|c| c.id) == Some(written.id))
        })
    }
}

/// Must-show 3: reads from several tasks while the replica stops and
/// starts again: none fails, and reads return to the replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_fail_over_to_the_primary_and_come_back() {
    let routes = routes();
    let cluster = own_cluster().await;
    let _primary = example_app(&cluster).await;
    let replica = Arc::new(logging_replica(&cluster, None));
    replica.wait_for_replay(&cluster).await;
    let pool = pool_with_replica(&cluster, &replica)
        .replica_retry_after(Duration::from_millis(200))
        .build()
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for task in 0..4_i64 {
        let (pool, stop) = (pool.clone(), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let (mut reads, mut errors) = (0_usize, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let id = task % 4 + 1;
                match shop::get_customer(&pool, id).await {
                    Ok(customer) => assert_eq!(customer.id, id),
                    Err(e) => errors.push(e.to_string()),
                }
                reads += 1;
            }
            (reads, errors)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = Arc::clone(&replica);
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    let on_replica_before_restart = executions(&replica.log(), "GetCustomer");
    assert!(on_replica_before_restart > 0, "no read reached the replica");
    // Reads go on, on the primary.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        executions(&replica.log(), "GetCustomer"),
        on_replica_before_restart
    );
    let starting = Arc::clone(&replica);
    tokio::task::spawn_blocking(move || starting.start())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.store(true, Ordering::Relaxed);

    let (mut reads, mut errors) = (0, Vec::new());
    for task in tasks {
        let (n, e) = task.await.unwrap();
        reads += n;
        errors.extend(e);
    }
    assert_eq!(
        errors,
        Vec::<String>::new(),
        "{} of {reads} reads failed",
        errors.len()
    );
    let after_restart = executions(&replica.log(), "GetCustomer") - on_replica_before_restart;
    eprintln!("{reads} reads; {after_restart} on the replica after its restart");
    assert!(after_restart > 0, "reads did not return to the replica");
    // One warning for the stop (no other test here marks a replica down).
    assert_eq!(routes.count("quarry: replica marked down"), 1);
}

/// The `quarry::route` events (fields as `name=value`) with the thread that
/// emitted them: the process's global subscriber, installed by every test
/// of this file before it runs anything (a scoped one may miss events whose
/// callsite another test's thread registers at the same time).
#[derive(Clone, Default)]
struct Routes(Arc<Mutex<Vec<(std::thread::ThreadId, String)>>>);

impl Routes {
    /// The events of the current thread so far, taken.
    fn take(&self) -> Vec<String> {
        let here = std::thread::current().id();
        let mut events = self.0.lock().unwrap();
        let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut *events)
            .into_iter()
            .partition(|(thread, _)| *thread == here);
        *events = others;
        mine.into_iter().map(|(_, event)| event).collect()
    }
}

impl Routes {
    /// How many events of any thread contain `needle`.
    fn count(&self, needle: &str) -> usize {
        let events = self.0.lock().unwrap();
        events.iter().filter(|(_, e)| e.contains(needle)).count()
    }
}

fn routes() -> &'static Routes {
    static ROUTES: OnceLock<Routes> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let routes = Routes::default();
        tracing::subscriber::set_global_default(routes.clone()).unwrap();
        routes
    })
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for Routes {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "quarry::route"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let event = (
            std::thread::current().id(),
            fields.0.trim_start().to_owned(),
        );
        self.0.lock().unwrap().push(event);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// A replica lagging beyond `max_replica_lag` is skipped, and used again
/// once it has caught up; the trace says where each statement went and why.
/// (One thread: the events of this test are this thread's.)
#[tokio::test(flavor = "current_thread")]
async fn a_lagging_replica_is_skipped() {
    let routes = routes();
    let cluster = own_cluster().await;
    let _primary = example_app(&cluster).await;
    let replica = logging_replica(&cluster, Some("4s"));
    replica.wait_for_replay(&cluster).await;
    let pool = pool_with_replica(&cluster, &replica)
        .max_replica_lag(Duration::from_millis(100))
        .build()
        .unwrap();

    let before = executions(&replica.log(), "GetCustomer");
    shop::get_customer(&pool, 1).await.unwrap();
    assert_eq!(
        executions(&replica.log(), "GetCustomer") - before,
        1,
        "caught up: used"
    );
    assert_eq!(
        routes.take(),
        ["message=quarry: statement routed query=\"GetCustomer\" to=\"replica\" replica=0 reason=read-only"]
    );

    // A write the replica receives (within ~0.6 s: the WAL writer flushes
    // asynchronous commits) but applies only after 4 s: its lag is then the
    // age of the last transaction it replayed, over 100 ms.
    let created = shop::create_customer(&pool, "lag@example.com", "Lag", None)
        .await
        .unwrap();
    let lsn = primary_wal_lsn(&connect(&cluster.config("app")).await).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let before = executions(&replica.log(), "GetCustomer");
    for _ in 0..5 {
        // The primary serves: it sees the new customer.
        assert_eq!(
            shop::get_customer(&pool, created.id).await.unwrap().id,
            created.id
        );
    }
    assert_eq!(
        executions(&replica.log(), "GetCustomer"),
        before,
        "a lagging replica served"
    );
    let routed = routes.take();
    assert_eq!(routed.len(), 6, "{routed:#?}");
    assert!(routed[0].starts_with(
        "message=quarry: statement routed query=\"CreateCustomer\" to=\"primary\" reason=write"
    ));
    for event in &routed[1..] {
        assert!(
            event.starts_with(
                "message=quarry: statement routed query=\"GetCustomer\" to=\"primary\" reason=replica lagging "
            ),
            "{event}"
        );
    }

    replica.wait_for_lsn(lsn).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    shop::get_customer(&pool, created.id).await.unwrap();
    assert_eq!(
        executions(&replica.log(), "GetCustomer") - before,
        1,
        "not used again"
    );
}

/// The primary's own server log (`server.log` next to its data directory).
fn primary_log(cluster: &EphemeralCluster) -> PathBuf {
    let dir = cluster.data_dir().parent().unwrap();
    dir.join("server.log")
}

/// A pool without replicas runs exactly the generated statements, in a
/// read-your-writes scope too: no WAL position is read. The same calls
/// through a pool with a replica do read it (so the test can fail), once,
/// on the write's connection and after the write although pipelined with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_without_replicas_issues_no_extra_statement() {
    routes();
    let cluster = own_cluster().await;
    let primary = example_app(&cluster).await;
    primary
        .batch_execute("ALTER DATABASE app SET log_statement = 'all'")
        .await
        .unwrap();
    let log = primary_log(&cluster);
    let lsn_reads = || {
        std::fs::read_to_string(&log)
            .unwrap()
            .matches("pg_current_wal_insert_lsn")
            .count()
    };

    let plain = Pool::from_config(cluster.config("app"), 4).unwrap();
    let run = |pool: Pool, tag: &'static str| async move {
        quarry::record(quarry::read_your_writes(async move {
            let email = format!("{tag}@example.com");
            let written = shop::create_customer(&pool, &email, "Plain", None)
                .await
                .unwrap();
            let read = shop::get_customer_by_email(&pool, &email).await.unwrap();
            assert_eq!(read.map(|c| c.id), Some(written.id));
        }))
        .await
    };
    let before = lsn_reads();
    let ((), recorded) = run(plain, "plain").await;
    recorded.assert_count(2);
    assert_eq!(
        lsn_reads(),
        before,
        "a pool without replicas read a WAL position"
    );

    let replica = Replica::create(&cluster, ReplicaOptions::default());
    let routed = pool_with_replica(&cluster, &replica).build().unwrap();
    let ((), recorded) = run(routed, "routed").await;
    recorded.assert_count(2);
    // Read after the write, on its connection (the same backend pid in the
    // log line prefix), though sent before the write's result arrived.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The last write in the log is the routed pool's.
    let write = lines
        .iter()
        .rposition(|l| l.contains("LOG:") && l.contains("quarry:CreateCustomer"))
        .unwrap();
    let lsn = lines
        .iter()
        .rposition(|l| l.contains("pg_current_wal_insert_lsn"))
        .unwrap();
    assert!(
        write < lsn,
        "the position was read before the write:\n{}",
        lines[write.min(lsn)..].join("\n")
    );
    let pid = |line: &str| line.split(['[', ']']).nth(1).map(str::to_owned);
    assert_eq!(
        pid(lines[write]),
        pid(lines[lsn]),
        "not on the write's connection"
    );
    assert_eq!(
        lsn_reads(),
        before + 1,
        "the routed write read no WAL position"
    );
}

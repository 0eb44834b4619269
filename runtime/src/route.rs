//! Replica routing: which server of a [`Pool`] built with replicas runs a
//! statement, and read-your-writes by WAL position.
//!
//! Owns the replicas' state (one deadpool pool each, marked down after a
//! connection failure, their replay position and lag cached and refreshed
//! on demand), the routing rule, the read-your-writes scopes
//! ([`read_your_writes`], [`PoolSession`], and the WAL position a write
//! leaves in them) and the `quarry::route` tracing. The [`Executor`] impl of
//! [`Pool`] asks it where each statement goes ([`Pool::route`]); a pool
//! without replicas pays one branch.
//!
//! The rule: a [read-only](Query::read_only) statement run through the
//! pool's own executor goes to a usable replica (not down, lag within
//! [`PoolBuilder::max_replica_lag`](crate::PoolBuilder::max_replica_lag),
//! and, in a scope that wrote, replayed past that write); everything else
//! goes to the primary.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use deadpool_postgres::{ClientWrapper, Object};
use postgres_types::ToSql;
use tokio::task::futures::TaskLocalFuture;
use tokio_postgres::types::PgLsn;
use tokio_postgres::{Client, Row, SimpleQueryMessage};

use crate::retry::Failure;
use crate::{
    Error, Executor, Pool, PoolBuildError, PoolBuilder, PooledConnection, Pooler, Query, RowStream,
    Snapshot,
};

/// How often, at most, a replica's replay position and lag are read again
/// (by the read that finds them older), unless a scope needs a later
/// position than the cached one.
const REFRESH: Duration = Duration::from_millis(250);

/// Read on a replica: its replay position, and its lag in seconds (0 when
/// it has replayed all it received).
const STATUS_SQL: &str = "SELECT pg_last_wal_replay_lsn(), \
     COALESCE(CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
     ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END, 0)::float8";

/// Read on the primary right after a write, on the write's connection: at
/// or after the write's commit record even under `synchronous_commit = off`.
const INSERT_LSN_SQL: &str = "SELECT pg_current_wal_insert_lsn()";

/// How a [`Pool`] with replicas chooses among the usable ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ReplicaStrategy {
    /// Each read starts with the next replica in turn.
    #[default]
    RoundRobin,
    /// Each read starts with the replica with the fewest connections in use
    /// in its pool (deadpool's `status()`), ties in turn.
    LeastBusy,
}

/// The routing settings of a pool with replicas.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteOptions {
    pub(crate) strategy: ReplicaStrategy,
    pub(crate) max_lag: Duration,
    pub(crate) retry_after: Duration,
}

impl Default for RouteOptions {
    fn default() -> Self {
        Self {
            strategy: ReplicaStrategy::RoundRobin,
            max_lag: Duration::from_secs(30),
            retry_after: Duration::from_secs(1),
        }
    }
}

/// The replicas of a [`Pool`].
#[derive(Debug)]
pub(crate) struct Replicas {
    nodes: Vec<Node>,
    options: RouteOptions,
    next: AtomicUsize,
}

#[derive(Debug)]
struct Node {
    pool: deadpool_postgres::Pool,
    state: Mutex<NodeState>,
}

/// What is known of one replica.
#[derive(Debug, Clone, Copy, Default)]
struct NodeState {
    down_until: Option<Instant>,
    /// Replay position (only grows: a safe lower bound while cached).
    replay: u64,
    lag_secs: f64,
    checked: Option<Instant>,
}

/// Why a statement went where it went (the `reason` of the trace).
#[derive(Debug, Clone, Copy)]
enum Reason {
    ReadOnly,
    Write,
    Transaction,
    Behind { replay: u64, write: u64 },
    Down,
    Lagging(f64),
    NoReplica,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::ReadOnly => f.write_str("read-only"),
            Reason::Write => f.write_str("write"),
            Reason::Transaction => f.write_str("transaction"),
            Reason::Behind { replay, write } => write!(
                f,
                "replica behind the scope's write: replay {} < {}",
                PgLsn::from(replay),
                PgLsn::from(write)
            ),
            Reason::Down => f.write_str("replica down"),
            Reason::Lagging(secs) => write!(f, "replica lagging {secs:.3}s"),
            Reason::NoReplica => f.write_str("no replica"),
        }
    }
}

fn trace(query: &Query, to: &'static str, replica: Option<usize>, reason: Reason) {
    tracing::debug!(
        target: "quarry::route",
        query = query.name(),
        to,
        replica,
        reason = %reason,
        "quarry: statement routed"
    );
}

impl Replicas {
    pub(crate) fn new(pools: Vec<deadpool_postgres::Pool>, options: RouteOptions) -> Self {
        let nodes = pools
            .into_iter()
            .map(|pool| Node {
                pool,
                state: Mutex::new(NodeState::default()),
            })
            .collect();
        Self {
            nodes,
            options,
            next: AtomicUsize::new(0),
        }
    }

    /// The replicas in the order this read tries them.
    fn order(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut order: Vec<usize> = (0..n).map(|k| (start + k) % n).collect();
        if self.options.strategy == ReplicaStrategy::LeastBusy {
            order.sort_by_key(|&i| {
                let status = self.nodes[i].pool.status();
                status.size.saturating_sub(status.available)
            });
        }
        order
    }

    fn state(&self, i: usize) -> NodeState {
        *self.nodes[i]
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, i: usize, f: impl FnOnce(&mut NodeState)) -> NodeState {
        let mut state = self.nodes[i]
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut state);
        *state
    }

    /// Marks replica `i` down for `retry_after` (one warning when it was up).
    fn mark_down(&self, i: usize, error: &dyn fmt::Display) {
        let until = Instant::now() + self.options.retry_after;
        let mut was_up = false;
        self.update(i, |state| {
            was_up = state.down_until.is_none();
            state.down_until = Some(until);
        });
        if was_up {
            tracing::warn!(
                target: "quarry::route",
                replica = i,
                retry_after_ms = self.options.retry_after.as_millis() as u64,
                error = %error,
                "quarry: replica marked down, reads go elsewhere"
            );
        }
    }

    /// Why replica `i` is not usable for a read needing position `need`,
    /// given `state`.
    fn unusable(&self, state: &NodeState, need: u64) -> Option<Reason> {
        if state.lag_secs > self.options.max_lag.as_secs_f64() {
            return Some(Reason::Lagging(state.lag_secs));
        }
        (state.replay < need).then_some(Reason::Behind {
            replay: state.replay,
            write: need,
        })
    }

    /// A connection to a usable replica for a read in `scope`, or why none.
    async fn pick(&self, scope: Option<&Written>) -> Result<(usize, Object), Reason> {
        let need = scope.map_or(0, Written::lsn);
        let mut reason = Reason::NoReplica;
        for i in self.order() {
            let now = Instant::now();
            let state = self.state(i);
            if state.down_until.is_some_and(|until| now < until) {
                reason = Reason::Down;
                continue;
            }
            let stale = state.checked.is_none_or(|at| now - at >= REFRESH) || state.replay < need;
            if !stale {
                if let Some(why) = self.unusable(&state, need) {
                    reason = why;
                    continue;
                }
            }
            let client = match self.nodes[i].pool.get().await {
                Ok(client) => client,
                Err(error) => {
                    self.mark_down(i, &error);
                    reason = Reason::Down;
                    continue;
                }
            };
            let state = if stale {
                match self.refresh(i, &client).await {
                    Ok(state) => state,
                    Err(error) => {
                        drop(Object::take(client));
                        self.mark_down(i, &error);
                        reason = Reason::Down;
                        continue;
                    }
                }
            } else {
                state
            };
            match self.unusable(&state, need) {
                Some(why) => reason = why,
                None => return Ok((i, client)),
            }
        }
        Err(reason)
    }

    /// Reads replica `i`'s replay position and lag on `client`; the replica
    /// answered, so it is up.
    async fn refresh(&self, i: usize, client: &Client) -> Result<NodeState, tokio_postgres::Error> {
        let messages = client.simple_query(STATUS_SQL).await?;
        let row = messages.iter().find_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        });
        let replay = row
            .and_then(|row| row.get(0))
            .and_then(|text| text.parse::<PgLsn>().ok())
            .map_or(0, u64::from);
        let lag = row
            .and_then(|row| row.get(1))
            .and_then(|text| text.parse::<f64>().ok())
            .unwrap_or(f64::INFINITY);
        Ok(self.update(i, |state| {
            state.down_until = None;
            state.replay = state.replay.max(replay);
            state.lag_secs = lag;
            state.checked = Some(Instant::now());
        }))
    }
}

/// The read-your-writes state of one scope: the WAL position of its latest
/// write, or that it must read from the primary from now on.
#[derive(Debug, Default)]
pub(crate) struct Written {
    lsn: AtomicU64,
    primary_only: AtomicBool,
    /// The scope of a [`quarry::transaction`](crate::transaction) closure,
    /// whose commit the runtime sees: its statements mark nothing.
    runtime_transaction: bool,
}

impl Written {
    fn lsn(&self) -> u64 {
        self.lsn.load(Ordering::Acquire)
    }

    fn record(&self, lsn: u64) {
        self.lsn.fetch_max(lsn, Ordering::AcqRel);
    }

    fn primary_only(&self) -> bool {
        self.primary_only.load(Ordering::Acquire)
    }

    fn set_primary_only(&self) {
        self.primary_only.store(true, Ordering::Release);
    }

    fn merge(&self, other: &Written) {
        self.record(other.lsn());
        if other.primary_only() {
            self.set_primary_only();
        }
    }
}

tokio::task_local! {
    /// The current task's read-your-writes scope.
    static WRITES: Arc<Written>;
}

fn current() -> Option<Arc<Written>> {
    WRITES.try_with(Arc::clone).ok()
}

/// Runs `future` as one read-your-writes scope (a task's): after a write it
/// makes through a [`Pool`] with replicas, its reads go to a replica only
/// once that replica has replayed the write (its WAL position), to the
/// primary until then. Inside a scope already, it joins that scope. A task
/// spawned from it does not inherit it. See the
/// [`Pool`]'s replica routing for the exact rule.
///
/// ```no_run
/// # async fn demo(pool: &quarry::Pool) -> Result<(), quarry::Error> {
/// # const INSERT: quarry::Query = quarry::Query::new("AddPost", "INSERT INTO posts DEFAULT VALUES");
/// # const LIST: quarry::Query = quarry::Query::new("ListPosts", "SELECT 1").read_only();
/// use quarry::Executor as _;
/// quarry::read_your_writes(async {
///     pool.execute(&INSERT, &[]).await?;
///     // Sees the post: a replica that has replayed it, or the primary.
///     pool.query(&LIST, &[]).await
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
pub fn read_your_writes<F: Future>(future: F) -> impl Future<Output = F::Output> {
    scoped(future)
}

fn scoped<F: Future>(future: F) -> TaskLocalFuture<Arc<Written>, F> {
    WRITES.scope(current().unwrap_or_default(), future)
}

/// A read-your-writes scope of its own for `future`, with no write yet
/// (the tower layer's: one per request).
#[cfg(feature = "tower")]
pub(crate) fn fresh_scope<F: Future>(future: F) -> TaskLocalFuture<Arc<Written>, F> {
    WRITES.scope(Arc::default(), future)
}

/// A statement run outside the pool's routing (on a connection or in a
/// transaction the caller holds): a write there, whose commit the runtime
/// does not see, makes the current scope read from the primary from now on.
pub(crate) fn unrouted(query: &Query) {
    if query.is_read_only() {
        return;
    }
    let _ = WRITES.try_with(|written| {
        if !written.runtime_transaction {
            written.set_primary_only();
        }
    });
}

/// Runs a [`quarry::transaction`](crate::transaction) attempt `f` in a scope
/// of its own (its statements mark nothing), then merges that scope into the
/// current one; the caller records the commit's position with
/// [`after_write`] once it committed.
pub(crate) async fn in_transaction<T>(f: impl Future<Output = T>) -> T {
    let Some(outer) = current() else {
        return f.await;
    };
    let inner = Arc::new(Written {
        lsn: AtomicU64::new(outer.lsn()),
        primary_only: AtomicBool::new(outer.primary_only()),
        runtime_transaction: true,
    });
    let result = WRITES.scope(Arc::clone(&inner), f).await;
    outer.merge(&inner);
    result
}

/// After a write of `pool` committed on `client` (a bulk operation, a
/// transaction): records the primary's insert position in the current
/// scope, if any and if the pool has replicas (one more round trip).
pub(crate) async fn after_write(pool: &Pool, client: &Client) {
    if pool.replicas().is_none() {
        return;
    }
    if let Some(written) = current() {
        record_lsn(&written, client.simple_query(INSERT_LSN_SQL).await);
    }
}

fn record_lsn(written: &Written, messages: Result<Vec<SimpleQueryMessage>, tokio_postgres::Error>) {
    let lsn = messages.ok().and_then(|messages| {
        messages.iter().find_map(|message| match message {
            SimpleQueryMessage::Row(row) => row.get(0).and_then(|text| text.parse::<PgLsn>().ok()),
            _ => None,
        })
    });
    match lsn {
        Some(lsn) => written.record(u64::from(lsn)),
        // Position unknown: never stale rather than fast.
        None => written.set_primary_only(),
    }
}

/// Where a statement of the pool's executor runs.
#[derive(Debug)]
pub(crate) enum Route {
    /// The primary; no scope to record a write in.
    Primary,
    /// The primary, a write in a scope: its position is recorded there.
    Write(Arc<Written>),
    /// Replica `i`.
    Replica(usize),
}

impl Route {
    /// Runs `statement` (a statement of `query` on `client`); for a write in
    /// a scope, reads the primary's insert position on the same connection
    /// right behind it, pipelined (sent before the write's result arrives),
    /// and records it in the scope once the write succeeded.
    pub(crate) async fn run<T>(
        &self,
        pool: &Pool,
        query: &Query,
        client: &ClientWrapper,
        statement: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        let Route::Write(written) = self else {
            return statement.await;
        };
        // The write's execution must be sent before the position is read:
        // a statement to prepare is prepared first (cached), so that the
        // first poll of `statement` sends its execution.
        if pool.pooler() == Pooler::Session
            && !query.is_pooler_safe()
            && client.prepare_cached(query.sql()).await.is_err()
        {
            let result = statement.await;
            if result.is_ok() {
                record_lsn(written, client.simple_query(INSERT_LSN_SQL).await);
            }
            return result;
        }
        // Pooler-safe, the statement is sent on its first poll once the
        // connection knows the user-defined types: load them first.
        if query.uses_custom_types() {
            crate::executor::load_types(client, query).await?;
        }
        let (result, lsn) = futures_util::join!(statement, client.simple_query(INSERT_LSN_SQL));
        if result.is_ok() {
            record_lsn(written, lsn);
        }
        result
    }
}

impl Pool {
    /// Where `query` runs, with a connection there: the primary, unless
    /// the pool has replicas and the statement is read-only.
    pub(crate) async fn route(&self, query: &Query) -> Result<(Object, Route), Error> {
        let Some(replicas) = self.replicas() else {
            return Ok((self.checkout(query).await?, Route::Primary));
        };
        let scope = current();
        let reason = if !query.is_read_only() {
            Reason::Write
        } else if scope.as_deref().is_some_and(Written::primary_only) {
            Reason::Transaction
        } else {
            match replicas.pick(scope.as_deref()).await {
                Ok((i, client)) => {
                    trace(query, "replica", Some(i), Reason::ReadOnly);
                    return Ok((client, Route::Replica(i)));
                }
                Err(reason) => reason,
            }
        };
        trace(query, "primary", None, reason);
        let client = self.checkout(query).await?;
        let route = match scope {
            Some(written) if !query.is_read_only() => Route::Write(written),
            _ => Route::Primary,
        };
        Ok((client, route))
    }

    /// [`retrying`](Pool::retrying) on the route's server; a read whose
    /// replica connection failed marks the replica down and runs on the
    /// primary instead, the caller none the wiser.
    pub(crate) async fn retrying_routed<T, F, Fut>(
        &self,
        query: &Query,
        route: &Route,
        client: Object,
        attempt: F,
    ) -> Result<(T, Object), Error>
    where
        F: Fn(Object) -> Fut,
        Fut: Future<Output = (Object, Result<T, Failure>)>,
    {
        let (Route::Replica(i), Some(replicas)) = (route, self.replicas()) else {
            return self.retrying(query, client, attempt).await;
        };
        let (client, result) = attempt(client).await;
        let failure = match result {
            Ok(value) => return Ok((value, client)),
            Err(failure) if failure.is_connection_failure() => failure,
            Err(failure) => return Err(failure.into_error()),
        };
        drop(Object::take(client));
        replicas.mark_down(*i, &failure.error);
        trace(query, "primary", None, Reason::Down);
        let client = self.checkout(query).await?;
        self.retrying(query, client, attempt).await
    }

    /// The connection of a [`snapshot`](Executor::snapshot): a replica's for
    /// a read-only `query` when one is usable, else the primary's.
    pub(crate) async fn snapshot_connection(
        &self,
        query: &Query,
    ) -> Result<PooledConnection, Error> {
        if self.replicas().is_some() {
            let (client, _) = self.route(query).await?;
            return Ok(PooledConnection::from(client).with_pooler(self.pooler()));
        }
        self.get().await.map_err(|source| Error::Pool {
            query: query.name(),
            source,
        })
    }

    /// A read-your-writes scope of its own, as an executor: its reads see
    /// its writes (see [`PoolSession`]).
    pub fn session(&self) -> PoolSession {
        PoolSession {
            pool: self.clone(),
            written: Arc::default(),
        }
    }
}

/// A [`Pool`] with a read-your-writes scope of its own ([`Pool::session`]):
/// an [`Executor`] whose reads see its own writes, whatever task runs them.
/// A write through it (a non-read-only statement, a bulk operation) records
/// the primary's WAL position; a read through it goes to a replica only once
/// that replica has replayed it. Cheap to create; one per request or unit
/// of work.
///
/// [`pin`](Executor::pin) and a [`snapshot`](Executor::snapshot) of a query
/// that is not read-only hand out a primary connection whose statements the
/// session does not see: the session then reads from the primary for the
/// rest of its life (never stale rather than fast).
#[derive(Debug, Clone)]
pub struct PoolSession {
    pool: Pool,
    written: Arc<Written>,
}

impl PoolSession {
    /// The pool it runs on.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs `future` inside this session's scope.
    fn scope<F: Future>(&self, future: F) -> TaskLocalFuture<Arc<Written>, F> {
        WRITES.scope(Arc::clone(&self.written), future)
    }
}

impl Executor for PoolSession {
    fn query(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        self.scope(self.pool.query(query, params))
    }

    fn execute(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send {
        self.scope(self.pool.execute(query, params))
    }

    fn query_stream(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<RowStream, Error>> + Send {
        self.scope(self.pool.query_stream(query, params))
    }

    fn pin(
        &self,
        query: &'static Query,
    ) -> impl Future<Output = Result<impl Executor + Send + '_, Error>> + Send + '_ {
        self.written.set_primary_only();
        self.pool.pin(query)
    }

    fn snapshot(
        &self,
        query: &'static Query,
    ) -> impl Future<Output = Result<Snapshot<impl Executor + Send + '_>, Error>> + Send + '_ {
        if !query.is_read_only() {
            self.written.set_primary_only();
        }
        self.scope(self.pool.snapshot(query))
    }

    fn bulk<W: crate::BulkWork>(
        &self,
        query: &'static Query,
        work: W,
    ) -> impl Future<Output = Result<W::Output, Error>> + Send {
        self.scope(self.pool.bulk(query, work))
    }
}

/// The replicas a [`PoolBuilder`](crate::PoolBuilder) was given, and how to
/// route among them.
#[derive(Debug, Default)]
pub(crate) struct ReplicaConfig {
    configs: Vec<Result<tokio_postgres::Config, PoolBuildError>>,
    options: RouteOptions,
}

impl ReplicaConfig {
    /// One deadpool pool per replica, with the primary's max size and
    /// statement timeout; `None` without replicas.
    pub(crate) fn build(
        self,
        max_size: usize,
        statement_timeout: Option<Duration>,
    ) -> Result<Option<Arc<Replicas>>, PoolBuildError> {
        if self.configs.is_empty() {
            return Ok(None);
        }
        let mut pools = Vec::with_capacity(self.configs.len());
        for config in self.configs {
            pools.push(crate::pool::deadpool(config?, max_size, statement_timeout)?);
        }
        Ok(Some(Arc::new(Replicas::new(pools, self.options))))
    }
}

/// Replicas: read-only statements of the pool's executor go to them.
impl PoolBuilder {
    /// Adds a streaming replica of the primary, by connection string (as
    /// [`Pool::builder`] takes it); repeatable. It gets a pool of its own,
    /// with the primary's max size and statement timeout. Read-only
    /// statements run through the [`Pool`]'s executor go to a usable replica
    /// (see [`Pool`]'s "Replicas"); everything else to the primary.
    pub fn replica(mut self, url: &str) -> PoolBuilder {
        let config = url
            .parse::<tokio_postgres::Config>()
            .map_err(PoolBuildError::InvalidConfig);
        self.routing.configs.push(config);
        self
    }

    /// Adds a streaming replica by tokio-postgres configuration (see
    /// [`replica`](Self::replica)).
    pub fn replica_config(mut self, config: tokio_postgres::Config) -> PoolBuilder {
        self.routing.configs.push(Ok(config));
        self
    }

    /// How a read chooses among usable replicas (default
    /// [`ReplicaStrategy::RoundRobin`]).
    pub fn replica_strategy(mut self, strategy: ReplicaStrategy) -> PoolBuilder {
        self.routing.options.strategy = strategy;
        self
    }

    /// A replica lagging more than `lag` behind the primary (default 30 s)
    /// is skipped. The lag is 0 when the replica has replayed all it
    /// received, else the age of the last transaction it replayed.
    pub fn max_replica_lag(mut self, lag: Duration) -> PoolBuilder {
        self.routing.options.max_lag = lag;
        self
    }

    /// How long a replica that failed (could not connect, or its connection
    /// failed under a read) is skipped before it is tried again (default
    /// 1 s).
    pub fn replica_retry_after(mut self, retry_after: Duration) -> PoolBuilder {
        self.routing.options.retry_after = retry_after;
        self
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::Duration;

    use super::{Reason, ReplicaConfig, ReplicaStrategy, Replicas, RouteOptions, Written};
    use crate::{Pool, PoolBuildError};

    /// Replicas on sockets nobody listens on (connecting fails at once).
    fn unreachable(n: usize, options: RouteOptions) -> Result<Replicas, PoolBuildError> {
        let mut config = ReplicaConfig {
            options,
            ..ReplicaConfig::default()
        };
        for i in 0..n {
            let url = format!("host=/nonexistent/quarry-route-{i} user=app dbname=app");
            config.configs.push(
                url.parse::<tokio_postgres::Config>()
                    .map_err(PoolBuildError::InvalidConfig),
            );
        }
        match config.build(2, None)? {
            Some(replicas) => Ok(Arc::into_inner(replicas).ok_or(PoolBuildError::ZeroMaxSize)?),
            None => Err(PoolBuildError::ZeroMaxSize),
        }
    }

    #[test]
    fn reasons_read_as_the_trace_shows_them() {
        let behind = Reason::Behind {
            replay: 0x3000060,
            write: 0x30000D8,
        };
        assert_eq!(
            behind.to_string(),
            "replica behind the scope's write: replay 0/3000060 < 0/30000D8"
        );
        assert_eq!(
            Reason::Lagging(4.2134).to_string(),
            "replica lagging 4.213s"
        );
        for (reason, text) in [
            (Reason::ReadOnly, "read-only"),
            (Reason::Write, "write"),
            (Reason::Transaction, "transaction"),
            (Reason::Down, "replica down"),
            (Reason::NoReplica, "no replica"),
        ] {
            assert_eq!(reason.to_string(), text);
        }
    }

    #[tokio::test]
    async fn round_robin_starts_with_each_replica_in_turn() -> Result<(), PoolBuildError> {
        let replicas = unreachable(3, RouteOptions::default())?;
        assert_eq!(replicas.order(), [0, 1, 2]);
        assert_eq!(replicas.order(), [1, 2, 0]);
        assert_eq!(replicas.order(), [2, 0, 1]);
        let least_busy = RouteOptions {
            strategy: ReplicaStrategy::LeastBusy,
            ..RouteOptions::default()
        };
        // Nothing in use anywhere: ties in turn.
        let replicas = unreachable(2, least_busy)?;
        assert_eq!(replicas.order(), [0, 1]);
        assert_eq!(replicas.order(), [1, 0]);
        Ok(())
    }

    #[tokio::test]
    async fn a_replica_that_cannot_connect_is_down_until_retry_after() -> Result<(), PoolBuildError>
    {
        let options = RouteOptions {
            retry_after: Duration::from_secs(3600),
            ..RouteOptions::default()
        };
        let replicas = unreachable(1, options)?;
        assert!(matches!(replicas.pick(None).await, Err(Reason::Down)));
        let down = replicas.state(0).down_until;
        assert!(down.is_some());
        // Skipped without trying: still the same deadline.
        assert!(matches!(replicas.pick(None).await, Err(Reason::Down)));
        assert_eq!(replicas.state(0).down_until, down);

        let options = RouteOptions {
            retry_after: Duration::ZERO,
            ..RouteOptions::default()
        };
        let replicas = unreachable(1, options)?;
        assert!(matches!(replicas.pick(None).await, Err(Reason::Down)));
        let first = replicas.state(0).down_until;
        // Retried at once, and down again from then on.
        assert!(matches!(replicas.pick(None).await, Err(Reason::Down)));
        assert!(replicas.state(0).down_until > first);
        Ok(())
    }

    #[test]
    fn a_replica_is_usable_within_the_lag_and_past_the_scope_s_write() -> Result<(), PoolBuildError>
    {
        let replicas = unreachable(1, RouteOptions::default())?;
        let mut state = replicas.state(0);
        state.replay = 100;
        assert!(replicas.unusable(&state, 100).is_none());
        assert!(matches!(
            replicas.unusable(&state, 101),
            Some(Reason::Behind {
                replay: 100,
                write: 101
            })
        ));
        state.lag_secs = 31.0;
        assert!(matches!(
            replicas.unusable(&state, 0),
            Some(Reason::Lagging(_))
        ));
        Ok(())
    }

    #[test]
    fn a_scope_keeps_its_latest_write_and_merges_a_transaction_s() {
        let outer = Written::default();
        outer.record(20);
        outer.record(10);
        assert_eq!(outer.lsn(), 20);
        let inner = Written::default();
        inner.record(30);
        outer.merge(&inner);
        assert_eq!(outer.lsn(), 30);
        assert!(!outer.primary_only());
        inner.primary_only.store(true, Ordering::Release);
        outer.merge(&inner);
        assert!(outer.primary_only());
    }

    #[tokio::test]
    async fn a_pool_without_replicas_routes_nothing() -> Result<(), PoolBuildError> {
        let pool = Pool::connect("host=/nonexistent user=app dbname=app")?;
        assert!(pool.replicas().is_none());
        let pool = Pool::builder("host=/nonexistent user=app dbname=app")
            .replica("host=/nonexistent/replica user=app dbname=app")
            .build()?;
        assert_eq!(pool.replicas().map(|r| r.nodes.len()), Some(1));
        Ok(())
    }
}

//! [`Pool`]: a deadpool-postgres pool with Quarry's defaults.

use std::num::NonZeroUsize;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::cancel::Owned;
use crate::detect::{Detector, NPlusOne};
use crate::error::SourceMessage;
use crate::pooler::Pooler;
use crate::route::{ReplicaConfig, Replicas};

/// Connection pool over deadpool-postgres with sane defaults.
///
/// * no TLS (plain TCP or Unix socket); for TLS or any other setting build a
///   [`deadpool_postgres::Pool`] yourself and wrap it with [`Pool::from_pool`];
/// * [`RecyclingMethod::Fast`]: a returned connection is reused as is, unless
///   it was closed;
/// * at most 4 × (number of CPU cores) connections;
/// * prepared statements cached per connection (deadpool's statement cache);
/// * no statement timeout, unless set with [`PoolBuilder::statement_timeout`].
///
/// A statement whose future is dropped before it completes (a
/// `tokio::time::timeout`, a `select!`) is cancelled on the server, and the
/// connection it ran on, which may still be busy, is closed rather than
/// returned to the pool.
///
/// Connections are opened lazily, on first use: building a pool never fails
/// because the server is down. Cloning is cheap and shares the pool.
///
/// # Replicas
///
/// Built with [`PoolBuilder::replica`], a pool sends each
/// [read-only](crate::Query::read_only) statement run through it (as the executor)
/// to a usable replica — not marked down, lag within
/// [`max_replica_lag`](PoolBuilder::max_replica_lag) and, in a
/// read-your-writes scope ([`read_your_writes`](crate::read_your_writes),
/// [`Pool::session`], `quarry::tower::ReadYourWritesLayer`), replayed past
/// the scope's latest write — and everything else to the primary:
/// [`Pool::get`], [`pin`](crate::Executor::pin), bulk operations and
/// [`transaction`](crate::transaction) included. A replica that fails is
/// skipped for [`replica_retry_after`](PoolBuilder::replica_retry_after),
/// its read run on the primary with no error. Each routed statement is a
/// `debug!` event of target `quarry::route`. See `docs/scaling-out.md`.
#[derive(Clone, Debug)]
pub struct Pool {
    inner: deadpool_postgres::Pool,
    pooler: Pooler,
    /// `None` without replicas (see `route.rs`).
    replicas: Option<Arc<Replicas>>,
}

/// Error building a [`Pool`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolBuildError {
    /// The connection string could not be parsed.
    #[error("invalid connection string: {}", SourceMessage(.0))]
    InvalidConfig(#[source] tokio_postgres::Error),
    /// The maximum number of connections was zero.
    #[error("a connection pool needs a max size of at least 1")]
    ZeroMaxSize,
    /// The statement timeout was zero (PostgreSQL's "no timeout") or longer
    /// than PostgreSQL accepts (2³¹ − 1 ms, about 24 days).
    #[error("a statement timeout must be between 1 ms and 2147483647 ms, not {0:?}")]
    InvalidStatementTimeout(Duration),
    /// deadpool refused the configuration.
    #[error("cannot build the connection pool: {0}")]
    Build(#[source] deadpool_postgres::BuildError),
}

impl Pool {
    /// Creates a pool for a connection string, either a URL
    /// (`postgres://user:password@host:port/db`) or `key=value` pairs
    /// (`host=/run/postgresql user=app dbname=app`), with the default max size.
    pub fn connect(url: &str) -> Result<Pool, PoolBuildError> {
        Self::builder(url).build()
    }

    /// Creates a pool from a tokio-postgres configuration, with at most
    /// `max_size` connections.
    pub fn from_config(
        config: tokio_postgres::Config,
        max_size: usize,
    ) -> Result<Pool, PoolBuildError> {
        PoolBuilder::from_config(config).max_size(max_size).build()
    }

    /// A builder for a pool on a connection string (as [`Pool::connect`]
    /// takes it), to set the max size or a statement timeout:
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), quarry::PoolBuildError> {
    /// use std::time::Duration;
    /// let pool = quarry::Pool::builder("postgres://app@localhost/app")
    ///     .max_size(16)
    ///     .statement_timeout(Duration::from_secs(5))
    ///     .build()?;
    /// # let _ = pool;
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(url: &str) -> PoolBuilder {
        PoolBuilder {
            config: url
                .parse::<tokio_postgres::Config>()
                .map_err(PoolBuildError::InvalidConfig),
            max_size: default_max_size(),
            statement_timeout: None,
            pooler: Pooler::Session,
            routing: ReplicaConfig::default(),
        }
    }

    fn build(builder: PoolBuilder) -> Result<Pool, PoolBuildError> {
        let PoolBuilder {
            config,
            max_size,
            statement_timeout,
            pooler,
            routing,
        } = builder;
        let config = config?;
        if max_size == 0 {
            return Err(PoolBuildError::ZeroMaxSize);
        }
        let inner = deadpool(config, max_size, statement_timeout)?;
        let replicas = routing.build(max_size, statement_timeout)?;
        Ok(Self {
            inner,
            pooler,
            replicas,
        })
    }

    /// Wraps a pool configured by hand (TLS, timeouts, hooks, …).
    pub fn from_pool(pool: deadpool_postgres::Pool) -> Pool {
        Self {
            inner: pool,
            pooler: Pooler::Session,
            replicas: None,
        }
    }

    /// The pool with its statements sent as `pooler` requires: with
    /// [`Pooler::Transaction`], every statement of every query is an
    /// unnamed one (for a pool wrapped with [`from_pool`](Self::from_pool);
    /// [`PoolBuilder::pooler`] otherwise).
    pub fn with_pooler(self, pooler: Pooler) -> Pool {
        Self { pooler, ..self }
    }

    /// How the pool's statements are sent ([`PoolBuilder::pooler`]).
    pub fn pooler(&self) -> Pooler {
        self.pooler
    }

    /// Takes a connection from the pool, to run several statements on the
    /// same connection (sent concurrently, they are pipelined) or to start a
    /// transaction ([`deadpool_postgres::ClientWrapper::transaction`], through
    /// `Deref`). Outside any [`scope`](crate::scope), the checkout is one
    /// scope of the N+1 detector.
    pub async fn get(&self) -> Result<PooledConnection, deadpool_postgres::PoolError> {
        let pooler = self.pooler;
        self.inner
            .get()
            .await
            .map(|object| PooledConnection::from(object).with_pooler(pooler))
    }

    /// The replicas, if the pool has any.
    pub(crate) fn replicas(&self) -> Option<&Replicas> {
        self.replicas.as_deref()
    }

    /// The underlying deadpool-postgres pool (status, resizing, metrics).
    pub fn inner(&self) -> &deadpool_postgres::Pool {
        &self.inner
    }
}

impl From<deadpool_postgres::Pool> for Pool {
    fn from(pool: deadpool_postgres::Pool) -> Self {
        Self::from_pool(pool)
    }
}

/// How to build a [`Pool`]: [`Pool::builder`] or [`PoolBuilder::from_config`],
/// then [`build`](PoolBuilder::build). Unset, each setting is
/// [`Pool::connect`]'s default.
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct PoolBuilder {
    config: Result<tokio_postgres::Config, PoolBuildError>,
    max_size: usize,
    statement_timeout: Option<Duration>,
    pooler: Pooler,
    pub(crate) routing: ReplicaConfig,
}

impl PoolBuilder {
    /// A builder for a pool on a tokio-postgres configuration.
    pub fn from_config(config: tokio_postgres::Config) -> PoolBuilder {
        PoolBuilder {
            config: Ok(config),
            max_size: default_max_size(),
            statement_timeout: None,
            pooler: Pooler::Session,
            routing: ReplicaConfig::default(),
        }
    }

    /// At most `max_size` connections (default: 4 × the number of cores).
    pub fn max_size(mut self, max_size: usize) -> PoolBuilder {
        self.max_size = max_size;
        self
    }

    /// The server cancels every statement of the pool's connections that
    /// runs longer than `timeout` (rounded up to the millisecond): the call
    /// fails with an [`Error`](crate::Error) for which
    /// [`is_canceled`](crate::Error::is_canceled) is true, and whose message
    /// is the server's ("canceling statement due to statement timeout").
    ///
    /// It is PostgreSQL's `statement_timeout`, sent in the startup packet of
    /// every connection the pool opens (`options=-c statement_timeout=…`,
    /// after any `options` of the connection string): no extra round trip
    /// per connection, unlike a `SET` in a post-create hook, and it is the
    /// session's default, so `RESET ALL`/`DISCARD ALL` keep it, while `SET
    /// statement_timeout` in a transaction or session still overrides it.
    /// (A pooler in transaction mode, such as PgBouncer, may refuse startup
    /// options: set the timeout on the role there, `ALTER ROLE … SET
    /// statement_timeout`.)
    pub fn statement_timeout(mut self, timeout: Duration) -> PoolBuilder {
        self.statement_timeout = Some(timeout);
        self
    }

    /// How statements are sent (default [`Pooler::Session`]: each prepared
    /// once per connection, as a named statement, and cached). Behind
    /// PgBouncer in transaction mode (or any pooler that hands each
    /// transaction a different server connection), use
    /// [`Pooler::Transaction`]: every statement is then sent unnamed, with
    /// the parameter types the generator declared, in one round trip, so the
    /// generated code runs pooler-safe even if generated without `pooler =
    /// "transaction"`. See [`Pooler`].
    pub fn pooler(mut self, pooler: Pooler) -> PoolBuilder {
        self.pooler = pooler;
        self
    }

    /// Builds the pool. Connections are still opened lazily: this fails only
    /// on an invalid configuration, never because the server is down.
    pub fn build(self) -> Result<Pool, PoolBuildError> {
        Pool::build(self)
    }
}

/// A deadpool pool on `config` with Quarry's settings: the primary's, and
/// each replica's ([`crate::route`]).
pub(crate) fn deadpool(
    mut config: tokio_postgres::Config,
    max_size: usize,
    statement_timeout: Option<Duration>,
) -> Result<deadpool_postgres::Pool, PoolBuildError> {
    if let Some(timeout) = statement_timeout {
        set_statement_timeout(&mut config, timeout)?;
    }
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    deadpool_postgres::Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(PoolBuildError::Build)
}

/// Adds `-c statement_timeout=<ms>` to the startup options of `config`.
pub(crate) fn set_statement_timeout(
    config: &mut tokio_postgres::Config,
    timeout: Duration,
) -> Result<(), PoolBuildError> {
    let millis = timeout.as_nanos().div_ceil(1_000_000);
    if millis == 0 || millis > i32::MAX as u128 {
        return Err(PoolBuildError::InvalidStatementTimeout(timeout));
    }
    let setting = format!("-c statement_timeout={millis}");
    let options = match config.get_options() {
        Some(options) if !options.trim().is_empty() => format!("{options} {setting}"),
        _ => setting,
    };
    config.options(options);
    Ok(())
}

/// A connection checked out of a [`Pool`] by [`Pool::get`] (or
/// [`Executor::pin`](crate::Executor::pin)), returned to the pool on drop.
///
/// It derefs to [`deadpool_postgres::Object`], so everything a deadpool
/// connection offers works on it (`transaction()`, `statement_cache`, the
/// tokio-postgres client methods…), and it is an
/// [`Executor`](crate::Executor) that uses the connection's statement cache.
///
/// Outside any [`scope`](crate::scope)/[`record`](crate::record) block, the
/// checkout is one scope of the N+1 detector: statements run through it
/// (not those of a transaction opened on it, which is a different executor —
/// wrap such code in [`scope`](crate::scope) or [`record`](crate::record))
/// are counted per query name, from checkout to drop. Inside a block,
/// counting follows the block (e.g. one request under
/// `quarry::tower::NPlusOneLayer`), so a long-lived connection used by many
/// requests is not flagged for their sum.
///
/// When one of its statements was cancelled (its future dropped before it
/// completed), the connection is closed on drop instead of going back to the
/// pool, since the server may still be busy with that statement; until then,
/// its next statement waits for the cancel request to be delivered.
#[derive(Debug)]
pub struct PooledConnection {
    pub(crate) object: Owned,
    pub(crate) detector: Detector,
    pub(crate) pooler: Pooler,
    /// A transaction of the runtime's ([`Snapshot`](crate::Snapshot)) is
    /// open on the connection.
    pub(crate) in_transaction: AtomicBool,
}

impl PooledConnection {
    /// The connection with its statements sent as `pooler` requires
    /// ([`Pool::get`] gives it its pool's setting).
    pub fn with_pooler(self, pooler: Pooler) -> PooledConnection {
        if pooler == Pooler::Transaction {
            // Its transactions (deadpool's, through `Deref`) are pooler-safe too.
            crate::pooler::mark_unnamed(&self.object.statement_cache);
        }
        Self { pooler, ..self }
    }

    /// What the N+1 detector flagged on this checkout so far, outside any
    /// scope (empty when the policy is [`Off`](crate::NPlusOneAction::Off)).
    pub fn n_plus_one(&self) -> Vec<NPlusOne> {
        self.detector.lock().flagged()
    }

    /// Whether one of its statements was cancelled: then the connection is
    /// closed when dropped, rather than returned to the pool.
    pub fn is_cancelled(&self) -> bool {
        self.object.state().is_cancelled()
    }

    /// The deadpool connection, returned to the pool when dropped — even
    /// after a cancellation (a raw deadpool object has no cancellation state).
    pub fn into_inner(self) -> deadpool_postgres::Object {
        self.object.into_inner()
    }
}

impl From<deadpool_postgres::Object> for PooledConnection {
    /// Makes a deadpool connection a quarry checkout (a new detector scope).
    fn from(object: deadpool_postgres::Object) -> Self {
        Self {
            object: Owned::new(object),
            detector: Detector::default(),
            pooler: Pooler::Session,
            in_transaction: AtomicBool::new(false),
        }
    }
}

impl Deref for PooledConnection {
    type Target = deadpool_postgres::Object;

    fn deref(&self) -> &Self::Target {
        &self.object
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.object
    }
}

impl AsRef<deadpool_postgres::Object> for PooledConnection {
    fn as_ref(&self) -> &deadpool_postgres::Object {
        &self.object
    }
}

/// 4 × the number of cores, as deadpool itself defaults to.
fn default_max_size() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get) * 4
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{default_max_size, set_statement_timeout, Pool, PoolBuildError};

    #[test]
    fn default_max_size_is_four_per_core() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(default_max_size(), 4 * cores);
    }

    #[test]
    fn connect_rejects_a_malformed_url() {
        let error = Pool::connect("postgres://app@localhost:notaport/app")
            .err()
            .map(|e| e.to_string());
        assert!(
            matches!(&error, Some(m) if m.starts_with("invalid connection string: ")),
            "{error:?}"
        );
    }

    #[test]
    fn zero_max_size_is_rejected() {
        let config = "host=localhost user=app"
            .parse()
            .map_err(PoolBuildError::InvalidConfig);
        let result = config.and_then(|config| Pool::from_config(config, 0));
        assert!(matches!(result, Err(PoolBuildError::ZeroMaxSize)));
    }

    #[test]
    fn the_statement_timeout_is_a_startup_option_after_the_given_ones() {
        let mut config: tokio_postgres::Config =
            match "host=localhost options='-c work_mem=4MB'".parse() {
                Ok(config) => config,
                Err(error) => panic!("{error}"),
            };
        assert!(set_statement_timeout(&mut config, Duration::from_micros(1500)).is_ok());
        assert_eq!(
            config.get_options(),
            Some("-c work_mem=4MB -c statement_timeout=2")
        );
        let mut plain = tokio_postgres::Config::new();
        assert!(set_statement_timeout(&mut plain, Duration::from_secs(5)).is_ok());
        assert_eq!(plain.get_options(), Some("-c statement_timeout=5000"));
    }

    #[test]
    fn a_zero_or_huge_statement_timeout_is_rejected() {
        for timeout in [Duration::ZERO, Duration::from_secs(30 * 24 * 3600)] {
            let built = Pool::builder("host=localhost")
                .statement_timeout(timeout)
                .build();
            assert!(
                matches!(built, Err(PoolBuildError::InvalidStatementTimeout(t)) if t == timeout),
                "{timeout:?}"
            );
        }
        let built = Pool::builder("port=notaport").max_size(3).build();
        assert!(matches!(built, Err(PoolBuildError::InvalidConfig(_))));
    }

    #[tokio::test]
    async fn connect_is_lazy_and_uses_the_defaults() {
        let pool = Pool::connect("postgres://app@127.0.0.1:1/app");
        let status = pool.as_ref().map(|pool| pool.inner().status());
        match status {
            Ok(status) => {
                assert_eq!(status.max_size, default_max_size());
                assert_eq!(status.size, 0);
            }
            Err(error) => panic!("{error}"),
        }
    }
}

//! [`Pool`]: a deadpool-postgres pool with Quarry's defaults.

use std::num::NonZeroUsize;
use std::ops::{Deref, DerefMut};

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::detect::{Detector, NPlusOne};
use crate::error::SourceMessage;

/// Connection pool over deadpool-postgres with sane defaults.
///
/// * no TLS (plain TCP or Unix socket); for TLS or any other setting build a
///   [`deadpool_postgres::Pool`] yourself and wrap it with [`Pool::from_pool`];
/// * [`RecyclingMethod::Fast`]: a returned connection is reused as is, unless
///   it was closed;
/// * at most 4 × (number of CPU cores) connections;
/// * prepared statements cached per connection (deadpool's statement cache).
///
/// Connections are opened lazily, on first use: building a pool never fails
/// because the server is down. Cloning is cheap and shares the pool.
#[derive(Clone, Debug)]
pub struct Pool {
    inner: deadpool_postgres::Pool,
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
    /// deadpool refused the configuration.
    #[error("cannot build the connection pool: {0}")]
    Build(#[source] deadpool_postgres::BuildError),
}

impl Pool {
    /// Creates a pool for a connection string, either a URL
    /// (`postgres://user:password@host:port/db`) or `key=value` pairs
    /// (`host=/run/postgresql user=app dbname=app`), with the default max size.
    pub fn connect(url: &str) -> Result<Pool, PoolBuildError> {
        let config = url
            .parse::<tokio_postgres::Config>()
            .map_err(PoolBuildError::InvalidConfig)?;
        Self::from_config(config, default_max_size())
    }

    /// Creates a pool from a tokio-postgres configuration, with at most
    /// `max_size` connections.
    pub fn from_config(
        config: tokio_postgres::Config,
        max_size: usize,
    ) -> Result<Pool, PoolBuildError> {
        if max_size == 0 {
            return Err(PoolBuildError::ZeroMaxSize);
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let inner = deadpool_postgres::Pool::builder(manager)
            .max_size(max_size)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(PoolBuildError::Build)?;
        Ok(Self { inner })
    }

    /// Wraps a pool configured by hand (TLS, timeouts, hooks, …).
    pub fn from_pool(pool: deadpool_postgres::Pool) -> Pool {
        Self { inner: pool }
    }

    /// Takes a connection from the pool, to run several statements on the
    /// same connection (sent concurrently, they are pipelined) or to start a
    /// transaction ([`deadpool_postgres::ClientWrapper::transaction`], through
    /// `Deref`). Outside any [`scope`](crate::scope), the checkout is one
    /// scope of the N+1 detector.
    pub async fn get(&self) -> Result<PooledConnection, deadpool_postgres::PoolError> {
        self.inner.get().await.map(PooledConnection::from)
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
#[derive(Debug)]
pub struct PooledConnection {
    pub(crate) object: deadpool_postgres::Object,
    pub(crate) detector: Detector,
}

impl PooledConnection {
    /// What the N+1 detector flagged on this checkout so far, outside any
    /// scope (empty when the policy is [`Off`](crate::NPlusOneAction::Off)).
    pub fn n_plus_one(&self) -> Vec<NPlusOne> {
        self.detector.lock().flagged()
    }

    /// The deadpool connection, still returned to the pool when dropped.
    pub fn into_inner(self) -> deadpool_postgres::Object {
        self.object
    }
}

impl From<deadpool_postgres::Object> for PooledConnection {
    /// Makes a deadpool connection a quarry checkout (a new detector scope).
    fn from(object: deadpool_postgres::Object) -> Self {
        Self {
            object,
            detector: Detector::default(),
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
    use super::{default_max_size, Pool, PoolBuildError};

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

//! [`Executor`]: anything a generated query can run on, and how each kind of
//! connection prepares and executes a statement.
//!
//! Every impl funnels into [`Session`] (prepare, then execute) wrapped in
//! [`observe`], so there is one code path for all of them.

use std::future::{ready, Future};

use deadpool_postgres::ClientWrapper;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::{TryFutureExt as _, TryStreamExt as _};
use postgres_types::ToSql;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Row, Statement};

use crate::cancel::{self, CancelState, Owned, StreamGuard};
use crate::client::Cache;
use crate::detect::Detector;
use crate::observe::observe;
use crate::pooler::{self, Pooler, PoolerError, TypeMap};
use crate::query::ParamType;
use crate::retry::{is_stale_plan, Failure, Stage};
use crate::{Error, Pool, PooledConnection, Query, RowStream, Snapshot};

/// Something that can run a generated query: a connection, a transaction or
/// a pool.
///
/// Implemented for:
///
/// * [`Pool`], [`PooledConnection`] (what [`Pool::get`] returns),
///   [`deadpool_postgres::Object`], [`deadpool_postgres::ClientWrapper`] and
///   [`deadpool_postgres::Transaction`]: statements are prepared once per
///   connection and then served from that connection's statement cache;
/// * [`quarry::Client`](crate::Client) and its
///   [`quarry::Transaction`](crate::Transaction): the same, for a plain
///   connection without a pool;
/// * [`tokio_postgres::Client`] and [`tokio_postgres::Transaction`]: these have
///   no statement cache, so every execution prepares the statement, executes
///   it and closes it (two round trips, about 2.5× the cost). Wrap the client
///   in a [`quarry::Client`](crate::Client) (`From`) instead;
/// * `&T` and `Box<T>` for any `T: Executor`.
///
/// On every cached executor, a statement whose cached plan the server
/// invalidated because its result type changed (`ALTER TABLE … ADD COLUMN`
/// under a `SELECT *`, SQLSTATE 0A000) is dropped from the cache, prepared
/// again and run once more, except inside a transaction (which the error
/// aborted: the error is returned, and the next attempt prepares anew).
/// Only the [`Pool`] retries after a connection failure (see its impl); a
/// connection or transaction the caller holds is the caller's to replace.
///
/// With a [`Pool`], each call takes a connection for the duration of that one
/// statement; to run several statements on one connection (or in one
/// transaction) take the connection with [`Pool::get`] and pass it instead,
/// or, in code generic over the executor, [`pin`](Executor::pin) it.
pub trait Executor: Sync {
    /// Runs `query` with `params` and returns all rows.
    fn query(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send;

    /// Runs `query` with `params` and returns the number of rows affected.
    fn execute(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Runs `query` with `params` and returns its rows as a [`RowStream`],
    /// as they arrive (memory stays flat whatever the row count). The
    /// parameters are only borrowed until the returned future resolves.
    /// With a [`Pool`], the stream holds its connection until dropped.
    fn query_stream(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<RowStream, Error>> + Send;

    /// Binds to one connection, so that the statements of one operation run
    /// on it — and, sent concurrently (`try_join!`), are pipelined on it: a
    /// pool checks one out (a [`PooledConnection`], a new N+1 detector
    /// scope); connections and transactions return themselves, immediately.
    /// The result is an executor bound to that connection for the duration
    /// of a multi-statement operation.
    ///
    /// `query` is only used to name the query in the error, should the pool
    /// fail to hand out a connection ([`Error::Pool`]).
    ///
    /// ```no_run
    /// # use quarry::{Executor, Query};
    /// # const POSTS: Query = Query::new("ListPosts", "SELECT 1");
    /// # const COMMENTS: Query = Query::new("CommentsByPost", "SELECT 2");
    /// # const AUTHORS: Query = Query::new("AuthorsById", "SELECT 3");
    /// async fn load<E: Executor + ?Sized>(db: &E) -> Result<(), quarry::Error> {
    ///     let conn = db.pin(&POSTS).await?;
    ///     let conn = &conn;
    ///     let posts = conn.query(&POSTS, &[]).await?;
    ///     // Two statements in flight at once on the same connection.
    ///     let (comments, authors) = quarry::futures_util::try_join!(
    ///         conn.query(&COMMENTS, &[]),
    ///         conn.query(&AUTHORS, &[]),
    ///     )?;
    /// #   let _ = (posts, comments, authors);
    ///     Ok(())
    /// }
    /// ```
    // Not a named associated type (`type Pinned<'a>: Executor where Self: 'a`):
    // with such a GAT, rustc (up to at least 1.95) cannot prove that the future
    // of a generic function that pins and then calls another pinning function
    // is `Send` for a concrete executor whose pinned type borrows
    // (`&'a Client`) — "implementation of `Executor` is not general enough",
    // caused by the GAT's `Self: 'a` clause. The anonymous type has no such
    // clause; runtime/tests/pinned_shape.rs checks the pattern.
    fn pin(
        &self,
        query: &'static Query,
    ) -> impl Future<Output = Result<impl Executor + Send + '_, Error>> + Send + '_;

    /// Like [`pin`](Executor::pin), for the statements of one prefetching
    /// call (the parent `query` and its relations), which then read one
    /// snapshot of the database: a [`Pool`] checks a connection out and, for
    /// a [read-only](Query::read_only) `query`, runs them in a `READ ONLY`
    /// `REPEATABLE READ` transaction (`BEGIN` pipelined with the first
    /// statement, `COMMIT` sent without the caller waiting for it); a
    /// transaction is one already; on a connection the caller holds, the
    /// runtime opens no transaction (wrap the call in one for the
    /// guarantee). See [`Snapshot`] and [`Snapshot::finish`], which must end
    /// it.
    ///
    /// ```no_run
    /// # use quarry::{Executor, Query};
    /// # const POSTS: Query = Query::new("ListPosts", "SELECT 1").read_only();
    /// # const AUTHORS: Query = Query::new("AuthorsById", "SELECT 2").read_only();
    /// async fn load<E: Executor + ?Sized>(db: &E) -> Result<usize, quarry::Error> {
    ///     let conn = db.snapshot(&POSTS).await?;
    ///     let result = async {
    ///         let posts = conn.query(&POSTS, &[]).await?;
    ///         let authors = conn.query(&AUTHORS, &[]).await?;
    ///         Ok(posts.len() + authors.len())
    ///     }
    ///     .await;
    ///     conn.finish(result).await
    /// }
    /// ```
    fn snapshot(
        &self,
        query: &'static Query,
    ) -> impl Future<Output = Result<Snapshot<impl Executor + Send + '_>, Error>> + Send + '_ {
        self.pin(query).map_ok(Snapshot::pinned)
    }

    /// Runs a bulk operation (a `:copyfrom` copy, a `:batch…` batch) on one
    /// connection: a [`Pool`] checks one out for it, connections and
    /// transactions lend themselves. The operations are
    /// [`copy_in`](crate::copy_in) and the `batch_*` functions
    /// ([`batch_execute`](crate::batch_execute)); this is their hook into
    /// each executor.
    #[doc(hidden)]
    fn bulk<W: BulkWork>(
        &self,
        query: &'static Query,
        work: W,
    ) -> impl Future<Output = Result<W::Output, Error>> + Send;
}

/// A bulk operation, run by [`Executor::bulk`] on the connection it is given.
#[doc(hidden)]
pub trait BulkWork: Send {
    /// What the operation returns.
    type Output: Send;

    /// Runs the operation on `conn`.
    fn run(self, conn: Bulk<'_>) -> impl Future<Output = Result<Self::Output, Error>> + Send;
}

/// The connection a [`BulkWork`] runs on: the client, its statement cache,
/// whether it is in a transaction, and the N+1 detector of its checkout.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Bulk<'a> {
    session: Session<'a>,
    detector: Option<&'a Detector>,
}

impl<'a> Bulk<'a> {
    fn new(session: Session<'a>) -> Self {
        Self {
            session,
            detector: None,
        }
    }

    /// The client the statements are sent on.
    pub(crate) fn client(self) -> &'a Client {
        self.session.client
    }

    /// Whether the connection is in a transaction already (one of the
    /// caller's, which the operation joins).
    pub(crate) fn in_transaction(self) -> bool {
        self.session.in_transaction
    }

    /// The N+1 detector of the pool checkout, if the connection is one.
    pub(crate) fn detector(self) -> Option<&'a Detector> {
        self.detector
    }

    /// Prepares `sql` (for `query`) through the connection's statement
    /// cache; or, when `query` is sent [unnamed](Session::is_unnamed), not
    /// cached: the statement is then closed when dropped, which the
    /// operation does before its transaction ends (see [`Self::pooler_safe`]).
    pub(crate) async fn prepare(self, query: &Query, sql: &str) -> Result<Statement, Error> {
        let client = self.session.client;
        let prepared = if self.session.is_unnamed(query) {
            client.prepare(sql).await
        } else {
            self.session.cache.prepare(client, sql).await
        };
        prepared.map_err(|source| Error::db(query.name(), source))
    }

    /// Whether the operation must be pooler-safe: then its named
    /// statements live only inside one transaction (the caller's, or one of
    /// its own), and the connection knows the database's user-defined types
    /// before that transaction begins — what [`Self::load_types`] ensures.
    pub(crate) fn pooler_safe(self, query: &Query) -> bool {
        self.session.is_unnamed(query)
    }

    /// Loads the database's user-defined types on the connection if a
    /// [pooler-safe](Self::pooler_safe) `query` uses some and they are not
    /// loaded yet: before the operation's own transaction begins.
    pub(crate) async fn load_types(self, query: &Query) -> Result<(), Error> {
        if self.pooler_safe(query) && query.uses_custom_types() {
            self.session
                .user_types(query)
                .await
                .map_err(Failure::into_error)?;
        }
        Ok(())
    }

    /// The cancel guard of a statement about to be sent ([`cancel::arm`]).
    pub(crate) async fn arm(self) -> cancel::Guard<'a> {
        cancel::arm(self.session.client, self.session.cancel).await
    }
}

/// A connection as the executors see it: the client that talks to the
/// server, its statement cache (if any), and whether it is in a transaction.
///
/// A cached statement whose plan the server invalidated (its result type
/// changed, after `ALTER TABLE`) is evicted from the cache and, outside a
/// transaction, prepared and run once more (see [`crate::retry`]).
#[derive(Clone, Copy)]
struct Session<'a> {
    client: &'a Client,
    cache: Cache<'a>,
    /// A failed statement aborts a transaction: nothing can be re-run in it.
    in_transaction: bool,
    /// The cancellation state of a connection the runtime owns ([`cancel`]).
    cancel: Option<&'a CancelState>,
    /// Every statement is sent unnamed ([`Pooler::Transaction`]), not only
    /// those of [pooler-safe](Query::pooler_safe) queries.
    unnamed: bool,
}

impl<'a> Session<'a> {
    fn uncached(client: &'a Client) -> Self {
        Self {
            client,
            cache: Cache::None,
            in_transaction: false,
            cancel: None,
            unnamed: false,
        }
    }

    fn cached(client: &'a ClientWrapper) -> Self {
        Self {
            client,
            cache: Cache::Deadpool(&client.statement_cache),
            in_transaction: false,
            cancel: None,
            unnamed: pooler::is_unnamed(&client.statement_cache),
        }
    }

    /// The session with its statements sent as `pooler` requires.
    fn pooler(self, pooler: Pooler) -> Self {
        Self {
            unnamed: pooler == Pooler::Transaction,
            ..self
        }
    }

    /// Whether `query` is sent as an unnamed statement.
    fn is_unnamed(self, query: &Query) -> bool {
        self.unnamed || query.is_pooler_safe()
    }

    /// A connection the runtime owns: a cancelled statement marks it, so
    /// that it is not returned to its pool.
    /// (Its pool says whether it sends unnamed statements: [`pooler`](Self::pooler).)
    fn owned(client: &'a Owned) -> Self {
        Self {
            client,
            cache: Cache::Deadpool(&client.statement_cache),
            in_transaction: false,
            cancel: Some(client.state()),
            unnamed: false,
        }
    }

    async fn prepare(self, query: &Query) -> Result<Statement, Failure> {
        self.cache
            .prepare(self.client, query.sql())
            .await
            .map_err(|source| Failure::new(query, Stage::Prepare, source))
    }

    /// [`run_unguarded`](Self::run_unguarded), cancelled on the server when
    /// dropped before it completes ([`cancel::arm`]).
    async fn run<T, F, Fut>(self, query: &Query, execute: F) -> Result<T, Failure>
    where
        F: Fn(Statement) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let guard = cancel::arm(self.client, self.cancel).await;
        let result = self.run_unguarded(query, execute).await;
        guard.disarm();
        result
    }

    /// Prepares `query` (through the cache) and runs `execute` with the
    /// statement, healing a stale cached statement once.
    async fn run_unguarded<T, F, Fut>(self, query: &Query, execute: F) -> Result<T, Failure>
    where
        F: Fn(Statement) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let statement = self.prepare(query).await?;
        let source = match execute(statement).await {
            Ok(value) => return Ok(value),
            Err(source) => source,
        };
        if !(is_stale_plan(&source) && self.cache.evict(query.sql())) {
            return Err(Failure::new(query, Stage::Execute, source));
        }
        tracing::debug!(
            query = query.name(),
            in_transaction = self.in_transaction,
            "quarry: cached statement evicted, its result type changed"
        );
        if self.in_transaction {
            return Err(Failure::new(query, Stage::Execute, source));
        }
        let statement = self.prepare(query).await?;
        execute(statement).await.map_err(|retried| {
            // A transaction begun by hand (`BEGIN`) was aborted by the first
            // error: report that one.
            let aborted = retried.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION);
            Failure::new(
                query,
                Stage::Execute,
                if aborted { source } else { retried },
            )
        })
    }

    /// Runs `query` as one unnamed statement carrying its declared parameter
    /// types (pooler-safe: Parse, Bind, Describe, Execute and Sync in one
    /// round trip, nothing left on the server), cancelled on the server when
    /// dropped before it completes, and hands its rows to `consume`.
    async fn run_unnamed<T, F, Fut>(
        self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
        consume: F,
    ) -> Result<T, Failure>
    where
        F: FnOnce(tokio_postgres::RowStream) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let types = self.param_types(query, params.len()).await?;
        let guard = cancel::arm(self.client, self.cancel).await;
        let typed = params
            .iter()
            .zip(types)
            .map(|(param, ty)| (*param as &dyn ToSql, ty));
        let result = match self.client.query_typed_raw(query.sql(), typed).await {
            Ok(rows) => consume(rows).await,
            Err(source) => Err(source),
        };
        guard.disarm();
        result.map_err(|source| {
            // Unnamed statements never name one: this is tokio-postgres
            // looking up an unloaded type with the statements `load_types`
            // deallocated, which fails the same way on every later call.
            if source.code() == Some(&SqlState::INVALID_SQL_STATEMENT_NAME) {
                if let Some(state) = self.cancel {
                    state.mark();
                }
                let unloaded = PoolerError::UnloadedType(source);
                return Failure::pooler(query, unloaded).at(Stage::Execute);
            }
            Failure::new(query, Stage::Execute, source)
        })
    }

    /// The types of `query`'s parameters for an unnamed statement; the
    /// user-defined ones from the connection's registry, loaded on first
    /// need ([`pooler::load_types`]).
    async fn param_types(self, query: &Query, count: usize) -> Result<Vec<Type>, Failure> {
        let named = |ty: &ParamType| matches!(ty, ParamType::Named(_));
        let types = if query.uses_custom_types() || query.param_types().iter().any(named) {
            Some(self.user_types(query).await?)
        } else {
            None
        };
        pooler::param_types(query, count, types.as_deref())
            .map_err(|source| Failure::pooler(query, source))
    }

    /// The connection's registry of user-defined types, loaded once.
    async fn user_types(self, query: &Query) -> Result<Arc<TypeMap>, Failure> {
        let Some(slot) = self.cache.type_slot() else {
            return Err(Failure::pooler(query, PoolerError::NoTypeRegistry));
        };
        let load = || async {
            pooler::load_types(self.client, self.in_transaction)
                .await
                .map(Arc::new)
        };
        match slot.get_or_try_init(load).await {
            Ok(types) => Ok(Arc::clone(types)),
            Err(source) => Err(Failure::new(query, Stage::Prepare, source)),
        }
    }

    async fn try_query(
        self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Failure> {
        if self.is_unnamed(query) {
            return self
                .run_unnamed(query, params, |rows| rows.try_collect())
                .await;
        }
        let client = self.client;
        self.run(query, |statement| async move {
            client.query(&statement, params).await
        })
        .await
    }

    async fn try_query_stream(
        self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<tokio_postgres::RowStream, Failure> {
        if self.is_unnamed(query) {
            return self
                .run_unnamed(query, params, |rows| ready(Ok(rows)))
                .await;
        }
        let client = self.client;
        self.run(query, |statement| async move {
            let params = params.iter().map(|param| *param as &dyn ToSql);
            client.query_raw(&statement, params).await
        })
        .await
    }

    async fn try_execute(
        self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Failure> {
        if self.is_unnamed(query) {
            return self.run_unnamed(query, params, drain).await;
        }
        let client = self.client;
        self.run(query, |statement| async move {
            client.execute(&statement, params).await
        })
        .await
    }

    async fn query(self, query: &Query, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        self.try_query(query, params)
            .await
            .map_err(Failure::into_error)
    }

    async fn query_stream(
        self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<tokio_postgres::RowStream, Error> {
        self.try_query_stream(query, params)
            .await
            .map_err(Failure::into_error)
    }

    async fn execute(self, query: &Query, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        self.try_execute(query, params)
            .await
            .map_err(Failure::into_error)
    }
}

/// Loads the database's user-defined types on the deadpool connection
/// `client` for pooler-safe statements, if not loaded yet (outside a
/// transaction).
pub(crate) async fn load_types(client: &ClientWrapper, query: &Query) -> Result<(), Failure> {
    Session::cached(client).user_types(query).await.map(drop)
}

/// Reads `rows` to the end and returns how many rows the statement affected.
async fn drain(rows: tokio_postgres::RowStream) -> Result<u64, tokio_postgres::Error> {
    let mut rows = std::pin::pin!(rows);
    while rows.try_next().await?.is_some() {}
    Ok(rows.rows_affected().unwrap_or(0))
}

/// Implements [`Executor`] for a connection type, given how to view it as a
/// [`Session`]; the pinned executor is the connection itself.
macro_rules! impl_executor_for_connection {
    ($(#[$doc:meta])* $ty:ty, |$this:ident| $session:expr) => {
        $(#[$doc])*
        impl Executor for $ty {
            fn query(
                &self,
                query: &Query,
                params: &[&(dyn ToSql + Sync)],
            ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
                let $this = self;
                observe(query, None, ready(Ok($session)), move |session| {
                    crate::route::unrouted(query);
                    session.query(query, params)
                })
            }

            fn execute(
                &self,
                query: &Query,
                params: &[&(dyn ToSql + Sync)],
            ) -> impl Future<Output = Result<u64, Error>> + Send {
                let $this = self;
                observe(query, None, ready(Ok($session)), move |session| {
                    crate::route::unrouted(query);
                    session.execute(query, params)
                })
            }

            fn query_stream(
                &self,
                query: &Query,
                params: &[&(dyn ToSql + Sync)],
            ) -> impl Future<Output = Result<RowStream, Error>> + Send {
                let $this = self;
                observe(query, None, ready(Ok($session)), move |session| async move {
                    crate::route::unrouted(query);
                    let rows = session.query_stream(query, params).await?;
                    let guard = StreamGuard::new(session.client.cancel_token(), None);
                    Ok(RowStream::new(query, rows, None).cancel_on_drop(guard))
                })
            }

            fn pin(
                &self,
                _query: &'static Query,
            ) -> impl Future<Output = Result<impl Executor + Send + '_, Error>> + Send + '_ {
                ready(Ok(self))
            }

            fn bulk<W: BulkWork>(
                &self,
                query: &'static Query,
                work: W,
            ) -> impl Future<Output = Result<W::Output, Error>> + Send {
                let $this = self;
                let bulk = Bulk::new($session);
                async move {
                    crate::route::unrouted(query);
                    work.run(bulk).await
                }
            }
        }
    };
}

impl_executor_for_connection!(
    /// Prepares every statement anew: a plain client has no statement cache.
    /// [`quarry::Client`](crate::Client) wraps one with a cache.
    Client,
    |this| Session::uncached(this)
);

impl_executor_for_connection!(
    /// Prepares every statement anew: a plain transaction has no statement cache.
    /// A [`quarry::Client`](crate::Client)'s transactions use the client's.
    tokio_postgres::Transaction<'_>,
    |this| Session {
        in_transaction: true,
        ..Session::uncached(this.client())
    }
);

impl_executor_for_connection!(
    /// Uses the connection's statement cache.
    ClientWrapper,
    |this| Session::cached(this)
);

impl_executor_for_connection!(
    /// Uses the connection's statement cache.
    deadpool_postgres::Object,
    |this| Session::cached(this)
);

impl_executor_for_connection!(
    /// Uses the statement cache of the connection the transaction runs on.
    deadpool_postgres::Transaction<'_>,
    |this| Session {
        client: this.client(),
        cache: Cache::Deadpool(&this.statement_cache),
        in_transaction: true,
        cancel: None,
        unnamed: pooler::is_unnamed(&this.statement_cache),
    }
);

impl_executor_for_connection!(
    /// Uses the client's statement cache.
    crate::Client,
    |this| Session {
        client: this,
        cache: this.cache(),
        in_transaction: false,
        cancel: None,
        unnamed: false,
    }
    .pooler(this.pooler())
);

impl_executor_for_connection!(
    /// Uses the statement cache of the client the transaction runs on.
    crate::Transaction<'_>,
    |this| Session {
        client: this.client(),
        cache: this.cache(),
        in_transaction: true,
        cancel: None,
        unnamed: false,
    }
    .pooler(this.pooler())
);

/// Uses the connection's statement cache, and counts every execution in the
/// checkout's N+1 detector scope.
impl Executor for PooledConnection {
    fn query(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        let session = self.session();
        observe(
            query,
            Some(&self.detector),
            ready(Ok(session)),
            move |session| {
                crate::route::unrouted(query);
                session.query(query, params)
            },
        )
    }

    fn execute(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send {
        let session = self.session();
        observe(
            query,
            Some(&self.detector),
            ready(Ok(session)),
            move |session| {
                crate::route::unrouted(query);
                session.execute(query, params)
            },
        )
    }

    fn query_stream(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<RowStream, Error>> + Send {
        let session = self.session();
        observe(
            query,
            Some(&self.detector),
            ready(Ok(session)),
            move |session| async move {
                crate::route::unrouted(query);
                let rows = session.query_stream(query, params).await?;
                let state = self.object.state().clone();
                let guard = StreamGuard::new(session.client.cancel_token(), Some(state));
                Ok(RowStream::new(query, rows, None).cancel_on_drop(guard))
            },
        )
    }

    fn pin(
        &self,
        _query: &'static Query,
    ) -> impl Future<Output = Result<impl Executor + Send + '_, Error>> + Send + '_ {
        ready(Ok(self))
    }

    fn bulk<W: BulkWork>(
        &self,
        query: &'static Query,
        work: W,
    ) -> impl Future<Output = Result<W::Output, Error>> + Send {
        let bulk = self.bulk_session(false);
        async move {
            crate::route::unrouted(query);
            work.run(bulk).await
        }
    }
}

impl PooledConnection {
    /// The connection as a [`Session`]: in a transaction while a snapshot
    /// of the runtime's is open on it.
    fn session(&self) -> Session<'_> {
        Session {
            in_transaction: self.in_transaction.load(Ordering::Acquire),
            ..Session::owned(&self.object).pooler(self.pooler)
        }
    }

    /// The connection as a [`Bulk`]: `in_transaction` when a snapshot
    /// transaction of the runtime's is open on it.
    pub(crate) fn bulk_session(&self, in_transaction: bool) -> Bulk<'_> {
        Bulk {
            session: Session {
                in_transaction,
                ..self.session()
            },
            detector: Some(&self.detector),
        }
    }
}

/// Takes a connection from the pool for this one statement, and uses that
/// connection's statement cache. [`pin`](Executor::pin) checks one out for
/// several statements.
///
/// A statement whose connection failed (closed, e.g. by a server restart) is
/// run once more on a fresh connection when that is safe: it never reached
/// the server (the checkout or the preparation failed), or it is
/// [read-only](Query::read_only); a write that may have run is not retried.
/// Statements on a connection the caller holds ([`pin`](Executor::pin),
/// [`Pool::get`]) are not retried: the caller owns that connection.
impl Executor for Pool {
    fn query(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        observe(
            query,
            None,
            self.route(query),
            move |(client, route)| async move {
                let route = &route;
                let attempt = |client: deadpool_postgres::Object| async move {
                    let client = Owned::new(client);
                    let statement = Session::owned(&client)
                        .pooler(self.pooler())
                        .try_query(query, params);
                    let rows = route.run(self, query, &client, statement).await;
                    (client.into_inner(), rows)
                };
                let (rows, _client) = self.retrying_routed(query, route, client, attempt).await?;
                Ok(rows)
            },
        )
    }

    fn execute(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send {
        observe(
            query,
            None,
            self.route(query),
            move |(client, route)| async move {
                let route = &route;
                let attempt = |client: deadpool_postgres::Object| async move {
                    let client = Owned::new(client);
                    let statement = Session::owned(&client)
                        .pooler(self.pooler())
                        .try_execute(query, params);
                    let count = route.run(self, query, &client, statement).await;
                    (client.into_inner(), count)
                };
                let (count, _client) = self.retrying_routed(query, route, client, attempt).await?;
                Ok(count)
            },
        )
    }

    fn query_stream(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<RowStream, Error>> + Send {
        observe(
            query,
            None,
            self.route(query),
            move |(client, route)| async move {
                let route = &route;
                let attempt = |client: deadpool_postgres::Object| async move {
                    let client = Owned::new(client);
                    let statement = Session::owned(&client)
                        .pooler(self.pooler())
                        .try_query_stream(query, params);
                    let rows = route.run(self, query, &client, statement).await;
                    (client.into_inner(), rows)
                };
                let (rows, client) = self.retrying_routed(query, route, client, attempt).await?;
                let client = Owned::new(client);
                let guard = StreamGuard::new(client.cancel_token(), Some(client.state().clone()));
                Ok(RowStream::new(query, rows, Some(client)).cancel_on_drop(guard))
            },
        )
    }

    fn pin(
        &self,
        query: &'static Query,
    ) -> impl Future<Output = Result<impl Executor + Send + '_, Error>> + Send + '_ {
        self.get().map_err(|source| Error::Pool {
            query: query.name(),
            source,
        })
    }

    fn snapshot(
        &self,
        query: &'static Query,
    ) -> impl Future<Output = Result<Snapshot<impl Executor + Send + '_>, Error>> + Send + '_ {
        self.snapshot_connection(query)
            .map_ok(|conn| Snapshot::owned(conn, query.is_read_only()))
    }

    /// Checks a connection out for the whole operation (not retried: a copy
    /// or batch may have written before its connection failed).
    async fn bulk<W: BulkWork>(&self, query: &'static Query, work: W) -> Result<W::Output, Error> {
        let client = Owned::new(self.checkout(query).await?);
        let output = work
            .run(Bulk::new(Session::owned(&client).pooler(self.pooler())))
            .await?;
        crate::route::after_write(self, &client).await;
        Ok(output)
    }
}

impl<T: Executor + ?Sized> Executor for &T {
    fn query(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        (**self).query(query, params)
    }

    fn execute(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send {
        (**self).execute(query, params)
    }

    fn query_stream(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<RowStream, Error>> + Send {
        (**self).query_stream(query, params)
    }

    fn pin(
        &self,
        query: &'static Query,
    ) -> impl Future<Output = Result<impl Executor + Send + '_, Error>> + Send + '_ {
        (**self).pin(query)
    }

    fn snapshot(
        &self,
        query: &'static Query,
    ) -> impl Future<Output = Result<Snapshot<impl Executor + Send + '_>, Error>> + Send + '_ {
        (**self).snapshot(query)
    }

    fn bulk<W: BulkWork>(
        &self,
        query: &'static Query,
        work: W,
    ) -> impl Future<Output = Result<W::Output, Error>> + Send {
        (**self).bulk(query, work)
    }
}

impl<T: Executor + ?Sized> Executor for Box<T> {
    fn query(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        (**self).query(query, params)
    }

    fn execute(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send {
        (**self).execute(query, params)
    }

    fn query_stream(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<RowStream, Error>> + Send {
        (**self).query_stream(query, params)
    }

    fn pin(
        &self,
        query: &'static Query,
    ) -> impl Future<Output = Result<impl Executor + Send + '_, Error>> + Send + '_ {
        (**self).pin(query)
    }

    fn snapshot(
        &self,
        query: &'static Query,
    ) -> impl Future<Output = Result<Snapshot<impl Executor + Send + '_>, Error>> + Send + '_ {
        (**self).snapshot(query)
    }

    fn bulk<W: BulkWork>(
        &self,
        query: &'static Query,
        work: W,
    ) -> impl Future<Output = Result<W::Output, Error>> + Send {
        (**self).bulk(query, work)
    }
}

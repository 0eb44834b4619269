//! [`Executor`]: anything a generated query can run on, and how each kind of
//! connection prepares and executes a statement.
//!
//! Every impl funnels into [`Session`] (prepare, then execute) wrapped in
//! [`observe`], so there is one code path for all of them.

use std::future::{ready, Future};

use deadpool_postgres::{ClientWrapper, StatementCache};
use futures_util::TryFutureExt as _;
use postgres_types::ToSql;
use tokio_postgres::{Client, Row, Statement};

use crate::observe::observe;
use crate::{Error, Pool, PooledConnection, Query, RowStream};

/// Something that can run a generated query: a connection, a transaction or
/// a pool.
///
/// Implemented for:
///
/// * [`Pool`], [`PooledConnection`] (what [`Pool::get`] returns),
///   [`deadpool_postgres::Object`], [`deadpool_postgres::ClientWrapper`] and
///   [`deadpool_postgres::Transaction`]: statements are prepared once per
///   connection and then served from that connection's statement cache;
/// * [`tokio_postgres::Client`] and [`tokio_postgres::Transaction`]: these have
///   no statement cache, so every execution prepares the statement and then
///   executes it (two round trips). Prefer a pooled connection on hot paths;
/// * `&T` and `Box<T>` for any `T: Executor`.
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
}

/// A connection as the executors see it: the client that talks to the
/// server, and the statement cache when the connection has one.
#[derive(Clone, Copy)]
struct Session<'a> {
    client: &'a Client,
    cache: Option<&'a StatementCache>,
}

impl<'a> Session<'a> {
    fn uncached(client: &'a Client) -> Self {
        Self {
            client,
            cache: None,
        }
    }

    fn cached(client: &'a ClientWrapper) -> Self {
        Self {
            client,
            cache: Some(&client.statement_cache),
        }
    }

    async fn prepare(self, query: &Query) -> Result<Statement, Error> {
        let prepared = match self.cache {
            Some(cache) => cache.prepare(self.client, query.sql()).await,
            None => self.client.prepare(query.sql()).await,
        };
        prepared.map_err(|source| Error::db(query.name(), source))
    }

    async fn query(self, query: &Query, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        let statement = self.prepare(query).await?;
        self.client
            .query(&statement, params)
            .await
            .map_err(|source| Error::db(query.name(), source))
    }

    async fn query_stream(
        self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<tokio_postgres::RowStream, Error> {
        let statement = self.prepare(query).await?;
        self.client
            .query_raw(&statement, params.iter().map(|param| *param as &dyn ToSql))
            .await
            .map_err(|source| Error::db(query.name(), source))
    }

    async fn execute(self, query: &Query, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        let statement = self.prepare(query).await?;
        self.client
            .execute(&statement, params)
            .await
            .map_err(|source| Error::db(query.name(), source))
    }
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
                    let rows = session.query_stream(query, params).await?;
                    Ok(RowStream::new(query, rows, None))
                })
            }

            fn pin(
                &self,
                _query: &'static Query,
            ) -> impl Future<Output = Result<impl Executor + Send + '_, Error>> + Send + '_ {
                ready(Ok(self))
            }
        }
    };
}

impl_executor_for_connection!(
    /// Prepares every statement anew: a plain client has no statement cache.
    Client,
    |this| Session::uncached(this)
);

impl_executor_for_connection!(
    /// Prepares every statement anew: a plain transaction has no statement cache.
    tokio_postgres::Transaction<'_>,
    |this| Session::uncached(this.client())
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
        cache: Some(&this.statement_cache),
    }
);

/// Uses the connection's statement cache, and counts every execution in the
/// checkout's N+1 detector scope.
impl Executor for PooledConnection {
    fn query(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        let session = Session::cached(&self.object);
        observe(
            query,
            Some(&self.detector),
            ready(Ok(session)),
            move |session| session.query(query, params),
        )
    }

    fn execute(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send {
        let session = Session::cached(&self.object);
        observe(
            query,
            Some(&self.detector),
            ready(Ok(session)),
            move |session| session.execute(query, params),
        )
    }

    fn query_stream(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<RowStream, Error>> + Send {
        let session = Session::cached(&self.object);
        observe(
            query,
            Some(&self.detector),
            ready(Ok(session)),
            move |session| async move {
                let rows = session.query_stream(query, params).await?;
                Ok(RowStream::new(query, rows, None))
            },
        )
    }

    fn pin(
        &self,
        _query: &'static Query,
    ) -> impl Future<Output = Result<impl Executor + Send + '_, Error>> + Send + '_ {
        ready(Ok(self))
    }
}

/// Takes a connection from the pool for this one statement, and uses that
/// connection's statement cache. [`pin`](Executor::pin) checks one out for
/// several statements.
impl Executor for Pool {
    fn query(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        observe(query, None, self.get_for(query), move |client| async move {
            Session::cached(&client).query(query, params).await
        })
    }

    fn execute(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send {
        observe(query, None, self.get_for(query), move |client| async move {
            Session::cached(&client).execute(query, params).await
        })
    }

    fn query_stream(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<RowStream, Error>> + Send {
        observe(query, None, self.get_for(query), move |client| async move {
            let rows = Session::cached(&client).query_stream(query, params).await?;
            Ok(RowStream::new(query, rows, Some(client)))
        })
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
}

impl Pool {
    /// A connection for one statement: not a detector scope of its own.
    async fn get_for(&self, query: &Query) -> Result<deadpool_postgres::Object, Error> {
        self.inner().get().await.map_err(|source| Error::Pool {
            query: query.name(),
            source,
        })
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
}

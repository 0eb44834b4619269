//! [`Executor`]: anything a generated query can run on, and how each kind of
//! connection prepares and executes a statement.
//!
//! Every impl funnels into [`Session`] (prepare, then execute) wrapped in
//! [`observe`], so there is one code path for all of them.

use std::future::Future;

use deadpool_postgres::{ClientWrapper, StatementCache};
use postgres_types::ToSql;
use tokio_postgres::{Client, Row, Statement};

use crate::observe::observe;
use crate::{Error, Pool, Query};

/// Something that can run a generated query: a connection, a transaction or
/// a pool.
///
/// Implemented for:
///
/// * [`Pool`], [`deadpool_postgres::Object`] (a pooled connection),
///   [`deadpool_postgres::ClientWrapper`] and [`deadpool_postgres::Transaction`]:
///   statements are prepared once per connection and then served from that
///   connection's statement cache;
/// * [`tokio_postgres::Client`] and [`tokio_postgres::Transaction`]: these have
///   no statement cache, so every execution prepares the statement and then
///   executes it (two round trips). Prefer a pooled connection on hot paths;
/// * `&T` and `Box<T>` for any `T: Executor`.
///
/// With a [`Pool`], each call takes a connection for the duration of that one
/// statement; to run several statements on one connection (or in one
/// transaction) take the connection with [`Pool::get`] and pass it instead.
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

    async fn execute(self, query: &Query, params: &[&(dyn ToSql + Sync)]) -> Result<u64, Error> {
        let statement = self.prepare(query).await?;
        self.client
            .execute(&statement, params)
            .await
            .map_err(|source| Error::db(query.name(), source))
    }
}

/// Implements [`Executor`] for a connection type, given how to view it as a
/// [`Session`].
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
                observe(query, $session.query(query, params))
            }

            fn execute(
                &self,
                query: &Query,
                params: &[&(dyn ToSql + Sync)],
            ) -> impl Future<Output = Result<u64, Error>> + Send {
                let $this = self;
                observe(query, $session.execute(query, params))
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

/// Takes a connection from the pool for this one statement, and uses that
/// connection's statement cache.
impl Executor for Pool {
    fn query(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        observe(query, async move {
            let client = self.get_for(query).await?;
            Session::cached(&client).query(query, params).await
        })
    }

    fn execute(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send {
        observe(query, async move {
            let client = self.get_for(query).await?;
            Session::cached(&client).execute(query, params).await
        })
    }
}

impl Pool {
    async fn get_for(&self, query: &Query) -> Result<deadpool_postgres::Object, Error> {
        self.get().await.map_err(|source| Error::Pool {
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
}

//! [`Snapshot`]: the executor a generated prefetching function runs its
//! parent and relation statements on, so that they read one snapshot of the
//! database — and what it costs.
//!
//! [`Executor::snapshot`] gives one. What it does depends on who owns the
//! connection:
//!
//! * a [`Pool`](crate::Pool): the runtime checks a connection out and, for a
//!   [read-only](Query::read_only) parent query, opens a `READ ONLY`
//!   `REPEATABLE READ` transaction on it. `BEGIN` is sent together with the
//!   first statement (pipelined: no round trip of its own), and
//!   [`Snapshot::finish`] sends `COMMIT` (`ROLLBACK` after an error) from a
//!   task, so the caller does not wait for it either: the connection goes
//!   back to the pool once the transaction has ended. A snapshot dropped
//!   with its transaction open (its future was dropped), or whose end
//!   failed, is closed, never returned to the pool open;
//! * a transaction: nothing to do, its statements already share a snapshot
//!   (`REPEATABLE READ` or stricter) or at least one transaction;
//! * a connection the caller holds (a client, a
//!   [`PooledConnection`](crate::PooledConnection)): the runtime does not
//!   open transactions on connections it does not own. The statements run
//!   one after the other on it, each with its own snapshot; wrap the call in
//!   a transaction for the guarantee.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::future::Either;
use postgres_types::ToSql;

use crate::executor::BulkWork;
use crate::{Error, Executor, PooledConnection, Query, Row, RowStream};

/// `BEGIN` of a snapshot: one snapshot for every statement, and no writes.
const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// A pinned executor whose statements read one snapshot when the runtime
/// owns the connection (see [`Executor::snapshot`]); end it with
/// [`finish`](Snapshot::finish).
#[must_use = "a snapshot ends with `finish`; dropped, its connection is closed"]
pub struct Snapshot<E> {
    inner: Inner<E>,
}

enum Inner<E> {
    /// The caller's connection or transaction, pinned as it is.
    Pinned(E),
    /// A connection checked out of a pool for this snapshot.
    Owned(Box<Owned>),
}

impl<E> std::fmt::Debug for Snapshot<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transaction = match &self.inner {
            Inner::Pinned(_) => false,
            Inner::Owned(owned) => owned.begun.load(Ordering::Acquire),
        };
        f.debug_struct("Snapshot")
            .field("transaction", &transaction)
            .finish_non_exhaustive()
    }
}

/// A pool connection, in a snapshot transaction once `begun`.
struct Owned {
    conn: PooledConnection,
    /// `BEGIN` was sent (with the first statement).
    begun: AtomicBool,
    /// The transaction ended (committed or rolled back).
    ended: bool,
}

impl<E> Snapshot<E> {
    /// The caller's executor, pinned: no transaction of the runtime's.
    pub(crate) fn pinned(executor: E) -> Self {
        Self {
            inner: Inner::Pinned(executor),
        }
    }

    /// Ends the snapshot and returns `result`, what the statements run on it
    /// produced: on a connection the runtime checked out, the transaction
    /// (if one was begun) is committed, or rolled back when `result` is an
    /// error, and the connection returns to the pool afterwards. The end is
    /// sent from a task of the tokio runtime (awaited here only without
    /// one), so the caller does not wait for it; its failure, which cannot
    /// change what a read-only transaction read, closes the connection.
    pub async fn finish<T>(self, result: Result<T, Error>) -> Result<T, Error> {
        if let Inner::Owned(owned) = self.inner {
            let end = (*owned).end(result.is_ok());
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn(end)),
                Err(_) => end.await,
            }
        }
        result
    }
}

impl Snapshot<PooledConnection> {
    /// A connection the runtime checked out: a snapshot transaction is begun
    /// with the first statement when `read_only`.
    pub(crate) fn owned(conn: PooledConnection, read_only: bool) -> Self {
        Self {
            inner: Inner::Owned(Box::new(Owned {
                conn,
                // Not read-only: never begun, the statements run as on a
                // pinned connection.
                begun: AtomicBool::new(!read_only),
                ended: !read_only,
            })),
        }
    }
}

impl Owned {
    /// Runs `statement` on the connection, with `BEGIN` sent just before it
    /// (pipelined: both requests go out before either answer is read) when
    /// it is the first.
    async fn run<T>(
        &self,
        query: &Query,
        statement: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        if self.begun.swap(true, Ordering::AcqRel) {
            return statement.await;
        }
        // `join` polls `BEGIN` first: its request is queued on the
        // connection before the statement's.
        self.conn.in_transaction.store(true, Ordering::Release);
        let begin = self.conn.batch_execute(BEGIN);
        let (begun, result) = futures_util::future::join(begin, statement).await;
        begun.map_err(|source| Error::db(query.name(), source))?;
        result
    }

    /// Commits (or rolls back) the transaction; the connection then goes
    /// back to the pool, or is closed when that failed.
    async fn end(mut self, commit: bool) {
        if self.ended || self.conn.is_cancelled() {
            return;
        }
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        match self.conn.batch_execute(sql).await {
            Ok(()) => {
                self.ended = true;
                self.conn.in_transaction.store(false, Ordering::Release);
            }
            Err(error) => tracing::debug!(%error, "quarry: ending a snapshot failed"),
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        if !self.ended && self.begun.load(Ordering::Acquire) {
            // An open transaction must not go back to the pool.
            self.conn.object.state().mark();
        }
    }
}

/// Runs statements on the pinned executor, or on the owned connection with
/// the transaction begun by the first one.
impl<E: Executor> Executor for Snapshot<E> {
    // The owned path is boxed: the futures of a pinned snapshot (a caller's
    // connection, a nested snapshot) stay the size of the executor's own.
    fn query(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send {
        match &self.inner {
            Inner::Pinned(executor) => Either::Left(executor.query(query, params)),
            Inner::Owned(owned) => {
                Either::Right(Box::pin(owned.run(query, owned.conn.query(query, params))))
            }
        }
    }

    fn execute(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send {
        match &self.inner {
            Inner::Pinned(executor) => Either::Left(executor.execute(query, params)),
            Inner::Owned(owned) => Either::Right(Box::pin(
                owned.run(query, owned.conn.execute(query, params)),
            )),
        }
    }

    fn query_stream(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<RowStream, Error>> + Send {
        match &self.inner {
            Inner::Pinned(executor) => Either::Left(executor.query_stream(query, params)),
            Inner::Owned(owned) => {
                let stream = owned.conn.query_stream(query, params);
                Either::Right(Box::pin(owned.run(query, stream)))
            }
        }
    }

    fn pin(
        &self,
        _query: &'static Query,
    ) -> impl Future<Output = Result<impl Executor + Send + '_, Error>> + Send + '_ {
        std::future::ready(Ok(self))
    }

    /// On the owned connection, inside the snapshot transaction once begun.
    fn bulk<W: BulkWork>(
        &self,
        query: &'static Query,
        work: W,
    ) -> impl Future<Output = Result<W::Output, Error>> + Send {
        match &self.inner {
            Inner::Pinned(executor) => Either::Left(executor.bulk(query, work)),
            Inner::Owned(owned) => {
                let begun = owned.begun.load(Ordering::Acquire);
                Either::Right(work.run(owned.conn.bulk_session(begun)))
            }
        }
    }
}

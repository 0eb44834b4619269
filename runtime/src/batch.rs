//! `:batchexec`, `:batchmany`, `:batchone`: one statement per element of a
//! slice of parameters, pipelined on one connection and atomic.
//!
//! The statement is prepared once (through the connection's cache); then
//! every element's `Bind`/`Execute` is queued on the connection before any
//! result is awaited — tokio-postgres pipelines requests sent concurrently —
//! so a batch costs one round trip, not one per element. At most
//! [`IN_FLIGHT`] elements are in flight at once: a batch of a million
//! elements streams through the connection with bounded memory, each
//! element its own statement (no bind-parameter limit).
//!
//! Atomic: inside the caller's transaction when the executor is one (the
//! batch is part of it), else inside a transaction of its own — `BEGIN`
//! sent with the preparation, `COMMIT` after the last element, `ROLLBACK`
//! at the first failing element, whose error is returned with its index
//! ([`Error::Batch`]). A batch dropped before it ends has its transaction
//! rolled back.
//!
//! Every element is a statement to [`record`](crate::record) (so a test can
//! check that they overlap: pipelined), and none is counted by the N+1
//! detector: a batch repeats its statement by design.

use std::future::{ready, Future};
use std::task::{Context, Waker};

use futures_util::stream::FuturesOrdered;
use futures_util::{StreamExt as _, TryStreamExt as _};
use postgres_types::ToSql;
use tokio_postgres::{Client, Statement};

use crate::executor::{Bulk, BulkWork};
use crate::observe::{observe, Outcome};
use crate::record::Frame;
use crate::{Error, Executor, FromRow, Query, Row};

/// How many elements of a batch are in flight at once, at most.
pub const IN_FLIGHT: usize = 4096;

/// One element of a `:batch…` query: implemented by its generated
/// `<Name>Params`, which runs the statement with its fields as parameters.
pub trait BatchParams: Sync {
    /// Runs `statement` once with this element's values (`$1, $2, …`).
    fn bind(
        &self,
        statement: &BatchStatement<'_>,
    ) -> impl Future<Output = Result<Batched, Error>> + Send;
}

/// The prepared statement of a batch, which each element runs once.
pub struct BatchStatement<'a> {
    client: &'a Client,
    statement: Statement,
    query: &'static str,
}

impl std::fmt::Debug for BatchStatement<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchStatement")
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

impl BatchStatement<'_> {
    /// Runs the statement with `values` as its parameters. The request is
    /// sent when the future is first polled.
    pub async fn run(&self, values: &[&(dyn ToSql + Sync)]) -> Result<Batched, Error> {
        let params = values.iter().map(|value| *value as &dyn ToSql);
        let stream = self
            .client
            .query_raw(&self.statement, params)
            .await
            .map_err(|source| Error::db(self.query, source))?;
        futures_util::pin_mut!(stream);
        let mut rows = Vec::new();
        while let Some(row) = stream
            .try_next()
            .await
            .map_err(|source| Error::db(self.query, source))?
        {
            rows.push(row);
        }
        let affected = stream.rows_affected().unwrap_or(rows.len() as u64);
        Ok(Batched { rows, affected })
    }
}

/// What one element of a batch produced: its rows and the number of rows
/// it affected (or returned).
#[derive(Debug)]
pub struct Batched {
    rows: Vec<Row>,
    affected: u64,
}

impl Outcome for Batched {
    fn rows(&self) -> Option<u64> {
        Some(self.affected)
    }
}

/// Runs a `:batchexec` query: `query` once for each element of `items`,
/// pipelined and atomic (see the [module](self) docs); returns the rows
/// each element affected, in element order. An empty slice sends nothing.
pub async fn batch_execute<E, P>(
    db: &E,
    query: &'static Query,
    items: &[P],
) -> Result<Vec<u64>, Error>
where
    E: Executor + ?Sized,
    P: BatchParams,
{
    let results = run(db, query, items, Expect::Any).await?;
    Ok(results
        .into_iter()
        .map(|batched| batched.affected)
        .collect())
}

/// Runs a `:batchmany` query: `query` once for each element of `items`,
/// pipelined and atomic; returns each element's rows, decoded, in element
/// order. An empty slice sends nothing.
pub async fn batch_fetch_all<R, E, P>(
    db: &E,
    query: &'static Query,
    items: &[P],
) -> Result<Vec<Vec<R>>, Error>
where
    R: FromRow,
    E: Executor + ?Sized,
    P: BatchParams,
{
    let results = run(db, query, items, Expect::Any).await?;
    results
        .iter()
        .map(|batched| crate::decode_rows(query, &batched.rows))
        .collect()
}

/// Runs a `:batchone` query: `query` once for each element of `items`,
/// pipelined and atomic; returns each element's one row, decoded, in element
/// order. An element that returns no row or several is an error
/// ([`Error::BatchRowCount`]), and, the transaction being the batch's own
/// (or the caller's), nothing of the batch remains. An empty slice sends
/// nothing.
pub async fn batch_fetch_one<R, E, P>(
    db: &E,
    query: &'static Query,
    items: &[P],
) -> Result<Vec<R>, Error>
where
    R: FromRow,
    E: Executor + ?Sized,
    P: BatchParams,
{
    // The row counts are checked before the batch's transaction ends.
    let results = run(db, query, items, Expect::One).await?;
    results
        .iter()
        .enumerate()
        .map(|(index, batched)| match batched.rows.as_slice() {
            [row] => R::from_row(row).map_err(|error| error.into_query_error(query.name())),
            rows => Err(row_count_error(query, index, rows.len())),
        })
        .collect()
}

/// What each element must return.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Any number of rows.
    Any,
    /// Exactly one row (`:batchone`): another count fails the batch.
    One,
}

/// The error of a `:batchone` element that returned `rows` rows.
fn row_count_error(query: &Query, index: usize, rows: usize) -> Error {
    Error::BatchRowCount {
        query: query.name(),
        index,
        rows,
    }
}

/// Runs the batch on one connection of `db`; nothing for no element.
async fn run<E, P>(
    db: &E,
    query: &'static Query,
    items: &[P],
    expect: Expect,
) -> Result<Vec<Batched>, Error>
where
    E: Executor + ?Sized,
    P: BatchParams,
{
    if items.is_empty() {
        return Ok(Vec::new());
    }
    db.bulk(
        query,
        Batch {
            query,
            items,
            expect,
        },
    )
    .await
}

/// A batch about to run.
struct Batch<'i, P> {
    query: &'static Query,
    items: &'i [P],
    expect: Expect,
}

impl<P: BatchParams> BulkWork for Batch<'_, P> {
    type Output = Vec<Batched>;

    async fn run(self, conn: Bulk<'_>) -> Result<Vec<Batched>, Error> {
        let Batch {
            query,
            items,
            expect,
        } = self;
        let name = query.name();
        let client = conn.client();
        conn.load_types(query).await?;
        let mut transaction = (!conn.in_transaction()).then(|| Open::new(client));
        // `BEGIN` and the preparation go out together.
        let begin = async {
            match &transaction {
                Some(_) => client.batch_execute("BEGIN").await,
                None => Ok(()),
            }
        };
        let (begun, statement) =
            futures_util::future::join(begin, conn.prepare(query, query.sql())).await;
        begun.map_err(|source| Error::db(name, source))?;
        let statement = BatchStatement {
            client,
            statement: statement?,
            query: name,
        };
        let results = Frame::unwatched(elements(query, &statement, items, expect)).await;
        // Closed before the transaction ends (a pooler-safe statement must
        // not outlive it); a cached one stays in the cache.
        drop(statement);
        let end = match (&results, &transaction) {
            (_, None) => return results,
            (Ok(_), Some(_)) => "COMMIT",
            (Err(_), Some(_)) => "ROLLBACK",
        };
        let ended = client.batch_execute(end).await;
        if let Some(open) = transaction.as_mut() {
            open.closed();
        }
        let results = results?;
        ended.map_err(|source| Error::db(name, source))?;
        Ok(results)
    }
}

/// Runs every element, [`IN_FLIGHT`] at most at once, sent in order; stops
/// at the first failing one (the transaction is aborted: the rest would
/// fail).
async fn elements<P: BatchParams>(
    query: &'static Query,
    statement: &BatchStatement<'_>,
    items: &[P],
    expect: Expect,
) -> Result<Vec<Batched>, Error> {
    let mut results = Vec::with_capacity(items.len());
    let mut queued = items.iter();
    let mut running = FuturesOrdered::new();
    loop {
        while running.len() < IN_FLIGHT {
            let Some(item) = queued.next() else { break };
            running.push_back(element(query, statement, item));
        }
        match running.next().await {
            Some(Ok(batched)) if expect == Expect::One && batched.rows.len() != 1 => {
                return Err(row_count_error(query, results.len(), batched.rows.len()));
            }
            Some(Ok(batched)) => results.push(batched),
            Some(Err(error)) => return Err(error.into_batch_error(results.len())),
            None => return Ok(results),
        }
    }
}

/// One element's statement, observed (recorded, traced) like any other.
fn element<'a, P: BatchParams>(
    query: &'static Query,
    statement: &'a BatchStatement<'_>,
    item: &'a P,
) -> impl Future<Output = Result<Batched, Error>> + Send + 'a {
    observe(query, None, ready(Ok(())), move |()| item.bind(statement))
}

/// A transaction the batch began on a connection it does not own: dropped
/// open (the batch's future was dropped), it queues a `ROLLBACK` so that the
/// connection is not left inside it.
pub(crate) struct Open<'a> {
    client: &'a Client,
    open: bool,
}

impl<'a> Open<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client, open: true }
    }

    pub(crate) fn closed(&mut self) {
        self.open = false;
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        // tokio-postgres sends a request when its future is first polled;
        // the response is discarded once the future is gone.
        let rollback = self.client.batch_execute("ROLLBACK");
        futures_util::pin_mut!(rollback);
        let _ = rollback
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()));
    }
}

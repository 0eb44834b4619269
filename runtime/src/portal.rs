//! Chunked prefetch streams: [`PortalExecutor`] (the executors that can hold
//! a server-side portal), [`PrefetchRows`] (what a generated row type with
//! `@prefetch` relations implements) and [`fetch_chunked`], what the
//! `<name>_stream` function of such a `:many` query returns.
//!
//! The parent statement is bound to a portal inside one transaction and read
//! a chunk at a time (`Execute` with a row limit); each chunk's relations
//! are loaded with one statement per relation before its rows are yielded.
//! The first fetch asks for one row more than a chunk and keeps it for the
//! next chunk, so the fetch that returns the last rows also reports the end:
//! `n` parents take `⌈n / chunk⌉` fetches (one when there are none).

use std::future::{ready, Future};

use futures_util::{pin_mut, Stream, StreamExt as _, TryStreamExt as _};
use postgres_types::ToSql;
use tokio_postgres::IsolationLevel;

use crate::executor::{Bulk, BulkWork};
use crate::observe::{observe, Outcome};
use crate::record::Frame;
use crate::{Error, Executor, FromRow, Pool, Query, Row};

/// One parameter of a chunked stream, owned by the stream (or borrowed for
/// its lifetime `'a`).
pub type StreamParam<'a> = Box<dyn ToSql + Send + Sync + 'a>;

/// The rows of a `:many` query with `@prefetch` relations, assembled one
/// chunk at a time: implemented by generated row types.
pub trait PrefetchRows: Sized + Send {
    /// Decodes `rows` (of `query`) and loads their relations on `db`, one
    /// statement per relation for all of them.
    fn prefetch<E: Executor + ?Sized>(
        db: &E,
        query: &'static Query,
        rows: Vec<Row>,
    ) -> impl Future<Output = Result<Vec<Self>, Error>> + Send;
}

/// [`PrefetchRows`] for rows whose relations take parameters bound from the
/// parent call (`-- @prefetch reviews = Loader(id, since = :since)`):
/// `bound` holds their values, the same for every chunk. Every
/// [`PrefetchRows`] type is one with nothing bound (`B = ()`).
pub trait PrefetchRowsWith<B>: Sized + Send {
    /// Decodes `rows` (of `query`) and loads their relations on `db`, one
    /// statement per relation for all of them, with `bound`.
    fn prefetch_with<E: Executor + ?Sized>(
        db: &E,
        query: &'static Query,
        rows: Vec<Row>,
        bound: &B,
    ) -> impl Future<Output = Result<Vec<Self>, Error>> + Send;
}

impl<R: PrefetchRows> PrefetchRowsWith<()> for R {
    fn prefetch_with<E: Executor + ?Sized>(
        db: &E,
        query: &'static Query,
        rows: Vec<Row>,
        _bound: &(),
    ) -> impl Future<Output = Result<Vec<Self>, Error>> + Send {
        R::prefetch(db, query, rows)
    }
}

/// Decodes the rows of one chunk (for [`PrefetchRows::prefetch`]): a
/// decode error names the query and the column.
pub fn decode_rows<R: FromRow>(query: &Query, rows: &[Row]) -> Result<Vec<R>, Error> {
    rows.iter()
        .map(|row| R::from_row(row).map_err(|error| error.into_query_error(query.name())))
        .collect()
}

/// An executor that can hold a server-side portal, which a chunked
/// prefetch stream reads from: a portal lives inside a transaction.
///
/// Implemented for [`Pool`] (the stream checks out a connection and runs in
/// a `READ ONLY` `REPEATABLE READ` transaction of its own, committed at the
/// end and rolled back if the stream is dropped before), for
/// [`tokio_postgres::Transaction`], [`deadpool_postgres::Transaction`]
/// (what [`transaction`](crate::transaction) hands its closure) and
/// [`quarry::Transaction`](crate::Transaction) (the stream runs inside them,
/// at their isolation level), and for `&T` and `Box<T>`.
///
/// A plain client or a pooled connection borrowed with `&` cannot hold one
/// (a transaction needs the connection mutably): start a transaction on it
/// and pass that.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the server-side portal a chunked prefetch stream reads from",
    label = "not a transaction or a pool",
    note = "a `:many` query with `@prefetch` relations streams through a portal, which lives inside a transaction",
    note = "pass a `quarry::Pool` (the stream opens a read-only transaction of its own) or a transaction (`client.transaction().await?`, `quarry::transaction(&pool, |tx| …)`)"
)]
pub trait PortalExecutor: Executor {
    /// Streams `query`'s rows in chunks of `chunk` rows (see [`fetch_chunked`]).
    #[doc(hidden)]
    fn chunked<'a, R: PrefetchRowsWith<B> + 'a, B: Send + Sync + 'a>(
        &'a self,
        query: &'static Query,
        chunk: u32,
        params: Vec<StreamParam<'a>>,
        bound: B,
    ) -> impl Stream<Item = Result<R, Error>> + Send + 'a;
}

/// Runs a `:many` query whose rows have `@prefetch` relations as a stream:
/// its rows are read from a portal `chunk` at a time (at least 1), and each
/// chunk's relations are loaded (one statement per relation) before its rows
/// are yielded. An error preparing, binding or fetching is the stream's
/// last item.
///
/// Every fetch and relation statement is an execution that
/// [`record`](crate::record) counts (`BEGIN` and `COMMIT` are not): `n`
/// parents with `k` relations take `⌈n / chunk⌉ × (1 + k)` statements (one
/// fetch when there are none).
/// The N+1 detector does not count them: each relation runs once per chunk
/// by design.
pub fn fetch_chunked<'a, R, P>(
    db: &'a P,
    query: &'static Query,
    chunk: u32,
    params: Vec<StreamParam<'a>>,
) -> impl Stream<Item = Result<R, Error>> + Send + 'a
where
    R: PrefetchRows + 'a,
    P: PortalExecutor + ?Sized,
{
    db.chunked::<R, ()>(query, chunk.max(1), params, ())
}

/// [`fetch_chunked`] for rows whose relations take parameters bound from
/// the parent call: every chunk's relations are loaded with `bound`.
pub fn fetch_chunked_with<'a, R, P, B>(
    db: &'a P,
    query: &'static Query,
    chunk: u32,
    params: Vec<StreamParam<'a>>,
    bound: B,
) -> impl Stream<Item = Result<R, Error>> + Send + 'a
where
    R: PrefetchRowsWith<B> + 'a,
    P: PortalExecutor + ?Sized,
    B: Send + Sync + 'a,
{
    db.chunked(query, chunk.max(1), params, bound)
}

/// Implements [`PortalExecutor`] for a transaction type: the stream runs
/// inside the caller's transaction, which holds the portal.
macro_rules! impl_portal_for_transaction {
    ($($(#[$doc:meta])* $ty:ty;)*) => {$(
        $(#[$doc])*
        impl PortalExecutor for $ty {
            fn chunked<'a, R: PrefetchRowsWith<B> + 'a, B: Send + Sync + 'a>(
                &'a self,
                query: &'static Query,
                chunk: u32,
                params: Vec<StreamParam<'a>>,
                bound: B,
            ) -> impl Stream<Item = Result<R, Error>> + Send + 'a {
                chunks(self, self, query, chunk, params, bound)
            }
        }
    )*};
}

impl_portal_for_transaction! {
    tokio_postgres::Transaction<'_>;
    deadpool_postgres::Transaction<'_>;
    /// The transaction of a [`quarry::Client`](crate::Client): the stream runs
    /// inside it, and the relation statements use the client's statement cache.
    crate::Transaction<'_>;
}

/// Checks a connection out for the stream and runs it in a `READ ONLY`
/// `REPEATABLE READ` transaction: every chunk and relation reads one snapshot.
impl PortalExecutor for Pool {
    fn chunked<'a, R: PrefetchRowsWith<B> + 'a, B: Send + Sync + 'a>(
        &'a self,
        query: &'static Query,
        chunk: u32,
        params: Vec<StreamParam<'a>>,
        bound: B,
    ) -> impl Stream<Item = Result<R, Error>> + Send + 'a {
        async_stream::try_stream! {
            let mut connection = self.get().await.map_err(|source| Error::Pool {
                query: query.name(),
                source,
            })?;
            let transaction = connection
                .build_transaction()
                .read_only(true)
                .isolation_level(IsolationLevel::RepeatableRead)
                .start()
                .await
                .map_err(|source| Error::db(query.name(), source))?;
            {
                let rows = chunks::<R, _, B>(&transaction, &transaction, query, chunk, params, bound);
                pin_mut!(rows);
                while let Some(row) = rows.next().await {
                    yield row?;
                }
            }
            transaction
                .commit()
                .await
                .map_err(|source| Error::db(query.name(), source))?;
        }
    }
}

impl<T: PortalExecutor + ?Sized> PortalExecutor for &T {
    fn chunked<'a, R: PrefetchRowsWith<B> + 'a, B: Send + Sync + 'a>(
        &'a self,
        query: &'static Query,
        chunk: u32,
        params: Vec<StreamParam<'a>>,
        bound: B,
    ) -> impl Stream<Item = Result<R, Error>> + Send + 'a {
        (**self).chunked(query, chunk, params, bound)
    }
}

impl<T: PortalExecutor + ?Sized> PortalExecutor for Box<T> {
    fn chunked<'a, R: PrefetchRowsWith<B> + 'a, B: Send + Sync + 'a>(
        &'a self,
        query: &'static Query,
        chunk: u32,
        params: Vec<StreamParam<'a>>,
        bound: B,
    ) -> impl Stream<Item = Result<R, Error>> + Send + 'a {
        (**self).chunked(query, chunk, params, bound)
    }
}

/// The rows of one fetch from the portal, and whether the portal is done.
struct Chunk {
    rows: Vec<Row>,
    done: bool,
}

impl Outcome for Chunk {
    fn rows(&self) -> Option<u64> {
        Some(self.rows.len() as u64)
    }
}

/// The chunk loop on a transaction: `transaction` holds the portal, `db`
/// (the same transaction, with its statement cache when it has one) runs
/// the relation statements.
fn chunks<'a, R, E, B>(
    db: &'a E,
    transaction: &'a tokio_postgres::Transaction<'a>,
    query: &'static Query,
    chunk: u32,
    params: Vec<StreamParam<'a>>,
    bound: B,
) -> impl Stream<Item = Result<R, Error>> + Send + 'a
where
    R: PrefetchRowsWith<B> + 'a,
    E: Executor + ?Sized,
    B: Send + Sync + 'a,
{
    let chunk = chunk.max(1);
    let limit = i32::try_from(chunk).unwrap_or(i32::MAX - 1);
    async_stream::try_stream! {
        let fail = |source| Error::db(query.name(), source);
        let mut portal = None;
        // One row read ahead of the chunk it belongs to.
        let mut held: Option<Row> = None;
        loop {
            let fetch = observe(query, None, ready(Ok(())), |()| async {
                let portal = match &portal {
                    Some(portal) => portal,
                    None => {
                        // Pooler-safe, the connection learns the user-defined
                        // types before preparing (see `crate::pooler`).
                        db.bulk(query, LoadTypes { query }).await?;
                        let statement = transaction.prepare(query.sql()).await.map_err(fail)?;
                        let refs = params.iter().map(|param| &**param as &(dyn ToSql + Sync));
                        let refs: Vec<&(dyn ToSql + Sync)> = refs.collect();
                        portal.insert(transaction.bind(&statement, &refs).await.map_err(fail)?)
                    }
                };
                let max_rows = if held.is_some() { limit } else { limit + 1 };
                let stream = transaction.query_portal_raw(portal, max_rows).await.map_err(fail)?;
                pin_mut!(stream);
                let rows: Vec<Row> = stream.as_mut().try_collect().await.map_err(fail)?;
                let done = stream.rows_affected().is_some();
                Ok(Chunk { rows, done })
            });
            let fetched = Frame::unwatched(fetch).await?;
            let mut rows: Vec<Row> = held.take().into_iter().chain(fetched.rows).collect();
            if !fetched.done && rows.len() > limit as usize {
                held = rows.pop();
            }
            if !rows.is_empty() {
                for row in Frame::unwatched(R::prefetch_with(db, query, rows, &bound)).await? {
                    yield row;
                }
            }
            if fetched.done {
                break;
            }
        }
    }
}

/// Loads the database's user-defined types on a pooler-safe connection
/// before a portal's statement is prepared ([`Bulk::load_types`]).
struct LoadTypes {
    query: &'static Query,
}

impl BulkWork for LoadTypes {
    type Output = ();

    async fn run(self, conn: Bulk<'_>) -> Result<(), Error> {
        conn.load_types(self.query).await
    }
}

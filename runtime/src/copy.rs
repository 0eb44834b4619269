//! `:copyfrom`: [`copy_in`] writes rows through binary `COPY … FROM STDIN`
//! (tokio-postgres' [`BinaryCopyInWriter`]), and [`CopyRow`] is what a
//! generated `<Name>Params` implements to write itself as one row.
//!
//! The column types come from the query's canonical `INSERT … VALUES ($1, …)`,
//! prepared (once per connection, through its statement cache) but never
//! run: enums, composites, domains and arrays of them get the server's own
//! type descriptions, as for any other statement. The rows are pulled from
//! the iterator as the connection can send them (tokio-postgres' copy sink
//! applies backpressure), so memory stays flat whatever the row count. One
//! `COPY` is one statement: a failing row (a constraint, a bad value) fails
//! it, and no row is inserted.
//!
//! Pooler-safe (see [`Pooler`](crate::Pooler)), outside a transaction of the
//! caller's, the `COPY` runs in a transaction of its own, so that its two
//! named statements (not cached then) live and are closed on one server
//! connection.

use std::future::{ready, Future};
use std::pin::Pin;

use postgres_types::ToSql;
use tokio_postgres::binary_copy::BinaryCopyInWriter;

use crate::batch::Open;
use crate::executor::{Bulk, BulkWork};
use crate::observe::observe;
use crate::{Error, Executor, Query};

/// One row of a `:copyfrom` query: implemented by its generated
/// `<Name>Params`, which writes its fields in the `COPY`'s column order.
pub trait CopyRow: Send {
    /// Writes this row's values to `writer`.
    fn write(&self, writer: &mut CopyWriter<'_>) -> impl Future<Output = Result<(), Error>> + Send;
}

/// The binary `COPY` a [`CopyRow`] writes itself to.
pub struct CopyWriter<'a> {
    query: &'static str,
    writer: Pin<&'a mut BinaryCopyInWriter>,
}

impl std::fmt::Debug for CopyWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopyWriter")
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

impl CopyWriter<'_> {
    /// Writes one row: `values` in the `COPY`'s column order, each encoded
    /// for its column's type (a value of another type is an error naming the
    /// query).
    pub async fn write(&mut self, values: &[&(dyn ToSql + Sync)]) -> Result<(), Error> {
        self.writer
            .as_mut()
            .write(values)
            .await
            .map_err(|source| Error::db(self.query, source))
    }
}

/// Runs a `:copyfrom` query: writes every row of `rows` with one binary
/// `COPY` (`copy`, e.g. `COPY t (a, b) FROM STDIN (FORMAT binary)`) and
/// returns the number of rows written. `query` is the canonical
/// `INSERT INTO t (a, b) VALUES ($1, $2)` — one parameter per column, in
/// the `COPY`'s order — which is prepared for the columns' types and never
/// run.
///
/// All rows or none: a row that fails (a constraint, a value the column
/// rejects) fails the whole `COPY`. The rows are read from the iterator as
/// they are sent, never all at once. An empty iterator sends nothing and
/// returns 0. On a [`Pool`](crate::Pool) the copy takes a connection of its
/// own; in a transaction it is part of it. It is one statement to
/// [`record`](crate::record) and the N+1 detector.
pub async fn copy_in<E, I>(
    db: &E,
    query: &'static Query,
    copy: &'static str,
    rows: I,
) -> Result<u64, Error>
where
    E: Executor + ?Sized,
    I: IntoIterator + Send,
    I::IntoIter: Send,
    I::Item: CopyRow,
{
    let mut rows = rows.into_iter().peekable();
    if rows.peek().is_none() {
        return Ok(0);
    }
    db.bulk(query, Copy { query, copy, rows }).await
}

/// A [`copy_in`] about to run.
struct Copy<I> {
    query: &'static Query,
    copy: &'static str,
    rows: I,
}

impl<I> BulkWork for Copy<I>
where
    I: Iterator + Send,
    I::Item: CopyRow,
{
    type Output = u64;

    async fn run(self, conn: Bulk<'_>) -> Result<u64, Error> {
        let Copy { query, copy, rows } = self;
        observe(query, conn.detector(), ready(Ok(conn)), move |conn| {
            write_all(conn, query, copy, rows)
        })
        .await
    }
}

/// Prepares the `INSERT` (for the column types) and the `COPY` together,
/// then writes every row and ends the `COPY`. Dropped before the end, the
/// `COPY` is cancelled on the server (and aborted: its sink is dropped
/// unfinished).
async fn write_all<I>(
    conn: Bulk<'_>,
    query: &'static Query,
    copy: &'static str,
    rows: I,
) -> Result<u64, Error>
where
    I: Iterator + Send,
    I::Item: CopyRow,
{
    let name = query.name();
    conn.load_types(query).await?;
    let own_transaction = conn.pooler_safe(query) && !conn.in_transaction();
    if !own_transaction {
        return copy_rows(conn, query, copy, rows).await;
    }
    let client = conn.client();
    let mut open = Open::new(client);
    client
        .batch_execute("BEGIN")
        .await
        .map_err(|source| Error::db(name, source))?;
    let written = copy_rows(conn, query, copy, rows).await;
    let end = if written.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    let ended = client.batch_execute(end).await;
    open.closed();
    let written = written?;
    ended.map_err(|source| Error::db(name, source))?;
    Ok(written)
}

/// The `COPY` itself: both statements, then every row.
async fn copy_rows<I>(
    conn: Bulk<'_>,
    query: &'static Query,
    copy: &'static str,
    rows: I,
) -> Result<u64, Error>
where
    I: Iterator + Send,
    I::Item: CopyRow,
{
    let name = query.name();
    // Until the server is reading rows, a dropped future cancels what runs.
    let guard = conn.arm().await;
    let started = async {
        let (insert, statement) = futures_util::future::try_join(
            conn.prepare(query, query.sql()),
            conn.prepare(query, copy),
        )
        .await?;
        let sink = conn
            .client()
            .copy_in(&statement)
            .await
            .map_err(|source| Error::db(name, source))?;
        Ok::<_, Error>((insert, sink))
    }
    .await;
    // From here a dropped sink ends the COPY itself (tokio-postgres sends
    // CopyFail): no cancel request, which could land late, on the
    // connection's next statement.
    guard.disarm();
    let (insert, sink) = started?;
    let writer = BinaryCopyInWriter::new(sink, insert.params());
    futures_util::pin_mut!(writer);
    let mut out = CopyWriter {
        query: name,
        writer: writer.as_mut(),
    };
    for row in rows {
        row.write(&mut out).await?;
    }
    writer
        .finish()
        .await
        .map_err(|source| Error::db(name, source))
}

//! [`RowStream`]: the rows of one statement as they arrive, and
//! [`fetch_stream`], what a generated `<name>_stream` function returns.
//!
//! tokio-postgres reads the server's messages into a channel of one batch, so
//! a consumer that stops polling stops the reads: memory stays flat whatever
//! the row count (backpressure).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt as _, TryStreamExt as _};

use crate::cancel::{Owned, StreamGuard};
use crate::{Error, FromRow, Query, Row};

/// The rows of one statement, as they arrive from the server.
///
/// Returned by [`Executor::query_stream`](crate::Executor::query_stream).
/// When it came from a [`Pool`](crate::Pool), it holds the connection it
/// runs on until it is dropped.
///
/// Dropped before its end, it cancels the rest of the statement on the
/// server; the connection, when the runtime owns it (from a
/// [`Pool`](crate::Pool) or a [`PooledConnection`](crate::PooledConnection)),
/// is then closed rather than returned to the pool.
pub struct RowStream {
    query: &'static str,
    // Dropped before the connection it reads from (field order), and the
    // guard before the connection it marks.
    rows: Pin<Box<tokio_postgres::RowStream>>,
    cancel: Option<StreamGuard>,
    connection: Option<Owned>,
}

impl std::fmt::Debug for RowStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream")
            .field("query", &self.query)
            .field("owns_connection", &self.connection.is_some())
            .finish_non_exhaustive()
    }
}

impl RowStream {
    pub(crate) fn new(
        query: &Query,
        rows: tokio_postgres::RowStream,
        connection: Option<Owned>,
    ) -> Self {
        Self {
            query: query.name(),
            rows: Box::pin(rows),
            cancel: None,
            connection,
        }
    }

    /// Cancels the rest of the statement when dropped before its end.
    pub(crate) fn cancel_on_drop(mut self, guard: StreamGuard) -> Self {
        self.cancel = Some(guard);
        self
    }

    /// The name of the query whose rows these are.
    pub fn query(&self) -> &'static str {
        self.query
    }

    /// The number of rows the statement returned, once the stream has ended
    /// (`None` before).
    pub fn rows_affected(&self) -> Option<u64> {
        self.rows.rows_affected()
    }

    /// The rows decoded into `R` as they arrive; a decode error names the
    /// query and the column.
    pub fn decoded<R: FromRow>(self) -> impl Stream<Item = Result<R, Error>> + Send {
        let query = self.query;
        self.map(move |row| {
            row.and_then(|row| R::from_row(&row).map_err(|error| error.into_query_error(query)))
        })
    }
}

impl Stream for RowStream {
    type Item = Result<Row, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let query = self.query;
        let next = self.rows.as_mut().poll_next(cx);
        if let (Poll::Ready(None | Some(Err(_))), Some(guard)) = (&next, &mut self.cancel) {
            // The statement is over: nothing left to cancel.
            guard.disarm();
        }
        next.map(|row| row.map(|row| row.map_err(|source| Error::db(query, source))))
    }
}

/// Runs a `:many` query as a stream of decoded rows: `open` starts the
/// statement ([`Executor::query_stream`](crate::Executor::query_stream));
/// its error, if any, is the stream's first and only item.
pub fn fetch_stream<'a, R: FromRow + 'a>(
    open: impl Future<Output = Result<RowStream, Error>> + Send + 'a,
) -> impl Stream<Item = Result<R, Error>> + Send + 'a {
    futures_util::stream::once(open)
        .map_ok(RowStream::decoded::<R>)
        .try_flatten()
}

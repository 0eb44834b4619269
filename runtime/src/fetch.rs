//! The helpers generated functions call, one per query kind: they run the
//! statement on an [`Executor`], check the row count the kind promises and
//! decode rows with [`FromRow`].

use postgres_types::ToSql;

use crate::{Error, Executor, FromRow, Query, Row};

/// Runs a `:many` query: returns every row, decoded.
pub async fn fetch_all<R: FromRow, E: Executor + ?Sized>(
    db: &E,
    query: &Query,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<R>, Error> {
    let rows = db.query(query, params).await?;
    // Pre-sized rather than `collect::<Result<Vec<_>, _>>()`, whose size hint
    // starts at zero and would grow the vector several times.
    let mut decoded = Vec::with_capacity(rows.len());
    for row in &rows {
        decoded.push(decode_row(query, row)?);
    }
    Ok(decoded)
}

/// Runs a `:one` query: exactly one row, else [`Error::NotFound`] or
/// [`Error::TooManyRows`].
pub async fn fetch_one<R: FromRow, E: Executor + ?Sized>(
    db: &E,
    query: &Query,
    params: &[&(dyn ToSql + Sync)],
) -> Result<R, Error> {
    let rows = db.query(query, params).await?;
    match rows.as_slice() {
        [row] => decode_row(query, row),
        [] => Err(Error::NotFound {
            query: query.name(),
        }),
        _ => Err(Error::TooManyRows {
            query: query.name(),
        }),
    }
}

/// Runs a `:opt` query: zero or one row, else [`Error::TooManyRows`].
pub async fn fetch_opt<R: FromRow, E: Executor + ?Sized>(
    db: &E,
    query: &Query,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<R>, Error> {
    let rows = db.query(query, params).await?;
    match rows.as_slice() {
        [] => Ok(None),
        [row] => decode_row(query, row).map(Some),
        _ => Err(Error::TooManyRows {
            query: query.name(),
        }),
    }
}

/// Runs an `:exec` query: returns the number of rows affected.
pub async fn execute<E: Executor + ?Sized>(
    db: &E,
    query: &Query,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, Error> {
    db.execute(query, params).await
}

#[inline]
fn decode_row<R: FromRow>(query: &Query, row: &Row) -> Result<R, Error> {
    R::from_row(row).map_err(|error| error.into_query_error(query.name()))
}

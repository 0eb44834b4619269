// A chunked prefetch stream compiles with every executor that can hold a
// portal (a pool, every kind of transaction), and its future is `Send`; a
// row stream compiles with any executor.
use quarry::futures_util::TryStreamExt as _;
use quarry_example_app::queries::blog;

fn send<T: Send>(value: T) -> T {
    value
}

async fn export(
    pool: &quarry::Pool,
    client: &mut quarry::tokio_postgres::Client,
    conn: &mut quarry::PooledConnection,
    quarry_client: &mut quarry::Client,
) -> Result<usize, quarry::Error> {
    let db_error = |source| quarry::Error::Db {
        query: "Begin",
        source,
    };
    let mut rows = 0;
    rows += send(blog::list_posts_with_relations_stream(pool, 10))
        .try_collect::<Vec<_>>()
        .await?
        .len();
    let tx = client.transaction().await.map_err(db_error)?;
    rows += blog::list_posts_with_relations_stream(&tx, 10)
        .try_collect::<Vec<_>>()
        .await?
        .len();
    let tx = conn.transaction().await.map_err(db_error)?;
    rows += blog::list_posts_with_relations_stream(&tx, 10)
        .try_collect::<Vec<_>>()
        .await?
        .len();
    drop(tx);
    let tx = quarry_client.transaction().await.map_err(db_error)?;
    rows += send(blog::list_posts_with_relations_stream(&tx, 10))
        .try_collect::<Vec<_>>()
        .await?
        .len();
    drop(tx);
    rows += blog::posts_by_tag_stream(&*conn, "rust")
        .try_collect::<Vec<_>>()
        .await?
        .len();
    Ok(rows)
}

fn main() {
    let _ = export;
}

// A chunked prefetch stream called with a pooled connection borrowed with
// `&`: a transaction needs the connection mutably, so none can be started.
use quarry::futures_util::TryStreamExt as _;
use quarry_example_app::queries::blog;

async fn export(pool: &quarry::Pool) -> Result<(), quarry::Error> {
    let conn = pool.get().await.map_err(|source| quarry::Error::Pool {
        query: "ListPostsWithRelations",
        source,
    })?;
    let posts: Vec<_> = blog::list_posts_with_relations_stream(&conn, 10)
        .try_collect()
        .await?;
    println!("{}", posts.len());
    Ok(())
}

fn main() {
    drop(export);
}

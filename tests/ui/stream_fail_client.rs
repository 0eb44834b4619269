// A chunked prefetch stream (a `:many` query with `@prefetch` relations)
// called with a plain tokio-postgres client, which cannot hold a portal
// outside a transaction.
use quarry::futures_util::TryStreamExt as _;
use quarry_example_app::queries::blog;

async fn export(client: &quarry::tokio_postgres::Client) -> Result<(), quarry::Error> {
    let posts: Vec<_> = blog::list_posts_with_relations_stream(client, 10)
        .try_collect()
        .await?;
    println!("{}", posts.len());
    Ok(())
}

fn main() {
    drop(export);
}

// A query that takes row locks (`FOR UPDATE`) called with a plain
// tokio-postgres client, outside any transaction.
use quarry_example_app::queries::blog;

async fn lock(client: &quarry::tokio_postgres::Client) -> Result<(), quarry::Error> {
    let post = blog::lock_post_for_update(client, 1).await?;
    println!("{}", post.title);
    Ok(())
}

fn main() {
    let _ = lock;
}

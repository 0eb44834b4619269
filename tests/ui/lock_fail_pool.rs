// A query that takes row locks (`FOR UPDATE`) called with a pool: each
// statement would run in its own transaction and release the lock at once.
use quarry_example_app::queries::blog;

async fn lock(pool: &quarry::Pool) -> Result<(), quarry::Error> {
    let post = blog::lock_post_for_update(pool, 1).await?;
    println!("{}", post.title);
    Ok(())
}

fn main() {
    let _ = lock;
}

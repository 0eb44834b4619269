// A query that takes row locks (`FOR UPDATE`) called with a connection taken
// from the pool, but no transaction started on it.
use quarry_example_app::queries::blog;

async fn lock(pool: &quarry::Pool) -> Result<(), Box<dyn std::error::Error>> {
    let conn = pool.get().await?;
    let post = blog::lock_post_for_update(&conn, 1).await?;
    println!("{}", post.title);
    Ok(())
}

fn main() {
    let _ = lock;
}

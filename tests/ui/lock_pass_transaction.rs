// A query that takes row locks (`FOR UPDATE`) compiles with every kind of
// transaction: deadpool's (what `quarry::transaction` gives its closure, or
// `pool.get().await?.transaction().await?`), tokio-postgres' and quarry's.
use quarry_example_app::queries::blog;

async fn pooled(pool: &quarry::Pool) -> Result<i64, Box<dyn std::error::Error>> {
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    let post = blog::lock_post_for_update(&tx, 1).await?;
    tx.commit().await?;
    Ok(post.views)
}

async fn retried(pool: &quarry::Pool) -> Result<i64, quarry::Error> {
    quarry::transaction(pool, |tx| {
        Box::pin(async move {
            let post = blog::lock_post_for_update(tx, 1).await?;
            Ok(post.views)
        })
    })
    .await
}

async fn plain(client: &mut quarry::tokio_postgres::Client) -> Result<i64, Box<dyn std::error::Error>> {
    let tx = client.transaction().await?;
    let post = blog::lock_post_for_update(&tx, 1).await?;
    let boxed: Box<quarry::tokio_postgres::Transaction<'_>> = Box::new(tx);
    let again = blog::lock_post_for_update(&boxed, 1).await?;
    boxed.commit().await?;
    Ok(post.views + again.views)
}

async fn quarry_client(client: &mut quarry::Client) -> Result<i64, Box<dyn std::error::Error>> {
    let tx = client.transaction().await?;
    let post = blog::lock_post_for_update(&&tx, 1).await?;
    tx.commit().await?;
    Ok(post.views)
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    let pool = quarry::Pool::connect("postgres://app@127.0.0.1:1/app").unwrap();
    assert_send(pooled(&pool));
    assert_send(retried(&pool));
    let _ = (plain, quarry_client);
}

//! The hard parts of a service, on the example's generated queries: a pool
//! with a statement timeout, streaming, a chunked prefetch stream, a retrying
//! transaction that takes a row lock, a client-side timeout that cancels the
//! statement on the server, and `quarry::Client` for a single connection.
//!
//! `docs/runtime.md` quotes these functions; `cargo run -p
//! quarry-example-app --example service` runs them on a seeded database, and
//! `tests/tests/service_example.rs` checks what they return.

use std::time::Duration;

use quarry::futures_util::TryStreamExt as _;

use crate::queries::blog;

/// What [`tour`] saw, for the example's output and its test.
#[derive(Debug, Clone, PartialEq)]
pub struct Tour {
    /// Published posts counted by streaming them one by one.
    pub streamed_posts: usize,
    /// Posts with relations streamed in chunks, and the statements that took.
    pub chunked_posts: usize,
    /// Statements the chunked prefetch stream ran.
    pub chunked_statements: usize,
    /// The views of the post after the retrying transaction added one.
    pub views_after_transaction: i64,
    /// Whether the slow statement hit the client-side timeout.
    pub timed_out: bool,
    /// The author read through a `quarry::Client`.
    pub author_via_client: String,
}

/// A pool for a service: at most 8 connections, and the server cancels any
/// statement that runs longer than 5 seconds.
pub fn service_pool(url: &str) -> Result<quarry::Pool, quarry::PoolBuildError> {
    quarry::Pool::builder(url)
        .max_size(8)
        .statement_timeout(Duration::from_secs(5))
        .build()
}

/// Streams every published post: rows are decoded as they arrive and memory
/// stays flat whatever the number of posts.
pub async fn count_published(pool: &quarry::Pool) -> Result<usize, quarry::Error> {
    let now = quarry::chrono::Utc::now();
    let mut posts = std::pin::pin!(blog::list_published_posts_stream(pool, now, i64::MAX));
    let mut count = 0;
    while let Some(post) = posts.try_next().await? {
        debug_assert!(post.published_at <= now);
        count += 1;
    }
    Ok(count)
}

/// Streams posts with their comments, author and tags, in chunks: each
/// chunk is one portal fetch plus one statement per relation, inside one
/// read-only transaction.
pub async fn export_posts(pool: &quarry::Pool) -> Result<(usize, usize), quarry::Error> {
    let (exported, log) = quarry::record(async {
        let posts = blog::list_posts_with_relations_stream(pool, 1_000);
        posts
            .try_fold(0, |count, post| async move {
                debug_assert_eq!(post.author.id, post.author_id);
                Ok(count + 1)
            })
            .await
    })
    .await;
    Ok((exported?, log.len()))
}

/// Adds a view to a post under a row lock, in a transaction that is run
/// again, whole, if PostgreSQL aborts it with a serialization failure or a
/// deadlock. `lock_post_for_update` takes `FOR UPDATE`, so it only accepts a
/// transaction: passing `pool` does not compile.
pub async fn add_view(pool: &quarry::Pool, post: i64) -> Result<i64, quarry::Error> {
    quarry::transaction(pool, |tx| {
        Box::pin(async move {
            let locked = blog::lock_post_for_update(&*tx, post).await?;
            let views = blog::add_post_view(&*tx, locked.id).await?.views;
            debug_assert_eq!(views, locked.views + 1);
            Ok(views)
        })
    })
    .await
}

/// A client-side deadline: when it expires, the query future is dropped,
/// which cancels the statement on the server; the pool never gets the busy
/// connection back.
pub async fn leaderboard_within(
    pool: &quarry::Pool,
    deadline: Duration,
) -> Result<Option<usize>, quarry::Error> {
    match tokio::time::timeout(deadline, blog::author_leaderboard(pool)).await {
        Ok(rows) => Ok(Some(rows?.len())),
        Err(_elapsed) => Ok(None),
    }
}

/// One connection without a pool: `quarry::Client` caches prepared
/// statements like a pooled connection does.
pub async fn author_name(url: &str, author: i64) -> Result<String, Box<dyn std::error::Error>> {
    let client = quarry::Client::connect(url).await?;
    Ok(blog::get_author(&client, author).await?.name)
}

/// Runs every part on a seeded database.
pub async fn tour(url: &str) -> Result<Tour, Box<dyn std::error::Error>> {
    let pool = service_pool(url)?;
    let streamed_posts = count_published(&pool).await?;
    let (chunked_posts, chunked_statements) = export_posts(&pool).await?;
    let views_after_transaction = add_view(&pool, 1).await?;
    let timed_out = leaderboard_within(&pool, Duration::from_secs(2))
        .await?
        .is_none();
    let author_via_client = author_name(url, 1).await?;
    Ok(Tour {
        streamed_posts,
        chunked_posts,
        chunked_statements,
        views_after_transaction,
        timed_out,
        author_via_client,
    })
}

//! The example app's service tour (`quarry_example_app::service`, quoted by
//! docs/runtime.md and run by `cargo run -p quarry-example-app --example
//! service`) returns what the seeded data says.

use quarry_example_app::queries::blog;
use quarry_example_app::service;
use quarry_tests::TestDb;

#[tokio::test]
async fn the_service_tour_does_what_docs_runtime_md_says() {
    let db = TestDb::with_example_data("service_tour").await;
    let published: i64 = db
        .client
        .query_one(
            "SELECT count(*) FROM posts WHERE published_at IS NOT NULL AND published_at <= now()",
            &[],
        )
        .await
        .map(|row| row.get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    // The same posts loaded the Vec way, and how many statements that took.
    let pool = db.pool();
    let (posts, vec_log) = quarry::record(blog::list_posts_with_relations(&pool, 1_000)).await;
    let posts = posts.unwrap_or_else(|e| panic!("{e}"));

    let tour = service::tour(&db.url)
        .await
        .unwrap_or_else(|e| panic!("tour: {e}"));

    assert_eq!(tour.streamed_posts as i64, published);
    assert_eq!(tour.chunked_posts, posts.len());
    // One chunk: the same 1 + k statements as the Vec version.
    assert_eq!(tour.chunked_statements, vec_log.len());
    assert_eq!(tour.views_after_transaction, 121, "post 1 had 120 views");
    assert!(!tour.timed_out);
    assert_eq!(tour.author_via_client, "Ada Lovelace");
}

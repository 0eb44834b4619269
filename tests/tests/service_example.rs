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

/// Generated futures nest (a chunked prefetch stream inside `record`, its
/// relations, their statements): in a debug build the whole tour must fit in
/// half of a thread's default 2 MiB stack, so that a service's own futures
/// around it still have room.
#[test]
fn the_tour_fits_in_one_mebibyte_of_stack_in_a_debug_build() {
    let thread = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("runtime: {e}"));
            runtime.block_on(async {
                let db = TestDb::with_example_data("service_stack").await;
                service::tour(&db.url)
                    .await
                    .map(|tour| tour.chunked_posts)
                    .map_err(|e| e.to_string())
            })
        })
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let chunked = thread
        .join()
        .unwrap_or_else(|_| panic!("the tour panicked"));
    assert!(matches!(chunked, Ok(posts) if posts > 0), "{chunked:?}");
}

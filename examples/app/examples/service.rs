//! The hard parts of a service (`quarry_example_app::service`) on a seeded
//! database: `cargo run -p quarry-example-app --example service`.
//!
//! PostgreSQL: `DATABASE_URL` when set (a scratch database is created and
//! dropped there), else an ephemeral cluster.

use std::error::Error;

use codegen::pg::Server;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let server = Server::from_env()?;
    let database = server.create_database("quarry_service").await?;
    let url = server.url(Some(&database));
    let result = async {
        let client = server.connect(Some(&database)).await?;
        for sql in quarry_example_app::SCHEMA_AND_SEED {
            client.batch_execute(sql).await?;
        }
        quarry_example_app::service::tour(&url).await
    }
    .await;
    server.drop_database(&database).await?;
    let tour = result?;
    println!(
        "published posts, streamed one by one: {}",
        tour.streamed_posts
    );
    println!(
        "posts with relations, streamed in chunks: {} in {} statements",
        tour.chunked_posts, tour.chunked_statements
    );
    println!(
        "views after the retrying transaction: {}",
        tour.views_after_transaction
    );
    println!("leaderboard timed out: {}", tour.timed_out);
    println!(
        "author 1 through quarry::Client: {}",
        tour.author_via_client
    );
    Ok(())
}

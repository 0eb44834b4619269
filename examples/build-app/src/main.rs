//! The to-do example: its generated queries against a real database.
//!
//! ```text
//! cargo run -p quarry-example-build                 # ephemeral PostgreSQL
//! DATABASE_URL=postgres://… cargo run -p quarry-example-build
//! ```
//!
//! With `DATABASE_URL` the app creates (and afterwards drops) a scratch
//! database on that server, so it never touches existing data.

use std::error::Error;

use codegen::pg::Server;
use quarry::chrono::{Days, NaiveDate, Utc};
use quarry_example_build::db::todo;

/// The `up` migrations, in order (`build.rs` applies the same ones when it regenerates).
const MIGRATIONS: [&str; 2] = [
    include_str!("../schema/0001_init.up.sql"),
    include_str!("../schema/0002_tags.up.sql"),
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let server = Server::from_env()?;
    let database = server.create_database("quarry_todo").await?;
    let result = run(&server.url(Some(&database))).await;
    server.drop_database(&database).await?;
    result
}

async fn run(url: &str) -> Result<(), Box<dyn Error>> {
    let pool = quarry::Pool::connect(url)?;
    let client = pool.get().await?;
    for migration in MIGRATIONS {
        client.batch_execute(migration).await?;
    }

    let today = Utc::now().date_naive();
    let in_days = |days: u64| today.checked_add_days(Days::new(days));
    let home = todo::create_list(&pool, "Home").await?;
    let work = todo::create_list(&pool, "Work").await?;
    let urgent = todo::upsert_tag(&pool, "urgent").await?;
    let errand = todo::upsert_tag(&pool, "errand").await?;

    let plants = todo::add_todo(&pool, home.id, "Water the plants", in_days(0)).await?;
    let groceries = todo::add_todo(&pool, home.id, "Buy groceries", in_days(1)).await?;
    todo::add_todo(&pool, home.id, "Fix the bike", None).await?;
    let report = todo::add_todo(&pool, work.id, "Send the report", in_days(2)).await?;
    todo::add_todo(&pool, work.id, "Plan the offsite", in_days(30)).await?;
    todo::tag_todo(&pool, groceries.id, errand.id).await?;
    todo::tag_todo(&pool, groceries.id, urgent.id).await?;
    todo::tag_todo(&pool, report.id, urgent.id).await?;

    let done = todo::complete_todo(&pool, Utc::now(), plants.id).await?;
    let again = todo::complete_todo(&pool, Utc::now(), plants.id).await?;
    println!(
        "done: {:?} (completing it again: {:?})",
        done.map(|row| row.title),
        again.map(|row| row.title)
    );

    let horizon = in_days(7).unwrap_or(NaiveDate::MAX);
    println!("\nOpen items due within a week:");
    for item in todo::open_todos_due_by(&pool, horizon).await? {
        println!(
            "  {}  {:<16} ({})",
            item.due_on, item.title, item.list_title
        );
    }

    let (lists, log) = quarry::record(todo::lists_with_todos(&pool)).await;
    println!(
        "\nLists with their items and tags ({} statements):",
        log.len()
    );
    for list in lists? {
        println!("  {}", list.title);
        for item in &list.todos {
            let mark = if item.done_at.is_some() { "x" } else { " " };
            let due = item
                .due_on
                .map(|due| format!(" due {due}"))
                .unwrap_or_default();
            let tags: Vec<&str> = item.tags.iter().map(|tag| tag.name.as_str()).collect();
            println!("    [{mark}] {}{due} {tags:?}", item.title);
        }
    }
    Ok(())
}

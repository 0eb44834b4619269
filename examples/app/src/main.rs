//! The example app: a few of the generated queries against a real database.
//!
//! ```text
//! cargo run -p quarry-example-app                 # ephemeral PostgreSQL, seeded
//! DATABASE_URL=postgres://… cargo run -p quarry-example-app
//! ```
//!
//! With `DATABASE_URL` the app creates (and afterwards drops) a scratch
//! database on that server, so it never touches existing data.

use std::error::Error;

use codegen::pg::Server;
use quarry_example_app::queries::{blog, shop, types::OrderStatus};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let server = Server::from_env()?;
    let database = server.create_database("quarry_example").await?;
    let result = run(&server.url(Some(&database))).await;
    server.drop_database(&database).await?;
    result
}

async fn run(url: &str) -> Result<(), Box<dyn Error>> {
    let pool = quarry::Pool::connect(url)?;
    let client = pool.get().await?;
    for ddl in quarry_example_app::SCHEMA_AND_SEED {
        client.batch_execute(ddl).await?;
    }

    let alice = shop::get_customer_by_email(&pool, "alice@example.com")
        .await?
        .ok_or("alice is missing from the seed")?;
    println!("{} <{}>, phone {:?}", alice.name, alice.email, alice.phone);

    println!("\nOrders of {}:", alice.name);
    for order in shop::list_orders_for_customer(&pool, alice.id, None).await? {
        println!(
            "  #{} {:<9} placed {}  {} item(s), total {}",
            order.id,
            order.status,
            order.placed_at.format("%Y-%m-%d"),
            order.item_count,
            order.total
        );
    }
    let pending =
        shop::list_orders_for_customer(&pool, alice.id, Some(OrderStatus::Pending)).await?;
    println!("  … of which pending: {}", pending.len());

    println!("\nCategory tree:");
    for category in shop::category_tree(&pool).await? {
        let depth = usize::try_from(category.depth).unwrap_or_default();
        println!("  {}{}", "  ".repeat(depth), category.name);
    }

    // A search page: optional filters and a whitelisted sort; only the
    // filters given are in the SQL sent.
    let filter = shop::SearchProductsFilteredFilter {
        in_stock: Some(true),
        max_price: Some(quarry::rust_decimal::Decimal::new(500, 0)),
        min_price: Some(quarry::rust_decimal::Decimal::ZERO),
        ..Default::default()
    };
    let sort = shop::SearchProductsFilteredSort::PriceDesc;
    println!("\nIn stock, up to 500, most expensive first:");
    for product in shop::search_products_filtered(&pool, &filter, sort, 10).await? {
        println!("  {} {} ({})", product.sku, product.name, product.price);
    }

    // Relations: one statement per relation, versus one per row.
    let since = quarry::chrono::DateTime::UNIX_EPOCH;
    let (orders, prefetched) = quarry::record(shop::list_orders_with_details(&pool, since)).await;
    let orders = orders?;
    println!("\nOrders with customer, items, products and categories:");
    for order in &orders {
        let items: Vec<String> = order
            .items
            .iter()
            .map(|item| {
                format!(
                    "{}× {} ({})",
                    item.quantity, item.product.name, item.product.category.name
                )
            })
            .collect();
        println!(
            "  #{} for {}: {}",
            order.id,
            order.customer.name,
            items.join(", ")
        );
    }
    let (naive, looped) = quarry::record(async {
        let mut loaded = 0;
        for order in shop::list_recent_orders(&pool, since, i64::MAX).await? {
            shop::get_customer(&pool, order.customer_id).await?;
            // A one-key call per order: it loads that order's products and categories too.
            loaded += shop::items_by_order(&pool, &[order.id]).await?.len();
        }
        Ok::<_, quarry::Error>(loaded)
    })
    .await;
    naive?;
    println!(
        "  statements: {} with prefetching, {} with a loop over the same {} orders",
        prefetched.len(),
        looped.len(),
        orders.len()
    );

    let (posts, log) = quarry::record(blog::list_posts_with_relations(&pool, 10)).await;
    println!(
        "\nPosts with comments, commenters, author and tags ({} statements):",
        log.len()
    );
    for post in posts? {
        let tags: Vec<&str> = post.tags.iter().map(|tag| tag.name.as_str()).collect();
        println!(
            "  {:<32} by {:<14} {} comment(s), tags [{}]",
            post.title,
            post.author.name,
            post.comments.len(),
            tags.join(", ")
        );
    }

    println!("\nPosts with comment counts:");
    for post in blog::posts_with_comment_counts(&pool, 0).await? {
        println!(
            "  {:<32} by {:<14} {:?} comment(s)",
            post.title, post.author_name, post.comment_count
        );
    }

    // Writes go through a transaction; dropping it without commit rolls back.
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await?;
    let now = quarry::chrono::Utc::now();
    let order = shop::place_order(
        &tx,
        alice.id,
        OrderStatus::Pending,
        now,
        Some("from the example app"),
    )
    .await?;
    let price = "19.90".parse()?;
    let item = shop::add_order_item(&tx, order.id, 4, 2, price).await?;
    tx.commit().await?;
    println!(
        "\nPlaced order #{} ({}) with {} × product {} at {}",
        order.id, order.status, item.quantity, item.product_id, item.unit_price
    );
    Ok(())
}

//! Prefetching against real PostgreSQL: exact statement counts (as the
//! recorder sees them), results equal to a naive one-query-per-row reference,
//! pipelining of sibling relations, NULL and duplicate keys, empty parents,
//! vanished to-one targets, and the N+1 detector.

use quarry::chrono::{DateTime, TimeZone, Utc};
use quarry_example_app::queries::{blog, shop};
use quarry_tests::TestDb;

/// 10 customers, a 3-level category tree (3 roots × 2 children × 2 leaves),
/// 24 products on the leaves, 50 orders × 5 items.
const SHOP_DATA: &str = "
INSERT INTO customers (email, name, phone)
SELECT 'c' || i || '@example.com', 'Customer ' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE '555-' || i END
FROM generate_series(1, 10) i;
INSERT INTO categories (parent_id, name, slug) SELECT NULL, 'Root ' || i, 'root-' || i FROM generate_series(1, 3) i;
INSERT INTO categories (parent_id, name, slug)
SELECT r.id, r.name || ' / ' || j, r.slug || '-' || j FROM categories r, generate_series(1, 2) j WHERE r.parent_id IS NULL;
INSERT INTO categories (parent_id, name, slug)
SELECT m.id, m.name || ' / ' || k, m.slug || '-' || k
FROM categories m, generate_series(1, 2) k
WHERE m.parent_id IS NOT NULL;
INSERT INTO products (category_id, sku, name, price, stock)
SELECT leaf.id, 'SKU-' || leaf.id || '-' || n, 'Product ' || leaf.id || '-' || n, 10 + n, n
FROM categories leaf, generate_series(1, 2) n
WHERE NOT EXISTS (SELECT 1 FROM categories c WHERE c.parent_id = leaf.id);
INSERT INTO orders (customer_id, status, placed_at, note)
SELECT 1 + (i % 10), 'paid', timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour',
       CASE WHEN i % 4 = 0 THEN 'note ' || i END
FROM generate_series(1, 50) i;
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT o.id, p.id, 1 + (o.id + p.id) % 3, p.price
FROM orders o
JOIN LATERAL (SELECT id, price FROM products ORDER BY (id * 7 + o.id * 13) % 24, id LIMIT 5) p ON true;
";

fn since() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// What an order looks like, flattened: enough to compare two loading strategies.
type OrderShape = (i64, String, Vec<(i64, i32, String, String, Option<i64>)>);

/// The reference: one statement per order, per item's product and per product's category.
async fn naive_orders(db: &TestDb) -> Vec<OrderShape> {
    let client = &db.client;
    let orders = client
        .query("SELECT id, customer_id FROM orders WHERE placed_at >= $1 ORDER BY placed_at DESC, id DESC", &[&since()])
        .await
        .unwrap();
    let mut out = Vec::new();
    for order in orders {
        let (id, customer_id): (i64, i64) = (order.get(0), order.get(1));
        let customer = shop::get_customer(client, customer_id).await.unwrap();
        let items = client
            .query(
                "SELECT id, product_id, quantity FROM order_items WHERE order_id = $1 ORDER BY id",
                &[&id],
            )
            .await
            .unwrap();
        let mut shaped = Vec::new();
        for item in items {
            let product_id: i64 = item.get(1);
            let product = client
                .query_one(
                    "SELECT sku, category_id FROM products WHERE id = $1",
                    &[&product_id],
                )
                .await
                .unwrap();
            let category_id: i64 = product.get(1);
            let category = client
                .query_one(
                    "SELECT slug, parent_id FROM categories WHERE id = $1",
                    &[&category_id],
                )
                .await
                .unwrap();
            shaped.push((
                item.get(0),
                item.get(2),
                product.get(0),
                category.get(0),
                category.get(1),
            ));
        }
        out.push((id, customer.email, shaped));
    }
    out
}

fn shape_orders(orders: &[shop::ListOrdersWithDetailsRow]) -> Vec<OrderShape> {
    orders
        .iter()
        .map(|order| {
            let items = order
                .items
                .iter()
                .map(|item| {
                    (
                        item.id,
                        item.quantity,
                        item.product.sku.clone(),
                        item.product.category.slug.clone(),
                        item.product.category.parent_id,
                    )
                })
                .collect();
            (order.id, order.customer.email.clone(), items)
        })
        .collect()
}

#[tokio::test]
async fn fifty_orders_with_items_products_and_categories_take_five_statements() {
    let db = TestDb::with_example_schema("prefetch_orders").await;
    db.client.batch_execute(SHOP_DATA).await.unwrap();
    let pool = db.pool();

    let (orders, log) = quarry::record(shop::list_orders_with_details(&pool, since())).await;
    let orders = orders.unwrap();
    assert_eq!(orders.len(), 50);
    assert!(orders.iter().all(|o| o.items.len() == 5));
    log.assert_count(5);
    assert_eq!(
        log.by_name().into_iter().collect::<Vec<_>>(),
        vec![
            ("CategoriesByIds", 1),
            ("CustomersByIds", 1),
            ("ItemsByOrder", 1),
            ("ListOrdersWithDetails", 1),
            ("ProductsByIds", 1),
        ]
    );
    assert_eq!(
        log.names()[0],
        "ListOrdersWithDetails",
        "the parent runs first"
    );
    assert!(log.n_plus_one().is_empty(), "{:?}", log.n_plus_one());

    let (reference, naive_log) = quarry::record(naive_orders(&db)).await;
    assert_eq!(shape_orders(&orders), reference);
    // The naive loop's own count, for comparison: 50 customers (the raw client queries are not recorded).
    assert_eq!(naive_log.count("GetCustomer"), 50);
}

#[tokio::test]
async fn every_executor_gives_the_same_five_statements() {
    let mut db = TestDb::with_example_schema("prefetch_executors").await;
    db.client.batch_execute(SHOP_DATA).await.unwrap();
    let pool = db.pool();
    let (from_pool, log) = quarry::record(shop::list_orders_with_details(&pool, since())).await;
    log.assert_count(5);
    let (from_client, log) =
        quarry::record(shop::list_orders_with_details(&db.client, since())).await;
    log.assert_count(5);
    let conn = pool.get().await.unwrap();
    let (from_conn, log) = quarry::record(shop::list_orders_with_details(&conn, since())).await;
    log.assert_count(5);
    let tx = db.client.transaction().await.unwrap();
    let (from_tx, log) = quarry::record(shop::list_orders_with_details(&tx, since())).await;
    log.assert_count(5);
    tx.rollback().await.unwrap();
    let from_pool = from_pool.unwrap();
    assert_eq!(from_pool, from_client.unwrap());
    assert_eq!(from_pool, from_conn.unwrap());
    assert_eq!(from_pool, from_tx.unwrap());
}

#[tokio::test]
async fn sibling_relations_are_in_flight_together() {
    let db = TestDb::with_example_schema("prefetch_pipeline").await;
    db.client.batch_execute(SHOP_DATA).await.unwrap();
    let pool = db.pool();
    // Warm the statement cache so the relations are single round trips.
    shop::list_orders_with_details(&pool, since())
        .await
        .unwrap();
    let (orders, log) = quarry::record(shop::list_orders_with_details(&pool, since())).await;
    orders.unwrap();
    // customers and items are siblings (level 1): sent together on one connection.
    assert!(
        log.overlapping("CustomersByIds", "ItemsByOrder"),
        "{log:#?}"
    );
    // products are a level below items: they start only once items are back.
    let record = |name: &str| {
        log.records()
            .iter()
            .find(|r| r.query == name)
            .cloned()
            .unwrap()
    };
    assert!(record("ProductsByIds").started >= record("ItemsByOrder").finished);
    assert!(record("CategoriesByIds").started >= record("ProductsByIds").finished);
    assert!(!log.overlapping("ListOrdersWithDetails", "ItemsByOrder"));
}

#[tokio::test]
async fn posts_with_comments_commenters_author_and_tags() {
    let db = TestDb::with_example_data("prefetch_posts").await;
    let pool = db.pool();
    let (posts, log) = quarry::record(blog::list_posts_with_relations(&pool, 10)).await;
    let posts = posts.unwrap();
    log.assert_count(5);
    for name in [
        "ListPostsWithRelations",
        "CommentsByPost",
        "AuthorsByIds",
        "AuthorsById",
        "TagsViaPostTags",
    ] {
        assert_eq!(log.count(name), 1, "{name} in {log:#?}");
    }
    // Siblings of level 1 overlap.
    assert!(log.overlapping("CommentsByPost", "TagsViaPostTags"));

    // Reference: one statement per post, per comment's author, per post's author and tags.
    let client = &db.client;
    let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![5, 2, 3, 1], "published posts, newest first");
    for post in &posts {
        let author = blog::get_author(client, post.author_id).await.unwrap();
        assert_eq!(
            (post.author.id, &post.author.name, &post.author.email),
            (author.id, &author.name, &author.email)
        );
        let comments = client
            .query(
                "SELECT id, author_id FROM comments WHERE post_id = $1 ORDER BY created_at, id",
                &[&post.id],
            )
            .await
            .unwrap();
        let expected: Vec<(i64, Option<i64>)> =
            comments.iter().map(|r| (r.get(0), r.get(1))).collect();
        let got: Vec<(i64, Option<i64>)> = post
            .comments
            .iter()
            .map(|c| (c.id, c.commenter.as_ref().map(|a| a.id)))
            .collect();
        assert_eq!(got, expected, "comments of post {}", post.id);
        for comment in &post.comments {
            assert_eq!(
                comment.commenter.as_ref().map(|a| a.name.clone()),
                comment.author_name
            );
        }
        let tags = client
            .query(
                "SELECT t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = $1 ORDER BY t.id",
                &[&post.id],
            )
            .await
            .unwrap();
        let expected: Vec<String> = tags.iter().map(|r| r.get(0)).collect();
        let got: Vec<String> = post.tags.iter().map(|t| t.name.clone()).collect();
        assert_eq!(got, expected, "tags of post {}", post.id);
    }
    // Post 1 has an anonymous comment: a NULL key, skipped, typed `None`.
    let anonymous = posts[3]
        .comments
        .iter()
        .find(|c| c.author_id.is_none())
        .unwrap();
    assert_eq!(anonymous.commenter, None);
}

#[tokio::test]
async fn empty_parent_set_runs_one_statement() {
    let db = TestDb::with_example_data("prefetch_empty").await;
    let future = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).single().unwrap();
    let (orders, log) = quarry::record(shop::list_orders_with_details(&db.client, future)).await;
    assert!(orders.unwrap().is_empty());
    log.assert_count(1);
    // A loader called with no keys sends nothing at all.
    let (items, log) = quarry::record(shop::items_by_order(&db.client, &[])).await;
    assert!(items.unwrap().is_empty());
    log.assert_count(0);
}

#[tokio::test]
async fn duplicate_and_null_keys() {
    let db = TestDb::with_example_data("prefetch_keys").await;
    // Duplicates are sent once and every parent gets its row.
    let (customers, log) =
        quarry::record(shop::customers_by_ids(&db.client, &[2, 1, 2, 2, 1, 99])).await;
    let customers = customers.unwrap();
    log.assert_count(1);
    assert_eq!(customers.len(), 2);
    assert_eq!(
        customers.get(&1).map(|c| c.name.as_str()),
        Some("Alice Martin")
    );
    assert_eq!(customers.get(&99), None);
    // Three orders of customer 1 share one customer row (cloned twice, moved once).
    let orders = shop::list_orders_with_details(&db.client, since())
        .await
        .unwrap();
    let alice: Vec<i64> = orders
        .iter()
        .filter(|o| o.customer.id == 1)
        .map(|o| o.id)
        .collect();
    assert_eq!(alice, vec![6, 2, 1]);
    assert!(orders.iter().all(|o| o.customer.id == o.customer_id));
    // NULL keys are skipped: comment 2 (anonymous) has no commenter; comments 1 and 3 do.
    let comments = blog::comments_by_post(&db.client, &[1]).await.unwrap();
    let commenters: Vec<Option<&str>> = comments
        .get(&1)
        .iter()
        .map(|c| c.commenter.as_ref().map(|a| a.name.as_str()))
        .collect();
    assert_eq!(
        commenters,
        vec![Some("Grace Hopper"), None, Some("Linus Quill")]
    );
}

#[tokio::test]
async fn a_vanished_to_one_target_is_an_error_not_a_panic() {
    let db = TestDb::with_example_data("prefetch_missing").await;
    // Make the data inconsistent behind the foreign key's back, as a row deleted
    // between the parent's statement and the loader's would.
    db.client
        .batch_execute(
            "SET session_replication_role = replica;
             DELETE FROM customers WHERE id = 3;
             SET session_replication_role = DEFAULT;",
        )
        .await
        .unwrap();
    let error = shop::list_orders_with_details(&db.client, since())
        .await
        .unwrap_err();
    match &error {
        quarry::Error::MissingRelated { query, key } => {
            assert_eq!((*query, key.as_str()), ("CustomersByIds", "3"));
        }
        other => panic!("expected MissingRelated, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "query `CustomersByIds` found no row for key 3, which a parent row references"
    );
}

#[tokio::test]
async fn n_plus_one_detector_fires_for_a_loop_and_not_for_prefetching() {
    let db = TestDb::with_example_schema("prefetch_n_plus_one").await;
    db.client.batch_execute(SHOP_DATA).await.unwrap();
    let client = &db.client;
    let ((), looped) = quarry::record(async {
        let orders = shop::list_recent_orders(client, since(), 50).await.unwrap();
        for order in &orders {
            shop::get_customer(client, order.customer_id).await.unwrap();
        }
    })
    .await;
    assert_eq!(looped.count("GetCustomer"), 50);
    let flagged: Vec<&str> = looped.n_plus_one().iter().map(|n| n.query).collect();
    assert_eq!(flagged, vec!["GetCustomer"]);

    let (orders, prefetched) =
        quarry::record(shop::list_orders_with_details(client, since())).await;
    assert_eq!(orders.unwrap().len(), 50);
    assert!(
        prefetched.n_plus_one().is_empty(),
        "{:?}",
        prefetched.n_plus_one()
    );
}

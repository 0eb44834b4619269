//! End-to-end tests of the example application's generated queries.
//!
//! Every one of the 46 queries of `queries/shop.sql` and `queries/blog.sql` is
//! run through its generated function against a fresh database seeded with
//! `examples/app/seed.sql`, and the returned values are checked exactly.
//! Each test has its own database, so writes never leak between tests.
//! (The two prefetching list queries added later, `ListOrdersWithDetails` and
//! `ListPostsWithRelations`, are covered by `prefetch.rs`.)
//!
//! Loaders (`-- @key`) return their rows grouped by key (`quarry::ToOne` /
//! `quarry::ToMany`); they are checked per key, including the relation fields
//! they prefetch, and as a whole through [`by_key`].
//!
//! The executors vary on purpose: `quarry::Pool`, a plain
//! `tokio_postgres::Client`, `tokio_postgres::Transaction`, and deadpool's
//! pooled `Object` and `Transaction`.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use quarry_example_app::queries::blog::{self, *};
use quarry_example_app::queries::shop::{self, *};
use quarry_example_app::queries::types::OrderStatus;
use quarry_tests::TestDb;
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

// ------------------------------------------------------------------ helpers

/// A UTC timestamp from RFC 3339 text.
fn ts(text: &str) -> DateTime<Utc> {
    text.parse()
        .unwrap_or_else(|e| panic!("bad timestamp {text}: {e}"))
}

/// A date from `YYYY-MM-DD`.
fn date(text: &str) -> NaiveDate {
    text.parse()
        .unwrap_or_else(|e| panic!("bad date {text}: {e}"))
}

/// An exact decimal (keeps the scale of the text: `"1.50"` has scale 2).
fn dec(text: &str) -> Decimal {
    Decimal::from_str_exact(text).unwrap_or_else(|e| panic!("bad decimal {text}: {e}"))
}

/// Asserts a decimal's value *and* scale, by its text form.
#[track_caller]
fn assert_dec(actual: Decimal, expected: &str) {
    assert_eq!(
        actual.to_string(),
        expected,
        "decimal value or scale differs"
    );
}

/// Owned strings.
fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn s(text: &str) -> String {
    text.to_string()
}

fn uuid(text: &str) -> Uuid {
    Uuid::from_str(text).unwrap_or_else(|e| panic!("bad uuid {text}: {e}"))
}

const POST1_UUID: &str = "11111111-1111-4111-8111-111111111111";
const POST4_UUID: &str = "44444444-4444-4444-8444-444444444444";
const UNKNOWN_UUID: &str = "00000000-0000-0000-0000-000000000000";

fn alice() -> Customer {
    Customer {
        id: 1,
        email: s("alice@example.com"),
        name: s("Alice Martin"),
        phone: Some(s("+33 6 12 34 56 78")),
        created_at: ts("2024-01-02T09:00:00Z"),
    }
}

fn bob() -> Customer {
    Customer {
        id: 2,
        email: s("bob@example.com"),
        name: s("Bob Chen"),
        phone: None,
        created_at: ts("2024-01-05T14:30:00Z"),
    }
}

fn dave() -> Customer {
    Customer {
        id: 4,
        email: s("dave@example.com"),
        name: s("Dave Okafor"),
        phone: Some(s("+44 20 7946 0000")),
        created_at: ts("2024-03-01T08:00:00Z"),
    }
}

/// A loader's groups (from `into_map`), ordered by key: compares a whole
/// result at once, with a readable diff.
fn by_key<K: Ord, V>(groups: HashMap<K, V>) -> BTreeMap<K, V> {
    groups.into_iter().collect()
}

fn category(id: i64, parent_id: Option<i64>, name: &str, slug: &str) -> CategoriesByIdsRow {
    CategoriesByIdsRow {
        id,
        parent_id,
        name: s(name),
        slug: s(slug),
    }
}

fn electronics() -> CategoriesByIdsRow {
    category(1, None, "Electronics", "electronics")
}

fn laptops() -> CategoriesByIdsRow {
    category(3, Some(2), "Laptops", "laptops")
}

fn headphones() -> CategoriesByIdsRow {
    category(5, Some(4), "Headphones", "headphones")
}

fn home() -> CategoriesByIdsRow {
    category(6, None, "Home", "home")
}

fn kitchen() -> CategoriesByIdsRow {
    category(7, Some(6), "Kitchen", "kitchen")
}

/// Product 1, in Laptops.
fn ultrabook() -> ProductsByIdsRow {
    ProductsByIdsRow {
        id: 1,
        category_id: 3,
        sku: s("LAP-001"),
        name: s("Ultrabook 13"),
        price: dec("1299.00"),
        description: Some(s("Light 13-inch laptop")),
        stock: 12,
        tags: strings(&["portable", "premium"]),
        weight_kg: Some(1.2),
        active: true,
        category: laptops(),
    }
}

/// Product 3, in Headphones.
fn nc_headphones() -> ProductsByIdsRow {
    ProductsByIdsRow {
        id: 3,
        category_id: 5,
        sku: s("HP-001"),
        name: s("Noise-Cancelling Headphones"),
        price: dec("349.99"),
        description: Some(s("Over-ear, 30h battery")),
        stock: 40,
        tags: strings(&["wireless", "premium"]),
        weight_kg: Some(0.25),
        active: true,
        category: headphones(),
    }
}

/// Product 4, in Headphones.
fn earbuds() -> ProductsByIdsRow {
    ProductsByIdsRow {
        id: 4,
        category_id: 5,
        sku: s("HP-002"),
        name: s("Wired Earbuds"),
        price: dec("19.90"),
        description: None,
        stock: 150,
        tags: vec![],
        weight_kg: Some(0.02),
        active: true,
        category: headphones(),
    }
}

/// Product 6, in Kitchen, inactive.
fn chef_knife() -> ProductsByIdsRow {
    ProductsByIdsRow {
        id: 6,
        category_id: 7,
        sku: s("KIT-002"),
        name: s("Chef Knife"),
        price: dec("89.50"),
        description: None,
        stock: 25,
        tags: strings(&["steel"]),
        weight_kg: Some(0.3),
        active: false,
        category: kitchen(),
    }
}

fn ada_author() -> AuthorsByIdsRow {
    AuthorsByIdsRow {
        id: 1,
        name: s("Ada Lovelace"),
        email: s("ada@example.com"),
        bio: Some(s("Writes about computing engines.")),
    }
}

fn grace_author() -> AuthorsByIdsRow {
    AuthorsByIdsRow {
        id: 2,
        name: s("Grace Hopper"),
        email: s("grace@example.com"),
        bio: Some(s("Compilers, COBOL and nanoseconds.")),
    }
}

fn linus_author() -> AuthorsByIdsRow {
    AuthorsByIdsRow {
        id: 3,
        name: s("Linus Quill"),
        email: s("linus@example.com"),
        bio: None,
    }
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, quarry::Error>, query: &str) {
    match result {
        Err(quarry::Error::NotFound { query: name }) => assert_eq!(name, query),
        other => panic!("expected NotFound from {query}, got {other:?}"),
    }
}

/// The current transaction's `now()`.
async fn tx_now(tx: &tokio_postgres::Transaction<'_>) -> DateTime<Utc> {
    tx.query_one("SELECT now()", &[]).await.unwrap().get(0)
}

// ------------------------------------------------------------------ sanity of the helpers

#[test]
fn decimal_equality_ignores_scale_but_assert_dec_does_not() {
    // Decimal's PartialEq is numeric: 1338.8 == 1338.80 …
    assert_eq!(dec("1338.8"), dec("1338.80"));
    // … so scale is checked separately where it matters.
    assert_eq!(dec("1338.80").to_string(), "1338.80");
    assert_ne!(dec("1338.8").to_string(), "1338.80");
}

// ------------------------------------------------------------------ shop: customers

/// GetCustomer, GetCustomerByEmail, CustomersByIds, CustomerOrderStats
/// through a `quarry::Pool`.
#[tokio::test]
async fn customer_reads_through_pool() {
    let db = TestDb::with_example_data("eq_customer_reads").await;
    let pool = db.pool();

    // :one
    assert_eq!(shop::get_customer(&pool, 1).await.unwrap(), alice());
    let bob_row = shop::get_customer(&pool, 2).await.unwrap();
    assert_eq!(bob_row, bob());
    assert_eq!(bob_row.phone, None);
    assert_eq!(bob_row.created_at, ts("2024-01-05T14:30:00Z"));
    assert_not_found(shop::get_customer(&pool, 99).await, "GetCustomer");

    // :opt
    assert_eq!(
        shop::get_customer_by_email(&pool, "bob@example.com")
            .await
            .unwrap(),
        Some(bob())
    );
    assert_eq!(
        shop::get_customer_by_email(&pool, "nobody@example.com")
            .await
            .unwrap(),
        None
    );

    // A :one loader: at most one row per key; unknown ids are simply absent.
    let customers = shop::customers_by_ids(&pool, &[2, 4, 99]).await.unwrap();
    assert_eq!(customers.len(), 2);
    assert!(!customers.is_empty());
    assert_eq!(customers.get(&2), Some(&bob()));
    assert_eq!(customers.get(&4), Some(&dave()));
    assert_eq!(customers.get(&99), None);
    assert_eq!(customers.get(&1), None); // exists, but not asked for
    assert_eq!(
        by_key(customers.into_map()),
        BTreeMap::from([(2, bob()), (4, dave())])
    );
    // Duplicate keys are de-duplicated; an empty slice yields nothing.
    let twice = shop::customers_by_ids(&pool, &[1, 1]).await.unwrap();
    assert_eq!(twice.len(), 1);
    assert_eq!(by_key(twice.into_map()), BTreeMap::from([(1, alice())]));
    let none = shop::customers_by_ids(&pool, &[]).await.unwrap();
    assert!(none.is_empty());
    assert_eq!(none.len(), 0);
    assert_eq!(none.get(&1), None);

    // Aggregates over a LEFT JOIN: Dave has no orders.
    let stats = shop::customer_order_stats(&pool).await.unwrap();
    assert_eq!(
        stats,
        vec![
            CustomerOrderStatsRow {
                id: 1,
                name: s("Alice Martin"),
                email: s("alice@example.com"),
                phone: Some(s("+33 6 12 34 56 78")),
                order_count: 3,
                last_order_at: Some(ts("2024-03-10T08:05:00Z")),
            },
            CustomerOrderStatsRow {
                id: 2,
                name: s("Bob Chen"),
                email: s("bob@example.com"),
                phone: None,
                order_count: 1,
                last_order_at: Some(ts("2024-02-28T09:30:00Z")),
            },
            CustomerOrderStatsRow {
                id: 3,
                name: s("Carol Diaz"),
                email: s("carol@example.com"),
                phone: Some(s("+1 555 0100")),
                order_count: 2,
                last_order_at: Some(ts("2024-03-05T18:20:00Z")),
            },
            CustomerOrderStatsRow {
                id: 4,
                name: s("Dave Okafor"),
                email: s("dave@example.com"),
                phone: Some(s("+44 20 7946 0000")),
                order_count: 0,
                last_order_at: None,
            },
        ]
    );
}

/// CreateCustomer and UpsertCustomer inside a `tokio_postgres::Transaction`,
/// committed, then checked through a pool; a second transaction is rolled back.
#[tokio::test]
async fn customer_writes_in_transaction() {
    let mut db = TestDb::with_example_data("eq_customer_writes").await;

    let tx = db.client.transaction().await.unwrap();
    let now = tx_now(&tx).await;

    let erin = shop::create_customer(&tx, "erin@example.com", "Erin Park", None)
        .await
        .unwrap();
    assert_eq!(
        erin,
        Customer {
            id: 5,
            email: s("erin@example.com"),
            name: s("Erin Park"),
            phone: None,
            created_at: now,
        }
    );

    // Existing email: name replaced, phone set, id and created_at unchanged.
    let robert = shop::upsert_customer(&tx, "bob@example.com", "Robert Chen", Some("+1 555 0199"))
        .await
        .unwrap();
    assert_eq!(
        robert,
        Customer {
            id: 2,
            email: s("bob@example.com"),
            name: s("Robert Chen"),
            phone: Some(s("+1 555 0199")),
            created_at: ts("2024-01-05T14:30:00Z"),
        }
    );

    // Existing email, no phone given: the stored phone is kept.
    let alice_m = shop::upsert_customer(&tx, "alice@example.com", "Alice M.", None)
        .await
        .unwrap();
    assert_eq!(
        alice_m,
        Customer {
            name: s("Alice M."),
            ..alice()
        }
    );

    // New email: inserted. The two conflicting upserts above each consumed an
    // identity value (6 and 7), so the new customer gets 8.
    let frank = shop::upsert_customer(&tx, "frank@example.com", "Frank Ito", Some("+49 30 1234"))
        .await
        .unwrap();
    assert_eq!(
        frank,
        Customer {
            id: 8,
            email: s("frank@example.com"),
            name: s("Frank Ito"),
            phone: Some(s("+49 30 1234")),
            created_at: now,
        }
    );

    tx.commit().await.unwrap();
    let pool = db.pool();

    // A duplicate email through CreateCustomer is a unique violation (outside
    // the transaction above, which it would have aborted).
    let error = shop::create_customer(&pool, "erin@example.com", "Erin Again", None)
        .await
        .unwrap_err();
    assert_eq!(error.query(), "CreateCustomer");
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
    );

    // Committed: visible through another connection.
    let committed = shop::customers_by_ids(&pool, &[1, 2, 5, 8]).await.unwrap();
    assert_eq!(
        committed.get(&2),
        Some(&Customer {
            id: 2,
            email: s("bob@example.com"),
            name: s("Robert Chen"),
            phone: Some(s("+1 555 0199")),
            created_at: ts("2024-01-05T14:30:00Z"),
        })
    );
    assert_eq!(
        by_key(committed.into_map())
            .into_iter()
            .map(|(key, c)| (key, c.id, c.name))
            .collect::<Vec<_>>(),
        vec![
            (1, 1, s("Alice M.")),
            (2, 2, s("Robert Chen")),
            (5, 5, s("Erin Park")),
            (8, 8, s("Frank Ito")),
        ]
    );

    // A rolled-back transaction leaves nothing behind.
    let tx = db.client.transaction().await.unwrap();
    let gina = shop::create_customer(&tx, "gina@example.com", "Gina Rossi", Some("+39 06 123"))
        .await
        .unwrap();
    assert_eq!(gina.id, 10); // 9 went to the failed duplicate insert
    assert_eq!(
        shop::get_customer_by_email(&tx, "gina@example.com")
            .await
            .unwrap()
            .map(|c| c.id),
        Some(10)
    );
    tx.rollback().await.unwrap();
    assert_eq!(
        shop::get_customer_by_email(&pool, "gina@example.com")
            .await
            .unwrap(),
        None
    );
}

// ------------------------------------------------------------------ shop: categories and products

/// ImportProducts (`:copyfrom`) and SetProductPrices (`:batchexec`) through
/// a `quarry::Pool`: rows copied in, prices set per SKU, and a copy with a
/// duplicate SKU leaving nothing.
#[tokio::test]
async fn bulk_product_import_and_prices_through_pool() {
    let db = TestDb::with_example_data("eq_bulk_products").await;
    let pool = db.pool();
    let product = |sku: &str, price: &str, description: Option<&str>| ImportProductsParams {
        category_id: 7,
        sku: s(sku),
        name: format!("Product {sku}"),
        price: dec(price),
        description: description.map(s),
        stock: 3,
        tags: strings(&["import"]),
    };
    let rows = vec![
        product("IMP-001", "10.00", Some("first")),
        product("IMP-002", "20.50", None),
    ];
    assert_eq!(shop::import_products(&pool, rows).await.unwrap(), 2);
    assert_eq!(shop::import_products(&pool, Vec::new()).await.unwrap(), 0);
    // A duplicate SKU fails the whole copy.
    let duplicate = vec![
        product("IMP-003", "1.00", None),
        product("KIT-001", "1.00", None),
    ];
    assert!(shop::import_products(&pool, duplicate).await.is_err());

    let prices = [
        ("IMP-002", "21.00"),
        ("KIT-001", "399.00"),
        ("NOPE", "1.00"),
    ];
    let items: Vec<SetProductPricesParams> = prices
        .iter()
        .map(|(sku, price)| SetProductPricesParams {
            price: dec(price),
            sku: s(sku),
        })
        .collect();
    assert_eq!(
        shop::set_product_prices(&pool, &items).await.unwrap(),
        vec![1, 1, 0]
    );

    let rows = db
        .client
        .query(
            "SELECT sku, price::text, description, tags FROM products WHERE sku IN ('IMP-001', 'IMP-002', 'IMP-003', 'KIT-001') ORDER BY sku",
            &[],
        )
        .await
        .unwrap();
    let found: Vec<(String, String, Option<String>, Vec<String>)> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                s("IMP-001"),
                s("10.00"),
                Some(s("first")),
                strings(&["import"])
            ),
            (s("IMP-002"), s("21.00"), None, strings(&["import"])),
            (
                s("KIT-001"),
                s("399.00"),
                Some(s("Dual boiler")),
                strings(&["coffee"])
            ),
        ]
    );
}

/// CategoryTree, CategoriesByIds, ProductsInCategoryTree through a plain client.
#[tokio::test]
async fn category_queries_through_client() {
    let db = TestDb::with_example_data("eq_categories").await;
    let client = &db.client;

    let tree = shop::category_tree(client).await.unwrap();
    let node =
        |id, parent_id: Option<i64>, name: &str, slug: &str, sort_order, depth, path: &str| {
            CategoryTreeRow {
                id,
                parent_id,
                name: s(name),
                slug: s(slug),
                sort_order,
                depth,
                path: s(path),
            }
        };
    assert_eq!(
        tree,
        vec![
            node(1, None, "Electronics", "electronics", 1, 0, "electronics"),
            node(4, Some(1), "Audio", "audio", 2, 1, "electronics/audio"),
            node(
                5,
                Some(4),
                "Headphones",
                "headphones",
                1,
                2,
                "electronics/audio/headphones"
            ),
            node(
                2,
                Some(1),
                "Computers",
                "computers",
                1,
                1,
                "electronics/computers"
            ),
            node(
                3,
                Some(2),
                "Laptops",
                "laptops",
                1,
                2,
                "electronics/computers/laptops"
            ),
            node(6, None, "Home", "home", 2, 0, "home"),
            node(7, Some(6), "Kitchen", "kitchen", 1, 1, "home/kitchen"),
        ]
    );

    let categories = shop::categories_by_ids(client, &[7, 5, 3]).await.unwrap();
    assert_eq!(categories.len(), 3);
    assert_eq!(
        categories.get(&3),
        Some(&CategoriesByIdsRow {
            id: 3,
            parent_id: Some(2),
            name: s("Laptops"),
            slug: s("laptops"),
        })
    );
    assert_eq!(
        categories.get(&5),
        Some(&CategoriesByIdsRow {
            id: 5,
            parent_id: Some(4),
            name: s("Headphones"),
            slug: s("headphones"),
        })
    );
    assert_eq!(
        categories.get(&7),
        Some(&CategoriesByIdsRow {
            id: 7,
            parent_id: Some(6),
            name: s("Kitchen"),
            slug: s("kitchen"),
        })
    );
    assert_eq!(categories.get(&1), None);
    assert_eq!(
        by_key(categories.into_map()),
        BTreeMap::from([(3, laptops()), (5, headphones()), (7, kitchen())])
    );
    // Roots have no parent.
    let roots = shop::categories_by_ids(client, &[6, 1, 99]).await.unwrap();
    assert_eq!(roots.get(&1).map(|c| c.parent_id), Some(None));
    assert_eq!(roots.get(&6).map(|c| c.parent_id), Some(None));
    assert_eq!(roots.get(&99), None);
    assert_eq!(
        by_key(roots.into_map()),
        BTreeMap::from([(1, electronics()), (6, home())])
    );
    assert!(shop::categories_by_ids(client, &[])
        .await
        .unwrap()
        .is_empty());

    let electronics = shop::products_in_category_tree(client, 1).await.unwrap();
    assert_eq!(
        electronics,
        vec![
            ProductsInCategoryTreeRow {
                id: 4,
                sku: s("HP-002"),
                name: s("Wired Earbuds"),
                price: dec("19.90"),
                stock: 150,
                tags: vec![],
                category_name: s("Headphones"),
            },
            ProductsInCategoryTreeRow {
                id: 3,
                sku: s("HP-001"),
                name: s("Noise-Cancelling Headphones"),
                price: dec("349.99"),
                stock: 40,
                tags: strings(&["wireless", "premium"]),
                category_name: s("Headphones"),
            },
            ProductsInCategoryTreeRow {
                id: 1,
                sku: s("LAP-001"),
                name: s("Ultrabook 13"),
                price: dec("1299.00"),
                stock: 12,
                tags: strings(&["portable", "premium"]),
                category_name: s("Laptops"),
            },
            ProductsInCategoryTreeRow {
                id: 2,
                sku: s("LAP-002"),
                name: s("Workstation 16"),
                price: dec("2499.00"),
                stock: 3,
                tags: strings(&["premium", "pro"]),
                category_name: s("Laptops"),
            },
        ]
    );
    assert_dec(electronics[0].price, "19.90");
    assert_dec(electronics[2].price, "1299.00");

    // A leaf category, the inactive knife included (the query does not filter on active).
    let kitchen = shop::products_in_category_tree(client, 7).await.unwrap();
    assert_eq!(
        kitchen.iter().map(|p| (p.id, p.stock)).collect::<Vec<_>>(),
        vec![(6, 25), (5, 0)]
    );
    assert!(shop::products_in_category_tree(client, 99)
        .await
        .unwrap()
        .is_empty());
}

/// SearchProducts (every optional filter) and ProductsByIds through a pool.
#[tokio::test]
async fn product_search_and_lookup() {
    let db = TestDb::with_example_data("eq_products").await;
    let pool = db.pool();

    let ids = |rows: &[SearchProductsRow]| rows.iter().map(|r| r.id).collect::<Vec<_>>();

    let all = shop::search_products(&pool, "", None, None, None)
        .await
        .unwrap();
    assert_eq!(ids(&all), vec![4, 3, 5, 1, 2]); // the inactive knife (6) is excluded
    assert_eq!(
        all[0],
        SearchProductsRow {
            id: 4,
            sku: s("HP-002"),
            name: s("Wired Earbuds"),
            price: dec("19.90"),
            description: None,
            stock: 150,
            tags: vec![],
            weight_kg: Some(0.02),
        }
    );
    assert_eq!(
        all[2],
        SearchProductsRow {
            id: 5,
            sku: s("KIT-001"),
            name: s("Espresso Machine"),
            price: dec("449.00"),
            description: Some(s("Dual boiler")),
            stock: 0,
            tags: strings(&["coffee"]),
            weight_kg: None,
        }
    );

    let premium_e = shop::search_products(&pool, "e", None, Some("premium"), None)
        .await
        .unwrap();
    assert_eq!(ids(&premium_e), vec![3]);
    assert_eq!(
        premium_e[0].description.as_deref(),
        Some("Over-ear, 30h battery")
    );
    assert_eq!(premium_e[0].weight_kg, Some(0.25));

    // Case-insensitive match.
    let by_name = shop::search_products(&pool, "ULTRA", None, None, None)
        .await
        .unwrap();
    assert_eq!(ids(&by_name), vec![1]);

    assert_eq!(
        ids(&shop::search_products(&pool, "", Some(5), None, None)
            .await
            .unwrap()),
        vec![4, 3]
    );
    assert_eq!(
        ids(
            &shop::search_products(&pool, "", None, None, Some(dec("500")))
                .await
                .unwrap()
        ),
        vec![4, 3, 5]
    );
    // Inclusive upper bound.
    assert_eq!(
        ids(
            &shop::search_products(&pool, "", None, None, Some(dec("449.00")))
                .await
                .unwrap()
        ),
        vec![4, 3, 5]
    );
    assert_eq!(
        ids(
            &shop::search_products(&pool, "", Some(3), Some("pro"), Some(dec("3000")))
                .await
                .unwrap()
        ),
        vec![2]
    );
    assert!(shop::search_products(&pool, "knife", None, None, None)
        .await
        .unwrap()
        .is_empty());

    let products = shop::products_by_ids(&pool, &[3, 1, 99]).await.unwrap();
    assert_eq!(products.len(), 2);
    assert_eq!(
        products.get(&1),
        Some(&ProductsByIdsRow {
            id: 1,
            category_id: 3,
            sku: s("LAP-001"),
            name: s("Ultrabook 13"),
            price: dec("1299.00"),
            description: Some(s("Light 13-inch laptop")),
            stock: 12,
            tags: strings(&["portable", "premium"]),
            weight_kg: Some(1.2),
            active: true,
            category: CategoriesByIdsRow {
                id: 3,
                parent_id: Some(2),
                name: s("Laptops"),
                slug: s("laptops"),
            },
        })
    );
    assert_eq!(
        products.get(&3),
        Some(&ProductsByIdsRow {
            id: 3,
            category_id: 5,
            sku: s("HP-001"),
            name: s("Noise-Cancelling Headphones"),
            price: dec("349.99"),
            description: Some(s("Over-ear, 30h battery")),
            stock: 40,
            tags: strings(&["wireless", "premium"]),
            weight_kg: Some(0.25),
            active: true,
            category: CategoriesByIdsRow {
                id: 5,
                parent_id: Some(4),
                name: s("Headphones"),
                slug: s("headphones"),
            },
        })
    );
    assert_eq!(products.get(&99), None);
    assert_dec(products.get(&1).unwrap().price, "1299.00");
    assert_eq!(
        by_key(products.into_map()),
        BTreeMap::from([(1, ultrabook()), (3, nc_headphones())])
    );
    // The inactive knife too: the loader does not filter on active.
    let knife = shop::products_by_ids(&pool, &[6, 6]).await.unwrap();
    assert_eq!(knife.len(), 1);
    let chef = knife.get(&6).unwrap();
    assert!(!chef.active);
    assert_eq!(chef.description, None);
    assert_dec(chef.price, "89.50");
    assert_eq!(chef.category, kitchen());
    assert_eq!(knife.get(&6), Some(&chef_knife()));
    // Two products sharing a category both get it.
    let audio = shop::products_by_ids(&pool, &[4, 3]).await.unwrap();
    assert_eq!(
        by_key(audio.into_map()),
        BTreeMap::from([(3, nc_headphones()), (4, earbuds())])
    );
    assert!(shop::products_by_ids(&pool, &[]).await.unwrap().is_empty());
}

/// AdjustStock and SetProductTags through deadpool's pooled `Object` and a
/// deadpool `Transaction` (rolled back).
#[tokio::test]
async fn product_writes_through_deadpool() {
    let db = TestDb::with_example_data("eq_product_writes").await;
    let pool = db.pool();
    let mut object = pool.inner().get().await.unwrap();

    assert_eq!(
        shop::adjust_stock(&object, -2, 1).await.unwrap(),
        AdjustStockRow {
            id: 1,
            sku: s("LAP-001"),
            stock: 10,
        }
    );
    assert_eq!(shop::adjust_stock(&object, 5, 5).await.unwrap().stock, 5);
    assert_not_found(shop::adjust_stock(&object, 1, 99).await, "AdjustStock");

    assert_eq!(
        shop::set_product_tags(&object, &["sale", "portable"], 1)
            .await
            .unwrap(),
        SetProductTagsRow {
            id: 1,
            sku: s("LAP-001"),
            tags: strings(&["sale", "portable"]),
        }
    );
    assert_eq!(
        shop::set_product_tags(&object, &[], 3).await.unwrap().tags,
        Vec::<String>::new()
    );
    assert_not_found(
        shop::set_product_tags(&object, &["x"], 99).await,
        "SetProductTags",
    );

    // The new tags are searchable.
    assert_eq!(
        shop::search_products(&pool, "", None, Some("sale"), None)
            .await
            .unwrap()
            .iter()
            .map(|p| (p.id, p.stock))
            .collect::<Vec<_>>(),
        vec![(1, 10)]
    );

    // In a deadpool transaction, then rolled back.
    {
        let tx = object.transaction().await.unwrap();
        assert_eq!(shop::adjust_stock(&tx, -10, 1).await.unwrap().stock, 0);
        assert_eq!(
            shop::set_product_tags(&tx, &["clearance"], 1)
                .await
                .unwrap()
                .tags,
            strings(&["clearance"])
        );
        tx.rollback().await.unwrap();
    }
    let after = shop::products_by_ids(&object, &[1, 3, 5]).await.unwrap();
    assert_eq!(
        after.get(&1),
        Some(&ProductsByIdsRow {
            stock: 10,
            tags: strings(&["sale", "portable"]),
            ..ultrabook()
        })
    );
    assert_eq!(
        by_key(after.into_map())
            .into_iter()
            .map(|(key, p)| (key, p.id, p.stock, p.tags, p.category.slug))
            .collect::<Vec<_>>(),
        vec![
            (1, 1, 10, strings(&["sale", "portable"]), s("laptops")),
            (3, 3, 40, vec![], s("headphones")),
            (5, 5, 5, strings(&["coffee"]), s("kitchen")),
        ]
    );
}

// ------------------------------------------------------------------ shop: orders

/// ListOrdersForCustomer, ListRecentOrders and ItemsByOrder through a plain client.
#[tokio::test]
async fn order_reads_through_client() {
    let db = TestDb::with_example_data("eq_order_reads").await;
    let client = &db.client;

    let alice_orders = shop::list_orders_for_customer(client, 1, None)
        .await
        .unwrap();
    assert_eq!(
        alice_orders,
        vec![
            ListOrdersForCustomerRow {
                id: 6,
                status: OrderStatus::Pending,
                placed_at: ts("2024-03-10T08:05:00Z"),
                note: Some(s("Gift wrap please")),
                shipped_on: None,
                item_count: 1,
                total: dec("59.70"),
            },
            ListOrdersForCustomerRow {
                id: 2,
                status: OrderStatus::Paid,
                placed_at: ts("2024-02-20T16:45:00Z"),
                note: None,
                shipped_on: None,
                item_count: 2,
                total: dec("369.89"),
            },
            ListOrdersForCustomerRow {
                id: 1,
                status: OrderStatus::Shipped,
                placed_at: ts("2024-01-15T10:00:00Z"),
                note: Some(s("Leave at the door")),
                shipped_on: Some(date("2024-01-17")),
                item_count: 2,
                total: dec("1338.80"),
            },
        ]
    );
    assert_dec(alice_orders[2].total, "1338.80");
    assert_dec(alice_orders[0].total, "59.70");

    let pending = shop::list_orders_for_customer(client, 1, Some(OrderStatus::Pending))
        .await
        .unwrap();
    assert_eq!(pending.iter().map(|o| o.id).collect::<Vec<_>>(), vec![6]);

    let carol_shipped = shop::list_orders_for_customer(client, 3, Some(OrderStatus::Shipped))
        .await
        .unwrap();
    assert_eq!(
        carol_shipped,
        vec![ListOrdersForCustomerRow {
            id: 5,
            status: OrderStatus::Shipped,
            placed_at: ts("2024-03-05T18:20:00Z"),
            note: None,
            shipped_on: Some(date("2024-03-07")),
            item_count: 2,
            total: dec("749.48"),
        }]
    );
    let carol_cancelled = shop::list_orders_for_customer(client, 3, Some(OrderStatus::Cancelled))
        .await
        .unwrap();
    assert_eq!(carol_cancelled.len(), 1);
    assert_eq!(carol_cancelled[0].id, 4);
    assert_eq!(carol_cancelled[0].note.as_deref(), Some("Changed my mind"));
    assert_eq!(carol_cancelled[0].total, dec("2499.00"));
    assert!(shop::list_orders_for_customer(client, 4, None)
        .await
        .unwrap()
        .is_empty());

    let recent = shop::list_recent_orders(client, ts("2024-02-01T00:00:00Z"), 10)
        .await
        .unwrap();
    assert_eq!(
        recent,
        vec![
            ListRecentOrdersRow {
                id: 6,
                customer_id: 1,
                status: OrderStatus::Pending,
                placed_at: ts("2024-03-10T08:05:00Z"),
                shipped_on: None,
            },
            ListRecentOrdersRow {
                id: 5,
                customer_id: 3,
                status: OrderStatus::Shipped,
                placed_at: ts("2024-03-05T18:20:00Z"),
                shipped_on: Some(date("2024-03-07")),
            },
            ListRecentOrdersRow {
                id: 3,
                customer_id: 2,
                status: OrderStatus::Pending,
                placed_at: ts("2024-02-28T09:30:00Z"),
                shipped_on: None,
            },
            ListRecentOrdersRow {
                id: 2,
                customer_id: 1,
                status: OrderStatus::Paid,
                placed_at: ts("2024-02-20T16:45:00Z"),
                shipped_on: None,
            },
        ]
    );
    assert_eq!(
        shop::list_recent_orders(client, ts("2024-01-01T00:00:00Z"), 2)
            .await
            .unwrap()
            .iter()
            .map(|o| o.id)
            .collect::<Vec<_>>(),
        vec![6, 5]
    );
    // `since` is inclusive.
    assert_eq!(
        shop::list_recent_orders(client, ts("2024-03-10T08:05:00Z"), 10)
            .await
            .unwrap()
            .iter()
            .map(|o| o.id)
            .collect::<Vec<_>>(),
        vec![6]
    );

    let items = shop::items_by_order(client, &[5, 1, 2]).await.unwrap();
    let item = |id,
                order_id,
                product_id,
                sku: &str,
                name: &str,
                quantity,
                unit_price: &str,
                line_total: &str,
                product: ProductsByIdsRow| {
        ItemsByOrderRow {
            id,
            order_id,
            product_id,
            sku: s(sku),
            product_name: s(name),
            quantity,
            unit_price: dec(unit_price),
            line_total: dec(line_total),
            product,
        }
    };
    // Grouped by order, in id order within an order; unrequested orders are absent.
    assert_eq!(items.len(), 3);
    assert_eq!(
        items.get(&1),
        [
            item(
                1,
                1,
                1,
                "LAP-001",
                "Ultrabook 13",
                1,
                "1299.00",
                "1299.00",
                ultrabook()
            ),
            item(
                2,
                1,
                4,
                "HP-002",
                "Wired Earbuds",
                2,
                "19.90",
                "39.80",
                earbuds()
            ),
        ]
    );
    assert_eq!(
        items.get(&2),
        [
            item(
                3,
                2,
                3,
                "HP-001",
                "Noise-Cancelling Headphones",
                1,
                "349.99",
                "349.99",
                nc_headphones()
            ),
            item(
                4,
                2,
                4,
                "HP-002",
                "Wired Earbuds",
                1,
                "19.90",
                "19.90",
                earbuds()
            ),
        ]
    );
    assert_eq!(
        items.get(&5),
        [
            item(
                7,
                5,
                3,
                "HP-001",
                "Noise-Cancelling Headphones",
                2,
                "329.99",
                "659.98",
                nc_headphones()
            ),
            item(
                8,
                5,
                6,
                "KIT-002",
                "Chef Knife",
                1,
                "89.50",
                "89.50",
                chef_knife()
            ),
        ]
    );
    assert!(items.get(&3).is_empty()); // has items, but not asked for
    assert_dec(items.get(&1)[1].line_total, "39.80");
    assert_dec(items.get(&1)[1].unit_price, "19.90");
    // The nested relations: item 1's product is the Ultrabook 13, in Laptops
    // (id 3, under Computers, id 2).
    let first = &items.get(&1)[0];
    assert_eq!(first.product.id, 1);
    assert_eq!(first.product.name, "Ultrabook 13");
    assert_dec(first.product.price, "1299.00");
    assert_eq!(
        (
            first.product.category.id,
            first.product.category.parent_id,
            first.product.category.name.as_str()
        ),
        (3, Some(2), "Laptops")
    );
    // The inactive knife is still loaded as a product of an old order.
    assert!(!items.get(&5)[1].product.active);
    // Every group as a whole: order ids → item ids.
    assert_eq!(
        by_key(items.into_map())
            .into_iter()
            .map(|(order, rows)| (order, rows.iter().map(|i| i.id).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
        vec![(1, vec![1, 2]), (2, vec![3, 4]), (5, vec![7, 8])]
    );
    let unknown = shop::items_by_order(client, &[99]).await.unwrap();
    assert!(unknown.is_empty());
    assert!(unknown.get(&99).is_empty());
    assert!(shop::items_by_order(client, &[]).await.unwrap().is_empty());
}

/// PlaceOrder, UpdateOrderStatus, AddOrderItem, RemoveOrderItem and
/// DeleteCancelledOrdersBefore in a `tokio_postgres::Transaction`.
#[tokio::test]
async fn order_writes_in_transaction() {
    let mut db = TestDb::with_example_data("eq_order_writes").await;
    let tx = db.client.transaction().await.unwrap();

    // PlaceOrder
    assert_eq!(
        shop::place_order(
            &tx,
            4,
            OrderStatus::Pending,
            ts("2024-04-01T12:00:00Z"),
            None
        )
        .await
        .unwrap(),
        PlaceOrderRow {
            id: 7,
            customer_id: 4,
            status: OrderStatus::Pending,
            placed_at: ts("2024-04-01T12:00:00Z"),
            note: None,
            shipped_on: None,
        }
    );
    assert_eq!(
        shop::place_order(
            &tx,
            2,
            OrderStatus::Paid,
            ts("2024-04-02T15:30:00Z"),
            Some("Ring twice")
        )
        .await
        .unwrap(),
        PlaceOrderRow {
            id: 8,
            customer_id: 2,
            status: OrderStatus::Paid,
            placed_at: ts("2024-04-02T15:30:00Z"),
            note: Some(s("Ring twice")),
            shipped_on: None,
        }
    );
    // An order without items: count 0, total 0.00 (COALESCE … ::numeric(12, 2)).
    let dave_orders = shop::list_orders_for_customer(&tx, 4, None).await.unwrap();
    assert_eq!(dave_orders.len(), 1);
    assert_eq!(dave_orders[0].id, 7);
    assert_eq!(dave_orders[0].item_count, 0);
    assert_dec(dave_orders[0].total, "0.00");

    // UpdateOrderStatus
    assert_eq!(
        shop::update_order_status(&tx, OrderStatus::Shipped, Some(date("2024-03-01")), 2)
            .await
            .unwrap(),
        Some(UpdateOrderStatusRow {
            id: 2,
            status: OrderStatus::Shipped,
            shipped_on: Some(date("2024-03-01")),
        })
    );
    assert_eq!(
        shop::update_order_status(&tx, OrderStatus::Paid, None, 1)
            .await
            .unwrap(),
        Some(UpdateOrderStatusRow {
            id: 1,
            status: OrderStatus::Paid,
            shipped_on: Some(date("2024-01-17")),
        })
    );
    assert_eq!(
        shop::update_order_status(&tx, OrderStatus::Cancelled, None, 3)
            .await
            .unwrap(),
        Some(UpdateOrderStatusRow {
            id: 3,
            status: OrderStatus::Cancelled,
            shipped_on: None,
        })
    );
    assert_eq!(
        shop::update_order_status(&tx, OrderStatus::Shipped, None, 99)
            .await
            .unwrap(),
        None
    );

    // AddOrderItem: a new line, then a conflicting one that adds to the quantity.
    assert_eq!(
        shop::add_order_item(&tx, 3, 1, 1, dec("1299.00"))
            .await
            .unwrap(),
        AddOrderItemRow {
            id: 10,
            order_id: 3,
            product_id: 1,
            quantity: 1,
            unit_price: dec("1299.00"),
        }
    );
    let merged = shop::add_order_item(&tx, 3, 5, 2, dec("449.00"))
        .await
        .unwrap();
    assert_eq!(
        merged,
        AddOrderItemRow {
            id: 5,
            order_id: 3,
            product_id: 5,
            quantity: 3,
            unit_price: dec("449.00"),
        }
    );
    assert_dec(merged.unit_price, "449.00");
    // The conflicting insert consumed identity value 11.
    assert_eq!(
        shop::add_order_item(&tx, 7, 4, 5, dec("18.5"))
            .await
            .unwrap(),
        AddOrderItemRow {
            id: 12,
            order_id: 7,
            product_id: 4,
            quantity: 5,
            unit_price: dec("18.50"),
        }
    );
    let items = shop::items_by_order(&tx, &[3, 7]).await.unwrap();
    let summary = |rows: &[ItemsByOrderRow]| {
        rows.iter()
            .map(|i| {
                (
                    i.id,
                    i.order_id,
                    i.product_id,
                    i.quantity,
                    i.line_total,
                    i.product.sku.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(items.len(), 2);
    assert_eq!(
        summary(items.get(&3)),
        vec![
            (5, 3, 5, 3, dec("1347.00"), s("KIT-001")),
            (10, 3, 1, 1, dec("1299.00"), s("LAP-001")),
        ]
    );
    assert_eq!(
        summary(items.get(&7)),
        vec![(12, 7, 4, 5, dec("92.50"), s("HP-002"))]
    );
    // Loaded inside the transaction: the product and category of the new line.
    assert_eq!(items.get(&7)[0].product, earbuds());
    assert_eq!(items.get(&3)[1].product, ultrabook());

    // RemoveOrderItem: :exec row counts.
    assert_eq!(shop::remove_order_item(&tx, 1, 4).await.unwrap(), 1);
    assert_eq!(shop::remove_order_item(&tx, 1, 5).await.unwrap(), 0);
    assert_eq!(shop::remove_order_item(&tx, 1, 4).await.unwrap(), 0);
    assert_eq!(
        shop::items_by_order(&tx, &[1])
            .await
            .unwrap()
            .get(&1)
            .iter()
            .map(|i| i.id)
            .collect::<Vec<_>>(),
        vec![1]
    );

    // DeleteCancelledOrdersBefore: only order 4 (cancelled 2024-01-20) is
    // before February; order 3 was cancelled above but placed later.
    assert_eq!(
        shop::delete_cancelled_orders_before(&tx, ts("2024-02-01T00:00:00Z"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        shop::delete_cancelled_orders_before(&tx, ts("2024-02-01T00:00:00Z"))
            .await
            .unwrap(),
        0
    );
    // Its items went with it (ON DELETE CASCADE).
    let deleted = shop::items_by_order(&tx, &[4]).await.unwrap();
    assert!(deleted.is_empty());
    assert!(deleted.get(&4).is_empty());
    assert_eq!(
        shop::delete_cancelled_orders_before(&tx, ts("2025-01-01T00:00:00Z"))
            .await
            .unwrap(),
        1 // order 3
    );

    tx.commit().await.unwrap();

    // After commit, through a pool.
    let pool = db.pool();
    assert_eq!(
        shop::list_recent_orders(&pool, ts("2024-01-01T00:00:00Z"), 100)
            .await
            .unwrap()
            .iter()
            .map(|o| (o.id, o.status))
            .collect::<Vec<_>>(),
        vec![
            (8, OrderStatus::Paid),
            (7, OrderStatus::Pending),
            (6, OrderStatus::Pending),
            (5, OrderStatus::Shipped),
            (2, OrderStatus::Shipped),
            (1, OrderStatus::Paid),
        ]
    );
    // Unknown customer: a foreign key violation (run outside the transaction,
    // which it would abort).
    let error = shop::place_order(
        &pool,
        99,
        OrderStatus::Pending,
        ts("2024-04-01T12:00:00Z"),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(error.query(), "PlaceOrder");
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
    );
}

/// TopProductsByRevenue, CustomerOrderTimeline and SalesComparison (window
/// functions, CTEs, FULL JOIN) through a pool.
#[tokio::test]
async fn order_analytics_through_pool() {
    let db = TestDb::with_example_data("eq_order_analytics").await;
    let pool = db.pool();

    let top = shop::top_products_by_revenue(&pool, 1, 10).await.unwrap();
    let row = |product_id, sku: &str, name: &str, units: i64, revenue: &str, rank: i64| {
        TopProductsByRevenueRow {
            product_id,
            sku: s(sku),
            name: s(name),
            units_sold: units,
            revenue: dec(revenue),
            revenue_rank: rank,
        }
    };
    assert_eq!(
        top,
        vec![
            row(1, "LAP-001", "Ultrabook 13", 1, "1299.00", 1),
            row(3, "HP-001", "Noise-Cancelling Headphones", 3, "1009.97", 2),
            row(5, "KIT-001", "Espresso Machine", 1, "449.00", 3),
            row(4, "HP-002", "Wired Earbuds", 6, "119.40", 4),
            row(6, "KIT-002", "Chef Knife", 1, "89.50", 5),
        ]
    );
    assert_dec(top[3].revenue, "119.40");
    // HAVING filters before the window function numbers the rows.
    assert_eq!(
        shop::top_products_by_revenue(&pool, 2, 10).await.unwrap(),
        vec![
            row(3, "HP-001", "Noise-Cancelling Headphones", 3, "1009.97", 1),
            row(4, "HP-002", "Wired Earbuds", 6, "119.40", 2),
        ]
    );
    assert_eq!(
        shop::top_products_by_revenue(&pool, 1, 2)
            .await
            .unwrap()
            .iter()
            .map(|r| r.product_id)
            .collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert!(shop::top_products_by_revenue(&pool, 100, 10)
        .await
        .unwrap()
        .is_empty());

    let timeline = shop::customer_order_timeline(&pool, &[1, 3]).await.unwrap();
    let entry = |customer_id,
                 order_id,
                 status,
                 placed_at: &str,
                 total: &str,
                 seq: i64,
                 previous: Option<&str>,
                 running: &str| CustomerOrderTimelineRow {
        customer_id,
        order_id,
        status,
        placed_at: ts(placed_at),
        total: dec(total),
        order_seq: seq,
        previous_placed_at: previous.map(ts),
        running_total: dec(running),
    };
    assert_eq!(
        timeline,
        vec![
            entry(
                1,
                1,
                OrderStatus::Shipped,
                "2024-01-15T10:00:00Z",
                "1338.80",
                1,
                None,
                "1338.80"
            ),
            entry(
                1,
                2,
                OrderStatus::Paid,
                "2024-02-20T16:45:00Z",
                "369.89",
                2,
                Some("2024-01-15T10:00:00Z"),
                "1708.69"
            ),
            entry(
                1,
                6,
                OrderStatus::Pending,
                "2024-03-10T08:05:00Z",
                "59.70",
                3,
                Some("2024-02-20T16:45:00Z"),
                "1768.39"
            ),
            entry(
                3,
                4,
                OrderStatus::Cancelled,
                "2024-01-20T12:00:00Z",
                "2499.00",
                1,
                None,
                "2499.00"
            ),
            entry(
                3,
                5,
                OrderStatus::Shipped,
                "2024-03-05T18:20:00Z",
                "749.48",
                2,
                Some("2024-01-20T12:00:00Z"),
                "3248.48"
            ),
        ]
    );
    assert_dec(timeline[2].running_total, "1768.39");
    // Dave has no orders; unknown customers yield nothing.
    assert!(shop::customer_order_timeline(&pool, &[4, 99])
        .await
        .unwrap()
        .is_empty());

    let comparison = shop::sales_comparison(
        &pool,
        ts("2024-02-01T00:00:00Z"),
        ts("2024-04-01T00:00:00Z"),
        ts("2024-01-01T00:00:00Z"),
        ts("2024-02-01T00:00:00Z"),
    )
    .await
    .unwrap();
    let cmp = |product_id, name: &str, current: Option<i64>, previous: Option<i64>, change: i64| {
        SalesComparisonRow {
            product_id,
            name: s(name),
            current_units: current,
            previous_units: previous,
            units_change: change,
        }
    };
    assert_eq!(
        comparison,
        vec![
            cmp(1, "Ultrabook 13", None, Some(1), -1),
            cmp(3, "Noise-Cancelling Headphones", Some(3), None, 3),
            cmp(4, "Wired Earbuds", Some(4), Some(2), 2),
            cmp(5, "Espresso Machine", Some(1), None, 1),
            cmp(6, "Chef Knife", Some(1), None, 1),
        ]
    );
    // Empty periods on both sides.
    assert!(shop::sales_comparison(
        &pool,
        ts("2030-01-01T00:00:00Z"),
        ts("2030-02-01T00:00:00Z"),
        ts("2029-01-01T00:00:00Z"),
        ts("2029-02-01T00:00:00Z"),
    )
    .await
    .unwrap()
    .is_empty());
}

// ------------------------------------------------------------------ blog: authors

/// GetAuthor, AuthorsByIds, AuthorLeaderboard, PostsByAuthor, then
/// SetAuthorAvatar, through a plain client.
#[tokio::test]
async fn author_queries_through_client() {
    let db = TestDb::with_example_data("eq_authors").await;
    let client = &db.client;

    let ada = blog::get_author(client, 1).await.unwrap();
    assert_eq!(
        ada,
        GetAuthorRow {
            id: 1,
            name: s("Ada Lovelace"),
            email: s("ada@example.com"),
            bio: Some(s("Writes about computing engines.")),
            avatar: Some(vec![0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        }
    );
    assert_eq!(
        blog::get_author(client, 3).await.unwrap(),
        GetAuthorRow {
            id: 3,
            name: s("Linus Quill"),
            email: s("linus@example.com"),
            bio: None,
            avatar: None,
        }
    );
    assert_not_found(blog::get_author(client, 42).await, "GetAuthor");

    let authors = blog::authors_by_ids(client, &[3, 1]).await.unwrap();
    assert_eq!(authors.len(), 2);
    assert_eq!(
        authors.get(&1),
        Some(&AuthorsByIdsRow {
            id: 1,
            name: s("Ada Lovelace"),
            email: s("ada@example.com"),
            bio: Some(s("Writes about computing engines.")),
        })
    );
    assert_eq!(
        authors.get(&3),
        Some(&AuthorsByIdsRow {
            id: 3,
            name: s("Linus Quill"),
            email: s("linus@example.com"),
            bio: None,
        })
    );
    assert_eq!(authors.get(&2), None);
    assert_eq!(
        by_key(authors.into_map()),
        BTreeMap::from([(1, ada_author()), (3, linus_author())])
    );
    // Duplicate keys collapse; unknown keys are absent.
    let grace = blog::authors_by_ids(client, &[2, 2, 42]).await.unwrap();
    assert_eq!(grace.len(), 1);
    assert_eq!(
        grace.get(&2),
        Some(&AuthorsByIdsRow {
            id: 2,
            name: s("Grace Hopper"),
            email: s("grace@example.com"),
            bio: Some(s("Compilers, COBOL and nanoseconds.")),
        })
    );
    assert_eq!(grace.get(&42), None);
    assert_eq!(
        by_key(grace.into_map()),
        BTreeMap::from([(2, grace_author())])
    );
    assert!(blog::authors_by_ids(client, &[]).await.unwrap().is_empty());

    assert_eq!(
        blog::author_leaderboard(client).await.unwrap(),
        vec![
            AuthorLeaderboardRow {
                author_id: 1,
                name: s("Ada Lovelace"),
                post_count: 2,
                total_views: 460,
                avg_views: Some(230.0),
                leaderboard_rank: 1,
            },
            AuthorLeaderboardRow {
                author_id: 2,
                name: s("Grace Hopper"),
                post_count: 2,
                total_views: 305,
                avg_views: Some(152.5),
                leaderboard_rank: 2,
            },
            AuthorLeaderboardRow {
                author_id: 3,
                name: s("Linus Quill"),
                post_count: 0,
                total_views: 0,
                avg_views: None,
                leaderboard_rank: 3,
            },
        ]
    );

    let posts = blog::posts_by_author(client, &[3, 2]).await.unwrap();
    assert_eq!(posts.len(), 2);
    // Newest first within an author.
    assert_eq!(
        posts.get(&2),
        [
            PostsByAuthorRow {
                id: 5,
                author_id: 2,
                title: s("Recursive CTEs explained"),
                published_at: Some(ts("2024-03-03T07:15:00Z")),
                views: 210,
            },
            PostsByAuthorRow {
                id: 3,
                author_id: 2,
                title: s("Why nullability matters"),
                published_at: Some(ts("2024-01-25T12:00:00Z")),
                views: 95,
            },
        ]
    );
    assert_eq!(
        posts.get(&3),
        [PostsByAuthorRow {
            id: 4,
            author_id: 3,
            title: s("Draft: prefetching relations"),
            published_at: None,
            views: 0,
        }]
    );
    assert!(posts.get(&1).is_empty()); // has posts, but not asked for
    assert_eq!(
        by_key(posts.into_map())
            .into_iter()
            .map(|(author, rows)| (author, rows.iter().map(|p| p.id).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
        vec![(2, vec![5, 3]), (3, vec![4])]
    );
    let unknown = blog::posts_by_author(client, &[42]).await.unwrap();
    assert!(unknown.is_empty());
    assert!(unknown.get(&42).is_empty());

    // SetAuthorAvatar: set bytes, clear, unknown author.
    assert_eq!(
        blog::set_author_avatar(client, Some(&[0xde, 0xad, 0xbe, 0xef]), 2)
            .await
            .unwrap(),
        1
    );
    assert_eq!(blog::set_author_avatar(client, None, 1).await.unwrap(), 1);
    assert_eq!(
        blog::set_author_avatar(client, Some(&[0x00]), 42)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        blog::get_author(client, 2).await.unwrap().avatar,
        Some(vec![0xde, 0xad, 0xbe, 0xef])
    );
    assert_eq!(blog::get_author(client, 1).await.unwrap().avatar, None);
    // Empty bytes are not NULL.
    assert_eq!(
        blog::set_author_avatar(client, Some(&[]), 3).await.unwrap(),
        1
    );
    assert_eq!(
        blog::get_author(client, 3).await.unwrap().avatar,
        Some(vec![])
    );
}

// ------------------------------------------------------------------ blog: posts

/// GetPostByUuid, ListPublishedPosts, PostsWithCommentCounts, PostsByTag,
/// SearchPostsByMetadata and AuthorPostTimeline through a pool.
#[tokio::test]
async fn post_reads_through_pool() {
    let db = TestDb::with_example_data("eq_post_reads").await;
    let pool = db.pool();

    assert_eq!(
        blog::get_post_by_uuid(&pool, uuid(POST1_UUID))
            .await
            .unwrap(),
        Some(GetPostByUuidRow {
            id: 1,
            uuid: uuid(POST1_UUID),
            title: s("Hello, Quarry"),
            body: s("Quarry turns annotated SQL into typed Rust."),
            published_at: Some(ts("2024-01-10T08:00:00Z")),
            views: 120,
            metadata: Some(json!({"lang": "en", "reading_minutes": 3, "featured": true})),
            author_id: 1,
            author_name: s("Ada Lovelace"),
        })
    );
    let draft = blog::get_post_by_uuid(&pool, uuid(POST4_UUID))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(draft.id, 4);
    assert_eq!(draft.published_at, None);
    assert_eq!(draft.metadata, None);
    assert_eq!(draft.views, 0);
    assert_eq!(draft.author_name, "Linus Quill");
    assert_eq!(
        blog::get_post_by_uuid(&pool, uuid(UNKNOWN_UUID))
            .await
            .unwrap(),
        None
    );

    let published = blog::list_published_posts(&pool, ts("2024-12-31T00:00:00Z"), 10)
        .await
        .unwrap();
    assert_eq!(
        published
            .iter()
            .map(|p| (p.id, p.uuid, p.author_id, p.views))
            .collect::<Vec<_>>(),
        vec![
            (5, uuid("55555555-5555-4555-8555-555555555555"), 2, 210),
            (2, uuid("22222222-2222-4222-8222-222222222222"), 1, 340),
            (3, uuid("33333333-3333-4333-8333-333333333333"), 2, 95),
            (1, uuid(POST1_UUID), 1, 120),
        ]
    );
    assert_eq!(
        published[1],
        ListPublishedPostsRow {
            id: 2,
            uuid: uuid("22222222-2222-4222-8222-222222222222"),
            title: s("Window functions in practice"),
            author_id: 1,
            published_at: ts("2024-02-01T09:30:00Z"),
            views: 340,
        }
    );
    assert!(
        blog::list_published_posts(&pool, ts("2024-01-01T00:00:00Z"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    // `as_of` inclusive, and the limit.
    assert_eq!(
        blog::list_published_posts(&pool, ts("2024-02-01T09:30:00Z"), 2)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        vec![2, 3]
    );

    let counts = blog::posts_with_comment_counts(&pool, 0).await.unwrap();
    let count =
        |id, title: &str, author: &str, n: i64, last: Option<&str>| PostsWithCommentCountsRow {
            id,
            title: s(title),
            author_name: s(author),
            comment_count: n,
            last_comment_at: last.map(ts),
        };
    assert_eq!(
        counts,
        vec![
            count(
                1,
                "Hello, Quarry",
                "Ada Lovelace",
                3,
                Some("2024-01-12T18:45:00Z")
            ),
            count(
                2,
                "Window functions in practice",
                "Ada Lovelace",
                1,
                Some("2024-02-02T08:00:00Z")
            ),
            count(
                3,
                "Why nullability matters",
                "Grace Hopper",
                1,
                Some("2024-01-26T14:20:00Z")
            ),
            count(
                5,
                "Recursive CTEs explained",
                "Grace Hopper",
                1,
                Some("2024-03-04T21:10:00Z")
            ),
            count(4, "Draft: prefetching relations", "Linus Quill", 0, None),
        ]
    );
    assert_eq!(
        blog::posts_with_comment_counts(&pool, 2).await.unwrap(),
        vec![count(
            1,
            "Hello, Quarry",
            "Ada Lovelace",
            3,
            Some("2024-01-12T18:45:00Z")
        )]
    );

    assert_eq!(
        blog::posts_by_tag(&pool, "postgres").await.unwrap(),
        vec![
            PostsByTagRow {
                id: 5,
                title: s("Recursive CTEs explained"),
                published_at: Some(ts("2024-03-03T07:15:00Z")),
                author_name: s("Grace Hopper"),
            },
            PostsByTagRow {
                id: 2,
                title: s("Window functions in practice"),
                published_at: Some(ts("2024-02-01T09:30:00Z")),
                author_name: s("Ada Lovelace"),
            },
            PostsByTagRow {
                id: 3,
                title: s("Why nullability matters"),
                published_at: Some(ts("2024-01-25T12:00:00Z")),
                author_name: s("Grace Hopper"),
            },
        ]
    );
    let rust = blog::posts_by_tag(&pool, "rust").await.unwrap();
    assert_eq!(
        rust.iter()
            .map(|p| (p.id, p.published_at, p.author_name.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (3, Some(ts("2024-01-25T12:00:00Z")), "Grace Hopper"),
            (1, Some(ts("2024-01-10T08:00:00Z")), "Ada Lovelace"),
            (4, None, "Linus Quill"),
        ]
    );
    assert!(blog::posts_by_tag(&pool, "performance")
        .await
        .unwrap()
        .is_empty());
    assert!(blog::posts_by_tag(&pool, "no-such-tag")
        .await
        .unwrap()
        .is_empty());

    let english = blog::search_posts_by_metadata(&pool, &json!({"lang": "en"}))
        .await
        .unwrap();
    assert_eq!(
        english,
        vec![
            SearchPostsByMetadataRow {
                id: 1,
                title: s("Hello, Quarry"),
                metadata: json!({"lang": "en", "reading_minutes": 3, "featured": true}),
                lang: Some(s("en")),
                reading_minutes: Some(3),
            },
            SearchPostsByMetadataRow {
                id: 2,
                title: s("Window functions in practice"),
                metadata: json!({"lang": "en", "reading_minutes": 8}),
                lang: Some(s("en")),
                reading_minutes: Some(8),
            },
            SearchPostsByMetadataRow {
                id: 5,
                title: s("Recursive CTEs explained"),
                metadata: json!({
                    "lang": "en",
                    "reading_minutes": 6,
                    "series": "sql-deep-dives"
                }),
                lang: Some(s("en")),
                reading_minutes: Some(6),
            },
        ]
    );
    assert_eq!(
        blog::search_posts_by_metadata(&pool, &json!({"featured": true}))
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        vec![1]
    );
    let french = blog::search_posts_by_metadata(&pool, &json!({"lang": "fr"}))
        .await
        .unwrap();
    assert_eq!(french.len(), 1);
    assert_eq!((french[0].id, french[0].reading_minutes), (3, Some(5)));
    assert!(
        blog::search_posts_by_metadata(&pool, &json!({"lang": "de"}))
            .await
            .unwrap()
            .is_empty()
    );
    // `{}` is contained in every non-NULL document (the draft has NULL metadata).
    assert_eq!(
        blog::search_posts_by_metadata(&pool, &json!({}))
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 5]
    );

    assert_eq!(
        blog::author_post_timeline(&pool, &[1, 2, 3]).await.unwrap(),
        vec![
            AuthorPostTimelineRow {
                author_id: 1,
                post_id: 1,
                title: s("Hello, Quarry"),
                published_on: date("2024-01-10"),
                views: 120,
                previous_title: None,
                days_since_previous: None,
                cumulative_views: 120,
            },
            AuthorPostTimelineRow {
                author_id: 1,
                post_id: 2,
                title: s("Window functions in practice"),
                published_on: date("2024-02-01"),
                views: 340,
                previous_title: Some(s("Hello, Quarry")),
                days_since_previous: Some(22),
                cumulative_views: 460,
            },
            AuthorPostTimelineRow {
                author_id: 2,
                post_id: 3,
                title: s("Why nullability matters"),
                published_on: date("2024-01-25"),
                views: 95,
                previous_title: None,
                days_since_previous: None,
                cumulative_views: 95,
            },
            AuthorPostTimelineRow {
                author_id: 2,
                post_id: 5,
                title: s("Recursive CTEs explained"),
                published_on: date("2024-03-03"),
                views: 210,
                previous_title: Some(s("Why nullability matters")),
                days_since_previous: Some(38), // 2024 is a leap year
                cumulative_views: 305,
            },
        ]
    );
    assert!(blog::author_post_timeline(&pool, &[3])
        .await
        .unwrap()
        .is_empty());
}

/// CreatePost, PublishPost and IncrementPostViews in a transaction, committed.
#[tokio::test]
async fn post_writes_in_transaction() {
    let mut db = TestDb::with_example_data("eq_post_writes").await;
    let tx = db.client.transaction().await.unwrap();

    let draft = blog::create_post(
        &tx,
        3,
        "Second draft",
        "Body of the second draft.",
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(draft.id, 6);
    assert_eq!(draft.author_id, 3);
    assert_eq!(draft.title, "Second draft");
    assert_eq!(draft.published_at, None);
    assert_eq!(draft.views, 0);
    assert_eq!(draft.metadata, None);
    // Generated by gen_random_uuid(): a random (version 4) uuid.
    assert_ne!(draft.uuid, Uuid::nil());
    assert_eq!(draft.uuid.get_version_num(), 4);

    let metadata = json!({"lang": "en", "reading_minutes": 4, "tags": ["io", "async"]});
    let published = blog::create_post(
        &tx,
        1,
        "Async all the way",
        "Executors everywhere.",
        Some(ts("2024-04-05T10:00:00Z")),
        Some(&metadata),
    )
    .await
    .unwrap();
    assert_eq!(published.id, 7);
    assert_eq!(published.published_at, Some(ts("2024-04-05T10:00:00Z")));
    assert_eq!(published.metadata, Some(metadata.clone()));
    assert_ne!(published.uuid, draft.uuid);

    // The returned uuid finds the post.
    let found = blog::get_post_by_uuid(&tx, draft.uuid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.body.as_str(), found.author_name.as_str()),
        (6, "Body of the second draft.", "Linus Quill")
    );

    // PublishPost: drafts only.
    assert_eq!(
        blog::publish_post(&tx, ts("2024-04-01T09:00:00Z"), 4)
            .await
            .unwrap(),
        Some(PublishPostRow {
            id: 4,
            title: s("Draft: prefetching relations"),
            published_at: ts("2024-04-01T09:00:00Z"),
        })
    );
    assert_eq!(
        blog::publish_post(&tx, ts("2024-04-01T09:00:00Z"), 4)
            .await
            .unwrap(),
        None // already published now
    );
    assert_eq!(
        blog::publish_post(&tx, ts("2024-04-01T09:00:00Z"), 1)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        blog::publish_post(&tx, ts("2024-04-01T09:00:00Z"), 99)
            .await
            .unwrap(),
        None
    );

    // IncrementPostViews: :exec row counts.
    assert_eq!(
        blog::increment_post_views(&tx, uuid(POST1_UUID))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        blog::increment_post_views(&tx, uuid(POST1_UUID))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        blog::increment_post_views(&tx, uuid(UNKNOWN_UUID))
            .await
            .unwrap(),
        0
    );

    tx.commit().await.unwrap();

    let pool = db.pool();
    assert_eq!(
        blog::get_post_by_uuid(&pool, uuid(POST1_UUID))
            .await
            .unwrap()
            .unwrap()
            .views,
        122
    );
    // Drafts first within an author.
    let linus_posts = blog::posts_by_author(&pool, &[3]).await.unwrap();
    assert_eq!(linus_posts.len(), 1);
    assert_eq!(
        linus_posts
            .get(&3)
            .iter()
            .map(|p| (p.id, p.author_id, p.published_at))
            .collect::<Vec<_>>(),
        vec![(6, 3, None), (4, 3, Some(ts("2024-04-01T09:00:00Z")))]
    );
    // The newly published posts show up in the listing.
    assert_eq!(
        blog::list_published_posts(&pool, ts("2024-12-31T00:00:00Z"), 3)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        vec![7, 4, 5]
    );
}

// ------------------------------------------------------------------ blog: comments and tags

/// CommentsByPost, AddComment and DeleteComment through a pool.
#[tokio::test]
async fn comment_queries_through_pool() {
    let db = TestDb::with_example_data("eq_comments").await;
    let pool = db.pool();

    // `author` is the commenter as the LEFT JOIN sees it (id, name) and as the
    // prefetched `commenter` relation loads it (the whole AuthorsByIds row).
    let comment =
        |id, post_id, author: Option<(i64, &str, AuthorsByIdsRow)>, body: &str, at: &str| {
            let (author_id, author_name, commenter) = match author {
                Some((id, name, row)) => (Some(id), Some(s(name)), Some(row)),
                None => (None, None, None),
            };
            CommentsByPostRow {
                id,
                post_id,
                author_id,
                author_name,
                body: s(body),
                created_at: ts(at),
                commenter,
            }
        };
    let comments = blog::comments_by_post(&pool, &[1, 2, 4]).await.unwrap();
    assert_eq!(comments.len(), 2); // post 4 has no comments
    assert_eq!(
        comments.get(&1),
        [
            comment(
                1,
                1,
                Some((2, "Grace Hopper", grace_author())),
                "Great introduction!",
                "2024-01-10T09:00:00Z"
            ),
            comment(
                2,
                1,
                None,
                "How does it compare to sqlc?",
                "2024-01-11T10:30:00Z"
            ),
            comment(
                3,
                1,
                Some((3, "Linus Quill", linus_author())),
                "Typed rows FTW.",
                "2024-01-12T18:45:00Z"
            ),
        ]
    );
    assert_eq!(
        comments.get(&2),
        [comment(
            4,
            2,
            Some((3, "Linus Quill", linus_author())),
            "The lag() example helped a lot.",
            "2024-02-02T08:00:00Z"
        )]
    );
    assert!(comments.get(&4).is_empty());
    assert!(comments.get(&3).is_empty()); // has a comment, but not asked for
                                          // The commenter relation: Grace (with her bio), anonymous, Linus (no bio).
    assert_eq!(
        comments
            .get(&1)
            .iter()
            .map(|c| c
                .commenter
                .as_ref()
                .map(|a| (a.id, a.email.as_str(), a.bio.is_some())))
            .collect::<Vec<_>>(),
        vec![
            Some((2, "grace@example.com", true)),
            None,
            Some((3, "linus@example.com", false)),
        ]
    );
    assert_eq!(
        by_key(comments.into_map())
            .into_iter()
            .map(|(post, rows)| (post, rows.iter().map(|c| c.id).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
        vec![(1, vec![1, 2, 3]), (2, vec![4])]
    );
    let post5 = blog::comments_by_post(&pool, &[5]).await.unwrap();
    assert_eq!(post5.len(), 1);
    assert_eq!(
        post5.get(&5),
        [comment(
            6,
            5,
            None,
            "Can you cover cycle detection?",
            "2024-03-04T21:10:00Z"
        )]
    );
    assert!(blog::comments_by_post(&pool, &[]).await.unwrap().is_empty());

    // AddComment: anonymous and signed.
    assert_eq!(
        blog::add_comment(&pool, 4, None, "First!", ts("2024-04-02T10:00:00Z"))
            .await
            .unwrap(),
        AddCommentRow {
            id: 7,
            post_id: 4,
            author_id: None,
            body: s("First!"),
            created_at: ts("2024-04-02T10:00:00Z"),
        }
    );
    assert_eq!(
        blog::add_comment(
            &pool,
            4,
            Some(1),
            "Looking forward to it.",
            ts("2024-04-01T10:00:00Z")
        )
        .await
        .unwrap(),
        AddCommentRow {
            id: 8,
            post_id: 4,
            author_id: Some(1),
            body: s("Looking forward to it."),
            created_at: ts("2024-04-01T10:00:00Z"),
        }
    );
    // Oldest first within the post.
    let post4 = blog::comments_by_post(&pool, &[4]).await.unwrap();
    assert_eq!(post4.len(), 1);
    assert_eq!(
        post4.get(&4),
        [
            comment(
                8,
                4,
                Some((1, "Ada Lovelace", ada_author())),
                "Looking forward to it.",
                "2024-04-01T10:00:00Z"
            ),
            comment(7, 4, None, "First!", "2024-04-02T10:00:00Z"),
        ]
    );

    // DeleteComment: :exec row counts.
    assert_eq!(blog::delete_comment(&pool, 2).await.unwrap(), 1);
    assert_eq!(blog::delete_comment(&pool, 2).await.unwrap(), 0);
    assert_eq!(blog::delete_comment(&pool, 99).await.unwrap(), 0);
    assert_eq!(
        blog::comments_by_post(&pool, &[1])
            .await
            .unwrap()
            .get(&1)
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        vec![1, 3]
    );
    let post1 = blog::posts_with_comment_counts(&pool, 0)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.id == 1)
        .unwrap();
    assert_eq!(post1.comment_count, 2);
}

/// UpsertTag, TagPost and TagsByPost through a plain client.
#[tokio::test]
async fn tag_queries_through_client() {
    let db = TestDb::with_example_data("eq_tags").await;
    let client = &db.client;

    let tag = |post_id, id, name: &str| TagsByPostRow {
        post_id,
        id,
        name: s(name),
    };
    // Alphabetically within a post.
    let tags = blog::tags_by_post(client, &[1, 3, 4]).await.unwrap();
    assert_eq!(tags.len(), 3);
    assert_eq!(
        tags.get(&1),
        [tag(1, 4, "announcements"), tag(1, 1, "rust")]
    );
    assert_eq!(tags.get(&3), [tag(3, 3, "postgres"), tag(3, 1, "rust")]);
    assert_eq!(tags.get(&4), [tag(4, 1, "rust")]);
    assert!(tags.get(&2).is_empty()); // has tags, but not asked for
    assert_eq!(
        by_key(tags.into_map()),
        BTreeMap::from([
            (1, vec![tag(1, 4, "announcements"), tag(1, 1, "rust")]),
            (3, vec![tag(3, 3, "postgres"), tag(3, 1, "rust")]),
            (4, vec![tag(4, 1, "rust")]),
        ])
    );
    let post5 = blog::tags_by_post(client, &[5, 99, 5]).await.unwrap();
    assert_eq!(post5.len(), 1);
    assert_eq!(post5.get(&5), [tag(5, 3, "postgres"), tag(5, 2, "sql")]);
    assert!(post5.get(&99).is_empty());
    assert!(blog::tags_by_post(client, &[]).await.unwrap().is_empty());

    // UpsertTag: existing name keeps its id…
    assert_eq!(
        blog::upsert_tag(client, "rust").await.unwrap(),
        UpsertTagRow {
            id: 1,
            name: s("rust")
        }
    );
    // … but the conflicting insert consumed identity value 6, so a new tag gets 7.
    assert_eq!(
        blog::upsert_tag(client, "databases").await.unwrap(),
        UpsertTagRow {
            id: 7,
            name: s("databases"),
        }
    );
    assert_eq!(blog::upsert_tag(client, "databases").await.unwrap().id, 7);

    // TagPost: :exec row counts; attaching twice is a no-op.
    assert_eq!(blog::tag_post(client, 4, 2).await.unwrap(), 1);
    assert_eq!(blog::tag_post(client, 4, 2).await.unwrap(), 0);
    assert_eq!(blog::tag_post(client, 1, 1).await.unwrap(), 0);
    assert_eq!(blog::tag_post(client, 4, 7).await.unwrap(), 1);
    let error = blog::tag_post(client, 99, 1).await.unwrap_err();
    assert_eq!(error.query(), "TagPost");
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
    );

    let post4 = blog::tags_by_post(client, &[4]).await.unwrap();
    assert_eq!(post4.len(), 1);
    assert_eq!(
        post4.get(&4),
        [tag(4, 7, "databases"), tag(4, 1, "rust"), tag(4, 2, "sql")]
    );
    assert_eq!(
        blog::posts_by_tag(client, "databases")
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        vec![4]
    );
}

// ------------------------------------------------------------------ generated types

/// Pins the Rust types of key generated fields: these bindings stop compiling
/// if the generator changes a type (e.g. makes a NOT NULL column optional or
/// a nullable one required), and the exhaustive patterns stop compiling if a
/// field is added or removed.
#[tokio::test]
async fn generated_field_types_are_pinned() {
    let db = TestDb::with_example_data("eq_types").await;
    let pool = db.pool();

    let Customer {
        id,
        email,
        name,
        phone,
        created_at,
    } = shop::get_customer(&pool, 2).await.unwrap();
    let _: i64 = id;
    let _: String = email;
    let _: String = name;
    let phone: Option<String> = phone;
    let _: DateTime<Utc> = created_at;
    assert_eq!(phone, None);

    // Loaders: the grouped return types and the relation fields.
    let _: quarry::ToOne<i64, Customer> = shop::customers_by_ids(&pool, &[2]).await.unwrap();
    let products: quarry::ToOne<i64, ProductsByIdsRow> =
        shop::products_by_ids(&pool, &[5]).await.unwrap();
    let product = products.get(&5).unwrap();
    let _: &Decimal = &product.price;
    let _: &Option<String> = &product.description;
    let _: &i32 = &product.stock;
    let _: &Vec<String> = &product.tags;
    let weight: &Option<f64> = &product.weight_kg;
    let _: &bool = &product.active;
    assert_eq!(*weight, None);
    // NOT NULL foreign key: a required relation.
    let category: &CategoriesByIdsRow = &product.category;
    assert_eq!(*category, kitchen());
    let items: quarry::ToMany<i64, ItemsByOrderRow> =
        shop::items_by_order(&pool, &[1]).await.unwrap();
    let _: &ProductsByIdsRow = &items.get(&1)[0].product;
    let _: quarry::ToOne<i64, CategoriesByIdsRow> =
        shop::categories_by_ids(&pool, &[1]).await.unwrap();
    let _: quarry::ToOne<i64, AuthorsByIdsRow> = blog::authors_by_ids(&pool, &[1]).await.unwrap();
    let _: quarry::ToMany<i64, PostsByAuthorRow> =
        blog::posts_by_author(&pool, &[1]).await.unwrap();
    let _: quarry::ToMany<i64, TagsByPostRow> = blog::tags_by_post(&pool, &[1]).await.unwrap();

    let order = &shop::list_orders_for_customer(&pool, 1, None)
        .await
        .unwrap()[2];
    let _: &OrderStatus = &order.status;
    let shipped_on: &Option<NaiveDate> = &order.shipped_on;
    let _: &i64 = &order.item_count; // count(): never NULL
    let _: &Decimal = &order.total; // COALESCE(sum(...), 0)
    assert_eq!(*shipped_on, Some(date("2024-01-17")));

    // Recursive CTE: columns keep the nullability of both branches.
    let CategoryTreeRow {
        id,
        parent_id,
        name,
        slug,
        sort_order,
        depth,
        path,
    } = shop::category_tree(&pool).await.unwrap().remove(0);
    let _: i64 = id;
    let parent_id: Option<i64> = parent_id;
    let _: String = name;
    let _: String = slug;
    let _: i16 = sort_order;
    let _: i32 = depth;
    let _: String = path;
    assert_eq!(parent_id, None);

    let AuthorLeaderboardRow {
        author_id,
        name,
        post_count,
        total_views,
        avg_views,
        leaderboard_rank,
    } = blog::author_leaderboard(&pool).await.unwrap().remove(2);
    let _: i64 = author_id;
    let _: String = name;
    let _: i64 = post_count; // count()
    let _: i64 = total_views; // COALESCE(sum(...), 0)
    let avg_views: Option<f64> = avg_views; // avg() over no rows: NULL
    let _: i64 = leaderboard_rank; // row_number()
    assert_eq!(avg_views, None);

    let GetAuthorRow { bio, avatar, .. } = blog::get_author(&pool, 1).await.unwrap();
    let _: Option<String> = bio;
    let _: Option<Vec<u8>> = avatar;

    let post = blog::get_post_by_uuid(&pool, uuid(POST1_UUID))
        .await
        .unwrap()
        .unwrap();
    let _: Uuid = post.uuid;
    let _: Option<serde_json::Value> = post.metadata;
    let _: Option<DateTime<Utc>> = post.published_at;
    let _: i64 = post.views;
    let _: String = post.author_name; // inner join: required

    // LEFT JOIN: the joined side is optional; so is the relation on a nullable key.
    let comments: quarry::ToMany<i64, CommentsByPostRow> =
        blog::comments_by_post(&pool, &[1]).await.unwrap();
    let comment = comments.into_map().remove(&1).unwrap().remove(1);
    let author_id: Option<i64> = comment.author_id;
    let author_name: Option<String> = comment.author_name;
    let commenter: Option<AuthorsByIdsRow> = comment.commenter;
    assert_eq!((author_id, author_name, commenter), (None, None, None));

    let timeline = blog::author_post_timeline(&pool, &[1])
        .await
        .unwrap()
        .remove(1);
    let _: NaiveDate = timeline.published_on; // WHERE published_at IS NOT NULL
    let _: i64 = timeline.cumulative_views; // window sum() including the current row
    let _: Option<i32> = timeline.days_since_previous;
    let _: Option<String> = timeline.previous_title;

    let minutes = blog::search_posts_by_metadata(&pool, &json!({"lang": "fr"}))
        .await
        .unwrap()
        .remove(0);
    let _: Option<String> = minutes.lang;
    let _: Option<i32> = minutes.reading_minutes;

    // Aggregates, window functions and COALESCE: non-NULL where PostgreSQL
    // guarantees it, optional where an empty group, a missing previous row
    // or an outer join yields NULL.
    let CustomerOrderStatsRow {
        order_count,
        last_order_at,
        ..
    } = shop::customer_order_stats(&pool).await.unwrap().remove(3);
    let order_count: i64 = order_count; // count() over a LEFT JOIN
    let last_order_at: Option<DateTime<Utc>> = last_order_at; // max() over no rows
    assert_eq!((order_count, last_order_at), (0, None)); // Dave never ordered

    let _: &Decimal = &items.get(&1)[0].line_total; // NOT NULL * NOT NULL

    let TopProductsByRevenueRow {
        units_sold,
        revenue,
        revenue_rank,
        ..
    } = shop::top_products_by_revenue(&pool, 1, 1)
        .await
        .unwrap()
        .remove(0);
    let _: i64 = units_sold; // sum() over a non-empty group of a NOT NULL column
    let _: Decimal = revenue;
    let _: i64 = revenue_rank; // row_number()

    let CustomerOrderTimelineRow {
        total,
        order_seq,
        previous_placed_at,
        running_total,
        ..
    } = shop::customer_order_timeline(&pool, &[1])
        .await
        .unwrap()
        .remove(0);
    let _: Decimal = total;
    let _: i64 = order_seq; // row_number()
    let previous_placed_at: Option<DateTime<Utc>> = previous_placed_at; // lag()
    let _: Decimal = running_total; // window sum() including the current row
    assert_eq!(previous_placed_at, None); // the customer's first order

    let SalesComparisonRow {
        current_units,
        previous_units,
        units_change,
        ..
    } = shop::sales_comparison(
        &pool,
        ts("2024-02-01T00:00:00Z"),
        ts("2024-04-01T00:00:00Z"),
        ts("2024-01-01T00:00:00Z"),
        ts("2024-02-01T00:00:00Z"),
    )
    .await
    .unwrap()
    .remove(0);
    let current_units: Option<i64> = current_units; // FULL JOIN
    let _: Option<i64> = previous_units; // FULL JOIN
    let _: i64 = units_change; // COALESCE(…, 0) - COALESCE(…, 0)
    assert_eq!(current_units, None); // the Ultrabook did not sell lately

    let PostsWithCommentCountsRow {
        comment_count,
        last_comment_at,
        ..
    } = blog::posts_with_comment_counts(&pool, 0)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let comment_count: i64 = comment_count; // count() over a LEFT JOIN
    let last_comment_at: Option<DateTime<Utc>> = last_comment_at; // max() over no rows
    assert_eq!((comment_count, last_comment_at), (0, None)); // the draft

    // `WHERE published_at IS NOT NULL` refines the column.
    let published = blog::list_published_posts(&pool, ts("2024-12-31T00:00:00Z"), 1)
        .await
        .unwrap()
        .remove(0);
    let _: DateTime<Utc> = published.published_at;
    let _: DateTime<Utc> = blog::list_posts_with_relations(&pool, 1).await.unwrap()[0].published_at;
    // RETURNING a column just assigned a non-NULL parameter.
    let PublishPostRow { published_at, .. } =
        blog::publish_post(&pool, ts("2024-04-01T09:00:00Z"), 4)
            .await
            .unwrap()
            .unwrap();
    let _: DateTime<Utc> = published_at;

    // :exec returns the row count as u64.
    let affected: u64 = blog::delete_comment(&pool, 99).await.unwrap();
    assert_eq!(affected, 0);
}

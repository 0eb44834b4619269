//! The benchmarks' database: the example schema (`queries/schema/*.sql`) and
//! a generated shop, the same on every run (no randomness).

use std::path::{Path, PathBuf};

use codegen::pg::Server;

use crate::BoxError;

/// Number of customers.
pub const CUSTOMERS: i64 = 100;
/// Number of products (in the leaves of the category tree).
pub const PRODUCTS: i64 = 50;
/// Number of orders.
pub const ORDERS: i64 = 1_000;
/// Items per order (each a different product).
pub const ITEMS_PER_ORDER: i64 = 10;

/// The generated data. Identity columns start at 1 in a fresh database, so
/// customer and product ids are 1..=CUSTOMERS and 1..=PRODUCTS.
const DATA: &str = "
-- Customers; every third has no phone.
INSERT INTO customers (email, name, phone, created_at)
SELECT 'customer' || i || '@example.com',
       'Customer ' || i,
       CASE WHEN i % 3 = 0 THEN NULL ELSE '+1-555-' || lpad(i::text, 4, '0') END,
       timestamptz '2023-01-01 00:00:00+00' + i * interval '1 day'
FROM generate_series(1, $customers) AS i;

-- A three-level category tree: 3 departments, 3 aisles each, 2 shelves per aisle.
INSERT INTO categories (parent_id, name, slug, sort_order)
SELECT NULL, 'Department ' || i, 'dept-' || i, i
FROM generate_series(1, 3) AS i;

INSERT INTO categories (parent_id, name, slug, sort_order)
SELECT d.id, d.name || ' / Aisle ' || j, d.slug || '-aisle-' || j, j
FROM categories d CROSS JOIN generate_series(1, 3) AS j
WHERE d.parent_id IS NULL;

INSERT INTO categories (parent_id, name, slug, sort_order)
SELECT a.id, a.name || ' / Shelf ' || k, a.slug || '-shelf-' || k, k
FROM categories a
JOIN categories d ON d.id = a.parent_id AND d.parent_id IS NULL
CROSS JOIN generate_series(1, 2) AS k;

-- Products, spread over the shelves (the leaves).
WITH shelves AS (
    SELECT c.id, row_number() OVER (ORDER BY c.id) - 1 AS n, count(*) OVER () AS total
    FROM categories c
    WHERE NOT EXISTS (SELECT 1 FROM categories child WHERE child.parent_id = c.id)
)
INSERT INTO products (category_id, sku, name, price, description, stock, tags, weight_kg)
SELECT s.id,
       'SKU-' || lpad(i::text, 5, '0'),
       'Product ' || i,
       (4.99 + i * 1.25)::numeric(12, 2),
       CASE WHEN i % 4 = 0 THEN NULL ELSE 'Description of product ' || i END,
       (i * 7) % 100,
       ARRAY['tag-' || (i % 5), 'tag-' || (i % 7)],
       CASE WHEN i % 5 = 0 THEN NULL ELSE i * 0.1 END
FROM generate_series(1, $products) AS i
JOIN shelves s ON s.n = i % s.total;

-- Orders, one an hour, cycling through customers and statuses.
INSERT INTO orders (customer_id, status, placed_at, note, shipped_on)
SELECT 1 + (i * 37) % $customers,
       (ARRAY['pending', 'paid', 'shipped', 'cancelled']::order_status[])[1 + i % 4],
       timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour',
       CASE WHEN i % 5 = 0 THEN 'Gift wrap, please' END,
       CASE WHEN i % 4 = 2 THEN date '2024-03-01' + (i % 60) END
FROM generate_series(1, $orders) AS i;

-- Items: j * 3 mod $products is distinct for j = 1..10, so no product twice in an order.
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT o.id, p.id, 1 + (o.id + j) % 5, p.price
FROM orders o
CROSS JOIN generate_series(1, $items_per_order) AS j
JOIN products p ON p.id = 1 + (o.id * 7 + j * 3) % $products;

ANALYZE;
";

/// The directory of the example schema files.
pub fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../queries/schema")
}

/// Creates a fresh database on `server` (named after `quarry_bench`), applies
/// the example schema and fills it with the generated shop. Returns the
/// database's name.
pub async fn create_shop_database(server: &Server) -> Result<String, BoxError> {
    let name = server.create_database("quarry_bench").await?;
    let client = server.connect(Some(&name)).await?;
    for file in codegen::schema_files(&schema_dir())? {
        let sql =
            std::fs::read_to_string(&file).map_err(|e| format!("read {}: {e}", file.display()))?;
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| format!("apply {}: {e:?}", file.display()))?;
    }
    client.batch_execute(&data_sql()).await?;
    Ok(name)
}

/// [`DATA`] with the sizes filled in.
fn data_sql() -> String {
    DATA.replace("$customers", &CUSTOMERS.to_string())
        .replace("$products", &PRODUCTS.to_string())
        .replace("$orders", &ORDERS.to_string())
        .replace("$items_per_order", &ITEMS_PER_ORDER.to_string())
}

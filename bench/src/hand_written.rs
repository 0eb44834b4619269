//! The floor: `list_orders_with_details` written by hand against
//! tokio-postgres — the same five statements as the generated function
//! (orders; then customers, pipelined with items → products → categories),
//! the same SQL, prepared once per connection, keys passed as one array to
//! `= ANY($1)`, and the relations stitched together through `HashMap`s.
//!
//! It shares no code with the generated function or the runtime's prefetch
//! helpers; only the connection pool is the same.

use std::collections::HashMap;

use quarry::chrono::{DateTime, Utc};
use quarry::futures_util::future::try_join;
use quarry::rust_decimal::Decimal;
use quarry::tokio_postgres::Row;
use quarry_example_app::queries::types::OrderStatus;

use crate::BoxError;

/// An order with its customer and items.
#[derive(Debug, Clone)]
pub struct Order {
    /// `orders.id`.
    pub id: i64,
    /// `orders.customer_id`.
    pub customer_id: i64,
    /// `orders.status`.
    pub status: OrderStatus,
    /// `orders.placed_at`.
    pub placed_at: DateTime<Utc>,
    /// `orders.note`.
    pub note: Option<String>,
    /// The order's customer.
    pub customer: Customer,
    /// The order's items, by id.
    pub items: Vec<Item>,
}

/// A customer.
#[derive(Debug, Clone)]
pub struct Customer {
    /// `customers.id`.
    pub id: i64,
    /// `customers.email`.
    pub email: String,
    /// `customers.name`.
    pub name: String,
    /// `customers.phone`.
    pub phone: Option<String>,
    /// `customers.created_at`.
    pub created_at: DateTime<Utc>,
}

/// An order line with its product.
#[derive(Debug, Clone)]
pub struct Item {
    /// `order_items.id`.
    pub id: i64,
    /// `order_items.order_id`.
    pub order_id: i64,
    /// `order_items.product_id`.
    pub product_id: i64,
    /// The product's SKU.
    pub sku: String,
    /// The product's name.
    pub product_name: String,
    /// `order_items.quantity`.
    pub quantity: i32,
    /// `order_items.unit_price`.
    pub unit_price: Decimal,
    /// quantity × unit price.
    pub line_total: Decimal,
    /// The item's product.
    pub product: Product,
}

/// A product with its category.
#[derive(Debug, Clone)]
pub struct Product {
    /// `products.id`.
    pub id: i64,
    /// `products.category_id`.
    pub category_id: i64,
    /// `products.sku`.
    pub sku: String,
    /// `products.name`.
    pub name: String,
    /// `products.price`.
    pub price: Decimal,
    /// `products.description`.
    pub description: Option<String>,
    /// `products.stock`.
    pub stock: i32,
    /// `products.tags`.
    pub tags: Vec<String>,
    /// `products.weight_kg`.
    pub weight_kg: Option<f64>,
    /// `products.active`.
    pub active: bool,
    /// The product's category.
    pub category: Category,
}

/// A category.
#[derive(Debug, Clone)]
pub struct Category {
    /// `categories.id`.
    pub id: i64,
    /// `categories.parent_id`.
    pub parent_id: Option<i64>,
    /// `categories.name`.
    pub name: String,
    /// `categories.slug`.
    pub slug: String,
}

const ORDERS_SQL: &str = "SELECT o.id, o.customer_id, o.status, o.placed_at, o.note
FROM orders o
WHERE o.placed_at >= $1
ORDER BY o.placed_at DESC, o.id DESC";

const CUSTOMERS_SQL: &str = "SELECT c.id, c.email, c.name, c.phone, c.created_at
FROM customers c
WHERE c.id = ANY ($1)
ORDER BY c.id";

const ITEMS_SQL: &str = "SELECT oi.id, oi.order_id, oi.product_id, p.sku, p.name AS product_name,
       oi.quantity, oi.unit_price,
       oi.quantity * oi.unit_price AS line_total
FROM order_items oi
JOIN products p ON p.id = oi.product_id
WHERE oi.order_id = ANY ($1)
ORDER BY oi.order_id, oi.id";

const PRODUCTS_SQL: &str = "SELECT p.id, p.category_id, p.sku, p.name, p.price, p.description,
       p.stock, p.tags, p.weight_kg, p.active
FROM products p
WHERE p.id = ANY ($1)
ORDER BY p.id";

const CATEGORIES_SQL: &str = "SELECT c.id, c.parent_id, c.name, c.slug
FROM categories c
WHERE c.id = ANY ($1)
ORDER BY c.id";

/// Orders placed at or after `since`, newest first, each with its customer and
/// items, each item with its product and the product's category.
pub async fn list_orders_with_details(
    pool: &quarry::Pool,
    since: DateTime<Utc>,
) -> Result<Vec<Order>, BoxError> {
    let conn = pool.get().await?;
    let statement = conn.prepare_cached(ORDERS_SQL).await?;
    let order_rows = conn.query(&statement, &[&since]).await?;

    let customer_ids = distinct(order_rows.iter().map(|row| row.get::<_, i64>(1)));
    let order_ids = distinct(order_rows.iter().map(|row| row.get::<_, i64>(0)));

    let customers = async {
        let statement = conn.prepare_cached(CUSTOMERS_SQL).await?;
        let rows = conn.query(&statement, &[&customer_ids]).await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, customer(row)?)))
            .collect::<Result<HashMap<i64, Customer>, BoxError>>()
    };
    let items = async {
        let statement = conn.prepare_cached(ITEMS_SQL).await?;
        let item_rows = conn.query(&statement, &[&order_ids]).await?;

        let product_ids = distinct(item_rows.iter().map(|row| row.get::<_, i64>(2)));
        let statement = conn.prepare_cached(PRODUCTS_SQL).await?;
        let product_rows = conn.query(&statement, &[&product_ids]).await?;

        let category_ids = distinct(product_rows.iter().map(|row| row.get::<_, i64>(1)));
        let statement = conn.prepare_cached(CATEGORIES_SQL).await?;
        let category_rows = conn.query(&statement, &[&category_ids]).await?;

        let categories = category_rows
            .iter()
            .map(|row| Ok((row.try_get(0)?, category(row)?)))
            .collect::<Result<HashMap<i64, Category>, BoxError>>()?;
        let products = product_rows
            .iter()
            .map(|row| Ok((row.try_get(0)?, product(row, &categories)?)))
            .collect::<Result<HashMap<i64, Product>, BoxError>>()?;
        let mut items: HashMap<i64, Vec<Item>> = HashMap::with_capacity(order_ids.len());
        for row in &item_rows {
            let item = item(row, &products)?;
            items.entry(item.order_id).or_default().push(item);
        }
        Ok::<_, BoxError>(items)
    };
    let (customers, mut items) = try_join(customers, items).await?;

    order_rows
        .iter()
        .map(|row| {
            let id: i64 = row.try_get(0)?;
            let customer_id: i64 = row.try_get(1)?;
            Ok(Order {
                id,
                customer_id,
                status: row.try_get(2)?,
                placed_at: row.try_get(3)?,
                note: row.try_get(4)?,
                customer: related(&customers, customer_id, "customer")?,
                items: items.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}

/// The distinct keys, for one `= ANY($1)` parameter.
fn distinct(keys: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut keys: Vec<i64> = keys.collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// A copy of the row loaded for `key`; an error if it vanished between statements.
fn related<T: Clone>(rows: &HashMap<i64, T>, key: i64, what: &str) -> Result<T, BoxError> {
    rows.get(&key)
        .cloned()
        .ok_or_else(|| format!("{what} {key} vanished between statements").into())
}

fn customer(row: &Row) -> Result<Customer, BoxError> {
    Ok(Customer {
        id: row.try_get(0)?,
        email: row.try_get(1)?,
        name: row.try_get(2)?,
        phone: row.try_get(3)?,
        created_at: row.try_get(4)?,
    })
}

fn category(row: &Row) -> Result<Category, BoxError> {
    Ok(Category {
        id: row.try_get(0)?,
        parent_id: row.try_get(1)?,
        name: row.try_get(2)?,
        slug: row.try_get(3)?,
    })
}

fn product(row: &Row, categories: &HashMap<i64, Category>) -> Result<Product, BoxError> {
    let category_id: i64 = row.try_get(1)?;
    Ok(Product {
        id: row.try_get(0)?,
        category_id,
        sku: row.try_get(2)?,
        name: row.try_get(3)?,
        price: row.try_get(4)?,
        description: row.try_get(5)?,
        stock: row.try_get(6)?,
        tags: row.try_get(7)?,
        weight_kg: row.try_get(8)?,
        active: row.try_get(9)?,
        category: related(categories, category_id, "category")?,
    })
}

fn item(row: &Row, products: &HashMap<i64, Product>) -> Result<Item, BoxError> {
    let product_id: i64 = row.try_get(2)?;
    Ok(Item {
        id: row.try_get(0)?,
        order_id: row.try_get(1)?,
        product_id,
        sku: row.try_get(3)?,
        product_name: row.try_get(4)?,
        quantity: row.try_get(5)?,
        unit_price: row.try_get(6)?,
        line_total: row.try_get(7)?,
        product: related(products, product_id, "product")?,
    })
}

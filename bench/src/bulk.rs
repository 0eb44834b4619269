//! The data of the bulk-write bench (`benches/bulk.rs`): the table of
//! `diesel_schema/bulk.sql`, a deterministic set of rows for any size, the
//! unnest form's columns of them, and a checksum of the table that every
//! contestant's result is compared on.

use std::path::{Path, PathBuf};

use codegen::pg::Server;
use quarry::chrono::{DateTime, Utc};
use quarry::rust_decimal::Decimal;
use quarry::serde_json::{json, Value};
use quarry::tokio_postgres::Client;

use crate::generated::bulk::InsertBulkItemsUnnestParams;
use crate::BoxError;

/// Rows per run.
pub const SIZES: [usize; 3] = [10, 1_000, 100_000];

/// The columns of `bulk_items`, in table order.
pub const COLUMNS: &str = "id, sku, name, price, qty, tags, attrs, created_at";

/// One row of `bulk_items`, as an application holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `id bigint PRIMARY KEY`
    pub id: i64,
    /// `sku text`
    pub sku: String,
    /// `name text`
    pub name: String,
    /// `price numeric(12,2)`
    pub price: Decimal,
    /// `qty integer`
    pub qty: i32,
    /// `tags text[]`: zero to three tags.
    pub tags: Vec<String>,
    /// `attrs jsonb`: NULL for every fifth row.
    pub attrs: Option<Value>,
    /// `created_at timestamptz`, with microseconds.
    pub created_at: DateTime<Utc>,
}

const WORDS: [&str; 7] = ["red", "blue", "green", "sale", "new", "outdoor", "kitchen"];

/// `count` rows with ids `1..=count`, the same on every call.
pub fn items(count: usize) -> Vec<Item> {
    (0..count)
        .map(|i| {
            let id = i as i64 + 1;
            Item {
                id,
                sku: format!("SKU-{id:08}"),
                name: format!("Item {id} {} {}", WORDS[i % 7], WORDS[(i / 7) % 7]),
                price: Decimal::new((i as i64 * 7_919) % 1_000_000 + 99, 2),
                qty: (i % 500) as i32,
                tags: (0..i % 4).map(|t| WORDS[(i + t) % 7].to_owned()).collect(),
                attrs: (i % 5 != 0).then(
                    || json!({"color": WORDS[i % 7], "weight_g": i % 1_000, "fragile": i % 2 == 0}),
                ),
                created_at: DateTime::from_timestamp(
                    1_700_000_000 + id,
                    (i % 1_000) as u32 * 1_000_000 + (i % 997) as u32 * 1_000,
                )
                .unwrap_or_default(),
            }
        })
        .collect()
}

/// The unnest form's columns of `items` (tags as array literals).
pub fn columns(items: &[Item]) -> InsertBulkItemsUnnestParams {
    InsertBulkItemsUnnestParams {
        ids: items.iter().map(|item| item.id).collect(),
        skus: items.iter().map(|item| item.sku.clone()).collect(),
        names: items.iter().map(|item| item.name.clone()).collect(),
        prices: items.iter().map(|item| item.price).collect(),
        qtys: items.iter().map(|item| item.qty).collect(),
        tags: items.iter().map(|item| array_literal(&item.tags)).collect(),
        attrs: items.iter().map(|item| item.attrs.clone()).collect(),
        created_ats: items.iter().map(|item| item.created_at).collect(),
    }
}

/// A text array literal: `{"a","b"}`, every element quoted and escaped.
pub fn array_literal(elements: &[String]) -> String {
    let mut literal = String::from("{");
    for (i, element) in elements.iter().enumerate() {
        if i > 0 {
            literal.push(',');
        }
        literal.push('"');
        for c in element.chars() {
            if c == '"' || c == '\\' {
                literal.push('\\');
            }
            literal.push(c);
        }
        literal.push('"');
    }
    literal.push('}');
    literal
}

/// `diesel_schema/bulk.sql`.
pub fn schema_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("diesel_schema/bulk.sql")
}

/// Creates a fresh database on `server` with `bulk_items` (empty) and
/// returns its name.
pub async fn create_database(server: &Server) -> Result<String, BoxError> {
    crate::workload::create_database_from(server, "quarry_bulk", &schema_file()).await
}

/// Empties `bulk_items`.
pub async fn truncate(client: &Client) -> Result<(), BoxError> {
    client.batch_execute("TRUNCATE bulk_items").await?;
    Ok(())
}

/// The row count of `bulk_items` and an md5 of all its rows' text, in id
/// order: two contestants that inserted the same rows have the same.
pub async fn checksum(client: &Client) -> Result<(i64, String), BoxError> {
    let row = client
        .query_one(
            "SELECT count(*), coalesce(md5(string_agg(b::text, E'\\n' ORDER BY id)), '')
             FROM bulk_items b",
            &[],
        )
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Writes the rows of `bulk_items` to `file` in COPY's text format (what
/// `psql`'s `\copy bulk_items FROM 'file'` reads).
pub async fn copy_out(client: &Client, file: &Path) -> Result<(), BoxError> {
    use quarry::futures_util::TryStreamExt as _;

    let stream = client
        .copy_out(&format!(
            "COPY (SELECT {COLUMNS} FROM bulk_items ORDER BY id) TO STDOUT"
        ))
        .await?;
    let chunks: Vec<_> = stream.try_collect().await?;
    let mut text = Vec::new();
    for chunk in chunks {
        text.extend_from_slice(&chunk);
    }
    std::fs::write(file, text).map_err(|e| format!("write {}: {e}", file.display()))?;
    Ok(())
}

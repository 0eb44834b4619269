//! Dynamic queries at generation time: every variant of `/*? … */` blocks
//! and `/*sort: … */` lists is prepared on PostgreSQL, and what fails (or
//! returns other columns than the full query) is an error naming the variant
//! at its place in the file. Also: nullability is the union over variants,
//! and how long a 512-variant query takes to generate.

use std::time::Instant;

use quarry_tests::generate_fixture;

const SCHEMA: &str = "
CREATE TABLE categories (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE products (
    id bigserial PRIMARY KEY,
    category_id bigint REFERENCES categories (id),
    name text NOT NULL,
    price numeric NOT NULL,
    stock int NOT NULL,
    active boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- VOLATILE by default: may write.
CREATE FUNCTION log_visit(id bigint) RETURNS bigint LANGUAGE sql AS 'SELECT id';
";

/// The rendered diagnostics of a failing generation (paths cut to the file name).
async fn errors(sql: &str) -> String {
    match generate_fixture("search.sql", sql.as_bytes(), SCHEMA).await {
        Ok(_) => panic!("generation succeeded for:\n{sql}"),
        Err(codegen::Error::Diagnostics(diagnostics)) => diagnostics
            .to_string()
            .lines()
            .map(|line| match line.find("--> ") {
                Some(at) => format!(
                    "{}--> {}",
                    &line[..at],
                    line[at + 4..].rsplit('/').next().unwrap_or_default()
                ),
                None => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test]
async fn unknown_column_inside_a_block() {
    let rendered = errors(
        "-- name: Search :many
SELECT p.id FROM products p
WHERE p.active
  /*? AND p.categry = :category */
ORDER BY p.id;
",
    )
    .await;
    insta::assert_snapshot!(rendered);
}

#[tokio::test]
async fn variant_returning_other_columns() {
    let rendered = errors(
        "-- name: Search :many
SELECT p.id, p.stock /*? + :extra::bigint */ AS stock FROM products p
ORDER BY p.id;
",
    )
    .await;
    insta::assert_snapshot!(rendered);
}

#[tokio::test]
async fn nested_block() {
    let rendered = errors(
        "-- name: Search :many
SELECT p.id FROM products p
WHERE p.active /*? AND p.name = :name /*? AND p.stock > :stock */ */;
",
    )
    .await;
    insta::assert_snapshot!(rendered);
}

#[tokio::test]
async fn unknown_sort_expression() {
    let rendered = errors(
        "-- name: Search :many
SELECT p.id FROM products p
WHERE p.active /*? AND p.name = :name */
ORDER BY /*sort: p.price, p.nmae DESC */, p.id;
",
    )
    .await;
    insta::assert_snapshot!(rendered);
}

#[tokio::test]
async fn sort_outside_order_by() {
    let rendered = errors(
        "-- name: Search :many
SELECT p.id FROM products p
WHERE /*sort: p.price */ p.active;
",
    )
    .await;
    insta::assert_snapshot!(rendered);
}

/// A column non-null in the full query but nullable without a block
/// (`LEFT JOIN` made inner by the block's filter on the joined table) is
/// nullable: the union over the variants.
#[tokio::test]
async fn nullability_is_the_union_over_variants() {
    let sql = "-- name: Search :many
SELECT p.id, c.name AS category FROM products p LEFT JOIN categories c ON c.id = p.category_id
WHERE p.active /*? AND c.name = :category */
ORDER BY /*sort: p.price, p.name */;

-- name: Plain :many
SELECT p.id, c.name AS category FROM products p LEFT JOIN categories c ON c.id = p.category_id
WHERE p.active AND c.name = :category;
";
    let output = generate_fixture("search.sql", sql.as_bytes(), SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let nullable = |name: &str| -> Vec<(String, bool)> {
        output
            .reports
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no report for {name}"))
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.nullable))
            .collect()
    };
    // The full variant alone proves `category` non-null (as `Plain` shows)...
    assert_eq!(
        nullable("Plain"),
        [("id".to_string(), false), ("category".to_string(), false)]
    );
    // ...but the variant without the block does not.
    assert_eq!(
        nullable("Search"),
        [("id".to_string(), false), ("category".to_string(), true)]
    );
}

/// Read-only only if every variant is: a sort entry that calls a volatile
/// function makes the query not read-only though the full variant (the
/// default entry) writes nothing.
#[tokio::test]
async fn read_only_only_if_every_variant_is() {
    let generated = |sort: &'static str| async move {
        let sql = format!(
            "-- name: Search :many\nSELECT p.id FROM products p\nWHERE p.active /*? AND p.name = :name */\nORDER BY /*sort: {sort} */;\n"
        );
        let output = generate_fixture("search.sql", sql.as_bytes(), SCHEMA)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        output.files.values().cloned().collect::<String>()
    };
    let harmless = generated("p.price, p.name").await;
    assert!(harmless.contains(".read_only()"), "{harmless}");
    let writing = generated("p.price, log_visit(p.id) AS visits").await;
    assert!(!writing.contains(".read_only()"), "{writing}");
}

/// Must-show 5: a query with 6 blocks and 4 sort entries (64 × 8 = 512
/// variants, all prepared and analysed). Prints the time; no assertion on it.
#[tokio::test]
async fn generation_time_of_512_variants() {
    let sql = "-- name: Search :many
SELECT p.id, p.name, p.price FROM products p
WHERE p.active
  /*? AND p.category_id = :category */
  /*? AND p.name ILIKE '%' || :q || '%' */
  /*? AND p.price >= :min_price */
  /*? AND p.price <= :max_price */
  /*? AND p.stock >= :min_stock */
  /*? AND p.created_at >= :since */
ORDER BY /*sort: p.created_at DESC AS newest, p.price, p.name, p.stock */, p.id
LIMIT :limit;
";
    let static_sql = "-- name: Search :many
SELECT p.id, p.name, p.price FROM products p
WHERE p.active
ORDER BY p.created_at DESC, p.id
LIMIT :limit;
";
    // Warm-up: the shared test server and its template are ready after this.
    generate_fixture("search.sql", static_sql.as_bytes(), SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let output = generate_fixture("search.sql", sql.as_bytes(), SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let elapsed = started.elapsed();
    let started = Instant::now();
    generate_fixture("search.sql", static_sql.as_bytes(), SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let baseline = started.elapsed();
    assert_eq!(output.reports.len(), 1);
    assert_eq!(output.reports[0].params.len(), 7);
    println!(
        "generation with 6 blocks x 4 sort entries (512 variants): {elapsed:?}; \
         the same query without blocks or sort: {baseline:?}"
    );
}

#[tokio::test]
async fn a_filter_struct_named_like_another_type_is_an_error() {
    let rendered = errors(
        "-- name: Search :many
SELECT p.id FROM products p
WHERE p.active
  /*? AND p.category_id = :category */
ORDER BY /*sort: p.price */, p.id;

-- name: Other :many
-- @row SearchSort
SELECT p.id FROM products p;
",
    )
    .await;
    assert!(
        rendered.contains(
            "the type `SearchSort` of dynamic query `Search` has the name of the row type of `other` in module `search`"
        ),
        "{rendered}"
    );
    assert!(rendered.contains("search.sql:1:10"), "{rendered}");
}

#[tokio::test]
async fn a_nullable_parameter_in_a_block_is_an_error() {
    let rendered = errors(
        "-- name: Search :many
SELECT p.id FROM products p
WHERE p.active
  /*? AND p.category_id = :category? */
ORDER BY p.id;
",
    )
    .await;
    assert!(
        rendered.contains("parameter `category` of an optional block is nullable"),
        "{rendered}"
    );
    assert!(rendered.contains("search.sql:4:27"), "{rendered}");
}

-- The table of the bulk-write bench (benches/bulk.rs): a realistic mixed row,
-- of types every contestant (Quarry, tokio-postgres, sqlx, diesel, psql)
-- reads and writes natively.

CREATE TABLE bulk_items (
    id bigint PRIMARY KEY,
    sku text NOT NULL,
    name text NOT NULL,
    price numeric(12,2) NOT NULL,
    qty integer NOT NULL,
    tags text[] NOT NULL,
    attrs jsonb,
    created_at timestamptz NOT NULL
);

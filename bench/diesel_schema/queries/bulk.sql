-- Queries of the bulk-write bench (bench/benches/bulk.rs), over
-- diesel_schema/bulk.sql: the same rows inserted by each bulk form.

-- name: InsertBulkItemsUnnest :exec
-- The unnest form: one statement, one array per column. A row's tags travel
-- as one text array literal (`{a,b}`), cast back per row: unnest flattens
-- an array of arrays.
INSERT INTO bulk_items (id, sku, name, price, qty, tags, attrs, created_at)
SELECT u.id, u.sku, u.name, u.price, u.qty, u.tags::text[], u.attrs, u.created_at
FROM unnest(:ids::bigint[], :skus::text[], :names::text[], :prices::numeric[],
            :qtys::int[], :tags::text[], :attrs::jsonb[], :created_ats::timestamptz[])
    AS u(id, sku, name, price, qty, tags, attrs, created_at);

-- name: InsertBulkItems :copyfrom
-- The rows, through one binary COPY.
INSERT INTO bulk_items (id, sku, name, price, qty, tags, attrs, created_at)
VALUES (:id, :sku, :name, :price, :qty, :tags, :attrs?, :created_at);

-- name: InsertBulkItemsBatch :batchexec
-- The rows, one INSERT each, pipelined.
INSERT INTO bulk_items (id, sku, name, price, qty, tags, attrs, created_at)
VALUES (:id, :sku, :name, :price, :qty, :tags, :attrs?, :created_at);

-- Shop queries of the Quarry example application.

-- name: GetCustomer :one
-- @row Customer
-- Fetches a customer by id; fails with NotFound when there is none.
SELECT c.id, c.email, c.name, c.phone, c.created_at
FROM customers c
WHERE c.id = :id;

-- name: GetCustomerByEmail :opt
-- @row Customer
-- Looks a customer up by email address (e.g. at sign-in); None when unknown.
SELECT c.id, c.email, c.name, c.phone, c.created_at
FROM customers c
WHERE c.email = :email;

-- name: CreateCustomer :one
-- @row Customer
-- Registers a new customer; the phone number is optional.
INSERT INTO customers (email, name, phone)
VALUES (:email, :name, :phone?)
RETURNING id, email, name, phone, created_at;

-- name: UpsertCustomer :one
-- @row Customer
-- Creates a customer or, if the email is already registered, updates the name and (when given) the phone.
INSERT INTO customers (email, name, phone)
VALUES (:email, :name, :phone?)
ON CONFLICT (email) DO UPDATE
SET name = EXCLUDED.name,
    phone = COALESCE(EXCLUDED.phone, customers.phone)
RETURNING id, email, name, phone, created_at;

-- name: CustomersByIds :one
-- Customers with the given ids, one per id; the batch loader behind orders.
-- @row Customer
-- @key id
SELECT c.id, c.email, c.name, c.phone, c.created_at
FROM customers c
WHERE c.id = ANY (:ids)
ORDER BY c.id;

-- name: CustomerOrderStats :many
-- Every customer with their number of orders and the time of their latest order (NULL if they never ordered).
SELECT c.id, c.name, c.email, c.phone,
       count(o.id) AS order_count,
       max(o.placed_at) AS last_order_at
FROM customers c
LEFT JOIN orders o ON o.customer_id = c.id
GROUP BY c.id
ORDER BY c.id;

-- name: CategoryTree :many
-- The whole category tree in depth-first order, with each node's depth (0 = top level) and slug path.
WITH RECURSIVE tree AS (
    SELECT c.id, c.parent_id, c.name, c.slug, c.sort_order, 0 AS depth, c.slug::text AS path
    FROM categories c
    WHERE c.parent_id IS NULL
    UNION ALL
    SELECT c.id, c.parent_id, c.name, c.slug, c.sort_order, t.depth + 1, t.path || '/' || c.slug
    FROM categories c
    JOIN tree t ON c.parent_id = t.id
)
SELECT t.id, t.parent_id, t.name, t.slug, t.sort_order, t.depth, t.path
FROM tree t
ORDER BY t.path;

-- name: CategoriesByIds :one
-- Categories with the given ids, one per id; the batch loader behind products.
-- @key id
SELECT c.id, c.parent_id, c.name, c.slug
FROM categories c
WHERE c.id = ANY (:ids)
ORDER BY c.id;

-- name: ProductsInCategoryTree :many
-- Products of a category and of all its descendant categories, cheapest first.
WITH RECURSIVE subtree AS (
    SELECT c.id
    FROM categories c
    WHERE c.id = :category_id
    UNION ALL
    SELECT c.id
    FROM categories c
    JOIN subtree s ON c.parent_id = s.id
)
SELECT p.id, p.sku, p.name, p.price, p.stock, p.tags, c.name AS category_name
FROM products p
JOIN subtree s ON s.id = p.category_id
JOIN categories c ON c.id = p.category_id
ORDER BY p.price, p.id;

-- name: SearchProducts :many
-- Active products whose name contains the search text, optionally filtered by category, tag and maximum price.
SELECT p.id, p.sku, p.name, p.price, p.description, p.stock, p.tags, p.weight_kg
FROM products p
WHERE p.active
  AND p.name ILIKE '%' || :query || '%'
  AND (:category_id?::bigint IS NULL OR p.category_id = :category_id?::bigint)
  AND (:tag?::text IS NULL OR :tag?::text = ANY (p.tags))
  AND (:max_price?::numeric IS NULL OR p.price <= :max_price?::numeric)
ORDER BY p.price, p.id;

-- name: SearchProductsFiltered :many
-- The product search page: active products, every filter optional (an
-- absent filter is not in the SQL sent, so each combination uses its own
-- plan and indexes), ordered by a whitelisted sort.
SELECT p.id, p.sku, p.name, p.price, p.stock, p.category_id
FROM products p
WHERE p.active
  /*? AND p.category_id = :category_id */
  /*? AND p.name ILIKE '%' || :name_contains || '%' */
  /*? AND p.price BETWEEN :min_price AND :max_price */
  /*? AND (p.stock > 0) = :in_stock */
ORDER BY /*sort: p.id DESC AS newest, p.price, p.name */, p.id
LIMIT :limit;

-- name: ProductsByIds :one
-- Products with the given ids, one per id, each with its category; the batch loader behind order items.
-- @key id
-- @prefetch category = CategoriesByIds(category_id)
SELECT p.id, p.category_id, p.sku, p.name, p.price, p.description, p.stock, p.tags, p.weight_kg, p.active
FROM products p
WHERE p.id = ANY (:ids)
ORDER BY p.id;

-- name: AdjustStock :one
-- Adds `delta` (possibly negative) to a product's stock and returns the new level.
UPDATE products
SET stock = stock + :delta
WHERE id = :id
RETURNING id, sku, stock;

-- name: SetProductTags :one
-- Replaces the tag list of a product.
UPDATE products
SET tags = :tags
WHERE id = :id
RETURNING id, sku, tags;

-- name: ImportProducts :copyfrom
-- Adds many products at once (a catalogue import) through one binary COPY: all or none.
INSERT INTO products (category_id, sku, name, price, description, stock, tags)
VALUES (:category_id, :sku, :name, :price, :description?, :stock, :tags);

-- name: SetProductPrices :batchexec
-- Sets the price of many products by SKU: one pipelined statement per product, in one transaction.
UPDATE products
SET price = :price
WHERE sku = :sku;

-- name: ListOrdersForCustomer :many
-- A customer's orders, newest first, with item count and total; optionally only those in one status.
SELECT o.id, o.status, o.placed_at, o.note, o.shipped_on,
       count(oi.id) AS item_count,
       COALESCE(sum(oi.quantity * oi.unit_price), 0)::numeric(12, 2) AS total
FROM orders o
LEFT JOIN order_items oi ON oi.order_id = o.id
WHERE o.customer_id = :customer_id
  AND (:status?::order_status IS NULL OR o.status = :status?::order_status)
GROUP BY o.id
ORDER BY o.placed_at DESC, o.id DESC;

-- name: ListRecentOrders :many
-- Orders placed at or after `since`, newest first, at most `limit` of them.
SELECT o.id, o.customer_id, o.status, o.placed_at, o.shipped_on
FROM orders o
WHERE o.placed_at >= :since
ORDER BY o.placed_at DESC, o.id DESC
LIMIT :limit;

-- name: PlaceOrder :one
-- Creates an order for a customer in the given status.
INSERT INTO orders (customer_id, status, placed_at, note)
VALUES (:customer_id, :status, :placed_at, :note?)
RETURNING id, customer_id, status, placed_at, note, shipped_on;

-- name: UpdateOrderStatus :opt
-- Moves an order to a new status, recording the shipping date when given; None if the order does not exist.
UPDATE orders
SET status = :status,
    shipped_on = COALESCE(:shipped_on?, shipped_on)
WHERE id = :id
RETURNING id, status, shipped_on;

-- name: AddOrderItem :one
-- Adds a product to an order; adding a product that is already in the order increases its quantity.
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
VALUES (:order_id, :product_id, :quantity, :unit_price)
ON CONFLICT (order_id, product_id) DO UPDATE
SET quantity = order_items.quantity + EXCLUDED.quantity
RETURNING id, order_id, product_id, quantity, unit_price;

-- name: ItemsByOrder :many
-- Line items of the given orders, grouped by order, each with its product (and the product's category).
-- @key order_id
-- @prefetch product = ProductsByIds(product_id)
SELECT oi.id, oi.order_id, oi.product_id, p.sku, p.name AS product_name,
       oi.quantity, oi.unit_price,
       oi.quantity * oi.unit_price AS line_total
FROM order_items oi
JOIN products p ON p.id = oi.product_id
WHERE oi.order_id = ANY (:order_ids)
ORDER BY oi.order_id, oi.id;

-- name: RemoveOrderItem :exec
-- Removes a product from an order; returns the number of deleted rows (0 or 1).
DELETE FROM order_items
WHERE order_id = :order_id AND product_id = :product_id;

-- name: DeleteCancelledOrdersBefore :exec
-- Purges cancelled orders (and, by cascade, their items) placed before the given time.
DELETE FROM orders
WHERE status = 'cancelled' AND placed_at < :before;

-- name: TopProductsByRevenue :many
-- Best-selling products by revenue over non-cancelled orders, among those with at least `min_units` units sold.
SELECT p.id AS product_id, p.sku, p.name,
       sum(oi.quantity)::bigint AS units_sold,
       sum(oi.quantity * oi.unit_price) AS revenue,
       row_number() OVER (ORDER BY sum(oi.quantity * oi.unit_price) DESC, p.id) AS revenue_rank
FROM order_items oi
JOIN orders o ON o.id = oi.order_id
JOIN products p ON p.id = oi.product_id
WHERE o.status <> 'cancelled'
GROUP BY p.id
HAVING sum(oi.quantity) >= :min_units
ORDER BY revenue DESC, p.id
LIMIT :limit;

-- name: CustomerOrderTimeline :many
-- Orders of the given customers in time order, with each order's sequence number, the previous order's time and the customer's running total.
WITH order_totals AS (
    SELECT o.id, o.customer_id, o.status, o.placed_at,
           sum(oi.quantity * oi.unit_price) AS total
    FROM orders o
    JOIN order_items oi ON oi.order_id = o.id
    GROUP BY o.id
)
SELECT ot.customer_id, ot.id AS order_id, ot.status, ot.placed_at, ot.total,
       row_number() OVER (PARTITION BY ot.customer_id ORDER BY ot.placed_at, ot.id) AS order_seq,
       lag(ot.placed_at) OVER (PARTITION BY ot.customer_id ORDER BY ot.placed_at, ot.id) AS previous_placed_at,
       sum(ot.total) OVER (PARTITION BY ot.customer_id ORDER BY ot.placed_at, ot.id) AS running_total
FROM order_totals ot
WHERE ot.customer_id = ANY (:customer_ids)
ORDER BY ot.customer_id, ot.placed_at, ot.id;

-- name: SalesComparison :many
-- Units sold per product in a current and a previous period side by side (NULL where the product did not sell in that period).
WITH current_period AS (
    SELECT oi.product_id, sum(oi.quantity)::bigint AS units
    FROM order_items oi
    JOIN orders o ON o.id = oi.order_id
    WHERE o.status <> 'cancelled'
      AND o.placed_at >= :current_from AND o.placed_at < :current_to
    GROUP BY oi.product_id
),
previous_period AS (
    SELECT oi.product_id, sum(oi.quantity)::bigint AS units
    FROM order_items oi
    JOIN orders o ON o.id = oi.order_id
    WHERE o.status <> 'cancelled'
      AND o.placed_at >= :previous_from AND o.placed_at < :previous_to
    GROUP BY oi.product_id
)
SELECT p.id AS product_id, p.name,
       cur.units AS current_units,
       prev.units AS previous_units,
       COALESCE(cur.units, 0) - COALESCE(prev.units, 0) AS units_change
FROM current_period cur
FULL JOIN previous_period prev ON prev.product_id = cur.product_id
JOIN products p ON p.id = COALESCE(cur.product_id, prev.product_id)
ORDER BY p.id;

-- name: ListOrdersWithDetails :many
-- Orders placed at or after `since`, newest first, each with its customer and its
-- items, each item with its product and the product's category: five statements
-- in all (orders, customers, items, products, categories), whatever the number of orders.
-- @prefetch customer = CustomersByIds(customer_id)
-- @prefetch items = ItemsByOrder(id)
SELECT o.id, o.customer_id, o.status, o.placed_at, o.note
FROM orders o
WHERE o.placed_at >= :since
ORDER BY o.placed_at DESC, o.id DESC;

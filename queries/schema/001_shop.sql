-- Shop schema of the Quarry example application: customers, a category tree,
-- products, orders and their line items.

CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');

CREATE TABLE customers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    name        text NOT NULL,
    phone       text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Categories form a tree: top-level categories have no parent.
CREATE TABLE categories (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id   bigint REFERENCES categories (id) ON DELETE CASCADE,
    name        text NOT NULL,
    slug        varchar(64) NOT NULL UNIQUE,
    sort_order  smallint NOT NULL DEFAULT 0
);

CREATE INDEX categories_parent_id_idx ON categories (parent_id);

CREATE TABLE products (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category_id  bigint NOT NULL REFERENCES categories (id),
    sku          varchar(32) NOT NULL UNIQUE,
    name         text NOT NULL,
    price        numeric(12, 2) NOT NULL CHECK (price >= 0),
    description  text,
    stock        integer NOT NULL DEFAULT 0,
    tags         text[] NOT NULL DEFAULT '{}',
    weight_kg    double precision,
    active       boolean NOT NULL DEFAULT true
);

CREATE INDEX products_category_id_idx ON products (category_id);
CREATE INDEX products_tags_idx ON products USING gin (tags);

CREATE TABLE orders (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers (id),
    status       order_status NOT NULL DEFAULT 'pending',
    placed_at    timestamptz NOT NULL,
    note         text,
    shipped_on   date
);

CREATE INDEX orders_customer_id_placed_at_idx ON orders (customer_id, placed_at);
CREATE INDEX orders_status_idx ON orders (status);

CREATE TABLE order_items (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id  bigint NOT NULL REFERENCES products (id),
    quantity    integer NOT NULL CHECK (quantity > 0),
    unit_price  numeric(12, 2) NOT NULL,
    UNIQUE (order_id, product_id)
);

-- order_id is covered by the unique (order_id, product_id) index.
CREATE INDEX order_items_product_id_idx ON order_items (product_id);

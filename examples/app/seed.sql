-- Deterministic seed data for the Quarry example application.
-- Apply after queries/schema/*.sql. Fixed ids, timestamps (UTC) and uuids, so
-- tests can assert exact values. Sequences are moved past the explicit ids.

BEGIN;

-- ---------------------------------------------------------------- shop

INSERT INTO customers (id, email, name, phone, created_at) OVERRIDING SYSTEM VALUE VALUES
    (1, 'alice@example.com', 'Alice Martin', '+33 6 12 34 56 78', '2024-01-02 09:00:00+00'),
    (2, 'bob@example.com',   'Bob Chen',     NULL,                '2024-01-05 14:30:00+00'),
    (3, 'carol@example.com', 'Carol Diaz',   '+1 555 0100',       '2024-02-10 11:15:00+00'),
    (4, 'dave@example.com',  'Dave Okafor',  '+44 20 7946 0000',  '2024-03-01 08:00:00+00');

-- Three levels: Electronics > Computers > Laptops, Electronics > Audio > Headphones, Home > Kitchen.
INSERT INTO categories (id, parent_id, name, slug, sort_order) OVERRIDING SYSTEM VALUE VALUES
    (1, NULL, 'Electronics', 'electronics', 1),
    (2, 1,    'Computers',   'computers',   1),
    (3, 2,    'Laptops',     'laptops',     1),
    (4, 1,    'Audio',       'audio',       2),
    (5, 4,    'Headphones',  'headphones',  1),
    (6, NULL, 'Home',        'home',        2),
    (7, 6,    'Kitchen',     'kitchen',     1);

INSERT INTO products (id, category_id, sku, name, price, description, stock, tags, weight_kg, active) OVERRIDING SYSTEM VALUE VALUES
    (1, 3, 'LAP-001', 'Ultrabook 13',                1299.00, 'Light 13-inch laptop',  12, '{portable,premium}', 1.2,  true),
    (2, 3, 'LAP-002', 'Workstation 16',              2499.00, NULL,                      3, '{premium,pro}',      2.4,  true),
    (3, 5, 'HP-001',  'Noise-Cancelling Headphones',  349.99, 'Over-ear, 30h battery',  40, '{wireless,premium}', 0.25, true),
    (4, 5, 'HP-002',  'Wired Earbuds',                 19.90, NULL,                    150, '{}',                 0.02, true),
    (5, 7, 'KIT-001', 'Espresso Machine',             449.00, 'Dual boiler',             0, '{coffee}',           NULL, true),
    (6, 7, 'KIT-002', 'Chef Knife',                    89.50, NULL,                     25, '{steel}',            0.3,  false);

INSERT INTO orders (id, customer_id, status, placed_at, note, shipped_on) OVERRIDING SYSTEM VALUE VALUES
    (1, 1, 'shipped',   '2024-01-15 10:00:00+00', 'Leave at the door', '2024-01-17'),
    (2, 1, 'paid',      '2024-02-20 16:45:00+00', NULL,                NULL),
    (3, 2, 'pending',   '2024-02-28 09:30:00+00', NULL,                NULL),
    (4, 3, 'cancelled', '2024-01-20 12:00:00+00', 'Changed my mind',   NULL),
    (5, 3, 'shipped',   '2024-03-05 18:20:00+00', NULL,                '2024-03-07'),
    (6, 1, 'pending',   '2024-03-10 08:05:00+00', 'Gift wrap please',  NULL);

INSERT INTO order_items (id, order_id, product_id, quantity, unit_price) OVERRIDING SYSTEM VALUE VALUES
    (1, 1, 1, 1, 1299.00),
    (2, 1, 4, 2,   19.90),
    (3, 2, 3, 1,  349.99),
    (4, 2, 4, 1,   19.90),
    (5, 3, 5, 1,  449.00),
    (6, 4, 2, 1, 2499.00),
    (7, 5, 3, 2,  329.99),
    (8, 5, 6, 1,   89.50),
    (9, 6, 4, 3,   19.90);

-- ---------------------------------------------------------------- blog

INSERT INTO authors (id, name, email, bio, avatar) VALUES
    (1, 'Ada Lovelace', 'ada@example.com',   'Writes about computing engines.',   '\x89504e470d0a1a0a'::bytea),
    (2, 'Grace Hopper', 'grace@example.com', 'Compilers, COBOL and nanoseconds.', NULL),
    (3, 'Linus Quill',  'linus@example.com', NULL,                                NULL);

INSERT INTO posts (id, author_id, title, body, published_at, views, metadata, uuid) VALUES
    (1, 1, 'Hello, Quarry',
        'Quarry turns annotated SQL into typed Rust.',
        '2024-01-10 08:00:00+00', 120,
        '{"lang": "en", "reading_minutes": 3, "featured": true}',
        '11111111-1111-4111-8111-111111111111'),
    (2, 1, 'Window functions in practice',
        'row_number, lag and running sums, with examples.',
        '2024-02-01 09:30:00+00', 340,
        '{"lang": "en", "reading_minutes": 8}',
        '22222222-2222-4222-8222-222222222222'),
    (3, 2, 'Why nullability matters',
        'A column typed T must never yield NULL.',
        '2024-01-25 12:00:00+00', 95,
        '{"lang": "fr", "reading_minutes": 5}',
        '33333333-3333-4333-8333-333333333333'),
    (4, 3, 'Draft: prefetching relations',
        'One statement per relation, not per row.',
        NULL, 0,
        NULL,
        '44444444-4444-4444-8444-444444444444'),
    (5, 2, 'Recursive CTEs explained',
        'Walking trees with WITH RECURSIVE.',
        '2024-03-03 07:15:00+00', 210,
        '{"lang": "en", "reading_minutes": 6, "series": "sql-deep-dives"}',
        '55555555-5555-4555-8555-555555555555');

INSERT INTO comments (id, post_id, author_id, body, created_at) VALUES
    (1, 1, 2,    'Great introduction!',              '2024-01-10 09:00:00+00'),
    (2, 1, NULL, 'How does it compare to sqlc?',     '2024-01-11 10:30:00+00'),
    (3, 1, 3,    'Typed rows FTW.',                  '2024-01-12 18:45:00+00'),
    (4, 2, 3,    'The lag() example helped a lot.',  '2024-02-02 08:00:00+00'),
    (5, 3, 1,    'Soundness first, then precision.', '2024-01-26 14:20:00+00'),
    (6, 5, NULL, 'Can you cover cycle detection?',   '2024-03-04 21:10:00+00');

INSERT INTO tags (id, name) VALUES
    (1, 'rust'),
    (2, 'sql'),
    (3, 'postgres'),
    (4, 'announcements'),
    (5, 'performance');

INSERT INTO post_tags (post_id, tag_id) VALUES
    (1, 1), (1, 4),
    (2, 2), (2, 3),
    (3, 1), (3, 3),
    (4, 1),
    (5, 2), (5, 3);

-- ---------------------------------------------------------------- sequences

SELECT setval(pg_get_serial_sequence('customers', 'id'), 4),
       setval(pg_get_serial_sequence('categories', 'id'), 7),
       setval(pg_get_serial_sequence('products', 'id'), 6),
       setval(pg_get_serial_sequence('orders', 'id'), 6),
       setval(pg_get_serial_sequence('order_items', 'id'), 9),
       setval(pg_get_serial_sequence('authors', 'id'), 3),
       setval(pg_get_serial_sequence('posts', 'id'), 5),
       setval(pg_get_serial_sequence('comments', 'id'), 6),
       setval(pg_get_serial_sequence('tags', 'id'), 5);

COMMIT;

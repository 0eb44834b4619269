-- name: SearchItems :many
-- Active items, three optional filters, a three-entry sort (ties broken by id).
SELECT i.id, i.kind_id, i.name, i.price, i.rank
FROM items i
WHERE i.active
  /*? AND i.kind_id = :kind_id */
  /*? AND i.name LIKE :name_prefix || '%' */
  /*? AND i.price BETWEEN :min_price AND :max_price */
ORDER BY /*sort: i.price, i.name, i.rank DESC */, i.id
LIMIT :limit;

-- name: NotesByItems :many
-- @key item_id
SELECT n.id, n.item_id, n.body
FROM item_notes n
WHERE n.item_id = ANY (:item_ids)
ORDER BY n.item_id, n.id;

-- name: SearchItemsWithNotes :many
-- Active items with their notes, optionally of one kind.
-- @prefetch notes = NotesByItems(id)
SELECT i.id, i.name, i.price
FROM items i
WHERE i.active
  /*? AND i.kind_id = :kind_id */
ORDER BY /*sort: i.price, i.name */, i.id;

-- name: NotesByItemsLike :many
-- The notes of the given items whose body matches a LIKE pattern.
-- @key item_id
SELECT n.id, n.item_id, n.body
FROM item_notes n
WHERE n.item_id = ANY (:item_ids) AND n.body LIKE :pattern
ORDER BY n.item_id, n.id;

-- name: SearchItemsWithMatchingNotes :many
-- Active items with their notes matching a pattern (a parameterized
-- relation), optionally of one kind.
-- @prefetch notes = NotesByItemsLike(id, pattern = :pattern)
SELECT i.id, i.name
FROM items i
WHERE i.active
  /*? AND i.kind_id = :kind_id */
ORDER BY /*sort: i.name */, i.id;

-- name: ApprovedReviewsByBook :many
-- Approved reviews of the given books written on or after `since`.
-- @key book_id
-- @prefetch votes = VotesByReview(id, since = :since)
SELECT r.id, r.book_id, r.created_at, r.body
FROM reviews r
WHERE r.book_id = ANY(:book_ids) AND r.approved AND r.created_at >= :since
ORDER BY r.id;

-- name: VotesByReview :many
-- Votes on the given reviews cast on or after `since` (the key array is the second parameter).
-- @key review_id
SELECT v.id, v.review_id, v.cast_on
FROM votes v
WHERE v.cast_on >= :since AND v.review_id = ANY(:review_ids)
ORDER BY v.id;

-- name: ListBooks :many
-- Books whose title starts with `prefix`, with their approved reviews since `since`.
-- @prefetch reviews = ApprovedReviewsByBook(id, since = :since)
-- @chunk 2
SELECT b.id, b.title FROM books b WHERE b.title LIKE :prefix || '%' ORDER BY b.id;

-- name: BooksReviewedSince :many
-- Books with a review since `since` (a parameter of the query itself), with those reviews.
-- @prefetch reviews = ApprovedReviewsByBook(id, since = :since)
SELECT b.id, b.title FROM books b
WHERE EXISTS (SELECT 1 FROM reviews r WHERE r.book_id = b.id AND r.created_at >= :since)
ORDER BY b.id;

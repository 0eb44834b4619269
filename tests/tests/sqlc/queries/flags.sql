-- Reviews and their flags. This file is also a schema file (sqlc.yaml
-- lists it under both): statements without a header are schema, and the
-- query side skips them, as sqlc does.

CREATE TABLE review_flags (
  review_id bigint NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
  reason    text NOT NULL,
  PRIMARY KEY (review_id, reason)
);

-- name: CreateReview :one
INSERT INTO reviews (book_id, reviewer_id, stars, body)
VALUES (@book_id, sqlc.narg(reviewer_id), @stars, sqlc.narg(body))
RETURNING id;

-- name: ReviewsWithReviewer :many
SELECT reviews.id, reviews.stars, sqlc.embed(authors)
FROM reviews LEFT JOIN authors ON authors.id = reviews.reviewer_id
WHERE reviews.book_id = $1
ORDER BY reviews.id;

CREATE INDEX review_flags_reason_idx ON review_flags (reason);

-- name: FlagReview :exec
INSERT INTO review_flags (review_id, reason) VALUES ($1, $2)
ON CONFLICT DO NOTHING;

-- name: FlagsOf :many
SELECT r.id, f.reason, r.id
FROM review_flags f JOIN reviews r ON r.id = f.review_id
WHERE r.book_id = $1
ORDER BY f.reason;

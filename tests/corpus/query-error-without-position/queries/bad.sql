-- name: Fine :one
SELECT 1 AS one;

-- name: Locked :one
-- PostgreSQL gives this error no position: it belongs at the query, not at 1:1.
  SELECT count(*) AS n
  FROM posts FOR UPDATE;

-- name: MatchQuery :one
SELECT 1 AS one;

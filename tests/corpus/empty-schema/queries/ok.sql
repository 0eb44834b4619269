-- name: Now :one
SELECT now() AS at, 1::int8 AS one;

-- name: Type :one
SELECT 1 AS one;

-- name: Self :one
SELECT 1 AS one;

-- name: Fn :one
SELECT 1 AS one;

-- name: Crate :one
SELECT 1 AS one;

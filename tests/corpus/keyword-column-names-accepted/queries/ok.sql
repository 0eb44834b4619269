-- name: Keywords :one
SELECT 1 AS type, 2 AS self, 3 AS crate, 4 AS fn, 5 AS async, 6 AS super, 7 AS match, 8 AS _, 9 AS await, 10 AS dyn, 11 AS try;

-- name: Foo
SELECT 1 AS one;

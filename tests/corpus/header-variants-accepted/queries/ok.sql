--name: NoSpace :one
SELECT 1 AS one;

--   name:   Spaced   :many   
SELECT 2 AS two;

-- name: Rows :execrows
UPDATE posts SET views = views + 1;

-- name: Foo :one
-- just a comment
/* and a block */

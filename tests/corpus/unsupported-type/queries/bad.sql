-- name: Defaults :many
SELECT adbin AS expression FROM pg_attrdef;

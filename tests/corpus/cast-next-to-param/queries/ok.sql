-- name: Q :many
SELECT :id::bigint AS id, :title::text || 'x' AS title, (:n)::int AS n, '1'::int AS one;

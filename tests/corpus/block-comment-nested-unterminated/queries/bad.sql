-- name: Q :one
SELECT /* outer /* inner */ 1 AS x;

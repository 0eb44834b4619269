-- name: Q :exec
;

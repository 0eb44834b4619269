-- name: Make :exec
CREATE TEMP TABLE x (id int);

-- name: Make :many
CREATE TABLE x (id int);

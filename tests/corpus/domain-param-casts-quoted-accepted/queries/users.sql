-- name: SetRank :exec
-- The casts to the domains' base types are quoted where needed:
-- `public."2nd"`, `"char"` (unquoted, `char` is `bpchar(1)`), `"time"`.
UPDATE "user" SET rank = :rank, initial = :initial, seen = :seen WHERE id = :id;

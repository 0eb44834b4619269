-- name: Q :many
-- The :notparam in docs is not a placeholder.
SELECT ':notparam' AS s, $$ :neither $$ AS d, E'it\'s :no' AS e, "a:b" AS q
FROM (SELECT 1 AS "a:b") t /* :nor_this */
WHERE 1 = :yes -- :nor_that
;

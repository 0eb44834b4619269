-- name: NastyDocs :many
-- First line with a	tab, an `unbalanced backtick and <html> tags.
-- - a list item
-- lazily continued
--          and overindented
-- > a quote
-- lazily continued
-- 1. numbered
-- continued
--
-- ```
-- SELECT 'not rust';
-- ```
--
--     indented code that is not Rust either
--
-- A [broken link], a [^1] footnote and a `code` span.
-- # heading
-- ```sql
-- SELECT 'an unclosed fence';
SELECT
	d.id,
	d."a`b",
	d."<i>",
	d.kind,
	'```' AS fence -- ```
FROM docs d
WHERE d.id > :min;

-- name: NoDocs :one
SELECT	count(*) AS "n	count" FROM docs;

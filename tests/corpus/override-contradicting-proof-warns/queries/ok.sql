-- name: Q :many
SELECT a.id, p.title AS "title!", count(*) AS "n?", NULL::text AS "nothing!"
FROM authors a LEFT JOIN posts p ON p.author_id = a.id
GROUP BY a.id, p.title;

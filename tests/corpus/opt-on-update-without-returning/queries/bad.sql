-- name: Touch :opt
UPDATE posts SET views = views + 1 WHERE id = :id;

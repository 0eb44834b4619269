-- name: Profiles :many
-- Rows whose every column type implements serde::Serialize.
SELECT u.id, u.t_mood, u.t_address, u.t_point, u.t_count, u.t_email, d.meta, d.raw
FROM user_types u
JOIN documents d ON d.id = u.id
ORDER BY u.id;

-- name: MoodByLabel :opt
-- An enum parameter and an enum result.
-- Every row it could keep has the same `t_mood`: no order needed.
-- @allow limit_without_order_by
SELECT t_mood FROM user_types WHERE t_mood = :mood LIMIT 1;

-- Nullability corpus: views (traced through their definitions), domains
-- (NOT NULL from the domain), enums, arrays and jsonb columns.

-- name: ViewColumns :many
-- expect: id, name, email, bio?, team_id?
SELECT id, name, email, bio, team_id FROM active_users;

-- name: ViewWithOuterJoinStar :many
-- expect: user_id, user_name, team_id?, team_name?, motto?
SELECT * FROM user_teams;

-- name: ViewLeftJoined :many
-- expect: name, title?
SELECT a.name, p.title
FROM active_users a
LEFT JOIN projects p ON p.owner_id = a.id;

-- name: ViewOnOuterSide :many
-- expect: title, owner_name?, owner_email?
SELECT p.title, a.name AS owner_name, a.email AS owner_email
FROM projects p
LEFT JOIN active_users a ON a.id = p.owner_id;

-- name: ViewRefined :many
-- expect: user_name, team_name, motto?
SELECT user_name, team_name, motto FROM user_teams WHERE team_name = :team_name;

-- name: DomainColumns :many
-- `email` is NOT NULL through its domain only; `nickname` has no NOT NULL.
-- expect: email, nick?, lower_email, email_bang
SELECT u.email, u.nick, lower(u.email) AS lower_email, u.email || '!' AS email_bang
FROM users u;

-- name: DomainOnOuterSide :many
-- expect: title, email?
SELECT p.title, u.email
FROM projects p
LEFT JOIN users u ON u.id = p.owner_id AND u.deleted_at IS NULL;

-- name: EnumColumns :many
-- expect: mood, prev_mood?
SELECT mood, prev_mood FROM users;

-- name: ArrayColumns :many
-- expect: tags, aliases?, tag_count, alias_count?
SELECT tags, aliases, cardinality(tags) AS tag_count, cardinality(aliases) AS alias_count
FROM users;

-- name: StarOfTable :many
-- expect: id, owner_id, team_id?, title, budget?, starts_on, ends_on?
SELECT * FROM projects;

-- name: QualifiedStarOnOuterSide :many
-- expect: user_name, id?, name?, motto?
SELECT u.name AS user_name, t.* FROM users u LEFT JOIN teams t ON t.id = u.team_id;

-- Nullability corpus: function calls. Strict functions propagate the
-- nullability of their arguments; non-strict ones are nullable unless known
-- (coalesce, concat, greatest, least, now(), gen_random_uuid(), num_nulls, …).
-- Some strict built-ins return NULL for non-null input (no regex match, empty
-- array, missing JSON key): those are nullable.

-- name: StringFunctions :many
-- expect: lname, ubio?, name_len, bio_len?, trimmed, replaced, prefix
SELECT lower(u.name) AS lname, upper(u.bio) AS ubio, length(u.name) AS name_len,
       length(u.bio) AS bio_len, btrim(u.name) AS trimmed,
       replace(u.name, 'a', 'b') AS replaced, substr(u.name, 1, 3) AS prefix
FROM users u;

-- name: NumericFunctions :many
-- expect: rounded_budget?, budget_1?, abs_id, rounded_literal
SELECT round(p.budget) AS rounded_budget, round(p.budget, 1) AS budget_1,
       abs(p.id) AS abs_id, round(1.5) AS rounded_literal
FROM projects p;

-- name: KnownNonStrictFunctions :many
-- expect: ts, uid, n_nulls, n_set, today
SELECT now() AS ts, gen_random_uuid() AS uid, num_nulls(bio, age) AS n_nulls,
       num_nonnulls(bio, age) AS n_set, current_date AS today
FROM users;

-- name: UserFunctions :many
-- full_label is STRICT; label_or_default is CALLED ON NULL INPUT.
-- expect: strict_both, strict_nullable_arg?, not_strict?
SELECT full_label(u.name, t.name) AS strict_both,
       full_label(u.name, t.motto) AS strict_nullable_arg,
       label_or_default(u.name) AS not_strict
FROM users u
JOIN teams t ON t.id = u.team_id;

-- name: StrictButNullReturning :many
-- Strict built-ins that return NULL for non-null arguments.
-- expect: first_match?, a_prefix?, path_value?
SELECT regexp_match(name, '^a') AS first_match,
       substring(name from '^a+') AS a_prefix,
       jsonb_extract_path(prefs, 'a', 'b') AS path_value
FROM users;

-- name: NonStrictBuiltins :many
-- array_position is not strict and returns NULL when nothing is found.
-- expect: tag_pos?
SELECT array_position(tags, 'x') AS tag_pos FROM users;

-- name: JsonFunctions :many
-- expect: prefs, extra?, name_json, extra_k?
SELECT prefs, extra, to_jsonb(name) AS name_json, extra ->> 'k' AS extra_k FROM users;

-- name: DateFunctions :many
-- expect: day, deleted_day?, year_text
SELECT date_trunc('day', created_at) AS day, date_trunc('day', deleted_at) AS deleted_day,
       to_char(created_at, 'YYYY') AS year_text
FROM users;

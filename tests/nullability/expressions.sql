-- Nullability corpus: scalar expressions. Each query's `-- expect:` line
-- lists every output column in order; `?` marks the ones that may be NULL.

-- name: Literals :one
-- expect: one, letter, yes, nothing?, num, neg
SELECT 1 AS one, 'x' AS letter, true AS yes, NULL::int AS nothing, 2.5 AS num, -3 AS neg;

-- name: Params :one
-- `:x` is non-null, `:x?` nullable; operators propagate.
-- expect: a, b?, c_suffixed, d_suffixed?
SELECT :a::int AS a, :b?::int AS b, :c::text || 'x' AS c_suffixed, :d?::text || 'x' AS d_suffixed;

-- name: Arithmetic :many
-- expect: next_id, next_age?, product?, neg_score, big, old?
SELECT id + 1 AS next_id, age + 1 AS next_age, score * age AS product,
       -score AS neg_score, id > 10 AS big, age > 10 AS old
FROM users;

-- name: ConcatVsPipes :many
-- `||` propagates NULL; concat() skips NULL arguments and never returns NULL.
-- expect: name_bio?, name_bio_concat, shout
SELECT name || ' ' || bio AS name_bio, concat(name, ' ', bio) AS name_bio_concat,
       name || '!' AS shout
FROM users;

-- name: Casts :many
-- expect: id_text, age_big?, score_num, bio_vc?, lit
SELECT id::text AS id_text, age::bigint AS age_big, CAST(score AS numeric) AS score_num,
       bio::varchar AS bio_vc, '42'::int AS lit
FROM users;

-- name: Coalesce :many
-- expect: about, maybe?, age_or_zero, age_or_null?
SELECT coalesce(bio, name) AS about, coalesce(bio, nick) AS maybe,
       coalesce(age, 0) AS age_or_zero, coalesce(NULL, age) AS age_or_null
FROM users;

-- name: Nullif :many
-- expect: name_or_null?, score_or_null?
SELECT nullif(name, '') AS name_or_null, nullif(score, 0) AS score_or_null FROM users;

-- name: GreatestLeast :many
-- GREATEST/LEAST ignore NULL arguments: NULL only if all are.
-- expect: hi, lo, hi_nullable?, lo_literal
SELECT greatest(score, age) AS hi, least(age, score) AS lo,
       greatest(age, NULL::int) AS hi_nullable, least(1, 2) AS lo_literal
FROM users;

-- name: CaseExpressions :many
-- expect: bracket, adult_only?, about?, mood_num, simple_no_else?
SELECT CASE WHEN age > 18 THEN 'adult' ELSE 'minor' END AS bracket,
       CASE WHEN age > 18 THEN 'adult' END AS adult_only,
       CASE WHEN score > 0 THEN bio ELSE name END AS about,
       CASE mood WHEN 'happy' THEN 1 WHEN 'sad' THEN -1 ELSE 0 END AS mood_num,
       CASE mood WHEN 'happy' THEN 1 END AS simple_no_else
FROM users;

-- name: NullTests :many
-- expect: no_bio, has_age, differs, is_three, same
SELECT bio IS NULL AS no_bio, age IS NOT NULL AS has_age,
       bio IS DISTINCT FROM name AS differs, age IS NOT DISTINCT FROM 3 AS is_three,
       (bio = name) IS TRUE AS same
FROM users;

-- name: ExistsExpressions :many
-- expect: id, has_projects, idle
SELECT u.id,
       EXISTS (SELECT 1 FROM projects p WHERE p.owner_id = u.id) AS has_projects,
       NOT EXISTS (SELECT 1 FROM tasks t WHERE t.assignee_id = u.id) AS idle
FROM users u;

-- name: InList :many
-- `x IN (list)`: NULL if x or a list element is NULL (and nothing matched).
-- expect: small_id, milestone?, fine, other_id, maybe_in?
SELECT id IN (1, 2, 3) AS small_id, age IN (18, 21) AS milestone,
       mood IN ('happy', 'meh') AS fine, id NOT IN (1, 2) AS other_id,
       score IN (1, :maybe?) AS maybe_in
FROM users;

-- name: InSubquery :many
-- `x IN (SELECT y …)`: NULL when x is NULL, or when nothing matched and some y is NULL.
-- expect: id, owns, in_team?, assigned?, unassigned?
SELECT u.id,
       u.id IN (SELECT owner_id FROM projects) AS owns,
       u.team_id IN (SELECT id FROM teams) AS in_team,
       u.id IN (SELECT assignee_id FROM tasks) AS assigned,
       u.id NOT IN (SELECT assignee_id FROM tasks) AS unassigned
FROM users u;

-- name: Constructors :many
-- ARRAY[…] and ARRAY(subquery) are never NULL (the latter is '{}' without rows),
-- nor is a ROW(…), even of NULL fields.
-- expect: ids, project_titles, as_json, as_text
SELECT ARRAY[u.id, u.team_id] AS ids,
       ARRAY(SELECT p.title FROM projects p WHERE p.owner_id = u.id) AS project_titles,
       row_to_json(ROW(u.id, u.bio)) AS as_json,
       ROW(u.id, u.bio)::text AS as_text
FROM users u;

-- name: JsonOperators :many
-- `->`, `->>`, `#>>` yield NULL for a missing key even on non-null input.
-- expect: theme?, lang?, extra_a?, deep?, has_theme, prefs_type, merged
SELECT prefs -> 'theme' AS theme, prefs ->> 'lang' AS lang, extra -> 'a' AS extra_a,
       prefs #>> '{a,b}' AS deep, prefs ? 'theme' AS has_theme,
       jsonb_typeof(prefs) AS prefs_type, prefs || '{}'::jsonb AS merged
FROM users;

-- name: ArrayExpressions :many
-- A subscript is NULL when out of range; array_length is NULL for an empty array.
-- expect: first_tag?, first_alias?, n_tags, n_aliases?, tags_len?, more_tags
SELECT tags[1] AS first_tag, aliases[1] AS first_alias, cardinality(tags) AS n_tags,
       cardinality(aliases) AS n_aliases, array_length(tags, 1) AS tags_len,
       tags || 'x'::text AS more_tags
FROM users;

-- name: BooleanLogic :many
-- expect: busy, either?, open
SELECT done AND hours > 0 AS busy, done OR estimate > 0 AS either, NOT done AS open
FROM tasks;

-- name: EnumExpressions :many
-- expect: mood, prev_mood?, mood_text, some_mood, is_happy
SELECT mood, prev_mood, mood::text AS mood_text, coalesce(prev_mood, mood) AS some_mood,
       mood = 'happy' AS is_happy
FROM users;

-- name: DateArithmetic :many
-- expect: days?, next_week, late?
SELECT ends_on - starts_on AS days, starts_on + 7 AS next_week, ends_on > now() AS late
FROM projects;

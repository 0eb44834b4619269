//! The index lints: `unindexed_foreign_key` (a loader key, derived relation
//! or join on a foreign key column no index leads with) and
//! `unindexed_filter` (an equality filter on a column no index leads with),
//! each triggered by a fixture (snapshot of the rendered warning) and not
//! triggered by the near-miss with the index present.

use quarry_tests::generate_fixture;

/// `comments.post_id` references `posts` and has no index; `posts.slug` and
/// `posts.status` have none either. `INDEXES` adds them.
const SCHEMA: &str = "
CREATE TABLE authors (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors (id),
    slug text NOT NULL,
    status text NOT NULL
);
CREATE INDEX posts_author_id_idx ON posts (author_id);
CREATE TABLE comments (
    id bigserial PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts (id),
    body text NOT NULL
);
";

/// The indexes that make every fixture a near-miss. `comments` leads with
/// `post_id` in a composite index: the leading column is what counts.
const INDEXES: &str = "
CREATE INDEX comments_post_id_id_idx ON comments (post_id, id);
CREATE INDEX posts_slug_idx ON posts (slug);
CREATE INDEX posts_status_slug_idx ON posts (status, slug);
";

/// The rendered warnings of generating `queries` over `schema` whose
/// message names `lint`.
async fn warnings(queries: &str, schema: &str, lint: &str) -> Vec<String> {
    let output = generate_fixture("blog.sql", queries.as_bytes(), schema)
        .await
        .unwrap_or_else(|e| panic!("generation failed:\n{e}"));
    output
        .warnings
        .iter()
        .map(codegen::Diagnostic::render)
        .filter(|rendered| rendered.contains(lint))
        .collect()
}

/// Runs `queries` over the schema without and with [`INDEXES`]: returns the
/// `lint` warnings without; asserts there are none with.
async fn without_and_with_index(queries: &str, lint: &str) -> String {
    let with = warnings(queries, &format!("{SCHEMA}{INDEXES}"), lint).await;
    assert!(with.is_empty(), "near-miss triggered {lint}:\n{with:#?}");
    warnings(queries, SCHEMA, lint).await.join("\n")
}

#[tokio::test]
async fn loader_key_on_unindexed_foreign_key() {
    let queries = "
-- name: CommentsByPost :many
-- @key post_id
SELECT c.id, c.post_id, c.body FROM comments c WHERE c.post_id = ANY(:post_ids);
";
    let rendered = without_and_with_index(queries, "unindexed_foreign_key").await;
    // One warning, at the directive: the loader's `= ANY` filter on the same
    // column is not reported a second time as `unindexed_filter`.
    assert_eq!(rendered.matches("warning").count(), 1, "{rendered}");
    assert!(warnings(queries, SCHEMA, "unindexed_filter")
        .await
        .is_empty());
    insta::assert_snapshot!(rendered);
}

#[tokio::test]
async fn derived_relation_on_unindexed_foreign_key() {
    let queries = "
-- name: ListPosts :many
-- @prefetch comments
SELECT p.id, p.slug FROM posts p ORDER BY p.id;
";
    let rendered = without_and_with_index(queries, "unindexed_foreign_key").await;
    assert_eq!(rendered.matches("warning").count(), 1, "{rendered}");
    insta::assert_snapshot!(rendered);
}

#[tokio::test]
async fn forward_relation_uses_the_primary_key() {
    // `@prefetch author` loads authors by their primary key: nothing to report.
    let queries = "
-- name: ListPosts :many
-- @prefetch author
SELECT p.id, p.author_id FROM posts p ORDER BY p.id;
";
    assert!(warnings(queries, SCHEMA, "unindexed").await.is_empty());
}

#[tokio::test]
async fn join_on_unindexed_foreign_key() {
    let queries = "
-- name: PostComments :many
SELECT p.slug, c.body
FROM posts AS p
JOIN comments AS c ON c.post_id = p.id
WHERE p.id = :post_id;
";
    let rendered = without_and_with_index(queries, "unindexed_foreign_key").await;
    assert_eq!(rendered.matches("warning").count(), 1, "{rendered}");
    insta::assert_snapshot!(rendered);
}

#[tokio::test]
async fn equality_filters_on_unindexed_columns() {
    let queries = "
-- name: PostBySlug :opt
SELECT id FROM posts WHERE slug = :slug;

-- name: PostsByStatus :many
SELECT p.id FROM posts p WHERE p.status = ANY(:statuses) AND p.id > 0 ORDER BY p.id;
";
    let rendered = without_and_with_index(queries, "unindexed_filter").await;
    assert_eq!(rendered.matches("warning").count(), 2, "{rendered}");
    insta::assert_snapshot!(rendered);
}

#[tokio::test]
async fn filters_in_subqueries_and_updates_resolve_their_tables() {
    // A correlated subquery's unqualified `slug` is `posts.slug` (the only
    // table of its level with that column); the UPDATE filters `status`.
    let queries = "
-- name: AuthorsWithPost :many
SELECT a.id FROM authors a
WHERE EXISTS (SELECT 1 FROM posts WHERE author_id = a.id AND slug = :slug)
ORDER BY a.id;

-- name: ArchiveByStatus :execrows
UPDATE posts SET status = 'archived' WHERE status = :status;
";
    let rendered = without_and_with_index(queries, "unindexed_filter").await;
    assert_eq!(rendered.matches("warning").count(), 2, "{rendered}");
    assert!(rendered.contains("`posts.slug`"), "{rendered}");
    assert!(rendered.contains("`posts.status`"), "{rendered}");
}

#[tokio::test]
async fn not_reported_what_cannot_be_resolved_or_used() {
    // A cast column (no plain index helps), a CTE's column, an inequality,
    // a comparison with a literal and an indexed primary/unique key.
    let queries = "
-- name: Misc :many
WITH recent AS (SELECT slug FROM posts)
SELECT r.slug FROM recent r WHERE r.slug = :slug;

-- name: Cast :many
SELECT id FROM posts WHERE lower(slug) = :slug AND status <> :other AND status = 'draft';

-- name: ByKeys :many
SELECT id FROM authors WHERE id = :id OR email = :email;

-- name: ByEmail :opt
SELECT id FROM authors WHERE email = :email;
";
    assert!(warnings(queries, SCHEMA, "unindexed").await.is_empty());
}

/// The example app's queries raise no index lint.
#[tokio::test]
async fn example_app_has_no_index_warnings() {
    let path = quarry_tests::workspace_root().join("quarry.toml");
    let file = codegen::config::read_config_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let config = codegen::Config {
        queries: file.queries.unwrap_or_else(|| panic!("queries")),
        more_queries: Vec::new(),
        schema: file.schema.unwrap_or_else(|| panic!("schema")),
        out: file.out.unwrap_or_else(|| panic!("out")),
        types: file.types,
    };
    let output = codegen::generate(&config, quarry_tests::server())
        .await
        .unwrap_or_else(|e| panic!("generation failed:\n{e}"));
    let index: Vec<String> = output
        .warnings
        .iter()
        .map(codegen::Diagnostic::render)
        .filter(|rendered| rendered.contains("unindexed"))
        .collect();
    assert!(index.is_empty(), "{index:#?}");
}

#[tokio::test]
async fn allowed_on_the_query() {
    // A small lookup table: the reason goes next to the `@allow`.
    let queries = "
-- name: PostBySlug :opt
-- Few posts per site; a sequential scan is fine.
-- @allow unindexed_filter
SELECT id FROM posts WHERE slug = :slug;

-- name: ListPosts :many
-- @allow unindexed_foreign_key
-- @prefetch comments
SELECT p.id FROM posts p ORDER BY p.id;
";
    assert!(warnings(queries, SCHEMA, "unindexed").await.is_empty());
}

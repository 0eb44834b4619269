//! Mistakes in `@key` / `@prefetch` are diagnostics at the directive's line,
//! with `file:line:col`, never a panic and never output.

use quarry_tests::generate_fixture;

const SCHEMA: &str = "
CREATE TABLE authors (id bigserial PRIMARY KEY, name text NOT NULL, code text NOT NULL UNIQUE);
CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors (id),
    editor_id bigint REFERENCES authors (id),
    title text NOT NULL
);
CREATE TABLE comments (id bigserial PRIMARY KEY, post_id bigint NOT NULL REFERENCES posts (id), body text NOT NULL);
-- Two foreign keys from reviews to posts: `reviews` is ambiguous.
CREATE TABLE reviews (
    id bigserial PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts (id),
    previous_post_id bigint REFERENCES posts (id)
);
";

const LOADERS: &str = "
-- name: CommentsByPost :many
-- @key post_id
SELECT c.id, c.post_id, c.body FROM comments c WHERE c.post_id = ANY(:post_ids);

-- name: AuthorsById :one
-- @key id
SELECT a.id, a.name FROM authors a WHERE a.id = ANY(:ids);
";

/// Errors of a run of `LOADERS` + `sql`, as `(line:col, message)`.
async fn errors(sql: &str) -> Vec<(String, String)> {
    let text = format!("{LOADERS}\n{sql}");
    let result = generate_fixture("blog.sql", text.as_bytes(), SCHEMA).await;
    let error = match result {
        Ok(_) => panic!("expected diagnostics for:\n{sql}"),
        Err(error) => error,
    };
    let codegen::Error::Diagnostics(diagnostics) = error else {
        panic!("expected diagnostics, got {error}");
    };
    diagnostics
        .0
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let position = d.position().unwrap_or_default();
            assert!(d.render().contains('^'), "{}", d.render());
            let at = position
                .split_once("blog.sql:")
                .map(|(_, at)| at.to_string())
                .unwrap_or(position);
            (at, d.message.clone())
        })
        .collect()
}

/// Line of the first line of `sql` containing `needle`, after the loaders.
fn line_of(sql: &str, needle: &str) -> usize {
    let offset = LOADERS.lines().count() + 1;
    offset
        + sql
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle}"))
        + 1
}

async fn single(sql: &str) -> (String, String) {
    let mut all = errors(sql).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

#[tokio::test]
async fn unknown_loader() {
    let sql = "-- name: Posts :many\n-- @prefetch comments = CommentsByPots(id)\nSELECT p.id FROM posts p;\n";
    let (at, message) = single(sql).await;
    assert_eq!(at, format!("{}:25", line_of(sql, "@prefetch")));
    assert_eq!(message, "unknown loader `CommentsByPots`");
}

#[tokio::test]
async fn type_mismatch_between_parent_column_and_key() {
    let sql = "-- name: Posts :many\n-- @prefetch comments = CommentsByPost(title)\nSELECT p.id, p.title FROM posts p;\n";
    let (at, message) = single(sql).await;
    assert_eq!(at, format!("{}:40", line_of(sql, "@prefetch")));
    assert_eq!(
        message,
        "type mismatch: `Posts.title` is `text` but the key of `CommentsByPost` is `int8`"
    );
}

#[tokio::test]
async fn loader_without_key() {
    let sql = "-- name: PostsByIds :many\nSELECT p.id FROM posts p WHERE p.id = ANY(:ids);\n\n-- name: Authors :many\n-- @prefetch posts = PostsByIds(id)\nSELECT a.id FROM authors a;\n";
    let (at, message) = single(sql).await;
    assert_eq!(at, format!("{}:22", line_of(sql, "@prefetch")));
    assert_eq!(
        message,
        "query `PostsByIds` is not a loader: it has no `@key`"
    );
}

#[tokio::test]
async fn loader_with_two_array_parameters() {
    let sql = "-- name: PostsByIds :many\n-- @key id\nSELECT p.id FROM posts p WHERE p.id = ANY(:ids) AND p.author_id = ANY(:author_ids);\n";
    let (at, message) = single(sql).await;
    assert_eq!(at, format!("{}:71", line_of(sql, "SELECT")));
    assert_eq!(
        message,
        "loader `PostsByIds` must take exactly one array parameter, found 2 array parameters"
    );
}

#[tokio::test]
async fn key_column_not_in_output_and_key_type_differs_from_array() {
    let sql = "-- name: A :many\n-- @key post\nSELECT c.id, c.post_id FROM comments c WHERE c.post_id = ANY(:ids);\n\n-- name: B :many\n-- @key id\nSELECT c.id, c.post_id FROM comments c WHERE c.post_id = ANY(:ids::int4[]);\n";
    let all = errors(sql).await;
    assert_eq!(
        all,
        vec![
            (
                format!("{}:9", line_of(sql, "@key post")),
                "`@key post` is not a column of query `A`".to_string()
            ),
            (
                format!("{}:62", line_of(sql, "int4[]")),
                "loader `B`: key array elements are `int4` but `@key id` is `int8`".to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn field_collides_with_a_column() {
    let sql = "-- name: Posts :many\n-- @prefetch title = CommentsByPost(id)\nSELECT p.id, p.title FROM posts p;\n";
    let (at, message) = single(sql).await;
    assert_eq!(at, format!("{}:14", line_of(sql, "@prefetch")));
    assert_eq!(
        message,
        "relation field `title` collides with a column or relation of `Posts`"
    );
}

#[tokio::test]
async fn cycle() {
    let sql = "-- name: PostsById :one\n-- @key id\n-- @prefetch comments = CommentsOfPosts(id)\nSELECT p.id FROM posts p WHERE p.id = ANY(:ids);\n\n-- name: CommentsOfPosts :many\n-- @key post_id\n-- @prefetch post = PostsById(post_id)\nSELECT c.id, c.post_id FROM comments c WHERE c.post_id = ANY(:ids);\n";
    let (at, message) = single(sql).await;
    assert_eq!(at, format!("{}:4", line_of(sql, "@prefetch comments")));
    assert_eq!(
        message,
        "prefetch cycle: PostsById → CommentsOfPosts → PostsById"
    );
}

#[tokio::test]
async fn ambiguous_derived_relation() {
    let sql = "-- name: Posts :many\n-- @prefetch reviews\nSELECT p.id FROM posts p;\n";
    let all = errors(sql).await;
    assert_eq!(
        all,
        vec![(
            format!("{}:14", line_of(sql, "@prefetch")),
            "ambiguous relation `reviews` from `posts`".to_string()
        )]
    );
    // The note lists both candidates.
    let text = format!("{LOADERS}\n{sql}");
    let result = generate_fixture("blog.sql", text.as_bytes(), SCHEMA).await;
    let rendered = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        rendered.contains("reviews.post_id → posts.id"),
        "{rendered}"
    );
    assert!(
        rendered.contains("reviews.previous_post_id → posts.id"),
        "{rendered}"
    );
}

#[tokio::test]
async fn no_foreign_key_path() {
    let sql = "-- name: Posts :many\n-- @prefetch likes\nSELECT p.id FROM posts p;\n";
    let (at, message) = single(sql).await;
    assert_eq!(at, format!("{}:14", line_of(sql, "@prefetch")));
    assert_eq!(message, "no foreign-key path from `posts` to `likes`");
}

#[tokio::test]
async fn unknown_parent_column_and_bad_syntax() {
    let sql = "-- name: Posts :many\n-- @prefetch comments = CommentsByPost(post_id)\n-- @prefetch = Nope\nSELECT p.id FROM posts p;\n";
    let all = errors(sql).await;
    assert_eq!(
        all,
        vec![
            (
                format!("{}:4", line_of(sql, "= Nope")),
                "`@prefetch` needs a field name".to_string()
            ),
            (
                format!("{}:40", line_of(sql, "CommentsByPost(post_id)")),
                "`post_id` is not a column of query `Posts`".to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn query_named_like_a_loaders_distinct_entry() {
    // `CommentsByPost` is also run as `comments_by_post_distinct` (for keys
    // `with_relations` already de-duplicated): a query may not take that name.
    let sql = "-- name: CommentsByPostDistinct :many\nSELECT c.id FROM comments c;\n";
    let (at, message) = single(sql).await;
    assert_eq!(at, format!("{}:10", line_of(sql, "CommentsByPostDistinct")));
    assert_eq!(
        message,
        "query `CommentsByPostDistinct` becomes the function `comments_by_post_distinct`, which loader `CommentsByPost` needs for itself"
    );
}

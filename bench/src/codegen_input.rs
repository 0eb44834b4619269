//! Inputs of the `codegen` bench: a directory holding the workload's schema
//! (`diesel_schema/schema.sql`) and any number of generated queries over it,
//! ten query files, eight kinds of query in turn — lookups, filtered lists,
//! joins, aggregates, inserts with `RETURNING`, updates, loaders (`@key`) and
//! parents that prefetch them — so that generation describes, infers
//! nullability for and emits a realistic mix.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::workload::schema_file;
use crate::BoxError;

/// Query files the queries are spread over.
pub const FILES: usize = 10;

/// Query `i` (0-based); every eighth is a loader and the one after it
/// prefetches it, so counts that are multiples of 8 (or larger than 8) are
/// self-contained.
fn query(i: usize) -> String {
    let n = i / 8;
    match i % 8 {
        0 => format!(
            "-- name: GetUser{n} :one\n\
             SELECT id, name, hair_color FROM users WHERE id = :id;\n"
        ),
        1 => format!(
            "-- name: ListUsersByName{n} :many\n\
             -- Users whose name matches a pattern, a page at a time.\n\
             SELECT id, name, hair_color FROM users\n\
             WHERE name LIKE :pattern AND (:hair_color?::text IS NULL OR hair_color = :hair_color?)\n\
             ORDER BY id LIMIT :limit;\n"
        ),
        2 => format!(
            "-- name: PostsWithAuthor{n} :many\n\
             SELECT p.id, p.title, p.body, p.tags, u.name AS author, u.hair_color\n\
             FROM posts p JOIN users u ON u.id = p.user_id\n\
             WHERE p.user_id = :user_id ORDER BY p.id;\n"
        ),
        3 => format!(
            "-- name: PostCounts{n} :many\n\
             SELECT u.id, u.name, count(p.id) AS posts, max(p.title) AS last_title\n\
             FROM users u LEFT JOIN posts p ON p.user_id = u.id\n\
             GROUP BY u.id, u.name HAVING count(p.id) >= :min_posts;\n"
        ),
        4 => format!(
            "-- name: CreatePost{n} :one\n\
             INSERT INTO posts (user_id, title, body, tags)\n\
             VALUES (:user_id, :title, :body?, :tags)\n\
             RETURNING id, title, tags, nullable_tags;\n"
        ),
        5 => format!(
            "-- name: SetHairColor{n} :execrows\n\
             UPDATE users SET hair_color = :hair_color? WHERE id = ANY(:ids);\n"
        ),
        6 => format!(
            "-- name: CommentsByPost{n} :many\n\
             -- @key post_id\n\
             SELECT id, post_id, text FROM comments WHERE post_id = ANY(:post_ids) ORDER BY id;\n"
        ),
        _ => format!(
            "-- name: PostsWithComments{n} :many\n\
             -- @prefetch comments = CommentsByPost{n}(id)\n\
             SELECT id, user_id, title FROM posts WHERE user_id = :user_id;\n"
        ),
    }
}

/// Writes `schema.sql` and `queries/q{k}.sql` (at most `FILES` files holding
/// `count` queries) under `dir` and returns the generator configuration for them
/// (output directory `dir/out`, which generation does not write).
pub fn write(dir: &Path, count: usize) -> Result<codegen::Config, BoxError> {
    let queries = dir.join("queries");
    std::fs::create_dir_all(&queries)?;
    let schema = dir.join("schema.sql");
    std::fs::copy(schema_file(), &schema)?;
    let per_file = count.div_ceil(FILES).max(8).next_multiple_of(8);
    let mut written = 0;
    for file in 0..FILES {
        let mut sql = String::new();
        for i in written..(written + per_file).min(count) {
            writeln!(sql, "{}", query(i))?;
        }
        written = (written + per_file).min(count);
        if !sql.is_empty() {
            std::fs::write(queries.join(format!("q{file}.sql")), sql)?;
        }
    }
    Ok(codegen::Config {
        queries,
        more_queries: Vec::new(),
        schema: vec![schema],
        out: dir.join("out"),
        types: codegen::config::TypeConfig::default(),
    })
}

/// A fresh directory for [`write`] under the temp dir.
pub fn temp_dir(label: &str) -> Result<PathBuf, BoxError> {
    let dir = std::env::temp_dir().join(format!(
        "quarry-bench-{label}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

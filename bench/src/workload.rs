//! The database of the diesel_bench workload (`benches/workload/`): the
//! schema of `diesel_schema/schema.sql` and the data of each scenario, as the
//! diesel benchmark suite creates them on PostgreSQL, generated server-side
//! with `generate_series` (the same on every run).

use std::path::{Path, PathBuf};

use codegen::pg::Server;
use quarry::tokio_postgres::Client;

use crate::BoxError;

/// Sizes of `trivial_query` and `medium_complex_query` (users in the table).
pub const QUERY_SIZES: [usize; 5] = [1, 10, 100, 1_000, 10_000];
/// Sizes of `insert` (users per statement).
pub const INSERT_SIZES: [usize; 5] = [1, 10, 25, 50, 100];
/// `loading_associations`: users.
pub const ASSOCIATION_USERS: usize = 100;
/// `loading_associations`: posts per user.
pub const POSTS_PER_USER: usize = 10;
/// `loading_associations`: comments per post.
pub const COMMENTS_PER_POST: usize = 10;

/// The hair colour `medium_complex_query` filters on.
pub const HAIR_COLOR: &str = "black";
/// The hair colour of every user inserted by the `insert` scenario.
pub const INSERTED_HAIR_COLOR: &str = "hair_color";

/// `diesel_schema/schema.sql`.
pub fn schema_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("diesel_schema/schema.sql")
}

/// Creates a fresh database on `server` with the workload's schema (empty
/// tables) and returns its name.
pub async fn create_database(server: &Server) -> Result<String, BoxError> {
    create_database_from(server, "quarry_workload", &schema_file()).await
}

/// Creates a fresh database on `server`, named after `prefix`, with the
/// schema of `file`, and returns its name.
pub async fn create_database_from(
    server: &Server,
    prefix: &str,
    file: &Path,
) -> Result<String, BoxError> {
    let name = server.create_database(prefix).await?;
    let client = server.connect(Some(&name)).await?;
    let sql = std::fs::read_to_string(file).map_err(|e| format!("read {}: {e}", file.display()))?;
    client
        .batch_execute(&sql)
        .await
        .map_err(|e| format!("apply {}: {e:?}", file.display()))?;
    Ok(name)
}

/// Empties every table and restarts the ids at 1.
pub async fn truncate(client: &Client) -> Result<(), BoxError> {
    client
        .batch_execute("TRUNCATE comments, posts, users RESTART IDENTITY")
        .await?;
    Ok(())
}

/// The hair colours of the users a scenario starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HairColors {
    /// `trivial_query`: every `hair_color` is NULL.
    Null,
    /// `medium_complex_query` and `loading_associations`: 'black' for even
    /// `i`, 'brown' otherwise.
    BlackAndBrown,
}

/// Replaces the data with `count` users named `User {i}`, `i` in
/// `0..count`, with no posts and no comments (`trivial_query`,
/// `medium_complex_query`).
pub async fn users(client: &Client, count: usize, hair: HairColors) -> Result<(), BoxError> {
    truncate(client).await?;
    let hair_color = match hair {
        HairColors::Null => "NULL",
        HairColors::BlackAndBrown => "CASE WHEN i % 2 = 0 THEN 'black' ELSE 'brown' END",
    };
    let last = count as i64 - 1;
    client
        .batch_execute(&format!(
            "INSERT INTO users (name, hair_color)
             SELECT 'User ' || i, {hair_color} FROM generate_series(0, {last}) AS i;
             ANALYZE users, posts, comments;"
        ))
        .await?;
    Ok(())
}

/// Replaces the data with the `loading_associations` set: 100 users
/// (black and brown), 10 posts each titled `Post {i} by user {user_id}`
/// (no body, no tags), 10 comments each `Comment {i} on post {post_id}`.
pub async fn associations(client: &Client) -> Result<(), BoxError> {
    users(client, ASSOCIATION_USERS, HairColors::BlackAndBrown).await?;
    client
        .batch_execute(&format!(
            "INSERT INTO posts (user_id, title)
             SELECT u.id, 'Post ' || i || ' by user ' || u.id
             FROM users u CROSS JOIN generate_series(0, {posts}) AS i
             ORDER BY u.id, i;
             INSERT INTO comments (post_id, text)
             SELECT p.id, 'Comment ' || i || ' on post ' || p.id
             FROM posts p CROSS JOIN generate_series(0, {comments}) AS i
             ORDER BY p.id, i;
             ANALYZE users, posts, comments;",
            posts = POSTS_PER_USER - 1,
            comments = COMMENTS_PER_POST - 1,
        ))
        .await?;
    Ok(())
}

/// The names of the users one `insert` statement inserts: `User {i}`.
pub fn new_user_names(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("User {i}")).collect()
}

//! The floor: every scenario written by hand against tokio-postgres, with
//! every statement prepared once up front, rows decoded by index, and the
//! same result shapes as Quarry's generated rows. The associations are
//! stitched through `HashMap`s (no key de-duplication: the keys are primary
//! keys, so a hand-written version needs none).
//!
//! It runs on the very connection Quarry's code runs on (a connection
//! checked out of a `quarry::Pool`, used here as the plain
//! `tokio_postgres::Client` it derefs to, with statements of its own): the
//! two then share one PostgreSQL backend, so what differs between them is
//! only the client-side code. On separate connections, the backends'
//! placement and state differ by a few per cent from one connection to
//! another and from run to run, which is the size of the effect measured.

use std::collections::HashMap;

use quarry::tokio_postgres::binary_copy::BinaryCopyInWriter;
use quarry::tokio_postgres::types::{ToSql, Type};
use quarry::tokio_postgres::{Client, Row, Statement};
use quarry::PooledConnection;
use quarry_bench::workload::INSERT_SIZES;
use quarry_bench::BoxError;

use crate::summary::Summary;

pub const ALL_USERS: &str = "SELECT id, name, hair_color FROM users";
pub const USERS_WITH_POSTS: &str = "SELECT u.id, u.name, u.hair_color,
       p.id AS post_id, p.user_id, p.title, p.body, p.tags, p.nullable_tags
FROM users u
LEFT JOIN posts p ON p.user_id = u.id
WHERE u.hair_color = $1";
pub const INSERT_UNNEST: &str = "INSERT INTO users (name, hair_color)
SELECT * FROM unnest($1::text[], $2::text[])";
pub const COPY_USERS: &str = "COPY users (name, hair_color) FROM STDIN (FORMAT binary)";
pub const POSTS_BY_USER: &str =
    "SELECT id, user_id, title, body, tags, nullable_tags FROM posts WHERE user_id = ANY($1)";
pub const COMMENTS_BY_POST: &str = "SELECT id, post_id, text FROM comments WHERE post_id = ANY($1)";

/// `INSERT INTO users (name, hair_color) VALUES ($1, $2), ($3, $4), …`.
pub fn insert_values_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO users (name, hair_color) VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${})", 2 * row + 1, 2 * row + 2));
    }
    sql
}

#[derive(Debug)]
pub struct User {
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
}

#[derive(Debug)]
pub struct UserWithPost {
    pub id: i32,
    pub name: String,
    pub hair_color: String,
    pub post_id: Option<i32>,
    pub user_id: Option<i32>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub tags: Option<Vec<String>>,
    pub nullable_tags: Option<Vec<String>>,
}

#[derive(Debug)]
pub struct UserWithPosts {
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
    pub posts: Vec<Post>,
}

#[derive(Debug)]
pub struct Post {
    pub id: i32,
    pub user_id: i32,
    pub title: String,
    pub body: Option<String>,
    pub tags: Vec<String>,
    pub nullable_tags: Option<Vec<String>>,
    pub comments: Vec<Comment>,
}

#[derive(Debug)]
pub struct Comment {
    pub id: i32,
    pub post_id: i32,
    pub text: String,
}

/// One connection and its prepared statements.
pub struct HandWritten {
    conn: PooledConnection,
    all_users: Statement,
    users_with_posts: Statement,
    insert_unnest: Statement,
    /// Multi-row `VALUES`, one statement per size of the `insert` scenario.
    insert_values: HashMap<usize, Statement>,
    copy_users: Statement,
    posts_by_user: Statement,
    comments_by_post: Statement,
}

impl HandWritten {
    /// Takes a connection from `pool` and prepares every statement on it.
    pub async fn connect(pool: &quarry::Pool) -> Result<Self, BoxError> {
        let conn = pool.get().await?;
        let client: &Client = &conn;
        let mut insert_values = HashMap::new();
        for size in INSERT_SIZES {
            let statement = client.prepare(&insert_values_sql(size)).await?;
            insert_values.insert(size, statement);
        }
        Ok(Self {
            all_users: client.prepare(ALL_USERS).await?,
            users_with_posts: client.prepare(USERS_WITH_POSTS).await?,
            insert_unnest: client.prepare(INSERT_UNNEST).await?,
            insert_values,
            copy_users: client.prepare(COPY_USERS).await?,
            posts_by_user: client.prepare(POSTS_BY_USER).await?,
            comments_by_post: client.prepare(COMMENTS_BY_POST).await?,
            conn,
        })
    }

    /// The connection, as Quarry's code takes it.
    pub fn connection(&self) -> &PooledConnection {
        &self.conn
    }

    /// The connection, as the plain tokio-postgres client it is.
    fn client(&self) -> &Client {
        &self.conn
    }

    pub async fn trivial(&self) -> Result<Vec<User>, BoxError> {
        let rows = self.client().query(&self.all_users, &[]).await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in &rows {
            users.push(user(row)?);
        }
        Ok(users)
    }

    pub async fn medium(&self, hair_color: &str) -> Result<Vec<UserWithPost>, BoxError> {
        let rows = self
            .client()
            .query(&self.users_with_posts, &[&hair_color])
            .await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in &rows {
            users.push(UserWithPost {
                id: row.try_get(0)?,
                name: row.try_get(1)?,
                hair_color: row.try_get(2)?,
                post_id: row.try_get(3)?,
                user_id: row.try_get(4)?,
                title: row.try_get(5)?,
                body: row.try_get(6)?,
                tags: row.try_get(7)?,
                nullable_tags: row.try_get(8)?,
            });
        }
        Ok(users)
    }

    /// One `INSERT … SELECT * FROM unnest($1, $2)`.
    pub async fn insert_unnest(
        &self,
        names: &[&str],
        hair_colors: &[&str],
    ) -> Result<u64, BoxError> {
        Ok(self
            .client()
            .execute(&self.insert_unnest, &[&names, &hair_colors])
            .await?)
    }

    /// One multi-row `INSERT … VALUES`, prepared for this number of rows.
    pub async fn insert_values(
        &self,
        names: &[&str],
        hair_colors: &[&str],
    ) -> Result<u64, BoxError> {
        let statement = self
            .insert_values
            .get(&names.len())
            .ok_or("no VALUES statement prepared for this size")?;
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(2 * names.len());
        for (name, hair_color) in names.iter().zip(hair_colors) {
            params.push(name);
            params.push(hair_color);
        }
        Ok(self.client().execute(statement, &params).await?)
    }

    /// One binary `COPY users (name, hair_color) FROM STDIN`, as a
    /// `:copyfrom` query would run it: two round trips (the server answers
    /// the `COPY` before the rows are sent), then the rows in binary format.
    pub async fn insert_copy(&self, names: &[&str], hair_colors: &[&str]) -> Result<u64, BoxError> {
        let sink = self.client().copy_in(&self.copy_users).await?;
        let writer = BinaryCopyInWriter::new(sink, &[Type::VARCHAR, Type::VARCHAR]);
        let mut writer = std::pin::pin!(writer);
        for (name, hair_color) in names.iter().zip(hair_colors) {
            writer.as_mut().write(&[name, hair_color]).await?;
        }
        Ok(writer.finish().await?)
    }

    /// Users, then their posts (`= ANY($1)`), then those posts' comments.
    pub async fn associations(&self) -> Result<Vec<UserWithPosts>, BoxError> {
        let user_rows = self.client().query(&self.all_users, &[]).await?;
        let user_ids = user_rows
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<Vec<i32>, _>>()?;
        let post_rows = self
            .client()
            .query(&self.posts_by_user, &[&user_ids])
            .await?;
        let post_ids = post_rows
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<Vec<i32>, _>>()?;
        let comment_rows = self
            .client()
            .query(&self.comments_by_post, &[&post_ids])
            .await?;

        let mut comments: HashMap<i32, Vec<Comment>> = HashMap::with_capacity(post_ids.len());
        for row in &comment_rows {
            let comment = Comment {
                id: row.try_get(0)?,
                post_id: row.try_get(1)?,
                text: row.try_get(2)?,
            };
            comments.entry(comment.post_id).or_default().push(comment);
        }
        let mut posts: HashMap<i32, Vec<Post>> = HashMap::with_capacity(user_ids.len());
        for row in &post_rows {
            let id = row.try_get(0)?;
            let post = Post {
                id,
                user_id: row.try_get(1)?,
                title: row.try_get(2)?,
                body: row.try_get(3)?,
                tags: row.try_get(4)?,
                nullable_tags: row.try_get(5)?,
                comments: comments.remove(&id).unwrap_or_default(),
            };
            posts.entry(post.user_id).or_default().push(post);
        }
        let mut users = Vec::with_capacity(user_rows.len());
        for row in &user_rows {
            let id = row.try_get(0)?;
            users.push(UserWithPosts {
                id,
                name: row.try_get(1)?,
                hair_color: row.try_get(2)?,
                posts: posts.remove(&id).unwrap_or_default(),
            });
        }
        Ok(users)
    }
}

fn user(row: &Row) -> Result<User, BoxError> {
    Ok(User {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        hair_color: row.try_get(2)?,
    })
}

pub fn summarize_trivial(users: &[User]) -> Summary {
    let mut summary = Summary::default();
    for u in users {
        summary.user(u.id, &u.name, u.hair_color.as_deref());
    }
    summary
}

pub fn summarize_medium(rows: &[UserWithPost]) -> Summary {
    let mut summary = Summary::default();
    for r in rows {
        summary.user(r.id, &r.name, Some(&r.hair_color));
        if let (Some(id), Some(user_id), Some(title), Some(tags)) =
            (r.post_id, r.user_id, &r.title, &r.tags)
        {
            summary.post(
                id,
                user_id,
                title,
                r.body.as_deref(),
                tags,
                r.nullable_tags.as_deref(),
            );
        }
    }
    summary
}

pub fn summarize_associations(users: &[UserWithPosts]) -> Summary {
    let mut summary = Summary::default();
    for u in users {
        summary.user(u.id, &u.name, u.hair_color.as_deref());
        for p in &u.posts {
            summary.post(
                p.id,
                p.user_id,
                &p.title,
                p.body.as_deref(),
                &p.tags,
                p.nullable_tags.as_deref(),
            );
            for c in &p.comments {
                summary.comment(c.id, c.post_id, &c.text);
            }
        }
    }
    summary
}

//! sqlx 0.8: `query_as` with `#[derive(FromRow)]` (columns decoded by name,
//! as the derive does), on one `PgConnection` whose statement cache prepares
//! each statement once. The SQL is the hand-written version's; inserts use
//! `QueryBuilder::push_values` (multi-row `VALUES`), sqlx's batch insert.
//!
//! The connection sits behind an async mutex because sqlx executes on
//! `&mut PgConnection` and criterion's closures may not hand out a `&mut`
//! into each iteration's future; uncontended, the lock costs nanoseconds.

use std::collections::HashMap;

use quarry_bench::BoxError;
use sqlx::{Connection, FromRow, PgConnection, Postgres, QueryBuilder};
use tokio::sync::Mutex;

use crate::hand_written::{ALL_USERS, COMMENTS_BY_POST, POSTS_BY_USER, USERS_WITH_POSTS};
use crate::summary::Summary;

#[derive(Debug, FromRow)]
pub struct User {
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
}

#[derive(Debug, FromRow)]
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

#[derive(Debug, FromRow)]
pub struct UserWithPosts {
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
    #[sqlx(skip)]
    pub posts: Vec<Post>,
}

#[derive(Debug, FromRow)]
pub struct Post {
    pub id: i32,
    pub user_id: i32,
    pub title: String,
    pub body: Option<String>,
    pub tags: Vec<String>,
    pub nullable_tags: Option<Vec<String>>,
    #[sqlx(skip)]
    pub comments: Vec<Comment>,
}

#[derive(Debug, FromRow)]
pub struct Comment {
    pub id: i32,
    pub post_id: i32,
    pub text: String,
}

pub struct Sqlx {
    conn: Mutex<PgConnection>,
}

impl Sqlx {
    pub async fn connect(url: &str) -> Result<Self, BoxError> {
        Ok(Self {
            conn: Mutex::new(PgConnection::connect(url).await?),
        })
    }

    pub async fn trivial(&self) -> Result<Vec<User>, BoxError> {
        let mut conn = self.conn.lock().await;
        Ok(sqlx::query_as::<_, User>(ALL_USERS)
            .fetch_all(&mut *conn)
            .await?)
    }

    pub async fn medium(&self, hair_color: &str) -> Result<Vec<UserWithPost>, BoxError> {
        let mut conn = self.conn.lock().await;
        Ok(sqlx::query_as::<_, UserWithPost>(USERS_WITH_POSTS)
            .bind(hair_color)
            .fetch_all(&mut *conn)
            .await?)
    }

    pub async fn insert(&self, names: &[&str], hair_colors: &[&str]) -> Result<u64, BoxError> {
        let mut builder: QueryBuilder<'_, Postgres> =
            QueryBuilder::new("INSERT INTO users (name, hair_color) ");
        builder.push_values(
            names.iter().zip(hair_colors),
            |mut row, (name, hair_color)| {
                row.push_bind(*name).push_bind(*hair_color);
            },
        );
        let mut conn = self.conn.lock().await;
        Ok(builder.build().execute(&mut *conn).await?.rows_affected())
    }

    pub async fn associations(&self) -> Result<Vec<UserWithPosts>, BoxError> {
        let mut conn = self.conn.lock().await;
        let mut users = sqlx::query_as::<_, UserWithPosts>(ALL_USERS)
            .fetch_all(&mut *conn)
            .await?;
        let user_ids: Vec<i32> = users.iter().map(|user| user.id).collect();
        let posts = sqlx::query_as::<_, Post>(POSTS_BY_USER)
            .bind(&user_ids[..])
            .fetch_all(&mut *conn)
            .await?;
        let post_ids: Vec<i32> = posts.iter().map(|post| post.id).collect();
        let comment_rows = sqlx::query_as::<_, Comment>(COMMENTS_BY_POST)
            .bind(&post_ids[..])
            .fetch_all(&mut *conn)
            .await?;
        drop(conn);

        let mut comments: HashMap<i32, Vec<Comment>> = HashMap::with_capacity(post_ids.len());
        for comment in comment_rows {
            comments.entry(comment.post_id).or_default().push(comment);
        }
        let mut posts_by_user: HashMap<i32, Vec<Post>> = HashMap::with_capacity(user_ids.len());
        for mut post in posts {
            post.comments = comments.remove(&post.id).unwrap_or_default();
            posts_by_user.entry(post.user_id).or_default().push(post);
        }
        for user in &mut users {
            user.posts = posts_by_user.remove(&user.id).unwrap_or_default();
        }
        Ok(users)
    }
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

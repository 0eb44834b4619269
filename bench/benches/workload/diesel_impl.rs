//! diesel 2 (synchronous `PgConnection` over libpq): the query DSL, as the
//! diesel benchmark suite writes each scenario — `load` into `Queryable`
//! structs, a `left_outer_join` into `(User, Option<Post>)`, a multi-row
//! `insert_into(…).values(&Vec<_>)`, and `belonging_to` + `grouped_by` for
//! the associations. diesel caches the prepared statements of these queries
//! on the connection.

use diesel::prelude::*;
use quarry_bench::BoxError;

use crate::summary::Summary;

pub mod schema {
    diesel::table! {
        users (id) {
            id -> Int4,
            name -> Varchar,
            hair_color -> Nullable<Varchar>,
        }
    }

    diesel::table! {
        posts (id) {
            id -> Int4,
            user_id -> Int4,
            title -> Varchar,
            body -> Nullable<Text>,
            tags -> Array<Text>,
            nullable_tags -> Nullable<Array<Varchar>>,
        }
    }

    diesel::table! {
        comments (id) {
            id -> Int4,
            post_id -> Int4,
            text -> Text,
        }
    }

    diesel::joinable!(posts -> users (user_id));
    diesel::joinable!(comments -> posts (post_id));
    diesel::allow_tables_to_appear_in_same_query!(users, posts, comments);
}

use schema::{comments, posts, users};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i32,
    pub name: String,
    pub hair_color: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = posts, belongs_to(User))]
pub struct Post {
    pub id: i32,
    pub user_id: i32,
    pub title: String,
    pub body: Option<String>,
    pub tags: Vec<String>,
    pub nullable_tags: Option<Vec<String>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = comments, belongs_to(Post))]
pub struct Comment {
    pub id: i32,
    pub post_id: i32,
    pub text: String,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub hair_color: Option<&'a str>,
}

/// Users with their posts, each with its comments, as diesel groups them.
pub type UserWithPosts = (User, Vec<(Post, Vec<Comment>)>);

pub fn connect(url: &str) -> Result<PgConnection, BoxError> {
    Ok(PgConnection::establish(url)?)
}

pub fn trivial(conn: &mut PgConnection) -> QueryResult<Vec<User>> {
    users::table.load::<User>(conn)
}

pub fn medium(conn: &mut PgConnection, hair_color: &str) -> QueryResult<Vec<(User, Option<Post>)>> {
    users::table
        .left_outer_join(posts::table)
        .filter(users::hair_color.eq(hair_color))
        .load::<(User, Option<Post>)>(conn)
}

pub fn insert(conn: &mut PgConnection, names: &[&str], hair_colors: &[&str]) -> QueryResult<usize> {
    let rows: Vec<NewUser<'_>> = names
        .iter()
        .zip(hair_colors)
        .map(|(name, hair_color)| NewUser {
            name,
            hair_color: Some(hair_color),
        })
        .collect();
    diesel::insert_into(users::table)
        .values(&rows)
        .execute(conn)
}

pub fn associations(conn: &mut PgConnection) -> QueryResult<Vec<UserWithPosts>> {
    let users = users::table.load::<User>(conn)?;
    let posts = Post::belonging_to(&users).load::<Post>(conn)?;
    let comments = Comment::belonging_to(&posts).load::<Comment>(conn)?;
    let comments = comments.grouped_by(&posts);
    let posts_and_comments = posts.into_iter().zip(comments).grouped_by(&users);
    Ok(users.into_iter().zip(posts_and_comments).collect())
}

pub fn summarize_trivial(users: &[User]) -> Summary {
    let mut summary = Summary::default();
    for u in users {
        summary.user(u.id, &u.name, u.hair_color.as_deref());
    }
    summary
}

pub fn summarize_medium(rows: &[(User, Option<Post>)]) -> Summary {
    let mut summary = Summary::default();
    for (u, post) in rows {
        summary.user(u.id, &u.name, u.hair_color.as_deref());
        if let Some(p) = post {
            summary.post(
                p.id,
                p.user_id,
                &p.title,
                p.body.as_deref(),
                &p.tags,
                p.nullable_tags.as_deref(),
            );
        }
    }
    summary
}

pub fn summarize_associations(users: &[UserWithPosts]) -> Summary {
    let mut summary = Summary::default();
    for (u, posts) in users {
        summary.user(u.id, &u.name, u.hair_color.as_deref());
        for (p, comments) in posts {
            summary.post(
                p.id,
                p.user_id,
                &p.title,
                p.body.as_deref(),
                &p.tags,
                p.nullable_tags.as_deref(),
            );
            for c in comments {
                summary.comment(c.id, c.post_id, &c.text);
            }
        }
    }
    summary
}

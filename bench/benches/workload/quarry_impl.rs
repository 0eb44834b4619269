//! Quarry: the generated functions of `bench/src/generated/bench.rs`, run on
//! one connection checked out of a `quarry::Pool` (its statement cache
//! prepares each statement once).

use quarry::PooledConnection;
use quarry_bench::generated::bench;

use crate::summary::Summary;

/// Every user (`trivial_query`).
pub async fn trivial(conn: &PooledConnection) -> Result<Vec<bench::AllUsersRow>, quarry::Error> {
    bench::all_users(conn).await
}

/// Users of one hair colour with their posts (`medium_complex_query`).
pub async fn medium(
    conn: &PooledConnection,
    hair_color: &str,
) -> Result<Vec<bench::UsersWithPostsByHairColorRow>, quarry::Error> {
    bench::users_with_posts_by_hair_color(conn, hair_color).await
}

/// One `INSERT … SELECT * FROM unnest(:names, :hair_colors)` (`insert`).
pub async fn insert(
    conn: &PooledConnection,
    names: &[&str],
    hair_colors: &[&str],
) -> Result<u64, quarry::Error> {
    bench::insert_users(conn, names, hair_colors).await
}

/// Users → posts → comments by prefetch (`loading_associations`).
pub async fn associations(
    conn: &PooledConnection,
) -> Result<Vec<bench::AllUsersWithPostsRow>, quarry::Error> {
    bench::all_users_with_posts(conn).await
}

/// A user with its posts, each with its comments, as the naive loop loads them.
pub type NaiveUser = (
    bench::AllUsersRow,
    Vec<(bench::PostsOfUserRow, Vec<bench::CommentsOfPostRow>)>,
);

/// The N+1 shape prefetching replaces: the users, then one statement per
/// user for its posts and one per post for its comments (1 + 100 + 1,000
/// statements).
pub async fn naive_loop(conn: &PooledConnection) -> Result<Vec<NaiveUser>, quarry::Error> {
    let users = bench::all_users(conn).await?;
    let mut loaded = Vec::with_capacity(users.len());
    for user in users {
        let posts = bench::posts_of_user(conn, user.id).await?;
        let mut with_comments = Vec::with_capacity(posts.len());
        for post in posts {
            let comments = bench::comments_of_post(conn, post.id).await?;
            with_comments.push((post, comments));
        }
        loaded.push((user, with_comments));
    }
    Ok(loaded)
}

pub fn summarize_trivial(users: &[bench::AllUsersRow]) -> Summary {
    let mut summary = Summary::default();
    for u in users {
        summary.user(u.id, &u.name, u.hair_color.as_deref());
    }
    summary
}

pub fn summarize_medium(rows: &[bench::UsersWithPostsByHairColorRow]) -> Summary {
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

pub fn summarize_associations(users: &[bench::AllUsersWithPostsRow]) -> Summary {
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

pub fn summarize_naive(users: &[NaiveUser]) -> Summary {
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

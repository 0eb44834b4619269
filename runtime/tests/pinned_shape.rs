//! The shape of generated prefetch code: pin the executor to one connection,
//! then run sibling relation loads concurrently on it. It must compile for
//! every executor, nest (a loader that pins again gets the same connection)
//! and produce `Send` futures. Nothing here needs a database.

use quarry::Executor;

#[derive(Debug)]
pub struct PostRow {
    pub id: i64,
    pub author_id: i64,
}

impl quarry::FromRow for PostRow {
    fn from_row(row: &quarry::Row) -> Result<Self, quarry::DecodeError> {
        Ok(Self {
            id: quarry::decode(row, 0, "id")?,
            author_id: quarry::decode(row, 1, "author_id")?,
        })
    }
}

#[derive(Debug)]
pub struct IdRow {
    pub id: i64,
}

impl quarry::FromRow for IdRow {
    fn from_row(row: &quarry::Row) -> Result<Self, quarry::DecodeError> {
        Ok(Self {
            id: quarry::decode(row, 0, "id")?,
        })
    }
}

const LIST_POSTS: quarry::Query =
    quarry::Query::new("ListPosts", "SELECT id, author_id FROM posts LIMIT $1");
const COMMENTS_BY_POST: quarry::Query = quarry::Query::new(
    "CommentsByPost",
    "SELECT id FROM comments WHERE post_id = ANY($1)",
);
const AUTHORS_BY_ID: quarry::Query =
    quarry::Query::new("AuthorsById", "SELECT id FROM authors WHERE id = ANY($1)");

/// A loader with a nested relation of its own: it pins too.
pub async fn comments_by_post<E: quarry::Executor + ?Sized>(
    db: &E,
    post_ids: &[i64],
) -> Result<Vec<IdRow>, quarry::Error> {
    let conn = db.pin(&COMMENTS_BY_POST).await?;
    let conn = &conn;
    let comments: Vec<IdRow> = quarry::fetch_all(conn, &COMMENTS_BY_POST, &[&post_ids]).await?;
    let ids: Vec<i64> = comments.iter().map(|c| c.id).collect();
    let (_nested, _other) =
        quarry::futures_util::try_join!(authors_by_id(conn, &ids), authors_by_id(conn, &ids))?;
    Ok(comments)
}

pub async fn authors_by_id<E: quarry::Executor + ?Sized>(
    db: &E,
    ids: &[i64],
) -> Result<Vec<IdRow>, quarry::Error> {
    quarry::fetch_all(db, &AUTHORS_BY_ID, &[&ids]).await
}

/// The parent: 1 statement, then its two relations pipelined on the same
/// connection.
pub async fn list_posts_with_relations<E: quarry::Executor + ?Sized>(
    db: &E,
    limit: i64,
) -> Result<(Vec<PostRow>, Vec<IdRow>, Vec<IdRow>), quarry::Error> {
    let conn = db.pin(&LIST_POSTS).await?;
    let conn = &conn;
    let posts: Vec<PostRow> = quarry::fetch_all(conn, &LIST_POSTS, &[&limit]).await?;
    let post_ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    let author_ids: Vec<i64> = posts.iter().map(|p| p.author_id).collect();
    let (comments, authors) = quarry::futures_util::try_join!(
        comments_by_post(conn, &post_ids),
        authors_by_id(conn, &author_ids),
    )?;
    Ok((posts, comments, authors))
}

fn assert_send<T: Send>(_: T) {}

fn pinned_futures_are_send<E: quarry::Executor + ?Sized>(db: &E) {
    assert_send(list_posts_with_relations(db, 10));
    assert_send(comments_by_post(db, &[1]));
    assert_send(db.pin(&LIST_POSTS));
}

/// Never called: only type-checked.
#[allow(dead_code, clippy::too_many_arguments)]
fn pinning_compiles_and_is_send_for_every_executor(
    pool: &quarry::Pool,
    pooled: &quarry::PooledConnection,
    object: &quarry::deadpool_postgres::Object,
    wrapper: &quarry::deadpool_postgres::ClientWrapper,
    pooled_tx: &quarry::deadpool_postgres::Transaction<'_>,
    client: &quarry::tokio_postgres::Client,
    tx: &quarry::tokio_postgres::Transaction<'_>,
    boxed: Box<quarry::Pool>,
) {
    pinned_futures_are_send(pool);
    pinned_futures_are_send(pooled);
    pinned_futures_are_send(object);
    pinned_futures_are_send(wrapper);
    pinned_futures_are_send(pooled_tx);
    pinned_futures_are_send(client);
    pinned_futures_are_send(tx);
    pinned_futures_are_send(&pool);
    pinned_futures_are_send(&boxed);
    // Concretely, as the brief's three.
    assert_send(list_posts_with_relations(pool, 10));
    assert_send(list_posts_with_relations(client, 10));
    assert_send(list_posts_with_relations(object, 10));
    // A pool's future can be spawned.
    let pool = pool.clone();
    assert_send(async move { list_posts_with_relations(&pool, 10).await });
}

/// A pinned executor can be kept and reused, for any executor.
#[allow(dead_code)]
async fn pinned_executor_is_reusable<E: quarry::Executor + ?Sized>(
    db: &E,
) -> Result<usize, quarry::Error> {
    let conn = db.pin(&LIST_POSTS).await?;
    let first = authors_by_id(&conn, &[1]).await?;
    // Pinning a pinned executor stays on the same connection.
    let again = conn.pin(&LIST_POSTS).await?;
    let second = authors_by_id(&again, &[2]).await?;
    Ok(first.len() + second.len())
}

#[tokio::test]
async fn pinning_a_pool_that_cannot_connect_names_the_query() {
    let pool = quarry::Pool::connect("postgres://app@127.0.0.1:1/app");
    assert!(pool.is_ok());
    if let Ok(pool) = pool {
        let handle = tokio::spawn(async move { list_posts_with_relations(&pool, 1).await });
        let result = handle.await;
        assert!(
            matches!(
                result,
                Ok(Err(quarry::Error::Pool {
                    query: "ListPosts",
                    ..
                }))
            ),
            "{result:?}"
        );
    }
}

//! Code shaped like the generator's output, written against the public API
//! only: it must compile, and the futures of generated functions must be
//! `Send` for every executor (so they can be spawned on a multi-threaded
//! runtime). Nothing here needs a database.

use quarry::chrono::{DateTime, Utc};

/// What the generator emits for `CREATE TYPE post_status AS ENUM (...)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostStatus {
    Draft,
    Published,
}

impl PostStatus {
    fn label(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
        }
    }
}

impl<'a> quarry::types::FromSql<'a> for PostStatus {
    fn from_sql(
        _ty: &quarry::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        match raw {
            b"draft" => Ok(Self::Draft),
            b"published" => Ok(Self::Published),
            _ => Err(Box::new(quarry::types::UnknownEnumLabel {
                type_name: "post_status",
                label: String::from_utf8_lossy(raw).into_owned(),
            })),
        }
    }

    fn accepts(ty: &quarry::types::Type) -> bool {
        ty.name() == "post_status" && matches!(ty.kind(), quarry::types::Kind::Enum(_))
    }
}

impl quarry::types::ToSql for PostStatus {
    fn to_sql(
        &self,
        _ty: &quarry::types::Type,
        out: &mut quarry::types::BytesMut,
    ) -> Result<quarry::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.label().as_bytes());
        Ok(quarry::types::IsNull::No)
    }

    fn accepts(ty: &quarry::types::Type) -> bool {
        ty.name() == "post_status" && matches!(ty.kind(), quarry::types::Kind::Enum(_))
    }

    quarry::types::to_sql_checked!();
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListPostsRow {
    pub id: i64,
    pub title: String,
    pub status: PostStatus,
    pub published_at: Option<DateTime<Utc>>,
}

impl quarry::FromRow for ListPostsRow {
    fn from_row(row: &quarry::Row) -> Result<Self, quarry::DecodeError> {
        Ok(Self {
            id: quarry::decode(row, 0, "id")?,
            title: quarry::decode(row, 1, "title")?,
            status: quarry::decode(row, 2, "status")?,
            published_at: quarry::decode(row, 3, "published_at")?,
        })
    }
}

/// Newest posts.
pub async fn list_posts<E: quarry::Executor + ?Sized>(
    db: &E,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ListPostsRow>, quarry::Error> {
    const QUERY: quarry::Query = quarry::Query::new(
        "ListPosts",
        "SELECT id, title, status, published_at FROM posts \
         WHERE published_at >= $1 ORDER BY published_at DESC LIMIT $2",
    );
    quarry::fetch_all(db, &QUERY, &[&since, &limit]).await
}

pub async fn get_post<E: quarry::Executor + ?Sized>(
    db: &E,
    id: i64,
) -> Result<ListPostsRow, quarry::Error> {
    const QUERY: quarry::Query = quarry::Query::new(
        "GetPost",
        "SELECT id, title, status, published_at FROM posts WHERE id = $1",
    );
    quarry::fetch_one(db, &QUERY, &[&id]).await
}

pub async fn find_post_by_title<E: quarry::Executor + ?Sized>(
    db: &E,
    title: &str,
) -> Result<Option<ListPostsRow>, quarry::Error> {
    const QUERY: quarry::Query = quarry::Query::new(
        "FindPostByTitle",
        "SELECT id, title, status, published_at FROM posts WHERE title = $1",
    );
    quarry::fetch_opt(db, &QUERY, &[&title]).await
}

pub async fn set_status<E: quarry::Executor + ?Sized>(
    db: &E,
    ids: &[i64],
    status: Option<PostStatus>,
) -> Result<u64, quarry::Error> {
    const QUERY: quarry::Query = quarry::Query::new(
        "SetStatus",
        "UPDATE posts SET status = $2 WHERE id = ANY($1)",
    );
    quarry::execute(db, &QUERY, &[&ids, &status]).await
}

fn assert_send<T: Send>(_: T) {}

/// Every generated function's future is `Send` for a given executor.
fn all_send<E: quarry::Executor + ?Sized>(db: &E) {
    assert_send(list_posts(db, Utc::now(), 10));
    assert_send(get_post(db, 1));
    assert_send(find_post_by_title(db, "hello"));
    assert_send(set_status(db, &[1, 2], Some(PostStatus::Draft)));
}

/// Never called: only type-checked.
#[allow(dead_code)]
fn futures_are_send_for_every_executor(
    pool: &quarry::Pool,
    object: &quarry::deadpool_postgres::Object,
    wrapper: &quarry::deadpool_postgres::ClientWrapper,
    pooled_tx: &quarry::deadpool_postgres::Transaction<'_>,
    client: &quarry::tokio_postgres::Client,
    tx: &quarry::tokio_postgres::Transaction<'_>,
    boxed: Box<quarry::Pool>,
) {
    all_send(pool);
    all_send(object);
    all_send(wrapper);
    all_send(pooled_tx);
    all_send(client);
    all_send(tx);
    all_send(&pool);
    all_send(&boxed);
    assert_send(list_posts(pool, Utc::now(), 10));
    assert_send(list_posts(client, Utc::now(), 10));
    assert_send(list_posts(object, Utc::now(), 10));
    // The pool's future can be spawned: it owns nothing borrowed from a stack
    // frame other than its arguments.
    let pool = pool.clone();
    let _spawnable = async move { list_posts(&pool, Utc::now(), 10).await };
    assert_send(_spawnable);
}

#[tokio::test]
async fn a_pool_future_can_be_spawned() {
    let pool = quarry::Pool::connect("postgres://app@127.0.0.1:1/app");
    assert!(pool.is_ok());
    if let Ok(pool) = pool {
        // Compiles only if the future is `Send + 'static`; the connection
        // attempt to port 1 fails, which is what we expect.
        let handle = tokio::spawn(async move { get_post(&pool, 1).await });
        let result = handle.await;
        assert!(
            matches!(
                result,
                Ok(Err(quarry::Error::Pool {
                    query: "GetPost",
                    ..
                }))
            ),
            "{result:?}"
        );
    }
}

//! The N+1 detector in a service, against a real PostgreSQL: with
//! `quarry::tower::NPlusOneLayer`, each request is one detector scope, so a
//! long-lived pooled connection shared by many requests is flagged per
//! request, never for the sum of the requests' statements.
//!
//! The detector's policy is process-wide: every test holds [`policy`] for
//! its whole run (only this file's tests run in this process).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use quarry::{NPlusOne, NPlusOneAction, PooledConnection, Query};
use quarry_tests::{n_plus_one_policy as policy, TestDb};
use tower_layer::Layer as _;
use tower_service::Service as _;

const GET_AUTHOR: Query = Query::new("GetAuthor", "SELECT name FROM authors WHERE id = $1");

/// A request handler: looks up authors `1..=n` one by one (an N+1 loop) on
/// one connection that outlives every request.
#[derive(Clone)]
struct Authors {
    conn: Arc<PooledConnection>,
}

impl tower_service::Service<i32> for Authors {
    type Response = Vec<String>;
    type Error = quarry::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Vec<String>, quarry::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), quarry::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, n: i32) -> Self::Future {
        let conn = Arc::clone(&self.conn);
        Box::pin(async move {
            let mut names = Vec::new();
            for id in 1..=n {
                let rows = quarry::Executor::query(&*conn, &GET_AUTHOR, &[&id]).await?;
                names.extend(rows.iter().map(|row| row.get::<_, String>(0)));
            }
            Ok(names)
        })
    }
}

/// Serves three requests of ten lookups each on one long-lived pooled
/// connection: what `on_flagged` saw per request, each response, and the
/// connection.
async fn three_requests(
    db: &TestDb,
) -> (
    Vec<Vec<NPlusOne>>,
    Vec<Result<usize, String>>,
    Arc<PooledConnection>,
) {
    db.client
        .batch_execute(
            "CREATE TABLE authors (id int4 PRIMARY KEY, name text NOT NULL);
             INSERT INTO authors SELECT g, 'author ' || g FROM generate_series(1, 10) g;",
        )
        .await
        .unwrap_or_else(|e| panic!("schema: {e}"));
    let pool = db.pool();
    let conn = Arc::new(pool.get().await.unwrap_or_else(|e| panic!("checkout: {e}")));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let mut service = quarry::tower::NPlusOneLayer::new()
        .on_flagged(move |flagged| {
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(flagged.to_vec())
        })
        .layer(Authors {
            conn: Arc::clone(&conn),
        });
    let mut responses = Vec::new();
    for _ in 0..3 {
        let response = service.call(10).await;
        responses.push(response.map(|names| names.len()).map_err(|e| e.to_string()));
    }
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    (seen, responses, conn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_flagged_once_on_its_own_count() {
    let _policy = policy(NPlusOneAction::Warn, 5).await;
    let db = TestDb::new("scopes_warn").await;
    let (seen, responses, conn) = three_requests(&db).await;
    assert_eq!(responses, [Ok(10), Ok(10), Ok(10)]);
    let once = vec![NPlusOne {
        query: "GetAuthor",
        count: 10,
    }];
    // Flagged once per request, at that request's count (10), not at the
    // connection's running total (10, 20, 30).
    assert_eq!(seen, [once.clone(), once.clone(), once]);
    assert!(conn.n_plus_one().is_empty(), "{:?}", conn.n_plus_one());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_shared_by_requests_is_not_flagged_for_their_sum() {
    // 30 lookups on one connection, 10 per request: under a threshold of 10
    // no request is flagged, and none is refused. (Before counting followed
    // the request, the connection's checkout counted all 30 and refused the
    // 11th.)
    let _policy = policy(NPlusOneAction::Error, 10).await;
    let db = TestDb::new("scopes_error").await;
    let (seen, responses, conn) = three_requests(&db).await;
    assert_eq!(responses, [Ok(10), Ok(10), Ok(10)]);
    assert!(seen.is_empty(), "{seen:?}");
    assert!(conn.n_plus_one().is_empty(), "{:?}", conn.n_plus_one());

    // Outside any request the connection is still a scope of its own.
    let mut refused = None;
    for id in 1..=11 {
        if let Err(error) = quarry::Executor::query(&*conn, &GET_AUTHOR, &[&id]).await {
            refused = Some((id, error.to_string()));
            break;
        }
    }
    assert!(
        matches!(&refused, Some((11, message)) if message.contains("N+1")),
        "{refused:?}"
    );
}

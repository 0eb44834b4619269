//! Parameterized relations against real PostgreSQL: a relation whose loader
//! takes a scalar parameter bound from the parent call
//! (`-- @prefetch reviews = ApprovedReviewsByBook(id, since = :since)`)
//! loads only the rows matching it, nested (the reviews' votes get the same
//! `since`), in exactly one statement per relation level whatever the row
//! count, streamed in chunks too, and equal to hand-written per-row queries
//! for several values, one of which filters everything out. The fixture's
//! generated code is committed in `relparams/db` and checked current here.

// Generated code is formatted by the generator (prettyplease), not rustfmt.
#[path = "relparams/db/mod.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod db;

use codegen::config::TypeConfig;
use quarry::chrono::NaiveDate;
use quarry::futures_util::TryStreamExt as _;
use quarry_tests::{check_committed_fixture, TestDb};

use db::relparams as q;

/// The generated code in `relparams/db` is current (`QUARRY_BLESS=1` rewrites it).
#[tokio::test]
async fn committed_fixture_code_is_current() {
    check_committed_fixture("relparams", TypeConfig::default()).await;
}

const SCHEMA: &str = include_str!("relparams/schema.sql");

/// 6 books (5 titled `Rust …`); reviews approved or not on dates through
/// January 2024; votes on them on dates through February.
const DATA: &str = "
INSERT INTO books (title) SELECT 'Rust ' || i FROM generate_series(1, 5) AS i;
INSERT INTO books (title) VALUES ('Go 1');
INSERT INTO reviews (book_id, approved, created_at, body)
SELECT b, (r % 3) <> 0, DATE '2024-01-01' + (b * 7 + r * 5) % 31, 'review ' || b || '.' || r
FROM generate_series(1, 6) AS b, generate_series(1, 4) AS r
WHERE b <> 2;
INSERT INTO votes (review_id, cast_on)
SELECT r.id, r.created_at + v * 3 FROM reviews r, generate_series(0, 3) AS v;
";

/// A book as `(id, title, [(review id, body, [vote ids])])`.
type Shape = (i64, String, Vec<(i64, String, Vec<i64>)>);

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn shape(books: &[q::ListBooksRow]) -> Vec<Shape> {
    books
        .iter()
        .map(|book| {
            let reviews = book
                .reviews
                .iter()
                .map(|r| (r.id, r.body.clone(), r.votes.iter().map(|v| v.id).collect()))
                .collect();
            (book.id, book.title.clone(), reviews)
        })
        .collect()
}

/// The reference: one hand-written query per book and per review.
async fn reference(db: &TestDb, prefix: &str, since: NaiveDate) -> Vec<Shape> {
    let client = &db.client;
    let books = client
        .query(
            "SELECT id, title FROM books WHERE title LIKE $1 || '%' ORDER BY id",
            &[&prefix],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for book in books {
        let id: i64 = book.get(0);
        let reviews = client
            .query(
                "SELECT id, body FROM reviews WHERE book_id = $1 AND approved AND created_at >= $2 ORDER BY id",
                &[&id, &since],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut shaped = Vec::new();
        for review in reviews {
            let review_id: i64 = review.get(0);
            let votes = client
                .query(
                    "SELECT id FROM votes WHERE review_id = $1 AND cast_on >= $2 ORDER BY id",
                    &[&review_id, &since],
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            shaped.push((
                review_id,
                review.get(1),
                votes.iter().map(|v| v.get(0)).collect(),
            ));
        }
        out.push((id, book.get(1), shaped));
    }
    out
}

#[tokio::test]
async fn the_relation_loads_only_rows_matching_the_parent_parameter_in_one_statement_per_level() {
    let db = TestDb::new("relparams").await;
    db.client
        .batch_execute(SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.client
        .batch_execute(DATA)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pool = db.pool();
    let all_reviews: i64 = db
        .client
        .query_one("SELECT count(*) FROM reviews WHERE approved", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    let mut seen_counts = Vec::new();
    for since in ["2023-12-01", "2024-01-15", "2024-01-28", "2030-01-01"] {
        let since = date(since);
        let (books, log) = quarry::record(q::list_books(&pool, "Rust", since)).await;
        let books = books.unwrap_or_else(|e| panic!("{e}"));
        let got = shape(&books);
        assert_eq!(got, reference(&db, "Rust", since).await, "since {since}");
        assert_eq!(books.len(), 5);
        let reviews: usize = got.iter().map(|b| b.2.len()).sum();
        seen_counts.push(reviews);
        // 1 + k: the parent, one statement for every book's reviews, and one
        // for every review's votes (none when there is no review to key it).
        assert_eq!(log.count("ListBooks"), 1, "{:?}", log.names());
        assert_eq!(log.count("ApprovedReviewsByBook"), 1, "{:?}", log.names());
        assert_eq!(log.count("VotesByReview"), usize::from(reviews > 0));
        log.assert_count(2 + usize::from(reviews > 0));
        // Every review and vote is on or after `since`.
        for book in &books {
            for review in &book.reviews {
                assert!(review.created_at >= since);
                assert!(review.votes.iter().all(|v| v.cast_on >= since));
            }
        }
    }
    // The values filter: everything, some, fewer, nothing.
    assert_eq!(
        seen_counts[0] as i64,
        all_reviews - 3,
        "book 6 is not `Rust …`; book 2 has none"
    );
    assert!(seen_counts[0] > seen_counts[1] && seen_counts[1] > seen_counts[2]);
    assert!(seen_counts[2] > 0);
    assert_eq!(seen_counts[3], 0);
}

#[tokio::test]
async fn the_bound_parameter_can_be_the_parents_own_and_streams_pass_it_to_every_chunk() {
    let db = TestDb::new("relparams_stream").await;
    db.client
        .batch_execute(SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.client
        .batch_execute(DATA)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pool = db.pool();
    for since in ["2023-12-01", "2024-01-20", "2030-01-01"] {
        let since = date(since);
        let expected = reference(&db, "Rust", since).await;
        // Chunks of 2 parents: 3 chunks for 5 books, each with its own
        // reviews statement, all with the same `since`.
        let (streamed, log) =
            quarry::record(q::list_books_stream(&pool, "Rust", since).try_collect::<Vec<_>>())
                .await;
        let streamed = streamed.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(shape(&streamed), expected, "stream, since {since}");
        assert_eq!(log.count("ApprovedReviewsByBook"), 3, "{:?}", log.names());
        // The parent's own `:since` (in its SQL) is the one passed on.
        let (books, log) = quarry::record(q::books_reviewed_since(&pool, since)).await;
        let books = books.unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<i64> = books.iter().map(|b| b.id).collect();
        for book in &books {
            let reference = expected
                .iter()
                .chain(reference(&db, "Go", since).await.iter())
                .find(|b| b.0 == book.id)
                .cloned();
            let reviews: Vec<i64> = book.reviews.iter().map(|r| r.id).collect();
            let want: Vec<i64> = reference
                .map(|b| b.2.iter().map(|r| r.0).collect())
                .unwrap_or_default();
            assert_eq!(reviews, want, "book {}", book.id);
        }
        assert_eq!(
            log.count("ApprovedReviewsByBook"),
            usize::from(!ids.is_empty())
        );
        assert_eq!(log.count("BooksReviewedSince"), 1);
    }
}

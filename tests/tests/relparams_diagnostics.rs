//! Mistakes in a parameterized relation's bindings
//! (`-- @prefetch reviews = Loader(id, since = :since)`) are diagnostics
//! at the binding, with `file:line:col`, a caret and a help line.

use quarry_tests::generate_fixture;

const SCHEMA: &str = "
CREATE TABLE books (id bigserial PRIMARY KEY, title text NOT NULL);
CREATE TABLE reviews (
    id bigserial PRIMARY KEY,
    book_id bigint NOT NULL REFERENCES books (id),
    approved boolean NOT NULL,
    created_at date NOT NULL
);
";

const LOADER: &str = "-- name: ApprovedReviewsByBook :many
-- @key book_id
SELECT r.id, r.book_id FROM reviews r
WHERE r.book_id = ANY(:book_ids) AND r.approved AND r.created_at >= :since;
";

/// The one error of `LOADER` + `sql`, rendered.
async fn rendered(sql: &str) -> String {
    let text = format!("{LOADER}\n{sql}");
    let error = match generate_fixture("books.sql", text.as_bytes(), SCHEMA).await {
        Ok(_) => panic!("expected diagnostics for:\n{sql}"),
        Err(error) => error,
    };
    let codegen::Error::Diagnostics(diagnostics) = error else {
        panic!("expected diagnostics, got {error}");
    };
    let errors: Vec<String> = diagnostics
        .0
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.render())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let error = errors[0].clone();
    assert!(error.contains('^') && error.contains("help"), "{error}");
    error
}

fn parent(prefetch: &str, where_clause: &str) -> String {
    format!("-- name: ListBooks :many\n-- @prefetch {prefetch}\nSELECT b.id FROM books b{where_clause};\n")
}

#[tokio::test]
async fn unknown_loader_parameter() {
    let error = rendered(&parent(
        "reviews = ApprovedReviewsByBook(id, snice = :since)",
        "",
    ))
    .await;
    assert!(
        error.contains("unknown parameter `snice` of loader `ApprovedReviewsByBook`"),
        "{error}"
    );
    assert!(error.contains("books.sql:7:50"), "{error}");
    assert!(
        error.contains("parameters of `ApprovedReviewsByBook` to bind: `since`"),
        "{error}"
    );
}

#[tokio::test]
async fn missing_loader_parameter() {
    let error = rendered(&parent("reviews = ApprovedReviewsByBook(id)", "")).await;
    assert!(error.contains("loader `ApprovedReviewsByBook` takes parameter `since` which this relation does not bind"), "{error}");
    assert!(error.contains("books.sql:7:24"), "{error}");
    assert!(
        error.contains("`ApprovedReviewsByBook(…, since = :since)`"),
        "{error}"
    );
}

#[tokio::test]
async fn type_mismatch_with_the_parents_parameter() {
    let error = rendered(&parent(
        "reviews = ApprovedReviewsByBook(id, since = :since)",
        " WHERE b.title > :since",
    ))
    .await;
    assert!(error.contains("type mismatch: parameter `since` of `ListBooks` is `text` but parameter `since` of loader `ApprovedReviewsByBook` is `date`"), "{error}");
    assert!(error.contains("books.sql:7:58"), "{error}");
}

#[tokio::test]
async fn parameter_bound_twice() {
    let error = rendered(&parent(
        "reviews = ApprovedReviewsByBook(id, since = :since, since = :from)",
        "",
    ))
    .await;
    assert!(
        error.contains("loader parameter `since` bound twice"),
        "{error}"
    );
    assert!(error.contains("books.sql:7:66"), "{error}");
    assert!(error.contains("it is first bound at 7:50"), "{error}");
}

#[tokio::test]
async fn binding_the_key_parameter() {
    let error = rendered(&parent(
        "reviews = ApprovedReviewsByBook(id, book_ids = :ids, since = :since)",
        "",
    ))
    .await;
    assert!(
        error.contains("`book_ids` is the key array of loader `ApprovedReviewsByBook`"),
        "{error}"
    );
    assert!(error.contains("books.sql:7:50"), "{error}");
}

#[tokio::test]
async fn a_bare_name_is_not_a_binding() {
    let error = rendered(&parent(
        "reviews = ApprovedReviewsByBook(id, since = since)",
        "",
    ))
    .await;
    assert!(error.contains("must be written `name = :param`"), "{error}");
    assert!(error.contains("write `since = :since`"), "{error}");
}

#[tokio::test]
async fn binding_a_parameter_of_an_optional_block() {
    let error = rendered(&parent(
        "reviews = ApprovedReviewsByBook(id, since = :since)",
        " WHERE true /*? AND b.id > (SELECT count(*) FROM reviews WHERE created_at >= :since) */",
    ))
    .await;
    assert!(
        error.contains("`:since` is a parameter of an optional block of `ListBooks`"),
        "{error}"
    );
    assert!(error.contains("books.sql:7:58"), "{error}");
    assert!(
        error.contains("the block is at queries/books.sql:8:37"),
        "{error}"
    );
}

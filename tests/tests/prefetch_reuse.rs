//! A `@prefetch` derived from a foreign key reuses the user's loader when the
//! user already wrote the very loader derivation would write (same statement,
//! whatever its layout, same key and kind): one loader function in the
//! output, and the relation loads through it.

use quarry_tests::generate_fixture;

const SCHEMA: &str = "
CREATE TABLE authors (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors (id),
    title text NOT NULL
);
";

const POSTS: &str = "
-- name: ListPosts :many
-- @prefetch author
SELECT p.id, p.author_id, p.title FROM posts p ORDER BY p.id;
";

/// The generated module of `loader` + [`POSTS`].
async fn generated(loader: &str) -> String {
    let text = format!("{loader}\n{POSTS}");
    let output = generate_fixture("blog.sql", text.as_bytes(), SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    output
        .files
        .get(std::path::Path::new("blog.rs"))
        .cloned()
        .unwrap_or_else(|| panic!("no blog.rs"))
}

#[tokio::test]
async fn the_users_loader_is_reused_instead_of_derived_twice() {
    // What derivation writes for `author` (posts.author_id → authors.id), laid out differently.
    let loader = "
-- name: AuthorsById :one
-- @key id
select t.id, t.name
  from authors t
 where t.id = any(:ids);
";
    let code = generated(loader).await;
    // `<` after the name: not `authors_by_id_with`, the params form.
    assert_eq!(
        code.matches("pub async fn authors_by_id<").count(),
        1,
        "one loader:\n{code}"
    );
    assert!(!code.contains("Loader derived"), "{code}");
    assert!(!code.contains("authors_by_id2"), "{code}");
    assert!(
        code.contains("author.load(authors_by_id_distinct(db, author.keys()))"),
        "the relation loads through the user's loader:\n{code}"
    );
    assert!(code.contains("pub author: AuthorsByIdRow,"), "{code}");
    assert!(
        code.contains("author: author.take_required(&parent, \"AuthorsById\")?,"),
        "a NOT NULL foreign key stays a required to-one:\n{code}"
    );
}

#[tokio::test]
async fn a_loader_that_differs_is_not_reused() {
    // Same table and key, but a filter: not what derivation would write.
    let loader = "
-- name: AuthorsById :one
-- @key id
SELECT t.id, t.name FROM authors t WHERE t.id = ANY(:ids) AND t.name <> '';
";
    let code = generated(loader).await;
    assert!(code.contains("Loader derived"), "{code}");
    assert!(
        code.contains("author.load(authors_by_id2_distinct(db, author.keys()))"),
        "{code}"
    );
    for loader in ["authors_by_id<", "authors_by_id2<"] {
        assert_eq!(
            code.matches(&format!("pub async fn {loader}")).count(),
            1,
            "{code}"
        );
    }
}

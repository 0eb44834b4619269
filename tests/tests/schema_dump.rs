//! Schema files written by `pg_dump`. A database with a schema of every
//! common kind of object (an enum, a domain, serial and identity columns,
//! keys, foreign keys, plain and expression indexes, a view, a materialized
//! view, plpgsql functions in dollar quotes, a trigger, a second schema, a
//! comment) owned by and granted to a role is dumped by the real `pg_dump`
//! (schema only, and with its data); the role is then dropped, as it is
//! absent from any scratch server. Each dump must load through
//! `codegen::apply_schema` into a fresh database whose catalog equals the
//! source's (owners and privileges aside), leave the session's
//! `search_path` usable, and generate queries that name tables unqualified.
//! A PostgreSQL 17 dump's preamble, errors after skipped `COPY` data, and
//! files that are both schema and sqlc queries are covered too.

use std::path::PathBuf;
use std::process::Command;

use codegen::config::TypeConfig;
use codegen::{Dialect, SourceFile};
use quarry_tests::{generate_fixture_with, server, text, TestDb};

/// The source schema; `{role}` is the role that owns and is granted things.
const SOURCE: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE SCHEMA extra;
CREATE TABLE authors (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    mood mood NOT NULL DEFAULT 'ok',
    rating positive
);
CREATE TABLE books (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    title text NOT NULL,
    isbn text UNIQUE,
    published date
);
CREATE INDEX books_author_id ON books (author_id);
CREATE INDEX books_lower_title ON books (lower(title)) WHERE published IS NOT NULL;
CREATE TABLE extra.tags (
    book_id integer REFERENCES books (id),
    tag text NOT NULL,
    PRIMARY KEY (book_id, tag)
);
CREATE VIEW author_books AS
    SELECT a.id, a.name, count(b.id) AS books
    FROM authors a LEFT JOIN books b ON b.author_id = a.id
    GROUP BY a.id;
CREATE MATERIALIZED VIEW moods AS SELECT mood, count(*) AS n FROM authors GROUP BY mood;
CREATE FUNCTION shout(s text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $body$
BEGIN
    -- a ; inside the body, and $$ too
    RETURN upper(s) || '!';
END
$body$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.title := trim(NEW.title); RETURN NEW; END
$$;
CREATE TRIGGER books_touch BEFORE INSERT ON books FOR EACH ROW EXECUTE FUNCTION touch();
COMMENT ON TABLE authors IS 'People who write; with a quote '' here';
ALTER TABLE authors OWNER TO {role};
ALTER FUNCTION shout(text) OWNER TO {role};
GRANT SELECT ON books TO {role};
GRANT USAGE ON SCHEMA extra TO {role};
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO {role};
INSERT INTO authors (name) VALUES ('Ann'), ('Bob');
INSERT INTO books (author_id, title, published)
VALUES (1, 'a; b', '2020-01-01'), (2, E'line\nbreak \\. ''quoted''', NULL);
"#;

const QUERIES: &str = "\
-- name: BooksByAuthor :many
SELECT b.id, b.title, shout(a.name) AS loud, a.mood
FROM books b JOIN authors a ON a.id = b.author_id
WHERE a.id = :author_id ORDER BY b.id;

-- name: AuthorBooks :many
SELECT id, name, books FROM author_books ORDER BY id;

-- name: Tags :many
SELECT tag FROM extra.tags WHERE book_id = :book_id;
";

/// The `pg_dump` of the server's version: `QUARRY_PG_BIN`'s, else the
/// newest under `/usr/lib/postgresql`, else the one on `PATH`.
fn pg_dump_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("QUARRY_PG_BIN").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("pg_dump");
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin/pg_dump");
            bin.is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => PathBuf::from("pg_dump"),
    }
}

/// `pg_dump` of database `url` with `args`: the script it writes.
fn pg_dump(url: &str, args: &[&str]) -> String {
    let output = Command::new(pg_dump_bin())
        .args(args)
        .arg("--dbname")
        .arg(url)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "run {}: {e} (pg_dump is in the Debian package postgresql-client, which .ci/run installs)",
                pg_dump_bin().display()
            )
        });
    assert!(
        output.status.success(),
        "pg_dump failed: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Everything about the schemas `public` and `extra` a query's
/// description can depend on, one line per fact, sorted.
const CATALOG_SQL: &str = "
WITH ns AS (SELECT oid, nspname FROM pg_namespace WHERE nspname IN ('public', 'extra'))
SELECT format('relation %s %s.%s', c.relkind, ns.nspname, c.relname)
FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
UNION ALL
SELECT format('column %s.%s %s not null %s identity %s default %s', c.relname, a.attname,
              format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
              pg_get_expr(d.adbin, d.adrelid))
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT format('constraint %s %s %s %s', con.conrelid::regclass, con.contypid::regtype,
              con.conname, pg_get_constraintdef(con.oid))
FROM pg_constraint con JOIN ns ON ns.oid = con.connamespace
UNION ALL
SELECT format('index %s', pg_get_indexdef(i.indexrelid))
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN ns ON ns.oid = c.relnamespace
UNION ALL
SELECT format('function %s', pg_get_functiondef(p.oid))
FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
UNION ALL
SELECT format('view %s %s', c.relname, pg_get_viewdef(c.oid))
FROM pg_class c JOIN ns ON ns.oid = c.relnamespace WHERE c.relkind IN ('v', 'm')
UNION ALL
SELECT format('type %s %s %s', t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod))
FROM pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typtype IN ('e', 'd')
UNION ALL
SELECT format('enum %s %s %s', t.typname, e.enumsortorder, e.enumlabel)
FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
UNION ALL
SELECT format('trigger %s', pg_get_triggerdef(tg.oid)) FROM pg_trigger tg WHERE NOT tg.tgisinternal
UNION ALL
SELECT format('comment %s %s', d.objoid::regclass, d.description)
FROM pg_description d WHERE d.classoid = 'pg_class'::regclass
ORDER BY 1";

async fn catalog(client: &tokio_postgres::Client) -> Vec<String> {
    let rows = client
        .query(CATALOG_SQL, &[])
        .await
        .unwrap_or_else(|e| panic!("catalog: {e:?}"));
    rows.iter()
        .map(|row| row.try_get(0).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// The source's catalog and its two dumps (schema only, with data), made
/// while the owning role existed; the role is gone when this returns.
async fn dumps(tag: &str) -> (Vec<String>, String, String) {
    let role = format!("quarry_dump_{tag}_{}", std::process::id());
    let admin = server()
        .connect(None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    admin
        .batch_execute(&format!("CREATE ROLE {role}"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let source = TestDb::new("dump_source").await;
    source
        .client
        .batch_execute(&SOURCE.replace("{role}", &role))
        .await
        .unwrap_or_else(|e| panic!("source schema: {e:?}"));
    let catalog = catalog(&source.client).await;
    let schema_only = pg_dump(&source.url, &["--schema-only"]);
    let full = pg_dump(&source.url, &[]);
    source
        .client
        .batch_execute(&format!(
            "REASSIGN OWNED BY {role} TO CURRENT_USER; DROP OWNED BY {role}"
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    admin
        .batch_execute(&format!("DROP ROLE {role}"))
        .await
        .unwrap_or_else(|e| panic!("drop role: {e:?}"));
    (catalog, schema_only, full)
}

/// Applies `script` (one schema file) to a fresh database through codegen.
async fn load(
    prefix: &str,
    script: &str,
    dialect: Dialect,
) -> (TestDb, Result<(), codegen::Error>) {
    let db = TestDb::new(prefix).await;
    let file = SourceFile::new("schema/dump.sql", script);
    let result = codegen::apply_schema(&db.client, &[file], dialect).await;
    (db, result)
}

async fn search_path(client: &tokio_postgres::Client) -> String {
    let row = client
        .query_one("SELECT current_setting('search_path')", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    row.try_get(0).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn pg_dump_output_loads_with_the_same_catalog_and_queries_generate() {
    let (source, schema_only, full) = dumps("loads").await;
    // What the dumps hold that plain SQL execution would choke on.
    for needle in [
        "\\restrict ",
        "SELECT pg_catalog.set_config('search_path', '', false);",
        "OWNER TO quarry_dump_loads_",
        "GRANT SELECT ON TABLE public.books TO quarry_dump_loads_",
        "ALTER DEFAULT PRIVILEGES",
        "ALTER TABLE ONLY public.authors ALTER COLUMN id SET DEFAULT nextval(",
        "AS $_$",
    ] {
        assert!(
            schema_only.contains(needle),
            "no {needle:?} in:\n{schema_only}"
        );
    }
    assert!(full.contains("COPY public.books (id, author_id, title, isbn, published) FROM stdin;"));
    for (what, script) in [("schema only", &schema_only), ("with data", &full)] {
        let (db, result) = load("dump_load", script, Dialect::Quarry).await;
        result.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(catalog(&db.client).await, source, "{what}");
        // pg_dump emptied search_path; the session has the default back.
        assert_eq!(search_path(&db.client).await, "\"$user\", public", "{what}");
        // The data blocks were skipped.
        let row = db
            .client
            .query_one("SELECT count(*) FROM books", &[])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            row.try_get::<_, i64>(0).unwrap_or_else(|e| panic!("{e}")),
            0
        );
    }
    for (what, script) in [("schema only", &schema_only), ("with data", &full)] {
        let output = generate_fixture_with(
            "books.sql",
            QUERIES.as_bytes(),
            script,
            TypeConfig::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
        let module = &output.files[std::path::Path::new("books.rs")];
        for expected in [
            "pub async fn books_by_author<",
            "pub loud: Option<String>,",
            "pub mood: super::types::Mood,",
            "pub async fn author_books<",
            "pub async fn tags<",
        ] {
            assert!(
                module.contains(expected),
                "{what}: no {expected:?} in\n{module}"
            );
        }
    }
}

/// The shape of a PostgreSQL 17 dump (`transaction_timeout`, unknown
/// before 17; and a setting no server knows), a `\connect`, `CREATE SCHEMA public` and an extension's
/// comment, over the real dump; and an error after skipped `COPY` data is
/// reported at its line in the file.
#[tokio::test]
async fn newer_preambles_load_and_errors_keep_their_position() {
    let (source, _, full) = dumps("newer").await;
    let preamble = "SET idle_in_transaction_session_timeout = 0;\n";
    assert!(full.contains(preamble));
    let newer = full.replacen(
        preamble,
        "SET idle_in_transaction_session_timeout = 0;\nSET transaction_timeout = 0;\n\
         SET no_such_setting_anywhere = 1;\n\\connect - postgres\nCREATE SCHEMA public;\n\
         COMMENT ON SCHEMA public IS 'standard public schema';\n\
         COMMENT ON EXTENSION plpgsql IS 'PL/pgSQL procedural language';\n",
        1,
    );
    let (db, result) = load("dump_newer", &newer, Dialect::Quarry).await;
    result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(catalog(&db.client).await, source);
    // An unknown setting was skipped, a known one applied.
    let row = db
        .client
        .query_one("SELECT current_setting('check_function_bodies')", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        row.try_get::<_, String>(0)
            .unwrap_or_else(|e| panic!("{e}")),
        "off"
    );

    let broken = format!("{full}\nCREATE TABLE public.broken (x no_such_type);\n");
    let line = broken.lines().count();
    let (_db, result) = load("dump_broken", &broken, Dialect::Quarry).await;
    let error = match result {
        Ok(()) => panic!("a missing type must fail"),
        Err(error) => error.to_string(),
    };
    let at = format!("schema/dump.sql:{line}:31");
    assert!(error.contains(&at), "expected {at}:\n{error}");
    assert!(
        error.contains("type \"no_such_type\" does not exist"),
        "{error}"
    );
}

/// In sqlc's dialect a schema file may also hold queries: statements under
/// a `-- name:` or `/* name: */` header are skipped when the schema is
/// applied. Quarry's dialect applies them, and their placeholders fail.
#[tokio::test]
async fn sqlc_files_that_are_schema_and_queries() {
    let script = "\
CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL);

-- name: GetNote :one
SELECT * FROM notes WHERE id = $1;

/* name: ListNotes :many */
SELECT body FROM notes WHERE body LIKE sqlc.arg(pattern);

CREATE INDEX notes_body ON notes (body);
";
    let (db, result) = load("dump_sqlc", script, Dialect::Sqlc).await;
    result.unwrap_or_else(|e| panic!("{e}"));
    let row = db
        .client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'notes_body'",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        row.try_get::<_, i64>(0).unwrap_or_else(|e| panic!("{e}")),
        1
    );

    let (_db, result) = load("dump_quarry", script, Dialect::Quarry).await;
    let error = match result {
        Ok(()) => panic!("Quarry's dialect runs every statement of a schema file"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("schema/dump.sql:4:"), "{error}");
    assert!(error.contains("there is no parameter $1"), "{error}");
}

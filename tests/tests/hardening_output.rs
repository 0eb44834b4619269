//! Wrong-output hardening (issue 11), end to end: the generator's output for
//! awkward but valid inputs is compiled — every fixture in one crate, built
//! once with clippy as the compiler wrapper and `#![deny(warnings)]` — and
//! the parts that load data are run against real PostgreSQL and compared with
//! naive one-query-per-row results.
//!
//! * a many-to-many target table with its own `quarry_key` (and
//!   `quarry_key_1`) column: the derived loader's key alias must not clash;
//! * tables `"user"`, `"order"`, `"group"`, `"Person"`, columns `"select"`,
//!   `"Name"`, a junction with columns `"order"`/`"group"`, and domains used
//!   as parameters whose base types need quoting (`"2nd"`, `"char"`): derived
//!   loaders of every shape and the domain casts must work;
//! * query files named after Rust keywords and other non-identifiers
//!   (`crate`, `self`, `super`, `Self`, `fn`, `type`, `async`, `1st`,
//!   `my-file`, `Über`), and `types.sql`/`mod.sql` next to a generated
//!   `types` module;
//! * tab-indented SQL and doc comments full of markdown traps;
//! * names that would shadow the generated code's own (a loader parameter
//!   `rows`, relation fields `columns`/`db`/`parent`, `@row Vec`, an enum
//!   `option`).
//!
//! The crate lives under the target directory (`hardening-output/`) so its
//! dependencies are compiled once and reused by later runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use quarry_tests::{server, target_root, workspace_root, TestDb};

/// One generator run: query files and a schema.
struct Fixture {
    /// Module of the crate the output goes to.
    module: &'static str,
    schema: &'static str,
    files: &'static [(&'static str, &'static str)],
}

const ALIAS_SCHEMA: &str = "
CREATE TABLE orders (id bigint PRIMARY KEY, note text NOT NULL);
CREATE TABLE tags (
    id bigint PRIMARY KEY,
    quarry_key bigint NOT NULL,
    quarry_key_1 text NOT NULL,
    label text NOT NULL
);
CREATE TABLE order_tags (
    order_id bigint NOT NULL REFERENCES orders (id),
    tag_id bigint NOT NULL REFERENCES tags (id),
    PRIMARY KEY (order_id, tag_id)
);
";

const ALIAS_QUERIES: &str = "-- name: ListOrders :many
-- Every order with its tags.
-- @prefetch tags
SELECT o.id, o.note FROM orders o ORDER BY o.id;
";

/// Tag `quarry_key` values point at other orders than the junction does.
const ALIAS_DATA: &str = "
INSERT INTO orders SELECT i, 'order ' || i FROM generate_series(1, 5) i;
INSERT INTO tags SELECT i, 6 - i, 'k' || i, 'tag ' || i FROM generate_series(1, 4) i;
INSERT INTO order_tags VALUES (1, 1), (1, 2), (2, 3), (4, 1), (4, 4), (5, 2), (5, 3), (5, 4);
";

const RESERVED_SCHEMA: &str = r#"
CREATE TYPE "2nd" AS ENUM ('low', 'high');
CREATE DOMAIN "1st" AS "2nd";
CREATE DOMAIN initial AS "char";
CREATE TABLE "Person" (id bigint PRIMARY KEY, "Full Name" text NOT NULL);
CREATE TABLE "user" (
    id bigint PRIMARY KEY,
    "Name" text NOT NULL,
    "select" text NOT NULL,
    person_id bigint REFERENCES "Person" (id),
    rank "1st",
    initial initial
);
CREATE TABLE "order" (
    id bigint PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES "user" (id),
    "select" integer NOT NULL
);
CREATE INDEX ON "order" (user_id);
CREATE TABLE "group" (id bigint PRIMARY KEY, "from" text NOT NULL);
CREATE TABLE "Order Groups" (
    "order" bigint NOT NULL REFERENCES "order" (id),
    "group" bigint NOT NULL REFERENCES "group" (id),
    PRIMARY KEY ("order", "group")
);
"#;

const RESERVED_QUERIES: &str = r#"-- name: ListOrders :many
-- @prefetch user
-- @prefetch groups
SELECT o.id, o.user_id, o."select" FROM "order" o ORDER BY o.id;

-- name: ListUsers :many
-- @prefetch orders
-- @prefetch person
SELECT u.id, u."Name", u."select", u.person_id FROM "user" u ORDER BY u.id;

-- name: SetRank :exec
UPDATE "user" SET rank = :rank, initial = :initial WHERE id = :id;

-- name: GetRank :one
SELECT u.rank, u.initial FROM "user" u WHERE u.id = :id;
"#;

const RESERVED_DATA: &str = r#"
INSERT INTO "Person" VALUES (1, 'Ada L'), (2, 'Bob K');
INSERT INTO "user" (id, "Name", "select", person_id)
VALUES (1, 'ada', 's1', 1), (2, 'bob', 's2', NULL), (3, 'cy', 's3', 2);
INSERT INTO "order" VALUES (10, 1, 7), (11, 3, 8), (12, 1, 9), (13, 3, 10);
INSERT INTO "group" VALUES (1, 'north'), (2, 'south'), (3, 'east');
INSERT INTO "Order Groups" VALUES (10, 2), (10, 3), (11, 1), (13, 1), (13, 2), (13, 3);
"#;

const THINGS_SCHEMA: &str = "
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE things (id bigint PRIMARY KEY, label text NOT NULL, mood mood);
CREATE INDEX ON things (mood);
";

/// Rust keywords and non-identifiers as file names; `fn.sql` holds a loader
/// that a query in `crate.sql` uses (a path through `super::r#fn`).
const KEYWORD_FILES: &[(&str, &str)] = &[
    (
        "crate.sql",
        "-- name: GetCrate :many\n-- @prefetch same = ThingsById(id)\nSELECT id FROM things;\n",
    ),
    (
        "self.sql",
        "-- name: GetSelf :one\nSELECT id FROM things WHERE id = :id;\n",
    ),
    (
        "super.sql",
        "-- name: GetSuper :opt\nSELECT label FROM things WHERE id = :id;\n",
    ),
    (
        "fn.sql",
        "-- name: ThingsById :one\n-- @key id\nSELECT id, label FROM things WHERE id = ANY(:ids);\n",
    ),
    (
        "type.sql",
        "-- name: GetType :exec\nDELETE FROM things WHERE id = :id;\n",
    ),
    (
        "async.sql",
        "-- name: GetAsync :many\nSELECT id, mood FROM things;\n",
    ),
    (
        "1st.sql",
        "-- name: GetFirst :many\nSELECT id FROM things ORDER BY id LIMIT 1;\n",
    ),
    (
        "my-file.sql",
        "-- name: GetMyFile :many\nSELECT label FROM things;\n",
    ),
    (
        "Über.sql",
        "-- name: GetUber :many\nSELECT label AS \"Über\" FROM things;\n",
    ),
];

/// `Self.sql` (`self.sql` is taken above), and the generator's own module
/// names, next to a query using an enum (so `types` is generated).
const OWN_NAME_FILES: &[(&str, &str)] = &[
    (
        "types.sql",
        "-- name: ThingsByMood :many\nSELECT id, mood FROM things WHERE mood = :mood;\n",
    ),
    (
        "mod.sql",
        "-- name: GetModThing :opt\nSELECT id, mood FROM things WHERE id = :id;\n",
    ),
    (
        "Self.sql",
        "-- name: GetSelfThing :opt\nSELECT id FROM things WHERE id = :id;\n",
    ),
];

const DOCS_SCHEMA: &str = r#"
CREATE TYPE "odd label" AS ENUM ('a`b', 'tab	here', '<b>', 'self', 'Self', '[x]');
CREATE TABLE docs (id bigint PRIMARY KEY, "a`b" text, "<i>" text, kind "odd label");
"#;

/// Tab-indented SQL and doc comments that trip rustdoc and clippy when
/// copied verbatim.
const DOCS_QUERIES: &str = "-- name: NastyDocs :many
-- First line with a\ttab, an `unbalanced backtick and <html> tags.
-- - a list item
-- lazily continued
--          and overindented
-- > a quote
-- lazily continued
-- 1. numbered
-- continued
--
-- ```
-- SELECT 'not rust';
-- ```
--
--     indented code that is not Rust either
--
-- A [broken link], a [^1] footnote and a `code` span.
-- # heading
-- ```sql
-- SELECT 'an unclosed fence';
SELECT
\td.id,
\td.\"a`b\",
\td.\"<i>\",
\td.kind,
\t'```' AS fence -- ```
FROM docs d
WHERE d.id > :min;

-- name: NoDocs :one
SELECT\tcount(*) AS \"n\tcount\" FROM docs;
";

const SHADOW_SCHEMA: &str = "
CREATE TYPE option AS ENUM ('some', 'none');
CREATE TABLE posts (id bigint PRIMARY KEY, choice option NOT NULL);
CREATE TABLE comments (id bigint PRIMARY KEY, post_id bigint NOT NULL REFERENCES posts (id));
CREATE INDEX ON comments (post_id);
";

/// A loader parameter named like the loader's locals, relation fields named
/// like `with_relations`' locals, a row type and an enum named like prelude types.
const SHADOW_QUERIES: &str = "-- name: CommentsByPost :many
-- @key post_id
SELECT c.id, c.post_id FROM comments c WHERE c.post_id = ANY(:rows);

-- name: ListPosts :many
-- @row Vec
-- @prefetch columns = CommentsByPost(id)
-- @prefetch db = CommentsByPost(id)
-- @prefetch parent = CommentsByPost(id)
-- @prefetch columns_keys = CommentsByPost(id)
SELECT p.id, p.choice, :conn::text AS conn FROM posts p WHERE p.id > :keyed;
";

const FIXTURES: &[Fixture] = &[
    Fixture {
        module: "alias_clash",
        schema: ALIAS_SCHEMA,
        files: &[("orders.sql", ALIAS_QUERIES)],
    },
    Fixture {
        module: "reserved_words",
        schema: RESERVED_SCHEMA,
        files: &[("data.sql", RESERVED_QUERIES)],
    },
    Fixture {
        module: "keyword_files",
        schema: THINGS_SCHEMA,
        files: KEYWORD_FILES,
    },
    Fixture {
        module: "own_names",
        schema: THINGS_SCHEMA,
        files: OWN_NAME_FILES,
    },
    Fixture {
        module: "doc_comments",
        schema: DOCS_SCHEMA,
        files: &[("docs.sql", DOCS_QUERIES)],
    },
    Fixture {
        module: "shadowing",
        schema: SHADOW_SCHEMA,
        files: &[("posts.sql", SHADOW_QUERIES)],
    },
];

/// The binary run against the seeded databases: prints what the generated
/// code loads, in the format of [`naive_alias`] and [`naive_reserved`].
const MAIN_RS: &str = r#"//! Written by tests/tests/hardening_output.rs.
#![deny(warnings)]

use hardening_check::{alias_clash, reserved_words};

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let alias = quarry::Pool::connect(&std::env::var("ALIAS_URL").expect("ALIAS_URL")).expect("pool");
    for order in alias_clash::orders::list_orders(&alias).await.expect("list_orders") {
        let tags: Vec<String> = order
            .tags
            .iter()
            .map(|t| format!("{}:{}:{}:{}", t.id, t.quarry_key, t.quarry_key_1, t.label))
            .collect();
        println!("order {} {} tags=[{}]", order.id, order.note, tags.join(","));
    }

    let reserved = quarry::Pool::connect(&std::env::var("RESERVED_URL").expect("RESERVED_URL")).expect("pool");
    use reserved_words::{data, types::V2nd};
    let updated = data::set_rank(&reserved, V2nd::High, b'x' as i8, 3).await.expect("set_rank");
    println!("updated {updated}");
    for id in [1, 3] {
        let rank = data::get_rank(&reserved, id).await.expect("get_rank");
        println!("rank {id} {:?} {:?}", rank.rank, rank.initial);
    }
    for order in data::list_orders(&reserved).await.expect("list_orders") {
        let groups: Vec<String> = order.groups.iter().map(|g| format!("{}:{}", g.id, g.from)).collect();
        println!(
            "order {} select={} user={}:{}:{} groups=[{}]",
            order.id,
            order.select,
            order.user.id,
            order.user.name,
            order.user.select,
            groups.join(",")
        );
    }
    for user in data::list_users(&reserved).await.expect("list_users") {
        let orders: Vec<String> = user.orders.iter().map(|o| format!("{}:{}", o.id, o.select)).collect();
        let person = user.person.as_ref().map(|p| format!("{}:{}", p.id, p.full_name));
        println!(
            "user {} {} select={} person={:?} orders=[{}]",
            user.id,
            user.name,
            user.select,
            person,
            orders.join(",")
        );
    }
}
"#;

/// The reference for the alias fixture: one statement per order.
async fn naive_alias(db: &TestDb) -> String {
    let mut out = String::new();
    for order in db
        .client
        .query("SELECT id, note FROM orders ORDER BY id", &[])
        .await
        .unwrap()
    {
        let id: i64 = order.get(0);
        let note: String = order.get(1);
        let tags: Vec<String> = db
            .client
            .query(
                "SELECT t.id, t.quarry_key, t.quarry_key_1, t.label FROM order_tags j \
                 JOIN tags t ON t.id = j.tag_id WHERE j.order_id = $1 ORDER BY t.id",
                &[&id],
            )
            .await
            .unwrap()
            .iter()
            .map(|t| {
                format!(
                    "{}:{}:{}:{}",
                    t.get::<_, i64>(0),
                    t.get::<_, i64>(1),
                    t.get::<_, String>(2),
                    t.get::<_, String>(3)
                )
            })
            .collect();
        out.push_str(&format!("order {id} {note} tags=[{}]\n", tags.join(",")));
    }
    out
}

/// The reference for the reserved-words fixture: the same update, then one
/// statement per row and relation.
async fn naive_reserved(db: &TestDb) -> String {
    let client = &db.client;
    let updated = client
        .execute(
            r#"UPDATE "user" SET rank = 'high', initial = 'x' WHERE id = 3"#,
            &[],
        )
        .await
        .unwrap();
    let mut out = format!("updated {updated}\n");
    for id in [1i64, 3] {
        let row = client
            .query_one(
                r#"SELECT rank::text, initial::text FROM "user" WHERE id = $1"#,
                &[&id],
            )
            .await
            .unwrap();
        // As the generated enum's `Debug` prints it.
        let rank = match row.get::<_, Option<String>>(0).as_deref() {
            Some("high") => "Some(High)",
            Some(_) => "Some(Low)",
            None => "None",
        };
        let initial = row
            .get::<_, Option<String>>(1)
            .map(|s| s.as_bytes()[0] as i8);
        out.push_str(&format!("rank {id} {rank} {initial:?}\n"));
    }
    for order in client
        .query(
            r#"SELECT id, user_id, "select" FROM "order" ORDER BY id"#,
            &[],
        )
        .await
        .unwrap()
    {
        let (id, user_id, select): (i64, i64, i32) = (order.get(0), order.get(1), order.get(2));
        let user = client
            .query_one(
                r#"SELECT "Name", "select" FROM "user" WHERE id = $1"#,
                &[&user_id],
            )
            .await
            .unwrap();
        let groups: Vec<String> = client
            .query(
                r#"SELECT g.id, g."from" FROM "Order Groups" j JOIN "group" g ON g.id = j."group" WHERE j."order" = $1 ORDER BY g.id"#,
                &[&id],
            )
            .await
            .unwrap()
            .iter()
            .map(|g| format!("{}:{}", g.get::<_, i64>(0), g.get::<_, String>(1)))
            .collect();
        out.push_str(&format!(
            "order {id} select={select} user={user_id}:{}:{} groups=[{}]\n",
            user.get::<_, String>(0),
            user.get::<_, String>(1),
            groups.join(",")
        ));
    }
    for user in client
        .query(
            r#"SELECT id, "Name", "select", person_id FROM "user" ORDER BY id"#,
            &[],
        )
        .await
        .unwrap()
    {
        let (id, name, select, person_id): (i64, String, String, Option<i64>) =
            (user.get(0), user.get(1), user.get(2), user.get(3));
        let orders: Vec<String> = client
            .query(
                r#"SELECT id, "select" FROM "order" WHERE user_id = $1 ORDER BY id"#,
                &[&id],
            )
            .await
            .unwrap()
            .iter()
            .map(|o| format!("{}:{}", o.get::<_, i64>(0), o.get::<_, i32>(1)))
            .collect();
        let mut person = None;
        if let Some(person_id) = person_id {
            let row = client
                .query_one(
                    r#"SELECT "Full Name" FROM "Person" WHERE id = $1"#,
                    &[&person_id],
                )
                .await
                .unwrap();
            person = Some(format!("{person_id}:{}", row.get::<_, String>(0)));
        }
        out.push_str(&format!(
            "user {id} {name} select={select} person={person:?} orders=[{}]\n",
            orders.join(",")
        ));
    }
    out
}

/// Runs the generator on a fixture, in memory; returns the generated files.
async fn generate(fixture: &Fixture) -> (Vec<(PathBuf, String)>, Vec<String>) {
    let mut sources = codegen::Sources::new(codegen::config::TypeConfig::default());
    for (name, text) in fixture.files {
        sources.query_file(Path::new("queries").join(name), *text);
    }
    sources.schema_file("schema.sql", fixture.schema);
    let output = codegen::generate_sources(&sources, server())
        .await
        .unwrap_or_else(|e| panic!("fixture `{}` must generate:\n{e}", fixture.module));
    let warnings = output.warnings.iter().map(|w| w.render()).collect();
    (output.files.into_iter().collect(), warnings)
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Builds the crate with clippy as the compiler wrapper (one cargo
/// invocation: lints and a runnable binary); returns the binary.
fn build(crate_dir: &Path, target_dir: &Path) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--offline", "--quiet", "--manifest-path"])
        .arg(crate_dir.join("Cargo.toml"))
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("RUSTC_WORKSPACE_WRAPPER", clippy_driver())
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .output()
        .unwrap_or_else(|e| panic!("run cargo: {e}"));
    assert!(
        output.status.success(),
        "the generated code must compile without warnings, clippy's included (crate: {}):\n{}",
        crate_dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    target_dir.join("debug/hardening-check")
}

/// `clippy-driver` next to the running `cargo` (as `cargo clippy` finds it), else on `PATH`.
fn clippy_driver() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .and_then(|cargo| Some(cargo.parent()?.join("clippy-driver")))
        .filter(|driver| driver.is_file())
        .unwrap_or_else(|| PathBuf::from("clippy-driver"))
}

#[tokio::test(flavor = "multi_thread")]
async fn awkward_inputs_generate_code_that_compiles_clippy_clean_and_loads_right() {
    let root = workspace_root();
    let build_dir = target_root().join("hardening-output");
    let crate_dir = build_dir.join("crate");
    if crate_dir.join("src").exists() {
        std::fs::remove_dir_all(crate_dir.join("src")).unwrap();
    }
    let manifest = format!(
        "[package]\nname = \"hardening-check\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nquarry = {{ path = \"{}\" }}\ntokio = {{ version = \"1\", features = [\"rt-multi-thread\"] }}\n\n\
         # Written by tests/tests/hardening_output.rs: a workspace of its own.\n[workspace]\n",
        root.join("runtime").display()
    );
    write(&crate_dir.join("Cargo.toml"), &manifest);
    std::fs::copy(root.join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();

    let mut lib =
        String::from("//! Written by tests/tests/hardening_output.rs.\n#![deny(warnings)]\n\n");
    for fixture in FIXTURES {
        let (files, warnings) = generate(fixture).await;
        assert!(
            warnings.is_empty(),
            "fixture `{}` must generate without warnings:\n{}",
            fixture.module,
            warnings.join("\n")
        );
        for (path, text) in &files {
            write(&crate_dir.join("src").join(fixture.module).join(path), text);
        }
        lib.push_str(&format!("pub mod {};\n", fixture.module));
        check_fixture_output(fixture, &files);
    }
    write(&crate_dir.join("src/lib.rs"), &lib);
    write(&crate_dir.join("src/main.rs"), MAIN_RS);

    let alias = TestDb::new("hardening_alias").await;
    alias
        .client
        .batch_execute(&format!("{ALIAS_SCHEMA}{ALIAS_DATA}"))
        .await
        .unwrap();
    let reserved = TestDb::new("hardening_reserved").await;
    reserved
        .client
        .batch_execute(&format!("{RESERVED_SCHEMA}{RESERVED_DATA}"))
        .await
        .unwrap();

    let binary = tokio::task::spawn_blocking({
        let crate_dir = crate_dir.clone();
        move || build(&crate_dir, &build_dir.join("target"))
    })
    .await
    .unwrap();
    let run = Command::new(&binary)
        .env("ALIAS_URL", &alias.url)
        .env("RESERVED_URL", &reserved.url)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", binary.display()));
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "the generated code must run:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );

    // The binary updated user 3; the reference repeats the update, which is idempotent.
    let expected = format!(
        "{}{}",
        naive_alias(&alias).await,
        naive_reserved(&reserved).await
    );
    assert_eq!(stdout, expected);
    // The data is not trivially shaped: some relations are empty, some shared.
    assert!(expected.contains("tags=[]") && expected.contains("person=None"));
    assert!(expected.contains("rank 3 Some(High) Some(120)"));
}

/// What each fixture's output must look like, beyond compiling.
fn check_fixture_output(fixture: &Fixture, files: &[(PathBuf, String)]) {
    let file = |name: &str| -> &str {
        files
            .iter()
            .find(|(path, _)| path == Path::new(name))
            .map(|(_, text)| text.as_str())
            .unwrap_or_else(|| {
                let names: Vec<_> = files.iter().map(|(p, _)| p.display().to_string()).collect();
                panic!("`{}`: no {name} among {names:?}", fixture.module)
            })
    };
    match fixture.module {
        "alias_clash" => {
            let module = file("orders.rs");
            assert!(module.contains("AS quarry_key_2\\n"), "{module}");
        }
        "reserved_words" => {
            let module = file("data.rs");
            for sql in [
                r#"FROM \"user\" t\nWHERE t.id = ANY($1)"#,
                r#"FROM \"order\" t\nWHERE t.user_id = ANY($1)"#,
                r#"FROM \"Person\" t"#,
                r#"t.\"select\""#,
                r#"JOIN \"group\" t ON t.id = j.\"group\""#,
                r#"rank = $1::public.\"2nd\", initial = $2::\"char\""#,
            ] {
                assert!(module.contains(sql), "missing {sql} in:\n{module}");
            }
        }
        "keyword_files" => {
            let mod_rs = file("mod.rs");
            for (declared, file_name) in [
                ("pub mod crate_;", "crate_.rs"),
                ("pub mod self_;", "self_.rs"),
                ("pub mod super_;", "super_.rs"),
                ("pub mod r#fn;", "fn.rs"),
                ("pub mod r#type;", "type.rs"),
                ("pub mod r#async;", "async.rs"),
                ("pub mod _1st;", "_1st.rs"),
                ("pub mod my_file;", "my_file.rs"),
                ("pub mod _ber;", "_ber.rs"),
            ] {
                assert!(mod_rs.contains(declared), "{declared} in:\n{mod_rs}");
                file(file_name);
            }
            assert!(file("crate_.rs").contains("super::r#fn::ThingsByIdRow"));
        }
        "own_names" => {
            let mod_rs = file("mod.rs");
            for declared in [
                "pub mod mod_;",
                "pub mod self_;",
                "pub mod types;",
                "pub mod types_;",
            ] {
                assert!(mod_rs.contains(declared), "{declared} in:\n{mod_rs}");
            }
            assert!(file("types_.rs").contains("super::types::Mood"));
            file("mod_.rs");
            assert!(file("types.rs").contains("pub enum Mood"));
        }
        "doc_comments" => {
            let module = file("docs.rs");
            let docs: Vec<&str> = module
                .lines()
                .filter(|l| l.trim_start().starts_with("///") || l.starts_with("//!"))
                .collect();
            assert!(
                docs.iter().all(|l| !l.contains('\t')),
                "tabs in docs:\n{module}"
            );
            for line in [
                "/// - a list item",
                "///   lazily continued",
                "///   and overindented",
                "/// > lazily continued",
                "///    continued",
                "/// ```text",
                "/// indented code that is not Rust either",
                "/// ````sql",
                "///     d.id,",
            ] {
                assert!(docs.contains(&line), "missing `{line}` in:\n{module}");
            }
            // The SQL constant keeps its tabs: only docs are rewritten.
            assert!(module.contains("SELECT\\n\\td.id,"), "{module}");
        }
        "shadowing" => {
            let module = file("posts.rs");
            assert!(module.contains("pub struct VecType {"), "{module}");
            assert!(module.contains("rows_1: &[i64]"), "{module}");
            assert!(module.contains("conn_1: &str"), "{module}");
            assert!(file("types.rs").contains("pub enum OptionType {"));
        }
        other => panic!("unknown fixture {other}"),
    }
}

/// The private `<Row>Columns` struct of a row with relations cannot be
/// shadowed by a row type of that name: an error at the `@row`, not code that
/// does not compile.
#[tokio::test]
async fn a_row_type_named_like_a_columns_struct_is_an_error() {
    let queries = "-- name: CommentsByPost :many
-- @key post_id
SELECT c.id, c.post_id FROM comments c WHERE c.post_id = ANY(:ids);

-- name: ListPosts :many
-- @row Post
-- @prefetch comments = CommentsByPost(id)
SELECT p.id FROM posts p;

-- name: PostIds :many
-- @row PostColumns
SELECT p.id FROM posts p;
";
    let result =
        quarry_tests::generate_fixture("posts.sql", queries.as_bytes(), SHADOW_SCHEMA).await;
    let rendered = match result {
        Err(codegen::Error::Diagnostics(diagnostics)) => diagnostics.to_string(),
        Err(other) => panic!("expected diagnostics, got {other}"),
        Ok(_) => {
            panic!("a row type named `PostColumns` next to `Post` with relations must be refused")
        }
    };
    assert!(
        rendered.contains("row type `PostColumns` collides with the struct the generator makes for the columns of `Post`")
            && rendered.contains("posts.sql:11:9"),
        "{rendered}"
    );
}

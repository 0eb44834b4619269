//! A PostgreSQL type without a Rust mapping — from an extension (`hstore`),
//! a range over such a type, a built-in geometric type — is a rustc-style
//! diagnostic at `file:line:col` naming the type and the configuration key
//! that maps it; with that key set in `quarry.toml`, generation succeeds and
//! uses the configured Rust type.

const SCHEMA: &str = "
CREATE EXTENSION hstore;
CREATE TYPE hstore_range AS RANGE (subtype = hstore);
CREATE TABLE kv (id int PRIMARY KEY, attrs hstore, spans hstore_range);
";

const QUERIES: &str = "\
-- name: GetAttrs :one
SELECT id, attrs FROM kv WHERE id = :id;

-- name: SetAttrs :exec
UPDATE kv SET attrs = :attrs WHERE id = :id;

-- name: GetSpans :one
SELECT spans FROM kv WHERE id = :id;
";

/// Generates `queries/unmapped.sql` over [`SCHEMA`] with `toml` appended to
/// the `quarry.toml`.
async fn generate(
    queries: &str,
    toml: &str,
) -> (Result<codegen::Output, codegen::Error>, tempfile::TempDir) {
    quarry_tests::generate_from_disk("unmapped.sql", queries, SCHEMA, toml).await
}

/// One error diagnostic (position with the file name only), checked for the
/// rustc-style rendering. A column's diagnostic points at the query's name
/// in its header; a parameter's at the placeholder.
struct Found {
    at: String,
    message: String,
    help: String,
    rendered: String,
}

fn errors(result: Result<codegen::Output, codegen::Error>) -> Vec<Found> {
    let error = match result {
        Ok(output) => panic!("expected an error, got {} files", output.files.len()),
        Err(error) => error,
    };
    let codegen::Error::Diagnostics(diagnostics) = &error else {
        panic!("expected diagnostics, got: {error}");
    };
    assert!(
        diagnostics.to_string().contains("nothing was written"),
        "{diagnostics}"
    );
    diagnostics
        .0
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let position = d.position().unwrap_or_else(|| panic!("no position: {d}"));
            let rendered = d.render();
            assert!(
                rendered.starts_with(&format!("error: {}", d.message)),
                "{rendered}"
            );
            assert!(rendered.contains(&format!("--> {position}")), "{rendered}");
            assert!(rendered.contains('^'), "no caret in:\n{rendered}");
            Found {
                at: position.rsplit('/').next().unwrap_or_default().to_string(),
                message: d.message.clone(),
                help: d.help.clone().unwrap_or_default(),
                rendered,
            }
        })
        .collect()
}

#[tokio::test]
async fn unmapped_types_are_diagnostics_naming_the_type_and_the_config_key() {
    let (result, _dir) = generate(QUERIES, "").await;
    let found = errors(result);
    let summary: Vec<(&str, &str)> = found
        .iter()
        .map(|f| (f.at.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "unmapped.sql:1:10",
                "unsupported type `hstore` for column `attrs` of query `GetAttrs`"
            ),
            (
                "unmapped.sql:5:23",
                "unsupported type `hstore` for parameter `attrs` of query `SetAttrs`"
            ),
            (
                "unmapped.sql:7:10",
                "unsupported type `hstore_range` for column `spans` of query `GetSpans`"
            ),
        ],
        "{}",
        found
            .iter()
            .map(|f| f.rendered.as_str())
            .collect::<String>()
    );
    for (f, key) in found.iter().zip(["hstore", "hstore", "hstore_range"]) {
        assert!(
            f.help.contains("`[types]`") && f.help.contains(&format!("`{key} = ")),
            "help does not name the config key `[types] {key} = …`: {}",
            f.rendered
        );
        assert!(f.rendered.contains("has no Rust mapping"), "{}", f.rendered);
    }
}

#[tokio::test]
async fn built_in_types_without_a_mapping_are_diagnostics_too() {
    // `pg_node_tree` (a catalog column) has a binary output but no mapping;
    // `aclitem` has no binary format at all, so the help says to cast it.
    let (result, _dir) = generate(
        "-- name: Where :one\n\
         SELECT adbin AS tree, makeaclitem(10, 10, 'SELECT', false) AS acl, \
         'a=>1'::hstore AS kv FROM pg_attrdef;\n",
        "",
    )
    .await;
    let found = errors(result);
    let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "unsupported type `pg_node_tree` for column `tree` of query `Where`",
            "unsupported type `aclitem` for column `acl` of query `Where`",
            "unsupported type `hstore` for column `kv` of query `Where`",
        ]
    );
    assert!(
        found[0].help.contains("`[types]` `pg_node_tree = "),
        "{}",
        found[0].rendered
    );
    assert!(
        found[1].help.starts_with("cast it in the SQL")
            && found[1].help.contains("`aclitem` has no binary format")
            && found[1].help.contains("`[types]` `aclitem = "),
        "{}",
        found[1].rendered
    );
}

#[tokio::test]
async fn catalog_types_that_once_had_no_mapping_now_have_one() {
    let (result, _dir) = generate(
        "-- name: Catalog :one\n\
         SELECT point(1, 2) AS here, ctid, xmin, 'kv'::regclass AS rel, \
         pg_current_snapshot() AS snap FROM kv WHERE id = :id;\n",
        "",
    )
    .await;
    let output = result.unwrap_or_else(|e| panic!("{e}"));
    let module = &output.files[std::path::Path::new("unmapped.rs")];
    for field in [
        "pub here: quarry::geo::Point,",
        "pub ctid: Option<quarry::Tid>,",
        "pub xmin: Option<quarry::Xid>,",
        "pub rel: quarry::RegOid,",
        "pub snap: quarry::PgSnapshot,",
    ] {
        assert!(module.contains(field), "no `{field}` in:\n{module}");
    }
}

#[tokio::test]
async fn mapping_the_type_in_the_config_removes_the_diagnostic() {
    let (result, _dir) = generate(QUERIES, "[types]\nhstore = \"my_app::Hstore\"\n").await;
    let output = match result {
        Ok(output) => output,
        Err(codegen::Error::Diagnostics(d)) => panic!("{d}"),
        Err(e) => panic!("{e}"),
    };
    assert!(output.warnings.is_empty());
    let module = output
        .files
        .get(std::path::Path::new("unmapped.rs"))
        .unwrap_or_else(|| panic!("no unmapped.rs in {:?}", output.files.keys()));
    // The column, the parameter (by reference: not known to be `Copy`) and
    // the range over the mapped subtype.
    assert!(
        module.contains("pub attrs: Option<my_app::Hstore>,"),
        "{module}"
    );
    assert!(module.contains("attrs: &my_app::Hstore,"), "{module}");
    assert!(
        module.contains("pub spans: Option<quarry::Range<my_app::Hstore>>,"),
        "{module}"
    );
    // A by-column override maps a single column (and reaches no other).
    let (result, _dir) = generate(
        "-- name: GetAttrs :one\nSELECT id, attrs FROM kv WHERE id = :id;\n",
        "[columns]\n\"kv.attrs\" = \"my_app::Attributes\"\n",
    )
    .await;
    let output = result.unwrap_or_else(|e| panic!("{e}"));
    let module = &output.files[std::path::Path::new("unmapped.rs")];
    assert!(
        module.contains("pub attrs: Option<my_app::Attributes>,"),
        "{module}"
    );
}

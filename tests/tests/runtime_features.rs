//! Type codecs beyond the defaults sit behind cargo features of `quarry`:
//!
//! * a schema that needs one (`inet` → `with-cidr`, `tsvector` →
//!   `text-search`, `uuid` → the default `with-uuid`) gets a warning naming
//!   the feature at `file:line:col` of the parameter (or of the query, for a
//!   column) unless `runtime_features` in `quarry.toml` declares it;
//! * `quarry` with its default features does not depend on the crates of the
//!   optional ones (`cargo tree`), and does with them.

use std::path::Path;
use std::process::Command;

const SCHEMA: &str = "
CREATE TABLE hosts (id int PRIMARY KEY, addr inet, search tsvector, uid uuid);
CREATE INDEX ON hosts (addr);
";

const QUERIES: &str = "\
-- name: FindByAddr :many
SELECT id FROM hosts WHERE addr = :addr;

-- name: GetHost :one
SELECT id, addr, search, uid FROM hosts WHERE id = :id;
";

/// Generates `queries/hosts.sql` over [`SCHEMA`] with `toml` appended to
/// the `quarry.toml` (read from disk: the keys under test are config keys).
async fn generate(toml: &str) -> codegen::Output {
    match quarry_tests::generate_from_disk("hosts.sql", QUERIES, SCHEMA, toml).await {
        (Ok(output), _dir) => output,
        (Err(error), _dir) => panic!("generation failed: {error}"),
    }
}

/// `(file:line:col with the file name only, message)` of every warning.
fn warnings(output: &codegen::Output) -> Vec<(String, String)> {
    output
        .warnings
        .iter()
        .map(|d| {
            assert!(!d.is_error(), "{d}");
            let position = d.position().unwrap_or_else(|| panic!("no position: {d}"));
            let short = Path::new(&position)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(position);
            (short, d.message.clone())
        })
        .collect()
}

#[tokio::test]
async fn a_missing_feature_is_a_warning_naming_it() {
    let output = generate("").await;
    assert_eq!(
        warnings(&output),
        [
            (
                "hosts.sql:4:10".to_string(),
                "`tsvector` needs the `quarry` feature `text-search`".to_string()
            ),
            (
                "hosts.sql:2:35".to_string(),
                "`inet` needs the `quarry` feature `with-cidr`".to_string()
            ),
        ]
    );
    // The rendering: the parameter underlined, the Cargo.toml line and the
    // quarry.toml key to add, the other uses.
    let rendered = output.warnings[1].render();
    for expected in [
        "SELECT id FROM hosts WHERE addr = :addr;",
        "^^^^^ parameter `addr` of `FindByAddr` is `inet`",
        "features = [\"with-cidr\"]",
        "runtime_features = [\"with-cidr\"]",
        "also needed by column `addr` of `GetHost` (`inet`)",
    ] {
        assert!(
            rendered.contains(expected),
            "{expected:?} not in\n{rendered}"
        );
    }
    // Generation still succeeds: the warning is about the user's Cargo.toml.
    assert_eq!(output.queries, 2);
}

#[tokio::test]
async fn declared_features_silence_the_warning() {
    let output = generate("runtime_features = [\"with-cidr\", \"text-search\"]\n").await;
    assert_eq!(warnings(&output), []);

    // Only the undeclared one is left.
    let output = generate("runtime_features = [\"with-cidr\"]\n").await;
    assert_eq!(
        warnings(&output),
        [(
            "hosts.sql:4:10".to_string(),
            "`tsvector` needs the `quarry` feature `text-search`".to_string()
        )]
    );

    // Without the default features, `uuid` needs `with-uuid` too, and the help
    // line keeps `default-features = false` and the declared features.
    let output = generate(
        "runtime_features = [\"with-cidr\", \"text-search\"]\nruntime_default_features = false\n",
    )
    .await;
    assert_eq!(
        warnings(&output),
        [(
            "hosts.sql:4:10".to_string(),
            "`uuid` needs the `quarry` feature `with-uuid`".to_string()
        )]
    );
    let rendered = output.warnings[0].render();
    assert!(
        rendered.contains("default-features = false, features = [\"with-uuid\"]")
            && rendered
                .contains("runtime_features = [\"with-cidr\", \"text-search\", \"with-uuid\"]"),
        "{rendered}"
    );
}

/// The packages in `cargo tree -p quarry -e normal` with `args` added.
fn quarry_tree(args: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let manifest = quarry_tests::workspace_root().join("Cargo.toml");
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "quarry",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cargo tree: {e}"));
    assert!(
        output.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn optional_crates_are_dependencies_only_with_their_features() {
    let optional = ["cidr", "eui48", "bit-vec"];
    let defaults = ["chrono", "uuid", "serde_json", "rust_decimal"];
    let has = |tree: &[String], name: &str| tree.iter().any(|package| package == name);

    let default_tree = quarry_tree(&[]);
    for name in optional {
        assert!(!has(&default_tree, name), "`{name}` with default features");
    }
    for name in defaults {
        assert!(
            has(&default_tree, name),
            "`{name}` missing with default features"
        );
    }

    let with_features = quarry_tree(&["--features", "with-cidr,with-eui48,with-bit-vec"]);
    for name in optional.iter().chain(&defaults) {
        assert!(
            has(&with_features, name),
            "`{name}` missing with its feature"
        );
    }

    let bare = quarry_tree(&["--no-default-features"]);
    for name in optional.iter().chain(&defaults) {
        assert!(!has(&bare, name), "`{name}` without default features");
    }
}

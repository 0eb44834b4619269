//! The modules under `tests/src/generated/` are exactly what the generator
//! produces today from `tests/types/*.toml`: regenerating them in-process
//! gives byte-identical files (the `codegen check` of this crate), so stale
//! generated code fails the suite.
//!
//! To regenerate after a generator or input change:
//! `QUARRY_BLESS=1 cargo test -p quarry-tests --test types_generated`.

use std::path::{Path, PathBuf};

use codegen::write::Staleness;

/// Every configuration, relative to the workspace root.
const CONFIGS: [&str; 6] = [
    "tests/types/catalog.toml",
    "tests/types/chrono.toml",
    "tests/types/time.toml",
    "tests/types/jiff.toml",
    "tests/types/derives.toml",
    "tests/types/resilience.toml",
];

fn config(path: &Path) -> codegen::Config {
    let file = codegen::config::read_config_file(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let required = |what: &str, value: Option<PathBuf>| {
        value.unwrap_or_else(|| panic!("{} sets no `{what}`", path.display()))
    };
    codegen::Config {
        queries: required("queries", file.queries),
        more_queries: Vec::new(),
        schema: file
            .schema
            .unwrap_or_else(|| panic!("{} sets no `schema`", path.display())),
        out: required("out", file.out),
        types: file.types,
    }
}

// The only test of this binary: it changes the working directory to the
// workspace root so the input paths recorded in the generated headers are the
// ones `cargo run -p codegen -- --config tests/types/<name>.toml` records.
#[tokio::test]
async fn generated_type_modules_are_up_to_date() {
    std::env::set_current_dir(quarry_tests::workspace_root())
        .unwrap_or_else(|e| panic!("cd to the workspace root: {e}"));
    let bless = std::env::var_os("QUARRY_BLESS").is_some_and(|v| !v.is_empty());
    let mut stale = Vec::new();
    for path in CONFIGS {
        let config = config(Path::new(path));
        let output = match codegen::generate(&config, quarry_tests::server()).await {
            Ok(output) => output,
            Err(codegen::Error::Diagnostics(d)) => panic!("{path}:\n{d}"),
            Err(e) => panic!("{path}: {e}"),
        };
        assert!(
            output.warnings.is_empty(),
            "{path}: unexpected warnings:\n{}",
            output
                .warnings
                .iter()
                .map(ToString::to_string)
                .collect::<String>()
        );
        if bless {
            codegen::write::write_files(&config.out, &output.files)
                .unwrap_or_else(|e| panic!("{path}: write: {e}"));
            continue;
        }
        for file in codegen::write::check_files(&config.out, &output.files)
            .unwrap_or_else(|e| panic!("{path}: check: {e}"))
        {
            let reason = match file.reason {
                Staleness::Missing => "missing",
                Staleness::Different => "out of date",
                Staleness::Extra => "no longer generated",
            };
            stale.push(format!(
                "{} ({reason})\n{}",
                file.path.display(),
                file.diff.unwrap_or_default()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated code; regenerate with \
         `QUARRY_BLESS=1 cargo test -p quarry-tests --test types_generated`:\n{}",
        stale.join("\n")
    );
}

//! The build.rs example (`examples/build-app`) built the way a fresh clone is
//! built in CI: in a copy outside the workspace, with no PostgreSQL server
//! reachable and the server binaries hidden from `PATH` and from the search
//! directories. The committed `src/db/` matches its inputs' hash, so the build
//! script does nothing and the package compiles; after a query edit the same
//! build fails and says how to regenerate.
//!
//! The copy is built with its own target directory under the workspace's
//! `target/` (`target/build-app-test/`), so only the first run compiles the
//! dependencies (a minute or two); later runs take seconds.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use quarry_tests::workspace_root;

const REGENERATE_HINT: &str = "regenerate it with `cargo run -p codegen`";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let target = to.join(entry.file_name());
        if entry.file_name() == "target" {
            continue;
        }
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

/// The directory cargo builds into: the one holding this test binary
/// (`<target>/debug/deps/build_script-…`), else the workspace's `target/`.
fn target_root() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .filter(|dir| dir.join("CACHEDIR.TAG").is_file() || dir.join("debug").is_dir())
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The example's own manifest made a workspace of its own: the workspace's
/// `[workspace.package]` and `[workspace.dependencies]` appended, with the
/// `path` dependencies (`codegen`, `quarry`) made absolute.
fn standalone_manifest(example_manifest: &str, workspace_manifest: &str, root: &Path) -> String {
    let mut manifest = format!(
        "{example_manifest}\n# Added by tests/tests/build_script.rs: a workspace of its own.\n[workspace]\n"
    );
    let mut keep = false;
    for line in workspace_manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            keep = trimmed == "[workspace.package]" || trimmed == "[workspace.dependencies]";
        }
        if !keep {
            continue;
        }
        let line = match line.split_once("path = \"") {
            Some((before, after)) if !after.starts_with('/') => {
                format!("{before}path = \"{}/{after}", root.display())
            }
            _ => line.to_string(),
        };
        manifest.push_str(&line);
        manifest.push('\n');
    }
    manifest
}

/// `PATH` without the directories that hold PostgreSQL server binaries.
fn path_without_postgres() -> OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|dir| {
            !["initdb", "pg_ctl", "postgres"]
                .iter()
                .any(|bin| dir.join(bin).exists())
        })
        .collect();
    std::env::join_paths(kept).unwrap_or_else(|e| panic!("{e}"))
}

fn cargo_build(project: &Path, target_dir: &Path) -> (Output, f64) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let output = Command::new(cargo)
        .args(["build", "--offline", "--manifest-path"])
        .arg(project.join("Cargo.toml"))
        .current_dir(project)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("PATH", path_without_postgres())
        .env("QUARRY_PG_ROOT", "")
        .env_remove("QUARRY_PG_BIN")
        .env_remove("DATABASE_URL")
        // Not this test's package: let cargo compute the example's own.
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .output()
        .unwrap_or_else(|e| panic!("run cargo: {e}"));
    (output, started.elapsed().as_secs_f64())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn generated_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
            (
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                bytes,
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn build_rs_example_builds_without_postgres_and_asks_for_regeneration_after_an_edit() {
    let root = workspace_root();
    let example = root.join("examples/build-app");
    let build_dir = target_root().join("build-app-test");
    let target_dir = build_dir.join("target");
    // A fixed location (not a fresh temporary directory) so the example's own
    // artifacts are reused instead of piling up, one set per run.
    let project = build_dir.join("project");
    if project.exists() {
        std::fs::remove_dir_all(&project).unwrap_or_else(|e| panic!("{e}"));
    }
    copy_dir(&example, &project);
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let manifest = standalone_manifest(
        &read(example.join("Cargo.toml")),
        &read(root.join("Cargo.toml")),
        &root,
    );
    std::fs::write(project.join("Cargo.toml"), manifest).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(root.join("Cargo.lock"), project.join("Cargo.lock"))
        .unwrap_or_else(|e| panic!("{e}"));
    let committed = generated_files(&example.join("src/db"));

    // 1. Hash matches: the build script does nothing and needs no server.
    let cold = !target_dir.join("debug").exists();
    let (output, first) = cargo_build(&project, &target_dir);
    eprintln!(
        "build with matching hash: {first:.1}s ({} target dir)",
        if cold { "cold" } else { "warm" }
    );
    assert!(
        output.status.success(),
        "the example must build with no PostgreSQL when the committed output is current:\n{}",
        text(&output.stderr)
    );
    assert_eq!(
        generated_files(&project.join("src/db")),
        committed,
        "an up-to-date build must not touch src/db"
    );

    // 2. A query edit: the build script must regenerate, cannot, and says how.
    let query_file = project.join("queries/todo.sql");
    let original = read(query_file.clone());
    let edited = format!(
        "{original}\n-- name: CountLists :one\n-- How many lists there are.\nSELECT count(*) AS lists FROM lists;\n"
    );
    std::fs::write(&query_file, edited).unwrap_or_else(|e| panic!("{e}"));
    let (output, second) = cargo_build(&project, &target_dir);
    eprintln!("build after a query edit (fails): {second:.1}s");
    let stderr = text(&output.stderr);
    assert!(
        !output.status.success(),
        "a stale build must fail without PostgreSQL:\n{stderr}"
    );
    assert!(
        stderr.contains(REGENERATE_HINT),
        "the failure must say how to regenerate:\n{stderr}"
    );
    // The hint names the inputs that changed since generation, and only those.
    let hint = stderr
        .lines()
        .find(|line| line.contains(REGENERATE_HINT))
        .unwrap_or_default();
    assert!(
        hint.contains("queries/todo.sql") && !hint.contains("schema/"),
        "the failure must name the changed file (only):\n{stderr}"
    );
    assert_eq!(
        generated_files(&project.join("src/db")),
        committed,
        "a failed build must not touch src/db"
    );

    // 3. Undoing the edit makes the build pass again, still with no server.
    std::fs::write(&query_file, original).unwrap_or_else(|e| panic!("{e}"));
    let (output, third) = cargo_build(&project, &target_dir);
    eprintln!("build after undoing the edit: {third:.1}s");
    assert!(
        output.status.success(),
        "the build must pass again once the inputs match:\n{}",
        text(&output.stderr)
    );
}

#[test]
fn standalone_manifest_makes_path_dependencies_absolute() {
    let manifest = standalone_manifest(
        "[package]\nname = \"x\"\n",
        "[workspace]\nmembers = [\"a\"]\n\n[workspace.package]\nversion = \"0.1.0\"\n\n[workspace.dependencies]\nquarry = { path = \"runtime\" }\ntokio = \"1\"\n\n[profile.dev]\nopt-level = 1\n",
        Path::new("/repo"),
    );
    assert!(manifest.contains("[workspace]\n[workspace.package]\nversion = \"0.1.0\"\n"));
    assert!(manifest.contains("quarry = { path = \"/repo/runtime\" }\ntokio = \"1\"\n"));
    assert!(!manifest.contains("members"));
    assert!(!manifest.contains("opt-level"));
}

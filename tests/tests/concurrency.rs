//! Two generator runs at once on one machine (as two crates' build scripts
//! under one `cargo build` would be) share the ephemeral-cluster template
//! cache without interfering: both succeed, with the committed output, and
//! leave no cluster, half-built template or server behind.
//!
//! The runs get a private temp directory (`TMPDIR`) so that they start on a
//! cache of their own — first empty (both race to build the template), then
//! warm (both race for the spare data directory) — without touching the
//! cache other tests use at the same time.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use quarry_tests::workspace_root;

/// The `codegen` binary next to this test binary, built if needed (a no-op
/// under a workspace `cargo test`, which builds it for codegen's own tests).
fn codegen_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
        // <target>/<profile>/deps/concurrency-…
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .unwrap_or_else(|| panic!("unexpected test binary path {}", exe.display()));
        let target_dir = profile_dir.parent().unwrap_or(profile_dir);
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--quiet", "-p", "codegen", "--bin", "codegen"])
            .arg("--manifest-path")
            .arg(workspace_root().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", target_dir);
        if profile_dir
            .file_name()
            .is_some_and(|name| name == "release")
        {
            build.arg("--release");
        }
        let status = build.status().unwrap_or_else(|e| panic!("run cargo: {e}"));
        assert!(status.success(), "building the codegen binary failed");
        profile_dir.join("codegen")
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        std::fs::copy(entry.path(), to.join(entry.file_name()))
            .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
    }
}

/// File name → bytes of every file in `dir`.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            (name.into_owned(), bytes)
        })
        .collect();
    files.sort();
    files
}

/// Names of the entries of `dir` (recursively, relative), sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(root).unwrap_or(&path);
            out.push(relative.display().to_string());
            // Only the cache's structure, not the data directories' contents.
            if path.is_dir() && relative.components().count() < 3 {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A copy of the to-do example's inputs and configuration (output: `out/`).
fn project(parent: &Path, name: &str) -> PathBuf {
    let example = workspace_root().join("examples/build-app");
    let dir = parent.join(name);
    copy_dir(&example.join("queries"), &dir.join("queries"));
    copy_dir(&example.join("schema"), &dir.join("schema"));
    std::fs::write(
        dir.join("quarry.toml"),
        "queries = \"queries\"\nschema = \"schema\"\nout = \"out\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// Runs `codegen` in both projects at the same time, with `tmpdir` as their temp directory.
fn generate_concurrently(projects: &[PathBuf; 2], tmpdir: &Path) -> [Output; 2] {
    let children = projects.clone().map(|project| {
        Command::new(codegen_bin())
            .current_dir(&project)
            .env("TMPDIR", tmpdir)
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn codegen: {e}"))
    });
    children.map(|child| {
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("wait for codegen: {e}"))
    })
}

#[test]
fn two_generators_at_once_share_the_cluster_cache_safely() {
    let scratch = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // Private temp dir for the two runs. When running as root the server runs
    // as `postgres`, which must be able to enter it.
    let tmpdir = scratch.path().join("tmp");
    std::fs::create_dir(&tmpdir).unwrap_or_else(|e| panic!("{e}"));
    for dir in [scratch.path(), tmpdir.as_path()] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let projects = [
        project(scratch.path(), "one"),
        project(scratch.path(), "two"),
    ];
    let committed = files(&workspace_root().join("examples/build-app/src/db"));

    for round in ["cold cache", "warm cache"] {
        for project in &projects {
            let out = project.join("out");
            if out.exists() {
                std::fs::remove_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let started = Instant::now();
        let outputs = generate_concurrently(&projects, &tmpdir);
        eprintln!(
            "{round}: two concurrent runs took {:.2}s",
            started.elapsed().as_secs_f64()
        );
        for (project, output) in projects.iter().zip(&outputs) {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            eprintln!("  {}: {}", project.display(), stdout.trim());
            assert!(
                output.status.success(),
                "{round}: generation in {} failed ({}):\n{stdout}\n{stderr}",
                project.display(),
                output.status
            );
            assert_eq!(
                files(&project.join("out")),
                committed,
                "{round}: {} differs from examples/build-app/src/db",
                project.display()
            );
        }

        // Nothing left behind but the cache: one template (and spares).
        let left = tree(&tmpdir);
        assert!(
            !left
                .iter()
                .any(|name| name.starts_with("quarry-pg-") && !name.starts_with("quarry-pg-cache")),
            "{round}: cluster directories left behind: {left:?}"
        );
        let templates: Vec<&String> = left
            .iter()
            .filter(|name| name.ends_with("/template"))
            .collect();
        assert_eq!(
            templates.len(),
            1,
            "{round}: one cached template expected: {left:?}"
        );
        assert!(
            !left.iter().any(|name| name.contains("/build-")),
            "{round}: a half-built template was left behind: {left:?}"
        );
    }
}

//! Helpers for tests that run the generator as a user does: the `codegen`
//! binary, cargo on a crate of its own outside the workspace, copies of the
//! examples, and hiding the PostgreSQL server binaries.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::workspace_root;

/// The directory cargo builds into: the one holding the running test binary
/// (`<target>/debug/deps/…`), else the workspace's `target/`.
pub fn target_root() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .filter(|dir| dir.join("CACHEDIR.TAG").is_file() || dir.join("debug").is_dir())
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The target directory of the crates these tests build outside the
/// workspace (the build.rs example, a user's project): one for all of them,
/// under the workspace's `target/`, so that the dependencies they share are
/// compiled once, and only the first run takes minutes.
pub fn standalone_target_dir() -> PathBuf {
    target_root().join("standalone").join("target")
}

/// The `codegen` binary of the profile the running test binary was built
/// with, built if needed (a no-op under a workspace `cargo test`, which
/// builds it for codegen's own tests).
pub fn codegen_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
        // <target>/<profile>/deps/<test>-…
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .unwrap_or_else(|| panic!("unexpected test binary path {}", exe.display()));
        let target_dir = profile_dir.parent().unwrap_or(profile_dir);
        let mut build = cargo();
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

/// A `cargo` command (the cargo running the tests, else `cargo` on `PATH`),
/// without the variables cargo sets for this test package, so that cargo
/// computes its own for the crate it builds.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_PRIMARY_PACKAGE");
    command
}

/// Copies the directory `from` to `to`, recursively, leaving out `target/`.
pub fn copy_dir(from: &Path, to: &Path) {
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

/// `PATH` without the directories that hold PostgreSQL server binaries
/// (with `QUARRY_PG_ROOT=""` and no `QUARRY_PG_BIN`, none can be found).
pub fn path_without_postgres() -> OsString {
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

/// A crate's manifest made a workspace of its own: `manifest`, then the
/// workspace's `[workspace.package]` and `[workspace.dependencies]`, with the
/// `path` dependencies (`codegen`, `quarry`) made absolute under `root`, so
/// that `version.workspace = true` and `quarry.workspace = true` work
/// outside the workspace.
pub fn standalone_manifest(manifest: &str, workspace_manifest: &str, root: &Path) -> String {
    let mut standalone =
        format!("{manifest}\n# Added by quarry's tests: a workspace of its own.\n[workspace]\n");
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
        standalone.push_str(&line);
        standalone.push('\n');
    }
    standalone
}

/// Writes `manifest` made standalone ([`standalone_manifest`], with this
/// workspace's manifest) as `project/Cargo.toml`, and the workspace's
/// `Cargo.lock` beside it, so that `cargo --offline` resolves to the crates
/// the workspace already has.
pub fn write_standalone_crate(project: &Path, manifest: &str) {
    let root = workspace_root();
    let workspace_manifest = std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("read the workspace manifest: {e}"));
    std::fs::create_dir_all(project).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        project.join("Cargo.toml"),
        standalone_manifest(manifest, &workspace_manifest, &root),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(root.join("Cargo.lock"), project.join("Cargo.lock"))
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Lossy UTF-8 of a process's output.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// File name → bytes of every file directly in `dir`, sorted.
pub fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

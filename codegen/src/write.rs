//! Writing generated files: atomically, and only when they changed.
//!
//! Owns the output directory. A file is written to a temporary sibling and
//! renamed into place, so readers never see a torn file; unchanged files are
//! left alone (their mtime too, so cargo does not rebuild); generated files
//! that no longer correspond to any input are removed. Also compares what
//! would be written with what is on disk, for `codegen check`. Only files
//! starting with the `@generated` marker are ever deleted.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::emit::GENERATED_MARKER;
use crate::Error;

/// What a write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Files created or changed.
    pub written: Vec<PathBuf>,
    /// Files already up to date.
    pub unchanged: Vec<PathBuf>,
    /// Stale generated files removed.
    pub removed: Vec<PathBuf>,
}

/// Why a file is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    /// Would be generated but does not exist.
    Missing,
    /// Exists with different content.
    Different,
    /// A generated file that would no longer be generated.
    Extra,
}

/// A stale output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleFile {
    /// Path (output directory joined with the file name).
    pub path: PathBuf,
    /// Why.
    pub reason: Staleness,
    /// For `Different`: a short unified-style diff of the first differences.
    pub diff: Option<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Generated `.rs` files currently in `dir` (those starting with the marker).
fn existing_generated(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            let head = std::fs::read(&path).map_err(io(&path))?;
            if head.starts_with(GENERATED_MARKER.as_bytes()) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes `files` (relative to `dir`) atomically, skipping unchanged ones and
/// removing generated files that are no longer produced.
pub fn write_files(dir: &Path, files: &BTreeMap<PathBuf, String>) -> Result<WriteReport, Error> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut report = WriteReport::default();
    for (name, content) in files {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(existing) if existing == content.as_bytes() => {
                report.unchanged.push(path);
                continue;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&path)(e)),
        }
        write_atomically(&path, content.as_bytes())?;
        report.written.push(path);
    }
    for path in existing_generated(dir)? {
        let keep = path
            .strip_prefix(dir)
            .is_ok_and(|relative| files.contains_key(relative));
        if !keep {
            std::fs::remove_file(&path).map_err(io(&path))?;
            report.removed.push(path);
        }
    }
    Ok(report)
}

/// Writes `bytes` to a temporary file next to `path`, syncs it and renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Compares `files` with what is in `dir`.
pub fn check_files(dir: &Path, files: &BTreeMap<PathBuf, String>) -> Result<Vec<StaleFile>, Error> {
    let mut stale = Vec::new();
    for (name, content) in files {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(existing) if existing == content.as_bytes() => {}
            Ok(existing) => stale.push(StaleFile {
                diff: Some(short_diff(&String::from_utf8_lossy(&existing), content)),
                path,
                reason: Staleness::Different,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => stale.push(StaleFile {
                path,
                reason: Staleness::Missing,
                diff: None,
            }),
            Err(e) => return Err(io(&path)(e)),
        }
    }
    for path in existing_generated(dir)? {
        let produced = path
            .strip_prefix(dir)
            .is_ok_and(|relative| files.contains_key(relative));
        if !produced {
            stale.push(StaleFile {
                path,
                reason: Staleness::Extra,
                diff: None,
            });
        }
    }
    Ok(stale)
}

/// The first differing lines of the code below the `//` header, in
/// unified-diff style (a few lines each way); or a note that only the header
/// (the input hashes) differs.
fn short_diff(old: &str, new: &str) -> String {
    let body = |text: &str| -> Vec<String> {
        text.lines()
            .enumerate()
            .skip_while(|(_, line)| {
                line.starts_with("//") && !line.starts_with("///") && !line.starts_with("//!")
            })
            .map(|(number, line)| format!("{}:{line}", number + 1))
            .collect()
    };
    let (old, new) = (body(old), body(new));
    let strip = |numbered: &str| {
        numbered
            .split_once(':')
            .map_or(String::new(), |(_, line)| line.to_string())
    };
    let Some(first) = (0..old.len().max(new.len()))
        .find(|&i| old.get(i).map(|l| strip(l)) != new.get(i).map(|l| strip(l)))
    else {
        return "only the header's input hash differs (an input changed without changing this file's code)\n".to_string();
    };
    // Re-synchronise on the first old line that reappears in the new text within a window.
    let window = 40;
    let (mut removed, mut added) = (old.len().min(first + 5), new.len().min(first + 5));
    'sync: for (i, old_line) in old.iter().enumerate().skip(first).take(window) {
        let old_line = strip(old_line);
        if old_line.trim().is_empty() {
            continue;
        }
        for (j, new_line) in new.iter().enumerate().skip(first).take(window) {
            if strip(new_line) == old_line {
                (removed, added) = (i, j);
                break 'sync;
            }
        }
    }
    let line_of = |numbered: &str| {
        numbered
            .split_once(':')
            .map_or(String::new(), |(n, _)| n.to_string())
    };
    let at = old
        .get(first)
        .or_else(|| new.get(first))
        .map(|l| line_of(l))
        .unwrap_or_default();
    let mut out = format!("@@ line {at} @@\n");
    if let Some(context) = first.checked_sub(1).and_then(|i| old.get(i)) {
        out.push_str(&format!(" {}\n", strip(context)));
    }
    for line in old[first..removed.max(first)].iter().take(6) {
        out.push_str(&format!("-{}\n", strip(line)));
    }
    for line in new[first..added.max(first)].iter().take(6) {
        out.push_str(&format!("+{}\n", strip(line)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_changes_and_removes_stale_generated_files() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(io(Path::new("tempdir")))?;
        let file = |s: &str| format!("{GENERATED_MARKER} test\n{s}\n");
        let mut files = BTreeMap::new();
        files.insert(PathBuf::from("a.rs"), file("a"));
        files.insert(PathBuf::from("b.rs"), file("b"));
        let report = write_files(dir.path(), &files)?;
        assert_eq!(report.written.len(), 2);
        std::fs::write(dir.path().join("user.rs"), "// mine").map_err(io(dir.path()))?;
        files.insert(PathBuf::from("a.rs"), file("a2"));
        files.remove(&PathBuf::from("b.rs"));
        let stale = check_files(dir.path(), &files)?;
        let reasons: Vec<_> = stale.iter().map(|s| s.reason).collect();
        assert_eq!(reasons, vec![Staleness::Different, Staleness::Extra]);
        let report = write_files(dir.path(), &files)?;
        assert_eq!(report.written, vec![dir.path().join("a.rs")]);
        assert_eq!(report.removed, vec![dir.path().join("b.rs")]);
        assert!(
            dir.path().join("user.rs").exists(),
            "non-generated files are never removed"
        );
        assert!(check_files(dir.path(), &files)?.is_empty());
        Ok(())
    }
}

//! The bad-input corpus (`tests/corpus/`, see its README): every case is run
//! through the `codegen` binary against the shared test server and must
//! either fail cleanly — exit status 2, rustc-style `file:line:col`
//! diagnostics, no panic, the output directory untouched — or succeed, in
//! which case its generated modules are compiled, all cases in one crate,
//! with `cargo clippy -- -D warnings`. The rendered stderr of every case is
//! compared with the case's `expected.txt`; `QUARRY_BLESS=1` rewrites them.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use quarry_tests::{codegen_bin, server, target_root, workspace_root};

/// Cases run at once (each is a `codegen` process talking to the server).
const WORKERS: usize = 4;
/// A case taking longer than this is killed and reported.
const CASE_TIMEOUT: Duration = Duration::from_secs(120);
/// What the runner puts in the output directory before a run; a failed run
/// must leave it (and everything else there) as it was.
const SENTINEL: (&str, &str) = ("SENTINEL.txt", "written by tests/tests/corpus.rs\n");
const BLESS_HINT: &str = "QUARRY_BLESS=1 cargo test -p quarry-tests --test corpus";

fn corpus_dir() -> PathBuf {
    workspace_root().join("tests/corpus")
}

/// Every case directory (one with a `queries/` directory), sorted by name.
fn cases() -> Vec<(String, PathBuf)> {
    let dir = corpus_dir();
    let mut cases: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap_or_else(|e| panic!("{e}")).path())
        .filter(|path| path.is_dir())
        .map(|path| {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, path)
        })
        .collect();
    cases.sort();
    cases
}

// ---------------------------------------------------------------------------
// Generated inputs: `<file>.gen` recipes.

/// Expands a `.gen` recipe into the bytes of the file it stands for. Lines:
/// `text "…"` appends a string, `repeat N "…"` appends it N times; `#`
/// starts a comment. Strings take `\n \r \t \0 \\ \" \xNN` (a raw byte, so
/// invalid UTF-8 can be written) and `\u{…}`.
fn expand_recipe(recipe: &str, origin: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for (number, line) in recipe.lines().enumerate() {
        let fail =
            |why: &str| -> ! { panic!("{}:{}: {why}: {line}", origin.display(), number + 1) };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (count, literal) = if let Some(rest) = line.strip_prefix("text ") {
            (1, rest.trim())
        } else if let Some(rest) = line.strip_prefix("repeat ") {
            let (count, literal) = rest
                .trim()
                .split_once(' ')
                .unwrap_or_else(|| fail("expected `repeat N \"…\"`"));
            let count: usize = count.parse().unwrap_or_else(|_| fail("bad repeat count"));
            (count, literal.trim())
        } else {
            fail("expected `text \"…\"` or `repeat N \"…\"`")
        };
        let bytes = unescape(literal).unwrap_or_else(|why| fail(&why));
        for _ in 0..count {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

fn unescape(literal: &str) -> Result<Vec<u8>, String> {
    let inner = literal
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or("expected a quoted string")?;
    let mut out = Vec::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buffer = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('r') => out.push(b'\r'),
            Some('t') => out.push(b'\t'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('"') => out.push(b'"'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16).map_err(|_| format!("bad \\x{hex}"))?;
                out.push(byte);
            }
            Some('u') => {
                let rest: String = chars.by_ref().take_while(|&c| c != '}').collect();
                let code = rest
                    .strip_prefix('{')
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad \\u{rest}}}"))?;
                let mut buffer = [0; 4];
                out.extend_from_slice(code.encode_utf8(&mut buffer).as_bytes());
            }
            other => return Err(format!("unknown escape \\{}", other.unwrap_or(' '))),
        }
    }
    Ok(out)
}

/// Copies `from` to `to` (a file or a directory, recursively), expanding
/// `x.gen` recipes into `x`.
fn copy_input(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
        for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
            let entry = entry.unwrap_or_else(|e| panic!("{e}"));
            copy_input(&entry.path(), &to.join(entry.file_name()));
        }
    } else if from.extension().is_some_and(|e| e == "gen") {
        let recipe =
            std::fs::read_to_string(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        std::fs::write(to.with_extension(""), expand_recipe(&recipe, from))
            .unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    } else {
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// The case's inputs laid out as a project in `project`: `queries/`, the
/// schema (the case's own or the shared one), `quarry.toml`, and `out/`
/// holding only the sentinel.
fn materialise(case: &Path, project: &Path) {
    copy_input(&case.join("queries"), &project.join("queries"));
    let schema = if case.join("schema").is_dir() {
        copy_input(&case.join("schema"), &project.join("schema"));
        "schema"
    } else if case.join("schema.sql.gen").is_file() {
        copy_input(
            &case.join("schema.sql.gen"),
            &project.join("schema.sql.gen"),
        );
        "schema.sql"
    } else if case.join("schema.sql").is_file() {
        copy_input(&case.join("schema.sql"), &project.join("schema.sql"));
        "schema.sql"
    } else {
        copy_input(
            &corpus_dir().join("schema.sql"),
            &project.join("schema.sql"),
        );
        "schema.sql"
    };
    std::fs::write(
        project.join("quarry.toml"),
        format!("queries = \"queries\"\nschema = [\"{schema}\"]\nout = \"out\"\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(project.join("out")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(project.join("out").join(SENTINEL.0), SENTINEL.1)
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Relative path → bytes of every file under `dir`.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.insert(relative.display().to_string(), bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

// ---------------------------------------------------------------------------
// Running one case.

struct Run {
    /// Exit code, or `None` when killed by a signal / timed out.
    code: Option<i32>,
    /// How it ended when there is no code.
    end: String,
    stderr: String,
}

/// Runs `codegen generate` in `project` against the test server.
fn run_codegen(project: &Path, url: &str) -> Run {
    let mut child = Command::new(codegen_bin())
        .args(["generate", "--config", "quarry.toml", "--database-url", url])
        .current_dir(project)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", codegen_bin().display()));
    let mut pipe = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > CASE_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("wait for codegen: {e}"),
        }
    };
    let stderr = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    let (code, end) = match status {
        None => (None, format!("timed out after {CASE_TIMEOUT:?}")),
        Some(status) => match (status.code(), status.signal()) {
            (Some(code), _) => (Some(code), format!("exit status {code}")),
            (None, Some(signal)) => (None, format!("killed by signal {signal}")),
            (None, None) => (None, format!("{status}")),
        },
    };
    Run { code, end, stderr }
}

/// Replaces what differs between runs: the project's temporary path, the
/// server URL, scratch database names, timings.
fn normalise(text: &str, project: &Path, url: &str) -> String {
    let mut text = text.to_string();
    let canonical = project
        .canonicalize()
        .unwrap_or_else(|_| project.to_path_buf());
    for path in [canonical, project.to_path_buf()] {
        text = text.replace(&path.display().to_string(), "<project>");
    }
    text = text.replace(url, "<database-url>");
    text = replace_after(
        &text,
        "quarry_gen_",
        |c| c.is_ascii_digit() || c == '_',
        "<n>",
    );
    replace_timings(&text)
}

/// Replaces every run of characters matching `part` right after `prefix`.
fn replace_after(text: &str, prefix: &str, part: impl Fn(char) -> bool, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let after = &rest[at + prefix.len()..];
        let len = after.find(|c: char| !part(c)).unwrap_or(after.len());
        out.push_str(&rest[..at + prefix.len()]);
        if len > 0 {
            out.push_str(with);
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// `1.23s` / `45ms` → `<time>`.
fn replace_timings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let boundary = i == 0 || !chars[i - 1].is_alphanumeric();
        if boundary && chars[i].is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            let unit = ["ms", "s"].into_iter().find(|unit| {
                let end = j + unit.len();
                end <= chars.len()
                    && chars[j..end].iter().copied().eq(unit.chars())
                    && !matches!(chars.get(end), Some(c) if c.is_alphanumeric())
            });
            let decimal = chars[i..j].contains(&'.');
            if let Some(unit) = unit.filter(|unit| decimal || *unit == "ms") {
                out.push_str("<time>");
                i = j + unit.len();
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Checks the rustc layout of every error in `stderr`: `error: …`, then
/// ` --> path:line:col`, ` |`, `N | source`, and a caret line. Returns the
/// number of such errors, or what is wrong.
fn check_error_layout(stderr: &str) -> Result<usize, String> {
    let lines: Vec<&str> = stderr.lines().collect();
    let mut errors = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(message) = line.strip_prefix("error: ") else {
            continue;
        };
        if message.starts_with("aborting due to") {
            continue;
        }
        let at = |n: usize| lines.get(i + n).copied().unwrap_or_default();
        let location = at(1).trim_start().strip_prefix("--> ");
        let position_ok = location.is_some_and(|location| {
            let mut parts = location.rsplitn(3, ':');
            let col = parts.next().unwrap_or_default();
            let line = parts.next().unwrap_or_default();
            let path = parts.next().unwrap_or_default();
            !path.is_empty()
                && [line, col]
                    .iter()
                    .all(|n| n.parse::<usize>().is_ok_and(|n| n > 0))
        });
        if !position_ok {
            return Err(format!(
                "`error: {message}` has no ` --> file:line:col` line"
            ));
        }
        let gutter_ok = at(2).trim() == "|";
        let source_ok = at(3)
            .split_once(" | ")
            .or_else(|| at(3).split_once(" |"))
            .is_some_and(|(number, _)| number.parse::<usize>().is_ok());
        let caret_ok = at(4).trim_start().starts_with('|') && at(4).contains('^');
        if !(gutter_ok && source_ok && caret_ok) {
            return Err(format!(
                "`error: {message}` lacks the source line and caret:\n{}\n{}\n{}",
                at(2),
                at(3),
                at(4)
            ));
        }
        errors += 1;
    }
    if errors == 0 {
        return Err("no `error: …` diagnostic".to_string());
    }
    if !stderr.contains("nothing was written") {
        return Err("no `…; nothing was written` summary".to_string());
    }
    Ok(errors)
}

enum Outcome {
    Accepted { files: Vec<String> },
    Rejected,
}

struct CaseResult {
    name: String,
    outcome: Option<Outcome>,
    /// Everything wrong with the case (empty: it passed).
    problems: Vec<String>,
}

/// Runs one case; on success, copies its generated files to `crate_dir/src/<module>/`.
fn run_case(name: &str, case: &Path, url: &str, bless: bool, crate_dir: &Path) -> CaseResult {
    let mut problems = Vec::new();
    if !case.join("queries").is_dir() {
        return CaseResult {
            name: name.to_string(),
            outcome: None,
            problems: vec![format!("{} has no queries/ directory", case.display())],
        };
    }
    let temp = tempfile::Builder::new()
        .prefix("quarry-corpus-")
        .tempdir()
        .unwrap_or_else(|e| panic!("tempdir: {e}"));
    let project = temp.path().join(name);
    materialise(case, &project);
    let out = project.join("out");
    let before = tree(&out);
    let started = Instant::now();
    let run = run_codegen(&project, url);
    let elapsed = started.elapsed();
    if elapsed > Duration::from_secs(20) {
        eprintln!("corpus: {name} took {:.1}s", elapsed.as_secs_f64());
    }
    let stderr = normalise(&run.stderr, &project, url);
    for needle in ["panicked", "RUST_BACKTRACE", "overflowed its stack"] {
        if stderr.contains(needle) {
            problems.push(format!("stderr contains `{needle}` (a crash)"));
        }
    }
    let after = tree(&out);
    let (outcome, rendered) = match run.code {
        Some(0) => {
            let files: Vec<String> = after
                .keys()
                .filter(|file| file.as_str() != SENTINEL.0)
                .cloned()
                .collect();
            if !files.iter().any(|f| f == "mod.rs") {
                problems.push(format!("success but no mod.rs was generated: {files:?}"));
            }
            let module = crate_dir.join("src").join(module_name(name));
            for file in &files {
                let target = module.join(file);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
                }
                std::fs::write(&target, &after[file]).unwrap_or_else(|e| panic!("{e}"));
            }
            let rendered = format!("ok: generated {}\n{stderr}", files.join(", "));
            (Some(Outcome::Accepted { files }), rendered)
        }
        Some(2) => {
            if let Err(why) = check_error_layout(&stderr) {
                problems.push(format!("not a rustc-style diagnostic: {why}"));
            }
            if after != before {
                let changed: Vec<&String> = after
                    .keys()
                    .chain(before.keys())
                    .filter(|file| after.get(*file) != before.get(*file))
                    .collect();
                problems.push(format!("the output directory was touched: {changed:?}"));
            }
            (Some(Outcome::Rejected), format!("error (exit 2)\n{stderr}"))
        }
        _ => {
            problems.push(format!("expected exit status 0 or 2, got {}", run.end));
            (None, format!("{}\n{stderr}", run.end))
        }
    };
    let expected_path = case.join("expected.txt");
    match std::fs::read_to_string(&expected_path) {
        _ if bless => {
            std::fs::write(&expected_path, &rendered)
                .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        }
        Ok(expected) if expected == rendered => {}
        Ok(expected) => problems.push(format!(
            "stderr differs from expected.txt (- expected, + actual; bless with `{BLESS_HINT}`):\n{}",
            diff(&expected, &rendered)
        )),
        Err(_) => problems.push(format!(
            "no expected.txt; run `{BLESS_HINT}` to create it. The run gave:\n{rendered}"
        )),
    }
    CaseResult {
        name: name.to_string(),
        outcome,
        problems,
    }
}

/// The case's module in the compile-check crate.
fn module_name(case: &str) -> String {
    let clean: String = case
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("case_{clean}")
}

/// A line diff (longest common subsequence), `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Compiling the accepted cases.

/// Writes the check crate's manifest, lockfile and `lib.rs` (one module per
/// accepted case) and runs clippy on it; returns clippy's output on failure.
fn clippy_accepted(crate_dir: &Path, modules: &[String]) -> Result<f64, String> {
    let root = workspace_root();
    let manifest = format!(
        "[package]\nname = \"quarry-corpus-check\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nquarry = {{ path = \"{}\" }}\n\n\
         # Written by tests/tests/corpus.rs: a workspace of its own.\n[workspace]\n",
        root.join("runtime").display()
    );
    std::fs::write(crate_dir.join("Cargo.toml"), manifest).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(root.join("Cargo.lock"), crate_dir.join("Cargo.lock"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut lib = String::from(
        "//! Generated by tests/tests/corpus.rs: the accepted corpus cases' modules.\n\
         #![deny(warnings)]\n\n",
    );
    for module in modules {
        lib.push_str(&format!("pub mod {module};\n"));
    }
    std::fs::write(crate_dir.join("src/lib.rs"), lib).unwrap_or_else(|e| panic!("{e}"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let output = Command::new(cargo)
        .args([
            "clippy",
            "--offline",
            "--all-targets",
            "--quiet",
            "--manifest-path",
        ])
        .arg(crate_dir.join("Cargo.toml"))
        .args(["--", "-D", "warnings"])
        .current_dir(crate_dir)
        .env(
            "CARGO_TARGET_DIR",
            crate_dir.parent().unwrap_or(crate_dir).join("target"),
        )
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .output()
        .unwrap_or_else(|e| panic!("run cargo clippy: {e}"));
    if output.status.success() {
        Ok(started.elapsed().as_secs_f64())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn corpus() {
    let bless = std::env::var_os("QUARRY_BLESS").is_some_and(|v| !v.is_empty() && v != "0");
    let cases = cases();
    assert!(!cases.is_empty(), "no cases in {}", corpus_dir().display());
    let url = server().url(None);
    // Built before the workers start, so they do not race to build it.
    codegen_bin();

    // The compile-check crate lives under the target directory, so its
    // dependencies (quarry's) are compiled once and reused by later runs.
    let check_dir = target_root().join("corpus-check");
    let crate_dir = check_dir.join("crate");
    if crate_dir.join("src").exists() {
        std::fs::remove_dir_all(crate_dir.join("src")).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::create_dir_all(crate_dir.join("src")).unwrap_or_else(|e| panic!("{e}"));

    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<CaseResult>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some((name, dir)) = cases.get(index) else {
                    break;
                };
                let result = run_case(name, dir, &url, bless, &crate_dir);
                results
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(result);
            });
        }
    });
    let mut results = results
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    results.sort_by(|a, b| a.name.cmp(&b.name));
    let generation = started.elapsed().as_secs_f64();

    let accepted: Vec<&CaseResult> = results
        .iter()
        .filter(|r| matches!(r.outcome, Some(Outcome::Accepted { .. })))
        .collect();
    let rejected = results
        .iter()
        .filter(|r| matches!(r.outcome, Some(Outcome::Rejected)))
        .count();
    let mut failures: Vec<String> = results
        .iter()
        .filter(|r| !r.problems.is_empty())
        .map(|r| format!("case `{}`:\n  {}", r.name, r.problems.join("\n  ")))
        .collect();

    let case_problems = failures.len();
    let modules: Vec<String> = accepted.iter().map(|r| module_name(&r.name)).collect();
    let clippy = if modules.is_empty() {
        "no accepted case to compile".to_string()
    } else {
        match clippy_accepted(&crate_dir, &modules) {
            Ok(seconds) => format!(
                "clippy -D warnings on {} accepted cases: ok ({seconds:.1}s)",
                modules.len()
            ),
            Err(output) => {
                let names: Vec<String> = accepted
                    .iter()
                    .map(|r| match &r.outcome {
                        Some(Outcome::Accepted { files }) => {
                            format!(
                                "{} → {} ({})",
                                r.name,
                                module_name(&r.name),
                                files.join(", ")
                            )
                        }
                        _ => String::new(),
                    })
                    .collect();
                failures.push(format!(
                    "the accepted cases' generated code does not pass `cargo clippy -- -D warnings` (crate: {}):\n{output}\ncases:\n  {}",
                    crate_dir.display(),
                    names.join("\n  ")
                ));
                "clippy failed".to_string()
            }
        }
    };
    let summary = format!(
        "corpus: {} cases ({} accepted, {rejected} rejected, {} with problems) in {generation:.1}s; {clippy}{}",
        results.len(),
        accepted.len(),
        case_problems,
        if bless { "; expected.txt files blessed" } else { "" }
    );
    println!("{summary}");
    assert!(
        failures.is_empty(),
        "{summary}\n\n{}",
        failures.join("\n\n")
    );
}

#[test]
fn recipes_expand_escapes_and_repeats() {
    let recipe =
        "# comment\ntext \"a\\tb\\n\"\nrepeat 3 \" + 1\"\ntext \"\\xff\\0\\u{feff}\\\"\\\\\"\n";
    assert_eq!(
        expand_recipe(recipe, Path::new("x.gen")),
        b"a\tb\n + 1 + 1 + 1\xff\0\xef\xbb\xbf\"\\".to_vec()
    );
}

#[test]
fn normalisation_hides_paths_databases_and_timings() {
    let project = Path::new("/tmp/quarry-corpus-x/case");
    let text = "error: in /tmp/quarry-corpus-x/case/queries/a.sql on quarry_gen_12_3_456 after 1.25s and 30ms at postgres://h/db, not 12s or v1.2s\n";
    assert_eq!(
        normalise(text, project, "postgres://h/db"),
        "error: in <project>/queries/a.sql on quarry_gen_<n> after <time> and <time> at <database-url>, not 12s or v1.2s\n"
    );
}

#[test]
fn error_layout_check_requires_position_source_and_caret() {
    let good = "error: bad\n --> queries/a.sql:2:3\n  |\n2 | SELECT\n  |   ^ here\n\nerror: aborting due to 1 error; nothing was written\n";
    assert_eq!(check_error_layout(good), Ok(1));
    let no_position =
        "error: schema error: boom\n\nerror: aborting due to 1 error; nothing was written\n";
    assert!(check_error_layout(no_position).is_err());
    let no_caret = "error: bad\n --> queries/a.sql:2:3\n  |\n2 | SELECT\n\nerror: aborting due to 1 error; nothing was written\n";
    assert!(check_error_layout(no_caret).is_err());
    assert!(check_error_layout("warning: w\n").is_err());
}

#[test]
fn diff_marks_changed_lines() {
    assert_eq!(diff("a\nb\nc\n", "a\nx\nc\n"), "  a\n- b\n+ x\n  c\n");
}

//! The nullability corpus: `tests/nullability/*.sql` against
//! `tests/nullability/schema.sql`.
//!
//! Every query of the corpus carries one doc line `-- expect: a, b?, c` that
//! lists each output column in order, `?` marking the columns that may be
//! NULL (`Option<T>`) and no `?` the ones that must be inferred non-null
//! (`T`). This test runs the generator on the whole corpus, compares the
//! final nullability of every column (after overrides) with its expectation
//! and reports every mismatch at once:
//!
//! * expected nullable, got non-null: a **soundness bug** — the generated
//!   code would type as `T` a column that can be NULL;
//! * expected non-null, got nullable: a precision miss.
//!
//! It also prints statistics over the corpus (run with `--nocapture`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use quarry_tests::{server, workspace_root};

/// The corpus must stay large enough to mean something.
const MIN_QUERIES: usize = 80;

/// The schema file of the corpus (every other `.sql` file holds queries).
const SCHEMA_FILE: &str = "schema.sql";

/// One query's `-- expect:` line.
struct Expectation {
    /// Query name.
    query: String,
    /// `file:line` of the expect line.
    at: String,
    /// `(column, nullable)` in order.
    columns: Vec<(String, bool)>,
}

/// A column whose inferred nullability differs from its expectation.
struct Mismatch {
    at: String,
    query: String,
    column: String,
    pg_type: String,
    computed: bool,
}

fn corpus_dir() -> PathBuf {
    workspace_root().join("tests/nullability")
}

/// The query files of the corpus, sorted.
fn query_files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap_or_else(|e| panic!("{e}")).path())
        .filter(|path| {
            path.is_file()
                && path.extension().is_some_and(|e| e == "sql")
                && path.file_name().is_some_and(|n| n != SCHEMA_FILE)
        })
        .collect();
    files.sort();
    files
}

/// Parses the text after `expect:` into `(column, nullable)` pairs.
fn parse_columns(list: &str) -> Result<Vec<(String, bool)>, String> {
    list.split(',')
        .map(|item| {
            let item = item.trim();
            let (name, nullable) = match item.strip_suffix('?') {
                Some(name) => (name.trim(), true),
                None => (item, false),
            };
            let valid =
                !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
            if valid {
                Ok((name.to_string(), nullable))
            } else {
                Err(format!("invalid column `{item}` in expect line"))
            }
        })
        .collect()
}

/// Reads every expectation of the corpus; problems with the corpus itself go
/// to `errors`. A query's expectation is among the comment lines right after
/// its `-- name:` header (its doc comment).
fn load_expectations(files: &[PathBuf], errors: &mut Vec<String>) -> Vec<Expectation> {
    let root = workspace_root();
    let mut out = Vec::new();
    for path in files {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let shown = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        let lines: Vec<&str> = text.lines().map(str::trim_start).collect();
        for (index, line) in lines.iter().enumerate() {
            let Some(header) = line.strip_prefix("-- name:") else {
                continue;
            };
            let name = header.split_whitespace().next().unwrap_or_default();
            let lists: Vec<(usize, &str)> = lines[index + 1..]
                .iter()
                .enumerate()
                .take_while(|(_, doc)| doc.starts_with("--") && !doc.starts_with("-- name:"))
                .filter_map(|(offset, doc)| {
                    let list = doc.strip_prefix("--")?.trim().strip_prefix("expect:")?;
                    Some((index + offset + 2, list))
                })
                .collect();
            let [(line, list)] = lists.as_slice() else {
                errors.push(format!(
                    "{shown}:{}: query `{name}` needs exactly one `-- expect:` line, has {}",
                    index + 1,
                    lists.len()
                ));
                continue;
            };
            let at = format!("{shown}:{line}");
            match parse_columns(list) {
                Ok(columns) => out.push(Expectation {
                    query: name.to_string(),
                    at,
                    columns,
                }),
                Err(message) => errors.push(format!("{at}: query `{name}`: {message}")),
            }
        }
    }
    out
}

/// Runs the generator on the corpus, in memory (the corpus directory also
/// holds the schema).
async fn generate_corpus(files: &[PathBuf]) -> codegen::Output {
    let root = workspace_root();
    let shown = |path: &Path| path.strip_prefix(&root).unwrap_or(path).to_path_buf();
    let read = |path: &Path| {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let mut sources = codegen::Sources::new(codegen::config::TypeConfig::default());
    for file in files {
        sources.query_file(shown(file), read(file));
    }
    let schema = corpus_dir().join(SCHEMA_FILE);
    sources.schema_file(shown(&schema), read(&schema));
    match codegen::generate_sources(&sources, server()).await {
        Ok(output) => output,
        Err(error) => panic!("the nullability corpus does not generate:\n{error}"),
    }
}

fn count(iter: impl Iterator<Item = bool>) -> usize {
    iter.filter(|&b| b).count()
}

fn list_mismatches(out: &mut String, mismatches: &[Mismatch], verdict: &str) {
    for m in mismatches {
        let kind = if m.computed { "computed" } else { "column" };
        let _ = writeln!(
            out,
            "  {}  {}.{}  {verdict}  ({kind}, {})",
            m.at, m.query, m.column, m.pg_type
        );
    }
}

#[tokio::test]
async fn nullability_corpus() {
    let files = query_files(&corpus_dir());
    let mut corpus_errors = Vec::new();
    let expectations = load_expectations(&files, &mut corpus_errors);
    let output = generate_corpus(&files).await;

    for warning in &output.warnings {
        let rendered = warning.render();
        if warning.message.contains("could not analyse") {
            // The analysis would see nothing of this query: the corpus must parse.
            corpus_errors.push(rendered);
        } else {
            println!("generator warning:\n{rendered}");
        }
    }

    let mut soundness = Vec::new();
    let mut precision = Vec::new();
    let mut expected_columns = 0;
    for expectation in &expectations {
        expected_columns += expectation.columns.len();
        let Some(report) = output.reports.iter().find(|r| r.name == expectation.query) else {
            corpus_errors.push(format!(
                "{}: query `{}` has no report",
                expectation.at, expectation.query
            ));
            continue;
        };
        let got: Vec<&str> = report.columns.iter().map(|c| c.name.as_str()).collect();
        let want: Vec<&str> = expectation
            .columns
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        if got != want {
            corpus_errors.push(format!(
                "{}: query `{}`: the expect line names columns [{}] but the query returns [{}]",
                expectation.at,
                expectation.query,
                want.join(", "),
                got.join(", ")
            ));
            continue;
        }
        for (column, (_, expected_nullable)) in report.columns.iter().zip(&expectation.columns) {
            if column.nullable == *expected_nullable {
                continue;
            }
            let mismatch = Mismatch {
                at: expectation.at.clone(),
                query: expectation.query.clone(),
                column: column.name.clone(),
                pg_type: column.pg_type.clone(),
                computed: column.computed,
            };
            if *expected_nullable {
                soundness.push(mismatch);
            } else {
                precision.push(mismatch);
            }
        }
    }
    for report in &output.reports {
        if !expectations.iter().any(|e| e.query == report.name) {
            corpus_errors.push(format!("query `{}` has no expectation", report.name));
        }
    }

    // Statistics over the corpus.
    let columns: Vec<&codegen::ColumnReport> =
        output.reports.iter().flat_map(|r| &r.columns).collect();
    let inferred_non_null = count(columns.iter().map(|c| !c.inferred_nullable));
    let inferred_computed = count(columns.iter().map(|c| !c.inferred_nullable && c.computed));
    let final_non_null = count(columns.iter().map(|c| !c.nullable));
    let expected_non_null = count(
        expectations
            .iter()
            .flat_map(|e| &e.columns)
            .map(|(_, nullable)| !nullable),
    );
    println!(
        "nullability corpus: {} files, {} queries, {} columns",
        files.len(),
        output.reports.len(),
        columns.len()
    );
    println!(
        "  inferred: {inferred_non_null} non-null ({inferred_computed} of them computed expressions), {} Option",
        columns.len() - inferred_non_null
    );
    println!(
        "  after overrides: {final_non_null} non-null, {} Option",
        columns.len() - final_non_null
    );
    println!(
        "  expected: {expected_non_null} non-null, {} Option",
        expected_columns - expected_non_null
    );
    println!(
        "  mismatches: {} soundness bugs, {} precision misses",
        soundness.len(),
        precision.len()
    );

    let mut message = String::new();
    if output.reports.len() < MIN_QUERIES {
        let _ = writeln!(
            message,
            "the corpus has {} queries; it must have at least {MIN_QUERIES}\n",
            output.reports.len()
        );
    }
    if expected_columns != columns.len() {
        let _ = writeln!(
            message,
            "{} columns have an expectation, the corpus returns {}\n",
            expected_columns,
            columns.len()
        );
    }
    if !corpus_errors.is_empty() {
        let _ = writeln!(
            message,
            "errors in the corpus itself ({}):",
            corpus_errors.len()
        );
        for error in &corpus_errors {
            let _ = writeln!(message, "  {}", error.trim_end().replace('\n', "\n    "));
        }
        message.push('\n');
    }
    if !soundness.is_empty() {
        let _ = writeln!(
            message,
            "!!! SOUNDNESS BUGS ({}): expected nullable, inferred NON-NULL — these columns \
             would be typed `T` but can be NULL:",
            soundness.len()
        );
        list_mismatches(&mut message, &soundness, "expected Option<T>, got T");
        message.push('\n');
    }
    if !precision.is_empty() {
        let _ = writeln!(
            message,
            "precision misses ({}): expected non-null, inferred nullable (`Option<T>`):",
            precision.len()
        );
        list_mismatches(&mut message, &precision, "expected T, got Option<T>");
    }
    assert!(
        message.is_empty(),
        "nullability corpus failed:\n\n{message}"
    );
}

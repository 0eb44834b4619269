//! What both fuzz tests share: the seeded generator, the seed inputs and the
//! text injected into them. A test module of this crate
//! ([`crate::offline_fuzz`]) and included by `tests/tests/fuzz_inputs.rs`
//! (`#[path]`), which drives the public entry points.

use std::path::{Path, PathBuf};

/// splitmix64: small, seedable, the same sequence on every machine.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True once in `one_in` draws, on average.
    #[allow(dead_code)] // the in-crate fuzz does not need it
    pub(crate) fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Env var as a number (decimal or `0x` hex), else `default`; a value that
/// is not a number fails the test rather than silently running the default.
pub(crate) fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => {
            let text = text.trim().replace('_', "");
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={text} is not a number"))
        }
        Err(_) => default,
    }
}

/// The seed inputs: `(path relative to the workspace, bytes)` of every
/// `.sql` file with a query header under the repository's query directories
/// (`queries/`, the corpus, the nullability corpus, the type fixtures).
pub(crate) fn seed_files() -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "sql") {
                out.push(path);
            }
        }
    }
    // Both including packages sit one level below the workspace root.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut paths = Vec::new();
    for dir in [
        "queries",
        "tests/corpus",
        "tests/nullability",
        "tests/types",
    ] {
        walk(&root.join(dir), &mut paths);
    }
    paths.sort();
    paths
        .into_iter()
        // Schema files are not query files; keep files with at least one header.
        .filter_map(|path| {
            let bytes = std::fs::read(&path).ok()?;
            let name = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            String::from_utf8_lossy(&bytes)
                .contains("-- name:")
                .then_some((name, bytes))
        })
        .collect()
}

/// Text injected at random places: everything the lexer treats specially.
pub(crate) const INJECTIONS: &[&str] = &[
    "'",
    "\"",
    "$$",
    "$tag$",
    "$1",
    "$0",
    "$99999999999999999999",
    "--",
    "/*",
    "*/",
    "/* /* */",
    ":name",
    ":name?",
    ":",
    "::",
    "::int",
    "@x",
    "sqlc.arg(",
    "sqlc.narg(y)",
    "E'\\",
    "U&\"",
    "\n-- name: X :one\n",
    "\n-- name: ",
    "\n-- name: Y :many\nSELECT 1 AS y;\n",
    "\n-- name:  :exec\n",
    "\n-- @prefetch ",
    "\n-- @prefetch comments = CommentsByPost(id)\n",
    "\n-- @prefetch = (\n",
    "\n-- @key \n",
    "\n-- @key id\n",
    "\n-- @row \n",
    "\n-- @not_null \n",
    "\n-- @nullable a, , b\n",
    "AS \"x!\"",
    "AS \"?\"",
    "AS \"!\"",
    ";",
    "; SELECT 2;",
    "(",
    ")",
    "\r\n",
    "\t",
    "\u{feff}",
    "\u{0}",
    "é",
    "🎉",
    "\u{200b}",
    "\u{301}",
];

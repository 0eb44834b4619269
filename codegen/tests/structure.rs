//! The shape of the code, kept by a test: no import cycles among codegen's
//! sibling modules, and no function longer than a screen or two.
//!
//! Pure file reading (no PostgreSQL, no build of the code under test):
//!
//! * **imports** — every non-test file of `codegen/src` is parsed with `syn`;
//!   each `use crate::…`/`use super::…` tree and each `crate::…`/`super::…`
//!   path in the code becomes a dependency of the module it is written in on
//!   the module it names (through one level of `pub use` re-export). A
//!   dependency between two modules is an edge between their ancestors that
//!   are siblings (top-level modules of the crate, or the children of `pg`,
//!   `nullability`, `prefetch`, …); a child naming its parent or the crate
//!   root is not an edge. Any cycle is named.
//! * **function length** — counted exactly like `shared/tools/fnlen.py`: from
//!   the `fn` line to its closing brace, skipping `tests.rs`, `tests/` and
//!   everything after a file's first `#[cfg(test)]`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

/// Longest function allowed in `codegen/src` and `runtime/src`.
const MAX_FUNCTION_LINES: usize = 120;

fn codegen_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn runtime_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime/src")
}

fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Import cycles

/// A module path from the crate root: `["pg", "cluster"]`.
type ModulePath = Vec<String>;

/// The module a file of the library defines, or `None` for files outside the
/// library's module tree (the binary's `main.rs`, test-only `tests.rs`).
fn module_of(src: &Path, file: &Path) -> Option<ModulePath> {
    let relative = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    match last.as_str() {
        "main.rs" if parts.is_empty() => None,
        "tests.rs" => None,
        "lib.rs" if parts.is_empty() => Some(parts),
        "mod.rs" => Some(parts),
        name => {
            parts.push(name.strip_suffix(".rs")?.to_string());
            Some(parts)
        }
    }
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.meta.to_token_stream().to_string().contains("test"))
}

/// What one module's code says about other modules.
#[derive(Default)]
struct ModuleRefs {
    /// Absolute paths the module names (`crate::a::b`, `super::c` resolved).
    paths: Vec<ModulePath>,
    /// `pub use` re-exports: exported name → absolute path it stands for.
    reexports: BTreeMap<String, ModulePath>,
}

/// `super`/`crate`/`self` at the start of `path`, made absolute for code
/// written in `module`; `None` for paths into other crates.
fn absolute(module: &[String], path: &[String]) -> Option<ModulePath> {
    let mut base: Vec<String> = module.to_vec();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("super") | Some("self") => {
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "super" => {
                        base.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Every full path of a `use` tree, with the name each one is bound to.
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(ModulePath, String)>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                let bound = prefix.last().cloned().unwrap_or_default();
                out.push((prefix.clone(), bound));
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                out.push((path, name));
            }
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            path.push(r.ident.to_string());
            out.push((path, r.rename.to_string()));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), "*".to_string())),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                use_paths(tree, prefix, out);
            }
        }
    }
}

/// Macros whose tokens are code being generated, not code of the generator.
const GENERATING_MACROS: [&str; 4] = ["quote", "quote_spanned", "parse_quote", "format_ident"];

/// `crate :: a :: b` / `super :: c` sequences anywhere in the tokens, outside
/// [`GENERATING_MACROS`].
fn token_paths(tokens: TokenStream, out: &mut Vec<ModulePath>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        if let (TokenTree::Ident(name), Some(TokenTree::Punct(bang))) =
            (&tokens[i], tokens.get(i + 1))
        {
            // Paths in generated code are not dependencies of the generator.
            if bang.as_char() == '!' && GENERATING_MACROS.iter().any(|m| name == m) {
                i += 3;
                continue;
            }
        }
        match &tokens[i] {
            TokenTree::Group(group) => token_paths(group.stream(), out),
            TokenTree::Ident(ident) if ident == "crate" || ident == "super" => {
                let mut path = vec![ident.to_string()];
                let mut j = i + 1;
                while let (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)), Some(next)) =
                    (tokens.get(j), tokens.get(j + 1), tokens.get(j + 2))
                {
                    if a.as_char() != ':' || b.as_char() != ':' {
                        break;
                    }
                    let TokenTree::Ident(next) = next else { break };
                    path.push(next.to_string());
                    j += 3;
                }
                if path.len() > 1 {
                    out.push(path);
                }
                i = j.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

/// Collects the references of `items` (module `module`), recursing into
/// inline modules that are not test-only.
fn collect_refs(
    module: &ModulePath,
    items: &[syn::Item],
    refs: &mut BTreeMap<ModulePath, ModuleRefs>,
    modules: &mut BTreeSet<ModulePath>,
) {
    modules.insert(module.clone());
    let mut paths = Vec::new();
    let mut reexports = BTreeMap::new();
    for item in items {
        match item {
            syn::Item::Mod(m) if is_cfg_test(&m.attrs) => {}
            syn::Item::Mod(m) => {
                let mut child = module.clone();
                child.push(m.ident.to_string());
                if let Some((_, inner)) = &m.content {
                    collect_refs(&child, inner, refs, modules);
                } else {
                    modules.insert(child);
                }
            }
            syn::Item::Use(u) if is_cfg_test(&u.attrs) => {}
            syn::Item::Use(u) => {
                let mut found = Vec::new();
                use_paths(&u.tree, &mut Vec::new(), &mut found);
                let public = !matches!(u.vis, syn::Visibility::Inherited);
                for (path, bound) in found {
                    let Some(path) = absolute(module, &path) else {
                        continue;
                    };
                    if public && bound != "*" {
                        reexports.insert(bound, path.clone());
                    }
                    paths.push(path);
                }
            }
            item => {
                let mut found = Vec::new();
                token_paths(strip_test_items(item), &mut found);
                paths.extend(found.iter().filter_map(|p| absolute(module, p)));
            }
        }
    }
    let entry = refs.entry(module.clone()).or_default();
    entry.paths.extend(paths);
    entry.reexports.extend(reexports);
}

/// The item's tokens without `#[cfg(test)]` functions inside `impl` blocks.
fn strip_test_items(item: &syn::Item) -> TokenStream {
    match item {
        syn::Item::Impl(imp) => {
            let mut imp = imp.clone();
            imp.items.retain(|i| match i {
                syn::ImplItem::Fn(f) => !is_cfg_test(&f.attrs),
                _ => true,
            });
            imp.into_token_stream()
        }
        item => item.to_token_stream(),
    }
}

/// The module `path` points into: its longest prefix that is a module,
/// following `pub use` re-exports of the module it lands in.
fn target_module(
    path: &[String],
    modules: &BTreeSet<ModulePath>,
    refs: &BTreeMap<ModulePath, ModuleRefs>,
    depth: usize,
) -> ModulePath {
    let mut len = path.len();
    while len > 0 && !modules.contains(&path[..len].to_vec()) {
        len -= 1;
    }
    let module = path[..len].to_vec();
    if depth < 8 {
        if let (Some(name), Some(found)) = (path.get(len), refs.get(&module)) {
            if let Some(target) = found.reexports.get(name) {
                let mut next = target.clone();
                next.extend(path[len + 1..].iter().cloned());
                return target_module(&next, modules, refs, depth + 1);
            }
        }
    }
    module
}

/// Dependencies among the children of one module: from → to → the first
/// path that makes it (for the failure message).
type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// Edges between sibling modules, keyed by their common parent.
type SiblingGraphs = BTreeMap<ModulePath, Graph>;

fn sibling_graphs() -> SiblingGraphs {
    let src = codegen_src();
    let mut refs = BTreeMap::new();
    let mut modules = BTreeSet::new();
    for file in rust_files(&src) {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let parsed = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        collect_refs(&module, &parsed.items, &mut refs, &mut modules);
    }
    let mut graphs = SiblingGraphs::new();
    for (from, found) in &refs {
        for path in &found.paths {
            let to = target_module(path, &modules, &refs, 0);
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if let (Some(a), Some(b)) = (from.get(common), to.get(common)) {
                graphs
                    .entry(from[..common].to_vec())
                    .or_default()
                    .entry(a.clone())
                    .or_default()
                    .entry(b.clone())
                    .or_insert_with(|| {
                        format!(
                            "`crate::{}` names `crate::{}`",
                            from.join("::"),
                            path.join("::")
                        )
                    });
            }
        }
    }
    graphs
}

/// One cycle through each strongly connected part of `graph` that has one.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let mut found: Vec<Vec<String>> = Vec::new();
    let mut in_cycle: BTreeSet<String> = BTreeSet::new();
    for start in graph.keys() {
        if in_cycle.contains(start) {
            continue;
        }
        // Shortest way back to `start`, breadth first.
        let mut previous: BTreeMap<&String, &String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut closed = None;
        while let Some(node) = queue.pop_front() {
            for next in graph.get(node).into_iter().flat_map(BTreeMap::keys) {
                if next == start {
                    closed = Some(node);
                    break;
                }
                if !previous.contains_key(next) {
                    previous.insert(next, node);
                    queue.push_back(next);
                }
            }
            if closed.is_some() {
                break;
            }
        }
        if let Some(mut node) = closed {
            let mut back = vec![node.clone()];
            while node != start {
                node = previous[node];
                back.push(node.clone());
            }
            back.reverse();
            let mut cycle = back;
            cycle.push(start.clone());
            in_cycle.extend(cycle.iter().cloned());
            found.push(cycle);
        }
    }
    found
}

#[test]
fn no_import_cycles_among_sibling_modules() {
    let graphs = sibling_graphs();
    assert!(
        graphs.get(&Vec::new()).is_some_and(|g| g.len() > 5),
        "the scan found too few top-level modules: {graphs:?}"
    );
    let mut problems = Vec::new();
    for (parent, graph) in &graphs {
        let prefix = if parent.is_empty() {
            "crate".to_string()
        } else {
            format!("crate::{}", parent.join("::"))
        };
        for cycle in cycles(graph) {
            let why: Vec<&str> = cycle
                .windows(2)
                .map(|pair| graph[&pair[0]][&pair[1]].as_str())
                .collect();
            problems.push(format!(
                "{prefix}: {}\n    ({})",
                cycle.join(" → "),
                why.join("; ")
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "import cycles among sibling modules (break them with a leaf module):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn cycle_finder_finds_a_cycle() {
    let graph = |edges: &[(&str, &str)]| {
        let mut graph = Graph::new();
        for (from, to) in edges {
            graph
                .entry(from.to_string())
                .or_default()
                .insert(to.to_string(), String::new());
        }
        graph
    };
    let cyclic = graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]);
    assert_eq!(cycles(&cyclic), vec![vec!["a", "b", "c", "a"]]);
    let acyclic = graph(&[("a", "b"), ("b", "c"), ("a", "c")]);
    assert!(cycles(&acyclic).is_empty());
}

#[test]
fn scan_resolves_uses_paths_and_reexports() {
    let graphs = sibling_graphs();
    let top = &graphs[&Vec::new()];
    // `use crate::diagnostic::Diagnostic` in lex.rs.
    assert!(top["lex"].contains_key("diagnostic"), "{top:?}");
    // A child of `nullability` naming a sibling through `super::`.
    let nullability = &graphs[&vec!["nullability".to_string()]];
    assert!(!nullability.is_empty(), "{nullability:?}");
}

// ---------------------------------------------------------------------------
// Function length (the counting of shared/tools/fnlen.py)

/// Python's `re.sub(r'"(\\.|[^"\\])*"', '""', line)`.
fn blank_strings(line: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] == '"' {
            let mut j = i + 1;
            let mut closed = None;
            while j < line.len() {
                match line[j] {
                    '"' => {
                        closed = Some(j);
                        break;
                    }
                    '\\' if j + 1 < line.len() => j += 2,
                    '\\' => break,
                    _ => j += 1,
                }
            }
            if let Some(end) = closed {
                out.extend(['"', '"']);
                i = end + 1;
                continue;
            }
        }
        out.push(line[i]);
        i += 1;
    }
    out
}

/// Python's `re.sub(r"'(\\.|[^'\\])'", "''", line)`.
fn blank_chars(line: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] == '\'' {
            let escaped = line.get(i + 1) == Some(&'\\')
                && line.get(i + 2).is_some()
                && line.get(i + 3) == Some(&'\'');
            let plain = !matches!(line.get(i + 1), None | Some('\'') | Some('\\'))
                && line.get(i + 2) == Some(&'\'');
            if escaped || plain {
                out.extend(['\'', '\'']);
                i += if escaped { 4 } else { 3 };
                continue;
            }
        }
        out.push(line[i]);
        i += 1;
    }
    out
}

/// The code of a line as fnlen.py sees it: literals blanked, comment cut.
fn code_of(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let code: String = blank_chars(&blank_strings(&chars)).into_iter().collect();
    match code.find("//") {
        Some(at) => code[..at].to_string(),
        None => code,
    }
}

/// `\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)`.
fn function_name(line: &str) -> Option<String> {
    fn keyword<'a>(rest: &'a str, word: &str) -> Option<&'a str> {
        let after = rest.strip_prefix(word)?;
        let trimmed = after.trim_start();
        (trimmed.len() < after.len()).then_some(trimmed)
    }
    let mut rest = line.trim_start();
    if let Some(after) = rest.strip_prefix("pub") {
        let after = match after.strip_prefix('(') {
            Some(inner) => inner.find(')').map(|end| &inner[end + 1..]),
            None => Some(after),
        };
        if let Some(after) = after {
            let trimmed = after.trim_start();
            if trimmed.len() < after.len() {
                rest = trimmed;
            }
        }
    }
    for word in ["const", "async", "unsafe"] {
        if let Some(after) = keyword(rest, word) {
            rest = after;
        }
    }
    let rest = keyword(rest, "fn")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// `(lines, "path:line", name)` of every function of a file.
fn function_lengths(file: &Path, text: &str) -> Vec<(usize, String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().starts_with("#[cfg(test)]") {
            break;
        }
        let Some(name) = function_name(lines[i]) else {
            i += 1;
            continue;
        };
        let (mut depth, mut started, mut j) = (0i64, false, i);
        while j < lines.len() {
            let code = code_of(lines[j]);
            if !started && code.trim_end().ends_with(';') && !code.contains('{') {
                break;
            }
            depth += code.matches('{').count() as i64 - code.matches('}').count() as i64;
            started = started || code.contains('{');
            if started && depth <= 0 {
                break;
            }
            j += 1;
        }
        if started {
            out.push((j - i + 1, format!("{}:{}", file.display(), i + 1), name));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn no_function_longer_than_the_limit() {
    let mut long = Vec::new();
    let mut counted = 0;
    for root in [codegen_src(), runtime_src()] {
        for file in rust_files(&root) {
            let relative = file.strip_prefix(&root).unwrap_or(&file);
            let in_tests_dir = relative.iter().any(|p| p == "tests");
            if file.file_name().is_some_and(|n| n == "tests.rs") || in_tests_dir {
                continue;
            }
            let text =
                fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            for found in function_lengths(&file, &text) {
                counted += 1;
                if found.0 > MAX_FUNCTION_LINES {
                    long.push(found);
                }
            }
        }
    }
    assert!(counted > 100, "the scan found only {counted} functions");
    long.sort_by_key(|found| std::cmp::Reverse(found.0));
    let list: Vec<String> = long
        .iter()
        .map(|(n, at, name)| format!("{n:>4} lines  {name}  ({at})"))
        .collect();
    assert!(
        long.is_empty(),
        "functions longer than {MAX_FUNCTION_LINES} lines (split them into named steps):\n  {}",
        list.join("\n  ")
    );
}

#[test]
fn function_counting_matches_fnlen() {
    let text = "fn short() {\n    let s = \"}\";\n    let c = '{';\n    // }\n}\n\
                pub(crate) async fn two(\n    a: u8,\n) -> u8 {\n    a\n}\n\
                fn declared();\n#[cfg(test)]\nfn hidden() {\n}\n";
    let found = function_lengths(Path::new("x.rs"), text);
    let summary: Vec<(usize, &str)> = found.iter().map(|(n, _, f)| (*n, f.as_str())).collect();
    assert_eq!(summary, vec![(5, "short"), (5, "two")]);
}

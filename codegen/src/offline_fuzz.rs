//! Randomized bad input through the stages' insides, no server: the query
//! files of the repository (`queries/`, the corpus, the nullability corpus,
//! the type fixtures) are cut into pieces and mutated, lexed, named and
//! parsed like a run does ([`query::lex_all`], [`query::parse_all`]), and
//! then every query goes through what follows describe on synthetic
//! descriptions (zero to two columns): lint, nullability inference and
//! overrides against an empty catalog, positional parameter names, domain
//! casts. A diagnostic is rendered at every span the lexer produced (later
//! stages point there), and every name of the input (headers, directives,
//! parameters, every word of the file standing in for a column name) goes
//! through every name conversion. Nothing may panic.
//!
//! `tests/tests/fuzz_inputs.rs` runs many more inputs, with invalid UTF-8,
//! through the public entry points (`read_sources`, `check_offline`).
//! Seeded and reproducible: `QUARRY_FUZZ_SEED` and `QUARRY_OFFLINE_FUZZ_CASES`.

use std::sync::Arc;

use postgres_types::Type;

use crate::config::TypeConfig;
use crate::describe::{Described, DescribedColumn};
use crate::diagnostic::{Diagnostic, Location, SourceFile};
use crate::fuzz_support::{env_number, seed_files, Rng, INJECTIONS};
use crate::schema::Catalog;
use crate::{ident, lint, nullability, parse, query, Sources};

const DEFAULT_SEED: u64 = 0x5eed_0012;
const DEFAULT_CASES: u64 = 6_000;

/// One to four consecutive queries of `text`, mutated one to four times.
fn mutated_piece(text: &str, rng: &mut Rng) -> String {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices("\n-- name:").map(|(at, _)| at + 1))
        .chain(std::iter::once(text.len()))
        .collect();
    let first = rng.below(starts.len() - 1);
    let last = (first + 1 + rng.below(4)).min(starts.len() - 1);
    let mut input: Vec<char> = text[starts[first]..starts[last]].chars().collect();
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        let at = rng.below(len + 1);
        match rng.below(6) {
            0 => input.truncate(at),
            1 => drop(input.splice(at..at, rng.pick(INJECTIONS).chars())),
            2 => {
                if at < len {
                    input[at] = char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{fffd}');
                }
            }
            3 => {
                let end = (at + 1 + rng.below(64)).min(len);
                let chunk: Vec<char> = input[at.min(end)..end].to_vec();
                let to = rng.below(len + 1);
                drop(input.splice(to..to, chunk));
            }
            _ => {
                let end = (at + 1 + rng.below(32)).min(len);
                input.drain(at.min(end)..end);
            }
        }
    }
    input.into_iter().collect()
}

fn render(diagnostic: &Diagnostic, sink: &mut usize) {
    *sink += diagnostic.render().len();
    *sink += diagnostic.position().map_or(0, |p| p.len());
}

fn render_at(file: &Arc<SourceFile>, span: std::ops::Range<usize>, sink: &mut usize) {
    let (line, col) = file.line_col(span.start);
    *sink += line + col + file.offset_of(line, col);
    render(
        &Diagnostic::error("fuzz", Some(Location::new(file, span))).with_label("here"),
        sink,
    );
}

/// Every conversion of a name into generated Rust or SQL
/// (`proc_macro2::Ident::new` panics on anything not an identifier).
fn names(name: &str) -> usize {
    ident::sql_ident(name).len()
        + ident::variant_name(name).len()
        + ident::type_name_str(ident::pascal(name)).len()
        + ident::field(name).to_string().len()
        + ident::type_name(name).to_string().len()
        + ident::ident(&ident::module_name(name)).to_string().len()
        + ident::ident(&ident::variant_name(name)).to_string().len()
}

/// Runs one input (one or two query files) through every offline stage.
fn check(files: &[(&str, String)]) -> usize {
    let mut sink = 0;
    let mut sources = Sources::new(TypeConfig::default());
    for (name, text) in files {
        sources.query_file(*name, text.as_str());
    }
    let inputs = match sources.load() {
        Ok(inputs) => inputs,
        Err(crate::Error::Diagnostics(diagnostics)) => return diagnostics.to_string().len(),
        Err(error) => return error.to_string().len(),
    };
    for file in &inputs.query_files {
        sink += names(&file.module);
        let words: std::collections::BTreeSet<&str> = file
            .file
            .text
            .split(|c: char| c.is_whitespace() || c == ',')
            .map(|word| word.trim_matches(|c| c == '"' || c == '(' || c == ')'))
            .collect();
        sink += words.into_iter().take(24).map(names).sum::<usize>();
    }
    let mut diagnostics = Vec::new();
    let lexed = query::lex_all(&inputs, &mut diagnostics);
    let parsed = query::parse_all(lexed, &mut diagnostics);
    for diagnostic in &diagnostics {
        render(diagnostic, &mut sink);
    }
    let catalog = Catalog::default();
    for query in &parsed {
        let def = &query.def;
        sink += names(&def.name);
        let spans = [&def.name_span, &def.kind_span, &def.sql_span]
            .into_iter()
            .cloned()
            .chain(def.row_name.iter().map(|(_, span)| span.clone()))
            .chain(def.overrides.iter().map(|o| o.span.clone()))
            .chain(
                def.directives
                    .iter()
                    .flat_map(|d| [d.span.clone(), d.args_span.clone()]),
            )
            .chain(def.params.iter().flat_map(|p| p.spans.clone()))
            .chain(
                def.param_sites
                    .iter()
                    .map(|(_, site)| def.file_span(site.clone())),
            )
            .chain(std::iter::once(
                def.file_span(def.sql.len()..def.sql.len() + 1),
            ));
        for span in spans {
            render_at(&def.file, span, &mut sink);
        }
        let named = def.row_name.iter().map(|(name, _)| name);
        let named = named.chain(def.overrides.iter().map(|o| &o.column));
        let named = named.chain(def.params.iter().filter_map(|p| p.name.as_ref()));
        sink += named.map(|name| names(name)).sum::<usize>();
        let casts = (0..def.params.len())
            .map(|i| (i, "int4".to_string()))
            .collect();
        sink += def.sql_with_param_casts(&casts).len();
        let statement = query.statement.as_ref().ok();
        if let Err(error) = &query.statement {
            render_at(
                &def.file,
                def.file_span(error.offset..error.offset),
                &mut sink,
            );
        }
        if let Some(statement) = statement {
            sink += format!("{:?}", parse::classify(statement)).len();
            sink += parse::positional_param_names(statement, def.params.len()).len();
        }
        for columns in 0..3 {
            let described = Described {
                params: vec![Type::TEXT; def.params.len()],
                columns: (0..columns)
                    .map(|i| DescribedColumn {
                        name: format!("c{i}"),
                        ty: Type::INT4,
                        table_oid: None,
                        column_id: None,
                    })
                    .collect(),
            };
            for diagnostic in lint::lint_query(def, statement, &described) {
                render(&diagnostic, &mut sink);
            }
            let (decided, warnings) =
                nullability::decide_nullability(def, statement, &described, &catalog);
            sink += decided.nullable.len();
            for diagnostic in &warnings {
                render(diagnostic, &mut sink);
            }
        }
    }
    sink
}

fn fuzz() {
    let seed = env_number("QUARRY_FUZZ_SEED", DEFAULT_SEED);
    let cases = env_number("QUARRY_OFFLINE_FUZZ_CASES", DEFAULT_CASES);
    let seeds: Vec<String> = seed_files()
        .into_iter()
        .filter_map(|(_, bytes)| String::from_utf8(bytes).ok())
        .collect();
    assert!(seeds.len() >= 10, "too few seed files: {}", seeds.len());
    let mut sink = 0usize;
    for index in 0..cases {
        let mut rng = Rng(seed ^ index.wrapping_mul(0xa076_1d64_78bd_642f));
        let text = rng.pick(&seeds).clone();
        let mut files = vec![("queries/q.sql", mutated_piece(&text, &mut rng))];
        if rng.below(8) == 0 {
            // A second file: duplicate query names and module names across files.
            let name = *rng.pick(&["queries/q2.sql", "queries/Q.sql"]);
            files.push((name, mutated_piece(&text, &mut rng)));
        }
        let checked = std::panic::catch_unwind(|| check(&files));
        match checked {
            Ok(n) => sink = sink.wrapping_add(n),
            Err(payload) => std::panic::resume_unwind(Box::new(format!(
                "input {index} (QUARRY_FUZZ_SEED={seed:#x}) panicked: {:?}\ninput: {files:#?}",
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            ))),
        }
    }
    println!("offline fuzz: {cases} inputs (seed {seed:#x}), no panic ({sink} bytes rendered)");
}

/// On a thread with a process main thread's stack (8 MiB), where the
/// `codegen` binary runs the stages, not a test thread's 2 MiB.
#[test]
fn mutated_query_files_never_panic_the_offline_stages() {
    let fuzzer = std::thread::Builder::new()
        .name("offline-fuzz".into())
        .stack_size(8 << 20)
        .spawn(fuzz);
    match fuzzer.map(std::thread::JoinHandle::join) {
        Ok(Ok(())) => {}
        Ok(Err(payload)) => std::panic::resume_unwind(payload),
        Err(error) => panic!("spawn: {error}"),
    }
}

//! Randomized bad input, no server: valid query files (the example's
//! `queries/`, the corpus, the nullability corpus, the type fixtures) are cut
//! into small pieces and mutated — truncated, bytes flipped, lines duplicated
//! or deleted, quotes, comments, dollar quotes, placeholders, headers,
//! directives and random (also invalid) UTF-8 injected — and every input goes
//! through everything of the generator that needs no database, by its public
//! entry points: reading the files (`read_sources`: UTF-8 and NUL checks)
//! and `check_offline` (lexing, query and module names, directives,
//! parsing). Every diagnostic is rendered. Nothing may panic. (The stages
//! after describe, on synthetic descriptions, and every name conversion are
//! fuzzed inside the crate: `codegen/src/offline_fuzz.rs`.)
//!
//! Seeded and reproducible: `QUARRY_FUZZ_SEED` and `QUARRY_FUZZ_CASES`
//! override the seed and the number of inputs. A panicking input is written
//! to `<target>/fuzz-failures/` and named in the failure.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use codegen::Diagnostic;
use quarry_tests::target_root;

#[path = "../../codegen/src/fuzz_support.rs"]
mod fuzz_support;
use fuzz_support::{env_number, seed_files, Rng, INJECTIONS};

/// Where the last caught panic happened (set by the panic hook).
static PANIC_LOCATION: Mutex<Option<String>> = Mutex::new(None);

const DEFAULT_SEED: u64 = 0x5eed_0011;
const DEFAULT_CASES: usize = 6_000;

/// A piece of `file`: one to four consecutive queries (split at header lines),
/// so that inputs stay small and fast to parse in debug builds.
fn piece(file: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut starts = vec![0];
    let mut offset = 0;
    for line in file.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"-- name:") && offset > 0 {
            starts.push(offset);
        }
        offset += line.len();
    }
    starts.push(file.len());
    let first = rng.below(starts.len() - 1);
    let count = 1 + rng.below(4);
    let last = (first + count).min(starts.len() - 1);
    file[starts[first]..starts[last]].to_vec()
}

const INVALID_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xf8\x88\x80\x80\x80",
    b"\x80",
];

/// Applies one to four random mutations to `input`.
fn mutate(mut input: Vec<u8>, rng: &mut Rng) -> Vec<u8> {
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        match rng.below(11) {
            // Truncation at a random point.
            0 => input.truncate(rng.below(len + 1)),
            // Byte flips.
            1 => {
                for _ in 0..1 + rng.below(3) {
                    if !input.is_empty() {
                        let at = rng.below(input.len());
                        input[at] ^= 1 << rng.below(8);
                    }
                }
            }
            // A random byte replaced.
            2 => {
                if !input.is_empty() {
                    let at = rng.below(input.len());
                    input[at] = rng.next() as u8;
                }
            }
            // Duplicated or deleted lines.
            3 | 4 => {
                let mut lines: Vec<Vec<u8>> = input
                    .split_inclusive(|&b| b == b'\n')
                    .map(<[u8]>::to_vec)
                    .collect();
                if !lines.is_empty() {
                    let at = rng.below(lines.len());
                    if rng.chance(2) {
                        let line = lines[at].clone();
                        for _ in 0..1 + rng.below(3) {
                            lines.insert(at, line.clone());
                        }
                    } else {
                        lines.remove(at);
                    }
                }
                input = lines.concat();
            }
            // Injected syntax.
            5..=7 => {
                let at = rng.below(len + 1);
                let text = rng.pick(INJECTIONS).as_bytes();
                input.splice(at..at, text.iter().copied());
            }
            // Random UTF-8 or invalid bytes.
            8 => {
                let at = rng.below(len + 1);
                let bytes: Vec<u8> = if rng.chance(2) {
                    rng.pick(INVALID_UTF8).to_vec()
                } else {
                    let c = char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{fffd}');
                    c.to_string().into_bytes()
                };
                input.splice(at..at, bytes);
            }
            // A range copied elsewhere (swaps structure around).
            9 => {
                if len > 1 {
                    let start = rng.below(len);
                    let end = (start + 1 + rng.below(64)).min(len);
                    let chunk = input[start..end].to_vec();
                    let at = rng.below(len + 1);
                    input.splice(at..at, chunk);
                }
            }
            // A range deleted.
            _ => {
                if len > 1 {
                    let start = rng.below(len);
                    let end = (start + 1 + rng.below(32)).min(len);
                    input.drain(start..end);
                }
            }
        }
    }
    input
}

/// File names that exercise module naming.
const FILE_NAMES: &[&str] = &[
    "q.sql",
    "q.sql",
    "q.sql",
    "types.sql",
    "mod.sql",
    "crate.sql",
    "self.sql",
    "Self.sql",
    "super.sql",
    "fn.sql",
    "my-file.sql",
    "1st.sql",
    "ünï.sql",
    "_.sql",
    "a b.sql",
];

/// Renders `diagnostic` (rendering must not panic on any span).
fn render(diagnostic: &Diagnostic, sink: &mut usize) {
    *sink += diagnostic.render().len();
    if let Some(position) = diagnostic.position() {
        *sink += position.len();
    }
}

/// Everything that needs no server, on one project directory holding the
/// input as one or two query files.
fn check(queries_dir: &Path, out_dir: &Path) -> usize {
    let mut sink = 0;
    let config = codegen::Config {
        queries: queries_dir.to_path_buf(),
        more_queries: Vec::new(),
        schema: Vec::new(),
        out: out_dir.to_path_buf(),
        types: codegen::config::TypeConfig::default(),
    };
    let sources = match codegen::read_sources(&config) {
        Ok(sources) => sources,
        Err(codegen::Error::Diagnostics(diagnostics)) => {
            for diagnostic in &diagnostics.0 {
                render(diagnostic, &mut sink);
            }
            return sink;
        }
        Err(error) => panic!("read_sources failed other than with diagnostics: {error}"),
    };
    for diagnostic in codegen::check_offline(&sources) {
        render(&diagnostic, &mut sink);
    }
    sink
}

/// The stages run on a thread with the stack of a process's main thread
/// (8 MiB), where the `codegen` binary runs them, not a test thread's 2 MiB.
#[test]
fn mutated_query_files_never_panic_the_offline_stages() {
    let fuzzer = std::thread::Builder::new()
        .name("fuzz".into())
        .stack_size(8 << 20)
        .spawn(fuzz)
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    if let Err(payload) = fuzzer.join() {
        std::panic::resume_unwind(payload);
    }
}

fn fuzz() {
    let seed = env_number("QUARRY_FUZZ_SEED", DEFAULT_SEED);
    let cases = env_number("QUARRY_FUZZ_CASES", DEFAULT_CASES as u64) as usize;
    let seeds = seed_files();
    assert!(seeds.len() >= 10, "too few seed files: {}", seeds.len());
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let queries_dir = dir.path().join("project/queries");
    let out_dir = dir.path().join("project/out");
    // Panics are caught and reported below with the input; the hook keeps
    // where they happened.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        *PANIC_LOCATION
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(location);
    }));
    let mut failure = None;
    let mut sink = 0usize;
    for index in 0..cases {
        // Every input has its own generator, so one can be replayed alone.
        let mut rng = Rng(seed ^ (index as u64).wrapping_mul(0xa076_1d64_78bd_642f));
        let (seed_name, seed_bytes) = rng.pick(&seeds);
        let input = mutate(piece(seed_bytes, &mut rng), &mut rng);
        let mut files = vec![(*rng.pick(FILE_NAMES), input.clone())];
        if rng.chance(8) {
            // A second file: duplicate names and module names across files.
            files.push(("q2.sql", mutate(piece(seed_bytes, &mut rng), &mut rng)));
            if rng.chance(2) {
                files[1].0 = "Q.sql";
            }
        }
        if queries_dir.exists() {
            std::fs::remove_dir_all(&queries_dir).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::create_dir_all(&queries_dir).unwrap_or_else(|e| panic!("{e}"));
        for (name, bytes) in &files {
            std::fs::write(queries_dir.join(name), bytes).unwrap_or_else(|e| panic!("{e}"));
        }
        match catch_unwind(AssertUnwindSafe(|| check(&queries_dir, &out_dir))) {
            Ok(n) => sink = sink.wrapping_add(n),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                let location = PANIC_LOCATION
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .take()
                    .unwrap_or_default();
                failure = Some((
                    index,
                    seed_name.clone(),
                    files,
                    format!("{message} at {location}"),
                ));
                break;
            }
        }
    }
    std::panic::set_hook(hook);
    let elapsed = started.elapsed().as_secs_f64();
    if let Some((index, seed_name, files, message)) = failure {
        let saved = target_root().join("fuzz-failures");
        std::fs::create_dir_all(&saved).unwrap_or_else(|e| panic!("{e}"));
        let mut written = Vec::new();
        for (name, bytes) in &files {
            let path = saved.join(format!("seed-{seed:#x}-input-{index}-{name}"));
            std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
            written.push(path.display().to_string());
        }
        panic!(
            "input {index} (seed {seed:#x}, mutated from {seed_name}) panicked: {message}\n\
             replay: QUARRY_FUZZ_SEED={seed:#x} QUARRY_FUZZ_CASES={} cargo test -p quarry-tests --test fuzz_inputs\n\
             input written to:\n  {}\ninput ({} file(s)):\n{}",
            index + 1,
            written.join("\n  "),
            files.len(),
            files
                .iter()
                .map(|(name, bytes)| format!("--- {name}\n{:?}", String::from_utf8_lossy(bytes)))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    println!(
        "fuzz: {cases} inputs from {} seed files (seed {seed:#x}) in {elapsed:.1}s, no panic ({sink} bytes rendered)",
        seeds.len()
    );
    eprintln!("fuzz: {cases} inputs (seed {seed:#x}) in {elapsed:.1}s, no panic");
}

#[test]
fn mutations_are_reproducible() {
    let input = b"-- name: Q :one\nSELECT 1 AS one;\n".to_vec();
    let run = |seed| mutate(input.clone(), &mut Rng(seed));
    assert_eq!(run(7), run(7));
    assert!((0..20).map(run).any(|out| out != input));
}

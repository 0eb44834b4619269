//! Quarry's generator: annotated PostgreSQL `.sql` files in, a typed Rust
//! access layer out.
//!
//! The pipeline, one module per stage (see `ARCHITECTURE.md`):
//!
//! ```text
//! discover → lex → parse → schema → describe → nullability → lint → ir → emit → write
//! ```
//!
//! [`generate`] runs everything up to emit and returns the files as strings;
//! [`write::write_files`] and [`write::check_files`] are the only functions
//! that touch the output directory. Only the schema and describe stages talk
//! to PostgreSQL, through a [`pg::Server`].

pub mod builder;
pub mod config;
pub mod describe;
pub mod diagnostic;
pub mod emit;
mod features;
pub mod ident;
pub mod ir;
pub mod lex;
pub mod lint;
pub mod nullability;
pub mod parse;
pub mod pg;
pub mod prefetch;
pub mod schema;
pub mod typemap;
pub mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use crate::builder::{build_from_config, BuildError, BuildOutcome, Builder};
use crate::diagnostic::{display_path, Diagnostic, Diagnostics, SourceFile};
use crate::ir::CheckedQuery;
use crate::lex::QueryDef;

/// The generator's version, written into every file header.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Everything that can stop a generator run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Problems with the user's query or schema files (rendered rustc-style).
    #[error("{0}")]
    Diagnostics(Diagnostics),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// PostgreSQL failed outside of any query (connecting, introspecting).
    #[error("PostgreSQL error while {context}: {source}")]
    Postgres {
        /// What the generator was doing.
        context: String,
        /// The cause.
        source: tokio_postgres::Error,
    },
    /// Starting or reaching the database server failed.
    #[error(transparent)]
    Server(Box<pg::PgError>),
    /// The generator produced code that does not parse (a bug).
    #[error(transparent)]
    Emit(#[from] emit::EmitError),
    /// Invalid configuration.
    #[error("{0}")]
    Config(String),
}

impl From<pg::PgError> for Error {
    fn from(error: pg::PgError) -> Self {
        Error::Server(Box::new(error))
    }
}

/// What to generate from, and where to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// A directory of `.sql` query files (its top level), or a single file.
    pub queries: PathBuf,
    /// Schema files or directories, applied in order.
    pub schema: Vec<PathBuf>,
    /// Output directory of the generated modules.
    pub out: PathBuf,
    /// Type mapping options (time crate, overrides, derives, domains).
    pub types: config::TypeConfig,
}

impl Config {
    /// The built-in defaults of the project at `root` (a crate's directory):
    /// queries in `queries/`, schema in `schema/` (or `migrations/` when only
    /// that exists), output into `src/db/`, default type options. An empty
    /// `root` keeps the paths relative to the working directory.
    pub fn project_default(root: &Path) -> Self {
        Self {
            queries: root.join(config::DEFAULT_QUERIES),
            schema: vec![config::default_schema(root)],
            out: root.join(config::DEFAULT_OUT),
            types: config::TypeConfig::default(),
        }
    }
}

/// The result of a successful run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Generated files, relative to [`Config::out`].
    pub files: BTreeMap<PathBuf, String>,
    /// Warnings (errors abort the run instead).
    pub warnings: Vec<Diagnostic>,
    /// Number of query files.
    pub query_files: usize,
    /// Number of queries.
    pub queries: usize,
    /// The hash of every input, as written in the headers.
    pub input_hash: String,
    /// What was inferred about every query (user queries and derived loaders), in order.
    pub reports: Vec<QueryReport>,
}

/// What the generator found out about one query: for tests, tools and statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryReport {
    /// Query name.
    pub name: String,
    /// Module (query file) it belongs to.
    pub module: String,
    /// SQL as sent to PostgreSQL (`$n` placeholders).
    pub sql: String,
    /// Kind from the header.
    pub kind: lex::QueryKind,
    /// Parameters, `$1` first.
    pub params: Vec<ParamReport>,
    /// Output columns in order.
    pub columns: Vec<ColumnReport>,
}

/// One parameter of a [`QueryReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamReport {
    /// PostgreSQL type name (`int8`, `_text`, `order_status`, …).
    pub pg_type: String,
    /// Declared nullable (`:name?`).
    pub nullable: bool,
}

/// One output column of a [`QueryReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnReport {
    /// Column name.
    pub name: String,
    /// PostgreSQL type name.
    pub pg_type: String,
    /// What inference concluded (before overrides).
    pub inferred_nullable: bool,
    /// The final answer (after `"col!"`/`"col?"`/`@nullable`/`@not_null`).
    pub nullable: bool,
    /// An expression (aggregate, window function, `COALESCE`, `CASE`, …) rather
    /// than a plain column reference.
    pub computed: bool,
}

/// The inputs of a run, read from disk.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `(module name, file)` per query file, sorted by path.
    pub query_files: Vec<(String, Arc<SourceFile>)>,
    /// Schema files in application order.
    pub schema_files: Vec<Arc<SourceFile>>,
    /// Hash of everything above plus the generator version.
    pub input_hash: String,
    /// `(path as shown, short hash)` of every input file, for `check` to name what changed.
    pub manifest: Vec<(String, String)>,
    /// Per query file, its path relative to the project, as written in generated files.
    pub stable_names: Vec<String>,
}

/// Lists the query files of `path` (a file, or the `.sql` files at the top of a directory).
pub fn discover_query_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    sql_files(path)
}

/// `path` itself if it is a file, else the `.sql` files directly in it, sorted.
pub(crate) fn sql_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if std::fs::metadata(path).map_err(io)?.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io)? {
        let file = entry.map_err(io)?.path();
        if file.is_file() && file.extension().is_some_and(|e| e == "sql") {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads a text file; invalid UTF-8 becomes a diagnostic at the first bad byte.
pub(crate) fn read_source(path: &Path) -> Result<Result<Arc<SourceFile>, Diagnostic>, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(match String::from_utf8(bytes) {
        Ok(mut text) => {
            // A UTF-8 byte order mark is no part of the SQL; without it,
            // columns count the way editors show them.
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            let file = SourceFile::new(display_path(path), text);
            match file.text.find('\0') {
                // PostgreSQL cannot take a NUL byte in any statement text.
                Some(at) => Err(Diagnostic::error_at(
                    "file contains a NUL byte",
                    &file,
                    at..at + 1,
                )
                .with_label("NUL byte here")
                .with_help("remove it; PostgreSQL does not accept NUL bytes in SQL text")),
                None => Ok(file),
            }
        }
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            // Offsets of the lossy text match the original up to the first bad byte.
            let file = SourceFile::new(display_path(path), text);
            Err(
                Diagnostic::error_at("file is not valid UTF-8", &file, valid..valid + 1)
                    .with_label("invalid byte here")
                    .with_help("save query files as UTF-8"),
            )
        }
    })
}

/// Stack size of the thread [`with_large_stack`] runs on.
pub const PIPELINE_STACK_SIZE: usize = 256 * 1024 * 1024;

/// Runs `f` on a thread with a [`PIPELINE_STACK_SIZE`] stack and returns its
/// result (a panic in `f` is resumed here).
///
/// The pipeline recurses over syntax trees; [`lex::MAX_NESTING`] bounds
/// their depth, and this keeps even a bound passed by some unforeseen shape
/// from overflowing a small stack (a stack overflow aborts the process,
/// skipping the hooks that stop the ephemeral server). The CLI and
/// [`Builder`] run everything inside it; library callers on small stacks
/// (tokio workers have 2 MiB) can do the same. If the thread cannot be
/// created, `f` runs on the current thread.
pub fn with_large_stack<T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let f = std::sync::Mutex::new(Some(f));
    let spawned = std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("quarry-codegen".to_string())
            .stack_size(PIPELINE_STACK_SIZE)
            .spawn_scoped(scope, || {
                let f = f
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                f.map(|f| f())
            });
        handle.map(|handle| handle.join())
    });
    match spawned {
        Ok(Ok(Some(result))) => result,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        // Not spawned (or, impossibly, spawned without taking `f`): run here.
        Ok(Ok(None)) | Err(_) => {
            let f = f
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match f {
                Some(f) => f(),
                None => unreachable!("the closure ran but returned no result"),
            }
        }
    }
}

/// Reads every input and computes the input hash. No database needed.
pub fn read_inputs(config: &Config) -> Result<Inputs, Error> {
    let mut diagnostics = Vec::new();
    let mut query_files = Vec::new();
    let mut stable_names = Vec::new();
    let mut manifest = Vec::new();
    let mut hasher = Sha256::new();
    hasher.update(format!("quarry-codegen {VERSION}\n"));
    let query_root = if config.queries.is_dir() {
        config.queries.clone()
    } else {
        config
            .queries
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    };
    // Paths written into generated files are relative to the project (the
    // parent of the query directory), not to wherever the generator ran, so
    // a build script and the CLI write the same bytes.
    let project_root = query_root
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let stable_name = |path: &Path| -> String {
        path.strip_prefix(&project_root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    };
    for path in discover_query_files(&config.queries)? {
        let relative = path
            .strip_prefix(&query_root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let module = ident::module_name(&stem);
        match read_source(&path)? {
            Ok(file) => {
                hasher.update(format!("query {relative} {}\n", file.text.len()));
                hasher.update(file.text.as_bytes());
                manifest.push((stable_name(&path), short_hash(&file.text)));
                stable_names.push(stable_name(&path));
                query_files.push((module, file));
            }
            Err(diagnostic) => diagnostics.push(diagnostic),
        }
    }
    let mut schema_files = Vec::new();
    for root in &config.schema {
        for path in schema::schema_files(root)? {
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            match read_source(&path)? {
                Ok(file) => {
                    hasher.update(format!("schema {relative} {}\n", file.text.len()));
                    hasher.update(file.text.as_bytes());
                    manifest.push((stable_name(&path), short_hash(&file.text)));
                    schema_files.push(file);
                }
                Err(diagnostic) => diagnostics.push(diagnostic),
            }
        }
    }
    if !diagnostics.is_empty() {
        return Err(Error::Diagnostics(Diagnostics(diagnostics)));
    }
    if query_files.is_empty() {
        return Err(Error::Config(format!(
            "no `.sql` query files found in `{}`",
            config.queries.display()
        )));
    }
    // The options that change the output are inputs too.
    if config.types != config::TypeConfig::default() {
        hasher.update(format!("types {:?}\n", config.types));
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Inputs {
        query_files,
        schema_files,
        input_hash: format!("sha256:{hex}"),
        manifest,
        stable_names,
    })
}

/// First 16 hex digits of a file's SHA-256: enough to tell which input changed.
fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Inputs whose content differs from the manifest recorded in a generated
/// `mod.rs` (added, changed or removed), by path.
pub fn changed_inputs(inputs: &Inputs, generated_mod_rs: &str) -> Vec<String> {
    let recorded: BTreeMap<&str, &str> = generated_mod_rs
        .lines()
        .filter_map(|line| line.strip_prefix(emit::INPUT_PREFIX))
        .filter_map(|rest| rest.rsplit_once(' '))
        .collect();
    let current: BTreeMap<&str, &str> = inputs
        .manifest
        .iter()
        .map(|(p, h)| (p.as_str(), h.as_str()))
        .collect();
    let mut changed: Vec<String> = current
        .iter()
        .filter(|(path, hash)| recorded.get(*path) != Some(*hash))
        .map(|(path, _)| path.to_string())
        .collect();
    changed.extend(
        recorded
            .keys()
            .filter(|path| !current.contains_key(*path))
            .map(|p| format!("{p} (removed)")),
    );
    changed
}

/// Runs the whole pipeline against `server` and returns the generated files.
/// Nothing is written; on any error no output is produced at all.
pub async fn generate(config: &Config, server: &pg::Server) -> Result<Output, Error> {
    let inputs = read_inputs(config)?;
    let mut diagnostics = Vec::new();

    // lex
    let mut queries: Vec<(&str, QueryDef)> = Vec::new();
    for (module, file) in &inputs.query_files {
        let (defs, mut errors) = lex::lex_file(file);
        diagnostics.append(&mut errors);
        queries.extend(defs.into_iter().map(|def| (module.as_str(), def)));
    }
    let duplicates = check_duplicate_names(&queries, &mut diagnostics);
    // A duplicate is reported once; checking it further would only repeat the news.
    let queries: Vec<(&str, QueryDef)> = queries
        .into_iter()
        .enumerate()
        .filter(|(index, _)| !duplicates.contains(index))
        .map(|(_, query)| query)
        .collect();
    let mut directives: Vec<prefetch::Directives> = queries
        .iter()
        .map(|(_, def)| {
            let (directives, mut errors) = prefetch::parse_directives(def);
            diagnostics.append(&mut errors);
            directives
        })
        .collect();

    // parse
    let mut statements: Vec<_> = queries
        .iter()
        .map(|(_, def)| parse::parse_query(def))
        .collect();

    // schema, describe (with loaders derived from the schema's foreign keys)
    let database = server.create_database("quarry_gen").await?;
    let result = async {
        let client = server.connect(Some(&database)).await?;
        schema::apply_schema(&client, &inputs.schema_files).await?;
        let catalog = schema::introspect(&client).await?;
        let defs: Vec<&QueryDef> = queries.iter().map(|(_, def)| def).collect();
        let described = describe::describe_statements(&client, &defs).await;
        let taken = queries.iter().map(|(_, def)| def.name.clone()).collect();
        let parents = queries
            .iter()
            .zip(&described)
            .zip(directives.iter_mut())
            .filter_map(|(((module, def), described), directives)| {
                Some(prefetch::Parent {
                    module,
                    def,
                    described: described.as_ref().ok()?,
                    directives,
                })
            })
            .collect();
        let (derived, mut errors) = prefetch::derive_loaders(parents, &catalog, &taken);
        let derived_defs: Vec<&QueryDef> = derived.iter().map(|loader| &loader.def).collect();
        let derived_described = describe::describe_statements(&client, &derived_defs).await;
        let sent = defs.iter().zip(&described);
        let sent = sent.chain(derived_defs.iter().zip(&derived_described));
        errors.extend(check_final_sql(&client, sent.map(|(d, r)| (*d, r))).await);
        Ok::<_, Error>((catalog, described, derived, derived_described, errors))
    }
    .await;
    let dropped = server.drop_database(&database).await;
    let (catalog, mut described, derived, derived_described, mut errors) = result?;
    dropped?;
    diagnostics.append(&mut errors);

    // Derived loaders join the user's queries from here on.
    let mut hidden_keys = vec![false; queries.len()];
    let mut all: Vec<(&str, &QueryDef)> =
        queries.iter().map(|(module, def)| (*module, def)).collect();
    for (loader, described_loader) in derived.iter().zip(derived_described) {
        all.push((loader.module.as_str(), &loader.def));
        statements.push(parse::parse_query(&loader.def));
        described.push(described_loader);
        directives.push(prefetch::parse_directives(&loader.def).0);
        hidden_keys.push(loader.hidden_key);
    }

    // nullability (then overrides), lint
    let mut analysed = Vec::new();
    let mut reports = Vec::new();
    let mut describe_failed = false;
    for (index, (((module, def), statement), described)) in
        all.iter().zip(&statements).zip(&described).enumerate()
    {
        let described = match described {
            Ok(described) => described,
            Err(diagnostic) => {
                diagnostics.push(diagnostic.clone());
                describe_failed = true;
                continue;
            }
        };
        let statement = match statement {
            Ok(statement) => Some(statement),
            Err(error) => {
                // PostgreSQL accepted what sqlparser could not: keep going, conservatively.
                let at = def.file_span(error.offset..error.offset);
                diagnostics.push(
                    Diagnostic::warning(
                        format!("could not analyse query `{}`: {}", def.name, error.message),
                        Some(diagnostic::Location::new(&def.file, at)),
                    )
                    .with_help(
                        "PostgreSQL accepts it; every column is typed `Option` unless overridden",
                    ),
                );
                None
            }
        };
        diagnostics.extend(lint::lint_query(def, statement, described));
        let params_nullable: Vec<bool> = def.params.iter().map(|p| p.nullable).collect();
        let inferred =
            nullability::infer_nullability(statement, described, &params_nullable, &catalog);
        let mut nullable: Vec<bool> = inferred.iter().map(|c| c.nullable).collect();
        for ((column, nullable), inferred) in described
            .columns
            .iter()
            .zip(nullable.iter_mut())
            .zip(&inferred)
        {
            if let Some(asserted) = def.overrides.iter().rev().find(|o| o.column == column.name) {
                *nullable = asserted.nullability == lex::Nullability::Nullable;
                diagnostics.extend(contradicted_override(def, asserted, inferred));
            }
        }
        reports.push(QueryReport {
            name: def.name.clone(),
            module: module.to_string(),
            sql: def.sql.clone(),
            kind: def.kind,
            params: def
                .params
                .iter()
                .zip(&described.params)
                .map(|(param, ty)| ParamReport {
                    pg_type: ty.name().to_string(),
                    nullable: param.nullable,
                })
                .collect(),
            columns: described
                .columns
                .iter()
                .zip(&inferred)
                .zip(&nullable)
                .map(|((column, inferred), &nullable)| ColumnReport {
                    name: column.name.clone(),
                    pg_type: column.ty.name().to_string(),
                    inferred_nullable: inferred.nullable,
                    nullable,
                    computed: inferred.computed,
                })
                .collect(),
        });
        analysed.push((index, *module, *def, statement, described, nullable));
    }
    check_module_names(&inputs.query_files, &mut diagnostics);
    if describe_failed {
        // Without every query's columns, prefetch and IR checks would only
        // pile consequences on top.
        return Err(Error::Diagnostics(Diagnostics(diagnostics)));
    }

    // prefetch
    let facts: Vec<prefetch::QueryFacts<'_>> = analysed
        .iter()
        .map(
            |(index, module, def, statement, described, nullable)| prefetch::QueryFacts {
                module,
                def,
                statement: *statement,
                described,
                nullable,
                directives: &directives[*index],
                hidden_key: hidden_keys[*index],
            },
        )
        .collect();
    let mapper = typemap::TypeMapper::new(&config.types);
    let resolved = match prefetch::resolve_prefetch(&facts, &catalog, &mapper) {
        Ok(resolved) if !diagnostics.iter().any(Diagnostic::is_error) => resolved,
        Ok(_) => return Err(Error::Diagnostics(Diagnostics(diagnostics))),
        Err(mut errors) => {
            diagnostics.append(&mut errors);
            return Err(Error::Diagnostics(Diagnostics(diagnostics)));
        }
    };

    // ir
    let checked: Vec<CheckedQuery<'_>> = analysed
        .iter()
        .zip(resolved)
        .map(
            |((_, module, def, statement, described, nullable), prefetch)| CheckedQuery {
                module,
                def,
                positional_names: statement
                    .map(|s| parse::positional_param_names(s, def.params.len()))
                    .unwrap_or_default(),
                described,
                nullable: nullable.clone(),
                prefetch,
            },
        )
        .collect();
    let modules: Vec<(String, String)> = inputs
        .query_files
        .iter()
        .zip(&inputs.stable_names)
        .map(|((module, _), name)| (module.clone(), name.clone()))
        .collect();
    let project = match ir::build_project(&modules, &checked, &catalog, &mapper) {
        Ok(project) => project,
        Err(mut errors) => {
            diagnostics.append(&mut errors);
            return Err(Error::Diagnostics(Diagnostics(diagnostics)));
        }
    };
    // runtime features the generated types need
    diagnostics.extend(features::check(
        &checked,
        &project,
        &config.types.runtime_features,
    ));

    // emit
    let header = emit::Header {
        version: VERSION.to_string(),
        input_hash: inputs.input_hash.clone(),
        inputs: inputs.manifest.clone(),
    };
    let files = emit::emit_project(&project, &header)?;
    Ok(Output {
        files,
        warnings: diagnostics,
        query_files: inputs.query_files.len(),
        queries: queries.len(),
        input_hash: inputs.input_hash,
        reports,
    })
}

/// Prepares the SQL the generated functions send wherever it differs from
/// the text described (domain parameter casts, [`ir::final_sql`]), so what is
/// embedded in generated code has been checked by PostgreSQL too.
async fn check_final_sql<'q>(
    client: &tokio_postgres::Client,
    queries: impl Iterator<Item = (&'q QueryDef, &'q Result<describe::Described, Diagnostic>)>,
) -> Vec<Diagnostic> {
    let changed: Vec<(&QueryDef, &describe::Described, QueryDef)> = queries
        .filter_map(|(def, described)| {
            let described = described.as_ref().ok()?;
            let sql = ir::final_sql(def, described);
            (sql != def.sql).then(|| (def, described, QueryDef { sql, ..def.clone() }))
        })
        .collect();
    let finals: Vec<&QueryDef> = changed.iter().map(|(_, _, sent)| sent).collect();
    let results = describe::describe_statements(client, &finals).await;
    changed
        .iter()
        .zip(&results)
        .filter_map(|((def, described, sent), result)| {
            ir::check_final_sql(def, described, &sent.sql, result.as_ref())
        })
        .collect()
}

/// A warning when an override contradicts what inference proved: `!` on a
/// column that can provably be NULL, `?` on one proven never NULL.
fn contradicted_override(
    def: &QueryDef,
    asserted: &lex::ColumnOverride,
    inferred: &nullability::ColumnNullability,
) -> Option<Diagnostic> {
    let location = Some(diagnostic::Location::new(&def.file, asserted.span.clone()));
    match asserted.nullability {
        lex::Nullability::NotNull if inferred.can_be_null => Some(
            Diagnostic::warning(
                format!("`{}` is declared not null, but it can be NULL", asserted.column),
                location,
            )
            .with_label("overrides a proven fact")
            .with_note("the value is NULL for some data (a NULL literal, the nullable side of an outer join, or an aggregate over no rows); decoding it will fail then")
            .with_help("use `COALESCE(…)` or an inner join instead, or drop the override"),
        ),
        lex::Nullability::Nullable if !inferred.nullable => Some(
            Diagnostic::warning(
                format!("`{}` is declared nullable, but it is proven never NULL", asserted.column),
                location,
            )
            .with_label("overrides a proven fact")
            .with_help("drop the override to get a plain value instead of an `Option`"),
        ),
        _ => None,
    }
}

/// Reports queries whose name was used before; returns their indices.
fn check_duplicate_names(
    queries: &[(&str, QueryDef)],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<usize> {
    let mut seen: BTreeMap<&str, &QueryDef> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for (index, (_, def)) in queries.iter().enumerate() {
        if let Some(first) = seen.insert(def.name.as_str(), def) {
            duplicates.push(index);
            let (line, col) = first.file.line_col(first.name_span.start);
            diagnostics.push(
                Diagnostic::error_at(
                    format!("duplicate query name `{}`", def.name),
                    &def.file,
                    def.name_span.clone(),
                )
                .with_label("defined again here")
                .with_note(format!(
                    "first defined at {}:{line}:{col}",
                    first.file.display_path.display()
                ))
                .with_help("query names must be unique across all query files"),
            );
            seen.insert(first.name.as_str(), first);
        }
    }
    duplicates
}

/// Two query files whose names give the same module (`Blog.sql` and
/// `blog.sql`, `types.sql` and `types_.sql`): an error at the second one.
fn check_module_names(files: &[(String, Arc<SourceFile>)], diagnostics: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, &Arc<SourceFile>> = BTreeMap::new();
    for (module, file) in files {
        if let Some(first) = seen.insert(module.as_str(), file) {
            diagnostics.push(
                Diagnostic::error_at(
                    format!("two query files become the module `{module}`"),
                    file,
                    0..0,
                )
                .with_note(format!(
                    "`{}` becomes `{module}` too (module names are the file names in snake_case; see docs/query-files.md)",
                    first.display_path.display()
                ))
                .with_help("rename one of the query files"),
            );
        }
    }
}

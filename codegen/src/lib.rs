//! Quarry's generator: annotated PostgreSQL `.sql` files in, a typed Rust
//! access layer out.
//!
//! The pipeline, one module per stage (see `ARCHITECTURE.md`); one value per
//! query travels it and every stage enriches it (`query`):
//!
//! ```text
//! read → lex → names → directives, parse → schema → describe → derive loaders
//!      → lint, nullability → prefetch → ir → features → emit → write
//! ```
//!
//! [`generate_sources`] runs everything up to emit on texts in memory and
//! returns the files as strings; [`generate`] reads the files first
//! ([`read_sources`]); [`check_offline`] runs the stages that need no
//! database. [`write::write_files`] and [`write::check_files`] are the only
//! functions that touch the output directory. Only the schema and describe
//! stages talk to PostgreSQL, through a [`pg::Server`].

mod builder;
mod bulk;
mod column_names;
pub mod config;
mod describe;
mod diagnostic;
mod dynamic;
mod embed;
mod emit;
mod exec_result;
pub mod explain;
mod features;
#[cfg(test)]
mod fuzz_support;
mod ident;
mod index_lint;
mod inputs;
mod ir;
mod lex;
mod lint;
mod lint_context;
mod lint_level;
mod lints;
mod locks;
mod nullability;
#[cfg(test)]
mod offline_fuzz;
mod parse;
pub mod pg;
mod prefetch;
mod query;
mod readonly;
mod schema;
pub mod sqlc_config;
mod typemap;
mod unnest;
pub mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::builder::{build_from_config, BuildError, BuildOutcome, Builder};
pub use crate::config::{Dialect, Pooler};
pub use crate::diagnostic::{
    display_path, Diagnostic, Diagnostics, Location, Severity, SourceFile,
};
pub use crate::emit::EmitError;
pub use crate::inputs::{
    changed_inputs, discover_query_files, read_sources, schema_files, Sources,
};
pub use crate::lex::QueryKind;
pub use crate::query::{ColumnReport, ParamReport, QueryReport};
pub use crate::schema::apply_schema;

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
    /// Further query files or directories, read after [`Config::queries`]
    /// (an sqlc config's list of `queries` paths).
    pub more_queries: Vec<PathBuf>,
    /// Schema files or directories, applied in order.
    pub schema: Vec<PathBuf>,
    /// Output directory of the generated modules.
    pub out: PathBuf,
    /// Type mapping options (time crate, overrides, derives, domains).
    pub types: config::TypeConfig,
}

impl Config {
    /// Replaces the paths that are given (command-line flags, [`Builder`]
    /// setters): a query path replaces every query path, a non-empty
    /// `schema` the schema paths.
    pub fn override_paths(
        &mut self,
        queries: Option<&PathBuf>,
        schema: &[PathBuf],
        out: Option<&PathBuf>,
    ) {
        if let Some(queries) = queries {
            self.queries = queries.clone();
            self.more_queries.clear();
        }
        if !schema.is_empty() {
            self.schema = schema.to_vec();
        }
        if let Some(out) = out {
            self.out = out.clone();
        }
    }

    /// The built-in defaults of the project at `root` (a crate's directory):
    /// queries in `queries/`, schema in `schema/` (or `migrations/` when only
    /// that exists), output into `src/db/`, default type options. An empty
    /// `root` keeps the paths relative to the working directory.
    pub fn project_default(root: &Path) -> Self {
        Self {
            queries: root.join(config::DEFAULT_QUERIES),
            more_queries: Vec::new(),
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

/// Reads the inputs of `config` from disk and runs the whole pipeline
/// against `server` ([`generate_sources`]). Nothing is written.
pub async fn generate(config: &Config, server: &pg::Server) -> Result<Output, Error> {
    generate_sources(&read_sources(config)?, server).await
}

/// Runs the whole pipeline on `sources` against `server` and returns the
/// generated files. Nothing is written; on any error no output is produced
/// at all. Every stage collects its diagnostics; the run stops after a stage
/// when what follows could only pile consequences on top.
pub async fn generate_sources(sources: &Sources, server: &pg::Server) -> Result<Output, Error> {
    let inputs = sources.load()?;
    let mut diagnostics = Vec::new();
    // No database: lex, query and module names, directives, parse.
    let lexed = query::lex_all(&inputs, &mut diagnostics);
    let parsed = query::parse_all(lexed, &mut diagnostics);
    let user_queries = parsed.len();
    // Database: schema, describe, derived loaders (described too), final SQL.
    let schema = &inputs.schema_files;
    let dialect = sources.types().dialect;
    let described = query::describe_all(server, schema, dialect, parsed, &mut diagnostics).await?;
    let catalog = described.catalog;
    // No database from here on: lint, nullability (then overrides).
    let levels = &sources.types().lints;
    let analysed = query::analyse_all(described.queries, &catalog, levels, &mut diagnostics);
    let Some(analysed) = analysed else {
        return Err(fail(diagnostics));
    };
    let mapper = typemap::TypeMapper::new(sources.types());
    let resolved = match query::resolve_all(&analysed, &catalog, &mapper) {
        Ok(resolved) if !diagnostics.iter().any(Diagnostic::is_error) => resolved,
        Ok(_) => return Err(fail(diagnostics)),
        Err(errors) => return Err(fail([diagnostics, errors].concat())),
    };
    // In sqlc's dialect a query file may hold no query (a schema file
    // listed with the queries): it gets no module.
    let modules: Vec<(String, String)> = inputs
        .modules()
        .into_iter()
        .filter(|(name, _)| resolved.iter().any(|query| query.module == name))
        .collect();
    let built = ir::build_project(&modules, &resolved, &catalog, &mapper, &mut diagnostics);
    let project = match built {
        Ok(project) => project,
        Err(errors) => return Err(fail([diagnostics, errors].concat())),
    };
    let declared = &sources.types().runtime_features;
    diagnostics.extend(features::check(&resolved, &project, declared));
    let files = emit::emit_project(&project, &inputs.header)?;
    Ok(Output {
        files,
        warnings: diagnostics,
        query_files: inputs.query_files.len(),
        queries: user_queries,
        input_hash: inputs.header.input_hash,
        reports: analysed.iter().map(query::AnalysedQuery::report).collect(),
    })
}

/// Runs every stage that needs no database on `sources` — reading the
/// texts, lexing, query and module names, directives, parsing — and returns
/// their diagnostics (empty when they found nothing).
pub fn check_offline(sources: &Sources) -> Vec<Diagnostic> {
    let inputs = match sources.load() {
        Ok(inputs) => inputs,
        Err(Error::Diagnostics(diagnostics)) => return diagnostics.0,
        Err(error) => return vec![Diagnostic::error(error.to_string(), None)],
    };
    let mut diagnostics = Vec::new();
    let lexed = query::lex_all(&inputs, &mut diagnostics);
    query::parse_all(lexed, &mut diagnostics);
    diagnostics
}

/// The run's failure: every diagnostic collected so far.
fn fail(diagnostics: Vec<Diagnostic>) -> Error {
    Error::Diagnostics(Diagnostics(diagnostics))
}

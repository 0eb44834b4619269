//! The `build.rs` API, in the spirit of `prost-build`.
//!
//! Owns what a build script needs beyond the pipeline: telling cargo what to
//! watch (`cargo:rerun-if-changed` for every input, `cargo:rerun-if-env-changed`
//! for the variables read), and skipping generation — with no PostgreSQL at all
//! — when the committed output's header hash equals the inputs' hash. Only when
//! the output is stale does it start a server and regenerate; if no server can
//! be had, the error says how to regenerate by hand.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), codegen::BuildError> {
//!     codegen::Builder::new()
//!         .queries("queries")
//!         .schema("migrations")
//!         .out("src/db")
//!         .generate()
//! }
//! ```
//!
//! What is not set comes from the config file, else from the built-in
//! defaults — the CLI's — relative to the config file's directory or, without
//! one, to the crate being built (`CARGO_MANIFEST_DIR`): queries in
//! `queries/`, schema in `schema/` (or `migrations/` when only that exists),
//! output into `src/db/`. So `Builder::new().generate()` alone writes the
//! crate's own `src/db/` and nothing outside it. Files it writes say in their
//! header that the build script regenerates them.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{read_config_file, Pooler, TypeConfig};
use crate::diagnostic::display_path;
use crate::emit::HASH_PREFIX;
use crate::{pg, Config, Error};

/// Configures and runs generation from a build script.
///
/// What is not set comes from the config file, else from the built-in
/// defaults — the CLI's — relative to the config file's directory or, without
/// one, to the crate being built (`CARGO_MANIFEST_DIR`):
///
/// | setting | default |
/// | --- | --- |
/// | [`queries`](Self::queries) | `queries/` |
/// | [`schema`](Self::schema) | `schema/`, or `migrations/` when only that exists |
/// | [`out`](Self::out) | `src/db/` |
///
/// So `Builder::new().generate()` alone writes the crate's own `src/db/`,
/// and nothing outside it.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    config_file: Option<PathBuf>,
    queries: Option<PathBuf>,
    schema: Vec<PathBuf>,
    out: Option<PathBuf>,
    types: Option<TypeConfig>,
    attribution: Option<bool>,
    pooler: Option<Pooler>,
    emit_cargo_directives: bool,
}

/// What [`Builder::generate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildOutcome {
    /// The committed output matched the inputs: nothing was done.
    UpToDate,
    /// The output was regenerated.
    Generated,
}

/// Why generation from a build script failed. `Debug` prints the same as
/// `Display`, so `fn main() -> Result<(), BuildError>` shows a readable message.
pub struct BuildError {
    error: Error,
    hint: Option<String>,
}

impl BuildError {
    /// The underlying error.
    pub fn error(&self) -> &Error {
        &self.error
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            Error::Diagnostics(diagnostics) => write!(f, "{diagnostics}")?,
            other => writeln!(f, "error: {other}")?,
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "  = help: {hint}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Cargo prints a failing build script's `Err` with `Debug`.
        write!(f, "\n{self}")
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<Error> for BuildError {
    fn from(error: Error) -> Self {
        Self { error, hint: None }
    }
}

impl Builder {
    /// A builder with the defaults (the crate's `queries/`, `schema/` or
    /// `migrations/`, and `src/db/`; see [`Builder`]), and a `quarry.toml` if
    /// [`config_file`](Self::config_file) names one.
    pub fn new() -> Self {
        Self {
            emit_cargo_directives: true,
            ..Self::default()
        }
    }

    /// Reads settings from a `quarry.toml`, or from an sqlc config of one
    /// entry (`sqlc.yaml`, `sqlc.yml`, `sqlc.json`: see
    /// [`sqlc_config`](crate::sqlc_config)); setters called on the builder win.
    pub fn config_file(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.config_file = Some(path.into());
        self
    }

    /// The query directory (or one file).
    pub fn queries(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.queries = Some(path.into());
        self
    }

    /// Adds a schema file or directory (applied in the order added).
    pub fn schema(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.schema.push(path.into());
        self
    }

    /// The output directory (committed, or `OUT_DIR`-based; default: the
    /// crate's `src/db/`).
    pub fn out(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.out = Some(path.into());
        self
    }

    /// Type options (time crate, overrides, derives).
    pub fn types(&mut self, types: TypeConfig) -> &mut Self {
        self.types = Some(types);
        self
    }

    /// Whether every statement's SQL starts with a comment naming its query
    /// (`/* quarry:ListPosts */ SELECT …`), shown by `pg_stat_activity`,
    /// `pg_stat_statements` and the server log. Wins over `attribution` in
    /// the config file and over [`types`](Self::types); on by default.
    pub fn attribution(&mut self, on: bool) -> &mut Self {
        self.attribution = Some(on);
        self
    }

    /// The pooler the generated code runs behind: with
    /// [`Pooler::Transaction`], every generated query is pooler-safe (an
    /// unnamed statement with declared parameter types) on every executor.
    /// Wins over `pooler` in the config file and over
    /// [`types`](Self::types); [`Pooler::Session`] by default.
    pub fn pooler(&mut self, pooler: Pooler) -> &mut Self {
        self.pooler = Some(pooler);
        self
    }

    /// Whether to print `cargo:` directives (on by default; off outside build scripts).
    pub fn emit_cargo_directives(&mut self, on: bool) -> &mut Self {
        self.emit_cargo_directives = on;
        self
    }

    /// The directory the defaults are relative to: the config file's, else
    /// the crate's (`CARGO_MANIFEST_DIR`), else the working directory.
    fn project_root(&self) -> PathBuf {
        match self.config_file.as_deref() {
            Some(file) => file.parent().map(Path::to_path_buf).unwrap_or_default(),
            None => std::env::var_os("CARGO_MANIFEST_DIR")
                .map(PathBuf::from)
                .unwrap_or_default(),
        }
    }

    /// The configuration, the live server URL (from `database_url_env`) and
    /// that variable's name.
    fn resolve(&self) -> Result<(Config, Option<String>, Option<String>), Error> {
        let defaults = Config::project_default(&self.project_root());
        if let Some(path) = self
            .config_file
            .as_deref()
            .filter(|path| crate::sqlc_config::is_sqlc_config(path))
        {
            return Ok((self.resolve_sqlc(path)?, None, None));
        }
        let file = self
            .config_file
            .as_deref()
            .map(read_config_file)
            .transpose()?;
        let database_url = file.as_ref().and_then(|file| file.database_url());
        let url_variable = file.as_ref().and_then(|file| file.database_url_env.clone());
        let (file_queries, file_schema, file_out, file_types) = match file {
            Some(file) => (file.queries, file.schema, file.out, Some(file.types)),
            None => (None, None, None, None),
        };
        let mut types = self.types.clone().or(file_types).unwrap_or_default();
        if let Some(on) = self.attribution {
            types.attribution = on;
        }
        if let Some(pooler) = self.pooler {
            types.pooler = pooler;
        }
        let config = Config {
            queries: self
                .queries
                .clone()
                .or(file_queries)
                .unwrap_or(defaults.queries),
            more_queries: Vec::new(),
            schema: if self.schema.is_empty() {
                file_schema.unwrap_or(defaults.schema)
            } else {
                self.schema.clone()
            },
            out: self.out.clone().or(file_out).unwrap_or(defaults.out),
            types,
        };
        Ok((config, database_url, url_variable))
    }

    /// The configuration from an sqlc config's one entry, setters winning.
    fn resolve_sqlc(&self, path: &Path) -> Result<Config, Error> {
        let loaded = crate::sqlc_config::load(path)?;
        let count = loaded.configs.len();
        let Ok([mut config]) = <[Config; 1]>::try_from(loaded.configs) else {
            return Err(Error::Config(format!(
                "the Builder generates one configuration, and {} has {count} entries: use the `codegen` CLI, or one Builder per entry with its own paths",
                display_path(path).display()
            )));
        };
        config.override_paths(self.queries.as_ref(), &self.schema, self.out.as_ref());
        if let Some(types) = &self.types {
            config.types = types.clone();
        }
        if let Some(on) = self.attribution {
            config.types.attribution = on;
        }
        if let Some(pooler) = self.pooler {
            config.types.pooler = pooler;
        }
        Ok(config)
    }

    /// Regenerates the output if its inputs changed; does nothing (and needs
    /// no database) when the committed output's hash matches.
    pub fn generate(&self) -> Result<(), BuildError> {
        self.generate_with_outcome().map(|_| ())
    }

    /// Like [`generate`](Self::generate), telling what happened.
    pub fn generate_with_outcome(&self) -> Result<BuildOutcome, BuildError> {
        // On a large stack, like the CLI: a stack overflow in a build script
        // would abort it without stopping the ephemeral server.
        crate::with_large_stack(|| self.generate_on_this_thread())
    }

    fn generate_on_this_thread(&self) -> Result<BuildOutcome, BuildError> {
        let (config, database_url, url_variable) = self.resolve()?;
        if self.emit_cargo_directives {
            self.print_rerun_directives(&config, url_variable.as_deref())?;
        }
        let mut sources = crate::read_sources(&config)?;
        sources.regenerated_by_build_script();
        if committed_hash(&config.out) == Some(sources.input_hash()) {
            return Ok(BuildOutcome::UpToDate);
        }
        let changed = std::fs::read_to_string(config.out.join("mod.rs"))
            .map(|committed| crate::changed_inputs(&sources, &committed))
            .unwrap_or_default();
        let regenerate_hint = format!(
            "the generated code in `{}` is stale{}; make PostgreSQL available to this build (server binaries on PATH, or DATABASE_URL) so that it regenerates, or regenerate it with the `codegen` CLI ({}) and commit the result",
            display_path(&config.out).display(),
            if changed.is_empty() {
                String::new()
            } else {
                format!(" (changed: {})", changed.join(", "))
            },
            self.cli_command(&config),
        );
        let server = match database_url {
            Some(url) => pg::Server::external(&url),
            None => pg::Server::from_env(),
        }
        .map_err(|error| BuildError {
            error: error.into(),
            hint: Some(regenerate_hint.clone()),
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                path: PathBuf::from("<tokio runtime>"),
                source,
            })?;
        let output = runtime
            .block_on(crate::generate_sources(&sources, &server))
            .map_err(|error| BuildError {
                hint: matches!(error, Error::Server(_) | Error::Postgres { .. })
                    .then(|| regenerate_hint.clone()),
                error,
            })?;
        drop(server);
        for warning in &output.warnings {
            if self.emit_cargo_directives {
                for line in warning.render().lines() {
                    println!("cargo:warning={line}");
                }
            }
        }
        crate::write::write_files(&config.out, &output.files)?;
        Ok(BuildOutcome::Generated)
    }

    /// The `codegen` command line that regenerates what this builder does.
    fn cli_command(&self, config: &Config) -> String {
        let quoted = |path: &Path| {
            let shown = display_path(path).display().to_string();
            if shown.contains(|c: char| c.is_whitespace() || c == '\'') {
                format!("'{}'", shown.replace('\'', r"'\''"))
            } else {
                shown
            }
        };
        // The config file, and a flag for what the builder sets (everything
        // without a config file).
        let mut args: Vec<String> = Vec::new();
        args.extend(
            self.config_file
                .as_deref()
                .map(|file| format!("--config {}", quoted(file))),
        );
        let all = self.config_file.is_none();
        if all || self.queries.is_some() {
            args.push(format!("--queries {}", quoted(&config.queries)));
        }
        if all || !self.schema.is_empty() {
            args.extend(
                config
                    .schema
                    .iter()
                    .map(|path| format!("--schema {}", quoted(path))),
            );
        }
        if all || self.out.is_some() {
            args.push(format!("--out {}", quoted(&config.out)));
        }
        format!("`codegen {}`", args.join(" "))
    }

    // The output directory is not watched: regenerating writes it, and
    // watching it would rerun the script once more after every regeneration.
    fn print_rerun_directives(
        &self,
        config: &Config,
        url_variable: Option<&str>,
    ) -> Result<(), Error> {
        let mut watched: Vec<PathBuf> = Vec::new();
        watched.extend(self.config_file.clone());
        for queries in std::iter::once(&config.queries).chain(&config.more_queries) {
            watched.push(queries.clone());
            watched.extend(crate::discover_query_files(queries)?);
        }
        for schema in &config.schema {
            watched.push(schema.clone());
            watched.extend(crate::schema_files(schema)?);
        }
        for path in watched {
            println!("cargo:rerun-if-changed={}", path.display());
        }
        for variable in ["DATABASE_URL", "QUARRY_PG_BIN", "QUARRY_PG_ROOT"] {
            println!("cargo:rerun-if-env-changed={variable}");
        }
        if let Some(variable) = url_variable {
            println!("cargo:rerun-if-env-changed={variable}");
        }
        Ok(())
    }
}

/// The input hash in the header of `out/mod.rs`, if there is one.
pub fn committed_hash(out: &Path) -> Option<String> {
    let text = std::fs::read_to_string(out.join("mod.rs")).ok()?;
    text.lines()
        .take(8)
        .find_map(|line| line.strip_prefix(HASH_PREFIX))
        .map(str::to_string)
}

/// The common case in one call: `quarry.toml` next to `Cargo.toml`.
pub fn build_from_config(config_file: impl Into<PathBuf>) -> Result<(), BuildError> {
    Builder::new().config_file(config_file).generate()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::{Builder, Pooler};
    use crate::Config;

    #[test]
    fn the_regeneration_hint_names_the_equivalent_cli_command() {
        let defaults = Config::project_default(Path::new(""));
        assert_eq!(
            Builder::new().cli_command(&defaults),
            "`codegen --queries queries --schema schema --out src/db`"
        );
        let mut from_file = Builder::new();
        from_file.config_file("quarry.toml");
        assert_eq!(
            from_file.cli_command(&defaults),
            "`codegen --config quarry.toml`"
        );
        from_file.out("my out");
        let config = Config {
            out: PathBuf::from("my out"),
            ..defaults
        };
        assert_eq!(
            from_file.cli_command(&config),
            "`codegen --config quarry.toml --out 'my out'`"
        );
    }

    #[test]
    fn attribution_is_on_unless_the_builder_or_the_file_says_otherwise() -> Result<(), crate::Error>
    {
        let dir = std::env::temp_dir().join(format!("quarry-builder-attr-{}", std::process::id()));
        let file = dir.join("quarry.toml");
        let io = |source| crate::Error::Io {
            path: file.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::write(&file, "attribution = false\n").map_err(io)?;
        let attribution = |builder: &Builder| builder.resolve().map(|(c, ..)| c.types.attribution);
        let defaults = attribution(&Builder::new());
        let from_file = attribution(Builder::new().config_file(&file));
        let builder_wins = attribution(Builder::new().config_file(&file).attribution(true));
        let off = attribution(Builder::new().attribution(false));
        std::fs::remove_dir_all(&dir).map_err(io)?;
        assert!(defaults?);
        assert!(!from_file?);
        assert!(builder_wins?);
        assert!(!off?);
        Ok(())
    }

    #[test]
    fn pooler_is_session_unless_the_builder_or_the_file_says_otherwise() -> Result<(), crate::Error>
    {
        let dir =
            std::env::temp_dir().join(format!("quarry-builder-pooler-{}", std::process::id()));
        let file = dir.join("quarry.toml");
        let io = |source| crate::Error::Io {
            path: file.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::write(&file, "pooler = \"transaction\"\n").map_err(io)?;
        let pooler = |builder: &Builder| builder.resolve().map(|(c, ..)| c.types.pooler);
        let defaults = pooler(&Builder::new());
        let from_file = pooler(Builder::new().config_file(&file));
        let builder_wins = pooler(Builder::new().config_file(&file).pooler(Pooler::Session));
        let set = pooler(Builder::new().pooler(Pooler::Transaction));
        std::fs::remove_dir_all(&dir).map_err(io)?;
        assert_eq!(defaults?, Pooler::Session);
        assert_eq!(from_file?, Pooler::Transaction);
        assert_eq!(builder_wins?, Pooler::Session);
        assert_eq!(set?, Pooler::Transaction);
        Ok(())
    }

    #[test]
    fn an_sqlc_config_of_one_entry_configures_the_builder() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("sqlc.yaml");
        for path in ["schema.sql", "a.sql", "b.sql"] {
            std::fs::write(dir.path().join(path), "")?;
        }
        let entry = "  - engine: postgresql\n    schema: schema.sql\n    queries: [a.sql, b.sql]\n";
        std::fs::write(&file, format!("version: \"2\"\nsql:\n{entry}"))?;
        let (config, ..) = Builder::new().config_file(&file).resolve()?;
        assert_eq!(config.queries, dir.path().join("a.sql"));
        assert_eq!(config.more_queries, [dir.path().join("b.sql")]);
        assert_eq!(config.out, dir.path().join("src/db"));
        assert_eq!(config.types.dialect, crate::Dialect::Sqlc);
        let (config, ..) = Builder::new()
            .config_file(&file)
            .queries(dir.path().join("b.sql"))
            .attribution(false)
            .resolve()?;
        assert_eq!(config.queries, dir.path().join("b.sql"));
        assert!(config.more_queries.is_empty() && !config.types.attribution);
        std::fs::write(&file, format!("version: \"2\"\nsql:\n{entry}{entry}"))?;
        let Err(crate::Error::Config(message)) = Builder::new().config_file(&file).resolve() else {
            panic!("two entries must be an error");
        };
        assert!(message.contains("has 2 entries"), "{message}");
        Ok(())
    }

    #[test]
    fn defaults_are_relative_to_the_config_file() {
        let mut builder = Builder::new();
        builder.config_file("/crate/quarry.toml");
        assert_eq!(builder.project_root(), Path::new("/crate"));
    }

    /// Recursion with 64 KiB frames, `depth` deep.
    fn deep(depth: usize) -> usize {
        let frame = std::hint::black_box([1u8; 64 * 1024]);
        if depth == 0 {
            return frame[0] as usize;
        }
        deep(depth - 1) + std::hint::black_box(frame)[depth % 1024] as usize
    }

    #[test]
    fn the_pipeline_runs_on_a_large_stack() {
        // 16 MiB or more of stack: far more than a test thread (2 MiB) or `main` (8 MiB) has.
        assert_eq!(crate::with_large_stack(|| deep(256)), 257);
        let borrowed = String::from("borrowed");
        assert_eq!(crate::with_large_stack(|| borrowed.len()), 8);
        let panicked = std::panic::catch_unwind(|| crate::with_large_stack(|| panic!("inside")));
        assert!(panicked.is_err());
    }
}

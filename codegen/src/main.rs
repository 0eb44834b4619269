//! `cargo run -p codegen`: generate (or check) the typed query modules.
//!
//! Exit status: 0 on success; for `check`, 1 when the committed output is
//! stale; 2 on errors (bad input, no database).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use codegen::display_path;
use codegen::write::Staleness;
use codegen::{pg, Config, Error};

/// Quarry: typed Rust from annotated PostgreSQL query files.
#[derive(Debug, Parser)]
#[command(name = "codegen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: Options,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate the modules and write them (the default).
    Generate,
    /// Exit non-zero, naming the files, if the committed output is stale.
    Check,
    /// Regenerate on every change to queries, schema or config, keeping PostgreSQL warm.
    Watch,
    /// Report sequential scans, nested loops and spilling sorts in the queries'
    /// generic plans on a database with real statistics (with hypopg: the index that helps).
    Explain {
        /// Only these queries (default: all).
        #[arg(value_name = "QUERY_NAME")]
        names: Vec<String>,
        /// Tables above this many rows are large.
        #[arg(long, default_value_t = 10_000.0)]
        large_rows: f64,
    },
}

#[derive(Debug, Clone, Args)]
struct Options {
    /// Directory of `.sql` query files (or one file).
    #[arg(long, global = true)]
    queries: Option<PathBuf>,
    /// Schema file or directory (repeatable), applied in order.
    #[arg(long, global = true)]
    schema: Vec<PathBuf>,
    /// Output directory for the generated modules.
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    /// Configuration file: a `quarry.toml`, or an sqlc config (`.yaml`, `.yml`,
    /// `.json`). Default: `quarry.toml`, else `sqlc.yaml`/`sqlc.yml`/`sqlc.json`,
    /// in this directory or the nearest ancestor that has one.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Use this PostgreSQL server instead of an ephemeral one (default: $DATABASE_URL).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl Options {
    /// The config file's path: `--config`, else the working directory's or
    /// its nearest ancestor's `quarry.toml`, `sqlc.yaml`, `sqlc.yml` or
    /// `sqlc.json` (in that order within a directory).
    fn config_path(&self) -> Option<PathBuf> {
        self.config.clone().or_else(|| {
            std::env::current_dir()
                .ok()
                .and_then(|cwd| codegen::sqlc_config::find_config_file(&cwd))
        })
    }

    /// The sqlc config in force, if the config file is one.
    fn sqlc_path(&self) -> Option<PathBuf> {
        self.config_path()
            .filter(|path| codegen::sqlc_config::is_sqlc_config(path))
    }

    /// The `quarry.toml` in force, read and validated, if there is one (an
    /// sqlc config names no database).
    fn config_file(&self) -> Result<Option<codegen::config::FileConfig>, Error> {
        self.config_path()
            .filter(|path| !codegen::sqlc_config::is_sqlc_config(path))
            .map(|path| codegen::config::read_config_file(&path))
            .transpose()
    }

    /// Every configuration to generate, in order, and what reading them
    /// reported (an sqlc config's warnings and notes, rendered): one for a
    /// `quarry.toml` or none, one per entry of an sqlc config. With several
    /// entries, `--queries`, `--schema` and `--out` are an error.
    fn configs(&self) -> Result<(Vec<Config>, Vec<String>), Error> {
        let Some(path) = self.sqlc_path() else {
            return Ok((vec![self.toml_config()?], Vec::new()));
        };
        let loaded = codegen::sqlc_config::load(&path)?;
        let mut messages: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
        messages.extend(loaded.notes.iter().map(|note| format!("note: {note}")));
        let mut configs = loaded.configs;
        if self.queries.is_some() || !self.schema.is_empty() || self.out.is_some() {
            let count = configs.len();
            let [config] = configs.as_mut_slice() else {
                return Err(Error::Config(format!(
                    "--queries, --schema and --out apply to one configuration, and {} has {count} entries",
                    display_path(&path).display()
                )));
            };
            config.override_paths(self.queries.as_ref(), &self.schema, self.out.as_ref());
        }
        Ok((configs, messages))
    }

    /// The one configuration of a command that takes one (`explain`), its
    /// messages printed.
    fn config(&self) -> Result<Config, Error> {
        let (configs, messages) = self.configs()?;
        for message in &messages {
            eprintln!("{message}");
        }
        let count = configs.len();
        match <[Config; 1]>::try_from(configs) {
            Ok([config]) => Ok(config),
            Err(_) => Err(Error::Config(format!(
                "this command takes one configuration, and {} has {count} entries",
                self.config_path()
                    .map(|path| display_path(&path).display().to_string())
                    .unwrap_or_default()
            ))),
        }
    }

    /// The configuration from `quarry.toml` (or none): flags win over the
    /// config file, the file over the built-in defaults, which are relative
    /// to the file's directory (with no file, to the working directory).
    fn toml_config(&self) -> Result<Config, Error> {
        let path = self.config_path();
        let root = path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let defaults = Config::project_default(&root);
        let file = path
            .map(|path| codegen::config::read_config_file(&path))
            .transpose()?;
        let (file_queries, file_schema, file_out, types) = match file {
            Some(file) => (file.queries, file.schema, file.out, file.types),
            None => (None, None, None, defaults.types),
        };
        Ok(Config {
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
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Everything runs on a thread with a large stack: the pipeline recurses
    // over syntax trees, and a stack overflow would abort the process
    // without stopping the ephemeral server.
    codegen::with_large_stack(move || run_command(&cli))
}

fn run_command(cli: &Cli) -> ExitCode {
    if matches!(cli.command, Some(Command::Watch)) {
        return match watch(&cli.options) {
            Ok(code) => code,
            Err(error) => {
                eprint!("{}", render_error(&error));
                ExitCode::from(2)
            }
        };
    }
    if let Some(Command::Explain { names, large_rows }) = &cli.command {
        let options = codegen::explain::ExplainOptions {
            only: names.clone(),
            large_rows: *large_rows,
        };
        return explain(&cli.options, &options);
    }
    let check = matches!(cli.command, Some(Command::Check));
    match run(check, &cli.options) {
        Ok(code) => code,
        Err(error) => {
            eprint!("{}", render_error(&error));
            ExitCode::from(2)
        }
    }
}

fn render_error(error: &Error) -> String {
    match error {
        Error::Diagnostics(diagnostics) => diagnostics.to_string(),
        other => format!("error: {other}\n"),
    }
}

/// The server: `--database-url`/`DATABASE_URL`, else the config file's
/// `database_url_env`, else an ephemeral cluster.
fn server(options: &Options) -> Result<pg::Server, Error> {
    if let Some(url) = options
        .database_url
        .as_deref()
        .filter(|url| !url.is_empty())
    {
        return Ok(pg::Server::external(url)?);
    }
    if let Some(url) = options.config_file()?.and_then(|file| file.database_url()) {
        return Ok(pg::Server::external(&url)?);
    }
    Ok(pg::Server::ephemeral()?)
}

/// `codegen explain`: the findings as warnings; exit 2 when the database
/// cannot be reached or a query cannot be explained, else 0.
fn explain(options: &Options, explain_options: &codegen::explain::ExplainOptions) -> ExitCode {
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    };
    let outcome = (|| -> Result<codegen::explain::ExplainReport, String> {
        let mut config = options.config().map_err(|e| render_error(&e))?;
        // The database already has the schema: only the queries are read.
        config.schema.clear();
        let sources = codegen::read_sources(&config).map_err(|e| render_error(&e))?;
        let url = match options.database_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => Some(url.to_string()),
            None => options
                .config_file()
                .map_err(|e| render_error(&e))?
                .and_then(|f| f.database_url()),
        };
        let Some(url) = url else {
            return Err("`codegen explain` needs a database with real statistics: pass --database-url (or set DATABASE_URL, or database_url_env in quarry.toml)".to_string());
        };
        let server = pg::Server::external(&url).map_err(|e| e.to_string())?;
        let runtime = tokio_runtime().map_err(|e| render_error(&e))?;
        runtime.block_on(async {
            let client = server.connect(None).await.map_err(|e| e.to_string())?;
            codegen::explain::explain(&client, &sources, explain_options)
                .await
                .map_err(|e| e.to_string())
        })
    })();
    let report = match outcome {
        Ok(report) => report,
        Err(message) => return fail(message.trim_start_matches("error: ").trim_end().to_string()),
    };
    for diagnostic in report.diagnostics() {
        eprintln!("{diagnostic}");
    }
    println!(
        "explained {} queries: {} findings{}",
        report.queries.len(),
        report.finding_count(),
        if report.hypopg {
            ""
        } else {
            " (hypopg not installed: no index suggestions)"
        }
    );
    if report.has_errors() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn tokio_runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            path: PathBuf::from("<tokio runtime>"),
            source,
        })
}

/// Size and modification time of every file the output depends on.
fn input_snapshot(
    options: &Options,
    configs: &[Config],
) -> Vec<(PathBuf, Option<(std::time::SystemTime, u64)>)> {
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut add_dir = |dir: &std::path::Path| {
        paths.push(dir.to_path_buf());
        if let Ok(entries) = std::fs::read_dir(dir) {
            paths.extend(entries.filter_map(|entry| entry.ok().map(|e| e.path())));
        }
    };
    for config in configs {
        add_dir(&config.queries);
        for path in config.more_queries.iter().chain(&config.schema) {
            add_dir(path);
        }
    }
    paths.extend(options.config_path());
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let stamp = std::fs::metadata(&path)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())));
            (path, stamp)
        })
        .collect()
}

/// `codegen watch`: regenerate whenever an input changes, printing
/// diagnostics without exiting. The server stays up between runs; every run
/// applies the schema to a fresh database, so schema changes take effect.
fn watch(options: &Options) -> Result<ExitCode, Error> {
    let server = server(options)?;
    let runtime = tokio_runtime()?;
    let mut last = None;
    let mut last_config_error: Option<String> = None;
    let mut last_messages = Vec::new();
    println!("watching for changes (Ctrl-C to stop)");
    loop {
        let configs = match options.configs() {
            Ok((configs, messages)) => {
                last_config_error = None;
                // An sqlc config's warnings and notes, once until they change.
                if messages != last_messages {
                    for message in &messages {
                        eprintln!("{message}");
                    }
                    last_messages = messages;
                }
                configs
            }
            Err(error) => {
                // Report each new configuration error once, then wait for a fix.
                let rendered = render_error(&error);
                if last_config_error.as_ref() != Some(&rendered) {
                    eprint!("{rendered}");
                    println!("waiting for changes");
                    last_config_error = Some(rendered);
                }
                last = None;
                std::thread::sleep(std::time::Duration::from_millis(150));
                continue;
            }
        };
        let snapshot = input_snapshot(options, &configs);
        if last.as_ref() != Some(&snapshot) {
            last = Some(snapshot);
            for config in &configs {
                regenerate(config, &server, &runtime);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// One `watch` run of one configuration: generate, print, write.
fn regenerate(config: &Config, server: &pg::Server, runtime: &tokio::runtime::Runtime) {
    let started = Instant::now();
    match runtime.block_on(codegen::generate(config, server)) {
        Ok(output) => {
            for warning in &output.warnings {
                eprintln!("{warning}");
            }
            match codegen::write::write_files(&config.out, &output.files) {
                Ok(report) => println!(
                    "regenerated {} queries in {:.2}s ({} written, {} unchanged)",
                    output.queries,
                    started.elapsed().as_secs_f64(),
                    report.written.len(),
                    report.unchanged.len()
                ),
                Err(error) => eprint!("{}", render_error(&error)),
            }
        }
        Err(error) => {
            eprint!("{}", render_error(&error));
            println!("waiting for changes");
        }
    }
}

/// `generate` or `check` of every configuration (an sqlc config's entries in
/// order) on one server; for `check`, exit 1 if any output is stale.
fn run(check: bool, options: &Options) -> Result<ExitCode, Error> {
    let mut started = Instant::now();
    let (configs, messages) = options.configs()?;
    for message in &messages {
        eprintln!("{message}");
    }
    // Fail on unreadable input before paying for a database.
    let sources = configs
        .iter()
        .map(codegen::read_sources)
        .collect::<Result<Vec<_>, _>>()?;
    let server = server(options)?;
    let runtime = tokio_runtime()?;
    let mut stale = false;
    for (config, sources) in configs.iter().zip(&sources) {
        let output = runtime.block_on(codegen::generate_sources(sources, &server))?;
        stale |= !finish(check, config, sources, &output, started)?;
        started = Instant::now();
    }
    drop(server);
    Ok(if stale {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints a run's warnings, then writes its files or (`check`) compares
/// them; whether the output was up to date (always, when writing).
fn finish(
    check: bool,
    config: &Config,
    sources: &codegen::Sources,
    output: &codegen::Output,
    started: Instant,
) -> Result<bool, Error> {
    for warning in &output.warnings {
        eprintln!("{warning}");
    }
    let elapsed = started.elapsed().as_secs_f64();
    if check {
        let stale = codegen::write::check_files(&config.out, &output.files)?;
        if stale.is_empty() {
            println!(
                "up to date: {} files from {} query files ({} queries) in {} ({elapsed:.2}s)",
                output.files.len(),
                output.query_files,
                output.queries,
                display_path(&config.out).display()
            );
            return Ok(true);
        }
        for file in &stale {
            let reason = match file.reason {
                Staleness::Missing => "missing",
                Staleness::Different => "out of date",
                Staleness::Extra => "no longer generated",
            };
            eprintln!("stale: {} ({reason})", display_path(&file.path).display());
            if let Some(diff) = &file.diff {
                for line in diff.lines() {
                    eprintln!("    {line}");
                }
            }
        }
        if let Ok(committed) = std::fs::read_to_string(config.out.join("mod.rs")) {
            for input in codegen::changed_inputs(sources, &committed) {
                eprintln!("changed since generation: {input}");
            }
        }
        eprintln!(
            "error: {} generated file(s) are stale; run `cargo run -p codegen` and commit the result",
            stale.len()
        );
        return Ok(false);
    }
    let report = codegen::write::write_files(&config.out, &output.files)?;
    println!(
        "generated {} files from {} query files ({} queries) into {} in {elapsed:.2}s ({} written, {} unchanged, {} removed)",
        output.files.len(),
        output.query_files,
        output.queries,
        display_path(&config.out).display(),
        report.written.len(),
        report.unchanged.len(),
        report.removed.len()
    );
    Ok(true)
}

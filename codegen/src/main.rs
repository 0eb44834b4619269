//! `cargo run -p codegen`: generate (or check) the typed query modules.
//!
//! Exit status: 0 on success; for `check`, 1 when the committed output is
//! stale; 2 on errors (bad input, no database).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
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
    /// Configuration file (default: `quarry.toml` in this directory or an ancestor).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Use this PostgreSQL server instead of an ephemeral one (default: $DATABASE_URL).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl Options {
    /// The configuration: built-in defaults, then the config file, then flags.
    fn config(&self) -> Result<Config, Error> {
        let defaults = Config::workspace_default();
        let path = match &self.config {
            Some(path) => Some(path.clone()),
            None => std::env::current_dir()
                .ok()
                .and_then(|cwd| codegen::config::find_config_file(&cwd)),
        };
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

fn run(check: bool, options: &Options) -> Result<ExitCode, Error> {
    let started = Instant::now();
    let config = options.config()?;
    // Fail on unreadable input before paying for a database.
    let inputs = codegen::read_inputs(&config)?;
    let server = match options
        .database_url
        .as_deref()
        .filter(|url| !url.is_empty())
    {
        Some(url) => pg::Server::external(url)?,
        None => pg::Server::ephemeral()?,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            path: PathBuf::from("<tokio runtime>"),
            source,
        })?;
    let output = runtime.block_on(codegen::generate(&config, &server))?;
    drop(server);
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
                config.out.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        for file in &stale {
            let reason = match file.reason {
                Staleness::Missing => "missing",
                Staleness::Different => "out of date",
                Staleness::Extra => "no longer generated",
            };
            eprintln!("stale: {} ({reason})", file.path.display());
            if let Some(diff) = &file.diff {
                for line in diff.lines() {
                    eprintln!("    {line}");
                }
            }
        }
        if let Ok(committed) = std::fs::read_to_string(config.out.join("mod.rs")) {
            for input in codegen::changed_inputs(&inputs, &committed) {
                eprintln!("changed since generation: {input}");
            }
        }
        eprintln!(
            "error: {} generated file(s) are stale; run `cargo run -p codegen` and commit the result",
            stale.len()
        );
        return Ok(ExitCode::from(1));
    }
    let report = codegen::write::write_files(&config.out, &output.files)?;
    println!(
        "generated {} files from {} query files ({} queries) into {} in {elapsed:.2}s ({} written, {} unchanged, {} removed)",
        output.files.len(),
        output.query_files,
        output.queries,
        config.out.display(),
        report.written.len(),
        report.unchanged.len(),
        report.removed.len()
    );
    Ok(ExitCode::SUCCESS)
}

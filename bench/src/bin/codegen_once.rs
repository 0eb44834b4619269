//! One generator run in a process of its own, as `cargo run -p codegen` does
//! it: start an ephemeral PostgreSQL cluster, generate the code of `COUNT`
//! generated queries (`quarry_bench::codegen_input`), stop the cluster.
//!
//! `codegen_once COUNT` prints `cluster_start_ms=… generate_ms=… queries=…`.
//! The `codegen` bench runs it with `TMPDIR` pointing at an empty directory
//! for a cold start (no cached `initdb` template: the cluster is initdb'd
//! from scratch), and with the usual `TMPDIR` for a warm one (template and
//! spare data directory cached). Always an ephemeral cluster, whatever
//! `DATABASE_URL` says.

use std::process::ExitCode;
use std::time::Instant;

use codegen::pg::Server;
use quarry_bench::{codegen_input, BoxError};

fn run(count: usize) -> Result<String, BoxError> {
    let dir = codegen_input::temp_dir("codegen-once")?;
    let config = codegen_input::write(&dir, count)?;
    let started = Instant::now();
    let server = Server::ephemeral()?;
    let cluster_start = started.elapsed();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let output = runtime.block_on(codegen::generate(&config, &server))?;
    let generate = started.elapsed();
    drop(server);
    std::fs::remove_dir_all(&dir)?;
    Ok(format!(
        "cluster_start_ms={} generate_ms={} queries={}",
        cluster_start.as_millis(),
        generate.as_millis(),
        output.queries
    ))
}

fn main() -> ExitCode {
    let count = std::env::args().nth(1).and_then(|n| n.parse().ok());
    let Some(count) = count else {
        eprintln!("usage: codegen_once COUNT");
        return ExitCode::from(2);
    };
    match run(count) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("codegen_once: {error}");
            ExitCode::FAILURE
        }
    }
}

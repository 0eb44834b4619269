//! Generation speed: the generator (`codegen::generate`: lex, parse, apply
//! the schema to a scratch database, describe every statement, infer
//! nullability, derive and check prefetch relations, emit and format the
//! Rust) on 100 and 1,000 generated queries over the diesel_bench schema
//! (`quarry_bench::codegen_input`), nothing written to disk:
//!
//! * `codegen/warm_cluster/{100,1000}`: in this process, on a PostgreSQL
//!   that is already running (the `codegen watch` and build-script case);
//! * `codegen/warm_start/100`: a new process (`codegen_once`) that starts an
//!   ephemeral cluster from the cached `initdb` template and its ready spare
//!   data directory, generates, and stops the cluster (a `cargo run -p
//!   codegen` on a machine that ran it before);
//! * `codegen/cold_start/100`: the same with `TMPDIR` pointing at a new empty
//!   directory each time, so the template cache is empty and the cluster is
//!   `initdb`'d from scratch (the first run on a machine). The shared cache
//!   other processes use is never touched.
//!
//! Run: `cargo bench -p quarry-bench --bench codegen` (or `bench/run.sh`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use codegen::pg::Server;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use quarry_bench::codegen_input;

/// Runs `codegen_once 100` with `TMPDIR` set to `tmpdir` (or inherited) and
/// returns its wall time, process start to exit.
fn codegen_once(tmpdir: Option<&Path>) -> Duration {
    let mut command = Command::new(env!("CARGO_BIN_EXE_codegen_once"));
    command.arg("100");
    if let Some(tmpdir) = tmpdir {
        command.env("TMPDIR", tmpdir);
    }
    let started = Instant::now();
    let output = command.output().expect("run codegen_once");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "codegen_once failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

/// A new, empty temp dir that the server's system user can enter (the
/// cluster is created inside it).
fn empty_tmpdir() -> std::path::PathBuf {
    let dir = codegen_input::temp_dir("cold").expect("temp dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn codegen(c: &mut Criterion) {
    let server = Server::ephemeral().expect("start PostgreSQL");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    let mut group = c.benchmark_group("codegen");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1));
    for count in [100, 1_000] {
        let dir = codegen_input::temp_dir("warm").expect("temp dir");
        let config = codegen_input::write(&dir, count).expect("write the queries");
        let output = runtime
            .block_on(codegen::generate(&config, &server))
            .expect("generate");
        assert_eq!(output.queries, count);
        assert!(output.warnings.is_empty(), "{:?}", output.warnings);
        group.measurement_time(Duration::from_secs(if count < 1_000 { 10 } else { 30 }));
        group.bench_function(BenchmarkId::new("warm_cluster", count), |b| {
            b.to_async(&runtime)
                .iter(|| async { codegen::generate(&config, &server).await.expect("generate") })
        });
        std::fs::remove_dir_all(&dir).expect("remove the queries");
    }

    // Whole processes: a couple of seconds each when cold.
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(20));
    codegen_once(None);
    group.bench_function(BenchmarkId::new("warm_start", 100), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| codegen_once(None)).sum())
    });
    group.bench_function(BenchmarkId::new("cold_start", 100), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let tmpdir = empty_tmpdir();
                    let elapsed = codegen_once(Some(&tmpdir));
                    std::fs::remove_dir_all(&tmpdir).expect("remove the temp dir");
                    elapsed
                })
                .sum()
        })
    });
    group.finish();
}

criterion_group!(benches, codegen);
criterion_main!(benches);

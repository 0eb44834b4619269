//! Interleaved measurement: the ratio of every implementation to the
//! hand-written floor, for every scenario and size.
//!
//! Criterion measures one implementation after the other, so on a busy
//! machine (2 cores shared with compilers) a change of load between two
//! benchmarks skews their ratio by more than the differences at stake. Here
//! the implementations of one case run interleaved instead: each round
//! times a block of calls of each (about 2 ms), in a new random order each
//! round (so that no implementation always follows the same other one), and
//! the ratios are taken within the round. Load that changes
//! slowly affects every side of a round alike. For each implementation the
//! median of its per-round ratios to the floor, with a distribution-free
//! 95 % confidence interval, is what `bench/report.py` puts in the tables
//! next to criterion's medians.
//!
//! Results go to `target/tmp/quarry-bench-interleaved.json` (the workload
//! bench) and `target/tmp/quarry-bench-interleaved-prefetch.json` (the
//! prefetch bench, which includes this file).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

/// Target duration of one block of calls.
const BLOCK: Duration = Duration::from_millis(2);
const MAX_ROUNDS: usize = 1_000;

/// One call of one implementation.
pub type Call<'a> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + 'a>> + 'a>;

/// Boxes an async closure as a [`Call`].
pub fn call<'a, F, Fut>(run: F) -> Call<'a>
where
    F: Fn() -> Fut + 'a,
    Fut: Future<Output = ()> + 'a,
{
    Box::new(move || Box::pin(run()))
}

/// One implementation's ratio to the floor in one case.
#[derive(Debug, Clone)]
pub struct Ratio {
    pub case: String,
    pub implementation: String,
    pub rounds: usize,
    pub calls_per_block: u32,
    pub median_ratio: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Median time per call over the rounds.
    pub median_ns: f64,
}

async fn block(calls: u32, run: &Call<'_>) -> f64 {
    let started = Instant::now();
    for _ in 0..calls {
        run().await;
    }
    started.elapsed().as_nanos() as f64 / f64::from(calls)
}

/// A small deterministic generator for the order of each round.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Fisher–Yates.
    fn shuffle(&mut self, items: &mut [usize]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Runs `implementations` (the floor first) interleaved for about `budget`
/// and returns each one's ratio to the floor.
pub fn measure(
    runtime: &Runtime,
    case: &str,
    budget: Duration,
    implementations: &[(&str, Call<'_>)],
) -> Vec<Ratio> {
    runtime.block_on(async {
        // Warm up every implementation, and size the blocks for the slowest.
        let mut slowest = 0.0_f64;
        for (_, run) in implementations {
            slowest = slowest.max(block(1, run).await);
        }
        let calls = (BLOCK.as_nanos() as f64 / slowest.max(1.0)).clamp(1.0, 10_000.0) as u32;
        for (_, run) in implementations {
            block(calls, run).await;
        }

        let n = implementations.len();
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); n];
        let mut order: Vec<usize> = (0..n).collect();
        let mut random = Xorshift(0x9E37_79B9_7F4A_7C15);
        let started = Instant::now();
        let mut round = 0;
        while started.elapsed() < budget && round < MAX_ROUNDS {
            random.shuffle(&mut order);
            for &i in &order {
                let time = block(calls, &implementations[i].1).await;
                times[i].push(time);
            }
            round += 1;
        }

        let half = 1.96 * (round as f64).sqrt() / 2.0;
        let low = ((round as f64 / 2.0 - half).floor().max(0.0)) as usize;
        let high = ((round as f64 / 2.0 + half).ceil() as usize).min(round - 1);
        let floor = times[0].clone();
        implementations
            .iter()
            .zip(&mut times)
            .map(|((name, _), times)| {
                let mut ratios: Vec<f64> = times.iter().zip(&floor).map(|(t, f)| t / f).collect();
                let median_ratio = median(&mut ratios);
                let ratio = Ratio {
                    case: case.to_owned(),
                    implementation: (*name).to_owned(),
                    rounds: round,
                    calls_per_block: calls,
                    median_ratio,
                    ci_low: ratios[low],
                    ci_high: ratios[high],
                    median_ns: median(times),
                };
                println!(
                    "interleaved {case} {name}: {:.1} µs, {:.3} × {} (95 % CI {:.3} – {:.3}; \
                     {round} rounds of {calls} calls)",
                    ratio.median_ns / 1e3,
                    ratio.median_ratio,
                    implementations[0].0,
                    ratio.ci_low,
                    ratio.ci_high,
                );
                ratio
            })
            .collect()
    })
}

/// Whether to interleave: not in criterion's `--test` and `--list` modes,
/// nor when a filter limits the run to some benchmarks.
/// `QUARRY_BENCH_INTERLEAVED=0` or `=1` decides instead.
pub fn enabled() -> bool {
    match std::env::var("QUARRY_BENCH_INTERLEAVED").as_deref() {
        Ok("0") => return false,
        Ok("1") => return true,
        _ => {}
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--test" || a == "--list") {
        return false;
    }
    // A positional filter (criterion's only positional argument) limits
    // the run to some benchmarks; interleave only on full runs.
    !args.iter().any(|a| !a.starts_with('-'))
}

/// Where a bench's results go: `target/tmp/<file>`.
fn results_file(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(file)
}

/// Writes the results as JSON (a list of objects) to `target/tmp/<file>`, by
/// hand: no serde here.
pub fn write(file: &str, results: &[Ratio]) {
    let items: Vec<String> = results
        .iter()
        .map(|r| {
            format!(
                "  {{\"case\": \"{}\", \"implementation\": \"{}\", \"rounds\": {}, \
                 \"calls_per_block\": {}, \"median_ratio\": {:.5}, \"ci_low\": {:.5}, \
                 \"ci_high\": {:.5}, \"median_ns\": {:.1}}}",
                r.case,
                r.implementation,
                r.rounds,
                r.calls_per_block,
                r.median_ratio,
                r.ci_low,
                r.ci_high,
                r.median_ns
            )
        })
        .collect();
    let path = results_file(file);
    let json = format!("[\n{}\n]\n", items.join(",\n"));
    match std::fs::write(&path, json) {
        Ok(()) => println!("interleaved results: {}", path.display()),
        Err(error) => eprintln!("could not write {}: {error}", path.display()),
    }
}

#!/usr/bin/env bash
# Runs every benchmark of quarry-bench, then rewrites the generated part of
# docs/BENCHMARKS.md (tables, machine, summary) and docs/benchmarks.svg from
# criterion's estimates (bench/report.py).
#
#   bench/run.sh             everything (12–15 minutes on 2 cores)
#   bench/run.sh --report    only rewrite the doc and chart from the last results
#
# PostgreSQL: DATABASE_URL when set, else an ephemeral cluster per bench
# (the server binaries must be installed; see docs/BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--report" ]; then
    # Build first, so that compiling does not overlap any measurement.
    cargo bench -p quarry-bench --no-run
    # A higher priority (root only) makes other work on the machine disturb
    # the measurements less; the PostgreSQL the benches start inherits it.
    nice=()
    if nice -n -10 true 2>/dev/null; then
        nice=(nice -n -10)
    fi
    for bench in workload codegen prefetch; do
        "${nice[@]}" cargo bench -p quarry-bench --bench "$bench"
    done
fi
python3 bench/report.py

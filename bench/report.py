#!/usr/bin/env python3
"""Turns criterion's estimates into docs/BENCHMARKS.md's tables and
docs/benchmarks.svg (called by bench/run.sh; standard library only).

Reads target/criterion/**/new/{benchmark,estimates}.json (the target dir is
$CARGO_TARGET_DIR or ./target), and replaces everything between the
`<!-- BEGIN bench/run.sh -->` and `<!-- END bench/run.sh -->` lines of
docs/BENCHMARKS.md. Times are criterion's median estimate per call; ratios
divide by the hand-written tokio-postgres median of the same scenario and
size.
"""

import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
CRITERION = TARGET / "criterion"
INTERLEAVED = [TARGET / "tmp" / "quarry-bench-interleaved.json",
               TARGET / "tmp" / "quarry-bench-interleaved-prefetch.json"]
DOC = ROOT / "docs" / "BENCHMARKS.md"
SVG = ROOT / "docs" / "benchmarks.svg"
BEGIN = "<!-- BEGIN bench/run.sh -->"
END = "<!-- END bench/run.sh -->"

IMPLEMENTATIONS = ["tokio_postgres", "quarry", "sqlx", "diesel"]
LABELS = {
    "tokio_postgres": "tokio-postgres (hand-written)",
    "quarry": "Quarry",
    "sqlx": "sqlx 0.8",
    "diesel": "diesel 2",
    "tokio_postgres_values": "tokio-postgres, multi-row VALUES",
    "tokio_postgres_copy": "tokio-postgres, binary COPY",
}
COLORS = {
    "tokio_postgres": "#6b7280",
    "quarry": "#2563eb",
    "sqlx": "#d97706",
    "diesel": "#059669",
}
SIZED = {
    "trivial_query": ("users in the table", IMPLEMENTATIONS),
    "medium_complex_query": ("users in the table (half match)", IMPLEMENTATIONS),
    "insert": ("users per statement", IMPLEMENTATIONS + ["tokio_postgres_values", "tokio_postgres_copy"]),
}


def load():
    """{(group, function, value): estimates} for every benchmark found."""
    results = {}
    if not CRITERION.is_dir():
        sys.exit(f"no criterion results under {CRITERION}: run the benches first")
    for meta in CRITERION.glob("**/new/benchmark.json"):
        info = json.loads(meta.read_text())
        estimates = json.loads((meta.parent / "estimates.json").read_text())
        key = (info["group_id"], info["function_id"], info["value_str"])
        results[key] = {
            "median": estimates["median"]["point_estimate"],
            "low": estimates["median"]["confidence_interval"]["lower_bound"],
            "high": estimates["median"]["confidence_interval"]["upper_bound"],
            "mean": estimates["mean"]["point_estimate"],
        }
    return results


def load_interleaved():
    """{(case, implementation): ratio} from the workload and prefetch benches' interleaved runs."""
    ratios = {}
    for path in INTERLEAVED:
        try:
            items = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        ratios.update({(item["case"], item["implementation"]): item for item in items})
    return ratios


INTERLEAVED_RATIOS = {}


def ratio_to_floor(results, group, implementation, size=None):
    """The interleaved ratio when there is one, else criterion's medians'."""
    case = group if size is None else f"{group}/{size}"
    item = INTERLEAVED_RATIOS.get((case, implementation))
    if item:
        return item["median_ratio"]
    estimate = get(results, group, implementation, size)
    base = get(results, group, "tokio_postgres", size)
    if estimate and base:
        return estimate["median"] / base["median"]
    return None


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            value = ns / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{ns:.0f} ns"


def fmt_ratio(ratio):
    return f"{ratio:.2f}"


def sizes_of(results, group):
    return sorted({int(v) for (g, _, v) in results if g == group and v is not None})


def get(results, group, function, value=None):
    return results.get((group, function, None if value is None else str(value)))


def sized_table(results, group):
    heading, implementations = SIZED[group]
    implementations = [i for i in implementations if any(
        g == group and f == i for (g, f, _) in results)]
    lines = [
        f"| {heading} | " + " | ".join(LABELS[i] for i in implementations) + " |",
        "| ---: | " + " | ".join("---:" for _ in implementations) + " |",
    ]
    ratios = {}
    for size in sizes_of(results, group):
        base = get(results, group, "tokio_postgres", size)
        cells = []
        for implementation in implementations:
            estimate = get(results, group, implementation, size)
            if estimate is None:
                cells.append("—")
                continue
            cell = fmt_time(estimate["median"])
            ratio = ratio_to_floor(results, group, implementation, size)
            if ratio is not None:
                ratios[(implementation, size)] = ratio
                cell += f" ({fmt_ratio(ratio)})"
            if implementation == "quarry":
                cell = f"**{cell}**"
            cells.append(cell)
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    return lines, ratios


def flat_table(results, group, functions):
    base = get(results, group, functions[0])
    interleaved = any((group, f) in INTERLEAVED_RATIOS for f in functions)
    lines = [
        "| implementation | median | 95 % CI of median | mean | ratio of medians |"
        + (" interleaved ratio (95 % CI) |" if interleaved else ""),
        "| --- | ---: | --- | ---: | ---: |" + (" ---: |" if interleaved else ""),
    ]
    for function in functions:
        estimate = get(results, group, function)
        if estimate is None:
            continue
        ratio = estimate["median"] / base["median"] if base else float("nan")
        line = (
            f"| {LABELS.get(function, '`' + function + '`')} | {fmt_time(estimate['median'])} | "
            f"{fmt_time(estimate['low'])} – {fmt_time(estimate['high'])} | "
            f"{fmt_time(estimate['mean'])} | {fmt_ratio(ratio)} |"
        )
        if interleaved:
            item = INTERLEAVED_RATIOS.get((group, function))
            line += (f" {item['median_ratio']:.3f} ({item['ci_low']:.3f} – {item['ci_high']:.3f}) |"
                     if item else " — |")
        lines.append(line)
    return lines


def command(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    os_name = platform.system()
    try:
        release = Path("/etc/os-release").read_text()
        os_name = re.search(r'PRETTY_NAME="([^"]+)"', release).group(1)
    except (OSError, AttributeError):
        pass
    postgres = "unknown"
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), reverse=True):
        postgres = command(str(candidate), "--version")
        break
    if os.environ.get("DATABASE_URL"):
        postgres += " (DATABASE_URL's server)"
    else:
        postgres += ", ephemeral cluster on the same machine, TCP 127.0.0.1"
    load = command("cat", "/proc/loadavg").split()[:3]
    return [
        "| | |",
        "| --- | --- |",
        f"| CPUs (`nproc`) | {os.cpu_count()} |",
        f"| CPU | {cpu} |",
        f"| memory | {memory} |",
        f"| OS | {os_name}, kernel {platform.release()} |",
        f"| PostgreSQL | {postgres} |",
        f"| rustc | {command('rustc', '--version')}, `bench` profile (release) |",
        f"| load average when the report was written | {' '.join(load)} |",
    ]


def chart(results):
    """Grouped bars: every implementation's median divided by tokio-postgres's,
    one panel per scenario, one group of bars per size."""
    panels = [
        ("trivial_query", "trivial_query"),
        ("medium_complex_query", "medium_complex_query"),
        ("insert", "insert"),
        ("loading_associations", "loading_associations"),
    ]
    width, panel_h, top, left, gap = 880, 210, 70, 60, 60
    height = top + len(panels) * (panel_h + gap) + 10
    ratios = []
    data = []
    for group, title in panels:
        sizes = sizes_of(results, group) or [None]
        rows = []
        for size in sizes:
            bars = []
            for implementation in IMPLEMENTATIONS:
                ratio = ratio_to_floor(results, group, implementation, size)
                bars.append((implementation, ratio))
                if ratio:
                    ratios.append(ratio)
            rows.append((size, bars))
        data.append((title, rows))
    y_max = max(2.0, min(max(ratios, default=2.0) * 1.1, 6.0))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">'
        "diesel_bench workload: time relative to hand-written tokio-postgres "
        "(interleaved runs; lower is faster)</text>",
    ]
    x = left
    for implementation in IMPLEMENTATIONS:
        out.append(f'<rect x="{x}" y="40" width="12" height="12" fill="{COLORS[implementation]}"/>')
        out.append(f'<text x="{x + 16}" y="50">{LABELS[implementation]}</text>')
        x += 200
    for index, (title, rows) in enumerate(data):
        y0 = top + index * (panel_h + gap) + 20
        plot_w = width - left - 20

        def y_of(ratio):
            return y0 + panel_h - min(ratio, y_max) / y_max * panel_h

        out.append(f'<text x="{left}" y="{y0 - 6}" font-weight="bold">{title}</text>')
        tick = 0.0
        while tick <= y_max + 1e-9:
            y = y_of(tick)
            colour = "#111827" if abs(tick - 1.0) < 1e-9 else "#e5e7eb"
            out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                       f'stroke="{colour}"/>')
            out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:g}×</text>')
            tick += 0.5
        slot = plot_w / len(rows)
        bar_w = min(28, slot / (len(IMPLEMENTATIONS) + 1))
        for i, (size, bars) in enumerate(rows):
            cx = left + slot * i + slot / 2
            label = "100 users × 10 posts × 10 comments" if size is None else f"{size:,}"
            out.append(f'<text x="{cx:.1f}" y="{y0 + panel_h + 16}" '
                       f'text-anchor="middle">{label}</text>')
            for j, (implementation, ratio) in enumerate(bars):
                if ratio is None:
                    continue
                bx = cx + (j - len(bars) / 2) * bar_w
                by = y_of(ratio)
                out.append(
                    f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bar_w - 2:.1f}" '
                    f'height="{y0 + panel_h - by:.1f}" fill="{COLORS[implementation]}">'
                    f"<title>{LABELS[implementation]}, {label}: {ratio:.2f}×</title></rect>"
                )
                if ratio > y_max:
                    out.append(f'<text x="{bx + bar_w / 2 - 1:.1f}" y="{by - 3:.1f}" '
                               f'text-anchor="middle" font-size="10">{ratio:.1f}×</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def report(results):
    lines = []
    acceptance = []
    peers = {"sqlx": [], "diesel": []}
    for group in SIZED:
        if not any(g == group for (g, _, _) in results):
            continue
        table, ratios = sized_table(results, group)
        lines += [f"#### `{group}`", ""] + table + [""]
        for size in sizes_of(results, group):
            quarry = get(results, group, "quarry", size)
            base = get(results, group, "tokio_postgres", size)
            if group != "insert" and size >= 1_000 and quarry and base:
                acceptance.append((f"{group}/{size}", f"{group}, {size:,} users",
                                   quarry["median"] / base["median"]))
        for size in sizes_of(results, group):
            quarry = ratio_to_floor(results, group, "quarry", size)
            for peer in peers:
                other = ratio_to_floor(results, group, peer, size)
                if quarry and other:
                    peers[peer].append((f"{group}/{size:,}", other / quarry))

    functions = IMPLEMENTATIONS
    if any(g == "loading_associations" for (g, _, _) in results):
        lines += ["#### `loading_associations` (100 users × 10 posts × 10 comments)", ""]
        lines += flat_table(results, "loading_associations", functions) + [""]
        base = get(results, "loading_associations", "tokio_postgres")
        quarry = get(results, "loading_associations", "quarry")
        if base and quarry:
            acceptance.append(("loading_associations", "loading_associations",
                               quarry["median"] / base["median"]))
        quarry = ratio_to_floor(results, "loading_associations", "quarry")
        for peer in peers:
            other = ratio_to_floor(results, "loading_associations", peer)
            if quarry and other:
                peers[peer].append(("loading_associations", other / quarry))

    prefetch = get(results, "prefetch_vs_n_plus_one", "quarry_prefetch")
    naive = get(results, "prefetch_vs_n_plus_one", "quarry_naive_loop")
    if prefetch:
        lines += ["#### `prefetch_vs_n_plus_one` (the same data; 3 statements vs 1,101)", ""]
        lines += flat_table(results, "prefetch_vs_n_plus_one",
                            ["tokio_postgres_any", "quarry_prefetch", "quarry_naive_loop"])
        lines += [""]
        if naive:
            lines += [f"Naive loop / Quarry prefetch: **{naive['median'] / prefetch['median']:.1f}×** "
                      "(medians).", ""]

    codegen = [(f, v) for (g, f, v) in results if g == "codegen"]
    if codegen:
        lines += ["#### `codegen`", "",
                  "| case | queries | median | 95 % CI of median | per query |",
                  "| --- | ---: | ---: | --- | ---: |"]
        order = {"warm_cluster": 0, "warm_start": 1, "cold_start": 2}
        for function, value in sorted(codegen, key=lambda fv: (order.get(fv[0], 9), int(fv[1]))):
            estimate = get(results, "codegen", function, value)
            lines.append(
                f"| `{function}` | {int(value):,} | {fmt_time(estimate['median'])} | "
                f"{fmt_time(estimate['low'])} – {fmt_time(estimate['high'])} | "
                f"{fmt_time(estimate['median'] / int(value))} |")
        lines += [""]

    shop = [f for (g, f, _) in results if g == "list_orders_with_details"]
    if shop:
        lines += ["#### `list_orders_with_details` (`benches/prefetch.rs`, this run)", ""]
        lines += flat_table(results, "list_orders_with_details",
                            ["hand_written_any", "prefetch", "naive_loop"]) + [""]

    summary = ["### Summary", ""]
    if acceptance:
        summary += [
            "Quarry / hand-written tokio-postgres where the target is ≤ 1.05: the interleaved "
            "ratio (median of the per-round ratios, with its 95 % confidence interval), which "
            "decides; and the ratio of criterion's two medians, measured one after the other:",
            "",
            "| case | interleaved ratio | 95 % CI | rounds | criterion ratio | target |",
            "| --- | ---: | --- | ---: | ---: | --- |",
        ]
        for case, label, ratio in acceptance:
            pair = INTERLEAVED_RATIOS.get((case, "quarry"))
            if pair:
                decisive = pair["median_ratio"]
                cells = (f"**{decisive:.3f}** | {pair['ci_low']:.3f} – {pair['ci_high']:.3f} | "
                         f"{pair['rounds']}")
            else:
                decisive = ratio
                cells = "— | — | —"
            verdict = "met" if decisive <= 1.05 else "**missed**"
            summary.append(f"| {label} | {cells} | {ratio:.2f} | {verdict} |")
        summary.append("")
    for peer, values in peers.items():
        if values:
            faster = ", ".join(f"{label} {ratio:.2f}" for label, ratio in values)
            summary += [f"{LABELS[peer]} / Quarry (above 1: Quarry is faster; from the "
                        f"interleaved ratios): {faster}.", ""]
    if prefetch and naive:
        summary += [f"Naive per-row loop / Quarry prefetch: "
                    f"{naive['median'] / prefetch['median']:.1f}×.", ""]

    return (["### Machine", ""] + machine() + ["", "![chart](benchmarks.svg)", ""]
            + summary + ["### Tables", "",
                         "Median time per call (criterion's estimate) and, in parentheses, the "
                         "ratio to hand-written tokio-postgres for the same scenario and size: "
                         "the interleaved ratio (median of per-round ratios), or the ratio of "
                         "criterion's medians where no interleaved run was recorded.",
                         ""]
            + lines)


def main():
    results = load()
    INTERLEAVED_RATIOS.update(load_interleaved())
    body = report(results)
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        sys.exit(f"{DOC} has no {BEGIN} … {END} block")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + BEGIN + "\n\n" + "\n".join(body).rstrip() + "\n\n" + END + tail)
    SVG.write_text(chart(results))
    print(f"wrote {DOC.relative_to(ROOT)} and {SVG.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""What profiling a data sample costs: time and peak memory, beside DuckDB's own
SUMMARIZE on the same file in the same run. Prints numbers; not a test. Usage:

    .venv/bin/python bench/profile_sample.py [--rows 50000,200000,1000000] [--runs 3]

Each size gets a generated CRM export of 20 columns (tests/sample_files.py) written to
a temporary folder. Each measurement runs in a fresh child process of a parent that
holds no data (Linux counts the parent's memory at the fork in a child's ru_maxrss), so
that its peak resident memory is its own: `profile` is Attune's whole profile
(workshop.profiler.profile_sample: detection, three DuckDB scans, personal-data checks);
`summarize` is `SUMMARIZE SELECT * FROM read_csv(...)` (types, min/max, approximate
distinct counts, nulls, quartiles) with the same settings; `idle` is a child that only
imports DuckDB, the floor under both. Times are the median of --runs, memory the most.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def child(mode: str, path: str) -> None:
    import duckdb  # noqa: F401 - the floor includes it

    started = time.perf_counter()
    if mode == "profile":
        from workshop.profiler import profile_sample

        with open(path, "rb") as file:
            found = profile_sample(file, os.path.basename(path), seconds=600, max_rows=None)
        assert found.rows > 0
    elif mode == "summarize":
        from workshop.profiler import stats

        with stats.connection(600) as con:
            con.execute(f"SUMMARIZE SELECT * FROM read_csv({stats.literal(path)}, "
                        "header=true, sample_size=-1)").fetchall()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb}))


def measure(mode: str, path: str, runs: int) -> tuple[float, float]:
    times, peaks = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, __file__, "--child", mode, path],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "DJANGO_SETTINGS_MODULE": "workshop.settings",
                                  "SECRET_KEY": "bench-only"})
        result = json.loads(out.stdout.strip().splitlines()[-1])
        times.append(result["seconds"])
        peaks.append(result["peak_mb"])
    return statistics.median(times), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="50000,200000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"))
    parser.add_argument("--write", nargs=2, metavar=("ROWS", "PATH"))
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    if args.write:
        from sample_files import customers

        Path(args.write[1]).write_bytes(customers(int(args.write[0]))[0])
        return None

    print(f"{'rows':>9} {'MB':>6} | {'profile s':>9} {'MB peak':>8} | "
          f"{'SUMMARIZE s':>11} {'MB peak':>8} | {'ratio':>5} | {'idle MB':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for rows in (int(n) for n in args.rows.split(",")):
            path = os.path.join(folder, f"customers-{rows}.csv")
            # Written by a child: a child's peak memory counts its parent's at the fork.
            subprocess.run([sys.executable, __file__, "--write", str(rows), path], check=True)
            size = os.path.getsize(path) / 2**20
            _, idle = measure("idle", path, 1)
            profile_s, profile_mb = measure("profile", path, args.runs)
            summarize_s, summarize_mb = measure("summarize", path, args.runs)
            print(f"{rows:>9,} {size:>6.1f} | {profile_s:>9.2f} {profile_mb:>8.0f} | "
                  f"{summarize_s:>11.2f} {summarize_mb:>8.0f} | "
                  f"{profile_s / summarize_s:>5.2f} | {idle:>7.0f}", flush=True)


if __name__ == "__main__":
    main()

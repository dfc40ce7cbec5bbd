"""What one edit costs as the board grows: server time, SQL queries and bytes broadcast.

Bounded; prints numbers; not a test. Usage:

    .venv/bin/python bench/edit_cost.py [--sizes 10,200,1000] [--runs 15] [--postgres]

For each size it fills a fresh board with that many items in every list (linked as real
boards are: goals to sources, recipes to sources and goals, risks to recipes), then sends
each edit over HTTP as a page does, `--runs` times, and reports the median:
- request: the write and its answer (authorize, write, event; no fragment), with
  the broadcast kept out of it as the servers run it (on the broadcaster's thread);
- render: the broadcast's frames for both audiences (`event_frames`), timed apart;
- queries of each, and the bytes of the frames.
The baseline is the smallest board of the same run: the last column is the time of
request + render against it (target: within 1.5x from 10 to 1,000 items).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def setup(postgres: bool) -> str | None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workshop.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ["BROADCAST_THREAD"] = "0"  # no server loop here: rendered in step, timed apart
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["ALLOWED_HOSTS"] = "testserver"  # django.test.Client's host
    # One person writes every run of every edit, faster than anyone may (30 per 3 s):
    # this measures a write's cost, not its limit (tests/test_limits.py holds that).
    os.environ["LIMIT_WRITES"] = "1000000/3"
    name = None
    if postgres:
        import psycopg

        name = "attune_bench_" + uuid.uuid4().hex[:8]
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        os.environ["ATTUNE_VAR_DIR"] = f"/tmp/attune-bench-{uuid.uuid4().hex[:8]}"
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return name


def drop(name: str | None) -> None:
    if name is None:
        return
    from django.db import connections

    connections.close_all()
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres",
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def edits(board) -> dict:
    """The edits measured: name -> (url, data for run n)."""
    from samples import SAMPLES, prefixed

    ws, source, goal, recipe = board.workshop.pk, board.source, board.goal, board.recipe

    def edit(key, item, change):
        def data(n):
            version = type(item).objects.get(pk=item.pk).version
            return prefixed(SAMPLES[key] | change(n), f"{key}-{item.pk}") | {
                "version": version}
        return f"/w/{ws}/s/{key}/{item.pk}/edit/", data

    return {
        "add a decision": (f"/w/{ws}/s/decisions/add/",
                           lambda n: prefixed(SAMPLES["decisions"], "add-decisions")),
        "edit a goal": edit("goals", goal, lambda n: {"target": f"{60 + n % 30}%"}),
        "edit a data source": edit("data_sources", source,
                                   lambda n: {"owner": f"Data platform {n}"}),
        "edit a recipe": edit("recipes", recipe,
                              lambda n: {"title": f"Finish-the-series nudge {n}",
                                         "data_sources": [source.pk]}),
    }


def measure(size: int, runs: int) -> dict[str, dict[str, float]]:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from test_write_queries import make_board

    from sessions.fragments import event_frames
    from workshop.models import BoardEvent

    board, _ = make_board(size)
    found = {}
    for what, (url, data) in edits(board).items():
        times, renders, asked, rendered, sizes = [], [], [], [], []
        for n in range(runs):
            posted = data(n)
            # Inside an outer transaction the write's on-commit broadcast waits for the
            # block's end: the request is timed and counted as the servers run it, with
            # the broadcast on the broadcaster's thread.
            with transaction.atomic(), CaptureQueriesContext(connection) as request:
                began = time.perf_counter()
                response = board.fran.post(url, posted, HTTP_HX_REQUEST="true")
                took = time.perf_counter() - began
            assert response.status_code < 400, (url, response.status_code)
            event = BoardEvent.objects.filter(workshop=board.workshop).last()
            with CaptureQueriesContext(connection) as render:
                began = time.perf_counter()
                frames = event_frames(event)
                renders.append(time.perf_counter() - began)
            times.append(took)
            asked.append(sum(1 for q in request.captured_queries
                             if "SAVEPOINT" not in q["sql"]))
            rendered.append(len(render.captured_queries))
            sizes.append(sum(len(text) for texts in frames.values() for text in texts))
        found[what] = {"request ms": 1000 * statistics.median(times),
                       "render ms": 1000 * statistics.median(renders),
                       "request q": statistics.median(asked),
                       "render q": statistics.median(rendered),
                       "bytes": statistics.median(sizes)}
    return found


def measure_sizes(description: str, measure: Callable[[int, int], Any], sizes: str,
                  runs: int) -> tuple[argparse.Namespace, list[int], dict[int, Any]]:
    """Read --sizes, --runs and --postgres; measure each size on a throwaway database."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sizes", default=sizes)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")
    args = parser.parse_args()
    name = setup(args.postgres)
    try:
        chosen = [int(size) for size in args.sizes.split(",")]
        return args, chosen, {size: measure(size, args.runs) for size in chosen}
    finally:
        drop(name)


def main() -> int:
    args, sizes, results = measure_sizes(__doc__.splitlines()[0], measure, "10,200,1000", 15)
    base = results[sizes[0]]
    print(f"{'PostgreSQL' if args.postgres else 'SQLite'}; median of {args.runs} runs; "
          f"items in every list; x: request + render against {sizes[0]} items")
    print(f"{'edit':20} {'items':>6} {'request ms':>10} {'q':>3} {'render ms':>9} {'q':>3} "
          f"{'bytes':>9} {'x':>5}")
    for what in base:
        for size in sizes:
            r = results[size][what]
            ratio = ((r["request ms"] + r["render ms"])
                     / (base[what]["request ms"] + base[what]["render ms"]))
            print(f"{what:20} {size:>6} {r['request ms']:>10.1f} {r['request q']:>3.0f} "
                  f"{r['render ms']:>9.1f} {r['render q']:>3.0f} {r['bytes']:>9,.0f} "
                  f"{ratio:>5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the board page costs the server as the board grows, and what a room joining it
costs: with the cards kept per board version (templates/board/_list.html) and, in the
same run, without (the baseline: every page draws every card).

Bounded; prints numbers; not a test. Usage:

    .venv/bin/python bench/board_page.py [--sizes 10,111,200] [--runs 5] [--postgres]

For each size it fills a fresh board with that many items in every list (nine lists: 111
is a board of 1,000 cards), then times `GET /w/<id>/` in-process, median of --runs:
- drawn: every card drawn (no kept cards), as every page was before;
- first: the first person of an audience at this board version (draws and keeps them);
- next: everyone after them in the same audience (the kept cards), each after one more
  person joined, as in a room joining;
for a participant and for the facilitator, with the page's bytes and SQL queries. Then
the server time for a room of 200 people joining a board nobody edits meanwhile: one
first and 199 next, against 200 drawn.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from edit_cost import measure_sizes

ROOM = 200


def page(client, url: str) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        response = client.get(url)
        took = time.perf_counter() - began
    assert response.status_code == 200, response.status_code
    return took, len(response.content), len(queries.captured_queries)


def measure(size: int, runs: int) -> dict[str, dict[str, float]]:
    from django.core.cache import caches
    from page_model import cards_drawn_afresh
    from test_write_queries import make_board

    from sessions.services import join_session

    board, _ = make_board(size)
    url = f"/w/{board.workshop.pk}/"
    found = {}
    for who, client in (("participant", board.pat), ("facilitator", board.fran)):
        page(client, url)  # warm: templates compiled, the connection open
        drawn, first, kept = [], [], []
        with cards_drawn_afresh():
            for _ in range(runs):
                drawn.append(page(client, url))
        for run in range(runs):
            caches["board_cards"].clear()
            first.append(page(client, url))
            # As in a room joining: someone joins (the board's version moves, its
            # cards' does not) before the next page.
            join_session(board.session.join_token, f"{who} {run}", "data")
            kept.append(page(client, url))
        found[who] = {
            "drawn ms": 1000 * statistics.median(t for t, _, _ in drawn),
            "first ms": 1000 * statistics.median(t for t, _, _ in first),
            "next ms": 1000 * statistics.median(t for t, _, _ in kept),
            "KB": kept[0][1] / 1024, "drawn q": drawn[0][2], "next q": kept[0][2],
        }
    return found


def main() -> int:
    os.environ["SERVE_STATIC_FROM_SOURCE"] = "1"  # no collectstatic for a benchmark
    args, sizes, results = measure_sizes(__doc__.splitlines()[0], measure, "10,111,200", 5)
    print(f"{'PostgreSQL' if args.postgres else 'SQLite'}; board page GET in-process, "
          f"median of {args.runs}; items in every list (nine lists)")
    print(f"{'viewer':12} {'items':>6} {'KB':>7} {'drawn ms':>9} {'q':>3} {'first ms':>9} "
          f"{'next ms':>8} {'q':>3} {'x':>5}   room of {ROOM}: drawn s / kept s")
    for size in sizes:
        for who, r in results[size].items():
            room_drawn = ROOM * r["drawn ms"] / 1000
            room_kept = (r["first ms"] + (ROOM - 1) * r["next ms"]) / 1000
            print(f"{who:12} {size * 9:>6} {r['KB']:>7.0f} {r['drawn ms']:>9.1f} "
                  f"{r['drawn q']:>3} {r['first ms']:>9.1f} {r['next ms']:>8.1f} "
                  f"{r['next q']:>3} {r['drawn ms'] / r['next ms']:>5.1f}   "
                  f"{room_drawn:>6.1f} / {room_kept:.1f}")
    print("x: drawn against next (the same page, cards kept).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

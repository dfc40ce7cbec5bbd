"""The benchmark's report: the results table, its legend and the machine it ran on."""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import platform
from pathlib import Path
from typing import Any

from live_trace import ms


def pct(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 100:.0f}%"


COLUMNS = (  # title, width, cell
    ("people", 6, lambda r: r.people),
    ("edits", 5, lambda r: r.edits),
    ("p50 ms", 6, lambda r: ms(r.p50)),
    ("p99 ms", 6, lambda r: ms(r.p99)),
    ("max ms", 6, lambda r: ms(r.worst)),
    ("lost", 4, lambda r: r.lost),
    ("gaps", 4, lambda r: r.gaps),
    ("reord", 5, lambda r: r.reordered),
    ("resync", 6, lambda r: r.resyncs),
    ("err", 3, lambda r: r.errors),
    ("POST ms", 7, lambda r: ms(r.http_p50)),
    ("frame B", 7, lambda r: "-" if math.isnan(r.frame_bytes) else f"{r.frame_bytes:.0f}"),
    ("daphne", 9, lambda r: "+".join(pct(c) for c in r.server_cpu)),
    ("client", 6, lambda r: pct(r.client_cpu)),
    ("PG+Redis", 8, lambda r: pct(r.services_cpu)),
    ("machine", 7, lambda r: pct(r.machine_cpu)),
    ("other", 5, lambda r: pct(r.other_cpu)),
    ("join s", 6, lambda r: "-" if math.isnan(r.storm) else f"{max(0.0, r.storm):.1f}"),
)
HEADER = f"{'stack':<20} " + " ".join(f"{t:>{w}}" for t, w, _ in COLUMNS) + "  verdict"
LEGEND = """\
p50/p99/max: from sending the POST until the frame carrying that edit is on every socket.
lost: edits some socket never received.  gaps: (socket, version) pairs never received.
reord: frames that reached a socket after a later version.  resync: resyncs the pages
  asked for after a gap (the simulated pages do what static/js/live.js does).
err: failed edits or connects.  POST ms: p50 of the edit's HTTP round trip.
frame B: mean size of an event frame.  CPU, as a share of one core over the step:
  daphne (each worker), client (the socket process), PG+Redis (all their processes),
  machine (all cores), other (the machine less all of those: other programs).
join s: seconds from connecting the step's newcomers until the room was quiet for 1 s
  (every arrival sends the presence list to the whole room).
"""


def short(label: str) -> str:
    return label.replace("PostgreSQL + Redis", "pg+redis").replace(
        "SQLite + in-memory", "sqlite+mem").replace(",", "")


def row(r: Any) -> str:
    """One line of the table for a live_board.Result."""
    if not r.edits and r.note:
        return f"{short(r.stack):<20} {r.people:>6}  {r.note}"
    cells = " ".join(f"{cell(r)!s:>{w}}" for _, w, cell in COLUMNS)
    return f"{short(r.stack):<20} {cells}  {'ok' if r.ok else 'FAIL'} {r.note}".rstrip()


def machine_info() -> str:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version

    packages = ", ".join(f"{name} {version(name)}" for name in
                         ("django", "channels", "daphne", "channels-redis", "redis",
                          "websockets"))
    return (f"date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}\n"
            f"machine: {os.cpu_count()} cores, {model}, Python {platform.python_version()}\n"
            f"packages: {packages}")

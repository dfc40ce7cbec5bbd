"""Stage timings inside the benchmark's workers (bench/live_board.py --breakdown).

Serves the real ASGI app with monotonic stamps at each stage of an edit, so the
benchmark can say where an edit's time goes. Run by daphne as
`live_trace:timed_application` with bench/ on PYTHONPATH.
"""


from __future__ import annotations

import asyncio
import math
import os
import re
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from servers import (  # noqa: E402
    Stack,
    Worker,
    start_worker,
)

EVENT = re.compile(r'^\{"type":"event","version":(\d+)')
MARKER = re.compile(r"bm(\d+)q")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 1000:.0f}"


# --- Stage timings inside the workers (--breakdown) --------------------------------

TRACE = "ATTUNE_BENCH_TRACE"
_timed_application = None


def __getattr__(name: str):
    """`daphne live_trace:timed_application` serves the app with stage stamps."""
    global _timed_application
    if name != "timed_application":
        raise AttributeError(name)
    if _timed_application is None:
        _timed_application = build_timed_application()
    return _timed_application


def build_timed_application():
    """The real ASGI app, with monotonic time stamps written to $ATTUNE_BENCH_TRACE when
    the add view starts and ends, when publish_event starts, has rendered, has sent the
    room's frame and has handed both frames to the layer, each time a consumer has sent an
    event frame, when a resync's catch_up ends, when a garbage collection took over 5 ms
    and when the event loop stalled for over 15 ms."""
    import asyncio
    import gc
    import threading

    from workshop.asgi import application

    if "workshop.urls" in sys.modules:
        raise RuntimeError("the URLs were loaded before the views could be timed")
    from sessions import broadcast, consumers, hub
    from workshop import events as ledger
    from workshop import views

    out = open(os.environ[TRACE], "a", buffering=1 << 16)  # noqa: SIM115 - lives on
    lock = threading.Lock()

    def stamp(kind: str, key) -> None:
        line = f"{kind} {key} {time.monotonic():.6f}\n"
        with lock:
            out.write(line)

    def flush() -> None:
        while True:
            time.sleep(0.2)
            with lock:
                out.flush()

    threading.Thread(target=flush, daemon=True).start()
    item_add, publish, render = views.item_add, broadcast.publish_event, broadcast.event_deliveries
    publish_now = broadcast._publish  # on the broadcaster's thread (or the committing one)
    deliver = hub.Hub.deliver

    def timed_item_add(request, *args, **kwargs):
        found = MARKER.search(request.POST.get("add-parking_lot-question", ""))
        key = found.group(1) if found else "-"
        stamp("view_in", key)
        try:
            return item_add(request, *args, **kwargs)
        finally:
            stamp("view_out", key)

    def timed_publish(event):
        stamp("publish_in", event.version)
        return publish(event)

    def timed_publish_now(event):
        try:
            return publish_now(event)
        finally:
            stamp("publish_out", event.version)

    def timed_frames(event):
        try:
            return render(event)
        finally:
            stamp("rendered", event.version)

    async def timed_deliver(self, group, text):
        # Stamped as the hub starts writing the frame to the worker's sockets, and as
        # it has written it to every one of them.
        found = EVENT.match(text)
        if found:
            stamp("sent", found.group(1))
        await deliver(self, group, text)
        if found:
            stamp("sent", found.group(1))

    def timed_catch_up(*args, **kwargs):
        began = time.monotonic()
        try:
            return catch_up(*args, **kwargs)
        finally:
            stamp("catch_up", f"{began:.6f}")

    def timed_send(messages: list) -> None:
        try:
            return send(messages)
        finally:
            for name, message in messages:
                found = EVENT.match(message.get("text", ""))
                if found and name.endswith("-room"):
                    stamp("sent_room", found.group(1))

    gc_began: list[float] = []

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_began[:] = [time.monotonic()]
        elif gc_began:
            took = time.monotonic() - gc_began.pop()
            if took > 0.005:
                stamp(f"gc{info['generation']}", f"{took:.6f}")

    async def watch_loop() -> None:
        while True:
            began = time.monotonic()
            await asyncio.sleep(0.005)
            stall = time.monotonic() - began - 0.005
            if stall > 0.015:
                stamp("stall", f"{stall:.6f}")

    watching: list[asyncio.Task] = []

    async def timed_connect(self) -> None:
        if not watching:  # the first socket starts the loop's watchdog
            watching.append(asyncio.get_running_loop().create_task(watch_loop()))
        await connect(self)

    catch_up, send = consumers.catch_up, broadcast._send_all
    connect = consumers.BoardConsumer.connect
    consumers.catch_up, broadcast._send_all = timed_catch_up, timed_send
    views.item_add, ledger.publish_event = timed_item_add, timed_publish
    broadcast.event_deliveries, broadcast._publish = timed_frames, timed_publish_now
    hub.Hub.deliver = timed_deliver
    consumers.BoardConsumer.connect = timed_connect
    gc.callbacks.append(on_gc)
    return application


def start_timed_worker(stack: Stack, tmp_path: Path) -> Worker:
    """servers.start_worker, serving timed_application and writing a trace file."""
    trace = tmp_path / f"trace-{uuid.uuid4().hex[:8]}.txt"
    worker = start_worker(stack, tmp_path, app="live_trace:timed_application", env={
        "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), str(ROOT)]),
        TRACE: str(trace)})
    worker.trace = trace
    return worker


STAGES = (
    ("POST sent -> view starts", "sent", "view_in"),
    ("view -> commit (publish starts)", "view_in", "publish_in"),
    ("render frames", "publish_in", "rendered"),
    ("group_send to the layer", "rendered", "publish_out"),
    ("  of which: the room's frame", "rendered", "sent_room"),
    ("layer -> first socket written", "publish_out", "first_write"),
    ("first -> last socket written", "first_write", "last_write"),
    ("last written -> last screen", "last_write", "last_screen"),
    ("(view ends after publish)", "publish_out", "view_out"),
    ("(POST sent -> first screen)", "sent", "first_screen"),
)


PAUSES = ("resync catch_up (each)", "GC generation 0 (> 5 ms)", "GC generation 1 (> 5 ms)",
          "GC generation 2 (> 5 ms)", "event loop stalls (> 15 ms)")


def breakdown(servers: list[Worker], markers: list[int], sent: dict[int, float],
              report: dict, version_of: dict[int, int]) -> dict[str, str]:
    """Per stage, "p50 / p99" ms over the measured edits, from the workers' trace files;
    per kind of pause, "count, total, p50/max ms"."""
    by_marker: dict[str, dict] = {}
    by_version: dict[str, dict] = {}
    writes: dict[int, list[float]] = {}
    for worker in servers:
        for kind, key, at in trace_lines(worker):
            if kind == "sent":
                writes.setdefault(int(key), []).append(float(at))
            elif kind.startswith("view") and key != "-":
                by_marker.setdefault(kind, {})[int(key)] = float(at)
            elif kind in ("publish_in", "rendered", "sent_room", "publish_out"):
                by_version.setdefault(kind, {})[int(key)] = float(at)
    spans: dict[str, list[float]] = {name: [] for name, *_ in STAGES}
    for marker in markers:
        version = version_of.get(marker)
        if version is None or version not in writes:
            continue
        got, last_screen, first_screen = report["arrivals"][version]
        moments = {"sent": sent[marker], "first_write": min(writes[version]),
                   "last_write": max(writes[version]), "last_screen": last_screen,
                   "first_screen": first_screen}
        moments.update((kind, times.get(marker)) for kind, times in by_marker.items())
        moments.update((kind, times.get(version)) for kind, times in by_version.items())
        for name, start, end in STAGES:
            if moments.get(start) is not None and moments.get(end) is not None:
                spans[name].append(moments[end] - moments[start])
    stages = {name: f"{ms(percentile(values, 0.5))} / {ms(percentile(values, 0.99))}"
              for name, values in spans.items() if values}
    # Pauses during the measured edits: count, sum, p50 / max.
    start = min(sent.values())
    pauses: dict[str, list[float]] = {name: [] for name in PAUSES}
    for worker in servers:
        for kind, key, at in trace_lines(worker):
            if kind == "catch_up" and float(key) >= start:
                pauses["resync catch_up (each)"].append(float(at) - float(key))
            elif kind.startswith("gc") and float(at) >= start:
                pauses[f"GC generation {kind[2:]} (> 5 ms)"].append(float(key))
            elif kind == "stall" and float(at) >= start:
                pauses["event loop stalls (> 15 ms)"].append(float(key))
    for name, values in pauses.items():
        stages[name] = (f"{len(values)}x {sum(values):.2f}s "
                        f"{ms(percentile(values, 0.5))}/{ms(max(values))}" if values else "0")
    return stages


def trace_lines(worker: Worker) -> list[list[str]]:
    try:
        return [line.split() for line in worker.trace.read_text().splitlines()]
    except OSError:
        return []


# --- The parent: servers, people, edits, numbers -----------------------------------


"""The benchmark's socket process: every simulated participant's websocket, in a process
of its own so that a busy socket client does not delay the edits bench/live_board.py
measures. The pages behave as static/js/live.js: hello on connect, a heartbeat ping
every 20 s, versions applied in order, a resync when one does not come within 300 ms.
The parent drives it over a pipe (`Sockets`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
import resource
import time
from pathlib import Path

from live_trace import MARKER

FRAME = re.compile(r'^\{"type":"(event|sync)","version":(\d+)')
PING_EVERY = 20.0  # seconds, as static/js/live.js


# --- The socket process: holds every participant's websocket -----------------------

class Room:
    """All sockets of one run; records when each socket received each board version."""

    def __init__(self):
        self.sockets: list = []
        self.tasks: list[asyncio.Task] = []
        self.arrivals: list[dict[int, float]] = []
        self.highest: list[int] = []
        self.applied: list[int] = []  # the board version each page has applied
        self.pending: list[bool] = []  # whether each page waits for a sync
        self.resyncs = 0
        self.early: dict[int, set[int]] = {}
        self.waiting: dict[int, asyncio.TimerHandle] = {}
        self.closed: dict[int, str] = {}
        self.marker_of: dict[int, int] = {}
        self.recording = False
        self.last_frame = time.monotonic()
        self.frames = 0
        self.bytes = 0
        self.event_bytes = 0
        self.events = 0
        self.reordered = 0

    async def give_up(self, index: int, ws) -> None:
        """The missing version did not come: ask for a resync, as live.js does."""
        self.waiting.pop(index, None)
        if self.early.get(index) and not self.pending[index]:
            self.early[index].clear()
            self.pending[index] = True
            self.resyncs += 1
            await ws.send(json.dumps({"type": "resync", "version": self.applied[index]}))

    async def connect(self, targets: list[tuple[int, str, int]], path: str,
                      version: int) -> dict:
        from websockets.asyncio.client import connect

        failures: list[str] = []

        async def one(port: int, cookie: str) -> None:
            try:
                ws = await connect(f"ws://127.0.0.1:{port}{path}",
                                   origin=f"http://127.0.0.1:{port}",
                                   additional_headers={"Cookie": cookie},
                                   open_timeout=60, max_queue=None)
            except Exception as error:  # noqa: BLE001 - counted and reported
                failures.append(repr(error))
                return
            index = len(self.sockets)
            self.sockets.append(ws)
            self.arrivals.append({})
            self.highest.append(0)
            self.applied.append(version)
            self.pending.append(True)  # the hello asks for a sync
            self.tasks.append(asyncio.create_task(self.listen(index, ws)))
            await ws.send(json.dumps({"type": "hello", "version": version}))

        # Connect in waves, as a room fills up: not all at the same millisecond.
        for start in range(0, len(targets), 25):
            await asyncio.gather(*(one(port, cookie) for port, cookie, _ in
                                   targets[start:start + 25]))
        return {"failures": failures, "sockets": len(self.sockets)}

    async def listen(self, index: int, ws) -> None:
        from websockets.exceptions import ConnectionClosed

        ping = asyncio.create_task(self.pinger(ws))
        try:
            async for text in ws:
                now = time.monotonic()
                if '"pong"' not in text[:20]:
                    self.last_frame = now  # heartbeats do not keep the room busy
                self.frames += 1
                self.bytes += len(text)
                found = FRAME.match(text)
                if found is None:
                    continue
                kind, version = found.group(1), int(found.group(2))
                if kind == "sync":
                    self.applied[index] = max(self.applied[index], version)
                    self.pending[index] = False
                    continue
                # As static/js/live.js: apply versions in order; a frame that comes early
                # waits up to 300 ms for the missing one before the page asks for a resync.
                early = self.early.setdefault(index, set())
                if version > self.applied[index]:
                    early.add(version)
                while self.applied[index] + 1 in early:
                    early.discard(self.applied[index] + 1)
                    self.applied[index] += 1
                early -= {v for v in early if v <= self.applied[index]}
                if early and index not in self.waiting:
                    self.waiting[index] = asyncio.get_running_loop().call_later(
                        0.3, lambda i=index, w=ws: asyncio.ensure_future(self.give_up(i, w)))
                elif not early and index in self.waiting:
                    self.waiting.pop(index).cancel()
                if not self.recording:
                    continue
                if version < self.highest[index]:
                    self.reordered += 1
                self.highest[index] = max(self.highest[index], version)
                self.arrivals[index].setdefault(version, now)
                self.events += 1
                self.event_bytes += len(text)
                if version not in self.marker_of:
                    marker = MARKER.search(text)
                    if marker:
                        self.marker_of[version] = int(marker.group(1))
        except ConnectionClosed as closed:
            self.closed[index] = str(closed.rcvd)
        finally:
            ping.cancel()
        if index not in self.closed:
            self.closed[index] = str(ws.close_code)

    async def pinger(self, ws) -> None:
        """The page's heartbeat (presence), every 20 s from a random phase."""
        await asyncio.sleep(random.uniform(0, PING_EVERY))
        while True:
            await ws.send('{"type":"ping"}')
            await asyncio.sleep(PING_EVERY)

    async def settle(self, quiet: float, limit: float) -> float:
        """Wait until no frame has arrived for `quiet` seconds (the connect storm of
        presence updates is over); returns how long that took."""
        began = time.monotonic()
        while time.monotonic() - began < limit:
            if time.monotonic() - max(self.last_frame, began) >= quiet:
                break
            await asyncio.sleep(0.05)
        return time.monotonic() - began

    def record(self) -> None:
        for seen in self.arrivals:
            seen.clear()
        self.marker_of.clear()
        self.events = self.event_bytes = self.reordered = self.resyncs = 0
        self.recording = True

    async def collect(self, first: int, last: int, limit: float) -> dict:
        """Wait until every socket has every version in [first, last] (or `limit` s)."""
        wanted = set(range(first, last + 1))
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if all(wanted <= seen.keys() for i, seen in enumerate(self.arrivals)
                   if i not in self.closed):
                break
            await asyncio.sleep(0.05)
        self.recording = False
        open_ = [i for i in range(len(self.sockets)) if i not in self.closed]
        arrivals = {}
        for version in wanted:
            times = [seen[version] for seen in self.arrivals if version in seen]
            arrivals[version] = (len(times), max(times) if times else None,
                                 min(times) if times else None)
        missing = sum(len(wanted - set(self.arrivals[i])) for i in range(len(self.sockets)))
        return {"arrivals": arrivals, "marker_of": dict(self.marker_of), "missing": missing,
                "open": len(open_), "closed": dict(self.closed), "events": self.events,
                "reordered": self.reordered, "resyncs": self.resyncs,
                "event_bytes": self.event_bytes}

    async def shrink(self, size: int) -> None:
        """Close the sockets past the first `size`."""
        leaving = self.sockets[size:]
        for task in self.tasks[size:]:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in leaving), return_exceptions=True)
        for records in (self.sockets, self.tasks, self.arrivals, self.highest, self.applied,
                        self.pending):
            del records[size:]
        self.closed = {i: code for i, code in self.closed.items() if i < size}

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        self.sockets.clear()


def socket_process(conn) -> None:
    """Entry point of the socket process: obeys commands from the parent's pipe."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        room = Room()
        while True:
            command, args = await loop.run_in_executor(None, conn.recv)
            before = resource.getrusage(resource.RUSAGE_SELF)
            began = time.monotonic()
            if command == "connect":
                result = await room.connect(*args)
            elif command == "settle":
                result = await room.settle(*args)
            elif command == "record":
                room.record()
                result = None
            elif command == "collect":
                result = await room.collect(*args)
            elif command == "shrink":
                result = await room.shrink(*args)
            else:
                await room.close()
                conn.send(("ok", None, 0.0, 0.0))
                return
            after = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            conn.send(("ok", result, cpu, time.monotonic() - began))

    asyncio.run(main())


class Sockets:
    """The parent's handle on the socket process."""

    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=socket_process, args=(child,), daemon=True)
        self.process.start()
        self.cpu = 0.0  # CPU seconds the socket process used in the last call

    async def call(self, command: str, *args):
        self.conn.send((command, args))
        loop = asyncio.get_running_loop()
        status, result, cpu, _ = await loop.run_in_executor(None, self.conn.recv)
        self.cpu = cpu
        return result

    def cpu_seconds(self) -> float:
        return proc_cpu(self.process.pid)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.call("stop"), 10)
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK

"""The roadmap PDF: the print template, then WeasyPrint in a bounded child process.

The view calls `roadmap_pdf(workshop)`. Rendering never runs in the web process:
each PDF is made by a process forked from a warm fork server, with an address-space
ceiling and a CPU ceiling it sets on itself, and a wall-clock deadline after which
the parent kills it. At most a few renders run at once per web process; the rest
wait briefly, then get a "busy" answer instead of piling up.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import re
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from multiprocessing import spawn
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import caches
from django.db import close_old_connections, connections, transaction
from django.template.loader import render_to_string

from workshop.models import Workshop
from workshop.sections import LISTS

from . import worker
from .chart import matrix
from .context import Roadmap, build_roadmap

# The print template names its assets under this root; the fetcher maps each URL to
# a bundled file. `.invalid` never resolves, and the fetcher never uses the network.
ASSET_ROOT = "https://assets.attune.invalid/static/"
ASSET_DIRS = ("exports/", "fonts/")
PRINT_TEMPLATE = "exports/roadmap.html"

log = logging.getLogger(__name__)
MiB = 1024 * 1024


def _setting(name: str, default: int | float) -> int | float:
    return getattr(settings, name, default)


class RenderError(Exception):
    """The PDF could not be made; `status` and the message go to the person."""

    status = 500


class TooLarge(RenderError):
    status = 413


class TimedOut(RenderError):
    status = 503


class Busy(RenderError):
    status = 503


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    seconds: float
    cpu_seconds: float
    peak_rss_kb: int
    refused: tuple[str, ...]


@cache
def bundled_assets() -> dict[str, str]:
    """URL -> file for every file under static/exports and static/fonts."""
    assets: dict[str, str] = {}
    for finder in finders.get_finders():
        for path, storage in finder.list([]):
            path = path.replace("\\", "/")
            if path.startswith(ASSET_DIRS):
                assets.setdefault(ASSET_ROOT + path, storage.path(path))
    return assets


# Words longer than this get invisible break opportunities (zero-width spaces), so a
# pasted URL wraps inside its table cell. This is cheaper than CSS overflow-wrap,
# which WeasyPrint pays for on every line of the document.
LONG_WORD = re.compile(r"[^\s\u200b]{25,}")
CHUNK = 12


def breakable(text: str) -> str:
    def split(match: re.Match) -> str:
        word = match.group(0)
        return "\u200b".join(word[i : i + CHUNK] for i in range(0, len(word), CHUNK))

    return LONG_WORD.sub(split, text)


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return breakable(value)
    if isinstance(value, list):
        return [_printable(each) for each in value]
    if isinstance(value, tuple):
        return tuple(_printable(each) for each in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value,
            **{
                field.name: _printable(getattr(value, field.name))
                for field in dataclasses.fields(value)
                if field.init
            },
        )
    return value


def print_html(roadmap: Roadmap) -> str:
    """The print document: all user text autoescaped by the template."""
    return render_to_string(
        PRINT_TEMPLATE,
        {
            "roadmap": _printable(roadmap),
            "meta": roadmap,
            "chart": matrix(roadmap.recipes),
            "asset_root": ASSET_ROOT,
        },
    )


@cache
def _processes() -> Any:
    # A fork server forks each render from a clean, single-threaded, preloaded process:
    # fast to start, and safe to use from daphne's threads (plain fork is not).
    # The server reads these once, when it starts (see exports.pdf_preload).
    main = spawn.get_preparation_data("pdf").get("init_main_from_path")
    if main:
        os.environ["ATTUNE_PDF_PARENT_MAIN"] = main
    os.environ["ATTUNE_PDF_ASSETS"] = json.dumps(
        {
            "assets": bundled_assets(),
            "base_url": ASSET_ROOT,
            "stylesheet": ASSET_ROOT + "exports/roadmap.css",
        }
    )
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["exports.pdf_preload"])
    return context


_slots_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None


def _render_slots() -> threading.BoundedSemaphore:
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(int(_setting("EXPORTS_PDF_CONCURRENCY", 2)))
        return _slots


# The two PDFs a person may download: the accessible one (PDF/UA-1, tagged: headings,
# reading order, table headers, the chart's alternate text) and the archive copy
# (PDF/A-3b, fonts embedded and colours in sRGB, tagged too).
ACCESSIBLE, ARCHIVE = "pdf/ua-1", "pdf/a-3b"
VARIANTS = {"": ACCESSIBLE, "archive": ARCHIVE}


def render_pdf(html: str, variant: str = ACCESSIBLE) -> Rendered:
    """HTML to PDF in a child process, within the configured time and memory."""
    timeout = float(_setting("EXPORTS_PDF_TIMEOUT", 30))
    memory = int(_setting("EXPORTS_PDF_MEMORY_MB", 1024)) * MiB
    max_html = int(_setting("EXPORTS_PDF_MAX_HTML_MB", 4)) * MiB
    if len(html) > max_html:
        raise TooLarge(
            f"This workshop is too large to print as one PDF ({len(html) // MiB} MB of "
            f"text and tables; the limit is {max_html // MiB} MB)."
        )
    slots = _render_slots()
    if not slots.acquire(timeout=float(_setting("EXPORTS_PDF_QUEUE_WAIT", 10))):
        raise Busy("Several roadmaps are being printed right now. Try again in a minute.")
    try:
        return _run_child(html, timeout, memory, variant)
    finally:
        slots.release()


def _run_child(html: str, timeout: float, memory: int, variant: str) -> Rendered:
    context = _processes()
    receiver, sender = context.Pipe(duplex=False)
    job = worker.Job(html, ASSET_ROOT, bundled_assets(), memory, int(timeout) + 5, variant)
    process = context.Process(target=worker.render, args=(job, sender), daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise TimedOut(
                f"The roadmap took longer than {timeout:g} seconds to print, so it was "
                f"stopped. The workshop may be very large."
            )
        try:
            result: worker.Result = receiver.recv()
        except EOFError:
            process.join(5)
            if process.exitcode is not None and process.exitcode < 0:
                name = signal.Signals(-process.exitcode).name
                raise TooLarge(
                    f"Printing the roadmap stopped ({name}): it ran out of its "
                    "memory or time allowance. The workshop may be very large."
                ) from None
            raise RenderError(
                f"The PDF renderer stopped unexpectedly (exit code {process.exitcode})."
            ) from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5)
    if result.status == worker.OUT_OF_MEMORY:
        raise TooLarge(
            "Printing the roadmap ran out of its memory allowance. The workshop may be very large."
        )
    if result.status != worker.OK:
        # What went wrong is for the administrator's log, not the person's page.
        log.error("The PDF renderer failed: %s", result.message)
        raise RenderError("The PDF renderer failed on this workshop; the failure is logged "
                          "for the server's administrator.")
    return Rendered(
        result.pdf, result.seconds, result.cpu_seconds, result.peak_rss_kb, result.refused
    )


# Printed roadmaps, by board version (workshop/settings.py).
PDF_CACHE = "pdf"


def check_size(workshop: Workshop) -> None:
    """Refuse, before any work, a board too large to lay out within the renderer's time
    and memory (EXPORTS_PDF_MAX_ITEMS): a clear answer at once rather than a render
    killed half a minute later."""
    most = int(_setting("EXPORTS_PDF_MAX_ITEMS", 3000))
    items = sum(section.model.objects.filter(workshop_id=workshop.pk).count()
                for section in LISTS.values())
    if items > most:
        raise TooLarge(f"This workshop is too large to print as one PDF ({items:,} items; "
                       f"the limit is {most:,}).")


def _key(workshop: Workshop, board_url: str, variant: str) -> str:
    where = hashlib.sha256(board_url.encode()).hexdigest()[:16]
    return (f"roadmap-pdf:{workshop.pk}:{workshop.version}:{workshop.updated_at.timestamp()}:"
            f"{variant}:{where}")


# The prints under way in this process, by cache key: a second person asking for the
# same roadmap waits for that print instead of starting another (at the end of a
# workshop, most of the room clicks Download within seconds, and each print holds a
# render slot for seconds).
@dataclass
class _Print:
    done: threading.Event = field(default_factory=threading.Event)
    waiting: int = 0  # requests waiting for it
    failed: RenderError | None = None  # why it was not made: the waiters' answer too


_printing: dict[str, _Print] = {}
_printing_lock = threading.Lock()


def roadmap_pdf(workshop: Workshop, board_url: str = "", variant: str = ACCESSIBLE) -> bytes:
    """The roadmap of the board as `workshop` was read (its version and time). Every
    change moves the version, so a kept PDF is never older than the board it is asked
    for: it was printed from what the database held at that version or later."""
    key = _key(workshop, board_url, variant)
    cache = caches[PDF_CACHE]
    document = cache.get(key)
    if document is not None:
        return document
    with _printing_lock:
        running = _printing.get(key)
        if running is None:
            _printing[key] = mine = _Print()
        else:
            running.waiting += 1
    if running is not None:
        return _printed_by(running, key)
    try:
        document = cache.get(key)  # kept by a print that ended just now
        if document is None:
            check_size(workshop)
            document = render_pdf(print_html(build_roadmap(workshop, board_url)),
                                  variant).pdf
            cache.set(key, document)
        return document
    except RenderError as error:
        mine.failed = error
        raise
    finally:
        with _printing_lock:
            del _printing[key]
        mine.done.set()


def _printed_by(running: _Print, key: str) -> bytes:
    """Another request of this process is printing this roadmap: its PDF, or why it
    could not be made, is this request's answer too (one slow board must not be printed,
    and time out, once per person in turn)."""
    # Nothing more is read meanwhile: give the database connection back to the pool,
    # so that people waiting for a print do not hold the connections writes need.
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
    longest = (float(_setting("EXPORTS_PDF_QUEUE_WAIT", 10))
               + float(_setting("EXPORTS_PDF_TIMEOUT", 30)) + 5)
    if not running.done.wait(longest):
        raise Busy("This roadmap is still being printed. Try again in a minute.")
    if running.failed is not None:
        raise type(running.failed)(str(running.failed))
    document = caches[PDF_CACHE].get(key)
    if document is None:  # the print failed with a bug: logged where it happened
        raise RenderError("The PDF renderer failed on this workshop; the failure is logged "
                          "for the server's administrator.")
    return document


_ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="print-ahead")


def print_ahead(workshop_id: int, board_url: str) -> None:
    """Print the board's roadmap in the background once the current transaction commits
    (a session has just ended: its PDF is about to be asked for)."""
    if not settings.EXPORTS_PDF_PRINT_AHEAD:
        return

    def queue() -> None:
        try:
            _ahead.submit(_print_ahead, workshop_id, board_url)
        except RuntimeError:  # the server is shutting down: nothing to print for
            log.info("Roadmap of workshop %s not printed ahead: shutting down", workshop_id)

    transaction.on_commit(queue)


def _print_ahead(workshop_id: int, board_url: str) -> None:
    close_old_connections()
    try:
        workshop = Workshop.objects.filter(pk=workshop_id).first()
        if workshop is not None:
            roadmap_pdf(workshop, board_url)
    except RenderError as error:  # the download will say so, with the reason
        log.info("Roadmap of workshop %s not printed ahead: %s", workshop_id, error)
    except Exception:  # noqa: BLE001 - printing ahead must never take anything down
        log.exception("Printing the roadmap of workshop %s ahead failed", workshop_id)
    finally:
        connections.close_all()

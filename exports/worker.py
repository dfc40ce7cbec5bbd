"""HTML to PDF inside a child process that has a memory and CPU ceiling.

WeasyPrint is pure layout work with no timeout of its own; a very large workshop
could hold a web worker's thread and memory for minutes. So each render runs in a
fresh process forked from a warm fork server (exports.pdf_preload), which sets its
own limits first and can be killed by the parent at the deadline. No Django here.
"""

from __future__ import annotations

import gc
import os
import resource
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FONTCONFIG_FILE = Path(__file__).with_name("fontconfig") / "fonts.conf"
OK, OUT_OF_MEMORY, FAILED = "ok", "memory", "error"


@dataclass(frozen=True)
class Job:
    html: str
    base_url: str
    assets: dict[str, str]
    memory_bytes: int
    cpu_seconds: int
    # WeasyPrint's pdf_variant: "pdf/ua-1" (tagged, accessible) or "pdf/a-3b" (archive).
    variant: str = "pdf/ua-1"


@dataclass(frozen=True)
class Result:
    status: str
    pdf: bytes = b""
    refused: tuple[str, ...] = ()
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_kb: int = 0
    message: str = field(default="")


def isolate_fonts() -> None:
    """Give fontconfig an empty configuration: only the @font-face fonts exist."""
    os.environ["FONTCONFIG_FILE"] = str(FONTCONFIG_FILE)
    warnings.filterwarnings("ignore", message="No fonts configured in FontConfig")


def limit(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


# Set in the fork server by warm_up(): the bundled fonts already loaded into
# fontconfig and Pango, so that each child starts with them instead of reading
# 11 MB of fonts again. WeasyPrint skips @font-face rules a configuration has seen.
_fonts: Any = None

WARM_UP = """<link rel="stylesheet" href="{stylesheet}"><h1>Roadmap → ● ✓ ×</h1>
<p>Tomás Ærø, café. <b>Bold</b> مرحبا بالعالم <b>مرحبا</b> שלום <b>שלום</b>
路线图 <b>路线图</b> こんにちは 안녕하세요</p><table><thead><tr><th>A</th></tr></thead>
<tbody><tr><td>1</td></tr></tbody></table>"""


def warm_up(assets: dict[str, str], base_url: str, stylesheet: str) -> None:
    """Load WeasyPrint's fonts and caches once, in the process children fork from."""
    global _fonts
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    from .fetcher import StaticOnlyFetcher

    fonts = FontConfiguration()
    HTML(
        string=WARM_UP.format(stylesheet=stylesheet),
        base_url=base_url,
        url_fetcher=StaticOnlyFetcher(assets),
    ).write_pdf(font_config=fonts)
    _fonts = fonts


def write_pdf(job: Job) -> Result:
    """Render in this process; the caller decides whether this process is expendable."""
    from weasyprint import HTML

    from .fetcher import StaticOnlyFetcher

    started, cpu = time.perf_counter(), time.process_time()
    fetcher = StaticOnlyFetcher(job.assets)
    document = HTML(string=job.html, base_url=job.base_url, url_fetcher=fetcher)
    # Tagged in both variants: the archive copy stays readable by a screen reader. (An
    # empty variant, untagged, is for bench/roadmap_pdf.py's comparison only.)
    pdf = document.write_pdf(font_config=_fonts, pdf_variant=job.variant or None,
                             pdf_tags=bool(job.variant))
    return Result(
        OK,
        pdf,
        tuple(fetcher.refused),
        time.perf_counter() - started,
        time.process_time() - cpu,
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )


def render(job: Job, conn: Any) -> None:
    """The child's entry point: limits, render, send one Result back."""
    limit(job.memory_bytes, job.cpu_seconds)
    isolate_fonts()
    # WeasyPrint allocates millions of small objects; collecting every 700 of them costs
    # about an eighth of the render. This process is short-lived and its memory capped,
    # so collect rarely (peak memory stays the same, measured on the large roadmap).
    gc.set_threshold(50_000, 20, 20)
    try:
        result = write_pdf(job)
    except MemoryError:
        result = Result(OUT_OF_MEMORY, message="the render ran out of memory")
    except Exception as error:  # noqa: BLE001 - any failure is reported, none escapes
        result = Result(FAILED, message=f"{type(error).__name__}: {error}"[:500])
    try:
        conn.send(result)
    finally:
        conn.close()

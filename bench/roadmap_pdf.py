"""How long the roadmap PDF takes, and how much memory, next to headless Chromium.

    .venv/bin/python bench/roadmap_pdf.py [--runs 7]

Sets itself up: a throwaway SQLite database in a temporary ATTUNE_VAR_DIR, the demo
workshop (seed_demo) and a large one (60 recipes, 25 risks, 20 data sources, 15
stakeholders). For each it measures the way the view renders (exports.pdf: a child
forked from a warm fork server, with its limits):

- cold: the first PDF after the renderer starts (the fork server imports WeasyPrint
  and loads the fonts, then the render);
- warm: the median (and best) of --runs renders after that;
- CPU: the render's own CPU seconds, a figure the machine's other load does not
  inflate the way it inflates wall time;
- peak memory: the maximum resident set of the rendering process;
- cached: the view's path for a board unchanged since its last PDF (kept by version).

Then the same HTML printed by headless Chromium (--print-to-pdf), cold and warm,
with the peak memory of its largest process. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-pdf-header-footer",
]
# Run one command and report the peak RSS (KB) of its largest process.
MEASURE = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def setup_django(var_dir: str) -> None:
    os.environ["ATTUNE_VAR_DIR"] = var_dir
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workshop.settings")
    os.environ.pop("DATABASE_URL", None)
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_workshops():
    import io

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from exports_factories import large_workshop

    from workshop.models import Workshop

    call_command("seed_demo", stdout=io.StringIO())
    demo = Workshop.objects.get(owner__username="demo")
    user = get_user_model().objects.create_user("bench", password="bench-only")
    large = large_workshop(user, recipes=60, risks=25, sources=20, stakeholders=15)
    return {"demo": demo, "large (60/25/20/15)": large}


def stop_renderer() -> None:
    # Private, but the only way to measure a cold start twice in one process.
    from multiprocessing import forkserver

    forkserver._forkserver._stop()


def weasyprint_figures(html: str, runs: int, variant: str = "pdf/ua-1") -> dict:
    from pypdf import PdfReader

    from exports import pdf

    stop_renderer()
    started = time.perf_counter()
    first = pdf.render_pdf(html, variant)
    cold = time.perf_counter() - started
    walls, cpus, peaks = [], [], [first.peak_rss_kb]
    for _ in range(runs):
        started = time.perf_counter()
        result = pdf.render_pdf(html, variant)
        walls.append(time.perf_counter() - started)
        cpus.append(result.cpu_seconds)
        peaks.append(result.peak_rss_kb)
    import io

    pages = len(PdfReader(io.BytesIO(result.pdf)).pages)
    return {
        "cold": cold,
        "warm": statistics.median(walls),
        "best": min(walls),
        "cpu": statistics.median(cpus),
        "peak_mb": max(peaks) / 1024,
        "pages": pages,
        "bytes": len(result.pdf),
    }


def chromium_figures(html: str, runs: int, workdir: Path) -> dict | None:
    if not Path(CHROMIUM).exists():
        return None
    from exports import pdf

    # The same document; Chromium reads the bundled assets straight from static/.
    page = workdir / "roadmap.html"
    page.write_text(
        html.replace(pdf.ASSET_ROOT, (ROOT / "static").as_uri() + "/"), encoding="utf-8"
    )
    out = workdir / "chromium.pdf"
    walls, peaks = [], []
    for _ in range(runs + 1):
        out.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-c",
            MEASURE,
            CHROMIUM,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={workdir / 'profile'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        started = time.perf_counter()
        peak = subprocess.run(
            command, capture_output=True, text=True, timeout=120, check=True
        ).stdout.strip()
        walls.append(time.perf_counter() - started)
        peaks.append(int(peak or 0))
        if not out.exists():
            return None
    from pypdf import PdfReader

    return {
        "cold": walls[0],
        "warm": statistics.median(walls[1:]),
        "best": min(walls[1:]),
        "peak_mb": max(peaks) / 1024,
        "pages": len(PdfReader(str(out)).pages),
        "bytes": out.stat().st_size,
    }


def cached_ms(workshop, runs: int) -> float:
    """The view's path for a board that has not changed since its last PDF."""
    from exports.pdf import roadmap_pdf

    roadmap_pdf(workshop)  # printed once and kept under the board's version
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        roadmap_pdf(workshop)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls) * 1000


def at_once(workshop, people: int) -> tuple[float, int]:
    """`people` ask for the roadmap of a board that just changed, all at the same time:
    seconds until every one has it, and how many prints that took."""
    import threading

    from django.db import connections
    from django.db.models import F

    from exports import pdf
    from workshop.models import Workshop

    Workshop.objects.filter(pk=workshop.pk).update(version=F("version") + 1)  # a change
    made, real = [], pdf.render_pdf

    def counted(html, variant=pdf.ACCESSIBLE):
        made.append(variant)
        return real(html, variant)

    def download() -> None:
        try:
            pdf.roadmap_pdf(Workshop.objects.get(pk=workshop.pk))
        finally:
            connections.close_all()

    pdf.render_pdf = counted
    try:
        threads = [threading.Thread(target=download) for _ in range(people)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started, len(made)
    finally:
        pdf.render_pdf = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="warm runs per measurement")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="attune-bench-") as var_dir:
        setup_django(var_dir)
        from exports.context import build_roadmap
        from exports.pdf import print_html

        workshops = build_workshops()
        load = os.getloadavg()
        print(
            f"Roadmap PDF benchmark · {os.cpu_count()} CPUs · load average "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} · {args.runs} warm runs\n"
        )
        header = (
            f"{'workshop':<22}{'renderer':<12}{'pages':>6}{'KB':>7}{'cold s':>9}"
            f"{'warm s':>9}{'best s':>9}{'CPU s':>8}{'peak MB':>9}"
        )
        print(header)
        print("-" * len(header))
        for name, workshop in workshops.items():
            started = time.perf_counter()
            html = print_html(build_roadmap(workshop))
            context_html = time.perf_counter() - started
            # The tagged PDF/UA-1 a person downloads, the PDF/A-3b archive copy, and the
            # same HTML untagged: what the tag tree costs.
            for label, variant in (("WeasyPrint", "pdf/ua-1"), ("  PDF/A-3b", "pdf/a-3b"),
                                   ("  untagged", "")):
                w = weasyprint_figures(html, args.runs, variant)
                print(
                    f"{name if variant == 'pdf/ua-1' else '':<22}{label:<12}{w['pages']:>6}"
                    f"{w['bytes'] // 1024:>7}{w['cold']:>9.2f}{w['warm']:>9.2f}{w['best']:>9.2f}"
                    f"{w['cpu']:>8.2f}{w['peak_mb']:>9.0f}"
                )
            with tempfile.TemporaryDirectory(prefix="attune-chromium-") as workdir:
                c = chromium_figures(html, args.runs, Path(workdir))
            if c is None:
                print(f"{'':<22}{'Chromium':<12}  (not available)")
            else:
                print(
                    f"{'':<22}{'Chromium':<12}{c['pages']:>6}{c['bytes'] // 1024:>7}"
                    f"{c['cold']:>9.2f}{c['warm']:>9.2f}{c['best']:>9.2f}{'':>8}"
                    f"{c['peak_mb']:>9.0f}"
                )
            print(f"{'':<22}{'(context + HTML: ' + format(context_html, '.2f') + ' s)'}")
            print(f"{'':<22}(unchanged board, from the PDF cache: "
                  f"{cached_ms(workshop, args.runs):.1f} ms median)")
            seconds, prints = at_once(workshop, 5)
            print(f"{'':<22}(5 people at once after a change: all served in {seconds:.2f} s, "
                  f"{prints} {'print' if prints == 1 else 'prints'})")
        print("\nTargets: large roadmap <= 1.2 s warm and below Chromium's time, an unchanged"
              "\nboard from the cache <= 50 ms, peak memory <= 250 MB.")
        print("WeasyPrint times include forking the render process and returning the PDF;")
        print("Chromium's include starting the browser, which it does for every PDF.")


if __name__ == "__main__":
    main()

"""What grouping costs as a list grows: finding likely duplicates, and one grouping
write with the broadcast it renders. Bounded; prints numbers; not a test. Usage:

    .venv/bin/python bench/grouping.py [--sizes 10,200,1000] [--runs 5]

For each size, a fresh board's parking lot gets that many questions of 4 to 12 words
from a small vocabulary (so that many read alike, the worst case), and the median of
`--runs` is printed for:
- duplicates: `likely_duplicates` (each question against those after it, rapidfuzz);
  baseline: reading the list the same way (`Section.items` and the visibility rule),
  which the suggestion does first;
- group + render: grouping two questions (`group_items`, its write) and rendering the
  event's frames for both audiences (`event_frames`, the whole list redrawn); baseline:
  moving one question (`move_item` and its frames), which also rewrites positions.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

WORDS = ["do", "we", "personalize", "push", "email", "welcome", "onboarding", "consent",
         "records", "homepage", "series", "nudge", "reading", "history", "who", "owns",
         "churn", "trial", "offer", "discount", "loyalty", "banner"]


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workshop.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ["BROADCAST_THREAD"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["ATTUNE_VAR_DIR"] = f"/tmp/attune-bench-{uuid.uuid4().hex[:8]}"
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def board(size: int):
    from django.contrib.auth import get_user_model

    from sessions.access import Membership
    from sessions.models import Role
    from workshop import services
    from workshop.models import ParkingLotItem

    user = get_user_model().objects.create_user(f"bench{uuid.uuid4().hex[:8]}")
    host = Membership(services.create_workshop(user, "Bench"), Role.FACILITATOR, user=user)
    rng = random.Random(size)
    ParkingLotItem.objects.bulk_create(
        ParkingLotItem(workshop=host.workshop, position=i + 1,
                       question=" ".join(rng.choices(WORDS, k=rng.randint(4, 12))) + "?")
        for i in range(size))
    return host


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(size: int, runs: int) -> dict[str, tuple[float, float]]:
    from sessions.fragments import event_frames
    from workshop import grouping, services
    from workshop.models import BoardEvent, ParkingLotItem
    from workshop.sections import LISTS

    section = LISTS["parking_lot"]
    host = board(size)
    pks = list(ParkingLotItem.objects.filter(workshop=host.workshop)
               .order_by("position").values_list("pk", flat=True))

    def read() -> None:
        [item for item in section.items(host.workshop.pk) if services.sees(host, item)]

    def last_frames() -> None:
        event_frames(BoardEvent.objects.filter(workshop=host.workshop).last())

    def group(run: int) -> None:
        grouping.group_items(host, section, [pks[run], pks[-1 - run]], title=f"Group {run}")
        last_frames()

    def move(run: int) -> None:
        services.move_item(host, section, pks[run], 1)
        last_frames()

    found = {
        "duplicates": ([timed(lambda: grouping.likely_duplicates(host, section))
                        for _ in range(runs)], [timed(read) for _ in range(runs)]),
        "group + render": ([timed(lambda r=r: group(r)) for r in range(runs)],
                           [timed(lambda r=r: move(r)) for r in range(runs)]),
    }
    return {what: (statistics.median(mine), statistics.median(base))
            for what, (mine, base) in found.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,200,1000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    setup()
    print(f"{'items':>6}  {'what':<15} {'ms':>9} {'baseline ms':>12} {'x baseline':>10}")
    for size in (int(s) for s in args.sizes.split(",")):
        for what, (mine, base) in measure(size, args.runs).items():
            print(f"{size:>6}  {what:<15} {mine * 1000:>9.1f} {base * 1000:>12.1f} "
                  f"{mine / base:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

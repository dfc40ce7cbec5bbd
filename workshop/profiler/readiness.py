"""What a profile says of three readiness dimensions, each with its evidence."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from workshop.choices import Quality

if TYPE_CHECKING:
    from . import Profile

# Completeness: the share of cells filled.
COMPLETE_GOOD, COMPLETE_FAIR = 0.95, 0.80
# Timeliness: the age of the newest dated value, in days.
FRESH_GOOD, FRESH_FAIR = 31, 365
# Consistency: the share of fully duplicated rows; a text column partly numeric is mixed.
DUPLICATES_GOOD, DUPLICATES_FAIR = 0.01, 0.05


def percent(share: float) -> str:
    """0.875 -> "87.5%", 1.0 -> "100%": a share as every page and export writes it."""
    return f"{share:.1%}".replace(".0%", "%")


def completeness(profile: Profile) -> tuple[str, str]:
    share = profile.completeness
    emptiest = min(profile.columns, key=lambda column: column["completeness"])
    score = (Quality.GOOD if share >= COMPLETE_GOOD else
             Quality.FAIR if share >= COMPLETE_FAIR else Quality.POOR)
    evidence = f"{percent(share)} of cells filled"
    if emptiest["completeness"] < 1:
        evidence += (f"; emptiest column “{emptiest['name']}” "
                     f"{percent(emptiest['completeness'])}")
    return score, evidence


def timeliness(profile: Profile, today: dt.date) -> tuple[str, str]:
    dated = [column for column in profile.dated() if column["personal"] != "birth"]
    if not dated:
        return Quality.UNKNOWN, "no date or time column to tell"
    newest = max(dated, key=lambda column: column["newest"])
    try:
        day = dt.date.fromisoformat(newest["newest"][:10])
    except ValueError:  # DuckDB's dates run past year 9999, and before year 1; Python's not
        return Quality.POOR, (f"newest “{newest['name']}” is {newest['newest'][:40]}, "
                              "a date no real record has")
    age = (today - day).days
    score = (Quality.GOOD if age <= FRESH_GOOD else
             Quality.FAIR if age <= FRESH_FAIR else Quality.POOR)
    when = "in the future" if age < 0 else f"{age:,} day{'' if age == 1 else 's'} old"
    return score, f"newest “{newest['name']}” is {day.isoformat()} ({when})"


def consistency(profile: Profile) -> tuple[str, str]:
    share = profile.duplicate_share
    mixed = [column["name"] for column in profile.columns if column.get("numeric_text")]
    if share <= DUPLICATES_GOOD and not mixed:
        score = Quality.GOOD
    elif share <= DUPLICATES_FAIR and len(mixed) <= 1:
        score = Quality.FAIR
    else:
        score = Quality.POOR
    evidence = f"{percent(share)} of rows fully duplicated"
    if mixed:
        evidence += "; numbers mixed with text in " + ", ".join(f"“{m}”" for m in mixed[:3])
    return score, evidence


def score(profile: Profile, today: dt.date) -> dict[str, dict[str, str]]:
    """{dimension: {"score": ..., "evidence": ...}} for the dimensions a sample shows."""
    scored = {"completeness": completeness(profile), "timeliness": timeliness(profile, today),
              "consistency": consistency(profile)}
    return {name: {"score": str(value), "evidence": evidence}
            for name, (value, evidence) in scored.items()}

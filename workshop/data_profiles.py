"""Profiling a data source's sample in the room, and what the room does with it:
the profile pre-fills three readiness scores (a person can still change them), and
each personal-data finding proposes a risk that a person accepts or dismisses.

Reading the sample is slow (a second for 200,000 rows) and never inside the write's
transaction: permission is checked first (nothing is read for someone who may not
write), the sample is profiled with no lock held, and the write checks again.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, BinaryIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from sessions.access import EDIT, Membership
from sessions.room import Locked, check_unlocked

from . import profiler
from .choices import Quality
from .event_kinds import Kind
from .events import record_event, record_events
from .models import NAME, SHORT, DataProfile, DataSource, Recipe, Risk
from .sections import LISTS
from .services import _locked, check_may_change, insert_item

SECTION = LISTS["data_sources"]
PROFILES_AT_ONCE = 2
WAIT_FOR_SLOT = 30  # seconds
_SLOTS = threading.BoundedSemaphore(PROFILES_AT_ONCE)


def may_profile(member: Membership, source: DataSource) -> bool:
    """Whether this member's page offers to profile a sample of the source."""
    try:
        member.require(EDIT)
        check_unlocked(member, SECTION.key)
        check_may_change(member, SECTION, source.author)
    except (PermissionDenied, Locked):
        return False
    return True


def check_may_profile(member: Membership, source_id: int) -> DataSource:
    """The source, if this member may profile a sample of it: whoever may edit it,
    while its section is not locked."""
    member.require(EDIT)
    check_unlocked(member, SECTION.key)
    source = DataSource.objects.get(workshop_id=member.workshop.pk, pk=source_id)
    check_may_change(member, SECTION, source.author)
    return source


def upload_sample(member: Membership, source_id: int, stream: BinaryIO, filename: str,
                  today: dt.date | None = None) -> DataProfile:
    """Profile the sample and make it the source's current profile. A sample that
    cannot be profiled raises ValidationError with the reason, and changes nothing.
    (The sample's view runs the same three steps, each on the thread that suits it.)"""
    check_may_profile(member, source_id)
    return save_profile(member, source_id, profile(stream, filename), filename, today)


def profile(stream: BinaryIO, filename: str) -> profiler.Profile:
    """The sample's profile (no database: it may run on any thread). At most
    PROFILES_AT_ONCE run in one process (each may hold DuckDB's memory limit)."""
    if not _SLOTS.acquire(timeout=WAIT_FOR_SLOT):
        raise ValidationError(f"{PROFILES_AT_ONCE} samples are being profiled on this server "
                              "right now. Try again in a minute.")
    try:
        return profiler.profile_sample(stream, filename)
    except profiler.SampleRefused as refusal:
        raise ValidationError(str(refusal)) from None
    finally:
        _SLOTS.release()


def save_profile(member: Membership, source_id: int, profile: profiler.Profile,
                 filename: str, today: dt.date | None = None) -> DataProfile:
    scores = profiler.score(profile, today or timezone.localdate())
    return _save(member, source_id, profile, scores, filename)


@transaction.atomic
def _save(member: Membership, source_id: int, profile: profiler.Profile,
          scores: dict[str, dict[str, str]], filename: str) -> DataProfile:
    member.require(EDIT)
    check_unlocked(member, SECTION.key)
    source = _locked(DataSource, member, source_id)
    check_may_change(member, SECTION, source.author)
    # The previous profile stays as history: its date, size and scores, no columns.
    DataProfile.objects.filter(data_source=source, current=True).update(
        current=False, columns=[], findings=[], notes=[])
    saved = DataProfile.objects.create(
        workshop_id=member.workshop.pk, data_source=source, by=member.name[:NAME],
        filename=filename[:SHORT], file_format=profile.file_format,
        encoding=profile.encoding, rows=profile.rows, column_count=len(profile.columns),
        duplicate_rows=profile.duplicate_rows, completeness=profile.completeness,
        newest=max((column["newest"] for column in profile.dated()), default="")[:40],
        scores=scores, columns=profile.columns, notes=profile.notes,
        findings=[{"column": finding.column, "kind": finding.kind, "label": finding.label,
                   "evidence": finding.evidence, "special": finding.special,
                   "status": DataProfile.PROPOSED, "risk": None}
                  for finding in profile.findings])
    for dimension, scored in scores.items():
        if scored["score"] != Quality.UNKNOWN:
            setattr(source, dimension, scored["score"])
    source.version += 1
    source.save()
    record_event(member.workshop.pk, Kind.DATA_PROFILED, SECTION.key, source.pk, member.name)
    return saved


def _current(member: Membership, source_id: int, profile_id: int) -> DataProfile:
    """The profile, with its source, both rows locked for this write (one query)."""
    profile = (DataProfile.objects.select_for_update().select_related("data_source")
               .get(workshop_id=member.workshop.pk, data_source_id=source_id, pk=profile_id,
                    data_source__workshop_id=member.workshop.pk))
    if not profile.current:
        raise ValidationError("A newer sample has replaced this profile: its findings are "
                              "on the source's card now.")
    return profile


def _finding(profile: DataProfile, index: int) -> dict[str, Any]:
    if not 0 <= index < len(profile.findings):
        raise ValidationError("This profile has no such finding. Reload the page.")
    finding = profile.findings[index]
    if finding["status"] != DataProfile.PROPOSED:
        raise ValidationError(f"This finding was {finding['status']} already.")
    return finding


def _link_to_recipes_of(risk: Risk, source_id: int) -> None:
    """Link the risk to the recipes everyone sees that use the source: one INSERT that
    reads the recipes' links itself."""
    risk_links = Risk.recipes.through._meta
    source_links = Recipe.data_sources.through._meta
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{risk_links.db_table}" ("risk_id", "recipe_id") '  # noqa: S608 - names are the models'
            f'SELECT %s, l."recipe_id" FROM "{source_links.db_table}" l '
            f'JOIN "{Recipe._meta.db_table}" r ON r."id" = l."recipe_id" '
            'WHERE l."datasource_id" = %s AND NOT r."private"', [risk.pk, source_id])


@transaction.atomic
def accept_finding(member: Membership, source_id: int, profile_id: int,
                   index: int) -> Risk:
    """Add the risk a finding proposes to the ethics register (as its accepter's),
    linked to the recipes that use the source; two events, one write."""
    check_unlocked(member, SECTION.key)
    profile = _current(member, source_id, profile_id)
    finding = _finding(profile, index)
    proposed = profiler.personal.Finding(finding["column"], finding["kind"], finding["evidence"])
    risks = LISTS["risks"]
    risk = insert_item(member, risks, profiler.personal.proposed_risk(
        proposed, profile.data_source.name))
    assert isinstance(risk, Risk)  # the risks list adds risks
    _link_to_recipes_of(risk, source_id)
    finding.update(status=DataProfile.ACCEPTED, risk=risk.pk)
    profile.save(update_fields=["findings"])
    record_events(member.workshop.pk, [
        {"kind": Kind.ITEM_ADDED, "section": risks.key, "item_id": risk.pk,
         "actor": member.name},
        {"kind": Kind.DATA_FINDING, "section": SECTION.key, "item_id": source_id,
         "actor": member.name}])
    return risk


@transaction.atomic
def dismiss_finding(member: Membership, source_id: int, profile_id: int, index: int) -> None:
    """Set a finding aside: whoever may edit the source may (the profile is its)."""
    member.require(EDIT)
    check_unlocked(member, SECTION.key)
    profile = _current(member, source_id, profile_id)
    check_may_change(member, SECTION, profile.data_source.author)
    _finding(profile, index).update(status=DataProfile.DISMISSED)
    profile.save(update_fields=["findings"])
    record_event(member.workshop.pk, Kind.DATA_FINDING, SECTION.key, source_id, member.name)

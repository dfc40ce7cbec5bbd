"""What changed since the previous round, for the roadmap of round N + 1: recipes added
and dropped, moved between now / next / later, data sources whose readiness improved or
worsened, risks closed, actions done. Items are matched by BoardItem.carried_from (set
when the round started, exports.rounds), so a renamed recipe is the same recipe."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import timezone

from workshop.choices import Readiness, RiskStatus, RoadmapPhase
from workshop.models import ActionItem, DataSource, Recipe, Risk, Workshop

READINESS_ORDER = [Readiness.RED, Readiness.AMBER, Readiness.GREEN]
CLOSED = {RiskStatus.MITIGATED, RiskStatus.ACCEPTED}


@dataclass(frozen=True)
class Move:
    title: str
    before: str
    after: str
    better: bool = False  # for readiness: it improved


@dataclass(frozen=True)
class Changes:
    previous_round: int
    previous_date: date
    added: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    moved: list[Move] = field(default_factory=list)
    readiness: list[Move] = field(default_factory=list)
    risks_closed: list[Move] = field(default_factory=list)
    actions_done: list[str] = field(default_factory=list)

    @property
    def nothing(self) -> bool:
        return not (self.added or self.dropped or self.moved or self.readiness
                    or self.risks_closed or self.actions_done)


def _pairs(model: Any, before: Workshop, after: Workshop, *fields: str) -> tuple[dict, list]:
    """The previous round's revealed items by id, and this round's with their origin."""
    old = {row["pk"]: row for row in
           model.objects.filter(workshop=before, private=False).values("pk", *fields)}
    new = list(model.objects.filter(workshop=after, private=False)
               .order_by("position", "pk").values("carried_from", *fields))
    return old, new


def _phase(value: str) -> str:
    return RoadmapPhase(value).label.partition(":")[0] if value else "Not placed"


def changes_since(workshop: Workshop) -> Changes | None:
    """What changed since the round `workshop` follows, or None for a first round (or
    when that round was deleted)."""
    before = workshop.previous_round
    if before is None:
        return None
    last = before.sessions.order_by("-started_at").first()
    when = timezone.localtime(last.started_at if last else before.created_at).date()
    changes = Changes(before.round, when)

    old, new = _pairs(Recipe, before, workshop, "title", "phase")
    carried = {row["carried_from"] for row in new if row["carried_from"] in old}
    changes.added.extend(row["title"] for row in new if row["carried_from"] not in old)
    changes.dropped.extend(row["title"] for pk, row in old.items() if pk not in carried)
    changes.moved.extend(
        Move(row["title"], _phase(old[row["carried_from"]]["phase"]), _phase(row["phase"]))
        for row in new
        if row["carried_from"] in old and old[row["carried_from"]]["phase"] != row["phase"])

    # Readiness follows from the assessment (DataSource.readiness), not a column.
    was = {source.pk: source for source in
           DataSource.objects.filter(workshop=before, private=False)}
    for source in DataSource.objects.filter(workshop=workshop, private=False).order_by(
            "position", "pk"):
        earlier = was.get(source.carried_from)  # type: ignore[arg-type]
        if earlier and earlier.readiness != source.readiness:
            better = (READINESS_ORDER.index(Readiness(source.readiness))
                      > READINESS_ORDER.index(Readiness(earlier.readiness)))
            changes.readiness.append(Move(source.name, earlier.get_readiness_display(),
                                          source.get_readiness_display(), better))

    old, new = _pairs(Risk, before, workshop, "risk", "status")
    changes.risks_closed.extend(
        Move(row["risk"], RiskStatus(old[row["carried_from"]]["status"]).label,
             RiskStatus(row["status"]).label)
        for row in new if row["status"] in CLOSED and row["carried_from"] in old
        and old[row["carried_from"]]["status"] not in CLOSED)

    old, new = _pairs(ActionItem, before, workshop, "action", "done")
    changes.actions_done.extend(
        row["action"] for row in new
        if row["done"] and not (row["carried_from"] in old and old[row["carried_from"]]["done"]))
    return changes

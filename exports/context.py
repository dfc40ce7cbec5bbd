"""The roadmap as plain data: one context, read once, shared by the PDF and Markdown.

Everything here is already decided (labels, order, derived status), so the templates
and the Markdown writer only lay it out. Reading is a fixed number of queries,
however big the workshop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from django.db.models import Prefetch
from django.utils import timezone

from sessions.models import Role, Room
from workshop import words
from workshop.choices import Function, Quadrant, Readiness, RoadmapPhase
from workshop.methods import all_methods
from workshop.models import (
    NO_DATA_SOURCE,
    BoardItem,
    DataProfile,
    DataSource,
    Recipe,
    Risk,
    Workshop,
    facilitator_name,
)
from workshop.sections import LISTS

from .changes import Changes, changes_since
from .votes import VoteRow, dots_by_recipe, latest_closed, vote_row

# Priority: votes first (when the room voted), then the matrix: quick wins before big
# bets before fill-ins before money pits, higher impact first, lower effort first.
QUADRANT_ORDER = [Quadrant.QUICK_WIN, Quadrant.BIG_BET, Quadrant.FILL_IN, Quadrant.MONEY_PIT]
LANES = [RoadmapPhase.NOW, RoadmapPhase.NEXT, RoadmapPhase.LATER]
SHORT_LANE = {
    RoadmapPhase.NOW: "Now",
    RoadmapPhase.NEXT: "Next",
    RoadmapPhase.LATER: "Later",
    RoadmapPhase.UNPLANNED: "Not placed",
}
TOP_RECIPES = 3
DIMENSIONS = {
    "accessibility": "Accessible",
    "completeness": "Complete",
    "accuracy": "Accurate",
    "timeliness": "Timely",
    "consistency": "Consistent",
}

GATE_READY, GATE_BLOCKED, GATE_OVERRIDDEN = "ready", "blocked", "overridden"
GATE_LABELS = {
    GATE_READY: "Ready",
    GATE_BLOCKED: "Gate not met",
    GATE_OVERRIDDEN: "Gate overridden",
}


@dataclass(frozen=True, order=True)
class RecipeRef:
    """A recipe named elsewhere in the document: its priority rank is its key."""

    rank: int
    title: str


@dataclass(frozen=True)
class SourceRef:
    name: str
    readiness: str


@dataclass(frozen=True)
class RecipeRow:
    rank: int
    title: str
    group: str  # the name of its group of similar recipes, if it is in one
    segment: str
    context: str
    action: str
    touchpoint: str
    content_model: str
    kind: str
    impact: int
    effort: int
    quadrant: str
    quadrant_label: str
    phase: str
    phase_label: str
    phase_short: str
    owner: str
    exit_metric: str
    dependencies: list[str]
    data_sources: list[SourceRef]
    success_metric: str
    gate: str
    gate_label: str
    gate_problems: list[str]
    gate_summary: str
    override_reason: str
    override_by: str
    override_at: datetime | None
    risks: list[str]
    risk_label: str
    unmitigated_risks: int
    votes: int | None

    @property
    def data_source_names(self) -> list[str]:
        return [source.name for source in self.data_sources]


@dataclass(frozen=True)
class Lane:
    key: str
    label: str
    short: str
    description: str
    recipes: list[RecipeRow]


@dataclass(frozen=True)
class GoalRow:
    metric: str
    baseline: str
    target: str
    timeframe: str
    data_source: str
    recipes: list[RecipeRef]


@dataclass(frozen=True)
class SampleRow:
    """What the current sample of a source showed (workshop.models.DataProfile)."""

    profiled: datetime
    by: str
    filename: str
    rows: int
    columns: int
    completeness: float
    duplicate_share: float
    newest: str
    personal: list[str]  # "e-mail addresses in “email”", ...
    evidence: list[tuple[str, str, str]]  # (dimension label, score, evidence)
    earlier: list[tuple[datetime, int]]  # older samples: when, how many rows


@dataclass(frozen=True)
class SourceRow:
    name: str
    system_of_record: str
    party: str
    consent_basis: str
    owner: str
    assessment: list[tuple[str, str, str]]  # (dimension label, value, value label)
    readiness: str
    readiness_label: str
    notes: str
    evidence: str
    recipes: list[RecipeRef]
    sample: SampleRow | None = None


@dataclass(frozen=True)
class RiskRow:
    risk: str
    category: str
    affected: str
    intent: str
    likelihood: int
    severity: int
    score: int
    is_high: bool
    unmitigated_high: bool
    action: str
    mitigation: str
    user_control: str
    owner: str
    status: str
    recipes: list[RecipeRef]


@dataclass(frozen=True)
class StakeholderRow:
    name: str
    function: str
    internal_customer: bool
    influence: str
    desired_outcome: str
    concerns: str


@dataclass(frozen=True)
class DecisionRow:
    decision: str
    rationale: str


@dataclass(frozen=True)
class ActionRow:
    action: str
    owner: str
    due_date: date | None
    done: bool


@dataclass(frozen=True)
class ParkingRow:
    question: str
    notes: str


@dataclass(frozen=True)
class InteractionRow:
    """An example interaction from the landscape of connected experience."""

    what: str
    where_seen: str
    sentiment: str
    sentiment_label: str
    pattern: str
    group: str


@dataclass(frozen=True)
class Part:
    """A part of the document: its anchor, title and what it holds ("2 recipes");
    `count` 0 means the workshop did not cover it."""

    anchor: str
    title: str
    count: int
    noun: str
    # Whether the document has the part, when not "it holds something" (the roadmap is
    # there as soon as there are recipes, placed or not).
    shown: bool | None = None

    @property
    def present(self) -> bool:
        return self.count > 0 if self.shown is None else self.shown

    @property
    def summary(self) -> str:
        return words.counted(self.count, self.noun)


@dataclass(frozen=True)
class SessionRow:
    number: int
    title: str
    started: date
    ended: date | None


@dataclass(frozen=True)
class Attendance:
    function: str
    names: list[str]


@dataclass(frozen=True)
class GroupRow:
    """A group of similar recipes: its name, its recipes' priority ranks, their dots."""

    title: str
    ranks: list[int]
    votes: int | None


def _group_rows(rows: list[RecipeRow]) -> list[GroupRow]:
    ranks: dict[str, list[RecipeRow]] = {}
    for row in rows:
        if row.group:
            ranks.setdefault(row.group, []).append(row)
    return [GroupRow(title, [r.rank for r in members],
                     None if members[0].votes is None else sum(r.votes or 0 for r in members))
            for title, members in ranks.items()]


@dataclass(frozen=True)
class Roadmap:
    title: str
    organisation: str
    method_title: str
    method_source: str
    facilitator: str
    cofacilitators: list[str]
    generated_at: datetime
    sessions: list[SessionRow]
    attendees: list[Attendance]
    objective: str
    scope_level: str
    why_now: str
    start_area: str
    goals: list[GoalRow]
    recipes: list[RecipeRow]
    lanes: list[Lane]
    unplanned: list[RecipeRow]
    recipe_groups: list[GroupRow]
    voting: bool
    data_sources: list[SourceRow]
    risks: list[RiskRow]
    stakeholders: list[StakeholderRow]
    decisions: list[DecisionRow]
    action_items: list[ActionRow]
    parking_lot: list[ParkingRow]
    interactions: list[InteractionRow] = field(default_factory=list)
    vote: VoteRow | None = None
    # Where the board lives, for a reader who wants the live version ("" when unknown).
    board_url: str = ""
    # Round 2 and later: what changed since the round before (None for a first round).
    round: int = 1
    changes: Changes | None = None
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def parts(self) -> list[Part]:
        """Every part after the summary, in the document's order, with its count."""
        return [
            Part("goals", "Goals and success metrics", len(self.goals), "goal"),
            Part("interactions", "Example interactions", len(self.interactions),
                 "interaction"),
            Part("matrix", "Prioritization matrix", len(self.recipes), "recipe"),
            Part("roadmap", "Phased roadmap", len(self.recipes) - len(self.unplanned),
                 "recipe placed|recipes placed", bool(self.recipes)),
            Part("data", "Data readiness", len(self.data_sources), "data source"),
            Part("ethics", "Ethics and bias register", len(self.risks), "risk"),
            Part("stakeholders", "Stakeholders", len(self.stakeholders), "stakeholder"),
            Part("decisions", "Decisions", len(self.decisions), "decision"),
            Part("actions", "Action items", len(self.action_items), "action item"),
            Part("parking", "Parking lot", len(self.parking_lot), "question"),
        ]

    @property
    def contents(self) -> list[tuple[str, str, str]]:
        """The cover's table of contents: (anchor, title, what it holds)."""
        head = [("summary", "Executive summary", "")]
        if self.changes:
            head.insert(0, ("changes", f"What changed since round {self.changes.previous_round}",
                            ""))
        return head + [(p.anchor, p.title, p.summary) for p in self.covered.values()]

    @property
    def covered(self) -> dict[str, Part]:
        return {part.anchor: part for part in self.parts if part.present}

    @property
    def not_covered(self) -> list[str]:
        """The parts the workshop left empty, by name ("goals and success metrics")."""
        return [part.title.lower() for part in self.parts if not part.present]

    @property
    def empty_lanes(self) -> list[str]:
        """The lanes nothing was placed in, as the text names them: “next”."""
        return [f"“{lane.short.lower()}”" for lane in self.lanes if not lane.recipes]

    @property
    def people(self) -> int:
        return sum(len(group.names) for group in self.attendees)

    @property
    def sampled_sources(self) -> list[SourceRow]:
        """The sources a sample was profiled for, in the register's order."""
        return [source for source in self.data_sources if source.sample]

    @property
    def priority_rule(self) -> str:
        votes = "votes first, then " if self.voting else ""
        return (
            f"Priority: {votes}quick wins, big bets, fill-ins, money pits; within a "
            f"quadrant, higher impact and then lower effort first."
        )

    @property
    def top_recipes(self) -> list[RecipeRow]:
        return self.recipes[:TOP_RECIPES]

    @property
    def quadrant_counts(self) -> list[tuple[str, str, int]]:
        counts = Counter(recipe.quadrant for recipe in self.recipes)
        return [(q.value, q.label, counts[q.value]) for q in QUADRANT_ORDER]

    @property
    def max_votes(self) -> int:
        return max((recipe.votes or 0 for recipe in self.recipes), default=0) or 1

    @property
    def voted_recipes(self) -> list[RecipeRow]:
        ranked = [recipe for recipe in self.recipes if recipe.votes]
        return sorted(ranked, key=lambda recipe: (-(recipe.votes or 0), recipe.rank))


# What the document shows is what the room has seen: nothing written privately and not
# yet revealed (workshop.models.BoardItem.private), not even as a name in a list.
Item = TypeVar("Item", bound=BoardItem)
REVEALED_RECIPES = Prefetch("recipes", queryset=Recipe.objects.filter(private=False))


def _revealed(items: Iterable[Item]) -> list[Item]:
    return [item for item in items if not item.private]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _gate(recipe: Recipe) -> tuple[str, list[str]]:
    problems = recipe.gate_problems()
    if not problems:
        return GATE_READY, problems
    return (GATE_OVERRIDDEN if recipe.has_override else GATE_BLOCKED), problems


def _gate_summary(recipe: Recipe, problems: list[str]) -> str:
    """Why the gate is not met, in a few words (the full sentences are `problems`, from
    Recipe.gate_problems, which holds the rule)."""
    sources = sum(source.readiness != Readiness.GREEN for source in recipe.data_sources.all())
    risks = sum(risk.blocks_roadmap for risk in _revealed(recipe.risks.all()))
    reasons = ["no data source linked"] if NO_DATA_SOURCE in problems else []
    if sources:
        reasons.append(f"{words.counted(sources, 'data source')} not green")
    if risks:
        reasons.append(words.counted(risks, "unmitigated high risk"))
    return "; ".join(reasons)


def _risk_label(risks: list[Risk]) -> str:
    if not risks:
        return "No risks logged"
    blocking = sum(risk.blocks_roadmap for risk in risks)
    if blocking:
        return words.counted(blocking, "unmitigated high risk")
    high = sum(risk.is_high for risk in risks)
    count = words.counted(len(risks), "risk")
    return f"{count}, high ones with a mitigation" if high else f"{count}, none high"


def _priority(recipe: Recipe, votes: dict[int, int]) -> tuple:
    return (
        -votes.get(recipe.pk, 0),
        QUADRANT_ORDER.index(Quadrant(recipe.quadrant)),
        -recipe.impact,
        recipe.effort,
        recipe.position,
        recipe.pk,
    )


def _by_priority(recipes: list[Recipe], votes: dict[int, int] | None) -> list[Recipe]:
    return sorted(recipes, key=lambda recipe: _priority(recipe, votes or {}))


def _recipe_rows(recipes: list[Recipe], votes: dict[int, int] | None) -> list[RecipeRow]:
    rows = []
    for rank, recipe in enumerate(_by_priority(recipes, votes), start=1):
        gate, problems = _gate(recipe)
        risks = _revealed(recipe.risks.all())
        rows.append(
            RecipeRow(
                rank=rank,
                title=recipe.title,
                group=recipe.group_title,
                segment=recipe.segment,
                context=recipe.context,
                action=recipe.action,
                touchpoint=recipe.touchpoint,
                content_model=recipe.get_content_model_display(),
                kind=recipe.get_kind_display(),
                impact=recipe.impact,
                effort=recipe.effort,
                quadrant=recipe.quadrant,
                quadrant_label=recipe.get_quadrant_display(),
                phase=recipe.phase,
                phase_label=recipe.get_phase_display(),
                phase_short=SHORT_LANE[RoadmapPhase(recipe.phase)],
                owner=recipe.owner,
                exit_metric=recipe.exit_metric,
                dependencies=_lines(recipe.dependencies),
                data_sources=[
                    SourceRef(source.name, source.readiness) for source in recipe.data_sources.all()
                ],
                success_metric=recipe.success_metric.metric if recipe.success_metric else "",
                gate=gate,
                gate_label=GATE_LABELS[gate],
                gate_problems=problems,
                gate_summary=_gate_summary(recipe, problems),
                override_reason=recipe.gate_override_reason,
                override_by=recipe.gate_override_by,
                override_at=recipe.gate_override_at,
                risks=[risk.risk for risk in risks],
                risk_label=_risk_label(risks),
                unmitigated_risks=sum(risk.blocks_roadmap for risk in risks),
                votes=None if votes is None else votes.get(recipe.pk, 0),
            )
        )
    return rows


def _refs(recipes, ranks: dict[int, int]) -> list[RecipeRef]:
    return sorted(RecipeRef(ranks[recipe.pk], recipe.title) for recipe in recipes)


def _sample_row(source: DataSource, earlier: list[DataProfile],
                hide_by: bool = False) -> SampleRow | None:
    profile = source.profile
    if profile is None:
        return None
    return SampleRow(
        profiled=timezone.localtime(profile.created_at), by="" if hide_by else profile.by,
        filename=profile.filename, rows=profile.rows, columns=profile.column_count,
        completeness=profile.completeness, duplicate_share=profile.duplicate_share,
        newest=profile.newest,
        personal=[f"{finding['label']} in “{finding['column']}”"
                  for finding in profile.findings],
        evidence=[(DIMENSIONS[name], scored["score"], scored["evidence"])
                  for name, scored in profile.scores.items() if name in DIMENSIONS],
        earlier=[(timezone.localtime(old.created_at), old.rows) for old in earlier])


def _source_row(source: DataSource, ranks: dict[int, int],
                earlier: list[DataProfile] | None = None, hide_by: bool = False) -> SourceRow:
    return SourceRow(
        name=source.name,
        system_of_record=source.system_of_record,
        party=source.get_party_display(),
        consent_basis=source.consent_basis,
        owner=source.owner,
        assessment=[
            (DIMENSIONS[name], value, getattr(source, f"get_{name}_display")())
            for name, value in source.assessment
        ],
        readiness=source.readiness,
        readiness_label=source.get_readiness_display(),
        notes=source.notes,
        evidence=source.evidence,
        recipes=_refs(source.recipes.all(), ranks),
        sample=_sample_row(source, earlier or [], hide_by),
    )


def _earlier_samples(workshop: Workshop) -> dict[int, list[DataProfile]]:
    """Each source's replaced samples, newest first (their date and size)."""
    found: dict[int, list[DataProfile]] = {}
    for old in DataProfile.objects.filter(workshop=workshop, current=False).only(
            "data_source_id", "created_at", "rows"):
        found.setdefault(old.data_source_id, []).append(old)
    return found


def _risk_row(risk: Risk, ranks: dict[int, int]) -> RiskRow:
    return RiskRow(
        risk=risk.risk,
        category=risk.get_category_display(),
        affected=risk.affected,
        intent=risk.get_intent_display(),
        likelihood=risk.likelihood,
        severity=risk.severity,
        score=risk.score,
        is_high=risk.is_high,
        unmitigated_high=risk.blocks_roadmap,
        action=risk.get_action_display(),
        mitigation=risk.mitigation,
        user_control=risk.user_control,
        owner=risk.owner,
        status=risk.get_status_display(),
        recipes=_refs(risk.recipes.all(), ranks),
    )


def _attendance(workshop: Workshop) -> tuple[list[SessionRow], list[Attendance], list[str]]:
    """The sessions, who attended them by function, and who co-facilitated."""
    sessions = list(workshop.sessions.order_by("number").prefetch_related("participants"))
    rows = [
        SessionRow(
            number=session.number,
            title=session.title,
            started=timezone.localtime(session.started_at).date(),
            ended=timezone.localtime(session.ended_at).date() if session.ended_at else None,
        )
        for session in sessions
    ]
    by_function: dict[str, list[str]] = {}
    seen = set()
    cofacilitators: list[str] = []
    for session in sessions:
        for person in session.participants.all():
            # The same person often joins every sitting: count them once.
            if (person.display_name, person.function) in seen:
                continue
            seen.add((person.display_name, person.function))
            name = person.display_name
            if person.role == Role.OBSERVER:
                name += " (observer)"
            if person.is_cofacilitator:
                cofacilitators.append(person.display_name)
            by_function.setdefault(person.function, []).append(name)
    order = [choice.value for choice in Function]
    attendees = [
        Attendance(Function(key).label if key in order else key, names)
        for key, names in sorted(
            by_function.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99
        )
    ]
    return rows, attendees, cofacilitators


def build_roadmap(workshop: Workshop, board_url: str = "") -> Roadmap:
    """Read the whole workshop once and decide everything the documents show."""
    workshop = Workshop.objects.select_related("owner", "north_star", "previous_round").get(
        pk=workshop.pk)
    recipes = list(LISTS["recipes"].revealed(workshop.pk))
    vote = latest_closed(workshop)
    votes = dots_by_recipe(vote)
    rows = _recipe_rows(recipes, votes)
    lanes = [
        Lane(
            phase.value,
            phase.label,
            SHORT_LANE[phase],
            phase.label.partition(": ")[2],
            [row for row in rows if row.phase == phase.value],
        )
        for phase in LANES
    ]
    goals = list(LISTS["goals"].revealed(workshop.pk).prefetch_related(REVEALED_RECIPES))
    sources = list(LISTS["data_sources"].revealed(workshop.pk)
                   .prefetch_related(REVEALED_RECIPES))
    risks = list(LISTS["risks"].revealed(workshop.pk))
    # The register leads with what blocks the roadmap, then by likelihood x severity.
    risks.sort(key=lambda risk: (not risk.blocks_roadmap, -risk.score, risk.position, risk.pk))
    sessions, attendees, cofacilitators = _attendance(workshop)
    north_star = workshop.north_star
    method = all_methods().get(workshop.method)
    owner = workshop.owner
    action_items = list(LISTS["action_items"].revealed(workshop.pk))
    ranks = {recipe.pk: rank for rank, recipe in enumerate(_by_priority(recipes, votes), 1)}
    earlier = _earlier_samples(workshop)
    # Who profiled a sample is, in practice, who wrote its source: unnamed while the
    # sources' authors are (the one document is for everyone).
    room = Room.objects.filter(workshop=workshop).only("anonymous_sections").first()
    hide_by = room is not None and "data_sources" in room.anonymous_sections
    source_rows = [_source_row(source, ranks, earlier.get(source.pk), hide_by)
                   for source in sources]
    risk_rows = [_risk_row(risk, ranks) for risk in risks]
    return Roadmap(
        title=workshop.title,
        organisation=workshop.organisation,
        method_title=method.title if method else workshop.method,
        method_source=method.source if method else "",
        facilitator=facilitator_name(owner),
        generated_at=timezone.localtime(),
        sessions=sessions,
        attendees=attendees,
        cofacilitators=cofacilitators,
        objective=north_star.objective,
        scope_level=north_star.get_scope_level_display() if north_star.scope_level else "",
        why_now=north_star.why_now,
        start_area=north_star.start_area,
        goals=[
            GoalRow(
                goal.metric,
                goal.baseline,
                goal.target,
                goal.timeframe,
                goal.data_source.name if goal.data_source else "",
                _refs(goal.recipes.all(), ranks),
            )
            for goal in goals
        ],
        recipes=rows,
        lanes=lanes,
        unplanned=[row for row in rows if not row.phase],
        recipe_groups=_group_rows(rows),
        voting=bool(votes) and any((votes or {}).values()),
        data_sources=source_rows,
        risks=risk_rows,
        stakeholders=[
            StakeholderRow(
                s.name,
                s.get_function_display(),
                s.internal_customer,
                s.get_influence_display(),
                s.desired_outcome,
                s.concerns,
            )
            for s in LISTS["stakeholders"].revealed(workshop.pk)
        ],
        decisions=[
            DecisionRow(d.decision, d.rationale) for d in LISTS["decisions"].revealed(workshop.pk)
        ],
        action_items=[ActionRow(a.action, a.owner, a.due_date, a.done) for a in action_items],
        parking_lot=[
            ParkingRow(p.question, p.notes) for p in LISTS["parking_lot"].revealed(workshop.pk)
        ],
        interactions=[
            InteractionRow(i.what, i.where_seen, i.sentiment, i.get_sentiment_display(),
                           i.pattern, i.group_title)
            for i in LISTS["interactions"].revealed(workshop.pk).select_related("group")
        ],
        vote=vote_row(workshop, vote) if vote is not None and votes else None,
        board_url=board_url,
        round=workshop.round,
        changes=changes_since(workshop),
        stats={
            "recipes": len(rows),
            "now": len(lanes[0].recipes),
            "ready_sources": sum(s.readiness == Readiness.GREEN for s in source_rows),
            "red_sources": sum(s.readiness == Readiness.RED for s in source_rows),
            "sources": len(source_rows),
            "unmitigated_risks": sum(r.unmitigated_high for r in risk_rows),
            "risks": len(risk_rows),
            "open_actions": sum(not a.done for a in action_items),
        },
    )

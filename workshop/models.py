"""The board of a prepersonalization workshop.

Each section of the board is a list of items belonging to a workshop. Every
item carries a version (rule 5: no silent lost updates); the workshop carries
the board version that grows with every change (rule 4).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from .choices import (
    ContentModel,
    Function,
    Intent,
    Level,
    Party,
    Quadrant,
    Quality,
    Readiness,
    RecipeKind,
    RiskAction,
    RiskCategory,
    RiskStatus,
    RoadmapPhase,
    ScopeLevel,
    Sentiment,
)

SHORT = 200
LONG = 2000
SCORE = [MinValueValidator(1), MaxValueValidator(5)]


# The longest name a person goes by in a room (a participant's, a facilitator's).
NAME = 80


def facilitator_name(user: Any) -> str:
    """What the room calls a facilitator: the name they set for it (kept in the user's
    first name), else their login name."""
    return user.get_full_name() or user.get_username()


def quality_field() -> models.CharField:
    """One dimension of a data source's readiness, scored poor / fair / good / unknown."""
    return models.CharField(max_length=10, choices=Quality.choices, default=Quality.UNKNOWN)

# Impact and effort are scored 1-5; 3 and above count as high.
HIGH_SCORE = 3
# A risk whose likelihood x severity reaches this is high.
HIGH_RISK = 12


class Workshop(models.Model):
    title = models.CharField(max_length=SHORT)
    organisation = models.CharField(max_length=SHORT, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workshops"
    )
    method = models.CharField(max_length=50, default="prepersonalization")
    version = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set while archived: off the owner's list of workshops, read-only for everyone.
    archived_at = models.DateTimeField(null=True, blank=True)
    # Rounds: "Start the next round" (exports.rounds) makes round N + 1 from this board;
    # its roadmap opens with what changed since the round before.
    round = models.PositiveSmallIntegerField(default=1)
    previous_round = models.ForeignKey("self", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("board", args=[self.pk])


class AgendaPhase(models.Model):
    """One timeboxed phase of the agenda, copied from the method's template."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="phases")
    key = models.SlugField(max_length=50)
    title = models.CharField(max_length=SHORT)
    section = models.CharField(max_length=50, blank=True)
    prompt = models.TextField(max_length=LONG, blank=True)
    pitfalls = models.JSONField(default=list, blank=True)
    minutes = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(480)]
    )
    position = models.PositiveSmallIntegerField(default=0)
    skipped = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["workshop", "key"], name="unique_phase_key"),
        ]

    def __str__(self) -> str:
        return self.title


def visible(private: bool, author: str, person: str, facilitator: bool) -> bool:
    """The rule of private writing: an item written privately, until the reveal, is
    seen by its author and the facilitators only; every other item by everyone."""
    return not private or facilitator or (bool(person) and author == person)


def visible_q(person: str, facilitator: bool) -> models.Q:
    """`visible` as a filter of a list's rows."""
    if facilitator:
        return models.Q()
    return models.Q(private=False) | models.Q(author=person) if person else models.Q(
        private=False)


class ItemGroup(models.Model):
    """Items of one list put together under a title: duplicates, or one theme. A group
    shows only through its items (one with none left shows nowhere)."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="groups")
    section = models.CharField(max_length=50)
    title = models.CharField(max_length=SHORT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.title


class BoardItem(models.Model):
    """What every item on the board has: its workshop, version and place."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField(default=1)
    position = models.PositiveIntegerField(default=0)
    author_name = models.CharField(max_length=SHORT, blank=True)
    # Who added it (Membership.person: "p<participant>" or "u<user>"), for the limit on
    # how many items one person may add; blank for imported items.
    author = models.CharField(max_length=40, blank=True)
    # Written while its list was private (sessions.room.set_private): until the
    # facilitator reveals the list, only its author and the facilitators see it, and it
    # shows nowhere else (no link, no vote, no export).
    private = models.BooleanField(default=False)
    # When its text was last edited (not placed on the roadmap): cards say "edited".
    edited_at = models.DateTimeField(null=True, blank=True)
    # The item of the previous round it was carried over from (its id there), set when
    # the next round starts (exports.rounds): what changed is read by it.
    carried_from = models.PositiveIntegerField(null=True, blank=True)
    # The group of similar items of its list it was put in, if any (workshop.services.
    # group_items); cards, votes, the roadmap and the exports show it.
    group = models.ForeignKey("ItemGroup", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Declared here so that code handling any list (services, fragments) is typed.
    objects: ClassVar[models.Manager[Self]] = models.Manager()

    class Meta:
        abstract = True
        ordering = ["position", "pk"]
        # A list in order, the next position and an item's predecessor (the live
        # board's placement) read this index, not the whole list.
        indexes = [models.Index(fields=["workshop", "position", "id"],
                                name="%(class)s_order")]

    @property
    def group_title(self) -> str:
        """The name of its group of similar items ("" when in none)."""
        return self.group.title if self.group is not None else ""


class NorthStar(BoardItem):
    """The why: one per workshop."""

    workshop = models.OneToOneField(Workshop, on_delete=models.CASCADE, related_name="north_star")
    objective = models.TextField(max_length=LONG, blank=True)
    scope_level = models.CharField(max_length=20, choices=ScopeLevel.choices, blank=True)
    why_now = models.TextField("why personalize now", max_length=LONG, blank=True)
    start_area = models.CharField("the one area to start in", max_length=SHORT, blank=True)

    def __str__(self) -> str:
        return self.objective[:80] or "North Star"

    @property
    def is_empty(self) -> bool:
        return not (self.objective or self.why_now or self.start_area)


class Stakeholder(BoardItem):
    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="stakeholders")
    name = models.CharField(max_length=SHORT)
    function = models.CharField(max_length=20, choices=Function.choices)
    internal_customer = models.BooleanField(
        "internal customer of the technology", default=False
    )
    desired_outcome = models.TextField(max_length=LONG, blank=True)
    concerns = models.TextField(max_length=LONG, blank=True)
    influence = models.CharField(max_length=10, choices=Level.choices, default=Level.MEDIUM)

    def __str__(self) -> str:
        return self.name


class ExampleInteraction(BoardItem):
    """An experience from the 'landscape of connected experience' exercise."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="interactions")
    what = models.CharField(max_length=SHORT)
    where_seen = models.CharField(max_length=SHORT, blank=True)
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices)
    pattern = models.CharField(max_length=SHORT, blank=True)

    def __str__(self) -> str:
        return self.what


class DataSource(BoardItem):
    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="data_sources")
    name = models.CharField(max_length=SHORT)
    system_of_record = models.CharField(max_length=SHORT, blank=True)
    party = models.CharField(max_length=10, choices=Party.choices)
    consent_basis = models.CharField("consent / legal basis", max_length=SHORT, blank=True)
    owner = models.CharField(max_length=SHORT, blank=True)
    accessibility = quality_field()
    completeness = quality_field()
    accuracy = quality_field()
    timeliness = quality_field()
    consistency = quality_field()
    notes = models.TextField(max_length=LONG, blank=True)
    evidence = models.TextField(max_length=LONG, blank=True)

    ASSESSMENT = ("accessibility", "completeness", "accuracy", "timeliness", "consistency")

    def __str__(self) -> str:
        return self.name

    @property
    def assessment(self) -> list[tuple[str, str]]:
        return [(name, getattr(self, name)) for name in self.ASSESSMENT]

    @property
    def profile(self) -> DataProfile | None:
        """The current profile: prefetched by the list (`current_profiles`), else read."""
        if hasattr(self, "current_profiles"):
            return self.current_profiles[0] if self.current_profiles else None
        return self.profiles.filter(current=True).defer("columns").first()

    @property
    def sampled_assessment(self) -> list[tuple[str, str, dict[str, str] | None]]:
        """Each dimension, its score, and what the current sample said of it."""
        profile = self.profile
        return [(name, score, profile.evidence_for(name) if profile else None)
                for name, score in self.assessment]

    @property
    def readiness(self) -> str:
        """Red when any dimension is poor or no legal basis is recorded; green when
        every dimension is good; amber in between (fair or not yet known)."""
        scores = {getattr(self, name) for name in self.ASSESSMENT}
        if Quality.POOR in scores or not self.consent_basis.strip():
            return Readiness.RED
        if scores == {Quality.GOOD}:
            return Readiness.GREEN
        return Readiness.AMBER

    def get_readiness_display(self) -> str:
        return Readiness(self.readiness).label


class Goal(BoardItem):
    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="goals")
    metric = models.CharField(max_length=SHORT)
    baseline = models.CharField(max_length=SHORT, blank=True)
    target = models.CharField(max_length=SHORT, blank=True)
    timeframe = models.CharField(max_length=SHORT, blank=True)
    data_source = models.ForeignKey(
        DataSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="goals"
    )

    def __str__(self) -> str:
        return self.metric


NO_DATA_SOURCE = "No data source is linked, so nobody has checked the data it needs"


class Recipe(BoardItem):
    """A personalization idea as an if-then statement, and its place on the roadmap."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="recipes")
    title = models.CharField(max_length=SHORT)
    segment = models.CharField("if (segment)", max_length=SHORT)
    context = models.CharField("and (context)", max_length=SHORT, blank=True)
    action = models.TextField("then (content / interaction)", max_length=LONG)
    touchpoint = models.CharField("at (touchpoint)", max_length=SHORT, blank=True)
    content_model = models.CharField(max_length=20, choices=ContentModel.choices)
    kind = models.CharField(max_length=20, choices=RecipeKind.choices)
    data_sources = models.ManyToManyField(DataSource, blank=True, related_name="recipes")
    success_metric = models.ForeignKey(
        Goal, on_delete=models.SET_NULL, null=True, blank=True, related_name="recipes"
    )
    impact = models.PositiveSmallIntegerField(validators=SCORE)
    effort = models.PositiveSmallIntegerField(validators=SCORE)

    phase = models.CharField(
        "roadmap phase", max_length=10, choices=RoadmapPhase.choices, blank=True, default=""
    )
    owner = models.CharField(max_length=SHORT, blank=True)
    exit_metric = models.CharField(max_length=SHORT, blank=True)
    dependencies = models.TextField(max_length=LONG, blank=True)
    gate_override_reason = models.TextField(max_length=LONG, blank=True)
    gate_override_by = models.CharField(max_length=SHORT, blank=True)
    gate_override_at = models.DateTimeField(null=True, blank=True)

    # Set by workshop.selectors.roadmap_lanes: the recipe's dots in the last closed vote.
    dot_count: int = 0

    def __str__(self) -> str:
        return self.title

    @property
    def quadrant(self) -> str:
        high_impact = self.impact >= HIGH_SCORE
        high_effort = self.effort >= HIGH_SCORE
        if high_impact:
            return Quadrant.BIG_BET if high_effort else Quadrant.QUICK_WIN
        return Quadrant.MONEY_PIT if high_effort else Quadrant.FILL_IN

    def get_quadrant_display(self) -> str:
        return Quadrant(self.quadrant).label

    def gate_problems(self) -> list[str]:
        """Why this recipe is not ready for 'now'. Reads data_sources and risks, so
        prefetch both when listing many recipes. A risk written privately counts once it
        is revealed: until then it is a draft, and naming it would show it to the room."""
        sources = self.data_sources.all()
        # No linked data is not ready data: nobody has said what the recipe runs on.
        problems = [] if sources else [NO_DATA_SOURCE]
        problems += [
            f"Data source “{source.name}” is {source.get_readiness_display().lower()}"
            for source in sources
            if source.readiness != Readiness.GREEN
        ]
        problems += [
            f"Risk “{risk.risk}” (likelihood × severity {risk.score}) is open with no mitigation"
            for risk in self.risks.all()
            if risk.blocks_roadmap and not risk.private
        ]
        return problems

    @property
    def is_gated(self) -> bool:
        return bool(self.gate_problems())

    @property
    def has_override(self) -> bool:
        return bool(self.gate_override_reason.strip())

    def may_enter_now(self) -> bool:
        return self.has_override or not self.is_gated


class Risk(BoardItem):
    """An entry of the ethics and bias register (consequence scanning)."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="risks")
    risk = models.CharField(max_length=SHORT)
    category = models.CharField(max_length=20, choices=RiskCategory.choices)
    affected = models.CharField("who is affected", max_length=SHORT, blank=True)
    intent = models.CharField(max_length=12, choices=Intent.choices, default=Intent.UNINTENDED)
    likelihood = models.PositiveSmallIntegerField(validators=SCORE)
    severity = models.PositiveSmallIntegerField(validators=SCORE)
    action = models.CharField(max_length=12, choices=RiskAction.choices, default=RiskAction.MONITOR)
    mitigation = models.TextField(max_length=LONG, blank=True)
    user_control = models.CharField("user control offered", max_length=SHORT, blank=True)
    owner = models.CharField(max_length=SHORT, blank=True)
    status = models.CharField(max_length=12, choices=RiskStatus.choices, default=RiskStatus.OPEN)
    recipes = models.ManyToManyField(Recipe, blank=True, related_name="risks")

    OPEN_STATUSES = (RiskStatus.OPEN, RiskStatus.MITIGATING)

    def __str__(self) -> str:
        return self.risk

    @property
    def score(self) -> int:
        return self.likelihood * self.severity

    @property
    def is_high(self) -> bool:
        return self.score >= HIGH_RISK

    @property
    def blocks_roadmap(self) -> bool:
        return self.is_high and self.status in self.OPEN_STATUSES and not self.mitigation.strip()


class Decision(BoardItem):
    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="decisions")
    decision = models.CharField(max_length=SHORT)
    rationale = models.TextField(max_length=LONG, blank=True)

    def __str__(self) -> str:
        return self.decision


class ActionItem(BoardItem):
    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="action_items")
    action = models.CharField(max_length=SHORT)
    owner = models.CharField(max_length=SHORT, blank=True)
    due_date = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.action


class ParkingLotItem(BoardItem):
    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="parking_lot")
    question = models.CharField(max_length=SHORT)
    notes = models.TextField(max_length=LONG, blank=True)

    def __str__(self) -> str:
        return self.question


class DataProfile(models.Model):
    """What a sample of a data source showed when it was profiled in the room
    (workshop.profiler): the figures, never the sample. The newest is the source's
    current profile; older ones keep only their date, size and scores (`retire`)."""

    PROPOSED, ACCEPTED, DISMISSED = "proposed", "accepted", "dismissed"

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="+")
    # Kept when its source is deleted (no cascade, no constraint): restoring the source
    # (workshop.services.restore_item, same pk) brings its profile back; deleting the
    # workshop deletes both.
    data_source = models.ForeignKey(DataSource, on_delete=models.DO_NOTHING,
                                    db_constraint=False, related_name="profiles")
    current = models.BooleanField(default=True)
    by = models.CharField(max_length=NAME, blank=True)
    filename = models.CharField(max_length=SHORT, blank=True)
    file_format = models.CharField(max_length=20)
    encoding = models.CharField(max_length=40)
    rows = models.PositiveIntegerField()
    column_count = models.PositiveIntegerField()
    duplicate_rows = models.PositiveIntegerField(default=0)
    completeness = models.FloatField(default=0)
    newest = models.CharField(max_length=40, blank=True)  # ISO date or time, as read
    # {dimension: {"score": quality, "evidence": text}} (workshop.profiler.readiness)
    scores = models.JSONField(default=dict)
    # Per column: type, completeness, uniqueness, top values, range, examples (masked
    # when personal). Emptied when a newer sample replaces this one.
    columns = models.JSONField(default=list)
    # Personal data found: {"column", "kind", "label", "evidence", "special", "status",
    # "risk"}: each a proposed risk until a person accepts or dismisses it.
    findings = models.JSONField(default=list)
    notes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["data_source", "-created_at", "-pk"]
        constraints = [models.UniqueConstraint(
            fields=["data_source"], condition=models.Q(current=True),
            name="one_current_profile")]

    def __str__(self) -> str:
        return f"{self.filename or 'sample'}: {self.rows} rows"

    @property
    def duplicate_share(self) -> float:
        return self.duplicate_rows / self.rows if self.rows else 0.0

    @property
    def personal_columns(self) -> list[dict[str, Any]]:
        return [column for column in self.columns if column.get("personal")]

    @property
    def proposals(self) -> list[tuple[int, dict[str, Any]]]:
        """The findings no one has accepted or dismissed yet, with their index (the
        buttons that answer them name it)."""
        return [(index, finding) for index, finding in enumerate(self.findings)
                if finding["status"] == self.PROPOSED]

    def evidence_for(self, dimension: str) -> dict[str, str] | None:
        return self.scores.get(dimension)


class BoardEvent(models.Model):
    """One change to a board, in order: the log that resync and history read."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="events")
    version = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=40)
    section = models.CharField(max_length=40, blank=True)
    item_id = models.PositiveBigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=SHORT, blank=True)
    # The items the changed item linked to before an edit replaced its links (a risk's
    # recipes): pages redraw those as well as the ones it links to now.
    unlinked = models.JSONField(default=list, blank=True)
    # A deleted item as it was (workshop.services.snapshot): what restoring it puts back.
    snapshot = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workshop", "version"]
        constraints = [
            models.UniqueConstraint(fields=["workshop", "version"], name="unique_event_version"),
        ]

    def __str__(self) -> str:
        return f"{self.workshop_id}@{self.version} {self.kind} {self.section}#{self.item_id}"

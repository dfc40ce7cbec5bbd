"""Running a workshop live: sittings, the people in them and their links."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from workshop.choices import Function
from workshop.models import NAME, SHORT, Workshop

from .tokens import new_token


class Role(models.TextChoices):
    FACILITATOR = "facilitator", "Facilitator"
    COFACILITATOR = "cofacilitator", "Co-facilitator"
    PARTICIPANT = "participant", "Participant"
    OBSERVER = "observer", "Observer"


class WorkshopSession(models.Model):
    """One live sitting of a workshop, with its own people and links.

    The board belongs to the workshop, so a team can run the method over
    several sittings and pick up where it stopped.
    """

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="sessions")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=SHORT, blank=True)
    join_token = models.CharField(max_length=64, unique=True, default=new_token)
    observer_token = models.CharField(max_length=64, unique=True, default=new_token)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    # After this, the session's links let nobody new in (people already in stay in).
    links_expire_at = models.DateTimeField(null=True, blank=True)
    # Lobby mode: a new person knocks and waits until a facilitator lets them in.
    lobby = models.BooleanField(default=False)

    class Meta:
        ordering = ["workshop", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["workshop", "number"], name="unique_session_number"),
        ]

    def __str__(self) -> str:
        return self.title or f"Session {self.number}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    def token_for(self, role: str) -> str:
        return self.observer_token if role == Role.OBSERVER else self.join_token


class Participant(models.Model):
    """A person who joined a session by a link: no account, a name and a role.

    They stay a member while they are not removed and the link they came by
    has not been rotated away. Ending a session does not lock them out: the
    product lead still downloads the roadmap afterwards.
    """

    session = models.ForeignKey(
        WorkshopSession, on_delete=models.CASCADE, related_name="participants"
    )
    display_name = models.CharField(max_length=NAME)
    function = models.CharField(max_length=20, choices=Function.choices)
    role = models.CharField(
        max_length=13,
        choices=[(Role.PARTICIPANT, "Participant"), (Role.OBSERVER, "Observer")],
    )
    is_cofacilitator = models.BooleanField(default=False)
    joined_with = models.CharField(max_length=64)
    # The browser they joined from (a hash of its CSRF cookie): a join form sent twice
    # at once (a double tap) finds the participant the first one made, before either
    # answer has set the session that would say so.
    browser = models.CharField(max_length=64, blank=True, default="", db_index=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    # Removed by a facilitator: a ban. This person's browser cannot join again by the
    # link until a facilitator lets them back in.
    removed_at = models.DateTimeField(null=True, blank=True)
    # Left of their own accord: joining again from the same browser brings them back.
    left_at = models.DateTimeField(null=True, blank=True)
    # Knocked in lobby mode and not let in (nor declined) yet.
    waiting = models.BooleanField(default=False)
    # Done with the room's phase, and a hand raised in it (when: the queue's order).
    # Both are for one phase: moving the room clears them (sessions.room._go_to).
    ready = models.BooleanField(default=False)
    hand_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "pk"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_active(self) -> bool:
        return (
            self.removed_at is None
            and self.left_at is None
            and not self.waiting
            and self.joined_with == self.session.token_for(self.role)
        )


class Room(models.Model):
    """What the facilitator leads in the room: the phase, the timer, locks, spotlight.

    One per workshop; the server holds the timer's end time so every screen
    shows the same seconds.
    """

    workshop = models.OneToOneField(Workshop, on_delete=models.CASCADE, related_name="room")
    current_phase = models.ForeignKey(
        "workshop.AgendaPhase", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    timer_ends_at = models.DateTimeField(null=True, blank=True)
    timer_remaining = models.PositiveIntegerField(null=True, blank=True)
    board_locked = models.BooleanField(default=False)
    locked_sections = models.JSONField(default=list, blank=True)
    anonymous_sections = models.JSONField(default=list, blank=True)
    # Lists written privately: what is added to them now is seen by its author and the
    # facilitators only, until the facilitator reveals the list.
    private_sections = models.JSONField(default=list, blank=True)
    # Whether participants may edit and delete every item, not only their own.
    open_editing = models.BooleanField(default=False)
    spotlight = models.CharField(max_length=80, blank=True)

    def __str__(self) -> str:
        return f"Room of {self.workshop}"

    @property
    def timer_running(self) -> bool:
        return self.timer_ends_at is not None

    def seconds_left(self, now=None) -> int | None:
        if self.timer_ends_at is not None:
            now = now or timezone.now()
            return max(0, round((self.timer_ends_at - now).total_seconds()))
        return self.timer_remaining


class Presence(models.Model):
    """One open websocket on a board. Rows are kept in the database so that every
    worker sees who is in the room; a heartbeat lets stale rows of a dead worker expire."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200, unique=True)
    person = models.CharField(max_length=40)
    name = models.CharField(max_length=SHORT)
    function = models.CharField(max_length=20, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workshop", "seen_at"])]

    def __str__(self) -> str:
        return f"{self.name} on {self.workshop_id}"


class Vote(models.Model):
    """A dot vote on the recipes, opened and closed by the facilitator."""

    workshop = models.ForeignKey(Workshop, on_delete=models.CASCADE, related_name="votes")
    session = models.ForeignKey(
        WorkshopSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="votes"
    )
    budget = models.PositiveSmallIntegerField(default=3)
    per_item = models.PositiveSmallIntegerField(default=3)
    hidden = models.BooleanField(default=True)
    # Whether people may put dots on recipes they wrote themselves (set when opening).
    own_dots = models.BooleanField(default=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workshop"], condition=models.Q(closed_at__isnull=True),
                name="one_open_vote_per_workshop",
            ),
            models.CheckConstraint(
                condition=models.Q(budget__gte=1, budget__lte=20, per_item__gte=1),
                name="vote_budget_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Vote {self.pk} on {self.workshop}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Dot(models.Model):
    """One dot a person put on a recipe.

    The budget is enforced by the database, not only the page: each dot takes a
    numbered slot, unique per voter, and a slot must lie within the budget copied
    onto the row; so two tabs racing for the last dot cannot both win.
    """

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="dots")
    voter = models.CharField(max_length=40)
    recipe = models.ForeignKey("workshop.Recipe", on_delete=models.CASCADE, related_name="dots")
    slot = models.PositiveSmallIntegerField()
    item_slot = models.PositiveSmallIntegerField()
    budget = models.PositiveSmallIntegerField()
    per_item = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vote", "voter", "slot"], name="one_dot_per_slot"),
            models.UniqueConstraint(fields=["vote", "voter", "recipe", "item_slot"],
                                    name="one_dot_per_item_slot"),
            models.CheckConstraint(
                condition=models.Q(slot__gte=1, slot__lte=models.F("budget"),
                                   item_slot__gte=1, item_slot__lte=models.F("per_item")),
                name="dot_within_budget",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.voter} → {self.recipe_id}"

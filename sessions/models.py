"""Running a workshop live: sittings, the people in them and their links."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from workshop.choices import Function
from workshop.models import SHORT, Workshop

from .tokens import new_token


class Role(models.TextChoices):
    FACILITATOR = "facilitator", "Facilitator"
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
    display_name = models.CharField(max_length=80)
    function = models.CharField(max_length=20, choices=Function.choices)
    role = models.CharField(
        max_length=12,
        choices=[(Role.PARTICIPANT, "Participant"), (Role.OBSERVER, "Observer")],
    )
    joined_with = models.CharField(max_length=64)
    joined_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "pk"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_active(self) -> bool:
        return (
            self.removed_at is None
            and self.joined_with == self.session.token_for(self.role)
        )

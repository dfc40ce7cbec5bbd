"""Who a rendering is for. Fragments are rendered once per audience, never per person;
the one exception is what a person wrote privately, which only they (and the
facilitators) may see until the reveal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workshop.models import visible

ROOM = "room"
FACILITATORS = "facilitators"


@dataclass(frozen=True)
class Viewer:
    """What a rendering may show. Facilitator controls are not secrets (every write checks
    permission), so they are always rendered and hidden by CSS for others; authors in
    anonymous sections are secrets, so the room's rendering leaves them out, and so are
    items written privately (the room's rendering shows only `person`'s own: none when
    it is rendered for the whole room)."""

    audience: str
    can_edit: bool = True
    anonymous_sections: frozenset[str] = frozenset()
    person: str = ""

    @property
    def is_facilitator(self) -> bool:
        return self.audience == FACILITATORS

    def sees(self, item: Any) -> bool:
        """Whether this viewer may see an item of the board (workshop.models.visible)."""
        return self.sees_row(item.private, item.author)

    def sees_row(self, private: bool, author: str) -> bool:
        return visible(private, author, self.person, self.is_facilitator)

    @classmethod
    def for_audience(cls, audience: str, anonymous_sections, person: str = "") -> Viewer:
        hidden = frozenset() if audience == FACILITATORS else frozenset(anonymous_sections)
        return cls(audience, True, hidden, person)

    @classmethod
    def for_member(cls, member, room) -> Viewer:
        audience = FACILITATORS if member.is_facilitator else ROOM
        viewer = cls.for_audience(audience, room.anonymous_sections, member.person)
        return cls(viewer.audience, member.can_edit, viewer.anonymous_sections, member.person)

AUDIENCES = (ROOM, FACILITATORS)

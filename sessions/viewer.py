"""Who a rendering is for. Fragments are rendered once per audience, never per person."""

from __future__ import annotations

from dataclasses import dataclass

ROOM = "room"
FACILITATORS = "facilitators"


@dataclass(frozen=True)
class Viewer:
    """What a rendering may show. Facilitator controls are not secrets (every write checks
    permission), so they are always rendered and hidden by CSS for others; authors in
    anonymous sections are secrets, so the room's rendering leaves them out."""

    audience: str
    can_edit: bool = True
    anonymous_sections: frozenset[str] = frozenset()

    @property
    def is_facilitator(self) -> bool:
        return self.audience == FACILITATORS

    @classmethod
    def for_audience(cls, audience: str, anonymous_sections) -> Viewer:
        hidden = frozenset() if audience == FACILITATORS else frozenset(anonymous_sections)
        return cls(audience, True, hidden)

    @classmethod
    def for_member(cls, member, room) -> Viewer:
        audience = FACILITATORS if member.is_facilitator else ROOM
        viewer = cls.for_audience(audience, room.anonymous_sections)
        return cls(viewer.audience, member.can_edit, viewer.anonymous_sections)

AUDIENCES = (ROOM, FACILITATORS)

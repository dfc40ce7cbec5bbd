"""Vote results for the roadmap: the one place exports read live voting.

Only a closed vote counts: its totals were revealed to the room when the facilitator
closed it. An open vote may still be hidden, and a document must never carry dots
before the reveal (docs/architecture.md, rule 3), so the roadmap shows the latest closed vote.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sessions.models import Participant, Room, Vote
from workshop.models import Workshop, facilitator_name


@dataclass(frozen=True)
class VoteRow:
    """The latest closed vote: its dots and, unless it was secret, who spent how many."""

    dots: int
    budget: int
    voters: int
    # (name, dots spent), most first; empty when the vote was secret.
    by_person: list[tuple[str, int]]
    secret: bool


def latest_closed(workshop: Workshop) -> Vote | None:
    return (
        Vote.objects.filter(workshop=workshop, closed_at__isnull=False)
        .order_by("-closed_at", "-pk")
        .first()
    )


def dots_by_recipe(vote: Vote | None) -> dict[int, int] | None:
    """Dots per recipe id in `vote` (the latest closed one), or None when none closed."""
    if vote is None:
        return None
    return {row["recipe_id"]: int(row["dots"]) for row in vote.results}


def _is_secret(workshop: Workshop, vote: Vote) -> bool:
    """A hidden vote on a list the room made anonymous: nobody saw who voted, and the
    document does not tell either."""
    room = Room.objects.filter(workshop=workshop).first()
    return vote.hidden and room is not None and "recipes" in room.anonymous_sections


def vote_row(workshop: Workshop, vote: Vote) -> VoteRow:
    spent = Counter(vote.dots.values_list("voter", flat=True))
    secret = _is_secret(workshop, vote)
    by_person: list[tuple[str, int]] = []
    if not secret and spent:
        names = _names(workshop, list(spent))
        by_person = sorted(((names.get(key, "Someone who left"), dots)
                            for key, dots in spent.items()), key=lambda row: (-row[1], row[0]))
    return VoteRow(dots=sum(spent.values()), budget=vote.budget, voters=len(spent),
                   by_person=by_person, secret=secret)


def _names(workshop: Workshop, keys: list[str]) -> dict[str, str]:
    """Display names for Membership.person keys ("p<participant>", "u<user>")."""
    names: dict[str, str] = {}
    people = [int(key[1:]) for key in keys if key.startswith("p") and key[1:].isdigit()]
    for pk, name in Participant.objects.filter(
        pk__in=people, session__workshop=workshop
    ).values_list("pk", "display_name"):
        names[f"p{pk}"] = name
    owner = workshop.owner
    names[f"u{owner.pk}"] = facilitator_name(owner)
    return names

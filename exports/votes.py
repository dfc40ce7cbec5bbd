"""Vote results for the roadmap: the one place exports read live voting.

Only a closed vote counts: its totals were revealed to the room when the facilitator
closed it. An open vote may still be hidden, and a document must never carry dots
before the reveal (docs/architecture.md, rule 3), so the roadmap shows the latest closed vote.
"""

from __future__ import annotations

from sessions.models import Vote
from workshop.models import Workshop


def recipe_votes(workshop: Workshop) -> dict[int, int] | None:
    """Dots per recipe id in the latest closed vote, or None when no vote has closed."""
    vote = (
        Vote.objects.filter(workshop=workshop, closed_at__isnull=False)
        .order_by("-closed_at", "-pk")
        .first()
    )
    if vote is None:
        return None
    return {row["recipe_id"]: int(row["dots"]) for row in vote.results}

"""What the board page reads, in a fixed number of queries however big it grows."""

from __future__ import annotations

from typing import Any

from sessions.access import Membership

from .choices import Quadrant, RoadmapPhase
from .methods import get_method
from .models import Recipe
from .sections import LISTS

# A phase shows the lists named here; by default, the one list named by its section.
PHASE_LISTS = {"decisions": ("decisions", "action_items", "parking_lot")}


def roadmap_lanes(recipes: list[Recipe]) -> list[tuple[RoadmapPhase, list[Recipe]]]:
    lanes = [RoadmapPhase.NOW, RoadmapPhase.NEXT, RoadmapPhase.LATER, RoadmapPhase.UNPLANNED]
    return [(phase, [r for r in recipes if r.phase == phase]) for phase in lanes]


def roadmap_context(member: Membership) -> dict[str, Any]:
    recipes = list(LISTS["recipes"].items(member.workshop.pk))
    return {"workshop": member.workshop, "member": member, "roadmap": roadmap_lanes(recipes)}


def board_context(member: Membership) -> dict[str, Any]:
    workshop = member.workshop
    items = {key: list(section.items(workshop.pk)) for key, section in LISTS.items()}
    phases = list(workshop.phases.all())
    recipes = items["recipes"]
    blocks = []
    for phase in phases:
        keys = PHASE_LISTS.get(phase.section, (phase.section,))
        lists = [
            {
                "section": LISTS[key],
                "items": items[key],
                "add_form": LISTS[key].form(workshop=workshop, prefix=f"add-{key}")
                if member.can_edit else None,
            }
            for key in keys if key in LISTS
        ]
        blocks.append({"phase": phase, "lists": lists})
    return {
        "workshop": workshop,
        "member": member,
        "method": get_method(workshop.method),
        "phases": phases,
        "blocks": blocks,
        "north_star": workshop.north_star,
        "quadrants": [
            (quadrant, [r for r in recipes if r.quadrant == quadrant]) for quadrant in Quadrant
        ],
        "roadmap": roadmap_lanes(recipes),
    }

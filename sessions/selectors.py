"""What the live board reads: the room, the votes. Reads only: services (writes) and
the pipe import these, never the other way round (docs/architecture.md, "Layers")."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import Count, F, Q
from django.utils import timezone

from workshop.models import Recipe, Workshop
from workshop.sections import LISTS

from .access import Membership
from .models import Participant, Role, Room, Vote


def room_for(workshop: Workshop) -> Room:
    """The workshop's room, read once per workshop instance (Django caches the reverse
    one-to-one on it), so a request that checks a lock and renders reads it once."""
    try:
        return workshop.room
    except Room.DoesNotExist:  # a workshop from before rooms existed
        room = Room.objects.get_or_create(workshop=workshop)[0]
        workshop.room = room
        return room


def taking_part(workshop_id: int):
    """The participants who can take part now: in an open session, by its current join
    link, not removed, not gone, not waiting in the lobby. Observers and co-facilitators
    do not count (their pages have no Ready or Raise hand: they lead)."""
    return Participant.objects.filter(
        session__workshop_id=workshop_id, session__ended_at__isnull=True,
        role=Role.PARTICIPANT, is_cofacilitator=False, removed_at__isnull=True,
        left_at__isnull=True, waiting=False, joined_with=F("session__join_token"))


def hands_and_ready(room: Room) -> dict[str, Any]:
    """Who is ready for the room's phase (of how many), and the hands raised in it, in
    the order they went up."""
    people = list(taking_part(room.workshop_id)
                  .values_list("pk", "display_name", "ready", "hand_at"))
    raised = sorted((at, pk, name) for pk, name, _, at in people if at is not None)
    return {
        "ready": sorted(pk for pk, _, ready, _ in people if ready),
        "taking_part": len(people),
        "hands": [[pk, name] for _, pk, name in raised],
    }


def room_state(room: Room) -> dict[str, Any]:
    """What the page's script needs beyond HTML: where the room is and the timer."""
    now = timezone.now()
    return {
        **hands_and_ready(room),
        "phase": room.current_phase.key if room.current_phase else None,
        "timer": {
            "running": room.timer_running,
            "ends_at": int(room.timer_ends_at.timestamp() * 1000) if room.timer_ends_at else None,
            "remaining": room.seconds_left(now),
            "server_now": int(now.timestamp() * 1000),
        },
        "board_locked": room.board_locked,
        "locked_sections": room.locked_sections,
        "anonymous_sections": room.anonymous_sections,
        "private_sections": room.private_sections,
        "open_editing": room.open_editing,
        "spotlight": room.spotlight,
    }


def open_vote_of(workshop_id: int) -> Vote | None:
    return Vote.objects.filter(workshop_id=workshop_id, closed_at__isnull=True).first()


def tally(vote: Vote) -> list[dict[str, Any]]:
    """Recipes by dots, most first; ties share a rank."""
    counts = Counter(vote.dots.values_list("recipe_id", flat=True))
    # Not the recipes written privately since (they were not on the ballot).
    recipes = (Recipe.objects.filter(workshop_id=vote.workshop_id, private=False)
               .select_related("group").order_by("position", "pk"))
    rows: list[dict[str, Any]] = sorted(
        ({"recipe_id": r.pk, "title": r.title, "dots": counts.get(r.pk, 0),
          "group": r.group_title} for r in recipes),
        key=lambda row: -row["dots"])
    rank, previous = 0, None
    for index, row in enumerate(rows, start=1):
        if row["dots"] != previous:
            rank, previous = index, row["dots"]
        row["rank"] = rank
    return rows


def group_totals(rows: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A tally's dots by group of similar recipes, most first (none when no recipe is
    grouped). Rows of a vote closed before groups existed have no "group"."""
    totals: dict[str, dict[str, Any]] = {}
    for row in rows or ():
        if row.get("group"):
            total = totals.setdefault(row["group"], {"title": row["group"], "dots": 0,
                                                     "recipes": 0})
            total["dots"] += row["dots"]
            total["recipes"] += 1
    return sorted(totals.values(), key=lambda total: -total["dots"])


def vote_context(workshop: Workshop) -> dict[str, Any]:
    """What everyone in the room may see of the votes: never hidden dots."""
    # The latest two say it all: only one vote is open at a time, and it is the latest.
    latest = list(Vote.objects.filter(workshop=workshop)[:2])
    vote = latest[0] if latest else None
    latest_closed = next((v for v in latest if v.closed_at is not None), None)
    context: dict[str, Any] = {"vote": vote, "voters": 0, "totals": None,
                               "dots_by_recipe": {}}
    if latest_closed is not None:
        context["dots_by_recipe"] = {r["recipe_id"]: r["dots"] for r in latest_closed.results}
    if vote is not None and vote.is_open:
        voters = set(vote.dots.values_list("voter", flat=True).distinct())
        people = list(taking_part(workshop.pk).order_by("display_name", "pk")
                      .values_list("pk", "display_name"))
        context["voters"] = len(voters)
        context["taking_part"] = len(people)
        context["voted"] = sum(f"p{pk}" in voters for pk, _ in people)
        # For the facilitators' panel only (the room's rendering leaves the names out).
        context["not_voted"] = [name for pk, name in people if f"p{pk}" not in voters]
        if not vote.hidden:
            context["totals"] = tally(vote)
    elif vote is not None:
        context["totals"] = vote.results
    context["group_totals"] = group_totals(context["totals"])
    return context


def ballot(member: Membership, vote: Vote | None = None) -> dict[str, Any]:
    """One person's own view of the open vote (`vote`, when the caller just wrote to
    it): their dots on each recipe, counted in the same query, and what is left."""
    vote = vote if vote is not None and vote.is_open else open_vote_of(member.workshop.pk)
    if vote is None:
        return {"vote": None}
    mine = Count("dots", filter=Q(dots__vote=vote, dots__voter=member.person))
    recipes = list(Recipe.objects.filter(workshop=member.workshop, private=False)
                   .select_related("group").annotate(mine=mine).order_by("position", "pk"))
    left = vote.budget - sum(r.mine for r in recipes)
    rows = []
    for recipe in recipes:
        own = not vote.own_dots and recipe.author == member.person
        # Why "+ dot" is off for this recipe, if it is (the button says it).
        full = ("Your own recipe" if own else "No dots left" if left <= 0
                else "At the most one recipe takes" if recipe.mine >= vote.per_item else "")
        rows.append({"recipe": recipe, "mine": recipe.mine, "own": own, "full": full})
    return {"vote": vote, "rows": rows, "left": left}


def knocking(workshop_id: int, viewer_is_facilitator: bool) -> list[Participant]:
    """Who waits in the lobby to be let in, first come first; only facilitators see
    them (the room's rendering of the lobby is empty)."""
    if not viewer_is_facilitator:
        return []
    return list(Participant.objects.filter(session__workshop_id=workshop_id, waiting=True,
                                           removed_at__isnull=True)
                .select_related("session").order_by("joined_at", "pk"))


def workshop_counts(workshop: Workshop) -> dict[str, int]:
    """What deleting the workshop takes with it, for the page that asks to confirm."""
    first, *rest = [section.model.objects.filter(workshop_id=workshop.pk)
                    .order_by().values_list("pk") for section in LISTS.values()]
    return {
        "items": first.union(*rest, all=True).count(),
        "sessions": workshop.sessions.count(),
        "people": Participant.objects.filter(session__workshop_id=workshop.pk).count(),
    }


def next_round_blocker(workshop: Workshop) -> str:
    """Why the next round cannot start yet ("" when it can): a round follows a workshop
    that has held its sessions and is running none."""
    if workshop.sessions.filter(ended_at__isnull=True).exists():
        return ("A session is still running: end it below (“End this session”), then "
                "start the next round.")
    if not workshop.sessions.exists() and workshop.archived_at is None:
        return ("No session has been held yet: the next round follows a workshop that has "
                "run. Start a session instead.")
    following = Workshop.objects.filter(previous_round=workshop).first()
    if following is not None:  # a double click, or a second try: one round follows
        return (f"Round {following.round}, “{following.title}”, follows this workshop "
                "already: it is on your workshops page.")
    return ""

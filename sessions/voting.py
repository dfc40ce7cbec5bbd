"""Dot voting on recipes in the prioritize phase.

While a vote is hidden no fragment carries anyone's dots: the room sees who has
voted, each person sees only their own dots (in their own HTTP responses).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from workshop.event_kinds import Kind
from workshop.events import lock_board, record_event
from workshop.models import Recipe

from .access import EDIT, FACILITATE, Membership
from .models import Dot, Vote
from .room import check_unlocked
from .selectors import open_vote_of, room_for, tally


class NoDotsLeft(ValidationError):
    pass


MOST_DOTS = 20  # per person (the database checks it too: sessions.models.Vote)


def _check_limits(budget: int, per_item: int) -> None:
    if not 1 <= budget <= MOST_DOTS or not 1 <= per_item <= budget:
        raise ValidationError(f"Give each person 1 to {MOST_DOTS} dots, and at most that "
                              "many on one recipe.")


@transaction.atomic
def open_vote(member: Membership, budget: int = 3, per_item: int = 3,
              hidden: bool = True, own_dots: bool = True) -> Vote:
    """Open a dot vote on the recipes: `budget` dots each, at most `per_item` on one
    recipe; `own_dots`: whether a person may put dots on recipes they wrote."""
    member.require(FACILITATE)
    _check_limits(budget, per_item)
    version = lock_board(member.workshop.pk)  # two opening at once: the second is told
    if open_vote_of(member.workshop.pk):
        raise ValidationError("A vote is already open: close it before opening another.")
    if "recipes" in room_for(member.workshop).private_sections:
        raise ValidationError("The recipes are being written privately: reveal them "
                              "before the room votes on them.")
    if not Recipe.objects.filter(workshop=member.workshop, private=False).exists():
        raise ValidationError("There are no recipes to vote on yet: add some first.")
    session = member.workshop.sessions.filter(ended_at__isnull=True).first()
    vote = Vote.objects.create(workshop=member.workshop, session=session, budget=budget,
                               per_item=per_item, hidden=hidden, own_dots=own_dots)
    record_event(member.workshop.pk, Kind.VOTE_OPENED, "vote", vote.pk, member.name,
                 version=version)
    return vote


@transaction.atomic
def raise_limits(member: Membership, budget: int, per_item: int) -> Vote:
    """Give everyone more dots, or let one recipe take more, while the vote is open. The
    dots cast stay where they are, so limits only go up."""
    member.require(FACILITATE)
    _check_limits(budget, per_item)
    vote = Vote.objects.select_for_update().get(pk=_current(member).pk)
    if budget < vote.budget or per_item < vote.per_item:
        raise ValidationError(
            f"Limits only go up during a vote, so that no dot already cast is lost: at "
            f"least {vote.budget} dots each and {vote.per_item} on one recipe.")
    vote.budget, vote.per_item = budget, per_item
    vote.save(update_fields=["budget", "per_item"])
    record_event(member.workshop.pk, Kind.VOTE_CHANGED, "vote", vote.pk, member.name)
    return vote


def _current(member: Membership) -> Vote:
    vote = open_vote_of(member.workshop.pk)
    if vote is None:
        raise ValidationError("No vote is open right now.")
    return vote


def _ballot_box(member: Membership) -> Vote:
    """The open vote, locked for this cast: a person's casts then run one after the
    other, each reading the dots the one before saved (two tabs, or a double click,
    racing for free slots would otherwise pick the same one and be refused)."""
    check_unlocked(member, "vote")
    vote = (Vote.objects.select_for_update()
            .filter(workshop_id=member.workshop.pk, closed_at__isnull=True).first())
    if vote is None:
        raise ValidationError("No vote is open right now.")
    return vote


def cast_dot(member: Membership, recipe_id: int) -> Vote:
    """Put one of my dots on a recipe. Two tabs racing for the last dot: the database's
    constraints let one win and the other gets a clear error."""
    member.require(EDIT)
    try:
        with transaction.atomic():
            vote = _ballot_box(member)
            recipe = Recipe.objects.get(workshop=member.workshop, pk=recipe_id,
                                        private=False)
            if not vote.own_dots and recipe.author == member.person:
                raise ValidationError("In this vote nobody puts dots on a recipe they "
                                      "wrote: spend yours on the others.")
            mine = list(Dot.objects.filter(vote=vote, voter=member.person))
            used = {d.slot for d in mine}
            on_item = {d.item_slot for d in mine if d.recipe_id == recipe.pk}
            slot = min(set(range(1, vote.budget + 2)) - used)
            item_slot = min(set(range(1, vote.per_item + 2)) - on_item)
            Dot.objects.create(vote=vote, voter=member.person, recipe=recipe, slot=slot,
                               item_slot=item_slot, budget=vote.budget,
                               per_item=vote.per_item)
            record_event(member.workshop.pk, Kind.VOTE_CAST, "vote", vote.pk, member.name)
    except IntegrityError:
        raise NoDotsLeft(
            "No dot left for that: you have used your budget, or the most dots one "
            "recipe may take.") from None
    return vote


@transaction.atomic
def retract_dot(member: Membership, recipe_id: int) -> Vote:
    member.require(EDIT)
    vote = _ballot_box(member)
    dot = (Dot.objects.filter(vote=vote, voter=member.person, recipe_id=recipe_id)
           .order_by("-item_slot").first())
    if dot is None:
        raise ValidationError("You have no dot on that recipe.")
    dot.delete()
    record_event(member.workshop.pk, Kind.VOTE_CAST, "vote", vote.pk, member.name)
    return vote


@transaction.atomic
def close_vote(member: Membership) -> Vote:
    """Close the vote, reveal the totals and store the ranking with the session."""
    member.require(FACILITATE)
    vote = Vote.objects.select_for_update().get(pk=_current(member).pk)
    vote.results = tally(vote)
    vote.closed_at = timezone.now()
    vote.save(update_fields=["results", "closed_at"])
    record_event(member.workshop.pk, Kind.VOTE_CLOSED, "vote", vote.pk, member.name)
    return vote

"""Two writes at once keep the board's rules, on PostgreSQL (SQLite runs one write
transaction at a time, so races are PostgreSQL's): a person's item cap, one open vote,
session numbers, the order of a list, grouping against dissolving, "Next phase" pressed
by two facilitators. Where the window between a check and its write is a few statements
wide, the test widens it by slowing a read that sits in it (the code is not changed)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import close_old_connections
from samples import SAMPLES

from sessions import room as room_services
from sessions import services as session_services
from sessions import voting
from sessions.access import Membership
from sessions.models import Participant, Role, WorkshopSession
from workshop import grouping, services
from workshop.models import ItemGroup, ParkingLotItem, Workshop
from workshop.sections import LISTS

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
                       reason="runs in the PostgreSQL pass: the writes race on connections "
                              "of their own, which SQLite's in-memory test database does "
                              "not serve at once"),
]


def at_once(*writes: Callable[[], object], stagger: float = 0.0) -> list[str]:
    """Run the writes on threads of their own, started together (or `stagger` seconds
    apart, in order); what each ended with: "ok" or the exception's class name."""
    start = threading.Barrier(len(writes))
    outcomes = [""] * len(writes)

    def run(index: int, write: Callable[[], object]) -> None:
        start.wait()
        time.sleep(index * stagger)
        try:
            write()
            outcomes[index] = "ok"
        except Exception as error:  # noqa: BLE001 - the outcome is what is asserted
            outcomes[index] = type(error).__name__
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(writes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def slowed(monkeypatch, module, name: str, seconds: float = 0.3) -> None:
    """Make `module.name` (a read) take `seconds` longer, so that a race in the write
    around it is not left to chance."""
    real = getattr(module, name)

    def slow(*args, **kwargs):
        time.sleep(seconds)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


def fresh(member: Membership) -> Membership:
    """The same person with the workshop read again, as each request reads it."""
    workshop = Workshop.objects.get(pk=member.workshop.pk)
    return Membership(workshop, member.role, user=member.user, participant=member.participant)


@pytest.fixture
def pat(live_session, workshop) -> Membership:
    person = Participant.objects.create(session=live_session, display_name="Pat",
                                        function="design", role=Role.PARTICIPANT,
                                        joined_with=live_session.join_token)
    return Membership(workshop, Role.PARTICIPANT, participant=person)


def test_adds_at_once_keep_the_persons_item_cap_and_take_positions_of_their_own(
        settings, monkeypatch, pat, workshop):
    settings.MAX_ITEMS_PER_PERSON = 1
    slowed(monkeypatch, services, "room_for")  # between the count and the insert
    section = LISTS["parking_lot"]
    form = section.form(data=SAMPLES["parking_lot"], workshop=workshop)
    assert form.is_valid()
    outcomes = at_once(*[lambda: services.add_item(fresh(pat), section, form.cleaned_data)
                         for _ in range(3)])
    assert sorted(outcomes) == ["ValidationError", "ValidationError", "ok"]
    assert ParkingLotItem.objects.filter(workshop=workshop, author=pat.person).count() == 1
    outcomes = at_once(*[lambda: services.add_item(fresh(Membership(
        workshop, Role.FACILITATOR, user=workshop.owner)), section, form.cleaned_data)
        for _ in range(3)])
    assert outcomes == ["ok"] * 3
    positions = list(ParkingLotItem.objects.filter(workshop=workshop)
                     .values_list("position", flat=True))
    assert len(set(positions)) == len(positions) == 4


def test_two_votes_opened_at_once_open_one_and_tell_the_other(monkeypatch, host, add):
    add("recipes", title="Nudge")
    slowed(monkeypatch, voting, "room_for")  # between "is a vote open?" and the insert
    outcomes = at_once(lambda: voting.open_vote(fresh(host)),
                       lambda: voting.open_vote(fresh(host)))
    assert sorted(outcomes) == ["ValidationError", "ok"]


def test_sessions_started_at_once_take_the_next_numbers(host, workshop):
    outcomes = at_once(*[lambda: session_services.start_session(fresh(host), "Sitting")
                         for _ in range(4)])
    assert outcomes == ["ok"] * 4
    numbers = sorted(WorkshopSession.objects.filter(workshop=workshop)
                     .values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4]


def order(workshop) -> list[str]:
    return list(ParkingLotItem.objects.filter(workshop=workshop)
                .order_by("position", "pk").values_list("question", flat=True))


def test_a_move_that_waited_on_another_moves_from_the_order_that_one_left(
        monkeypatch, host, add, workshop):
    a, _, c = (add("parking_lot", question=text) for text in "ABC")
    slowed(monkeypatch, services, "record_event", 0.6)  # the first move holds its locks
    section = LISTS["parking_lot"]
    outcomes = at_once(lambda: services.move_item(fresh(host), section, c.pk, -1),
                       lambda: services.move_item(fresh(host), section, a.pk, +1),
                       stagger=0.3)
    assert outcomes == ["ok", "ok"]
    assert order(workshop) == ["C", "A", "B"]  # as one after the other


def test_grouping_into_a_group_while_it_is_dissolved_does_not_deadlock(
        monkeypatch, host, add, workshop):
    section = LISTS["parking_lot"]
    a, b, c = (add("parking_lot", question=text) for text in "ABC")
    group = grouping.group_items(host, section, [a.pk, b.pk], title="Push")
    slowed(monkeypatch, grouping, "_place", 0.6)  # holds the list's rows meanwhile
    outcomes = at_once(
        lambda: grouping.group_items(fresh(host), section, [c.pk], group_id=group.pk),
        lambda: grouping.dissolve_group(fresh(host), section, group.pk), stagger=0.3)
    assert outcomes == ["ok", "ok"]
    assert not ItemGroup.objects.filter(pk=group.pk).exists()
    assert not ParkingLotItem.objects.filter(workshop=workshop, group__isnull=False).exists()


def test_next_phase_pressed_by_two_facilitators_at_once_moves_the_room_once(
        host, workshop):
    room_services.move_room(host, workshop.phases.get(key="kickoff").pk)
    kickoff = workshop.phases.get(key="kickoff").pk
    outcomes = at_once(*[lambda: room_services.step_room(fresh(host), 1, kickoff)
                         for _ in range(2)])
    assert outcomes == ["ok", "ok"]
    workshop.room.refresh_from_db()
    assert workshop.room.current_phase.key == "stakeholders"


def test_a_join_form_sent_twice_at_once_is_one_participant(live_session, workshop):
    from test_membership import join, tapped_twice

    clients = tapped_twice(live_session.join_token)
    outcomes = at_once(*[lambda client=client: join(client, live_session.join_token)
                         for client in clients])
    assert outcomes == ["ok", "ok"]
    assert Participant.objects.filter(session__workshop=workshop).count() == 1


def test_a_refused_write_that_locked_the_board_leaves_its_version(host, workshop):
    """lock_board bumps the version first: a refusal after it rolls the bump back."""
    before = Workshop.objects.get(pk=workshop.pk).version
    with pytest.raises(ValidationError):
        voting.open_vote(fresh(host))  # no recipes to vote on
    assert Workshop.objects.get(pk=workshop.pk).version == before

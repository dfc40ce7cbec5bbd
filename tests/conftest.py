"""Fixtures shared by the suite: people, a workshop, a session and its members."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from samples import SAMPLES
from servers import service_up

from sessions import services as session_services
from sessions.access import Membership
from sessions.models import Role
from workshop import limits, services
from workshop.sections import LISTS


@pytest.fixture(autouse=True)
def no_kept_catch_ups():
    """Each test starts with empty catch-up, PDF and board-card caches (their keys carry
    the board's version, but a test's board may reuse an earlier one's id) and no rate
    limit's counts."""
    from django.core.cache import caches

    caches["catch_up"].clear()
    caches["pdf"].clear()
    caches["board_cards"].clear()
    limits.counters().clear()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def layer(request, settings):
    """The channel layer a consumer test runs on: in memory, and the local Redis server."""
    if request.param == "redis":
        assert service_up(6379), "These tests need the local Redis server on 127.0.0.1:6379."
        settings.CHANNEL_LAYERS = {"default": {
            "BACKEND": "sessions.layer.TwoTripRedisChannelLayer",
            "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:6379/0",
                                  "socket_timeout": None}],
                       "prefix": "attune-test-" + uuid.uuid4().hex[:8]}}}
    return request.param


@pytest.fixture
def facilitator(db):
    return get_user_model().objects.create_user("fran", password="pw-for-tests-only")


@pytest.fixture
def workshop(facilitator):
    return services.create_workshop(facilitator, "Reader app personalization", "Northwind")


@pytest.fixture
def host(workshop, facilitator) -> Membership:
    return Membership(workshop, Role.FACILITATOR, user=facilitator)


@pytest.fixture
def live_session(host):
    return session_services.start_session(host, "Sitting 1")


@pytest.fixture
def add(host):
    """Put one item on the board through the service, as the facilitator."""

    def add(key: str, **overrides):
        section = LISTS[key]
        form = section.form(data=SAMPLES[key] | overrides, workshop=host.workshop)
        assert form.is_valid(), form.errors
        return services.add_item(host, section, form.cleaned_data)

    return add


@pytest.fixture
def facilitator_client(facilitator) -> Client:
    client = Client()
    client.force_login(facilitator)
    return client


def joined_client(session, token: str, name: str, function: str = "product") -> Client:
    client = Client()
    response = client.post(f"/join/{token}/", {"display_name": name, "function": function})
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def participant_client(live_session) -> Client:
    return joined_client(live_session, live_session.join_token, "Pat")


@pytest.fixture
def observer_client(live_session) -> Client:
    return joined_client(live_session, live_session.observer_token, "Olive")


@pytest.fixture
def outsider_client(db) -> Client:
    other = get_user_model().objects.create_user("otto", password="pw-for-tests-only")
    client = Client()
    client.force_login(other)
    return client


@pytest.fixture
def clients(facilitator_client, participant_client, observer_client, outsider_client):
    return {"facilitator": facilitator_client, "participant": participant_client,
            "observer": observer_client, "outsider": outsider_client}


@pytest.fixture
def people(live_session, workshop):
    """Pat and Kim take part (a client and a membership each); Olive observes."""
    found = {}
    for name, token in (("Pat", live_session.join_token), ("Kim", live_session.join_token),
                        ("Olive", live_session.observer_token)):
        client = Client()
        assert client.post(f"/join/{token}/", {"display_name": name,
                                                "function": "design"}).status_code == 302
        person = live_session.participants.get(display_name=name)
        role = Role.OBSERVER if person.role == Role.OBSERVER else Role.PARTICIPANT
        found[name.lower()] = (client, Membership(workshop, role, participant=person))
    return found


@pytest.fixture
def pdf_prints(monkeypatch) -> list[str]:
    """The variant of every real print (HTML to PDF in the renderer's child process)
    made during the test: the print still happens, it is only counted."""
    from exports import pdf

    made: list[str] = []
    real = pdf.render_pdf

    def counted(html: str, variant: str = pdf.ACCESSIBLE) -> pdf.Rendered:
        made.append(variant)
        return real(html, variant)

    monkeypatch.setattr(pdf, "render_pdf", counted)
    return made

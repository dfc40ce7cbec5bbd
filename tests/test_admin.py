"""The admin shows the board read-only: a change there would bypass the services, bump
no version and reach no open page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from workshop.models import Decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db) -> Client:
    user = get_user_model().objects.create_superuser("root", password="pw-for-tests-only")
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_shows_board_content_but_cannot_change_it(admin_client, add, workshop):
    decision = add("decisions")
    listing = admin_client.get("/admin/workshop/decision/")
    assert listing.status_code == 200 and "Start with the home screen" in listing.content.decode()
    page = admin_client.get(f"/admin/workshop/decision/{decision.pk}/change/")
    assert page.status_code == 200 and "Save" not in page.content.decode()
    assert admin_client.get("/admin/workshop/decision/add/").status_code == 403
    refused = admin_client.post(f"/admin/workshop/decision/{decision.pk}/change/",
                                {"decision": "Changed behind the board's back"})
    assert refused.status_code == 403
    assert admin_client.post(f"/admin/workshop/decision/{decision.pk}/delete/",
                             {"post": "yes"}).status_code == 403
    assert Decision.objects.get(pk=decision.pk).decision == "Start with the home screen"
    workshop.refresh_from_db()
    version = workshop.version
    assert admin_client.get(f"/admin/workshop/workshop/{workshop.pk}/change/").status_code == 200
    workshop.refresh_from_db()
    assert workshop.version == version

"""What one edit sends: only what changed, in frames whose size does not grow with the
board (docs/architecture.md, "The event table"): at most EDIT_FRAME_LIMIT bytes per
audience on a board of 200 items in every list, and not more than on a board of 3."""

from __future__ import annotations

import json

import pytest
from page_model import PageModel
from samples import SAMPLES, add_as, prefixed
from test_write_queries import make_board

from sessions.fragments import event_frames
from workshop import services
from workshop.event_kinds import Kind
from workshop.models import BoardEvent, Recipe, Risk
from workshop.sections import LISTS

pytestmark = pytest.mark.django_db

EDIT_FRAME_LIMIT = 8 * 1024
EDITS = {Kind.ITEM_ADDED, Kind.ITEM_UPDATED, Kind.ROADMAP_PLACED, Kind.GATE_OVERRIDDEN}


def edit_every_list(board) -> dict[str, int]:
    """An add and an edit in every list, a placement and an override, over HTTP; the
    largest audience's bytes for each."""
    ws = board.workshop.pk
    recipe = Recipe.objects.filter(workshop_id=ws).order_by("pk").first()
    sent: dict[str, int] = {}

    def post(what: str, url: str, data: dict) -> None:
        response = board.fran.post(url, data)
        assert response.status_code in (201, 204), (what, response.status_code)
        event = BoardEvent.objects.filter(workshop_id=ws).last()
        assert event.kind in EDITS, (what, event.kind)
        sent[what] = max(sum(len(frame) for frame in frames)
                         for frames in event_frames(event).values())

    for key, section in LISTS.items():
        post(f"add {key}", f"/w/{ws}/s/{key}/add/", prefixed(SAMPLES[key], f"add-{key}"))
        item = section.model.objects.filter(workshop_id=ws).order_by("pk").first()
        post(f"edit {key}", f"/w/{ws}/s/{key}/{item.pk}/edit/",
             prefixed(SAMPLES[key], f"{key}-{item.pk}") | {"version": item.version})
    post("place a recipe", f"/w/{ws}/roadmap/{recipe.pk}/",
         {f"roadmap-{recipe.pk}-phase": "next", f"roadmap-{recipe.pk}-owner": "Growth",
          "version": Recipe.objects.get(pk=recipe.pk).version})
    post("override a gate", f"/w/{ws}/roadmap/{recipe.pk}/override/", {"reason": "Pilot"})
    return sent


@pytest.mark.slow
def test_an_edits_frames_stay_small_and_do_not_grow_with_the_board():
    small = edit_every_list(make_board(3)[0])
    big = edit_every_list(make_board(200)[0])
    over = {what: size for what, size in big.items() if size > EDIT_FRAME_LIMIT}
    assert over == {}, f"edits over {EDIT_FRAME_LIMIT} bytes on a 200-item board: {over}"
    # A few bytes more for longer ids and numbers, never another item's card.
    grew = {what: (small[what], size) for what, size in big.items()
            if size > small[what] + 200}
    assert grew == {}, f"frames that grew with the board (3 items, 200 items): {grew}"


def test_a_risk_edit_that_moves_its_link_redraws_both_recipes_and_no_list(
        host, facilitator_client, workshop):
    ready = add_as(host, "data_sources", completeness="good")
    first = add_as(host, "recipes", title="First", data_sources=[ready.pk])
    second = add_as(host, "recipes", title="Second", data_sources=[ready.pk])
    add_as(host, "recipes", title="Untouched")
    risk = add_as(host, "risks", recipes=[first.pk], likelihood="5", severity="5")
    before = PageModel.from_html(facilitator_client.get(f"/w/{workshop.pk}/").content.decode())
    assert "gate-blocked" in before.items[f"roadmap-{first.pk}"]

    services.update_item(host, LISTS["risks"], risk.pk,
                         {"recipes": [Recipe.objects.get(pk=second.pk)]}, risk.version)
    event = BoardEvent.objects.filter(workshop=workshop).last()
    assert event.unlinked == [first.pk]
    frames = [json.loads(text) for text in event_frames(event)["facilitators"]]
    ops = [op for frame in frames for op in frame["ops"]]
    ids = {op.get("id") for op in ops}
    assert {f"recipes-{first.pk}", f"recipes-{second.pk}", f"roadmap-{first.pk}",
            f"roadmap-{second.pk}", f"risks-{risk.pk}"} <= ids
    assert not any(op["op"] == "order" for op in ops), "no list was redrawn whole"
    assert not any("Untouched" in op.get("html", "") for op in ops)
    assert event.version == before.version + 1
    for frame in frames:
        before.receive(json.dumps(frame))
    after = PageModel.from_html(facilitator_client.get(f"/w/{workshop.pk}/").content.decode())
    assert before.differences(after) == []
    assert "gate-blocked" not in after.items[f"roadmap-{first.pk}"]
    assert Risk.objects.get(pk=risk.pk).recipes.get() == Recipe.objects.get(pk=second.pk)

"""Bad input gets a form error and saves nothing; hostile text is shown escaped."""

import pytest
from django import forms
from samples import SAMPLES, TITLE_FIELD, prefixed

from workshop.sections import LISTS

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
SCORES = {"recipes": ("impact", "effort"), "risks": ("likelihood", "severity")}


def text_fields(key: str) -> list[str]:
    form = LISTS[key].form.base_fields
    return [name for name, field in form.items()
            if type(field) is forms.CharField]


def post_add(client, workshop, key, data):
    return client.post(f"/w/{workshop.pk}/s/{key}/add/", prefixed(data, f"add-{key}"))


@pytest.mark.parametrize("key", list(LISTS))
def test_missing_required_field_is_a_form_error(facilitator_client, workshop, key):
    data = dict(SAMPLES[key])
    del data[TITLE_FIELD[key]]
    response = post_add(facilitator_client, workshop, key, data)
    assert response.status_code == 422
    assert response["HX-Retarget"] == f"#add-{key}"
    assert "This field is required" in response.content.decode()
    assert not LISTS[key].model.objects.exists()


@pytest.mark.parametrize(("key", "field"), [(k, f) for k, fs in SCORES.items() for f in fs])
@pytest.mark.parametrize("score", ["0", "6", "-1", "2.5", "high"])
def test_out_of_range_score_is_a_form_error(facilitator_client, workshop, key, field, score):
    response = post_add(facilitator_client, workshop, key, SAMPLES[key] | {field: score})
    assert response.status_code == 422
    assert not LISTS[key].model.objects.exists()


@pytest.mark.parametrize("key", list(LISTS))
def test_ten_thousand_characters_are_refused(facilitator_client, workshop, key):
    data = SAMPLES[key] | {name: "x" * 10_000 for name in text_fields(key)}
    response = post_add(facilitator_client, workshop, key, data)
    assert response.status_code == 422
    assert "Ensure this value has at most" in response.content.decode()
    assert not LISTS[key].model.objects.exists()


def test_bad_edit_keeps_what_was_saved(facilitator_client, workshop, add):
    item = add("recipes")
    data = prefixed(SAMPLES["recipes"] | {"impact": "9", "title": "Changed"},
                    f"recipes-{item.pk}") | {"version": "1"}
    response = facilitator_client.post(f"/w/{workshop.pk}/s/recipes/{item.pk}/edit/", data)
    assert response.status_code == 422
    assert 'value="Changed"' in response.content.decode()  # the draft stays in the form
    item.refresh_from_db()
    assert (item.title, item.impact, item.version) == ("Finish-the-series nudge", 4, 1)


@pytest.mark.parametrize("key", list(LISTS))
def test_html_in_every_text_field_is_rendered_escaped(facilitator_client, workshop, key):
    data = SAMPLES[key] | {name: HOSTILE for name in text_fields(key)}
    response = post_add(facilitator_client, workshop, key, data)
    assert response.status_code == 201, response.content
    for html in (facilitator_client.get(response["Location"]).content.decode(),
                 facilitator_client.get(f"/w/{workshop.pk}/").content.decode()):
        assert HOSTILE not in html
        assert "<script>alert" not in html
        assert ESCAPED in html


def test_hostile_names_and_titles_are_escaped_on_every_page(
    client, facilitator_client, live_session, workshop, host
):
    from workshop import services

    services.update_north_star(host, {"objective": HOSTILE, "why_now": HOSTILE,
                                      "start_area": HOSTILE}, 1)
    client.post(f"/join/{live_session.join_token}/",
                {"display_name": HOSTILE[:80], "function": "other"})
    workshop.title = HOSTILE
    workshop.save()
    pages = [f"/w/{workshop.pk}/", f"/w/{workshop.pk}/sessions/", "/"]
    for url in pages:
        html = facilitator_client.get(url).content.decode()
        assert "<script>alert" not in html, url
    participant_view = client.get(f"/w/{workshop.pk}/").content.decode()
    assert "<script>alert" not in participant_view


def test_bad_workshop_form_is_an_error(facilitator_client):
    response = facilitator_client.post("/w/new/", {"title": "", "method": "prepersonalization"})
    assert response.status_code == 422
    response = facilitator_client.post("/w/new/", {"title": "X", "method": "nope"})
    assert response.status_code == 422
    from workshop.models import Workshop
    assert not Workshop.objects.exists()

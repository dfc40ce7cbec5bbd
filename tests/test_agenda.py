"""The method's agenda: a template kept as data, which the facilitator can adapt."""

import json

import pytest

from workshop.methods import METHODS_DIR, all_methods, get_method

EXPECTED_PHASES = ["kickoff", "stakeholders", "landscape", "goals", "data-readiness",
                   "recipes", "ethics", "prioritize", "roadmap", "decisions"]


def test_new_workshop_gets_the_templates_phases_in_order(workshop):
    phases = list(workshop.phases.all())
    assert [p.key for p in phases] == EXPECTED_PHASES
    assert all(p.minutes > 0 and p.prompt for p in phases)
    pitfalls = " ".join(" ".join(p.pitfalls) for p in phases).lower()
    for warning in ["overambitious scope", "ignoring data quality", "misaligned stakeholders",
                    "skipping user testing"]:
        assert warning in pitfalls


def test_every_phase_shows_on_the_board_with_its_prompt(facilitator_client, workshop):
    html = facilitator_client.get(f"/w/{workshop.pk}/").content.decode()
    for phase in workshop.phases.all():
        assert f'id="phase-{phase.key}"' in html
        assert phase.title in html


def test_another_template_is_a_new_file_not_new_code(tmp_path, monkeypatch):
    method = json.loads((METHODS_DIR / "prepersonalization.json").read_text())
    method |= {"key": "short", "title": "Short version", "phases": method["phases"][:3]}
    (tmp_path / "short.json").write_text(json.dumps(method))
    (tmp_path / "prepersonalization.json").write_text(
        (METHODS_DIR / "prepersonalization.json").read_text())
    monkeypatch.setattr("workshop.methods.METHODS_DIR", tmp_path)
    all_methods.cache_clear()
    try:
        assert [p.key for p in get_method("short").phases] == EXPECTED_PHASES[:3]
    finally:
        all_methods.cache_clear()


def test_facilitator_edits_a_timebox_and_skips_a_phase(facilitator_client, workshop):
    phase = workshop.phases.get(key="landscape")
    response = facilitator_client.post(f"/w/{workshop.pk}/agenda/{phase.pk}/",
                                       {"minutes": "35", "skipped": "on"})
    assert response.status_code == 204
    phase.refresh_from_db()
    assert (phase.minutes, phase.skipped) == (35, True)
    assert "35 min" in facilitator_client.get(f"/w/{workshop.pk}/").content.decode()


@pytest.mark.parametrize("minutes", ["0", "-5", "481", "ten", ""])
def test_bad_timebox_is_refused_and_keeps_the_old_one(facilitator_client, workshop, minutes):
    phase = workshop.phases.get(key="goals")
    response = facilitator_client.post(f"/w/{workshop.pk}/agenda/{phase.pk}/",
                                       {"minutes": minutes})
    assert response.status_code == 400
    assert response.content  # said in the page's alert area
    phase.refresh_from_db()
    assert phase.minutes == 15


def test_facilitator_reorders_phases(facilitator_client, workshop):
    ethics = workshop.phases.get(key="ethics")
    facilitator_client.post(f"/w/{workshop.pk}/agenda/{ethics.pk}/move/", {"direction": "up"})
    keys = list(workshop.phases.values_list("key", flat=True))
    assert keys.index("ethics") == keys.index("recipes") - 1
    first = workshop.phases.first()
    facilitator_client.post(f"/w/{workshop.pk}/agenda/{first.pk}/move/", {"direction": "up"})
    assert workshop.phases.first() == first  # the first phase cannot go earlier


@pytest.mark.parametrize("role", ["participant", "observer"])
def test_only_the_facilitator_changes_the_agenda(clients, workshop, role):
    phase = workshop.phases.get(key="goals")
    url = f"/w/{workshop.pk}/agenda/{phase.pk}/"
    assert clients[role].post(url, {"minutes": "99"}).status_code == 403
    assert clients[role].post(url + "move/", {"direction": "up"}).status_code == 403
    phase.refresh_from_db()
    assert phase.minutes == 15 and phase.position == 3


def test_moving_a_phase_of_another_workshop_is_404(facilitator_client, facilitator, workshop):
    from workshop import services

    other = services.create_workshop(facilitator, "Other").phases.first()
    url = f"/w/{workshop.pk}/agenda/{other.pk}/move/"
    assert facilitator_client.post(url, {"direction": "down"}).status_code == 404

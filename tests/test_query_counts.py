"""The board page reads in a fixed number of queries however big the board grows."""

import pytest
from django.core.cache import caches

from workshop.models import (
    ActionItem,
    DataSource,
    Decision,
    ExampleInteraction,
    Goal,
    ParkingLotItem,
    Recipe,
    Risk,
    Stakeholder,
)


def fill(workshop, n: int) -> None:
    """n items in every list, linked the way real boards are."""
    w = {"workshop": workshop}
    sources = DataSource.objects.bulk_create(
        DataSource(name=f"Source {i}", party="first", consent_basis="Contract", **w)
        for i in range(n))
    goals = Goal.objects.bulk_create(
        Goal(metric=f"Metric {i}", data_source=sources[i], **w) for i in range(n))
    recipes = Recipe.objects.bulk_create(
        Recipe(title=f"Recipe {i}", segment="s", action="a", content_model="alert",
               kind="automation", impact=1 + i % 5, effort=1 + (i * 3) % 5,
               success_metric=goals[i], phase=["", "now", "next", "later"][i % 4], **w)
        for i in range(n))
    risks = Risk.objects.bulk_create(
        Risk(risk=f"Risk {i}", category="privacy", likelihood=4, severity=4, **w)
        for i in range(n))
    for i, recipe in enumerate(recipes):
        recipe.data_sources.set(sources[i:i + 2])
        risks[i].recipes.set([recipe])
    Stakeholder.objects.bulk_create(
        Stakeholder(name=f"Person {i}", function="data", **w) for i in range(n))
    ExampleInteraction.objects.bulk_create(
        ExampleInteraction(what=f"Example {i}", sentiment="admire", **w) for i in range(n))
    Decision.objects.bulk_create(Decision(decision=f"Decision {i}", **w) for i in range(n))
    ActionItem.objects.bulk_create(ActionItem(action=f"Action {i}", **w) for i in range(n))
    ParkingLotItem.objects.bulk_create(ParkingLotItem(question=f"Q {i}", **w) for i in range(n))


def count_board_queries(client, workshop, django_assert_max_num_queries, limit):
    """The queries of the page as the first person at this board version sees it: every
    card drawn, none kept (and `fill` writes past the services: the version stays)."""
    caches["board_cards"].clear()
    with django_assert_max_num_queries(limit) as captured:
        response = client.get(f"/w/{workshop.pk}/")
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("role", ["facilitator", "participant"])
@pytest.mark.slow
def test_board_queries_do_not_grow_with_the_board(clients, workshop,
                                                  django_assert_max_num_queries, role):
    fill(workshop, 3)
    small = count_board_queries(clients[role], workshop, django_assert_max_num_queries, 40)
    fill(workshop, 200)
    large = count_board_queries(clients[role], workshop, django_assert_max_num_queries, small)
    assert large == small
    html = clients[role].get(f"/w/{workshop.pk}/").content.decode()
    assert "Recipe 199" in html and "Q 199" in html

"""Workshops for the export tests and the PDF benchmark, built through the services.

`large_workshop` is the benchmark's "large" roadmap (60 recipes, 25 risks, 20 data
sources, 15 stakeholders); `huge_workshop` writes rows straight to the database,
because its 10,000-character fields are longer than the forms allow.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model

from sessions.access import Membership
from sessions.models import Role
from workshop import services
from workshop.choices import (
    ContentModel,
    Function,
    Intent,
    Level,
    Party,
    Quality,
    RecipeKind,
    RiskAction,
    RiskCategory,
    RiskStatus,
    RoadmapPhase,
    ScopeLevel,
)
from workshop.models import Recipe, Workshop
from workshop.sections import LISTS

SEGMENTS = [
    "new subscribers in their first month",
    "lapsed readers",
    "annual-plan members",
    "family-plan households",
    "commuters who listen offline",
    "students on a discount",
]
TOUCHPOINTS = [
    "Home screen",
    "Lifecycle email",
    "End-of-book screen",
    "Search results",
    "Push notification",
    "Settings",
]
OWNERS = [
    "Priya Raman",
    "Tomás Alvarez",
    "Mei Chen",
    "Hannah Brooks",
    "Olu Adeyemi",
    "Marcus Bell",
    "Sofia Lindqvist",
    "Jonas Weber",
]
WORDS = [
    "reader",
    "signal",
    "format",
    "shelf",
    "audio",
    "habit",
    "churn",
    "series",
    "topic",
    "catalogue",
    "renewal",
    "privacy",
    "consent",
    "holdout",
    "experiment",
    "metric",
    "cohort",
    "device",
    "offline",
    "sync",
]


def make_user(username: str = "facilitator", **extra: Any):
    return get_user_model().objects.create_user(username, password="pw-for-tests-only", **extra)


def host(workshop: Workshop) -> Membership:
    return Membership(workshop, Role.FACILITATOR, user=workshop.owner)


def add(workshop: Workshop, key: str, **data: Any):
    return services.add_item(host(workshop), LISTS[key], data)


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def large_workshop(
    user,
    *,
    recipes: int = 60,
    risks: int = 25,
    sources: int = 20,
    stakeholders: int = 15,
    seed: int = 7,
) -> Workshop:
    """A big, fully filled board: every section, every field, deterministic."""
    rng = random.Random(seed)
    workshop = services.create_workshop(
        user, f"Large roadmap ({recipes} recipes)", "Northwind Media"
    )
    member = host(workshop)
    services.update_north_star(
        member,
        {
            "objective": "Help every subscriber find their next great read in under a minute.",
            "scope_level": ScopeLevel.EXPERIENCE,
            "why_now": sentence(rng, 40),
            "start_area": "The Home screen for new subscribers",
        },
        None,
    )
    functions = list(Function.values)
    for index in range(stakeholders):
        add(
            workshop,
            "stakeholders",
            name=f"{rng.choice(OWNERS)} #{index + 1}",
            function=functions[index % len(functions)],
            internal_customer=index % 3 == 0,
            influence=rng.choice(Level.values),
            desired_outcome=sentence(rng, 18),
            concerns=sentence(rng, 14),
        )
    qualities = list(Quality.values)
    made_sources = []
    for index in range(sources):
        made_sources.append(
            add(
                workshop,
                "data_sources",
                name=f"Source {index + 1}: {rng.choice(WORDS)} events",
                system_of_record="Warehouse",
                party=rng.choice(Party.values),
                consent_basis="" if index % 5 == 4 else "Contract",
                owner=rng.choice(OWNERS),
                accessibility=rng.choice(qualities),
                completeness=rng.choice(qualities),
                accuracy=rng.choice(qualities),
                timeliness=rng.choice(qualities),
                consistency=rng.choice(qualities),
                notes=sentence(rng, 25),
                evidence=sentence(rng, 15),
            )
        )
    goals = [
        add(
            workshop,
            "goals",
            metric=f"Goal {index + 1}: {sentence(rng, 5)}",
            baseline="41%",
            target="50%",
            timeframe="By Q3",
            data_source=made_sources[index],
        )
        for index in range(5)
    ]
    made_recipes = []
    for index in range(recipes):
        made_recipes.append(
            add(
                workshop,
                "recipes",
                title=f"Recipe {index + 1}: {sentence(rng, 4)[:-1]}",
                segment=rng.choice(SEGMENTS),
                context=sentence(rng, 6)[:-1].lower(),
                action=sentence(rng, 16)[:-1].lower(),
                touchpoint=rng.choice(TOUCHPOINTS),
                content_model=rng.choice(ContentModel.values),
                kind=rng.choice(RecipeKind.values),
                data_sources=rng.sample(made_sources, 2),
                success_metric=rng.choice(goals),
                impact=rng.randint(1, 5),
                effort=rng.randint(1, 5),
            )
        )
    for index in range(risks):
        add(
            workshop,
            "risks",
            risk=f"Risk {index + 1}: {sentence(rng, 6)[:-1]}",
            category=rng.choice(RiskCategory.values),
            affected=sentence(rng, 5),
            intent=rng.choice(Intent.values),
            likelihood=rng.randint(1, 5),
            severity=rng.randint(1, 5),
            action=rng.choice(RiskAction.values),
            mitigation="" if index % 4 == 0 else sentence(rng, 20),
            user_control=sentence(rng, 6),
            owner=rng.choice(OWNERS),
            status=rng.choice(RiskStatus.values),
            recipes=rng.sample(made_recipes, 2),
        )
    phases = [RoadmapPhase.NOW, RoadmapPhase.NEXT, RoadmapPhase.LATER, RoadmapPhase.UNPLANNED]
    for index, recipe in enumerate(made_recipes):
        recipe = Recipe.objects.get(pk=recipe.pk)
        phase = phases[index % 4]
        if phase == RoadmapPhase.NOW and not recipe.may_enter_now():
            services.override_gate(member, recipe.pk, sentence(rng, 20))
        services.place_on_roadmap(
            member,
            recipe.pk,
            {
                "phase": phase,
                "owner": rng.choice(OWNERS),
                "exit_metric": sentence(rng, 8),
                "dependencies": f"{sentence(rng, 6)}\n{sentence(rng, 5)}",
            },
            None,
        )
    for index in range(8):
        add(
            workshop,
            "decisions",
            decision=f"Decision {index + 1}: {sentence(rng, 8)}",
            rationale=sentence(rng, 25),
        )
    today = date(2026, 11, 1)
    for index in range(10):
        add(
            workshop,
            "action_items",
            action=f"Action {index + 1}: {sentence(rng, 8)}",
            owner=rng.choice(OWNERS),
            due_date=today + timedelta(days=7 * index),
            done=index % 3 == 0,
        )
    for index in range(6):
        add(
            workshop,
            "parking_lot",
            question=f"Question {index + 1}: {sentence(rng, 8)}",
            notes=sentence(rng, 12),
        )
    workshop.refresh_from_db()
    return workshop


def huge_workshop(user, *, recipes: int = 500, text: int = 10_000) -> Workshop:
    """Far past what a person types: rows written directly, fields `text` long."""
    from workshop.models import DataSource, Risk

    workshop = services.create_workshop(user, "Huge workshop", "Stress test")
    filler = ("A very long field that keeps going and going. " * (text // 45 + 1))[:text]
    source = DataSource.objects.create(
        workshop=workshop,
        name="Everything",
        party=Party.FIRST,
        consent_basis="Contract",
        notes=filler,
    )
    made = Recipe.objects.bulk_create(
        Recipe(
            workshop=workshop,
            position=index,
            title=f"Huge recipe {index}",
            segment="everyone",
            action=filler,
            content_model=ContentModel.ENRICH,
            kind=RecipeKind.AUTOMATION,
            impact=1 + index % 5,
            effort=1 + (index // 5) % 5,
            phase=RoadmapPhase.NEXT,
            owner="Somebody",
            dependencies=filler,
        )
        for index in range(recipes)
    )
    Recipe.data_sources.through.objects.bulk_create(
        Recipe.data_sources.through(recipe_id=recipe.pk, datasource_id=source.pk) for recipe in made
    )
    Risk.objects.bulk_create(
        Risk(
            workshop=workshop,
            position=index,
            risk=f"Risk {index}",
            category="privacy",
            likelihood=4,
            severity=4,
            mitigation=filler,
        )
        for index in range(50)
    )
    return workshop


def joined(token: str, name: str, function: str = "product"):
    """A browser that came in by a join or observer link."""
    from django.test import Client

    client = Client()
    response = client.post(f"/join/{token}/", {"display_name": name, "function": function})
    assert response.status_code == 302, response.content[:300]
    return client


def signed_in(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def small_workshop(user) -> Workshop:
    """The small, real workshop of issue 14: two recipes (one with no data source), one
    risk, one data source, one interaction, two people in the room, one closed vote in
    which Pat put both his dots on one recipe."""
    from sessions import services as room
    from sessions import voting
    from sessions.models import Participant

    workshop = services.create_workshop(user, "Checkout personalization", "Northwind")
    member = host(workshop)
    services.update_north_star(
        member,
        {"objective": "Fewer abandoned baskets for returning customers.",
         "scope_level": ScopeLevel.FEATURE, "why_now": "Basket abandonment rose to 71%.",
         "start_area": "The basket page"},
        None,
    )
    session = room.start_session(member, "Kickoff")
    pat = room.join_session(session.join_token, "Pat Lee", Function.PRODUCT)
    room.join_session(session.join_token, "Kim Osei", Function.LEGAL)
    add(workshop, "interactions", what="Spotify's Discover Weekly",
        where_seen="Spotify app", sentiment="admire", pattern="Fresh picks every Monday")
    orders = add(workshop, "data_sources", name="Order history", party=Party.FIRST,
                 consent_basis="Contract", owner="Data team",
                 **{q: Quality.GOOD for q in ("accessibility", "completeness", "accuracy",
                                              "timeliness", "consistency")})
    reminder = add(workshop, "recipes", title="Basket reminder", segment="returning customers",
                   context="who left a basket", action="remind them by email",
                   touchpoint="Email", content_model=ContentModel.ALERT,
                   kind=RecipeKind.PERSONALIZATION, data_sources=[orders], impact=4, effort=2)
    bundles = add(workshop, "recipes", title="Bundle suggestions", segment="new customers",
                  context="on the basket page", action="suggest a matching bundle",
                  touchpoint="Basket page", content_model=ContentModel.CROSS_SELL,
                  kind=RecipeKind.AUTOMATION, impact=3, effort=4)
    add(workshop, "risks", risk="Reminders feel like nagging", category=RiskCategory.CREEPINESS,
        intent=Intent.UNINTENDED, likelihood=3, severity=2, action=RiskAction.MONITOR,
        mitigation="At most one reminder per basket", status=RiskStatus.OPEN,
        recipes=[reminder])
    services.place_on_roadmap(member, reminder.pk, {"phase": RoadmapPhase.NOW,
                                                    "owner": "Pat Lee"}, None)
    voting.open_vote(member, budget=2, per_item=2)
    assert isinstance(pat, Participant)
    voter = Membership(workshop, Role.PARTICIPANT, participant=pat)
    voting.cast_dot(voter, reminder.pk)
    voting.cast_dot(voter, reminder.pk)
    voting.close_vote(member)
    add(workshop, "decisions", decision="Start with the basket reminder",
        rationale="Ready data and a clear metric")
    del bundles
    workshop.refresh_from_db()
    return workshop

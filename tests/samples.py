"""Form data for one item of each list, as a person would type it."""

# Valid form data for one item of each list, as a person would type it.
SAMPLES: dict[str, dict[str, str]] = {
    "stakeholders": {"name": "Priya Shah", "function": "data", "influence": "high",
                     "desired_outcome": "One customer profile", "concerns": "Consent debt"},
    "interactions": {"what": "Weekly digest that knows my authors", "where_seen": "Email",
                     "sentiment": "admire", "pattern": "Recency x affinity"},
    "goals": {"metric": "90-day retention", "baseline": "61%", "target": "66%",
              "timeframe": "Q3"},
    "data_sources": {"name": "Reading history", "system_of_record": "Events warehouse",
                     "party": "first", "consent_basis": "Contract", "owner": "Data platform",
                     "accessibility": "good", "completeness": "fair", "accuracy": "good",
                     "timeliness": "good", "consistency": "good"},
    "recipes": {"title": "Finish-the-series nudge", "segment": "Readers who stopped mid-series",
                "context": "on a weekday evening", "action": "suggest the next book",
                "touchpoint": "Home screen", "content_model": "make_easier",
                "kind": "personalization", "impact": "4", "effort": "2"},
    "risks": {"risk": "Nudges feel like surveillance", "category": "creepiness",
              "affected": "Light readers", "intent": "unintended", "likelihood": "3",
              "severity": "3", "action": "act", "status": "open"},
    "decisions": {"decision": "Start with the home screen", "rationale": "Most traffic"},
    "action_items": {"action": "Audit consent records", "owner": "Legal",
                     "due_date": "2026-12-15"},
    "parking_lot": {"question": "Do we personalize push notifications?"},
}
# The first required text field of each list: where the tests put hostile text.
TITLE_FIELD = {
    "stakeholders": "name", "interactions": "what", "goals": "metric", "data_sources": "name",
    "recipes": "title", "risks": "risk", "decisions": "decision", "action_items": "action",
    "parking_lot": "question",
}


def prefixed(data: dict[str, str], prefix: str) -> dict[str, str]:
    return {f"{prefix}-{name}": value for name, value in data.items()}


def add_as(member, key: str, **overrides):
    """Put one item on the board through the service, as `member`, from the sample."""
    from workshop import services
    from workshop.sections import LISTS

    section = LISTS[key]
    form = section.form(data=SAMPLES[key] | overrides, workshop=member.workshop)
    assert form.is_valid(), form.errors
    return services.add_item(member, section, form.cleaned_data)

"""The roadmap as Markdown, for wikis: the PDF's structure, from the same context.

User text is escaped for Markdown, so that a title such as `<img src=x>` or
`**bold**` shows as typed in a wiki instead of turning into markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.dateformat import format as date_format

from workshop.profiler import percent
from workshop.words import counted, listed

from .context import RecipeRow, Roadmap

_INLINE = re.compile(r"([\\`*_\[\]<>|{}])")
# What starts a heading, a list item or a numbered item at the start of a line.
_LINE_START = re.compile(r"^(\s*)(#{1,6}(?=\s|$)|[-+](?=\s)|\d{1,9}[.)](?=\s|$))", re.MULTILINE)


def _escape_marker(match: re.Match) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[0].isdigit():  # "1." -> "1\." (a backslash before a digit would show)
        return f"{indent}{marker[:-1]}\\{marker[-1]}"
    return f"{indent}\\{marker}"


def esc(value: object) -> str:
    """User text, safe inside a Markdown paragraph or table cell."""
    text = _INLINE.sub(r"\\\1", str(value or ""))
    return _LINE_START.sub(_escape_marker, text)


def cell(value: object) -> str:
    """User text for a table cell: one line."""
    return " / ".join(line.strip() for line in esc(value).splitlines() if line.strip()) or "—"


def table(head: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def paragraph(value: object) -> str:
    """Multi-line user text as one Markdown paragraph with hard line breaks."""
    return "  \n".join(line.rstrip() for line in esc(value).splitlines())


def _statement(recipe: RecipeRow) -> str:
    text = f"If {recipe.segment}"
    if recipe.context:
        text += f", and {recipe.context}"
    text += f", then {recipe.action}"
    if recipe.touchpoint:
        text += f" (at {recipe.touchpoint})"
    return esc(text)


def _recipe(recipe: RecipeRow) -> list[str]:
    lines = [f"#### {recipe.rank}. {esc(recipe.title)}", "", _statement(recipe), ""]
    if recipe.group:
        lines.append(f"- **Group:** {esc(recipe.group)}")
    lines.append(f"- **Owner:** {esc(recipe.owner) or 'not assigned'}")
    lines.append(f"- **Exit metric:** {esc(recipe.exit_metric) or 'not set'}")
    sources = "; ".join(f"{esc(s.name)} ({s.readiness})" for s in recipe.data_sources)
    lines.append(f"- **Data sources:** {sources or 'none linked'}")
    if recipe.success_metric:
        lines.append(f"- **Success metric:** {esc(recipe.success_metric)}")
    if recipe.dependencies:
        lines.append("- **Depends on:** " + "; ".join(esc(d) for d in recipe.dependencies))
    gate = recipe.gate_label
    if recipe.gate_summary:
        gate += f" ({recipe.gate_summary})"
    lines.append(f"- **Readiness gate:** {gate}")
    if recipe.gate == "overridden":
        who = f" by {esc(recipe.override_by)}" if recipe.override_by else ""
        when = f" on {date_format(recipe.override_at, 'j M Y')}" if recipe.override_at else ""
        lines.append(f"- **Override{who}{when}:** {cell(recipe.override_reason)}")
    lines.append(f"- **Risks:** {esc(recipe.risk_label)}")
    return lines + [""]


def _title(r: Roadmap) -> list[str]:
    organisation = f" · {esc(r.organisation)}" if r.organisation else ""
    return [
        f"# {esc(r.title)}",
        "",
        f"*Personalization roadmap*{' · round ' + str(r.round) if r.round > 1 else ''}"
        f"{organisation}"
        f" · prepared {date_format(r.generated_at, 'j F Y')}",
        "",
    ]


def _cover(r: Roadmap) -> list[str]:
    """Cover: North Star and the people."""
    out: list[str] = []
    out += ["## North Star", ""]
    if r.scope_level:
        out += [f"**Scope:** {esc(r.scope_level)} level", ""]
    out += [paragraph(r.objective) or "*No North Star written yet.*", ""]
    if r.start_area:
        out += [f"**Where we start:** {esc(r.start_area)}", ""]
    sessions = "; ".join(
        f"{date_format(s.started, 'j F Y')} · {esc(s.title) or f'Session {s.number}'}"
        for s in r.sessions
    )
    out += [
        f"- **Facilitator:** {esc(r.facilitator)}" + (
            f", with {', '.join(esc(n) for n in r.cofacilitators)} (co-facilitating)"
            if r.cofacilitators else ""),
        f"- **Sessions:** {sessions or 'prepared before any live session'}",
    ]
    if r.attendees:
        out.append(f"- **Took part:** {counted(r.people, 'person|people')} joined by link ("
                   + ", ".join(f"{esc(g.function)} {len(g.names)}" for g in r.attendees) + ")")
    for group in r.attendees:
        out.append(f"- **{esc(group.function)}:** {', '.join(esc(n) for n in group.names)}")
    if r.board_url:
        out.append(f"- **Board:** <{r.board_url}>")
    out += [f"- **Method:** {esc(r.method_title)}", ""]
    return out


def _changes(r: Roadmap) -> list[str]:
    """Round 2 and later: what changed since the round before."""
    c = r.changes
    if c is None:
        return []
    out = [f"## What changed since round {c.previous_round}", "",
           f"*Compared with the board of round {c.previous_round} "
           f"({date_format(c.previous_date, 'j F Y')}), item by item.*", ""]
    if c.nothing:
        out += [f"Nothing changed on the board since round {c.previous_round}.", ""]
    for title, things in (("Recipes added", c.added), ("Recipes dropped", c.dropped),
                          ("Actions done", c.actions_done)):
        if things:
            out += [f"### {title} ({len(things)})", ""] + [f"- {esc(t)}" for t in things] + [""]
    for title, moves in (("Recipes moved on the roadmap", c.moved), ("Data readiness", c.readiness),
                         ("Risks closed", c.risks_closed)):
        if moves:
            out += [f"### {title}", ""]
            out += [f"- **{esc(m.title)}**"
                    + (f" {'improved' if m.better else 'worsened'}" if moves is c.readiness else "")
                    + f": {m.before} → {m.after}" for m in moves] + [""]
    return out


def _summary(r: Roadmap) -> list[str]:
    """Executive summary."""
    out: list[str] = []
    out += ["## Executive summary", ""]
    if r.objective:
        out += [paragraph(r.objective), ""]
    if r.why_now:
        out += [f"**Why now.** {paragraph(r.why_now)}", ""]
    s = r.stats
    out += [
        f"{counted(s['recipes'], 'recipe')} considered · {s['now']} in “now” · "
        f"{s['ready_sources']}/{counted(s['sources'], 'data source')} ready · "
        f"{counted(s['unmitigated_risks'], 'unmitigated high risk')} · "
        f"{counted(s['open_actions'], 'open action item')}",
        "",
    ]
    if r.vote:
        out += [f"{counted(r.vote.voters, 'person|people')} voted in the latest vote, "
                f"{counted(r.vote.dots, 'dot')} in all ({counted(r.vote.budget, 'dot')} each).",
                ""]
    if r.not_covered:
        out += ["**Not covered in this workshop:** nothing was recorded for "
                + listed(r.not_covered) + ".", ""]
    if len(r.recipes) > 1:
        out += [f"### Top {counted(len(r.top_recipes), 'recipe')} by priority", ""]
    elif r.recipes:
        out += ["### The recipe", ""]
    for recipe in r.top_recipes:
        out.append(
            f"{recipe.rank}. **{esc(recipe.title)}** — {recipe.phase_short}; "
            f"{recipe.gate_label.lower()}; {esc(recipe.risk_label).lower()}; "
            f"{recipe.quadrant_label.lower()} (impact {recipe.impact}, "
            f"effort {recipe.effort})"
        )
    out += [""] if r.top_recipes else []
    if r.recipe_groups:
        out += ["### Groups of similar recipes", ""]
        out += [f"- **{esc(g.title)}**: recipes {', '.join(str(n) for n in g.ranks)}"
                + (f" ({counted(g.votes, 'dot')})" if g.votes is not None
                   else "") for g in r.recipe_groups]
        out.append("")
    if r.decisions:
        out += ["### Key decisions", ""]
        out += [f"- **{esc(d.decision)}**" for d in r.decisions[:4]]
        out.append("")
    return out


def _heading(r: Roadmap, anchor: str) -> list[str]:
    """A part's heading with what it holds: "## Ethics and bias register (1 risk)"."""
    part = next(part for part in r.parts if part.anchor == anchor)
    return [f"## {part.title} ({part.summary})", ""]


def _interactions(r: Roadmap) -> list[str]:
    """The landscape of connected experience."""
    if not r.interactions:
        return []
    out = _heading(r, "interactions")
    out += table(
        ["Experience", "Where seen", "Verdict", "Pattern behind it", "Group"],
        ([cell(i.what), cell(i.where_seen), i.sentiment_label, cell(i.pattern), cell(i.group)]
         for i in r.interactions),
    )
    return out


def _goals(r: Roadmap) -> list[str]:
    """Goals."""
    if not r.goals:
        return []
    out = _heading(r, "goals")
    if r.goals:
        out += table(
            ["Metric", "Baseline", "Target", "Timeframe", "Measured from"],
            (
                [
                    cell(g.metric),
                    cell(g.baseline),
                    cell(g.target),
                    cell(g.timeframe),
                    cell(g.data_source),
                ]
                for g in r.goals
            ),
        )
    return out


def _prioritization(r: Roadmap) -> list[str]:
    """Prioritization."""
    if not r.recipes:
        return []
    out = _heading(r, "matrix") + [esc(r.priority_rule), ""]
    if r.recipes:
        head = ["#", "Recipe", "Impact", "Effort", "Quadrant", "Phase"]
        head += ["Dots"] if r.voting else []
        out += table(
            head,
            (
                [
                    str(x.rank),
                    cell(x.title),
                    str(x.impact),
                    str(x.effort),
                    x.quadrant_label,
                    x.phase_short,
                ]
                + ([str(x.votes)] if r.voting else [])
                for x in r.recipes
            ),
        )
    out += ["### Vote results", ""]
    if r.voting:
        out += table(["Recipe", "Dots"], ([cell(x.title), str(x.votes)] for x in r.voted_recipes))
    else:
        out += ["No votes recorded.", ""]
    if r.vote and r.vote.by_person:
        out += ["**Who voted:** " + " · ".join(f"{esc(name)} {counted(dots, 'dot')}"
                                               for name, dots in r.vote.by_person), ""]
    elif r.vote and r.vote.secret:
        out += ["*A secret vote: who voted how is not recorded here.*", ""]
    return out


def _roadmap(r: Roadmap) -> list[str]:
    """Roadmap."""
    if not r.recipes:
        return []
    out = _heading(r, "roadmap")
    for lane in r.lanes:
        if not lane.recipes:
            continue
        out += [f"### {lane.label}", ""]
        for recipe in lane.recipes:
            out += _recipe(recipe)
    if r.empty_lanes:
        out += ["*Nothing placed in " + listed(r.empty_lanes)
                + " yet.*", ""]
    if r.unplanned:
        out += ["### Not placed yet", ""]
        for recipe in r.unplanned:
            out += _recipe(recipe)
    return out


def _data_readiness(r: Roadmap) -> list[str]:
    """Data readiness."""
    if not r.data_sources:
        return []
    out = _heading(r, "data")
    if r.data_sources:
        dims = [label for label, _, _ in r.data_sources[0].assessment]
        out += table(
            ["Source", "Party", "Consent / legal basis", *dims, "Readiness"],
            (
                [
                    cell(x.name),
                    x.party,
                    cell(x.consent_basis) if x.consent_basis else "**none**",
                    *[shown for _, _, shown in x.assessment],
                    f"**{x.readiness_label}**",
                ]
                for x in r.data_sources
            ),
        )
        for source in r.data_sources:
            if source.notes or source.evidence or source.owner or source.system_of_record:
                out += [f"### {esc(source.name)}", ""]
                if source.system_of_record:
                    out.append(f"- **System of record:** {cell(source.system_of_record)}")
                if source.owner:
                    out.append(f"- **Owner:** {cell(source.owner)}")
                if source.notes:
                    out.append(f"- **Notes:** {cell(source.notes)}")
                if source.evidence:
                    out.append(f"- **Evidence:** {cell(source.evidence)}")
                out.append("")
        out += _samples(r)
    return out


def _samples(r: Roadmap) -> list[str]:
    """What each source's sample showed (figures only: the sample was never kept)."""
    if not r.sampled_sources:
        return []
    out = ["### Evidence from data samples", ""]
    for source in r.sampled_sources:
        sample = source.sample
        assert sample is not None  # sampled_sources have one
        rows = f"{sample.rows:,} row{'' if sample.rows == 1 else 's'}"
        columns = f"{sample.columns} column{'' if sample.columns == 1 else 's'}"
        line = (f"- **{esc(source.name)}** ({cell(sample.filename or 'sample')}, "
                f"{sample.profiled:%d %b %Y}): {rows} × {columns}; "
                f"{percent(sample.completeness)} of cells filled; "
                f"{percent(sample.duplicate_share)} of rows duplicated")
        if sample.newest:
            line += f"; newest value {cell(sample.newest[:10])}"
        out.append(line)
        out += [f"  - {label}: **{score}** ({cell(evidence)})"
                for label, score, evidence in sample.evidence]
        if sample.personal:
            out.append(f"  - Personal data found: {cell('; '.join(sample.personal))}")
    return [*out, ""]


def _ethics(r: Roadmap) -> list[str]:
    """Ethics register."""
    if not r.risks:
        return []
    out = _heading(r, "ethics")
    if r.risks:
        out += table(
            [
                "Risk",
                "Category",
                "L × S",
                "Action",
                "Mitigation",
                "User control",
                "Owner",
                "Status",
            ],
            (
                [
                    ("**Unmitigated high risk:** " if k.unmitigated_high else "") + cell(k.risk),
                    k.category,
                    f"{k.likelihood} × {k.severity} = {k.score}",
                    k.action,
                    cell(k.mitigation),
                    cell(k.user_control),
                    cell(k.owner),
                    k.status,
                ]
                for k in r.risks
            ),
        )
    return out


def _stakeholders(r: Roadmap) -> list[str]:
    if not r.stakeholders:
        return []
    out = _heading(r, "stakeholders")
    if r.stakeholders:
        out += table(
            ["Name", "Function", "Influence", "Desired outcome", "Concerns"],
            (
                [
                    cell(p.name) + (" (internal customer)" if p.internal_customer else ""),
                    p.function,
                    p.influence,
                    cell(p.desired_outcome),
                    cell(p.concerns),
                ]
                for p in r.stakeholders
            ),
        )
    return out


def _decisions(r: Roadmap) -> list[str]:
    if not r.decisions:
        return []
    out = _heading(r, "decisions")
    for number, d in enumerate(r.decisions, start=1):
        out.append(
            f"{number}. **{esc(d.decision)}**" + (f" — {cell(d.rationale)}" if d.rationale else "")
        )
    out += [""]
    return out


def _action_items(r: Roadmap) -> list[str]:
    if not r.action_items:
        return []
    out = _heading(r, "actions")
    for a in r.action_items:
        due = f", due {a.due_date.isoformat()}" if a.due_date else ""
        owner = f" — {esc(a.owner)}" if a.owner else ""
        out.append(f"- [{'x' if a.done else ' '}] {cell(a.action)}{owner}{due}")
    out += [""]
    return out


def _parking_lot(r: Roadmap) -> list[str]:
    if not r.parking_lot:
        return []
    out = _heading(r, "parking")
    for q in r.parking_lot:
        out.append(f"- **{esc(q.question)}**" + (f" — {cell(q.notes)}" if q.notes else ""))
    out += [""]
    return out


# The document's sections, in order: the PDF's structure.
SECTIONS = (_title, _cover, _changes, _summary, _goals, _interactions, _prioritization, _roadmap,
            _data_readiness, _ethics, _stakeholders, _decisions, _action_items, _parking_lot)


def render(roadmap: Roadmap) -> str:
    return "\n".join(line for section in SECTIONS for line in section(roadmap))
